"""`convert-graph-to-tensor`: lower named graph ops to `tensor.generic` computations.

Each graph op becomes one or more generics whose indexing maps encode its semantics:

    %r = "graph.add"(%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>

becomes (ONNX broadcasting is a map that drops or zeroes the broadcast dimensions)

    %e = "tensor.empty"() : () -> tensor<4x8xf32>
    %r = "tensor.generic"(%x, %b, %e) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
        affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
        iterator_types = ["parallel", "parallel"], ...}> ({
      ^bb0(%a: f32, %c: f32, %o: f32):
        %s = "arith.addf"(%a, %c) : (f32, f32) -> f32
        "tensor.yield"(%s) : (f32) -> ()
    }) : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>

Matmul and Gemm are a zero fill plus a reduction generic over (i, j, k); Softmax is the
numerically stable four-step form (max, exp(x - max), sum, divide), as in the ONNX spec.
Constants become `arith.constant` of a dense tensor.

The rules live in the families, one per op family of dialects/graph/: core.py, math.py,
nn.py, shape.py, layout.py. Each registers its rules with base.py's registry (`lowers`,
`register_graph_lowering`: the extension point for a plugin's own graph-level ops), which
this pass consults for every op; an op in the graph dialect left without a rule is an
error.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from ..patterns.legality import ConversionTarget

# The families register their rules when imported.
from . import attention, core, gather, layout, logic, math, nn, positional, shape  # noqa: F401
from .base import GraphLoweringError, Lowered, graph_lowering

# What may remain: everything but the graph dialect (func, arith, tensor, ... pass through).
TARGET = ConversionTarget(illegal_dialects={"graph"})


class LowerGraphOp(RewritePattern):
    """Replace an op by what its registered rule returns (base.py)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter):
        rule = graph_lowering(type(op))
        if rule is None:
            return
        lowered = rule(op)
        if lowered is None:
            return
        ops, values, erase_if_unused = Lowered(*lowered)
        if len(values) != len(op.results) or any(
            v.type != r.type for v, r in zip(values, op.results)
        ):
            got = ", ".join(str(v.type) for v in values)
            want = ", ".join(str(r.type) for r in op.results)
            raise GraphLoweringError(
                f"the lowering of '{op.name}' returned values of types ({got}) "
                f"for its results of types ({want})"
            )
        rewriter.replace(op, list(ops), list(values))
        for dead in erase_if_unused:
            if not any(r.uses for r in dead.results):
                rewriter.erase(dead)


@dataclass(frozen=True)
class ConvertGraphToTensorPass(ModulePass):
    """Lower every graph op to tensor.generic (see the module docstring)."""

    name = "convert-graph-to-tensor"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([LowerGraphOp()]),
            apply_recursively=False,
        ).rewrite_module(op)
        TARGET.check(op, self.name, reason=": no lowering to the tensor dialect")
