// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of the hymir ops (HymirOps.cpp): each case is
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

// x must be [B, T, H, D].
func.func @rope_x_rank(%x: tensor<2x3x32xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects x to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x32xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @rope_x_element(
    %x: tensor<2x3x4x8xf16>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf16>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must be [B, T].
func.func @rope_positions_rank(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<6xi32>) {
  // expected-error @+1 {{expects positions to have rank 2 ([B, T]), got 'tensor<6xi32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<6xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions are i32.
func.func @rope_positions_element(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi64>) {
  // expected-error @+1 {{expects positions to have element type 'i32', got 'i64'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi64>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must match x in B.
func.func @rope_positions_B(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<1x3xi32>) {
  // expected-error @+1 {{expects positions dim 0 (B) to equal x dim 0 (2), got 1}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<1x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must match x in T.
func.func @rope_positions_T(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x4xi32>) {
  // expected-error @+1 {{expects positions dim 1 (T) to equal x dim 1 (3), got 4}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x4xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim pairs channels, so it is even.
func.func @rope_rotary_dim_odd(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got 7}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 7 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim must be positive.
func.func @rope_rotary_dim_zero(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got 0}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 0 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim must be positive.
func.func @rope_rotary_dim_negative(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got -2}}
  %y = hymir.rope %x, %positions
      {rotary_dim = -2 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim is at most D.
func.func @rope_rotary_dim_too_large(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be at most the head dim D (8), got 10}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 10 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be positive.
func.func @rope_theta_zero(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got 0.000000e+00}}
  %y = hymir.rope %x, %positions {rotary_dim = 8 : i64, theta = 0.0 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be positive.
func.func @rope_theta_negative(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got -1.000000e+04}}
  %y = hymir.rope %x, %positions {rotary_dim = 8 : i64, theta = -1.0e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be finite.
func.func @rope_theta_inf(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got INF}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 0x7FF0000000000000 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must not be NaN.
func.func @rope_theta_nan(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got nan}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 0x7FF8000000000000 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @rope_result_rank(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x32xf32>
  return
}

// -----

// The result has the element type of x.
func.func @rope_result_element(
    %x: tensor<2x3x4x8xbf16>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xbf16>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @rope_result_dim0(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 0 (B) to equal x dim 0 (2), got 1}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<1x3x4x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @rope_result_dim1(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 1 (T) to equal x dim 1 (3), got 4}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x4x4x8xf32>
  return
}

// -----

// The result dim 2 must equal x dim 2.
func.func @rope_result_dim2(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 2 (H) to equal x dim 2 (4), got 2}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x2x8xf32>
  return
}

// -----

// The result dim 3 must equal x dim 3.
func.func @rope_result_dim3(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 3 (D) to equal x dim 3 (8), got 16}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x16xf32>
  return
}

// -----

// With a dynamic D, rotary_dim is checked at run time: no error expected.
func.func @rope_dynamic_ok(
    %x: tensor<2x?x4x?xf32>, %positions: tensor<?x5xi32>) {
  %y = hymir.rope %x, %positions
      {rotary_dim = 64 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x?x4x?xf32>, tensor<?x5xi32>) -> tensor<2x5x4x?xf32>
  return
}

// -----

// x must have at least one dim.
func.func @rms_norm_x_rank(%x: tensor<f32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects x to have rank >= 1 ([..., N]), got 'tensor<f32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<f32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @rms_norm_x_element(%x: tensor<2x3x8xf16>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf16>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight must be [N].
func.func @rms_norm_weight_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<1x8xf32>) {
  // expected-error @+1 {{expects weight to have rank 1 ([N]), got 'tensor<1x8xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<1x8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight is bf16 or f32.
func.func @rms_norm_weight_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf16>) {
  // expected-error @+1 {{expects weight to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf16>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight must match the last dim of x.
func.func @rms_norm_weight_N(%x: tensor<2x3x8xf32>, %weight: tensor<4xf32>) {
  // expected-error @+1 {{expects weight dim 0 (N) to equal x dim 2 (8), got 4}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be positive.
func.func @rms_norm_epsilon_zero(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got 0.000000e+00}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0.0 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be positive.
func.func @rms_norm_epsilon_negative(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got -1.000000e+00}}
  %y = hymir.rms_norm %x, %weight {epsilon = -1.0 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be finite.
func.func @rms_norm_epsilon_inf(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got INF}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0x7F800000 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must not be NaN.
func.func @rms_norm_epsilon_nan(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got nan}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0x7FC00000 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @rms_norm_result_rank(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result to have rank 3 ([..., N]), got 'tensor<6x8xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<6x8xf32>
  return
}

// -----

// The result has the element type of x, not of weight.
func.func @rms_norm_result_element(
    %x: tensor<2x3x8xbf16>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xbf16>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @rms_norm_result_dim0(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 0 (dim 0) to equal x dim 0 (2), got 1}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<1x3x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @rms_norm_result_dim1(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 1 (dim 1) to equal x dim 1 (3), got 4}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

// The result dim 2 must equal x dim 2.
func.func @rms_norm_result_dim2(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 2 (N) to equal x dim 2 (8), got 16}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// Dynamic dims are not compared: no error expected.
func.func @rms_norm_dynamic_ok(%x: tensor<2x?x?xf32>, %weight: tensor<8xf32>) {
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x?x?xf32>, tensor<8xf32>) -> tensor<2x5x?xf32>
  return
}

// -----

// x must have at least one dim.
func.func @linear_x_rank(%x: tensor<f32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects x to have rank >= 1 ([..., K]), got 'tensor<f32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<f32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @linear_x_element(%x: tensor<2x3x8xi8>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'i8'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xi8>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight must be [N, K].
func.func @linear_weight_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<2x16x8xf32>) {
  // expected-error @+1 {{expects weight to have rank 2 ([N, K]), got 'tensor<2x16x8xf32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<2x16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight is bf16 or f32.
func.func @linear_weight_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf8E4M3FN>) {
  // expected-error @+1 {{expects weight to have element type bf16 or f32, got 'f8E4M3FN'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf8E4M3FN>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight must match the last dim of x in K.
func.func @linear_weight_K(%x: tensor<2x3x8xf32>, %weight: tensor<16x4xf32>) {
  // expected-error @+1 {{expects weight dim 1 (K) to equal x dim 2 (8), got 4}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x4xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// precision is "bf16" or "f32".
func.func @linear_precision_unknown(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got "tf32"}}
  %y = hymir.linear %x, %weight {precision = "tf32"}
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// An empty precision string is rejected.
func.func @linear_precision_empty(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got ""}}
  %y = hymir.linear %x, %weight {precision = ""}
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// The result has the rank of x.
func.func @linear_result_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result to have rank 3 ([..., N]), got 'tensor<6x16xf32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<6x16xf32>
  return
}

// -----

// The result is bf16 or f32.
func.func @linear_result_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result to have element type bf16 or f32, got 'f16'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf16>
  return
}

// -----

// A bf16 projection may keep its f32 accumulator: no error expected.
func.func @linear_f32_result_ok(
    %x: tensor<2x3x8xbf16>, %weight: tensor<16x8xbf16>) {
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xbf16>, tensor<16x8xbf16>) -> tensor<2x3x16xf32>
  return
}

// -----

// The leading dims of the result are those of x.
func.func @linear_result_leading0(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 0 (leading dim 0) to equal x dim 0 (2), got 1}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<1x3x16xf32>
  return
}

// -----

// The leading dims of the result are those of x.
func.func @linear_result_leading1(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 1 (leading dim 1) to equal x dim 1 (3), got 4}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

// The last dim of the result is N, from weight.
func.func @linear_result_N(%x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 2 (N) to equal weight dim 0 (16), got 8}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// Dynamic dims are not compared: no error expected.
func.func @linear_dynamic_ok(%x: tensor<2x?x?xf32>, %weight: tensor<16x8xf32>) {
  %y = hymir.linear %x, %weight
      : (tensor<2x?x?xf32>, tensor<16x8xf32>) -> tensor<?x3x16xf32>
  return
}

// -----

// table must be [V, N].
func.func @embedding_table_rank(%table: tensor<80xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects table to have rank 2 ([V, N]), got 'tensor<80xf32>'}}
  %y = hymir.embedding %table, %ids
      : (tensor<80xf32>, tensor<2x3xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

// table is bf16 or f32.
func.func @embedding_table_element(
    %table: tensor<10x8xf16>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects table to have element type bf16 or f32, got 'f16'}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf16>, tensor<2x3xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

// ids are i32.
func.func @embedding_ids_element(
    %table: tensor<10x8xf32>, %ids: tensor<2x3xi64>) {
  // expected-error @+1 {{expects ids to have element type 'i32', got 'i64'}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  return
}

// -----

// ids of type index are rejected too.
func.func @embedding_ids_element_index(
    %table: tensor<10x8xf32>, %ids: tensor<2x3xindex>) {
  // expected-error @+1 {{expects ids to have element type 'i32', got 'index'}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xindex>) -> tensor<2x3x8xf32>
  return
}

// -----

// The result is ids.shape + [N].
func.func @embedding_result_rank(
    %table: tensor<10x8xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have rank 3 (ids shape + [N]), got 'tensor<6x8xf32>'}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xi32>) -> tensor<6x8xf32>
  return
}

