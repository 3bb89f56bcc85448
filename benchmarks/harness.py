"""The measuring machinery shared by the suites of `python -m benchmarks`.

- `Config`: sizes and rounds (`--quick` for a smoke test, the defaults for a real run);
- `timed_round`: a callable that runs `calls` calls and returns the seconds per call, with
  `calls` chosen so that one round lasts about `Config.round_s`;
- `interleave`: runs the rounds of several engines in turn at 1 thread (the machine is
  shared and its speed drifts: every ratio is taken between rounds measured side by side),
  in blocks per engine with more threads (thread pools spin after a call), and summarizes
  each engine's seconds per call (median, min, max, quartiles);
- `check`: compares irforge's output with a peer's before anything is timed;
- `case`: the record of one measured configuration, as it goes into the JSON file;
- ONNX helpers: small single-op models and ONNX Runtime sessions at a thread count.

Units: times in seconds, rates in GFLOP/s (1e9 floating-point operations per second) or
GB/s (1e9 bytes per second).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Config:
    """How hard to measure. `rounds` rounds per engine (at least `min_rounds` whatever
    the budget), each about `round_s` seconds of back-to-back calls; an engine gets at
    most about `budget_s` seconds per configuration; `settle_s` of sleep before each round
    lets the previous engine's worker threads stop spinning."""

    quick: bool = False
    rounds: int = 7
    min_rounds: int = 3
    round_s: float = 0.05
    budget_s: float = 6.0
    settle_s: float = 0.02
    threads: tuple[int, ...] = (1, 2)

    @classmethod
    def make(cls, quick: bool, rounds: int | None = None, threads=(1, 2)) -> Config:
        base = cls(True, 2, 1, 0.002, 0.3, 0.0) if quick else cls()
        base = replace(base, threads=tuple(threads))
        if rounds is not None:
            base = replace(base, rounds=rounds, min_rounds=min(base.min_rounds, rounds))
        return base


# Pause before each engine's block of multi-threaded rounds (see `interleave`).
BLOCK_PAUSE_S = 0.25


class TimedRound:
    """`fn` timed in rounds of `calls` back-to-back calls; calling the object runs one
    round and returns the mean seconds per call. `first_s` is the time of one call after
    the warm-up call (used to choose `calls` and the number of rounds)."""

    def __init__(self, fn: Callable[[], object], calls: int, first_s: float):
        self.fn = fn
        self.calls = calls
        self.first_s = first_s

    def __call__(self) -> float:
        fn = self.fn
        t = time.perf_counter()
        for _ in range(self.calls):
            fn()
        return (time.perf_counter() - t) / self.calls


def timed_round(fn: Callable[[], object], cfg: Config) -> TimedRound:
    """Warm `fn` up (one call), time one more call and size the rounds from it."""
    fn()
    t = time.perf_counter()
    fn()
    first = max(time.perf_counter() - t, 1e-9)
    calls = int(min(max(1, cfg.round_s / first), 100_000))
    return TimedRound(fn, calls, first)


def rounds_for(engines: dict[str, Callable[[], float]], cfg: Config) -> int:
    """Rounds for one configuration: `cfg.rounds`, fewer when the slowest engine's rounds
    would exceed the budget, never fewer than `cfg.min_rounds`."""
    longest = max(
        (e.first_s * e.calls for e in engines.values() if isinstance(e, TimedRound)),
        default=0.0,
    )
    if longest <= 0:
        return cfg.rounds
    return max(cfg.min_rounds, min(cfg.rounds, int(cfg.budget_s / longest)))


def summarize(samples: list[float], calls: int | None) -> dict:
    """Statistics of seconds-per-call samples (one per round)."""
    s = sorted(samples)
    if len(s) >= 2:
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive")
    else:
        q1 = q3 = s[0]
    return {
        "median_s": statistics.median(s),
        "min_s": s[0],
        "max_s": s[-1],
        "q1_s": q1,
        "q3_s": q3,
        "rounds": len(s),
        "calls_per_round": calls,
    }


