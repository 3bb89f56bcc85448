"""The gathers (graph.gather, graph.gather_elements, graph.gather_nd) end to end.

Each case is a small ONNX model whose data and indices are both graph inputs (indices
computed at run time). irforge imports it; the graph-level NumPy reference, the tensor and
loop interpreters, native code and (a subset) wasm must all equal ONNX Runtime's result
exactly (a gather only moves data). Indices out of range, which ONNX Runtime rejects, are
clamped (dialects/graph/gather.py): there the oracle is NumPy with clamped indices. Then:
an embedding model against ONNX Runtime, GatherND as the torch dynamo exporter emits it,
the loop passes on data-dependent loads, and the import errors.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.dialects import graph, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx
from irforge.passes.infra.manager import run_pass_pipeline

STAGES = ["convert-graph-to-tensor", "tensor-fuse-elementwise", "convert-tensor-to-loop"]
HAS_WASM = all(importlib.util.find_spec(m) is not None for m in ("wasmtime", "ziglang"))


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(np.float32)


def ints(low: int, high: int, shape, dtype=np.int64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


def io(name: str, a: np.ndarray, shape=None):
    elem = helper.np_dtype_to_tensor_dtype(a.dtype)
    return helper.make_tensor_value_info(name, elem, a.shape if shape is None else shape)


def gather_model(op_type: str, data: np.ndarray, indices: np.ndarray, opset=13, **attrs):
    """`op_type(data, indices)` with both as graph inputs; the output shape by ONNX's
    shape inference."""
    node = helper.make_node(op_type, ["data", "indices"], ["y"], name="g", **attrs)
    out = helper.make_tensor_value_info("y", helper.np_dtype_to_tensor_dtype(data.dtype), None)
    g = helper.make_graph([node], "gather_test", [io("data", data), io("indices", indices)], [out])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model)


def run_stages(model: onnx.ModelProto, inputs: list[np.ndarray]) -> np.ndarray:
    """The graph-level reference result, checked equal after each lowering stage (the
    tensor and loop interpreters)."""
    module = import_onnx(model)
    (want,) = run_reference(module, inputs)
    ctx = make_dialect_context()
    for stage in STAGES:
        run_pass_pipeline(module, stage, ctx)
        (got,) = run_reference(module, inputs)
        np.testing.assert_array_equal(got, want, err_msg=stage)
    return want


def check(model: onnx.ModelProto, inputs: list[np.ndarray], want=None, wasm=False) -> None:
    """Every level, native code (and wasm) equal `want` (default: ONNX Runtime's)."""
    if want is None:
        feeds = {"data": inputs[0], "indices": inputs[1]}
        (want,) = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    got = run_stages(model, inputs)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(irforge.compile(model)(*inputs), want)
    if wasm and HAS_WASM:
        np.testing.assert_array_equal(irforge.compile(model, target="wasm")(*inputs), want)


# ------------------------------------------------------------------------------- Gather

GATHER = {
    # name: (data, indices, axis)
    "rank1_scalar_index": (rand(7), np.array(-2, np.int64), 0),
    "rank2_axis0_2d_indices": (rand(9, 5), ints(-9, 9, (2, 3)), 0),
    "rank2_axis1_int32": (rand(4, 6), ints(-6, 6, (5,), np.int32), 1),
    "rank3_axis1": (rand(2, 5, 3), ints(-5, 5, (2, 2)), 1),
    "rank3_axis_last": (rand(2, 3, 8), ints(-8, 8, (4,), np.int32), -1),
    "int64_data": (ints(-100, 100, (6, 4), seed=3), ints(-6, 6, (3,)), 0),
    "int32_data": (ints(-100, 100, (6, 4), np.int32, seed=4), ints(-4, 4, (2, 2)), 1),
    "bool_data": (ints(0, 2, (5, 3), seed=5).astype(bool), ints(-5, 5, (4,)), 0),
}


@pytest.mark.parametrize("case", GATHER)
def test_gather_matches_onnxruntime(case):
    data, indices, axis = GATHER[case]
    check(gather_model("Gather", data, indices, axis=axis), [data, indices], wasm=True)


def test_gather_out_of_range_indices_are_clamped():
    data = rand(5, 4)
    indices = np.array([[7, -6], [100, -100], [4, -5]], np.int64)
    want = data[[[4, 0], [4, 0], [4, 0]]]
    check(gather_model("Gather", data, indices, axis=0), [data, indices], want, wasm=True)


# ----------------------------------------------------------------------- GatherElements

ELEMENTS = {
    "rank1": (rand(6), ints(-6, 6, (4,)), 0),
    "rank2_axis0": (rand(4, 3), ints(-4, 4, (5, 3)), 0),
    "rank2_axis1_smaller_indices": (rand(4, 6), ints(-6, 6, (3, 2), np.int32), 1),
    "rank3_axis_last": (rand(2, 3, 5), ints(-5, 5, (2, 3, 7)), -1),
    "int64_data": (ints(-9, 9, (3, 4), seed=1), ints(-3, 3, (2, 4)), 0),
}


@pytest.mark.parametrize("case", ELEMENTS)
def test_gather_elements_matches_onnxruntime(case):
    data, indices, axis = ELEMENTS[case]
    check(gather_model("GatherElements", data, indices, axis=axis), [data, indices], wasm=True)


def test_gather_elements_out_of_range_indices_are_clamped():
    data = rand(3, 4)
    indices = np.array([[5, -9], [-1, 3]], np.int64)
    want = np.array([[data[0, 3], data[0, 0]], [data[1, 3], data[1, 3]]])
    model = gather_model("GatherElements", data, indices, axis=1)
    check(model, [data, indices], want, wasm=True)


# ----------------------------------------------------------------------------- GatherND

ND = {
    # name: (data, indices, batch_dims)
    "k1": (rand(4, 3), ints(-4, 4, (2, 1)), 0),
    "k2_full_coordinates": (rand(4, 3), np.array([[0, -1], [3, 1], [-4, 2]], np.int64), 0),
    "k1_rank3_slices": (rand(3, 2, 5), ints(-3, 3, (2, 2, 1)), 0),
    "batch1": (rand(2, 5, 3), ints(-5, 5, (2, 4, 1)), 1),
    "batch2_k1": (rand(2, 3, 4, 2), ints(-4, 4, (2, 3, 1)), 2),
    "int64_data": (ints(-9, 9, (3, 4), seed=2), ints(-3, 3, (5, 2)), 0),
}


@pytest.mark.parametrize("case", ND)
def test_gather_nd_matches_onnxruntime(case):
    data, indices, batch_dims = ND[case]
    model = gather_model("GatherND", data, indices, batch_dims=batch_dims)
    check(model, [data, indices], wasm=True)


def test_gather_nd_out_of_range_indices_are_clamped():
    data = rand(3, 4)
    indices = np.array([[3, 4], [-4, -5], [1, 2]], np.int64)
    want = np.array([data[2, 3], data[0, 0], data[1, 2]])
    check(gather_model("GatherND", data, indices), [data, indices], want, wasm=True)


def test_gather_nd_as_the_dynamo_exporter_emits_it():
    """torch's dynamo exporter gathers an attention-mask row with GatherND: bool data
    [1, 16], constant int64 indices [1, 1, 1, 16, 2] of (batch, position) pairs,
    batch_dims 0 -> bool [1, 1, 1, 16]."""
    mask = ints(0, 2, (1, 16), seed=7).astype(bool)
    pairs = np.stack([np.zeros(16, np.int64), np.arange(16)[::-1]], axis=-1)
    pairs = pairs.reshape(1, 1, 1, 16, 2)
    node = helper.make_node("GatherND", ["mask", "pairs"], ["y"], name="nd", batch_dims=0)
    g = helper.make_graph(
        [node],
        "dynamo_gather_nd",
        [io("mask", mask)],
        [helper.make_tensor_value_info("y", TensorProto.BOOL, [1, 1, 1, 16])],
        [numpy_helper.from_array(pairs, "pairs")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"mask": mask})
    module = import_onnx(model)
    assert [o.name for o in module.walk() if isinstance(o, graph.GatherNDOp)] == ["graph.gather_nd"]
    np.testing.assert_array_equal(irforge.compile(model)(mask), want)
    if HAS_WASM:
        np.testing.assert_array_equal(irforge.compile(model, target="wasm")(mask), want)


# ----------------------------------------------------------------------------- embedding


def embedding_model(vocab: int, hidden: int, seq: int) -> onnx.ModelProto:
    """BERT's embeddings: word table [V, H] gathered by int64 input_ids [1, S], plus a
    position table [S, H] gathered by constant positions (known at import: slices)."""
    rng = np.random.default_rng(0)
    words = rng.standard_normal((vocab, hidden)).astype(np.float32)
    positions = rng.standard_normal((seq, hidden)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["words", "input_ids"], ["w"], name="word_embeddings"),
        helper.make_node("Gather", ["positions", "position_ids"], ["p"], name="positions"),
        helper.make_node("Add", ["w", "p"], ["y"], name="sum"),
    ]
    g = helper.make_graph(
        nodes,
        "embedding",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, hidden])],
        [
            numpy_helper.from_array(words, "words"),
            numpy_helper.from_array(positions, "positions"),
            numpy_helper.from_array(np.arange(seq, dtype=np.int64)[None], "position_ids"),
        ],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize("target", ["native", "wasm"])
