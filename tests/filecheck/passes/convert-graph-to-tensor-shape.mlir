// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s
// RUN: irforge-opt %s -p convert-graph-to-tensor,convert-tensor-to-loop | filecheck %s --check-prefix=LOOP

// A slice is one copying generic whose input map walks d * step + start; a leading part
// of a dimension reads `d mod n` (a bare d would give the domain the input's size).
"func.func"() <{sym_name = "slice", function_type = (tensor<2x8xf32>) -> tensor<1x4xf32>}> ({
^bb0(%x: tensor<2x8xf32>):
  %s = "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}> : (tensor<2x8xf32>) -> tensor<1x4xf32>
  "func.return"(%s) : (tensor<1x4xf32>) -> ()
}) : () -> ()

// CHECK-DAG:   #[[SLICE:.*]] = affine_map<(d0, d1) -> ((d0 mod 2), ((d1 * -2) + 7))>
// CHECK-LABEL: sym_name = "slice"
// CHECK:       "tensor.empty"() : () -> tensor<1x4xf32>
// CHECK-NEXT:  "tensor.generic"(%x, %{{.*}}) <{indexing_maps = [#[[SLICE]], #{{.*}}]


// A concat is a chain of tensor.insert_block ops into one tensor.empty; bufferized, each
// writes in place into the function's output buffer.
"func.func"() <{sym_name = "concat", function_type = (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<2x1xf32>):
  %c = "graph.concat"(%a, %b) <{axis = -1 : i64}> : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  "func.return"(%c) : (tensor<2x4xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "concat"
// CHECK:       %[[E:.*]] = "tensor.empty"() : () -> tensor<2x4xf32>
// CHECK-NEXT:  %[[A:.*]] = "tensor.insert_block"(%a, %[[E]]) <{offsets = array<i64: 0, 0>}> : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:  %[[B:.*]] = "tensor.insert_block"(%b, %[[A]]) <{offsets = array<i64: 0, 3>}> : (tensor<2x1xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:  "func.return"(%[[B]])

// LOOP-LABEL: sym_name = "concat"
// LOOP-NOT:   "loop.alloc"
// LOOP:       "loop.store"(%{{.*}}, %out0, %{{.*}}, %{{.*}})
// LOOP:       "arith.addi"
// LOOP:       "loop.store"(%{{.*}}, %out0, %{{.*}}, %{{.*}})


// Where selects with a bool (i1) condition; expand is a broadcasting copy.
"func.func"() <{sym_name = "where", function_type = (tensor<3xi1>, tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>}> ({
^bb0(%c: tensor<3xi1>, %x: tensor<2x3xf32>, %y: tensor<2x1xf32>):
  %e = "graph.expand"(%y) : (tensor<2x1xf32>) -> tensor<2x3xf32>
  %w = "graph.where"(%c, %x, %e) : (tensor<3xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"(%w) : (tensor<2x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "where"
// CHECK:       "tensor.generic"(%y, %{{.*}})
// CHECK:       "tensor.generic"(%c, %x, %{{.*}}, %{{.*}})
// CHECK-NEXT:  ^{{.*}}(%[[C:[0-9a-z_]+]]: i1, %[[A:[0-9a-z_]+]]: f32, %[[B:[0-9a-z_]+]]: f32, %{{.*}}: f32):
// CHECK-NEXT:  "arith.select"(%[[C]], %[[A]], %[[B]])
