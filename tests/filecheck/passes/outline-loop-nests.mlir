// RUN: irforge-opt %s -p outline-loop-nests | filecheck %s

// Each top-level nest moves into a private noinline function; the constants it uses are
// cloned into it, the buffers (argument, global, alloc) become its arguments. Two
// get_global of one symbol are one buffer, so one argument: every memref argument is a
// distinct buffer and gets noalias; globals and allocs are 64-byte aligned.
"memref.global"() <{sym_name = "w", sym_visibility = "private", type = memref<4xf32>, initial_value = dense<1.0> : tensor<4xf32>, constant}> : () -> ()
"func.func"() <{sym_name = "main", function_type = (memref<4xf32>, memref<4xf32>) -> ()}> ({
^bb0(%x: memref<4xf32>, %y: memref<4xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %w = "memref.get_global"() <{name = @w}> : () -> memref<4xf32>
  %w2 = "memref.get_global"() <{name = @w}> : () -> memref<4xf32>
  %t = "loop.alloc"() : () -> memref<4xf32>
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%i: index):
    %a = "loop.load"(%x, %i) : (memref<4xf32>, index) -> f32
    %b = "loop.load"(%w, %i) : (memref<4xf32>, index) -> f32
    %c = "loop.load"(%w2, %i) : (memref<4xf32>, index) -> f32
    %s = "arith.addf"(%a, %b) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    %s2 = "arith.addf"(%s, %c) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "loop.store"(%s2, %t, %i) : (f32, memref<4xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%j: index):
    %v = "loop.load"(%t, %j) : (memref<4xf32>, index) -> f32
    "loop.store"(%v, %y, %j) : (f32, memref<4xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.dealloc"(%t) : (memref<4xf32>) -> ()
  "func.return"() : () -> ()
}) : () -> ()
// CHECK:       "func.func"() <{sym_name = "main",
// CHECK-NOT:   "loop.for"
// CHECK:         %[[W:.*]] = "memref.get_global"() <{name = @w}>
// CHECK:         %[[T:.*]] = "loop.alloc"()
// CHECK-NEXT:    "func.call"(%x, %[[W]], %[[T]]) <{callee = @main__nest0}>
// CHECK-NEXT:    "func.call"(%[[T]], %y) <{callee = @main__nest1}>
// CHECK-NEXT:    "loop.dealloc"(%[[T]])
// CHECK-NEXT:    "func.return"
// CHECK:       sym_name = "main__nest0", function_type = (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> (), sym_visibility = "private", arg_attrs = [{llvm.noalias}, {llvm.noalias, llvm.align = 64 : i64}, {llvm.noalias, llvm.align = 64 : i64}]
// CHECK-NEXT:  ^bb0(%[[A0:.*]]: memref<4xf32>, %[[A1:.*]]: memref<4xf32>, %[[A2:.*]]: memref<4xf32>):
// CHECK-NEXT:    "arith.constant"() <{value = 0 : index}>
// CHECK-NEXT:    "arith.constant"() <{value = 4 : index}>
// CHECK-NEXT:    "arith.constant"() <{value = 1 : index}>
// CHECK-NEXT:    "loop.for"
// CHECK:           "loop.load"(%[[A0]],
// CHECK-NEXT:      "loop.load"(%[[A1]],
// CHECK-NEXT:      "loop.load"(%[[A1]],
// CHECK:           "loop.store"({{.*}}, %[[A2]],
// CHECK:         "func.return"
// CHECK-NEXT:  }) {passthrough = ["noinline"]}
// CHECK:       sym_name = "main__nest1", function_type = (memref<4xf32>, memref<4xf32>) -> (), sym_visibility = "private", arg_attrs = [{llvm.noalias, llvm.align = 64 : i64}, {llvm.noalias}]
