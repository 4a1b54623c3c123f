// RUN: not hymir-translate %s --hymir-plan-to-listing -split-input-file 2>&1 | FileCheck %s

// CHECK: error: hymir-plan-to-artifact: the module is not in plan form (no hymir_plan.target; run hymir-lower-to-plan first)
module {}

// -----

// CHECK: error: hymir-plan-to-artifact: the entry's buffers have no places (run hymir-plan-memory first)
module attributes {hymir_plan.target = "cpu"} {
  hymir_plan.entry @e inputs [] outputs [] symbols [] {
    %b = hymir_plan.buffer 64
  }
}

// -----

// CHECK: error: hymir-plan-to-artifact: no code object holds kernel @m::@k
module attributes {hymir_plan.target = "cpu"} {
  hymir_plan.entry @e inputs [] outputs [] symbols [] arena 0 {
    hymir_plan.launch @m::@k grid affine_map<() -> (1, 1, 1)> block [1, 1, 1] ()
  }
}
