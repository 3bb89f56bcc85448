"""Simplification of affine expressions with known dimension ranges.

Composing the index maps of reshapes and transposes (a channel shuffle is reshape ->
transpose -> reshape) linearizes and delinearizes indices, which leaves maps such as

    ((d1 * 3136 + d2 * 56 + d3) floordiv 3136) mod 4      with d2, d3 in [0, 56)

that cost integer divisions per element and hide the plain dimensions the loop lowering
looks for (flattening, vectorization). Knowing each dimension's range, `simplify` rewrites
them: that expression is `d1 mod 4`.

Method. An expression is read as a linear form `c0 + sum c_i * a_i` over atoms: dims, and
floordiv / mod subexpressions it could not remove, each with an integer range. For
`L floordiv D` and `L mod D` (D > 0 constant) it looks for a divisor G of D, largest first,
(among D and the gcds of D with L's coefficients) that splits `L = G * Q + R` with every
term of Q a multiple of G and `0 <= R < G` over the ranges; then

    L floordiv D = Q floordiv (D / G)        L mod D = G * (Q mod (D / G)) + R

and `X floordiv 1 = X`, `X mod 1 = 0`, `X mod D = X` and `X floordiv D = 0` for X in
[0, D). Everything else is kept as it is. A dimension of range 1 is 0. The result equals
the input on every point of the ranges (tests/test_affine_simplify.py checks this by
enumeration). Source: the bound-based floordiv/mod rules of MLIR's affine simplification
(`simplifyAffineExpr`, `AffineExpr::floorDiv` with known bounds in
`mlir/lib/Dialect/Affine/Analysis`), written for our linear forms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)


@dataclass
class _Linear:
    """`const + sum(coeff * atom)`; atoms are AffineExprs (dims or kept divisions), each
    with its (lo, hi) range in `bounds`."""

    const: int = 0
    terms: dict[AffineExpr, int] = field(default_factory=dict)

    def add(self, other: _Linear, scale: int = 1) -> _Linear:
        out = _Linear(self.const + scale * other.const, dict(self.terms))
        for atom, c in other.terms.items():
            out.terms[atom] = out.terms.get(atom, 0) + scale * c
            if out.terms[atom] == 0:
                del out.terms[atom]
        return out

    def scaled(self, k: int) -> _Linear:
        if k == 0:
            return _Linear()
        return _Linear(self.const * k, {a: c * k for a, c in self.terms.items()})


class _Simplifier:
    def __init__(self, ranges: Sequence[int]):
        self.ranges = ranges
        self.bounds: dict[AffineExpr, tuple[int, int]] = {}

    def range_of(self, lin: _Linear) -> tuple[int, int]:
        lo = hi = lin.const
        for atom, c in lin.terms.items():
            a_lo, a_hi = self.bounds[atom]
            lo += min(c * a_lo, c * a_hi)
            hi += max(c * a_lo, c * a_hi)
        return lo, hi

    def linear(self, e: AffineExpr) -> _Linear:
        if isinstance(e, AffineConstantExpr):
            return _Linear(e.value)
        if isinstance(e, AffineDimExpr):
            size = self.ranges[e.position]
            if size == 1:
                return _Linear(0)
            self.bounds[e] = (0, size - 1)
            return _Linear(0, {e: 1})
        assert isinstance(e, AffineBinaryOpExpr)
        lhs, rhs = self.linear(e.lhs), self.linear(e.rhs)
        if e.kind == AffineBinaryOpKind.Add:
            return lhs.add(rhs)
        if e.kind == AffineBinaryOpKind.Mul:
            if not rhs.terms:
                return lhs.scaled(rhs.const)
            if not lhs.terms:
                return rhs.scaled(lhs.const)
            return self.atom(e, lhs, rhs)
        if rhs.terms or rhs.const <= 0:  # a symbolic or non-positive divisor: keep
            return self.atom(e, lhs, rhs)
        return self.divide(lhs, rhs.const, e.kind)

    def atom(self, e: AffineExpr, lhs: _Linear, rhs: _Linear) -> _Linear:
        """`e` kept as an atom, rebuilt from its simplified operands."""
        kind = e.kind
        new = AffineBinaryOpExpr(kind, self.expr(lhs), self.expr(rhs))
        lo, hi = self.range_of(lhs)
        if kind == AffineBinaryOpKind.Mod and not rhs.terms and rhs.const > 0:
            bounds = (0, rhs.const - 1) if lo >= 0 else (-(rhs.const - 1), rhs.const - 1)
        elif kind == AffineBinaryOpKind.FloorDiv and not rhs.terms and rhs.const > 0:
            bounds = (lo // rhs.const, hi // rhs.const)
        elif kind == AffineBinaryOpKind.CeilDiv and not rhs.terms and rhs.const > 0:
            bounds = (-(-lo // rhs.const), -(-hi // rhs.const))
        else:  # a product of two variable terms, or a symbolic divisor: any value
            bounds = (-(1 << 62), 1 << 62)
        self.bounds[new] = bounds
        return _Linear(0, {new: 1})

    def divide(self, lin: _Linear, d: int, kind: AffineBinaryOpKind) -> _Linear:
        if d == 1:
            return lin if kind != AffineBinaryOpKind.Mod else _Linear(0)
        lo, hi = self.range_of(lin)
        if kind == AffineBinaryOpKind.CeilDiv:
            # ceil(x / d) is 0 for x in (-d, 0] and 1 for x in [1, d]
            if -d < lo and hi <= 0:
                return _Linear(0)
            if 0 < lo and hi <= d:
                return _Linear(1)
        elif 0 <= lo and hi < d:
            if kind == AffineBinaryOpKind.Mod:
                return lin
            return _Linear(0)
        if kind in (AffineBinaryOpKind.FloorDiv, AffineBinaryOpKind.Mod):
            candidates = {math.gcd(c, d) for c in lin.terms.values()} | {d}
            for g in sorted((g for g in candidates if g > 1), reverse=True):
                split = self.split(lin, g)
                if split is None:
                    continue
                q, r = split
                rest = self.divide(q, d // g, kind)
                if kind == AffineBinaryOpKind.FloorDiv:
                    return rest
                return rest.scaled(g).add(r)
        op = {
            AffineBinaryOpKind.FloorDiv: lambda x: x // d,
            AffineBinaryOpKind.Mod: lambda x: x % d,
            AffineBinaryOpKind.CeilDiv: lambda x: x.ceil_div(d),
        }[kind]
        new = op(self.expr(lin))
        if kind == AffineBinaryOpKind.Mod:
            self.bounds[new] = (0, d - 1) if lo >= 0 else (-(d - 1), d - 1)
        elif kind == AffineBinaryOpKind.FloorDiv:
            self.bounds[new] = (lo // d, hi // d)
        else:
            self.bounds[new] = (-(-lo // d), -(-hi // d))
        return _Linear(0, {new: 1})

    def split(self, lin: _Linear, g: int) -> tuple[_Linear, _Linear] | None:
        """`lin = g * q + r` with r in [0, g) over the ranges, else None."""
        q = _Linear(lin.const // g)
        r = _Linear(lin.const % g)
        for atom, c in lin.terms.items():
            if c % g == 0:
                q.terms[atom] = c // g
            else:
                r.terms[atom] = c
        lo, hi = self.range_of(r)
        if 0 <= lo and hi < g:
            return q, r
        return None

    def expr(self, lin: _Linear) -> AffineExpr:
        out: AffineExpr | None = None
        for atom, c in lin.terms.items():
            term = atom if c == 1 else atom * c
            out = term if out is None else out + term
        if out is None:
            return AffineExpr.constant(lin.const)
        return out + lin.const if lin.const else out


def simplify(e: AffineExpr, ranges: Sequence[int]) -> AffineExpr:
    """`e` simplified for dims `d_i` in `[0, ranges[i])` (module docs)."""
    s = _Simplifier(ranges)
    return s.expr(s.linear(e))


def _divides(e: AffineExpr) -> bool:
    return isinstance(e, AffineBinaryOpExpr) and (
        e.kind in (AffineBinaryOpKind.FloorDiv, AffineBinaryOpKind.Mod, AffineBinaryOpKind.CeilDiv)
        or _divides(e.lhs)
        or _divides(e.rhs)
    )


def simplify_map(m: AffineMap, ranges: Sequence[int]) -> AffineMap:
    """`m` with each result that divides (floordiv, mod, ceildiv) simplified for dims in
    `[0, ranges[i])`; results without a division are kept as they are (the forms pattern
    matchers look for), and so are maps with symbols."""
    if m.num_symbols or not any(_divides(e) for e in m.results):
        return m
    return AffineMap(
        m.num_dims, 0, tuple(simplify(e, ranges) if _divides(e) else e for e in m.results)
    )
