// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// Tied outputs (tiedTo): each branch of the entry's and the spec's checks.

// expected-error @+1 {{'hymir_plan.entry' op output 0 ('s_out') is tied to input 1, but the entry has 1}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>>]
    outputs [#hymir_plan.tensor<name = "s_out", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 1>] symbols [] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{'hymir_plan.entry' op output 0 ('s_out') is tied to input 0 ('s') of another element type or shape}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>>]
    outputs [#hymir_plan.tensor<name = "s_out", elementType = bf16, shape = affine_map<() -> (4)>, tiedTo = 0>] symbols [] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{'hymir_plan.entry' op output 0 ('s_out') is tied to input 0 ('s') of another element type or shape}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>>]
    outputs [#hymir_plan.tensor<name = "s_out", elementType = f32, shape = affine_map<() -> (8)>, tiedTo = 0>] symbols [] {
  hymir_plan.return
}

// -----

// A split input's tied output is split along the same dim.
// expected-error @+1 {{'hymir_plan.entry' op output 0 ('s_out') is tied to input 0 ('s') split along dim 0, but has shard_dim -1}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>, shardDim = 0>]
    outputs [#hymir_plan.tensor<name = "s_out", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>] symbols [] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{'hymir_plan.entry' op outputs 0 and 1 are tied to input 0 ('s')}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>>]
    outputs [#hymir_plan.tensor<name = "a", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>,
             #hymir_plan.tensor<name = "b", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>] symbols [] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{'hymir_plan.entry' op input 0 ('s') is tied; only outputs are tied to inputs}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>]
    outputs [] symbols [] {
  hymir_plan.return
}

// -----

// A tied output has no storage of its own: steps write the input's.
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "s", elementType = f32, shape = affine_map<() -> (4)>>]
    outputs [#hymir_plan.tensor<name = "s_out", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>] symbols [] {
  // expected-error @+1 {{'hymir_plan.output' op refers to output 0, which is tied to input 0: its storage is the input's}}
  %o = hymir_plan.output 0
  hymir_plan.return
}

// -----

// expected-error @+1 {{'s_out' is tied to input -2; an input index or -1 (not tied)}}
hymir_plan.entry @e inputs [] outputs [#hymir_plan.tensor<name = "s_out", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = -2>] symbols [] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{parameter 'w' is tied to an input; only entry outputs are tied}}
module attributes {hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = f32, shape = affine_map<() -> (4)>, tiedTo = 0>]} {
}
