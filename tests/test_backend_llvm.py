"""The native backend: translation details, code emission, and NativeFunction's checks."""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys

import numpy as np
import pytest
from xdsl.parser import Parser

from irforge.backends.llvm import compile_module, emit_llvm_ir, emit_object, translate_module
from irforge.backends.llvm.jit import jit_compile, parse_and_optimize, target_machine
from irforge.dialects import make_dialect_context
from irforge.passes.loop_to_llvm.convert_loop_to_llvm import ConvertLoopToLLVMPass


def lowered(text: str):
    ctx = make_dialect_context()
    module = Parser(ctx, text).parse_module()
    ConvertLoopToLLVMPass().apply(ctx, module)
    module.verify()
    return module


def unary_func(name: str, n: int, elem: str, op: str, extra: str = "") -> str:
    t = f"memref<{n}x{elem}>"
    return f"""
func.func @{name}(%a: {t}, %o: {t}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {n} : index
  {extra}
  "loop.for"(%c0, %n, %c1) ({{
  ^bb0(%i: index):
    %x = "loop.load"(%a, %i) : ({t}, index) -> {elem}
    %y = {op} : {elem}
    "loop.store"(%y, %o, %i) : ({elem}, {t}, index) -> ()
    "loop.yield"() : () -> ()
  }}) : (index, index, index) -> ()
  func.return
}}"""


# exp at two types in one module: xDSL's own translation declares both as "llvm.exp".
TWO_TYPES = (
    "builtin.module {"
    + unary_func("exp32", 8, "f32", "math.exp %x")
    + unary_func("exp64", 8, "f64", "math.exp %x")
    + "}"
)

# Two outputs: o = a + 1, p = a * a.
TWO_OUTPUTS = """builtin.module {
func.func @main(%a: memref<2x3xf32>, %o: memref<2x3xf32>, %p: memref<2x3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  "loop.for"(%c0, %c2, %c1) ({
  ^bb0(%i: index):
    "loop.for"(%c0, %c3, %c1) ({
    ^bb1(%j: index):
      %x = "loop.load"(%a, %i, %j) : (memref<2x3xf32>, index, index) -> f32
      %y = arith.addf %x, %one : f32
      %z = arith.mulf %x, %x : f32
      "loop.store"(%y, %o, %i, %j) : (f32, memref<2x3xf32>, index, index) -> ()
      "loop.store"(%z, %p, %i, %j) : (f32, memref<2x3xf32>, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}
}"""

IN = [("x", (2, 3), np.float32)]
OUT = [("o", (2, 3), np.float32), ("p", (2, 3), np.float32)]


@pytest.fixture(scope="module")
def two_outputs():
    return compile_module(lowered(TWO_OUTPUTS), "main", IN, OUT)


def test_intrinsic_at_two_types():
    module = lowered(TWO_TYPES)
    text = str(translate_module(module))
    assert '@"llvm.exp.f32"' in text and '@"llvm.exp.f64"' in text
    x = np.linspace(-2, 2, 8)
    f32 = compile_module(module, "exp32", [("a", (8,), np.float32)], [("o", (8,), np.float32)])
    np.testing.assert_allclose(f32(x.astype(np.float32)), np.exp(x), rtol=1e-6)
    f64 = compile_module(module, "exp64", [("a", (8,), np.float64)], [("o", (8,), np.float64)])
    np.testing.assert_allclose(f64(x), np.exp(x), rtol=1e-15)


def test_dense_global_bytes():
    text = """builtin.module {
    "memref.global"() <{sym_name = "w", sym_visibility = "private", type = memref<2xf32>,
       initial_value = dense<[1.0, -2.0]> : tensor<2xf32>, constant}> : () -> ()
    "memref.global"() <{sym_name = "s", sym_visibility = "private", type = memref<3xi32>,
       initial_value = dense<7> : tensor<3xi32>, constant}> : () -> ()
    }"""
    ir_text = str(translate_module(lowered(text)))
    assert '@"w" = internal unnamed_addr constant [8 x i8] c"\\00\\00\\80\\3f\\00\\00\\00\\c0"' in (
        ir_text
    )
    assert 'c"\\07\\00\\00\\00\\07\\00\\00\\00\\07\\00\\00\\00", align 64' in ir_text


def test_two_outputs_and_layouts(two_outputs):
    f = two_outputs
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    o, p = f(a)
    np.testing.assert_array_equal(o, a + 1)
    np.testing.assert_array_equal(p, a * a)
    # Non-contiguous, Fortran-ordered and read-only inputs, lists.
    at = np.arange(6, dtype=np.float32).reshape(3, 2).T
    np.testing.assert_array_equal(f(at)[0], at + 1)
    np.testing.assert_array_equal(f(np.asfortranarray(a))[0], a + 1)
    ro = a.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(f(ro)[1], a * a)
    np.testing.assert_array_equal(f([[0, 1, 2], [3, 4, 5]])[0], a + 1)
    assert "x: (2, 3) float32" in repr(f)


