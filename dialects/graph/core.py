"""The `graph` dialect: a hardware-agnostic computation graph with value semantics.

Every op takes and returns builtin ranked tensors with static shapes (`tensor<1x64xf32>`) and
follows the semantics of the ONNX operator of the same name (https://onnx.ai/onnx/operators/):
attributes, multidirectional (NumPy-style) broadcasting, result shapes. Each op verifies its
result type against the type it infers from its operands; `infer_shape` is the single place
that shape rule lives, so builders and verifiers agree.

The dialect is the package dialects/graph/: base.py holds what the ops share (`GraphOp`,
the elementwise bases, the shape helpers, `Window`); core.py the core ops, graph.constant
to graph.reshape; math.py, nn.py, shape.py and layout.py the other families; `__init__.py`
lists them all in `Graph`. The NumPy reference semantics of every op are in
`graph_reference.py` and one `graph_<family>_reference.py` per family.
"""

# irforge.docgen opens docs/dialects/graph.md with the docstring of the module of the
# dialect's first op, graph.constant: this one, hence its dialect-wide scope.

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float32Type,
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
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Commutative, ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

from .base import (
    AnyTensor,
    ElementwiseBinaryOp,
    ElementwiseUnaryOp,
    GraphOp,
    broadcast_shapes,
    i64_attr,
    static_shape,
)


@irdl_op_definition
class ConstantOp(GraphOp):
    """A constant tensor: `%w = "graph.constant"() <{value = dense<...> : tensor<64x32xf32>}>`.

    The result type is the type of `value`. Weights enter the graph through this op.
    """

    name = "graph.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(AnyTensor)
    traits = traits_def(ConstantLike(), Pure())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    def infer_shape(self) -> tuple[int, ...]:
        return tuple(self.value.type.get_shape())

    def verify_(self) -> None:
        if self.value.type != self.result.type:
            raise VerifyException(
                f"'{self.name}' op result type {self.result.type} differs from the type of "
                f"its value {self.value.type}"
            )
        super().verify_()


@irdl_op_definition
class AddOp(ElementwiseBinaryOp):
    """Elementwise `lhs + rhs` with broadcasting (ONNX Add)."""

    name = "graph.add"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class SubOp(ElementwiseBinaryOp):
    """Elementwise `lhs - rhs` with broadcasting (ONNX Sub)."""

    name = "graph.sub"


@irdl_op_definition
class MulOp(ElementwiseBinaryOp):
    """Elementwise `lhs * rhs` with broadcasting (ONNX Mul)."""

    name = "graph.mul"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class ReluOp(ElementwiseUnaryOp):
    """Elementwise `max(x, 0)` (ONNX Relu)."""

    name = "graph.relu"


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | str:
    """The result shape of numpy.matmul / ONNX MatMul on operand shapes `a` and `b`, or
    the reason they do not multiply (a message naming the shapes).

    A 1-D lhs [K] is read as [1, K] and a 1-D rhs [K] as [K, 1], and that added dim is
    dropped from the result; the dims before the last two (the batch dims) broadcast
    with ONNX multidirectional broadcasting. `matmul_shape((2, 1, 4, 8), (3, 8, 5))` is
    `(2, 3, 4, 5)`; `matmul_shape((8,), (8,))` is `()`.

    Source: https://onnx.ai/onnx/operators/onnx__MatMul.html, numpy.matmul.
    """
    if not a or not b:
        return f"operands must have rank >= 1, got shapes {list(a)} and {list(b)}"
    pa = (1, *a) if len(a) == 1 else tuple(a)
    pb = (*b, 1) if len(b) == 1 else tuple(b)
    if pa[-1] != pb[-2]:
        return (
            f"contraction dimensions differ: lhs {list(a)} has K={pa[-1]}, "
            f"rhs {list(b)} has K={pb[-2]}"
        )
    batch = broadcast_shapes(pa[:-2], pb[:-2])
    if batch is None:
        return (
            f"batch dimensions {list(pa[:-2])} of lhs {list(a)} and {list(pb[:-2])} of rhs "
            f"{list(b)} do not broadcast"
        )
    return (*batch, *(pa[-2:-1] if len(a) > 1 else ()), *(pb[-1:] if len(b) > 1 else ()))


