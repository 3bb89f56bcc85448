"""A matmul's pointwise consumer run as the GEMM microkernel's epilogue (lower.py).

When a contraction's result has one user, a pointwise generic (a bias add; bias + residual
add, which tensor-fuse-elementwise makes one generic) that reads it once through the
identity map and whose other inputs are already computed (or constants), the last K
block's kernels store each tile as the consumer's body applied to `C + acc`, in place: one
pass over the output instead of two, the tile still in registers. Edge tiles apply the body
element by element as they copy the tile back. convert-tensor-to-loop then skips the
consumer (`L.fused`).

The consumer's other inputs, each read through its map over the output's dims:

- `full`: the identity map, the output's type: read at C's offset (a residual);
- `col`: the column dim alone, zeros elsewhere (a bias of shape [N] or [1, ..., N]): read
  at the column, `N` contiguous floats;
- `scalar`: constant indices only (a rank-0 constant): one float, splat.

The contraction needs one column dim, contiguous in C (a matmul; not a convolution), and
the body ELEMENTWISE ops (passes/loop/schedule/vectorize.py) on f32 and f32 constants.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import IndexType, IntegerAttr, MemRefType, VectorType, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from ....dialects import loop
from ....dialects.tensor import PARALLEL, EmptyOp, GenericOp, YieldOp
from ...loop.schedule.vectorize import ELEMENTWISE
from .contraction import Contraction

FULL, COL, SCALAR = "full", "col", "scalar"

_OPS = (arith.ConstantOp, *ELEMENTWISE)


@dataclass
class GemmEpilogue:
    """The consumer `op` of a contraction's result (module docs): the index of its input
    that reads the result, its other inputs with their kinds, their flat buffers (set by
    `bind`) and the vector width."""

    op: GenericOp
    result_input: int
    others: tuple[SSAValue, ...]
    kinds: tuple[str, ...]
    vw: int
    flats: tuple[SSAValue, ...] = ()

    @property
    def key(self) -> str:
        text = ";".join(
            f"{o.name}:{[str(v.type) for v in o.operands]}:{o.properties.get('value', '')}"
            for o in self.op.body.block.ops
        )
        text += f"|{self.result_input}|{self.kinds}|{[str(f.type) for f in self.flats]}"
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def arg_types(self) -> list[Attribute]:
        """The kernel's extra arguments: the flat buffers, then the column offset."""
        return [f.type for f in self.flats] + ([IndexType()] if COL in self.kinds else [])

    def bind(self, L) -> None:
        """Flatten the other inputs' buffers at `L.b` (lowering the constants not lowered
        yet) and mark the consumer and its tensor.empty as computed."""
        flats = []
        for v in self.others:
            if v not in L.vmap:  # a constant defined after the contraction: lower it here
                L.constant(v.owner)
                L.fused.add(v.owner)
            buf = L.vmap[v]
            size = math.prod(buf.type.get_shape())
            flats.append(L.b.insert(loop.ReshapeOp(buf, MemRefType(f32, [size]))).result)
        self.flats = tuple(flats)
        L.fused.add(self.op)
        empty = self.op.outs[0].owner
        if isinstance(empty, EmptyOp) and empty.result.has_one_use():
            L.fused.add(empty)

    def call_args(self, col0: SSAValue) -> list[SSAValue]:
        """The kernel's extra arguments for a tile whose first column is `col0`."""
        return [*self.flats, *([col0] if COL in self.kinds else [])]

    def apply(
        self, b: Builder, value: SSAValue, args: Sequence[SSAValue], c_at: SSAValue, lane: int
    ) -> SSAValue:
        """The body on vectors (sgemm_kernel.Epilogue): `args` the kernel's extra
        arguments, `c_at` the vector's offset in C, `lane` its column in the tile."""
        vt = VectorType(f32, [self.vw])
        col0 = args[-1] if COL in self.kinds else None

        def load(k: int) -> SSAValue:
            buf, kind = args[k], self.kinds[k]
            if kind == FULL:
                return b.insert(vector.LoadOp(buf, [c_at], vt)).result
            if kind == COL:
                at = col0
                if lane:
                    off = b.insert(arith.ConstantOp(IntegerAttr(lane, IndexType()))).result
                    at = b.insert(arith.AddiOp(col0, off)).result
                return b.insert(vector.LoadOp(buf, [at], vt)).result
            zero = b.insert(arith.ConstantOp(IntegerAttr(0, IndexType()))).result
            s = b.insert(loop.LoadOp(buf, [zero])).result
            return b.insert(vector.BroadcastOp(s, vt)).vector

        return self._body(b, value, load, vt)

    def apply_scalar(self, e, value: SSAValue, c_at: SSAValue, col: SSAValue) -> SSAValue:
        """The body on one element at C offset `c_at`, column `col` (IndexEmitter `e`):
        the edge tiles."""

        def load(k: int) -> SSAValue:
            kind = self.kinds[k]
            at = c_at if kind == FULL else col if kind == COL else e.c(0)
            return e.b.insert(loop.LoadOp(self.flats[k], [at])).result

        return self._body(e.b, value, load, None)

    def _body(self, b: Builder, value: SSAValue, load, vt: VectorType | None) -> SSAValue:
        block = self.op.body.block
        vals: dict[SSAValue, SSAValue] = {}
        k = 0
        for i, arg in enumerate(block.args[: len(self.op.ins)]):
            if i == self.result_input:
                vals[arg] = value
            else:
                vals[arg] = load(k)
                k += 1
        for inner in block.ops:
            if isinstance(inner, YieldOp):
                return vals[inner.values[0]]
            if isinstance(inner, arith.ConstantOp):
                scalar = b.insert(inner.clone()).result
                if vt is not None:
                    scalar = b.insert(vector.BroadcastOp(scalar, vt)).vector
                vals[inner.result] = scalar
                continue
            new = type(inner).create(
                operands=[vals[o] for o in inner.operands],
                result_types=[vt or r.type for r in inner.results],
                properties=dict(inner.properties),
                attributes=dict(inner.attributes),
            )
            vals[inner.results[0]] = b.insert(new).results[0]
        raise AssertionError("generic body without a yield")


