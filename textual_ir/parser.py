"""Parse MLIR's generic operation form into xDSL IR.

The grammar (`generic.lark`) runs on lark's LALR(1) parser with the contextual lexer, and
`IRBuilder` builds ops as rules are reduced, so no parse tree is kept. The Lark object is
built on first use and shared; a lock makes parses one at a time (the builder has state).

Each parsed op's source position is kept in a weak side table (`source_position`), and the
text of each parsed module in another, so that `verify_module` can point at the op that
failed verification. Ops and block arguments parsed without a `loc(...)` are recorded too
(`implicit_location`), so that `print_module(debuginfo=True)` prints where they were parsed,
and the file's `{-# ... #-}` metadata is kept per module (`external_resources`).

Recursion happens only in xDSL code (hashing nested attributes): a parse that overflows
Python's recursion limit is retried on a deep stack (`deep.call_deep`).
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
from xdsl.ir import BlockArgument, Operation
from xdsl.utils.exceptions import VerifyException

from .builder import IRBuilder
from .deep import call_deep
from .diagnostics import Diagnostic, at, at_offset, decode_source, from_lark
from .resources import FileMetadata

# Switch the cyclic GC off while parsing (see `_parse`); benchmarks turn it off to compare.
DISABLE_GC = True

_lock = threading.RLock()
_lark: Lark | None = None
_builder: IRBuilder | None = None
_terminals: dict[str, str] = {}

_positions: weakref.WeakKeyDictionary[Operation, tuple[int, int]] = weakref.WeakKeyDictionary()
_sources: weakref.WeakKeyDictionary[Operation, tuple[str, str]] = weakref.WeakKeyDictionary()
_implicit_locs: weakref.WeakKeyDictionary[Operation | BlockArgument, tuple[str, int, int]] = (
    weakref.WeakKeyDictionary()
)
_metadata: weakref.WeakKeyDictionary[Operation, FileMetadata] = weakref.WeakKeyDictionary()


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
    `!t = ...` aliases) that are wrapped in an implicit module, as mlir-opt does. A trailing
    `{-# dialect_resources: ..., external_resources: ... #-}` block is read too (see
    `irforge.textual_ir.resources`).

    Ops are made with `Operation.create` on the class the Context registers for their name;
    unknown names are an error unless `ctx.allow_unregistered`. The module is not verified
    (see `verify_module`). Raises Diagnostic for any malformed input, and for input that
    nests too deeply even for a deep stack (~30,000 levels); an unexpected exception inside
    the parser becomes a Diagnostic "internal error while parsing" at the current token.
    """
    try:
        module, positions, metadata = call_deep(_parse, text, ctx, filename)
    except RecursionError:
        raise _too_deep(filename, text) from None
    for node, line, col, implicit_loc in positions:
        if isinstance(node, Operation):
            _positions[node] = (line, col)
        if implicit_loc:
            _implicit_locs[node] = (filename, line, col)
    if module not in _positions:  # an implicit module: mlir-opt gives it FILE:0:0
        _positions[module] = (1, 1)
        _implicit_locs[module] = (filename, 0, 0)
    _sources[module] = (filename, text)
    if metadata is not None:
        _metadata[module] = metadata
    return module


def _parse(text: str, ctx: Context, filename: str):
    """One attempt at parsing (RecursionError escapes, for `call_deep` to retry)."""
    with _lock:
        lark, builder = _parser()
        builder.reset(ctx, filename, text)
        # IR is full of reference cycles (parent links), so the cyclic GC would rescan the
        # growing heap again and again while parsing; nothing made here is garbage yet.
        gc_was_enabled = gc.isenabled()
        if DISABLE_GC:
            gc.disable()
        diag: Diagnostic | None = None
        try:
            module = lark.parse(text)
            return module, builder.positions, builder.metadata
        except (Diagnostic, RecursionError):
            raise
        except UnexpectedInput as e:
            diag = _guarded(from_lark, e, filename, text, _terminals)
        except Exception as e:
            diag = _guarded(_from_exception, e, filename, text)
        finally:
            builder.reset(ctx, filename, "")
            if gc_was_enabled:
                gc.enable()
        raise diag


def _from_exception(exc: Exception, filename: str, text: str) -> Diagnostic:
    """An exception that escaped a callback: a constructor of xDSL rejecting what the
    grammar allowed is invalid IR; anything else is a bug of irforge, reported in place."""
    line, col = _failure_position(exc)
    if isinstance(exc, ValueError | VerifyException):
        message = f"invalid IR: {exc}"
    else:
        message = f"internal error while parsing: {type(exc).__name__}: {exc}"
    return at(filename, text, line, col, message)


def _guarded(make, exc: Exception, filename: str, text: str, *more) -> Diagnostic:
    """`make(exc, filename, text, *more)`, or a plain Diagnostic if making the precise one
    fails too."""
    try:
        return make(exc, filename, text, *more)
    except Exception as e:
        message = f"internal error while parsing: {type(exc).__name__}: {exc} ({e})"
        return Diagnostic(filename, 1, 1, message, text.split("\n", 1)[0])


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


def implicit_location(node: Operation | BlockArgument) -> tuple[str, int, int] | None:
    """(file, line, col) of an op or block argument parsed without a `loc(...)`: the
    location mlir-opt would have given it (an implicit module gets FILE:0:0)."""
    return _implicit_locs.get(node)


def external_resources(module: Operation) -> dict[str, dict[str, str | bool]]:
    """The `external_resources` of the file `module` was parsed from, by group and key
    (e.g. `{"mlir_reproducer": {"pipeline": "...", "verify_each": True}}`); {} if none."""
    metadata = _metadata.get(module)
    return metadata.external_resources if metadata is not None else {}


def file_metadata(module: Operation) -> FileMetadata | None:
    """All the `{-# ... #-}` metadata of the file `module` was parsed from, if any."""
    return _metadata.get(module)


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
    """At the bracket where the input reaches its deepest nesting (strings and comments
    skipped): the input nests too deeply even for the deep stack of `call_deep`."""
    depth = deepest = deepest_at = 0
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
            if depth > deepest:
                deepest, deepest_at = depth, i
        elif ch in ")]}>" and not (ch == ">" and i and text[i - 1] == "-"):
            depth -= 1
        i += 1
    message = f"input nests too deeply ({deepest} levels of brackets)"
    return at_offset(filename, text, deepest_at, message)
