"""The C runtime a model needs on wasm32, written as LLVM IR (llvmlite's IR builder) and
linked into the model's own LLVM module, so that the `.wasm` file imports nothing.

Allocator (`irforge_alloc`, `irforge_free`; `malloc`, `aligned_alloc` and `free` call them;
`aligned_alloc`, which the model's code calls and does not check, traps on failure after
recording the size, which `irforge_failed_alloc() -> i64` returns):
segregated free lists over a bump pointer that grows the linear memory with `memory.grow`.
Every block has a 64-byte header (its payload size at offset 0) and a 64-byte-aligned
payload (the model's buffers ask for 64; the wasm ABI promises 16). Payloads of at most
1 MiB are rounded up to a power of two >= 64 bytes and kept, once freed, on one list per
size; bigger ones are rounded up to 64 KiB and reused best-fit. Blocks are never split,
merged or returned to the memory: a model allocates the same sizes on every call, so the
second call reuses exactly the blocks of the first. `irforge_alloc` returns 0 when the
request is above 2 GiB - 64 KiB or `memory.grow` fails (the memory's maximum is reached).

Math: wasm has no libm, and LLVM's `llvm.exp.*` intrinsics and libm calls would become
imports. The f32 functions of backends/llvm/inline_math.py (algorithms and accuracy
there) replace the intrinsics the lowering emits (`WASM_MATH`: exp, log, tanh, pow, and
`llvm.maxnum` / `llvm.minnum`, which wasm has no instruction for: its `f32.max`
propagates NaN), inlined into the model so that LLVM vectorizes them; `runtime_module`
also defines the C names (`expf`, ...) for the calls the model makes (`erff`, `log1pf`,
`expm1f`) and those LLVM's code generator makes by itself.
"""

from __future__ import annotations

from llvmlite import ir

from ..llvm.inline_math import F32, I32, LIBM_NAMES, math_function, vector_type

I64 = ir.IntType(64)
I1 = ir.IntType(1)
PTR = ir.PointerType()

SMALL_MAX = 1 << 20
"""Largest payload served from the power-of-two lists; bigger ones are 64 KiB multiples."""
MAX_REQUEST = 0x7FFF0000
"""Requests above this many bytes (2 GiB - 64 KiB) fail (return 0)."""
HEADER = 64
PAGE = 65536


# -- allocator -----------------------------------------------------------------------------


