"""convert-graph-to-tensor rules for the comparisons, boolean logic and casts
(dialects/graph/logic.py).

Each rule is registered with `base.lowers` for its op classes (base.py: what a rule
receives and returns); convert_graph_to_tensor.py imports this module. Every op becomes one
pointwise generic (operands broadcast through their indexing maps, `base.elementwise`)
whose body is a scalar `arith` op:

- comparisons: `arith.cmpf` with the ordered predicates on f32 (oeq, olt, ole, ogt, oge:
  false when an operand is NaN, as ONNX Runtime and NumPy compare); `arith.cmpi` with the
  signed ones on i32/i64 (eq, slt, ...) and the unsigned ones on i1 (false < true, where
  signed i1 would read true as -1);
- and, or, xor: `arith.andi`, `arith.ori`, `arith.xori`; not: `arith.xori` with true;
- cast, by (source, target) kind: f32 -> int `arith.fptosi` (LLVM lowers it to
  `fptosi.sat`: saturating, NaN -> 0); int -> f32 `arith.sitofp`, i1 -> f32
  `arith.uitofp`; to a wider int `arith.extsi` (`arith.extui` from i1, giving 0/1); to a
  narrower int `arith.trunci`; to i1 `x != 0` (`arith.cmpf une`, so NaN is true, or
  `arith.cmpi ne`). A cast to the same type is its input.

    %m = "graph.less"(%x, %t) : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>

becomes

    %e = "tensor.empty"() : () -> tensor<4xi1>
    %m = "tensor.generic"(%x, %t, %e) <{indexing_maps = [affine_map<(d0) -> (d0)>,
        affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], ...}> ({
      ^bb0(%a: f32, %b: f32, %o: i1):
        %c = "arith.cmpf"(%a, %b) <{predicate = 4 : i64}> : (f32, f32) -> i1
        "tensor.yield"(%c) : (i1) -> ()
    })

Source: MLIR's arith dialect (cmpf/cmpi predicates, casts),
https://mlir.llvm.org/docs/Dialects/ArithOps/; ONNX Cast, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Attribute, Operation, SSAValue

from ...dialects.graph import logic as gl
from .base import Lowered, constant, elementwise, lowers

COMPARE: dict[type[Operation], tuple[str, str, str]] = {
    gl.EqualOp: ("oeq", "eq", "eq"),
    gl.LessOp: ("olt", "slt", "ult"),
    gl.LessOrEqualOp: ("ole", "sle", "ule"),
    gl.GreaterOp: ("ogt", "sgt", "ugt"),
    gl.GreaterOrEqualOp: ("oge", "sge", "uge"),
}
"""Comparison op class -> its predicates on (f32, i32/i64, i1) operands."""

LOGIC: dict[type[Operation], type[Operation]] = {
    gl.AndOp: arith.AndIOp,
    gl.OrOp: arith.OrIOp,
    gl.XorOp: arith.XOrIOp,
}
"""Boolean op class -> its scalar `arith` op on i1."""


def _width(elem: Attribute) -> int | None:
    """The bit width of an integer type, None for a float."""
    return elem.width.data if isinstance(elem, IntegerType) else None


@lowers(*COMPARE)
def lower_compare(op: gl.CompareOp) -> Lowered:
    on_float, on_signed, on_bool = COMPARE[type(op)]
    width = _width(op.lhs.type.element_type)
    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        if width is None:
            return [b.insert(arith.CmpfOp(a[0], a[1], on_float)).result]
        return [b.insert(arith.CmpiOp(a[0], a[1], on_bool if width == 1 else on_signed)).result]

    return Lowered(ops, [elementwise(ops, [op.lhs, op.rhs], op.result.type, body)])


@lowers(*LOGIC)
def lower_logic(op: gl.LogicalBinaryOp) -> Lowered:
    scalar = LOGIC[type(op)]
    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [b.insert(scalar(a[0], a[1])).result]

    return Lowered(ops, [elementwise(ops, [op.lhs, op.rhs], op.result.type, body)])


@lowers(gl.NotOp)
def lower_not(op: gl.NotOp) -> Lowered:
    ops: list[Operation] = []

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        true = constant(b, True, op.input.type.element_type)
        return [b.insert(arith.XOrIOp(a[0], true)).result]

    return Lowered(ops, [elementwise(ops, [op.input], op.result.type, body)])


def convert_scalar(b: Builder, x: SSAValue, dst: Attribute) -> SSAValue:
    """Scalar `x` converted to element type `dst` with graph.cast's conversions (the
    module docstring), the ops inserted through `b`."""
    src = x.type
    if src == dst:
        return x
    ws, wd = _width(src), _width(dst)
    if wd == 1:  # x != 0; a NaN is true
        zero = constant(b, 0, src)
        cmp = arith.CmpiOp(x, zero, "ne") if ws is not None else arith.CmpfOp(x, zero, "une")
        return b.insert(cmp).result
    if ws is None:
        return b.insert(arith.FPToSIOp(x, dst)).result
    if wd is None:
        return b.insert(arith.UIToFPOp(x, dst) if ws == 1 else arith.SIToFPOp(x, dst)).result
    if wd < ws:
        return b.insert(arith.TruncIOp(x, dst)).result
    return b.insert(arith.ExtUIOp(x, dst) if ws == 1 else arith.ExtSIOp(x, dst)).result


@lowers(gl.CastOp)
def lower_cast(op: gl.CastOp) -> Lowered:
    if op.input.type == op.result.type:
        return Lowered([], [op.input])
    ops: list[Operation] = []
    dst = op.result.type.element_type

    def body(b: Builder, a: Sequence[SSAValue]) -> list[SSAValue]:
        return [convert_scalar(b, a[0], dst)]

    return Lowered(ops, [elementwise(ops, [op.input], op.result.type, body)])
