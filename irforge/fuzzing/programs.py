"""Random well-typed graph programs, for differential testing of the whole lowering chain.

`graph_programs()` is a hypothesis strategy of `Program`s: a `func.func @main` over one
or two f32 inputs of random static shapes (rank 1 to 4, or an image [N, C, D1..Dk]),
a random chain of graph ops drawn from the op families (elementwise math and
reductions: program_math.py; data movement: program_shape.py; contractions, the
neural-network ops and the blocked layout: program_nn.py) among those that fit the
current value's shape, and inputs drawn from a standard normal distribution, in one
example in five with NaN, infinities, signed zeros and subnormals mixed in (then only
ops whose IEEE semantics are exact are drawn; see program_base.py). Dims are at most
`max_dim`, or (`big`) some of 8 to 64 so that the default thresholds are crossed too.

Every graph op that lowers is drawn. Left out: none of the dialect's ops except
`graph.constant` as an op kind of its own (constants are the weights, biases and second
operands of the others).

Each program also carries `FuzzKnobs`: half the examples run the target's default
pipeline, the others a pipeline whose thresholds are lowered so that small shapes reach
the code big models take: the GEMM and direct-convolution microkernels
(`microkernel-min-flops`), the NCHW[x]c layout with a small block (`graph-convert-layout
{block}`), parallel loops on two threads (`parallelize-loops{min-work}`), narrower
vectors (`vector-bits` 128/256 on an AVX-512 host) and `vectorize-loops` (vector math:
the vector variants of exp, log, tanh, erf on native code, inline_math's vector code on
wasm). Hypothesis shrinks a failing program to a short chain of small shapes, the
default pipeline and no special values when those do not matter.

`check_program(module, inputs, ...)` compiles the program (native or wasm) and compares
it with the NumPy reference semantics (dialects/reference) and, when asked, with ONNX
Runtime (program_onnx.py). Tolerances: `|got - want| <= atol + rtol |want|` with rtol
1e-4 and atol 1e-5 times the program's `scale` (the largest finite magnitude among its
intermediate values, at least 1): f32 sums of up to a few thousand terms in another
order, FMA contraction, irforge's exp/log/tanh/erf (1-4 ulp) and NumPy's differ by a few
ulps of the largest values summed; NaN must match NaN and infinities must match exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region

from . import (
    program_idioms,
    program_index,
    program_logic,
    program_math,
    program_nn,
    program_shape,
)
from .program_base import Gen, OpGen, f32_tensor, shape_of
from .values import fill

RTOL, ATOL = 1e-4, 1e-5

FAMILIES: list[list[OpGen]] = [
    program_math.FAMILY,
    program_shape.FAMILY,
    program_nn.FAMILY,
    program_idioms.FAMILY,
    program_logic.FAMILY,
    program_index.FAMILY,
]
"""The op generators by family, simplest first (hypothesis shrinks towards the first):
an op is drawn by family, then within it, so each family that fits gets an equal share."""

GENERATORS: dict[str, OpGen] = {gen.name: gen for family in FAMILIES for gen in family}
"""The op generators by name."""


@dataclass(frozen=True)
class FuzzKnobs:
    """Pass options of the pipeline a program is compiled with (module docs); the
    defaults are the target's default pipeline."""

    lowered: bool = False
    block: int = 0
    vector_bits: int = 0
    min_flops: int = 1 << 12
    min_work: int = 1 << 20
    vectorize_loops: bool = False
    threads: int = 0

    def pipeline(self, target: str = "native") -> str:
        """The pipeline text for `target` ("native" or "wasm")."""
        from irforge.passes.infra.pipeline import with_pass_options
        from irforge.passes.infra.registry import DEFAULT_PIPELINE, WASM_PIPELINE

        if not self.lowered:
            return WASM_PIPELINE if target == "wasm" else DEFAULT_PIPELINE
        bits = 128 if target == "wasm" else self.vector_bits
        text = DEFAULT_PIPELINE
        if self.vectorize_loops or target == "wasm":
            text = text.replace("{flatten=true},", "{flatten=true},vectorize-loops,")
        for name, options in (
            ("graph-convert-layout", {"block": self.block, "vector_bits": bits}),
            (
                "convert-tensor-to-loop",
                {"microkernel_min_flops": self.min_flops, "vector_bits": bits},
            ),
            ("vectorize-loops", {"vector_bits": bits}),
            ("parallelize-loops", {"min_work": self.min_work}),
        ):
            text = with_pass_options(text, name, options)
        return text


