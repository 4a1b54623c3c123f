// Without ptxas the cuda artifact holds PTX only (this runs everywhere, CI
// included, by naming no ptxas).
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan 2>&1 | FileCheck %s
// CHECK: note: no ptxas
// CHECK: code 0: ptx, {{[0-9]+}} B
// CHECK-NOT: fallback
func.func @scale(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = arith.mulf %x, %x : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
