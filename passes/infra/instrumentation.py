"""Pass instrumentation: hooks the pass manager calls around pipelines and passes, and the
three irforge-opt uses: IR printing, timing and statistics (MLIR's PassInstrumentation,
-mlir-print-ir-*, -mlir-timing and -mlir-pass-statistics).

    pm = PassManager.from_pipeline("canonicalize,func.func(cse)",
                                   instrumentations=[PassTiming(), PassStatistics()])

"before" hooks run in the order the instrumentations were added, "after" hooks in reverse,
so an instrumentation added last sits closest to the pass (irforge-opt adds timing last so
that printing IR is not counted as pass time).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xdsl.ir import Operation
    from xdsl.passes import ModulePass

    from .failure import PassFailure
    from .pipeline import OpPassManager


class PassInstrumentation:
    """Base class: override the hooks you need (each does nothing by default).

    `op` is the op the pipeline or pass runs on: the module, or a nested op such as a
    func.func. The verify hooks bracket the verification after a pass (verify_each).
    """

    def before_pipeline(self, pipeline: OpPassManager, op: Operation) -> None: ...
    def after_pipeline(self, pipeline: OpPassManager, op: Operation) -> None: ...
    def before_pass(self, p: ModulePass, op: Operation) -> None: ...
    def after_pass(self, p: ModulePass, op: Operation) -> None: ...
    def after_pass_failed(self, p: ModulePass, op: Operation, error: PassFailure) -> None: ...
    def before_verify(self, p: ModulePass, op: Operation) -> None: ...
    def after_verify(self, p: ModulePass, op: Operation) -> None: ...


_RULE = "===" + "-" * 73 + "==="


def _banner(title: str) -> str:
    return f"{_RULE}\n{('... ' + title + ' ...').center(len(_RULE)).rstrip()}\n{_RULE}\n"


# ---------------------------------------------------------------------------- printing


def _symbol(op: Operation) -> str | None:
    sym = op.properties.get("sym_name") or op.attributes.get("sym_name")
    data = getattr(sym, "data", None)
    return data if isinstance(data, str) else None


class PrintIR(PassInstrumentation):
    """Print the IR before / after passes, MLIR style, to `stream` (stderr by default):

        // -----// IR Dump After cse (cse) //----- //
        <the op the pass ran on>

    `before` / `after`: pass names, or "all". `only_on_change`: print after a pass only if
    the printed IR changed. `after_failure`: print the IR as a failing pass left it, under
    `IR Dump After NAME Failed`. `module_scope`: print the whole module, with the op the
    pass ran on named in the header (`('func.func' operation: @f)`).
    """

    def __init__(
        self,
        before: Sequence[str] | str = (),
        after: Sequence[str] | str = (),
        *,
        only_on_change: bool = False,
        after_failure: bool = False,
        module_scope: bool = False,
        debuginfo: bool = False,
        stream: IO[str] | None = None,
    ):
        self.before = before if before == "all" else frozenset(before)
        self.after = after if after == "all" else frozenset(after)
        self.only_on_change = only_on_change
        self.after_failure = after_failure
        self.module_scope = module_scope
        self.debuginfo = debuginfo
        self.stream = stream
        self._before_text: list[str | None] = []

    @staticmethod
    def _selected(which, p: ModulePass) -> bool:
        return which == "all" or p.name in which

    def _text(self, op: Operation) -> str:
        from ...textual_ir import print_module

        if self.module_scope:
            while op.parent_op() is not None:
                op = op.parent_op()
        return print_module(op, debuginfo=self.debuginfo)

    def _dump(self, title: str, p: ModulePass, op: Operation, text: str | None = None) -> None:
        header = f"// -----// IR Dump {title} ({p.name})"
        if self.module_scope:
            sym = _symbol(op)
            header += f" ('{op.name}' operation{': @' + sym if sym else ''})"
        out = self.stream or sys.stderr
        out.write(f"{header} //----- //\n{text if text is not None else self._text(op)}\n")

    def before_pass(self, p: ModulePass, op: Operation) -> None:
        if self._selected(self.before, p):
            self._dump(f"Before {p.name}", p, op)
        changed_check = self.only_on_change and self._selected(self.after, p)
        self._before_text.append(self._text(op) if changed_check else None)

    def after_pass(self, p: ModulePass, op: Operation) -> None:
        before = self._before_text.pop() if self._before_text else None
        if not self._selected(self.after, p):
            return
        text = self._text(op)
        if self.only_on_change and before == text:
            return
        self._dump(f"After {p.name}", p, op, text)

    def after_pass_failed(self, p: ModulePass, op: Operation, error: PassFailure) -> None:
        if self._before_text:
            self._before_text.pop()
        if self.after_failure:
            self._dump(f"After {p.name} Failed", p, op)


# ------------------------------------------------------------------------------ timing


class _Timer:
    __slots__ = ("name", "seconds", "children", "_start")

    def __init__(self, name: str):
        self.name = name
        self.seconds = 0.0
        self.children: dict[Any, _Timer] = {}
        self._start: float | None = None

    def child(self, key: Any, name: str) -> _Timer:
        t = self.children.get(key)
        if t is None:
            t = self.children[key] = _Timer(name)
        return t

    def start(self) -> None:
        self._start = time.perf_counter()

    def stop(self) -> None:
        if self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self._start = None


_VERIFIER = ("phase", "Verifier")


class PassTiming(PassInstrumentation):
    """Wall time per pass, nested per pipeline level (MLIR's -mlir-timing).

    Passes appear in pipeline order; a nested pipeline is a row `'func.func' Pipeline` with
    its passes indented below, summed over every op it ran on; `Verifier` rows are the
    verification after passes. `phase(name)` times other work (parsing, output) as
    top-level rows. `report()` gives the table; `Total` is the time since construction (or
    `reset()`) and `Rest` what no row covers.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.root = _Timer("Total")
        self._stack: list[_Timer] = [self.root]
        self._t0 = time.perf_counter()
        self._depth = 0  # nesting of pipelines: the root pipeline has no row

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the `with` block as a row `name` of the current level."""
        t = self._stack[-1].child(("phase", name), name)
        self._stack.append(t)
        t.start()
        try:
            yield
        finally:
            t.stop()
            self._stack.pop()

    def before_pipeline(self, pipeline: OpPassManager, op: Operation) -> None:
        self._depth += 1
        if self._depth == 1:
            self._stack.append(self._stack[-1])  # the root pipeline's passes are top rows
            return
        t = self._stack[-1].child(id(pipeline), f"'{pipeline.anchor}' Pipeline")
        self._stack.append(t)
        t.start()

    def after_pipeline(self, pipeline: OpPassManager, op: Operation) -> None:
        self._depth -= 1
        t = self._stack.pop()
        if self._depth:
            t.stop()

    def before_pass(self, p: ModulePass, op: Operation) -> None:
        t = self._stack[-1].child(id(p), p.name)
        self._stack.append(t)
        t.start()

    def before_verify(self, p: ModulePass, op: Operation) -> None:
        self._stack[-1].stop()
        self._stack[-2].child(_VERIFIER, "Verifier").start()

    def after_verify(self, p: ModulePass, op: Operation) -> None:
        self._stack[-2].child(_VERIFIER, "Verifier").stop()

    def after_pass(self, p: ModulePass, op: Operation) -> None:
        self._stack.pop().stop()

    def after_pass_failed(self, p: ModulePass, op: Operation, error: PassFailure) -> None:
        self._stack.pop().stop()

    def report(self) -> str:
        total = time.perf_counter() - self._t0
        rows: list[tuple[float, str]] = []

        def walk(t: _Timer, depth: int) -> None:
            # In a nested pipeline, the verifier row comes after the passes.
            kids = list(t.children.values())
            if depth:
                kids.sort(key=lambda c: c.name == "Verifier")
            for c in kids:
                rows.append((c.seconds, "  " * depth + c.name))
                walk(c, depth + 1)

        walk(self.root, 0)
        covered = sum(c.seconds for c in self.root.children.values())
        rows.append((max(total - covered, 0.0), "Rest"))
        rows.append((total, "Total"))
        lines = [
            _banner("Execution time report"),
            f"  Total Execution Time: {total:.4f} seconds\n\n",
            "  ----Wall Time----  ----Name----\n",
        ]
        for seconds, name in rows:
            pct = 100.0 * seconds / total if total > 0 else 0.0
            lines.append(f"  {seconds:8.4f} ({pct:5.1f}%)  {name}\n")
        return "".join(lines)


# -------------------------------------------------------------------------- statistics


class PassStatistics(PassInstrumentation):
    """Collect the counters each pass bumps (`irforge.passes.infra.statistics.bump`) and report
    them per pass, summed over the ops it ran on (MLIR's -mlir-pass-statistics):

        canonicalize
          (S) 12 patterns-applied
    """

    def __init__(self) -> None:
        self.counts: dict[int, Counter[str]] = {}
        self._pipeline: OpPassManager | None = None
        self._active: Any = None
        self._counter: Counter[str] | None = None

    def before_pipeline(self, pipeline: OpPassManager, op: Operation) -> None:
        if self._pipeline is None:
            self._pipeline = pipeline

    def before_pass(self, p: ModulePass, op: Operation) -> None:
        from .statistics import collecting

        self._active = collecting()
        self._counter = self._active.__enter__()
        self.counts.setdefault(id(p), Counter())

    def _stop(self, p: ModulePass) -> None:
        if self._active is not None:
            self._active.__exit__(None, None, None)
            self.counts[id(p)].update(self._counter)
            self._active = self._counter = None

    def before_verify(self, p: ModulePass, op: Operation) -> None:
        self._stop(p)

    def after_pass(self, p: ModulePass, op: Operation) -> None:
        self._stop(p)

    def after_pass_failed(self, p: ModulePass, op: Operation, error: PassFailure) -> None:
        self._stop(p)

    def statistics(self, p: ModulePass) -> dict[str, int]:
        """The counters collected for the pass instance `p` (empty if it did not run)."""
        return dict(self.counts.get(id(p), {}))

    def report(self) -> str:
        from .pipeline import OpPassManager

        lines = [_banner("Pass statistics report")]

        def walk(pm: OpPassManager, depth: int) -> None:
            pad = "  " * depth
            for e in pm.entries:
                if isinstance(e, OpPassManager):
                    lines.append(f"{pad}'{e.anchor}' Pipeline\n")
                    walk(e, depth + 1)
                    continue
                lines.append(f"{pad}{e.name}\n")
                stats = self.counts.get(id(e), {})
                width = max((len(str(v)) for v in stats.values()), default=0)
                for key in sorted(stats):
                    lines.append(f"{pad}  (S) {stats[key]:>{width}} {key}\n")

        if self._pipeline is not None:
            walk(self._pipeline, 0)
        return "".join(lines)
