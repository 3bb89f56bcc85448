"""convert-loop-to-llvm rules for the arith and math dialects (scalars and vectors alike).

- arith -> llvm arithmetic; float ops keep their own fast-math flags plus `contract` (fma
  formation; results stay deterministic). `index` add/sub/mul get `nsw`: indices of static
  buffers never overflow 64 bits.
- math -> LLVM intrinsics with the type suffix (`llvm.intr.exp` or `llvm.call_intrinsic
  "llvm.tanh.f32"`); erf, expm1, log1p, cbrt, asinh, acosh, atanh call libm.
- `arith.fptosi`/`fptoui` -> `llvm.fptosi.sat`/`fptoui.sat` (xDSL's llvm dialect has no
  fptosi; the saturating form refines it); `arith.uitofp` -> zext + sitofp.

Source: MLIR's convert-arith-to-llvm and convert-math-to-llvm.
"""

from __future__ import annotations

from xdsl.dialects import arith, llvm
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    VectorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, Operation
from xdsl.utils.exceptions import PassFailedException

from .base import (
    NSW,
    FunctionLowering,
    fastmath,
    llvm_type,
    lowering_rule,
    new_op,
    pred,
    type_suffix,
)

_NO_OVERFLOW = IntegerAttr(0, 32)

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


@lowering_rule(arith.ConstantOp)
def _constant(L: FunctionLowering, op: arith.ConstantOp) -> None:
    t = llvm_type(op.result.type)
    value = op.value
    if isinstance(value, IntegerAttr | FloatAttr):
        L.set(op, L.const(value.value.data, t))
    elif isinstance(value, DenseIntOrFPElementsAttr) and isinstance(t, VectorType):
        L.set(op, L.emit(llvm.ConstantOp(value, t)))
    else:
        raise PassFailedException(f"convert-loop-to-llvm: unsupported constant {value}")


@lowering_rule(*_INT_BINARY)
def _int_binary(L: FunctionLowering, op: Operation) -> None:
    new_cls, index_nsw = _INT_BINARY[type(op)]
    lhs, rhs = L.v(op.operands[0]), L.v(op.operands[1])
    if new_cls in _OVERFLOW_OPS:
        flags = NSW if index_nsw and isinstance(op.result.type, IndexType) else _NO_OVERFLOW
        src = getattr(op, "overflow_flags", None)
        if src is not None and src.data and flags is _NO_OVERFLOW:
            own = llvm.OverflowAttr([llvm.OverflowFlag(f.value) for f in src.data])
            flags = IntegerAttr(own.to_int(), 32)
        L.set(op, L.emit(new_op(new_cls, (lhs, rhs), lhs.type, {"overflowFlags": flags})))
    else:
        L.set(op, L.emit(new_op(new_cls, (lhs, rhs), lhs.type)))


@lowering_rule(*_FLOAT_BINARY)
def _float_binary(L: FunctionLowering, op: Operation) -> None:
    lhs = L.v(op.lhs)
    props = {"fastmathFlags": fastmath(op, L.contract)}
    L.set(op, L.emit(new_op(_FLOAT_BINARY[type(op)], (lhs, L.v(op.rhs)), lhs.type, props)))


@lowering_rule(arith.NegfOp)
def _negf(L: FunctionLowering, op: arith.NegfOp) -> None:
    L.set(op, L.emit(llvm.FNegOp(L.v(op.operand), fastmath(op, L.contract))))


@lowering_rule(arith.CmpiOp)
def _cmpi(L: FunctionLowering, op: arith.CmpiOp) -> None:
    # arith.cmpi and llvm.icmp number their predicates alike (eq=0 ... uge=9).
    predicate = IntegerAttr(op.predicate.value.data, i64)
    lhs = L.v(op.lhs)
    res = VectorType(i1, lhs.type.get_shape()) if isinstance(lhs.type, VectorType) else i1
    L.set(op, L.emit(new_op(llvm.ICmpOp, (lhs, L.v(op.rhs)), res, {"predicate": predicate})))


@lowering_rule(arith.CmpfOp)
def _cmpf(L: FunctionLowering, op: arith.CmpfOp) -> None:
    # arith.cmpf and llvm.fcmp number their predicates alike (false=0 ... true=15).
    p = op.predicate.value.data
    if p in (0, 15):
        L.set(op, L.const(1 if p == 15 else 0, i1))
        return
    L.set(op, L.emit(llvm.FCmpOp(L.v(op.lhs), L.v(op.rhs), IntegerAttr(p, i64))))


@lowering_rule(arith.SelectOp)
def _select(L: FunctionLowering, op: arith.SelectOp) -> None:
    new = llvm.SelectOp(L.v(op.cond), L.v(op.lhs), L.v(op.rhs))
    L.set(op, L.emit(new))


@lowering_rule(arith.MaxSIOp, arith.MinSIOp, arith.MaxUIOp, arith.MinUIOp)
def _int_minmax(L: FunctionLowering, op: Operation) -> None:
    predicate = {
        arith.MaxSIOp: "sgt",
        arith.MinSIOp: "slt",
        arith.MaxUIOp: "ugt",
        arith.MinUIOp: "ult",
    }[type(op)]
    a, b = L.v(op.lhs), L.v(op.rhs)
    c = L.emit(llvm.ICmpOp(a, b, pred(predicate)))
    L.set(op, L.emit(llvm.SelectOp(c, a, b)))


