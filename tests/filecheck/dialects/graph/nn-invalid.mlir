// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x3x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op weight of shape [6, 3, 3, 3] has 3 input channels per group, expected 2 (input channels 4 / group 2)}}
  %r = "graph.conv"(%a0, %a1) <{group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<5x2x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<5x2x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op group 2 must be positive and divide the input channels (4) and the output channels (5)}}
  %r = "graph.conv"(%a0, %a1) <{group = 2 : i64}> : (tensor<1x4x8x8xf32>, tensor<5x2x3x3xf32>) -> tensor<1x5x6x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op result shape [1, 6, 8, 8] does not match the inferred shape [1, 6, 6, 6]}}
  %r = "graph.conv"(%a0, %a1) : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x8x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3x3xf32>, %a2: tensor<4xf32>):
  // expected-error @+1 {{'graph.conv' op bias of shape [4] must have shape [6] (one per output channel)}}
  %r = "graph.conv"(%a0, %a1, %a2) : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3xf32>):
  // expected-error @+1 {{'graph.conv' op weight of shape [6, 4, 3] must have the input's rank 4 ([M, C/group, K1, ...])}}
  %r = "graph.conv"(%a0, %a1) : (tensor<1x4x8x8xf32>, tensor<6x4x3xf32>) -> tensor<1x6x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op pads has 2 entries, expected 4 for 2 spatial dimensions}}
  %r = "graph.conv"(%a0, %a1) <{pads = array<i64: 1, 1>}> : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x8x8xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op strides must be positive, got [0, 1]}}
  %r = "graph.conv"(%a0, %a1) <{strides = array<i64: 0, 1>}> : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x8x8xf32>, %a1: tensor<6x4x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op pads must be non-negative, got [0, 0, -1, 0]}}
  %r = "graph.conv"(%a0, %a1) <{pads = array<i64: 0, 0, -1, 0>}> : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x5x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x4x2x2xf32>, tensor<6x4x3x3xf32>) -> ()}> ({
^bb0(%a0: tensor<1x4x2x2xf32>, %a1: tensor<6x4x3x3xf32>):
  // expected-error @+1 {{'graph.conv' op window (kernel [3, 3], dilations [1, 1]) does not fit the padded input of spatial shape [2, 2]}}
  %r = "graph.conv"(%a0, %a1) : (tensor<1x4x2x2xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x1x1xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4x8xf32>) -> ()}> ({
^bb0(%a0: tensor<4x8xf32>):
  // expected-error @+1 {{'graph.max_pool' op input must have rank >= 3 ([N, C, D1, ...]), got shape [4, 8]}}
  %r = "graph.max_pool"(%a0) <{kernel_shape = array<i64: 2>}> : (tensor<4x8xf32>) -> tensor<4x7xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.max_pool' op kernel_shape has 1 entries, expected 2 for 2 spatial dimensions}}
  %r = "graph.max_pool"(%a0) <{kernel_shape = array<i64: 2>}> : (tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.max_pool' op result shape [1, 2, 4, 4] does not match the inferred shape [1, 2, 3, 3]}}
  %r = "graph.max_pool"(%a0) <{kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = 0 : i64}> : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.average_pool' op count_include_pad must be 0 or 1}}
  %r = "graph.average_pool"(%a0) <{kernel_shape = array<i64: 2, 2>, count_include_pad = 2 : i64}> : (tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.average_pool' op ceil_mode must be 0 or 1}}
  %r = "graph.average_pool"(%a0) <{kernel_shape = array<i64: 2, 2>, ceil_mode = 3 : i64}> : (tensor<1x2x8x8xf32>) -> tensor<1x2x7x7xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.global_average_pool' op result shape [1, 2] does not match the inferred shape [1, 2, 1, 1]}}
  %r = "graph.global_average_pool"(%a0) : (tensor<1x2x8x8xf32>) -> tensor<1x2xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%a0: tensor<1x3x4x4xf32>, %a1: tensor<3xf32>, %a2: tensor<4xf32>):
  // expected-error @+1 {{'graph.batch_norm' op mean of shape [4] must have shape [3] (one per channel)}}
  %r = "graph.batch_norm"(%a0, %a1, %a1, %a2, %a1) : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x3x4x4xf32>) -> ()}> ({
^bb0(%a0: tensor<1x3x4x4xf32>):
  // expected-error @+1 {{'graph.lrn' op size must be positive, got 0}}
  %r = "graph.lrn"(%a0) <{size = 0 : i64}> : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a0: tensor<2x3xf32>):
  // expected-error @+1 {{'tensor.pad_constant' op result shape [3, 6] does not match the padded shape [3, 5]}}
  %r = "tensor.pad_constant"(%a0) <{low = array<i64: 0, 1>, high = array<i64: 1, 1>, value = 0.0 : f32}> : (tensor<2x3xf32>) -> tensor<3x6xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a0: tensor<2x3xf32>):
  // expected-error @+1 {{'tensor.pad_constant' op low has 1 entries, expected one per dimension of the operand (2)}}
  %r = "tensor.pad_constant"(%a0) <{low = array<i64: 0>, high = array<i64: 1, 1>, value = 0.0 : f32}> : (tensor<2x3xf32>) -> tensor<3x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a0: tensor<2x3xf32>):
  // expected-error @+1 {{'tensor.pad_constant' op low pads must be non-negative, got [0, -1]}}
  %r = "tensor.pad_constant"(%a0) <{low = array<i64: 0, -1>, high = array<i64: 1, 1>, value = 0.0 : f32}> : (tensor<2x3xf32>) -> tensor<3x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<2x3xf32>) -> ()}> ({
^bb0(%a0: tensor<2x3xf32>):
  // expected-error @+1 {{'tensor.pad_constant' op padding value type f64 differs from the element type f32}}
  %r = "tensor.pad_constant"(%a0) <{low = array<i64: 0, 0>, high = array<i64: 0, 0>, value = 0.0 : f64}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<1x2x8x8xf32>) -> ()}> ({
^bb0(%a0: tensor<1x2x8x8xf32>):
  // expected-error @+1 {{'graph.max_pool' op strides must be an array of integers, got array<f32: 2.000000e+00, 2.000000e+00>}}
  %r = "graph.max_pool"(%a0) <{kernel_shape = array<i64: 2, 2>, strides = array<f32: 2.0, 2.0>}> : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  "func.return"() : () -> ()
}) : () -> ()
