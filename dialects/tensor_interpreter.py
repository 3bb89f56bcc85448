"""Interpreter functions for the `tensor` and `graph` dialects (xDSL interpreter framework).

Tensors are NumPy arrays, never mutated: every op returns new arrays. Scalars inside a
`tensor.generic` body are Python floats/ints/bools, as in xDSL's `arith` functions; see
`scalar_interpreter.py` for how `f32` arithmetic is rounded.

- `tensor.generic`: visits every point of the iteration domain (sizes from
  `GenericOp.loop_ranges()`) in row-major order, reads one element of each operand through
  its indexing map, runs the body block in the interpreter and writes the yielded scalars
  into copies of the `outs` at the outs' indices. The out element is re-read at every point,
  so a reduction accumulates into it, in row-major order of the domain.
- `tensor.empty`: a new array of the type's shape, filled with NaN for float element types
  (zero otherwise), so that a generic reading an uninitialized output shows up as NaN.
- `tensor.pad_constant`: `numpy.pad` with the constant padding value.
- `tensor.insert_block`: a copy of `dest` with `source` assigned at its offsets.
- graph ops: the NumPy reference (`graph_reference.REFERENCE`), so a module mixing levels
  runs as one program.

Speed: one `run_ssacfg_region` per point of the domain, plus the body's ops; see
`reference.py` for measurements.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
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
from xdsl.ir import Attribute, Operation
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.utils.exceptions import InterpretationError

from . import tensor
from .arrays import numpy_dtype
from .graph_reference import REFERENCE

Point = tuple[int, ...]


def new_buffer(shape: tuple[int, ...], element_type: Attribute) -> np.ndarray:
    """A new array of `shape`: NaN for float element types (a poison value), else zeros."""
    dtype = numpy_dtype(element_type)
    if np.issubdtype(dtype, np.floating):
        return np.full(shape, np.nan, dtype=dtype)
    return np.zeros(shape, dtype=dtype)


def new_buffer_for(t: Attribute) -> np.ndarray:
    """`new_buffer` of a static shaped type (tensor or memref)."""
    return new_buffer(tuple(t.get_shape()), t.element_type)


def compile_map(amap: AffineMap, shape: tuple[int, ...]) -> Callable[[Point], Point]:
    """A fast function from a domain point to the indices `amap` gives for an operand.

    Maps made only of dims (permutations, projections, broadcasts by omission) are
    in bounds by the verifier; any other map is evaluated in full and bounds-checked
    against `shape` at every point (raises InterpretationError).
    """
    results = amap.results
    if all(isinstance(e, AffineDimExpr) for e in results):
        pos = [e.position for e in results]  # type: ignore[attr-defined]
        if pos == list(range(amap.num_dims)):
            return lambda p: p
        if len(pos) == 0:
            return lambda p: ()
        if len(pos) == 1:
            (k,) = pos
            return lambda p: (p[k],)
        return operator.itemgetter(*pos)

    def general(p: Point) -> Point:
        idx = amap.eval(p, ())
        for i, s in zip(idx, shape):
            if not 0 <= i < s:
                raise InterpretationError(
                    f"indexing map {amap} gives {list(idx)} at {list(p)}, out of bounds of "
                    f"shape {list(shape)}"
                )
        return idx

    return general


@register_impls
class TensorFunctions(InterpreterFunctions):
    """`tensor.generic`, `tensor.yield` and `tensor.empty` on NumPy arrays."""

    @impl(tensor.GenericOp)
    def run_generic(
        self, interpreter: Interpreter, op: tensor.GenericOp, args: PythonValues
    ) -> PythonValues:
        n_in = len(op.ins)
        outs = [np.array(o, copy=True) for o in args[n_in:]]
        arrays: list[np.ndarray] = [*args[:n_in], *outs]
        index_fns = [
            compile_map(m, tuple(v.type.get_shape())) for m, v in zip(op.maps, op.operands)
        ]
        out_fns = index_fns[n_in:]
        body = op.body
        for point in itertools.product(*(range(r) for r in op.loop_ranges())):
            scalars = [a.item(f(point)) for a, f in zip(arrays, index_fns)]
            self._points.append(point)
            try:
                ys = interpreter.run_ssacfg_region(body, tuple(scalars), "tensor.generic")
            finally:
                self._points.pop()
            for o, f, y in zip(outs, out_fns, ys):
                o[f(point)] = y
        return tuple(outs)

    @property
    def _points(self) -> list[tuple[int, ...]]:
        """The domain points of the generics being run, innermost last (for tensor.index)."""
        if "_point_stack" not in self.__dict__:
            self.__dict__["_point_stack"] = []
        return self.__dict__["_point_stack"]

    @impl(tensor.IndexOp)
    def run_index(
        self, interpreter: Interpreter, op: tensor.IndexOp, args: PythonValues
    ) -> PythonValues:
        return (self._points[-1][op.dim.value.data],)

    @impl(tensor.ExtractOp)
    def run_extract(
        self, interpreter: Interpreter, op: tensor.ExtractOp, args: PythonValues
    ) -> PythonValues:
        array, *index = args
        shape = array.shape
        if any(not 0 <= i < n for i, n in zip(index, shape)):
            raise IndexError(f"tensor.extract: index {list(index)} is out of range for {shape}")
        return (array.item(tuple(index)),)

    @impl_terminator(tensor.YieldOp)
    def run_yield(
        self, interpreter: Interpreter, op: tensor.YieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    @impl(tensor.EmptyOp)
    def run_empty(
        self, interpreter: Interpreter, op: tensor.EmptyOp, args: PythonValues
    ) -> PythonValues:
        return (new_buffer_for(op.result.type),)

    @impl(tensor.PadOp)
    def run_pad(
        self, interpreter: Interpreter, op: tensor.PadOp, args: PythonValues
    ) -> PythonValues:
        widths = list(zip(op.low_pads, op.high_pads))
        return (np.pad(args[0], widths, constant_values=op.value.value.data),)

    @impl(tensor.InsertSliceOp)
    def run_insert_block(
        self, interpreter: Interpreter, op: tensor.InsertSliceOp, args: PythonValues
    ) -> PythonValues:
        out = np.array(args[1], copy=True)
        out[tuple(slice(o, o + n) for o, n in zip(op.offset_values, args[0].shape))] = args[0]
        return (out,)


def _graph_impl(fn: Callable[..., np.ndarray]):
    def run(self: Any, interpreter: Interpreter, op: Operation, args: PythonValues):
        return (fn(op, *args),)

    return run


class GraphFunctions(InterpreterFunctions):
    """Every graph op with a NumPy reference, delegating to `graph_reference.REFERENCE`."""


_registered: dict[type[Operation], Callable[..., np.ndarray]] = {}


def sync_graph_functions() -> None:
    """Make GraphFunctions cover every entry of REFERENCE, including ones that plugins
    added after import (cheap when nothing changed)."""
    if _registered == REFERENCE:
        return
    for op_type, fn in REFERENCE.items():
        setattr(GraphFunctions, f"run_{op_type.__name__}", impl(op_type)(_graph_impl(fn)))
    register_impls(GraphFunctions)
    _registered.clear()
    _registered.update(REFERENCE)


sync_graph_functions()
