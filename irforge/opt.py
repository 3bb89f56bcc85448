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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from irforge.diagnostics import fail, user_errors
    from irforge.plugins import load_plugin_files

    try:
        load_plugin_files(args.load_plugin)
        if args.list_passes:
            sys.stdout.write(list_passes())
            return 0
        from irforge.dialects import make_context
        from irforge.passes.manager import PassManager
        from irforge.textual_ir import parse_module, print_module, verify_module

        text, filename = _read(args.input)
        ctx = make_context(allow_unregistered=args.allow_unregistered_dialect)
        module = parse_module(text, ctx, filename)
        verify_module(module, filename)
        pm = PassManager.from_pipeline(args.pipeline, verify_each=args.verify_each)
        if args.print_ir_after_all:

            def dump(p, m):
                sys.stderr.write(f"// -----// IR Dump After {p.name} //----- //\n")
                sys.stderr.write(print_module(m, debuginfo=args.mlir_print_debuginfo))

            pm.after_pass.append(dump)
        pm.run(ctx, module)
        write_output(print_module(module, debuginfo=args.mlir_print_debuginfo), args.output)
        return 0
    except user_errors() as e:
        return fail(e, None if args.input == "-" else args.input)


if __name__ == "__main__":
    sys.exit(main())