// -----

// The result has the element type of table.
func.func @embedding_result_element(
    %table: tensor<10x8xbf16>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have the element type of table ('bf16'), got 'f32'}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xbf16>, tensor<2x3xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

// The leading dims of the result are those of ids.
func.func @embedding_result_ids_dim0(
    %table: tensor<10x8xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 0 (ids dim 0) to equal ids dim 0 (2), got 3}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xi32>) -> tensor<3x3x8xf32>
  return
}

// -----

// The leading dims of the result are those of ids.
func.func @embedding_result_ids_dim1(
    %table: tensor<10x8xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 1 (ids dim 1) to equal ids dim 1 (3), got 2}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xi32>) -> tensor<2x2x8xf32>
  return
}

// -----

// The last dim of the result is N, from table.
func.func @embedding_result_N(%table: tensor<10x8xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 2 (N) to equal table dim 1 (8), got 4}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
  return
}

// -----

// Dynamic dims are not compared: no error expected.
func.func @embedding_dynamic_ok(
    %table: tensor<?x?xf32>, %ids: tensor<2x?xi32>) {
  %y = hymir.embedding %table, %ids
      : (tensor<?x?xf32>, tensor<2x?xi32>) -> tensor<?x3x8xf32>
  return
}

// -----

// x must be [T, N].
func.func @moe_x_rank(
    %x: tensor<1x3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects x to have rank 2 ([T, N]), got 'tensor<1x3x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<1x3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @moe_x_element(
    %x: tensor<3x8xf16>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf16>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router must be [E, N].
func.func @moe_router_rank(
    %x: tensor<3x8xf32>, %router: tensor<32xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router to have rank 2 ([E, N]), got 'tensor<32xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<32xf32>, tensor<4x6x8xf32>, tensor<4x6x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router is bf16 or f32.
func.func @moe_router_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf64>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router to have element type bf16 or f32, got 'f64'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf64>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router must match x in N.
func.func @moe_router_N(
    %x: tensor<3x8xf32>, %router: tensor<4x16xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router dim 1 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x16xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must be [E, I, N].
func.func @moe_w1_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<24x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 to have rank 3 ([E, I, N]), got 'tensor<24x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<24x8xf32>, tensor<4x6x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// Expert weights are bf16 or f32.
func.func @moe_w1_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf16>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 to have element type bf16 or f32, got 'f16'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf16>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must match router in E.
func.func @moe_w1_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<2x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<2x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must match x in N.
func.func @moe_w1_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x16xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 dim 2 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x16xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must be [E, I, N].
func.func @moe_w3_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<24x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 to have rank 3 ([E, I, N]), got 'tensor<24x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<24x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must have the element type of w1.
func.func @moe_w3_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xbf16>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xbf16>) {
  // expected-error @+1 {{expects w3 to have the element type of w1 ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xbf16>,
         tensor<4x6x8xf32>, tensor<4x8x6xbf16>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in E.
func.func @moe_w3_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<2x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<2x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in I.
func.func @moe_w3_I(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x5x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 1 (I) to equal w1 dim 1 (6), got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x5x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in N.
func.func @moe_w3_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x16xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 2 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x16xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must be [E, N, I].
func.func @moe_w2_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x48xf32>) {
  // expected-error @+1 {{expects w2 to have rank 3 ([E, N, I]), got 'tensor<4x48xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x48xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must have the element type of w1.
func.func @moe_w2_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xbf16>,
    %w3: tensor<4x6x8xbf16>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w2 to have the element type of w1 ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xbf16>,
         tensor<4x6x8xbf16>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match router in E.
func.func @moe_w2_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<2x8x6xf32>) {
  // expected-error @+1 {{expects w2 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<2x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match x in N.
func.func @moe_w2_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x6x6xf32>) {
  // expected-error @+1 {{expects w2 dim 1 (N) to equal x dim 1 (8), got 6}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x6x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match w1 in I.
func.func @moe_w2_I(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x8xf32>) {
  // expected-error @+1 {{expects w2 dim 2 (I) to equal w1 dim 1 (6), got 8}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x8xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at least 1.
func.func @moe_top_k_zero(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 0}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 0 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at least 1.
func.func @moe_top_k_negative(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got -1}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = -1 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at most E.
func.func @moe_top_k_too_large(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 5 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k = 0 is rejected even when E is dynamic.
func.func @moe_top_k_zero_dynamic_e(
    %x: tensor<3x8xf32>, %router: tensor<?x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 0}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 0 : i64}
      : (tensor<3x8xf32>, tensor<?x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @moe_result_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result to have rank 2 ([T, N]), got 'tensor<24xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<24xf32>
  return
}

// -----

// The result has the element type of x.
func.func @moe_result_element(
    %x: tensor<3x8xbf16>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xbf16>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @moe_result_T(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result dim 0 (T) to equal x dim 0 (3), got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<5x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @moe_result_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result dim 1 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x16xf32>
  return
}

// -----

// With a dynamic E, top_k is checked at run time: no error expected.
func.func @moe_dynamic_ok(
    %x: tensor<?x8xf32>, %router: tensor<?x8xf32>, %w1: tensor<?x6x8xf32>,
    %w3: tensor<?x6x8xf32>, %w2: tensor<?x8x6xf32>) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 8 : i64}
      : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x6x8xf32>,
         tensor<?x6x8xf32>, tensor<?x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// hidden must be [T, N].
func.func @cispo_loss_hidden_rank(
    %hidden: tensor<1x3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects hidden to have rank 2 ([T, N]), got 'tensor<1x3x8xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<1x3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// Activations are bf16 or f32.
func.func @cispo_loss_hidden_element(
    %hidden: tensor<3x8xf16>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects hidden to have element type bf16 or f32, got 'f16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf16>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// lm_head must be [V, N].
func.func @cispo_loss_lm_head_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<80xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects lm_head to have rank 2 ([V, N]), got 'tensor<80xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<80xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// lm_head is bf16 or f32.
func.func @cispo_loss_lm_head_element(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf16>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects lm_head to have element type bf16 or f32, got 'f16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf16>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// lm_head must match hidden in N.
func.func @cispo_loss_lm_head_N(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x4xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects lm_head dim 1 (N) to equal hidden dim 1 (8), got 4}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x4xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// targets must be [T].
func.func @cispo_loss_targets_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<1x3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects targets to have rank 1 ([T]), got 'tensor<1x3xi32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<1x3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// targets are i32.
func.func @cispo_loss_targets_element(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi64>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects targets to have element type 'i32', got 'i64'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi64>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// targets must match hidden in T.
func.func @cispo_loss_targets_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<4xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects targets dim 0 (T) to equal hidden dim 0 (3), got 4}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<4xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// logp_old must be [T].
func.func @cispo_loss_logp_old_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<1x3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects logp_old to have rank 1 ([T]), got 'tensor<1x3xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<1x3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// logp_old is f32 even with bf16 activations.
func.func @cispo_loss_logp_old_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xbf16>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xbf16>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects logp_old to have element type 'f32', got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xbf16>, tensor<3xi32>, tensor<3xbf16>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xbf16>, tensor<10x8xbf16>)
  return
}

// -----

// logp_old must match hidden in T.
func.func @cispo_loss_logp_old_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<5xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects logp_old dim 0 (T) to equal hidden dim 0 (3), got 5}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<5xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// advantages must be [T].
func.func @cispo_loss_advantages_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<1x3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects advantages to have rank 1 ([T]), got 'tensor<1x3xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<1x3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// advantages is f32 even with bf16 activations.
func.func @cispo_loss_advantages_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xbf16>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xbf16>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects advantages to have element type 'f32', got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xbf16>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xbf16>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xbf16>, tensor<10x8xbf16>)
  return
}

// -----

// advantages must match hidden in T.
func.func @cispo_loss_advantages_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<5xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects advantages dim 0 (T) to equal hidden dim 0 (3), got 5}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<5xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// mask must be [T].
func.func @cispo_loss_mask_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<1x3xf32>) {
  // expected-error @+1 {{expects mask to have rank 1 ([T]), got 'tensor<1x3xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<1x3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// mask is f32 even with bf16 activations.
func.func @cispo_loss_mask_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xbf16>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xbf16>) {
  // expected-error @+1 {{expects mask to have element type 'f32', got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xbf16>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xbf16>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xbf16>, tensor<10x8xbf16>)
  return
}

// -----

// mask must match hidden in T.
func.func @cispo_loss_mask_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<5xf32>) {
  // expected-error @+1 {{expects mask dim 0 (T) to equal hidden dim 0 (3), got 5}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<5xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// The result logp_new is [T].
func.func @cispo_loss_logp_new_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result logp_new to have rank 1 ([T]), got 'tensor<3x1xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3x1xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// The result logp_new is f32.
func.func @cispo_loss_logp_new_element(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result logp_new to have element type 'f32', got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xbf16>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// The result logp_new must match hidden in T.
func.func @cispo_loss_logp_new_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result logp_new dim 0 (T) to equal hidden dim 0 (3), got 2}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<2xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_low must be positive.
func.func @cispo_loss_eps_low_zero(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_low to be positive and finite, got 0.000000e+00}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 0.0 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_low must be positive.
func.func @cispo_loss_eps_low_negative(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_low to be positive and finite, got -2.000000e-01}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = -2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_low must be finite.
func.func @cispo_loss_eps_low_inf(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_low to be positive and finite, got INF}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 0x7F800000 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_low must not be NaN.
func.func @cispo_loss_eps_low_nan(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_low to be positive and finite, got nan}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 0x7FC00000 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_high must be positive.
func.func @cispo_loss_eps_high_zero(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_high to be positive and finite, got 0.000000e+00}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 0.0 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_high must be positive.
func.func @cispo_loss_eps_high_negative(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_high to be positive and finite, got -2.000000e-01}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = -2.000000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_high must be finite.
func.func @cispo_loss_eps_high_inf(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_high to be positive and finite, got INF}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 0x7F800000 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// eps_high must not be NaN.
func.func @cispo_loss_eps_high_nan(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects eps_high to be positive and finite, got nan}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 0x7FC00000 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// The loss is a scalar.
func.func @cispo_loss_loss_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result loss to have rank 0 (a scalar), got 'tensor<1xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<1xf32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// The loss is f32 even with bf16 activations.
func.func @cispo_loss_loss_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xbf16>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result loss to have element type 'f32', got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xbf16>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<bf16>, tensor<3xf32>, tensor<3x8xbf16>, tensor<10x8xbf16>)
  return
}

