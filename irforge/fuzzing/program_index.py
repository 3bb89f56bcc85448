"""Op generators of the random program fuzzer for the graph dialect's gathers
(dialects/graph/gather.py) and positional ops (dialects/graph/positional.py):

- gather: `x` gathered along an axis with constant int64 indices (negative ones too), or
  a constant table gathered with indices computed at run time from `x` (clipped into
  [-n, n - 1], then cast to i64: truncation toward zero keeps them in range);
- gather_elements: `x` read at constant int64 indices along an axis (a smaller block);
- gather_nd: `x` read at constant coordinate tuples over its leading dims (batch_dims 0);
- trilu: the upper or lower triangle of the last two dims of `x`, diagonal offset k;
- cumsum: running sums of `x` along an axis, exclusive and/or reversed.

In-range indices only: out-of-range ones are clamped by irforge and rejected by ONNX
Runtime, so they cannot be compared (tests/test_graph_gather.py checks the clamp).
Gathers and Trilu copy or zero elements and are exact on every f32 value
(special_safe); CumSum rounds its sums (not special-safe: inf - inf). Semantics: ONNX
Gather, GatherElements, GatherND, Trilu, CumSum, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import SSAValue

from irforge.dialects import graph
from irforge.dialects.arrays import from_numpy
from irforge.dialects.graph import gather as gg
from irforge.dialects.graph import logic as gl
from irforge.dialects.graph import math as gm
from irforge.dialects.graph import positional as gp

from .program_base import Gen, OpGen, shape_of


def _indices(g: Gen, shape: tuple[int, ...], n: int) -> SSAValue:
    """A constant int64 tensor of `shape` with values in [-n, n - 1]."""
    data = g.rng.integers(-n, n, size=shape, dtype=np.int64)
    op = graph.ConstantOp(from_numpy(data))
    g.b.insert(op)
    g.arrays[op.result] = data
    return op.result


def _gather(g: Gen, x):
    s = shape_of(x)
    if g.bool() and len(s) <= 2 and np.prod(s) <= 16:
        # a constant table read at indices computed from x (an embedding lookup)
        n = g.int(1, 4)
        table = g.const((n, g.int(1, 3)))
        clipped = g.emit(gm.ClipOp(x, min=float(-n), max=float(n - 1)))
        ids = g.emit(gl.CastOp(clipped, IntegerType(64)))
        g.arrays[ids] = g.arrays[ids].astype(np.int64)
        return g.emit(gg.GatherOp(table, ids, axis=0))
    axis = g.int(0, len(s) - 1)
    ishape = tuple(g.int(1, 3) for _ in range(g.int(0, 2)))
    return g.emit(gg.GatherOp(x, _indices(g, ishape, s[axis]), axis=axis - len(s) * g.bool()))


def _gather_elements(g: Gen, x):
    s = shape_of(x)
    axis = g.int(0, len(s) - 1)
    ishape = tuple(g.int(1, d) if d != s[axis] or g.bool() else d for d in s)
    ishape = tuple(g.int(1, 3) if k == axis else d for k, d in enumerate(ishape))
    return g.emit(gg.GatherElementsOp(x, _indices(g, ishape, s[axis]), axis=axis))


def _gather_nd(g: Gen, x):
    s = shape_of(x)
    k = g.int(1, len(s))
    m = g.int(1, 3)
    cols = [g.rng.integers(-n, n, size=m, dtype=np.int64) for n in s[:k]]
    data = np.stack(cols, axis=-1)
    op = graph.ConstantOp(from_numpy(data))
    g.b.insert(op)
    g.arrays[op.result] = data
    return g.emit(gg.GatherNDOp(x, op.result, batch_dims=0))


def _trilu(g: Gen, x):
    return g.emit(gp.TriluOp(x, upper=g.bool(), k=g.int(-2, 2)))


def _cumsum(g: Gen, x):
    s = shape_of(x)
    axis = g.int(0, len(s) - 1)
    return g.emit(gp.CumSumOp(x, axis=axis, exclusive=g.bool(), reverse=g.bool()))


def _rank_at_least(r: int):
    return lambda shape: len(shape) >= r


FAMILY: list[OpGen] = [
    OpGen("gather", _rank_at_least(1), _gather, ("gather", "clip", "cast"), False),
    OpGen("gather_elements", _rank_at_least(1), _gather_elements, ("gather_elements",), True),
    OpGen("gather_nd", _rank_at_least(1), _gather_nd, ("gather_nd",), True),
    OpGen("trilu", _rank_at_least(2), _trilu, ("trilu",), True),
    OpGen("cumsum", _rank_at_least(1), _cumsum, ("cumsum",), False),
]
"""The generators of this family, simplest first."""
