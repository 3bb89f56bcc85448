"""irforge's dialects and the Context that loads them.

`make_dialect_context()` is the one place a Context is made: irforge's `graph`, `tensor` and `loop`
dialects, xDSL's `llvm` dialect, and the standard xDSL dialects the tower uses (builtin,
func, arith, math, memref, cf). Dialects are registered lazily, so a Context is cheap.
Plugins add dialects with `register_dialect`.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect

_EXTRA_DIALECTS: dict[str, Callable[[], Dialect]] = {}


def _graph() -> Dialect:
    from .graph import Graph

    return Graph


def _tensor() -> Dialect:
    from .tensor import Tensor

    return Tensor


def _loop() -> Dialect:
    from .loop import Loop

    return Loop


def _xdsl(module: str, attr: str) -> Callable[[], Dialect]:
    def load() -> Dialect:
        import importlib

        return getattr(importlib.import_module(f"xdsl.dialects.{module}"), attr)

    return load


def builtin_dialects() -> dict[str, Callable[[], Dialect]]:
    """Name -> factory of every dialect an irforge Context loads (plugins' included)."""
    return {
        "graph": _graph,
        "tensor": _tensor,
        "loop": _loop,
        "func": _xdsl("func", "Func"),
        "arith": _xdsl("arith", "Arith"),
        "math": _xdsl("math", "Math"),
        "memref": _xdsl("memref", "MemRef"),
        "cf": _xdsl("cf", "Cf"),
        "llvm": _xdsl("llvm", "LLVM"),
        "vector": _xdsl("vector", "Vector"),
        **_EXTRA_DIALECTS,
    }


def register_dialect(name: str, factory: Callable[[], Dialect]) -> None:
    """Add a dialect (by a lazy factory) to every Context made from now on.

    Raises ValueError if a dialect of that name is already registered.
    """
    if name in builtin_dialects():
        raise ValueError(f"a dialect named '{name}' is already registered")
    _EXTRA_DIALECTS[name] = factory


def make_dialect_context(allow_unregistered: bool = False) -> Context:
    """A Context with the builtin dialect loaded and every irforge dialect registered."""
    from xdsl.dialects.builtin import Builtin

    ctx = Context(allow_unregistered=allow_unregistered)
    ctx.load_dialect(Builtin)
    for name, factory in builtin_dialects().items():
        ctx.register_dialect(name, factory)
    return ctx
