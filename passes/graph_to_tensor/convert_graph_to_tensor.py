"""`convert-graph-to-tensor`: lower named graph ops to `tensor.generic` computations.

Each graph op becomes one or more generics whose indexing maps encode its semantics:

    %r = "graph.add"(%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>

becomes (ONNX broadcasting is a map that drops or zeroes the broadcast dimensions)

    %e = "tensor.empty"() : () -> tensor<4x8xf32>
    %r = "tensor.generic"(%x, %b, %e) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
        affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
        iterator_types = ["parallel", "parallel"], ...}> ({
      ^bb0(%a: f32, %c: f32, %o: f32):
        %s = "arith.addf"(%a, %c) : (f32, f32) -> f32
        "tensor.yield"(%s) : (f32) -> ()
    }) : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>

Matmul and Gemm are a zero fill plus a reduction generic over (i, j, k); Softmax is the
numerically stable four-step form (max, exp(x - max), sum, divide), as in the ONNX spec.
Constants become `arith.constant` of a dense tensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import FloatAttr, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ...dialects import graph
from ...dialects.tensor import PARALLEL, REDUCTION, EmptyOp, build_generic
from ..patterns.legality import ConversionTarget

BodyFn = Callable[[Builder, Sequence[SSAValue]], Sequence[SSAValue]]


def broadcast_map(operand_shape: Sequence[int], result_shape: Sequence[int]) -> AffineMap:
    """The indexing map that reads an operand broadcast (ONNX rules) to `result_shape`.

    Dimensions are aligned from the right; a size-1 operand dimension against a larger
    result dimension reads index 0.
    """
    rank, offset = len(result_shape), len(result_shape) - len(operand_shape)
    exprs = []
    for i, size in enumerate(operand_shape):
        d = offset + i
        if size == 1 and result_shape[d] != 1:
            exprs.append(AffineExpr.constant(0))
        else:
            exprs.append(AffineExpr.dimension(d))
    return AffineMap(rank, 0, tuple(exprs))


def _constant(builder: Builder, value: float, elem: Attribute) -> SSAValue:
    return builder.insert(arith.ConstantOp(FloatAttr(value, elem))).result


def _fill(rewriter_ops: list[Operation], t: TensorType, value: float) -> SSAValue:
    """A tensor of type `t` with every element `value` (a generic with no inputs)."""
    empty = EmptyOp(t)
    rank = len(t.get_shape())

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        return [_constant(b, value, t.element_type)]

    fill = build_generic([], [empty.result], [AffineMap.identity(rank)], [PARALLEL] * rank, body)
    rewriter_ops += [empty, fill]
    return fill.res[0]


def _elementwise(
    ops: list[Operation], ins: Sequence[SSAValue], result_type: TensorType, body: BodyFn
) -> SSAValue:
    """`body` applied pointwise over `result_type`'s shape, inputs broadcast to it."""
    shape = result_type.get_shape()
    empty = EmptyOp(result_type)
    maps = [broadcast_map(v.type.get_shape(), shape) for v in ins]
    maps.append(AffineMap.identity(len(shape)))
    gen = build_generic(ins, [empty.result], maps, [PARALLEL] * len(shape), body)
    ops += [empty, gen]
    return gen.res[0]


class ConstantLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ConstantOp, rewriter: PatternRewriter):
        rewriter.replace(op, arith.ConstantOp(op.value, op.result.type))


_BINARY: dict[type[Operation], type[arith.FloatingPointLikeBinaryOperation]] = {
    graph.AddOp: arith.AddfOp,
    graph.SubOp: arith.SubfOp,
    graph.MulOp: arith.MulfOp,
}


class BinaryLowering(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter):
        scalar = _BINARY.get(type(op))
        if scalar is None:
            return
        ops: list[Operation] = []

        def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
            return [b.insert(scalar(a[0], a[1])).result]

        res = _elementwise(ops, op.operands, op.results[0].type, body)
        rewriter.replace(op, ops, [res])


class ReluLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReluOp, rewriter: PatternRewriter):
        ops: list[Operation] = []
        elem = op.result.type.element_type

        def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
            zero = _constant(b, 0.0, elem)
            return [b.insert(arith.MaximumfOp(a[0], zero)).result]

        res = _elementwise(ops, [op.input], op.result.type, body)
        rewriter.replace(op, ops, [res])


def _contraction(
    ops: list[Operation], a: SSAValue, b: SSAValue, result_type: TensorType, ta: bool, tb: bool
) -> SSAValue:
    """sum_k A'[i, k] * B'[k, j] over the domain (i, j, k), accumulating into zeros."""
    acc = _fill(ops, result_type, 0.0)
    i, j, k = (AffineExpr.dimension(n) for n in range(3))
    map_a = AffineMap(3, 0, (k, i) if ta else (i, k))
    map_b = AffineMap(3, 0, (j, k) if tb else (k, j))
    map_c = AffineMap(3, 0, (i, j))

    def body(bld: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
        prod = bld.insert(arith.MulfOp(s[0], s[1])).result
        return [bld.insert(arith.AddfOp(s[2], prod)).result]

    gen = build_generic([a, b], [acc], [map_a, map_b, map_c], [PARALLEL, PARALLEL, REDUCTION], body)
    ops.append(gen)
    return gen.res[0]


class MatMulLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.MatMulOp, rewriter: PatternRewriter):
        ops: list[Operation] = []
        res = _contraction(ops, op.lhs, op.rhs, op.result.type, False, False)
        rewriter.replace(op, ops, [res])


