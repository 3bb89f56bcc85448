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

Math (f32, scalar and any vector width; the functions the lowering emits: `math.exp`,
`log`, `tanh`, `erf`, `expm1`, `log1p`, `powf`, and `llvm.maxnum` / `llvm.minnum`, which
wasm has no instruction for: its `f32.max` propagates NaN). wasm has no libm: LLVM's
`llvm.exp.*` intrinsics and libm calls would become imports. `math_function` builds a
branch-free body (selects, no loops) for f32 or <N x float>, inlined into the model so
that LLVM vectorizes it; `runtime_module` also defines the C names (`expf`, ...) for the
calls the model makes (`erff`, `log1pf`, `expm1f`) and those LLVM's code generator makes
by itself. Algorithms and accuracy (in ulps of the f32 result, measured against float64
NumPy / `math.erf` on 16k random points per function, scalar and <4 x float>: the bounds
tests/test_wasm_backend.py checks):

- exp: Cephes `expf` (S. L. Moshier, Cephes Math Library 2.2, 1992): n = round(x log2 e),
  r = x - n ln 2 (ln 2 split in two), degree-5 minimax polynomial, scale by 2^n through
  the exponent bits (in two halves, so that subnormal results come out right); within
  1 ulp for normal results; 0 below -103.97, inf above 88.72.
- log: Cephes `logf`: x = m 2^e with m in [sqrt(1/2), sqrt 2), degree-8 polynomial in
  m - 1; within 1 ulp; log(0) = -inf, log(x < 0) = NaN.
- tanh: Cephes `tanhf`: odd polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1);
  within 2 ulp.
- erf: Cephes `erff` polynomial for |x| < 1; Abramowitz & Stegun 7.1.26 (absolute error
  1.5e-7) times exp(-x^2) above; within 4 ulp, absolute error < 2e-7.
- expm1 / log1p: W. Kahan's formulas (expm1 x = (u - 1) x / log u with u = e^x; log1p x =
  log(u) x / (u - 1) with u = 1 + x; see D. Goldberg, What every computer scientist should
  know about floating-point arithmetic, 1991, thm. 4); within 3 ulp.
- pow(x, y) = exp(y log x), with the C99 special cases for x <= 0, y = 0 and x = 1;
  relative error grows with |y log x| (about 1e-6 near the f32 range's ends).
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

F32 = ir.FloatType()
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I1 = ir.IntType(1)
PTR = ir.PointerType()

SMALL_MAX = 1 << 20
"""Largest payload served from the power-of-two lists; bigger ones are 64 KiB multiples."""
MAX_REQUEST = 0x7FFF0000
"""Requests above this many bytes (2 GiB - 64 KiB) fail (return 0)."""
HEADER = 64
PAGE = 65536

MATH_FUNCTIONS = ("exp", "log", "tanh", "erf", "expm1", "log1p", "pow")
"""The math functions provided, by their LLVM intrinsic / libm base name."""
LIBM_NAMES = {f"{name}f": name for name in MATH_FUNCTIONS}
"""C name -> base name (`expf` -> `exp`)."""


# -- math ----------------------------------------------------------------------------------


class _Math:
    """Float arithmetic on `t` (float or <N x float>) with an IR builder: constants splat
    to vectors, comparisons give i1 or <N x i1>."""

    def __init__(self, b: ir.IRBuilder, t: ir.Type, module: ir.Module):
        self.b, self.t, self.m = b, t, module
        self.n = t.count if isinstance(t, ir.VectorType) else 0
        self.it = ir.VectorType(I32, self.n) if self.n else I32

    def c(self, v: float) -> ir.Constant:
        return ir.Constant(self.t, [v] * self.n) if self.n else ir.Constant(F32, v)

    def ci(self, v: int) -> ir.Constant:
        return ir.Constant(self.it, [v] * self.n) if self.n else ir.Constant(I32, v)

    def _f(self, x):
        return self.c(x) if isinstance(x, float | int) else x

    def add(self, x, y):
        return self.b.fadd(self._f(x), self._f(y))

    def sub(self, x, y):
        return self.b.fsub(self._f(x), self._f(y))

    def mul(self, x, y):
        return self.b.fmul(self._f(x), self._f(y))

    def div(self, x, y):
        return self.b.fdiv(self._f(x), self._f(y))

    def cmp(self, op: str, x, y):
        return self.b.fcmp_ordered(op, self._f(x), self._f(y))

    def isnan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def sel(self, cond, x, y):
        return self.b.select(cond, self._f(x), self._f(y))

    def intrinsic(self, name: str, *args):
        full = f"llvm.{name}.{f'v{self.n}f32' if self.n else 'f32'}"
        fn = self.m.globals.get(full) or ir.Function(
            self.m, ir.FunctionType(self.t, [self.t] * len(args)), full
        )
        return self.b.call(fn, [self._f(a) for a in args])

    def min(self, x, y):
        """y < x ? y : x (wasm's pmin; NaN handling is the caller's)."""
        return self.sel(self.cmp("<", y, x), y, x)

    def max(self, x, y):
        """x < y ? y : x (wasm's pmax)."""
        return self.sel(self.cmp("<", x, y), y, x)

    def abs(self, x):
        return self.intrinsic("fabs", x)

    def floor(self, x):
        return self.intrinsic("floor", x)

    def copysign(self, x, y):
        return self.intrinsic("copysign", x, y)

    def poly(self, x, coeffs: tuple[float, ...]):
        """Horner: coeffs[0] x^(n-1) + ... + coeffs[-1]."""
        acc = self.c(coeffs[0])
        for c in coeffs[1:]:
            acc = self.add(self.mul(acc, x), c)
        return acc

    def bits(self, x):
        return self.b.bitcast(x, self.it)

    def from_bits(self, i):
        return self.b.bitcast(i, self.t)


def _f32(v: float) -> float:
    """`v` rounded to f32 (llvmlite prints float constants as doubles)."""
    import struct

    return struct.unpack("f", struct.pack("f", v))[0]


_EXP_P = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)
_LOG_P = (
    7.0376836292e-2,
    -1.1514610310e-1,
    1.1676998740e-1,
    -1.2420140846e-1,
    1.4249322787e-1,
    -1.6668057665e-1,
    2.0000714765e-1,
    -2.4999993993e-1,
    3.3333331174e-1,
)
_TANH_P = (
    -5.70498872745e-3,
    2.06390887954e-2,
    -5.37397155531e-2,
    1.33314422036e-1,
    -3.33332819422e-1,
)
_ERF_T = (
    7.853861353153693e-5,
    -8.010193625184903e-4,
    5.188327685732524e-3,
    -2.685381193529856e-2,
    1.128358514861418e-1,
    -3.761262582423300e-1,
    1.128379165726710e0,
)
_AS_P = 0.3275911  # Abramowitz & Stegun 7.1.26
_AS_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
_EXP_HI = 88.72283  # exp overflows above
_EXP_LO = -103.972084  # exp of anything below rounds to 0


