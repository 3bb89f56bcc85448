"""NumPy reference semantics of the graph dialect's gathers (dialects/graph/gather.py),
following the ONNX operator specifications; merged into graph_reference.REFERENCE.

Indices are normalized (a negative `i` reads `i + n`) then clamped into [0, n - 1], as the
op docstrings state: ONNX Runtime rejects an out-of-range index, irforge clamps it so that
compiled code never reads out of bounds, and this oracle clamps the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import gather as graph_gather


def clamp_indices(indices: np.ndarray, n: int) -> np.ndarray:
    """`indices` (any integer array) as int64 positions in [0, n - 1]: negative ones plus
    `n`, then clamped."""
    i = np.asarray(indices).astype(np.int64)
    return np.clip(np.where(i < 0, i + n, i), 0, n - 1)


def gather(op: graph_gather.GatherOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """ONNX Gather: `np.take(data, indices, axis)` with clamped indices."""
    axis = op.normalized_axis()
    return np.take(data, clamp_indices(indices, data.shape[axis]), axis=axis)


def gather_elements(
    op: graph_gather.GatherElementsOp, data: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """ONNX GatherElements: `result[i] = data[i with i[axis] = indices[i]]` (clamped); the
    indices may be smaller than the data along every dimension."""
    axis = op.normalized_axis()
    idx = clamp_indices(indices, data.shape[axis])
    window = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(indices.shape))
    return np.take_along_axis(data[window], idx, axis=axis)


def gather_nd(op: graph_gather.GatherNDOp, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """ONNX GatherND: for every position of `indices.shape[:-1]`, the slice of `data` at
    its batch position (the first `batch_dims` coordinates) and the k clamped coordinates
    `indices[..., :]`."""
    b = op.batch
    k = indices.shape[-1]
    coords = [clamp_indices(indices[..., j], data.shape[b + j]) for j in range(k)]
    batch = [
        np.arange(n).reshape((-1,) + (1,) * (indices.ndim - 2 - d))
        for d, n in enumerate(data.shape[:b])
    ]
    return data[(*batch, *coords)].copy()


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_gather.GatherOp: gather,
    graph_gather.GatherElementsOp: gather_elements,
    graph_gather.GatherNDOp: gather_nd,
}
