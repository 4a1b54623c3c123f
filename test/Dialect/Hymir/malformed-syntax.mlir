// RUN: not hymir-opt %s -split-input-file 2>&1 | FileCheck %s

// Input that is not well-formed MLIR around hymir ops: hymir-opt must report
// the error where it is and exit with a failure, without crashing (`not`
// fails on a crash). The splits are parsed one by one.

// CHECK: malformed-syntax.mlir:[[@LINE+1]]:1: error: custom op 'this' is unknown
this is not mlir

// -----

func.func @attribute_without_value(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // CHECK: malformed-syntax.mlir:[[@LINE+1]]:40: error: expected attribute value
  %y = hymir.rms_norm %x, %w {epsilon = } : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @trailing_garbage(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32> !@#
  // CHECK: malformed-syntax.mlir:[[@LINE-1]]:110: error: invalid type identifier
  return
}

// -----

func.func @unterminated_operand_list(%x: tensor<2x8xf32>) {
  // CHECK: malformed-syntax.mlir:[[@LINE+1]]:28: error: expected SSA operand
  %y = "hymir.rms_norm"(%x,
}

// -----

// CHECK: malformed-syntax.mlir:[[@LINE+3]]:9: error: expected operation name in quotes
func.func @missing_closing_brace(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return

// -----

func.func @truncated(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // CHECK: malformed-syntax.mlir:[[@LINE+1]]:85: error: expected non-function type
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<2x8xf32>, tensor<8x
