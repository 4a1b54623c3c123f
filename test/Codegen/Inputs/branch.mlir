// A branch on the token count: plans take launches guarded by a
// hymir.token_guard (which the kernel passes emit), never scf.if, so this
// is refused with that reason.
func.func @branch(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x8xf32>
  %c4 = arith.constant 4 : index
  %p = arith.cmpi ult, %d, %c4 : index
  %y = scf.if %p -> tensor<?x8xf32> {
    %a = arith.mulf %x, %x : tensor<?x8xf32>
    scf.yield %a : tensor<?x8xf32>
  } else {
    scf.yield %x : tensor<?x8xf32>
  }
  return %y : tensor<?x8xf32>
}
