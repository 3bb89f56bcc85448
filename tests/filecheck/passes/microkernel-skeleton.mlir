// RUN: irforge-opt %s --split-input-file -p 'convert-graph-to-tensor,convert-tensor-to-loop{vector-bits=256}' | filecheck %s
// RUN: irforge-opt %s --split-input-file -p 'convert-graph-to-tensor,convert-tensor-to-loop{vector-bits=256 microkernel-min-flops=1000000}' | filecheck %s --check-prefix=NOMK
// RUN: irforge-opt %s --split-input-file -p 'convert-graph-to-tensor,convert-tensor-to-loop{vector-bits=512}' | filecheck %s --check-prefix=V512

// The GEMM microkernel path of convert-tensor-to-loop. Everything that depends on the
// host is pinned: vector-bits (256: an MR x NR = 6 x 16 register block of 8-lane
// vectors, the k loop unrolled twice; 512: 8 x 32 of 16 lanes, or 6 x 64 for a matmul
// whose N is a multiple of 64) and the thread count (the module's target,
// `irforge.target = {num_threads = 1}`: backends/target.py; the passes never look at the
// environment or the cores).

// C[20 x 40] = A[20 x 299] * B[299 x 40], both operands run-time values (packed at run
// time). Cache blocks: KC = 256 (K = 299: two K blocks, 256 and 43 rows, the last padded
// with a zero row to 44, a multiple of the unroll), MC = 24 (whole MR panels, >= M),
// NC = 48 (N = 40 in whole NR panels, 3 x 16: one thread does not split the columns, so
// there is one column block, as wide as NC = 2048 allows, and A is packed once per row
// block and K block). M and N are not multiples of MR and NR: edge tiles on both sides.
"builtin.module"() ({
"func.func"() <{sym_name = "mm", function_type = (tensor<20x299xf32>, tensor<299x40xf32>) -> tensor<20x40xf32>}> ({
^bb0(%a: tensor<20x299xf32>, %b: tensor<299x40xf32>):
  %c = "graph.matmul"(%a, %b) : (tensor<20x299xf32>, tensor<299x40xf32>) -> tensor<20x40xf32>
  "func.return"(%c) : (tensor<20x40xf32>) -> ()
}) : () -> ()
}) {irforge.target = {num_threads = 1 : i64}} : () -> ()

