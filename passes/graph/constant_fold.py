"""Constant folding of graph ops with their NumPy reference semantics.

A graph op whose operands are all `graph.constant` is evaluated with
`irforge.dialects.graph_reference.REFERENCE` and replaced by a constant:

    %a = "graph.constant"() <{value = dense<[1.0, -2.0]> : tensor<2xf32>}> : () -> tensor<2xf32>
    %r = "graph.relu"(%a) : (tensor<2xf32>) -> tensor<2xf32>

becomes

    %r = "graph.constant"() <{value = dense<[1.0, 0.0]> : tensor<2xf32>}> : () -> tensor<2xf32>

A result whose elements are all equal is stored as a splat (one element). Ops are not
folded when the result or any operand has more than `limit` elements (default 1M), so
folding never blows up the IR or the compile time; nor when the reference raises or the
element type has no NumPy counterpart. `GraphConstantFold` is an xDSL RewritePattern with
`benefit = 0` (tried after the declarative patterns) for the greedy driver.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from ...dialects import graph
from ...dialects.arrays import from_numpy, to_numpy
from ...dialects.graph_reference import REFERENCE

DEFAULT_LIMIT = 1_000_000


def _numel(t) -> int:
    return math.prod(t.get_shape()) if isinstance(t, TensorType) else 1


def fold_graph_op(op: Operation, limit: int = DEFAULT_LIMIT) -> graph.ConstantOp | None:
    """The constant that `op` evaluates to, or None if it cannot or should not be folded."""
    fn = REFERENCE.get(type(op))
    if fn is None or isinstance(op, graph.ConstantOp) or len(op.results) != 1:
        return None
    t = op.results[0].type
    if not isinstance(t, TensorType) or _numel(t) > limit:
        return None
    arrays = []
    for v in op.operands:
        owner = v.owner
        if not isinstance(owner, graph.ConstantOp) or _numel(v.type) > limit:
            return None
        arrays.append(to_numpy(owner.value))
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(op, *arrays))
    except Exception:  # an op the reference rejects is left for the verifier/lowering
        return None
    if tuple(out.shape) != tuple(t.get_shape()):
        return None
    attr = from_numpy(out, t, splat=True)
    return None if attr is None else graph.ConstantOp(attr)


class GraphConstantFold(RewritePattern):
    """Replace a graph op with all-constant operands by the constant it computes."""

    name = "constant-fold"
    benefit = 0

    def __init__(self, limit: int = DEFAULT_LIMIT):
        self.limit = limit
        self.roots = frozenset(
            c.name for c in REFERENCE if c is not graph.ConstantOp and hasattr(c, "name")
        )

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        for v in op.operands:  # cheap test first: every operand a graph.constant
            if not isinstance(v.owner, graph.ConstantOp):
                return
        folded = fold_graph_op(op, self.limit)
        if folded is not None:
            rewriter.replace(op, [folded], [folded.result])
