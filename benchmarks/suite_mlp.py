"""Suite `mlp`: latency (microseconds per call) of the bundled digits MLP
(irforge/examples/digits: 64 -> hidden -> 10 with a softmax) at batch 1 and 1024, irforge
vs ONNX Runtime at the same thread count: 1 thread at batch 1 (the model is far too small
for threads), 1 and 2 threads at batch 1024. Inputs are held-out test images (batch 1) or
seeded uniform [0, 1) pixels (batch 1024); outputs are compared with ONNX Runtime's
probabilities (tolerance 1e-5 x the largest probability) before timing.
"""

from __future__ import annotations

import numpy as np

from .harness import Config, case, check, compile_irforge, interleave, ort_session, timed_round


def configurations(cfg: Config) -> list[tuple[int, int]]:
    """(batch, threads) pairs: batch 1 at 1 thread, batch 1024 at every thread count."""
    big = 64 if cfg.quick else 1024
    return [(1, 1)] + [(big, t) for t in cfg.threads]


def measure(batch: int, threads: int, cfg: Config, notes: list[str]) -> dict:
    """One case: the MLP at `batch` and `threads` threads."""
    from irforge.examples.digits import load_test_split, model_path

    path = str(model_path())
    if batch == 1:
        x = load_test_split()[0][:1].copy()
    else:
        x = np.random.default_rng(0).random((batch, 64), dtype=np.float32)
    compiled, compile_s = compile_irforge(path, threads, notes, input_shapes={"input": [batch, 64]})
    sess = ort_session(path, threads)
    feed = {"input": x}
    ref = sess.run(None, feed)[0]
    correctness = check(compiled(x), ref, "onnxruntime", rtol=0.0, atol_rel=1e-5)
    engines = {
        "irforge": timed_round(lambda: compiled(x), cfg),
        "onnxruntime": timed_round(lambda: sess.run(None, feed), cfg),
    }
    c = case(
        f"batch {batch}, {threads} thread{'s' if threads > 1 else ''}",
        {"batch": batch, "threads": threads},
        "us",
        interleave(engines, cfg, threads),
        correctness,
    )
    c["irforge_compile_s"] = compile_s
    return c


def run(cfg: Config) -> dict:
    notes: list[str] = []
    cases = [measure(b, t, cfg, notes) for b, t in configurations(cfg)]
    return {"unit": "us", "model": "digits_mlp.onnx", "cases": cases, "notes": notes}
