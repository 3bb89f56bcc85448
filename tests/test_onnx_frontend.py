"""The ONNX frontend: `irforge.frontends.onnx.import_onnx` on the bundled digits model and on
small models built here with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, Float32Type, ModuleOp, TensorType
from xdsl.dialects.func import FuncOp, ReturnOp

from irforge.dialects import graph
from irforge.dialects.arrays import element_type
from irforge.examples.digits import load_test_split, model_path
from irforge.frontends.onnx import (
    ONNXImportError,
    dense_f32,
    import_onnx,
    parse_input_shape,
)

F32 = TensorProto.FLOAT


def make_model(nodes, inputs, outputs, initializers=(), opset=13, **kwargs) -> onnx.ModelProto:
    """A model from value-info specs `(name, elem_type, shape)`, loadable by ORT 1.31."""
    g = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(*i) for i in inputs],
        [helper.make_tensor_value_info(*o) for o in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers],
    )
    opsets = [helper.make_opsetid("", opset), *kwargs.pop("extra_opsets", [])]
    model = helper.make_model(g, opset_imports=opsets, **kwargs)
    model.ir_version = 10 if opset >= 13 else 6
    return model


def main_func(module: ModuleOp) -> FuncOp:
    (func,) = module.ops
    assert isinstance(func, FuncOp) and func.sym_name.data == "main"
    return func


def evaluate(module: ModuleOp, *args: np.ndarray) -> list[np.ndarray]:
    """Run @main with the graph dialect's NumPy reference semantics."""
    ref = pytest.importorskip("irforge.dialects.graph_reference")
    func = main_func(module)
    env = dict(zip(func.body.block.args, args))
    for op in func.body.block.ops:
        if isinstance(op, ReturnOp):
            return [env[v] for v in op.operands]
        env[op.results[0]] = ref.evaluate(op, [env[v] for v in op.operands])
    raise AssertionError("no func.return")


def run_ort(model: onnx.ModelProto, **feeds: np.ndarray) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def ops_of(module: ModuleOp, cls):
    return [op for op in module.walk() if isinstance(op, cls)]


# ------------------------------------------------------------------------------ digits


@pytest.mark.parametrize("batch", [1, 32])
def test_digits_imports_and_verifies(batch):
    module = import_onnx(model_path(), input_shapes={"input": [batch, 64]})
    module.verify()
    func = main_func(module)
    f32 = Float32Type()
    assert list(func.function_type.inputs) == [TensorType(f32, [batch, 64])]
    assert list(func.function_type.outputs) == [TensorType(f32, [batch, 10])]
    assert [s.data for s in func.attributes["irforge.input_names"]] == ["input"]
    assert [s.data for s in func.attributes["irforge.output_names"]] == ["probabilities"]
    kinds = [op.name for op in func.body.block.ops if not isinstance(op, graph.ConstantOp)]
    assert kinds == [
        "graph.gemm",
        "graph.relu",
        "graph.matmul",
        "graph.add",
        "graph.relu",
        "graph.matmul",
        "graph.add",
        "graph.softmax",
        "func.return",
    ]
    weights = {tuple(op.value.type.get_shape()) for op in ops_of(module, graph.ConstantOp)}
    assert weights == {(64, 64), (64,), (64, 32), (32,), (32, 10), (10,)}


def test_digits_accepts_path_string_and_proto():
    shapes = {"input": [1, 64]}
    a = import_onnx(str(model_path()), shapes)
    b = import_onnx(onnx.load(model_path()), shapes)
    assert a.is_structurally_equivalent(b)


