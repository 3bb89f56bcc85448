"""Batch-1 latency of the bundled digits MLP: irforge native code vs ONNX Runtime vs NumPy.

Each engine is called `--calls` times per round for `--rounds` rounds, the engines taking
turns within each round; the figure per engine is the median over rounds of the mean call
time, and ratios are taken against irforge. ONNX Runtime runs with one intra-op thread (the
model is far too small for threads to help) and with its default session options. NumPy
runs the graph's own reference semantics (irforge.dialects.graph_reference) op by op.

    python -m irforge.benchmarks.mlp_latency [--rounds 21] [--calls 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def _time_calls(fn: Callable[[], object], calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def run(rounds: int, calls: int) -> dict:
    import onnxruntime as ort

    import irforge
    from irforge.dialects.reference import run_reference
    from irforge.examples.digits import load_test_split, model_path

    path = model_path()
    x = load_test_split()[0][:1].copy()
    model = irforge.compile(path, input_shapes={"input": [1, 64]})

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess1 = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    sess_default = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref_module = irforge.import_model(path, input_shapes={"input": [1, 64]})

    feeds = {"input": x}
    engines: dict[str, Callable[[], object]] = {
        "irforge": lambda: model(x),
        "onnxruntime (1 thread)": lambda: sess1.run(None, feeds),
        "onnxruntime (default)": lambda: sess_default.run(None, feeds),
        "numpy reference": lambda: run_reference(ref_module, [x]),
    }
    calls_for = {name: calls for name in engines}
    calls_for["numpy reference"] = max(1, calls // 100)  # an interpreter: far slower

    expected = sess1.run(None, feeds)[0]
    got = model(x)
    max_diff = float(np.max(np.abs(got - expected)))

    for fn in engines.values():  # warm up
        _time_calls(fn, 10)
    samples: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            samples[name].append(_time_calls(fn, calls_for[name]))
    medians = {name: statistics.median(s) for name, s in samples.items()}
    base = medians["irforge"]
    return {
        "benchmark": "digits MLP 64-64-32-10, batch 1, float32",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "rounds": rounds,
        "calls_per_round": calls_for,
        "max_abs_diff_vs_onnxruntime": max_diff,
        "median_us": {k: v * 1e6 for k, v in medians.items()},
        "ratio_to_irforge": {k: v / base for k, v in medians.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    res = run(args.rounds, args.calls)
    print(res["benchmark"])
    print(f"max |irforge - ONNX Runtime| = {res['max_abs_diff_vs_onnxruntime']:.3g}")
    print(f"{'engine':26s} {'median us/call':>15s} {'x irforge':>10s}")
    for name, us in res["median_us"].items():
        print(f"{name:26s} {us:15.2f} {res['ratio_to_irforge'][name]:10.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
