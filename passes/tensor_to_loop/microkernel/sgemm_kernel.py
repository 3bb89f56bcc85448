"""The register-blocked f32 GEMM microkernel, generated as a loop-level `func.func`.

`build_kernel` returns a private function that adds the product of a packed MR x kc panel
of A and a packed kc x NR panel of B to an MR x NR tile of C (C += A * B):

    func.func private @__sgemm_6x64_v16(%a: memref<LAxf32>, %a_off: index,
        %b: memref<LBxf32>, %b_off: index, %c: memref<LCxf32>, %c_off: index,
        %ldc: index, %kc: index)

- A panel: element (i, p) at `a[a_off + p * MR + i]` (column p of the panel contiguous);
- B panel: element (p, j) at `b[b_off + p * NR + j]` (row p contiguous);
- C tile: element (i, j) at `c[c_off + i * ldc + j]`.

The body keeps the MR x NR accumulators in a stack buffer that is only ever accessed at
constant offsets, in whole vectors: LLVM's SROA/mem2reg turn it into MR * NR / VW vector
registers (phis of the k loop), so the loop body is, per k, NR / VW vector loads of B, MR
broadcasts of A and MR * NR / VW `vector.fma` (-> `llvm.fmuladd`, a `vfmadd231ps` with a
broadcast memory operand on AVX-512). The k loop is unrolled `unroll` times; `kc` must be
a multiple of `unroll` (the packing pads panels with zero rows).

Register budget (AVX-512, 32 zmm): 6 x 64 uses 24 accumulators + 4 B vectors; 8 x 32 uses
16 + 2; 14 x 32 uses 28 + 2. See docs/microkernels.md for the measured choice.

Source: the BLIS microkernel design (Van Zee & van de Geijn, "BLIS: A Framework for
Rapidly Instantiating BLAS Functionality", ACM TOMS 2015; Low et al., "Analytical Modeling
Is Enough for High-Performance BLIS", TOMS 2016).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith, func, vector
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    UnitAttr,
    VectorType,
    f32,
)
from xdsl.ir import Attribute, Block, Region, SSAValue

from ....dialects import loop


def kernel_name(
    mr: int, nr: int, vw: int, a_len: int, b_len: int, c_len: int, transposed: bool = False
) -> str:
    """The symbol of the kernel for these parameters (one per distinct signature)."""
    suffix = "_t" if transposed else ""
    return f"__sgemm_{mr}x{nr}_v{vw}_{a_len}_{b_len}_{c_len}{suffix}"


class KernelEmitter:
    """Index constants, created once at the top of the function (they dominate every use)."""

    def __init__(self, block: Block):
        self.block = block
        self.consts: dict[int, SSAValue] = {}

    def index(self, v: int) -> SSAValue:
        if v not in self.consts:
            op = arith.ConstantOp(IntegerAttr(v, IndexType()))
            Builder(InsertPoint.at_start(self.block)).insert(op)
            self.consts[v] = op.result
        return self.consts[v]


def build_kernel(
    mr: int,
    nr: int,
    vw: int,
    a_len: int,
    b_len: int,
    c_len: int,
    unroll: int = 4,
    transposed: bool = False,
    epilogue: Epilogue | None = None,
) -> func.FuncOp:
    """The microkernel `C[MR x NR] += A_panel[MR x kc] * B_panel[kc x NR]` (module docs).

    `mr`, `nr`: register block; `nr` must be a multiple of the vector width `vw` (lanes of
    f32: 16 for AVX-512, 8 for AVX2, 4 for SSE/NEON/wasm simd128). `a_len`, `b_len`,
    `c_len`: element counts of the three 1-D buffer arguments. `unroll`: copies of the k
    step in the loop body. `transposed`: the tile is stored transposed, element (i, j) at
    `c[c_off + j * ldc + i]` (rows contiguous in C): the narrow-N convolution mode of
    lower.py, where the rows are output positions and the columns output channels; the
    accumulators go through a stack tile and are added to C element by element (MR * NR
    scalar adds per call, unrolled: a loop would make a second loop nest). Raises
    ValueError for an `nr` that is not a multiple of `vw`.

    `epilogue`: after the arguments above, the `epilogue.arg_types`; each vector of the
    tile is stored as `epilogue.apply(builder, C + acc, extra arguments, offset in C,
    offset in the tile's row)` instead of `C + acc` (a bias, a residual add: lower.py's
    last K block). Not with `transposed`.
    """
    if nr % vw or mr < 1 or vw < 1 or unroll < 1:
        raise ValueError(f"microkernel: bad register block {mr}x{nr} for vector width {vw}")
    idx = IndexType()
    a_t, b_t, c_t = (MemRefType(f32, [n]) for n in (a_len, b_len, c_len))
    extra_types = list(epilogue.arg_types) if epilogue is not None else []
    block = Block(arg_types=[a_t, idx, b_t, idx, c_t, idx, idx, idx, *extra_types])
    a, a_off, bp, b_off, c, c_off, ldc, kc = block.args[:8]
    extras = block.args[8:]
    for arg, name in zip(block.args, ("a", "a_off", "b", "b_off", "c", "c_off", "ldc", "kc")):
        arg.name_hint = name
    b = Builder(InsertPoint.at_end(block))
    e = KernelEmitter(block)
    vt = VectorType(f32, [vw])
    nv = nr // vw
    # One vector per slot (i, j) at acc[i * nv + j]: a buffer of vectors, so that the
    # stack slot has the vector's type (llvmlite types an alloca's pointer).
    acc = b.insert(loop.AllocOp(MemRefType(vt, [mr * nv]))).result
    acc.name_hint = "acc"

    def add(x: SSAValue, y: SSAValue, bb: Builder) -> SSAValue:
        return bb.insert(arith.AddiOp(x, y)).result

    def mul(x: SSAValue, y: SSAValue, bb: Builder) -> SSAValue:
        return bb.insert(arith.MuliOp(x, y)).result

    # Accumulators start at 0 and C is added at the end: a C tile that misses the cache
    # then costs one (overlapped) miss at the end, not a stall of the whole k loop.
    rows = [c_off]
    for _ in range(1, mr):
        rows.append(add(rows[-1], ldc, b))
    zero = b.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result
    zvec = b.insert(vector.BroadcastOp(zero, vt)).vector
    for i in range(mr):
        for j in range(nv):
            b.insert(loop.StoreOp(zvec, acc, [e.index(i * nv + j)]))

    def k_step(bb: Builder, p: SSAValue) -> None:
        ao = add(a_off, mul(p, e.index(mr), bb), bb)
        bo = add(b_off, mul(p, e.index(nr), bb), bb)
        rows = [add(ao, e.index(i), bb) if i else ao for i in range(mr)]
        rank1_update(bb, e, acc, a, rows, bp, bo, nv, vw)

    def for_loop(lb: SSAValue, ub: SSAValue, step: int) -> tuple[Builder, SSAValue]:
        op = b.insert(loop.ForOp(lb, ub, e.index(step)))
        term = loop.YieldOp()
        op.body.block.add_op(term)
        return Builder(InsertPoint.before(term)), op.induction_var

    # kc is a multiple of `unroll` (the packed panels are zero-padded in k), so the kernel
    # is one loop: no remainder loop, and a single loop nest (outline-loop-nests leaves
    # functions with fewer than two nests alone).
    bb, p = for_loop(e.index(0), kc, unroll)
    for u in range(unroll):
        k_step(bb, add(p, e.index(u), bb) if u else p)

    if transposed:
        _store_transposed(b, e, acc, c, c_off, ldc, mr, nr, vw)
    else:
        for i in range(mr):
            for j in range(nv):
                v = b.insert(loop.LoadOp(acc, [e.index(i * nv + j)])).result
                col = add(rows[i], e.index(j * vw), b) if j else rows[i]
                old = b.insert(vector.LoadOp(c, [col], vt)).result
                total = b.insert(arith.AddfOp(old, v)).result
                if epilogue is not None:
                    total = epilogue.apply(b, total, extras, col, j * vw)
                b.insert(vector.StoreOp(total, c, [col]))
    b.insert(loop.DeallocOp(acc))
    b.insert(func.ReturnOp())
    # The three buffers are distinct: packed panels (scratch or compile-time globals) and
    # the output (or a tile-sized copy of it).
    name = kernel_name(mr, nr, vw, a_len, b_len, c_len, transposed)
    if epilogue is not None:
        name += f"_e{epilogue.key}"
    return kernel_function(name, block)


class Epilogue(Protocol):
    """A pointwise function the kernel applies to each vector of C as it stores it."""

    key: str  # distinguishes the kernel's symbol
    arg_types: Sequence[Attribute]  # the kernel's extra arguments

    def apply(
        self, b: Builder, value: SSAValue, args: Sequence[SSAValue], c_at: SSAValue, lane: int
    ) -> SSAValue:
        """The stored vector for `value` (C + acc) at C offset `c_at`, tile column `lane`."""
        ...


def rank1_update(
    bb: Builder,
    e: KernelEmitter,
    acc: SSAValue,
    a: SSAValue,
    a_offsets: list[SSAValue],
    bp: SSAValue,
    b_off: SSAValue,
    nv: int,
    vw: int,
) -> None:
    """One k step of a register block: acc[i, j] += a[a_offsets[i]] * b[b_off + j * vw :
    + vw] for every row i and vector j (nv vector loads of B, one broadcast per row, rows
    x nv `vector.fma`)."""
    vt = VectorType(f32, [vw])
    bvecs = []
    for j in range(nv):
        off = bb.insert(arith.AddiOp(b_off, e.index(j * vw))).result if j else b_off
        bvecs.append(bb.insert(vector.LoadOp(bp, [off], vt)).result)
    for i, a_at in enumerate(a_offsets):
        s = bb.insert(loop.LoadOp(a, [a_at])).result
        splat = bb.insert(vector.BroadcastOp(s, vt)).vector
        for j in range(nv):
            slot = e.index(i * nv + j)
            cur = bb.insert(loop.LoadOp(acc, [slot])).result
            new = bb.insert(vector.FMAOp(splat, bvecs[j], cur)).res
            bb.insert(loop.StoreOp(new, acc, [slot]))


def kernel_function(name: str, block: Block) -> func.FuncOp:
    """A private, noinline `func.func` with body `block`, its memref arguments marked
    noalias (a kernel's buffers never overlap)."""
    noalias = DictionaryAttr({"llvm.noalias": UnitAttr()})
    arg_attrs = [
        noalias if isinstance(t, MemRefType) else DictionaryAttr({}) for t in block.arg_types
    ]
    fn = func.FuncOp(
        name,
        (list(block.arg_types), []),
        Region(block),
        visibility="private",
        arg_attrs=ArrayAttr(arg_attrs),
    )
    fn.attributes["passthrough"] = ArrayAttr([StringAttr("noinline")])
    return fn


def _store_transposed(
    b: Builder, e: KernelEmitter, acc: SSAValue, c: SSAValue, c_off, ldc, mr: int, nr: int, vw: int
) -> None:
    """C[c_off + j * ldc + i] += acc[i, j] for the MR x NR accumulators: whole vectors into
    a stack tile, then one scalar add per element (C's row i of the tile is a column)."""
    nv = nr // vw
    tile = b.insert(loop.AllocOp(MemRefType(f32, [mr * nr]))).result
    for i in range(mr):
        for j in range(nv):
            v = b.insert(loop.LoadOp(acc, [e.index(i * nv + j)])).result
            b.insert(vector.StoreOp(v, tile, [e.index(i * nr + j * vw)]))
    col = c_off
    for j in range(nr):
        if j:
            col = b.insert(arith.AddiOp(col, ldc)).result
        for i in range(mr):
            dst = b.insert(arith.AddiOp(col, e.index(i))).result if i else col
            v = b.insert(loop.LoadOp(tile, [e.index(i * nr + j)])).result
            old = b.insert(loop.LoadOp(c, [dst])).result
            total = b.insert(arith.AddfOp(old, v)).result
            b.insert(loop.StoreOp(total, c, [dst]))
    b.insert(loop.DeallocOp(tile))
