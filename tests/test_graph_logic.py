"""Comparisons, boolean logic, where and cast (dialects/graph/logic.py, graph.where) on
f32, i64, i32 and i1 tensors, at every level of the tower.

Each case is a graph-level function; its NumPy reference (checked against plain NumPy
here) must equal, exactly (these ops round nothing but int -> f32 casts, which the
interpreters and native code round alike), the tensor and loop interpreters after
convert-graph-to-tensor and convert-tensor-to-loop, and natively compiled code; a few
modules also run as wasm. Then ONNX: a model with an int64 input, Equal, Where on the
runtime condition and Cast against ONNX Runtime, and the errors naming the node.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

import irforge
from irforge.dialects import graph, make_dialect_context
from irforge.dialects.arrays import element_type, from_numpy
from irforge.dialects.graph import shape as graph_shape
from irforge.dialects.reference import run_reference
from irforge.frontends.onnx import ONNXImportError, import_onnx
from irforge.passes.infra.manager import run_pass_pipeline

STAGES = ["convert-graph-to-tensor", "convert-tensor-to-loop"]
DTYPES = [np.float32, np.int64, np.int32, np.bool_]
HAS_WASM = all(importlib.util.find_spec(m) is not None for m in ("wasmtime", "ziglang"))
NAN, INF = np.nan, np.inf


def module_of(arrays, body) -> ModuleOp:
    """`func.func @main` over tensors of the arrays' shapes and dtypes; `body(b, args)`
    builds the results."""
    block = Block(arg_types=[TensorType(element_type(a.dtype), a.shape) for a in arrays])
    b = Builder(InsertPoint.at_end(block))
    results = body(b, block.args)
    b.insert(func.ReturnOp(*results))
    types = ([a.type for a in block.args], [r.type for r in results])
    module = ModuleOp([func.FuncOp("main", types, Region(block))])
    module.verify()
    return module


def check_levels(arrays, body, targets=("native",)) -> list[np.ndarray]:
    """The reference results of `body` on `arrays`; the interpreters after each lowering
    stage and the compiled code for each of `targets` give the same arrays exactly."""
    ctx = make_dialect_context()
    module = module_of(arrays, body)
    expected = run_reference(module, arrays)
    for stage in STAGES:
        run_pass_pipeline(module, stage, ctx)
        for got, want in zip(run_reference(module, arrays), expected, strict=True):
            assert got.dtype == want.dtype, stage
            np.testing.assert_array_equal(got, want, err_msg=stage)
    for target in targets:
        out = irforge.compile(module_of(arrays, body), target=target)(*arrays)
        out = out if isinstance(out, tuple) else (out,)
        for got, want in zip(out, expected, strict=True):
            assert got.dtype == want.dtype, target
            np.testing.assert_array_equal(got, want, err_msg=target)
    return expected


def sample(dtype, shape, seed=0) -> np.ndarray:
    """Values of `dtype` with repeats (so that equal pairs occur); f32 gets NaN, +-inf and
    -0.0 among them."""
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dtype == np.float32:
        pool = np.array([NAN, INF, -INF, -0.0, 0.0, 1.5, -2.0, 3.0], np.float32)
        return rng.choice(pool, shape)
    return rng.integers(-3, 4, shape).astype(dtype)


COMPARE = {
    graph.EqualOp: np.equal,
    graph.LessOp: np.less,
    graph.LessOrEqualOp: np.less_equal,
    graph.GreaterOp: np.greater,
    graph.GreaterOrEqualOp: np.greater_equal,
}


# --------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_comparisons_broadcast_and_match_numpy(dtype):
    """All five comparisons of a [3, 4] and a [4] tensor (NaN compares false)."""
    x, y = sample(dtype, (3, 4), 1), sample(dtype, (4,), 2)

    def body(b, a):
        return [b.insert(cls(a[0], a[1])).result for cls in COMPARE]

    got = check_levels([x, y], body)
    with np.errstate(invalid="ignore"):
        for out, fn in zip(got, COMPARE.values()):
            np.testing.assert_array_equal(out, fn(x, y))
            assert out.dtype == np.bool_
    if dtype == np.float32:  # the NaN rows of the sample: every comparison is false
        assert not any(out[np.isnan(np.broadcast_to(x, (3, 4)))].any() for out in got)


def test_bool_compares_false_below_true():
    """Unsigned on i1: false < true (signed, an i1 true would read as -1)."""
    x, y = np.array([False, True, False, True]), np.array([False, False, True, True])

    def body(b, a):
        return [b.insert(cls(a[0], a[1])).result for cls in COMPARE]

    got = check_levels([x, y], body)
    np.testing.assert_array_equal(got[1], [False, False, True, False])  # less


# --------------------------------------------------------------------------------- logic


def test_logic_ops_broadcast_and_match_numpy():
    p, q = sample(np.bool_, (2, 3, 4), 3), sample(np.bool_, (3, 1), 4)

    def body(b, a):
        ops = [graph.AndOp(a[0], a[1]), graph.OrOp(a[0], a[1]), graph.XorOp(a[0], a[1])]
        return [b.insert(op).result for op in ops] + [b.insert(graph.NotOp(a[0])).result]

    got = check_levels([p, q], body)
    for out, want in zip(got, [p & q, p | q, p ^ q, ~p]):
        np.testing.assert_array_equal(out, want)


# ---------------------------------------------------------------------------------- cast

CAST_SOURCES = {
    np.float32: np.array(
        [[NAN, INF, -INF, 3e9, -3e9, 1e19], [-1e19, 2.9, -2.9, -0.0, 0.5, 7.0]], np.float32
    ),
    # 2**60 + 2**36 + 1 rounds to f32 differently through f64 (twice) than at once
    np.int64: np.array([[0, 1, -1, 2**31, -(2**31) - 1, 2**60 + 2**36 + 1], [7, -8, 3, 2, 9, -4]]),
    np.int32: np.array([[0, 1, -1, 2**31 - 1, -(2**31), 5], [7, -8, 3, 2, 9, -4]], np.int32),
    np.bool_: np.array([[True, False, True, True, False, False]] * 2),
}


@pytest.mark.parametrize("src", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cast_to_every_type(src):
    """ONNX Cast semantics: float -> int truncates toward zero and saturates, NaN -> 0;
    integers wrap when narrowed; anything -> bool is != 0 (NaN is true); bool -> 0/1."""
    x = CAST_SOURCES[src]

    def body(b, a):
        return [b.insert(graph.CastOp(a[0], element_type(np.dtype(d)))).result for d in DTYPES]

    got = check_levels([x], body)
    for out, dst in zip(got, DTYPES):
        assert out.dtype == np.dtype(dst)
        if src == np.float32 and dst in (np.int64, np.int32):
            info = np.iinfo(dst)
            row0 = [0, info.max, info.min, min(3_000_000_000, info.max)]
            row0 += [max(-3_000_000_000, info.min), info.max]
            np.testing.assert_array_equal(out[0], row0)
            np.testing.assert_array_equal(out[1], [info.min, 2, -2, 0, 0, 7])
        else:  # NumPy's astype: wraps on narrowing, != 0 to bool, 0/1 from bool
            with np.errstate(invalid="ignore"):
                np.testing.assert_array_equal(out, x.astype(dst))


# --------------------------------------------------------------------------------- where


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_where_with_a_runtime_condition(dtype):
    """The condition computed at run time (a comparison) and given as an input, x and y of
    any type, all three broadcast."""
    c, x, y = sample(np.float32, (2, 1, 4), 5), sample(dtype, (3, 1), 6), sample(dtype, (4,), 7)
    m = sample(np.bool_, (3, 4), 8)

    def body(b, a):
        zero = b.insert(graph.ConstantOp(from_numpy(np.zeros((), np.float32)))).result
        cond = b.insert(graph.GreaterOp(a[0], zero)).result
        w1 = b.insert(graph_shape.WhereOp(cond, a[1], a[2])).result
        return [w1, b.insert(graph_shape.WhereOp(a[3], a[2], a[1])).result]

    w1, w2 = check_levels([c, x, y, m], body)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(w1, np.where(c > 0, x, y))
    np.testing.assert_array_equal(w2, np.where(m, y, x))


# ------------------------------------------------------------------------ verifier errors


def _arg(dtype, shape=(2,)):
    return Block(arg_types=[TensorType(element_type(np.dtype(dtype)), shape)]).args[0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: graph.LessOp(_arg(np.float32), _arg(np.int64)), "operand #1 has element type i64"),
        (lambda: graph.AndOp(_arg(np.float32), _arg(np.float32)), "expected i1"),
        (lambda: graph.NotOp(_arg(np.int32)), "input has element type i32, expected i1"),
        (lambda: graph.CastOp(_arg(np.float32), element_type(np.dtype("float64"))), "result"),
        (
            lambda: graph_shape.WhereOp(_arg(np.float32), _arg(np.float32), _arg(np.float32)),
            "condition has element type f32, expected i1",
        ),
        (
            lambda: graph_shape.WhereOp(_arg(np.bool_), _arg(np.float32), _arg(np.int32)),
            "operand #2 has element type i32, expected f32 like operand #1",
        ),
    ],
)
def test_verifier_rejects_bad_element_types(make, message):
    with pytest.raises(VerifyException, match=message):
        make().verify()


# ---------------------------------------------------------------------------------- wasm


@pytest.mark.skipif(not HAS_WASM, reason="the wasm backend needs wasmtime and ziglang")
def test_every_family_in_wasm():
    """Comparisons, logic, cast and where in one wasm module; the bool tensors are long
    enough for vectorize-loops (4 x 300 bools: a vector<16 x i1> copy must move bytes,
    not LLVM's packed bits)."""
    x, y = sample(np.float32, (4, 300), 9), sample(np.float32, (300,), 10)
    p, k = sample(np.bool_, (1, 300), 11), sample(np.int64, (4, 300), 12)

    def body(b, a):
        lt = b.insert(graph.LessOp(a[0], a[1])).result
        both = b.insert(graph.AndOp(lt, b.insert(graph.NotOp(a[2])).result)).result
        wide = b.insert(graph_shape.ExpandOp(a[2], [4, 300])).result
        as_f32 = b.insert(graph.CastOp(a[3], element_type(np.dtype("float32")))).result
        chosen = b.insert(graph_shape.WhereOp(both, a[0], as_f32)).result
        return [both, wide, chosen]

    both, wide, chosen = check_levels([x, y, p, k], body, targets=("native", "wasm"))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(both, (x < y) & ~p)
    np.testing.assert_array_equal(wide, np.broadcast_to(p, (4, 300)))


# ---------------------------------------------------------------------------------- ONNX


def _model(nodes, inputs, outputs, opset=17, initializers=()):
    g = helper.make_graph(
        nodes,
        "logic",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        list(initializers),
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def test_int64_equal_where_cast_matches_onnxruntime():
    """ids (int64) -> Equal(ids, 0) -> Where(mask, -10000.0, x) -> Cast to int32: the
    attention-mask idiom of exported transformers, with the condition known only at run
    time."""
    nodes = [
        helper.make_node("Equal", ["ids", "zero"], ["pad"], name="eq"),
        helper.make_node("Where", ["pad", "big", "x"], ["masked"], name="where"),
        helper.make_node("Cast", ["masked"], ["y"], name="cast", to=TensorProto.INT32),
        helper.make_node("Not", ["pad"], ["keep"], name="not"),
    ]
    inits = [
        onnx.numpy_helper.from_array(np.array(0, np.int64), "zero"),
        onnx.numpy_helper.from_array(np.array(-10000.0, np.float32), "big"),
    ]
    model = _model(
        nodes,
        [("ids", TensorProto.INT64, [2, 5]), ("x", TensorProto.FLOAT, [5])],
        [("y", TensorProto.INT32, [2, 5]), ("keep", TensorProto.BOOL, [2, 5])],
        initializers=inits,
    )
    ids = np.array([[3, 0, 7, 0, 1], [0, 0, 2, 9, -1]], np.int64)
    x = np.array([1.7, -2.5, 3.0, 1e4, -0.4], np.float32)  # in range: ORT leaves the rest undefined
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"ids": ids, "x": x})
    module = import_onnx(model)
    names = [op.name for op in module.walk() if op.name.startswith("graph.")]
    assert "graph.where" in names and "graph.cast" in names
    ref = run_reference(module, [ids, x])
    native = irforge.compile(model)(ids, x)
    for got in (ref, native):
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_known_cast_is_evaluated_at_import():
    nodes = [
        helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["x", "kf"], ["y"]),
    ]
    k = onnx.numpy_helper.from_array(np.array([1, 2], np.int64), "k")
    model = _model(
        nodes, [("x", TensorProto.FLOAT, [2])], [("y", TensorProto.FLOAT, [2])], initializers=[k]
    )
    module = import_onnx(model)
    assert [op.name for op in module.walk() if op.name.startswith("graph.")] == [
        "graph.constant",
        "graph.add",
    ]


