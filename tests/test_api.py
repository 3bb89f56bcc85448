"""The Python API and the plugin mechanism: parse, run_pipeline, print_ir, passes that
break the IR are named, plugins add passes."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from xdsl.passes import ModulePass

import irforge
from irforge.opt import main as opt_main
from irforge.passes.infra.manager import PassFailure, PipelineError
from irforge.passes.infra.registry import available_passes, register_pass
from irforge.textual_ir import Diagnostic

SRC = """\
"func.func"() <{sym_name = "main", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%x: tensor<4xf32>):
  %0 = "graph.relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%0) : (tensor<4xf32>) -> ()
}) : () -> ()
"""


def test_parse_print_round_trip_and_pipeline():
    module = irforge.parse(SRC)
    text = irforge.print_ir(module)
    assert irforge.print_ir(irforge.parse(text)) == text
    irforge.run_pipeline(module, "convert-graph-to-tensor,convert-tensor-to-loop")
    assert '"loop.for"' in irforge.print_ir(module)


def test_parse_error_is_a_diagnostic_with_position():
    with pytest.raises(Diagnostic) as err:
        irforge.parse(SRC.replace("(%x)", "(%nope)"), filename="m.mlir")
    assert (err.value.filename, err.value.line) == ("m.mlir", 3)
    assert err.value.format().startswith("m.mlir:3:")


def test_unknown_pass_and_bad_option():
    module = irforge.parse(SRC)
    with pytest.raises(PipelineError, match="unknown pass 'frobnicate'"):
        irforge.run_pipeline(module, "frobnicate")
    with pytest.raises(PipelineError, match="convert-loop-to-llvm"):
        irforge.run_pipeline(module, "convert-loop-to-llvm{no_such_option=1}")


@dataclass(frozen=True)
class BreakTypesPass(ModulePass):
    """Test pass: changes a result type so that the IR no longer verifies."""

    name = "test-break-types"

    def apply(self, ctx, op):
        from xdsl.dialects.builtin import Float32Type, TensorType

        for o in op.walk():
            if o.name == "graph.relu":
                o.results[0]._type = TensorType(Float32Type(), [5])


def test_verify_each_names_the_pass_that_broke_the_ir():
    if "test-break-types" not in available_passes():
        register_pass("test-break-types", BreakTypesPass)
    module = irforge.parse(SRC)
    with pytest.raises(PassFailure, match="pass 'test-break-types' produced IR that does not"):
        irforge.run_pipeline(module, "test-break-types")


@dataclass(frozen=True)
class BreakLoadsPass(ModulePass):
    """Test pass: every `llvm.load` gets a string for its alignment."""

    name = "test-break-loads"

    def apply(self, ctx, op):
        from xdsl.dialects.builtin import StringAttr

        for o in op.walk():
            if o.name == "llvm.load":
                o.properties["alignment"] = StringAttr("four")


def test_compile_verifies_the_result_when_the_backend_fails():
    # Without verify_each the lowered IR is not verified unless the backend rejects it:
    # then the error says the pipeline broke the IR, not what LLVM made of it.
    if "test-break-loads" not in available_passes():
        register_pass("test-break-loads", BreakLoadsPass)
    from irforge.passes.infra.registry import DEFAULT_PIPELINE

    pipeline = DEFAULT_PIPELINE + ",test-break-loads"
    with pytest.raises(PassFailure, match="'pipeline' produced IR that does not verify"):
        irforge.compile(irforge.parse(SRC), pipeline=pipeline, verify_each=False)
    with pytest.raises(PassFailure, match="'test-break-loads' produced IR that does not"):
        irforge.compile(irforge.parse(SRC), pipeline=pipeline, verify_each=True)
    assert irforge.compile(irforge.parse(SRC), verify_each=False).inputs[0].shape == (4,)


def test_register_pass_twice_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        register_pass("canonicalize", BreakTypesPass)


PLUGIN = '''
from dataclasses import dataclass
from xdsl.passes import ModulePass
from irforge.passes.infra.registry import available_passes, register_pass

@dataclass(frozen=True)
class CountOps(ModulePass):
    """Print the number of ops."""
    name = "test-count-ops"
    def apply(self, ctx, module):
        print("ops:", sum(1 for _ in module.walk()))

def register():
    if "test-count-ops" not in available_passes():
        register_pass("test-count-ops", CountOps)
'''


def test_load_plugin_file_adds_a_pass(tmp_path: Path, capsys):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    src = tmp_path / "m.mlir"
    src.write_text(SRC)
    assert opt_main([str(src), "--load-plugin", str(plugin), "-p", "test-count-ops"]) == 0
    assert "ops: 4" in capsys.readouterr().out  # module, func, relu, return


def test_missing_plugin_file_is_a_clean_error(tmp_path: Path, capsys):
    src = tmp_path / "m.mlir"
    src.write_text(SRC)
    assert opt_main([str(src), "--load-plugin", str(tmp_path / "nope.py")]) == 1
    assert "nope.py" in capsys.readouterr().err


def test_import_irforge_is_lazy():
    import subprocess
    import sys

    code = (
        "import sys, irforge; "
        "print(any(m.startswith(('llvmlite', 'onnx', 'lark')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
