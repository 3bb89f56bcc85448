"""`dce`: xDSL's dead code elimination, as an `OperationPass` so that it runs on the module
or nested, e.g. `func.func(dce)`.

It counts `ops-erased` for `--pass-statistics`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.ir import Operation

from ..infra.manager import OperationPass
from ..infra.statistics import bump


def _count(op: Operation) -> int:
    return sum(1 for _ in op.walk())


@dataclass(frozen=True)
class DCEPass(OperationPass):
    """Remove dead code.

    Ops whose results are unused and that have no side effects go, and so do blocks that
    cannot be reached:

        %a = "arith.addf"(%x, %y) : (f32, f32) -> f32      // unused: removed
        "func.return"(%x) : (f32) -> ()

    xDSL's `xdsl.transforms.dead_code_elimination`, run on each region of the anchored op.
    """

    name = "dce"

    def apply_op(self, ctx: Context, op: Operation) -> None:
        from xdsl.transforms.dead_code_elimination import region_dce

        before = _count(op)
        for region in op.regions:
            region_dce(region)
        bump("ops-erased", before - _count(op))
