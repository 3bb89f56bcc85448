"""N-D MatMul with NumPy semantics (ONNX MatMul): graph.matmul's shape rule and verifier,
its lowering (one contraction generic over the batch, row, column and reduction dims) and
the microkernel path it takes.

Results are compared with numpy.matmul (f32, rtol 1e-5, atol 1e-5 times the scale of the
result) natively, in wasm and in the loop interpreter, and with ONNX Runtime for
transformer-shaped models (rtol 1e-4: sums reassociated by the blocking). The microkernel
tests check the kernel functions and the compile-time packed weights in the loop IR, so
that a regression to the scalar loop nest fails.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, TensorType
from xdsl.utils.exceptions import VerifyException

import irforge
from irforge.api import make_context, make_target, run_pipeline
from irforge.dialects import graph, loop
from irforge.dialects.graph.core import matmul_shape
from irforge.dialects.reference import run_reference
from irforge.dialects.tensor import GenericOp
from irforge.frontends.onnx import ONNXImportError, import_onnx
from irforge.passes.infra.pipeline import with_pass_options
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from irforge.passes.loop.parallelize_loops import PARALLEL_ATTR as PARALLEL
from irforge.passes.tensor_to_loop.microkernel.contraction import match_contraction
from tests.test_lowering import make_module

FORCED = with_pass_options(DEFAULT_PIPELINE, "convert-tensor-to-loop", {"microkernel-min-flops": 0})
TO_LOOP = "canonicalize,convert-graph-to-tensor,tensor-fuse-elementwise,convert-tensor-to-loop"

# Every rank combination of numpy.matmul: 1-D promotion on either side, batch dims on
# either side or both, broadcast batch dims (size 1 against n, missing leading dims).
RANK_CASES = [
    ((7,), (7,)),
    ((7,), (7, 5)),
    ((3, 7), (7,)),
    ((3, 7), (7, 5)),
    ((2, 3, 7), (7, 5)),
    ((2, 3, 7), (7,)),
    ((7,), (2, 7, 5)),
    ((3, 7), (2, 7, 5)),
    ((2, 3, 7), (2, 7, 5)),
    ((1, 3, 7), (4, 7, 5)),
    ((2, 1, 4, 8), (3, 8, 5)),
    ((2, 3, 4, 7), (2, 3, 7, 5)),
    ((2, 3, 4, 7), (7, 5)),
    ((3, 7), (2, 2, 7, 5)),
    ((2, 1, 3, 7), (1, 4, 7, 5)),
]


def rand(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-5) -> None:
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-5 * scale)


def matmul_model(cases, const_rhs: bool = False, opset: int = 17) -> tuple[onnx.ModelProto, list]:
    """One MatMul node per (lhs shape, rhs shape) of `cases`, each on its own inputs
    (`const_rhs`: the rhs an initializer); returns the model and its input arrays."""
    nodes, inputs, outputs, inits, feeds = [], [], [], [], []
    for i, (sa, sb) in enumerate(cases):
        a, b = rand(sa, 2 * i), rand(sb, 2 * i + 1)
        out = np.matmul(a, b).shape
        nodes.append(helper.make_node("MatMul", [f"a{i}", f"b{i}"], [f"y{i}"], name=f"mm{i}"))
        inputs.append(helper.make_tensor_value_info(f"a{i}", TensorProto.FLOAT, sa))
        feeds.append(a)
        if const_rhs:
            inits.append(numpy_helper.from_array(b, f"b{i}"))
        else:
            inputs.append(helper.make_tensor_value_info(f"b{i}", TensorProto.FLOAT, sb))
            feeds.append(b)
        outputs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, out))
    g = helper.make_graph(nodes, "matmuls", inputs, outputs, inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    return model, feeds


def expected(model: onnx.ModelProto, feeds: list) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, feeds)))


def as_list(result) -> list[np.ndarray]:
    return list(result) if isinstance(result, list | tuple) else [result]


def loop_module(model: onnx.ModelProto, pipeline: str = FORCED):
    """The model lowered by `pipeline` up to convert-tensor-to-loop (included)."""
    module = import_onnx(model)
    passes = pipeline.split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("convert-tensor-to-loop"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    return module


def symbols(module, prefix: str) -> list[str]:
    return [op.sym_name.data for op in module.ops if op.sym_name.data.startswith(prefix)]


def contractions(model: onnx.ModelProto):
    module = import_onnx(model)
    run_pipeline(module, "canonicalize,convert-graph-to-tensor", make_context())
    gens = [op for op in module.walk() if isinstance(op, GenericOp)]
    return [c for c in map(match_contraction, gens) if c is not None]


# ------------------------------------------------------------------------- shape rule


@pytest.mark.parametrize(("sa", "sb"), RANK_CASES)
def test_shape_rule_is_numpys(sa, sb):
    assert matmul_shape(sa, sb) == np.matmul(np.zeros(sa), np.zeros(sb)).shape


@pytest.mark.parametrize(
    ("sa", "sb", "message"),
    [
        ((2, 3), (4, 5), r"contraction dimensions differ: lhs \[2, 3\] has K=3, rhs"),
        ((7,), (6,), r"contraction dimensions differ: lhs \[7\] has K=7, rhs \[6\] has K=6"),
        ((2, 3, 4), (3, 4, 5), r"batch dimensions \[2\] of lhs \[2, 3, 4\] and \[3\] of rhs"),
        ((), (3, 4), r"operands must have rank >= 1, got shapes \[\] and \[3, 4\]"),
    ],
)
def test_bad_shapes_are_rejected(sa, sb, message):
    f32 = Float32Type()
    mod = make_module([sa, sb], lambda b, a: [a[0]])
    x, y = mod.ops.first.body.block.args
    with pytest.raises(ValueError, match=message):
        graph.MatMulOp(x, y)
    op = graph.MatMulOp.create(operands=[x, y], result_types=[TensorType(f32, [2, 2])])
    with pytest.raises(VerifyException, match=f"'graph.matmul' op {message}"):
        op.verify()


def test_bad_onnx_matmul_names_the_node():
    model, _ = matmul_model([((2, 3, 4), (2, 4, 5))])
    model.graph.input[1].type.tensor_type.shape.dim[0].dim_value = 3
    with pytest.raises(ONNXImportError, match=r"MatMul node 'mm0': .*do not broadcast"):
        import_onnx(model)


def test_reference_and_interpreters():
    """graph level (NumPy reference), tensor and loop level (interpreters), microkernel
    forced on, on a broadcast 4-D case and a 1-D one."""
    cases = [((2, 1, 3, 5), (3, 5, 4)), ((5,), (2, 5, 3))]
    for sa, sb in cases:
        a, b = rand(sa), rand(sb, 1)
        mod = make_module([sa, sb], lambda bld, v: [bld.insert(graph.MatMulOp(*v)).result])
        close(run_reference(mod, [a, b])[0], np.matmul(a, b))
        for stage in ("convert-graph-to-tensor", "tensor-fuse-elementwise"):
            run_pipeline(mod, stage, make_context())
            close(run_reference(mod, [a, b])[0], np.matmul(a, b))
        opts = {"microkernel-min-flops": 0}
        run_pipeline(mod, with_pass_options("convert-tensor-to-loop", "", opts), make_context())
        close(run_reference(mod, [a, b])[0], np.matmul(a, b))


# ------------------------------------------------------------------------- native


@pytest.mark.parametrize("pipeline", [DEFAULT_PIPELINE, FORCED], ids=["default", "forced"])
def test_every_rank_combination_native(pipeline):
    model, feeds = matmul_model(RANK_CASES)
    got = as_list(irforge.compile(model, pipeline=pipeline, num_threads=1)(*feeds))
    for y, a, b in zip(got, feeds[0::2], feeds[1::2], strict=True):
        close(y, np.matmul(a, b))


def test_constant_rhs_native():
    cases = [((2, 3, 7), (7, 5)), ((2, 1, 4, 8), (3, 8, 5)), ((3, 7), (2, 7, 5)), ((7,), (7, 5))]
    model, feeds = matmul_model(cases, const_rhs=True)
    got = as_list(irforge.compile(model, pipeline=FORCED, num_threads=1)(*feeds))
    for i, ((_, sb), y, a) in enumerate(zip(cases, got, feeds, strict=True)):
        close(y, np.matmul(a, rand(sb, 2 * i + 1)))


@pytest.mark.parametrize("threads", [1, 2])
def test_off_tile_shapes(threads):
    """Shapes off the MR x NR grid and KC = 256 (edge tiles, several K blocks), with the
    batch split across threads."""
    cases = [((2, 3, 37, 300), (3, 300, 45)), ((3, 41, 29), (29, 70)), ((2, 5, 19, 8), (8, 33))]
    model, feeds = matmul_model(cases)
    got = as_list(irforge.compile(model, pipeline=FORCED, num_threads=threads)(*feeds))
    for y, a, b in zip(got, feeds[0::2], feeds[1::2]):
        close(y, np.matmul(a, b), rtol=1e-4)


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("wasmtime", "ziglang")),
    reason="the wasm backend needs wasmtime and ziglang",
)
def test_wasm():
    cases = [((2, 1, 4, 8), (3, 8, 5)), ((2, 3, 21, 40), (2, 3, 40, 19)), ((3, 7), (7,))]
    model, feeds = matmul_model(cases)
    got = as_list(irforge.compile(model, target="wasm", pipeline=FORCED)(*feeds))
    for y, a, b in zip(got, feeds[0::2], feeds[1::2]):
        close(y, np.matmul(a, b), rtol=1e-4)


# ------------------------------------------------------------------------- ONNX models


def encoder_model(b=2, s=24, h=32, heads=4) -> tuple[onnx.ModelProto, np.ndarray]:
    """A self-attention block as torch exports it: 3-D projections x [H, H] weights plus
    bias, head split (Reshape, Transpose), Q K^T (4-D MatMul), Softmax, scores V (4-D
    MatMul), head merge, output projection."""
    d = h // heads
    w = {n: rand((h, h), i + 10) / np.float32(np.sqrt(h)) for i, n in enumerate("qkvo")}
    bias = {n: rand((h,), i + 20) for i, n in enumerate("qkvo")}
    inits = [numpy_helper.from_array(w[n], f"w{n}") for n in "qkvo"]
    inits += [numpy_helper.from_array(bias[n], f"b{n}") for n in "qkvo"]
    inits.append(numpy_helper.from_array(np.array([b, s, heads, d], np.int64), "split"))
    inits.append(numpy_helper.from_array(np.array([b, s, h], np.int64), "merge"))
    inits.append(numpy_helper.from_array(np.array(1 / np.sqrt(d), np.float32), "scale"))
    n = helper.make_node
    nodes = []
    for p in "qkv":
        nodes += [
            n("MatMul", ["x", f"w{p}"], [f"{p}0"]),
            n("Add", [f"{p}0", f"b{p}"], [f"{p}1"]),
            n("Reshape", [f"{p}1", "split"], [f"{p}2"]),
        ]
    nodes += [
        n("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3]),
        n("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v2"], ["v"], perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["s0"], name="scores"),
        n("Mul", ["s0", "scale"], ["s1"]),
        n("Softmax", ["s1"], ["p"], axis=-1),
        n("MatMul", ["p", "v"], ["c0"], name="context"),
        n("Transpose", ["c0"], ["c1"], perm=[0, 2, 1, 3]),
        n("Reshape", ["c1", "merge"], ["c2"]),
        n("MatMul", ["c2", "wo"], ["o0"]),
        n("Add", ["o0", "bo"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [b, s, h])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [b, s, h])],
        inits,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model, rand((b, s, h), 99)


@pytest.mark.parametrize("threads", [1, 2])
def test_attention_block_matches_onnxruntime(threads):
    model, x = encoder_model()
    want = expected(model, [x])[0]
    close(irforge.compile(model, num_threads=threads)(x), want, rtol=1e-4)


def test_3d_and_4d_matmuls_match_onnxruntime():
    cases = [((2, 16, 32), (32, 96)), ((1, 4, 16, 8), (1, 4, 8, 16)), ((1, 4, 16, 16), (4, 16, 8))]
    model, feeds = matmul_model(cases)
    want = expected(model, feeds)
    got = as_list(irforge.compile(model, num_threads=1)(*feeds))
    for y, w in zip(got, want):
        close(y, w, rtol=1e-4)


# ------------------------------------------------------------------------- microkernel


def test_batched_matmul_uses_the_microkernel():
    """[B, h, S, d] x [B, h, d, S]: the batch and head dims are outer loops around the
    GEMM macro loops, which call the packed microkernel (no scalar i, j, k nest)."""
    model, _ = matmul_model([((2, 4, 40, 16), (2, 4, 16, 40))])
    (con,) = contractions(model)
    assert con.outer == (0, 1) and con.rows == (2,) and con.cols == (3,) and con.red == (4,)
    assert (con.m, con.n, con.k) == (40, 40, 16)
    assert symbols(loop_module(model, DEFAULT_PIPELINE), "__sgemm")


def test_batch_is_the_parallel_loop():
    """At 2 threads the heads loop of [1, h, S, d] x [1, h, d, S] (8 iterations) runs on
    the threads, each head's GEMM serial inside (one parallel region per call)."""
    model, _ = matmul_model([((1, 8, 128, 64), (1, 8, 64, 128))])
    module = import_onnx(model)
    make_target("native", None, 2, DEFAULT_PIPELINE).attach(module)
    passes = DEFAULT_PIPELINE.split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("parallelize-loops"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    fns = {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}

    def calls_kernel(name: str) -> bool:
        return any(
            isinstance(op, func.CallOp) and op.callee.string_value().startswith("__sgemm")
            for op in fns[name].walk()
        )

    calls = [
        op for op in module.walk() if isinstance(op, func.CallOp) and PARALLEL in op.attributes
    ]
    gemm = [op for op in calls if calls_kernel(op.callee.string_value())]
    assert len(gemm) == 1  # (the output's zero fill may have a region of its own)
    lo, hi = (v.owner.value.value.data for v in gemm[0].arguments[-2:])
    assert (lo, hi) == (0, 8)


def test_rows_times_weights_collapse_into_m_and_pack_at_compile_time():
    """[B, S, H] x [H, N] with constant weights: b and s are one M = B * S of rows (no outer
    loop, no copy of the activation) and the weights are packed into a global once."""
    model, _ = matmul_model([((3, 50, 64), (64, 48))], const_rhs=True)
    (con,) = contractions(model)
    assert con.rows == (0, 1) and con.outer == () and (con.m, con.n, con.k) == (150, 48, 64)
    module = loop_module(model, DEFAULT_PIPELINE)
    assert symbols(module, "__sgemm") and symbols(module, "__packed_b")


def test_broadcast_batch_reads_through_the_maps():
    """[2, 1, 4, 8] x [3, 8, 5]: the lhs's size-1 batch dim and the rhs's missing one are
    read at index 0 / not read, so neither operand is copied to the broadcast shape."""
    model, _ = matmul_model([((2, 1, 4, 8), (3, 8, 5))])
    (con,) = contractions(model)
    a_map, b_map = (str(con.op.maps[i]) for i in (con.a.plain, con.b.plain))
    assert a_map == "(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)"
    assert b_map == "(d0, d1, d2, d3, d4) -> (d1, d4, d3)"
    assert con.outer == (0, 1) and con.rows == (2,)


def test_gemm_trans_b_packs_the_weights_at_compile_time():
    """Gemm(x, W, c, transB=1) on 2-D activations (GPT-2's dynamo export): the microkernel
    with W packed into a global."""
    x, w, c = rand((24, 64)), rand((96, 64), 1), rand((96,), 2)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1)
    g = helper.make_graph(
        [node],
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (24, 96))],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(c, "c")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    module = loop_module(model, DEFAULT_PIPELINE)
    assert symbols(module, "__sgemm") and symbols(module, "__packed_b")
    close(irforge.compile(model, num_threads=1)(x), x @ w.T + c, rtol=1e-4)


