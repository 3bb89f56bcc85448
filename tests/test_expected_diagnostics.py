"""--split-input-file and --verify-diagnostics: chunks keep the file's line numbers, and a
wrong or missing expectation fails the run."""

from pathlib import Path

from irforge.expected_diagnostics import collect, split_input
from irforge.opt import main as opt_main

BAD_RELU = """\
"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> ()}> ({
^bb0(%a: tensor<4xf32>):
  // expected-error @+1 {{MESSAGE}}
  %r = "graph.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  "func.return"() : () -> ()
}) : () -> ()
"""
GOOD = """\
"func.func"() <{sym_name = "g", function_type = () -> ()}> ({
  "func.return"() : () -> ()
}) : () -> ()
"""


def test_split_input_keeps_line_numbers():
    text = "a\nb\n// -----\nc\n// -----\nd\ne\n"
    chunks = split_input(text)
    assert [c for _, c in chunks] == ["a\nb\n", "c\n", "d\ne\n"]
    lines = text.split("\n")
    for first, chunk in chunks:
        assert lines[first] == chunk.split("\n")[0]


def test_collect_annotation_forms():
    text = "x // expected-error {{same}}\n// expected-error@+2 {{two down}}\n\nz\n"
    text += "w\n// expected-note @above {{up}}\n// expected-warning @-1 {{minus}}\n"
    got = [(e.kind, e.line, e.text) for e in collect(text)]
    assert got == [
        ("error", 1, "same"),
        ("error", 4, "two down"),
        ("note", 5, "up"),
        ("warning", 6, "minus"),
    ]


def run(tmp_path: Path, text: str, *flags: str) -> int:
    f = tmp_path / "t.mlir"
    f.write_text(text)
    return opt_main([str(f), *flags])


def test_matching_expectation_passes(tmp_path, capsys):
    text = BAD_RELU.replace("MESSAGE", "does not match the inferred shape [4]")
    assert (
        run(tmp_path, GOOD + "// -----\n" + text, "--split-input-file", "--verify-diagnostics") == 0
    )


def test_wrong_message_fails_and_says_why(tmp_path, capsys):
    text = BAD_RELU.replace("MESSAGE", "something else entirely")
    assert (
        run(tmp_path, GOOD + "// -----\n" + text, "--split-input-file", "--verify-diagnostics") == 1
    )
    err = capsys.readouterr().err
    assert "unexpected error: 'graph.relu' op result shape [5]" in err
    assert 'expected error "something else entirely" on line 8 was not produced' in err


def test_expected_error_that_never_comes_fails(tmp_path, capsys):
    text = GOOD.replace('  "func.return"', '  // expected-error @+1 {{boom}}\n  "func.return"')
    assert run(tmp_path, text, "--verify-diagnostics") == 1
    assert 'expected error "boom" on line 3 was not produced' in capsys.readouterr().err


def test_split_errors_report_file_line_numbers(tmp_path, capsys):
    text = GOOD + "// -----\n" + BAD_RELU.replace("MESSAGE", "x")
    assert run(tmp_path, text, "--split-input-file") == 1
    assert f"{tmp_path / 't.mlir'}:8:" in capsys.readouterr().err
