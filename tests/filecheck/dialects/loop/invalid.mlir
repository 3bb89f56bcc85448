// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (memref<4x4xf32>, index) -> ()}> ({
^bb0(%m: memref<4x4xf32>, %i: index):
  // expected-error @+1 {{'loop.load' op expects 2 indices for memref<4x4xf32>, got 1}}
  %v = "loop.load"(%m, %i) : (memref<4x4xf32>, index) -> f32
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (memref<4xf32>, index) -> ()}> ({
^bb0(%m: memref<4xf32>, %i: index):
  // expected-error @+1 {{'loop.load' op result type f64 differs from the element type of memref<4xf32>}}
  %v = "loop.load"(%m, %i) : (memref<4xf32>, index) -> f64
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (memref<4xf32>, index, f64) -> ()}> ({
^bb0(%m: memref<4xf32>, %i: index, %v: f64):
  // expected-error @+1 {{'loop.store' op value type f64 differs from the element type of memref<4xf32>}}
  "loop.store"(%v, %m, %i) : (f64, memref<4xf32>, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (index) -> ()}> ({
^bb0(%n: index):
  // expected-error @+1 {{'loop.for' op body must have exactly one index argument (the induction variable), got []}}
  "loop.for"(%n, %n, %n) ({
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = () -> ()}> ({
  // expected-error @+1 {{'loop.alloc' op result must have a static shape, got memref<?xf32>}}
  %t = "loop.alloc"() : () -> memref<?xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = () -> ()}> ({
  // expected-error @+1 {{'loop.yield' expects parent op 'loop.for'}}
  "loop.yield"() : () -> ()
}) : () -> ()
