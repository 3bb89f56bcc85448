"""`canonicalize`: simplify the IR to its canonical form with the greedy pattern driver.

One greedy run (irforge.passes.patterns.driver) applies, to every op:

- the graph dialect's declarative patterns, the `graph-canonicalize` set
  (passes/graph/graph_canonicalize.pat: x + 0 -> x, x * 1 -> x, transpose(transpose(x)) -> x,
  reshape(reshape(x)) -> reshape(x), relu(relu(x)) -> relu(x), identity(x) -> x, gemm
  simplifications, matmul + add -> gemm, ...);
- constant folding of graph ops with the NumPy reference (passes/graph/constant_fold.py), for
  results of at most `fold-limit` elements;
- xDSL's folders (`HasFolder`) and canonicalization patterns of the other dialects (arith,
  ...), as xDSL's own canonicalize does;
- removal of unused side-effect-free ops.

    %z = "graph.constant"() <{value = dense<0.0> : tensor<4xf32>}> : () -> tensor<4xf32>
    %a = "graph.add"(%x, %z) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %r = "graph.relu"(%a) : (tensor<4xf32>) -> tensor<4xf32>
    %s = "graph.relu"(%r) : (tensor<4xf32>) -> tensor<4xf32>

becomes

    %s = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>

Options: `fold-limit` (elements, default 1000000), `max-iterations` (sweeps, default 10).
Raises RewriteNotConverging if the patterns do not reach a fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.ir import Operation
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriter, RewritePattern
from xdsl.traits import HasCanonicalizationPatternsTrait

from ..infra.manager import OperationPass


class XdslCanonicalization(RewritePattern):
    """The canonicalization patterns xDSL ops declare (HasCanonicalizationPatternsTrait)."""

    name = "xdsl-canonicalization"
    benefit = 1

    def __init__(self) -> None:
        self._by_type: dict[type, RewritePattern | None] = {}

    def _for(self, op: Operation) -> RewritePattern | None:
        t = type(op)
        if t not in self._by_type:
            pats = [
                p
                for trait in op.get_traits_of_type(HasCanonicalizationPatternsTrait)
                for p in trait.get_patterns(t)
            ]
            self._by_type[t] = (
                None
                if not pats
                else pats[0]
                if len(pats) == 1
                else GreedyRewritePatternApplier(pats, dce_enabled=False)
            )
        return self._by_type[t]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        p = self._for(op)
        if p is not None:
            p.match_and_rewrite(op, rewriter)


@dataclass(frozen=True)
class CanonicalizePass(OperationPass):
    """Canonicalize: graph patterns, constant folding, xDSL folders and canonicalization
    patterns, dead-code removal (see the module docstring)."""

    name = "canonicalize"

    fold_limit: int = 1_000_000
    max_iterations: int = 10

    def apply_op(self, ctx: Context, op: Operation) -> None:
        from ..graph.constant_fold import GraphConstantFold
        from ..patterns import apply_patterns, pattern_set

        patterns = [
            *pattern_set("graph-canonicalize").compiled(ctx),
            GraphConstantFold(self.fold_limit),
            XdslCanonicalization(),
        ]
        apply_patterns(op, patterns, ctx=ctx, max_iterations=self.max_iterations)
