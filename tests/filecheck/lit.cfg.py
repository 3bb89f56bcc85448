# lit configuration for irforge's FileCheck tests (run by tests/test_filecheck.py or `lit`).
import os

import lit.formats

config.name = "irforge"
config.test_format = lit.formats.ShTest()
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py"]
# The tools run from the environment that runs lit (the venv with irforge installed).
config.environment["PATH"] = os.environ.get("PATH", "")
# Coverage of the tools these tests run: `patch = ["subprocess"]` ([tool.coverage.run]) hands
# its settings to child processes in COVERAGE_* variables, which lit would otherwise drop.
for key, value in os.environ.items():
    if key.startswith("COVERAGE_"):
        config.environment[key] = value
