"""The `loop` dialect: explicit loop nests over buffers (builtin `memref` types).

This is the level where schedules act (split, reorder, tile, unroll, vectorize,
parallelize). Index arithmetic uses `arith` on `index`; scalar math uses `arith` and `math`;
constant buffers are `memref.global` / `memref.get_global`. All memrefs have static shapes
and the identity (row-major, contiguous) layout.

Example (fill a 4-element buffer)::

    %buf = "loop.alloc"() : () -> memref<4xf32>
    "loop.for"(%c0, %c4, %c1) ({
    ^bb0(%i: index):
      "loop.store"(%zero, %buf, %i) : (f32, memref<4xf32>, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()

Source: MLIR scf.for and memref docs, https://mlir.llvm.org/docs/Dialects/SCFDialect/
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    NoneAttr,
    UnitAttr,
    VectorType,
)
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

AnyMemRef = MemRefType[Attribute]


def _check_static(op: IRDLOperation, what: str, t: MemRefType) -> None:
    if any(d < 0 for d in t.get_shape()):
        raise VerifyException(f"'{op.name}' op {what} must have a static shape, got {t}")


def _check_indices(op: IRDLOperation, memref: SSAValue, indices: Sequence[SSAValue]) -> None:
    rank = len(memref.type.get_shape())
    if len(indices) != rank:
        raise VerifyException(
            f"'{op.name}' op expects {rank} indices for {memref.type}, got {len(indices)}"
        )


@irdl_op_definition
class ForOp(IRDLOperation):
    """`for iv in range(lb, ub, step)`: runs its body once per induction variable value.

    Operands: lower bound, upper bound, step (all `index`; step > 0). The body is one block
    with a single `index` argument (the induction variable) ending in `loop.yield`. The unit
    property `parallel` marks iterations as independent (a schedule may run them on threads).
    """

    name = "loop.for"
    lb = operand_def(IndexType)
    ub = operand_def(IndexType)
    step = operand_def(IndexType)
    parallel = opt_prop_def(UnitAttr)
    body = region_def("single_block")

    def __init__(self, lb: SSAValue, ub: SSAValue, step: SSAValue, body: Region | None = None):
        if body is None:
            body = Region(Block(arg_types=[IndexType()]))
        super().__init__(operands=[lb, ub, step], regions=[body])

    @property
    def induction_var(self):
        return self.body.block.args[0]

    def verify_(self) -> None:
        args = self.body.block.args
        if len(args) != 1 or not isinstance(args[0].type, IndexType):
            raise VerifyException(
                f"'{self.name}' op body must have exactly one index argument (the induction "
                f"variable), got {[a.type for a in args]}"
            )
        if not isinstance(self.body.block.last_op, YieldOp):
            raise VerifyException(f"'{self.name}' op body must end in loop.yield")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a `loop.for` body."""

    name = "loop.yield"
    traits = traits_def(IsTerminator(), HasParent(ForOp))

    def __init__(self):
        super().__init__()


