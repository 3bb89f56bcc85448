"""`graph-fuse-attention`: recognize scaled dot-product attention and make it one
`graph.attention` (dialects/graph/attention.py), which convert-graph-to-tensor lowers to a
fused kernel that keeps each row of scores in cache.

The pattern, as both torch exporters write it (TorchScript and dynamo; BERT, DistilBERT,
GPT-2, ViT), rooted at the second matmul:

    %kt = "graph.transpose"(%k0) <{perm = array<i64: 0, 2, 3, 1>}>   // K^T, any perm
    %s  = "graph.matmul"(%q, %kt)          // [..., Sq, d] x [..., d, Sk]
    %t  = "graph.mul"(%s, %c)              // or graph.div by sqrt(d): a scalar constant
    %u  = "graph.add"(%t, %mask)           // optional additive mask (either operand order)
    %p  = "graph.softmax"(%u) <{axis = -1}>   // the last axis, as a negative or positive
    %o  = "graph.matmul"(%p, %v)           // [..., Sq, Sk] x [..., Sk, dv]

becomes

    %k = "graph.transpose"(%k0) <{perm = array<i64: 0, 2, 1, 3>}>   // K as [..., Sk, d]
    %o = "graph.attention"(%q, %k, %v, %mask) <{scale = c}>

The scale may also be applied to Q and to K^T (or K) separately, each by a graph.mul or
graph.div with a scalar constant (torch's scaled_dot_product_attention traced with
sqrt(scale) on both sides); the scales multiply. K^T's transpose, when its perm swaps the
last two dims of some permutation, is composed with that swap (the identity perm then
leaves no transpose); any other K^T gets a transpose of its last two dims.

Guards (each one stops the rewrite, leaving the graph as it was): at least `min-keys` keys
(option, default 0; the default pipelines set 512); every tensor f32; Q,
K^T and V of one rank >= 2 with the same batch dims (no broadcast); the scores, scaled
scores, masked scores and probabilities each used once (a second use needs them in
memory); softmax on the last axis; each scale a graph.constant of one element; the mask
broadcasting to the scores' shape without enlarging it.

Statistics (`--pass-statistics`): `attention-fused`, the number of rewrites.

Sources: Vaswani et al. 2017 (eq. 1); ONNX Runtime's AttentionFusion and torch's
scaled_dot_product_attention describe the same pattern; FlashAttention (Dao et al. 2022)
for why fusing pays: the scores need never be written to memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from ...dialects import graph
from ...dialects.arrays import to_numpy
from ...dialects.graph.attention import attention_shape
from ..infra.statistics import bump


def _scalar(v: SSAValue) -> float | None:
    """The value of a one-element f32 graph.constant, else None."""
    owner = v.owner
    if not isinstance(owner, graph.ConstantOp) or not graph.is_f32_tensor(v):
        return None
    array = to_numpy(owner.value)
    return float(array.reshape(-1)[0]) if array.size == 1 else None


def _scaled(v: SSAValue) -> tuple[SSAValue, float, list[Operation]]:
    """`v` without a graph.mul / graph.div by a scalar constant that only it uses (the
    constant must not broadcast the value up): (the unscaled value, the factor, the ops
    absorbed: the mul or div, then the constant); `v`, 1 and no ops otherwise."""
    op = v.owner
    if not v.has_one_use() or not isinstance(op, graph.MulOp | graph.DivOp):
        return v, 1.0, []
    div = isinstance(op, graph.DivOp)
    orders = [(op.lhs, op.rhs)] if div else [(op.lhs, op.rhs), (op.rhs, op.lhs)]
    for value, factor in orders:
        c = _scalar(factor)
        if c is not None and value.type == op.result.type and not (div and c == 0.0):
            return value, (1.0 / c if div else c), [op, factor.owner]
    return v, 1.0, []


def _key(kt: SSAValue) -> tuple[SSAValue, list[int], float, list[Operation]]:
    """K^T [..., d, Sk] as a transpose of a source: (the source, the perm that gives K
    [..., Sk, d] from it, a scale absorbed from the source, the ops absorbed). K^T's own
    transpose is composed with the swap of the last two dims; a scale on K before that
    transpose (used only there) is absorbed. The ops listed are erased once unused."""
    rank = len(kt.type.get_shape())
    swap = [*range(rank - 2), rank - 1, rank - 2]
    t = kt.owner
    if not isinstance(t, graph.TransposeOp):
        return kt, swap, 1.0, []
    perm = [t.permutation[i] for i in swap]
    src, scale, ops = _scaled(t.input) if kt.has_one_use() else (t.input, 1.0, [])
    return src, perm, scale, [t, *ops]


def _masked(x: SSAValue) -> tuple[SSAValue, SSAValue | None, list[Operation]]:
    """The softmax input `x` as (scaled scores, mask, the add absorbed): a graph.add of a
    value of `x`'s type made by a mul, div or matmul, and a mask; no mask otherwise."""
    add = x.owner
    if not isinstance(add, graph.AddOp):
        return x, None, []
    for scores, mask in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
        kinds = graph.MulOp | graph.DivOp | graph.MatMulOp
        if scores.type == x.type and scores.has_one_use() and isinstance(scores.owner, kinds):
            return scores, mask, [add]
    return x, None, []


