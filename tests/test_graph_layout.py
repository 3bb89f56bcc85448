"""The NCHW[x]c blocked layout: graph.pack / graph.unpack / graph.conv2d_nchwc
(dialects/graph/layout.py), the graph-convert-layout pass (passes/graph/graph_convert_layout.py) and
the direct-convolution microkernel (passes/tensor_to_loop/microkernel/direct_conv.py).

- the ops: shapes, verifier messages, NumPy references (pack / unpack round trip, the
  blocked convolution against graph.conv's reference), the generic text form round trip;
- the pass: on a ResNet-style block (stem on an RGB image, ReLU, max pool, sibling 1x1
  convolutions merged by graph-fuse into one conv and channel slices, residual add, global
  pool, Gemm) it leaves one pack and one unpack, and the graph's reference output is
  unchanged (rtol 1e-5); hypothesis over convolution geometries checks the same;
- the kernel: convolutions compiled natively with the layout on agree with ONNX Runtime
  (rtol 1e-4, atol 1e-4 times the result's scale) and used the direct kernel (`__sconv_`
  functions), over strides, dilation, padding, a 3-channel input, a batch, rows that do
  not divide into the register block, and no bias.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from xdsl.utils.exceptions import VerifyException

from irforge.api import make_context, parse, print_ir, run_pipeline
from irforge.dialects.graph_layout_reference import pack_array, pack_weights, unpack_array
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import import_onnx
from irforge.passes.infra.pipeline import with_pass_options, without_pass
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from tests.test_graph_nn import one_node, rand
from tests.test_microkernel import close, kernels_in, native, ort_run


def layout(block: int) -> str:
    """The default pipeline with channel block `block`, microkernels at any size."""
    pipe = with_pass_options(DEFAULT_PIPELINE, "graph-convert-layout", {"block": block})
    return with_pass_options(pipe, "convert-tensor-to-loop", {"microkernel-min-flops": 0})


def graph_ops(module) -> list[str]:
    return re.findall(r'"(graph\.[a-z0-9_]+)"', print_ir(module))


# ------------------------------------------------------------------------------ ops


def test_pack_unpack_round_trip():
    x = rand(2, 12, 3, 5)
    p = pack_array(x, 4)
    assert p.shape == (2, 3, 3, 5, 4)
    assert p[1, 2, 0, 3, 1] == x[1, 2 * 4 + 1, 0, 3]
    np.testing.assert_array_equal(unpack_array(p), x)


def test_pack_weights_layout():
    w = rand(8, 6, 3, 3)
    b = pack_weights(w, ci=3, co=4)
    assert b.shape == (2, 2, 3, 3, 3, 4)  # [M/co, C/ci, KH, KW, ci, co]
    assert b[1, 0, 2, 1, 2, 3] == w[1 * 4 + 3, 0 * 3 + 2, 2, 1]


BAD = {
    "pack block must divide C": (
        '%p = "graph.pack"(%x) <{block = 5 : i64}> : (tensor<1x8x4x4xf32>) '
        "-> tensor<1x1x4x4x5xf32>",
        "block 5 must be positive and divide the channel count 8",
    ),
    "conv weights must match the input blocks": (
        '%w = "graph.constant"() <{value = dense<1.0> : tensor<2x3x1x1x4x4xf32>}> : () '
        "-> tensor<2x3x1x1x4x4xf32>\n"
        '    %p = "graph.conv2d_nchwc"(%x5, %w) : (tensor<1x2x4x4x4xf32>, '
        "tensor<2x3x1x1x4x4xf32>) -> tensor<1x2x4x4x4xf32>",
        "do not match the input's channel blocks 2 x 4",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_verifier_messages(case):
    body, message = BAD[case]
    text = f"""
