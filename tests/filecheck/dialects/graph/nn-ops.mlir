// RUN: irforge-opt %s | irforge-opt | filecheck %s

// The nn ops round trip with their window properties; absent strides, pads and dilations
// stay absent (they mean 1, 0 and 1).
"func.func"() <{sym_name = "nn_ops", function_type = (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>, %p: tensor<4xf32>):
  %c = "graph.conv"(%x, %w, %b) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  %c2 = "graph.conv"(%x, %w) <{group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  %mp = "graph.max_pool"(%x) <{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 1, 1>, ceil_mode = 1 : i64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %ap = "graph.average_pool"(%x) <{kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, ceil_mode = 0 : i64, count_include_pad = 1 : i64}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
  %ga = "graph.global_average_pool"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
  %gm = "graph.global_max_pool"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
  %bn = "graph.batch_norm"(%x, %p, %p, %p, %p) <{epsilon = 1.000000e-03 : f32}> : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %l = "graph.lrn"(%x) <{size = 3 : i64, alpha = 1.000000e-04 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32}> : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "nn_ops"
// CHECK:       "graph.conv"(%x, %w, %b) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
// CHECK-NEXT:  "graph.conv"(%x, %w) <{group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
// CHECK-NEXT:  "graph.max_pool"(%x) <{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 1, 1>, ceil_mode = 1 : i64}>
// CHECK-SAME:  -> tensor<1x4x4x4xf32>
// CHECK-NEXT:  "graph.average_pool"(%x) <{kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, ceil_mode = 0 : i64, count_include_pad = 1 : i64}>
// CHECK-NEXT:  "graph.global_average_pool"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
// CHECK-NEXT:  "graph.global_max_pool"(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>
// CHECK-NEXT:  "graph.batch_norm"(%x, %p, %p, %p, %p) <{epsilon = 1.000000e-03 : f32}>
// CHECK-NEXT:  "graph.lrn"(%x) <{size = 3 : i64, alpha = 1.000000e-04 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32}>

// Defaults: group 1, ceil_mode 0, count_include_pad 0, epsilon 1e-5 and the LRN constants
// are filled in when absent. 1-D and 3-D windows work the same way.
"func.func"() <{sym_name = "nn_defaults", function_type = (tensor<2x3x9xf32>, tensor<4x3x3xf32>, tensor<1x2x4x4x4xf32>, tensor<3xf32>) -> ()}> ({
^bb0(%x: tensor<2x3x9xf32>, %w: tensor<4x3x3xf32>, %v: tensor<1x2x4x4x4xf32>, %p: tensor<3xf32>):
  %c = "graph.conv"(%x, %w) <{strides = array<i64: 2>}> : (tensor<2x3x9xf32>, tensor<4x3x3xf32>) -> tensor<2x4x4xf32>
  %m = "graph.max_pool"(%v) <{kernel_shape = array<i64: 2, 2, 2>}> : (tensor<1x2x4x4x4xf32>) -> tensor<1x2x3x3x3xf32>
  %a = "graph.average_pool"(%x) <{kernel_shape = array<i64: 3>, pads = array<i64: 1, 1>}> : (tensor<2x3x9xf32>) -> tensor<2x3x9xf32>
  %b = "graph.batch_norm"(%x, %p, %p, %p, %p) : (tensor<2x3x9xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x9xf32>
  %l = "graph.lrn"(%x) <{size = 2 : i64}> : (tensor<2x3x9xf32>) -> tensor<2x3x9xf32>
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "nn_defaults"
// CHECK:       "graph.conv"(%x, %w) <{strides = array<i64: 2>, group = 1 : i64}>
// CHECK-NEXT:  "graph.max_pool"(%v) <{kernel_shape = array<i64: 2, 2, 2>, ceil_mode = 0 : i64}>
// CHECK-NEXT:  "graph.average_pool"(%x) <{kernel_shape = array<i64: 3>, pads = array<i64: 1, 1>
// CHECK-SAME:  count_include_pad = 0 : i64
// CHECK-SAME:  -> tensor<2x3x9xf32>
// CHECK-NEXT:  "graph.batch_norm"(%x, %p, %p, %p, %p) <{epsilon = 1.000000e-05 : f32}>
// CHECK-NEXT:  "graph.lrn"(%x) <{size = 2 : i64, alpha = 1.000000e-04 : f32, beta = 7.500000e-01 : f32, bias = 1.000000e+00 : f32}>

// tensor.pad_constant, the helper the nn lowerings use: -inf prints as its bit pattern.
"func.func"() <{sym_name = "pad", function_type = (tensor<2x3xf32>) -> tensor<3x6xf32>}> ({
^bb0(%x: tensor<2x3xf32>):
  %p = "tensor.pad_constant"(%x) <{low = array<i64: 0, 1>, high = array<i64: 1, 2>, value = 0xFF800000 : f32}> : (tensor<2x3xf32>) -> tensor<3x6xf32>
  "func.return"(%p) : (tensor<3x6xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "pad"
// CHECK:       "tensor.pad_constant"(%x) <{low = array<i64: 0, 1>, high = array<i64: 1, 2>, value = 0xff800000 : f32}> : (tensor<2x3xf32>) -> tensor<3x6xf32>
