// RUN: irforge-opt %s -p 'cse,func.func(dce)' --timing 2>&1 | filecheck %s --check-prefix=TIMING
// RUN: irforge-opt %s -p 'func.func(cse,dce)' --pass-statistics 2>&1 | filecheck %s --check-prefix=STATS

"func.func"() <{sym_name = "f", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  %a = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %b = "arith.mulf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %dead = "arith.addf"(%x, %x) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%b) : (f32) -> ()
}) : () -> ()

// TIMING:      ... Execution time report ...
// TIMING:      Total Execution Time: {{[0-9]+\.[0-9]+}} seconds
// TIMING:      ----Wall Time----  ----Name----
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Parser
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Verifier
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  cse
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  'func.func' Pipeline
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)    dce
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)    Verifier
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Output
// TIMING-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Rest
// TIMING-NEXT: {{[0-9.]+}} (100.0%)  Total

// STATS:      ... Pass statistics report ...
// STATS:      'func.func' Pipeline
// STATS-NEXT:   cse
// STATS-NEXT:     (S) 2 ops-erased
// STATS-NEXT:   dce
// STATS-NEXT:     (S) 0 ops-erased
