// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.kv_cache_write (HymirOps.cpp): each
// case is a valid op with one operand or result type broken.

// cache is [B, C, H, D].
func.func @cache_rank(%c: tensor<2x8x4xf32>, %u: tensor<2x1x2x4xf32>,
                      %len: tensor<2xi32>) {
  // expected-error @+1 {{expects cache to have rank 4 ([B, C, H, D]), got 'tensor<2x8x4xf32>'}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x8x4xf32>
  return
}

// -----

// update has the cache's element type.
func.func @update_element(%c: tensor<2x8x2x4xbf16>, %u: tensor<2x1x2x4xf32>,
                          %len: tensor<2xi32>) {
  // expected-error @+1 {{expects update to have the element type of cache ('bf16'), got 'f32'}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x2x4xbf16>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xbf16>
  return
}

// -----

// update's heads are the cache's.
func.func @update_heads(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x3x4xf32>,
                        %len: tensor<2xi32>) {
  // expected-error @+1 {{expects update dim 2 (H) to equal cache dim 2 (2), got 3}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x2x4xf32>, tensor<2x1x3x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

// More rows than positions can never fit.
func.func @update_rows(%c: tensor<2x8x2x4xf32>, %u: tensor<2x9x2x4xf32>,
                       %len: tensor<2xi32>) {
  // expected-error @+1 {{expects at most as many update rows as cache positions (update dim 1 <= cache dim 1), got T = 9 and C = 8}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x2x4xf32>, tensor<2x9x2x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

// lengths is [B] i32.
func.func @lengths_batch(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                         %len: tensor<1xi32>) {
  // expected-error @+1 {{expects lengths dim 0 (B) to equal cache dim 0 (2), got 1}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<1xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

// The result is the cache's type.
func.func @result_shape(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                        %len: tensor<2xi32>) {
  // expected-error @+1 {{expects result dim 1 (C) to equal cache dim 1 (8), got 7}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x7x2x4xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @cache_static_result_dynamic_batch(%c: tensor<?x8x2x4xf32>, %u: tensor<?x1x2x4xf32>,
                                             %len: tensor<?xi32>) {
  // expected-error @+1 {{expects result dim 0 (B) to be dynamic, as cache dim 0 is (a size known only at run time), got 2}}
  %r = hymir.kv_cache_write %c, %u, %len
      : (tensor<?x8x2x4xf32>, tensor<?x1x2x4xf32>, tensor<?xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

// The update's RoPE: positions, rotary_dim and theta together.
func.func @rope_no_positions(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                             %len: tensor<2xi32>) {
  // expected-error @+1 {{expects positions, rotary_dim and theta together (the RoPE of the update) or none of them, got no positions, rotary_dim and theta}}
  %r = hymir.kv_cache_write %c, %u, %len {rotary_dim = 4 : i64, theta = 1.0e4 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

func.func @rope_no_theta(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                         %len: tensor<2xi32>, %pos: tensor<2x1xi32>) {
  // expected-error @+1 {{expects positions, rotary_dim and theta together (the RoPE of the update) or none of them, got positions, rotary_dim and no theta}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 4 : i64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

// positions is [B, T] i32: one per update row.
func.func @rope_positions_rows(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                               %len: tensor<2xi32>, %pos: tensor<2x3xi32>) {
  // expected-error @+1 {{expects positions dim 1 (T) to equal update dim 1 (1), got 3}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 4 : i64, theta = 1.0e4 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x3xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

func.func @rope_positions_element(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                                  %len: tensor<2xi32>, %pos: tensor<2x1xi64>) {
  // expected-error @+1 {{expects positions to have element type 'i32', got 'i64'}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 4 : i64, theta = 1.0e4 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x1xi64>) -> tensor<2x8x2x4xf32>
  return
}

// -----

func.func @rope_odd_rotary(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                           %len: tensor<2xi32>, %pos: tensor<2x1xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got 3}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 3 : i64, theta = 1.0e4 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

func.func @rope_wide_rotary(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                            %len: tensor<2xi32>, %pos: tensor<2x1xi32>) {
  // expected-error @+1 {{expects rotary_dim to be at most the head dim D (4), got 8}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 8 : i64, theta = 1.0e4 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x8x2x4xf32>
  return
}

// -----

func.func @rope_theta(%c: tensor<2x8x2x4xf32>, %u: tensor<2x1x2x4xf32>,
                      %len: tensor<2xi32>, %pos: tensor<2x1xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got 0}}
  %r = hymir.kv_cache_write %c, %u, %len positions(%pos) {rotary_dim = 4 : i64, theta = 0.0 : f64}
      : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x8x2x4xf32>
  return
}
