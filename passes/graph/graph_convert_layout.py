"""`graph-convert-layout`: run convolutions in the channel-blocked layout NCHW[x]c, with
the layout transforms placed once at the boundaries of each blocked region, not around
every op (TVM's AlterOpLayout / ConvertLayout; dialects/graph/layout.py has the ops).

Three rewrites, applied greedily until none applies:

1. A `graph.conv` (2-D, constant weights and bias, output channels per group a multiple
   of the block `x`) becomes `graph.pack` of its input (block `input_block`: `x`, or all
   its channels when `x` does not divide them and there are no groups, as for an RGB
   image), `graph.conv2d_nchwc` with weights and bias blocked at compile time, and
   `graph.unpack` of the result. Depthwise convolutions stay as they are.
2. `graph.unpack` sinks below the ops that do not care about the layout: unary
   elementwise ops, binary elementwise ops whose operands are both unpacked from the
   same layout (a residual add) or one of them a single-element constant, max and
   average pools (a [KH, KW] window over the blocked tensor is a [KH, KW, 1] window),
   and slices and concatenations along the channels at multiples of `x` (what
   graph-fuse's horizontal merge leaves); only ops whose operands and results are all
   f32 (a cast or a comparison stays in the planar layout, after the unpack).
3. `graph.pack(graph.unpack(y))` with the block `y` has is `y`.

On ResNet-50 this leaves one `graph.pack` (the image, 3 channels) and one
`graph.unpack` (before the global average pool): every convolution, ReLU, residual add
and the max pool run blocked.

    %y = "graph.conv"(%x, %w, %b) <{pads = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, tensor<64xf32>)
        -> tensor<1x64x56x56xf32>
    %r = "graph.relu"(%y) : (tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>

becomes, with x = 32,

    %p = "graph.pack"(%x) <{block = 32 : i64}> : (...) -> tensor<1x2x56x56x32xf32>
    %c = "graph.conv2d_nchwc"(%p, %wb, %bb) <{pads = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x2x56x56x32xf32>, tensor<2x2x3x3x32x32xf32>, tensor<2x32xf32>)
        -> tensor<1x2x56x56x32xf32>
    %rb = "graph.relu"(%c) : (...) -> tensor<1x2x56x56x32xf32>
    %r = "graph.unpack"(%rb) : (...) -> tensor<1x64x56x56xf32>

Options: `block` (x; 0, the default, picks it from the target's vector width: 32 f32
lanes at 512 bits, 16 at 256, 8 at 128: two vectors of output channels, the register
block of the direct-convolution microkernel), `vector-bits` (the target's SIMD width
for that choice; 0: the host's). Statistics: `graph.conv-blocked`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from ...backends.target import Target
from ...dialects import graph
from ...dialects.arrays import constant_array, from_numpy
from ...dialects.graph import nn as graph_nn
from ...dialects.graph import shape as graph_shape
from ...dialects.graph.base import i64_array
from ...dialects.graph.layout import Conv2DNchwcOp, PackOp, UnpackOp
from ...dialects.graph_layout_reference import pack_weights
from ..infra.statistics import bump


def default_block(vector_bits: int) -> int:
    """The channel block for a target with `vector_bits`-bit vectors: two vectors of f32."""
    return max(2 * vector_bits // 32, 2)


def _new_constant(array: np.ndarray, elem) -> graph.ConstantOp:
    return graph.ConstantOp(from_numpy(array, TensorType(elem, array.shape), splat=True))


def _pack(value: SSAValue, block: int, ops: list[Operation]) -> SSAValue:
    """`value` in the blocked layout: the source of an unpack of that layout, else a new
    graph.pack (appended to `ops`)."""
    owner = value.owner
    if isinstance(owner, UnpackOp) and owner.input.type.get_shape()[-1] == block:
        return owner.input
    op = PackOp(value, block)
    ops.append(op)
    return op.result


def input_block(cg: int, group: int, block: int) -> int:
    """The input channel block of a convolution with `cg` input channels per group: the
    block itself when it divides them; else all of them without groups (an RGB image);
    else their greatest common divisor with the block, at least 4 (AlexNet's 48-channel
    groups: 16); 0 when none fits (depthwise: 1 channel per group)."""
    if cg % block == 0:
        return block
    if group == 1:
        return cg
    common = math.gcd(cg, block)
    return common if common >= 4 else 0


class ConvToNchwc(RewritePattern):
    def __init__(self, block: int):
        self.block = block

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, graph_nn.ConvOp):
            return
        x_t, w_t = op.input.type, op.weight.type
        if len(x_t.get_shape()) != 4 or x_t.element_type != w_t.element_type:
            return
        group = op.group.value.data
        m, cg = w_t.get_shape()[:2]
        co = self.block
        ci = input_block(cg, group, co)
        w = constant_array(op.weight)
        b = constant_array(op.bias) if op.bias is not None else None
        if not ci or (m // group) % co or w is None or (op.bias is not None and b is None):
            return
        ops: list[Operation] = []
        x = _pack(op.input, ci, ops)
        wc = _new_constant(pack_weights(w, ci, co), w_t.element_type)
        ops.append(wc)
        bias = None
        if b is not None:
            bc = _new_constant(b.reshape(m // co, co), w_t.element_type)
            ops.append(bc)
            bias = bc.result
        win = op.window()
        conv = Conv2DNchwcOp(
            x,
            wc.result,
            bias,
            strides=win.strides,
            pads=(*win.pads_begin, *win.pads_end),
            dilations=win.dilations,
            group=group,
        )
        out = UnpackOp(conv.result)
        rewriter.replace(op, [*ops, conv, out], [out.result])
        bump("graph.conv-blocked")


def _unpacked(value: SSAValue) -> SSAValue | None:
    """The blocked source of `value` when it is a graph.unpack result."""
    owner = value.owner
    return owner.input if isinstance(owner, UnpackOp) else None


def _rebuild(
    op: Operation, operands: list[SSAValue], result: TensorType, props: dict | None = None
) -> Operation:
    """`op` on blocked `operands`: the same op kind, properties (updated by `props`) and
    attributes, with result type `result`."""
    return type(op).create(
        operands=operands,
        result_types=[result],
        properties={**op.properties, **(props or {})},
        attributes=dict(op.attributes),
    )


class SinkUnpack(RewritePattern):
    """op(unpack(y), ...) -> unpack(op'(y, ...)) for layout-agnostic ops (module docs)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        new = self._blocked_op(op)
        if new is None:
            return
        out = UnpackOp(new.results[0])
        rewriter.replace(op, [new, out], [out.result])

    def _blocked_op(self, op: Operation) -> Operation | None:
        if any(not graph.is_f32_tensor(v) for v in (*op.operands, *op.results)):
            return None  # a cast or comparison: the blocked layout holds f32 only
        if isinstance(op, graph.ElementwiseUnaryOp) and len(op.operands) == 1:
            y = _unpacked(op.operands[0])
            return _rebuild(op, [y], y.type) if y is not None else None
        if isinstance(op, graph.ElementwiseBinaryOp):
            return self._binary(op)
        if isinstance(op, graph_nn.MaxPoolOp | graph_nn.AveragePoolOp):
            return self._pool(op)
        if isinstance(op, graph_shape.SliceOp):
            return self._slice(op)
        if isinstance(op, graph_shape.ConcatOp):
            return self._concat(op)
        return None

    def _binary(self, op: Operation) -> Operation | None:
        a, b = op.operands
        ya, yb = _unpacked(a), _unpacked(b)
        if ya is not None and yb is not None:
            if ya.type != yb.type:
                return None
            return _rebuild(op, [ya, yb], ya.type)
        for blocked, other, first in ((ya, b, True), (yb, a, False)):
            if blocked is None or not isinstance(other.type, TensorType):
                continue
            if np.prod(other.type.get_shape()) != 1 or len(other.type.get_shape()) > 4:
                continue
            if not isinstance(other.owner, graph.ConstantOp):
                continue
            operands = [blocked, other] if first else [other, blocked]
            return _rebuild(op, operands, blocked.type)
        return None

    def _pool(self, op: graph_nn.MaxPoolOp | graph_nn.AveragePoolOp) -> Operation | None:
        y = _unpacked(op.input)
        if y is None or len(op.input.type.get_shape()) != 4:
            return None
        win = op.window()
        props = {
            "kernel_shape": i64_array((*win.kernel, 1)),
            "strides": i64_array((*win.strides, 1)),
            "pads": i64_array((*win.pads_begin, 0, *win.pads_end, 0)),
            "dilations": i64_array((*win.dilations, 1)),
        }
        n, cb, _, _, x = y.type.get_shape()
        oh, ow = op.result.type.get_shape()[2:]
        return _rebuild(op, [y], TensorType(y.type.element_type, [n, cb, oh, ow, x]), props)

    def _slice(self, op: graph_shape.SliceOp) -> Operation | None:
        y = _unpacked(op.input)
        if y is None:
            return None
        x = y.type.get_shape()[-1]
        starts, steps = list(op.starts.get_values()), list(op.steps.get_values())
        out = list(op.result.type.get_shape())
        if steps[1] != 1 or starts[1] % x or out[1] % x:
            return None
        sizes = [out[0], out[1] // x, *out[2:], x]
        return graph_shape.SliceOp(
            y, [starts[0], starts[1] // x, *starts[2:], 0], [*steps, 1], sizes
        )

    def _concat(self, op: graph_shape.ConcatOp) -> Operation | None:
        if op.normalized_axis() != 1:
            return None
        ys = [_unpacked(v) for v in op.operands]
        if any(y is None for y in ys) or len({y.type.get_shape()[-1] for y in ys}) != 1:
            return None
        return graph_shape.ConcatOp(ys, 1)


class FoldPackUnpack(RewritePattern):
    """pack(unpack(y)) -> y when the blocks agree."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, PackOp):
            return
        y = _unpacked(op.input)
        if y is not None and y.type == op.result.type:
            rewriter.replace(op, [], [y])


def _erase_dead(module: ModuleOp) -> None:
    """Erase layout ops and constants left without uses (a sunk unpack, old weights)."""
    changed = True
    while changed:
        changed = False
        for op in list(module.walk()):
            dead = isinstance(op, PackOp | UnpackOp | graph.ConstantOp) or (
                op.name.startswith("graph.") and not op.regions
            )
            if dead and op.results and not any(r.uses for r in op.results):
                op.detach()
                op.erase()
                changed = True


@dataclass(frozen=True)
class GraphConvertLayoutPass(ModulePass):
    """Blocked (NCHW[x]c) convolutions, layout transforms at region boundaries (module
    docs). Options: `block` (0: two vectors of the target), `vector_bits` (0: host)."""

    name = "graph-convert-layout"

    block: int = 0
    vector_bits: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        block = self.block or default_block(self.vector_bits or Target.of(op).vector_bits)
        if block < 1:
            raise ValueError(f"graph-convert-layout: block must be positive, got {block}")
        PatternRewriteWalker(
            GreedyRewritePatternApplier([ConvToNchwc(block), SinkUnpack(), FoldPackUnpack()]),
            apply_recursively=True,
        ).rewrite_module(op)
        _erase_dead(op)
