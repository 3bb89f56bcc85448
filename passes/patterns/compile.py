"""Compile declarative patterns (model.py) to xDSL RewritePatterns.

A `CompiledPattern` is an ordinary `xdsl.pattern_rewriter.RewritePattern` (so xDSL's
PatternRewriteWalker can run it), split in the two halves irforge's greedy driver calls
directly:

- `match(op) -> env | None`: walks the match DAG from the root op through operand
  definitions, binding names (values, and attributes as Python values), then checks the
  `where` constraints in order. The checks are closures built once per pattern, so
  matching does no interpretation of the model.
  Commutative matching: an op of the match DAG whose class has xDSL's `Commutative`
  trait (graph.add, graph.mul, graph.max, graph.min) matches its operands in any order.
  The pattern compiles to one matcher per operand ordering of its commutative ops
  (`CompiledPattern.orderings`: the written DAG first, then, depth first, each
  commutative op's other orders, the outermost op varying slowest; duplicates dropped);
  `match` tries them in that order and returns the first whose DAG and `where`
  constraints all hold, so bindings are always consistent and the choice is
  deterministic. A pattern without commutative ops compiles to a single matcher.
- `build(op, env) -> (new_ops, value)`: builds the replacement DAG bottom-up (new ops are
  detached, in creation order) and returns the value that replaces the root's result.
  A replacement op's result type is, in order: its explicit `-> TYPE` expression; for the
  replacement of the root, the root's own result type; otherwise inferred from the new op
  (`register_type_inference`; graph ops use their `infer_shape`, ops with the
  SameOperandsAndResultType trait copy their operand's type).

Errors: `compile_pattern` raises PatternError for unknown ops or functions, for
functions used where their kind does not fit, and for a match DAG with more than
`MAX_ORDERINGS` operand orderings. `build` raises PatternApplicationError
when a replacement's type differs from the root's (a wrong pattern, never silent).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import permutations, product
from math import prod
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import NoneType
from xdsl.ir import Attribute, Operation, OpResult, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.rewriter import Rewriter

from . import natives
from .model import (
    ROOT,
    WILDCARD,
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

Env = dict[str, Any]
ROOT_OP = "$op"  # env key of the matched root operation


class PatternApplicationError(RuntimeError):
    """A pattern built a replacement that cannot replace the matched op."""


# ---- result type inference for replacement ops ----

TypeInference = Callable[[Operation], Sequence[Attribute]]
_INFERENCE: dict[type[Operation], TypeInference] = {}


def register_type_inference(op_class: type[Operation], fn: TypeInference) -> None:
    """Use `fn(op) -> result types` for replacement ops of `op_class` (and subclasses)
    whose pattern gives no explicit type. `op` is a detached op whose result types are
    placeholders; `fn` reads its operands and attributes."""
    _INFERENCE[op_class] = fn


def _graph_inference(op: Operation) -> list[Attribute]:
    from xdsl.dialects.builtin import TensorType

    value = op.properties.get("value")
    if value is not None and not op.operands:
        return [value.type]
    return [TensorType(op.operands[0].type.get_element_type(), op.infer_shape())]


def _inference_for(cls: type[Operation]) -> TypeInference | None:
    if not _BUILTIN_INFERENCE:
        from ...dialects.graph import GraphOp

        _BUILTIN_INFERENCE.append(True)
        _INFERENCE.setdefault(GraphOp, _graph_inference)
    for k in cls.__mro__:
        fn = _INFERENCE.get(k)
        if fn is not None:
            return fn
    if issubclass(cls, IRDLOperation):
        from xdsl.traits import SameOperandsAndResultType

        if cls.has_trait(SameOperandsAndResultType):
            return lambda op: [op.operands[0].type] * len(op.results)
    return None


_BUILTIN_INFERENCE: list[bool] = []


# ---- expressions ----

_CMP = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

Fn = Callable[[Env], Any]


def _native(call: Call, allowed: tuple[str, ...], where: str, pattern: str) -> Callable:
    nat = natives.lookup(call.fn)
    if nat is None:
        raise PatternError(f"pattern '{pattern}': unknown function '{call.fn}'", call)
    if nat.kind not in allowed:
        raise PatternError(
            f"pattern '{pattern}': '{call.fn}' is a native {nat.kind}; it cannot be used "
            f"in {where}",
            call,
        )
    return nat.fn


def compile_expr(e: Any, pattern: str, where: str = "a constraint") -> Fn:
    """A closure evaluating expression `e` on an environment of bindings."""
    if isinstance(e, Var):
        name = e.name
        return lambda env: env[name]
    if isinstance(e, Lit):
        value = e.value
        return lambda env: value
    if isinstance(e, List):
        items = [compile_expr(i, pattern, where) for i in e.items]
        return lambda env: tuple(i(env) for i in items)
    if isinstance(e, Not):
        inner = compile_expr(e.item, pattern, where)
        return lambda env: not inner(env)
    if isinstance(e, Cmp):
        lhs, rhs = compile_expr(e.lhs, pattern, where), compile_expr(e.rhs, pattern, where)
        op = _CMP[e.op]
        return lambda env: op(lhs(env), rhs(env))
    if isinstance(e, And):
        items = [compile_expr(i, pattern, where) for i in e.items]
        return lambda env: all(i(env) for i in items)
    if isinstance(e, Or):
        items = [compile_expr(i, pattern, where) for i in e.items]
        return lambda env: any(i(env) for i in items)
    if isinstance(e, Call):
        if e.fn == "neg":
            inner = compile_expr(e.args[0], pattern, where)
            return lambda env: -inner(env)
        fn = _native(e, ("constraint", "function"), where, pattern)
        args = [compile_expr(a, pattern, where) for a in e.args]
        if len(args) == 1:
            (a0,) = args
            return lambda env: fn(a0(env))
        if len(args) == 2:
            a0, a1 = args
            return lambda env: fn(a0(env), a1(env))
        return lambda env: fn(*[a(env) for a in args])
    raise PatternError(f"pattern '{pattern}': {e!r} is not an expression", e)


# ---- match ----

Matcher = Callable[[Operation, Env], bool]
ValueMatcher = Callable[[SSAValue, Env], bool]


def _get_attr(op: Operation, key: str) -> Attribute | None:
    a = op.properties.get(key)
    return op.attributes.get(key) if a is None else a


class _MatchCompiler:
    def __init__(self, pattern: Pattern):
        self.pattern = pattern
        self.seen: set[str] = {ROOT}

    def op(self, node: Op, is_root: bool) -> Matcher:
        """A matcher of `node`; the root's name is checked by the caller."""
        name, n = node.name, len(node.operands)
        subs = [self.operand(o) for o in node.operands]
        checks = [self.attr(k, v) for k, v in node.attrs]

        def match(op: Operation, env: Env) -> bool:
            if not is_root and op.name != name:
                return False
            operands = op.operands
            if len(operands) != n:
                return False
            for sub, v in zip(subs, operands):
                if not sub(v, env):
                    return False
            for check in checks:
                if not check(op, env):
                    return False
            return True

        return match

    def operand(self, o: Any) -> ValueMatcher:
        if isinstance(o, Var):
            name = o.name
            if name == WILDCARD:
                return lambda v, env: True
            if name in self.seen:
                return lambda v, env: env[name] is v
            self.seen.add(name)

            def bind(v: SSAValue, env: Env) -> bool:
                env[name] = v
                return True

            return bind
        inner = self.op(o, is_root=False)
        bind = o.bind
        if bind is not None:
            self.seen.add(bind)

        def nested(v: SSAValue, env: Env) -> bool:
            if not isinstance(v, OpResult) or not inner(v.op, env):
                return False
            if bind is not None:
                env[bind] = v
            return True

        return nested

    def attr(self, key: str, v: Any) -> Matcher:
        if isinstance(v, Lit):
            want = v.value

            def equals(op: Operation, env: Env) -> bool:
                a = _get_attr(op, key)
                return a is not None and natives.attr_to_py(a) == want

            return equals
        name = v.name
        raw = "@" + name
        if name in self.seen:

            def same(op: Operation, env: Env) -> bool:
                return _get_attr(op, key) == env[raw]

            return same
        self.seen.add(name)

        def bind(op: Operation, env: Env) -> bool:
            a = _get_attr(op, key)
            if a is None:
                return False
            env[raw] = a
            env[name] = natives.attr_to_py(a)
            return True

        return bind