def test_embedding_of_int64_input_ids_matches_onnxruntime(target):
    if target == "wasm" and not HAS_WASM:
        pytest.skip("the wasm backend needs wasmtime and ziglang")
    model = embedding_model(vocab=50, hidden=24, seq=8)
    ids = ints(-50, 50, (1, 8), seed=11)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"input_ids": ids})
    got = irforge.compile(model, target=target)(ids)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_embedding_row_copy_is_one_contiguous_inner_loop():
    """The domain of an embedding is [B, S, H]: the innermost loop runs over H, reading one
    row of the table (unit stride), and the index is loaded once per row."""
    model = embedding_model(vocab=50, hidden=24, seq=8)
    module = import_onnx(model)
    run_pass_pipeline(module, "convert-graph-to-tensor", make_dialect_context())
    run_pass_pipeline(module, "convert-tensor-to-loop", make_dialect_context())
    from irforge.dialects import loop

    gathers = [
        lp
        for lp in module.walk()
        if isinstance(lp, loop.ForOp)
        and any(
            isinstance(o, loop.LoadOp) and o.memref.type.get_shape() == (50, 24)
            for o in lp.body.block.ops
        )
    ]
    assert len(gathers) == 1
    (inner,) = gathers
    (load,) = [
        o
        for o in inner.body.block.ops
        if isinstance(o, loop.LoadOp) and o.memref.type.get_shape() == (50, 24)
    ]
    assert load.indices[-1] is inner.induction_var


