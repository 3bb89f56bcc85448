"""convert-graph-to-tensor rules for the graph dialect's core ops (dialects/graph/):
constant, add / sub / mul, relu, matmul, gemm, softmax, identity, transpose, reshape.

Each rule is registered with `base.lowers` for its op classes (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module.

Binary ops are one pointwise generic whose body is the scalar op of `BINARY` (ONNX
broadcasting is in the indexing maps, see the pass's module docstring). Matmul and Gemm are
a zero fill plus a reduction generic over (i, j, k), Gemm's `alpha` and `beta * C` one
pointwise epilogue; Softmax is the numerically stable four-step form (max, exp(x - max),
sum, divide), as in the ONNX spec. Constants become `arith.constant` of a dense tensor;
identity is its input; transpose and reshape are copying generics whose input map permutes
(transpose) or re-splits the row-major linear index (reshape, floordiv / mod).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects import graph
from ...dialects.tensor import PARALLEL, REDUCTION, EmptyOp, build_generic
from .base import BodyFn, Lowered, broadcast_map, constant, elementwise, fill, lowers


@lowers(graph.ConstantOp)
def lower_constant(op: graph.ConstantOp) -> Lowered:
    c = arith.ConstantOp(op.value, op.result.type)
    return Lowered([c], [c.result])


BINARY: dict[type[Operation], tuple[type[Operation], type[Operation]]] = {
    graph.AddOp: (arith.AddfOp, arith.AddiOp),
    graph.SubOp: (arith.SubfOp, arith.SubiOp),
    graph.MulOp: (arith.MulfOp, arith.MuliOp),
}
"""Binary op class -> its scalar `arith` ops on (float, integer) elements (read when an op
is lowered). Integer arithmetic wraps around (two's complement), as NumPy's and ONNX
Runtime's do."""


@lowers(*BINARY)
def lower_binary(op: Operation) -> Lowered:
    on_float, on_int = BINARY[type(op)]
    is_int = isinstance(op.results[0].type.element_type, IntegerType)
    scalar = on_int if is_int else on_float
    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(scalar(a[0], a[1])).result]

    res = elementwise(ops, op.operands, op.results[0].type, body)
    return Lowered(ops, [res])


@lowers(graph.ReluOp)
def lower_relu(op: graph.ReluOp) -> Lowered:
    ops: list[Operation] = []
    elem = op.result.type.element_type

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        zero = constant(b, 0.0, elem)
        return [b.insert(arith.MaximumfOp(a[0], zero)).result]

    res = elementwise(ops, [op.input], op.result.type, body)
    return Lowered(ops, [res])


