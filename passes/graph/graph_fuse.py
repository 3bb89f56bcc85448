"""`graph-fuse`: fold constant per-channel affine ops into convolutions and matrix products
(vertical fusion) and merge sibling contractions of one input (horizontal fusion).

All rewrites act on `graph` ops whose weights are `graph.constant`s; the new weights are
computed at compile time in float64 from the f32 constants and stored as f32.

Vertical (each only when the producer's result has a single use, its weights are constant
and every tensor is f32):

- conv + inference batch-norm with constant scale g, bias beta, mean m, variance v:
  with s = g / sqrt(v + eps) per output channel,
  `W'[o] = W[o] * s[o]`, `b'[o] = (b[o] - m[o]) * s[o] + beta[o]` (b = 0 if absent).
  Any `group` (the scaling is per output channel, which a group does not mix).
- conv + add/sub of a per-output-channel constant c (constant along every dimension but 1,
  broadcast without enlarging the result): `b' = b + c` (`b - c`);
  conv * c: `W'[o] = W[o] * c[o]`, `b' = b * c`.
- matmul/gemm (`alpha * A' @ B' + beta * C`) * per-column constant c: `B'[:, n] = B[:, n] *
  c[n]`, `C' = C * c`; gemm + constant c (any c that broadcasts to the result):
  `C' = beta * C + c`, `beta' = 1`; matmul + per-column c becomes a gemm with C = c.

    %y = "graph.conv"(%x, %w) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
    %z = "graph.batch_norm"(%y, %g, %beta, %m, %v) <{epsilon = 1.0e-05 : f32}> : (...)
        -> tensor<1x4x6x6xf32>

becomes

    %w2 = "graph.constant"() <{value = dense<...> : tensor<4x3x3x3xf32>}> : ...
    %b2 = "graph.constant"() <{value = dense<...> : tensor<4xf32>}> : ...
    %z = "graph.conv"(%x, %w2, %b2) : (...) -> tensor<1x4x6x6xf32>

Horizontal (option `horizontal`, default on): convs reading the same input with `group =
1`, constant weights (and constant or no bias), the same kernel shape, strides, pads and
dilations become one conv over the concatenated weights (and biases, 0 where absent),
followed by one `graph.slice` per original result along the channel axis. Matmuls
`x @ W_i` with constant W_i likewise become `x @ concat(W_i, axis=1)` and column slices;
gemms of one A (same transA) with constant B_i and C_i become one gemm with alpha = beta =
1 over `concat(alpha_i * B_i', axis=1)` and `concat(beta_i * C_i)` (C_i broadcast to
[M, N_i]; a vector again when all rows agree).

    %a = "graph.conv"(%x, %w0) : (...) -> tensor<1x4x8x8xf32>
    %b = "graph.conv"(%x, %w1) : (...) -> tensor<1x6x8x8xf32>

becomes

    %w = "graph.constant"() <{value = dense<...> : tensor<10x3x1x1xf32>}> : ...
    %c = "graph.conv"(%x, %w) : (...) -> tensor<1x10x8x8xf32>
    %a = "graph.slice"(%c) <{starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x10x8x8xf32>) -> tensor<1x4x8x8xf32>
    %b = "graph.slice"(%c) <{starts = array<i64: 0, 4, 0, 0>, ...}> : ... -> tensor<1x6x8x8xf32>

When it pays: the merged op reads the input once and gives a contraction kernel a wider
output dimension to block over, which helps when the siblings are narrow (Inception's 1x1
branches, the Q/K/V projections of attention); the slices cost one extra copy of the
outputs, so for siblings that are each already wide enough to fill the kernel's register
block, the merge mostly moves bytes. The merge is always legal under the conditions above:
each output channel (column) of the merged op is computed from the same input and weights
as before.

Statistics (`--pass-statistics`): `graph.<op>-removed` per op kind whose count fell.

Source: the standard inference-time folding (e.g. PyTorch's `fuse_conv_bn_eval`, TVM's
`FoldScaleAxis`, ONNX Runtime's ConvBNFusion / ConvAddFusion / ConvMulFusion); horizontal
merging as in TVM's `CombineParallelConv2D` / `CombineParallelDense`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from ...dialects import graph
from ...dialects.arrays import from_numpy, to_numpy
from ...dialects.graph import nn as graph_nn
from ...dialects.graph import shape as graph_shape
from ..infra.statistics import bump


def _const(v: SSAValue | None) -> np.ndarray | None:
    """The value of a f32 `graph.constant` as float64, else None."""
    if v is None or not isinstance(v.owner, graph.ConstantOp) or not graph.is_f32_tensor(v):
        return None
    return to_numpy(v.owner.value).astype(np.float64)


def _new_const(rewriter: PatternRewriter, array: np.ndarray, before: Operation) -> SSAValue:
    t = TensorType(Float32Type(), array.shape)
    op = graph.ConstantOp(from_numpy(array.astype(np.float32), t, splat=True))
    rewriter.insert(op, InsertPoint.before(before))
    return op.result


def _axis_vector(c: np.ndarray, out_shape: tuple[int, ...], axis: int) -> np.ndarray | None:
    """If constant `c` broadcast to `out_shape` (without enlarging it) varies only along
    `axis`, its values along that axis (length out_shape[axis]); else None."""
    rank = len(out_shape)
    if c.ndim > rank:
        return None
    c = c.reshape((1,) * (rank - c.ndim) + c.shape)
    for n, m in zip(c.shape, out_shape):
        if n not in (1, m):
            return None
    for d in range(rank):
        if d != axis and c.shape[d] > 1:
            first = np.take(c, [0], axis=d)
            if not np.array_equal(c, np.broadcast_to(first, c.shape)):
                return None
            c = first
    return np.broadcast_to(c.reshape(-1), (out_shape[axis],)).copy()


def _other_operand(op: Operation, v: SSAValue) -> SSAValue:
    return op.operands[1] if op.operands[0] is v else op.operands[0]


def _producer(op: Operation, kinds: tuple[type, ...]) -> Operation | None:
    """The operand of `op` made by one of `kinds`, used only by `op` (first found)."""
    for v in op.operands:
        owner = v.owner
        if isinstance(owner, kinds) and v.has_one_use() and graph.is_f32_tensor(v):
            return owner
    return None


def _conv_weights(conv: graph_nn.ConvOp) -> tuple[np.ndarray, np.ndarray] | None:
    w = _const(conv.weight)
    if w is None:
        return None
    if conv.bias is None:
        return w, np.zeros(w.shape[0])
    b = _const(conv.bias)
    return None if b is None else (w, b)


def _replace_conv(
    rewriter: PatternRewriter,
    root: Operation,
    conv: graph_nn.ConvOp,
    w: np.ndarray,
    b: np.ndarray,
) -> None:
    """Replace `root` (the consumer of `conv`) by a conv with weights w and bias b."""
    wv = _new_const(rewriter, w, root)
    bv = _new_const(rewriter, b, root)
    new = graph_nn.ConvOp.create(
        operands=[conv.input, wv, bv],
        result_types=[root.results[0].type],
        properties=dict(conv.properties),
    )
    rewriter.replace(root, new)
    rewriter.erase(conv)


class FoldBatchNormIntoConv(RewritePattern):
    """conv + batch_norm -> conv: W' = W * s, b' = (b - mean) * s + beta, s = g/sqrt(v+eps)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph_nn.BatchNormOp, rewriter: PatternRewriter) -> None:
        conv = op.input.owner
        if not isinstance(conv, graph_nn.ConvOp) or not op.input.has_one_use():
            return
        wb = _conv_weights(conv)
        params = [_const(v) for v in (op.scale, op.bias, op.mean, op.var)]
        if wb is None or any(p is None for p in params) or not graph.is_f32_tensor(op.result):
            return
        (w, b), (g, beta, mean, var) = wb, params
        s = g / np.sqrt(var + np.float64(np.float32(op.epsilon.value.data)))
        w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
        _replace_conv(rewriter, op, conv, w, (b - mean) * s + beta)


