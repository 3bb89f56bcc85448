"""ONNX import of the custom domain `com.example` (an example of a frontend extension):

    node: Swish(X) -> Y, domain "com.example", attribute beta: float (default 1.0)

becomes `act.swish`. A model that uses it declares the domain in its opset_import, e.g.
`helper.make_opsetid("com.example", 1)`. Registered with
`irforge.plugins.register_converter` from `register()`.
"""

from __future__ import annotations

import math

from irforge.frontends.onnx import ONNXImportError

from .act import SwishOp

DOMAIN = "com.example"


def convert_swish(importer, operands, attrs, label):
    """`fn(importer, operands, attrs, label)`: the operands' SSA values, the node's
    attributes as Python values; returns the result value. Raises ONNXImportError (named
    by `label`) for what act.swish cannot express."""
    if len(operands) != 1 or operands[0] is None:
        raise ONNXImportError(f"{label}: Swish takes one input, got {len(operands)}")
    beta = float(attrs.get("beta", 1.0))
    if not math.isfinite(beta):
        raise ONNXImportError(f"{label}: beta must be finite, got {beta}")
    return importer.emit(SwishOp(operands[0], beta), label)
