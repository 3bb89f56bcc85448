"""The greedy worklist driver: apply a set of patterns until nothing matches.

    # apply_patterns and pattern_set, exported by irforge.passes.patterns
    result = apply_patterns(module, pattern_set("graph-canonicalize"))

What it does to each op it takes off the worklist, in order (as MLIR's greedy driver):

1. dead-code removal: an op whose results are unused and that has no side effects
   (xDSL's `would_be_trivially_dead`: Pure, not a terminator or symbol) is erased;
2. folding: an op with xDSL's fold interface (`HasFolder`, not ConstantLike) whose fold
   succeeds is replaced by the folded values (constants materialized by its dialect);
3. patterns rooted at the op's name, then patterns for any op, highest benefit first
   (stable: equal benefits keep the given order). Declarative patterns (`Pattern`,
   `CompiledPattern`) run through a fast path; any other xDSL `RewritePattern` runs with a
   `PatternRewriter` whose listener feeds the worklist. A RewritePattern may declare
   `roots` (op names it can match) and `benefit` as attributes.

The first step that changes the IR ends the visit. Ops created, users of replaced values
and the producers of an erased op's operands go back on the worklist. A sweep visits
every op; sweeps repeat until one changes nothing, at most `max_iterations` times.

Non-convergence raises `RewriteNotConverging`, naming the patterns that kept firing: when
a sweep needs more than `max_rewrites` rewrites (default 16 per op + 1000; a pair of
patterns undoing each other hits it) or the IR still changes after `max_iterations` sweeps.

Statistics (irforge.passes.infra.statistics): patterns-tried, patterns-applied, ops-folded,
ops-erased, ops-created.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriterListener, RewritePattern
from xdsl.rewriter import InsertPoint
from xdsl.traits import ConstantLike, HasFolder

from ..infra.statistics import bump
from .compile import CompiledPattern, compile_pattern
from .model import Pattern


class RewriteNotConverging(RuntimeError):
    """Greedy rewriting did not reach a fixed point. `patterns` names the patterns that
    kept firing, most frequent first."""

    def __init__(self, message: str, patterns: list[str]):
        super().__init__(message)
        self.patterns = patterns


@dataclass
class DriverResult:
    """What a run did: whether the IR changed, sweeps run, and per-pattern counts."""

    changed: bool = False
    iterations: int = 0
    applied: Counter[str] = field(default_factory=Counter)
    tried: int = 0
    folded: int = 0
    erased: int = 0
    created: int = 0


def _as_rule(p: Pattern | RewritePattern, ctx: Context | None) -> RewritePattern:
    return compile_pattern(p, ctx) if isinstance(p, Pattern) else p


def _pattern_name(p: RewritePattern) -> str:
    return getattr(p, "name", None) or type(p).__name__


class GreedyDriver:
    """A configured driver; `run(op)` rewrites every op nested in `op` (not `op` itself)."""

    def __init__(
        self,
        patterns: Iterable[Pattern | RewritePattern],
        *,
        ctx: Context | None = None,
        fold: bool = True,
        dce: bool = True,
        max_iterations: int = 10,
        max_rewrites: int | None = None,
    ):
        rules = [_as_rule(p, ctx) for p in patterns]
        # Highest benefit first; sorted() is stable, so ties keep the given order.
        self.rules = sorted(rules, key=lambda r: -getattr(r, "benefit", 1))
        self.ctx = ctx
        self.fold = fold
        self.dce = dce
        self.max_iterations = max_iterations
        self.max_rewrites = max_rewrites
        self._by_name: dict[str, tuple[RewritePattern, ...]] = {}
        self._dead_ok: dict[type, bool] = {}
        self._foldable: dict[type, bool] = {}
        if fold and ctx is None:
            from ...dialects import make_dialect_context

            self.ctx = make_dialect_context()

    # ---- dispatch ----

    def _rules_for(self, name: str) -> tuple[RewritePattern, ...]:
        rules = self._by_name.get(name)
        if rules is None:
            rules = tuple(
                r
                for r in self.rules
                if (
                    r.root == name
                    if isinstance(r, CompiledPattern)
                    else getattr(r, "roots", None) is None or name in r.roots
                )
            )
            self._by_name[name] = rules
        return rules

    def _is_dead(self, op: Operation) -> bool:
        for r in op.results:
            if r.first_use is not None:
                return False
        if op.regions:
            from xdsl.transforms.dead_code_elimination import would_be_trivially_dead

            return would_be_trivially_dead(op)
        ok = self._dead_ok.get(type(op))
        if ok is None:
            from xdsl.transforms.dead_code_elimination import would_be_trivially_dead

            ok = self._dead_ok[type(op)] = would_be_trivially_dead(op)
        return ok

    def _can_fold(self, op: Operation) -> bool:
        ok = self._foldable.get(type(op))
        if ok is None:
            ok = self._foldable[type(op)] = op.has_trait(
                HasFolder, value_if_unregistered=False
            ) and not op.has_trait(ConstantLike, value_if_unregistered=True)
        return ok

    # ---- the worklist ----

    def run(self, root: Operation) -> DriverResult:
        """Rewrite the ops nested in `root` to a fixed point. Raises RewriteNotConverging."""
        res = DriverResult()
        self._res = res
        self._stack: list[Operation] = []
        self._pending: set[int] = set()  # id()s: ops hash in Python, ints in C
        self._recent: deque[str] = deque(maxlen=200)
        self._listener = PatternRewriterListener(
            operation_insertion_handler=[self._on_insert],
            operation_removal_handler=[self._on_remove],
            operation_modification_handler=[self._push],
            operation_replacement_handler=[self._on_replace],
        )
        try:
            for it in range(1, self.max_iterations + 1):
                res.iterations = it
                n = 0
                for o in root.walk(reverse=True, region_first=True):
                    if o is not root:
                        self._push(o)
                        n += 1
                budget = self.max_rewrites if self.max_rewrites is not None else 16 * n + 1000
                if not self._sweep(budget):
                    return res
                res.changed = True
            self._not_converging(
                f"the IR still changed after {self.max_iterations} sweeps (max_iterations)"
            )
        finally:
            bump("patterns-tried", res.tried)
            bump("patterns-applied", sum(res.applied.values()))
            bump("ops-folded", res.folded)
            bump("ops-erased", res.erased)
            bump("ops-created", res.created)
            self._stack, self._pending = [], set()
        return res  # pragma: no cover - _not_converging raises

    def _not_converging(self, why: str) -> None:
        counts = Counter(self._recent).most_common()
        names = [n for n, _ in counts]
        firing = ", ".join(f"{n} ({c}x)" for n, c in counts) or "none"
        raise RewriteNotConverging(
            f"greedy pattern rewriting did not converge: {why}; patterns that kept firing "
            f"(in the last {len(self._recent)} rewrites): {firing}",
            names,
        )

    def _push(self, op: Operation) -> None:
        # A stack entry keeps its op alive, so an id in `pending` is never reused.
        key = id(op)
        if key not in self._pending:
            self._pending.add(key)
            self._stack.append(op)

    def _sweep(self, budget: int) -> bool:
        """Process the worklist until empty; True if anything changed."""
        stack, pending, res = self._stack, self._pending, self._res
        changed = False
        rewrites = 0
        rewriter: PatternRewriter | None = None
        while stack:
            op = stack.pop()
            key = id(op)
            if key not in pending:
                continue
            pending.discard(key)
            if op.parent is None:  # erased (or detached) since it was pushed
                continue
            if self.dce and self._is_dead(op):
                self._erase(op)
                changed = True
                continue
            if self.fold and self._can_fold(op):
                from xdsl.folder import Folder

                folded = Folder(self.ctx).try_fold(op)
                if folded is not None:
                    values, new_ops = folded
                    self._replace(op, new_ops, values)
                    res.folded += 1
                    changed = True
                    rewrites += 1
                    self._recent.append("fold")
                    continue
            for rule in self._rules_for(op.name):
                res.tried += 1
                if isinstance(rule, CompiledPattern):
                    env = rule.match(op)
                    if env is None:
                        continue
                    new_ops, value = rule.build(op, env)
                    self._replace(op, new_ops, (value,))
                else:
                    if rewriter is None:
                        rewriter = PatternRewriter(op)
                        rewriter.extend_from_listener(self._listener)
                    rewriter.has_done_action = False
                    rewriter.current_operation = op
                    rewriter.insertion_point = InsertPoint.before(op)
                    rewriter.name_hint = None
                    rule.match_and_rewrite(op, rewriter)
                    if not rewriter.has_done_action:
                        continue
                name = _pattern_name(rule)
                res.applied[name] += 1
                self._recent.append(name)
                changed = True
                rewrites += 1
                if rewrites > budget:
                    self._not_converging(f"more than {budget} rewrites in one sweep")
                break
        return changed

    # ---- IR edits (fast path of declarative patterns and folds) ----

    def _replace(
        self, op: Operation, new_ops: Sequence[Operation], values: Sequence[SSAValue | None]
    ) -> None:
        if new_ops:
            op.parent.insert_ops_before(new_ops, op)
            for n in new_ops:
                self._push(n)
            self._res.created += len(new_ops)
        for old, new in zip(op.results, values):
            if new is None or new is old:
                continue
            for use in old.uses:
                self._push(use.operation)
            old.replace_all_uses_with(new)
            if not new.name_hint:
                new.name_hint = old.name_hint
        self._erase(op)

    def _erase(self, op: Operation) -> None:
        operands = list(op.operands)
        if op.regions:
            for sub in op.walk():
                self._pending.discard(id(sub))
        self._pending.discard(id(op))
        op.parent.erase_op(op)
        self._res.erased += 1
        for v in operands:
            owner = v.owner
            if isinstance(owner, Operation) and (v.first_use is None or v.has_one_use()):
                self._push(owner)

    # ---- listener of general RewritePatterns ----

    def _on_insert(self, op: Operation) -> None:
        self._res.created += 1
        self._push(op)

    def _on_remove(self, op: Operation) -> None:
        self._res.erased += 1
        if op.regions:
            for sub in op.walk():
                self._pending.discard(id(sub))
        self._pending.discard(id(op))
        for v in op.operands:
            if isinstance(v.owner, Operation):
                self._push(v.owner)

    def _on_replace(self, op: Operation, new_results: Sequence[SSAValue | None]) -> None:
        for r in op.results:
            for use in r.uses:
                self._push(use.operation)


def apply_patterns(
    root: Operation,
    patterns: Iterable[Pattern | RewritePattern],
    *,
    ctx: Context | None = None,
    fold: bool = True,
    dce: bool = True,
    max_iterations: int = 10,
    max_rewrites: int | None = None,
) -> DriverResult:
    """Greedily apply `patterns` (declarative `Pattern`s, compiled ones, or any xDSL
    RewritePattern) to the ops nested in `root`; see the module docstring. A PatternSet
    is accepted as `patterns` (its compiled form is used)."""
    compiled = getattr(patterns, "compiled", None)
    if callable(compiled):
        patterns = compiled(ctx)
    return GreedyDriver(
        patterns,
        ctx=ctx,
        fold=fold,
        dce=dce,
        max_iterations=max_iterations,
        max_rewrites=max_rewrites,
    ).run(root)
