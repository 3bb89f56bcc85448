// RUN: irforge-opt %s | irforge-opt | filecheck %s

// Scale a buffer into a temporary, then copy it out: for, load, store, alloc, dealloc.
"func.func"() <{sym_name = "scale", function_type = (memref<4x8xf32>, memref<4x8xf32>) -> ()}> ({
^bb0(%x: memref<4x8xf32>, %out: memref<4x8xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %c8 = "arith.constant"() <{value = 8 : index}> : () -> index
  %two = "arith.constant"() <{value = 2.000000e+00 : f32}> : () -> f32
  %t = "loop.alloc"() : () -> memref<4x8xf32>
  "loop.for"(%c0, %c4, %c1) <{parallel}> ({
  ^bb0(%i: index):
    "loop.for"(%c0, %c8, %c1) ({
    ^bb1(%j: index):
      %v = "loop.load"(%x, %i, %j) : (memref<4x8xf32>, index, index) -> f32
      %w = "arith.mulf"(%v, %two) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
      "loop.store"(%w, %t, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.dealloc"(%t) : (memref<4x8xf32>) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK:      %t = "loop.alloc"() : () -> memref<4x8xf32>
// CHECK-NEXT: "loop.for"(%c0, %c4, %c1) <{parallel}> ({
// CHECK-NEXT: ^bb0(%i: index):
// CHECK-NEXT:   "loop.for"(%c0, %c8, %c1) ({
// CHECK-NEXT:   ^bb{{[0-9]+}}(%j: index):
// CHECK-NEXT:     %v = "loop.load"(%x, %i, %j) : (memref<4x8xf32>, index, index) -> f32
// CHECK:          "loop.store"(%w, %t, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
// CHECK-NEXT:     "loop.yield"() : () -> ()
// CHECK:      "loop.dealloc"(%t) : (memref<4x8xf32>) -> ()
