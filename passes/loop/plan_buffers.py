"""`plan-buffers`: place a function's intermediate buffers in one arena, sharing memory
between buffers whose lifetimes do not overlap.

convert-tensor-to-loop gives every intermediate tensor its own `loop.alloc`, freed by a
`loop.dealloc` before the return, so a model allocates (and, above the stack budget of
convert-loop-to-llvm, mallocs and frees) every intermediate on every call, and its peak
memory is the sum of all of them. This pass replaces them by one `loop.alloc` of an `i8`
arena per call and a `loop.view` per buffer::

    %a = "loop.alloc"() : () -> memref<64xf32>
    func.call @nest0(%x, %a) : (memref<64xf32>, memref<64xf32>) -> ()
    %b = "loop.alloc"() : () -> memref<64xf32>
    func.call @nest1(%a, %b) : (memref<64xf32>, memref<64xf32>) -> ()
    %c = "loop.alloc"() : () -> memref<64xf32>
    func.call @nest2(%b, %c) : (memref<64xf32>, memref<64xf32>) -> ()
    func.call @nest3(%c, %out) : (memref<64xf32>, memref<64xf32>) -> ()
    "loop.dealloc"(%a) : (memref<64xf32>) -> ()
    "loop.dealloc"(%b) : (memref<64xf32>) -> ()
    "loop.dealloc"(%c) : (memref<64xf32>) -> ()

becomes (%a and %c never live at the same time: they share bytes 0-255)::

    %arena = "loop.alloc"() : () -> memref<512xi8>
    %a = "loop.view"(%arena) <{byte_offset = 0 : i64}> : (memref<512xi8>) -> memref<64xf32>
    func.call @nest0(%x, %a) : ...
    %b = "loop.view"(%arena) <{byte_offset = 256 : i64}> : (memref<512xi8>) -> memref<64xf32>
    func.call @nest1(%a, %b) : ...
    %c = "loop.view"(%arena) <{byte_offset = 0 : i64}> : (memref<512xi8>) -> memref<64xf32>
    func.call @nest2(%b, %c) : ...
    func.call @nest3(%c, %out) : ...
    "loop.dealloc"(%arena) : (memref<512xi8>) -> ()

Which buffers: `loop.alloc`s directly in a function's body block (not inside a loop) with
a static shape, freed by exactly one `loop.dealloc` in that block and not returned. Others
are left alone.

Liveness: the top-level ops of the body are numbered in program order; a buffer lives from
the first to the last top-level op that uses it or a memref derived from it (the result of
a `loop.reshape`, or of any op that takes it and yields a memref); an op inside a loop
counts as its top-level ancestor loop. Two buffers whose intervals share an op (one read,
one written by the same call, say) overlap and get disjoint bytes; buffers whose intervals
are disjoint may share bytes, since the later one is first written after the earlier one
is last read in program order. Buffers without uses live at their alloc.

Placement: greedy by size (largest first, ties by first use), each at the best-fit gap
(the smallest gap between the byte ranges of the already placed buffers that overlap it in
time, at a 64-byte aligned offset, else after the last of them). The arena is the end of
the highest buffer, rounded up to 64 bytes.

Where in the pipeline: after outline-loop-nests. That pass proves the `noalias` of the
outlined nests' arguments from the distinctness of `loop.alloc`s; views passed to one call
are live at that call, so they stay disjoint and the attributes stay true, whereas views
made before outlining would hide that distinctness from it. Each buffer also remains
64-byte aligned, as outline-loop-nests and convert-loop-to-llvm assume for allocations.

Option `min_buffers` (default 2): functions with fewer candidate buffers are left alone.
Statistics (`--pass-statistics`): `buffers-planned`, `buffer-bytes` (their sum) and
`arena-bytes`. `plan_function` returns the `Plan` (buffers, offsets, intervals,
`planned_bytes` = the sum of the buffers' sizes, `arena_bytes`) for tools and tests.

Source: the greedy-by-size offset planner of TensorFlow Lite (Pisarchyk and Lee, "Efficient
Memory Management for Deep Neural Net Inference", 2020); MLIR's memref.view for the view.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, MemRefType, ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import IsTerminator

from ...dialects import loop
from ..infra.statistics import bump

ALIGN = 64


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass
class Buffer:
    """One planned buffer: its alloc, byte size, live interval [start, end] (top-level op
    numbers, inclusive) and the byte offset chosen for it."""

    alloc: loop.AllocOp
    size: int
    start: int
    end: int
    offset: int = -1

    def overlaps(self, other: Buffer) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass
class Plan:
    """The buffers of one function and the arena size (bytes)."""

    buffers: list[Buffer] = field(default_factory=list)
    arena_bytes: int = 0

    @property
    def planned_bytes(self) -> int:
        return sum(b.size for b in self.buffers)


def assign_offsets(buffers: list[Buffer]) -> int:
    """Set `offset` of every buffer (greedy by size, best fit, 64-byte aligned) so that
    buffers with overlapping intervals get disjoint byte ranges; return the arena size."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.start, b.end)):
        busy = sorted((p.offset, p.offset + p.size) for p in placed if p.overlaps(buf))
        best, best_gap, cursor = None, None, 0
        for lo, hi in busy:
            gap = lo - cursor
            if gap >= buf.size and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, _align(hi))
        buf.offset = cursor if best is None else best
        placed.append(buf)
    return _align(max((b.offset + b.size for b in buffers), default=0))


