"""Per-pass statistics (`--pass-statistics`): counters a pass or a rewrite driver bumps
while it runs, collected by the pass manager for the pass that is running.

    # bump, from this module (irforge.passes.infra.statistics)
    bump("patterns-applied")            # +1 for the running pass
    bump("ops-erased", 3)

Outside a pass manager run the counters go nowhere, so code can bump unconditionally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Counter[str] | None] = ContextVar("irforge_pass_statistics", default=None)


def bump(name: str, amount: int = 1) -> None:
    """Add `amount` to the counter `name` of the running pass (no-op outside a run)."""
    counter = _current.get()
    if counter is not None:
        counter[name] += amount


@contextmanager
def collecting() -> Iterator[Counter[str]]:
    """Collect the counters bumped inside the `with` block into a fresh Counter."""
    counter: Counter[str] = Counter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)
