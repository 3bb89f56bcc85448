"""The example plugin (irforge/examples/plugin), installed with pip into a temporary
folder, is found through its entry point: its dialect parses, prints and verifies in
irforge-opt, its pass is listed and runs in a pipeline down to native code."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PLUGIN = Path(__file__).parent.parent / "irforge" / "examples" / "plugin"
BIN = Path(sys.executable).parent

LEAKY = """\
"func.func"() <{sym_name = "main", function_type = (tensor<2x3xf32>) -> tensor<2x3xf32>}> ({
^bb0(%x: tensor<2x3xf32>):
  %y = "act.leaky_relu"(%x) <{alpha = 1.000000e-01 : f32}> : (tensor<2x3xf32>) -> tensor<2x3xf32>
  "func.return"(%y) : (tensor<2x3xf32>) -> ()
}) : () -> ()
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    target = tmp_path_factory.mktemp("plugin-site")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    path = os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")


def run(env, *args, stdin=None):
    return subprocess.run(
        list(args), env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_pass_is_listed(env):
    out = run(env, "irforge-opt", "--list-passes")
    assert out.returncode == 0, out.stderr
    assert "convert-act-to-graph" in out.stdout


def test_dialect_round_trips_and_verifies(env):
    out = run(env, "irforge-opt", "-", stdin=LEAKY)
    assert out.returncode == 0, out.stderr
    again = run(env, "irforge-opt", "-", stdin=out.stdout)
    assert again.stdout == out.stdout
    assert '"act.leaky_relu"(%x) <{alpha = 1.000000e-01 : f32}>' in out.stdout


def test_dialect_verifier_runs(env):
    bad = LEAKY.replace("alpha = 1.000000e-01 : f32", "alpha = 0x7F800000 : f32")
    out = run(env, "irforge-opt", "-", stdin=bad)
    assert out.returncode == 1
    assert "<stdin>:3:" in out.stderr and "'act.leaky_relu' op alpha must be finite" in out.stderr


def test_pass_lowers_to_native_code(env, tmp_path):
    src = tmp_path / "leaky.mlir"
    src.write_text(LEAKY)
    # +Inf: the lowering once computed relu(x) + alpha * (x - relu(x)), NaN there
    x = np.array([[-2.0, -np.inf, 0.0], [0.5, np.inf, 3.0]], np.float32)
    np.save(tmp_path / "x.npy", x)
    pipeline = (
        "convert-act-to-graph,canonicalize,convert-graph-to-tensor,"
        "convert-tensor-to-loop,convert-loop-to-llvm"
    )
    out = run(
        env,
        "irforge",
        "run",
        str(src),
        "--input",
        str(tmp_path / "x.npy"),
        "-p",
        pipeline,
        "-o",
        str(tmp_path / "y.npy"),
    )
    assert out.returncode == 0, out.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), np.where(x >= 0, x, 0.1 * x), rtol=1e-6)


def test_fuzz_checks_the_plugin_patterns(env):
    out = run(env, "irforge", "fuzz", "--examples", "10", "--seed", "0")
    assert out.returncode == 0, out.stderr
    for name in ("leaky_relu_unit_alpha", "leaky_relu_of_relu"):
        assert f"ok: pattern act/{name} (10 rewritten instances checked)" in out.stdout
