"""The graph dialect's data-movement ops: slice, concat, expand and where.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`.

The ONNX shape operators map onto few graph ops, because every shape is static:

- Reshape, Flatten, Squeeze and Unsqueeze keep the row-major order of the elements: they
  all become `graph.reshape` (dialects/graph/core.py), the target shape resolved at import;
- Transpose is `graph.transpose`; Identity, Dropout (inference) and a float32-to-float32
  Cast are no ops at all;
- Slice is `graph.slice` (static starts and steps, one per dimension); Split is one
  `graph.slice` per output;
- Gather with indices known at import is `graph.slice` (indices in arithmetic
  progression) or a `graph.concat` of size-1 slices, then a `graph.reshape`, whose
  lowerings keep affine indexing maps; with indices computed at run time it is
  `graph.gather` (gather.py);
- Shape, Size, ConstantOfShape and integer shape arithmetic are evaluated by the importer.

    %s = "graph.slice"(%x) <{starts = array<i64: 0, 7>, steps = array<i64: 1, -2>}>
        : (tensor<2x8xf32>) -> tensor<2x4xf32>
    %c = "graph.concat"(%x, %s) <{axis = 1 : i64}>
        : (tensor<2x8xf32>, tensor<2x4xf32>) -> tensor<2x12xf32>

Source: the ONNX operator specifications (Slice, Split, Concat, Gather, Expand, Where),
https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, IntegerType, TensorType, i1
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .base import AnyTensor, GraphOp, broadcast_shapes, i64_array, static_shape


@irdl_op_definition
class SliceOp(GraphOp):
    """Elements at regular strides: `result[i_0, ..., i_r-1] = input[starts[k] + i_k *
    steps[k], ...]` (ONNX Slice with static, normalized starts and steps).

    `starts` and `steps` are `array<i64: ...>` with one entry per dimension; steps are
    nonzero and may be negative (walking backwards from `starts`). The result type gives
    the number of elements taken along each dimension; every index read must lie inside
    the input. The importer resolves ONNX's ends, axes, negative and out-of-range values
    into this form.
    """

    name = "graph.slice"
    input = operand_def(AnyTensor)
    starts = prop_def(DenseArrayBase)
    steps = prop_def(DenseArrayBase)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        starts: Sequence[int],
        steps: Sequence[int],
        sizes: Sequence[int],
    ):
        super().__init__(
            operands=[input],
            result_types=[TensorType(input.type.element_type, list(sizes))],
            properties={"starts": i64_array(starts), "steps": i64_array(steps)},
        )

    @property
    def start_values(self) -> tuple[int, ...]:
        return tuple(self.starts.get_values())

    @property
    def step_values(self) -> tuple[int, ...]:
        return tuple(self.steps.get_values())

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "input", self.input.type)
        dst = static_shape(self, "result", self.result.type)
        starts, steps = self.start_values, self.step_values
        for what, values in (("starts", starts), ("steps", steps)):
            if len(values) != len(src):
                raise VerifyException(
                    f"'{self.name}' op {what} has {len(values)} entries, expected one per "
                    f"dimension of the input ({len(src)})"
                )
        if len(dst) != len(src):
            raise VerifyException(
                f"'{self.name}' op result rank {len(dst)} differs from the input rank {len(src)}"
            )
        for d, (n, start, step, size) in enumerate(zip(src, starts, steps, dst)):
            if step == 0:
                raise VerifyException(f"'{self.name}' op step of dimension {d} is 0")
            last = start + (size - 1) * step
            if size and not (0 <= start < n and 0 <= last < n):
                raise VerifyException(
                    f"'{self.name}' op dimension {d} reads indices {start} to {last} (step "
                    f"{step}), out of bounds of size {n}"
                )
        return dst


@irdl_op_definition
class ConcatOp(GraphOp):
    """The inputs joined along `axis` (ONNX Concat).

    All inputs have the same rank and the same sizes except along `axis` (an i64 in
    [-rank, rank)); the result's size there is the sum of theirs.
    """

    name = "graph.concat"
    inputs = var_operand_def(AnyTensor)
    axis = prop_def(IntegerAttr)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        shapes = [list(v.type.get_shape()) for v in inputs]
        shape = list(shapes[0])
        a = axis % len(shape)
        shape[a] = sum(s[a] for s in shapes)
        super().__init__(
            operands=[list(inputs)],
            result_types=[TensorType(inputs[0].type.element_type, shape)],
            properties={"axis": IntegerAttr(axis, IntegerType(64))},
        )

    def normalized_axis(self) -> int:
        return self.axis.value.data % len(self.result.type.get_shape())

    def infer_shape(self) -> tuple[int, ...]:
        if not self.inputs:
            raise VerifyException(f"'{self.name}' op needs at least one input")
        shapes = [static_shape(self, f"input #{i}", v.type) for i, v in enumerate(self.inputs)]
        rank = len(shapes[0])
        axis = self.axis.value.data
        if not -rank <= axis < rank or rank == 0:
            raise VerifyException(f"'{self.name}' op axis {axis} is out of range for rank {rank}")
        axis %= rank
        for i, s in enumerate(shapes):
            if len(s) != rank or any(
                a != b for d, (a, b) in enumerate(zip(s, shapes[0])) if d != axis
            ):
                raise VerifyException(
                    f"'{self.name}' op input #{i} of shape {list(s)} does not match input #0 "
                    f"of shape {list(shapes[0])} outside axis {axis}"
                )
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)


@irdl_op_definition
class ExpandOp(GraphOp):
    """The input broadcast (ONNX rules) to the result type's shape (ONNX Expand, with the
    importer's broadcast of the input shape and the requested shape as result type)."""

    name = "graph.expand"
    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, shape: Sequence[int]):
        super().__init__(
            operands=[input], result_types=[TensorType(input.type.element_type, list(shape))]
        )

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "input", self.input.type)
        dst = static_shape(self, "result", self.result.type)
        if len(src) > len(dst) or broadcast_shapes(src, dst) != dst:
            raise VerifyException(
                f"'{self.name}' op input of shape {list(src)} does not broadcast to the "
                f"result shape {list(dst)}"
            )
        return dst


