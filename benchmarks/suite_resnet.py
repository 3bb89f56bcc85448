"""Suite `resnet50`: batch-1 latency (milliseconds per call) of the onnx package's light
ResNet-50 with seeded random weights (irforge.examples.light_models.randomize_weights: the
shipped weights are all 0.02 and must never be benchmarked), irforge vs ONNX Runtime at
each thread count, plus irforge's compile time (wall seconds of irforge.compile and its
phases). The model ends at the logits (light_models.logits_model), which are compared with
ONNX Runtime's before timing: max |irforge - ORT| <= 1e-3 x max |logit|.

With `--quick` the model is cut after its stem (the first MaxPool: Conv 7x7, batch-norm,
Relu, MaxPool), so that the smoke test stays short.
"""

from __future__ import annotations

import time

from .harness import Config, case, check, compile_irforge, interleave, ort_session, timed_round


def prefix(model, op_type: str):
    """A copy of `model` that ends at the output of its first `op_type` node, with the
    weights it no longer uses removed. Raises ValueError if there is no such node."""
    import onnx
    from onnx import shape_inference

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    nodes = list(g.node)
    end = next((i for i, n in enumerate(nodes) if n.op_type == op_type), None)
    if end is None:
        raise ValueError(f"the model has no {op_type} node to cut at")
    keep = nodes[: end + 1]
    out_name = keep[-1].output[0]
    del g.node[:]
    g.node.extend(keep)
    used = {name for n in keep for name in n.input}
    inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.output[:]
    info = next(
        vi for vi in shape_inference.infer_shapes(m).graph.value_info if vi.name == out_name
    )
    g.output.append(info)
    return m


def measure(model, feed: dict, threads: int, cfg: Config, notes: list[str]) -> dict:
    """One case: the model at `threads` threads, with its compile time."""
    (x,) = feed.values()
    compiled, compile_s = compile_irforge(model, threads, notes)
    t0 = time.perf_counter()
    sess = ort_session(model, threads)
    ort_session_s = time.perf_counter() - t0
    ref = sess.run(None, feed)[0]
    correctness = check(compiled(x), ref, "onnxruntime", rtol=0.0, atol_rel=1e-3)
    engines = {
        "irforge": timed_round(lambda: compiled(x), cfg),
        "onnxruntime": timed_round(lambda: sess.run(None, feed), cfg),
    }
    c = case(
        f"batch 1, {threads} thread{'s' if threads > 1 else ''}",
        {"batch": 1, "threads": threads},
        "ms",
        interleave(engines, cfg, threads),
        correctness,
    )
    c["irforge_compile_s"] = compile_s
    c["irforge_compile_phases_s"] = dict(getattr(compiled, "timings", {}))
    c["onnxruntime_session_s"] = ort_session_s
    return c


def run(cfg: Config) -> dict:
    from irforge.examples import light_models as lm

    model = lm.logits_model(lm.randomize_weights(lm.load("resnet50"), seed=0))
    name = "light_resnet50 (onnx package), random weights, logits"
    if cfg.quick:
        model = prefix(model, "MaxPool")
        name += ", cut after the stem (--quick)"
    x = lm.random_input(model)
    weights = {t.name for t in model.graph.initializer}
    feed = {next(i.name for i in model.graph.input if i.name not in weights): x}
    notes: list[str] = []
    cases = [measure(model, feed, t, cfg, notes) for t in cfg.threads]
    return {"unit": "ms", "model": name, "cases": cases, "notes": notes}