// The kernel: a private, noinline function of the packed panels A (6144 floats: 1 jc
// slot x KC 256 x MC 24) and B (12288: 1 x KC 256 x NC 48) and the flat C (800), its
// three buffers noalias. 12 accumulator vectors (6 rows x 2 vectors) start at 0; per k
// step: 2 vector loads of the B row at b_off + p * 16, per row one load of A at
// a_off + p * 6 + i, broadcast, 2 fmas; the k loop steps by 2 (unrolled twice): 24 fmas.
// CHECK-LABEL: "func.func"() <{sym_name = "__sgemm_6x16_v8_6144_12288_800", function_type = (memref<6144xf32>, index, memref<12288xf32>, index, memref<800xf32>, index, index, index) -> (), sym_visibility = "private", arg_attrs = [{llvm.noalias}, {}, {llvm.noalias}, {}, {llvm.noalias}, {}, {}, {}]}>
// CHECK-NEXT:  ^bb0(%a: memref<6144xf32>, %a_off: index, %b: memref<12288xf32>, %b_off: index, %c: memref<800xf32>, %c_off: index, %ldc: index, %kc: index):
// CHECK-DAG:     %[[C16:[0-9]+]] = "arith.constant"() <{value = 16 : index}>
// CHECK-DAG:     %[[C8:[0-9]+]] = "arith.constant"() <{value = 8 : index}>
// CHECK-DAG:     %[[C6:[0-9]+]] = "arith.constant"() <{value = 6 : index}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "arith.constant"() <{value = 2 : index}>
// CHECK-DAG:     %[[C1:[0-9]+]] = "arith.constant"() <{value = 1 : index}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "arith.constant"() <{value = 0 : index}>
// CHECK:         %acc = "loop.alloc"() : () -> memref<12xvector<8xf32>>
// CHECK-NEXT:    %[[ROW1:[0-9]+]] = "arith.addi"(%c_off, %ldc)
// CHECK-NEXT:    %[[ROW2:[0-9]+]] = "arith.addi"(%[[ROW1]], %ldc)
// CHECK-COUNT-3: "arith.addi"({{.*}}, %ldc)
// CHECK-NEXT:    %[[ZERO:[0-9]+]] = "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK-NEXT:    %[[ZV:[0-9]+]] = "vector.broadcast"(%[[ZERO]]) : (f32) -> vector<8xf32>
// CHECK-COUNT-12: "loop.store"(%[[ZV]], %acc, %{{[0-9]+}}) : (vector<8xf32>, memref<12xvector<8xf32>>, index) -> ()
// CHECK-NEXT:    "loop.for"(%[[C0]], %kc, %[[C2]]) ({
// CHECK-NEXT:    ^bb0(%[[P:[0-9]+]]: index):
// CHECK-NEXT:      %[[PA:[0-9]+]] = "arith.muli"(%[[P]], %[[C6]])
// CHECK-NEXT:      %[[AO:[0-9]+]] = "arith.addi"(%a_off, %[[PA]])
// CHECK-NEXT:      %[[PB:[0-9]+]] = "arith.muli"(%[[P]], %[[C16]])
// CHECK-NEXT:      %[[BO:[0-9]+]] = "arith.addi"(%b_off, %[[PB]])
// CHECK-NEXT:      %[[AO1:[0-9]+]] = "arith.addi"(%[[AO]], %[[C1]])
// CHECK-COUNT-4:   "arith.addi"(%[[AO]], %{{[0-9]+}})
// CHECK-NEXT:      %[[B0:[0-9]+]] = "vector.load"(%b, %[[BO]]) : (memref<12288xf32>, index) -> vector<8xf32>
// CHECK-NEXT:      %[[BO8:[0-9]+]] = "arith.addi"(%[[BO]], %[[C8]])
// CHECK-NEXT:      %[[B1:[0-9]+]] = "vector.load"(%b, %[[BO8]]) : (memref<12288xf32>, index) -> vector<8xf32>
// CHECK-NEXT:      %[[A0:[0-9]+]] = "loop.load"(%a, %[[AO]]) : (memref<6144xf32>, index) -> f32
// CHECK-NEXT:      %[[S0:[0-9]+]] = "vector.broadcast"(%[[A0]]) : (f32) -> vector<8xf32>
// CHECK-NEXT:      %[[X0:[0-9]+]] = "loop.load"(%acc, %[[C0]])
// CHECK-NEXT:      %[[F0:[0-9]+]] = "vector.fma"(%[[S0]], %[[B0]], %[[X0]]) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK-NEXT:      "loop.store"(%[[F0]], %acc, %[[C0]])
// CHECK-NEXT:      %[[X1:[0-9]+]] = "loop.load"(%acc, %[[C1]])
// CHECK-NEXT:      %[[F1:[0-9]+]] = "vector.fma"(%[[S0]], %[[B1]], %[[X1]])
// CHECK-NEXT:      "loop.store"(%[[F1]], %acc, %[[C1]])
// CHECK-NEXT:      %[[A1:[0-9]+]] = "loop.load"(%a, %[[AO1]])
// CHECK-NEXT:      %[[S1:[0-9]+]] = "vector.broadcast"(%[[A1]])
// CHECK-NEXT:      %[[X2:[0-9]+]] = "loop.load"(%acc, %[[C2]])
// CHECK-NEXT:      %[[F2:[0-9]+]] = "vector.fma"(%[[S1]], %[[B0]], %[[X2]])
// CHECK-NEXT:      "loop.store"(%[[F2]], %acc, %[[C2]])
// the second copy of the k step, at p + 1
// CHECK-COUNT-9:   "vector.fma"
// CHECK:           %[[P1:[0-9]+]] = "arith.addi"(%[[P]], %[[C1]])
// CHECK-NEXT:      "arith.muli"(%[[P1]], %[[C6]])
// CHECK-COUNT-12:  "vector.fma"
// CHECK-NOT:       "vector.fma"
// CHECK:           "loop.yield"() : () -> ()
// CHECK-NEXT:    }) : (index, index, index) -> ()
// C += acc, row i at c_off + i * ldc, vector j at + j * 8
// CHECK-NEXT:    %[[V0:[0-9]+]] = "loop.load"(%acc, %[[C0]])
// CHECK-NEXT:    %[[O0:[0-9]+]] = "vector.load"(%c, %c_off) : (memref<800xf32>, index) -> vector<8xf32>
// CHECK-NEXT:    %[[N0:[0-9]+]] = "arith.addf"(%[[O0]], %[[V0]])
// CHECK-NEXT:    "vector.store"(%[[N0]], %c, %c_off) : (vector<8xf32>, memref<800xf32>, index) -> ()
// CHECK-NEXT:    %[[V1:[0-9]+]] = "loop.load"(%acc, %[[C1]])
// CHECK-NEXT:    %[[CO8:[0-9]+]] = "arith.addi"(%c_off, %[[C8]])
// CHECK-NEXT:    %[[O1:[0-9]+]] = "vector.load"(%c, %[[CO8]])
// CHECK-NEXT:    %[[N1:[0-9]+]] = "arith.addf"(%[[O1]], %[[V1]])
// CHECK-NEXT:    "vector.store"(%[[N1]], %c, %[[CO8]])
// CHECK-NEXT:    %[[V2:[0-9]+]] = "loop.load"(%acc, %[[C2]])
// CHECK-NEXT:    %[[O2:[0-9]+]] = "vector.load"(%c, %[[ROW1]])
// CHECK-COUNT-10: "vector.store"
// CHECK-NEXT:    "loop.dealloc"(%acc) : (memref<12xvector<8xf32>>) -> ()
// CHECK-NEXT:    "func.return"() : () -> ()
// CHECK-NEXT:  }) {passthrough = ["noinline"]} : () -> ()
// The same kernel on a 6 x 16 tile buffer, for the edge tiles.
// CHECK-NEXT:  "func.func"() <{sym_name = "__sgemm_6x16_v8_6144_12288_96", function_type = (memref<6144xf32>, index, memref<12288xf32>, index, memref<96xf32>, index, index, index) -> ()

