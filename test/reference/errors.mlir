// hymir-reference reports what it cannot evaluate at the op, and a missing
// function by name, instead of crashing.
// RUN: not hymir-reference %s --function unsupported 2>&1 | FileCheck %s --check-prefix=OP
// RUN: not hymir-reference %s --function missing 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not hymir-reference %s --function slice_oob --tokens 4 2>&1 | FileCheck %s --check-prefix=OOB

// OP: error: reference: op not supported by the evaluator
func.func @unsupported(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = math.sin %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// MISSING: no function missing

// OOB: error: reference: slice of dim 0 out of bounds
func.func @slice_oob(%x: tensor<?xf32>) -> tensor<6xf32> {
  %y = tensor.extract_slice %x[0] [6] [1] : tensor<?xf32> to tensor<6xf32>
  return %y : tensor<6xf32>
}