# ------------------------------------------------------------------------- graph passes


def test_nd_matmul_plus_bias_stays_a_matmul():
    """matmul_add_to_gemm and graph-fuse's folds make graph.gemm, which is 2-D: a 3-D
    matmul + bias keeps its matmul (and computes the right thing)."""
    x, w, c = rand((2, 5, 8)), rand((8, 6), 1), rand((6,), 2)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["t"]),
        helper.make_node("Add", ["t", "c"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "bias",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 5, 6))],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(c, "c")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    module = import_onnx(model)
    run_pipeline(module, "canonicalize,graph-fuse,canonicalize", make_context())
    names = [op.name for op in module.walk()]
    assert "graph.matmul" in names and "graph.gemm" not in names
    close(irforge.compile(model, num_threads=1)(x), x @ w + c)


def test_sibling_nd_matmuls_merge_along_the_last_axis():
    """graph-fuse merges Q, K, V projections of one [B, S, H] input into one matmul and
    slices its result along the last axis."""
    x = rand((2, 5, 8))
    ws = [rand((8, n), i + 1) for i, n in enumerate((6, 4, 6))]
    nodes = [helper.make_node("MatMul", ["x", f"w{i}"], [f"y{i}"]) for i in range(3)]
    g = helper.make_graph(
        nodes,
        "siblings",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [
            helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, (2, 5, w.shape[1]))
            for i, w in enumerate(ws)
        ],
        [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(ws)],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    module = import_onnx(model)
    run_pipeline(module, "graph-fuse", make_context())
    assert [op.name for op in module.walk()].count("graph.matmul") == 1
    got = as_list(irforge.compile(model, num_threads=1)(x))
    for y, w in zip(got, ws):
        close(y, x @ w)


