"""Range-aware simplification of affine expressions (passes/affine_simplify.py): the
simplified expression equals the original on every point of the ranges (enumerated), and
the linearize / delinearize pattern of a channel shuffle becomes plain dims."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.ir.affine import AffineExpr, AffineMap

from irforge.passes.affine_simplify import simplify, simplify_map

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