def test_vectorize_loops_picks_the_width_of_the_copied_data_not_of_the_index():
    """vectorize-loops takes the lane count from the element type the loop stores: the
    gather body first loads an i64 index, and 128 bits of i64 would make 2 lanes where the
    f32 rows copy 4 at a time."""
    model = embedding_model(vocab=50, hidden=24, seq=8)
    module = import_onnx(model)
    ctx = make_dialect_context()
    run_pass_pipeline(module, "convert-graph-to-tensor,convert-tensor-to-loop", ctx)
    run_pass_pipeline(module, "vectorize-loops{vector_bits=128}", ctx)
    text = str(module)
    assert "memref<50x24xf32>, vector<4xf32>" in text.replace(") -> ", ", ")
    ids = ints(0, 50, (1, 8), seed=2)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"input_ids": ids})
    (got,) = run_reference(module, [ids])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_varying_index_loads_stay_scalar_in_vectorize_loops():
    """GatherElements along the last axis loads its data at an index that varies with the
    innermost loop (no unit stride): vectorize-loops must leave that loop scalar, and the
    result stays right."""
    data, indices = rand(3, 16), ints(-16, 16, (3, 16), seed=4)
    model = gather_model("GatherElements", data, indices, axis=1)
    module = import_onnx(model)
    ctx = make_dialect_context()
    run_pass_pipeline(module, "convert-graph-to-tensor,convert-tensor-to-loop", ctx)
    run_pass_pipeline(module, "vectorize-loops{vector_bits=128}", ctx)
    assert "vector.load" not in str(module)
    (got,) = run_reference(module, [data, indices])
    np.testing.assert_array_equal(got, np.take_along_axis(data, indices % 16, axis=1))


