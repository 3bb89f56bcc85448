"""Callbacks that build builtin types and attributes while the grammar is reduced.

`AttributeBuilder` is the half of the parser's inline transformer that knows no SSA values:
each method is named after a rule or alias of `generic.lark` and receives that rule's
children (tokens and already-built values). Types and simple attributes are memoized per
parse, since a module repeats the same few (`tensor<4x8xf32>`, `0 : index`) many times.
Dialect attributes and types (`#arith.fastmath<fast>`, `!llvm.ptr`) are lexed as one
bracket-balanced token and handed to xDSL's own parser.
"""

from __future__ import annotations

import re
import struct

from lark import Token
from xdsl.context import Context
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    ArrayAttr,
    BoolAttr,
    ComplexType,
    DictionaryAttr,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefLayoutAttr,
    MemRefType,
    NoneAttr,
    NoneType,
    Signedness,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    TupleType,
    UnitAttr,
    UnrankedMemRefType,
    UnrankedTensorType,
    UnregisteredAttr,
    VectorType,
    bf16,
    f16,
    f32,
    f64,
    f80,
    f128,
    i64,
    tf32,
)
from xdsl.ir import Attribute
from xdsl.ir.affine import AffineExpr

from .diagnostics import Diagnostic
from .literals import LiteralBuilder, short

_SIGNEDNESS = {"s": Signedness.SIGNED, "u": Signedness.UNSIGNED, "i": Signedness.SIGNLESS}
_FLOAT_TYPES: dict[str, Attribute] = {
    "bf16": bf16,
    "f16": f16,
    "f32": f32,
    "f64": f64,
    "f80": f80,
    "f128": f128,
    "tf32": tf32,
}
_OPAQUE_CLASSES: dict[tuple[str, bool], type[UnregisteredAttr]] = {}
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "\\": b"\\", '"': b'"'}
_ESCAPE_RE = re.compile(r'\\(?:([nt\\"])|([0-9a-fA-F]{2})|(.?))', re.S)


def _float_types() -> dict[str, Attribute]:
    """The builtin float types by name, small f8/f6/f4 formats included."""
    import xdsl.dialects.builtin as b

    names = [
        "f8E5M2", "f8E4M3", "f8E4M3FN", "f8E5M2FNUZ", "f8E4M3FNUZ", "f8E4M3B11FNUZ",
        "f8E3M4", "f8E8M0FNU", "f6E2M3FN", "f6E3M2FN", "f4E2M1FN",
    ]  # fmt: skip
    table = dict(_FLOAT_TYPES)
    table.update({n: getattr(b, n) for n in names if hasattr(b, n)})
    return table


