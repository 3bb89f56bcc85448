"""convert-loop-to-llvm rule for `func.call`: an `llvm.call`, or, for a call marked
`irforge.parallel` (made by parallelize-loops), one call of irforge's thread pool.

The call `func.call @f__par0(%a, %b, %lb, %ub) {irforge.parallel = {num_threads = 2 : i64,
step = 1 : i64}}` runs `@f__par0` (whose last two arguments are the bounds of its loop) on
chunks of [lb, ub), shared out among the calling thread and the pool's workers. As MLIR's
OpenMP translation does, the arguments are packed into a stack buffer and an outlined
function unpacks them::

    ; caller                                   define internal void @f__par0__omp(ptr %ctx,
    %ctx = alloca {ptr, ptr, i64, i64}                                i64 %t, i64 %n)
    store ptr %a, ptr %ctx                       %a  = load ptr, ptr %ctx
    store ptr %b, ptr (field 1 of %ctx)          %b  = load ptr, ptr (field 1 of %ctx)
    store i64 %lb / %ub ...                      %lb = ..., %ub = ...
    call void @irforge_parallel_for(             ; static chunk [lo, hi) number t of n
        ptr @f__par0__omp, ptr %ctx, i64 2)      call void @f__par0(%a, %b, %lo, %hi)

`irforge_parallel_for(fn, ctx, threads)` (backends/llvm/thread_pool.py) calls `fn(ctx, t,
n)` once for every chunk t of n (n = `threads` times a few, or 1 when it runs alone) and
returns after all have finished, so the stack buffer outlives them and the caller sees all
the writes. The chunks follow OpenMP's `schedule(static)` without a chunk size: with T
iterations and n chunks, chunk t has q = T / n iterations plus one more if t < T % n, in
order, so the chunks are contiguous and their sizes differ by at most one.

Source: OpenMP 5.2 section 2.11.4 (static schedule), MLIR's OpenMPToLLVMIRTranslation
(outlining with a context struct).
"""

from __future__ import annotations

from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DictionaryAttr,
    IntegerAttr,
    UnitAttr,
    i32,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import PassFailedException

from ..loop.parallelize_loops import PARALLEL_ATTR
from .base import ORDERING, PTR, FunctionLowering, llvm_type, lowering_rule, new_op, pred


def _serial_call(L: FunctionLowering, op: func.CallOp) -> None:
    """`func.call` -> `llvm.call`."""
    results = [llvm_type(r.type) for r in op.results]
    if len(results) > 1:
        raise PassFailedException("convert-loop-to-llvm: calls with several results")
    call = llvm.CallOp(
        op.callee.root_reference.data,
        *[L.v(a) for a in op.arguments],
        return_type=results[0] if results else None,
    )
    L.emit(call)
    if results:
        L.set(op, call.results[0])


def _field(ptr: SSAValue, struct: llvm.LLVMStructType, k: int) -> Operation:
    """`getelementptr inbounds %struct, ptr, 0, k`: the address of field k."""
    props = {
        "rawConstantIndices": DenseArrayBase.from_list(i32, [0, k]),
        "elem_type": struct,
        "noWrapFlags": IntegerAttr(0, 32),
        "inbounds": UnitAttr(),
    }
    return new_op(llvm.GEPOp, (ptr,), PTR, props)


