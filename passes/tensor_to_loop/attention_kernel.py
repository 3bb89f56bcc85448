"""The fused attention kernel: convert-tensor-to-loop's lowering of the generics that
graph.attention becomes (passes/graph_to_tensor/attention.py), one loop nest in which a
row of scores lives in a small buffer and never reaches memory as a matrix.

convert-graph-to-tensor lowers graph.attention to five generics (scores S = Q K^T; row
max M; E = exp(S * scale + mask - M) with row sum L; O = E V; O / L), the first marked
with the discardable attribute `irforge.attention` holding the scale. They state the
semantics (the interpreters run them as they are); this module recognizes the chain by
that mark and by its shape (each value used as the rule made it) and emits instead, per
batch point `b...` and query row `i` (both parallel loops)::

    s[j] = sum_k Q[b, i, k] * K[b, j, k] * scale + mask[b, i, j]   for j < Sk  (s: Sk floats)
    m = max_j s[j];  s[j] = exp(s[j] - m);  l = sum_j s[j]
    O[b, i, :] = sum_j s[j] * V[b, j, :];  O[b, i, :] /= l

so each step reads the row buffer `s` (Sk * 4 bytes: 512 B at Sk = 128, 4 KiB at 1024)
from L1 instead of a [Sq, Sk] matrix from memory, and the rows of K and V are read from
cache by consecutive rows. The sums carry the reassoc flag (base.REASSOC's reasoning:
LLVM then vectorizes them). If the chain is not intact (another pass rewrote part of it,
a value has another use) or the rows are short (fewer than `MIN_KEYS` keys, where the
generics' GEMM microkernels are faster), `lower_attention` declines and the generics lower
one by one.

Sources: Dao et al., "FlashAttention" (2022): tile the softmax so the scores stay in fast
memory; Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018).
"""

from __future__ import annotations

import math

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import Float32Type, FloatAttr, MemRefType, UnitAttr
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Operation, SSAValue

from ...dialects import loop
from ...dialects.tensor import EmptyOp, GenericOp

MARK = "irforge.attention"
"""The discardable attribute on the scores generic of a lowered graph.attention: the scale
(an f32 FloatAttr)."""

REASSOC = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])

MIN_KEYS = 512
"""The kernel runs for Sk >= MIN_KEYS keys; shorter rows keep the five generics, whose
contractions run as packed GEMM microkernels and beat this kernel's vector loops while the
[Sq, Sk] scores fit in cache. Measured at 1 thread (load average ~7 on 2 cores, medians):
[1, 8, 128, 64] 0.63 ms as generics, 1.08 ms as this kernel; [1, 8, 1024, 64] 188 ms as
generics, 135 ms as this kernel."""


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
    mask_map = row_max.maps[1] if mask is not None else None
    q_shape, k_shape, v_shape = (x.type.get_shape() for x in (q, k, v))
    batch, sq, d = q_shape[:-2], q_shape[-2], q_shape[-1]
    sk, dv = k_shape[-2], v_shape[-1]
    if sk < MIN_KEYS:
        return False
    f32 = Float32Type()
    out = L.alloc(MemRefType(f32, [*batch, sq, dv]))
    _drop_lowered_fill(L, L.vmap[scores.outs[0]])

    b, lead = L.b, []
    for n in batch:
        b, iv = _for(b, L, n, parallel=True)
        lead.append(iv)
    b, i = _for(b, L, sq, parallel=True)
    row = b.insert(loop.AllocOp(MemRefType(f32, [sk]))).result
    acc = b.insert(loop.AllocOp(MemRefType(f32, [1]))).result
    zero_i = L.index(0)

    def const(bb: Builder, value: float) -> SSAValue:
        return bb.insert(arith.ConstantOp(FloatAttr(value, f32))).result

    def load(bb: Builder, buf: SSAValue, idx) -> SSAValue:
        return bb.insert(loop.LoadOp(buf, idx)).result

    def accumulate(bb: Builder, value: SSAValue, combine=arith.AddfOp) -> None:
        old = load(bb, acc, [zero_i])
        new = bb.insert(combine(old, value, flags=REASSOC)).result
        bb.insert(loop.StoreOp(new, acc, [zero_i]))

    # s[j] = (Q[b, i, :] . K[b, j, :]) * scale + mask
    bj, j = _for(b, L, sk)
    bj.insert(loop.StoreOp(const(bj, 0.0), acc, [zero_i]))
    bk, kk = _for(bj, L, d)
    prod = bk.insert(arith.MulfOp(load(bk, q, [*lead, i, kk]), load(bk, k, [*lead, j, kk]))).result
    accumulate(bk, prod)
    s = bj.insert(arith.MulfOp(load(bj, acc, [zero_i]), const(bj, mark.value.data))).result
    if mask is not None:
        idx = [L.affine(bj, e, [*lead, i, j]) for e in mask_map.results]
        s = bj.insert(arith.AddfOp(s, load(bj, mask, idx))).result
    bj.insert(loop.StoreOp(s, row, [j]))

    # m = max_j s[j]
    b.insert(loop.StoreOp(const(b, -math.inf), acc, [zero_i]))
    bj, j = _for(b, L, sk)
    accumulate(bj, load(bj, row, [j]), arith.MaximumfOp)
    m = load(b, acc, [zero_i])

    # s[j] = exp(s[j] - m); l = sum_j s[j]
    b.insert(loop.StoreOp(const(b, 0.0), acc, [zero_i]))
    bj, j = _for(b, L, sk)
    e = bj.insert(xmath.ExpOp(bj.insert(arith.SubfOp(load(bj, row, [j]), m)).result)).result
    bj.insert(loop.StoreOp(e, row, [j]))
    accumulate(bj, e)
    total = load(b, acc, [zero_i])

    # O[b, i, :] = sum_j s[j] V[b, j, :], then / l
    bc, c = _for(b, L, dv)
    bc.insert(loop.StoreOp(const(bc, 0.0), out, [*lead, i, c]))
    bj, j = _for(b, L, sk)
    p = load(bj, row, [j])
    bc, c = _for(bj, L, dv)
    pv_v = bc.insert(arith.MulfOp(p, load(bc, v, [*lead, j, c]))).result
    o = bc.insert(arith.AddfOp(load(bc, out, [*lead, i, c]), pv_v)).result
    bc.insert(loop.StoreOp(o, out, [*lead, i, c]))
    bc, c = _for(b, L, dv)
    o = bc.insert(arith.DivfOp(load(bc, out, [*lead, i, c]), total)).result
    bc.insert(loop.StoreOp(o, out, [*lead, i, c]))
    b.insert(loop.DeallocOp(acc))
    b.insert(loop.DeallocOp(row))

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
