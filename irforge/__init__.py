"""irforge: an MLIR-style, extensible compiler framework in Python for ML models."""

__version__ = "0.1.0"
