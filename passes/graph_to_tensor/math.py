"""convert-graph-to-tensor rules for the graph dialect's math ops (dialects/graph/math.py).

Each rule is registered with `base.lowers` for its op classes (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module.

Unary and binary ops become one pointwise generic (operands broadcast through their
indexing maps) whose body is the op's scalar formula in `arith`/`math`, listed one line
per op in `UNARY` and `BINARY`:

    %y = "graph.sigmoid"(%x) : (tensor<4xf32>) -> tensor<4xf32>

becomes

    %e = "tensor.empty"() : () -> tensor<4xf32>
    %y = "tensor.generic"(%x, %e) <{indexing_maps = [affine_map<(d0) -> (d0)>,
        affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], ...}> ({
      ^bb0(%a: f32, %o: f32):
        %n = "arith.negf"(%a)  %t = "math.exp"(%n)  %d = "arith.addf"(%one, %t)
        %r = "arith.divf"(%one, %d)
        "tensor.yield"(%r) : (f32) -> ()
    })

A reduction is a fill with the reduction's identity (0, -inf, +inf, 1) and one generic
over the input's domain whose reduced dimensions are `reduction` iterators; the output
map drops them (keepdims = 0) or reads index 0 there (keepdims = 1):

    %s = "graph.reduce_sum"(%x) <{axes = array<i64: 1>, keepdims = 0 : i64}>
        : (tensor<2x3xf32>) -> tensor<2xf32>
    ->  %z = <zero fill of tensor<2xf32>>
        %s = "tensor.generic"(%x, %z) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
            affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}>
            ({ acc + a })

ReduceMean divides the sum by the element count in a second, pointwise generic.
LayerNormalization is two reductions and three pointwise generics: sum -> mean;
sum of (x - mean)^2 -> sqrt(var + epsilon); (x - mean) / that * scale + bias.

Numerics (what native code computes, compared with ONNX Runtime in
tests/test_graph_math.py): sigmoid is `1 / (1 + exp(-x))`, softplus
`max(x, 0) + log1p(exp(-|x|))`, elu `alpha * expm1(x)` for x < 0, gelu uses libm's erf;
pow with a constant exponent 2 is `x * x` (exact, and no libm call), with exponent 3
`x * x * x` (two roundings: within 1.5 ulp of the exact cube, where powf is within 1; the
cube of GPT-2's tanh GELU, which vectorizes where a powf call per element does not).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects import graph
from ...dialects.arrays import to_numpy
from ...dialects.graph import math as gm
from ...dialects.tensor import PARALLEL, REDUCTION, build_generic
from .base import REASSOC, Lowered, elementwise, fill, lowers, scalar_attr


class Scalar:
    """Emits scalar `arith`/`math` ops of one element type through a Builder: the bodies
    below read as formulas (`s.div(s.const(1), s.add(s.const(1), s.exp(s.neg(x))))`).
    `flags`: fast-math flags of the float arithmetic it emits (`REASSOC` for the combining
    op of a reduction)."""

    def __init__(
        self, builder: Builder, elem: Attribute, flags: arith.FastMathFlagsAttr | None = None
    ):
        self.b, self.elem, self.flags = builder, elem, flags
        self.is_int = isinstance(elem, IntegerType)

    def _op(self, op: Operation) -> SSAValue:
        return self.b.insert(op).results[0]

    def _pick(self, on_float: type[Operation], on_int: type[Operation], *args: SSAValue):
        if self.is_int:
            return self._op(on_int(*args))
        return self._op(on_float(*args, flags=self.flags))

    def const(self, value: float) -> SSAValue:
        return self._op(arith.ConstantOp(scalar_attr(value, self.elem)))

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._pick(arith.AddfOp, arith.AddiOp, a, b)

    def sub(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._pick(arith.SubfOp, arith.SubiOp, a, b)

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._pick(arith.MulfOp, arith.MuliOp, a, b)

    def div(self, a: SSAValue, b: SSAValue) -> SSAValue:
        """`a / b`; on integers truncated toward zero, as ONNX Runtime divides."""
        return self._pick(arith.DivfOp, arith.DivSIOp, a, b)

    def max(self, a: SSAValue, b: SSAValue) -> SSAValue:
        # NaN-propagating on floats, like numpy.maximum
        return self._pick(arith.MaximumfOp, arith.MaxSIOp, a, b)

    def min(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._pick(arith.MinimumfOp, arith.MinSIOp, a, b)

    def neg(self, a: SSAValue) -> SSAValue:
        if self.is_int:
            return self.sub(self.const(0), a)
        return self._op(arith.NegfOp(a))

    def ge0(self, a: SSAValue) -> SSAValue:
        """`a >= 0` (false for NaN)."""
        return self._op(arith.CmpfOp(a, self.const(0.0), "oge"))

    def select(self, cond: SSAValue, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._op(arith.SelectOp(cond, a, b))

    def math(self, cls: type[Operation], *args: SSAValue) -> SSAValue:
        return self._op(cls(*args))


# Unary scalar bodies: (s, op, x) -> y, one line of algebra each.
UnaryBody = Callable[[Scalar, gm.UnaryMathOp, SSAValue], SSAValue]


def _p(s: Scalar, op: gm.UnaryMathOp, name: str) -> SSAValue:
    return s.const(op.param(name))


def _sigmoid(s: Scalar, op: gm.SigmoidOp, x: SSAValue) -> SSAValue:
    one = s.const(1.0)  # 1 / (1 + exp(-x)); exp overflow gives 1 / inf = 0
    return s.div(one, s.add(one, s.math(xmath.ExpOp, s.neg(x))))


def _gelu(s: Scalar, op: gm.GeluOp, x: SSAValue) -> SSAValue:
    if op.param("approximate") == "tanh":  # tanh(sqrt(2/pi) * (x + 0.044715 x^3))
        cube = s.mul(s.mul(x, x), x)
        inner = s.add(x, s.mul(s.const(0.044715), cube))
        t = s.math(xmath.TanhOp, s.mul(s.const(math.sqrt(2 / math.pi)), inner))
    else:  # erf(x / sqrt 2)
        t = s.math(xmath.ErfOp, s.mul(x, s.const(1 / math.sqrt(2))))
    return s.mul(s.mul(s.const(0.5), x), s.add(s.const(1.0), t))


def _clip(s: Scalar, op: gm.ClipOp, x: SSAValue) -> SSAValue:
    if op.param("min") is not None:
        x = s.max(x, _p(s, op, "min"))
    if op.param("max") is not None:
        x = s.min(x, _p(s, op, "max"))
    return x


UNARY: dict[type[Operation], UnaryBody] = {
    gm.SqrtOp: lambda s, op, x: s.math(xmath.SqrtOp, x),
    gm.ExpOp: lambda s, op, x: s.math(xmath.ExpOp, x),
    gm.LogOp: lambda s, op, x: s.math(xmath.LogOp, x),
    gm.AbsOp: lambda s, op, x: s.math(xmath.AbsFOp, x),
    gm.NegOp: lambda s, op, x: s.neg(x),
    gm.ReciprocalOp: lambda s, op, x: s.div(s.const(1.0), x),  # 1 / x
    gm.TanhOp: lambda s, op, x: s.math(xmath.TanhOp, x),
    gm.ErfOp: lambda s, op, x: s.math(xmath.ErfOp, x),
    gm.SigmoidOp: _sigmoid,
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), which never overflows
    gm.SoftplusOp: lambda s, op, x: s.add(
        s.max(x, s.const(0.0)),
        s.math(xmath.Log1pOp, s.math(xmath.ExpOp, s.neg(s.math(xmath.AbsFOp, x)))),
    ),
    gm.GeluOp: _gelu,
    # x >= 0 ? x : alpha * x
    gm.LeakyReluOp: lambda s, op, x: s.select(s.ge0(x), x, s.mul(_p(s, op, "alpha"), x)),
    # x >= 0 ? x : alpha * expm1(x)
    gm.EluOp: lambda s, op, x: s.select(
        s.ge0(x), x, s.mul(_p(s, op, "alpha"), s.math(xmath.ExpM1Op, x))
    ),
    # max(0, min(1, alpha * x + beta))
    gm.HardSigmoidOp: lambda s, op, x: s.max(
        s.const(0.0),
        s.min(s.const(1.0), s.add(s.mul(_p(s, op, "alpha"), x), _p(s, op, "beta"))),
    ),
    gm.ClipOp: _clip,
}
"""Unary op class -> its scalar body `(scalar_builder, op, x) -> y`."""


@lowers(*UNARY)
def lower_unary(op: Operation) -> Lowered:
    """A unary math op -> one pointwise generic with the op's body from `UNARY`."""
    body_fn = UNARY[type(op)]
    t = op.results[0].type
    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [body_fn(Scalar(b, t.element_type), op, a[0])]

    res = elementwise(ops, [op.operands[0]], t, body)
    return Lowered(ops, [res])


