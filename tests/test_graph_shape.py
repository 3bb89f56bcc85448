"""The shape and data-movement ops end to end, and the importer's evaluation at import.

Each case is a small ONNX model: irforge imports it, and both the graph-level NumPy
reference and natively compiled code must equal ONNX Runtime's result exactly (these ops
only move data). A few cases also run through the tensor and loop interpreters
(check_all_stages). Then: values known at import, multi-output nodes, the error messages,
and the onnx package's light models.
"""

from __future__ import annotations

import glob
import os
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.dialects import graph
from irforge.dialects.arrays import from_numpy
from irforge.dialects.graph import shape as graph_shape
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx
from irforge.frontends.onnx.shape import normalize_slice
from tests.test_lowering import check_all_stages, make_module

F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(np.float32)


def model_of(
    nodes, inputs: dict, initializers: dict | None = None, outputs=("y",), opset=13, rank=None
):
    """A model over float32 graph inputs `inputs` (name -> array) and `initializers`;
    output shapes by ONNX's shape inference, else of rank `rank` (default: the first
    input's) with unknown dimensions."""
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in (initializers or {}).items()]
    g = helper.make_graph(
        nodes,
        "shape_test",
        [helper.make_tensor_value_info(n, F32, a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(o, F32, None) for o in outputs],
        inits,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10 if opset >= 13 else 6
    # The checker wants output shapes.
    model = onnx.shape_inference.infer_shapes(model)
    rank = rank if rank is not None else next(iter(inputs.values())).ndim
    for vi in model.graph.output:
        if not vi.type.tensor_type.HasField("shape"):
            for _ in range(rank):
                vi.type.tensor_type.shape.dim.add()
    return model


def check(model: onnx.ModelProto, inputs: dict, native: bool = True) -> list[np.ndarray]:
    """Reference (and native) results of `model` equal ONNX Runtime's."""
    want = ort.InferenceSession(model.SerializeToString()).run(None, inputs)
    module = import_onnx(model)
    got = run_reference(module, list(inputs.values()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    if native:
        out = irforge.compile(model)(*inputs.values())
        out = out if isinstance(out, tuple) else (out,)
        for g, w in zip(out, want):
            np.testing.assert_array_equal(g, w)
    return want


def node_model(op_type, x, inits=None, opset=13, outputs=("y",), **attrs):
    node = helper.make_node(op_type, ["x", *(inits or {})], list(outputs), name="n", **attrs)
    return model_of([node], {"x": x}, inits, outputs, opset)


def i64(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---------------------------------------------------------------------------- one-node ops

X = rand(2, 3, 4)

CASES = {
    "reshape_0_and_-1": ("Reshape", X, {"s": i64(0, -1)}, 13, {}),
    "reshape_opset9": ("Reshape", X, {"s": i64(4, 6)}, 9, {}),
    "reshape_allowzero": ("Reshape", X, {"s": i64(3, 8)}, 14, {"allowzero": 1}),
    "flatten_default": ("Flatten", X, None, 9, {}),
    "flatten_axis0": ("Flatten", X, None, 13, {"axis": 0}),
    "flatten_axis-1": ("Flatten", X, None, 13, {"axis": -1}),
    "squeeze_attr": ("Squeeze", rand(1, 3, 1), None, 11, {"axes": [-1]}),
    "squeeze_input": ("Squeeze", rand(1, 3, 1), {"a": i64(0)}, 13, {}),
    "squeeze_all": ("Squeeze", rand(1, 3, 1), None, 13, {}),
    "unsqueeze_attr": ("Unsqueeze", X, None, 11, {"axes": [0, -1]}),
    "unsqueeze_input": ("Unsqueeze", X, {"a": i64(1, 4)}, 13, {}),
    "transpose_default": ("Transpose", X, None, 13, {}),
    "transpose_perm": ("Transpose", X, None, 13, {"perm": [1, 2, 0]}),
    "slice_attrs_opset9": (
        "Slice",
        X,
        None,
        9,
        {"starts": [1, -3], "ends": [100, -1], "axes": [2, 1]},
    ),
    "slice_negative_steps": (
        "Slice",
        X,
        {"s": i64(-1, 10), "e": i64(-100, 0), "a": i64(2, 1), "t": i64(-2, -1)},
        13,
        {},
    ),
    "slice_opset10_no_steps": ("Slice", X, {"s": i64(0, 1), "e": i64(1, 3)}, 10, {}),
    "gather_scalar_index": ("Gather", X, {"i": np.array(-1, np.int64)}, 13, {"axis": 1}),
    "gather_progression": ("Gather", X, {"i": i64(0, 2)}, 13, {"axis": 2}),
    "gather_2d_indices": (
        "Gather",
        X,
        {"i": np.array([[2, 0], [1, 1]], np.int64)},
        13,
        {"axis": 1},
    ),
    "expand": ("Expand", rand(3, 1), {"s": i64(2, 1, 4)}, 13, {}),
    "cast_float": ("Cast", X, None, 13, {"to": F32}),
    "identity": ("Identity", X, None, 13, {}),
}


@pytest.mark.parametrize("case", CASES)
def test_one_node_matches_onnxruntime(case):
    op_type, x, inits, opset, attrs = CASES[case]
    check(node_model(op_type, x, inits, opset, **attrs), {"x": x})


def test_concat_of_runtime_and_constant_inputs():
    c = rand(2, 1, 4, seed=5)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Concat", ["x", "c", "r"], ["y"], axis=-2),
    ]
    model = model_of(nodes, {"x": X}, {"c": c})
    check(model, {"x": X})
    (op,) = [o for o in import_onnx(model).walk() if isinstance(o, graph_shape.ConcatOp)]
    assert op.result.type.get_shape() == (2, 7, 4)


@pytest.mark.parametrize(
    "opset, split, attrs, sizes",
    [
        (11, None, {"split": [1, 3]}, [1, 3]),
        (13, i64(2, 2), {}, [2, 2]),
        (13, None, {}, [2, 2]),
        (18, None, {"num_outputs": 2}, [2, 2]),
    ],
)
def test_split(opset, split, attrs, sizes):
    x = rand(2, 4)
    inits = {"split": split} if split is not None else None
    model = node_model("Split", x, inits, opset, outputs=("a", "b"), axis=1, **attrs)
    a, b = check(model, {"x": x})
    assert [a.shape[1], b.shape[1]] == sizes


def test_split_uneven_num_outputs():
    x = rand(7, 2)
    model = node_model("Split", x, None, 18, outputs=("a", "b", "c"), num_outputs=3)
    outs = check(model, {"x": x}, native=False)
    assert [o.shape[0] for o in outs] == [3, 3, 1]


def test_where_with_a_known_condition():
    x, y = rand(2, 3), rand(3, seed=1)
    cond = np.array([[True, False, True], [False, False, True]])
    nodes = [helper.make_node("Where", ["c", "x", "w"], ["y"], name="wh")]
    model = model_of(nodes, {"x": x}, {"c": cond, "w": y})
    check(model, {"x": x})
    all_true = model_of(nodes, {"x": x}, {"c": np.ones((1, 3), bool), "w": y})
    module = import_onnx(all_true)
    assert not [o for o in module.walk() if isinstance(o, graph_shape.WhereOp)]


def test_slice_normalization():
    assert normalize_slice(4, 3, -100, -2) == (3, 2)  # 3, 1
    assert normalize_slice(4, -1, 100, 1) == (3, 1)
    assert normalize_slice(4, 10, 0, -1) == (3, 3)  # clamped to n - 1
    assert normalize_slice(4, 2, 2, 1) == (0, 0)


# ---------------------------------------------------------------------- the tensor level


def test_shape_ops_at_every_level():
    def body(b, args):
        x = args[0]
        s = b.insert(graph_shape.SliceOp(x, [0, 3], [1, -2], [2, 2])).result
        c = b.insert(graph_shape.ConcatOp([x, s, x], 1)).result
        e = b.insert(graph_shape.ExpandOp(s, [3, 2, 2])).result
        cond = b.insert(graph.ConstantOp(from_numpy(np.array([True, False])))).result
        w = b.insert(graph_shape.WhereOp(cond, e, s)).result
        r = b.insert(graph.ReshapeOp(w, [12])).result
        cr = b.insert(graph.ReshapeOp(c, [20])).result
        return [b.insert(graph_shape.ConcatOp([r, cr], 0)).result]

    x = rand(2, 4)
    module = make_module([[2, 4]], body)
    got = check_all_stages(module, [x])
    s = x[:, [3, 1]]
    e = np.broadcast_to(s, (3, 2, 2))
    w = np.where(np.array([True, False]), e, s)
    want = np.concatenate([w.reshape(-1), np.concatenate([x, s, x], 1).reshape(-1)])
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ evaluation at import


def test_shape_arithmetic_folds_into_one_reshape():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape (PyTorch's flatten) is known at
    import: the model imports as a single graph.reshape."""
    x = rand(2, 3, 4)
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        helper.make_node("Cast", ["target"], ["target64"], to=I64),
        helper.make_node("Reshape", ["x", "target64"], ["y"]),
    ]
    inits = {"zero": np.array(0, np.int64), "axes": i64(0), "minus_one": i64(-1)}
    model = model_of(nodes, {"x": x}, inits, rank=2)
    module = import_onnx(model)
    ops = [op.name for op in module.walk() if op.name.startswith("graph.")]
    assert ops == ["graph.reshape"]
    check(model, {"x": x}, native=False)


def test_constant_of_shape_weights_become_graph_constants():
    x = rand(1, 3)
    nodes = [
        helper.make_node(
            "ConstantOfShape", ["wshape"], ["w"], value=helper.make_tensor("v", F32, [1], [0.5])
        ),
        helper.make_node("ConstantOfShape", ["bshape"], ["b"]),  # zeros
        helper.make_node("Gemm", ["x", "w", "b"], ["y"]),
    ]
    model = model_of(nodes, {"x": x}, {"wshape": i64(3, 2), "bshape": i64(2)})
    module = import_onnx(model)
    consts = [op for op in module.walk() if isinstance(op, graph.ConstantOp)]
    assert sorted(c.result.type.get_shape() for c in consts) == [(2,), (3, 2)]
    check(model, {"x": x}, native=False)


def test_known_float_arithmetic_and_unsupported_ops_are_evaluated():
    """A node whose inputs are all known is evaluated, even of an op irforge cannot
    compile (Range, Equal here); only the runtime Add remains."""
    x = rand(4)
    nodes = [
        helper.make_node("Range", ["zero", "four", "one"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=F32),
        helper.make_node("Equal", ["r", "two"], ["is_two"]),
        helper.make_node("Where", ["is_two", "rf", "ten"], ["w"]),
        helper.make_node("Add", ["x", "w"], ["y"]),
    ]
    inits = {
        "zero": np.array(0, np.int64),
        "four": np.array(4, np.int64),
        "one": np.array(1, np.int64),
        "two": np.array(2, np.int64),
        "ten": np.array(10, np.float32),
    }
    model = model_of(nodes, {"x": x}, inits)
    module = import_onnx(model)
    assert [op.name for op in module.walk() if op.name.startswith("graph.")] == [
        "graph.constant",
        "graph.add",
    ]
    check(model, {"x": x}, native=False)


def test_dropout_mask_unused_and_graph_output_known():
    x = rand(2, 3)
    nodes = [
        helper.make_node("Dropout", ["x"], ["d", "mask"]),
        helper.make_node("Identity", ["d"], ["y"]),
        helper.make_node(
            "ConstantOfShape", ["s"], ["k"], value=helper.make_tensor("v", F32, [1], [2.0])
        ),
    ]
    model = model_of(nodes, {"x": x}, {"s": i64(2)}, outputs=("y", "k"), opset=12)
    y, k = check(model, {"x": x}, native=False)
    np.testing.assert_array_equal(k, [2.0, 2.0])


# ------------------------------------------------------------------------------ errors


def test_problems_are_listed_together():
    x = rand(2, 3)
    nodes = [
        helper.make_node("Softsign", ["x"], ["a"], name="soft"),
        helper.make_node("Relu", ["a"], ["b"], name="after_soft"),  # depends on a failure
        helper.make_node("Cast", ["x"], ["xi"], name="to_int", to=I64),
        helper.make_node("Reshape", ["x", "xi"], ["c"], name="runtime_shape"),
        helper.make_node("Add", ["x", "ints"], ["d"], name="int_add"),
        helper.make_node("Squeeze", ["x"], ["e"], name="sq", axes=[0]),
        helper.make_node("Sum", ["b", "c", "d", "e"], ["y"]),
    ]
    model = model_of(nodes, {"x": x}, {"ints": np.ones((2, 3), np.int64)}, opset=11)
    with pytest.raises(ONNXImportError) as e:
        import_onnx(model)
    msg = str(e.value)
    assert msg.startswith("4 problems prevent the import:\n  - unsupported ONNX operators: ")
    assert "Softsign (node 'soft'" in msg and "Relu" not in msg.split("irforge supports")[0]
    assert "Reshape node 'runtime_shape': the shape input is computed at run time" in msg
    assert "Add node 'int_add': 'graph.add' op operand #1 has element type i64" in msg
    assert "Squeeze node 'sq': cannot squeeze dimension 0 of size 2" in msg
    assert "to_int" not in msg  # a cast to int64 imports


@pytest.mark.parametrize(
    "op_type, inits, attrs, message",
    [
        ("Reshape", {"s": i64(5, -1)}, {}, r"cannot infer the -1 of shape \[5, -1\]"),
        ("Reshape", {"s": i64(-1, -1)}, {}, "more than one -1"),
        ("Gather", {"i": i64(0, 7)}, {"axis": 1}, "out of range for size 3"),
        ("Transpose", None, {"perm": [0, 0, 1]}, "is not a permutation"),
        ("Concat", None, {"axis": 3}, "axis 3 is out of range for rank 3"),
        ("Split", {"s": i64(1, 2)}, {"axis": 0}, r"2 split sizes \[1, 2\] for 1 outputs"),
        ("Cast", None, {"to": TensorProto.DOUBLE}, "casts to double; irforge computes float32"),
    ],
)
def test_bad_shape_arguments_name_the_node(op_type, inits, attrs, message):
    with pytest.raises(ONNXImportError, match=f"{op_type} node 'n': .*{message}"):
        import_onnx(node_model(op_type, X, inits, **attrs))


# ------------------------------------------------------------------------- light models

LIGHT = sorted(
    glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/light/*.onnx"))
)


# Light models whose import is expected to fail, by name (light_NAME.onnx), with the reason:
# strict, so an import that starts working fails the run until its entry is removed. Empty:
# all nine import (onnx 1.23).
LIGHT_IMPORT_XFAIL: dict[str, str] = {}


def _light_name(path: str) -> str:
    return os.path.basename(path)[len("light_") : -len(".onnx")]


def test_light_import_xfails_name_light_models():
    """A misspelt or stale entry would silently expect nothing."""
    assert set(LIGHT_IMPORT_XFAIL) <= {_light_name(p) for p in LIGHT}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            id=_light_name(p),
            marks=[pytest.mark.xfail(strict=True, reason=LIGHT_IMPORT_XFAIL[_light_name(p)])]
            if _light_name(p) in LIGHT_IMPORT_XFAIL
            else [],
        )
        for p in LIGHT
    ],
)
def test_light_model_imports_and_verifies(path):
    """Every light model imports as a verified module with its declared output shape, in
    under 10 s of this process's CPU time (but those of LIGHT_IMPORT_XFAIL). CPU time, not
    wall time: on a shared machine VGG-19's 1.4 s import took 11 s of wall time once."""
    model = onnx.load(path)
    start = time.process_time()
    module = import_onnx(model)
    seconds = time.process_time() - start
    module.verify()
    (func,) = module.ops
    declared = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert list(func.function_type.outputs.data[0].get_shape()) == declared
    assert seconds < 10, f"import took {seconds:.1f} s of CPU time"


def test_operators_page_is_current():
    from pathlib import Path

    from irforge.frontends.onnx import update_operators_page

    page = Path(__file__).parent.parent / "docs" / "onnx.md"
    text = page.read_text(encoding="utf-8")
    assert text == update_operators_page(text), (
        "docs/onnx.md is stale: run python -m irforge.frontends.onnx docs/onnx.md"
    )
