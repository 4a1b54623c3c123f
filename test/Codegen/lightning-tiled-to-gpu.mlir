// The tiled form of lightning attention, as hymir-tile-lightning-attention
// writes it (here after canonicalization: one batch row folds to offset 0),
// is the input of the cuda lowering: hymir-lightning-to-gpu recovers q, k, v,
// the slopes, the zero initial state, 16-token blocks (the loop's step) and
// one value chunk (the forall's last bound) from it and emits the kernels:
// the decode kernel for calls of up to 16 tokens and the blocked SIMT kernel
// (f32) above, each over (value chunk, head, batch) = (1, 2, 1).
// RUN: hymir-opt %s -hymir-lightning-to-gpu | FileCheck %s

// CHECK-LABEL: func.func @tiled
// CHECK-DAG:     %[[Q:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK-DAG:     %[[SLOPES:.*]] = bufferization.to_buffer %arg3 read_only
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<1x?x2x16xf32>
// CHECK-DAG:     %[[STATE:.*]] = memref.alloc() : memref<1x2x16x16xf32>
// CHECK:         hymir.token_guard tokens in [0, 16] {
// CHECK:           gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}})
// CHECK:           } {hymir.lightning = "decode"}
// CHECK:         hymir.token_guard tokens in [17, -1] {
// 16-token f32 tiles: QdT, KdT, Kd [16 x 16], Vs, S, AT [16 x 16], 17 powers.
// CHECK:           %[[SMEM:.*]] = arith.constant 6224 : i32
// CHECK:           gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}}) dynamic_shared_memory_size %[[SMEM]]
// CHECK:             memref.load %[[SLOPES]]
// CHECK:             scf.for
// CHECK:               vector.load %[[Q]]
// CHECK:               vector.store {{.*}}, %[[OUT]]
// CHECK:             } {hymir.lightning = "blocks"}
// CHECK:             vector.store {{.*}}, %[[STATE]]
// CHECK:           } {hymir.lightning = "blocks"}
// CHECK-NOT:     scf.forall
// CHECK-NOT:     linalg.generic
// CHECK:         bufferization.to_tensor %[[OUT]]
// CHECK:         bufferization.to_tensor %[[STATE]]
func.func @tiled(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x16xf32>, %slopes: tensor<2xf32>)
    -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.000000e+00 : f32
  %tokens = tensor.dim %q, %c1 : tensor<1x?x2x16xf32>
  %out0 = tensor.empty(%tokens) : tensor<1x?x2x16xf32>
  %empty = tensor.empty() : tensor<1x2x16x16xf32>
  %state0 = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %r:2 = scf.forall (%b, %h, %vc) in (1, 2, 1) shared_outs(%out = %out0, %state = %state0) -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>) {
    %slope = tensor.extract %slopes[%h] : tensor<2xf32>
    %s_tile = tensor.extract_slice %state[0, %h, 0, 0] [1, 1, 16, 16] [1, 1, 1, 1] : tensor<1x2x16x16xf32> to tensor<16x16xf32>
    %o_tile = tensor.extract_slice %out[0, 0, %h, 0] [1, %tokens, 1, 16] [1, 1, 1, 1] : tensor<1x?x2x16xf32> to tensor<?x16xf32>
    %blocks:2 = scf.for %t0 = %c0 to %tokens step %c16 iter_args(%s = %s_tile, %o = %o_tile) -> (tensor<16x16xf32>, tensor<?x16xf32>) {
      %left = arith.subi %tokens, %t0 : index
      %m = arith.minui %left, %c16 : index
      %qb = tensor.extract_slice %q[0, %t0, %h, 0] [1, %m, 1, 16] [1, 1, 1, 1] : tensor<1x?x2x16xf32> to tensor<?x16xf32>
      %kb = tensor.extract_slice %k[0, %t0, %h, 0] [1, %m, 1, 16] [1, 1, 1, 1] : tensor<1x?x2x16xf32> to tensor<?x16xf32>
      %vb = tensor.extract_slice %v[0, %t0, %h, 0] [1, %m, 1, 16] [1, 1, 1, 1] : tensor<1x?x2x16xf32> to tensor<?x16xf32>
      %se = tensor.empty(%m, %m) : tensor<?x?xf32>
      %s0 = linalg.fill ins(%zero : f32) outs(%se : tensor<?x?xf32>) -> tensor<?x?xf32>
      %scores = linalg.generic {indexing_maps = [affine_map<(i, j, c) -> (i, c)>, affine_map<(i, j, c) -> (j, c)>, affine_map<(i, j, c) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%qb, %kb : tensor<?x16xf32>, tensor<?x16xf32>) outs(%s0 : tensor<?x?xf32>) {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %p = arith.mulf %x, %y : f32
        %a = arith.addf %acc, %p : f32
        linalg.yield %a : f32
      } -> tensor<?x?xf32>
      %ae = tensor.empty(%m) : tensor<?x16xf32>
      %a0 = linalg.fill ins(%zero : f32) outs(%ae : tensor<?x16xf32>) -> tensor<?x16xf32>
      %intra = linalg.generic {indexing_maps = [affine_map<(i, e, j) -> (i, j)>, affine_map<(i, e, j) -> (j, e)>, affine_map<(i, e, j) -> (i, e)>], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%scores, %vb : tensor<?x?xf32>, tensor<?x16xf32>) outs(%a0 : tensor<?x16xf32>) attrs = {hymir.lightning = "intra"} {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %i = linalg.index 0 : index
        %j = linalg.index 2 : index
        %causal = arith.cmpi uge, %i, %j : index
        %d = arith.subi %i, %j : index
        %gap = arith.select %causal, %d, %c0 : index
        %gi = arith.index_castui %gap : index to i64
        %gf = arith.uitofp %gi : i64 to f32
        %ns = arith.negf %slope : f32
        %e = arith.mulf %ns, %gf : f32
        %pow = math.exp %e : f32
        %w = arith.mulf %x, %pow : f32
        %wm = arith.select %causal, %w, %zero : f32
        %p = arith.mulf %wm, %y : f32
        %a = arith.addf %acc, %p : f32
        linalg.yield %a : f32
      } -> tensor<?x16xf32>
      %inter = linalg.generic {indexing_maps = [affine_map<(i, e, j) -> (i, j)>, affine_map<(i, e, j) -> (j, e)>, affine_map<(i, e, j) -> (i, e)>], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%qb, %s : tensor<?x16xf32>, tensor<16x16xf32>) outs(%intra : tensor<?x16xf32>) attrs = {hymir.lightning = "inter"} {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %i = linalg.index 0 : index
        %n = arith.addi %i, %c1 : index
        %ni = arith.index_castui %n : index to i64
        %nf = arith.uitofp %ni : i64 to f32
        %ns = arith.negf %slope : f32
        %e = arith.mulf %ns, %nf : f32
        %pow = math.exp %e : f32
        %qd = arith.mulf %x, %pow : f32
        %p = arith.mulf %qd, %y : f32
        %a = arith.addf %acc, %p : f32
        linalg.yield %a : f32
      } -> tensor<?x16xf32>
      %o_next = tensor.insert_slice %inter into %o[%t0, 0] [%m, 16] [1, 1] : tensor<?x16xf32> into tensor<?x16xf32>
      %decayed = linalg.generic {indexing_maps = [affine_map<(c, e) -> (c, e)>], iterator_types = ["parallel", "parallel"]} outs(%s : tensor<16x16xf32>) {
      ^bb0(%acc: f32):
        %mi = arith.index_castui %m : index to i64
        %mf = arith.uitofp %mi : i64 to f32
        %ns = arith.negf %slope : f32
        %e = arith.mulf %ns, %mf : f32
        %pow = math.exp %e : f32
        %a = arith.mulf %acc, %pow : f32
        linalg.yield %a : f32
      } -> tensor<16x16xf32>
      %s_next = linalg.generic {indexing_maps = [affine_map<(c, e, j) -> (j, c)>, affine_map<(c, e, j) -> (j, e)>, affine_map<(c, e, j) -> (c, e)>], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%kb, %vb : tensor<?x16xf32>, tensor<?x16xf32>) outs(%decayed : tensor<16x16xf32>) attrs = {hymir.lightning = "state"} {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %j = linalg.index 2 : index
        %r0 = arith.subi %m, %j : index
        %r1 = arith.subi %r0, %c1 : index
        %ri = arith.index_castui %r1 : index to i64
        %rf = arith.uitofp %ri : i64 to f32
        %ns = arith.negf %slope : f32
        %e = arith.mulf %ns, %rf : f32
        %pow = math.exp %e : f32
        %kd = arith.mulf %x, %pow : f32
        %p = arith.mulf %kd, %y : f32
        %a = arith.addf %acc, %p : f32
        linalg.yield %a : f32
      } -> tensor<16x16xf32>
      scf.yield %s_next, %o_next : tensor<16x16xf32>, tensor<?x16xf32>
    } {hymir.lightning = "blocks"}
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %blocks#1 into %out[0, 0, %h, 0] [1, %tokens, 1, 16] [1, 1, 1, 1] : tensor<?x16xf32> into tensor<1x?x2x16xf32>
      tensor.parallel_insert_slice %blocks#0 into %state[0, %h, 0, 0] [1, 1, 16, 16] [1, 1, 1, 1] : tensor<16x16xf32> into tensor<1x2x16x16xf32>
    }
  } {hymir.lightning = "heads", mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>]}
  return %r#0, %r#1 : tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>
}
