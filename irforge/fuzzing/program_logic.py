"""Op generators of the random program fuzzer for the graph dialect's comparisons, boolean
logic and casts (dialects/graph/logic.py), as small idioms that take and give f32 values:

- logic: two random comparisons of x with partners (broadcasting), joined by and, or or
  xor, sometimes negated, then cast back to f32 (0.0 / 1.0) or used as where's condition;
- cast: x cast to i32 or i64 (truncated toward zero) or to i1 (x != 0), sometimes on to
  another of those, then back to f32. Before an integer cast x is clipped to [-1e6, 1e6]:
  ONNX leaves out-of-range float-to-int conversions undefined (ONNX Runtime gives the
  x86 "integer indefinite" value, irforge saturates), and a clipped value converts
  exactly either way.

The comparisons and logic are exact on every f32 value (special_safe); the integer casts
are not (NaN). Semantics: ONNX Equal, Less, ..., And, Or, Xor, Not, Cast, Where,
https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from xdsl.dialects.builtin import Float32Type, IntegerType, i1

from irforge.dialects.graph import logic as gl
from irforge.dialects.graph import math as gm
from irforge.dialects.graph import shape as gs

from .program_base import Gen, OpGen, any_shape, shape_of

_COMPARE = (gl.EqualOp, gl.LessOp, gl.LessOrEqualOp, gl.GreaterOp, gl.GreaterOrEqualOp)
_LOGIC = (gl.AndOp, gl.OrOp, gl.XorOp)
_F32 = Float32Type()


def _logic(g: Gen, x):
    s = shape_of(x)
    a = g.emit(g.choice(_COMPARE)(x, g.partner(s)))
    b = g.emit(g.choice(_COMPARE)(g.partner(s), x))
    c = g.emit(g.choice(_LOGIC)(a, b))
    if g.bool():
        c = g.emit(gl.NotOp(c))
    if g.bool():
        return g.emit(gs.WhereOp(c, x, g.partner(s)))
    return g.emit(gl.CastOp(c, _F32))


def _cast(g: Gen, x):
    chain = [g.choice([IntegerType(32), IntegerType(64), i1])]
    if g.bool():
        chain.append(g.choice([IntegerType(32), IntegerType(64), i1]))
    v = x
    if chain[0] != i1:
        v = g.emit(gm.ClipOp(v, min=-1e6, max=1e6))
    for elem in chain:
        v = g.emit(gl.CastOp(v, elem))
    return g.emit(gl.CastOp(v, _F32))


FAMILY: list[OpGen] = [
    OpGen(
        "logic",
        any_shape,
        _logic,
        ("equal", "less", "less_or_equal", "greater", "greater_or_equal", "and", "or", "xor")
        + ("not", "where", "cast"),
        True,
    ),
    OpGen("cast", any_shape, _cast, ("cast", "clip"), False),
]
"""The generators of this family, simplest first."""
