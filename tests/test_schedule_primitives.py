"""Schedule primitives (passes/loop/schedule): each transformed nest computes what the original
does (loop interpreter, random shapes, parameters and data), and illegal uses raise
ScheduleError naming the primitive and the loop.

The interpreter evaluates each scalar op with the same f32 rounding before and after (the
primitives never reassociate: a reduction keeps its order per element), so results are
compared exactly (NaN equal to NaN).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from irforge.dialects import graph, loop, make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.passes.infra.manager import run_pass_pipeline
from irforge.passes.loop import schedule as S
from tests.test_fuse_elementwise import relu_chain
from tests.test_lowering import make_module

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TO_LOOP = "canonicalize,convert-graph-to-tensor,tensor-fuse-elementwise,convert-tensor-to-loop"
UNFUSED = "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop"


def chain(shape, fused: bool = True) -> ModuleOp:
    """relu(x*2+1)*x at loop level: one 2-D nest (fused) or four (unfused)."""
    m = make_module([shape], relu_chain)
    run_pass_pipeline(m, TO_LOOP if fused else UNFUSED, make_dialect_context())
    return m


def matmul(m: int, k: int, n: int) -> ModuleOp:
    """A fill nest (0) and an i, j, k matmul nest (1) at loop level."""
    mod = make_module([(m, k), (k, n)], lambda b, a: [b.insert(graph.MatMulOp(*a)).result])
    run_pass_pipeline(mod, UNFUSED, make_dialect_context())
    return mod


def parse(text: str) -> ModuleOp:
    return Parser(make_dialect_context(), text).parse_module()


def at(module: ModuleOp, *path: int) -> loop.ForOp:
    return S.find_loop(module, ("main", path))


def check_same(module: ModuleOp, transform, inputs) -> ModuleOp:
    """Apply `transform` to a copy of `module`; assert that the copy verifies and computes
    exactly what `module` does; return the copy."""
    expected = run_reference(module, inputs)
    new = module.clone()
    transform(new)
    new.verify()
    got = run_reference(new, inputs)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)
    return new


shapes = st.tuples(st.integers(1, 6), st.integers(1, 13))
mm_shapes = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 6))


def data(draw_seed: int, *shapes_):
    rng = np.random.default_rng(draw_seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes_]


# -- value preservation (hypothesis) -----------------------------------------------------


@SETTINGS
@given(shapes, st.integers(1, 8), st.sampled_from(["min", "loop"]), st.integers(0, 99))
def test_split(shape, factor, tail, seed):
    m = chain(shape)
    new = check_same(m, lambda m: S.split(at(m, 0, 0), factor, tail=tail), data(seed, shape))
    if tail == "min":  # else the remainder loop is a sibling of the split loop
        assert len(S.get_loops(at(new, 0))) == 3


@SETTINGS
@given(mm_shapes, st.permutations([0, 1, 2]), st.integers(0, 99))
def test_reorder_matmul(dims, order, seed):
    m, k, n = dims
    check_same(
        matmul(m, k, n),
        lambda mod: S.reorder(S.get_loops(at(mod, 1)), order),
        data(seed, (m, k), (k, n)),
    )


@SETTINGS
@given(mm_shapes, st.integers(1, 4), st.integers(1, 4), st.integers(0, 99))
def test_tile_matmul(dims, ti, tj, seed):
    m, k, n = dims

    def tile(mod):
        loops = S.tile(S.get_loops(at(mod, 1))[:2], [ti, tj])
        assert len(loops) == 4

    check_same(matmul(m, k, n), tile, data(seed, (m, k), (k, n)))


@SETTINGS
@given(shapes, st.integers(0, 99))
def test_fuse_unfused_chain(shape, seed):
    def fuse(mod):
        outer = S.fuse(at(mod, 2), at(mod, 3))
        S.fuse(at(mod, 2, 0), at(mod, 2, 1))
        assert len(S.get_loops(outer)) == 2

    check_same(chain(shape, fused=False), fuse, data(seed, shape))


@SETTINGS
@given(mm_shapes, st.integers(0, 99))
def test_fuse_fill_into_matmul(dims, seed):
    m, k, n = dims

    def fuse(mod):
        S.fuse(at(mod, 0), at(mod, 1))
        S.fuse(at(mod, 0, 0), at(mod, 0, 1))

    check_same(matmul(m, k, n), fuse, data(seed, (m, k), (k, n)))


@SETTINGS
@given(shapes, st.one_of(st.integers(1, 6), st.just("full")), st.integers(0, 99))
def test_unroll(shape, factor, seed):
    check_same(chain(shape), lambda m: S.unroll(at(m, 0, 0), factor), data(seed, shape))


@SETTINGS
@given(shapes, st.integers(1, 4), st.one_of(st.integers(1, 3), st.just("full")), st.integers(0, 99))
def test_split_then_unroll_inner(shape, factor, unroll_by, seed):
    """The inner loop of a split with a remainder loop runs [x, x + factor): unrollable."""

    def sched(m):
        _, inner = S.split(at(m, 0, 0), factor, tail="loop")
        S.unroll(inner, unroll_by)

    check_same(chain(shape), sched, data(seed, shape))


@SETTINGS
@given(shapes, st.integers(2, 8), st.booleans(), st.integers(0, 99))
def test_vectorize(shape, width, nontemporal, seed):
    check_same(
        chain(shape), lambda m: S.vectorize(at(m, 0, 0), width, nontemporal), data(seed, shape)
    )


@SETTINGS
@given(shapes, st.integers(1, 5), st.integers(2, 4), st.integers(0, 99))
def test_split_then_vectorize_dynamic_bounds(shape, factor, width, seed):
    """The inner loop of a split has bounds [io, min(io + f, n)): the vector loop's end is
    computed at run time."""

    def sched(m):
        _, inner = S.split(at(m, 0, 0), factor)
        S.vectorize(inner, width)

    check_same(chain(shape), sched, data(seed, shape))


@SETTINGS
@given(mm_shapes, st.integers(0, 99))
def test_parallelize(dims, seed):
    m, k, n = dims

    def par(mod):
        for path in [(0,), (0, 0), (1,), (1, 0)]:
            assert S.parallelize(at(mod, *path)).parallel is not None

    check_same(matmul(m, k, n), par, data(seed, (m, k), (k, n)))


@SETTINGS
@given(mm_shapes, st.integers(1, 3), st.integers(1, 4), st.integers(0, 99))
def test_parallelize_tile_loops(dims, ti, tj, seed):
    """A tile loop owns the rows [io, min(io + ti, m)) of C: parallel."""
    m, k, n = dims

    def par(mod):
        io, jo, i, j = S.tile(S.get_loops(at(mod, 1))[:2], [ti, tj])
        for lp in (io, jo, i, j):
            S.parallelize(lp)
        with pytest.raises(S.ScheduleError, match="same elements"):
            S.parallelize(S.get_loops(j)[-1])  # k

    check_same(matmul(m, k, n), par, data(seed, (m, k), (k, n)))


@SETTINGS
@given(mm_shapes, st.integers(1, 3), st.integers(1, 4), st.integers(0, 99))
def test_cache_read_tiled_matmul(dims, ti, tj, seed):
    """Pack the (k x tile_j) panel of B read under each j tile of a tiled matmul."""
    m, k, n = dims

    def pack(mod):
        io, jo, i, j = S.tile(S.get_loops(at(mod, 1))[:2], [ti, tj])
        b = mod.body.block.first_op  # func @main
        S.cache_read(i, list(b.body.block.args)[1])
        S.cache_read(jo, list(b.body.block.args)[0])

    check_same(matmul(m, k, n), pack, data(seed, (m, k), (k, n)))


# -- illegal uses ------------------------------------------------------------------------

SHIFTED = """
func.func @main(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c7 = arith.constant 7 : index
  "loop.for"(%c0, %c7, %c1) ({
  ^bb0(%i: index):
    %x = "loop.load"(%a, %i) : (memref<8xf32>, index) -> f32
    "loop.store"(%x, %b, %i) : (f32, memref<8xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  "loop.for"(%c0, %c7, %c1) ({
  ^bb0(%i: index):
    %i1 = arith.addi %i, %c1 : index
    %x = "loop.load"(%b, %i1) : (memref<8xf32>, index) -> f32
    "loop.store"(%x, %c, %i) : (f32, memref<8xf32>, index) -> ()
    "loop.store"(%x, %b, %i) : (f32, memref<8xf32>, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}
"""

REDUCE = """
func.func @main(%a: memref<4x8xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%i: index):
    "loop.for"(%c0, %c8, %c1) ({
    ^bb0(%k: index):
      %x = "loop.load"(%a, %i, %k) : (memref<4x8xf32>, index, index) -> f32
      %acc = "loop.load"(%s, %i) : (memref<4xf32>, index) -> f32
      %y = arith.addf %acc, %x : f32
      "loop.store"(%y, %s, %i) : (f32, memref<4xf32>, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}
"""

STRIDED = """
func.func @main(%a: memref<4x4xf32>, %b: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  "loop.for"(%c0, %c4, %c1) ({
  ^bb0(%i: index):
    "loop.for"(%c0, %c4, %c1) ({
    ^bb0(%j: index):
      %x = "loop.load"(%a, %j, %i) : (memref<4x4xf32>, index, index) -> f32
      "loop.store"(%x, %b, %i, %j) : (f32, memref<4x4xf32>, index, index) -> ()
      "loop.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}
"""


def test_fuse_refuses_shifted_dependence():
    m = parse(SHIFTED)
    before = str(m)
    with pytest.raises(
        S.ScheduleError, match=r"fuse\(@main loop \[0\], @main loop \[1\]\).*buffer b "
    ):
        S.fuse(at(m, 0), at(m, 1))
    assert str(m) == before  # a refused fuse leaves the IR as it was


def test_fuse_refuses_non_adjacent_and_unequal():
    m = matmul(2, 3, 4)
    with pytest.raises(S.ScheduleError, match="not adjacent"):
        S.fuse(at(m, 1), at(m, 0))
    with pytest.raises(S.ScheduleError, match="not adjacent"):
        S.fuse(at(m, 1, 0, 0), at(m, 0, 0))
    m = chain((4, 5), fused=False)
    S.reorder(S.get_loops(at(m, 3)), [1, 0])  # nest 3 now runs 5 x 4
    with pytest.raises(S.ScheduleError, match="different bounds"):
        S.fuse(at(m, 2), at(m, 3))


def test_parallelize_refuses_reduction_and_shift():
    m = matmul(2, 3, 4)
    with pytest.raises(S.ScheduleError, match=r"parallelize\(@main loop \[1, 0, 0\]\)"):
        S.parallelize(at(m, 1, 0, 0))
    with pytest.raises(S.ScheduleError, match="same elements"):
        S.parallelize(at(parse(SHIFTED), 1))


def test_vectorize_refuses():
    m = matmul(2, 3, 4)
    with pytest.raises(S.ScheduleError, match=r"vectorize\(@main loop \[0, 0\], 4\).*reduction"):
        S.vectorize(at(parse(REDUCE), 0, 0), 4)
    with pytest.raises(S.ScheduleError, match="not unit-stride"):
        S.vectorize(at(m, 1, 0, 0), 4)  # matmul's k: B[k, j]
    with pytest.raises(S.ScheduleError, match="not innermost"):
        S.vectorize(at(m, 1, 0), 4)
    with pytest.raises(S.ScheduleError, match="not unit-stride"):
        S.vectorize(at(parse(STRIDED), 0, 0), 4)
    with pytest.raises(S.ScheduleError, match="different elements"):
        S.vectorize(at(parse(SHIFTED), 1), 4)
    with pytest.raises(S.ScheduleError, match="width"):
        S.vectorize(at(m, 0, 0), 1)
    alloc = REDUCE.replace(
        '%x = "loop.load"(%a, %i, %k)',
        '%t = "loop.alloc"() : () -> memref<2xf32>\n      %x = "loop.load"(%a, %i, %k)',
    )
    with pytest.raises(S.ScheduleError, match="'loop.alloc' \\(regions or side effects\\)"):
        S.vectorize(at(parse(alloc), 0, 0), 4)


def test_split_reorder_tile_unroll_refuse():
    m = matmul(2, 3, 4)
    with pytest.raises(S.ScheduleError, match=r"split\(@main loop \[1\], 0\)"):
        S.split(at(m, 1), 0)
    with pytest.raises(S.ScheduleError, match="permutation"):
        S.reorder(S.get_loops(at(m, 1)), [0, 0, 1])
    outer, inner = S.split(at(m, 1, 0, 0), 2)
    with pytest.raises(S.ScheduleError, match="placed inside it"):
        S.reorder([outer, inner], [1, 0])
    with pytest.raises(S.ScheduleError, match="2 loops but 1 sizes"):
        S.tile(S.get_loops(at(m, 0)), [2])
    with pytest.raises(S.ScheduleError, match="trip count must be a constant"):
        S.unroll(inner, 2)  # bounds [ko, min(ko + 2, 3))
    with pytest.raises(S.ScheduleError, match="factor"):
        S.unroll(at(m, 0), 0)


def test_reorder_refuses_imperfect_nest():
    m = chain((4, 4), fused=False)
    S.fuse(at(m, 2), at(m, 3))  # the outer loop now holds two loops
    with pytest.raises(S.ScheduleError, match="not the only loop"):
        S.reorder([at(m, 2), at(m, 2, 0)], [1, 0])


def test_cache_read_refuses():
    m = matmul(2, 3, 4)
    fn = m.body.block.first_op
    a, _, out = fn.body.block.args
    with pytest.raises(S.ScheduleError, match="writes the buffer"):
        S.cache_read(at(m, 1), out)
    with pytest.raises(S.ScheduleError, match="does not read"):
        S.cache_read(at(m, 0), a)


def test_references_round_trip():
    m = matmul(2, 3, 4)
    for path in [(0,), (0, 0), (1,), (1, 0), (1, 0, 0)]:
        assert S.loop_ref(at(m, *path)) == ("main", path)
    with pytest.raises(S.ScheduleError, match=r"level 1 has 1 loops, no #3"):
        at(m, 1, 3)
    with pytest.raises(S.ScheduleError, match="no function @nope"):
        S.find_loop(m, ("nope", (0,)))
