"""Loop handles, loop references and the index analysis the schedule primitives share.

- A *handle* is a live `loop.for` op. `get_loops(root)` gives the loops of a nest, outer to
  inner: the loop itself, then, while a body holds exactly one `loop.for`, that loop.
- A *reference* survives serialization: `(function name, path)`, where the path lists, from
  the function's entry block down, the position of each `loop.for` among the `loop.for` ops
  of its block (`("main", (0, 1))`: the second loop inside the first loop of @main).
- An *affine form* writes an `index` value as `sum(coefficient * leaf) + constant`, where the
  leaves are induction variables or values the form cannot see into (`Affine`).

Errors: ScheduleError (a ValueError) naming the primitive and the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Block, BlockArgument, Operation, OpResult, SSAValue
from xdsl.traits import SymbolTable

from ....dialects import loop


class ScheduleError(ValueError):
    """A schedule primitive cannot be applied (illegal or unsupported); the message names
    the primitive and the loop."""


LoopRef = tuple[str, tuple[int, ...]]


# -- handles and references -----------------------------------------------------------


def child_loops(block: Block) -> list[loop.ForOp]:
    """The `loop.for` ops directly in `block`, in order."""
    return [op for op in block.ops if isinstance(op, loop.ForOp)]


def get_loops(root: loop.ForOp) -> list[loop.ForOp]:
    """The loops of the nest rooted at `root`, outer to inner (see the module docstring)."""
    out = [root]
    while True:
        inner = child_loops(out[-1].body.block)
        if len(inner) != 1:
            return out
        out.append(inner[0])


def loop_ref(lp: loop.ForOp) -> LoopRef:
    """The serializable reference of a live loop."""
    path: list[int] = []
    op: Operation = lp
    while isinstance(op, loop.ForOp):
        block = op.parent_block()
        assert block is not None
        path.append(child_loops(block).index(op))
        parent = block.parent_op()
        assert parent is not None
        op = parent
    if not isinstance(op, func.FuncOp):
        raise ScheduleError("loop is not inside a func.func")
    return op.sym_name.data, tuple(reversed(path))


def describe(lp: loop.ForOp) -> str:
    """`@main loop (0, 1)`: how errors name a loop."""
    try:
        name, path = loop_ref(lp)
    except (ScheduleError, ValueError):
        return "a detached loop"
    return f"@{name} loop {list(path)}"


def find_loop(module: ModuleOp, ref: LoopRef) -> loop.ForOp:
    """The live loop a reference names; ScheduleError if there is none."""
    name, path = ref
    fn = SymbolTable.lookup_symbol(module, name)
    if not isinstance(fn, func.FuncOp) or not fn.body.blocks:
        raise ScheduleError(f"no function @{name} with a body")
    block = fn.body.block
    lp: loop.ForOp | None = None
    for depth, k in enumerate(path):
        loops = child_loops(block)
        if not 0 <= k < len(loops):
            raise ScheduleError(
                f"@{name} loop {list(path)}: level {depth} has {len(loops)} loops, no #{k}"
            )
        lp = loops[k]
        block = lp.body.block
    if lp is None:
        raise ScheduleError(f"@{name}: empty loop path")
    return lp


def buffer_name(v: SSAValue) -> str:
    """How errors name a buffer: its SSA name, or what makes it."""
    if v.name_hint:
        return v.name_hint
    if isinstance(v, OpResult):
        return f"(result of '{v.op.name}')"
    return f"(argument #{v.index})" if isinstance(v, BlockArgument) else "(a buffer)"


# -- constants and invariance ----------------------------------------------------------


def const_int(v: SSAValue) -> int | None:
    """The value of an integer/index `arith.constant`, else None."""
    if isinstance(v, OpResult) and isinstance(v.op, arith.ConstantOp):
        attr = v.op.value
        if isinstance(attr, IntegerAttr):
            return attr.value.data
    return None


def is_inside(v: SSAValue, lp: Operation) -> bool:
    """Whether `v` is defined inside `lp` (by an op in its regions or as a block argument)."""
    owner = v.owner
    op = owner.parent_op() if isinstance(owner, Block) else owner
    while op is not None:
        if op is lp:
            return owner is not lp
        op = op.parent_op()
    return False


def depends_on(v: SSAValue, ivs: set[SSAValue], memo: dict[SSAValue, bool]) -> bool:
    """Whether `v` is computed (through ops in any block) from one of `ivs`."""
    if v in ivs:
        return True
    got = memo.get(v)
    if got is not None:
        return got
    memo[v] = False
    res = isinstance(v, OpResult) and any(depends_on(o, ivs, memo) for o in v.op.operands)
    memo[v] = res
    return res


# -- affine forms ------------------------------------------------------------------------


@dataclass(frozen=True)
class Affine:
    """`sum(terms[leaf] * leaf) + const` over `index` values (leaves compared by identity)."""

    terms: tuple[tuple[SSAValue, int], ...] = ()
    const: int = 0

    @staticmethod
    def leaf(v: SSAValue) -> Affine:
        return Affine(((v, 1),), 0)

    def coef(self, v: SSAValue) -> int:
        return dict(self.terms).get(v, 0)

    def leaves(self) -> list[SSAValue]:
        return [v for v, _ in self.terms]

    def _combine(self, other: Affine, sign: int) -> Affine:
        acc: dict[SSAValue, int] = dict(self.terms)
        for v, c in other.terms:
            acc[v] = acc.get(v, 0) + sign * c
        return Affine(_canon(acc), self.const + sign * other.const)

    def __add__(self, other: Affine) -> Affine:
        return self._combine(other, 1)

    def __sub__(self, other: Affine) -> Affine:
        return self._combine(other, -1)

    def scale(self, k: int) -> Affine:
        return Affine(_canon({v: c * k for v, c in self.terms}), self.const * k)

    def without(self, v: SSAValue) -> Affine:
        return Affine(tuple((w, c) for w, c in self.terms if w is not v), self.const)


def _canon(acc: dict[SSAValue, int]) -> tuple[tuple[SSAValue, int], ...]:
    return tuple(sorted(((v, c) for v, c in acc.items() if c), key=lambda t: id(t[0])))


def affine(v: SSAValue, memo: dict[SSAValue, Affine] | None = None) -> Affine:
    """The affine form of an `index` value: addi/subi/muli-by-constant/constants are seen
    through; anything else (block arguments, other ops) is a leaf."""
    if memo is None:
        memo = {}
    got = memo.get(v)
    if got is not None:
        return got
    c = const_int(v)
    if c is not None:
        res = Affine((), c)
    elif isinstance(v, OpResult) and isinstance(v.op, arith.AddiOp | arith.SubiOp):
        a, b = affine(v.op.lhs, memo), affine(v.op.rhs, memo)
        res = a + b if isinstance(v.op, arith.AddiOp) else a - b
    elif isinstance(v, OpResult) and isinstance(v.op, arith.MuliOp):
        a, b = affine(v.op.lhs, memo), affine(v.op.rhs, memo)
        if not a.terms:
            res = b.scale(a.const)
        elif not b.terms:
            res = a.scale(b.const)
        else:
            res = Affine.leaf(v)
    else:
        res = Affine.leaf(v)
    memo[v] = res
    return res


# -- memory accesses ---------------------------------------------------------------------


@dataclass
class Access:
    op: Operation  # loop.load / loop.store (or vector.load / vector.store)
    memref: SSAValue
    indices: list[SSAValue]
    write: bool


@dataclass
class Accesses:
    """The memory accesses inside a loop, and the ops that make analysis impossible."""

    items: list[Access] = field(default_factory=list)
    opaque: list[Operation] = field(default_factory=list)  # calls, unknown memory effects

    def written(self) -> set[SSAValue]:
        return {a.memref for a in self.items if a.write}

    def on(self, memref: SSAValue) -> list[Access]:
        return [a for a in self.items if a.memref is memref]


def collect_accesses(lp: Operation) -> Accesses:
    """Every load/store in `lp`'s regions (nested loops included)."""
    from xdsl.dialects import vector

    out = Accesses()
    for op in lp.walk():
        if op is lp:
            continue
        if isinstance(op, loop.LoadOp):
            out.items.append(Access(op, op.memref, list(op.indices), False))
        elif isinstance(op, loop.StoreOp):
            out.items.append(Access(op, op.memref, list(op.indices), True))
        elif isinstance(op, vector.LoadOp):
            out.items.append(Access(op, op.base, list(op.indices), False))
        elif isinstance(op, vector.StoreOp):
            out.items.append(Access(op, op.base, list(op.indices), True))
        elif isinstance(op, func.CallOp):
            out.opaque.append(op)
    return out


