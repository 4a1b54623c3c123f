// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.softmax_attention (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// q must be [B, T, Hq, D].
func.func @softmax_attention_q_rank(
    %q: tensor<3x4x8xf32>, %k: tensor<2x5x2x8xf32>, %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects q to have rank 4 ([B, T, Hq, D]), got 'tensor<3x4x8xf32>'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @softmax_attention_q_element(
    %q: tensor<2x3x4x8xf64>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects q to have element type bf16 or f32, got 'f64'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf64>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// k must be [B, S, Hkv, D].
func.func @softmax_attention_k_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x16xf32>, %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects k to have rank 4 ([B, S, Hkv, D]), got 'tensor<2x5x16xf32>'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x16xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// k must have the element type of q.
func.func @softmax_attention_k_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xbf16>) {
  // expected-error @+1 {{expects k to have the element type of q ('bf16'), got 'f32'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xbf16>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xbf16>)
      -> tensor<2x3x4x8xbf16>
  return
}

// -----

// k must match q in B.
func.func @softmax_attention_k_B(
    %q: tensor<2x3x4x8xf32>, %k: tensor<1x5x2x8xf32>,
    %v: tensor<1x5x2x8xf32>) {
  // expected-error @+1 {{expects k dim 0 (B) to equal q dim 0 (2), got 1}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<1x5x2x8xf32>, tensor<1x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// k must match q in D.
func.func @softmax_attention_k_D(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x16xf32>,
    %v: tensor<2x5x2x16xf32>) {
  // expected-error @+1 {{expects k dim 3 (D) to equal q dim 3 (8), got 16}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x16xf32>, tensor<2x5x2x16xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// v must be [B, S, Hkv, D].
func.func @softmax_attention_v_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>, %v: tensor<2x5x16xf32>) {
  // expected-error @+1 {{expects v to have rank 4 ([B, S, Hkv, D]), got 'tensor<2x5x16xf32>'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x16xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// v must have the element type of q.
func.func @softmax_attention_v_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x5x2x8xbf16>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects v to have the element type of q ('bf16'), got 'f32'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xbf16>, tensor<2x5x2x8xbf16>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xbf16>
  return
}

// -----

// v must match k in B.
func.func @softmax_attention_v_B(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<1x5x2x8xf32>) {
  // expected-error @+1 {{expects v dim 0 (B) to equal q dim 0 (2), got 1}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<1x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// v must match k in S.
func.func @softmax_attention_v_S(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x6x2x8xf32>) {
  // expected-error @+1 {{expects v dim 1 (S) to equal k dim 1 (5), got 6}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x6x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// v must match k in Hkv.
func.func @softmax_attention_v_Hkv(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x1x8xf32>) {
  // expected-error @+1 {{expects v dim 2 (Hkv) to equal k dim 2 (2), got 1}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x1x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// v must match k in D.
func.func @softmax_attention_v_D(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x16xf32>) {
  // expected-error @+1 {{expects v dim 3 (D) to equal q dim 3 (8), got 16}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x16xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// Hq must be a multiple of Hkv.
func.func @softmax_attention_gqa_not_multiple(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x3x8xf32>,
    %v: tensor<2x5x3x8xf32>) {
  // expected-error @+1 {{expects the query head count (Hq = 4) to be a multiple of the KV head count (Hkv = 3)}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x3x8xf32>, tensor<2x5x3x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// Zero KV heads cannot be shared.
func.func @softmax_attention_gqa_zero_kv_heads(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x0x8xf32>,
    %v: tensor<2x5x0x8xf32>) {
  // expected-error @+1 {{expects the query head count (Hq = 4) to be a multiple of the KV head count (Hkv = 0)}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x0x8xf32>, tensor<2x5x0x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// With causal, the queries are the last T of S positions.
func.func @softmax_attention_causal_more_queries(
    %q: tensor<2x6x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects no more queries than keys for causal attention (queries are the last T of S positions), got T = 6 and S = 5}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x6x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x6x4x8xf32>
  return
}

// -----

// scale must be positive.
func.func @softmax_attention_scale_zero(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects scale to be positive and finite, got 0.000000e+00}}
  %out = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.0 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// scale must be positive.
func.func @softmax_attention_scale_negative(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects scale to be positive and finite, got -1.250000e-01}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = -0.125 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// scale must be finite.
func.func @softmax_attention_scale_inf(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects scale to be positive and finite, got INF}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 0x7F800000 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// scale must not be NaN.
func.func @softmax_attention_scale_nan(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects scale to be positive and finite, got nan}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 0x7FC00000 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xf32>
  return
}

// -----

// out has the shape of q.
func.func @softmax_attention_out_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out to have rank 4 ([B, T, Hq, D]), got 'tensor<6x4x8xf32>'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<6x4x8xf32>
  return
}

// -----

// out has the element type of q.
func.func @softmax_attention_out_element(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out to have the element type of q ('f32'), got 'bf16'}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x8xbf16>
  return
}

// -----

// out dim 0 must equal q dim 0.
func.func @softmax_attention_out_dim0(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out dim 0 (B) to equal q dim 0 (2), got 1}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<1x3x4x8xf32>
  return
}

// -----

// out dim 1 must equal q dim 1.
func.func @softmax_attention_out_dim1(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out dim 1 (T) to equal q dim 1 (3), got 5}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x5x4x8xf32>
  return
}

// -----

// out dim 2 must equal q dim 2.
func.func @softmax_attention_out_dim2(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out dim 2 (Hq) to equal q dim 2 (4), got 2}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x2x8xf32>
  return
}

