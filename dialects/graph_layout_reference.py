"""NumPy reference semantics of the graph dialect's layout ops (dialects/graph/layout.py);
merged into graph_reference.REFERENCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import layout as graph_layout
from .graph_nn_reference import conv


def pack_array(x: np.ndarray, block: int) -> np.ndarray:
    """`[N, C, D...] -> [N, C/block, D..., block]` (graph.pack)."""
    n, c, *spatial = x.shape
    blocked = x.reshape(n, c // block, block, *spatial)
    return np.ascontiguousarray(np.moveaxis(blocked, 2, -1))


def unpack_array(x: np.ndarray) -> np.ndarray:
    """`[N, C/x, D..., x] -> [N, C, D...]` (graph.unpack)."""
    n, cb, *spatial, block = x.shape
    return np.ascontiguousarray(np.moveaxis(x, -1, 2).reshape(n, cb * block, *spatial))


def pack_weights(w: np.ndarray, ci: int, co: int) -> np.ndarray:
    """ONNX Conv weights `[M, C, KH, KW]` -> `[M/co, C/ci, KH, KW, ci, co]`."""
    m, c, kh, kw = w.shape
    blocked = w.reshape(m // co, co, c // ci, ci, kh, kw)
    return np.ascontiguousarray(blocked.transpose(0, 2, 4, 5, 3, 1))


def pack(op: graph_layout.PackOp, x: np.ndarray) -> np.ndarray:
    return pack_array(x, op.block.value.data)


def unpack(op: graph_layout.UnpackOp, x: np.ndarray) -> np.ndarray:
    return unpack_array(x)


def conv2d_nchwc(
    op: graph_layout.Conv2DNchwcOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    """The blocked convolution: graph.conv's reference on the unblocked operands (the op
    has the same window and group accessors), blocked again."""
    mb, cb, kh, kw, ci, co = w.shape
    plain_w = w.transpose(0, 5, 1, 4, 2, 3).reshape(mb * co, cb * ci, kh, kw)
    return pack_array(conv(op, unpack_array(x), plain_w, b), co)


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_layout.PackOp: pack,
    graph_layout.UnpackOp: unpack,
    graph_layout.Conv2DNchwcOp: conv2d_nchwc,
}
