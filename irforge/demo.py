"""`irforge demo`: compile the bundled digits classifier and classify the held-out digits.

The model is an MLP trained on scikit-learn's handwritten digits (1797 real 8x8 images;
see irforge/examples/digits/train_digits.py) and exported to ONNX. The demo compiles it to
native code at batch 1, classifies every held-out image one call at a time, and prints the
accuracy, the largest difference from the NumPy reference semantics of the graph, and the
latency per image (median of the per-call times).
"""

from __future__ import annotations

import time

import numpy as np


def run_demo(quiet: bool = False) -> int:
    import irforge
    from irforge.dialects.reference import run_reference
    from irforge.examples.digits import load_test_split, model_path

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    path = model_path()
    x, y = load_test_split()
    n = len(x)
    say(f"model: {path.name} (MLP on scikit-learn's 8x8 digits), {n} held-out images")

    t0 = time.perf_counter()
    model = irforge.compile(path, input_shapes={"input": [1, 64]})
    compile_s = time.perf_counter() - t0
    say(
        "compiled to native code in "
        f"{compile_s:.2f} s (" + ", ".join(f"{k} {v:.2f} s" for k, v in model.timings.items()) + ")"
    )

    probs = np.empty((n, 10), dtype=np.float32)
    times = np.empty(n)
    for i in range(n):
        xi = x[i : i + 1]
        t = time.perf_counter()
        probs[i] = model(xi)[0]
        times[i] = time.perf_counter() - t

    # The reference: the graph-level IR evaluated with NumPy, on the whole split at once.
    ref_module = irforge.import_model(path, input_shapes={"input": [n, 64]})
    (ref,) = run_reference(ref_module, [x])
    max_diff = float(np.max(np.abs(probs - ref)))
    accuracy = float(np.mean(probs.argmax(axis=1) == y))
    latency_us = float(np.median(times) * 1e6)

    print(f"accuracy: {accuracy:.4f} ({int(round(accuracy * n))}/{n})")
    print(f"max |irforge - NumPy reference|: {max_diff:.3g}")
    print(f"latency per image (batch 1, median of {n} calls): {latency_us:.1f} us")
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        ort_probs = sess.run(None, {"input": x})[0]
        ort_acc = float(np.mean(ort_probs.argmax(axis=1) == y))
        print(
            f"ONNX Runtime: accuracy {ort_acc:.4f}, max |irforge - ORT|: "
            f"{float(np.max(np.abs(probs - ort_probs))):.3g}"
        )
    except ImportError:
        from irforge.frontends.onnx import load_model

        meta = {p.key: p.value for p in load_model(path).metadata_props}
        recorded = meta.get("test_accuracy", "unknown")
        say(
            "(onnxruntime is not installed: no live comparison; the test accuracy recorded "
            f"when the model was exported and checked with ONNX Runtime is {recorded})"
        )
    return 0