def test_digits_matches_onnxruntime_and_labels():
    x, y = load_test_split()
    assert x.dtype == np.float32 and x.shape == (len(y), 64) and y.dtype == np.int64
    module = import_onnx(model_path(), {"input": list(x.shape)})
    (got,) = evaluate(module, x)
    (want,) = run_ort(onnx.load(model_path()), input=x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.mean(got.argmax(axis=1) == y) > 0.95


def test_digits_dynamic_batch_needs_a_shape():
    with pytest.raises(ONNXImportError) as e:
        import_onnx(model_path())
    assert str(e.value) == (
        "input 'input' has a dynamic dimension 0 ('N'); give a static shape, e.g. "
        "input_shapes={'input': [1, 64]} or --input-shape input=1x64"
    )


# ------------------------------------------------------------------------------ errors


def test_every_unsupported_op_is_listed_in_one_error():
    model = make_model(
        [
            helper.make_node("Relu", ["x"], ["r"], name="relu_0"),
            helper.make_node("ArgMax", ["r"], ["am"], name="argmax_0", axis=1),
            helper.make_node("TopK", ["r", "k"], ["v", "i"], name="topk_0", axis=1),
        ],
        [("x", F32, [2, 5])],
        [("am", TensorProto.INT64, [2, 1]), ("v", F32, [2, 3])],
        initializers=[("k", np.array([3], dtype=np.int64))],
    )
    with pytest.raises(ONNXImportError) as e:
        import_onnx(model)
    msg = str(e.value)
    assert msg.startswith(
        "unsupported ONNX operators: ArgMax (node 'argmax_0') on (float32[2, 5]), "
        "TopK (node 'topk_0') on (float32[2, 5], int64[1]);"
    )
    assert "Relu (" not in msg


def test_nodes_after_a_failed_node_are_still_checked_on_stand_ins():
    """A node reading the result of a node that cannot be imported is tried on a stand-in
    value of the type ONNX shape inference gives, so its own problem is named too."""
    model = make_model(
        [
            helper.make_node("ArgMax", ["x"], ["am"], name="argmax_0", axis=1),
            helper.make_node("Reshape", ["x", "am"], ["y"], name="reshape_0"),
            helper.make_node("Relu", ["y"], ["z"], name="relu_0"),
        ],
        [("x", F32, [2, 1])],
        [("z", F32, [2, 1])],
    )
    with pytest.raises(ONNXImportError) as e:
        import_onnx(model)
    msg = str(e.value)
    assert "2 problems prevent the import" in msg
    assert "ArgMax (node 'argmax_0') on (float32[2, 1])" in msg
    assert "Reshape node 'reshape_0': the shape input is computed at run time" in msg


def test_op_of_another_domain_is_unsupported_even_with_a_known_name():
    model = make_model(
        [
            helper.make_node("Relu", ["x"], ["y"], domain="com.example"),
            helper.make_node("Relu", ["y"], ["z"], name="fine"),
        ],
        [("x", F32, [2])],
        [("z", F32, [2])],
        extra_opsets=[helper.make_opsetid("com.example", 1)],
    )
    with pytest.raises(
        ONNXImportError,
        match=r"operators: com\.example\.Relu \(unnamed node #0\) on \(float32\[2\]\);",
    ):
        import_onnx(model)


def test_unnamed_dynamic_dimensions_and_several_inputs():
    model = make_model(
        [helper.make_node("Add", ["a", "b"], ["c"])],
        [("a", F32, [None, 3]), ("b", F32, ["B", 2, 3])],
        [("c", F32, ["B", 2, 3])],
    )
    with pytest.raises(ONNXImportError) as e:
        import_onnx(model)
    assert str(e.value) == (
        "input 'a' has a dynamic dimension 0 (unnamed); input 'b' has a dynamic dimension 0 "
        "('B'); give a static shape, e.g. input_shapes={'a': [1, 3], 'b': [1, 2, 3]} or "
        "--input-shape a=1x3 --input-shape b=1x2x3"
    )
    module = import_onnx(model, {"a": [2, 3], "b": [4, 2, 3]})
    assert list(main_func(module).function_type.outputs) == [TensorType(Float32Type(), [4, 2, 3])]


@pytest.mark.parametrize(
    "shapes, message",
    [
        ({"nope": [1, 4]}, r"input_shapes names 'nope', which is not an input .* inputs are 'x'"),
        ({"x": [1, 4, 1]}, r"has rank 3, but input 'x' has rank 2 \(shape \[N, 4\]\)"),
        ({"x": [1, 5]}, r"sets dimension 1 to 5, but input 'x' has static size 4"),
        ({"x": [-1, 4]}, r"is not a sequence of positive integers"),
    ],
)
def test_bad_input_shapes(shapes, message):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [("x", F32, ["N", 4])], [("y", F32, ["N", 4])]
    )
    with pytest.raises(ONNXImportError, match=message):
        import_onnx(model, shapes)


