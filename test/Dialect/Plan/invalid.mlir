// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'hymir_plan.target' must be "cpu" or "cuda", got "tpu"}}
module attributes {hymir_plan.target = "tpu"} {}

// -----

// expected-error @+1 {{'hymir_plan.devices' must be an integer in [1, 64], got 0 : i64}}
module attributes {hymir_plan.devices = 0 : i64} {}

// -----

// expected-error @+1 {{parameter 'w' must have a static shape}}
module attributes {hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = f32, shape = affine_map<()[s0] -> (s0)>>]} {}

// -----

// expected-error @+1 {{shard dim 2 of 'w' is not a dim of its 1-d shape}}
module attributes {hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = f32, shape = affine_map<() -> (4)>, shardDim = 2>]} {}

// -----

// expected-error @+1 {{symbol 'tokens' reads input 1, but the entry has 1}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 1, dim = 0, max = 8>] {
  hymir_plan.return
}

// -----

// expected-error @+1 {{shape of 'x' uses 1 symbols, but the entry has 0}}
hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0)>>]
    outputs [] symbols [] {
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 64
  // expected-error @+1 {{sizes must have 2 results, got 1}}
  %v = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (4)> strides affine_map<() -> (4, 1)> : !hymir_plan.view<f32, 2>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] {
  // expected-error @+1 {{value result affine_map<()[s0] -> (s0 mod 4)> is not a linear size (optionally divided by a constant)}}
  %n = hymir_plan.size affine_map<()[s0] -> (s0 mod 4)>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  // expected-error @+1 {{a block holds at most 1024 threads, got 2048}}
  hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [1024, 2, 1] ()
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  // expected-error @+1 {{token range [65, 64] is empty or negative}}
  hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [32, 1, 1] () {tokens_at_least = 65 : i64, tokens_at_most = 64 : i64}
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  // expected-error @+1 {{kernel must be @gpu_module::@kernel, got @k}}
  hymir_plan.launch @k grid affine_map<() -> (1, 1, 1)> block [32, 1, 1] ()
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 64
  %x = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (2, 2)> strides affine_map<() -> (2, 1)> : !hymir_plan.view<bf16, 2>
  %w = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (2, 2)> strides affine_map<() -> (2, 1)> : !hymir_plan.view<f32, 2>
  // expected-error @+1 {{x and w must have one element type, got 'bf16' and 'f32'}}
  hymir_plan.gemm %x, %w -> %w m affine_map<() -> (2)> n 2 k 2 : !hymir_plan.view<bf16, 2>, !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
  hymir_plan.return
}

// -----

// expected-error @+1 {{format must be host_shared_object, ptx or cubin, got 'elf'}}
hymir_plan.code @c "elf" kernels [] data ""

// -----

// Checks are numbered in order: the runtime's check words are an array.
hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %a = hymir_plan.check 0 "hymir.embedding" tensor "ids" value "id" at ""
  // expected-error @+1 {{'hymir_plan.check' op is check 2 of its entry, but checks are numbered 0, 1, ... in order (expected 1)}}
  %b = hymir_plan.check 2 "hymir.embedding" tensor "ids" value "id" at ""
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects one box extent per source dim (2), got 1}}
  hymir_plan.tensor_map %s into %m box [64] swizzle 0 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects the innermost box extent to span at most the swizzle span (32 bytes), got 64 x 2 = 128 bytes}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 32 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects swizzle 0, 32, 64 or 128 (bytes), got 256}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 256 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<i1, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects a source of bf16, f16, f32, f64, i8, i32 or i64 elements, got 'i1'}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 0 : !hymir_plan.view<i1, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects a target of 16 i64 words, got sizes affine_map<() -> (8)> and strides affine_map<() -> (1)>}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 0 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (32)> strides affine_map<() -> (1)> : !hymir_plan.view<i32, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op expects a target of 16 i64 words, got '!hymir_plan.view<i32, 1>'}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 0 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i32, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @e inputs [] outputs [] symbols [] {
  %b = hymir_plan.buffer 4096
  %s = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (8, 64)> strides affine_map<() -> (64, 1)> : !hymir_plan.view<bf16, 2>
  %m = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<i64, 1>
  // expected-error @+1 {{'hymir_plan.tensor_map' op token range [5, 4] is empty or negative}}
  hymir_plan.tensor_map %s into %m box [8, 64] swizzle 0 {tokens_at_least = 5 : i64, tokens_at_most = 4 : i64} : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
  hymir_plan.return
}