"builtin.module"() ({{
  "func.func"() <{{sym_name = "f", function_type = (tensor<1x8x4x4xf32>,
      tensor<1x2x4x4x4xf32>) -> ()}}> ({{
  ^bb0(%x: tensor<1x8x4x4xf32>, %x5: tensor<1x2x4x4x4xf32>):
    {body}
    "func.return"() : () -> ()
  }}) : () -> ()
}}) : () -> ()
"""
    with pytest.raises(Exception) as err:
        parse(text)
    assert message in str(err.value)


def test_conv2d_nchwc_verifier_bias_shape():
    from irforge.dialects.graph.layout import Conv2DNchwcOp
    from irforge.dialects.graph.nn import ConvOp

    model = conv_model((1, 8, 6, 6), (8, 8, 3, 3), pads=[1] * 4)[1]
    module = import_onnx(model)
    run_pipeline(module, "graph-convert-layout{block=4}", make_context())
    op = next(o for o in module.walk() if isinstance(o, Conv2DNchwcOp))
    assert not any(isinstance(o, ConvOp) for o in module.walk())
    op.verify()
    op.operands[2] = op.operands[0]  # a rank-5 value as the bias
    with pytest.raises(VerifyException, match="blocked like the output channels"):
        op.verify()


def test_text_round_trip():
    model = conv_model((1, 8, 6, 6), (8, 8, 3, 3), pads=[1] * 4)[1]
    module = import_onnx(model)
    run_pipeline(module, "graph-convert-layout{block=4}", make_context())
    text = print_ir(module)
    assert "graph.conv2d_nchwc" in text and "graph.pack" in text
    assert print_ir(parse(text)) == text


# --------------------------------------------------------------------------- the pass


def conv_model(xs, ws, bias=True, **attrs):
    x = rand(*xs)
    inits = {"w": rand(*ws, seed=1) * 0.2}
    if bias:
        inits["b"] = rand(ws[0], seed=2)
    return x, one_node("Conv", {"x": x}, inits, **attrs)


def resnet_block() -> tuple[np.ndarray, object]:
    """Stem (RGB, 7x7 s2) + ReLU + max pool, then a bottleneck whose shortcut and first
    1x1 conv read the same input (graph-fuse merges them into one conv and two slices),
    residual add, ReLU, global average pool, flatten, Gemm."""
    rng = np.random.default_rng(0)

    def init(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], strides=[2, 2], pads=[3] * 4),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Conv", ["p0", "ws", "bs"], ["short"]),
        helper.make_node("Conv", ["p0", "w1", "b1"], ["c1"]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1] * 4),
        helper.make_node("Add", ["c2", "short"], ["sum"]),
        helper.make_node("Relu", ["sum"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    inits = [
        init("w0", 16, 3, 7, 7),
        init("b0", 16),
        init("ws", 16, 16, 1, 1),
        init("bs", 16),
        init("w1", 8, 16, 1, 1),
        init("b1", 8),
        init("w2", 16, 8, 3, 3),
        init("b2", 16),
        init("wf", 10, 16),
        init("bf", 10),
    ]
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 40, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return rand(1, 3, 40, 40), model


def test_transforms_only_at_the_boundaries():
    x, model = resnet_block()
    module = import_onnx(model)
    run_pipeline(module, "canonicalize,graph-fuse", make_context())
    want = run_reference(module, [x])[0]
    assert graph_ops(module).count("graph.slice") == 2  # the merged sibling convs
    run_pipeline(module, "graph-convert-layout{block=8}", make_context())
    ops = graph_ops(module)
    assert ops.count("graph.pack") == 1 and ops.count("graph.unpack") == 1
    assert "graph.conv" not in ops and ops.count("graph.conv2d_nchwc") == 3
    # Everything between the stem and the global pool runs blocked.
    text = print_ir(module)
    for op in ("graph.relu", "graph.max_pool", "graph.add", "graph.slice"):
        assert re.search(rf'"{op}"\(.*: \(tensor<1x\d+x\d+x\d+x8xf32>', text), op
    np.testing.assert_allclose(run_reference(module, [x])[0], want, rtol=1e-5, atol=1e-6)


def test_resnet_block_compiled_matches_ort():
    x, model = resnet_block()
    assert any(k.startswith("__sconv") for k in kernels_in(model, layout(16), "__sconv"))
    close(native(model, x, pipeline=layout(16)), ort_run(model, {"x": x}))
    close(native(model, x, pipeline=layout(16), threads=2), ort_run(model, {"x": x}))


def test_channels_the_block_does_not_divide_stay_plain():
    x, model = conv_model((1, 16, 6, 6), (24, 16, 3, 3), pads=[1] * 4)
    module = import_onnx(model)
    run_pipeline(module, "graph-convert-layout{block=16}", make_context())
    assert graph_ops(module).count("graph.conv") == 1
    assert "graph.pack" not in graph_ops(module)


def test_a_cast_after_a_blocked_conv_stays_planar():
    """Regression (found by the program fuzzer): unpack sank below a graph.cast to i32 and
    the blocked cast was rebuilt with the f32 type of its operand, so the function
    returned f32 bits as int32. Only f32-to-f32 ops run blocked."""
    x, conv = conv_model((1, 8, 4, 4), (8, 8, 1, 1))
    g = conv.graph
    g.node.append(helper.make_node("Cast", ["y"], ["z"], to=TensorProto.INT32))
    g.output[0].CopyFrom(helper.make_tensor_value_info("z", TensorProto.INT32, [1, 8, 4, 4]))
    module = import_onnx(conv)
    run_pipeline(module, "graph-convert-layout{block=4}", make_context())
    module.verify()
    ops = graph_ops(module)
    assert "graph.conv2d_nchwc" in ops and ops.index("graph.unpack") < ops.index("graph.cast")
    want = ort_run(conv, {"x": x})
    got = native(conv, x, pipeline=layout(4))
    assert got.dtype == np.int32 and np.array_equal(got, want)


def test_depthwise_stays_plain():
    x, model = conv_model((1, 16, 6, 6), (16, 1, 3, 3), pads=[1] * 4, group=16)
    module = import_onnx(model)
    run_pipeline(module, "graph-convert-layout{block=8}", make_context())
    assert graph_ops(module).count("graph.conv") == 1


@settings(max_examples=30, deadline=None)
@given(
    c_in=st.sampled_from([3, 4, 8]),
    c_out=st.sampled_from([4, 8]),
    group=st.sampled_from([1, 2]),
    size=st.integers(5, 9),
    kernel=st.sampled_from([1, 2, 3]),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    pad=st.integers(0, 2),
    bias=st.booleans(),
)
def test_pass_keeps_reference_semantics(
    c_in, c_out, group, size, kernel, stride, dilation, pad, bias
):
    span = dilation * (kernel - 1) + 1
    if size + 2 * pad < span:
        return
    if group > 1:  # per group: c_in (4 or 8, so that a block of 4 fits) and c_out channels
        c_in = 4 if c_in == 3 else c_in
        c_in, c_out = c_in * group, c_out * group
    attrs = dict(strides=[stride] * 2, dilations=[dilation] * 2, pads=[pad] * 4, group=group)
    ws = (c_out, c_in // group, kernel, kernel)
    x, model = conv_model((1, c_in, size, size), ws, bias, **attrs)
    module = import_onnx(model)
    want = run_reference(module, [x])[0]
    run_pipeline(module, "graph-convert-layout{block=4}", make_context())
    assert "graph.conv2d_nchwc" in graph_ops(module)
    np.testing.assert_allclose(run_reference(module, [x])[0], want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------- the kernel

# (input shape, weight shape, attributes, channel block)
KERNEL_CASES = {
    "3x3_pad_two_blocks": ((1, 32, 10, 10), (32, 32, 3, 3), dict(pads=[1] * 4), 16),
    "rgb_7x7_stride2": ((1, 3, 30, 30), (32, 3, 7, 7), dict(strides=[2, 2], pads=[3] * 4), 32),
    "1x1_stride2": ((1, 32, 13, 13), (64, 32, 1, 1), dict(strides=[2, 2]), 32),
    "dilated": ((1, 16, 12, 12), (16, 16, 3, 3), dict(dilations=[2, 2], pads=[2] * 4), 16),
    "row_remainder": ((1, 16, 17, 17), (32, 16, 3, 3), dict(pads=[1] * 4), 32),
    "asymmetric_pads": ((1, 16, 9, 11), (32, 16, 2, 3), dict(pads=[1, 0, 0, 2]), 32),
    "batch2": ((2, 16, 9, 9), (32, 16, 3, 3), dict(pads=[1] * 4), 16),
    "two_groups": ((1, 64, 10, 10), (64, 32, 3, 3), dict(pads=[1] * 4, group=2), 16),
    # 48 input channels per group, block 32: input blocks of gcd(48, 32) = 16.
    "groups_of_48": ((1, 96, 9, 9), (64, 48, 3, 3), dict(pads=[1] * 4, group=2), 32),
}


@pytest.mark.parametrize("case", KERNEL_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_direct_conv_matches_ort(case, bias):
    xs, ws, attrs, block = KERNEL_CASES[case]
    x, model = conv_model(xs, ws, bias, **attrs)
    assert any(k.startswith("__sconv") for k in kernels_in(model, layout(block), "__sconv"))
    close(native(model, x, pipeline=layout(block)), ort_run(model, {"x": x}))


def test_wasm_default_pipeline_keeps_nchw():
    """WebAssembly's default is the native one without the layout change (measured slower
    in wasmtime: passes/infra/registry.py) and with vectorize-loops, spelled out in full; the two
    must not drift."""
    from irforge.passes.infra.registry import WASM_PIPELINE

    assert without_pass(WASM_PIPELINE, "vectorize-loops") == without_pass(
        DEFAULT_PIPELINE, "graph-convert-layout"
    )
    assert "vectorize-loops" in WASM_PIPELINE
    assert "graph-convert-layout" in DEFAULT_PIPELINE


# ---------------------------------------------------------------------- the epilogue


def chain_model(nodes, inits, c=32, hw=9):
    """A model on x [1, c, hw, hw] whose `nodes` compute t, then a 1x1 convolution of t
    gives y (so that t's last op is not fused into the final unpack)."""
    rng = np.random.default_rng(3)
    nodes = [*nodes, helper.make_node("Conv", ["t", "w_out"], ["y"])]
    inits = {**inits, "w_out": (c, c, 1, 1)}
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, hw, hw])],
        [
            numpy_helper.from_array((rng.standard_normal(s) * 0.2).astype(np.float32), n)
            for n, s in inits.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return rand(1, c, hw, hw), model


def epilogues(model, block: int = 16) -> list[str]:
    return [
        k for k in kernels_in(model, layout(block), "__sconv") if re.search(r"_e[0-9a-f]{10}$", k)
    ]


W3 = {"w": (32, 32, 3, 3), "b": (32,)}


def test_relu_runs_in_the_kernel():
    x, model = chain_model(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1] * 4),
            helper.make_node("Relu", ["c"], ["t"]),
        ],
        W3,
    )
    assert epilogues(model)
    close(native(model, x, pipeline=layout(16)), ort_run(model, {"x": x}))


