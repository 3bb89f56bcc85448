"""Suite `conv`: the convolutions of ResNet-50 one at a time, batch 1, f32: GFLOP/s of
irforge vs ONNX Runtime on a model made of that single Conv (seeded He-normal weights), at
each thread count.

The shapes are the unique Conv configurations (input shape, weight shape, strides, pads,
dilations, group, bias) of the onnx package's light ResNet-50 (its graph has 53 Convs, 23
distinct), read off its nodes with ONNX shape inference; `count` says how often each one
occurs in the network. FLOP per call: 2 * N * C_out * H_out * W_out * (C_in / group) * kH * kW.
The `totals` record sums count x median time over all shapes: the convolution time of one
ResNet-50 inference, per engine. With the default pipeline, each one-Conv model packs its
input to NCHW[x]c and unpacks its output (docs/layout.md), as ONNX Runtime reorders to and
from its own NCHWc layout; in a whole network those transforms sit at the boundaries
only, so the `resnet50` suite is the measure of the layout's effect.
"""

from __future__ import annotations

from collections import Counter

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


def resnet50_conv_shapes() -> list[dict]:
    """The unique Conv configurations of the light ResNet-50, in graph order, each a dict
    with x (input shape), w (weight shape), strides, pads, dilations, group, bias, count,
    y (output shape)."""
    from onnx import helper, shape_inference

    from irforge.examples import light_models as lm

    model = lm.randomize_weights(lm.load("resnet50"), seed=0)
    inferred = shape_inference.infer_shapes(model).graph
    shapes = {
        vi.name: tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
        for vi in [*inferred.value_info, *inferred.input, *inferred.output]
    }
    shapes.update({t.name: tuple(t.dims) for t in model.graph.initializer})
    order: list[tuple] = []
    counts: Counter = Counter()
    outs = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ValueError(f"Conv '{node.name}': auto_pad is not handled by this benchmark")
        key = (
            shapes[node.input[0]],
            shapes[node.input[1]],
            tuple(attrs.get("strides", (1, 1))),
            tuple(attrs.get("pads", (0, 0, 0, 0))),
            tuple(attrs.get("dilations", (1, 1))),
            int(attrs.get("group", 1)),
            len(node.input) > 2 and node.input[2] != "",
        )
        if key not in counts:
            order.append(key)
            outs[key] = shapes[node.output[0]]
        counts[key] += 1
    names = ("x", "w", "strides", "pads", "dilations", "group", "bias")
    return [dict(zip(names, k), count=counts[k], y=outs[k]) for k in order]


def conv_flop(s: dict) -> float:
    n, c_out, h, w = s["y"]
    _, c_in_per_group, kh, kw = s["w"]
    return 2.0 * n * c_out * h * w * c_in_per_group * kh * kw


def conv_model(s: dict, seed: int = 0):
    """A single-Conv ONNX model for the configuration `s`, with seeded weights."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    fan_in = int(np.prod(s["w"][1:]))
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), s["w"]).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w")]
    inputs = ["x", "w"]
    if s["bias"]:
        b = rng.normal(0.0, 0.05, s["w"][0]).astype(np.float32)
        inits.append(numpy_helper.from_array(b, "b"))
        inputs.append("b")
    node = helper.make_node(
        "Conv",
        inputs,
        ["y"],
        strides=list(s["strides"]),
        pads=list(s["pads"]),
        dilations=list(s["dilations"]),
        group=s["group"],
        kernel_shape=list(s["w"][2:]),
    )
    return onnx_model([node], [tensor_info("x", s["x"])], [tensor_info("y", s["y"])], inits)


def label(s: dict) -> str:
    _, c, h, w = s["x"]
    k = "x".join(map(str, s["w"][2:]))
    stride = f" s{s['strides'][0]}" if max(s["strides"]) > 1 else ""
    return f"{c}x{h}x{w} -> {s['w'][0]}, {k}{stride}"


def measure(s: dict, threads: int, cfg: Config, notes: list[str]) -> dict:
    """One case: the Conv configuration `s` at `threads` threads."""
    model = conv_model(s)
    x = np.random.default_rng(1).standard_normal(s["x"], dtype=np.float32)
    feed = {"x": x}
    compiled, compile_s = compile_irforge(model, threads, notes)
    sess = ort_session(model, threads)
    ref = sess.run(None, feed)[0]
    correctness = check(compiled(x), ref, "onnxruntime", rtol=1e-3, atol_rel=1e-4)
    engines = {
        "irforge": timed_round(lambda: compiled(x), cfg),
        "onnxruntime": timed_round(lambda: sess.run(None, feed), cfg),
    }
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()}
    params["threads"] = threads
    c = case(
        f"{label(s)} (x{s['count']}), {threads}t",
        params,
        "GFLOP/s",
        interleave(engines, cfg, threads),
        correctness,
        work=conv_flop(s),
    )
    c["irforge_compile_s"] = compile_s
    return c


def run(cfg: Config) -> dict:
    shapes = resnet50_conv_shapes()
    if cfg.quick:
        shapes = sorted(shapes, key=conv_flop)[:2]
    notes: list[str] = []
    cases = []
    totals: dict[int, dict[str, float]] = {}
    for s in shapes:
        for threads in cfg.threads:
            c = measure(s, threads, cfg, notes)
            cases.append(c)
            t = totals.setdefault(threads, {k: 0.0 for k in c["engines"]})
            for k, st in c["engines"].items():
                t[k] += s["count"] * st["median_s"]
    total_records = {
        f"{threads} thread{'s' if threads > 1 else ''}": {
            "seconds": t,
            "irforge_over_onnxruntime_time": t["irforge"] / t["onnxruntime"],
        }
        for threads, t in totals.items()
    }
    return {
        "unit": "GFLOP/s",
        "model": "light_resnet50 (onnx package), batch 1",
        "unique_shapes": len(shapes),
        "cases": cases,
        "totals": total_records,
        "notes": notes,
    }
