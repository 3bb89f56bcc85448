"""outline-loop-nests keeps what a loop-level module computes: the reference interpreter
gives the same results before and after it, and so does the native code."""

from __future__ import annotations

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import func

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import dense_f32
from irforge.passes.infra.manager import run_pass_pipeline
from tests.test_lowering import make_module, rand


def _mlp():
    rng = np.random.default_rng(3)
    w0, b0, w1 = rand(rng, 6, 5), rand(rng, 5), rand(rng, 5, 3)

    def body(b: Builder, args):
        c_w0 = b.insert(graph.ConstantOp(dense_f32(w0))).result
        c_b0 = b.insert(graph.ConstantOp(dense_f32(b0))).result
        c_w1 = b.insert(graph.ConstantOp(dense_f32(w1))).result
        h = b.insert(graph.GemmOp(args[0], c_w0, c_b0)).result
        h = b.insert(graph.ReluOp(h)).result
        h = b.insert(graph.MatMulOp(h, c_w1)).result
        h = b.insert(graph.AddOp(h, h)).result
        return [b.insert(graph.SoftmaxOp(h, axis=1)).result]

    return make_module([(2, 6)], body), rand(rng, 2, 6)


def test_outlining_keeps_results():
    module, x = _mlp()
    ctx = make_dialect_context()
    run_pass_pipeline(module, "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop", ctx)
    (before,) = run_reference(module, [x])
    run_pass_pipeline(module, "outline-loop-nests", ctx)
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    nests = [f for f in funcs if f.sym_name.data.startswith("main__nest")]
    assert len(nests) >= 3
    assert all(f.sym_visibility is not None and f.sym_visibility.data == "private" for f in nests)
    main = next(f for f in funcs if f.sym_name.data == "main")
    assert not any(op.name == "loop.for" for op in main.body.block.ops)
    assert sum(isinstance(op, func.CallOp) for op in main.body.block.ops) == len(nests)
    (after,) = run_reference(module, [x])
    np.testing.assert_array_equal(after, before)

    from irforge.backends.llvm import compile_module

    run_pass_pipeline(module, "convert-loop-to-llvm", ctx)
    text = str(module)
    assert '"noinline"' in text and "internal" in text
    fn = compile_module(
        module,
        entry="main",
        inputs=[("in0", x.shape, x.dtype)],
        outputs=[("out", before.shape, np.dtype(np.float32))],
    )
    np.testing.assert_allclose(fn(x), before, rtol=1e-5, atol=1e-6)


def test_default_pipeline_outlines_and_runs():
    import irforge

    module, x = _mlp()
    (expected,) = run_reference(module, [x])
    compiled = irforge.compile(module)
    got = compiled(x)
    got = got[0] if isinstance(got, list | tuple) else got
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
