"""`Schedule`: a replayable list of primitive applications, saved as JSON.

Each step names its primitive, the loops it acts on by reference (function name and loop
path, see loops.py: references are taken when the step is recorded, on the IR as it is
then, so replaying the steps in order on a fresh copy of the original IR finds the same
loops) and its arguments::

    {"version": 1, "steps": [
      {"primitive": "tile", "func": "main", "loops": [[0], [0, 0]], "args": {"sizes": [4, 8]}},
      {"primitive": "vectorize", "func": "main", "loops": [[0, 0, 0, 0]], "args": {"width": 8}}
    ]}

Recording (applies the primitive to the live IR and remembers the step)::

    sch = Schedule()
    outer, inner = sch.step("split", loop, factor=4)
    sch.step("vectorize", inner, width=16)
    text = sch.to_json()
    Schedule.from_json(text).apply(fresh_module)   # the same IR as `module` now

Errors: ScheduleError, prefixed with the step's number and primitive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from ....dialects import loop
from .fuse import fuse
from .loops import ScheduleError, find_loop, loop_ref
from .pack import cache_read, loaded_buffers
from .parallelize import parallelize
from .split import reorder, split, tile
from .unroll import unroll
from .vectorize import vectorize

FORMAT_VERSION = 1


def _one(fn: Callable) -> Callable:
    def run(loops: Sequence[loop.ForOp], **args: Any):
        if len(loops) != 1:
            raise ScheduleError(f"takes one loop, got {len(loops)}")
        return fn(loops[0], **args)

    return run


def _fuse(loops: Sequence[loop.ForOp]) -> loop.ForOp:
    if len(loops) != 2:
        raise ScheduleError(f"takes two loops, got {len(loops)}")
    return fuse(loops[0], loops[1])


def _cache_read(loops: Sequence[loop.ForOp], buffer: int):
    if len(loops) != 1:
        raise ScheduleError(f"takes one loop, got {len(loops)}")
    bufs = loaded_buffers(loops[0])
    if not isinstance(buffer, int) or not 0 <= buffer < len(bufs):
        raise ScheduleError(f"the loop reads {len(bufs)} buffers, no #{buffer}")
    return cache_read(loops[0], bufs[buffer])


PRIMITIVES: dict[str, Callable[..., Any]] = {
    "split": _one(split),
    "reorder": lambda loops, **a: reorder(loops, **a),
    "tile": lambda loops, **a: tile(loops, **a),
    "fuse": _fuse,
    "unroll": _one(unroll),
    "vectorize": _one(vectorize),
    "parallelize": _one(parallelize),
    "cache_read": _cache_read,
    "pack": _cache_read,
}
"""Step name -> function of (loops, **args). `cache_read`'s `buffer` is the position of
the buffer among the buffers the loop loads from, in order of first load."""


@dataclass(frozen=True)
class Step:
    primitive: str
    func: str
    loops: tuple[tuple[int, ...], ...]
    args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "primitive": self.primitive,
            "func": self.func,
            "loops": [list(p) for p in self.loops],
            "args": dict(self.args),
        }


@dataclass
class Schedule:
    """An ordered list of steps (see the module docstring)."""

    steps: list[Step] = field(default_factory=list)

    def step(self, primitive: str, loops: loop.ForOp | Sequence[loop.ForOp], **args: Any):
        """Apply `primitive` to the live loop(s) now and record it; returns what the
        primitive returns. `cache_read` takes `buffer=` an SSA value here (recorded as its
        position among the loop's loaded buffers)."""
        fn = PRIMITIVES.get(primitive)
        if fn is None:
            raise ScheduleError(f"unknown primitive '{primitive}' (known: {sorted(PRIMITIVES)})")
        loop_list = [loops] if isinstance(loops, loop.ForOp) else list(loops)
        if not loop_list:
            raise ScheduleError(f"{primitive}: no loops given")
        refs = [loop_ref(lp) for lp in loop_list]
        funcs = {name for name, _ in refs}
        if len(funcs) != 1:
            raise ScheduleError(f"{primitive}: loops in several functions {sorted(funcs)}")
        if primitive == "cache_read" and isinstance(args.get("buffer"), SSAValue):
            args["buffer"] = loaded_buffers(loop_list[0]).index(args["buffer"])
        step = Step(primitive, refs[0][0], tuple(p for _, p in refs), dict(args))
        result = fn(loop_list, **args)
        self.steps.append(step)
        return result

    def apply(self, module: ModuleOp) -> None:
        """Replay every step on `module` (in place)."""
        for k, st in enumerate(self.steps):
            fn = PRIMITIVES.get(st.primitive)
            try:
                if fn is None:
                    raise ScheduleError(f"unknown primitive (known: {sorted(PRIMITIVES)})")
                loops = [find_loop(module, (st.func, p)) for p in st.loops]
                fn(loops, **st.args)
            except ScheduleError as e:
                raise ScheduleError(f"schedule step {k} ({st.primitive}): {e}") from None
            except TypeError as e:  # wrong or missing arguments in a hand-written file
                raise ScheduleError(f"schedule step {k} ({st.primitive}): {e}") from None

    def to_json(self, indent: int | None = 2) -> str:
        steps = [s.to_dict() for s in self.steps]
        return json.dumps({"version": FORMAT_VERSION, "steps": steps}, indent=indent)

    @staticmethod
    def from_json(text: str) -> Schedule:
        """Parse a schedule; ScheduleError naming the step for malformed input."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScheduleError(f"schedule is not valid JSON: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise ScheduleError('schedule must be an object with a "steps" list')
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ScheduleError(f"unsupported schedule version {data.get('version')}")
        steps = []
        for k, raw in enumerate(data["steps"]):
            try:
                loops = tuple(tuple(int(i) for i in p) for p in raw["loops"])
                args = raw.get("args", {})
                if not isinstance(args, dict):
                    raise TypeError("args must be an object")
                steps.append(Step(str(raw["primitive"]), str(raw["func"]), loops, args))
            except KeyError as e:
                raise ScheduleError(
                    f"schedule step {k}: malformed: missing field {e} (a step has primitive, func, "
                    "loops and optional args)"
                ) from None
            except (TypeError, ValueError) as e:
                raise ScheduleError(f"schedule step {k}: malformed: {e}") from None
        return Schedule(steps)
