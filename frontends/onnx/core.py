"""ONNX import of the core operators of dialects/graph/__init__.py: Gemm, MatMul (any rank),
Add, Sub, Mul, Relu, Softmax, Identity, Constant.

Softmax of opsets before 13 (which flattens the input to 2-D around `axis`) becomes
reshape, softmax over the last axis, reshape back. Constant nodes are evaluated at import
(base.py); their converter makes the operator supported.

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

import numpy as np
from xdsl.ir import SSAValue

from ...dialects import graph
from .base import Importer, ONNXImportError, converter, register_converter


def _rank2(label: str, *values: SSAValue) -> None:
    shapes = [list(v.type.get_shape()) for v in values]
    if any(len(s) != 2 for s in shapes):
        raise ONNXImportError(
            f"{label}: irforge supports only 2-D operands here, got shapes "
            f"{' and '.join(map(str, shapes))}"
        )


@converter("Gemm")
def _gemm(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    a, b, c = (ops + [None])[:3]
    _rank2(label, a, b)
    op = graph.GemmOp(
        a,
        b,
        c,
        alpha=float(attrs.get("alpha", 1.0)),
        beta=float(attrs.get("beta", 1.0)),
        trans_a=int(attrs.get("transA", 0)),
        trans_b=int(attrs.get("transB", 0)),
    )
    return imp.emit(op, label)


@converter("MatMul")
def _matmul(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return imp.emit(graph.MatMulOp(*ops), label)


def _binary(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        return imp.emit(cls(*ops), label)

    return build


register_converter("Add", _binary(graph.AddOp))
register_converter("Sub", _binary(graph.SubOp))
register_converter("Mul", _binary(graph.MulOp))


@converter("Relu")
def _relu(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return imp.emit(graph.ReluOp(ops[0]), label)


@converter("Softmax")
def _softmax(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    shape = list(x.type.get_shape())
    rank = len(shape)
    axis = int(attrs.get("axis", -1 if imp.opset >= 13 else 1))
    if rank == 0 or not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    axis %= rank
    if imp.opset >= 13 or all(d == 1 for d in shape[axis + 1 :]):
        return imp.emit(graph.SoftmaxOp(x, axis), label)
    # Before opset 13, Softmax flattens the input to 2-D [prod(d[:axis]), prod(d[axis:])]
    # and normalizes the rows: reshape, softmax over the last axis, reshape back.
    flat = imp.emit(graph.ReshapeOp(x, [prod(shape[:axis]), prod(shape[axis:])]), label)
    soft = imp.emit(graph.SoftmaxOp(flat, 1), label)
    return imp.emit(graph.ReshapeOp(soft, shape), label)


@converter("Identity")
def _identity(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return ops[0]


@converter("Constant")
def _constant(imp: Importer, ops: list, attrs: dict, label: str) -> np.ndarray:
    # Constant nodes are evaluated at import (`Importer.fold`); this entry lists the op.
    return imp.evaluate(imp.node)[0]
