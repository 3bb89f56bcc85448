// RUN: irforge-opt %s -p convert-graph-to-tensor,tensor-fuse-elementwise | filecheck %s

// relu(x * 2 + 1) * x: four pointwise generics become one. The producers' inputs replace
// the operand they computed (x, 2, 1; the consumer's own x, read through the same map, is
// the same operand, not a fourth); their bodies are inlined in order; their dead
// tensor.empty are erased.
"func.func"() <{sym_name = "chain", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %two = "graph.constant"() <{value = dense<2.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %one = "graph.constant"() <{value = dense<1.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %a = "graph.mul"(%x, %two) : (tensor<4x8xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  %b = "graph.add"(%a, %one) : (tensor<4x8xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  %c = "graph.relu"(%b) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = "graph.mul"(%c, %x) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-DAG:   #[[$ID2:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$ZERO:map[0-9]*]] = affine_map<(d0, d1) -> (0)>
// CHECK-DAG:   #[[$PERM:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d1, d2, d0)>
// CHECK-DAG:   #[[$ID1:map[0-9]*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$ROWS:map[0-9]*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: sym_name = "chain"
// CHECK:         %[[TWO:.*]] = "arith.constant"() <{value = dense<2.000000e+00>
// CHECK:         %[[ONE:.*]] = "arith.constant"() <{value = dense<1.000000e+00>
// CHECK-NEXT:    %[[E:.*]] = "tensor.empty"()
// CHECK-NEXT:    %[[R:.*]] = "tensor.generic"(%x, %[[TWO]], %[[ONE]], %[[E]])
// CHECK-SAME:    indexing_maps = [#[[$ID2]], #[[$ZERO]], #[[$ZERO]], #[[$ID2]]]
// CHECK-SAME:    operandSegmentSizes = array<i32: 3, 1>
// CHECK-NEXT:    ^{{.*}}(%[[X:.*]]: f32, %[[T:.*]]: f32, %[[O:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[M:.*]] = "arith.mulf"(%[[X]], %[[T]])
// CHECK-NEXT:      %[[A:.*]] = "arith.addf"(%[[M]], %[[O]])
// CHECK-NEXT:      %[[Z:.*]] = "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK-NEXT:      %[[RL:.*]] = "arith.maximumf"(%[[A]], %[[Z]])
// CHECK-NEXT:      %[[P:.*]] = "arith.mulf"(%[[RL]], %[[X]])
// CHECK-NEXT:      "tensor.yield"(%[[P]])
// CHECK:         "func.return"(%[[R]])
// CHECK-NOT:     "tensor.generic"

// A permuted producer: transpose(x) + y reads x through the composed map
// (d0, d1, d2) -> (d1, d2, d0) (the transpose's input map after the consumer's identity).
"func.func"() <{sym_name = "transposed", function_type = (tensor<2x3x4xf32>, tensor<4x2x3xf32>) -> tensor<4x2x3xf32>}> ({
^bb0(%x: tensor<2x3x4xf32>, %y: tensor<4x2x3xf32>):
  %t = "graph.transpose"(%x) <{perm = array<i64: 2, 0, 1>}> : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %r = "graph.add"(%t, %y) : (tensor<4x2x3xf32>, tensor<4x2x3xf32>) -> tensor<4x2x3xf32>
  "func.return"(%r) : (tensor<4x2x3xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "transposed"
// CHECK:         "tensor.generic"(%x, %y, %{{.*}})
// CHECK-SAME:    indexing_maps = [#[[$PERM]],
// CHECK-NOT:     "tensor.generic"
// CHECK:         "func.return"

// A reduction consumer: relu is computed inside the row sum. The zero fill is the sum's
// outs operand, not an ins one, so it stays a generic of its own.
"func.func"() <{sym_name = "reduce_relu", function_type = (tensor<4x8xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %h = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = "graph.reduce_sum"(%h) <{axes = array<i64: 1>, keepdims = 0 : i64}> : (tensor<4x8xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "reduce_relu"
// CHECK:         %[[FILL:.*]] = "tensor.generic"(%{{.*}}) <{indexing_maps = [#[[$ID1]]]
// CHECK:         "tensor.generic"(%x, %[[FILL]])
// CHECK-SAME:    indexing_maps = [#[[$ID2]], #[[$ROWS]]]
// CHECK-SAME:    iterator_types = ["parallel", "reduction"]
// CHECK:           "arith.maximumf"
// CHECK:           "arith.addf"
// CHECK-NOT:     "tensor.generic"
// CHECK:         "func.return"

// A producer with two uses is not fused (its elements would be computed twice).
"func.func"() <{sym_name = "two_uses", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %h = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = "graph.mul"(%h, %h) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "two_uses"
// CHECK:         %[[H:.*]] = "tensor.generic"(%x, %{{.*}})
// CHECK:           "arith.maximumf"
// CHECK:         "tensor.generic"(%[[H]], %[[H]], %{{.*}})
// CHECK:           "arith.mulf"

// A producer read at several points of the consumer's domain stays apart unless the fused
// generic is a contraction (whose packing computes it once): erf(a) feeding a matmul's
// loop nest (math.erf keeps it from the microkernel) would cost an erf per multiply-add.
"func.func"() <{sym_name = "reread", function_type = (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>}> ({
^bb0(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>):
  %e = "graph.erf"(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = "graph.matmul"(%e, %w) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  "func.return"(%r) : (tensor<4x16xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "reread"
// CHECK:         %[[E:.*]] = "tensor.generic"(%a, %{{.*}})
// CHECK:           "math.erf"
// CHECK:         "tensor.generic"(%[[E]], %w, %{{.*}})
// CHECK-NOT:       "math.erf"
// CHECK:         "func.return"

// tanh(x @ w1) @ w2: the tanh reads the first matmul's result and could run as that GEMM's
// epilogue (its kernel's tile, in registers): it is kept out of the second matmul's
// packing. relu(x @ w1 + rb) @ w2 with a bias along the rows (rb: [4, 1], which the
// epilogue does not read) cannot be an epilogue: it is fused into the second matmul.
"func.func"() <{sym_name = "epilogue_kept", function_type = (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %w2: tensor<16x8xf32>):
  %h = "graph.matmul"(%x, %w1) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %t = "graph.tanh"(%h) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = "graph.matmul"(%t, %w2) : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  "func.return"(%y) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "epilogue_kept"
// CHECK:         %[[H:.*]] = "tensor.generic"(%x, %w1,
// CHECK:         %[[T:.*]] = "tensor.generic"(%[[H]],
// CHECK-NEXT:    ^{{.*}}
// CHECK-NEXT:      "math.tanh"
// CHECK:         "tensor.generic"(%[[T]], %w2,
// CHECK-NOT:       "math.tanh"
// CHECK:         "func.return"

"func.func"() <{sym_name = "row_bias_fused", function_type = (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x1xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %rb: tensor<4x1xf32>, %w2: tensor<16x8xf32>):
  %h = "graph.matmul"(%x, %w1) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %a = "graph.add"(%h, %rb) : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %t = "graph.relu"(%a) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = "graph.matmul"(%t, %w2) : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  "func.return"(%y) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "row_bias_fused"
// CHECK:         %[[H:.*]] = "tensor.generic"(%x, %w1,
// CHECK:         "tensor.generic"(%[[H]], %rb, %w2,
// CHECK:           "arith.maximumf"
// CHECK:         "func.return"
