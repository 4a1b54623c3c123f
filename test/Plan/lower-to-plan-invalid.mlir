// RUN: hymir-opt %s -split-input-file -hymir-lower-to-plan -verify-diagnostics

// Each error names the op that cannot be planned and why.

func.func @two_dynamic(%x: memref<?x?x?xf32>) {
  // expected-error @-1 {{hymir-compile: a stride is not affine in the token count (two dynamic dims in one tensor)}}
  return
}

// -----

func.func @load(%x: memref<?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{op cannot be placed in an execution plan (plans hold allocations, reshapes, casts, copies, kernel launches, library GEMMs and collectives)}}
  %v = memref.load %x[%c0] : memref<?xf32>
  return %v : f32
}

// -----

func.func @bad_dim(%x: memref<?xf32>) {
  %c3 = arith.constant 3 : index
  // expected-error @+1 {{memref.dim index is not a constant dim of its 1-d source}}
  %d = memref.dim %x, %c3 : memref<?xf32>
  %b = memref.alloc(%d) : memref<?xf32>
  return
}

// -----

func.func @square(%x: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?xf32>
  // expected-error @+1 {{cannot express this size in the execution plan (sizes must be affine in the token count)}}
  %sq = arith.muli %t, %t : index
  %b = memref.alloc(%sq) : memref<?xf32>
  return
}

// -----

func.func @branch(%x: memref<?xf32>) {
  %c = arith.constant true
  // expected-error @+1 {{op cannot be placed in an execution plan (only hymir.token_guard may hold steps: a choice by token count is a guard, not a branch)}}
  scf.if %c {
  }
  return
}

// -----

func.func @guard_without_tokens(%x: memref<4xf32>) {
  // expected-error @+1 {{a token guard in an entry without a token count (no dynamic dim in its arguments)}}
  hymir.token_guard tokens in [0, 16] {
  }
  return
}

// -----

func.func @copy_in_guard(%x: memref<?xf32>) {
  hymir.token_guard tokens in [0, 16] {
    // expected-error @+1 {{only kernel launches and tensor maps can depend on the token count (inside hymir.token_guard)}}
    memref.copy %x, %x : memref<?xf32> to memref<?xf32>
  }
  return
}

// -----

func.func @strided_copy(%x: memref<?x8xf32>, %y: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %s = memref.subview %x[0, 0] [%t, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1]>>
  // expected-error @+1 {{a copy step moves contiguous bytes; this copy of a strided view should have become a kernel (hymir-linalg-to-parallel-loops)}}
  memref.copy %s, %y : memref<?x4xf32, strided<[8, 1]>> to memref<?x4xf32>
  return
}
