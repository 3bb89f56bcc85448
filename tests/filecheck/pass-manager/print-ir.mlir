// RUN: irforge-opt %s -p 'builtin.module(cse, func.func(dce))' --print-ir-after-all 2>&1 | filecheck %s --check-prefix=ALL
// RUN: irforge-opt %s -p 'cse,dce' --print-ir-before=dce --print-ir-after=cse 2>&1 | filecheck %s --check-prefix=SOME
// RUN: irforge-opt %s -p 'dce,cse,dce' --print-ir-after-change 2>&1 | filecheck %s --check-prefix=CHANGE
// RUN: irforge-opt %s -p 'func.func(cse)' --print-ir-after-all --print-ir-module-scope 2>&1 | filecheck %s --check-prefix=SCOPE

"func.func"() <{sym_name = "f", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  %a = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %b = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %c = "arith.addf"(%a, %b) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%c) : (f32) -> ()
}) : () -> ()
"func.func"() <{sym_name = "g", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  "func.return"(%x) : (f32) -> ()
}) : () -> ()

// After every pass: a module-level pass prints the module, a nested one the op it ran on.
// ALL:      // -----// IR Dump After cse (cse) //----- //
// ALL-NEXT: "builtin.module"() ({
// ALL:        %c = "arith.addf"(%a, %a)
// ALL:      // -----// IR Dump After dce (dce) //----- //
// ALL-NEXT: "func.func"() <{sym_name = "f"
// ALL:      // -----// IR Dump After dce (dce) //----- //
// ALL-NEXT: "func.func"() <{sym_name = "g"
// ALL-NOT:  IR Dump
// ALL:      "builtin.module"() ({

// SOME:     // -----// IR Dump After cse (cse) //----- //
// SOME:     // -----// IR Dump Before dce (dce) //----- //
// SOME-NOT: IR Dump

// Only cse changes the IR: the two dce runs print nothing.
// CHANGE-NOT: IR Dump After dce
// CHANGE:     // -----// IR Dump After cse (cse) //----- //
// CHANGE-NOT: IR Dump

// SCOPE:      // -----// IR Dump After cse (cse) ('func.func' operation: @f) //----- //
// SCOPE-NEXT: "builtin.module"() ({
// SCOPE:      // -----// IR Dump After cse (cse) ('func.func' operation: @g) //----- //
// SCOPE-NEXT: "builtin.module"() ({