class Program(tuple):
    """`(module, inputs)` with a short repr (hypothesis prints failing examples), plus
    `knobs` (FuzzKnobs), `scale` (for the absolute tolerance) and `special` (whether the
    inputs hold special values)."""

    knobs: FuzzKnobs
    scale: float
    special: bool

    def __new__(cls, module: ModuleOp, inputs: list[np.ndarray], **extra):
        self = super().__new__(cls, (module, inputs))
        self.knobs = extra.get("knobs", FuzzKnobs())
        self.scale = extra.get("scale", 1.0)
        self.special = extra.get("special", False)
        return self

    def __repr__(self) -> str:
        module, inputs = self
        ops = [op.name[6:] for op in module.walk() if op.name.startswith("graph.")]
        ops = [o for o in ops if o != "constant"]
        shapes = [x.shape for x in inputs]
        extra = f", special={self.special}" if self.special else ""
        return f"Program(inputs={shapes}, ops={ops}, knobs={self.knobs}{extra})"


def _knobs(draw) -> FuzzKnobs:
    if not draw(st.booleans()):
        return FuzzKnobs()
    return FuzzKnobs(
        lowered=True,
        block=draw(st.sampled_from([4, 8, 16])),
        vector_bits=draw(st.sampled_from([128, 256, 0])),
        min_flops=draw(st.sampled_from([64, 1, 1024])),
        min_work=draw(st.sampled_from([256, 1, 8192])),
        vectorize_loops=draw(st.booleans()),
        threads=draw(st.sampled_from([2, 1])),
    )


