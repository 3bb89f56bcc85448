"""The pass manager: pipeline syntax with nesting, typed options and their errors, anchored
passes, instrumentation (print-ir-*, timing, statistics), crash reproducers, and the
irforge-opt flags that expose them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

import irforge
from irforge.dialects import make_dialect_context
from irforge.opt import main as opt_main
from irforge.passes.infra.instrumentation import PassStatistics, PassTiming, PrintIR
from irforge.passes.infra.manager import OperationPass, PassFailure, PassManager, PipelineError
from irforge.passes.infra.pipeline import OpPassManager, parse_pipeline
from irforge.passes.infra.registry import available_passes, register_pass
from irforge.passes.infra.reproducer import attach_reproducer, read_reproducer
from irforge.passes.infra.statistics import bump

SRC = """\
"func.func"() <{sym_name = "f", function_type = (f32, f32) -> f32}> ({
^bb0(%x: f32, %y: f32):
  %a = "arith.addf"(%x, %y) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %b = "arith.addf"(%x, %y) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  %c = "arith.mulf"(%a, %b) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
  "func.return"(%c) : (f32) -> ()
}) : () -> ()
"func.func"() <{sym_name = "g", function_type = (f32) -> f32}> ({
^bb0(%x: f32):
  "func.return"(%x) : (f32) -> ()
}) : () -> ()
"""

# ------------------------------------------------------------------ test-only passes

SEEN: list[str] = []


@dataclass(frozen=True)
class RecordOps(OperationPass):
    """Test pass: records the op it runs on (name and symbol)."""

    name = "test-record-ops"
    anchor: ClassVar[str | None] = "func.func"

    def apply_op(self, ctx, op):
        SEEN.append(f"{op.name} @{op.properties['sym_name'].data}")


@dataclass(frozen=True)
class RecordModule(ModulePass):
    """Test pass: records what a plain ModulePass is given."""

    name = "test-record-module"

    def apply(self, ctx, op):
        SEEN.append(f"{type(op).__name__}[{','.join(o.name for o in op.body.block.ops)}]")


@dataclass(frozen=True)
class Options(ModulePass):
    """Test pass: options of every supported type."""

    name = "test-options"
    factor: int = 4
    scale: float = 1.5
    enable: bool = False
    label: str = "x"
    sizes: tuple[int, ...] = ()
    limit: int | None = None
    mode: Literal["fast", "slow"] = "fast"

    def apply(self, ctx, op):
        SEEN.append(repr(self))


@dataclass(frozen=True)
class Required(ModulePass):
    """Test pass: an option without default."""

    name = "test-required"
    count: int

    def apply(self, ctx, op):
        pass


@dataclass(frozen=True)
class Boom(OperationPass):
    """Test pass: raises on the function named `target`."""

    name = "test-boom"
    target: str = "g"

    def apply_op(self, ctx, op):
        for o in op.walk():
            if "sym_name" in o.properties and o.properties["sym_name"].data == self.target:
                o.attributes["touched"] = o.properties["sym_name"]  # visible in failure dumps
                raise RuntimeError("boom")


@dataclass(frozen=True)
class Counting(OperationPass):
    """Test pass: bumps statistics counters."""

    name = "test-counting"

    def apply_op(self, ctx, op):
        bump("ops-seen", sum(1 for _ in op.walk()))
        bump("visits")


@dataclass(frozen=True)
class Nothing(ModulePass):
    """Test pass: changes nothing."""

    name = "test-nothing"

    def apply(self, ctx, op):
        pass


@dataclass(frozen=True)
class EraseSelf(OperationPass):
    """Test pass: erases the op it runs on (not allowed)."""

    name = "test-erase-self"

    def apply_op(self, ctx, op):
        op.detach()


@dataclass(frozen=True)
class Break(OperationPass):
    """Test pass: gives arith.addf an i32 result, so that the IR no longer verifies."""

    name = "test-break"

    def apply_op(self, ctx, op):
        from xdsl.dialects.builtin import i32

        for o in op.walk():
            if o.name == "arith.addf":
                o.results[0]._type = i32


@dataclass(frozen=True)
class SecondTimeFails(ModulePass):
    """Test pass: succeeds on its first run, raises on every later one."""

    name = "test-second-time-fails"
    runs: ClassVar[list[int]] = []

    def apply(self, ctx, op):
        self.runs.append(1)
        if len(self.runs) > 1:
            raise RuntimeError("not again")


TEST_PASSES = [
    SecondTimeFails,
    Break,
    RecordOps,
    RecordModule,
    Options,
    Required,
    Boom,
    Counting,
    Nothing,
    EraseSelf,
]


@pytest.fixture(autouse=True)
def _registered():
    known = available_passes()
    for cls in TEST_PASSES:
        if cls.name not in known:
            register_pass(cls.name, cls)
    SEEN.clear()
    yield


def _module() -> ModuleOp:
    return irforge.parse(SRC)


def _run(pipeline: str, **kw) -> ModuleOp:
    module = _module()
    PassManager.from_pipeline(pipeline, **kw).run(make_dialect_context(), module)
    return module


@pytest.fixture
def src(tmp_path: Path) -> Path:
    p = tmp_path / "m.mlir"
    p.write_text(SRC)
    return p


# ------------------------------------------------------------------ pipeline syntax


@pytest.mark.parametrize(
    "text, printed",
    [
        ("cse", "builtin.module(cse)"),
        ("cse,dce", "builtin.module(cse,dce)"),
        ("builtin.module(cse, func.func(dce))", "builtin.module(cse,func.func(dce))"),
        ("func.func(cse)", "builtin.module(func.func(cse))"),
        (" builtin.module( func.func( cse , dce ) ) ", "builtin.module(func.func(cse,dce))"),
        ("", "builtin.module()"),
        ("builtin.module()", "builtin.module()"),
        ("test-options{factor=8}", "builtin.module(test-options{factor=8})"),
        ("builtin.module(builtin.module(cse))", "builtin.module(builtin.module(cse))"),
    ],
)
def test_pipeline_parses_and_prints_back(text, printed):
    pm = parse_pipeline(text)
    assert str(pm) == printed
    assert str(parse_pipeline(str(pm))) == printed


def test_pipeline_tree_is_anchored_on_op_names():
    pm = parse_pipeline("builtin.module(cse, func.func(dce, test-options{factor=4}))")
    assert pm.anchor == "builtin.module"
    assert [type(e).__name__ for e in pm.entries] == ["CSEPass", "OpPassManager"]
    nested = pm.entries[1]
    assert isinstance(nested, OpPassManager) and nested.anchor == "func.func"
    assert [p.name for p in nested.passes()] == ["dce", "test-options"]
    assert nested.entries[1].factor == 4


def test_typed_options():
    p = parse_pipeline(
        'test-options{factor=-3 scale=2 enable label="a b" sizes=1,2,3 limit=7 mode=slow}'
    ).entries[0]
    assert (p.factor, p.scale, p.enable, p.label, p.sizes, p.limit, p.mode) == (
        -3,
        2.0,
        True,
        "a b",
        (1, 2, 3),
        7,
        "slow",
    )
    assert isinstance(p.scale, float)
    # Dashes and underscores name the same field; a key alone sets an optional to None.
    q = parse_pipeline("test-options{enable=false limit sizes=4}").entries[0]
    assert (q.enable, q.limit, q.sizes) == (False, None, (4,))


def test_options_round_trip_through_printing():
    text = 'builtin.module(test-options{scale=0.25 label="a \\"q\\"" sizes=1,2 mode=slow})'
    p = parse_pipeline(text).entries[0]
    again = parse_pipeline(str(parse_pipeline(text))).entries[0]
    assert p == again and again.label == 'a "q"'


@pytest.mark.parametrize(
    "text, message",
    [
        ("frobnicate", r"unknown pass 'frobnicate'; available passes: .*\bcse\b"),
        ("csee", r"unknown pass 'csee' \(did you mean 'cse'\?\)"),
        (
            "test-options{nope=1}",
            r"pass 'test-options' has no option 'nope'; its options: factor: int = 4; "
            r"scale: float = 1.5; enable: bool = false; label: str = x; "
            r"sizes: tuple\[int, \.\.\.\] = \(empty\); limit: int \| None = None; "
            r"mode: 'fast' \| 'slow' = fast",
        ),
        (
            "test-options{factor=abc}",
            r"bad value for option 'factor' of pass 'test-options': expected int, got 'abc'",
        ),
        ("test-options{factor=1.5}", r"expected int, got '1.5'"),
        ("test-options{enable=maybe}", r"expected bool, got 'maybe'"),
        ("test-options{sizes=1,x}", r"expected tuple\[int, \.\.\.\], got '1,x'"),
        ("test-options{mode=medium}", r"expected 'fast' \| 'slow', got 'medium'"),
        ("test-options{factor}", r"expected int, got 'no value'"),
        ("test-options{factor=1 factor=2}", r"option 'factor' given twice"),
        ("test-required", r"pass 'test-required' requires option 'count' \(int\)"),
        ("cse,", r"expected a pass name or an op name, found the end"),
        ("func.func(cse", r"expected '\)', found the end"),
        ("cse)", r"unbalanced '\)'"),
        ("cse{", r"expected an option name or '\}', found the end"),
        ("module(cse)", r"'module' is not an op name"),
        ("test-record-ops", r"runs on 'func.func' ops, not on 'builtin.module'"),
    ],
)
def test_pipeline_errors(text, message):
    with pytest.raises(PipelineError, match=message):
        PassManager.from_pipeline(text)


def test_syntax_errors_show_a_caret():
    with pytest.raises(PipelineError) as err:
        parse_pipeline("builtin.module(cse dce)")
    lines = str(err.value).split("\n")
    assert lines[1] == "  builtin.module(cse dce)"
    assert lines[2] == "  " + " " * len("builtin.module(cse ") + "^"


# ------------------------------------------------------------------ running nested passes


def test_anchored_pass_runs_only_on_func_ops():
    _run("builtin.module(func.func(test-record-ops))")
    assert SEEN == ["func.func @f", "func.func @g"]


def test_nested_pipeline_runs_all_its_passes_on_one_op_before_the_next():
    _run("func.func(test-record-ops,test-record-module)")
    assert SEEN == [
        "func.func @f",
        "ModuleOp[func.func]",
        "func.func @g",
        "ModuleOp[func.func]",
    ]


def test_module_pass_nested_gets_a_module_holding_only_its_op_and_ir_is_put_back():
    module = _run("func.func(test-record-module,cse)")
    assert SEEN == ["ModuleOp[func.func]", "ModuleOp[func.func]"]
    text = irforge.print_ir(module)
    assert text.index('sym_name = "f"') < text.index('sym_name = "g"')  # order kept
    assert text.count('"arith.addf"') == 1  # cse ran inside f


def test_module_pass_at_the_root_gets_the_module():
    _run("test-record-module")
    assert SEEN == ["ModuleOp[func.func,func.func]"]


def test_nested_anchor_without_matching_ops_does_nothing():
    _run("builtin.module(builtin.module(test-record-module))")
    assert SEEN == []


def test_cse_and_dce_registered():
    names = available_passes()
    assert "cse" in names and "dce" in names
    module = _run("func.func(cse,dce)")
    assert irforge.print_ir(module).count('"arith.addf"') == 1


def test_a_pass_may_not_erase_its_op():
    with pytest.raises(PassFailure, match="erased or replaced the 'func.func' op @f"):
        _run("func.func(test-erase-self)")


def test_failure_names_pass_and_op():
    with pytest.raises(PassFailure, match=r"pass 'test-boom' failed on 'func.func' op @g: "):
        _run("func.func(test-boom)")


def test_run_pipeline_api_accepts_nesting():
    module = irforge.run_pipeline(_module(), "builtin.module(func.func(cse))")
    assert irforge.print_ir(module).count('"arith.addf"') == 1


# ------------------------------------------------------------------ instrumentation (API)


def test_statistics_are_summed_per_pass_over_anchored_ops():
    stats = PassStatistics()
    pm = PassManager.from_pipeline("func.func(test-counting),cse", instrumentations=[stats])
    pm.run(make_dialect_context(), _module())
    counting, cse = pm.passes
    assert stats.statistics(counting) == {"ops-seen": 5 + 2, "visits": 2}
    assert stats.statistics(cse) == {"ops-erased": 1}
    report = stats.report()
    assert "'func.func' Pipeline\n  test-counting\n    (S) 7 ops-seen\n    (S) 2 visits\n" in report
    assert "cse\n  (S) 1 ops-erased\n" in report


def test_timing_rows_follow_the_pipeline():
    timing = PassTiming()
    pm = PassManager.from_pipeline("cse,func.func(dce,test-nothing)", instrumentations=[timing])
    with timing.phase("Parser"):
        module = _module()
    pm.run(make_dialect_context(), module)
    names = re.findall(r"^\s+\d+\.\d{4} \(\s*\d+\.\d%\)  (.*)$", timing.report(), re.M)
    assert names == [
        "Parser",
        "cse",
        "Verifier",  # rows of a level in the order they were first timed
        "'func.func' Pipeline",
        "  dce",
        "  test-nothing",
        "  Verifier",  # in a nested pipeline, after its passes
        "Rest",
        "Total",
    ]


def test_print_ir_instrumentation_to_a_stream():
    import io

    out = io.StringIO()
    pm = PassManager.from_pipeline(
        "func.func(cse)", instrumentations=[PrintIR(before=["cse"], stream=out)]
    )
    pm.run(make_dialect_context(), _module())
    assert out.getvalue().count("// -----// IR Dump Before cse (cse) //----- //\n") == 2


# ------------------------------------------------------------------ irforge-opt flags


def test_list_passes_shows_summary_and_typed_options(capsys):
    assert opt_main(["--list-passes"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  cse +Eliminate common subexpressions\.", out, re.M)
    assert re.search(r"^  test-options +Test pass: options of every supported type\.$", out, re.M)
    assert "      factor: int = 4\n" in out
    assert "      limit: int | None = None\n" in out
    assert "      sizes: tuple[int, ...] = (empty)\n" in out
    assert "      count: int (required)\n" in out
    assert re.search(r"^  test-record-ops .*\(runs on func\.func\)$", out, re.M)


def test_opt_option_errors_are_one_message(src, capsys):
    assert opt_main([str(src), "-p", "test-options{factor=abc}"]) == 1
    err = capsys.readouterr().err
    assert "expected int, got 'abc'" in err and "Traceback" not in err


def test_print_ir_after_all_headers(src, capsys):
    assert opt_main([str(src), "-p", "cse,func.func(dce)", "--print-ir-after-all"]) == 0
    err = capsys.readouterr().err
    headers = re.findall(r"^// -----// IR Dump .*$", err, re.M)
    assert headers == [
        "// -----// IR Dump After cse (cse) //----- //",
        "// -----// IR Dump After dce (dce) //----- //",
        "// -----// IR Dump After dce (dce) //----- //",
    ]
    # A nested pass prints the op it ran on, not the module.
    after_dce = err.split("IR Dump After dce (dce) //----- //\n")[1]
    assert after_dce.startswith('"func.func"()')


def test_print_ir_before_and_after_selected_passes(src, capsys):
    argv = [str(src), "-p", "cse,dce,test-nothing", "--print-ir-before=dce,test-nothing"]
    assert opt_main(argv + ["--print-ir-after", "cse"]) == 0
    headers = re.findall(r"^// -----// IR Dump .*$", capsys.readouterr().err, re.M)
    assert headers == [
        "// -----// IR Dump After cse (cse) //----- //",
        "// -----// IR Dump Before dce (dce) //----- //",
        "// -----// IR Dump Before test-nothing (test-nothing) //----- //",
    ]


def test_print_ir_flags_reject_unknown_pass(src, capsys):
    assert opt_main([str(src), "-p", "cse", "--print-ir-after=nope"]) == 1
    assert "unknown pass 'nope' in --print-ir-after" in capsys.readouterr().err


def test_print_ir_after_change_prints_only_changes(src, capsys):
    argv = [str(src), "-p", "test-nothing,func.func(cse),dce", "--print-ir-after-change"]
    assert opt_main(argv) == 0
    headers = re.findall(r"^// -----// IR Dump .*$", capsys.readouterr().err, re.M)
    # cse changed @f only; test-nothing and dce changed nothing.
    assert headers == ["// -----// IR Dump After cse (cse) //----- //"]


def test_print_ir_module_scope_names_the_op(src, capsys):
    argv = [str(src), "-p", "func.func(cse)", "--print-ir-after-all", "--print-ir-module-scope"]
    assert opt_main(argv) == 0
    err = capsys.readouterr().err
    assert "// -----// IR Dump After cse (cse) ('func.func' operation: @g) //----- //\n" in err
    assert err.count('"builtin.module"()') == 2


def test_print_ir_after_failure_shows_ir_as_left(src, capsys, tmp_path):
    argv = [str(src), "-p", "func.func(test-boom)", "--print-ir-after-failure"]
    assert opt_main(argv + ["--no-crash-reproducer"]) == 1
    err = capsys.readouterr().err
    dump = err.split("// -----// IR Dump After test-boom Failed (test-boom) //----- //\n")[1]
    assert dump.startswith('"func.func"()') and "touched" in dump.split("error:")[0]
    assert "m.mlir:8:1: error: pass 'test-boom' failed on 'func.func' op @g" in err


def test_timing_table(src, capsys, tmp_path):
    out = tmp_path / "out.mlir"
    assert opt_main([str(src), "-p", "cse,func.func(dce)", "--timing", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "... Execution time report ..." in err
    assert re.search(r"Total Execution Time: \d+\.\d{4} seconds", err)
    assert "  ----Wall Time----  ----Name----\n" in err
    names = re.findall(r"^\s+\d+\.\d{4} \(\s*\d+\.\d%\)  (.*)$", err, re.M)
    assert names == [
        "Parser",
        "Verifier",
        "cse",
        "'func.func' Pipeline",
        "  dce",
        "  Verifier",
        "Output",
        "Rest",
        "Total",
    ]
    assert re.search(r"^\s+\d+\.\d{4} \(100\.0%\)  Total$", err, re.M)


def test_pass_statistics_flag(src, capsys):
    assert opt_main([str(src), "-p", "func.func(cse,test-counting)", "--pass-statistics"]) == 0
    err = capsys.readouterr().err
    assert "... Pass statistics report ..." in err
    assert (
        "'func.func' Pipeline\n  cse\n    (S) 1 ops-erased\n  test-counting\n"
        "    (S) 6 ops-seen\n    (S) 2 visits\n"
    ) in err


def test_verify_each_names_the_pass_and_can_be_turned_off(src, capsys):
    assert opt_main([str(src), "-p", "cse,func.func(test-break)"]) == 1
    err = capsys.readouterr().err
    assert "after pass 'test-break'" in err and "arith.addf" in err
    assert opt_main([str(src), "-p", "cse,func.func(test-break)", "--verify-each"]) == 1
    capsys.readouterr()
    assert opt_main([str(src), "-p", "func.func(test-break)", "--no-verify-each"]) == 0
    assert "-> i32" in capsys.readouterr().out


def test_verify_only_the_result(src, monkeypatch):
    """verify_each=False (irforge.compile's default unless IRFORGE_VERIFY_EACH=1): the
    broken IR is still caught, once, after the last pass, with how to find the pass."""
    from irforge.api import parse
    from irforge.passes.infra.manager import default_verify_each, run_pass_pipeline

    module = parse(src.read_text())
    with pytest.raises(PassFailure) as e:
        run_pass_pipeline(module, "cse,func.func(test-break),dce", verify_each=False)
    assert e.value.pass_name == "pipeline"
    assert "does not verify" in str(e.value) and "IRFORGE_VERIFY_EACH=1" in str(e.value)
    with pytest.raises(PassFailure) as e:
        run_pass_pipeline(parse(src.read_text()), "cse,func.func(test-break),dce")
    assert e.value.pass_name == "test-break"
    monkeypatch.setenv("IRFORGE_VERIFY_EACH", "0")
    assert default_verify_each() is False
    monkeypatch.setenv("IRFORGE_VERIFY_EACH", "1")
    assert default_verify_each() is True


# ------------------------------------------------------------------ crash reproducers


def test_reproducer_written_and_replayed(src, tmp_path, capsys):
    repro = tmp_path / "repro.mlir"
    argv = [str(src), "-p", "builtin.module(cse,func.func(dce,test-boom,test-nothing))"]
    assert opt_main(argv + [f"--mlir-pass-pipeline-crash-reproducer={repro}"]) == 1
    err = capsys.readouterr().err
    assert f"written to {repro}; replay: irforge-opt {repro} --run-reproducer" in err
    text = repro.read_text()
    # The IR before the nested pipeline (after cse), the pipeline cut after the failing pass.
    assert text.count('"arith.addf"') == 1
    assert "touched" not in text
    assert (
        "{-#\n  external_resources: {\n    mlir_reproducer: {\n"
        '      pipeline: "builtin.module(func.func(dce,test-boom))",\n'
        "      disable_threading: true,\n      verify_each: true\n    }\n  }\n#-}\n"
    ) in text
    out = tmp_path / "out.mlir"
    assert opt_main([str(repro), "--run-reproducer", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "pass 'test-boom' failed on 'func.func' op @g: RuntimeError: boom" in err
    assert not out.exists()


def test_reproducer_for_a_root_pass_is_the_ir_before_it(src, tmp_path, capsys):
    repro = tmp_path / "r.mlir"
    argv = [str(src), "-p", "cse,test-boom{target=f},dce"]
    assert opt_main(argv + ["--mlir-pass-pipeline-crash-reproducer", str(repro)]) == 1
    text = repro.read_text()
    assert text.count('"arith.addf"') == 1  # after cse
    assert 'pipeline: "builtin.module(test-boom{target=f})"' in text
    capsys.readouterr()
    assert opt_main([str(repro), "--run-reproducer"]) == 1
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_reproducer_for_a_verify_failure(src, tmp_path, capsys):
    repro = tmp_path / "r.mlir"
    argv = [str(src), "-p", "func.func(test-break)"]
    assert opt_main(argv + [f"--mlir-pass-pipeline-crash-reproducer={repro}"]) == 1
    text = repro.read_text()
    assert "verify_each: true" in text and "i32" not in text
    capsys.readouterr()
    assert opt_main([str(repro), "--run-reproducer"]) == 1
    assert "after pass 'test-break'" in capsys.readouterr().err
    # A run without verification writes a reproducer that replays without it.
    argv = [str(src), "-p", "func.func(test-break,test-boom)", "--no-verify-each"]
    assert opt_main(argv + [f"--mlir-pass-pipeline-crash-reproducer={repro}"]) == 1
    assert "verify_each: false" in repro.read_text()


def test_default_reproducer_path_is_named_after_the_input(src, capsys, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert opt_main([str(src), "-p", "func.func(test-boom)"]) == 1
    assert (tmp_path / "tmp" / "m.repro.mlir").exists()
    assert "m.repro.mlir --run-reproducer" in capsys.readouterr().err


def test_no_reproducer_when_disabled_or_verifying_diagnostics(src, capsys, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert opt_main([str(src), "-p", "func.func(test-boom)", "--no-crash-reproducer"]) == 1
    assert opt_main([str(src), "-p", "func.func(test-boom)", "--verify-diagnostics"]) == 1
    assert not list(tmp_path.glob("*.repro.mlir"))
    assert "written to" not in capsys.readouterr().err


def test_run_reproducer_errors(src, capsys):
    assert opt_main([str(src), "--run-reproducer"]) == 1
    assert "not a reproducer" in capsys.readouterr().err
    repro = src.parent / "r.mlir"
    repro.write_text(attach_reproducer(SRC, "cse", True))
    assert opt_main([str(repro), "--run-reproducer", "-p", "dce"]) == 1
    assert "drop -p" in capsys.readouterr().err
    repro.write_text(SRC + "{-#\n  external_resources: { mlir_reproducer: { pipeline: } }\n#-}\n")
    assert opt_main([str(repro), "--run-reproducer"]) == 1
    err = capsys.readouterr().err
    assert "malformed metadata block" in err and "Traceback" not in err


def test_read_reproducer_keeps_other_metadata():
    text = attach_reproducer(
        SRC + '{-#\n  dialect_resources: {\n    builtin: { w: "0x04000000" }\n  }\n#-}\n',
        'builtin.module(test-options{label="a b"})',
        False,
    )
    assert text.count("{-#") == 1
    stripped, config = read_reproducer(text)
    assert config == {
        "pipeline": 'builtin.module(test-options{label="a b"})',
        "disable_threading": True,
        "verify_each": False,
    }
    if "mlir_reproducer" not in stripped:  # the interim scanner removed it: blobs stay
        assert 'dialect_resources: {\n    builtin: { w: "0x04000000" }\n  }' in stripped


def test_api_reproducer_recomputes_the_ir_before_the_failing_pass(tmp_path):
    repro = tmp_path / "r.mlir"
    pm = PassManager.from_pipeline("cse,func.func(test-boom)", crash_reproducer=repro)
    with pytest.raises(PassFailure) as err:
        pm.run(make_dialect_context(), _module())
    assert err.value.reproducer == str(repro)
    ir, config = read_reproducer(repro.read_text())
    assert config["pipeline"] == "builtin.module(func.func(test-boom))"
    assert irforge.print_ir(irforge.parse(ir)).count('"arith.addf"') == 1  # after cse


def test_reproducer_falls_back_to_the_input_when_the_replay_differs(tmp_path):
    SecondTimeFails.runs.clear()
    repro = tmp_path / "r.mlir"
    pm = PassManager.from_pipeline("cse,test-second-time-fails,test-boom", crash_reproducer=repro)
    with pytest.raises(PassFailure, match="test-boom"):
        pm.run(make_dialect_context(), _module())
    ir, config = read_reproducer(repro.read_text())
    assert config["pipeline"] == "builtin.module(cse,test-second-time-fails,test-boom)"
    assert irforge.print_ir(irforge.parse(ir)).count('"arith.addf"') == 2  # the input


def test_nested_pipeline_needs_isolated_ops(tmp_path, capsys):
    src = tmp_path / "c.mlir"
    src.write_text('%0 = "arith.constant"() <{value = 1 : i32}> : () -> i32\n')
    assert opt_main([str(src), "-p", "arith.constant(cse)"]) == 1
    err = capsys.readouterr().err
    assert "not IsolatedFromAbove" in err and "Traceback" not in err
