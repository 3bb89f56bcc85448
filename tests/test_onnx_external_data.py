"""Models whose weights live in an external data file (`MODEL.onnx.data` beside the model,
as torch's dynamo exporter writes them) import from their path, through the API and the
CLI; a ModelProto read without its external data, or a model whose data file is missing,
is a clear error; `irforge run` takes int64 .npy inputs (token ids).

Results are compared with ONNX Runtime exactly (a gather and an add of float32 values).
"""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import irforge
from irforge.cli import main as cli_main
from irforge.frontends.onnx import ONNXImportError


@pytest.fixture(scope="module")
def embedding(tmp_path_factory):
    """An embedding lookup (int64 ids [2, 3] into a [50, 8] table) plus a bias, saved with
    its weights in `embedding.onnx.data`; returns (path, ids)."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((50, 8)).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "ids"], ["e"]),
            helper.make_node("Add", ["e", "bias"], ["y"]),
        ],
        "embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 8])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    path = tmp_path_factory.mktemp("external") / "embedding.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="embedding.onnx.data", size_threshold=0)  # fmt: skip
    ids = np.array([[0, 7, 49], [3, 3, -1]], np.int64)
    return path, ids


def reference(path, ids):
    return ort.InferenceSession(str(path)).run(None, {"ids": ids})[0]


def test_a_path_loads_the_external_data(embedding):
    path, ids = embedding
    assert (path.parent / "embedding.onnx.data").is_file()
    bare = onnx.load(str(path), load_external_data=False)
    assert all(t.data_location == TensorProto.EXTERNAL for t in bare.graph.initializer)
    np.testing.assert_array_equal(irforge.compile(str(path))(ids), reference(path, ids))


def test_a_model_proto_without_its_external_data_is_a_clear_error(embedding):
    path, ids = embedding
    bare = onnx.load(str(path), load_external_data=False)
    with pytest.raises(ONNXImportError, match="initializer 'table' keeps its data in the "
                       "external file 'embedding.onnx.data'.*pass the model's path"):  # fmt: skip
        irforge.compile(bare)
    np.testing.assert_array_equal(irforge.compile(onnx.load(str(path)))(ids), reference(path, ids))


def test_a_missing_data_file_is_a_clear_error(embedding, tmp_path, capsys):
    path, _ = embedding
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(path, lonely)
    with pytest.raises(ONNXImportError, match="cannot read the external data of .*lonely.onnx"):
        irforge.compile(str(lonely))
    assert cli_main(["compile", str(lonely), "-o", str(tmp_path / "x.so")]) == 1
    assert "cannot read the external data" in capsys.readouterr().err


def test_cli_run_takes_int64_npy_inputs(embedding, tmp_path, capsys):
    path, ids = embedding
    np.save(tmp_path / "ids.npy", ids)
    out = tmp_path / "y.npy"
    assert (
        cli_main(["run", str(path), "--input", f"ids={tmp_path / 'ids.npy'}", "-o", str(out)]) == 0
    )
    assert "y: shape (2, 3, 8) float32" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(out), reference(path, ids))


def test_cli_run_with_an_empty_npy_file_is_a_clear_error(embedding, tmp_path, capsys):
    path, _ = embedding
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    assert cli_main(["run", str(path), "--input", str(empty)]) == 1
    err = capsys.readouterr().err
    assert "not a .npy array" in err and "Traceback" not in err
