// RUN: irforge-opt %s | filecheck %s
// RUN: irforge-opt %s | irforge-opt | filecheck %s

// A list of top-level ops is wrapped in an implicit module; aliases are expanded; names,
// forward references and block arguments survive.
#id = affine_map<(d0) -> (d0)>
!vec = tensor<4xf32>
"func.func"() <{sym_name = "f", function_type = (!vec, i32) -> !vec}> ({
^bb0(%x: !vec, %n: i32):
  %c = "arith.cmpi"(%n, %n) <{predicate = 0 : i64}> : (i32, i32) -> i1
  "cf.cond_br"(%c, %x) [^bb1, ^done] <{operandSegmentSizes = array<i32: 1, 0, 1>}> : (i1, !vec) -> ()
^bb1:
  %r = "graph.relu"(%x) : (!vec) -> !vec
  "func.return"(%r) : (!vec) -> ()
^done(%y: !vec):
  "func.return"(%y) : (!vec) -> ()
}) {map = #id} : () -> ()

// CHECK:      #map = affine_map<(d0) -> (d0)>
// CHECK-NEXT: "builtin.module"() ({
// CHECK-NEXT:   "func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, i32) -> tensor<4xf32>}> ({
// CHECK-NEXT:   ^bb0(%x: tensor<4xf32>, %n: i32):
// CHECK-NEXT:     %c = "arith.cmpi"(%n, %n) <{predicate = 0 : i64}> : (i32, i32) -> i1
// CHECK-NEXT:     "cf.cond_br"(%c, %x) [^bb1, ^done] <{operandSegmentSizes = array<i32: 1, 0, 1>}> : (i1, tensor<4xf32>) -> ()
// CHECK-NEXT:   ^bb1:
// CHECK-NEXT:     %r = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:     "func.return"(%r) : (tensor<4xf32>) -> ()
// CHECK-NEXT:   ^done(%y: tensor<4xf32>):
// CHECK-NEXT:     "func.return"(%y) : (tensor<4xf32>) -> ()
// CHECK-NEXT:   }) {map = #map} : () -> ()
// CHECK-NEXT: }) : () -> ()