@irdl_op_definition
class MatMulOp(GraphOp):
    """Matrix product with NumPy semantics (ONNX MatMul): [..., M, K] x [..., K, N] ->
    [..., M, N], the batch dims (all but the last two) broadcast; a 1-D operand is
    promoted to a matrix ([K] -> [1, K] on the left, [K, 1] on the right) and the added
    dim removed from the result. Any rank >= 1 (`matmul_shape`).

    The builder raises ValueError and the verifier VerifyException for rank-0 operands,
    different contraction sizes and batch dims that do not broadcast, naming the shapes.

    Source: https://onnx.ai/onnx/operators/onnx__MatMul.html (opset 13).
    """

    name = "graph.matmul"
    lhs = operand_def(AnyTensor)
    rhs = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = matmul_shape(lhs.type.get_shape(), rhs.type.get_shape())
        if isinstance(shape, str):
            raise ValueError(f"{self.name}: {shape}")
        super().__init__(
            operands=[lhs, rhs], result_types=[TensorType(lhs.type.element_type, shape)]
        )

    def infer_shape(self) -> tuple[int, ...]:
        a = static_shape(self, "lhs", self.lhs.type)
        b = static_shape(self, "rhs", self.rhs.type)
        shape = matmul_shape(a, b)
        if isinstance(shape, str):
            raise VerifyException(f"'{self.name}' op {shape}")
        return shape


@irdl_op_definition
class GemmOp(GraphOp):
    """General matrix multiply `alpha * A' @ B' + beta * C` (ONNX Gemm).

    A' is A ([M, K], or [K, M] when transA = 1), B' is B ([K, N], or [N, K] when
    transB = 1). The optional C broadcasts unidirectionally to [M, N]. alpha and beta are
    f32 scalars (default 1.0); transA and transB are i64 0 or 1 (default 0).
    """

    name = "graph.gemm"
    a = operand_def(AnyTensor)
    b = operand_def(AnyTensor)
    c = opt_operand_def(AnyTensor)
    alpha = prop_def(FloatAttr, default_value=FloatAttr(1.0, Float32Type()))
    beta = prop_def(FloatAttr, default_value=FloatAttr(1.0, Float32Type()))
    transA = prop_def(IntegerAttr, default_value=i64_attr(0))
    transB = prop_def(IntegerAttr, default_value=i64_attr(0))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self,
        a: SSAValue,
        b: SSAValue,
        c: SSAValue | None = None,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        trans_a: int = 0,
        trans_b: int = 0,
    ):
        sa, sb = a.type.get_shape(), b.type.get_shape()
        m = sa[1] if trans_a else sa[0]
        n = sb[0] if trans_b else sb[1]
        super().__init__(
            operands=[a, b, [c] if c is not None else []],
            result_types=[TensorType(a.type.element_type, [m, n])],
            properties={
                "alpha": FloatAttr(alpha, Float32Type()),
                "beta": FloatAttr(beta, Float32Type()),
                "transA": i64_attr(trans_a),
                "transB": i64_attr(trans_b),
            },
        )

    def infer_shape(self) -> tuple[int, ...]:
        a = static_shape(self, "A", self.a.type)
        b = static_shape(self, "B", self.b.type)
        for flag in ("transA", "transB"):
            if getattr(self, flag).value.data not in (0, 1):
                raise VerifyException(f"'{self.name}' op {flag} must be 0 or 1")
        if len(a) != 2 or len(b) != 2:
            raise VerifyException(
                f"'{self.name}' op expects rank-2 A and B, got shapes {list(a)} and {list(b)}"
            )
        m, ka = (a[1], a[0]) if self.transA.value.data else a
        kb, n = (b[1], b[0]) if self.transB.value.data else b
        if ka != kb:
            raise VerifyException(
                f"'{self.name}' op contraction dimensions differ: A' has K={ka}, B' has K={kb}"
            )
        if self.c is not None:
            c = static_shape(self, "C", self.c.type)
            if len(c) > 2 or broadcast_shapes(c, (m, n)) != (m, n):
                raise VerifyException(
                    f"'{self.name}' op C of shape {list(c)} does not broadcast to [{m}, {n}]"
                )
        return (m, n)