def _exp(M: _Math, x):
    xc = M.min(M.max(x, _EXP_LO), _EXP_HI)
    n = M.floor(M.add(M.mul(xc, 1.44269504088896341), 0.5))
    r = M.sub(M.sub(xc, M.mul(n, 0.693359375)), M.mul(n, -2.12194440e-4))
    r2 = M.mul(r, r)
    y = M.add(M.add(M.mul(M.poly(r, tuple(map(_f32, _EXP_P))), r2), r), 1.0)
    # 2^n as 2^h 2^(n-h), h = n >> 1: n is in [-150, 128], both halves are normal floats
    # (subnormal results underflow gradually).
    ni = M.b.fptosi(n, M.it)
    h = M.b.ashr(ni, M.ci(1))
    s1 = M.from_bits(M.b.shl(M.b.add(h, M.ci(127)), M.ci(23)))
    s2 = M.from_bits(M.b.shl(M.b.add(M.b.sub(ni, h), M.ci(127)), M.ci(23)))
    y = M.mul(M.mul(y, s1), s2)
    y = M.sel(M.cmp("<", x, _EXP_LO), 0.0, y)
    y = M.sel(M.cmp(">", x, _EXP_HI), float("inf"), y)
    return M.sel(M.isnan(x), x, y)


def _log(M: _Math, x):
    # Subnormals: scale by 2^25 first.
    tiny = M.cmp("<", x, 1.17549435e-38)
    xs = M.sel(tiny, M.mul(x, 33554432.0), x)
    bits = M.bits(xs)
    e = M.b.sub(M.b.lshr(bits, M.ci(23)), M.ci(126))
    e = M.b.select(tiny, M.b.sub(e, M.ci(25)), e)
    m = M.from_bits(M.b.or_(M.b.and_(bits, M.ci(0x007FFFFF)), M.ci(0x3F000000)))  # [0.5, 1)
    small = M.cmp("<", m, 0.707106781186547524)
    ef = M.b.sitofp(M.b.select(small, M.b.sub(e, M.ci(1)), e), M.t)
    m = M.sub(M.sel(small, M.add(m, m), m), 1.0)
    z = M.mul(m, m)
    y = M.mul(M.mul(M.poly(m, tuple(map(_f32, _LOG_P))), m), z)
    y = M.add(y, M.mul(ef, -2.12194440e-4))
    y = M.sub(y, M.mul(z, 0.5))
    y = M.add(M.add(m, y), M.mul(ef, 0.693359375))
    y = M.sel(M.cmp("==", x, float("inf")), x, y)
    y = M.sel(M.cmp("==", x, 0.0), float("-inf"), y)
    return M.sel(M.b.fcmp_unordered("<", x, M.c(0.0)), float("nan"), y)  # x < 0 or NaN


