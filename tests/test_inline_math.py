"""Native vector variants of f32 math (backends/llvm/inline_math.py `add_vector_variants`):
loops that call exp, log, tanh (LLVM intrinsics) or erff, expm1f, log1pf (C functions)
vectorize with irforge's branch-free code instead of calling libm once per element.

- accuracy in ulps of the f32 result against float64 NumPy / math.erf, with the bounds
  of the wasm runtime's test (same code), plus special values, through loops LLVM
  vectorizes; the optimized IR has no call left in them;
- a loop LLVM leaves scalar (10 iterations at 128 bits) keeps libm's call;
- `inline_math=()` keeps libm everywhere.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from irforge.backends.llvm import compile_module
from irforge.backends.llvm.jit import parse_and_optimize, target_machine
from tests.test_wasm_backend import ULPS, assert_math_accuracy


def callee(f: str) -> str:
    return f"@{f}f" if f in ("erf", "expm1", "log1p") else f"@llvm.{f}.f32"


def scalar_loop(f: str, n: int) -> str:
    """LLVM IR: `@run(x, y)` maps y[i] = f(x[i]) over n floats with a scalar call, as the
    lowering emits it."""
    return f"""declare float {callee(f)}(float)
define void @run(ptr noalias %x, ptr noalias %y) {{
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%n, %loop]
  %px = getelementptr float, ptr %x, i64 %i
  %v = load float, ptr %px, align 4
  %r = call float {callee(f)}(float %v)
  %py = getelementptr float, ptr %y, i64 %i
  store float %r, ptr %py, align 4
  %n = add i64 %i, 1
  %c = icmp ult i64 %n, {n}
  br i1 %c, label %loop, label %done
done:
  ret void
}}"""


@pytest.mark.parametrize("f", list(ULPS))
def test_vectorized_math_accuracy(f):
    n = 1 << 14
    text = scalar_loop(f, n)
    optimized = str(parse_and_optimize(text, target_machine(None, None, 3), 3))
    body = optimized[optimized.index("define void @run") :]
    assert callee(f)[1:] not in body.split("}")[0], "the loop still calls the scalar function"
    assert re.search(r"<\d+ x float>", body)
    spec = [("x", (n,), "float32")], [("y", (n,), "float32")]
    fn = compile_module(text, entry="run", inputs=spec[0], outputs=spec[1])
    assert_math_accuracy(f, fn, n, np.random.default_rng(0))


def test_scalar_loops_and_the_switch_keep_libm():
    short = str(parse_and_optimize(scalar_loop("exp", 10), target_machine("x86-64-v2"), 3))
    assert re.search(r"call float @(llvm\.exp\.f32|expf)\(", short)
    kept = str(parse_and_optimize(scalar_loop("tanh", 4096), target_machine(), 3, inline_math=()))
    assert "irforge.tanh" not in kept and re.search(r"@(llvm\.tanh|tanhf)", kept)


@pytest.mark.parametrize("op", ["Softmax", "Tanh", "Erf", "Sigmoid"])
def test_models_agree_with_onnxruntime(op):
    from tests.test_graph_nn import one_node, rand
    from tests.test_microkernel import close, native, ort_run

    x = rand(64, 40) * 4
    model = one_node(op, {"x": x}, {})
    close(native(model, x), ort_run(model, {"x": x}))
