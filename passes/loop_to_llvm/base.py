"""The base of `convert-loop-to-llvm`: the per-function lowering state, the rule registry
and the helpers the rules share (the pass itself is in convert_loop_to_llvm.py, the rules in
the family modules core.py, arith_math.py, parallel.py, vector.py, view.py, reshape.py).

Giving an op an LLVM lowering (the extension point for plugins: `register_llvm_rule`,
which `irforge.plugins` hands on; docs/plugins.md), with this module's `lowering_rule`
and `FunctionLowering`::

    @lowering_rule(MyLoopOp)            # or: register_llvm_rule(MyLoopOp, lower_my_op)
    def lower_my_op(L: FunctionLowering, op: MyLoopOp) -> None:
        x = L.v(op.input)                                  # the lowered operand
        L.set(op, L.emit(llvm.FMulOp(x, L.const(2.0, x.type))))

`register_llvm_rule(op_class, rule)` makes `rule` the lowering of every op whose class is
exactly `op_class` (a subclass needs a registration of its own); `lowering_rule(*op_classes)`
is the same as a decorator, for one or more classes. A rule is called as `rule(L, op)`, once
per op, in program order, and returns None. It receives:

- `L`, the `FunctionLowering` of the enclosing function. `L.v(value)` is the lowered value
  of an operand (defined earlier: an `index` is an `i64`, a memref a bare `!llvm.ptr`);
  `L.emit(op)` appends an llvm-dialect op at the insertion point and returns its first
  result; `L.const(value, type)` is a deduplicated constant hoisted to the entry block;
  `L.extern(name, inputs, output)` declares an external function once per module and
  returns its name; `L.intrinsic(name, args, type)` calls `name.<type suffix>`;
  `L.lower_block(block)` lowers the ops of a nested block at the insertion point (for ops
  with regions; `L.region`, `L.cur` and `L.entry` are the function's region, the current
  block and the entry block);
- `op`, the loop-level op (its operands and types are still the loop-level ones: use
  `llvm_type` for a result type).

It must map every result of `op` to its lowered value, with `L.set(op, value)` for a single
result (`L.vmap[result] = value` in general); an op without results only emits. To report
an op it cannot lower (a type or attribute it does not support), it raises xDSL's
`PassFailedException` with a message that names the pass and the op; the pass stops with it.
An op without a registered rule makes the pass fail with "cannot lower '<op>' (no rule for
it)". `register_llvm_rule` raises TypeError if `op_class` is not an `Operation` subclass and
ValueError if the class has a rule already (the built-in rules register when
convert_loop_to_llvm.py is imported, so a plugin cannot replace one by accident).

Helpers: `llvm_type`, `type_suffix`, `element_bytes` (types); `new_op` (an op built without
its `__init__`); `address` (the element pointer of a memref access), `gep_props`, `pred`,
`fastmath`; `PTR`, `NSW`, `ORDERING`, `ALIGN`.
Source: MLIR's LLVMTypeConverter and ConversionPattern, https://mlir.llvm.org/docs/TargetLLVMIR/
"""

from __future__ import annotations

import math as _math
from collections.abc import Callable, Iterable

from xdsl.dialects import func, llvm
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    Signedness,
    UnitAttr,
    VectorType,
    i32,
    i64,
)
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import PassFailedException

from ...dialects import loop

PTR = llvm.LLVMPointerType()
NSW = IntegerAttr(llvm.OverflowAttr([llvm.OverflowFlag.NO_SIGNED_WRAP]).to_int(), 32)
"""The `overflowFlags` property of an add/sub/mul with `nsw`."""
ALIGN = 64
"""Bytes of alignment of buffers (stack and heap) and globals."""
ORDERING = {"ordering": IntegerAttr(0, i64)}
"""The `ordering` property of a non-atomic llvm.load / llvm.store."""
_CONTRACT = frozenset({FastMathFlag.ALLOW_CONTRACT})
_PREDICATES = {
    f: IntegerAttr(f.to_int(), i64) for f in llvm.ICmpPredicateFlag
}  # shared: attributes are immutable


