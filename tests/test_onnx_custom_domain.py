"""Converters for operators of other ONNX domains (frontends/onnx/base.py): a plugin
registers one, a model that declares the domain imports through it, and an operator of
a domain nobody registered is a clear ONNXImportError. Every registration made here is
undone before the test ends."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.dialects import graph
from irforge.dialects.graph import math as graph_math
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import (
    SUPPORTED_OPS,
    ONNXImportError,
    converter,
    find_converter,
    import_onnx,
    register_converter,
    registered_converters,
    temporary_converter,
    unregister_converter,
)

F32 = TensorProto.FLOAT
DOMAIN = "com.example"


def make_model(nodes, inputs, outputs, initializers=(), domain_version=1) -> onnx.ModelProto:
    """A model of default opset 13 that also imports `com.example` at `domain_version`."""
    g = helper.make_graph(
        nodes,
        "custom",
        [helper.make_tensor_value_info(n, F32, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, F32, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers],
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, domain_version)]
    model = helper.make_model(g, opset_imports=opsets)
    model.ir_version = 10
    return model


def act(importer, operands, attrs, label):
    """com.example.Act(x; alpha) = relu(x) + alpha * min(x, 0), a leaky ReLU; version 2 of
    the domain changed alpha's default from 0.01 to 0.1."""
    x = operands[0]
    default = 0.01 if importer.opsets[DOMAIN] < 2 else 0.1
    alpha = float(attrs.get("alpha", default))
    if alpha < 0:
        raise ONNXImportError(f"{label}: alpha must be >= 0, got {alpha}")
    zero = importer.constant_ssa(np.zeros([1], np.float32))
    scale = importer.constant_ssa(np.array([alpha], np.float32))
    negative = importer.emit(graph_math.MinOp(x, zero), label)
    scaled = importer.emit(graph.MulOp(negative, scale), label)
    return importer.emit(graph.AddOp(importer.emit(graph.ReluOp(x), label), scaled), label)


def leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x >= 0, x, np.float32(alpha) * x).astype(np.float32)


def act_model(domain_version=1, **attrs) -> onnx.ModelProto:
    """x -> com.example.Act -> Add(bias) -> y, the custom op between default-domain ones."""
    return make_model(
        [
            helper.make_node("Act", ["x"], ["a"], name="act0", domain=DOMAIN, **attrs),
            helper.make_node("Add", ["a", "bias"], ["y"], name="add0"),
        ],
        [("x", [2, 3])],
        [("y", [2, 3])],
        initializers=[("bias", np.array([1.0, 2.0, 3.0], np.float32))],
        domain_version=domain_version,
    )


X = np.array([[-2.0, -0.5, 0.0], [0.25, 1.5, -8.0]], np.float32)
BIAS = np.array([1.0, 2.0, 3.0], np.float32)


def test_a_registered_converter_imports_nodes_of_its_domain():
    assert find_converter("Act", DOMAIN) is None
    with temporary_converter("Act", act, domain=DOMAIN):
        assert find_converter("Act", DOMAIN) is act
        assert (DOMAIN, "Act", act) in registered_converters()
        assert "Act" not in SUPPORTED_OPS  # the default domain is untouched
        module = import_onnx(act_model(alpha=0.2))
        ops = {op.name for op in module.walk()}
        assert {"graph.min", "graph.mul", "graph.relu", "graph.add"} <= ops
        (got,) = run_reference(module, [X])
        np.testing.assert_allclose(got, leaky_relu(X, 0.2) + BIAS, rtol=1e-6)
        # The converter reads the version of its domain the model imports.
        (v2,) = run_reference(import_onnx(act_model(domain_version=2)), [X])
        np.testing.assert_allclose(v2, leaky_relu(X, 0.1) + BIAS, rtol=1e-6)
        # ... and the native code the compiler makes of it agrees.
        native = irforge.compile(act_model(alpha=0.2))(X)
        native = native[0] if isinstance(native, list | tuple) else native
        np.testing.assert_allclose(native, leaky_relu(X, 0.2) + BIAS, rtol=1e-6)
    assert find_converter("Act", DOMAIN) is None
    with pytest.raises(ONNXImportError, match=r"com\.example\.Act \(node 'act0'\)"):
        import_onnx(act_model())


