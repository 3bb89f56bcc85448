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


# A model in the plugin's custom ONNX domain: Gemm -> com.example.Swish -> Relu, imported
# through the plugin's converter, lowered through act.swish's own rule to native code.
SWISH_MODEL = r"""
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import irforge

rng = np.random.default_rng(0)
w = rng.standard_normal((8, 16)).astype(np.float32)
nodes = [
    helper.make_node("Gemm", ["x", "w"], ["h"]),
    helper.make_node("Swish", ["h"], ["s"], domain="com.example", beta=1.5),
    helper.make_node("Relu", ["s"], ["y"]),
]
graph = helper.make_graph(
    nodes, "swish",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
    [numpy_helper.from_array(w, "w")],
)
opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
model = helper.make_model(graph, opset_imports=opsets)
model.ir_version = 10

module = irforge.import_model(model)
text = str(module)
assert '"act.swish"' in text or "act.swish" in text, text

x = rng.standard_normal((4, 8)).astype(np.float32) * 4
x[0, :4] = [-1e4, 1e4, 0.0, -0.0]
h = x @ w
with np.errstate(over="ignore"):
    ref = np.maximum(h / (1 + np.exp(-1.5 * h)), 0).astype(np.float32)
compiled = irforge.compile(model, num_threads=1)
y = compiled(x)
np.testing.assert_allclose(y, ref, rtol=2e-6, atol=1e-6)
print("swish ok", float(np.abs(y - ref).max()))
"""


def test_custom_domain_op_imports_lowers_and_runs(env):
    out = run(env, sys.executable, "-c", SWISH_MODEL)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "swish ok" in out.stdout


def test_custom_domain_op_without_the_plugin_is_a_clear_error():
    # The same model in this process, where the plugin is not installed: the importer
    # names the operator and its domain, and says what is missing.
    import onnx  # noqa: F401
    from onnx import TensorProto, helper

    from irforge.frontends.onnx import ONNXImportError, import_onnx

    graph = helper.make_graph(
        [helper.make_node("Swish", ["x"], ["y"], domain="com.example")],
        "swish",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10
    with pytest.raises(ONNXImportError, match=r"com\.example\.Swish.*register_converter"):
        import_onnx(model)
