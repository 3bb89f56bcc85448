"""ONNX import of the operators of dialects/graph/nn.py.

Each converter is registered for the default domain with `converter` or
`register_converter` (base.py, whose docstring describes the signature
`fn(importer, operands, attrs, label)`).

Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization (inference
mode), LRN and Dropout (inference mode: the identity). `auto_pad` (NOTSET, VALID,
SAME_UPPER, SAME_LOWER) becomes explicit pads here: for SAME_*, the output size is
ceil(input / stride) and the total padding `(out - 1) * stride + (kernel - 1) * dilation
+ 1 - input` (at least 0) is split evenly, the odd element going to the end (SAME_UPPER)
or to the beginning (SAME_LOWER).

Declined, with an ONNXImportError naming the node: training-mode BatchNormalization and
Dropout, BatchNormalization with `spatial = 0` (opsets 7-8). Each converter returns the
node's first output only: the extra outputs (BatchNormalization's running statistics,
Dropout's mask, MaxPool's Indices) stay unbound, so a model that uses one fails to import
at that use, naming it, and a model that leaves them unused imports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.ir import SSAValue

from ...dialects.graph import nn as graph_nn
from .base import Importer, ONNXImportError, converter, register_converter

AUTO_PADS = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ints(attrs: dict, name: str, count: int, default: int, label: str) -> list[int] | None:
    """An INTS attribute with `count` entries, or None if absent."""
    if name not in attrs:
        return None
    values = [int(v) for v in attrs[name]]
    if len(values) != count:
        raise ONNXImportError(
            f"{label}: {name} has {len(values)} entries, expected {count} for "
            f"{count if name != 'pads' else count // 2} spatial dimensions"
        )
    return values


def _spatial_input(x: SSAValue, label: str) -> tuple[int, ...]:
    shape = tuple(x.type.get_shape())
    if len(shape) < 3:
        raise ONNXImportError(
            f"{label}: the input must have rank >= 3 ([N, C, D1, ...]), got shape {list(shape)}"
        )
    return shape


def resolve_pads(
    label: str,
    attrs: dict,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """Explicit ONNX pads `[begins..., ends...]` from `auto_pad` and `pads` (see the module
    docstring). Raises ONNXImportError for an unknown auto_pad or pads given with it."""
    k = len(spatial)
    auto_pad = _text(attrs.get("auto_pad", "NOTSET")) or "NOTSET"
    if auto_pad not in AUTO_PADS:
        raise ONNXImportError(
            f"{label}: auto_pad '{auto_pad}' is not one of {', '.join(AUTO_PADS)}"
        )
    pads = _ints(attrs, "pads", 2 * k, 0, label)
    if auto_pad == "NOTSET":
        return pads if pads is not None else [0] * (2 * k)
    if pads is not None and any(pads):
        raise ONNXImportError(f"{label}: pads and auto_pad = {auto_pad} cannot be used together")
    if auto_pad == "VALID":
        return [0] * (2 * k)
    begins, ends = [], []
    for n, kk, s, d in zip(spatial, kernel, strides, dilations):
        out = math.ceil(n / s)
        total = max(0, (out - 1) * s + (kk - 1) * d + 1 - n)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins + ends


@converter("Conv")
def _conv(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x, w = ops[0], ops[1]
    b = ops[2] if len(ops) > 2 else None
    shape = _spatial_input(x, label)
    wshape = tuple(w.type.get_shape())
    k = len(shape) - 2
    if len(wshape) != len(shape):
        raise ONNXImportError(
            f"{label}: weight W of shape {list(wshape)} must have the input's rank "
            f"{len(shape)} ([M, C/group, K1, ...])"
        )
    kernel = list(wshape[2:])
    given = _ints(attrs, "kernel_shape", k, 1, label)
    if given is not None and given != kernel:
        raise ONNXImportError(
            f"{label}: kernel_shape {given} differs from the spatial shape {kernel} of W"
        )
    strides = _ints(attrs, "strides", k, 1, label) or [1] * k
    dilations = _ints(attrs, "dilations", k, 1, label) or [1] * k
    pads = resolve_pads(label, attrs, shape[2:], kernel, strides, dilations)
    op = graph_nn.ConvOp(
        x,
        w,
        b,
        strides=strides,
        pads=pads,
        dilations=dilations,
        group=int(attrs.get("group", 1)),
    )
    return imp.emit(op, label)


def _pool_window(x: SSAValue, attrs: dict, label: str) -> dict:
    # The ONNX checker (run first by `import_onnx`) enforces the opset's schema: a
    # kernel_shape is present, and dilations only from the opset that has them.
    shape = _spatial_input(x, label)
    k = len(shape) - 2
    kernel = _ints(attrs, "kernel_shape", k, 1, label)
    strides = _ints(attrs, "strides", k, 1, label) or [1] * k
    dilations = _ints(attrs, "dilations", k, 1, label) or [1] * k
    pads = resolve_pads(label, attrs, shape[2:], kernel, strides, dilations)
    ceil_mode = int(attrs.get("ceil_mode", 0))
    return dict(
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        ceil_mode=ceil_mode,
    )


@converter("MaxPool")
def _max_pool(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    window = _pool_window(ops[0], attrs, label)
    return imp.emit(graph_nn.MaxPoolOp(ops[0], **window), label)


@converter("AveragePool")
def _average_pool(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    window = _pool_window(ops[0], attrs, label)
    op = graph_nn.AveragePoolOp(
        ops[0], **window, count_include_pad=int(attrs.get("count_include_pad", 0))
    )
    return imp.emit(op, label)


def _global_pool(cls: type) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        _spatial_input(ops[0], label)
        return imp.emit(cls(ops[0]), label)

    return build


@converter("BatchNormalization")
def _batch_norm(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    if int(attrs.get("training_mode", 0)):
        raise ONNXImportError(
            f"{label}: BatchNormalization with training_mode = 1 computes batch statistics; "
            "irforge imports inference mode only"
        )
    if imp.opset < 9 and int(attrs.get("spatial", 1)) == 0:
        raise ONNXImportError(
            f"{label}: BatchNormalization with spatial = 0 (per-activation statistics) is "
            "not supported"
        )
    x = ops[0]  # the checker guarantees all five inputs (X, scale, B, mean, var)
    if len(x.type.get_shape()) < 2:
        raise ONNXImportError(f"{label}: the input must have rank >= 2, got {x.type}")
    op = graph_nn.BatchNormOp(*ops, epsilon=float(attrs.get("epsilon", 1e-5)))
    return imp.emit(op, label)


@converter("LRN")
def _lrn(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    op = graph_nn.LRNOp(  # size is a required attribute: the checker guarantees it
        ops[0],
        int(attrs["size"]),
        alpha=float(attrs.get("alpha", 1e-4)),
        beta=float(attrs.get("beta", 0.75)),
        bias=float(attrs.get("bias", 1.0)),
    )
    return imp.emit(op, label)


@converter("Dropout")
def _dropout(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    """Inference-mode Dropout is the identity (ONNX Dropout: "If training_mode is false
    ... output is a copy of input")."""
    training = ops[2] if len(ops) > 2 else None
    if training is not None:
        value = imp.constant_value(training)
        if value is None or value.size != 1:
            raise ONNXImportError(
                f"{label}: Dropout's training_mode input must be a constant scalar for irforge "
                "to know it is inference mode"
            )
        if value.reshape(()).item():
            raise ONNXImportError(f"{label}: Dropout with training_mode = true is not supported")
    return ops[0]


register_converter("GlobalAveragePool", _global_pool(graph_nn.GlobalAveragePoolOp))
register_converter("GlobalMaxPool", _global_pool(graph_nn.GlobalMaxPoolOp))