// The macro loops.
// CHECK-LABEL: sym_name = "mm"
// CHECK-NEXT:  ^bb0(%a: memref<20x299xf32>, %b: memref<299x40xf32>, %out0: memref<20x40xf32>):
// CHECK-DAG:     %[[C4096:[0-9]+]] = "arith.constant"() <{value = 4096 : index}>
// CHECK-DAG:     %[[C1536:[0-9]+]] = "arith.constant"() <{value = 1536 : index}>
// CHECK-DAG:     %[[C19:[0-9]+]] = "arith.constant"() <{value = 19 : index}>
// CHECK-DAG:     %[[C5:[0-9]+]] = "arith.constant"() <{value = 5 : index}>
// CHECK-DAG:     %[[C6:[0-9]+]] = "arith.constant"() <{value = 6 : index}>
// CHECK-DAG:     %[[C24:[0-9]+]] = "arith.constant"() <{value = 24 : index}>
// CHECK-DAG:     %[[C39:[0-9]+]] = "arith.constant"() <{value = 39 : index}>
// CHECK-DAG:     %[[C15:[0-9]+]] = "arith.constant"() <{value = 15 : index}>
// CHECK-DAG:     %[[C16:[0-9]+]] = "arith.constant"() <{value = 16 : index}>
// CHECK-DAG:     %[[C299:[0-9]+]] = "arith.constant"() <{value = 299 : index}>
// CHECK-DAG:     %[[C256:[0-9]+]] = "arith.constant"() <{value = 256 : index}>
// CHECK-DAG:     %[[C6144:[0-9]+]] = "arith.constant"() <{value = 6144 : index}>
// CHECK-DAG:     %[[C12288:[0-9]+]] = "arith.constant"() <{value = 12288 : index}>
// CHECK-DAG:     %[[C48:[0-9]+]] = "arith.constant"() <{value = 48 : index}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "arith.constant"() <{value = 2 : index}>
// CHECK-DAG:     %[[C40:[0-9]+]] = "arith.constant"() <{value = 40 : index}>
// CHECK-DAG:     %[[C1:[0-9]+]] = "arith.constant"() <{value = 1 : index}>
// CHECK-DAG:     %[[C20:[0-9]+]] = "arith.constant"() <{value = 20 : index}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "arith.constant"() <{value = 0 : index}>
// C starts at 0 (the kernels accumulate into it).
// CHECK:         "loop.store"(%{{[0-9]+}}, %out0, %{{[0-9]+}}, %{{[0-9]+}}) : (f32, memref<20x40xf32>, index, index) -> ()
// Packing scratch, allocated once, one slot per jc block (here one: B 256 x 48, A 256 x 24).
// CHECK:         %[[BP:[0-9]+]] = "loop.alloc"() : () -> memref<12288xf32>
// CHECK-NEXT:    %[[AP:[0-9]+]] = "loop.alloc"() : () -> memref<6144xf32>
// jc: 1 column block of NC = 48 (the loop stays, parallel, with one iteration); nc =
// min(48, 40 - jc); the slots at jcb * 12288, jcb * 6144.
// CHECK-NEXT:    "loop.for"(%[[C0]], %[[C1]], %[[C1]]) <{parallel}> ({
// CHECK-NEXT:    ^bb0(%[[JCB:[0-9]+]]: index):
// CHECK-NEXT:      %[[JC:[0-9]+]] = "arith.muli"(%[[JCB]], %[[C48]])
// CHECK-NEXT:      %[[NREST:[0-9]+]] = "arith.subi"(%[[C40]], %[[JC]])
// CHECK-NEXT:      %[[NC:[0-9]+]] = "arith.minsi"(%[[C48]], %[[NREST]])
// CHECK-NEXT:      %[[CF:[0-9]+]] = "loop.reshape"(%out0) : (memref<20x40xf32>) -> memref<800xf32>
// CHECK-NEXT:      %[[BBASE:[0-9]+]] = "arith.muli"(%[[JCB]], %[[C12288]])
// CHECK-NEXT:      %[[ABASE:[0-9]+]] = "arith.muli"(%[[JCB]], %[[C6144]])
// pc: 2 K blocks of KC = 256; kc = min(256, 299 - pc); kcp = kc rounded up to the unroll (2).
// CHECK-NEXT:      "loop.for"(%[[C0]], %[[C2]], %[[C1]]) ({
// CHECK-NEXT:      ^bb0(%[[PCB:[0-9]+]]: index):
// CHECK-NEXT:        %[[PC:[0-9]+]] = "arith.muli"(%[[PCB]], %[[C256]])
// CHECK-NEXT:        %[[KREST:[0-9]+]] = "arith.subi"(%[[C299]], %[[PC]])
// CHECK-NEXT:        %[[KC:[0-9]+]] = "arith.minsi"(%[[C256]], %[[KREST]])
// CHECK-NEXT:        %[[KU:[0-9]+]] = "arith.addi"(%[[KC]], %[[C1]])
// CHECK-NEXT:        %[[KD:[0-9]+]] = "arith.divsi"(%[[KU]], %[[C2]])
// CHECK-NEXT:        %[[KCP:[0-9]+]] = "arith.muli"(%[[KD]], %[[C2]])
// Pack B[pc + p, jc + jr * 16 + l] into bp[bbase + (jr * 256 + p) * 16 + l]: whole panels
// without checks ...
// CHECK-NEXT:        "loop.for"(%[[C0]], %[[KC]], %[[C1]]) ({
// CHECK-NEXT:        ^bb0(%[[P:[0-9]+]]: index):
// CHECK-NEXT:          %[[K:[0-9]+]] = "arith.addi"(%[[PC]], %[[P]])
// CHECK-NEXT:          %[[NJF:[0-9]+]] = "arith.divsi"(%[[NC]], %[[C16]])
// CHECK-NEXT:          %[[NJU:[0-9]+]] = "arith.addi"(%[[NC]], %[[C15]])
// CHECK-NEXT:          %[[NJ:[0-9]+]] = "arith.divsi"(%[[NJU]], %[[C16]])
// CHECK-NEXT:          "loop.for"(%[[C0]], %[[NJF]], %[[C1]]) ({
// CHECK-NEXT:          ^bb0(%[[JR:[0-9]+]]: index):
// CHECK-NEXT:            %[[S0:[0-9]+]] = "arith.muli"(%[[JR]], %[[C256]])
// CHECK-NEXT:            %[[S1:[0-9]+]] = "arith.addi"(%[[S0]], %[[P]])
// CHECK-NEXT:            %[[S2:[0-9]+]] = "arith.muli"(%[[S1]], %[[C16]])
// CHECK-NEXT:            %[[START:[0-9]+]] = "arith.addi"(%[[S2]], %[[BBASE]])
// CHECK-NEXT:            %[[J0:[0-9]+]] = "arith.muli"(%[[JR]], %[[C16]])
// CHECK-NEXT:            %[[COL0:[0-9]+]] = "arith.addi"(%[[JC]], %[[J0]])
// CHECK-NEXT:            "loop.for"(%[[C0]], %[[C16]], %[[C1]]) ({
// CHECK-NEXT:            ^bb0(%[[L:[0-9]+]]: index):
// CHECK-NEXT:              %[[COL:[0-9]+]] = "arith.addi"(%[[COL0]], %[[L]])
// CHECK-NEXT:              %[[BV:[0-9]+]] = "loop.load"(%b, %[[K]], %[[COL]]) : (memref<299x40xf32>, index, index) -> f32
// CHECK-NEXT:              %[[BDST:[0-9]+]] = "arith.addi"(%[[START]], %[[L]])
// CHECK-NEXT:              "loop.store"(%[[BV]], %[[BP]], %[[BDST]]) : (f32, memref<12288xf32>, index) -> ()
// ... and the last, partial panel, its columns clamped to 39 and 0 past N = 40.
// CHECK:                 "loop.for"(%[[NJF]], %[[NJ]], %[[C1]]) ({
// CHECK:                   "loop.for"(%[[C0]], %[[C16]], %[[C1]]) ({
// CHECK-NEXT:              ^bb0(%[[PL:[0-9]+]]: index):
// CHECK-NEXT:                %[[PCOL:[0-9]+]] = "arith.addi"(%{{[0-9]+}}, %[[PL]])
// CHECK-NEXT:              %[[INSIDE:[0-9]+]] = "arith.cmpi"(%[[PCOL]], %[[C40]]) <{predicate = 2 : i64}>
// CHECK-NEXT:              %[[CLAMPED:[0-9]+]] = "arith.minsi"(%[[PCOL]], %[[C39]])
// CHECK-NEXT:              %[[PV:[0-9]+]] = "loop.load"(%b, %[[K]], %[[CLAMPED]])
// CHECK-NEXT:              %[[PZ:[0-9]+]] = "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK-NEXT:              %[[PSEL:[0-9]+]] = "arith.select"(%[[INSIDE]], %[[PV]], %[[PZ]])
// CHECK-NEXT:              %{{[0-9]+}} = "arith.addi"
// CHECK-NEXT:              "loop.store"(%[[PSEL]], %[[BP]],
// Rows kc .. kcp of every B panel are 0 (the kernel runs kcp steps).
// CHECK:             "loop.for"(%[[KC]], %[[KCP]], %[[C1]]) ({
// CHECK:               "loop.store"(%{{[0-9]+}}, %[[BP]],
// ic: one row block (MC = 24 >= M = 20); a 6 x 16 tile buffer for the edge tiles.
// CHECK:           "loop.for"(%[[C0]], %[[C1]], %[[C1]]) ({
// CHECK-NEXT:      ^bb0(%[[ICB:[0-9]+]]: index):
// CHECK-NEXT:        %[[TILE:[0-9]+]] = "loop.alloc"() : () -> memref<96xf32>
// CHECK-NEXT:        %[[IC:[0-9]+]] = "arith.muli"(%[[ICB]], %[[C24]])
// CHECK-NEXT:        %[[MREST:[0-9]+]] = "arith.subi"(%[[C20]], %[[IC]])
// CHECK-NEXT:        %[[MC:[0-9]+]] = "arith.minsi"(%[[C24]], %[[MREST]])
// Pack A[ic + ir * 6 + i, pc + p] into ap[abase + (ir * 256 + p) * 6 + i].
// CHECK-NEXT:        %[[NIF0:[0-9]+]] = "arith.divsi"(%[[MC]], %[[C6]])
// CHECK-NEXT:        "arith.addi"(%[[MC]], %[[C5]])
// CHECK-NEXT:        "arith.divsi"
// CHECK-NEXT:        "loop.for"(%[[C0]], %[[NIF0]], %[[C1]]) ({
// CHECK-NEXT:        ^bb0(%[[IR:[0-9]+]]: index):
// CHECK-NEXT:          "loop.for"(%[[C0]], %[[C6]], %[[C1]]) ({
// CHECK-NEXT:          ^bb0(%[[I:[0-9]+]]: index):
// CHECK-NEXT:            %[[R0:[0-9]+]] = "arith.muli"(%[[IR]], %[[C6]])
// CHECK-NEXT:            %[[R1:[0-9]+]] = "arith.addi"(%[[IC]], %[[R0]])
// CHECK-NEXT:            %[[ROW:[0-9]+]] = "arith.addi"(%[[R1]], %[[I]])
// CHECK-NEXT:            "loop.for"(%[[C0]], %[[KC]], %[[C1]]) ({
// CHECK-NEXT:            ^bb0(%[[PA:[0-9]+]]: index):
// CHECK-NEXT:              %[[KA:[0-9]+]] = "arith.addi"(%[[PC]], %[[PA]])
// CHECK-NEXT:              %[[AV:[0-9]+]] = "loop.load"(%a, %[[ROW]], %[[KA]]) : (memref<20x299xf32>, index, index) -> f32
// CHECK-NEXT:              %[[D0:[0-9]+]] = "arith.muli"(%[[IR]], %[[C256]])
// CHECK-NEXT:              %[[D1:[0-9]+]] = "arith.addi"(%[[D0]], %[[PA]])
// CHECK-NEXT:              %[[D2:[0-9]+]] = "arith.muli"(%[[D1]], %[[C6]])
// CHECK-NEXT:              %[[D3:[0-9]+]] = "arith.addi"(%[[D2]], %[[I]])
// CHECK-NEXT:              %[[D4:[0-9]+]] = "arith.addi"(%[[D3]], %[[ABASE]])
// CHECK-NEXT:              "loop.store"(%[[AV]], %[[AP]], %[[D4]]) : (f32, memref<6144xf32>, index) -> ()
// The partial row panel: rows clamped to 19, 0 past M = 20; then the zero rows.
// CHECK:                 "arith.cmpi"(%{{[0-9]+}}, %[[C20]]) <{predicate = 2 : i64}>
// CHECK-NEXT:            "arith.minsi"(%{{[0-9]+}}, %[[C19]])
// CHECK:             "loop.for"(%[[KC]], %[[KCP]], %[[C1]]) ({
// CHECK:               "loop.store"(%{{[0-9]+}}, %[[AP]],
// The kernel loops (a B block of 256 x 48 floats, 48 KiB, is small, at most 192 KiB:
// MR panels outside, NR panels inside). Whole tiles: the kernel on C itself at row
// stride 40, a_off = abase + ir * 1536 (256 x 6), b_off = bbase + jr * 4096 (256 x 16),
// C offset (ic + ir * 6) * 40 + jc + jr * 16.
// CHECK:           %[[NJF2:[0-9]+]] = "arith.divsi"(%[[NC]], %[[C16]])
// CHECK-NEXT:      "arith.addi"(%[[NC]], %[[C15]])
// CHECK-NEXT:      %[[NJ2:[0-9]+]] = "arith.divsi"
// CHECK-NEXT:      %[[NIF:[0-9]+]] = "arith.divsi"(%[[MC]], %[[C6]])
// CHECK-NEXT:      "arith.addi"(%[[MC]], %[[C5]])
// CHECK-NEXT:      %[[NI:[0-9]+]] = "arith.divsi"
// CHECK-NEXT:      "loop.for"(%[[C0]], %[[NIF]], %[[C1]]) ({
// CHECK-NEXT:      ^bb0(%[[KIR:[0-9]+]]: index):
// CHECK-NEXT:        "loop.for"(%[[C0]], %[[NJF2]], %[[C1]]) ({
// CHECK-NEXT:        ^bb0(%[[KJR:[0-9]+]]: index):
// CHECK-NEXT:          %[[AO0:[0-9]+]] = "arith.muli"(%[[KIR]], %[[C1536]])
// CHECK-NEXT:          %[[AOFF:[0-9]+]] = "arith.addi"(%[[ABASE]], %[[AO0]])
// CHECK-NEXT:          %[[BO0:[0-9]+]] = "arith.muli"(%[[KJR]], %[[C4096]])
// CHECK-NEXT:          %[[BOFF:[0-9]+]] = "arith.addi"(%[[BBASE]], %[[BO0]])
// CHECK-NEXT:          %[[RW0:[0-9]+]] = "arith.muli"(%[[KIR]], %[[C6]])
// CHECK-NEXT:          %[[RW:[0-9]+]] = "arith.addi"(%[[IC]], %[[RW0]])
// CHECK-NEXT:          %[[CL0:[0-9]+]] = "arith.muli"(%[[KJR]], %[[C16]])
// CHECK-NEXT:          %[[CL:[0-9]+]] = "arith.addi"(%[[JC]], %[[CL0]])
// CHECK-NEXT:          %[[OF0:[0-9]+]] = "arith.muli"(%[[RW]], %[[C40]])
// CHECK-NEXT:          %[[OF1:[0-9]+]] = "arith.addi"(%[[C0]], %[[OF0]])
// CHECK-NEXT:          %[[OFF:[0-9]+]] = "arith.addi"(%[[OF1]], %[[CL]])
// CHECK-NEXT:          "func.call"(%[[AP]], %[[AOFF]], %[[BP]], %[[BOFF]], %[[CF]], %[[OFF]], %[[C40]], %[[KCP]]) <{callee = @__sgemm_6x16_v8_6144_12288_800}>
// CHECK-NEXT:          "loop.yield"() : () -> ()
// CHECK-NEXT:        }) : (index, index, index) -> ()
// The last, partial NR panel of a row panel: the C tile (min(6, 20 - row0) rows,
// min(16, 40 - col0) columns) is copied into the tile buffer, the kernel runs on it
// (offset 0, row stride 16) and it is copied back.
// CHECK-NEXT:        "loop.for"(%[[NJF2]], %[[NJ2]], %[[C1]]) ({
// CHECK-NEXT:        ^bb0(%[[EJR:[0-9]+]]: index):
// CHECK-NEXT:          %[[EA0:[0-9]+]] = "arith.muli"(%[[KIR]], %[[C1536]])
// CHECK-NEXT:          %[[EAOFF:[0-9]+]] = "arith.addi"(%[[ABASE]], %[[EA0]])
// CHECK-NEXT:          %[[EB0:[0-9]+]] = "arith.muli"(%[[EJR]], %[[C4096]])
// CHECK-NEXT:          %[[EBOFF:[0-9]+]] = "arith.addi"(%[[BBASE]], %[[EB0]])
// CHECK-NEXT:          %[[ERW0:[0-9]+]] = "arith.muli"(%[[KIR]], %[[C6]])
// CHECK-NEXT:          %[[ERW:[0-9]+]] = "arith.addi"(%[[IC]], %[[ERW0]])
// CHECK-NEXT:          %[[ECL0:[0-9]+]] = "arith.muli"(%[[EJR]], %[[C16]])
// CHECK-NEXT:          %[[ECL:[0-9]+]] = "arith.addi"(%[[JC]], %[[ECL0]])
// CHECK-NEXT:          %[[EOF0:[0-9]+]] = "arith.muli"(%[[ERW]], %[[C40]])
// CHECK-NEXT:          %[[EOF1:[0-9]+]] = "arith.addi"(%[[C0]], %[[EOF0]])
// CHECK-NEXT:          %[[EOFF:[0-9]+]] = "arith.addi"(%[[EOF1]], %[[ECL]])
// CHECK-NEXT:          %[[ER:[0-9]+]] = "arith.subi"(%[[C20]], %[[ERW]])
// CHECK-NEXT:          %[[ROWS:[0-9]+]] = "arith.minsi"(%[[C6]], %[[ER]])
// CHECK-NEXT:          %[[EC:[0-9]+]] = "arith.subi"(%[[C40]], %[[ECL]])
// CHECK-NEXT:          %[[COLS:[0-9]+]] = "arith.minsi"(%[[C16]], %[[EC]])
// tile[r * 16 + q] = C[off + r * 40 + q]
// CHECK-NEXT:          "loop.for"(%[[C0]], %[[ROWS]], %[[C1]]) ({
// CHECK-NEXT:          ^bb0(%[[R:[0-9]+]]: index):
// CHECK-NEXT:            "loop.for"(%[[C0]], %[[COLS]], %[[C1]]) ({
// CHECK-NEXT:            ^bb0(%[[Q:[0-9]+]]: index):
// CHECK-NEXT:              %[[SR:[0-9]+]] = "arith.muli"(%[[R]], %[[C40]])
// CHECK-NEXT:              %[[SR1:[0-9]+]] = "arith.addi"(%[[EOFF]], %[[SR]])
// CHECK-NEXT:              %[[SRC:[0-9]+]] = "arith.addi"(%[[SR1]], %[[Q]])
// CHECK-NEXT:              %[[DR:[0-9]+]] = "arith.muli"(%[[R]], %[[C16]])
// CHECK-NEXT:              %[[DST:[0-9]+]] = "arith.addi"(%[[DR]], %[[Q]])
// CHECK-NEXT:              %[[CV:[0-9]+]] = "loop.load"(%[[CF]], %[[SRC]]) : (memref<800xf32>, index) -> f32
// CHECK-NEXT:              "loop.store"(%[[CV]], %[[TILE]], %[[DST]]) : (f32, memref<96xf32>, index) -> ()
// CHECK:               "func.call"(%[[AP]], %[[EAOFF]], %[[BP]], %[[EBOFF]], %[[TILE]], %[[C0]], %[[C16]], %[[KCP]]) <{callee = @__sgemm_6x16_v8_6144_12288_96}>
// C[off + r * 40 + q] = tile[r * 16 + q]
// CHECK-NEXT:          "loop.for"(%[[C0]], %[[ROWS]], %[[C1]]) ({
// CHECK-NEXT:          ^bb0(%[[R2:[0-9]+]]: index):
// CHECK-NEXT:            "loop.for"(%[[C0]], %[[COLS]], %[[C1]]) ({
// CHECK-NEXT:            ^bb0(%[[Q2:[0-9]+]]: index):
// CHECK-NEXT:              %[[SR2:[0-9]+]] = "arith.muli"(%[[R2]], %[[C40]])
// CHECK-NEXT:              %[[SR3:[0-9]+]] = "arith.addi"(%[[EOFF]], %[[SR2]])
// CHECK-NEXT:              %[[SRC2:[0-9]+]] = "arith.addi"(%[[SR3]], %[[Q2]])
// CHECK-NEXT:              %[[DR2:[0-9]+]] = "arith.muli"(%[[R2]], %[[C16]])
// CHECK-NEXT:              %[[DST2:[0-9]+]] = "arith.addi"(%[[DR2]], %[[Q2]])
// CHECK-NEXT:              %[[TV:[0-9]+]] = "loop.load"(%[[TILE]], %[[DST2]]) : (memref<96xf32>, index) -> f32
// CHECK-NEXT:              "loop.store"(%[[TV]], %[[CF]], %[[SRC2]]) : (f32, memref<800xf32>, index) -> ()
// The last, partial MR panel: every NR panel through the tile.
// CHECK:           "loop.for"(%[[NIF]], %[[NI]], %[[C1]]) ({
// CHECK-NEXT:      ^bb0(%{{[0-9]+}}: index):
// CHECK-NEXT:        "loop.for"(%[[C0]], %[[NJ2]], %[[C1]]) ({
// CHECK:               "func.call"({{.*}}) <{callee = @__sgemm_6x16_v8_6144_12288_96}>
// CHECK-NOT:           "func.call"
// CHECK:           "loop.dealloc"(%[[TILE]]) : (memref<96xf32>) -> ()
// CHECK:       "loop.dealloc"(%[[BP]]) : (memref<12288xf32>) -> ()
// CHECK-NEXT:  "loop.dealloc"(%[[AP]]) : (memref<6144xf32>) -> ()
// CHECK-NEXT:  "func.return"() : () -> ()

