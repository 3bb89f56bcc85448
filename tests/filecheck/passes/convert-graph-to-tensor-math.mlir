// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s

// A unary op is one pointwise generic whose body is its scalar formula.
"func.func"() <{sym_name = "sigmoid", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4xf32>):
  %y = "graph.sigmoid"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%y) : (tensor<4xf32>) -> ()
}) : () -> ()

// CHECK-DAG:   #[[$ID1:map[0-9]*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$ID3:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$KEEP:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG:   #[[$DROP:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: sym_name = "sigmoid"
// CHECK:       "tensor.generic"(%x, %{{.*}}) <{indexing_maps = [#[[$ID1]], #[[$ID1]]], iterator_types = ["parallel"]
// CHECK:       %[[ONE:.*]] = "arith.constant"() <{value = 1.000000e+00 : f32}>
// CHECK-NEXT:  %[[N:.*]] = "arith.negf"
// CHECK-NEXT:  %[[E:.*]] = "math.exp"(%[[N]])
// CHECK-NEXT:  %[[D:.*]] = "arith.addf"(%[[ONE]], %[[E]])
// CHECK-NEXT:  %[[R:.*]] = "arith.divf"(%[[ONE]], %[[D]])
// CHECK-NEXT:  "tensor.yield"(%[[R]])

// ReduceMean with keepdims: a zero fill, a reduction generic whose output map reads index
// 0 along the reduced dimension, and a division by the count. The accumulating add is
// `reassoc`, so that LLVM vectorizes the reduction.
"func.func"() <{sym_name = "reduce_mean", function_type = (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>}> ({
^bb0(%x: tensor<2x3x4xf32>):
  %y = "graph.reduce_mean"(%x) <{axes = array<i64: -2>}> : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  "func.return"(%y) : (tensor<2x1x4xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "reduce_mean"
// CHECK:       %[[Z:.*]] = "tensor.generic"(%{{.*}}) <{indexing_maps = [#[[$ID3]]]
// CHECK:       "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK:       %[[S:.*]] = "tensor.generic"(%x, %[[Z]]) <{indexing_maps = [#[[$ID3]], #[[$KEEP]]], iterator_types = ["parallel", "reduction", "parallel"]
// CHECK:       "arith.addf"(%{{.*}}, %{{.*}}) <{fastmath = #arith.fastmath<reassoc>}>
// CHECK:       "tensor.generic"(%[[S]], %{{.*}})
// CHECK:       %[[C:.*]] = "arith.constant"() <{value = 3.000000e+00 : f32}>
// CHECK-NEXT:  "arith.divf"(%{{.*}}, %[[C]])

// ReduceMax without keepdims: the output map drops the reduced dimensions.
"func.func"() <{sym_name = "reduce_max", function_type = (tensor<2x3x4xf32>) -> tensor<2xf32>}> ({
^bb0(%x: tensor<2x3x4xf32>):
  %y = "graph.reduce_max"(%x) <{axes = array<i64: 1, 2>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<2xf32>
  "func.return"(%y) : (tensor<2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "reduce_max"
// CHECK:       "arith.constant"() <{value = 0xff800000 : f32}>
// CHECK:       "tensor.generic"(%x, %{{.*}}) <{indexing_maps = [#[[$ID3]], #[[$DROP]]], iterator_types = ["parallel", "reduction", "reduction"]
// CHECK:       "arith.maximumf"(%{{.*}}, %{{.*}}) <{fastmath = #arith.fastmath<reassoc>}>

// Pow by a constant 2 is a multiplication; the exponent is not read.
"func.func"() <{sym_name = "pow_square", function_type = (tensor<2x3xf32>) -> tensor<2x3xf32>}> ({
^bb0(%x: tensor<2x3xf32>):
  %two = "graph.constant"() <{value = dense<2.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = "graph.pow"(%x, %two) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  "func.return"(%y) : (tensor<2x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "pow_square"
// CHECK:       "tensor.generic"(%x, %{{.*}})
// CHECK-NEXT:  ^{{.*}}(%[[A:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:  "arith.mulf"(%[[A]], %[[A]])
// CHECK-NOT:   math.powf

// Pow by a constant 3 (the cube of GPT-2's tanh GELU) is two multiplications.
"func.func"() <{sym_name = "pow_cube", function_type = (tensor<2x3xf32>) -> tensor<2x3xf32>}> ({
^bb0(%x: tensor<2x3xf32>):
  %three = "graph.constant"() <{value = dense<3.0> : tensor<f32>}> : () -> tensor<f32>
  %y = "graph.pow"(%x, %three) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  "func.return"(%y) : (tensor<2x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "pow_cube"
// CHECK:       "tensor.generic"(%x, %{{.*}})
// CHECK-NEXT:  ^{{.*}}(%[[A:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:  %[[SQ:.*]] = "arith.mulf"(%[[A]], %[[A]])
// CHECK-NEXT:  "arith.mulf"(%[[SQ]], %[[A]])
// CHECK-NOT:   math.powf
// CHECK-NOT:   graph.