# ------------------------------------------------------------------- register blocks

WIDE = with_pass_options(FORCED, "convert-tensor-to-loop", {"vector-bits": 512})
HAS_AVX512 = make_target().vector_bits >= 512


def test_avx512_matmul_takes_the_6x64_block():
    """With 16-lane vectors a matmul whose N is a multiple of 64 runs the 6 x 64 kernel
    (blocking.matmul_blocking); N = 48 keeps 8 x 32, as a convolution does."""
    model, _ = matmul_model([((1, 50, 64), (64, 128)), ((50, 64), (64, 48))], const_rhs=True)
    names = symbols(loop_module(model, WIDE), "__sgemm")
    assert any(n.startswith("__sgemm_6x64_v16") for n in names)
    assert any(n.startswith("__sgemm_8x32_v16") for n in names)


@pytest.mark.skipif(not HAS_AVX512, reason="the 6 x 64 block is for AVX-512 hosts")
@pytest.mark.parametrize("threads", [1, 2])
def test_6x64_block_edges_match_numpy(threads):
    """6 x 64 tiles off the grid: M mod 6 rows, K over two K blocks, batched and
    rows-times-weights forms, run-time and compile-time packed B."""
    cases = [((1, 53, 300), (300, 128)), ((2, 3, 13, 70), (2, 3, 70, 64))]
    model, feeds = matmul_model(cases)
    got = as_list(irforge.compile(model, pipeline=FORCED, num_threads=threads)(*feeds))
    for y, a, b in zip(got, feeds[0::2], feeds[1::2], strict=True):
        close(y, np.matmul(a, b), rtol=1e-5)


