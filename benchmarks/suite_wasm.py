"""Suite `wasm`: the WebAssembly target against native code of the same vector width.

One thread, in one process, interleaved round by round:

- `wasm`: the model compiled with `irforge.compile(..., target="wasm")` (wasm32 +simd128,
  4 x f32 vectors) and run in wasmtime, inputs and outputs copied through linear memory;
- `native x86-64-v2`: the same model compiled for the host with `cpu="x86-64-v2"` (SSE4.2:
  the same 128-bit vectors, no FMA), the like-for-like peer of the issue's target;
- `native host`: compiled for this CPU (AVX-512 here: 16 x f32 vectors and FMA).

Cases: the digits MLP at batch 256 and 1 (batch 1 measures the host-call overhead, copies
included) and f32 matmul at N = 256 and 512 (GFLOP/s, 2 N^3 FLOP per call). A ratio is the
peer's median time over wasm's: `1 / ratios["vs native x86-64-v2"]` is how many times
slower wasm is (target: at most 1.5x; Jangda et al., "Not So Fast: Analyzing the
Performance of WebAssembly vs. Native Code", USENIX ATC 2019, measured 1.45-1.55x).
Outputs are checked against native before timing. `wasm_bytes` records the size of each
module (the digits model's target: under 100 kB with its weights).
"""

from __future__ import annotations

import numpy as np

from .harness import Config, case, check, compile_irforge, interleave, timed_round
from .suite_matmul import matmul_model

V2 = "x86-64-v2"


def _engines(model, shapes, notes: list[str]) -> tuple[dict, dict]:
    """The three compiled engines of `model` and their compile seconds."""
    built, seconds = {}, {}
    for name, kw in (
        ("wasm", {"target": "wasm"}),
        (f"native {V2}", {"cpu": V2}),
        ("native host", {}),
    ):
        built[name], seconds[name] = compile_irforge(model, 1, notes, input_shapes=shapes, **kw)
    return built, seconds


def _measure(label, params, unit, model, shapes, inputs, cfg, notes, work=None) -> dict:
    built, seconds = _engines(model, shapes, notes)
    ref = built[f"native {V2}"](*inputs)
    correctness = check(built["wasm"](*inputs), ref, f"native {V2}", rtol=1e-4, atol_rel=1e-5)
    engines = {name: timed_round(lambda m=m: m(*inputs), cfg) for name, m in built.items()}
    c = case(label, params, unit, interleave(engines, cfg, 1), correctness, work, "wasm")
    c["compile_s"] = seconds
    c["irforge_compile_s"] = seconds["wasm"]
    wasm = built["wasm"].function
    c["wasm_bytes"] = len(getattr(wasm, "wasm_bytes", b"")) or None
    return c


def run(cfg: Config) -> dict:
    from irforge.examples.digits import load_test_split, model_path

    notes: list[str] = []
    cases = []
    digits = str(model_path())
    test_x = load_test_split()[0]
    for batch in (1, 16 if cfg.quick else 256):
        x = np.ascontiguousarray(np.resize(test_x, (batch, 64)).astype(np.float32))
        cases.append(
            _measure(
                f"digits MLP batch {batch} (us)",
                {"model": "digits", "batch": batch},
                "us",
                digits,
                {"input": [batch, 64]},
                (x,),
                cfg,
                notes,
            )
        )
    rng = np.random.default_rng(0)
    for n in (32, 64) if cfg.quick else (256, 512):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        cases.append(
            _measure(
                f"matmul N={n} (GFLOP/s)",
                {"model": "matmul", "n": n},
                "GFLOP/s",
                matmul_model(n),
                None,
                (a, b),
                cfg,
                notes,
                work=2.0 * n**3,
            )
        )
    return {"unit": "per case", "baseline": "wasm", "threads": 1, "cases": cases, "notes": notes}