def test_out_arrays_are_written_and_checked(two_outputs):
    f = two_outputs
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    o, p = np.full((2, 3), 9, np.float32), np.full((2, 3), 9, np.float32)
    got = f(a, out=(o, p))
    assert got[0] is o and got[1] is p
    np.testing.assert_array_equal(o, a + 1)
    np.testing.assert_array_equal(p, a * a)
    with pytest.raises(ValueError, match="needs 2 array"):
        f(a, out=o)
    with pytest.raises(ValueError, match=r"output 'p'.*expected \(2, 3\) float32"):
        f(a, out=(o, np.zeros((3, 2), np.float32)))
    with pytest.raises(ValueError, match="C-contiguous"):
        f(a, out=(o, np.zeros((3, 2), np.float32).T))
    with pytest.raises(ValueError, match="overlaps an input"):
        f(a, out=(a, p))


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "'main' expects 1 input (x), got 0"),
        ((np.zeros((2, 3), np.float32),) * 2, "'main' expects 1 input (x), got 2"),
        (
            (np.zeros((3, 2), np.float32),),
            r"input 'x' (#0): expected shape (2, 3) float32, got (3, 2) float32",
        ),
        (
            (np.zeros((2, 3), np.float64),),
            r"input 'x' (#0): expected shape (2, 3) float32, got (2, 3) float64",
        ),
        (([1.0, 2.0],), r"input 'x' (#0): expected shape (2, 3) float32, got (2,) float32"),
        (("text",), "input 'x' (#0): cannot convert str to a float32 array"),
    ],
)
def test_bad_inputs(two_outputs, args, message):
    with pytest.raises(ValueError) as e:
        two_outputs(*args)
    assert message in str(e.value)


def test_missing_entry():
    with pytest.raises(KeyError, match="nope"):
        compile_module(lowered(TWO_OUTPUTS), "nope", IN, OUT)


def test_emit_and_overrides():
    module = lowered(TWO_OUTPUTS)
    raw = emit_llvm_ir(module)
    assert raw == emit_llvm_ir(module)  # deterministic text
    assert "fadd contract float" in raw
    opt = emit_llvm_ir(module, opt_level=3)
    assert "define void @main" in opt
    obj = emit_object(module)
    assert isinstance(obj, bytes) and len(obj) > 100
    # A generic CPU without extra features still runs.
    f = compile_module(module, "main", IN, OUT, cpu="generic", features="")
    a = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(f(a)[0], a + 1)


def test_import_is_light():
    code = (
        "import sys, irforge.backends.llvm as b; "
        "assert 'llvmlite' not in sys.modules, 'llvmlite imported'; "
        "assert callable(b.compile_module)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- large constants: kept out of the JIT's LLVM module ------------------------------------

N_BIG = 32768  # 128 KiB of f32: above the default threshold of 64 KiB


def big_weights_text(w: np.ndarray) -> str:
    """o[i] = a[i] * w[i] + s[i] + b[1]: `w` dense (128 KiB), `s` a splat (128 KiB once
    expanded), `b` small (stays in the module)."""
    t = f"memref<{N_BIG}xf32>"

    def glob(name: str, typ: str, value: str) -> str:
        return (
            f'"memref.global"() <{{sym_name = "{name}", sym_visibility = "private", '
            f"type = {typ}, initial_value = {value}, constant}}> : () -> ()"
        )

    hexed = "0x" + w.astype("<f4").tobytes().hex().upper()
    return f"""builtin.module {{
{glob("w", t, f'dense<"{hexed}"> : tensor<{N_BIG}xf32>')}
{glob("s", t, f"dense<0.5> : tensor<{N_BIG}xf32>")}
{glob("b", "memref<2xf32>", "dense<[1.0, 3.0]> : tensor<2xf32>")}
func.func @main(%a: {t}, %o: {t}) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {N_BIG} : index
  %w = memref.get_global @w : {t}
  %s = memref.get_global @s : {t}
  %b = memref.get_global @b : memref<2xf32>
  %b1 = "loop.load"(%b, %c1) : (memref<2xf32>, index) -> f32
  "loop.for"(%c0, %n, %c1) ({{
  ^bb0(%i: index):
    %x = "loop.load"(%a, %i) : ({t}, index) -> f32
    %y = "loop.load"(%w, %i) : ({t}, index) -> f32
    %z = "loop.load"(%s, %i) : ({t}, index) -> f32
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %p, %z : f32
    %r = arith.addf %q, %b1 : f32
    "loop.store"(%r, %o, %i) : (f32, {t}, index) -> ()
    "loop.yield"() : () -> ()
  }}) : (index, index, index) -> ()
  func.return
}}
}}"""


@pytest.fixture(scope="module")
def big_weights():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(N_BIG).astype(np.float32)
    return w, big_weights_text(w)


BIG_IO = ([("a", (N_BIG,), np.float32)], [("o", (N_BIG,), np.float32)])


def test_large_globals_stay_out_of_the_jit_module(big_weights):
    w, text = big_weights
    a = np.random.default_rng(1).standard_normal(N_BIG).astype(np.float32)
    expected = a * w + np.float32(0.5) + np.float32(3.0)

    f = compile_module(lowered(text), "main", *BIG_IO)
    jm = f.jit_module
    assert sorted(jm.external_data) == ["s", "w"]  # `b` is small: it stays inline
    for buf in jm.external_data.values():
        assert buf.dtype == np.uint8 and buf.nbytes == 4 * N_BIG
        assert buf.ctypes.data % 64 == 0
    np.testing.assert_array_equal(jm.external_data["w"].view(np.float32), w)
    np.testing.assert_array_equal(jm.external_data["s"].view(np.float32), 0.5)
    ir_text = str(jm.module)
    assert len(ir_text) < 20000, "the weights went through LLVM IR"
    decl = rf"^@w = external (local_unnamed_addr )?constant \[{4 * N_BIG} x i8\], align 64$"
    assert re.search(decl, ir_text, re.M)
    assert "@b = external" not in ir_text  # small: folded or inline

    embedded = compile_module(lowered(text), "main", *BIG_IO, external_threshold=0)
    assert embedded.jit_module.external_data == {}
    assert len(str(embedded.jit_module.module)) > 4 * 4 * N_BIG  # escaped bytes

    out = f(a)
    np.testing.assert_array_equal(out, embedded(a))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)

    # A threshold above the globals' size keeps them inline too.
    inline = compile_module(lowered(text), "main", *BIG_IO, external_threshold=4 * N_BIG)
    assert inline.jit_module.external_data == {}


