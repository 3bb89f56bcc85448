"""ONNX import of the gathers: Gather, GatherElements, GatherND (dialects/graph/gather.py).

Each converter is registered for the default domain with `converter` (base.py, whose
docstring describes the signature `fn(importer, operands, attrs, label)`). A node whose
inputs are all known is evaluated by the importer and never reaches these functions.

- Gather with indices known at import (the shape arithmetic and `x[:, 0]` of exported
  models): one `graph.slice` for each run of indices in arithmetic progression, a
  `graph.concat` of the runs, then a `graph.reshape` to the ONNX shape; no op then reads
  through an index tensor, so the lowering keeps affine maps. An index out of range is an
  import error.
- Gather with indices computed at run time (an embedding lookup of int64 `input_ids`):
  `graph.gather`.
- GatherElements: `graph.gather_elements`; GatherND: `graph.gather_nd` (`batch_dims`).

Runtime indices are int64 or int32; negative ones count from the end. One out of range
is clamped into the dimension at run time (dialects/graph/gather.py): ONNX Runtime
reports an error instead, and compiled code must never read out of bounds.

Source: the ONNX operator specifications (Gather, GatherElements, GatherND),
https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.ir import SSAValue

from ...dialects import graph
from ...dialects.graph import gather as graph_gather
from ...dialects.graph import shape as graph_shape
from .base import Importer, ONNXImportError, converter


def _shape(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape())


def _axis(attrs: dict, data: SSAValue, label: str) -> int:
    """The `axis` attribute (default 0) in [0, rank of data)."""
    rank = len(_shape(data))
    axis = int(attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    return axis % rank


def _not_empty(shape: Sequence[int], label: str) -> None:
    if 0 in shape:
        raise ONNXImportError(f"{label}: the result is empty; irforge does not build empty tensors")


def runs(indices: Sequence[int]) -> list[tuple[int, int, int]]:
    """(start, step, count) of the maximal runs of `indices` in arithmetic progression,
    in order: `runs([0, 2, 4, 1, 1])` is `[(0, 2, 3), (1, 1, 1), (1, 1, 1)]`."""
    out = []
    i = 0
    while i < len(indices):
        start = indices[i]
        if i + 1 == len(indices) or indices[i + 1] == start:
            out.append((start, 1, 1))
            i += 1
            continue
        step = indices[i + 1] - start
        j = i + 1
        while j + 1 < len(indices) and indices[j + 1] - indices[j] == step:
            j += 1
        out.append((start, step, j - i + 1))
        i = j + 1
    return out


def _gather_known(
    imp: Importer, x: SSAValue, axis: int, indices: np.ndarray, label: str
) -> SSAValue:
    """Gather with indices known at import: slices of the runs, joined, reshaped."""
    src = _shape(x)
    n = src[axis]
    flat = [int(i) for i in np.asarray(indices).reshape(-1)]
    if any(not -n <= i < n for i in flat):
        raise ONNXImportError(f"{label}: an index of {flat} is out of range for size {n}")
    flat = [i % n for i in flat]
    out_shape = [*src[:axis], *np.shape(indices), *src[axis + 1 :]]
    _not_empty(out_shape, label)
    parts = []
    for start, step, count in runs(flat):
        shape = [count if d == axis else m for d, m in enumerate(src)]
        starts = [start if d == axis else 0 for d in range(len(src))]
        steps = [step if d == axis else 1 for d in range(len(src))]
        if shape == list(src) and step == 1:
            parts.append(x)
        else:
            parts.append(imp.emit(graph_shape.SliceOp(x, starts, steps, shape), label))
    joined = parts[0] if len(parts) == 1 else imp.emit(graph_shape.ConcatOp(parts, axis), label)
    if tuple(out_shape) == _shape(joined):
        return joined
    return imp.emit(graph.ReshapeOp(joined, out_shape), label)


@converter("Gather")
def _gather(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x, idx = ops
    axis = _axis(attrs, x, label)
    indices = imp.constant_value(idx)
    if indices is not None:
        return _gather_known(imp, x, axis, indices, label)
    op = graph_gather.GatherOp(x, idx, axis)
    _not_empty(_shape(op.result), label)
    return imp.emit(op, label)


@converter("GatherElements")
def _gather_elements(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x, idx = ops
    _not_empty(_shape(idx), label)
    if len(_shape(idx)) != len(_shape(x)):
        raise ONNXImportError(
            f"{label}: indices of shape {list(_shape(idx))} must have the rank of the data "
            f"({list(_shape(x))})"
        )
    return imp.emit(graph_gather.GatherElementsOp(x, idx, _axis(attrs, x, label)), label)


@converter("GatherND")
def _gather_nd(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x, idx = ops
    b = int(attrs.get("batch_dims", 0))
    src, shape = _shape(x), _shape(idx)
    if not shape or not 1 <= shape[-1] <= len(src) - b:
        raise ONNXImportError(
            f"{label}: indices of shape {list(shape)} must end in a dimension of 1 to "
            f"{len(src) - b} coordinates for data of shape {list(src)} and batch_dims {b}"
        )
    op = graph_gather.GatherNDOp(x, idx, b)
    _not_empty(_shape(op.result), label)
    return imp.emit(op, label)
