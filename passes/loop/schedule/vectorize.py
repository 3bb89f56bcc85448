"""`vectorize`: turn an innermost loop into a loop over vectors plus a scalar remainder."""

from __future__ import annotations

from xdsl.dialects import arith, vector
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import BoolAttr, IndexType, VectorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.traits import is_side_effect_free

from ....dialects import loop
from .build import Inserter, body_inserter, erase_loop
from .loops import ScheduleError, affine, buffer_name, child_loops, const_int, depends_on, describe

# Ops applied lane by lane when an operand varies with the induction variable (all have
# vector forms in the interpreter and in convert-loop-to-llvm).
ELEMENTWISE: tuple[type[Operation], ...] = (
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.NegfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.MaxnumfOp,
    arith.MinnumfOp,
    arith.SelectOp,
    arith.ExtFOp,
    arith.TruncFOp,
    mth.AbsFOp,
    mth.SqrtOp,
    mth.ExpOp,
    mth.LogOp,
    mth.TanhOp,
    mth.FmaOp,
)


def _vec(t: Attribute, width: int) -> VectorType:
    return VectorType(t, [width])


class _Vectorizer:
    def __init__(self, lp: loop.ForOp, width: int, nontemporal: bool, where: str):
        self.lp = lp
        self.width = width
        self.nontemporal = nontemporal
        self.where = where
        self.iv = lp.induction_var
        self.memo: dict = {}
        self.forms: dict = {}

    def varies(self, v: SSAValue) -> bool:
        return depends_on(v, {self.iv}, self.memo)

    def check_access(self, op: Operation, indices) -> None:
        """Unit stride in the last dimension, invariant in the others."""
        *lead, last = indices
        if any(self.varies(i) for i in lead) or affine(last, self.forms).coef(self.iv) != 1:
            raise ScheduleError(
                f"{self.where}: '{op.name}' is not unit-stride in the induction variable "
                "(it must index the last dimension with iv + invariant)"
            )

    def check(self) -> None:
        body = self.lp.body.block
        if child_loops(body):
            raise ScheduleError(f"{self.where}: the loop is not innermost")
        written: dict[SSAValue, list] = {}
        for op in body.ops:
            if isinstance(op, loop.YieldOp):
                continue
            if isinstance(op, loop.StoreOp):
                if not any(self.varies(i) for i in op.indices):
                    raise ScheduleError(
                        f"{self.where}: '{op.name}' writes the same element in every "
                        "iteration (a reduction); vectorize an outer, parallel dimension"
                    )
                self.check_access(op, op.indices)
                written.setdefault(op.memref, []).append(op)
            elif isinstance(op, loop.LoadOp):
                if any(self.varies(i) for i in op.indices):
                    self.check_access(op, op.indices)
            elif all(isinstance(r.type, IndexType) for r in op.results) and op.results:
                for r in op.results:
                    if self.varies(r):
                        for use in r.uses:
                            user = use.operation
                            ok = isinstance(user, loop.LoadOp | loop.StoreOp) and (
                                use.index >= (2 if isinstance(user, loop.StoreOp) else 1)
                            )
                            if not ok and not (
                                isinstance(user, arith.AddiOp | arith.SubiOp | arith.MuliOp)
                            ):
                                raise ScheduleError(
                                    f"{self.where}: the induction variable flows into "
                                    f"'{user.name}' as a value, not an address"
                                )
            elif any(self.varies(o) for o in op.operands):
                if isinstance(op, arith.SelectOp) and self.varies(op.cond):
                    # xDSL's arith.cmpf/select have no vector<N x i1> form
                    raise ScheduleError(f"{self.where}: a select whose condition varies")
                if not isinstance(op, ELEMENTWISE):
                    raise ScheduleError(f"{self.where}: cannot vectorize '{op.name}'")
            elif op.regions or not is_side_effect_free(op):
                # it would run once per vector instead of once per iteration
                raise ScheduleError(
                    f"{self.where}: cannot vectorize '{op.name}' (regions or side effects)"
                )
        for op in body.ops:  # uses of the iv itself as a value
            for o in op.operands:
                if o is self.iv and not isinstance(
                    op, loop.LoadOp | loop.StoreOp | arith.AddiOp | arith.SubiOp | arith.MuliOp
                ):
                    raise ScheduleError(
                        f"{self.where}: the induction variable flows into '{op.name}'"
                    )
        for buf, stores in written.items():
            keys = {tuple(affine(i, self.forms) for i in s.indices) for s in stores}
            for op in body.ops:
                if isinstance(op, loop.LoadOp) and op.memref is buf:
                    keys.add(tuple(affine(i, self.forms) for i in op.indices))
            if len(keys) > 1:
                raise ScheduleError(
                    f"{self.where}: buffer {buffer_name(buf)} is read and written at "
                    "different elements in one iteration (a dependence between lanes)"
                )

    def emit(self, new_loop: loop.ForOp) -> None:
        w = self.width
        at = body_inserter(new_loop)
        vmap: dict[SSAValue, SSAValue] = {self.iv: new_loop.induction_var}
        vectors: dict[SSAValue, SSAValue] = {}  # old varying value -> its vector
        splats: dict[SSAValue, SSAValue] = {}

        def as_vector(v: SSAValue) -> SSAValue:
            got = vectors.get(v)
            if got is not None:
                return got
            got = splats.get(v)
            if got is None:
                src = vmap.get(v, v)
                got = at.insert(vector.BroadcastOp(src, _vec(src.type, w))).results[0]
                splats[v] = got
            return got

        for op in self.lp.body.block.ops:
            if isinstance(op, loop.YieldOp):
                continue
            if isinstance(op, loop.LoadOp) and any(self.varies(i) for i in op.indices):
                idx = [vmap.get(i, i) for i in op.indices]
                new = vector.LoadOp(vmap.get(op.memref, op.memref), idx, _vec(op.result.type, w))
                vectors[op.result] = at.insert(new).results[0]
            elif isinstance(op, loop.StoreOp):
                idx = [vmap.get(i, i) for i in op.indices]
                nt = BoolAttr.from_bool(True) if self.nontemporal else None
                at.insert(
                    vector.StoreOp(
                        as_vector(op.value), vmap.get(op.memref, op.memref), idx, nontemporal=nt
                    )
                )
            elif (
                op.results
                and any(self.varies(o) for o in op.operands)
                and not isinstance(op.results[0].type, IndexType)
            ):
                scalar_cond = isinstance(op, arith.SelectOp) and not self.varies(op.cond)
                operands = [
                    vmap.get(o, o) if k == 0 and scalar_cond else as_vector(o)
                    for k, o in enumerate(op.operands)
                ]  # select may keep a scalar condition
                new = type(op).create(
                    operands=operands,
                    result_types=[_vec(r.type, w) for r in op.results],
                    properties=dict(op.properties),
                    attributes=dict(op.attributes),
                )
                at.insert(new)
                for old, res in zip(op.results, new.results):
                    vectors[old] = res
            else:  # uniform ops and address arithmetic: scalar clones
                at.insert(op.clone(value_mapper=vmap))


