// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.cispo_loss (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

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

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @cispo_loss_static_result_dynamic_tokens(
    %hidden: tensor<?x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<?xi32>, %logp_old: tensor<?xf32>, %adv: tensor<?xf32>,
    %mask: tensor<?xf32>) {
  // expected-error @+1 {{expects result logp_new dim 0 (T) to be dynamic, as hidden dim 0 is (a size known only at run time), got 3}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32}
      : (tensor<?x8xf32>, tensor<10x8xf32>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<?x8xf32>, tensor<10x8xf32>)
  return
}

// -----

func.func @cispo_loss_precision(
    %hidden: tensor<3x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<3xi32>, %logp_old: tensor<3xf32>, %adv: tensor<3xf32>,
    %mask: tensor<3xf32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got "tf32"}}
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 2.000000e-01 : f32, eps_high = 2.800000e-01 : f32,
       precision = "tf32"}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}
