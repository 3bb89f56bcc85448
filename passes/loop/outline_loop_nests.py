"""`outline-loop-nests`: move each top-level `loop.for` nest of a function into a private
function of its own, called in its place.

convert-tensor-to-loop puts a whole model into one `func.func @main`: a sequence of loop
nests over buffers. Lowered as it is, that is one LLVM function with thousands of blocks,
and LLVM's loop passes (IndVarSimplify, LoopVectorize, ...) are superlinear in the size of
the function they run on. One function per nest keeps each small::

    func.func @main(%x: memref<4xf32>, %y: memref<4xf32>) {
      %c0 = arith.constant 0 : index                 func.func private @main__nest0(
      %w = memref.get_global @w : memref<4xf32>          %a0: memref<4xf32>, %a1: ..., %a2: ...)
      "loop.for"(%c0, %c4, %c1) ({ ...%x..%w..%y })  {  %c0 = arith.constant 0 : index
      func.return                                        "loop.for"(%c0, %c4, %c1) ({...})
    }                                                    func.return
                                                     }
                                                     func.func @main(...) {
                                                       %w = memref.get_global @w
                                                       func.call @main__nest0(%x, %w, %y)
                                                       func.return
                                                     }

Rules:
- only functions with a body and no results are outlined from (loop-level functions in
  destination-passing style); only nests directly in the function's entry block move;
- a value the nest uses but does not define becomes an argument of the new function, except
  `arith.constant` results, which are cloned into it (LLVM sees the constant bounds); a
  `memref.get_global` inside the nest is moved before it first, so that its global is an
  argument too (nests that differ only in their weights become identical functions);
- memref arguments are buffers: two values naming the same buffer (two `memref.get_global`
  of one symbol, or the same value) become one argument. When every memref argument is a
  known buffer (a function argument, a global or a `loop.alloc`), they are pairwise distinct
  and each gets `llvm.noalias` (function arguments are distinct buffers: the runtime passes
  distinct arrays, as the `noalias` convert-loop-to-llvm puts on public functions says);
  globals and `loop.alloc` buffers also get `llvm.align = 64` (convert-loop-to-llvm aligns
  them so);
- the new functions are `noinline` (option): LLVM inlines an internal function with one
  call site, and would rebuild the one huge function the pass is there to avoid;
- the new functions are named `@<function>__nest<k>` (k counts the nests of the function,
  from 0), with a suffix if that symbol is taken.

Source: MLIR's `outlineSingleBlockRegion`-style outlining (mlir/lib/Transforms/Utils).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from ...dialects import loop

# convert-loop-to-llvm aligns globals and loop.alloc buffers (stack or heap) to 64 bytes.
_ALIGN = 64


def _inside(op: Operation, root: Operation) -> bool:
    """Whether `op` is `root` or nested in it."""
    while op is not None:
        if op is root:
            return True
        op = op.parent_op()
    return False


def _free_values(nest: loop.ForOp) -> list[SSAValue]:
    """The values `nest` uses but does not define, in order of first use."""
    seen: set[SSAValue] = set()
    free: list[SSAValue] = []
    for op in nest.walk():
        for v in op.operands:
            if v in seen:
                continue
            seen.add(v)
            owner = v.owner
            defining = owner if isinstance(owner, Operation) else owner.parent_op()
            if defining is None or not _inside(defining, nest):
                free.append(v)
    return free


def _is_alloc(key: object) -> bool:
    return isinstance(key, SSAValue) and isinstance(key.owner, loop.AllocOp)


def _buffer_key(v: SSAValue) -> object | None:
    """What identifies the buffer `v` names (None: unknown, may alias anything)."""
    owner = v.owner
    if isinstance(owner, Block):
        parent = owner.parent_op()
        if isinstance(parent, func.FuncOp) and owner is parent.body.blocks.first:
            return v
        return None
    if isinstance(owner, memref.GetGlobalOp):
        return ("global", owner.name_.root_reference.data)
    if isinstance(owner, loop.AllocOp):
        return v
    return None


@dataclass(frozen=True)
class OutlineLoopNestsPass(ModulePass):
    """Outline each top-level loop nest into a private function (see the module docstring).

    Options: `min_nests`: functions with fewer top-level nests than this are left alone;
    `noinline` marks the new functions `passthrough = ["noinline"]` (LLVM's `noinline`).
    """

    name = "outline-loop-nests"

    min_nests: int = 2
    noinline: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        taken = symbol_names(op)
        for f in list(op.ops):
            if not isinstance(f, func.FuncOp) or not f.body.blocks:
                continue
            if f.function_type.outputs.data:
                continue
            entry = f.body.blocks.first
            nests = [o for o in entry.ops if isinstance(o, loop.ForOp)]
            if len(nests) < self.min_nests:
                continue
            anchor: Operation = f
            for k, nest in enumerate(nests):
                # A global read in the nest is passed in, as one read before it is: nests
                # alike but for their weights become identical functions (merge-functions).
                for g in [o for o in nest.walk() if isinstance(o, memref.GetGlobalOp)]:
                    g.detach()
                    entry.insert_op_before(g, nest)
                name = fresh_symbol(f"{f.sym_name.data}__nest{k}", taken)
                new = outline_nest(nest, name, self.noinline)
                op.body.block.insert_op_after(new, anchor)
                anchor = new


def symbol_names(module: ModuleOp) -> set[str]:
    """The symbol names of the module's top-level ops."""
    return {
        sym.data for f in module.ops if isinstance(sym := getattr(f, "sym_name", None), StringAttr)
    }


def fresh_symbol(base: str, taken: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ... if taken; the name returned is added to `taken`."""
    name, suffix = base, 0
    while name in taken:
        suffix += 1
        name = f"{base}_{suffix}"
    taken.add(name)
    return name


def outline_nest(nest: loop.ForOp, name: str, noinline: bool) -> func.FuncOp:
    """Move `nest` into a new private function `name` and put a `func.call` of it in its
    place; return the function, for the caller to insert into the module. Arguments,
    cloned constants, `llvm.noalias` / `llvm.align` and `noinline` follow the module
    docstring's rules (parallelize-loops outlines its parallel nests with it too)."""
    body = Block()
    mapping: dict[SSAValue, SSAValue] = {}
    args: list[SSAValue] = []
    by_buffer: dict[object, SSAValue] = {}
    all_known = True
    for v in _free_values(nest):
        owner = v.owner
        if isinstance(owner, arith.ConstantOp):
            clone = owner.clone()
            body.add_op(clone)
            mapping[v] = clone.result
            continue
        if isinstance(v.type, MemRefType):
            key = _buffer_key(v)
            if key is None:
                all_known = False
            elif key in by_buffer:
                mapping[v] = by_buffer[key]
                continue
            arg = body.insert_arg(v.type, len(body.args))
            if key is not None:
                by_buffer[key] = arg
        else:
            arg = body.insert_arg(v.type, len(body.args))
        mapping[v] = arg
        args.append(v)
    call = func.CallOp(name, args, [])
    nest.parent_block().insert_op_before(call, nest)
    nest.detach()
    # Move the nest, then rewire its uses of outside values to the new function's values.
    body.add_op(nest)
    for inner in nest.walk():
        for i, v in enumerate(inner.operands):
            new = mapping.get(v)
            if new is not None:
                inner.operands[i] = new
    body.add_op(func.ReturnOp())
    aligned = {a for k, a in by_buffer.items() if isinstance(k, tuple) or _is_alloc(k)}
    arg_attrs: list[Attribute] = []
    for a in body.args:
        attrs: dict[str, Attribute] = {}
        if all_known and isinstance(a.type, MemRefType):
            attrs["llvm.noalias"] = UnitAttr()
        if a in aligned:
            attrs["llvm.align"] = IntegerAttr(_ALIGN, 64)
        arg_attrs.append(DictionaryAttr(attrs))
    fn = func.FuncOp(
        name,
        ([a.type for a in body.args], []),
        Region(body),
        visibility="private",
        arg_attrs=ArrayAttr(arg_attrs),
    )
    if noinline:
        fn.attributes["passthrough"] = ArrayAttr([StringAttr("noinline")])
    return fn
