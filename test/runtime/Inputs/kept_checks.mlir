// Calls kept across calls (CallOptions::cudaGraphs) with a run-time check:
// an embedding lookup flags an id outside its table, and the next call must
// start with the check clear. `lookup_any` takes any number of ids: one kept
// call per count (the bucket).
func.func @lookup(%table: tensor<8x4xf32> {hymir.name = "table"},
                  %ids: tensor<3xi32> {hymir.name = "ids"})
    -> (tensor<3x4xf32> {hymir.name = "rows"}) {
  %y = hymir.embedding %table, %ids : (tensor<8x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

func.func @lookup_any(%table: tensor<8x4xf32> {hymir.name = "table"},
                      %ids: tensor<?xi32> {hymir.name = "ids"})
    -> (tensor<?x4xf32> {hymir.name = "rows"}) {
  %y = hymir.embedding %table, %ids : (tensor<8x4xf32>, tensor<?xi32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
