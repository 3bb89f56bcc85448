"""`loop-schedule{file=PATH}`: apply a JSON schedule file (see passes/loop/schedule/schedule.py
and docs/schedules.md) to loop-level IR.

    // schedule.json: {"version": 1, "steps": [{"primitive": "split", "func": "main",
    //                  "loops": [[0]], "args": {"factor": 4}}]}
    "loop.for"(%c0, %c8, %c1) ({ B(%i) })     "loop.for"(%c0, %c8, %c4) ({
                                        ->     ^bb0(%io: index):
                                                 %e = arith.addi %io, %c4_0 : index
                                                 "loop.for"(%io, %e, %c1) ({ B(%i) }) })

Raises PassFailedException naming the file and the step (its number and primitive) when
the file cannot be read or parsed, or a step does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException


@dataclass(frozen=True)
class LoopSchedulePass(ModulePass):
    """Apply the schedule in `file` (JSON) to the module, step by step."""

    name = "loop-schedule"

    file: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from .schedule import Schedule, ScheduleError

        if not self.file:
            raise PassFailedException("loop-schedule: no schedule file given (file=PATH)")
        try:
            with open(self.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise PassFailedException(f"loop-schedule: cannot read {self.file}: {e}") from None
        try:
            Schedule.from_json(text).apply(op)
        except ScheduleError as e:
            raise PassFailedException(f"loop-schedule ({self.file}): {e}") from None
