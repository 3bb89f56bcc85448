"""Callbacks for the structured builtin literals: `dense<...>`, `dense_resource<...>`,
`opaque<...>`, `array<...>`, `strided<...>`, `affine_map<...>`, `affine_set<...>`, and
locations (`loc(...)`).

`LiteralBuilder` is a mixin of `AttributeBuilder`: it uses that class's `error`, `unescape`,
`_external`, `aliases` and `affine_names`.
"""

from __future__ import annotations

import math
from typing import Any

from lark import Token
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AffineSetAttr,
    AnyFloat,
    BytesAttr,
    CallSiteLoc,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    FileLineColLoc,
    FusedLoc,
    IndexType,
    IntAttr,
    IntegerType,
    LocationAttr,
    MemRefType,
    NameLoc,
    NoneAttr,
    OpaqueAttr,
    ShapedType,
    StridedLayoutAttr,
    StringAttr,
    TensorType,
    UnknownLoc,
    VectorType,
)
from xdsl.ir import Attribute
from xdsl.ir.affine import (
    AffineConstraintExpr,
    AffineConstraintKind,
    AffineExpr,
    AffineMap,
    AffineSet,
)

from .diagnostics import Diagnostic


class _Literal:
    """A dense literal while it is parsed: flat element values and the nested shape, or
    the reason it is malformed (reported with the position of `dense`)."""

    __slots__ = ("values", "shape", "error")

    def __init__(self, values: list[Any], shape: list[int], error: str | None = None):
        self.values = values
        self.shape = shape
        self.error = error


class DeferredLoc:
    """`loc(#alias)` where `#alias` is defined further down the file."""

    __slots__ = ("token",)

    def __init__(self, token: Token):
        self.token = token


# Decimal integer literals longer than this are out of range for any integer type irforge
# meets (i4096 has 1234 digits); Python's own limit on int(str) is 4300 digits.
MAX_INT_DIGITS = 4000


def parse_number(tok: Token) -> int | float:
    """The value of a NUMBER token. Raises ValueError for a decimal integer of more than
    MAX_INT_DIGITS digits, or a float literal beyond the range of f64."""
    if tok.startswith("0x"):
        return int(tok, 16)  # linear time: hex needs no digit limit
    if "." in tok:
        value = float(tok)
        if math.isinf(value):
            raise ValueError(f"float literal {short(tok)} is out of range for f64")
        return value
    if len(tok) > MAX_INT_DIGITS:
        raise ValueError(f"integer literal of {len(tok)} digits is out of range")
    return int(tok)


def short(tok: str) -> str:
    return f"'{tok}'" if len(tok) <= 24 else f"'{tok[:21]}...'"


