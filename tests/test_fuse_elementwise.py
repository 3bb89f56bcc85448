"""tensor-fuse-elementwise: which generics fuse, and that fused IR computes what unfused does.

Each program is lowered with convert-graph-to-tensor, then fused; the NumPy reference runs
the graph-level module, the interpreters the fused tensor- and loop-level IR, and the
JIT-compiled native code the llvm-level IR. Tolerances as in test_lowering.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from xdsl.builder import Builder
from xdsl.dialects.builtin import ModuleOp

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.graph import math as graph_math
from irforge.dialects.reference import run_reference
from irforge.dialects.tensor import EmptyOp, GenericOp
from irforge.frontends.onnx import dense_f32
from irforge.passes.infra.manager import run_pass_pipeline
from tests.test_lowering import make_module, rand

FUSE = "convert-graph-to-tensor,tensor-fuse-elementwise"
NATIVE = "convert-tensor-to-loop,outline-loop-nests,convert-loop-to-llvm"


def generics(module: ModuleOp) -> list[GenericOp]:
    return [op for op in module.walk() if isinstance(op, GenericOp)]


def check_fused(module: ModuleOp, inputs: Sequence[np.ndarray], native: bool = True):
    """Fuse `module` (in place) and compare every later stage with the graph reference and
    with the unfused tensor-level IR; return the fused module's generic count."""
    ctx = make_dialect_context()
    (expected,) = run_reference(module, inputs)
    unfused = module.clone()
    run_pass_pipeline(unfused, "convert-graph-to-tensor", ctx)
    (got,) = run_reference(unfused, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg="unfused")
    run_pass_pipeline(module, FUSE, ctx)
    count = len(generics(module))
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg="fused tensor")
    run_pass_pipeline(module, "convert-tensor-to-loop", ctx)
    (got,) = run_reference(module, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg="fused loop")
    if native:
        from irforge.backends.llvm import compile_module

        run_pass_pipeline(module, "outline-loop-nests,convert-loop-to-llvm", ctx)
        out_spec = [("out", expected.shape, np.dtype(np.float32))]
        in_spec = [(f"in{i}", x.shape, x.dtype) for i, x in enumerate(inputs)]
        fn = compile_module(module, entry="main", inputs=in_spec, outputs=out_spec)
        np.testing.assert_allclose(
            fn(*inputs), expected, rtol=1e-5, atol=1e-6, err_msg="fused native"
        )
    return count


def scalar(b: Builder, value: float):
    return b.insert(graph.ConstantOp(dense_f32(np.array([value], np.float32)))).result


def relu_chain(b: Builder, args):
    """relu(x * 2 + 1) * x: four generics unfused."""
    x = args[0]
    h = b.insert(graph.MulOp(x, scalar(b, 2.0))).result
    h = b.insert(graph.AddOp(h, scalar(b, 1.0))).result
    h = b.insert(graph.ReluOp(h)).result
    return [b.insert(graph.MulOp(h, x)).result]


def test_relu_chain_fuses_into_one_generic():
    module = make_module([(3, 5)], relu_chain)
    unfused = module.clone()
    run_pass_pipeline(unfused, "convert-graph-to-tensor", make_dialect_context())
    assert len(generics(unfused)) == 4
    x = rand(np.random.default_rng(0), 3, 5)
    assert check_fused(make_module([(3, 5)], relu_chain), [x]) == 1
    run_pass_pipeline(module, FUSE, make_dialect_context())
    (gen,) = generics(module)
    # x, 2, 1 (the producers' inputs; the consumer's own x is the same operand, read
    # through the same map, so it is not repeated), then the output
    assert len(gen.ins) == 3 and len(gen.outs) == 1
    assert list(gen.ins).count(module.body.block.ops.first.body.block.args[0]) == 1
    assert sum(isinstance(op, EmptyOp) for op in module.walk()) == 1
    (got,) = run_reference(module, [x])
    np.testing.assert_allclose(got, np.maximum(x * 2 + 1, 0) * x, rtol=1e-6)


def test_transposed_producer_composes_maps():
    """transpose(x * 2) + y: the permuted map of the producer's input reaches the fused op."""

    def body(b: Builder, args):
        h = b.insert(graph.MulOp(args[0], scalar(b, 2.0))).result
        h = b.insert(graph.TransposeOp(h, (2, 0, 1))).result
        h = b.insert(graph.ReluOp(h)).result
        return [b.insert(graph.AddOp(h, args[1])).result]

    rng = np.random.default_rng(1)
    x, y = rand(rng, 2, 3, 4), rand(rng, 4, 2, 3)
    assert check_fused(make_module([(2, 3, 4), (4, 2, 3)], body), [x, y]) == 1


