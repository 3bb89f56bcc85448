// RUN: irforge-opt %s | irforge-opt | filecheck %s
// xDSL's llvm dialect, as convert-loop-to-llvm produces it, round-trips in generic form.

// RUN: irforge-opt %s -p convert-graph-to-tensor,convert-tensor-to-loop,convert-loop-to-llvm | irforge-opt | filecheck %s --check-prefix=LOWERED

"func.func"() <{sym_name = "relu", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4xf32>):
  %r = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()

// CHECK:         "graph.relu"
// LOWERED:       "llvm.func"()
// LOWERED-SAME:  sym_name = "relu"
// LOWERED:       "llvm.getelementptr"
// LOWERED:       "llvm.load"
// LOWERED:       "llvm.call_intrinsic"
// LOWERED:       "llvm.store"
// LOWERED:       "llvm.cond_br"
// LOWERED:       "llvm.return"