def _top_level(op: Operation, block: Block) -> Operation | None:
    while op.parent_block() is not block:
        parent = op.parent_op()
        if parent is None:
            return None
        op = parent
    return op


def _candidates(block: Block) -> Iterable[tuple[loop.AllocOp, loop.DeallocOp]]:
    for op in block.ops:
        if not isinstance(op, loop.AllocOp):
            continue
        t = op.result.type
        if not isinstance(t, MemRefType) or any(d < 0 for d in t.get_shape()):
            continue
        deallocs = [u.operation for u in op.result.uses if isinstance(u.operation, loop.DeallocOp)]
        if len(deallocs) != 1 or deallocs[0].parent_block() is not block:
            continue
        if any(isinstance(u.operation, func.ReturnOp) for u in op.result.uses):
            continue
        yield op, deallocs[0]


def _live_positions(
    alloc: loop.AllocOp, dealloc: loop.DeallocOp, block: Block, index: dict[Operation, int]
) -> list[int] | None:
    """The top-level op numbers where the buffer of `alloc`, or a memref derived from it
    (`loop.reshape`, or any op with memref results that takes it), is used; None if the
    buffer escapes (returned, or an alias deallocated) and must not be planned."""
    positions = [index[alloc]]
    values = [alloc.result]
    while values:
        for u in values.pop().uses:
            user = u.operation
            if user is dealloc:
                continue
            if isinstance(user, func.ReturnOp | loop.DeallocOp):
                return None
            top = _top_level(user, block)
            if top is None:
                return None
            positions.append(index[top])
            values.extend(r for r in user.results if isinstance(r.type, MemRefType))
    if len(positions) > 1:
        positions.pop(0)  # the view is pure: the buffer is live from its first real use
    return positions


def plan_function(fn: func.FuncOp, min_buffers: int = 2) -> Plan | None:
    """Plan and rewrite the buffers of `fn` (see the module docstring); the plan, or None
    if the function was left alone."""
    if not fn.body.blocks:
        return None
    block = fn.body.block
    cands = list(_candidates(block))
    if len(cands) < min_buffers:
        return None
    index = {op: i for i, op in enumerate(block.ops)}
    plan = Plan()
    for alloc, dealloc in cands:
        t = alloc.result.type
        size = max(1, math.prod(t.get_shape()) * loop.element_bytes(t.element_type))
        uses = _live_positions(alloc, dealloc, block, index)
        if uses is not None:
            plan.buffers.append(Buffer(alloc, size, min(uses), max(uses)))
    if len(plan.buffers) < min_buffers:
        return None
    plan.arena_bytes = assign_offsets(plan.buffers)
    _rewrite(block, plan)
    return plan


def _rewrite(block: Block, plan: Plan) -> None:
    rw = Rewriter()
    first = min((b.alloc for b in plan.buffers), key=block.get_operation_index)
    arena = loop.AllocOp(MemRefType(IntegerType(8), [plan.arena_bytes]))
    rw.insert_op(arena, InsertPoint.before(first))
    for buf in plan.buffers:
        for u in list(buf.alloc.result.uses):
            if isinstance(u.operation, loop.DeallocOp):
                rw.erase_op(u.operation)
        view = loop.ViewOp(arena.result, buf.offset, buf.alloc.result.type)
        rw.replace_op(buf.alloc, view)
    last = block.last_op
    if last is not None and last.has_trait(IsTerminator):
        rw.insert_op(loop.DeallocOp(arena.result), InsertPoint.before(last))
    else:
        rw.insert_op(loop.DeallocOp(arena.result), InsertPoint.at_end(block))


@dataclass(frozen=True)
class PlanBuffersPass(ModulePass):
    """Place each function's intermediate buffers in one arena by liveness (see the module
    docstring). Option `min_buffers`: leave functions with fewer candidates alone."""

    name = "plan-buffers"

    min_buffers: int = 2

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in list(op.walk()):
            if isinstance(fn, func.FuncOp):
                plan = plan_function(fn, self.min_buffers)
                if plan is not None:
                    bump("buffers-planned", len(plan.buffers))
                    bump("buffer-bytes", plan.planned_bytes)
                    bump("arena-bytes", plan.arena_bytes)
