"""graph.trilu and graph.cumsum (dialects/graph/positional.py): ONNX Trilu and CumSum on
runtime tensors import, match ONNX Runtime compiled to native code and in the NumPy
reference semantics, and bad input is a clear error.

Integer results are compared exactly; float32 Trilu exactly (it only selects); float32
CumSum with rtol 1e-5 and atol 1e-5 of the largest |result| (summation order).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import TensorType, f32, i1
from xdsl.ir import Block
from xdsl.utils.exceptions import VerifyException

import irforge
from irforge.dialects import graph
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx


def model_of(op_type: str, x: np.ndarray, known: dict | None = None, opset=14, **attrs):
    """One `op_type` node on a runtime input `x` and known inputs `known` (name -> array
    or None for an omitted input)."""
    known = known or {}
    node = helper.make_node(op_type, ["x", *(k if v is not None else "" for k, v in known.items())],
                            ["y"], **attrs)  # fmt: skip
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    g = helper.make_graph(
        [node],
        op_type.lower(),
        [helper.make_tensor_value_info("x", elem, x.shape)],
        [helper.make_tensor_value_info("y", elem, x.shape)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in known.items() if v is not None],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def onnxruntime(model, x):
    return ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]


def check_all_paths(model, x, exact: bool):
    """Native code and the reference semantics agree with ONNX Runtime."""
    want = onnxruntime(model, x)
    got = irforge.compile(model)(x)
    (ref,) = run_reference(import_onnx(model), [x])
    for result in (np.asarray(got), np.asarray(ref)):
        assert result.dtype == want.dtype and result.shape == want.shape
        if exact:
            np.testing.assert_array_equal(result, want)
        else:
            scale = float(np.max(np.abs(want)))
            np.testing.assert_allclose(result, want, rtol=1e-5, atol=1e-5 * scale)


def data(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-50, 50, shape).astype(dtype)


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, 0, -2, 3, 9])
@pytest.mark.parametrize(("dtype", "shape"), [(np.float32, (2, 3, 5, 7)), (np.int64, (6, 4))])
def test_trilu_matches_onnxruntime(upper, k, dtype, shape):
    x = data(dtype, shape)
    known = {"k": np.array(k, np.int64) if k is not None else None}
    check_all_paths(model_of("Trilu", x, known, upper=upper), x, exact=True)


@pytest.mark.parametrize(
    ("axis", "exclusive", "reverse"),
    [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (1, 0, 1), (2, 1, 1), (-3, 1, 1)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32])
def test_cumsum_matches_onnxruntime(axis, exclusive, reverse, dtype):
    x = data(dtype, (3, 5, 4))
    known = {"axis": np.array(axis, np.int32)}
    model = model_of("CumSum", x, known, exclusive=exclusive, reverse=reverse)
    check_all_paths(model, x, exact=np.dtype(dtype).kind == "i")


def test_cumsum_of_a_padding_mask_counts_positions():
    """RoBERTa's position ids: the running count of unpadded tokens (int32)."""
    mask = np.array([[1, 1, 1, 1, 0, 0]], np.int32)
    model = model_of("CumSum", mask, {"axis": np.array(1, np.int64)})
    assert irforge.compile(model)(mask).tolist() == [[1, 2, 3, 4, 4, 4]]


def test_runtime_k_axis_and_range_are_clear_errors():
    x = data(np.float32, (4, 4))
    runtime_k = model_of("Trilu", x)
    node = runtime_k.graph.node[0]
    node.input.append("x2")
    runtime_k.graph.input.append(helper.make_tensor_value_info("x2", 7, []))
    with pytest.raises(ONNXImportError, match=r"Trilu .*the k input is computed at run time"):
        import_onnx(runtime_k)
    r = helper.make_node("Range", ["a", "b", "c"], ["y"], name="r0")
    g = helper.make_graph(
        [r],
        "range",
        [helper.make_tensor_value_info(n, 7, []) for n in "abc"],
        [helper.make_tensor_value_info("y", 7, [None])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    with pytest.raises(ONNXImportError, match="Range node 'r0'.*known at import"):
        import_onnx(m, input_shapes={})


def _arg(t):
    return Block(arg_types=[t]).args[0]


def test_verifier_rejects_bad_rank_type_and_axis():
    with pytest.raises(VerifyException, match=r"graph.trilu' op input must have rank >= 2"):
        graph.TriluOp(_arg(TensorType(f32, [4]))).verify()
    with pytest.raises(VerifyException, match=r"graph.cumsum' op element type i1"):
        graph.CumSumOp(_arg(TensorType(i1, [4])), 0).verify()
    with pytest.raises(VerifyException, match=r"axis 2 is out of range for rank 2"):
        graph.CumSumOp(_arg(TensorType(f32, [4, 3])), 2).verify()
    graph.CumSumOp(_arg(TensorType(f32, [4, 3])), -2).verify()
