"""The bundled digits MLP compiled to native code matches ONNX Runtime (the issue's bar:
equal accuracy, probabilities within 1e-5 absolute on every held-out image)."""

import numpy as np
import onnxruntime as ort
import pytest

import irforge
from irforge.examples.digits import load_test_split, model_path

ATOL = 1e-5


@pytest.fixture(scope="module")
def data():
    x, y = load_test_split()
    sess = ort.InferenceSession(str(model_path()), providers=["CPUExecutionProvider"])
    return x, y, sess.run(None, {"input": x})[0]


@pytest.fixture(scope="module")
def model_b1():
    return irforge.compile(model_path(), input_shapes={"input": [1, 64]})


def test_batch1_matches_onnxruntime_on_every_image(data, model_b1):
    x, y, expected = data
    got = np.stack([model_b1(x[i : i + 1])[0] for i in range(len(x))])
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    assert np.mean(got.argmax(1) == y) == np.mean(expected.argmax(1) == y)
    assert np.mean(got.argmax(1) == y) > 0.95


def test_whole_split_in_one_batch(data):
    x, _, expected = data
    model = irforge.compile(model_path(), input_shapes={"input": list(x.shape)})
    np.testing.assert_allclose(model(x), expected, rtol=0, atol=ATOL)


def test_signature_and_names(model_b1):
    assert [(s.name, s.shape) for s in model_b1.inputs] == [("input", (1, 64))]
    assert [(s.name, s.shape) for s in model_b1.outputs] == [("probabilities", (1, 10))]


def test_wrong_shape_and_dtype_raise_clear_errors(model_b1):
    with pytest.raises(ValueError, match=r"\(1, 64\).*\(2, 64\)"):
        model_b1(np.zeros((2, 64), np.float32))
    with pytest.raises(ValueError, match="float32"):
        model_b1(np.zeros((1, 64), np.float64))
    with pytest.raises(ValueError):
        model_b1()


def test_dynamic_batch_without_shape_says_how_to_fix():
    with pytest.raises(ValueError, match="--input-shape input="):
        irforge.compile(model_path())
