// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.moe_route (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

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
  // expected-error @+1 {{'hymir.moe_route' op expects tile in [1, 1024], got 0}}
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

func.func @moe_route_bf16_logits(%x: tensor<?x4xbf16>) {
  // expected-error @+1 {{'hymir.moe_route' op expects logits to have element type 'f32', got 'bf16'}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64}
      : (tensor<?x4xbf16>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

// The tile is bounded (a tile of 2^40 made the warp-row builder run forever).
func.func @moe_route_tile_large(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects tile in [1, 1024], got 1099511627776}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 1099511627776 : i64}
        : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

// T * top_k + E * (tile - 1) is computed with overflow checks: 2^60
// experts padded to 1024 rows each overflow int64.
func.func @moe_route_rows_overflow(%x: tensor<1x1152921504606846976xf32>) {
  // expected-error @+1 {{'hymir.moe_route' op expects T * top_k + E * (tile - 1) to fit in 64 bits, got T = 1, top_k = 1, E = 1152921504606846976, tile = 1024}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 1 : i64, tile = 1024 : i64}
        : (tensor<1x1152921504606846976xf32>) -> (tensor<8xi32>, tensor<?xi32>, tensor<1x1xi32>, tensor<1x1xf32>)
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @moe_route_static_slots_dynamic_tokens(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{expects slots dim 0 (T) to be dynamic, as logits dim 0 is (a size known only at run time), got 3}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 1 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<3x2xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @moe_route_static_rows_dynamic_tokens(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{expects sorted_tokens dim 0 (T * top_k + E * (tile - 1)) to be dynamic, as logits dim 0 (T) is (a size known only at run time), got 6}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 1 : i64}
      : (tensor<?x4xf32>) -> (tensor<6xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return
}

// -----

func.func @moe_route_static_offsets_dynamic_experts(%x: tensor<3x?xf32>) {
  // expected-error @+1 {{expects offsets dim 0 (E + 1) to be dynamic, as logits dim 1 (E) is (a size known only at run time), got 5}}
  %s, %o, %l, %w = hymir.moe_route %x {top_k = 2 : i64, tile = 1 : i64}
      : (tensor<3x?xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<3x2xi32>, tensor<3x2xf32>)
  return
}
