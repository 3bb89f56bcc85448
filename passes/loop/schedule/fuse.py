"""`fuse`: merge two adjacent sibling loops with equal bounds into one."""

from __future__ import annotations

from ....dialects import loop
from .build import body_inserter, erase_loop, move_body
from .loops import (
    ScheduleError,
    buffer_name,
    collect_accesses,
    const_int,
    describe,
    disjoint_dim,
)


def _same(a, b) -> bool:
    ca, cb = const_int(a), const_int(b)
    return a is b or (ca is not None and ca == cb)


def fuse(a: loop.ForOp, b: loop.ForOp) -> loop.ForOp:
    """Fuse loop `b` into loop `a`: `b` must directly follow `a` in the same block and have
    the same bounds and step (same values or equal constants). Returns `a`, whose body runs
    `a`'s body then `b`'s, with `b`'s induction variable replaced by `a`'s::

        loop.for %i = 0 to 8 { A(%i) }
        loop.for %j = 0 to 8 { B(%j) }
      fuse ->
        loop.for %i = 0 to 8 { A(%i); B(%i) }

    Legality (conservative; buffers are distinct SSA values, which the runtime and
    convert-tensor-to-loop guarantee): for every buffer that one loop writes and the other
    reads or writes, every access to it in both loops must select, in one dimension, the
    same slice `c * iv + d` (c != 0, d defined outside the loops). Then iteration i of `b`
    touches only elements that iteration i of `a` touched, so running `b`'s iteration i
    right after `a`'s reads the same values as running it after all of `a`.
    Source: the zero-distance dependence test of loop fusion (Kennedy & Allen, *Optimizing
    Compilers for Modern Architectures*, ch. 8).

    Raises ScheduleError naming both loops if they are not adjacent, have different bounds,
    contain calls, or share a buffer in a way the check cannot prove safe.
    """
    where = f"fuse({describe(a)}, {describe(b)})"
    if a.parent_block() is not b.parent_block() or a.next_op is not b:
        raise ScheduleError(f"{where}: the loops are not adjacent siblings")
    if not all(_same(x, y) for x, y in zip(a.operands, b.operands)):
        raise ScheduleError(f"{where}: the loops have different bounds or steps")
    b_uses = [(u.operation, u.index) for u in b.induction_var.uses]
    b.induction_var.replace_all_uses_with(a.induction_var)  # one iv for the analysis
    acc_a, acc_b = collect_accesses(a), collect_accesses(b)
    problem = None
    if acc_a.opaque or acc_b.opaque:
        problem = "a loop contains a call"
    shared = (acc_a.written() & {x.memref for x in acc_b.items}) | (
        acc_b.written() & {x.memref for x in acc_a.items}
    )
    memo: dict = {}
    for buf in sorted(shared, key=buffer_name):
        if (
            problem is None
            and disjoint_dim(acc_a.on(buf) + acc_b.on(buf), a.induction_var, [a, b], memo) is None
        ):
            problem = (
                f"buffer {buffer_name(buf)} is accessed across iterations (no dimension "
                "indexed by the same multiple of the induction variable in both loops)"
            )
    if problem is not None:
        for user, k in b_uses:  # undo: the IR is left as it was
            ops = list(user.operands)
            ops[k] = b.induction_var
            user.operands = ops
        raise ScheduleError(f"{where}: {problem}")
    move_body(b.body.block, body_inserter(a))
    if a.parallel is not None and b.parallel is None:
        a.parallel = None
    erase_loop(b)
    return a
