"""`convert-loop-to-llvm`: lower loop-level IR (loop, func, memref globals, arith, math) to
xDSL's `llvm` dialect.

Buffers have static shapes and the identity layout, so a memref becomes a bare `!llvm.ptr`
and an access linearizes its indices with the static row-major strides (one `i64` GEP
index). `index` becomes `i64`. A `loop.for` becomes a rotated loop: a guard, a body block
whose argument is the induction variable, and a latch that branches back::

    "loop.for"(%lb, %ub, %c1) ({            %g = llvm.icmp "slt" %lb, %ub
    ^bb0(%i: index):                         llvm.cond_br %g, ^body(%lb), ^exit
      %v = "loop.load"(%a, %i)          ^body(%i: i64):
        : (memref<8xf32>, index) -> f32     %p = llvm.getelementptr inbounds %a[%i] : f32
      "loop.store"(%v, %b, %i) ...          %v = llvm.load %p : !llvm.ptr -> f32
      "loop.yield"() : () -> ()             ... store ...
    }) : (index, index, index) -> ()        %n = llvm.add %i, %c1 overflow<nsw>
                                             %c = llvm.icmp "slt" %n, %ub
                                             llvm.cond_br %c, ^body(%n), ^exit
                                           ^exit:

Other rules:

- `func.func` -> `llvm.func` (void result; memref args are `ptr`). Public functions get
  `noalias` and `dereferenceable(<bytes>)` on pointer args, and `readonly` on args the body
  never writes (the runtime passes distinct buffers and checks their shapes). Private
  functions (internal linkage; e.g. the nests outline-loop-nests makes) get
  `dereferenceable` and `readonly` the same way, and keep the `llvm.*` argument attributes
  of their `func.func` (`llvm.noalias` only where the caller passes distinct buffers).
  A `passthrough` attribute of the `func.func` (`["noinline"]`) goes to the `llvm.func`.
  `func.call` -> `llvm.call`.
- `memref.global` -> internal `llvm.mlir.global` of type `!llvm.array<N x i8>` whose value is
  the dense attribute itself (translated byte for byte by `irforge.backends.llvm`), align 64;
  `memref.get_global` -> `llvm.mlir.addressof`.
- `loop.alloc` -> a 64-byte aligned `alloca` in the entry block while the function's stack
  budget (`stack_limit` bytes) lasts, else `aligned_alloc(64, size)`; `loop.dealloc` ->
  `free` (nothing for stack buffers). Stack buffers let LLVM keep small accumulators in
  registers.
- arith -> llvm arithmetic; float ops keep their own fast-math flags plus `contract`
  (fma formation; results stay deterministic). `index` add/sub/mul get `nsw`: indices of
  static buffers never overflow 64 bits.
- math -> LLVM intrinsics with the type suffix (`llvm.intr.exp` or `llvm.call_intrinsic
  "llvm.tanh.f32"`); erf, expm1, log1p, cbrt, asinh, acosh, atanh call libm.
- `arith.fptosi`/`fptoui` -> `llvm.fptosi.sat`/`fptoui.sat` (xDSL's llvm dialect has no
  fptosi; the saturating form refines it); `arith.uitofp` -> zext + sitofp.

Raises PassFailedException naming the op for anything else.
Source: MLIR's convert-scf-to-cf, convert-arith-to-llvm, finalize-memref-to-llvm,
https://mlir.llvm.org/docs/TargetLLVMIR/
"""

from __future__ import annotations

import math as _math
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, llvm, memref
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    Signedness,
    UnitAttr,
    VectorType,
    i1,
    i32,
    i64,
)
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from ...dialects import loop

PTR = llvm.LLVMPointerType()
_CONTRACT = frozenset({FastMathFlag.ALLOW_CONTRACT})
_NSW = IntegerAttr(llvm.OverflowAttr([llvm.OverflowFlag.NO_SIGNED_WRAP]).to_int(), 32)
_NO_OVERFLOW = IntegerAttr(0, 32)
_ALIGN = 64
_ORDERING = {"ordering": IntegerAttr(0, i64)}
_PREDICATES = {
    f: IntegerAttr(f.to_int(), i64) for f in llvm.ICmpPredicateFlag
}  # shared: attributes are immutable


def _new(
    cls: type[Operation],
    operands: tuple[SSAValue, ...],
    result_type: Attribute | None = None,
    props: dict[str, Attribute] | None = None,
) -> Operation:
    """`cls` built without its `__init__` (2-3x faster; compile time matters for big
    models). Only for ops without operand segments; `props` must hold every property the
    op requires."""
    return cls.create(
        operands=operands,
        result_types=() if result_type is None else (result_type,),
        properties=props or {},
    )


