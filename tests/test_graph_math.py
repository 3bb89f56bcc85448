"""The math family (dialects/graph/math.py) end to end: ONNX import, the NumPy reference,
the lowering through the interpreters, and native code, against ONNX Runtime.

Every case is a one-node ONNX model. Tolerances against ONNX Runtime (measured on 1e5
inputs of scale ~4: worst absolute differences in brackets):

- exact ops (Div, Max, Min, Abs, Neg, Clip, Reciprocal, Sqrt, LeakyRelu, HardSigmoid,
  ReduceMax/Min [0]) and sums whose order may differ from ORT's (Sum, Mean, ReduceSum,
  ReduceMean, ReduceProd: a few ulp of the sum of magnitudes on these small reductions):
  rtol 1e-5, atol 1e-6;
- transcendental ops (Exp, Log, Tanh, Erf, Sigmoid, Softplus, Gelu, Elu, Pow), libm and
  NumPy against ORT's MLAS approximations: rtol 2e-5, atol 1e-6 [relative <= 4e-7 where
  outputs are not tiny; absolute <= 1e-6 for Gelu-tanh up to 16; sigmoid of large negative
  inputs: ORT returns ~1e-7 where the exact value is far smaller];
- LayerNormalization: rtol 1e-5, atol 1e-5 [ORT takes the variance as E[x^2] - mean^2,
  irforge as E[(x - mean)^2]: 7e-6 at width 768 with mean 3, the reference being closer].
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.builder import Builder

import irforge
from irforge.dialects import graph  # first: graph.py imports its op families at its end
from irforge.dialects.graph import math as gm
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, dense_f32, import_onnx
from tests.test_lowering import check_all_stages, make_module

EXACT = {"rtol": 1e-5, "atol": 1e-6}
TRANSCENDENTAL = {"rtol": 2e-5, "atol": 1e-6}
LAYER_NORM = {"rtol": 1e-5, "atol": 1e-5}


def one_node(
    op_type: str,
    inputs: dict[str, tuple[int, ...]],
    attrs: dict | None = None,
    opset: int = 18,
    initializers: dict[str, np.ndarray] | None = None,
    node_inputs: list[str] | None = None,
    outputs: tuple[str, ...] = ("y",),
    graph_outputs: tuple[str, ...] = ("y",),
) -> onnx.ModelProto:
    """A model of one `op_type` node over float32 graph inputs and initializers; output
    types come from ONNX shape inference. IR version 10, which ONNX Runtime accepts."""
    initializers = initializers or {}
    names = node_inputs if node_inputs is not None else [*inputs, *initializers]
    node = helper.make_node(op_type, names, list(outputs), **(attrs or {}))
    graph = helper.make_graph(
        [node],
        "one_node",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in graph_outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    model.ir_version = 10
    return model


def check(model: onnx.ModelProto, feeds: dict[str, np.ndarray], tol: dict) -> np.ndarray:
    """The reference and native results of `model` agree with ONNX Runtime."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, feeds)
    xs = list(feeds.values())
    (ref,) = run_reference(import_onnx(model), xs)
    np.testing.assert_allclose(ref, want, **tol, err_msg="reference vs onnxruntime")
    got = irforge.compile(model)(*xs)
    got = got[0] if isinstance(got, list | tuple) else got
    np.testing.assert_allclose(got, want, **tol, err_msg="native vs onnxruntime")
    return want


def data(seed: int, *shape: int, low: float | None = None, high: float | None = None):
    rng = np.random.default_rng(seed)
    if low is not None:
        return rng.uniform(low, high, shape).astype(np.float32)
    return (rng.standard_normal(shape) * 2).astype(np.float32)


# ------------------------------------------------------------------- binary / variadic


@pytest.mark.parametrize(
    "shapes", [[(2, 3, 4), (4,)], [(3, 1), (1, 4)], [(1,), (2, 3)], [(2, 1, 3), (4, 1)]]
)
@pytest.mark.parametrize("op_type", ["Div", "Pow", "Max", "Min"])
def test_binary_broadcast(op_type, shapes):
    a = data(1, *shapes[0], low=0.1, high=3.0) if op_type == "Pow" else data(1, *shapes[0])
    b = data(2, *shapes[1])
    if op_type == "Div":
        b = np.where(b >= 0, b + 0.5, b - 0.5).astype(np.float32)
    model = one_node(op_type, {"a": shapes[0], "b": shapes[1]}, opset=15)
    tol = TRANSCENDENTAL if op_type == "Pow" else EXACT
    check(model, {"a": a, "b": b}, tol)


