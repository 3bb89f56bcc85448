"""A matmul's pointwise consumer (bias, bias + residual add, a scale) run as the GEMM
microkernel's epilogue (passes/tensor_to_loop/microkernel/gemm_epilogue.py): the last K
block's kernel applies it as it stores each tile, edge tiles as they are copied back.

Checked: the epilogue kernel is built and the consumer leaves no loop nest of its own;
results against NumPy (f32, rtol 1e-5, atol 1e-5 times the scale of the result) over edge
tiles, several K blocks, 1 and 2 threads; consumers the epilogue does not take (a bias
along the rows, a consumer of two matmuls) still compute the right values.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.dialects import loop
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from tests.test_matmul_nd import close, loop_module, symbols


def rand(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def model(m: int, k: int, n: int, tail: str, bias_shape=None):
    """y = x @ W then `tail`: 'bias' (+ b), 'res' (+ b + r), 'scale' (* 0.5), 'rowbias'
    (+ b of shape [m, 1]); x [1, m, k], W constant. Returns the model, its inputs and the
    NumPy result."""
    x, w = rand((1, m, k), 0), rand((k, n), 1)
    r = rand((1, m, n), 2)
    b = rand(bias_shape or (n,), 3)
    inits = [numpy_helper.from_array(w, "W")]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, m, k])]
    feeds, want, last = [x], x @ w, "mm"
    if tail in ("bias", "res", "rowbias"):
        inits.append(numpy_helper.from_array(b, "b"))
        nodes.append(helper.make_node("Add", ["mm", "b"], ["t"]))
        want, last = want + b, "t"
    if tail == "res":
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, m, n]))
        nodes.append(helper.make_node("Add", ["r", "t"], ["y"]))
        feeds.append(r)
        want = want + r
    elif tail == "scale":
        inits.append(numpy_helper.from_array(np.array(0.5, np.float32), "h"))
        nodes.append(helper.make_node("Mul", ["mm", "h"], ["y"]))
        want = want * np.float32(0.5)
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m, n])]
    g = helper.make_graph(nodes, "g", inputs, out, inits)
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    mp.ir_version = 9
    return mp, feeds, want


def loop_nests(module) -> int:
    """The outermost loop.for ops of the entry function."""
    (fn,) = [
        op for op in module.ops if getattr(op, "sym_name", None) and op.sym_name.data == "main"
    ]
    return sum(isinstance(op, loop.ForOp) for op in fn.body.block.ops)


@pytest.mark.parametrize("tail", ["bias", "res", "scale"])
def test_consumer_is_the_kernels_epilogue(tail):
    """The consumer becomes an epilogue kernel (symbol suffix _e<key>) and no loop nest:
    only the matmul's own nests (zero fill, macro loops) remain."""
    mp, _, _ = model(20, 64, 128, tail)
    module = loop_module(mp, DEFAULT_PIPELINE)
    assert any("_e" in s for s in symbols(module, "__sgemm"))
    plain, _, _ = model(20, 64, 128, "none")
    assert loop_nests(module) == loop_nests(loop_module(plain, DEFAULT_PIPELINE))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("tail", ["bias", "res", "scale"])
@pytest.mark.parametrize(("m", "k", "n"), [(20, 64, 128), (19, 300, 70), (1, 600, 96)])
def test_epilogue_matches_numpy(tail, m, k, n, threads):
    """Edge rows and columns (M mod MR, N mod NR: scalar epilogue), K over 1-3 K blocks
    (the epilogue only in the last), one row, 1 and 2 threads."""
    mp, feeds, want = model(m, k, n, tail)
    got = irforge.compile(mp, num_threads=threads)(*feeds)
    close(got, want)


def test_row_bias_is_not_an_epilogue():
    """A bias along the rows ([m, 1], a map the epilogue does not read) stays a separate
    loop nest, with the same result."""
    mp, feeds, want = model(20, 64, 128, "rowbias", bias_shape=(20, 1))
    module = loop_module(mp, DEFAULT_PIPELINE)
    assert not any("_e" in s for s in symbols(module, "__sgemm"))
    close(irforge.compile(mp, num_threads=1)(*feeds), want)


