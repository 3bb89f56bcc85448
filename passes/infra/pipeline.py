"""MLIR's textual pass pipelines: parsing, typed pass options, printing.

    builtin.module(canonicalize, func.func(cse, loop-unroll{factor=4}))
    canonicalize,func.func(cse)          # flat form: implicitly anchored on builtin.module

A pipeline is a tree of `OpPassManager`s, each anchored on an op name. `name(...)` nests a
pipeline that runs on every `name` op directly inside the op its parent runs on (as
MLIR's OpToOpPassAdaptor does); a bare name is a pass. Grammar:

    pipeline ::= (element (',' element)*)?
    element  ::= OP-NAME '(' pipeline ')'          # a nested pipeline, e.g. func.func(...)
               | PASS-NAME options?
    options  ::= '{' (option (' ' option)*)? '}'  # space separated, as in MLIR and xDSL
    option   ::= KEY ('=' value (',' value)*)?     # a list value is a tuple option
    value    ::= NUMBER | true | false | IDENT | "quoted string" | '{' balanced text '}'

Pass options are the fields of the pass dataclass (xDSL's convention): `max-iterations` or
`max_iterations` sets the field `max_iterations`. Supported field types: `int`, `float`,
`bool`, `str`, `Literal[...]` of strings, `tuple[T, ...]` of those, and `T | None`. A key
without a value sets a `bool` field to true and an optional field to None. Every error is a
`PipelineError` whose message names the pass and option, lists what is available and says
which type was expected; syntax errors show the pipeline with a caret.

Source: https://mlir.llvm.org/docs/PassManagement/#textual-pass-pipeline-specification
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from xdsl.passes import ModulePass

from .registry import available_passes

ROOT_ANCHOR = "builtin.module"


class PipelineError(ValueError):
    """A pipeline string names an unknown pass, an unknown option or a bad option value,
    or is not well formed."""


@dataclass(eq=False)
class OpPassManager:
    """A pipeline anchored on ops named `anchor`: passes and nested pipelines, run in order.

    `str()` gives the textual form (`func.func(cse,dce)`), which parses back to an equal
    pipeline.
    """

    anchor: str = ROOT_ANCHOR
    entries: list[ModulePass | OpPassManager] = field(default_factory=list)

    def add(self, p: ModulePass) -> OpPassManager:
        """Append a pass; returns self."""
        self.entries.append(p)
        return self

    def nest(self, anchor: str) -> OpPassManager:
        """Append and return a pipeline that runs on the `anchor` ops inside this one's."""
        child = OpPassManager(anchor)
        self.entries.append(child)
        return child

    def passes(self) -> Iterator[ModulePass]:
        """Every pass of the tree, depth first in pipeline order."""
        for e in self.entries:
            if isinstance(e, OpPassManager):
                yield from e.passes()
            else:
                yield e

    def walk(self) -> Iterator[OpPassManager]:
        """This pipeline and every nested one, depth first."""
        yield self
        for e in self.entries:
            if isinstance(e, OpPassManager):
                yield from e.walk()

    def __str__(self) -> str:
        inner = ",".join(
            str(e) if isinstance(e, OpPassManager) else pass_text(e) for e in self.entries
        )
        return f"{self.anchor}({inner})"


def parse_pipeline(text: str) -> OpPassManager:
    """The pipeline tree of `text`, anchored on builtin.module. Raises PipelineError."""
    parser = _Parser(text)
    elements = parser.pipeline(top=True)
    if len(elements) == 1 and isinstance(elements[0], OpPassManager):
        if elements[0].anchor == ROOT_ANCHOR:
            return elements[0]
    return OpPassManager(ROOT_ANCHOR, elements)


# ------------------------------------------------------------------------------ parsing

_NAME = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_.$-]*")
_BARE_VALUE = re.compile(r"[A-Za-z0-9_.+\-]+")


