"""convert-loop-to-llvm rule for `loop.reshape` (registered on that pass's rule table;
imported from the bottom of passes/loop_to_llvm/convert_loop_to_llvm.py).

Buffers are bare pointers with static row-major strides, so a reshape is the same pointer
seen with the result's shape (accesses through it linearize with the new strides)::

    %flat = "loop.reshape"(%c) : (memref<2x3xf32>) -> memref<6xf32>   # -> %c itself
"""

from __future__ import annotations

from ...dialects import loop
from . import convert_loop_to_llvm as c


@c._rule(loop.ReshapeOp)
def _reshape(L: c._FuncLowering, op: loop.ReshapeOp) -> None:
    L.set(op, L.v(op.source))