// Under microkernel-min-flops (478400 flops < 1000000): the plain nest, i, j parallel, k
// inside, C[i, j] += A[i, k] * B[k, j].
// NOMK-NOT:     __sgemm
// NOMK-LABEL: sym_name = "mm"
// NOMK-NOT:     "loop.alloc"
// the zero fill of C, then the product
// NOMK:         "loop.store"(%{{[0-9]+}}, %out0, %{{[0-9]+}}, %{{[0-9]+}}) : (f32, memref<20x40xf32>, index, index) -> ()
// NOMK:         "loop.for"(%{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}}) <{parallel}> ({
// NOMK-NEXT:    ^bb0(%[[I:[0-9]+]]: index):
// NOMK-NEXT:      "loop.for"(%{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}}) <{parallel}> ({
// NOMK-NEXT:      ^bb0(%[[J:[0-9]+]]: index):
// NOMK-NEXT:        "loop.for"(%{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}}) ({
// NOMK-NEXT:        ^bb0(%[[K:[0-9]+]]: index):
// NOMK-NEXT:          %[[X:[0-9]+]] = "loop.load"(%a, %[[I]], %[[K]]) : (memref<20x299xf32>, index, index) -> f32
// NOMK-NEXT:          %[[Y:[0-9]+]] = "loop.load"(%b, %[[K]], %[[J]]) : (memref<299x40xf32>, index, index) -> f32
// NOMK-NOT:     "func.call"
// NOMK-NOT:     "vector.