class AttributeBuilder(LiteralBuilder):
    """Builds types, attributes and locations; the SSA half lives in `IRBuilder`."""

    ctx: Context
    filename: str
    lines: list[str]

    def reset_attributes(self) -> None:
        self.aliases: dict[str, Attribute] = {}
        self.affine_names: dict[str, AffineExpr] = {}
        self._int_types: dict[str, Attribute] = {}
        self._float_types = _float_types()
        self._shaped: dict[tuple, Attribute] = {}
        self._numbers: dict[tuple, Attribute] = {}
        self._strings: dict[str, Attribute] = {}
        self._dialect: dict[str, Attribute] = {}

    # -- errors and helpers

    def error(self, tok: Token | None, message: str, offset: int = 0) -> Diagnostic:
        """A Diagnostic at `tok` (plus `offset` columns on its line)."""
        if tok is None or tok.line is None:
            line, col = 1, 1
        else:
            line, col = tok.line, tok.column + offset
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return Diagnostic(self.filename, line, col, message, source)

    def unescape(self, tok: Token, start: int = 0) -> str:
        """The contents of the string literal `tok[start:]`, MLIR escapes decoded.

        MLIR escapes are `\\n`, `\\t`, `\\\\`, `\\"` and two hex digits (`\\0A`).
        """
        body = tok[start + 1 : -1]
        if "\\" not in body:
            return body
        out = bytearray()
        pos = 0
        for m in _ESCAPE_RE.finditer(body):
            out += body[pos : m.start()].encode()
            simple, hex_byte, bad = m.groups()
            if simple:
                out += _SIMPLE_ESCAPES[simple]
            elif hex_byte:
                out.append(int(hex_byte, 16))
            else:
                shown = "\\" + bad
                raise self.error(
                    tok, f"invalid escape sequence '{shown}' in string", start + 1 + m.start()
                )
            pos = m.end()
        out += body[pos:].encode()
        try:
            return out.decode()
        except UnicodeDecodeError:
            raise self.error(tok, "string is not valid UTF-8 after its escapes") from None

    def _external(self, tok: Token, is_type: bool) -> Attribute:
        """A dialect attribute/type or an alias, from one `#...`/`!...` token."""
        text = str(tok)
        if text in self.aliases:
            return self.aliases[text]
        if "<" not in text and "." not in text:
            kind = "type" if is_type else "attribute"
            raise self.error(tok, f"undefined {kind} alias '{text}'")
        cached = self._dialect.get(text)
        if cached is not None:
            return cached
        from xdsl.parser import Parser
        from xdsl.utils.exceptions import ParseError

        parser = Parser(self.ctx, text, self.filename)
        parser.attribute_aliases = self.aliases
        try:
            attr = parser.parse_type() if is_type else parser.parse_attribute()
        except ParseError as e:
            attr = self._opaque_unregistered(text, is_type)
            if attr is None:
                raise self.error(tok, e.msg, e.span.start) from None
        except Exception as e:  # a dialect's parser or verifier rejected the body
            raise self.error(tok, f"invalid '{text}': {e}") from None
        self._dialect[text] = attr
        return attr

    def _opaque_unregistered(self, text: str, is_type: bool) -> Attribute | None:
        """`#d<"...">` / `!d<...>` of a dialect that is not loaded, whose body xDSL's
        parser cannot read (it wants `#d<mnemonic...>`): an UnregisteredAttr named `d`
        holding the body, if the Context allows unregistered dialects."""
        name, lt, rest = text[1:].partition("<")
        if not lt or "." in name or not self.ctx.allow_unregistered:
            return None
        if self.ctx.get_optional_dialect(name) is not None:
            return None
        # The Context only makes classes for `dialect.name`; this one is keyed by `d` alone.
        key = (name, is_type)
        cls = _OPAQUE_CLASSES.get(key)
        if cls is None:
            cls = _OPAQUE_CLASSES[key] = UnregisteredAttr.with_name_and_type(name, is_type)
        return cls(name, is_type, False, rest[:-1])

    # -- types

    def int_type(self, c):
        (tok,) = c
        t = self._int_types.get(tok)
        if t is None:
            sign = _SIGNEDNESS[tok[0]]
            width = int(tok[1:] if sign is Signedness.SIGNLESS else tok[2:])
            t = self._int_types[tok] = IntegerType(width, sign)
        return t

    def float_type(self, c):
        (tok,) = c
        t = self._float_types.get(tok)
        if t is None:
            raise self.error(tok, f"unknown float type '{tok}'")
        return t

    def index_type(self, c):
        return IndexType()

    def none_type(self, c):
        return NoneType()

    def bang_type(self, c):
        return self._external(c[0], True)

    def _dims(self, toks: list[Token], allow_dynamic: bool = True) -> tuple[int, ...]:
        dims = []
        for t in toks:
            if t[0] == "?":
                if not allow_dynamic:
                    raise self.error(t, "vector dimensions must be static")
                dims.append(DYNAMIC_INDEX)
            elif t[0] == "[":
                dims.append(int(t[1:-2]))
            else:
                dims.append(int(t[:-1]))
        return tuple(dims)

    def tensor_type(self, c):
        kw, dims, elem, enc = c
        key = ("t", tuple(dims), elem, enc)
        t = self._shaped.get(key)
        if t is None:
            try:
                t = TensorType(elem, self._dims(dims), NoneAttr() if enc is None else enc)
            except Diagnostic:
                raise
            except Exception as e:
                raise self.error(kw, f"invalid tensor type: {e}") from None
            self._shaped[key] = t
        return t

    def unranked_tensor_type(self, c):
        return UnrankedTensorType(c[2])

    def memref_type(self, c):
        kw, dims, elem, extra = c
        shape = self._dims(dims)
        try:
            if not extra:
                return MemRefType(elem, shape)
            if len(extra) == 2:
                if not isinstance(extra[0], MemRefLayoutAttr):
                    raise self.error(kw, f"expected a memref layout attribute, got {extra[0]}")
                return MemRefType(elem, shape, extra[0], extra[1])
            if isinstance(extra[0], MemRefLayoutAttr):
                return MemRefType(elem, shape, layout=extra[0])
            return MemRefType(elem, shape, memory_space=extra[0])
        except Diagnostic:
            raise
        except Exception as e:
            raise self.error(kw, f"invalid memref type: {e}") from None

    def unranked_memref_type(self, c):
        kw, _, elem, extra = c
        if len(extra) > 1:
            raise self.error(kw, "an unranked memref has no layout")
        return UnrankedMemRefType.from_type(elem, extra[0] if extra else NoneAttr())

    def vector_type(self, c):
        kw, dims, elem = c
        shape = self._dims(dims, allow_dynamic=False)
        scalable = ArrayAttr(BoolAttr.from_bool(d[0] == "[") for d in dims)
        try:
            return VectorType(elem, shape, scalable)
        except Exception as e:
            raise self.error(kw, f"invalid vector type: {e}") from None

    def tuple_type(self, c):
        return TupleType(tuple(c[1]))

    def complex_type(self, c):
        if not isinstance(c[1], IntegerType | AnyFloat):
            raise self.error(c[0], f"complex element type must be integer or float, got {c[1]}")
        return ComplexType(c[1])

    def function_type(self, c):
        return FunctionType.from_lists(c[0], c[1])

    def fn_result_single(self, c):
        return c

    def fn_results(self, c):
        return c[0]

    def tensor_enc(self, c):
        return c[0]

    def memref_extra(self, c):
        return c

    # -- generic helpers shared by many rules

    def empty(self, c):
        return None

    def empty_list(self, c):
        return []

    def list_first(self, c):
        return [c[-1]]

    def list_more(self, c):
        lst = c[0]
        lst.append(c[-1])
        return lst

    # -- attributes

    def _typed_number(self, tok: Token, negative: bool, t: Attribute | None) -> Attribute:
        key = (tok, negative, t)
        attr = self._numbers.get(key)
        if attr is not None:
            return attr
        value = self._number(tok)
        is_hex = tok.startswith("0x")
        if negative:
            value = -value
        try:
            if t is None:
                attr = (
                    FloatAttr(value, f64) if isinstance(value, float) else IntegerAttr(value, i64)
                )
            elif isinstance(t, AnyFloat):
                if is_hex:
                    if negative:
                        raise self.error(tok, "a hexadecimal float literal cannot be negative")
                    raw = value.to_bytes(t.compile_time_size, "little")
                    value = next(iter(t.iter_unpack(raw)))
                attr = FloatAttr(float(value), t)
            elif isinstance(t, IntegerType | IndexType):
                if isinstance(value, float):
                    raise self.error(tok, f"expected an integer literal for type {t}, got '{tok}'")
                width = t.width.data if isinstance(t, IntegerType) else 64
                if value.bit_length() > width + 1:  # xDSL's exact check would print the value
                    raise self.error(tok, f"integer literal {short(tok)} is out of range for {t}")
                attr = IntegerAttr(value, t)
            else:
                raise self.error(tok, f"a number cannot have type {t}")
        except Diagnostic:
            raise
        except Exception as e:
            if isinstance(e, struct.error | OverflowError):
                raise self.error(tok, f"number {short(tok)} is out of range for {t}") from None
            raise self.error(tok, f"invalid number {short(tok)} for type {t}: {e}") from None
        self._numbers[key] = attr
        return attr

    def num_attr(self, c):
        return self._typed_number(c[0], False, None)

    def neg_num_attr(self, c):
        return self._typed_number(c[1], True, None)

    def typed_num_attr(self, c):
        return self._typed_number(c[0], False, c[1])

    def typed_neg_num_attr(self, c):
        return self._typed_number(c[1], True, c[2])

    def true_attr(self, c):
        return IntegerAttr(1, IntegerType(1))

    def false_attr(self, c):
        return IntegerAttr(0, IntegerType(1))

    def unit_attr(self, c):
        return UnitAttr()

    def string_attr(self, c):
        tok = c[0]
        attr = self._strings.get(tok)
        if attr is None:
            attr = self._strings[tok] = StringAttr(self.unescape(tok))
        return attr

    def array_attr(self, c):
        return ArrayAttr(c[0])

    def dict_attr(self, c):
        return DictionaryAttr(c[0])

    def hash_attr(self, c):
        return self._external(c[0], False)

    def empty_dict(self, c):
        return {}

    def dict_body(self, c):
        return c[0]

    def dict_first(self, c):
        key, value = c[0]
        return {key: value}

    def dict_more(self, c):
        d, (key, value) = c
        if key in d:
            raise self.error(self._last_key, f"duplicate key '{key}' in dictionary")
        d[key] = value
        return d

    def dict_entry(self, c):
        tok = self._last_key = c[0]
        key = self.unescape(tok) if tok.type == "STRING" else str(tok)
        return key, c[1]

    def unit_entry(self, c):
        tok = self._last_key = c[0]
        key = self.unescape(tok) if tok.type == "STRING" else str(tok)
        return key, UnitAttr()

    def _symbol(self, tok: Token) -> str:
        return self.unescape(tok, 1) if tok[1] == '"' else str(tok[1:])

    def symbol_root(self, c):
        return SymbolRefAttr(self._symbol(c[0]))

    def symbol_nested(self, c):
        ref, tok = c
        return SymbolRefAttr(ref.root_reference, [*ref.nested_references, self._symbol(tok)])
