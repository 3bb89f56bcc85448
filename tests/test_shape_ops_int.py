"""The shape operators on int64, int32 and bool tensors computed at run time, in the forms
torch's exporters emit around attention masks and token ids: Split (attribute, input and
num_outputs forms), Unsqueeze and Squeeze (attribute and input forms), Flatten, Expand,
Concat, Slice, Transpose, Reshape; and Shape, Size and ConstantOfShape of runtime values,
which the importer evaluates (every shape is static).

Results are compared with ONNX Runtime exactly, dtype included, compiled to native code.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import irforge


def run_both(nodes, x: np.ndarray, outputs, known=None, opset=18):
    """ORT's and irforge's outputs of a graph with one runtime input `x` (outputs
    declared with x's element type)."""
    known = known or {}
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", elem, x.shape)],
        [helper.make_tensor_value_info(o, elem, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in known.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)  # the outputs' shapes, for the checker
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    got = irforge.compile(model)(x)
    got = list(got) if isinstance(got, tuple | list) else [got]
    return want, [np.asarray(a) for a in got]


def assert_same(want, got):
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def values(dtype, shape):
    rng = np.random.default_rng(len(shape))
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(-1000, 1000, shape).astype(dtype)


N = helper.make_node
DTYPES = [np.int64, np.int32, np.bool_]
CASES = {
    "split attribute": ([N("Split", ["x"], ["a", "b"], axis=2, split=[1, 3])], ["a", "b"], {}, 11),
    "split input": ([N("Split", ["x", "s"], ["a", "b"], axis=-1)], ["a", "b"],
                    {"s": np.array([3, 1], np.int64)}, 13),
    "split num_outputs": ([N("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)],
                          ["a", "b", "c"], {}, 18),
    "unsqueeze attribute": ([N("Unsqueeze", ["x"], ["y"], axes=[0, 3])], ["y"], {}, 11),
    "unsqueeze input": ([N("Unsqueeze", ["x", "a"], ["y"])], ["y"],
                        {"a": np.array([1, -1], np.int64)}, 13),
    "squeeze attribute": ([N("Squeeze", ["x"], ["y"], axes=[0])], ["y"], {}, 11),
    "squeeze input": ([N("Squeeze", ["x", "a"], ["y"])], ["y"], {"a": np.array([0], np.int64)}, 13),
    "squeeze all": ([N("Squeeze", ["x"], ["y"])], ["y"], {}, 13),
    "flatten": ([N("Flatten", ["x"], ["y"], axis=2)], ["y"], {}, 13),
    "expand": ([N("Expand", ["x", "s"], ["y"])], ["y"],
               {"s": np.array([2, 1, 3, 1, 4], np.int64)}, 13),
    "concat": ([N("Concat", ["x", "x"], ["y"], axis=-1)], ["y"], {}, 13),
    "slice": ([N("Slice", ["x", "b", "e", "a", "st"], ["y"])], ["y"],
              {"b": np.array([-1], np.int64), "e": np.array([-10], np.int64),
               "a": np.array([2], np.int64), "st": np.array([-2], np.int64)}, 13),
    "transpose": ([N("Transpose", ["x"], ["y"], perm=[2, 0, 1])], ["y"], {}, 13),
    "reshape": ([N("Reshape", ["x", "s"], ["y"])], ["y"], {"s": np.array([0, -1], np.int64)}, 13),
}  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", list(CASES))
def test_shape_op_on_runtime_integers_and_bools(case, dtype):
    nodes, outputs, known, opset = CASES[case]
    x = values(dtype, (1, 3, 4))
    assert_same(*run_both(nodes, x, outputs, known, opset))


def test_shape_size_and_constant_of_shape_of_runtime_token_ids():
    """torch's TorchScript export of BERT: Shape(input_ids) -> ConstantOfShape (ones) ->
    the default attention mask; Size and Shape with start/end (opset 15) too."""
    nodes = [
        N("Shape", ["x"], ["s"]),
        N("ConstantOfShape", ["s"], ["ones"], value=numpy_helper.from_array(np.ones(1, np.int64))),
        N("Add", ["x", "ones"], ["y"]),
        N("Size", ["x"], ["n"]),
        N("Shape", ["x"], ["tail"], start=-1),
        N("Mul", ["y", "n"], ["z"]),
    ]  # fmt: skip
    x = values(np.int64, (2, 5))
    want, got = run_both(nodes, x, ["z", "tail"], opset=15)
    assert_same(want, got)
    assert got[1].tolist() == [5]
