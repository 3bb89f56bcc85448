// RUN: irforge-opt %s -p convert-graph-to-tensor | filecheck %s
// RUN: irforge-opt %s -p convert-graph-to-tensor,convert-tensor-to-loop | filecheck %s --check-prefix=LOOP

// A grouped, strided, padded convolution (group 2: 3 output, 2 input channels each): a
// tensor.pad_constant of the input, the bias broadcast into an accumulator
// [N, G, M/G, OH, OW], one reduction over (n, g, f, oh, ow, c, kh, kw) reading input
// channel g * 2 + c and weight row g * 3 + f (the group is a dim of its own: a GEMM per
// group), then a copy back to [N, M, OH, OW].
"func.func"() <{sym_name = "conv_grouped", function_type = (tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>}> ({
^bb0(%x: tensor<1x4x5x5xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>):
  %y = "graph.conv"(%x, %w, %b) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64}> : (tensor<1x4x5x5xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
  "func.return"(%y) : (tensor<1x6x3x3xf32>) -> ()
}) : () -> ()

// CHECK-DAG:   #[[$BIAS:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4) -> (((d1 * 3) + d2))>
// CHECK-DAG:   #[[$IN:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, ((d1 * 2) + d5), ((d3 * 2) + d6), ((d4 * 2) + d7))>
// CHECK-DAG:   #[[$W:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (((d1 * 3) + d2), d5, d6, d7)>
// CHECK-DAG:   #[[$VIEW:map[0-9]*]] = affine_map<(d0, d1, d2, d3) -> (d0, (d1 floordiv 3), (d1 mod 3), d2, d3)>
// CHECK-DAG:   #[[$POOL_IN:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d4), ((d3 * 2) + d5))>
// CHECK-LABEL: sym_name = "conv_grouped"
// CHECK:       %[[P:.*]] = "tensor.pad_constant"(%x) <{low = array<i64: 0, 0, 1, 1>, high = array<i64: 0, 0, 1, 1>, value = 0.000000e+00 : f32}> : (tensor<1x4x5x5xf32>) -> tensor<1x4x7x7xf32>
// CHECK:       %[[ACC:.*]] = "tensor.generic"(%b, %{{.*}}) <{indexing_maps = [#[[$BIAS]],
// CHECK:       %[[C:.*]] = "tensor.generic"(%[[P]], %w, %[[ACC]]) <{indexing_maps = [#[[$IN]], #[[$W]],
// CHECK-SAME:  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK:       "arith.mulf"
// CHECK-NEXT:  "arith.addf"
// CHECK:       "tensor.generic"(%[[C]], %{{.*}}) <{indexing_maps = [#[[$VIEW]],
// CHECK-NOT:   graph.

// Max pool, ceil mode: the last window reads one row and column past the input, so the
// input is padded with -inf there; a kernel-shaped tensor.empty gives (kh, kw) bounds.
"func.func"() <{sym_name = "max_pool_ceil", function_type = (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>}> ({
^bb0(%x: tensor<1x2x6x6xf32>):
  %y = "graph.max_pool"(%x) <{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 1 : i64}> : (tensor<1x2x6x6xf32>) -> tensor<1x2x3x3xf32>
  "func.return"(%y) : (tensor<1x2x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "max_pool_ceil"
// CHECK:       %[[P:.*]] = "tensor.pad_constant"(%x) <{low = array<i64: 0, 0, 0, 0>, high = array<i64: 0, 0, 1, 1>, value = 0xff800000 : f32}>
// CHECK:       %[[K:.*]] = "tensor.empty"() : () -> tensor<3x3xf32>
// CHECK:       "tensor.generic"(%[[P]], %[[K]], %{{.*}}) <{indexing_maps = [#[[$POOL_IN]],
// CHECK-SAME:  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK:       "arith.maximumf"

// Bufferized, tensor.pad_constant is an allocation filled with the padding value, then a
// copy of the input into the interior (indices offset by `low`).
// LOOP-LABEL:  sym_name = "conv_grouped"
// LOOP:        %[[BUF:.*]] = "loop.alloc"() : () -> memref<1x4x7x7xf32>
// LOOP:        %[[ZERO:.*]] = "arith.constant"() <{value = 0.000000e+00 : f32}> : () -> f32
// LOOP-NEXT:   "loop.store"(%[[ZERO]], %[[BUF]],
// LOOP:        %[[V:.*]] = "loop.load"(%x,
// LOOP-NEXT:   %[[H:.*]] = "arith.addi"
// LOOP-NEXT:   %[[W:.*]] = "arith.addi"
// LOOP-NEXT:   "loop.store"(%[[V]], %[[BUF]], %{{.*}}, %{{.*}}, %[[H]], %[[W]])
// LOOP:        "loop.dealloc"(%[[BUF]])
