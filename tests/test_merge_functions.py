"""merge-functions folds identical private functions (a transformer's layers) and keeps what
the module computes; outline-loop-nests passes the weights a nest reads in, so that nests
alike but for their weights merge."""

from __future__ import annotations

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import func, memref
from xdsl.parser import Parser

from irforge.backends.llvm import compile_module
from irforge.dialects import graph, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import dense_f32
from irforge.passes.infra.instrumentation import PassStatistics
from irforge.passes.infra.manager import PassManager, run_pass_pipeline
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from tests.test_lowering import make_module, rand


def _funcs(module) -> dict[str, func.FuncOp]:
    return {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}


def _calls(module) -> list[str]:
    return [op.callee.root_reference.data for op in module.walk() if isinstance(op, func.CallOp)]


TEXT = """
func.func private @a(%x: f32) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  func.return %y : f32
}
func.func private @b(%x: f32) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %x, %c : f32
  func.return %y : f32
}
func.func private @c(%x: f32) -> f32 {
  %c = arith.constant 3.0 : f32
  %y = arith.mulf %x, %c : f32
  func.return %y : f32
}
func.func private @d(%x: f32) -> f32 {
  %c = arith.constant 2.0 : f32
  %y = arith.mulf %c, %x : f32
  func.return %y : f32
}
func.func private @ca(%x: f32) -> f32 {
  %y = func.call @a(%x) : (f32) -> f32
  func.return %y : f32
}
func.func private @cb(%x: f32) -> f32 {
  %y = func.call @b(%x) : (f32) -> f32
  func.return %y : f32
}
func.func @pa(%x: f32) -> f32 {
  %y = func.call @a(%x) : (f32) -> f32
  func.return %y : f32
}
func.func @pb(%x: f32) -> f32 {
  %y = func.call @a(%x) : (f32) -> f32
  func.return %y : f32
}
func.func @main(%x: f32) -> f32 {
  %1 = func.call @ca(%x) : (f32) -> f32
  %2 = func.call @cb(%1) : (f32) -> f32
  %3 = func.call @c(%2) : (f32) -> f32
  %4 = func.call @d(%3) : (f32) -> f32
  func.return %4 : f32
}
"""


def test_identical_private_functions_merge_callees_first():
    ctx = make_dialect_context()
    module = Parser(ctx, TEXT).parse_module()
    stats = PassStatistics()
    PassManager("merge-functions", instrumentations=[stats]).run(ctx, module)
    module.verify()
    # @b is @a; then @cb calls @a as @ca does, so it merges too. @c (another constant) and
    # @d (operands swapped) stay; the public @pa and @pb keep their names.
    assert sorted(_funcs(module)) == ["a", "c", "ca", "d", "main", "pa", "pb"]
    assert _calls(module) == ["a", "a", "a", "ca", "ca", "c", "d"]
    assert "functions-merged" in stats.report() and "2" in stats.report()


def test_a_function_named_otherwise_than_by_a_call_is_kept():
    text = TEXT.replace(
        "func.func @main(%x: f32) -> f32 {",
        'func.func @main(%x: f32) -> f32 attributes {"keep" = @b} {',
    )
    ctx = make_dialect_context()
    module = Parser(ctx, text).parse_module()
    run_pass_pipeline(module, "merge-functions", ctx)
    assert {"a", "b", "ca", "cb"} <= set(_funcs(module))


def _layers():
    """Two dense layers of the same shape with different weights (as a transformer's)."""
    rng = np.random.default_rng(5)
    ws = [rand(rng, 8, 8) for _ in range(2)]

    def body(b: Builder, args):
        h = args[0]
        for w in ws:
            c = b.insert(graph.ConstantOp(dense_f32(w))).result
            h = b.insert(graph.MatMulOp(h, c)).result
            h = b.insert(graph.ReluOp(h)).result
        return [h]

    return make_module([(4, 8)], body), rand(rng, 4, 8)


def test_layers_alike_but_for_their_weights_merge_and_compute_the_same():
    module, x = _layers()
    ctx = make_dialect_context()
    (expected,) = run_reference(module, [x])
    lower = "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop,outline-loop-nests"
    run_pass_pipeline(module, lower, ctx)
    nests = [f for n, f in _funcs(module).items() if n.startswith("main__nest")]
    # The weights are arguments of the nests, not read inside them.
    assert not any(isinstance(op, memref.GetGlobalOp) for f in nests for op in f.walk())
    run_pass_pipeline(module, "merge-functions", ctx)
    merged = [n for n in _funcs(module) if n.startswith("main__nest")]
    assert len(merged) < len(nests)
    calls = _calls(module)
    assert len(calls) == len(nests) and len(set(calls)) == len(merged)
    (after,) = run_reference(module, [x])
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
    run_pass_pipeline(module, "plan-buffers,convert-loop-to-llvm", ctx)
    fn = compile_module(module, "main", [("x", x.shape, x.dtype)], [("y", (4, 8), np.float32)])
    np.testing.assert_allclose(fn(x), expected, rtol=1e-5, atol=1e-6)


def test_default_pipeline_merges():
    assert "outline-loop-nests,merge-functions," in DEFAULT_PIPELINE
