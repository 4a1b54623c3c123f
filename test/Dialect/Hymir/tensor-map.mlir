// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.tensor_map: the 128 bytes of a TMA tensor map the runtime encodes.

// CHECK-LABEL: func.func @maps
// CHECK: hymir.tensor_map %{{.*}} box [1, 16, 8, 64] swizzle 128 : memref<?x?x8x64xbf16> -> memref<16xi64>
// CHECK: hymir.tensor_map %{{.*}} box [4, 4] swizzle 0 : memref<?x64xf32, strided<[128, 1], offset: ?>> -> memref<16xi64>
func.func @maps(%q: memref<?x?x8x64xbf16>, %w: memref<?x64xf32, strided<[128, 1], offset: ?>>) {
  %a = hymir.tensor_map %q box [1, 16, 8, 64] swizzle 128 : memref<?x?x8x64xbf16> -> memref<16xi64>
  %b = hymir.tensor_map %w box [4, 4] swizzle 0 : memref<?x64xf32, strided<[128, 1], offset: ?>> -> memref<16xi64>
  return
}

// -----

func.func @map_type(%q: memref<64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects its map to be memref<16xi64> (the 128 bytes of a CUtensorMap), got 'memref<8xi64>'}}
  %a = hymir.tensor_map %q box [64] swizzle 0 : memref<64xbf16> -> memref<8xi64>
  return
}

// -----

func.func @rank(%q: memref<1x1x1x1x1x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects a source of rank 1 to 5, got rank 6}}
  %a = hymir.tensor_map %q box [1, 1, 1, 1, 1, 64] swizzle 0 : memref<1x1x1x1x1x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @element(%q: memref<64xi1>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects a source of bf16, f16, f32, f64, i8, i32 or i64 elements, got 'i1'}}
  %a = hymir.tensor_map %q box [64] swizzle 0 : memref<64xi1> -> memref<16xi64>
  return
}

// -----

func.func @inner_stride(%q: memref<8x64xbf16, strided<[1, 8]>>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects a source whose innermost stride is 1, got 'memref<8x64xbf16, strided<[1, 8]>>'}}
  %a = hymir.tensor_map %q box [8, 8] swizzle 0 : memref<8x64xbf16, strided<[1, 8]>> -> memref<16xi64>
  return
}

// -----

func.func @box_size(%q: memref<8x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects one box extent per source dim (2), got 1}}
  %a = hymir.tensor_map %q box [64] swizzle 0 : memref<8x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @box_range(%q: memref<512x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects box extents in [1, 256], got 512 in dim 0}}
  %a = hymir.tensor_map %q box [512, 64] swizzle 0 : memref<512x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @box_zero(%q: memref<8x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects box extents in [1, 256], got 0 in dim 0}}
  %a = hymir.tensor_map %q box [0, 64] swizzle 0 : memref<8x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @swizzle(%q: memref<8x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects swizzle 0, 32, 64 or 128 (bytes), got 16}}
  %a = hymir.tensor_map %q box [8, 64] swizzle 16 : memref<8x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @inner_bytes(%q: memref<8x64xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects the innermost box extent to span a multiple of 16 bytes, got 4 x 2 = 8 bytes}}
  %a = hymir.tensor_map %q box [8, 4] swizzle 0 : memref<8x64xbf16> -> memref<16xi64>
  return
}

// -----

func.func @swizzle_span(%q: memref<8x128xbf16>) {
  // expected-error @+1 {{'hymir.tensor_map' op expects the innermost box extent to span at most the swizzle span (64 bytes), got 64 x 2 = 128 bytes}}
  %a = hymir.tensor_map %q box [8, 64] swizzle 64 : memref<8x128xbf16> -> memref<16xi64>
  return
}
