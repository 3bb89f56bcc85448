"""The command-line tools: exit codes, messages on bad input, files never clobbered."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from irforge.cli import main as irforge_main
from irforge.examples.digits import load_test_split, model_path
from irforge.opt import main as opt_main

GRAPH = """\
"func.func"() <{sym_name = "main", function_type = (tensor<2x3xf32>) -> tensor<2x3xf32>}> ({
^bb0(%x: tensor<2x3xf32>):
  %0 = "graph.relu"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"(%0) : (tensor<2x3xf32>) -> ()
}) : () -> ()
"""


def test_opt_lowers_one_pass_at_a_time(tmp_path: Path, capsys):
    src = tmp_path / "g.mlir"
    src.write_text(GRAPH)
    current = src
    for i, p in enumerate(
        ["convert-graph-to-tensor", "convert-tensor-to-loop", "convert-loop-to-llvm"]
    ):
        out = tmp_path / f"step{i}.mlir"
        assert opt_main([str(current), "-p", p, "-o", str(out)]) == 0
        current = out
    text = current.read_text()
    assert '"llvm.func"' in text and "graph." not in text and "loop." not in text


def test_opt_parse_error_has_position_and_caret(tmp_path: Path, capsys):
    bad = tmp_path / "bad.mlir"
    bad.write_text(GRAPH.replace('"graph.relu"(%x)', '"graph.relu"(%y)'))
    out = tmp_path / "out.mlir"
    out.write_text("precious")
    assert opt_main([str(bad), "-p", "convert-graph-to-tensor", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "error:" in err and "^" in err
    assert "Traceback" not in err
    assert out.read_text() == "precious"


def test_opt_verify_error_points_at_op(tmp_path: Path, capsys):
    bad = tmp_path / "bad.mlir"
    bad.write_text(
        '"func.func"() <{sym_name = "main", '
        "function_type = (tensor<2x3xf32>) -> tensor<2x4xf32>}> ({\n"
        "^bb0(%x: tensor<2x3xf32>):\n"
        '  %0 = "graph.relu"(%x) : (tensor<2x3xf32>) -> tensor<2x4xf32>\n'
        '  "func.return"(%0) : (tensor<2x4xf32>) -> ()\n'
        "}) : () -> ()\n"
    )
    assert opt_main([str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "graph.relu" in err


def test_opt_unknown_pass(tmp_path: Path, capsys):
    src = tmp_path / "g.mlir"
    src.write_text(GRAPH)
    assert opt_main([str(src), "-p", "no-such-pass"]) == 1
    assert "unknown pass 'no-such-pass'" in capsys.readouterr().err


def test_opt_reads_stdin_and_runs_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "irforge.opt", "-", "-p", "convert-graph-to-tensor"],
        input=GRAPH,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"tensor.generic"' in proc.stdout


def test_opt_list_passes(capsys):
    assert opt_main(["--list-passes"]) == 0
    out = capsys.readouterr().out
    for name in ("canonicalize", "convert-graph-to-tensor", "convert-loop-to-llvm"):
        assert name in out


def _unsupported_model(path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.INT64, [1, 1])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu0"),
        helper.make_node("Softsign", ["r"], ["s"], name="softsign0"),
        helper.make_node("ArgMax", ["s"], ["y"], name="argmax0", axis=1),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]
    )
    onnx.save(model, path)


def test_compile_unsupported_ops_lists_every_node(tmp_path: Path, capsys):
    path = tmp_path / "m.onnx"
    _unsupported_model(path)
    assert irforge_main(["compile", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Softsign (node 'softsign0')" in err and "ArgMax (node 'argmax0')" in err
    assert "Traceback" not in err


def test_import_and_compile_digits(tmp_path: Path, capsys):
    out = tmp_path / "digits.mlir"
    assert (
        irforge_main(["import", str(model_path()), "--input-shape", "input=1x64", "-o", str(out)])
        == 0
    )
    assert '"graph.gemm"' in out.read_text()
    ll = tmp_path / "digits.ll"
    assert irforge_main(["compile", str(out), "--emit", "llvm", "-o", str(ll)]) == 0
    assert "define" in ll.read_text()


def test_run_with_npy_input(tmp_path: Path, capsys):
    x = load_test_split()[0][:3]
    np.save(tmp_path / "x.npy", x)
    res = tmp_path / "y.npy"
    code = irforge_main(
        ["run", str(model_path()), "--input", str(tmp_path / "x.npy"), "-o", str(res)]
    )
    assert code == 0
    y = np.load(res)
    assert y.shape == (3, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_bad_input_shape_flag(capsys):
    assert irforge_main(["import", str(model_path()), "--input-shape", "input=1xq"]) == 1
    assert "input=1x64" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"\xff\xfe not utf8", b"not a protobuf at all"])
def test_malformed_files_give_one_line_errors(tmp_path: Path, capsys, content):
    p = tmp_path / "bad.onnx"
    p.write_bytes(content)
    assert irforge_main(["compile", str(p)]) == 1
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_compile_timing_table_has_every_phase(tmp_path: Path, capsys):
    out = tmp_path / "d.ll"
    args = ["compile", str(model_path()), "--input-shape", "input=1x64", "--timing"]
    assert irforge_main([*args, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    for row in ("Import", "canonicalize", "convert-graph-to-tensor", "convert-tensor-to-loop"):
        assert row in err
    assert "convert-loop-to-llvm" in err and "LLVM (translate, O3)" in err and "Total" in err


# -- --target wasm ---------------------------------------------------------------------------


def test_compile_wasm_writes_artifacts_and_run_matches_native(tmp_path: Path, capsys):
    pytest.importorskip("wasmtime")
    from irforge.backends.wasm.artifacts import read_manifest

    out = tmp_path / "web"
    args = ["compile", str(model_path()), "--input-shape", "input=1x64", "--target", "wasm"]
    assert irforge_main([*args, "-o", str(out)]) == 0
    stdout = capsys.readouterr().out
    for name in ("model.wasm", "model.js", "manifest.json"):
        size = (out / name).stat().st_size
        assert f"wrote {out / name} ({size} bytes)" in stdout
    assert (out / "model.wasm").read_bytes()[:4] == b"\0asm"
    manifest = read_manifest(out / "manifest.json")
    assert manifest["inputs"] == [{"name": "input", "shape": [1, 64], "dtype": "float32"}]
    assert manifest["outputs"] == [{"name": "probabilities", "shape": [1, 10], "dtype": "float32"}]

    x = load_test_split()[0][:1]
    np.save(tmp_path / "x.npy", x)
    results = {}
    for target in ("wasm", "native"):
        res = tmp_path / f"{target}.npy"
        run = ["run", str(model_path()), "--input", str(tmp_path / "x.npy"), "-o", str(res)]
        assert irforge_main([*run, "--target", target]) == 0
        results[target] = np.load(res)
    assert results["wasm"].shape == (1, 10)
    np.testing.assert_allclose(results["wasm"], results["native"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--target wasm writes model.wasm, model.js and manifest.json into a directory"),
        (["-o", "{tmp}/model.wasm"], "names a file"),
        (["-o", "{tmp}/file.txt"], "exists and is not a directory"),
        (["-o", "{tmp}/out", "--emit", "llvm"], "--emit applies to --target native"),
        (["-o", "{tmp}/out", "--cpu", "generic"], "--cpu applies to --target native only"),
        (["-o", "{tmp}/out", "--num-threads", "2"], "WebAssembly modules run on one thread"),
    ],
)
def test_compile_wasm_bad_flags(tmp_path: Path, capsys, extra, message):
    (tmp_path / "file.txt").write_text("precious")
    args = ["compile", str(model_path()), "--input-shape", "input=1x64", "--target", "wasm"]
    assert irforge_main([*args, *[e.format(tmp=tmp_path) for e in extra]]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert (tmp_path / "file.txt").read_text() == "precious"
    assert not (tmp_path / "out").exists()


def test_run_native_with_cpu_flag(tmp_path: Path, capsys):
    x = load_test_split()[0][:2]
    np.save(tmp_path / "x.npy", x)
    outs = []
    for cpu in ([], ["--cpu", "x86-64"]):
        res = tmp_path / f"y{len(cpu)}.npy"
        run = ["run", str(model_path()), "--input", str(tmp_path / "x.npy"), "-o", str(res)]
        assert irforge_main([*run, *cpu]) == 0
        outs.append(np.load(res))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-4, atol=1e-6)


def test_demo_web_flag_builds_the_page(tmp_path: Path, monkeypatch, capsys):
    import irforge.examples.web as web

    calls = []

    def fake_build(out):
        calls.append(out)
        path = Path(out) / "index.html"
        path.parent.mkdir(parents=True)
        path.write_text("<!doctype html>")
        return {"index.html": path}

    monkeypatch.setattr(web, "build_demo", fake_build)
    assert irforge_main(["demo", "--web", "--out", str(tmp_path / "d")]) == 0
    assert calls == [str(tmp_path / "d")]
    assert f"wrote {tmp_path / 'd' / 'index.html'} (15 bytes)" in capsys.readouterr().out
    assert irforge_main(["demo", "--web", "--serve", "70000"]) == 1
    assert "port 70000 is not in 0-65535" in capsys.readouterr().err
