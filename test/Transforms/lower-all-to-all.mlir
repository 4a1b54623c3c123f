// RUN: hymir-opt %s --hymir-lower-to-linalg=collectives=true | FileCheck %s
// RUN: hymir-opt %s --hymir-lower-to-linalg | FileCheck %s --check-prefix=KEEP

// hymir.all_to_all becomes one generic marked for the plan whose two outputs
// copy its two inputs (one device's meaning), over [rows, cols, peers + 1].

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[PEER:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @exchange
// CHECK: %[[G:.*]]:2 = linalg.generic {indexing_maps = [#[[ROW]], #[[PEER]], #[[ROW]], #[[PEER]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %arg1 : tensor<?x16xbf16>, tensor<5xi32>) outs(%{{.*}}, %{{.*}} : tensor<?x16xbf16>, tensor<5xi32>) attrs = {hymir.library_call = "all_to_all"}
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[OFF:.*]]: i32, %{{.*}}: bf16, %{{.*}}: i32):
// CHECK-NEXT: linalg.yield %[[IN]], %[[OFF]] : bf16, i32
// CHECK: return %[[G]]#0, %[[G]]#1
// KEEP: hymir.all_to_all
func.func @exchange(%x: tensor<?x16xbf16>, %o: tensor<5xi32>) -> (tensor<?x16xbf16>, tensor<5xi32>) {
  %y, %r = hymir.all_to_all %x, %o : (tensor<?x16xbf16>, tensor<5xi32>) -> (tensor<?x16xbf16>, tensor<5xi32>)
  return %y, %r : tensor<?x16xbf16>, tensor<5xi32>
}

// hymir.device_index: a generic writing 0 (one device's meaning), marked
// for the plan, which writes each device's index.
// CHECK-LABEL: func.func @index
// CHECK: %[[I:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1xi32>) attrs = {hymir.library_call = "device_index"}
// CHECK: return %[[I]]
// KEEP: hymir.device_index
func.func @index() -> tensor<1xi32> {
  %r = hymir.device_index : tensor<1xi32>
  return %r : tensor<1xi32>
}