@lowering_rule(arith.FloorDivSIOp, arith.CeilDivSIOp)
def _floor_ceil_div(L: FunctionLowering, op: Operation) -> None:
    # q = a / b (truncating); adjust by -1 (floor) or +1 (ceil) when the remainder is
    # nonzero and the exact quotient is negative (floor) or positive (ceil).
    a, b = L.v(op.lhs), L.v(op.rhs)
    t = a.type
    q = L.emit(llvm.SDivOp(a, b))
    r = L.emit(llvm.SRemOp(a, b))
    zero = L.const(0, t)
    nonzero = L.emit(llvm.ICmpOp(r, zero, pred("ne")))
    r_neg = L.emit(llvm.ICmpOp(r, zero, pred("slt")))
    b_neg = L.emit(llvm.ICmpOp(b, zero, pred("slt")))
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


@lowering_rule(arith.IndexCastOp, arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp)
def _int_cast(L: FunctionLowering, op: Operation) -> None:
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


@lowering_rule(*_SIMPLE_CASTS)
def _simple_cast(L: FunctionLowering, op: Operation) -> None:
    new = _SIMPLE_CASTS[type(op)](L.v(op.operands[0]), llvm_type(op.results[0].type))
    L.set(op, L.emit(new))


@lowering_rule(arith.UIToFPOp)
def _uitofp(L: FunctionLowering, op: arith.UIToFPOp) -> None:
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
    neg = L.emit(llvm.ICmpOp(x, L.const(0, t), pred("slt")))
    half = L.emit(llvm.LShrOp(x, L.const(1, t)))
    low = L.emit(llvm.AndOp(x, L.const(1, t)))
    halved = L.emit(llvm.OrOp(half, low))
    big = L.emit(llvm.SIToFPOp(halved, to))
    big2 = L.emit(llvm.FAddOp(big, big))
    small = L.emit(llvm.SIToFPOp(x, to))
    L.set(op, L.emit(llvm.SelectOp(neg, big2, small)))


@lowering_rule(arith.FPToSIOp, arith.FPToUIOp)
def _fptoint(L: FunctionLowering, op: Operation) -> None:
    kind = "fptosi" if isinstance(op, arith.FPToSIOp) else "fptoui"
    src, dst = op.operands[0].type, llvm_type(op.results[0].type)
    name = f"llvm.{kind}.sat.{type_suffix(dst)}.{type_suffix(src)}"
    L.set(op, L.emit(llvm.CallIntrinsicOp(name, [L.v(op.operands[0])], [dst])))


@lowering_rule(*_NAMED_UNARY)
def _named_unary(L: FunctionLowering, op: Operation) -> None:
    L.set(op, L.emit(_NAMED_UNARY[type(op)](L.v(op.operand))))


@lowering_rule(*_NAMED_BINARY)
def _named_binary(L: FunctionLowering, op: Operation) -> None:
    L.set(op, L.emit(_NAMED_BINARY[type(op)](L.v(op.lhs), L.v(op.rhs))))


@lowering_rule(*_INTRINSIC)
def _intrinsic_op(L: FunctionLowering, op: Operation) -> None:
    args = [L.v(a) for a in op.operands]
    L.set(op, L.intrinsic(_INTRINSIC[type(op)], args, args[0].type))


@lowering_rule(mth.AbsFOp)
def _absf(L: FunctionLowering, op: mth.AbsFOp) -> None:
    x = L.v(op.operand)
    L.set(op, L.emit(llvm.FAbsOp(x, x.type)))


@lowering_rule(mth.FmaOp)
def _fma(L: FunctionLowering, op: mth.FmaOp) -> None:
    L.set(op, L.emit(llvm.FMAOp(L.v(op.a), L.v(op.b), L.v(op.c))))


@lowering_rule(mth.RsqrtOp)
def _rsqrt(L: FunctionLowering, op: mth.RsqrtOp) -> None:
    x = L.v(op.operand)
    root = L.emit(llvm.FSqrtOp(x))
    L.set(op, L.emit(llvm.FDivOp(L.const(1.0, x.type), root, fastmath(op, L.contract))))


@lowering_rule(mth.FPowIOp)
def _fpowi(L: FunctionLowering, op: mth.FPowIOp) -> None:
    x, n = L.v(op.lhs), L.v(op.rhs)
    name = f"llvm.powi.{type_suffix(x.type)}.{type_suffix(n.type)}"
    L.set(op, L.emit(llvm.CallIntrinsicOp(name, [x, n], [x.type])))


@lowering_rule(mth.AbsIOp, mth.CountLeadingZerosOp, mth.CountTrailingZerosOp)
def _int_bits(L: FunctionLowering, op: Operation) -> None:
    # The i1 operand says whether INT_MIN / zero input is poison: it is not.
    name = {mth.AbsIOp: "llvm.abs", mth.CountLeadingZerosOp: "llvm.ctlz"}.get(type(op), "llvm.cttz")
    x = L.v(op.operand)
    L.set(op, L.intrinsic(name, [x, L.const(0, i1)], x.type))


@lowering_rule(*_LIBM)
def _libm(L: FunctionLowering, op: Operation) -> None:
    x = L.v(op.operands[0])
    t = x.type
    if not isinstance(t, AnyFloat) or t.bitwidth not in (32, 64):
        raise PassFailedException(f"convert-loop-to-llvm: '{op.name}' only on f32/f64 scalars")
    base = _LIBM[type(op)]
    name = L.extern(base + ("f" if t.bitwidth == 32 else ""), [t], t)
    L.set(op, L.emit(llvm.CallOp(name, x, return_type=t)))
