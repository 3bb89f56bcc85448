"""f32 math written as LLVM IR (llvmlite's IR builder), branch-free and for any vector
width, linked into a model's LLVM module so that LLVM inlines and vectorizes it.

`math_function` defines exp, log, tanh, erf, expm1, log1p, pow (and NaN-correct maxnum /
minnum) on f32 or <N x float>: selects, no loops, no calls but LLVM intrinsics that every
target lowers inline (floor, fabs, copysign). `retarget_math` renames a module's calls of
the `llvm.<name>.*` intrinsics (and of the C functions `erff`, `expm1f`, `log1pf`) to
`irforge.<name>.<type>` symbols (which the caller defines with `math_function`);
`add_vector_variants` instead offers vector versions to LLVM's loop vectorizer and leaves
the scalar calls alone.

Two users:
- the wasm32 backend (backends/wasm): wasm has no libm, and LLVM's intrinsics would become
  imports; everything the lowering emits goes to these functions (`retarget_math`);
- native code (backends/llvm/jit.py, `add_vector_variants`): LLVM's loop vectorizer
  cannot widen a loop that calls libm's scalar `expf`/`tanhf` (no vector math library is
  configured), so a softmax or a tanh runs one element per call. With vector variants of
  the transcendental functions (`NATIVE_MATH`: not pow, whose exp(y log x) loses accuracy
  at the ends of the range, and not maxnum/minnum, which x86 lowers inline) those loops
  vectorize at the target's width, much faster than one libm call per element; loops LLVM
  leaves scalar keep glibc's scalar code, which is faster than ours one element at a time
  (figures: docs/benchmarks.md, 'Design measurements').

Every float add, subtract and multiply carries LLVM's `contract` flag, so that on targets
with FMA (x86-64-v3, AVX-512, NEON) each Horner step is one fused multiply-add: half the
instructions, one rounding instead of two (native erf / exp / tanh over 2^18 floats at
AVX-512, 1 thread: 0.61 -> 0.36, 0.28 -> 0.19, 0.40 -> 0.27 ms). Targets without FMA
(wasm simd128, x86-64-v2) compute as before. The bounds below hold either way.

Algorithms and accuracy (in ulps of the f32 result, measured against float64
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

import re
from collections.abc import Callable

from llvmlite import ir

F32 = ir.FloatType()
I32 = ir.IntType(32)

MATH_FUNCTIONS = ("exp", "log", "tanh", "erf", "expm1", "log1p", "pow")
"""The math functions provided, by their LLVM intrinsic / libm base name."""
LIBM_NAMES = {f"{name}f": name for name in MATH_FUNCTIONS}
"""C name -> base name (`expf` -> `exp`)."""
WASM_MATH = ("exp", "log", "tanh", "pow", "maxnum", "minnum")
"""Intrinsics the wasm backend takes over (the C names stay calls to the runtime's)."""
NATIVE_MATH = ("exp", "log", "tanh", "erf", "expm1", "log1p")
"""Functions native code inlines (intrinsics, and the C names of erf, expm1, log1p)."""

_C_ONLY = ("erf", "expm1", "log1p")  # no LLVM intrinsic: the lowering calls the C name


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

    def _contract(self, instr):
        # `contract`: LLVM may fuse a multiply and the add that uses it into one FMA where
        # the target has one (x86-64-v3, AVX-512, NEON): polynomials in half the
        # instructions, each step rounded once instead of twice.
        instr.flags.append("contract")
        return instr

    def add(self, x, y):
        return self._contract(self.b.fadd(self._f(x), self._f(y)))

    def sub(self, x, y):
        return self._contract(self.b.fsub(self._f(x), self._f(y)))

    def mul(self, x, y):
        return self._contract(self.b.fmul(self._f(x), self._f(y)))

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
    raise ValueError(f"no inline math for element type '{suffix}' (only f32)")


def retarget_math(text: str, names: tuple[str, ...]) -> tuple[str, dict[str, tuple[str, str]]]:
    """Replace the f32 `llvm.<name>.*` intrinsics of LLVM IR `text` (and the C functions
    `<name>f` of names without an intrinsic: erf, expm1, log1p) by `irforge.<name>.<type>`
    symbols, for each name in `names`; returns the new text and {symbol: (name, type
    suffix)}, the functions the caller must define (the wasm runtime: backends/wasm/libc.py)."""
    intrinsics = "|".join(n for n in names if n not in _C_ONLY)
    c_names = "|".join(f"{n}f" for n in names if n in _C_ONLY)
    alternatives = []
    if intrinsics:
        alternatives.append(rf'@"?llvm\.(?P<i>{intrinsics})\.(?P<t>(?:v\d+)?f32)"?(?=[\s(,)])')
    if c_names:
        alternatives.append(rf'@"?(?P<c>{c_names})"?(?=[\s(,)])')
    used: dict[str, tuple[str, str]] = {}
    if not alternatives:
        return text, used

    def sub(m: re.Match) -> str:
        groups = m.groupdict()
        if groups.get("i"):
            name, suffix = groups["i"], groups["t"]
        else:
            name, suffix = groups["c"][:-1], "f32"
        symbol = f"irforge.{name}.{suffix}"
        used[symbol] = (name, suffix)
        return f'@"{symbol}"'

    return re.sub("|".join(alternatives), sub, text), used


VECTOR_WIDTHS = (4, 8, 16)
"""Lanes of the vector variants offered to LLVM's vectorizer (SSE/NEON/wasm, AVX2, AVX-512)."""

_ATTRIBUTE_GROUP = 900_000  # far above the attribute groups llvmlite prints


def add_vector_variants(
    text: str, names: tuple[str, ...], triple: str, data_layout: str, max_lanes: int = 16
) -> tuple[str, str | None]:
    """Give each scalar f32 call of LLVM IR `text` to a function of `names` (the intrinsic
    `llvm.<name>.f32`, or the C function `<name>f` for erf, expm1, log1p) vector variants
    that LLVM's loop vectorizer may use (the call site's "vector-function-abi-variant"
    attribute, the VFABI mangling `_ZGV_LLVM_N<lanes>v_<callee>(<variant>)`, as clang does
    for `#pragma omp declare simd` and vector math libraries), and mark it free of memory
    effects (as -fno-math-errno does). A loop LLVM vectorizes calls the variant
    `irforge.<name>.v<lanes>f32` once per vector (hidden, `alwaysinline`: inlined by an
    always-inliner run after the optimization pipeline, which vectorizes after its own
    inliner); a loop it leaves scalar keeps libm's scalar function (faster than this
    module's scalar code). Calls of the vector intrinsics `llvm.<name>.v<N>f32` already in
    `text` (a GEMM epilogue's math on a tile) go to `irforge.<name>.v<N>f32` directly, which
    LLVM would otherwise split into N libm calls. Returns the new text and the LLVM IR of a
    module defining the variants used (None when no call matched), of `VECTOR_WIDTHS` up
    to `max_lanes`, and the vector functions called directly."""
    callees = {(f"{n}f" if n in _C_ONLY else f"llvm.{n}.f32"): n for n in names if n in _BODIES}
    if not callees:
        return text, None
    alternation = "|".join(re.escape(c) for c in callees)
    call_re = re.compile(
        rf'(call (?:[a-z]+ )*float @"?(?P<callee>{alternation})"?\((?:[^()\n]|\([^()\n]*\))*\))'
    )
    groups: dict[str, int] = {}

    def sub(m: re.Match) -> str:
        callee = m.group("callee")
        if callee not in groups:
            groups[callee] = _ATTRIBUTE_GROUP + len(groups)
        return f"{m.group(1)} #{groups[callee]}"

    text = call_re.sub(sub, text)
    # Vector calls already in the IR (a GEMM epilogue's tanh on a tile, emitted on vectors
    # by the microkernel): LLVM would split them into one libm call per lane.
    direct: dict[str, tuple[str, int]] = {}
    intrinsics = "|".join(re.escape(n) for n in names if n in _BODIES and n not in _C_ONLY)

    def vector_sub(m: re.Match) -> str:
        symbol = f"irforge.{m.group('n')}.v{m.group('l')}f32"
        direct[symbol] = (m.group("n"), int(m.group("l")))
        return f'@"{symbol}"'

    if intrinsics:
        vector_re = rf'@"?llvm\.(?P<n>{intrinsics})\.v(?P<l>\d+)f32"?(?=[\s(,)])'
        text = re.sub(vector_re, vector_sub, text)
    if not groups and not direct:
        return text, None
    m = ir.Module("irforge_vector_math")
    m.triple, m.data_layout = triple, data_layout
    defined: set[str] = set()

    def define(base: str, lanes: int, symbol: str) -> None:
        if symbol not in defined:
            defined.add(symbol)
            fn = math_function(m, base, ir.VectorType(F32, lanes), symbol, inline=False)
            fn.attributes.add("alwaysinline")

    lines = [text]
    for callee, group in groups.items():
        base = callees[callee]
        variants = []
        for lanes in (w for w in VECTOR_WIDTHS if w <= max_lanes):
            symbol = f"irforge.{base}.v{lanes}f32"
            define(base, lanes, symbol)
            variants.append(f"_ZGV_LLVM_N{lanes}v_{callee}({symbol})")
        lines.append(
            f"attributes #{group} = {{ nounwind memory(none) "
            f'"vector-function-abi-variant"="{",".join(variants)}" }}'
        )
    for symbol, (base, lanes) in direct.items():
        define(base, lanes, symbol)
    # External (the vectorizer looks the variants up by name, after the early global DCE
    # that would drop unused internal ones) but hidden: not exported from a shared object.
    return "\n".join(lines) + "\n", str(m).replace("define <", "define hidden <")
