"""NumPy reference semantics of the graph dialect's comparisons, boolean logic and casts
(dialects/graph/logic.py), following the ONNX operator specifications; merged into
graph_reference.REFERENCE.

Comparisons and logic return NumPy bool arrays (i1). `cast` follows the op's documented
conversions, which NumPy's `astype` leaves undefined for NaN and out-of-range floats:
those saturate to the integer type's bounds and NaN gives 0 (as LLVM's `fptosi.sat`).

Source: https://onnx.ai/onnx/operators/ (Equal, Less, ..., Not, Cast; opset 19).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .arrays import numpy_dtype
from .graph import logic as gl


def float_to_int(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float array `x` converted to integer `dtype`: truncated toward zero, saturated at
    the type's bounds (+-inf included), NaN as 0."""
    info = np.iinfo(dtype)
    wide = np.trunc(x.astype(np.float64))
    out = np.zeros(x.shape, dtype)
    low, high = wide <= info.min, wide >= info.max
    out[low] = info.min
    out[high] = info.max
    inside = ~(low | high | np.isnan(wide))
    out[inside] = wide[inside].astype(dtype)
    return out


def convert(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`x` as `dtype` with graph.cast's conversions (float to int: `float_to_int`; to bool:
    `x != 0`, NaN true; integers wrap)."""
    dtype = np.dtype(dtype)
    if x.dtype.kind == "f" and dtype.kind in "iu":
        return float_to_int(x, dtype)
    return x.astype(dtype)


def cast(op: gl.CastOp, x: np.ndarray) -> np.ndarray:
    """ONNX Cast (opset 19) to the result's element type (`convert`)."""
    return convert(x, numpy_dtype(op.result.type.element_type))


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    def run(op: Operation, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray(fn(a, b), dtype=np.bool_)

    run.__doc__ = f"ONNX's {fn.__name__} with multidirectional broadcasting (a bool array)."
    return run


def not_(op: gl.NotOp, x: np.ndarray) -> np.ndarray:
    """ONNX Not (opset 1)."""
    return np.logical_not(x)


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    gl.EqualOp: _binary(np.equal),
    gl.LessOp: _binary(np.less),
    gl.LessOrEqualOp: _binary(np.less_equal),
    gl.GreaterOp: _binary(np.greater),
    gl.GreaterOrEqualOp: _binary(np.greater_equal),
    gl.AndOp: _binary(np.logical_and),
    gl.OrOp: _binary(np.logical_or),
    gl.XorOp: _binary(np.logical_xor),
    gl.NotOp: not_,
    gl.CastOp: cast,
}
