"""Diagnostics with file, line and column, in the form compilers print them.

    model.mlir:3:17: error: use of undefined value '%x'
      %1 = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
                        ^

`Diagnostic` is the one exception every parse or verify error of textual IR becomes.
`from_lark` turns lark's own errors (unexpected character, token or end of input) into one.
"""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken


class Diagnostic(Exception):
    """An error at a position of a source file (line and col are 1-based)."""

    def __init__(
        self, filename: str, line: int, col: int, message: str, source_line: str = ""
    ) -> None:
        super().__init__(message)
        self.filename = filename
        self.line = line
        self.col = col
        self.message = message
        self.source_line = source_line

    def format(self) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, the source line, and a caret under the column.

        The caret line copies the tabs of the source line so that it lines up.
        """
        prefix = self.source_line[: self.col - 1]
        caret = "".join("\t" if ch == "\t" else " " for ch in prefix) + "^"
        head = f"{self.filename}:{self.line}:{self.col}: error: {self.message}"
        return f"{head}\n{self.source_line}\n{caret}"

    def __str__(self) -> str:
        return self.format()


def at(filename: str, text: str, line: int, col: int, message: str) -> Diagnostic:
    """A Diagnostic at (line, col) of `text`, with the source line filled in."""
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    return Diagnostic(filename, line, col, message, source)


def at_offset(filename: str, text: str, offset: int, message: str) -> Diagnostic:
    """A Diagnostic at a character offset of `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return at(filename, text, line, col, message)


def end_of(filename: str, text: str, message: str) -> Diagnostic:
    """A Diagnostic just after the last character of `text` that is not whitespace."""
    return at_offset(filename, text, len(text.rstrip()), message)


# Friendly names of the regex terminals of generic.lark, for "expected ..." messages.
_TERMINAL_NAMES = {
    "VALUE": "an SSA value (%name)",
    "CARET_ID": "a block name (^name)",
    "SYMBOL": "a symbol (@name)",
    "STRING": "a string",
    "NUMBER": "a number",
    "BARE_ID": "an identifier",
    "INT_TYPE": "an integer type",
    "FLOAT_TYPE": "a float type",
    "DIM": "a dimension ('4x', '?x')",
    "SDIM": "a scalable dimension ('[4]x')",
    "HASH_ID": "an attribute (#name)",
    "BANG_ID": "a type (!name)",
    "$END": "end of input",
}


def describe_expected(expected: set[str], terminals: dict[str, str]) -> str:
    """'X, Y or Z' for a set of lark terminal names (at most 8 are named)."""
    names = sorted({_TERMINAL_NAMES.get(n) or terminals.get(n) or n for n in expected})
    if len(names) > 8:
        names = names[:8] + ["..."]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _describe_token(tok) -> str:
    text = str(tok)
    if len(text) > 24:
        text = text[:21] + "..."
    return f"'{text}'"


def balanced_end(text: str, pos: int) -> int | None:
    """The offset after the `>` closing the `<` at `pos`, skipping strings and `->`;
    None if the brackets never balance."""
    depth = 0
    i = pos
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "<":
            depth += 1
        elif ch == ">" and text[i - 1] != "-":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_DIALECT_NAME_BEFORE = re.compile(r"[#!][A-Za-z0-9_$.]+\Z")


def _unbalanced_body(filename: str, text: str, offset: int) -> Diagnostic | None:
    """If `offset` is the `<` right after `#name`/`!name` whose body did not lex, say why."""
    if not text.startswith("<", offset):
        return None
    m = _DIALECT_NAME_BEFORE.search(text, max(0, offset - 200), offset)
    if m is None:
        return None
    if balanced_end(text, offset) is None:
        msg = f"unbalanced '<' in '{m.group()}<...': missing '>'"
    else:
        msg = f"'{m.group()}<...>' nests '<' more than 8 levels deep"
    return at_offset(filename, text, m.start(), msg)


def from_lark(
    err: UnexpectedInput, filename: str, text: str, terminals: dict[str, str]
) -> Diagnostic:
    """The Diagnostic for one of lark's parse errors."""
    if isinstance(err, UnexpectedCharacters):
        offset = err.pos_in_stream
        ch = text[offset] if offset < len(text) else ""
        if (diag := _unbalanced_body(filename, text, offset)) is not None:
            return diag
        if ch == '"' and not _STRING.match(text, offset):
            msg = "unterminated string literal"
        else:
            expected = describe_expected(set(err.allowed or ()), terminals)
            shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
            msg = f"unexpected character '{shown}'; expected {expected}"
        return at(filename, text, err.line, err.column, msg)
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        if (diag := _unbalanced_body(filename, text, err.token.start_pos)) is not None:
            return diag
        expected = describe_expected(set(err.expected), terminals)
        tok = err.token
        msg = f"expected {expected}, got {_describe_token(tok)}"
        return at(filename, text, tok.line, tok.column, msg)
    if isinstance(err, UnexpectedToken | UnexpectedEOF):
        expected = describe_expected(set(err.expected), terminals)
        return end_of(filename, text, f"unexpected end of input (truncated?); expected {expected}")
    return at(
        filename, text, getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1, str(err)
    )


def decode_source(data: bytes, filename: str) -> str:
    """`data` decoded as UTF-8 (a leading BOM dropped); a Diagnostic at the first invalid
    byte otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        col = len(data[line_start : e.start].decode("utf-8", "replace")) + 1
        line_end = data.find(b"\n", e.start)
        source = data[line_start : line_end if line_end >= 0 else len(data)]
        msg = f"invalid UTF-8 byte 0x{data[e.start]:02x}; the input must be UTF-8 text"
        return_diag = Diagnostic(filename, line, col, msg, source.decode("utf-8", "replace"))
        raise return_diag from None
    return text[1:] if text.startswith("\ufeff") else text
