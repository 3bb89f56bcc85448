"""GEMM microkernels (passes/tensor_to_loop/microkernel): f32 matmul and ResNet-50 convolutions in
irforge vs NumPy (OpenBLAS) and ONNX Runtime, plus the light ResNet-50 at batch 1 with the
microkernels on and off, in one run.

    python -m irforge.benchmarks.matmul_kernels [--sizes 256,512,1024] [--threads 1]
        [--repeats 7] [--no-resnet] [--json out.json]

Figures: GFLOP/s (2 * M * N * K per call) from the median of `--repeats` calls after a
warm-up, and the best call. The machines this runs on are shared: only ratios measured in
the same run mean anything.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE pin OpenBLAS to its Haswell kernels on these
machines (unset, it picks its fastest, the AVX-512 one): when they are set, the benchmark
runs itself again without them, so that irforge and the fastest NumPy are timed in turns
in one process (`--keep-openblas-env` keeps them; NumPy* then runs in a child process
without them). NumPy is limited to `--threads` threads (threadpoolctl) and the kernel
OpenBLAS runs is reported (threadpoolctl's `architecture`). irforge and its peer are
timed in turns, one call each per round, so the load of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

# The ResNet-50 convolutions: (name, input NCHW, weight FCHW, stride, pad).
RESNET_CONVS = [
    ("stem 7x7 s2", (1, 3, 224, 224), (64, 3, 7, 7), 2, 3),
    ("3x3 64 @56", (1, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    ("1x1 256->64 @56", (1, 256, 56, 56), (64, 256, 1, 1), 1, 0),
    ("1x1 64->256 @56", (1, 64, 56, 56), (256, 64, 1, 1), 1, 0),
    ("1x1 512->128 @28", (1, 512, 28, 28), (128, 512, 1, 1), 1, 0),
    ("3x3 128 @28", (1, 128, 28, 28), (128, 128, 3, 3), 1, 1),
    ("3x3 256 @14", (1, 256, 14, 14), (256, 256, 3, 3), 1, 1),
    ("3x3 512 @7", (1, 512, 7, 7), (512, 512, 3, 3), 1, 1),
    ("1x1 2048->512 @7", (1, 2048, 7, 7), (512, 2048, 1, 1), 1, 0),
]


def _times(fn, repeats: int) -> tuple[float, float]:
    """(median, best) seconds of one call of `fn`, after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts)


def _interleaved(fns, repeats: int, threads: int = 1) -> list[tuple[float, float]]:
    """(median, best) seconds per function of `fns`, timed in turns (one call of each
    per round), so that the load of a shared machine hits all of them alike. With several
    threads, one function's calls run as a block after a pause instead: the thread pools
    of OpenBLAS and ONNX Runtime spin for a while after a call, taking the cores from
    whoever runs next."""
    if threads > 1:
        out = []
        for fn in fns:
            time.sleep(0.2)
            out.append(_times(fn, repeats))
        return out
    for _ in range(3):  # warm up (first touches of buffers, caches)
        for fn in fns:
            fn()
    ts: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            ts[k].append(time.perf_counter() - t)
    return [(statistics.median(t), min(t)) for t in ts]


def _blas_info() -> str:
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("internal_api") == "openblas":
            return f"{info.get('architecture')} ({info.get('num_threads')} threads)"
    return "?"


_CHILD = """
import json, statistics, sys, time
import numpy as np
from threadpoolctl import threadpool_info
sizes, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
out = {}
for n in sizes:
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
    out[n] = [statistics.median(ts), min(ts)]
arch = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
print(json.dumps({"times": out, "kernel": arch[0] if arch else "?"}))
"""


