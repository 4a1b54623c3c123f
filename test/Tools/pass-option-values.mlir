// Pass options in messages print as numbers (block-size 0 printed a NUL
// character: the option was streamed as a char).
// RUN: not hymir-opt %s --hymir-map-parallel-loops-to-grid=block-size=0 2>&1 | FileCheck %s --check-prefix=GRID
// RUN: not hymir-opt %s --hymir-tile-lightning-attention=block-size=-3 2>&1 | FileCheck %s --check-prefix=TILE
// GRID: error: block-size must be in [1, 1024], got 0{{$}}
// TILE: error: block-size must be positive, got -3{{$}}
func.func @f() {
  return
}