def _tanh(M: _Math, x):
    ax = M.abs(x)
    z = M.mul(x, x)
    small = M.add(x, M.mul(M.mul(x, z), M.poly(z, tuple(map(_f32, _TANH_P)))))
    e = _exp(M, M.mul(M.min(ax, 20.0), 2.0))
    big = M.copysign(M.sub(1.0, M.div(2.0, M.add(e, 1.0))), x)
    y = M.sel(M.cmp("<", ax, 0.625), small, big)
    return M.sel(M.isnan(x), x, y)


def _erf(M: _Math, x):
    ax = M.abs(x)
    z = M.mul(x, x)
    small = M.mul(x, M.poly(z, tuple(map(_f32, _ERF_T))))
    t = M.div(1.0, M.add(M.mul(ax, _AS_P), 1.0))
    tail = M.mul(M.mul(M.poly(t, (*_AS_A, 0.0)), 1.0), _exp(M, M.sub(0.0, z)))
    big = M.copysign(M.sub(1.0, tail), x)
    y = M.sel(M.cmp("<", ax, 1.0), small, big)
    return M.sel(M.isnan(x), x, y)


def _expm1(M: _Math, x):
    u = _exp(M, x)
    um1 = M.sub(u, 1.0)
    y = M.div(M.mul(um1, x), _log(M, u))
    y = M.sel(M.cmp("==", u, 1.0), x, y)  # |x| tiny
    y = M.sel(M.cmp("==", um1, -1.0), -1.0, y)  # x very negative
    y = M.sel(M.cmp("==", u, float("inf")), u, y)
    return M.sel(M.isnan(x), x, y)


def _log1p(M: _Math, x):
    u = M.add(x, 1.0)
    y = M.div(M.mul(_log(M, u), x), M.sub(u, 1.0))
    y = M.sel(M.cmp("==", u, 1.0), x, y)  # |x| tiny
    y = M.sel(M.cmp("==", u, float("inf")), u, y)
    y = M.sel(M.cmp("==", x, -1.0), float("-inf"), y)
    return M.sel(M.b.fcmp_unordered("<", x, M.c(-1.0)), float("nan"), y)


def _pow(M: _Math, x, y):
    ax = M.abs(x)
    r = _exp(M, M.mul(y, _log(M, ax)))
    # x < 0: defined for integer y only, negative for odd y.
    integer = M.cmp("==", M.floor(y), y)
    half = M.mul(y, 0.5)
    odd = M.b.and_(integer, M.cmp("!=", M.floor(half), half))
    neg = M.cmp("<", x, 0.0)
    r = M.sel(M.b.and_(neg, odd), M.sub(0.0, r), r)
    r = M.sel(M.b.and_(neg, M.b.not_(integer)), float("nan"), r)
    r = M.sel(M.b.or_(M.isnan(x), M.isnan(y)), float("nan"), r)
    r = M.sel(M.cmp("==", x, 1.0), 1.0, r)
    return M.sel(M.cmp("==", y, 0.0), 1.0, r)


def _maxnum(M: _Math, x, y):
    # IEEE maxNum (llvm.maxnum): a NaN operand yields the other. wasm's f32.max
    # propagates NaN, so LLVM would call libm's fmaxf; this is a pmax and a NaN test,
    # which folds to a single pmax when y is a constant (ReLU).
    return M.sel(M.isnan(y), x, M.sel(M.cmp("<", x, y), y, x))


def _minnum(M: _Math, x, y):
    return M.sel(M.isnan(y), x, M.sel(M.cmp("<", y, x), y, x))


_BODIES: dict[str, Callable[..., ir.Value]] = {
    "maxnum": _maxnum,
    "minnum": _minnum,
    "exp": _exp,
    "log": _log,
    "tanh": _tanh,
    "erf": _erf,
    "expm1": _expm1,
    "log1p": _log1p,
    "pow": _pow,
}


def _arity(name: str) -> int:
    return 2 if name in ("pow", "maxnum", "minnum") else 1


def math_function(module: ir.Module, name: str, t: ir.Type, symbol: str, *, inline: bool):
    """Define `symbol(x[, y]) -> t` computing `name` on `t` (float or <N x float>) in
    `module`; `inline` ones are always inlined (linkonce_odr: they resolve the model's
    declarations when linked in, and vanish once inlined)."""
    fn = ir.Function(module, ir.FunctionType(t, [t] * _arity(name)), symbol)
    if inline:
        fn.linkage = "linkonce_odr"
        fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.ret(_BODIES[name](_Math(b, t, module), *fn.args))
    return fn


def vector_type(suffix: str) -> ir.Type:
    """The llvmlite type of an intrinsic suffix: "f32" or "v4f32"; ValueError otherwise."""
    if suffix == "f32":
        return F32
    if suffix.startswith("v") and suffix.endswith("f32") and suffix[1:-3].isdigit():
        return ir.VectorType(F32, int(suffix[1:-3]))
    raise ValueError(f"no wasm math for element type '{suffix}' (only f32)")


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
