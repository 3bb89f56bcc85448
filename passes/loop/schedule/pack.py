"""`cache_read` (packing): copy the part of a buffer a loop reads into a contiguous local
buffer before the loop, and make the loop read the copy."""

from __future__ import annotations

from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import OpResult, SSAValue

from ....dialects import loop
from .build import Inserter, body_inserter
from .loops import (
    Affine,
    ScheduleError,
    affine,
    buffer_name,
    collect_accesses,
    describe,
    is_inside,
)


def loaded_buffers(lp: loop.ForOp) -> list[SSAValue]:
    """The buffers `lp` loads from, in order of their first load (walk order)."""
    seen: list[SSAValue] = []
    for a in collect_accesses(lp).items:
        if not a.write and all(a.memref is not s for s in seen):
            seen.append(a.memref)
    return seen


def _extent(inner: loop.ForOp, memo: dict, where: str) -> int:
    """A constant C with every induction value of `inner` in [lb, lb + C)."""
    lo, up = affine(inner.lb, memo), affine(inner.ub, memo)
    diff = up - lo
    if not diff.terms:
        return max(diff.const, 1)
    ub = inner.ub
    if isinstance(ub, OpResult) and isinstance(ub.op, arith.MinSIOp):
        for side in (ub.op.lhs, ub.op.rhs):
            d = affine(side, memo) - lo
            if not d.terms:
                return max(d.const, 1)
    raise ScheduleError(f"{where}: the extent of {describe(inner)} is not a constant")


def _emit(form: Affine, at: Inserter) -> SSAValue:
    acc = at.index(form.const)
    for v, c in form.terms:
        term = v if c == 1 else at.insert(arith.MuliOp(v, at.index(c))).results[0]
        acc = at.addi(acc, term)
    return acc


def cache_read(lp: loop.ForOp, buffer: SSAValue) -> SSAValue:
    """Copy the box of `buffer` that `lp` reads into a new contiguous `loop.alloc` buffer
    before `lp`, rewrite the loads inside `lp` to read it, and free it after; returns the
    new buffer::

        loop.for %k = 0 to 64 {                       %p = loop.alloc : memref<64x16xf32>
          loop.for %j = %j0 to %j0+16 {                loop.for %a = 0 to 64 {   // copy
            %b = loop.load %B[%k, %j] ...                loop.for %b = 0 to min(16, 64-%j0) {
      cache_read(k-loop, %B) ->                            %v = loop.load %B[%a, %j0 + %b]
                                                           loop.store %v, %p[%a, %b] } }
                                                       loop.for %k = 0 to 64 {
                                                         loop.for %j = %j0 to %j0+16 {
                                                           %b = loop.load %p[%k, %j - %j0] }}
                                                       loop.dealloc %p

    Each index of each load must be affine, `sum(c * iv) + d`, with `c >= 0`, `iv` induction
    variables of loops inside `lp` (or `lp` itself) whose range has a constant extent
    (constant bounds, `ub = lb + C`, or `ub = min(lb + C, x)` as split and tile make), their
    lower bounds of the same form (recursively) and `d` defined outside `lp` (and >= 0).
    The box is the union over the loads (their offsets may differ by constants); the copy
    is clipped to the buffer's shape.
    Packing pays when the box is re-read many times (a panel of a matmul operand) or is
    strided in the original buffer. Source: BLIS packing (Van Zee & van de Geijn, 2015);
    TVM's `cache_read`.

    Raises ScheduleError if the loop writes the buffer, does not read it, or an index is
    not of that form.
    """
    where = f"cache_read({describe(lp)}, {buffer_name(buffer)})"
    t = buffer.type
    if not isinstance(t, MemRefType):
        raise ScheduleError(f"{where}: not a buffer")
    acc = collect_accesses(lp)
    if buffer in acc.written():
        raise ScheduleError(f"{where}: the loop writes the buffer")
    loads = acc.on(buffer)
    if not loads:
        raise ScheduleError(f"{where}: the loop does not read the buffer")
    memo: dict = {}
    loops = {o.induction_var: o for o in [lp, *lp.walk()] if isinstance(o, loop.ForOp)}
    rank = len(t.get_shape())
    offsets: list[Affine | None] = [None] * rank
    lows = [0] * rank
    highs = [0] * rank

    def box(f: Affine, d: int) -> tuple[Affine, int]:
        """The smallest value of `f` as a form over values defined outside `lp`, and a
        constant bound on how far above it `f` goes: inner induction variables are
        replaced by their lower bounds (themselves boxed) plus their extents."""
        base = Affine((), f.const)
        span = 0
        for v, c in f.terms:
            inner = loops.get(v)
            if inner is None:
                if is_inside(v, lp):
                    raise ScheduleError(
                        f"{where}: index {d} depends on a value computed in the loop"
                    )
                base = base + Affine.leaf(v).scale(c)
                continue
            if c < 0:
                raise ScheduleError(f"{where}: index {d} decreases with {describe(inner)}")
            lb_base, lb_span = box(affine(inner.lb, memo), d)
            base = base + lb_base.scale(c)
            span += c * (lb_span + _extent(inner, memo, where) - 1)
        return base, span

    for a in loads:
        for d, idx in enumerate(a.indices):
            base, span = box(affine(idx, memo), d)
            if isinstance(a.op, vector.LoadOp) and d == rank - 1:
                span += a.op.result.type.get_shape()[0] - 1
            ref = offsets[d]
            if ref is None:
                offsets[d] = Affine(base.terms, 0)
                lows[d], highs[d] = base.const, base.const + span
            elif (base - ref).terms:
                raise ScheduleError(f"{where}: loads of index {d} are not a constant apart")
            else:
                lows[d] = min(lows[d], base.const)
                highs[d] = max(highs[d], base.const + span)
    # Accessed indices lie in [start, dim): the box never needs more than dim elements.
    shape = [min(h - lo + 1, n) for lo, h, n in zip(lows, highs, t.get_shape())]
    at = Inserter(lp.parent_block(), lp)
    starts = [_emit(Affine(off.terms, lo), at) for off, lo in zip(offsets, lows)]
    local = at.insert(loop.AllocOp(MemRefType(t.element_type, shape))).results[0]
    # The copy nest, clipped to the buffer: t_d < min(shape_d, dim_d - start_d).
    zero, one = at.index(0), at.index(1)
    here = at
    ivs: list[SSAValue] = []
    for d in range(rank):
        left = here.subi(here.index(t.get_shape()[d]), starts[d])
        ub = here.minsi(here.index(shape[d]), left)
        copy = here.for_(zero, ub, one)
        ivs.append(copy.induction_var)
        here = body_inserter(copy)
    src = [here.addi(s, i) for s, i in zip(starts, ivs)]
    value = here.insert(loop.LoadOp(buffer, src)).results[0]
    here.insert(loop.StoreOp(value, local, ivs))
    for a in loads:  # rewrite the loads
        inside = Inserter(a.op.parent_block(), a.op)
        idx = [inside.subi(i, s) for i, s in zip(a.indices, starts)]
        if isinstance(a.op, vector.LoadOp):
            new = vector.LoadOp(local, idx, a.op.result.type)
        else:
            new = loop.LoadOp(local, idx)
        inside.insert(new)
        a.op.results[0].replace_all_uses_with(new.results[0])
        a.op.detach()
        a.op.erase()
    lp.parent_block().insert_op_after(loop.DeallocOp(local), lp)
    return local


pack = cache_read
"""`pack(loop, buffer)`: another name of `cache_read` (BLIS's word for it)."""