def private_buffers(lp: Operation) -> set[SSAValue]:
    """Buffers allocated inside `lp` (each iteration has its own)."""
    return {op.result for op in lp.walk() if isinstance(op, loop.AllocOp)}


def loop_extent(lp: loop.ForOp, memo: dict) -> int | None:
    """A constant C with every induction value of `lp` in [lb, lb + C): constant bounds,
    `ub = lb + C`, or `ub = min(lb + C, x)` (as split and tile make); None otherwise."""
    lo = affine(lp.lb, memo)
    diff = affine(lp.ub, memo) - lo
    if not diff.terms:
        return max(diff.const, 1)
    ub = lp.ub
    if isinstance(ub, OpResult) and isinstance(ub.op, arith.MinSIOp):
        for side in (ub.op.lhs, ub.op.rhs):
            d = affine(side, memo) - lo
            if not d.terms:
                return max(d.const, 1)
    return None


def box(
    form: Affine, inner: dict[SSAValue, loop.ForOp], roots: Sequence[Operation], memo: dict
) -> tuple[Affine, int] | None:
    """Bound the values of `form` over the loops in `inner` (induction variable -> loop):
    `(base, span)` with every value in [base, base + span], `base` a form over values
    defined outside `roots` (and any variable not in `inner` that `form` keeps, such as the
    iv of a root); None if some coefficient of an inner iv is negative, an inner loop has
    no constant extent, or a leaf is computed inside the roots."""
    base = Affine((), form.const)
    span = 0
    for v, c in form.terms:
        lp = inner.get(v)
        if lp is None:
            if any(is_inside(v, r) for r in roots) and not any(
                v is r.induction_var for r in roots if isinstance(r, loop.ForOp)
            ):
                return None
            base = base + Affine.leaf(v).scale(c)
            continue
        ext = loop_extent(lp, memo)
        sub = box(affine(lp.lb, memo), inner, roots, memo)
        if c < 0 or ext is None or sub is None:
            return None
        base = base + sub[0].scale(c)
        span += c * (sub[1] + ext - 1)
    return base, span


