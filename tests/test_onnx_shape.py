"""frontends/onnx/shape.py: the shape operators' argument checks and their no-op cases.

A bad argument is an ONNXImportError naming the node and the problem; an operator that
leaves its input unchanged (a full Slice, an Expand to the same shape, a one-input Concat,
a Split into one part) imports to no op, and the model still equals its input.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def one_node(op_type, inits=None, opset=13, outputs=("y",), **attrs) -> onnx.ModelProto:
    """A model of one `op_type` node over the float32 input x (shape of X) and the
    int64 initializers `inits` (name -> values), outputs of rank 3 and unknown sizes."""
    inits = inits or {}
    node = helper.make_node(op_type, ["x", *inits], list(outputs), name="n", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, X.shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * X.ndim) for o in outputs],
        [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset >= 13 else 6
    return model


@pytest.mark.parametrize(
    "op_type, inits, opset, attrs, outputs, message",
    [
        ("Reshape", {"s": [2, 3, 4, 0]}, 13, {}, 1, "shape entry 3 is 0 but the input has rank 3"),
        ("Reshape", {"s": [5, 5]}, 13, {}, 1, r"cannot reshape \[2, 3, 4\] to \[5, 5\]"),
        ("Flatten", None, 13, {"axis": 4}, 1, "axis 4 is out of range for rank 3"),
        ("Unsqueeze", None, 11, {"axes": [0, 0]}, 1, r"axes \[0, 0\] repeat a dimension"),
        (
            "Slice",
            {"s": [0], "e": [1], "a": [0, 1]},
            13,
            {},
            1,
            "starts, ends, axes and steps differ in length",
        ),
        ("Slice", {"s": [0, 0], "e": [1, 1], "a": [1, -2]}, 13, {}, 1, "axis -2 is sliced twice"),
        ("Slice", {"s": [0], "e": [1], "a": [0], "st": [0]}, 13, {}, 1, "a slice step is 0"),
        ("Split", None, 13, {"axis": 1}, 2, "dimension 1 of size 3 does not split in 2 parts"),
        ("Split", {"s": [2, 2]}, 13, {"axis": 1}, 2, r"split sizes \[2, 2\] do not add up"),
        ("Expand", {"s": [5, 4]}, 13, {}, 1, r"shape \[2, 3, 4\] does not broadcast with \[5, 4\]"),
        ("Gather", {"i": np.zeros((0,), np.int64)}, 13, {}, 1, "the result is empty"),
        ("Cast", None, 13, {"to": TensorProto.UINT8}, 1, "casts to uint8"),
    ],
)
def test_bad_arguments_name_the_node(op_type, inits, opset, attrs, outputs, message):
    names = ("y", "z")[:outputs]
    model = one_node(op_type, inits, opset, names, **attrs)
    with pytest.raises(ONNXImportError, match=f"{op_type} node 'n': .*{message}"):
        import_onnx(model)


@pytest.mark.parametrize(
    "op_type, inits, attrs",
    [
        ("Slice", {"s": [0, 0], "e": [2, 99], "a": [0, 2]}, {}),  # the whole tensor
        ("Expand", {"s": [3, 1]}, {}),  # broadcasts to x's own shape
        ("Concat", None, {"axis": 1}),  # one input
        ("Split", {"s": [3]}, {"axis": 1}),  # one part
        ("Gather", {"i": [0, 1]}, {"axis": 0}),  # every index in order
    ],
)
def test_identity_cases_import_to_no_op(op_type, inits, attrs):
    module = import_onnx(one_node(op_type, inits, **attrs))
    ops = {op.name for op in module.walk()} - {"builtin.module", "func.func", "func.return"}
    assert ops <= {"graph.reshape"}, ops
    (got,) = run_reference(module, [X])
    np.testing.assert_array_equal(got, X)
