"""Train the bundled digits MLP with scikit-learn and write it to ONNX.

Run as `python -m irforge.examples.digits.train_digits` (needs the `train` extra:
scikit-learn; ONNX Runtime, from the `test` extra, is used to check the export if it is
installed). Writes, beside this file:

- `digits_mlp.onnx`: `input` float32 [N, 64] -> Gemm(64->64) -> Relu -> MatMul(64->32) +
  Add -> Relu -> MatMul(32->10) + Add -> Softmax(axis=1) -> `probabilities` float32 [N, 10].
- `digits_test.npz`: `x_test` float32 [n, 64], `y_test` int64 [n], the held-out split.

Data: `sklearn.datasets.load_digits` (1797 real 8x8 images of handwritten digits, shipped
with scikit-learn, no download), pixels 0-16 scaled to [0, 1]; a stratified 80/20 split
with a fixed seed. The graph is written with `onnx.helper` from the trained weights (no
converter dependency), so it is exactly the network scikit-learn evaluates.
Everything is seeded: running it again gives the same files for the same library versions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
MODEL_FILE = HERE / "digits_mlp.onnx"
TEST_FILE = HERE / "digits_test.npz"

HIDDEN_LAYERS = (64, 32)
SEED = 0
TEST_SIZE = 0.2
OPSET = 13
# ONNX Runtime 1.31 refuses IR versions above 13 (onnx 1.23 writes 14 by default).
IR_VERSION = 10


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split: x_train, x_test float32 [n, 64] in [0, 1]; y_train, y_test int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SEED, stratify=y
    )
    return x_train, x_test, y_train, y_test


def train(x_train: np.ndarray, y_train: np.ndarray):
    """A ReLU MLP classifier (Adam, scikit-learn defaults otherwise), seeded."""
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYERS, activation="relu", max_iter=500, random_state=SEED
    )
    return clf.fit(x_train, y_train)


def to_onnx(clf, test_accuracy: float) -> onnx.ModelProto:
    """The trained classifier as an ONNX graph computing `clf.predict_proba`.

    scikit-learn's weights `coefs_[i]` are [fan_in, fan_out], so each layer is
    `x @ W + b`: the first as one Gemm with C = b, the others as MatMul then Add.
    """
    import sklearn

    if clf.out_activation_ != "softmax":
        raise ValueError(f"expected a softmax output layer, got {clf.out_activation_!r}")
    weights = [np.asarray(w, dtype=np.float32) for w in clf.coefs_]
    biases = [np.asarray(b, dtype=np.float32) for b in clf.intercepts_]
    n_classes = weights[-1].shape[1]

    inits, nodes = [], []
    x = "input"
    for i, (w, b) in enumerate(zip(weights, biases)):
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        out = f"logits{i}"
        if i == 0:
            nodes.append(helper.make_node("Gemm", [x, f"W{i}", f"B{i}"], [out], name="gemm0"))
        else:
            nodes.append(helper.make_node("MatMul", [x, f"W{i}"], [f"mm{i}"], name=f"matmul{i}"))
            nodes.append(helper.make_node("Add", [f"mm{i}", f"B{i}"], [out], name=f"add{i}"))
        if i < len(weights) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"], name=f"relu{i}"))
            x = f"h{i}"
        else:
            x = out
    nodes.append(helper.make_node("Softmax", [x], ["probabilities"], name="softmax", axis=1))

    arch = " -> ".join(str(n) for n in (weights[0].shape[0], *HIDDEN_LAYERS, n_classes))
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", weights[0].shape[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes])],
        initializer=inits,
        doc_string=f"ReLU MLP {arch} with a softmax output",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="irforge.examples.digits.train_digits",
        doc_string=(
            "Handwritten digit classifier (8x8 images, classes 0-9). Trained with scikit-learn "
            f"MLPClassifier(hidden_layer_sizes={HIDDEN_LAYERS}, activation='relu', "
            f"random_state={SEED}) on sklearn.datasets.load_digits, pixels / 16 as float32, "
            f"stratified train_test_split(test_size={TEST_SIZE}, random_state={SEED}); "
            "written with onnx.helper from the trained weights."
        ),
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(
        model,
        {
            "dataset": "sklearn.datasets.load_digits (UCI optical recognition of digits)",
            "preprocessing": "x = pixels / 16 as float32, shape [N, 64], row-major 8x8",
            "architecture": f"{arch}, relu, softmax",
            "trained_with": f"scikit-learn {sklearn.__version__} MLPClassifier",
            "test_accuracy": f"{test_accuracy:.4f}",
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_predict(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray | None:
    """Probabilities from ONNX Runtime, or None if it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["probabilities"], {"input": x})[0]


def main() -> int:
    x_train, x_test, y_train, y_test = load_data()
    clf = train(x_train, y_train)
    sk_proba = clf.predict_proba(x_test)
    sk_acc = float(np.mean(clf.classes_[sk_proba.argmax(axis=1)] == y_test))
    model = to_onnx(clf, sk_acc)
    print(f"train images: {len(y_train)}, test images: {len(y_test)}")
    print(f"scikit-learn test accuracy: {sk_acc:.4f} ({clf.n_iter_} epochs)")

    ort_proba = ort_predict(model, x_test)
    if ort_proba is None:
        print("onnxruntime not installed: the export was not checked")
    else:
        ort_acc = float(np.mean(ort_proba.argmax(axis=1) == y_test))
        max_diff = float(np.abs(ort_proba - sk_proba).max())
        print(f"ONNX Runtime test accuracy: {ort_acc:.4f} (max |p_ort - p_sklearn| {max_diff:.2e})")
        if ort_acc != sk_acc or max_diff > 1e-4:
            print("error: ONNX Runtime and scikit-learn disagree", file=sys.stderr)
            return 1

    onnx.save(model, MODEL_FILE)
    np.savez_compressed(TEST_FILE, x_test=x_test, y_test=y_test)
    for path in (MODEL_FILE, TEST_FILE):
        print(f"wrote {path.name} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
