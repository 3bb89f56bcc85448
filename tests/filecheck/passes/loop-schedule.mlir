// RUN: echo '{"version": 1, "steps": [{"primitive": "split", "func": "main", "loops": [[0]], "args": {"factor": 4}}, {"primitive": "vectorize", "func": "main", "loops": [[0, 0]], "args": {"width": 4}}]}' > %t.json
// RUN: irforge-opt %s -p 'loop-schedule{file="%t.json"}' | filecheck %s

// split by 4 (it divides 16: no min bound), then vectorize the inner loop by 4: one
// vector iteration per chunk, no remainder; the invariant scale is loaded once per
// iteration and broadcast.
"func.func"() <{sym_name = "main", function_type = (memref<16xf32>, memref<1xf32>, memref<16xf32>) -> ()}> ({
^bb0(%x: memref<16xf32>, %s: memref<1xf32>, %y: memref<16xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c16 = "arith.constant"() <{value = 16 : index}> : () -> index
  "loop.for"(%c0, %c16, %c1) ({
  ^bb0(%i: index):
    %a = "loop.load"(%x, %i) : (memref<16xf32>, index) -> f32
    %k = "loop.load"(%s, %c0) : (memref<1xf32>, index) -> f32
    %b = "arith.mulf"(%a, %k) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "loop.store"(%b, %y, %i) : (f32, memref<16xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK:      ^{{.*}}(%[[X:.*]]: memref<16xf32>, %[[S:.*]]: memref<1xf32>, %[[Y:.*]]: memref<16xf32>):
// CHECK:        "loop.for"(%{{.*}}, %{{.*}}, %{{.*}}) ({
// CHECK-NEXT:   ^{{.*}}(%[[IO:.*]]: index):
// CHECK-NEXT:     %[[C4:.*]] = "arith.constant"() <{value = 4 : index}> : () -> index
// CHECK-NEXT:     %[[END:.*]] = "arith.addi"(%[[IO]], %[[C4]])
// CHECK-NEXT:     %[[W:.*]] = "arith.constant"() <{value = 4 : index}> : () -> index
// CHECK-NEXT:     "loop.for"(%[[IO]], %[[END]], %[[W]]) ({
// CHECK-NEXT:     ^{{.*}}(%[[I:.*]]: index):
// CHECK-NEXT:       %[[A:.*]] = "vector.load"(%[[X]], %[[I]]) : (memref<16xf32>, index) -> vector<4xf32>
// CHECK-NEXT:       %[[K:.*]] = "loop.load"(%[[S]], %{{.*}}) : (memref<1xf32>, index) -> f32
// CHECK-NEXT:       %[[KV:.*]] = "vector.broadcast"(%[[K]]) : (f32) -> vector<4xf32>
// CHECK-NEXT:       %[[B:.*]] = "arith.mulf"(%[[A]], %[[KV]]) {{.*}} : (vector<4xf32>, vector<4xf32>) -> vector<4xf32>
// CHECK-NEXT:       "vector.store"(%[[B]], %[[Y]], %[[I]]) : (vector<4xf32>, memref<16xf32>, index) -> ()
// CHECK-NEXT:       "loop.yield"() : () -> ()
// CHECK-NEXT:     }) : (index, index, index) -> ()
// CHECK-NEXT:     "loop.yield"() : () -> ()
// CHECK-NEXT:   }) : (index, index, index) -> ()
// CHECK-NEXT:   "func.return"() : () -> ()
