"""`python -m benchmarks --quick` runs every suite end to end and writes complete JSON; the
harness checks irforge's outputs against its peers before timing. No figure is asserted
(speed is not tested: see docs/benchmarks.md), only that every figure is there and sane."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irforge.benchmarks import harness, suites
from irforge.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
STAT_FIELDS = {"median_s", "min_s", "max_s", "q1_s", "q3_s", "rounds", "value", "value_range"}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # a loaded CI machine, coverage in the child, and a first torch export
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def _positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_every_suite_and_field(quick):
    res, _ = quick
    assert set(res["suites"]) == set(suites.SUITES)
    assert res["config"]["quick"] is True
    for name, suite in res["suites"].items():
        assert suite["cases"], name
        for c in suite["cases"]:
            where = f"{name} / {c['label']}"
            base = suite.get("baseline", "irforge")
            assert base in c["engines"] and len(c["engines"]) >= 2, where
            for engine, st in c["engines"].items():
                assert STAT_FIELDS <= set(st), (where, engine)
                assert st["min_s"] <= st["q1_s"] <= st["median_s"] <= st["q3_s"] <= st["max_s"]
                assert st["rounds"] >= 1 and _positive(st["value"]), (where, engine)
            assert c["ratios"] and all(_positive(r) for r in c["ratios"].values()), where
            assert {"irforge_compile_s"} <= set(c) and c["irforge_compile_s"] > 0


def test_outputs_were_checked_against_a_peer(quick):
    res, _ = quick
    for name, suite in res["suites"].items():
        for c in suite["cases"]:
            ck = c["check"]
            assert ck["checked"] is True and ck["peer"] in c["engines"], (name, c["label"])
            assert ck["allclose"] is True, (name, c["label"], ck)
            assert ck["max_abs_diff"] <= ck["atol"] + ck["rtol"] * 1e6


def test_suite_specifics(quick):
    res, out = quick
    s = res["suites"]
    mm = s["matmul"]
    for key in ("in_process", "child_without_pinning_env"):
        blas = mm["blas"][key]
        assert isinstance(blas, list) and blas, key
        assert {"internal_api", "architecture", "version", "num_threads"} <= set(blas[0])
    for c in mm["cases"]:
        assert c["fastest_numpy"] in c["engines"]
        assert _positive(c["ratios"]["vs fastest numpy"])
        assert c["engines"]["irforge"]["value"] == pytest.approx(
            c["work_per_call"] / c["engines"]["irforge"]["median_s"] / 1e9
        )
    assert "tensor-fuse-elementwise" in s["elementwise"]["pipeline"]
    assert {"np.copyto", "numpy expression", "onnxruntime"} <= set(
        s["elementwise"]["cases"][0]["engines"]
    )
    assert {"batch": 1, "threads": 1} in [c["params"] for c in s["mlp"]["cases"]]
    assert s["conv"]["totals"] and s["conv"]["cases"][0]["params"]["count"] >= 1
    assert [c["params"]["threads"] for c in s["resnet50"]["cases"]] == [1, 2]
    wasm = s["wasm"]["cases"]
    assert {c["params"]["model"] for c in wasm} == {"digits", "matmul"}
    for c in wasm:
        assert {"wasm", "native x86-64-v2", "native host"} == set(c["engines"])
        assert c["check"]["peer"] == "native x86-64-v2"
        assert c["wasm_bytes"] > 1000  # a real module, with the model's weights
    names = [t["name"] for t in res["targets"]]
    assert "mlp batch 1" in names and "resnet50 batch 1, 2 threads" in names
    assert "wasm digits module size" in names
    assert all(t["met"] in (True, False) for t in res["targets"])
    assert all(t["wrong_rows"] == 0 for t in res["targets"])
    for c in s["elementwise"]["cases"]:  # the ceiling runs on the row's threads
        assert c["ceiling_threads"] == c["params"]["threads"], c["label"]
    assert "targets (issues 6 and 7)" in out and "architecture=" in out


def test_cli_bench_json_to_stdout(capsys):
    assert cli_main(["bench", "--quick", "--only", "mlp", "--threads", "1", "--json", "-"]) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert list(res["suites"]) == ["mlp"]
    assert "mlp (us)" in captured.err


def test_bad_suite_name_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["bench", "--only", "matmul,nope"])
    assert e.value.code == 2
    assert "unknown suite(s) nope" in capsys.readouterr().err


def test_check_catches_a_wrong_output():
    ref = np.linspace(-1, 1, 100, dtype=np.float32)
    assert harness.check(ref + 1e-7, ref, "numpy", rtol=1e-6, atol_rel=1e-6)["allclose"]
    bad = ref.copy()
    bad[17] += 0.01
    rec = harness.check(bad, ref, "numpy", rtol=1e-6, atol_rel=1e-6)
    assert rec["allclose"] is False and rec["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert harness.check(ref[:10], ref, "numpy", 1e-6, 1e-6)["allclose"] is False


def test_case_ratios_are_peer_time_over_irforge_time():
    stats = {
        "irforge": harness.summarize([2.0, 1.0, 3.0], 1),
        "irforge (variant)": harness.summarize([1.0], 1),
        "peer": harness.summarize([4.0, 4.0, 5.0], 1),
    }
    c = harness.case("x", {}, "GFLOP/s", stats, {}, work=8e9)
    assert c["ratios"] == {"vs peer": 2.0}
    assert c["engines"]["irforge"]["value"] == pytest.approx(4.0)
    assert c["engines"]["irforge"]["value_range"] == pytest.approx([8 / 3, 8.0])
    lat = harness.case("x", {}, "ms", stats, {})
    assert lat["engines"]["peer"]["value"] == pytest.approx(4000.0)


def test_a_failing_suite_is_recorded_and_the_status_is_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(suites.SUITES, "broken", "harness")  # harness has no run(): fails
    out = tmp_path / "r.json"
    assert cli_main(["bench", "--quick", "--only", "broken", "--json", str(out)]) == 1
    res = json.loads(out.read_text())
    assert "AttributeError" in res["suites"]["broken"]["error"]
    assert "broken: FAILED" in capsys.readouterr().out


def test_missing_peer_packages_are_a_clear_error(monkeypatch, capsys):
    from irforge.benchmarks import suites

    monkeypatch.setattr(suites, "missing_peers", lambda: ["onnxruntime"])
    assert suites.main(["--quick", "--only", "mlp", "--json", "-"]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime" in err and "pip install -e '.[bench]'" in err


# ------------------------------------------------------- wrong results cannot pass


class _WrongModel:
    """A compiled model whose every output is off by 1 in its first element."""

    def __init__(self, model):
        self.model = model

    def __call__(self, *arrays, out=None):
        y = self.model(*arrays, out=out)
        (y if out is None else out).reshape(-1)[0] += 1.0
        return y


def test_a_wrong_row_fails_its_target_and_the_exit_status(tmp_path, monkeypatch, capsys):
    """Plant a bug in irforge's output: the elementwise row must be WRONG, its target FAIL
    (however fast the wrong code), and `irforge bench` must exit 1."""
    from irforge.benchmarks import suite_elementwise

    real = suite_elementwise.compile_irforge

    def wrong_compile(*args, **kwargs):
        model, seconds = real(*args, **kwargs)
        return _WrongModel(model), seconds

    monkeypatch.setattr(suite_elementwise, "compile_irforge", wrong_compile)
    out = tmp_path / "r.json"
    argv = ["bench", "--quick", "--only", "elementwise", "--threads", "1", "--json", str(out)]
    assert cli_main(argv) == 1
    res = json.loads(out.read_text())
    (row,) = res["suites"]["elementwise"]["cases"]
    assert row["check"]["allclose"] is False
    (target,) = res["targets"]
    assert target["met"] is False and target["wrong_rows"] == 1
    captured = capsys.readouterr()
    assert "FAIL (wrong results in 1 row" in captured.out and "[PASS" not in captured.out
    assert "wrong results (the correctness check failed) in 1 row(s)" in captured.err


def _row(check: bool | None, ratios: dict, **extra) -> dict:
    stats = {"irforge": harness.summarize([1.0], 1), "peer": harness.summarize([9.0], 1)}
    c = harness.case("row", extra.pop("params", {}), "ms", stats, {})
    c["ratios"] = ratios
    if check is not None:
        c["check"] = {"checked": True, "peer": "peer", "allclose": check, "max_abs_diff": 1.0}
    return {**c, **extra}


def _every_target(check: bool | None) -> dict:
    """Suites whose rows reach every target of `suites.targets`, each far above its goal,
    every row's check set to `check` (None: no check recorded)."""
    fast = 9.0
    return {
        "matmul": {
            "cases": [
                _row(
                    check,
                    {"vs fastest numpy": fast},
                    params={"n": 512, "threads": 1},
                    fastest_numpy="numpy",
                )
            ]
        },
        "elementwise": {
            "cases": [
                _row(check, {"vs np.copyto": fast, "preallocated vs np.copyto": fast}),
            ]
        },
        "mlp": {
            "cases": [_row(check, {"vs onnxruntime": fast}, params={"batch": 1, "threads": 1})]
        },
        "resnet50": {"cases": [_row(check, {"vs onnxruntime": fast}, params={"threads": 2})]},
        "wasm": {
            "cases": [
                _row(check, {"vs native x86-64-v2": fast}, params={"model": "matmul"}),
                _row(
                    check,
                    {"vs native x86-64-v2": fast},
                    params={"model": "digits", "batch": 256},
                    wasm_bytes=5000,
                ),
            ]
        },
    }