def test_gather_of_an_intermediate_with_planned_buffers():
    """A gather reading an intermediate buffer (Relu of the table) through a data-dependent
    load, its indices computed (Add), its result consumed (Mul): the buffer planner must
    keep the table alive across the gather, and fusion must not merge the gather into its
    consumer."""
    table, ids = rand(10, 6), ints(-10, 10, (4,), seed=9)
    nodes = [
        helper.make_node("Relu", ["table"], ["r"]),
        helper.make_node("Add", ["ids", "one"], ["i"]),
        helper.make_node("Gather", ["r", "i"], ["g"]),
        helper.make_node("Relu", ["table"], ["r2"]),
        helper.make_node("Gather", ["r2", "ids"], ["g2"]),
        helper.make_node("Mul", ["g", "g2"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "intermediate",
        [io("table", table), io("ids", ids)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
        [numpy_helper.from_array(np.array(1, np.int64), "one")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    ids[0] = 9  # 9 + 1 is out of range: clamped to 9 (ONNX Runtime would reject it)
    r = np.maximum(table, 0)
    want = r[np.clip(np.where(ids + 1 < 0, ids + 11, ids + 1), 0, 9)] * r[ids]
    np.testing.assert_array_equal(irforge.compile(model)(table, ids), want)
    np.testing.assert_array_equal(irforge.compile(model, num_threads=2)(table, ids), want)


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "op_type, data, indices, attrs, message",
    [
        ("Gather", rand(3, 4), rand(2), {}, "indices have element type f32; expected i64 or i32"),
        ("Gather", rand(3, 4), ints(0, 3, (2,)), {"axis": 2}, "axis 2 is out of range"),
        (
            "GatherElements",
            rand(3, 4),
            ints(0, 3, (2, 5)),
            {"axis": 0},
            "indices dimension 1 of size 5 exceeds",
        ),
        ("GatherND", rand(3, 4), ints(0, 3, (2, 3)), {}, "must end in a dimension of 1 to 2"),
        (
            "GatherND",
            rand(3, 4),
            ints(0, 3, (2, 1)),
            {"batch_dims": 1},
            "the first 1 dimensions of indices",
        ),
    ],
)
def test_bad_gathers_name_the_node(op_type, data, indices, attrs, message):
    node = helper.make_node(op_type, ["data", "indices"], ["y"], name="bad", **attrs)
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])
    g = helper.make_graph([node], "bad", [io("data", data), io("indices", indices)], [out])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    with pytest.raises(ONNXImportError, match=f"{op_type} node 'bad'.*{message}"):
        import_onnx(model)


def test_gather_on_threads():
    """The embedding's outer loops run on two threads (parallelize-loops, its work
    threshold lowered): every thread reads rows through its own indices."""
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    model = embedding_model(vocab=50, hidden=24, seq=8)
    ids = ints(-50, 50, (1, 8), seed=12)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"input_ids": ids})
    threaded = "parallelize-loops{num_threads=2 min_work=1}"
    module = import_onnx(model)
    run_pass_pipeline(
        module,
        DEFAULT_PIPELINE.replace("parallelize-loops", threaded).removesuffix(
            ",convert-loop-to-llvm"
        ),
        make_dialect_context(),
    )
    assert "irforge.parallel" in str(module)
    (got,) = run_reference(module, [ids])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    pipeline = DEFAULT_PIPELINE.replace("parallelize-loops", threaded)
    got = irforge.compile(model, pipeline=pipeline, num_threads=2)(ids)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_gathered_table_also_feeds_a_fused_elementwise_op():
    """The table Relu(t) is read by a gather body (captured, not an operand) and by Mul:
    tensor-fuse-elementwise fuses Relu into Mul but must keep it for the gather."""
    nodes = [
        helper.make_node("Relu", ["t"], ["r"]),
        helper.make_node("Gather", ["r", "ids"], ["g"]),
        helper.make_node("Mul", ["r", "r"], ["m"]),
        helper.make_node("Gather", ["m", "ids"], ["g2"]),
        helper.make_node("Add", ["g", "g2"], ["y"]),
    ]
    t, ids = rand(10, 6), np.array([1, -1, 3, 9], np.int64)
    g = helper.make_graph(
        nodes,
        "shared_table",
        [io("t", t), io("ids", ids)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"t": t, "ids": ids})
    module = import_onnx(model)
    run_pass_pipeline(module, ",".join(STAGES), make_dialect_context())
    np.testing.assert_array_equal(run_reference(module, [t, ids])[0], want)
    np.testing.assert_array_equal(irforge.compile(model)(t, ids), want)
