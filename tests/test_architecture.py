"""The house's import rules (docs/architecture.md), so that a change cannot quietly undo them:

- no circle between modules or sibling packages, and imports point down the tower
  (irforge's own modules on top, then frontends, passes, backends, dialects, textual_ir):
  the import-linter contracts in pyproject.toml, checked on a copy of the sources laid out
  as the installed package (the checkout maps `irforge.dialects` to dialects/, which
  import-linter's graph builder cannot follow);
- no module imports another module's private name (`from x import _y`), whatever the depth
  of the import (function-level imports included);
- no module imports a name from a package it belongs to: a package's `__init__` is the
  aggregator of its modules (base <- families <- aggregator), so a module that took a name
  from it would close a circle that the sibling contract cannot see.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
IGNORED = {"__pycache__", "benchmarks"}  # benchmarks/ is a tool beside the package


def sources() -> dict[str, Path]:
    """Module name -> source file, for every module of the installed package."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        if package.split(".")[-1] in IGNORED:
            continue
        base = ROOT / folder
        for path in base.rglob("*.py"):
            rel = path.relative_to(base)
            if IGNORED & set(rel.parts):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def test_layout_matches_the_contracts():
    # Every top-level module of irforge/ must sit in the contracts' top layer, or the
    # layers contract would not see it import upwards.
    layers = PYPROJECT["tool"]["importlinter"]["contracts"][1]["layers"]
    top = {name.strip() for name in layers[0].split(":")}
    lower = set(layers[1:])
    own = {m.split(".")[1] for m in sources() if m.count(".") >= 1}
    missing = own - top - lower
    assert not missing, f"add {sorted(missing)} to the top layer in pyproject.toml"


def test_import_contracts(tmp_path):
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    for module, path in sources().items():
        parts = module.split(".")
        name = "__init__.py" if path.name == "__init__.py" else parts.pop() + ".py"
        dest = tmp_path.joinpath(*parts, name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run(
        [lint, str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def imports_from(module: str, is_package: bool, text: str):
    """(node, absolute source module) for each `from X import ...` in `module`'s source,
    relative and function-level imports included."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1]
            yield node, ".".join(base + ([node.module] if node.module else []))
        else:
            yield node, node.module or ""


def private_imports(module: str, is_package: bool, text: str) -> list[tuple[int, str]]:
    """(line, `X._y`) for each `from X import _y` in `module` where X is another irforge
    module; relative and function-level imports included."""
    found = []
    for node, source in imports_from(module, is_package, text):
        if not source.startswith("irforge") or source == module:
            continue
        for alias in node.names:
            name = alias.name
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                found.append((node.lineno, f"{source}.{name}"))
    return found


def test_no_private_name_is_imported_from_another_module():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for module, path in sources().items()
        for line, name in private_imports(module, path.name == "__init__.py", path.read_text())
    ]
    assert not found, "imports of another module's private names:\n" + "\n".join(found)


def test_private_import_check_sees_relative_and_nested_imports():
    src = "import os\n\ndef f():\n    from ..patterns.model import _hidden, visible, __doc__\n"
    assert private_imports("irforge.passes.infra.registry", False, src) == [
        (4, "irforge.passes.patterns.model._hidden")
    ]
    # In a package's __init__, `.` is the package itself (its own names are its own).
    src = "from . import _own\nfrom .x import _y\n"
    assert private_imports("irforge.passes", True, src) == [(2, "irforge.passes.x._y")]


def ancestor_imports(module: str, is_package: bool, text: str, modules: set[str]) -> list[str]:
    """`P.name` for each `from P import name` in `module` where P is a package that contains
    `module` and `P.name` is not a module (a submodule import is a sibling import)."""
    found = []
    for node, source in imports_from(module, is_package, text):
        if source == module or not module.startswith(source + ".") or module.endswith(".__main__"):
            continue  # a package's __main__ is its entry point, which nothing imports
        found += [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" not in modules]
    return found


def test_no_module_imports_from_its_own_package():
    modules = set(sources())
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for module, path in sources().items()
        for name in ancestor_imports(module, path.name == "__init__.py", path.read_text(), modules)
    ]
    assert not found, "names taken from an enclosing package's __init__:\n" + "\n".join(found)


def test_ancestor_import_check():
    modules = {"irforge.dialects.graph", "irforge.dialects.graph.base", "irforge.dialects.graph.nn"}
    src = (
        "from . import nn\nfrom .base import GraphOp\nfrom . import GraphOp\nfrom .. import graph\n"
    )
    assert ancestor_imports("irforge.dialects.graph.math", False, src, modules) == [
        "irforge.dialects.graph.GraphOp"
    ]


def test_every_pass_is_in_a_file_named_after_it():
    # `graph-fuse` lives in .../graph_fuse.py (a file may hold only its own pass).
    import inspect

    from irforge.passes.infra.registry import available_passes

    wrong = []
    for name, factory in available_passes().items():
        cls = factory()
        if not cls.__module__.startswith("irforge."):
            continue  # a pass that a test or a plugin registered
        stem = Path(inspect.getfile(cls)).stem
        if stem != name.replace("-", "_"):
            wrong.append(f"{name}: {cls.__module__}")
    assert not wrong, "passes not in a file named after them:\n" + "\n".join(wrong)
