"""convert-graph-to-tensor rule for graph.attention (dialects/graph/attention.py).

`softmax(Q K^T * scale + mask) V` over batch dims `b...`, query rows `i`, keys `j`, head
size `k` and value columns `c`, as five generics that never form the probabilities'
normalized matrix nor a transposed copy of K:

    S[b, i, j]  = sum_k Q[b, i, k] * K[b, j, k]            contraction (K read as [j, k])
    M[b, i]     = max_j (S[b, i, j] * scale + mask[b, i, j])
    E[b, i, j]  = exp(S[b, i, j] * scale + mask[b, i, j] - M[b, i])    one generic with
    L[b, i]     = sum_j E[b, i, j]                                     two results
    O[b, i, c]  = sum_j E[b, i, j] * V[b, j, c]              contraction
    R[b, i, c]  = O[b, i, c] / L[b, i]

The scale and the mask are applied inside the max and the exp (no pass of their own over
the scores), and the division by the row sum is done on the [Sq, dv] output rather than on
the [Sq, Sk] probabilities (equal in exact arithmetic; the result rounds differently from
the unfused graph by an ulp or so). The mask is read through its broadcast map. The two
contractions have the form the microkernel lowering recognizes, batch dims outer.

Sources: Vaswani et al. 2017 (eq. 1); the row-max subtraction as in ONNX Softmax; dividing
the output by the row sum at the end as in FlashAttention (Dao et al. 2022, algorithm 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import FloatAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.graph.attention import AttentionOp
from ...dialects.tensor import PARALLEL, REDUCTION, EmptyOp, build_generic
from .base import REASSOC, Lowered, broadcast_map, constant, fill, lowers, multiply_add


@lowers(AttentionOp)
def lower_attention(op: AttentionOp) -> Lowered:
    """graph.attention as the five generics of the module docstring."""
    ops: list[Operation] = []
    q_shape = op.query.type.get_shape()
    elem = op.query.type.element_type
    batch, sq, sk = tuple(q_shape[:-2]), q_shape[-2], op.key.type.get_shape()[-2]
    nb = len(batch)
    scale = op.scale.value.data
    mask = op.mask
    scores_t = TensorType(elem, [*batch, sq, sk])
    rows_t = TensorType(elem, [*batch, sq])
    dim = AffineExpr.dimension
    lead = tuple(dim(d) for d in range(nb))
    i, j = dim(nb), dim(nb + 1)

    # S = Q K^T over (b..., i, j, k).
    kd = dim(nb + 2)
    maps = [AffineMap(nb + 3, 0, r) for r in ((*lead, i, kd), (*lead, j, kd), (*lead, i, j))]
    gen = build_generic(
        [op.query, op.key],
        [fill(ops, scores_t, 0.0)],
        maps,
        [PARALLEL] * (nb + 2) + [REDUCTION],
        multiply_add,
    )
    # The mark by which convert-tensor-to-loop recognizes the chain and runs it as one
    # kernel (passes/tensor_to_loop/attention_kernel.py); the generics keep their meaning.
    gen.attributes["irforge.attention"] = FloatAttr(scale, elem)
    ops.append(gen)
    s = gen.res[0]

    # Over (b..., i, j): the scores' map, the mask's, the row's.
    full = AffineMap.identity(nb + 2)
    row = AffineMap(nb + 2, 0, (*lead, i))
    ins, in_maps = [s], [full]
    if mask is not None:
        ins.append(mask)
        in_maps.append(broadcast_map(mask.type.get_shape(), scores_t.get_shape()))

    def logit(b: Builder, a: Sequence[SSAValue]) -> SSAValue:
        v = b.insert(arith.MulfOp(a[0], constant(b, scale, elem))).result
        return b.insert(arith.AddfOp(v, a[1])).result if mask is not None else v

    def row_max(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.MaximumfOp(a[-1], logit(b, a))).result]

    reduce_iters = [PARALLEL] * (nb + 1) + [REDUCTION]
    gen = build_generic(ins, [fill(ops, rows_t, -math.inf)], [*in_maps, row], reduce_iters, row_max)
    ops.append(gen)
    m = gen.res[0]

    def exp_sum(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        d = b.insert(arith.SubfOp(logit(b, a), a[-3])).result
        e = b.insert(xmath.ExpOp(d)).result
        return [e, b.insert(arith.AddfOp(a[-1], e, flags=REASSOC)).result]

    # E and L in one pass over the scores: E is written at every (i, j), L accumulated.
    empty = EmptyOp(scores_t)
    gen = build_generic(
        [*ins, m],
        [empty.result, fill(ops, rows_t, 0.0)],
        [*in_maps, row, full, row],
        reduce_iters,
        exp_sum,
    )
    ops += [empty, gen]
    e, total = gen.res

    # O = E V over (b..., i, c, j), then O / L over (b..., i, c).
    c, jr = dim(nb + 1), dim(nb + 2)
    out_t = op.result.type
    maps = [AffineMap(nb + 3, 0, r) for r in ((*lead, i, jr), (*lead, jr, c), (*lead, i, c))]
    iters = [PARALLEL] * (nb + 2) + [REDUCTION]
    gen = build_generic([e, op.value], [fill(ops, out_t, 0.0)], maps, iters, multiply_add)
    ops.append(gen)

    def divide(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.DivfOp(a[0], a[1])).result]

    empty = EmptyOp(out_t)
    maps = [full, row, full]
    gen = build_generic([gen.res[0], total], [empty.result], maps, [PARALLEL] * (nb + 2), divide)
    ops += [empty, gen]
    return Lowered(ops, [gen.res[0]])
