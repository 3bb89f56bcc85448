"""Random well-typed graph programs, for differential testing of the whole lowering chain.

`graph_programs()` is a hypothesis strategy of `(module, inputs)`: a `func.func @main`
over one or two f32 inputs of random static shapes, and a random chain of graph ops drawn
from those whose operand shapes fit (elementwise ops with ONNX broadcasting against values
or constants, relu, identity, matmul, gemm with random transA/transB/alpha/beta, softmax on a
random axis, transpose by a random permutation, reshape to a random factorization), and
inputs drawn from a standard normal distribution. Hypothesis shrinks a failing program to a
short chain of small shapes.

`check_program(module, inputs)` compiles the program natively and compares with the NumPy
reference semantics (rtol 1e-4, atol 1e-5: float32 sums of up to a few hundred terms, FMA
contraction and exp's rounding differ from NumPy's by a few ulps).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import func
from xdsl.dialects.builtin import Float32Type, ModuleOp, TensorType
from xdsl.ir import Block, Region, SSAValue

from irforge.dialects import graph

RTOL, ATOL = 1e-4, 1e-5


class Program(tuple):
    """`(module, inputs)` with a short repr (hypothesis prints failing examples)."""

    def __new__(cls, module: ModuleOp, inputs: list[np.ndarray]):
        return super().__new__(cls, (module, inputs))

    def __repr__(self) -> str:
        module, inputs = self
        ops = [op.name for op in module.walk() if op.name.startswith("graph.")]
        shapes = [x.shape for x in inputs]
        return f"Program(inputs={shapes}, ops={ops})"


_BINARY = [graph.AddOp, graph.SubOp, graph.MulOp]


def _shape(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape())


def _constant(b: Builder, rng: np.random.Generator, shape) -> SSAValue:
    from irforge.frontends.onnx import dense_f32

    data = rng.standard_normal(shape).astype(np.float32)
    return b.insert(graph.ConstantOp(dense_f32(data))).result


def _factorizations(n: int, max_rank: int = 3) -> list[tuple[int, ...]]:
    """Shapes of up to `max_rank` dims whose product is n."""
    out: list[tuple[int, ...]] = [(n,)]
    for a in range(1, n + 1):
        if n % a == 0:
            out.append((a, n // a))
            for c in range(1, n // a + 1):
                if (n // a) % c == 0:
                    out.append((a, c, n // a // c))
    return [s for s in out if len(s) <= max_rank]


@st.composite
def graph_programs(draw, max_ops: int = 6, max_dim: int = 5):
    """A random well-typed graph program and matching random inputs (see module docs)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, max_dim), min_size=rank, max_size=rank)))
    arg_shapes = [shape]
    if draw(st.booleans()):  # a second input that broadcasts against the first
        arg_shapes.append(tuple(d if draw(st.booleans()) else 1 for d in shape))
    block = Block(arg_types=[TensorType(Float32Type(), s) for s in arg_shapes])
    b = Builder(InsertPoint.at_end(block))
    values: list[SSAValue] = list(block.args)
    cur = values[0]
    for _ in range(draw(st.integers(1, max_ops))):
        s = _shape(cur)
        kinds = ["binary", "relu", "identity", "softmax", "transpose", "reshape"]
        if len(s) == 2:
            kinds += ["matmul", "gemm"]
        kind = draw(st.sampled_from(kinds))
        if kind == "binary":
            op_cls = draw(st.sampled_from(_BINARY))
            partners = [v for v in values if graph.broadcast_shapes(_shape(v), s) == s]
            if partners and draw(st.booleans()):
                other = draw(st.sampled_from(partners))
            else:
                k = draw(st.integers(0, len(s)))
                cshape = tuple(d if draw(st.booleans()) else 1 for d in s[len(s) - k :])
                other = _constant(b, rng, cshape)
            lhs, rhs = (cur, other) if draw(st.booleans()) else (other, cur)
            cur = b.insert(op_cls(lhs, rhs)).result
        elif kind == "relu":
            cur = b.insert(graph.ReluOp(cur)).result
        elif kind == "identity":
            cur = b.insert(graph.IdentityOp(cur)).result
        elif kind == "softmax":
            axis = draw(st.integers(-len(s), len(s) - 1))
            cur = b.insert(graph.SoftmaxOp(cur, axis=axis)).result
        elif kind == "transpose":
            perm = draw(st.permutations(range(len(s))))
            cur = b.insert(graph.TransposeOp(cur, perm)).result
        elif kind == "reshape":
            new = draw(st.sampled_from(_factorizations(math.prod(s))))
            cur = b.insert(graph.ReshapeOp(cur, new)).result
        elif kind == "matmul":
            n = draw(st.integers(1, max_dim))
            w = _constant(b, rng, (s[1], n))
            cur = b.insert(graph.MatMulOp(cur, w)).result
        else:  # gemm
            ta, tb = draw(st.integers(0, 1)), draw(st.integers(0, 1))
            m, k = (s[1], s[0]) if ta else s
            n = draw(st.integers(1, max_dim))
            w = _constant(b, rng, (n, k) if tb else (k, n))
            c = _constant(b, rng, (n,)) if draw(st.booleans()) else None
            alpha = draw(st.sampled_from([1.0, 0.5, -1.5]))
            beta = draw(st.sampled_from([1.0, 0.0, 2.0]))
            op = graph.GemmOp(cur, w, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
            cur = b.insert(op).result
        values.append(cur)
    b.insert(func.ReturnOp(cur))
    fn = func.FuncOp("main", ([a.type for a in block.args], [cur.type]), Region(block))
    module = ModuleOp([fn])
    module.verify()
    inputs = [rng.standard_normal(s).astype(np.float32) for s in arg_shapes]
    return Program(module, inputs)


def check_program(module: ModuleOp, inputs: list[np.ndarray]) -> None:
    """Compile `module` natively (in place) and assert it matches the NumPy reference.

    Raises AssertionError with both results on a mismatch.
    """
    import irforge
    from irforge.dialects.reference import run_reference

    (expected,) = run_reference(module, inputs)
    got = irforge.compile(module)(*inputs)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
