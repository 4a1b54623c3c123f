// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-multicast=true" | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-multicast=true wgmma-persistent=132" | FileCheck %s --check-prefix=IGNORED
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-multicast=true wgmma-group=8" | FileCheck %s --check-prefix=IGNORED
// RUN: hymir-compile %s -o %t.hymir --target=cuda --chip=sm_90a --ptxas=none --moe-wgmma-multicast --print-plan --dump-stages=%t.stages | FileCheck %s --check-prefix=PLAN
// RUN: hymir-compile %s -o %t.min.hymir --target=cuda --chip=sm_90a --ptxas=none --moe-wgmma-multicast --moe-wgmma-multicast-min-tokens=2048 --print-plan | FileCheck %s --check-prefix=MIN
// RUN: cat %t.stages/3-cuda-kernels.*.ptx | FileCheck %s --check-prefix=PTX
// RUN: cat %t.stages/3-cuda-kernels.*.ptx | grep -c "reqnctapercluster 2, 1, 1" | FileCheck %s --check-prefix=COUNT
// The cpu target has no such kernels: the option changes nothing there.
// RUN: hymir-compile %s -o %t.cpu.hymir --target=cpu --moe-wgmma-multicast --print-plan 2>&1 | FileCheck %s --check-prefix=CPU

// wgmma-multicast: the experts' order grid form in clusters of two CTAs.
// Tensor maps of w1, w3 and w2 (boxes of 64 rows x 64 K, 128-byte swizzle)
// outside the token guards; the gate/up launch runs clusters of 2 x 1 x 1
// over (2 x column blocks, ceil((rows + 128 E) / 256)) with the stages and
// 8 mbarriers of shared memory. A block's rank is x % 2 and its unit y 2 +
// x / 2 (2 column blocks); the walk counts ceil(tiles / 2) pairs of each
// expert's row tiles; the block takes pair p = l % pairs, column block l /
// pairs and row tile 2 p + rank, and runs alone where 2 p + 1 is past the
// expert's tiles (a rank 1 block there has no rows: nothing runs).
// CHECK-LABEL: func.func @multicast
// CHECK: %[[M1:.*]] = hymir.tensor_map %{{.*}} box [1, 64, 64] swizzle 128 : memref<4x256x512xbf16> -> memref<16xi64>
// CHECK: %[[M3:.*]] = hymir.tensor_map %{{.*}} box [1, 64, 64] swizzle 128 : memref<4x256x512xbf16> -> memref<16xi64>
// CHECK: %[[M2:.*]] = hymir.tensor_map %{{.*}} box [1, 64, 64] swizzle 128 : memref<4x512x256xbf16> -> memref<16xi64>
// CHECK: hymir.token_guard tokens in [17, -1] {
// CHECK: %[[ROWS:.*]] = arith.addi %{{.*}}, %c512
// CHECK: %[[PAIRS:.*]] = arith.ceildivui %[[ROWS]], %c256
// CHECK: gpu.launch clusters({{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c1{{(_[0-9]+)?}}, %{{.*}} = %c1{{(_[0-9]+)?}}) blocks(%[[BX:.*]], %[[BY:.*]], %{{.*}}) in (%{{.*}} = %c4, %{{.*}} = %[[PAIRS]], %{{.*}}) threads({{.*}}) in (%{{.*}} = %c384, {{.*}} dynamic_shared_memory_size %c196672_i32
// CHECK: %[[RANK:.*]] = arith.remui %[[BX]], %c2
// CHECK: %[[Y2:.*]] = arith.muli %[[BY]], %c2
// CHECK: %[[X2:.*]] = arith.divui %[[BX]], %c2
// CHECK: %[[UNIT:.*]] = arith.addi %[[Y2]], %[[X2]]
// CHECK: %[[WALK:.*]]:6 = scf.for
// CHECK: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c128
// CHECK: arith.ceildivui %[[TILES]], %c2
// CHECK: scf.if
// CHECK: %[[L:.*]] = arith.subi %[[UNIT]], %[[WALK]]#2
// CHECK: %[[P:.*]] = arith.remui %[[L]], %[[WALK]]#5
// CHECK: arith.divui %[[L]], %[[WALK]]#5
// CHECK: %[[P2:.*]] = arith.muli %[[P]], %c2
// CHECK: %[[TILE:.*]] = arith.addi %[[P2]], %[[RANK]]
// CHECK: %[[SOLO:.*]] = arith.cmpi uge
// CHECK: %[[HAS:.*]] = arith.cmpi ult, %[[TILE]],
// CHECK: scf.if %[[HAS]] {
// Thread 0 initialises 4 full barriers (one arrival) and 4 empty ones (two
// arrivals, one alone), fenced for the cluster; a block barrier; the
// cluster's barrier where paired.
// CHECK: %[[EMPTY_ARRIVALS:.*]] = arith.select %[[SOLO]], %c1_i32{{.*}}, %c2_i32
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %[[EMPTY_ARRIVALS]]
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// The roles: warpgroups 0 and 1 consume (registers raised to 232): A's
// prologue on cp.async (3 stages), then per K step A's group and B's full
// barrier, the wgmmas between two named barriers of the 256 consumer
// threads, the empty barrier of the step before here and (paired) in the
// partner through mapa, A's next copies; the epilogue in this branch.
// CHECK: scf.if %{{.*}} {
// CHECK-NEXT: nvvm.setmaxregister increase 232
// CHECK-COUNT-3: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.fence.proxy
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3> -> i64
// CHECK: %[[REMOTE:.*]] = nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK-NEXT: nvvm.mbarrier.arrive %[[REMOTE]] {scope = #nvvm.mem_scope<cluster>} : !llvm.ptr<7>
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: vector.store
// Warpgroup 2 produces (registers lowered to 40): its thread 0 walks the K
// steps; from the 5th on it waits on the slot's empty barrier, then the
// expected bytes (two chunks of 128 rows x 128 bytes), this CTA's half of
// w1 and of w3 multicast, the other halves only alone.
// CHECK: } else {
// CHECK-NEXT: nvvm.setmaxregister decrease 40
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} multicast_mask = %{{.*}} : !llvm.ptr<7>, !llvm.ptr
// CHECK: scf.if %[[SOLO]] {
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} multicast_mask
// Then every thread of a pair: the cluster's barrier before the exit.
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: gpu.launch clusters({{.*}}) in (%{{.*}} = %c2{{.*}} blocks({{.*}}) in (%{{.*}} = %c4{{.*}} threads({{.*}}) in (%{{.*}} = %c384{{.*}} dynamic_shared_memory_size %c196672_i32
// CHECK: } {hymir.moe = "down-wgmma"}

// With the persistent form or groups the option is ignored: no clusters,
// no tensor maps.
// IGNORED-LABEL: func.func @multicast
// IGNORED-NOT: hymir.tensor_map
// IGNORED-NOT: clusters
// IGNORED: } {hymir.moe = "down-wgmma"}

// The plan: the three maps encoded before the launches; the grids as
// above (rows = 2 tokens + 4 x 127: ceil((rows + 512) / 256)).
// PLAN: tensor_map BF16[4, 256, 512] strides [131072, 512, 1] box [1, 64, 64] swizzle 128 B
// PLAN: tensor_map BF16[4, 256, 512] strides [131072, 512, 1] box [1, 64, 64] swizzle 128 B
// PLAN: tensor_map BF16[4, 512, 256] strides [131072, 256, 1] box [1, 64, 64] swizzle 128 B
// PLAN: grid 4x(tokens*2+1275)/256x1 block 384 shared 196672 B when tokens >= 17
// PLAN: grid 4x(tokens*2+1275)/256x1 block 384 shared 196672 B when tokens >= 17

// With a minimum token count the one-block kernels serve the wgmma calls
// below it, the cluster kernels those from it on.
// MIN: grid 2x(tokens*2+635)/128x1 block 256 shared 196608 B when 17 <= tokens <= 2047
// MIN: grid 2x(tokens*2+635)/128x1 block 256 shared 196608 B when 17 <= tokens <= 2047
// MIN: grid 4x(tokens*2+1275)/256x1 block 384 shared 196672 B when tokens >= 2048
// MIN: grid 4x(tokens*2+1275)/256x1 block 384 shared 196672 B when tokens >= 2048

// The PTX (gate/up, then down): the kernel requires clusters of 2 (a plain
// launch runs it in clusters), the dynamic shared memory is the extern
// region, the barriers are fenced for the cluster, B comes by multicast
// TMA, the partner's empty barrier is reached through mapa.
// PTX: .explicitcluster
// PTX-NEXT: .reqnctapercluster 2, 1, 1
// PTX: .extern .shared .align 1024 .b8
// PTX: mbarrier.init.shared.b64
// PTX: fence.mbarrier_init.release.cluster;
// PTX: barrier.cluster.arrive;
// PTX: barrier.cluster.wait;
// PTX-DAG: setmaxnreg.inc.sync.aligned.u32 232;
// PTX-DAG: setmaxnreg.dec.sync.aligned.u32 40;
// PTX-DAG: bar.sync 1, 256;
// PTX-DAG: cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster
// PTX-DAG: mbarrier.try_wait.parity.shared.b64
// PTX-DAG: wgmma.mma_async
// PTX-DAG: mapa.shared::cluster.u64
// PTX-DAG: mbarrier.arrive.release.cluster.shared::cluster.b64
// Two kernels (gate/up and down) in clusters.
// COUNT: 2

// CPU-NOT: tensor_map
// CPU: hymir-compile: wrote {{.*}} (cpu,
// CPU-NOT: tensor_map
func.func @multicast(%x: tensor<?x512xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x256x512xbf16>,
                     %w3: tensor<4x256x512xbf16>, %w2: tensor<4x512x256xbf16>) -> tensor<?x512xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x512xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x256x512xbf16>, tensor<4x256x512xbf16>, tensor<4x512x256xbf16>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
