"""Test-suite settings and shared fixtures.

Models compiled by the tests verify their IR after every pass (IRFORGE_VERIFY_EACH=1), so
that a pass that breaks the IR is named where it happens; irforge.compile's own default
verifies only the result (passes/infra/manager.py). A run can still set the variable to 0 to
test that default. The light models below verify only the result (time).

`light` (session scope) gives the onnx package's light models with seeded random weights,
their ONNX Runtime logits, and each model compiled at most once per session per target
and thread count: a CNN takes 10-50 s to compile, and several test files run the same
ones (tests/test_light_models.py, tests/test_wasm_backend.py). The end of the run lists
each compile's time.

Coverage (pytest-cov, configured in pyproject.toml) is printed after every run; after a
run of the whole default selection, `pytest_runtestloop` below also holds each folder
named in the `coverage_floor` ini option to its floor, and fails the run below it.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("IRFORGE_VERIFY_EACH", "1")

SHARED = ("resnet50", "squeezenet")
"""The light models more than one test compiles: kept for the whole session. Of the others
only the latest one asked for is kept (VGG-19's random weights alone are ~550 MB)."""


class LightModels:
    """Light models (irforge.examples.light_models) ready for tests, cached per session.

    `model(name)`: the model with weights randomized (seed 0) up to its logits;
    `input(name)`: its seeded input batch (NCHW float32); `reference(name)`: ONNX
    Runtime's logits for that input; `compiled(name, target, num_threads)`: the
    irforge.CompiledModel (num_threads None: the default count). Every value is made once
    while its model is cached (see SHARED).
    """

    def __init__(self) -> None:
        self._cache: dict[tuple, object] = {}
        self.compile_seconds: dict[str, float] = {}

    def _get(self, key: tuple, make):
        name = key[1]
        if name not in SHARED:  # forget the previous unshared model
            for old in [k for k in self._cache if k[1] not in SHARED and k[1] != name]:
                del self._cache[old]
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def model(self, name: str):
        from irforge.examples import light_models as lm

        return self._get(
            ("model", name), lambda: lm.logits_model(lm.randomize_weights(lm.load(name), 0))
        )

    def input(self, name: str):
        from irforge.examples import light_models as lm

        return self._get(("input", name), lambda: lm.random_input(self.model(name)))

    def reference(self, name: str):
        import onnxruntime as ort

        def run():
            model = self.model(name)
            sess = ort.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
            return sess.run(None, {sess.get_inputs()[0].name: self.input(name)})[0]

        return self._get(("reference", name), run)

    def compiled(self, name: str, target: str = "native", num_threads: int | None = None):
        import irforge
        from irforge.backends.target import host_num_threads

        threads = 1 if target == "wasm" else num_threads or host_num_threads()

        def build():
            start = time.perf_counter()
            # The result is verified and compared with ONNX Runtime; verifying after every
            # pass too would add ~40% to these compiles (commit 4a1990c: SqueezeNet 12.5 ->
            # 8.9 s), and the small models of the other tests do that.
            fn = irforge.compile(
                self.model(name), target=target, num_threads=threads, verify_each=False
            )
            label = f"{name} {target} {threads}t"
            self.compile_seconds[label] = time.perf_counter() - start
            return fn

        return self._get(("compiled", name, target, threads), build)


_LIGHT = LightModels()


@pytest.fixture(scope="session")
def light() -> LightModels:
    """The session's LightModels (see the module docstring)."""
    return _LIGHT


UNTRACED = {"tests/test_textual_ir.py::test_huge_literals_are_fast_and_checked"}
"""Tests that bound their own CPU time in tight Python loops: they run without coverage
tracing (pytest-cov's `no_cover`), which slows such loops ~5x (a 1 MB unbalanced `<` took
5.3 s of CPU under coverage against a 1.1 s bound)."""


def pytest_collection_modifyitems(config, items):
    if config.getoption("no_cov", default=True):
        return  # no coverage (--no-cov): pytest-cov 7 fails on the marker then
    for item in items:
        if item.nodeid.split("[")[0] in UNTRACED:
            item.add_marker(pytest.mark.no_cover)


_FLOOR_REPORT: list[str] = []
"""One line per floored folder, printed at the end of the run."""


def pytest_addoption(parser):
    parser.addini(
        "coverage_floor",
        "FOLDER=PERCENT items: the least line+branch coverage of each folder after a full run",
        type="linelist",
        default=[],
    )


def _full_run(config) -> bool:
    """True when the run is the whole default selection: no paths, -k or other -m."""
    return (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and config.option.markexpr == "not slow"
        and not config.option.deselect
    )


def folder_coverage(cov, root: Path, folders: list[str]) -> dict[str, float]:
    """Coverage's line+branch percentage of each folder (0-100), from a stopped
    coverage.Coverage; a folder with nothing measured counts 0."""
    from coverage.exceptions import NoDataError

    result = {}
    for folder in folders:
        try:
            result[folder] = cov.report(
                include=[str(root / folder / "*")], file=io.StringIO(), ignore_errors=True
            )
        except NoDataError:
            result[folder] = 0.0
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session):
    """After pytest-cov has stopped and combined its data (its own wrapper of this hook
    runs inside this one), check the per-folder floor; a miss fails the run."""
    result = yield
    config = session.config
    floors = dict(item.split("=") for item in config.getini("coverage_floor"))
    plugin = config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if not floors or controller is None or config.option.collectonly or not _full_run(config):
        return result
    got = folder_coverage(controller.cov, config.rootpath, list(floors))
    missed = {f: p for f, p in got.items() if p < float(floors[f])}
    _FLOOR_REPORT.extend(
        f"{f + '/':<12} {p:5.1f}%  (floor {floors[f]}%){'  FAIL' if f in missed else ''}"
        for f, p in got.items()
    )
    if missed:
        session.testsfailed += 1
    return result


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    """List the light-model compile times of the run (seconds, wall clock) and the
    per-folder coverage floor check."""
    if _LIGHT.compile_seconds:
        terminalreporter.section("light-model compile times")
        for label, seconds in sorted(_LIGHT.compile_seconds.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:7.1f} s  {label}")
    if _FLOOR_REPORT:
        terminalreporter.section("coverage floor per folder (line+branch)")
        for line in _FLOOR_REPORT:
            terminalreporter.write_line(line, red="FAIL" in line)
