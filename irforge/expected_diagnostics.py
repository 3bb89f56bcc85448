"""`--split-input-file` and `--verify-diagnostics`, as mlir-opt has them.

A test file holds chunks separated by a line `// -----`; each chunk is processed on its own,
with line numbers still counted in the whole file. A chunk states the diagnostics it must
produce in comments (MLIR's syntax, https://mlir.llvm.org/docs/Diagnostics/):

    // expected-error @+1 {{result shape [4, 9] does not match}}
    %0 = "graph.relu"(%x) : (tensor<4x8xf32>) -> tensor<4x9xf32>

`expected-error`, `expected-warning`, `expected-note` and `expected-remark`; the line is the
comment's own, `@+N` / `@-N` lines below / above it, `@above` / `@below` the previous / next
line. The text between `{{` and `}}` must occur in the message. Every produced diagnostic
must be expected and every expected one produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from irforge.textual_ir import Diagnostic

SPLIT_MARKER = re.compile(r"^// -----\s*$", re.MULTILINE)
_EXPECTED = re.compile(
    r"//\s*expected-(?P<kind>error|warning|note|remark)\s*"
    r"(?:@(?P<where>[+-]\d+|above|below))?\s*\{\{(?P<text>.*?)\}\}"
)


def split_input(text: str) -> list[tuple[int, str]]:
    """The chunks of `text` between `// -----` lines, each with the 0-based number of the
    file line it starts on."""
    chunks, start, line = [], 0, 0
    for m in SPLIT_MARKER.finditer(text):
        chunks.append((line, text[start : m.start()]))
        line += text.count("\n", start, m.end()) + 1
        start = m.end() + 1
    chunks.append((line, text[start:]))
    return chunks


def pad(first_line: int, chunk: str) -> str:
    """`chunk` preceded by empty lines, so that positions in it are positions in the file."""
    return "\n" * first_line + chunk


@dataclass
class Expected:
    kind: str
    line: int  # 1-based line the diagnostic must be reported on
    text: str
    comment_line: int
    col: int
    seen: bool = False


def collect(text: str) -> list[Expected]:
    """Every `expected-*` annotation of `text` (a padded chunk)."""
    out = []
    for n, source in enumerate(text.split("\n"), start=1):
        for m in _EXPECTED.finditer(source):
            where = m.group("where")
            if where is None:
                line = n
            elif where == "above":
                line = n - 1
            elif where == "below":
                line = n + 1
            else:
                line = n + int(where)
            out.append(Expected(m.group("kind"), line, m.group("text"), n, m.start() + 1))
    return out


def check(
    filename: str, text: str, expected: list[Expected], produced: list[Diagnostic]
) -> list[Diagnostic]:
    """Diagnostics for every mismatch between what was `expected` and what was `produced`
    (all of irforge's diagnostics are errors)."""
    lines = text.split("\n")

    def located(line: int, col: int, msg: str) -> Diagnostic:
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        return Diagnostic(filename, line, col, msg, source)

    problems = []
    for d in produced:
        match = next(
            (
                e
                for e in expected
                if not e.seen and e.kind == "error" and e.line == d.line and e.text in d.message
            ),
            None,
        )
        if match is None:
            problems.append(located(d.line, d.col, f"unexpected error: {d.message}"))
        else:
            match.seen = True
    for e in expected:
        if not e.seen:
            problems.append(
                located(
                    e.comment_line,
                    e.col,
                    f'expected {e.kind} "{e.text}" on line {e.line} was not produced',
                )
            )
    return problems
