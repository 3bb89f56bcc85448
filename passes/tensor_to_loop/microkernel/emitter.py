"""Index arithmetic for the microkernel lowerings (lower.py, direct_conv.py,
layout_transpose.py): an emitter of `index` arithmetic and `loop.for` nests at a moving
builder (`IndexEmitter`), row-major strides (`strides`), affine expressions as linear forms
(`linear`) and the thread count the lowerings plan for (`thread_count`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith
from xdsl.dialects.builtin import UnitAttr
from xdsl.ir import SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
)

from ....backends.target import Target
from ....dialects import loop


class IndexEmitter:
    """Index arithmetic and loops, emitted with builder `b`; constants from `L.index`
    (`L`: convert-tensor-to-loop's lowering state). Operands are SSA values or ints."""

    def __init__(self, L, b: Builder):
        self.L = L
        self.b = b

    def c(self, v: int) -> SSAValue:
        return self.L.index(v)

    def _binary(self, op_cls, x, y) -> SSAValue:
        return self.b.insert(op_cls(self._v(x), self._v(y))).result

    def add(self, x, y) -> SSAValue:
        return self._binary(arith.AddiOp, x, y)

    def mul(self, x, y) -> SSAValue:
        return self._binary(arith.MuliOp, x, y)

    def sub(self, x, y) -> SSAValue:
        return self._binary(arith.SubiOp, x, y)

    def min(self, x, y) -> SSAValue:
        return self._binary(arith.MinSIOp, x, y)

    def div(self, x, y) -> SSAValue:
        return self._binary(arith.DivSIOp, x, y)

    def rem(self, x, y) -> SSAValue:
        return self._binary(arith.RemSIOp, x, y)

    def ceildiv(self, x, y: int) -> SSAValue:
        return self.div(self.add(x, y - 1), y)

    def _v(self, x) -> SSAValue:
        return self.c(x) if isinstance(x, int) else x

    def loop(self, lb, ub, step: int = 1, parallel: bool = False) -> tuple[IndexEmitter, SSAValue]:
        """A loop.for here; returns an emitter in its body and its induction variable."""
        op = self.b.insert(loop.ForOp(self._v(lb), self._v(ub), self.c(step)))
        if parallel:
            op.parallel = UnitAttr()
        term = loop.YieldOp()
        op.body.block.add_op(term)
        return IndexEmitter(self.L, Builder(InsertPoint.before(term))), op.induction_var

    def affine(self, e: AffineExpr, dims: dict[int, SSAValue]) -> SSAValue:
        if isinstance(e, AffineDimExpr):
            return dims[e.position]
        if isinstance(e, AffineConstantExpr):
            return self.c(e.value)
        assert isinstance(e, AffineBinaryOpExpr)
        lhs, rhs = self.affine(e.lhs, dims), self.affine(e.rhs, dims)
        op = {
            AffineBinaryOpKind.Add: arith.AddiOp,
            AffineBinaryOpKind.Mul: arith.MuliOp,
            AffineBinaryOpKind.Mod: arith.RemSIOp,
            AffineBinaryOpKind.FloorDiv: arith.FloorDivSIOp,
            AffineBinaryOpKind.CeilDiv: arith.CeilDivSIOp,
        }[e.kind]
        return self.b.insert(op(lhs, rhs)).result

    def unravel(self, linear: SSAValue, dims: Sequence[int], ranges: Sequence[int]) -> dict:
        """Row-major digits of `linear` over `dims` (no division for the last dim alone)."""
        out: dict[int, SSAValue] = {}
        for k, d in enumerate(reversed(dims)):
            if k == len(dims) - 1:
                out[d] = linear
            else:
                out[d] = self.rem(linear, ranges[d])
                linear = self.div(linear, ranges[d])
        return out


def strides(shape: Sequence[int]) -> list[int]:
    """The row-major strides of `shape`, in elements."""
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def linear(e: AffineExpr) -> tuple[dict[int, int], int] | None:
    """`e` as ({dim: coefficient}, constant), or None if it has mod / floordiv / ceildiv
    or a product of two dims."""
    if isinstance(e, AffineDimExpr):
        return {e.position: 1}, 0
    if isinstance(e, AffineConstantExpr):
        return {}, e.value
    assert isinstance(e, AffineBinaryOpExpr)
    lhs, rhs = linear(e.lhs), linear(e.rhs)
    if lhs is None or rhs is None:
        return None
    if e.kind == AffineBinaryOpKind.Add:
        terms = dict(lhs[0])
        for d, k in rhs[0].items():
            terms[d] = terms.get(d, 0) + k
        return terms, lhs[1] + rhs[1]
    if e.kind == AffineBinaryOpKind.Mul:
        if not rhs[0]:
            return {d: k * rhs[1] for d, k in lhs[0].items()}, lhs[1] * rhs[1]
        if not lhs[0]:
            return {d: k * lhs[1] for d, k in rhs[0].items()}, lhs[1] * rhs[1]
    return None


def thread_count(module) -> int:
    """The thread count of the module's Target (backends/target.py), which parallelize-loops
    compiles for: with one thread, no work is spent on splitting rows for threads."""
    return Target.of(module).num_threads
