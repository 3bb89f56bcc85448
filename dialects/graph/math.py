"""The graph dialect's elementwise math and reductions (Div, Pow, Exp, Clip, ReduceMean, ...).

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`. Three families, each a base class:

- binary ops with ONNX broadcasting (`ElementwiseBinaryOp` of base.py): div, pow, max, min;
- unary ops (`UnaryMathOp`): the result has the operand's type; scalar parameters (alpha,
  the bounds of clip, ...) are f32 properties with ONNX's defaults:

      %y = "graph.leaky_relu"(%x) <{alpha = 0.1 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>

- reductions (`ReduceOp`) over `axes` (`array<i64: ...>`, each in [-rank, rank), no
  repeats; an empty list reduces nothing) that keep the reduced dimensions as size 1 when
  `keepdims` is 1 (the default) and drop them when it is 0:

      %s = "graph.reduce_sum"(%x) <{axes = array<i64: 1>, keepdims = 0 : i64}>
          : (tensor<2x3x4xf32>) -> tensor<2x4xf32>

  ONNX's "no axes means all axes" and `noop_with_empty_axes` are resolved by the importer.

`graph.layer_norm` (ONNX LayerNormalization) normalizes over the trailing dimensions from
`axis` on; it has the first output only.

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Commutative, Pure
from xdsl.utils.exceptions import VerifyException

from .base import (
    AnyTensor,
    ElementwiseBinaryOp,
    ElementwiseUnaryOp,
    GraphOp,
    broadcast_shapes,
    f32_attr,
    i64_attr,
    static_shape,
)

# ------------------------------------------------------------------------- binary ops


@irdl_op_definition
class DivOp(ElementwiseBinaryOp):
    """Elementwise `lhs / rhs` with broadcasting (ONNX Div); IEEE at zero divisors."""

    name = "graph.div"


@irdl_op_definition
class PowOp(ElementwiseBinaryOp):
    """Elementwise `lhs ** rhs` with broadcasting (ONNX Pow, C's powf semantics)."""

    name = "graph.pow"


@irdl_op_definition
class MaxOp(ElementwiseBinaryOp):
    """Elementwise maximum with broadcasting (ONNX Max of two inputs); NaN propagates."""

    name = "graph.max"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class MinOp(ElementwiseBinaryOp):
    """Elementwise minimum with broadcasting (ONNX Min of two inputs); NaN propagates."""

    name = "graph.min"
    traits = traits_def(Pure(), Commutative())


# -------------------------------------------------------------------------- unary ops


class UnaryMathOp(ElementwiseUnaryOp):
    """Base of unary elementwise math ops: the result has the operand's type.

    Subclasses declare their parameters as properties (f32 `FloatAttr`s, or a `StringAttr`
    for a mode) with ONNX's defaults; `__init__` takes them as keywords with Python
    values, and `param(name)` reads one back as a Python float or str (None if an
    optional one is absent).
    """

    def __init__(self, input: SSAValue, **params: float | str | None):
        props: dict[str, Attribute] = {}
        for key, value in params.items():
            if value is not None:
                props[key] = StringAttr(value) if isinstance(value, str) else f32_attr(value)
        IRDLOperation.__init__(self, operands=[input], result_types=[input.type], properties=props)

    def param(self, name: str) -> float | str | None:
        attr = getattr(self, name)  # a declared default when the property is absent
        if attr is None:
            return None
        return attr.data if isinstance(attr, StringAttr) else attr.value.data


@irdl_op_definition
class SqrtOp(UnaryMathOp):
    """Elementwise square root (ONNX Sqrt); NaN for negative inputs."""

    name = "graph.sqrt"


@irdl_op_definition
class ExpOp(UnaryMathOp):
    """Elementwise `e ** x` (ONNX Exp)."""

    name = "graph.exp"


@irdl_op_definition
class LogOp(UnaryMathOp):
    """Elementwise natural logarithm (ONNX Log); -inf at 0, NaN below."""

    name = "graph.log"


@irdl_op_definition
class AbsOp(UnaryMathOp):
    """Elementwise absolute value (ONNX Abs)."""

    name = "graph.abs"


@irdl_op_definition
class NegOp(UnaryMathOp):
    """Elementwise `-x` (ONNX Neg)."""

    name = "graph.neg"


@irdl_op_definition
class ReciprocalOp(UnaryMathOp):
    """Elementwise `1 / x` (ONNX Reciprocal)."""

    name = "graph.reciprocal"


@irdl_op_definition
class TanhOp(UnaryMathOp):
    """Elementwise hyperbolic tangent (ONNX Tanh)."""

    name = "graph.tanh"


@irdl_op_definition
class ErfOp(UnaryMathOp):
    """Elementwise Gauss error function (ONNX Erf)."""

    name = "graph.erf"


@irdl_op_definition
class SigmoidOp(UnaryMathOp):
    """Elementwise logistic function `1 / (1 + exp(-x))` (ONNX Sigmoid)."""

    name = "graph.sigmoid"


@irdl_op_definition
class SoftplusOp(UnaryMathOp):
    """Elementwise `log(1 + exp(x))` (ONNX Softplus)."""

    name = "graph.softplus"


@irdl_op_definition
class GeluOp(UnaryMathOp):
    """Gaussian error linear unit (ONNX Gelu, opset 20).

    `approximate = "none"` (default): `0.5 * x * (1 + erf(x / sqrt(2)))`;
    `"tanh"`: `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3)))`.
    """

    name = "graph.gelu"
    approximate = prop_def(StringAttr, default_value=StringAttr("none"))
    MODES: ClassVar[tuple[str, ...]] = ("none", "tanh")

    def verify_(self) -> None:
        if self.approximate.data not in self.MODES:
            raise VerifyException(
                f'\'{self.name}\' op approximate must be "none" or "tanh", got '
                f'"{self.approximate.data}"'
            )
        super().verify_()


@irdl_op_definition
class LeakyReluOp(UnaryMathOp):
    """Elementwise `x if x >= 0 else alpha * x` (ONNX LeakyRelu; alpha defaults to 0.01)."""

    name = "graph.leaky_relu"
    alpha = prop_def(FloatAttr, default_value=f32_attr(0.01))


@irdl_op_definition
class EluOp(UnaryMathOp):
    """Elementwise `x if x >= 0 else alpha * (exp(x) - 1)` (ONNX Elu; alpha defaults to 1)."""

    name = "graph.elu"
    alpha = prop_def(FloatAttr, default_value=f32_attr(1.0))


@irdl_op_definition
class HardSigmoidOp(UnaryMathOp):
    """Elementwise `max(0, min(1, alpha * x + beta))` (ONNX HardSigmoid; alpha 0.2, beta 0.5)."""

    name = "graph.hard_sigmoid"
    alpha = prop_def(FloatAttr, default_value=f32_attr(0.2))
    beta = prop_def(FloatAttr, default_value=f32_attr(0.5))


@irdl_op_definition
class ClipOp(UnaryMathOp):
    """Elementwise `min(max(x, min), max)` (ONNX Clip); an absent bound does not clip.

    `min` and `max` are optional f32 properties (the importer reads ONNX's optional
    constant inputs, opset 11 and later, into them). When min > max every element becomes
    max, as the ONNX spec says.
    """

    name = "graph.clip"
    min = opt_prop_def(FloatAttr)
    max = opt_prop_def(FloatAttr)


# ------------------------------------------------------------------------- reductions


class ReduceOp(GraphOp):
    """Base of reductions over `axes` (ONNX Reduce*): see the module docstring.

    Result shape: the input's, with each reduced dimension set to 1 (`keepdims = 1`) or
    removed (`keepdims = 0`).
    """

    input = operand_def(AnyTensor)
    axes = prop_def(DenseArrayBase)
    keepdims = prop_def(IntegerAttr, default_value=i64_attr(1))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, axes: Sequence[int], keepdims: bool = True):
        shape = input.type.get_shape()
        rank = len(shape)
        reduced = {a % rank for a in axes} if rank else set()
        out = [
            1 if d in reduced else s for d, s in enumerate(shape) if keepdims or d not in reduced
        ]
        super().__init__(
            operands=[input],
            result_types=[TensorType(input.type.element_type, out)],
            properties={
                "axes": DenseArrayBase.from_list(IntegerType(64), [int(a) for a in axes]),
                "keepdims": i64_attr(1 if keepdims else 0),
            },
        )

    @property
    def keeps_dims(self) -> bool:
        return bool(self.keepdims.value.data)

    def normalized_axes(self) -> tuple[int, ...]:
        """The reduced dimensions, in [0, rank), sorted."""
        rank = len(self.input.type.get_shape())
        return tuple(sorted(a % rank for a in self.axes.get_values()))

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        rank = len(shape)
        axes = tuple(self.axes.get_values())
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise VerifyException(
                f"'{self.name}' op axes {list(axes)} are out of range for rank {rank}"
            )
        if len({a % rank for a in axes}) != len(axes):
            raise VerifyException(f"'{self.name}' op axes {list(axes)} repeat a dimension")
        if self.keepdims.value.data not in (0, 1):
            raise VerifyException(f"'{self.name}' op keepdims must be 0 or 1")
        reduced = set(self.normalized_axes())
        if self.keeps_dims:
            return tuple(1 if d in reduced else s for d, s in enumerate(shape))
        return tuple(s for d, s in enumerate(shape) if d not in reduced)


