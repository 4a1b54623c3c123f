// hymir-reference refuses values too large for its memory limit before it
// allocates anything, naming the argument or the op and the size, instead
// of aborting in the allocator; a size whose byte count overflows 64 bits
// is refused the same way; bad option values are one line.
// RUN: not hymir-reference %s --function big 2>&1 | FileCheck %s --check-prefix=BIG --implicit-check-not="Stack dump" --implicit-check-not="LLVM ERROR"
// RUN: not hymir-reference %s --function big 2>&1 | count 1
// RUN: not hymir-reference %s --function huge 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not hymir-reference %s --function dynamic --tokens 2000000000 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: not hymir-reference %s --function made --memory-limit=1 2>&1 | FileCheck %s --check-prefix=MADE
// RUN: not hymir-reference %s --function small --tokens=0 2>&1 | FileCheck %s --check-prefix=TOKENS
// RUN: not hymir-reference %s --function small --memory-limit=0 2>&1 | FileCheck %s --check-prefix=LIMIT
// RUN: not hymir-reference %s --function small --tokens=1e3 2>&1 | FileCheck %s --check-prefix=TOKENS-PARSE
// RUN: not hymir-reference %s --function small --tokens=1e3 2>&1 | count 1
// RUN: hymir-reference %s --function small --tokens 3 --seed 1 | FileCheck %s --check-prefix=SMALL

// BIG: hymir-reference: error: argument 'x': tensor<1000000000000xf32> at T = 8 takes 8000000000000 bytes as f64, over --memory-limit=16 GiB
func.func @big(%x: tensor<1000000000000xf32> {hymir.name = "x"}) -> tensor<1000000000000xf32> {
  %y = math.exp %x : tensor<1000000000000xf32>
  return %y : tensor<1000000000000xf32>
}

// HUGE: hymir-reference: error: argument 'arg0': tensor<9223372036854775807x4xf32> at T = 8 has 2^63 or more bytes
func.func @huge(%x: tensor<9223372036854775807x4xf32>) -> tensor<9223372036854775807x4xf32> {
  return %x : tensor<9223372036854775807x4xf32>
}

// DYN: hymir-reference: error: argument 'arg0': tensor<?x?x4xf32> at T = 2000000000 has 2^63 or more bytes
func.func @dynamic(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  return %x : tensor<?x?x4xf32>
}

// MADE: reference-limits.mlir:[[@LINE+2]]:8: error: reference: result of 'tensor.empty': tensor<65536x4096xf32> at T = 8 takes 2147483648 bytes as f64, over --memory-limit=1 GiB
func.func @made(%x: tensor<4xf32>) -> tensor<65536x4096xf32> {
  %e = tensor.empty() : tensor<65536x4096xf32>
  return %e : tensor<65536x4096xf32>
}

// TOKENS: hymir-reference: error: --tokens must be in [1, 2147483647], got 0
// TOKENS-PARSE: hymir-reference: error: --tokens must be an integer in [1, 2147483647], got '1e3'
// LIMIT: hymir-reference: error: --memory-limit must be in [1, 1024], got 0
// SMALL: evaluated small
func.func @small(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = math.exp %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
