// RUN: hymir-opt %s -hymir-test-hopper-probes -canonicalize | FileCheck %s
// RUN: hymir-opt %s -hymir-test-hopper-probes -hymir-cuda-kernels | FileCheck %s --check-prefix=PTX

// The probe kernels of the Hopper pipeline layer (run on a GPU by
// scripts/hopper-probes-run): each piece as the layer's builders emit it.
// Every kernel has one block per SM declared (.minnctapersm 1), so that
// ptxas knows the register count at entry and honours setmaxnreg.

// (a) A TMA box load from the tensor map parameter, completing on an
// mbarrier that thread 0 initialises and arms with the box's bytes.
// CHECK-LABEL: gpu.func @hopper_probe_tma(%{{.*}}: memref<16xi64>, %{{.*}}: memref<2x2x64x64xbf16>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK:        nvvm.mbarrier.init
// CHECK:        nvvm.fence.mbarrier.init
// CHECK:      } {hymir.pipeline = "ring"}
// CHECK:        nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c8192_i32
// CHECK:        nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} box[
// CHECK:      nvvm.mbarrier.try_wait.parity %{{.*}}, %c0_i32

// (b) A ring of 3 slots (3 full barriers of 1 arrival, 3 empty barriers of
// 128) streaming 10 tiles from the producer to one consumer warpgroup.
// CHECK-LABEL: gpu.func @hopper_probe_ring(
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK-COUNT-3: nvvm.mbarrier.init %{{.*}}, %c128_i32
// CHECK:      } {hymir.pipeline = "ring"}
// CHECK:        nvvm.setmaxregister  decrease 40 {hymir.pipeline = "producer"}
// CHECK:          scf.for %{{.*}} = %c0 to %c10 step %c1
// CHECK:            nvvm.mbarrier.try_wait.parity
// CHECK:            nvvm.mbarrier.arrive.expect_tx
// CHECK:            nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK:        nvvm.setmaxregister  increase 232 {hymir.pipeline = "consumer"}
// CHECK:        scf.for %{{.*}} = %c0 to %c10 step %c1
// CHECK:          nvvm.mbarrier.try_wait.parity
// CHECK:          nvvm.mbarrier.arrive
// CHECK:      } {hymir.pipeline = "roles"}

// (c) The roles under register pressure: two consumer warpgroups (empty
// barriers of 256 arrivals) carrying 64 accumulators through the ring.
// CHECK-LABEL: gpu.func @hopper_probe_setmaxnreg(%{{.*}}: memref<16xi64>, %{{.*}}: memref<2x128x64xf32>)
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK-COUNT-2: nvvm.mbarrier.init %{{.*}}, %c256_i32
// CHECK:        nvvm.setmaxregister  decrease 40 {hymir.pipeline = "producer"}
// CHECK:        nvvm.setmaxregister  increase 232 {hymir.pipeline = "consumer"}
// CHECK:        %{{.*}}:64 = scf.for %{{.*}} = %c0 to %c5 step %c1 iter_args(
// CHECK:      } {hymir.pipeline = "roles"}

// (d) wgmma with both operands in shared memory: one m64n128k16 product and
// a chain of four, then one commit and a wait for all.
// CHECK-LABEL: gpu.func @hopper_probe_wgmma(%{{.*}}: memref<16xi64>, %{{.*}}: memref<16xi64>, %{{.*}}: memref<2x64x128xf32>)
// CHECK:        nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c24576_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK:      nvvm.wgmma.fence.aligned
// CHECK-COUNT-5: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK:      nvvm.wgmma.commit.group.sync.aligned
// CHECK:      nvvm.wgmma.wait.group.sync.aligned 0

// The PTX (escaped in the gpu.binary): the dynamic shared memory is the
// extern region, the roles' register budgets and the TMA, barrier and wgmma
// instructions are there.
// PTX: gpu.binary @hopper_probes
// PTX-SAME: .extern .shared .align 1024 .b8 __dynamic_shmem__0[];
// PTX-SAME: .entry hopper_probe_tma(
// PTX-SAME: .minnctapersm 1
// PTX-SAME: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX-SAME: .entry hopper_probe_ring(
// PTX-SAME: setmaxnreg.dec.sync.aligned.u32 \0940;
// PTX-SAME: setmaxnreg.inc.sync.aligned.u32 \09232;
// PTX-SAME: .entry hopper_probe_setmaxnreg(
// PTX-SAME: .entry hopper_probe_wgmma(
// PTX-SAME: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
module {
}
