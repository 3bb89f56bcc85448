"""The graph dialect's layout ops: channel-blocked tensors (NCHW[x]c) and the convolution
that reads and writes them.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`) and share its base classes (base.py). They are not in ONNX:
`graph-convert-layout` (passes/graph/graph_convert_layout.py) introduces them, after
import, where a blocked layout pays. A blocked tensor `[N, C/x, H, W, x]` keeps `x`
consecutive channels of one pixel together, so a vector of `x` output channels (the SIMD
width of the target, or a multiple of it) is one contiguous load or store, and a
convolution needs no im2col packing of its input.

- `graph.pack` `[N, C, D1..Dk] -> [N, C/x, D1..Dk, x]`: element `(n, c, d...)` goes to
  `(n, c // x, d..., c % x)` (MLIR's `linalg.pack` with `inner_dims_pos = [1]`,
  `inner_tiles = [x]`); `x` must divide C.
- `graph.unpack`: its inverse.
- `graph.conv2d_nchwc`: a 2-D convolution of a blocked input `[N, C/ci, H, W, ci]` with
  blocked weights `[M/co, C/(group*ci), KH, KW, ci, co]` (TVM's `OIHW{ci}i{co}o`) and an
  optional blocked bias `[M/co, co]`; result `[N, M/co, OH, OW, co]`, with ONNX Conv's
  window semantics and groups (strides, pads, dilations, group; `graph.conv` documents
  them).

    %p = "graph.pack"(%x) <{block = 32 : i64}> : (tensor<1x64x56x56xf32>)
        -> tensor<1x2x56x56x32xf32>
    %y = "graph.conv2d_nchwc"(%p, %w, %b) <{pads = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x2x56x56x32xf32>, tensor<2x2x3x3x32x32xf32>, tensor<2x32xf32>)
        -> tensor<1x2x56x56x32xf32>
    %u = "graph.unpack"(%y) : (tensor<1x2x56x56x32xf32>) -> tensor<1x64x56x56xf32>

Source: the NCHW[x]c layout of TVM's x86 convolution schedules (Liu et al., "Optimizing
CNN Model Inference on CPUs", USENIX ATC 2019), MLIR's `linalg.pack` / `linalg.unpack`.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .base import AnyTensor, GraphOp, Window, i64_attr, static_shape, window_props


def packed_shape(shape: Sequence[int], block: int) -> tuple[int, ...]:
    """The shape of `graph.pack` of a `shape` tensor with channel block `block`."""
    n, c, *spatial = shape
    return (n, c // block, *spatial, block)


def unpacked_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of `graph.unpack` of a blocked `shape` tensor."""
    n, cb, *spatial, x = shape
    return (n, cb * x, *spatial)


@irdl_op_definition
class PackOp(GraphOp):
    """`[N, C, D1..Dk] -> [N, C/block, D1..Dk, block]`: result[n, c // block, d..., c %
    block] = input[n, c, d...] (module docs). `block` must divide C; rank >= 3."""

    name = "graph.pack"
    input = operand_def(AnyTensor)
    block = prop_def(IntegerAttr)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, block: int):
        shape = packed_shape(input.type.get_shape(), block)
        super().__init__(
            operands=[input],
            result_types=[TensorType(input.type.element_type, shape)],
            properties={"block": i64_attr(block)},
        )

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        x = self.block.value.data
        if len(shape) < 3:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 3 ([N, C, D1, ...]), got shape "
                f"{list(shape)}"
            )
        if x < 1 or shape[1] % x:
            raise VerifyException(
                f"'{self.name}' op block {x} must be positive and divide the channel "
                f"count {shape[1]}"
            )
        return packed_shape(shape, x)


@irdl_op_definition
class UnpackOp(GraphOp):
    """`[N, C/x, D1..Dk, x] -> [N, C, D1..Dk]`, the inverse of `graph.pack`: result[n, c,
    d...] = input[n, c // x, d..., c % x]; rank >= 4."""

    name = "graph.unpack"
    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue):
        shape = unpacked_shape(input.type.get_shape())
        super().__init__(
            operands=[input], result_types=[TensorType(input.type.element_type, shape)]
        )

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        if len(shape) < 4:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 4 ([N, C/x, D1, ..., x]), got "
                f"shape {list(shape)}"
            )
        return unpacked_shape(shape)