// -----

// d_hidden has the shape of hidden.
func.func @cispo_loss_d_hidden_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_hidden to have rank 2 ([T, N]), got 'tensor<24xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<24xf32>, tensor<10x8xf32>)
  return
}

// -----

// d_hidden has the element type of hidden.
func.func @cispo_loss_d_hidden_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_hidden to have the element type of hidden ('bf16'), got 'f32'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// d_hidden dim 0 must equal hidden dim 0.
func.func @cispo_loss_d_hidden_T(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_hidden dim 0 (T) to equal hidden dim 0 (3), got 4}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<4x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// d_hidden dim 1 must equal hidden dim 1.
func.func @cispo_loss_d_hidden_N(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_hidden dim 1 (N) to equal hidden dim 1 (8), got 16}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x16xf32>, tensor<10x8xf32>)
  return
}

// -----

// d_lm_head has the shape of lm_head.
func.func @cispo_loss_d_lm_head_rank(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_lm_head to have rank 2 ([V, N]), got 'tensor<80xf32>'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<80xf32>)
  return
}

// -----

// d_lm_head has the element type of lm_head.
func.func @cispo_loss_d_lm_head_element(
    %hidden: tensor<3x8xbf16>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_lm_head to have the element type of lm_head ('f32'), got 'bf16'}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xbf16>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xbf16>, tensor<10x8xbf16>)
  return
}