def test_packing_reads_a_fused_reshape_without_divisions():
    """tanh(reshape(x)) @ W, x [1, 12, 16]: the fused producer reads x through a map of
    the flat index, `((d0 * 16 + d1) floordiv 16) mod 12, (d0 * 16 + d1) mod 16`, which
    convert-tensor-to-loop simplifies for the domain's ranges before the microkernel
    lowering packs A. With the
    divisions left in (GPT-2's GELU before its second matmul), LLVM did not vectorize the
    packing loop and called libm's tanhf per element."""
    w = rand((16, 64), 1)
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["r"]),
        helper.make_node("Tanh", ["r"], ["t"]),
        helper.make_node("MatMul", ["t", "W"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 12, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [12, 64])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.array([12, 16]), "s")],
    )
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    mp.ir_version = 9
    module = loop_module(mp, DEFAULT_PIPELINE)
    x_reads = [op for op in module.walk() if isinstance(op, loop.LoadOp) and len(op.indices) == 3]
    assert x_reads
    for op in x_reads:
        for v in op.indices:
            assert v.owner.name not in ("arith.floordivsi", "arith.remsi"), op
    x = rand((1, 12, 16), 0)
    close(irforge.compile(mp, num_threads=1)(x), np.tanh(x.reshape(12, 16)) @ w)
