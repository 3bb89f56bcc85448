"""The bundled digits model: an MLP classifier of 8x8 handwritten digits, as ONNX.

The network was trained with scikit-learn on its bundled copy of the UCI optical
handwritten digits data set (`sklearn.datasets.load_digits`: 1797 images of 8x8 pixels,
10 classes) and written to ONNX by `train_digits.py` beside this file, which is how to
make it again (`python -m irforge.examples.digits.train_digits`, needs the `train` extra).

- `digits_mlp.onnx`: input `input` float32 [N, 64] (pixels scaled to [0, 1], row-major),
  output `probabilities` float32 [N, 10] (softmax over the classes 0-9). The batch
  dimension N is symbolic: give a static shape when importing it.
- `digits_test.npz`: the held-out 20% split the model never saw in training: `x_test`
  float32 [n, 64] and `y_test` int64 [n].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent

MODEL_FILE = "digits_mlp.onnx"
TEST_FILE = "digits_test.npz"


def model_path() -> Path:
    """Path of the bundled ONNX model `digits_mlp.onnx`."""
    return _HERE / MODEL_FILE


def load_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The held-out test split: images float32 [n, 64] in [0, 1] and labels int64 [n]."""
    with np.load(_HERE / TEST_FILE) as data:
        return data["x_test"], data["y_test"]
