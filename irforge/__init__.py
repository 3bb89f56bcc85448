"""irforge: an MLIR-style, extensible compiler framework in Python for ML models.

The public API (`compile`, `parse`, `print_ir`, `run_pipeline`, `import_model`) is
loaded on first use so that `import irforge` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = {"compile", "parse", "print_ir", "run_pipeline", "import_model", "CompiledModel"}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        from irforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'irforge' has no attribute '{name}'")
