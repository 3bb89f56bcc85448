"""ONNX import of the shape and data-movement operators (dialects/graph/shape.py).

Each converter is registered for the default domain with `converter` or
`register_converter` (base.py, whose docstring describes the signature
`fn(importer, operands, attrs, label)`).

Every shape is static, so shape arguments (Reshape's shape, Slice's starts/ends/axes/
steps, Split's sizes, Squeeze/Unsqueeze's axes, Expand's shape) must be known at import:
given as initializers or constants, or computed from them (Shape, Gather, Concat, ... are
evaluated by the importer). Both attribute forms (opsets before 10 or 13) and input forms
are read. A node whose data input is known too is evaluated by the importer and never
reaches these functions.

- Reshape (0 copies the input dimension unless allowzero = 1; -1 is inferred), Flatten,
  Squeeze and Unsqueeze become `graph.reshape`; Transpose `graph.transpose` (default perm:
  the dimensions reversed); Identity nothing.
- Slice becomes `graph.slice` with normalized starts and steps (ONNX's clamping rules);
  Split one `graph.slice` per output (sizes from the attribute, the input, or equal parts,
  `num_outputs` in opset 18).
- Concat `graph.concat`; Expand `graph.expand`. (Where, Cast and CastLike are in logic.py.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from xdsl.ir import SSAValue

from ...dialects import graph
from ...dialects.graph import shape as graph_shape
from .base import Importer, ONNXImportError, converter, register_converter


def _shape(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape())


def _known_ints(imp: Importer, value: SSAValue | None, what: str, label: str) -> list[int] | None:
    """The integers of a known input (None if the input is omitted)."""
    if value is None:
        return None
    array = imp.constant_value(value)
    if array is None:
        raise ONNXImportError(
            f"{label}: {what} is computed at run time; irforge needs it known at import "
            "(static shapes)"
        )
    return [int(v) for v in np.asarray(array).reshape(-1)]


def _ints_arg(
    imp: Importer, ops: list, index: int, attrs: dict, name: str, label: str
) -> list[int] | None:
    """An integer list given as input `index` (newer opsets) or attribute `name` (older)."""
    value = ops[index] if len(ops) > index else None
    if value is not None:
        return _known_ints(imp, value, f"the {name} input", label)
    if name in attrs:
        return [int(v) for v in attrs[name]]
    return None


def _axis(axis: int, rank: int, label: str, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: {what} {axis} is out of range for rank {rank}")
    return axis % rank


def _reshape_to(imp: Importer, x: SSAValue, shape: Sequence[int], label: str) -> SSAValue:
    if tuple(shape) == _shape(x):
        return x
    return imp.emit(graph.ReshapeOp(x, list(shape)), label)


@converter("Reshape")
def _reshape(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    target = _known_ints(imp, ops[1], "the shape input", label)
    src = _shape(x)
    allowzero = int(attrs.get("allowzero", 0))
    out: list[int] = []
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(src):
                raise ONNXImportError(
                    f"{label}: shape entry {i} is 0 but the input has rank {len(src)}"
                )
            d = src[i]
        out.append(d)
    if out.count(-1) > 1:
        raise ONNXImportError(f"{label}: the shape {target} has more than one -1")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        total = math.prod(src)
        if known == 0 or total % known:
            raise ONNXImportError(
                f"{label}: cannot infer the -1 of shape {target} for input {list(src)}"
            )
        out[out.index(-1)] = total // known
    if any(d < 0 for d in out) or math.prod(out) != math.prod(src):
        raise ONNXImportError(f"{label}: cannot reshape {list(src)} to {target}")
    return _reshape_to(imp, x, out, label)


@converter("Flatten")
def _flatten(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    src = _shape(x)
    axis = int(attrs.get("axis", 1))
    if not -len(src) <= axis <= len(src):
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {len(src)}")
    if axis < 0:
        axis += len(src)
    return _reshape_to(imp, x, [math.prod(src[:axis]), math.prod(src[axis:])], label)


@converter("Squeeze")
def _squeeze(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    src = _shape(x)
    axes = _ints_arg(imp, ops, 1, attrs, "axes", label)
    if axes is None:
        drop = {d for d, n in enumerate(src) if n == 1}
    else:
        drop = {_axis(a, len(src), label) for a in axes}
        bad = [d for d in sorted(drop) if src[d] != 1]
        if bad:
            raise ONNXImportError(
                f"{label}: cannot squeeze dimension {bad[0]} of size {src[bad[0]]}"
            )
    return _reshape_to(imp, x, [n for d, n in enumerate(src) if d not in drop], label)


@converter("Unsqueeze")
def _unsqueeze(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    src = _shape(x)
    axes = _ints_arg(imp, ops, 1, attrs, "axes", label)
    if axes is None:
        raise ONNXImportError(f"{label}: Unsqueeze needs axes")
    rank = len(src) + len(axes)
    new = {_axis(a, rank, label) for a in axes}
    if len(new) != len(axes):
        raise ONNXImportError(f"{label}: axes {axes} repeat a dimension")
    it = iter(src)
    return _reshape_to(imp, x, [1 if d in new else next(it) for d in range(rank)], label)


@converter("Transpose")
def _transpose(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    rank = len(_shape(x))
    perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
    if sorted(perm) != list(range(rank)):
        raise ONNXImportError(f"{label}: perm {perm} is not a permutation of {rank} dimensions")
    if perm == list(range(rank)):
        return x
    return imp.emit(graph.TransposeOp(x, perm), label)


@converter("Concat")
def _concat(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    inputs = [v for v in ops if v is not None]
    if "axis" not in attrs:
        raise ONNXImportError(f"{label}: the axis attribute is required")
    rank = len(_shape(inputs[0]))
    axis = _axis(int(attrs["axis"]), rank, label)
    if len(inputs) == 1:
        return inputs[0]
    return imp.emit(graph_shape.ConcatOp(inputs, axis), label)


def normalize_slice(n: int, start: int, end: int, step: int) -> tuple[int, int]:
    """ONNX Slice's clamping of (start, end) on a dimension of size `n`: the first index
    read and the number of elements. Raises ValueError for step 0."""
    if step == 0:
        raise ValueError("slice step cannot be 0")
    if start < 0:
        start += n
    if end < 0:
        end += n
    if step > 0:
        start, end = min(max(start, 0), n), min(max(end, 0), n)
        size = max(0, -(-(end - start) // step))
    else:
        start, end = min(max(start, -1), n - 1), min(max(end, -1), n - 1)
        size = max(0, -(-(start - end) // -step))
    return (start if size else 0), size


@converter("Slice")
def _slice(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    src = _shape(x)
    if imp.opset < 10:
        starts, ends = attrs.get("starts"), attrs.get("ends")
        axes, steps = attrs.get("axes"), None
        starts = [int(v) for v in starts] if starts is not None else None
        ends = [int(v) for v in ends] if ends is not None else None
        axes = [int(v) for v in axes] if axes is not None else None
    else:
        starts = _known_ints(imp, ops[1] if len(ops) > 1 else None, "the starts input", label)
        ends = _known_ints(imp, ops[2] if len(ops) > 2 else None, "the ends input", label)
        axes = _known_ints(imp, ops[3] if len(ops) > 3 else None, "the axes input", label)
        steps = _known_ints(imp, ops[4] if len(ops) > 4 else None, "the steps input", label)
    if starts is None or ends is None:
        raise ONNXImportError(f"{label}: Slice needs starts and ends")
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ONNXImportError(f"{label}: starts, ends, axes and steps differ in length")
    first, step_of, size = [0] * len(src), [1] * len(src), list(src)
    seen = set()
    for s, e, a, st in zip(starts, ends, axes, steps):
        d = _axis(a, len(src), label)
        if d in seen:
            raise ONNXImportError(f"{label}: axis {a} is sliced twice")
        seen.add(d)
        if st == 0:
            raise ONNXImportError(f"{label}: a slice step is 0")
        first[d], size[d] = normalize_slice(src[d], s, e, st)
        step_of[d] = st
    if all(f == 0 and st == 1 and n == m for f, st, n, m in zip(first, step_of, size, src)):
        return x
    return imp.emit(graph_shape.SliceOp(x, first, step_of, size), label)


@converter("Split")
def _split(imp: Importer, ops: list, attrs: dict, label: str) -> tuple[SSAValue, ...]:
    x = ops[0]
    src = _shape(x)
    axis = _axis(int(attrs.get("axis", 0)), len(src), label)
    n = src[axis]
    outputs = len(imp.node.output) if imp.node is not None else None
    sizes = _ints_arg(imp, ops, 1, attrs, "split", label)
    if sizes is None:
        parts = int(attrs.get("num_outputs", 0)) or outputs
        if not parts:
            raise ONNXImportError(f"{label}: cannot tell how many parts to split into")
        chunk = -(-n // parts)
        sizes = [min(chunk, max(n - k * chunk, 0)) for k in range(parts)]
        if imp.opset < 18 and n % parts:
            raise ONNXImportError(
                f"{label}: dimension {axis} of size {n} does not split in {parts} parts"
            )
    if outputs is not None and len(sizes) != outputs:
        raise ONNXImportError(f"{label}: {len(sizes)} split sizes {sizes} for {outputs} outputs")
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise ONNXImportError(
            f"{label}: split sizes {sizes} do not add up to dimension {axis} ({n})"
        )
    results = []
    offset = 0
    for s in sizes:
        starts = [offset if d == axis else 0 for d in range(len(src))]
        shape = [s if d == axis else m for d, m in enumerate(src)]
        if shape == list(src):
            results.append(x)
        else:
            results.append(imp.emit(graph_shape.SliceOp(x, starts, [1] * len(src), shape), label))
        offset += s
    return tuple(results)


@converter("Expand")
def _expand(imp: Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    target = _known_ints(imp, ops[1], "the shape input", label)
    shape = graph.broadcast_shapes(_shape(x), target)
    if shape is None:
        raise ONNXImportError(f"{label}: shape {list(_shape(x))} does not broadcast with {target}")
    if shape == _shape(x):
        return x
    return imp.emit(graph_shape.ExpandOp(x, shape), label)


def _known_only(what: str) -> Callable:
    def build(imp: Importer, ops: list, attrs: dict, label: str):
        raise ONNXImportError(f"{label}: {what} must be known at import")

    return build


register_converter("ConstantOfShape", _known_only("the shape input of ConstantOfShape"))
register_converter("Shape", _known_only("Shape's input"))
register_converter("Size", _known_only("Size's input"))
