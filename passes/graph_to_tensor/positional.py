"""convert-graph-to-tensor rules for the graph dialect's positional ops
(dialects/graph/positional.py).

Each rule is registered with `base.lowers` for its op class (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module. Both read their
position with `tensor.index` (the generic's loop index) and choose with `arith.select`:

- `graph.trilu` is one pointwise generic: `select(j - i >= k, x, 0)` (upper) or
  `select(j - i <= k, x, 0)` (lower), `i`, `j` the indices of the last two dimensions;
- `graph.cumsum` along an axis of size n is one generic over the result's domain plus an
  innermost reduction dimension `t` of size n: the input is read at `t` on the axis, and
  `acc + select(t <= i, x, 0)` accumulates into a fill of 0 (`t < i` exclusive, `t >= i`
  reverse, `t > i` both). That is n^2 additions per row instead of n: the axes torch
  leaves a CumSum on (position ids over a sequence) are short, and the generic stays
  one affine loop nest that the later passes schedule like any reduction.

    %c = "graph.cumsum"(%m) <{axis = 1 : i64, exclusive = 0 : i64, reverse = 0 : i64}>
        : (tensor<1x4xi32>) -> tensor<1x4xi32>

becomes

    %z = ... a tensor<1x4xi32> of zeros ...
    %c = "tensor.generic"(%m, %z) <{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
          affine_map<(d0, d1, d2) -> (d0, d1)>],
          iterator_types = ["parallel", "parallel", "reduction"], ...}> ({
      ^bb0(%x: i32, %acc: i32):
        %i = "tensor.index"() <{dim = 1 : i64}> : () -> index
        %t = "tensor.index"() <{dim = 2 : i64}> : () -> index
        %keep = "arith.cmpi"(%t, %i) <{predicate = 3 : i64}> : (index, index) -> i1
        %v = "arith.select"(%keep, %x, %c0) : (i1, i32, i32) -> i32
        %s = "arith.addi"(%acc, %v) : (i32, i32) -> i32
        "tensor.yield"(%s) : (i32) -> ()
    })
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.graph import positional as graph_positional
from ...dialects.tensor import PARALLEL, REDUCTION, IndexOp, build_generic
from .base import REASSOC, Lowered, constant, elementwise, fill, lowers


def _index(b: Builder, dim: int) -> SSAValue:
    return b.insert(IndexOp(dim)).result


def _keep(b: Builder, x: SSAValue, keep: SSAValue) -> SSAValue:
    """`x` where `keep`, else 0 of x's type."""
    return b.insert(arith.SelectOp(keep, x, constant(b, 0, x.type))).result


@lowers(graph_positional.TriluOp)
def lower_trilu(op: graph_positional.TriluOp) -> Lowered:
    """graph.trilu -> one pointwise generic selecting by (row, column) (module docstring)."""
    t = op.result.type
    rank = len(t.get_shape())
    k, upper = op.k.value.data, bool(op.upper.value.data)

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        i, j = _index(b, rank - 2), _index(b, rank - 1)
        diff = b.insert(arith.SubiOp(j, i)).result
        offset = b.insert(arith.ConstantOp(IntegerAttr(k, IndexType()))).result
        keep = b.insert(arith.CmpiOp(diff, offset, "sge" if upper else "sle"))
        return [_keep(b, args[0], keep.result)]

    ops: list[Operation] = []
    return Lowered(ops, [elementwise(ops, [op.input], t, body)])


_CUMSUM_PREDICATES = {(False, False): "sle", (True, False): "slt",
                      (False, True): "sge", (True, True): "sgt"}  # fmt: skip
"""(exclusive, reverse) -> the arith.cmpi predicate of `t ? i` that keeps a term."""


@lowers(graph_positional.CumSumOp)
def lower_cumsum(op: graph_positional.CumSumOp) -> Lowered:
    """graph.cumsum -> a fill of 0 and one generic with a masked reduction over the axis
    (module docstring)."""
    t = op.result.type
    rank = len(t.get_shape())
    axis = op.normalized_axis()
    predicate = _CUMSUM_PREDICATES[bool(op.exclusive.value.data), bool(op.reverse.value.data)]
    ops: list[Operation] = []
    acc = fill(ops, t, 0)
    read = tuple(AffineExpr.dimension(rank if d == axis else d) for d in range(rank))
    write = tuple(AffineExpr.dimension(d) for d in range(rank))
    maps = [AffineMap(rank + 1, 0, read), AffineMap(rank + 1, 0, write)]
    is_int = isinstance(t.element_type, IntegerType)

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        keep = b.insert(arith.CmpiOp(_index(b, rank), _index(b, axis), predicate)).result
        term = _keep(b, args[0], keep)
        add = arith.AddiOp(args[1], term) if is_int else arith.AddfOp(args[1], term, REASSOC)
        return [b.insert(add).result]

    gen = build_generic([op.input], [acc], maps, [PARALLEL] * rank + [REDUCTION], body)
    ops.append(gen)
    return Lowered(ops, [gen.res[0]])
