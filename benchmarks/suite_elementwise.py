"""Suite `elementwise`: y = relu(x * 2 + 1) * x on n float32 (16M = 2**24 by default), at
each thread count: GB/s, counting the bytes of one pass over memory (n * 4 read + n * 4
written, whatever each engine really moves). Engines:

- `irforge`: the compiled model called as users call it (`model(x)`, a fresh output array
  per call, so the kernel's first touch of 64 MB of new pages is counted);
- `irforge (preallocated out)`: `model(x, out=dst)` with `dst` allocated once (the loop
  alone: like for like with `np.copyto`);
- `np.copyto`: a copy of the same bytes into a preallocated array, the one-pass ceiling;
- `np.copy`: a copy into a fresh array (like for like with `irforge`);
- `numpy expression`: `np.maximum(x * 2 + 1, 0) * x` (four passes, temporaries);
- `onnxruntime`: the four-node ONNX model with `intra_op_num_threads` = the thread count.

NumPy's copies are single-threaded at every thread count. irforge's default pipeline fuses
the chain into one loop (`tensor-fuse-elementwise`).
"""

from __future__ import annotations

import numpy as np

from .harness import (
    Config,
    case,
    check,
    compile_irforge,
    interleave,
    onnx_model,
    ort_session,
    tensor_info,
    timed_round,
)


def chain_model(n: int):
    """relu(x * 2 + 1) * x over a float32 vector of n elements, as ONNX."""
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["t0"]),
        helper.make_node("Add", ["t0", "one"], ["t1"]),
        helper.make_node("Relu", ["t1"], ["t2"]),
        helper.make_node("Mul", ["t2", "x"], ["y"]),
    ]
    return onnx_model(nodes, [tensor_info("x", [n])], [tensor_info("y", [n])], [two, one])


def numpy_chain(x: np.ndarray) -> np.ndarray:
    return np.maximum(x * np.float32(2) + np.float32(1), np.float32(0)) * x


def measure(x: np.ndarray, threads: int, pipeline: str, cfg: Config, notes: list[str]) -> dict:
    """One case: the chain over `x` at `threads` threads."""
    n = x.size
    ref = numpy_chain(x)
    model = chain_model(n)
    compiled, compile_s = compile_irforge(model, threads, notes, pipeline=pipeline)
    sess = ort_session(model, threads)
    feed = {"x": x}
    correctness = check(compiled(x), ref, "numpy expression", rtol=1e-6, atol_rel=1e-6)
    dst = np.empty_like(x)
    copy_dst = np.empty_like(x)
    engines = {"irforge": timed_round(lambda: compiled(x), cfg)}
    compiled(x, out=dst)
    if check(dst, ref, "numpy expression", rtol=1e-6, atol_rel=1e-6)["allclose"]:
        engines["irforge (preallocated out)"] = timed_round(lambda: compiled(x, out=dst), cfg)
    else:
        notes.append(f"{threads} threads: the out= call gave wrong values; skipped")
    engines["np.copyto"] = timed_round(lambda: np.copyto(copy_dst, x), cfg)
    engines["np.copy"] = timed_round(lambda: np.copy(x), cfg)
    engines["numpy expression"] = timed_round(lambda: numpy_chain(x), cfg)
    engines["onnxruntime"] = timed_round(lambda: sess.run(None, feed), cfg)
    stats = interleave(engines, cfg, threads)
    c = case(
        f"n={n}, {threads} thread{'s' if threads > 1 else ''}",
        {"n": n, "threads": threads},
        "GB/s",
        stats,
        correctness,
        work=8.0 * n,
    )
    if "irforge (preallocated out)" in stats:
        pre_s = stats["irforge (preallocated out)"]["median_s"]
        c["ratios"]["preallocated vs np.copyto"] = stats["np.copyto"]["median_s"] / pre_s
    c["irforge_compile_s"] = compile_s
    return c


def run(cfg: Config) -> dict:
    n = 1 << 16 if cfg.quick else 1 << 24
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    from irforge.passes.registry import DEFAULT_PIPELINE as pipeline

    notes: list[str] = []
    cases = [measure(x, t, pipeline, cfg, notes) for t in cfg.threads]
    return {"unit": "GB/s", "pipeline": pipeline, "cases": cases, "notes": notes}
