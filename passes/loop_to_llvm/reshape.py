"""convert-loop-to-llvm rule for `loop.reshape`.

Buffers are bare pointers with static row-major strides, so a reshape is the same pointer
seen with the result's shape (accesses through it linearize with the new strides)::

    %flat = "loop.reshape"(%c) : (memref<2x3xf32>) -> memref<6xf32>   # -> %c itself
"""

from __future__ import annotations

from ...dialects import loop
from .base import FunctionLowering, lowering_rule


@lowering_rule(loop.ReshapeOp)
def _reshape(L: FunctionLowering, op: loop.ReshapeOp) -> None:
    L.set(op, L.v(op.source))
