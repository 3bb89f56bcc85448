// RUN: irforge-opt %s --split-input-file -p graph-flush-denormals | filecheck %s

// Subnormal f32 values (|x| < 1.17549435e-38) become zeros of the same sign; the smallest
// normal value, ordinary values and zeros stay.
"func.func"() <{sym_name = "weights", function_type = () -> tensor<5xf32>}> ({
  %w = "graph.constant"() <{value = dense<[1.0e-40, -3.0e-41, 1.17549435e-38, -2.5, 0.0]> : tensor<5xf32>}> : () -> tensor<5xf32>
  "func.return"(%w) : (tensor<5xf32>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "weights"
// CHECK:         "graph.constant"() <{value = dense<[0.000000e+00, -0.000000e+00, 1.17549435e-38, -2.500000e+00, 0.000000e+00]> : tensor<5xf32>}>

// -----

// A splat of a subnormal value becomes a zero splat; integer constants are left alone.
"func.func"() <{sym_name = "splat_and_int", function_type = () -> (tensor<2x3xf32>, tensor<2xi64>)}> ({
  %w = "graph.constant"() <{value = dense<-1.0e-39> : tensor<2x3xf32>}> : () -> tensor<2x3xf32>
  %s = "graph.constant"() <{value = dense<[1, 0]> : tensor<2xi64>}> : () -> tensor<2xi64>
  "func.return"(%w, %s) : (tensor<2x3xf32>, tensor<2xi64>) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "splat_and_int"
// CHECK:         "graph.constant"() <{value = dense<-0.000000e+00> : tensor<2x3xf32>}>
// CHECK:         "graph.constant"() <{value = dense<[1, 0]> : tensor<2xi64>}>
