// RUN: hymir-opt %s -split-input-file -hymir-fuse-kv-cache-rope | FileCheck %s

// The keys' RoPE goes into the cache write (its only use); the values' write
// and the queries' RoPE stay as they are.
// CHECK-LABEL: func.func @decode_keys
// CHECK-SAME: (%[[Q:.*]]: tensor<2x1x4x16xbf16>, %[[KC:.*]]: tensor<2x64x2x16xbf16>, %[[VC:.*]]: tensor<2x64x2x16xbf16>, %[[K:.*]]: tensor<2x1x2x16xbf16>, %[[V:.*]]: tensor<2x1x2x16xbf16>, %[[POS:.*]]: tensor<2x1xi32>, %[[LEN:.*]]: tensor<2xi32>)
// CHECK: %[[QR:.*]] = hymir.rope %[[Q]], %[[POS]]
// CHECK-NOT: hymir.rope
// CHECK: %[[KC1:.*]] = hymir.kv_cache_write %[[KC]], %[[K]], %[[LEN]] positions(%[[POS]]) {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64}
// CHECK: %[[VC1:.*]] = hymir.kv_cache_write %[[VC]], %[[V]], %[[LEN]] :
// CHECK: hymir.softmax_attention %[[QR]], %[[KC1]], %[[VC1]] lengths(%[[LEN]])
func.func @decode_keys(%q: tensor<2x1x4x16xbf16>, %kc: tensor<2x64x2x16xbf16>,
                       %vc: tensor<2x64x2x16xbf16>, %k: tensor<2x1x2x16xbf16>,
                       %v: tensor<2x1x2x16xbf16>, %pos: tensor<2x1xi32>,
                       %len: tensor<2xi32>) -> tensor<2x1x4x16xbf16> {
  %qr = hymir.rope %q, %pos {rotary_dim = 8 : i64, theta = 1.0e7 : f64}
      : (tensor<2x1x4x16xbf16>, tensor<2x1xi32>) -> tensor<2x1x4x16xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 8 : i64, theta = 1.0e7 : f64}
      : (tensor<2x1x2x16xbf16>, tensor<2x1xi32>) -> tensor<2x1x2x16xbf16>
  %kc1 = hymir.kv_cache_write %kc, %kr, %len
      : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>)
      -> tensor<2x64x2x16xbf16>
  %vc1 = hymir.kv_cache_write %vc, %v, %len
      : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>)
      -> tensor<2x64x2x16xbf16>
  %o = hymir.softmax_attention %qr, %kc1, %vc1 lengths(%len)
      {causal = true, scale = 0.25 : f32}
      : (tensor<2x1x4x16xbf16>, tensor<2x64x2x16xbf16>,
         tensor<2x64x2x16xbf16>, tensor<2xi32>) -> tensor<2x1x4x16xbf16>
  return %o : tensor<2x1x4x16xbf16>
}

// -----

// A rotated update that is also returned still needs the rope: unchanged.
// CHECK-LABEL: func.func @rope_used_twice
// CHECK: %[[KR:.*]] = hymir.rope
// CHECK: hymir.kv_cache_write %{{.*}}, %[[KR]], %{{.*}} :
func.func @rope_used_twice(%kc: tensor<2x64x2x16xf32>, %k: tensor<2x1x2x16xf32>,
                           %pos: tensor<2x1xi32>, %len: tensor<2xi32>)
    -> (tensor<2x64x2x16xf32>, tensor<2x1x2x16xf32>) {
  %kr = hymir.rope %k, %pos {rotary_dim = 16 : i64, theta = 1.0e4 : f64}
      : (tensor<2x1x2x16xf32>, tensor<2x1xi32>) -> tensor<2x1x2x16xf32>
  %kc1 = hymir.kv_cache_write %kc, %kr, %len
      : (tensor<2x64x2x16xf32>, tensor<2x1x2x16xf32>, tensor<2xi32>)
      -> tensor<2x64x2x16xf32>
  return %kc1, %kr : tensor<2x64x2x16xf32>, tensor<2x1x2x16xf32>
}
