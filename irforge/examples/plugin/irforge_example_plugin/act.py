"""The `act` dialect: activation functions irforge's graph dialect lacks (an example).

    %y = "act.leaky_relu"(%x) <{alpha = 1.000000e-01 : f32}> : (tensor<4xf32>) -> tensor<4xf32>
    %z = "act.swish"(%x) <{beta = 1.000000e+00 : f32}> : (tensor<4xf32>) -> tensor<4xf32>

`act.leaky_relu` is ONNX LeakyRelu: `x if x >= 0 else alpha * x`; `act.swish` is
`x * sigmoid(beta * x)` (SiLU for beta = 1; Ramachandran et al., "Searching for Activation
Functions", 2017). Both are elementwise on a static f32 tensor; the result has the input's
type; `alpha` and `beta` must be finite. act.leaky_relu reaches native code through the
pass convert-act-to-graph (graph ops), act.swish through its own lowering rule
(lower_swish.py).
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


@irdl_op_definition
class SwishOp(IRDLOperation):
    """`x * sigmoid(beta * x)` elementwise; beta is a finite f32 (1.0: SiLU)."""

    name = "act.swish"
    input = operand_def(TensorType[Attribute])
    beta = prop_def(FloatAttr, default_value=FloatAttr(1.0, Float32Type()))
    result = result_def(TensorType[Attribute])

    def __init__(self, input: SSAValue, beta: float = 1.0):
        super().__init__(
            operands=[input],
            result_types=[input.type],
            properties={"beta": FloatAttr(beta, Float32Type())},
        )

    def verify_(self) -> None:
        if self.result.type != self.input.type:
            raise VerifyException(
                f"'{self.name}' op result type {self.result.type} differs from the input "
                f"type {self.input.type}"
            )
        if not isinstance(self.input.type.element_type, Float32Type):
            raise VerifyException(f"'{self.name}' op input must be a tensor of f32")
        if any(d < 0 for d in self.input.type.get_shape()):
            raise VerifyException(f"'{self.name}' op input must have a static shape")
        if not math.isfinite(self.beta.value.data):
            raise VerifyException(f"'{self.name}' op beta must be finite")


def swish_reference(op: SwishOp, x: np.ndarray) -> np.ndarray:
    """NumPy semantics of act.swish: x / (1 + exp(-beta * x)), in f32 (exp overflows to
    +Inf for very negative x, giving -0.0 there, the limit)."""
    beta = np.float32(op.beta.value.data)
    with np.errstate(over="ignore"):
        return (x / (np.float32(1) + np.exp(-beta * x))).astype(np.float32)


Act = Dialect("act", [LeakyReluOp, SwishOp], [])