// vector-bits=512: an 8 x 32 register block of 16-lane vectors (N = 40 is not a multiple
// of 64, so no 6 x 64 block: the last case). A 6144 floats (1 jc slot x KC 256 x MC 24,
// 20 rows in whole MR = 8 panels), B 16384 (KC 256 x NC 64: 40 columns in two NR = 32
// panels, one column block), an 8 x 32 = 256-float tile for the edge tiles.
// V512:        sym_name = "__sgemm_8x32_v16_6144_16384_800"
// V512:          %acc = "loop.alloc"() : () -> memref<16xvector<16xf32>>
// V512:        sym_name = "__sgemm_8x32_v16_6144_16384_256"
// V512-LABEL:  sym_name = "mm"
// V512:          "func.call"({{.*}}) <{callee = @__sgemm_8x32_v16_6144_16384_800}>

// -----

// The threshold (microkernel-min-flops, 4096 by default) is inclusive: a 16 x 8 x 16
// product (2 * 16 * 8 * 16 = 4096 flops) takes the kernel path, 16 x 7 x 16 (3584) keeps
// the plain loop nest (no kernel, no packing).
"builtin.module"() ({
"func.func"() <{sym_name = "at_threshold", function_type = (tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>}> ({
^bb0(%a: tensor<16x8xf32>, %b: tensor<8x16xf32>):
  %c = "graph.matmul"(%a, %b) : (tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>
  "func.return"(%c) : (tensor<16x16xf32>) -> ()
}) : () -> ()
"func.func"() <{sym_name = "below", function_type = (tensor<16x7xf32>, tensor<7x16xf32>) -> tensor<16x16xf32>}> ({
^bb0(%a: tensor<16x7xf32>, %b: tensor<7x16xf32>):
  %c = "graph.matmul"(%a, %b) : (tensor<16x7xf32>, tensor<7x16xf32>) -> tensor<16x16xf32>
  "func.return"(%c) : (tensor<16x16xf32>) -> ()
}) : () -> ()
}) {irforge.target = {num_threads = 1 : i64}} : () -> ()

// CHECK-LABEL: sym_name = "at_threshold"
// CHECK:         "func.call"({{.*}}) <{callee = @__sgemm_6x16_v8_144_128_256}>
// CHECK-LABEL: sym_name = "below"
// CHECK-NOT:     "loop.alloc"
// CHECK:         "loop.for"({{.*}}) <{parallel}> ({
// CHECK:           "loop.for"({{.*}}) <{parallel}> ({
// CHECK:             "loop.for"({{.*}}) ({
// CHECK-NEXT:        ^bb0(%[[K:[0-9]+]]: index):
// CHECK-NEXT:          "loop.load"(%a, %{{[0-9]+}}, %[[K]]) : (memref<16x7xf32>, index, index) -> f32
// CHECK-NOT:     "func.call"
// CHECK-NOT:     "vector.
// CHECK:         "func.return"

// -----

// A constant B (weights) is packed at compile time into a new global in the panel
// layout, the original constant dropped; only A is packed at run time.
// packed_b: B[2 x 24] (B[p, j] = 24 p + j) as two NR = 16 column panels of kc = 2 rows,
// panel after panel, the second panel's 8 missing columns 0:
//   panel 0: B[0, 0:16], B[1, 0:16]; panel 1: B[0, 16:24] 0 x 8, B[1, 16:24] 0 x 8.
// packed_b_odd_k: B[3 x 16], K = 3 padded with a zero row to 4 (the kernel's unroll).
// The kernels read B at pc * 32 + (jc / 16 + jr) * kcp * 16 (K block at pc, panel).
"builtin.module"() ({
"func.func"() <{sym_name = "packed_b", function_type = (tensor<48x2xf32>) -> tensor<48x24xf32>}> ({
^bb0(%x: tensor<48x2xf32>):
  %w = "graph.constant"() <{value = dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0], [24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0]]> : tensor<2x24xf32>}> : () -> tensor<2x24xf32>
  %y = "graph.matmul"(%x, %w) : (tensor<48x2xf32>, tensor<2x24xf32>) -> tensor<48x24xf32>
  "func.return"(%y) : (tensor<48x24xf32>) -> ()
}) : () -> ()
"func.func"() <{sym_name = "packed_b_odd_k", function_type = (tensor<48x3xf32>) -> tensor<48x16xf32>}> ({
^bb0(%x: tensor<48x3xf32>):
  %w = "graph.constant"() <{value = dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0], [24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0], [48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0]]> : tensor<3x16xf32>}> : () -> tensor<3x16xf32>
  %y = "graph.matmul"(%x, %w) : (tensor<48x3xf32>, tensor<3x16xf32>) -> tensor<48x16xf32>
  "func.return"(%y) : (tensor<48x16xf32>) -> ()
}) : () -> ()
}) {irforge.target = {num_threads = 1 : i64}} : () -> ()

