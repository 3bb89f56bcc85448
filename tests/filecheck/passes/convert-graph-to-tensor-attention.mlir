// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s

// graph.attention -> five generics: the scores S[b, i, j] = sum_k Q[b, i, k] K[b, j, k]
// (K read as [Sk, d], no transposed copy; marked with the scale for the fused kernel), the
// row max of S * scale + mask (the [Sk] mask read through its broadcast map), exp and the
// row sum in one generic with two results, P V, and the division by the row sum on the
// [Sq, dv] output.
"func.func"() <{sym_name = "attention", function_type = (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x6xf32>, tensor<5xf32>) -> tensor<2x3x6xf32>}> ({
^bb0(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x6xf32>, %mask: tensor<5xf32>):
  %o = "graph.attention"(%q, %k, %v, %mask) <{scale = 0.5 : f32}> : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x6xf32>, tensor<5xf32>) -> tensor<2x3x6xf32>
  "func.return"(%o) : (tensor<2x3x6xf32>) -> ()
}) : () -> ()

// CHECK-DAG:   #[[$Q:map[0-9]*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG:   #[[$K:map[0-9]*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG:   #[[$V:map[0-9]*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG:   #[[$MASK:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG:   #[[$ROW:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: sym_name = "attention"
// CHECK:       %[[S:.*]] = "tensor.generic"(%q, %k, %{{.*}}) <{indexing_maps = [#[[$Q]], #[[$K]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK:       }) {irforge.attention = 5.000000e-01 : f32} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
// CHECK:       %[[M:.*]] = "tensor.generic"(%[[S]], %mask, %{{.*}}) <{indexing_maps = [#{{.*}}, #[[$MASK]], #[[$ROW]]], iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         "arith.maximumf"
// CHECK:       %[[E:.*]], %[[L:.*]] = "tensor.generic"(%[[S]], %mask, %[[M]], %{{.*}}, %{{.*}}) <{{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:         "math.exp"
// CHECK:         "arith.addf"({{.*}}) <{fastmath = #arith.fastmath<reassoc>}>
// CHECK:       %[[O:.*]] = "tensor.generic"(%[[E]], %v, %{{.*}}) <{indexing_maps = [#[[$Q]], #[[$V]], #{{.*}}]
// CHECK:       %[[R:.*]] = "tensor.generic"(%[[O]], %[[L]], %{{.*}}) <{indexing_maps = [#{{.*}}, #[[$ROW]], #{{.*}}]
// CHECK:         "arith.divf"
// CHECK:       "func.return"(%[[R]])
