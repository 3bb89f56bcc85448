"""Scalar `arith` and `math` semantics for irforge's interpreters, on xDSL's framework.

xDSL's `ArithFunctions` and `MathFunctions` cover part of the two dialects and compute
floats as Python floats (IEEE binary64). This module extends them, with the same value
representation (Python `float`, `int`, `bool`), and rounds every float result to the
precision of its result type: an `f32` op computes in binary64, then rounds to binary32.

For `+ - * /` and `sqrt` on binary32 inputs that is exactly IEEE binary32 arithmetic
(binary64 has more than 2 * 24 + 2 significand bits, so the double rounding is harmless);
transcendental functions (exp, log, tanh, erf) are the libm binary64 result rounded to
binary32, i.e. usually closer to the true value than a binary32 libm. Results are compared
with native code under stated tolerances, never bit for bit.

Division by zero, overflow and domain errors give IEEE inf/NaN, never a Python exception.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
)
from xdsl.interpreter import Interpreter, PythonValues, impl, register_impls
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.math import MathFunctions
from xdsl.ir import Attribute, Operation
from xdsl.utils.comparisons import to_signed, to_unsigned
from xdsl.utils.exceptions import InterpretationError

from .arrays import to_numpy

_F32 = struct.Struct("<f")
_F32_MAX = 3.4028235677973366e38  # largest binary64 that rounds to a finite binary32
_INF = math.inf


def round_f32(x: float) -> float:
    """`x` rounded to the nearest binary32, as a Python float (overflow gives +-inf)."""
    if -_F32_MAX < x < _F32_MAX:
        return _F32.unpack(_F32.pack(x))[0]
    return x if x != x else math.copysign(_INF, x)


def _round_f16(x: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float16(x))


def rounding_for(t: Attribute) -> Callable[[float], float]:
    """The rounding of a float result type: binary32 or binary16; other types unchanged."""
    if isinstance(t, Float32Type):
        return round_f32
    if isinstance(t, Float16Type):
        return _round_f16
    return float


def _div(a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(_INF, a) * math.copysign(1.0, b)


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else (x if x != x else _INF)


def _log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -_INF if x == 0.0 else math.nan


def _log1p(x: float) -> float:
    if x > -1.0:
        return math.log1p(x)
    return -_INF if x == -1.0 else math.nan


def _expm1(x: float) -> float:
    return math.expm1(x) if x < 709.0 else (x if x != x else _INF)


def _powf(a: float, b: float) -> float:
    with np.errstate(all="ignore"):  # C pow's special cases, inf/NaN instead of exceptions
        return float(np.power(np.float64(a), np.float64(b)))


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else math.nan


def _rsqrt(x: float) -> float:
    return _div(1.0, _sqrt(x))


def _maxnum(a: float, b: float) -> float:
    return b if a != a else (a if b != b else max(a, b))


def _minnum(a: float, b: float) -> float:
    return b if a != a else (a if b != b else min(a, b))


_FLOAT_OPS: dict[type[Operation], Callable[..., float]] = {
    arith.AddfOp: operator.add,  # a + b
    arith.SubfOp: operator.sub,  # a - b
    arith.MulfOp: operator.mul,  # a * b
    arith.DivfOp: _div,  # a / b, IEEE at b = 0
    arith.NegfOp: operator.neg,  # -a
    arith.MaxnumfOp: _maxnum,  # max, a NaN operand loses
    arith.MinnumfOp: _minnum,  # min, a NaN operand loses
    arith.ExtFOp: float,  # widen (exact)
    arith.TruncFOp: float,  # narrow (rounded below)
    mathd.ExpOp: _exp,
    mathd.LogOp: _log,
    mathd.SqrtOp: _sqrt,
    mathd.RsqrtOp: _rsqrt,
    mathd.AbsFOp: abs,
    mathd.TanhOp: math.tanh,
    mathd.ErfOp: math.erf,
    mathd.Log1pOp: _log1p,
    mathd.ExpM1Op: _expm1,
    mathd.PowFOp: _powf,
    mathd.FmaOp: lambda a, b, c: a * b + c,  # f32 inputs: exact product, one binary64 add
}
"""Float-valued ops: op class -> the Python function of its operands (before rounding)."""


_INT_OPS: dict[type[Operation], Callable[..., int]] = {
    arith.MinSIOp: min,
    arith.MaxSIOp: max,
    arith.CeilDivSIOp: lambda a, b: -((-a) // b),
}
"""Integer-valued ops on signed values (index bounds of tiled loops use min/max/ceildiv)."""


def _width(t: Attribute) -> int:
    """The bit width of an integer type, or of a vector's integer lanes."""
    return getattr(t, "element_type", t).width.data


