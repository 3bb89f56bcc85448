"""convert-graph-to-tensor rules for the graph dialect's shape ops (dialects/graph/shape.py).

Each rule is registered with `base.lowers` for its op class (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module.

- `graph.slice`: one copying generic whose input map is `d_k * step_k + start_k` (a
  leading part `[0, size)` of a dimension reads `d_k mod n_k`: a bare `d_k` would give
  the domain the input's size);
- `graph.expand`: one copying generic whose input map broadcasts (ONNX rules);
- `graph.where`: one generic over the broadcast domain, `select(c, x, y)` (c an i1);
- `graph.concat`: a `tensor.empty` of the result, then one `tensor.insert_block` per input
  at its running offset along the axis (no generic can write part of its output).

    %s = "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}>
        : (tensor<2x8xf32>) -> tensor<2x4xf32>

becomes

    %e = "tensor.empty"() : () -> tensor<2x4xf32>
    %s = "tensor.generic"(%x, %e) <{indexing_maps = [
          affine_map<(d0, d1) -> (d0, d1 * -2 + 7)>, affine_map<(d0, d1) -> (d0, d1)>],
        iterator_types = ["parallel", "parallel"], ...}> ({
      ^bb0(%a: f32, %o: f32):  "tensor.yield"(%a) })
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.graph import shape as graph_shape
from ...dialects.tensor import PARALLEL, EmptyOp, InsertSliceOp, build_generic
from .base import Lowered, broadcast_map, elementwise, lowers


def _copy(x: SSAValue, in_map: AffineMap, result_type) -> list[Operation]:
    """A generic that copies `x` read through `in_map` into a new tensor of `result_type`."""
    rank = len(result_type.get_shape())
    empty = EmptyOp(result_type)
    gen = build_generic(
        [x], [empty.result], [in_map, AffineMap.identity(rank)], [PARALLEL] * rank, _first
    )
    return [empty, gen]


def _first(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
    return [s[0]]


@lowers(graph_shape.SliceOp)
def lower_slice(op: graph_shape.SliceOp) -> Lowered:
    """out[i] = in[i * step + start], one affine map per dimension."""
    rank = len(op.step_values)
    src, dst = op.input.type.get_shape(), op.result.type.get_shape()
    exprs = []
    for d, (start, step) in enumerate(zip(op.start_values, op.step_values)):
        e = AffineExpr.dimension(d)
        if step != 1:
            e = e * step
        if start != 0:
            e = e + start
        elif step == 1 and src[d] != dst[d]:
            # A bare `d` would tell the generic that the domain has the input's size
            # along d (loop_ranges); `d mod n` reads the same elements, as d < n.
            e = e % src[d]
        exprs.append(e)
    ops = _copy(op.input, AffineMap(rank, 0, tuple(exprs)), op.result.type)
    return Lowered(ops, [ops[-1].results[0]])


@lowers(graph_shape.ExpandOp)
def lower_expand(op: graph_shape.ExpandOp) -> Lowered:
    """out[i] = in[broadcast(i)]: the broadcasting map of elementwise ops."""
    shape = op.result.type.get_shape()
    if op.input.type == op.result.type:
        return Lowered([], [op.input])
    ops = _copy(op.input, broadcast_map(op.input.type.get_shape(), shape), op.result.type)
    return Lowered(ops, [ops[-1].results[0]])


@lowers(graph_shape.WhereOp)
def lower_where(op: graph_shape.WhereOp) -> Lowered:
    """out = select(c, x, y) pointwise (c an i1), the three operands broadcast."""
    ops: list[Operation] = []

    def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.SelectOp(s[0], s[1], s[2])).result]

    value = elementwise(ops, [op.condition, op.x, op.y], op.result.type, body)
    return Lowered(ops, [value])


@lowers(graph_shape.ConcatOp)
def lower_concat(op: graph_shape.ConcatOp) -> Lowered:
    """An empty result, each input inserted at its running offset along the axis."""
    axis = op.normalized_axis()
    if len(op.inputs) == 1:
        return Lowered([], [op.inputs[0]])
    empty = EmptyOp(op.result.type)
    ops: list[Operation] = [empty]
    acc: SSAValue = empty.result
    offset = 0
    rank = len(op.result.type.get_shape())
    for x in op.inputs:
        size = x.type.get_shape()[axis]
        if size == 0:
            continue
        offsets = [offset if d == axis else 0 for d in range(rank)]
        ins = InsertSliceOp(x, acc, offsets)
        ops.append(ins)
        acc = ins.result
        offset += size
    return Lowered(ops, [acc])
