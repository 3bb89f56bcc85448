"""`unroll`: replicate a loop body (by a factor, or fully)."""

from __future__ import annotations

from xdsl.ir import SSAValue

from ....dialects import loop
from .build import Inserter, body_inserter, clone_body, erase_loop
from .loops import ScheduleError, affine, const_int, describe

MAX_FULL_UNROLL = 1024
"""Largest trip count `unroll(loop, "full")` accepts (copies of the body)."""


def unroll(lp: loop.ForOp, factor: int | str) -> loop.ForOp | None:
    """Unroll `lp` by `factor` (an int >= 1) or fully (`"full"`).

    By a factor, the loop steps `factor` times as far and its body holds `factor` copies,
    the k-th with the induction variable plus `k * step`; the last `trip % factor`
    iterations stay in a remainder copy of the original loop after it. Returns the main
    loop (None when it would be empty)::

        loop.for %i = 0 to 10 step 1 { B(%i) }
      unroll(factor=4) ->
        loop.for %i = 0 to 8 step 4 { B(%i); %i1 = %i + 1; B(%i1); ... B(%i3) }
        loop.for %i = 8 to 10 step 1 { B(%i) }

    Fully, the loop is replaced by one copy of the body per iteration, with the induction
    variable `lb + k * step` (a constant for a constant lb; at most MAX_FULL_UNROLL
    copies); returns None. The trip count must be a constant: constant bounds, or
    `[x, x + C)` (the inner loop of an exact split or tile).

    Raises ScheduleError if the trip count or the step is not a constant, or the factor
    is not a positive integer or "full", or a full unroll would exceed MAX_FULL_UNROLL.
    """
    where = f"unroll({describe(lp)}, {factor!r})"
    step = const_int(lp.step)
    span = affine(lp.ub) - affine(lp.lb)
    if step is None or step < 1 or span.terms:
        raise ScheduleError(
            f"{where}: the trip count must be a constant (constant bounds, or [x, x + C), "
            "and a constant step)"
        )
    trips = len(range(0, span.const, step))
    lo = const_int(lp.lb)
    at = Inserter(lp.parent_block(), lp)

    def offset(into: Inserter, base: SSAValue, k: int) -> SSAValue:
        """`base + k` (a constant when the base is one)."""
        if k == 0:
            return base
        c = const_int(base)
        return into.index(c + k) if c is not None else into.addi(base, into.index(k))

    if factor == "full":
        if trips > MAX_FULL_UNROLL:
            raise ScheduleError(f"{where}: {trips} iterations > {MAX_FULL_UNROLL}")
        for k in range(trips):
            clone_body(lp.body.block, at, {lp.induction_var: offset(at, lp.lb, k * step)})
        erase_loop(lp)
        return None
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ScheduleError(f"{where}: factor must be a positive integer or 'full'")
    main_trips = trips // factor * factor
    whole = main_trips == trips
    split_at = lp.ub if whole and lo is None else offset(at, lp.lb, main_trips * step)
    main: loop.ForOp | None = None
    if main_trips:
        main = at.for_(lp.lb, split_at, at.index(step * factor), lp.parallel is not None)
        inside = body_inserter(main)
        iv = main.induction_var
        for k in range(factor):
            mapping: dict[SSAValue, SSAValue] = {
                lp.induction_var: iv if k == 0 else inside.addi(iv, inside.index(k * step))
            }
            clone_body(lp.body.block, inside, mapping)
    if whole:
        erase_loop(lp)
    else:
        lp.operands = (split_at, lp.ub, lp.step)
    return main
