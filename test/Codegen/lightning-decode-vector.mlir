// The lightning decode kernel's variants at MiniMax-M1's head shape (64
// heads of 128, one token): the vector kernel (16-byte state accesses, q and
// k read as 16-byte vectors, the output summed over the 8 warps in 2 KiB of
// shared memory; --lightning-decode-vector, on by default) at 64, 32 and 128
// columns and with 4 key rows per thread (16 warps), and the scalar kernel
// (--lightning-decode-vector=false: one 4-byte state access per element) at
// 64 and 32 columns. Every variant updates the tied state in place: one
// launch, no copy.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --dump-stages=%t.scalar --lightning-decode-vector=false | FileCheck %s --check-prefix=SCALAR
// RUN: FileCheck %s --input-file=%t.scalar/3-cuda-kernels.decode_kernel.ptx --check-prefix=SCALAR-PTX
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --dump-stages=%t.vector | FileCheck %s --check-prefix=VECTOR
// RUN: FileCheck %s --input-file=%t.vector/3-cuda-kernels.decode_kernel.ptx --check-prefix=VECTOR-PTX
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-decode-vector --lightning-decode-columns=32 | FileCheck %s --check-prefix=VECTOR32
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-decode-vector --lightning-decode-columns=128 | FileCheck %s --check-prefix=VECTOR128
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-decode-vector --lightning-decode-rows=4 | FileCheck %s --check-prefix=ROWS4
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-decode-vector=false --lightning-decode-columns=32 | FileCheck %s --check-prefix=SCALAR32
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-decode-rows=3 2>&1 | FileCheck %s --check-prefix=BAD-ROWS
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-decode-columns=48 2>&1 | FileCheck %s --check-prefix=BAD

// SCALAR:      arena 0 B
// SCALAR-NEXT: step 0: launch decode_kernel::decode_kernel grid 2x64x1 block 256 (input 4, {{.*}}, output 0)
// SCALAR-NOT:  step
// SCALAR-PTX-NOT: ld.global.v4
// SCALAR-PTX:     shfl.sync.bfly.b32

// VECTOR:      arena 0 B
// VECTOR-NEXT: step 0: launch decode_kernel::decode_kernel grid 2x64x1 block 256 shared 2048 B ({{.*}}input 4, output 0)
// VECTOR-NOT:  step
// The state, q and k as 16-byte loads (q, k and v before the state); the
// state stored as 16-byte stores row by row as each row is updated (a
// row's update between two rows' stores), before the output's shuffles and
// barriers, so that the state's writes overlap its reads.
// VECTOR-PTX:          ld.global.b32
// VECTOR-PTX-COUNT-2:  ld.global.v4.b32
// VECTOR-PTX:          ld.global.v4.b16
// VECTOR-PTX-COUNT-8:  ld.global.v4.b32
// VECTOR-PTX:          st.global.v4.b32
// (An FMA: inlined where CUDA's libdevice is found, a call to it where not.)
// VECTOR-PTX:          {{fma.rn.f32|__nv_fmaf}}
// VECTOR-PTX-COUNT-7:  st.global.v4.b32
// VECTOR-PTX:          shfl.sync.bfly.b32
// VECTOR-PTX:          bar.sync
// VECTOR-PTX-NOT:      st.global.v4.b32

// VECTOR32:  step 0: launch decode_kernel::decode_kernel grid 4x64x1 block 128 shared 512 B
// VECTOR128: step 0: launch decode_kernel::decode_kernel grid 1x64x1 block 512 shared 8192 B
// ROWS4:     step 0: launch decode_kernel::decode_kernel grid 2x64x1 block 512 shared 4096 B
// SCALAR32:  step 0: launch decode_kernel::decode_kernel grid 4x64x1 block 128 (

// BAD: --lightning-decode-columns must be a power of two from 4 to 128 (0: automatic), got 48
// BAD-ROWS: --lightning-decode-rows must be 1, 2, 4 or 8 (0: automatic), got 3

func.func @decode(%q: tensor<1x1x64x128xbf16> {hymir.name = "q"}, %k: tensor<1x1x64x128xbf16> {hymir.name = "k"},
                  %v: tensor<1x1x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"},
                  %state: tensor<1x64x128x128xf32> {hymir.name = "state"})
    -> (tensor<1x1x64x128xbf16> {hymir.name = "out"}, tensor<1x64x128x128xf32> {hymir.name = "state_out", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<1x1x64x128xbf16>, tensor<1x1x64x128xbf16>, tensor<1x1x64x128xbf16>, tensor<64xf32>, tensor<1x64x128x128xf32>)
      -> (tensor<1x1x64x128xbf16>, tensor<1x64x128x128xf32>)
  return %o, %s : tensor<1x1x64x128xbf16>, tensor<1x64x128x128xf32>
}
