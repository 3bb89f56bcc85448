"""convert-graph-to-tensor rules for the graph dialect's layout ops
(dialects/graph/layout.py), each registered with `base.lowers` for its op class (base.py:
what a rule receives and returns); convert_graph_to_tensor.py imports this module.

- `graph.pack`: a copy over the blocked domain `(n, cb, d..., l)` reading `(n, cb * x + l,
  d...)`; `graph.unpack`: a copy over the plain domain `(n, c, d...)` reading `(n, c
  floordiv x, d..., c mod x)`.
- `graph.conv2d_nchwc`: a `tensor.pad_constant` of the spatial dims, the accumulator (the blocked
  bias broadcast, or zeros), then one reduction generic over the domain `(n, ob, oh, ow,
  o, ib, kh, kw, i)`:

    %y = "tensor.generic"(%xpad, %w, %acc) <{indexing_maps = [
          affine_map<(d0, ..., d8) -> (d0, d5, d2 * sh + d6 * dh, d3 * sw + d7 * dw, d8)>,
          affine_map<(d0, ..., d8) -> (d1, d5, d6, d7, d8, d4)>,
          affine_map<(d0, ..., d8) -> (d0, d1, d2, d3, d4)>], ...}> ({ acc + a * b })

  with groups, the input block is `(d1 floordiv OBg) * IBg + d5` (OBg, IBg: output and
  input blocks per group); the form the direct-convolution microkernel
  (passes/tensor_to_loop/microkernel/direct_conv.py) recognizes.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.graph import layout as graph_layout
from ...dialects.tensor import PARALLEL, REDUCTION, EmptyOp, build_generic
from .base import Lowered, fill, lowers, multiply_add, pad


def _d(i: int) -> AffineExpr:
    return AffineExpr.dimension(i)


def _copy(ops: list[Operation], x: SSAValue, t, in_map: AffineMap) -> SSAValue:
    empty = EmptyOp(t)
    rank = len(t.get_shape())
    gen = build_generic(
        [x],
        [empty.result],
        [in_map, AffineMap.identity(rank)],
        [PARALLEL] * rank,
        lambda b, s: [s[0]],
    )
    ops += [empty, gen]
    return gen.res[0]


@lowers(graph_layout.PackOp)
def lower_pack(op: graph_layout.PackOp) -> Lowered:
    t = op.result.type
    rank = len(t.get_shape())
    x = op.block.value.data
    spatial = [_d(i) for i in range(2, rank - 1)]
    in_map = AffineMap(rank, 0, (_d(0), _d(1) * x + _d(rank - 1), *spatial))
    ops: list[Operation] = []
    return Lowered(ops, [_copy(ops, op.input, t, in_map)])


@lowers(graph_layout.UnpackOp)
def lower_unpack(op: graph_layout.UnpackOp) -> Lowered:
    t = op.result.type
    rank = len(t.get_shape())
    x = op.input.type.get_shape()[-1]
    spatial = [_d(i) for i in range(2, rank)]
    in_map = AffineMap(rank, 0, (_d(0), _d(1) // x, *spatial, _d(1) % x))
    ops: list[Operation] = []
    return Lowered(ops, [_copy(ops, op.input, t, in_map)])


@lowers(graph_layout.Conv2DNchwcOp)
def lower_conv2d_nchwc(op: graph_layout.Conv2DNchwcOp) -> Lowered:
    """Pad, accumulator, one reduction generic (module docs)."""
    ops: list[Operation] = []
    t = op.result.type
    win = op.window()
    padded = pad(ops, op.input, [0, 0, *win.pads_begin, 0], [0, 0, *win.pads_end, 0], 0.0)
    if op.bias is not None:
        acc = _copy(ops, op.bias, t, AffineMap(5, 0, (_d(1), _d(4))))
    else:
        acc = fill(ops, t, 0.0)
    (sh, sw), (dh, dw) = win.strides, win.dilations
    ib = _d(5)
    group = op.group.value.data
    if group > 1:  # the input blocks of output block d1's group
        ob_per_group = op.weight.type.get_shape()[0] // group
        ib = (_d(1) // ob_per_group) * op.weight.type.get_shape()[1] + ib
    in_map = AffineMap(9, 0, (_d(0), ib, _d(2) * sh + _d(6) * dh, _d(3) * sw + _d(7) * dw, _d(8)))
    w_map = AffineMap(9, 0, (_d(1), _d(5), _d(6), _d(7), _d(8), _d(4)))
    out_map = AffineMap(9, 0, tuple(_d(i) for i in range(5)))
    gen = build_generic(
        [padded, op.weight],
        [acc],
        [in_map, w_map, out_map],
        [PARALLEL] * 5 + [REDUCTION] * 4,
        multiply_add,
    )
    ops.append(gen)
    return Lowered(ops, [gen.res[0]])