class _Builder:
    """Appends llvm ops to a block (for the small outlined function)."""

    def __init__(self, block: Block):
        self.block = block

    def __call__(self, op: Operation) -> SSAValue | None:
        self.block.add_op(op)
        return op.results[0] if op.results else None

    def const(self, value: int, t=i64) -> SSAValue:
        return self(llvm.ConstantOp(IntegerAttr(value, t), t))

    def binary(self, cls: type[Operation], a: SSAValue, b: SSAValue) -> SSAValue:
        return self(cls(a, b))

    def select_min(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self(llvm.SelectOp(self(llvm.ICmpOp(a, b, pred("slt"))), a, b))


def _outlined(name: str, callee: str, struct: llvm.LLVMStructType, step: int):
    """`void name(ptr ctx, i64 t, i64 n)`: unpack the arguments, take chunk t of n of the
    iterations, call `callee(args..., lo, hi)`."""
    entry = Block(arg_types=[PTR, i64, i64])
    b = _Builder(entry)
    ctx, tid, nth = entry.args
    args = []
    for k, t in enumerate(struct.types.data):
        args.append(b(new_op(llvm.LoadOp, (b(_field(ctx, struct, k)),), t, ORDERING)))
    lb, ub = args[-2], args[-1]
    # T = max(0, ceil((ub - lb) / step)); q, r = divmod(T, n)
    span = b.binary(llvm.SubOp, ub, lb)
    if step != 1:
        span = b.binary(llvm.AddOp, span, b.const(step - 1))
        span = b.binary(llvm.SDivOp, span, b.const(step))
    zero = b.const(0)
    trips = b(llvm.SelectOp(b(llvm.ICmpOp(span, zero, pred("sgt"))), span, zero))
    q = b.binary(llvm.SDivOp, trips, nth)
    r = b.binary(llvm.SRemOp, trips, nth)
    # first = t*q + min(t, r); last = first + q + (t < r)
    first = b.binary(llvm.AddOp, b.binary(llvm.MulOp, tid, q), b.select_min(tid, r))
    extra = b(llvm.ZExtOp(b(llvm.ICmpOp(tid, r, pred("slt"))), i64))
    last = b.binary(llvm.AddOp, b.binary(llvm.AddOp, first, q), extra)
    if step != 1:
        first = b.binary(llvm.MulOp, first, b.const(step))
        last = b.binary(llvm.MulOp, last, b.const(step))
    lo = b.binary(llvm.AddOp, lb, first)
    hi = b.binary(llvm.AddOp, lb, last)
    b(llvm.CallOp(callee, *args[:-2], lo, hi))
    b(llvm.ReturnOp())
    return llvm.FuncOp(
        name,
        llvm.LLVMFunctionType([PTR, i64, i64], None),
        linkage=llvm.LinkageAttr("internal"),
        body=Region(entry),
        other_props={"no_unwind": UnitAttr()},
    )


@lowering_rule(func.CallOp)
def _call(L: FunctionLowering, op: func.CallOp) -> None:
    spec = op.attributes.get(PARALLEL_ATTR)
    if spec is None:
        _serial_call(L, op)
        return
    callee = op.callee.root_reference.data
    fields = spec.data if isinstance(spec, DictionaryAttr) else {}
    n_attr, step_attr = fields.get("num_threads"), fields.get("step")
    if (
        not isinstance(n_attr, IntegerAttr)
        or not isinstance(step_attr, IntegerAttr)
        or n_attr.value.data < 1
        or step_attr.value.data < 1
        or op.results
        or len(op.arguments) < 2
    ):
        raise PassFailedException(
            f"convert-loop-to-llvm: the call to @{callee} has '{PARALLEL_ATTR}' = {spec}; "
            "expected {num_threads = N : i64, step = S : i64} (N, S >= 1) on a call without "
            "results whose last two arguments are the loop bounds"
        )
    n, step = n_attr.value.data, step_attr.value.data
    values = [L.v(a) for a in op.arguments]
    struct = llvm.LLVMStructType.from_type_list([v.type for v in values])
    # The context struct lives in the caller's entry block (one per call site).
    one = L.const(1, i64)
    buf = llvm.AllocaOp(one, struct, alignment=64)
    L.entry.insert_op_after(buf, one.owner)
    # An untyped pointer: llvmlite types an alloca's result as a pointer to the struct.
    cast = llvm.BitcastOp(buf.results[0], PTR)
    L.entry.insert_op_after(cast, buf)
    ctx = cast.results[0]
    for k, v in enumerate(values):
        L.emit(new_op(llvm.StoreOp, (v, L.emit(_field(ctx, struct, k))), None, ORDERING))
    name = f"{callee}__omp"
    if name not in L.externs:
        # A defined function among the declarations: the pass adds it to the module.
        L.externs[name] = _outlined(name, callee, struct, step)
    run = L.extern("irforge_parallel_for", [PTR, PTR, i64], None)
    fn_ptr = L.emit(llvm.AddressOfOp(name, PTR))
    L.emit(llvm.CallOp(run, fn_ptr, ctx, L.const(n, i64)))
