"""NumPy reference semantics of the graph dialect's positional ops
(dialects/graph/positional.py), following the ONNX operator specifications (Trilu, CumSum);
merged into graph_reference.REFERENCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import positional as graph_positional


def trilu(op: graph_positional.TriluOp, x: np.ndarray) -> np.ndarray:
    """ONNX Trilu: `np.triu(x, k)` (upper) or `np.tril(x, k)` (lower) on the last two
    dimensions."""
    k = op.k.value.data
    return (np.triu if op.upper.value.data else np.tril)(x, k).astype(x.dtype)


def cumsum(op: graph_positional.CumSumOp, x: np.ndarray) -> np.ndarray:
    """ONNX CumSum: `np.cumsum` along the axis, flipped for `reverse`, shifted by one
    (a leading 0) for `exclusive`; integer sums wrap around."""
    axis = op.normalized_axis()
    if op.reverse.value.data:
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis, dtype=x.dtype)
    if op.exclusive.value.data:
        out = np.concatenate(
            [np.zeros_like(np.take(out, [0], axis=axis)), np.delete(out, -1, axis=axis)], axis
        )
    if op.reverse.value.data:
        out = np.flip(out, axis)
    return np.ascontiguousarray(out)


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_positional.TriluOp: trilu,
    graph_positional.CumSumOp: cumsum,
}
