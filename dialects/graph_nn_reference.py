"""NumPy reference semantics of the graph dialect's nn ops (dialects/graph/nn.py),
following the ONNX operator specifications; merged into graph_reference.REFERENCE.

Windowed ops loop over the kernel offsets (a handful) rather than the output positions:
for each offset, a strided slice of the padded input holds the element that offset
reads for every output position at once. Arithmetic stays in float32.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from .graph import nn as graph_nn
from .graph.nn import Window


def _pad_spatial(x: np.ndarray, win: Window, value: float, extra=None) -> np.ndarray:
    """`x` padded with `value` on its spatial dims (plus `extra` more at the ends)."""
    extra = extra or (0,) * len(win.kernel)
    widths = [(0, 0), (0, 0)] + [
        (b, e + x_) for b, e, x_ in zip(win.pads_begin, win.pads_end, extra)
    ]
    return np.pad(x, widths, constant_values=value)


def _taps(padded: np.ndarray, win: Window, out: tuple[int, ...]):
    """For each kernel offset: the offset and the slice of `padded` it reads, [N, C, *out]."""
    for offset in itertools.product(*(range(k) for k in win.kernel)):
        index = tuple(
            slice(j * d, j * d + (o - 1) * s + 1, s)
            for j, d, s, o in zip(offset, win.dilations, win.strides, out)
        )
        yield offset, padded[(Ellipsis, *index)]


def conv(
    op: graph_nn.ConvOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> np.ndarray:
    """ONNX Conv (opset 11): grouped cross-correlation of the zero-padded input, plus bias.

    y[n, m, o] = b[m] + sum_{c, j} x_pad[n, g(m) * C/group + c, o * stride + j * dilation]
    * w[m, c, j], where g(m) = m // (M / group).
    """
    win = op.window()
    n = x.shape[0]
    m, cg = w.shape[:2]
    group = op.group.value.data
    out = win.output_shape(x.shape[2:])
    xp = _pad_spatial(x, win, 0.0)
    xg = xp.reshape(n, group, cg, *xp.shape[2:])
    wg = w.reshape(group, m // group, cg, *win.kernel)
    y = np.zeros((n, group, m // group, *out), dtype=x.dtype)
    for offset, tap in _taps(xg, win, out):
        y += np.einsum("ngc...,gmc->ngm...", tap, wg[(Ellipsis, *offset)])
    y = y.reshape(n, m, *out)
    if b is not None:
        y += b.reshape(m, *([1] * len(out)))
    return y


def max_pool(op: graph_nn.MaxPoolOp, x: np.ndarray) -> np.ndarray:
    """ONNX MaxPool (opset 12), output Y: the maximum of each window of the -inf padded
    input (ceil_mode windows may read past the end padding: -inf there too)."""
    win = op.window()
    out = win.output_shape(x.shape[2:])
    padded = _pad_spatial(x, win, -np.inf, win.extra_end_pad(x.shape[2:]))
    y = np.full((*x.shape[:2], *out), -np.inf, dtype=x.dtype)
    for _, tap in _taps(padded, win, out):
        np.maximum(y, tap, out=y)
    return y


def average_pool(op: graph_nn.AveragePoolOp, x: np.ndarray) -> np.ndarray:
    """ONNX AveragePool (opset 19): window sums of the zero-padded input over the number of
    window elements that count: those inside the input (count_include_pad = 0), or inside
    the input and its explicit pads (count_include_pad = 1; ceil_mode's extra end padding
    never counts, as in ONNX Runtime and the ONNX reference implementation)."""
    win = op.window()
    spatial = x.shape[2:]
    out = win.output_shape(spatial)
    extra = win.extra_end_pad(spatial)
    padded = _pad_spatial(x, win, 0.0, extra)
    # Which padded positions count, computed by padding a mask the same way.
    mask = np.ones((1, 1, *spatial), dtype=np.float32)
    if op.count_include_pad.value.data:
        mask = _pad_spatial(mask, win, 1.0)
        mask = np.pad(mask, [(0, 0), (0, 0)] + [(0, e) for e in extra])
    else:
        mask = _pad_spatial(mask, win, 0.0, extra)
    total = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    count = np.zeros((1, 1, *out), dtype=np.float32)
    for (_, tap), (_, mtap) in zip(_taps(padded, win, out), _taps(mask, win, out)):
        total += tap
        count += mtap
    return total / count


def global_average_pool(op: graph_nn.GlobalAveragePoolOp, x: np.ndarray) -> np.ndarray:
    """ONNX GlobalAveragePool (opset 1): the mean over the spatial dims, kept as size 1."""
    axes = tuple(range(2, x.ndim))
    return (np.sum(x, axis=axes, keepdims=True) / np.float32(np.prod(x.shape[2:]))).astype(x.dtype)


def global_max_pool(op: graph_nn.GlobalMaxPoolOp, x: np.ndarray) -> np.ndarray:
    """ONNX GlobalMaxPool (opset 1): the maximum over the spatial dims, kept as size 1."""
    return np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True)


def batch_norm(
    op: graph_nn.BatchNormOp,
    x: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
) -> np.ndarray:
    """ONNX BatchNormalization (opset 15), inference mode, output Y:
    `(x - mean) / sqrt(var + epsilon) * scale + B`, parameters per channel (axis 1)."""
    shape = (x.shape[1],) + (1,) * (x.ndim - 2)
    eps = np.float32(op.epsilon.value.data)
    inv = np.sqrt(var + eps).reshape(shape)
    return (x - mean.reshape(shape)) / inv * scale.reshape(shape) + bias.reshape(shape)


def lrn(op: graph_nn.LRNOp, x: np.ndarray) -> np.ndarray:
    """ONNX LRN (opset 13): `x / (bias + alpha / size * square_sum) ** beta`, square_sum
    over the channels c - floor((size-1)/2) .. c + ceil((size-1)/2) that exist."""
    below, above = op.channel_window()
    size = op.size.value.data
    sq = np.pad(x * x, [(0, 0), (below, above)] + [(0, 0)] * (x.ndim - 2))
    square_sum = np.zeros_like(x)
    for k in range(size):
        square_sum += sq[:, k : k + x.shape[1]]
    dt = x.dtype.type
    alpha, beta, bias = (dt(getattr(op, a).value.data) for a in ("alpha", "beta", "bias"))
    return x / (bias + alpha / dt(size) * square_sum) ** beta


REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph_nn.ConvOp: conv,
    graph_nn.MaxPoolOp: max_pool,
    graph_nn.AveragePoolOp: average_pool,
    graph_nn.GlobalAveragePoolOp: global_average_pool,
    graph_nn.GlobalMaxPoolOp: global_max_pool,
    graph_nn.BatchNormOp: batch_norm,
    graph_nn.LRNOp: lrn,
}
