// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per branch of the verifier of hymir's discardable attributes
// (HymirAttributes.cpp): each is an attribute in a wrong place or with a
// wrong value.

#id = affine_map<(i) -> (i)>

// hymir.library_call names a known library call.
func.func @library_call_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'linalg.generic' op expects 'hymir.library_call' to be one of "gemm", "all_reduce", "all_gather", "all_to_all", "device_index", "reduce_scatter", got "conv"}}
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%x : tensor<4xf32>)
      attrs = {hymir.library_call = "conv"} {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// hymir.library_call is a string.
func.func @library_call_not_string() {
  // expected-error @+1 {{'arith.constant' op expects 'hymir.library_call' to be one of "gemm", "all_reduce", "all_gather", "all_to_all", "device_index", "reduce_scatter", got 1 : i64}}
  %c = arith.constant {hymir.library_call = 1} 0 : index
  return
}

// -----

// hymir.library_call marks a linalg.generic only.
func.func @library_call_op() {
  // expected-error @+1 {{'arith.constant' op expects 'hymir.library_call' only on a linalg.generic}}
  %c = arith.constant {hymir.library_call = "gemm"} 0 : index
  return
}

// -----

#id = affine_map<(i) -> (i)>

// hymir.precision is bf16 or f32.
func.func @precision_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'linalg.generic' op expects 'hymir.precision' to be one of "bf16", "f32", got "tf32"}}
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%x : tensor<4xf32>)
      attrs = {hymir.library_call = "gemm", hymir.precision = "tf32"} {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

#id = affine_map<(i) -> (i)>

// hymir.precision belongs to a library GEMM, not to a collective.
func.func @precision_not_gemm(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'linalg.generic' op expects 'hymir.precision' only beside 'hymir.library_call' = "gemm"}}
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%x : tensor<4xf32>)
      attrs = {hymir.library_call = "all_reduce", hymir.precision = "f32"} {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// hymir.lightning names a part of lightning attention.
func.func @lightning_value(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'scf.for' op expects 'hymir.lightning' to be one of "heads", "blocks", "intra", "inter", "state", "decode", "tensor-core", got "block"}}
  scf.for %i = %c0 to %n step %c1 {
  } {hymir.lightning = "block"}
  return
}

// -----

// hymir.moe names a part of an MoE layer.
func.func @moe_value(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'scf.for' op expects 'hymir.moe' to be one of "route", "layout", "gate-up", "down", "gate-up-tc", "down-tc", "gate-up-wgmma", "down-wgmma", "combine", got "experts"}}
  scf.for %i = %c0 to %n step %c1 {
  } {hymir.moe = "experts"}
  return
}

// -----

// hymir.kernel is a unit attribute.
// expected-error @+1 {{'func.func' op expects 'hymir.kernel' to be a unit attribute, got true}}
func.func @kernel_value() attributes {hymir.kernel = true} {
  return
}

// -----

// hymir.kernel marks a function.
func.func @kernel_op() {
  // expected-error @+1 {{'arith.constant' op expects 'hymir.kernel' only on a function}}
  %c = arith.constant {hymir.kernel} 0 : index
  return
}

// -----

// hymir.name names an argument or a result, not an op.
func.func @name_on_op() {
  // expected-error @+1 {{'arith.constant' op expects 'hymir.name' on a function argument or result, found it on the op}}
  %c = arith.constant {hymir.name = "c"} 0 : index
  return
}

// -----

// A misspelt hymir attribute is an error, not ignored.
func.func @unknown_on_op() {
  // expected-error @+1 {{'arith.constant' op has 'hymir.libary_call', which the hymir dialect does not declare}}
  %c = arith.constant {hymir.libary_call = "gemm"} 0 : index
  return
}

// -----

// hymir.name is a string.
// expected-error @+1 {{'func.func' op expects 'hymir.name' of argument 0 to be a non-empty string, got 3 : i64}}
func.func @name_not_string(%x: tensor<4xf32> {hymir.name = 3}) {
  return
}

// -----

// An empty name cannot bind a safetensors entry.
// expected-error @+1 {{'func.func' op expects 'hymir.name' of result 0 to be a non-empty string, got ""}}
func.func @name_empty(%x: tensor<4xf32>) -> (tensor<4xf32> {hymir.name = ""}) {
  return %x : tensor<4xf32>
}

// -----

// Results are never parameters.
// expected-error @+1 {{'func.func' op expects 'hymir.param' on an argument, found it on result 0}}
func.func @param_on_result(%x: tensor<4xf32>) -> (tensor<4xf32> {hymir.param}) {
  return %x : tensor<4xf32>
}

// -----

// hymir.param is a unit attribute.
// expected-error @+1 {{'func.func' op expects 'hymir.param' of argument 0 to be a unit attribute, got true}}
func.func @param_value(%x: tensor<4xf32> {hymir.param = true}) {
  return
}

// -----

