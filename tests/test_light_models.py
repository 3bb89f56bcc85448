"""The onnx package's light model graphs compile to native code and match ONNX Runtime.

Weights are replaced by seeded random values of a sensible scale (irforge/examples/light_models.py)
because the shipped ones are all 0.02; the logits before the final Softmax are compared
with ONNX Runtime's on the same modified model: max |irforge - ORT| <= 1e-3 * max |logit|.
The unmodified models are also checked against their shipped `*_output_0.pb`.
ResNet-50 and SqueezeNet run by default; all nine run with `-m slow`.
"""

import numpy as np
import onnxruntime as ort
import pytest

import irforge
from irforge.examples import light_models as lm

DEFAULT = ["resnet50", "squeezenet"]
PARAMS = [pytest.param(n, marks=() if n in DEFAULT else pytest.mark.slow, id=n) for n in lm.NAMES]


def ort_run(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    weights = {t.name for t in model.graph.initializer}
    data = next(i.name for i in model.graph.input if i.name not in weights)
    return sess.run(None, {data: x})[0]


@pytest.mark.parametrize("name", PARAMS)
def test_logits_match_onnxruntime_with_random_weights(name):
    model = lm.logits_model(lm.randomize_weights(lm.load(name), seed=0))
    x = lm.random_input(model)
    expected = ort_run(model, x)
    got = irforge.compile(model)(x)
    assert got.shape == expected.shape
    scale = float(np.max(np.abs(expected)))
    assert scale > 1e-3, "degenerate logits: the weights did not randomize"
    err = float(np.max(np.abs(got - expected)))
    assert err <= 1e-3 * scale, f"max abs error {err:.3g} vs logit scale {scale:.3g}"


@pytest.mark.parametrize("name", PARAMS)
def test_shipped_output(name):
    model = lm.load(name)
    x = lm.random_input(model)
    got = irforge.compile(model)(x)
    np.testing.assert_allclose(got, lm.shipped_output(name), rtol=1e-4, atol=1e-6)
