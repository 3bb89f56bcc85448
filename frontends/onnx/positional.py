"""ONNX import of Trilu and CumSum (dialects/graph/positional.py), and Range.

Each converter is registered for the default domain with `converter` (base.py, whose
docstring describes the signature `fn(importer, operands, attrs, label)`). A node whose
inputs are all known is evaluated by the importer and never reaches these functions: a
Trilu of a constant, a Range of known bounds (torch's position ids and causal masks).

- Trilu (opset 14): `graph.trilu` of a runtime input; the diagonal offset `k` (optional
  input, default 0) must be known at import.
- CumSum (opset 11/14): `graph.cumsum` of a runtime input; the `axis` input must be known
  at import; `exclusive` and `reverse` attributes as properties.
- Range with an input computed at run time is declined: its length would depend on
  run-time values, and every shape is static.

Element types: float32, int64 and int32 (anything else is an error naming the node).

Source: the ONNX operator specifications (Trilu, CumSum, Range),
https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import SSAValue

from ...dialects.graph import positional as graph_positional
from .base import Importer, ONNXImportError, converter


def _known_int(imp: Importer, value: SSAValue, what: str, label: str) -> int:
    array = imp.constant_value(value)
    if array is None:
        raise ONNXImportError(
            f"{label}: {what} is computed at run time; irforge needs it known at import"
        )
    if np.asarray(array).size != 1:
        raise ONNXImportError(
            f"{label}: {what} must be a single integer, got shape {list(array.shape)}"
        )
    return int(np.asarray(array).reshape(()))


def _check_type(x: SSAValue, label: str) -> None:
    if x.type.element_type not in graph_positional.ELEMENT_TYPES:
        raise ONNXImportError(
            f"{label}: input of element type {x.type.element_type}; irforge imports this "
            "operator for float32, int64 and int32 tensors"
        )


@converter("Trilu")
def _trilu(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    _check_type(x, label)
    if len(x.type.get_shape()) < 2:
        raise ONNXImportError(f"{label}: the input must have rank >= 2, got {x.type}")
    k = _known_int(imp, ops[1], "the k input", label) if len(ops) > 1 and ops[1] else 0
    upper = bool(int(attrs.get("upper", 1)))
    return imp.emit(graph_positional.TriluOp(x, upper=upper, k=k), label)


@converter("CumSum")
def _cumsum(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    _check_type(x, label)
    rank = len(x.type.get_shape())
    axis = _known_int(imp, ops[1], "the axis input", label)
    if not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    op = graph_positional.CumSumOp(
        x,
        axis,
        exclusive=bool(int(attrs.get("exclusive", 0))),
        reverse=bool(int(attrs.get("reverse", 0))),
    )
    return imp.emit(op, label)


@converter("Range")
def _range(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    raise ONNXImportError(
        f"{label}: start, limit and delta must be known at import (the length of a Range "
        "computed at run time is not static)"
    )
