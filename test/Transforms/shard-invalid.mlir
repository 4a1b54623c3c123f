// RUN: hymir-opt %s --hymir-shard=devices=2 -split-input-file -verify-diagnostics
// RUN: not hymir-opt %s --hymir-shard=devices=0 2>&1 | FileCheck %s --check-prefix=ZERO

// ZERO: hymir-shard: devices must be at least 1, got 0

func.func @already_sharded(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{hymir-shard: the graph already has collectives; shard a single-device graph}}
  %y = hymir.all_reduce %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
