// RUN: irforge-opt %s | irforge-opt | filecheck %s

"func.func"() <{sym_name = "graph_ops", function_type = (tensor<2x3xf32>, tensor<3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%x: tensor<2x3xf32>, %b: tensor<3xf32>, %w: tensor<3x4xf32>):
  %c = "graph.constant"() <{value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>}> : () -> tensor<4xf32>
  %s = "graph.add"(%x, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %d = "graph.sub"(%s, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = "graph.mul"(%d, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %r = "graph.relu"(%m) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %mm = "graph.matmul"(%r, %w) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %g = "graph.gemm"(%r, %w, %c) <{alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, transA = 0 : i64, transB = 0 : i64}> : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %sm = "graph.softmax"(%g) <{axis = 1 : i64}> : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %t = "graph.transpose"(%sm) <{perm = array<i64: 1, 0>}> : (tensor<2x4xf32>) -> tensor<4x2xf32>
  %rs = "graph.reshape"(%t) : (tensor<4x2xf32>) -> tensor<2x4xf32>
  %id = "graph.identity"(%rs) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%id) : (tensor<2x4xf32>) -> ()
}) : () -> ()

// CHECK:      "graph.constant"() <{value = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>}> : () -> tensor<4xf32>
// CHECK-NEXT: "graph.add"(%x, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: "graph.sub"
// CHECK-NEXT: "graph.mul"
// CHECK-NEXT: "graph.relu"
// CHECK-NEXT: "graph.matmul"
// CHECK-NEXT: "graph.gemm"(%r, %w, %c) <{alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, transA = 0 : i64, transB = 0 : i64}>
// CHECK-NEXT: "graph.softmax"(%g) <{axis = 1 : i64}>
// CHECK-NEXT: "graph.transpose"(%sm) <{perm = array<i64: 1, 0>}> : (tensor<2x4xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: "graph.reshape"(%t) : (tensor<4x2xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: "graph.identity"(%rs)
