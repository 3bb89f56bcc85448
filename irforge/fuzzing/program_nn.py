"""Op generators of the random program fuzzer for contractions, the neural-network ops
and the blocked layout (dialects/graph/core.py, nn.py, layout.py).

- attention (graph.attention): the value as the queries, constant keys and values, an
  optional constant additive mask, scale 1/sqrt(d);
- matmul and gemm (random transA/transB, alpha, beta, an optional C of any shape that
  broadcasts to [M, N]); a value of another rank is first reshaped to 2-D;
- conv over 1 to 3 spatial dims: strides 1-3, dilations 1-2, begin and end pads 0-2
  each, groups (1, a divisor of C, or depthwise: group = C), output channels a multiple
  of the group (x1..x16: some divisible by the layout block), optional bias;
- max_pool and average_pool: kernel, strides, pads (smaller than the kernel, as ONNX
  Runtime requires), dilations, ceil_mode, count_include_pad; global average and max
  pools; batch_norm (variance > 0) and lrn with random size, alpha, beta, bias;
- the blocked layout: pack by a divisor of C, unpack of any rank >= 4 value, and a
  blocked convolution `unpack(conv2d_nchwc(pack(x), blocked weights, blocked bias))`
  with input and output channel blocks dividing the channels per group.

Weights are normal with standard deviation 1/sqrt(fan-in) (as trained networks have), so
outputs stay O(1) whatever the reduction length. Semantics: ONNX Conv, MaxPool,
AveragePool, Global*Pool, BatchNormalization, LRN, MatMul, Gemm, Attention (opset 23)
(https://onnx.ai/onnx/operators/); the layout ops as dialects/graph/layout.py states.
"""

from __future__ import annotations

import math

import numpy as np

from irforge.dialects import graph
from irforge.dialects.graph import attention as gattn
from irforge.dialects.graph import layout as gl
from irforge.dialects.graph import nn as gn
from irforge.dialects.graph_layout_reference import pack_weights

from .program_base import Gen, OpGen, shape_of


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _as_matrix(g: Gen, x):
    s = shape_of(x)
    if len(s) == 2:
        return x
    rows = math.prod(s[:-1]) if len(s) > 1 else 1
    return g.emit(graph.ReshapeOp(x, (rows, s[-1] if s else 1)))


def _matmul(g: Gen, x):
    x = _as_matrix(g, x)
    k = shape_of(x)[1]
    return g.emit(graph.MatMulOp(x, g.const((k, g.dim()), 1 / math.sqrt(k))))


def _attention(g: Gen, x):
    """softmax(x K^T * scale + mask) V with x as the queries [..., Sq, d]: constant keys
    and values (x's batch dims), an optional constant additive mask."""
    *batch, _, d = shape_of(x)
    sk, dv = g.dim(), g.dim()
    k = g.const((*batch, sk, d))
    v = g.const((*batch, sk, dv))
    sq = shape_of(x)[-2]
    mask_shape = g.choice([None, (sk,), (sq, sk), (1, sk)])
    mask = g.const(mask_shape) if mask_shape is not None else None
    return g.emit(gattn.AttentionOp(x, k, v, mask, scale=1 / math.sqrt(d)))


def _gemm(g: Gen, x):
    x = _as_matrix(g, x)
    ta, tb = g.int(0, 1), g.int(0, 1)
    m, k = shape_of(x)[::-1] if ta else shape_of(x)
    n = g.dim()
    w = g.const((n, k) if tb else (k, n), 1 / math.sqrt(k))
    c_shape = g.choice([None, (), (n,), (1, n), (m, 1), (m, n)])
    c = g.const(c_shape) if c_shape is not None else None
    alpha = g.choice([1.0, 0.5, -1.5])
    beta = g.choice([1.0, 0.0, 2.0])
    return g.emit(graph.GemmOp(x, w, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb))


def _window(g: Gen, spatial, pool: bool):
    """kernel, strides, pads, dilations that fit `spatial` (pads < kernel for pools)."""
    kernel, strides, dilations, begin, end = [], [], [], [], []
    for n in spatial:
        k = g.int(1, min(3, n + 2))
        d = g.choice([1, 2]) if k > 1 else 1
        p0, p1 = g.int(0, min(2, k - 1 if pool else 2)), g.int(0, min(2, k - 1 if pool else 2))
        while d * (k - 1) + 1 > n + p0 + p1:  # the window must fit the padded input
            k, d = (k - 1, d) if d == 1 else (k, 1)
            p0, p1 = min(p0, k - 1 if pool else p0), min(p1, k - 1 if pool else p1)
        kernel.append(k), strides.append(g.choice([1, 2, 3])), dilations.append(d)
        begin.append(p0), end.append(p1)
    return kernel, strides, begin + end, dilations


