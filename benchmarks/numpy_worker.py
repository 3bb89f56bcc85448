"""A NumPy matmul timer that runs in a child process, so that NumPy's BLAS can be measured
under another environment (the matmul suite starts it without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which pin OpenBLAS to older kernels on some machines).

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.

- `{"op": "info"}` -> `{"threadpool_info": [...]}` (threadpoolctl's report of the BLAS,
  or `null` without threadpoolctl);
- `{"op": "matmul", "n": N, "threads": T, "calls": C}` -> `{"s_per_call": seconds}`: C
  back-to-back `a @ b` on seeded float32 N x N arrays with the BLAS limited to T threads;
- end of input: exit.

Run as a script (`python numpy_worker.py`); it imports nothing of irforge.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def _limits(threads: int):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return threadpool_info()


def serve(inp=sys.stdin, out=sys.stdout) -> None:
    arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for line in inp:
        req = json.loads(line)
        if req["op"] == "info":
            reply = {"threadpool_info": _info()}
        else:
            n = int(req["n"])
            if n not in arrays:
                rng = np.random.default_rng(0)
                arrays[n] = tuple(rng.standard_normal((n, n), dtype=np.float32) for _ in "ab")
            a, b = arrays[n]
            calls = int(req["calls"])
            with _limits(int(req["threads"])):
                a @ b  # warm up at this thread count
                t = time.perf_counter()
                for _ in range(calls):
                    a @ b
                reply = {"s_per_call": (time.perf_counter() - t) / calls}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
