"""The graph dialect's gathers: reads of `data` at positions held in a runtime index tensor.

These ops belong to the `graph` dialect (dialects/graph/__init__.py lists them in
`Graph`); they share its base classes (base.py) and conventions: static shapes, ONNX
semantics, result types verified against `infer_shape`. Unlike the other graph ops, their
operands have two element types: `data` is f32, i64, i32 or i1 (the result has its type),
`indices` is i64 or i32.

- `graph.gather` (ONNX Gather): whole slices of `data` along `axis`, one per index, e.g.
  an embedding lookup `data [V, H]`, `indices [B, S]` -> `[B, S, H]`;
- `graph.gather_elements` (ONNX GatherElements): one element of `data` per index, along
  `axis`; the result has the indices' shape;
- `graph.gather_nd` (ONNX GatherND): slices of `data` addressed by the last dimension of
  `indices` (a tuple of coordinates), after `batch_dims` shared leading dimensions.

    %e = "graph.gather"(%table, %ids) <{axis = 0 : i64}>
        : (tensor<30522x512xf32>, tensor<1x128xi64>) -> tensor<1x128x512xf32>

An index `i` in [-n, n) of a dimension of size `n` reads `i` (`i + n` if negative). An
index outside that range is an error in ONNX Runtime; here it is clamped into [0, n - 1]
after that normalization (the reference semantics, dialects/graph_gather_reference.py,
and every lowering agree), so compiled code never reads out of bounds.

Source: the ONNX operator specifications (Gather, GatherElements, GatherND),
https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    Float32Type,
    IntegerAttr,
    IntegerType,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from .base import AnyTensor, GraphOp, i64_attr, static_shape

DATA_TYPES: tuple[Attribute, ...] = (
    Float32Type(),
    IntegerType(64),
    IntegerType(32),
    IntegerType(1),
)
"""The element types a gather reads (f32, i64, i32, i1)."""

INDEX_TYPES: tuple[Attribute, ...] = (IntegerType(64), IntegerType(32))
"""The element types of gather indices (i64, i32)."""


class GatherBase(GraphOp):
    """Base of the gathers: operands `data` and `indices`, one result of `data`'s element
    type; subclasses define `infer_shape`.

    The verifier checks the element types (`DATA_TYPES`, `INDEX_TYPES`), then GraphOp's
    checks (static shapes, the result type against `infer_shape` and `data`'s element
    type), raising VerifyException naming the op.
    """

    data = operand_def(AnyTensor)
    indices = operand_def(AnyTensor)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def same_type_operands(self) -> Sequence[SSAValue]:
        return [self.data]  # the indices have their own type

    def verify_(self) -> None:
        for what, v, allowed, names in (
            ("data has", self.data, DATA_TYPES, "f32, i64, i32 or i1"),
            ("indices have", self.indices, INDEX_TYPES, "i64 or i32"),
        ):
            static_shape(self, what.split()[0], v.type)
            elem = v.type.element_type
            if elem not in allowed:
                raise VerifyException(
                    f"'{self.name}' op {what} element type {elem}; expected {names}"
                )
        super().verify_()

    def __init__(self, data: SSAValue, indices: SSAValue, shape: Sequence[int], props: dict):
        super().__init__(
            operands=[data, indices],
            result_types=[TensorType(data.type.element_type, list(shape))],
            properties=props,
        )

    def normalized_axis(self) -> int:
        """The `axis` property (of Gather and GatherElements) in [0, rank of data)
        (VerifyException if out of range)."""
        rank = len(static_shape(self, "data", self.data.type))
        axis = self.axis.value.data
        if not -rank <= axis < rank:
            raise VerifyException(
                f"'{self.name}' op axis {axis} is out of range for data of rank {rank}"
            )
        return axis % rank


@irdl_op_definition
class GatherOp(GatherBase):
    """Slices of `data` along `axis` picked by `indices` (ONNX Gather, opset 13).

    `data` of rank r >= 1, `indices` of any rank q (0 for a scalar index); `axis` an i64 in
    [-r, r). Result shape `data.shape[:axis] + indices.shape + data.shape[axis+1:]`:
    `result[a..., i..., b...] = data[a..., clamp(indices[i...]), b...]` (module docstring
    for the clamp).
    """

    name = "graph.gather"
    axis = prop_def(IntegerAttr)

    def __init__(self, data: SSAValue, indices: SSAValue, axis: int = 0):
        src = tuple(data.type.get_shape())
        a = axis % len(src)
        shape = (*src[:a], *indices.type.get_shape(), *src[a + 1 :])
        super().__init__(data, indices, shape, {"axis": i64_attr(axis)})

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "data", self.data.type)
        if not src:
            raise VerifyException(f"'{self.name}' op data must have rank >= 1")
        a = self.normalized_axis()
        return (*src[:a], *static_shape(self, "indices", self.indices.type), *src[a + 1 :])


@irdl_op_definition
class GatherElementsOp(GatherBase):
    """One element of `data` per index along `axis` (ONNX GatherElements, opset 13).

    `data` and `indices` have the same rank r >= 1, and `indices.shape[d] <=
    data.shape[d]` for every `d != axis` (as ONNX Runtime requires); `axis` an i64 in
    [-r, r). The result has the indices' shape: `result[i] = data[i with i[axis] replaced
    by clamp(indices[i])]`.
    """

    name = "graph.gather_elements"
    axis = prop_def(IntegerAttr)

    def __init__(self, data: SSAValue, indices: SSAValue, axis: int = 0):
        super().__init__(data, indices, indices.type.get_shape(), {"axis": i64_attr(axis)})

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "data", self.data.type)
        idx = static_shape(self, "indices", self.indices.type)
        if not src or len(idx) != len(src):
            raise VerifyException(
                f"'{self.name}' op indices of shape {list(idx)} must have the rank of data "
                f"of shape {list(src)} (at least 1)"
            )
        a = self.normalized_axis()
        for d, (n, m) in enumerate(zip(idx, src)):
            if d != a and n > m:
                raise VerifyException(
                    f"'{self.name}' op indices dimension {d} of size {n} exceeds the data's ({m})"
                )
        return idx


@irdl_op_definition
class GatherNDOp(GatherBase):
    """Slices of `data` addressed by coordinate tuples (ONNX GatherND, opset 13).

    `data` of rank r >= 1, `indices` of rank q >= 1 whose last dimension k, 1 <= k <=
    r - b, holds coordinates into data dimensions b .. b+k-1, where b = `batch_dims` (an
    i64 >= 0, b < min(q, r)) leading dimensions are shared (`indices.shape[:b] ==
    data.shape[:b]`). Result shape `indices.shape[:-1] + data.shape[b+k:]`:
    `result[i..., j...] = data[i[:b]..., clamp(indices[i..., 0]), ...,
    clamp(indices[i..., k-1]), j...]`.
    """

    name = "graph.gather_nd"
    batch_dims = prop_def(IntegerAttr)

    def __init__(self, data: SSAValue, indices: SSAValue, batch_dims: int = 0):
        src, idx = tuple(data.type.get_shape()), tuple(indices.type.get_shape())
        shape = (*idx[:-1], *src[batch_dims + idx[-1] :]) if idx else ()
        super().__init__(data, indices, shape, {"batch_dims": i64_attr(batch_dims)})

    @property
    def batch(self) -> int:
        return self.batch_dims.value.data

    def infer_shape(self) -> tuple[int, ...]:
        src = static_shape(self, "data", self.data.type)
        idx = static_shape(self, "indices", self.indices.type)
        b = self.batch
        if not src or not idx:
            raise VerifyException(f"'{self.name}' op data and indices must have rank >= 1")
        if not 0 <= b < min(len(src), len(idx)):
            raise VerifyException(
                f"'{self.name}' op batch_dims {b} must be in [0, {min(len(src), len(idx))}) "
                f"for data of rank {len(src)} and indices of rank {len(idx)}"
            )
        if idx[:b] != src[:b]:
            raise VerifyException(
                f"'{self.name}' op the first {b} dimensions of indices {list(idx)} and data "
                f"{list(src)} differ"
            )
        k = idx[-1]
        if not 1 <= k <= len(src) - b:
            raise VerifyException(
                f"'{self.name}' op indices' last dimension {k} must be in [1, {len(src) - b}] "
                f"(data rank {len(src)} less batch_dims {b})"
            )
        return (*idx[:-1], *src[b + k :])


OPS: list[type[Operation]] = [GatherOp, GatherElementsOp, GatherNDOp]
"""The ops of this family, in the order the dialect lists them."""
