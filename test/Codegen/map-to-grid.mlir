// RUN: hymir-opt %s -split-input-file -hymir-map-parallel-loops-to-grid=block-size=128 | FileCheck %s

// A 2-d loop becomes one 1-d grid: ceildiv(points, 128) blocks, a guard,
// and the delinearised induction variables.
// CHECK-LABEL: func.func @two_d
// CHECK-SAME:    (%[[M:.*]]: memref<?x8xf32>, %[[N:.*]]: index)
// CHECK:         %[[POINTS:.*]] = arith.muli %[[N]], %c8
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[POINTS]], %c128
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK:           %[[B:.*]] = arith.muli %[[BX]], %c128
// CHECK:           %[[GID:.*]] = arith.addi %[[B]], %[[TX]]
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %[[GID]], %[[POINTS]]
// CHECK:           scf.if %[[IN]] {
// CHECK:             %[[J:.*]] = arith.remui %[[GID]], %c8
// CHECK:             %[[I:.*]] = arith.divui %[[GID]], %c8
// CHECK:             memref.store %{{.*}}, %[[M]][%{{.*}}, %{{.*}}]
// CHECK-NOT:     scf.parallel
func.func @two_d(%m: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c8) step (%c1, %c1) {
    memref.store %f, %m[%i, %j] : memref<?x8xf32>
    scf.reduce
  }
  return
}