def numpy_unpinned(sizes: list[int], threads: int, repeats: int) -> dict:
    """NumPy matmul times in a child process without the OPENBLAS_CORETYPE /
    OPENBLAS_L2_SIZE pins: {"times": {n: [median, best]}, "kernel": name}."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(sizes), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(res.stdout)
    data["times"] = {int(k): v for k, v in data["times"].items()}
    return data


def _matmul_model(n: int):
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return model


def _conv_model(x_shape, w: np.ndarray, stride: int, pad: int):
    from onnx import TensorProto, helper, numpy_helper

    bias = np.random.default_rng(2).standard_normal(w.shape[0]).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[stride] * 2, pads=[pad] * 4)
    g = helper.make_graph(
        [node],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return model


def bench_matmul(sizes: list[int], threads: int, repeats: int) -> list[dict]:
    from threadpoolctl import threadpool_limits

    import irforge

    unpinned = "OPENBLAS_CORETYPE" not in os.environ and "OPENBLAS_L2_SIZE" not in os.environ
    child = numpy_unpinned(sizes, threads, repeats) if not unpinned else None
    rows = []
    for n in sizes:
        a = np.random.default_rng(0).random((n, n), dtype=np.float32)
        b = np.random.default_rng(1).random((n, n), dtype=np.float32)
        f = irforge.compile(_matmul_model(n), num_threads=threads)
        err = float(np.abs(f(a, b) - a @ b).max() / np.abs(a @ b).max())
        flop = 2.0 * n**3
        with threadpool_limits(threads):
            fns = [lambda: f(a, b), lambda: a @ b]  # noqa: B023
            (ir_med, ir_best), (np_med, np_best) = _interleaved(fns, repeats, threads)
            kernel = _blas_info()
        if child is None:  # NumPy here is the unpinned one
            un_med, un_best, un_kernel = np_med, np_best, kernel
        else:
            (un_med, un_best), un_kernel = child["times"][n], child["kernel"]
        rows.append(
            {
                "n": n,
                "threads": threads,
                "irforge_gflops": flop / ir_med / 1e9,
                "irforge_best_gflops": flop / ir_best / 1e9,
                "numpy_gflops": flop / np_med / 1e9,
                "numpy_kernel": kernel,
                "numpy_unpinned_gflops": flop / un_med / 1e9,
                "numpy_unpinned_best_gflops": flop / un_best / 1e9,
                "numpy_unpinned_kernel": un_kernel,
                "max_rel_error": err,
            }
        )
    return rows


def bench_convs(threads: int, repeats: int) -> list[dict]:
    import onnxruntime as ort

    import irforge

    rows = []
    for name, xs, ws, stride, pad in RESNET_CONVS:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(xs).astype(np.float32)
        w = (rng.standard_normal(ws) * np.sqrt(2.0 / np.prod(ws[1:]))).astype(np.float32)
        model = _conv_model(xs, w, stride, pad)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(model.SerializeToString(), opts)
        want = sess.run(None, {"x": x})[0]
        f = irforge.compile(model, num_threads=threads)
        err = float(np.abs(f(x) - want).max() / np.abs(want).max())
        flop = 2.0 * want.size * np.prod(ws[1:])
        fns = [lambda: f(x), lambda: sess.run(None, {"x": x})]  # noqa: B023
        (ir_med, _), (ort_med, _) = _interleaved(fns, repeats, threads)
        rows.append(
            {
                "conv": name,
                "threads": threads,
                "irforge_gflops": flop / ir_med / 1e9,
                "onnxruntime_gflops": flop / ort_med / 1e9,
                "max_rel_error": err,
            }
        )
    return rows


def bench_resnet(threads: int, repeats: int) -> dict:
    import onnxruntime as ort

    import irforge
    from irforge.examples import light_models as lm
    from irforge.passes.infra.pipeline import with_pass_options
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    model = lm.logits_model(lm.randomize_weights(lm.load("resnet50"), seed=0))
    x = lm.random_input(model)
    weights = {t.name for t in model.graph.initializer}
    feed = {next(i.name for i in model.graph.input if i.name not in weights): x}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), opts)
    want = sess.run(None, feed)[0]
    out: dict = {"threads": threads}
    for label, on in (("microkernels", True), ("loop nests", False)):
        pipeline = with_pass_options(
            DEFAULT_PIPELINE, "convert-tensor-to-loop", {"microkernels": on}, override=True
        )
        t = time.perf_counter()
        f = irforge.compile(model, num_threads=threads, pipeline=pipeline)
        out[f"compile_s ({label})"] = time.perf_counter() - t
        got = f(x)
        out[f"max_rel_error ({label})"] = float(np.abs(got - want).max() / np.abs(want).max())
        out[f"irforge_ms ({label})"] = _times(lambda: f(x), repeats)[0] * 1e3  # noqa: B023
    time.sleep(0.2)  # let the irforge threads sleep before ONNX Runtime runs
    out["onnxruntime_ms"] = _times(lambda: sess.run(None, feed), repeats)[0] * 1e3
    return out


def main(argv: list[str] | None = None) -> int:
    pinned = {
        k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    }
    if pinned and "--keep-openblas-env" not in (argv if argv is not None else sys.argv[1:]):
        # Run again without the pins, so that NumPy in this process is the fastest
        # OpenBLAS and irforge and NumPy are timed in turns, in the same process.
        env = {k: v for k, v in os.environ.items() if k not in pinned}
        env["IRFORGE_BENCH_PINNED"] = json.dumps(pinned)
        args = sys.argv[1:] if argv is None else argv
        cmd = [sys.executable, "-m", "irforge.benchmarks.matmul_kernels", *args]
        return subprocess.run(cmd, env=env, check=False).returncode
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep-openblas-env", action="store_true")
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--no-convs", action="store_true")
    p.add_argument("--no-resnet", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict = {}
    report["matmul"] = rows = bench_matmul(sizes, args.threads, args.repeats)
    print(f"f32 matmul, {args.threads} thread(s), GFLOP/s (median of {args.repeats})")
    print(f"{'N':>6s} {'irforge':>9s} {'best':>7s} {'NumPy':>9s} {'NumPy*':>9s} {'ratio*':>7s}")
    for r in rows:
        print(
            f"{r['n']:6d} {r['irforge_gflops']:9.1f} {r['irforge_best_gflops']:7.1f} "
            f"{r['numpy_gflops']:9.1f} {r['numpy_unpinned_gflops']:9.1f} "
            f"{r['irforge_gflops'] / r['numpy_unpinned_gflops']:7.2f}"
        )
    was = os.environ.get("IRFORGE_BENCH_PINNED")
    print(
        f"NumPy: OpenBLAS {rows[0]['numpy_kernel']} in this process; NumPy*: "
        f"{rows[0]['numpy_unpinned_kernel']} without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE"
        + (f" (the caller had {was}; this process runs without them)" if was else "")
    )
    if not args.no_convs:
        report["convs"] = convs = bench_convs(args.threads, args.repeats)
        print(f"\nResNet-50 convolutions (bias), {args.threads} thread(s), GFLOP/s")
        print(f"{'conv':20s} {'irforge':>9s} {'ORT':>9s} {'ratio':>7s}")
        for r in convs:
            ratio = r["irforge_gflops"] / r["onnxruntime_gflops"]
            print(
                f"{r['conv']:20s} {r['irforge_gflops']:9.1f} "
                f"{r['onnxruntime_gflops']:9.1f} {ratio:7.2f}"
            )
    if not args.no_resnet:
        report["resnet50"] = res = bench_resnet(args.threads, max(3, args.repeats // 2))
        print(f"\nlight ResNet-50, batch 1, {args.threads} thread(s)")
        for k, v in res.items():
            print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
