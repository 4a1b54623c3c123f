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

// -----

// The model's decode: a slot without a token keeps its state, an
// elementwise select written into the argument after the launch. The
// select runs in the launch at each store, into the argument.
// CHECK-LABEL: func.func @keep_idle_slots
// CHECK-SAME:    (%[[STATE:[^:]*]]: memref<2x4xf32>, %[[COUNTS:[^:]*]]: memref<2xi32>
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch
// CHECK:           %[[NEW:.*]] = arith.addf
// CHECK:           %[[OLD:.*]] = memref.load %[[STATE]][%[[B:.*]], %[[T:.*]]]
// CHECK:           %[[C:.*]] = memref.load %[[COUNTS]][%[[B]]]
// CHECK:           %[[ACTIVE:.*]] = arith.cmpi sgt, %[[C]]
// CHECK:           %[[KEPT:.*]] = arith.select %[[ACTIVE]], %[[NEW]], %[[OLD]]
// CHECK:           memref.store %[[KEPT]], %[[STATE]][%[[B]], %[[T]]]
// CHECK:         } {hymir.lightning = "decode"}
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @keep_idle_slots(%state: memref<2x4xf32>, %counts: memref<2xi32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0 : i32
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %old = memref.load %state[%bx, %tx] : memref<2x4xf32>
    %twice = arith.addf %old, %old : f32
    memref.store %twice, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  linalg.generic {indexing_maps = [#id, #id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%new, %state, %counts : memref<2x4xf32>, memref<2x4xf32>, memref<2xi32>) outs(%state : memref<2x4xf32>) {
  ^bb0(%n: f32, %o: f32, %c: i32, %unused: f32):
    %active = arith.cmpi sgt, %c, %zero : i32
    %r = arith.select %active, %n, %o : f32
    linalg.yield %r : f32
  }
  return %state : memref<2x4xf32>
}

// -----

// The same after vector stores (the vector decode kernel): element by
// element, one vector store into the argument.
// CHECK-LABEL: func.func @keep_idle_slots_vector
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch
// CHECK-COUNT-4:   arith.select
// CHECK:           %[[V:.*]] = vector.from_elements
// CHECK:           vector.store %[[V]], %arg0[{{.*}}] {alignment = 16 : i64}
// CHECK:         } {hymir.lightning = "decode"}
// CHECK-NOT:     linalg.generic
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>
func.func @keep_idle_slots_vector(%state: memref<2x4xf32>, %counts: memref<2xi32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0 : i32
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %old = vector.load %state[%bx, %c0] : memref<2x4xf32>, vector<4xf32>
    %twice = arith.addf %old, %old : vector<4xf32>
    vector.store %twice, %new[%bx, %c0] {alignment = 16 : i64} : memref<2x4xf32>, vector<4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  linalg.generic {indexing_maps = [#id2, #id2, #row2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%new, %state, %counts : memref<2x4xf32>, memref<2x4xf32>, memref<2xi32>) outs(%state : memref<2x4xf32>) {
  ^bb0(%n: f32, %o: f32, %c: i32, %unused: f32):
    %active = arith.cmpi sgt, %c, %zero : i32
    %r = arith.select %active, %n, %o : f32
    linalg.yield %r : f32
  }
  return %state : memref<2x4xf32>
}

// -----

// The counts are written between the launch and the select: kept as it is.
// CHECK-LABEL: func.func @counts_written_between
// CHECK:         memref.alloc
// CHECK:         linalg.generic
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
func.func @counts_written_between(%state: memref<2x4xf32>, %counts: memref<2xi32>) -> (memref<2x4xf32> {hymir.tied = 0 : i64}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0 : i32
  %new = memref.alloc() : memref<2x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %old = memref.load %state[%bx, %tx] : memref<2x4xf32>
    memref.store %old, %new[%bx, %tx] : memref<2x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  memref.store %zero, %counts[%c0] : memref<2xi32>
  linalg.generic {indexing_maps = [#id3, #id3, #row3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%new, %state, %counts : memref<2x4xf32>, memref<2x4xf32>, memref<2xi32>) outs(%state : memref<2x4xf32>) {
  ^bb0(%n: f32, %o: f32, %c: i32, %unused: f32):
    %active = arith.cmpi sgt, %c, %zero : i32
    %r = arith.select %active, %n, %o : f32
    linalg.yield %r : f32
  }
  return %state : memref<2x4xf32>
}

// -----

// The fresh state read at another point (a transpose): kept as it is.
// CHECK-LABEL: func.func @transposed
// CHECK:         memref.alloc
// CHECK:         linalg.generic
#id4 = affine_map<(d0, d1) -> (d0, d1)>
#swap4 = affine_map<(d0, d1) -> (d1, d0)>
func.func @transposed(%state: memref<4x4xf32>) -> (memref<4x4xf32> {hymir.tied = 0 : i64}) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %new = memref.alloc() : memref<4x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %old = memref.load %state[%bx, %tx] : memref<4x4xf32>
    memref.store %old, %new[%bx, %tx] : memref<4x4xf32>
    gpu.terminator
  } {hymir.lightning = "decode"}
  linalg.generic {indexing_maps = [#swap4, #id4], iterator_types = ["parallel", "parallel"]}
      ins(%new : memref<4x4xf32>) outs(%state : memref<4x4xf32>) {
  ^bb0(%n: f32, %unused: f32):
    linalg.yield %n : f32
  }
  return %state : memref<4x4xf32>
}
