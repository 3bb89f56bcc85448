"""The rule registry of convert-graph-to-tensor and the helpers its rules share.

A lowering rule turns one graph-level op into tensor-level IR (`tensor.generic`,
`tensor.empty`, `tensor.pad_constant`, ..., with `arith`/`math` bodies). Rules are
registered per op class; the families (core.py, math.py, nn.py, shape.py, layout.py, one
per op family of dialects/graph/) register theirs when imported, and
convert_graph_to_tensor.py imports them all. A plugin lowers its own graph-level op the
same way, from its `register()` (with `lowers` and `elementwise` of this module, which
`irforge.plugins` hands on; docs/plugins.md):

    @lowers(act.SquareOp)
    def lower_square(op):
        ops = []

        def body(b, args):  # the scalar formula, on the element type
            return [b.insert(arith.MulfOp(args[0], args[0])).result]

        return ops, [elementwise(ops, [op.input], op.result.type, body)]

(or `register_graph_lowering(act.SquareOp, lower_square)`; `irforge.plugins` re-exports
`register_graph_lowering`, `lowers`, `elementwise` and `Lowered`).

The rule receives the matched op, still in place in the IR (read its operands, their
types and defining ops, its properties). It must not change the IR itself: it builds new,
detached ops and returns `Lowered(ops, values)`, or just the pair `(ops, values)`:

- `ops`: the new ops in order; the pass inserts them before the matched op;
- `values`: one SSA value per result of the op, of the same type (a result of one of `ops`,
  or an existing value, e.g. an operand for an op that computes nothing);
- `erase_if_unused` (optional): ops that the pass erases after the replacement when it left
  them without uses (the walker has passed them by then): constants the rule folded.

The pass then replaces the op's results by `values` and erases the op. A rule may return
None to decline: the op stays, and if it is in the graph dialect the pass fails with
"no lowering to the tensor dialect", as for an op that has no rule at all.

Errors: `register_graph_lowering` / `lowers` raise TypeError for a class that is not an
xDSL Operation and ValueError if the class already has a rule. A rule whose values do not
match the op's results in number and types makes the pass raise GraphLoweringError naming
the op; an exception raised by a rule propagates.

An op's rule is the one registered for its exact class (as for the reference semantics,
dialects/graph_reference.py): a subclass needs a rule of its own.

Helpers for rules: `broadcast_map` (ONNX broadcasting as an indexing map), `constant` (a
scalar `arith.constant` inside a body), `fill` (a tensor of one value), `elementwise` (one
pointwise generic, inputs broadcast), `pad` (`tensor.pad_constant`), `multiply_add` (the
body of a contraction), `REASSOC` (the fast-math flag of a reduction's combining op).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType, TensorType
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap

from ...dialects.tensor import PARALLEL, EmptyOp, PadOp, build_generic

BodyFn = Callable[[Builder, Sequence[SSAValue]], Sequence[SSAValue]]
"""The body of a generic: `(builder, block arguments) -> yielded values`."""


REASSOC = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])
"""The fast-math flag that a reduction's combining float op carries (the `acc + x` of a
sum or mean, LayerNormalization's statistics, the max of ReduceMax): it lets LLVM's loop
vectorizer keep one partial accumulator per vector lane (and unrolled copy) and add them
at the end, instead of one sequential chain whose add latency bounds the loop (a
512-element row summed in order costs 512 dependent adds). The sum's rounding then differs
from the sequential order's, by a few ulps of the sum (no more than any pairwise order).
LLVM IR LangRef, "Fast-Math Flags" (reassoc)."""


class Lowered(NamedTuple):
    """What a lowering rule returns (see the module docstring)."""

    ops: Sequence[Operation]
    values: Sequence[SSAValue]
    erase_if_unused: Sequence[Operation] = ()


GraphLowering = Callable[
    [Operation], Lowered | tuple[Sequence[Operation], Sequence[SSAValue]] | None
]
"""A lowering rule: `rule(op) -> Lowered | (ops, values) | None` (module docstring)."""


class GraphLoweringError(ValueError):
    """A lowering rule returned values that cannot replace the op's results."""


_RULES: dict[type[Operation], GraphLowering] = {}


