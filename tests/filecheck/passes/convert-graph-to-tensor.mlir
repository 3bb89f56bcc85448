// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s

// Broadcasting is an indexing map: the [8] operand reads (d1), the result (d0, d1).
"func.func"() <{sym_name = "add_broadcast", function_type = (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>, %b: tensor<8xf32>):
  %r = "graph.add"(%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// Affine maps print once at the top as aliases (#map, #map1, ...), as mlir-opt prints them.
// CHECK-DAG:   #[[$ID2:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$ROW:map[0-9]*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG:   #[[$COL0:map[0-9]*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG:   #[[$MM_A:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[$MM_B:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[$MM_C:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG:   #[[$MM_BT:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: sym_name = "add_broadcast"
// CHECK:       "tensor.empty"() : () -> tensor<4x8xf32>
// CHECK:       "tensor.generic"
// CHECK-SAME:  indexing_maps = [#[[$ID2]], #[[$ROW]], #[[$ID2]]]
// CHECK-SAME:  iterator_types = ["parallel", "parallel"]
// CHECK:       "arith.addf"
// CHECK:       "tensor.yield"
// CHECK-NOT:   graph.

// A size-1 dimension broadcasts by reading index 0.
"func.func"() <{sym_name = "mul_size_one", function_type = (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>):
  %r = "graph.mul"(%x, %s) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_size_one"
// CHECK:       "tensor.generic"
// CHECK-SAME:  indexing_maps = [#[[$ID2]], #[[$COL0]], #[[$ID2]]]
// CHECK:       "arith.mulf"

// Matmul: a zero fill, then a reduction over (i, j, k).
"func.func"() <{sym_name = "matmul", function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>):
  %r = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul"
// CHECK:       "tensor.generic"
// CHECK:       "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK:       "tensor.generic"
// CHECK-SAME:  indexing_maps = [#[[$MM_A]], #[[$MM_B]], #[[$MM_C]]]
// CHECK-SAME:  iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:       "arith.mulf"
// CHECK:       "arith.addf"

// Gemm with transB and alpha: B' reads (j, k); an epilogue scales by alpha and adds C.
"func.func"() <{sym_name = "gemm", function_type = (tensor<2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>):
  %r = "graph.gemm"(%a, %b, %c) <{alpha = 5.000000e-01 : f32, transB = 1 : i64}> : (tensor<2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "gemm"
// CHECK:       "tensor.generic"
// CHECK:       "tensor.generic"
// CHECK-SAME:  indexing_maps = [#[[$MM_A]], #[[$MM_BT]], #[[$MM_C]]]
// CHECK:       "tensor.generic"
// CHECK:       "arith.constant"() <{value = 5.000000e-01 : f32}>
// CHECK:       "arith.mulf"
// CHECK:       "arith.addf"

// Softmax: max-reduce, exp(x - max), sum-reduce, divide.
"func.func"() <{sym_name = "softmax", function_type = (tensor<2x5xf32>) -> tensor<2x5xf32>}> ({
^bb0(%x: tensor<2x5xf32>):
  %r = "graph.softmax"(%x) <{axis = -1 : i64}> : (tensor<2x5xf32>) -> tensor<2x5xf32>
  "func.return"(%r) : (tensor<2x5xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "softmax"
// CHECK:       "arith.maximumf"
// CHECK:       "math.exp"
// CHECK:       "arith.addf"
// CHECK:       "arith.divf"
