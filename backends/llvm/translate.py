"""llvm-dialect ModuleOp -> llvmlite IR module.

Built on `xdsl.backend.llvm.convert` (pinned xdsl 0.74.0): its per-op `convert_op`, its
type conversion and its `_declare_func` (a private helper, reused as it is). What it lacks
or gets wrong for irforge is done here:

- dense `llvm.mlir.global`s: an `!llvm.array<N x i8>` global whose value is a dense
  attribute is emitted as the attribute's raw bytes (splats expanded), aligned as the
  global says; uninitialized internal globals are zero-filled;
- optionally (`external_threshold`, used by the JIT), such a global larger than the
  threshold is emitted as an external declaration and its bytes go to a NumPy buffer
  instead, so that a model's weights never pass through LLVM IR text, LLVM's parser,
  optimizer and code generator (see `jit.jit_compile`);
- intrinsics get LLVM's type suffix (`llvm.exp.f32`, `llvm.fma.v8f32`), so one intrinsic
  can be used at several types in a module;
- `llvm.call_intrinsic` accepts fast-math flags; GEP is emitted without a pointer bitcast;
- fast-math flags are printed in a fixed order, so the same module gives the same text;
- `llvm.store` keeps its `nontemporal` flag (as `!nontemporal` metadata);
- argument attributes `llvm.readonly`/`llvm.writeonly`, function attribute `nounwind`, and
  the bare names in `passthrough` (`noinline`).

Raises NotImplementedError for an op neither this module nor xDSL translates.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

import llvmlite.ir as ir
import numpy as np
from xdsl.backend.llvm import convert as _xconvert
from xdsl.backend.llvm.convert_op import convert_op
from xdsl.backend.llvm.convert_type import convert_type
from xdsl.dialects import llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    ModuleOp,
    StringAttr,
    VectorType,
)
from xdsl.ir import Block, Operation, SSAValue

_Vals = dict[SSAValue, ir.Value]
_Blocks = dict[Block, ir.Block]


class _ByteArray(ir.Constant):
    """An `[N x i8]` constant printed with C-speed escaping (llvmlite escapes per byte in
    Python, which takes seconds for a model's weights)."""

    def _get_reference(self) -> str:
        raw = bytes(self.constant)
        if not raw or raw.count(0) == len(raw):
            return "zeroinitializer"
        return 'c"\\' + raw.hex("\\") + '"'


def _suffix(t: ir.Type) -> str:
    if isinstance(t, ir.VectorType):
        return f"v{t.count}{_suffix(t.element)}"
    return t.intrinsic_name


def _intrinsic(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ret, args), name=name)
    return fn


def _flags(op: Operation) -> list[str]:
    attr = getattr(op, "fastmathFlags", None)
    return sorted(f.value for f in attr.data) if attr is not None else []


def _check_dense(value: DenseIntOrFPElementsAttr, nbytes: int) -> bytes:
    """The attribute's raw bytes (no copy): either `nbytes` of them or one splat element."""
    raw = value.data.data
    if len(raw) == nbytes or (raw and nbytes % len(raw) == 0 and len(value) == 1):
        return raw
    raise ValueError(f"dense value of {len(raw)} bytes for a global of {nbytes} bytes")


