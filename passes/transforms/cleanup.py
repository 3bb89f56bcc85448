"""`cse` and `dce`: xDSL's common subexpression elimination and dead code elimination, as
`OperationPass`es so that they run on the module or nested, e.g. `func.func(cse,dce)`.

Both count `ops-erased` for `--pass-statistics`.
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
class CSEPass(OperationPass):
    """Eliminate common subexpressions.

    An op equal to an earlier, dominating one (same name, operands, properties and
    attributes; no side effects) is replaced by it:

        %a = "arith.addf"(%x, %y) : (f32, f32) -> f32
        %b = "arith.addf"(%x, %y) : (f32, f32) -> f32      // uses of %b now use %a
        "test.op"(%a, %b) : (f32, f32) -> ()
    becomes
        %a = "arith.addf"(%x, %y) : (f32, f32) -> f32
        "test.op"(%a, %a) : (f32, f32) -> ()

    xDSL's `xdsl.transforms.common_subexpression_elimination`, run on the anchored op.
    """

    name = "cse"

    def apply_op(self, ctx: Context, op: Operation) -> None:
        from xdsl.transforms.common_subexpression_elimination import cse

        before = _count(op)
        cse(op)
        bump("ops-erased", before - _count(op))


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
