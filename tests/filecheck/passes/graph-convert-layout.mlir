// RUN: irforge-opt %s --split-input-file -p 'graph-convert-layout{block=4}' | filecheck %s
// RUN: irforge-opt %s --split-input-file -p 'graph-convert-layout{vector-bits=128}' | filecheck %s --check-prefix=VB128
// RUN: irforge-opt %s --split-input-file -p 'graph-convert-layout{vector-bits=256}' | filecheck %s --check-prefix=VB256

// conv -> relu -> conv -> max_pool, all blocked with x = 4: one graph.pack of the input,
// one graph.unpack of the result, nothing in between. The weights are blocked at compile
// time ([M/4, C/4, KH, KW, 4, 4]), the bias too ([M/4, 4], channel c at [c / 4, c % 4]).
// The second conv reads the relu's blocked result directly (pack(unpack(y)) is y); the
// pool's window gains a trailing 1 (kernel, strides, dilations) and a 0 on both sides
// of the pads.
"func.func"() <{sym_name = "conv_relu_conv_pool", function_type = (tensor<1x4x6x6xf32>) -> tensor<1x8x3x3xf32>}> ({
^bb0(%x: tensor<1x4x6x6xf32>):
  %w1 = "graph.constant"() <{value = dense<0.5> : tensor<8x4x3x3xf32>}> : () -> tensor<8x4x3x3xf32>
  %b1 = "graph.constant"() <{value = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>}> : () -> tensor<8xf32>
  %w2 = "graph.constant"() <{value = dense<0.25> : tensor<8x8x1x1xf32>}> : () -> tensor<8x8x1x1xf32>
  %c1 = "graph.conv"(%x, %w1, %b1) <{pads = array<i64: 1, 1, 1, 1>}> : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  %r = "graph.relu"(%c1) : (tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %c2 = "graph.conv"(%r, %w2) : (tensor<1x8x6x6xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x6x6xf32>
  %p = "graph.max_pool"(%c2) <{kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>}> : (tensor<1x8x6x6xf32>) -> tensor<1x8x3x3xf32>
  "func.return"(%p) : (tensor<1x8x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "conv_relu_conv_pool"
// CHECK-NEXT:  ^bb0(%x: tensor<1x4x6x6xf32>):
// CHECK-NEXT:    %[[P:[^ ]+]] = "graph.pack"(%x) <{block = 4 : i64}> : (tensor<1x4x6x6xf32>) -> tensor<1x1x6x6x4xf32>
// CHECK-NEXT:    %[[W1:[^ ]+]] = "graph.constant"() <{value = dense<5.000000e-01> : tensor<2x1x3x3x4x4xf32>}>
// CHECK-NEXT:    %[[B1:[^ ]+]] = "graph.constant"() <{value = dense<{{\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]]> : tensor<2x4xf32>}>
// CHECK-NEXT:    %[[C1:[^ ]+]] = "graph.conv2d_nchwc"(%[[P]], %[[W1]], %[[B1]]) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x1x6x6x4xf32>, tensor<2x1x3x3x4x4xf32>, tensor<2x4xf32>) -> tensor<1x2x6x6x4xf32>
// CHECK-NEXT:    %[[R:[^ ]+]] = "graph.relu"(%[[C1]]) : (tensor<1x2x6x6x4xf32>) -> tensor<1x2x6x6x4xf32>
// CHECK-NEXT:    %[[W2:[^ ]+]] = "graph.constant"() <{value = dense<2.500000e-01> : tensor<2x2x1x1x4x4xf32>}>
// CHECK-NEXT:    %[[C2:[^ ]+]] = "graph.conv2d_nchwc"(%[[R]], %[[W2]]) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x2x6x6x4xf32>, tensor<2x2x1x1x4x4xf32>) -> tensor<1x2x6x6x4xf32>
// CHECK-NEXT:    %[[MP:[^ ]+]] = "graph.max_pool"(%[[C2]]) <{kernel_shape = array<i64: 2, 2, 1>, strides = array<i64: 2, 2, 1>, ceil_mode = 0 : i64, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>}> : (tensor<1x2x6x6x4xf32>) -> tensor<1x2x3x3x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[MP]]) : (tensor<1x2x3x3x4xf32>) -> tensor<1x8x3x3xf32>
// CHECK-NEXT:    "func.return"(%[[U]]) : (tensor<1x8x3x3xf32>) -> ()

// vector-bits=128: x = 8 (two vectors of 4 f32). The 4 input channels are not a multiple
// of 8 and there are no groups: the input is packed whole (block 4), the outputs in 8.
// VB128-LABEL: sym_name = "conv_relu_conv_pool"
// VB128:         %[[P:[^ ]+]] = "graph.pack"(%x) <{block = 4 : i64}> : (tensor<1x4x6x6xf32>) -> tensor<1x1x6x6x4xf32>
// VB128:         %[[B1:[^ ]+]] = "graph.constant"() <{value = dense<{{\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]]> : tensor<1x8xf32>}>
// VB128-NEXT:    %[[C1:[^ ]+]] = "graph.conv2d_nchwc"(%[[P]], {{.*}} : (tensor<1x1x6x6x4xf32>, tensor<1x1x3x3x4x8xf32>, tensor<1x8xf32>) -> tensor<1x1x6x6x8xf32>
// VB128-NEXT:    %[[R:[^ ]+]] = "graph.relu"(%[[C1]])
// VB128:         "graph.conv2d_nchwc"(%[[R]], {{.*}} : (tensor<1x1x6x6x8xf32>, tensor<1x1x1x1x8x8xf32>) -> tensor<1x1x6x6x8xf32>
// VB128:         "graph.unpack"({{.*}}) : (tensor<1x1x3x3x8xf32>) -> tensor<1x8x3x3xf32>

// vector-bits=256: x = 16 does not divide the 8 output channels: nothing changes.
// VB256-LABEL: sym_name = "conv_relu_conv_pool"
// VB256-NOT:     "graph.pack"
// VB256:         "graph.conv"(%x,
// VB256:         "graph.conv"(
// VB256:         "graph.max_pool"({{.*}} : (tensor<1x8x6x6xf32>) -> tensor<1x8x3x3xf32>
// VB256-NOT:     "graph.unpack"
// VB256:         "func.return"

// -----

// The weight layout, element by element: W[m, c] (4 x 2, 1x1, W[m, c] = 2m + c) with
// x = 4 and the 2 input channels packed whole is [1, 1, 1, 1, 2, 4] with element
// [c][m] = W[m, c] (input channel outer, output channel inner: one vector of outputs per
// input channel). A residual add of two blocked convs and a multiplication by a
// one-element constant stay blocked: one unpack, after the mul.
"func.func"() <{sym_name = "weights", function_type = (tensor<1x2x3x3xf32>) -> tensor<1x4x3x3xf32>}> ({
^bb0(%x: tensor<1x2x3x3xf32>):
  %w = "graph.constant"() <{value = dense<[[[[0.0]], [[1.0]]], [[[2.0]], [[3.0]]], [[[4.0]], [[5.0]]], [[[6.0]], [[7.0]]]]> : tensor<4x2x1x1xf32>}> : () -> tensor<4x2x1x1xf32>
  %v = "graph.constant"() <{value = dense<1.0> : tensor<4x2x1x1xf32>}> : () -> tensor<4x2x1x1xf32>
  %k = "graph.constant"() <{value = dense<3.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %y1 = "graph.conv"(%x, %w) : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %y2 = "graph.conv"(%x, %v) : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
  %s = "graph.add"(%y1, %y2) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %m = "graph.mul"(%s, %k) : (tensor<1x4x3x3xf32>, tensor<1xf32>) -> tensor<1x4x3x3xf32>
  "func.return"(%m) : (tensor<1x4x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "weights"
// CHECK:         %[[K:[^ ]+]] = "graph.constant"() <{value = dense<3.000000e+00> : tensor<1xf32>}>
// CHECK:         %[[P1:[^ ]+]] = "graph.pack"(%x) <{block = 2 : i64}> : (tensor<1x2x3x3xf32>) -> tensor<1x1x3x3x2xf32>
// CHECK-NEXT:    %[[W:[^ ]+]] = "graph.constant"() <{value = dense<{{\[\[\[\[\[\[}}0.000000e+00, 2.000000e+00, 4.000000e+00, 6.000000e+00], [1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]]]]]]> : tensor<1x1x1x1x2x4xf32>}>
// CHECK-NEXT:    %[[Y1:[^ ]+]] = "graph.conv2d_nchwc"(%[[P1]], %[[W]]) {{.*}} : (tensor<1x1x3x3x2xf32>, tensor<1x1x1x1x2x4xf32>) -> tensor<1x1x3x3x4xf32>
// CHECK-NOT:     "graph.unpack"
// CHECK:         %[[Y2:[^ ]+]] = "graph.conv2d_nchwc"({{.*}} : (tensor<1x1x3x3x2xf32>, tensor<1x1x1x1x2x4xf32>) -> tensor<1x1x3x3x4xf32>
// CHECK-NEXT:    %[[S:[^ ]+]] = "graph.add"(%[[Y1]], %[[Y2]]) : (tensor<1x1x3x3x4xf32>, tensor<1x1x3x3x4xf32>) -> tensor<1x1x3x3x4xf32>
// CHECK-NEXT:    %[[M:[^ ]+]] = "graph.mul"(%[[S]], %[[K]]) : (tensor<1x1x3x3x4xf32>, tensor<1xf32>) -> tensor<1x1x3x3x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[M]]) : (tensor<1x1x3x3x4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT:    "func.return"(%[[U]])

// -----

// Region boundaries: the relu sinks the unpack, but an add with a plain function argument
// and a multiplication by a per-channel constant (4 elements: it broadcasts over the
// channel dim, which the blocked layout splits) need the plain layout: the unpack stays
// right before them.
"func.func"() <{sym_name = "boundary", function_type = (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>}> ({
^bb0(%x: tensor<1x4x4x4xf32>, %z: tensor<1x4x4x4xf32>):
  %w = "graph.constant"() <{value = dense<1.0> : tensor<4x4x1x1xf32>}> : () -> tensor<4x4x1x1xf32>
  %k = "graph.constant"() <{value = dense<[[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]]> : tensor<1x4x1x1xf32>}> : () -> tensor<1x4x1x1xf32>
  %c = "graph.conv"(%x, %w) : (tensor<1x4x4x4xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x4x4xf32>
  %r = "graph.relu"(%c) : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %s = "graph.add"(%r, %z) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %m = "graph.mul"(%r, %k) : (tensor<1x4x4x4xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x4x4xf32>
  %o = "graph.add"(%s, %m) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  "func.return"(%o) : (tensor<1x4x4x4xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "boundary"
// CHECK:         "graph.conv2d_nchwc"
// CHECK-NEXT:    %[[R:[^ ]+]] = "graph.relu"({{.*}}) : (tensor<1x1x4x4x4xf32>) -> tensor<1x1x4x4x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[R]]) : (tensor<1x1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[S:[^ ]+]] = "graph.add"(%[[U]], %z) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[M:[^ ]+]] = "graph.mul"(%[[U]], %k) : (tensor<1x4x4x4xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    "graph.add"(%[[S]], %[[M]]) : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NOT:     "graph.pack"

// -----

// An RGB image: 3 input channels, not a multiple of x = 4, no groups: the input block is
// all 3 channels (weights [M/4, 1, KH, KW, 3, 4]); strides and pads carry over.
"func.func"() <{sym_name = "rgb", function_type = (tensor<1x3x8x8xf32>) -> tensor<1x8x4x4xf32>}> ({
^bb0(%x: tensor<1x3x8x8xf32>):
  %w = "graph.constant"() <{value = dense<1.0> : tensor<8x3x3x3xf32>}> : () -> tensor<8x3x3x3xf32>
  %c = "graph.conv"(%x, %w) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}> : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x4x4xf32>
  "func.return"(%c) : (tensor<1x8x4x4xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "rgb"
// CHECK-NEXT:  ^bb0(%x: tensor<1x3x8x8xf32>):
// CHECK-NEXT:    %[[P:[^ ]+]] = "graph.pack"(%x) <{block = 3 : i64}> : (tensor<1x3x8x8xf32>) -> tensor<1x1x8x8x3xf32>
// CHECK-NEXT:    %[[W:[^ ]+]] = "graph.constant"() <{value = dense<1.000000e+00> : tensor<2x1x3x3x3x4xf32>}>
// CHECK-NEXT:    %[[C:[^ ]+]] = "graph.conv2d_nchwc"(%[[P]], %[[W]]) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x1x8x8x3xf32>, tensor<2x1x3x3x3x4xf32>) -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[C]]) : (tensor<1x2x4x4x4xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NEXT:    "func.return"(%[[U]])

// -----

// Pools keep their window under the blocked layout: the ONNX pads [top, left, bottom,
// right] = [0, 1, 1, 0] become [0, 1, 0, 1, 0, 0] (begins of H, W, c, then ends), and
// count_include_pad is kept.
"func.func"() <{sym_name = "pool_pads", function_type = (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>}> ({
^bb0(%x: tensor<1x4x5x5xf32>):
  %w = "graph.constant"() <{value = dense<1.0> : tensor<4x4x1x1xf32>}> : () -> tensor<4x4x1x1xf32>
  %c = "graph.conv"(%x, %w) : (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x5x5xf32>
  %p = "graph.average_pool"(%c) <{kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 1, 1, 0>, count_include_pad = 1 : i64}> : (tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  "func.return"(%p) : (tensor<1x4x5x5xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "pool_pads"
// CHECK:         %[[C:[^ ]+]] = "graph.conv2d_nchwc"
// CHECK-NEXT:    %[[P:[^ ]+]] = "graph.average_pool"(%[[C]]) <{kernel_shape = array<i64: 2, 2, 1>, pads = array<i64: 0, 1, 0, 1, 0, 0>, count_include_pad = 1 : i64, ceil_mode = 0 : i64, strides = array<i64: 1, 1, 1>, dilations = array<i64: 1, 1, 1>}> : (tensor<1x1x5x5x4xf32>) -> tensor<1x1x5x5x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[P]]) : (tensor<1x1x5x5x4xf32>) -> tensor<1x4x5x5xf32>
// CHECK-NEXT:    "func.return"(%[[U]])

// -----

// Channel slices and concatenations at multiples of x stay blocked (channels [4, 8) are
// block 1); a slice at channel 2 cuts a block and reads the unpacked tensor.
"func.func"() <{sym_name = "slices", function_type = (tensor<1x4x3x3xf32>) -> (tensor<1x4x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x12x3x3xf32>)}> ({
^bb0(%x: tensor<1x4x3x3xf32>):
  %w = "graph.constant"() <{value = dense<1.0> : tensor<8x4x1x1xf32>}> : () -> tensor<8x4x1x1xf32>
  %c = "graph.conv"(%x, %w) : (tensor<1x4x3x3xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x3x3xf32>
  %hi = "graph.slice"(%c) <{starts = array<i64: 0, 4, 0, 0>, steps = array<i64: 1, 1, 1, 1>}> : (tensor<1x8x3x3xf32>) -> tensor<1x4x3x3xf32>
  %mid = "graph.slice"(%c) <{starts = array<i64: 0, 2, 0, 0>, steps = array<i64: 1, 1, 1, 1>}> : (tensor<1x8x3x3xf32>) -> tensor<1x2x3x3xf32>
  %cat = "graph.concat"(%c, %hi) <{axis = 1 : i64}> : (tensor<1x8x3x3xf32>, tensor<1x4x3x3xf32>) -> tensor<1x12x3x3xf32>
  "func.return"(%hi, %mid, %cat) : (tensor<1x4x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x12x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "slices"
// CHECK:         %[[C:[^ ]+]] = "graph.conv2d_nchwc"({{.*}}) -> tensor<1x2x3x3x4xf32>
// CHECK-NEXT:    %[[CU:[^ ]+]] = "graph.unpack"(%[[C]]) : (tensor<1x2x3x3x4xf32>) -> tensor<1x8x3x3xf32>
// CHECK-NEXT:    %[[HI:[^ ]+]] = "graph.slice"(%[[C]]) <{starts = array<i64: 0, 1, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>}> : (tensor<1x2x3x3x4xf32>) -> tensor<1x1x3x3x4xf32>
// CHECK-NEXT:    %[[HIU:[^ ]+]] = "graph.unpack"(%[[HI]]) : (tensor<1x1x3x3x4xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT:    %[[MID:[^ ]+]] = "graph.slice"(%[[CU]]) <{starts = array<i64: 0, 2, 0, 0>, steps = array<i64: 1, 1, 1, 1>}> : (tensor<1x8x3x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    %[[CAT:[^ ]+]] = "graph.concat"(%[[C]], %[[HI]]) <{axis = 1 : i64}> : (tensor<1x2x3x3x4xf32>, tensor<1x1x3x3x4xf32>) -> tensor<1x3x3x3x4xf32>
// CHECK-NEXT:    %[[CATU:[^ ]+]] = "graph.unpack"(%[[CAT]]) : (tensor<1x3x3x3x4xf32>) -> tensor<1x12x3x3xf32>
// CHECK-NEXT:    "func.return"(%[[HIU]], %[[MID]], %[[CATU]])

// -----

// Groups: with 4 input channels per group (a multiple of x = 4) the conv is blocked and
// keeps group = 2; with 2 per group (group 4, 4 output channels per group) no input block
// of at least 4 channels fits (gcd(2, 4) = 2): left alone.
"func.func"() <{sym_name = "groups", function_type = (tensor<1x8x3x3xf32>) -> (tensor<1x8x3x3xf32>, tensor<1x16x3x3xf32>)}> ({
^bb0(%x: tensor<1x8x3x3xf32>):
  %w4 = "graph.constant"() <{value = dense<1.0> : tensor<8x4x1x1xf32>}> : () -> tensor<8x4x1x1xf32>
  %w2 = "graph.constant"() <{value = dense<1.0> : tensor<16x2x1x1xf32>}> : () -> tensor<16x2x1x1xf32>
  %a = "graph.conv"(%x, %w4) <{group = 2 : i64}> : (tensor<1x8x3x3xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x3x3xf32>
  %b = "graph.conv"(%x, %w2) <{group = 4 : i64}> : (tensor<1x8x3x3xf32>, tensor<16x2x1x1xf32>) -> tensor<1x16x3x3xf32>
  "func.return"(%a, %b) : (tensor<1x8x3x3xf32>, tensor<1x16x3x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "groups"
// CHECK:         %[[P:[^ ]+]] = "graph.pack"(%x) <{block = 4 : i64}> : (tensor<1x8x3x3xf32>) -> tensor<1x2x3x3x4xf32>
// CHECK-NEXT:    %[[W:[^ ]+]] = "graph.constant"() <{value = dense<1.000000e+00> : tensor<2x1x1x1x4x4xf32>}>
// CHECK-NEXT:    %[[A:[^ ]+]] = "graph.conv2d_nchwc"(%[[P]], %[[W]]) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}> : (tensor<1x2x3x3x4xf32>, tensor<2x1x1x1x4x4xf32>) -> tensor<1x2x3x3x4xf32>
// CHECK-NEXT:    %[[U:[^ ]+]] = "graph.unpack"(%[[A]])
// CHECK-NEXT:    %b = "graph.conv"(%x, %w2) <{group = 4 : i64}> : (tensor<1x8x3x3xf32>, tensor<16x2x1x1xf32>) -> tensor<1x16x3x3xf32>
// CHECK-NEXT:    "func.return"(%[[U]], %b)

// -----

// pack(unpack(y)) with y's own block is y; with another block it stays.
"func.func"() <{sym_name = "fold", function_type = (tensor<1x2x3x3x4xf32>) -> (tensor<1x2x3x3x4xf32>, tensor<1x4x3x3x2xf32>)}> ({
^bb0(%y: tensor<1x2x3x3x4xf32>):
  %u = "graph.unpack"(%y) : (tensor<1x2x3x3x4xf32>) -> tensor<1x8x3x3xf32>
  %same = "graph.pack"(%u) <{block = 4 : i64}> : (tensor<1x8x3x3xf32>) -> tensor<1x2x3x3x4xf32>
  %other = "graph.pack"(%u) <{block = 2 : i64}> : (tensor<1x8x3x3xf32>) -> tensor<1x4x3x3x2xf32>
  "func.return"(%same, %other) : (tensor<1x2x3x3x4xf32>, tensor<1x4x3x3x2xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "fold"
// CHECK-NEXT:  ^bb0(%y: tensor<1x2x3x3x4xf32>):
// CHECK-NEXT:    %u = "graph.unpack"(%y) : (tensor<1x2x3x3x4xf32>) -> tensor<1x8x3x3xf32>
// CHECK-NEXT:    %other = "graph.pack"(%u) <{block = 2 : i64}> : (tensor<1x8x3x3xf32>) -> tensor<1x4x3x3x2xf32>
// CHECK-NEXT:    "func.return"(%y, %other)

// -----

// Left alone: 6 output channels (x = 4 does not divide them), a depthwise conv (1 input
// channel per group: no input block fits), weights that are not a constant.
"func.func"() <{sym_name = "left_alone", function_type = (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> (tensor<1x6x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x5x5xf32>)}> ({
^bb0(%x: tensor<1x4x5x5xf32>, %wa: tensor<4x4x1x1xf32>):
  %w6 = "graph.constant"() <{value = dense<1.0> : tensor<6x4x1x1xf32>}> : () -> tensor<6x4x1x1xf32>
  %wd = "graph.constant"() <{value = dense<1.0> : tensor<4x1x3x3xf32>}> : () -> tensor<4x1x3x3xf32>
  %a = "graph.conv"(%x, %w6) : (tensor<1x4x5x5xf32>, tensor<6x4x1x1xf32>) -> tensor<1x6x5x5xf32>
  %b = "graph.conv"(%x, %wd) <{pads = array<i64: 1, 1, 1, 1>, group = 4 : i64}> : (tensor<1x4x5x5xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x5x5xf32>
  %c = "graph.conv"(%x, %wa) : (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x5x5xf32>
  "func.return"(%a, %b, %c) : (tensor<1x6x5x5xf32>, tensor<1x4x5x5xf32>, tensor<1x4x5x5xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "left_alone"
// CHECK-NEXT:  ^bb0(%x: tensor<1x4x5x5xf32>, %wa: tensor<4x4x1x1xf32>):
// CHECK-NEXT:    %w6 = "graph.constant"()
// CHECK-NEXT:    %wd = "graph.constant"()
// CHECK-NEXT:    %a = "graph.conv"(%x, %w6) <{group = 1 : i64}> : (tensor<1x4x5x5xf32>, tensor<6x4x1x1xf32>) -> tensor<1x6x5x5xf32>
// CHECK-NEXT:    %b = "graph.conv"(%x, %wd) <{pads = array<i64: 1, 1, 1, 1>, group = 4 : i64}> : (tensor<1x4x5x5xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x5x5xf32>
// CHECK-NEXT:    %c = "graph.conv"(%x, %wa) <{group = 1 : i64}> : (tensor<1x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<1x4x5x5xf32>
// CHECK-NEXT:    "func.return"(%a, %b, %c)
