// RUN: irforge-opt %s --split-input-file -p 'convert-loop-to-llvm{stack-limit=192}' | filecheck %s
// RUN: irforge-opt %s --split-input-file -p 'convert-loop-to-llvm{stack-limit=0 contract=false}' | filecheck %s --check-prefix=HEAP

// A loop whose upper bound is not a constant: rotated, with a guard in front. The guard
// (lb < ub) branches to the body with lb or to the exit; the body's argument is the
// induction variable; the latch adds the step (nsw), compares the next value with ub and
// branches back to the body with it, or to the exit.
"func.func"() <{sym_name = "guarded", function_type = (memref<8xf32>, memref<8xf32>, index) -> ()}> ({
^bb0(%a: memref<8xf32>, %b: memref<8xf32>, %n: index):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  "loop.for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    %v = "loop.load"(%a, %i) : (memref<8xf32>, index) -> f32
    "loop.store"(%v, %b, %i) : (f32, memref<8xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// %a is only loaded from (readonly), %b is stored to, %n is not a pointer.
// CHECK-LABEL: "llvm.func"() <{no_unwind, arg_attrs = [{llvm.noalias, llvm.dereferenceable = 32 : i64, llvm.readonly}, {llvm.noalias, llvm.dereferenceable = 32 : i64}, {}], sym_name = "guarded"
// CHECK-NEXT:  ^bb0(%[[A:[0-9]+]]: !llvm.ptr, %[[B:[0-9]+]]: !llvm.ptr, %[[N:[0-9]+]]: i64):
// CHECK-DAG:     %[[C1:[0-9]+]] = "llvm.mlir.constant"() <{value = 1 : i64}> : () -> i64
// CHECK-DAG:     %[[C0:[0-9]+]] = "llvm.mlir.constant"() <{value = 0 : i64}> : () -> i64
// CHECK:         %[[GUARD:[0-9]+]] = "llvm.icmp"(%[[C0]], %[[N]]) <{predicate = 2 : i64}> : (i64, i64) -> i1
// CHECK-NEXT:    "llvm.cond_br"(%[[GUARD]], %[[C0]]) [^[[BODY:bb[0-9]+]], ^[[EXIT:bb[0-9]+]]]
// CHECK-NEXT:  ^[[BODY]](%[[I:[0-9]+]]: i64):
// CHECK-NEXT:    %[[PA:[0-9]+]] = "llvm.getelementptr"(%[[A]], %[[I]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[V:[0-9]+]] = "llvm.load"(%[[PA]]) <{ordering = 0 : i64}> : (!llvm.ptr) -> f32
// CHECK-NEXT:    %[[PB:[0-9]+]] = "llvm.getelementptr"(%[[B]], %[[I]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[V]], %[[PB]]) <{ordering = 0 : i64}> : (f32, !llvm.ptr) -> ()
// CHECK-NEXT:    %[[NEXT:[0-9]+]] = "llvm.add"(%[[I]], %[[C1]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[AGAIN:[0-9]+]] = "llvm.icmp"(%[[NEXT]], %[[N]]) <{predicate = 2 : i64}>
// CHECK-NEXT:    "llvm.cond_br"(%[[AGAIN]], %[[NEXT]]) [^[[BODY]], ^[[EXIT]]]
// CHECK-NEXT:  ^[[EXIT]]:
// CHECK-NEXT:    "llvm.return"() : () -> ()
// CHECK-NEXT:  }) : () -> ()

// -----

// What must not stay inside a guarded loop's blocks: a buffer allocated in the body is one
// alloca in the entry block (it runs once, before the guard), freed nowhere; and the
// access m[j, j] after the loop computes its offset again (the body, which computed the
// same offset, does not dominate the exit: the guard may skip it). With stack-limit=0
// the buffer is malloc'ed and freed in the body, once per iteration.
"func.func"() <{sym_name = "hoist", function_type = (memref<4x8xf32>, index, index) -> ()}> ({
^bb0(%m: memref<4x8xf32>, %n: index, %j: index):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  "loop.for"(%c0, %n, %c1) ({
  ^bb0(%i: index):
    %t = "loop.alloc"() : () -> memref<2xf32>
    %v = "loop.load"(%m, %j, %j) : (memref<4x8xf32>, index, index) -> f32
    "loop.store"(%v, %t, %c1) : (f32, memref<2xf32>, index) -> ()
    %u = "loop.load"(%t, %c1) : (memref<2xf32>, index) -> f32
    "loop.store"(%u, %m, %j, %i) : (f32, memref<4x8xf32>, index, index) -> ()
    "loop.dealloc"(%t) : (memref<2xf32>) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  %w = "loop.load"(%m, %j, %j) : (memref<4x8xf32>, index, index) -> f32
  "loop.store"(%w, %m, %c0, %c0) : (f32, memref<4x8xf32>, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "hoist"
// CHECK-NEXT:  ^bb0(%[[M:[0-9]+]]: !llvm.ptr, %[[N:[0-9]+]]: i64, %[[J:[0-9]+]]: i64):
// CHECK-DAG:     %[[C8:[0-9]+]] = "llvm.mlir.constant"() <{value = 8 : i64}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "llvm.mlir.constant"() <{value = 2 : i64}>
// CHECK-DAG:     %[[T:[0-9]+]] = "llvm.alloca"(%[[C2]]) <{alignment = 64 : i64, elem_type = f32}> : (i64) -> !llvm.ptr
// CHECK-DAG:     %[[C1:[0-9]+]] = "llvm.mlir.constant"() <{value = 1 : i64}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "llvm.mlir.constant"() <{value = 0 : i64}>
// CHECK:         %[[G:[0-9]+]] = "llvm.icmp"(%[[C0]], %[[N]]) <{predicate = 2 : i64}>
// CHECK-NEXT:    "llvm.cond_br"(%[[G]], %[[C0]]) [^[[BODY:bb[0-9]+]], ^[[EXIT:bb[0-9]+]]]
// CHECK-NEXT:  ^[[BODY]](%[[I:[0-9]+]]: i64):
// CHECK-NEXT:    %[[R0:[0-9]+]] = "llvm.mul"(%[[J]], %[[C8]])
// CHECK-NEXT:    %[[OFF0:[0-9]+]] = "llvm.add"(%[[R0]], %[[J]])
// CHECK-NEXT:    %[[P0:[0-9]+]] = "llvm.getelementptr"(%[[M]], %[[OFF0]])
// CHECK-NEXT:    %[[V:[0-9]+]] = "llvm.load"(%[[P0]])
// CHECK-NEXT:    %[[PT:[0-9]+]] = "llvm.getelementptr"(%[[T]], %[[C1]])
// CHECK-NEXT:    "llvm.store"(%[[V]], %[[PT]])
// CHECK-NOT:     "llvm.alloca"
// CHECK-NOT:     @free
// CHECK:         "llvm.cond_br"({{.*}}) [^[[BODY]], ^[[EXIT]]]
// CHECK-NEXT:  ^[[EXIT]]:
// CHECK-NEXT:    %[[R1:[0-9]+]] = "llvm.mul"(%[[J]], %[[C8]])
// CHECK-NEXT:    %[[OFF1:[0-9]+]] = "llvm.add"(%[[R1]], %[[J]])
// CHECK-NEXT:    %[[P1:[0-9]+]] = "llvm.getelementptr"(%[[M]], %[[OFF1]])
// CHECK-NEXT:    %[[W:[0-9]+]] = "llvm.load"(%[[P1]])
// CHECK-NEXT:    "llvm.store"(%[[W]], %[[M]])
// CHECK-NEXT:    "llvm.return"() : () -> ()

// HEAP-LABEL: sym_name = "hoist"
// HEAP-NOT:     "llvm.alloca"
// HEAP:         "llvm.cond_br"({{.*}}) [^[[BODY:bb[0-9]+]], ^[[EXIT:bb[0-9]+]]]
// HEAP-NEXT:  ^[[BODY]](%{{[0-9]+}}: i64):
// HEAP-NEXT:    %[[T:[0-9]+]] = "llvm.call"({{.*}}) <{callee = @aligned_alloc,
// HEAP:         "llvm.call"(%[[T]]) <{callee = @free,
// HEAP-NEXT:    "llvm.add"
// HEAP-NEXT:    "llvm.icmp"
// HEAP-NEXT:    "llvm.cond_br"({{.*}}) [^[[BODY]], ^[[EXIT]]]

// -----

// Constant bounds: no guard (the first iteration is known to run), an unconditional
// branch into the body. Nested: the outer latch sits in the inner loop's exit block. A
// 4x8 access is i * 8 + j (row-major, nsw), computed once per block and shared by the
// load and the store of the other 4x8 buffer. A loop from 4 to 4 emits nothing.
"func.func"() <{sym_name = "nest", function_type = (memref<4x8xf32>, memref<4x8xf32>) -> ()}> ({
^bb0(%x: memref<4x8xf32>, %y: memref<4x8xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %c8 = "arith.constant"() <{value = 8 : index}> : () -> index
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%i: index):
    "loop.for"(%c0, %c8, %c2) ({
    ^bb1(%j: index):
      %v = "loop.load"(%x, %i, %j) : (memref<4x8xf32>, index, index) -> f32
      "loop.store"(%v, %y, %i, %j) : (f32, memref<4x8xf32>, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.for"(%c4, %c4, %c1) ({
  ^bb0(%k: index):
    %w = "loop.load"(%x, %k, %k) : (memref<4x8xf32>, index, index) -> f32
    "loop.store"(%w, %y, %k, %k) : (f32, memref<4x8xf32>, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "nest"
// CHECK-NEXT:  ^bb0(%[[X:[0-9]+]]: !llvm.ptr, %[[Y:[0-9]+]]: !llvm.ptr):
// CHECK-DAG:     %[[C8:[0-9]+]] = "llvm.mlir.constant"() <{value = 8 : i64}>
// CHECK-DAG:     %[[C4:[0-9]+]] = "llvm.mlir.constant"() <{value = 4 : i64}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "llvm.mlir.constant"() <{value = 2 : i64}>
// CHECK-DAG:     %[[C1:[0-9]+]] = "llvm.mlir.constant"() <{value = 1 : i64}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "llvm.mlir.constant"() <{value = 0 : i64}>
// CHECK-NOT:     "llvm.icmp"
// CHECK:         "llvm.br"(%[[C0]]) [^[[OUTER:bb[0-9]+]]] : (i64) -> ()
// CHECK-NEXT:  ^[[OUTER]](%[[I:[0-9]+]]: i64):
// CHECK-NEXT:    "llvm.br"(%[[C0]]) [^[[INNER:bb[0-9]+]]] : (i64) -> ()
// CHECK-NEXT:  ^[[INNER]](%[[J:[0-9]+]]: i64):
// CHECK-NEXT:    %[[ROW:[0-9]+]] = "llvm.mul"(%[[I]], %[[C8]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[OFF:[0-9]+]] = "llvm.add"(%[[ROW]], %[[J]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[PX:[0-9]+]] = "llvm.getelementptr"(%[[X]], %[[OFF]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[V:[0-9]+]] = "llvm.load"(%[[PX]])
// CHECK-NEXT:    %[[PY:[0-9]+]] = "llvm.getelementptr"(%[[Y]], %[[OFF]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[V]], %[[PY]])
// CHECK-NEXT:    %[[JN:[0-9]+]] = "llvm.add"(%[[J]], %[[C2]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[JC:[0-9]+]] = "llvm.icmp"(%[[JN]], %[[C8]]) <{predicate = 2 : i64}>
// CHECK-NEXT:    "llvm.cond_br"(%[[JC]], %[[JN]]) [^[[INNER]], ^[[INNER_EXIT:bb[0-9]+]]]
// CHECK-NEXT:  ^[[INNER_EXIT]]:
// CHECK-NEXT:    %[[IN:[0-9]+]] = "llvm.add"(%[[I]], %[[C1]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[IC:[0-9]+]] = "llvm.icmp"(%[[IN]], %[[C4]]) <{predicate = 2 : i64}>
// CHECK-NEXT:    "llvm.cond_br"(%[[IC]], %[[IN]]) [^[[OUTER]], ^[[OUTER_EXIT:bb[0-9]+]]]
// CHECK-NEXT:  ^[[OUTER_EXIT]]:
// CHECK-NEXT:    "llvm.return"() : () -> ()
// CHECK-NEXT:  }) : () -> ()

// -----

// GEP linearization: one i64 index per access, sum(index * row-major stride) with nsw
// arithmetic, `getelementptr inbounds` over the element type. Constant indices fold into
// one constant term; an all-zero access uses the base pointer; a reshape is the same
// pointer addressed with the strides of its own shape.
"func.func"() <{sym_name = "gep", function_type = (memref<3x5x7xf32>, memref<2x3xf64>, index, index, index) -> ()}> ({
^bb0(%a: memref<3x5x7xf32>, %o: memref<2x3xf64>, %i: index, %j: index, %k: index):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c2 = "arith.constant"() <{value = 2 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %c6 = "arith.constant"() <{value = 6 : index}> : () -> index
  %v0 = "loop.load"(%a, %i, %j, %k) : (memref<3x5x7xf32>, index, index, index) -> f32
  %v1 = "loop.load"(%a, %i, %c2, %c4) : (memref<3x5x7xf32>, index, index, index) -> f32
  %v2 = "loop.load"(%a, %c0, %c0, %c0) : (memref<3x5x7xf32>, index, index, index) -> f32
  %v3 = "loop.load"(%a, %c2, %c4, %c6) : (memref<3x5x7xf32>, index, index, index) -> f32
  %s = "arith.addf"(%v0, %v1) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %t = "arith.addf"(%v2, %v3) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %d = "arith.extf"(%s) : (f32) -> f64
  %e = "arith.extf"(%t) : (f32) -> f64
  "loop.store"(%d, %o, %j, %k) : (f64, memref<2x3xf64>, index, index) -> ()
  %flat = "loop.reshape"(%o) : (memref<2x3xf64>) -> memref<6xf64>
  "loop.store"(%e, %flat, %k) : (f64, memref<6xf64>, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "gep"
// CHECK-NEXT:  ^bb0(%[[A:[0-9]+]]: !llvm.ptr, %[[O:[0-9]+]]: !llvm.ptr, %[[I:[0-9]+]]: i64, %[[J:[0-9]+]]: i64, %[[K:[0-9]+]]: i64):
// CHECK-DAG:     %[[C3:[0-9]+]] = "llvm.mlir.constant"() <{value = 3 : i64}>
// CHECK-DAG:     %[[C7:[0-9]+]] = "llvm.mlir.constant"() <{value = 7 : i64}>
// CHECK-DAG:     %[[C18:[0-9]+]] = "llvm.mlir.constant"() <{value = 18 : i64}>
// CHECK-DAG:     %[[C35:[0-9]+]] = "llvm.mlir.constant"() <{value = 35 : i64}>
// CHECK-DAG:     %[[C104:[0-9]+]] = "llvm.mlir.constant"() <{value = 104 : i64}>
// a[i, j, k] = a + (i * 35 + j * 7 + k)
// CHECK:         %[[T0:[0-9]+]] = "llvm.mul"(%[[I]], %[[C35]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[T1:[0-9]+]] = "llvm.mul"(%[[J]], %[[C7]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[T2:[0-9]+]] = "llvm.add"(%[[T0]], %[[T1]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[T3:[0-9]+]] = "llvm.add"(%[[T2]], %[[K]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[P0:[0-9]+]] = "llvm.getelementptr"(%[[A]], %[[T3]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}> : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK-NEXT:    %[[V0:[0-9]+]] = "llvm.load"(%[[P0]]) <{ordering = 0 : i64}> : (!llvm.ptr) -> f32
// a[i, 2, 4] = a + (i * 35 + 18)
// CHECK-NEXT:    %[[U0:[0-9]+]] = "llvm.mul"(%[[I]], %[[C35]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[U1:[0-9]+]] = "llvm.add"(%[[U0]], %[[C18]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[P1:[0-9]+]] = "llvm.getelementptr"(%[[A]], %[[U1]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[V1:[0-9]+]] = "llvm.load"(%[[P1]])
// a[0, 0, 0] = a: no GEP
// CHECK-NEXT:    %[[V2:[0-9]+]] = "llvm.load"(%[[A]]) <{ordering = 0 : i64}> : (!llvm.ptr) -> f32
// a[2, 4, 6] = a + 104 (2 * 35 + 4 * 7 + 6)
// CHECK-NEXT:    %[[P3:[0-9]+]] = "llvm.getelementptr"(%[[A]], %[[C104]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[V3:[0-9]+]] = "llvm.load"(%[[P3]])
// CHECK-NEXT:    %[[S:[0-9]+]] = "llvm.fadd"(%[[V0]], %[[V1]]) <{fastmathFlags = #llvm.fastmath<contract>}>
// CHECK-NEXT:    %[[T:[0-9]+]] = "llvm.fadd"(%[[V2]], %[[V3]]) <{fastmathFlags = #llvm.fastmath<contract>}>
// CHECK-NEXT:    %[[D:[0-9]+]] = "llvm.fpext"(%[[S]]) : (f32) -> f64
// CHECK-NEXT:    %[[E:[0-9]+]] = "llvm.fpext"(%[[T]]) : (f32) -> f64
// o[j, k] of a 2x3 f64 buffer = o + (j * 3 + k), over f64
// CHECK-NEXT:    %[[W0:[0-9]+]] = "llvm.mul"(%[[J]], %[[C3]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[W1:[0-9]+]] = "llvm.add"(%[[W0]], %[[K]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[PO:[0-9]+]] = "llvm.getelementptr"(%[[O]], %[[W1]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f64, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[D]], %[[PO]]) <{ordering = 0 : i64}> : (f64, !llvm.ptr) -> ()
// the reshape to 6xf64: o itself, element k
// CHECK-NEXT:    %[[PF:[0-9]+]] = "llvm.getelementptr"(%[[O]], %[[K]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f64, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[E]], %[[PF]]) <{ordering = 0 : i64}> : (f64, !llvm.ptr) -> ()
// CHECK-NEXT:    "llvm.return"() : () -> ()

// -----

// loop.view: a byte GEP (over i8) from the arena at its offset, then element accesses
// linearized with the view's own shape; the view at offset 0 is the arena pointer. The
// 1536-byte arena is over the 192-byte stack budget: aligned_alloc and free.
"func.func"() <{sym_name = "view", function_type = (index, index) -> ()}> ({
^bb0(%i: index, %j: index):
  %one = "arith.constant"() <{value = 1.0 : f32}> : () -> f32
  %arena = "loop.alloc"() : () -> memref<1536xi8>
  %v = "loop.view"(%arena) <{byte_offset = 1024 : i64}> : (memref<1536xi8>) -> memref<8x16xf32>
  %w = "loop.view"(%arena) <{byte_offset = 0 : i64}> : (memref<1536xi8>) -> memref<4x16xf64>
  "loop.store"(%one, %v, %i, %j) : (f32, memref<8x16xf32>, index, index) -> ()
  %x = "arith.extf"(%one) : (f32) -> f64
  "loop.store"(%x, %w, %i, %j) : (f64, memref<4x16xf64>, index, index) -> ()
  "loop.dealloc"(%arena) : (memref<1536xi8>) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "view"
// CHECK-NEXT:  ^bb0(%[[I:[0-9]+]]: i64, %[[J:[0-9]+]]: i64):
// CHECK-DAG:     %[[C16:[0-9]+]] = "llvm.mlir.constant"() <{value = 16 : i64}>
// CHECK-DAG:     %[[C1024:[0-9]+]] = "llvm.mlir.constant"() <{value = 1024 : i64}>
// CHECK-DAG:     %[[C1536:[0-9]+]] = "llvm.mlir.constant"() <{value = 1536 : i64}>
// CHECK-DAG:     %[[C64:[0-9]+]] = "llvm.mlir.constant"() <{value = 64 : i64}>
// CHECK-DAG:     %[[ONE:[0-9]+]] = "llvm.mlir.constant"() <{value = 1.000000e+00 : f32}>
// CHECK-NOT:     "llvm.alloca"
// CHECK:         %[[ARENA:[0-9]+]] = "llvm.call"(%[[C64]], %[[C1536]]) <{callee = @aligned_alloc,
// CHECK-NEXT:    %[[VIEW:[0-9]+]] = "llvm.getelementptr"(%[[ARENA]], %[[C1024]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = i8, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[R:[0-9]+]] = "llvm.mul"(%[[I]], %[[C16]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[OFF:[0-9]+]] = "llvm.add"(%[[R]], %[[J]]) <{overflowFlags = 1 : i32}>
// CHECK-NEXT:    %[[P:[0-9]+]] = "llvm.getelementptr"(%[[VIEW]], %[[OFF]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[ONE]], %[[P]])
// CHECK-NEXT:    %[[X:[0-9]+]] = "llvm.fpext"(%[[ONE]])
// CHECK-NEXT:    %[[Q:[0-9]+]] = "llvm.getelementptr"(%[[ARENA]], %[[OFF]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f64, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[X]], %[[Q]])
// CHECK-NEXT:    "llvm.call"(%[[ARENA]]) <{callee = @free,
// CHECK-NEXT:    "llvm.return"() : () -> ()
// CHECK:       "llvm.func"() <{sym_name = "aligned_alloc", function_type = !llvm.func<!llvm.ptr (i64, i64)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">
// CHECK:       "llvm.func"() <{sym_name = "free", function_type = !llvm.func<void (!llvm.ptr)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">

// -----

// Attributes. A public function's memref arguments get noalias and dereferenceable(bytes),
// plus readonly when the body only loads from them (%x is passed to a call, %y is stored
// to: not readonly); index arguments get none. A private function gets dereferenceable
// (and readonly) but noalias only where its func.func says llvm.noalias; it is internal
// and keeps its passthrough. Globals are internal byte arrays aligned to 64 bytes or to
// their own larger alignment. Vector loads and stores are aligned to the element (4 bytes),
// scalar ones carry no alignment.
"memref.global"() <{sym_name = "w", sym_visibility = "private", type = memref<4xf32>, initial_value = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>, constant, alignment = 128 : i64}> : () -> ()
"memref.global"() <{sym_name = "z", sym_visibility = "private", type = memref<2xf64>, initial_value = dense<0.0> : tensor<2xf64>, constant}> : () -> ()
"func.func"() <{sym_name = "kernel", function_type = (memref<16xf32>, memref<16xf32>, index) -> (), sym_visibility = "private", arg_attrs = [{llvm.noalias}, {}, {}]}> ({
^bb0(%src: memref<16xf32>, %dst: memref<16xf32>, %i: index):
  %v = "vector.load"(%src, %i) : (memref<16xf32>, index) -> vector<8xf32>
  "vector.store"(%v, %dst, %i) : (vector<8xf32>, memref<16xf32>, index) -> ()
  "func.return"() : () -> ()
}) {passthrough = ["noinline"]} : () -> ()
"func.func"() <{sym_name = "entry", function_type = (memref<16xf32>, memref<16xf32>, memref<4xf32>) -> ()}> ({
^bb0(%x: memref<16xf32>, %y: memref<16xf32>, %r: memref<4xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c3 = "arith.constant"() <{value = 3 : index}> : () -> index
  "func.call"(%x, %y, %c0) <{callee = @kernel}> : (memref<16xf32>, memref<16xf32>, index) -> ()
  %g = "memref.get_global"() <{name = @w}> : () -> memref<4xf32>
  %e = "loop.load"(%g, %c3) : (memref<4xf32>, index) -> f32
  "loop.store"(%e, %y, %c3) : (f32, memref<16xf32>, index) -> ()
  %q = "loop.load"(%r, %c3) : (memref<4xf32>, index) -> f32
  "loop.store"(%q, %y, %c0) : (f32, memref<16xf32>, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK:       "llvm.mlir.global"() <{global_type = !llvm.array<16 x i8>, sym_name = "w", linkage = #llvm.linkage<"internal">, addr_space = 0 : i32, constant, value = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>, alignment = 128 : i64}>
// CHECK:       "llvm.mlir.global"() <{global_type = !llvm.array<16 x i8>, sym_name = "z", linkage = #llvm.linkage<"internal">, addr_space = 0 : i32, constant, value = dense<0.000000e+00> : tensor<2xf64>, alignment = 64 : i64}>
// CHECK:       "llvm.func"() <{no_unwind, passthrough = ["noinline"], arg_attrs = [{llvm.noalias, llvm.dereferenceable = 64 : i64}, {llvm.dereferenceable = 64 : i64}, {}], sym_name = "kernel", function_type = !llvm.func<void (!llvm.ptr, !llvm.ptr, i64)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"internal">
// CHECK-NEXT:  ^bb0(%[[SRC:[0-9]+]]: !llvm.ptr, %[[DST:[0-9]+]]: !llvm.ptr, %[[I:[0-9]+]]: i64):
// CHECK-NEXT:    %[[PS:[0-9]+]] = "llvm.getelementptr"(%[[SRC]], %[[I]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    %[[V:[0-9]+]] = "llvm.load"(%[[PS]]) <{ordering = 0 : i64, alignment = 4 : i64}> : (!llvm.ptr) -> vector<8xf32>
// CHECK-NEXT:    %[[PD:[0-9]+]] = "llvm.getelementptr"(%[[DST]], %[[I]]) <{rawConstantIndices = array<i32: -2147483648>, elem_type = f32, noWrapFlags = 0 : i32, inbounds}>
// CHECK-NEXT:    "llvm.store"(%[[V]], %[[PD]]) <{ordering = 0 : i64, alignment = 4 : i64}> : (vector<8xf32>, !llvm.ptr) -> ()
// CHECK-NEXT:    "llvm.return"() : () -> ()
// CHECK:       "llvm.func"() <{no_unwind, arg_attrs = [{llvm.noalias, llvm.dereferenceable = 64 : i64}, {llvm.noalias, llvm.dereferenceable = 64 : i64}, {llvm.noalias, llvm.dereferenceable = 16 : i64, llvm.readonly}], sym_name = "entry", function_type = !llvm.func<void (!llvm.ptr, !llvm.ptr, !llvm.ptr)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">
// CHECK-NEXT:  ^bb0(%[[X:[0-9]+]]: !llvm.ptr, %[[Y:[0-9]+]]: !llvm.ptr, %[[R:[0-9]+]]: !llvm.ptr):
// CHECK-DAG:     %[[C3:[0-9]+]] = "llvm.mlir.constant"() <{value = 3 : i64}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "llvm.mlir.constant"() <{value = 0 : i64}>
// CHECK:         "llvm.call"(%[[X]], %[[Y]], %[[C0]]) <{callee = @kernel,
// CHECK-NEXT:    %[[G:[0-9]+]] = "llvm.mlir.addressof"() <{global_name = @w}> : () -> !llvm.ptr
// CHECK-NEXT:    %[[PG:[0-9]+]] = "llvm.getelementptr"(%[[G]], %[[C3]])
// CHECK-NEXT:    %[[E:[0-9]+]] = "llvm.load"(%[[PG]]) <{ordering = 0 : i64}> : (!llvm.ptr) -> f32
// CHECK-NEXT:    %[[PY:[0-9]+]] = "llvm.getelementptr"(%[[Y]], %[[C3]])
// CHECK-NEXT:    "llvm.store"(%[[E]], %[[PY]]) <{ordering = 0 : i64}> : (f32, !llvm.ptr) -> ()

// -----

// loop.alloc against the stack budget (192 bytes in the first RUN): the 128-byte and
// 64-byte buffers fill it exactly and go on the stack (64-byte aligned allocas of 32 and
// 16 f32 in the entry block, nothing at their dealloc); the 4-byte one no longer fits and
// the 400-byte one never did: aligned_alloc(64, size rounded up to 64) and free. With
// stack-limit=0 (second RUN) every buffer is on the heap.
"func.func"() <{sym_name = "budget", function_type = (memref<4xf32>) -> ()}> ({
^bb0(%out: memref<4xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %one = "arith.constant"() <{value = 1.0 : f32}> : () -> f32
  %a = "loop.alloc"() : () -> memref<4x8xf32>
  %b = "loop.alloc"() : () -> memref<16xf32>
  %c = "loop.alloc"() : () -> memref<1xf32>
  %d = "loop.alloc"() : () -> memref<100xf32>
  "loop.store"(%one, %a, %c0, %c0) : (f32, memref<4x8xf32>, index, index) -> ()
  "loop.store"(%one, %b, %c0) : (f32, memref<16xf32>, index) -> ()
  "loop.store"(%one, %c, %c0) : (f32, memref<1xf32>, index) -> ()
  "loop.store"(%one, %d, %c0) : (f32, memref<100xf32>, index) -> ()
  "loop.dealloc"(%a) : (memref<4x8xf32>) -> ()
  "loop.dealloc"(%b) : (memref<16xf32>) -> ()
  "loop.dealloc"(%c) : (memref<1xf32>) -> ()
  "loop.dealloc"(%d) : (memref<100xf32>) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "budget"
// CHECK-DAG:     %[[C448:[0-9]+]] = "llvm.mlir.constant"() <{value = 448 : i64}>
// CHECK-DAG:     %[[C64:[0-9]+]] = "llvm.mlir.constant"() <{value = 64 : i64}>
// CHECK-DAG:     %[[C16:[0-9]+]] = "llvm.mlir.constant"() <{value = 16 : i64}>
// CHECK-DAG:     %[[B:[0-9]+]] = "llvm.alloca"(%[[C16]]) <{alignment = 64 : i64, elem_type = f32}> : (i64) -> !llvm.ptr
// CHECK-DAG:     %[[C32:[0-9]+]] = "llvm.mlir.constant"() <{value = 32 : i64}>
// CHECK-DAG:     %[[A:[0-9]+]] = "llvm.alloca"(%[[C32]]) <{alignment = 64 : i64, elem_type = f32}> : (i64) -> !llvm.ptr
// CHECK-DAG:     %[[ONE:[0-9]+]] = "llvm.mlir.constant"() <{value = 1.000000e+00 : f32}>
// CHECK-NOT:     "llvm.alloca"
// CHECK:         %[[C:[0-9]+]] = "llvm.call"(%[[C64]], %[[C64]]) <{callee = @aligned_alloc,
// CHECK-NEXT:    %[[D:[0-9]+]] = "llvm.call"(%[[C64]], %[[C448]]) <{callee = @aligned_alloc,
// CHECK-NEXT:    "llvm.store"(%[[ONE]], %[[A]])
// CHECK-NEXT:    "llvm.store"(%[[ONE]], %[[B]])
// CHECK-NEXT:    "llvm.store"(%[[ONE]], %[[C]])
// CHECK-NEXT:    "llvm.store"(%[[ONE]], %[[D]])
// CHECK-NEXT:    "llvm.call"(%[[C]]) <{callee = @free,
// CHECK-NEXT:    "llvm.call"(%[[D]]) <{callee = @free,
// CHECK-NEXT:    "llvm.return"() : () -> ()

// HEAP-LABEL: sym_name = "budget"
// HEAP-DAG:     %[[C448:[0-9]+]] = "llvm.mlir.constant"() <{value = 448 : i64}>
// HEAP-DAG:     %[[C128:[0-9]+]] = "llvm.mlir.constant"() <{value = 128 : i64}>
// HEAP-DAG:     %[[C64:[0-9]+]] = "llvm.mlir.constant"() <{value = 64 : i64}>
// HEAP-NOT:     "llvm.alloca"
// HEAP:         %[[A:[0-9]+]] = "llvm.call"(%[[C64]], %[[C128]]) <{callee = @aligned_alloc,
// HEAP-NEXT:    %[[B:[0-9]+]] = "llvm.call"(%[[C64]], %[[C64]]) <{callee = @aligned_alloc,
// HEAP-NEXT:    %[[C:[0-9]+]] = "llvm.call"(%[[C64]], %[[C64]]) <{callee = @aligned_alloc,
// HEAP-NEXT:    %[[D:[0-9]+]] = "llvm.call"(%[[C64]], %[[C448]]) <{callee = @aligned_alloc,
// HEAP-COUNT-4: "llvm.store"
// HEAP-NEXT:    "llvm.call"(%[[A]]) <{callee = @free,
// HEAP-NEXT:    "llvm.call"(%[[B]]) <{callee = @free,
// HEAP-NEXT:    "llvm.call"(%[[C]]) <{callee = @free,
// HEAP-NEXT:    "llvm.call"(%[[D]]) <{callee = @free,
// HEAP-NEXT:    "llvm.return"() : () -> ()

// -----

// Math: exp is LLVM's named intrinsic, tanh an overloaded intrinsic with the type suffix
// (f32, f64, v4f32), erf and expm1 calls to libm (erff / erf, expm1f by element type),
// declared once each at the end of the module. Float arithmetic keeps its own fast-math
// flags and gains `contract` (not with contract=false, second RUN).
"func.func"() <{sym_name = "math", function_type = (memref<2xf32>, memref<2xf64>, memref<2xvector<4xf32>>) -> ()}> ({
^bb0(%a: memref<2xf32>, %b: memref<2xf64>, %vv: memref<2xvector<4xf32>>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %x = "loop.load"(%a, %c0) : (memref<2xf32>, index) -> f32
  %e = "math.exp"(%x) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
  %t = "math.tanh"(%e) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
  %r = "math.erf"(%t) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
  %m = "math.expm1"(%r) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
  %s = "arith.mulf"(%m, %x) <{fastmath = #arith.fastmath<nnan>}> : (f32, f32) -> f32
  "loop.store"(%s, %a, %c1) : (f32, memref<2xf32>, index) -> ()
  %y = "loop.load"(%b, %c0) : (memref<2xf64>, index) -> f64
  %ry = "math.erf"(%y) <{fastmath = #arith.fastmath<none>}> : (f64) -> f64
  %ty = "math.tanh"(%ry) <{fastmath = #arith.fastmath<none>}> : (f64) -> f64
  "loop.store"(%ty, %b, %c1) : (f64, memref<2xf64>, index) -> ()
  %v = "loop.load"(%vv, %c0) : (memref<2xvector<4xf32>>, index) -> vector<4xf32>
  %tv = "math.tanh"(%v) <{fastmath = #arith.fastmath<none>}> : (vector<4xf32>) -> vector<4xf32>
  %ev = "math.exp"(%tv) <{fastmath = #arith.fastmath<none>}> : (vector<4xf32>) -> vector<4xf32>
  %e2 = "math.erf"(%x) <{fastmath = #arith.fastmath<none>}> : (f32) -> f32
  "loop.store"(%ev, %vv, %c1) : (vector<4xf32>, memref<2xvector<4xf32>>, index) -> ()
  "loop.store"(%e2, %a, %c0) : (f32, memref<2xf32>, index) -> ()
  "func.return"() : () -> ()
}) : () -> ()

// CHECK-LABEL: sym_name = "math"
// CHECK:         %[[X:[0-9]+]] = "llvm.load"
// CHECK-NEXT:    %[[E:[0-9]+]] = "llvm.intr.exp"(%[[X]]) <{fastmathFlags = #llvm.fastmath<none>}> : (f32) -> f32
// CHECK-NEXT:    %[[T:[0-9]+]] = "llvm.call_intrinsic"(%[[E]]) <{intrin = "llvm.tanh.f32",
// CHECK-SAME:      : (f32) -> f32
// CHECK-NEXT:    %[[R:[0-9]+]] = "llvm.call"(%[[T]]) <{callee = @erff,
// CHECK-SAME:      : (f32) -> f32
// CHECK-NEXT:    %[[M:[0-9]+]] = "llvm.call"(%[[R]]) <{callee = @expm1f,
// CHECK-NEXT:    %[[S:[0-9]+]] = "llvm.fmul"(%[[M]], %[[X]]) <{fastmathFlags = #llvm.fastmath<nnan,contract>}> : (f32, f32) -> f32
// CHECK:         %[[Y:[0-9]+]] = "llvm.load"({{.*}}) -> f64
// CHECK-NEXT:    %[[RY:[0-9]+]] = "llvm.call"(%[[Y]]) <{callee = @erf,
// CHECK-SAME:      : (f64) -> f64
// CHECK-NEXT:    %{{[0-9]+}} = "llvm.call_intrinsic"(%[[RY]]) <{intrin = "llvm.tanh.f64",
// CHECK-SAME:      : (f64) -> f64
// CHECK:         %[[V:[0-9]+]] = "llvm.load"({{.*}}) -> vector<4xf32>
// CHECK-NEXT:    %[[TV:[0-9]+]] = "llvm.call_intrinsic"(%[[V]]) <{intrin = "llvm.tanh.v4f32",
// CHECK-SAME:      : (vector<4xf32>) -> vector<4xf32>
// CHECK-NEXT:    %{{[0-9]+}} = "llvm.intr.exp"(%[[TV]]) <{fastmathFlags = #llvm.fastmath<none>}> : (vector<4xf32>) -> vector<4xf32>
// CHECK-NEXT:    %{{[0-9]+}} = "llvm.call"(%[[X]]) <{callee = @erff,
// CHECK:         "llvm.return"() : () -> ()
// CHECK-NEXT:  }) : () -> ()
// CHECK-NEXT:  "llvm.func"() <{sym_name = "erff", function_type = !llvm.func<f32 (f32)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">
// CHECK-NEXT:  }) : () -> ()
// CHECK-NEXT:  "llvm.func"() <{sym_name = "expm1f", function_type = !llvm.func<f32 (f32)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">
// CHECK-NEXT:  }) : () -> ()
// CHECK-NEXT:  "llvm.func"() <{sym_name = "erf", function_type = !llvm.func<f64 (f64)>, CConv = #llvm.cconv<ccc>, linkage = #llvm.linkage<"external">
// CHECK-NEXT:  }) : () -> ()
// CHECK-NEXT:  }) : () -> ()

// HEAP-LABEL: sym_name = "math"
// HEAP:         "llvm.fmul"({{.*}}) <{fastmathFlags = #llvm.fastmath<nnan>}> : (f32, f32) -> f32
