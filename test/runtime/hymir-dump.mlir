// hymir-dump prints an artifact's target, kernels, entries and the plan
// listing of --print-plan (the same text: the listing lives in the runtime
// world); a file that is not an artifact is one line and exit 1; flags in
// both styles, an unknown flag exit 2.
// RUN: hymir-compile %s -o %t.hymir --target=cpu --max-tokens=512
// RUN: hymir-dump %t.hymir | FileCheck %s
// RUN: hymir-compile %s -o %t.2.hymir --target=cpu --max-tokens=512 --print-plan > %t.plan
// RUN: hymir-dump %t.hymir | sed -n '/^code 0/,$p' | diff - %t.plan
// RUN: printf 'HYMR not really' > %t.bad
// RUN: sh -c 'hymir-dump %t.bad 2> %t.err; test $? -eq 1'
// RUN: FileCheck %s --check-prefix=BAD < %t.err
// RUN: test $(wc -l < %t.err) -eq 1
// RUN: not hymir-dump %t.hymir --frobnicate 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: hymir-dump --version | FileCheck %s --check-prefix=VERSION
// RUN: hymir-dump --help | FileCheck %s --check-prefix=HELP

// CHECK:      target cpu
// CHECK-NEXT: device count 1
// CHECK-NEXT: producer hymir-compile
// CHECK-NEXT: schema version 3
// CHECK-NEXT: kernel 0 {{.*}}: code 0, symbol {{.+}}
// CHECK:      entry scale: 1 input(s), 1 output(s), {{[0-9]+}} step(s), reference program of {{[0-9]+}} op(s)
// CHECK:      code 0: host shared object, {{[0-9]+}} B
// CHECK-NEXT: param 0 w: F32[16, 8]
// CHECK-NEXT: entry scale
// CHECK-NEXT:   symbol tokens = input 0 dim 0, max 512
// CHECK-NEXT:   input 0 x: F32[tokens, 8]
// CHECK:        output 0 y: F32[tokens, 16]
// CHECK:        step 0: launch

// BAD: hymir-dump: {{.*}}.bad: {{.+}}
// UNKNOWN: hymir-dump: unknown option --frobnicate (see hymir-dump --help)
// VERSION: hymir-dump (hymir {{[0-9]+\.[0-9]+\.[0-9]+}}), artifact schema version 3
// HELP: usage: hymir-dump ARTIFACT

func.func @scale(%x: tensor<?x8xf32> {hymir.name = "x"},
                 %w: tensor<16x8xf32> {hymir.name = "w", hymir.param})
    -> (tensor<?x16xf32> {hymir.name = "y"}) {
  %y = hymir.linear %x, %w : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