@pytest.mark.parametrize("op_type", ["Max", "Min", "Sum", "Mean"])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_variadic(op_type, count):
    shapes = [(2, 3, 4), (3, 1), (4,)][:count]
    names = {f"x{i}": s for i, s in enumerate(shapes)}
    model = one_node(op_type, names, opset=13)
    check(model, {n: data(i, *s) for i, (n, s) in enumerate(names.items())}, EXACT)


@pytest.mark.parametrize("exponent", [np.float32(2.0), np.float32(0.5), np.int64(3)])
def test_pow_constant_exponent(exponent):
    x = data(3, 3, 4, low=-2.0, high=2.0)
    if exponent == 0.5:
        x = np.abs(x)
    model = one_node(
        "Pow", {"x": (3, 4)}, opset=15, initializers={"e": np.array(exponent).reshape(1)}
    )
    check(model, {"x": x}, TRANSCENDENTAL)


# -------------------------------------------------------------------------- unary ops

UNARY_CASES = [
    ("Sqrt", {}, "positive", EXACT),
    ("Exp", {}, "normal", TRANSCENDENTAL),
    ("Log", {}, "positive", TRANSCENDENTAL),
    ("Abs", {}, "normal", EXACT),
    ("Neg", {}, "normal", EXACT),
    ("Reciprocal", {}, "nonzero", EXACT),
    ("Tanh", {}, "normal", TRANSCENDENTAL),
    ("Erf", {}, "normal", TRANSCENDENTAL),
    ("Sigmoid", {}, "wide", TRANSCENDENTAL),
    ("Softplus", {}, "wide", TRANSCENDENTAL),
    ("Gelu", {}, "normal", TRANSCENDENTAL),
    ("Gelu", {"approximate": "tanh"}, "normal", TRANSCENDENTAL),
    ("Gelu", {"approximate": "none"}, "wide", TRANSCENDENTAL),
    ("LeakyRelu", {}, "normal", EXACT),
    ("LeakyRelu", {"alpha": 0.2}, "normal", EXACT),
    ("Elu", {}, "normal", TRANSCENDENTAL),
    ("Elu", {"alpha": 0.5}, "normal", TRANSCENDENTAL),
    ("HardSigmoid", {}, "wide", EXACT),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, "normal", EXACT),
]


def _unary_input(kind: str) -> np.ndarray:
    x = data(4, 3, 4, 5)
    if kind == "positive":
        return np.abs(x) + np.float32(0.01)
    if kind == "nonzero":
        return np.where(x >= 0, x + 0.25, x - 0.25).astype(np.float32)
    if kind == "wide":
        return x * np.float32(10)
    return x


@pytest.mark.parametrize(
    "op_type,attrs,kind,tol",
    UNARY_CASES,
    ids=[
        f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items()) or 'default'}" for c in UNARY_CASES
    ],
)
def test_unary(op_type, attrs, kind, tol):
    model = one_node(op_type, {"x": (3, 4, 5)}, attrs, opset=20)
    check(model, {"x": _unary_input(kind)}, tol)


def test_special_values_match_onnxruntime():
    """inf and NaN where ORT gives them: division by zero, log of 0 and of negatives,
    overflow of exp, saturation of sigmoid and softplus."""
    x = np.array([0.0, -0.0, -1.0, 1.0, 100.0, -100.0, np.inf, -np.inf], np.float32)
    for op_type in ["Reciprocal", "Log", "Sqrt", "Exp", "Sigmoid", "Softplus", "Tanh"]:
        model = one_node(op_type, {"x": (8,)})
        session = ort.InferenceSession(model.SerializeToString())
        (want,) = session.run(None, {"x": x})
        got = irforge.compile(model)(x)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=op_type)


