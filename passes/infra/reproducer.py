"""Crash reproducers: the IR before a failing pass and the pipeline that makes it fail.

When a pass raises or leaves IR that does not verify, the pass manager (given
`crash_reproducer=PATH`; irforge-opt does so by default) writes PATH: the module as it was
before the failing pass, then MLIR's reproducer block

    {-#
      external_resources: {
        mlir_reproducer: {
          pipeline: "builtin.module(func.func(cse))",
          disable_threading: true,
          verify_each: true
        }
      }
    #-}

`irforge-opt PATH --run-reproducer` reads the pipeline back and replays the failure.

The IR is the module before the failing entry of the root pipeline. To keep successful
runs free of snapshots, it is recomputed after the failure: the entries before the failing
one run again on a copy of the input (irforge-opt re-parses its input file). When the
failing pass sits in a nested pipeline (`func.func(a, b)`), the IR is the module before
that nested pipeline started and the pipeline is cut right after the failing pass
(`func.func(a, b)` if `b` failed): replaying it redoes exactly the work up to the failure.
Should the entries before not run the same way again, the reproducer holds the input and
the whole pipeline up to the failing pass.

Reading the block: `read_reproducer` extracts the `mlir_reproducer` settings with a small
scanner of the `{-# ... #-}` block. Interim: unless the textual IR parser reads file
metadata itself (it exposes `external_resources`), the scanner also removes the
`external_resources` section from the text before it is parsed.

Source: https://mlir.llvm.org/docs/PassManagement/#crash-and-failure-reproduction
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from xdsl.ir import Operation

from .pipeline import OpPassManager


class ReproducerError(ValueError):
    """A file given to --run-reproducer has no (or a malformed) reproducer block."""


def default_reproducer_path(input_name: str) -> str:
    """Where irforge-opt writes a reproducer for `input_name` by default: a file named
    after the input in the system's temporary directory."""
    stem = os.path.basename(input_name) or "stdin"
    if stem in ("-", "<stdin>"):
        stem = "stdin"
    stem = re.sub(r"\.mlir$", "", stem)
    stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", stem)
    return os.path.join(tempfile.gettempdir(), f"{stem}.repro.mlir")


def reproducer_section(pipeline: str, verify_each: bool) -> str:
    """The `external_resources` entry of the metadata block (two-space indented)."""
    quoted = pipeline.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "  external_resources: {\n"
        "    mlir_reproducer: {\n"
        f'      pipeline: "{quoted}",\n'
        "      disable_threading: true,\n"
        f"      verify_each: {'true' if verify_each else 'false'}\n"
        "    }\n"
        "  }"
    )


def attach_reproducer(ir_text: str, pipeline: str, verify_each: bool) -> str:
    """`ir_text` with the reproducer block at the end (merged into its own `{-# #-}`
    block if it already ends with one, e.g. for dialect resources)."""
    section = reproducer_section(pipeline, verify_each)
    found = _find_block(ir_text)
    if found is not None and not ir_text[found[1] :].strip():
        start, end = found
        body = ir_text[start + 3 : end - 3].rstrip()
        return ir_text[:start] + "{-#" + body + ",\n" + section + "\n#-}\n"
    if not ir_text.endswith("\n"):
        ir_text += "\n"
    return ir_text + "{-#\n" + section + "\n#-}\n"


