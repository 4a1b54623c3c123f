// hymir-cispo-loss-to-gpu{wgmma token-chunk}: with the bf16 head the
// backward keeps a chunk's logits (as bf16 exponentials with their running
// maxima) instead of recomputing them. Per chunk of 256 tokens, unrolled up
// to max-tokens = 300 (chunk 1 under a token guard of T >= 257): the
// forward's wgmma kernel over the chunk's tokens storing e [256, 20096 + 8]
// (V = 20000 rounded up to 128, and a spare column) and its maxima
// [256, 4 x 157], the chunk's lse, the weights kernel, g in place and g^T
// [20096, 256], the chunk's h^T [256 (N), 256], d_lm_head (+)= g^T h into
// the result, then per pass of 8192 vocabulary rows (3: the last 3616 rows
// padded to 3712) W^T and g W into an f32 [256, N] accumulator, converted
// into the chunk's rows of d_hidden: 13 launches; after the chunks the
// weights kernel once more (the loss over every token). No atomic adds.
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu="wgmma=1 token-chunk=256 max-tokens=300" | FileCheck %s
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu="wgmma=1 token-chunk=256 max-tokens=300 mn-major=1" | FileCheck %s --check-prefix=MN
// RUN: not hymir-opt %s --hymir-cispo-loss-to-gpu="wgmma=1 token-chunk=100 max-tokens=300" 2>&1 | FileCheck %s --check-prefix=MULT
// RUN: not hymir-opt %s --hymir-cispo-loss-to-gpu="wgmma=1 token-chunk=256" 2>&1 | FileCheck %s --check-prefix=MAX

// With mn-major the gradient products read g, W and h as stored: no g^T,
// h^T, W^T or accumulator; per chunk the forward, lse, weights, g, then
// g^T h with both operands MN-major (transposed) and g W over the whole
// vocabulary with W MN-major (K = 20096), written to d_hidden's rows.
// MN-LABEL: func.func @bf16_head
// MN: memref.alloc() : memref<256x20104xbf16>
// MN-NEXT: memref.alloc() : memref<256x628xf32>
// MN-NEXT: memref.alloc() : memref<20000x256xbf16>
// MN-NEXT: memref.alloc(%{{.*}}) : memref<?x256xbf16>
// MN-COUNT-4: gpu.launch
// MN: gpu.launch
// MN: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// MN: gpu.launch
// MN: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// MN: hymir.token_guard tokens in [257, -1]
// MN-COUNT-6: gpu.launch
// MN-NOT: hymir.token_guard
// MN: gpu.launch
// MN-NOT: gpu.launch
// MN: return

// MULT: error: hymir-cispo-loss-to-gpu: token-chunk must be 0 (off) or a positive multiple of 128, got 100
// MAX: error: hymir-cispo-loss-to-gpu: token-chunk needs max-tokens (the most tokens of a call) for a dynamic token count

// CHECK-LABEL: func.func @bf16_head
// CHECK-NOT: memref.atomic_rmw addf
// CHECK: memref.alloc() : memref<f32>
// CHECK-NEXT: memref.alloc() : memref<256x20104xbf16>
// CHECK-NEXT: memref.alloc() : memref<256x628xf32>
// CHECK-NEXT: memref.alloc() : memref<20096x256xbf16>
// CHECK-NEXT: memref.alloc() : memref<256x256xbf16>
// CHECK-NEXT: memref.alloc() : memref<20000x256xbf16>
// CHECK-NEXT: memref.alloc() : memref<256x8192xbf16>
// CHECK-NEXT: memref.alloc() : memref<256x256xf32>
// CHECK-NEXT: memref.alloc(%{{.*}}) : memref<?x256xbf16>
// chunk 0: the forward stores e at the column or the spare one (20096).
// CHECK: gpu.launch
// CHECK: arith.select %{{.*}}, %{{.*}}, %c20096
// CHECK: memref.store %{{.*}} : memref<256x20104xbf16>
// CHECK-COUNT-12: gpu.launch
// CHECK: hymir.token_guard tokens in [257, -1]
// CHECK-COUNT-13: gpu.launch
// CHECK-NOT: hymir.token_guard
// CHECK: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @bf16_head(%hidden: tensor<?x256xbf16>, %lm_head: tensor<20000x256xbf16>,
                     %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                     %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32, precision = "bf16"}
      : (tensor<?x256xbf16>, tensor<20000x256xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>)
  return %loss, %logp, %dh, %dw : tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>
}

// A static token count bounds the chunks by itself, and no chunk is larger
// than the most tokens rounded up to 128 (128 tokens: one chunk of 128, no
// guard); only d_lm_head wanted: no W^T, no accumulator, no d_hidden.
// CHECK-LABEL: func.func @static_head_only
// CHECK: memref.alloc() : memref<128x1032xbf16>
// CHECK-NEXT: memref.alloc() : memref<128x32xf32>
// CHECK-NEXT: memref.alloc() : memref<1024x128xbf16>
// CHECK-NEXT: memref.alloc() : memref<128x128xbf16>
// CHECK-NEXT: memref.alloc() : memref<1003x128xbf16>
// CHECK-NOT: hymir.token_guard
// CHECK-COUNT-7: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @static_head_only(%hidden: tensor<128x128xbf16>, %lm_head: tensor<1003x128xbf16>,
                            %targets: tensor<128xi32>, %logp_old: tensor<128xf32>,
                            %adv: tensor<128xf32>, %mask: tensor<128xf32>)
    -> tensor<1003x128xbf16> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32, precision = "bf16"}
      : (tensor<128x128xbf16>, tensor<1003x128xbf16>, tensor<128xi32>, tensor<128xf32>,
         tensor<128xf32>, tensor<128xf32>)
      -> (tensor<f32>, tensor<128xf32>, tensor<128x128xbf16>, tensor<1003x128xbf16>)
  return %dw : tensor<1003x128xbf16>
}

// The f32 head keeps the recomputing backward (passes of 16384 rows), and
// a forward-only call keeps the forward alone: no chunks, no stores of e.
// CHECK-LABEL: func.func @f32_head
// CHECK-NOT: hymir.token_guard
// CHECK: memref.alloc({{.*}}) : memref<?x16384xbf16>
// CHECK-LABEL: func.func @forward_only
// CHECK-NOT: hymir.token_guard
// CHECK-NOT: memref.alloc() : memref<256x20104xbf16>
// CHECK: return
func.func @f32_head(%hidden: tensor<?x256xbf16>, %lm_head: tensor<20000x256xbf16>,
                    %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                    %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> tensor<?x256xbf16> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<?x256xbf16>, tensor<20000x256xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>)
  return %dh : tensor<?x256xbf16>
}

func.func @forward_only(%hidden: tensor<?x256xbf16>, %lm_head: tensor<20000x256xbf16>,
                        %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                        %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> tensor<?xf32> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32, precision = "bf16"}
      : (tensor<?x256xbf16>, tensor<20000x256xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>)
  return %logp : tensor<?xf32>
}