// hymir.shard_dim is an integer.
// expected-error @+1 {{'func.func' op expects 'hymir.shard_dim' of argument 0 to be an integer, got "0"}}
func.func @shard_dim_value(%x: tensor<4xf32> {hymir.shard_dim = "0"}) {
  return
}

// -----

// Only a ranked argument can be split along a dim.
// expected-error @+1 {{'func.func' op expects argument 0 with 'hymir.shard_dim' to be ranked, got 'f32'}}
func.func @shard_dim_scalar(%x: f32 {hymir.shard_dim = 0 : i64}) {
  return
}

// -----

// hymir.shard_dim is not negative.
// expected-error @+1 {{'func.func' op expects 'hymir.shard_dim' of argument 1 to be in [0, 2) (its rank), got -1}}
func.func @shard_dim_negative(%x: tensor<4xf32>,
                              %w: tensor<4x8xf32> {hymir.shard_dim = -1 : i64}) {
  return
}

// -----

// hymir.shard_dim is below the argument's rank.
// expected-error @+1 {{'func.func' op expects 'hymir.shard_dim' of argument 0 to be in [0, 2) (its rank), got 2}}
func.func @shard_dim_rank(%w: tensor<4x8xf32> {hymir.shard_dim = 2 : i64}) {
  return
}

// -----

// Markers of ops do not go on arguments.
// expected-error @+1 {{'func.func' op expects 'hymir.lightning' on an op, found it on argument 0}}
func.func @op_attr_on_arg(%x: tensor<4xf32> {hymir.lightning = "heads"}) {
  return
}

// -----

// A misspelt argument attribute is an error too.
// expected-error @+1 {{'func.func' op has 'hymir.params', which the hymir dialect does not declare}}
func.func @unknown_on_arg(%x: tensor<4xf32> {hymir.params}) {
  return
}

// -----

// hymir.tied goes on a result.
// expected-error @+1 {{'func.func' op expects 'hymir.tied' on a result, found it on argument 0}}
func.func @tied_on_arg(%x: tensor<4xf32> {hymir.tied = 0 : i64}) {
  return
}

// -----

// hymir.tied is an argument index.
// expected-error @+1 {{'func.func' op expects 'hymir.tied' of result 0 to be an integer (an argument index), got "state"}}
func.func @tied_value(%s: tensor<4xf32>) -> (tensor<4xf32> {hymir.tied = "state"}) {
  return %s : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op expects 'hymir.tied' of result 0 to be an argument index in [0, 1), got 1}}
func.func @tied_range(%s: tensor<4xf32>) -> (tensor<4xf32> {hymir.tied = 1 : i64}) {
  return %s : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op expects 'hymir.tied' of result 0 to be an argument index in [0, 1), got -1}}
func.func @tied_negative(%s: tensor<4xf32>) -> (tensor<4xf32> {hymir.tied = -1 : i64}) {
  return %s : tensor<4xf32>
}

// -----

// Only an entry has tied results.
// expected-error @+1 {{'func.func' op ties result 0 to argument 0, but only an entry (a public function) has tied results}}
func.func private @tied_private(%s: tensor<4xf32>) -> (tensor<4xf32> {hymir.tied = 0 : i64}) {
  return %s : tensor<4xf32>
}

// -----

// A tied result has its argument's type (dtype and shape).
// expected-error @+1 {{'func.func' op ties result 0 of type 'tensor<4xbf16>' to argument 0 of type 'tensor<4xf32>'; a tied result has its argument's type}}
func.func @tied_type(%s: tensor<4xf32>) -> (tensor<4xbf16> {hymir.tied = 0 : i64}) {
  %t = arith.truncf %s : tensor<4xf32> to tensor<4xbf16>
  return %t : tensor<4xbf16>
}

// -----

// expected-error @+1 {{'func.func' op ties result 0 of type 'tensor<8xf32>' to argument 0 of type 'tensor<4xf32>'; a tied result has its argument's type}}
func.func @tied_shape(%s: tensor<4xf32>, %t: tensor<8xf32>) -> (tensor<8xf32> {hymir.tied = 0 : i64}) {
  return %t : tensor<8xf32>
}

// -----

// A parameter is read only.
// expected-error @+1 {{'func.func' op ties result 0 to argument 0, a parameter ('hymir.param'); parameters are bound once and read only}}
func.func @tied_param(%w: tensor<4xf32> {hymir.param}) -> (tensor<4xf32> {hymir.tied = 0 : i64}) {
  return %w : tensor<4xf32>
}

// -----

// One result per argument.
// expected-error @+1 {{'func.func' op ties results 0 and 1 to argument 0; an argument is tied to one result at most}}
func.func @tied_twice(%s: tensor<4xf32>)
    -> (tensor<4xf32> {hymir.tied = 0 : i64}, tensor<4xf32> {hymir.tied = 0 : i64}) {
  return %s, %s : tensor<4xf32>, tensor<4xf32>
}
