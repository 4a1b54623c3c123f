// Static sizes that would overflow byte counts and kernel grids are refused
// before any pass computes with them, at the value, without a module dump;
// an rms_norm weight of dynamic width (read T wide at run time) is refused
// by the verifier.
// RUN: split-file %s %t
// RUN: not hymir-compile %t/arg.mlir -o %t.hymir 2>&1 | FileCheck %s --check-prefix=ARG --implicit-check-not="see current operation"
// RUN: not hymir-compile %t/arg.mlir -o %t.hymir --target=cuda 2>&1 | count 3
// RUN: not hymir-compile %t/value.mlir -o %t.hymir 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: not hymir-compile %t/rms.mlir -o %t.hymir 2>&1 | FileCheck %s --check-prefix=RMS
// RUN: not hymir-compile %t/layout.mlir -o %t.hymir --target=cuda 2>&1 | FileCheck %s --check-prefix=TILE

// ARG: arg.mlir:1:1: error: hymir-compile: 'tensor<4611686018427387904xf32>' holds 2^63 bytes or more; a tensor may hold at most 2^40 bytes (1 TiB) counting its static dims
// VALUE: value.mlir:4:8: error: hymir-compile: 'tensor<?x1099511627776xf32>' holds 4398046511104 bytes; a tensor may hold at most 2^40 bytes
// RMS: rms.mlir:2:8: error: 'hymir.rms_norm' op expects weight dim 0 (N, the normalized width) to be static, got 'tensor<?xf32>'
// TILE: layout.mlir:2:16: error: 'hymir.moe_layout' op expects tile in [1, 1024], got 9223372036854775807

//--- arg.mlir
func.func @f(%x: tensor<4611686018427387904xf32>) -> tensor<4611686018427387904xf32> {
  %y = arith.mulf %x, %x : tensor<4611686018427387904xf32>
  return %y : tensor<4611686018427387904xf32>
}

//--- value.mlir
func.func @f(%x: tensor<?x1xf32>) -> tensor<?x1099511627776xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x1xf32>
  %y = tensor.empty(%n) : tensor<?x1099511627776xf32>
  return %y : tensor<?x1099511627776xf32>
}

//--- rms.mlir
func.func @f(%x: tensor<?x8xf32>, %w: tensor<?xf32>) -> tensor<?x8xf32> {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

//--- layout.mlir
func.func @f(%i: tensor<?x2xi32>) -> tensor<5xi32> {
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 9223372036854775807 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %o : tensor<5xi32>
}
