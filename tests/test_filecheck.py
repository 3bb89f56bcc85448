"""Runs the FileCheck tests under tests/filecheck with lit (as xDSL and MLIR do)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FILECHECK_DIR = Path(__file__).parent / "filecheck"


def test_lit_filecheck_suite():
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    lit = shutil.which("lit", path=env["PATH"])
    if lit is None:
        pytest.fail("lit is not installed: pip install -e '.[test]'")
    for tool in ("irforge-opt", "filecheck"):
        assert shutil.which(tool, path=env["PATH"]), f"{tool} is not on PATH"
    proc = subprocess.run(
        [lit, "-v", str(FILECHECK_DIR)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Passed" in proc.stdout