// -----

// d_lm_head dim 0 must equal lm_head dim 0.
func.func @cispo_loss_d_lm_head_V(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_lm_head dim 0 (V) to equal lm_head dim 0 (10), got 12}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<12x8xf32>)
  return
}

// -----

// d_lm_head dim 1 must equal lm_head dim 1.
func.func @cispo_loss_d_lm_head_N(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects result d_lm_head dim 1 (N) to equal hidden dim 1 (8), got 4}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x4xf32>)
  return
}

// -----

// Dynamic token counts are not compared: no error expected.
func.func @cispo_loss_dynamic_ok(
    %hidden: tensor<?x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<?xf32>, %adv: tensor<3xf32>,
    %mask: tensor<?xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<?x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<?xf32>,
         tensor<3xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<?x8xf32>, tensor<?x8xf32>)
  return
}

// -----

func.func @all_reduce_int(%x: tensor<4xi32>) {
  // expected-error @+1 {{'hymir.all_reduce' op expects x to have element type bf16 or f32, got 'i32'}}
  %y = hymir.all_reduce %x : (tensor<4xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @all_reduce_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_reduce' op expects the result to have the type of x ('tensor<4x8xf32>'), got 'tensor<4x8xbf16>'}}
  %y = hymir.all_reduce %x : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  return
}

// -----

func.func @all_gather_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects dim to be in [0, 2), got 2}}
  %y = hymir.all_gather %x {dim = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @all_gather_multiple(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result dim 1 to be a positive multiple (the device count) of x dim 1 (8), got 12}}
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x12xf32>
  return
}

