"""Run a check on hypothesis draws and keep the failing case: what `irforge fuzz` (irforge/fuzz.py)
and the pattern fuzzer (patterns.py) share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Failure:
    """A shrunk counterexample: the program text, its inputs and what went wrong."""

    what: str
    mlir: str
    inputs: list[np.ndarray]
    error: str


def run_hypothesis(
    strategy,
    check: Callable,
    examples: int,
    seed: int | None,
    describe: Callable,
    shrink: bool = True,
) -> Failure | None:
    """Run `check` on `examples` draws of `strategy`; the last failure, if any, shrunk
    unless `shrink` is false (mutation testing only asks whether a failure exists)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

    last: list[Failure] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        phases=[p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)],
    )
    @given(strategy)
    def prop(case):
        text, inputs = describe(case)
        try:
            check(case)
        except UnsatisfiedAssumption:
            raise
        except Exception as e:
            last.append(Failure("", text, inputs, f"{type(e).__name__}: {e}"))
            raise

    if seed is not None:
        prop = hseed(seed)(prop)
    try:
        prop()
    except Unsatisfiable:
        return None  # no valid case at all: the caller decides what that means
    except Exception:
        return last[-1] if last else Failure("", "", [], "hypothesis failed without a case")
    return None
