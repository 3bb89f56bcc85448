"""convert-tensor-to-loop{flatten}: the trailing dims of a plain generic that every buffer
holds contiguously run as one flat loop (through `loop.reshape` views).

Results are compared with NumPy (exact for Add / Relu / Max, whose per-element arithmetic
does not change; the reductions keep their order, so flattened and nested loops agree
bit for bit) and with the same model compiled with `flatten=false`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.api import make_context, run_pipeline
from irforge.dialects import loop
from irforge.frontends.onnx import import_onnx
from irforge.passes.infra.pipeline import with_pass_options
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from tests.test_graph_nn import one_node, rand


def pipeline(flatten: bool) -> str:
    return with_pass_options(
        DEFAULT_PIPELINE, "convert-tensor-to-loop", {"microkernels": False, "flatten": flatten}
    )


def run(model, *xs, flatten: bool = True, threads: int = 1):
    return irforge.compile(model, pipeline=pipeline(flatten), num_threads=threads)(*xs)


def reshapes(model, flatten: bool = True) -> int:
    """How many loop.reshape views the loop-level lowering made."""
    module = import_onnx(model)
    passes = pipeline(flatten).split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("convert-tensor-to-loop"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    return sum(isinstance(op, loop.ReshapeOp) for op in module.walk())


def test_identity_maps_become_one_loop():
    a, b = rand(1, 8, 7, 7), rand(1, 8, 7, 7, seed=1)
    model = one_node("Add", {"a": a, "b": b})
    assert reshapes(model) >= 3 and reshapes(model, flatten=False) == 0
    np.testing.assert_array_equal(run(model, a, b), a + b)


@pytest.mark.parametrize("threads", [1, 2])
def test_bias_broadcast_and_relu(threads):
    # A per-channel operand uses none of the flattened (h, w) dims.
    a, bias = rand(2, 16, 28, 28), rand(16, 1, 1, seed=1)
    nodes = [
        helper.make_node("Add", ["a", "bias"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "bias_relu",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, a.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, a.shape)],
        [numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    want = np.maximum(a + bias, 0)
    np.testing.assert_array_equal(run(model, a, threads=threads), want)
    np.testing.assert_array_equal(run(model, a, flatten=False), want)


def test_transpose_is_not_flattened_wrongly():
    a = rand(3, 5, 7)
    model = one_node("Transpose", {"a": a}, perm=[0, 2, 1])
    np.testing.assert_array_equal(run(model, a), a.transpose(0, 2, 1))


def test_padded_and_sliced_buffers():
    # A max-pool's padded buffer and a slice's offsets: the flat views must not cross rows.
    x = rand(1, 4, 6, 7)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["p"], ["r"]),
        helper.make_node("Slice", ["r", "starts", "ends", "axes"], ["s"]),
        helper.make_node("Add", ["s", "t"], ["y"]),
    ]
    inits = {
        "starts": np.array([1, 2], np.int64),
        "ends": np.array([5, 7], np.int64),
        "axes": np.array([2, 3], np.int64),
        "t": rand(1, 4, 4, 5, seed=1),
    }
    g = helper.make_graph(
        nodes,
        "pool_slice",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 4, 4, 5))],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    padded = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)], constant_values=-np.inf)
    pool = np.max([padded[:, :, i : i + 6, j : j + 7] for i in range(3) for j in range(3)], axis=0)
    want = np.maximum(pool, 0)[:, :, 1:5, 2:7] + inits["t"]
    np.testing.assert_array_equal(run(model, x), want)


def test_reduction_over_trailing_dims_is_right_flattened_or_not():
    """The two reduced dims run as one flat loop. Sums carry LLVM's `reassoc` flag (so
    that they vectorize), so flattened and nested loops may add in different orders: both
    are compared with NumPy, not with each other bit for bit."""
    x = rand(2, 6, 9, 11)
    model = one_node("ReduceSum", {"x": x}, {"axes": np.array([2, 3], np.int64)}, keepdims=1)
    want = x.sum(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(run(model, x), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run(model, x, flatten=False), want, rtol=1e-5, atol=1e-5)


@settings(max_examples=6, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    mask=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_broadcast_add_random_shapes(shape, mask):
    # b keeps some dims of a and has 1 in the others (ONNX broadcasting).
    a = rand(*shape)
    b = rand(*[d if keep else 1 for d, keep in zip(shape, mask)], seed=1)
    model = one_node("Add", {"a": a, "b": b})
    np.testing.assert_array_equal(run(model, a, b), a + b)