def test_large_global_buffers_live_as_long_as_the_code(big_weights):
    import gc
    import weakref

    w, text = big_weights

    def make():
        f = compile_module(lowered(text), "main", *BIG_IO)
        return f, weakref.ref(f.jit_module.external_data["w"].base)

    f, alive = make()
    gc.collect()
    junk = [np.full(N_BIG, np.nan, np.float32) for _ in range(64)]  # reuse freed memory
    assert alive() is not None
    a = np.ones(N_BIG, np.float32)
    np.testing.assert_allclose(f(a), w + np.float32(3.5), rtol=1e-6, atol=1e-6)
    del f, junk
    gc.collect()
    assert alive() is None  # and freed with it


def test_emit_embeds_large_globals_unless_asked(big_weights):
    _, text = big_weights
    module = lowered(text)
    full = emit_llvm_ir(module)
    assert f'@"w" = internal unnamed_addr constant [{4 * N_BIG} x i8] c"' in full
    assert len(emit_object(module)) > 2 * 4 * N_BIG  # self-contained
    data: dict = {}
    split = emit_llvm_ir(module, external_data=data)
    assert sorted(data) == ["s", "w"] and len(split) < 20000
    with pytest.raises(ValueError, match="external_data"):
        translate_module(module, external_threshold=1)


# -- compile time: identical functions are optimized once ----------------------------------

LAYER = """define internal void @{name}(ptr %x) noinline nounwind {{
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %j, %loop ]
  %p = getelementptr float, ptr %x, i64 %i
  %v = load float, ptr %p, align 4
  %w = fmul float %v, 2.0
  store float %w, ptr %p, align 4
  %j = add i64 %i, 1
  %c = icmp ult i64 %j, 64
  br i1 %c, label %loop, label %done
done:
  ret void
}}
"""


def test_identical_functions_are_merged_before_optimization():
    # Two identical outlined "layers" (as a transformer's are) and main calling both.
    text = (
        LAYER.format(name="layer0")
        + LAYER.format(name="layer1")
        + "define void @main(ptr %x) nounwind {\n"
        + "  call void @layer0(ptr %x)\n  call void @layer1(ptr %x)\n  ret void\n}\n"
    )
    tm = target_machine(None, None, 3)
    merged = str(parse_and_optimize(text, tm, 3))
    kept = str(parse_and_optimize(text, tm, 3, merge_functions=False))
    assert merged.count("define internal") == 1 and kept.count("define internal") == 2
    # The merged code computes the same: x * 4.
    jm = jit_compile(text)
    x = np.arange(64, dtype=np.float32)
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(jm.address("main"))(x.ctypes.data)
    np.testing.assert_array_equal(x, np.arange(64, dtype=np.float32) * 4)
