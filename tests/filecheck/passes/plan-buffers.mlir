// RUN: irforge-opt %s -p plan-buffers | filecheck %s

// Three 256-byte buffers: %a (live from call 0 to call 1) and %c (calls 2 to 3) never live
// at once and share bytes 0-255; %b overlaps both and gets bytes 256-511. One i8 arena
// replaces the allocs, one dealloc of it replaces theirs.
"func.func"() <{sym_name = "nest", function_type = (memref<64xf32>, memref<64xf32>) -> (), sym_visibility = "private"}> ({
^bb0(%p: memref<64xf32>, %q: memref<64xf32>):
  "func.return"() : () -> ()
}) : () -> ()
"func.func"() <{sym_name = "main", function_type = (memref<64xf32>, memref<64xf32>) -> ()}> ({
^bb0(%x: memref<64xf32>, %out: memref<64xf32>):
  %a = "loop.alloc"() : () -> memref<64xf32>
  "func.call"(%x, %a) <{callee = @nest}> : (memref<64xf32>, memref<64xf32>) -> ()
  %b = "loop.alloc"() : () -> memref<64xf32>
  "func.call"(%a, %b) <{callee = @nest}> : (memref<64xf32>, memref<64xf32>) -> ()
  %c = "loop.alloc"() : () -> memref<64xf32>
  "func.call"(%b, %c) <{callee = @nest}> : (memref<64xf32>, memref<64xf32>) -> ()
  "func.call"(%c, %out) <{callee = @nest}> : (memref<64xf32>, memref<64xf32>) -> ()
  "loop.dealloc"(%a) : (memref<64xf32>) -> ()
  "loop.dealloc"(%b) : (memref<64xf32>) -> ()
  "loop.dealloc"(%c) : (memref<64xf32>) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "main"
// CHECK:         %[[ARENA:.*]] = "loop.alloc"() : () -> memref<512xi8>
// CHECK-NEXT:    %[[A:.*]] = "loop.view"(%[[ARENA]]) <{byte_offset = 0 : i64}> : (memref<512xi8>) -> memref<64xf32>
// CHECK-NEXT:    "func.call"(%{{.*}}, %[[A]])
// CHECK-NEXT:    %[[B:.*]] = "loop.view"(%[[ARENA]]) <{byte_offset = 256 : i64}> : (memref<512xi8>) -> memref<64xf32>
// CHECK-NEXT:    "func.call"(%[[A]], %[[B]])
// CHECK-NEXT:    %[[C:.*]] = "loop.view"(%[[ARENA]]) <{byte_offset = 0 : i64}> : (memref<512xi8>) -> memref<64xf32>
// CHECK-NEXT:    "func.call"(%[[B]], %[[C]])
// CHECK-NEXT:    "func.call"(%[[C]], %{{.*}})
// CHECK-NEXT:    "loop.dealloc"(%[[ARENA]]) : (memref<512xi8>) -> ()
// CHECK-NEXT:    "func.return"() : () -> ()
