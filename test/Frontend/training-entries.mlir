// The training entries hymir-import adds (issue 14): score and cispo_step,
// their signatures and the LM-head op with the --lm-head precision.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/m1 --preset m1-partial
// RUN: hymir-import %t/m1 --max-batch=2 --max-context=8 | FileCheck %s
// RUN: hymir-import %t/m1 --max-batch=2 --max-context=8 --lm-head=bf16 | FileCheck %s --check-prefix=BF16

// CHECK-LABEL: func.func @score
// CHECK-SAME: (%{{.*}}: tensor<2x?xi32> {hymir.name = "input_ids"}, %{{.*}}: tensor<2x?xi32> {hymir.name = "targets"}, %{{.*}}: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// CHECK-SAME: -> (tensor<2x?xf32> {hymir.name = "logprobs"})
// CHECK: hymir.rms_norm
// CHECK: hymir.token_logprobs %{{.*}} : (tensor<?x64xbf16>, tensor<128x64xbf16>, tensor<?xi32>) -> tensor<?xf32>
// CHECK: tensor.expand_shape {{.*}} : tensor<?xf32> into tensor<2x?xf32>
// CHECK-LABEL: func.func @cispo_step
// CHECK-SAME: (%{{.*}}: tensor<2x?xi32> {hymir.name = "input_ids"}, %{{.*}}: tensor<2x?xi32> {hymir.name = "targets"}, %{{.*}}: tensor<2x?xf32> {hymir.name = "logp_old"}, %{{.*}}: tensor<2x?xf32> {hymir.name = "advantages"}, %{{.*}}: tensor<2x?xf32> {hymir.name = "mask"}, %{{.*}}: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// CHECK-SAME: -> (tensor<f32> {hymir.name = "loss"}, tensor<2x?xf32> {hymir.name = "logp_new"}, tensor<2x?x64xbf16> {hymir.name = "d_hidden"}, tensor<128x64xbf16> {hymir.name = "d_lm_head"})
// CHECK: hymir.cispo_loss {{.*}} {eps_high = 2.800000e-01 : f32, eps_low = 1.000000e+00 : f32} : (tensor<?x64xbf16>, tensor<128x64xbf16>, tensor<?xi32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<f32>, tensor<?xf32>, tensor<?x64xbf16>, tensor<128x64xbf16>)
// CHECK-LABEL: func.func @prefill

// BF16-LABEL: func.func @score
// BF16: hymir.token_logprobs {{.*}} {precision = "bf16"}
// BF16-LABEL: func.func @cispo_step
// BF16: hymir.cispo_loss {{.*}} precision = "bf16"
