// RUN: irforge-opt %s -p canonicalize --split-input-file | filecheck %s

"func.func"() <{sym_name = "add_zero", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.add"(%x, %z) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "add_zero"
// CHECK-NOT:   "graph.add"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "add_zero_swapped", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<8xf32>}> : () -> tensor<8xf32>
  %r = "graph.add"(%z, %x) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "add_zero_swapped"
// 0 + x: add_zero matches graph.add in either operand order (Commutative).
// CHECK-NOT:   "graph.add"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "add_zero_broadcast_kept", function_type = (tensor<8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.add"(%x, %z) : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "add_zero_broadcast_kept"
// The zero grows x from [8] to [4, 8]: not an identity.
// CHECK:       "graph.add"(%x, %z)

// -----

"func.func"() <{sym_name = "add_zero_swapped_broadcast_kept", function_type = (tensor<8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.add"(%z, %x) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "add_zero_swapped_broadcast_kept"
// The same guard in the other operand order: 0 + x grows x, so the add stays.
// CHECK:       "graph.add"(%z, %x)

// -----

"func.func"() <{sym_name = "sub_zero", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.sub"(%x, %z) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "sub_zero"
// CHECK-NOT:   "graph.sub"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "zero_sub_kept", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.sub"(%z, %x) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "zero_sub_kept"
// 0 - x is -x, not x.
// CHECK:       "graph.sub"(%z, %x)

// -----

"func.func"() <{sym_name = "mul_one", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %o = "graph.constant"() <{value = dense<1.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %r = "graph.mul"(%x, %o) : (tensor<4x8xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_one"
// CHECK-NOT:   "graph.mul"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "mul_one_swapped", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %o = "graph.constant"() <{value = dense<1.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.mul"(%o, %x) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_one_swapped"
// 1 * x: mul_one matches graph.mul in either operand order.
// CHECK-NOT:   "graph.mul"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "mul_one_swapped_broadcast_kept", function_type = (tensor<8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<8xf32>):
  %o = "graph.constant"() <{value = dense<1.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.mul"(%o, %x) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_one_swapped_broadcast_kept"
// 1 * x where the one grows x from [8] to [4, 8]: kept, in this order too.
// CHECK:       "graph.mul"(%o, %x)

// -----

"func.func"() <{sym_name = "mul_zero_nonconstant_kept", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.mul"(%x, %z) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_zero_nonconstant_kept"
// x may hold Inf or NaN, and 0 * Inf is NaN: not folded.
// CHECK:       "graph.mul"(%x, %z)

// -----

"func.func"() <{sym_name = "mul_zero_swapped_nonconstant_kept", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %z = "graph.constant"() <{value = dense<0.0> : tensor<4x8xf32>}> : () -> tensor<4x8xf32>
  %r = "graph.mul"(%z, %x) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%r) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_zero_swapped_nonconstant_kept"
// 0 * x, x not a constant: kept in this order too.
// CHECK:       "graph.mul"(%z, %x)

// -----

"func.func"() <{sym_name = "mul_zero", function_type = () -> tensor<2x2xf32>}> ({
^bb0():
  %w = "graph.constant"() <{value = dense<[[1.0, -2.0], [3.0, 4.0]]> : tensor<2x2xf32>}> : () -> tensor<2x2xf32>
  %z = "graph.constant"() <{value = dense<0.0> : tensor<2x2xf32>}> : () -> tensor<2x2xf32>
  %r = "graph.mul"(%w, %z) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  "func.return"(%r) : (tensor<2x2xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_zero"
// CHECK:       %r = "graph.constant"() <{value = dense<0.000000e+00> : tensor<2x2xf32>}>
// CHECK-NEXT:  "func.return"(%r)

// -----

"func.func"() <{sym_name = "mul_zero_swapped", function_type = () -> tensor<2x2xf32>}> ({
^bb0():
  %w = "graph.constant"() <{value = dense<[[1.0, -2.0], [3.0, 4.0]]> : tensor<2x2xf32>}> : () -> tensor<2x2xf32>
  %z = "graph.constant"() <{value = dense<0.0> : tensor<2xf32>}> : () -> tensor<2xf32>
  %r = "graph.mul"(%z, %w) : (tensor<2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  "func.return"(%r) : (tensor<2x2xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "mul_zero_swapped"
// 0 * x: mul_zero matches graph.mul in either operand order.
// CHECK:       %r = "graph.constant"() <{value = dense<0.000000e+00> : tensor<2x2xf32>}>
// CHECK-NEXT:  "func.return"(%r)

// -----

"func.func"() <{sym_name = "transpose_transpose_identity", function_type = (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>}> ({
^bb0(%x: tensor<2x3x4xf32>):
  %a = "graph.transpose"(%x) <{perm = array<i64: 2, 0, 1>}> : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %b = "graph.transpose"(%a) <{perm = array<i64: 1, 2, 0>}> : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
  "func.return"(%b) : (tensor<2x3x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "transpose_transpose_identity"
// CHECK-NOT:   "graph.transpose"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "transpose_transpose", function_type = (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>}> ({
^bb0(%x: tensor<2x3x4xf32>):
  %a = "graph.transpose"(%x) <{perm = array<i64: 2, 0, 1>}> : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %b = "graph.transpose"(%a) <{perm = array<i64: 2, 0, 1>}> : (tensor<4x2x3xf32>) -> tensor<3x4x2xf32>
  "func.return"(%b) : (tensor<3x4x2xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "transpose_transpose"
// perm (p∘q)[i] = p[q[i]] = [1, 2, 0]
// CHECK:       %b = "graph.transpose"(%x) <{perm = array<i64: 1, 2, 0>}> : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
// CHECK-NEXT:  "func.return"(%b)

// -----

"func.func"() <{sym_name = "transpose_identity", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.transpose"(%x) <{perm = array<i64: 0, 1>}> : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%a) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "transpose_identity"
// CHECK-NOT:   "graph.transpose"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "reshape_reshape", function_type = (tensor<4x8xf32>) -> tensor<32xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.reshape"(%x) : (tensor<4x8xf32>) -> tensor<2x16xf32>
  %b = "graph.reshape"(%a) : (tensor<2x16xf32>) -> tensor<32xf32>
  "func.return"(%b) : (tensor<32xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "reshape_reshape"
// CHECK:       %b = "graph.reshape"(%x) : (tensor<4x8xf32>) -> tensor<32xf32>
// CHECK-NEXT:  "func.return"(%b)

// -----

"func.func"() <{sym_name = "reshape_noop", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.reshape"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%a) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "reshape_noop"
// CHECK-NOT:   "graph.reshape"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "reshape_roundtrip", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.reshape"(%x) : (tensor<4x8xf32>) -> tensor<2x16xf32>
  %b = "graph.reshape"(%a) : (tensor<2x16xf32>) -> tensor<4x8xf32>
  "func.return"(%b) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "reshape_roundtrip"
// reshape(reshape(x)) back to x's own shape: nothing left.
// CHECK-NOT:   "graph.reshape"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "matmul_of_flattened_rows", function_type = (tensor<2x3x8xf32>, tensor<8x5xf32>) -> tensor<2x3x5xf32>}> ({
^bb0(%x: tensor<2x3x8xf32>, %w: tensor<8x5xf32>):
  %a = "graph.reshape"(%x) : (tensor<2x3x8xf32>) -> tensor<6x8xf32>
  %m = "graph.matmul"(%a, %w) : (tensor<6x8xf32>, tensor<8x5xf32>) -> tensor<6x5xf32>
  %b = "graph.reshape"(%m) : (tensor<6x5xf32>) -> tensor<2x3x5xf32>
  "func.return"(%b) : (tensor<2x3x5xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_of_flattened_rows"
// torch's Linear on 3-D input (view, addmm, view): one N-D matmul, no reshapes.
// CHECK-NOT:   "graph.reshape"
// CHECK:       %b = "graph.matmul"(%x, %w) : (tensor<2x3x8xf32>, tensor<8x5xf32>) -> tensor<2x3x5xf32>
// CHECK-NEXT:  "func.return"(%b)

// -----

"func.func"() <{sym_name = "matmul_of_regrouped_rows", function_type = (tensor<2x3x8xf32>, tensor<8x5xf32>) -> tensor<3x2x5xf32>}> ({
^bb0(%x: tensor<2x3x8xf32>, %w: tensor<8x5xf32>):
  %a = "graph.reshape"(%x) : (tensor<2x3x8xf32>) -> tensor<6x8xf32>
  %m = "graph.matmul"(%a, %w) : (tensor<6x8xf32>, tensor<8x5xf32>) -> tensor<6x5xf32>
  %b = "graph.reshape"(%m) : (tensor<6x5xf32>) -> tensor<3x2x5xf32>
  "func.return"(%b) : (tensor<3x2x5xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_of_regrouped_rows"
// The result's leading dims [3, 2] are not x's [2, 3]: the reshapes stay.
// CHECK:       "graph.reshape"(%x)
// CHECK:       "graph.matmul"
// CHECK:       "graph.reshape"

// -----

"func.func"() <{sym_name = "matmul_of_transposed_shape", function_type = (tensor<3x6xf32>, tensor<3x2xf32>) -> tensor<3x4xf32>}> ({
^bb0(%x: tensor<3x6xf32>, %w: tensor<3x2xf32>):
  %a = "graph.reshape"(%x) : (tensor<3x6xf32>) -> tensor<6x3xf32>
  %m = "graph.matmul"(%a, %w) : (tensor<6x3xf32>, tensor<3x2xf32>) -> tensor<6x2xf32>
  %b = "graph.reshape"(%m) : (tensor<6x2xf32>) -> tensor<3x4xf32>
  "func.return"(%b) : (tensor<3x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_of_transposed_shape"
// The leading dims agree ([3] and [3]) but the first reshape does not keep x's last dim
// (K = 3, x's is 6): a different product, the reshapes stay (found by the pattern fuzzer).
// CHECK:       "graph.reshape"(%x)
// CHECK:       "graph.matmul"
// CHECK:       "graph.reshape"

// -----

"func.func"() <{sym_name = "relu_relu", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = "graph.relu"(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %c = "graph.relu"(%b) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%c) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "relu_relu"
// CHECK:       %a = "graph.relu"(%x)
// CHECK-NEXT:  "func.return"(%a)

// -----

"func.func"() <{sym_name = "identity", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.identity"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = "graph.identity"(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%b) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "identity"
// CHECK-NOT:   "graph.identity"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "gemm_zero_beta", function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>):
  %c = "graph.constant"() <{value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>}> : () -> tensor<4xf32>
  %r = "graph.gemm"(%a, %b, %c) <{alpha = 2.0 : f32, beta = 0.0 : f32}> : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "gemm_zero_beta"
// CHECK:       %r = "graph.gemm"(%a, %b) <{alpha = 2.000000e+00 : f32, beta = 1.000000e+00 : f32, transA = 0 : i64, transB = 0 : i64}> : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>

// -----

"func.func"() <{sym_name = "gemm_zero_c", function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>):
  %c = "graph.constant"() <{value = dense<0.0> : tensor<2x4xf32>}> : () -> tensor<2x4xf32>
  %r = "graph.gemm"(%a, %b, %c) <{alpha = 2.0 : f32, beta = 3.0 : f32}> : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "gemm_zero_c"
// CHECK:       %r = "graph.gemm"(%a, %b) <{alpha = 2.000000e+00 : f32, beta = 1.000000e+00 : f32

// -----

"func.func"() <{sym_name = "gemm_to_matmul", function_type = (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>):
  %r = "graph.gemm"(%a, %b) <{alpha = 1.0 : f32, beta = 0.5 : f32}> : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "gemm_to_matmul"
// CHECK:       %r = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>

// -----

"func.func"() <{sym_name = "matmul_add_to_gemm", function_type = (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4xf32>):
  %m = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %r = "graph.add"(%m, %c) : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_add_to_gemm"
// CHECK:       %r = "graph.gemm"(%a, %b, %c)
// CHECK-NOT:   "graph.add"

// -----

"func.func"() <{sym_name = "matmul_add_to_gemm_swapped", function_type = (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<2x4xf32>):
  %m = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %r = "graph.add"(%c, %m) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%r) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_add_to_gemm_swapped"
// c + (a @ b): matmul_add_to_gemm matches graph.add in either operand order.
// CHECK:       %r = "graph.gemm"(%a, %b, %c)
// CHECK-NOT:   "graph.add"

// -----

"func.func"() <{sym_name = "matmul_add_two_uses_kept", function_type = (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<2x4xf32>):
  %m = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %r = "graph.add"(%m, %c) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = "graph.mul"(%r, %m) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%s) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_add_two_uses_kept"
// The product is used twice: fusing would compute it twice.
// CHECK:       "graph.matmul"
// CHECK:       "graph.add"

// -----

"func.func"() <{sym_name = "matmul_add_swapped_two_uses_kept", function_type = (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>}> ({
^bb0(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<2x4xf32>):
  %m = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %r = "graph.add"(%c, %m) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = "graph.mul"(%r, %m) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  "func.return"(%s) : (tensor<2x4xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "matmul_add_swapped_two_uses_kept"
// c + (a @ b) with the product used twice: kept in this order too.
// CHECK:       "graph.matmul"
// CHECK:       "graph.add"(%c, %m)

// -----

"func.func"() <{sym_name = "constant_fold", function_type = () -> tensor<2xf32>}> ({
^bb0():
  %a = "graph.constant"() <{value = dense<[1.0, -2.0]> : tensor<2xf32>}> : () -> tensor<2xf32>
  %b = "graph.constant"() <{value = dense<[3.0, 5.0]> : tensor<2xf32>}> : () -> tensor<2xf32>
  %s = "graph.add"(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r = "graph.relu"(%s) : (tensor<2xf32>) -> tensor<2xf32>
  "func.return"(%r) : (tensor<2xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "constant_fold"
// CHECK:       %r = "graph.constant"() <{value = dense<[4.000000e+00, 3.000000e+00]> : tensor<2xf32>}>
// CHECK-NEXT:  "func.return"(%r)

// -----

"func.func"() <{sym_name = "constant_fold_splat", function_type = () -> tensor<2x3xf32>}> ({
^bb0():
  %a = "graph.constant"() <{value = dense<2.0> : tensor<3x2xf32>}> : () -> tensor<3x2xf32>
  %r = "graph.transpose"(%a) <{perm = array<i64: 1, 0>}> : (tensor<3x2xf32>) -> tensor<2x3xf32>
  "func.return"(%r) : (tensor<2x3xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "constant_fold_splat"
// CHECK:       %r = "graph.constant"() <{value = dense<2.000000e+00> : tensor<2x3xf32>}>

// -----

"func.func"() <{sym_name = "dead_code", function_type = (tensor<4x8xf32>) -> tensor<4x8xf32>}> ({
^bb0(%x: tensor<4x8xf32>):
  %a = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = "graph.relu"(%a) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  "func.return"(%x) : (tensor<4x8xf32>) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "dead_code"
// CHECK-NOT:   "graph.relu"
// CHECK:       "func.return"(%x)

// -----

"func.func"() <{sym_name = "arith_folding", function_type = () -> i32}> ({
^bb0():
  %a = "arith.constant"() <{value = 2 : i32}> : () -> i32
  %b = "arith.constant"() <{value = 3 : i32}> : () -> i32
  %s = "arith.addi"(%a, %b) : (i32, i32) -> i32
  "func.return"(%s) : (i32) -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "arith_folding"
// Other dialects: xDSL's folders and canonicalization patterns.
// CHECK:       "arith.constant"() <{value = 5 : i32}>
// CHECK-NOT:   "arith.addi"
