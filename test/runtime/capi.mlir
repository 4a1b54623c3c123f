// The C API describes a loaded module to a C caller: entries, inputs and
// outputs with -1 for the token dim, parameters; failing calls say what is
// wrong in terms of the C API, not of a command-line tool's flags.
// RUN: hymir-compile %s -o %t.hymir --target=cpu --max-tokens=300
// RUN: hymir-capi-probe %t.hymir | FileCheck %s

// CHECK:      entry 0 gated, max tokens 300
// CHECK-NEXT:   input 0 x f32 [-1, 16]
// CHECK-NEXT:   input 1 x3 bf16 [2, -1, 16]
// CHECK-NEXT:   input 2 w3 bf16 [8, 16]
// CHECK-NEXT:   output 0 y f32 [-1, 8]
// CHECK-NEXT:   output 1 y3 bf16 [2, -1, 8]
// CHECK-NEXT: entry 1 scale, max tokens 0
// CHECK-NEXT:   input 0 s f32 [4, 4]
// CHECK-NEXT:   output 0 t f32 [4, 4]
// CHECK-NEXT:   param 0 up.weight f32 [8, 16]
// CHECK-NEXT: find first entry: 0
// CHECK-NEXT: error: hymir_module_find_entry: {{.*}} has no entry 'nope'; entries: gated, scale
// CHECK-NEXT: error: hymir_module_entry_name: no entry 99; the module has 2 (hymir_module_entry_count)
// CHECK-NEXT: error: hymir_module_input_info: no input 99; there are 3
// CHECK-NEXT: error: hymir_module_param_info: no param 99; there are 1
// CHECK-NEXT: error: {{.*}} none are bound: bind them from a safetensors file first (Module::bindWeights, hymir_module_bind_weights in C, hymir-run --weights)
// CHECK-NEXT: error: {{.*}}nonexistent.safetensors{{.*}}

func.func @gated(%x: tensor<?x16xf32> {hymir.name = "x"},
                 %wu: tensor<8x16xf32> {hymir.name = "up.weight", hymir.param},
                 %x3: tensor<2x?x16xbf16> {hymir.name = "x3"},
                 %w3: tensor<8x16xbf16> {hymir.name = "w3"})
    -> (tensor<?x8xf32> {hymir.name = "y"}, tensor<2x?x8xbf16> {hymir.name = "y3"}) {
  %y = hymir.linear %x, %wu : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %y3 = hymir.linear %x3, %w3 : (tensor<2x?x16xbf16>, tensor<8x16xbf16>) -> tensor<2x?x8xbf16>
  return %y, %y3 : tensor<?x8xf32>, tensor<2x?x8xbf16>
}

func.func @scale(%s: tensor<4x4xf32> {hymir.name = "s"}) -> (tensor<4x4xf32> {hymir.name = "t"}) {
  %t = arith.addf %s, %s : tensor<4x4xf32>
  return %t : tensor<4x4xf32>
}
