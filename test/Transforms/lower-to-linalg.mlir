// RUN: hymir-opt %s -split-input-file -hymir-lower-to-linalg | FileCheck %s

// Leading dims collapse to rows; the contraction reads w as [N, K] and
// accumulates f32 products of f32-extended bf16 operands.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear
// CHECK:         %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x?x64xbf16> into tensor<?x64xbf16>
// CHECK:         %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK:         %[[P:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[ROWS]], %{{.*}} : tensor<?x64xbf16>, tensor<32x64xbf16>) outs(%[[ACC]] : tensor<?x32xf32>)
// CHECK:           arith.extf
// CHECK:           arith.extf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[C:.*]] = linalg.generic
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         tensor.expand_shape %[[C]] {{\[\[}}0, 1], [2]] output_shape [2, %{{.*}}, 32] : tensor<?x32xbf16> into tensor<2x?x32xbf16>
// CHECK-NOT:     hymir.linear
func.func @linear(%x: tensor<2x?x64xbf16>, %w: tensor<32x64xbf16>) -> tensor<2x?x32xbf16> {
  %y = hymir.linear %x, %w : (tensor<2x?x64xbf16>, tensor<32x64xbf16>) -> tensor<2x?x32xbf16>
  return %y : tensor<2x?x32xbf16>
}

// -----

// An f32 result keeps the accumulator: no cast, and a 2-d x needs no reshape.
// CHECK-LABEL: func.func @linear_f32_out
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         %[[P:.*]] = linalg.generic
// CHECK-NOT:     arith.truncf
// CHECK:         return %[[P]]
func.func @linear_f32_out(%x: tensor<?x64xbf16>, %w: tensor<32x64xbf16>) -> tensor<?x32xf32> {
  %y = hymir.linear %x, %w {precision = "f32"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A sum-of-squares reduction per row, then one elementwise op.
// Two sums of squares in one pass (of x, and of x 2^-100 for rows whose
// plain sum overflows f32); the output uses the second only when the first
// is infinite.
// CHECK-LABEL: func.func @rms_norm
// CHECK:         %[[SS:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK:           arith.mulf
// CHECK:           arith.mulf %{{.*}}, %cst
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:           arith.addf
// CHECK:           linalg.yield %{{.*}}, %{{.*}} : f32, f32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[SS]]#0, %[[SS]]#1, %{{.*}} : tensor<?x64xf32>, tensor<?xf32>, tensor<?xf32>, tensor<64xf32>)
// CHECK:           arith.divf
// CHECK:           arith.addf
// CHECK:           math.rsqrt
// CHECK:           arith.cmpf oeq, %{{.*}}, %cst
// CHECK:           arith.select
// CHECK-NOT:     hymir.rms_norm
func.func @rms_norm(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// An id outside [0, V) (one unsigned compare) reads row 0 and flags the
// run-time check with its row-major position in the ids (i * T + t) and
// the table size, from the element of column 0.
// CHECK-LABEL: func.func @embedding
// CHECK-SAME:    %[[T:.*]]: tensor<100x16xbf16>, %[[IDS:.*]]: tensor<3x?xi32>
// CHECK:         %[[D1:.*]] = tensor.dim %[[IDS]], %c1
// CHECK:         %[[V:.*]] = tensor.dim %[[T]], %c0
// CHECK:         %[[SLOT:.*]] = hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<2xi64>
// CHECK:         linalg.generic {{.*}} ins(%[[IDS]] : tensor<3x?xi32>) outs(%{{.*}} : tensor<3x?x16xbf16>)
// CHECK:         ^bb0(%[[ID:.*]]: i32, %{{.*}}: bf16):
// CHECK:           %[[I:.*]] = linalg.index 0
// CHECK:           %[[J:.*]] = linalg.index 1
// CHECK:           %[[COL:.*]] = linalg.index 2
// CHECK:           %[[X:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK:           %[[BAD:.*]] = arith.cmpi uge, %[[X]], %[[V]]
// CHECK:           scf.if %[[BAD]] {
// CHECK:             %[[FIRST:.*]] = arith.cmpi eq, %[[COL]], %c0
// CHECK:             scf.if %[[FIRST]] {
// CHECK:               %[[M:.*]] = arith.muli %[[I]], %[[D1]]
// CHECK:               %[[POS:.*]] = arith.addi %[[M]], %[[J]]
// CHECK:               %[[AT:.*]] = arith.minui %[[POS]], %c2147483646
// CHECK:               %[[AT64:.*]] = arith.index_castui %[[AT]] : index to i64
// CHECK:               %[[HIGH:.*]] = arith.shli %[[AT64]], %c32_i64
// CHECK:               %[[LOW:.*]] = arith.extui %[[ID]] : i32 to i64
// CHECK:               %[[KEY:.*]] = arith.ori %[[HIGH]], %[[LOW]]
// CHECK:               memref.atomic_rmw mins %[[KEY]], %[[SLOT]][%c0] : (i64, memref<2xi64>) -> i64
// CHECK:               %[[V64:.*]] = arith.index_cast %[[V]] : index to i64
// CHECK:               memref.atomic_rmw maxs %[[V64]], %[[SLOT]][%c1] : (i64, memref<2xi64>) -> i64
// CHECK:           %[[ROW:.*]] = arith.select %[[BAD]], %c0, %[[X]] : index
// CHECK:           tensor.extract %[[T]][%[[ROW]], %[[COL]]] : tensor<100x16xbf16>
func.func @embedding(%t: tensor<100x16xbf16>, %ids: tensor<3x?xi32> {hymir.name = "ids"}) -> tensor<3x?x16xbf16> {
  %y = hymir.embedding %t, %ids : (tensor<100x16xbf16>, tensor<3x?xi32>) -> tensor<3x?x16xbf16>
  return %y : tensor<3x?x16xbf16>
}

// -----

// One elementwise op over [B, T, H, D]: the partner channel is read with
// tensor.extract, angles in f32 (-2 ln(1e4) / 8 = -2.30258512 per index).
// CHECK-LABEL: func.func @rope
// CHECK:         arith.constant -2.30258512 : f32
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK:           math.exp
// CHECK:           math.cos
// CHECK:           math.sin
// CHECK:           tensor.extract
func.func @rope(%x: tensor<1x?x4x16xbf16>, %p: tensor<1x?xi32>) -> tensor<1x?x4x16xbf16> {
  %y = hymir.rope %x, %p {rotary_dim = 8 : i64, theta = 10000.0 : f64} : (tensor<1x?x4x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x16xbf16>
  return %y : tensor<1x?x4x16xbf16>
}

// -----

// Ops with their own lowering passes are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK:         hymir.softmax_attention
func.func @untouched(%q: tensor<1x?x4x16xbf16>, %k: tensor<1x?x2x16xbf16>) -> tensor<1x?x4x16xbf16> {
  %o = hymir.softmax_attention %q, %k, %k {causal = true, scale = 2.500000e-01 : f32}
      : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>) -> tensor<1x?x4x16xbf16>
  return %o : tensor<1x?x4x16xbf16>
}
