// RUN: irforge-opt %s | irforge-opt | filecheck %s

// Row sums of a 4x8 tensor: a reduction over d1 into a [4] output.
"func.func"() <{sym_name = "row_sum", function_type = (tensor<4x8xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %e = "tensor.empty"() : () -> tensor<4xf32>
  %r = "tensor.generic"(%x, %e) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %acc: f32):
    %s = "arith.addf"(%acc, %a) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "tensor.yield"(%s) : (f32) -> ()
  }) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()

// The maps are printed once, as aliases, at the top.
// CHECK-DAG:   #[[$ID2:map[0-9]*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$BCAST:map[0-9]*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: sym_name = "row_sum"
// CHECK:       %e = "tensor.empty"() : () -> tensor<4xf32>
// CHECK-NEXT:  %r = "tensor.generic"(%x, %e)
// CHECK-SAME:  iterator_types = ["parallel", "reduction"], operandSegmentSizes = array<i32: 1, 1>
// CHECK-NEXT:  ^bb0(%a: f32, %acc: f32):
// CHECK-NEXT:    %s = "arith.addf"(%acc, %a)
// CHECK-NEXT:    "tensor.yield"(%s) : (f32) -> ()
// CHECK-NEXT:  }) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>

// A fill: no inputs, a constant body; a broadcast read with a constant index.
"func.func"() <{sym_name = "fill_and_broadcast", function_type = (tensor<1x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%row: tensor<1x8xf32>):
  %e = "tensor.empty"() : () -> tensor<4x8xf32>
  %z = "tensor.generic"(%e) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"], operandSegmentSizes = array<i32: 0, 1>}> ({
  ^bb0(%o: f32):
    %c = "arith.constant"() <{value = 0.000000e+00 : f32}> : () -> f32
    "tensor.yield"(%c) : (f32) -> ()
  }) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = "tensor.generic"(%row, %z) <{indexing_maps = [affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%v: f32, %o: f32):
    %s = "arith.addf"(%v, %o) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "tensor.yield"(%s) : (f32) -> ()
  }) : (tensor<1x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%b) : (tensor<4x8xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "fill_and_broadcast"
// CHECK:       operandSegmentSizes = array<i32: 0, 1>
// CHECK:       indexing_maps = [#[[$BCAST]], #[[$ID2]]]
