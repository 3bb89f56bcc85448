"""The data model of declarative rewrite patterns: what a pattern file parses into.

A pattern is plain, comparable, introspectable data (frozen dataclasses), in the spirit of
MLIR's DRR and PDLL:

    // relu(relu(x)) -> relu(x)
    Pattern(
        "relu_relu",
        match=Op("graph.relu", Op("graph.relu", Var("x"), bind="inner")),
        rewrite=Var("inner"),
    )

is exactly what `pattern relu_relu { match graph.relu(graph.relu(x) as inner) rewrite inner }`
parses into (see syntax.py). The pieces:

- the match DAG: an `Op` tree. An `Op` names the operation, its operands (nested `Op`s,
  `Var`s that bind the operand value, or `Var("_")` for "anything"), attribute clauses
  (`attrs={"perm": Var("p")}` binds the attribute, `attrs={"beta": Lit(0.0)}` requires the
  value), and an optional `bind` name for its result. A `Var` that occurs twice must bind
  the same value both times. The root's result is also bound to the name `root`. The
  operands of an op with xDSL's `Commutative` trait match in any order (compile.py).
- constraints (`where`): expressions over the bound names (`Cmp`, `And`, `Or`, `Not`,
  `Call` of a builtin or a registered native constraint/function, `Lit`, `List`).
- the replacement DAG (`rewrite`): a bound value (`Var`), a new `Op` whose operands are
  replacement nodes and whose `attrs` are expressions (`Call("compose", Var("p"),
  Var("q"))`), optionally with an explicit result `type` expression, or a `Call` of a
  registered native rewrite that builds IR itself.

Attribute variables hold Python values in expressions (an `array<i64: 1, 0>` is the tuple
`(1, 0)`, a `0.0 : f32` is the float `0.0`, an integer attribute an int; other attributes
stay Attributes); value variables hold the xDSL SSAValue.

Errors: constructing an ill-formed pattern raises `PatternError` (unbound names, a name
bound twice as different kinds, a rewrite that does not produce a value, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROOT = "root"
"""The name always bound to the matched root op's (first) result."""

WILDCARD = "_"

CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")

Loc = tuple[int, int]


class PatternError(ValueError):
    """An ill-formed pattern. `node` is the offending model node (for its position)."""

    def __init__(self, message: str, node: object = None):
        super().__init__(message)
        self.node = node


def _loc_field() -> Any:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Var:
    """A name: in a match DAG it binds (or, if already bound, must equal) a value; elsewhere
    it refers to what was bound. `Var("_")` matches anything and binds nothing."""

    name: str
    loc: Loc | None = _loc_field()


@dataclass(frozen=True)
class Lit:
    """A literal: int, float, bool, str, or a tuple of literals (a `[...]` list)."""

    value: Any
    loc: Loc | None = _loc_field()


@dataclass(frozen=True, init=False)
class Call:
    """A call of a builtin function, a native constraint/function, or a native rewrite.

    Arguments that are not model nodes are wrapped in `Lit`.
    """

    fn: str
    args: tuple[Expr, ...]
    loc: Loc | None = _loc_field()

    def __init__(self, fn: str, *args: Any, loc: Loc | None = None):
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "args", tuple(_expr(a) for a in args))
        object.__setattr__(self, "loc", loc)


@dataclass(frozen=True)
class Cmp:
    """`lhs OP rhs` with OP one of == != < <= > >=."""

    op: str
    lhs: Expr
    rhs: Expr
    loc: Loc | None = _loc_field()

    def __post_init__(self) -> None:
        if self.op not in CMP_OPS:
            raise PatternError(f"unknown comparison '{self.op}'", self)
        object.__setattr__(self, "lhs", _expr(self.lhs))
        object.__setattr__(self, "rhs", _expr(self.rhs))


@dataclass(frozen=True, init=False)
class And:
    """All of the operands are true (evaluated left to right, short-circuit)."""

    items: tuple[Expr, ...]
    loc: Loc | None = _loc_field()

    def __init__(self, *items: Any, loc: Loc | None = None):
        object.__setattr__(self, "items", tuple(_expr(i) for i in items))
        object.__setattr__(self, "loc", loc)


@dataclass(frozen=True, init=False)
class Or:
    """Any of the operands is true (evaluated left to right, short-circuit)."""

    items: tuple[Expr, ...]
    loc: Loc | None = _loc_field()

    def __init__(self, *items: Any, loc: Loc | None = None):
        object.__setattr__(self, "items", tuple(_expr(i) for i in items))
        object.__setattr__(self, "loc", loc)


