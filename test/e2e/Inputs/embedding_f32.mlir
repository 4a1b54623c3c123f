// hymir.embedding gathers rows of a 100-row table.
func.func @embedding(%table: tensor<100x32xf32> {hymir.name = "table"}, %ids: tensor<?xi32> {hymir.name = "ids"})
    -> (tensor<?x32xf32> {hymir.name = "rows"}) {
  %y = hymir.embedding %table, %ids : (tensor<100x32xf32>, tensor<?xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