def register_graph_lowering(op_class: type[Operation], rule: GraphLowering) -> None:
    """Lower the ops of class `op_class` with `rule` in convert-graph-to-tensor.

    Raises TypeError if `op_class` is not an Operation class, ValueError if it has a rule.
    """
    if not (isinstance(op_class, type) and issubclass(op_class, Operation)):
        raise TypeError(f"register_graph_lowering: {op_class!r} is not an Operation class")
    if op_class in _RULES:
        name = getattr(op_class, "name", op_class.__name__)
        raise ValueError(f"'{name}' already has a lowering to the tensor dialect")
    _RULES[op_class] = rule


def lowers(*op_classes: type[Operation]) -> Callable[[GraphLowering], GraphLowering]:
    """Decorator: register the function as the lowering rule of each of `op_classes`
    (`register_graph_lowering`); the function is returned unchanged."""

    def register(rule: GraphLowering) -> GraphLowering:
        for op_class in op_classes:
            register_graph_lowering(op_class, rule)
        return rule

    return register


def graph_lowering(op_class: type[Operation]) -> GraphLowering | None:
    """The rule registered for `op_class`, or None."""
    return _RULES.get(op_class)


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


def scalar_attr(value: float | int | bool, elem: Attribute) -> FloatAttr | IntegerAttr:
    """`value` as a scalar attribute of element type `elem`: a FloatAttr for a float type,
    an IntegerAttr for an integer type (i1: 0 or 1; a float value is truncated toward zero,
    +-inf saturates to the type's range)."""
    if isinstance(elem, IntegerType):
        width = elem.width.data
        if width == 1:
            return IntegerAttr(int(bool(value)), elem)
        lo, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
        if isinstance(value, float) and not math.isfinite(value):
            return IntegerAttr(hi if value > 0 else lo, elem)
        return IntegerAttr(max(lo, min(hi, int(value))), elem)
    return FloatAttr(float(value), elem)


def constant(builder: Builder, value: float | int | bool, elem: Attribute) -> SSAValue:
    """A scalar `arith.constant` of element type `elem` (float or integer: `scalar_attr`),
    inserted through `builder`."""
    return builder.insert(arith.ConstantOp(scalar_attr(value, elem))).result


def fill(rewriter_ops: list[Operation], t: TensorType, value: float | int | bool) -> SSAValue:
    """A tensor of type `t` with every element `value` (a generic with no inputs); the
    new ops are appended to `rewriter_ops`."""
    empty = EmptyOp(t)
    rank = len(t.get_shape())

    def body(b: Builder, args: Sequence[SSAValue]) -> list[SSAValue]:
        return [constant(b, value, t.element_type)]

    generic = build_generic([], [empty.result], [AffineMap.identity(rank)], [PARALLEL] * rank, body)
    rewriter_ops += [empty, generic]
    return generic.res[0]


def elementwise(
    ops: list[Operation], ins: Sequence[SSAValue], result_type: TensorType, body: BodyFn
) -> SSAValue:
    """`body` applied pointwise over `result_type`'s shape, inputs broadcast to it; the new
    ops are appended to `ops`."""
    shape = result_type.get_shape()
    empty = EmptyOp(result_type)
    maps = [broadcast_map(v.type.get_shape(), shape) for v in ins]
    maps.append(AffineMap.identity(len(shape)))
    gen = build_generic(ins, [empty.result], maps, [PARALLEL] * len(shape), body)
    ops += [empty, gen]
    return gen.res[0]


def pad(
    ops: list[Operation], x: SSAValue, low: Sequence[int], high: Sequence[int], value: float
) -> SSAValue:
    """`x` padded by `tensor.pad_constant` (or `x` itself when every pad is 0)."""
    if not any(low) and not any(high):
        return x
    pad_op = PadOp(x, low, high, value)
    ops.append(pad_op)
    return pad_op.result


def multiply_add(b: Builder, s: Sequence[SSAValue]) -> list[SSAValue]:
    """The body `acc + a * w` of a contraction generic (ins a, w; out acc)."""
    prod = b.insert(arith.MulfOp(s[0], s[1])).result
    return [b.insert(arith.AddfOp(s[2], prod)).result]