def test_residual_add_and_relu_run_in_the_kernel():
    # The residual r0 is defined before the second convolution: one extra kernel operand.
    x, model = chain_model(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c0"], pads=[1] * 4),
            helper.make_node("Relu", ["c0"], ["r0"]),
            helper.make_node("Conv", ["r0", "w2", "b"], ["c"], pads=[1] * 4),
            helper.make_node("Add", ["r0", "c"], ["s"]),
            helper.make_node("Relu", ["s"], ["t"]),
        ],
        {**W3, "w2": (32, 32, 3, 3)},
    )
    assert len(epilogues(model)) == 2
    want = ort_run(model, {"x": x})
    close(native(model, x, pipeline=layout(16)), want)
    close(native(model, x, pipeline=layout(16), threads=2), want)


def test_no_epilogue_when_the_result_has_two_users_or_a_later_operand():
    # c1 feeds the relu and the add: no epilogue for it. The add reads c2, computed after
    # c1's convolution, so it can only run in c2's kernel (whose other operand, r, exists).
    x, model = chain_model(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c1"], pads=[1] * 4),
            helper.make_node("Relu", ["c1"], ["r"]),
            helper.make_node("Conv", ["r", "w2"], ["c2"]),
            helper.make_node("Add", ["c1", "c2"], ["t"]),
        ],
        {**W3, "w2": (32, 32, 1, 1)},
    )
    names = kernels_in(model, layout(16), "__sconv")
    assert len(names) == 3 and len(epilogues(model)) == 1
    close(native(model, x, pipeline=layout(16)), ort_run(model, {"x": x}))