@irdl_op_definition
class Conv2DNchwcOp(GraphOp):
    """2-D convolution on blocked tensors (module docs): input `[N, C/ci, H, W, ci]`,
    weight `[M/co, C/(group*ci), KH, KW, ci, co]`, optional bias `[M/co, co]`; result `[N,
    M/co, OH, OW, co]`, `y[n, m // co, oh, ow, m % co] = b[m] + sum_{c, kh, kw} x_pad[n,
    (g(m) * C/group + c) // ci, oh * sh + kh * dh, ow * sw + kw * dw, c % ci] * w[m // co,
    c // ci, kh, kw, c % ci, m % co]` over the `C/group` channels c of the group `g(m) = m
    // (M/group)` of output channel m (ONNX Conv's groups; `ci` divides C/group and `co`
    divides M/group, so a block never straddles two groups). `strides`, `pads`
    ([h_begin, w_begin, h_end, w_end]) and `dilations` as for `graph.conv`."""

    name = "graph.conv2d_nchwc"
    input = operand_def(AnyTensor)
    weight = operand_def(AnyTensor)
    bias = opt_operand_def(AnyTensor)
    strides = opt_prop_def(DenseArrayBase)
    pads = opt_prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    group = prop_def(IntegerAttr, default_value=i64_attr(1))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        weight: SSAValue,
        bias: SSAValue | None = None,
        *,
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        group: int = 1,
    ):
        x, w = input.type.get_shape(), weight.type.get_shape()
        out = Window.of(w[2:4], strides, pads, dilations).output_shape(x[2:4])
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[TensorType(input.type.element_type, [x[0], w[0], *out, w[5]])],
            properties={**window_props(strides, pads, dilations), "group": i64_attr(group)},
        )

    def window(self) -> Window:
        """The window geometry (kernel from the weights), defaults filled in."""

        def ints(name: str) -> tuple[int, ...] | None:
            attr = self.properties.get(name)
            return None if attr is None else tuple(attr.get_values())

        kernel = self.weight.type.get_shape()[2:4]
        return Window.of(kernel, ints("strides"), ints("pads"), ints("dilations"))

    def infer_shape(self) -> tuple[int, ...]:
        x = static_shape(self, "input", self.input.type)
        w = static_shape(self, "weight", self.weight.type)
        if len(x) != 5 or len(w) != 6:
            raise VerifyException(
                f"'{self.name}' op expects a rank-5 input [N, C/ci, H, W, ci] and rank-6 "
                f"weights [M/co, C/ci, KH, KW, ci, co], got {list(x)} and {list(w)}"
            )
        group = self.group.value.data
        if group < 1 or w[0] % group or w[1] * group != x[1] or w[4] != x[4]:
            raise VerifyException(
                f"'{self.name}' op weights {list(w)} do not match the input's channel blocks "
                f"{x[1]} x {x[4]} in {group} group{'s' if group != 1 else ''}"
            )
        for name, count, low in (("strides", 2, 1), ("dilations", 2, 1), ("pads", 4, 0)):
            attr = self.properties.get(name)
            if attr is None:
                continue
            values = attr.get_values()
            if len(values) != count or any(v < low for v in values):
                raise VerifyException(
                    f"'{self.name}' op {name} must hold {count} values >= {low}, got {list(values)}"
                )
        if self.bias is not None:
            b = static_shape(self, "bias", self.bias.type)
            if b != (w[0], w[5]):
                raise VerifyException(
                    f"'{self.name}' op bias of shape {list(b)} must have shape "
                    f"[{w[0]}, {w[5]}] (blocked like the output channels)"
                )
        out = self.window().output_shape(x[2:4])
        if any(o < 1 for o in out):
            raise VerifyException(
                f"'{self.name}' op window {list(w[2:4])} does not fit the padded input"
            )
        return (x[0], w[0], *out, w[5])


OPS: list[type[Operation]] = [PackOp, UnpackOp, Conv2DNchwcOp]
