"""Import-time evaluation: the ONNX nodes whose values are known when the model is imported.

Every shape is static, so Shape and Size are always known; a Constant is known; and any
other default-domain node whose inputs are all known is evaluated too (`is_foldable`),
unless it is random or holds a subgraph. `evaluate_node` computes such a node with NumPy
for the frequent operators (Constant, ConstantOfShape, Shape, Size, Identity) and with
`onnx.reference.ReferenceEvaluator` for the others; it raises whatever the evaluator
raises (the importer wraps it in an ONNXImportError naming the node).

This module knows nothing of the importer or of the graph dialect.
"""

from __future__ import annotations

from collections.abc import Collection
from math import prod

import numpy as np
import onnx
from onnx import helper, numpy_helper

NONDETERMINISTIC = frozenset(
    {
        "RandomNormal",
        "RandomUniform",
        "RandomNormalLike",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)
"""Operators never evaluated at import, even when their inputs are known."""

SHAPE_QUERIES = frozenset({"Shape", "Size"})
"""Operators always known at import: every shape is static."""


def has_subgraph(node: onnx.NodeProto) -> bool:
    """Whether `node` has a graph attribute (If, Loop, Scan, ...)."""
    return any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute
    )


def is_foldable(node: onnx.NodeProto, known: Collection[str]) -> bool:
    """Whether a node of the default domain is evaluated at import, by structure: it is a
    Constant, asks for a shape, or has known inputs (names in `known`) only, without being
    random or holding a subgraph."""
    inputs = [n for n in node.input if n]
    return (
        node.op_type == "Constant"
        or node.op_type in SHAPE_QUERIES
        or bool(
            inputs
            and all(n in known for n in inputs)
            and node.op_type not in NONDETERMINISTIC
            and not has_subgraph(node)
        )
    )


def shape_query(node: onnx.NodeProto, shape: tuple[int, ...]) -> np.ndarray:
    """ONNX Shape (with opset-15 start/end) or Size of a tensor of static `shape`."""
    if node.op_type == "Size":
        return np.array(prod(shape), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)  # slicing clamps as ONNX says


def evaluate_node(node: onnx.NodeProto, inputs: list[np.ndarray | None], opset: int) -> list:
    """The outputs of `node` on known inputs (None for an omitted one; one array per output,
    None for an omitted output): NumPy for the frequent ops (ConstantOfShape holds the
    weights of the onnx package's test models), onnx.reference otherwise, at the default
    domain's `opset`."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    op = node.op_type
    if op == "Constant" and "value" in attrs:
        return [numpy_helper.to_array(attrs["value"])]
    if op == "ConstantOfShape":
        value = (
            numpy_helper.to_array(attrs["value"]).reshape(()) if "value" in attrs else np.float32(0)
        )
        return [np.full(tuple(int(d) for d in inputs[0]), value, dtype=value.dtype)]
    if op in SHAPE_QUERIES:
        return [shape_query(node, inputs[0].shape)]
    if op == "Identity":
        return [inputs[0]]
    from onnx.reference import ReferenceEvaluator

    plain = helper.make_node(op, list(node.input), list(node.output), name=node.name)
    plain.attribute.extend(node.attribute)
    g = helper.make_graph(
        [plain],
        "fold",
        [helper.make_tensor_value_info(n, 0, None) for n in node.input if n],
        [helper.make_tensor_value_info(n, 0, None) for n in node.output if n],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: a for n, a in zip(node.input, inputs) if n}
    results = ReferenceEvaluator(model).run(None, feeds)
    it = iter(results)
    return [next(it) if n else None for n in node.output]
