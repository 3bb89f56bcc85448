"""Op generators of the random program fuzzer for the graph dialect's data movement
(dialects/graph/core.py, dialects/graph/shape.py): transpose by a random permutation, reshape
to a random factorization of the element count (rank 1 to 4), slice with random starts,
sizes and steps of either sign (a whole dimension sometimes), concat of two or three
values along a random axis (the value itself, earlier values or constants of the right
shape), expand of size-1 dims and new leading dims, and where with a constant bool
condition or one computed at run time by a comparison (graph.less, graph.greater, ...),
broadcasting all three operands.

All are exact on every f32 value (special_safe). Semantics: ONNX Transpose, Reshape,
Slice, Concat, Expand, Where, Less, ..., https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import math

from irforge.dialects import graph
from irforge.dialects.arrays import from_numpy
from irforge.dialects.graph import logic as gl
from irforge.dialects.graph import shape as gs

from .program_base import Gen, OpGen, any_shape, shape_of


def _split(n: int, rank: int, divisors: list[int]) -> list[tuple[int, ...]]:
    if rank == 1:
        return [(n,)]
    return [
        (d, *rest) for d in divisors if n % d == 0 for rest in _split(n // d, rank - 1, divisors)
    ]


def factorizations(n: int, max_rank: int = 3) -> list[tuple[int, ...]]:
    """Shapes of 1 to `max_rank` dims whose product is n, lowest ranks first."""
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return [s for rank in range(1, max_rank + 1) for s in _split(n, rank, divisors)]


def _transpose(g: Gen, x):
    return g.emit(graph.TransposeOp(x, g.permutation(len(shape_of(x)))))


def _reshape(g: Gen, x):
    options = factorizations(math.prod(shape_of(x)), 4)
    if len(options) > 64:  # keep the list short: the low ranks and a spread of the rest
        options = options[:32] + options[32 :: max(1, len(options) // 32)]
    return g.emit(graph.ReshapeOp(x, g.choice(options)))


def _slice(g: Gen, x):
    starts, steps, sizes = [], [], []
    s = shape_of(x)
    for d, n in enumerate(s):
        if d == 1 and len(s) >= 4 and n % 4 == 0 and n >= 8 and g.bool():
            # whole 4-channel blocks (what graph-convert-layout keeps blocked)
            start = 4 * g.int(0, n // 4 - 1)
            starts.append(start), steps.append(1), sizes.append(4 * g.int(1, (n - start) // 4))
            continue
        if g.bool():
            starts.append(0), steps.append(1), sizes.append(n)
            continue
        step = g.choice([1, 2, -1, 3, -2])
        start = g.int(0, n - 1)
        room = (n - 1 - start) // step + 1 if step > 0 else start // -step + 1
        starts.append(start), steps.append(step), sizes.append(g.int(1, room))
    return g.emit(gs.SliceOp(x, starts, steps, sizes))


def _concat(g: Gen, x):
    s = shape_of(x)
    axis = g.int(0, len(s) - 1)
    parts = [x]
    for _ in range(g.int(1, 2)):
        fits = [
            v
            for v in g.values
            if len(shape_of(v)) == len(s)
            and all(a == b for d, (a, b) in enumerate(zip(shape_of(v), s)) if d != axis)
        ]
        if fits and g.bool():
            parts.append(g.choice(fits))
        else:
            shape = list(s)
            shape[axis] = g.int(1, g.max_dim)
            parts.append(g.const(shape))
    order = g.permutation(len(parts))
    axis_attr = axis - len(s) if g.bool() else axis
    return g.emit(gs.ConcatOp([parts[i] for i in order], axis_attr))


def _expand(g: Gen, x):
    s = shape_of(x)
    budget = max(1, g.max_elems // max(1, math.prod(s)))
    lead = [g.int(1, 3) for _ in range(g.int(0, 2 if len(s) < 4 else 0))]
    out = [*lead, *(g.int(1, 4) if d == 1 and g.bool() else d for d in s)]
    if math.prod(out) > budget * max(1, math.prod(s)):
        out = [*([1] * len(lead)), *s]
    return g.emit(gs.ExpandOp(x, out))


_COMPARE = (gl.EqualOp, gl.LessOp, gl.LessOrEqualOp, gl.GreaterOp, gl.GreaterOrEqualOp)


def _where(g: Gen, x):
    s = shape_of(x)
    other = g.partner(s)
    if g.bool():
        k = g.int(0, len(s))
        cshape = tuple(d if g.bool() else 1 for d in s[len(s) - k :])
        cond = g.emit(graph.ConstantOp(from_numpy(g.rng.integers(0, 2, cshape).astype(bool))))
    else:
        compare = g.choice(_COMPARE)
        cond = g.emit(compare(g.partner(s), g.partner(s)))
    a, b = (x, other) if g.bool() else (other, x)
    return g.emit(gs.WhereOp(cond, a, b))


FAMILY: list[OpGen] = [
    OpGen("transpose", any_shape, _transpose, ("transpose",), True),
    OpGen("reshape", any_shape, _reshape, ("reshape",), True),
    OpGen("slice", lambda s: len(s) >= 1, _slice, ("slice",), True),
    OpGen("concat", lambda s: len(s) >= 1, _concat, ("concat",), True),
    OpGen("expand", any_shape, _expand, ("expand",), True),
    OpGen(
        "where",
        any_shape,
        _where,
        ("where", "equal", "less", "less_or_equal", "greater", "greater_or_equal"),
        True,
    ),
]
"""The generators of this family, simplest first."""
