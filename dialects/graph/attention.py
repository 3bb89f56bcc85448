"""The graph dialect's attention op: scaled dot-product attention as one op.

`graph.attention` belongs to the `graph` dialect (dialects/graph/__init__.py lists it in
`Graph`); it shares its base classes (base.py) and conventions: static shapes, f32, the
result type verified against `infer_shape`. The importer never makes it: the pass
graph-fuse-attention (passes/graph/graph_fuse_attention.py) recognizes the MatMul, scale,
mask Add, Softmax, MatMul chain the torch exporters write and replaces it with this op,
which convert-graph-to-tensor lowers to a fused kernel that keeps the scores in cache.

    %o = "graph.attention"(%q, %k, %v, %mask) <{scale = 0.125 : f32}>
        : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>,
           tensor<1x1x1x128xf32>) -> tensor<1x8x128x64xf32>

Sources: Vaswani et al., "Attention Is All You Need" (2017), section 3.2.1; the ONNX
Attention operator (opset 23), https://onnx.ai/onnx/operators/onnx__Attention.html, whose
4-D form (Q, K, V of [B, H, S, d], `scale`, an additive `attn_mask`) this op follows with
any number of batch dims; Dao et al., "FlashAttention" (2022), for the lowering.
"""

from __future__ import annotations

from xdsl.dialects.builtin import Float32Type, FloatAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .base import AnyTensor, GraphOp, broadcast_shapes, f32_attr, static_shape


def attention_shape(
    q: tuple[int, ...],
    k: tuple[int, ...],
    v: tuple[int, ...],
    mask: tuple[int, ...] | None,
) -> tuple[int, ...] | str:
    """The result shape `[..., Sq, dv]` of attention on Q `[..., Sq, d]`, K `[..., Sk, d]`,
    V `[..., Sk, dv]` and an optional mask broadcastable to `[..., Sq, Sk]`, or the reason
    the shapes do not fit (a message naming them).

    Q, K and V have one rank >= 2 and the same batch dims (those before the last two); the
    mask has at most that rank and broadcasts (ONNX rules) to the scores' shape without
    growing it.
    """
    if not len(q) == len(k) == len(v) >= 2:
        return f"Q, K and V must have one rank >= 2, got {list(q)}, {list(k)} and {list(v)}"
    if q[:-2] != k[:-2] or q[:-2] != v[:-2]:
        return f"batch dims of Q {list(q)}, K {list(k)} and V {list(v)} differ"
    if q[-1] != k[-1]:
        return f"head sizes of Q {list(q)} and K {list(k)} differ"
    if k[-2] != v[-2]:
        return f"key counts of K {list(k)} and V {list(v)} differ"
    scores = (*q[:-1], k[-2])
    if mask is not None and (len(mask) > len(scores) or broadcast_shapes(mask, scores) != scores):
        return f"mask {list(mask)} does not broadcast to the scores' shape {list(scores)}"
    return (*q[:-1], v[-1])


@irdl_op_definition
class AttentionOp(GraphOp):
    """`softmax(Q K^T * scale + mask, axis=-1) V` (scaled dot-product attention).

    Q is [..., Sq, d], K is [..., Sk, d] (not transposed), V is [..., Sk, dv], all f32 with
    the same batch dims; the optional additive `mask` broadcasts to the scores' shape
    [..., Sq, Sk] (0 keeps a key, a large negative number drops it). `scale` is an f32
    (1/sqrt(d) in the paper). The result is [..., Sq, dv] (`attention_shape`).

    The builder raises ValueError and the verifier VerifyException, naming the shapes,
    when they do not fit; the verifier also requires f32 operands.

    Sources: Vaswani et al. 2017, eq. 1; ONNX Attention (opset 23) with `scale` and an
    additive `attn_mask`.
    """

    name = "graph.attention"
    query = operand_def(AnyTensor)
    key = operand_def(AnyTensor)
    value = operand_def(AnyTensor)
    mask = opt_operand_def(AnyTensor)
    scale = prop_def(FloatAttr)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        query: SSAValue,
        key: SSAValue,
        value: SSAValue,
        mask: SSAValue | None,
        scale: float,
    ):
        shapes = [tuple(x.type.get_shape()) for x in (query, key, value)]
        mshape = tuple(mask.type.get_shape()) if mask is not None else None
        shape = attention_shape(*shapes, mshape)
        if isinstance(shape, str):
            raise ValueError(f"{self.name}: {shape}")
        super().__init__(
            operands=[query, key, value, [mask] if mask is not None else []],
            result_types=[TensorType(query.type.element_type, shape)],
            properties={"scale": f32_attr(scale)},
        )

    def infer_shape(self) -> tuple[int, ...]:
        shapes = [static_shape(self, n, x.type) for n, x in zip("QKV", self.operands)]
        mshape = static_shape(self, "mask", self.mask.type) if self.mask is not None else None
        shape = attention_shape(*shapes, mshape)
        if isinstance(shape, str):
            raise VerifyException(f"'{self.name}' op {shape}")
        return shape

    def verify_(self) -> None:
        for i, x in enumerate(self.operands):
            if getattr(x.type, "element_type", None) != Float32Type():
                raise VerifyException(f"'{self.name}' op operand #{i} must be f32, got {x.type}")
        super().verify_()


OPS: list[type[Operation]] = [AttentionOp]

__all__ = ["OPS", "AttentionOp", "attention_shape"]
