"""The WebAssembly backend (backends/wasm): models compiled to wasm32 + simd128 and run in
wasmtime agree with native code and ONNX Runtime; the module is self-contained; errors
are clear. Also the native `cpu=` target selection (x86-64-v2 code has no AVX).

Tolerances: wasm and native run the same lowered IR; they differ by the order of float
operations LLVM picks per target (no FMA on wasm or x86-64-v2, 4-lane vs 16-lane
reductions) and by the wasm runtime's own exp/log/tanh/erf (within 3 ulp, see
backends/wasm/libc.py), so results are compared with rtol 1e-4 and atol 1e-5 of the
output's scale; the digits MLP's probabilities within 1e-5 absolute, as natively.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.examples.digits import load_test_split, model_path
from irforge.passes.infra.pipeline import with_pass_options
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from tests.test_graph_nn import one_node, rand

_missing = [m for m in ("wasmtime", "ziglang") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"the wasm backend needs {', '.join(_missing)}: pip install 'irforge[wasm]'",
)


def close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-4) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-5 * scale)


def both(model, *inputs, **kw):
    """(wasm result, native result) of `model` on `inputs`."""
    w = irforge.compile(model, target="wasm", **kw)
    n = irforge.compile(model, num_threads=1, **kw)
    return w(*inputs), n(*inputs)


# ----------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits():
    x, y = load_test_split()
    sess = ort.InferenceSession(str(model_path()), providers=["CPUExecutionProvider"])
    return x, y, sess.run(None, {"input": x})[0]


@pytest.fixture(scope="module")
def digits_b1():
    return irforge.compile(model_path(), target="wasm", input_shapes={"input": [1, 64]})


def test_digits_batch_matches_native_and_onnxruntime(digits):
    x, y, expected = digits
    shapes = {"input": list(x.shape)}
    got = irforge.compile(model_path(), target="wasm", input_shapes=shapes)(x)
    native = irforge.compile(model_path(), input_shapes=shapes, num_threads=1)(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got, native, rtol=0, atol=1e-6)
    assert np.mean(got.argmax(1) == y) == np.mean(expected.argmax(1) == y)


def test_digits_batch1_and_out(digits, digits_b1):
    x, _, expected = digits
    for i in range(0, len(x), 37):
        np.testing.assert_allclose(digits_b1(x[i : i + 1]), expected[i : i + 1], atol=1e-5)
    out = np.empty((1, 10), np.float32)
    res = digits_b1(x[:1], out=out)
    assert res is out
    np.testing.assert_allclose(out, expected[:1], atol=1e-5)


def test_zero_copy_run(digits, digits_b1):
    x, _, expected = digits
    f = digits_b1.function
    f.input_arrays[0][...] = x[5:6]
    f.run()
    np.testing.assert_allclose(f.output_arrays[0], expected[5:6], atol=1e-5)


def test_module_is_self_contained(digits_b1):
    import wasmtime

    from irforge.backends.wasm import wasm_engine, wasm_imports

    wasm = digits_b1.function.wasm_bytes
    module = wasmtime.Module(wasm_engine(), wasm)
    assert list(module.imports) == [] and wasm_imports(wasm) == []
    names = {e.name for e in module.exports}
    assert {"memory", "irforge_alloc", "irforge_free", "main"} <= names


def test_bad_inputs_raise_clear_errors(digits_b1):
    with pytest.raises(ValueError, match=r"input 'input' \(#0\).*\(1, 64\).*\(2, 64\)"):
        digits_b1(np.zeros((2, 64), np.float32))
    with pytest.raises(ValueError, match="float32"):
        digits_b1(np.zeros((1, 64), np.float64))
    with pytest.raises(ValueError, match="expects 1 input"):
        digits_b1()
    with pytest.raises(ValueError, match="out= array"):
        digits_b1(np.zeros((1, 64), np.float32), out=np.empty((1, 9), np.float32))
    assert "WasmFunction main(input: (1, 64) float32)" in repr(digits_b1.function)


def test_wasm_rejects_threads_and_cpu():
    with pytest.raises(ValueError, match="one thread"):
        irforge.compile(model_path(), target="wasm", input_shapes={"input": [1, 64]}, num_threads=2)
    with pytest.raises(ValueError, match="cpu"):
        irforge.compile(model_path(), target="wasm", input_shapes={"input": [1, 64]}, cpu="x")
    with pytest.raises(ValueError, match="native, wasm"):
        irforge.compile(model_path(), target="gpu")


# ---------------------------------------------------------------------- CNN-style ops


def _cnn_model() -> onnx.ModelProto:
    """conv (stride 2, pad 1) + batch norm + relu, max pool, conv, residual add, avg pool,
    concat, global average pool, flatten, gemm, softmax."""
    rng = np.random.default_rng(0)

    def w(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inits = {
        "w1": w(8, 3, 3, 3),
        "b1": w(8),
        "scale": (1 + w(8)).astype(np.float32),
        "bias": w(8),
        "mean": w(8),
        "var": (0.5 + rng.random(8)).astype(np.float32),
        "w2": w(8, 8, 3, 3),
        "wf": w(10, 16),
        "bf": w(10),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "scale", "bias", "mean", "var"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["s"]),
        helper.make_node(
            "AveragePool",
            ["s"],
            ["a"],
            kernel_shape=[3, 3],
            strides=[1, 1],
            pads=[1, 1, 1, 1],
            count_include_pad=0,
        ),
        helper.make_node("Concat", ["a", "s"], ["cat"], axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    g = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 10])],
        [numpy_helper.from_array(a, n) for n, a in inits.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return model


def test_cnn_ops_match_native_and_onnxruntime():
    model = _cnn_model()
    x = rand(2, 3, 32, 32)
    got, native = both(model, x)
    close(got, native)
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    close(got, want)


FORCED = with_pass_options(DEFAULT_PIPELINE, "convert-tensor-to-loop", {"microkernel-min-flops": 0})


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("Conv", {"strides": [2, 2], "pads": [1, 0, 1, 0]}),
        ("MatMul", {}),
    ],
)
def test_microkernels_at_128_bits(op, attrs):
    """The packed GEMM microkernels, forced on small shapes, at the wasm width (4 x 16)."""
    if op == "Conv":
        model = one_node("Conv", {"x": rand(1, 5, 13, 11)}, {"w": rand(7, 5, 3, 3)}, **attrs)
        inputs = [rand(1, 5, 13, 11, seed=3)]
    else:
        model = one_node("MatMul", {"a": rand(19, 37), "b": rand(37, 29)})
        inputs = [rand(19, 37, seed=3), rand(37, 29, seed=4)]
    got, native = both(model, *inputs, pipeline=FORCED)
    close(got, native)


@pytest.mark.parametrize(
    "op, x",
    [
        ("Sigmoid", rand(3, 67) * 4),
        ("Tanh", rand(3, 67) * 3),
        ("Exp", rand(3, 67) * 5),
        ("Log", np.abs(rand(3, 67)) * 10 + 1e-3),
        ("Erf", rand(3, 67) * 2),
        ("Softplus", rand(3, 67) * 5),
        ("Elu", rand(3, 67) * 3),
        ("Relu", rand(3, 67)),
    ],
)
def test_math_ops_match_native(op, x):
    """Elementwise math (vectorized through the wasm runtime's own exp/log/...)."""
    got, native = both(one_node(op, {"x": x}), x)
    close(got, native)


def test_pow_and_max_min_with_nan():
    a = np.abs(rand(4, 33)) + 0.1
    b = rand(4, 33)
    got, native = both(one_node("Pow", {"a": a, "b": b}), a, b)
    close(got, native, rtol=2e-5)
    a[0, :3] = np.nan
    got, native = both(one_node("Max", {"a": a, "b": b}), a, b)
    np.testing.assert_array_equal(got, native)  # maxnum: NaN operand gives the other


def _math_kernels(n: int) -> str:
    """LLVM IR: for each function f, `s_f(x, y)` (scalar libm call `fnamef`) and `v_f(x, y)`
    (the `llvm.f.v4f32` intrinsic) map y[i] = f(x[i]) over n floats."""
    parts = []
    for f in ("exp", "log", "tanh", "erf", "expm1", "log1p"):
        for kind, t, step, callee in (
            ("s", "float", 1, f"@{f}f"),
            ("v", "<4 x float>", 4, f"@llvm.{f}.v4f32"),
        ):
            if kind == "v" and f in ("erf", "expm1", "log1p"):
                continue  # no LLVM intrinsic: the lowering calls libm's scalar names
            parts.append(f"""declare {t} {callee}({t})
define void @{kind}_{f}(ptr %x, ptr %y) {{
entry:
  br label %loop
loop:
  %i = phi i32 [0, %entry], [%n, %loop]
  %px = getelementptr float, ptr %x, i32 %i
  %v = load {t}, ptr %px, align 4
  %r = call {t} {callee}({t} %v)
  %py = getelementptr float, ptr %y, i32 %i
  store {t} %r, ptr %py, align 4
  %n = add i32 %i, {step}
  %c = icmp ult i32 %n, {n}
  br i1 %c, label %loop, label %done
done:
  ret void
}}""")
    return "\n".join(parts)


MATH_REFS = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "erf": np.vectorize(math.erf),
    "expm1": np.expm1,
    "log1p": np.log1p,
}
"""float64 references of the runtime's math functions."""
ULPS = {"exp": 1, "log": 1, "tanh": 2, "erf": 4, "expm1": 3, "log1p": 3}
RANGES = {
    "exp": (-103, 88),
    "log": (1e-30, 1e4),
    "tanh": (-10, 10),
    "erf": (-5, 5),
    "expm1": (-5, 5),
    "log1p": (-0.999, 100),
}


