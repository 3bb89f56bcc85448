"""The graph dialect's comparisons, boolean logic and element type casts.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`. Booleans are `i1` tensors (NumPy
`bool`, one byte per element in memory). Element types: f32, i64, i32 and i1
(`LOGIC_TYPES`).

- comparisons with ONNX broadcasting (`CompareOp`): equal, less, less_or_equal, greater,
  greater_or_equal. Both operands have one element type of `LOGIC_TYPES`; the result is
  i1. Floats compare as IEEE (and NumPy) do: a NaN operand makes every comparison false;
  integers compare signed; on i1, false < true.

      %m = "graph.less"(%x, %t) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>

- boolean logic on i1 (`LogicalBinaryOp` with broadcasting: and, or, xor; `graph.not`);
- `graph.cast`: each element converted to the result's element type (ONNX Cast): float to
  integer truncates toward zero, saturating at the integer type's bounds, NaN gives 0
  (LLVM's `fptosi.sat`; ONNX leaves out-of-range values undefined); integer to integer
  wraps (two's complement) or sign-extends; anything to i1 is `x != 0` (NaN is true); i1
  to a number is 0 or 1.

      %i = "graph.cast"(%x) : (tensor<4xf32>) -> tensor<4xi64>

`graph.where` (dialects/graph/shape.py) takes an i1 condition.

Source: the ONNX operator specifications (Equal, Less, LessOrEqual, Greater,
GreaterOrEqual, And, Or, Xor, Not, Cast), https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from xdsl.dialects.builtin import Float32Type, IntegerType, TensorType, i1
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, traits_def
from xdsl.traits import Commutative, Pure
from xdsl.utils.exceptions import VerifyException

from .base import ElementwiseBinaryOp, ElementwiseUnaryOp

LOGIC_TYPES: tuple[Attribute, ...] = (Float32Type(), IntegerType(64), IntegerType(32), i1)
"""The element types the comparisons and casts take: f32, i64, i32 and i1."""


def _check_elem(op: Operation, what: str, elem: Attribute, allowed: tuple[Attribute, ...]):
    if elem not in allowed:
        names = ", ".join(str(t) for t in allowed)
        raise VerifyException(f"'{op.name}' op {what} has element type {elem}, expected {names}")


# ------------------------------------------------------------------------- comparisons


class CompareOp(ElementwiseBinaryOp):
    """Base of broadcasting comparisons: operands of one type of `LOGIC_TYPES`, an i1
    result of the broadcast shape (ValueError from the constructor, VerifyException from
    the verifier, if the shapes do not broadcast or a type is not allowed)."""

    def result_element_type(self, elem: Attribute) -> Attribute:
        return i1

    def verify_(self) -> None:
        _check_elem(self, "operand #0", self.lhs.type.element_type, LOGIC_TYPES)
        super().verify_()


@irdl_op_definition
class EqualOp(CompareOp):
    """Elementwise `lhs == rhs` (ONNX Equal); false where either float is NaN."""

    name = "graph.equal"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class LessOp(CompareOp):
    """Elementwise `lhs < rhs` (ONNX Less)."""

    name = "graph.less"


@irdl_op_definition
class LessOrEqualOp(CompareOp):
    """Elementwise `lhs <= rhs` (ONNX LessOrEqual)."""

    name = "graph.less_or_equal"


@irdl_op_definition
class GreaterOp(CompareOp):
    """Elementwise `lhs > rhs` (ONNX Greater)."""

    name = "graph.greater"


@irdl_op_definition
class GreaterOrEqualOp(CompareOp):
    """Elementwise `lhs >= rhs` (ONNX GreaterOrEqual)."""

    name = "graph.greater_or_equal"


# ----------------------------------------------------------------------- boolean logic


class LogicalBinaryOp(ElementwiseBinaryOp):
    """Base of broadcasting boolean ops: i1 operands, an i1 result."""

    traits = traits_def(Pure(), Commutative())

    def verify_(self) -> None:
        _check_elem(self, "operand #0", self.lhs.type.element_type, (i1,))
        super().verify_()


@irdl_op_definition
class AndOp(LogicalBinaryOp):
    """Elementwise `lhs and rhs` on i1 (ONNX And)."""

    name = "graph.and"


@irdl_op_definition
class OrOp(LogicalBinaryOp):
    """Elementwise `lhs or rhs` on i1 (ONNX Or)."""

    name = "graph.or"


@irdl_op_definition
class XorOp(LogicalBinaryOp):
    """Elementwise `lhs != rhs` on i1 (ONNX Xor)."""

    name = "graph.xor"


@irdl_op_definition
class NotOp(ElementwiseUnaryOp):
    """Elementwise `not input` on i1 (ONNX Not)."""

    name = "graph.not"

    def verify_(self) -> None:
        _check_elem(self, "input", self.input.type.element_type, (i1,))
        super().verify_()


# ------------------------------------------------------------------------------- cast


@irdl_op_definition
class CastOp(ElementwiseUnaryOp):
    """Each element converted to the result's element type (ONNX Cast; the module
    docstring gives the conversions). Input and result element types are in
    `LOGIC_TYPES`; the shape is kept."""

    name = "graph.cast"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, to: Attribute):
        IRDLOperation.__init__(
            self, operands=[input], result_types=[TensorType(to, input.type.get_shape())]
        )

    def result_element_type(self, elem: Attribute) -> Attribute:
        return self.result.type.element_type

    def verify_(self) -> None:
        _check_elem(self, "input", self.input.type.element_type, LOGIC_TYPES)
        if isinstance(self.result.type, TensorType):
            _check_elem(self, "result", self.result.type.element_type, LOGIC_TYPES)
        super().verify_()


OPS: list[type[Operation]] = [
    EqualOp,
    LessOp,
    LessOrEqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    AndOp,
    OrOp,
    XorOp,
    NotOp,
    CastOp,
]
"""The ops of this family, in the order the dialect lists them."""
