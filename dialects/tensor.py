"""The `tensor` dialect: the tensor-operator level of the tower (compare MLIR's linalg.generic).

A `tensor.generic` states a computation by its iteration domain: one loop per dimension,
each `parallel` or `reduction`; an affine indexing map per operand from the loop indices to
the element it reads or writes; and a scalar body (xDSL's `arith` and `math` ops) that takes
one element of each operand and yields one element per output. Outputs are passed in
destination style (`outs`): their values are the initial values that reductions accumulate
into. All tensors have static shapes; the loop bounds follow from the operand shapes.

This is irforge's own dialect; irforge's Context does not load xDSL's `tensor` dialect.
Source: MLIR linalg dialect docs, https://mlir.llvm.org/docs/Dialects/Linalg/

Names: an op here takes the name of an upstream MLIR op only when it means the same thing,
so that MLIR and xDSL readers do not misread irforge's IR, and MLIR tools reject it as an
unknown op rather than as a malformed upstream one. Each op and its nearest upstream
relative:

- `tensor.generic`: `linalg.generic` (no upstream `tensor.generic` exists); static shapes
  only, iterator types as strings.
- `tensor.yield`: `linalg.yield`, and MLIR's `tensor.yield` (which yields the elements of
  a `tensor.generate` or `tensor.pad` region); the same meaning, a terminator yielding
  scalars from a region.
- `tensor.empty`: MLIR's `tensor.empty`, the same meaning (an uninitialized tensor of a
  shape), static shapes only.
- `tensor.pad_constant`: MLIR's `tensor.pad`, whose padding value is yielded by a region
  and whose pads are `static_low`/`static_high` plus dynamic operands; here the pads are
  static and the padding value is a constant property.
- `tensor.index`: `linalg.index`, the same meaning (the induction variable of one
  dimension of the enclosing generic's domain, an `index`).
- `tensor.extract`: MLIR's `tensor.extract`, the same meaning (one element of a ranked
  tensor at `index` coordinates); here used in generic bodies for data-dependent reads
  (gathers), on a tensor captured from outside the body.
- `tensor.insert_block`: MLIR's `tensor.insert_slice`, which has offsets, sizes and
  strides, each static or dynamic; here only static offsets, with unit strides and the
  sizes of the source (a dense block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

AnyTensor = TensorType[Attribute]

PARALLEL = "parallel"
REDUCTION = "reduction"


def _types(types) -> str:
    return "[" + ", ".join(str(t) for t in types) + "]"


def expr_bounds(expr: AffineExpr, ranges: Sequence[int]) -> tuple[int, int]:
    """Smallest and largest value of `expr` over the box 0 <= d_i < ranges[i] (interval
    arithmetic: exact for sums of dims times constants, a safe over-approximation else)."""
    if isinstance(expr, AffineDimExpr):
        return 0, ranges[expr.position] - 1
    if isinstance(expr, AffineConstantExpr):
        return expr.value, expr.value
    assert isinstance(expr, AffineBinaryOpExpr)
    (a, b), (c, d) = expr_bounds(expr.lhs, ranges), expr_bounds(expr.rhs, ranges)
    kind = expr.kind
    if kind == AffineBinaryOpKind.Add:
        return a + c, b + d
    if kind == AffineBinaryOpKind.Mul:
        products = (a * c, a * d, b * c, b * d)
        return min(products), max(products)
    if kind == AffineBinaryOpKind.Mod:  # rhs is a positive constant in a valid map
        return (a, b) if 0 <= a and b < c else (0, max(d - 1, 0))
    if c <= 0:
        return a, b  # not a valid affine map; the map's own verifier reports it
    if kind == AffineBinaryOpKind.FloorDiv:
        return a // c, b // c
    return -(-a // c), -(-b // c)  # CeilDiv


@irdl_op_definition
class GenericOp(IRDLOperation):
    """A structured computation over an iteration domain (compare `linalg.generic`).

    Operands: `ins` (read) then `outs` (initial values of the results); results: one
    tensor per `outs`, of the same type. Properties: `indexing_maps`, one affine map per
    operand (ins then outs) from the domain's d0..dn-1 to the operand's indices;
    `iterator_types`, one `"parallel"` or `"reduction"` string per domain dimension. The
    body has one block with one scalar argument per operand (its element type) and ends in
    `tensor.yield` with one scalar per output.

    Example (row sums of a 4x8 tensor)::

        %r = "tensor.generic"(%x, %init) <{
            indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
            iterator_types = ["parallel", "reduction"],
            operandSegmentSizes = array<i32: 1, 1>}> ({
          ^bb0(%a: f32, %acc: f32):
            %s = "arith.addf"(%acc, %a) : (f32, f32) -> f32
            "tensor.yield"(%s) : (f32) -> ()
        }) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>
    """

    name = "tensor.generic"
    ins = var_operand_def(AnyTensor)
    outs = var_operand_def(AnyTensor)
    res = var_result_def(AnyTensor)
    indexing_maps = prop_def(ArrayAttr[AffineMapAttr])
    iterator_types = prop_def(ArrayAttr[StringAttr])
    body = region_def("single_block")
    traits = traits_def(Pure())
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(
        self,
        ins: Sequence[SSAValue],
        outs: Sequence[SSAValue],
        body: Region,
        indexing_maps: Sequence[AffineMap],
        iterator_types: Sequence[str],
    ):
        super().__init__(
            operands=[ins, outs],
            result_types=[[o.type for o in outs]],
            properties={
                "indexing_maps": ArrayAttr([AffineMapAttr(m) for m in indexing_maps]),
                "iterator_types": ArrayAttr([StringAttr(t) for t in iterator_types]),
            },
            regions=[body],
        )

    @property
    def maps(self) -> list[AffineMap]:
        return [m.data for m in self.indexing_maps]

    @property
    def iterators(self) -> list[str]:
        return [t.data for t in self.iterator_types]

    def loop_ranges(self) -> list[int]:
        """The size of each domain dimension, read off the operands indexed by it directly.

        Raises VerifyException if some dimension is not the plain result of any map, or if
        two operands indexed directly by the same dimension disagree on its size.
        """
        ranges: list[int | None] = [None] * len(self.iterator_types)
        for i, (value, amap) in enumerate(zip(self.operands, self.maps)):
            shape = value.type.get_shape()
            for pos, expr in enumerate(amap.results):
                if not isinstance(expr, AffineDimExpr):
                    continue
                d = expr.position
                if ranges[d] is None:
                    ranges[d] = shape[pos]
                elif ranges[d] != shape[pos]:
                    raise VerifyException(
                        f"'{self.name}' op operand #{i} gives d{d} size {shape[pos]}, but an "
                        f"earlier operand gives it size {ranges[d]}"
                    )
        missing = [f"d{i}" for i, r in enumerate(ranges) if r is None]
        if missing:
            raise VerifyException(
                f"'{self.name}' op cannot infer the size of {', '.join(missing)}: no operand "
                "is indexed by it directly"
            )
        return ranges  # type: ignore[return-value]

    def verify_(self) -> None:
        n_ops = len(self.ins) + len(self.outs)
        if len(self.indexing_maps) != n_ops:
            raise VerifyException(
                f"'{self.name}' op expects one indexing map per operand ({n_ops}), got "
                f"{len(self.indexing_maps)}"
            )
        n_dims = len(self.iterator_types)
        for kind in self.iterators:
            if kind not in (PARALLEL, REDUCTION):
                raise VerifyException(
                    f'\'{self.name}\' op iterator type must be "parallel" or "reduction", '
                    f'got "{kind}"'
                )
        for i, (value, amap) in enumerate(zip(self.operands, self.maps)):
            shape = value.type.get_shape()
            if any(d < 0 for d in shape):
                raise VerifyException(f"'{self.name}' op operand #{i} must have a static shape")
            if amap.num_dims != n_dims or amap.num_symbols != 0:
                raise VerifyException(
                    f"'{self.name}' op indexing map #{i} must have {n_dims} dims and no "
                    f"symbols, got {amap}"
                )
            if len(amap.results) != len(shape):
                raise VerifyException(
                    f"'{self.name}' op indexing map #{i} has {len(amap.results)} results but "
                    f"operand #{i} has rank {len(shape)}"
                )
        for o, r in zip(self.outs, self.res):
            if o.type != r.type:
                raise VerifyException(
                    f"'{self.name}' op result type {r.type} differs from its outs type {o.type}"
                )
        ranges = self.loop_ranges()
        if all(r > 0 for r in ranges):
            for i, (value, amap) in enumerate(zip(self.operands, self.maps)):
                shape = value.type.get_shape()
                for pos, expr in enumerate(amap.results):
                    lo, hi = expr_bounds(expr, ranges)
                    if lo < 0 or hi >= shape[pos]:
                        raise VerifyException(
                            f"'{self.name}' op indexing map #{i} result {pos} `{expr}` spans "
                            f"[{lo}, {hi}] over the domain {ranges}, out of bounds of "
                            f"dimension {pos} of shape {list(shape)}"
                        )
        block = self.body.block
        want = [v.type.element_type for v in self.operands]
        got = [a.type for a in block.args]
        if got != want:
            raise VerifyException(
                f"'{self.name}' op body arguments {_types(got)} must be the operands' "
                f"element types {_types(want)}"
            )
        term = block.last_op
        if not isinstance(term, YieldOp):
            raise VerifyException(f"'{self.name}' op body must end in tensor.yield")
        want_y = [o.type.element_type for o in self.outs]
        if [v.type for v in term.values] != want_y:
            raise VerifyException(
                f"'{self.name}' op body yields {_types(v.type for v in term.values)}, "
                f"expected {_types(want_y)}"
            )


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a `tensor.generic` body with one scalar per output."""

    name = "tensor.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator(), HasParent(GenericOp), Pure())

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[values])


