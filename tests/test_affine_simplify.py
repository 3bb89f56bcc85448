"""Range-aware simplification of affine expressions (passes/tensor_to_loop/affine_simplify.py): the
simplified expression equals the original on every point of the ranges (enumerated), and
the linearize / delinearize pattern of a channel shuffle becomes plain dims."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.ir.affine import AffineExpr, AffineMap

from irforge.passes.tensor_to_loop.affine_simplify import simplify, simplify_map

D = [AffineExpr.dimension(i) for i in range(3)]


def same_everywhere(e: AffineExpr, s: AffineExpr, ranges) -> None:
    m, ms = AffineMap(len(ranges), 0, (e,)), AffineMap(len(ranges), 0, (s,))
    for point in itertools.product(*(range(r) for r in ranges)):
        assert m.eval(list(point), []) == ms.eval(list(point), []), (e, s, point)


@st.composite
def expressions(draw, depth: int = 3):
    """Sums of scaled dims and constants, floordiv / mod by positive constants, nested."""
    if depth == 0 or draw(st.booleans()):
        terms = [D[i] * draw(st.integers(-3, 40)) for i in range(3) if draw(st.booleans())] or [
            D[draw(st.integers(0, 2))]
        ]
        e = terms[0]
        for t in terms[1:]:
            e = e + t
        return e + draw(st.integers(-5, 20))
    inner = draw(expressions(depth=depth - 1))
    d = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 28]))
    kind = draw(st.sampled_from(["floordiv", "mod", "scale", "add"]))
    if kind == "floordiv":
        return inner // d
    if kind == "mod":
        return inner % d
    if kind == "scale":
        return inner * d
    return inner + draw(expressions(depth=depth - 1))


@settings(max_examples=300, deadline=None)
@given(expressions(), st.lists(st.integers(1, 7), min_size=3, max_size=3))
def test_simplify_keeps_the_value(e, ranges):
    same_everywhere(e, simplify(e, ranges), ranges)


def test_channel_shuffle_becomes_plain_dims():
    """reshape [1, 112, 56, 56] -> [1, 4, 28, 56, 56], transpose (0, 2, 1, 3, 4), reshape
    back, as tensor-fuse-elementwise composes it: the read of input channel (d1 mod 4,
    d1 floordiv 4) of the 5-D view."""
    n, c, h, w = (AffineExpr.dimension(i) for i in range(4))
    lin = n * 351232 + c * 3136 + h * 56 + w
    inner = ((lin // 3136) % 4) * 87808 + ((lin // 12544) % 28) * 3136
    inner = inner + ((lin // 56) % 56) * 56 + lin % 56
    m = AffineMap(4, 0, ((inner // 3136) % 112 // 28, (inner // 3136) % 112 % 28, lin % 56))
    got = simplify_map(m, [1, 112, 56, 56])
    assert str(got) == "(d0, d1, d2, d3) -> ((d1 mod 4), (d1 floordiv 4), d3)"


def test_results_without_division_are_kept():
    m = AffineMap(2, 0, (D[0] * 1 + D[1] * 0, D[1] // 4))
    got = simplify_map(m, [1, 8])
    assert got.results[0] is m.results[0]  # untouched: pattern matchers read these
    assert str(got.results[1]) == "(d1 floordiv 4)"
    assert simplify_map(AffineMap.identity(3), [1, 2, 3]) == AffineMap.identity(3)


# Exact results (the property test above only checks values: a rule that stops firing
# keeps them). Found by mutation testing (docs/fuzzing.md).
SIMPLIFIED = [
    ((D[0] * 2 + D[1]) // 2, [5, 2, 1], "d0"),  # the smallest divisor, 2, splits too
    ((D[0] * 2 + D[1]) % 2, [5, 2, 1], "d1"),
    ((D[0] * 4 + 2) // 4, [5, 1, 1], "d0"),  # the constant goes to the remainder
    ((D[0] * 4 + 6) // 4, [5, 1, 1], "(d0 + 1)"),
    ((D[0] * 4 + 6) % 4, [5, 1, 1], "2"),
    ((D[0] * 4 + D[1]) // 4 + D[2], [5, 4, 3], "(d0 + d2)"),  # a division in one operand
    ((D[0] * -1 + 4) // 5, [5, 1, 1], "0"),  # negative coefficient: its max is at d0 = 0
]


def test_simplified_forms():
    for e, ranges, want in SIMPLIFIED:
        got = simplify(e, ranges)
        same_everywhere(e, got, ranges)
        assert str(got) == want, (e, got)


def values(e: AffineExpr, ranges) -> list[int]:
    m = AffineMap(len(ranges), 0, (e,))
    return [m.eval(list(p), [])[0] for p in itertools.product(*(range(r) for r in ranges))]


def test_negative_coefficients_are_bounded_at_both_ends():
    """`-d0 + 5` reaches 5 at d0 = 0: `(-d0 + 5) floordiv 5` is not 0, and the bounds of a
    kept division (`(d0 + 3) floordiv 3` in [1, 2]) are not overstated under a minus."""
    e = (D[0] * -1 + 5) // 5
    same_everywhere(e, simplify(e, [5, 1, 1]), [5, 1, 1])
    kept = (D[0] + 3) // 3
    for outer in ((kept * -1 + 3) // 2, (kept * -1 + 3) % 2, (kept.ceil_div(2) * -1 + 2) // 2):
        same_everywhere(outer, simplify(outer, [6, 1, 1]), [6, 1, 1])


@st.composite
def signed_expressions(draw):
    """(expression, ranges): `expressions` nested under floordiv, mod, ceildiv and negative
    scales."""
    ranges = draw(st.lists(st.integers(1, 7), min_size=3, max_size=3))
    e = draw(expressions(depth=1))
    for _ in range(draw(st.integers(1, 3))):
        d = draw(st.sampled_from([2, 3, 4, 8]))
        kind = draw(st.sampled_from(["floordiv", "mod", "ceildiv", "negate"]))
        if kind == "ceildiv":
            e = e.ceil_div(d)
        elif kind == "negate":
            e = e * draw(st.integers(-4, -1)) + draw(st.integers(0, 30))
        else:
            e = e // d if kind == "floordiv" else e % d
    return e, ranges


@settings(max_examples=300, deadline=None)
@given(signed_expressions())
def test_simplify_keeps_the_value_under_negation_and_ceildiv(case):
    e, ranges = case
    same_everywhere(e, simplify(e, ranges), ranges)


def test_ceildiv_below_the_divisor():
    """(d0 floordiv 2) ceildiv 2 over d0 in [0, 3) is 0, 0, 1 (regression: `divide` applied
    the floordiv rule `X floordiv D = 0` for X in [0, D) to ceildiv too and returned 0;
    found by mutation testing)."""
    e = (D[0] // 2).ceil_div(2)
    assert values(simplify(e, [3, 1, 1]), [3, 1, 1]) == [0, 0, 1]


@pytest.mark.parametrize(
    "e,ranges,text",
    [
        ((D[0] + 1).ceil_div(4), [4, 1, 1], "1"),  # x in [1, 4]: 1
        (D[0].ceil_div(4), [1, 1, 1], "0"),  # x = 0: 0
        (D[0].ceil_div(4), [4, 1, 1], "(d0 ceildiv 4)"),  # x in [0, 3]: 0 or 1, kept
    ],
)
def test_ceildiv_folds_only_when_constant_over_the_range(e, ranges, text):
    got = simplify(e, ranges)
    assert str(got) == text
    assert values(got, ranges) == values(e, ranges)


def test_maps_with_symbols_or_without_division_are_returned_as_they_are():
    with_symbol = AffineMap(1, 1, (D[0] // 4 + AffineExpr.symbol(0),))
    assert simplify_map(with_symbol, [8]) is with_symbol
    plain = AffineMap(2, 0, (D[0] + D[1] * 3,))
    assert simplify_map(plain, [2, 2]) is plain


def test_bounds_of_kept_divisions():
    """A floordiv / ceildiv the simplifier keeps gets the exact bounds of its values; too
    wide, a later rule misses (`X floordiv 3 = 0` for X in [1, 2]); wrong, a rule fires
    where it must not (`-X + 9` reaches 8 when X = 1; `-Y + 3` reaches 4 when Y = -1)."""
    x_ceil = (D[0] + 1).ceil_div(3)  # in [1, 2] for d0 in [0, 6)
    x_floor = (D[0] + 4) // 3  # in [1, 3]
    y = (D[0] + (-3)) // 4  # in [-1, 0]
    for e, want in ((x_ceil // 3, "0"), (x_floor // 4, "0")):
        assert str(simplify(e, [6, 1, 1])) == want
    for e in ((x_floor * -1 + 9) // 8, (x_ceil + 2) // 4, (y * -1 + 3) // 4):
        same_everywhere(e, simplify(e, [6, 1, 1]), [6, 1, 1])
    m = AffineMap(3, 0, ((D[0] * 4 + D[1]) // 4 + D[2],))  # a division in one operand
    assert str(simplify_map(m, [5, 4, 3]).results[0]) == "(d0 + d2)"


def test_ceildiv_at_minus_the_divisor():
    """-d0 ceildiv 4 over d0 in [0, 5) reaches -4 ceildiv 4 = -1: not folded to 0 (the
    fold needs X > -D; mutation testing found no test at that boundary)."""
    e = (D[0] * -1).ceil_div(4)
    got = simplify(e, [5, 1, 1])
    same_everywhere(e, got, [5, 1, 1])
    assert values(got, [5, 1, 1]) == [0, 0, 0, 0, -1]