def assert_math_accuracy(f: str, fn, n: int, rng) -> None:
    """`fn` (y[i] = f(x[i]) over n float32) within ULPS[f] of float64 NumPy / math.erf on
    RANGES[f] and tiny arguments, and exact on special values (0, +-inf, NaN, +-200)."""
    lo, hi = RANGES[f]
    x = rng.uniform(lo, hi, n).astype(np.float32)
    x[:64] = np.linspace(-1e-3, 1e-3, 64) if f != "log" else np.geomspace(1e-40, 1e-3, 64)
    ref = MATH_REFS[f](x.astype(np.float64))
    ok = np.abs(ref) > np.finfo(np.float32).tiny  # normal f32 results
    ulp = np.spacing(np.abs(ref[ok]).astype(np.float32)).astype(np.float64)
    err = np.abs(fn(x)[ok].astype(np.float64) - ref[ok]) / ulp
    assert err.max() <= ULPS[f], f"{f}: {err.max():.2f} ulp at x={x[ok][err.argmax()]}"
    special = np.array([0.0, np.inf, -np.inf, np.nan, 200.0, -200.0], np.float32)
    xs = np.zeros(n, np.float32)
    xs[: len(special)] = special
    with np.errstate(all="ignore"):
        want = MATH_REFS[f](special.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(fn(xs)[: len(special)], want, err_msg=f)


@pytest.mark.parametrize("kind", ["s", "v"])
def test_runtime_math_accuracy(kind):
    """The wasm runtime's f32 math against float64 NumPy / math.erf, in ulps of the f32
    result (the bounds of backends/llvm/inline_math.py), plus special values."""
    from irforge.backends.wasm import WasmFunction, build_wasm

    n = 1 << 14
    text = _math_kernels(n)
    rng = np.random.default_rng(0)
    for f in ULPS:
        if kind == "v" and f in ("erf", "expm1", "log1p"):
            continue
        fn = WasmFunction(
            build_wasm(text, entry=f"{kind}_{f}"),
            f"{kind}_{f}",
            [("x", (n,), "float32")],
            [("y", (n,), "float32")],
        )
        assert_math_accuracy(f, fn, n, rng)


# ---------------------------------------------------------------------- memory, linker


def _alloc_module(max_memory: int) -> bytes:
    from irforge.backends.wasm import build_wasm

    # A model whose function allocates a 64 MiB buffer (aligned_alloc, as the lowering
    # emits) and writes it.
    text = """
declare ptr @aligned_alloc(i64, i64)
declare void @free(ptr)
define void @main(ptr %x, ptr %y) {
  %b = call ptr @aligned_alloc(i64 64, i64 67108864)
  %v = load float, ptr %x
  store float %v, ptr %b
  %w = load float, ptr %b
  store float %w, ptr %y
  call void @free(ptr %b)
  ret void
}
"""
    return build_wasm(text, max_memory=max_memory)


def test_out_of_memory_in_the_model_and_for_buffers():
    from irforge.backends.wasm import WasmFunction, WasmMemoryError

    spec = [("x", (1,), "float32")], [("y", (1,), "float32")]
    f = WasmFunction(_alloc_module(128 << 20), "main", *spec)
    assert f(np.array([3.5], np.float32))[0] == 3.5
    small = WasmFunction(_alloc_module(16 << 20), "main", *spec)
    with pytest.raises(WasmMemoryError, match=r"asked for 67108864 bytes.*maximum of 16777216"):
        small(np.array([1.0], np.float32))
    with pytest.raises(WasmMemoryError, match=r"cannot hold 67108864 bytes for input 'x'"):
        WasmFunction(_alloc_module(16 << 20), "main", [("x", (1 << 24,), "float32")], spec[1])


def test_allocator_reuses_blocks_and_fails_cleanly():
    import wasmtime

    from irforge.backends.wasm import wasm_engine

    store = wasmtime.Store(wasm_engine())
    inst = wasmtime.Instance(store, wasmtime.Module(wasm_engine(), _alloc_module(32 << 20)), [])
    alloc, free = inst.exports(store)["irforge_alloc"], inst.exports(store)["irforge_free"]
    ptrs = [alloc(store, n) for n in (1, 64, 100, 5000, 3 << 20)]
    assert all(p and p % 16 == 0 for p in ptrs) and len(set(ptrs)) == len(ptrs)
    for p in ptrs:
        free(store, p)
    assert [alloc(store, n) for n in (5000, 3 << 20)] == [ptrs[3], ptrs[4]]
    assert alloc(store, 1 << 30) == 0  # above max_memory
    assert alloc(store, 0xFFFFFFF0 - (1 << 32)) == 0  # 4 GiB - 16 as a signed i32


def test_trap_raises_runtime_error_naming_the_entry():
    from irforge.backends.wasm import WasmFunction, build_wasm

    text = """
define void @boom(ptr %x, ptr %y) {
  call void @llvm.trap()
  unreachable
}
declare void @llvm.trap()
"""
    f = WasmFunction(
        build_wasm(text, entry="boom"), "boom", [("x", (1,), "float32")], [("y", (1,), "float32")]
    )
    with pytest.raises(RuntimeError, match="wasm function 'boom' trapped"):
        f(np.zeros(1, np.float32))


def test_missing_linker_says_how_to_install(monkeypatch):
    from irforge.backends.wasm import build

    build.find_wasm_ld.cache_clear()
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    monkeypatch.setattr(build.importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(build.WasmLinkerNotFound, match=r"pip install 'irforge\[wasm\]'"):
            build.build_wasm("define void @main() {\n  ret void\n}\n")
    finally:
        build.find_wasm_ld.cache_clear()


def test_f64_math_is_reported():
    from irforge.backends.wasm import WasmBuildError, build_wasm

    text = """
declare double @llvm.exp.f64(double)
define void @main(ptr %x, ptr %y) {
  %v = load double, ptr %x
  %e = call double @llvm.exp.f64(double %v)
  store double %e, ptr %y
  ret void
}
"""
    with pytest.raises(WasmBuildError, match="does not provide: exp"):
        build_wasm(text)


# ------------------------------------------------------------------------ native cpu=


def test_native_x86_64_v2_matches_host_and_uses_no_avx(digits):
    from irforge.backends.llvm.jit import target_machine, target_vector_bits

    if not target_machine().triple.startswith("x86_64"):
        pytest.skip("x86-64 host only")
    assert target_vector_bits("x86-64-v2") == 128
    assert target_vector_bits("x86-64-v3") == 256
    x = digits[0]
    shapes = {"input": list(x.shape)}
    v2 = irforge.compile(model_path(), input_shapes=shapes, cpu="x86-64-v2", num_threads=1)
    host = irforge.compile(model_path(), input_shapes=shapes, num_threads=1)
    np.testing.assert_allclose(v2(x), host(x), rtol=0, atol=1e-6)
    jm = v2.function.jit_module
    ir_text = str(jm.module)
    assert "<4 x float>" in ir_text and "<16 x float>" not in ir_text  # 128-bit schedules
    code = jm.target_machine.emit_assembly(jm.module)  # the JIT's own target machine
    assert "xmm" in code and "ymm" not in code and "zmm" not in code


# ------------------------------------------------------------------------ light models


@pytest.mark.parametrize("name", ["squeezenet", "resnet50"])
def test_light_models_match_native_and_onnxruntime(name, light):
    """A real model (onnx's light SqueezeNet and ResNet-50) with seeded random weights:
    wasm vs native and ONNX Runtime, max abs diff <= 1e-4 x max |logit|. The native model
    and the reference are the session's (the `light` fixture, tests/conftest.py)."""
    x = light.input(name)
    got = light.compiled(name, target="wasm")(x)
    native = light.compiled(name)(x)
    ref = light.reference(name)
    scale = float(np.max(np.abs(ref)))
    assert float(np.max(np.abs(got - native))) <= 1e-4 * scale
    assert float(np.max(np.abs(got - ref))) <= 1e-4 * scale


def test_vector_width_follows_the_target():
    from irforge.api import make_target
    from irforge.backends.llvm.jit import target_vector_bits

    assert target_vector_bits(triple="wasm32-unknown-unknown") == 128
    assert target_vector_bits("x86-64-v4") == 512
    assert make_target("wasm").vector_bits == 128
    assert make_target("native", cpu="x86-64-v4", num_threads=1).vector_bits == 512
    assert make_target("native", cpu="x86-64-v2", num_threads=1).vector_bits == 128
