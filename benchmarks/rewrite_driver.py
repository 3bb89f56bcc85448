"""Greedy rewriting speed: irforge's driver running declarative patterns vs xDSL's
PatternRewriteWalker running equivalent hand-written Python RewritePatterns.

The input is one function of `--ops` (default 10,000) graph ops: a chain mixing
relu(relu(x)), identity(x), x + 0, x * 1, transpose(transpose(x)) back to x, and ops no
pattern matches (x - y, softmax). Both drivers apply the same five rewrites with dead-code
removal and no folding and must leave structurally equal IR. Each round runs both on fresh
copies, the two taking turns (interleaved, so machine noise hits both alike); the figure
per driver is the median over rounds, reported with the ratio xDSL / irforge (> 1: irforge
is faster).

    python -m irforge.benchmarks.rewrite_driver [--ops 10000] [--rounds 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    FunctionType,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Block, Region
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from irforge.dialects import graph

PATTERN_NAMES = ("relu_relu", "identity", "add_zero", "mul_one")
PATTERN_NAMES += ("transpose_transpose_identity",)


def build_module(n_ops: int) -> ModuleOp:
    """A function whose body is a chain of about `n_ops` graph ops (see module doc)."""
    t = TensorType(Float32Type(), [4, 8])
    block = Block(arg_types=[t])
    x = block.args[0]
    ops = []

    def add(op):
        ops.append(op)
        return op.results[0]

    zero = add(graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [0.0])))
    one = add(graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [1.0])))
    v, i = x, 0
    while len(ops) < n_ops:
        kind = i % 7
        if kind == 0:
            v = add(graph.ReluOp(add(graph.ReluOp(v))))
        elif kind == 1:
            v = add(graph.IdentityOp(v))
        elif kind == 2:
            v = add(graph.AddOp(v, zero))
        elif kind == 3:
            v = add(graph.MulOp(v, one))
        elif kind == 4:
            v = add(graph.TransposeOp(add(graph.TransposeOp(v, [1, 0])), [1, 0]))
        elif kind == 5:
            v = add(graph.SubOp(v, x))
        else:
            v = add(graph.SoftmaxOp(v))
        i += 1
    ops.append(func.ReturnOp(v))
    block.add_ops(ops)
    f = func.FuncOp("chain", FunctionType.from_lists([t], [t]), Region(block))
    return ModuleOp([f])


# ---- the hand-written xDSL equivalents of the declarative patterns ----


def _is_splat(v, value: float) -> bool:
    op = v.owner
    return (
        isinstance(op, graph.ConstantOp)
        and op.value.is_splat()
        and next(iter(op.value.iter_values())) == value
    )


class ReluRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReluOp, rewriter: PatternRewriter):
        inner = op.input.owner
        if isinstance(inner, graph.ReluOp):
            rewriter.replace(op, [], [inner.result])


class IdentityElim(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.IdentityOp, rewriter: PatternRewriter):
        rewriter.replace(op, [], [op.input])


class AddZero(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.AddOp, rewriter: PatternRewriter):
        if _is_splat(op.rhs, 0.0) and op.result.type == op.lhs.type:
            rewriter.replace(op, [], [op.lhs])


class MulOne(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.MulOp, rewriter: PatternRewriter):
        if _is_splat(op.rhs, 1.0) and op.result.type == op.lhs.type:
            rewriter.replace(op, [], [op.lhs])


class TransposeTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.TransposeOp, rewriter: PatternRewriter):
        inner = op.input.owner
        if isinstance(inner, graph.TransposeOp):
            p, q = inner.permutation, op.permutation
            if all(p[j] == i for i, j in enumerate(q)):
                rewriter.replace(op, [], [inner.input])


def run_xdsl(module: ModuleOp) -> None:
    pats = [ReluRelu(), IdentityElim(), AddZero(), MulOne(), TransposeTranspose()]
    PatternRewriteWalker(GreedyRewritePatternApplier(pats)).rewrite_module(module)


def run_irforge(module: ModuleOp, patterns) -> None:
    from irforge.passes.patterns import apply_patterns

    apply_patterns(module, patterns, fold=False)


def run(n_ops: int, rounds: int) -> dict:
    from irforge.passes.patterns import pattern_set

    base = build_module(n_ops)
    n = sum(1 for _ in base.walk()) - 2  # module and function excluded
    pset = pattern_set("graph-canonicalize")
    patterns = [p for p in pset.compiled() if p.name in PATTERN_NAMES]

    a, b = base.clone(), base.clone()
    run_irforge(a, patterns)
    run_xdsl(b)
    if not a.is_structurally_equivalent(b):
        raise AssertionError("the two drivers left different IR")
    left = sum(1 for _ in a.walk()) - 2

    samples: dict[str, list[float]] = {"irforge": [], "xdsl": []}
    for _ in range(rounds):
        for name in samples:
            m = base.clone()
            t0 = time.perf_counter()
            if name == "irforge":
                run_irforge(m, patterns)
            else:
                run_xdsl(m)
            samples[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "benchmark": "greedy rewriting of a chain of graph ops (5 patterns, DCE, no folding)",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "ops_before": n,
        "ops_after": left,
        "rounds": rounds,
        "median_ms": {k: v * 1e3 for k, v in med.items()},
        "ops_per_s": {k: n / v for k, v in med.items()},
        "ratio_xdsl_over_irforge": med["xdsl"] / med["irforge"],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--json", help="also write the result as JSON to this file")
    args = p.parse_args(argv)
    r = run(args.ops, args.rounds)
    print(f"{r['benchmark']}: {r['ops_before']} ops -> {r['ops_after']}, {r['rounds']} rounds")
    for k in ("irforge", "xdsl"):
        print(f"  {k:8s} median {r['median_ms'][k]:8.1f} ms  ({r['ops_per_s'][k]:,.0f} ops/s)")
    print(f"  xDSL / irforge time ratio: {r['ratio_xdsl_over_irforge']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