class FoldAffineIntoConv(RewritePattern):
    """conv + c, conv - c, c + conv, conv * c, c * conv (c a per-output-channel constant)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: graph.AddOp | graph.SubOp | graph.MulOp, rewriter: PatternRewriter
    ) -> None:
        conv = _producer(op, (graph_nn.ConvOp,))
        if conv is None or op.result.type != conv.result.type:
            return
        if isinstance(op, graph.SubOp) and op.lhs is not conv.result:
            return
        c = _const(_other_operand(op, conv.result))
        wb = _conv_weights(conv)
        if c is None or wb is None:
            return
        vec = _axis_vector(c, tuple(op.result.type.get_shape()), 1)
        if vec is None:
            return
        w, b = wb
        if isinstance(op, graph.MulOp):
            w, b = w * vec.reshape((-1,) + (1,) * (w.ndim - 1)), b * vec
        else:
            b = b + vec if isinstance(op, graph.AddOp) else b - vec
        _replace_conv(rewriter, op, conv, w, b)


class FoldAffineIntoGemm(RewritePattern):
    """matmul/gemm * per-column c -> scaled B (and C); gemm + c -> C' = beta*C + c;
    matmul + per-column c -> gemm with C = c."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.AddOp | graph.MulOp, rewriter: PatternRewriter) -> None:
        mm = _producer(op, (graph.MatMulOp, graph.GemmOp))
        if mm is None or op.result.type != mm.results[0].type:
            return
        c = _const(_other_operand(op, mm.results[0]))
        if c is None:
            return
        shape = tuple(op.result.type.get_shape())
        if isinstance(mm, graph.MatMulOp):
            if len(mm.lhs.type.get_shape()) != 2 or len(mm.rhs.type.get_shape()) != 2:
                return  # graph.gemm is 2-D only
            a, bmat, cmat, alpha, beta, trans_a, trans_b = mm.lhs, mm.rhs, None, 1.0, 1.0, 0, 0
        else:
            a, bmat, cmat = mm.a, mm.b, mm.c
            alpha, beta = mm.alpha.value.data, mm.beta.value.data
            trans_a, trans_b = mm.transA.value.data, mm.transB.value.data
        cval = None
        if cmat is not None:
            cval = _const(cmat)
            if cval is None:
                return
        if isinstance(op, graph.MulOp):
            vec = _axis_vector(c, shape, 1)
            bval = _const(bmat)
            if vec is None or bval is None:
                return
            bval = bval * (vec[:, None] if trans_b else vec[None, :])
            bmat = _new_const(rewriter, bval, op)
            if cval is not None:
                cval = cval * vec
        else:
            if isinstance(mm, graph.MatMulOp) and _axis_vector(c, shape, 1) is None:
                return  # a full [M, N] bias would only move the add into the gemm
            cval = c if cval is None else beta * cval + c
            beta = 1.0
        cv = None if cval is None else _new_const(rewriter, cval, op)
        new = graph.GemmOp(a, bmat, cv, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
        rewriter.replace(op, new)
        rewriter.erase(mm)


def _conv_key(op: graph_nn.ConvOp) -> tuple | None:
    if op.group.value.data != 1 or not graph.is_f32_tensor(op.result) or _conv_weights(op) is None:
        return None
    return ("conv", op.window(), op.weight.type.get_shape()[1:])


def _mm_key(op: graph.MatMulOp) -> tuple | None:
    if not graph.is_f32_tensor(op.result) or _const(op.rhs) is None:
        return None
    if len(op.rhs.type.get_shape()) != 2 or len(op.lhs.type.get_shape()) < 2:
        return None  # weights [K, N] (merged along N, the result's last axis) only
    return ("matmul",)


def _gemm_key(op: graph.GemmOp) -> tuple | None:
    if not graph.is_f32_tensor(op.result) or _const(op.b) is None:
        return None
    if op.c is not None and _const(op.c) is None:
        return None
    return ("gemm", op.transA.value.data)


def _gemm_parts(op: graph.GemmOp) -> tuple[np.ndarray, np.ndarray]:
    """B' scaled by alpha as [K, N], and beta * C broadcast to the result [M, N]."""
    b = _const(op.b)
    b = (b.T if op.transB.value.data else b) * op.alpha.value.data
    shape = tuple(op.result.type.get_shape())
    c = np.zeros(shape) if op.c is None else op.beta.value.data * _const(op.c)
    return b, np.broadcast_to(c, shape)


def _merge(block: Block) -> bool:
    """Merge one group of sibling convs, matmuls or gemms in `block`; True if it did."""
    groups: dict[tuple, list[Operation]] = {}
    for op in block.ops:
        if isinstance(op, graph_nn.ConvOp):
            key = _conv_key(op)
            src = op.input
        elif isinstance(op, graph.MatMulOp):
            key = _mm_key(op)
            src = op.lhs
        elif isinstance(op, graph.GemmOp):
            key = _gemm_key(op)
            src = op.a
        else:
            continue
        if key is not None:
            groups.setdefault((src, *key), []).append(op)
    for sibs in groups.values():
        if len(sibs) < 2:
            continue
        _rewrite_siblings(sibs)
        return True
    return False


def _rewrite_siblings(sibs: list[Operation]) -> None:
    first = sibs[0]  # block order: the first sibling dominates every sibling's uses
    rw = Rewriter()
    at = InsertPoint.before(first)

    def const(array: np.ndarray) -> SSAValue:
        t = TensorType(Float32Type(), array.shape)
        c = graph.ConstantOp(from_numpy(array.astype(np.float32), t, splat=True))
        rw.insert_op(c, at)
        return c.result

    if isinstance(first, graph_nn.ConvOp):
        ws, bs = zip(*(_conv_weights(op) for op in sibs))
        w, b = np.concatenate(ws, axis=0), np.concatenate(bs)
        shape = list(first.result.type.get_shape())
        shape[1] = w.shape[0]
        merged = graph_nn.ConvOp.create(
            operands=[first.input, const(w), const(b)],
            result_types=[TensorType(Float32Type(), shape)],
            properties=dict(first.properties),
        )
        axis = 1
    elif isinstance(first, graph.MatMulOp):
        w = np.concatenate([_const(op.rhs) for op in sibs], axis=1)
        merged = graph.MatMulOp(first.lhs, const(w))
        axis = len(merged.result.type.get_shape()) - 1
    else:
        bs, cs = zip(*(_gemm_parts(op) for op in sibs))
        c = np.concatenate(cs, axis=1)
        if np.array_equal(c, np.broadcast_to(c[:1], c.shape)):
            c = c[0]  # one bias row: keep C a vector
        merged = graph.GemmOp(
            first.a,
            const(np.concatenate(bs, axis=1)),
            const(c),
            trans_a=first.transA.value.data,
        )
        axis = 1
    rw.insert_op(merged, at)
    rank = len(merged.results[0].type.get_shape())
    offset = 0
    after = merged
    for op in sibs:
        out = tuple(op.results[0].type.get_shape())
        starts = [0] * rank
        starts[axis] = offset
        offset += out[axis]
        sl = graph_shape.SliceOp(merged.results[0], starts, [1] * rank, out)
        rw.insert_op(sl, InsertPoint.after(after))
        after = sl
        op.results[0].replace_all_uses_with(sl.result)
        rw.erase_op(op)


def _erase_dead_constants(module: ModuleOp) -> None:
    for op in list(module.walk()):
        if isinstance(op, graph.ConstantOp) and not op.result.uses:
            op.detach()
            op.erase()


@dataclass(frozen=True)
class GraphFusePass(ModulePass):
    """Vertical and horizontal fusion of graph contractions (see the module docstring).

    Options: `vertical` (fold batch-norm, per-channel add/sub/mul into conv, matmul, gemm;
    default true), `horizontal` (merge sibling convs/matmuls; default true).
    """

    name = "graph-fuse"

    vertical: bool = True
    horizontal: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        before = _count(op)
        if self.vertical:
            PatternRewriteWalker(
                GreedyRewritePatternApplier(
                    [FoldBatchNormIntoConv(), FoldAffineIntoConv(), FoldAffineIntoGemm()]
                ),
                apply_recursively=True,
            ).rewrite_module(op)
        if self.horizontal:
            blocks = [b for o in op.walk() for r in o.regions for b in r.blocks]
            for block in blocks:
                while _merge(block):
                    pass
        _erase_dead_constants(op)
        after = _count(op)
        for name in sorted(set(before) | set(after)):
            if before[name] > after[name]:
                bump(f"{name}-removed", before[name] - after[name])


def _count(module: ModuleOp) -> Counter[str]:
    return Counter(
        o.name for o in module.walk() if o.name.startswith("graph.") and o.name != "graph.constant"
    )
