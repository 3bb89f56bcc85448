"""The graph dialect's neural-network ops: convolution, pooling, batch normalization, LRN.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`.

Layout is ONNX's: channels first, `[N, C, D1, ..., Dk]` with k >= 1 spatial dimensions
(NCHW for images). Window geometry (kernel, strides, pads, dilations) is held in
`array<i64: ...>` properties, one entry per spatial dimension; `pads` lists the begin
pads of every spatial dimension, then the end pads (ONNX order: `[h_begin, w_begin, h_end,
w_end]`). Absent `strides`, `pads` and `dilations` mean 1, 0 and 1. ONNX's `auto_pad` is
resolved to explicit pads by the importer, so these ops have no such attribute. `Window`
(base.py, importable from this module too) computes the window geometry and output sizes.

    %y = "graph.conv"(%x, %w, %b) <{strides = array<i64: 2, 2>,
        pads = array<i64: 1, 1, 1, 1>}>
        : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>

Source: the ONNX operator specifications (Conv, MaxPool, AveragePool, GlobalAveragePool,
GlobalMaxPool, BatchNormalization, LRN), https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    TensorType,
)
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

from .base import (
    AnyTensor,
    GraphOp,
    Window,
    f32_attr,
    i64_array,
    i64_attr,
    static_shape,
    window_props,
)


class _WindowOp(GraphOp):
    """Shared accessors and checks of the window properties (conv and pools)."""

    def kernel(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _ints(self, name: str) -> tuple[int, ...] | None:
        attr = self.properties.get(name)
        return None if attr is None else tuple(attr.get_values())

    def window(self) -> Window:
        """The window geometry, with defaults filled in (see `Window`)."""
        ceil = self.properties.get("ceil_mode")
        return Window.of(
            self.kernel(),
            self._ints("strides"),
            self._ints("pads"),
            self._ints("dilations"),
            bool(ceil.value.data) if ceil is not None else False,
        )

    def _check_window(self) -> tuple[tuple[int, ...], Window]:
        """Verify rank and window properties; the input shape and the window."""
        shape = static_shape(self, "input", self.operands[0].type)
        if len(shape) < 3:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 3 ([N, C, D1, ...]), got shape "
                f"{list(shape)}"
            )
        k = len(shape) - 2
        for name, count, low in (
            ("kernel_shape", k, 1),
            ("strides", k, 1),
            ("dilations", k, 1),
            ("pads", 2 * k, 0),
        ):
            attr = self.properties.get(name)
            if attr is None:
                continue
            if not isinstance(attr.elt_type, IntegerType):
                raise VerifyException(
                    f"'{self.name}' op {name} must be an array of integers, got {attr}"
                )
            values = attr.get_values()
            if len(values) != count:
                raise VerifyException(
                    f"'{self.name}' op {name} has {len(values)} entries, expected {count} for "
                    f"{k} spatial dimension{'s' if k != 1 else ''}"
                )
            if any(v < low for v in values):
                what = "positive" if low else "non-negative"
                raise VerifyException(f"'{self.name}' op {name} must be {what}, got {list(values)}")
        win = self.window()
        out = win.output_shape(shape[2:])
        if any(o < 1 for o in out):
            raise VerifyException(
                f"'{self.name}' op window (kernel {list(win.kernel)}, dilations "
                f"{list(win.dilations)}) does not fit the padded input of spatial shape "
                f"{[n + b + e for n, b, e in zip(shape[2:], win.pads_begin, win.pads_end)]}"
            )
        return shape, win


@irdl_op_definition
class ConvOp(_WindowOp):
    """Convolution (cross-correlation) of an [N, C, D1..Dk] input with [M, C/group, K1..Kk]
    weights, plus an optional [M] bias (ONNX Conv).

    `group` splits the input channels and the output channels into `group` equal groups;
    output channel `m` sees the input channels of its group, `(m // (M/group)) * (C/group)
    + c` for `c < C/group` (group = C = M is a depthwise convolution). The kernel shape
    is the weights' spatial shape. Result: [N, M, O1..Ok] with
    `Oi = floor((Di + pad_begin_i + pad_end_i - dilation_i * (Ki - 1) - 1) / stride_i) + 1`.
    """

    name = "graph.conv"
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
        shape, w = input.type.get_shape(), weight.type.get_shape()
        out = Window.of(w[2:], strides, pads, dilations).output_shape(shape[2:])
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[TensorType(input.type.element_type, [shape[0], w[0], *out])],
            properties={**window_props(strides, pads, dilations), "group": i64_attr(group)},
        )

    def kernel(self) -> tuple[int, ...]:
        return tuple(self.weight.type.get_shape()[2:])

    def infer_shape(self) -> tuple[int, ...]:
        w = static_shape(self, "weight", self.weight.type)
        x = static_shape(self, "input", self.input.type)
        if len(w) != len(x):
            raise VerifyException(
                f"'{self.name}' op weight of shape {list(w)} must have the input's rank "
                f"{len(x)} ([M, C/group, K1, ...])"
            )
        x, win = self._check_window()
        group = self.group.value.data
        n, c = x[0], x[1]
        m, cg = w[0], w[1]
        if group < 1 or c % group or m % group:
            raise VerifyException(
                f"'{self.name}' op group {group} must be positive and divide the input "
                f"channels ({c}) and the output channels ({m})"
            )
        if cg != c // group:
            raise VerifyException(
                f"'{self.name}' op weight of shape {list(w)} has {cg} input channels per "
                f"group, expected {c // group} (input channels {c} / group {group})"
            )
        if self.bias is not None:
            b = static_shape(self, "bias", self.bias.type)
            if b != (m,):
                raise VerifyException(
                    f"'{self.name}' op bias of shape {list(b)} must have shape [{m}] (one per "
                    "output channel)"
                )
        return (n, m, *win.output_shape(x[2:]))


class _PoolOp(_WindowOp):
    """Base of the windowed pools: kernel_shape, strides, pads, dilations, ceil_mode."""

    input = operand_def(AnyTensor)
    kernel_shape = prop_def(DenseArrayBase)
    strides = opt_prop_def(DenseArrayBase)
    pads = opt_prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    ceil_mode = prop_def(IntegerAttr, default_value=i64_attr(0))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        kernel_shape: Sequence[int],
        *,
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        ceil_mode: int = 0,
        extra: dict | None = None,
    ):
        shape = input.type.get_shape()
        win = Window.of(kernel_shape, strides, pads, dilations, bool(ceil_mode))
        out = win.output_shape(shape[2:])
        super().__init__(
            operands=[input],
            result_types=[TensorType(input.type.element_type, [*shape[:2], *out])],
            properties={
                "kernel_shape": i64_array(kernel_shape),
                **window_props(strides, pads, dilations),
                "ceil_mode": i64_attr(ceil_mode),
                **(extra or {}),
            },
        )

    def kernel(self) -> tuple[int, ...]:
        return tuple(self.kernel_shape.get_values())

    def infer_shape(self) -> tuple[int, ...]:
        if self.ceil_mode.value.data not in (0, 1):
            raise VerifyException(f"'{self.name}' op ceil_mode must be 0 or 1")
        x, win = self._check_window()
        return (*x[:2], *win.output_shape(x[2:]))


@irdl_op_definition
class MaxPoolOp(_PoolOp):
    """The maximum of each window (ONNX MaxPool, the `Y` output); padding reads as -inf.

    Result: [N, C, O1..Ok], Oi as for graph.conv with `kernel_shape`; with `ceil_mode = 1`
    the division rounds up, less one if the last window would then start in the end
    padding (windows may read past the end pads; those elements do not count).
    """

    name = "graph.max_pool"


@irdl_op_definition
class AveragePoolOp(_PoolOp):
    """The mean of each window (ONNX AveragePool); result shape as for graph.max_pool.

    With `count_include_pad = 0` (the default) the divisor is the number of window
    elements inside the input; with 1 it also counts the explicit `pads`, but not the
    extra end padding that `ceil_mode` reads (as ONNX Runtime does).
    """

    name = "graph.average_pool"
    count_include_pad = prop_def(IntegerAttr, default_value=i64_attr(0))

    def __init__(
        self,
        input: SSAValue,
        kernel_shape: Sequence[int],
        *,
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        ceil_mode: int = 0,
        count_include_pad: int = 0,
    ):
        super().__init__(
            input,
            kernel_shape,
            strides=strides,
            pads=pads,
            dilations=dilations,
            ceil_mode=ceil_mode,
            extra={"count_include_pad": i64_attr(count_include_pad)},
        )

    def infer_shape(self) -> tuple[int, ...]:
        if self.count_include_pad.value.data not in (0, 1):
            raise VerifyException(f"'{self.name}' op count_include_pad must be 0 or 1")
        return super().infer_shape()


class _GlobalPoolOp(GraphOp):
    """Base of global pools: [N, C, D1..Dk] -> [N, C, 1, ..., 1]."""

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue):
        shape = input.type.get_shape()
        out = [*shape[:2], *([1] * (len(shape) - 2))]
        super().__init__(operands=[input], result_types=[TensorType(input.type.element_type, out)])

    def infer_shape(self) -> tuple[int, ...]:
        x = static_shape(self, "input", self.input.type)
        if len(x) < 3:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 3 ([N, C, D1, ...]), got shape {list(x)}"
            )
        return (*x[:2], *([1] * (len(x) - 2)))


@irdl_op_definition
class GlobalAveragePoolOp(_GlobalPoolOp):
    """The mean over all spatial positions of each channel (ONNX GlobalAveragePool)."""

    name = "graph.global_average_pool"


@irdl_op_definition
class GlobalMaxPoolOp(_GlobalPoolOp):
    """The maximum over all spatial positions of each channel (ONNX GlobalMaxPool)."""

    name = "graph.global_max_pool"


@irdl_op_definition
class BatchNormOp(GraphOp):
    """Inference-mode batch normalization (ONNX BatchNormalization, the `Y` output):

        y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + bias[c]

    over an [N, C, D1..Dk] input (k >= 0); `scale`, `bias`, `mean` and `var` have shape
    [C]. `epsilon` is an f32 (default 1e-5). The result has the input's type.
    """

    name = "graph.batch_norm"
    input = operand_def(AnyTensor)
    scale = operand_def(AnyTensor)
    bias = operand_def(AnyTensor)
    mean = operand_def(AnyTensor)
    var = operand_def(AnyTensor)
    epsilon = prop_def(FloatAttr, default_value=f32_attr(1e-5))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        scale: SSAValue,
        bias: SSAValue,
        mean: SSAValue,
        var: SSAValue,
        epsilon: float = 1e-5,
    ):
        super().__init__(
            operands=[input, scale, bias, mean, var],
            result_types=[input.type],
            properties={"epsilon": f32_attr(epsilon)},
        )

    def infer_shape(self) -> tuple[int, ...]:
        x = static_shape(self, "input", self.input.type)
        if len(x) < 2:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 2 ([N, C, ...]), got shape {list(x)}"
            )
        for what in ("scale", "bias", "mean", "var"):
            s = static_shape(self, what, getattr(self, what).type)
            if s != (x[1],):
                raise VerifyException(
                    f"'{self.name}' op {what} of shape {list(s)} must have shape [{x[1]}] "
                    "(one per channel)"
                )
        return x


@irdl_op_definition
class LRNOp(GraphOp):
    """Local response normalization across channels (ONNX LRN):

        y[n, c, ...] = x[n, c, ...] / (bias + alpha / size * square_sum[n, c, ...]) ** beta

    where `square_sum` sums `x[n, i, ...] ** 2` over channels `i` from
    `c - floor((size - 1) / 2)` to `c + ceil((size - 1) / 2)`, clipped to [0, C).
    `size` is a positive i64; alpha (1e-4), beta (0.75) and bias (1.0) are f32.
    The input is [N, C, D1..Dk] (k >= 0); the result has its type.
    """

    name = "graph.lrn"
    input = operand_def(AnyTensor)
    size = prop_def(IntegerAttr)
    alpha = prop_def(FloatAttr, default_value=f32_attr(1e-4))
    beta = prop_def(FloatAttr, default_value=f32_attr(0.75))
    bias = prop_def(FloatAttr, default_value=f32_attr(1.0))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        size: int,
        *,
        alpha: float = 1e-4,
        beta: float = 0.75,
        bias: float = 1.0,
    ):
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={
                "size": i64_attr(size),
                "alpha": f32_attr(alpha),
                "beta": f32_attr(beta),
                "bias": f32_attr(bias),
            },
        )

    def channel_window(self) -> tuple[int, int]:
        """How many channels below and above `c` the square sum reaches."""
        size = self.size.value.data
        return (size - 1) // 2, math.ceil((size - 1) / 2)

    def infer_shape(self) -> tuple[int, ...]:
        x = static_shape(self, "input", self.input.type)
        if len(x) < 2:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= 2 ([N, C, ...]), got shape {list(x)}"
            )
        if self.size.value.data < 1:
            raise VerifyException(
                f"'{self.name}' op size must be positive, got {self.size.value.data}"
            )
        return x


OPS: list[type[Operation]] = [
    ConvOp,
    MaxPoolOp,
    AveragePoolOp,
    GlobalAveragePoolOp,
    GlobalMaxPoolOp,
    BatchNormOp,
    LRNOp,
]
"""The ops of this family, in the order the dialect lists them."""