def write_reproducer(
    path: str, module: Operation, pipeline: OpPassManager | str, verify_each: bool
) -> None:
    """Write `module` and the reproducer block for `pipeline` to `path` (atomically)."""
    from ...textual_ir import print_module

    text = attach_reproducer(print_module(module), str(pipeline), verify_each)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".irforge-repro-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_reproducer(text: str, filename: str = "<input>") -> tuple[str, dict[str, Any]]:
    """(text to parse, the `mlir_reproducer` settings) of a reproducer file.

    The settings hold `pipeline` (str) and, when present, `verify_each` and
    `disable_threading` (bool). Raises ReproducerError if there are none.
    """
    found = _find_block(text)
    if found is None:
        raise ReproducerError(
            f"{filename}: no '{{-# external_resources: {{ mlir_reproducer: ... }} #-}}' block: "
            "not a reproducer"
        )
    start, end = found
    entries = _Scanner(text, start + 3, end - 3, filename).entries()
    external = next((v for k, v, _, _ in entries if k == "external_resources"), None)
    config = external.get("mlir_reproducer") if isinstance(external, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("pipeline"), str):
        raise ReproducerError(
            f"{filename}: the metadata block has no external_resources.mlir_reproducer "
            "with a pipeline string"
        )
    if not _parser_reads_metadata():
        kept = [text[s:e].strip() for k, _, s, e in entries if k != "external_resources"]
        block = "{-#\n  " + ",\n  ".join(kept) + "\n#-}\n" if kept else ""
        text = text[:start] + block + text[end:]
    return text, config


def _parser_reads_metadata() -> bool:
    from ... import textual_ir as textual_ir

    return hasattr(textual_ir, "external_resources")


def _find_block(text: str) -> tuple[int, int] | None:
    """(start of `{-#`, end of `#-}`) of the last metadata block of `text`."""
    start = text.rfind("{-#")
    if start < 0:
        return None
    end = text.find("#-}", start)
    return None if end < 0 else (start, end + 3)


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<word>[A-Za-z_][A-Za-z0-9_$.\-]*)|(?P<punct>[{}:,]))',
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{2}|.)", re.DOTALL)


def _unescape(s: str) -> str:
    def one(m: re.Match) -> str:
        e = m.group(1)
        if len(e) == 2:
            return chr(int(e, 16))
        return {"n": "\n", "t": "\t"}.get(e, e)

    return _ESCAPE.sub(one, s)


class _Scanner:
    """Reads `key: value, ...` of a metadata block; values are strings, true / false, or
    nested `{...}` dictionaries."""

    def __init__(self, text: str, pos: int, end: int, filename: str):
        self.text, self.pos, self.end, self.filename = text, pos, end, filename

    def error(self, what: str) -> ReproducerError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ReproducerError(f"{self.filename}:{line}: malformed metadata block: {what}")

    def token(self) -> tuple[str, str]:
        m = _TOKEN.match(self.text, self.pos, self.end)
        if m is None:
            if not self.text[self.pos : self.end].strip():
                return "end", ""
            raise self.error(f"unexpected {self.text[self.pos : self.pos + 10]!r}")
        self.pos = m.end()
        kind = m.lastgroup or "end"
        return kind, m.group(kind)

    def peek(self) -> tuple[str, str]:
        pos = self.pos
        tok = self.token()
        self.pos = pos
        return tok

    def entries(self, closing: str = "end") -> list[tuple[str, Any, int, int]]:
        """(key, value, start, end) of each entry up to `closing` ('}' or the block end)."""
        out = []
        if self.peek() == ("punct", "}") and closing == "}":
            self.token()
            return out
        while True:
            start = self.pos
            kind, key = self.token()
            if kind == "str":
                key = _unescape(key[1:-1])
            elif kind != "word":
                raise self.error(f"expected a key, found {key!r}")
            if self.token() != ("punct", ":"):
                raise self.error(f"expected ':' after '{key}'")
            out.append((key, self.value(), start, self.pos))
            kind, tok = self.token()
            if tok == ",":
                continue
            if (closing == "}" and tok == "}") or (closing == "end" and kind == "end"):
                return out
            raise self.error(f"expected ',' or the end of '{key}', found {tok!r}")

    def value(self) -> Any:
        kind, tok = self.token()
        if kind == "str":
            return _unescape(tok[1:-1])
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "{":
            return {k: v for k, v, _, _ in self.entries("}")}
        raise self.error(f"unexpected value {tok!r}")
