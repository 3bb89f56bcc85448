"""Suite `elementwise`: y = relu(x * 2 + 1) * x on n float32 (16M = 2**24 by default), at
each thread count: GB/s, counting the bytes of one pass over memory (n * 4 read + n * 4
written, whatever each engine really moves). Engines:

- `irforge`: the compiled model called as users call it (`model(x)`, a fresh output array
  per call, so the kernel's first touch of 64 MB of new pages is counted);
- `irforge (preallocated out)`: `model(x, out=dst)` with `dst` allocated once (the loop
  alone: like for like with `np.copyto`);
- `np.copyto`: a copy of the same bytes into a preallocated array, the one-pass ceiling,
  at the case's thread count: with T threads, `ParallelCopy` splits the arrays into T
  contiguous parts and T threads (the caller and T - 1 persistent workers) each run
  `np.copyto` on one part (NumPy releases the GIL while it copies);
- `np.copy`: a copy into a fresh array (like for like with `irforge`; single-threaded);
- `numpy expression`: `np.maximum(x * 2 + 1, 0) * x` (four passes, temporaries);
- `onnxruntime`: the four-node ONNX model with `intra_op_num_threads` = the thread count.

The target (irforge preallocated >= 0.8x `np.copyto`) thus compares like with like: the
same bytes, the same threads, no allocation. The case records `ceiling_threads`, the
threads the ceiling really ran on. Both irforge calls (fresh output and `out=`) are checked
against NumPy's expression; the case's `check` is the first that failed, if any. irforge's
default pipeline fuses the chain into one loop (`tensor-fuse-elementwise`).
"""

from __future__ import annotations

import queue
import threading

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


class ParallelCopy:
    """`np.copyto(dst, src)` on `threads` threads: the 1-D arrays are split into `threads`
    contiguous parts (boundaries on multiples of 16 elements, 64 bytes of float32); the
    caller copies the first part and one persistent worker thread per other part copies
    its own (like the workers of an OpenMP or ONNX Runtime pool, they are started once, not
    per call). Calling the object runs one copy; `close()` stops the workers. `threads`:
    the parts, hence threads, actually used (fewer when the arrays are too small to split).
    """

    def __init__(self, dst: np.ndarray, src: np.ndarray, threads: int):
        n = src.size
        step = -(-n // max(threads, 1))  # ceil
        step = max(16, -(-step // 16) * 16)
        self.parts = [(dst[a : a + step], src[a : a + step]) for a in range(0, n, step)]
        self.parts = self.parts or [(dst, src)]
        self.threads = len(self.parts)
        self._jobs: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in self.parts[1:]]
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, args=(jobs, part), daemon=True)
            for jobs, part in zip(self._jobs, self.parts[1:])
        ]
        for w in self._workers:
            w.start()

    def _work(self, jobs: queue.SimpleQueue, part: tuple[np.ndarray, np.ndarray]) -> None:
        while jobs.get():
            try:
                np.copyto(*part)
                self._done.put(None)
            except BaseException as e:  # re-raised in the caller's thread
                self._done.put(e)

    def __call__(self) -> None:
        for jobs in self._jobs:
            jobs.put(True)
        np.copyto(*self.parts[0])
        errors = [self._done.get() for _ in self._jobs]
        for e in errors:
            if e is not None:
                raise e

    def close(self) -> None:
        for jobs in self._jobs:
            jobs.put(False)
        for w in self._workers:
            w.join()


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
    engines = {"irforge": timed_round(lambda: compiled(x), cfg)}
    compiled(x, out=dst)
    out_check = check(dst, ref, "numpy expression", rtol=1e-6, atol_rel=1e-6)
    if out_check["allclose"]:
        engines["irforge (preallocated out)"] = timed_round(lambda: compiled(x, out=dst), cfg)
    else:
        notes.append(f"{threads} threads: the out= call gave wrong values; not timed")
        if correctness["allclose"]:
            correctness = dict(out_check, call="out=")
    copy = ParallelCopy(np.empty_like(x), x, threads)
    try:
        engines["np.copyto"] = timed_round(copy, cfg)
        engines["np.copy"] = timed_round(lambda: np.copy(x), cfg)
        engines["numpy expression"] = timed_round(lambda: numpy_chain(x), cfg)
        engines["onnxruntime"] = timed_round(lambda: sess.run(None, feed), cfg)
        stats = interleave(engines, cfg, threads)
    finally:
        copy.close()
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
    c["ceiling_threads"] = copy.threads
    return c


def run(cfg: Config) -> dict:
    n = 1 << 16 if cfg.quick else 1 << 24
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    from irforge.passes.infra.registry import DEFAULT_PIPELINE as pipeline

    notes: list[str] = []
    cases = [measure(x, t, pipeline, cfg, notes) for t in cfg.threads]
    return {"unit": "GB/s", "pipeline": pipeline, "cases": cases, "notes": notes}
