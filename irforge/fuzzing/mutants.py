"""Mutants of declarative rewrite patterns, made mechanically from a pattern's structure.

Mutation testing asks whether the rewrite fuzzer (irforge.fuzzing.patterns) would notice
if a pattern were written wrong. `pattern_mutants(pattern)` derives every mutant of one
pattern with these operators, each applied at every place it fits:

- `drop-where`: one conjunct of the `where` clause removed (`x is splat 0.0 and
  is_finite_constant(y)` loses either side);
- `swap-match` / `swap-rewrite`: two operands of an op of the match DAG or of the
  replacement DAG exchanged;
- `constant`: a numeric literal in a constraint, a matched attribute or a replacement
  changed (floats and ints to value + 1);
- `attr-expr`: an attribute expression of the replacement (or a multi-argument call over
  bound names in a constraint) altered: its arguments reversed (`compose(p, q)` ->
  `compose(q, p)`), replaced by one of its arguments, a bound attribute replaced by another,
  or the attribute dropped (the op's default applies);
- `result`: the whole replacement replaced by another value the match bound.

A mutant that is not a well-formed pattern (PatternError) is not generated. Mutants keep
the original pattern's name, so a counterexample reads like the original. `kill(mutant,
examples, seed)` fuzzes one mutant and says whether, and how, the fuzzer caught it.

Equivalent mutants (semantically the same rewrite, e.g. swapping the operands of a matched
`graph.add`, which the matcher tries in both orders anyway: it is Commutative) cannot be
caught by any test; `EQUIVALENT` names them, with the reason, by glob over mutant ids
(`PATTERN/OPERATOR:PLACE`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from irforge.passes.patterns.model import (
    ROOT,
    And,
    Call,
    Cmp,
    List,
    Lit,
    Not,
    Op,
    Or,
    Pattern,
    PatternError,
    Var,
)

EQUIVALENT: dict[str, str] = {
    "*/swap-match:graph.add@*": (
        "equivalent by construction: graph.add is Commutative, so the matcher tries both "
        "operand orders and the swapped DAG matches the same ops (addition commutes, with "
        "broadcasting too, so an op both orders match rewrites to equal values)"
    ),
    "*/swap-match:graph.mul@*": (
        "equivalent by construction: graph.mul is Commutative, so the matcher tries both "
        "operand orders and the swapped DAG matches the same ops (multiplication commutes, "
        "with broadcasting too, so an op both orders match rewrites to equal values)"
    ),
    "transpose_transpose_identity/attr-expr:where.compose.reverse": (
        "compose(p, q) is the identity exactly when compose(q, p) is (q is p's inverse)"
    ),
    "matmul_add_to_gemm/drop-where:one_use(mm)": (
        "a profitability guard: with other uses the matmul stays and the gemm is still right"
    ),
    "matmul_add_to_gemm/drop-where:rank(c) <= 2": (
        "rank(a) == 2 and rank(b) == 2 make mm 2-D, and type(root) == type(mm) then bounds "
        "rank(c) by 2"
    ),
    "matmul_of_flattened_rows/drop-where:one_use(mm)": (
        "a profitability guard: with other uses the 2-D matmul stays and the N-D one is "
        "still the same product"
    ),
    "matmul_of_flattened_rows/attr-expr:where.merges_leading_dims.reverse": (
        "merges_leading_dims(flat, x) needs x 2-D with flat's last dim: the reshape to flat "
        "then keeps x's shape, and the pattern fires only where the original would"
    ),
    "matmul_add_to_gemm/constant:where.2": (
        "rank(c) <= 3: rank(a) == rank(b) == 2 and type(root) == type(mm) bound rank(c) by 2"
    ),
}
"""Mutant id glob -> why no program can tell the mutant from the original."""


@dataclass(frozen=True)
class Mutant:
    """One mutated pattern. `id` is stable (`PATTERN/OPERATOR:PLACE`), `description`
    says the change in the pattern language."""

    id: str
    operator: str
    description: str
    pattern: Pattern


def equivalence_reason(mutant_id: str) -> str | None:
    """The allow-list's reason if `mutant_id` is a known equivalent mutant, else None."""
    for glob, reason in EQUIVALENT.items():
        if fnmatch.fnmatchcase(mutant_id, glob):
            return reason
    return None


def expr_text(e: object) -> str:
    """An expression or DAG node in the pattern language (for descriptions)."""
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Lit):
        return repr(e.value)
    if isinstance(e, Call):
        if e.fn == "is_splat":
            tail = f" {expr_text(e.args[1])}" if len(e.args) > 1 else ""
            return f"{expr_text(e.args[0])} is splat{tail}"
        return f"{e.fn}({', '.join(expr_text(a) for a in e.args)})"
    if isinstance(e, Cmp):
        return f"{expr_text(e.lhs)} {e.op} {expr_text(e.rhs)}"
    if isinstance(e, (And, Or)):
        word = " and " if isinstance(e, And) else " or "
        return word.join(expr_text(i) for i in e.items)
    if isinstance(e, Not):
        return f"not {expr_text(e.item)}"
    if isinstance(e, List):
        return f"[{', '.join(expr_text(i) for i in e.items)}]"
    if isinstance(e, Op):
        attrs = ", ".join(f"{k} = {expr_text(v)}" for k, v in e.attrs)
        body = f"{e.name}({', '.join(expr_text(o) for o in e.operands)})"
        return body + (f" {{{attrs}}}" if attrs else "")
    return repr(e)


