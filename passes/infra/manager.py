"""The pass manager: run a pipeline tree on a module, verify after each pass, call
instrumentations, write crash reproducers.

    pm = PassManager.from_pipeline("builtin.module(canonicalize, func.func(cse))")
    pm.run(ctx, module)

A pipeline (see `irforge.passes.infra.pipeline`) is a tree of `OpPassManager`s anchored on op
names. The root runs on the module; a nested `func.func(...)` runs its passes, in order, on
each `func.func` op directly inside the op its parent runs on, one op after the other (as
MLIR's OpToOpPassAdaptor does).

Passes on other ops than the module. A pass is an xDSL `ModulePass`, whose `apply` takes a
ModuleOp. Two ways to run it on a nested op:
- Subclass `OperationPass` and implement `apply_op(ctx, op)`: it gets the anchored op
  itself. `anchor = "func.func"` restricts where it may be scheduled (None: anywhere).
- A plain ModulePass also works anchored on any op: the manager moves the op into a fresh
  temporary ModuleOp, applies the pass to it and moves the op back to its place. The pass
  sees only that op (MLIR's rule too: a nested pass must not touch its op's siblings).
In both cases, as in MLIR, the pass must neither erase nor replace the op it runs on.

After each pass, the op it ran on is verified (`verify_each`); a pass that raises or
leaves IR that does not verify becomes a `PassFailure` naming the pass (and the op, when
nested). With `crash_reproducer` set, the manager also writes the IR as it was before the
failing pass with the pipeline that reproduces the failure (see `irforge.passes.infra.reproducer`):
a run that succeeds takes no snapshots; after a failure the IR before the failing pass is
recomputed from a copy of the input.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from .failure import PassFailure
from .instrumentation import PassInstrumentation
from .pipeline import OpPassManager, PipelineError, parse_pipeline

__all__ = [
    "OpPassManager",
    "OperationPass",
    "PassFailure",
    "PassManager",
    "PipelineError",
    "parse_pipeline",
    "run_pass_pipeline",
]


@dataclass(frozen=True)
class OperationPass(ModulePass):
    """A pass that runs on one op: the op its pipeline is anchored on.

    Implement `apply_op`. `anchor` (a class attribute) names the only op it may run on
    (`"func.func"`), or is None for any op. Scheduled on builtin.module, it gets the module.
    """

    anchor: ClassVar[str | None] = None

    @abstractmethod
    def apply_op(self, ctx: Context, op: Operation) -> None: ...

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        self.apply_op(ctx, op)


# Called after each successful pass with (pass, op it ran on). Kept for existing callers;
# new code uses a PassInstrumentation.
AfterPassHook = Callable[[ModulePass, Operation], None]


def _describe(op: Operation) -> str:
    """`'func.func' op @main` (or without the symbol)."""
    sym = op.properties.get("sym_name") or op.attributes.get("sym_name")
    data = getattr(sym, "data", None)
    return f"'{op.name}' op" + (f" @{data}" if isinstance(data, str) else "")


def anchored_ops(op: Operation, anchor: str) -> list[Operation]:
    """The ops named `anchor` directly inside the regions of `op`, in order."""
    return [
        child
        for region in op.regions
        for block in region.blocks
        for child in block.ops
        if child.name == anchor
    ]


class PassManager:
    """Runs a pipeline tree on a module (see the module docstring).

    `verify_each` verifies the op a pass ran on after the pass; `instrumentations` are
    called around pipelines and passes; `crash_reproducer` is the path of the reproducer to
    write when a pass fails (None: none).
    """

    def __init__(
        self,
        pipeline: OpPassManager | Sequence[ModulePass] | str = (),
        *,
        verify_each: bool = True,
        instrumentations: Sequence[PassInstrumentation] = (),
        crash_reproducer: str | os.PathLike | None = None,
        after_pass: Sequence[AfterPassHook] = (),
    ):
        if isinstance(pipeline, str):
            pipeline = parse_pipeline(pipeline)
        elif not isinstance(pipeline, OpPassManager):
            pipeline = OpPassManager(entries=list(pipeline))
        _check_anchors(pipeline)
        self.pipeline: OpPassManager = pipeline
        self.verify_each = verify_each
        self.instrumentations: list[PassInstrumentation] = list(instrumentations)
        self.crash_reproducer = None if crash_reproducer is None else os.fspath(crash_reproducer)
        self.after_pass: list[AfterPassHook] = list(after_pass)

    @classmethod
    def from_pipeline(cls, text: str, **kw) -> PassManager:
        return cls(parse_pipeline(text), **kw)

    @property
    def passes(self) -> list[ModulePass]:
        """Every pass of the pipeline, depth first."""
        return list(self.pipeline.passes())

    def add_instrumentation(self, instrumentation: PassInstrumentation) -> None:
        self.instrumentations.append(instrumentation)

    def run(
        self,
        ctx: Context,
        module: Operation,
        *,
        input_copy: Callable[[], Operation] | None = None,
    ) -> None:
        """Run the pipeline on `module`. Raises PassFailure naming the pass that raised or
        broke the IR, PipelineError if the root anchor is not `module`'s name.

        With `crash_reproducer` set, `input_copy` returns a fresh copy of `module` as it is
        now (irforge-opt re-parses its input); by default the module is cloned first.
        """
        if module.name != self.pipeline.anchor:
            raise PipelineError(
                f"the pipeline is anchored on '{self.pipeline.anchor}' but runs on a "
                f"'{module.name}' op"
            )
        if self.crash_reproducer is None:
            input_copy = None
        elif input_copy is None:
            snapshot = module.clone()
            input_copy = snapshot.clone
        try:
            self._run_pipeline(self.pipeline, ctx, module)
        except PassFailure as failure:
            if input_copy is not None and failure.reproducer is None and failure.pass_:
                self._write_reproducer(failure, ctx, input_copy)
            raise

    # -- running

    def _run_pipeline(self, opm: OpPassManager, ctx: Context, op: Operation):
        for inst in self.instrumentations:
            inst.before_pipeline(opm, op)
        try:
            for entry in opm.entries:
                if isinstance(entry, OpPassManager):
                    for child in anchored_ops(op, entry.anchor):
                        _check_isolated(child, entry)
                        self._run_pipeline(entry, ctx, child)
                else:
                    self._run_pass(entry, ctx, op)
        finally:
            for inst in reversed(self.instrumentations):
                inst.after_pipeline(opm, op)

    def _run_pass(self, p: ModulePass, ctx: Context, op: Operation) -> None:
        for inst in self.instrumentations:
            inst.before_pass(p, op)
        nested = not isinstance(op, ModuleOp)
        where = f" on {_describe(op)}" if nested else ""
        failure = None
        try:
            if isinstance(p, OperationPass) or not nested:
                p.apply(ctx, op)  # type: ignore[arg-type]
            else:
                _apply_wrapped(p, ctx, op)
        except PassFailure as e:
            failure = e
        except Exception as e:
            failure = PassFailure(p.name, f"failed{where}: {type(e).__name__}: {e}", op, p)
            failure.__cause__ = e
        if failure is None and nested and (op.parent is None):
            failure = PassFailure(
                p.name, f"erased or replaced the {_describe(op)} it runs on", op, p
            )
        if failure is None and self.verify_each:
            for inst in self.instrumentations:
                inst.before_verify(p, op)
            try:
                op.verify()
            except Exception as e:
                failure = PassFailure(
                    p.name, f"produced IR that does not verify{where}: {e}", op, p
                )
                failure.__cause__ = e
            finally:
                for inst in reversed(self.instrumentations):
                    inst.after_verify(p, op)
        if failure is not None:
            for inst in reversed(self.instrumentations):
                inst.after_pass_failed(p, op, failure)
            raise failure
        for inst in reversed(self.instrumentations):
            inst.after_pass(p, op)
        for hook in self.after_pass:
            hook(p, op)

    def _write_reproducer(
        self, failure: PassFailure, ctx: Context, input_copy: Callable[[], Operation]
    ) -> None:
        """Write the IR before the failing root entry and the pipeline from there to the
        failing pass. That IR is recomputed only now, by running the entries before it on
        a copy of the input, so that a run that succeeds pays for no snapshots."""
        from .reproducer import write_reproducer

        root = self.pipeline
        index = next(
            (
                i
                for i, e in enumerate(root.entries)
                if e is failure.pass_
                or (isinstance(e, OpPassManager) and any(q is failure.pass_ for q in e.passes()))
            ),
            None,
        )
        if index is None:  # raised by a pass manager inside a pass: not one of ours
            return
        failing = _prefix(root.entries[index], failure.pass_)
        try:
            module = input_copy()
            replay = PassManager(OpPassManager(root.anchor, root.entries[:index]))
            replay.verify_each = self.verify_each
            replay.run(ctx, module)
            pipeline = OpPassManager(root.anchor, [failing])
        except Exception:
            # The passes before did not run the same way again: reproduce from the input.
            module = input_copy()
            pipeline = OpPassManager(root.anchor, [*root.entries[:index], failing])
        try:
            write_reproducer(self.crash_reproducer, module, pipeline, self.verify_each)
            failure.reproducer = self.crash_reproducer
        except (OSError, ValueError) as e:
            failure.reproducer_error = f"{type(e).__name__}: {e}"


def _apply_wrapped(p: ModulePass, ctx: Context, op: Operation) -> None:
    """Apply a ModulePass to `op` alone: moved into a temporary module, then moved back."""
    block = op.parent_block()
    assert block is not None
    after = op.next_op
    block.detach_op(op)
    wrapper = ModuleOp([op])
    try:
        p.apply(ctx, wrapper)
    finally:
        if op.parent_block() is wrapper.body.block:
            wrapper.body.block.detach_op(op)
            if after is not None and after.parent_block() is block:
                block.insert_op_before(op, after)
            else:
                block.add_op(op)


def _prefix(entry, failing) -> ModulePass | OpPassManager:
    """`entry` cut after the pass `failing` (so that replaying it stops where it failed)."""
    if not isinstance(entry, OpPassManager):
        return entry
    out = OpPassManager(entry.anchor)
    for e in entry.entries:
        if isinstance(e, OpPassManager) and any(q is failing for q in e.passes()):
            out.entries.append(_prefix(e, failing))
            return out
        out.entries.append(e)
        if e is failing:
            return out
    return out


def _check_anchors(root: OpPassManager) -> None:
    for opm in root.walk():
        for e in opm.entries:
            if isinstance(e, OperationPass) and e.anchor not in (None, opm.anchor):
                raise PipelineError(
                    f"pass '{e.name}' runs on '{e.anchor}' ops, not on '{opm.anchor}': "
                    f"nest it, as in {e.anchor}({e.name})"
                )


def _check_isolated(op: Operation, opm: OpPassManager) -> None:
    from xdsl.traits import IsolatedFromAbove

    if op.get_trait(IsolatedFromAbove) is None:
        raise PipelineError(
            f"cannot run the pipeline {opm} on '{op.name}' ops: they are not "
            "IsolatedFromAbove (a nested pipeline runs only on isolated ops, such as "
            "func.func or builtin.module)"
        )


def run_pass_pipeline(
    module: ModuleOp,
    pipeline: str,
    ctx: Context | None = None,
    *,
    verify_each: bool = True,
    verify: bool = True,
) -> ModuleOp:
    """Run a pipeline string on `module` in place and return it (see PassManager).

    With `verify_each=False` the module is verified once, after the last pass (a failure
    is a PassFailure for the whole pipeline, which names no pass: rerun with
    verify_each=True to find it), unless `verify=False`: then not at all (the caller
    verifies when it needs to, with `verify_result`)."""
    if ctx is None:
        from ...dialects import make_dialect_context

        ctx = make_dialect_context()
    PassManager.from_pipeline(pipeline, verify_each=verify_each).run(ctx, module)
    if verify and not verify_each:
        verify_result(module)
    return module


VERIFY_EACH_ENV = "IRFORGE_VERIFY_EACH"


def default_verify_each() -> bool:
    """Whether model compilation (irforge.compile, `irforge compile`/`run`) verifies the IR
    after every pass: the environment variable IRFORGE_VERIFY_EACH=1, else False (the
    result is verified once by the CLI; by irforge.compile only if the backend fails).
    Verifying after each pass costs about a third of the lowering of a CNN (SqueezeNet:
    4.4 of 12.5 s, 25 us per op on ~30k loop-level ops);
    irforge-opt and `run_pass_pipeline` keep MLIR's default of verifying each pass."""
    return os.environ.get(VERIFY_EACH_ENV, "0") not in ("", "0")


def verify_result(module: ModuleOp) -> None:
    """Verify the output of a pipeline run without per-pass verification; raise a
    PassFailure ("pipeline") that says how to find the pass that broke the IR."""
    try:
        module.verify()
    except Exception as e:
        failure = PassFailure(
            "pipeline",
            f"produced IR that does not verify: {e} (rerun with verify_each=True or "
            f"{VERIFY_EACH_ENV}=1 to find the pass)",
            module,
        )
        raise failure from e
