// RUN: hymir-opt %s -hymir-materialize-constants | FileCheck %s

// A constant global the host reads becomes a buffer that a loop fills from
// the global, read inside the loop (a 0-d constant: a loop of one
// iteration). Reads inside a loop and reads of a global that is not constant
// stay as they are.
memref.global "private" constant @slopes : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
memref.global "private" constant @scale : memref<f32> = dense<2.0>
memref.global "private" @state : memref<4xf32> = dense<0.0>

// CHECK-LABEL: func.func @reads
// CHECK: %[[SLOPES:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step
// CHECK-NEXT: %[[G:.*]] = memref.get_global @slopes
// CHECK-NEXT: %[[V:.*]] = memref.load %[[G]][%[[I]]]
// CHECK-NEXT: memref.store %[[V]], %[[SLOPES]][%[[I]]]
// CHECK: %[[SCALE:.*]] = memref.alloc() : memref<f32>
// CHECK: scf.parallel
// CHECK-NEXT: %[[G2:.*]] = memref.get_global @scale
// CHECK-NEXT: %[[V2:.*]] = memref.load %[[G2]][]
// CHECK-NEXT: memref.store %[[V2]], %[[SCALE]][]
// CHECK: %[[STATE:.*]] = memref.get_global @state
// CHECK: memref.copy %[[SLOPES]], %arg0
// CHECK: memref.load %[[SCALE]][]
// CHECK: scf.parallel
// CHECK-NEXT: memref.get_global @slopes
// CHECK: memref.store %{{.*}}, %[[STATE]]
func.func @reads(%out: memref<4xf32>) -> f32 {
  %s = memref.get_global @slopes : memref<4xf32>
  %c = memref.get_global @scale : memref<f32>
  %m = memref.get_global @state : memref<4xf32>
  memref.copy %s, %out : memref<4xf32> to memref<4xf32>
  %x = memref.load %c[] : memref<f32>
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %g = memref.get_global @slopes : memref<4xf32>
    %v = memref.load %g[%i] : memref<4xf32>
    memref.store %v, %m[%i] : memref<4xf32>
  }
  return %x : f32
}