@irdl_op_definition
class SoftmaxOp(GraphOp):
    """`exp(x - max) / sum(exp(x - max))` along `axis` (ONNX Softmax, opset 13 semantics).

    `axis` is an i64 in [-rank, rank) (default -1); the result has the input's type.
    """

    name = "graph.softmax"
    input = operand_def(AnyTensor)
    axis = prop_def(IntegerAttr, default_value=i64_attr(-1))
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, axis: int = -1):
        super().__init__(
            operands=[input], result_types=[input.type], properties={"axis": i64_attr(axis)}
        )

    def normalized_axis(self) -> int:
        rank = len(self.input.type.get_shape())
        return self.axis.value.data % rank

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        axis = self.axis.value.data
        if not -len(shape) <= axis < len(shape):
            raise VerifyException(
                f"'{self.name}' op axis {axis} is out of range for rank {len(shape)}"
            )
        return shape


@irdl_op_definition
class IdentityOp(ElementwiseUnaryOp):
    """The input itself (ONNX Identity; also ONNX Dropout in inference mode)."""

    name = "graph.identity"


@irdl_op_definition
class TransposeOp(GraphOp):
    """Permutes the dimensions: result dim i is input dim perm[i] (ONNX Transpose).

    `perm` is an `array<i64: ...>` permutation of 0..rank-1 (ONNX's default, the reversed
    dimensions, is made explicit by the importer). Shape: [s[perm[0]], ..., s[perm[r-1]]].
    """

    name = "graph.transpose"
    input = operand_def(AnyTensor)
    perm = prop_def(DenseArrayBase)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, perm: Sequence[int]):
        shape = input.type.get_shape()
        super().__init__(
            operands=[input],
            result_types=[TensorType(input.type.element_type, [shape[p] for p in perm])],
            properties={"perm": DenseArrayBase.from_list(IntegerType(64), list(perm))},
        )

    @property
    def permutation(self) -> tuple[int, ...]:
        return tuple(self.perm.get_values())

    def infer_shape(self) -> tuple[int, ...]:
        shape = static_shape(self, "input", self.input.type)
        perm = self.permutation
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"'{self.name}' op perm {list(perm)} is not a permutation of the "
                f"{len(shape)} dimensions of the input"
            )
        return tuple(shape[p] for p in perm)


@irdl_op_definition
class ReshapeOp(GraphOp):
    """The input's elements, in row-major order, in the result type's shape (ONNX Reshape
    with a static target shape: the importer resolves 0 and -1 entries).

    The element counts of input and result must be equal.
    """

    name = "graph.reshape"
    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, shape: Sequence[int]):
        super().__init__(
            operands=[input], result_types=[TensorType(input.type.element_type, shape)]
        )

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "input", self.input.type)
        dst = static_shape(self, "result", self.result.type)
        if prod(src) != prod(dst):
            raise VerifyException(
                f"'{self.name}' op cannot reshape {list(src)} ({prod(src)} elements) "
                f"to {list(dst)} ({prod(dst)} elements)"
            )
        return dst


OPS: list[type[Operation]] = [
    ConstantOp,
    AddOp,
    SubOp,
    MulOp,
    ReluOp,
    IdentityOp,
    MatMulOp,
    GemmOp,
    SoftmaxOp,
    TransposeOp,
    ReshapeOp,
]
"""The ops of this family, in the order the dialect lists them."""
