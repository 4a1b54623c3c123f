// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.embedding (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

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

// Dynamic dims are not compared, and a result may leave a static dim
// dynamic: no error expected.
func.func @embedding_dynamic_ok(
    %table: tensor<?x8xf32>, %ids: tensor<2x?xi32>) {
  %y = hymir.embedding %table, %ids
      : (tensor<?x8xf32>, tensor<2x?xi32>) -> tensor<?x?x8xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count).
func.func @embedding_static_result_dynamic_ids(
    %table: tensor<10x8xf32>, %ids: tensor<2x?xi32>) {
  // expected-error @+1 {{expects result dim 1 (ids dim 1) to be dynamic, as ids dim 1 is (a size known only at run time), got 3}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x8xf32>, tensor<2x?xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @embedding_static_result_dynamic_table(
    %table: tensor<10x?xf32>, %ids: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 2 (N) to be dynamic, as table dim 1 is (a size known only at run time), got 8}}
  %y = hymir.embedding %table, %ids
      : (tensor<10x?xf32>, tensor<2x3xi32>) -> tensor<2x3x8xf32>
  return
}
