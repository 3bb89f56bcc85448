"""Parallel loops (parallelize-loops + libgomp): cost of a parallel region and speed-ups
with 1 vs 2 threads, measured in one run.

- `region`: a relu over 64 floats compiled with `min-work=0` (a parallel region for a
  trivial loop) vs serially: the difference is the cost of one region, back to back (the
  pool's threads still spin-waiting) and after a 5 ms pause (threads asleep);
- `elementwise`: relu(x*2+1)*x on 16M floats (fused into one loop), GB/s (bytes read +
  written);
- `matmul`: f32 512 x 512 @ 512 x 512 (GFLOP/s; naive loops until microkernels land);
- `digits`: the digits MLP at batch 1 (must stay serial: its loops are below min-work);
- `resnet50`: the onnx package's light ResNet-50 with random weights, batch 1.

Figures are medians (and minima) over `--repeat` calls in this process, the 1- and
2-thread models called in turns (the machine is shared: compare the ratios, not the
absolute numbers). libgomp runs with irforge's default `OMP_WAIT_POLICY=passive` unless
the environment sets a policy.

    python -m irforge.benchmarks.parallel [--only region,elementwise] [--repeat 20] [--json F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from .harness import onnx_model, tensor_info


def _median_s(fn, repeat: int, pause: float = 0.0) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        if pause:
            time.sleep(pause)
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def elementwise_model(n: int):
    """relu(x*2+1)*x on a vector of n floats."""
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["a"]),
        helper.make_node("Add", ["a", "one"], ["b"]),
        helper.make_node("Relu", ["b"], ["c"]),
        helper.make_node("Mul", ["c", "x"], ["y"]),
    ]
    return onnx_model(nodes, [tensor_info("x", [n])], [tensor_info("y", [n])], [two, one])


def matmul_model(n: int):
    from onnx import helper

    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    return onnx_model(
        [node], [tensor_info("a", [n, n]), tensor_info("b", [n, n])], [tensor_info("c", [n, n])]
    )


def _pipeline(min_work: int | None = None) -> str:
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    if min_work is None:
        return DEFAULT_PIPELINE
    return DEFAULT_PIPELINE.replace(
        "parallelize-loops", f"parallelize-loops{{min-work={min_work}}}"
    )


def bench_region(repeat: int) -> dict:
    from onnx import helper

    import irforge

    model = onnx_model(
        [helper.make_node("Relu", ["x"], ["y"])], [tensor_info("x", [64])], [tensor_info("y", [64])]
    )
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    serial = irforge.compile(model, num_threads=1)
    par = irforge.compile(model, num_threads=2, pipeline=_pipeline(0))
    out = {}
    for label, pause in (("back_to_back", 0.0), ("after_5ms_pause", 0.005)):
        t1 = _median_s(lambda: serial(x), repeat * 50 if not pause else repeat, pause)
        t2 = _median_s(lambda: par(x), repeat * 50 if not pause else repeat, pause)
        out[label] = {"serial_us": t1 * 1e6, "parallel_us": t2 * 1e6, "region_us": (t2 - t1) * 1e6}
    return out


def _alternate(fns: dict, args, repeat: int) -> dict:
    """Median and minimum seconds per call of each function, calling them in turns (so
    that a burst of load on the shared machine hits all of them alike)."""
    times: dict = {k: [] for k in fns}
    for f in fns.values():
        f(*args)  # warm up
    for _ in range(repeat):
        for k, f in fns.items():
            t = time.perf_counter()
            f(*args)
            times[k].append(time.perf_counter() - t)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def _pair(build, inputs, repeat: int, work: float, unit: str, scale: float) -> dict:
    import irforge

    compiled = {n: irforge.compile(build(), num_threads=n) for n in (1, 2)}
    outs = {n: c(*inputs) for n, c in compiled.items()}
    res = {}
    for n, (median, best) in _alternate(compiled, inputs, repeat).items():
        res[f"{n}_thread_ms"] = median * 1e3
        res[f"{n}_thread_min_ms"] = best * 1e3
        res[f"{n}_thread_{unit}"] = work / median / scale
    res["speedup"] = res["1_thread_ms"] / res["2_thread_ms"]
    res["speedup_of_min"] = res["1_thread_min_ms"] / res["2_thread_min_ms"]
    res["max_abs_diff_1_vs_2"] = float(np.max(np.abs(outs[1] - outs[2])))
    return res


def bench_elementwise(repeat: int, n: int = 1 << 24) -> dict:
    """Through `model(x)` (a fresh output each call: its page faults are counted) and
    through the native function with a preallocated output (the loop alone)."""
    import ctypes

    import irforge

    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    out = _pair(lambda: elementwise_model(n), [x], repeat, 8.0 * n, "GB/s", 1e9)
    dst = np.empty_like(x)
    for threads in (1, 2):
        compiled = irforge.compile(elementwise_model(n), num_threads=threads)
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
        fn = proto(compiled.function.address)
        t = _median_s(lambda fn=fn: fn(x.ctypes.data, dst.ctypes.data), repeat)
        out[f"{threads}_thread_prealloc_ms"] = t * 1e3
        out[f"{threads}_thread_prealloc_GB/s"] = 8.0 * n / t / 1e9
    t = _median_s(lambda: np.copyto(dst, x), repeat)
    out["np_copyto_GB/s"] = 8.0 * n / t / 1e9
    return out


def bench_matmul(repeat: int, n: int = 512) -> dict:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    return _pair(lambda: matmul_model(n), [a, b], repeat, 2.0 * n**3, "GFLOP/s", 1e9)


def bench_digits(repeat: int) -> dict:
    """Batch 1 and 1024 with the default thread count (batch 1 must make no region)."""
    import irforge
    from irforge.backends.llvm import emit_llvm_ir
    from irforge.examples.digits import model_path

    out = {}
    for batch in (1, 1024):
        x = np.random.default_rng(0).random((batch, 64), dtype=np.float32)
        for n in (1, 2):
            shapes = {"input": [batch, 64]}
            compiled = irforge.compile(str(model_path()), input_shapes=shapes, num_threads=n)
            t = _median_s(lambda c=compiled, x=x: c(x), repeat * (50 if batch == 1 else 1))
            out[f"batch{batch}_{n}_thread_us"] = t * 1e6
        module = irforge.api.load_module(str(model_path()), {"input": [batch, 64]})
        from irforge.backends.target import host_target

        host_target(num_threads=2).attach(module)
        irforge.run_pipeline(module, _pipeline())
        out[f"batch{batch}_regions_at_2_threads"] = emit_llvm_ir(module).count(
            'call ccc void @"irforge_parallel_for"'
        )
    return out


def bench_resnet50(repeat: int) -> dict:
    from irforge.examples import light_models as lm

    model = lm.randomize_weights(lm.load("resnet50"), seed=0)
    x = lm.random_input(model)
    return _pair(lambda: model, [x], repeat, 1.0, "calls/s", 1.0)


BENCHES = {
    "region": bench_region,
    "digits": bench_digits,
    "elementwise": bench_elementwise,
    "matmul": bench_matmul,
    "resnet50": bench_resnet50,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(BENCHES), help="comma-separated benchmarks")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--json", default=None, help="write the results to this file")
    args = p.parse_args(argv)
    results = {}
    for name in args.only.split(","):
        results[name] = BENCHES[name](args.repeat)
        print(name, json.dumps(results[name], indent=1), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