def test_unregistered_custom_domain_op_is_a_clear_error():
    with pytest.raises(ONNXImportError) as e:
        import_onnx(act_model())
    message = str(e.value)
    assert message.startswith(
        "unsupported ONNX operators: com.example.Act (node 'act0') on (float32[2, 3]); "
    )
    assert message.endswith(
        "; an operator of another domain ('com.example') needs a converter registered for "
        "its domain (irforge.frontends.onnx.register_converter)"
    )
    # A known name in an unregistered domain is not the default-domain operator.
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], domain=DOMAIN)], [("x", [2])], [("y", [2])]
    )
    with pytest.raises(
        ONNXImportError,
        match=r"operators: com\.example\.Relu \(unnamed node #0\) on \(float32\[2\]\);",
    ):
        import_onnx(model)


def test_decorator_known_operands_and_unregister():
    seen = {}

    @converter("Scale", domain=DOMAIN)
    def scale(importer, operands, attrs, label):
        x, factor = operands
        seen["factor"] = importer.constant_value(factor)  # an initializer: known at import
        seen["runtime"] = importer.constant_value(x)
        return importer.emit(graph.MulOp(x, factor), label)

    try:
        model = make_model(
            [helper.make_node("Scale", ["x", "f"], ["y"], domain=DOMAIN)],
            [("x", [2, 3])],
            [("y", [2, 3])],
            initializers=[("f", np.array([2.0, -1.0, 0.5], np.float32))],
        )
        (got,) = run_reference(import_onnx(model), [X])
        np.testing.assert_array_equal(got, X * np.array([2.0, -1.0, 0.5], np.float32))
        np.testing.assert_array_equal(seen["factor"], [2.0, -1.0, 0.5])
        assert seen["runtime"] is None
    finally:
        assert unregister_converter("Scale", DOMAIN) is scale
    assert find_converter("Scale", DOMAIN) is None
    assert all(domain != DOMAIN for domain, _, _ in registered_converters())


def test_converter_errors_name_the_node():
    def refuse(importer, operands, attrs, label):
        raise ValueError("cannot take this shape")

    with temporary_converter("Act", act, DOMAIN), temporary_converter("Refuse", refuse, DOMAIN):
        with pytest.raises(ONNXImportError) as e:
            import_onnx(act_model(alpha=-1.0))
        assert str(e.value) == "Act node 'act0': alpha must be >= 0, got -1.0"
        model = make_model(
            [helper.make_node("Refuse", ["x"], ["y"], name="r", domain=DOMAIN)],
            [("x", [2])],
            [("y", [2])],
        )
        with pytest.raises(ONNXImportError, match=r"^Refuse node 'r': cannot take this shape$"):
            import_onnx(model)


def test_registration_rules():
    relu = SUPPORTED_OPS["Relu"]
    assert find_converter("Relu") is relu
    assert find_converter("Relu", "ai.onnx") is relu  # an alias of the default domain
    with pytest.raises(ValueError, match="ONNX operator Relu already has a converter"):
        register_converter("Relu", act)
    with pytest.raises(ValueError, match=r"com\.example\.Act already has a converter"):
        with temporary_converter("Act", act, DOMAIN):
            register_converter("Act", act, DOMAIN)
    assert find_converter("Act", DOMAIN) is None  # the with block undid its registration
    with pytest.raises(KeyError, match=r"com\.example\.Act has no converter"):
        unregister_converter("Act", DOMAIN)
    with pytest.raises(TypeError):
        register_converter("Act", "not a function", DOMAIN)
    assert SUPPORTED_OPS["Relu"] is relu