@dataclass(frozen=True)
class RawValue:
    """One option value as written: its text and whether it was quoted."""

    text: str
    quoted: bool = False


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> PipelineError:
        pos = self.pos if pos is None else pos
        return PipelineError(f"{message}\n  {self.text}\n  {' ' * pos}^")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, ch: str) -> None:
        self.skip_ws()
        if self.peek() != ch:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"bad pipeline: expected '{ch}', found {found}")
        self.pos += 1

    def name(self, what: str) -> tuple[str, int]:
        self.skip_ws()
        m = _NAME.match(self.text, self.pos)
        if m is None:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"bad pipeline: expected {what}, found {found}")
        self.pos = m.end()
        return m.group(), m.start()

    def pipeline(self, top: bool = False) -> list[ModulePass | OpPassManager]:
        out: list[ModulePass | OpPassManager] = []
        self.skip_ws()
        if self.peek() in ("", ")"):
            if top and self.peek() == ")":
                raise self.error("bad pipeline: unbalanced ')'")
            return out
        while True:
            out.append(self.element())
            self.skip_ws()
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == "":
                return out
            if self.peek() == ")":
                if top:
                    raise self.error("bad pipeline: unbalanced ')'")
                return out
            raise self.error(f"bad pipeline: expected ',' or the end, found {self.peek()!r}")

    def element(self) -> ModulePass | OpPassManager:
        name, start = self.name("a pass name or an op name")
        self.skip_ws()
        if self.peek() == "(":
            if "." not in name:
                raise self.error(
                    f"bad pipeline: '{name}(...)' nests a pipeline, but '{name}' is not an op "
                    "name (write dialect.op, e.g. func.func(cse))",
                    start,
                )
            self.pos += 1
            nested = OpPassManager(name, self.pipeline())
            self.expect(")")
            return nested
        options: dict[str, tuple[list[RawValue], int]] = {}
        if self.peek() == "{":
            self.pos += 1
            options = self.options()
        return make_pass(name, options, self.error, start)

    def options(self) -> dict[str, tuple[list[RawValue], int]]:
        opts: dict[str, tuple[list[RawValue], int]] = {}
        while True:
            self.skip_ws()
            if self.peek() == "}":
                self.pos += 1
                return opts
            key, at = self.name("an option name or '}'")
            if key.replace("-", "_") in {k.replace("-", "_") for k in opts}:
                raise self.error(f"bad pipeline: option '{key}' given twice", at)
            values: list[RawValue] = []
            if self.peek() == "=":
                self.pos += 1
                values.append(self.value())
                while self.peek() == ",":
                    self.pos += 1
                    values.append(self.value())
            opts[key] = (values, at)
            if self.peek() not in ("}", "") and not self.peek().isspace():
                raise self.error(
                    f"bad pipeline: expected a space or '}}' after option '{key}', "
                    f"found {self.peek()!r}"
                )
            if self.peek() == "":
                raise self.error("bad pipeline: unterminated options, expected '}'")

    def value(self) -> RawValue:
        ch = self.peek()
        if ch == '"':
            return RawValue(self.quoted(), True)
        if ch == "{":
            start, depth = self.pos, 0
            while self.pos < len(self.text):
                depth += {"{": 1, "}": -1}.get(self.text[self.pos], 0)
                self.pos += 1
                if depth == 0:
                    return RawValue(self.text[start + 1 : self.pos - 1], True)
            raise self.error("bad pipeline: unbalanced '{' in option value", start)
        m = _BARE_VALUE.match(self.text, self.pos)
        if m is None:
            found = repr(ch) if ch else "the end"
            raise self.error(
                f"bad pipeline: expected an option value, found {found} "
                '(quote values with other characters: key="a b")'
            )
        self.pos = m.end()
        return RawValue(m.group())

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == '"':
                return "".join(out)
            if ch == "\\" and self.pos < len(self.text):
                esc = self.text[self.pos]
                self.pos += 1
                out.append({"n": "\n", "t": "\t"}.get(esc, esc))
            else:
                out.append(ch)
        raise self.error("bad pipeline: unterminated string", start)


