"""convert-graph-to-tensor rules for the graph dialect's gathers (dialects/graph/gather.py).

Each rule is registered with `base.lowers` for its op class (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module.

Every gather becomes one `tensor.generic` over the result's domain. The indices are its
`ins`, read through an affine indexing map; the data is not an operand but a tensor the
body captures and reads with `tensor.extract`, at coordinates made of `tensor.index` ops
(the generic's own loop indices) for the dimensions the indices do not choose, and of the
index read, normalized and clamped, for the ones they do:

- `graph.gather` (axis a, indices of rank q): domain `data.shape[:a] + indices.shape +
  data.shape[a+1:]`, indices map `(d...) -> (d_a, ..., d_{a+q-1})`, data read at
  `(d_0, ..., d_{a-1}, idx, d_{a+q}, ...)`;
- `graph.gather_elements`: domain the indices' shape, identity map, data read at `d`
  with `d_axis` replaced by the index;
- `graph.gather_nd` (k coordinates, b batch dims): domain `indices.shape[:-1] +
  data.shape[b+k:]`; the indices are k operands, operand j read through
  `(d...) -> (d_0, ..., d_{q-2}, j)`; data read at `(d_0, ..., d_{b-1}, idx_0, ...,
  idx_{k-1}, d_{q-1}, ...)`.

An index `i` on a data dimension of size `n` becomes `clamp(i < 0 ? i + n : i, 0, n - 1)`
then `arith.index_cast` to `index`: ONNX Runtime rejects out-of-range indices with an
error, but compiled code has no error channel, and must never read out of bounds or
crash, so it clamps (the reference semantics, dialects/graph_gather_reference.py, clamp
the same way). An embedding (data [V, H], indices [B, S]) has H innermost: each domain
point copies one element of a contiguous row.

    %e = "graph.gather"(%t, %ids) <{axis = 0 : i64}>
        : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>

becomes

    %0 = "tensor.empty"() : () -> tensor<2x4xf32>
    %e = "tensor.generic"(%ids, %0) <{indexing_maps = [affine_map<(d0, d1) -> (d0)>,
          affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"],
          ...}> ({
      ^bb0(%i: i64, %o: f32):
        ... %c = clamp(%i < 0 ? %i + 10 : %i, 0, 9)
        %k = "arith.index_cast"(%c) : (i64) -> index
        %j = "tensor.index"() <{dim = 1 : i64}> : () -> index
        %v = "tensor.extract"(%t, %k, %j) : (tensor<10x4xf32>, index, index) -> f32
        "tensor.yield"(%v) : (f32) -> ()
    })
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.graph import gather as graph_gather
from ...dialects.tensor import PARALLEL, EmptyOp, ExtractOp, IndexOp, build_generic
from .base import Lowered, constant, lowers


def clamped_index(b: Builder, i: SSAValue, n: int) -> SSAValue:
    """The `index` position an integer index `i` (i64 or i32) reads on a dimension of size
    `n`: `i + n` if negative, then clamped into [0, n - 1] (module docstring)."""
    elem = i.type
    zero = constant(b, 0, elem)
    negative = b.insert(arith.CmpiOp(i, zero, "slt")).result
    shifted = b.insert(arith.AddiOp(i, constant(b, n, elem))).result
    i = b.insert(arith.SelectOp(negative, shifted, i)).result
    i = b.insert(arith.MinSIOp(i, constant(b, n - 1, elem))).result
    i = b.insert(arith.MaxSIOp(i, zero)).result
    return b.insert(arith.IndexCastOp(i, IndexType())).result


def loop_index(b: Builder, dim: int) -> SSAValue:
    """The generic's loop index along domain dimension `dim` (`tensor.index`)."""
    return b.insert(IndexOp(dim)).result


def _gather_generic(
    op: graph_gather.GatherBase,
    index_maps: Sequence[AffineMap],
    coordinates,
) -> Lowered:
    """One generic over `op`'s result domain: `ins` are the indices, once per map of
    `index_maps`; the body extracts `op.data` at `coordinates(builder, index_args)`."""
    t = op.result.type
    rank = len(t.get_shape())
    ins = [op.indices] * len(index_maps)
    data = op.data

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        at = coordinates(b, args[: len(index_maps)])
        return [b.insert(ExtractOp(data, at)).result]

    empty = EmptyOp(t)
    maps = [*index_maps, AffineMap.identity(rank)]
    gen = build_generic(ins, [empty.result], maps, [PARALLEL] * rank, body)
    return Lowered([empty, gen], [gen.res[0]])


def _dims(rank: int, dims: Sequence[int]) -> AffineMap:
    return AffineMap(rank, 0, tuple(AffineExpr.dimension(d) for d in dims))


@lowers(graph_gather.GatherOp)
def lower_gather(op: graph_gather.GatherOp) -> Lowered:
    """out[a, i, c] = data[a, clamp(indices[i]), c] (ONNX Gather)."""
    axis = op.normalized_axis()
    src = op.data.type.get_shape()
    q = len(op.indices.type.get_shape())
    rank = len(op.result.type.get_shape())

    def coordinates(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        before = [loop_index(b, d) for d in range(axis)]
        picked = clamped_index(b, args[0], src[axis])
        after = [loop_index(b, d) for d in range(axis + q, rank)]
        return [*before, picked, *after]

    return _gather_generic(op, [_dims(rank, range(axis, axis + q))], coordinates)


@lowers(graph_gather.GatherElementsOp)
def lower_gather_elements(op: graph_gather.GatherElementsOp) -> Lowered:
    """out[i] = data[i with i[axis] = clamp(indices[i])] (ONNX GatherElements)."""
    axis = op.normalized_axis()
    n = op.data.type.get_shape()[axis]
    rank = len(op.result.type.get_shape())

    def coordinates(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        return [
            clamped_index(b, args[0], n) if d == axis else loop_index(b, d) for d in range(rank)
        ]

    return _gather_generic(op, [AffineMap.identity(rank)], coordinates)


@lowers(graph_gather.GatherNDOp)
def lower_gather_nd(op: graph_gather.GatherNDOp) -> Lowered:
    """out[i, j] = data[i[:b], clamp(indices[i, 0]), ..., clamp(indices[i, k-1]), j]
    (ONNX GatherND with b = batch_dims)."""
    src = op.data.type.get_shape()
    idx = op.indices.type.get_shape()
    b_dims, k, q = op.batch, idx[-1], len(idx)
    rank = len(op.result.type.get_shape())
    lead = tuple(AffineExpr.dimension(d) for d in range(q - 1))
    maps = [AffineMap(rank, 0, (*lead, AffineExpr.constant(j))) for j in range(k)]

    def coordinates(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        batch = [loop_index(b, d) for d in range(b_dims)]
        picked = [clamped_index(b, a, src[b_dims + j]) for j, a in enumerate(args)]
        rest = [loop_index(b, d) for d in range(q - 1, rank)]
        return [*batch, *picked, *rest]

    return _gather_generic(op, maps, coordinates)
