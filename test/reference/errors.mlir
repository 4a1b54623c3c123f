// hymir-reference reports what it cannot serialize or evaluate at the op,
// an op inside a called function with the call site, and a missing function
// by name, instead of crashing.
// RUN: not hymir-reference %s --function unsupported 2>&1 | FileCheck %s --check-prefix=OP
// RUN: not hymir-reference %s --function missing 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not hymir-reference %s --function slice_oob --tokens 4 2>&1 | FileCheck %s --check-prefix=OOB
// RUN: not hymir-reference %s --function calls_slice --tokens 4 2>&1 | FileCheck %s --check-prefix=CALLEE
// RUN: not hymir-reference %s --function recursive 2>&1 | FileCheck %s --check-prefix=RECURSIVE

// OP: errors.mlir:[[@LINE+2]]:8: error: reference: 'math.sin' is not supported by the oracle evaluator
func.func @unsupported(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = math.sin %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// MISSING: no function missing

// OOB: errors.mlir:[[@LINE+2]]:8: error: reference: op 0 (tensor.extract_slice): slice of dim 0 out of bounds for shape [4] (offset 0, size 6, stride 1)
func.func @slice_oob(%x: tensor<?xf32>) -> tensor<6xf32> {
  %y = tensor.extract_slice %x[0] [6] [1] : tensor<?xf32> to tensor<6xf32>
  return %y : tensor<6xf32>
}

// CALLEE: errors.mlir:[[@LINE-4]]:8: error: reference: op 1 (tensor.extract_slice): slice of dim 0 out of bounds
// CALLEE: errors.mlir:[[@LINE+3]]:8: note: called from
func.func @calls_slice(%x: tensor<?xf32>) -> tensor<6xf32> {
  %n = math.exp %x : tensor<?xf32>
  %y = func.call @slice_oob(%n) : (tensor<?xf32>) -> tensor<6xf32>
  return %y : tensor<6xf32>
}

// RECURSIVE: errors.mlir:[[@LINE+2]]:8: error: reference: recursive call to @recursive cannot be inlined
func.func @recursive(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = func.call @recursive(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
