// hymir-lightning-state-in-place: a decode launch writes a tied state into
// its argument's buffer (no fresh buffer, no copy back) where that is safe;
// everything else keeps its copy.
// RUN: hymir-opt %s -split-input-file -hymir-lightning-state-in-place | FileCheck %s

// The decode kernel loads the argument and stores the fresh buffer that is
// copied into the argument afterwards: it stores the argument itself.
// CHECK-LABEL: func.func @decode
// CHECK-SAME:    (%[[STATE:.*]]: memref<2x4xf32>
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch
// CHECK:           %[[OLD:.*]] = memref.load %[[STATE]]
// CHECK:           memref.store %{{.*}}, %[[STATE]]
// CHECK:         } {hymir.lightning = "decode"}
// CHECK-NOT:     memref.copy
// CHECK:         return %[[STATE]]
func.func @decode(%state: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %old = memref.load %state[%bx, %tx] : memref<2x4xf32>
    %twice = arith.addf %old, %old : f32
    memref.store %twice, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}

// -----

// Another op reads the argument's old value between the launch and the copy:
// the copy stays.
// CHECK-LABEL: func.func @read_between
// CHECK:         memref.alloc
// CHECK:         memref.copy
// CHECK:         memref.copy
func.func @read_between(%state: memref<2x4xf32>, %old: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}, memref<2x4xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %state, %old : memref<2x4xf32> to memref<2x4xf32>
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state, %old : memref<2x4xf32>, memref<2x4xf32>
}

// -----

// A view of the argument read between the launch and the copy: the copy
// stays.
// CHECK-LABEL: func.func @view_between
// CHECK:         memref.alloc
// CHECK:         memref.copy %{{.*}}, %{{.*}} : memref<2x4xf32> to memref<2x4xf32>
func.func @view_between(%state: memref<2x4xf32>, %row: memref<4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  %first = memref.subview %state[0, 0] [1, 4] [1, 1] : memref<2x4xf32> to memref<4xf32, strided<[1]>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %first, %row : memref<4xf32, strided<[1]>> to memref<4xf32>
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}

// -----

// A launch that is not the decode kernel (here the blocked one, whose blocks
// are not known to read before they write): the copy stays.
// CHECK-LABEL: func.func @blocked
// CHECK:         memref.alloc
// CHECK:         memref.copy
func.func @blocked(%state: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "blocks"}
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}

// -----

// The fresh buffer is read inside the launch (not only stored): the copy
// stays.
// CHECK-LABEL: func.func @reads_new
// CHECK:         memref.alloc
// CHECK:         memref.copy
func.func @reads_new(%state: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %new[%bx, %tx] : memref<2x4xf32>
    %w = memref.load %new[%bx, %c0] : memref<2x4xf32>
    memref.store %w, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}

// -----

// The launch writes the argument itself through a view: the copy stays.
// CHECK-LABEL: func.func @writes_arg
// CHECK:         memref.alloc
// CHECK:         memref.copy
func.func @writes_arg(%state: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<2x4xf32>
  %cast = memref.cast %state : memref<2x4xf32> to memref<?x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %new[%bx, %tx] : memref<2x4xf32>
    memref.store %v, %cast[%bx, %tx] : memref<?x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}

// -----

// The vector decode kernel's 16-byte loads and stores: rewritten the same.
// CHECK-LABEL: func.func @vector
// CHECK-SAME:    (%[[STATE:.*]]: memref<2x4xf32>
// CHECK-NOT:     memref.alloc
// CHECK:         vector.load %[[STATE]]
// CHECK:         vector.store %{{.*}}, %[[STATE]]
// CHECK-NOT:     memref.copy
func.func @vector(%state: memref<2x4xf32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %old = vector.load %state[%bx, %c0] : memref<2x4xf32>, vector<4xf32>
    %twice = arith.addf %old, %old : vector<4xf32>
    vector.store %twice, %new[%bx, %c0] : memref<2x4xf32>, vector<4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.copy %new, %state : memref<2x4xf32> to memref<2x4xf32>
  return %state : memref<2x4xf32>
}
