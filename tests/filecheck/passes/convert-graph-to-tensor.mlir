// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s

// Broadcasting is an indexing map: the [8] operand reads (d1), the result (d0, d1).
"func.func"() <{sym_name = "add_broadcast", function_type = (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>, %b: tensor<8xf32>):
  %r = "graph.add"(%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "add_broadcast"
// CHECK:       "tensor.empty"() : () -> tensor<4x8xf32>
// CHECK:       "tensor.generic"
// CHECK-SAME:  affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>
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
// CHECK-SAME:  affine_map<(d0, d1) -> (d0, 0)>
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
// CHECK-SAME:  affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>
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
// CHECK-SAME:  affine_map<(d0, d1, d2) -> (d1, d2)>
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
