"""ONNX's own backend test suite (onnx.backend.test) against irforge.

Only the node tests of the operators irforge imports are collected; among them, cases
irforge declines (a data type or attribute form it does not support) are skipped by
`IrforgeBackend.is_compatible`, everything else must match ONNX's expected outputs with
the suite's own tolerances.
"""

import re
import unittest

import onnx.backend.test

from irforge.backend import IrforgeBackend, _static_shapes
from irforge.frontends.onnx import SUPPORTED_OPS, ONNXImportError, import_onnx


class SuiteBackend(IrforgeBackend):
    """Skips, with irforge's reason, the cases whose import irforge declines (the suite
    calls `prepare` directly for most node tests)."""

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        try:
            import_onnx(model, input_shapes=_static_shapes(model))
        except ONNXImportError as e:
            raise unittest.SkipTest(f"irforge declines: {e}") from None
        return super().prepare(model, device, **kwargs)


def _snake(op_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", op_type).lower()


backend_test = onnx.backend.test.BackendTest(SuiteBackend, __name__)
# ONNX names its node tests after the op in snake case (test_batch_normalization...) or
# in lower case (test_maxpool_..., test_globalaveragepool_...), with a few abbreviations.
_ALIASES = {"BatchNormalization": ["batchnorm"], "LeakyRelu": ["leakyrelu"]}
for op in SUPPORTED_OPS:
    for name in {_snake(op), op.lower(), *_ALIASES.get(op, [])}:
        backend_test.include(rf"^test_{name}(_.*)?_cpu$")
# Model tests download data or run slow reference evaluations: covered elsewhere.
backend_test.exclude(r"(test_bvlc_|test_densenet|test_inception|test_resnet|test_shufflenet)")
backend_test.exclude(r"(test_squeezenet|test_vgg|test_zfnet|_expanded_)")

globals().update(backend_test.test_cases)