@pytest.mark.parametrize(
    "node, inputs, out_type, message",
    [
        (
            helper.make_node("Equal", ["a", "b"], ["y"], name="mixed"),
            [("a", TensorProto.FLOAT, [2]), ("b", TensorProto.INT64, [2])],
            TensorProto.BOOL,
            "Equal node 'mixed': .*operand #1 has element type i64, expected f32",
        ),
        (
            helper.make_node("Cast", ["a"], ["y"], name="to_f64", to=TensorProto.DOUBLE),
            [("a", TensorProto.FLOAT, [2])],
            TensorProto.DOUBLE,
            "Cast node 'to_f64': casts to double; irforge computes float32, int64, int32 and bool",
        ),
        (
            helper.make_node("CastLike", ["a", "f64"], ["y"], name="like"),
            [("a", TensorProto.INT32, [2])],
            TensorProto.DOUBLE,
            "CastLike node 'like': casts to f64; irforge computes float32",
        ),
        (
            helper.make_node("And", ["a", "a"], ["y"], name="and_f32"),
            [("a", TensorProto.FLOAT, [2])],
            TensorProto.BOOL,
            "And node 'and_f32': .*operand #0 has element type f32, expected i1",
        ),
    ],
)
def test_import_errors_name_the_node(node, inputs, out_type, message):
    """Mixed operand types, a Cast to a type irforge does not compute, And on floats (ONNX
    Runtime's checker would refuse this model; irforge names the node too)."""
    g = helper.make_graph(
        [node],
        "bad",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info("y", out_type, [2])],
        [onnx.numpy_helper.from_array(np.zeros(2, np.float64), "f64")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(ONNXImportError, match=message):
        import_onnx(model)
