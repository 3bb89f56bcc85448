"""The fused attention kernel: convert-tensor-to-loop's lowering of the generics that
graph.attention becomes (passes/graph_to_tensor/attention.py), one loop nest in which a
row of scores lives in a small buffer and never reaches memory as a matrix.

convert-graph-to-tensor lowers graph.attention to five generics (scores S = Q K^T; row
max M; E = exp(S * scale + mask - M) with row sum L; O = E V; O / L), the first marked
with the discardable attribute `irforge.attention` holding the scale. They state the
semantics (the interpreters run them as they are); this module recognizes the chain by
that mark and by its shape (each value used as the rule made it) and emits instead, per
batch point `b...` (parallel loops) a transposed copy K^T [d, Sk], then per block of n
query rows `i0 .. i0 + n - 1` (a parallel loop)::

    s[t, j] = sum_k Q[b, i0 + t, k] * K^T[k, j]          s: n x Sk floats (n <= 4)
    s[t, j] = exp(s[t, j] * scale + mask[b, i0 + t, j] - max_j(...));  l[t] = sum_j s[t, j]
    O[b, i0 + t, :] = sum_j s[t, j] * V[b, j, :] / l[t]

The two products are small register-blocked kernels written with vector ops: for each
block of `unroll` key vectors the n x unroll score accumulators stay in registers over k
(one load of K^T per vector, shared by the n rows), and the n x dv / vw output vectors
stay in registers over the keys (one load of V per vector, shared by the n rows); n is as
large as the register file allows (`_rows_per_block`). The scores of a block (n x Sk x 4
bytes: 2 KiB at Sk = 128, 16 KiB at 1024) stay in L1; no [Sq, Sk] matrix is written, K^T
and V are read from cache. The row max and sum carry the reassoc flag (base.REASSOC's
reasoning: LLVM vectorizes them).

If the chain is not intact (another pass rewrote part of it, a value has another use),
the SIMD width does not divide Sk and dv, or the rows are short (Sk < MIN_KEYS, where the
generics are as fast), `lower_attention` declines and the generics lower one by one.
The whole score row is kept (it is small), so no online rescaling is needed: the softmax
is the exact two-pass one, as in the reference.

Sources: Dao et al., "FlashAttention" (2022): tile the softmax so the scores stay in fast
memory; Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith, vector
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import Float32Type, FloatAttr, MemRefType, UnitAttr, VectorType
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Operation, SSAValue

from ...dialects import loop
from ...dialects.tensor import EmptyOp, GenericOp

MARK = "irforge.attention"
"""The discardable attribute on the scores generic of a lowered graph.attention: the scale
(an f32 FloatAttr)."""

REASSOC = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])

MIN_KEYS = 512
"""The kernel runs for Sk >= MIN_KEYS keys (and a SIMD width that divides Sk and dv).
Shorter rows keep the five generics, whose contractions run as packed GEMM microkernels:
there the [Sq, Sk] scores fit in cache anyway, and the generics are as fast or faster.
Medians of interleaved runs, 1 thread, AVX-512 (2 shared cores), generics vs this kernel:
[1, 8, 128, 64] 0.57 vs 0.63 ms; 256 keys 2.21 vs 2.33 ms; 512 keys 11.85 vs 11.88 ms;
1024 keys 45.6 vs 45.8 ms, the kernel without the 32 MiB of scores (scalar loops instead
of vector ones: 1.22 ms and 96 ms)."""


def _generic_users(v: SSAValue) -> list[GenericOp] | None:
    users = [u.operation for u in v.uses]
    return users if all(isinstance(u, GenericOp) for u in users) else None


def _chain(op: GenericOp) -> tuple[GenericOp, ...] | None:
    """(scores, max, exp_sum, pv, divide) generics starting at the marked `op`, or None
    when the chain is not as convert-graph-to-tensor made it."""
    users = _generic_users(op.res[0])
    if users is None or len(users) != 2:
        return None
    exp_sum = next((u for u in users if len(u.res) == 2), None)
    row_max = next((u for u in users if len(u.res) == 1), None)
    if exp_sum is None or row_max is None or row_max.res[0] not in exp_sum.ins:
        return None
    if not row_max.res[0].has_one_use():
        return None
    e, total = exp_sum.res
    pv = _generic_users(e)
    if pv is None or len(pv) != 1 or len(pv[0].ins) != 2 or pv[0].ins[0] is not e:
        return None
    div = _generic_users(pv[0].res[0])
    if div is None or len(div) != 1 or list(div[0].ins) != [pv[0].res[0], total]:
        return None
    if [u.operation for u in total.uses] != [div[0]]:
        return None
    return op, row_max, exp_sum, pv[0], div[0]


def _for(b: Builder, L, n: int, parallel: bool = False) -> tuple[Builder, SSAValue]:
    """A loop over range(n) inserted by `b`; a builder in its body and its variable."""
    for_op = b.insert(loop.ForOp(L.index(0), L.index(n), L.index(1)))
    if parallel:
        for_op.parallel = UnitAttr()
    term = loop.YieldOp()
    for_op.body.block.add_op(term)
    return Builder(InsertPoint.before(term)), for_op.body.block.args[0]


def _writers(L, buf: SSAValue) -> list[Operation] | None:
    """The top-level ops of the function being lowered that use `buf`, views of it
    (loop.reshape, as a flattened fill makes) after the loop nests using them; None if
    one is neither a loop nor a view."""
    loops: list[Operation] = []
    views: list[Operation] = []
    for use in buf.uses:
        top = use.operation
        while top.parent_block() is not L.block:
            top = top.parent_op()
        if isinstance(top, loop.ReshapeOp | loop.ViewOp) and top is use.operation:
            inner = _writers(L, top.result)
            if inner is None:
                return None
            loops += [o for o in inner if o not in loops]
            views.append(top)
        elif isinstance(top, loop.ForOp):
            if top not in loops:
                loops.append(top)
        else:
            return None
    return loops + views


def _drop_lowered_fill(L, buf: SSAValue) -> None:
    """Erase the local buffer `buf` and the loop nests that wrote it (the zero fill of the
    scores, lowered before the chain was seen), if nothing else uses it."""
    alloc = buf.owner
    ops = _writers(L, buf) if isinstance(alloc, loop.AllocOp) else None
    if ops is None:
        return
    for op in ops:
        op.detach()
        op.erase()
    L.allocs.remove(alloc)
    alloc.detach()
    alloc.erase()


@dataclass
class _Rows:
    """What the steps of a block of query rows share: the function lowering `L`, the
    builder of the block's body `b`, the batch variables `lead`, the block's first row
    `i0` and its number of rows `n`, the buffers, the sizes, the scale and mask (with its
    indexing map over (b..., i, j)), the SIMD width `vw`, the key vectors per score block
    `unroll` and the scratch: `row` (n x Sk scores), `acc` (n floats) and `vacc`
    (vectors, used at constant slots only, so that LLVM keeps them in registers)."""

    L: object
    b: Builder
    lead: list[SSAValue]
    i0: SSAValue
    n: int
    q: SSAValue
    k: SSAValue
    kt: SSAValue
    v: SSAValue
    mask: SSAValue | None
    mask_map: object
    scale: float
    out: SSAValue
    d: int
    sk: int
    dv: int
    vw: int
    unroll: int
    row: SSAValue
    acc: SSAValue
    vacc: SSAValue

    def const(self, bb: Builder, value: float) -> SSAValue:
        return bb.insert(arith.ConstantOp(FloatAttr(value, Float32Type()))).result

    def load(self, bb: Builder, buf: SSAValue, idx) -> SSAValue:
        return bb.insert(loop.LoadOp(buf, idx)).result

    def at(self, r: int) -> SSAValue:
        """The query row index i0 + r."""
        return self.b.insert(arith.AddiOp(self.i0, self.L.index(r))).result if r else self.i0

    def accumulate(self, bb: Builder, r: int, value: SSAValue, combine=arith.AddfOp) -> None:
        at = [self.L.index(r)]
        new = bb.insert(combine(self.load(bb, self.acc, at), value, flags=REASSOC)).result
        bb.insert(loop.StoreOp(new, self.acc, at))

    def fma_into(self, bb: Builder, slot: int, a: SSAValue, x: SSAValue) -> None:
        """vacc[slot] += a * x (vectors)."""
        at = self.L.index(slot)
        new = bb.insert(vector.FMAOp(a, x, self.load(bb, self.vacc, [at]))).res
        bb.insert(loop.StoreOp(new, self.vacc, [at]))

    def splat(self, bb: Builder, x: SSAValue) -> SSAValue:
        return bb.insert(vector.BroadcastOp(x, VectorType(Float32Type(), [self.vw]))).vector

    def zero_slots(self, bb: Builder, n: int) -> None:
        z = self.splat(bb, self.const(bb, 0.0))
        for slot in range(n):
            bb.insert(loop.StoreOp(z, self.vacc, [self.L.index(slot)]))


def _scores_vector(r: _Rows, rows: list[SSAValue]) -> None:
    """row[t, j0 : j0 + unroll * vw] = sum_k Q[b, i0 + t, k] * K^T[k, j0 : ...] per block
    of `unroll` key vectors: n x unroll accumulators in registers; per k, `unroll` loads
    of K^T (the transposed copy `kt`) shared by the n rows, one broadcast of Q per row."""
    L, width, u_n = r.L, r.vw * r.unroll, r.unroll
    bb, jb = _for(r.b, L, r.sk // width)
    j0 = bb.insert(arith.MuliOp(jb, L.index(width))).result
    offsets = [bb.insert(arith.AddiOp(j0, L.index(u * r.vw))).result for u in range(u_n)]
    r.zero_slots(bb, r.n * u_n)
    bk, kk = _for(bb, L, r.d)
    vt = VectorType(Float32Type(), [r.vw])
    keys = [bk.insert(vector.LoadOp(r.kt, [kk, off], vt)).result for off in offsets]
    for t, i in enumerate(rows):
        q = r.splat(bk, r.load(bk, r.q, [*r.lead, i, kk]))
        for u, key in enumerate(keys):
            r.fma_into(bk, t * u_n + u, q, key)
    for t in range(r.n):
        for u, off in enumerate(offsets):
            value = r.load(bb, r.vacc, [L.index(t * u_n + u)])
            bb.insert(vector.StoreOp(value, r.row, [L.index(t), off]))


def _softmax(r: _Rows, rows: list[SSAValue]) -> list[SSAValue]:
    """Per row t: row[t, j] = exp(row[t, j] * scale + mask - max); the row sums."""
    L, totals = r.L, []
    for t, i in enumerate(rows):
        at_t = L.index(t)
        r.b.insert(loop.StoreOp(r.const(r.b, -math.inf), r.acc, [at_t]))
        bj, j = _for(r.b, L, r.sk)
        s = bj.insert(arith.MulfOp(r.load(bj, r.row, [at_t, j]), r.const(bj, r.scale))).result
        if r.mask is not None:
            idx = [L.affine(bj, e, [*r.lead, i, j]) for e in r.mask_map.results]
            s = bj.insert(arith.AddfOp(s, r.load(bj, r.mask, idx))).result
        bj.insert(loop.StoreOp(s, r.row, [at_t, j]))
        r.accumulate(bj, t, s, arith.MaximumfOp)
        m = r.load(r.b, r.acc, [at_t])
        r.b.insert(loop.StoreOp(r.const(r.b, 0.0), r.acc, [at_t]))
        bj, j = _for(r.b, L, r.sk)
        x = bj.insert(arith.SubfOp(r.load(bj, r.row, [at_t, j]), m)).result
        e = bj.insert(xmath.ExpOp(x)).result
        bj.insert(loop.StoreOp(e, r.row, [at_t, j]))
        r.accumulate(bj, t, e)
        totals.append(r.load(r.b, r.acc, [at_t]))
    return totals


def _output_vector(r: _Rows, rows: list[SSAValue], totals: list[SSAValue]) -> None:
    """O[b, i0 + t, :] = sum_j row[t, j] V[b, j, :] / l[t], the n x dv / vw output vectors
    in registers across the keys; per key, dv / vw loads of V shared by the n rows."""
    L, nv = r.L, r.dv // r.vw
    vt = VectorType(Float32Type(), [r.vw])
    r.zero_slots(r.b, r.n * nv)
    bj, j = _for(r.b, L, r.sk)
    values = [
        bj.insert(vector.LoadOp(r.v, [*r.lead, j, L.index(c * r.vw)], vt)).result for c in range(nv)
    ]
    for t in range(r.n):
        p = r.splat(bj, r.load(bj, r.row, [L.index(t), j]))
        for c, value in enumerate(values):
            r.fma_into(bj, t * nv + c, p, value)
    for t, (i, total) in enumerate(zip(rows, totals)):
        inv = r.splat(r.b, total)
        for c in range(nv):
            o = r.b.insert(arith.DivfOp(r.load(r.b, r.vacc, [L.index(t * nv + c)]), inv)).result
            r.b.insert(vector.StoreOp(o, r.out, [*r.lead, i, L.index(c * r.vw)]))


def _row_block(r: _Rows) -> None:
    """The kernel for the n query rows from r.i0: scores, softmax, output."""
    rows = [r.at(t) for t in range(r.n)]
    _scores_vector(r, rows)
    totals = _softmax(r, rows)
    _output_vector(r, rows, totals)


def _rows_per_block(vw: int, dv: int, unroll: int) -> int:
    """Query rows per block: as many as keep the accumulators (rows x max(unroll, dv/vw)
    vectors) and the shared vectors in the register file (32 with 16 lanes, AVX-512; 16
    otherwise), at most 4."""
    regs = 32 if vw >= 16 else 16
    per_row = max(unroll, dv // vw)
    return max(1, min(4, (regs - per_row) // per_row))


def lower_attention(L, op: GenericOp) -> bool:
    """Emit the fused kernel at `L.b` for the attention chain `op` heads (module docs) and
    mark the rest of the chain lowered; return False, emitting nothing, when `op` is not
    a marked, intact chain or has fewer than `MIN_KEYS` keys. `L` is
    convert-tensor-to-loop's function lowering."""
    mark = op.attributes.get(MARK)
    if not isinstance(mark, FloatAttr):
        return False
    chain = _chain(op)
    if chain is None:
        return False
    scores, row_max, exp_sum, pv, div = chain
    q, k = (L.vmap[v] for v in scores.ins)
    v = L.vmap[pv.ins[1]]
    mask = L.vmap[row_max.ins[1]] if len(row_max.ins) == 2 else None
    q_shape, k_shape, v_shape = (x.type.get_shape() for x in (q, k, v))
    batch, sq, d = q_shape[:-2], q_shape[-2], q_shape[-1]
    sk, dv = k_shape[-2], v_shape[-1]
    vw = L.blocking.vw if L.blocking is not None else 0
    if vw < 2 or sk % vw or dv % vw or sk < MIN_KEYS:
        return False
    f32 = Float32Type()
    out = L.alloc(MemRefType(f32, [*batch, sq, dv]))
    _drop_lowered_fill(L, L.vmap[scores.outs[0]])
    unroll = next(u for u in (4, 2, 1) if sk % (vw * u) == 0)
    per_block = _rows_per_block(vw, dv, unroll)

    b, lead = L.b, []
    for n in batch:
        b, iv = _for(b, L, n, parallel=True)
        lead.append(iv)
    # K^T, once per batch point, so that a vector of keys is contiguous; the stores are
    # contiguous (LLVM gathers the loads).
    kt = b.insert(loop.AllocOp(MemRefType(f32, [d, sk]))).result
    bk, kk = _for(b, L, d)
    bj, j = _for(bk, L, sk)
    bj.insert(loop.StoreOp(bj.insert(loop.LoadOp(k, [*lead, j, kk])).result, kt, [kk, j]))

    def block(bb: Builder, i0: SSAValue, n: int) -> None:
        row = bb.insert(loop.AllocOp(MemRefType(f32, [n, sk]))).result
        acc = bb.insert(loop.AllocOp(MemRefType(f32, [n]))).result
        slots = n * max(unroll, dv // vw)
        vacc = bb.insert(loop.AllocOp(MemRefType(VectorType(f32, [vw]), [slots]))).result
        mask_map = row_max.maps[1] if mask is not None else None
        scale = mark.value.data
        sizes = (d, sk, dv, vw, unroll)
        r = _Rows(
            L, bb, lead, i0, n, q, k, kt, v, mask, mask_map, scale, out, *sizes, row, acc, vacc
        )
        _row_block(r)
        for buf in (vacc, acc, row):
            bb.insert(loop.DeallocOp(buf))

    full, rest = divmod(sq, per_block)
    if full:
        bb, ib = _for(b, L, full, parallel=True)
        block(bb, bb.insert(arith.MuliOp(ib, L.index(per_block))).result, per_block)
    if rest:
        bb, ir = _for(b, L, rest, parallel=True)
        block(bb, bb.insert(arith.AddiOp(ir, L.index(full * per_block))).result, 1)
    b.insert(loop.DeallocOp(kt))

    L.vmap[div.res[0]] = out
    for g in (row_max, exp_sum, pv, div):
        L.fused.add(g)
        for init in g.outs:
            owner = init.owner
            if isinstance(owner, GenericOp | EmptyOp) and init.has_one_use():
                L.fused.add(owner)
                if isinstance(owner, GenericOp):  # a fill: its tensor.empty too
                    L.fused.update(x.owner for x in owner.outs if isinstance(x.owner, EmptyOp))
    return True
