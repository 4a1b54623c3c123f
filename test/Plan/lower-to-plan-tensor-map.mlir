// RUN: hymir-opt %s -split-input-file -hymir-lower-to-plan="max-tokens=100 target=cuda chip=sm_90a" --mlir-print-local-scope | FileCheck %s
// RUN: hymir-opt %s -split-input-file -hymir-lower-to-plan="max-tokens=100 target=cuda chip=sm_90a" -hymir-plan-memory --mlir-print-local-scope | FileCheck %s --check-prefix=MEM

// hymir.tensor_map: a 128-byte buffer and a hymir_plan.tensor_map step
// before the launches that read it. The source view follows the memref (an
// input; a window of a scratch buffer).

// CHECK-LABEL: hymir_plan.entry @maps
// CHECK: %[[Q:.*]] = hymir_plan.input 0
// CHECK: %[[BIG:.*]] = hymir_plan.buffer 25600
// CHECK: hymir_plan.launch @m::@fill
// CHECK: %[[M0:.*]] = hymir_plan.buffer 128
// CHECK: %[[QV:.*]] = hymir_plan.view %[[Q]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 8, 64)> strides affine_map<()[s0] -> (512, 64, 1)> : <bf16, 3>
// CHECK: %[[M0V:.*]] = hymir_plan.view %[[M0]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (16)> strides affine_map<()[s0] -> (1)> : <i64, 1>
// CHECK: hymir_plan.tensor_map %[[QV]] into %[[M0V]] box [16, 8, 64] swizzle 128 : <bf16, 3> into <i64, 1>
// CHECK: %[[M1:.*]] = hymir_plan.buffer 128
// CHECK: %[[WV:.*]] = hymir_plan.view %[[BIG]] offset affine_map<()[s0] -> (256)> sizes affine_map<()[s0] -> (s0, 32)> strides affine_map<()[s0] -> (64, 1)> : <f32, 2>
// CHECK: %[[M1V:.*]] = hymir_plan.view %[[M1]] {{.*}} : <i64, 1>
// CHECK: hymir_plan.tensor_map %[[WV]] into %[[M1V]] box [8, 32] swizzle 0 : <f32, 2> into <i64, 1>
// CHECK: %[[LATE:.*]] = hymir_plan.buffer 25600
// CHECK: hymir_plan.launch @m::@k {{.*}}(%[[M0V]], %[[M1V]], %{{.*}} : !hymir_plan.view<i64, 1>, !hymir_plan.view<i64, 1>, !hymir_plan.view<f32, 2>)
// CHECK-NEXT: }

// The scratch source stays live while its map is read (the last launch
// does not name it), so the later buffer does not take its bytes; the maps'
// buffers share bytes with no other buffer.
// MEM-LABEL: hymir_plan.entry @maps
// MEM-SAME: arena 51712
// MEM: hymir_plan.buffer 25600 at 0
// MEM: hymir_plan.buffer 128 at 51200
// MEM: hymir_plan.buffer 128 at 51456
// MEM: hymir_plan.buffer 25600 at 25600
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @fill(%a: memref<?x64xf32>) kernel { gpu.return }
    gpu.func @k(%a: memref<16xi64>, %b: memref<16xi64>, %c: memref<?x64xf32>) kernel { gpu.return }
  }
  func.func @maps(%q: memref<?x8x64xbf16> {hymir.name = "q"}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = memref.dim %q, %c0 : memref<?x8x64xbf16>
    %big = memref.alloc(%t) : memref<?x64xf32>
    gpu.launch_func @m::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%big : memref<?x64xf32>)
    %m0 = hymir.tensor_map %q box [16, 8, 64] swizzle 128 : memref<?x8x64xbf16> -> memref<16xi64>
    %w = memref.subview %big[1, 0] [%t, 32] [1, 1] : memref<?x64xf32> to memref<?x32xf32, strided<[64, 1], offset: 64>>
    %m1 = hymir.tensor_map %w box [8, 32] swizzle 0 : memref<?x32xf32, strided<[64, 1], offset: 64>> -> memref<16xi64>
    %late = memref.alloc(%t) : memref<?x64xf32>
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%m0 : memref<16xi64>, %m1 : memref<16xi64>, %late : memref<?x64xf32>)
    return
  }
}

// -----

// Inside a token guard the step runs for the guard's range; under guards
// whose ranges exclude each other it is left out with its launches.

// CHECK-LABEL: hymir_plan.entry @guarded
// CHECK: hymir_plan.tensor_map {{.*}} box [64, 64] swizzle 128 {tokens_at_least = 17 : i64} : <bf16, 2> into <i64, 1>
// CHECK: hymir_plan.launch @m::@k {{.*}} {tokens_at_least = 17 : i64}
// CHECK-NOT: hymir_plan.tensor_map
// CHECK-NOT: hymir_plan.launch
// CHECK: }
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%a: memref<16xi64>) kernel { gpu.return }
  }
  func.func @guarded(%x: memref<?x64xbf16> {hymir.name = "x"}) {
    %c1 = arith.constant 1 : index
    hymir.token_guard tokens in [17, -1] {
      %m = hymir.tensor_map %x box [64, 64] swizzle 128 : memref<?x64xbf16> -> memref<16xi64>
      gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
          args(%m : memref<16xi64>)
      hymir.token_guard tokens in [0, 8] {
        %n = hymir.tensor_map %x box [64, 64] swizzle 128 : memref<?x64xbf16> -> memref<16xi64>
        gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
            args(%n : memref<16xi64>)
      }
    }
    return
  }
}
