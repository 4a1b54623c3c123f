// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.moe_layout (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @moe_layout_experts(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects num_experts in [1, 2147483646], got 0}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 0 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<1xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @moe_layout_tile(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects tile in [1, 1024], got 0}}
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

func.func @moe_layout_dynamic_k(%i: tensor<?x?xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects indices dim 1 (K, the picks per token) to be static, got 'tensor<?x?xi32>'}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x?xi32>)
  return
}

// -----

// The tile is bounded (a tile of 2^40 made the warp-row builder run forever).
func.func @moe_layout_tile_large(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects tile in [1, 1024], got 9223372036854775807}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 9223372036854775807 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return
}

// -----

// E + 1 offsets are i32 entries: E is bounded before E + 1 is computed.
func.func @moe_layout_experts_large(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects num_experts in [1, 2147483646], got 9223372036854775807}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 9223372036854775807 : i64, tile = 1 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<?xi32>, tensor<?x2xi32>)
  return
}

// -----

// Static sizes of 2^63 bytes or more are rejected before any verifier
// multiplies them (every hymir op).
func.func @moe_layout_rows_overflow(%i: tensor<4611686018427387904x2xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects operand #0 to hold fewer than 2^63 bytes, got 'tensor<4611686018427387904x2xi32>'}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 1 : i64}
      : (tensor<4611686018427387904x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<4611686018427387904x2xi32>)
  return
}


// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @moe_layout_static_rows_dynamic_tokens(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{expects sorted_tokens dim 0 (T * K + E * (tile - 1)) to be dynamic, as indices dim 0 (T) is (a size known only at run time), got 6}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x2xi32>) -> (tensor<6xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return
}

// -----

func.func @moe_layout_static_slots_dynamic_tokens(%i: tensor<?x2xi32>) {
  // expected-error @+1 {{expects slots dim 0 (T) to be dynamic, as indices dim 0 is (a size known only at run time), got 3}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<3x2xi32>)
  return
}
