"""Reference semantics: graph ops against ONNX Runtime, tensor and loop IR against NumPy.

Tolerances: elementwise ops (add, sub, mul, relu) and bodies made of single f32 arith ops
are exact (IEEE binary32 both sides). Matrix products compare with rtol=1e-5, atol=1e-4
(inputs in [-10, 10], K <= 6: the summation order differs between BLAS, ONNX Runtime and a
sequential loop). Softmax compares with rtol=1e-5, atol=1e-6.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes
from onnx import TensorProto, helper
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f32
from xdsl.ir import Block
from xdsl.parser import Parser

from irforge.dialects import graph, make_dialect_context
from irforge.dialects.graph_reference import REFERENCE, evaluate
from irforge.dialects.reference import make_interpreter, run_reference

SETTINGS = settings(max_examples=25, deadline=None)
MM_TOL = dict(rtol=1e-5, atol=1e-4)
ELEMENTS = st.floats(-10, 10, width=32, allow_subnormal=False)
dims = st.integers(1, 4)


def f32_array(shape) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, shape, elements=ELEMENTS)


def parse(text: str):
    module = Parser(make_dialect_context(), text).parse_module()
    module.verify()
    return module


def args_of(*arrays: np.ndarray) -> list:
    """Block arguments typed like `arrays`, to build graph ops on."""
    block = Block(arg_types=[TensorType(f32, a.shape) for a in arrays])
    return list(block.args)


def run_onnx(op_type: str, inputs: list[np.ndarray | None], **attrs) -> np.ndarray:
    """Run one ONNX node (opset 13, absent optional inputs as None) in ONNX Runtime."""
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    node = helper.make_node(op_type, names, ["y"], **attrs)
    value_infos = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
        for n, a in zip(names, inputs)
        if a is not None
    ]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(
        helper.make_graph([node], "g", value_infos, [y]),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 8  # ONNX Runtime 1.31 accepts at most 13
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feeds = {n: a for n, a in zip(names, inputs) if a is not None}
    return session.run(None, feeds)[0]


# --- graph ops against ONNX Runtime -------------------------------------------------------


@pytest.mark.parametrize(
    "op_type, cls", [("Add", graph.AddOp), ("Sub", graph.SubOp), ("Mul", graph.MulOp)]
)
@SETTINGS
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3))
def test_binary_broadcasting(op_type, cls, data, shapes):
    a = data.draw(f32_array(shapes.input_shapes[0]))
    b = data.draw(f32_array(shapes.input_shapes[1]))
    op = cls(*args_of(a, b))
    got = evaluate(op, [a, b])
    assert got.dtype == np.float32 and got.shape == shapes.result_shape
    np.testing.assert_array_equal(got, run_onnx(op_type, [a, b]))


@SETTINGS
@given(x=st.tuples(dims, dims).flatmap(f32_array))
def test_relu(x):
    got = evaluate(graph.ReluOp(*args_of(x)), [x])
    np.testing.assert_array_equal(got, run_onnx("Relu", [x]))


@SETTINGS
@given(data=st.data(), m=dims, k=st.integers(1, 6), n=dims)
def test_matmul(data, m, k, n):
    a, b = data.draw(f32_array((m, k))), data.draw(f32_array((k, n)))
    got = evaluate(graph.MatMulOp(*args_of(a, b)), [a, b])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, run_onnx("MatMul", [a, b]), **MM_TOL)


C_SHAPES = ["none", "mn", "n", "1n", "m1", "scalar"]


@SETTINGS
@given(
    data=st.data(),
    m=dims,
    k=st.integers(1, 6),
    n=dims,
    trans_a=st.sampled_from([0, 1]),
    trans_b=st.sampled_from([0, 1]),
    alpha=st.sampled_from([1.0, 0.5, -2.0, 0.0]),
    beta=st.sampled_from([1.0, 0.25, -1.0, 0.0]),
    c_shape=st.sampled_from(C_SHAPES),
)
def test_gemm(data, m, k, n, trans_a, trans_b, alpha, beta, c_shape):
    a = data.draw(f32_array((k, m) if trans_a else (m, k)))
    b = data.draw(f32_array((n, k) if trans_b else (k, n)))
    shape = {"mn": (m, n), "n": (n,), "1n": (1, n), "m1": (m, 1), "scalar": ()}.get(c_shape)
    c = None if shape is None else data.draw(f32_array(shape))
    values = args_of(*[x for x in (a, b, c) if x is not None])
    op = graph.GemmOp(*values, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    op.verify()
    got = evaluate(op, [x for x in (a, b, c) if x is not None])
    want = run_onnx("Gemm", [a, b, c], alpha=alpha, beta=beta, transA=trans_a, transB=trans_b)
    assert got.dtype == np.float32 and got.shape == (m, n)
    np.testing.assert_allclose(got, want, **MM_TOL)


@SETTINGS
@given(data=st.data(), shape=st.lists(dims, min_size=1, max_size=3))
def test_softmax(data, shape):
    x = data.draw(arrays(np.float32, shape, elements=st.floats(-80, 80, width=32)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    got = evaluate(graph.SoftmaxOp(*args_of(x), axis=axis), [x])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, run_onnx("Softmax", [x], axis=axis), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-5)


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1001.0], [-1000.0, -1000.0]], np.float32)
    got = evaluate(graph.SoftmaxOp(*args_of(x)), [x])
    np.testing.assert_allclose(got, [[0.26894143, 0.7310586], [0.5, 0.5]], rtol=1e-6)


def test_transpose_keeps_the_rank_of_a_rank0_tensor():
    """A rank-0 transpose (empty perm) is rank 0 (found by the program fuzzer: the
    reference gave shape [1])."""
    x = np.array(2.5, np.float32)
    got = evaluate(graph.TransposeOp(*args_of(x), []), [x])
    assert got.shape == () and got == 2.5
    y = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = evaluate(graph.TransposeOp(*args_of(y), [1, 0]), [y])
    assert got.flags.c_contiguous and got.base is None
    np.testing.assert_array_equal(got, y.T)


def test_constant_and_table():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    attr = DenseIntOrFPElementsAttr.from_list(TensorType(f32, [2, 3]), value.ravel().tolist())
    np.testing.assert_array_equal(evaluate(graph.ConstantOp(attr), []), value)
    assert set(REFERENCE) == set(graph.Graph.operations)


def test_graph_level_function():
    module = parse(
        """
        func.func @main(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>)
            -> tensor<2x4xf32> {
          %g = "graph.gemm"(%a, %b, %c) <{alpha = 0.5 : f32, beta = 2.0 : f32,
              transA = 0 : i64, transB = 1 : i64}>
              : (tensor<2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x4xf32>
          %s = "graph.softmax"(%g) <{axis = 0 : i64}> : (tensor<2x4xf32>) -> tensor<2x4xf32>
          func.return %s : tensor<2x4xf32>
        }"""
    )
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (4, 3), (4,)])
    (got,) = run_reference(module, [a, b, c])
    g = 0.5 * a @ b.T + 2.0 * c
    e = np.exp(g - g.max(axis=0))
    np.testing.assert_allclose(got, e / e.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_scalar_ops_round_to_f32_and_follow_ieee():
    module = parse(
        """
        func.func @f(%x: f32, %y: f32, %zero: f32) -> (f32, f32, f32, f32, f32, f32) {
          %s = arith.addf %x, %y : f32
          %d = arith.divf %x, %zero : f32
          %n = arith.divf %zero, %zero : f32
          %e = math.exp %y : f32
          %l = math.log %zero : f32
          %q = math.sqrt %x : f32
          func.return %s, %d, %n, %e, %l, %q : f32, f32, f32, f32, f32, f32
        }"""
    )
    s, d, n, e, lg, q = make_interpreter(module).call_op("f", (-1.0, 100.0, 0.0))
    assert s == 99.0 and d == -np.inf and np.isnan(n) and lg == -np.inf and np.isnan(q)
    assert e == np.inf  # exp(100) overflows binary32, not binary64
    a, b = np.float32(0.1), np.float32(0.2)
    t = make_interpreter(module).call_op("f", (float(a), float(b), 1.0))[0]
    assert t == float(a + b) != float(a) + float(b)  # rounded to binary32, not binary64


# --- tensor.generic ----------------------------------------------------------------------


def generic(ins: str, outs: str, maps: list[str], iters: list[str], body: str, types: str):
    """The generic form of a tensor.generic; `types` is `(operand types) -> result`."""
    n_in, n_out = len(ins.split(",")) if ins else 0, len(outs.split(","))
    return (
        f'"tensor.generic"({", ".join(x for x in (ins, outs) if x)}) <{{'
        f"indexing_maps = [{', '.join(f'affine_map<{m}>' for m in maps)}], "
        f"iterator_types = [{', '.join(f'{chr(34)}{i}{chr(34)}' for i in iters)}], "
        f"operandSegmentSizes = array<i32: {n_in}, {n_out}>}}> ({{\n{body}\n}}) : {types}"
    )


def fill(value: str, out: str, t: str, rank: int) -> str:
    """A generic that overwrites every element of `out` (of type `t`) with `value`."""
    d = ", ".join(f"d{i}" for i in range(rank))
    body = f'^bb0(%o: f32):\n  "tensor.yield"({value}) : (f32) -> ()'
    return generic("", out, [f"({d}) -> ({d})"], ["parallel"] * rank, body, f"({t}) -> {t}")


@SETTINGS
@given(data=st.data(), m=dims, n=dims)
def test_generic_elementwise_broadcast(data, m, n):
    x, b, r = (data.draw(f32_array(s)) for s in [(m, n), (n,), (1, n)])
    t, tb, tr = f"tensor<{m}x{n}xf32>", f"tensor<{n}xf32>", f"tensor<1x{n}xf32>"
    body = """^bb0(%xs: f32, %bs: f32, %rs: f32, %o: f32):
      %s = "arith.addf"(%xs, %bs) : (f32, f32) -> f32
      %p = "arith.mulf"(%s, %rs) : (f32, f32) -> f32
      "tensor.yield"(%p) : (f32) -> ()"""
    op = generic(
        "%x, %b, %r",
        "%e",
        ["(d0, d1) -> (d0, d1)", "(d0, d1) -> (d1)", "(d0, d1) -> (0, d1)", "(d0, d1) -> (d0, d1)"],
        ["parallel", "parallel"],
        body,
        f"({t}, {tb}, {tr}, {t}) -> {t}",
    )
    module = parse(
        f"""func.func @main(%x: {t}, %b: {tb}, %r: {tr}) -> {t} {{
          %e = "tensor.empty"() : () -> {t}
          %y = {op}
          func.return %y : {t}
        }}"""
    )
    (got,) = run_reference(module, [x, b, r])
    np.testing.assert_array_equal(got, (x + b) * r)  # f32 rounding per op: exact


def matmul_module(m: int, k: int, n: int) -> str:
    ta, tb, tc = (f"tensor<{p}x{q}xf32>" for p, q in [(m, k), (k, n), (m, n)])
    body = """^bb0(%x: f32, %y: f32, %acc: f32):
      %p = "arith.mulf"(%x, %y) : (f32, f32) -> f32
      %s = "arith.addf"(%acc, %p) : (f32, f32) -> f32
      "tensor.yield"(%s) : (f32) -> ()"""
    mm = generic(
        "%a, %b",
        "%init",
        ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d2, d1)", "(d0, d1, d2) -> (d0, d1)"],
        ["parallel", "parallel", "reduction"],
        body,
        f"({ta}, {tb}, {tc}) -> {tc}",
    )
    return f"""func.func @main(%a: {ta}, %b: {tb}) -> ({tc}, {tc}) {{
      %e = "tensor.empty"() : () -> {tc}
      %z = "arith.constant"() <{{value = 0.0 : f32}}> : () -> f32
      %init = {fill("%z", "%e", tc, 2)}
      %c = {mm}
      %r = "graph.relu"(%c) : ({tc}) -> {tc}
      func.return %c, %r : {tc}, {tc}
    }}"""


@SETTINGS
@given(data=st.data(), m=dims, k=st.integers(1, 6), n=dims)
def test_generic_matmul_reduction(data, m, k, n):
    a, b = data.draw(f32_array((m, k))), data.draw(f32_array((k, n)))
    got, relu = run_reference(parse(matmul_module(m, k, n)), [a, b])
    np.testing.assert_allclose(got, a @ b, **MM_TOL)
    sequential = np.zeros((m, n), np.float32)
    for kk in range(k):  # the generic's order: f32 rounding after every mul and add
        sequential += a[:, kk : kk + 1] * b[kk : kk + 1, :]
    np.testing.assert_array_equal(got, sequential)
    np.testing.assert_array_equal(relu, np.maximum(got, 0))  # a graph op on a generic


def row_max_module(m: int, n: int, init: bool) -> str:
    t, tr = f"tensor<{m}x{n}xf32>", f"tensor<{m}xf32>"
    body = """^bb0(%xs: f32, %acc: f32):
      %s = "arith.maximumf"(%acc, %xs) : (f32, f32) -> f32
      "tensor.yield"(%s) : (f32) -> ()"""
    out = "%init" if init else "%e"
    red = generic(
        "%x",
        out,
        ["(d0, d1) -> (d0, d1)", "(d0, d1) -> (d0)"],
        ["parallel", "reduction"],
        body,
        f"({t}, {tr}) -> {tr}",
    )
    return f"""func.func @main(%x: {t}) -> {tr} {{
      %e = "tensor.empty"() : () -> {tr}
      %ninf = "arith.constant"() <{{value = 0xFF800000 : f32}}> : () -> f32
      %init = {fill("%ninf", "%e", tr, 1)}
      %r = {red}
      func.return %r : {tr}
    }}"""


@SETTINGS
@given(x=st.tuples(dims, dims).flatmap(f32_array))
def test_generic_row_max(x):
    (got,) = run_reference(parse(row_max_module(*x.shape, init=True)), [x])
    np.testing.assert_array_equal(got, x.max(axis=1))


def test_generic_reading_empty_outs_gives_nan():
    (got,) = run_reference(parse(row_max_module(2, 3, init=False)), [np.ones((2, 3), np.float32)])
    assert np.isnan(got).all()


@SETTINGS
@given(data=st.data(), n=dims, k=dims)
def test_generic_non_dim_map(data, n, k):
    """A valid 1-D correlation, y[i] = sum_j x[i + j] * w[j]: the map (d0 + d1) is general."""
    x, w = data.draw(f32_array((n + k - 1,))), data.draw(f32_array((k,)))
    tx, tw, ty = f"tensor<{n + k - 1}xf32>", f"tensor<{k}xf32>", f"tensor<{n}xf32>"
    body = """^bb0(%xs: f32, %ws: f32, %acc: f32):
      %p = "arith.mulf"(%xs, %ws) : (f32, f32) -> f32
      %s = "arith.addf"(%acc, %p) : (f32, f32) -> f32
      "tensor.yield"(%s) : (f32) -> ()"""
    conv = generic(
        "%x, %w",
        "%init",
        ["(d0, d1) -> (d0 + d1)", "(d0, d1) -> (d1)", "(d0, d1) -> (d0)"],
        ["parallel", "reduction"],
        body,
        f"({tx}, {tw}, {ty}) -> {ty}",
    )
    module = parse(
        f"""func.func @main(%x: {tx}, %w: {tw}) -> {ty} {{
          %e = "tensor.empty"() : () -> {ty}
          %z = "arith.constant"() <{{value = 0.0 : f32}}> : () -> f32
          %init = {fill("%z", "%e", ty, 1)}
          %y = {conv}
          func.return %y : {ty}
        }}"""
    )
    (got,) = run_reference(module, [x, w])
    np.testing.assert_allclose(got, np.correlate(x, w, mode="valid"), **MM_TOL)


# --- loop level --------------------------------------------------------------------------


def loop_matmul_module(m: int, k: int, n: int) -> str:
    ta, tb, tc = (f"memref<{p}x{q}xf32>" for p, q in [(m, k), (k, n), (m, n)])

    def for_(iv: str, ub: str, body: str) -> str:
        return f""""loop.for"(%c0, {ub}, %c1) ({{
        ^bb_{iv[1:]}({iv}: index):
          {body}
          "loop.yield"() : () -> ()
        }}) : (index, index, index) -> ()"""

    inner = f"""%x = "loop.load"(%a, %i, %kk) : ({ta}, index, index) -> f32
          %y = "loop.load"(%b, %kk, %j) : ({tb}, index, index) -> f32
          %acc = "loop.load"(%c, %i, %j) : ({tc}, index, index) -> f32
          %p = arith.mulf %x, %y : f32
          %s = arith.addf %acc, %p : f32
          %g = "loop.load"(%bias, %j) : (memref<{n}xf32>, index) -> f32
          %sb = arith.addf %s, %g : f32
          %last = arith.cmpi eq, %kk, %km1 : index
          %v = arith.select %last, %sb, %s : f32
          "loop.store"(%v, %c, %i, %j) : (f32, {tc}, index, index) -> ()"""
    init = f'"loop.store"(%zero, %c, %i, %j) : (f32, {tc}, index, index) -> ()'
    nest = for_("%i", "%cm", for_("%j", "%cn", init + "\n" + for_("%kk", "%ck", inner)))
    bias = ", ".join(f"{v:.1f}" for v in range(n))
    return f"""
    "memref.global"() <{{sym_name = "bias", sym_visibility = "private", type = memref<{n}xf32>,
        initial_value = dense<[{bias}]> : tensor<{n}xf32>, constant}}> : () -> ()
    func.func @main(%a: {ta}, %b: {tb}, %c: {tc}) {{
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %cm = arith.constant {m} : index
      %cn = arith.constant {n} : index
      %ck = arith.constant {k} : index
      %km1 = arith.constant {k - 1} : index
      %zero = arith.constant 0.0 : f32
      %bias = memref.get_global @bias : memref<{n}xf32>
      {nest}
      func.return
    }}"""


@SETTINGS
@given(data=st.data(), m=dims, k=st.integers(1, 6), n=dims)
def test_loop_matmul_bias(data, m, k, n):
    a, b = data.draw(f32_array((m, k))), data.draw(f32_array((k, n)))
    a_before = a.copy()
    (got,) = run_reference(parse(loop_matmul_module(m, k, n)), [a, b])
    assert got.dtype == np.float32 and got.shape == (m, n)
    np.testing.assert_allclose(got, a @ b + np.arange(n, dtype=np.float32), **MM_TOL)
    np.testing.assert_array_equal(a, a_before)


LOOP_OOB = """
func.func @main(%a: memref<4xf32>, %o: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  "loop.for"(%c0, %c5, %c1) ({
  ^bb0(%i: index):
    %x = "loop.load"(%a, %i) : (memref<4xf32>, index) -> f32
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}"""


def test_loop_out_of_bounds_raises():
    with pytest.raises(Exception, match="out of bounds"):
        run_reference(parse(LOOP_OOB), [np.zeros(4, np.float32)])


def test_loop_outputs_are_allocated_and_unwritten_elements_are_nan():
    module = parse(LOOP_OOB.replace("%c5, %c1", "%c1, %c1"))  # reads a[0] only
    (out,) = run_reference(module, [np.zeros(4, np.float32)])
    assert out.shape == (4,) and out.dtype == np.float32 and np.isnan(out).all()


@pytest.mark.parametrize(
    "inputs, message",
    [
        ([np.zeros((2, 2), np.float32)], "takes 2 arguments"),
        ([np.zeros((2, 3), np.float32)] * 3, "takes 2 arguments"),
        ([np.zeros((2, 2), np.float32), np.zeros((3, 4), np.float32)], "shape"),
        ([np.zeros((2, 3), np.float64), np.zeros((3, 4), np.float32)], "float64"),
    ],
)
def test_inputs_are_checked(inputs, message):
    module = parse(matmul_module(2, 3, 4))
    with pytest.raises(ValueError, match=message):
        run_reference(module, inputs)


def test_missing_entry():
    with pytest.raises(ValueError, match="no func.func @nope"):
        run_reference(parse(matmul_module(1, 1, 1)), [], entry="nope")
