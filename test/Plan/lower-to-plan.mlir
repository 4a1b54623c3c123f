// RUN: hymir-opt %s -split-input-file -hymir-lower-to-plan="max-tokens=100 target=cuda chip=sm_90a" --mlir-print-local-scope | FileCheck %s

// Inputs, parameters, a buffer computed by guarded launches and returned in
// place: the buffer becomes the output's storage.

// CHECK: module attributes {
// CHECK-SAME: hymir_plan.chip = "sm_90a"
// CHECK-SAME: hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = f32, shape = affine_map<() -> (32, 64)>>]
// CHECK-SAME: hymir_plan.target = "cuda"
// CHECK-NOT: func.func
// CHECK-LABEL: hymir_plan.entry @guarded
// CHECK-SAME: inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 64)>>]
// CHECK-SAME: outputs [#hymir_plan.tensor<name = "y", elementType = f32, shape = affine_map<()[s0] -> (s0, 32)>>]
// CHECK-SAME: symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 100>]
// CHECK: %[[X:.*]] = hymir_plan.input 0
// CHECK: %[[W:.*]] = hymir_plan.param 0
// CHECK: %[[Y:.*]] = hymir_plan.output 0
// CHECK-NOT: hymir_plan.buffer
// CHECK: %[[N:.*]] = hymir_plan.size affine_map<()[s0] -> (s0 * 32)>
// CHECK: %[[XV:.*]] = hymir_plan.view %[[X]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 64)> strides affine_map<()[s0] -> (64, 1)>
// CHECK: %[[YV:.*]] = hymir_plan.view %[[Y]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 32)> strides affine_map<()[s0] -> (32, 1)>
// CHECK: hymir_plan.launch @m::@small grid affine_map<()[s0] -> ((s0 * 32) ceildiv 256, 1, 1)> block [256, 1, 1](%[[N]], %[[XV]], %{{.*}}, %[[YV]] : {{.*}}) {tokens_at_most = 16 : i64}
// CHECK: hymir_plan.launch @m::@large grid affine_map<()[s0] -> (s0, 1, 1)> block [128, 1, 1]({{.*}}) {shared_memory_bytes = 4096 : i64, tokens_at_least = 17 : i64}
// CHECK: hymir_plan.launch @m::@large {{.*}} {tokens_at_least = 17 : i64, tokens_at_most = 100 : i64}
// CHECK-NOT: hymir_plan.launch
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @small(%n: index, %x: memref<?x64xf32>, %w: memref<32x64xf32>, %y: memref<?x32xf32>) kernel { gpu.return }
    gpu.func @large(%x: memref<?x64xf32>, %w: memref<32x64xf32>, %y: memref<?x32xf32>) kernel { gpu.return }
  }
  func.func @guarded(%x: memref<?x64xf32> {hymir.name = "x"},
                     %w: memref<32x64xf32> {hymir.name = "w", hymir.param})
      -> (memref<?x32xf32> {hymir.name = "y"}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %smem = arith.constant 4096 : i32
    %t = memref.dim %x, %c0 : memref<?x64xf32>
    %y = memref.alloc(%t) : memref<?x32xf32>
    %n = affine.apply affine_map<()[s0] -> (s0 * 32)>()[%t]
    %g = arith.ceildivui %n, %c256 : index
    hymir.token_guard tokens in [0, 16] {
      gpu.launch_func @m::@small blocks in (%g, %c1, %c1) threads in (%c256, %c1, %c1)
          args(%n : index, %x : memref<?x64xf32>, %w : memref<32x64xf32>, %y : memref<?x32xf32>)
    }
    hymir.token_guard tokens in [17, -1] {
      gpu.launch_func @m::@large blocks in (%t, %c1, %c1) threads in (%c128, %c1, %c1)
          dynamic_shared_memory_size %smem
          args(%x : memref<?x64xf32>, %w : memref<32x64xf32>, %y : memref<?x32xf32>)
      // A nested guard narrows the range; one that excludes it drops its
      // launch.
      hymir.token_guard tokens in [0, 100] {
        gpu.launch_func @m::@large blocks in (%t, %c1, %c1) threads in (%c128, %c1, %c1)
            args(%x : memref<?x64xf32>, %w : memref<32x64xf32>, %y : memref<?x32xf32>)
      }
      hymir.token_guard tokens in [0, 8] {
        gpu.launch_func @m::@small blocks in (%g, %c1, %c1) threads in (%c256, %c1, %c1)
            args(%n : index, %x : memref<?x64xf32>, %w : memref<32x64xf32>, %y : memref<?x32xf32>)
      }
    }
    return %y : memref<?x32xf32>
  }
}

