"""What the macro loops of one contraction (lower.py) are built from: the plan (`GemmPlan`:
cache blocks, the narrow-N mode, compile-time packing of constant operands, offset tables
for an implicit im2col) and the run-time packing loops of A and B into panels (`pack_a`,
`pack_b`, `pack_b_panel`), emitted inside the macro loops.

Panels: A in MR-row panels, element (i, p) of a panel at `(ir * KC + p) * MR + i`; B in
NR-column panels, element (p, l) at `(jr * KC + p) * NR + l` (sgemm_kernel.py reads them so);
rows past kc up to the kernel's unroll multiple, and rows or columns past M or N, are 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    MemRefType,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i32,
)
from xdsl.ir import Attribute, SSAValue

from ....dialects import loop
from ....dialects.arrays import to_numpy
from .blocking import SCRATCH_LIMIT, SMALL_N_PANELS, Blocking
from .contraction import Contraction, Side
from .emitter import IndexEmitter, linear, strides, thread_count
from .packing import pack_constant, unravel


def _constant_of(L, buf: SSAValue) -> np.ndarray | None:
    """The elements of `buf` if it is a `memref.get_global` of a constant dense global."""
    owner = buf.owner
    if not isinstance(owner, memref.GetGlobalOp):
        return None
    name = owner.name_.root_reference.data
    for op in L.module.body.block.ops:
        if isinstance(op, memref.GlobalOp) and op.sym_name.data == name:
            value = op.initial_value
            if op.constant is not None and isinstance(value, DenseIntOrFPElementsAttr):
                return to_numpy(value)
            return None
    return None


def _new_global(L, array: np.ndarray, stem: str, elem: Attribute = f32) -> tuple[str, MemRefType]:
    n = 0
    while f"{stem}_{n}" in L.global_names:
        n += 1
    name = f"{stem}_{n}"
    L.global_names.add(name)
    t = MemRefType(elem, [array.size])
    dtype = "<f4" if elem == f32 else "<i4"
    data = np.ascontiguousarray(array, dtype=dtype)
    value = DenseIntOrFPElementsAttr(TensorType(elem, [array.size]), BytesAttr(data.tobytes()))
    glob = memref.GlobalOp.get(StringAttr(name), t, value, constant=UnitAttr(), alignment=64)
    L.module.body.block.insert_op_before(glob, L.fn)
    return name, t


class GemmPlan:
    """The plan of the microkernel lowering of contraction `con` over buffers `bufs` (a, b,
    c) with blocking `blk`, and the packing loops; lower.py's `_Lowering` emits the macro
    loops from it. `L`: convert-tensor-to-loop's lowering state."""

    def __init__(self, L, con: Contraction, bufs: Sequence[SSAValue], blk: Blocking):
        self.L, self.con, self.blk = L, con, blk
        self.bufs = list(bufs)
        self.maps = con.op.maps
        self.c_buf = bufs[-1]
        c_shape = self.c_buf.type.get_shape()
        self.c_len = math.prod(c_shape)
        out_dims = [e.position for e in self.maps[-1].results]
        self.c_stride = dict(zip(out_dims, strides(c_shape)))
        self.m, self.n, self.k = con.m, con.n, con.k
        mr, nr, u = blk.mr, blk.nr, blk.unroll
        self.k_pad = -(-self.k // u) * u  # K rounded up to the kernel's unroll factor
        self.kc = min(-(-blk.kc // u) * u, self.k_pad)  # a multiple of u
        self.mc = min(blk.mc // mr * mr, -(-self.m // mr) * mr)  # whole MR panels
        self.threads = thread_count(L.module)
        # Narrow-N mode (emit_transposed): rows of `mr_t` output positions, NR output
        # channels per vector; the constant A (weights) packed in NR-column panels.
        self.mr_t = self._transposed_rows()
        self.col_tables = {}
        if self.mr_t:
            if len(con.cols) > 1:
                self.col_tables = self._column_tables(con.b)
            # Under a quarter of waste (14 x 14), only when B packs without a gather (a
            # 1x1 convolution): a 3x3's im2col by table packs mr_t lanes at a time,
            # scalar, which costs more than the padding saves (docs/benchmarks.md, 'Design
            # measurements').
            gather = any(not isinstance(t[0], int) for t in self.col_tables.values())
            if gather and -(-self.n // nr) * nr * 4 < self.n * 5:
                self.mr_t = 0
        if self.mr_t:
            self.w_packed = self._pack_at_compile_time(con.a, con.rows, nr, "__packed_w")
            if self.w_packed is None:
                self.mr_t = 0
            else:
                return
        self.a_packed = self._pack_at_compile_time(con.a, con.rows, mr, "__packed_a")
        self.b_packed = self._pack_at_compile_time(con.b, con.cols, nr, "__packed_b")
        # Column blocks: when threads split this product, an even number of equal ones
        # (two threads split them evenly), except for narrow outputs with A packed at
        # compile time, which keep one column block and let the threads split the rows
        # (the ic loop) instead. Threads split it when the outer loops (a batch of
        # matmuls) have fewer iterations than threads; else each column block is as wide
        # as NC allows (each block packs A once more).
        outer = math.prod(con.ranges[d] for d in con.outer)
        self.split = split = self.threads > 1 and outer < self.threads
        panels = -(-self.n // nr)
        m_panels = -(-self.m // mr)
        # B (the weights) packed at compile time and A at run time, one thread: one column
        # block, so that A is packed once per K block, with whatever producer is fused into
        # it (LayerNorm); B's panels are read from the packed global whatever NC is.
        b_weights = self.b_packed is not None and self.a_packed is None
        if b_weights and not split:
            n_blocks = 1
        elif self.a_packed is not None and panels <= SMALL_N_PANELS:
            n_blocks = 1
        elif not split:
            n_blocks = -(-panels * nr // blk.nc)
        else:
            n_blocks = max(min(panels, 2), -(-panels * nr // blk.nc))
            n_blocks += n_blocks % 2 if n_blocks > 1 else 0
        self.nc = -(-panels // n_blocks) * nr
        if self.nc >= self.n and split:  # one jc block: threads split M
            half = (self.m + 1) // 2
            self.mc = min(self.mc, -(-half // mr) * mr)
        # One column block and A (weights) packed at compile time: the row blocks (ic) go
        # outside the K loop and are the loop the threads share.
        m_blocks = -(-self.m // self.mc)
        self.rows_outside = self.a_packed is not None and n_blocks == 1 and m_blocks > 1
        self.rows_outside = self.rows_outside and split
        # Threads splitting the columns of a product whose A is packed at run time would
        # each pack (and compute the fused producers of) all of A: it is packed once
        # instead, before the column loop, all K blocks of it, with the threads splitting
        # its rows (`a_block`: floats per K block).
        self.a_block = m_panels * mr * self.kc
        k_blocks = -(-self.k // self.kc)
        self.prepack_a = split and self.a_packed is None and outer == 1
        self.prepack_a = self.prepack_a and n_blocks > 1 and m_panels >= self.threads
        self.prepack_a = self.prepack_a and k_blocks * self.a_block * 4 <= SCRATCH_LIMIT
        if self.b_packed is None and len(con.cols) > 1 and not self.col_tables:
            self.col_tables = self._column_tables(con.b)

    def _transposed_rows(self) -> int:
        """MR of the narrow-N mode, or 0 when the normal mode is kept: the mode needs M a
        multiple of NR, C's columns contiguous, N padded to NR columns wasting over a
        tenth of the arithmetic, and a row count from 8 down to 4 that divides N (no edge
        tiles); 7 for ResNet's 7 x 7 and 14 x 14 outputs."""
        blk, con = self.blk, self.con
        if not blk.narrow_n or self.m % blk.nr or self.c_stride[con.cols[-1]] != 1:
            return 0
        if con.a.plain is None or con.a.dims & set(con.outer):
            return 0
        if con.b.plain is not None and _constant_of(self.L, self.bufs[con.b.plain]) is not None:
            return 0  # B would be packed at compile time: keep the normal mode
        if -(-self.n // blk.nr) * blk.nr * 10 < self.n * 11:
            return 0
        return next((r for r in range(8, 3, -1) if self.n % r == 0), 0)

    def _column_tables(self, side: Side) -> dict[int, tuple]:
        """For each input of `side` whose map is linear in the dims (no mod / div):
        (an i32 global holding, per column j, the column part of its flat element offset,
        padded with 0 to whole NR panels; the coefficients of its other dims; the
        constant part). Packing then reads element `table[j] + row_offset(k)`: no
        division of j into (oh, ow) per element (an im2col by offset table). When the
        offsets are `step * j` (a 1x1 convolution), the step replaces the table."""
        con, nr = self.con, self.blk.nr
        tables = {}
        for i in side.inputs:
            shape = self.bufs[i].type.get_shape()
            coef: dict[int, int] = {}
            const = 0
            for expr, stride in zip(self.maps[i].results, strides(shape)):
                lin = linear(expr)
                if lin is None:
                    return {}
                terms, c = lin
                const += c * stride
                for d, k in terms.items():
                    coef[d] = coef.get(d, 0) + k * stride
            if not any(d in coef for d in con.cols):
                continue
            j = np.arange(-(-self.n // nr) * nr, dtype=np.int64)
            digits = unravel(np.minimum(j, self.n - 1), con.cols, con.ranges)
            offsets = sum(coef.get(d, 0) * digits[d] for d in con.cols)
            offsets = np.where(j < self.n, offsets, 0)
            rest = {d: k for d, k in coef.items() if d not in con.cols}
            step = int(offsets[1]) if self.n > 1 else 1
            if np.array_equal(offsets[: self.n], step * j[: self.n]):
                tables[i] = (step, rest, const)  # the columns are evenly spaced: no table
                continue
            if offsets.max() + const >= 2**31 or offsets.min() < 0:
                return {}
            glob = _new_global(self.L, offsets.astype(np.int32), "__im2col", i32)
            tables[i] = (glob, rest, const)
        return tables

    def _pack_at_compile_time(self, side: Side, side_dims, block: int, stem: str):
        """(name, type) of a new global holding `side` packed, when it is one constant
        input that does not depend on the outer dims; else None."""
        i = side.plain
        if i is None or side.dims & set(self.con.outer):
            return None
        array = _constant_of(self.L, self.bufs[i])
        if array is None:
            return None
        con = self.con
        packed = pack_constant(
            array, self.maps[i], side_dims, con.red, con.ranges, block, self.k_pad, self.kc
        )
        return _new_global(self.L, packed, stem)

    def _load(self, e: IndexEmitter, side: Side, dims, valid: SSAValue | None) -> SSAValue:
        """The factor `side` at the domain point `dims`: its inputs loaded at their maps,
        its prologue ops cloned; with `valid`, 0 where it is false (the caller clamped
        dims)."""
        block = self.con.op.body.block
        bmap: dict[SSAValue, SSAValue] = {}
        for i in side.inputs:
            idx = [e.affine(x, dims) for x in self.maps[i].results]
            bmap[block.args[i]] = e.b.insert(loop.LoadOp(self.bufs[i], idx)).result
        return self._prologue(e, side, bmap, valid)

    def _prologue(self, e: IndexEmitter, side: Side, bmap, valid: SSAValue | None) -> SSAValue:
        """The factor's prologue ops on the loaded inputs in `bmap` (then 0 where
        `valid` is false)."""
        for inner in side.ops:
            for operand in inner.operands:  # values captured from outside the body
                if operand not in bmap and operand in self.L.vmap:
                    bmap[operand] = self.L.vmap[operand]
            e.b.insert(inner.clone(value_mapper=bmap))
        v = bmap[side.value]
        if valid is None:
            return v
        zero = e.b.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result
        return e.b.insert(arith.SelectOp(valid, v, zero)).result

    def _zero_rows(self, e: IndexEmitter, buf, base, panels, block: int, kc, kcp) -> None:
        """buf[base + (q * KC + p) * block + l] = 0 for p in [kc, kcp): the k padding."""
        zero = e.b.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result
        qe, q = e.loop(0, panels)
        pe, p = qe.loop(kc, kcp)
        le, lane = pe.loop(0, block)
        dst = le.add(le.add(le.mul(le.add(le.mul(q, self.kc), p), block), lane), base)
        le.b.insert(loop.StoreOp(zero, buf, [dst]))

    def pack_b(
        self, e: IndexEmitter, bp, base, outer_dims, jc, nc, pc, kc, kcp, nr: int = 0
    ) -> None:
        """bp[base + (jr * KC + p) * NR + l] = B[pc + p, jc + jr * NR + l] (0 past N and past kc).
        Whole panels copy without checks (contiguous loads where the map allows); the
        last, partial panel clamps the column and selects 0 past N. `nr`: the panel width
        (default NR; the row count MR in the narrow-N mode)."""
        con, nr = self.con, nr or self.blk.nr
        pe, p = e.loop(0, kc)
        dims = dict(outer_dims)
        dims.update(pe.unravel(pe.add(pc, p), con.red, con.ranges))
        n_full = pe.div(nc, nr)
        for lb, ub, partial in ((0, n_full, False), (n_full, pe.ceildiv(nc, nr), True)):
            je, jr = pe.loop(lb, ub)
            start = je.add(je.mul(je.add(je.mul(jr, self.kc), p), nr), base)
            self._pack_b_row(je, bp, start, dims, je.add(jc, je.mul(jr, nr)), nr, partial)
        self._zero_rows(e, bp, base, e.ceildiv(nc, nr), nr, kc, kcp)

    def pack_b_panel(
        self, e: IndexEmitter, bp, base, outer_dims, jc, jr, pc, kc, kcp, partial
    ) -> None:
        """bp[base + p * NR + l] = B[pc + p, jc + jr * NR + l]: one NR panel of one K block,
        as pack_b (`partial`: the last panel, clamped, 0 past N)."""
        con, nr = self.con, self.blk.nr
        col0 = e.add(jc, e.mul(jr, nr))
        pe, p = e.loop(0, kc)
        dims = dict(outer_dims)
        dims.update(pe.unravel(pe.add(pc, p), con.red, con.ranges))
        self._pack_b_row(pe, bp, pe.add(pe.mul(p, nr), base), dims, col0, nr, partial)
        self._zero_rows(e, bp, base, 1, nr, kc, kcp)

    def _pack_b_row(self, e: IndexEmitter, bp, start, dims, col0, nr: int, partial: bool) -> None:
        """bp[start + l] = B[dims, col0 + l] for l < nr: one K row of one packed panel
        (`partial`: columns past N clamped on load and stored as 0)."""
        con = self.con
        le, lane = e.loop(0, nr)
        col = le.add(col0, lane)
        valid = None
        if partial:
            valid = le.b.insert(arith.CmpiOp(col, le.c(self.n), "slt")).result
            col = le.min(col, self.n - 1)
        if self.col_tables:
            v = self._load_by_table(le, con.b, dims, col, valid)
        else:
            d2 = dict(dims)
            d2.update(le.unravel(col, con.cols, con.ranges))
            v = self._load(le, con.b, d2, valid)
        le.b.insert(loop.StoreOp(v, bp, [le.add(start, lane)]))

    def _load_by_table(self, e: IndexEmitter, side: Side, dims, col, valid) -> SSAValue:
        """As `_load`, for the inputs with a column table: element `table[col] +
        sum(coef * dim) + const` of the flat buffer (`dims`: the K and outer dims)."""
        block = self.con.op.body.block
        bmap: dict[SSAValue, SSAValue] = {}
        for i in side.inputs:
            if i not in self.col_tables:
                idx = [e.affine(x, dims) for x in self.maps[i].results]
                bmap[block.args[i]] = e.b.insert(loop.LoadOp(self.bufs[i], idx)).result
                continue
            glob, coef, const = self.col_tables[i]
            if isinstance(glob, int):  # evenly spaced columns (a 1x1 convolution)
                off = e.mul(col, glob) if glob != 1 else col
            else:
                table = e.b.insert(memref.GetGlobalOp(*glob)).memref
                raw = e.b.insert(loop.LoadOp(table, [col])).result
                off = e.b.insert(arith.IndexCastOp(raw, IndexType())).result
            for d, k in coef.items():
                off = e.add(off, e.mul(dims[d], k))
            if const:
                off = e.add(off, const)
            buf = self.bufs[i]
            flat_t = MemRefType(buf.type.element_type, [math.prod(buf.type.get_shape())])
            flat = e.b.insert(loop.ReshapeOp(buf, flat_t)).result
            bmap[block.args[i]] = e.b.insert(loop.LoadOp(flat, [off])).result
        return self._prologue(e, side, bmap, valid)

    def pack_a(self, e: IndexEmitter, ap, base, outer_dims, ic, mc, pc, kc, kcp) -> None:
        """ap[base + (ir * KC + p) * MR + i] = A[ic + ir * MR + i, pc + p] (0 past M and past
        kc); whole panels without checks, the partial one clamped as in pack_b."""
        con, mr = self.con, self.blk.mr
        n_full = e.div(mc, mr)
        for lb, ub, partial in ((0, n_full, False), (n_full, e.ceildiv(mc, mr), True)):
            re, irow = e.loop(lb, ub)
            ie, i = re.loop(0, mr)
            row = ie.add(ie.add(ic, ie.mul(irow, mr)), i)
            valid = None
            if partial:
                valid = ie.b.insert(arith.CmpiOp(row, ie.c(self.m), "slt")).result
                row = ie.min(row, self.m - 1)
            dims = dict(outer_dims)
            dims.update(ie.unravel(row, con.rows, con.ranges))  # once per row, not per k
            pe, p = ie.loop(0, kc)
            dims.update(pe.unravel(pe.add(pc, p), con.red, con.ranges))
            v = self._load(pe, con.a, dims, valid)
            dst = pe.add(pe.add(pe.mul(pe.add(pe.mul(irow, self.kc), p), mr), i), base)
            pe.b.insert(loop.StoreOp(v, ap, [dst]))
        self._zero_rows(e, ap, base, e.ceildiv(mc, mr), mr, kc, kcp)