@irdl_op_definition
class LoadOp(IRDLOperation):
    """Reads one element: `"loop.load"(%buf, %i) : (memref<4xf32>, index) -> f32`."""

    name = "loop.load"
    memref = operand_def(AnyMemRef)
    indices = var_operand_def(IndexType)
    result = result_def()

    def __init__(self, memref: SSAValue, indices: Sequence[SSAValue]):
        super().__init__(operands=[memref, indices], result_types=[memref.type.element_type])

    def verify_(self) -> None:
        _check_indices(self, self.memref, self.indices)
        if self.result.type != self.memref.type.element_type:
            raise VerifyException(
                f"'{self.name}' op result type {self.result.type} differs from the element "
                f"type of {self.memref.type}"
            )


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Writes one element: `"loop.store"(%v, %buf, %i) : (f32, memref<4xf32>, index) -> ()`."""

    name = "loop.store"
    value = operand_def()
    memref = operand_def(AnyMemRef)
    indices = var_operand_def(IndexType)

    def __init__(self, value: SSAValue, memref: SSAValue, indices: Sequence[SSAValue]):
        super().__init__(operands=[value, memref, indices])

    def verify_(self) -> None:
        _check_indices(self, self.memref, self.indices)
        if self.value.type != self.memref.type.element_type:
            raise VerifyException(
                f"'{self.name}' op value type {self.value.type} differs from the element "
                f"type of {self.memref.type}"
            )


@irdl_op_definition
class AllocOp(IRDLOperation):
    """A new buffer of a static shape with undefined contents, freed by `loop.dealloc`."""

    name = "loop.alloc"
    result = result_def(AnyMemRef)

    def __init__(self, memref_type: MemRefType):
        super().__init__(result_types=[memref_type])

    def verify_(self) -> None:
        _check_static(self, "result", self.result.type)


@irdl_op_definition
class DeallocOp(IRDLOperation):
    """Frees a buffer made by `loop.alloc`."""

    name = "loop.dealloc"
    memref = operand_def(AnyMemRef)

    def __init__(self, memref: SSAValue):
        super().__init__(operands=[memref])


@irdl_op_definition
class ViewOp(IRDLOperation):
    """A typed buffer at a byte offset inside an `i8` arena (in the spirit of MLIR's
    `memref.view`): no copy, the result aliases bytes `[byte_offset, byte_offset + size)`
    of `source`::

        %a = "loop.alloc"() : () -> memref<4096xi8>
        %v = "loop.view"(%a) <{byte_offset = 1024 : i64}> : (memref<4096xi8>) -> memref<8x16xf32>

    `source` is a static 1-D `memref<Nxi8>`; the result a static identity-layout memref.
    Unlike memref.view the offset is a constant property, so the verifier can check that
    the view fits inside the arena and that the offset is a multiple of the element size
    (plan-buffers uses multiples of 64 bytes). Made by plan-buffers
    (passes/loop/plan_buffers.py).
    """

    name = "loop.view"
    source = operand_def(AnyMemRef)
    byte_offset = prop_def(IntegerAttr)
    result = result_def(AnyMemRef)
    traits = traits_def(Pure())

    def __init__(self, source: SSAValue, byte_offset: int, memref_type: MemRefType):
        super().__init__(
            operands=[source],
            result_types=[memref_type],
            properties={"byte_offset": IntegerAttr(byte_offset, IntegerType(64))},
        )

    def verify_(self) -> None:
        src, res = self.source.type, self.result.type
        if (
            len(src.get_shape()) != 1
            or src.element_type != IntegerType(8)
            or src.get_shape()[0] < 0
        ):
            raise VerifyException(
                f"'{self.name}' op source must be a static 1-D memref of i8, got {src}"
            )
        _check_static(self, "result", res)
        if not isinstance(res.layout, NoneAttr):
            raise VerifyException(f"'{self.name}' op result must have the identity layout")
        offset = self.byte_offset.value.data
        size = math.prod(res.get_shape()) * element_bytes(res.element_type)
        if offset < 0 or offset + size > src.get_shape()[0]:
            raise VerifyException(
                f"'{self.name}' op bytes [{offset}, {offset + size}) of {res} do not fit in "
                f"the {src.get_shape()[0]}-byte source"
            )
        if offset % element_bytes(res.element_type):
            raise VerifyException(
                f"'{self.name}' op byte_offset {offset} is not a multiple of the element size "
                f"of {res}"
            )


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """The same buffer seen with another static shape of as many elements (row-major, no
    copy; in the spirit of MLIR's `memref.collapse_shape` / `expand_shape`)::

        %flat = "loop.reshape"(%c) : (memref<1x64x56x56xf32>) -> memref<200704xf32>

    Both types have the identity layout and the same element type. The microkernel lowering
    (passes/tensor_to_loop/microkernel) uses it to address an output as one flat array.
    """

    name = "loop.reshape"
    source = operand_def(AnyMemRef)
    result = result_def(AnyMemRef)
    traits = traits_def(Pure())

    def __init__(self, source: SSAValue, memref_type: MemRefType):
        super().__init__(operands=[source], result_types=[memref_type])

    def verify_(self) -> None:
        src, res = self.source.type, self.result.type
        _check_static(self, "source", src)
        _check_static(self, "result", res)
        if src.element_type != res.element_type or math.prod(src.get_shape()) != math.prod(
            res.get_shape()
        ):
            raise VerifyException(
                f"'{self.name}' op {src} and {res} differ in element type or element count"
            )


def element_bytes(t: Attribute) -> int:
    """Bytes of one memref element in memory (i1 takes a byte; index is 8 bytes)."""
    if isinstance(t, IndexType):
        return 8
    if isinstance(t, IntegerType):
        return max(1, (t.width.data + 7) // 8)
    if isinstance(t, VectorType):
        return math.prod(t.get_shape()) * element_bytes(t.element_type)
    return t.bitwidth // 8


Loop = Dialect("loop", [ForOp, YieldOp, LoadOp, StoreOp, AllocOp, DeallocOp, ViewOp, ReshapeOp], [])