class GemmLowering(RewritePattern):
    """alpha * (A' @ B') + beta * C: a contraction, then one pointwise epilogue."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.GemmOp, rewriter: PatternRewriter):
        ops: list[Operation] = []
        t = op.result.type
        elem = t.element_type
        alpha, beta = op.alpha.value.data, op.beta.value.data
        res = _contraction(
            ops, op.a, op.b, t, bool(op.transA.value.data), bool(op.transB.value.data)
        )
        has_c = op.c is not None and beta != 0.0
        if alpha != 1.0 or has_c:
            ins = [res, op.c] if has_c else [res]

            def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
                v = s[0]
                if alpha != 1.0:
                    v = b.insert(arith.MulfOp(_constant(b, alpha, elem), v)).result
                if has_c:
                    c = s[1]
                    if beta != 1.0:
                        c = b.insert(arith.MulfOp(_constant(b, beta, elem), c)).result
                    v = b.insert(arith.AddfOp(v, c)).result
                return [v]

            res = _elementwise(ops, ins, t, body)
        rewriter.replace(op, ops, [res])


class SoftmaxLowering(RewritePattern):
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along the axis (ONNX Softmax-13)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.SoftmaxOp, rewriter: PatternRewriter):
        ops: list[Operation] = []
        t = op.result.type
        shape, elem = t.get_shape(), t.element_type
        rank, axis = len(shape), op.normalized_axis()
        reduced_t = TensorType(elem, [s for d, s in enumerate(shape) if d != axis])
        full = AffineMap.identity(rank)
        reduced = AffineMap(
            rank, 0, tuple(AffineExpr.dimension(d) for d in range(rank) if d != axis)
        )
        iters = [REDUCTION if d == axis else PARALLEL for d in range(rank)]

        def reduce(src: SSAValue, init: float, combine: type[Operation]) -> SSAValue:
            acc = _fill(ops, reduced_t, init)

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

        rewriter.replace(op, ops, [pointwise([e, total], div_body)])


class IdentityLowering(RewritePattern):
    """Identity is its input: no computation at the tensor level."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.IdentityOp, rewriter: PatternRewriter):
        rewriter.replace(op, [], [op.input])


class TransposeLowering(RewritePattern):
    """out[i_0, ..., i_r-1] = in[j] with j[perm[k]] = i_k: a permuted indexing map."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.TransposeOp, rewriter: PatternRewriter):
        perm = op.permutation
        rank = len(perm)
        inverse = [0] * rank
        for k, p in enumerate(perm):
            inverse[p] = k
        in_map = AffineMap(rank, 0, tuple(AffineExpr.dimension(inverse[p]) for p in range(rank)))
        empty = EmptyOp(op.result.type)

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            return [s[0]]

        gen = build_generic(
            [op.input], [empty.result], [in_map, AffineMap.identity(rank)], [PARALLEL] * rank, body
        )
        rewriter.replace(op, [empty, gen], [gen.res[0]])


def _delinearize(linear: AffineExpr, shape: Sequence[int]) -> list[AffineExpr]:
    """Row-major indices of the element at `linear` in `shape` (floordiv / mod)."""
    exprs = []
    stride = 1
    for size in reversed(shape):
        e = linear // stride if stride != 1 else linear
        exprs.append(e % size if size != 1 else AffineExpr.constant(0))
        stride *= size
    return exprs[::-1]


class ReshapeLowering(RewritePattern):
    """out[i] = in[delinearize(linearize(i))]: row-major order is kept, so the input index
    is the output's linear index split by the input's strides (floordiv / mod maps)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReshapeOp, rewriter: PatternRewriter):
        out_shape = op.result.type.get_shape()
        rank = len(out_shape)
        linear: AffineExpr = AffineExpr.constant(0)
        stride = 1
        for d in reversed(range(rank)):
            linear = AffineExpr.dimension(d) * stride + linear
            stride *= out_shape[d]
        in_map = AffineMap(rank, 0, tuple(_delinearize(linear, op.input.type.get_shape())))
        empty = EmptyOp(op.result.type)

        def body(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
            return [s[0]]

        gen = build_generic(
            [op.input], [empty.result], [in_map, AffineMap.identity(rank)], [PARALLEL] * rank, body
        )
        rewriter.replace(op, [empty, gen], [gen.res[0]])


# What may remain: everything but the graph dialect (func, arith, tensor, ... pass through).
TARGET = ConversionTarget(illegal_dialects={"graph"})


@dataclass(frozen=True)
class ConvertGraphToTensorPass(ModulePass):
    """Lower every graph op to tensor.generic (see the module docstring)."""

    name = "convert-graph-to-tensor"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from . import layout as lower_graph_layout
        from . import math as lower_graph_math
        from . import nn as lower_graph_nn
        from . import shape as lower_graph_shape

        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [
                    ConstantLowering(),
                    BinaryLowering(),
                    ReluLowering(),
                    MatMulLowering(),
                    GemmLowering(),
                    SoftmaxLowering(),
                    IdentityLowering(),
                    TransposeLowering(),
                    ReshapeLowering(),
                    *lower_graph_math.PATTERNS,
                    *lower_graph_nn.PATTERNS,
                    *lower_graph_shape.PATTERNS,
                    *lower_graph_layout.PATTERNS,
                ]
            ),
            apply_recursively=False,
        ).rewrite_module(op)
        TARGET.check(op, self.name, reason=": no lowering to the tensor dialect")
