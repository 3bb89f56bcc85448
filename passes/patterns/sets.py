"""Named pattern sets: every registered set of declarative patterns, for passes, docs and
the fuzzer.

    # all_patterns, exported by irforge.passes.patterns
    for set_name, pset in all_patterns().items():
        for p in pset.patterns:
            print(set_name, p.name, p.root, [op.name for op in p.match_ops()])

A set is registered with a lazy loader (a pattern file is parsed on first use), so
registering costs nothing at import. irforge registers `graph-canonicalize`
(passes/graph/graph_canonicalize.pat); plugins add theirs with `register_pattern_set`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xdsl.context import Context

from .compile import CompiledPattern, compile_patterns
from .model import Pattern


@dataclass(eq=False)
class PatternSet:
    """An ordered, named collection of patterns and where they came from."""

    name: str
    patterns: tuple[Pattern, ...]
    source: str | None = None
    _compiled: dict[int, tuple[Context | None, list[CompiledPattern]]] = field(
        default_factory=dict, repr=False
    )

    def __iter__(self):
        return iter(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def __getitem__(self, name: str) -> Pattern:
        """The pattern called `name`; KeyError if there is none."""
        for p in self.patterns:
            if p.name == name:
                return p
        raise KeyError(f"no pattern '{name}' in set '{self.name}'")

    def compiled(self, ctx: Context | None = None) -> list[CompiledPattern]:
        """The patterns compiled for `ctx` (cached per context)."""
        hit = self._compiled.get(id(ctx))
        if hit is None or hit[0] is not ctx:
            hit = (ctx, compile_patterns(self.patterns, ctx))
            self._compiled[id(ctx)] = hit
        return hit[1]


Loader = Callable[[], PatternSet]
_SETS: dict[str, Loader | PatternSet] = {}


def _from_file(name: str, path: Path) -> Loader:
    def load() -> PatternSet:
        from .syntax import load_patterns

        return PatternSet(name, tuple(load_patterns(path)), str(path.name))

    return load


def register_pattern_set(
    name: str, patterns: Sequence[Pattern] | PatternSet | Loader | str | Path
) -> None:
    """Register a set under `name`: patterns, a PatternSet, a zero-argument loader
    returning one, or the path of a pattern file (parsed on first use).

    Raises ValueError if the name is taken."""
    if name in _SETS:
        raise ValueError(f"a pattern set named '{name}' is already registered")
    if isinstance(patterns, (str, Path)):
        _SETS[name] = _from_file(name, Path(patterns))
    elif isinstance(patterns, PatternSet) or callable(patterns):
        _SETS[name] = patterns
    else:
        _SETS[name] = PatternSet(name, tuple(patterns))


def pattern_set(name: str) -> PatternSet:
    """The set registered as `name` (loaded on first use); KeyError if there is none."""
    entry = _SETS.get(name)
    if entry is None:
        raise KeyError(f"no pattern set '{name}'; registered: {', '.join(sorted(_SETS))}")
    if not isinstance(entry, PatternSet):
        entry = _SETS[name] = entry()
    return entry


def all_patterns() -> dict[str, PatternSet]:
    """Every registered pattern set by name, loaded."""
    return {name: pattern_set(name) for name in list(_SETS)}


_GRAPH_PASSES_DIR = Path(__file__).resolve().parent.parent / "graph"
register_pattern_set("graph-canonicalize", _GRAPH_PASSES_DIR / "graph_canonicalize.pat")
