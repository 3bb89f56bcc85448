// RUN: not irforge-opt %s 2>&1 | filecheck %s

// The first error ends the parse: file:line:col, the source line and a caret.
"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4xf32>):
  %r = "graph.relu"(%y) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()

// CHECK:      parse-errors.mlir:6:21: error: use of undefined value '%y'
// CHECK-NEXT:   %r = "graph.relu"(%y) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: {{^                    \^$}}