@irdl_op_definition
class WhereOp(GraphOp):
    """`x` where `condition` is true, else `y`, elementwise with broadcasting of all
    three (ONNX Where).

    The condition is an i1 tensor (computed at run time or a constant); `x`, `y` and the
    result share one element type (f32, i64, i32 or i1). VerifyException for another
    condition type.
    """

    name = "graph.where"
    condition = operand_def(AnyTensor)
    x = operand_def(AnyTensor)
    y = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, condition: SSAValue, x: SSAValue, y: SSAValue):
        shape = self._broadcast([tuple(v.type.get_shape()) for v in (condition, x, y)], ValueError)
        super().__init__(
            operands=[condition, x, y], result_types=[TensorType(x.type.element_type, shape)]
        )

    def _broadcast(self, shapes: list[tuple[int, ...]], error: type[Exception]):
        out: tuple[int, ...] | None = shapes[0]
        for s in shapes[1:]:
            out = broadcast_shapes(out, s) if out is not None else None
        if out is None:
            prefix = "'graph.where' op" if error is VerifyException else "graph.where:"
            listed = ", ".join(str(list(s)) for s in shapes)
            raise error(f"{prefix} operand shapes {listed} do not broadcast")
        return out

    def same_type_operands(self) -> Sequence[SSAValue]:
        return (self.x, self.y)

    def infer_shape(self) -> tuple[int, ...]:
        shapes = [
            static_shape(self, what, v.type)
            for what, v in (("condition", self.condition), ("x", self.x), ("y", self.y))
        ]
        if self.condition.type.element_type != i1:
            raise VerifyException(
                f"'{self.name}' op condition has element type "
                f"{self.condition.type.element_type}, expected i1"
            )
        return self._broadcast(shapes, VerifyException)


OPS: list[type[Operation]] = [SliceOp, ConcatOp, ExpandOp, WhereOp]
"""The ops of this family, in the order the dialect lists them."""