// -----

func.func @all_gather_dynamic(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects x and the result to have static sizes along the gathered dim 0}}
  %y = hymir.all_gather %x {dim = 0 : i64} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @all_gather_other_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result dim 0 (dim 0) to equal x dim 0 (4), got 5}}
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<5x16xf32>
  return
}

// -----

func.func @all_gather_rank(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result to have rank 2 (the rank of x), got 'tensor<64xf32>'}}
  %y = hymir.all_gather %x {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @moe_route_rows(%x: tensor<3x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects sorted_tokens to have T * top_k + E * (tile - 1) = 18 rows, got 6}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<3x4xf32>) -> (tensor<6xi32>, tensor<5xi32>, tensor<3x2xi32>, tensor<3x2xf32>)
  return
}

// -----

func.func @moe_route_offsets(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects offsets to have E + 1 = 5 entries, got 4}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<4xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @moe_route_slots(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects slots dim 1 to be top_k (2), got 3}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x3xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @moe_route_tile(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects tile to be at least 1, got 0}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 0 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @moe_route_top_k(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects top_k in [1, E] with E = 4 experts, got 5}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 5 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x5xi32>, tensor<?x5xf32>)
  return
}

// -----

func.func @moe_route_weights(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects weights to have element type 'f32', got 'bf16'}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xbf16>)
  return
}