# ------------------------------------------------------------------------------- Clip

CLIP_CASES = [
    # (opset, attributes, initializer bounds (min, max) or None for an omitted input)
    (10, {"min": -0.5, "max": 1.5}, None),
    (10, {"min": 0.0}, None),
    (10, {}, None),
    (11, {}, (-1.0, 2.0)),
    (13, {}, (0.0, None)),
    (13, {}, (None, 0.25)),
    (13, {}, (None, None)),
    (13, {}, (1.0, -1.0)),  # min > max: everything is max
]


@pytest.mark.parametrize("opset,attrs,bounds", CLIP_CASES)
def test_clip(opset, attrs, bounds):
    inits, names = {}, ["x"]
    if bounds is not None:
        for what, value in zip(("lo", "hi"), bounds):
            if value is not None:
                inits[what] = np.array(value, np.float32)
            names.append(what if value is not None else "")
        while names[-1] == "":
            names.pop()
    model = one_node("Clip", {"x": (3, 5)}, attrs, opset, inits, node_inputs=names)
    y = check(model, {"x": data(5, 3, 5)}, EXACT)
    if bounds == (1.0, -1.0):
        np.testing.assert_array_equal(y, -1.0)


def test_clip_bounds_computed_at_run_time():
    model = one_node("Clip", {"x": (3, 5), "lo": (), "hi": ()}, opset=13)
    feeds = {"x": data(6, 3, 5), "lo": np.array(-0.5, np.float32), "hi": np.array(1, np.float32)}
    check(model, feeds, EXACT)


# ------------------------------------------------------------------------- reductions

REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"]
AXES = [[1], [0, 2], [-1], [-3, -1], None]


def _reduce_model(op_type: str, axes, keepdims: int, new_form: bool, extra: dict | None = None):
    attrs = {"keepdims": keepdims, **(extra or {})}
    inits = {}
    if new_form:
        if axes is not None:
            inits["axes"] = np.array(axes, np.int64)
        opset = 18
    else:
        if axes is not None:
            attrs["axes"] = axes
        opset = 11 if op_type == "ReduceSum" else 17
    return one_node(op_type, {"x": (2, 3, 4)}, attrs, opset, inits)


@pytest.mark.parametrize("new_form", [False, True], ids=["axes-attribute", "axes-input"])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("axes", AXES, ids=lambda a: "all" if a is None else str(a))
@pytest.mark.parametrize("op_type", REDUCE_OPS)
def test_reduce(op_type, axes, keepdims, new_form):
    x = data(7, 2, 3, 4, low=0.5, high=1.5) if op_type == "ReduceProd" else data(7, 2, 3, 4)
    check(_reduce_model(op_type, axes, keepdims, new_form), {"x": x}, EXACT)


@pytest.mark.parametrize("op_type", ["ReduceSum", "ReduceMean"])
def test_reduce_noop_with_empty_axes(op_type):
    model = _reduce_model(op_type, None, 1, True, {"noop_with_empty_axes": 1})
    x = data(8, 2, 3, 4)
    np.testing.assert_array_equal(check(model, {"x": x}, EXACT), x)


def test_reduce_sum_opset13_takes_axes_input():
    model = one_node(
        "ReduceSum", {"x": (2, 3, 4)}, {"keepdims": 0}, 13, {"axes": np.array([2], np.int64)}
    )
    check(model, {"x": data(9, 2, 3, 4)}, EXACT)


# ------------------------------------------------------------------ LayerNormalization


@pytest.mark.parametrize(
    "axis,bias,epsilon", [(-1, True, None), (1, True, 1e-3), (0, False, None), (-2, False, 0.1)]
)
def test_layer_normalization(axis, bias, epsilon):
    shape = (2, 3, 4)
    normalized = shape[axis % 3 :]
    inits = {"scale": data(10, *normalized)}
    if bias:
        inits["bias"] = data(11, *normalized)
    attrs = {"axis": axis} | ({"epsilon": epsilon} if epsilon is not None else {})
    model = one_node("LayerNormalization", {"x": shape}, attrs, 17, inits)
    check(model, {"x": data(12, *shape) + np.float32(3)}, LAYER_NORM)


