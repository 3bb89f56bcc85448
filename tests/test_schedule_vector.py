"""Vector ops end to end: the interpreter's vector functions, their LLVM lowering
(passes/loop_to_llvm/vector.py) compiled natively against NumPy, and the `vectorize-loops` pass.

Native results are compared with NumPy at rtol = atol = 1e-6 (LLVM may contract
`x * 2 + 1` into one fma, which rounds once); interpreter results exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irforge.backends.llvm import compile_module
from irforge.backends.llvm.translate import translate_module
from irforge.dialects import make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.passes.infra.manager import run_pass_pipeline
from irforge.passes.loop import schedule as S
from tests.test_schedule_primitives import at, chain, matmul, parse

TO_LLVM = "outline-loop-nests,convert-loop-to-llvm"

FMA = """
func.func @main(%a: memref<2x10xf32>, %b: memref<2x10xf32>, %out: memref<2x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c10 = arith.constant 10 : index
  %two = arith.constant 2.0 : f32
  "loop.for"(%c0, %c2, %c1) ({
  ^bb0(%r: index):
    "loop.for"(%c0, %c8, %c4) ({
    ^bb0(%i: index):
      %x = vector.load %a[%r, %i] : memref<2x10xf32>, vector<4xf32>
      %y = vector.load %b[%r, %i] : memref<2x10xf32>, vector<4xf32>
      %t = vector.broadcast %two : f32 to vector<4xf32>
      %z = vector.fma %x, %y, %t : vector<4xf32>
      %n = arith.negf %z : vector<4xf32>
      %s = arith.maximumf %n, %x : vector<4xf32>
      vector.store %s, %out[%r, %i] : memref<2x10xf32>, vector<4xf32>
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.for"(%c8, %c10, %c1) ({
    ^bb0(%i: index):
      %x = "loop.load"(%a, %r, %i) : (memref<2x10xf32>, index, index) -> f32
      "loop.store"(%x, %out, %r, %i) : (f32, memref<2x10xf32>, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}
"""


def fma_expected(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = (a.astype(np.float64) * b + 2.0).astype(np.float32)
    n = -z
    out = np.maximum(n, a)
    out[:, 8:] = a[:, 8:]
    return out


def test_interpreter_vector_ops():
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((2, 10)).astype(np.float32) for _ in range(2))
    (got,) = run_reference(parse(FMA), [a, b])
    np.testing.assert_array_equal(got, fma_expected(a, b))


def test_interpreter_vector_out_of_bounds():
    from xdsl.utils.exceptions import InterpretationError

    text = FMA.replace('"loop.for"(%c0, %c8, %c4)', '"loop.for"(%c0, %c10, %c4)')
    with pytest.raises(InterpretationError, match="out of bounds"):
        run_reference(parse(text), [np.zeros((2, 10), np.float32)] * 2)


def native(module, inputs, out_shape):
    run_pass_pipeline(module, TO_LLVM, make_dialect_context())
    text = str(translate_module(module.clone()))
    spec = [(f"in{i}", x.shape, x.dtype) for i, x in enumerate(inputs)]
    fn = compile_module(
        module, entry="main", inputs=spec, outputs=[("out", out_shape, np.dtype(np.float32))]
    )
    return fn(*inputs), text


def test_native_vector_ops_use_fmuladd():
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((2, 10)).astype(np.float32) for _ in range(2))
    got, text = native(parse(FMA), [a, b], (2, 10))
    assert "llvm.fmuladd.v4f32" in text and "llvm.fma." not in text
    assert "<4 x float>" in text and "llvm.maximum.v4f32" in text
    np.testing.assert_allclose(got, fma_expected(a, b), rtol=1e-6, atol=1e-6)


def chain_ref(x: np.ndarray) -> np.ndarray:
    return np.maximum(x * np.float32(2) + np.float32(1), np.float32(0)) * x


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 70)),
    st.sampled_from([4, 8, 16]),
    st.integers(1, 20),
    st.booleans(),
)
def test_native_vectorized_chain(shape, width, factor, nontemporal):
    """split (dynamic bounds) + vectorize with a remainder, compiled, equals NumPy."""
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    m = chain(shape)
    _, inner = S.split(at(m, 0, 0), factor)
    made = S.vectorize(inner, width, nontemporal=nontemporal) is not None
    # [io, min(io + f, n)) is dynamic unless f divides n: then [io, io + f), constant
    assert made == (shape[1] % factor != 0 or factor >= width)
    got, text = native(m, [x], shape)
    np.testing.assert_allclose(got, chain_ref(x), rtol=1e-6, atol=1e-6)
    assert (f"<{width} x float>" in text) == made
    assert ("!nontemporal" in text) == (nontemporal and made)


@pytest.mark.parametrize("shape", [(3, 37), (1, 16), (5, 3)])
def test_vectorize_loops_pass(shape):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    m = chain(shape)
    (expected,) = run_reference(m, [x])
    run_pass_pipeline(m, "vectorize-loops{vector_bits=128 unroll=2}", make_dialect_context())
    (got,) = run_reference(m, [x])
    np.testing.assert_array_equal(got, expected)
    vec = [op for op in m.walk() if op.name == "vector.store"]
    assert bool(vec) == (shape[1] >= 4)
    out, _ = native(m, [x], shape)
    np.testing.assert_allclose(out, chain_ref(x), rtol=1e-6, atol=1e-6)


def test_vectorize_loops_pass_keeps_reductions_scalar():
    m = matmul(3, 5, 20)
    rng = np.random.default_rng(5)
    a, b = (
        rng.standard_normal((3, 5)).astype(np.float32),
        rng.standard_normal((5, 20)).astype(np.float32),
    )
    before = str(m)
    run_pass_pipeline(m, "vectorize-loops{width=4}", make_dialect_context())
    assert str(m) != before  # the fill nest's j loop vectorizes; the k loop does not
    assert not any(op.name.startswith("vector.") for op in S.get_loops(at(m, 1))[-1].walk())
    out, _ = native(m, [a, b], (3, 20))
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5)


def test_host_vector_bits():
    from irforge.backends.target import host_target

    assert host_target().vector_bits in (128, 256, 512)


def test_vector_constant_interpreted_and_native():
    text = """
    func.func @main(%a: memref<4xf32>, %o: memref<4xf32>) {
      %c0 = arith.constant 0 : index
      %k = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : vector<4xf32>
      %x = vector.load %a[%c0] : memref<4xf32>, vector<4xf32>
      %y = arith.mulf %x, %k : vector<4xf32>
      vector.store %y, %o[%c0] : memref<4xf32>, vector<4xf32>
      func.return
    }"""
    a = np.array([2.0, -1.0, 0.5, 3.0], np.float32)
    expected = a * np.array([1, 2, 3, 4], np.float32)
    np.testing.assert_array_equal(run_reference(parse(text), [a])[0], expected)
    got, _ = native(parse(text), [a], (4,))
    np.testing.assert_array_equal(got, expected)


def test_wasm32_vector_code_needs_no_libm_fma():
    """vector.fma lowers to llvm.fmuladd: on wasm32 (+simd128) it becomes f32x4 mul + add,
    never a call to libm's fmaf (which wasm32 cannot link)."""
    import llvmlite.binding as llvm

    m = parse(FMA)
    run_pass_pipeline(m, TO_LLVM, make_dialect_context())
    ir = translate_module(m, triple="wasm32-unknown-unknown")
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    try:
        target = llvm.Target.from_triple("wasm32-unknown-unknown")
    except RuntimeError:
        pytest.skip("this LLVM has no wasm32 target")
    asm = target.create_target_machine(features="+simd128", opt=3).emit_assembly(
        llvm.parse_assembly(str(ir))
    )
    assert "fmaf" not in asm and "f32x4.mul" in asm
