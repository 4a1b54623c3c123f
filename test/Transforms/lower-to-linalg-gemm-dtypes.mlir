// RUN: hymir-opt %s -split-input-file -hymir-lower-to-linalg="library-gemm=true" | FileCheck %s

// cuBLASLt multiplies operands of one dtype: a library GEMM over x and a
// weight of different dtypes gets one of them converted first. An f32 x over
// a bf16 weight at precision "bf16" is rounded to bf16 (the imported model
// with f32 activations and bf16 weights; the weight is read as stored).
// CHECK-LABEL: func.func @f32_x_bf16_weight
// CHECK:         %[[XB:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x64xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         linalg.generic {{.*}} ins(%[[XB]], %{{.*}} : tensor<?x64xbf16>, tensor<32x64xbf16>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-SAME:      hymir.library_call = "gemm", hymir.precision = "bf16"
func.func @f32_x_bf16_weight(%x: tensor<?x64xf32>, %w: tensor<32x64xbf16>) -> tensor<?x32xf32> {
  %y = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// At precision "f32" nothing may be rounded: the bf16 weight is widened
// (exactly) and the GEMM runs in true fp32.
// CHECK-LABEL: func.func @f32_x_bf16_weight_fp32
// CHECK:         %[[WF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<32x64xbf16>) outs(%{{.*}} : tensor<32x64xf32>)
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[WF]] : tensor<?x64xf32>, tensor<32x64xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-SAME:      hymir.library_call = "gemm", hymir.precision = "f32"
func.func @f32_x_bf16_weight_fp32(%x: tensor<?x64xf32>, %w: tensor<32x64xbf16>) -> tensor<?x32xf32> {
  %y = hymir.linear %x, %w {precision = "f32"} : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A bf16 x over an f32 weight: x is widened (exact), the weight read as
// stored; the f32 product is rounded to the bf16 result after the GEMM.
// CHECK-LABEL: func.func @bf16_x_f32_weight
// CHECK:         %[[XF:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x64xbf16>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:         %[[P:.*]] = linalg.generic {{.*}} ins(%[[XF]], %{{.*}} : tensor<?x64xf32>, tensor<32x64xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-SAME:      hymir.library_call = "gemm"
// CHECK:         linalg.generic {{.*}} ins(%[[P]] : tensor<?x32xf32>) outs(%{{.*}} : tensor<?x32xbf16>)
// CHECK:           arith.truncf
func.func @bf16_x_f32_weight(%x: tensor<?x64xbf16>, %w: tensor<32x64xf32>) -> tensor<?x32xbf16> {
  %y = hymir.linear %x, %w : (tensor<?x64xbf16>, tensor<32x64xf32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// Operands of one dtype are not converted.
// CHECK-LABEL: func.func @same_dtype
// CHECK-NOT:     arith.truncf
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<32x64xbf16>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK-SAME:      hymir.library_call = "gemm"
func.func @same_dtype(%x: tensor<?x64xbf16>, %w: tensor<32x64xbf16>) -> tensor<?x32xf32> {
  %y = hymir.linear %x, %w : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