# ------------------------------------------------------------------------ typed options


def option_fields(cls: type[ModulePass]) -> list[tuple[str, Any, Any]]:
    """(field name, type hint, default or dataclasses.MISSING) of each option of a pass."""
    if not dataclasses.is_dataclass(cls):
        return []
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name == "name":
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        out.append((f.name, hints.get(f.name, Any), default))
    return out


def type_name(hint: Any) -> str:
    """How an option type reads in messages and --list-passes: `int`, `tuple[int, ...]`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " | ".join("None" if a is type(None) else type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{type_name(args[0])}, ...]"
        return f"tuple[{', '.join(type_name(a) for a in args)}]"
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    return getattr(hint, "__name__", str(hint))


def option_value_text(value: Any) -> str:
    """An option value as the pipeline syntax writes it (inverse of the conversion)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(option_value_text(v) for v in value)
    if isinstance(value, str):
        if value and _BARE_VALUE.fullmatch(value):
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def pass_text(p: ModulePass) -> str:
    """`name{opt=value ...}` for a pass instance, with the options that differ from their
    defaults."""
    opts = []
    for fname, _, default in option_fields(type(p)):
        value = getattr(p, fname)
        if default is not dataclasses.MISSING and value == default:
            continue
        key = fname.replace("_", "-")
        opts.append(key if value is None else f"{key}={option_value_text(value)}")
    return f"{p.name}{{{' '.join(opts)}}}" if opts else p.name


class _BadValue(Exception):
    pass


_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")


def _scalar(v: RawValue, hint: Any) -> Any:
    if hint is str:
        return v.text
    if typing.get_origin(hint) is Literal:
        if v.text in typing.get_args(hint):
            return v.text
        raise _BadValue
    if v.quoted:
        raise _BadValue
    if hint is bool:
        if v.text in ("true", "1"):
            return True
        if v.text in ("false", "0"):
            return False
        raise _BadValue
    if hint is int:
        if _INT.fullmatch(v.text):
            return int(v.text)
        raise _BadValue
    if hint is float:
        try:
            return float(v.text)
        except ValueError:
            raise _BadValue from None
    raise _BadValue


