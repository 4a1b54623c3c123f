// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.moe_layout (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

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

func.func @moe_layout_dynamic_k(%i: tensor<?x?xi32>) {
  // expected-error @+1 {{'hymir.moe_layout' op expects indices dim 1 (K, the picks per token) to be static, got 'tensor<?x?xi32>'}}
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64}
      : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x?xi32>)
  return
}
