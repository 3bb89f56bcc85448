"""graph-fuse: which ops fold or merge, and that the fused graph computes what the original does.

Every case builds a graph-level module with random f32 weights, runs graph-fuse on a copy,
checks the op counts and attributes of the result, and compares the NumPy reference of
both (rtol 1e-4, atol 1e-5: folding rescales the weights in float64 and rounds once to
f32, so results differ from the unfused f32 evaluation by a few ulps of the sums).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.builder import Builder
from xdsl.dialects.builtin import ModuleOp

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.graph import nn as graph_nn
from irforge.dialects.graph import shape as graph_shape
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import dense_f32
from irforge.passes.infra.manager import run_pass_pipeline
from tests.test_lowering import make_module, rand


def counts(module: ModuleOp) -> Counter:
    return Counter(op.name for op in module.walk() if op.name.startswith("graph."))


def fuse(module: ModuleOp, inputs, pipeline: str = "graph-fuse") -> tuple[Counter, ModuleOp]:
    """Fuse a copy of `module`; check it against the original; the fused op counts."""
    (expected,) = run_reference(module, inputs)
    fused = module.clone()
    run_pass_pipeline(fused, pipeline, make_dialect_context())
    fused.verify()
    (got,) = run_reference(fused, inputs)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return counts(fused), fused


def const(b: Builder, array: np.ndarray):
    return b.insert(graph.ConstantOp(dense_f32(np.asarray(array, np.float32)))).result


def ops_of(module: ModuleOp, cls):
    return [op for op in module.walk() if isinstance(op, cls)]


def bn_params(rng, c: int):
    return (
        rng.uniform(0.5, 1.5, c),
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.uniform(0.1, 2.0, c),
    )


@pytest.mark.parametrize("group", [1, 2, 4])
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_batch_norm_folds(group, with_bias):
    rng = np.random.default_rng(group)
    w, bias = rand(rng, 8, 4 // group, 3, 3), rand(rng, 8)
    g, beta, mean, var = bn_params(rng, 8)

    def body(b: Builder, args):
        bv = const(b, bias) if with_bias else None
        y = b.insert(
            graph_nn.ConvOp(
                args[0], const(b, w), bv, strides=[2, 1], pads=[1, 0, 1, 2], group=group
            )
        ).result
        ps = [const(b, p) for p in (g, beta, mean, var)]
        return [b.insert(graph_nn.BatchNormOp(y, *ps, epsilon=1e-3)).result]

    module = make_module([[2, 4, 7, 6]], body)
    c, fused = fuse(module, [rand(rng, 2, 4, 7, 6)])
    assert c["graph.batch_norm"] == 0 and c["graph.conv"] == 1
    (conv,) = ops_of(fused, graph_nn.ConvOp)
    assert conv.group.value.data == group and conv.bias is not None
    assert list(conv.strides.get_values()) == [2, 1]
    assert list(conv.pads.get_values()) == [1, 0, 1, 2]


@pytest.mark.parametrize(
    "kind,cshape,lhs_is_conv",
    [
        ("add", (1, 6, 1, 1), True),
        ("add", (6, 1, 1), False),
        ("sub", (1, 6, 1, 1), True),
        ("mul", (1, 6, 1, 1), False),
        ("mul", (1,), True),
        ("add", (1, 1, 5, 5), True),  # constant along channels, not per-channel: no fold
        ("sub", (1, 6, 1, 1), False),  # c - conv: no fold
    ],
)
def test_conv_affine_folds(kind, cshape, lhs_is_conv):
    rng = np.random.default_rng(1)
    w, cval = rand(rng, 6, 3, 3, 3), rand(rng, *cshape)
    op = {"add": graph.AddOp, "sub": graph.SubOp, "mul": graph.MulOp}[kind]

    def body(b: Builder, args):
        y = b.insert(graph_nn.ConvOp(args[0], const(b, w), pads=[1, 1, 1, 1])).result
        c = const(b, cval)
        return [b.insert(op(y, c) if lhs_is_conv else op(c, y)).result]

    module = make_module([[1, 3, 5, 5]], body)
    c, _ = fuse(module, [rand(rng, 1, 3, 5, 5)])
    folds = cshape != (1, 1, 5, 5) and (lhs_is_conv or kind != "sub")
    assert c[f"graph.{kind}"] == (0 if folds else 1)
    assert c["graph.conv"] == 1


def test_chain_bn_then_scale_then_bias_folds_to_one_conv():
    rng = np.random.default_rng(2)
    w = rand(rng, 4, 2, 1, 1)

    def body(b: Builder, args):
        y = b.insert(graph_nn.ConvOp(args[0], const(b, w))).result
        y = b.insert(graph_nn.BatchNormOp(y, *[const(b, p) for p in bn_params(rng, 4)])).result
        y = b.insert(graph.MulOp(y, const(b, rand(rng, 4, 1, 1)))).result
        y = b.insert(graph.AddOp(y, const(b, rand(rng, 4, 1, 1)))).result
        return [b.insert(graph.ReluOp(y)).result]

    c, _ = fuse(make_module([[1, 2, 3, 3]], body), [rand(rng, 1, 2, 3, 3)])
    assert c["graph.conv"] == 1 and c["graph.relu"] == 1
    assert c["graph.batch_norm"] + c["graph.mul"] + c["graph.add"] == 0


def test_no_fold_when_conv_has_two_uses():
    rng = np.random.default_rng(3)
    w = rand(rng, 4, 2, 3, 3)

    def body(b: Builder, args):
        y = b.insert(graph_nn.ConvOp(args[0], const(b, w))).result
        z = b.insert(graph_nn.BatchNormOp(y, *[const(b, p) for p in bn_params(rng, 4)])).result
        return [b.insert(graph.AddOp(y, z)).result]

    c, _ = fuse(make_module([[1, 2, 5, 5]], body), [rand(rng, 1, 2, 5, 5)])
    assert c["graph.batch_norm"] == 1 and c["graph.conv"] == 1


def test_no_fold_when_weights_are_not_constant():
    rng = np.random.default_rng(4)

    def body(b: Builder, args):
        y = b.insert(graph_nn.ConvOp(args[0], args[1])).result
        return [b.insert(graph_nn.BatchNormOp(y, *[const(b, p) for p in bn_params(rng, 4)])).result]

    c, _ = fuse(
        make_module([[1, 2, 5, 5], [4, 2, 3, 3]], body),
        [rand(rng, 1, 2, 5, 5), rand(rng, 4, 2, 3, 3)],
    )
    assert c["graph.batch_norm"] == 1


def test_no_fold_when_batch_norm_params_are_not_constant():
    rng = np.random.default_rng(5)
    w = rand(rng, 4, 2, 3, 3)

    def body(b: Builder, args):
        y = b.insert(graph_nn.ConvOp(args[0], const(b, w))).result
        g, beta, mean, var = bn_params(rng, 4)
        return [
            b.insert(
                graph_nn.BatchNormOp(y, args[1], const(b, beta), const(b, mean), const(b, var))
            ).result
        ]

    c, _ = fuse(make_module([[1, 2, 5, 5], [4]], body), [rand(rng, 1, 2, 5, 5), rand(rng, 4)])
    assert c["graph.batch_norm"] == 1


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_scale_and_bias_fold(trans_b):
    rng = np.random.default_rng(6)
    bmat = rand(rng, 5, 4) if trans_b else rand(rng, 4, 5)
    cval, scale, shift = rand(rng, 5), rand(rng, 1, 5), rand(rng, 3, 5)

    def body(b: Builder, args):
        y = b.insert(
            graph.GemmOp(
                args[0], const(b, bmat), const(b, cval), alpha=0.5, beta=2.0, trans_b=trans_b
            )
        ).result
        y = b.insert(graph.MulOp(y, const(b, scale))).result
        return [b.insert(graph.AddOp(const(b, shift), y)).result]

    c, fused = fuse(make_module([[3, 4]], body), [rand(rng, 3, 4)])
    assert c["graph.gemm"] == 1 and c["graph.mul"] + c["graph.add"] == 0
    (gemm,) = ops_of(fused, graph.GemmOp)
    assert gemm.transB.value.data == trans_b and gemm.alpha.value.data == 0.5


def test_matmul_scale_folds_and_row_varying_scale_does_not():
    rng = np.random.default_rng(7)
    w = rand(rng, 4, 5)

    def body(b: Builder, args):
        y = b.insert(graph.MatMulOp(args[0], const(b, w))).result
        y = b.insert(graph.MulOp(y, const(b, rand(rng, 5)))).result
        y2 = b.insert(graph.MatMulOp(args[0], const(b, w))).result
        y2 = b.insert(graph.MulOp(y2, const(b, rand(rng, 3, 1)))).result  # per row: no fold
        return [b.insert(graph.AddOp(y, y2)).result]

    c, _ = fuse(make_module([[3, 4]], body), [rand(rng, 3, 4)], "graph-fuse{horizontal=false}")
    assert c["graph.mul"] == 1 and c["graph.gemm"] == 1 and c["graph.matmul"] == 1


def test_sibling_convs_merge_into_one_with_slices():
    rng = np.random.default_rng(8)
    ws = [rand(rng, m, 3, 1, 1) for m in (4, 6, 2)]

    def body(b: Builder, args):
        x = args[0]
        a = b.insert(graph_nn.ConvOp(x, const(b, ws[0]), const(b, rand(rng, 4)))).result
        c = b.insert(graph_nn.ConvOp(x, const(b, ws[1]))).result
        d = b.insert(graph_nn.ConvOp(x, const(b, ws[2]), dilations=[2, 2])).result  # differs
        e = b.insert(graph_nn.ConvOp(x, const(b, ws[0]))).result
        s = b.insert(graph.AddOp(a, e)).result
        s = b.insert(graph_shape.ConcatOp([s, d], axis=1)).result
        s = b.insert(graph_shape.ConcatOp([s, c], axis=1)).result
        return [b.insert(graph.AddOp(s, b.insert(graph.ReluOp(s)).result)).result]

    c, fused = fuse(make_module([[2, 3, 4, 4]], body), [rand(rng, 2, 3, 4, 4)])
    assert c["graph.conv"] == 2 and c["graph.slice"] == 3
    widths = sorted(op.weight.type.get_shape()[0] for op in ops_of(fused, graph_nn.ConvOp))
    assert widths == [2, 14]
    starts = [op.start_values[1] for op in ops_of(fused, graph_shape.SliceOp)]
    assert starts == [0, 4, 10]


def test_sibling_convs_with_other_attributes_or_groups_stay_apart():
    rng = np.random.default_rng(9)

    def body(b: Builder, args):
        x = args[0]
        a = b.insert(graph_nn.ConvOp(x, const(b, rand(rng, 4, 4, 3, 3)), pads=[1, 1, 1, 1])).result
        c = b.insert(
            graph_nn.ConvOp(x, const(b, rand(rng, 4, 4, 3, 3)), dilations=[1, 1], pads=[1, 1, 1, 1])
        ).result
        d = b.insert(
            graph_nn.ConvOp(x, const(b, rand(rng, 4, 2, 3, 3)), pads=[1, 1, 1, 1], group=2)
        ).result
        e = b.insert(
            graph_nn.ConvOp(x, const(b, rand(rng, 4, 2, 3, 3)), pads=[1, 1, 1, 1], group=2)
        ).result
        f = b.insert(graph_nn.ConvOp(x, const(b, rand(rng, 4, 4, 1, 1)))).result
        g = b.insert(graph_nn.ConvOp(x, args[1])).result  # weights not constant
        for v in (c, d, e, f, g):
            a = b.insert(graph.AddOp(a, v)).result
        return [a]

    c, _ = fuse(
        make_module([[1, 4, 5, 5], [4, 4, 1, 1]], body),
        [rand(rng, 1, 4, 5, 5), rand(rng, 4, 4, 1, 1)],
    )
    # a and c have the same window (dilations 1 is the default): they merge; the grouped,
    # 1x1 and non-constant convs stay.
    assert c["graph.conv"] == 5 and c["graph.slice"] == 2


def test_sibling_matmuls_merge():
    rng = np.random.default_rng(10)

    def body(b: Builder, args):
        q = b.insert(graph.MatMulOp(args[0], const(b, rand(rng, 8, 3)))).result
        k = b.insert(graph.MatMulOp(args[0], const(b, rand(rng, 8, 5)))).result
        return [
            b.insert(graph_shape.ConcatOp([b.insert(graph.ReluOp(k)).result, q], axis=1)).result
        ]

    c, _ = fuse(make_module([[4, 8]], body), [rand(rng, 4, 8)])
    assert c["graph.matmul"] == 1 and c["graph.slice"] == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 2),
    c=st.sampled_from([1, 2, 4]),
    m_per_group=st.integers(1, 3),
    group=st.sampled_from([1, 2]),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
    dilation=st.integers(1, 2),
    size=st.integers(3, 6),
    seed=st.integers(0, 2**16),
)
def test_conv_bn_fold_hypothesis(n, c, m_per_group, group, k, stride, pad, dilation, size, seed):
    if c % group or dilation * (k - 1) + 1 > size + 2 * pad:
        return
    rng = np.random.default_rng(seed)
    m = m_per_group * group
    w = rand(rng, m, c // group, k, k)

    def body(b: Builder, args):
        y = b.insert(
            graph_nn.ConvOp(
                args[0],
                const(b, w),
                strides=[stride] * 2,
                pads=[pad] * 4,
                dilations=[dilation] * 2,
                group=group,
            )
        ).result
        y = b.insert(graph_nn.BatchNormOp(y, *[const(b, p) for p in bn_params(rng, m)])).result
        return [b.insert(graph.AddOp(y, const(b, rand(rng, m, 1, 1)))).result]

    counted, _ = fuse(make_module([[n, c, size, size]], body), [rand(rng, n, c, size, size)])
    assert counted["graph.conv"] == 1 and counted["graph.batch_norm"] == 0
    assert counted["graph.add"] == 0


def test_sibling_gemms_merge_with_their_alphas_betas_and_transposes():
    rng = np.random.default_rng(11)

    def body(b: Builder, args):
        x = args[0]
        p = b.insert(
            graph.GemmOp(x, const(b, rand(rng, 3, 6)), const(b, rand(rng, 3)), alpha=0.5, trans_b=1)
        ).result
        q = b.insert(
            graph.GemmOp(x, const(b, rand(rng, 6, 2)), const(b, rand(rng, 4, 2)), beta=3.0)
        ).result
        r = b.insert(graph.GemmOp(x, const(b, rand(rng, 6, 4)))).result
        s = b.insert(graph.GemmOp(x, args[1])).result  # B not constant: stays
        return [b.insert(graph_shape.ConcatOp([p, q, r, s], axis=1)).result]

    c, fused = fuse(make_module([[4, 6], [6, 1]], body), [rand(rng, 4, 6), rand(rng, 6, 1)])
    assert c["graph.gemm"] == 2 and c["graph.slice"] == 3
    merged = next(op for op in ops_of(fused, graph.GemmOp) if op.result.type.get_shape()[1] == 9)
    assert merged.alpha.value.data == 1.0 and merged.transB.value.data == 0
    assert merged.c.type.get_shape() == (4, 9)  # q's C varies by row