# ------------------------------------------------------- pack / unpack as transposes


def pack_unpack_module(shape, block: int):
    """@main(x planar) -> (pack(x), unpack(pack(x))) as graph IR."""
    n, c, *sp = shape
    dims = "x".join(str(d) for d in sp)
    plain = f"tensor<{n}x{c}x{dims}xf32>"
    blocked = f"tensor<{n}x{c // block}x{dims}x{block}xf32>"
    text = f""""builtin.module"() ({{
  "func.func"() <{{sym_name = "main", function_type = ({plain}) -> ({blocked}, {plain})}}> ({{
  ^bb0(%x: {plain}):
    %p = "graph.pack"(%x) <{{block = {block} : i64}}> : ({plain}) -> {blocked}
    %u = "graph.unpack"(%p) : ({blocked}) -> {plain}
    "func.return"(%p, %u) : ({blocked}, {plain}) -> ()
  }}) : () -> ()
}}) : () -> ()"""
    return parse(text)


def shuffles(module) -> int:
    return print_ir(module).count("vector.shuffle")


# (shape, block, vector bits): positions P = prod(spatial) a multiple of the lanes or
# not (the last tile overlaps), a batch, 1-D and 3-D spatial dims, 4/8/16 lanes, blocks of
# one and of two vectors (the default block is two).
TRANSPOSE_CASES = {
    "p_multiple": ((1, 32, 8, 8), 16, 512),
    "p_overlap": ((2, 32, 7, 7), 16, 512),
    "p_equals_lanes": ((1, 16, 4, 4), 16, 512),
    "two_vector_block": ((1, 64, 5, 5), 32, 512),
    "1d_lanes4": ((1, 8, 10), 4, 128),
    "1d_lanes4_block8": ((1, 16, 6), 8, 128),
    "3d_lanes8": ((1, 16, 3, 2, 5), 8, 256),
}


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_pack_unpack_transposes_match_the_reference(case):
    """The loop-level IR (run by the reference interpreter, vector.shuffle lane by lane)
    and native code both give exactly pack_array / the input back."""
    shape, block, bits = TRANSPOSE_CASES[case]
    x = rand(*shape)
    module = pack_unpack_module(shape, block)
    stop = f"canonicalize,convert-graph-to-tensor,convert-tensor-to-loop{{vector-bits={bits}}}"
    run_pipeline(module, stop, make_context())
    lanes = bits // 32
    per_transpose = lanes * (lanes.bit_length() - 1)
    assert shuffles(module) == 2 * (block // lanes) * per_transpose  # pack and unpack
    packed, back = run_reference(module, [x])
    np.testing.assert_array_equal(packed, pack_array(x, block))
    np.testing.assert_array_equal(back, x)
    if bits == 512:
        import irforge

        got_p, got_u = irforge.compile(pack_unpack_module(shape, block), num_threads=2)(x)
        np.testing.assert_array_equal(got_p, pack_array(x, block))
        np.testing.assert_array_equal(got_u, x)


def test_pack_unpack_stay_loops_when_the_transpose_does_not_apply():
    """Fewer positions than lanes (2x2 < 16), or a block that is not a multiple of the
    vector width (8 < 16): the copy loops, still exact."""
    for shape, block in (((1, 32, 2, 2), 16), ((1, 16, 6, 6), 8)):
        x = rand(*shape)
        module = pack_unpack_module(shape, block)
        run_pipeline(
            module, "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop", make_context()
        )
        assert shuffles(module) == 0
        packed, back = run_reference(module, [x])
        np.testing.assert_array_equal(packed, pack_array(x, block))
        np.testing.assert_array_equal(back, x)
