// Bad targets and option values are one line naming the option, the value
// and what is accepted, checked before the input is read: no LLVM abort,
// no location 0:0, no dump of the module. Both `--flag=value` and
// `--flag value` spellings are read.
// RUN: not hymir-compile %s -o %t --target=cuda --chip= 2>&1 | FileCheck %s --check-prefix=EMPTY --implicit-check-not="Stack dump" --implicit-check-not="LLVM ERROR"
// RUN: not hymir-compile %s -o %t --target=cuda --chip= 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --target=cuda --chip=sm_100a 2>&1 | FileCheck %s --check-prefix=SM100
// RUN: not hymir-compile %s -o %t --target=cuda --chip=sm_100a 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --target=cuda --chip=garbage 2>&1 | FileCheck %s --check-prefix=GARBAGE
// RUN: not hymir-compile %s -o %t --target=cuda --chip sm_999 2>&1 | FileCheck %s --check-prefix=SM999
// RUN: not hymir-compile %s -o %t --target=cuda --chip sm_999 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not hymir-compile %s -o %t --target=tpu 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --block-size=0 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not hymir-compile %s -o %t --block-size 1025 2>&1 | FileCheck %s --check-prefix=BLOCK-BIG
// RUN: not hymir-compile %s -o %t --target=cuda --lightning-value-split=-1 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not hymir-compile %s -o %t --target=cuda --moe-decode-slots=-5 2>&1 | FileCheck %s --check-prefix=SLOTS
// RUN: not hymir-compile %s -o %t --target=cuda --moe-wgmma-group=-1 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not hymir-compile %s -o %t --target=cuda --moe-wgmma-multicast-min-tokens=-1 2>&1 | FileCheck %s --check-prefix=MCMIN
// RUN: not hymir-compile %s -o %t --max-tokens=1000000000000 2>&1 | FileCheck %s --check-prefix=TOKENS
// A value that is not an integer at all states the range too.
// RUN: not hymir-compile %s -o %t --max-tokens=1e12 2>&1 | FileCheck %s --check-prefix=TOKENS-PARSE
// RUN: not hymir-compile %s -o %t --max-tokens=1e12 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --max-tokens 99999999999999999999 2>&1 | FileCheck %s --check-prefix=TOKENS-HUGE
// RUN: not hymir-compile %s -o %t --block-size=abc 2>&1 | FileCheck %s --check-prefix=BLOCK-PARSE
// RUN: not hymir-compile %s -o %t --target=cuda --moe-tile=0x 2>&1 | FileCheck %s --check-prefix=TILE-PARSE
// RUN: not hymir-compile %s -o %t --devices=0 2>&1 | FileCheck %s --check-prefix=DEVICES
// RUN: not hymir-compile %s -o %t --devices=65 2>&1 | FileCheck %s --check-prefix=DEVICES-BIG
// The MoE tile of 2^40 ran forever on cuda (a loop of tile / 32 steps).
// RUN: not hymir-compile %hymir_src/examples/moe_block.mlir -o %t --target=cuda --moe-tile=1099511627776 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not hymir-compile %hymir_src/examples/moe_block.mlir -o %t --target=cpu --moe-tile=1099511627776 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --moe-tile 0 2>&1 | FileCheck %s --check-prefix=TILE0
// Options whose range was declared but not checked: --cispo-m-tiles=99 and
// --cispo-n-tiles=0 were accepted (and ignored on cpu), --attention-schedule
// and --attention-splits failed only in the pass, the value printed as a char.
// RUN: not hymir-compile %s -o %t --cispo-m-tiles=99 2>&1 | FileCheck %s --check-prefix=MTILES
// RUN: not hymir-compile %s -o %t --cispo-n-tiles=0 2>&1 | FileCheck %s --check-prefix=NTILES
// RUN: not hymir-compile %s -o %t --target=cuda --attention-schedule=7 2>&1 | FileCheck %s --check-prefix=SCHEDULE
// RUN: not hymir-compile %s -o %t --target=cuda --attention-schedule=7 2>&1 | count 1
// RUN: not hymir-compile %s -o %t --target=cuda --attention-splits=100000 2>&1 | FileCheck %s --check-prefix=SPLITS
// RUN: not hymir-opt %s --hymir-softmax-attention-to-kernels=schedule=7 2>&1 | FileCheck %s --check-prefix=PASS-SCHEDULE
// A missing input is one line too.
// RUN: not hymir-compile %t.missing.mlir -o %t 2>&1 | FileCheck %s --check-prefix=MISSING

// EMPTY: hymir-compile: error: --chip: unknown chip '' (supported: sm_70, sm_80, sm_86, sm_89, sm_90, sm_90a)
// SM100: hymir-compile: error: --chip: unknown chip 'sm_100a' (supported: sm_70, sm_80, sm_86, sm_89, sm_90, sm_90a)
// GARBAGE: hymir-compile: error: --chip: unknown chip 'garbage' (supported:
// SM999: hymir-compile: error: --chip: unknown chip 'sm_999' (supported:
// TARGET: hymir-compile: error: unknown target 'tpu' (supported: cpu, cuda)
// BLOCK: hymir-compile: error: --block-size must be in [1, 1024], got 0
// BLOCK-BIG: hymir-compile: error: --block-size must be in [1, 1024], got 1025
// SPLIT: hymir-compile: error: --lightning-value-split must be in [0, 64], got -1
// SLOTS: hymir-compile: error: --moe-decode-slots must be in [0, 1024], got -5
// GROUP: hymir-compile: error: --moe-wgmma-group must be in [0, 256], got -1
// MCMIN: hymir-compile: error: --moe-wgmma-multicast-min-tokens must be in [0, 1073741824], got -1
// TOKENS: hymir-compile: error: --max-tokens must be in [1, 2147483647], got 1000000000000
// TOKENS-PARSE: hymir-compile: error: --max-tokens must be an integer in [1, 2147483647], got '1e12'
// TOKENS-HUGE: hymir-compile: error: --max-tokens must be an integer in [1, 2147483647], got '99999999999999999999'
// BLOCK-PARSE: hymir-compile: error: --block-size must be an integer in [1, 1024], got 'abc'
// TILE-PARSE: hymir-compile: error: --moe-tile must be an integer in [1, 1024], got '0x'
// DEVICES: hymir-compile: error: --devices must be in [1, 64], got 0
// DEVICES-BIG: hymir-compile: error: --devices must be in [1, 64], got 65
// TILE: hymir-compile: error: --moe-tile must be in [1, 1024], got 1099511627776
// TILE0: hymir-compile: error: --moe-tile must be in [1, 1024], got 0
// MTILES: hymir-compile: error: --cispo-m-tiles must be in [1, 16], got 99
// NTILES: hymir-compile: error: --cispo-n-tiles must be in [1, 16], got 0
// SCHEDULE: hymir-compile: error: --attention-schedule must be in [0, 2], got 7
// SPLITS: hymir-compile: error: --attention-splits must be in [0, 1024], got 100000
// PASS-SCHEDULE: hymir-softmax-attention-to-kernels: schedule must be 0, 1 or 2, got 7{{$}}
// MISSING: hymir-compile: error: cannot open input file
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
