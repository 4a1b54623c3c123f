// A MiniMax-M1-shaped model at toy widths, written by scripts/gen-tiny-model.py.
// 8 layers (layer 7 softmax attention, the rest lightning attention),
// hidden 64, 4 heads of 16 (2 KV heads in the softmax layer, rotary_dim 8),
// 4 experts of width 32 (top-2), vocabulary 128, bf16 weights, f32 router and logits.
module {
  func.func private @lightning_layer(%x: tensor<?x64xbf16>, %input_norm: tensor<64xbf16>, %post_norm: tensor<64xbf16>, %router: tensor<4x64xf32>, %gate_up: tensor<4x64x64xbf16>, %w2: tensor<4x64x32xbf16>, %qkv_proj: tensor<192x64xbf16>, %output_gate: tensor<64x64xbf16>, %out_proj: tensor<64x64xbf16>, %attn_norm: tensor<64xbf16>, %slopes: tensor<4xf32>) -> tensor<?x64xbf16> {
    %c0 = arith.constant 0 : index
    %tokens = tensor.dim %x, %c0 : tensor<?x64xbf16>
    %one = arith.constant 1.0 : bf16
    %alpha = arith.constant 3.5565588200778455 : bf16
    %alpha_t = tensor.splat %alpha[%tokens] : tensor<?x64xbf16>
    %h = hymir.rms_norm %x, %input_norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %qkv_lin = hymir.linear %h, %qkv_proj : (tensor<?x64xbf16>, tensor<192x64xbf16>) -> tensor<?x192xbf16>
    %qkv_neg = arith.negf %qkv_lin : tensor<?x192xbf16>
    %qkv_exp = math.exp %qkv_neg : tensor<?x192xbf16>
    %qkv_one = tensor.splat %one[%tokens] : tensor<?x192xbf16>
    %qkv_den = arith.addf %qkv_one, %qkv_exp : tensor<?x192xbf16>
    %qkv = arith.divf %qkv_lin, %qkv_den : tensor<?x192xbf16>
    %qkv4 = tensor.expand_shape %qkv [[0, 1], [2, 3]] output_shape [1, %tokens, 4, 48] : tensor<?x192xbf16> into tensor<1x?x4x48xbf16>
    %q = tensor.extract_slice %qkv4[0, 0, 0, 0] [1, %tokens, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xbf16> to tensor<1x?x4x16xbf16>
    %k = tensor.extract_slice %qkv4[0, 0, 0, 16] [1, %tokens, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xbf16> to tensor<1x?x4x16xbf16>
    %v = tensor.extract_slice %qkv4[0, 0, 0, 32] [1, %tokens, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xbf16> to tensor<1x?x4x16xbf16>
    %attn, %state = hymir.lightning_attention %q, %k, %v, %slopes : (tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>, tensor<4xf32>) -> (tensor<1x?x4x16xbf16>, tensor<1x4x16x16xf32>)
    %attn2 = tensor.collapse_shape %attn [[0, 1], [2, 3]] : tensor<1x?x4x16xbf16> into tensor<?x64xbf16>
    %attn_n = hymir.rms_norm %attn2, %attn_norm {epsilon = 9.99999997e-07 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %gate_lin = hymir.linear %h, %output_gate : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %gate_neg = arith.negf %gate_lin : tensor<?x64xbf16>
    %gate_exp = math.exp %gate_neg : tensor<?x64xbf16>
    %gate_one = tensor.splat %one[%tokens] : tensor<?x64xbf16>
    %gate_den = arith.addf %gate_one, %gate_exp : tensor<?x64xbf16>
    %gate = arith.divf %gate_one, %gate_den : tensor<?x64xbf16>
    %gated = arith.mulf %gate, %attn_n : tensor<?x64xbf16>
    %mix = hymir.linear %gated, %out_proj : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %h_scaled = arith.mulf %alpha_t, %h : tensor<?x64xbf16>
    %x1 = arith.addf %h_scaled, %mix : tensor<?x64xbf16>
    %h2 = hymir.rms_norm %x1, %post_norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %w1 = tensor.extract_slice %gate_up[0, 0, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
    %w3 = tensor.extract_slice %gate_up[0, 32, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
    %moe = hymir.moe %h2, %router, %w1, %w3, %w2 {top_k = 2 : i64} : (tensor<?x64xbf16>, tensor<4x64xf32>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xbf16>
    %h2_scaled = arith.mulf %alpha_t, %h2 : tensor<?x64xbf16>
    %y = arith.addf %h2_scaled, %moe : tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }

  func.func private @softmax_layer(%x: tensor<?x64xbf16>, %input_norm: tensor<64xbf16>, %post_norm: tensor<64xbf16>, %router: tensor<4x64xf32>, %gate_up: tensor<4x64x64xbf16>, %w2: tensor<4x64x32xbf16>, %q_proj: tensor<64x64xbf16>, %k_proj: tensor<32x64xbf16>, %v_proj: tensor<32x64xbf16>, %o_proj: tensor<64x64xbf16>, %positions: tensor<1x?xi32>) -> tensor<?x64xbf16> {
    %c0 = arith.constant 0 : index
    %tokens = tensor.dim %x, %c0 : tensor<?x64xbf16>
    %one = arith.constant 1.0 : bf16
    %alpha = arith.constant 3.5565588200778455 : bf16
    %alpha_t = tensor.splat %alpha[%tokens] : tensor<?x64xbf16>
    %h = hymir.rms_norm %x, %input_norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %q_lin = hymir.linear %h, %q_proj : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %q4 = tensor.expand_shape %q_lin [[0, 1], [2, 3]] output_shape [1, %tokens, 4, 16] : tensor<?x64xbf16> into tensor<1x?x4x16xbf16>
    %k_lin = hymir.linear %h, %k_proj : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    %k4 = tensor.expand_shape %k_lin [[0, 1], [2, 3]] output_shape [1, %tokens, 2, 16] : tensor<?x32xbf16> into tensor<1x?x2x16xbf16>
    %v_lin = hymir.linear %h, %v_proj : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    %v4 = tensor.expand_shape %v_lin [[0, 1], [2, 3]] output_shape [1, %tokens, 2, 16] : tensor<?x32xbf16> into tensor<1x?x2x16xbf16>
    %q_rot = hymir.rope %q4, %positions {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64} : (tensor<1x?x4x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x16xbf16>
    %k_rot = hymir.rope %k4, %positions {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64} : (tensor<1x?x2x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x2x16xbf16>
    %attn = hymir.softmax_attention %q_rot, %k_rot, %v4 {causal = true, scale = 0.25 : f32} : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>) -> tensor<1x?x4x16xbf16>
    %attn2 = tensor.collapse_shape %attn [[0, 1], [2, 3]] : tensor<1x?x4x16xbf16> into tensor<?x64xbf16>
    %mix = hymir.linear %attn2, %o_proj : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %h_scaled = arith.mulf %alpha_t, %h : tensor<?x64xbf16>
    %x1 = arith.addf %h_scaled, %mix : tensor<?x64xbf16>
    %h2 = hymir.rms_norm %x1, %post_norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %w1 = tensor.extract_slice %gate_up[0, 0, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
    %w3 = tensor.extract_slice %gate_up[0, 32, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
    %moe = hymir.moe %h2, %router, %w1, %w3, %w2 {top_k = 2 : i64} : (tensor<?x64xbf16>, tensor<4x64xf32>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>, tensor<4x64x32xbf16>) -> tensor<?x64xbf16>
    %h2_scaled = arith.mulf %alpha_t, %h2 : tensor<?x64xbf16>
    %y = arith.addf %h2_scaled, %moe : tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }

  func.func @forward(%ids: tensor<?xi32> {hymir.name = "input_ids"}, %positions: tensor<1x?xi32> {hymir.name = "positions"}, %embed: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight"}, %l0_input_norm: tensor<64xbf16> {hymir.name = "model.layers.0.input_layernorm.weight"}, %l0_post_norm: tensor<64xbf16> {hymir.name = "model.layers.0.post_attention_layernorm.weight"}, %l0_router: tensor<4x64xf32> {hymir.name = "model.layers.0.mlp.gate.weight"}, %l0_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.0.mlp.experts.gate_up_proj"}, %l0_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.0.mlp.experts.down_proj"}, %l0_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.0.self_attn.qkv_proj.weight"}, %l0_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.0.self_attn.output_gate.weight"}, %l0_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.0.self_attn.out_proj.weight"}, %l0_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.0.self_attn.norm.weight"}, %l1_input_norm: tensor<64xbf16> {hymir.name = "model.layers.1.input_layernorm.weight"}, %l1_post_norm: tensor<64xbf16> {hymir.name = "model.layers.1.post_attention_layernorm.weight"}, %l1_router: tensor<4x64xf32> {hymir.name = "model.layers.1.mlp.gate.weight"}, %l1_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.1.mlp.experts.gate_up_proj"}, %l1_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.1.mlp.experts.down_proj"}, %l1_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.1.self_attn.qkv_proj.weight"}, %l1_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.1.self_attn.output_gate.weight"}, %l1_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.1.self_attn.out_proj.weight"}, %l1_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.1.self_attn.norm.weight"}, %l2_input_norm: tensor<64xbf16> {hymir.name = "model.layers.2.input_layernorm.weight"}, %l2_post_norm: tensor<64xbf16> {hymir.name = "model.layers.2.post_attention_layernorm.weight"}, %l2_router: tensor<4x64xf32> {hymir.name = "model.layers.2.mlp.gate.weight"}, %l2_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.2.mlp.experts.gate_up_proj"}, %l2_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.2.mlp.experts.down_proj"}, %l2_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.2.self_attn.qkv_proj.weight"}, %l2_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.2.self_attn.output_gate.weight"}, %l2_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.2.self_attn.out_proj.weight"}, %l2_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.2.self_attn.norm.weight"}, %l3_input_norm: tensor<64xbf16> {hymir.name = "model.layers.3.input_layernorm.weight"}, %l3_post_norm: tensor<64xbf16> {hymir.name = "model.layers.3.post_attention_layernorm.weight"}, %l3_router: tensor<4x64xf32> {hymir.name = "model.layers.3.mlp.gate.weight"}, %l3_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.3.mlp.experts.gate_up_proj"}, %l3_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.3.mlp.experts.down_proj"}, %l3_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.3.self_attn.qkv_proj.weight"}, %l3_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.3.self_attn.output_gate.weight"}, %l3_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.3.self_attn.out_proj.weight"}, %l3_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.3.self_attn.norm.weight"}, %l4_input_norm: tensor<64xbf16> {hymir.name = "model.layers.4.input_layernorm.weight"}, %l4_post_norm: tensor<64xbf16> {hymir.name = "model.layers.4.post_attention_layernorm.weight"}, %l4_router: tensor<4x64xf32> {hymir.name = "model.layers.4.mlp.gate.weight"}, %l4_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.4.mlp.experts.gate_up_proj"}, %l4_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.4.mlp.experts.down_proj"}, %l4_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.4.self_attn.qkv_proj.weight"}, %l4_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.4.self_attn.output_gate.weight"}, %l4_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.4.self_attn.out_proj.weight"}, %l4_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.4.self_attn.norm.weight"}, %l5_input_norm: tensor<64xbf16> {hymir.name = "model.layers.5.input_layernorm.weight"}, %l5_post_norm: tensor<64xbf16> {hymir.name = "model.layers.5.post_attention_layernorm.weight"}, %l5_router: tensor<4x64xf32> {hymir.name = "model.layers.5.mlp.gate.weight"}, %l5_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.5.mlp.experts.gate_up_proj"}, %l5_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.5.mlp.experts.down_proj"}, %l5_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.5.self_attn.qkv_proj.weight"}, %l5_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.5.self_attn.output_gate.weight"}, %l5_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.5.self_attn.out_proj.weight"}, %l5_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.5.self_attn.norm.weight"}, %l6_input_norm: tensor<64xbf16> {hymir.name = "model.layers.6.input_layernorm.weight"}, %l6_post_norm: tensor<64xbf16> {hymir.name = "model.layers.6.post_attention_layernorm.weight"}, %l6_router: tensor<4x64xf32> {hymir.name = "model.layers.6.mlp.gate.weight"}, %l6_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.6.mlp.experts.gate_up_proj"}, %l6_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.6.mlp.experts.down_proj"}, %l6_qkv_proj: tensor<192x64xbf16> {hymir.name = "model.layers.6.self_attn.qkv_proj.weight"}, %l6_output_gate: tensor<64x64xbf16> {hymir.name = "model.layers.6.self_attn.output_gate.weight"}, %l6_out_proj: tensor<64x64xbf16> {hymir.name = "model.layers.6.self_attn.out_proj.weight"}, %l6_attn_norm: tensor<64xbf16> {hymir.name = "model.layers.6.self_attn.norm.weight"}, %l7_input_norm: tensor<64xbf16> {hymir.name = "model.layers.7.input_layernorm.weight"}, %l7_post_norm: tensor<64xbf16> {hymir.name = "model.layers.7.post_attention_layernorm.weight"}, %l7_router: tensor<4x64xf32> {hymir.name = "model.layers.7.mlp.gate.weight"}, %l7_gate_up: tensor<4x64x64xbf16> {hymir.name = "model.layers.7.mlp.experts.gate_up_proj"}, %l7_w2: tensor<4x64x32xbf16> {hymir.name = "model.layers.7.mlp.experts.down_proj"}, %l7_q_proj: tensor<64x64xbf16> {hymir.name = "model.layers.7.self_attn.q_proj.weight"}, %l7_k_proj: tensor<32x64xbf16> {hymir.name = "model.layers.7.self_attn.k_proj.weight"}, %l7_v_proj: tensor<32x64xbf16> {hymir.name = "model.layers.7.self_attn.v_proj.weight"}, %l7_o_proj: tensor<64x64xbf16> {hymir.name = "model.layers.7.self_attn.o_proj.weight"}, %final_norm: tensor<64xbf16> {hymir.name = "model.norm.weight"}, %lm_head: tensor<128x64xbf16> {hymir.name = "lm_head.weight"}) -> (tensor<?x128xf32> {hymir.name = "logits"}) {
    %x0 = hymir.embedding %embed, %ids : (tensor<128x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
    %slopes0 = arith.constant dense<[2.500025000e-01, 6.250062500e-02, 1.562515625e-02, 3.906289063e-03]> : tensor<4xf32>
    %x1 = func.call @lightning_layer(%x0, %l0_input_norm, %l0_post_norm, %l0_router, %l0_gate_up, %l0_w2, %l0_qkv_proj, %l0_output_gate, %l0_out_proj, %l0_attn_norm, %slopes0) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes1 = arith.constant dense<[2.142882143e-01, 5.357205357e-02, 1.339301339e-02, 3.348253348e-03]> : tensor<4xf32>
    %x2 = func.call @lightning_layer(%x1, %l1_input_norm, %l1_post_norm, %l1_router, %l1_gate_up, %l1_w2, %l1_qkv_proj, %l1_output_gate, %l1_out_proj, %l1_attn_norm, %slopes1) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes2 = arith.constant dense<[1.785739286e-01, 4.464348214e-02, 1.116087054e-02, 2.790217634e-03]> : tensor<4xf32>
    %x3 = func.call @lightning_layer(%x2, %l2_input_norm, %l2_post_norm, %l2_router, %l2_gate_up, %l2_w2, %l2_qkv_proj, %l2_output_gate, %l2_out_proj, %l2_attn_norm, %slopes2) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes3 = arith.constant dense<[1.428596429e-01, 3.571491071e-02, 8.928727679e-03, 2.232181920e-03]> : tensor<4xf32>
    %x4 = func.call @lightning_layer(%x3, %l3_input_norm, %l3_post_norm, %l3_router, %l3_gate_up, %l3_w2, %l3_qkv_proj, %l3_output_gate, %l3_out_proj, %l3_attn_norm, %slopes3) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes4 = arith.constant dense<[1.071453571e-01, 2.678633929e-02, 6.696584821e-03, 1.674146205e-03]> : tensor<4xf32>
    %x5 = func.call @lightning_layer(%x4, %l4_input_norm, %l4_post_norm, %l4_router, %l4_gate_up, %l4_w2, %l4_qkv_proj, %l4_output_gate, %l4_out_proj, %l4_attn_norm, %slopes4) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes5 = arith.constant dense<[7.143107143e-02, 1.785776786e-02, 4.464441964e-03, 1.116110491e-03]> : tensor<4xf32>
    %x6 = func.call @lightning_layer(%x5, %l5_input_norm, %l5_post_norm, %l5_router, %l5_gate_up, %l5_w2, %l5_qkv_proj, %l5_output_gate, %l5_out_proj, %l5_attn_norm, %slopes5) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %slopes6 = arith.constant dense<[3.571678571e-02, 8.929196429e-03, 2.232299107e-03, 5.580747768e-04]> : tensor<4xf32>
    %x7 = func.call @lightning_layer(%x6, %l6_input_norm, %l6_post_norm, %l6_router, %l6_gate_up, %l6_w2, %l6_qkv_proj, %l6_output_gate, %l6_out_proj, %l6_attn_norm, %slopes6) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<192x64xbf16>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>, tensor<4xf32>) -> tensor<?x64xbf16>
    %x8 = func.call @softmax_layer(%x7, %l7_input_norm, %l7_post_norm, %l7_router, %l7_gate_up, %l7_w2, %l7_q_proj, %l7_k_proj, %l7_v_proj, %l7_o_proj, %positions) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64xbf16>, tensor<4x64xf32>, tensor<4x64x64xbf16>, tensor<4x64x32xbf16>, tensor<64x64xbf16>, tensor<32x64xbf16>, tensor<32x64xbf16>, tensor<64x64xbf16>, tensor<1x?xi32>) -> tensor<?x64xbf16>
    %xf = hymir.rms_norm %x8, %final_norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %logits = hymir.linear %xf, %lm_head {precision = "f32"} : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xf32>
    return %logits : tensor<?x128xf32>
  }
}
