"""The onnx package's light model graphs compile to native code and match ONNX Runtime.

Weights are replaced by seeded random values of a sensible scale (irforge/examples/light_models.py)
because the shipped ones are all 0.02; the logits before the final Softmax are compared
with ONNX Runtime's on the same modified model: max |irforge - ORT| <= 1e-3 * max |logit|.
All nine run by default; each is compiled once per session (the `light` fixture,
tests/conftest.py) and shared with the other tests that run it.

The shipped `*_output_0.pb` files are not compared: with every weight 0.02 each output is
one value repeated over the 1000 classes whatever the input, so any uniform softmax of
the right shape would pass.
"""

import numpy as np
import pytest
from onnx import numpy_helper

from irforge.examples import light_models as lm


@pytest.mark.parametrize("name", lm.NAMES)
def test_logits_match_onnxruntime_with_random_weights(name, light):
    expected = light.reference(name)
    got = light.compiled(name)(light.input(name))
    assert got.shape == expected.shape
    scale = float(np.max(np.abs(expected)))
    assert scale > 1e-3, "degenerate logits: the weights did not randomize"
    assert float(np.std(expected)) > 1e-3 * scale, "uniform logits: the test would be vacuous"
    err = float(np.max(np.abs(got - expected)))
    assert err <= 1e-3 * scale, f"max abs error {err:.3g} vs logit scale {scale:.3g}"


def test_randomized_weights_are_seeded_and_replace_every_constant():
    """randomize_weights leaves no ConstantOfShape weight, gives one seed the same weights
    and another seed different ones."""
    model = lm.load("squeezenet")
    a, b, c = (lm.randomize_weights(model, seed=s) for s in (0, 0, 1))
    assert not [n for n in a.graph.node if n.op_type == "ConstantOfShape"]
    wa, wb, wc = (
        {t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in (a, b, c)
    )
    floats = [k for k in wa if wa[k].dtype == np.float32 and wa[k].size > 1]
    assert wa.keys() == wb.keys() == wc.keys() and len(floats) > 10
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not any(np.array_equal(wa[k], wc[k]) for k in floats)
