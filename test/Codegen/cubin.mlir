// With ptxas, cuda kernels are stored as cubins that carry their PTX as a
// fallback; without it (or with --ptxas=none), as PTX.
// REQUIRES: ptxas
// RUN: hymir-compile %s -o %t.hymir --target=cuda --print-plan | FileCheck %s --check-prefix=CUBIN
// RUN: hymir-compile %s -o %t.ptx.hymir --target=cuda --ptxas=none --print-plan 2>&1 | FileCheck %s --check-prefix=PTX

// CUBIN: code 0: cubin, {{[0-9]+}} B, with its PTX as fallback
// PTX: note: no ptxas
// PTX: code 0: ptx, {{[0-9]+}} B
// PTX-NOT: fallback
func.func @scale(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = arith.mulf %x, %x : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
