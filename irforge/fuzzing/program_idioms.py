"""Op generators of the random program fuzzer for the idioms real networks are made of,
which the graph optimizations and the kernels' fusions look for (passes/graph/graph_fuse.py,
passes/graph/graph_convert_layout.py, the direct-convolution epilogue in
passes/tensor_to_loop/microkernel):

- conv -> batch_norm or a per-channel scale and shift -> relu (folded into the conv);
- conv -> relu -> max or average pool, then a slice or concat of whole channel blocks
  (what graph-convert-layout keeps blocked);
- a residual block: relu(x + conv(relu(conv(x)))) with same-size convolutions, after a
  1x1 convolution to 3 to 16 channels;
- sibling convolutions or matmuls of one input (merged horizontally into one, then
  sliced), joined by a concat or an add;
- matmul followed by a per-column add and mul (folded into a gemm).

The ops are those of program_nn.py and program_math.py; their shapes and attributes are
drawn the same way. Semantics: the ONNX operators of each op.
"""

from __future__ import annotations

import math

from irforge.dialects import graph
from irforge.dialects.graph import nn as gn
from irforge.dialects.graph import shape as gs

from .program_base import Gen, OpGen, shape_of


def _same_conv(g: Gen, x, m: int, group: int = 1, k: int | None = None):
    """A conv of x to m channels that keeps the spatial size (stride 1, 'same' pads)."""
    c, spatial = shape_of(x)[1], shape_of(x)[2:]
    k = k or g.choice([3, 1])
    pads = [(k - 1) // 2] * len(spatial) + [k // 2] * len(spatial)
    fan_in = c // group * k ** len(spatial)
    w = g.const((m, c // group, *[k] * len(spatial)), 1 / math.sqrt(fan_in))
    bias = g.const((m,)) if g.bool() else None
    return g.emit(gn.ConvOp(x, w, bias, pads=pads, group=group))


def _conv_bn_relu(g: Gen, x):
    m = g.choice([4, 8, 16, 3])
    y = _same_conv(g, x, m)
    rank = len(shape_of(y))
    if g.bool():
        var = g.const((m,), 2.0, 0.5)
        y = g.emit(gn.BatchNormOp(y, g.const((m,)), g.const((m,)), g.const((m,)), var))
    else:
        per_channel = (m, *[1] * (rank - 2))
        y = g.emit(graph.MulOp(y, g.const(per_channel)))
        y = g.emit(graph.AddOp(y, g.const(per_channel)))
    return g.emit(graph.ReluOp(y))


def _residual(g: Gen, x):
    """relu(conv 1x1) to c channels, then relu(x + conv(relu(conv(x))))."""
    c = g.choice([4, 8, 16, 3])
    x = g.emit(graph.ReluOp(_same_conv(g, x, c, k=1)))
    y = g.emit(graph.ReluOp(_same_conv(g, x, c)))
    y = _same_conv(g, y, c, k=3)
    return g.emit(graph.ReluOp(g.emit(graph.AddOp(y, x) if g.bool() else graph.AddOp(x, y))))


def _sibling_convs(g: Gen, x):
    k = g.choice([1, 3])
    a = _same_conv(g, x, g.choice([4, 8, 2]), k=k)
    b = _same_conv(g, x, g.choice([4, 8, 2]), k=k)
    if shape_of(a) == shape_of(b) and g.bool():
        return g.emit(graph.AddOp(a, b))
    return g.emit(gs.ConcatOp([a, b], 1))


def _sibling_matmuls(g: Gen, x):
    k = shape_of(x)[1]
    n1, n2 = g.dim(), g.dim()
    a = g.emit(graph.MatMulOp(x, g.const((k, n1), 1 / math.sqrt(k))))
    b = g.emit(graph.MatMulOp(x, g.const((k, n2), 1 / math.sqrt(k))))
    if n1 == n2 and g.bool():
        return g.emit(graph.AddOp(a, b))
    return g.emit(gs.ConcatOp([a, b], 1))


def _matmul_affine(g: Gen, x):
    k = shape_of(x)[1]
    n = g.dim()
    y = g.emit(graph.MatMulOp(x, g.const((k, n), 1 / math.sqrt(k))))
    y = g.emit(graph.AddOp(y, g.const((n,))))
    return g.emit(graph.MulOp(y, g.const((n,)))) if g.bool() else y


def _conv_pool(g: Gen, x):
    """conv -> relu -> pool (blocked as a whole by graph-convert-layout when the channels
    are a multiple of the block), then sometimes a slice or concat of whole channel
    blocks."""
    from .program_nn import random_pool

    m = g.choice([8, 16, 4])
    y = random_pool(g, g.emit(graph.ReluOp(_same_conv(g, x, m))))
    if g.bool():
        n, c, *spatial = shape_of(y)
        start = g.choice([0, 4]) if c >= 8 else 0
        sizes = [n, g.choice([4, c - start]), *spatial]
        y = g.emit(gs.SliceOp(y, [0, start, *[0] * len(spatial)], [1] * len(sizes), sizes))
    elif g.bool():
        y = g.emit(gs.ConcatOp([y, g.emit(graph.ReluOp(y))], 1))
    return y


def _image(s) -> bool:
    return 3 <= len(s) <= 5


FAMILY: list[OpGen] = [
    OpGen("conv_bn_relu", _image, _conv_bn_relu, ("conv", "batch_norm", "relu", "mul", "add")),
    OpGen("residual", _image, _residual, ("conv", "relu", "add")),
    OpGen(
        "conv_pool",
        lambda s: len(s) == 4,
        _conv_pool,
        ("conv", "relu", "max_pool", "average_pool", "slice", "concat"),
    ),
    OpGen("sibling_convs", _image, _sibling_convs, ("conv", "concat", "add")),
    OpGen("sibling_matmuls", lambda s: len(s) == 2, _sibling_matmuls, ("matmul", "concat")),
    OpGen("matmul_affine", lambda s: len(s) == 2, _matmul_affine, ("matmul", "add", "mul")),
]
"""The generators of this family."""