def _conjuncts(where: tuple) -> list:
    out: list = []
    for w in where:
        out.extend(w.items if isinstance(w, And) else [w])
    return out


def _rebuild_op(op: Op, operands=None, attrs=None) -> Op:
    return Op(
        op.name,
        *(op.operands if operands is None else operands),
        attrs=op.attrs if attrs is None else attrs,
        bind=op.bind,
        type=op.type,
    )


def _op_edits(root: object, edit: Callable[[Op], Iterator[tuple[str, Op]]]):
    """Every (place, new DAG) where `edit` changed one op of the DAG rooted at `root`."""
    if not isinstance(root, Op):
        return
    for place, new in edit(root):
        yield place, new
    for i, o in enumerate(root.operands):
        for place, new_o in _op_edits(o, edit):
            ops = list(root.operands)
            ops[i] = new_o
            yield place, _rebuild_op(root, operands=ops)


def _swaps(op: Op) -> Iterator[tuple[str, Op]]:
    n = len(op.operands)
    for i in range(n):
        for j in range(i + 1, n):
            ops = list(op.operands)
            ops[i], ops[j] = ops[j], ops[i]
            yield f"{op.name}@{i}{j}", _rebuild_op(op, operands=ops)


def _literal_edits(e: object) -> Iterator[object]:
    """`e` with one numeric literal changed, for each numeric literal (pre-order)."""
    if isinstance(e, Lit):
        v = e.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            yield Lit(v + 1)
        return
    for field_name, children in _children(e):
        for i, c in enumerate(children):
            for new_c in _literal_edits(c):
                yield _with_child(e, field_name, i, new_c)


def _children(e: object) -> list[tuple[str, tuple]]:
    if isinstance(e, Call):
        return [("args", e.args)]
    if isinstance(e, (And, Or, List)):
        return [("items", e.items)]
    if isinstance(e, Not):
        return [("item", (e.item,))]
    if isinstance(e, Cmp):
        return [("lhs", (e.lhs,)), ("rhs", (e.rhs,))]
    if isinstance(e, Op):
        return [("operands", e.operands), ("attrs", tuple(v for _, v in e.attrs))]
    return []


def _with_child(e: object, field_name: str, i: int, new: object) -> object:
    if isinstance(e, Call):
        args = list(e.args)
        args[i] = new
        return Call(e.fn, *args)
    if isinstance(e, (And, Or, List)):
        items = list(e.items)
        items[i] = new
        return type(e)(*items)
    if isinstance(e, Not):
        return Not(new)
    if isinstance(e, Cmp):
        return replace(e, **{field_name: new})
    assert isinstance(e, Op)
    if field_name == "operands":
        ops = list(e.operands)
        ops[i] = new
        return _rebuild_op(e, operands=ops)
    attrs = list(e.attrs)
    attrs[i] = (attrs[i][0], new)
    return _rebuild_op(e, attrs=attrs)


def _expr_alterations(e: object, attr_names: list[str]) -> Iterator[tuple[str, object]]:
    """Alterations of one attribute expression: (what, new expression)."""
    if isinstance(e, Call) and len(e.args) >= 2 and all(isinstance(a, Var) for a in e.args):
        yield f"{e.fn}.reverse", Call(e.fn, *reversed(e.args))
        for a in dict.fromkeys(a.name for a in e.args):
            yield f"{e.fn}.only-{a}", Var(a)
    if isinstance(e, Var):
        for other in attr_names:
            if other != e.name:
                yield f"{e.name}-to-{other}", Var(other)


def _attr_mutants(p: Pattern, attr_names: list[str]) -> Iterator[tuple[str, str, Pattern]]:
    def edit(op: Op) -> Iterator[tuple[str, Op]]:
        for k, (key, value) in enumerate(op.attrs):
            for what, new in _expr_alterations(value, attr_names):
                attrs = list(op.attrs)
                attrs[k] = (key, new)
                yield f"{op.name}.{key}.{what}", _rebuild_op(op, attrs=attrs)
            yield f"{op.name}.{key}.drop", _rebuild_op(op, attrs=op.attrs[:k] + op.attrs[k + 1 :])

    for place, new in _op_edits(p.rewrite, edit):
        yield place, f"rewrite becomes {expr_text(new)}", replace(p, rewrite=new)
    conj = _conjuncts(p.where)
    for i, c in enumerate(conj):
        for sub in _calls_in(c):
            for what, new_sub in _expr_alterations(sub, []):
                new_c = _substitute(c, sub, new_sub)
                where = tuple(conj[:i]) + (new_c,) + tuple(conj[i + 1 :])
                yield f"where.{what}", f"where {expr_text(new_c)}", replace(p, where=where)