def test_add_of_two_matmuls():
    """mm1 + mm2: the add reads the first matmul's result and the second's; the first
    matmul cannot take it (the second is not computed yet), the second can."""
    x, w1, w2 = rand((1, 20, 64), 0), rand((64, 128), 1), rand((64, 128), 2)
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["a"]),
        helper.make_node("MatMul", ["x", "W2"], ["b"]),
        helper.make_node("Add", ["a", "b"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 20, 128])],
        [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")],
    )
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    mp.ir_version = 9
    onnx.checker.check_model(mp)
    close(irforge.compile(mp, num_threads=1)(x), x @ w1 + x @ w2)


def mlp_model(m: int, k: int, h: int, n: int, gelu: str):
    """x @ W1 -> GELU -> @ W2 with the GELU written out as torch's exporters write it:
    'tanh' (GPT-2's approximation: 0.5 h (1 + tanh(0.79788 (h + 0.044715 h^3)))) or 'erf'
    (0.5 h (1 + erf(h / sqrt 2))). Returns the model, its input and the NumPy result."""
    x, w1, w2 = rand((1, m, k), 0), rand((k, h), 1) * 0.2, rand((h, n), 2)
    c = {
        "half": 0.5,
        "one": 1.0,
        "three": 3.0,
        "a": 0.044715,
        "s": 0.7978845608,
        "rs2": 0.7071067812,
    }
    inits = [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")]
    inits += [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in c.items()]
    mk = helper.make_node
    nodes = [mk("MatMul", ["x", "W1"], ["h"]), mk("Mul", ["h", "half"], ["hh"])]
    hv = x @ w1
    if gelu == "tanh":
        nodes += [
            mk("Pow", ["h", "three"], ["h3"]),
            mk("Mul", ["h3", "a"], ["ah3"]),
            mk("Add", ["h", "ah3"], ["in"]),
            mk("Mul", ["in", "s"], ["z"]),
            mk("Tanh", ["z"], ["t"]),
        ]
        inner = np.tanh(np.float32(0.7978845608) * (hv + np.float32(0.044715) * hv**3))
    else:
        nodes += [mk("Mul", ["h", "rs2"], ["z"]), mk("Erf", ["z"], ["t"])]
        from math import erf

        inner = np.vectorize(erf)(hv.astype(np.float64) * 0.7071067812).astype(np.float32)
    nodes += [
        mk("Add", ["t", "one"], ["t1"]),
        mk("Mul", ["hh", "t1"], ["g"]),
        mk("MatMul", ["g", "W2"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m, n])],
        inits,
    )
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    mp.ir_version = 9
    return mp, x, (np.float32(0.5) * hv * (1 + inner)) @ w2


def test_tanh_gelu_between_matmuls_is_the_first_ones_epilogue():
    """The GELU chain reads h three times: fused into one generic that reads it once, it
    runs in the first matmul's kernels (an _e kernel) instead of the second one's packing,
    and its vector tanh is irforge's inline code, not one libm call per lane."""
    mp, x, _ = mlp_model(20, 64, 128, 96, "tanh")
    module = loop_module(mp, DEFAULT_PIPELINE)
    assert any("_e" in s for s in symbols(module, "__sgemm"))
    compiled = irforge.compile(mp, num_threads=1)  # owns the LLVM module
    text = str(compiled.function.jit_module.module)
    assert "@llvm.tanh.v" not in text and "tanhf" not in text


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("gelu", ["tanh", "erf"])
@pytest.mark.parametrize(("m", "k", "h", "n"), [(20, 64, 128, 96), (37, 300, 192, 70)])
def test_gelu_mlp_matches_numpy(gelu, m, k, h, n, threads):
    """Both GELU forms between two matmuls (the erf one, not an epilogue op, stays a loop
    nest of its own), edge tiles, several K blocks, 1 and 2 threads."""
    mp, x, want = mlp_model(m, k, h, n, gelu)
    close(irforge.compile(mp, num_threads=threads)(x), want, rtol=1e-4)


def test_erf_gelu_is_not_an_epilogue():
    """erf is not an op the epilogue (nor the microkernel's packing) computes: no
    epilogue kernel is made, and the result is still right (test_gelu_mlp_matches_numpy)."""
    mp, _, _ = mlp_model(20, 64, 128, 96, "erf")
    module = loop_module(mp, DEFAULT_PIPELINE)
    assert not any("_e" in s for s in symbols(module, "__sgemm"))
