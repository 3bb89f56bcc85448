"""`irforge-opt`: parse a .mlir file, run a pass pipeline, print the result (like mlir-opt).

    irforge-opt model.mlir -p 'canonicalize,convert-graph-to-tensor' -o lowered.mlir
    cat model.mlir | irforge-opt - -p convert-graph-to-tensor

Errors print `FILE:LINE:COL: error: MESSAGE` with the source line and a caret (parse and
verify errors) or name the pass that failed, and exit with status 1. The output file is
written only when everything succeeded, so a failed run never clobbers it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irforge.passes.infra.instrumentation import PassStatistics, PassTiming
    from irforge.passes.infra.manager import PassManager


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="irforge-opt",
        description="Run irforge passes on MLIR generic-form IR (see docs/passes.md).",
    )
    p.add_argument("input", nargs="?", default="-", help="input .mlir file ('-' for stdin)")
    p.add_argument(
        "-p",
        "--passes",
        "--pass-pipeline",
        dest="pipeline",
        default="",
        help="pass pipeline: 'builtin.module(canonicalize,func.func(cse))' or 'a,b{opt=1}'",
    )
    p.add_argument("-o", "--output", default="-", help="output file ('-' for stdout)")
    p.add_argument(
        "--list-passes",
        action="store_true",
        help="list the registered passes with their options (types and defaults)",
    )
    p.add_argument("--allow-unregistered-dialect", action="store_true", help="accept unknown ops")
    p.add_argument(
        "--verify-each",
        dest="verify_each",
        action="store_true",
        default=True,
        help="verify the IR after every pass (the default)",
    )
    p.add_argument(
        "--no-verify-each",
        dest="verify_each",
        action="store_false",
        help="do not verify the IR after every pass",
    )
    ir = p.add_argument_group("printing IR around passes (to stderr)")
    ir.add_argument(
        "--print-ir-before",
        "--mlir-print-ir-before",
        dest="print_ir_before",
        action="append",
        default=[],
        metavar="PASS[,PASS]",
        help="print the IR before these passes",
    )
    ir.add_argument(
        "--print-ir-before-all",
        "--mlir-print-ir-before-all",
        dest="print_ir_before_all",
        action="store_true",
        help="print the IR before every pass",
    )
    ir.add_argument(
        "--print-ir-after",
        "--mlir-print-ir-after",
        dest="print_ir_after",
        action="append",
        default=[],
        metavar="PASS[,PASS]",
        help="print the IR after these passes",
    )
    ir.add_argument(
        "--print-ir-after-all",
        "--mlir-print-ir-after-all",
        dest="print_ir_after_all",
        action="store_true",
        help="print the IR after every pass",
    )
    ir.add_argument(
        "--print-ir-after-change",
        "--mlir-print-ir-after-change",
        dest="print_ir_after_change",
        action="store_true",
        help="print the IR after a pass only if it changed it (alone: after every pass that "
        "changed it; with --print-ir-after: after those passes)",
    )
    ir.add_argument(
        "--print-ir-after-failure",
        "--mlir-print-ir-after-failure",
        dest="print_ir_after_failure",
        action="store_true",
        help="print the IR as a failing pass left it",
    )
    ir.add_argument(
        "--print-ir-module-scope",
        "--mlir-print-ir-module-scope",
        dest="print_ir_module_scope",
        action="store_true",
        help="print the whole module, not only the op a nested pass ran on",
    )
    p.add_argument(
        "--timing",
        "--mlir-timing",
        dest="timing",
        action="store_true",
        help="print wall time per pass (nested per pipeline), parsing, verification, output",
    )
    p.add_argument(
        "--pass-statistics",
        "--mlir-pass-statistics",
        dest="pass_statistics",
        action="store_true",
        help="print the statistics counters each pass collected",
    )
    p.add_argument(
        "--mlir-pass-pipeline-crash-reproducer",
        dest="crash_reproducer",
        default=None,
        metavar="FILE",
        help="where to write the reproducer of a failing pass (default: a file named after "
        "the input in the temporary directory)",
    )
    p.add_argument(
        "--no-crash-reproducer",
        dest="no_crash_reproducer",
        action="store_true",
        help="do not write a crash reproducer when a pass fails",
    )
    p.add_argument(
        "--target",
        choices=["host"],
        help="attach this machine's Target (vector width, threads: backends/target.py) to "
        "modules that have none; without it, passes lower for the module's own "
        "`irforge.target` attribute, else for generic 128-bit, one-thread code",
    )
    p.add_argument(
        "--run-reproducer",
        action="store_true",
        help="run the pipeline stored in the input's mlir_reproducer block",
    )
    p.add_argument(
        "--mlir-print-op-generic",
        action="store_true",
        help="print the generic op form (irforge always does; accepted for compatibility)",
    )
    p.add_argument("--mlir-print-debuginfo", action="store_true", help="print op locations")
    p.add_argument("--load-plugin", action="append", default=[], help="a Python plugin file")
    p.add_argument(
        "--split-input-file",
        action="store_true",
        help="process each chunk between '// -----' lines on its own",
    )
    p.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="check the produced diagnostics against '// expected-error' annotations",
    )
    return p


def _read(path: str) -> tuple[str, str]:
    from irforge.textual_ir import decode_source

    if path == "-":
        return decode_source(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
    with open(path, "rb") as f:
        return decode_source(f.read(), path), path


def write_output(text: str, path: str) -> None:
    """Write `text` to `path` atomically (a temporary file renamed over it), or stdout."""
    if path == "-":
        sys.stdout.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".irforge-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _summary(cls) -> str:
    """The first sentence of a pass's docstring (not dataclass's generated signature)."""
    doc = cls.__dict__.get("__doc__") or ""
    if doc.startswith(f"{cls.__name__}("):
        return ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


def list_passes() -> str:
    """Every registered pass: name, one-line summary, options with types and defaults."""
    from irforge.passes.infra.manager import OperationPass
    from irforge.passes.infra.pipeline import describe_options
    from irforge.passes.infra.registry import available_passes

    lines = ["Available passes:"]
    for name, factory in sorted(available_passes().items()):
        try:
            cls = factory()
        except Exception as e:  # a plugin's broken pass should not hide the others
            lines.append(f"  {name:28s} (failed to load: {type(e).__name__}: {e})")
            continue
        summary = _summary(cls)
        if issubclass(cls, OperationPass) and cls.anchor is not None:
            summary += f" (runs on {cls.anchor})"
        lines.append(f"  {name:28s} {summary}".rstrip())
        lines.extend(f"      {opt}" for opt in describe_options(cls))
    return "\n".join(lines) + "\n"


def _names(values: list[str], flag: str) -> frozenset[str]:
    from irforge.passes.infra.pipeline import PipelineError
    from irforge.passes.infra.registry import available_passes

    names = frozenset(n.strip() for v in values for n in v.split(",") if n.strip())
    known = available_passes()
    for n in sorted(names):
        if n not in known:
            raise PipelineError(
                f"unknown pass '{n}' in {flag}; available passes: {', '.join(sorted(known))}"
            )
    return names


@dataclass
class _Run:
    """What stays the same across the chunks of one irforge-opt run."""

    pm: PassManager
    timing: PassTiming | None
    statistics: PassStatistics | None
    notes: list[str] = field(default_factory=list)

    def phase(self, name: str):
        return self.timing.phase(name) if self.timing is not None else nullcontext()


def _build_run(args, pipeline: str, verify_each: bool, input_name: str) -> _Run:
    """The pass manager and instrumentations the flags ask for (PipelineError if bad)."""
    from irforge.passes.infra.instrumentation import PassStatistics, PassTiming, PrintIR
    from irforge.passes.infra.manager import PassManager
    from irforge.passes.infra.reproducer import default_reproducer_path

    before = _names(args.print_ir_before, "--print-ir-before")
    after = _names(args.print_ir_after, "--print-ir-after")
    if args.print_ir_before_all:
        before = "all"
    if args.print_ir_after_all:
        after = "all"
    if args.print_ir_after_change and not after:
        after = "all"
    instrumentations: list = []
    if before or after or args.print_ir_after_failure:
        instrumentations.append(
            PrintIR(
                before,
                after,
                only_on_change=args.print_ir_after_change,
                after_failure=args.print_ir_after_failure,
                module_scope=args.print_ir_module_scope,
                debuginfo=args.mlir_print_debuginfo,
            )
        )
    statistics = PassStatistics() if args.pass_statistics else None
    timing = PassTiming() if args.timing else None
    # Timing last: its hooks sit closest to the passes, so printing is not pass time.
    instrumentations += [i for i in (statistics, timing) if i is not None]
    reproducer = args.crash_reproducer
    if reproducer is None and not (
        args.no_crash_reproducer or args.verify_diagnostics or args.run_reproducer
    ):
        reproducer = default_reproducer_path(input_name)
    if args.no_crash_reproducer:
        reproducer = None
    pm = PassManager(
        pipeline,
        verify_each=verify_each,
        instrumentations=instrumentations,
        crash_reproducer=reproducer,
    )
    return _Run(pm, timing, statistics)


def _process(args, run: _Run, source: str, filename: str) -> str:
    """Parse, verify, run the pipeline and print one input (a whole file or a chunk)."""
    from irforge.backends.target import ATTR as TARGET_ATTR
    from irforge.backends.target import host_target
    from irforge.dialects import make_dialect_context
    from irforge.passes.infra.manager import PassFailure
    from irforge.passes.patterns.legality import register_locator
    from irforge.textual_ir import (
        Diagnostic,
        parse_module,
        print_module,
        source_position,
        verify_module,
    )

    register_locator(source_position)  # illegal-op reports after convert-X-to-Y name lines
    ctx = make_dialect_context(allow_unregistered=args.allow_unregistered_dialect)
    with run.phase("Parser"):
        module = parse_module(source, ctx, filename)
    with run.phase("Verifier"):
        verify_module(module, filename)
    if args.target == "host" and TARGET_ATTR not in module.attributes:
        host_target().attach(module)

    def input_copy():  # for the crash reproducer, only after a failure
        return parse_module(source, make_dialect_context(allow_unregistered=ctx.allow_unregistered))

    try:
        run.pm.run(ctx, module, input_copy=input_copy)
    except PassFailure as e:
        if e.reproducer is not None:
            run.notes.append(
                f"note: the IR before pass '{e.pass_name}' and its pipeline were written to "
                f"{e.reproducer}; replay: irforge-opt {e.reproducer} --run-reproducer"
            )
        elif e.reproducer_error is not None:
            run.notes.append(f"note: could not write a crash reproducer: {e.reproducer_error}")
        # Point at the op that no longer verifies when it came from the source file, else
        # at the op the failing pass ran on.
        try:
            verify_module(module, filename)
        except Diagnostic as located:
            located.message = f"after pass '{e.pass_name}': {located.message}"
            raise located from e
        where = source_position(e.op) if e.op is not None else None
        if where is not None:
            line = source.split("\n")[where[0] - 1]
            raise Diagnostic(filename, where[0], where[1], str(e), line) from e
        raise
    with run.phase("Output"):
        return print_module(module, debuginfo=args.mlir_print_debuginfo)


def _as_diagnostic(err: BaseException, filename: str, source: str):
    """A Diagnostic for any error of _process (pass failures: at the chunk's first line)."""
    from irforge.textual_ir import Diagnostic

    if isinstance(err, Diagnostic):
        return err
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    return Diagnostic(filename, first + 1, 1, str(err), lines[first] if lines else "")


def _reports(run: _Run | None) -> None:
    if run is None:
        return
    if run.statistics is not None:
        sys.stderr.write(run.statistics.report())
    if run.timing is not None:
        sys.stderr.write(run.timing.report())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from irforge.diagnostics import fail, user_errors
    from irforge.expected_diagnostics import check, collect, pad, split_input
    from irforge.plugins import load_plugin_files

    try:
        load_plugin_files(args.load_plugin)
        if args.list_passes:
            sys.stdout.write(list_passes())
            return 0
        text, filename = _read(args.input)
        pipeline, verify_each = args.pipeline, args.verify_each
        if args.run_reproducer:
            from irforge.passes.infra.reproducer import read_reproducer

            if args.pipeline:
                raise ValueError("--run-reproducer takes the pipeline from the file: drop -p")
            text, config = read_reproducer(text, filename)
            pipeline = config["pipeline"]
            verify_each = bool(config.get("verify_each", True)) and args.verify_each
        run = _build_run(args, pipeline, verify_each, filename)
    except user_errors() as e:
        return fail(e, None if args.input == "-" else args.input)

    chunks = split_input(text) if args.split_input_file else [(0, text)]
    outputs, failed = [], False
    for first_line, chunk in chunks:
        source = pad(first_line, chunk)
        try:
            outputs.append(_process(args, run, source, filename))
            produced = []
        except user_errors() as e:
            produced = [_as_diagnostic(e, filename, source)]
        if args.verify_diagnostics:
            problems = check(filename, source, collect(source), produced)
        else:
            problems = produced
        for d in problems:
            print(d.format(), file=sys.stderr)
        if problems:
            for note in run.notes:
                print(note, file=sys.stderr)
        run.notes.clear()
        failed = failed or bool(problems)
    if failed:
        _reports(run)
        return 1
    try:
        with run.phase("Output"):
            write_output("// -----\n".join(outputs), args.output)
    except OSError as e:
        return fail(e, args.output)
    _reports(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