def interleave(
    engines: dict[str, Callable[[], float]], cfg: Config, threads: int = 1
) -> dict[str, dict]:
    """Run the engines' rounds and return each engine's `summarize` statistics. Each engine
    is a callable that runs one round and returns seconds per call (a `TimedRound`, or a
    remote measurement).

    At 1 thread the rounds run in turn (the order rotates from round to round), so every
    ratio is taken between rounds measured side by side. With more threads each engine's
    rounds run in one block, after a pause and a discarded round: the thread pools of
    OpenBLAS, ONNX Runtime and libgomp keep spinning for a while after a call, and
    interleaved they would take the cores from the next engine's threads."""
    names = list(engines)
    samples: dict[str, list[float]] = {n: [] for n in names}
    rounds = rounds_for(engines, cfg)
    if threads > 1:
        for name in names:
            time.sleep(BLOCK_PAUSE_S)
            engines[name]()
            samples[name] = [engines[name]() for _ in range(rounds)]
    else:
        for r in range(rounds):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                if cfg.settle_s:
                    time.sleep(cfg.settle_s)
                samples[name].append(engines[name]())
    return {n: summarize(samples[n], getattr(engines[n], "calls", None)) for n in names}


def check(got: np.ndarray, ref: np.ndarray, peer: str, rtol: float, atol_rel: float) -> dict:
    """Compare irforge's output with a peer's: `np.allclose(got, ref, rtol, atol)` with
    `atol = atol_rel * max|ref|`. Returns the record that goes into the JSON file."""
    got = np.asarray(got)
    ref = np.asarray(ref)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    atol = atol_rel * scale
    same_shape = got.shape == ref.shape
    ok = bool(same_shape and np.allclose(got, ref, rtol=rtol, atol=atol))
    diff = float(np.max(np.abs(got - ref))) if same_shape and ref.size else None
    return {
        "checked": True,
        "peer": peer,
        "allclose": ok,
        "max_abs_diff": diff,
        "rtol": rtol,
        "atol": atol,
    }


def case(
    label: str,
    params: dict,
    unit: str,
    stats: dict[str, dict],
    correctness: dict,
    work: float | None = None,
    baseline: str = "irforge",
) -> dict:
    """One measured configuration. With `work` (FLOP or bytes per call) each engine's
    `value` is a rate in `unit` (work / median time / 1e9); without it, `value` is the
    median time in `unit` (us or ms). `ratios["vs <peer>"]` is peer median time /
    `baseline` median time: above 1, irforge is faster than that peer (no ratios between
    engines whose names start with `baseline`)."""
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}
    engines = {}
    for name, st in stats.items():
        e = dict(st)
        if work is not None:
            e["value"] = work / st["median_s"] / 1e9
            e["value_range"] = [work / st["max_s"] / 1e9, work / st["min_s"] / 1e9]
        else:
            e["value"] = st["median_s"] * scale[unit]
            e["value_range"] = [st["min_s"] * scale[unit], st["max_s"] * scale[unit]]
        engines[name] = e
    base = stats[baseline]["median_s"]
    ratios = {
        f"vs {name}": st["median_s"] / base
        for name, st in stats.items()
        if not name.startswith(baseline)
    }
    return {
        "label": label,
        "params": params,
        "unit": unit,
        "work_per_call": work,
        "engines": engines,
        "ratios": ratios,
        "check": correctness,
    }


def compile_irforge(model, threads: int, notes: list[str], **kw):
    """`irforge.compile(model, num_threads=threads, **kw)`. Returns (model, seconds)."""
    import irforge

    t = time.perf_counter()
    compiled = irforge.compile(model, num_threads=threads, **kw)
    return compiled, time.perf_counter() - t


def ort_session(model, threads: int):
    """An ONNX Runtime CPU session with `threads` intra-op threads (inter-op 1). `model` is
    a ModelProto, serialized bytes or a path."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if not isinstance(model, bytes | str):
        model = model.SerializeToString() if hasattr(model, "SerializeToString") else str(model)
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def onnx_model(nodes, inputs, outputs, initializers=()):
    """A single-graph ONNX model (opset 17, IR version 9, which ONNX Runtime accepts)."""
    from onnx import helper

    graph = helper.make_graph(nodes, "bench", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def tensor_info(name: str, shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
