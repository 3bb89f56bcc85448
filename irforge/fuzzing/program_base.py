"""The state of one random graph program while it is drawn, shared by the op families
(program_math.py, program_nn.py, program_shape.py) and the driver (programs.py).

`Gen` inserts ops at the end of the entry block of `@main` and evaluates each one with
the NumPy reference (`graph_reference.evaluate`) as it goes, so a family knows the values
an op will see: it keeps a function's operand inside its well-conditioned domain (log,
sqrt, reciprocal, a divisor, a power's base: `|x| + c`, exp's argument: a clip), and
the driver knows the magnitude of every intermediate value (the scale of the absolute
tolerance, see programs.py).

An `OpFamily` entry is a named generator `build(gen, x) -> value` with an applicability
test on x's shape; `special_safe` marks the generators whose ops have IEEE semantics on
NaN, infinities, signed zeros and subnormals that the compiler must reproduce exactly
(elementwise formulas, data movement, max/min/sum reductions): programs with special
input values use only those.

Shapes are static tuples of ints; every tensor is f32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects.builtin import Float32Type, TensorType
from xdsl.ir import Block, Operation, SSAValue

from irforge.dialects import graph
from irforge.dialects.graph import math as gm
from irforge.dialects.graph_reference import evaluate


def shape_of(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape())


def f32_tensor(shape: Sequence[int]) -> TensorType:
    return TensorType(Float32Type(), list(shape))


class Gen:
    """A program being drawn: `draw` (hypothesis), `rng` (NumPy data), the builder, the
    runtime values so far with their reference arrays, and the drawing limits.

    `max_dim` bounds a drawn dimension, `big` allows a few large dims (up to 64) for the
    microkernel and parallel paths, `special` restricts ops to the special-safe ones.
    """

    def __init__(self, draw, rng: np.random.Generator, block: Block, arrays, **limits):
        self.draw, self.rng, self.block = draw, rng, block
        self.b = Builder(InsertPoint.at_end(block))
        self.values: list[SSAValue] = list(block.args)
        self.arrays: dict[SSAValue, np.ndarray] = dict(zip(block.args, arrays))
        self.max_dim: int = limits.get("max_dim", 5)
        self.big: bool = limits.get("big", False)
        self.special: bool = limits.get("special", False)
        self.max_elems: int = limits.get("max_elems", 1 << 15)

    # --- drawing --------------------------------------------------------------------
    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, max(lo, hi)))

    def bool(self) -> bool:
        return self.draw(st.booleans())

    def choice(self, items: Sequence):
        return self.draw(st.sampled_from(list(items)))

    def permutation(self, n: int) -> list[int]:
        return list(self.draw(st.permutations(range(n))))

    def dim(self, lo: int = 1) -> int:
        """A dimension: small (<= max_dim), or with `big` sometimes 8 to 64."""
        if self.big and self.draw(st.integers(0, 3)) == 3:
            return self.draw(st.sampled_from([8, 16, 17, 32, 33, 64]))
        return self.int(lo, self.max_dim)

    # --- building -------------------------------------------------------------------
    def emit(self, op: Operation) -> SSAValue:
        """Insert `op`, evaluate it on its operands' arrays, return its result."""
        self.b.insert(op)
        with np.errstate(all="ignore"):
            out = evaluate(op, [self.arrays[v] for v in op.operands])
        out = np.asarray(out, dtype=np.float32)
        if out.shape != shape_of(op.results[0]):  # the reference disagrees with the op
            raise AssertionError(
                f"the reference of {op.name} gives shape {list(out.shape)}, its result type "
                f"{op.results[0].type}"
            )
        self.arrays[op.results[0]] = out
        return op.results[0]

    def const(self, shape: Sequence[int], scale: float = 1.0, low: float | None = None):
        """A constant of random normal values times `scale` (uniform in [low, scale] when
        `low` is given)."""
        if low is None:
            data = self.rng.standard_normal(tuple(shape)) * scale
        else:
            data = self.rng.uniform(low, scale, tuple(shape))
        return self.const_array(data)

    def const_array(self, data) -> SSAValue:
        """A constant holding `data` (rounded to f32)."""
        from irforge.frontends.onnx import dense_f32

        return self.emit(graph.ConstantOp(dense_f32(np.asarray(data, np.float32))))

    def splat(self, shape: Sequence[int], value: float) -> SSAValue:
        return self.const_array(np.full(tuple(shape), value, np.float32))

    def value(self, v: SSAValue) -> np.ndarray:
        return self.arrays[v]

    def finite(self, v: SSAValue) -> np.ndarray:
        a = self.arrays[v]
        return a[np.isfinite(a)]

    def away_from_zero(self, v: SSAValue, margin: float = 0.25) -> SSAValue:
        """`v`, or `|v| + c` (c >= margin) when some finite element is within `margin`
        of 0: an operand of log, sqrt, reciprocal or a divisor, kept well-conditioned."""
        a = self.finite(v)
        if a.size == 0 or np.min(np.abs(a)) >= margin:
            return v
        if np.min(a) >= 0 and np.min(a) >= margin:
            return v
        c = self.choice([margin, 1.0])
        shifted = self.emit(gm.AbsOp(v))
        return self.emit(graph.AddOp(shifted, self.splat((), c)))

    def positive(self, v: SSAValue, margin: float = 0.25) -> SSAValue:
        """`v` if its finite elements are >= margin, else `|v| + c` (log, sqrt, pow)."""
        a = self.finite(v)
        if a.size == 0 or np.min(a) >= margin:
            return v
        shifted = self.emit(gm.AbsOp(v))
        return self.emit(graph.AddOp(shifted, self.splat((), self.choice([margin, 1.0]))))

    def at_most(self, v: SSAValue, hi: float) -> SSAValue:
        """`v`, or `clip(v, max=hi)` when a finite element exceeds hi (exp's argument)."""
        a = self.finite(v)
        if a.size == 0 or np.max(a) <= hi:
            return v
        return self.emit(gm.ClipOp(v, max=hi))

    def partner(self, shape: Sequence[int]) -> SSAValue:
        """A second operand broadcasting to `shape`: an earlier value of such a shape, or
        a constant of a random broadcastable shape (a suffix with some dims set to 1)."""
        shape = tuple(shape)
        fits = [v for v in self.values if graph.broadcast_shapes(shape_of(v), shape) == shape]
        if fits and self.bool():
            return self.choice(fits)
        k = self.int(0, len(shape))
        cshape = tuple(d if self.bool() else 1 for d in shape[len(shape) - k :])
        return self.const(cshape)


@dataclass(frozen=True)
class OpGen:
    """A generator of one op kind (or a small idiom): `build(gen, x)` appends ops using
    the value `x` and returns the new current value; `fits(shape)` says whether x's shape
    suits it; `ops` names the graph ops it emits (for the coverage list)."""

    name: str
    fits: Callable[[tuple[int, ...]], bool]
    build: Callable[[Gen, SSAValue], SSAValue]
    ops: tuple[str, ...]
    special_safe: bool = False


def any_shape(shape: tuple[int, ...]) -> bool:
    return True
