"""`cse`: xDSL's common subexpression elimination, as an `OperationPass` so that it runs on
the module or nested, e.g. `func.func(cse)`.

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
