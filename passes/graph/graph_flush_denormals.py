"""`graph-flush-denormals`: replace subnormal (denormal) values in floating-point
`graph.constant`s by a zero of the same sign.

    %w = "graph.constant"() <{value = dense<[1.0e-40, -2.5, -3.0e-41]> : tensor<3xf32>}>

becomes

    %w = "graph.constant"() <{value = dense<[0.0, -2.5, -0.0]> : tensor<3xf32>}>

Why: a subnormal operand sends a multiply or FMA on x86 through a microcode assist
(roughly a hundred cycles instead of a few), and trained weights often hold a handful of
them (the bundled digits MLP: 80 of the 4096 weights of its first layer, 8 of the 2048 of
its second, all below 4e-40). Native code could set the FTZ/DAZ bits of MXCSR instead, but
that is state of the caller's thread, and WebAssembly has no such mode (its float
semantics keep subnormals), so the constants themselves are flushed, once, at compile
time. This is LLVM's `"denormal-fp-math"="preserve-sign"` applied to the weights only;
activations computed at run time keep IEEE semantics.

Numerics: each flushed weight w (|w| < 2^-126 ~ 1.18e-38 for f32, 2^-1022 for f64) changes
a product w * x by less than |x| * 1.18e-38, far below the rounding error of any f32 sum
that follows. ONNX Runtime keeps subnormals unless its session option
`session.set_denormal_as_zero` is set; TensorFlow flushes them on CPU by default. Drop the
pass from the pipeline (`passes.pipeline.without_pass`) to keep every bit.

Statistics (`--pass-statistics`): `denormals-flushed` (values), `constants-changed` (ops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.passes import ModulePass

from ...dialects import graph
from ...dialects.arrays import from_numpy, to_numpy
from ..infra.statistics import bump


def flush_denormals(array: np.ndarray) -> tuple[np.ndarray, int]:
    """`array` (any float dtype) with its subnormal values replaced by signed zeros, and
    how many there were; integer arrays are returned unchanged with 0."""
    if array.dtype.kind != "f":
        return array, 0
    subnormal = (array != 0) & (np.abs(array) < np.finfo(array.dtype).tiny)
    count = int(np.count_nonzero(subnormal))
    if count == 0:
        return array, 0
    return np.where(subnormal, np.copysign(array.dtype.type(0), array), array), count


@dataclass(frozen=True)
class GraphFlushDenormalsPass(ModulePass):
    """Flush subnormal values of every floating-point `graph.constant` to signed zeros
    (see the module docstring). No options; constants without subnormals are untouched."""

    name = "graph-flush-denormals"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for const in op.walk():
            if not isinstance(const, graph.ConstantOp):
                continue
            t = const.result.type
            if not isinstance(t, TensorType):
                continue
            array, count = flush_denormals(to_numpy(const.value))
            attr = from_numpy(array, t, splat=True) if count else None
            if attr is None:
                continue
            const.properties["value"] = attr
            bump("denormals-flushed", count)
            bump("constants-changed")