// CHECK-NOT:   __constant_
// CHECK:       "memref.global"() <{sym_name = "__packed_b_0", type = memref<64xf32>, initial_value = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01, 1.500000e+01, 2.400000e+01, 2.500000e+01, 2.600000e+01, 2.700000e+01, 2.800000e+01, 2.900000e+01, 3.000000e+01, 3.100000e+01, 3.200000e+01, 3.300000e+01, 3.400000e+01, 3.500000e+01, 3.600000e+01, 3.700000e+01, 3.800000e+01, 3.900000e+01, 1.600000e+01, 1.700000e+01, 1.800000e+01, 1.900000e+01, 2.000000e+01, 2.100000e+01, 2.200000e+01, 2.300000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 4.000000e+01, 4.100000e+01, 4.200000e+01, 4.300000e+01, 4.400000e+01, 4.500000e+01, 4.600000e+01, 4.700000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<64xf32>, sym_visibility = "private", constant, alignment = 64 : i64}>
// CHECK-NOT:   __constant_
// CHECK-LABEL: sym_name = "packed_b"
// CHECK-DAG:     %[[C32:[0-9]+]] = "arith.constant"() <{value = 32 : index}>
// CHECK-DAG:     %[[C16:[0-9]+]] = "arith.constant"() <{value = 16 : index}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "arith.constant"() <{value = 2 : index}>
// A: 1 jc slot x KC 2 x MC 48 (one thread: the two NR panels of N = 24 make one column
// block, NC = 32); nothing reads the 2x24 B.
// CHECK:         %[[AP:[0-9]+]] = "loop.alloc"() : () -> memref<96xf32>
// CHECK-NOT:     "loop.alloc"() : () -> memref<{{[0-9]+}}xf32>
// CHECK-NOT:     memref<2x24xf32>
// CHECK:         "loop.for"({{.*}}) <{parallel}> ({
// CHECK-NEXT:    ^bb0(%[[JCB:[0-9]+]]: index):
// CHECK-NEXT:      %[[JC:[0-9]+]] = "arith.muli"(%[[JCB]], %[[C32]])
// CHECK:           ^bb0(%[[PCB:[0-9]+]]: index):
// CHECK-NEXT:        %[[PC:[0-9]+]] = "arith.muli"(%[[PCB]], %[[C2]])
// CHECK:             %[[KCP:[0-9]+]] = "arith.muli"(%{{[0-9]+}}, %[[C2]])
// CHECK-NEXT:        %[[PB:[0-9]+]] = "memref.get_global"() <{name = @__packed_b_0}> : () -> memref<64xf32>
// CHECK:                 %[[PNL0:[0-9]+]] = "arith.divsi"(%[[JC]], %[[C16]])
// CHECK-NEXT:            %[[PNL:[0-9]+]] = "arith.addi"(%[[PNL0]], %{{[0-9]+}})
// CHECK-NEXT:            %[[BLK:[0-9]+]] = "arith.muli"(%[[PC]], %[[C32]])
// CHECK-NEXT:            %[[B0:[0-9]+]] = "arith.muli"(%[[PNL]], %[[KCP]])
// CHECK-NEXT:            %[[B1:[0-9]+]] = "arith.muli"(%[[B0]], %[[C16]])
// CHECK-NEXT:            %[[BOFF:[0-9]+]] = "arith.addi"(%[[BLK]], %[[B1]])
// CHECK:                 "func.call"(%[[AP]], %{{[0-9]+}}, %[[PB]], %[[BOFF]], {{.*}}) <{callee = @__sgemm_6x16_v8_96_64_1152}>
// The second global comes right before the second function (and its kernel).
// CHECK:       "memref.global"() <{sym_name = "__packed_b_1", type = memref<64xf32>, initial_value = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 1.400000e+01, 1.500000e+01, 2.400000e+01, 2.500000e+01, 2.600000e+01, 2.700000e+01, 2.800000e+01, 2.900000e+01, 3.000000e+01, 3.100000e+01, 3.200000e+01, 3.300000e+01, 3.400000e+01, 3.500000e+01, 3.600000e+01, 3.700000e+01, 3.800000e+01, 3.900000e+01, 4.800000e+01, 4.900000e+01, 5.000000e+01, 5.100000e+01, 5.200000e+01, 5.300000e+01, 5.400000e+01, 5.500000e+01, 5.600000e+01, 5.700000e+01, 5.800000e+01, 5.900000e+01, 6.000000e+01, 6.100000e+01, 6.200000e+01, 6.300000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<64xf32>, sym_visibility = "private", constant, alignment = 64 : i64}>
// KC = 4 (K = 3 rounded up to the unroll): one K block of kc = 3 rows, kcp = 4.
// CHECK-LABEL: sym_name = "packed_b_odd_k"
// CHECK-DAG:     %[[C4:[0-9]+]] = "arith.constant"() <{value = 4 : index}>
// CHECK-DAG:     %[[C3:[0-9]+]] = "arith.constant"() <{value = 3 : index}>
// CHECK-DAG:     %[[C2:[0-9]+]] = "arith.constant"() <{value = 2 : index}>
// CHECK-DAG:     %[[C1:[0-9]+]] = "arith.constant"() <{value = 1 : index}>
// CHECK-DAG:     %[[C0:[0-9]+]] = "arith.constant"() <{value = 0 : index}>
// CHECK:           "loop.reshape"(%out0)
// CHECK:           "loop.for"(%[[C0]], %[[C1]], %[[C1]]) ({
// CHECK-NEXT:      ^bb0(%[[PCB:[0-9]+]]: index):
// CHECK-NEXT:        %[[PC:[0-9]+]] = "arith.muli"(%[[PCB]], %[[C4]])
// CHECK-NEXT:        %[[KREST:[0-9]+]] = "arith.subi"(%[[C3]], %[[PC]])
// CHECK-NEXT:        %[[KC:[0-9]+]] = "arith.minsi"(%[[C4]], %[[KREST]])
// CHECK-NEXT:        %[[KU:[0-9]+]] = "arith.addi"(%[[KC]], %[[C1]])
// CHECK-NEXT:        %[[KD:[0-9]+]] = "arith.divsi"(%[[KU]], %[[C2]])
// CHECK-NEXT:        %[[KCP:[0-9]+]] = "arith.muli"(%[[KD]], %[[C2]])
// CHECK-NEXT:        %[[PB:[0-9]+]] = "memref.get_global"() <{name = @__packed_b_1}> : () -> memref<64xf32>
// CHECK:                 "func.call"({{.*}}, %[[PB]], {{.*}}, %[[KCP]]) <{callee = @__sgemm_6x16_v8_192_64_768}>

