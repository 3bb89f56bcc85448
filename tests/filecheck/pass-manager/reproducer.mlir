// RUN: not irforge-opt %s --load-plugin %S/Inputs/failing_pass.py -p 'builtin.module(cse,func.func(dce,test-fail-on,cse))' --print-ir-after-failure --mlir-pass-pipeline-crash-reproducer=%t.repro.mlir 2>&1 | filecheck %s --check-prefix=FAIL
// RUN: filecheck %s --check-prefix=REPRO < %t.repro.mlir
// RUN: not irforge-opt %t.repro.mlir --load-plugin %S/Inputs/failing_pass.py --run-reproducer 2>&1 | filecheck %s --check-prefix=REPLAY

"func.func"() <{sym_name = "f", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  %a = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %b = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%b) : (f32) -> ()
}) : () -> ()
"func.func"() <{sym_name = "g", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  "func.return"(%x) : (f32) -> ()
}) : () -> ()

// FAIL:      // -----// IR Dump After test-fail-on Failed (test-fail-on) //----- //
// FAIL-NEXT: "func.func"() <{sym_name = "g"
// FAIL:      reproducer.mlir:11:1: error: pass 'test-fail-on' failed on 'func.func' op @g: RuntimeError: refusing to touch @g
// FAIL:      note: the IR before pass 'test-fail-on' and its pipeline were written to {{.*}}.repro.mlir; replay: irforge-opt {{.*}}.repro.mlir --run-reproducer

// The IR before the nested pipeline (after the first cse), and the pipeline up to the
// failing pass.
// REPRO:      "builtin.module"() ({
// REPRO:        ^bb0(%x: f32):
// REPRO-NEXT:     %b = "arith.mulf"(%x, %x)
// REPRO-NEXT:     "func.return"(%b)
// REPRO:      {-#
// REPRO-NEXT:   external_resources: {
// REPRO-NEXT:     mlir_reproducer: {
// REPRO-NEXT:       pipeline: "builtin.module(func.func(dce,test-fail-on))",
// REPRO-NEXT:       disable_threading: true,
// REPRO-NEXT:       verify_each: true
// REPRO-NEXT:     }
// REPRO-NEXT:   }
// REPRO-NEXT: #-}

// REPLAY: error: pass 'test-fail-on' failed on 'func.func' op @g: RuntimeError: refusing to touch @g