@dataclass
class FuseAttention(RewritePattern):
    """matmul(softmax(matmul(Q, K^T) * c + mask), V) -> graph.attention (module docstring),
    for at least `min_keys` keys."""

    min_keys: int = 0

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.MatMulOp, rewriter: PatternRewriter) -> None:
        probs, v = op.lhs, op.rhs
        softmax = probs.owner
        if not isinstance(softmax, graph.SoftmaxOp) or not probs.has_one_use():
            return
        rank = len(probs.type.get_shape())
        if rank < 2 or softmax.axis.value.data % rank != rank - 1:
            return
        if probs.type.get_shape()[-1] < self.min_keys:
            return
        if not softmax.input.has_one_use():
            return
        x, mask, add_ops = _masked(softmax.input)
        x, scale, scale_ops = _scaled(x)
        qk = x.owner
        if not isinstance(qk, graph.MatMulOp) or not x.has_one_use():
            return
        q, q_scale, q_ops = _scaled(qk.lhs)
        kt, kt_scale, kt_ops = _scaled(qk.rhs)
        k_src, k_perm, k_scale, k_ops = _key(kt)
        operands = (q, k_src, v, *([mask] if mask is not None else []))
        if not all(graph.is_f32_tensor(t) for t in operands):
            return
        qs, kts, vs = (tuple(t.type.get_shape()) for t in (q, kt, v))
        if not len(qs) == len(kts) == len(vs) == rank:
            return
        ks = (*kts[:-2], kts[-1], kts[-2])
        ms = tuple(mask.type.get_shape()) if mask is not None else None
        if isinstance(attention_shape(qs, ks, vs, ms), str):
            return
        k = k_src
        if k_perm != list(range(rank)):
            transpose = graph.TransposeOp(k_src, k_perm)
            rewriter.insert(transpose, InsertPoint.before(op))
            k = transpose.result
        scale = float(np.float32(scale * q_scale * kt_scale * k_scale))
        rewriter.replace(op, graph.AttentionOp(q, k, v, mask, scale))
        for dead in [softmax, *add_ops, *scale_ops, qk, *q_ops, *kt_ops, *k_ops]:
            if all(not r.uses for r in dead.results):
                rewriter.erase(dead)
        bump("attention-fused")


@dataclass(frozen=True)
class GraphFuseAttentionPass(ModulePass):
    """Replace scaled dot-product attention chains by graph.attention (module docstring)."""

    name = "graph-fuse-attention"

    min_keys: int = 0
    """Fuse only attention over at least this many keys (Sk). The default pipelines set
    512: on BERT-4L (hidden 512, 8 heads, 128 tokens) the fused graph ran as fast as the
    unfused one at 1 thread but slower at 2 (67-169 ms vs 33-94 ms, four interleaved runs
    on a loaded 2-core machine, cause not found), while at 1024 keys it runs 2-4x faster
    than the unfused graph (docs/fusion-and-memory.md)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pattern = FuseAttention(self.min_keys)
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)