@irdl_op_definition
class IndexOp(IRDLOperation):
    """The current index along dimension `dim` of the enclosing `tensor.generic`'s domain
    (compare `linalg.index`): `%i = "tensor.index"() <{dim = 1 : i64}> : () -> index`.

    With `tensor.extract`, it lets a body read an element its indexing maps cannot name
    (a gather: `data[d0, ids[d0, d1], d2]`). `dim` must be in [0, domain rank).
    """

    name = "tensor.index"
    dim = prop_def(IntegerAttr)
    result = result_def(IndexType)
    traits = traits_def(HasParent(GenericOp), Pure())

    def __init__(self, dim: int):
        super().__init__(
            properties={"dim": IntegerAttr(dim, IntegerType(64))}, result_types=[IndexType()]
        )

    def verify_(self) -> None:
        generic = self.parent_op()
        rank = len(generic.iterator_types.data) if isinstance(generic, GenericOp) else 0
        if not 0 <= self.dim.value.data < rank:
            raise VerifyException(
                f"'{self.name}' op dim {self.dim.value.data} is out of range for a domain of "
                f"rank {rank}"
            )


@irdl_op_definition
class ExtractOp(IRDLOperation):
    """One element of a ranked tensor at `index` coordinates (MLIR's `tensor.extract`):
    `%v = "tensor.extract"(%t, %i, %j) : (tensor<4x8xf32>, index, index) -> f32`.

    One index per dimension; the result has the tensor's element type. Reading outside the
    tensor is undefined behaviour: producers clamp or check their indices first (the
    gather lowerings clamp). In a `tensor.generic` body the tensor is captured from
    outside the body.
    """

    name = "tensor.extract"
    tensor = operand_def(AnyTensor)
    indices = var_operand_def(IndexType)
    result = result_def()
    traits = traits_def(Pure())

    def __init__(self, tensor: SSAValue, indices: Sequence[SSAValue]):
        super().__init__(operands=[tensor, list(indices)], result_types=[tensor.type.element_type])

    def verify_(self) -> None:
        t = self.tensor.type
        if len(self.indices) != len(t.get_shape()):
            raise VerifyException(
                f"'{self.name}' op takes {len(t.get_shape())} indices for {t}, got "
                f"{len(self.indices)}"
            )
        if self.result.type != t.element_type:
            raise VerifyException(
                f"'{self.name}' op result type {self.result.type} is not the element type of {t}"
            )