# ---- commutative operand orders ----

MAX_ORDERINGS = 256
"""The most operand orderings of its commutative ops a match DAG may have."""


def is_commutative(name: str, ctx: Context | None = None) -> bool:
    """Whether the op called `name` has xDSL's `Commutative` trait in `ctx` (default:
    irforge's dialects); unknown and unregistered ops are not commutative."""
    from xdsl.traits import Commutative

    cls = (ctx or _default_context()).get_optional_op(name)
    return cls is not None and issubclass(cls, IRDLOperation) and cls.has_trait(Commutative)


def match_orderings(
    match: Op, commutative: Callable[[str], bool], pattern: str = "<pattern>"
) -> list[Op]:
    """`match` with the operands of its commutative ops in every order, the written DAG
    first. Each commutative op's own orders vary slower than those of the ops nested in
    it (depth first, as a backtracking matcher would try them); equal DAGs (`add(x, x)`)
    are listed once. Raises PatternError past MAX_ORDERINGS."""

    def orderings(node: Any) -> list[Any]:
        if not isinstance(node, Op):
            return [node]
        n = len(node.operands)
        children = [orderings(o) for o in node.operands]
        if n > 1 and commutative(node.name):
            orders: list[tuple[int, ...]] = list(permutations(range(n)))
        else:
            orders = [tuple(range(n))]
        if len(orders) * prod(len(c) for c in children) > MAX_ORDERINGS:
            raise PatternError(
                f"pattern '{pattern}': the match DAG has more than {MAX_ORDERINGS} operand "
                "orderings of its commutative ops",
                node,
            )
        out: list[Op] = []
        for order in orders:
            for operands in product(*children):
                new = Op(
                    node.name,
                    *(operands[i] for i in order),
                    attrs=node.attrs,
                    bind=node.bind,
                    type=node.type,
                    loc=node.loc,
                )
                if new not in out:
                    out.append(new)
        return out

    return orderings(match)


