// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>, tensor<3xf32>) -> ()}> ({
^bb0(%a: tensor<4x8xf32>, %b: tensor<3xf32>):
  // expected-error @+1 {{'graph.div' op operand shapes [4, 8] and [3] are not broadcast-compatible}}
  %r = "graph.div"(%a, %b) : (tensor<4x8xf32>, tensor<3xf32>) -> tensor<4x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>, tensor<8xf32>) -> ()}> ({
^bb0(%a: tensor<4x8xf32>, %b: tensor<8xf32>):
  // expected-error @+1 {{'graph.pow' op result shape [8] does not match the inferred shape [4, 8]}}
  %r = "graph.pow"(%a, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> ()}> ({
^bb0(%a: tensor<4xf32>):
  // expected-error @+1 {{'graph.sigmoid' op result shape [5] does not match the inferred shape [4]}}
  %r = "graph.sigmoid"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> ()}> ({
^bb0(%a: tensor<4xf32>):
  // expected-error @+1 {{'graph.gelu' op approximate must be "none" or "tanh", got "fast"}}
  %r = "graph.gelu"(%a) <{approximate = "fast"}> : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> ()}> ({
^bb0(%a: tensor<4xf32>):
  // expected-error @+1 {{'graph.leaky_relu' op 2 : i64 should be of base attribute float}}
  %r = "graph.leaky_relu"(%a) <{alpha = 2 : i64}> : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.reduce_sum' op axes [2] are out of range for rank 2}}
  %r = "graph.reduce_sum"(%a) <{axes = array<i64: 2>}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.reduce_max' op axes [1, -1] repeat a dimension}}
  %r = "graph.reduce_max"(%a) <{axes = array<i64: 1, -1>}> : (tensor<2x3xf32>) -> tensor<2x1xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.reduce_mean' op result shape [2, 1] does not match the inferred shape [2]}}
  %r = "graph.reduce_mean"(%a) <{axes = array<i64: 1>, keepdims = 0 : i64}> : (tensor<2x3xf32>) -> tensor<2x1xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.reduce_prod' op keepdims must be 0 or 1}}
  %r = "graph.reduce_prod"(%a) <{axes = array<i64: 1>, keepdims = 2 : i64}> : (tensor<2x3xf32>) -> tensor<2x1xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<2xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %s: tensor<2xf32>):
  // expected-error @+1 {{'graph.layer_norm' op scale of shape [2] does not broadcast to the input shape [2, 3]}}
  %r = "graph.layer_norm"(%a, %s) : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>, tensor<3xf32>) -> ()}> ({
^bb0(%a: tensor<2x3xf32>, %s: tensor<3xf32>):
  // expected-error @+1 {{'graph.layer_norm' op axis 2 is out of range for rank 2}}
  %r = "graph.layer_norm"(%a, %s) <{axis = 2 : i64}> : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()
