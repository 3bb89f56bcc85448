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

from collections.abc import Sequence

from xdsl.dialects.builtin import IndexType, MemRefType, UnitAttr
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import HasParent, IsTerminator
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


Loop = Dialect("loop", [ForOp, YieldOp, LoadOp, StoreOp, AllocOp, DeallocOp], [])
