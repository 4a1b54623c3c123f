// hymir.embedding gathers rows of a 100-row table.
func.func @embedding(%table: tensor<100x32xbf16> {hymir.name = "table"}, %ids: tensor<?xi32> {hymir.name = "ids"})
    -> (tensor<?x32xbf16> {hymir.name = "rows"}) {
  %y = hymir.embedding %table, %ids : (tensor<100x32xbf16>, tensor<?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}
