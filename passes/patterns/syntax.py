"""The pattern language: text -> `Pattern` objects (model.py), with FILE:LINE:COL errors.

    // x + 0 -> x (only when broadcasting does not grow x)
    pattern add_zero benefit 2 {
      match graph.add(x, z)
      where z is splat 0.0 and type(root) == type(x)
      rewrite x
    }

A file is a sequence of `pattern NAME [benefit N] { match DAG (where EXPR)* rewrite DAG }`.
The comment lines right above a pattern become its `doc`. The grammar is pattern.lark
(LALR, contextual lexer, the tree built while parsing). Full reference: docs/patterns.md.

Errors raise `PatternSyntaxError`, whose message is `FILE:LINE:COL: error: ...` followed by
the source line and a caret: for bad tokens, for ill-formed patterns (an unbound name, a
name bound twice, ...) and for duplicate pattern names.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from .model import (
    And,
    Call,
    Cmp,
    List,
    Lit,
    Not,
    Op,
    Or,
    Pattern,
    PatternError,
    Var,
)


class PatternSyntaxError(ValueError):
    """A pattern file that cannot be read; `str(e)` is `FILE:LINE:COL: error: MESSAGE`,
    the source line and a caret. `filename`, `line`, `column` and `reason` are kept."""

    def __init__(self, filename: str, text: str, line: int, column: int, reason: str):
        self.filename, self.line, self.column, self.reason = filename, line, column, reason
        lines = text.split("\n")
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        caret = " " * (max(column, 1) - 1) + "^"
        super().__init__(f"{filename}:{line}:{column}: error: {reason}\n{src}\n{caret}")


_TOKEN_WORDS = {
    "NAME": "a name",
    "OPNAME": "an op name (dialect.op)",
    "INT": "an integer",
    "FLOAT": "a float",
    "STRING": "a string",
    "CMP": "a comparison",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "MINUS": "'-'",
    "__ANON_0": "'->'",
    "$END": "end of file",
}


def _describe(term: str) -> str:
    return _TOKEN_WORDS.get(term, f"'{term.lower()}'")


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "pattern.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def _loc(tok: Token) -> tuple[int, int]:
    return (tok.line, tok.column)


@v_args(inline=True)
class _Build(Transformer):
    """Builds model nodes bottom-up. Nodes carry their (line, col) in `loc`."""

    # ---- literals ----
    def int_(self, t: Token) -> Lit:
        return Lit(int(t), loc=_loc(t))

    def float_(self, t: Token) -> Lit:
        return Lit(float(t), loc=_loc(t))

    def string(self, t: Token) -> Lit:
        return Lit(bytes(t[1:-1], "utf-8").decode("unicode_escape"), loc=_loc(t))

    def true(self) -> Lit:
        return Lit(True)

    def false(self) -> Lit:
        return Lit(False)

    def inf(self) -> Lit:
        return Lit(math.inf)

    def nan(self) -> Lit:
        return Lit(math.nan)

    def neg(self, x):
        if isinstance(x, Lit) and isinstance(x.value, (int, float)):
            return Lit(-x.value, loc=x.loc)
        return Call("neg", x, loc=getattr(x, "loc", None))

    # ---- expressions ----
    def var(self, t: Token) -> Var:
        return Var(str(t), loc=_loc(t))

    def call(self, name: Token, *args):
        return Call(str(name), *(a for a in args if a is not None), loc=_loc(name))

    def list(self, *items):
        items = tuple(i for i in items if i is not None)
        if all(isinstance(i, Lit) for i in items):
            return Lit(tuple(i.value for i in items), loc=items[0].loc if items else None)
        return List(*items, loc=items[0].loc)

    def cmp(self, lhs, op: Token, rhs):
        return Cmp(str(op), lhs, rhs, loc=getattr(lhs, "loc", None))

    def is_splat(self, x, value=None):
        args = (x,) if value is None else (x, value)
        return Call("is_splat", *args, loc=getattr(x, "loc", None))

    def is_constant(self, x):
        return Call("is_constant", x, loc=getattr(x, "loc", None))

    def and_(self, lhs, rhs):
        items = (*lhs.items, rhs) if isinstance(lhs, And) else (lhs, rhs)
        return And(*items, loc=getattr(items[0], "loc", None))

    def or_(self, lhs, rhs):
        items = (*lhs.items, rhs) if isinstance(lhs, Or) else (lhs, rhs)
        return Or(*items, loc=getattr(items[0], "loc", None))

    def not_(self, x):
        return Not(x, loc=getattr(x, "loc", None))

    # ---- DAGs ----
    def bind(self, name: Token) -> str:
        return str(name)

    def match_attr(self, name: Token, value):
        return (str(name), value)

    rw_attr = match_attr

    def match_attrs(self, *items):
        return tuple(i for i in items if i is not None)

    rw_attrs = match_attrs

    def result_type(self, e):
        return ("type", e)

    def match_op(self, name: Token, *rest):
        operands, attrs, bind = [], (), None
        for r in rest:
            if r is None:
                continue
            if isinstance(r, str):
                bind = r
            elif isinstance(r, tuple) and all(isinstance(p, tuple) for p in r):
                attrs = r
            else:
                operands.append(r)
        return Op(str(name), *operands, attrs=attrs, bind=bind, loc=_loc(name))

    def rw_op(self, name: Token, *rest):
        operands, attrs, rtype = [], (), None
        for r in rest:
            if r is None:
                continue
            if isinstance(r, tuple) and r and r[0] == "type":
                rtype = r[1]
            elif isinstance(r, tuple):
                attrs = r
            else:
                operands.append(r)
        return Op(str(name), *operands, attrs=attrs, type=rtype, loc=_loc(name))

    def benefit(self, t: Token) -> int:
        return int(t)

    def where(self, e):
        return ("where", e)

    def pattern(self, name: Token, benefit, match: Op, *rest):
        *wheres, rewrite = rest
        return (
            name,
            dict(
                name=str(name),
                match=match,
                rewrite=rewrite,
                where=tuple(w[1] for w in wheres),
                benefit=1 if benefit is None else benefit,
                loc=_loc(name),
            ),
        )

    def start(self, *patterns):
        return list(patterns)


def _node_position(err: PatternError, default: tuple[int, int]) -> tuple[int, int]:
    loc = getattr(err.node, "loc", None)
    return loc if loc else default


def parse_patterns(text: str, filename: str = "<patterns>") -> list[Pattern]:
    """Every pattern in `text`, in order. Raises PatternSyntaxError (FILE:LINE:COL)."""
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as e:
        raise PatternSyntaxError(
            filename, text, e.line, e.column, f"unexpected character {text[e.pos_in_stream]!r}"
        ) from None
    except UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = text.rstrip("\n").split("\n")
            line, col, what = len(lines), len(lines[-1]) + 1, "end of file"
        else:
            line, col, what = tok.line, tok.column, repr(str(tok))
        raise PatternSyntaxError(
            filename, text, line, col, f"unexpected {what}, expected {_expected(e.expected)}"
        ) from None
    except UnexpectedInput as e:  # pragma: no cover - other lark input errors
        raise PatternSyntaxError(filename, text, e.line, e.column, str(e)) from None
    try:
        parsed = _Build().transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, PatternError):
            line, col = _node_position(e.orig_exc, (1, 1))
            raise PatternSyntaxError(filename, text, line, col, str(e.orig_exc)) from None
        raise

    # Whole-line comments right above a pattern are its doc (the grammar ignores them).
    doc_lines = {
        i + 1: s.strip()[2:].strip()
        for i, s in enumerate(text.split("\n"))
        if s.strip().startswith("//")
    }
    out: list[Pattern] = []
    seen: dict[str, tuple[int, int]] = {}
    for name_tok, fields in parsed:
        pos = _loc(name_tok)
        if fields["name"] in seen:
            line, col = seen[fields["name"]]
            raise PatternSyntaxError(
                filename,
                text,
                *pos,
                f"pattern '{fields['name']}' is already defined at line {line}, column {col}",
            )
        seen[fields["name"]] = pos
        doc, line = [], name_tok.line - 1
        while line in doc_lines:
            doc.insert(0, doc_lines[line])
            line -= 1
        try:
            out.append(Pattern(doc="\n".join(doc), **fields))
        except PatternError as e:
            raise PatternSyntaxError(filename, text, *_node_position(e, pos), str(e)) from None
    return out


def _expected(terms) -> str:
    words = sorted({_describe(t) for t in terms})
    return ", ".join(words) if len(words) < 8 else ", ".join(words[:8]) + ", ..."


def parse_pattern(text: str, filename: str = "<pattern>") -> Pattern:
    """The one pattern in `text`. Raises PatternSyntaxError if there is not exactly one."""
    pats = parse_patterns(text, filename)
    if len(pats) != 1:
        raise PatternSyntaxError(filename, text, 1, 1, f"expected one pattern, found {len(pats)}")
    return pats[0]


def load_patterns(path: str | Path) -> list[Pattern]:
    """The patterns of a file; errors name the file as given."""
    p = Path(path)
    return parse_patterns(p.read_text(encoding="utf-8"), str(path))
