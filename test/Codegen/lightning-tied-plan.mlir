// A tied lightning state on cuda: the decode kernel updates the state input
// in place (hymir-lightning-state-in-place), so the plan holds the launch
// alone: no buffer for the new state and no copy back into the input. An
// untied state is written into its output by the same launch; the model's
// form (a slot without a token keeps its state) is one launch too; a dynamic
// token count (two guarded kernels) keeps its buffer and copy.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --max-tokens=64 --print-plan | FileCheck %s

// CHECK-LABEL: entry tied
// CHECK:         output 1 state_out: F32[2, 4, 16, 16] tied to input 4
// CHECK-NEXT:    arena 0 B
// CHECK-NEXT:    step 0: launch {{.*}} grid 1x4x2 block {{[0-9]+}} ({{.*}}input 4, output 0)
// CHECK-NOT:     step
// CHECK-LABEL: entry untied
// CHECK:         arena 0 B
// CHECK-NEXT:    step 0: launch {{.*}} ({{.*}}input 4, output 1, output 0)
// CHECK-NOT:     step
// The model's decode form: a slot without a token keeps its state (a select
// by counts into the tied state), run inside the decode kernel.
// CHECK-LABEL: entry keep
// CHECK:         arena 0 B
// CHECK-NEXT:    step 0: launch {{.*}} ({{.*}}input 4, input 5, output 0)
// CHECK-NOT:     step
// CHECK-LABEL: entry tied_tokens
// CHECK:         buffer 0
// CHECK:         copy 8192 B (buffer 0 -> input 4)

func.func @tied(%q: tensor<2x1x4x16xbf16> {hymir.name = "q"}, %k: tensor<2x1x4x16xbf16> {hymir.name = "k"},
                %v: tensor<2x1x4x16xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                %state: tensor<2x4x16x16xf32> {hymir.name = "state"})
    -> (tensor<2x1x4x16xbf16> {hymir.name = "out"}, tensor<2x4x16x16xf32> {hymir.name = "state_out", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>
}

func.func @untied(%q: tensor<2x1x4x16xbf16> {hymir.name = "q"}, %k: tensor<2x1x4x16xbf16> {hymir.name = "k"},
                  %v: tensor<2x1x4x16xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                  %state: tensor<2x4x16x16xf32> {hymir.name = "state"})
    -> (tensor<2x1x4x16xbf16> {hymir.name = "out"}, tensor<2x4x16x16xf32> {hymir.name = "state_out"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>
}

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#slot = affine_map<(d0, d1, d2, d3) -> (d0)>
func.func @keep(%q: tensor<2x1x4x16xbf16> {hymir.name = "q"}, %k: tensor<2x1x4x16xbf16> {hymir.name = "k"},
                %v: tensor<2x1x4x16xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                %state: tensor<2x4x16x16xf32> {hymir.name = "state"}, %counts: tensor<2xi32> {hymir.name = "counts"})
    -> (tensor<2x1x4x16xbf16> {hymir.name = "out"}, tensor<2x4x16x16xf32> {hymir.name = "state_out", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<2x1x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>)
  %e = tensor.empty() : tensor<2x4x16x16xf32>
  %kept = linalg.generic {indexing_maps = [#id, #id, #slot, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %state, %counts : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2xi32>) outs(%e : tensor<2x4x16x16xf32>) {
  ^bb0(%new: f32, %old: f32, %c: i32, %unused: f32):
    %zero = arith.constant 0 : i32
    %active = arith.cmpi sgt, %c, %zero : i32
    %r = arith.select %active, %new, %old : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x16xf32>
  return %o, %kept : tensor<2x1x4x16xbf16>, tensor<2x4x16x16xf32>
}

func.func @tied_tokens(%q: tensor<2x?x4x16xbf16> {hymir.name = "q"}, %k: tensor<2x?x4x16xbf16> {hymir.name = "k"},
                       %v: tensor<2x?x4x16xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                       %state: tensor<2x4x16x16xf32> {hymir.name = "state"})
    -> (tensor<2x?x4x16xbf16> {hymir.name = "out"}, tensor<2x4x16x16xf32> {hymir.name = "state_out", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>
}
