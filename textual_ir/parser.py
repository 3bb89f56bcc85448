"""Parse MLIR's generic operation form into xDSL IR.

The grammar (`generic.lark`) runs on lark's LALR(1) parser with the contextual lexer, and
`IRBuilder` builds ops as rules are reduced, so no parse tree is kept. The Lark object is
built on first use and shared; a lock makes parses one at a time (the builder has state).

Each parsed op's source position is kept in a weak side table (`source_position`), and the
text of each parsed module in another, so that `verify_module` can point at the op that
failed verification.
"""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedInput
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from irforge.textual_ir.builder import IRBuilder
from irforge.textual_ir.diagnostics import Diagnostic, at, at_offset, decode_source, from_lark

_lock = threading.RLock()
_lark: Lark | None = None
_builder: IRBuilder | None = None
_terminals: dict[str, str] = {}

_positions: weakref.WeakKeyDictionary[Operation, tuple[int, int]] = weakref.WeakKeyDictionary()
_sources: weakref.WeakKeyDictionary[Operation, tuple[str, str]] = weakref.WeakKeyDictionary()

# Nesting depth reported as "too deep" when Python's recursion limit is hit while building
# or hashing deeply nested attributes.
_MAX_NESTING = 200


def _parser() -> tuple[Lark, IRBuilder]:
    global _lark, _builder
    if _lark is None:
        builder = IRBuilder()
        grammar = (Path(__file__).parent / "generic.lark").read_text()
        lark = Lark(
            grammar,
            parser="lalr",
            lexer="contextual",
            transformer=builder,
            maybe_placeholders=False,
        )
        for t in lark.terminals:
            if t.pattern.type == "str":
                _terminals[t.name] = f"'{t.pattern.value}'"
        _lark, _builder = lark, builder
    return _lark, _builder  # type: ignore[return-value]


def parse_module(text: str, ctx: Context, filename: str = "<stdin>") -> ModuleOp:
    """Parse generic-form IR: one `builtin.module` op, or a list of ops (and `#a = ...` /
    `!t = ...` aliases) that are wrapped in an implicit module, as mlir-opt does.

    Ops are made with `Operation.create` on the class the Context registers for their name;
    unknown names are an error unless `ctx.allow_unregistered`. The module is not verified
    (see `verify_module`). Raises Diagnostic for any malformed input.
    """
    with _lock:
        lark, builder = _parser()
        builder.reset(ctx, filename, text)
        # IR is full of reference cycles (parent links), so the cyclic GC would rescan the
        # growing heap again and again while parsing; nothing made here is garbage yet.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            module = lark.parse(text)
            positions = builder.positions
        except UnexpectedInput as e:
            raise from_lark(e, filename, text, _terminals) from None
        except Diagnostic:
            raise
        except RecursionError:
            raise _too_deep(filename, text) from None
        except Exception as e:  # e.g. an xDSL constructor rejecting what the grammar allowed
            line, col = _failure_position(e)
            raise at(filename, text, line, col, f"invalid IR: {e}") from None
        finally:
            builder.reset(ctx, filename, "")
            if gc_was_enabled:
                gc.enable()
    for op, line, col in positions:
        _positions[op] = (line, col)
    _positions.setdefault(module, (1, 1))
    _sources[module] = (filename, text)
    return module


def parse_file(source: str | Path | bytes, ctx: Context, filename: str | None = None) -> ModuleOp:
    """Parse a file (given by path) or raw bytes, decoding UTF-8 first.

    Invalid UTF-8 is a Diagnostic at the line and column of the first bad byte.
    """
    if isinstance(source, bytes):
        data, name = source, filename or "<bytes>"
    else:
        data, name = Path(source).read_bytes(), filename or str(source)
    return parse_module(decode_source(data, name), ctx, name)


def source_position(op: Operation) -> tuple[int, int] | None:
    """(line, col) where `op` starts in the text it was parsed from, if it was parsed."""
    return _positions.get(op)


def source_of(module: Operation) -> tuple[str, str] | None:
    """(filename, text) a module was parsed from, if it was parsed by `parse_module`."""
    return _sources.get(module)


def _failure_position(exc: BaseException) -> tuple[int, int]:
    """The position of the token lark's parser loop was at when `exc` escaped a callback
    (read from the loop's frame: error path only); (1, 1) if it cannot be found."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "parse_from_state":
            tok = tb.tb_frame.f_locals.get("token")
            if tok is not None and getattr(tok, "line", None):
                return tok.line, tok.column
        tb = tb.tb_next
    return 1, 1


def _too_deep(filename: str, text: str) -> Diagnostic:
    """Where brackets first nest deeper than _MAX_NESTING (strings and comments skipped)."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif ch == "/" and text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch in "([{<":
            depth += 1
            if depth > _MAX_NESTING:
                return at_offset(filename, text, i, f"nesting deeper than {_MAX_NESTING} levels")
        elif ch in ")]}>" and not (ch == ">" and i and text[i - 1] == "-"):
            depth -= 1
        i += 1
    return at_offset(filename, text, 0, "input nested too deeply")