// -----

// With 16-lane vectors, a matmul (one column dim) whose N is a multiple of 4 vectors (64)
// takes a 6 x 64 register block instead of 8 x 32 (blocking.py, matmul_blocking): 24
// accumulators + 4 B vectors of the 32 registers. C[8 x 64] = A[8 x 32] * B[32 x 64]:
// KC = 32 (= K), MC = 12 (8 rows in whole MR = 6 panels), NC = 64 (one NR panel); A 384
// floats (KC 32 x MC 12), B 2048 (KC 32 x NC 64), C 512; the edge tiles use a 6 x 64 =
// 384-float C. Per k step: 4 vector loads of the B row, per row one broadcast of A and 4
// fmas; unrolled twice: 48 fmas. At 256 bits the same product keeps 6 x 16 (8 lanes).
"builtin.module"() ({
"func.func"() <{sym_name = "wide", function_type = (tensor<8x32xf32>, tensor<32x64xf32>) -> tensor<8x64xf32>}> ({
^bb0(%a: tensor<8x32xf32>, %b: tensor<32x64xf32>):
  %c = "graph.matmul"(%a, %b) : (tensor<8x32xf32>, tensor<32x64xf32>) -> tensor<8x64xf32>
  "func.return"(%c) : (tensor<8x64xf32>) -> ()
}) : () -> ()
}) {irforge.target = {num_threads = 1 : i64}} : () -> ()

