"""`python -m benchmarks` / `irforge bench`: every suite in one run, a table on the terminal
and the results as JSON.

    python -m benchmarks [--only matmul,conv,elementwise,mlp,resnet50] [--quick]
                         [--threads 1,2] [--rounds N] [--json FILE]

Suites (one module each): `matmul` (suite_matmul), `conv` (suite_conv), `elementwise`
(suite_elementwise), `mlp` (suite_mlp), `resnet50` (suite_resnet), `wasm` (suite_wasm),
`transformer` (suite_transformer: BERT and GPT-2, issue 16). Each compiles once,
checks irforge's output against a peer (np.allclose, recorded under `check`), warms up,
then times irforge and its peers in interleaved rounds and reports medians with their
spread. A ratio is the peer's median time over irforge's: above 1, irforge is faster.

`--json FILE` (default `bench-results.json` in the current directory; `-` for standard
output, the table then going to standard error). The file holds `machine`, `config`,
`suites` (per suite its `cases`, each with `engines` statistics, `ratios` and `check`) and
`targets` (issue 6's goals, each `met` true, false or null when not measured; a target is
not met when a row it judges has wrong results, `wrong_rows` counts them).

Exit status: 0 when every suite ran and every output check passed (targets that fall short
of their goal do not change it); 1 if a suite failed (its `error` is recorded and the others
still run) or any row's output check failed; 2 for bad arguments or missing peer packages.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from importlib import import_module

SUITES = {
    "matmul": "suite_matmul",
    "conv": "suite_conv",
    "elementwise": "suite_elementwise",
    "mlp": "suite_mlp",
    "resnet50": "suite_resnet",
    "wasm": "suite_wasm",
    "transformer": "suite_transformer",
}
DEFAULT_JSON = "bench-results.json"


def _suite_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown suite(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SUITES)}"
        )
    return names


def _thread_list(text: str) -> tuple[int, ...]:
    try:
        threads = tuple(int(t) for t in text.split(","))
    except ValueError:
        threads = ()
    if not threads or min(threads) < 1:
        raise argparse.ArgumentTypeError(f"expected thread counts like 1,2, got '{text}'")
    return threads


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark options, shared by `python -m benchmarks` and `irforge bench`."""
    p.add_argument(
        "--only",
        type=_suite_list,
        default=list(SUITES),
        metavar="SUITES",
        help=f"comma-separated suites to run (default: all of {','.join(SUITES)})",
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes and rounds (a smoke test)")
    p.add_argument(
        "--threads",
        type=_thread_list,
        default=(1, 2),
        metavar="N,M",
        help="thread counts to measure (default 1,2)",
    )
    p.add_argument("--rounds", type=int, default=None, help="timed rounds per engine")
    p.add_argument(
        "--json",
        default=DEFAULT_JSON,
        metavar="FILE",
        help=f"write the results here (default {DEFAULT_JSON}; '-': standard output)",
    )


def _loadavg() -> float | None:
    """The 1-minute load average (runnable processes, this one included), if known."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine_info() -> dict:
    import platform

    import numpy as np

    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "IRFORGE_NUM_THREADS",
            )
        },
    }
    for mod in ("onnxruntime", "onnx", "llvmlite", "xdsl"):
        try:
            info[mod] = str(import_module(mod).__version__)
        except (ImportError, AttributeError):
            info[mod] = None
    try:
        from llvmlite import binding

        info["llvm_host_cpu"] = binding.get_host_cpu_name()
    except ImportError:
        info["llvm_host_cpu"] = None
    return info


def _case(results: dict, suite: str, **params) -> dict | None:
    for c in results.get(suite, {}).get("cases", []):
        if all(c["params"].get(k) == v for k, v in params.items()):
            return c
    return None


def wrong_rows(cases: Iterable[dict]) -> list[dict]:
    """The cases whose output check did not pass (a missing check counts as failed: a row
    is only trusted once irforge's output matched its peer's)."""
    return [c for c in cases if c.get("check", {}).get("allclose") is not True]


def _target(
    name: str,
    goal: str,
    value: float | None,
    met: bool | None,
    shown: str,
    rows: Sequence[dict] = (),
) -> dict:
    """A target judged on `rows` (the cases its figure comes from): `met` is False, whatever
    the figure, when any of them failed its correctness check (`wrong_rows` counts them)."""
    wrong = len(wrong_rows(rows))
    if wrong:
        met = False
    return {
        "name": name,
        "goal": goal,
        "value": value,
        "met": met,
        "shown": shown,
        "wrong_rows": wrong,
    }


def targets(results: dict, threads: tuple[int, ...]) -> list[dict]:
    """Issue 6's goals, evaluated on this run's cases (absent cases: `met` None). A target
    whose cases include one with wrong results is not met (see `_target`)."""
    out = []
    for c in results.get("matmul", {}).get("cases", []):
        if c["params"]["n"] >= 512:
            r = c["ratios"]["vs fastest numpy"]
            out.append(
                _target(
                    f"matmul {c['label']}",
                    "irforge GFLOP/s >= 0.8x the fastest NumPy",
                    r,
                    r >= 0.8,
                    f"{r:.3g}x {c['fastest_numpy']}",
                    [c],
                )
            )
    for c in results.get("elementwise", {}).get("cases", []):
        key = "preallocated vs np.copyto"
        r = c["ratios"].get(key, c["ratios"]["vs np.copyto"])
        out.append(
            _target(
                f"elementwise {c['label']}",
                "irforge GB/s >= 0.8x np.copyto",
                r,
                r >= 0.8,
                f"{r:.3g}x ({'preallocated out' if key in c['ratios'] else 'model call'})",
                [c],
            )
        )
    c = _case(results, "mlp", batch=1, threads=1)
    if c is not None:
        r = c["ratios"]["vs onnxruntime"]
        out.append(
            _target("mlp batch 1", "irforge faster than ONNX Runtime", r, r > 1.0, f"{r:.3g}x", [c])
        )
    c = _case(results, "resnet50", threads=2)
    if c is not None:
        slow = 1.0 / c["ratios"]["vs onnxruntime"]
        out.append(
            _target(
                "resnet50 batch 1, 2 threads",
                "irforge latency <= 1.5x ONNX Runtime's",
                slow,
                slow <= 1.5,
                f"{slow:.3g}x ORT latency",
                [c],
            )
        )
    elif "resnet50" in results and 2 not in threads:
        out.append(_target("resnet50 batch 1, 2 threads", "<= 1.5x ORT", None, None, "not run"))
    out += _transformer_targets(results.get("transformer", {}).get("cases", []))
    sized = False
    for c in results.get("wasm", {}).get("cases", []):
        p = c["params"]
        if p["model"] == "matmul" or p.get("batch", 0) > 1:
            slow = 1.0 / c["ratios"]["vs native x86-64-v2"]
            out.append(
                _target(
                    f"wasm {c['label']}",
                    "wasm time <= 1.5x native x86-64-v2 (same 128-bit vectors), 1 thread",
                    slow,
                    slow <= 1.5,
                    f"{slow:.3g}x native x86-64-v2 time",
                    [c],
                )
            )
        if p["model"] == "digits" and c.get("wasm_bytes") and not sized:
            kb = c["wasm_bytes"] / 1000
            out.append(
                _target("wasm digits module size", "< 100 kB", kb, kb < 100, f"{kb:.1f} kB", [c])
            )
            sized = True
    return out


def _transformer_targets(cases: Sequence[dict]) -> list[dict]:
    """Issue 16's goals: each transformer row's latency <= 1.0x ONNX Runtime's, and the
    BERT encoder's compile time <= 10 s (a row that could not compile is not met)."""
    out = []
    for c in cases:
        name = f"transformer {c['params']['model']}, {c['params']['threads']} thread(s)"
        r = c["ratios"].get("vs onnxruntime")
        slow = 1.0 / r if r else None
        shown = f"{slow:.3g}x ORT latency" if slow else "cannot compile"
        met = slow is not None and slow <= 1.0
        out.append(_target(name, "irforge latency <= 1.0x ONNX Runtime's", slow, met, shown, [c]))
        if c["params"]["model"] == "bert-4l-512" and "irforge_compile_s" in c:
            s = c["irforge_compile_s"]
            out.append(_target(f"{name} compile time", "<= 10 s", s, s <= 10, f"{s:.1f} s", [c]))
    return out


def run(args) -> dict:
    """Run the selected suites; return the JSON-ready results."""
    from .harness import Config

    cfg = Config.make(args.quick, args.rounds, args.threads)
    started = time.time()
    results: dict[str, dict] = {}
    for name in args.only:
        t0 = time.perf_counter()
        load = _loadavg()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = import_module(f".{SUITES[name]}", __package__).run(cfg)
        except Exception as e:  # one broken suite must not lose the others' figures
            traceback.print_exc()
            results[name] = {"error": f"{type(e).__name__}: {e}", "unit": "-", "cases": []}
        results[name]["wall_s"] = time.perf_counter() - t0
        results[name]["loadavg_1min"] = [load, _loadavg()]
    return {
        "schema": 1,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": machine_info(),
        "config": {
            "quick": cfg.quick,
            "rounds": cfg.rounds,
            "min_rounds": cfg.min_rounds,
            "round_s": cfg.round_s,
            "budget_s": cfg.budget_s,
            "threads": list(cfg.threads),
        },
        "suites": results,
        "targets": targets(results, cfg.threads),
    }


def missing_peers() -> list[str]:
    """The peer packages the suites need that are not installed."""
    from importlib.util import find_spec

    return [
        name for name in ("onnxruntime", "threadpoolctl", "wasmtime") if find_spec(name) is None
    ]


def run_from_args(args) -> int:
    import json

    from .report import render

    missing = missing_peers()
    if missing:
        print(
            f"error: the benchmarks compare with {', '.join(missing)}, which is not installed: "
            "pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return 2
    res = run(args)
    to_stdout = args.json == "-"
    render(res, sys.stderr if to_stdout else sys.stdout)
    text = json.dumps(res, indent=1, default=str)
    if to_stdout:
        sys.stdout.write(text + "\n")
    else:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"results written to {args.json}")
    failed = [name for name, suite in res["suites"].items() if "error" in suite]
    if failed:
        print(f"error: suite(s) {', '.join(failed)} failed (see above)", file=sys.stderr)
    wrong = [
        f"{name}: {c['label']}"
        for name, suite in res["suites"].items()
        for c in wrong_rows(suite["cases"])
    ]
    if wrong:
        print(
            f"error: wrong results (the correctness check failed) in {len(wrong)} row(s): "
            + "; ".join(wrong),
            file=sys.stderr,
        )
    return 1 if failed or wrong else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))
