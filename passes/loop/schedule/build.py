"""Small IR-building helpers shared by the schedule primitives."""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, UnitAttr
from xdsl.ir import Block, Operation, SSAValue

from ....dialects import loop


class Inserter:
    """Inserts ops before a fixed op (or at the end of a block)."""

    def __init__(self, block: Block, before: Operation | None):
        self.block = block
        self.before = before

    def insert(self, op: Operation) -> Operation:
        if self.before is None:
            self.block.add_op(op)
        else:
            self.block.insert_op_before(op, self.before)
        return op

    def index(self, value: int) -> SSAValue:
        return self.insert(arith.ConstantOp(IntegerAttr(value, IndexType()))).results[0]

    def addi(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.insert(arith.AddiOp(a, b)).results[0]

    def subi(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.insert(arith.SubiOp(a, b)).results[0]

    def minsi(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.insert(arith.MinSIOp(a, b)).results[0]

    def for_(
        self, lb: SSAValue, ub: SSAValue, step: SSAValue, parallel: bool = False
    ) -> loop.ForOp:
        """A new empty loop (its body holds only loop.yield)."""
        new = loop.ForOp(lb, ub, step)
        new.body.block.add_op(loop.YieldOp())
        if parallel:
            new.parallel = UnitAttr()
        self.insert(new)
        return new


def body_inserter(lp: loop.ForOp) -> Inserter:
    """Inserts at the end of `lp`'s body, before its loop.yield."""
    block = lp.body.block
    return Inserter(block, block.last_op)


def clone_body(src: Block, into: Inserter, mapping: dict[SSAValue, SSAValue]) -> None:
    """Clone every op of `src` but its terminator, mapping values through `mapping`."""
    for op in src.ops:
        if isinstance(op, loop.YieldOp):
            continue
        into.insert(op.clone(value_mapper=mapping))


def move_body(src: Block, into: Inserter) -> None:
    """Move every op of `src` but its terminator."""
    for op in list(src.ops):
        if isinstance(op, loop.YieldOp):
            continue
        op.detach()
        into.insert(op)


def erase_loop(lp: loop.ForOp) -> None:
    lp.detach()
    lp.erase(safe_erase=False)
