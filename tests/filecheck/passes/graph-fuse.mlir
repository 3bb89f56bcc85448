// RUN: irforge-opt %s --split-input-file -p graph-fuse | filecheck %s

// conv + batch_norm: W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta.
// Here g = 2, v + eps = 1 (eps = 0), m = 1, beta = 3: W' = 2 W, b' = (0.5 - 1) * 2 + 3 = 2.
"func.func"() <{sym_name = "conv_bn", function_type = (tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32>}> ({
^bb0(%x: tensor<1x1x3x3xf32>):
  %w = "graph.constant"() <{value = dense<1.5> : tensor<2x1x1x1xf32>}> : () -> tensor<2x1x1x1xf32>
  %b = "graph.constant"() <{value = dense<0.5> : tensor<2xf32>}> : () -> tensor<2xf32>
  %g = "graph.constant"() <{value = dense<2.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %beta = "graph.constant"() <{value = dense<3.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %m = "graph.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %v = "graph.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %y = "graph.conv"(%x, %w, %b) <{strides = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x1x3x3xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %z = "graph.batch_norm"(%y, %g, %beta, %m, %v) <{epsilon = 0.0 : f32}> : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  "func.return"(%z) : (tensor<1x2x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "conv_bn"
// CHECK-NEXT:  ^bb0(%[[X:.*]]: tensor<1x1x3x3xf32>):
// CHECK-NEXT:    %[[W:.*]] = "graph.constant"() <{value = dense<3.000000e+00> : tensor<2x1x1x1xf32>}>
// CHECK-NEXT:    %[[B:.*]] = "graph.constant"() <{value = dense<2.000000e+00> : tensor<2xf32>}>
// CHECK-NEXT:    %{{.*}} = "graph.conv"(%[[X]], %[[W]], %[[B]]) <{strides = array<i64: 1, 1>, group = 1 : i64}>
// CHECK-NOT:     graph.batch_norm
// CHECK:         "func.return"

// -----

// Two uses of the conv: the batch_norm stays.
"func.func"() <{sym_name = "two_uses", function_type = (tensor<1x1x3x3xf32>) -> (tensor<1x1x3x3xf32>, tensor<1x1x3x3xf32>)}> ({
^bb0(%x: tensor<1x1x3x3xf32>):
  %w = "graph.constant"() <{value = dense<1.5> : tensor<1x1x1x1xf32>}> : () -> tensor<1x1x1x1xf32>
  %p = "graph.constant"() <{value = dense<1.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y = "graph.conv"(%x, %w) : (tensor<1x1x3x3xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x3x3xf32>
  %z = "graph.batch_norm"(%y, %p, %p, %p, %p) : (tensor<1x1x3x3xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x3x3xf32>
  "func.return"(%y, %z) : (tensor<1x1x3x3xf32>, tensor<1x1x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "two_uses"
// CHECK:         "graph.conv"
// CHECK-NEXT:    "graph.batch_norm"

// -----

// Sibling 1x1 convs of one input: one conv over the concatenated weights (2 + 3 output
// channels, the absent bias filled with 0) and a channel slice per original result.
"func.func"() <{sym_name = "siblings", function_type = (tensor<1x4x5x5xf32>) -> (tensor<1x2x5x5xf32>, tensor<1x3x5x5xf32>)}> ({
^bb0(%x: tensor<1x4x5x5xf32>):
  %w0 = "graph.constant"() <{value = dense<1.0> : tensor<2x4x1x1xf32>}> : () -> tensor<2x4x1x1xf32>
  %b0 = "graph.constant"() <{value = dense<5.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %w1 = "graph.constant"() <{value = dense<1.0> : tensor<3x4x1x1xf32>}> : () -> tensor<3x4x1x1xf32>
  %a = "graph.conv"(%x, %w0, %b0) : (tensor<1x4x5x5xf32>, tensor<2x4x1x1xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  %c = "graph.conv"(%x, %w1) : (tensor<1x4x5x5xf32>, tensor<3x4x1x1xf32>) -> tensor<1x3x5x5xf32>
  "func.return"(%a, %c) : (tensor<1x2x5x5xf32>, tensor<1x3x5x5xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "siblings"
// CHECK:         %[[W:.*]] = "graph.constant"() <{value = dense<1.000000e+00> : tensor<5x4x1x1xf32>}>
// CHECK-NEXT:    %[[B:.*]] = "graph.constant"() <{value = dense<[5.000000e+00, 5.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<5xf32>}>
// CHECK-NEXT:    %[[M:.*]] = "graph.conv"(%{{.*}}, %[[W]], %[[B]]) {{.*}} -> tensor<1x5x5x5xf32>
// CHECK-NEXT:    %[[A:.*]] = "graph.slice"(%[[M]]) <{starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>}> : (tensor<1x5x5x5xf32>) -> tensor<1x2x5x5xf32>
// CHECK-NEXT:    %[[C:.*]] = "graph.slice"(%[[M]]) <{starts = array<i64: 0, 2, 0, 0>, steps = array<i64: 1, 1, 1, 1>}> : (tensor<1x5x5x5xf32>) -> tensor<1x3x5x5xf32>
// CHECK-NEXT:    "func.return"(%[[A]], %[[C]])
