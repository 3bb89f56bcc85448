// RUN: irforge-opt %s --split-input-file -p graph-fuse-attention | filecheck %s

// BERT (TorchScript): K^T by a transpose of the head split [1, S, h, d] with perm
// (0, 2, 3, 1), scores * 1/sqrt(d), an additive mask, softmax on axis 3. K becomes the
// composed transpose (0, 2, 1, 3); the scale goes into the op.
"func.func"() <{sym_name = "bert", function_type = (tensor<1x2x4x8xf32>, tensor<1x4x2x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32>}> ({
^bb0(%q: tensor<1x2x4x8xf32>, %k0: tensor<1x4x2x8xf32>, %v: tensor<1x2x4x8xf32>, %mask: tensor<1x1x1x4xf32>):
  %kt = "graph.transpose"(%k0) <{perm = array<i64: 0, 2, 3, 1>}> : (tensor<1x4x2x8xf32>) -> tensor<1x2x8x4xf32>
  %s = "graph.matmul"(%q, %kt) : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %c = "graph.constant"() <{value = dense<0.353553385> : tensor<f32>}> : () -> tensor<f32>
  %t = "graph.mul"(%s, %c) : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %u = "graph.add"(%t, %mask) : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  %p = "graph.softmax"(%u) <{axis = 3 : i64}> : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  "func.return"(%o) : (tensor<1x2x4x8xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "bert"
// CHECK-NEXT:  ^bb0(%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K0:.*]]: tensor<1x4x2x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[M:.*]]: tensor<1x1x1x4xf32>):
// CHECK-NEXT:    %[[K:.*]] = "graph.transpose"(%[[K0]]) <{perm = array<i64: 0, 2, 1, 3>}>
// CHECK-NEXT:    %[[O:.*]] = "graph.attention"(%[[Q]], %[[K]], %[[V]], %[[M]]) <{scale = 0.353553385 : f32}>
// CHECK-NEXT:    "func.return"(%[[O]])

// -----

// GPT-2 style: K^T = transpose(K, (0, 1, 3, 2)), which cancels (K itself is the operand);
// Div by sqrt(d) = 2 (scale 0.5), the mask on the left of the add.
"func.func"() <{sym_name = "div_scale", function_type = (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x5xf32>, tensor<3x3xf32>) -> tensor<2x3x5xf32>}> ({
^bb0(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x5xf32>, %mask: tensor<3x3xf32>):
  %kt = "graph.transpose"(%k) <{perm = array<i64: 0, 2, 1>}> : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %s = "graph.matmul"(%q, %kt) : (tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<2x3x3xf32>
  %c = "graph.constant"() <{value = dense<2.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %t = "graph.div"(%s, %c) : (tensor<2x3x3xf32>, tensor<1xf32>) -> tensor<2x3x3xf32>
  %u = "graph.add"(%mask, %t) : (tensor<3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %p = "graph.softmax"(%u) <{axis = -1 : i64}> : (tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<2x3x3xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  "func.return"(%o) : (tensor<2x3x5xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "div_scale"
// CHECK-NEXT:  ^bb0(%[[Q:.*]]: tensor<2x3x4xf32>, %[[K:.*]]: tensor<2x3x4xf32>, %[[V:.*]]: tensor<2x3x5xf32>, %[[M:.*]]: tensor<3x3xf32>):
// CHECK-NEXT:    %[[O:.*]] = "graph.attention"(%[[Q]], %[[K]], %[[V]], %[[M]]) <{scale = 5.000000e-01 : f32}>
// CHECK-NEXT:    "func.return"(%[[O]])

// -----

// The scale on Q and on K^T (0.5 * 0.25), no mask; K^T is not a
// transpose's result: a transpose of its last two dims is added.
"func.func"() <{sym_name = "split_scale", function_type = (tensor<3x4xf32>, tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>}> ({
^bb0(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x2xf32>):
  %a = "graph.constant"() <{value = dense<0.5> : tensor<f32>}> : () -> tensor<f32>
  %b = "graph.constant"() <{value = dense<0.25> : tensor<f32>}> : () -> tensor<f32>
  %qs = "graph.mul"(%a, %q) : (tensor<f32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %ks = "graph.mul"(%kt, %b) : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  %s = "graph.matmul"(%qs, %ks) : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = "graph.softmax"(%s) <{axis = 1 : i64}> : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  "func.return"(%o) : (tensor<3x2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "split_scale"
// CHECK-NEXT:  ^bb0(%[[Q:.*]]: tensor<3x4xf32>, %[[KT:.*]]: tensor<4x3xf32>, %[[V:.*]]: tensor<3x2xf32>):
// CHECK-NEXT:    %[[K:.*]] = "graph.transpose"(%[[KT]]) <{perm = array<i64: 1, 0>}>
// CHECK-NEXT:    %[[O:.*]] = "graph.attention"(%[[Q]], %[[K]], %[[V]]) <{scale = 1.250000e-01 : f32}>
// CHECK-NEXT:    "func.return"(%[[O]])

// -----

// The scores are used twice (also returned): nothing is fused.
"func.func"() <{sym_name = "scores_twice", function_type = (tensor<3x4xf32>, tensor<4x3xf32>, tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x3xf32>)}> ({
^bb0(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x2xf32>):
  %s = "graph.matmul"(%q, %kt) : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = "graph.softmax"(%s) <{axis = 1 : i64}> : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  "func.return"(%o, %s) : (tensor<3x2xf32>, tensor<3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "scores_twice"
// CHECK-NOT:     graph.attention
// CHECK:         "graph.softmax"
// CHECK:         "func.return"

// -----

// Softmax over the rows (axis 0), not the keys: nothing is fused.
"func.func"() <{sym_name = "other_axis", function_type = (tensor<3x4xf32>, tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>}> ({
^bb0(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x2xf32>):
  %s = "graph.matmul"(%q, %kt) : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = "graph.softmax"(%s) <{axis = 0 : i64}> : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  "func.return"(%o) : (tensor<3x2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "other_axis"
// CHECK-NOT:     graph.attention
// CHECK:         "graph.softmax"
// CHECK:         "func.return"

// -----

// The scale is a runtime value, not a constant: the mul stays, so nothing is fused
// (the scores matmul has no single-use path to the softmax through a known scale).
"func.func"() <{sym_name = "runtime_scale", function_type = (tensor<3x4xf32>, tensor<4x3xf32>, tensor<3x2xf32>, tensor<f32>) -> tensor<3x2xf32>}> ({
^bb0(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x2xf32>, %c: tensor<f32>):
  %s = "graph.matmul"(%q, %kt) : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %t = "graph.mul"(%s, %c) : (tensor<3x3xf32>, tensor<f32>) -> tensor<3x3xf32>
  %p = "graph.softmax"(%t) <{axis = 1 : i64}> : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<3x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  "func.return"(%o) : (tensor<3x2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "runtime_scale"
// CHECK-NOT:     graph.attention
// CHECK:         "graph.mul"
// CHECK:         "graph.softmax"
// CHECK:         "func.return"

// -----

// A mask that would enlarge the scores ([2, 3, 3] against scores [3, 3]): nothing is fused.
"func.func"() <{sym_name = "mask_grows", function_type = (tensor<3x4xf32>, tensor<4x3xf32>, tensor<3x2xf32>, tensor<2x3x3xf32>) -> tensor<2x3x2xf32>}> ({
^bb0(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x2xf32>, %mask: tensor<2x3x3xf32>):
  %s = "graph.matmul"(%q, %kt) : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %u = "graph.add"(%s, %mask) : (tensor<3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %p = "graph.softmax"(%u) <{axis = 2 : i64}> : (tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %o = "graph.matmul"(%p, %v) : (tensor<2x3x3xf32>, tensor<3x2xf32>) -> tensor<2x3x2xf32>
  "func.return"(%o) : (tensor<2x3x2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "mask_grows"
// CHECK-NOT:     graph.attention
// CHECK:         "graph.softmax"
// CHECK:         "func.return"
