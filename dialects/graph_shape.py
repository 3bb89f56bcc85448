"""The graph dialect's data movement ops (Concat, Slice, Split, Squeeze, Gather, Where, ...).

These ops belong to the `graph` dialect (dialects/graph.py lists them in `Graph`); they
share its base classes and conventions: static shapes, ONNX semantics, result types
verified against `infer_shape`.
"""

from __future__ import annotations

from xdsl.ir import Operation

OPS: list[type[Operation]] = []
"""The ops of this family, in the order the dialect lists them."""
