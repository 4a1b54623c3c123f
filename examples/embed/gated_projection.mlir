// The graph the embedding example runs: y = (x W_up^T) * sigmoid(x W_gate^T),
// with both weights bound from a safetensors file as parameters.
func.func @gated_projection(
    %x: tensor<?x16xf32> {hymir.name = "x"},
    %wg: tensor<8x16xf32> {hymir.name = "gate.weight", hymir.param},
    %wu: tensor<8x16xf32> {hymir.name = "up.weight", hymir.param})
    -> (tensor<?x8xf32> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x16xf32>
  %one = arith.constant 1.0 : f32
  %g = hymir.linear %x, %wg : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %u = hymir.linear %x, %wu : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %neg = arith.negf %g : tensor<?x8xf32>
  %e = math.exp %neg : tensor<?x8xf32>
  %ones = tensor.splat %one[%t] : tensor<?x8xf32>
  %den = arith.addf %ones, %e : tensor<?x8xf32>
  %y = arith.divf %u, %den : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
