"""convert-loop-to-llvm rules for loops, memory and returns: `loop.for` (a rotated loop),
`loop.yield`, `loop.load` / `loop.store`, `loop.alloc` / `loop.dealloc`,
`memref.get_global` and `func.return` (the pass's docstring, convert_loop_to_llvm.py, shows
the lowering of a loop).

`loop.alloc` takes a 64-byte aligned `alloca` in the entry block while the function's stack
budget lasts, else `aligned_alloc(64, size)`; `loop.dealloc` calls `free` (nothing for stack
buffers).
"""

from __future__ import annotations

import math as _math

from xdsl.dialects import func, llvm, memref
from xdsl.dialects.builtin import DenseArrayBase, i1, i32, i64
from xdsl.ir import Block, Operation, SSAValue

from ...dialects import loop
from .base import (
    ALIGN,
    ORDERING,
    PTR,
    FunctionLowering,
    address,
    element_bytes,
    llvm_type,
    lowering_rule,
    new_op,
    pred,
)


@lowering_rule(loop.ForOp)
def _for(L: FunctionLowering, op: loop.ForOp) -> None:
    lb, ub, step = L.v(op.lb), L.v(op.ub), L.v(op.step)
    body = Block(arg_types=[i64])
    exit_ = Block()
    clb, cub = L.ints.get(lb), L.ints.get(ub)
    if clb is not None and cub is not None:
        if clb >= cub:
            return  # never runs
        L.emit(llvm.BrOp.create(operands=(lb,), successors=(body,)))
    else:
        guard = _icmp(L, "slt", lb, ub)
        L.emit(_cond_br(guard, body, lb, exit_))
    L.region.add_block(body)
    L.cur = body
    L.offsets = {}
    iv = body.args[0]
    L.vmap[op.induction_var] = iv
    L.lower_block(op.body.block)
    nxt = L.add_nsw(iv, step)
    again = _icmp(L, "slt", nxt, ub)
    L.emit(_cond_br(again, body, nxt, exit_))
    L.region.add_block(exit_)
    L.cur = exit_
    L.offsets = {}


@lowering_rule(loop.YieldOp)
def _yield(L: FunctionLowering, op: loop.YieldOp) -> None:
    """Nothing: the latch of the enclosing loop.for stands for it."""


_COND_BR_PROPS = {"operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 1, 0])}


def _cond_br(cond: SSAValue, then: Block, arg: SSAValue, else_: Block) -> Operation:
    """`llvm.cond_br %cond, ^then(%arg), ^else` (built fast, as `new_op` does)."""
    return llvm.CondBrOp.create(
        operands=(cond, arg), properties=_COND_BR_PROPS, successors=(then, else_)
    )


def _icmp(L: FunctionLowering, predicate: str, a: SSAValue, b: SSAValue) -> SSAValue:
    return L.emit(new_op(llvm.ICmpOp, (a, b), i1, {"predicate": pred(predicate)}))


@lowering_rule(loop.LoadOp)
def _load(L: FunctionLowering, op: loop.LoadOp) -> None:
    ptr = address(L, op.memref, op.indices)
    L.set(op, L.emit(new_op(llvm.LoadOp, (ptr,), llvm_type(op.result.type), ORDERING)))


@lowering_rule(loop.StoreOp)
def _store(L: FunctionLowering, op: loop.StoreOp) -> None:
    ptr = address(L, op.memref, op.indices)
    L.emit(new_op(llvm.StoreOp, (L.v(op.value), ptr), None, ORDERING))


@lowering_rule(loop.AllocOp)
def _alloc(L: FunctionLowering, op: loop.AllocOp) -> None:
    t = op.result.type
    n = _math.prod(t.get_shape())
    esize = element_bytes(t.element_type)
    nbytes = max(n * esize, 1)
    if nbytes <= L.stack_left:
        L.stack_left -= nbytes
        size = L.const(max(n, 1), i64)
        a = llvm.AllocaOp(size, llvm_type(t.element_type), alignment=ALIGN)
        # In the entry block, right after its size constant, so that it runs once.
        L.entry.insert_op_after(a, size.owner)
        L.stack_buffers.add(a.results[0])
        L.set(op, a.results[0])
        return
    size = -(-nbytes // ALIGN) * ALIGN  # aligned_alloc wants a multiple of the alignment
    name = L.extern("aligned_alloc", [i64, i64], PTR)
    call = llvm.CallOp(name, L.const(ALIGN, i64), L.const(size, i64), return_type=PTR)
    L.set(op, L.emit(call))


@lowering_rule(loop.DeallocOp)
def _dealloc(L: FunctionLowering, op: loop.DeallocOp) -> None:
    ptr = L.v(op.memref)
    if ptr not in L.stack_buffers:
        L.emit(llvm.CallOp(L.extern("free", [PTR], None), ptr))


@lowering_rule(memref.GetGlobalOp)
def _get_global(L: FunctionLowering, op: memref.GetGlobalOp) -> None:
    L.set(op, L.emit(llvm.AddressOfOp(op.name_.root_reference, PTR)))


@lowering_rule(func.ReturnOp)
def _return(L: FunctionLowering, op: func.ReturnOp) -> None:
    L.emit(llvm.ReturnOp(L.v(op.arguments[0]) if op.arguments else None))
