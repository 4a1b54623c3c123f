// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.token_logprobs (HymirOps.cpp): a valid
// op with one operand type, result type or attribute broken.

// hidden has rank 2.
func.func @token_logprobs_hidden_rank(%hidden: tensor<1x3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects hidden to have rank 2 ([T, N]), got 'tensor<1x3x8xf32>'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<1x3x8xf32>, tensor<10x8xf32>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// hidden is bf16 or f32.
func.func @token_logprobs_hidden_element(%hidden: tensor<3x8xf16>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects hidden to have element type bf16 or f32, got 'f16'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf16>, tensor<10x8xf32>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// lm_head has rank 2.
func.func @token_logprobs_lm_head_rank(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<80xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects lm_head to have rank 2 ([V, N]), got 'tensor<80xf32>'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<80xf32>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// lm_head is bf16 or f32.
func.func @token_logprobs_lm_head_element(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf16>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects lm_head to have element type bf16 or f32, got 'f16'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf16>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// lm_head matches hidden in N.
func.func @token_logprobs_lm_head_N(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x4xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects lm_head dim 1 (N) to equal hidden dim 1 (8), got 4}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x4xf32>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// tokens has rank 1.
func.func @token_logprobs_tokens_rank(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<1x3xi32>) {
  // expected-error @+1 {{expects tokens to have rank 1 ([T]), got 'tensor<1x3xi32>'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<1x3xi32>) -> tensor<3xf32>
  return
}

// -----

// tokens are i32.
func.func @token_logprobs_tokens_element(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi64>) {
  // expected-error @+1 {{expects tokens to have element type 'i32', got 'i64'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

// tokens match hidden in T.
func.func @token_logprobs_tokens_T(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<4xi32>) {
  // expected-error @+1 {{expects tokens dim 0 (T) to equal hidden dim 0 (3), got 4}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<4xi32>) -> tensor<3xf32>
  return
}

// -----

// The result has rank 1.
func.func @token_logprobs_result_rank(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects result to have rank 1 ([T]), got 'tensor<3x1xf32>'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>) -> tensor<3x1xf32>
  return
}

// -----

// The result is f32 even with bf16 operands.
func.func @token_logprobs_result_element(%hidden: tensor<3x8xbf16>,
    %lm_head: tensor<10x8xbf16>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects result to have element type 'f32', got 'bf16'}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xbf16>, tensor<10x8xbf16>, tensor<3xi32>) -> tensor<3xbf16>
  return
}

// -----

// The result matches hidden in T.
func.func @token_logprobs_result_T(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects result dim 0 (T) to equal hidden dim 0 (3), got 2}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>) -> tensor<2xf32>
  return
}

// -----

// precision is "bf16" or "f32".
func.func @token_logprobs_precision(%hidden: tensor<3x8xf32>,
    %lm_head: tensor<10x8xf32>, %tokens: tensor<3xi32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got "tf32"}}
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens {precision = "tf32"}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>) -> tensor<3xf32>
  return
}

// -----

// Dynamic token counts are not compared: no error expected.
func.func @token_logprobs_dynamic_ok(%hidden: tensor<?x8xf32>,
    %lm_head: tensor<10x8xbf16>, %tokens: tensor<3xi32>) {
  %lp = hymir.token_logprobs %hidden, %lm_head, %tokens {precision = "bf16"}
      : (tensor<?x8xf32>, tensor<10x8xbf16>, tensor<3xi32>) -> tensor<?xf32>
  return
}
