// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.lightning_attention (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// q must be [B, T, H, D].
func.func @lightning_attention_q_rank(
    %q: tensor<3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects q to have rank 4 ([B, T, H, D]), got 'tensor<3x4x8xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// Activations are bf16 or f32.
func.func @lightning_attention_q_element(
    %q: tensor<2x3x4x8xf16>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects q to have element type bf16 or f32, got 'f16'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf16>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// An integer q is rejected too.
func.func @lightning_attention_q_element_int(
    %q: tensor<2x3x4x8xi32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects q to have element type bf16 or f32, got 'i32'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xi32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must be [B, T, H, D].
func.func @lightning_attention_k_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x32xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x32xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must have the element type of q.
func.func @lightning_attention_k_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xf32>,
    %v: tensor<2x3x4x8xbf16>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k to have the element type of q ('bf16'), got 'f32'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xbf16>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xbf16>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must match q in B.
func.func @lightning_attention_k_B(
    %q: tensor<2x3x4x8xf32>, %k: tensor<1x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k dim 0 (B) to equal q dim 0 (2), got 1}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<1x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must match q in T.
func.func @lightning_attention_k_T(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x5x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k dim 1 (T) to equal q dim 1 (3), got 5}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x5x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must match q in H.
func.func @lightning_attention_k_H(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x2x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k dim 2 (H) to equal q dim 2 (4), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x2x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// k must match q in D.
func.func @lightning_attention_k_D(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x16xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects k dim 3 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x16xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must be [B, T, H, D].
func.func @lightning_attention_v_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x32xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x32xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must have the element type of q.
func.func @lightning_attention_v_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xbf16>,
    %v: tensor<2x3x4x8xf32>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v to have the element type of q ('bf16'), got 'f32'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xbf16>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must match q in B.
func.func @lightning_attention_v_B(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<1x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v dim 0 (B) to equal q dim 0 (2), got 1}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<1x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must match q in T.
func.func @lightning_attention_v_T(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x5x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v dim 1 (T) to equal q dim 1 (3), got 5}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x5x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must match q in H.
func.func @lightning_attention_v_H(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x2x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v dim 2 (H) to equal q dim 2 (4), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x2x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// v must match q in D.
func.func @lightning_attention_v_D(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x16xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v dim 3 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x16xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// slopes must be [H].
func.func @lightning_attention_slopes_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<1x4xf32>) {
  // expected-error @+1 {{expects slopes to have rank 1 ([H]), got 'tensor<1x4xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<1x4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// slopes are f32 even with bf16 activations.
func.func @lightning_attention_slopes_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xbf16>,
    %v: tensor<2x3x4x8xbf16>, %slopes: tensor<4xbf16>) {
  // expected-error @+1 {{expects slopes to have element type 'f32', got 'bf16'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>,
         tensor<4xbf16>)
      -> (tensor<2x3x4x8xbf16>, tensor<2x4x8x8xf32>)
  return
}

// -----

// One slope per head.
func.func @lightning_attention_slopes_length(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<3xf32>) {
  // expected-error @+1 {{expects slopes dim 0 (H) to equal q dim 2 (4), got 3}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<3xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// The initial state is [B, H, D, D].
func.func @lightning_attention_initial_state_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>, %s0: tensor<2x4x8xf32>) {
  // expected-error @+1 {{expects initial_state to have rank 4 ([B, H, D, D]), got 'tensor<2x4x8xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>, tensor<2x4x8xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// The initial state is f32 even with bf16 activations.
func.func @lightning_attention_initial_state_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xbf16>,
    %v: tensor<2x3x4x8xbf16>, %slopes: tensor<4xf32>,
    %s0: tensor<2x4x8x8xbf16>) {
  // expected-error @+1 {{expects initial_state to have element type 'f32', got 'bf16'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>,
         tensor<4xf32>, tensor<2x4x8x8xbf16>)
      -> (tensor<2x3x4x8xbf16>, tensor<2x4x8x8xf32>)
  return
}

// -----

// initial_state dim 0 must be B.
func.func @lightning_attention_initial_state_dim0(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>, %s0: tensor<1x4x8x8xf32>) {
  // expected-error @+1 {{expects initial_state dim 0 (B) to equal q dim 0 (2), got 1}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>, tensor<1x4x8x8xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// initial_state dim 1 must be H.
func.func @lightning_attention_initial_state_dim1(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>, %s0: tensor<2x2x8x8xf32>) {
  // expected-error @+1 {{expects initial_state dim 1 (H) to equal q dim 2 (4), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>, tensor<2x2x8x8xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// initial_state dim 2 must be D.
func.func @lightning_attention_initial_state_dim2(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>, %s0: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expects initial_state dim 2 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>, tensor<2x4x16x8xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// initial_state dim 3 must be D.
func.func @lightning_attention_initial_state_dim3(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>, %s0: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{expects initial_state dim 3 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>, tensor<2x4x8x16xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// block_size must be positive.
func.func @lightning_attention_block_size_zero(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects block_size to be positive, got 0}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      {block_size = 0 : i64}
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out has the shape of q.
func.func @lightning_attention_out_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out to have rank 4 ([B, T, H, D]), got 'tensor<6x4x8xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<6x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out has the element type of q.
func.func @lightning_attention_out_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xbf16>,
    %v: tensor<2x3x4x8xbf16>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out to have the element type of q ('bf16'), got 'f32'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out dim 0 must equal q dim 0.
func.func @lightning_attention_out_dim0(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out dim 0 (B) to equal q dim 0 (2), got 1}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<1x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out dim 1 must equal q dim 1.
func.func @lightning_attention_out_dim1(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out dim 1 (T) to equal q dim 1 (3), got 5}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x5x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out dim 2 must equal q dim 2.
func.func @lightning_attention_out_dim2(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out dim 2 (H) to equal q dim 2 (4), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x2x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// out dim 3 must equal q dim 3.
func.func @lightning_attention_out_dim3(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out dim 3 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x16xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// The final state is [B, H, D, D].
func.func @lightning_attention_final_state_rank(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state to have rank 4 ([B, H, D, D]), got 'tensor<8x8xf32>'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<8x8xf32>)
  return
}

// -----

// The final state is f32 even with bf16 activations.
func.func @lightning_attention_final_state_element(
    %q: tensor<2x3x4x8xbf16>, %k: tensor<2x3x4x8xbf16>,
    %v: tensor<2x3x4x8xbf16>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state to have element type 'f32', got 'bf16'}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>, tensor<2x3x4x8xbf16>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xbf16>, tensor<2x4x8x8xbf16>)
  return
}

// -----

// final_state dim 0 must be B.
func.func @lightning_attention_final_state_dim0(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state dim 0 (B) to equal q dim 0 (2), got 1}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<1x4x8x8xf32>)
  return
}

// -----

// final_state dim 1 must be H.
func.func @lightning_attention_final_state_dim1(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state dim 1 (H) to equal q dim 2 (4), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x2x8x8xf32>)
  return
}

// -----

// final_state dim 2 must be D.
func.func @lightning_attention_final_state_dim2(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state dim 2 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x16x8xf32>)
  return
}

// -----

// final_state dim 3 must be D.
func.func @lightning_attention_final_state_dim3(
    %q: tensor<2x3x4x8xf32>, %k: tensor<2x3x4x8xf32>, %v: tensor<2x3x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state dim 3 (D) to equal q dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

// Dynamic dims are compared with nothing: no error expected.
func.func @lightning_attention_dynamic_ok(
    %q: tensor<2x?x4x8xf32>, %k: tensor<?x3x4x8xf32>, %v: tensor<2x3x?x8xf32>,
    %slopes: tensor<?xf32>, %s0: tensor<?x4x8x?xf32>) {
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<2x?x4x8xf32>, tensor<?x3x4x8xf32>, tensor<2x3x?x8xf32>,
         tensor<?xf32>, tensor<?x4x8x?xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x?x8x8xf32>)
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @lightning_attention_static_result_dynamic_tokens(
    %q: tensor<2x?x4x8xf32>, %k: tensor<2x?x4x8xf32>, %v: tensor<2x?x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result out dim 1 (T) to be dynamic, as q dim 1 is (a size known only at run time), got 3}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x?x4x8xf32>, tensor<2x?x4x8xf32>, tensor<2x?x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

func.func @lightning_attention_static_state_dynamic_batch(
    %q: tensor<?x?x4x8xf32>, %k: tensor<?x?x4x8xf32>, %v: tensor<?x?x4x8xf32>,
    %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects result final_state dim 0 (B) to be dynamic, as q dim 0 is (a size known only at run time), got 2}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>,
         tensor<4xf32>)
      -> (tensor<?x?x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}
