// RUN: hymir-opt %s -split-input-file -hymir-vectorize-elementwise | FileCheck %s
// RUN: not hymir-opt %s -split-input-file -hymir-vectorize-elementwise=vector-bytes=12 -o /dev/null 2>&1 | FileCheck %s --check-prefix=BYTES

// BYTES: vector-bytes must be 4, 8, 16 or 32, got 12

// A bf16 chain with a per-column weight and a per-row statistic: 8 lanes
// (16 bytes), aligned loads of the rows and of the weight, the statistic
// loaded once and broadcast, no tail (64 = 8 x 8).
// CHECK-LABEL: func.func @chain
// CHECK-SAME:    (%[[X:.*]]: memref<?x64xbf16>, %[[W:.*]]: memref<64xbf16>, %[[R:.*]]: memref<?xf32>, %[[Y:.*]]: memref<?x64xbf16>)
// CHECK:         scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %c64) step (%c1, %c8)
// CHECK-NEXT:      %[[XV:.*]] = vector.load %[[X]][%[[I]], %[[J]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// CHECK-NEXT:      %[[WV:.*]] = vector.load %[[W]][%[[J]]] {alignment = 16 : i64} : memref<64xbf16>, vector<8xbf16>
// CHECK-NEXT:      %[[RS:.*]] = memref.load %[[R]][%[[I]]] : memref<?xf32>
// CHECK-NEXT:      %[[RV:.*]] = vector.broadcast %[[RS]] : f32 to vector<8xf32>
// CHECK:           math.exp %{{.*}} : vector<8xbf16>
// CHECK:           arith.mulf %{{.*}}, %[[WV]] : vector<8xbf16>
// CHECK:           arith.mulf %{{.*}}, %[[RV]] : vector<8xf32>
// CHECK:           %[[T:.*]] = arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK-NEXT:      vector.store %[[T]], %[[Y]][%[[I]], %[[J]]] {alignment = 16 : i64} : memref<?x64xbf16>, vector<8xbf16>
// CHECK-NOT:     scf.for
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @chain(%x: memref<?x64xbf16>, %w: memref<64xbf16>, %r: memref<?xf32>, %y: memref<?x64xbf16>) {
  %one = arith.constant 1.0 : bf16
  linalg.generic {indexing_maps = [#id, #col, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w, %r : memref<?x64xbf16>, memref<64xbf16>, memref<?xf32>) outs(%y : memref<?x64xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %s: f32, %o: bf16):
    %n = arith.negf %a : bf16
    %e = math.exp %n : bf16
    %d = arith.addf %e, %one : bf16
    %q = arith.divf %a, %d : bf16
    %m = arith.mulf %q, %b : bf16
    %f = arith.extf %m : bf16 to f32
    %g = arith.mulf %f, %s : f32
    %t = arith.truncf %g : f32 to bf16
    linalg.yield %t : bf16
  }
  return
}

// -----

// Rows of 37 f32: 4 lanes, then a scalar tail of 1 in each row. The rows
// do not start at multiples of 16 bytes: no alignment is claimed.
// CHECK-LABEL: func.func @tail
// CHECK:         scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %c37) step (%c1, %c4)
// CHECK:           %[[END:.*]] = arith.addi %[[J]], %c4 : index
// CHECK:           %[[FULL:.*]] = arith.cmpi ule, %[[END]], %c37 : index
// CHECK:           scf.if %[[FULL]] {
// CHECK:             vector.load %{{.*}}[%[[I]], %[[J]]] : memref<?x37xf32>, vector<4xf32>
// CHECK:             arith.mulf %{{.*}} : vector<4xf32>
// CHECK:             vector.store %{{.*}}[%[[I]], %[[J]]] : memref<?x37xf32>, vector<4xf32>
// CHECK:           } else {
// CHECK:             scf.for %[[K:.*]] = %[[J]] to %c37 step %c1 {
// CHECK:               memref.load %{{.*}}[%[[I]], %[[K]]] : memref<?x37xf32>
// CHECK:               arith.mulf %{{.*}} : f32
// CHECK:               memref.store %{{.*}}[%[[I]], %[[K]]] : memref<?x37xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @tail(%x: memref<?x37xf32>, %y: memref<?x37xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x37xf32>) outs(%y : memref<?x37xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A fill is an elementwise op too: a broadcast constant stored 4 at a time.
// A slice at a static offset of 8 f32 keeps its alignment; one at offset 2
// does not.
// CHECK-LABEL: func.func @fill_and_slices
// CHECK:         %[[C:.*]] = vector.broadcast %{{.*}} : f32 to vector<4xf32>
// CHECK-NEXT:    vector.store %[[C]], %{{.*}} {alignment = 16 : i64} : memref<?x16xf32>, vector<4xf32>
// CHECK:         vector.load {{.*}} {alignment = 16 : i64} : memref<4x8xf32, strided<[16, 1], offset: 8>>, vector<4xf32>
// CHECK:         vector.load {{.*}}[{{.*}}] : memref<4x8xf32, strided<[16, 1], offset: 2>>, vector<4xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @fill_and_slices(%b: memref<?x16xf32>, %s: memref<4x16xf32>, %y: memref<4x8xf32>) {
  %c = arith.constant 2.0 : f32
  linalg.fill ins(%c : f32) outs(%b : memref<?x16xf32>)
  %a = memref.subview %s[0, 8] [4, 8] [1, 1] : memref<4x16xf32> to memref<4x8xf32, strided<[16, 1], offset: 8>>
  %u = memref.subview %s[0, 2] [4, 8] [1, 1] : memref<4x16xf32> to memref<4x8xf32, strided<[16, 1], offset: 2>>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %u : memref<4x8xf32, strided<[16, 1], offset: 8>>, memref<4x8xf32, strided<[16, 1], offset: 2>>) outs(%y : memref<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.addf %p, %q : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Left to the scalar lowering: a reduction, a dynamic row width, rows
// narrower than a vector, a transposed operand, and a payload that reads
// its index.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT:     vector.
// CHECK-NOT:     scf.parallel
// CHECK-COUNT-5: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
func.func @left_alone(%x: memref<8x64xf32>, %s: memref<8xf32>, %d: memref<8x?xf32>,
                      %n: memref<8x3xf32>, %t: memref<64x8xf32>, %y: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x64xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.addf %a, %o : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%d : memref<8x?xf32>) {
  ^bb0(%o: f32):
    %m = arith.mulf %o, %o : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%n : memref<8x3xf32>) {
  ^bb0(%o: f32):
    %m = arith.mulf %o, %o : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<64x8xf32>) outs(%y : memref<8x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%y : memref<8x64xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 1 : index
    %c = arith.index_cast %i : index to i32
    %f = arith.sitofp %c : i32 to f32
    linalg.yield %f : f32
  }
  return
}
