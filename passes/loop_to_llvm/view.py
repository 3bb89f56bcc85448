"""convert-loop-to-llvm rule: `loop.view` -> a byte GEP from the arena's base pointer.

Every memref is a bare `!llvm.ptr` after convert-loop-to-llvm, so a view at a constant byte
offset is the arena pointer advanced by that many bytes (the arena pointer itself at offset
0)::

    %v = "loop.view"(%a) <{byte_offset = 1024 : i64}> : (memref<4096xi8>) -> memref<8x16xf32>

becomes

    %c = llvm.mlir.constant(1024 : i64) : i64
    %v = llvm.getelementptr inbounds %a[%c] : (!llvm.ptr, i64) -> !llvm.ptr, i8

`inbounds` holds: the verifier of loop.view checks that the view lies inside the arena.
Source: MLIR's memref.view lowering (finalize-memref-to-llvm).
"""

from __future__ import annotations

from xdsl.dialects import llvm
from xdsl.dialects.builtin import IntegerType, i64

from ...dialects import loop
from .base import PTR, FunctionLowering, gep_props, lowering_rule, new_op


@lowering_rule(loop.ViewOp)
def _view(L: FunctionLowering, op: loop.ViewOp) -> None:
    base = L.v(op.source)
    offset = op.byte_offset.value.data
    if offset == 0:
        L.set(op, base)
        return
    gep = new_op(llvm.GEPOp, (base, L.const(offset, i64)), PTR, gep_props(IntegerType(8)))
    L.set(op, L.emit(gep))