def _dense_bytes(value: DenseIntOrFPElementsAttr, nbytes: int) -> bytes:
    raw = _check_dense(value, nbytes)
    return raw if len(raw) == nbytes else raw * (nbytes // len(raw))


EXTERNAL_ALIGN = 64
"""Alignment (bytes) of the buffers that hold externalized globals."""


def aligned_buffer(nbytes: int, align: int = EXTERNAL_ALIGN) -> np.ndarray:
    """An uninitialized uint8 array of `nbytes` whose data address is a multiple of `align`
    (a view of a slightly larger allocation, which it keeps alive)."""
    base = np.empty(nbytes + align, np.uint8)
    start = -base.ctypes.data % align
    return base[start : start + nbytes]


def _dense_buffer(value: DenseIntOrFPElementsAttr, nbytes: int, align: int) -> np.ndarray:
    """The global's bytes in a fresh aligned buffer: one copy from the attribute's storage,
    splats expanded in place."""
    raw = np.frombuffer(_check_dense(value, nbytes), np.uint8)
    buf = aligned_buffer(nbytes, max(align, EXTERNAL_ALIGN))
    if raw.size == nbytes:
        buf[:] = raw
    elif nbytes:
        buf.reshape(-1, raw.size)[:] = raw
    return buf


def _convert_global(
    op: llvm.GlobalOp,
    module: ir.Module,
    external_threshold: int = 0,
    external_data: MutableMapping[str, np.ndarray] | None = None,
) -> None:
    ty = convert_type(op.global_type)
    g = ir.GlobalVariable(module, ty, name=op.sym_name.data, addrspace=op.addr_space.value.data)
    g.linkage = op.linkage.linkage.data
    g.global_constant = op.constant is not None
    if op.alignment is not None:
        g.align = op.alignment.value.data
    value = op.value
    is_bytes = (
        isinstance(ty, ir.ArrayType)
        and isinstance(ty.element, ir.IntType)
        and ty.element.width == 8
    )
    if (
        external_data is not None
        and 0 < external_threshold < ty.count
        and isinstance(value, DenseIntOrFPElementsAttr)
        and is_bytes
        and g.addrspace == 0
    ):
        # A declaration: the JIT maps the symbol to the buffer (which the caller keeps
        # alive as long as the code). Its alignment is kept, so LLVM may still rely on it.
        external_data[g.name] = _dense_buffer(value, ty.count, g.align or 1)
        g.linkage = "external"
        g.align = max(g.align or 1, EXTERNAL_ALIGN)
        return
    if isinstance(value, DenseIntOrFPElementsAttr) and is_bytes:
        g.initializer = _ByteArray(ty, bytearray(_dense_bytes(value, ty.count)))
    elif isinstance(value, StringAttr):
        raw = value.data.encode()
        g.initializer = ir.Constant(ir.ArrayType(ir.IntType(8), len(raw)), bytearray(raw))
    elif value is not None:
        g.initializer = _xconvert.create_constant(op.global_type, value)
    elif g.linkage in ("internal", "private"):
        g.initializer = ir.Constant(ty, None)
    if g.global_constant and g.linkage in ("internal", "private"):
        g.unnamed_addr = True


def _declare_func(op: llvm.FuncOp, module: ir.Module) -> None:
    _xconvert._declare_func(op, module)  # private helper of xdsl 0.74.0
    fn = module.get_global(op.sym_name.data)
    if op.no_unwind is not None:
        fn.attributes.add("nounwind")
    if op.passthrough is not None:
        for attr in op.passthrough.data:
            if isinstance(attr, StringAttr):  # a bare attribute name ("noinline")
                fn.attributes.add(attr.data)
    if op.linkage.linkage.data != "external" and op.body.blocks:
        fn.linkage = op.linkage.linkage.data
    if op.arg_attrs is None:
        return
    for arg, attrs in zip(fn.args, op.arg_attrs.data):
        for name in ("readonly", "writeonly"):
            if f"llvm.{name}" in attrs.data:
                # llvmlite's list of argument attributes predates these: add them to the
                # underlying set directly (they print as their name).
                set.add(arg.attributes, name)


# -- per-op translation where xDSL's is missing or unfit ----------------------------------


def _gep(op: llvm.GEPOp, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    ssa = iter(op.ssa_indices)
    indices = [
        vals[next(ssa)] if i == llvm.GEP_USE_SSA_VAL else ir.Constant(ir.IntType(32), i)
        for i in op.rawConstantIndices.iter_values()
    ]
    vals[op.result] = b.gep(
        vals[op.ptr],
        indices,
        inbounds=op.inbounds is not None,
        source_etype=convert_type(op.elem_type),
    )


_FLOAT_BINARY: dict[type[Operation], str] = {
    llvm.FAddOp: "fadd",
    llvm.FSubOp: "fsub",
    llvm.FMulOp: "fmul",
    llvm.FDivOp: "fdiv",
    llvm.FRemOp: "frem",
}


def _float_binary(op: Operation, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    build = getattr(b, _FLOAT_BINARY[type(op)])
    vals[op.results[0]] = build(vals[op.operands[0]], vals[op.operands[1]], flags=_flags(op))


def _fneg(op: llvm.FNegOp, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    vals[op.res] = b.fneg(vals[op.arg], flags=_flags(op))


# Named intrinsic ops: LLVM name without the type suffix.
_NAMED: dict[type[Operation], str] = {
    llvm.FAbsOp: "llvm.fabs",
    llvm.FExpOp: "llvm.exp",
    llvm.FExp2Op: "llvm.exp2",
    llvm.FLogOp: "llvm.log",
    llvm.FLog2Op: "llvm.log2",
    llvm.FSqrtOp: "llvm.sqrt",
    llvm.FFloorOp: "llvm.floor",
    llvm.FCeilOp: "llvm.ceil",
    llvm.FSinOp: "llvm.sin",
    llvm.FCosOp: "llvm.cos",
    llvm.FPowOp: "llvm.pow",
    llvm.FCopySignOp: "llvm.copysign",
    llvm.VectorFMaxOp: "llvm.maxnum",
    llvm.VectorFMinOp: "llvm.minnum",
    llvm.FMAOp: "llvm.fma",
}


def _named(op: Operation, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    args = [vals[a] for a in op.operands]
    t = args[0].type
    fn = _intrinsic(b.module, f"{_NAMED[type(op)]}.{_suffix(t)}", t, [a.type for a in args])
    vals[op.results[0]] = b.call(fn, args, fastmath=_flags(op))


def _call_intrinsic(op: llvm.CallIntrinsicOp, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    args = [vals[a] for a in op.args]
    ret = convert_type(op.ress.type) if op.ress is not None else ir.VoidType()
    fn = _intrinsic(b.module, op.intrin.data, ret, [a.type for a in args])
    is_float = op.ress is not None and isinstance(
        op.ress.type.element_type if isinstance(op.ress.type, VectorType) else op.ress.type,
        AnyFloat,
    )
    result = b.call(fn, args, fastmath=_flags(op) if is_float else ())
    if op.ress is not None:
        vals[op.ress] = result


def _store(op: llvm.StoreOp, b: ir.IRBuilder, vals: _Vals, _blocks) -> None:
    # xDSL's store drops `nontemporal`: emit it as LLVM's !nontemporal metadata. A typed
    # pointer of another element type (an `i8` alloca holding floats) is cast first.
    value, ptr = vals[op.value], vals[op.ptr]
    if not ptr.type.is_opaque and ptr.type.pointee != value.type:
        ptr = b.bitcast(ptr, value.type.as_pointer())
    instr = b.store(value, ptr)
    if op.alignment is not None:
        instr.align = op.alignment.value.data
    if op.nontemporal is not None:
        instr.set_metadata("nontemporal", b.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))


_Rule = Callable[[Operation, ir.IRBuilder, _Vals, _Blocks], None]
_RULES: dict[type[Operation], _Rule] = {
    llvm.GEPOp: _gep,
    llvm.StoreOp: _store,
    llvm.FNegOp: _fneg,
    llvm.CallIntrinsicOp: _call_intrinsic,
    **{t: _float_binary for t in _FLOAT_BINARY},
    **{t: _named for t in _NAMED},
}


def _convert_body(op: llvm.FuncOp, fn: ir.Function) -> None:
    blocks: _Blocks = {}
    vals: _Vals = {}
    for i, block in enumerate(op.body.blocks):
        blocks[block] = fn.append_basic_block(name=f"bb{i}")
    entry = op.body.blocks.first
    for arg, llarg in zip(entry.args, fn.args):
        vals[arg] = llarg
    # Phis first: branches add their incoming values as they are translated.
    for block in op.body.blocks:
        if block is entry or not block.args:
            continue
        b = ir.IRBuilder(blocks[block])
        for arg in block.args:
            vals[arg] = b.phi(convert_type(arg.type))
    for block in op.body.blocks:
        b = ir.IRBuilder(blocks[block])
        for inner in block.ops:
            rule = _RULES.get(type(inner))
            if rule is None:
                convert_op(inner, b, vals, blocks)
            else:
                rule(inner, b, vals, blocks)


def translate_module(
    module: ModuleOp,
    *,
    triple: str | None = None,
    data_layout: str = "",
    external_threshold: int = 0,
    external_data: MutableMapping[str, np.ndarray] | None = None,
) -> ir.Module:
    """An llvmlite `ir.Module` for an llvm-dialect `builtin.module`.

    `triple` defaults to the module's `llvm.target_triple` attribute, then to the host's.

    With `external_threshold` > 0, every dense byte-array global of more than that many
    bytes is emitted without its initializer, as an external declaration of the same
    name, type, constness and alignment (at least 64), and its bytes are stored in
    `external_data[name]` as a 64-byte-aligned uint8 array (required then). Whoever runs
    the code must make each such symbol resolve to its array (`jit.jit_compile` does).
    0 (the default) keeps every initializer in the module.

    Raises NotImplementedError for an op that cannot be translated.
    """
    if external_threshold < 0:
        raise ValueError(f"external_threshold must be >= 0, got {external_threshold}")
    if external_threshold and external_data is None:
        raise ValueError("external_threshold > 0 needs an external_data mapping to fill")
    out = ir.Module()
    attr = module.attributes.get("llvm.target_triple")
    if isinstance(attr, StringAttr):
        out.triple = attr.data
    elif triple is not None:
        out.triple = triple
    else:
        from llvmlite import binding

        out.triple = binding.get_process_triple()
    if data_layout:
        out.data_layout = data_layout
    funcs: list[llvm.FuncOp] = []
    for op in module.ops:
        if isinstance(op, llvm.GlobalOp):
            _convert_global(op, out, external_threshold, external_data)
        elif isinstance(op, llvm.FuncOp):
            funcs.append(op)
        else:
            raise NotImplementedError(f"cannot translate top-level op '{op.name}' to LLVM IR")
    for op in funcs:
        _declare_func(op, out)
    for op in funcs:
        if op.body.blocks:
            _convert_body(op, out.get_global(op.sym_name.data))
    return out
