// RUN: irforge-opt %s --split-input-file -p 'parallelize-loops{num-threads=2 min-work=64}' | filecheck %s
// RUN: irforge-opt %s --split-input-file -p 'parallelize-loops{num-threads=1 min-work=0}' | filecheck %s --check-prefix=SERIAL
// RUN: irforge-opt %s --split-input-file -p 'parallelize-loops{num-threads=2 min-work=64},convert-loop-to-llvm' | filecheck %s --check-prefix=LLVM

// A batch loop of one iteration is skipped for the parallel loop it wraps; the outlined
// function takes the captured buffers and the loop's bounds; the serial reduction loop
// inside runs in each thread. The call passes the bounds and says how to split them.
"func.func"() <{sym_name = "rowsum", function_type = (memref<1x64x16xf32>, memref<1x64xf32>) -> ()}> ({
^bb0(%x: memref<1x64x16xf32>, %y: memref<1x64xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c16 = "arith.constant"() <{value = 16 : index}> : () -> index
  %c64 = "arith.constant"() <{value = 64 : index}> : () -> index
  "loop.for"(%c0, %c1, %c1) <{parallel}> ({
  ^bb0(%b: index):
    "loop.for"(%c0, %c64, %c1) <{parallel}> ({
    ^bb0(%i: index):
      "loop.for"(%c0, %c16, %c1) ({
      ^bb0(%k: index):
        %v = "loop.load"(%x, %b, %i, %k) : (memref<1x64x16xf32>, index, index, index) -> f32
        %a = "loop.load"(%y, %b, %i) : (memref<1x64xf32>, index, index) -> f32
        %s = "arith.addf"(%a, %v) : (f32, f32) -> f32
        "loop.store"(%s, %y, %b, %i) : (f32, memref<1x64xf32>, index, index) -> ()
        "loop.yield"() : () -> ()
      }) : (index, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "rowsum"
// CHECK:         "loop.for"(%c0, %c1, %c1) <{parallel}>
// CHECK-NEXT:    ^bb0(%b: index):
// CHECK-NEXT:      "func.call"(%x, %b, %y, %c0, %c64) <{callee = @rowsum__par0}> {irforge.parallel = {num_threads = 2 : i64, step = 1 : i64}}
// CHECK:       sym_name = "rowsum__par0", function_type = (memref<1x64x16xf32>, index, memref<1x64xf32>, index, index) -> ()
// CHECK-SAME:    sym_visibility = "private"
// CHECK-NEXT:  ^bb0(%{{.*}}: memref<1x64x16xf32>, %[[B:.*]]: index, %{{.*}}: memref<1x64xf32>, %lo: index, %hi: index):
// CHECK:         "loop.for"(%lo, %hi, %{{.*}}) <{parallel}>
// CHECK:           "loop.for"(%{{.*}}) ({

// SERIAL-NOT:  func.call
// SERIAL-NOT:  __par

// LLVM-LABEL:  sym_name = "rowsum"
// LLVM:          "llvm.alloca"
// LLVM:          "llvm.mlir.addressof"() <{global_name = @rowsum__par0__omp}>
// LLVM:          "llvm.call"({{.*}}) <{callee = @irforge_parallel_for,
// LLVM:        sym_name = "rowsum__par0"
// LLVM:        sym_name = "rowsum__par0__omp", function_type = !llvm.func<void (!llvm.ptr, i64, i64)>
// LLVM-NOT:      omp_get
// LLVM:          "llvm.call"({{.*}}) <{callee = @rowsum__par0,
// LLVM:        sym_name = "irforge_parallel_for", function_type = !llvm.func<void (!llvm.ptr, !llvm.ptr, i64)>

// -----

// Too little work for a parallel region: unchanged.
"func.func"() <{sym_name = "small", function_type = (memref<4xf32>) -> ()}> ({
^bb0(%y: memref<4xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %z = "arith.constant"() <{value = 0.0 : f32}> : () -> f32
  "loop.for"(%c0, %c4, %c1) <{parallel}> ({
  ^bb0(%i: index):
    "loop.store"(%z, %y, %i) : (f32, memref<4xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()
// CHECK-LABEL: sym_name = "small"
// CHECK-NOT:   func.call
// CHECK:       "loop.for"(%c0, %c4, %c1) <{parallel}>
