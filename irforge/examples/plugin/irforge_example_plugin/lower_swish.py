"""The lowering of `act.swish` to tensor-level IR: its own rule for convert-graph-to-tensor,
registered with `irforge.plugins.register_graph_lowering` (no graph ops in between).

    %y = "act.swish"(%x) <{beta = 2.0 : f32}> : (tensor<4xf32>) -> tensor<4xf32>

becomes one pointwise `tensor.generic` whose body computes, per element,

    y = x / (1 + exp(-beta * x))

(x * sigmoid(beta * x), written with one exp and one division; for very negative x, exp
overflows to +Inf and y is -0.0, the limit). The rest of the tower (fusion, loops,
vectorization, LLVM) treats it like any other elementwise generic.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import FloatAttr

from irforge.plugins import Lowered, elementwise

from .act import SwishOp


def lower_swish(op: SwishOp) -> Lowered:
    ops: list = []
    beta = op.beta.value.data

    def body(b, args):
        x = args[0]  # the block arguments: the input element, then the output's
        t = x.type
        neg_beta = b.insert(arith.ConstantOp(FloatAttr(-beta, t))).result
        one = b.insert(arith.ConstantOp(FloatAttr(1.0, t))).result
        scaled = b.insert(arith.MulfOp(x, neg_beta)).result
        e = b.insert(xmath.ExpOp(scaled)).result
        d = b.insert(arith.AddfOp(e, one)).result
        return [b.insert(arith.DivfOp(x, d)).result]

    result = elementwise(ops, [op.input], op.result.type, body)
    return Lowered(ops, [result])
