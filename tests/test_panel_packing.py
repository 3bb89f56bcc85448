"""convert-tensor-to-loop{panel-packing}: a 1x1 convolution (or matmul) with compile-time
weights, one row block and a big KC x NC block of B packs B one NR panel at a time, right
before the kernels that use it (passes/tensor_to_loop/microkernel/lower.py). Compared with ONNX
Runtime (rtol 1e-4, atol 1e-4 times the scale) and with `panel-packing=false`; the packing
scratch size shows which way was taken.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from irforge.api import make_context, run_pipeline
from irforge.dialects import loop
from irforge.frontends.onnx import import_onnx
from irforge.passes.infra.pipeline import with_pass_options
from tests.test_graph_nn import one_node, rand
from tests.test_microkernel import NCHW, close, native, ort_run


def pipeline(on: bool) -> str:
    return with_pass_options(NCHW, "convert-tensor-to-loop", {"panel-packing": on})


def largest_alloc(model, on: bool) -> int:
    """Elements of the largest buffer the loop-level lowering allocates."""
    module = import_onnx(model)
    passes = pipeline(on).split(",")
    last = next(i for i, p in enumerate(passes) if p.startswith("convert-tensor-to-loop"))
    run_pipeline(module, ",".join(passes[: last + 1]), make_context())
    sizes = [
        int(np.prod(op.results[0].type.get_shape()))
        for op in module.walk()
        if isinstance(op, loop.AllocOp)
    ]
    return max(sizes)


@pytest.mark.parametrize("threads", [1, 2])
def test_1x1_conv_with_partial_panel(threads):
    # N = 40 * 41 = 1640 columns (not a multiple of 32), K = 300 (two K blocks, the
    # second not a multiple of the unroll factor), 56 output channels (an edge row panel).
    x = rand(1, 300, 40, 41)
    inits = {"w": rand(56, 300, 1, 1, seed=1), "b": rand(56, seed=2)}
    model = one_node("Conv", {"x": x}, inits)
    # per panel: KC x NR per column block; otherwise KC x NC
    assert largest_alloc(model, True) < 300 * 56 < largest_alloc(model, False)
    want = ort_run(model, {"x": x})
    got = native(model, x, pipeline=pipeline(True), threads=threads)
    close(got, want)
    np.testing.assert_array_equal(got, native(model, x, pipeline=pipeline(False)))


def test_relu_prologue_on_the_input():
    # Relu feeding a 1x1 conv is fused into its input: evaluated while packing a panel.
    x = rand(1, 64, 48, 48)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Conv", ["r", "w"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "relu_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
        [numpy_helper.from_array(rand(64, 64, 1, 1, seed=3), "w")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    close(native(model, x, pipeline=pipeline(True)), ort_run(model, {"x": x}))
