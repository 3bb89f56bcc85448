"""ONNX import of the operators of dialects/graph/math.py.

`CONVERTERS` maps an ONNX op type to `fn(importer, operands, attrs, label) -> SSAValue`
(see frontends/onnx.py); onnx.py adds them to `SUPPORTED_OPS`.

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
from xdsl.ir import Operation, SSAValue

from ...dialects import graph
from ...dialects.graph import math as gm
from ...dialects.graph_reference import dense_to_numpy


def _error(message: str) -> Exception:
    from . import ONNXImportError  # onnx.py imports this module

    return ONNXImportError(message)


def constant_value(value: SSAValue | None) -> np.ndarray | None:
    """The elements of `value` if a `graph.constant` defines it (an initializer or a
    Constant node), else None.

    A local stand-in for reading constant inputs (axes, Clip bounds) until the importer
    core offers one: it looks at the SSA value's owner, so it sees exactly the constants
    the importer has emitted.
    """
    if value is None or not isinstance(value.owner, graph.ConstantOp):
        return None
    return dense_to_numpy(value.owner.value)


def _f32_operands(label: str, values: Sequence[SSAValue | None]) -> None:
    for i, v in enumerate(values):
        if v is not None and not isinstance(v.type.element_type, Float32Type):
            raise _error(
                f"{label}: input #{i} has element type {v.type.element_type}; irforge "
                "imports this operator for float32 tensors only"
            )


def _emit(imp, op: Operation, label: str) -> SSAValue:
    return imp.emit(op, label)


# ------------------------------------------------------------------------- binary ops


def _binary(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    def build(imp, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops)
        return _emit(imp, cls(*ops), label)

    return build


def _pow(imp, ops: list, attrs: dict, label: str) -> SSAValue:
    from . import dense_f32

    base, exponent = ops
    _f32_operands(label, [base])
    if not isinstance(exponent.type.element_type, Float32Type):
        value = constant_value(exponent)
        if value is None:
            raise _error(
                f"{label}: the exponent has element type {exponent.type.element_type} and is "
                "not a constant; irforge imports Pow with float32 or constant exponents"
            )
        exponent = _emit(imp, graph.ConstantOp(dense_f32(value.astype(np.float32))), label)
    return _emit(imp, gm.PowOp(base, exponent), label)


def _chain(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    """A variadic ONNX op (Max, Min, Sum) as a left-to-right chain of the binary op."""

    def build(imp, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops)
        if not ops or any(v is None for v in ops):
            raise _error(f"{label}: expects one or more inputs, none of them empty")
        acc = ops[0]
        for v in ops[1:]:
            acc = _emit(imp, cls(acc, v), label)
        return acc

    return build


def _mean(imp, ops: list, attrs: dict, label: str) -> SSAValue:
    from . import dense_f32

    total = _chain(graph.AddOp)(imp, ops, attrs, label)
    if len(ops) == 1:
        return total
    count = _emit(imp, graph.ConstantOp(dense_f32(np.array([len(ops)], np.float32))), label)
    return _emit(imp, gm.DivOp(total, count), label)


# -------------------------------------------------------------------------- unary ops


def _unary(cls: type[gm.UnaryMathOp], **defaults: float | str) -> Callable:
    """A unary op whose ONNX attributes `defaults` (name -> ONNX default) become its
    properties."""

    def build(imp, ops: list, attrs: dict, label: str) -> SSAValue:
        _f32_operands(label, ops[:1])
        params = {}
        for name, default in defaults.items():
            value = attrs.get(name, default)
            params[name] = value.decode() if isinstance(value, bytes) else value
        return _emit(imp, cls(ops[0], **params), label)

    return build


def _clip(imp, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    _f32_operands(label, ops)
    if imp.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
        return _emit(imp, gm.ClipOp(x, min=lo, max=hi), label)
    bounds = (ops + [None, None])[1:3]
    values = [constant_value(b) for b in bounds]
    for what, b, v in zip(("min", "max"), bounds, values):
        if b is not None and b.type.get_shape() not in ((), (1,)) and v is None:
            raise _error(f"{label}: {what} must be a scalar, got shape {list(b.type.get_shape())}")
        if v is not None and v.size != 1:
            raise _error(f"{label}: {what} must be a scalar, got shape {list(v.shape)}")
    if all(b is None or v is not None for b, v in zip(bounds, values)):
        lo, hi = (float(v.reshape(())) if v is not None else None for v in values)
        return _emit(imp, gm.ClipOp(x, min=lo, max=hi), label)
    # Bounds computed at run time: max(x, min) then min(., max), the same function.
    for cls, b in ((gm.MaxOp, bounds[0]), (gm.MinOp, bounds[1])):
        if b is not None:
            x = _emit(imp, cls(x, b), label)
    return x


# ------------------------------------------------------------------------- reductions


def _axes_input_opset(op_type: str) -> int:
    return 13 if op_type == "ReduceSum" else 18


def _reduce(cls: type[gm.ReduceOp], op_type: str) -> Callable:
    def build(imp, ops: list, attrs: dict, label: str) -> SSAValue:
        x = ops[0]
        _f32_operands(label, ops[:1])
        rank = len(x.type.get_shape())
        keepdims = int(attrs.get("keepdims", 1))
        if keepdims not in (0, 1):
            raise _error(f"{label}: keepdims must be 0 or 1, got {keepdims}")
        if imp.opset >= _axes_input_opset(op_type):
            axes_value = ops[1] if len(ops) > 1 else None
            axes = constant_value(axes_value)
            if axes_value is not None and axes is None:
                raise _error(
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
            raise _error(f"{label}: axes {axes_list} are out of range for rank {rank}")
        if len({a % rank for a in axes_list}) != len(axes_list):
            raise _error(f"{label}: axes {axes_list} repeat a dimension")
        return _emit(imp, cls(x, axes_list, keepdims=bool(keepdims)), label)

    return build


def _layer_norm(imp, ops: list, attrs: dict, label: str):
    from . import dense_f32

    x, scale, bias = (ops + [None, None])[:3]
    _f32_operands(label, [x, scale, bias])
    stash = int(attrs.get("stash_type", 1))
    if stash != 1:
        raise _error(f"{label}: stash_type {stash} is not supported (only 1: float32)")
    rank = len(x.type.get_shape())
    axis = int(attrs.get("axis", -1))
    if not -rank <= axis < rank:
        raise _error(f"{label}: axis {axis} is out of range for rank {rank}")
    epsilon = float(attrs.get("epsilon", 1e-5))
    y = _emit(imp, gm.LayerNormOp(x, scale, bias, axis=axis, epsilon=epsilon), label)
    uses = getattr(imp, "used_extra_outputs", None)
    if not (callable(uses) and uses()):
        return y
    # Mean and InvStdDev (shape [d0, ..., d(axis-1), 1, ..., 1]) are recomputed from x
    # with graph ops: only models that use them pay for them.
    axes = list(range(axis % rank, rank))
    mean = _emit(imp, gm.ReduceMeanOp(x, axes), label)
    d = _emit(imp, graph.SubOp(x, mean), label)
    var = _emit(imp, gm.ReduceMeanOp(_emit(imp, graph.MulOp(d, d), label), axes), label)
    eps = _emit(imp, graph.ConstantOp(dense_f32(np.array([epsilon], np.float32))), label)
    std = _emit(imp, gm.SqrtOp(_emit(imp, graph.AddOp(var, eps), label)), label)
    return [y, mean, _emit(imp, gm.ReciprocalOp(std), label)]


CONVERTERS: dict[str, Callable] = {
    "Div": _binary(gm.DivOp),
    "Pow": _pow,
    "Max": _chain(gm.MaxOp),
    "Min": _chain(gm.MinOp),
    "Sum": _chain(graph.AddOp),
    "Mean": _mean,
    "Sqrt": _unary(gm.SqrtOp),
    "Exp": _unary(gm.ExpOp),
    "Log": _unary(gm.LogOp),
    "Abs": _unary(gm.AbsOp),
    "Neg": _unary(gm.NegOp),
    "Reciprocal": _unary(gm.ReciprocalOp),
    "Tanh": _unary(gm.TanhOp),
    "Erf": _unary(gm.ErfOp),
    "Sigmoid": _unary(gm.SigmoidOp),
    "Softplus": _unary(gm.SoftplusOp),
    "Gelu": _unary(gm.GeluOp, approximate="none"),
    "LeakyRelu": _unary(gm.LeakyReluOp, alpha=0.01),
    "Elu": _unary(gm.EluOp, alpha=1.0),
    "HardSigmoid": _unary(gm.HardSigmoidOp, alpha=0.2, beta=0.5),
    "Clip": _clip,
    "ReduceSum": _reduce(gm.ReduceSumOp, "ReduceSum"),
    "ReduceMean": _reduce(gm.ReduceMeanOp, "ReduceMean"),
    "ReduceMax": _reduce(gm.ReduceMaxOp, "ReduceMax"),
    "ReduceMin": _reduce(gm.ReduceMinOp, "ReduceMin"),
    "ReduceProd": _reduce(gm.ReduceProdOp, "ReduceProd"),
    "LayerNormalization": _layer_norm,
}
"""ONNX operator (default domain) -> the function that imports one node of it."""