def _input_shape(draw, max_dim: int, big: bool, first: OpGen | None) -> tuple[int, ...]:
    """A random input shape; one that `first` fits when given (else a 4-D image, else a
    matrix)."""

    def dim(lo: int = 1) -> int:
        if big and draw(st.integers(0, 2)) == 2:
            return draw(st.sampled_from([8, 16, 17, 32, 33, 64]))
        return draw(st.integers(lo, max_dim))

    if draw(st.booleans()):  # an image [N, C, D1..Dk]
        k = draw(st.sampled_from([2, 1, 3]))
        shape = (draw(st.integers(1, 2)), dim(), *(dim() for _ in range(k)))
    else:
        shape = tuple(dim() for _ in range(draw(st.integers(1, 4))))
    if first is not None and not first.fits(shape):
        shape = (draw(st.integers(1, 2)), dim(), dim(), dim())
        if not first.fits(shape):
            shape = (dim(), dim())
    while math.prod(shape) > 1 << 14:  # bounded work for the reference and the compiler
        i = int(np.argmax(shape))
        shape = (*shape[:i], shape[i] // 2, *shape[i + 1 :])
    return shape


def _inputs(rng, shapes, special: bool) -> list[np.ndarray]:
    return [fill(rng, s, "exact" if special else "normal") for s in shapes]


@st.composite
def graph_programs(
    draw,
    max_ops: int = 6,
    max_dim: int = 5,
    *,
    big: bool | None = False,
    special: bool | None = None,
    knobs: bool | FuzzKnobs = False,
    first: str | None = None,
) -> Program:
    """A random well-typed graph program and matching random inputs (see module docs).

    `big` None draws whether dims may be large (one example in four); `special` None
    draws whether inputs hold special values (one in five); `knobs` True draws the
    pipeline options (False: the default pipeline; a FuzzKnobs: those); `first` names the
    generator of the first op (`GENERATORS`; the input shape then fits it). Raises
    KeyError for an unknown name."""
    focus = GENERATORS[first] if first is not None else None
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if big is None:
        big = draw(st.integers(0, 3)) == 3
    if special is None:
        special = draw(st.integers(0, 4)) == 4
    special = special and (focus is None or focus.special_safe)
    if isinstance(knobs, FuzzKnobs):
        fuzz_knobs = knobs
    else:
        fuzz_knobs = _knobs(draw) if knobs else FuzzKnobs()
    shape = _input_shape(draw, max_dim, big, focus)
    arg_shapes = [shape]
    if draw(st.booleans()):  # a second input that broadcasts against the first
        arg_shapes.append(tuple(d if draw(st.booleans()) else 1 for d in shape))
    inputs = _inputs(rng, arg_shapes, special)
    block = Block(arg_types=[f32_tensor(s) for s in arg_shapes])
    g = Gen(draw, rng, block, inputs, max_dim=max_dim, big=big, special=special)
    cur = block.args[0]
    for step in range(draw(st.integers(1, max_ops))):
        if step == 0 and focus is not None:
            cur = focus.build(g, cur)
            g.values.append(cur)
            continue
        s = shape_of(cur)
        fits = [
            [k for k in family if k.fits(s) and (k.special_safe or not special)]
            for family in FAMILIES
        ]
        kinds = draw(st.sampled_from([f for f in fits if f]))
        cur = draw(st.sampled_from(kinds)).build(g, cur)
        g.values.append(cur)
        if math.prod(shape_of(cur)) > 1 << 16:
            break
    g.b.insert(func.ReturnOp(cur))
    fn = func.FuncOp("main", ([a.type for a in block.args], [cur.type]), Region(block))
    module = ModuleOp([fn])
    module.verify()
    finite = [a[np.isfinite(a)] for a in g.arrays.values()]
    scale = max([1.0, *(float(np.max(np.abs(a))) for a in finite if a.size)])
    return Program(module, inputs, knobs=fuzz_knobs, scale=scale, special=special)


def fuzz_strategy(**overrides):
    """`graph_programs` as `irforge fuzz --programs` and the CI tests draw them: up to 8 ops,
    dims up to 8 (some of 8 to 64 in one example in four), drawn pipeline knobs;
    `overrides` are passed on."""
    return graph_programs(**{"max_ops": 8, "max_dim": 8, "big": None, "knobs": True, **overrides})


def check_program(
    module: ModuleOp,
    inputs: list[np.ndarray],
    *,
    target: str = "native",
    knobs: FuzzKnobs | None = None,
    scale: float = 1.0,
    onnxruntime: bool = False,
) -> None:
    """Compile `module` for `target` (in place) with the pipeline of `knobs` (default:
    the target's) and assert it matches the NumPy reference, and ONNX Runtime too with
    `onnxruntime=True` when it can run the graph (tolerances: module docs and
    program_onnx.py).

    Raises AssertionError with both results on a mismatch.
    """
    import irforge
    from irforge.dialects.reference import run_reference

    knobs = knobs or FuzzKnobs()
    (expected,) = run_reference(module, inputs)
    ort = None
    if onnxruntime:
        from .program_onnx import run_onnxruntime

        ort = run_onnxruntime(module, inputs)
    threads = knobs.threads if target == "native" and knobs.threads else None
    compiled = irforge.compile(module, target, pipeline=knobs.pipeline(target), num_threads=threads)
    got = compiled(*inputs)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * scale, equal_nan=True)
    if ort is not None:
        from .program_onnx import ORT_ATOL, ORT_RTOL

        np.testing.assert_allclose(
            got,
            ort,
            rtol=ORT_RTOL,
            atol=ORT_ATOL * scale,
            equal_nan=True,
            err_msg="irforge vs ONNX Runtime",
        )


def check(program: Program, target: str = "native", onnxruntime: bool = False) -> None:
    """`check_program` of a drawn `Program` with its knobs and scale (the module is
    cloned: the program stays as drawn)."""
    module, inputs = program
    check_program(
        module.clone(),
        inputs,
        target=target,
        knobs=program.knobs,
        scale=program.scale,
        onnxruntime=onnxruntime and not program.special,
    )