// -----

// A library GEMM into a scratch buffer, reshaped views, a copy, a buffer
// returned twice (copied into both outputs), and a static-to-dynamic cast
// (MoE graphs with a static token count produce them).

// CHECK-LABEL: hymir_plan.entry @copies
// CHECK: %[[X:.*]] = hymir_plan.input 0
// CHECK: %[[W:.*]] = hymir_plan.input 1
// CHECK: %[[B:.*]] = hymir_plan.buffer 1536
// CHECK: %[[XV:.*]] = hymir_plan.view %[[X]] {{.*}} : <bf16, 2>
// CHECK: %[[WV:.*]] = hymir_plan.view %[[W]] {{.*}} : <bf16, 2>
// CHECK: %[[BV:.*]] = hymir_plan.view %[[B]] {{.*}} sizes affine_map<() -> (16, 48)> {{.*}} : <bf16, 2>
// CHECK: hymir_plan.gemm %[[XV]], %[[WV]] -> %[[BV]] m affine_map<() -> (16)> n 48 k 64 {f32_precision}
// CHECK: %[[B2:.*]] = hymir_plan.buffer 1536
// CHECK: %[[CV:.*]] = hymir_plan.view %[[B]] offset affine_map<() -> (0)> sizes affine_map<() -> (768)> strides affine_map<() -> (1)>
// CHECK: %[[DV:.*]] = hymir_plan.view %[[B2]] offset affine_map<() -> (0)> sizes affine_map<() -> (768)>
// CHECK: hymir_plan.copy %[[CV]] -> %[[DV]] bytes affine_map<() -> (1536)>
// CHECK: %[[O0:.*]] = hymir_plan.output 0
// CHECK: hymir_plan.copy {{.*}} bytes affine_map<() -> (1536)>
// CHECK: %[[O1:.*]] = hymir_plan.output 1
// CHECK: hymir_plan.copy {{.*}} bytes affine_map<() -> (1536)>
module attributes {gpu.container_module} {
  func.func @copies(%x: memref<16x64xbf16>, %w: memref<48x64xbf16>)
      -> (memref<?x48xbf16>, memref<?x48xbf16>) {
    %b = memref.alloc() : memref<16x48xbf16>
    linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<16x64xbf16>, memref<48x64xbf16>) outs(%b : memref<16x48xbf16>)
        attrs = {hymir.library_call = "gemm", hymir.precision = "f32"} {
    ^bb0(%a: bf16, %c: bf16, %o: bf16):
      linalg.yield %o : bf16
    }
    %flat = memref.collapse_shape %b [[0, 1]] : memref<16x48xbf16> into memref<768xbf16>
    %b2 = memref.alloc() : memref<768xbf16>
    memref.copy %flat, %b2 : memref<768xbf16> to memref<768xbf16>
    %back = memref.expand_shape %b2 [[0, 1]] output_shape [16, 48] : memref<768xbf16> into memref<16x48xbf16>
    %dyn = memref.cast %back : memref<16x48xbf16> to memref<?x48xbf16>
    return %dyn, %dyn : memref<?x48xbf16>, memref<?x48xbf16>
  }
}

// -----

// Collectives from hymir-lower-to-linalg become plan steps over the views.

// CHECK-LABEL: hymir_plan.entry @reduce
// CHECK: hymir_plan.all_reduce {{.*}} elements affine_map<()[s0] -> (s0 * 8)>
module attributes {gpu.container_module} {
  func.func @reduce(%x: memref<?x8xf32>) -> memref<?x8xf32> {
    %c0 = arith.constant 0 : index
    %t = memref.dim %x, %c0 : memref<?x8xf32>
    %stack = memref.expand_shape %x [[0, 1], [2]] output_shape [1, %t, 8] : memref<?x8xf32> into memref<1x?x8xf32>
    %y = memref.alloc(%t) : memref<?x8xf32>
    linalg.generic {indexing_maps = [affine_map<(d, t, n) -> (d, t, n)>, affine_map<(d, t, n) -> (t, n)>],
                    iterator_types = ["reduction", "parallel", "parallel"]}
        ins(%stack : memref<1x?x8xf32>) outs(%y : memref<?x8xf32>)
        attrs = {hymir.library_call = "all_reduce"} {
    ^bb0(%a: f32, %o: f32):
      %s = arith.addf %a, %o : f32
      linalg.yield %s : f32
    }
    return %y : memref<?x8xf32>
  }
}

