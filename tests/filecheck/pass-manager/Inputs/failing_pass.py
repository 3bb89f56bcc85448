"""Test-only passes for the pass-manager FileCheck tests (loaded with --load-plugin)."""

from dataclasses import dataclass

from irforge.passes.infra.manager import OperationPass
from irforge.passes.infra.registry import available_passes, register_pass


@dataclass(frozen=True)
class FailOn(OperationPass):
    """Test pass: raises on the function named `target`."""

    name = "test-fail-on"
    anchor = "func.func"
    target: str = "g"

    def apply_op(self, ctx, op):
        if op.properties["sym_name"].data == self.target:
            raise RuntimeError(f"refusing to touch @{self.target}")


def register():
    if "test-fail-on" not in available_passes():
        register_pass("test-fail-on", FailOn)
