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