def _calls_in(e: object) -> Iterator[Call]:
    if isinstance(e, Call):
        yield e
    for _, children in _children(e):
        for c in children:
            yield from _calls_in(c)


def _substitute(e: object, old: object, new: object) -> object:
    if e is old:
        return new
    for field_name, children in _children(e):
        for i, c in enumerate(children):
            sub = _substitute(c, old, new)
            if sub is not c:
                return _with_child(e, field_name, i, sub)
    return e


def _candidates(p: Pattern) -> Iterator[tuple[str, str, str, Pattern]]:
    """(operator, place, description, mutated pattern) before validation."""
    conj = _conjuncts(p.where)
    for i, c in enumerate(conj):
        rest = tuple(conj[:i] + conj[i + 1 :])
        yield "drop-where", expr_text(c), f"drop `{expr_text(c)}`", replace(p, where=rest)
    for place, new in _op_edits(p.match, _swaps):
        yield "swap-match", place, f"match {expr_text(new)}", replace(p, match=new)
    for place, new in _op_edits(p.rewrite, _swaps):
        yield "swap-rewrite", place, f"rewrite {expr_text(new)}", replace(p, rewrite=new)
    for k, new in enumerate(_literal_edits(And(*conj)) if conj else ()):
        new_where = tuple(new.items)
        text = " and ".join(expr_text(w) for w in new_where)
        yield "constant", f"where.{k}", f"where {text}", replace(p, where=new_where)
    for k, new in enumerate(_literal_edits(p.match)):
        yield "constant", f"match.{k}", f"match {expr_text(new)}", replace(p, match=new)
    for k, new in enumerate(_literal_edits(p.rewrite)):
        yield "constant", f"rewrite.{k}", f"rewrite {expr_text(new)}", replace(p, rewrite=new)
    kinds = p.bindings()
    attr_names = sorted(n for n, k in kinds.items() if k == "attr")
    for place, text, mutated in _attr_mutants(p, attr_names):
        yield "attr-expr", place, text, mutated
    current = p.rewrite.name if isinstance(p.rewrite, Var) else None
    for name in sorted(n for n, k in kinds.items() if k == "value"):
        if name not in (ROOT, current):
            yield "result", name, f"rewrite {name}", replace(p, rewrite=Var(name))


def pattern_mutants(pattern: Pattern) -> list[Mutant]:
    """Every well-formed mutant of `pattern` (see the module docstring), ids unique."""
    out: list[Mutant] = []
    seen: set[str] = set()
    for operator, place, description, mutated in _candidates(pattern):
        mid = f"{pattern.name}/{operator}:{place}"
        if mid in seen or mutated == pattern:
            continue
        try:
            mutated = Pattern(
                mutated.name, mutated.match, mutated.rewrite, mutated.where, mutated.benefit
            )
        except PatternError:
            continue
        seen.add(mid)
        out.append(Mutant(mid, operator, description, mutated))
    return out


@dataclass(frozen=True)
class Verdict:
    """What the fuzzer made of one mutant: `killed` (a wrong result, a broken IR or an
    error), `unreached` (no generated instance fired it: `irforge fuzz` reports that as a
    failure too) or `survived`; `error` is the fuzzer's message."""

    mutant: Mutant
    outcome: str
    error: str = ""

    @property
    def caught(self) -> bool:
        return self.outcome != "survived"


def kill(mutant: Mutant, examples: int, seed: int | None) -> Verdict:
    """Fuzz `mutant` with the rewrite fuzzer at `examples` examples (see fuzz_pattern)."""
    from irforge.fuzzing.patterns import UNREACHED, fuzz_pattern

    failure, fired = fuzz_pattern(mutant.pattern, examples, seed, mutant.id, shrink=False)
    if failure is None:
        return Verdict(mutant, "survived")
    unreached = fired == 0 and failure.error.startswith(UNREACHED)
    return Verdict(mutant, "unreached" if unreached else "killed", failure.error)


def all_mutants(name: str | None = None) -> list[Mutant]:
    """The mutants of every registered pattern (or of the pattern called `name`).

    Raises ValueError if `name` names no registered pattern."""
    from irforge.passes.patterns import all_patterns

    patterns = [p for pset in all_patterns().values() for p in pset]
    if name is not None:
        chosen = [p for p in patterns if p.name == name]
        if not chosen:
            known = ", ".join(sorted(p.name for p in patterns))
            raise ValueError(f"no registered pattern named '{name}'; registered: {known}")
        patterns = chosen
    return [m for p in patterns for m in pattern_mutants(p)]