@dataclass(frozen=True)
class Not:
    """The operand is false."""

    item: Expr
    loc: Loc | None = _loc_field()


@dataclass(frozen=True, init=False)
class List:
    """A list whose items are not all literals (`[p, 0]`); all-literal lists are `Lit`."""

    items: tuple[Expr, ...]
    loc: Loc | None = _loc_field()

    def __init__(self, *items: Any, loc: Loc | None = None):
        object.__setattr__(self, "items", tuple(_expr(i) for i in items))
        object.__setattr__(self, "loc", loc)


@dataclass(frozen=True, init=False)
class Op:
    """An operation node of a match or replacement DAG.

    `Op("graph.transpose", Var("x"), attrs={"perm": Var("p")}, bind="t")` matches a
    transpose of anything, binding its operand to x, its perm to p and its result to t.
    In a replacement, `type` (an expression giving the result type) is optional: the
    root replacement takes the matched root's type, other ops infer theirs.
    """

    name: str
    operands: tuple[Node, ...]
    attrs: tuple[tuple[str, Expr], ...]
    bind: str | None
    type: Expr | None
    loc: Loc | None = _loc_field()

    def __init__(
        self,
        name: str,
        *operands: Node,
        attrs: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        bind: str | None = None,
        type: Expr | None = None,
        loc: Loc | None = None,
    ):
        items = attrs.items() if isinstance(attrs, Mapping) else (attrs or ())
        pairs = tuple(sorted(((k, _expr(v)) for k, v in items), key=lambda kv: kv[0]))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "operands", tuple(operands))
        object.__setattr__(self, "attrs", pairs)
        object.__setattr__(self, "bind", bind)
        object.__setattr__(self, "type", None if type is None else _expr(type))
        object.__setattr__(self, "loc", loc)
        if len({k for k, _ in pairs}) != len(pairs):
            raise PatternError(f"'{name}': an attribute is named twice", self)
        for o in operands:
            if not isinstance(o, (Op, Var, Call)):
                raise PatternError(f"'{name}': operand {o!r} is not an Op, Var or Call", self)

    @property
    def attr_dict(self) -> dict[str, Expr]:
        return dict(self.attrs)

    def walk(self) -> Iterator[Op]:
        """This op and every nested op, pre-order (operands left to right)."""
        yield self
        for o in self.operands:
            if isinstance(o, Op):
                yield from o.walk()


Expr = Var | Lit | Call | Cmp | And | Or | Not | List
Node = Op | Var | Call


def _expr(v: Any) -> Expr:
    if isinstance(v, (Var, Lit, Call, Cmp, And, Or, Not, List, Op)):
        return v
    if isinstance(v, list):
        v = tuple(v)
    return Lit(v)


# ---- conveniences for Python authors (each returns plain model nodes) ----


def same_type(a: str, b: str) -> Cmp:
    """`type(a) == type(b)`."""
    return Cmp("==", Call("type", Var(a)), Call("type", Var(b)))


def is_splat(name: str, value: float | None = None) -> Call:
    """`name is splat VALUE` (`name is splat` when value is None): a constant, all equal."""
    return Call("is_splat", Var(name)) if value is None else Call("is_splat", Var(name), value)


def one_use(name: str) -> Call:
    """`one_use(name)`: the value has exactly one use."""
    return Call("one_use", Var(name))


# ---- the pattern ----


@dataclass(frozen=True)
class Pattern:
    """A named declarative rewrite: match DAG, constraints, replacement, benefit.

    Higher benefit is tried first among patterns with the same root op. `doc` (the
    comment above the pattern in a file, e.g. the algebra `x*1 -> x`) and `loc` do not take
    part in equality. Raises PatternError if the pattern is ill-formed.
    """

    name: str
    match: Op
    rewrite: Node
    where: tuple[Expr, ...] = ()
    benefit: int = 1
    doc: str = field(default="", compare=False)
    loc: Loc | None = _loc_field()

    def __post_init__(self) -> None:
        where = self.where
        if not isinstance(where, tuple):
            where = tuple(where) if isinstance(where, (list, Sequence)) else (where,)
        object.__setattr__(self, "where", tuple(_expr(w) for w in where))
        _check(self)

    @property
    def root(self) -> str:
        """The op name the pattern is rooted at (the driver dispatches on it)."""
        return self.match.name

    def match_ops(self) -> list[Op]:
        """The ops of the match DAG, root first (pre-order)."""
        return list(self.match.walk())

    def bindings(self) -> dict[str, str]:
        """Every name the match binds -> its kind: 'value' or 'attr' (root included)."""
        return _bindings(self.match)

    def referenced_functions(self) -> set[str]:
        """Names of every function called in the constraints and the replacement."""
        out: set[str] = set()
        for w in self.where:
            out |= _calls(w)
        out |= _calls(self.rewrite)
        return out