// -----

func.func @moe_experts_offsets(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<4xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects offsets to have E + 1 = 5 entries, got 4}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<4xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_experts_weights_shape(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<5xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x1xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects weights dim 1 (K) to equal slots dim 1 (2), got 1}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x1xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_experts_w2(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<5xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x8xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects w2 dim 2 (I) to equal w1 dim 1 (16), got 8}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x8xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_route_bf16_logits(%x: tensor<?x4xbf16>) {
  // expected-error @+1 {{'hymir.moe_route' op expects logits to have element type 'f32', got 'bf16'}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64}
      : (tensor<?x4xbf16>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @top_k_k(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects k in [1, E] with E = 4, got 5}}
  %v, %i = hymir.top_k %x {k = 5 : i64} : (tensor<?x4xf32>) -> (tensor<?x5xf32>, tensor<?x5xi32>)
  return
}

// -----

func.func @top_k_rank(%x: tensor<4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects input to have rank 2 ([T, E]), got 'tensor<4xf32>'}}
  %v, %i = hymir.top_k %x {k = 1 : i64} : (tensor<4xf32>) -> (tensor<1xf32>, tensor<1xi32>)
  return
}

// -----

func.func @top_k_values_element(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects values to have the element type of input ('f32'), got 'bf16'}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_indices_element(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects indices to have element type 'i32', got 'i64'}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
  return
}

