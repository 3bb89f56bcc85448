"""Run a module at any level of the tower on NumPy arrays: the reference every stage of
lowering is checked against.

    results = run_reference(module, [x, w])

`run_reference` finds `func.func @main` (or `entry`) and runs it in one xDSL interpreter that
knows every level: graph ops through their NumPy reference (`graph_reference.py`),
`tensor.generic` and `loop` nests through interpreter functions (`tensor_interpreter.py`,
`loop_interpreter.py`), scalar `arith`/`math` with per-op `f32` rounding
(`scalar_interpreter.py`), and xDSL's `func` and `builtin` functions.

Calling conventions, read off the function type:

- graph / tensor level: `(tensor<...>, ...) -> (tensor<...>, ...)`: the arrays are the
  arguments, the function's results are returned.
- loop level (destination passing): `(memref<in0>, ..., memref<out0>, ...) -> ()`: the
  arrays fill the leading arguments; one buffer per trailing argument is allocated (filled
  with NaN for floats, so an output element never written shows up), the function writes
  into them, and they are returned.

Speed (one core of the machines in NOTES.md, median of 5 runs): a 16x16x16 matmul as
lowered by convert-graph-to-tensor (a fill and a matmul `tensor.generic`, 4352 domain points)
runs in ~50 ms, ~260k interpreted ops/s; as lowered by convert-tensor-to-loop (30k ops:
loads, stores, loop bodies) in ~100 ms, ~290k ops/s. The graph level (NumPy) takes
microseconds. Keep interpreted shapes small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, TensorType
from xdsl.interpreter import Interpreter
from xdsl.interpreters.builtin import BuiltinFunctions
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Attribute
from xdsl.traits import SymbolTable

from .arrays import numpy_dtype
from .loop_interpreter import LoopFunctions
from .tensor_interpreter import (
    GraphFunctions,
    TensorFunctions,
    new_buffer_for,
    sync_graph_functions,
)
from .vector_interpreter import VectorFunctions


def make_interpreter(module: ModuleOp) -> Interpreter:
    """An interpreter for `module` with the functions of every irforge level registered."""
    sync_graph_functions()
    interpreter = Interpreter(module, index_bitwidth=64)
    for functions in (
        BuiltinFunctions(),
        FuncFunctions(),
        VectorFunctions(),  # ScalarFunctions extended to vector values
        GraphFunctions(),
        TensorFunctions(),
        LoopFunctions(),
    ):
        interpreter.register_implementations(functions)
    return interpreter


def _check_input(i: int, array: np.ndarray, t: Attribute) -> np.ndarray:
    if not isinstance(t, TensorType | MemRefType):
        raise ValueError(f"argument #{i} has type {t}, not a tensor or memref")
    shape = tuple(t.get_shape())
    dtype = numpy_dtype(t.element_type)
    array = np.asarray(array)
    if array.shape != shape or array.dtype != dtype:
        raise ValueError(
            f"input #{i} is a {array.dtype} array of shape {list(array.shape)}, but argument "
            f"#{i} is {t} (a {dtype} array of shape {list(shape)})"
        )
    return np.array(array, copy=True)  # the program must not see or change the caller's


def run_reference(
    module: ModuleOp, inputs: Sequence[np.ndarray], entry: str = "main"
) -> list[np.ndarray]:
    """Run `func.func @entry` of `module` on `inputs` and return its output arrays.

    A function with results (graph/tensor level) takes exactly `len(inputs)` arguments and
    returns its results. A function without results whose arguments are memrefs (loop
    level) takes the inputs first, then one output buffer per remaining argument, which it
    fills; those buffers are returned. The caller's arrays are never modified.

    Raises ValueError if there is no such function, or if the inputs differ in number,
    shape or dtype from the function's arguments; errors inside the program raise xDSL's
    InterpretationError / DiagnosticException naming the op.
    """
    fn = SymbolTable.lookup_symbol(module, entry)
    if not isinstance(fn, func.FuncOp):
        raise ValueError(f"module has no func.func @{entry}")
    arg_types = list(fn.function_type.inputs.data)
    result_types = list(fn.function_type.outputs.data)
    loop_level = not result_types and all(isinstance(t, MemRefType) for t in arg_types)
    n_in = len(inputs)
    if n_in > len(arg_types) or (not loop_level and n_in != len(arg_types)):
        raise ValueError(
            f"@{entry} takes {len(arg_types)} arguments {[str(t) for t in arg_types]}, "
            f"got {n_in} inputs"
        )
    args = [_check_input(i, a, t) for i, (a, t) in enumerate(zip(inputs, arg_types))]
    outs: list[np.ndarray] = []
    for t in arg_types[n_in:]:
        assert isinstance(t, MemRefType)
        outs.append(new_buffer_for(t))
    results = make_interpreter(module).call_op(fn, tuple(args + outs))
    if loop_level:
        return outs
    return [np.asarray(r) for r in results]