def _fptosi(x: float, t: Attribute) -> int:
    """Truncated toward zero, saturated at the bounds of `t`, NaN -> 0: LLVM's
    `fptosi.sat`, which convert-loop-to-llvm lowers `arith.fptosi` to."""
    if x != x:
        return 0
    low, high = -(1 << (_width(t) - 1)), (1 << (_width(t) - 1)) - 1
    return low if x <= low else high if x >= high else int(x)


def _int_to_float(v: int, t: Attribute) -> float:
    """Integer `v` rounded once to float type `t` (through binary64 first, an int64 above
    2**53 would round twice)."""
    if isinstance(t, Float32Type):
        return float(np.array(v, np.int64).astype(np.float32))
    return rounding_for(t)(float(v))


_CASTS: dict[type[Operation], Callable[[Any, Attribute, Attribute], Any]] = {
    arith.SIToFPOp: lambda x, src, dst: _int_to_float(to_signed(int(x), _width(src)), dst),
    arith.FPToSIOp: lambda x, src, dst: _fptosi(x, dst),
    arith.ExtSIOp: lambda x, src, dst: to_signed(int(x), _width(src)),
    arith.ExtUIOp: lambda x, src, dst: to_unsigned(int(x), _width(src)),
    arith.TruncIOp: lambda x, src, dst: to_signed(int(x), _width(dst)),
    arith.UIToFPOp: lambda x, src, dst: _int_to_float(to_unsigned(int(x), _width(src)), dst),
}
"""Conversions that read the operand's and result's types: op -> fn(x, src, dst). Integers
are Python ints (an i1 may be a bool, or -1 for true after xDSL's `andi`)."""


def _float_impl(fn: Callable[..., float]):
    def run(self: Any, interpreter: Interpreter, op: Operation, args: PythonValues):
        return (rounding_for(op.results[0].type)(fn(*args)),)

    return run


def _int_impl(fn: Callable[..., int]):
    def run(self: Any, interpreter: Interpreter, op: Operation, args: PythonValues):
        return (fn(*args),)

    return run


class ScalarFunctions(ArithFunctions, MathFunctions):
    """xDSL's arith and math functions, completed and rounded to the result type.

    `arith.constant` also accepts a dense tensor value (a new NumPy array).
    """

    @impl(arith.ConstantOp)
    def run_constant(
        self, interpreter: Interpreter, op: arith.ConstantOp, args: PythonValues
    ) -> PythonValues:
        value = op.value
        if isinstance(value, DenseIntOrFPElementsAttr):
            return (to_numpy(value),)
        if isinstance(value, FloatAttr):
            return (rounding_for(value.type)(value.value.data),)
        if isinstance(value, IntegerAttr):
            if isinstance(value.type, IndexType):
                return (to_signed(value.value.data, interpreter.index_bitwidth),)
            return (value.value.data,)
        raise InterpretationError(f"arith.constant of {value} is not supported")


def _cast_impl(fn: Callable[[Any, Attribute, Attribute], Any]):
    def run(self: Any, interpreter: Interpreter, op: Operation, args: PythonValues):
        return (fn(args[0], op.operands[0].type, op.results[0].type),)

    return run


def _register() -> None:
    for table, make in ((_FLOAT_OPS, _float_impl), (_INT_OPS, _int_impl), (_CASTS, _cast_impl)):
        for op_type, fn in table.items():
            setattr(ScalarFunctions, f"run_{op_type.__name__}", impl(op_type)(make(fn)))
    register_impls(ScalarFunctions)


_register()