@irdl_op_definition
class EmptyOp(IRDLOperation):
    """A tensor of a static shape whose contents are undefined: the `outs` of a generic
    that overwrites every element (compare MLIR's `tensor.empty`)."""

    name = "tensor.empty"
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, result_type: TensorType):
        super().__init__(result_types=[result_type])

    def verify_(self) -> None:
        if any(d < 0 for d in self.result.type.get_shape()):
            raise VerifyException(f"'{self.name}' op result must have a static shape")


@irdl_op_definition
class PadOp(IRDLOperation):
    """The input surrounded by a constant: `low[i]` elements before and `high[i]` after it
    along each dimension i (compare MLIR's `tensor.pad`).

    Properties: `low` and `high`, `array<i64: ...>` of one non-negative entry per
    dimension; `value`, the padding element (a float attribute of the element type, e.g.
    `0xFF800000 : f32` for -inf). Result shape: `shape[i] + low[i] + high[i]`.

        %p = "tensor.pad_constant"(%x) <{low = array<i64: 0, 1>,
            high = array<i64: 0, 2>, value = 0.0 : f32}> : (tensor<2x3xf32>) -> tensor<2x6xf32>

    Why an op rather than a generic: a generic cannot express a read that is out of bounds
    for some points of its domain (its indexing maps must stay inside the operands), so
    convolution and pooling read a padded copy instead. Unlike MLIR's op, the padding value
    is a property, not a region: the windowed ops only ever pad with a constant (0 for
    convolution and average pooling, -inf for max pooling, 0 for LRN's channel window).
    convert-tensor-to-loop bufferizes it as an allocation, a fill loop nest and a loop nest
    copying the input into the interior.
    """

    name = "tensor.pad_constant"
    input = operand_def(AnyTensor)
    low = prop_def(DenseArrayBase)
    high = prop_def(DenseArrayBase)
    value = prop_def(FloatAttr)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(
        self, input: SSAValue, low: Sequence[int], high: Sequence[int], value: float = 0.0
    ):
        shape = input.type.get_shape()
        elem = input.type.element_type
        padded = [s + lo + hi for s, lo, hi in zip(shape, low, high)]
        super().__init__(
            operands=[input],
            result_types=[TensorType(elem, padded)],
            properties={
                "low": DenseArrayBase.from_list(IntegerType(64), list(low)),
                "high": DenseArrayBase.from_list(IntegerType(64), list(high)),
                "value": FloatAttr(value, elem),
            },
        )

    @property
    def low_pads(self) -> tuple[int, ...]:
        return tuple(self.low.get_values())

    @property
    def high_pads(self) -> tuple[int, ...]:
        return tuple(self.high.get_values())

    def verify_(self) -> None:
        src, res = self.input.type, self.result.type
        shape = src.get_shape()
        if any(d < 0 for d in shape):
            raise VerifyException(f"'{self.name}' op operand must have a static shape")
        low, high = self.low_pads, self.high_pads
        for what, pads in (("low", low), ("high", high)):
            if len(pads) != len(shape):
                raise VerifyException(
                    f"'{self.name}' op {what} has {len(pads)} entries, expected one per "
                    f"dimension of the operand ({len(shape)})"
                )
            if any(p < 0 for p in pads):
                raise VerifyException(
                    f"'{self.name}' op {what} pads must be non-negative, got {list(pads)}"
                )
        if res.element_type != src.element_type:
            raise VerifyException(
                f"'{self.name}' op result element type {res.element_type} differs from the "
                f"operand's {src.element_type}"
            )
        if self.value.type != src.element_type:
            raise VerifyException(
                f"'{self.name}' op padding value type {self.value.type} differs from the "
                f"element type {src.element_type}"
            )
        want = [s + lo + hi for s, lo, hi in zip(shape, low, high)]
        if list(res.get_shape()) != want:
            raise VerifyException(
                f"'{self.name}' op result shape {list(res.get_shape())} does not match the "
                f"padded shape {want}"
            )


