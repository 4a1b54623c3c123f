// Tiled forms and options the GPU kernel cannot take are reported at the
// tiled forall (the op's location); an untiled op is refused.
// RUN: hymir-opt %s -split-input-file -hymir-tile-lightning-attention="block-size=3" -hymir-lightning-to-gpu -verify-diagnostics
// RUN: hymir-opt %s -split-input-file -hymir-tile-lightning-attention="block-size=128" -hymir-lightning-to-gpu -verify-diagnostics
// RUN: not hymir-opt %s -split-input-file -hymir-tile-lightning-attention="value-split=3" -hymir-lightning-to-gpu 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not hymir-opt %s -split-input-file -hymir-tile-lightning-attention="block-size=32" -hymir-lightning-to-gpu="threads=100" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not hymir-opt %s -split-input-file -hymir-tile-lightning-attention="block-size=64 value-split=1" -hymir-lightning-to-gpu 2>&1 | FileCheck %s --check-prefix=SMEM
// RUN: not hymir-opt %s -split-input-file -hymir-lightning-to-gpu 2>&1 | FileCheck %s --check-prefix=UNTILED

// SPLIT: value-split 3 does not divide the value dim 16
// THREADS: threads must be a multiple of 32 in [32, 1024], got 100
// UNTILED: 'hymir.lightning_attention' op reaches hymir-lightning-to-gpu untiled: it maps the tiled form, run hymir-tile-lightning-attention first
// SMEM: GPU kernel tiles need {{[0-9]+}} B of shared memory, more than the 232448 B a block may have

func.func @block(%q: tensor<1x?x2x16xf32>, %s: tensor<2xf32>) -> tensor<1x?x2x16xf32> {
  // expected-error @+1 {{GPU block size must be even and in [2, 64]}}
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o : tensor<1x?x2x16xf32>
}

// -----

func.func @big(%q: tensor<1x?x2x512xf32>, %s: tensor<2xf32>) -> tensor<1x?x2x512xf32> {
  // expected-error @+1 {{GPU block size must be even and in [2, 64]}}
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x?x2x512xf32>, tensor<1x?x2x512xf32>, tensor<1x?x2x512xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x512xf32>, tensor<1x2x512x512xf32>)
  return %o : tensor<1x?x2x512xf32>
}

// -----

func.func @dynamic_batch(%q: tensor<?x?x2x16xf32>, %s: tensor<2xf32>) -> tensor<?x?x2x16xf32> {
  // expected-error @+1 {{needs static batch, head count and head dims for its GPU kernel}}
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<2xf32>)
      -> (tensor<?x?x2x16xf32>, tensor<?x2x16x16xf32>)
  return %o : tensor<?x?x2x16xf32>
}
