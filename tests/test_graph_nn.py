"""The nn ops (Conv, pools, BatchNormalization, LRN, Dropout) end to end.

Each case is a one-node ONNX model: irforge imports it, and both the graph-level NumPy
reference and natively compiled code must match ONNX Runtime (rtol 1e-4, atol 1e-5).
A few tiny cases also run through the tensor and loop interpreters (check_all_stages).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.dialects import graph
from irforge.dialects.graph import nn as graph_nn
from irforge.dialects.graph.nn import Window
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx
from irforge.passes.graph_to_tensor.nn import average_pool_divisor
from tests.test_lowering import check_all_stages, make_module

RTOL, ATOL = 1e-4, 1e-5


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(np.float32)


def one_node(
    op_type: str,
    inputs: dict[str, np.ndarray],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 13,
    outputs: tuple[str, ...] = ("y",),
    **attrs,
) -> onnx.ModelProto:
    """A model of one `op_type` node: graph inputs, then initializers, as node inputs."""
    initializers = initializers or {}
    rank = next(iter(inputs.values())).ndim
    node = helper.make_node(op_type, [*inputs, *initializers], list(outputs), **attrs)
    g = helper.make_graph(
        [node],
        op_type.lower(),
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * rank) for o in outputs],
        [numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return model


def check(model: onnx.ModelProto, inputs: dict[str, np.ndarray], native: bool = True):
    """Reference and native results of `model` against ONNX Runtime."""
    want = ort.InferenceSession(model.SerializeToString()).run(None, inputs)[0]
    module = import_onnx(model)
    (got,) = run_reference(module, list(inputs.values()))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg="reference")
    if native:
        out = irforge.compile(model)(*inputs.values())
        np.testing.assert_allclose(out, want, rtol=RTOL, atol=ATOL, err_msg="native")
    return want


# ---------------------------------------------------------------------------------- Conv

CONV_CASES = {
    "plain_bias": ((1, 3, 6, 6), (4, 3, 3, 3), True, {}),
    "stride2_sym_pads": ((2, 3, 7, 7), (5, 3, 3, 3), True, dict(strides=[2, 2], pads=[1] * 4)),
    "asym_pads_dilations": (
        (1, 2, 7, 8),
        (3, 2, 3, 2),
        False,
        dict(strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2]),
    ),
    "group2": ((1, 4, 6, 6), (6, 2, 3, 3), True, dict(group=2, pads=[1, 1, 1, 1])),
    "depthwise": ((1, 4, 7, 7), (4, 1, 3, 3), True, dict(group=4, pads=[1] * 4, strides=[2, 2])),
    "depthwise_multiplier": ((1, 3, 5, 5), (6, 1, 3, 3), False, dict(group=3)),
    # Rows longer than a vector, with a remainder (the row is the innermost loop).
    "depthwise_long_rows": ((1, 4, 5, 37), (4, 1, 3, 3), True, dict(group=4, pads=[1] * 4)),
    "depthwise_1d_dilated": ((1, 3, 12), (3, 1, 3), True, dict(group=3, dilations=[2])),
    "pointwise_stride2": ((1, 8, 5, 5), (4, 8, 1, 1), True, dict(strides=[2, 2])),
    "kernel_shape_attr": ((1, 2, 5, 5), (2, 2, 3, 3), False, dict(kernel_shape=[3, 3])),
    "same_upper": ((1, 3, 7, 7), (4, 3, 3, 3), True, dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    "same_lower": ((1, 3, 6, 6), (4, 3, 2, 2), False, dict(auto_pad="SAME_LOWER")),
    "valid": ((1, 3, 6, 6), (4, 3, 3, 3), False, dict(auto_pad="VALID", strides=[2, 2])),
    "conv1d": ((2, 4, 9), (4, 2, 3), True, dict(group=2, pads=[1, 2], strides=[2])),
    "conv3d": ((1, 2, 4, 5, 5), (3, 2, 2, 3, 2), True, dict(pads=[1, 0, 1, 0, 1, 1])),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv(case):
    x_shape, w_shape, has_bias, attrs = CONV_CASES[case]
    inits = {"w": rand(*w_shape, seed=1)}
    if has_bias:
        inits["b"] = rand(w_shape[0], seed=2)
    x = rand(*x_shape)
    check(one_node("Conv", {"x": x}, inits, **attrs), {"x": x})


def test_depthwise_conv_runs_along_output_rows():
    """A depthwise convolution's generic has its last output dim innermost (after the
    reductions), so that its innermost loop vectorizes (passes/graph_to_tensor/nn.py)."""
    from irforge.api import make_context, run_pipeline
    from irforge.dialects.tensor import GenericOp

    model = one_node("Conv", {"x": rand(1, 4, 6, 6)}, {"w": rand(4, 1, 3, 3)}, group=4)
    module = import_onnx(model)
    run_pipeline(module, "convert-graph-to-tensor", make_context())
    (conv,) = [op for op in module.walk() if isinstance(op, GenericOp) and len(op.ins) == 2]
    assert conv.iterators == ["parallel"] * 3 + ["reduction"] * 3 + ["parallel"]


def test_conv_with_weights_as_inputs():
    x, w, b = rand(1, 2, 5, 5), rand(4, 2, 3, 3, seed=3), rand(4, seed=4)
    model = one_node("Conv", {"x": x, "w": w, "b": b}, pads=[0, 1, 1, 0])
    check(model, {"x": x, "w": w, "b": b})


# --------------------------------------------------------------------------------- pools

POOL_CASES = {
    "k2s2": ((1, 2, 6, 6), dict(kernel_shape=[2, 2], strides=[2, 2])),
    "k3s1_sym_pads": ((1, 3, 5, 5), dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "k3s2_asym_pads": ((2, 2, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 0, 1])),
    "ceil": ((1, 2, 6, 7), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "ceil_pads": (
        (1, 2, 6, 6),
        dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    ),
    "ceil_last_window_in_pad": (
        (1, 1, 5, 5),
        dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1),
    ),
    "same_upper": ((1, 2, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
    "same_lower": ((1, 2, 5, 6), dict(kernel_shape=[2, 2], auto_pad="SAME_LOWER")),
    "pool1d": ((1, 3, 9), dict(kernel_shape=[3], strides=[2], pads=[1, 1])),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_max_pool(case):
    shape, attrs = POOL_CASES[case]
    x = rand(*shape)
    check(one_node("MaxPool", {"x": x}, **attrs), {"x": x})


def test_max_pool_dilations():
    x = rand(1, 2, 8, 8)
    attrs = dict(kernel_shape=[2, 3], strides=[2, 1], dilations=[2, 2], pads=[1, 0, 0, 1])
    check(one_node("MaxPool", {"x": x}, **attrs), {"x": x})


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_average_pool(case, count_include_pad):
    shape, attrs = POOL_CASES[case]
    x = rand(*shape)
    model = one_node("AveragePool", {"x": x}, count_include_pad=count_include_pad, **attrs)
    check(model, {"x": x})


def test_average_pool_dilations_opset19():
    x = rand(1, 2, 7, 7)
    attrs = dict(kernel_shape=[2, 2], dilations=[2, 1], pads=[1, 1, 0, 0], ceil_mode=1)
    check(one_node("AveragePool", {"x": x}, opset=19, **attrs), {"x": x})


@pytest.mark.parametrize("op_type", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 4, 6)])
def test_global_pools(op_type, shape):
    x = rand(*shape)
    check(one_node(op_type, {"x": x}), {"x": x})


def test_average_pool_divisor():
    """Counts per output position: corners of a padded 3x3 window see 4 elements."""
    win = Window.of([3, 3], [1, 1], [1, 1, 1, 1])
    div = average_pool_divisor(win, (4, 4), count_include_pad=False)
    np.testing.assert_array_equal(div[0], [4, 6, 6, 4])
    assert np.all(average_pool_divisor(win, (4, 4), count_include_pad=True) == 9)


# ---------------------------------------------------------------------- BatchNormalization


def _bn_params(c: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(c)
    return {
        "scale": rng.uniform(0.5, 1.5, c).astype(np.float32),
        "bias": rng.standard_normal(c).astype(np.float32),
        "mean": rng.standard_normal(c).astype(np.float32),
        "var": rng.uniform(0.5, 1.5, c).astype(np.float32),
    }


@pytest.mark.parametrize("opset", [7, 9, 15])
def test_batch_norm_constant_parameters(opset):
    x = rand(2, 3, 4, 5)
    model = one_node("BatchNormalization", {"x": x}, _bn_params(3), opset=opset, epsilon=1e-3)
    check(model, {"x": x})


def test_batch_norm_parameters_as_inputs():
    """Non-constant parameters: the generic computes sqrt(var + eps) itself."""
    x = rand(2, 4, 3)
    inputs = {"x": x, **_bn_params(4)}
    check(one_node("BatchNormalization", inputs), inputs)


def test_batch_norm_training_mode_is_declined():
    x = rand(2, 3, 2, 2)
    model = one_node("BatchNormalization", {"x": x}, _bn_params(3), opset=15, training_mode=1)
    with pytest.raises(ONNXImportError, match="training_mode = 1"):
        import_onnx(model)


# ------------------------------------------------------------------------------------ LRN


@pytest.mark.parametrize(
    "size,alpha,beta,bias", [(5, 1e-4, 0.75, 1.0), (3, 0.1, 0.5, 2.0), (1, 0.5, 0.75, 1.0)]
)
def test_lrn(size, alpha, beta, bias):
    x = rand(2, 6, 3, 3) * 3
    model = one_node("LRN", {"x": x}, size=size, alpha=alpha, beta=beta, bias=bias)
    check(model, {"x": x})


def test_lrn_even_size():
    """ONNX Runtime refuses even sizes (and the onnx package's reference LRN loops over
    the batch instead of the channels): compare with the spec's formula, channel by
    channel. size 4 sums channels c - 1 .. c + 2."""
    x = rand(1, 5, 2, 3)
    alpha, beta, bias = 0.2, 0.75, 1.5
    model = one_node("LRN", {"x": x}, size=4, alpha=alpha, beta=beta, bias=bias)
    want = np.empty_like(x)
    for c in range(5):
        square_sum = np.sum(x[:, max(0, c - 1) : c + 3] ** 2, axis=1)
        want[:, c] = x[:, c] / (bias + alpha / 4 * square_sum) ** beta
    (got,) = run_reference(import_onnx(model), [x])
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(irforge.compile(model)(x), want, rtol=RTOL, atol=ATOL)


# -------------------------------------------------------------------------------- Dropout


@pytest.mark.parametrize("opset", [7, 12, 13])
def test_dropout_is_identity(opset):
    x = rand(2, 3, 4)
    attrs = {"ratio": 0.4} if opset < 12 else {}
    model = one_node("Dropout", {"x": x}, opset=opset, **attrs)
    module = import_onnx(model)
    ops = [op.name for op in module.walk() if op.dialect_name() == "graph"]
    assert ops == []
    check(model, {"x": x})


@pytest.mark.parametrize(
    "op_type,attrs,extra",
    [("Dropout", {}, "mask"), ("MaxPool", {"kernel_shape": [2, 2]}, "indices")],
)
def test_used_extra_output_is_declined(op_type, attrs, extra):
    """Only the first output is imported: a model reading the second one fails to import,
    naming it; the same node with the second output unused imports."""
    x = rand(1, 2, 4, 4)
    used = one_node(op_type, {"x": x}, outputs=("y", extra), **attrs)
    with pytest.raises(ONNXImportError, match=extra):
        import_onnx(used)
    unused = one_node(op_type, {"x": x}, outputs=("y", extra), **attrs)
    unused.graph.output.pop()
    check(unused, {"x": x}, native=False)


def test_dropout_training_mode_is_declined():
    x = rand(2, 3)
    model = one_node("Dropout", {"x": x}, opset=13)
    model.graph.node[0].input.extend(["", "training"])
    model.graph.node.insert(
        0,
        helper.make_node(
            "Constant", [], ["training"], value=numpy_helper.from_array(np.array(True))
        ),
    )
    # Declined by the Dropout converter, or earlier if the importer refuses bool constants.
    with pytest.raises(ONNXImportError, match="training_mode|element type bool"):
        import_onnx(model)


def test_small_cnn_end_to_end():
    """The nn ops composed as in the light models (AlexNet/Inception-style blocks)."""
    rng = np.random.default_rng(11)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2 / np.prod(shape[1:]))).astype(np.float32)

    inits = {"w1": w(8, 3, 5, 5), "b1": w(8), "w2": w(8, 4, 3, 3), "w3": w(6, 8, 1, 1)}
    inits.update({f"bn_{k}": v for k, v in _bn_params(8).items()})
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], pads=[2] * 4),
        helper.make_node(
            "BatchNormalization",
            ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
            ["n1"],
            epsilon=1e-5,
        ),
        helper.make_node("Relu", ["n1"], ["r1"]),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]
        ),
        helper.make_node("LRN", ["p1"], ["l1"], size=5, alpha=1e-4, beta=0.75, bias=2.0),
        helper.make_node("Conv", ["l1", "w2"], ["c2"], group=2, pads=[1] * 4),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Dropout", ["r2"], ["d2"], ratio=0.5),
        helper.make_node("Conv", ["d2", "w3"], ["c3"]),
        helper.make_node(
            "AveragePool", ["c3"], ["a3"], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1]
        ),
        helper.make_node("GlobalAveragePool", ["a3"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 17, 17])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6, 1, 1])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 10
    x = rand(2, 3, 17, 17)
    check(model, {"x": x})


# --------------------------------------------------------------------------- import errors


@pytest.mark.parametrize(
    "attrs,w_shape,message",
    [
        (dict(group=2), (4, 3, 3, 3), "group 2 must be positive and divide the input channels"),
        (dict(group=3), (4, 1, 3, 3), "group 3 must be positive and divide"),
        ({}, (4, 2, 3, 3), "has 2 input channels per group, expected 3"),
        (dict(kernel_shape=[2, 2]), (4, 3, 3, 3), r"kernel_shape \[2, 2\] differs"),
        (dict(auto_pad="SAME"), (4, 3, 3, 3), "auto_pad 'SAME' is not one of"),
        (dict(pads=[1, 1]), (4, 3, 3, 3), "pads has 2 entries, expected 4"),
        ({}, (4, 3, 9, 3), "does not fit the padded input"),
    ],
)
def test_conv_import_errors(attrs, w_shape, message):
    x = rand(1, 3, 6, 6)
    model = one_node("Conv", {"x": x}, {"w": rand(*w_shape)}, **attrs)
    with pytest.raises(ONNXImportError, match=message):
        import_onnx(model)


def test_pool_without_kernel_shape_is_declined():
    model = one_node("MaxPool", {"x": rand(1, 1, 4, 4)})
    with pytest.raises(ONNXImportError, match="kernel_shape"):
        import_onnx(model)


# ------------------------------------------------------------- every stage of the lowering


def test_conv_grouped_padded_all_stages():
    x, w, b = rand(1, 4, 4, 5), rand(4, 2, 2, 3, seed=5), rand(4, seed=6)

    def body(bld, args):
        op = graph_nn.ConvOp(*args, strides=[2, 1], pads=[1, 0, 0, 1], group=2)
        return [bld.insert(op).result]

    out = check_all_stages(make_module([x.shape, w.shape, b.shape], body), [x, w, b])
    assert out.shape == (1, 4, 2, 4)


def test_depthwise_conv_dilated_all_stages():
    x, w = rand(1, 3, 5, 5), rand(3, 1, 2, 2, seed=7)

    def body(bld, args):
        op = graph_nn.ConvOp(*args, dilations=[2, 1], group=3)
        return [bld.insert(op).result]

    check_all_stages(make_module([x.shape, w.shape], body), [x, w])


@pytest.mark.parametrize(
    "cls,extra", [(graph_nn.MaxPoolOp, {}), (graph_nn.AveragePoolOp, {"count_include_pad": 0})]
)
def test_pools_ceil_mode_all_stages(cls, extra):
    x = rand(1, 2, 5, 6)

    def body(bld, args):
        op = cls(args[0], [3, 2], strides=[2, 2], pads=[1, 0, 0, 1], ceil_mode=1, **extra)
        return [bld.insert(op).result]

    check_all_stages(make_module([x.shape], body), [x])


@pytest.mark.parametrize("cls", [graph_nn.GlobalAveragePoolOp, graph_nn.GlobalMaxPoolOp])
def test_global_pools_all_stages(cls):
    x = rand(2, 3, 3, 2)

    def body(bld, args):
        return [bld.insert(cls(args[0])).result]

    check_all_stages(make_module([x.shape], body), [x])


@pytest.mark.parametrize("constant", [True, False])
def test_batch_norm_all_stages(constant):
    x = rand(1, 3, 2, 2)
    params = list(_bn_params(3).values())

    def body(bld, args):
        if constant:
            ps = [bld.insert(graph.ConstantOp(_dense(p))).result for p in params]
        else:
            ps = args[1:]
        return [bld.insert(graph_nn.BatchNormOp(args[0], *ps, epsilon=1e-3)).result]

    shapes = [x.shape] + ([] if constant else [p.shape for p in params])
    inputs = [x] + ([] if constant else params)
    check_all_stages(make_module(shapes, body), inputs)


def test_lrn_all_stages():
    x = rand(1, 5, 2, 2) * 2

    def body(bld, args):
        op = graph_nn.LRNOp(args[0], 3, alpha=0.1, beta=0.75, bias=2.0)
        return [bld.insert(op).result]

    check_all_stages(make_module([x.shape], body), [x])


def _dense(array: np.ndarray):
    from irforge.frontends.onnx import dense_f32

    return dense_f32(array)
