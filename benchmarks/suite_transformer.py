"""Suite `transformer`: batch-1 latency (milliseconds per call) of issue 16's transformer
models, irforge vs ONNX Runtime (default session options, intra-op threads set) at each
thread count, with the GFLOP/s of each engine beside its latency and irforge's compile
time.

Models (benchmarks/transformer_models.py, seeded random weights, exported by torch's
dynamo exporter at opset 18 with external weights, cached): `bert-4l-512` (BERT encoder,
4 layers, hidden 512, 8 heads, intermediate 2048) and `gpt2-small` (12 layers, hidden
768, 12 heads), both at sequence 128 with the last 16 positions padded. With `--quick`
the small BERT test model (hidden 32, 2 layers, sequence 16) stands in for them.

Each row compares irforge's `last_hidden_state` with ONNX Runtime's before timing:
max |irforge - ORT| <= 1e-4 x max |ORT| (issue 16's tolerance). The work figure is
`transformer_models.matmul_flops` (the matrix products only), so GFLOP/s = that / median
time. A model irforge cannot compile yet gets a row labelled `cannot compile: <error>`
without timings (its check fails, so the run's exit status says so), and the other
model is still measured. Without torch or transformers the suite reports one note and no
rows.
"""

from __future__ import annotations

import time
from importlib.util import find_spec

from .harness import Config, case, check, compile_irforge, interleave, ort_session, timed_round

EXPORTER = "dynamo"
"""The torch exporter of the benchmarked models (transformer_models.EXPORTERS)."""

MODELS = ("bert-4l-512", "gpt2-small")
QUICK_MODELS = ("bert-small",)


def _threads_label(threads: int) -> str:
    return f"{threads} thread{'s' if threads > 1 else ''}"


def failed_row(model: str, threads: int, error: BaseException) -> dict:
    """The row of a model irforge cannot compile: no timings, a failed check naming the
    error."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = f"{type(error).__name__}: {first}"[:300]
    return {
        "label": f"{model}, {_threads_label(threads)}: cannot compile: {message}",
        "params": {"model": model, "threads": threads},
        "unit": "ms",
        "work_per_call": None,
        "engines": {},
        "ratios": {},
        "check": {"checked": False, "allclose": None, "error": message},
    }


def measure(model: str, threads: int, cfg: Config, notes: list[str]) -> dict:
    """One row: `model` at `threads` threads (irforge compiled for that count)."""
    from . import transformer_models as tm

    path = str(tm.export(model, EXPORTER))
    feeds = tm.inputs(model)
    args = list(feeds.values())
    try:
        compiled, compile_s = compile_irforge(path, threads, notes)
    except Exception as e:  # noqa: BLE001 - reported as a row, the other models still run
        return failed_row(model, threads, e)
    t0 = time.perf_counter()
    sess = ort_session(path, threads)
    ort_session_s = time.perf_counter() - t0
    ref = sess.run(None, feeds)[0]
    correctness = check(compiled(*args), ref, "onnxruntime", rtol=0.0, atol_rel=1e-4)
    engines = {
        "irforge": timed_round(lambda: compiled(*args), cfg),
        "onnxruntime": timed_round(lambda: sess.run(None, feeds), cfg),
    }
    stats = interleave(engines, cfg, threads)
    flops = tm.matmul_flops(model)
    gflops = {name: flops / st["median_s"] / 1e9 for name, st in stats.items()}
    shown = ", ".join(f"{name} {g:.1f}" for name, g in gflops.items())
    c = case(
        f"{model}, {_threads_label(threads)} (GFLOP/s: {shown})",
        {"model": model, "threads": threads, "seq": tm.MODELS[model].seq, "batch": 1},
        "ms",
        stats,
        correctness,
    )
    c["matmul_flops"] = flops
    c["gflops"] = gflops
    c["irforge_compile_s"] = compile_s
    c["irforge_compile_phases_s"] = dict(getattr(compiled, "timings", {}))
    c["onnxruntime_session_s"] = ort_session_s
    return c


def run(cfg: Config) -> dict:
    missing = [m for m in ("torch", "transformers", "onnxscript") if find_spec(m) is None]
    if missing:
        return {
            "unit": "ms",
            "model": "transformers (not run)",
            "cases": [],
            "notes": [
                f"skipped: the transformer models need {', '.join(missing)} "
                "(pip install -e '.[bench]')"
            ],
        }
    models = QUICK_MODELS if cfg.quick else MODELS
    notes: list[str] = [f"exporter: torch {EXPORTER}; GFLOP/s count matrix products only"]
    cases = [measure(m, t, cfg, notes) for m in models for t in cfg.threads]
    return {
        "unit": "ms",
        "model": ", ".join(models) + " (random weights, batch 1, last_hidden_state)",
        "cases": cases,
        "notes": notes,
    }