@irdl_op_definition
class ReduceSumOp(ReduceOp):
    """Sum over `axes` (ONNX ReduceSum); 0 for an empty set."""

    name = "graph.reduce_sum"


@irdl_op_definition
class ReduceMeanOp(ReduceOp):
    """Arithmetic mean over `axes` (ONNX ReduceMean): the sum divided by the element count."""

    name = "graph.reduce_mean"


@irdl_op_definition
class ReduceMaxOp(ReduceOp):
    """Maximum over `axes` (ONNX ReduceMax); -inf for an empty set, NaN propagates."""

    name = "graph.reduce_max"


@irdl_op_definition
class ReduceMinOp(ReduceOp):
    """Minimum over `axes` (ONNX ReduceMin); +inf for an empty set, NaN propagates."""

    name = "graph.reduce_min"


@irdl_op_definition
class ReduceProdOp(ReduceOp):
    """Product over `axes` (ONNX ReduceProd); 1 for an empty set."""

    name = "graph.reduce_prod"


# ------------------------------------------------------------------ layer normalization


@irdl_op_definition
class LayerNormOp(GraphOp):
    """`(x - mean) / sqrt(var + epsilon) * scale + bias` over the dimensions from `axis` on
    (ONNX LayerNormalization, opset 17, output Y only).

    mean and var (the biased variance) are taken over dimensions axis..rank-1 of `x`;
    `scale` and the optional `bias` broadcast to `x`'s shape (normally they have the shape
    of the normalized dimensions). `axis` is an i64 in [-rank, rank) (default -1),
    `epsilon` an f32 (default 1e-5). The result has `x`'s type.
    """

    name = "graph.layer_norm"
    input = operand_def(AnyTensor)
    scale = operand_def(AnyTensor)
    bias = opt_operand_def(AnyTensor)
    axis = prop_def(IntegerAttr, default_value=i64_attr(-1))
    epsilon = prop_def(FloatAttr, default_value=f32_attr(1e-5))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue,
        scale: SSAValue,
        bias: SSAValue | None = None,
        *,
        axis: int = -1,
        epsilon: float = 1e-5,
    ):
        super().__init__(
            operands=[input, scale, [bias] if bias is not None else []],
            result_types=[input.type],
            properties={"axis": i64_attr(axis), "epsilon": f32_attr(epsilon)},
        )

    def normalized_axis(self) -> int:
        return self.axis.value.data % len(self.input.type.get_shape())

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        axis = self.axis.value.data
        if not -len(shape) <= axis < len(shape):
            raise VerifyException(
                f"'{self.name}' op axis {axis} is out of range for rank {len(shape)}"
            )
        for what, v in (("scale", self.scale), ("bias", self.bias)):
            if v is None:
                continue
            s = static_shape(self, what, v.type)
            if len(s) > len(shape) or broadcast_shapes(s, shape) != shape:
                raise VerifyException(
                    f"'{self.name}' op {what} of shape {list(s)} does not broadcast to the "
                    f"input shape {list(shape)}"
                )
        return shape


OPS: list[type[Operation]] = [
    DivOp,
    PowOp,
    MaxOp,
    MinOp,
    SqrtOp,
    ExpOp,
    LogOp,
    AbsOp,
    NegOp,
    ReciprocalOp,
    TanhOp,
    ErfOp,
    SigmoidOp,
    SoftplusOp,
    GeluOp,
    LeakyReluOp,
    EluOp,
    HardSigmoidOp,
    ClipOp,
    ReduceSumOp,
    ReduceMeanOp,
    ReduceMaxOp,
    ReduceMinOp,
    ReduceProdOp,
    LayerNormOp,
]
"""The ops of this family, in the order the dialect lists them."""
