"""Conversion targets: which ops may remain after a `convert-X-to-Y` pass, and a report of
every op that is still illegal (MLIR's ConversionTarget, checked after the fact).

    target = ConversionTarget(legal_dialects={"tensor", "arith", "math", "func", "builtin"})
    target.add_illegal_dialect("graph")
    target.check(module, "convert-graph-to-tensor")   # raises IllegalOpsError

Legality of an op, first rule that applies: a dynamic rule for its name
(`add_dynamically_legal_op(name, fn)`), then an explicitly illegal or legal op name, then an
illegal or legal dialect. An op none of them mentions is legal unless `strict=True` (the
partial- vs full-conversion distinction of MLIR).

Each illegal op is reported with its source location when one is known. The locator is
a callback `op -> "FILE:LINE:COL" | (line, col) | None`: the one given to `check`, else the
ones registered with `register_locator` (the top layer registers the textual IR's record
of where each op was parsed, so this module never imports the parser), else the op's own
`loc(...)` if it is a file:line:col location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from xdsl.ir import Operation

Locator = Callable[[Operation], "str | tuple[int, int] | None"]
_LOCATORS: list[Locator] = []


def register_locator(fn: Locator) -> None:
    """Add a source locator used by every legality report (e.g. the textual IR's)."""
    if fn not in _LOCATORS:
        _LOCATORS.append(fn)


def _op_location(op: Operation) -> str | None:
    from xdsl.dialects.builtin import FileLineColLoc

    loc = getattr(op, "location", None)
    if isinstance(loc, FileLineColLoc):
        return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return None


def locate(op: Operation, locator: Locator | None = None) -> str | None:
    """`FILE:LINE:COL` (or `LINE:COL`) of `op` if any locator knows it, else None."""
    for fn in ([locator] if locator else []) + _LOCATORS + [_op_location]:
        where = fn(op)
        if where:
            return where if isinstance(where, str) else f"{where[0]}:{where[1]}"
    return None


@dataclass(frozen=True)
class IllegalOp:
    """One op still illegal after a conversion, and where it is (if known)."""

    op: Operation
    location: str | None

    def __str__(self) -> str:
        at = f" at {self.location}" if self.location else ""
        return f"'{self.op.name}'{at}"


class IllegalOpsError(ValueError):
    """A conversion left illegal ops; `illegal` lists them (in IR order)."""

    def __init__(self, pass_name: str, illegal: list[IllegalOp], reason: str = ""):
        names = sorted({i.op.name for i in illegal})
        lines = "\n".join(f"  {i}" for i in illegal[:50])
        more = f"\n  ... and {len(illegal) - 50} more" if len(illegal) > 50 else ""
        super().__init__(
            f"{pass_name}: {len(illegal)} illegal op{'s' if len(illegal) != 1 else ''} "
            f"remain ({', '.join(names)}){reason}:\n{lines}{more}"
        )
        self.pass_name = pass_name
        self.illegal = illegal


@dataclass
class ConversionTarget:
    """The ops and dialects a conversion may leave behind (see the module docstring)."""

    legal_dialects: set[str] = field(default_factory=set)
    legal_ops: set[str] = field(default_factory=set)
    illegal_dialects: set[str] = field(default_factory=set)
    illegal_ops: set[str] = field(default_factory=set)
    dynamic: dict[str, Callable[[Operation], bool]] = field(default_factory=dict)
    strict: bool = False

    def add_legal_dialect(self, *names: str) -> ConversionTarget:
        self.legal_dialects.update(names)
        return self

    def add_illegal_dialect(self, *names: str) -> ConversionTarget:
        self.illegal_dialects.update(names)
        return self

    def add_legal_op(self, *names: str) -> ConversionTarget:
        self.legal_ops.update(names)
        return self

    def add_illegal_op(self, *names: str) -> ConversionTarget:
        self.illegal_ops.update(names)
        return self

    def add_dynamically_legal_op(
        self, name: str, fn: Callable[[Operation], bool]
    ) -> ConversionTarget:
        """`fn(op)` decides whether an op named `name` is legal."""
        self.dynamic[name] = fn
        return self

    def is_legal(self, op: Operation) -> bool:
        fn = self.dynamic.get(op.name)
        if fn is not None:
            return bool(fn(op))
        if op.name in self.illegal_ops:
            return False
        if op.name in self.legal_ops:
            return True
        dialect = op.dialect_name()
        if dialect in self.illegal_dialects:
            return False
        if dialect in self.legal_dialects:
            return True
        return not self.strict

    def illegal(self, root: Operation, locator: Locator | None = None) -> list[IllegalOp]:
        """Every illegal op nested in `root` (root excluded), in IR order."""
        return [IllegalOp(o, locate(o, locator)) for o in _nested(root) if not self.is_legal(o)]

    def check(
        self, root: Operation, pass_name: str, locator: Locator | None = None, reason: str = ""
    ) -> None:
        """Raise IllegalOpsError listing every illegal op nested in `root`, if any."""
        bad = self.illegal(root, locator)
        if bad:
            raise IllegalOpsError(pass_name, bad, reason)


def _nested(root: Operation) -> Iterable[Operation]:
    it = root.walk()
    next(it)  # root itself
    return it
