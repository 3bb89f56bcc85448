"""The graph dialect's positional ops: results that depend on where an element is, not only
on its value.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`. Input and result share one element
type: f32, i64 or i32.

- `graph.trilu` (ONNX Trilu): the upper or lower triangle of the last two dimensions, the
  other elements 0; the diagonal offset `k` is a property (the importer needs it known);
- `graph.cumsum` (ONNX CumSum): running sums along `axis`, inclusive or `exclusive`,
  forward or `reverse` (e.g. RoBERTa's position ids, the running count of unpadded tokens).

    %t = "graph.trilu"(%x) <{upper = 1 : i64, k = 0 : i64}>
        : (tensor<4x4xf32>) -> tensor<4x4xf32>
    %c = "graph.cumsum"(%m) <{axis = 1 : i64, exclusive = 0 : i64, reverse = 0 : i64}>
        : (tensor<1x16xi32>) -> tensor<1x16xi32>

Source: the ONNX operator specifications (Trilu, CumSum), https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import Float32Type, IntegerAttr, IntegerType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .base import AnyTensor, GraphOp, i64_attr, static_shape

ELEMENT_TYPES: tuple[Attribute, ...] = (Float32Type(), IntegerType(64), IntegerType(32))
"""The element types of the positional ops (f32, i64, i32)."""


class PositionalOp(GraphOp):
    """Base of the positional ops: one operand `input`, one result of its type and shape.
    The verifier checks the element type (`ELEMENT_TYPES`) and the rank the op needs
    (`MIN_RANK`), then GraphOp's checks; VerifyException naming the op otherwise."""

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())
    MIN_RANK: ClassVar[int] = 1

    def __init__(self, input: SSAValue, props: dict):
        super().__init__(operands=[input], result_types=[input.type], properties=props)

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        if len(shape) < self.MIN_RANK:
            raise VerifyException(
                f"'{self.name}' op input must have rank >= {self.MIN_RANK}, got {list(shape)}"
            )
        return shape

    def verify_(self) -> None:
        elem = getattr(self.input.type, "element_type", None)
        if elem not in ELEMENT_TYPES:
            raise VerifyException(f"'{self.name}' op element type {elem}; expected f32, i64 or i32")
        super().verify_()


@irdl_op_definition
class TriluOp(PositionalOp):
    """The upper (`upper` = 1) or lower (0) triangle of the last two dimensions of `input`
    (rank >= 2), the other elements 0 (ONNX Trilu, opset 14): with `i`, `j` the row and
    column, upper keeps `j - i >= k`, lower keeps `j - i <= k`. `k` (i64, any value) moves
    the diagonal up (k > 0) or down (k < 0)."""

    name = "graph.trilu"
    upper = prop_def(IntegerAttr)
    k = prop_def(IntegerAttr)
    MIN_RANK: ClassVar[int] = 2

    def __init__(self, input: SSAValue, upper: bool = True, k: int = 0):
        super().__init__(input, {"upper": i64_attr(int(bool(upper))), "k": i64_attr(k)})


@irdl_op_definition
class CumSumOp(PositionalOp):
    """Running sums of `input` (rank >= 1) along `axis` (ONNX CumSum, opset 14):
    `result[..., i, ...] = sum of input[..., j, ...]` over `j <= i` (`j < i` with
    `exclusive` = 1; `j >= i` / `j > i` with `reverse` = 1). `axis` is an i64 in
    [-rank, rank); VerifyException otherwise. Integer sums wrap around (two's complement)."""

    name = "graph.cumsum"
    axis = prop_def(IntegerAttr)
    exclusive = prop_def(IntegerAttr)
    reverse = prop_def(IntegerAttr)

    def __init__(self, input: SSAValue, axis: int, exclusive: bool = False, reverse: bool = False):
        props = {
            "axis": i64_attr(axis),
            "exclusive": i64_attr(int(bool(exclusive))),
            "reverse": i64_attr(int(bool(reverse))),
        }
        super().__init__(input, props)

    def normalized_axis(self) -> int:
        """`axis` in [0, rank) (VerifyException if out of range)."""
        rank = len(static_shape(self, "input", self.input.type))
        axis = self.axis.value.data
        if not -rank <= axis < rank:
            raise VerifyException(f"'{self.name}' op axis {axis} is out of range for rank {rank}")
        return axis % rank

    def infer_shape(self) -> tuple[int, ...]:
        shape = super().infer_shape()
        self.normalized_axis()
        return shape


OPS: list[type[Operation]] = [TriluOp, CumSumOp]

__all__ = ["ELEMENT_TYPES", "OPS", "CumSumOp", "PositionalOp", "TriluOp"]
