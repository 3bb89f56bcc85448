"""The `act` dialect: activation functions irforge's graph dialect lacks (an example).

    %y = "act.leaky_relu"(%x) <{alpha = 1.000000e-01 : f32}> : (tensor<4xf32>) -> tensor<4xf32>

`act.leaky_relu` is ONNX LeakyRelu: `x if x >= 0 else alpha * x`, elementwise, on a static
f32 tensor; the result has the input's type; `alpha` must be finite.
"""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import Float32Type, FloatAttr, TensorType
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class LeakyReluOp(IRDLOperation):
    """`x if x >= 0 else alpha * x` elementwise (ONNX LeakyRelu); alpha is a finite f32."""

    name = "act.leaky_relu"
    input = operand_def(TensorType[Attribute])
    alpha = prop_def(FloatAttr, default_value=FloatAttr(0.01, Float32Type()))
    result = result_def(TensorType[Attribute])

    def __init__(self, input: SSAValue, alpha: float = 0.01):
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"alpha": FloatAttr(alpha, Float32Type())},
        )

    def verify_(self) -> None:
        if self.result.type != self.input.type:
            raise VerifyException(
                f"'{self.name}' op result type {self.result.type} differs from the input "
                f"type {self.input.type}"
            )
        if any(d < 0 for d in self.input.type.get_shape()):
            raise VerifyException(f"'{self.name}' op input must have a static shape")
        if not math.isfinite(self.alpha.value.data):
            raise VerifyException(f"'{self.name}' op alpha must be finite")


def leaky_relu_reference(op: LeakyReluOp, x: np.ndarray) -> np.ndarray:
    """NumPy semantics of act.leaky_relu (ONNX LeakyRelu-16)."""
    alpha = np.float32(op.alpha.value.data)
    return np.where(x >= 0, x, alpha * x).astype(np.float32)


Act = Dialect("act", [LeakyReluOp], [])