def _kind(amap: AffineMap, shape: Sequence[int], col_pos: int, n: int) -> str | None:
    """The kind (module docs) of an input read through `amap` over the output's dims."""
    res = amap.results
    if all(isinstance(x, AffineConstantExpr) and x.value == 0 for x in res):
        return SCALAR
    if amap == AffineMap.identity(amap.num_dims):
        return FULL
    lead, last = res[:-1], res[-1] if res else None
    if (
        isinstance(last, AffineDimExpr)
        and last.position == col_pos
        and shape[-1] == n
        and all(isinstance(x, AffineConstantExpr) and x.value == 0 for x in lead)
    ):
        return COL
    return None


def epilogue_input(con: Contraction, user: GenericOp) -> tuple[int, tuple[str, ...]] | None:
    """(the index of `user`'s input that reads contraction `con`'s result, the kinds of its
    other inputs in order), when `user` can run as its epilogue (module docs) given that
    its other inputs are computed first; else None. Checked at the tensor level too:
    tensor-fuse-elementwise keeps such a consumer for the epilogue instead of fusing it
    into the next contraction's packing."""
    op = con.op
    out = op.maps[-1].results
    if len(con.cols) != 1 or not isinstance(out[-1], AffineDimExpr):
        return None
    if out[-1].position != con.cols[0]:  # the column dim is not C's contiguous one
        return None
    res = op.res[0]
    uses = list(res.uses)
    if len(uses) != 1 or uses[0].operation is not user:
        return None
    if len(user.outs) != 1 or user.res[0].type != res.type or list(user.ins).count(res) != 1:
        return None
    rank = len(res.type.get_shape())
    identity = AffineMap.identity(rank)
    if any(kind != PARALLEL for kind in user.iterators) or user.maps[-1] != identity:
        return None
    at = list(user.ins).index(res)
    block = user.body.block
    if user.maps[at] != identity or block.args[len(user.ins)].uses:
        return None
    for inner in list(block.ops)[:-1]:
        if not isinstance(inner, _OPS) or any(r.type != f32 for r in inner.results):
            return None
    kinds = []
    for i, v in enumerate(user.ins):
        t = v.type
        if i == at:
            continue
        if getattr(t, "element_type", None) != f32:
            return None
        kind = _kind(user.maps[i], t.get_shape(), rank - 1, con.n)
        if kind is None or (kind == FULL and t != res.type):
            return None
        kinds.append(kind)
    return at, tuple(kinds)


def find_gemm_epilogue(L, con: Contraction, c_stride: dict[int, int], vw: int):
    """The GemmEpilogue of contraction `con` (C strides by domain dim `c_stride`), or None
    when its result's user is not such a consumer (module docs)."""
    if len(con.cols) != 1 or c_stride[con.cols[0]] != 1:
        return None
    uses = list(con.op.res[0].uses)
    if len(uses) != 1 or not isinstance(user := uses[0].operation, GenericOp):
        return None
    found = epilogue_input(con, user)
    if found is None:
        return None
    at, kinds = found
    others = tuple(v for i, v in enumerate(user.ins) if i != at)
    if not all(v in L.vmap or isinstance(v.owner, arith.ConstantOp) for v in others):
        return None  # an input computed after the contraction
    return GemmEpilogue(user, at, others, kinds, vw)
