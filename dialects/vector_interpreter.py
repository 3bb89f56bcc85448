"""Interpreter functions for xDSL's standard `vector` dialect (the ops the `vectorize`
schedule primitive makes) and for `arith`/`math` ops on vector values.

A vector value is a 1-D NumPy array of the vector's element dtype (`vector<4xf32>` ->
float32[4]; `vector<4xi1>` -> bool[4]).

- `vector.load %m[%i, ..., %j]`: the `n` consecutive elements from that position along the
  last dimension; `vector.store` writes them. An access past the end of the last
  dimension raises InterpretationError (MLIR leaves it undefined).
- `vector.broadcast`: a scalar repeated in every lane.
- `vector.shuffle` (1-D operands): lane k of the result is lane `mask[k]` of the two
  operands concatenated.
- `vector.fma`: `a * b + c` per lane, rounded once (binary64 product and sum of binary32
  inputs, then rounded to binary32, as `math.fma` in scalar_interpreter).
- `arith`/`math` ops whose result (or operand) is a vector run the scalar function of
  `ScalarFunctions` lane by lane, so a vector op gives bit for bit the values the scalar
  loop it came from gives. A scalar operand next to vector ones (select's condition) is
  used in every lane.

`VectorFunctions` extends `ScalarFunctions`: register it instead of that class
(`reference.make_interpreter` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import VectorType
from xdsl.interpreter import Interpreter, PythonValues, impl, register_impls
from xdsl.ir import Operation
from xdsl.utils.exceptions import InterpretationError

from .arrays import numpy_dtype
from .scalar_interpreter import ScalarFunctions, rounding_for


def _lanes(op: Operation) -> int | None:
    for v in (*op.results, *op.operands):
        if isinstance(v.type, VectorType):
            return v.type.get_shape()[0]
    return None


def _lanewise(scalar_impl):
    def run(self: Any, interpreter: Interpreter, op: Operation, args: PythonValues):
        n = _lanes(op)
        if n is None:
            return scalar_impl(self, interpreter, op, args).values
        lanes = [
            scalar_impl(
                self,
                interpreter,
                op,
                tuple(a[k].item() if isinstance(a, np.ndarray) else a for a in args),
            ).values[0]
            for k in range(n)
        ]
        t = op.results[0].type
        elem = t.element_type if isinstance(t, VectorType) else t
        return (np.array(lanes, dtype=numpy_dtype(elem)),)

    return run


def _check(op: Operation, buf: np.ndarray, idx: tuple[int, ...], n: int) -> None:
    ok = len(idx) == buf.ndim and all(0 <= i < s for i, s in zip(idx, buf.shape))
    if not ok or idx[-1] + n > buf.shape[-1]:
        raise InterpretationError(
            f"'{op.name}' of {n} lanes at {list(idx)} is out of bounds of shape {list(buf.shape)}"
        )


class VectorFunctions(ScalarFunctions):
    """The `vector` ops above, and ScalarFunctions' ops extended lane by lane to vectors."""

    @impl(vector.LoadOp)
    def run_vector_load(
        self, interpreter: Interpreter, op: vector.LoadOp, args: PythonValues
    ) -> PythonValues:
        buf, *idx = args
        n = op.result.type.get_shape()[0]
        _check(op, buf, tuple(idx), n)
        *lead, last = idx
        return (np.array(buf[(*lead, slice(last, last + n))], copy=True),)

    @impl(vector.StoreOp)
    def run_vector_store(
        self, interpreter: Interpreter, op: vector.StoreOp, args: PythonValues
    ) -> PythonValues:
        value, buf, *idx = args
        n = op.vector.type.get_shape()[0]
        _check(op, buf, tuple(idx), n)
        *lead, last = idx
        buf[(*lead, slice(last, last + n))] = value
        return ()

    @impl(vector.BroadcastOp)
    def run_broadcast(
        self, interpreter: Interpreter, op: vector.BroadcastOp, args: PythonValues
    ) -> PythonValues:
        t = op.vector.type
        if isinstance(args[0], np.ndarray):
            raise InterpretationError("'vector.broadcast' of a vector is not supported")
        return (np.full(t.get_shape(), args[0], dtype=numpy_dtype(t.element_type)),)

    @impl(vector.ShuffleOp)
    def run_shuffle(
        self, interpreter: Interpreter, op: vector.ShuffleOp, args: PythonValues
    ) -> PythonValues:
        both = np.concatenate([np.atleast_1d(args[0]), np.atleast_1d(args[1])])
        return (both[list(op.mask.get_values())].copy(),)

    @impl(vector.FMAOp)
    def run_fma(
        self, interpreter: Interpreter, op: vector.FMAOp, args: PythonValues
    ) -> PythonValues:
        a, b, c = args
        t = op.res.type
        rnd = rounding_for(t.element_type)
        out = [rnd(x * y + z) for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())]
        return (np.array(out, dtype=numpy_dtype(t.element_type)),)


def _register() -> None:
    for op_type, scalar_impl in ScalarFunctions._impls():  # noqa: SLF001 (xDSL's registry)
        if op_type is arith.ConstantOp:  # a dense vector constant is already an array
            continue
        setattr(
            VectorFunctions, f"run_vec_{op_type.__name__}", impl(op_type)(_lanewise(scalar_impl))
        )
    register_impls(VectorFunctions)


_register()
