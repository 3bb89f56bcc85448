"""Random well-typed graph programs, lowered through the whole chain and run natively,
match the NumPy reference (irforge.fuzzing.programs; tolerances stated there)."""

from hypothesis import HealthCheck, given, settings

from irforge.fuzzing.programs import check_program, graph_programs


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(graph_programs())
def test_random_programs_native_vs_reference(program):
    module, inputs = program
    check_program(module, inputs)


def test_a_wrong_lowering_is_caught_and_shrunk(monkeypatch):
    """Break the lowering of graph.sub (to an addition): the fuzzer must find a program
    using it and shrink it to a small counterexample."""
    from xdsl.dialects import arith

    from irforge.dialects import graph
    from irforge.fuzz import fuzz_programs
    from irforge.passes import convert_graph_to_tensor

    monkeypatch.setitem(convert_graph_to_tensor._BINARY, graph.SubOp, arith.AddfOp)
    failure = fuzz_programs(examples=200, seed=0)
    assert failure is not None
    assert '"graph.sub"' in failure.mlir and "AssertionError" in failure.error
    ops = [line for line in failure.mlir.splitlines() if '= "graph.' in line]
    assert len(ops) <= 3, failure.mlir
