"""`irforge`: the model compiler's command line.

    irforge import MODEL.onnx -o MODEL.mlir [--input-shape input=1x64]
    irforge compile MODEL.onnx [--emit mlir|llvm] [-o OUT] [--input-shape ...] [--timing]
    irforge compile MODEL.onnx --target wasm -o OUT_DIR/ [--input-shape ...]
    irforge run MODEL.onnx --input x.npy [--input name=y.npy] [-o out.npy] [--target wasm]
    irforge demo [--web [--out DIR] [--serve PORT]]
    irforge bench [--only matmul,conv,elementwise,mlp,resnet50] [--quick] [--json FILE]

Errors on bad input (a malformed file, an unsupported ONNX op, wrong shapes) print one
message and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys


def _shapes(items: list[str]) -> dict[str, list[int]] | None:
    from irforge.frontends.onnx import parse_input_shape

    return dict(parse_input_shape(s) for s in items) if items else None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="an ONNX model (.onnx) or graph-level IR (.mlir)")
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help="static shape for an input with dynamic dimensions, e.g. input=1x64",
    )
    p.add_argument("-p", "--passes", dest="pipeline", default=None, help="lowering pipeline")
    p.add_argument(
        "--num-threads",
        default=None,
        metavar="N",
        help="threads for parallel loops (default: $IRFORGE_NUM_THREADS or the cores; 1: serial)",
    )
    p.add_argument(
        "--verify-each",
        action="store_true",
        help="verify the IR after every pass (default: $IRFORGE_VERIFY_EACH=1, else only the "
        "result; slower, names the pass that broke the IR)",
    )


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        choices=["native", "wasm"],
        default="native",
        help="native: the host CPU (default); wasm: WebAssembly (wasm32 + simd128, see "
        "docs/wasm.md)",
    )
    p.add_argument(
        "--cpu",
        default=None,
        metavar="NAME",
        help="LLVM CPU name to compile for (--target native; default: the host, e.g. znver5)",
    )


def _check_target_flags(args) -> None:
    """ValueError for flags that do not apply to --target wasm."""
    if args.target != "wasm":
        return
    if args.cpu is not None:
        raise ValueError("--cpu applies to --target native only")
    if args.num_threads is not None and _num_threads(args) != 1:
        raise ValueError("--num-threads: WebAssembly modules run on one thread")


def _num_threads(args) -> int | None:
    """--num-threads as a count (None if not given); ValueError naming the flag."""
    if args.num_threads is None:
        return None
    from irforge.backends.target import check_num_threads

    return check_num_threads(args.num_threads, "--num-threads")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="irforge", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="import an ONNX model into the graph dialect")
    imp.add_argument("model")
    imp.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
    imp.add_argument("-o", "--output", default="-")

    comp = sub.add_parser("compile", help="lower a model and print or write the result")
    _add_common(comp)
    _add_target(comp)
    comp.add_argument(
        "--emit",
        choices=["mlir", "llvm"],
        default=None,
        help="mlir: the llvm-dialect IR; llvm: LLVM IR (default; --target native only)",
    )
    comp.add_argument(
        "-O",
        dest="opt_level",
        type=int,
        choices=[0, 1, 2, 3],
        default=3,
        help="LLVM optimization level of --emit llvm and of --target wasm (default 3)",
    )
    comp.add_argument(
        "-o",
        "--output",
        default="-",
        help="output file (default: stdout); with --target wasm, the directory to write "
        "model.wasm, model.js and manifest.json into",
    )
    comp.add_argument("--timing", action="store_true", help="print the time of each phase")

    run = sub.add_parser("run", help="compile a model and run it on .npy inputs")
    _add_common(run)
    run.add_argument(
        "--input", action="append", default=[], metavar="[NAME=]FILE.npy", required=True
    )
    run.add_argument("-o", "--output", default=None, help="save the first output as .npy")
    _add_target(run)

    fz = sub.add_parser("fuzz", help="check rewrites and lowerings with hypothesis")
    fz.add_argument("--pattern", default=None, help="fuzz only this declarative pattern")
    fz.add_argument("--programs", action="store_true", help="fuzz random programs only")
    fz.add_argument(
        "--mutants",
        action="store_true",
        help="mutation testing: fuzz every mutant of the patterns (or of --pattern); "
        "fails if one that is not known to be equivalent survives",
    )
    fz.add_argument("--examples", type=int, default=100, help="examples per check")
    fz.add_argument("--seed", type=int, default=None, help="seed, for a reproducible run")
    fz.add_argument(
        "--target",
        choices=["native", "wasm"],
        default="native",
        help="random programs: compile them for this target (wasm links each: slower)",
    )

    demo = sub.add_parser("demo", help="compile and run the bundled digits classifier")
    demo.add_argument("--quiet", action="store_true")
    demo.add_argument(
        "--web",
        action="store_true",
        help="build the browser demo instead (the model compiled to WebAssembly; see "
        "python -m irforge.examples.web --help)",
    )
    demo.add_argument(
        "--out",
        default="irforge-web-demo",
        metavar="DIR",
        help="--web: directory to write the page and the model into",
    )
    demo.add_argument(
        "--serve",
        type=int,
        default=None,
        metavar="PORT",
        help="--web: then serve DIR on http://127.0.0.1:PORT (0: any free port)",
    )

    bench = sub.add_parser("bench", help="time irforge against NumPy and ONNX Runtime")
    from irforge.benchmarks.suites import add_arguments  # stdlib-only at import

    add_arguments(bench)
    return p


def cmd_import(args) -> int:
    from irforge.api import import_model, print_ir
    from irforge.opt import write_output

    module = import_model(args.model, _shapes(args.input_shape))
    write_output(print_ir(module), args.output)
    return 0


def _lower(args, timing=None):
    """Import (or parse) the model and run the lowering pipeline; `timing`, a
    PassTiming, gets an Import row and one row per pass."""
    from contextlib import nullcontext

    from irforge.api import load_module, make_context, make_target
    from irforge.passes.infra.manager import PassManager, default_verify_each, verify_result
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    phase = timing.phase if timing is not None else (lambda name: nullcontext())
    ctx = make_context()
    with phase("Import"):
        module = load_module(args.model, _shapes(args.input_shape), ctx)
    instrumentations = [timing] if timing is not None else []
    pipeline = args.pipeline or DEFAULT_PIPELINE
    # The edge: the host (or --cpu), --num-threads and the environment make the Target the
    # passes read from the module.
    make_target("native", getattr(args, "cpu", None), _num_threads(args), pipeline).attach(module)
    verify_each = getattr(args, "verify_each", False) or default_verify_each()
    pm = PassManager(pipeline, verify_each=verify_each, instrumentations=instrumentations)
    pm.run(ctx, module)
    if not verify_each:
        with phase("Verifier"):
            verify_result(module)
    return module


def _wasm_out_dir(path: str) -> str:
    """The -o of --target wasm, checked to name a directory (ValueError otherwise)."""
    import os

    hint = "--target wasm writes model.wasm, model.js and manifest.json into a directory"
    if path == "-":
        raise ValueError(f"{hint}: give one with -o DIR")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"-o {path}: exists and is not a directory ({hint})")
    suffix = os.path.splitext(path)[1].lower()
    if not os.path.exists(path) and suffix in (".wasm", ".js", ".mjs", ".json", ".html"):
        raise ValueError(f"-o {path}: names a file; {hint} (e.g. -o out/)")
    return path


def cmd_compile_wasm(args) -> int:
    """`compile --target wasm`: write model.wasm, model.js and manifest.json into -o DIR
    and print each file with its size."""
    import irforge
    from irforge.backends.wasm.artifacts import write_artifacts

    _check_target_flags(args)
    if args.emit is not None:
        raise ValueError("--emit applies to --target native (--target wasm writes a directory)")
    out_dir = _wasm_out_dir(args.output)
    kw = {"pipeline": args.pipeline} if args.pipeline else {}
    if args.verify_each:
        kw["verify_each"] = True
    model = irforge.compile(
        args.model,
        target="wasm",
        input_shapes=_shapes(args.input_shape),
        opt_level=args.opt_level,
        **kw,
    )
    fn = model.function
    paths = write_artifacts(
        out_dir, fn.wasm_bytes, entry=fn.symbol, inputs=model.inputs, outputs=model.outputs
    )
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    if args.timing:
        for phase, seconds in model.timings.items():
            sys.stderr.write(f"{phase:>12}: {seconds * 1000:9.1f} ms\n")
    return 0


def cmd_compile(args) -> int:
    """Lower the model; print the llvm-dialect IR (--emit mlir) or LLVM IR (--emit llvm).
    `--timing` prints MLIR's execution time table: import, each pass, the LLVM phase.
    With --target wasm, write the WebAssembly artifacts instead (cmd_compile_wasm)."""
    from contextlib import nullcontext

    if args.target == "wasm":
        return cmd_compile_wasm(args)
    from irforge.api import print_ir
    from irforge.opt import write_output

    timing = None
    if args.timing:
        from irforge.passes.infra.instrumentation import PassTiming

        timing = PassTiming()
    phase = timing.phase if timing is not None else (lambda name: nullcontext())
    module = _lower(args, timing)
    if (args.emit or "llvm") == "mlir":
        with phase("Output"):
            text = print_ir(module)
    else:
        from irforge.backends.llvm import emit_llvm_ir

        with phase(f"LLVM (translate, O{args.opt_level})"):
            text = emit_llvm_ir(module, opt_level=args.opt_level, cpu=args.cpu)
    with phase("Write"):
        write_output(text, args.output)
    if timing is not None:
        sys.stderr.write(timing.report())
    return 0


def cmd_run(args) -> int:
    import numpy as np

    import irforge

    _check_target_flags(args)
    arrays: dict[str, np.ndarray] = {}
    positional: list[np.ndarray] = []
    for item in args.input:
        name, sep, path = item.rpartition("=")
        try:  # any dtype irforge runs: float32, int64 (token ids), int32, bool
            arr = np.load(path if sep else item)
        except EOFError as e:  # np.load of an empty file
            raise ValueError(f"--input {item}: not a .npy array ({e})") from e
        if sep:
            arrays[name] = arr
        else:
            positional.append(arr)
    model_path = args.model
    shapes = _shapes(args.input_shape) or {}
    if not model_path.endswith(".mlir"):
        from irforge.frontends.onnx import load_model

        graph = load_model(model_path).graph
        weights = {t.name for t in graph.initializer}
        graph_inputs = [i.name for i in graph.input if i.name not in weights]
        for name, arr in zip(graph_inputs, positional):
            arrays.setdefault(name, arr)
        unknown = set(arrays) - set(graph_inputs)
        if unknown:
            raise ValueError(
                f"--input names {sorted(unknown)} are not inputs of the model "
                f"(inputs: {graph_inputs})"
            )
        for name, arr in arrays.items():
            shapes.setdefault(name, list(arr.shape))
        ordered = [arrays[n] for n in graph_inputs if n in arrays]
    else:
        ordered = positional
    kw = {"pipeline": args.pipeline} if args.pipeline else {}
    if args.verify_each:
        kw["verify_each"] = True
    if args.target == "native":
        kw["num_threads"] = _num_threads(args)
        kw["cpu"] = args.cpu
    model = irforge.compile(model_path, target=args.target, input_shapes=shapes or None, **kw)
    out = model(*ordered)
    outs = out if isinstance(out, tuple) else (out,)
    np.set_printoptions(precision=6, suppress=True)
    for spec, value in zip(model.outputs, outs):
        print(f"{spec.name}: shape {value.shape} {value.dtype}\n{value}")
    if args.output:
        np.save(args.output, outs[0])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from irforge.diagnostics import fail, user_errors

    try:
        from irforge.plugins import load_entry_point_plugins

        load_entry_point_plugins()
        if args.command == "import":
            return cmd_import(args)
        if args.command == "compile":
            return cmd_compile(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "fuzz":
            from irforge.fuzz import main_fuzz

            return main_fuzz(args)
        if args.command == "demo" and args.web:
            from irforge.examples.web.__main__ import run as run_web_demo

            return run_web_demo(args.out, args.serve)
        if args.command == "demo":
            from irforge.demo import run_demo

            return run_demo(quiet=args.quiet)
        if args.command == "bench":
            from irforge.benchmarks.suites import run_from_args

            return run_from_args(args)
    except user_errors() as e:
        return fail(e, getattr(args, "model", None))
    except _wasm_errors() as e:  # evaluated only when an exception gets here
        return fail(e, getattr(args, "model", None))
    return 2


def _wasm_errors() -> tuple[type[BaseException], ...]:
    """The wasm backend's errors for bad input or a missing tool (no wasm-ld, a model
    the module cannot hold)."""
    from irforge.backends.wasm import WasmBuildError, WasmLinkerNotFound, WasmMemoryError

    return (WasmBuildError, WasmLinkerNotFound, WasmMemoryError)


if __name__ == "__main__":
    sys.exit(main())
