"""Batch-1 latency of the onnx package's nine light models: irforge native code vs ONNX
Runtime, plus irforge's compile time, in one run.

The models get seeded random weights (irforge.examples.light_models: the shipped ones are
all 0.02 and a compiler could fold them into something absurdly fast). For each model,
irforge and ONNX Runtime (default session options) take turns over `--rounds` rounds of
`--calls` calls; the figures are medians over rounds of the mean call time. This is the
starting point of the performance work: irforge does not schedule loops yet.

    python -m irforge.benchmarks.light_models [--models resnet50,squeezenet] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def _mean_call(fn, calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def bench_model(name: str, rounds: int, calls: int) -> dict:
    import onnxruntime as ort

    import irforge
    from irforge.examples import light_models as lm

    model = lm.randomize_weights(lm.load(name), seed=0)
    x = lm.random_input(model)
    t0 = time.perf_counter()
    compiled = irforge.compile(model)
    compile_s = time.perf_counter() - t0
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    weights = {t.name for t in model.graph.initializer}
    feed = {next(i.name for i in model.graph.input if i.name not in weights): x}
    expected = sess.run(None, feed)[0]
    got = compiled(x)
    rel_err = float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-30))
    engines = {"irforge": lambda: compiled(x), "onnxruntime": lambda: sess.run(None, feed)}
    for fn in engines.values():
        fn()  # warm up
    samples: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(rounds):
        for k, fn in engines.items():
            samples[k].append(_mean_call(fn, calls))
    ms = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
    return {
        "model": name,
        "compile_s": compile_s,
        "compile_phases_s": compiled.timings,
        "median_ms": ms,
        "irforge_over_onnxruntime": ms["irforge"] / ms["onnxruntime"],
        "max_rel_error_vs_onnxruntime": rel_err,
    }


def main(argv: list[str] | None = None) -> int:
    from irforge.examples import light_models as lm

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(lm.NAMES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=2)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    results = []
    print(f"{'model':14s} {'compile s':>10s} {'irforge ms':>11s} {'ORT ms':>9s} {'ratio':>7s}")
    for name in args.models.split(","):
        r = bench_model(name, args.rounds, args.calls)
        results.append(r)
        ms = r["median_ms"]
        print(
            f"{name:14s} {r['compile_s']:10.1f} {ms['irforge']:11.2f} {ms['onnxruntime']:9.2f} "
            f"{r['irforge_over_onnxruntime']:7.1f}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