@pytest.mark.parametrize("check", [False, None], ids=["wrong", "unchecked"])
def test_every_target_fails_on_rows_with_wrong_results(check):
    from irforge.benchmarks.report import target_line

    good = suites.targets(_every_target(True), (1, 2))
    assert len(good) == 7 and all(t["met"] is True for t in good), good
    bad = suites.targets(_every_target(check), (1, 2))
    assert [t["name"] for t in bad] == [t["name"] for t in good]
    for t in bad:
        assert t["met"] is False and t["wrong_rows"] == 1, t
        assert target_line(t).startswith("[FAIL ]") and "wrong results in 1 row" in target_line(t)


def test_a_wrong_row_without_a_target_still_fails_the_run(monkeypatch, capsys):
    """A conv row has no target of its own: its wrong results must still make the run fail."""
    res = {
        "started_utc": "now",
        "machine": {"llvm_host_cpu": "cpu", "cpus_available": 2, "numpy": "x", "onnxruntime": "y"},
        "config": {"quick": True},
        "suites": {"conv": {"unit": "ms", "cases": [_row(True, {}), _row(False, {})]}},
        "targets": [],
    }
    monkeypatch.setattr(suites, "missing_peers", lambda: [])
    monkeypatch.setattr(suites, "run", lambda args: res)
    assert suites.main(["--only", "conv", "--json", "-"]) == 1
    assert "in 1 row(s): conv: row" in capsys.readouterr().err
    res["suites"]["conv"]["cases"].pop()
    assert suites.main(["--only", "conv", "--json", "-"]) == 0


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_copy_ceiling_runs_on_the_rows_threads(threads, monkeypatch):
    """`ParallelCopy` at T threads copies everything, in T parts on T distinct threads."""
    import threading

    from irforge.benchmarks.suite_elementwise import ParallelCopy

    seen: list[tuple[int, int]] = []
    real = np.copyto

    def spy(dst, src):
        seen.append((threading.get_ident(), src.size))
        real(dst, src)

    src = np.arange(100_000, dtype=np.float32)
    dst = np.zeros_like(src)
    copy = ParallelCopy(dst, src, threads)
    monkeypatch.setattr(np, "copyto", spy)
    try:
        copy()
    finally:
        copy.close()
    assert np.array_equal(dst, src)
    assert copy.threads == threads and len({t for t, _ in seen}) == threads
    assert (
        sum(n for _, n in seen) == src.size
        and max(n for _, n in seen) <= -(-src.size // threads) + 16
    )
