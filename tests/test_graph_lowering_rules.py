"""The rule registry of convert-graph-to-tensor (passes/graph_to_tensor/base.py): what a
rule returns, declining, and the errors its docstring promises."""

from __future__ import annotations

import pytest
from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def

from irforge.dialects import graph, make_dialect_context
from irforge.passes.graph_to_tensor.base import (
    GraphLoweringError,
    Lowered,
    elementwise,
    graph_lowering,
    lowers,
    register_graph_lowering,
)
from irforge.passes.graph_to_tensor.convert_graph_to_tensor import ConvertGraphToTensorPass
from tests.test_lowering import make_module


def _unary_op(op_name: str) -> type[IRDLOperation]:
    class _Op(IRDLOperation):
        name = op_name
        input = operand_def(TensorType)
        result = result_def(TensorType)

    return irdl_op_definition(_Op)


# Ops of a made-up dialect, each registered once (the registry lives as long as the process).
DoubleOp = _unary_op("rules_test.double")
PassThroughOp = _unary_op("rules_test.pass_through")
BrokenOp = _unary_op("rules_test.broken")
DeclinedOp = _unary_op("rules_test.declined")


@lowers(DoubleOp)
def _lower_double(op):
    ops = []

    def body(b: Builder, args):
        return [b.insert(arith.AddfOp(args[0], args[0])).result]

    return Lowered(ops, [elementwise(ops, [op.input], op.result.type, body)])


register_graph_lowering(PassThroughOp, lambda op: ([], [op.input]))  # a plain pair
register_graph_lowering(BrokenOp, lambda op: ([], []))
register_graph_lowering(DeclinedOp, lambda op: None)


def _lower(op_class):
    def body(b: Builder, args):
        return [b.insert(op_class.build(operands=[args[0]], result_types=[args[0].type])).result]

    module = make_module([(4,)], body)
    ConvertGraphToTensorPass().apply(make_dialect_context(), module)
    return [o.name for o in module.walk()]


def test_a_rule_replaces_the_op():
    names = _lower(DoubleOp)
    assert "rules_test.double" not in names and "tensor.generic" in names
    assert "rules_test.pass_through" not in _lower(PassThroughOp)


def test_a_declined_op_outside_the_graph_dialect_stays():
    assert "rules_test.declined" in _lower(DeclinedOp)


def test_values_that_do_not_match_the_results_are_an_error():
    with pytest.raises(GraphLoweringError, match="rules_test.broken"):
        _lower(BrokenOp)


def test_registration_errors():
    assert graph_lowering(graph.AddOp) is not None  # the families are registered
    with pytest.raises(ValueError, match="graph.add"):
        register_graph_lowering(graph.AddOp, lambda op: None)
    with pytest.raises(TypeError):
        register_graph_lowering(int, lambda op: None)
    assert graph_lowering(arith.AddfOp) is None
