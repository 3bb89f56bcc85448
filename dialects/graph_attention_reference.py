"""NumPy reference semantics of graph.attention (dialects/graph/attention.py), following
Vaswani et al. 2017 (eq. 1) and the ONNX Attention operator (opset 23); merged into
graph_reference.REFERENCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import attention as graph_attention


def attention(
    op: graph_attention.AttentionOp,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """`softmax(q @ k^T * scale + mask, axis=-1) @ v`, in q's dtype; the softmax subtracts
    the row max first (as ONNX Softmax), so a row masked with large negative numbers stays
    finite."""
    dt = q.dtype.type
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * dt(op.scale.value.data)
    if mask is not None:
        s = s + mask
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    p = e / np.sum(e, axis=-1, keepdims=True)
    return np.matmul(p, v).astype(q.dtype)


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_attention.AttentionOp: attention,
}