def test_non_float32_input_is_rejected():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [("x", TensorProto.DOUBLE, [2])],
        [("y", TensorProto.DOUBLE, [2])],
    )
    with pytest.raises(ONNXImportError, match="input 'x' has element type float64"):
        import_onnx(model)


def test_initializer_of_a_type_not_computed_at_run_time_is_rejected_by_name():
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [("x", TensorProto.DOUBLE, [2])],
        [("y", TensorProto.DOUBLE, [2])],
        initializers=[("w", np.array([1, 2], dtype=np.float64))],
    )
    model.graph.input[0].type.tensor_type.elem_type = F32
    model.graph.output[0].type.tensor_type.elem_type = F32
    with pytest.raises(ONNXImportError, match="initializer 'w' has element type float64"):
        import_onnx(model)


def test_mixed_element_types_name_the_node_and_both_types():
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [("x", F32, [2])],
        [("y", F32, [2])],
        initializers=[("w", np.array([1, 2], dtype=np.int64))],
    )
    with pytest.raises(ONNXImportError, match="operand #1 has element type i64, expected f32"):
        import_onnx(model)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_inputs_and_outputs_import(dtype):
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = make_model(
        [helper.make_node("Identity", ["x"], ["y"])], [("x", elem, [2, 3])], [("y", elem, [2, 3])]
    )
    func = import_onnx(model).body.block.ops.first
    assert func.function_type.inputs.data[0].element_type == element_type(np.dtype(dtype))
    assert func.function_type.outputs.data[0].element_type == element_type(np.dtype(dtype))


def test_checker_errors_become_import_errors():
    model = make_model(
        [helper.make_node("Relu", ["undefined"], ["y"])], [("x", F32, [2])], [("y", F32, [2])]
    )
    with pytest.raises(ONNXImportError, match="invalid ONNX model"):
        import_onnx(model)


def test_shape_errors_name_the_node():
    model = make_model(
        [helper.make_node("Add", ["x", "w"], ["y"], name="bad_add")],
        [("x", F32, [2, 3])],
        [("y", F32, [2, 3])],
        initializers=[("w", np.ones(4, np.float32))],
    )
    with pytest.raises(ONNXImportError, match="Add node 'bad_add': .*do not broadcast"):
        import_onnx(model)


def test_matmul_batch_mismatch_is_rejected():
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [("x", F32, [2, 3, 4])],
        [("y", F32, [2, 3, 5])],
        initializers=[("w", np.ones((3, 4, 5), np.float32))],
    )
    with pytest.raises(ONNXImportError, match="MatMul node 'mm': .*do not broadcast"):
        import_onnx(model)


# ------------------------------------------------------------------------------ ops


def test_gemm_attributes_become_properties():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)  # transA: A is [K, M]
    b = rng.standard_normal((5, 3)).astype(np.float32)  # transB: B is [N, K]
    c = rng.standard_normal((5,)).astype(np.float32)
    model = make_model(
        [
            helper.make_node(
                "Gemm", ["a", "b", "c"], ["y"], name="g", alpha=0.5, beta=2.0, transA=1, transB=1
            )
        ],
        [("a", F32, [3, 4])],
        [("y", F32, [4, 5])],
        initializers=[("b", b), ("c", c)],
    )
    module = import_onnx(model)
    (gemm,) = ops_of(module, graph.GemmOp)
    assert gemm.alpha.value.data == 0.5 and gemm.beta.value.data == 2.0
    assert gemm.transA.value.data == 1 and gemm.transB.value.data == 1
    assert gemm.c is not None
    assert gemm.result.type == TensorType(Float32Type(), [4, 5])
    (got,) = evaluate(module, a)
    np.testing.assert_allclose(got, 0.5 * a.T @ b.T + 2.0 * c, rtol=1e-5)
    (want,) = run_ort(model, a=a)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gemm_without_c_and_defaults():
    model = make_model(
        [helper.make_node("Gemm", ["a", "b"], ["y"])],
        [("a", F32, [2, 3]), ("b", F32, [3, 4])],
        [("y", F32, [2, 4])],
    )
    (gemm,) = ops_of(import_onnx(model), graph.GemmOp)
    assert gemm.c is None
    assert (gemm.alpha.value.data, gemm.beta.value.data) == (1.0, 1.0)
    assert (gemm.transA.value.data, gemm.transB.value.data) == (0, 0)


