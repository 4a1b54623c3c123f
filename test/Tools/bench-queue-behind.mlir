// hymir-bench --queue-behind-copy MIB queues a device copy of MIB MiB before
// each timed run (CallOptions::queueBehindBytes; on cpu the copy is done
// before the run's clock starts) and says so at the end of its bench lines;
// a negative size is a usage error.
// RUN: hymir-compile %s -o %t.hymir --target=cpu
// RUN: hymir-bench %t.hymir --entry add --random-inputs 1 --warmup 1 \
// RUN:   --iterations 3 --queue-behind-copy 1 | FileCheck %s
// RUN: hymir-bench %t.hymir --entry add --random-inputs 1 --warmup 1 \
// RUN:   --iterations 2 | FileCheck %s --check-prefix=IDLE
// RUN: not hymir-bench %t.hymir --entry add --random-inputs 1 \
// RUN:   --queue-behind-copy -1 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: bench add device=cpu median_ms={{[0-9.e+-]+}} iterations=3 {{.*}} queued_behind_mib=1{{$}}
// IDLE: bench add device=cpu median_ms=
// IDLE-NOT: queued_behind_mib
// BAD: hymir-bench: --queue-behind-copy '-1' must be an integer >= 0
func.func @add(%x: tensor<4xf32> {hymir.name = "x"}) -> (tensor<4xf32> {hymir.name = "y"}) {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