def vectorize(lp: loop.ForOp, width: int, nontemporal: bool = False) -> loop.ForOp | None:
    """Vectorize the innermost loop `lp` by `width` lanes: a loop stepping `width` over
    `vector<width x T>` values, then a scalar remainder loop (the original loop, from where
    the vector loop stops) for the last `trip % width` iterations. Returns the vector loop
    (None if the loop has fewer than `width` iterations)::

        loop.for %i = 0 to 10 step 1 {
          %x = loop.load %a[%r, %i]; %s = loop.load %b[%r]
          %y = arith.mulf %x, %s : f32; loop.store %y, %c[%r, %i] }
      vectorize(width=4) ->
        loop.for %i = 0 to 8 step 4 {
          %x = vector.load %a[%r, %i] : memref<..xf32>, vector<4xf32>
          %s = loop.load %b[%r]; %sv = vector.broadcast %s : f32 to vector<4xf32>
          %y = arith.mulf %x, %sv : vector<4xf32>; vector.store %y, %c[%r, %i] }
        loop.for %i = 8 to 10 step 1 { ...the original body... }

    Rules: the loop is innermost with step 1; a load or store whose indices vary with the
    induction variable `iv` must index the last dimension with `iv + invariant` (unit
    stride) and the others with invariants (vector.load / vector.store); loads with
    invariant indices stay scalar and are broadcast where a vector op uses them; float ops
    with a varying operand become the same op on vectors (ELEMENTWISE); `index` arithmetic
    on `iv` may only feed addresses. A store to an invariant element (a reduction) and a
    buffer read and written at different elements are refused. `nontemporal` marks the
    vector stores as streaming (no cache fill). A constant trip count (constant bounds, or
    `[x, x + C)` as split makes) needs no run-time arithmetic and no remainder when the
    width divides it; other bounds are fine (the vector loop's end is computed with arith).
    Source: MLIR's "super-vectorizer" conditions (affine/SuperVectorize.cpp), 1-D case.

    Raises ScheduleError naming the loop and the op that prevents vectorization.
    """
    where = f"vectorize({describe(lp)}, {width})"
    if not isinstance(width, int) or width < 2:
        raise ScheduleError(f"{where}: width must be an integer >= 2")
    if const_int(lp.step) != 1:
        raise ScheduleError(f"{where}: the step must be the constant 1")
    v = _Vectorizer(lp, width, nontemporal, where)
    v.check()
    at = Inserter(lp.parent_block(), lp)
    span = affine(lp.ub) - affine(lp.lb)
    if not span.terms:  # a constant trip count (constant bounds, or [x, x + C))
        n = max(span.const, 0) // width * width
        if n == 0:
            return None
        whole = n == span.const
        lo = const_int(lp.lb)
        if whole:
            vend = lp.ub
        elif lo is not None:
            vend = at.index(lo + n)
        else:
            vend = at.addi(lp.lb, at.index(n))
    else:
        count = at.subi(lp.ub, lp.lb)
        q = at.insert(arith.DivSIOp(count, at.index(width))).results[0]
        m = at.insert(arith.MuliOp(q, at.index(width))).results[0]
        vend = at.addi(lp.lb, m)
        whole = False
    new = at.for_(lp.lb, vend, at.index(width), lp.parallel is not None)
    v.emit(new)
    if whole:
        erase_loop(lp)
    else:
        lp.operands = (vend, lp.ub, lp.step)
    return new
