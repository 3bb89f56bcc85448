"""ONNX import of the operators of dialects/graph/math.py.

Each converter is registered for the default domain with `converter` or
`register_converter` (base.py, whose docstring describes the signature
`fn(importer, operands, attrs, label)`).

- Div, Pow, Max, Min: the broadcasting binary ops; Max and Min (variadic in ONNX) are
  chains of graph.max / graph.min, Sum a chain of graph.add, Mean that chain divided by
  the input count. One input is the input itself. A constant non-float exponent of Pow
  (ONNX allows int exponents) is converted to float32.
- Sqrt, Exp, Log, Abs, Neg, Reciprocal, Tanh, Erf, Sigmoid, Softplus, Gelu, LeakyRelu, Elu,
  HardSigmoid: one unary op each, attributes as properties.
- Clip: `min`/`max` attributes before opset 11; from opset 11 optional inputs, read into
  the op's properties when they are constants, else applied as graph.max / graph.min
  with the (scalar) tensors.
- ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd: `axes` is an attribute before
  opset 18 (13 for ReduceSum) and an optional constant input after; no axes means all
  axes, unless `noop_with_empty_axes` is 1 (then the input itself).
- LayerNormalization (opset 17): graph.layer_norm for Y; when the importer reports the
  Mean or InvStdDev outputs used (`used_extra_outputs`), they are computed by graph ops
  (reduce_mean of x; 1 / sqrt(reduce_mean((x - mean)^2) + epsilon)).

Declined with an ONNXImportError naming the node: non-float32 operands, axes or Clip
bounds that are not constants, out-of-range or repeated axes, `stash_type` other than 1.

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.dialects.builtin import Float32Type
from xdsl.ir import SSAValue

from ...dialects import graph
from ...dialects.graph import math as gm
from .base import Importer, ONNXImportError, converter, dense_f32, register_converter


def _f32_operands(label: str, values: Sequence[SSAValue | None]) -> None:
    for i, v in enumerate(values):
        if v is not None and not isinstance(v.type.element_type, Float32Type):
            raise ONNXImportError(
                f"{label}: input #{i} has element type {v.type.element_type}; irforge "
                "imports this operator for float32 tensors only"
            )


# ------------------------------------------------------------------------- binary ops


def _binary(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops)
        return imp.emit(cls(*ops), label)

    return build


@converter("Pow")
def _pow(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    base, exponent = ops
    _f32_operands(label, [base])
    if not isinstance(exponent.type.element_type, Float32Type):
        value = imp.constant_value(exponent)
        if value is None:
            raise ONNXImportError(
                f"{label}: the exponent has element type {exponent.type.element_type} and is "
                "not a constant; irforge imports Pow with float32 or constant exponents"
            )
        exponent = imp.emit(graph.ConstantOp(dense_f32(value.astype(np.float32))), label)
    return imp.emit(gm.PowOp(base, exponent), label)


def _chain(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    """A variadic ONNX op (Max, Min, Sum) as a left-to-right chain of the binary op."""

    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops)
        if not ops or any(v is None for v in ops):
            raise ONNXImportError(f"{label}: expects one or more inputs, none of them empty")
        acc = ops[0]
        for v in ops[1:]:
            acc = imp.emit(cls(acc, v), label)
        return acc

    return build


@converter("Mean")
def _mean(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    total = _chain(graph.AddOp)(imp, ops, attrs, label)
    if len(ops) == 1:
        return total
    count = imp.emit(graph.ConstantOp(dense_f32(np.array([len(ops)], np.float32))), label)
    return imp.emit(gm.DivOp(total, count), label)


# -------------------------------------------------------------------------- unary ops


def _unary(cls: type[gm.UnaryMathOp], **defaults: float | str) -> Callable:
    """A unary op whose ONNX attributes `defaults` (name -> ONNX default) become its
    properties."""

    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops[:1])
        params = {}
        for name, default in defaults.items():
            value = attrs.get(name, default)
            params[name] = value.decode() if isinstance(value, bytes) else value
        return imp.emit(cls(ops[0], **params), label)

    return build


@converter("Clip")
def _clip(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    _f32_operands(label, ops)
    if imp.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
        return imp.emit(gm.ClipOp(x, min=lo, max=hi), label)
    bounds = (ops + [None, None])[1:3]
    values = [imp.constant_value(b) for b in bounds]
    for what, b, v in zip(("min", "max"), bounds, values):
        if b is not None and b.type.get_shape() not in ((), (1,)) and v is None:
            raise ONNXImportError(
                f"{label}: {what} must be a scalar, got shape {list(b.type.get_shape())}"
            )
        if v is not None and v.size != 1:
            raise ONNXImportError(f"{label}: {what} must be a scalar, got shape {list(v.shape)}")
    if all(b is None or v is not None for b, v in zip(bounds, values)):
        lo, hi = (float(v.reshape(())) if v is not None else None for v in values)
        return imp.emit(gm.ClipOp(x, min=lo, max=hi), label)
    # Bounds computed at run time: max(x, min) then min(., max), the same function.
    for cls, b in ((gm.MaxOp, bounds[0]), (gm.MinOp, bounds[1])):
        if b is not None:
            x = imp.emit(cls(x, b), label)
    return x


# ------------------------------------------------------------------------- reductions


def _axes_input_opset(op_type: str) -> int:
    return 13 if op_type == "ReduceSum" else 18


def _reduce(cls: type[gm.ReduceOp], op_type: str) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        x = ops[0]
        _f32_operands(label, ops[:1])
        rank = len(x.type.get_shape())
        keepdims = int(attrs.get("keepdims", 1))
        if keepdims not in (0, 1):
            raise ONNXImportError(f"{label}: keepdims must be 0 or 1, got {keepdims}")
        if imp.opset >= _axes_input_opset(op_type):
            axes_value = ops[1] if len(ops) > 1 else None
            axes = imp.constant_value(axes_value)
            if axes_value is not None and axes is None:
                raise ONNXImportError(
                    f"{label}: axes is not a constant; irforge needs the reduced axes at "
                    "import time"
                )
            axes_list = [] if axes is None else [int(a) for a in axes.reshape(-1)]
        else:
            axes_list = [int(a) for a in attrs.get("axes", [])]
        if not axes_list:
            if int(attrs.get("noop_with_empty_axes", 0)):
                return x
            axes_list = list(range(rank))
        bad = [a for a in axes_list if not -rank <= a < rank]
        if bad:
            raise ONNXImportError(f"{label}: axes {axes_list} are out of range for rank {rank}")
        if len({a % rank for a in axes_list}) != len(axes_list):
            raise ONNXImportError(f"{label}: axes {axes_list} repeat a dimension")
        return imp.emit(cls(x, axes_list, keepdims=bool(keepdims)), label)

    return build


@converter("LayerNormalization")
def _layer_norm(imp: Importer, ops: list, attrs: dict, label: str):
    x, scale, bias = (ops + [None, None])[:3]
    _f32_operands(label, [x, scale, bias])
    stash = int(attrs.get("stash_type", 1))
    if stash != 1:
        raise ONNXImportError(f"{label}: stash_type {stash} is not supported (only 1: float32)")
    rank = len(x.type.get_shape())
    axis = int(attrs.get("axis", -1))
    if not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    epsilon = float(attrs.get("epsilon", 1e-5))
    y = imp.emit(gm.LayerNormOp(x, scale, bias, axis=axis, epsilon=epsilon), label)
    if not imp.used_extra_outputs():
        return y
    # Mean and InvStdDev (shape [d0, ..., d(axis-1), 1, ..., 1]) are recomputed from x
    # with graph ops: only models that use them pay for them.
    axes = list(range(axis % rank, rank))
    mean = imp.emit(gm.ReduceMeanOp(x, axes), label)
    d = imp.emit(graph.SubOp(x, mean), label)
    var = imp.emit(gm.ReduceMeanOp(imp.emit(graph.MulOp(d, d), label), axes), label)
    eps = imp.emit(graph.ConstantOp(dense_f32(np.array([epsilon], np.float32))), label)
    std = imp.emit(gm.SqrtOp(imp.emit(graph.AddOp(var, eps), label)), label)
    return [y, mean, imp.emit(gm.ReciprocalOp(std), label)]


register_converter("Div", _binary(gm.DivOp))
register_converter("Max", _chain(gm.MaxOp))
register_converter("Min", _chain(gm.MinOp))
register_converter("Sum", _chain(graph.AddOp))
register_converter("Sqrt", _unary(gm.SqrtOp))
register_converter("Exp", _unary(gm.ExpOp))
register_converter("Log", _unary(gm.LogOp))
register_converter("Abs", _unary(gm.AbsOp))
register_converter("Neg", _unary(gm.NegOp))
register_converter("Reciprocal", _unary(gm.ReciprocalOp))
register_converter("Tanh", _unary(gm.TanhOp))
register_converter("Erf", _unary(gm.ErfOp))
register_converter("Sigmoid", _unary(gm.SigmoidOp))
register_converter("Softplus", _unary(gm.SoftplusOp))
register_converter("Gelu", _unary(gm.GeluOp, approximate="none"))
register_converter("LeakyRelu", _unary(gm.LeakyReluOp, alpha=0.01))
register_converter("Elu", _unary(gm.EluOp, alpha=1.0))
register_converter("HardSigmoid", _unary(gm.HardSigmoidOp, alpha=0.2, beta=0.5))
register_converter("ReduceSum", _reduce(gm.ReduceSumOp, "ReduceSum"))
register_converter("ReduceMean", _reduce(gm.ReduceMeanOp, "ReduceMean"))
register_converter("ReduceMax", _reduce(gm.ReduceMaxOp, "ReduceMax"))
register_converter("ReduceMin", _reduce(gm.ReduceMinOp, "ReduceMin"))
register_converter("ReduceProd", _reduce(gm.ReduceProdOp, "ReduceProd"))
