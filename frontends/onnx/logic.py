"""ONNX import of the comparisons, boolean logic, Where and Cast (dialects/graph/logic.py,
graph.where of dialects/graph/shape.py).

Each converter is registered for the default domain with `converter` or
`register_converter` (base.py, whose docstring describes the signature
`fn(importer, operands, attrs, label)`). A node whose inputs are all known is evaluated by
the importer and never reaches these functions (a Cast of shape arithmetic, say).

- Equal, Less, LessOrEqual, Greater, GreaterOrEqual: the broadcasting comparisons, bool
  results; And, Or, Xor, Not: the boolean ops. Both operands of a comparison must have
  one element type (float32, int64, int32 or bool): the node is named otherwise.
- Where: `graph.where` with the bool condition, computed at run time or known; a known
  condition that is all true or all false imports as a broadcast of one side
  (`graph.expand`, or nothing).
- Cast: `graph.cast` to `to` (float32, int64, int32 or bool; anything else is an error
  naming the node); a cast to the input's own type is no op. CastLike: the same, to the
  element type of its second input.

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from onnx import helper
from xdsl.dialects.builtin import TensorType, i1
from xdsl.ir import Attribute, SSAValue

from ...dialects import graph
from ...dialects.arrays import element_type
from ...dialects.graph import logic as gl
from ...dialects.graph import shape as graph_shape
from .base import RUNTIME_TYPES_TEXT, Importer, ONNXImportError, converter, register_converter


def _binary(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        return imp.emit(cls(*ops), label)

    return build


register_converter("Equal", _binary(gl.EqualOp))
register_converter("Less", _binary(gl.LessOp))
register_converter("LessOrEqual", _binary(gl.LessOrEqualOp))
register_converter("Greater", _binary(gl.GreaterOp))
register_converter("GreaterOrEqual", _binary(gl.GreaterOrEqualOp))
register_converter("And", _binary(gl.AndOp))
register_converter("Or", _binary(gl.OrOp))
register_converter("Xor", _binary(gl.XorOp))


@converter("Not")
def _not(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return imp.emit(gl.NotOp(ops[0]), label)


def _shape(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape())


def _expand_to(imp: Importer, x: SSAValue, shape: Sequence[int], label: str) -> SSAValue:
    if tuple(shape) == _shape(x):
        return x
    return imp.emit(graph_shape.ExpandOp(x, shape), label)


@converter("Where")
def _where(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    cond, x, y = ops
    if cond.type.element_type != i1:
        raise ONNXImportError(
            f"{label}: the condition has element type {cond.type.element_type}, expected bool"
        )
    known = imp.constant_value(cond)
    if known is not None and (known.all() or not known.any()):  # one side only
        shapes = [_shape(v) for v in (cond, x, y)]
        shape = graph.broadcast_shapes(shapes[0], shapes[1])
        shape = graph.broadcast_shapes(shape, shapes[2]) if shape is not None else None
        if shape is None:
            listed = ", ".join(str(list(s)) for s in shapes)
            raise ONNXImportError(f"{label}: shapes {listed} do not broadcast")
        return _expand_to(imp, x if known.all() else y, shape, label)
    return imp.emit(graph_shape.WhereOp(cond, x, y), label)


def _cast_to(imp: Importer, x: SSAValue, to: Attribute | None, what: str, label: str):
    if to is None or to not in gl.LOGIC_TYPES:
        raise ONNXImportError(
            f"{label}: casts to {what}; irforge computes {RUNTIME_TYPES_TEXT} tensors only "
            "at run time (casts of values known at import are evaluated)"
        )
    if x.type.element_type == to:
        return x
    return imp.emit(gl.CastOp(x, to), label)


@converter("Cast")
def _cast(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    to = int(attrs.get("to", 0))
    dtype = helper.tensor_dtype_to_np_dtype(to) if to else None
    name = helper.tensor_dtype_to_string(to).removeprefix("TensorProto.").lower()
    return _cast_to(imp, ops[0], element_type(dtype) if dtype else None, name, label)


@converter("CastLike")
def _cast_like(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    target = ops[1].type
    elem = target.element_type if isinstance(target, TensorType) else None
    return _cast_to(imp, ops[0], elem, str(elem), label)
