"""NumPy reference semantics of the graph dialect's shape ops (dialects/graph/shape.py),
following the ONNX operator specifications; merged into graph_reference.REFERENCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import shape as graph_shape


def slice_(op: graph_shape.SliceOp, x: np.ndarray) -> np.ndarray:
    """ONNX Slice (normalized): element i_k of dimension k is input index start_k + i_k *
    step_k."""
    sizes = op.result.type.get_shape()
    index = [
        start + step * np.arange(size)
        for start, step, size in zip(op.start_values, op.step_values, sizes)
    ]
    return x[np.ix_(*index)].copy() if index else x.copy()


def concat(op: graph_shape.ConcatOp, *xs: np.ndarray) -> np.ndarray:
    """ONNX Concat: the inputs joined along `axis`."""
    return np.concatenate(xs, axis=op.normalized_axis())


def expand(op: graph_shape.ExpandOp, x: np.ndarray) -> np.ndarray:
    """ONNX Expand: `x` broadcast to the result shape."""
    return np.broadcast_to(x, op.result.type.get_shape()).copy()


def where(op: graph_shape.WhereOp, c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ONNX Where (opset 16): `x` where the bool condition `c` is true, else `y`, the
    three broadcast."""
    return np.where(c, x, y)


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_shape.SliceOp: slice_,
    graph_shape.ConcatOp: concat,
    graph_shape.ExpandOp: expand,
    graph_shape.WhereOp: where,
}
