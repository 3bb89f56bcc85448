// RUN: irforge-opt %s -p convert-graph-to-tensor,convert-tensor-to-loop | filecheck %s

// The result is written straight into the caller's buffer: the function gains an output
// argument, returns nothing, and the relu's loop nest stores into it.
"func.func"() <{sym_name = "relu", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %r = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "relu", function_type = (memref<4x8xf32>, memref<4x8xf32>) -> ()
// CHECK:       ^bb0(%x: memref<4x8xf32>, %out0: memref<4x8xf32>):
// CHECK-NOT:   "loop.alloc"
// CHECK:       "loop.for"
// CHECK:       "loop.for"
// CHECK:       %[[V:.*]] = "loop.load"(%x,
// CHECK:       "arith.maximumf"
// CHECK:       "loop.store"({{.*}}, %out0,
// CHECK:       "func.return"() : () -> ()

// Weights become a private constant global; temporaries are allocated and freed.
"func.func"() <{sym_name = "affine", function_type = (tensor<1x2xf32>) -> tensor<1x2xf32>}> ({
^bb0(%x: tensor<1x2xf32>):
  %w = "graph.constant"() <{value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>}> : () -> tensor<2x2xf32>
  %m = "graph.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %r = "graph.relu"(%m) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  "func.return"(%r) : (tensor<1x2xf32>) -> ()
}) : () -> ()
// CHECK:       "memref.global"() <{sym_name = "__constant_0", type = memref<2x2xf32>
// CHECK-SAME:  constant
// CHECK-LABEL: sym_name = "affine"
// CHECK:       "memref.get_global"() <{name = @__constant_0}>
// CHECK:       %[[T:.*]] = "loop.alloc"() : () -> memref<1x2xf32>
// CHECK:       "loop.dealloc"(%[[T]])
// CHECK-NEXT:  "func.return"() : () -> ()
