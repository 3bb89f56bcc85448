// RUN: irforge-opt %s | irforge-opt | filecheck %s

"func.func"() <{sym_name = "math_ops", function_type = (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>}> ({
^bb0(%x: tensor<2x3xf32>, %b: tensor<3xf32>):
  %div = "graph.div"(%x, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %pow = "graph.pow"(%div, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %max = "graph.max"(%pow, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %min = "graph.min"(%max, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %sqrt = "graph.sqrt"(%min) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %exp = "graph.exp"(%sqrt) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %log = "graph.log"(%exp) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %abs = "graph.abs"(%log) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %neg = "graph.neg"(%abs) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %rec = "graph.reciprocal"(%neg) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %tanh = "graph.tanh"(%rec) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %erf = "graph.erf"(%tanh) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %sig = "graph.sigmoid"(%erf) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %sp = "graph.softplus"(%sig) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %gelu = "graph.gelu"(%sp) <{approximate = "tanh"}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %lr = "graph.leaky_relu"(%gelu) <{alpha = 1.000000e-01 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %elu = "graph.elu"(%lr) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %hs = "graph.hard_sigmoid"(%elu) <{alpha = 2.500000e-01 : f32, beta = 5.000000e-01 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %clip = "graph.clip"(%hs) <{min = 0.000000e+00 : f32, max = 6.000000e+00 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %clip1 = "graph.clip"(%clip) <{max = 1.000000e+00 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"(%clip1) : (tensor<2x3xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: "func.func"() <{sym_name = "math_ops"
// CHECK:      "graph.div"(%x, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: "graph.pow"(%div, %b)
// CHECK-NEXT: "graph.max"(%pow, %b)
// CHECK-NEXT: "graph.min"(%max, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: "graph.sqrt"(%min) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: "graph.exp"
// CHECK-NEXT: "graph.log"
// CHECK-NEXT: "graph.abs"
// CHECK-NEXT: "graph.neg"
// CHECK-NEXT: "graph.reciprocal"
// CHECK-NEXT: "graph.tanh"
// CHECK-NEXT: "graph.erf"
// CHECK-NEXT: "graph.sigmoid"
// CHECK-NEXT: "graph.softplus"
// CHECK-NEXT: "graph.gelu"(%sp) <{approximate = "tanh"}>
// CHECK-NEXT: "graph.leaky_relu"(%gelu) <{alpha = 1.000000e-01 : f32}>
// CHECK-NEXT: "graph.elu"(%lr) <{alpha = 1.000000e+00 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: "graph.hard_sigmoid"(%elu) <{alpha = 2.500000e-01 : f32, beta = 5.000000e-01 : f32}>
// CHECK-NEXT: "graph.clip"(%hs) <{min = 0.000000e+00 : f32, max = 6.000000e+00 : f32}>
// CHECK-NEXT: "graph.clip"(%clip) <{max = 1.000000e+00 : f32}>

"func.func"() <{sym_name = "reductions", function_type = (tensor<2x3x4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>):
  %sum = "graph.reduce_sum"(%x) <{axes = array<i64: 1>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  %mean = "graph.reduce_mean"(%x) <{axes = array<i64: 0, -1>, keepdims = 1 : i64}> : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
  %max = "graph.reduce_max"(%x) <{axes = array<i64: 0, 1, 2>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<f32>
  %min = "graph.reduce_min"(%x) <{axes = array<i64: 2>}> : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %prod = "graph.reduce_prod"(%x) <{axes = array<i64>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %ln = "graph.layer_norm"(%x, %s) <{axis = -1 : i64, epsilon = 1.000000e-05 : f32}> : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %ln2 = "graph.layer_norm"(%x, %s, %s) <{axis = 1 : i64, epsilon = 1.000000e-03 : f32}> : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: "func.func"() <{sym_name = "reductions"
// CHECK:      "graph.reduce_sum"(%x) <{axes = array<i64: 1>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: "graph.reduce_mean"(%x) <{axes = array<i64: 0, -1>, keepdims = 1 : i64}> : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
// CHECK-NEXT: "graph.reduce_max"(%x) <{axes = array<i64: 0, 1, 2>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<f32>
// CHECK-NEXT: "graph.reduce_min"(%x) <{axes = array<i64: 2>, keepdims = 1 : i64}> : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
// CHECK-NEXT: "graph.reduce_prod"(%x) <{axes = array<i64>, keepdims = 0 : i64}> : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: "graph.layer_norm"(%x, %s) <{axis = -1 : i64, epsilon = 1.000000e-05 : f32}> : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: "graph.layer_norm"(%x, %s, %s) <{axis = 1 : i64, epsilon = 1.000000e-03 : f32}>
