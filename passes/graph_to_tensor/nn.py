"""convert-graph-to-tensor rules for the graph dialect's nn ops (dialects/graph/nn.py).

Each rule is registered with `base.lowers` for its op class (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module.

Windowed ops read a padded copy of their input (`tensor.pad_constant`: a generic's
indexing maps must stay in bounds) through maps `o * stride + j * dilation`. A 2-D
convolution with group = 1 and pads, over the domain (n, f, oh, ow, c, kh, kw):

    %y = "graph.conv"(%x, %w) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>

becomes

    %p = "tensor.pad_constant"(%x) <{low = array<i64: 0, 0, 1, 1>,
        high = array<i64: 0, 0, 1, 1>, value = 0.0 : f32}>
        : (tensor<1x3x8x8xf32>) -> tensor<1x3x10x10xf32>
    %z = <zero fill of tensor<1x4x4x4xf32>>
    %y = "tensor.generic"(%p, %w, %z) <{indexing_maps = [
          affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5, d3 * 2 + d6)>,
          affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>,
          affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>],
        iterator_types = ["parallel", "parallel", "parallel", "parallel",
                          "reduction", "reduction", "reduction"]}> ({
      ^bb0(%a: f32, %b: f32, %acc: f32):  acc + a * b  })

With groups of several input and output channels, the group is a dim of its own (a GEMM
per group for the microkernels; `_grouped_conv`); a depthwise convolution reads input
channel `f floordiv (M / group)`, and its domain is ordered (n, f, o_1..o_k-1, c, j_1..j_k,
o_k): the innermost loop runs along an output row and vectorizes (faster than with the
kernel loops innermost, and close to ONNX Runtime; figures: docs/benchmarks.md, 'Design
measurements'). A bias is broadcast into the accumulator instead of
the zero fill. Pools reduce with max
(padding -inf) or sum (padding 0, then a division by the window's element count, a
constant computed here since shapes are static); batch normalization is one pointwise
generic, with `scale / sqrt(var + eps)` and `bias - mean * that` folded into per-channel
constants when the parameters are constants; LRN sums squares over a zero-padded channel
window, then computes `x * (bias + alpha / size * sum) ** -beta` as exp(-beta * log(.)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.arrays import constant_array, from_numpy
from ...dialects.graph import nn as graph_nn
from ...dialects.graph.nn import Window
from ...dialects.tensor import PARALLEL, REDUCTION, EmptyOp, build_generic
from .base import Lowered, constant, fill, lowers, multiply_add, pad


def _dim(i: int) -> AffineExpr:
    return AffineExpr.dimension(i)


def _dense(array: np.ndarray, elem: Attribute) -> arith.ConstantOp:
    """An `arith.constant` holding `array` as a dense tensor of element type `elem`."""
    t = TensorType(elem, np.shape(array))
    return arith.ConstantOp(from_numpy(array, t), t)


def _pad_window(
    ops: list[Operation], x: SSAValue, win: Window, value: float, extra_end: Sequence[int] = ()
) -> SSAValue:
    """`x` with its spatial dims padded as the window reads them."""
    extra = extra_end or (0,) * len(win.kernel)
    low = [0, 0, *win.pads_begin]
    high = [0, 0, *(e + x_ for e, x_ in zip(win.pads_end, extra))]
    return pad(ops, x, low, high, value)


def _window_reads(win: Window, out_dims: Sequence[int], kernel_dims: Sequence[int]):
    """The padded-input indices `o * stride + j * dilation`, one per spatial dim."""
    return [
        _dim(o) * s + _dim(j) * d
        for o, j, s, d in zip(out_dims, kernel_dims, win.strides, win.dilations)
    ]


def _channel_broadcast(ops: list[Operation], v: SSAValue, t: TensorType) -> SSAValue:
    """The [C] tensor `v` broadcast along dim 1 of `t` ([N, C, ...])."""
    rank = len(t.get_shape())
    empty = EmptyOp(t)
    maps = [AffineMap(rank, 0, (_dim(1),)), AffineMap.identity(rank)]
    gen = build_generic([v], [empty.result], maps, [PARALLEL] * rank, lambda b, s: [s[0]])
    ops += [empty, gen]
    return gen.res[0]


@lowers(graph_nn.ConvOp)
def lower_conv(op: graph_nn.ConvOp) -> Lowered:
    """Conv: pad, then one reduction generic over (n, f, o..., c, k...) (module docs)."""
    ops: list[Operation] = []
    t = op.result.type
    win = op.window()
    m, cg = op.weight.type.get_shape()[:2]
    group = op.group.value.data
    k = len(win.kernel)
    padded = _pad_window(ops, op.input, win, 0.0)
    if group > 1 and cg > 1 and m > group:
        return Lowered(ops, [_grouped_conv(ops, op, padded)])
    if op.bias is not None:
        acc = _channel_broadcast(ops, op.bias, t)
    else:
        acc = fill(ops, t, 0.0)
    # Domain: n, f, o_1..o_k, c, j_1..j_k. A depthwise convolution (one input channel
    # per group) moves its last output dim innermost, after the reductions: then the
    # innermost loop runs along an output row (parallel, unit stride in the output)
    # and vectorizes, where the 3-iteration kernel loop would stay scalar; each
    # element still sums its taps in the same order.
    rank = 3 + 2 * k
    n, f = _dim(0), _dim(1)
    out_dims = list(range(2, 2 + k))
    kernel_dims = list(range(3 + k, 3 + 2 * k))
    c_dim = 2 + k
    if group > 1 and cg == 1 and k >= 1:
        out_dims = [*range(2, 1 + k), rank - 1]
        c_dim = 1 + k
        kernel_dims = list(range(2 + k, 2 + 2 * k))
    c = _dim(c_dim)
    if group == 1:
        c_in = c
    else:
        mg = m // group
        g = f if mg == 1 else f // mg
        c_in = g + c if cg == 1 else g * cg + c
    in_map = AffineMap(rank, 0, (n, c_in, *_window_reads(win, out_dims, kernel_dims)))
    w_map = AffineMap(rank, 0, (f, c, *(_dim(j) for j in kernel_dims)))
    out_map = AffineMap(rank, 0, (n, f, *(_dim(o) for o in out_dims)))
    reductions = {c_dim, *kernel_dims}
    iterators = [REDUCTION if d in reductions else PARALLEL for d in range(rank)]
    gen = build_generic(
        [padded, op.weight], [acc], [in_map, w_map, out_map], iterators, multiply_add
    )
    ops.append(gen)
    return Lowered(ops, [gen.res[0]])


def _grouped_conv(ops: list[Operation], op: graph_nn.ConvOp, padded: SSAValue) -> SSAValue:
    """A grouped convolution (group > 1, several input and output channels per group) as a
    contraction with the group as a dim of its own: the generic computes `[N, G, M/G,
    O...]` over (n, g, f, o..., c, j...), reading input channel `g * C/G + c` and weight
    row `g * M/G + f` (linear maps: the microkernel lowering treats g as an outer dim, n
    and g around a GEMM per group), then a copy views the result as `[N, M, O...]` (which
    tensor-fuse-elementwise fuses into the consumer when it is pointwise)."""
    t = op.result.type
    win = op.window()
    m, cg = op.weight.type.get_shape()[:2]
    group = op.group.value.data
    mg = m // group
    n_, _, *spatial = t.get_shape()
    k = len(win.kernel)
    t5 = TensorType(t.element_type, [n_, group, mg, *spatial])
    rank5 = 3 + k
    if op.bias is not None:
        empty = EmptyOp(t5)
        bias_map = AffineMap(rank5, 0, (_dim(1) * mg + _dim(2),))
        acc_gen = build_generic(
            [op.bias],
            [empty.result],
            [bias_map, AffineMap.identity(rank5)],
            [PARALLEL] * rank5,
            lambda b, s: [s[0]],
        )
        ops += [empty, acc_gen]
        acc = acc_gen.res[0]
    else:
        acc = fill(ops, t5, 0.0)
    # Domain: n, g, f, o_1..o_k, c, j_1..j_k.
    rank = 4 + 2 * k
    n, g, f, c = _dim(0), _dim(1), _dim(2), _dim(3 + k)
    out_dims = list(range(3, 3 + k))
    kernel_dims = list(range(4 + k, 4 + 2 * k))
    in_map = AffineMap(rank, 0, (n, g * cg + c, *_window_reads(win, out_dims, kernel_dims)))
    w_map = AffineMap(rank, 0, (g * mg + f, c, *(_dim(j) for j in kernel_dims)))
    out_map = AffineMap(rank, 0, (n, g, f, *(_dim(o) for o in out_dims)))
    iterators = [PARALLEL] * (3 + k) + [REDUCTION] * (1 + k)
    gen = build_generic(
        [padded, op.weight], [acc], [in_map, w_map, out_map], iterators, multiply_add
    )
    empty = EmptyOp(t)
    rank4 = 2 + k
    view = AffineMap(
        rank4, 0, (_dim(0), _dim(1) // mg, _dim(1) % mg, *(_dim(2 + i) for i in range(k)))
    )
    copy = build_generic(
        [gen.res[0]],
        [empty.result],
        [view, AffineMap.identity(rank4)],
        [PARALLEL] * rank4,
        lambda b, s: [s[0]],
    )
    ops += [gen, empty, copy]
    return copy.res[0]


def _window_reduce(
    ops: list[Operation],
    x: SSAValue,
    t: TensorType,
    win: Window,
    pad_value: float,
    combine: type[Operation],
) -> SSAValue:
    """`combine` folded over each window of `x` padded with `pad_value` (init too)."""
    spatial = x.type.get_shape()[2:]
    padded = _pad_window(ops, x, win, pad_value, win.extra_end_pad(spatial))
    acc = fill(ops, t, pad_value)
    k = len(win.kernel)
    rank = 2 + 2 * k
    out_dims = list(range(2, 2 + k))
    kernel_dims = list(range(2 + k, 2 + 2 * k))
    in_map = AffineMap(rank, 0, (_dim(0), _dim(1), *_window_reads(win, out_dims, kernel_dims)))
    out_map = AffineMap(rank, 0, (_dim(0), _dim(1), *(_dim(o) for o in out_dims)))
    # No operand is indexed by the kernel dims directly, and a generic reads its loop
    # bounds off its operands: a `tensor.empty` of the kernel shape, which the body never
    # reads, gives them (as the window operand of MLIR's linalg.pooling_* ops does).
    kernel = EmptyOp(TensorType(t.element_type, win.kernel))
    k_map = AffineMap(rank, 0, tuple(_dim(j) for j in kernel_dims))
    iterators = [PARALLEL] * (2 + k) + [REDUCTION] * k

    def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(combine(s[2], s[0])).result]

    gen = build_generic([padded, kernel.result], [acc], [in_map, k_map, out_map], iterators, body)
    ops += [kernel, gen]
    return gen.res[0]


@lowers(graph_nn.MaxPoolOp)
def lower_max_pool(op: graph_nn.MaxPoolOp) -> Lowered:
    """MaxPool: the -inf padded input, reduced with maximumf over each window."""
    ops: list[Operation] = []
    res = _window_reduce(ops, op.input, op.result.type, op.window(), -math.inf, arith.MaximumfOp)
    return Lowered(ops, [res])


def average_pool_divisor(
    win: Window, spatial: Sequence[int], count_include_pad: bool
) -> np.ndarray:
    """The number of window elements that count at each output position (shape: the
    output's spatial shape): those inside the input, or inside the input and its explicit
    pads with count_include_pad. It is a product of one count per spatial dim."""
    counts = []
    for d, n in enumerate(spatial):
        lo, hi = (-win.pads_begin[d], n + win.pads_end[d]) if count_include_pad else (0, n)
        o = np.arange(win.output_size(d, n))[:, None]
        pos = o * win.strides[d] + np.arange(win.kernel[d])[None, :] * win.dilations[d]
        pos -= win.pads_begin[d]
        counts.append(((pos >= lo) & (pos < hi)).sum(axis=1))
    divisor = np.ones((), dtype=np.float64)
    for cnt in counts:
        divisor = np.multiply.outer(divisor, cnt)
    return divisor.astype(np.float32)


@lowers(graph_nn.AveragePoolOp)
def lower_average_pool(op: graph_nn.AveragePoolOp) -> Lowered:
    """AveragePool: window sums of the zero-padded input, divided by the element counts
    (one scalar when every window counts as many elements, else a constant tensor)."""
    ops: list[Operation] = []
    t = op.result.type
    win = op.window()
    spatial = op.input.type.get_shape()[2:]
    total = _window_reduce(ops, op.input, t, win, 0.0, arith.AddfOp)
    divisor = average_pool_divisor(win, spatial, bool(op.count_include_pad.value.data))
    rank = len(t.get_shape())
    empty = EmptyOp(t)
    ops.append(empty)
    identity = AffineMap.identity(rank)
    if np.all(divisor == divisor.flat[0]):
        count = float(divisor.flat[0])

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            return [b.insert(arith.DivfOp(s[0], constant(b, count, t.element_type))).result]

        gen = build_generic([total], [empty.result], [identity, identity], [PARALLEL] * rank, body)
    else:
        const = _dense(divisor, t.element_type)
        spatial_map = AffineMap(rank, 0, tuple(_dim(d) for d in range(2, rank)))

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            return [b.insert(arith.DivfOp(s[0], s[1])).result]

        gen = build_generic(
            [total, const.result],
            [empty.result],
            [identity, spatial_map, identity],
            [PARALLEL] * rank,
            body,
        )
        ops.append(const)
    ops.append(gen)
    return Lowered(ops, [gen.res[0]])


def _global_reduce(
    ops: list[Operation], x: SSAValue, t: TensorType, init: float, combine: type[Operation]
) -> SSAValue:
    """`combine` over the spatial dims of [N, C, D...] into [N, C, 1...]."""
    rank = len(t.get_shape())
    acc = fill(ops, t, init)
    zeros = (AffineExpr.constant(0),) * (rank - 2)
    maps = [AffineMap.identity(rank), AffineMap(rank, 0, (_dim(0), _dim(1), *zeros))]
    iterators = [PARALLEL] * 2 + [REDUCTION] * (rank - 2)

    def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(combine(s[1], s[0])).result]

    gen = build_generic([x], [acc], maps, iterators, body)
    ops.append(gen)
    return gen.res[0]


@lowers(graph_nn.GlobalAveragePoolOp)
def lower_global_average_pool(op: graph_nn.GlobalAveragePoolOp) -> Lowered:
    """GlobalAveragePool: a sum over the spatial dims, then a division by their size."""
    ops: list[Operation] = []
    t = op.result.type
    total = _global_reduce(ops, op.input, t, 0.0, arith.AddfOp)
    count = float(math.prod(op.input.type.get_shape()[2:]))
    rank = len(t.get_shape())
    empty = EmptyOp(t)

    def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.DivfOp(s[0], constant(b, count, t.element_type))).result]

    identity = AffineMap.identity(rank)
    gen = build_generic([total], [empty.result], [identity, identity], [PARALLEL] * rank, body)
    ops += [empty, gen]
    return Lowered(ops, [gen.res[0]])


@lowers(graph_nn.GlobalMaxPoolOp)
def lower_global_max_pool(op: graph_nn.GlobalMaxPoolOp) -> Lowered:
    """GlobalMaxPool: a maximumf reduction over the spatial dims from -inf."""
    ops: list[Operation] = []
    res = _global_reduce(ops, op.input, op.result.type, -math.inf, arith.MaximumfOp)
    return Lowered(ops, [res])


@lowers(graph_nn.BatchNormOp)
def lower_batch_norm(op: graph_nn.BatchNormOp) -> Lowered:
    """BatchNormalization: y = x * a[c] + b[c] with a = scale / sqrt(var + eps) and
    b = bias - mean * a folded here when all four parameters are constants; otherwise
    the generic computes (x - mean) / sqrt(var + eps) * scale + bias itself."""
    ops: list[Operation] = []
    t = op.result.type
    elem = t.element_type
    rank = len(t.get_shape())
    eps = op.epsilon.value.data
    identity = AffineMap.identity(rank)
    channel = AffineMap(rank, 0, (_dim(1),))
    params = [op.scale, op.bias, op.mean, op.var]
    arrays = [constant_array(v) for v in params]
    if all(a is not None for a in arrays):
        scale, bias, mean, var = arrays
        a = scale / np.sqrt(var + var.dtype.type(eps))
        shift = bias - mean * a
        consts = [_dense(a, elem), _dense(shift, elem)]
        ops += consts
        ins = [op.input, *(c.result for c in consts)]

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            scaled = b.insert(arith.MulfOp(s[0], s[1])).result
            return [b.insert(arith.AddfOp(scaled, s[2])).result]

    else:
        ins = [op.input, *params]

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            x, scale, bias, mean, var = s[:5]
            shifted = b.insert(arith.AddfOp(var, constant(b, eps, elem))).result
            root = b.insert(xmath.SqrtOp(shifted)).result
            centered = b.insert(arith.SubfOp(x, mean)).result
            normed = b.insert(arith.DivfOp(centered, root)).result
            scaled = b.insert(arith.MulfOp(normed, scale)).result
            return [b.insert(arith.AddfOp(scaled, bias)).result]

    empty = EmptyOp(t)
    maps = [identity, *([channel] * (len(ins) - 1)), identity]
    gen = build_generic(ins, [empty.result], maps, [PARALLEL] * rank, body)
    ops += [empty, gen]
    # The folded parameters' constants are dead after the replacement, and the walker has
    # passed them: the pass erases them, or each would become a global of unused weights.
    folded = dict.fromkeys(v.owner for v in params if constant_array(v) is not None)
    return Lowered(ops, [gen.res[0]], list(folded))


@lowers(graph_nn.LRNOp)
def lower_lrn(op: graph_nn.LRNOp) -> Lowered:
    """LRN: square sums over a zero-padded channel window (a reduction generic over
    (n, c, d..., j) reading channel c + j), then x * (bias + alpha/size * sum) ** -beta
    (ONNX Runtime's form: a multiplication by the power rather than a division)."""
    ops: list[Operation] = []
    t = op.result.type
    elem = t.element_type
    shape = t.get_shape()
    rank = len(shape)
    size = op.size.value.data
    below, above = op.channel_window()
    rest = [0] * (rank - 2)
    padded = pad(ops, op.input, [0, below, *rest], [0, above, *rest], 0.0)
    acc = fill(ops, t, 0.0)
    j = _dim(rank)
    dims = [_dim(d) for d in range(rank)]
    in_map = AffineMap(rank + 1, 0, (dims[0], dims[1] + j, *dims[2:]))
    out_map = AffineMap(rank + 1, 0, tuple(dims))
    window = EmptyOp(TensorType(elem, [size]))  # gives j its bounds (see _window_reduce)
    w_map = AffineMap(rank + 1, 0, (j,))

    def square_sum(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        sq = b.insert(arith.MulfOp(s[0], s[0])).result
        return [b.insert(arith.AddfOp(s[2], sq)).result]

    sums = build_generic(
        [padded, window.result],
        [acc],
        [in_map, w_map, out_map],
        [PARALLEL] * rank + [REDUCTION],
        square_sum,
    )
    ops += [window, sums]
    coeff = op.alpha.value.data / size
    bias, beta = op.bias.value.data, op.beta.value.data

    def normalize(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        scaled = b.insert(arith.MulfOp(constant(b, coeff, elem), s[1])).result
        base = b.insert(arith.AddfOp(constant(b, bias, elem), scaled)).result
        # base ** -beta as exp(-beta * log(base)) (base > 0): the interpreters have
        # exp and log but not powf; the rounding error stays ~|beta * log(base)| ulp.
        log = b.insert(xmath.LogOp(base)).result
        scaled_log = b.insert(arith.MulfOp(constant(b, -beta, elem), log)).result
        factor = b.insert(xmath.ExpOp(scaled_log)).result
        return [b.insert(arith.MulfOp(s[0], factor)).result]

    empty = EmptyOp(t)
    identity = AffineMap.identity(rank)
    gen = build_generic(
        [op.input, sums.res[0]],
        [empty.result],
        [identity, identity, identity],
        [PARALLEL] * rank,
        normalize,
    )
    ops += [empty, gen]
    return Lowered(ops, [gen.res[0]])
