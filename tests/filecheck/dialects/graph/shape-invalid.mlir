// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.slice' op dimension 1 reads indices 7 to 9 (step 1), out of bounds of size 8}}
  %s = "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, 1>}> : (tensor<2x8xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.slice' op step of dimension 0 is 0}}
  %s = "graph.slice"(%x) <{starts = array<i64: 0, 0>, steps = array<i64: 0, 1>}> : (tensor<2x8xf32>) -> tensor<2x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.slice' op starts has 1 entries, expected one per dimension of the input (2)}}
  %s = "graph.slice"(%x) <{starts = array<i64: 0>, steps = array<i64: 1, 1>}> : (tensor<2x8xf32>) -> tensor<2x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>, tensor<3x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>, %y: tensor<3x8xf32>):
  // expected-error @+1 {{'graph.concat' op input #1 of shape [3, 8] does not match input #0 of shape [2, 8] outside axis 1}}
  %c = "graph.concat"(%x, %y) <{axis = 1 : i64}> : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<2x16xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.concat' op axis 2 is out of range for rank 2}}
  %c = "graph.concat"(%x, %x) <{axis = 2 : i64}> : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x16xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.concat' op result shape [2, 15] does not match the inferred shape [2, 16]}}
  %c = "graph.concat"(%x, %x) <{axis = 1 : i64}> : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x15xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x8xf32>) -> ()}> ({
^bb0(%x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.expand' op input of shape [2, 8] does not broadcast to the result shape [2, 4]}}
  %e = "graph.expand"(%x) : (tensor<2x8xf32>) -> tensor<2x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<3xi1>, tensor<2x8xf32>) -> ()}> ({
^bb0(%c: tensor<3xi1>, %x: tensor<2x8xf32>):
  // expected-error @+1 {{'graph.where' op operand shapes [3], [2, 8], [2, 8] do not broadcast}}
  %w = "graph.where"(%c, %x, %x) : (tensor<3xi1>, tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<3xf32>, tensor<2x3xf32>) -> ()}> ({
^bb0(%c: tensor<3xf32>, %x: tensor<2x3xf32>):
  // expected-error @+1 {{'graph.where' op condition has element type f32, expected i1}}
  %w = "graph.where"(%c, %x, %x) : (tensor<3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()
