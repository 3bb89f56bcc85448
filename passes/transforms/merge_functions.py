"""`merge-functions`: fold private functions with identical bodies into one.

outline-loop-nests gives each loop nest a function of its own; a transformer's layers are
lowered to the same nests over different buffers, so its N layers make N copies of each
function. Every copy would be lowered, translated, optimized and compiled again. This
pass keeps the first of each set of identical private functions, points the `func.call`s
of the others to it and erases them:

    func.func private @main__nest3(%a: memref<4xf32>) {...}     (same body)
    func.func private @main__nest7(%a: memref<4xf32>) {...}     erased
    func.call @main__nest7(%w1)                                  func.call @main__nest3(%w1)

Two functions are identical when their types, attributes (but the symbol name) and bodies
are: the same ops in the same order, with the same attributes, properties, result types,
and operands, successors and block arguments in the same places. Callees merged earlier
count as one, so callers differing only in which copy they call merge too (functions are
visited callees first). Public functions keep their names (they are entry points); a
function named by anything but the callee of a `func.call` is left alone.

Source: LLVM's MergeFunctions pass (llvm/lib/Transforms/IPO/MergeFunctions.cpp), at the
function level of MLIR's func dialect; without its thunks, as every use is a direct call.
It counts `functions-merged` for `--pass-statistics`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, SymbolRefAttr
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from ..infra.statistics import bump


def _symbol_refs(op: Operation) -> list[str]:
    """Root names of the symbol references among `op`'s attributes and properties."""
    return [
        a.root_reference.data
        for attrs in (op.properties, op.attributes)
        for a in attrs.values()
        if isinstance(a, SymbolRefAttr)
    ]


def _fingerprint(f: func.FuncOp, callee: dict[str, str]) -> Hashable:
    """A key equal for two functions exactly when they are identical (see the module
    docstring); `callee` maps a merged function's name to the one kept."""
    values: dict[SSAValue, int] = {}
    blocks: dict[Block, int] = {}
    for op in f.walk():
        for region in op.regions:
            for block in region.blocks:
                blocks[block] = len(blocks)
                for arg in block.args:
                    values[arg] = len(values)
        for r in op.results:
            values[r] = len(values)
    key: list[Hashable] = [
        tuple(sorted((k, v) for k, v in f.attributes.items() if k != "sym_name")),
        tuple(sorted((k, v) for k, v in f.properties.items() if k != "sym_name")),
    ]
    for op in f.body.walk():
        props = op.properties
        if isinstance(op, func.CallOp):
            name = op.callee.root_reference.data
            props = {**props, "callee": callee.get(name, name)}
        key.append(
            (
                op.name,
                tuple(values[v] for v in op.operands),
                tuple(r.type for r in op.results),
                tuple(sorted(props.items())),
                tuple(sorted(op.attributes.items())),
                tuple(blocks[s] for s in op.successors),
                tuple(tuple(a.type for b in r.blocks for a in b.args) for r in op.regions),
                tuple(len(r.blocks) for r in op.regions),
            )
        )
    return tuple(key)


def _callees_first(funcs: dict[str, func.FuncOp], calls: dict[str, set[str]]) -> list[str]:
    """The names of `funcs` in post-order of the call graph (callees before callers)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in funcs:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(sorted(calls.get(root, ()))))]
        while stack:
            name, it = stack[-1]
            nxt = next((c for c in it if c in funcs and c not in seen), None)
            if nxt is None:
                stack.pop()
                order.append(name)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(calls.get(nxt, ())))))
    return order


@dataclass(frozen=True)
class MergeFunctionsPass(ModulePass):
    """Merge identical private functions (see the module docstring)."""

    name = "merge-functions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        funcs: dict[str, func.FuncOp] = {}
        for f in op.ops:
            if isinstance(f, func.FuncOp) and f.body.blocks:
                funcs[f.sym_name.data] = f
        calls: dict[str, set[str]] = {}
        call_ops: list[func.CallOp] = []
        pinned: set[str] = set()
        for name, f in funcs.items():
            for inner in f.body.walk():
                if isinstance(inner, func.CallOp):
                    calls.setdefault(name, set()).add(inner.callee.root_reference.data)
                    call_ops.append(inner)
                else:
                    pinned.update(_symbol_refs(inner))
        for top in op.ops:
            pinned.update(_symbol_refs(top))
        kept: dict[Hashable, str] = {}
        merged: dict[str, str] = {}
        for name in _callees_first(funcs, calls):
            f = funcs[name]
            vis = f.sym_visibility
            if name in pinned or not (isinstance(vis, StringAttr) and vis.data == "private"):
                continue
            first = kept.setdefault(_fingerprint(f, merged), name)
            if first != name:
                merged[name] = first
        if not merged:
            return
        for call in call_ops:
            target = merged.get(call.callee.root_reference.data)
            if target is not None:
                call.properties["callee"] = SymbolRefAttr(target)
        for name in merged:
            funcs[name].detach()
            funcs[name].erase()
        bump("functions-merged", len(merged))