def _allocator(m: ir.Module) -> None:
    g_top = ir.GlobalVariable(m, I32, "irforge.heap_top")
    g_top.linkage = "internal"
    g_top.initializer = ir.Constant(I32, 0)
    nclasses = 15  # payloads 64 B .. 1 MiB
    g_lists = ir.GlobalVariable(m, ir.ArrayType(I32, nclasses), "irforge.free_lists")
    g_lists.linkage = "internal"
    g_lists.initializer = ir.Constant(ir.ArrayType(I32, nclasses), [0] * nclasses)
    g_large = ir.GlobalVariable(m, I32, "irforge.free_large")
    g_large.linkage = "internal"
    g_large.initializer = ir.Constant(I32, 0)
    heap_base = ir.GlobalVariable(m, ir.IntType(8), "__heap_base")
    heap_base.linkage = "external"
    grow = ir.Function(m, ir.FunctionType(I32, [I32, I32]), "llvm.wasm.memory.grow.i32")
    size = ir.Function(m, ir.FunctionType(I32, [I32]), "llvm.wasm.memory.size.i32")
    ctlz = ir.Function(m, ir.FunctionType(I32, [I32, I1]), "llvm.ctlz.i32")
    cttz = ir.Function(m, ir.FunctionType(I32, [I32, I1]), "llvm.cttz.i32")

    def c32(v: int) -> ir.Constant:
        return ir.Constant(I32, v)

    def c64(v: int) -> ir.Constant:
        return ir.Constant(I64, v)

    def header(b: ir.IRBuilder, p: ir.Value) -> ir.Value:
        return b.inttoptr(b.sub(p, c32(HEADER)), PTR)

    def list_slot(b: ir.IRBuilder, payload: ir.Value) -> ir.Value:
        cls = b.sub(b.call(cttz, [payload, ir.Constant(I1, 1)]), c32(6))
        return b.gep(g_lists, [c32(0), cls], inbounds=True)

    # bump(payload bytes) -> i32 pointer or 0: a new block at the top of the heap.
    bump = ir.Function(m, ir.FunctionType(I32, [I32]), "irforge.bump")
    bump.linkage = "internal"
    (nbytes,) = bump.args
    b = ir.IRBuilder(bump.append_basic_block("entry"))
    top = b.load(g_top, typ=I32)
    with b.if_then(b.icmp_unsigned("==", top, c32(0)), likely=False):
        base = b.ptrtoint(heap_base, I32)
        aligned = b.and_(b.add(base, c32(HEADER - 1)), c32(-HEADER))
        b.store(aligned, g_top)
    top = b.load(g_top, typ=I32)
    end = b.add(b.add(b.zext(top, I64), c64(HEADER)), b.zext(nbytes, I64))
    have = b.mul(b.zext(b.call(size, [c32(0)]), I64), c64(PAGE))
    with b.if_then(b.icmp_unsigned(">", end, have), likely=False):
        pages = b.trunc(b.udiv(b.add(b.sub(end, have), c64(PAGE - 1)), c64(PAGE)), I32)
        with b.if_then(b.icmp_signed("<", b.call(grow, [c32(0), pages]), c32(0))):
            b.ret(c32(0))  # the memory is at its maximum
    p = b.add(top, c32(HEADER))
    b.store(b.trunc(end, I32), g_top)
    b.store(nbytes, header(b, p))
    b.ret(p)

    # irforge_alloc(n) -> i32
    alloc = ir.Function(m, ir.FunctionType(I32, [I32]), "irforge_alloc")
    alloc.attributes.add("nounwind")
    (n,) = alloc.args
    b = ir.IRBuilder(alloc.append_basic_block("entry"))
    small_bb = b.append_basic_block("small")
    large_bb = b.append_basic_block("large")
    with b.if_then(b.icmp_unsigned(">", n, c32(MAX_REQUEST)), likely=False):
        b.ret(c32(0))
    b.cbranch(b.icmp_unsigned("<=", n, c32(SMALL_MAX)), small_bb, large_bb)
    # small: the power of two >= max(n, 64)
    b.position_at_end(small_bb)
    nm1 = b.sub(b.select(b.icmp_unsigned("<", n, c32(HEADER)), c32(HEADER), n), c32(1))
    payload = b.shl(c32(1), b.sub(c32(32), b.call(ctlz, [nm1, ir.Constant(I1, 0)])))
    slot = list_slot(b, payload)
    head = b.load(slot, typ=I32)
    with b.if_then(b.icmp_unsigned("!=", head, c32(0))):
        b.store(b.load(b.inttoptr(head, PTR), typ=I32), slot)
        b.ret(head)
    b.ret(b.call(bump, [payload]))
    # large: 64 KiB multiple, best fit among the freed large blocks
    b.position_at_end(large_bb)
    want = b.and_(b.add(n, c32(PAGE - 1)), c32(-PAGE))
    head0 = b.load(g_large, typ=I32)
    scan = alloc.append_basic_block("scan")
    body = alloc.append_basic_block("scan_body")
    done = alloc.append_basic_block("scan_done")
    b.branch(scan)
    b.position_at_end(scan)
    prev = b.phi(I32, "prev")  # the block whose link points at cur (0: the list head)
    cur = b.phi(I32, "cur")
    best = b.phi(I32, "best")
    best_prev = b.phi(I32, "best_prev")
    best_size = b.phi(I32, "best_size")
    for phi, v in ((prev, 0), (cur, head0), (best, 0), (best_prev, 0), (best_size, -1)):
        phi.add_incoming(c32(v) if isinstance(v, int) else v, large_bb)
    b.cbranch(b.icmp_unsigned("==", cur, c32(0)), done, body)
    b.position_at_end(body)
    csize = b.load(header(b, cur), typ=I32)
    better = b.and_(b.icmp_unsigned(">=", csize, want), b.icmp_unsigned("<", csize, best_size))
    for phi, v in (
        (prev, cur),
        (cur, b.load(b.inttoptr(cur, PTR), typ=I32)),
        (best, b.select(better, cur, best)),
        (best_prev, b.select(better, prev, best_prev)),
        (best_size, b.select(better, csize, best_size)),
    ):
        phi.add_incoming(v, body)
    b.branch(scan)
    b.position_at_end(done)
    with b.if_then(b.icmp_unsigned("!=", best, c32(0))):
        link = b.load(b.inttoptr(best, PTR), typ=I32)
        with b.if_else(b.icmp_unsigned("==", best_prev, c32(0))) as (head_case, mid_case):
            with head_case:
                b.store(link, g_large)
            with mid_case:
                b.store(link, b.inttoptr(best_prev, PTR))
        b.ret(best)
    b.ret(b.call(bump, [want]))

    # irforge_free(p)
    free = ir.Function(m, ir.FunctionType(ir.VoidType(), [I32]), "irforge_free")
    free.attributes.add("nounwind")
    (p,) = free.args
    b = ir.IRBuilder(free.append_basic_block("entry"))
    with b.if_then(b.icmp_unsigned("==", p, c32(0)), likely=False):
        b.ret_void()
    psize = b.load(header(b, p), typ=I32)
    with b.if_else(b.icmp_unsigned("<=", psize, c32(SMALL_MAX))) as (small_case, large_case):
        with small_case:
            slot = list_slot(b, psize)
            b.store(b.load(slot, typ=I32), b.inttoptr(p, PTR))
            b.store(p, slot)
        with large_case:
            b.store(b.load(g_large, typ=I32), b.inttoptr(p, PTR))
            b.store(p, g_large)
    b.ret_void()

    # The C names the model (and LLVM) call.
    f = ir.Function(m, ir.FunctionType(PTR, [I32]), "malloc")
    b = ir.IRBuilder(f.append_basic_block("entry"))
    b.ret(b.inttoptr(b.call(alloc, [f.args[0]]), PTR))
    # The model's buffers: it does not test for NULL, so a failure records the size and
    # traps (`irforge_failed_alloc()` tells the host why the call trapped).
    g_failed = ir.GlobalVariable(m, I64, "irforge.failed_request")
    g_failed.linkage = "internal"
    g_failed.initializer = ir.Constant(I64, 0)
    trap = ir.Function(m, ir.FunctionType(ir.VoidType(), []), "llvm.trap")
    f = ir.Function(m, ir.FunctionType(PTR, [I64, I64]), "aligned_alloc")
    align, nbytes = f.args
    b = ir.IRBuilder(f.append_basic_block("entry"))
    fail = f.append_basic_block("fail")
    try_alloc = f.append_basic_block("alloc")
    bad = b.or_(
        b.icmp_unsigned(">", align, c64(HEADER)), b.icmp_unsigned(">", nbytes, c64(MAX_REQUEST))
    )
    b.cbranch(bad, fail, try_alloc)
    b.position_at_end(try_alloc)
    p = b.call(alloc, [b.trunc(nbytes, I32)])
    ok = f.append_basic_block("ok")
    b.cbranch(b.icmp_unsigned("==", p, c32(0)), fail, ok)
    b.position_at_end(ok)
    b.ret(b.inttoptr(p, PTR))
    b.position_at_end(fail)
    b.store(nbytes, g_failed)
    b.call(trap, [])
    b.unreachable()
    f = ir.Function(m, ir.FunctionType(I64, []), "irforge_failed_alloc")
    b = ir.IRBuilder(f.append_basic_block("entry"))
    b.ret(b.load(g_failed, typ=I64))
    f = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR]), "free")
    b = ir.IRBuilder(f.append_basic_block("entry"))
    b.call(free, [b.ptrtoint(f.args[0], I32)])
    b.ret_void()


def runtime_module(intrinsics: dict[str, tuple[str, str]], triple: str, data_layout: str) -> str:
    """LLVM IR text of the runtime for one model: the allocator, the libm C names, and
    `intrinsics` (our symbol -> (math name, type suffix)) as always-inlined functions."""
    m = ir.Module("irforge_wasm_runtime")
    m.triple = triple
    m.data_layout = data_layout
    _allocator(m)
    for cname, base in LIBM_NAMES.items():
        math_function(m, base, F32, cname, inline=False)
    for symbol, (base, suffix) in intrinsics.items():
        math_function(m, base, vector_type(suffix), symbol, inline=True)
    return str(m)