# -------------------------------------------------------------------- declined imports


def _declined(model: onnx.ModelProto, match: str) -> None:
    with pytest.raises(ONNXImportError, match=match):
        import_onnx(model)


def test_layer_norm_mean_and_inv_std_dev_outputs():
    model = one_node(
        "LayerNormalization",
        {"x": (2, 3, 4)},
        {"axis": 1},
        opset=17,
        initializers={"scale": data(1, 3, 4)},
        outputs=("y", "mean", "inv_std_dev"),
        graph_outputs=("y", "mean", "inv_std_dev"),
    )
    x = data(2, 2, 3, 4)
    session = ort.InferenceSession(model.SerializeToString())
    want = session.run(None, {"x": x})
    got = irforge.compile(model)(x)
    assert [g.shape for g in got] == [(2, 3, 4), (2, 1, 1), (2, 1, 1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **LAYER_NORM)


def test_repeated_axes_are_declined():
    _declined(_reduce_model("ReduceMax", [1, -2], 1, False), "repeat a dimension")


def test_runtime_axes_are_declined():
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"])
    graph = helper.make_graph(
        [node],
        "runtime_axes",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 3)),
            helper.make_tensor_value_info("axes", TensorProto.INT64, (1,)),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 1))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    _declined(model, "axes")  # an int64 graph input, or axes that are not a constant


def test_bad_gelu_mode_is_declined():
    _declined(one_node("Gelu", {"x": (2,)}, {"approximate": "fast"}, 20), "approximate")


# --------------------------------------------------------------------- lowering stages


def _const(b: Builder, array: np.ndarray):
    return b.insert(graph.ConstantOp(dense_f32(array))).result


def test_unary_chain_all_stages():
    """Every unary body through the tensor and loop interpreters and native code."""
    x = data(13, 2, 5)

    def body(b: Builder, args):
        v = args[0]
        for op in [
            gm.SigmoidOp(v),
            gm.GeluOp(v, approximate="tanh"),
            gm.GeluOp(v),
            gm.SoftplusOp(v),
            gm.EluOp(v, alpha=0.5),
            gm.LeakyReluOp(v, alpha=0.1),
            gm.HardSigmoidOp(v),
            gm.ClipOp(v, min=-0.5, max=0.75),
            gm.TanhOp(v),
            gm.ErfOp(v),
            gm.ExpOp(v),
            gm.AbsOp(v),
            gm.SqrtOp(v),
            gm.LogOp(v),
            gm.ReciprocalOp(v),
            gm.NegOp(v),
        ]:
            v = b.insert(op).result
        return [v]

    check_all_stages(make_module([(2, 5)], body), [x])


def test_binary_and_pow_square_all_stages():
    x, y = data(14, 2, 3, low=0.5, high=2.0), data(15, 3)

    def body(b: Builder, args):
        two = _const(b, np.array([2.0], np.float32))
        sq = b.insert(gm.PowOp(args[1], two)).result  # x * x, broadcast to [3]
        v = b.insert(gm.PowOp(args[0], sq)).result
        v = b.insert(gm.DivOp(v, args[1])).result
        v = b.insert(gm.MaxOp(v, args[1])).result
        return [b.insert(gm.MinOp(v, sq)).result]

    check_all_stages(make_module([(2, 3), (3,)], body), [x, y])


@pytest.mark.parametrize("cls", [gm.ReduceMeanOp, gm.ReduceMaxOp, gm.ReduceProdOp])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_all_stages(cls, keepdims):
    x = data(16, 2, 3, 4, low=0.5, high=1.5)

    def body(b: Builder, args):
        return [b.insert(cls(args[0], [0, -1], keepdims=keepdims)).result]

    check_all_stages(make_module([(2, 3, 4)], body), [x])


def test_layer_norm_all_stages():
    x, scale, bias = data(17, 2, 3, 4), data(18, 3, 4), data(19, 4)

    def body(b: Builder, args):
        op = gm.LayerNormOp(args[0], _const(b, scale), _const(b, bias), axis=1, epsilon=1e-3)
        return [b.insert(op).result]

    check_all_stages(make_module([(2, 3, 4)], body), [x])
