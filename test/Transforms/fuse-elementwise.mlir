// RUN: hymir-opt %s -split-input-file -convert-elementwise-to-linalg -hymir-fuse-elementwise -cse | FileCheck %s

// The SiLU gate of an MLP: the splat of ones becomes the scalar inside the
// fused body (no kernel fills a tensor for another one to read).
// CHECK-LABEL: func.func @splat
// CHECK-SAME:    (%[[G:.*]]: tensor<?x64xbf16>, %[[U:.*]]: tensor<?x64xbf16>)
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : bf16
// CHECK-NOT:     tensor.splat
// CHECK:         %[[R:.*]] = linalg.generic
// CHECK-SAME:      ins(%[[G]], %[[U]] : tensor<?x64xbf16>, tensor<?x64xbf16>)
// CHECK:           arith.addf %{{.*}}, %[[ONE]] : bf16
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[R]]
func.func @splat(%g: tensor<?x64xbf16>, %u: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %g, %c0 : tensor<?x64xbf16>
  %one = arith.constant 1.0 : bf16
  %neg = arith.negf %g : tensor<?x64xbf16>
  %e = math.exp %neg : tensor<?x64xbf16>
  %ones = tensor.splat %one[%t] : tensor<?x64xbf16>
  %den = arith.addf %ones, %e : tensor<?x64xbf16>
  %silu = arith.divf %g, %den : tensor<?x64xbf16>
  %gated = arith.mulf %silu, %u : tensor<?x64xbf16>
  return %gated : tensor<?x64xbf16>
}

// -----

// A fill of an empty tensor is a splat too, also for a generic with a
// reduction.
// CHECK-LABEL: func.func @fill
// CHECK-NOT:     linalg.fill
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.*}} : tensor<8x16xf32>)
// CHECK:           arith.mulf %{{.*}}, %cst : f32
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @fill(%x: tensor<8x16xf32>, %acc: tensor<8xf32>) -> tensor<8xf32> {
  %c = arith.constant 3.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %f : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %m, %o : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// A producer with two elementwise users and a result: one generic computes
// all three (the producer's value once), where upstream fusion leaves the
// producer and its users apart.
// CHECK-LABEL: func.func @several_users
// CHECK:         %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK:           %[[S:.*]] = arith.addf
// CHECK-NOT:       arith.addf
// CHECK:           %[[A:.*]] = arith.mulf %[[S]], %[[S]]
// CHECK:           %[[B:.*]] = math.exp %[[S]]
// CHECK:           linalg.yield %[[S]], %[[A]], %[[B]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
func.func @several_users(%x: tensor<?x32xf32>, %y: tensor<?x32xf32>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %s = arith.addf %x, %y : tensor<?x32xf32>
  %a = arith.mulf %s, %s : tensor<?x32xf32>
  %b = math.exp %s : tensor<?x32xf32>
  return %s, %a, %b : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// The producer's other user (a row sum) comes before the elementwise user
// that also reads the sum: the producer stays a kernel of its own.
// CHECK-LABEL: func.func @earlier_user
// CHECK:         %[[S:.*]] = linalg.generic
// CHECK:           arith.addf
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      ins(%[[S]] :
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[S]], %[[SUM]] :
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @earlier_user(%x: tensor<8x32xf32>, %y: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %s = arith.addf %x, %y : tensor<8x32xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%s : tensor<8x32xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8x32xf32>
  %n = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %sum : tensor<8x32xf32>, tensor<8xf32>) outs(%e2 : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %n : tensor<8x32xf32>
}

// -----

// A kernel's [rows, cols] result stored one vector per thread (as the MoE
// combine stores its weighted sum) and read only by an elementwise op: the
// op's payload runs in the kernel's epilogue on the stored vector, its
// other operands (a scaled residual, a per-column weight) loaded at the
// same place, and the kernel stores the op's result instead.
// CHECK-LABEL: func.func @epilogue
// CHECK-SAME:    (%[[X:.*]]: tensor<?x64xbf16>, %[[W:.*]]: tensor<64xbf16>)
// CHECK-DAG:     %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x64xbf16> to memref<?x64xbf16>
// CHECK-DAG:     %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only : tensor<64xbf16> to memref<64xbf16>
// CHECK:         %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x64xbf16>
// CHECK:         gpu.launch
// CHECK:           %[[XV:.*]] = vector.load %[[XB]][%[[R:.*]], %[[C:.*]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// CHECK:           %[[WV:.*]] = vector.load %[[WB]][%[[C]]] {alignment = 16 : i64} : memref<64xbf16>, vector<8xbf16>
// CHECK:           %[[S:.*]] = arith.mulf %[[XV]], %{{.*}} : vector<8xbf16>
// CHECK:           %[[A:.*]] = arith.addf %[[S]], %{{.*}} : vector<8xbf16>
// CHECK:           %[[M:.*]] = arith.mulf %[[A]], %[[WV]] : vector<8xbf16>
// CHECK:           vector.store %[[M]], %[[OUT]][%[[R]], %[[C]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// CHECK-NOT:       vector.store
// CHECK:         %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[Y]]
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @epilogue(%x: tensor<?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x64xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %half = arith.constant 0.5 : f32
  %alpha = arith.constant 3.5 : bf16
  %t = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %buf = memref.alloc(%t) : memref<?x64xbf16>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %t, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %col = arith.muli %tx, %c8 : index
    %v = vector.broadcast %half : f32 to vector<8xf32>
    %b = arith.truncf %v : vector<8xf32> to vector<8xbf16>
    vector.store %b, %buf[%bx, %col] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
    gpu.terminator
  }
  %sum = bufferization.to_tensor %buf restrict writable : memref<?x64xbf16> to tensor<?x64xbf16>
  %e = tensor.empty(%t) : tensor<?x64xbf16>
  %y = linalg.generic {indexing_maps = [#id, #id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %w : tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<64xbf16>) outs(%e : tensor<?x64xbf16>) {
  ^bb0(%a: bf16, %s: bf16, %c: bf16, %o: bf16):
    %m = arith.mulf %a, %alpha : bf16
    %r = arith.addf %m, %s : bf16
    %z = arith.mulf %r, %c : bf16
    linalg.yield %z : bf16
  } -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
