// hymir-compile --help shows hymir's options and the MLIR debugging ones
// (not the LLVM backends' hundreds), with ranges and defaults, on two
// screens; --version names hymir's and the artifact schema's versions.
// RUN: hymir-compile --help | FileCheck %s --implicit-check-not=amdgpu --implicit-check-not=aarch64
// RUN: hymir-compile --help | %python -c "import sys; n = len(sys.stdin.readlines()); sys.exit(0 if n < 100 else 'help has %d lines' % n)"
// RUN: hymir-compile --version | FileCheck %s --check-prefix=VERSION
// RUN: hymir-reference --help | FileCheck %s --check-prefix=REF --implicit-check-not=amdgpu --implicit-check-not=mlir-print-ir
// RUN: hymir-reference --help | %python -c "import sys; n = len(sys.stdin.readlines()); sys.exit(0 if n < 100 else 'help has %d lines' % n)"
// RUN: hymir-reference --version | FileCheck %s --check-prefix=VERSION

// CHECK: MLIR debugging options
// CHECK: --mlir-pass-pipeline-crash-reproducer
// CHECK: --mlir-print-ir-after-all
// CHECK: --mlir-print-ir-after-failure
// CHECK: --mlir-timing
// CHECK: hymir-compile options:
// CHECK: --block-size=<long> {{.*}}[1, 1024], default 256
// CHECK: --chip=<string> {{.*}}supported: sm_70, sm_80, sm_86, sm_89, sm_90, sm_90a
// CHECK: --compile-to=<value>
// CHECK: --max-tokens=<long> {{.*}}[1, 2147483647], default 4096
// CHECK: --moe-tile=<long> {{.*}}[1, 1024]
// CHECK: --target=<string>

// VERSION: (hymir) {{[0-9]+\.[0-9]+\.[0-9]+}}
// VERSION-NEXT: artifact schema version {{[0-9]+}}

// REF: hymir-reference options:
// REF: --tokens=<long> {{.*}}default 8
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
