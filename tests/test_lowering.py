"""Each stage of the lowering chain computes what the graph level computes.

A graph-level program is evaluated with the NumPy reference; after convert-graph-to-tensor
and after convert-tensor-to-loop the interpreters run the lowered IR on the same inputs;
after convert-loop-to-llvm the JIT-compiled native code runs them too. All must agree.
Tolerances: the interpreters round every scalar op to f32, so they match the reference to
1e-5 relative; native code may contract a*b+c into an FMA: 1e-5 relative, 1e-6 absolute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType
from xdsl.ir import Block, Region, SSAValue

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import dense_f32
from irforge.passes.infra.manager import run_pass_pipeline

F32 = Float32Type()
STAGES = ["convert-graph-to-tensor", "convert-tensor-to-loop"]


def tensor(*shape: int) -> TensorType:
    return TensorType(F32, shape)


def make_module(
    arg_shapes: Sequence[Sequence[int]],
    body: Callable[[Builder, Sequence[SSAValue]], Sequence[SSAValue]],
) -> ModuleOp:
    """`func.func @main` over f32 tensors of `arg_shapes` whose body `body` builds."""
    block = Block(arg_types=[tensor(*s) for s in arg_shapes])
    b = Builder(InsertPoint.at_end(block))
    results = body(b, block.args)
    b.insert(func.ReturnOp(*results))
    fn = func.FuncOp(
        "main", ([a.type for a in block.args], [r.type for r in results]), Region(block)
    )
    module = ModuleOp([fn])
    module.verify()
    return module


def check_all_stages(module: ModuleOp, inputs: Sequence[np.ndarray], native: bool = True):
    """Run `module` at every level and compare with the graph-level reference."""
    ctx = make_dialect_context()
    (expected,) = run_reference(module, inputs)
    for stage in STAGES:
        run_pass_pipeline(module, stage, ctx)
        (got,) = run_reference(module, inputs)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=stage)
    if native:
        from irforge.backends.llvm import compile_module

        out_spec = [("out", expected.shape, np.dtype(np.float32))]
        in_spec = [(f"in{i}", x.shape, x.dtype) for i, x in enumerate(inputs)]
        run_pass_pipeline(module, "convert-loop-to-llvm", ctx)
        fn = compile_module(module, entry="main", inputs=in_spec, outputs=out_spec)
        got = fn(*inputs)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg="native")
    return expected


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def test_mlp_chain_all_stages():
    rng = np.random.default_rng(0)
    w0, b0 = rand(rng, 6, 5), rand(rng, 5)
    w1 = rand(rng, 5, 3)

    def body(b: Builder, args):
        c_w0 = b.insert(graph.ConstantOp(dense_f32(w0))).result
        c_b0 = b.insert(graph.ConstantOp(dense_f32(b0))).result
        c_w1 = b.insert(graph.ConstantOp(dense_f32(w1))).result
        h = b.insert(graph.GemmOp(args[0], c_w0, c_b0)).result
        h = b.insert(graph.ReluOp(h)).result
        h = b.insert(graph.MatMulOp(h, c_w1)).result
        return [b.insert(graph.SoftmaxOp(h, axis=1)).result]

    x = rand(rng, 2, 6)
    out = check_all_stages(make_module([(2, 6)], body), [x])
    ref = np.maximum(x @ w0 + b0, 0) @ w1
    ref = np.exp(ref - ref.max(1, keepdims=True))
    np.testing.assert_allclose(out, ref / ref.sum(1, keepdims=True), rtol=1e-5)


BINARY = {"add": graph.AddOp, "sub": graph.SubOp, "mul": graph.MulOp}


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast (ONNX rules): the second drops or ones out dims."""
    rank = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    keep = draw(st.integers(0, rank))
    other = [d if draw(st.booleans()) else 1 for d in shape[rank - keep :]]
    if draw(st.booleans()):
        return shape, other
    return other, shape


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=broadcast_pair(), op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 99))
def test_broadcast_binary_all_stages(pair, op, seed):
    lhs_shape, rhs_shape = pair
    rng = np.random.default_rng(seed)
    a, c = rand(rng, *lhs_shape), rand(rng, *rhs_shape)

    def body(b: Builder, args):
        return [b.insert(BINARY[op](args[0], args[1])).result]

    check_all_stages(make_module([lhs_shape, rhs_shape], body), [a, c], native=False)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=st.integers(1, 3),
    n=st.integers(1, 3),
    k=st.integers(1, 4),
    trans_a=st.integers(0, 1),
    trans_b=st.integers(0, 1),
    alpha=st.sampled_from([1.0, 0.5, -2.0]),
    beta=st.sampled_from([1.0, 0.0, 3.0]),
    c_kind=st.sampled_from(["none", "row", "full", "scalar"]),
)
def test_gemm_all_stages(m, n, k, trans_a, trans_b, alpha, beta, c_kind):
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    a = rand(rng, *((k, m) if trans_a else (m, k)))
    bm = rand(rng, *((n, k) if trans_b else (k, n)))
    c_shape = {"none": None, "row": (n,), "full": (m, n), "scalar": (1,)}[c_kind]
    shapes = [a.shape, bm.shape] + ([c_shape] if c_shape else [])
    inputs = [a, bm] + ([rand(rng, *c_shape)] if c_shape else [])

    def body(b: Builder, args):
        c = args[2] if c_shape else None
        op = graph.GemmOp(
            args[0], args[1], c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b
        )
        return [b.insert(op).result]

    out = check_all_stages(make_module(shapes, body), inputs, native=False)
    ref = alpha * ((a.T if trans_a else a) @ (bm.T if trans_b else bm))
    if c_shape:
        ref = ref + beta * inputs[2]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_axes_all_stages(axis):
    rng = np.random.default_rng(axis + 5)
    x = rand(rng, 3, 4) * 10

    def body(b: Builder, args):
        return [b.insert(graph.SoftmaxOp(args[0], axis=axis)).result]

    out = check_all_stages(make_module([(3, 4)], body), [x])
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-5)


