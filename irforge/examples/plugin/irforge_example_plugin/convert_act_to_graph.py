"""`convert-act-to-graph`: express act ops with graph ops, so the rest of the tower
lowers them.

    leaky_relu(x, alpha) = relu(x) + alpha * min(x, 0)

(for x >= 0 the second term is 0; for x < 0 relu(x) = 0 and the result is alpha * x). Not
`relu(x) + alpha * (x - relu(x))`: at x = +Inf, Inf - Inf is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from irforge.dialects import graph
from irforge.dialects.graph import math as graph_math
from irforge.frontends.onnx import dense_f32
from irforge_example_plugin.act import LeakyReluOp


class LeakyReluToGraph(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: LeakyReluOp, rewriter: PatternRewriter):
        x = op.input
        relu = graph.ReluOp(x)
        zero = graph.ConstantOp(dense_f32(np.zeros([1], np.float32)))
        neg = graph_math.MinOp(x, zero.result)
        alpha = graph.ConstantOp(dense_f32(np.array([op.alpha.value.data], np.float32)))
        scaled = graph.MulOp(neg.result, alpha.result)
        total = graph.AddOp(relu.result, scaled.result)
        rewriter.replace(op, [relu, zero, neg, alpha, scaled, total], [total.result])


@dataclass(frozen=True)
class ConvertActToGraphPass(ModulePass):
    """Lower act ops to graph ops: leaky_relu(x) = relu(x) + alpha * min(x, 0)."""

    name = "convert-act-to-graph"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(LeakyReluToGraph()).rewrite_module(op)
