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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="irforge-opt", description="Run irforge passes on MLIR generic-form IR."
    )
    p.add_argument("input", nargs="?", default="-", help="input .mlir file ('-' for stdin)")
    p.add_argument("-p", "--passes", dest="pipeline", default="", help="pass pipeline")
    p.add_argument("-o", "--output", default="-", help="output file ('-' for stdout)")
    p.add_argument("--list-passes", action="store_true", help="list the registered passes")
    p.add_argument("--allow-unregistered-dialect", action="store_true", help="accept unknown ops")
    p.add_argument(
        "--no-verify-each",
        dest="verify_each",
        action="store_false",
        help="do not verify the IR after every pass",
    )
    p.add_argument(
        "--print-ir-after-all", action="store_true", help="print the IR after every pass"
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


def list_passes() -> str:
    from irforge.passes.registry import available_passes

    lines = []
    for name, factory in sorted(available_passes().items()):
        cls = factory()
        doc = (cls.__doc__ or "").strip().splitlines()
        lines.append(f"  {name:28s} {doc[0] if doc else ''}")
    return "Available passes:\n" + "\n".join(lines) + "\n"


def _process(args, source: str, filename: str) -> str:
    """Parse, verify, run the pipeline and print one input (a whole file or a chunk)."""
    from irforge.api import make_context
    from irforge.passes.manager import PassFailure, PassManager
    from irforge.textual_ir import Diagnostic, parse_module, print_module, verify_module

    ctx = make_context(allow_unregistered=args.allow_unregistered_dialect)
    module = parse_module(source, ctx, filename)
    verify_module(module, filename)
    pm = PassManager.from_pipeline(args.pipeline, verify_each=args.verify_each)
    if args.print_ir_after_all:

        def dump(p, m):
            sys.stderr.write(f"// -----// IR Dump After {p.name} //----- //\n")
            sys.stderr.write(print_module(m, debuginfo=args.mlir_print_debuginfo))

        pm.after_pass.append(dump)
    try:
        pm.run(ctx, module)
    except PassFailure as e:
        # Point at the op that no longer verifies when it came from the source file.
        try:
            verify_module(module, filename)
        except Diagnostic as located:
            located.message = f"after pass '{e.pass_name}': {located.message}"
            raise located from e
        raise
    return print_module(module, debuginfo=args.mlir_print_debuginfo)


def _as_diagnostic(err: BaseException, filename: str, source: str):
    """A Diagnostic for any error of _process (pass failures: at the chunk's first line)."""
    from irforge.textual_ir import Diagnostic

    if isinstance(err, Diagnostic):
        return err
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    return Diagnostic(filename, first + 1, 1, str(err), lines[first] if lines else "")


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
    except user_errors() as e:
        return fail(e, None if args.input == "-" else args.input)

    chunks = split_input(text) if args.split_input_file else [(0, text)]
    outputs, failed = [], False
    for first_line, chunk in chunks:
        source = pad(first_line, chunk)
        try:
            outputs.append(_process(args, source, filename))
            produced = []
        except user_errors() as e:
            produced = [_as_diagnostic(e, filename, source)]
        if args.verify_diagnostics:
            problems = check(filename, source, collect(source), produced)
        else:
            problems = produced
        for d in problems:
            print(d.format(), file=sys.stderr)
        failed = failed or bool(problems)
    if failed:
        return 1
    try:
        write_output("// -----\n".join(outputs), args.output)
    except OSError as e:
        return fail(e, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