def _contraction(
    ops: list[Operation],
    a: SSAValue,
    b: SSAValue,
    result_type: TensorType,
    map_a: AffineMap,
    map_b: AffineMap,
) -> SSAValue:
    """sum_k A[map_a] * B[map_b] into zeros: a generic over the result's dims (parallel)
    and one reduction dim k, the last of the domain. Float elements multiply-add with
    arith.mulf / addf (the form the microkernel lowering recognizes), integers with
    arith.muli / addi (wrapping)."""
    acc = fill(ops, result_type, 0.0)
    rank = len(result_type.get_shape())
    is_int = isinstance(result_type.element_type, IntegerType)
    mul, add = (arith.MuliOp, arith.AddiOp) if is_int else (arith.MulfOp, arith.AddfOp)

    def body(bld: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        prod = bld.insert(mul(s[0], s[1])).result
        return [bld.insert(add(s[2], prod)).result]

    maps = [map_a, map_b, AffineMap(rank + 1, 0, AffineMap.identity(rank).results)]
    gen = build_generic([a, b], [acc], maps, [PARALLEL] * rank + [REDUCTION], body)
    ops.append(gen)
    return gen.res[0]


@lowers(graph.MatMulOp)
def lower_matmul(op: graph.MatMulOp) -> Lowered:
    """numpy.matmul as one contraction generic over (batch..., m, n, k), without copies.

    The batch dims are outer parallel dims; an operand's batch dims are read through its
    broadcast map (a size-1 dim against a larger one reads index 0; missing leading dims
    are not read); a 1-D operand has no m (lhs) or n (rhs) dim. [B, S, H] x [H, N]:
    A[b, s, k], W[k, n] -> C[b, s, n]; [B, h, S, d] x [B, h, d, T]: A[b, h, s, k],
    B[b, h, k, t] -> C[b, h, s, t]. The microkernel lowering (convert-tensor-to-loop,
    microkernel/contraction.py) takes b and s of the first as one M of rows, and b and h
    of the second as outer loops.
    """
    ops: list[Operation] = []
    sa, sb = op.lhs.type.get_shape(), op.rhs.type.get_shape()
    out = op.result.type.get_shape()
    rank = len(out)
    has_m, has_n = len(sa) > 1, len(sb) > 1
    n_batch = rank - has_m - has_n
    batch = out[:n_batch]
    dim = AffineExpr.dimension
    m, n, k = dim(n_batch), dim(n_batch + has_m), dim(rank)

    def operand_map(shape: Sequence[int], rows: tuple[AffineExpr, ...]) -> AffineMap:
        lead = broadcast_map(shape[:-2], batch).results if len(shape) > 1 else ()
        return AffineMap(rank + 1, 0, (*lead, *rows))

    map_a = operand_map(sa, (m, k) if has_m else (k,))
    map_b = operand_map(sb, (k, n) if has_n else (k,))
    res = _contraction(ops, op.lhs, op.rhs, op.result.type, map_a, map_b)
    return Lowered(ops, [res])


@lowers(graph.GemmOp)
def lower_gemm(op: graph.GemmOp) -> Lowered:
    """alpha * (A' @ B') + beta * C: a contraction, then one pointwise epilogue."""
    ops: list[Operation] = []
    t = op.result.type
    elem = t.element_type
    alpha, beta = op.alpha.value.data, op.beta.value.data
    i, j, k = (AffineExpr.dimension(n) for n in range(3))
    map_a = AffineMap(3, 0, (k, i) if op.transA.value.data else (i, k))
    map_b = AffineMap(3, 0, (j, k) if op.transB.value.data else (k, j))
    res = _contraction(ops, op.a, op.b, t, map_a, map_b)
    has_c = op.c is not None and beta != 0.0
    if alpha != 1.0 or has_c:
        ins = [res, op.c] if has_c else [res]

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            v = s[0]
            if alpha != 1.0:
                v = b.insert(arith.MulfOp(constant(b, alpha, elem), v)).result
            if has_c:
                c = s[1]
                if beta != 1.0:
                    c = b.insert(arith.MulfOp(constant(b, beta, elem), c)).result
                v = b.insert(arith.AddfOp(v, c)).result
            return [v]

        res = elementwise(ops, ins, t, body)
    return Lowered(ops, [res])


@lowers(graph.SoftmaxOp)
def lower_softmax(op: graph.SoftmaxOp) -> Lowered:
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along the axis (ONNX Softmax-13)."""
    ops: list[Operation] = []
    t = op.result.type
    shape, elem = t.get_shape(), t.element_type
    rank, axis = len(shape), op.normalized_axis()
    reduced_t = TensorType(elem, [s for d, s in enumerate(shape) if d != axis])
    full = AffineMap.identity(rank)
    reduced = AffineMap(rank, 0, tuple(AffineExpr.dimension(d) for d in range(rank) if d != axis))
    iters = [REDUCTION if d == axis else PARALLEL for d in range(rank)]

    def reduce(src: SSAValue, init: float, combine: type[Operation]) -> SSAValue:
        acc = fill(ops, reduced_t, init)

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            return [b.insert(combine(s[1], s[0])).result]

        gen = build_generic([src], [acc], [full, reduced], iters, body)
        ops.append(gen)
        return gen.res[0]

    def pointwise(ins: list[SSAValue], body: BodyFn) -> SSAValue:
        empty = EmptyOp(t)
        maps = [full, reduced, full]
        gen = build_generic(ins, [empty.result], maps, [PARALLEL] * rank, body)
        ops.extend([empty, gen])
        return gen.res[0]

    mx = reduce(op.input, -math.inf, arith.MaximumfOp)

    def exp_body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        d = b.insert(arith.SubfOp(s[0], s[1])).result
        return [b.insert(xmath.ExpOp(d)).result]

    e = pointwise([op.input, mx], exp_body)
    total = reduce(e, 0.0, arith.AddfOp)

    def div_body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(arith.DivfOp(s[0], s[1])).result]

    return Lowered(ops, [pointwise([e, total], div_body)])


@lowers(graph.IdentityOp)
def lower_identity(op: graph.IdentityOp) -> Lowered:
    """Identity is its input: no computation at the tensor level."""
    return Lowered([], [op.input])


def _copy(x: SSAValue, in_map: AffineMap, result_type: TensorType) -> Lowered:
    """A generic copying `x`, read through `in_map`, into a new tensor of `result_type`."""
    rank = len(result_type.get_shape())
    empty = EmptyOp(result_type)

    def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        return [s[0]]

    gen = build_generic(
        [x], [empty.result], [in_map, AffineMap.identity(rank)], [PARALLEL] * rank, body
    )
    return Lowered([empty, gen], [gen.res[0]])


@lowers(graph.TransposeOp)
def lower_transpose(op: graph.TransposeOp) -> Lowered:
    """out[i_0, ..., i_r-1] = in[j] with j[perm[k]] = i_k: a permuted indexing map."""
    perm = op.permutation
    rank = len(perm)
    inverse = [0] * rank
    for k, p in enumerate(perm):
        inverse[p] = k
    in_map = AffineMap(rank, 0, tuple(AffineExpr.dimension(inverse[p]) for p in range(rank)))
    return _copy(op.input, in_map, op.result.type)


def _delinearize(linear: AffineExpr, shape: Sequence[int]) -> list[AffineExpr]:
    """Row-major indices of the element at `linear` in `shape` (floordiv / mod)."""
    exprs = []
    stride = 1
    for size in reversed(shape):
        e = linear // stride if stride != 1 else linear
        exprs.append(e % size if size != 1 else AffineExpr.constant(0))
        stride *= size
    return exprs[::-1]


@lowers(graph.ReshapeOp)
def lower_reshape(op: graph.ReshapeOp) -> Lowered:
    """out[i] = in[delinearize(linearize(i))]: row-major order is kept, so the input index
    is the output's linear index split by the input's strides (floordiv / mod maps)."""
    out_shape = op.result.type.get_shape()
    rank = len(out_shape)
    linear: AffineExpr = AffineExpr.constant(0)
    stride = 1
    for d in reversed(range(rank)):
        linear = AffineExpr.dimension(d) * stride + linear
        stride *= out_shape[d]
    in_map = AffineMap(rank, 0, tuple(_delinearize(linear, op.input.type.get_shape())))
    return _copy(op.input, in_map, op.result.type)
