"""Interpreter functions for the `loop` dialect and `memref.get_global` (xDSL framework).

Buffers (`memref` values) are NumPy arrays of the memref's shape and element dtype; loads
give Python scalars (`ndarray.item`), so scalar code sees the same values as in
`tensor.generic` bodies. xDSL's own memref functions use its `ShapedArray` (a Python list
behind a typed pointer); these use NumPy so that buffers cross to and from the caller
without copies.

- `loop.for`: runs the body once per induction variable in `range(lb, ub, step)`
  (`parallel` loops run sequentially: their iterations are independent by contract).
- `loop.load` / `loop.store`: one element; an index out of bounds raises
  InterpretationError (NumPy would wrap negative indices silently).
- `loop.alloc`: a new buffer filled with NaN for float types (zeros otherwise), so reading
  an element before writing it shows up; `loop.dealloc` does nothing.
- `loop.view`: a NumPy view (no copy) of the arena's bytes reinterpreted as the result's
  dtype and shape, so views alias each other and the arena as they do in memory.
- `memref.get_global`: the global's buffer, made once per interpreter from its initial
  value and then shared by every `get_global` of that name, as in memory. A `constant`
  global's buffer is read-only: storing into it raises.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import memref
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, VectorType
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    TerminatorValue,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.traits import SymbolTable
from xdsl.utils.exceptions import InterpretationError

from . import loop
from .arrays import numpy_dtype, to_numpy
from .tensor_interpreter import new_buffer, new_buffer_for


def _check_bounds(op_name: str, buf: np.ndarray, indices: tuple[int, ...]) -> None:
    for i, s in zip(indices, buf.shape):
        if not 0 <= i < s:
            raise InterpretationError(
                f"'{op_name}' index {list(indices)} is out of bounds of shape {list(buf.shape)}"
            )


@register_impls
class LoopFunctions(InterpreterFunctions):
    """The `loop` dialect and `memref.get_global`, with NumPy arrays as buffers."""

    @impl(loop.ForOp)
    def run_for(self, interpreter: Interpreter, op: loop.ForOp, args: PythonValues) -> PythonValues:
        lb, ub, step = args
        if step <= 0:
            raise InterpretationError(f"'loop.for' step must be positive, got {step}")
        body = op.body
        for iv in range(lb, ub, step):
            interpreter.run_ssacfg_region(body, (iv,), "loop.for")
        return ()

    @impl_terminator(loop.YieldOp)
    def run_yield(
        self, interpreter: Interpreter, op: loop.YieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(()), ()

    @impl(loop.LoadOp)
    def run_load(
        self, interpreter: Interpreter, op: loop.LoadOp, args: PythonValues
    ) -> PythonValues:
        buf, *idx = args
        indices = tuple(idx)
        _check_bounds(op.name, buf, indices)
        if buf.ndim > len(indices):  # a buffer of vectors: one more axis, the lanes
            return (buf[indices].copy(),)
        return (buf.item(indices),)

    @impl(loop.StoreOp)
    def run_store(
        self, interpreter: Interpreter, op: loop.StoreOp, args: PythonValues
    ) -> PythonValues:
        value, buf, *idx = args
        indices = tuple(idx)
        _check_bounds(op.name, buf, indices)
        buf[indices] = value
        return ()

    @impl(loop.AllocOp)
    def run_alloc(
        self, interpreter: Interpreter, op: loop.AllocOp, args: PythonValues
    ) -> PythonValues:
        t = op.result.type
        if isinstance(t.element_type, VectorType):  # lanes as one more axis
            lanes = tuple(t.element_type.get_shape())
            return (new_buffer(tuple(t.get_shape()) + lanes, t.element_type.element_type),)
        return (new_buffer_for(t),)

    @impl(loop.DeallocOp)
    def run_dealloc(
        self, interpreter: Interpreter, op: loop.DeallocOp, args: PythonValues
    ) -> PythonValues:
        return ()

    @impl(loop.ViewOp)
    def run_view(
        self, interpreter: Interpreter, op: loop.ViewOp, args: PythonValues
    ) -> PythonValues:
        (arena,) = args
        t = op.result.type
        shape = tuple(t.get_shape())
        elem = t.element_type
        if isinstance(elem, VectorType):  # lanes as one more axis, as in run_alloc
            shape += tuple(elem.get_shape())
            elem = elem.element_type
        dtype = numpy_dtype(elem)
        start = op.byte_offset.value.data
        stop = start + math.prod(shape) * dtype.itemsize
        if start < 0 or stop > arena.nbytes:
            raise InterpretationError(
                f"'{op.name}' bytes [{start}, {stop}) are outside the {arena.nbytes}-byte arena"
            )
        # A NumPy view of the arena's bytes: stores through it are seen by the arena and by
        # every other view of the same bytes, as in memory.
        return (arena.reshape(-1).view(np.uint8)[start:stop].view(dtype).reshape(shape),)

    @impl(loop.ReshapeOp)
    def run_reshape(
        self, interpreter: Interpreter, op: loop.ReshapeOp, args: PythonValues
    ) -> PythonValues:
        # A view (no copy): stores through it reach the source buffer.
        return (args[0].reshape(tuple(op.result.type.get_shape())),)

    @impl(memref.GetGlobalOp)
    def run_get_global(
        self, interpreter: Interpreter, op: memref.GetGlobalOp, args: PythonValues
    ) -> PythonValues:
        name = op.name_.string_value()
        buffers: dict[str, np.ndarray] = interpreter.get_data(LoopFunctions, "globals", dict)
        buf = buffers.get(name)
        if buf is None:
            glob = SymbolTable.lookup_symbol(op, op.name_)
            if not isinstance(glob, memref.GlobalOp):
                raise InterpretationError(f"'{op.name}' found no memref.global @{name}")
            init = glob.initial_value
            t = glob.type
            if isinstance(init, DenseIntOrFPElementsAttr):
                buf = to_numpy(init).reshape(t.get_shape())
            else:  # uninitialized (`initial_value` is a unit attribute)
                buf = new_buffer_for(t)
            if glob.constant is not None:
                buf.flags.writeable = False
            buffers[name] = buf
        return (buf,)
