"""Declarative patterns: the language, the Python model, compilation, the greedy driver,
legality reports, and that every graph-canonicalize pattern keeps the reference semantics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    FunctionType,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Block, Region
from xdsl.irdl import irdl_op_definition, operand_def, result_def
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.passes.infra.statistics import collecting
from irforge.passes.patterns import (
    Call,
    Cmp,
    ConversionTarget,
    IllegalOpsError,
    Lit,
    Op,
    Pattern,
    PatternError,
    PatternSyntaxError,
    RewriteNotConverging,
    Var,
    all_patterns,
    apply_patterns,
    compile_pattern,
    native_constraint,
    native_rewrite,
    parse_pattern,
    parse_patterns,
    pattern_set,
    same_type,
)
from irforge.textual_ir import parse_module, print_module

CANON_MLIR = Path(__file__).parent / "filecheck" / "passes" / "canonicalize.mlir"
F32 = Float32Type()


@pytest.fixture(scope="module")
def ctx():
    return make_dialect_context()


def chain(*kinds: str, shape=(4, 8)) -> ModuleOp:
    """func @main(x) = kinds applied in turn (relu, identity, add0, mul1)."""
    t = TensorType(F32, list(shape))
    block = Block(arg_types=[t])
    ops, v = [], block.args[0]
    consts = {}

    def const(value):
        if value not in consts:
            consts[value] = graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [value]))
            ops.append(consts[value])
        return consts[value].result

    for k in kinds:
        op = {
            "relu": lambda v: graph.ReluOp(v),
            "identity": lambda v: graph.IdentityOp(v),
            "add0": lambda v: graph.AddOp(v, const(0.0)),
            "mul1": lambda v: graph.MulOp(v, const(1.0)),
            "add": lambda v: graph.AddOp(v, v),
            "sub": lambda v: graph.SubOp(v, v),
        }[k](v)
        ops.append(op)
        v = op.results[0]
    ops.append(func.ReturnOp(v))
    block.add_ops(ops)
    return ModuleOp([func.FuncOp("main", FunctionType.from_lists([t], [t]), Region(block))])


def op_names(module: ModuleOp) -> list[str]:
    return [o.name for o in module.walk() if o.name.startswith("graph.")]


# ---- the language ----


def test_text_and_python_constructor_give_equal_patterns():
    text = """
    // relu(relu(x)) -> relu(x)
    pattern relu_relu benefit 1 { match graph.relu(graph.relu(x) as inner) rewrite inner }
    pattern transpose_transpose {
      match graph.transpose(graph.transpose(x){perm = p}){perm = q}
      where is_identity_perm(compose(p, q))
      rewrite x
    }
    pattern add_zero benefit 3 {
      match graph.add(x, z) where z is splat 0.0 and type(root) == type(x) rewrite x
    }
    pattern gemm {
      match graph.gemm(a, b, c){beta = 0.0, alpha = al}
      where shape(c) == [2, 3] and not one_use(a) or rank(c) <= -1
      rewrite graph.gemm(a, b){alpha = al} -> type(root)
    }
    """
    relu, tt, add0, gemm = parse_patterns(text)
    assert relu == Pattern(
        "relu_relu",
        match=Op("graph.relu", Op("graph.relu", Var("x"), bind="inner")),
        rewrite=Var("inner"),
        benefit=1,
    )
    assert relu.doc == "relu(relu(x)) -> relu(x)"
    assert tt == Pattern(
        "transpose_transpose",
        match=Op(
            "graph.transpose",
            Op("graph.transpose", Var("x"), attrs={"perm": Var("p")}),
            attrs={"perm": Var("q")},
        ),
        where=[Call("is_identity_perm", Call("compose", Var("p"), Var("q")))],
        rewrite=Var("x"),
    )
    from irforge.passes.patterns import And, Not, Or, is_splat

    assert add0 == Pattern(
        "add_zero",
        match=Op("graph.add", Var("x"), Var("z")),
        where=[And(is_splat("z", 0.0), same_type("root", "x"))],
        rewrite=Var("x"),
        benefit=3,
    )
    assert gemm == Pattern(
        "gemm",
        match=Op(
            "graph.gemm", Var("a"), Var("b"), Var("c"), attrs={"beta": 0.0, "alpha": Var("al")}
        ),
        where=[
            Or(
                And(
                    Cmp("==", Call("shape", Var("c")), Lit((2, 3))),
                    Not(Call("one_use", Var("a"))),
                ),
                Cmp("<=", Call("rank", Var("c")), -1),
            )
        ],
        rewrite=Op(
            "graph.gemm",
            Var("a"),
            Var("b"),
            attrs={"alpha": Var("al")},
            type=Call("type", Var("root")),
        ),
    )


def test_match_dag_is_introspectable():
    p = pattern_set("graph-canonicalize")["transpose_transpose"]
    assert p.root == "graph.transpose"
    assert [o.name for o in p.match_ops()] == ["graph.transpose", "graph.transpose"]
    assert p.match.attr_dict == {"perm": Var("q")}
    assert p.bindings() == {"root": "value", "x": "value", "p": "attr", "q": "attr"}
    assert p.referenced_functions() == {"compose"}
    assert p.doc.startswith("transpose(transpose(x, p), q)")
    sets = all_patterns()
    assert "graph-canonicalize" in sets
    assert all(p.doc for p in sets["graph-canonicalize"]), "every pattern documents its algebra"


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("pattern a { match graph.relu(x) rewrite y }", (1, 41), "'y' is not bound"),
        ("pattern a {\n  match graph.relu(x)\n  rewrite }", (3, 11), "unexpected '}'"),
        ("pattern a { match graph.relu(x) ~ }", (1, 33), "unexpected character '~'"),
        ("pattern a { match graph.relu(x) rewrite x", (1, 42), "unexpected end of file"),
        (
            "pattern a { match graph.relu(x) rewrite x }\npattern a { match graph.relu(x) "
            "rewrite x }",
            (2, 9),
            "pattern 'a' is already defined at line 1, column 9",
        ),
        (
            "pattern a { match graph.relu(x){k = 1, k = 2} rewrite x }",
            (1, 19),
            "attribute is named twice",
        ),
        (
            "pattern a { match graph.transpose(x){perm = p} rewrite p }",
            (1, 56),
            "'p' is an attribute, not a value",
        ),
        ("pattern a { match x rewrite x }", (1, 19), "expected an op name"),
        (
            "pattern a { match graph.add(x, graph.relu(y) as x) rewrite x }",
            (1, 32),
            "'x' is bound twice",
        ),
    ],
)
def test_parse_errors_name_file_line_column(text, where, message):
    with pytest.raises(PatternSyntaxError) as info:
        parse_patterns(text, "bad.pat")
    e = info.value
    assert (e.line, e.column) == where, str(e)
    assert str(e).startswith(f"bad.pat:{where[0]}:{where[1]}: error: ")
    assert message in str(e)
    assert str(e).splitlines()[-1].endswith("^")


def test_compile_errors_for_unknown_ops_and_functions():
    with pytest.raises(PatternError, match="unknown function 'nope'"):
        compile_pattern(parse_pattern("pattern a { match graph.relu(x) where nope(x) rewrite x }"))
    with pytest.raises(PatternError, match="unknown op 'graph.nope'"):
        compile_pattern(parse_pattern("pattern a { match graph.relu(x) rewrite graph.nope(x) }"))


# ---- the driver ----


def test_relu_chain_and_statistics(ctx):
    m = chain("relu", "relu", "relu", "identity", "add0", "mul1")
    with collecting() as stats:
        res = apply_patterns(m, pattern_set("graph-canonicalize"), ctx=ctx)
    assert op_names(m) == ["graph.relu"]
    assert res.applied == {"relu_relu": 2, "identity": 1, "add_zero": 1, "mul_one": 1}
    assert stats["patterns-applied"] == 5
    assert stats["patterns-tried"] >= 5
    assert stats["ops-erased"] >= 5 + 2  # five rewritten ops, two dead constants
    assert stats["ops-created"] == 0
    m.verify()


def test_ops_created_counter(ctx):
    text = (
        '"func.func"() <{sym_name = "main", function_type = (tensor<2x3x4xf32>) -> '
        "tensor<3x4x2xf32>}> ({\n"
        "^bb0(%x: tensor<2x3x4xf32>):\n"
        '  %a = "graph.transpose"(%x) <{perm = array<i64: 2, 0, 1>}> : '
        "(tensor<2x3x4xf32>) -> tensor<4x2x3xf32>\n"
        '  %b = "graph.transpose"(%a) <{perm = array<i64: 2, 0, 1>}> : '
        "(tensor<4x2x3xf32>) -> tensor<3x4x2xf32>\n"
        '  "func.return"(%b) : (tensor<3x4x2xf32>) -> ()\n'
        "}) : () -> ()\n"
    )
    m = parse_module(text, ctx)
    with collecting() as stats:
        apply_patterns(m, pattern_set("graph-canonicalize"), ctx=ctx)
    assert stats["ops-created"] == 1 and stats["patterns-applied"] == 1
    assert stats["ops-erased"] == 2
    (t,) = [o for o in m.walk() if isinstance(o, graph.TransposeOp)]
    assert t.permutation == (1, 2, 0)


def test_benefit_orders_patterns_with_the_same_root(ctx):
    low = parse_pattern(
        "pattern to_identity benefit 1 { match graph.relu(x) rewrite graph.identity(x) }"
    )
    high = parse_pattern("pattern to_x benefit 5 { match graph.relu(x) rewrite x }")
    for order in ([low, high], [high, low]):
        m = chain("relu")
        res = apply_patterns(m, order, ctx=ctx, fold=False)
        assert res.applied == {"to_x": 1}
        assert op_names(m) == []


def test_equal_benefits_keep_the_given_order(ctx):
    a = parse_pattern("pattern a { match graph.relu(x) rewrite x }")
    b = parse_pattern("pattern b { match graph.relu(x) rewrite graph.identity(x) }")
    res = apply_patterns(chain("relu"), [b, a], ctx=ctx, fold=False, max_iterations=3)
    assert res.applied["b"] == 1


def test_non_convergence_names_the_patterns_that_kept_firing(ctx):
    cycle = parse_patterns(
        """
        pattern add_to_sub { match graph.add(x, y) rewrite graph.sub(x, y) }
        pattern sub_to_add { match graph.sub(x, y) rewrite graph.add(x, y) }
        pattern harmless { match graph.identity(x) rewrite x }
        """
    )
    with pytest.raises(RewriteNotConverging) as info:
        apply_patterns(chain("identity", "add"), cycle, ctx=ctx, max_rewrites=200)
    assert set(info.value.patterns) == {"add_to_sub", "sub_to_add"}
    assert "add_to_sub" in str(info.value) and "sub_to_add" in str(info.value)
    assert "harmless" not in str(info.value)


def test_native_constraint_and_native_rewrite(ctx):
    seen = []

    @native_constraint("test_is_finite_splat", replace=True)
    def is_finite_splat(v):
        seen.append(v)
        op = v.owner
        return isinstance(op, graph.ConstantOp) and op.value.is_splat()

    @native_rewrite("test_double", replace=True)
    def double(builder, x):
        return builder.insert(graph.AddOp(x, x))

    p = parse_pattern(
        """pattern mul_two { match graph.mul(x, c)
             where test_is_finite_splat(c) and type(root) == type(x)
             rewrite test_double(x) }"""
    )
    t = TensorType(F32, [2])
    block = Block(arg_types=[t])
    two = graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [2.0]))
    mul = graph.MulOp(block.args[0], two.result)
    block.add_ops([two, mul, func.ReturnOp(mul.result)])
    m = ModuleOp([func.FuncOp("main", FunctionType.from_lists([t], [t]), Region(block))])
    res = apply_patterns(m, [p], ctx=ctx)
    assert res.applied == {"mul_two": 1} and seen
    assert op_names(m) == ["graph.add"]
    with pytest.raises(PatternError, match="native rewrite; it cannot be used in a constraint"):
        compile_pattern(
            parse_pattern("pattern q { match graph.relu(x) where test_double(x) rewrite x }")
        )


def test_compiled_pattern_runs_in_xdsl_walker(ctx):
    from xdsl.pattern_rewriter import PatternRewriteWalker

    compiled = pattern_set("graph-canonicalize").compiled(ctx)
    m = chain("relu", "relu", "identity")
    from xdsl.pattern_rewriter import GreedyRewritePatternApplier

    PatternRewriteWalker(GreedyRewritePatternApplier(list(compiled))).rewrite_module(m)
    assert op_names(m) == ["graph.relu"]


def test_driver_runs_plain_xdsl_patterns(ctx):
    class SubSelfToAdd(RewritePattern):
        name = "sub-to-add"
        benefit = 2

        @op_type_rewrite_pattern
        def match_and_rewrite(self, op: graph.SubOp, rewriter: PatternRewriter):
            rewriter.replace(op, [graph.AddOp(op.lhs, op.rhs)])

    with collecting() as stats:
        res = apply_patterns(
            chain("sub", "relu", "relu"),
            [SubSelfToAdd(), *pattern_set("graph-canonicalize")],
            ctx=ctx,
        )
    assert res.applied == {"sub-to-add": 1, "relu_relu": 1}
    assert stats["ops-created"] == 1


def test_replacement_of_the_wrong_type_is_an_error(ctx):
    from irforge.passes.patterns import PatternApplicationError

    bad = parse_pattern("pattern bad { match graph.add(x, z) where z is splat 0.0 rewrite x }")
    m = chain("add0")  # same type: fine
    apply_patterns(m, [bad], ctx=ctx)
    t8, t48 = TensorType(F32, [8]), TensorType(F32, [4, 8])
    block = Block(arg_types=[t8])
    z = graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t48, [0.0]))
    add = graph.AddOp(block.args[0], z.result)
    block.add_ops([z, add, func.ReturnOp(add.result)])
    m = ModuleOp([func.FuncOp("main", FunctionType.from_lists([t8], [t48]), Region(block))])
    with pytest.raises(PatternApplicationError, match="pattern 'bad' replaced a value of type"):
        apply_patterns(m, [bad], ctx=ctx)


def test_constant_folding_respects_the_limit_and_nan(ctx):
    from irforge.passes.transforms.canonicalize import CanonicalizePass

    t = TensorType(F32, [2])
    block = Block()
    w = graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [float("inf"), 1.0]))
    z = graph.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [0.0]))
    mul = graph.MulOp(w.result, z.result)
    block.add_ops([w, z, mul, func.ReturnOp(mul.result)])
    m = ModuleOp([func.FuncOp("main", FunctionType.from_lists([], [t]), Region(block))])
    with np.errstate(invalid="ignore"):
        before = run_reference(m, [])[0]
    CanonicalizePass(fold_limit=1).apply(ctx, m)  # over the limit: nothing folded
    assert "graph.mul" in op_names(m)
    CanonicalizePass().apply(ctx, m)
    assert op_names(m) == ["graph.constant"]
    after = run_reference(m, [])[0]
    assert np.isnan(before[0]) and np.isnan(after[0]) and after[1] == 0.0


# ---- commutative matching ----


def module_of(body: str, args: str, result: str, ctx) -> ModuleOp:
    """func @main(args) -> result with `body` (generic syntax, ending in func.return)."""
    arg_types = ", ".join(a.split(": ")[1] for a in args.split(", ")) if args else ""
    text = (
        f'"func.func"() <{{sym_name = "main", function_type = ({arg_types}) -> {result}}}> ({{\n'
        f"^bb0({args}):\n{body}}}) : () -> ()\n"
    )
    return parse_module(text, ctx)


def returned(m: ModuleOp):
    ret = next(o for o in m.walk() if isinstance(o, func.ReturnOp))
    return ret.operands[0]


def op_named(m: ModuleOp, name: str):
    return next(o for o in m.walk() if o.name == name)


T48 = "tensor<4x8xf32>"
ZERO48 = f'  %z = "graph.constant"() <{{value = dense<0.0> : {T48}}}> : () -> {T48}\n'


def test_commutative_traits():
    from irforge.passes.patterns.compile import is_commutative

    assert [is_commutative(n) for n in ("graph.add", "graph.mul", "graph.max", "graph.min")] == [
        True
    ] * 4
    for name in ("graph.sub", "graph.div", "graph.pow", "graph.matmul", "graph.nope"):
        assert not is_commutative(name), name


def test_a_pattern_on_a_commutative_op_matches_both_operand_orders(ctx):
    p = parse_pattern(
        "pattern add0 { match graph.add(x, z) where z is splat 0.0 and type(root) == type(x) "
        "rewrite x }"
    )
    for order in ("%x, %z", "%z, %x"):
        body = f'{ZERO48}  %r = "graph.add"({order}) : ({T48}, {T48}) -> {T48}\n'
        m = module_of(body + f'  "func.return"(%r) : ({T48}) -> ()\n', f"%x: {T48}", T48, ctx)
        x = next(o for o in m.walk() if isinstance(o, func.FuncOp)).body.block.args[0]
        env = compile_pattern(p, ctx).match(op_named(m, "graph.add"))
        assert env is not None and env["x"] is x, order
        assert env["z"] is op_named(m, "graph.constant").result
        res = apply_patterns(m, [p], ctx=ctx, fold=False)
        assert res.applied == {"add0": 1}, order
        assert returned(m) is x and op_names(m) == [], order


def test_a_non_commutative_op_is_not_matched_in_swapped_order(ctx):
    p = parse_pattern("pattern sub0 { match graph.sub(x, z) where z is splat 0.0 rewrite x }")
    assert len(compile_pattern(p, ctx).orderings) == 1
    body = f'{ZERO48}  %r = "graph.sub"(%z, %x) : ({T48}, {T48}) -> {T48}\n'
    m = module_of(body + f'  "func.return"(%r) : ({T48}) -> ()\n', f"%x: {T48}", T48, ctx)
    assert compile_pattern(p, ctx).match(op_named(m, "graph.sub")) is None
    res = apply_patterns(m, [p], ctx=ctx, fold=False)
    assert not res.applied and "graph.sub" in op_names(m)


def _add_of_mul(ctx, mul_operands: str, add_operands: str) -> ModuleOp:
    body = (
        f'  %m = "graph.mul"({mul_operands}) : ({T48}, {T48}) -> {T48}\n'
        f'  %r = "graph.add"({add_operands}) : ({T48}, {T48}) -> {T48}\n'
        f'  "func.return"(%r) : ({T48}) -> ()\n'
    )
    return module_of(body, f"%a: {T48}, %b: {T48}, %c: {T48}", T48, ctx)


@pytest.mark.parametrize(
    "mul_operands, add_operands",
    [("%a, %b", "%a, %m"), ("%b, %a", "%a, %m"), ("%a, %b", "%m, %a"), ("%b, %a", "%m, %a")],
)
def test_variables_bound_in_both_operands_are_consistent(ctx, mul_operands, add_operands):
    """x occurs under the root and under the nested mul: in whichever operand orders the
    IR has them, x binds the one value both places share."""
    p = parse_pattern("pattern q { match graph.add(x, graph.mul(x, y) as m) rewrite m }")
    assert len(compile_pattern(p, ctx).orderings) == 4
    m = _add_of_mul(ctx, mul_operands, add_operands)
    a, b, _ = next(o for o in m.walk() if isinstance(o, func.FuncOp)).body.block.args
    env = compile_pattern(p, ctx).match(op_named(m, "graph.add"))
    assert env is not None and env["x"] is a and env["y"] is b
    assert env["m"] is op_named(m, "graph.mul").result


@pytest.mark.parametrize("mul_operands, add_operands", [("%b, %c", "%a, %m"), ("%c, %b", "%m, %a")])
def test_no_operand_order_matches_inconsistent_bindings(ctx, mul_operands, add_operands):
    p = parse_pattern("pattern q { match graph.add(x, graph.mul(x, y) as m) rewrite m }")
    m = _add_of_mul(ctx, mul_operands, add_operands)
    assert compile_pattern(p, ctx).match(op_named(m, "graph.add")) is None


def test_where_constraints_pick_the_operand_order_and_the_first_order_wins(ctx):
    """Both orders fit the DAG; the `where` clause decides, and when both orders satisfy it
    the written order wins."""
    p = parse_pattern("pattern q { match graph.mul(x, c) where c is splat 1.0 rewrite x }")
    one = f'  %o = "graph.constant"() <{{value = dense<1.0> : {T48}}}> : () -> {T48}\n'
    ret = f'  "func.return"(%r) : ({T48}) -> ()\n'
    m = module_of(
        f'{one}  %r = "graph.mul"(%o, %x) : ({T48}, {T48}) -> {T48}\n{ret}', f"%x: {T48}", T48, ctx
    )
    env = compile_pattern(p, ctx).match(op_named(m, "graph.mul"))
    assert env["c"] is op_named(m, "graph.constant").result
    ones = one + one.replace("%o", "%p")
    m = module_of(
        f'{ones}  %r = "graph.mul"(%o, %p) : ({T48}, {T48}) -> {T48}\n{ret}', "", T48, ctx
    )
    o, q = [c.result for c in m.walk() if isinstance(c, graph.ConstantOp)]
    env = compile_pattern(p, ctx).match(op_named(m, "graph.mul"))
    assert env["x"] is o and env["c"] is q


def test_a_commutative_op_nested_in_a_non_commutative_one(ctx):
    p = parse_pattern(
        "pattern q { match graph.sub(graph.add(x, z), y) where z is splat 0.0 rewrite y }"
    )
    assert len(compile_pattern(p, ctx).orderings) == 2
    body = (
        f'{ZERO48}  %s = "graph.add"(%z, %x) : ({T48}, {T48}) -> {T48}\n'
        f'  %r = "graph.sub"(%s, %y) : ({T48}, {T48}) -> {T48}\n'
        f'  "func.return"(%r) : ({T48}) -> ()\n'
    )
    m = module_of(body, f"%x: {T48}, %y: {T48}", T48, ctx)
    x, y = next(o for o in m.walk() if isinstance(o, func.FuncOp)).body.block.args
    env = compile_pattern(p, ctx).match(op_named(m, "graph.sub"))
    assert env["x"] is x and env["y"] is y


def test_operand_orderings_are_deduplicated_and_bounded(ctx):
    from irforge.passes.patterns.compile import MAX_ORDERINGS

    same = parse_pattern("pattern q { match graph.add(x, x) rewrite x }")
    assert len(compile_pattern(same, ctx).orderings) == 1
    node = Op("graph.add", Var("x0"), Var("y0"))
    for i in range(1, 9):  # 9 nested binary commutative ops: 2**9 orderings
        node = Op("graph.add", node, Var(f"y{i}"))
    assert 2**9 > MAX_ORDERINGS
    with pytest.raises(PatternError, match="operand orderings"):
        compile_pattern(Pattern("deep", match=node, rewrite=Var("x0")), ctx)


# ---- legality ----


def test_legality_reports_every_illegal_op_with_its_position(ctx, monkeypatch):
    from irforge.passes.patterns import legality
    from irforge.textual_ir import source_position

    monkeypatch.setattr(legality, "_LOCATORS", [])  # irforge-opt registers one globally

    text = """"func.func"() <{sym_name = "main",
    function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4xf32>):
  %a = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = "graph.identity"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%b) : (tensor<4xf32>) -> ()
}) : () -> ()
"""
    m = parse_module(text, ctx, "model.mlir")
    target = ConversionTarget(legal_dialects={"func"}, illegal_dialects={"graph"})
    target.add_dynamically_legal_op("graph.identity", lambda op: False)
    bad = target.illegal(m, locator=source_position)
    assert [(i.op.name, i.location) for i in bad] == [
        ("graph.relu", "4:3"),
        ("graph.identity", "5:3"),
    ]
    with pytest.raises(IllegalOpsError) as info:
        target.check(m, "convert-test", locator=source_position)
    msg = str(info.value)
    assert "convert-test: 2 illegal ops remain (graph.identity, graph.relu)" in msg
    assert "'graph.relu' at 4:3" in msg and "'graph.identity' at 5:3" in msg
    assert target.illegal(m)[0].location is None  # no locator, no loc(...)
    strict = ConversionTarget(legal_dialects={"graph"}, strict=True)
    assert [i.op.name for i in strict.illegal(m)] == ["func.func", "func.return"]


@irdl_op_definition
class MysteryOp(graph.GraphOp):
    """A graph op without a lowering (never registered in the dialect)."""

    name = "graph.mystery"
    input = operand_def(graph.AnyTensor)
    result = result_def(graph.AnyTensor)


def test_convert_graph_to_tensor_reports_ops_it_cannot_lower(ctx):
    from irforge.passes.graph_to_tensor.convert_graph_to_tensor import ConvertGraphToTensorPass

    t = TensorType(F32, [4])
    block = Block(arg_types=[t])
    op = MysteryOp.create(operands=[block.args[0]], result_types=[t])
    block.add_ops([op, func.ReturnOp(op.results[0])])
    m = ModuleOp([func.FuncOp("main", FunctionType.from_lists([t], [t]), Region(block))])
    with pytest.raises(IllegalOpsError, match=r"convert-graph-to-tensor: 1 illegal op remain"):
        ConvertGraphToTensorPass().apply(ctx, m)


# ---- every graph pattern: a FileCheck case, and the reference semantics are kept ----


def _chunks() -> dict[str, str]:
    text = CANON_MLIR.read_text()
    out = {}
    for chunk in text.split("// -----"):
        m = re.search(r'sym_name = "(\w+)"', chunk)
        if m:
            out[m.group(1)] = chunk
    return out


GRAPH_PATTERNS = [p.name for p in pattern_set("graph-canonicalize")]
# A pattern rooted at a commutative op has a second chunk, NAME_swapped, with the root's
# operands in the other order.
GRAPH_CASES = [(name, name) for name in GRAPH_PATTERNS] + [
    (name, f"{name}_swapped") for name in GRAPH_PATTERNS if f"{name}_swapped" in _chunks()
]


def test_commutative_patterns_have_a_swapped_chunk():
    chunks = _chunks()
    for p in pattern_set("graph-canonicalize").compiled():
        if len(p.orderings) > 1:
            assert f"{p.name}_swapped" in chunks, f"no '{p.name}_swapped' chunk"


@pytest.mark.parametrize("name, chunk", GRAPH_CASES)
def test_pattern_keeps_reference_semantics(name, chunk, ctx):
    chunks = _chunks()
    assert chunk in chunks, f"pattern '{name}' has no chunk in {CANON_MLIR.name}"
    text = chunks[chunk].replace(f'sym_name = "{chunk}"', 'sym_name = "main"')
    m = parse_module(text, ctx)
    fn = next(o for o in m.walk() if isinstance(o, func.FuncOp))
    rng = np.random.default_rng(0)
    for _ in range(3):
        inputs = [
            rng.standard_normal(t.get_shape()).astype(np.float32)
            for t in fn.function_type.inputs.data
        ]
        before = run_reference(m, inputs)
        mm = m.clone()
        res = apply_patterns(mm, [pattern_set("graph-canonicalize")[name]], ctx=ctx, fold=False)
        assert res.applied[name] >= 1, print_module(mm)
        mm.verify()
        after = run_reference(mm, inputs)
        for a, b in zip(before, after):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
