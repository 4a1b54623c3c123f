// A launch in clusters gives its kernel nvvm.cluster_dim (which the NVPTX
// backend emits as .explicitcluster / .reqnctapercluster); other kernels
// are left alone; sizes that are not constants and two launches of one
// kernel in different clusters are errors.
// RUN: hymir-opt %s -split-input-file -hymir-gpu-cluster-dims -verify-diagnostics | FileCheck %s

// CHECK-LABEL: gpu.module @kernels
// CHECK: gpu.func @paired(%{{.*}}: memref<?xf32>) kernel attributes {{{.*}}nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: gpu.func @plain(%{{.*}}: memref<?xf32>) kernel {
module attributes {gpu.container_module} {
  func.func @f(%m: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    gpu.launch_func @kernels::@paired clusters in (%c2, %c1, %c1) blocks in (%c8, %c1, %c1) threads in (%c8, %c1, %c1) args(%m : memref<?xf32>)
    gpu.launch_func @kernels::@paired clusters in (%c2, %c1, %c1) blocks in (%c2, %c1, %c1) threads in (%c8, %c1, %c1) args(%m : memref<?xf32>)
    gpu.launch_func @kernels::@plain blocks in (%c8, %c1, %c1) threads in (%c8, %c1, %c1) args(%m : memref<?xf32>)
    return
  }
  gpu.module @kernels {
    gpu.func @paired(%m: memref<?xf32>) kernel {
      gpu.return
    }
    gpu.func @plain(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  func.func @f(%m: memref<?xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    // expected-error @below {{hymir-gpu-cluster-dims: a cluster size is not a positive constant}}
    gpu.launch_func @kernels::@k clusters in (%n, %c1, %c1) blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    return
  }
  gpu.module @kernels {
    gpu.func @k(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  func.func @f(%m: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @kernels::@k clusters in (%c2, %c1, %c1) blocks in (%c4, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    // expected-error @below {{is launched with clusters array<i32: 4, 1, 1> here and array<i32: 2, 1, 1> elsewhere}}
    gpu.launch_func @kernels::@k clusters in (%c4, %c1, %c1) blocks in (%c4, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<?xf32>)
    return
  }
  gpu.module @kernels {
    gpu.func @k(%m: memref<?xf32>) kernel {
      gpu.return
    }
  }
}