def new_op(
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


def fastmath(op: Operation, contract: bool) -> llvm.FastMathAttr:
    """The fast-math flags of the llvm op for float op `op`: its own, plus `contract` when
    asked (the pass's `contract` option, `L.contract`)."""
    flags = getattr(op, "fastmath", None)
    base = flags.data if flags is not None else frozenset()
    if contract:
        base = base | _CONTRACT
    attr = _FASTMATH.get(base)
    if attr is None:
        attr = _FASTMATH[base] = llvm.FastMathAttr(base)
    return attr


def pred(name: str) -> IntegerAttr:
    """The `predicate` attribute of an llvm.icmp: "eq", "slt", "ugt", ..."""
    return _PREDICATES[llvm.ICmpPredicateFlag(name)]


class FunctionLowering:
    """Builds one llvm.func from one func.func by walking its ops in order, calling the
    registered rule of each (module docs). `contract`: add the `contract` fast-math flag
    to float arithmetic; `stack_limit`: bytes of `loop.alloc` buffers that may go on the
    stack; `externs`: the module's external declarations by name (shared by the functions
    of a module; a rule may also put a defined helper function there)."""

    def __init__(self, externs: dict[str, llvm.FuncOp], contract: bool, stack_limit: int):
        self.contract = contract
        self.stack_left = stack_limit
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
            op = new_op(llvm.ConstantOp, (), t, {"value": attr})
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
        return self.emit(new_op(llvm.AddOp, (a, b), a.type, {"overflowFlags": NSW}))

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
            rule = _RULES.get(type(op))
            if rule is None:
                name = op.op_name.data if hasattr(op, "op_name") else op.name  # unregistered
                raise PassFailedException(
                    f"convert-loop-to-llvm: cannot lower '{name}' (no rule for it)"
                )
            rule(self, op)

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


# -- the rule registry ------------------------------------------------------------------

LoweringRule = Callable[[FunctionLowering, Operation], None]
"""`rule(L, op) -> None`: lowers `op` at `L`'s insertion point (module docs)."""

_RULES: dict[type[Operation], LoweringRule] = {}


def register_llvm_rule(op_class: type[Operation], rule: LoweringRule) -> None:
    """Lower the ops of exactly `op_class` with `rule(L, op)` (module docs).

    Raises TypeError if `op_class` is not an Operation subclass, ValueError if it has a
    rule already.
    """
    if not (isinstance(op_class, type) and issubclass(op_class, Operation)):
        raise TypeError(f"convert-loop-to-llvm rules are for Operation classes, not {op_class!r}")
    if op_class in _RULES:
        name = getattr(op_class, "name", op_class.__name__)
        raise ValueError(f"convert-loop-to-llvm has a rule for '{name}' already")
    _RULES[op_class] = rule


def lowering_rule(*op_classes: type[Operation]) -> Callable[[LoweringRule], LoweringRule]:
    """Decorator: `register_llvm_rule(c, fn)` for each class in `op_classes`; returns `fn`."""

    def register(fn: LoweringRule) -> LoweringRule:
        for c in op_classes:
            register_llvm_rule(c, fn)
        return fn

    return register


# -- memory accesses ----------------------------------------------------------------------


def address(L: FunctionLowering, memref_value: SSAValue, indices: Iterable[SSAValue]) -> SSAValue:
    """The pointer to element `indices` of the (loop-level) buffer `memref_value`: its
    indices linearized with the static row-major strides, one `getelementptr inbounds`
    (none at offset 0; offsets reused within a block)."""
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
    return L.emit(new_op(llvm.GEPOp, (ptr, off), PTR, gep_props(t.element_type)))


_GEP_PROPS: dict[Attribute, dict[str, Attribute]] = {}


def gep_props(elem: Attribute) -> dict[str, Attribute]:
    """The properties of `getelementptr inbounds %p[%i] : elem` (one SSA index)."""
    props = _GEP_PROPS.get(elem)
    if props is None:
        props = _GEP_PROPS[elem] = {
            "rawConstantIndices": DenseArrayBase.from_list(i32, [llvm.GEP_USE_SSA_VAL]),
            "elem_type": llvm_type(elem),
            "noWrapFlags": IntegerAttr(0, 32),
            "inbounds": UnitAttr(),
        }
    return props


def _offset(L: FunctionLowering, indices: tuple[SSAValue, ...], shape) -> SSAValue | int:
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
            mul = new_op(llvm.MulOp, (i, L.const(stride, i64)), i64, {"overflowFlags": NSW})
            terms.append(L.emit(mul))
    if not terms and const_off == 0:
        return 0
    if const_off:
        terms.append(L.const(const_off, i64))
    off = terms[0]
    for term in terms[1:]:
        off = L.add_nsw(off, term)
    return off
