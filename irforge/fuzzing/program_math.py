"""Op generators of the random program fuzzer for the graph dialect's elementwise math,
reductions and normalizations (dialects/graph/core.py, dialects/graph/math.py).

- unary: relu, identity and every `UnaryMathOp` (sqrt, exp, log, abs, neg, reciprocal,
  tanh, erf, sigmoid, softplus, gelu with both `approximate` modes, leaky_relu, elu,
  hard_sigmoid with random alpha/beta, clip with either bound absent or min > max, which
  ONNX Clip defines as every element = max);
- binary with ONNX broadcasting: add, sub, mul, div, pow, max, min, against an earlier
  value or a constant of a broadcastable shape, on either side;
- reductions (sum, mean, max, min, prod) over a random subset of the axes, in any order,
  negative or not, empty or all, with keepdims 0 or 1; softmax on a random axis;
  layer_norm from a random axis with a scale and an optional bias.

Domains (program_base.Gen): log, sqrt and pow's base get `|x| + c` when x comes close to
0 or below, reciprocal and a divisor `|x| + c` when x comes close to 0, exp a clip at 10
(cancellation-free and far from overflow: the comparison then holds at f32 tolerances).
With special input values (NaN, infinities, zeros, subnormals) these guards are off and
only the IEEE-exact ops are drawn (`special_safe`). Semantics: the ONNX operator
specifications, https://onnx.ai/onnx/operators/ (as in dialects/graph/math.py).
"""

from __future__ import annotations

from irforge.dialects import graph
from irforge.dialects.graph import math as gm

from .program_base import Gen, OpGen, any_shape, shape_of


def _plain(cls):
    return lambda g, x: g.emit(cls(x))


def _guarded(cls, guard: str):
    """`cls(x)` with x kept in the op's well-conditioned domain (module docs)."""

    def build(g: Gen, x):
        if not g.special:
            if guard == "positive":
                x = g.positive(x)
            elif guard == "nonzero":
                x = g.away_from_zero(x)
            elif guard == "exp":
                x = g.at_most(x, 10.0)
        return g.emit(cls(x))

    return build


def _param_op(cls, **choices):
    def build(g: Gen, x):
        params = {k: g.choice(v) for k, v in choices.items()}
        return g.emit(cls(x, **params))

    return build


def _clip(g: Gen, x):
    lo = g.choice([None, -1.0, 0.0, 0.5])
    hi = g.choice([None, 1.0, 6.0, -0.5])
    return g.emit(gm.ClipOp(x, min=lo, max=hi))


_BINARY = {
    "add": graph.AddOp,
    "sub": graph.SubOp,
    "mul": graph.MulOp,
    "max": gm.MaxOp,
    "min": gm.MinOp,
}


def _binary(cls):
    def build(g: Gen, x):
        other = g.partner(shape_of(x))
        lhs, rhs = (x, other) if g.bool() else (other, x)
        return g.emit(cls(lhs, rhs))

    return build


def _div(g: Gen, x):
    other = g.partner(shape_of(x))
    num, den = (x, other) if g.bool() else (other, x)
    if not g.special:
        den = g.away_from_zero(den)
    return g.emit(gm.DivOp(num, den))


def _pow(g: Gen, x):
    base = g.positive(x)
    s = shape_of(x)
    if g.bool():
        exponent = g.splat((), g.choice([2.0, 0.5, -1.0, 3.0, 1.5, 0.0]))
    else:
        k = g.int(0, len(s))
        exponent = g.const(tuple(d if g.bool() else 1 for d in s[len(s) - k :]), 2.0, -2.0)
    return g.emit(gm.PowOp(base, exponent))


_REDUCE = [gm.ReduceSumOp, gm.ReduceMeanOp, gm.ReduceMaxOp, gm.ReduceMinOp, gm.ReduceProdOp]


def _reduce(cls):
    def build(g: Gen, x):
        rank = len(shape_of(x))
        axes = [a for a in g.permutation(rank) if g.bool()]
        axes = [a - rank if g.bool() else a for a in axes]
        return g.emit(cls(x, axes, keepdims=g.bool()))

    return build


def _softmax(g: Gen, x):
    rank = len(shape_of(x))
    return g.emit(graph.SoftmaxOp(x, axis=g.int(-rank, rank - 1)))


def _layer_norm(g: Gen, x):
    s = shape_of(x)
    axis = g.int(-len(s), len(s) - 1)
    norm = s[axis % len(s) :]
    scale = g.const(norm)
    bias = g.const(norm) if g.bool() else None
    eps = g.choice([1e-5, 1e-2])
    return g.emit(gm.LayerNormOp(x, scale, bias, axis=axis, epsilon=eps))


FAMILY: list[OpGen] = [
    OpGen("relu", any_shape, _plain(graph.ReluOp), ("relu",), True),
    OpGen("identity", any_shape, _plain(graph.IdentityOp), ("identity",), True),
    OpGen("abs", any_shape, _plain(gm.AbsOp), ("abs",), True),
    OpGen("neg", any_shape, _plain(gm.NegOp), ("neg",), True),
    OpGen("sqrt", any_shape, _guarded(gm.SqrtOp, "positive"), ("sqrt",), True),
    OpGen("log", any_shape, _guarded(gm.LogOp, "positive"), ("log",), True),
    OpGen("exp", any_shape, _guarded(gm.ExpOp, "exp"), ("exp",), True),
    OpGen("reciprocal", any_shape, _guarded(gm.ReciprocalOp, "nonzero"), ("reciprocal",), True),
    OpGen("tanh", any_shape, _plain(gm.TanhOp), ("tanh",), True),
    OpGen("sigmoid", any_shape, _plain(gm.SigmoidOp), ("sigmoid",), True),
    OpGen("erf", any_shape, _plain(gm.ErfOp), ("erf",)),
    OpGen("softplus", any_shape, _plain(gm.SoftplusOp), ("softplus",)),
    OpGen("gelu", any_shape, _param_op(gm.GeluOp, approximate=["none", "tanh"]), ("gelu",)),
    OpGen(
        "leaky_relu",
        any_shape,
        _param_op(gm.LeakyReluOp, alpha=[0.01, 0.3, -0.5, 1.5]),
        ("leaky_relu",),
        True,
    ),
    OpGen("elu", any_shape, _param_op(gm.EluOp, alpha=[1.0, 0.5, 2.0]), ("elu",)),
    OpGen(
        "hard_sigmoid",
        any_shape,
        _param_op(gm.HardSigmoidOp, alpha=[0.2, 1 / 6, -0.5], beta=[0.5, 0.0, 1.0]),
        ("hard_sigmoid",),
    ),
    OpGen("clip", any_shape, _clip, ("clip",)),
    *(OpGen(n, any_shape, _binary(c), (n,), True) for n, c in _BINARY.items()),
    OpGen("div", any_shape, _div, ("div",), True),
    OpGen("pow", any_shape, _pow, ("pow",)),
    *(
        OpGen(cls.name[6:], lambda s: len(s) >= 1, _reduce(cls), (cls.name[6:],), safe)
        for cls, safe in zip(_REDUCE, (True, True, True, True, False))
    ),
    OpGen("softmax", lambda s: len(s) >= 1, _softmax, ("softmax",), True),
    OpGen("layer_norm", lambda s: len(s) >= 1, _layer_norm, ("layer_norm",)),
]
"""The generators of this family, simplest first (hypothesis shrinks towards the start)."""
