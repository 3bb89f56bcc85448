"""`convert-tensor-to-loop`: bufferize tensor-level functions and lower generics to loops.

Bufferization (one pass with the lowering, as the skeleton needs no more):
- a tensor function argument becomes a memref argument; each tensor result becomes one more
  memref argument that the caller allocates (destination-passing style), and the function
  returns nothing;
- `arith.constant` of a dense tensor becomes a `memref.global` plus `memref.get_global`;
- `tensor.empty` becomes `loop.alloc`, freed by `loop.dealloc` before the return;
- `tensor.pad_constant` becomes a `loop.alloc` of the padded shape, a loop nest storing the
  padding value everywhere, and a loop nest copying the input into the interior (offset by
  `low`);
- `tensor.insert_block` writes into the buffer of `dest` when that tensor has no other use
  and the buffer is a local allocation (else into a copy), with a loop nest copying the
  source to its offsets;
- a `tensor.generic` writes into the buffer of its `outs` operand when that tensor has no
  other use and the buffer is a local allocation; otherwise into a fresh buffer, copied
  from the `outs` first if the body reads it;
- in a generic body, `tensor.index` is the loop's induction variable and `tensor.extract`
  of a captured tensor a `loop.load` from its buffer (a generic that reads an index is
  never flattened);
- the buffer of a returned value that is a local allocation is replaced by the output
  argument, so the last computation writes straight into the caller's array.

Lowering: a generic over the domain (d0, ..., dn-1) becomes a perfect loop nest in that
order; in the innermost body each operand is loaded at its indexing map applied to the
induction variables, the scalar body is inlined, and the yielded values are stored::

    "tensor.generic"(%x, %e) <{indexing_maps = [(d0) -> (d0), (d0) -> (d0)], ...}> ({
    ^bb0(%a: f32, %o: f32): ... "tensor.yield"(%r) })

becomes::

    "loop.for"(%c0, %c4, %c1) ({
    ^bb0(%i: index):
      %a = "loop.load"(%x, %i) ...
      ...
      "loop.store"(%r, %out, %i) ...
      "loop.yield"() : () -> ()
    })

Flattening (option `flatten`; off in the pass, on in the default pipeline: a schedule
addresses loops by their position, so a pipeline that schedules the loops it wrote keeps
the unflattened nests): the trailing domain dims that every operand either does not use
or holds as its own trailing dims, in order and whole (an elementwise op over NCHW, a bias
broadcast over (h, w)), run as one flat loop over `loop.reshape` views that merge those
dims, in the same order (results unchanged, bit for bit). Without it a short innermost loop
(w = 7, 14, 28) is unrolled by LLVM, which then vectorizes the next loop out with gathers
and scatters: the light ResNet-50 takes 1.06x the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder, InsertPoint
from xdsl.context import Context
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    AffineMapAttr,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
)
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from ...backends.target import Target
from ...dialects import loop
from ...dialects.tensor import (
    EmptyOp,
    ExtractOp,
    GenericOp,
    IndexOp,
    InsertSliceOp,
    PadOp,
    YieldOp,
)
from .affine_simplify import simplify_map
from .attention_kernel import lower_attention
from .microkernel.layout_transpose import lower_layout_copy
from .microkernel.lower import (
    Blocking,
    default_blocking,
    drop_unpacked_constants,
    lower_contraction,
)


def memref_of(t: Attribute) -> Attribute:
    """The buffer type of a tensor type (identity layout); other types unchanged."""
    if isinstance(t, TensorType):
        return MemRefType(t.element_type, t.get_shape())
    return t


_AFFINE_OPS = {
    AffineBinaryOpKind.Add: arith.AddiOp,
    AffineBinaryOpKind.Mul: arith.MuliOp,
    AffineBinaryOpKind.Mod: arith.RemSIOp,
    AffineBinaryOpKind.FloorDiv: arith.FloorDivSIOp,
    AffineBinaryOpKind.CeilDiv: arith.CeilDivSIOp,
}


class _TensorFunctionToLoops:
    """Rewrites one tensor-level func.func into a loop-level one (see the module docs)."""

    def __init__(
        self,
        fn: func.FuncOp,
        module: ModuleOp,
        global_names: set[str],
        blocking: Blocking | None = None,
        flatten: bool = False,
    ):
        self.fn = fn
        self.flatten = flatten
        self.blocking = blocking  # None: no microkernels
        self.module = module
        self.global_names = global_names
        ftype = fn.function_type
        self.n_inputs = len(ftype.inputs)
        arg_types = [memref_of(t) for t in (*ftype.inputs, *ftype.outputs)]
        self.block = Block(arg_types=arg_types)
        self.b = Builder(InsertPoint.at_end(self.block))
        self.vmap: dict[SSAValue, SSAValue] = dict(zip(fn.body.block.args, self.block.args))
        for old, new in zip(fn.body.block.args, self.block.args):
            new.name_hint = old.name_hint
        for k, new in enumerate(self.block.args[self.n_inputs :]):
            new.name_hint = f"out{k}"
        self.allocs: list[loop.AllocOp] = []
        self.index_consts: dict[int, SSAValue] = {}
        # Ops another lowering already computed (a convolution's pointwise consumer run
        # as its kernel's epilogue: microkernel/direct_conv.py) and their tensor.empty.
        self.fused: set[Operation] = set()

    # -- helpers -------------------------------------------------------------------------

    def index(self, value: int) -> SSAValue:
        """An index constant, created once at the top of the function."""
        if value not in self.index_consts:
            op = arith.ConstantOp(IntegerAttr(value, IndexType()))
            Builder(InsertPoint.at_start(self.block)).insert(op)
            self.index_consts[value] = op.result
        return self.index_consts[value]

    def alloc(self, t: MemRefType) -> SSAValue:
        op = self.b.insert(loop.AllocOp(t))
        self.allocs.append(op)
        return op.result

    def loop_nest(
        self, ranges: Sequence[int], parallel: Sequence[bool] | None = None
    ) -> tuple[Builder, list[SSAValue]]:
        """Perfectly nested loops over `ranges`; a builder in the innermost body. Loop k
        gets the `parallel` property when `parallel[k]` (default: every loop, as for the
        copies and fills, whose iterations write distinct elements)."""
        b, ivs = self.b, []
        for k, r in enumerate(ranges):
            for_op = b.insert(loop.ForOp(self.index(0), self.index(r), self.index(1)))
            if parallel is None or parallel[k]:
                for_op.parallel = UnitAttr()
            body = for_op.body.block
            term = loop.YieldOp()
            body.add_op(term)
            ivs.append(body.args[0])
            b = Builder(InsertPoint.before(term))
        return b, ivs

    def affine(self, b: Builder, e: AffineExpr, ivs: Sequence[SSAValue]) -> SSAValue:
        if isinstance(e, AffineDimExpr):
            return ivs[e.position]
        if isinstance(e, AffineConstantExpr):
            return self.index(e.value)
        assert isinstance(e, AffineBinaryOpExpr)
        lhs, rhs = self.affine(b, e.lhs, ivs), self.affine(b, e.rhs, ivs)
        return b.insert(_AFFINE_OPS[e.kind](lhs, rhs)).result

    def copy(self, src: SSAValue, dst: SSAValue) -> None:
        b, ivs = self.loop_nest(src.type.get_shape())
        v = b.insert(loop.LoadOp(src, ivs)).result
        b.insert(loop.StoreOp(v, dst, ivs))

    def is_local(self, buf: SSAValue) -> bool:
        return isinstance(buf.owner, loop.AllocOp)

    # -- op lowerings --------------------------------------------------------------------

    def constant(self, op: arith.ConstantOp) -> None:
        t = memref_of(op.result.type)
        n = len(self.global_names)
        while f"__constant_{n}" in self.global_names:
            n += 1
        name = f"__constant_{n}"
        self.global_names.add(name)
        value = op.value
        assert isinstance(value, DenseIntOrFPElementsAttr)
        glob = memref.GlobalOp.get(StringAttr(name), t, value, constant=UnitAttr(), alignment=64)
        self.module.body.block.insert_op_before(glob, self.fn)
        self.vmap[op.result] = self.b.insert(memref.GetGlobalOp(name, t)).memref

    def generic(self, op: GenericOp) -> None:
        if lower_attention(self, op):  # graph.attention's chain as one kernel
            return
        block = op.body.block
        n_in = len(op.ins)
        out_bufs = []
        for k, out in enumerate(op.outs):
            buf = self.vmap[out]
            reads_init = bool(block.args[n_in + k].uses)
            if not (self.is_local(buf) and out.has_one_use()):
                fresh = self.alloc(buf.type)
                if reads_init:
                    self.copy(buf, fresh)
                buf = fresh
            out_bufs.append(buf)
        bufs = [self.vmap[v] for v in op.ins] + out_bufs
        # A layout copy is matched on the maps as they are; the maps are simplified before
        # the microkernel lowering, whose packing loops evaluate them (a fused producer
        # read through `(d0 * 3072 + d2) floordiv 3072` kept LLVM from vectorizing GPT-2's
        # GELU in the packing of A).
        done = self.blocking is not None and lower_layout_copy(self, op, bufs, self.blocking)
        if not done:
            ranges = _simplify_maps(op)
            done = self.blocking is not None and lower_contraction(self, op, bufs, self.blocking)
        if done:
            for res, buf in zip(op.res, out_bufs):
                self.vmap[res] = buf
            return
        parallel = _parallel_dims(op)
        reads_index = any(isinstance(o, IndexOp) for o in block.ops)
        first = _collapsible_suffix(op) if self.flatten and not reads_index else len(ranges)
        if len(ranges) - first < 2:
            first = len(ranges)
        # Dims first.. run as one flat loop, each buffer that uses them seen through a
        # reshape that merges their (trailing) dims: a 28-long inner loop would otherwise be
        # unrolled by LLVM, which then vectorizes the outer loop with gathers and scatters.
        flat = math.prod(ranges[first:])
        nest = [*ranges[:first], flat] if first < len(ranges) else list(ranges)
        par = [*parallel[:first], all(parallel[first:])] if first < len(ranges) else parallel
        tail = len(ranges) - first
        views: dict[int, SSAValue] = {}  # reshaped buffers, made before the loops
        for k, (buf, amap) in enumerate(zip(bufs, op.maps)):
            if tail and any(
                isinstance(e, AffineDimExpr) and e.position >= first for e in amap.results
            ):
                shape = buf.type.get_shape()
                t = MemRefType(buf.type.element_type, [*shape[:-tail], flat])
                views[k] = self.b.insert(loop.ReshapeOp(buf, t)).result
        b, nest_ivs = self.loop_nest(nest, par)
        ivs = list(nest_ivs[:first]) + [None] * tail

        def index(k: int) -> tuple[SSAValue, list[SSAValue]]:
            results = list(op.maps[k].results)
            if k in views:
                idx = [self.affine(b, e, ivs) for e in results[:-tail]]
                return views[k], [*idx, nest_ivs[first]]
            return bufs[k], [self.affine(b, e, ivs) for e in results]

        bmap: dict[SSAValue, SSAValue] = {}
        for k, arg in enumerate(block.args):
            if arg.uses:
                view, idx = index(k)
                bmap[arg] = b.insert(loop.LoadOp(view, idx)).result
        for inner in block.ops:
            if isinstance(inner, YieldOp):
                for k, v in enumerate(inner.values):
                    view, idx = index(n_in + k)
                    b.insert(loop.StoreOp(bmap.get(v, v), view, idx))
            elif isinstance(inner, IndexOp):
                bmap[inner.result] = nest_ivs[inner.dim.value.data]
            elif isinstance(inner, ExtractOp):
                src = bmap.get(inner.tensor) or self.vmap[inner.tensor]
                idx = [bmap.get(i, i) for i in inner.indices]
                bmap[inner.result] = b.insert(loop.LoadOp(src, idx)).result
            else:
                for v in inner.operands:  # values captured from outside the body
                    if v not in bmap and v in self.vmap:
                        bmap[v] = self.vmap[v]
                b.insert(inner.clone(value_mapper=bmap))
        for res, buf in zip(op.res, out_bufs):
            self.vmap[res] = buf

    def pad(self, op: PadOp) -> None:
        src = self.vmap[op.input]
        dst = self.alloc(memref_of(op.result.type))
        value = op.value
        b, ivs = self.loop_nest(op.result.type.get_shape())
        b.insert(loop.StoreOp(b.insert(arith.ConstantOp(value)).result, dst, ivs))
        b, ivs = self.loop_nest(op.input.type.get_shape())
        v = b.insert(loop.LoadOp(src, ivs)).result
        idx = [
            iv if lo == 0 else b.insert(arith.AddiOp(iv, self.index(lo))).result
            for iv, lo in zip(ivs, op.low_pads)
        ]
        b.insert(loop.StoreOp(v, dst, idx))
        self.vmap[op.result] = dst

    def insert_block(self, op: InsertSliceOp) -> None:
        dst = self.vmap[op.dest]
        if not (self.is_local(dst) and op.dest.has_one_use()):
            fresh = self.alloc(dst.type)
            self.copy(dst, fresh)
            dst = fresh
        src = self.vmap[op.source]
        b, ivs = self.loop_nest(op.source.type.get_shape())
        v = b.insert(loop.LoadOp(src, ivs)).result
        idx = [
            iv if o == 0 else b.insert(arith.AddiOp(iv, self.index(o))).result
            for iv, o in zip(ivs, op.offset_values)
        ]
        b.insert(loop.StoreOp(v, dst, idx))
        self.vmap[op.result] = dst

    def ret(self, op: func.ReturnOp) -> None:
        outs = self.block.args[self.n_inputs :]
        returned = [self.vmap[v] for v in op.arguments]
        for buf, out in zip(returned, outs):
            alloc = buf.owner
            if isinstance(alloc, loop.AllocOp) and returned.count(buf) == 1:
                # The computation writes straight into the caller's buffer.
                buf.replace_all_uses_with(out)
                self.allocs.remove(alloc)
                alloc.detach()
                alloc.erase()
            else:
                self.copy(buf, out)
        for a in self.allocs:
            self.b.insert(loop.DeallocOp(a.result))
        self.b.insert(func.ReturnOp())

    def run(self) -> func.FuncOp:
        for op in self.fn.body.block.ops:
            if op in self.fused:
                continue
            if isinstance(op, arith.ConstantOp) and isinstance(op.result.type, TensorType):
                self.constant(op)
            elif isinstance(op, EmptyOp):
                self.vmap[op.result] = self.alloc(memref_of(op.result.type))
            elif isinstance(op, GenericOp):
                self.generic(op)
            elif isinstance(op, PadOp):
                self.pad(op)
            elif isinstance(op, InsertSliceOp):
                self.insert_block(op)
            elif isinstance(op, func.ReturnOp):
                self.ret(op)
            else:
                if any(isinstance(r.type, TensorType) for r in op.results):
                    raise ValueError(
                        f"convert-tensor-to-loop: cannot bufferize '{op.name}' (only "
                        "tensor.generic, tensor.empty, tensor.pad_constant, "
                        "tensor.insert_block and dense arith.constant produce tensors)"
                    )
                for r, nr in zip(
                    op.results, self.b.insert(op.clone(value_mapper=self.vmap)).results
                ):
                    self.vmap[r] = nr
        ftype = FunctionType.from_lists(self.block.arg_types, [])
        new = func.FuncOp.create(
            properties={**self.fn.properties, "function_type": ftype},
            attributes=dict(self.fn.attributes),
            regions=[Region(self.block)],
        )
        if "res_attrs" in new.properties:
            del new.properties["res_attrs"]
        return new


def _simplify_maps(op: GenericOp) -> list[int]:
    """Simplify the floordiv/mod results of `op`'s indexing maps in place, for its loop
    ranges (passes/tensor_to_loop/affine_simplify.py): composed reshapes and transposes leave
    divisions of linearized indices that would run per element. Returns the loop ranges."""
    ranges = op.loop_ranges()
    maps = [simplify_map(m, ranges) for m in op.maps]
    if all(new is old for new, old in zip(maps, op.maps)):
        return ranges
    before = op.indexing_maps
    op.indexing_maps = ArrayAttr([AffineMapAttr(m) for m in maps])
    # A result that became a plain dim makes its operand define that dim's range (see
    # GenericOp.loop_ranges): `d1 mod 24` -> `d1` over an operand of 24 while d1 < 16.
    # Such maps are right but read as another iteration space: keep the old ones.
    try:
        same = op.loop_ranges() == ranges
    except VerifyException:
        same = False
    if not same:
        op.indexing_maps = before
    return ranges


def _collapsible_suffix(op: GenericOp) -> int:
    """The first dim of the longest run of trailing domain dims `first..r-1` that can run
    as one flat loop: the same iterator kind, and every indexing map either uses none of
    them or ends with exactly `d_first, ..., d_{r-1}` as plain results and uses them
    nowhere else (so each buffer's trailing dims are those dims, contiguous). Returns r
    when there is no such run."""
    r = len(op.iterator_types.data)
    kinds = [k.data for k in op.iterator_types.data]
    ranges = op.loop_ranges()
    shapes = [v.type.get_shape() for v in (*op.ins, *op.outs)]
    first = r
    while first > 0 and kinds[first - 1] == kinds[r - 1]:
        cand = first - 1
        dims = list(range(cand, r))
        ok = True
        for m, shape in zip(op.maps, shapes):
            if not any(_uses_dim(e, d) for e in m.results for d in dims):
                continue
            n = len(dims)
            tail = list(m.results[-n:]) if len(m.results) >= n else []
            plain = [e.position if isinstance(e, AffineDimExpr) else -1 for e in tail]
            head = m.results[: len(m.results) - n]
            same = list(shape[len(shape) - n :]) == [ranges[d] for d in dims]
            if plain != dims or not same or any(_uses_dim(e, d) for e in head for d in dims):
                ok = False
                break
        if not ok:
            break
        first = cand
    return first


def _uses_dim(e: AffineExpr, d: int) -> bool:
    if isinstance(e, AffineDimExpr):
        return e.position == d
    if isinstance(e, AffineBinaryOpExpr):
        return _uses_dim(e.lhs, d) or _uses_dim(e.rhs, d)
    return False


def _parallel_dims(op: GenericOp) -> list[bool]:
    """Per domain dimension, whether its loop may run in parallel: a `parallel` iterator
    that every output's indexing map uses as a plain dimension (so that iterations write
    distinct output elements). Reduction loops stay serial."""
    out_maps = op.maps[len(op.ins) :]
    return [
        kind.data == "parallel"
        and all(
            any(isinstance(e, AffineDimExpr) and e.position == d for e in m.results)
            for m in out_maps
        )
        for d, kind in enumerate(op.iterator_types.data)
    ]


def _has_tensors(fn: func.FuncOp) -> bool:
    ftype = fn.function_type
    return any(isinstance(t, TensorType) for t in (*ftype.inputs, *ftype.outputs)) or any(
        isinstance(r.type, TensorType) for op in fn.walk() for r in op.results
    )


@dataclass(frozen=True)
class ConvertTensorToLoopPass(ModulePass):
    """Bufferize and lower tensor-level functions to loop nests (see the module docstring)."""

    name = "convert-tensor-to-loop"

    microkernels: bool = True
    """Lower big contractions (matmul, gemm, convolution) to packed GEMM microkernels
    (passes/tensor_to_loop/microkernel, docs/microkernels.md)."""
    vector_bits: int = 0
    """SIMD register width the microkernels target (0: the module's Target's)."""
    microkernel_min_flops: int = 1 << 12
    """Smaller contractions keep the plain loop nest (microkernel.lower.DEFAULT_MIN_FLOPS)."""
    panel_packing: bool = True
    """Pack a convolution's input one NR panel at a time, right before its kernels, when
    the weights are packed at compile time and the output channels form one row block."""
    flatten: bool = False
    """Run the trailing dims of a plain (not microkernel) generic as one flat loop when
    every buffer holds them contiguously (elementwise ops, bias fills). Off by default:
    it changes the loop nests that schedules (passes/loop/schedule) address by position."""
    narrow_n: bool = True
    """Lower convolutions whose output positions pad badly to the kernel's NR columns (7 x 7,
    14 x 14) with the roles swapped: output channels in the vectors (docs/microkernels.md)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        names = {o.sym_name.data for o in op.body.block.ops if isinstance(o, memref.GlobalOp)}
        blocking = None
        if self.microkernels:
            blocking = default_blocking(
                self.vector_bits or Target.of(op).vector_bits,
                self.microkernel_min_flops,
                self.narrow_n,
                self.panel_packing,
            )
        for fn in list(op.body.block.ops):
            if isinstance(fn, func.FuncOp) and fn.body.blocks and _has_tensors(fn):
                if len(fn.body.blocks) != 1:
                    raise ValueError(
                        f"convert-tensor-to-loop: function @{fn.sym_name.data} has "
                        f"{len(fn.body.blocks)} blocks; only single-block functions are supported"
                    )
                new = _TensorFunctionToLoops(fn, op, names, blocking, self.flatten).run()
                op.body.block.insert_op_before(new, fn)
                fn.detach()
                fn.erase(safe_erase=False)
        if blocking is not None:
            drop_unpacked_constants(op)
