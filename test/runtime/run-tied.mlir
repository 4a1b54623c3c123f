// hymir-run on an entry with tied results: inputs from the file (the tied
// ones copied in like any other), every result written to --outputs under
// its name (the tied ones included), checked against the oracle; the tied
// inputs in the inputs file are left as they were.
// RUN: hymir-compile %s -o %t.hymir --target=cpu --max-tokens=64
// RUN: hymir-reference %s --function decode --tokens 5 --write-inputs %t.in.safetensors --outputs %t.ref.safetensors > /dev/null
// RUN: cp %t.in.safetensors %t.before.safetensors
// RUN: hymir-run %t.hymir --entry decode --inputs %t.in.safetensors --outputs %t.out.safetensors --check | FileCheck %s
// RUN: hymir-run %t.hymir --entry decode --inputs %t.in.safetensors --outputs %t.out2.safetensors --reference %t.ref.safetensors | FileCheck %s
// RUN: cmp %t.in.safetensors %t.before.safetensors
// RUN: %python -c "import json, struct, sys; d = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', d[:8])[0]; print(sorted(k for k in json.loads(d[8:8 + n]) if k != '__metadata__'))" %t.out.safetensors | FileCheck %s --check-prefix=NAMES

// CHECK-DAG: check out {{.*}} PASS
// CHECK-DAG: check state_out {{.*}} PASS
// CHECK-DAG: check y {{.*}} PASS
// CHECK: every compared output PASS

// Every result is in the outputs file under its name.
// NAMES: ['out', 'state_out', 'y']

func.func @decode(%q: tensor<1x?x2x16xf32> {hymir.name = "q"},
                  %k: tensor<1x?x2x16xf32> {hymir.name = "k"},
                  %v: tensor<1x?x2x16xf32> {hymir.name = "v"},
                  %slopes: tensor<2xf32> {hymir.name = "slopes"},
                  %state: tensor<1x2x16x16xf32> {hymir.name = "state"},
                  %acc: tensor<1x2x16x16xf32> {hymir.name = "acc"})
    -> (tensor<1x?x2x16xf32> {hymir.name = "out"},
        tensor<1x2x16x16xf32> {hymir.name = "state_out", hymir.tied = 4 : i64},
        tensor<1x2x16x16xf32> {hymir.name = "y", hymir.tied = 5 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 32 : i64}
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<2xf32>, tensor<1x2x16x16xf32>)
      -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
  %y = arith.addf %acc, %s : tensor<1x2x16x16xf32>
  return %o, %s, %y : tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>
}
