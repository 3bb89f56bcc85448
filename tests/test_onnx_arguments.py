"""frontends/onnx/nn.py, math.py and the graph-level checks of model.py: a model the
ONNX checker accepts but irforge cannot import is an ONNXImportError that names the node
(or the graph input/output) and the cause, never a traceback.

(What the checker itself rejects, such as a missing required attribute, is covered by
test_onnx_frontend.py's `invalid ONNX model` case.)
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from irforge.frontends.onnx import ONNXImportError, import_onnx

F32 = TensorProto.FLOAT


def ones(*shape, dtype=np.float32) -> np.ndarray:
    return np.ones(shape, dtype)


def one_node(
    op_type: str,
    x_shape: list[int],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 13,
    inputs: list[str] | None = None,
    graph_inputs: tuple = (),
    out_shape: list | None = None,
    **attrs,
) -> onnx.ModelProto:
    """A model of one `op_type` node named 'n' over the float32 input x of `x_shape`, the
    initializers `inits` and the extra graph inputs `graph_inputs` ((name, type, shape));
    the node's inputs are x and the initializers unless `inputs` lists them."""
    inits = inits or {}
    node_inputs = inputs if inputs is not None else ["x", *inits]
    node = helper.make_node(op_type, node_inputs, ["y"], name="n", **attrs)
    values = [("x", F32, x_shape), *graph_inputs]
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(*v) for v in values],
        [helper.make_tensor_value_info("y", F32, out_shape or ["?"] * len(x_shape))],
        [numpy_helper.from_array(a, k) for k, a in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset >= 13 else 6
    return model


BN = {k: ones(3) for k in ("scale", "b", "mean", "var")}

CASES = [
    # (id, model, message after "OP node 'n': ")
    ("conv-rank-2", one_node("Conv", [2, 3], {"w": ones(4, 3)}), r"rank >= 3 .*got shape \[2, 3\]"),
    (
        "conv-weight-rank",
        one_node("Conv", [1, 3, 8, 8], {"w": ones(4, 3, 3)}),
        r"weight W of shape \[4, 3, 3\] must have the input's rank 4",
    ),
    (
        "conv-pads-and-auto-pad",
        one_node(
            "Conv", [1, 3, 8, 8], {"w": ones(4, 3, 3, 3)}, auto_pad="SAME_UPPER", pads=[1] * 4
        ),
        "pads and auto_pad = SAME_UPPER cannot be used together",
    ),
    (
        "batchnorm-spatial-0",
        one_node("BatchNormalization", [2, 3, 4, 4], BN, opset=7, spatial=0),
        r"spatial = 0 \(per-activation statistics\) is not supported",
    ),
    (
        "batchnorm-rank-1",
        one_node("BatchNormalization", [3], BN),
        r"the input must have rank >= 2, got tensor<3xf32>",
    ),
    (
        "dropout-training-mode-not-scalar",
        one_node("Dropout", [2, 3], {"r": np.array(0.5, np.float32), "t": np.array([True, False])}),
        "training_mode input must be a constant scalar",
    ),
    (
        "add-float64-initializer",
        one_node("Add", [2, 3], {"w": ones(3, dtype=np.float64)}),
        "initializer 'w' has element type float64",
    ),
    (
        "add-complex-initializer",
        one_node("Add", [2, 3], {"w": ones(3, dtype=np.complex64)}),
        "'w' is a complex64 tensor, which irforge cannot hold in a graph op",
    ),
    ("sum-empty-input", one_node("Sum", [2, 3], inputs=["x", ""]), "none of them empty"),
    (
        "clip-min-runtime-vector",
        one_node("Clip", [2, 3], inputs=["x", "lo"], graph_inputs=[("lo", F32, [3])]),
        r"min must be a scalar, got shape \[3\]",
    ),
    (
        "clip-max-constant-vector",
        one_node("Clip", [2, 3], {"lo": np.array(0, np.float32), "hi": ones(3)}),
        r"max must be a scalar, got shape \[3\]",
    ),
    ("reduce-keepdims-2", one_node("ReduceMean", [2, 3], keepdims=2), "keepdims must be 0 or 1"),
    (
        "reduce-axes-out-of-range",
        one_node("ReduceMean", [2, 3], axes=[2]),
        r"axes \[2\] are out of range for rank 2",
    ),
    (
        "layernorm-stash-type",
        one_node("LayerNormalization", [2, 3], {"s": ones(3)}, opset=17, stash_type=0),
        r"stash_type 0 is not supported \(only 1: float32\)",
    ),
    (
        "layernorm-axis",
        one_node("LayerNormalization", [2, 3], {"s": ones(3)}, opset=17, axis=2),
        "axis 2 is out of range for rank 2",
    ),
]


@pytest.mark.parametrize("model, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_node_is_an_error_naming_it(model, message):
    op_type = model.graph.node[0].op_type
    with pytest.raises(ONNXImportError, match=f"^{op_type} node 'n': .*{message}"):
        import_onnx(model)


def relu_model(out_type=F32, out_shape=(2,), opsets=(("", 13),), domain="") -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], domain=domain)],
        "g",
        [helper.make_tensor_value_info("x", F32, [2])],
        [helper.make_tensor_value_info("y", out_type, list(out_shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(*o) for o in opsets])
    model.ir_version = 10
    return model


@pytest.mark.parametrize(
    "model, message",
    [
        (relu_model(out_type=TensorProto.INT64), "output 'y' is declared int64, but irforge"),
        (relu_model(out_shape=(3,)), r"output 'y' is declared with shape \[3\], but its comp"),
        (relu_model(out_shape=(2, 1)), r"declared with shape \[2, 1\]"),
        (
            relu_model(opsets=(("com.example", 1),), domain="com.example"),
            "the model imports no version of the default ONNX opset",
        ),
    ],
    ids=["output-type", "output-size", "output-rank", "no-default-opset"],
)
def test_graph_level_errors(model, message):
    with pytest.raises(ONNXImportError, match=message):
        import_onnx(model)


def test_value_names_become_valid_ssa_names():
    # '1y' cannot start an SSA name hint: it becomes %v1y; 'a b' loses its space.
    nodes = [
        helper.make_node("Relu", ["x"], ["1y"]),
        helper.make_node("Neg", ["1y"], ["a b"]),
        helper.make_node("Relu", ["a b"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F32, [2])],
        [helper.make_tensor_value_info("z", F32, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    text = str(import_onnx(model))
    assert "%v1y = " in text and "%a_b = " in text, text


def test_operators_page_without_markers_is_refused():
    from irforge.frontends.onnx import update_operators_page

    with pytest.raises(ValueError, match="lacks the generated-table markers"):
        update_operators_page("# ONNX operators\n\nno table here\n")
