"""Contractions lowered to packed GEMM microkernels (passes/tensor_to_loop/microkernel).

Every case is an ONNX model compiled natively with the microkernel path forced on
(`convert-tensor-to-loop{microkernel-min-flops=0}`) and compared with NumPy or ONNX
Runtime (rtol 1e-4, atol 1e-4 times the scale of the result: sums of up to ~1000 f32
products, reassociated by the blocking). Shapes are chosen off the MR x NR = 8 x 32 grid
and off the KC = 256 blocking, so edge tiles, zero-padded panels and several K blocks run.
A few tiny cases also run through the loop interpreter (the kernel's vector ops and
`loop.reshape` included).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import irforge
from irforge.api import make_context, run_pipeline
from irforge.dialects.reference import run_reference
from irforge.dialects.tensor import GenericOp
from irforge.frontends.onnx import import_onnx
from irforge.passes.infra.pipeline import with_pass_options, without_pass
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from irforge.passes.tensor_to_loop.microkernel.contraction import match_contraction
from tests.test_graph_nn import one_node, rand

# Convolutions stay NCHW here (the GEMM path); test_graph_layout.py tests the blocked layout.
NCHW = without_pass(DEFAULT_PIPELINE, "graph-convert-layout")
FORCED = with_pass_options(NCHW, "convert-tensor-to-loop", {"microkernel-min-flops": 0})
OFF = with_pass_options(NCHW, "convert-tensor-to-loop", {"microkernels": False})


def close(got: np.ndarray, want: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale)


def kernels_in(model, pipeline: str = FORCED, prefix: str = "__sgemm") -> list[str]:
    """Names of the microkernel functions (`prefix`: `__sgemm` GEMM kernels, `__sconv`
    direct convolutions) the pipeline (up to the loop level) made."""
    module = import_onnx(model)
    passes = pipeline.split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("convert-tensor-to-loop"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    return [op.sym_name.data for op in module.ops if op.sym_name.data.startswith(prefix)]


def native(model, *inputs: np.ndarray, pipeline: str = FORCED, threads: int = 1):
    return irforge.compile(model, pipeline=pipeline, num_threads=threads)(*inputs)


def ort_run(model, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString()).run(None, inputs)[0]


# ------------------------------------------------------------------------- detection


def _generics(model) -> list[GenericOp]:
    module = import_onnx(model)
    run_pipeline(module, "canonicalize,convert-graph-to-tensor", make_context())
    return [op for op in module.walk() if isinstance(op, GenericOp)]


def test_matmul_classification():
    model = one_node("MatMul", {"a": rand(5, 7), "b": rand(7, 9)})
    (con,) = [c for c in map(match_contraction, _generics(model)) if c is not None]
    assert (con.m, con.n, con.k) == (5, 9, 7)
    assert con.a.plain == 0 and con.b.plain == 1  # B carries the output's last dim
    assert con.cols == (1,) and con.row == 0 and con.red == (2,) and con.outer == ()


def test_conv_classification():
    model = one_node("Conv", {"x": rand(2, 3, 8, 8)}, {"w": rand(4, 3, 3, 3)}, pads=[1] * 4)
    (con,) = [c for c in map(match_contraction, _generics(model)) if c is not None]
    # domain (n, f, oh, ow, c, kh, kw): the input is the vector side, columns (oh, ow).
    assert con.b.plain == 0 and con.a.plain == 1
    assert con.cols == (2, 3) and con.row == 1 and con.outer == (0,) and con.red == (4, 5, 6)
    assert (con.m, con.n, con.k) == (4, 64, 27)


def test_non_contractions_are_left_alone():
    relu = one_node("Relu", {"x": rand(4, 8)})
    pool = one_node("MaxPool", {"x": rand(1, 2, 6, 6)}, kernel_shape=[2, 2])
    for model in (relu, pool):
        assert all(match_contraction(g) is None for g in _generics(model))


def test_single_row_gemm():
    # M = 1 (a classifier at batch 1) above the size threshold takes the kernel path.
    a, b, c = rand(1, 1500), rand(1000, 1500, seed=1), rand(1000, seed=2)
    model = one_node("Gemm", {"a": a}, {"b": b, "c": c}, transB=1)
    assert kernels_in(model, DEFAULT_PIPELINE)
    close(native(model, a), a @ b.T + c)


def test_small_contractions_keep_the_loop_nest():
    model = one_node("MatMul", {"a": rand(1, 64)}, {"b": rand(64, 10)})
    assert kernels_in(model, DEFAULT_PIPELINE) == []
    assert kernels_in(model, OFF) == []
    big = one_node("MatMul", {"a": rand(64, 64)}, {"b": rand(64, 64)})
    assert kernels_in(big, FORCED)


# ------------------------------------------------------------------------- matmul


@settings(max_examples=6, deadline=None)
@given(
    m=st.integers(2, 40),
    n=st.integers(1, 80),
    k=st.integers(1, 300),
    b_const=st.booleans(),
)
def test_matmul_random_shapes(m, n, k, b_const):
    a, b = rand(m, k), rand(k, n, seed=1)
    if b_const:
        model = one_node("MatMul", {"a": a}, {"b": b})
        got = native(model, a)
    else:
        model = one_node("MatMul", {"a": a, "b": b})
        got = native(model, a, b)
    close(got, a @ b)


def test_matmul_several_cache_blocks():
    # K = 600 > KC and N = 300 > two NR panels per block, M = 270 > MC: every macro loop
    # takes several trips, with edges in M and N.
    a, b = rand(270, 600), rand(600, 300, seed=1)
    model = one_node("MatMul", {"a": a, "b": b})
    assert kernels_in(model)
    close(native(model, a, b), a @ b)
    close(native(model, a, b, threads=2), a @ b)


def test_matmul_paths_agree():
    a, b = rand(33, 65), rand(65, 47, seed=1)
    model = one_node("MatMul", {"a": a}, {"b": b})
    close(native(model, a), native(model, a, pipeline=OFF))


def _batched_matmul_module(batch: int, m: int, n: int, k: int):
    """Tensor-level `main(a[b,m,k], b[b,k,n]) -> a @ b` (the ONNX importer has 2-D MatMul
    only): a zero fill and one generic over (b, m, n, k)."""
    from xdsl.builder import Builder
    from xdsl.dialects import arith
    from xdsl.ir.affine import AffineExpr, AffineMap

    from irforge.dialects.tensor import PARALLEL, REDUCTION, build_generic
    from irforge.passes.graph_to_tensor.base import fill
    from tests.test_lowering import make_module, tensor

    d = [AffineExpr.dimension(i) for i in range(4)]
    maps = [AffineMap(4, 0, (d[0], d[1], d[3])), AffineMap(4, 0, (d[0], d[3], d[2]))]
    maps.append(AffineMap(4, 0, (d[0], d[1], d[2])))

    def body(b: Builder, args):
        ops = []
        acc = fill(ops, tensor(batch, m, n), 0.0)
        for op in ops:
            b.insert(op)

        def mul_add(bb: Builder, s):
            prod = bb.insert(arith.MulfOp(s[0], s[1])).result
            return [bb.insert(arith.AddfOp(s[2], prod)).result]

        iters = [PARALLEL] * 3 + [REDUCTION]
        return [b.insert(build_generic(list(args), [acc], maps, iters, mul_add)).res[0]]

    return make_module([(batch, m, k), (batch, k, n)], body)


def test_batched_matmul():
    from irforge.backends.llvm import compile_module

    a, b = rand(3, 20, 30), rand(3, 30, 50, seed=1)
    module = _batched_matmul_module(3, 20, 50, 30)
    ctx = make_context()
    run_pipeline(module, "convert-tensor-to-loop{microkernel-min-flops=0}", ctx)
    assert any(op.sym_name.data.startswith("__sgemm") for op in module.ops)
    run_pipeline(module, "outline-loop-nests,convert-loop-to-llvm", ctx)
    fn = compile_module(
        module,
        inputs=[("a", a.shape, np.float32), ("b", b.shape, np.float32)],
        outputs=[("y", (3, 20, 50), np.float32)],
    )
    close(fn(a, b), a @ b)


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm_transposes_and_bias(trans_a, trans_b):
    m, n, k = 19, 45, 70
    a = rand(k, m) if trans_a else rand(m, k)
    b = rand(n, k, seed=1) if trans_b else rand(k, n, seed=1)
    c = rand(n, seed=2)
    model = one_node("Gemm", {"a": a}, {"b": b, "c": c}, transA=trans_a, transB=trans_b, alpha=1.0)
    assert kernels_in(model)
    close(native(model, a), ort_run(model, {"a": a}))


def test_vector_width_4():
    a, b = rand(21, 37), rand(37, 29, seed=1)
    model = one_node("MatMul", {"a": a, "b": b})
    pipeline = with_pass_options(FORCED, "convert-tensor-to-loop", {"vector-bits": 128})
    names = kernels_in(model, pipeline)
    assert names and all(n.startswith("__sgemm_4x16_v4_") for n in names), names
    close(native(model, a, b, pipeline=pipeline), a @ b)


# ------------------------------------------------------------------------- convolution

CONV_CASES = {
    "3x3_pad_bias": ((1, 16, 13, 11), (24, 16, 3, 3), True, dict(pads=[1] * 4)),
    "1x1": ((1, 40, 9, 9), (20, 40, 1, 1), True, {}),
    "stride2_batch2": ((2, 5, 15, 17), (9, 5, 3, 3), True, dict(strides=[2, 2], pads=[1] * 4)),
    "asym_pads_dilations": (
        (1, 6, 14, 15),
        (11, 6, 3, 2),
        False,
        dict(strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2]),
    ),
    "stem_7x7_s2": ((1, 3, 40, 40), (16, 3, 7, 7), True, dict(strides=[2, 2], pads=[3] * 4)),
    # Groups: the group is an outer dim of the contraction (passes/graph_to_tensor/nn.py).
    "groups_4_1x1": ((1, 24, 9, 9), (36, 6, 1, 1), True, dict(group=4)),
    "groups_2_3x3_s2_batch2": (
        (2, 10, 11, 11),
        (14, 5, 3, 3),
        False,
        dict(group=2, strides=[2, 2], pads=[1] * 4),
    ),
}


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv(case):
    xs, ws, bias, attrs = CONV_CASES[case]
    x = rand(*xs)
    inits = {"w": rand(*ws, seed=1)}
    if bias:
        inits["b"] = rand(ws[0], seed=2)
    model = one_node("Conv", {"x": x}, inits, **attrs)
    assert kernels_in(model)
    close(native(model, x), ort_run(model, {"x": x}))


def test_conv_two_threads_split_rows():
    # 49 output columns: one jc block, so the threads split the output channels (the ic
    # loop), each with its own edge tile.
    x = rand(1, 32, 7, 7)
    model = one_node(
        "Conv", {"x": x}, {"w": rand(72, 32, 3, 3, seed=1), "b": rand(72, seed=2)}, pads=[1] * 4
    )
    want = ort_run(model, {"x": x})
    close(native(model, x, threads=2), want)
    close(native(model, x, threads=1), want)


@settings(max_examples=4, deadline=None)
@given(
    c=st.integers(1, 9),
    f=st.integers(2, 19),
    hw=st.integers(3, 12),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
)
def test_conv_random_shapes(c, f, hw, kernel, stride, pad):
    x = rand(1, c, hw, hw)
    model = one_node(
        "Conv",
        {"x": x},
        {"w": rand(f, c, kernel, kernel, seed=1), "b": rand(f, seed=2)},
        strides=[stride, stride],
        pads=[pad] * 4,
    )
    close(native(model, x), ort_run(model, {"x": x}))


def test_conv_with_runtime_weights():
    # Weights as a graph input: the broadcast side is packed at run time too.
    x, w = rand(1, 7, 10, 10), rand(12, 7, 3, 3, seed=1)
    model = one_node("Conv", {"x": x, "w": w}, pads=[1] * 4)
    close(native(model, x, w), ort_run(model, {"x": x, "w": w}))


def test_fused_prologue_on_the_input():
    # BatchNorm + Relu feeding a 1x1 conv: tensor-fuse-elementwise puts them in the conv's
    # body, and packing evaluates them once per packed element.
    from onnx import TensorProto, helper, numpy_helper

    x = rand(1, 8, 6, 6)
    params = {
        "s": np.linspace(0.5, 1.5, 8, dtype=np.float32),
        "t": rand(8, seed=3),
        "mu": rand(8, seed=4),
        "var": np.linspace(0.5, 2.0, 8, dtype=np.float32),
        "w": rand(16, 8, 1, 1, seed=5),
    }
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "t", "mu", "var"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("Conv", ["r", "w"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "bn_relu_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
        [numpy_helper.from_array(v, k) for k, v in params.items()],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    assert kernels_in(model)
    close(native(model, x), ort_run(model, {"x": x}))


# ------------------------------------------------------------------------- interpreter


def test_loop_level_interpreter_runs_the_kernel():
    a, b = rand(9, 6), rand(6, 35, seed=1)
    model = one_node("MatMul", {"a": a}, {"b": b})
    module = import_onnx(model)
    stop = "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop{microkernel-min-flops=0}"
    run_pipeline(module, stop, make_context())
    assert any(op.sym_name.data.startswith("__sgemm") for op in module.ops)
    (got,) = run_reference(module, [a])
    close(got, a @ b)


def test_runtime_convolution_inputs_pack_through_a_column_table():
    """A convolution's runtime input is packed by an offset table per output column
    (`__im2col_*`, built from the linear forms of its indexing map: `_linear`), not by
    dividing each column into (oh, ow): with padding and with stride 2. If the linear forms
    were lost, packing would fall back to the division path, still correct but slower."""
    padded = one_node("Conv", {"x": rand(1, 3, 10, 10)}, {"w": rand(8, 3, 3, 3)}, pads=[1] * 4)
    strided = one_node("Conv", {"x": rand(1, 3, 11, 11)}, {"w": rand(8, 3, 3, 3)}, strides=[2, 2])
    for model in (padded, strided):
        assert kernels_in(model, FORCED, prefix="__im2col") == ["__im2col_0"]


def test_sliced_input_fused_into_the_convolution():
    """Slice -> Conv: the slice fuses into the input's indexing map as constant offsets
    (`d2 + d5 + 1`, `d3 + d6 + 2`), which the column table of the packing (`_linear`'s
    constant part) must add to every element's offset."""
    from onnx import TensorProto, helper, numpy_helper

    x, w = rand(1, 3, 12, 12), rand(8, 3, 3, 3, seed=1)
    starts = {"st": [1, 2], "en": [11, 12], "ax": [2, 3]}
    inits = [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in starts.items()]
    g = helper.make_graph(
        [
            helper.make_node("Slice", ["x", "st", "en", "ax"], ["xs"]),
            helper.make_node("Conv", ["xs", "w"], ["y"]),
        ],
        "slice_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])],
        [numpy_helper.from_array(w, "w"), *inits],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    assert kernels_in(model, FORCED, prefix="__im2col") == ["__im2col_0"]
    close(native(model, x), ort_run(model, {"x": x}))


def test_only_the_column_block_loop_is_parallel():
    """The macro nest's column-block loop (jc), which calls the kernels, is parallel; no
    loop inside a loop is (packing and the K loop carry dependences; threads split jc)."""
    from xdsl.dialects import func

    from irforge.dialects import loop

    module = import_onnx(one_node("MatMul", {"a": rand(40, 50), "b": rand(50, 70, seed=1)}))
    passes = FORCED.split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("convert-tensor-to-loop"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    (main,) = [f for f in funcs if f.sym_name.data == "main"]
    parallel = [op for op in main.walk() if isinstance(op, loop.ForOp) and op.parallel]
    assert any(isinstance(op, func.CallOp) for p in parallel for op in p.walk())
    for p in parallel:
        assert not isinstance(p.parent_op(), loop.ForOp)
