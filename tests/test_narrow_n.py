"""The narrow-N mode of the microkernel lowering (passes/tensor_to_loop/microkernel/lower.py,
`_Lowering.emit_transposed`): convolutions whose output positions pad badly to NR = 32
columns (7 x 7, 5 x 5, 14 x 14 for a 1x1) are computed with the output channels in the
vectors and MR = 4..8 output positions per tile, stored transposed into the NCHW output.

Every case is an ONNX model compiled natively with the microkernel path forced on and
compared with ONNX Runtime (rtol 1e-4, atol 1e-4 times the scale of the result), and
checks from the kernels made that the mode was (or was not) taken. The shapes cover
several K blocks (K > 256), strides, padding, a batch (outer) dim, output channel counts
that split unevenly over threads, a fused batch-norm + ReLU prologue in the packing, and
bias + residual add + ReLU after the convolution.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from irforge.api import make_context, run_pipeline
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import import_onnx
from irforge.passes.infra.pipeline import with_pass_options
from tests.test_graph_nn import one_node, rand
from tests.test_microkernel import FORCED, NCHW, close, kernels_in, native, ort_run

NARROW_OFF = with_pass_options(
    NCHW, "convert-tensor-to-loop", {"microkernel-min-flops": 0, "narrow-n": False}
)


def transposed(model, pipeline: str = FORCED) -> bool:
    """Whether the pipeline lowered some contraction of `model` in the narrow-N mode."""
    return any(name.endswith("_t") for name in kernels_in(model, pipeline))


def conv(xs, ws, bias=True, **attrs):
    x = rand(*xs)
    inits = {"w": rand(*ws, seed=1)}
    if bias:
        inits["b"] = rand(ws[0], seed=2)
    return x, one_node("Conv", {"x": x}, inits, **attrs)


# (input shape, weight shape, attributes, narrow-N mode expected)
CASES = {
    "7x7_3x3_two_k_blocks": ((1, 64, 7, 7), (64, 64, 3, 3), dict(pads=[1] * 4), True),
    "7x7_1x1": ((1, 40, 7, 7), (96, 40, 1, 1), {}, True),
    "14x14_to_7x7_stride2": (
        (1, 24, 14, 14),
        (32, 24, 3, 3),
        dict(strides=[2, 2], pads=[1] * 4),
        True,
    ),
    "5x5_rows_of_5": ((1, 12, 5, 5), (64, 12, 3, 3), dict(pads=[1] * 4), True),
    "6x6_rows_of_6": ((1, 9, 6, 6), (32, 9, 1, 1), {}, True),
    "5x9_asym_pads": ((1, 10, 5, 9), (32, 10, 2, 2), dict(pads=[1, 1, 0, 0]), True),
    "14x14_1x1_step": ((1, 48, 14, 14), (64, 48, 1, 1), {}, True),
    "14x14_3x3_keeps_normal": ((1, 16, 14, 14), (32, 16, 3, 3), dict(pads=[1] * 4), False),
    "11x11_pads_little": ((1, 8, 11, 11), (32, 8, 1, 1), {}, False),
    "13x13_no_row_count": ((1, 8, 13, 13), (32, 8, 1, 1), {}, False),
    "channels_not_multiple_of_32": ((1, 16, 7, 7), (40, 16, 3, 3), dict(pads=[1] * 4), False),
    "batch2": ((2, 20, 7, 7), (64, 20, 3, 3), dict(pads=[1] * 4), True),
}


@pytest.mark.parametrize("case", CASES)
def test_narrow_conv(case):
    xs, ws, attrs, expect = CASES[case]
    x, model = conv(xs, ws, **attrs)
    assert transposed(model) == expect
    want = ort_run(model, {"x": x})
    close(native(model, x), want)
    if expect:
        assert not transposed(model, NARROW_OFF)
        close(native(model, x, pipeline=NARROW_OFF), want)


@pytest.mark.parametrize("threads", [2, 3])
def test_narrow_conv_threads_split_channels(threads):
    # 96 channels = 3 NR panels: 2 threads get blocks of 2 and 1 panels, 3 threads one each.
    x, model = conv((1, 33, 7, 7), (96, 33, 3, 3), pads=[1] * 4)
    assert transposed(model)
    got = native(model, x, threads=threads)
    close(got, ort_run(model, {"x": x}))
    np.testing.assert_array_equal(got, native(model, x, threads=1))


@settings(max_examples=5, deadline=None)
@given(
    c=st.integers(1, 40),
    panels=st.integers(1, 3),
    hw=st.sampled_from([5, 6, 7, 9, 10, 14]),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
)
def test_narrow_conv_random_shapes(c, panels, hw, kernel, stride, pad):
    x, model = conv(
        (1, c, hw, hw),
        (32 * panels, c, kernel, kernel),
        strides=[stride, stride],
        pads=[pad] * 4,
    )
    close(native(model, x), ort_run(model, {"x": x}))


def _model(nodes, x, inits, name):
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return model


def test_bias_residual_relu_epilogue():
    # y = relu(conv3x3(x) + b + x): a ResNet block's tail at 7 x 7.
    x = rand(1, 64, 7, 7)
    inits = {"w": rand(64, 64, 3, 3, seed=1) * 0.1, "b": rand(64, seed=2)}
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4),
        helper.make_node("Add", ["c", "x"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    model = _model(nodes, x, inits, "residual")
    assert transposed(model)
    close(native(model, x), ort_run(model, {"x": x}))


def test_fused_batchnorm_relu_prologue():
    # BatchNorm + Relu fused into the conv's input: packing the mr-row panels evaluates it.
    x = rand(1, 16, 7, 7)
    inits = {
        "s": np.linspace(0.5, 1.5, 16, dtype=np.float32),
        "t": rand(16, seed=3),
        "mu": rand(16, seed=4),
        "var": np.linspace(0.5, 2.0, 16, dtype=np.float32),
        "w": rand(64, 16, 1, 1, seed=5),
    }
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "t", "mu", "var"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("Conv", ["r", "w"], ["y"]),
    ]
    model = _model(nodes, x, inits, "bn_relu_conv")
    assert transposed(model)
    close(native(model, x), ort_run(model, {"x": x}))


def test_loop_level_interpreter_runs_the_transposed_kernel():
    x, model = conv((1, 3, 5, 5), (32, 3, 1, 1), bias=False)
    module = import_onnx(model)
    stop = "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop{microkernel-min-flops=0}"
    run_pipeline(module, stop, make_context())
    assert any(op.sym_name.data.endswith("_t") for op in module.ops)
    (got,) = run_reference(module, [x])
    close(got, ort_run(model, {"x": x}))


@pytest.mark.parametrize(
    "bits,xs,ws",
    [
        (256, (1, 24, 7, 7), (32, 24, 3, 3)),  # NR = 16: 49 in 64 columns, rows of 7
        (128, (1, 16, 5, 5), (32, 16, 3, 3)),  # NR = 16: 25 in 32 columns, rows of 5
    ],
)
def test_narrow_conv_narrower_vectors(bits, xs, ws):
    x, model = conv(xs, ws, pads=[1] * 4)
    pipeline = with_pass_options(FORCED, "convert-tensor-to-loop", {"vector-bits": bits})
    assert transposed(model, pipeline)
    close(native(model, x, pipeline=pipeline), ort_run(model, {"x": x}))