// -----

// out dim 3 must equal q dim 3.
func.func @softmax_attention_out_dim3(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out dim 3 (D) to equal q dim 3 (8), got 16}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x3x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x16xf32>
  return
}

// -----

// Without causal, T may exceed S: no error expected.
func.func @softmax_attention_non_causal_more_queries_ok(
    %q: tensor<2x6x4x8xf32>, %k: tensor<2x5x2x8xf32>,
    %v: tensor<2x5x2x8xf32>) {
  %out = hymir.softmax_attention %q, %k, %v
      {causal = false, scale = 5.000000e-01 : f32}
      : (tensor<2x6x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x6x4x8xf32>
  return
}

// -----

// Dynamic T, S and head counts are not compared: no error expected.
func.func @softmax_attention_dynamic_ok(
    %q: tensor<2x?x?x8xf32>, %k: tensor<2x?x3x8xf32>,
    %v: tensor<2x?x3x8xf32>) {
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x?x?x8xf32>, tensor<2x?x3x8xf32>, tensor<2x?x3x8xf32>)
      -> tensor<2x?x?x8xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count).
func.func @softmax_attention_static_result_dynamic_tokens(
    %q: tensor<2x?x6x8xf32>, %k: tensor<2x?x3x8xf32>,
    %v: tensor<2x?x3x8xf32>) {
  // expected-error @+1 {{expects result out dim 1 (T) to be dynamic, as q dim 1 is (a size known only at run time), got 6}}
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x?x6x8xf32>, tensor<2x?x3x8xf32>, tensor<2x?x3x8xf32>)
      -> tensor<2x6x6x8xf32>
  return
}

// -----

// Causal with a dynamic S is checked at run time: no error expected.
func.func @softmax_attention_causal_dynamic_s_ok(
    %q: tensor<2x6x4x8xf32>, %k: tensor<2x?x2x8xf32>,
    %v: tensor<2x?x2x8xf32>) {
  %out = hymir.softmax_attention %q, %k, %v
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x6x4x8xf32>, tensor<2x?x2x8xf32>, tensor<2x?x2x8xf32>)
      -> tensor<2x6x4x8xf32>
  return
}

// -----

// lengths is [B] i32.
func.func @softmax_attention_lengths_type(
    %q: tensor<2x1x4x8xf32>, %k: tensor<2x5x2x8xf32>, %len: tensor<2xi64>) {
  // expected-error @+1 {{expects lengths to have element type 'i32', got 'i64'}}
  %out = hymir.softmax_attention %q, %k, %k lengths(%len)
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x1x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>,
         tensor<2xi64>) -> tensor<2x1x4x8xf32>
  return
}

// -----

// One length per sequence.
func.func @softmax_attention_lengths_batch(
    %q: tensor<2x1x4x8xf32>, %k: tensor<2x5x2x8xf32>, %len: tensor<3xi32>) {
  // expected-error @+1 {{expects lengths dim 0 (B) to equal q dim 0 (2), got 3}}
  %out = hymir.softmax_attention %q, %k, %k lengths(%len)
      {causal = true, scale = 5.000000e-01 : f32}
      : (tensor<2x1x4x8xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>,
         tensor<3xi32>) -> tensor<2x1x4x8xf32>
  return
}