def _conv(g: Gen, x):
    n, c, *spatial = shape_of(x)
    group = g.choice(sorted({1, c, g.choice(_divisors(c))}))
    m = group * g.choice([1, 2, 3, 4, 8, 16] + ([32] if g.big else []))
    kernel, strides, pads, dilations = _window(g, spatial, pool=False)
    fan_in = c // group * math.prod(kernel)
    w = g.const((m, c // group, *kernel), 1 / math.sqrt(fan_in))
    bias = g.const((m,)) if g.bool() else None
    return g.emit(
        gn.ConvOp(x, w, bias, strides=strides, pads=pads, dilations=dilations, group=group)
    )


def random_pool(g: Gen, x):
    """A max or average pool of x with a random window (module docs)."""
    spatial = shape_of(x)[2:]
    kernel, strides, pads, dilations = _window(g, spatial, pool=True)
    ceil = g.int(0, 1)
    if g.bool():
        return g.emit(
            gn.MaxPoolOp(x, kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil)
        )
    return g.emit(
        gn.AveragePoolOp(
            x,
            kernel,
            strides=strides,
            pads=pads,
            dilations=dilations,
            ceil_mode=ceil,
            count_include_pad=g.int(0, 1),
        )
    )


def _global_average_pool(g: Gen, x):
    return g.emit(gn.GlobalAveragePoolOp(x))


def _global_max_pool(g: Gen, x):
    return g.emit(gn.GlobalMaxPoolOp(x))


def _batch_norm(g: Gen, x):
    c = shape_of(x)[1]
    scale, bias, mean = g.const((c,)), g.const((c,)), g.const((c,))
    var = g.const((c,), 2.0, 0.5)
    return g.emit(gn.BatchNormOp(x, scale, bias, mean, var, g.choice([1e-5, 1e-3])))


def _lrn(g: Gen, x):
    return g.emit(
        gn.LRNOp(
            x,
            g.choice([1, 2, 3, 5]),
            alpha=g.choice([1e-4, 0.1, 1.0]),
            beta=g.choice([0.75, 0.5, 1.0]),
            bias=g.choice([1.0, 2.0]),
        )
    )


def _pack(g: Gen, x):
    return g.emit(gl.PackOp(x, g.choice(_divisors(shape_of(x)[1]))))


def _unpack(g: Gen, x):
    return g.emit(gl.UnpackOp(x))


def _blocked_conv(g: Gen, x):
    """unpack(conv2d_nchwc(pack(x, ci), w, b)) with ci | C/group and co | M/group."""
    n, c, h, w_ = shape_of(x)
    group = g.choice(_divisors(c))
    cg = c // group
    mg = g.choice([1, 2, 4, 8, 16])
    ci, co = g.choice(_divisors(cg)), g.choice(_divisors(mg))
    kernel, strides, pads, dilations = _window(g, (h, w_), pool=False)
    fan_in = cg * math.prod(kernel)
    plain = g.rng.standard_normal((group * mg, cg, *kernel)) / math.sqrt(fan_in)
    weights = g.const_array(pack_weights(plain.astype(np.float32), ci, co))
    bias = g.const((group * mg // co, co)) if g.bool() else None
    packed = g.emit(gl.PackOp(x, ci))
    y = g.emit(
        gl.Conv2DNchwcOp(
            packed, weights, bias, strides=strides, pads=pads, dilations=dilations, group=group
        )
    )
    return g.emit(gl.UnpackOp(y))


def _image(rank_lo: int, rank_hi: int = 5):
    return lambda s: rank_lo <= len(s) <= rank_hi and all(d >= 1 for d in s)


FAMILY: list[OpGen] = [
    OpGen("matmul", lambda s: len(s) >= 1, _matmul, ("matmul",)),
    OpGen("conv", _image(3), _conv, ("conv",)),
    OpGen("blocked_conv", _image(4, 4), _blocked_conv, ("pack", "conv2d_nchwc", "unpack")),
    OpGen("pool", _image(3), random_pool, ("max_pool", "average_pool")),
    OpGen("gemm", lambda s: len(s) >= 1, _gemm, ("gemm",)),
    OpGen("attention", lambda s: len(s) >= 2, _attention, ("attention",)),
    OpGen("global_average_pool", _image(3), _global_average_pool, ("global_average_pool",)),
    OpGen("global_max_pool", _image(3), _global_max_pool, ("global_max_pool",)),
    OpGen("batch_norm", _image(2), _batch_norm, ("batch_norm",)),
    OpGen("lrn", _image(2), _lrn, ("lrn",)),
    OpGen("pack", _image(3), _pack, ("pack",)),
    OpGen("unpack", _image(4), _unpack, ("unpack",)),
]
"""The generators of this family, simplest first."""
