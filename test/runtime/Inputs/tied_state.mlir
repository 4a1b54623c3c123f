// A state updated in place across calls (hymir.tied): state_out = state * 0.5
// + x, and y = state_out * x read from the new state. `other` has a state of
// another shape and `half` of another dtype, for the runtime's errors.
func.func @step(%state: tensor<2x4x16xf32> {hymir.name = "state"},
                %x: tensor<2x4x16xf32> {hymir.name = "x"})
    -> (tensor<2x4x16xf32> {hymir.name = "y"},
        tensor<2x4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %half = arith.constant dense<0.5> : tensor<2x4x16xf32>
  %decayed = arith.mulf %state, %half : tensor<2x4x16xf32>
  %new = arith.addf %decayed, %x : tensor<2x4x16xf32>
  %y = arith.mulf %new, %x : tensor<2x4x16xf32>
  return %y, %new : tensor<2x4x16xf32>, tensor<2x4x16xf32>
}

func.func @other(%state: tensor<4x16xf32> {hymir.name = "state"})
    -> (tensor<4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %twice = arith.addf %state, %state : tensor<4x16xf32>
  return %twice : tensor<4x16xf32>
}

func.func @half(%state: tensor<2x4x16xbf16> {hymir.name = "state"})
    -> (tensor<2x4x16xbf16> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %twice = arith.addf %state, %state : tensor<2x4x16xbf16>
  return %twice : tensor<2x4x16xbf16>
}

// The old state is read after the new one is computed (y) and returned
// (old): the new state cannot be computed in place, the plan copies it into
// the state's storage after every other output.
func.func @reread(%state: tensor<2x4x16xf32> {hymir.name = "state"},
                  %x: tensor<2x4x16xf32> {hymir.name = "x"})
    -> (tensor<2x4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64},
        tensor<2x4x16xf32> {hymir.name = "y"},
        tensor<2x4x16xf32> {hymir.name = "old"}) {
  %half = arith.constant dense<0.5> : tensor<2x4x16xf32>
  %decayed = arith.mulf %state, %half : tensor<2x4x16xf32>
  %new = arith.addf %decayed, %x : tensor<2x4x16xf32>
  %y = arith.mulf %new, %state : tensor<2x4x16xf32>
  return %new, %y, %state : tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>
}
