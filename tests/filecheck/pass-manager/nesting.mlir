// RUN: irforge-opt %s -p 'builtin.module(func.func(cse,dce))' | filecheck %s
// RUN: irforge-opt %s -p 'func.func(cse,dce)' | filecheck %s
// RUN: not irforge-opt %s -p 'func.func(cse,dce{bogus=1})' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not irforge-opt %s -p 'func.func(cse' 2>&1 | filecheck %s --check-prefix=SYNTAX

// A nested pipeline runs on each func.func: duplicates and dead ops go in both functions.
"func.func"() <{sym_name = "f", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  %a = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %b = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %c = "arith.addf"(%a, %b) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%c) : (f32) -> ()
}) : () -> ()
"func.func"() <{sym_name = "g", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  %dead = "arith.addf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%x) : (f32) -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "f"
// CHECK:       %a = "arith.mulf"(%x, %x)
// CHECK-NEXT:  %c = "arith.addf"(%a, %a)
// CHECK-LABEL: sym_name = "g"
// CHECK-NEXT:  ^bb0(%x: f32):
// CHECK-NEXT:  "func.return"(%x)

// OPTION: error: pass 'dce' has no option 'bogus'; its options: none
// OPTION-NEXT: func.func(cse,dce{bogus=1})
// OPTION-NEXT: ^

// SYNTAX: error: bad pipeline: expected ')', found the end
