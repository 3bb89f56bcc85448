"""Numerics of the rewrites that make a transformer layer's non-matmul parts fast, native
code against a float64 NumPy reference:

- reductions whose combining op is `reassoc` (passes/graph_to_tensor/base.py `REASSOC`):
  LLVM sums them in vector lanes, not in order; ReduceSum / ReduceMean over long rows and
  LayerNormalization (rows with a large common offset, where a careless variance loses
  digits) stay within 1e-5 relative of the exact result;
- `pow(x, 3)` as `x * x * x` (passes/graph_to_tensor/math.py): within 1e-6 relative of
  the exact cube, with NaN and infinities as powf gives them; GPT-2's tanh GELU, written
  with Pow, within 1e-5 of the float64 formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge


def _model(nodes, inputs, output_shape, inits=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in inits],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


def _rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
def test_long_row_reduction_within_1e5_of_exact(op):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((8, 3000)) + 2.0).astype(np.float32)
    axes = numpy_helper.from_array(np.array([-1], np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 3000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])],
        initializer=[axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    got = irforge.compile(model, num_threads=1)(x)
    x64 = x.astype(np.float64)
    ref = x64.sum(-1) if op == "ReduceSum" else x64.mean(-1)
    np.testing.assert_allclose(got, ref, rtol=1e-5)


@pytest.mark.parametrize("offset", [0.0, 100.0])
def test_layer_norm_within_1e5_of_float64(offset):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((1, 64, 512)) + offset).astype(np.float32)
    g = rng.standard_normal(512).astype(np.float32)
    b = rng.standard_normal(512).astype(np.float32)
    node = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=1e-12)
    model = _model([node], [("x", [1, 64, 512])], [1, 64, 512], [("g", g), ("b", b)])
    got = irforge.compile(model, num_threads=1)(x)
    x64 = x.astype(np.float64)
    mean = x64.mean(-1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(-1, keepdims=True)
    ref = (x64 - mean) / np.sqrt(var + 1e-12) * g + b
    assert _rel_err(got, ref) < 1e-5


def test_pow_three_is_the_cube_with_ieee_special_values():
    rng = np.random.default_rng(3)
    finite = np.concatenate([rng.standard_normal(997) * 30, [0.0, -0.0, 1e-5]])
    x = np.concatenate([finite, [np.nan, np.inf, -np.inf]]).astype(np.float32)
    n = x.size
    node = helper.make_node("Pow", ["x", "three"], ["y"])
    model = _model([node], [("x", [n])], [n], [("three", 3.0)])
    got = irforge.compile(model, num_threads=1)(x)
    ref = np.power(x.astype(np.float64), 3)
    k = finite.size
    np.testing.assert_allclose(got[:k], ref[:k], rtol=1e-6, atol=0)
    assert np.isnan(got[k]) and got[k + 1] == np.inf and got[k + 2] == -np.inf


def test_gpt2_tanh_gelu_within_1e5_of_float64():
    x = np.linspace(-12, 12, 4096, dtype=np.float32).reshape(4, 1024)
    names = ["three", "k", "c", "one", "half"]
    consts = [3.0, 0.044715, math.sqrt(2 / math.pi), 1.0, 0.5]
    n = helper.make_node
    nodes = [
        n("Pow", ["x", "three"], ["p"]),
        n("Mul", ["p", "k"], ["q"]),
        n("Add", ["x", "q"], ["r"]),
        n("Mul", ["r", "c"], ["s"]),
        n("Tanh", ["s"], ["t"]),
        n("Add", ["t", "one"], ["u"]),
        n("Mul", ["x", "u"], ["v"]),
        n("Mul", ["v", "half"], ["y"]),
    ]
    model = _model(nodes, [("x", [4, 1024])], [4, 1024], list(zip(names, consts)))
    got = irforge.compile(model, num_threads=1)(x)
    x64 = x.astype(np.float64)
    ref = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3)))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
