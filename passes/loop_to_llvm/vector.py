"""Rules of `convert-loop-to-llvm` for xDSL's `vector` dialect (the ops `vectorize` makes).

    %v = vector.load %a[%r, %i]          %p = llvm.getelementptr inbounds %a[%off] : f32
      : memref<8x64xf32>, vector<16xf32>  %v = llvm.load %p {alignment = 4} : vector<16xf32>
    %s = vector.broadcast %x             %u = llvm.mlir.undef : vector<16xf32>
      : f32 to vector<16xf32>            %e = llvm.insertelement %x, %u[0 : i64]
                                          %s = llvm.shufflevector %e, %u [0, 0, ...]
    %f = vector.fma %a, %b, %c           %f = llvm.call_intrinsic "llvm.fmuladd.v16f32"(...)
    %t = vector.shuffle %a, %b [0, 16,   %t = llvm.shufflevector %a, %b [0, 16, ...]
      ...] (1-D vectors)
    vector.store %v, %o[%r, %i]          llvm.store %v, %q {alignment = 4[, nontemporal]}

- loads and stores are aligned to the element only (a vector may start anywhere); a
  vector of i1 is loaded and stored as one byte per lane (i8, then trunc / after zext),
  as NumPy holds bools;
- `vector.fma` becomes `llvm.fmuladd` (LLVM fuses it where the target has fma and never
  calls libm's `fmaf`, which wasm32 cannot link);
- the arith/math rules of convert-loop-to-llvm already work on vector types (xDSL 0.74's
  `arith.cmpf` and `arith.select` condition are `i1` only, so there are no vector masks).

The vector width is chosen before this pass, from the module's Target
(backends/target.py): 16 x f32 on AVX-512, 4 x f32 for wasm32 (`+simd128`).

Source: MLIR's convert-vector-to-llvm, https://mlir.llvm.org/docs/Dialects/Vector/
"""

from __future__ import annotations

from xdsl.dialects import llvm, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    UnitAttr,
    VectorType,
    i1,
    i8,
    i32,
    i64,
)
from xdsl.utils.exceptions import PassFailedException

from .base import (
    ORDERING,
    FunctionLowering,
    address,
    element_bytes,
    llvm_type,
    lowering_rule,
    new_op,
)


def _align(t: VectorType) -> IntegerAttr:
    return IntegerAttr(element_bytes(t.element_type), i64)


def _bytes_of_bools(t: VectorType) -> VectorType | None:
    """vector<N x i8>, how a vector<N x i1> is held in memory (one byte per bool, as
    NumPy and a scalar i1 store; LLVM would pack a vector of i1 into bits); else None."""
    if t.element_type == i1:
        return VectorType(i8, t.get_shape())
    return None


@lowering_rule(vector.LoadOp)
def _vector_load(L: FunctionLowering, op: vector.LoadOp) -> None:
    t = llvm_type(op.result.type)
    ptr = address(L, op.base, op.indices)
    props = {**ORDERING, "alignment": _align(op.result.type)}
    as_bytes = _bytes_of_bools(op.result.type)
    if as_bytes is None:
        L.set(op, L.emit(new_op(llvm.LoadOp, (ptr,), t, props)))
        return
    raw = L.emit(new_op(llvm.LoadOp, (ptr,), as_bytes, props))
    L.set(op, L.emit(llvm.TruncOp(raw, t)))


@lowering_rule(vector.StoreOp)
def _vector_store(L: FunctionLowering, op: vector.StoreOp) -> None:
    ptr = address(L, op.base, op.indices)
    value = L.v(op.vector)
    as_bytes = _bytes_of_bools(op.vector.type)
    if as_bytes is not None:
        value = L.emit(llvm.ZExtOp(value, as_bytes))
    store = llvm.StoreOp(value, ptr, alignment=_align(op.vector.type).value.data)
    if op.nontemporal is not None and op.nontemporal.value.data:
        store.nontemporal = UnitAttr()
    L.emit(store)


@lowering_rule(vector.BroadcastOp)
def _broadcast(L: FunctionLowering, op: vector.BroadcastOp) -> None:
    t = llvm_type(op.vector.type)
    x = L.v(op.source)
    if isinstance(x.type, VectorType):
        raise PassFailedException("convert-loop-to-llvm: vector.broadcast of a vector")
    undef = L.emit(llvm.UndefOp(t))
    first = L.emit(llvm.InsertElementOp(undef, x, L.const(0, i64)))
    n = t.get_shape()[0]
    mask = DenseArrayBase.from_list(i32, [0] * n)
    L.set(op, L.emit(llvm.ShuffleVectorOp(first, undef, mask, t)))


@lowering_rule(vector.ShuffleOp)
def _shuffle(L: FunctionLowering, op: vector.ShuffleOp) -> None:
    mask = DenseArrayBase.from_list(i32, list(op.mask.get_values()))
    t = llvm_type(op.result.type)
    L.set(op, L.emit(llvm.ShuffleVectorOp(L.v(op.v1), L.v(op.v2), mask, t)))


@lowering_rule(vector.FMAOp)
def _vector_fma(L: FunctionLowering, op: vector.FMAOp) -> None:
    args = [L.v(op.lhs), L.v(op.rhs), L.v(op.acc)]
    L.set(op, L.intrinsic("llvm.fmuladd", args, args[0].type))