def _splat_value(value: SSAValue) -> float | None:
    """The single value of a constant operand whose elements are all equal, else None."""
    owner = value.owner
    attr = None
    if isinstance(owner, graph.ConstantOp):
        attr = owner.value
    elif isinstance(owner, arith.ConstantOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        attr = owner.value
    if attr is None:
        return None
    array = to_numpy(attr)
    if array.size == 0 or not np.all(array == array.flat[0]):
        return None
    return float(array.flat[0])


BINARY: dict[type[Operation], Callable[[Scalar, SSAValue, SSAValue], SSAValue]] = {
    gm.DivOp: Scalar.div,
    gm.PowOp: lambda s, a, b: s.math(xmath.PowFOp, a, b),
    gm.MaxOp: Scalar.max,
    gm.MinOp: Scalar.min,
}
"""Binary op class -> its scalar body `(scalar_builder, lhs, rhs) -> result`."""


def _square(s: Scalar, a: SSAValue) -> SSAValue:
    return s.mul(a, a)


def _cube(s: Scalar, a: SSAValue) -> SSAValue:
    return s.mul(s.mul(a, a), a)


# pow(x, c) for an all-c constant exponent, as products (module docstring: numerics)
_POWERS: dict[float, Callable[[Scalar, SSAValue], SSAValue]] = {2.0: _square, 3.0: _cube}


@lowers(*BINARY)
def lower_binary(op: Operation) -> Lowered:
    """A broadcasting binary op -> one pointwise generic with the body from `BINARY`.

    `pow(x, c)` with an all-2 constant exponent `c` becomes `x * x` (powf(x, 2) is the
    correctly rounded square, so this is exact), with an all-3 one `x * x * x`; the
    exponent is then not read at all.
    """
    scalar = BINARY[type(op)]
    t = op.results[0].type
    ins = list(op.operands)
    power = _POWERS.get(_splat_value(op.rhs)) if isinstance(op, gm.PowOp) else None
    if power is not None:
        ins, scalar = [op.lhs], power  # the result type keeps rhs's broadcast shape

    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [scalar(Scalar(b, t.element_type), *a[: len(ins)])]

    res = elementwise(ops, ins, t, body)
    return Lowered(ops, [res])


# --------------------------------------------------------------------------- reductions


# Reduction op class -> (initial value of the accumulator, combine(acc, x)).
REDUCE: dict[type[Operation], tuple[float, Callable[[Scalar, SSAValue, SSAValue], SSAValue]]] = {
    gm.ReduceSumOp: (0.0, Scalar.add),
    gm.ReduceMeanOp: (0.0, Scalar.add),  # then / count
    gm.ReduceMaxOp: (-math.inf, Scalar.max),
    gm.ReduceMinOp: (math.inf, Scalar.min),
    gm.ReduceProdOp: (1.0, Scalar.mul),
}


def _reduced_map(rank: int, axes: Sequence[int], keepdims: bool) -> AffineMap:
    """The output map of a reduction over `axes` of a rank-`rank` domain."""
    exprs = []
    for d in range(rank):
        if d not in axes:
            exprs.append(AffineExpr.dimension(d))
        elif keepdims:
            exprs.append(AffineExpr.constant(0))
    return AffineMap(rank, 0, tuple(exprs))


def reduction(
    ops: list[Operation],
    src: SSAValue,
    axes: Sequence[int],
    result_type: TensorType,
    keepdims: bool,
    init: float,
    combine: Callable[[Scalar, SSAValue, SSAValue], SSAValue],
    pre: Callable[[Scalar, Sequence[SSAValue]], SSAValue] | None = None,
    extra_ins: Sequence[tuple[SSAValue, AffineMap]] = (),
) -> SSAValue:
    """Accumulate `combine(acc, x)` over `axes` of `src` into a fill of `init`; the
    combining op carries `REASSOC` (base.py), so that the reduction vectorizes.

    `pre(s, [x, *extra])`, if given, maps the element (and the elements of `extra_ins`,
    read through their own maps) to the value accumulated.
    """
    rank = len(src.type.get_shape())
    acc = fill(ops, result_type, init)
    maps = [AffineMap.identity(rank), *(m for _, m in extra_ins)]
    maps.append(_reduced_map(rank, axes, keepdims))
    iters = [REDUCTION if d in axes else PARALLEL for d in range(rank)]
    n_in = 1 + len(extra_ins)

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        elem = result_type.element_type
        x = pre(Scalar(b, elem), a[:n_in]) if pre is not None else a[0]
        return [combine(Scalar(b, elem, REASSOC), a[n_in], x)]

    gen = build_generic([src, *(v for v, _ in extra_ins)], [acc], maps, iters, body)
    ops.append(gen)
    return gen.res[0]


@lowers(*REDUCE)
def lower_reduce(op: Operation) -> Lowered:
    """A reduction -> fill + reduction generic (+ a division by the count for the mean)."""
    rule = REDUCE[type(op)]
    assert isinstance(op, gm.ReduceOp)
    axes = op.normalized_axes()
    if not axes:  # reduces no dimension: the input itself
        return Lowered([], [op.input])
    t = op.result.type
    ops: list[Operation] = []
    res = reduction(ops, op.input, axes, t, op.keeps_dims, *rule)
    if isinstance(op, gm.ReduceMeanOp):
        count = math.prod(op.input.type.get_shape()[a] for a in axes)

        def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
            s = Scalar(b, t.element_type)
            return [s.div(a[0], s.const(float(count)))]

        res = elementwise(ops, [res], t, body)
    return Lowered(ops, [res])


@lowers(gm.LayerNormOp)
def lower_layer_norm(op: gm.LayerNormOp) -> Lowered:
    """LayerNormalization in five generics over x's shape S, axis a, N = prod(S[a:]);
    statistics have shape S[:a] + [1, ...] (kept dims, so never rank 0):

        mean  = sum(x) / N
        denom = sqrt(sum((x - mean)^2) / N + epsilon)
        y     = (x - mean) / denom * scale + bias
    """
    t = op.result.type
    shape, elem = t.get_shape(), t.element_type
    rank, axis = len(shape), op.normalized_axis()
    axes = tuple(range(axis, rank))
    count = float(math.prod(shape[axis:]))
    eps = op.epsilon.value.data
    stats_t = TensorType(elem, [*shape[:axis], *([1] * (rank - axis))])
    stats_map = _reduced_map(rank, axes, True)
    ops: list[Operation] = []

    def stats(ins: list[SSAValue], fn: Callable[[Scalar, SSAValue], SSAValue]) -> SSAValue:
        def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
            return [fn(Scalar(b, elem), a[0])]

        return elementwise(ops, ins, stats_t, body)

    total = reduction(ops, op.input, axes, stats_t, True, 0.0, Scalar.add)
    mean = stats([total], lambda s, v: s.div(v, s.const(count)))

    def centered_square(s: Scalar, a: Sequence[SSAValue]) -> SSAValue:
        d = s.sub(a[0], a[1])
        return s.mul(d, d)

    sq = reduction(
        ops,
        op.input,
        axes,
        stats_t,
        True,
        0.0,
        Scalar.add,
        centered_square,
        [(mean, stats_map)],
    )
    denom = stats(
        [sq], lambda s, v: s.math(xmath.SqrtOp, s.add(s.div(v, s.const(count)), s.const(eps)))
    )

    ins = [op.input, mean, denom, op.scale] + ([op.bias] if op.bias is not None else [])

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        s = Scalar(b, elem)
        y = s.mul(s.div(s.sub(a[0], a[1]), a[2]), a[3])
        return [s.add(y, a[4]) if op.bias is not None else y]

    res = elementwise(ops, ins, t, body)
    return Lowered(ops, [res])
