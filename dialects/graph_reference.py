"""NumPy reference semantics of the `graph` dialect: the oracle for tests and the fuzzer.

One small function per op, each following the ONNX operator of the same name
(https://onnx.ai/onnx/operators/). A function takes the op (for its attributes) and one
NumPy array per operand, in operand order, and returns a new array. Arithmetic stays in the
operands' dtype (float32 for float32 tensors): NumPy keeps float32 when a float32 array meets
a Python or float32 scalar, and its float32 `matmul` accumulates in float32 (OpenBLAS sums in
a blocked order, so results differ from a naive loop by rounding only).

`REFERENCE` maps op class -> function, so callers look ops up by type::

    out = REFERENCE[type(op)](op, *arrays)

NumPy arrays and dense attributes convert through `irforge.dialects.arrays`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.ir import Operation

from . import graph
from .arrays import to_numpy


def constant(op: graph.ConstantOp) -> np.ndarray:
    """ONNX Constant: the tensor held by the `value` property."""
    return to_numpy(op.value)


def add(op: graph.AddOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Add (opset 14): `a + b` with multidirectional broadcasting."""
    return np.add(a, b)


def sub(op: graph.SubOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Sub (opset 14): `a - b` with multidirectional broadcasting."""
    return np.subtract(a, b)


def mul(op: graph.MulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX Mul (opset 14): `a * b` with multidirectional broadcasting."""
    return np.multiply(a, b)


def relu(op: graph.ReluOp, x: np.ndarray) -> np.ndarray:
    """ONNX Relu (opset 14): `max(x, 0)` elementwise; NaN stays NaN."""
    return np.maximum(x, x.dtype.type(0))


def matmul(op: graph.MatMulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX MatMul (opset 13): numpy.matmul, [..., M, K] x [..., K, N] -> [..., M, N] with
    broadcast batch dims and 1-D operands promoted (dialects/graph/core.py `matmul_shape`)."""
    return np.matmul(a, b)


def gemm(op: graph.GemmOp, a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
    """ONNX Gemm (opset 13): `alpha * A' @ B' + beta * C`.

    A' = A.T if transA else A, B' = B.T if transB else B; C (optional, "as if a scalar 0"
    when absent) broadcasts unidirectionally to [M, N]. beta * C is added even when beta is
    0, as the formula says (so an infinite C gives NaN).
    """
    dt = a.dtype.type
    if op.transA.value.data:
        a = a.T
    if op.transB.value.data:
        b = b.T
    y = dt(op.alpha.value.data) * np.matmul(a, b)
    if c is not None:
        y = y + dt(op.beta.value.data) * c
    return y


def softmax(op: graph.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    """ONNX Softmax (opset 13): `exp(x - max) / sum(exp(x - max))` along `axis`.

    Subtracting the max along the axis keeps exp from overflowing; it cancels exactly.
    """
    axis = op.normalized_axis()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def identity(op: graph.IdentityOp, x: np.ndarray) -> np.ndarray:
    """ONNX Identity: a copy of the input."""
    return x.copy()


def transpose(op: graph.TransposeOp, x: np.ndarray) -> np.ndarray:
    """ONNX Transpose: result dim i is input dim perm[i] (a rank-0 input stays rank 0:
    `copy`, not `np.ascontiguousarray`, which makes it [1])."""
    return np.transpose(x, op.permutation).copy()


def reshape(op: graph.ReshapeOp, x: np.ndarray) -> np.ndarray:
    """ONNX Reshape (static shape): the elements in row-major order, in the result shape."""
    return x.reshape(op.result.type.get_shape()).copy()


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph.ConstantOp: constant,
    graph.AddOp: add,
    graph.SubOp: sub,
    graph.MulOp: mul,
    graph.ReluOp: relu,
    graph.MatMulOp: matmul,
    graph.GemmOp: gemm,
    graph.SoftmaxOp: softmax,
    graph.IdentityOp: identity,
    graph.TransposeOp: transpose,
    graph.ReshapeOp: reshape,
}
"""Op class -> reference function `(op, *operand_arrays) -> result_array`."""


def evaluate(op: Operation, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Run the reference of one graph op on arrays (one per operand).

    Raises NotImplementedError for ops without a reference and ValueError when the number
    of arrays differs from the op's operand count.
    """
    fn = REFERENCE.get(type(op))
    if fn is None:
        raise NotImplementedError(f"no reference semantics for '{op.name}'")
    if len(inputs) != len(op.operands):
        raise ValueError(f"'{op.name}' takes {len(op.operands)} operands, got {len(inputs)}")
    return fn(op, *inputs)


def register_reference(op_type: type[Operation], fn: Callable[..., np.ndarray]) -> None:
    """Give a (plugin's) value-semantics op its NumPy reference `fn(op, *arrays)`, so the
    interpreters, the lowering tests and the fuzzer can evaluate it.

    Raises ValueError if the op already has one.
    """
    if op_type in REFERENCE:
        raise ValueError(f"'{op_type.name}' already has a reference implementation")
    REFERENCE[op_type] = fn


# The references of the op families (dialects/graph/{math,nn,shape,layout}.py) live in
# graph_{math,nn,shape,layout}_reference.py.
def _add_families() -> None:
    from . import (
        graph_attention_reference,
        graph_gather_reference,
        graph_layout_reference,
        graph_logic_reference,
        graph_math_reference,
        graph_nn_reference,
        graph_positional_reference,
        graph_shape_reference,
    )

    for family in (
        graph_math_reference,
        graph_nn_reference,
        graph_shape_reference,
        graph_gather_reference,
        graph_layout_reference,
        graph_logic_reference,
        graph_positional_reference,
        graph_attention_reference,
    ):
        REFERENCE.update(family.REFERENCE)


_add_families()
