"""ONNX import of the operators of dialects/graph_shape.py.

`CONVERTERS` maps an ONNX op type to `fn(importer, operands, attrs, label) -> SSAValue`
(see frontends/onnx.py); onnx.py adds them to `SUPPORTED_OPS`.
"""

from __future__ import annotations

from collections.abc import Callable

CONVERTERS: dict[str, Callable] = {}