def convert_option(values: list[RawValue], hint: Any) -> Any:
    """The value of an option of type `hint` written as `values`; _BadValue if it is not
    one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if not values and type(None) in args:
            return None
        for alt in args:
            if alt is type(None):
                continue
            try:
                return convert_option(values, alt)
            except _BadValue:
                pass
        raise _BadValue
    if not values:
        if hint is bool:
            return True
        raise _BadValue
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_scalar(v, args[0]) for v in values)
        if len(args) != len(values):
            raise _BadValue
        return tuple(_scalar(v, a) for v, a in zip(values, args))
    if len(values) != 1:
        raise _BadValue
    return _scalar(values[0], hint)


def describe_options(cls: type[ModulePass]) -> list[str]:
    """`key: type = default` for each option of a pass (as --list-passes shows them)."""
    out = []
    for fname, hint, default in option_fields(cls):
        text = f"{fname.replace('_', '-')}: {type_name(hint)}"
        if default is None:
            text += " = None"
        elif default == ():
            text += " = (empty)"
        elif default is not dataclasses.MISSING:
            text += f" = {option_value_text(default)}"
        else:
            text += " (required)"
        out.append(text)
    return out


def make_pass(
    name: str,
    options: dict[str, tuple[list[RawValue], int]],
    error=None,
    at: int = 0,
) -> ModulePass:
    """An instance of the pass registered as `name` with `options` (key -> raw values).

    Raises PipelineError for an unknown pass, an unknown option, a missing required option
    or a value of the wrong type. `error(message, pos)` makes the error (with a caret).
    """
    if error is None:

        def error(message: str, pos: int = 0) -> PipelineError:
            return PipelineError(message)

    registry = available_passes()
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise error(
            f"unknown pass '{name}'{hint}; available passes: {', '.join(sorted(registry))}", at
        )
    try:
        cls = registry[name]()
    except Exception as e:
        raise error(f"pass '{name}' failed to load: {type(e).__name__}: {e}", at) from None
    fields = {fname: (hint, default) for fname, hint, default in option_fields(cls)}
    listing = "; ".join(describe_options(cls)) or "none"
    kwargs: dict[str, Any] = {}
    for key, (values, pos) in options.items():
        fname = key.replace("-", "_")
        if fname not in fields:
            raise error(
                f"pass '{name}' has no option '{key}'; its options: {listing}",
                pos,
            )
        hint = fields[fname][0]
        try:
            kwargs[fname] = convert_option(values, hint)
        except _BadValue:
            given = ",".join(v.text for v in values) if values else "no value"
            raise error(
                f"bad value for option '{key}' of pass '{name}': expected {type_name(hint)}, "
                f"got '{given}'",
                pos,
            ) from None
    missing = [f for f, (_, d) in fields.items() if d is dataclasses.MISSING and f not in kwargs]
    if missing:
        raise error(
            f"pass '{name}' requires option{'s' if len(missing) > 1 else ''} "
            + ", ".join(f"'{m.replace('_', '-')}' ({type_name(fields[m][0])})" for m in missing),
            at,
        )
    try:
        return cls(**kwargs)
    except Exception as e:  # a pass's own validation (__post_init__)
        raise error(f"bad options for pass '{name}': {e}", at) from None


def with_pass_options(
    text: str, pass_name: str, options: dict[str, Any], *, override: bool = True
) -> str:
    """`text` (a pipeline) with `options` (field name or dashed key -> value) set on every
    `pass_name` pass in it, as pipeline text again (flat unless `text` was anchored).

        with_pass_options(DEFAULT_PIPELINE, "convert-tensor-to-loop", {"microkernels": False})

    With `override=False` an option the pipeline already sets to a non-default value is
    kept (a target's default that the user's pipeline may have chosen). Raises
    PipelineError for a bad pipeline, an unknown option or a value of the wrong type.
    """
    root = parse_pipeline(text)
    for pm in root.walk():
        for i, p in enumerate(pm.entries):
            if isinstance(p, OpPassManager) or p.name != pass_name:
                continue
            fields = {f: d for f, _, d in option_fields(type(p))}
            changes = {}
            for key, value in options.items():
                fname = key.replace("-", "_")
                if fname not in fields:
                    listing = "; ".join(describe_options(type(p))) or "none"
                    raise PipelineError(
                        f"pass '{pass_name}' has no option '{key}'; its options: {listing}"
                    )
                if override or getattr(p, fname) == fields[fname]:
                    changes[fname] = value
            # Through the text form, so that values are checked like parsed ones.
            new = dataclasses.replace(p, **changes)
            pm.entries[i] = parse_pipeline(pass_text(new)).entries[0]
    if text.lstrip().startswith(f"{ROOT_ANCHOR}("):
        return str(root)
    return str(root)[len(ROOT_ANCHOR) + 1 : -1]


def without_pass(text: str, pass_name: str) -> str:
    """`text` (a pipeline) with every `pass_name` pass removed, as pipeline text again
    (flat unless `text` was anchored); `text` itself when it has none.

        without_pass(DEFAULT_PIPELINE, "graph-convert-layout")   # convolutions stay NCHW

    Raises PipelineError for a bad pipeline."""
    root = parse_pipeline(text)
    for pm in root.walk():
        pm.entries = [p for p in pm.entries if isinstance(p, OpPassManager) or p.name != pass_name]
    if text.lstrip().startswith(f"{ROOT_ANCHOR}("):
        return str(root)
    return str(root)[len(ROOT_ANCHOR) + 1 : -1]
