// RUN: irforge-opt %s -p 'vectorize-loops{width=8}' | filecheck %s

// 20 iterations at 8 lanes: a vector loop over [0, 16) and a scalar remainder over
// [16, 20). The reduction nest (a store to the same element in every iteration) stays
// scalar.
"func.func"() <{sym_name = "main", function_type = (memref<20xf32>, memref<20xf32>, memref<1xf32>) -> ()}> ({
^bb0(%x: memref<20xf32>, %y: memref<20xf32>, %acc: memref<1xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c20 = "arith.constant"() <{value = 20 : index}> : () -> index
  "loop.for"(%c0, %c20, %c1) ({
  ^bb0(%i: index):
    %a = "loop.load"(%x, %i) : (memref<20xf32>, index) -> f32
    %b = "math.exp"(%a) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
    "loop.store"(%b, %y, %i) : (f32, memref<20xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.for"(%c0, %c20, %c1) ({
  ^bb0(%j: index):
    %a = "loop.load"(%x, %j) : (memref<20xf32>, index) -> f32
    %s = "loop.load"(%acc, %c0) : (memref<1xf32>, index) -> f32
    %t = "arith.addf"(%s, %a) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "loop.store"(%t, %acc, %c0) : (f32, memref<1xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK:        %[[C16:.*]] = "arith.constant"() <{value = 16 : index}> : () -> index
// CHECK-NEXT:   %[[C8:.*]] = "arith.constant"() <{value = 8 : index}> : () -> index
// CHECK-NEXT:   "loop.for"(%{{.*}}, %[[C16]], %[[C8]]) ({
// CHECK:          "vector.load"({{.*}}) : (memref<20xf32>, index) -> vector<8xf32>
// CHECK-NEXT:     "math.exp"({{.*}} : (vector<8xf32>) -> vector<8xf32>
// CHECK-NEXT:     "vector.store"({{.*}}) : (vector<8xf32>, memref<20xf32>, index) -> ()
// CHECK:        "loop.for"(%[[C16]], %{{.*}}, %{{.*}}) ({
// CHECK:          "math.exp"({{.*}} : (f32) -> f32
// CHECK:        "loop.for"(%{{.*}}, %{{.*}}, %{{.*}}) ({
// CHECK-NOT:      vector
// CHECK:          "arith.addf"({{.*}} : (f32, f32) -> f32
// CHECK:        "func.return"