def test_elementwise_identity_constant_and_names():
    rng = np.random.default_rng(1)
    k = rng.standard_normal((1, 4)).astype(np.float32)
    model = make_model(
        [
            helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(k)),
            helper.make_node("Constant", [], ["half"], value_float=0.5),
            helper.make_node("Sub", ["x", "k"], ["d"]),
            helper.make_node("Mul", ["d", "half"], ["m"]),
            helper.make_node("Identity", ["m"], ["m2"]),
            helper.make_node("Add", ["m2", "x"], ["s"]),
            helper.make_node("Relu", ["s"], ["out"]),
        ],
        [("x", F32, [3, 4])],
        [("out", F32, [3, 4]), ("m2", F32, [3, 4])],
    )
    module = import_onnx(model)
    func = main_func(module)
    assert [s.data for s in func.attributes["irforge.output_names"]] == ["out", "m2"]
    assert len(ops_of(module, graph.ConstantOp)) == 2
    x = rng.standard_normal((3, 4)).astype(np.float32)
    got = evaluate(module, x)
    want = run_ort(model, x=x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_softmax_before_opset_13():
    def model(axis, shape):
        return make_model(
            [helper.make_node("Softmax", ["x"], ["y"], name="sm", **axis)],
            [("x", F32, shape)],
            [("y", F32, shape)],
            opset=11,
        )

    (sm,) = ops_of(import_onnx(model({}, [2, 5])), graph.SoftmaxOp)
    assert sm.normalized_axis() == 1
    (sm,) = ops_of(import_onnx(model({"axis": -1}, [2, 3, 5])), graph.SoftmaxOp)
    assert sm.normalized_axis() == 2
    (sm,) = ops_of(import_onnx(model({}, [2, 3, 1, 1])), graph.SoftmaxOp)
    assert sm.normalized_axis() == 1  # trailing ones: the same as opset 13
    # Otherwise the opset-11 operator normalizes the flattened trailing dimensions.
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    for axis in ({}, {"axis": 0}):
        m = model(axis, [2, 3, 4])
        module = import_onnx(m)
        assert [op.name for op in module.walk() if op.name.startswith("graph.")] == [
            "graph.reshape",
            "graph.softmax",
            "graph.reshape",
        ]
        np.testing.assert_allclose(evaluate(module, x)[0], run_ort(m, x=x)[0], rtol=1e-6)
    with pytest.raises(ONNXImportError, match="Softmax node 'sm': axis 3 is out of range"):
        import_onnx(model({"axis": 3}, [2, 5, 1]))


def test_softmax_opset_13_any_axis():
    model = make_model(
        [helper.make_node("Softmax", ["x"], ["y"], axis=0)],
        [("x", F32, [2, 5])],
        [("y", F32, [2, 5])],
    )
    (sm,) = ops_of(import_onnx(model), graph.SoftmaxOp)
    assert sm.axis.value.data == 0


def test_unused_initializers_are_dropped():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        [("x", F32, [2])],
        [("y", F32, [2])],
        initializers=[("unused", np.array([1], np.int64))],
    )
    assert not ops_of(import_onnx(model), graph.ConstantOp)


# ------------------------------------------------------------------------------ helpers


def test_dense_f32_matches_from_list():
    a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    want = DenseIntOrFPElementsAttr.from_list(
        TensorType(Float32Type(), [3, 4]), a.astype(np.float32).ravel().tolist()
    )
    assert dense_f32(a) == want
    assert dense_f32(np.asfortranarray(a)) == want
    assert dense_f32(np.float32(2.5)).type == TensorType(Float32Type(), [])


def test_parse_input_shape():
    assert parse_input_shape("input=1x64") == ("input", [1, 64])
    assert parse_input_shape("a=b=7") == ("a=b", [7])
    for bad in ("input", "input=", "=1x2", "input=1x", "input=1,64"):
        with pytest.raises(ONNXImportError, match="expected NAME=D0xD1x"):
            parse_input_shape(bad)


def test_bundled_files_are_small():
    for path in (model_path(), Path(model_path()).with_name("digits_test.npz")):
        assert path.stat().st_size < 100_000
