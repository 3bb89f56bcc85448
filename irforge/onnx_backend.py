"""irforge as an ONNX backend (`onnx.backend.base.Backend`), so that ONNX's own backend
test suite (onnx.backend.test) runs against irforge.

    from irforge.onnx_backend import IrforgeBackend
    rep = IrforgeBackend.prepare(model)          # compile once (static shapes)
    outputs = rep.run([x])                       # a tuple of NumPy arrays

`is_compatible(model)` is False when irforge's importer declines the model (an operator,
opset or data type it does not support), so the suite skips such cases instead of failing
them; everything irforge accepts must then compute the right values.
Source: https://github.com/onnx/onnx/blob/main/docs/ImplementingAnOnnxBackend.md
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep


class IrforgeBackendRep(BackendRep):
    """A model compiled to native code; `run` takes and returns NumPy arrays."""

    def __init__(self, compiled: Any):
        self.compiled = compiled

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        elif isinstance(inputs, dict):
            inputs = [inputs[s.name] for s in self.compiled.inputs]
        out = self.compiled(*[np.asarray(x) for x in inputs])
        return out if isinstance(out, tuple) else (out,)


def static_shapes(model: onnx.ModelProto) -> dict[str, list[int]] | None:
    """The declared shapes of `model`'s graph inputs (initializers left out), name -> dims,
    or None when a dimension of one of them is not a fixed value (`dim_value`)."""
    weights = {t.name for t in model.graph.initializer}
    shapes = {}
    for vi in model.graph.input:
        if vi.name in weights:
            continue
        dims = vi.type.tensor_type.shape.dim
        if not all(d.HasField("dim_value") for d in dims):
            return None
        shapes[vi.name] = [d.dim_value for d in dims]
    return shapes


class IrforgeBackend(Backend):
    """ONNX backend API over irforge.compile (CPU only)."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        from irforge.frontends.onnx import ONNXImportError, import_onnx

        if not cls.supports_device(device):
            return False
        try:
            import_onnx(model, input_shapes=static_shapes(model))
        except ONNXImportError:
            return False
        return True

    @classmethod
    def prepare(
        cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any
    ) -> IrforgeBackendRep:
        import irforge

        if not cls.supports_device(device):
            raise ValueError(f"irforge runs on the CPU, not on '{device}'")
        return IrforgeBackendRep(irforge.compile(model, input_shapes=static_shapes(model)))

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any
    ) -> tuple[np.ndarray, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return str(device).upper().startswith("CPU")


prepare = IrforgeBackend.prepare
run_model = IrforgeBackend.run_model
supports_device = IrforgeBackend.supports_device
is_compatible = IrforgeBackend.is_compatible
