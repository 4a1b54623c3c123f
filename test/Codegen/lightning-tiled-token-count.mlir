// The token loop of the tiled form may be bounded by the size a view of q
// names rather than by tensor.dim of q: canonicalization folds tensor.dim
// of an extract_slice (or expand_shape) into that size, as in the imported
// model, whose q, k and v are slices of an expand_shape over the layer's
// token-count argument. hymir-lightning-to-gpu maps that form too.
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=32 value-split=0" -canonicalize -hymir-lightning-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @importer_views
// CHECK-NOT: scf.forall
// CHECK: gpu.launch
func.func @importer_views(%qkv: tensor<?x192xbf16>, %slopes: tensor<4xf32>, %t: index)
    -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>) {
  %e = tensor.expand_shape %qkv [[0, 1], [2, 3]] output_shape [2, %t, 4, 48]
      : tensor<?x192xbf16> into tensor<2x?x4x48xbf16>
  %q = tensor.extract_slice %e[0, 0, 0, 0] [2, %t, 4, 16] [1, 1, 1, 1]
      : tensor<2x?x4x48xbf16> to tensor<2x?x4x16xbf16>
  %k = tensor.extract_slice %e[0, 0, 0, 16] [2, %t, 4, 16] [1, 1, 1, 1]
      : tensor<2x?x4x48xbf16> to tensor<2x?x4x16xbf16>
  %v = tensor.extract_slice %e[0, 0, 0, 32] [2, %t, 4, 16] [1, 1, 1, 1]
      : tensor<2x?x4x48xbf16> to tensor<2x?x4x16xbf16>
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<4xf32>)
      -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>
}
