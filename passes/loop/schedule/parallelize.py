"""`parallelize`: mark a loop's iterations independent (the `parallel` property)."""

from __future__ import annotations

from xdsl.dialects.builtin import UnitAttr

from ....dialects import loop
from .loops import (
    ScheduleError,
    buffer_name,
    collect_accesses,
    describe,
    disjoint_dim,
    private_buffers,
)


def check_independent(lp: loop.ForOp, where: str) -> None:
    """Raise ScheduleError unless the iterations of `lp` provably touch disjoint elements of
    every buffer they write (see `parallelize`)."""
    acc = collect_accesses(lp)
    if acc.opaque:
        raise ScheduleError(f"{where}: the loop contains a call ('{acc.opaque[0].name}')")
    private = private_buffers(lp)
    memo: dict = {}
    for buf in acc.written() - private:
        if disjoint_dim(acc.on(buf), lp.induction_var, [lp], memo) is None:
            raise ScheduleError(
                f"{where}: iterations may touch the same elements of buffer "
                f"{buffer_name(buf)} (a reduction or a shifted access)"
            )


def parallelize(lp: loop.ForOp) -> loop.ForOp:
    """Set the `parallel` unit property of `lp` after a conservative independence check;
    returns `lp`::

        "loop.for"(%c0, %c8, %c1) ({ ... }) : (index, index, index) -> ()
      parallelize ->
        "loop.for"(%c0, %c8, %c1) <{parallel}> ({ ... }) : (index, index, index) -> ()

    The check: for every buffer written inside the loop (other than buffers allocated
    inside it), there must be one dimension in which every load and store of that buffer in
    the loop indexes `c * iv + d` plus at most `span` (inner loops' induction variables,
    bounded by their constant extents), with the same `c != 0` and `d` (defined outside the
    loop) everywhere and `span < |c| * step`. Then each iteration owns a slice of the buffer
    (so the tile loop of a tiled nest parallelizes). Distinct SSA values are
    distinct buffers (as the runtime guarantees). Reductions into a shared element (the k
    loop of a matmul) are refused.

    Raises ScheduleError naming the loop and the buffer otherwise, or if the loop contains
    a call.
    """
    check_independent(lp, f"parallelize({describe(lp)})")
    lp.parallel = UnitAttr()
    return lp