def llvm_type(t: Attribute) -> Attribute:
    """The llvm-dialect type of a loop-level type: index -> i64, memref -> !llvm.ptr."""
    if isinstance(t, IndexType):
        return i64
    if isinstance(t, MemRefType):
        return PTR
    if isinstance(t, IntegerType) and t.signedness.data != Signedness.SIGNLESS:
        return IntegerType(t.width.data)
    if isinstance(t, VectorType):
        return VectorType(llvm_type(t.element_type), t.get_shape())
    return t


def type_suffix(t: Attribute) -> str:
    """LLVM's intrinsic name mangling of a type: f32, i64, v8f32."""
    if isinstance(t, VectorType):
        return f"v{_math.prod(t.get_shape())}{type_suffix(t.element_type)}"
    if isinstance(t, IntegerType):
        return f"i{t.width.data}"
    if isinstance(t, AnyFloat):
        return f"f{t.bitwidth}"
    raise PassFailedException(f"no intrinsic suffix for type {t}")


def element_bytes(t: Attribute) -> int:
    """Bytes of one memref element in memory (i1 takes a byte, as in NumPy's bool)."""
    if isinstance(t, IndexType):
        return 8
    if isinstance(t, IntegerType):
        return max(1, (t.width.data + 7) // 8)
    if isinstance(t, AnyFloat):
        return t.bitwidth // 8
    if isinstance(t, VectorType):
        return _math.prod(t.get_shape()) * element_bytes(t.element_type)
    raise PassFailedException(f"unsupported memref element type {t}")


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


_FASTMATH: dict[frozenset, llvm.FastMathAttr] = {}


def _fastmath(op: Operation, contract: bool) -> llvm.FastMathAttr:
    flags = getattr(op, "fastmath", None)
    base = flags.data if flags is not None else frozenset()
    if contract:
        base = base | _CONTRACT
    attr = _FASTMATH.get(base)
    if attr is None:
        attr = _FASTMATH[base] = llvm.FastMathAttr(base)
    return attr


# arith integer binary op -> llvm op (and whether `index` operands get nsw).
_INT_BINARY: dict[type[Operation], tuple[type[Operation], bool]] = {
    arith.AddiOp: (llvm.AddOp, True),
    arith.SubiOp: (llvm.SubOp, True),
    arith.MuliOp: (llvm.MulOp, True),
    arith.DivSIOp: (llvm.SDivOp, False),
    arith.DivUIOp: (llvm.UDivOp, False),
    arith.RemSIOp: (llvm.SRemOp, False),
    arith.RemUIOp: (llvm.URemOp, False),
    arith.AndIOp: (llvm.AndOp, False),
    arith.OrIOp: (llvm.OrOp, False),
    arith.XOrIOp: (llvm.XOrOp, False),
    arith.ShLIOp: (llvm.ShlOp, False),
    arith.ShRSIOp: (llvm.AShrOp, False),
    arith.ShRUIOp: (llvm.LShrOp, False),
}
_OVERFLOW_OPS = (llvm.AddOp, llvm.SubOp, llvm.MulOp, llvm.ShlOp)

_FLOAT_BINARY: dict[type[Operation], type[Operation]] = {
    arith.AddfOp: llvm.FAddOp,
    arith.SubfOp: llvm.FSubOp,
    arith.MulfOp: llvm.FMulOp,
    arith.DivfOp: llvm.FDivOp,
}

# Ops xDSL's llvm dialect has as named intrinsics (translated with a type suffix).
_NAMED_UNARY: dict[type[Operation], type[Operation]] = {
    mth.ExpOp: llvm.FExpOp,
    mth.Exp2Op: llvm.FExp2Op,
    mth.LogOp: llvm.FLogOp,
    mth.Log2Op: llvm.FLog2Op,
    mth.SqrtOp: llvm.FSqrtOp,
    mth.FloorOp: llvm.FFloorOp,
    mth.CeilOp: llvm.FCeilOp,
    mth.SinOp: llvm.FSinOp,
    mth.CosOp: llvm.FCosOp,
}
_NAMED_BINARY: dict[type[Operation], type[Operation]] = {
    mth.PowFOp: llvm.FPowOp,
    mth.CopySignOp: llvm.FCopySignOp,
    arith.MaxnumfOp: llvm.VectorFMaxOp,
    arith.MinnumfOp: llvm.VectorFMinOp,
}
# Everything else that LLVM has as an overloaded intrinsic (name without suffix).
_INTRINSIC: dict[type[Operation], str] = {
    mth.TanhOp: "llvm.tanh",
    mth.TanOp: "llvm.tan",
    mth.SinhOp: "llvm.sinh",
    mth.CoshOp: "llvm.cosh",
    mth.AsinOp: "llvm.asin",
    mth.AcosOp: "llvm.acos",
    mth.AtanOp: "llvm.atan",
    mth.Atan2Op: "llvm.atan2",
    mth.Log10Op: "llvm.log10",
    mth.TruncOp: "llvm.trunc",
    mth.RoundOp: "llvm.round",
    mth.RoundEvenOp: "llvm.roundeven",
    mth.CtPopOp: "llvm.ctpop",
    arith.MaximumfOp: "llvm.maximum",
    arith.MinimumfOp: "llvm.minimum",
}
# libm functions, by element type.
_LIBM: dict[type[Operation], str] = {
    mth.ErfOp: "erf",
    mth.ExpM1Op: "expm1",
    mth.Log1pOp: "log1p",
    mth.CbrtOp: "cbrt",
    mth.AsinhOp: "asinh",
    mth.AcoshOp: "acosh",
    mth.AtanhOp: "atanh",
}


class _FuncLowering:
    """Builds one llvm.func from one func.func by walking its ops in order."""

    def __init__(self, pass_: ConvertLoopToLLVMPass, externs: dict[str, llvm.FuncOp]):
        self.contract = pass_.contract
        self.stack_left = pass_.stack_limit
        self.externs = externs
        self.vmap: dict[SSAValue, SSAValue] = {}
        self.ints: dict[SSAValue, int] = {}  # new value -> its integer constant
        self.const_cache: dict[tuple[Attribute, object], SSAValue] = {}
        self.stack_buffers: set[SSAValue] = set()
        # Linearized offsets already computed in the current block, by (indices, strides).
        self.offsets: dict[tuple, SSAValue] = {}
        self.region = Region()
        self.entry = Block()
        self.cur = self.entry

    # -- emission helpers -------------------------------------------------------------

    def emit(self, op: Operation) -> SSAValue | None:
        self.cur.add_op(op)
        return op.results[0] if op.results else None

    def const(self, value: int | float, t: Attribute) -> SSAValue:
        """A constant in the entry block (hoisted, deduplicated: it dominates every use)."""
        is_float = isinstance(t, AnyFloat)
        # float.hex keeps -0.0 apart from 0.0 (they compare equal).
        key = (t, float(value).hex() if is_float else int(value))
        v = self.const_cache.get(key)
        if v is None:
            attr = FloatAttr(value, t) if is_float else _int_attr(value, t)
            op = _new(llvm.ConstantOp, (), t, {"value": attr})
            first = self.entry.first_op
            if first is None:
                self.entry.add_op(op)
            else:
                self.entry.insert_op_before(op, first)
            v = self.const_cache[key] = op.result
            if isinstance(t, IntegerType):
                self.ints[v] = int(value)
        return v

    def add_nsw(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(_new(llvm.AddOp, (a, b), a.type, {"overflowFlags": _NSW}))

    def extern(self, name: str, inputs: list[Attribute], output: Attribute | None) -> str:
        if name not in self.externs:
            ftype = llvm.LLVMFunctionType(inputs, output)
            self.externs[name] = llvm.FuncOp(name, ftype, linkage=llvm.LinkageAttr("external"))
        return name

    def intrinsic(self, name: str, args: list[SSAValue], t: Attribute) -> SSAValue:
        return self.emit(llvm.CallIntrinsicOp(f"{name}.{type_suffix(t)}", args, [t]))

    # -- functions ----------------------------------------------------------------------

    def lower_func(self, f: func.FuncOp) -> llvm.FuncOp:
        ftype = f.function_type
        inputs = [llvm_type(t) for t in ftype.inputs.data]
        outputs = [llvm_type(t) for t in ftype.outputs.data]
        if len(outputs) > 1:
            raise PassFailedException(f"'{f.sym_name.data}': more than one result")
        public = f.sym_visibility is None or f.sym_visibility.data == "public"
        linkage = llvm.LinkageAttr("external" if public else "internal")
        lftype = llvm.LLVMFunctionType(inputs, outputs[0] if outputs else None)
        if not f.body.blocks:  # a declaration
            return llvm.FuncOp(f.sym_name.data, lftype, linkage=llvm.LinkageAttr("external"))
        src = f.body.block
        for arg, t in zip(src.args, inputs):
            self.vmap[arg] = self.entry.insert_arg(t, len(self.entry.args))
        self.region.add_block(self.entry)
        self.lower_block(src)
        props: dict[str, Attribute | None] = {"no_unwind": UnitAttr()}
        passthrough = f.attributes.get("passthrough")
        if isinstance(passthrough, ArrayAttr):
            props["passthrough"] = passthrough
        if public:
            props["arg_attrs"] = ArrayAttr([_arg_attrs(a) for a in src.args])
        else:
            given = f.arg_attrs.data if f.arg_attrs is not None else [None] * len(src.args)
            props["arg_attrs"] = ArrayAttr(
                [_arg_attrs(a, noalias=False, given=g) for a, g in zip(src.args, given)]
            )
        return llvm.FuncOp(
            f.sym_name.data, lftype, linkage=linkage, body=self.region, other_props=props
        )

    def lower_block(self, block: Block) -> None:
        for op in block.ops:
            handler = _HANDLERS.get(type(op))
            if handler is None:
                if isinstance(op, loop.YieldOp):
                    continue  # the latch of the enclosing loop.for stands for it
                name = op.op_name.data if hasattr(op, "op_name") else op.name  # unregistered
                raise PassFailedException(
                    f"convert-loop-to-llvm: cannot lower '{name}' (no rule for it)"
                )
            handler(self, op)

    def v(self, value: SSAValue) -> SSAValue:
        return self.vmap[value]

    def set(self, op: Operation, value: SSAValue) -> None:
        self.vmap[op.results[0]] = value


def _int_attr(value: int, t: Attribute) -> IntegerAttr:
    width = t.width.data if isinstance(t, IntegerType) else 64
    if width == 1:
        value = 1 if value else 0
    elif value >= 1 << (width - 1):  # two's complement into the signless range
        value -= 1 << width
    return IntegerAttr(value, IntegerType(width))


def _arg_attrs(
    arg: SSAValue, noalias: bool = True, given: DictionaryAttr | None = None
) -> DictionaryAttr:
    """The attributes of a pointer argument: `noalias` (when asked), `dereferenceable`,
    `readonly` when the body only loads from it, plus the `llvm.*` ones in `given`."""
    t = arg.type
    attrs: dict[str, Attribute] = {}
    if given is not None:
        attrs.update((k, v) for k, v in given.data.items() if k.startswith("llvm."))
    if not isinstance(t, MemRefType):
        return DictionaryAttr(attrs)
    nbytes = _math.prod(t.get_shape()) * element_bytes(t.element_type)
    if noalias:
        attrs["llvm.noalias"] = UnitAttr()
    if nbytes:
        attrs["llvm.dereferenceable"] = IntegerAttr(nbytes, 64)
    if all(isinstance(u.operation, loop.LoadOp) for u in arg.uses):
        attrs["llvm.readonly"] = UnitAttr()
    return DictionaryAttr(attrs)


# -- op rules -----------------------------------------------------------------------------

_Handler = Callable[[_FuncLowering, Operation], None]
_HANDLERS: dict[type[Operation], _Handler] = {}


def _rule(*types: type[Operation]):
    def register(fn: _Handler) -> _Handler:
        for t in types:
            _HANDLERS[t] = fn
        return fn

    return register


@_rule(loop.ForOp)
def _for(L: _FuncLowering, op: loop.ForOp) -> None:
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


_COND_BR_PROPS = {"operandSegmentSizes": DenseArrayBase.from_list(i32, [1, 1, 0])}


def _cond_br(cond: SSAValue, then: Block, arg: SSAValue, else_: Block) -> Operation:
    """`llvm.cond_br %cond, ^then(%arg), ^else` (built fast, as `_new` does)."""
    return llvm.CondBrOp.create(
        operands=(cond, arg), properties=_COND_BR_PROPS, successors=(then, else_)
    )


def _pred(name: str) -> IntegerAttr:
    return _PREDICATES[llvm.ICmpPredicateFlag(name)]


def _icmp(L: _FuncLowering, pred: str, a: SSAValue, b: SSAValue) -> SSAValue:
    return L.emit(_new(llvm.ICmpOp, (a, b), i1, {"predicate": _pred(pred)}))


def _address(L: _FuncLowering, memref_value: SSAValue, indices) -> SSAValue:
    t = memref_value.type
    ptr = L.v(memref_value)
    shape = t.get_shape()
    if not shape:
        return ptr
    new_indices = tuple(L.v(i) for i in indices)
    key = (new_indices, shape[1:])
    off = L.offsets.get(key)
    if off is None:
        off = L.offsets[key] = _offset(L, new_indices, shape)
    if off == 0:
        return ptr
    return L.emit(_new(llvm.GEPOp, (ptr, off), PTR, _gep_props(t.element_type)))


_GEP_PROPS: dict[Attribute, dict[str, Attribute]] = {}


def _gep_props(elem: Attribute) -> dict[str, Attribute]:
    props = _GEP_PROPS.get(elem)
    if props is None:
        props = _GEP_PROPS[elem] = {
            "rawConstantIndices": DenseArrayBase.from_list(i32, [llvm.GEP_USE_SSA_VAL]),
            "elem_type": llvm_type(elem),
            "noWrapFlags": IntegerAttr(0, 32),
            "inbounds": UnitAttr(),
        }
    return props


def _offset(L: _FuncLowering, indices: tuple[SSAValue, ...], shape) -> SSAValue | int:
    """sum(index * stride) as one i64 value (0 when it is the constant 0)."""
    const_off = 0
    terms: list[SSAValue] = []
    for i, stride in zip(indices, _strides(shape)):
        c = L.ints.get(i)
        if c is not None:
            const_off += c * stride
        elif stride == 1:
            terms.append(i)
        else:
            mul = _new(llvm.MulOp, (i, L.const(stride, i64)), i64, {"overflowFlags": _NSW})
            terms.append(L.emit(mul))
    if not terms and const_off == 0:
        return 0
    if const_off:
        terms.append(L.const(const_off, i64))
    off = terms[0]
    for term in terms[1:]:
        off = L.add_nsw(off, term)
    return off


@_rule(loop.LoadOp)
def _load(L: _FuncLowering, op: loop.LoadOp) -> None:
    ptr = _address(L, op.memref, op.indices)
    L.set(op, L.emit(_new(llvm.LoadOp, (ptr,), llvm_type(op.result.type), _ORDERING)))


@_rule(loop.StoreOp)
def _store(L: _FuncLowering, op: loop.StoreOp) -> None:
    ptr = _address(L, op.memref, op.indices)
    L.emit(_new(llvm.StoreOp, (L.v(op.value), ptr), None, _ORDERING))


@_rule(loop.AllocOp)
def _alloc(L: _FuncLowering, op: loop.AllocOp) -> None:
    t = op.result.type
    n = _math.prod(t.get_shape())
    esize = element_bytes(t.element_type)
    nbytes = max(n * esize, 1)
    if nbytes <= L.stack_left:
        L.stack_left -= nbytes
        size = L.const(max(n, 1), i64)
        a = llvm.AllocaOp(size, llvm_type(t.element_type), alignment=_ALIGN)
        # In the entry block, right after its size constant, so that it runs once.
        L.entry.insert_op_after(a, size.owner)
        L.stack_buffers.add(a.results[0])
        L.set(op, a.results[0])
        return
    size = -(-nbytes // _ALIGN) * _ALIGN  # aligned_alloc wants a multiple of the alignment
    name = L.extern("aligned_alloc", [i64, i64], PTR)
    call = llvm.CallOp(name, L.const(_ALIGN, i64), L.const(size, i64), return_type=PTR)
    L.set(op, L.emit(call))


@_rule(loop.DeallocOp)
def _dealloc(L: _FuncLowering, op: loop.DeallocOp) -> None:
    ptr = L.v(op.memref)
    if ptr not in L.stack_buffers:
        L.emit(llvm.CallOp(L.extern("free", [PTR], None), ptr))


@_rule(memref.GetGlobalOp)
def _get_global(L: _FuncLowering, op: memref.GetGlobalOp) -> None:
    L.set(op, L.emit(llvm.AddressOfOp(op.name_.root_reference, PTR)))


@_rule(func.ReturnOp)
def _return(L: _FuncLowering, op: func.ReturnOp) -> None:
    L.emit(llvm.ReturnOp(L.v(op.arguments[0]) if op.arguments else None))


@_rule(func.CallOp)
def _call(L: _FuncLowering, op: func.CallOp) -> None:
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


@_rule(arith.ConstantOp)
def _constant(L: _FuncLowering, op: arith.ConstantOp) -> None:
    t = llvm_type(op.result.type)
    value = op.value
    if isinstance(value, IntegerAttr | FloatAttr):
        L.set(op, L.const(value.value.data, t))
    elif isinstance(value, DenseIntOrFPElementsAttr) and isinstance(t, VectorType):
        L.set(op, L.emit(llvm.ConstantOp(value, t)))
    else:
        raise PassFailedException(f"convert-loop-to-llvm: unsupported constant {value}")


def _int_binary(L: _FuncLowering, op: Operation) -> None:
    new_cls, index_nsw = _INT_BINARY[type(op)]
    lhs, rhs = L.v(op.operands[0]), L.v(op.operands[1])
    if new_cls in _OVERFLOW_OPS:
        flags = _NSW if index_nsw and isinstance(op.result.type, IndexType) else _NO_OVERFLOW
        src = getattr(op, "overflow_flags", None)
        if src is not None and src.data and flags is _NO_OVERFLOW:
            own = llvm.OverflowAttr([llvm.OverflowFlag(f.value) for f in src.data])
            flags = IntegerAttr(own.to_int(), 32)
        L.set(op, L.emit(_new(new_cls, (lhs, rhs), lhs.type, {"overflowFlags": flags})))
    else:
        L.set(op, L.emit(_new(new_cls, (lhs, rhs), lhs.type)))


for _t in _INT_BINARY:
    _HANDLERS[_t] = _int_binary


def _float_binary(L: _FuncLowering, op: Operation) -> None:
    lhs = L.v(op.lhs)
    props = {"fastmathFlags": _fastmath(op, L.contract)}
    L.set(op, L.emit(_new(_FLOAT_BINARY[type(op)], (lhs, L.v(op.rhs)), lhs.type, props)))


for _t in _FLOAT_BINARY:
    _HANDLERS[_t] = _float_binary


@_rule(arith.NegfOp)
def _negf(L: _FuncLowering, op: arith.NegfOp) -> None:
    L.set(op, L.emit(llvm.FNegOp(L.v(op.operand), _fastmath(op, L.contract))))


@_rule(arith.CmpiOp)
def _cmpi(L: _FuncLowering, op: arith.CmpiOp) -> None:
    # arith.cmpi and llvm.icmp number their predicates alike (eq=0 ... uge=9).
    pred = IntegerAttr(op.predicate.value.data, i64)
    lhs = L.v(op.lhs)
    res = VectorType(i1, lhs.type.get_shape()) if isinstance(lhs.type, VectorType) else i1
    L.set(op, L.emit(_new(llvm.ICmpOp, (lhs, L.v(op.rhs)), res, {"predicate": pred})))


@_rule(arith.CmpfOp)
def _cmpf(L: _FuncLowering, op: arith.CmpfOp) -> None:
    # arith.cmpf and llvm.fcmp number their predicates alike (false=0 ... true=15).
    p = op.predicate.value.data
    if p in (0, 15):
        L.set(op, L.const(1 if p == 15 else 0, i1))
        return
    L.set(op, L.emit(llvm.FCmpOp(L.v(op.lhs), L.v(op.rhs), IntegerAttr(p, i64))))


@_rule(arith.SelectOp)
def _select(L: _FuncLowering, op: arith.SelectOp) -> None:
    new = llvm.SelectOp(L.v(op.cond), L.v(op.lhs), L.v(op.rhs))
    L.set(op, L.emit(new))


@_rule(arith.MaxSIOp, arith.MinSIOp, arith.MaxUIOp, arith.MinUIOp)
def _int_minmax(L: _FuncLowering, op: Operation) -> None:
    pred = {
        arith.MaxSIOp: "sgt",
        arith.MinSIOp: "slt",
        arith.MaxUIOp: "ugt",
        arith.MinUIOp: "ult",
    }[type(op)]
    a, b = L.v(op.lhs), L.v(op.rhs)
    c = L.emit(llvm.ICmpOp(a, b, _pred(pred)))
    L.set(op, L.emit(llvm.SelectOp(c, a, b)))


@_rule(arith.FloorDivSIOp, arith.CeilDivSIOp)
def _floor_ceil_div(L: _FuncLowering, op: Operation) -> None:
    # q = a / b (truncating); adjust by -1 (floor) or +1 (ceil) when the remainder is
    # nonzero and the exact quotient is negative (floor) or positive (ceil).
    a, b = L.v(op.lhs), L.v(op.rhs)
    t = a.type
    q = L.emit(llvm.SDivOp(a, b))
    r = L.emit(llvm.SRemOp(a, b))
    zero = L.const(0, t)
    nonzero = L.emit(llvm.ICmpOp(r, zero, _pred("ne")))
    r_neg = L.emit(llvm.ICmpOp(r, zero, _pred("slt")))
    b_neg = L.emit(llvm.ICmpOp(b, zero, _pred("slt")))
    signs_differ = L.emit(llvm.XOrOp(r_neg, b_neg))
    if isinstance(op, arith.FloorDivSIOp):
        adjust, delta = L.emit(llvm.AndOp(nonzero, signs_differ)), -1
    else:
        same = L.emit(llvm.XOrOp(signs_differ, L.const(1, i1)))
        adjust, delta = L.emit(llvm.AndOp(nonzero, same)), 1
    moved = L.emit(llvm.AddOp(q, L.const(delta, t)))
    L.set(op, L.emit(llvm.SelectOp(adjust, moved, q)))


def _width(t: Attribute) -> int:
    return 64 if isinstance(t, IndexType) else t.width.data


@_rule(arith.IndexCastOp, arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp)
def _int_cast(L: _FuncLowering, op: Operation) -> None:
    x = L.v(op.operands[0])
    src, dst = _width(op.operands[0].type), _width(op.results[0].type)
    to = llvm_type(op.results[0].type)
    if src == dst:
        L.set(op, x)
    elif src > dst:
        L.set(op, L.emit(llvm.TruncOp(x, to)))
    elif isinstance(op, arith.ExtUIOp):
        L.set(op, L.emit(llvm.ZExtOp(x, to)))
    else:
        L.set(op, L.emit(llvm.SExtOp(x, to)))


_SIMPLE_CASTS: dict[type[Operation], type[Operation]] = {
    arith.SIToFPOp: llvm.SIToFPOp,
    arith.ExtFOp: llvm.FPExtOp,
    arith.TruncFOp: llvm.FPTruncOp,
    arith.BitcastOp: llvm.BitcastOp,
}


@_rule(*_SIMPLE_CASTS)
def _simple_cast(L: _FuncLowering, op: Operation) -> None:
    new = _SIMPLE_CASTS[type(op)](L.v(op.operands[0]), llvm_type(op.results[0].type))
    L.set(op, L.emit(new))


@_rule(arith.UIToFPOp)
def _uitofp(L: _FuncLowering, op: arith.UIToFPOp) -> None:
    x = L.v(op.input)
    to = op.result.type
    w = _width(op.input.type)
    if w < 64:
        wide = L.emit(llvm.ZExtOp(x, i64))
        L.set(op, L.emit(llvm.SIToFPOp(wide, to)))
        return
    # 64-bit: values with the top bit set are halved (keeping the sticky low bit so that
    # rounding is right), converted, and doubled.
    t = x.type
    neg = L.emit(llvm.ICmpOp(x, L.const(0, t), _pred("slt")))
    half = L.emit(llvm.LShrOp(x, L.const(1, t)))
    low = L.emit(llvm.AndOp(x, L.const(1, t)))
    halved = L.emit(llvm.OrOp(half, low))
    big = L.emit(llvm.SIToFPOp(halved, to))
    big2 = L.emit(llvm.FAddOp(big, big))
    small = L.emit(llvm.SIToFPOp(x, to))
    L.set(op, L.emit(llvm.SelectOp(neg, big2, small)))


@_rule(arith.FPToSIOp, arith.FPToUIOp)
def _fptoint(L: _FuncLowering, op: Operation) -> None:
    kind = "fptosi" if isinstance(op, arith.FPToSIOp) else "fptoui"
    src, dst = op.operands[0].type, llvm_type(op.results[0].type)
    name = f"llvm.{kind}.sat.{type_suffix(dst)}.{type_suffix(src)}"
    L.set(op, L.emit(llvm.CallIntrinsicOp(name, [L.v(op.operands[0])], [dst])))


def _named_unary(L: _FuncLowering, op: Operation) -> None:
    L.set(op, L.emit(_NAMED_UNARY[type(op)](L.v(op.operand))))


for _t in _NAMED_UNARY:
    _HANDLERS[_t] = _named_unary


def _named_binary(L: _FuncLowering, op: Operation) -> None:
    L.set(op, L.emit(_NAMED_BINARY[type(op)](L.v(op.lhs), L.v(op.rhs))))


for _t in _NAMED_BINARY:
    _HANDLERS[_t] = _named_binary


def _intrinsic_op(L: _FuncLowering, op: Operation) -> None:
    args = [L.v(a) for a in op.operands]
    L.set(op, L.intrinsic(_INTRINSIC[type(op)], args, args[0].type))


for _t in _INTRINSIC:
    _HANDLERS[_t] = _intrinsic_op


@_rule(mth.AbsFOp)
def _absf(L: _FuncLowering, op: mth.AbsFOp) -> None:
    x = L.v(op.operand)
    L.set(op, L.emit(llvm.FAbsOp(x, x.type)))


@_rule(mth.FmaOp)
def _fma(L: _FuncLowering, op: mth.FmaOp) -> None:
    L.set(op, L.emit(llvm.FMAOp(L.v(op.a), L.v(op.b), L.v(op.c))))


@_rule(mth.RsqrtOp)
def _rsqrt(L: _FuncLowering, op: mth.RsqrtOp) -> None:
    x = L.v(op.operand)
    root = L.emit(llvm.FSqrtOp(x))
    L.set(op, L.emit(llvm.FDivOp(L.const(1.0, x.type), root, _fastmath(op, L.contract))))


@_rule(mth.FPowIOp)
def _fpowi(L: _FuncLowering, op: mth.FPowIOp) -> None:
    x, n = L.v(op.lhs), L.v(op.rhs)
    name = f"llvm.powi.{type_suffix(x.type)}.{type_suffix(n.type)}"
    L.set(op, L.emit(llvm.CallIntrinsicOp(name, [x, n], [x.type])))


@_rule(mth.AbsIOp, mth.CountLeadingZerosOp, mth.CountTrailingZerosOp)
def _int_bits(L: _FuncLowering, op: Operation) -> None:
    # The i1 operand says whether INT_MIN / zero input is poison: it is not.
    name = {mth.AbsIOp: "llvm.abs", mth.CountLeadingZerosOp: "llvm.ctlz"}.get(type(op), "llvm.cttz")
    x = L.v(op.operand)
    L.set(op, L.intrinsic(name, [x, L.const(0, i1)], x.type))


def _libm(L: _FuncLowering, op: Operation) -> None:
    x = L.v(op.operands[0])
    t = x.type
    if not isinstance(t, AnyFloat) or t.bitwidth not in (32, 64):
        raise PassFailedException(f"convert-loop-to-llvm: '{op.name}' only on f32/f64 scalars")
    base = _LIBM[type(op)]
    name = L.extern(base + ("f" if t.bitwidth == 32 else ""), [t], t)
    L.set(op, L.emit(llvm.CallOp(name, x, return_type=t)))


for _t in _LIBM:
    _HANDLERS[_t] = _libm


# -- the pass -----------------------------------------------------------------------------


def _lower_global(op: memref.GlobalOp) -> llvm.GlobalOp:
    t = op.type
    nbytes = _math.prod(t.get_shape()) * element_bytes(t.element_type)
    value = op.initial_value
    constant = op.constant is not None
    if not isinstance(value, DenseIntOrFPElementsAttr):
        value = None  # uninitialized: zero-filled by the translation
    align = max(_ALIGN, op.alignment.value.data if op.alignment is not None else 0)
    return llvm.GlobalOp(
        llvm.LLVMArrayType(nbytes, IntegerType(8)),
        op.sym_name,
        "internal",
        constant=constant,
        value=value,
        alignment=align,
    )


@dataclass(frozen=True)
class ConvertLoopToLLVMPass(ModulePass):
    """Lower loop-level IR to the llvm dialect (see the module docstring).

    Options: `contract` adds the `contract` fast-math flag to float arithmetic (lets LLVM
    form fma); `stack_limit` is the per-function budget in bytes for placing `loop.alloc`
    buffers on the stack instead of the heap (0 puts every buffer on the heap).
    """

    name = "convert-loop-to-llvm"

    contract: bool = True
    stack_limit: int = 65536

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        externs: dict[str, llvm.FuncOp] = {}
        new_ops: list[Operation] = []
        for top in list(op.ops):
            if isinstance(top, memref.GlobalOp):
                new_ops.append(_lower_global(top))
            elif isinstance(top, func.FuncOp):
                new_ops.append(_FuncLowering(self, externs).lower_func(top))
            elif isinstance(top, llvm.FuncOp | llvm.GlobalOp):
                if isinstance(top, llvm.FuncOp) and not top.body.blocks:
                    externs.setdefault(top.sym_name.data, top)
                    top.detach()
                    continue
                new_ops.append(top.clone())
            else:
                raise PassFailedException(
                    f"convert-loop-to-llvm: cannot lower top-level '{top.name}'"
                )
        declared = {o.sym_name.data for o in new_ops if isinstance(o, llvm.FuncOp)}
        for name, decl in externs.items():
            if name not in declared:
                new_ops.append(decl)
        body = op.body.block
        for old in list(body.ops):
            old.detach()
            old.drop_all_references()
        for new in new_ops:
            body.add_op(new)


# Rules kept in their own files register on _HANDLERS when imported: func.call ->
# GOMP_parallel, the vector dialect, loop.view (byte GEP), loop.reshape.
from . import parallel, reshape, vector, view  # noqa: E402, F401, I001
