"""Suite `matmul`: f32 C = A @ B, N x N, at each thread count: GFLOP/s (2 N^3 FLOP per
call) of irforge (an ONNX MatMul model through irforge.compile) vs

- `numpy`: `a @ b` in this process, its BLAS limited to the same thread count with
  threadpoolctl;
- `numpy (OpenBLAS env unset)`: the same in a child process started without
  OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set on some machines, they pin OpenBLAS to older
  kernels: the child shows what the library does on its own);
- `onnxruntime`: a MatMul session with `intra_op_num_threads` = the thread count.

`ratios["vs fastest numpy"]` compares with the faster of the two NumPy runs. The suite's
`blas` record says which kernel each NumPy ran (threadpoolctl: internal_api, architecture,
version, num_threads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from .harness import (
    Config,
    TimedRound,
    case,
    check,
    compile_irforge,
    interleave,
    onnx_model,
    ort_session,
    tensor_info,
    timed_round,
)

PINNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
BLAS_KEYS = ("internal_api", "architecture", "version", "num_threads", "threading_layer")


def matmul_model(n: int):
    """An ONNX model c = a @ b with a, b, c float32 [n, n]."""
    from onnx import helper

    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    shapes = [tensor_info("a", [n, n]), tensor_info("b", [n, n])]
    return onnx_model([node], shapes, [tensor_info("c", [n, n])])


def blas_limits(threads: int):
    """A context limiting the BLAS to `threads` threads (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def blas_report(info: list[dict] | None) -> list[dict] | str:
    """The BLAS entries of a threadpoolctl.threadpool_info() list, with the fields that
    say which kernel ran."""
    if info is None:
        return "threadpoolctl not installed"
    return [{k: e.get(k) for k in BLAS_KEYS} for e in info if e.get("user_api") == "blas"]


def in_process_blas() -> list[dict] | str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return blas_report(None)
    return blas_report(threadpool_info())


class NumpyWorker:
    """The child process of numpy_worker.py, with the OpenBLAS pinning variables removed
    from its environment."""

    def __init__(self):
        env = {k: v for k, v in os.environ.items() if k not in PINNING_VARS}
        script = Path(__file__).with_name("numpy_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the NumPy worker process ended unexpectedly")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class RemoteRound:
    """One round of the worker's matmul (same interface as harness.TimedRound)."""

    def __init__(self, worker: NumpyWorker, n: int, threads: int, cfg: Config):
        self.worker, self.n, self.threads = worker, n, threads
        self.first_s = worker.ask(op="matmul", n=n, threads=threads, calls=1)["s_per_call"]
        self.calls = int(min(max(1, cfg.round_s / max(self.first_s, 1e-9)), 100_000))

    def __call__(self) -> float:
        req = {"op": "matmul", "n": self.n, "threads": self.threads, "calls": self.calls}
        return self.worker.ask(**req)["s_per_call"]


class LimitedRound:
    """A TimedRound run with the BLAS limited to `threads`."""

    def __init__(self, fn, threads: int, cfg: Config):
        self.threads = threads
        with blas_limits(threads):
            self.inner: TimedRound = timed_round(fn, cfg)
        self.calls, self.first_s = self.inner.calls, self.inner.first_s

    def __call__(self) -> float:
        with blas_limits(self.threads):
            return self.inner()


def measure(n: int, threads: int, worker: NumpyWorker, cfg: Config, notes: list[str]) -> dict:
    """One case: N x N at `threads` threads, every engine interleaved."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    model = matmul_model(n)
    compiled, compile_s = compile_irforge(model, threads, notes)
    sess = ort_session(model, threads)
    feed = {"a": a, "b": b}
    with blas_limits(threads):
        ref = a @ b
    correctness = check(compiled(a, b), ref, "numpy", rtol=1e-3, atol_rel=1e-4)
    engines = {
        "irforge": timed_round(lambda: compiled(a, b), cfg),
        "numpy": LimitedRound(lambda: a @ b, threads, cfg),
        "numpy (OpenBLAS env unset)": RemoteRound(worker, n, threads, cfg),
        "onnxruntime": timed_round(lambda: sess.run(None, feed), cfg),
    }
    stats = interleave(engines, cfg, threads)
    c = case(
        f"N={n}, {threads} thread{'s' if threads > 1 else ''}",
        {"n": n, "threads": threads},
        "GFLOP/s",
        stats,
        correctness,
        work=2.0 * n**3,
    )
    fastest = min(("numpy", "numpy (OpenBLAS env unset)"), key=lambda k: stats[k]["median_s"])
    c["fastest_numpy"] = fastest
    c["ratios"]["vs fastest numpy"] = stats[fastest]["median_s"] / stats["irforge"]["median_s"]
    c["irforge_compile_s"] = compile_s
    return c


def run(cfg: Config) -> dict:
    sizes = (32, 64) if cfg.quick else (256, 512, 1024)
    notes: list[str] = []
    worker = NumpyWorker()
    try:
        blas = {
            "in_process": in_process_blas(),
            "in_process_env": {k: os.environ.get(k) for k in PINNING_VARS},
            "child_without_pinning_env": blas_report(worker.ask(op="info")["threadpool_info"]),
        }
        cases = [measure(n, t, worker, cfg, notes) for n in sizes for t in cfg.threads]
    finally:
        worker.close()
    return {"unit": "GFLOP/s", "blas": blas, "cases": cases, "notes": notes}