class LiteralBuilder:
    """dense, array, strided, affine_map and location rules (a mixin)."""

    aliases: dict[str, Attribute]
    affine_names: dict[str, AffineExpr]
    resource_uses: dict[str, Token]

    # dense<...>

    def _number(self, tok: Token) -> int | float:
        try:
            return parse_number(tok)
        except ValueError as e:
            raise self.error(tok, str(e)) from None

    def dense_num(self, c):
        return self._number(c[0])

    def dense_neg_num(self, c):
        return -self._number(c[1])

    def true_value(self, c):
        return True

    def false_value(self, c):
        return False

    def dense_complex(self, c):
        return (c[0], c[1])

    def dense_list(self, c):
        items = c[0]
        if not items:
            return _Literal([], [0])
        first = items[0]
        if isinstance(first, _Literal):
            values: list[Any] = []
            for item in items:
                if not isinstance(item, _Literal):
                    return _Literal([], [], "tensor literal mixes scalars and lists")
                if item.shape != first.shape:
                    return _Literal([], [], "tensor literal has inconsistent shapes")
                if item.error:
                    return item
                values += item.values
            return _Literal(values, [len(items), *first.shape])
        if any(isinstance(item, _Literal) for item in items):
            return _Literal([], [], "tensor literal mixes scalars and lists")
        return _Literal(items, [len(items)])

    def dense_splat(self, c):
        v = c[0]
        return v if isinstance(v, _Literal) else _Literal([v], [])

    def dense_hex(self, c):
        return c[0]

    def dense_attr(self, c):
        kw, body, t = c
        try:
            return self._dense(t, body)
        except Diagnostic:
            raise
        except Exception as e:
            raise self.error(kw, f"invalid dense attribute: {e}") from None

    def _dense(self, t: Attribute, body: _Literal | Token | None) -> Attribute:
        if not isinstance(t, TensorType | VectorType | MemRefType):
            raise ValueError(f"expected a ranked tensor, vector or memref type, got {t}")
        shape = list(t.get_shape())
        if any(d < 0 for d in shape):
            raise ValueError(f"type {t} must have a static shape")
        elem = t.element_type
        count = 1
        for d in shape:
            count *= d
        if isinstance(body, Token):  # "0x..." hex buffer
            text = self.unescape(body)
            if not text.startswith("0x"):
                raise ValueError('expected a hex string "0x..."')
            raw = bytes.fromhex(text[2:])
            if len(raw) == elem.compile_time_size and count != 1:
                raw *= count
            attr = DenseIntOrFPElementsAttr(t, BytesAttr(raw))
            if len(attr) != count:
                raise ValueError(f"hex data holds {len(attr)} elements, the type {count}")
            return attr
        if body is not None and body.error:
            raise ValueError(body.error)
        if body is None:
            if count != 0:
                raise ValueError(f"expected {count} elements, got none")
            values: list[Any] = []
        elif body.shape:
            if body.shape != shape and not (body.shape == [0] and count == 0):
                raise ValueError(f"literal of shape {body.shape} does not match type {t}")
            values = body.values
        else:
            values = body.values * count
        if isinstance(elem, AnyFloat):
            values = [float(v) for v in values]
        elif isinstance(elem, IntegerType | IndexType):
            for v in values:
                if isinstance(v, float) or isinstance(v, tuple):
                    raise ValueError(f"expected integer values for element type {elem}")
                if isinstance(v, bool) and elem != IntegerType(1):
                    raise ValueError("true/false are only allowed for i1 elements")
            values = [int(v) for v in values]
        return DenseIntOrFPElementsAttr.from_list(t, values)

    def dense_array_empty(self, c):
        return DenseArrayBase.from_list(c[1], [])

    def dense_array(self, c):
        kw, t, values = c
        try:
            if isinstance(t, IntegerType):
                if any(isinstance(v, float) for v in values):
                    raise ValueError("expected integer values")
                return DenseArrayBase.from_list(t, [int(v) for v in values])
            if isinstance(t, AnyFloat):
                return DenseArrayBase.from_list(t, [float(v) for v in values])
            raise ValueError(f"element type must be an integer or float type, got {t}")
        except Exception as e:
            raise self.error(kw, f"invalid dense array: {e}") from None

    # dense_resource<handle> : type, opaque<"dialect", "0x..."> : type

    def dense_resource_attr(self, c):
        kw, handle, t = c
        if not isinstance(t, ShapedType):
            raise self.error(kw, f"dense_resource needs a shaped type, got {t}")
        # The blob comes from the file's `{-# dialect_resources ... #-}` block (usually at
        # the end); the handle is settled against the Context's storage once it is read.
        self.resource_uses.setdefault(str(handle), handle)
        return DenseResourceAttr(StringAttr(str(handle)), t)

    def opaque_attr(self, c):
        t = c[3] if len(c) > 3 else NoneAttr()
        return OpaqueAttr(StringAttr(self.unescape(c[1])), StringAttr(self.unescape(c[2])), t)

    # strided<[...], offset: ...>

    def _stride(self, tok: Token) -> int | None:
        return None if tok == "?" else int(tok, 0)

    def strided_attr(self, c):
        return StridedLayoutAttr([self._stride(s) for s in c[0]])

    def strided_offset_attr(self, c):
        return StridedLayoutAttr([self._stride(s) for s in c[0]], self._stride(c[1]))

    # affine_map<(d0)[s0] -> (...)>

    def affine_space(self, c):
        names = self.affine_names = {}
        dims = c[0]
        syms = c[1] if len(c) > 1 else []
        for i, tok in enumerate(dims):
            names[str(tok)] = AffineExpr.dimension(i)
        for i, tok in enumerate(syms):
            names[str(tok)] = AffineExpr.symbol(i)
        return len(dims), len(syms)

    def affine_map_attr(self, c):
        (num_dims, num_syms), exprs = c
        return AffineMapAttr(AffineMap(num_dims, num_syms, tuple(exprs)))

    def affine_set_attr(self, c):
        (num_dims, num_syms), constraints = c
        return AffineSetAttr(AffineSet(num_dims, num_syms, tuple(constraints)))

    def c_ge(self, c):
        return AffineConstraintExpr(AffineConstraintKind.ge, c[0], c[1])

    def c_le(self, c):
        return AffineConstraintExpr(AffineConstraintKind.le, c[0], c[1])

    def c_eq(self, c):
        return AffineConstraintExpr(AffineConstraintKind.eq, c[0], c[1])

    def a_id(self, c):
        expr = self.affine_names.get(c[0])
        if expr is None:
            raise self.error(c[0], f"identifier '{c[0]}' is not a dimension or symbol of the map")
        return expr

    def a_const(self, c):
        return AffineExpr.constant(int(c[0], 0))

    def a_add(self, c):
        return c[0] + c[1]

    def a_sub(self, c):
        return c[0] - c[2]

    def a_mul(self, c):
        return _affine_binary(c[0], "*", c[1], lambda a, b: a * b)

    def a_floordiv(self, c):
        return _affine_binary(c[0], "floordiv", c[1], lambda a, b: a // b)

    def a_ceildiv(self, c):
        return _affine_binary(c[0], "ceildiv", c[1], lambda a, b: a.ceil_div(b))

    def a_mod(self, c):
        return _affine_binary(c[0], "mod", c[1], lambda a, b: a % b)

    def a_neg(self, c):
        return -c[1]

    # -- locations

    def loc_unknown(self, c):
        return UnknownLoc()

    def loc_file(self, c):
        name, line, col = c
        return FileLineColLoc(
            StringAttr(self.unescape(name)), IntAttr(int(line)), IntAttr(int(col))
        )

    def loc_name(self, c):
        return NameLoc(StringAttr(self.unescape(c[0])), NoneAttr())

    def _resolved(self, loc: Attribute | DeferredLoc) -> Attribute:
        if isinstance(loc, DeferredLoc):
            raise self.error(
                loc.token, f"location alias '{loc.token}' is used before its definition"
            )
        return loc

    def loc_name_nested(self, c):
        return NameLoc(StringAttr(self.unescape(c[0])), self._resolved(c[1]))

    def loc_callsite(self, c):
        return CallSiteLoc(self._resolved(c[0]), self._resolved(c[1]))

    def loc_fused(self, c):
        return FusedLoc(tuple(self._resolved(x) for x in c[0]), NoneAttr())

    def loc_alias(self, c):
        tok = c[0]
        if tok not in self.aliases and "<" not in tok and "." not in tok:
            # mlir-opt prints location aliases after the ops that use them
            return DeferredLoc(tok)
        attr = self._external(tok, False)
        if not isinstance(attr, LocationAttr):
            raise self.error(tok, f"'{tok}' is not a location")
        return attr

    def loc_attr(self, c):
        if isinstance(c[0], DeferredLoc):
            raise self.error(
                c[0].token, f"location alias '{c[0].token}' is used before its definition"
            )
        return c[0]

    def location_opt(self, c):
        return c[0]


def _affine_binary(a: AffineExpr, op: str, b: AffineExpr, make) -> AffineExpr:
    """`make(a, b)`; a semi-affine product or quotient (xDSL builds *, floordiv, ceildiv
    and mod with a constant side only) becomes a ValueError, which the parser reports as
    invalid IR at the current token."""
    try:
        return make(a, b)
    except NotImplementedError:
        raise ValueError(
            f"semi-affine expression '{a} {op} {b}' is not supported: affine maps multiply, "
            "divide and take the modulo by constants only"
        ) from None