// -----

// Strided views: slices of a fused projection keep the projection's bytes
// (offset and strides in the view); a kernel whose memref type carries a
// static offset adds it itself, so its view starts that much earlier.

// CHECK-LABEL: hymir_plan.entry @slices
// CHECK: %[[X:.*]] = hymir_plan.input 0
// CHECK: hymir_plan.view %[[X]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 4, 16)> strides affine_map<()[s0] -> (192, 48, 1)> : <f32, 3>
// CHECK: hymir_plan.view %[[X]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 4, 16)> strides affine_map<()[s0] -> (192, 48, 1)> : <f32, 3>
// CHECK: hymir_plan.view %[[X]] offset affine_map<()[s0] -> (128)> sizes affine_map<()[s0] -> (s0, 4, 16)> strides affine_map<()[s0] -> (192, 48, 1)> : <f32, 3>
// CHECK: hymir_plan.launch @m::@k
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%q: memref<?x4x16xf32, strided<[192, 48, 1]>>, %k: memref<?x4x16xf32, strided<[192, 48, 1], offset: 16>>,
                %v: memref<?x4x16xf32, strided<[192, 48, 1], offset: ?>>) kernel { gpu.return }
  }
  func.func @slices(%x: memref<?x192xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = memref.dim %x, %c0 : memref<?x192xf32>
    %x3 = memref.expand_shape %x [[0], [1, 2]] output_shape [%t, 4, 48] : memref<?x192xf32> into memref<?x4x48xf32>
    %q = memref.subview %x3[0, 0, 0] [%t, 4, 16] [1, 1, 1] : memref<?x4x48xf32> to memref<?x4x16xf32, strided<[192, 48, 1]>>
    %k = memref.subview %x3[0, 0, 16] [%t, 4, 16] [1, 1, 1] : memref<?x4x48xf32> to memref<?x4x16xf32, strided<[192, 48, 1], offset: 16>>
    %v0 = memref.subview %x3[0, 0, 32] [%t, 4, 16] [1, 1, 1] : memref<?x4x48xf32> to memref<?x4x16xf32, strided<[192, 48, 1], offset: 32>>
    %v = memref.cast %v0 : memref<?x4x16xf32, strided<[192, 48, 1], offset: 32>> to memref<?x4x16xf32, strided<[192, 48, 1], offset: ?>>
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%q : memref<?x4x16xf32, strided<[192, 48, 1]>>, %k : memref<?x4x16xf32, strided<[192, 48, 1], offset: 16>>,
             %v : memref<?x4x16xf32, strided<[192, 48, 1], offset: ?>>)
    return
  }
}

// -----

// Run-time checks become the entry's check storage, numbered in order, with
// the op's location for the message; kernels get a view of its two words.
// CHECK-LABEL: hymir_plan.entry @checked
// CHECK: %[[C0:.*]] = hymir_plan.check 0 "hymir.embedding" tensor "ids" value "id" at "{{.*}}lower-to-plan.mlir:{{[0-9]+}}:{{[0-9]+}}"
// CHECK: %[[C1:.*]] = hymir_plan.check 1 "hymir.embedding" tensor "" value "id" at "{{.*}}lower-to-plan.mlir:{{[0-9]+}}:{{[0-9]+}}"
// CHECK: %[[V0:.*]] = hymir_plan.view %[[C0]] offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (2)> strides affine_map<()[s0] -> (1)> : <i64, 1>
// CHECK: hymir_plan.launch @m::@k {{.*}}(%{{.*}}, %[[V0]] : !hymir_plan.view<i32, 1>, !hymir_plan.view<i64, 1>)
// CHECK: %[[V1:.*]] = hymir_plan.view %[[C1]] {{.*}} : <i64, 1>
// CHECK: hymir_plan.launch @m::@k {{.*}}(%{{.*}}, %[[V1]] : !hymir_plan.view<i32, 1>, !hymir_plan.view<i64, 1>)
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%ids: memref<?xi32>, %slot: memref<2xi64>) kernel { gpu.return }
  }
  func.func @checked(%ids: memref<?xi32> {hymir.name = "ids"}) {
    %c1 = arith.constant 1 : index
    %a = hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<2xi64>
    %b = hymir.check_slot "hymir.embedding" tensor "" value "id" : memref<2xi64>
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%ids : memref<?xi32>, %a : memref<2xi64>)
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%ids : memref<?xi32>, %b : memref<2xi64>)
    return
  }
}