def _bindings(match: Op) -> dict[str, str]:
    kinds: dict[str, str] = {ROOT: "value"}

    def bind(name: str, kind: str, node: object) -> None:
        if name == WILDCARD:
            return
        if name == ROOT and node is not match:
            raise PatternError(f"'{ROOT}' is reserved for the matched root", node)
        prev = kinds.get(name)
        if prev is not None and prev != kind:
            raise PatternError(f"'{name}' is bound both as {prev} and as {kind}", node)
        kinds[name] = kind

    def visit(op: Op) -> None:
        if op.bind is not None:
            if op.bind in kinds and op is not match:
                raise PatternError(f"'{op.bind}' is bound twice", op)
            bind(op.bind, "value", op)
        for o in op.operands:
            if isinstance(o, Var):
                bind(o.name, "value", o)
            elif isinstance(o, Op):
                visit(o)
            else:
                raise PatternError("a function call cannot appear in a match DAG", o)
        for k, v in op.attrs:
            if isinstance(v, Var):
                bind(v.name, "attr", v)
            elif not isinstance(v, Lit):
                raise PatternError(
                    f"attribute '{k}' of a matched op must be a name or a literal", v
                )
        if op.type is not None:
            raise PatternError("a matched op cannot state a result type; use 'where'", op)

    visit(match)
    return kinds


def _calls(node: object) -> set[str]:
    out: set[str] = set()
    for n in _walk_expr(node):
        if isinstance(n, Call):
            out.add(n.fn)
    return out


def _walk_expr(node: object) -> Iterator[object]:
    yield node
    if isinstance(node, Call):
        children: tuple = node.args
    elif isinstance(node, (And, Or, List)):
        children = node.items
    elif isinstance(node, Not):
        children = (node.item,)
    elif isinstance(node, Cmp):
        children = (node.lhs, node.rhs)
    elif isinstance(node, Op):
        children = (*node.operands, *(v for _, v in node.attrs))
        if node.type is not None:
            children += (node.type,)
    else:
        children = ()
    for c in children:
        yield from _walk_expr(c)


def _check(p: Pattern) -> None:
    if not isinstance(p.match, Op):
        raise PatternError(f"pattern '{p.name}': the match must be an op", p.match)
    if not isinstance(p.benefit, int) or p.benefit < 0:
        raise PatternError(f"pattern '{p.name}': benefit must be a non-negative int", p)
    try:
        kinds = _bindings(p.match)
    except PatternError as e:
        raise PatternError(f"pattern '{p.name}': {e}", e.node) from None
    for n in (*p.where, p.rewrite):
        for sub in _walk_expr(n):
            if isinstance(sub, Var):
                if sub.name == WILDCARD:
                    raise PatternError(f"pattern '{p.name}': '_' can only appear in the match", sub)
                if sub.name not in kinds:
                    raise PatternError(f"pattern '{p.name}': '{sub.name}' is not bound", sub)
    if not isinstance(p.rewrite, (Op, Var, Call)):
        raise PatternError(
            f"pattern '{p.name}': the rewrite must be an op, a bound value or a native "
            "rewrite call",
            p.rewrite,
        )
    for sub in _walk_expr(p.rewrite):
        if isinstance(sub, Op):
            for o in sub.operands:
                if isinstance(o, Var) and kinds[o.name] != "value":
                    raise PatternError(
                        f"pattern '{p.name}': operand '{o.name}' is an attribute, not a value",
                        o,
                    )
            if sub.bind is not None:
                raise PatternError(f"pattern '{p.name}': 'as' cannot appear in a rewrite", sub)
    if isinstance(p.rewrite, Var) and kinds[p.rewrite.name] != "value":
        raise PatternError(
            f"pattern '{p.name}': the rewrite '{p.rewrite.name}' is an attribute, not a value",
            p.rewrite,
        )
