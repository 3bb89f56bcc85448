"""The layout transforms of NCHW[x]c (`graph.pack`, `graph.unpack`) as in-register
transposes of v-by-v tiles (v: the vector width), for a block x that is a multiple of v.

passes/graph_to_tensor/layout.py lowers both to copy generics: pack reads `in[n, cb * x + l,
s...]` for `out[n, cb, s..., l]`, unpack reads `in[n, c floordiv x, s..., c mod x]` for
`out[n, c, s...]`. As plain loops one side of each copy is a gather (stride H*W for pack,
stride x for unpack), several times slower than `np.copyto` of the same bytes. Seen with
the spatial dims flattened to P positions, both are a transpose of an x-by-P matrix per
(n, cb): planar `[x, P]` (channel rows) and blocked `[P, x]` (pixel rows).
convert-tensor-to-loop hands the copy generic to `lower_layout_copy`, which emits, for
each (n, cb) (a parallel loop), each tile of v positions and each group of v channels of
the block:

    r_c = vector.load src[row c of the tile]      c = 0 .. v - 1   (v contiguous floats)
    w   = transpose(r)                            log2(v) rounds of v `vector.shuffle`s
    vector.store w_j, dst[row j of the tile]      j = 0 .. v - 1

The transpose interleaves rows i and i + v/2 (low halves into row 2i, high halves into
row 2i + 1) log2(v) times: each round applies the perfect shuffle to the bits of the row
index, so after log2(v) rounds element (r, c) sits at (c, r). The last tile starts at
P - v, overlapping the one before when v does not divide P (a copy writes the same values
twice). Only for a block that is a multiple of v, P >= v and a body that is a plain copy
(a pack or unpack fused with elementwise ops keeps the generic loops). The tiles bring both
close to `np.copyto` of the same bytes (figures: docs/benchmarks.md, 'Design measurements').

Source: the shuffle network of the in-register matrix transpose (e.g. Intel's
`_MM_TRANSPOSE4_PS`, generalized), and the NCHW[x]c transforms of TVM's x86 schedules
(`layout_transform`) and ONNX Runtime's `ReorderInput`/`ReorderOutput`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import vector
from xdsl.dialects.builtin import DenseArrayBase, MemRefType, VectorType, f32, i64
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ....dialects import loop
from ....dialects.tensor import GenericOp, YieldOp
from .blocking import Blocking
from .emitter import IndexEmitter, thread_count


@dataclass(frozen=True)
class LayoutCopy:
    """A recognized pack (`planar -> blocked`) or unpack: N x CB blocks of x channels over
    P spatial positions."""

    pack: bool
    n: int
    cb: int
    x: int
    p: int


def _d(i: int) -> AffineExpr:
    return AffineExpr.dimension(i)


def match_layout_copy(op: GenericOp) -> LayoutCopy | None:
    """The pack/unpack copy generic of lower_graph_layout.py (exactly its indexing maps,
    f32, a body that yields its input), else None."""
    if len(op.ins) != 1 or len(op.outs) != 1 or any(t != "parallel" for t in op.iterators):
        return None
    block = op.body.block
    body = list(block.ops)
    if len(body) != 1 or not isinstance(body[0], YieldOp) or body[0].values != (block.args[0],):
        return None
    src_t, dst_t = op.ins[0].type, op.outs[0].type
    if src_t.element_type != f32 or dst_t.element_type != f32:
        return None
    src, dst = src_t.get_shape(), dst_t.get_shape()
    in_map, out_map = op.maps
    rank = len(dst)
    if out_map != AffineMap.identity(rank) or rank < 3:
        return None
    if len(src) == rank - 1:  # pack: dst [N, CB, S..., x], src [N, CB * x, S...]
        x = dst[-1]
        spatial = tuple(_d(i) for i in range(2, rank - 1))
        if in_map == AffineMap(rank, 0, (_d(0), _d(1) * x + _d(rank - 1), *spatial)):
            return LayoutCopy(True, dst[0], dst[1], x, math.prod(dst[2:-1]))
    if len(src) == rank + 1:  # unpack: src [N, CB, S..., x], dst [N, CB * x, S...]
        x = src[-1]
        spatial = tuple(_d(i) for i in range(2, rank))
        if in_map == AffineMap(rank, 0, (_d(0), _d(1) // x, *spatial, _d(1) % x)):
            return LayoutCopy(False, src[0], src[1], x, math.prod(src[2:-1]))
    return None


def transpose(b: Builder, rows: Sequence[SSAValue], vt: VectorType) -> list[SSAValue]:
    """The transpose of the square matrix whose rows are `rows` (len(rows) = lanes of
    `vt`, a power of two), as `vector.shuffle`s (module docs)."""
    n = len(rows)
    half = n // 2
    lo = DenseArrayBase.from_list(i64, [k // 2 + (n if k % 2 else 0) for k in range(n)])
    hi = DenseArrayBase.from_list(i64, [half + k // 2 + (n if k % 2 else 0) for k in range(n)])
    rows = list(rows)
    for _ in range(n.bit_length() - 1):
        new: list[SSAValue] = []
        for i in range(half):
            a, c = rows[i], rows[i + half]
            new.append(b.insert(vector.ShuffleOp(a, c, lo, result_type=vt)).result)
            new.append(b.insert(vector.ShuffleOp(a, c, hi, result_type=vt)).result)
        rows = new
    return rows


def lower_layout_copy(L, op: GenericOp, bufs: Sequence[SSAValue], blk: Blocking) -> bool:
    """Emit the transposing lowering of `op` at `L.b` when it is a pack or unpack copy whose
    block is a multiple of the vector width, over at least a vector's worth of positions;
    return whether it did."""
    lc = match_layout_copy(op)
    v = blk.vw
    if lc is None or v < 2 or v & (v - 1) or lc.x % v or lc.p < v:
        return False
    x, p = lc.x, lc.p
    total = lc.n * lc.cb * x * p
    ir = IndexEmitter(L, L.b)
    src, dst = (ir.b.insert(loop.ReshapeOp(buf, MemRefType(f32, [total]))).result for buf in bufs)
    vt = VectorType(f32, [v])
    body, q = ir.loop(0, lc.n * lc.cb, parallel=thread_count(L.module) > 1)
    base = body.mul(q, x * p)  # both layouts: block (n, cb) is x * P contiguous floats
    tile, t = body.loop(0, -(-p // v))
    p0 = tile.min(tile.mul(t, v), p - v)
    row0 = tile.add(base, p0)  # planar: channel c of the tile at row0 + c * P
    at = tile.add(base, tile.mul(p0, x))  # blocked: position j at at + j * x
    for h in range(0, x, v):  # channels h .. h + v - 1: one v x v transpose
        planar = [tile.add(row0, (h + c) * p) for c in range(v)]
        blocked = [tile.add(at, j * x + h) for j in range(v)]
        loads, stores = (planar, blocked) if lc.pack else (blocked, planar)
        rows = [tile.b.insert(vector.LoadOp(src, [off], vt)).result for off in loads]
        for w, off in zip(transpose(tile.b, rows, vt), stores):
            tile.b.insert(vector.StoreOp(w, dst, [off]))
    return True
