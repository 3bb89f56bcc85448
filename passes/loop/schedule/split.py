"""`split`, `reorder` and `tile`: restructure the iteration space of a loop nest."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ....dialects import loop
from .build import Inserter, body_inserter, erase_loop, move_body
from .loops import ScheduleError, child_loops, const_int, describe, index_ops_only, is_inside


def split(lp: loop.ForOp, factor: int, tail: str = "min") -> tuple[loop.ForOp, loop.ForOp]:
    """Split `lp` into an outer loop stepping by `factor` iterations and an inner loop over
    one chunk; returns `(outer, inner)`. The inner loop keeps the original induction
    variable, so the body is unchanged::

        loop.for %i = 0 to 10 step 1 { B(%i) }
      split(factor=4) ->
        loop.for %io = 0 to 10 step 4 {
          %e = arith.addi %io, 4
          %m = arith.minsi %e, 10        // only when 4 does not divide the trip count
          loop.for %i = %io to %m step 1 { B(%i) }
        }

    `tail="loop"` (constant bounds only) instead runs the divisible part split and the last
    `trip % factor` iterations in a copy of the original loop after it (the remainder loop),
    so the inner loop has exactly `factor` iterations.

    Raises ScheduleError if `factor < 1`, the step is not a constant, or `tail` is unknown
    or "loop" with non-constant bounds.
    """
    where = f"split({describe(lp)}, {factor})"
    if not isinstance(factor, int) or factor < 1:
        raise ScheduleError(f"{where}: factor must be a positive integer")
    if tail not in ("min", "loop"):
        raise ScheduleError(f"{where}: tail must be 'min' or 'loop', got {tail!r}")
    step = const_int(lp.step)
    if step is None:
        raise ScheduleError(f"{where}: the step is not a constant")
    lo, hi = const_int(lp.lb), const_int(lp.ub)
    const = lo is not None and hi is not None
    if tail == "loop" and not const:
        raise ScheduleError(f"{where}: tail='loop' needs constant bounds")
    chunk = factor * step
    parallel = lp.parallel is not None
    at = Inserter(lp.parent_block(), lp)
    ub = lp.ub
    exact = const and max(hi - lo, 0) % chunk == 0
    if tail == "loop" and not exact:
        split_at = at.index(lo + max(hi - lo, 0) // chunk * chunk)
        rest = lp.clone()
        at.block.insert_op_after(rest, lp)
        rest.operands = (split_at, rest.ub, rest.step)
        lp.operands = (lp.lb, split_at, lp.step)
        ub, exact = split_at, True
    outer = at.for_(lp.lb, ub, at.index(chunk), parallel)
    inside = body_inserter(outer)
    end = inside.addi(outer.induction_var, inside.index(chunk))
    if not exact:
        end = inside.minsi(end, ub)
    inner = inside.for_(outer.induction_var, end, lp.step, parallel)
    move_body(lp.body.block, body_inserter(inner))
    lp.induction_var.replace_all_uses_with(inner.induction_var)
    erase_loop(lp)
    return outer, inner


def _check_chain(loops: Sequence[loop.ForOp], where: str) -> list[list[Operation]]:
    """Check that `loops` is a perfect nest (each loop's body holds the next loop and only
    index computations besides); return those computations per level."""
    headers: list[list[Operation]] = []
    for k, lp in enumerate(loops[:-1]):
        inner = child_loops(lp.body.block)
        if inner != [loops[k + 1]]:
            raise ScheduleError(
                f"{where}: {describe(loops[k + 1])} is not the only loop directly inside "
                f"{describe(lp)}"
            )
        ops = [
            o for o in lp.body.block.ops if o is not inner[0] and not isinstance(o, loop.YieldOp)
        ]
        if not index_ops_only(ops):
            raise ScheduleError(
                f"{where}: the nest is not perfect: {describe(lp)} holds "
                f"'{next(o.name for o in ops if not index_ops_only([o]))}' besides its loop"
            )
        headers.append(ops)
    return headers


def reorder(loops: Sequence[loop.ForOp], order: Sequence[int]) -> list[loop.ForOp]:
    """Permute the loops of a perfect nest: new level p runs the loop `loops[order[p]]`;
    returns the new loops, outer to inner::

        loop.for %i = 0 to 4 { loop.for %j = 0 to 8 { B(%i, %j) } }
      reorder([i, j], [1, 0]) ->
        loop.for %j = 0 to 8 { loop.for %i = 0 to 4 { B(%i, %j) } }

    The nest must be perfect: each loop's body holds the next loop and otherwise only
    `index` arithmetic (e.g. the bounds split leaves), which moves with its operands.
    Interchanging loops of a perfect nest never reorders two accesses to the same element
    across different points of the iteration space in a way that changes results only if
    the body has no loop-carried dependence between the permuted loops; reorder checks the
    structure, not dependences (a reduction such as matmul's k may move: its updates are
    reassociated, not reordered across elements).

    Raises ScheduleError if `order` is not a permutation, the nest is not perfect, or a
    loop's bounds would use the induction variable of a loop placed inside it.
    """
    where = f"reorder({describe(loops[0])}, {list(order)})" if loops else "reorder"
    n = len(loops)
    if sorted(order) != list(range(n)):
        raise ScheduleError(f"{where}: order must be a permutation of 0..{n - 1}")
    headers = _check_chain(loops, where)
    root = loops[0]
    pending = [op for level in headers for op in level]
    mapping: dict[SSAValue, SSAValue] = {}

    def available(v: SSAValue) -> bool:
        return v in mapping or not is_inside(v, root)

    def flush(into: Inserter) -> None:
        progress = True
        while progress:
            progress = False
            for op in list(pending):
                if all(available(o) for o in op.operands):
                    into.insert(op.clone(value_mapper=mapping))
                    pending.remove(op)
                    progress = True

    at = Inserter(root.parent_block(), root)
    new_loops: list[loop.ForOp] = []
    for k in order:
        old = loops[k]
        flush(at)
        for v in old.operands:
            if not available(v):
                raise ScheduleError(
                    f"{where}: the bounds of {describe(old)} depend on a loop placed inside it"
                )
        new = at.for_(*(mapping.get(v, v) for v in old.operands), old.parallel is not None)
        mapping[old.induction_var] = new.induction_var
        new_loops.append(new)
        at = body_inserter(new)
    flush(at)
    move_body(loops[-1].body.block, at)
    for old, new in mapping.items():
        old.replace_all_uses_with(new)
    erase_loop(root)
    return new_loops


def tile(loops: Sequence[loop.ForOp], sizes: Sequence[int]) -> list[loop.ForOp]:
    """Tile a perfect nest: split each loop by its size, then move the outer (tile) loops
    out; returns the `2n` loops, tile loops then point loops::

        loop.for %i = 0 to 64 { loop.for %j = 0 to 64 { B(%i, %j) } }
      tile([i, j], [16, 32]) ->
        loop.for %io = 0 to 64 step 16 { loop.for %jo = 0 to 64 step 32 {
          loop.for %i = %io to %io+16 { loop.for %j = %jo to %jo+32 { B(%i, %j) } } } }

    Non-dividing sizes get `min` bounds (see `split`). Raises ScheduleError as split and
    reorder do, or if the sizes and loops differ in number.
    """
    if len(loops) != len(sizes):
        raise ScheduleError(
            f"tile({describe(loops[0])}): {len(loops)} loops but {len(sizes)} sizes"
        )
    _check_chain(loops, f"tile({describe(loops[0])})")
    chain: list[loop.ForOp] = []
    for lp, size in zip(loops, sizes):
        chain.extend(split(lp, size))
    n = len(loops)
    return reorder(chain, [2 * k for k in range(n)] + [2 * k + 1 for k in range(n)])