@irdl_op_definition
class InsertSliceOp(IRDLOperation):
    """`dest` with the block starting at `offsets` replaced by `source` (compare MLIR's
    `tensor.insert_slice` with unit strides).

    Properties: `offsets`, `array<i64: ...>` of one non-negative entry per dimension, with
    `offsets[i] + source.shape[i] <= dest.shape[i]`. The result has the type of `dest`.

        %r = "tensor.insert_block"(%a, %d) <{offsets = array<i64: 0, 3>}>
            : (tensor<2x2xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>

    Why an op: a generic writes every element of its outputs, so joining tensors (ONNX
    Concat) would need reads out of bounds of some inputs. A chain of insert_blocks into a
    `tensor.empty` writes each part in place. convert-tensor-to-loop bufferizes it into
    the buffer of `dest` when that tensor has no other use (else a copy of it) and a loop
    nest copying `source` to the offset.
    """

    name = "tensor.insert_block"
    source = operand_def(AnyTensor)
    dest = operand_def(AnyTensor)
    offsets = prop_def(DenseArrayBase)
    result = result_def(AnyTensor)
    traits = traits_def(Pure())

    def __init__(self, source: SSAValue, dest: SSAValue, offsets: Sequence[int]):
        super().__init__(
            operands=[source, dest],
            result_types=[dest.type],
            properties={"offsets": DenseArrayBase.from_list(IntegerType(64), list(offsets))},
        )

    @property
    def offset_values(self) -> tuple[int, ...]:
        return tuple(self.offsets.get_values())

    def verify_(self) -> None:
        src, dst = self.source.type, self.dest.type
        if any(d < 0 for d in (*src.get_shape(), *dst.get_shape())):
            raise VerifyException(f"'{self.name}' op operands must have static shapes")
        if src.element_type != dst.element_type or self.result.type != dst:
            raise VerifyException(
                f"'{self.name}' op source {src}, dest {dst} and result {self.result.type} "
                "must have one element type, and the result the type of dest"
            )
        offsets, shape, full = self.offset_values, src.get_shape(), dst.get_shape()
        if not len(offsets) == len(shape) == len(full):
            raise VerifyException(
                f"'{self.name}' op offsets {list(offsets)}, source {src} and dest {dst} must "
                "have one rank"
            )
        for d, (o, n, m) in enumerate(zip(offsets, shape, full)):
            if o < 0 or o + n > m:
                raise VerifyException(
                    f"'{self.name}' op dimension {d}: offset {o} + source size {n} exceeds "
                    f"dest size {m}"
                )


def build_generic(
    ins: Sequence[SSAValue],
    outs: Sequence[SSAValue],
    indexing_maps: Sequence[AffineMap],
    iterator_types: Sequence[str],
    body: Callable[[Builder, Sequence[SSAValue]], Sequence[SSAValue]],
) -> GenericOp:
    """A `tensor.generic` whose body is built by `body(builder, scalar_args)`.

    `body` receives a Builder positioned in the new block and the block arguments (one
    scalar per operand, ins then outs) and returns the values to yield, one per output.
    """
    block = Block(arg_types=[v.type.element_type for v in (*ins, *outs)])
    builder = Builder(InsertPoint.at_end(block))
    yielded = body(builder, block.args)
    builder.insert(YieldOp(*yielded))
    return GenericOp(ins, outs, Region(block), indexing_maps, iterator_types)


Tensor = Dialect(
    "tensor", [GenericOp, YieldOp, IndexOp, ExtractOp, EmptyOp, PadOp, InsertSliceOp], []
)
