"""The parse-speed benchmark runs end to end on a small file, and its generated file is
valid IR that both parsers read to the same printout."""

import json

from xdsl.parser import Parser

from irforge.benchmarks import parse_speed
from irforge.dialects import make_dialect_context
from irforge.textual_ir import parse_module, print_module, verify_module


def test_generated_file_is_valid_and_read_alike():
    text = parse_speed.generate(400)
    module = parse_module(text, make_dialect_context(), "gen.mlir")
    verify_module(module, "gen.mlir")
    ops = sum(1 for _ in module.walk())
    assert 400 <= ops <= 520
    names = {op.name for op in module.walk()}
    assert {"graph.constant", "tensor.generic", "loop.for", "arith.select"} <= names
    assert print_module(Parser(make_dialect_context(), text).parse_module()) == print_module(module)


def test_benchmark_main_writes_json(tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert parse_speed.main(["--ops", "300", "--rounds", "1", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["lines_per_second"]) >= {"irforge parse", "xdsl parse", "irforge print"}
    assert all(v > 0 for v in res["ratios"].values())
    assert "parse irforge/xdsl" in capsys.readouterr().out
