"""plan-buffers and loop.view: buffers with overlapping lifetimes never share bytes, and
planned programs compute what unplanned ones do.

The offset assignment is checked directly on random intervals and sizes; whole programs
(random graph programs from irforge.fuzzing.programs and a small conv net) are lowered to
the loop level and outlined, then run with the loop interpreter (views alias the arena's
bytes there) and natively, with and without plan-buffers: results must be bit-identical
at each level (the same code runs on the same values; only the addresses change), and
match the graph reference within rtol 1e-5, atol 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.builder import Builder
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    VectorType,
    f32,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

from irforge.dialects import graph, loop, make_dialect_context
from irforge.dialects.graph import nn as graph_nn
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import dense_f32
from irforge.fuzzing.programs import graph_programs
from irforge.passes.infra.manager import run_pass_pipeline
from irforge.passes.loop.plan_buffers import ALIGN, Buffer, assign_offsets, plan_function
from tests.test_lowering import make_module, rand

TO_LOOP = "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop,outline-loop-nests"


def main_of(module: ModuleOp) -> func.FuncOp:
    return next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "main"
    )


def views(module: ModuleOp) -> list[loop.ViewOp]:
    return [op for op in module.walk() if isinstance(op, loop.ViewOp)]


def check_disjoint(buffers: list[Buffer], arena: int) -> None:
    for b in buffers:
        assert b.offset % ALIGN == 0 and 0 <= b.offset and b.offset + b.size <= arena
    for i, a in enumerate(buffers):
        for b in buffers[i + 1 :]:
            if a.overlaps(b):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 5000), st.integers(0, 30), st.integers(0, 10)),
        min_size=1,
        max_size=30,
    )
)
def test_overlapping_lifetimes_never_share_bytes(specs):
    buffers = [Buffer(None, size, start, start + length) for size, start, length in specs]
    arena = assign_offsets(buffers)
    check_disjoint(buffers, arena)
    # Never worse than giving every buffer its own aligned slot.
    assert arena <= sum(-(-b.size // ALIGN) * ALIGN for b in buffers)
    # And at least the bytes live at the busiest point.
    peak = max(
        sum(b.size for b in buffers if b.start <= t <= b.end)
        for t in range(max(b.end for b in buffers) + 1)
    )
    assert arena >= peak


def test_disjoint_lifetimes_share_and_best_fit_picks_the_tightest_gap():
    a = Buffer(None, 1000, 0, 1)
    b = Buffer(None, 4000, 1, 2)
    c = Buffer(None, 1000, 2, 3)  # overlaps b only: reuses a's bytes
    arena = assign_offsets([a, b, c])
    check_disjoint([a, b, c], arena)
    assert arena == 4032 + 1024 and c.offset == a.offset


def conv_net() -> tuple[ModuleOp, list[np.ndarray]]:
    rng = np.random.default_rng(0)

    def body(b: Builder, args):
        x = args[0]
        for cin, cout in ((3, 4), (4, 4), (4, 2)):
            w = b.insert(graph.ConstantOp(dense_f32(0.3 * rand(rng, cout, cin, 3, 3)))).result
            x = b.insert(graph_nn.ConvOp(x, w, pads=[1, 1, 1, 1])).result
            x = b.insert(graph.ReluOp(x)).result
        return [b.insert(graph.SoftmaxOp(b.insert(graph.ReshapeOp(x, [1, 2 * 36])).result)).result]

    return make_module([[1, 3, 6, 6]], body), [rand(rng, 1, 3, 6, 6)]


def planned_pair(module: ModuleOp) -> tuple[ModuleOp, ModuleOp]:
    ctx = make_dialect_context()
    run_pass_pipeline(module, TO_LOOP, ctx)
    planned = module.clone()
    run_pass_pipeline(planned, "plan-buffers", ctx)
    planned.verify()
    return module, planned


def native(module: ModuleOp, inputs, out_shape) -> np.ndarray:
    from irforge.backends.llvm import compile_module

    run_pass_pipeline(module, "convert-loop-to-llvm", make_dialect_context())
    fn = compile_module(
        module,
        entry="main",
        inputs=[(f"in{i}", x.shape, x.dtype) for i, x in enumerate(inputs)],
        outputs=[("out", out_shape, np.dtype(np.float32))],
    )
    return fn(*inputs)


def test_conv_net_one_arena_same_results():
    module, inputs = conv_net()
    (expected,) = run_reference(module, inputs)
    unplanned, planned = planned_pair(module)
    fn = main_of(planned)
    allocs = [op for op in fn.walk() if isinstance(op, loop.AllocOp)]
    deallocs = [op for op in fn.walk() if isinstance(op, loop.DeallocOp)]
    assert len(allocs) == 1 and len(deallocs) == 1
    assert allocs[0].result.type.element_type == IntegerType(8)
    n_buffers = sum(isinstance(op, loop.AllocOp) for op in main_of(unplanned).walk())
    assert len(views(planned)) == n_buffers > 3
    arena = allocs[0].result.type.get_shape()[0]
    total = sum(math.prod(v.result.type.get_shape()) * 4 for v in views(planned))  # all f32 here
    assert arena < total  # some bytes are shared
    (a,) = run_reference(unplanned, inputs)
    (b,) = run_reference(planned, inputs)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(b, expected, rtol=1e-5, atol=1e-6)
    got = native(planned, inputs, b.shape)
    np.testing.assert_array_equal(got, native(unplanned, inputs, b.shape))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_views_of_live_buffers_are_disjoint_in_the_ir():
    """Recompute liveness from the planned IR: views whose uses interleave never overlap."""
    module, _ = conv_net()
    _, planned = planned_pair(module)
    block = main_of(planned).body.block
    order = {op: i for i, op in enumerate(block.ops)}
    spans = []
    for v in views(planned):
        uses = [order[u.operation] for u in v.result.uses]
        t = v.result.type
        elem = t.element_type  # f32, or a vector of f32 lanes
        lanes = math.prod(elem.get_shape()) if isinstance(elem, VectorType) else 1
        size = math.prod(t.get_shape()) * lanes * 4
        off = v.byte_offset.value.data
        spans.append((min(uses), max(uses), off, off + size))
    for i, (s0, e0, lo0, hi0) in enumerate(spans):
        for s1, e1, lo1, hi1 in spans[i + 1 :]:
            if s0 <= e1 and s1 <= e0:
                assert hi0 <= lo1 or hi1 <= lo0


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(graph_programs())
def test_random_programs_planned_equal_unplanned(program):
    module, inputs = program
    unplanned, planned = planned_pair(module)
    expected = run_reference(unplanned, inputs)
    got = run_reference(planned, inputs)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_allocs_in_loops_or_without_dealloc_are_left_alone():
    fn = func.FuncOp("main", ([MemRefType(f32, [4])], []))
    b = Builder(InsertPoint.at_end(fn.body.block))
    c0, c2, c1 = (b.insert(arith.ConstantOp(IntegerAttr(v, IndexType()))).result for v in (0, 2, 1))
    a1 = b.insert(loop.AllocOp(MemRefType(f32, [8]))).result
    a2 = b.insert(loop.AllocOp(MemRefType(f32, [8]))).result  # never freed: not planned
    for_op = b.insert(loop.ForOp(c0, c2, c1))
    inner = Builder(InsertPoint.at_end(for_op.body.block))
    a4 = inner.insert(loop.AllocOp(MemRefType(f32, [16]))).result  # inside a loop: not planned
    inner.insert(loop.DeallocOp(a4))
    inner.insert(loop.YieldOp())
    a3 = b.insert(loop.AllocOp(MemRefType(f32, [2]))).result
    b.insert(loop.DeallocOp(a1))
    b.insert(loop.DeallocOp(a3))
    b.insert(func.ReturnOp())
    module = ModuleOp([fn])
    module.verify()
    plan = plan_function(fn)
    module.verify()
    assert plan is not None and len(plan.buffers) == 2
    assert isinstance(a2.owner, loop.AllocOp) and isinstance(a4.owner, loop.AllocOp)
    # a1 (32 bytes) and a3 (8 bytes) are never used: each lives at its alloc, so they share.
    assert plan.arena_bytes == 64 and [b.offset for b in plan.buffers] == [0, 0]
    allocs = [op for op in fn.walk() if isinstance(op, loop.AllocOp)]
    assert len(allocs) == 3  # the arena, a2, a4
    assert plan_function(fn) is None  # nothing left to plan


@pytest.mark.parametrize(
    "source,offset,result,message",
    [
        ([256], 192, [32], "do not fit"),
        ([256], 2, [4], "not a multiple"),
        ([-1], 0, [4], "static 1-D memref of i8"),
    ],
)
def test_view_verifier(source, offset, result, message):
    from xdsl.dialects.builtin import DYNAMIC_INDEX

    shape = [DYNAMIC_INDEX if d < 0 else d for d in source]
    fn = func.FuncOp("f", ([MemRefType(IntegerType(8), shape)], []))
    b = Builder(InsertPoint.at_end(fn.body.block))
    b.insert(loop.ViewOp(fn.body.block.args[0], offset, MemRefType(f32, result)))
    b.insert(func.ReturnOp())
    with pytest.raises(VerifyException, match=message):
        fn.verify()


def test_light_model_planned_matches_unplanned_natively(light):
    """SqueezeNet (the smallest light model with many buffers) through the default pipeline
    (the session's compile, tests/conftest.py) and without plan-buffers: identical logits."""
    import irforge
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    assert ",plan-buffers," in DEFAULT_PIPELINE
    planned = light.compiled("squeezenet")
    without = DEFAULT_PIPELINE.replace(",plan-buffers", "")
    unplanned = irforge.compile(
        light.model("squeezenet"),
        pipeline=without,
        num_threads=planned.num_threads,
        verify_each=False,
    )
    x = light.input("squeezenet")
    np.testing.assert_array_equal(planned(x), unplanned(x))


def test_a_reshaped_alias_keeps_its_buffer_alive():
    """%r = loop.reshape(%a) is used after %b's only use: %a and %b must not share bytes."""
    t8, t24 = MemRefType(f32, [8]), MemRefType(f32, [2, 4])
    decls = [
        func.FuncOp.external("use8", [t8], []),
        func.FuncOp.external("use24", [t24], []),
    ]
    fn = func.FuncOp("main", ([], []))
    b = Builder(InsertPoint.at_end(fn.body.block))
    a = b.insert(loop.AllocOp(t8)).result
    r = b.insert(loop.ReshapeOp(a, t24)).result
    b.insert(func.CallOp("use8", [a], []))
    c = b.insert(loop.AllocOp(t8)).result
    b.insert(func.CallOp("use8", [c], []))
    b.insert(func.CallOp("use24", [r], []))
    b.insert(loop.DeallocOp(a))
    b.insert(loop.DeallocOp(c))
    b.insert(func.ReturnOp())
    module = ModuleOp([*decls, fn])
    module.verify()
    plan = plan_function(fn)
    module.verify()
    first, second = plan.buffers
    assert first.overlaps(second) and first.offset != second.offset
    check_disjoint(plan.buffers, plan.arena_bytes)


VECTOR_VIEW = """\
"func.func"() <{sym_name = "main", function_type = (memref<4xf32>) -> ()}> ({
^bb0(%out: memref<4xf32>):
  %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
  %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
  %c4 = "arith.constant"() <{value = 4 : index}> : () -> index
  %x = "arith.constant"() <{value = 1.5 : f32}> : () -> f32
  %arena = "loop.alloc"() : () -> memref<64xi8>
  %v = "loop.view"(%arena) <{byte_offset = 16 : i64}> : (memref<64xi8>) -> memref<2xvector<4xf32>>
  %s = "loop.view"(%arena) <{byte_offset = 32 : i64}> : (memref<64xi8>) -> memref<4xf32>
  %b = "vector.broadcast"(%x) : (f32) -> vector<4xf32>
  "loop.store"(%b, %v, %c1) : (vector<4xf32>, memref<2xvector<4xf32>>, index) -> ()
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%i: index):
    %e = "loop.load"(%s, %i) : (memref<4xf32>, index) -> f32
    "loop.store"(%e, %out, %i) : (f32, memref<4xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.dealloc"(%arena) : (memref<64xi8>) -> ()
  "func.return"() : () -> ()
}) : () -> ()
"""


def test_interpreter_views_buffers_of_vectors():
    # Regression: the interpreter could not view arena bytes as a memref of vectors (the
    # 128-bit microkernel's planned panels), and stopped with NotImplementedError. Vector 1
    # of the vector view is bytes [32, 48), the scalar view's four elements.
    import irforge

    module = irforge.parse(VECTOR_VIEW)
    (out,) = run_reference(module, [])
    np.testing.assert_array_equal(out, np.full(4, 1.5, np.float32))
