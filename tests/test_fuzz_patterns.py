"""`irforge fuzz` over declarative patterns: every registered pattern keeps the program's
meaning on generated instances, and a deliberately wrong pattern is caught and shrunk."""

import pytest

from irforge.fuzzing.patterns import fuzz_pattern, fuzz_patterns
from irforge.passes.patterns import parse_patterns


@pytest.mark.parametrize(
    "label,failure,fired", list(fuzz_patterns(None, examples=15, seed=0)), ids=lambda v: str(v)
)
def test_every_registered_pattern(label, failure, fired):
    assert failure is None, f"{label}: {failure.error}\n{failure.mlir}"
    assert fired >= 15


WRONG = """
// a - b -> b - a   (wrong: subtraction does not commute)
pattern sub_swapped { match graph.sub(a, b) rewrite graph.sub(b, a) }

// x * c -> x  for c splat 1.0, forgetting that c may broadcast x to a larger shape
pattern mul_one_unguarded { match graph.mul(x, c) where c is splat 1.0 rewrite x }
"""


def test_wrong_semantics_is_caught_and_shrunk():
    (pattern, _) = parse_patterns(WRONG, "<test>")
    failure, _ = fuzz_pattern(pattern, examples=100, seed=0)
    assert failure is not None and "AssertionError" in failure.error
    ops = [line for line in failure.mlir.splitlines() if '= "graph.' in line]
    assert len(ops) <= 3, failure.mlir
    assert '"graph.sub"' in failure.mlir


def test_forgotten_broadcast_guard_is_caught():
    (_, pattern) = parse_patterns(WRONG, "<test>")
    failure, _ = fuzz_pattern(pattern, examples=100, seed=0)
    assert failure is not None
    assert "replaced a value of type" in failure.error or "AssertionError" in failure.error


def test_a_rewrite_wrong_only_at_minus_infinity_is_caught():
    """leaky_relu(x, alpha = 0) -> relu(x) differs only at x = -Inf (0 * -Inf is NaN): the
    example plugin shipped it until the fuzzer drew special values (issue 14)."""
    (pattern,) = parse_patterns(
        "pattern lrelu0 { match graph.leaky_relu(x) {alpha = 0.0} rewrite graph.relu(x) }",
        "<test>",
    )
    failure, _ = fuzz_pattern(pattern, examples=30, seed=0)
    assert failure is not None and "nan" in failure.error.lower()


def _root_operand_positions(pattern, examples=60):
    """For each generated instance of `pattern`, the index of the root's operand that is a
    function argument (when exactly one is)."""
    from hypothesis import HealthCheck, given, settings
    from xdsl.dialects import func
    from xdsl.ir import BlockArgument

    from irforge.fuzzing.patterns import pattern_instances

    positions = []

    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(pattern_instances(pattern))
    def collect(program):
        module, _ = program
        ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
        args = [
            i for i, v in enumerate(ret.operands[0].owner.operands) if isinstance(v, BlockArgument)
        ]
        if len(args) == 1:
            positions.append(args[0])

    collect()
    return positions


def test_instances_place_commutative_operands_in_both_orders():
    """add_zero is written `graph.add(x, z)`; graph.add is Commutative, so instances have
    the argument x on either side, and both are checked against the reference."""
    from irforge.passes.patterns import pattern_set

    positions = _root_operand_positions(pattern_set("graph-canonicalize")["add_zero"])
    assert set(positions) == {0, 1}


def test_instances_keep_the_written_order_of_a_non_commutative_op():
    from irforge.passes.patterns import pattern_set

    positions = _root_operand_positions(pattern_set("graph-canonicalize")["sub_zero"])
    assert positions and set(positions) == {0}


def test_matmul_instances_are_n_d_and_keep_to_the_where_clause_rank_bound():
    """graph.matmul is N-D while graph.gemm is 2-D: matmul_add_to_gemm's instances have a
    rank-3 lhs with a 2-D weight, rank-3 operands on both sides and a 2-D lhs with a rank-3
    rhs (so that dropping `rank(a) == 2` or `rank(b) == 2` builds an invalid gemm), and the
    addend c keeps to `rank(c) <= 2` even under a rank-3 matmul (a bias)."""
    from hypothesis import HealthCheck, given, settings

    from irforge.dialects import graph
    from irforge.fuzzing.patterns import pattern_instances
    from irforge.passes.patterns import pattern_set

    ranks, addend_ranks = set(), set()

    @settings(
        max_examples=100,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(pattern_instances(pattern_set("graph-canonicalize")["matmul_add_to_gemm"]))
    def collect(program):
        module, _ = program
        mm = next(op for op in module.walk() if isinstance(op, graph.MatMulOp))
        add = next(op for op in module.walk() if isinstance(op, graph.AddOp))
        ranks.add((len(mm.lhs.type.get_shape()), len(mm.rhs.type.get_shape())))
        (c,) = [v for v in add.operands if v is not mm.results[0]]
        addend_ranks.add(len(c.type.get_shape()))

    collect()
    assert {(2, 2), (3, 2), (3, 3), (2, 3)} <= ranks
    assert addend_ranks and max(addend_ranks) <= 2
