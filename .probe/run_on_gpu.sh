#!/usr/bin/env bash
# On a Hopper host (H100/H200, driver >= CUDA 13): build the CUDA probe and run it, including the
# MLIR-generated kernel (probe_kernel.ptx, prebuilt here; JIT-loaded via cudaLibraryLoadData).
set -euo pipefail
cd "$(dirname "$0")"
nvcc -arch=sm_90a -O2 probe.cu -o probe
./probe probe_kernel.ptx
