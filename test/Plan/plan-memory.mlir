// RUN: hymir-opt %s -split-input-file -hymir-plan-memory --mlir-print-local-scope | FileCheck %s
// RUN: hymir-opt %s -split-input-file -hymir-plan-memory=alignment=64 --mlir-print-local-scope | FileCheck %s --check-prefix=A64

// Reuse: %a dies at step 1 and %c is born after it, so %c takes %a's bytes;
// %b is live across both and must not overlap either. The largest buffer
// is placed first.

// CHECK-LABEL: hymir_plan.entry @reuse
// CHECK-SAME: arena 3072
// CHECK: hymir_plan.buffer 1024 at 2048
// CHECK: hymir_plan.buffer 2048 at 0
// CHECK: hymir_plan.buffer 1000 at 2048
// A64-LABEL: hymir_plan.entry @reuse
// A64-SAME: arena 3072
// A64: hymir_plan.buffer 1000 at 2048
hymir_plan.entry @reuse inputs [] outputs [] symbols [] {
  %a = hymir_plan.buffer 1024
  %b = hymir_plan.buffer 2048
  %av = hymir_plan.view %a offset affine_map<() -> (0)> sizes affine_map<() -> (256)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  %bv = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (512)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [32, 1, 1] (%av, %bv : !hymir_plan.view<f32, 1>, !hymir_plan.view<f32, 1>)
  hymir_plan.copy %av -> %bv bytes affine_map<() -> (1024)> : !hymir_plan.view<f32, 1> -> !hymir_plan.view<f32, 1>
  %c = hymir_plan.buffer 1000
  %cv = hymir_plan.view %c offset affine_map<() -> (0)> sizes affine_map<() -> (250)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  hymir_plan.copy %bv -> %cv bytes affine_map<() -> (1000)> : !hymir_plan.view<f32, 1> -> !hymir_plan.view<f32, 1>
  hymir_plan.return
}

// -----

// No overlap: three buffers used by one step are all live at once, so each
// gets bytes of its own (sizes rounded up to the alignment).

// CHECK-LABEL: hymir_plan.entry @disjoint
// CHECK-SAME: arena 1024
// CHECK: hymir_plan.buffer 100 at 768
// CHECK: hymir_plan.buffer 300 at 0
// CHECK: hymir_plan.buffer 200 at 512
// A64-LABEL: hymir_plan.entry @disjoint
// A64-SAME: arena 704
// A64: hymir_plan.buffer 100 at 576
// A64: hymir_plan.buffer 300 at 0
// A64: hymir_plan.buffer 200 at 320
hymir_plan.entry @disjoint inputs [] outputs [] symbols [] {
  %a = hymir_plan.buffer 100
  %b = hymir_plan.buffer 300
  %c = hymir_plan.buffer 200
  %av = hymir_plan.view %a offset affine_map<() -> (0)> sizes affine_map<() -> (25)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  %bv = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (75)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  %cv = hymir_plan.view %c offset affine_map<() -> (0)> sizes affine_map<() -> (50)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [32, 1, 1] (%av, %bv, %cv : !hymir_plan.view<f32, 1>, !hymir_plan.view<f32, 1>, !hymir_plan.view<f32, 1>)
  hymir_plan.return
}

// -----

// A buffer no step uses is still placed (live at its own position only),
// and a buffer defined after the last step overlaps nothing.

// CHECK-LABEL: hymir_plan.entry @unused
// CHECK-SAME: arena 256
// CHECK: hymir_plan.buffer 16 at 0
// CHECK: hymir_plan.buffer 16 at 0
hymir_plan.entry @unused inputs [] outputs [] symbols [] {
  %a = hymir_plan.buffer 16
  %av = hymir_plan.view %a offset affine_map<() -> (0)> sizes affine_map<() -> (4)> strides affine_map<() -> (1)> : !hymir_plan.view<f32, 1>
  hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [32, 1, 1] (%av : !hymir_plan.view<f32, 1>)
  %b = hymir_plan.buffer 16
  hymir_plan.return
}
