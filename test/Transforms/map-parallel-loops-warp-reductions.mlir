// RUN: hymir-opt %s -hymir-map-parallel-loops-to-grid="warp-reductions=true" -split-input-file | FileCheck %s

// A row reduction along the contiguous dim: one warp a row, 8 rows a block
// of 256 threads; lanes stride by 32, shuffles combine, lane 0 stores.
// CHECK-LABEL: func.func @rows
// CHECK:       %[[GRID:.*]] = arith.constant 2 : index
// CHECK:       gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %cst{{.*}}) -> (f32)
// CHECK:           memref.load %{{.*}} : memref<16x8192xf32>
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK:         scf.if
// CHECK:           memref.load %{{.*}} : memref<16xf32>
// CHECK:           arith.addf
// CHECK:           memref.store %{{.*}} : memref<16xf32>
func.func @rows(%x: memref<16x8192xf32>, %acc: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c8192 = arith.constant 8192 : index
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    scf.for %k = %c0 to %c8192 step %c1 {
      %v = memref.load %x[%i, %k] : memref<16x8192xf32>
      %a = memref.load %acc[%i] : memref<16xf32>
      %sq = arith.mulf %v, %v : f32
      %s = arith.addf %a, %sq : f32
      memref.store %s, %acc[%i] : memref<16xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A column reduction (the reduced dim is not the last index): lanes would
// read 32 rows apart, so it stays one thread a point.
// CHECK-LABEL: func.func @columns
// CHECK-NOT:   gpu.shuffle
// CHECK:       scf.for
// CHECK-NOT:   gpu.shuffle
func.func @columns(%x: memref<8192x16xf32>, %acc: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c8192 = arith.constant 8192 : index
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    scf.for %k = %c0 to %c8192 step %c1 {
      %v = memref.load %x[%k, %i] : memref<8192x16xf32>
      %a = memref.load %acc[%i] : memref<16xf32>
      %s = arith.maximumf %a, %v : f32
      memref.store %s, %acc[%i] : memref<16xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A short static reduction (16 values) stays one thread a point.
// CHECK-LABEL: func.func @short
// CHECK-NOT:   gpu.shuffle
func.func @short(%x: memref<64x16xf32>, %acc: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      %v = memref.load %x[%i, %k] : memref<64x16xf32>
      %a = memref.load %acc[%i] : memref<64xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %acc[%i] : memref<64xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A dynamic reduced dim (the token count) and a max: warps; the identity of
// maximumf is -inf.
// CHECK-LABEL: func.func @dynamic_max
// CHECK:       %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:       scf.for {{.*}} iter_args(%{{.*}} = %[[NEGINF]]) -> (f32)
// CHECK:         arith.maximumf
// CHECK-COUNT-5: gpu.shuffle  xor
func.func @dynamic_max(%x: memref<4x?xf32>, %acc: memref<4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %n step %c1 {
      %v = memref.load %x[%i, %k] : memref<4x?xf32>
      %a = memref.load %acc[%i] : memref<4xf32>
      %s = arith.maximumf %a, %v : f32
      memref.store %s, %acc[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}