// CHECK-LABEL: sym_name = "wide"
// CHECK:         "func.call"({{.*}}) <{callee = @__sgemm_6x16_v8_384_2048_512}>

// V512-LABEL:  "func.func"() <{sym_name = "__sgemm_6x64_v16_384_2048_512", function_type = (memref<384xf32>, index, memref<2048xf32>, index, memref<512xf32>, index, index, index) -> ()
// V512:          %acc = "loop.alloc"() : () -> memref<24xvector<16xf32>>
// V512:          %[[ZV:[0-9]+]] = "vector.broadcast"(%{{[0-9]+}}) : (f32) -> vector<16xf32>
// V512-COUNT-24: "loop.store"(%[[ZV]], %acc, %{{[0-9]+}}) : (vector<16xf32>, memref<24xvector<16xf32>>, index) -> ()
// V512-NEXT:     "loop.for"(%{{[0-9]+}}, %kc, %{{[0-9]+}}) ({
// V512-COUNT-4:    "vector.load"(%b, %{{[0-9]+}}) : (memref<2048xf32>, index) -> vector<16xf32>
// V512-NEXT:       "loop.load"(%a, %{{[0-9]+}}) : (memref<384xf32>, index) -> f32
// V512-COUNT-48:   "vector.fma"
// V512-NOT:        "vector.fma"
// V512:            "loop.yield"() : () -> ()
// V512:        sym_name = "__sgemm_6x64_v16_384_2048_384"
// V512-LABEL:  sym_name = "wide"
// V512:          "func.call"({{.*}}) <{callee = @__sgemm_6x64_v16_384_2048_512}>
// V512:          "func.call"({{.*}}) <{callee = @__sgemm_6x64_v16_384_2048_384}>
