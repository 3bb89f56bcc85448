// RUN: irforge-opt %s | irforge-opt | filecheck %s

// The shape ops round trip: slice with negative steps, concat (variadic, negative axis),
// expand and where (an i1 condition).
"func.func"() <{sym_name = "shape_ops", function_type = (tensor<2x8xf32>, tensor<2x1xf32>, tensor<8xi1>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>, %y: tensor<2x1xf32>, %c: tensor<8xi1>):
  %s = "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}> : (tensor<2x8xf32>) -> tensor<2x4xf32>
  %cat = "graph.concat"(%x, %s, %y) <{axis = -1 : i64}> : (tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x13xf32>
  %e = "graph.expand"(%y) <{}> : (tensor<2x1xf32>) -> tensor<3x2x8xf32>
  %w = "graph.where"(%c, %x, %y) : (tensor<8xi1>, tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "shape_ops"
// CHECK:       "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}> : (tensor<2x8xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:  "graph.concat"(%x, %s, %y) <{axis = -1 : i64}> : (tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x13xf32>
// CHECK-NEXT:  "graph.expand"(%y) : (tensor<2x1xf32>) -> tensor<3x2x8xf32>
// CHECK-NEXT:  "graph.where"(%c, %x, %y) : (tensor<8xi1>, tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
