"""Macro loops of a contraction lowered to the GEMM microkernel (the hook of
convert-tensor-to-loop; docs/microkernels.md).

For each value of the outer dims, C[M x N] += A[M x K] * B[K x N] runs as BLIS's five
loops around the microkernel (sgemm_kernel.py), with A the broadcast-side input, B the
vector-side input and C the output seen through `loop.reshape` as one flat array::

    for o in outer dims:                        (parallel)
      [pack all of A, rows split by threads]    (parallel; GemmPlan.prepack_a)
      for jc in 0..N step NC:                   (parallel; one scratch slot per iteration)
        for pc in 0..K step KC:
          pack B[pc:pc+kc, jc:jc+nc] into NR-column panels   (unless packed at compile time)
          for ic in 0..M step MC:               (outside the pc loop and parallel instead
                                                 for one jc block and compile-time A)
            pack A[ic:ic+mc, pc:pc+kc] into MR-row panels    (unless packed at compile time)
            for jr in full NR panels:   for ir in full MR panels: kernel on C
                                        for ir in the last, partial one: kernel on a tile copy
            for jr in the partial panel: for ir in all panels:   kernel on a tile copy

An input that is a compile-time constant (a `memref.get_global` of a dense global) and
does not depend on the outer dims is packed once, here, by NumPy (packing.py) into a new
global in the panel layout. Run-time packing evaluates the input's indexing map at each
element (an implicit im2col for a convolution) and stores 0 outside the matrix, so panels
are always whole. Edge tiles (M mod MR, N mod NR) go through an MR x NR copy of the C tile.
The code keeps C += A * B, so an output initialized with a bias (or zeros) works. A
pointwise consumer of the result (a bias or residual add: gemm_epilogue.py) runs in the
last K block, which is emitted after the loop over the others: its kernels and edge-tile
copies store the consumer's body of C + A * B.

Loops without an `if` op: a "partial" loop runs from the number of full panels to the
number of panels (0 or 1 iterations), and packing clamps its indices and selects 0.

Blocking (`Blocking`): KC x NR of B (32 KiB at KC = 256, NR = 32) stays in L1 (48 KiB
on Zen 5), MC x KC of A (256 KiB) in L2 (1 MiB), KC x NC of B in L2/L3. When threads
split the product (more threads than iterations of the outer dims), the columns are cut
into an even number of equal NC blocks so that two threads share the parallel jc loop
evenly; a narrow output (<= 8 NR panels) with constant weights keeps one column block and
its threads split the rows (the ic loop, with MC at most half of M). Otherwise (one
thread, or a batch of matmuls whose outer loop the threads share) the column blocks are as
wide as NC allows, since each block packs A again.

Here: the macro loops (`_Lowering.emit`, `emit_transposed`) and `lower_contraction`, the
entry point; the plan and the packing loops they call are in gemm_plan.py, the blocking in
blocking.py, the index arithmetic in emitter.py, the kernel in sgemm_kernel.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects import func, memref
from xdsl.dialects.builtin import MemRefType, f32
from xdsl.ir import SSAValue

from ....dialects import loop
from ....dialects.tensor import GenericOp
from .blocking import (
    DEFAULT_MIN_FLOPS,
    SCRATCH_LIMIT,
    SMALL_B_BLOCK,
    Blocking,
    default_blocking,
    matmul_blocking,
    worth_it,
)
from .contraction import match_contraction
from .direct_conv import lower_direct_conv
from .emitter import IndexEmitter
from .gemm_epilogue import GemmEpilogue, find_gemm_epilogue
from .gemm_plan import GemmPlan
from .sgemm_kernel import build_kernel, kernel_name

__all__ = [
    "DEFAULT_MIN_FLOPS",
    "Blocking",
    "default_blocking",
    "drop_unpacked_constants",
    "lower_contraction",
]


def _ensure_kernel(
    L,
    blk: Blocking,
    a_len: int,
    b_len: int,
    c_len: int,
    mr: int = 0,
    transposed: bool = False,
    epilogue: GemmEpilogue | None = None,
) -> str:
    mr = mr or blk.mr
    name = kernel_name(mr, blk.nr, blk.vw, a_len, b_len, c_len, transposed)
    if epilogue is not None:
        name += f"_e{epilogue.key}"
    if name not in L.global_names:
        L.global_names.add(name)
        kernel = build_kernel(
            mr,
            blk.nr,
            blk.vw,
            a_len,
            b_len,
            c_len,
            blk.unroll,
            transposed=transposed,
            epilogue=epilogue,
        )
        L.module.body.block.insert_op_before(kernel, L.fn)
    return name


def lower_contraction(L, op: GenericOp, bufs: Sequence[SSAValue], blk: Blocking) -> bool:
    """Emit the microkernel lowering of `op` (a, b, c buffers `bufs`) at `L.b` when `op` is
    a contraction worth it; return whether it did (else nothing was emitted). A blocked
    (NCHW[x]c) convolution goes to the direct-convolution kernel (direct_conv.py)."""
    if lower_direct_conv(L, op, bufs, blk):
        return True
    con = match_contraction(op)
    if con is None or not worth_it(con, blk):
        return False
    _Lowering(L, con, bufs, matmul_blocking(con, blk)).emit()
    return True


class _Lowering(GemmPlan):
    """Emits the macro loops (module docs) of a planned contraction."""

    def emit(self) -> None:
        if self.mr_t:
            self.emit_transposed()
            return
        con, blk, L = self.con, self.blk, self.L
        # A pointwise consumer (bias, residual add) run in the last K block's kernels.
        epi = find_gemm_epilogue(L, con, self.c_stride, blk.vw)
        if epi is not None:
            epi.bind(L)
            L.vmap[epi.op.res[0]] = self.c_buf
        # Packing scratch: one slot per (outer point, jc block), so that the parallel
        # iterations never share one; allocated once at the top of the function (where
        # plan-buffers can place it in its arena) unless that is too big, else in the jc
        # loop's body. Allocating it per jc block would malloc and free big buffers (mmap
        # and munmap) many times per call.
        n_blocks = -(-self.n // self.nc)
        m_blocks = -(-self.m // self.mc)
        # One column block and weights packed at compile time: the row blocks (ic) go
        # outside the K loop and run in parallel, each packing its own run-time operand
        # block into its own slot: one parallel region per call, not per K block.
        rows_outside = self.rows_outside
        # One big B block (KC x NC over SMALL_B_BLOCK), one row block, weights packed at
        # compile time, B packed at run time: each NR panel of B is packed just before the
        # kernels that use it (once each), so it stays in L1 instead of a KC x NC block that
        # may not fit L2 (56 x 56 outputs) ...
        per_panel = blk.panel_packing and self.a_packed is not None and self.b_packed is None
        per_panel = per_panel and m_blocks == 1 and not rows_outside
        # ... when B's columns are evenly spaced (a 1x1 convolution, a matmul): a gather by
        # offset table packs better over whole blocks (panel by panel, the 7 x 7 stem was
        # slower and 3 x 3 convolutions no faster, 1x1 ones at 56 x 56 faster; figures:
        # docs/benchmarks.md, 'Design measurements').
        gather = any(not isinstance(t[0], int) for t in self.col_tables.values())
        per_panel = per_panel and not gather and self.kc * self.nc * 4 > SMALL_B_BLOCK
        b_slot = self.kc * (blk.nr if per_panel else self.nc)
        a_slot = self.kc * self.mc
        per = m_blocks if rows_outside else n_blocks
        slots = math.prod(con.ranges[d] for d in con.outer) * per
        a_run = self.a_packed is None and not self.prepack_a  # A packed per jc block
        need = (b_slot if self.b_packed is None else 0) + (a_slot if a_run else 0)
        top = slots * need * 4 <= SCRATCH_LIMIT
        if not top:
            slots = 1
        bp = ap = None
        if top and self.b_packed is None:
            bp = L.alloc(MemRefType(f32, [slots * b_slot]))
        if top and a_run:
            ap = L.alloc(MemRefType(f32, [slots * a_slot]))
        k_blocks = -(-self.k // self.kc)
        if self.prepack_a:
            ap = L.alloc(MemRefType(f32, [k_blocks * self.a_block]))
        ir = IndexEmitter(L, L.b)
        dims: dict[int, SSAValue] = {}
        c_off = ir.c(0)
        for d in con.outer:
            ir, iv = ir.loop(0, con.ranges[d], parallel=True)
            dims[d] = iv
        for d in con.outer:
            c_off = ir.add(c_off, ir.mul(dims[d], self.c_stride[d])) if self.c_stride[d] else c_off
        if self.prepack_a:
            self.prepack(ir, ap, dims)
        ir, jcb = ir.loop(0, n_blocks, parallel=True)
        jc = ir.mul(jcb, self.nc)
        nc = ir.min(self.nc, ir.sub(self.n, jc))
        c_flat = ir.b.insert(loop.ReshapeOp(self.c_buf, MemRefType(f32, [self.c_len]))).result
        mr, nr, kc_max = blk.mr, blk.nr, self.kc
        scratch = []
        if rows_outside:
            ir, icb = ir.loop(0, m_blocks, parallel=True)
        if top:
            slot = icb if rows_outside else jcb
            if con.outer:
                lin = ir.c(0)
                for d in con.outer:
                    lin = ir.add(ir.mul(lin, con.ranges[d]), dims[d])
                slot = ir.add(ir.mul(lin, per), slot)
        if self.b_packed is None:
            t = MemRefType(f32, [slots * b_slot])
            bp = bp if top else ir.b.insert(loop.AllocOp(t)).result
            b_base = ir.mul(slot, b_slot) if top else ir.c(0)
            b_len = slots * b_slot
            if not top:
                scratch.append(bp)
        else:
            b_len = self.b_packed[1].get_shape()[0]
        if a_run:
            t = MemRefType(f32, [slots * a_slot])
            ap = ap if top else ir.b.insert(loop.AllocOp(t)).result
            a_base = ir.mul(slot, a_slot) if top else ir.c(0)
            a_len = slots * a_slot
            if not top:
                scratch.append(ap)
        elif self.prepack_a:
            a_len = k_blocks * self.a_block
        else:
            a_len = self.a_packed[1].get_shape()[0]
        kernel = _ensure_kernel(L, blk, a_len, b_len, self.c_len)
        kernel_tile = _ensure_kernel(L, blk, a_len, b_len, mr * nr)
        if epi is not None:
            kernel_epi = _ensure_kernel(L, blk, a_len, b_len, self.c_len, epilogue=epi)

        def k_block(pir: IndexEmitter, pcb: SSAValue, epi: GemmEpilogue | None) -> None:
            """One K block at index `pcb` (`epi`: the last one, with the epilogue)."""
            pc = pir.mul(pcb, self.kc)
            kc = pir.min(self.kc, pir.sub(self.k, pc))  # rows of A and B in this block
            kcp = pir.mul(pir.ceildiv(kc, blk.unroll), blk.unroll)  # with the zero rows
            if self.b_packed is None:
                if not per_panel:  # else packed panel by panel in the kernel loops
                    self.pack_b(pir, bp, b_base, dims, jc, nc, pc, kc, kcp)
                b_src = bp
            else:
                b_src = pir.b.insert(memref.GetGlobalOp(*self.b_packed)).memref
            if self.a_packed is None:
                a_src = ap  # packed below, or before the jc loop (prepack_a)
            else:
                a_src = pir.b.insert(memref.GetGlobalOp(*self.a_packed)).memref
            if rows_outside:
                iir, row_block = pir, icb
            else:
                iir, row_block = pir.loop(0, m_blocks)
            tile = iir.b.insert(loop.AllocOp(MemRefType(f32, [mr * nr]))).result
            ic = iir.mul(row_block, self.mc)
            mc = iir.min(self.mc, iir.sub(self.m, ic))
            if a_run:
                self.pack_a(iir, ap, a_base, dims, ic, mc, pc, kc, kcp)
            nj_full, nj = iir.div(nc, nr), iir.ceildiv(nc, nr)
            ni_full, ni = iir.div(mc, mr), iir.ceildiv(mc, mr)
            ldc = self.c_stride[con.row]

            def offsets(e: IndexEmitter, jr: SSAValue, irow: SSAValue):
                if self.prepack_a:  # panel (ic / mr + ir) of the K block pcb
                    row = e.add(ic, e.mul(irow, mr))
                    a_off = e.add(e.mul(pcb, self.a_block), e.mul(row, kc_max))
                elif self.a_packed is None:
                    a_off = e.add(a_base, e.mul(irow, kc_max * mr))
                else:  # panel (ic / mr + ir) of the K block at pc (packing.py)
                    panel = e.add(e.div(ic, mr), irow)
                    block = e.mul(pc, -(-self.m // mr) * mr)
                    a_off = e.add(block, e.mul(e.mul(panel, kcp), mr))
                if per_panel:
                    b_off = b_base
                elif self.b_packed is None:
                    b_off = e.add(b_base, e.mul(jr, kc_max * nr))
                else:
                    panel = e.add(e.div(jc, nr), jr)
                    block = e.mul(pc, -(-self.n // nr) * nr)
                    b_off = e.add(block, e.mul(e.mul(panel, kcp), nr))
                row0 = e.add(ic, e.mul(irow, mr))
                col0 = e.add(jc, e.mul(jr, nr))
                off = e.add(e.add(c_off, e.mul(row0, ldc)), col0)
                return a_off, b_off, row0, col0, off

            def full(e: IndexEmitter, jr: SSAValue, irow: SSAValue) -> None:
                a_off, b_off, _, col0, off = offsets(e, jr, irow)
                args = [a_src, a_off, b_src, b_off, c_flat, off, e.c(ldc), kcp]
                if epi is None:
                    e.b.insert(func.CallOp(kernel, args, []))
                else:
                    e.b.insert(func.CallOp(kernel_epi, [*args, *epi.call_args(col0)], []))

            def edge(e: IndexEmitter, jr: SSAValue, irow: SSAValue) -> None:
                a_off, b_off, row0, col0, off = offsets(e, jr, irow)
                rows = e.min(mr, e.sub(self.m, row0))
                cols = e.min(nr, e.sub(self.n, col0))
                for into_tile in (True, False):
                    if not into_tile:
                        args = [a_src, a_off, b_src, b_off, tile, e.c(0), e.c(nr), kcp]
                        e.b.insert(func.CallOp(kernel_tile, args, []))
                    re, r = e.loop(0, rows)
                    ce, q = re.loop(0, cols)
                    src = ce.add(ce.add(off, ce.mul(r, ldc)), q)
                    dst = ce.add(ce.mul(r, nr), q)
                    if into_tile:
                        v = ce.b.insert(loop.LoadOp(c_flat, [src])).result
                        ce.b.insert(loop.StoreOp(v, tile, [dst]))
                    else:
                        v = ce.b.insert(loop.LoadOp(tile, [dst])).result
                        if epi is not None:
                            v = epi.apply_scalar(ce, v, src, ce.add(col0, q))
                        ce.b.insert(loop.StoreOp(v, c_flat, [src]))

            if per_panel:
                for lb, ub, partial in ((0, nj_full, False), (nj_full, nj, True)):
                    je, jr = iir.loop(lb, ub)
                    self.pack_b_panel(je, bp, b_base, dims, jc, jr, pc, kc, kcp, partial)
                    if partial:
                        pe, irow = je.loop(0, ni)
                        edge(pe, jr, irow)
                    else:
                        fe, irow = je.loop(0, ni_full)
                        full(fe, jr, irow)
                        pe, irow = je.loop(ni_full, ni)
                        edge(pe, jr, irow)
            elif self.kc * self.nc * 4 <= SMALL_B_BLOCK:
                # A small B block stays in L2: the A panels (weights, often cold) are read
                # once each, in memory order, and used for every NR panel from L1.
                ie, irow = iir.loop(0, ni_full)
                fe, jr = ie.loop(0, nj_full)
                full(fe, jr, irow)
                pe, jr = ie.loop(nj_full, nj)
                edge(pe, jr, irow)
                ie, irow = iir.loop(ni_full, ni)
                pe, jr = ie.loop(0, nj)
                edge(pe, jr, irow)
            else:  # BLIS's order: one NR panel of B in L1 against the whole A block in L2
                je, jr = iir.loop(0, nj_full)
                fe, irow = je.loop(0, ni_full)
                full(fe, jr, irow)
                pe, irow = je.loop(ni_full, ni)
                edge(pe, jr, irow)
                je, jr = iir.loop(nj_full, nj)
                pe, irow = je.loop(0, ni)
                edge(pe, jr, irow)
            iir.b.insert(loop.DeallocOp(tile))

        if epi is None:
            k_block(*ir.loop(0, k_blocks), None)
        else:  # the last K block stores the tiles through the epilogue
            if k_blocks > 1:
                k_block(*ir.loop(0, k_blocks - 1), None)
            k_block(ir, ir.c(k_blocks - 1), epi)
        for s in scratch:
            ir.b.insert(loop.DeallocOp(s))

    def prepack(self, e: IndexEmitter, ap: SSAValue, dims: dict[int, SSAValue]) -> None:
        """Pack all of A into `ap`, K block after K block (`a_block` floats each, the panels
        of a block as `pack_a` lays them out), the threads splitting its MR panels::

            for rb in row blocks:                (parallel: one per thread)
              for pc in 0..K step KC: pack A[rb's rows, pc:pc+kc] into MR-row panels
        """
        mr = self.blk.mr
        m_panels = -(-self.m // mr)
        per = -(-m_panels // self.threads)
        re, rb = e.loop(0, -(-m_panels // per), parallel=True)
        ic = re.mul(rb, per * mr)
        mc = re.min(per * mr, re.sub(self.m, ic))
        pe, pcb = re.loop(0, -(-self.k // self.kc))
        pc = pe.mul(pcb, self.kc)
        kc = pe.min(self.kc, pe.sub(self.k, pc))
        kcp = pe.mul(pe.ceildiv(kc, self.blk.unroll), self.blk.unroll)
        base = pe.add(pe.mul(pcb, self.a_block), pe.mul(ic, self.kc))
        self.pack_a(pe, ap, base, dims, ic, mc, pc, kc, kcp)

    def emit_transposed(self) -> None:
        """The narrow-N mode: C^T[N x M] += B^T[N x K] * A^T[K x M], the kernel's rows being
        `mr_t` output positions (B's columns, packed at run time into `mr_t`-row panels:
        pack_b) and its vector columns NR output channels (A's rows: the weights, packed at
        compile time into NR-column panels); the kernel stores its tile transposed into C.
        N divides into whole row panels and M into whole column panels, so nothing is
        padded and there are no edge tiles: the channel-vectorized computation of an
        NCHW[x]c blocked convolution, with the model's layout unchanged::

            for o in outer dims:                       (parallel)
              for jcb in column blocks of M:           (parallel; one per thread)
                for pc in 0..K step KC:
                  pack B[pc:pc+kc, 0:N] into mr_t-row panels
                  for jr in the block's NR panels:     (weights panel in L1)
                    for ir in 0..N / mr_t: kernel (transposed store)
        """
        con, blk, L = self.con, self.blk, self.L
        mr, nr = self.mr_t, blk.nr
        m_panels = self.m // nr
        n_blocks = min(self.threads, m_panels)
        per_block = -(-m_panels // n_blocks)
        n_blocks = -(-m_panels // per_block)
        a_slot = self.kc * self.n  # one K block of B^T: N / mr_t panels of kc x mr_t
        slots = math.prod(con.ranges[d] for d in con.outer) * n_blocks
        top = slots * a_slot * 4 <= SCRATCH_LIMIT
        if not top:
            slots = 1
        ap = L.alloc(MemRefType(f32, [slots * a_slot])) if top else None
        ir = IndexEmitter(L, L.b)
        dims: dict[int, SSAValue] = {}
        c_off = ir.c(0)
        for d in con.outer:
            ir, iv = ir.loop(0, con.ranges[d], parallel=True)
            dims[d] = iv
        for d in con.outer:
            c_off = ir.add(c_off, ir.mul(dims[d], self.c_stride[d])) if self.c_stride[d] else c_off
        ir, jcb = ir.loop(0, n_blocks, parallel=True)
        c_flat = ir.b.insert(loop.ReshapeOp(self.c_buf, MemRefType(f32, [self.c_len]))).result
        if top:
            slot = jcb
            if con.outer:
                lin = ir.c(0)
                for d in con.outer:
                    lin = ir.add(ir.mul(lin, con.ranges[d]), dims[d])
                slot = ir.add(ir.mul(lin, n_blocks), slot)
            a_base = ir.mul(slot, a_slot)
        else:
            ap = ir.b.insert(loop.AllocOp(MemRefType(f32, [a_slot]))).result
            a_base = ir.c(0)
        a_len = slots * a_slot
        w_len = self.w_packed[1].get_shape()[0]
        kernel = _ensure_kernel(L, blk, a_len, w_len, self.c_len, mr=mr, transposed=True)
        ldc = self.c_stride[con.row]

        pir, pcb = ir.loop(0, -(-self.k // self.kc))
        pc = pir.mul(pcb, self.kc)
        kc = pir.min(self.kc, pir.sub(self.k, pc))
        kcp = pir.mul(pir.ceildiv(kc, blk.unroll), blk.unroll)
        self.pack_b(pir, ap, a_base, dims, pir.c(0), pir.c(self.n), pc, kc, kcp, nr=mr)
        w_src = pir.b.insert(memref.GetGlobalOp(*self.w_packed)).memref
        w_block = pir.mul(pc, self.m)  # the K block at pc of the packed weights
        j0 = pir.mul(jcb, per_block)
        je, jr = pir.loop(j0, pir.min(pir.add(j0, per_block), m_panels))
        w_off = je.add(w_block, je.mul(je.mul(jr, kcp), nr))
        c_col = je.add(c_off, je.mul(jr, nr * ldc))
        ie, irow = je.loop(0, self.n // mr)
        a_off = ie.add(a_base, ie.mul(irow, self.kc * mr))
        off = ie.add(c_col, ie.mul(irow, mr))
        args = [ap, a_off, w_src, w_off, c_flat, off, ie.c(ldc), kcp]
        ie.b.insert(func.CallOp(kernel, args, []))
        if not top:
            ir.b.insert(loop.DeallocOp(ap))


def drop_unpacked_constants(module) -> None:
    """Erase the `memref.get_global` ops nothing uses and then the `__constant_*` globals
    no `memref.get_global` names: the weights the microkernel lowering packed into new
    globals would otherwise be kept twice (they go into the compiled code's data)."""
    used: set[str] = set()
    for op in list(module.walk()):
        if isinstance(op, memref.GetGlobalOp):
            if not op.memref.uses:
                op.detach()
                op.erase()
            else:
                used.add(op.name_.root_reference.data)
    for op in list(module.body.block.ops):
        if (
            isinstance(op, memref.GlobalOp)
            and op.sym_name.data.startswith("__constant_")
            and op.sym_name.data not in used
        ):
            op.detach()
            op.erase()