def test_returned_input_is_copied_not_aliased():
    """Returning an argument must copy it into the output buffer (no aliasing)."""

    def body(b: Builder, args):
        r = b.insert(graph.ReluOp(args[0])).result
        return [b.insert(graph.AddOp(r, args[0])).result]

    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    out = check_all_stages(make_module([(1, 2)], body), [x])
    np.testing.assert_array_equal(out, [[-1.0, 4.0]])


@pytest.mark.parametrize(
    "shape,perm", [((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((1, 4, 1), (0, 2, 1))]
)
def test_transpose_all_stages(shape, perm):
    x = rand(np.random.default_rng(1), *shape)

    def body(b: Builder, args):
        return [b.insert(graph.TransposeOp(args[0], perm)).result]

    out = check_all_stages(make_module([shape], body), [x])
    np.testing.assert_array_equal(out, np.transpose(x, perm))


@pytest.mark.parametrize(
    "src,dst", [((2, 6), (3, 4)), ((2, 3, 4), (24,)), ((12,), (2, 1, 6)), ((4, 1), (1, 4))]
)
def test_reshape_and_identity_all_stages(src, dst):
    x = rand(np.random.default_rng(2), *src)

    def body(b: Builder, args):
        r = b.insert(graph.ReshapeOp(args[0], dst)).result
        return [b.insert(graph.IdentityOp(r)).result]

    out = check_all_stages(make_module([src], body), [x])
    np.testing.assert_array_equal(out, x.reshape(dst))


@pytest.mark.parametrize("exponent", [[2.0, 2.0, 2.0], [2.0, 3.0, 4.0], [3.0, 2.0, 2.0]])
def test_pow_by_a_constant_is_a_square_only_when_every_exponent_is_two(exponent):
    """graph_to_tensor/math.py: `pow(x, c)` with an all-2 constant `c` becomes `x * x` (no powf);
    any other constant, even one whose later elements exceed a first 2, keeps powf."""
    from xdsl.dialects import math as xmath

    from irforge.dialects.graph import math as gm

    x = np.array([[1.5, -2.0, 3.0], [0.5, 2.0, -1.25]], dtype=np.float32)
    c = np.array(exponent, dtype=np.float32)

    def body(b: Builder, args):
        c_op = b.insert(graph.ConstantOp(dense_f32(c))).result
        return [b.insert(gm.PowOp(args[0], c_op)).result]

    module = make_module([(2, 3)], body)
    lowered = module.clone()
    run_pass_pipeline(lowered, "convert-graph-to-tensor", make_dialect_context())
    powf = [op for op in lowered.walk() if isinstance(op, xmath.PowFOp)]
    assert len(powf) == (0 if exponent == [2.0, 2.0, 2.0] else 1)
    out = check_all_stages(module, [x], native=False)
    np.testing.assert_allclose(out, np.power(x, c), rtol=1e-6)


@pytest.mark.parametrize("alpha,beta", [(1.0, -1.0), (0.5, -2.5)])
def test_gemm_negative_beta_keeps_c(alpha, beta):
    """C is dropped only for beta == 0: a negative beta still scales and adds it."""
    rng = np.random.default_rng(7)
    a, bm, c = rand(rng, 2, 3), rand(rng, 3, 4), rand(rng, 4)

    def body(b: Builder, args):
        return [b.insert(graph.GemmOp(args[0], args[1], args[2], alpha=alpha, beta=beta)).result]

    out = check_all_stages(make_module([a.shape, bm.shape, c.shape], body), [a, bm, c])
    np.testing.assert_allclose(out, alpha * (a @ bm) + beta * c, rtol=1e-5, atol=1e-5)
