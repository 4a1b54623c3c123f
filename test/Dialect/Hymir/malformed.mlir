// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// Malformed hymir ops: each must give one diagnostic at the op, and no crash.
// Every split is parsed on its own, so parse errors live here too; input that
// is not MLIR at all is in malformed-syntax.mlir.

//===----------------------------------------------------------------------===//
// Operand counts
//===----------------------------------------------------------------------===//

func.func @custom_missing_operand(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expected ','}}
  %y = hymir.rms_norm %x {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_missing_operand(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op expected 2 operands, but found 1}}
  %y = "hymir.rms_norm"(%x) {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// q, k, v and slopes are all required.
func.func @generic_lightning_missing_slopes(%q: tensor<1x2x2x8xf32>) {
  // expected-error @+1 {{'hymir.lightning_attention' op expected 4 or more operands, but found 3}}
  %o:2 = "hymir.lightning_attention"(%q, %q, %q)
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @custom_too_many_operands(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{expected ':'}}
  %y = hymir.rms_norm %x, %w, %w {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_too_many_operands(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op expected 2 operands, but found 3}}
  %y = "hymir.rms_norm"(%x, %w, %w) {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// At most one initial state.
func.func @generic_lightning_two_states(%q: tensor<1x2x2x8xf32>,
                                        %s: tensor<2xf32>,
                                        %s0: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{'hymir.lightning_attention' op operand group starting at #4 requires 0 or 1 element, but found 2}}
  %o:2 = "hymir.lightning_attention"(%q, %q, %q, %s, %s0, %s0)
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>)
      -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

// The functional type lists fewer operand types than there are operands.
func.func @custom_operand_type_count(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{number of operands and types do not match: got 2 operands and 1 types}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Unknown ops and keywords
//===----------------------------------------------------------------------===//

func.func @custom_unknown_op(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{custom op 'hymir.nope' is unknown}}
  %y = hymir.nope %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_unknown_op(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{unregistered operation 'hymir.nope' found in dialect ('hymir') that does not allow unknown operations}}
  %y = "hymir.nope"(%x) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// The keyword is `initial_state`.
func.func @custom_unknown_keyword(%q: tensor<1x2x2x8xf32>, %s: tensor<2xf32>,
                                  %s0: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{expected ':'}}
  %o, %st = hymir.lightning_attention %q, %q, %q, %s init_state(%s0)
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>, tensor<1x2x8x8xf32>)
      -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

// Only lightning_attention takes an initial state.
func.func @custom_keyword_on_wrong_op(%q: tensor<1x2x2x8xf32>,
                                      %s0: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{expected ':'}}
  %o = hymir.softmax_attention %q, %q, %q initial_state(%s0)
      {causal = true, scale = 1.0 : f32}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<1x2x8x8xf32>) -> tensor<1x2x2x8xf32>
  return
}

// -----

// initial_state takes one operand.
func.func @custom_two_initial_states(%q: tensor<1x2x2x8xf32>,
                                     %s: tensor<2xf32>,
                                     %s0: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{expected ')'}}
  %o, %st = hymir.lightning_attention %q, %q, %q, %s initial_state(%s0, %s0)
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>)
      -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Missing required attributes
//===----------------------------------------------------------------------===//

func.func @rms_norm_without_epsilon(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op requires attribute 'epsilon'}}
  %y = hymir.rms_norm %x, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_rms_norm_without_epsilon(%x: tensor<2x8xf32>,
                                            %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op requires attribute 'epsilon'}}
  %y = "hymir.rms_norm"(%x, %w)
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_moe_without_top_k(%x: tensor<3x8xf32>,
                                     %r: tensor<4x8xf32>,
                                     %w1: tensor<4x6x8xf32>,
                                     %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'hymir.moe' op requires attribute 'top_k'}}
  %y = "hymir.moe"(%x, %r, %w1, %w1, %w2) {renormalize = true}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @softmax_attention_without_scale(%q: tensor<1x2x2x8xf32>) {
  // expected-error @+1 {{'hymir.softmax_attention' op requires attribute 'scale'}}
  %o = hymir.softmax_attention %q, %q, %q {causal = true}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @softmax_attention_without_causal(%q: tensor<1x2x2x8xf32>) {
  // expected-error @+1 {{'hymir.softmax_attention' op requires attribute 'causal'}}
  %o = hymir.softmax_attention %q, %q, %q {scale = 1.0 : f32}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @rope_without_theta(%x: tensor<1x2x2x8xf32>, %p: tensor<1x2xi32>) {
  // expected-error @+1 {{'hymir.rope' op requires attribute 'theta'}}
  %y = hymir.rope %x, %p {rotary_dim = 8 : i64}
      : (tensor<1x2x2x8xf32>, tensor<1x2xi32>) -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @generic_cispo_loss_without_eps_high(
    %h: tensor<3x8xf32>, %lm: tensor<10x8xf32>, %t: tensor<3xi32>,
    %m: tensor<3xf32>) {
  // expected-error @+1 {{'hymir.cispo_loss' op requires attribute 'eps_high'}}
  %r:4 = "hymir.cispo_loss"(%h, %lm, %t, %m, %m, %m) {eps_low = 0.2 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>, tensor<10x8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Attributes of the wrong type
//===----------------------------------------------------------------------===//

func.func @block_size_float(%q: tensor<1x2x2x8xf32>, %s: tensor<2xf32>) {
  // expected-error @+1 {{attribute 'block_size' failed to satisfy constraint: 64-bit signless integer attribute}}
  %o, %st = hymir.lightning_attention %q, %q, %q, %s {block_size = 1.5}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>) -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @generic_block_size_float(%q: tensor<1x2x2x8xf32>,
                                    %s: tensor<2xf32>) {
  // expected-error @+1 {{Invalid attribute `block_size` in property conversion: 1.500000e+00 : f32}}
  %o:2 = "hymir.lightning_attention"(%q, %q, %q, %s) <{block_size = 1.5 : f32}>
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>) -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @causal_i32(%q: tensor<1x2x2x8xf32>) {
  // expected-error @+1 {{attribute 'causal' failed to satisfy constraint: bool attribute}}
  %o = hymir.softmax_attention %q, %q, %q {causal = 1 : i32, scale = 1.0 : f32}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @scale_f64(%q: tensor<1x2x2x8xf32>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %o = hymir.softmax_attention %q, %q, %q {causal = true, scale = 1.0 : f64}
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @theta_f32(%x: tensor<1x2x2x8xf32>, %p: tensor<1x2xi32>) {
  // expected-error @+1 {{attribute 'theta' failed to satisfy constraint: 64-bit float attribute}}
  %y = hymir.rope %x, %p {rotary_dim = 8 : i64, theta = 1.0e+04 : f32}
      : (tensor<1x2x2x8xf32>, tensor<1x2xi32>) -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @top_k_i32(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>,
                     %w1: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute}}
  %y = hymir.moe %x, %r, %w1, %w1, %w2 {top_k = 2 : i32}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @renormalize_string(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>,
                              %w1: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{attribute 'renormalize' failed to satisfy constraint: bool attribute}}
  %y = hymir.moe %x, %r, %w1, %w1, %w2 {top_k = 2 : i64, renormalize = "yes"}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @precision_integer(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'precision' failed to satisfy constraint: string attribute}}
  %y = hymir.linear %x, %w {precision = 3 : i64}
      : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @epsilon_f64(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{attribute 'epsilon' failed to satisfy constraint: 32-bit float attribute}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f64}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Operands and results that are not ranked tensors
//===----------------------------------------------------------------------===//

func.func @unranked_operand(%x: tensor<*xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op operand #0 must be ranked tensor of any type values, but got 'tensor<*xf32>'}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (tensor<*xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @unranked_result(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op result #0 must be ranked tensor of any type values, but got 'tensor<*xf32>'}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @memref_operand(%x: memref<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op operand #0 must be ranked tensor of any type values, but got 'memref<2x8xf32>'}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (memref<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Garbage in the op
//===----------------------------------------------------------------------===//

func.func @garbage_type(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{expected non-function type}}
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : garbage
  return
}

// -----

func.func @garbage_operand(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{expected SSA operand}}
  %y = hymir.rms_norm %x, 42 {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Wrong number of results
//===----------------------------------------------------------------------===//

func.func @custom_lightning_one_result(%q: tensor<1x2x2x8xf32>,
                                       %s: tensor<2xf32>) {
  // expected-error @+1 {{'hymir.lightning_attention' op expected 2 results}}
  %o = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>) -> tensor<1x2x2x8xf32>
  return
}

// -----

func.func @custom_bind_two_results(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{operation defines 1 results but was provided 2 to bind}}
  %y, %z = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @generic_two_results(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op requires one result}}
  %y:2 = "hymir.rms_norm"(%x, %w) {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>)
  return
}

// -----

func.func @generic_no_result(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'hymir.rms_norm' op requires one result}}
  "hymir.rms_norm"(%x, %w) {epsilon = 1.0e-05 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> ()
  return
}

// -----

func.func @generic_cispo_loss_three_results(
    %h: tensor<3x8xf32>, %lm: tensor<10x8xf32>, %t: tensor<3xi32>,
    %m: tensor<3xf32>) {
  // expected-error @+1 {{'hymir.cispo_loss' op expected 4 results}}
  %r:3 = "hymir.cispo_loss"(%h, %lm, %t, %m, %m, %m)
      {eps_low = 0.2 : f32, eps_high = 0.2 : f32}
      : (tensor<3x8xf32>, tensor<10x8xf32>, tensor<3xi32>, tensor<3xf32>,
         tensor<3xf32>, tensor<3xf32>)
      -> (tensor<f32>, tensor<3xf32>, tensor<3x8xf32>)
  return
}
