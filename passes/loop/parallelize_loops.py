"""`parallelize-loops`: choose the `parallel` loops worth running on a thread pool and
outline each into a function that runs a chunk of its iterations.

A `loop.for` with the `parallel` unit property has independent iterations (each writes
distinct elements). Running one on threads costs a parallel region: microseconds (see
docs/parallelism.md), so only big loops are worth it. For each function, the pass takes the
outermost parallel loop of every nest; if its trip count is below the thread count and its
body is just another parallel loop, it goes down to that one, and a loop of one iteration
(a batch dimension of 1) is looked into for parallel loops like a serial one. The
loop is chosen when its work, trip counts times the ops in the body (nested loops counted
with their own trip counts, tile bounds such as min(T, N - i*T) evaluated at the first
iteration, calls with the work of the callee), is at least `min_work`. Parallel loops
nested in a chosen one stay serial: each thread runs them for its chunk.

A chosen loop moves into a private function `@<function>__par<k>` whose arguments are the
values it uses from outside (as outline-loop-nests makes them: buffers get `llvm.noalias`
and `llvm.align` when known distinct) plus its lower and upper bound; the call in its place
passes the loop's bounds and says how to split them::

    "loop.for"(%c0, %c1024, %c1) <{parallel}> ({      func.func private @f__par0(
    ^bb0(%i: index):                                       %x: memref<1024xf32>, ...,
      ... %x ... %y ...                                    %lo: index, %hi: index) {
    })                                                   "loop.for"(%lo, %hi, %c1) <{parallel}>
                                                           ({...})
                                                       }
                                                       func.call @f__par0(%x, %y, %c0, %c1024)
                                                         {irforge.parallel = {num_threads = 2
                                                          : i64, step = 1 : i64}}

Calling `@f__par0` on the whole range is the serial meaning of the call, so the IR stays
runnable by the loop interpreter; convert-loop-to-llvm lowers a call carrying
`irforge.parallel` to one libgomp parallel region in which thread t of n calls it on its
static chunk of the iterations (passes/loop_to_llvm/parallel.py).

Thread count: the `num-threads` option; when 0 (the default) the `num_threads` of the
module's Target (the attribute `irforge.target`, set at the edge by `irforge.compile`,
`irforge run` or `irforge-opt --target host`; backends/target.py), 1 without one. With one
thread the pass changes nothing: the code stays serial, without any parallel region.

Raises ValueError for a bad thread count (option or target attribute).
Source: OpenMP 5.2 `schedule(static)` (equal chunks, one per thread); MLIR's
`convert-scf-to-openmp` + OpenMP-to-LLVM translation outlines the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    i64,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from ...backends.target import Target, check_num_threads
from ...dialects import loop
from .outline_loop_nests import fresh_symbol, outline_nest, symbol_names

PARALLEL_ATTR = "irforge.parallel"
DEFAULT_MIN_WORK = 1 << 18


def _const_index(v: SSAValue) -> int | None:
    owner = v.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def trip_count(op: loop.ForOp) -> int | None:
    """Iterations of `op` when its bounds and step are constants, else None."""
    lb, ub, step = (_const_index(v) for v in (op.lb, op.ub, op.step))
    if lb is None or ub is None or step is None or step <= 0:
        return None
    return max(0, -(-(ub - lb) // step))


# Integer index arithmetic the work estimate evaluates (tile bounds: min(T, N - i*T)).
_EVAL = {
    arith.AddiOp: lambda a, b: a + b,
    arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b,
    arith.DivUIOp: lambda a, b: a // b if b else None,
    arith.DivSIOp: lambda a, b: int(a / b) if b else None,
    arith.FloorDivSIOp: lambda a, b: a // b if b else None,
    arith.CeilDivSIOp: lambda a, b: -(-a // b) if b else None,
    arith.RemUIOp: lambda a, b: a % b if b else None,
    arith.MinSIOp: min,
    arith.MinUIOp: min,
    arith.MaxSIOp: max,
    arith.MaxUIOp: max,
}


class _WorkEstimate:
    """Work of loop nests: trip counts times body ops. Bounds computed from induction
    variables (tiles) are evaluated at the first iteration of the enclosing loops; a call
    counts the work of its callee's body with the call's arguments; a trip count that
    stays unknown counts as 1."""

    def __init__(self, module: ModuleOp | None):
        self.funcs: dict[str, func.FuncOp] = {}
        if module is not None:
            for f in module.ops:
                if isinstance(f, func.FuncOp) and f.body.blocks:
                    self.funcs[f.sym_name.data] = f
        self.active: set[str] = set()  # calls being evaluated (no recursion)

    def value(self, v: SSAValue, env: dict[SSAValue, int]) -> int | None:
        if v in env:
            return env[v]
        owner = v.owner
        if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
            return owner.value.value.data
        rule = _EVAL.get(type(owner))
        if rule is None:
            return None
        a, b = (self.value(x, env) for x in owner.operands)
        return None if a is None or b is None else rule(a, b)

    def loop(self, op: loop.ForOp, env: dict[SSAValue, int]) -> int:
        lb, ub, step = (self.value(v, env) for v in (op.lb, op.ub, op.step))
        trips = 1
        if lb is not None and ub is not None and step is not None and step > 0:
            trips = max(0, -(-(ub - lb) // step))
        inner = dict(env)
        if lb is not None:
            inner[op.induction_var] = lb
        return trips * self.block(op.body.block, inner)

    def block(self, block: Block, env: dict[SSAValue, int]) -> int:
        work = 0
        for op in block.ops:
            if isinstance(op, loop.ForOp):
                work += self.loop(op, env)
            elif isinstance(op, func.CallOp):
                work += 1 + self.call(op, env)
            elif not isinstance(op, loop.YieldOp):
                work += 1 + sum(self.block(b, env) for r in op.regions for b in r.blocks)
        return work

    def call(self, op: func.CallOp, env: dict[SSAValue, int]) -> int:
        name = op.callee.root_reference.data
        callee = self.funcs.get(name)
        if callee is None or name in self.active:
            return 0
        entry = callee.body.blocks.first
        args = {}
        for arg, v in zip(entry.args, op.arguments):
            known = self.value(v, env)
            if known is not None:
                args[arg] = known
        self.active.add(name)
        try:
            return sum(self.block(b, args) for b in callee.body.blocks)
        finally:
            self.active.discard(name)


def estimate_work(op: loop.ForOp, module: ModuleOp | None = None) -> int:
    """Estimated work of the nest `op`: trip counts times the ops of the bodies (see
    `_WorkEstimate`; calls are followed into the functions of `module`)."""
    return _WorkEstimate(module).loop(op, {})


def _only_loop(op: loop.ForOp) -> loop.ForOp | None:
    """The loop that is the whole body of `op` (nothing but it and the yield), if any."""
    ops = list(op.body.block.ops)
    if len(ops) == 2 and isinstance(ops[0], loop.ForOp):
        return ops[0]
    return None


@dataclass(frozen=True)
class ParallelizeLoopsPass(ModulePass):
    """Outline the big outermost `parallel` loops for threads (see the module docstring).

    Options: `num_threads` (0: the module's Target, backends/target.py; 1: leave the
    module serial); `min_work`: the least estimated work (loop
    iterations times body ops) worth a parallel region.
    """

    name = "parallelize-loops"

    num_threads: int = 0
    min_work: int = DEFAULT_MIN_WORK

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        n = self.thread_count(op)
        if n <= 1:
            return
        taken = symbol_names(op)
        estimate = _WorkEstimate(op)
        for f in list(op.ops):
            if not isinstance(f, func.FuncOp) or not f.body.blocks:
                continue
            chosen: list[loop.ForOp] = []
            for block in f.body.blocks:
                self._choose(block, n, chosen, estimate)
            anchor: Operation = f
            for k, nest in enumerate(chosen):
                name = fresh_symbol(f"{f.sym_name.data}__par{k}", taken)
                new = _outline_parallel(nest, name, n)
                op.body.block.insert_op_after(new, anchor)
                anchor = new

    def thread_count(self, module: ModuleOp) -> int:
        """The thread count this pass compiles for (see the module docstring)."""
        if self.num_threads != 0:
            return check_num_threads(self.num_threads, "parallelize-loops: num-threads")
        return Target.of(module).num_threads

    def _choose(
        self, block: Block, n: int, chosen: list[loop.ForOp], estimate: _WorkEstimate
    ) -> None:
        for op in block.ops:
            if not isinstance(op, loop.ForOp):
                continue
            if op.parallel is None:
                self._choose(op.body.block, n, chosen, estimate)
                continue
            target = op
            while (trip_count(target) or 0) < n:
                inner = _only_loop(target)
                if inner is None or inner.parallel is None:
                    break
                target = inner
            trips = trip_count(target)
            if trips == 1:  # not a loop: look for parallel loops inside it
                self._choose(target.body.block, n, chosen, estimate)
                continue
            if trips is None or trips < 2 or _const_index(target.step) is None:
                continue
            if estimate.loop(target, {}) >= self.min_work:
                chosen.append(target)


def _args_distinct(nest: loop.ForOp) -> bool:
    """Whether every buffer argument of the enclosing function that `nest` uses is known
    distinct from the others: a public function's (the runtime passes distinct arrays) or
    one marked `llvm.noalias` (outline-loop-nests proved it)."""
    fn = nest.parent_op()
    while fn is not None and not isinstance(fn, func.FuncOp):
        fn = fn.parent_op()
    if fn is None:
        return False
    if fn.sym_visibility is None or fn.sym_visibility.data == "public":
        return True
    entry = fn.body.blocks.first
    given = fn.arg_attrs.data if fn.arg_attrs is not None else [None] * len(entry.args)
    for op in nest.walk():
        for v in op.operands:
            if isinstance(v.type, MemRefType) and isinstance(v.owner, Block) and v.owner is entry:
                attrs = given[v.index]
                if attrs is None or "llvm.noalias" not in attrs.data:
                    return False
    return True


def _outline_parallel(nest: loop.ForOp, name: str, n: int) -> func.FuncOp:
    """Outline `nest` into `name(free values..., lo, hi)`; the call passes its bounds."""
    lb, ub, step = nest.lb, nest.ub, _const_index(nest.step)
    parent, prev = nest.parent_block(), nest.prev_op
    trusted = _args_distinct(nest)
    fn = outline_nest(nest, name, noinline=False)
    call = prev.next_op if prev is not None else parent.first_op
    assert isinstance(call, func.CallOp)
    body = fn.body.block
    lo = body.insert_arg(IndexType(), len(body.args))
    hi = body.insert_arg(IndexType(), len(body.args))
    lo.name_hint, hi.name_hint = "lo", "hi"
    nest.operands[0] = lo
    nest.operands[1] = hi
    fn.properties["function_type"] = FunctionType.from_lists([a.type for a in body.args], [])
    attrs = list(fn.arg_attrs.data) if fn.arg_attrs is not None else []
    if not trusted:  # outline-loop-nests takes function arguments as distinct buffers
        attrs = [
            DictionaryAttr({k: v for k, v in a.data.items() if k != "llvm.noalias"}) for a in attrs
        ]
    fn.properties["arg_attrs"] = ArrayAttr(attrs + [DictionaryAttr({}), DictionaryAttr({})])
    new_call = func.CallOp(name, [*call.arguments, lb, ub], [])
    new_call.attributes[PARALLEL_ATTR] = DictionaryAttr(
        {"num_threads": IntegerAttr(n, i64), "step": IntegerAttr(step, i64)}
    )
    parent.insert_op_before(new_call, call)
    call.detach()
    call.erase()
    return fn
