"""The pass manager: parse a textual pipeline, run its passes, verify after each one.

Pipeline syntax is MLIR's flat form: `canonicalize,convert-graph-to-tensor,my-pass{opt=1}`,
optionally wrapped as `builtin.module(...)`. Pass options are the pass dataclass's fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from irforge.passes.registry import available_passes


class PipelineError(ValueError):
    """A pipeline string names an unknown pass, an unknown option or a bad option value."""


class PassFailure(Exception):
    """A pass raised, or left IR that does not verify. `pass_name` names the pass."""

    def __init__(self, pass_name: str, message: str, op=None):
        super().__init__(f"pass '{pass_name}' {message}")
        self.pass_name = pass_name
        self.op = op


_WRAPPER = re.compile(r"^\s*builtin\.module\((.*)\)\s*$", re.DOTALL)

# Called after each pass with (pass, module).
AfterPassHook = Callable[[ModulePass, ModuleOp], None]


def parse_pipeline(text: str) -> list[ModulePass]:
    """ModulePass instances for a pipeline string. Raises PipelineError on bad input."""
    from xdsl.utils.arg_spec import parse_pipeline as parse_specs

    m = _WRAPPER.match(text)
    if m:
        text = m.group(1)
    passes = available_passes()
    try:
        specs = list(parse_specs(text))
    except Exception as e:  # xDSL's spec parser raises its own error types
        raise PipelineError(f"cannot parse pipeline '{text}': {e}") from None
    unknown = [s.name for s in specs if s.name not in passes]
    if unknown:
        raise PipelineError(
            f"unknown pass{'es' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(sorted(passes))}"
        )
    out = []
    for s in specs:
        try:
            out.append(passes[s.name]().from_pass_spec(s))
        except Exception as e:
            raise PipelineError(f"bad options for pass '{s.name}': {e}") from None
    return out


@dataclass
class PassManager:
    """Runs passes in order on a module, verifying the IR after each one (verify_each)."""

    passes: list[ModulePass]
    verify_each: bool = True
    after_pass: list[AfterPassHook] = field(default_factory=list)

    @classmethod
    def from_pipeline(cls, text: str, **kw) -> PassManager:
        return cls(parse_pipeline(text), **kw)

    def run(self, ctx: Context, module: ModuleOp) -> None:
        """Apply every pass. Raises PassFailure naming the pass that raised or broke the IR."""
        for p in self.passes:
            try:
                p.apply(ctx, module)
            except (VerifyException, PassFailure):
                raise
            except Exception as e:
                raise PassFailure(p.name, f"failed: {type(e).__name__}: {e}") from e
            if self.verify_each:
                try:
                    module.verify()
                except VerifyException as e:
                    raise PassFailure(p.name, f"produced IR that does not verify: {e}") from e
            for hook in self.after_pass:
                hook(p, module)


def run_pipeline(module: ModuleOp, pipeline: str, ctx: Context | None = None) -> ModuleOp:
    """Run a pipeline string on `module` in place and return it (see PassManager)."""
    if ctx is None:
        from irforge.dialects import make_context

        ctx = make_context()
    PassManager.from_pipeline(pipeline).run(ctx, module)
    return module
