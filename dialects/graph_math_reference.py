"""NumPy reference semantics of the graph dialect's math ops (dialects/graph/math.py),
following the ONNX operator specifications; merged into graph_reference.REFERENCE.

Arithmetic stays in the operands' dtype (float32): scalar parameters are converted to it
first, as ONNX Runtime reads float attributes as float32. NumPy's float32 transcendental
functions (exp, log, tanh) are within a few ulp of the correctly rounded result; `erf` has
no NumPy ufunc and is computed in float64 with `math.erf`, then rounded.

Source: https://onnx.ai/onnx/operators/ (the opset named in each docstring).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import math as gm

_erf64 = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x: np.ndarray) -> np.ndarray:
    return _erf64(x.astype(np.float64)).astype(x.dtype) if x.size else x.copy()


def _p(op: gm.UnaryMathOp, x: np.ndarray, name: str):
    """The float parameter `name` of `op` in x's dtype."""
    return x.dtype.type(op.param(name))


def div(op: gm.DivOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Div (opset 14): `a / b` with multidirectional broadcasting."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def pow_(op: gm.PowOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Pow (opset 15): `a ** b` with multidirectional broadcasting (NaN for a negative
    base and a non-integer exponent, as C's powf)."""
    with np.errstate(all="ignore"):
        return np.power(a, b)


def max_(op: gm.MaxOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Max (opset 13) of two inputs, broadcast; NaN propagates."""
    return np.maximum(a, b)


def min_(op: gm.MinOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Min (opset 13) of two inputs, broadcast; NaN propagates."""
    return np.minimum(a, b)


def sqrt(op: gm.SqrtOp, x: np.ndarray) -> np.ndarray:
    """ONNX Sqrt (opset 13)."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(x)


def exp(op: gm.ExpOp, x: np.ndarray) -> np.ndarray:
    """ONNX Exp (opset 13)."""
    with np.errstate(over="ignore"):
        return np.exp(x)


def log(op: gm.LogOp, x: np.ndarray) -> np.ndarray:
    """ONNX Log (opset 13): -inf at 0, NaN for negative inputs."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def abs_(op: gm.AbsOp, x: np.ndarray) -> np.ndarray:
    """ONNX Abs (opset 13)."""
    return np.abs(x)


def neg(op: gm.NegOp, x: np.ndarray) -> np.ndarray:
    """ONNX Neg (opset 13)."""
    return np.negative(x)


def reciprocal(op: gm.ReciprocalOp, x: np.ndarray) -> np.ndarray:
    """ONNX Reciprocal (opset 13): `1 / x`."""
    with np.errstate(divide="ignore"):
        return np.reciprocal(x)


def tanh(op: gm.TanhOp, x: np.ndarray) -> np.ndarray:
    """ONNX Tanh (opset 13)."""
    return np.tanh(x)


def erf(op: gm.ErfOp, x: np.ndarray) -> np.ndarray:
    """ONNX Erf (opset 13)."""
    return _erf(x)


def sigmoid(op: gm.SigmoidOp, x: np.ndarray) -> np.ndarray:
    """ONNX Sigmoid (opset 13): `1 / (1 + exp(-x))` (exp overflow gives 0, not NaN)."""
    one = x.dtype.type(1)
    with np.errstate(over="ignore"):
        return one / (one + np.exp(-x))


def softplus(op: gm.SoftplusOp, x: np.ndarray) -> np.ndarray:
    """ONNX Softplus (opset 1): `log(1 + exp(x))`, as `max(x, 0) + log1p(exp(-|x|))`, which
    is the same number without overflow for large x."""
    return np.maximum(x, x.dtype.type(0)) + np.log1p(np.exp(-np.abs(x)))


def gelu(op: gm.GeluOp, x: np.ndarray) -> np.ndarray:
    """ONNX Gelu (opset 20): `0.5 x (1 + erf(x / sqrt 2))`, or with approximate = "tanh"
    `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`."""
    t = x.dtype.type
    if op.param("approximate") == "tanh":
        inner = t(math.sqrt(2 / math.pi)) * (x + t(0.044715) * x * x * x)
        return t(0.5) * x * (t(1) + np.tanh(inner))
    return t(0.5) * x * (t(1) + _erf(x * t(1 / math.sqrt(2))))


def leaky_relu(op: gm.LeakyReluOp, x: np.ndarray) -> np.ndarray:
    """ONNX LeakyRelu (opset 16): `x` where x >= 0, else `alpha * x`."""
    return np.where(x >= 0, x, _p(op, x, "alpha") * x)


def elu(op: gm.EluOp, x: np.ndarray) -> np.ndarray:
    """ONNX Elu (opset 6): `x` where x >= 0, else `alpha * (exp(x) - 1)`."""
    with np.errstate(over="ignore"):
        return np.where(x >= 0, x, _p(op, x, "alpha") * np.expm1(np.minimum(x, 0)))


def hard_sigmoid(op: gm.HardSigmoidOp, x: np.ndarray) -> np.ndarray:
    """ONNX HardSigmoid (opset 6): `max(0, min(1, alpha * x + beta))`."""
    t = x.dtype.type
    return np.clip(_p(op, x, "alpha") * x + _p(op, x, "beta"), t(0), t(1))


def clip(op: gm.ClipOp, x: np.ndarray) -> np.ndarray:
    """ONNX Clip (opset 13): `min(max(x, min), max)`, an absent bound not clipping (when
    min > max, every element becomes max)."""
    y = x.copy()
    if op.param("min") is not None:
        y = np.maximum(y, _p(op, x, "min"))
    if op.param("max") is not None:
        y = np.minimum(y, _p(op, x, "max"))
    return y


def _reduce(fn: Callable[..., np.ndarray]) -> Callable[[gm.ReduceOp, np.ndarray], np.ndarray]:
    def run(op: gm.ReduceOp, x: np.ndarray) -> np.ndarray:
        axes = op.normalized_axes()
        if not axes:
            return x.copy()  # reducing no dimension is the identity
        return np.asarray(fn(x, axis=axes, keepdims=op.keeps_dims), dtype=x.dtype)

    return run


def _mean(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    count = math.prod(x.shape[a] for a in axis)
    with np.errstate(invalid="ignore"):
        return np.sum(x, axis=axis, keepdims=keepdims) / x.dtype.type(count)


def _extreme(ufunc: np.ufunc, empty: float) -> Callable[..., np.ndarray]:
    def run(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
        return ufunc.reduce(x, axis=axis, keepdims=keepdims, initial=empty)

    return run


def layer_norm(
    op: gm.LayerNormOp, x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None = None
) -> np.ndarray:
    """ONNX LayerNormalization (opset 17), output Y: normalize over dimensions axis.. with
    the biased variance, `(x - mean) / sqrt(var + epsilon) * scale + bias`."""
    t = x.dtype.type
    axes = tuple(range(op.normalized_axis(), x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True, dtype=x.dtype)
    d = x - mean
    var = np.mean(d * d, axis=axes, keepdims=True, dtype=x.dtype)
    y = d / np.sqrt(var + t(op.epsilon.value.data)) * scale
    return y + bias if bias is not None else y


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    gm.DivOp: div,
    gm.PowOp: pow_,
    gm.MaxOp: max_,
    gm.MinOp: min_,
    gm.SqrtOp: sqrt,
    gm.ExpOp: exp,
    gm.LogOp: log,
    gm.AbsOp: abs_,
    gm.NegOp: neg,
    gm.ReciprocalOp: reciprocal,
    gm.TanhOp: tanh,
    gm.ErfOp: erf,
    gm.SigmoidOp: sigmoid,
    gm.SoftplusOp: softplus,
    gm.GeluOp: gelu,
    gm.LeakyReluOp: leaky_relu,
    gm.EluOp: elu,
    gm.HardSigmoidOp: hard_sigmoid,
    gm.ClipOp: clip,
    # ONNX ReduceSum/Mean/Max/Min/Prod (opset 18): over `axes`, keeping them as size 1 when
    # keepdims; the empty set gives 0, NaN, -inf, +inf and 1.
    gm.ReduceSumOp: _reduce(np.sum),
    gm.ReduceMeanOp: _reduce(_mean),
    gm.ReduceMaxOp: _reduce(_extreme(np.maximum, -np.inf)),
    gm.ReduceMinOp: _reduce(_extreme(np.minimum, np.inf)),
    gm.ReduceProdOp: _reduce(np.prod),
    gm.LayerNormOp: layer_norm,
}
"""Op class -> reference function `(op, *operand_arrays) -> result_array`."""