def test_reduction_consumer_fuses_pointwise_producer():
    """reduce_sum(relu(x), axis 1): the relu is computed inside the reduction."""

    def body(b: Builder, args):
        h = b.insert(graph.ReluOp(args[0])).result
        return [b.insert(graph_math.ReduceSumOp(h, [1], keepdims=False)).result]

    x = rand(np.random.default_rng(2), 4, 6)
    # the zero fill of the accumulator and the reduction (with the relu inside)
    assert check_fused(make_module([(4, 6)], body), [x]) == 2


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_fuses_only_where_legal(axis):
    """softmax(x * 3): nothing fuses. x * 3 and exp(x - max) are each read twice (by a
    reduction and a pointwise op); the max and the sum reduce, so they are no producers."""

    def body(b: Builder, args):
        h = b.insert(graph.MulOp(args[0], scalar(b, 3.0))).result
        return [b.insert(graph.SoftmaxOp(h, axis=axis)).result]

    module = make_module([(3, 4)], body)
    unfused = module.clone()
    run_pass_pipeline(unfused, "convert-graph-to-tensor", make_dialect_context())
    x = rand(np.random.default_rng(3), 3, 4)
    assert check_fused(module, [x]) == len(generics(unfused)) == 7


def test_producer_feeding_softmax_reduction_fuses():
    """softmax(reduce_max(relu(x) * 0.5)): the one-use pointwise chain fuses into the
    reduction that reads it; inside the softmax nothing fuses."""

    def body(b: Builder, args):
        h = b.insert(graph.ReluOp(args[0])).result
        h = b.insert(graph.MulOp(h, scalar(b, 0.5))).result
        h = b.insert(graph_math.ReduceMaxOp(h, [0], keepdims=True)).result
        return [b.insert(graph.SoftmaxOp(h, axis=1)).result]

    x = rand(np.random.default_rng(4), 5, 4)
    # fill + reduce_max (relu, mul fused in), then softmax's 2 fills, 2 reductions,
    # exp and div: the reduce_max result has two uses (max and exp), so it stays
    assert check_fused(make_module([(5, 4)], body), [x]) == 8


def test_producer_with_two_uses_is_not_fused():
    """h = x * 2 is read by two generics that stay apart (relu(h) + the row sums of h: a
    reduction and the add): fusing would compute it twice."""

    def body(b: Builder, args):
        h = b.insert(graph.MulOp(args[0], scalar(b, 2.0))).result
        r = b.insert(graph.ReluOp(h)).result
        t = b.insert(graph_math.ReduceSumOp(h, [1], keepdims=True)).result
        return [b.insert(graph.AddOp(r, t)).result]

    x = rand(np.random.default_rng(5), 3, 4)
    # h, the sum's zero fill, the sum, relu + add
    assert check_fused(make_module([(3, 4)], body), [x]) == 4
    module = make_module([(3, 4)], body)
    run_pass_pipeline(module, FUSE, make_dialect_context())
    mul = [g for g in generics(module) if any(o.name == "arith.mulf" for o in g.body.walk())]
    assert len(mul) == 1  # x * 2 computed by one generic only


def test_producer_read_twice_by_one_consumer_is_fused_once():
    """relu(h) + h with h = x * 2: once relu is fused into the add, the add reads h twice
    through the same map; the two reads become one operand, so h has one use and is
    fused too, computed once per element."""

    def body(b: Builder, args):
        h = b.insert(graph.MulOp(args[0], scalar(b, 2.0))).result
        r = b.insert(graph.ReluOp(h)).result
        return [b.insert(graph.AddOp(r, h)).result]

    x = rand(np.random.default_rng(5), 7)
    assert check_fused(make_module([(7,)], body), [x]) == 1


def test_reduction_producer_is_not_fused():
    """Gemm with alpha: the contraction reduces, so its pointwise epilogue stays apart."""
    rng = np.random.default_rng(6)
    w = rand(rng, 4, 3)

    def body(b: Builder, args):
        c = b.insert(graph.ConstantOp(dense_f32(w))).result
        return [b.insert(graph.GemmOp(args[0], c, None, alpha=0.5)).result]

    x = rand(rng, 2, 4)
    # zero fill, contraction, alpha epilogue: the fill is an outs, not an ins, operand
    assert check_fused(make_module([(2, 4)], body), [x]) == 3