def disjoint_dim(
    accesses: Sequence[Access], iv: SSAValue, roots: Sequence[loop.ForOp], memo: dict
) -> int | None:
    """A dimension d in which iteration `iv` of the loop(s) `roots` (sharing `iv`) touches
    only [a * iv + b, a * iv + b + span] in every access, with a != 0, the same `a * iv + b`
    in all accesses, `b` defined outside the roots, and `span < |a| * step`: then different
    iterations touch disjoint slices of that dimension. Inner loops' induction variables
    are bounded by their ranges (see `box`). None if there is no such dimension."""
    if not accesses:
        return None
    step = const_int(roots[0].step)
    inner = {
        o.induction_var: o
        for r in roots
        for o in r.walk()
        if isinstance(o, loop.ForOp) and o is not r
    }
    rank = len(accesses[0].indices)
    for d in range(rank):
        boxes = [box(affine(a.indices[d], memo), inner, roots, memo) for a in accesses]
        if any(b is None for b in boxes):
            continue
        first = boxes[0][0]
        a = first.coef(iv)
        if a == 0 or step is None or any(b[0] != first for b in boxes[1:]):
            continue
        if max(b[1] for b in boxes) < abs(a) * step:
            return d
    return None


def index_ops_only(ops: Iterable[Operation]) -> bool:
    """Whether every op is a pure index computation (constants, integer arith)."""
    for op in ops:
        if not op.name.startswith("arith.") or any(
            not isinstance(r.type, IndexType) for r in op.results
        ):
            return False
    return True
