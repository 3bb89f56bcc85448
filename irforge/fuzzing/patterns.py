"""Instances of declarative patterns, generated from their match DAGs, for fuzzing.

For a pattern, `pattern_instances(pattern)` is a hypothesis strategy of programs whose
body is the pattern's match DAG: a required result shape is pushed from the root down
through each op's shape rule (elementwise ops with ONNX broadcasting, transpose, reshape,
N-D matmul, gemm; other ops are treated as shape-preserving), attributes written as
literals in the pattern are honoured and the others drawn at random, and each leaf becomes
a function argument or a constant. The operands of an op with xDSL's `Commutative` trait (graph.add,
graph.mul, graph.max, graph.min) are placed in a drawn order, so that instances have them
in the written order and swapped, and the matcher's commutative matching is checked
against the reference in both. The `where` clause steers the leaves: `x is splat V` makes
x a splat constant of V, `is_finite_constant(x)` / `x is constant` make x a random
constant; other leaves are sometimes constants or splats of 0, 1, -0.0, Inf and NaN as
well, so that patterns guarded against them are exercised too; a leaf bounded by
`rank(x) <= N` (`< N`, `== N`) takes the broadcast side of an op with at most N dims (a
2-D or 1-D bias under a rank-3 matmul). Arguments and constants
are filled with a data mix drawn per leaf (irforge.fuzzing.values: ordinary numbers, or
NaN, ±Inf, ±0.0, subnormals, the extreme normals and values whose products overflow), and
gemm's alpha and beta include 0, -0.0, Inf and NaN. Shapes have 1 to 4 dims of size 1 to
4 (size-1 and broadcast dims included); a DAG with a gemm has a 2-D root, one with a
matmul a 2-D or (a third of the time) 3-D root, the batch dim on the matmul's lhs only (a
2-D weight), on both operands (broadcast) or on the rhs only. A transpose's perm is
sometimes the identity or the inverse of its operand's perm.

`check_instance(pattern, program)` applies the pattern once at the instance's root (no
folding, no other pattern) and checks that it fired, that the IR verifies, and that the
reference semantics before and after agree (rtol 1e-5, atol 1e-6; NaN equal to NaN, -0.0
equal to +0.0: irforge.fuzzing.values.assert_same).
Instances the pattern does not match are rejected with hypothesis's `assume`, so only
rewrites are counted.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType
from xdsl.ir import Block, Region, SSAValue

from irforge.dialects import graph
from irforge.fuzzing.programs import Program
from irforge.fuzzing.values import assert_same, fill

RTOL, ATOL = 1e-5, 1e-6
UNREACHED = "no generated instance triggered it: the generator cannot reach it"

# Splat constants a leaf may become (-0.0 matches `is splat 0.0`), and gemm scales: special
# values last, so that hypothesis shrinks towards the ordinary ones.
_SPLATS = (0.0, 1.0, -0.0, math.inf, math.nan)
_ALPHAS = (1.0, 0.5, -2.0, 0.0, math.inf)
_BETAS = (1.0, 0.0, 2.0, -0.0, math.inf, math.nan)


class NotAnInstance(Exception):
    """The drawn shapes or attributes do not make valid IR for this DAG."""


def _leaf_hints(pattern) -> dict[str, tuple[str, float | None]]:
    """Leaf name -> ("splat", value) or ("constant", None), read off the where clause."""
    from irforge.passes.patterns.model import Call, Lit, Var

    hints: dict[str, tuple[str, float | None]] = {}

    def visit(node) -> None:
        if isinstance(node, Call) and node.args and isinstance(node.args[0], Var):
            name = node.args[0].name
            if node.fn == "is_splat":
                value = (
                    node.args[1].value
                    if len(node.args) > 1 and isinstance(node.args[1], Lit)
                    else None
                )
                hints[name] = ("splat", value)
            elif node.fn in ("is_finite_constant", "is_constant"):
                hints.setdefault(name, ("constant", None))
        for child in getattr(node, "items", ()) or ():
            visit(child)
        for child in getattr(node, "args", ()) or ():
            visit(child)
        for attr in ("lhs", "rhs", "item"):
            if hasattr(node, attr):
                visit(getattr(node, attr))

    for w in pattern.where:
        visit(w)
    return hints


def _rank_bounds(pattern) -> dict[str, int]:
    """Leaf name -> the largest rank its `where` conjuncts allow (`rank(x) <= N`, `< N`,
    `== N`), so that a leaf placed on the broadcast side of an op keeps to it."""
    from irforge.passes.patterns.model import And, Call, Cmp, Lit, Var

    bounds: dict[str, int] = {}
    conjuncts = [i for w in pattern.where for i in (w.items if isinstance(w, And) else [w])]
    for c in conjuncts:
        if not (isinstance(c, Cmp) and isinstance(c.lhs, Call) and isinstance(c.rhs, Lit)):
            continue
        call, limit = c.lhs, c.rhs.value
        if call.fn != "rank" or len(call.args) != 1 or not isinstance(call.args[0], Var):
            continue
        if not isinstance(limit, int) or c.op not in ("<=", "<", "=="):
            continue
        bound = max(0, limit - 1 if c.op == "<" else limit)
        name = call.args[0].name
        bounds[name] = min(bound, bounds.get(name, bound))
    return bounds


def _literal_attrs(node) -> dict:
    from irforge.passes.patterns.model import Lit

    return {k: v.value for k, v in node.attrs if isinstance(v, Lit)}


class _Builder:
    """Builds one instance of a match DAG with drawn shapes, attributes and leaves."""

    def __init__(self, draw, pattern):
        self.draw = draw
        self.hints = _leaf_hints(pattern)
        self.rank_bounds = _rank_bounds(pattern)
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        self.block = Block()
        self.b = Builder(InsertPoint.at_end(self.block))
        self.leaves: dict[str, SSAValue] = {}
        self.inputs: list[np.ndarray] = []

    def data(self, shape) -> np.ndarray:
        """Random float32 data of `shape`, special values or not (irforge.fuzzing.values)."""
        return fill(self.rng, shape)

    def constant(self, shape, value: float | None = None) -> SSAValue:
        from irforge.frontends.onnx import dense_f32

        data = np.full(shape, value, np.float32) if value is not None else self.data(shape)
        return self.b.insert(graph.ConstantOp(dense_f32(data))).result

    def leaf(self, name: str, shape: tuple[int, ...]) -> SSAValue:
        if name in self.leaves and name != "_":
            return self.leaves[name]
        kind, value = self.hints.get(name, (None, None))
        if kind == "splat":
            v = self.constant(shape, value if value is not None else 0.0)
        elif kind == "constant" or self.draw(st.integers(0, 9)) < 2:
            v = self.constant(shape)
        elif self.draw(st.integers(0, 9)) < 1:
            v = self.constant(shape, float(self.draw(st.sampled_from(_SPLATS))))
        else:
            v = self.block.insert_arg(TensorType(Float32Type(), shape), len(self.block.args))
            self.inputs.append(self.data(shape))
        if name != "_":
            self.leaves[name] = v
        return v

    def node(self, node, shape: tuple[int, ...]) -> SSAValue:
        from irforge.passes.patterns.model import Op, Var

        if isinstance(node, Var):
            return self.leaf(node.name, shape)
        if not isinstance(node, Op):
            raise NotAnInstance(f"cannot generate {node!r}")
        rule = _RULES.get(node.name, _same_shape)
        try:
            value = rule(self, node, shape)
        except (ValueError, IndexError) as e:
            raise NotAnInstance(str(e)) from e
        if node.bind and node.bind not in self.leaves:
            self.leaves[node.bind] = value
        return value

    def suffix_shape(self, shape, max_rank: int | None = None) -> tuple[int, ...]:
        """`shape` or a shape that broadcasts to it (a suffix with some dims set to 1), of
        at most `max_rank` dims if given."""
        cap = len(shape) if max_rank is None else min(len(shape), max_rank)
        if self.draw(st.booleans()):
            return tuple(shape[len(shape) - cap :])
        # the same rank half of the time: a matched gemm needs rank 2
        k = len(shape) if self.draw(st.booleans()) else self.draw(st.integers(0, len(shape)))
        tail = shape[len(shape) - min(k, cap) :]
        return tuple(d if self.draw(st.booleans()) else 1 for d in tail)

    def max_rank(self, node) -> int | None:
        """The rank bound the where clause puts on leaf `node` (`rank(x) <= N`), or None."""
        from irforge.passes.patterns.model import Var

        return self.rank_bounds.get(node.name) if isinstance(node, Var) else None


def _commuted(bld: _Builder, cls, operands: list[SSAValue]) -> list[SSAValue]:
    """The operands in a drawn order if `cls` is Commutative (the written order first, so
    hypothesis shrinks towards it): the matcher must find the DAG in any order."""
    if len(operands) > 1 and _is_commutative(cls):
        order = bld.draw(st.permutations(range(len(operands))))
        return [operands[i] for i in order]
    return operands


def _is_commutative(cls) -> bool:
    from xdsl.irdl import IRDLOperation
    from xdsl.traits import Commutative

    return issubclass(cls, IRDLOperation) and cls.has_trait(Commutative)


def _binary(bld: _Builder, node, shape):
    """Broadcasting binary ops: one operand has the result's shape, the other a shape that
    broadcasts to it; the operands of a commutative op are placed in either order."""
    cls = _op_class(node.name)
    bounds = [bld.max_rank(o) for o in node.operands]
    full = bld.draw(st.integers(0, 1))  # the operand with the result's shape
    bound = bounds[full]
    if bound is not None and bound < len(shape):
        full = 1 - full  # a leaf the where clause bounds to a lower rank broadcasts
    shapes = [tuple(shape), bld.suffix_shape(shape, bounds[1 - full])]
    if full:
        shapes.reverse()
    operands = [bld.node(o, s) for o, s in zip(node.operands, shapes, strict=True)]
    return bld.b.insert(cls(*_commuted(bld, cls, operands))).result


def _same_shape(bld: _Builder, node, shape):
    """Ops whose operands have the result's shape (unary ops, plugin ops by default);
    numeric attributes written as literals in the pattern are set on the op."""
    from xdsl.dialects.builtin import FloatAttr, IntegerAttr

    operands = [bld.node(o, shape) for o in node.operands]
    cls = _op_class(node.name)
    if node.name == "graph.softmax":
        axis = bld.draw(st.integers(-len(shape), len(shape) - 1))
        return bld.b.insert(cls(*operands, axis=axis)).result
    op = cls(*_commuted(bld, cls, operands))
    for key, value in _literal_attrs(node).items():
        old = op.properties.get(key)
        if isinstance(old, FloatAttr):
            op.properties[key] = FloatAttr(float(value), old.type)
        elif isinstance(old, IntegerAttr):
            op.properties[key] = IntegerAttr(int(value), old.type)
    return bld.b.insert(op).result


def _transpose(bld: _Builder, node, shape):
    from irforge.passes.patterns.model import Op

    rank = len(shape)
    inner = node.operands[0]
    choice = bld.draw(st.integers(0, 3))  # 0, 1: a random perm; 2: identity; 3: inverse
    perm = list(bld.draw(st.permutations(range(rank))))
    if choice == 2:
        perm = list(range(rank))
    pending = None
    if choice == 3 and isinstance(inner, Op) and inner.name == "graph.transpose":
        pending = perm  # the inner perm is chosen as the inverse of this one, below
    # result dim i is operand dim perm[i]: operand dim perm[i] has size shape[i]
    operand_shape = [0] * rank
    for i, p in enumerate(perm):
        operand_shape[p] = shape[i]
    if pending is not None:
        inv = [0] * rank
        for i, p in enumerate(perm):
            inv[p] = i
        x_shape = [0] * rank
        for i, p in enumerate(inv):
            x_shape[p] = operand_shape[i]
        x = bld.node(inner.operands[0], tuple(x_shape))
        operand = bld.b.insert(graph.TransposeOp(x, inv)).result
    else:
        operand = bld.node(inner, tuple(operand_shape))
    return bld.b.insert(graph.TransposeOp(operand, perm)).result


def _factorizations(n: int, max_rank: int = 3) -> list[tuple[int, ...]]:
    """Shapes of up to `max_rank` dims whose product is n, in the order instances draw
    them from (the program generators use program_shape.factorizations, ordered by rank)."""
    out: list[tuple[int, ...]] = [(n,)]
    for a in range(1, n + 1):
        if n % a == 0:
            out.append((a, n // a))
            for c in range(1, n // a + 1):
                if (n // a) % c == 0:
                    out.append((a, c, n // a // c))
    return [s for s in out if len(s) <= max_rank]


def _reshape(bld: _Builder, node, shape):
    src = bld.draw(st.sampled_from(_factorizations(math.prod(shape))))
    operand = bld.node(node.operands[0], tuple(src))
    return bld.b.insert(graph.ReshapeOp(operand, shape)).result


def _matmul(bld: _Builder, node, shape):
    """graph.matmul with NumPy/ONNX semantics: an (m, n) result has (m, k) and (k, n)
    operands; a result with batch dims gets them on the lhs only (a 2-D weight), on both
    operands (each dim sometimes 1 on one side, broadcast) or on the rhs only."""
    if len(shape) < 2:
        raise NotAnInstance("matmul needs a result of rank >= 2")
    *batch, m, n = shape
    k = bld.draw(st.integers(1, 4))
    a_batch = b_batch = tuple(batch)
    if batch:
        side = bld.draw(st.sampled_from(("lhs", "rhs", "both")))
        if side == "lhs":
            b_batch = ()
        elif side == "rhs":
            a_batch = ()
        else:  # per batch dim: 0 both full, 1 the lhs's is 1, 2 the rhs's is 1
            ones = [bld.draw(st.integers(0, 2)) for _ in batch]
            a_batch = tuple(1 if o == 1 else d for o, d in zip(ones, batch, strict=True))
            b_batch = tuple(1 if o == 2 else d for o, d in zip(ones, batch, strict=True))
    a = bld.node(node.operands[0], (*a_batch, m, k))
    b = bld.node(node.operands[1], (*b_batch, k, n))
    return bld.b.insert(graph.MatMulOp(a, b)).result


def _gemm(bld: _Builder, node, shape):
    if len(shape) != 2:
        raise NotAnInstance("gemm needs a rank-2 result")
    lit = _literal_attrs(node)
    m, n = shape
    k = bld.draw(st.integers(1, 4))
    ta = int(lit.get("transA", bld.draw(st.integers(0, 1))))
    tb = int(lit.get("transB", bld.draw(st.integers(0, 1))))
    alpha = float(lit.get("alpha", bld.draw(st.sampled_from(_ALPHAS))))
    beta = float(lit.get("beta", bld.draw(st.sampled_from(_BETAS))))
    a = bld.node(node.operands[0], (k, m) if ta else (m, k))
    b = bld.node(node.operands[1], (n, k) if tb else (k, n))
    c = None
    if len(node.operands) > 2:
        c_shape = bld.draw(st.sampled_from([(m, n), (n,), (1,), (1, n), (m, 1)]))
        c = bld.node(node.operands[2], c_shape)
    op = graph.GemmOp(a, b, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
    return bld.b.insert(op).result


_RULES = {
    "graph.add": _binary,
    "graph.sub": _binary,
    "graph.mul": _binary,
    "graph.div": _binary,
    "graph.pow": _binary,
    "graph.max": _binary,
    "graph.min": _binary,
    "graph.transpose": _transpose,
    "graph.reshape": _reshape,
    "graph.matmul": _matmul,
    "graph.gemm": _gemm,
}


def _op_class(name: str):
    from irforge.dialects import make_dialect_context

    cls = make_dialect_context().get_optional_op(name)
    if cls is None:
        raise NotAnInstance(f"unknown op '{name}'")
    return cls


@st.composite
def pattern_instances(draw, pattern):
    """Programs (`irforge.fuzzing.programs.Program`) whose body is an instance of the
    pattern's match DAG (see the module docstring)."""
    bld = _Builder(draw, pattern)
    names = {o.name for o in pattern.match_ops()}
    # permutations of rank <= 2 all commute and are their own inverses: transposes get 2-4
    low = 2 if "graph.transpose" in names else 1
    # gemm is 2-D; matmul is N-D: rank-3 results (batch dims on either operand or both) test
    # the patterns that must keep to 2-D matmuls
    if "graph.gemm" in names:
        rank = 2
    elif "graph.matmul" in names:
        rank = 3 if draw(st.integers(0, 2)) == 2 else 2
    else:
        rank = draw(st.integers(low, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    try:
        root = bld.node(pattern.match, shape)
    except NotAnInstance:
        assume(False)
    bld.b.insert(func.ReturnOp(root))
    fn = func.FuncOp("main", (bld.block.arg_types, [root.type]), Region(bld.block))
    module = ModuleOp([fn])
    try:
        module.verify()
    except Exception:
        assume(False)
    return Program(module, bld.inputs)


def check_instance(pattern, program) -> bool:
    """Apply `pattern` alone to the program; assert it verifies and keeps the semantics.

    Calls hypothesis's `assume(False)` when the pattern does not fire on this instance.
    """
    from xdsl.pattern_rewriter import PatternRewriter

    from irforge.dialects.reference import run_reference
    from irforge.passes.patterns import compile_pattern

    module, inputs = program
    module = module.clone()
    with np.errstate(all="ignore"):  # Inf and NaN inputs are intended
        (before,) = run_reference(module, inputs)
    # Apply once, at the instance's root (the returned value's op): a wrong pattern may
    # also never converge, which is not what this check is about.
    ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
    root = ret.operands[0].owner
    rewriter = PatternRewriter(root)
    compile_pattern(pattern).match_and_rewrite(root, rewriter)
    assume(rewriter.has_done_action)
    module.verify()
    with np.errstate(all="ignore"):
        (after,) = run_reference(module, inputs)
    assert_same(after, before, RTOL, ATOL)
    return True


def fuzz_pattern(pattern, examples: int, seed: int | None, label: str = "", shrink: bool = True):
    """Fuzz one pattern: (Failure or None, number of rewritten instances checked).

    A pattern that no generated instance triggers is a failure too. `shrink=False` returns
    the first failing case as found (faster: mutation testing needs no minimal case).
    """
    from irforge.fuzzing.runner import Failure, run_hypothesis
    from irforge.textual_ir import print_module

    label = label or pattern.name
    fired = [0]

    def describe(case):
        module, inputs = case
        return print_module(module), inputs

    def check(case):
        fired[0] += check_instance(pattern, case)

    strategy = pattern_instances(pattern)
    failure = run_hypothesis(strategy, check, examples, seed, describe, shrink=shrink)
    if failure is not None:
        failure.what = f"pattern {label} does not keep the program's meaning"
    elif fired[0] == 0:
        failure = Failure(
            f"pattern {label}",
            "",
            [],
            UNREACHED,
        )
    return failure, fired[0]


def fuzz_patterns(name: str | None, examples: int, seed: int | None):
    """Yield (set/pattern name, Failure or None, instances rewritten) for every registered
    pattern (or only the one called `name`; ValueError if there is none)."""
    from irforge.passes.patterns import all_patterns

    found = False
    for set_name, pset in sorted(all_patterns().items()):
        for pattern in pset:
            if name is not None and pattern.name != name:
                continue
            found = True
            label = f"{set_name}/{pattern.name}"
            failure, fired = fuzz_pattern(pattern, examples, seed, label)
            yield label, failure, fired
    if name is not None and not found:
        known = ", ".join(sorted(p.name for pset in all_patterns().values() for p in pset))
        raise ValueError(f"no registered pattern named '{name}'; registered: {known}")
