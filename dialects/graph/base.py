"""What the graph dialect's op families share: the op base classes, shape helpers, attribute
builders and the sliding-window geometry.

The families (core.py, math.py, nn.py, shape.py, layout.py) import this module only, never
each other nor the package `__init__`, which imports them all and builds the `Graph` dialect.

- `AnyTensor`: the operand and result constraint of every graph op (a builtin ranked
  tensor; `GraphOp.verify_` further requires static shapes and one element type).
- `GraphOp`: the base of every graph op: a subclass defines `infer_shape`, the single place
  its shape rule lives, and the shared verifier checks the result type against it.
- `ElementwiseBinaryOp` / `ElementwiseUnaryOp`: bases of broadcasting binary and unary
  elementwise ops (graph.add, graph.div, graph.relu, graph.exp, ...).
- `static_shape`, `broadcast_shapes`: the shape helpers verifiers use.
- `i64_attr`, `f32_attr`, `i64_array`: the builtin attributes graph ops hold their integer,
  float and integer-list properties in.
- `Window`, `window_props`: the geometry of a sliding window (graph.conv, the pools,
  graph.conv2d_nchwc) and the properties that describe it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import (
    DenseArrayBase,
    Float32Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

AnyTensor = TensorType[Attribute]
"""The type constraint of graph operands and results: any builtin ranked tensor type."""


# ------------------------------------------------------------------------------ shapes


def static_shape(op: IRDLOperation, what: str, t: Attribute) -> tuple[int, ...]:
    """The shape of `t`, which must be a ranked tensor type with a static shape.

    `what` names the value in the error ("operand #0", "input", "result", ...).

    Raises VerifyException, naming `op`, if `t` is not a `TensorType` or has a dynamic
    dimension.
    """
    if not isinstance(t, TensorType):
        raise VerifyException(f"'{op.name}' op {what} must be a ranked tensor, got {t}")
    shape = tuple(t.get_shape())
    if any(d < 0 for d in shape):
        raise VerifyException(f"'{op.name}' op {what} must have a static shape, got {t}")
    return shape


def is_f32_tensor(value: SSAValue) -> bool:
    """Whether `value` is a ranked tensor of f32 elements (the element type the blocked
    layout, the graph fusions and the attention kernel handle)."""
    return isinstance(value.type, TensorType) and isinstance(value.type.element_type, Float32Type)


def broadcast_shapes(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """ONNX multidirectional broadcasting (NumPy rules) of two shapes; None if incompatible.

    The shorter shape is padded with leading 1s; then each pair of sizes must be equal or
    contain a 1, and the result takes the other size. `broadcast_shapes((3, 1), (4,))` is
    `(3, 4)`; `broadcast_shapes((2,), (3,))` is None. Raises nothing.

    Source: https://onnx.ai/onnx/repo-docs/Broadcasting.html
    """
    rank = max(len(a), len(b))
    pa = (1,) * (rank - len(a)) + tuple(a)
    pb = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(pa, pb):
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(out)


# -------------------------------------------------------------------------- attributes


def i64_attr(value: int) -> IntegerAttr:
    """`value` as an `i64` IntegerAttr (`3 : i64`); accepts Python and NumPy integers.

    Raises VerifyException if `value` fits in neither 64 signed nor 64 unsigned bits
    (unsigned values of 2**63 and up wrap to negative ones).
    """
    return IntegerAttr(int(value), IntegerType(64))


def f32_attr(value: float) -> FloatAttr:
    """`value` as an `f32` FloatAttr (`0.5 : f32`), rounded to float32 precision;
    accepts Python and NumPy numbers."""
    return FloatAttr(float(value), Float32Type())


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    """`values` as an `array<i64: ...>` property (the window properties, `perm`, `axes`,
    `starts`, ...); accepts Python and NumPy integers."""
    return DenseArrayBase.from_list(IntegerType(64), [int(v) for v in values])


# ---------------------------------------------------------------------------- op bases


class GraphOp(IRDLOperation):
    """Base of graph ops: subclasses define `infer_shape`; verification is shared.

    `verify_` requires every operand and the first result to be a ranked tensor with a
    static shape, all operands to share one element type and the result to have it too,
    and the result shape to equal `infer_shape()`. Ops with operands of several types
    (graph.where's i1 condition) or a result of another type (comparisons, graph.cast)
    override `same_type_operands` and `result_element_type`. Each mismatch raises a VerifyException
    naming the op; `infer_shape` raises VerifyException for operands or properties its
    shape rule rejects.
    """

    def infer_shape(self) -> tuple[int, ...]:
        """The result shape the op's operands and properties imply (VerifyException if
        they are invalid)."""
        raise NotImplementedError

    def same_type_operands(self) -> Sequence[SSAValue]:
        """The operands that must share one element type (default: all of them)."""
        return self.operands

    def result_element_type(self, elem: Attribute) -> Attribute:
        """The result element type the operands' shared `elem` implies (default: `elem`)."""
        return elem

    def verify_(self) -> None:
        elem = None
        shared = list(self.same_type_operands())
        for i, v in enumerate(self.operands):
            static_shape(self, f"operand #{i}", v.type)
            if not any(v is s for s in shared):
                continue
            if elem is None:
                elem = v.type.element_type
            elif v.type.element_type != elem:
                raise VerifyException(
                    f"'{self.name}' op operand #{i} has element type {v.type.element_type}, "
                    f"expected {elem} like operand #{self.operands.index(shared[0])}"
                )
        res = self.results[0].type
        got = static_shape(self, "result", res)
        want = self.infer_shape()
        if got != want:
            raise VerifyException(
                f"'{self.name}' op result shape {list(got)} does not match the inferred "
                f"shape {list(want)}"
            )
        want_elem = self.result_element_type(elem) if elem is not None else None
        if want_elem is not None and res.element_type != want_elem:
            raise VerifyException(
                f"'{self.name}' op result element type {res.element_type} differs from "
                f"{want_elem}, the one operands of {elem} give"
            )