// -----

func.func @top_k_width(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects indices dim 1 to be k (2), got 3}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x3xi32>)
  return
}

// -----

func.func @top_k_tokens(%x: tensor<6x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects values dim 0 (T) to equal input dim 0 (6), got 5}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<5x2xf32>, tensor<6x2xi32>)
  return
}

// -----

func.func @routed_experts_indices(%x: tensor<?x32xf32>, %i: tensor<?x2xf32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices to have element type 'i32', got 'f32'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_weights(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x3xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects weights dim 1 (K) to equal indices dim 1 (2), got 3}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x3xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_tokens(%x: tensor<5x32xf32>, %i: tensor<6x2xi32>, %w: tensor<6x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices dim 0 (T) to equal x dim 0 (5), got 6}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<6x2xi32>, tensor<6x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return
}

// -----

func.func @routed_experts_w2(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x8xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects w2 dim 2 (I) to equal w1 dim 1 (16), got 8}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x8xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_result(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects result to have the element type of x ('f32'), got 'bf16'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xbf16>
  return
}

// -----

func.func @moe_layout_experts(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects num_experts to be at least 1, got 0}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 0 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<1xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @moe_layout_tile(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects tile to be at least 1, got 0}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 0 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @moe_layout_offsets(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects offsets to have E + 1 = 5 entries, got 4}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<4xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @moe_layout_rows(%i: tensor<3x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects sorted_tokens to have T * K + E * (tile - 1) = 18 rows, got 6}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 4 : i64}
      : (tensor<3x2xi32>) -> (tensor<6xi32>, tensor<5xi32>, tensor<3x2xi32>)
  return
}

// -----

func.func @moe_layout_slots(%i: tensor<3x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects slots dim 1 (K) to equal indices dim 1 (2), got 1}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 1 : i64}
      : (tensor<3x2xi32>) -> (tensor<6xi32>, tensor<5xi32>, tensor<3x1xi32>)
  return
}

// -----

func.func @routed_experts_dynamic_k(%x: tensor<?x32xf32>, %i: tensor<?x?xi32>, %w: tensor<?x?xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices dim 1 (K, the picks per token) to be static, got 'tensor<?x?xi32>'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_layout_dynamic_k(%i: tensor<?x?xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects indices dim 1 (K, the picks per token) to be static, got 'tensor<?x?xi32>'}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x?xi32>)
  return
}

// -----

func.func @moe_experts_dynamic_offsets(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<?xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects offsets to have a static size (E + 1), got 'tensor<?xi32>'}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}