# ---- rewrite ----


class RewriteBuilder:
    """Collects the ops a replacement creates (native rewrites call `insert`)."""

    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def insert(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op


Builder = Callable[[Env, RewriteBuilder], SSAValue]


class _RewriteCompiler:
    def __init__(self, pattern: Pattern, ctx: Context, kinds: dict[str, str]):
        self.pattern, self.ctx, self.kinds = pattern, ctx, kinds

    def err(self, msg: str, node: Any) -> PatternError:
        return PatternError(f"pattern '{self.pattern.name}': {msg}", node)

    def node(self, n: Any, is_top: bool) -> Builder:
        if isinstance(n, Var):
            name = n.name
            return lambda env, b: env[name]
        if isinstance(n, Call):
            fn = _native(n, ("rewrite",), "a replacement DAG node", self.pattern.name)
            args = [compile_expr(a, self.pattern.name, "a native rewrite") for a in n.args]

            def native(env: Env, b: RewriteBuilder) -> SSAValue:
                out = fn(b, *[a(env) for a in args])
                return out.results[0] if isinstance(out, Operation) else out

            return native
        return self.op(n, is_top)

    def op(self, n: Op, is_top: bool) -> Builder:
        cls = self.ctx.get_optional_op(n.name)
        if cls is None:
            raise self.err(f"unknown op '{n.name}'", n)
        operands = [self.node(o, False) for o in n.operands]
        op_def = cls.get_irdl_definition() if issubclass(cls, IRDLOperation) else None
        props: list[tuple[str, Fn]] = []
        attrs: list[tuple[str, Fn]] = []
        for key, e in n.attrs:
            is_prop = op_def is None or key in op_def.properties or key not in op_def.attributes
            defn = None
            if op_def is not None:
                defn = op_def.properties.get(key) or op_def.attributes.get(key)
            like = getattr(defn, "default_value", None)
            fn = self.attr_value(e, like)
            (props if is_prop else attrs).append((key, fn))
        if n.type is not None:
            tfn = compile_expr(n.type, self.pattern.name, "a result type")
            n_results = len(op_def.results) if op_def is not None else 1

            def types(env: Env, op: Operation | None = None) -> list[Attribute]:
                t = tfn(env)
                return list(t) if isinstance(t, (list, tuple)) else [t] * n_results

            infer = None
        elif is_top:

            def types(env: Env, op: Operation | None = None) -> list[Attribute]:
                return [r.type for r in env[ROOT_OP].results]

            infer = None
        else:
            infer = _inference_for(cls)
            if infer is None:
                raise self.err(
                    f"cannot infer the result type of '{n.name}': give it one with '-> TYPE'",
                    n,
                )
            types = None
        create = cls.create
        prop_order = [(k, d.default_value) for k, d in op_def.properties.items()] if op_def else []
        placeholders = [NoneType()] * (len(op_def.results) if op_def is not None else 1)

        def build(env: Env, b: RewriteBuilder) -> SSAValue:
            args = [o(env, b) for o in operands]
            p = {k: f(env) for k, f in props}
            if prop_order:  # the op definition's order, defaults filled (stable printing)
                p = {k: p[k] if k in p else d for k, d in prop_order if k in p or d is not None}
            a = {k: f(env) for k, f in attrs}
            if infer is None:
                op = create(operands=args, result_types=types(env), properties=p, attributes=a)
            else:
                # A detached op with placeholder result types; its own shape rule fills them.
                op = create(operands=args, result_types=placeholders, properties=p, attributes=a)
                for r, t in zip(list(op.results), infer(op)):
                    if r.type != t:
                        Rewriter.replace_value_with_new_type(r, t)
            b.insert(op)
            return op.results[0] if op.results else None

        return build

    def attr_value(self, e: Any, like: Attribute | None) -> Fn:
        if isinstance(e, Var) and self.kinds.get(e.name) == "attr":
            raw = "@" + e.name
            return lambda env: env[raw]  # copy the matched attribute as it is
        fn = compile_expr(e, self.pattern.name, "an attribute value")
        to_attr = natives.py_to_attr
        return lambda env: to_attr(fn(env), like)


# ---- the compiled pattern ----


class CompiledPattern(RewritePattern):
    """A declarative pattern ready to run: an xDSL RewritePattern plus `match`/`build`.

    `orderings` are the match DAGs `match` tries, in order: the pattern's own, then its
    commutative ops' other operand orders (see the module docstring)."""

    def __init__(self, pattern: Pattern, ctx: Context | None = None):
        self.pattern = pattern
        self.name = pattern.name
        self.root = pattern.root
        self.benefit = pattern.benefit
        ctx = ctx or _default_context()
        kinds = pattern.bindings()
        root_bind = pattern.match.bind
        self.orderings: tuple[Op, ...] = tuple(
            match_orderings(pattern.match, lambda name: is_commutative(name, ctx), pattern.name)
        )
        # One straight-line matcher per ordering: each binds a name at its first occurrence
        # in that ordering and compares the later ones.
        matchers = [_MatchCompiler(pattern).op(m, is_root=True) for m in self.orderings]
        checks = [compile_expr(w, pattern.name) for w in pattern.where]

        root = pattern.root

        def match(op: Operation) -> Env | None:
            if op.name != root:
                return None
            for match_root in matchers:
                env: Env = {ROOT_OP: op}
                if op.results:
                    env[ROOT] = op.results[0]
                    if root_bind is not None:
                        env[root_bind] = op.results[0]
                if not match_root(op, env):
                    continue
                for check in checks:
                    if not check(env):
                        break
                else:
                    return env
            return None

        self.match = match
        self._build = _RewriteCompiler(pattern, ctx, kinds).node(pattern.rewrite, True)

    def build(self, op: Operation, env: Env) -> tuple[list[Operation], SSAValue]:
        """The new ops (detached, creation order) and the value replacing op's result."""
        b = RewriteBuilder()
        value = self._build(env, b)
        if len(op.results) != 1:
            raise PatternApplicationError(
                f"pattern '{self.name}' matched '{op.name}' with {len(op.results)} results; "
                "patterns replace single-result ops"
            )
        if value is None or value.type != op.results[0].type:
            got = "nothing" if value is None else str(value.type)
            raise PatternApplicationError(
                f"pattern '{self.name}' replaced a value of type {op.results[0].type} with {got}"
            )
        return b.ops, value

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.name != self.root:
            return
        env = self.match(op)
        if env is None:
            return
        new_ops, value = self.build(op, env)
        rewriter.replace(op, new_ops, [value])

    def __repr__(self) -> str:
        return f"CompiledPattern({self.name!r}, root={self.root!r}, benefit={self.benefit})"


_CTX: list[Context] = []


def _default_context() -> Context:
    if not _CTX:
        from ...dialects import make_dialect_context

        _CTX.append(make_dialect_context())
    return _CTX[0]


def compile_pattern(pattern: Pattern, ctx: Context | None = None) -> CompiledPattern:
    """Compile one pattern (op names resolve in `ctx`, default: irforge's dialects).

    Raises PatternError for unknown ops/functions or misused function kinds."""
    return CompiledPattern(pattern, ctx)


def compile_patterns(
    patterns: Sequence[Pattern], ctx: Context | None = None
) -> list[CompiledPattern]:
    return [CompiledPattern(p, ctx) for p in patterns]
