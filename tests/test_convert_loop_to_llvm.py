"""convert-loop-to-llvm: hand-written loop IR, lowered, checked to be pure llvm, run natively
and compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import llvm
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from irforge.backends.llvm import compile_module
from irforge.dialects import make_dialect_context
from irforge.passes.infra.registry import get_pass_class
from irforge.passes.loop_to_llvm.convert_loop_to_llvm import ConvertLoopToLLVMPass

F32 = np.float32
LLVM_OPS = set(llvm.LLVM.operations)


def lower(text: str, **options) -> ModuleOp:
    ctx = make_dialect_context()
    module = Parser(ctx, text).parse_module()
    module.verify()
    ConvertLoopToLLVMPass(**options).apply(ctx, module)
    module.verify()
    for op in module.walk():
        if op is not module:
            assert type(op) in LLVM_OPS, op.name
            assert op.name.startswith("llvm."), op.name
    return module


def build(text: str, inputs, outputs, entry="main", **options):
    return compile_module(lower(text, **options), entry, inputs, outputs)


def for_(iv: str, lb: str, ub: str, body: str, step: str = "%c1") -> str:
    return (
        f'"loop.for"({lb}, {ub}, {step}) ({{\n^bb0({iv}: index):\n{body}\n'
        f'"loop.yield"() : () -> ()\n}}) : (index, index, index) -> ()'
    )


def load(v: str, buf: str, t: str, *idx: str, elem: str = "f32") -> str:
    types = ", ".join([t] + ["index"] * len(idx))
    return f'{v} = "loop.load"({", ".join([buf, *idx])}) : ({types}) -> {elem}'


def store(v: str, buf: str, t: str, *idx: str, elem: str = "f32") -> str:
    types = ", ".join([elem, t] + ["index"] * len(idx))
    return f'"loop.store"({", ".join([v, buf, *idx])}) : ({types}) -> ()'


CONSTS = "\n".join(f"%c{n} = arith.constant {n} : index" for n in (0, 1, 2, 3, 4, 5, 8, 16))


def func(args: str, body: str, name: str = "main") -> str:
    return f"func.func @{name}({args}) {{\n{CONSTS}\n{body}\nfunc.return\n}}"


def module(*items: str) -> str:
    return "builtin.module {\n" + "\n".join(items) + "\n}"


def test_registered():
    assert get_pass_class("convert-loop-to-llvm") is ConvertLoopToLLVMPass


def test_elementwise_add_2d():
    t = "memref<3x5xf32>"
    body = for_(
        "%i",
        "%c0",
        "%c3",
        for_(
            "%j",
            "%c0",
            "%c5",
            "\n".join(
                [
                    load("%x", "%a", t, "%i", "%j"),
                    load("%y", "%b", t, "%i", "%j"),
                    "%s = arith.addf %x, %y : f32",
                    store("%s", "%o", t, "%i", "%j"),
                ]
            ),
        ),
    )
    text = module(func(f"%a: {t}, %b: {t}, %o: {t}", body))
    f = build(text, [("a", (3, 5), F32), ("b", (3, 5), F32)], [("o", (3, 5), F32)])
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 5), dtype=F32)
    np.testing.assert_array_equal(f(a, b), a + b)


def matmul_text(m: int, k: int, n: int) -> str:
    ta, tb, tc = f"memref<{m}x{k}xf32>", f"memref<{k}x{n}xf32>", f"memref<{m}x{n}xf32>"
    consts = f"%M = arith.constant {m} : index\n%K = arith.constant {k} : index\n"
    consts += f"%N = arith.constant {n} : index\n%zero = arith.constant 0.0 : f32"
    zero = for_("%i", "%c0", "%M", for_("%j", "%c0", "%N", store("%zero", "%c", tc, "%i", "%j")))
    reduce = "\n".join(
        [
            load("%x", "%a", ta, "%i", "%k"),
            load("%y", "%b", tb, "%k", "%j"),
            load("%acc", "%c", tc, "%i", "%j"),
            "%p = arith.mulf %x, %y : f32",
            "%s = arith.addf %acc, %p : f32",
            store("%s", "%c", tc, "%i", "%j"),
        ]
    )
    nest = for_("%i", "%c0", "%M", for_("%j", "%c0", "%N", for_("%k", "%c0", "%K", reduce)))
    return module(func(f"%a: {ta}, %b: {tb}, %c: {tc}", f"{consts}\n{zero}\n{nest}"))


def test_matmul_reduction():
    m, k, n = 7, 33, 12
    f = build(
        matmul_text(m, k, n),
        [("a", (m, k), F32), ("b", (k, n), F32)],
        [("c", (m, n), F32)],
    )
    rng = np.random.default_rng(1)
    a = rng.standard_normal((m, k), dtype=F32)
    b = rng.standard_normal((k, n), dtype=F32)
    # contract lets LLVM fuse mul+add into fma: not bit-equal to NumPy's BLAS.
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-5, atol=1e-5)


def weights_text() -> str:
    w = np.arange(12, dtype=F32).reshape(3, 4) / 8 - 0.5
    dense = np.array2string(w, separator=", ", floatmode="unique").replace("\n", "")
    glob = (
        '"memref.global"() <{sym_name = "w", sym_visibility = "private", '
        f"type = memref<3x4xf32>, initial_value = dense<{dense}> : tensor<3x4xf32>, "
        "constant}> : () -> ()"
    )
    splat = (
        '"memref.global"() <{sym_name = "bias", sym_visibility = "private", '
        "type = memref<4xf32>, initial_value = dense<2.5> : tensor<4xf32>, "
        "constant}> : () -> ()"
    )
    t, tv = "memref<3x4xf32>", "memref<4xf32>"
    body = "\n".join(
        [
            f"%w = memref.get_global @w : {t}",
            f"%bias = memref.get_global @bias : {tv}",
            for_(
                "%i",
                "%c0",
                "%c3",
                for_(
                    "%j",
                    "%c0",
                    "%c4",
                    "\n".join(
                        [
                            load("%x", "%a", t, "%i", "%j"),
                            load("%y", "%w", t, "%i", "%j"),
                            load("%z", "%bias", tv, "%j"),
                            "%p = arith.mulf %x, %y : f32",
                            "%s = arith.addf %p, %z : f32",
                            store("%s", "%o", t, "%i", "%j"),
                        ]
                    ),
                ),
            ),
        ]
    )
    return module(glob, splat, func(f"%a: {t}, %o: {t}", body))


def test_weights_global():
    lowered = lower(weights_text())
    globals_ = [op for op in lowered.ops if isinstance(op, llvm.GlobalOp)]
    assert {g.sym_name.data for g in globals_} == {"w", "bias"}
    assert all(g.alignment.value.data == 64 and g.constant is not None for g in globals_)
    f = build(weights_text(), [("a", (3, 4), F32)], [("o", (3, 4), F32)])
    a = np.random.default_rng(2).standard_normal((3, 4), dtype=F32)
    w = np.arange(12, dtype=F32).reshape(3, 4) / 8 - 0.5
    np.testing.assert_allclose(f(a), a * w + 2.5, rtol=1e-6)


def temp_text() -> str:
    # t = exp(a) in a temporary buffer, then o = t * 2.
    t = "memref<4x8xf32>"
    body = "\n".join(
        [
            "%two = arith.constant 2.0 : f32",
            f'%t = "loop.alloc"() : () -> {t}',
            for_(
                "%i",
                "%c0",
                "%c4",
                for_(
                    "%j",
                    "%c0",
                    "%c8",
                    "\n".join(
                        [
                            load("%x", "%a", t, "%i", "%j"),
                            "%e = math.exp %x : f32",
                            store("%e", "%t", t, "%i", "%j"),
                        ]
                    ),
                ),
            ),
            for_(
                "%i",
                "%c0",
                "%c4",
                for_(
                    "%j",
                    "%c0",
                    "%c8",
                    "\n".join(
                        [
                            load("%x", "%t", t, "%i", "%j"),
                            "%y = arith.mulf %x, %two : f32",
                            store("%y", "%o", t, "%i", "%j"),
                        ]
                    ),
                ),
            ),
            f'"loop.dealloc"(%t) : ({t}) -> ()',
        ]
    )
    return module(func(f"%a: {t}, %o: {t}", body))


@pytest.mark.parametrize("stack_limit", [65536, 0])
def test_alloc_dealloc_and_exp(stack_limit):
    lowered = lower(temp_text(), stack_limit=stack_limit)
    calls = {op.callee.string_value() for op in lowered.walk() if isinstance(op, llvm.CallOp)}
    allocas = [op for op in lowered.walk() if isinstance(op, llvm.AllocaOp)]
    if stack_limit:
        assert allocas and not calls
    else:
        assert not allocas and calls == {"aligned_alloc", "free"}
    f = compile_module(lowered, "main", [("a", (4, 8), F32)], [("o", (4, 8), F32)])
    a = np.random.default_rng(3).standard_normal((4, 8), dtype=F32)
    np.testing.assert_allclose(f(a), np.exp(a) * 2, rtol=2e-6)


def test_scalar_ops():
    """One output per op family, on a 16-element vector."""
    t, ti = "memref<16xf32>", "memref<16xi32>"
    ops = [
        "%r0 = math.tanh %x : f32",
        "%r1 = arith.maximumf %x, %zero : f32",
        "%sq0 = math.absf %x : f32",
        "%r2 = math.sqrt %sq0 : f32",
        "%sq1 = arith.addf %sq0, %one : f32",
        "%r3 = arith.negf %x : f32",
        "%cmp = arith.cmpf olt, %x, %zero : f32",
        "%r4 = arith.select %cmp, %x, %one : f32",
        "%r5 = math.fma %x, %x, %one : f32",
        "%r6 = arith.divf %one, %sq1 : f32",
        "%r7 = arith.minnumf %x, %zero : f32",
        "%r8 = math.erf %x : f32",
    ]
    results = [f"%r{n}" for n in range(9)]
    body = "\n".join(
        [
            "%zero = arith.constant 0.0 : f32",
            "%one = arith.constant 1.0 : f32",
            for_(
                "%i",
                "%c0",
                "%c16",
                "\n".join(
                    [load("%x", "%a", t, "%i"), *ops]
                    + [store(r, f"%o{n}", t, "%i") for n, r in enumerate(results)]
                    + [
                        # integer path: floor(x * 4) // 3 through fptosi / floordivsi / sitofp
                        "%four = arith.constant 4.0 : f32",
                        "%x4 = arith.mulf %x, %four : f32",
                        "%fl = math.floor %x4 : f32",
                        "%n = arith.fptosi %fl : f32 to i32",
                        "%three = arith.constant 3 : i32",
                        "%q = arith.floordivsi %n, %three : i32",
                        store("%q", "%oi", ti, "%i", elem="i32"),
                    ]
                ),
            ),
        ]
    )
    outs = ", ".join(f"%o{n}: {t}" for n in range(len(results)))
    text = module(func(f"%a: {t}, {outs}, %oi: {ti}", body))
    f = build(
        text,
        [("a", (16,), F32)],
        [(f"o{n}", (16,), F32) for n in range(len(results))] + [("oi", (16,), np.int32)],
    )
    x = np.linspace(-3, 3, 16, dtype=F32)
    got = f(x)
    from math import erf

    want = [
        np.tanh(x),
        np.maximum(x, 0),
        np.sqrt(np.abs(x)),
        -x,
        np.where(x < 0, x, 1),
        x * x + 1,
        1 / (np.abs(x) + 1),
        np.minimum(x, 0),
        np.array([erf(v) for v in x.astype(np.float64)], dtype=F32),
        np.floor_divide(np.floor(x * 4).astype(np.int32), 3),
    ]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-6)


def test_computed_bounds_and_calls():
    """Loop bounds that are not constants (guarded loop), index arithmetic, func.call."""
    t = "memref<8xf32>"
    helper = func(
        f"%a: {t}, %o: {t}",
        "\n".join(
            [
                "%n = arith.muli %c2, %c4 : index",  # 8, computed
                "%half = arith.divui %n, %c2 : index",
                for_(
                    "%i",
                    "%half",
                    "%n",
                    "\n".join(
                        [
                            "%r = arith.subi %n, %i : index",
                            "%src = arith.subi %r, %c1 : index",  # 7 - i: reversed
                            load("%x", "%a", t, "%src"),
                            store("%x", "%o", t, "%i"),
                        ]
                    ),
                ),
                for_(
                    "%i",
                    "%c0",
                    "%half",
                    "\n".join(
                        [
                            "%ii = arith.index_cast %i : index to i64",
                            "%fi = arith.sitofp %ii : i64 to f32",
                            store("%fi", "%o", t, "%i"),
                        ]
                    ),
                ),
            ]
        ),
        name="helper",
    ).replace("func.func @helper", "func.func private @helper")
    main = func(f"%a: {t}, %o: {t}", f"func.call @helper(%a, %o) : ({t}, {t}) -> ()")
    f = build(module(helper, main), [("a", (8,), F32)], [("o", (8,), F32)])
    a = np.arange(8, dtype=F32) * 10
    np.testing.assert_array_equal(f(a), [0, 1, 2, 3, 30, 20, 10, 0])


def test_entry_arg_attributes():
    lowered = lower(weights_text())
    fn = next(op for op in lowered.ops if isinstance(op, llvm.FuncOp) and op.body.blocks)
    a, o = (d.data for d in fn.arg_attrs.data)
    assert "llvm.noalias" in a and "llvm.readonly" in a
    assert "llvm.noalias" in o and "llvm.readonly" not in o
    assert a["llvm.dereferenceable"].value.data == 48


def test_unknown_op_fails():
    text = module(
        'func.func @main(%a: memref<4xf32>) {\n%x = "test.op"() : () -> f32\nfunc.return\n}'
    )
    ctx = make_dialect_context(allow_unregistered=True)
    m = Parser(ctx, text).parse_module()
    with pytest.raises(PassFailedException, match="test.op"):
        ConvertLoopToLLVMPass().apply(ctx, m)


def test_unsigned_conversions_and_libm_f64():
    tu, tv, t32, t64 = "memref<4xi64>", "memref<4xi32>", "memref<4xf32>", "memref<4xf64>"
    body = for_(
        "%i",
        "%c0",
        "%c4",
        "\n".join(
            [
                load("%u", "%a", tu, "%i", elem="i64"),
                load("%v", "%b", tv, "%i", elem="i32"),
                "%fu = arith.uitofp %u : i64 to f32",
                "%fv = arith.uitofp %v : i32 to f64",
                "%lg = math.log1p %fv : f64",
                store("%fu", "%o", t32, "%i"),
                store("%lg", "%p", t64, "%i", elem="f64"),
            ]
        ),
    )
    text = module(func(f"%a: {tu}, %b: {tv}, %o: {t32}, %p: {t64}", body))
    f = build(
        text,
        [("a", (4,), np.int64), ("b", (4,), np.int32)],
        [("o", (4,), F32), ("p", (4,), np.float64)],
    )
    u = np.array([0, 5, 2**63 + 2**40 + 1, 2**64 - 1], dtype=np.uint64)
    v = np.array([0, 7, 2**31 + 3, 2**32 - 1], dtype=np.uint32)
    o, p = f(u.view(np.int64), v.view(np.int32))
    np.testing.assert_array_equal(o, u.astype(F32))
    np.testing.assert_allclose(p, np.log1p(v.astype(np.float64)), rtol=1e-15)
