// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>, tensor<3xf32>) -> ()}> ({
^bb0(%a: tensor<4x8xf32>, %b: tensor<3xf32>):
  // expected-error @+1 {{'graph.add' op operand shapes [4, 8] and [3] are not broadcast-compatible}}
  %r = "graph.add"(%a, %b) : (tensor<4x8xf32>, tensor<3xf32>) -> tensor<4x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>) -> ()}> ({
^bb0(%a: tensor<4x8xf32>):
  // expected-error @+1 {{'graph.relu' op result shape [4, 9] does not match the inferred shape [4, 8]}}
  %r = "graph.relu"(%a) : (tensor<4x8xf32>) -> tensor<4x9xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<4x5xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>):
  // expected-error @+1 {{'graph.matmul' op contraction dimensions differ: lhs [2, 3] has K=3, rhs [4, 5] has K=4}}
  %r = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<2x4xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>):
  // expected-error @+1 {{'graph.gemm' op contraction dimensions differ: A' has K=3, B' has K=2}}
  %r = "graph.gemm"(%a, %b) : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>):
  // expected-error @+1 {{'graph.gemm' op C of shape [3] does not broadcast to [2, 4]}}
  %r = "graph.gemm"(%a, %b, %c) : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>):
  // expected-error @+1 {{'graph.gemm' op transA must be 0 or 1}}
  %r = "graph.gemm"(%a, %b) <{transA = 2 : i64}> : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.softmax' op axis -3 is out of range for rank 2}}
  %r = "graph.softmax"(%a) <{axis = -3 : i64}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<?x3xf32>) -> ()}> ({
^bb0(%a: tensor<?x3xf32>):
  // expected-error @+1 {{'graph.relu' op operand #0 must have a static shape, got tensor<?x3xf32>}}
  %r = "graph.relu"(%a) : (tensor<?x3xf32>) -> tensor<?x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = () -> ()}> ({
  // expected-error @+1 {{'graph.constant' op result type tensor<3xf32> differs from the type of its value tensor<2xf32>}}
  %c = "graph.constant"() <{value = dense<[1.0, 2.0]> : tensor<2xf32>}> : () -> tensor<3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.transpose' op perm [0, 0] is not a permutation of the 2 dimensions of the input}}
  %r = "graph.transpose"(%a) <{perm = array<i64: 0, 0>}> : (tensor<2x3xf32>) -> tensor<2x2xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.reshape' op cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)}}
  %r = "graph.reshape"(%a) : (tensor<2x3xf32>) -> tensor<4x2xf32>
  "func.return"() : () -> ()
}) : () -> ()