class ElementwiseBinaryOp(GraphOp):
    """Base of broadcasting binary ops: result shape = broadcast(lhs, rhs) (ONNX rules).

    Operands `lhs` and `rhs` share an element type, which the result has. The constructor
    raises ValueError, the verifier VerifyException, if the shapes do not broadcast.
    """

    lhs = operand_def(AnyTensor)
    rhs = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = broadcast_shapes(lhs.type.get_shape(), rhs.type.get_shape())
        if shape is None:
            raise ValueError(
                f"{self.name}: shapes {lhs.type.get_shape()} and {rhs.type.get_shape()} "
                "do not broadcast"
            )
        elem = self.result_element_type(lhs.type.element_type)
        super().__init__(operands=[lhs, rhs], result_types=[TensorType(elem, shape)])

    def infer_shape(self) -> tuple[int, ...]:
        a = static_shape(self, "lhs", self.lhs.type)
        b = static_shape(self, "rhs", self.rhs.type)
        shape = broadcast_shapes(a, b)
        if shape is None:
            raise VerifyException(
                f"'{self.name}' op operand shapes {list(a)} and {list(b)} are not "
                "broadcast-compatible"
            )
        return shape


class ElementwiseUnaryOp(GraphOp):
    """Base of unary elementwise ops: the result has the operand's type (shape and dtype)."""

    input = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue):
        super().__init__(operands=[input], result_types=[input.type])

    def infer_shape(self) -> tuple[int, ...]:
        return static_shape(self, "input", self.input.type)


# ------------------------------------------------------------------------------ windows


@dataclass(frozen=True)
class Window:
    """The geometry of a sliding window over k spatial dimensions (Conv and pools).

    Every field has one entry per spatial dimension. Along a spatial dimension of size
    `n`, output position `o` reads the (padded) input at
    `o * stride + j * dilation - pad_begin` for `j` in `range(kernel)`. The output size is
    `floor((n + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1`, or the
    ceiling with `ceil_mode`, less one if the last window would then start in the end
    padding (ONNX MaxPool/AveragePool, as ONNX Runtime and PyTorch compute it).
    """

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]
    dilations: tuple[int, ...]
    ceil_mode: bool = False

    def output_size(self, d: int, n: int) -> int:
        """The output size along spatial dimension `d` for an input of size `n` (0 when
        the window does not fit the padded input)."""
        span = self.dilations[d] * (self.kernel[d] - 1) + 1
        room = n + self.pads_begin[d] + self.pads_end[d] - span
        if room < 0:
            return 0
        s = self.strides[d]
        if not self.ceil_mode:
            return room // s + 1
        out = -(-room // s) + 1
        if (out - 1) * s >= n + self.pads_begin[d]:
            out -= 1
        return out

    @staticmethod
    def of(
        kernel: Sequence[int],
        strides: Sequence[int] | None = None,
        pads: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        ceil_mode: bool = False,
    ) -> Window:
        """A window with ONNX's defaults (strides and dilations 1, pads 0) filled in.

        `pads` is in ONNX order: the k begin pads, then the k end pads.
        """
        k = len(kernel)
        pads = tuple(pads) if pads is not None else (0,) * (2 * k)
        return Window(
            kernel=tuple(kernel),
            strides=tuple(strides) if strides is not None else (1,) * k,
            pads_begin=pads[:k],
            pads_end=pads[k:],
            dilations=tuple(dilations) if dilations is not None else (1,) * k,
            ceil_mode=bool(ceil_mode),
        )

    def output_shape(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The output's spatial shape for an input of spatial shape `spatial`."""
        return tuple(self.output_size(d, n) for d, n in enumerate(spatial))

    def extra_end_pad(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """Padding beyond `pads_end` that the last window reads in ceil mode (0 else)."""
        extra = []
        for d, n in enumerate(spatial):
            o = self.output_size(d, n)
            last = (o - 1) * self.strides[d] + self.dilations[d] * (self.kernel[d] - 1)
            extra.append(max(0, last + 1 - (n + self.pads_begin[d] + self.pads_end[d])))
        return tuple(extra)


def window_props(
    strides: Sequence[int] | None,
    pads: Sequence[int] | None,
    dilations: Sequence[int] | None,
) -> dict[str, DenseArrayBase]:
    """The `strides`, `pads` and `dilations` properties of a windowed op, as `i64_array`s;
    an argument that is None is left out (the op's default applies)."""
    props = {}
    for name, values in (("strides", strides), ("pads", pads), ("dilations", dilations)):
        if values is not None:
            props[name] = i64_array(values)
    return props
