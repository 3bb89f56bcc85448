"""graph.attention and graph-fuse-attention: the op's verifier and NumPy reference, the
fusion on random attention graphs in the torch exporters' forms (the fused graph, its
tensor-level lowering and the compiled code match the unfused graph's reference), and a
compiled attention natively and in wasm against a float64 reference (1e-5 relative).

The FileCheck tests of the pass (what it rewrites, where a guard stops it) are in
tests/filecheck/passes/graph-fuse-attention.mlir.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

import irforge
from irforge.dialects import graph, loop
from irforge.dialects.arrays import from_numpy
from irforge.dialects.graph_reference import REFERENCE
from irforge.dialects.reference import run_reference
from irforge.passes.infra.registry import DEFAULT_PIPELINE
from irforge.passes.tensor_to_loop.attention_kernel import MIN_KEYS

from .test_fuzz_programs import ci

HAS_WASM = all(importlib.util.find_spec(m) is not None for m in ("wasmtime", "ziglang"))
RTOL = 1e-5
FUSING_PIPELINE = DEFAULT_PIPELINE.replace("{min-keys=512}", "")
"""The default pipeline, fusing attention over any number of keys."""


def build(shapes, body) -> ModuleOp:
    """`func.func @main` over f32 tensors of `shapes`; `body(b, args)` returns the result."""
    block = Block(arg_types=[TensorType(f32, s) for s in shapes])
    b = Builder(InsertPoint.at_end(block))
    out = body(b, block.args)
    b.insert(func.ReturnOp(out))
    fn = func.FuncOp("main", ([a.type for a in block.args], [out.type]), Region(block))
    module = ModuleOp([fn])
    module.verify()
    return module


def scalar(b: Builder, value: float, rank: int = 0):
    t = TensorType(f32, [1] * rank)
    return b.insert(graph.ConstantOp(from_numpy(np.full([1] * rank, value, np.float32), t))).result


def unfused(form: str, mask_rank: int | None, scale: float):
    """The attention chain as torch exports it. `form`: "mul" (scores * scale), "div"
    (scores / (1 / scale)), "split" (Q and K^T each times sqrt(scale)). Q, K, V arrive
    as [..., S, d]; K^T is a transpose of the last two dims."""

    def body(b: Builder, args):
        q, k, v = args[:3]
        rank = len(q.type.get_shape())
        swap = [*range(rank - 2), rank - 1, rank - 2]
        kt = b.insert(graph.TransposeOp(k, swap)).result
        if form == "split":
            root = float(np.sqrt(scale))
            q = b.insert(graph.MulOp(q, scalar(b, root))).result
            kt = b.insert(graph.MulOp(scalar(b, root, 1), kt)).result
        s = b.insert(graph.MatMulOp(q, kt)).result
        if form == "mul":
            s = b.insert(graph.MulOp(s, scalar(b, scale))).result
        elif form == "div":
            s = b.insert(graph.DivOp(s, scalar(b, 1.0 / scale, 1))).result
        if mask_rank is not None:
            s = b.insert(graph.AddOp(args[3], s)).result
        p = b.insert(graph.SoftmaxOp(s, axis=-1)).result
        return b.insert(graph.MatMulOp(p, v)).result

    return body


@st.composite
def attention_cases(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    sq, sk = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    d, dv = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    form = draw(st.sampled_from(["mul", "div", "split"]))
    mask_rank = draw(st.sampled_from([None, 1, 2, len(batch) + 2]))
    scale = draw(st.sampled_from([1.0, 0.5, 0.125, 1 / np.sqrt(d)]))
    seed = draw(st.integers(0, 2**16))
    return batch, sq, sk, d, dv, form, mask_rank, scale, seed


def arrays_for(batch, sq, sk, d, dv, mask_rank, seed):
    rng = np.random.default_rng(seed)
    shapes = [(*batch, sq, d), (*batch, sk, d), (*batch, sk, dv)]
    if mask_rank is not None:
        full = (*batch, sq, sk)
        mshape = [n if rng.random() < 0.5 else 1 for n in full[len(full) - mask_rank :]]
        mshape[-1] = sk
        shapes.append(tuple(mshape))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes[:3]]
    if mask_rank is not None:  # 0 keeps a key, -1e4 drops it (as BERT's extended mask)
        arrays.append(np.where(rng.random(shapes[3]) < 0.3, -1e4, 0).astype(np.float32))
    return shapes, arrays


def unfused_case(case):
    """A drawn case's operand shapes and arrays, its unfused graph's builder and the
    reference result of that graph."""
    batch, sq, sk, d, dv, form, mask_rank, scale, seed = case
    shapes, arrays = arrays_for(batch, sq, sk, d, dv, mask_rank, seed)
    body = unfused(form, mask_rank, scale)
    (want,) = run_reference(build(shapes, body), arrays)
    return shapes, arrays, body, want


def fused_module(shapes, body):
    module = build(shapes, body)
    irforge.run_pipeline(module, "graph-fuse-attention")
    return module


def max_rel(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))


@ci(60)
@given(attention_cases())
def test_fused_graph_and_its_lowering_match_the_unfused_reference(case):
    shapes, arrays, body, want = unfused_case(case)
    module = fused_module(shapes, body)
    names = [op.name for op in module.walk() if op.name.startswith("graph.")]
    assert "graph.attention" in names and "graph.softmax" not in names, names
    (fused,) = run_reference(module, arrays)
    assert max_rel(fused, want) <= RTOL
    irforge.run_pipeline(module, "convert-graph-to-tensor")
    (tensor_level,) = run_reference(module, arrays)
    assert max_rel(tensor_level, want) <= RTOL


@ci(6)
@given(attention_cases())
def test_compiled_fused_attention_matches_the_unfused_reference(case):
    shapes, arrays, body, want = unfused_case(case)
    got = irforge.compile(build(shapes, body), pipeline=FUSING_PIPELINE)(*arrays)
    assert max_rel(got, want) <= RTOL


def test_min_keys_option_skips_short_rows():
    shapes, arrays, body, want = unfused_case(((2,), 4, 3, 5, 6, "mul", 2, 0.5, 0))
    for option, fused in (("{min-keys=4}", False), ("{min-keys=3}", True), ("", True)):
        module = build(shapes, body)
        irforge.run_pipeline(module, "graph-fuse-attention" + option)
        names = [op.name for op in module.walk()]
        assert ("graph.attention" in names) is fused, option
        assert ("graph.softmax" in names) is not fused, option
    assert "graph-fuse-attention{min-keys=512}" in DEFAULT_PIPELINE


def attention_module(shapes, scale):
    """graph.attention on arguments of `shapes` (Q, K, V and, when a fourth is given, the
    mask)."""

    def body(b: Builder, args):
        mask = args[3] if len(args) == 4 else None
        return b.insert(graph.AttentionOp(*args[:3], mask, scale)).result

    return build(shapes, body)


def test_long_rows_run_as_one_fused_kernel():
    """The five generics become one kernel; no [Sq, Sk] buffer is left, not even the
    scores' zero fill, lowered (and flattened) before the chain is seen. Short rows whose
    dv no SIMD width divides keep the generics."""
    shapes = [(2, 3, 16), (2, MIN_KEYS, 16), (2, MIN_KEYS, 16), (MIN_KEYS,)]
    module = attention_module(shapes, 0.5)
    lower = "convert-graph-to-tensor,tensor-fuse-elementwise,convert-tensor-to-loop{flatten=true}"
    irforge.run_pipeline(module, lower)
    allocs = [o.result.type.get_shape() for o in module.walk() if isinstance(o, loop.AllocOp)]
    # Scratch only: K^T [d, Sk], row blocks [n, Sk], accumulators; no [Sq, Sk] scores.
    assert (2, 3, MIN_KEYS) not in allocs, allocs
    assert max(np.prod(s) for s in allocs) <= 16 * MIN_KEYS, allocs
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    (want,) = run_reference(attention_module(shapes, 0.5), arrays)
    (got,) = run_reference(module, arrays)  # the loop interpreter runs the kernel
    assert max_rel(got, want) <= RTOL
    short = attention_module([(2, 3, 4), (2, 8, 4), (2, 8, 3)], 0.5)  # dv = 3: no vectors
    irforge.run_pipeline(short, lower)
    allocs = [o.result.type.get_shape() for o in short.walk() if isinstance(o, loop.AllocOp)]
    assert (2, 3, 8) in allocs, allocs


@pytest.mark.parametrize(
    "target",
    ["native", pytest.param("wasm", marks=pytest.mark.skipif(not HAS_WASM, reason="no wasm"))],
)
@pytest.mark.parametrize(
    "q_shape,k_shape",
    [
        ((1, 2, 16, 8), (1, 2, 16, 8)),  # the generics (short rows)
        ((2, 33, 5), (2, 33, 5)),
        ((1, 2, 7, 8), (1, 2, MIN_KEYS + 9, 8)),  # the generics (no SIMD width divides Sk)
        ((1, 2, 5, 32), (1, 2, MIN_KEYS + 32, 32)),  # the fused kernel (a block and a row)
    ],
)
def test_attention_native_and_wasm_against_float64(target, q_shape, k_shape):
    rng = np.random.default_rng(1)
    mask_shape = (q_shape[-2], k_shape[-2])
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (q_shape, k_shape, k_shape)]
    arrays.append(np.triu(np.full(mask_shape, -1e9, np.float32), 1))  # causal, as GPT-2
    module = attention_module([q_shape, k_shape, k_shape, mask_shape], 1 / np.sqrt(q_shape[-1]))
    op = next(o for o in module.walk() if isinstance(o, graph.AttentionOp))
    want = REFERENCE[graph.AttentionOp](op, *[a.astype(np.float64) for a in arrays])
    got = irforge.compile(module, target=target)(*arrays)
    assert got.dtype == np.float32
    assert max_rel(got, want) <= RTOL


def test_verifier_names_the_shapes_that_do_not_fit():
    def body(b: Builder, args):
        return b.insert(graph.AttentionOp(args[0], args[1], args[2], None, 1.0)).result

    with pytest.raises(ValueError, match="head sizes"):
        build([(2, 4, 8), (2, 4, 7), (2, 4, 8)], body)
    with pytest.raises(ValueError, match="batch dims"):
        build([(2, 4, 8), (3, 4, 8), (3, 4, 8)], body)
    with pytest.raises(ValueError, match="key counts"):
        build([(4, 8), (5, 8), (6, 8)], body)

    def masked(b: Builder, args):
        return b.insert(graph.AttentionOp(*args[:3], args[3], 1.0)).result

    with pytest.raises(ValueError, match="does not broadcast"):
        build([(4, 8), (5, 8), (5, 8), (2, 4, 5)], masked)
    module = build([(4, 8), (5, 8), (5, 3)], body)
    op = next(o for o in module.walk() if isinstance(o, graph.AttentionOp))
    op.results[0]._type = TensorType(f32, [4, 8])
    with pytest.raises(VerifyException, match="does not match the inferred shape"):
        op.verify()
