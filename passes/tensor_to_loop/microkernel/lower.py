"""Macro loops of a contraction lowered to the GEMM microkernel (the hook of
convert-tensor-to-loop; docs/microkernels.md).

For each value of the outer dims, C[M x N] += A[M x K] * B[K x N] runs as BLIS's five
loops around the microkernel (sgemm_kernel.py), with A the broadcast-side input, B the
vector-side input and C the output seen through `loop.reshape` as one flat array::

    for o in outer dims:                        (parallel)
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
The code keeps C += A * B, so an output initialized with a bias (or zeros) works.

Loops without an `if` op: a "partial" loop runs from the number of full panels to the
number of panels (0 or 1 iterations), and packing clamps its indices and selects 0.

Blocking (`Blocking`): KC x NR of B (32 KiB at KC = 256, NR = 32) stays in L1 (48 KiB
on Zen 5), MC x KC of A (256 KiB) in L2 (1 MiB), KC x NC of B in L2/L3. The columns are
cut into an even number of equal NC blocks so that two threads share the parallel jc loop
evenly; a narrow output (<= 8 NR panels) with constant weights keeps one column block and
its threads split the rows (the ic loop, with MC at most half of M).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith, func, memref
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
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
)

from ....dialects import loop
from ....dialects.graph_reference import dense_to_numpy
from ....dialects.tensor import GenericOp
from .contraction import Contraction, Side, match_contraction
from .packing import pack_constant, unravel
from .sgemm_kernel import build_kernel, kernel_name

DEFAULT_MIN_FLOPS = 1 << 12
"""Contractions of fewer flops keep the plain loop nest. Measured (digits MLP 64-wide
layers, 1 thread, AVX-512): at batch 1 the kernel path takes 2.3 us against 4.3 us for the
loop nests, at batch 16 3.9 against 47.9 us, at batch 256 (all layers) 38 against 398 us
(the threshold was 2 Mi flops before). Tiny products stay loop nests, where packing and the
kernel call would weigh most (not measured below 4096 flops)."""


@dataclass(frozen=True)
class Blocking:
    """Register block (mr x nr, nr a multiple of the vector width vw), cache blocks (kc,
    mc, nc: multiples of 1, mr, nr) and the unroll factor of the microkernel's k loop."""

    mr: int
    nr: int
    vw: int
    kc: int = 256
    mc: int = 256
    nc: int = 2048
    unroll: int = 2
    min_flops: int = DEFAULT_MIN_FLOPS
    """Smaller contractions keep the plain loop nest."""
    panel_packing: bool = True
    """With one row block and constant weights, pack B one NR panel at a time, right
    before its kernels (it stays in L1), instead of a whole KC x NC block."""
    narrow_n: bool = True
    """Lower a contraction whose N pads badly to NR columns (a 7 x 7 or 14 x 14 output)
    with its roles swapped, when M is a multiple of NR and A is packed at compile time:
    see `_Lowering.emit_transposed`."""


def default_blocking(
    vector_bits: int = 0,
    min_flops: int = DEFAULT_MIN_FLOPS,
    narrow_n: bool = True,
    panel_packing: bool = True,
) -> Blocking:
    """The blocking for a target whose SIMD registers have `vector_bits` bits (0: the
    host's). 512 (AVX-512, 32 registers): 8 x 32; 256 (AVX2, 16 registers): 6 x 16;
    128 (SSE, NEON, wasm simd128): 4 x 16 with k unrolled 4 times (measured, one thread,
    matmul 512: wasm in wasmtime 1.05x the time of native x86-64-v2 with 4 x 16 against
    1.26x with 6 x 8; native SSE code 4-7% faster too).
    `narrow_n`, `panel_packing`: see `Blocking`."""
    if vector_bits <= 0:
        from ...loop_to_llvm.vector import host_vector_bits

        vector_bits = host_vector_bits()
    vw = max(vector_bits // 32, 1)
    mr, nr, unroll = (8, 2 * vw, 2) if vw >= 16 else (6, 2 * vw, 2) if vw >= 8 else (4, 4 * vw, 4)
    return Blocking(
        mr=mr,
        nr=nr,
        vw=vw,
        unroll=unroll,
        min_flops=min_flops,
        narrow_n=narrow_n,
        panel_packing=panel_packing,
    )


SMALL_N_PANELS = 8
"""Outputs of at most this many NR panels of columns keep one column block (threads split
their rows)."""

SMALL_B_BLOCK = 192 << 10
"""Bytes of a KC x NC block of B below which the microkernel loops run MR panels outside
and NR panels inside (each A panel read once per K block)."""

SCRATCH_LIMIT = 64 << 20
"""Bytes of packing scratch a contraction may allocate once per call (above: per jc
block, inside the parallel loop)."""


def worth_it(c: Contraction, blk: Blocking) -> bool:
    """Whether `c` is big enough for the microkernel path: at least `blk.min_flops`, and
    N, K not tiny. A single row (a Gemm at batch 1) is allowed: it wastes MR - 1 rows of
    arithmetic, but it reads the packed weights once, with vector loads, which beats the
    scalar loop nest on a weight-bound product (ResNet-50's 2048 x 1000 classifier)."""
    return c.flops >= blk.min_flops and c.n >= 2 and c.k >= 2


class _IR:
    """Index arithmetic and loops, emitted with a moving builder; constants from `L`."""

    def __init__(self, L, b: Builder):
        self.L = L
        self.b = b

    def c(self, v: int) -> SSAValue:
        return self.L.index(v)

    def _binary(self, op_cls, x, y) -> SSAValue:
        return self.b.insert(op_cls(self._v(x), self._v(y))).result

    def add(self, x, y) -> SSAValue:
        return self._binary(arith.AddiOp, x, y)

    def mul(self, x, y) -> SSAValue:
        return self._binary(arith.MuliOp, x, y)

    def sub(self, x, y) -> SSAValue:
        return self._binary(arith.SubiOp, x, y)

    def min(self, x, y) -> SSAValue:
        return self._binary(arith.MinSIOp, x, y)

    def div(self, x, y) -> SSAValue:
        return self._binary(arith.DivSIOp, x, y)

    def rem(self, x, y) -> SSAValue:
        return self._binary(arith.RemSIOp, x, y)

    def ceildiv(self, x, y: int) -> SSAValue:
        return self.div(self.add(x, y - 1), y)

    def _v(self, x) -> SSAValue:
        return self.c(x) if isinstance(x, int) else x

    def loop(self, lb, ub, step: int = 1, parallel: bool = False) -> tuple[_IR, SSAValue]:
        """A loop.for here; returns an emitter in its body and its induction variable."""
        op = self.b.insert(loop.ForOp(self._v(lb), self._v(ub), self.c(step)))
        if parallel:
            op.parallel = UnitAttr()
        term = loop.YieldOp()
        op.body.block.add_op(term)
        return _IR(self.L, Builder(InsertPoint.before(term))), op.induction_var

    def affine(self, e: AffineExpr, dims: dict[int, SSAValue]) -> SSAValue:
        if isinstance(e, AffineDimExpr):
            return dims[e.position]
        if isinstance(e, AffineConstantExpr):
            return self.c(e.value)
        assert isinstance(e, AffineBinaryOpExpr)
        lhs, rhs = self.affine(e.lhs, dims), self.affine(e.rhs, dims)
        op = {
            AffineBinaryOpKind.Add: arith.AddiOp,
            AffineBinaryOpKind.Mul: arith.MuliOp,
            AffineBinaryOpKind.Mod: arith.RemSIOp,
            AffineBinaryOpKind.FloorDiv: arith.FloorDivSIOp,
            AffineBinaryOpKind.CeilDiv: arith.CeilDivSIOp,
        }[e.kind]
        return self.b.insert(op(lhs, rhs)).result

    def unravel(self, linear: SSAValue, dims: Sequence[int], ranges: Sequence[int]) -> dict:
        """Row-major digits of `linear` over `dims` (no division for the last dim alone)."""
        out: dict[int, SSAValue] = {}
        for k, d in enumerate(reversed(dims)):
            if k == len(dims) - 1:
                out[d] = linear
            else:
                out[d] = self.rem(linear, ranges[d])
                linear = self.div(linear, ranges[d])
        return out


def _strides(shape: Sequence[int]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


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
                return dense_to_numpy(value)
            return None
    return None


def _linear(e: AffineExpr) -> tuple[dict[int, int], int] | None:
    """`e` as ({dim: coefficient}, constant), or None if it has mod / floordiv / ceildiv
    or a product of two dims."""
    if isinstance(e, AffineDimExpr):
        return {e.position: 1}, 0
    if isinstance(e, AffineConstantExpr):
        return {}, e.value
    assert isinstance(e, AffineBinaryOpExpr)
    lhs, rhs = _linear(e.lhs), _linear(e.rhs)
    if lhs is None or rhs is None:
        return None
    if e.kind == AffineBinaryOpKind.Add:
        terms = dict(lhs[0])
        for d, k in rhs[0].items():
            terms[d] = terms.get(d, 0) + k
        return terms, lhs[1] + rhs[1]
    if e.kind == AffineBinaryOpKind.Mul:
        if not rhs[0]:
            return {d: k * rhs[1] for d, k in lhs[0].items()}, lhs[1] * rhs[1]
        if not lhs[0]:
            return {d: k * lhs[1] for d, k in rhs[0].items()}, lhs[1] * rhs[1]
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


def _ensure_kernel(
    L, blk: Blocking, a_len: int, b_len: int, c_len: int, mr: int = 0, transposed: bool = False
) -> str:
    mr = mr or blk.mr
    name = kernel_name(mr, blk.nr, blk.vw, a_len, b_len, c_len, transposed)
    if name not in L.global_names:
        L.global_names.add(name)
        kernel = build_kernel(
            mr, blk.nr, blk.vw, a_len, b_len, c_len, blk.unroll, transposed=transposed
        )
        L.module.body.block.insert_op_before(kernel, L.fn)
    return name


def lower_contraction(L, op: GenericOp, bufs: Sequence[SSAValue], blk: Blocking) -> bool:
    """Emit the microkernel lowering of `op` (a, b, c buffers `bufs`) at `L.b` when `op` is
    a contraction worth it; return whether it did (else nothing was emitted). A blocked
    (NCHW[x]c) convolution goes to the direct-convolution kernel (direct_conv.py)."""
    from .direct_conv import lower_direct_conv

    if lower_direct_conv(L, op, bufs, blk):
        return True
    con = match_contraction(op)
    if con is None or not worth_it(con, blk):
        return False
    _Lowering(L, con, bufs, blk).emit()
    return True


class _Lowering:
    def __init__(self, L, con: Contraction, bufs: Sequence[SSAValue], blk: Blocking):
        self.L, self.con, self.blk = L, con, blk
        self.bufs = list(bufs)
        self.maps = con.op.maps
        self.c_buf = bufs[-1]
        c_shape = self.c_buf.type.get_shape()
        self.c_len = math.prod(c_shape)
        out_dims = [e.position for e in self.maps[-1].results]
        self.c_stride = dict(zip(out_dims, _strides(c_shape)))
        self.m, self.n, self.k = con.m, con.n, con.k
        mr, nr, u = blk.mr, blk.nr, blk.unroll
        self.k_pad = -(-self.k // u) * u  # K rounded up to the kernel's unroll factor
        self.kc = min(-(-blk.kc // u) * u, self.k_pad)  # a multiple of u
        self.mc = min(blk.mc // mr * mr, -(-self.m // mr) * mr)  # whole MR panels
        self.threads = _thread_count(L.module)
        # Narrow-N mode (emit_transposed): rows of `mr_t` output positions, NR output
        # channels per vector; the constant A (weights) packed in NR-column panels.
        self.mr_t = self._transposed_rows()
        self.col_tables = {}
        if self.mr_t:
            if len(con.cols) > 1:
                self.col_tables = self._column_tables(con.b)
            # Under a quarter of waste (14 x 14), only when B packs without a gather (a
            # 1x1 convolution): a 3x3's im2col by table packs mr_t lanes at a time,
            # scalar, which costs more than the padding saves (measured: 1.06x its time).
            gather = any(not isinstance(t[0], int) for t in self.col_tables.values())
            if gather and -(-self.n // nr) * nr * 4 < self.n * 5:
                self.mr_t = 0
        if self.mr_t:
            self.w_packed = self._pack_at_compile_time(con.a, [con.row], nr, "__packed_w")
            if self.w_packed is None:
                self.mr_t = 0
            else:
                return
        self.a_packed = self._pack_at_compile_time(con.a, [con.row], mr, "__packed_a")
        self.b_packed = self._pack_at_compile_time(con.b, con.cols, nr, "__packed_b")
        # Column blocks: an even number of equal ones (two threads split them evenly),
        # except for narrow outputs with A packed at compile time, which keep one column
        # block and let the threads split the rows (the ic loop) instead.
        panels = -(-self.n // nr)
        if self.a_packed is not None and panels <= SMALL_N_PANELS:
            n_blocks = 1
        else:
            n_blocks = max(min(panels, 2), -(-panels * nr // blk.nc))
            n_blocks += n_blocks % 2 if n_blocks > 1 else 0
        self.nc = -(-panels // n_blocks) * nr
        if self.nc >= self.n and self.threads > 1:  # one jc block: threads split M
            half = (self.m + 1) // 2
            self.mc = min(self.mc, -(-half // mr) * mr)
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
            for expr, stride in zip(self.maps[i].results, _strides(shape)):
                linear = _linear(expr)
                if linear is None:
                    return {}
                terms, c = linear
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

    def emit(self) -> None:
        if self.mr_t:
            self.emit_transposed()
            return
        con, blk, L = self.con, self.blk, self.L
        # Packing scratch: one slot per (outer point, jc block), so that the parallel
        # iterations never share one; allocated once at the top of the function (where
        # plan-buffers can place it in its arena) unless that is too big, else in the jc
        # loop's body. Allocating it per jc block would malloc and free big buffers (mmap
        # and munmap) many times per call.
        n_blocks = -(-self.n // self.nc)
        m_blocks = -(-self.m // self.mc)
        # One column block and weights packed at compile time: the row blocks (ic) go
        # outside the K loop and run in parallel, each packing its own B block (cheap for
        # narrow outputs) into its own slot: one parallel region per call, not per K block.
        rows_outside = self.a_packed is not None and n_blocks == 1 and m_blocks > 1
        rows_outside = rows_outside and self.threads > 1
        # One big B block (KC x NC over SMALL_B_BLOCK), one row block, weights packed at
        # compile time, B packed at run time: each NR panel of B is packed just before the
        # kernels that use it (once each), so it stays in L1 instead of a KC x NC block that
        # may not fit L2 (56 x 56 outputs) ...
        per_panel = blk.panel_packing and self.a_packed is not None and self.b_packed is None
        per_panel = per_panel and m_blocks == 1 and not rows_outside
        # ... when B's columns are evenly spaced (a 1x1 convolution, a matmul): a gather by
        # offset table packs better over whole blocks (measured: the 7 x 7 stem took 1.3x,
        # 3 x 3 convolutions 1.0-1.08x their time panel by panel; 1x1 at 56 x 56: 0.7-0.83x).
        gather = any(not isinstance(t[0], int) for t in self.col_tables.values())
        per_panel = per_panel and not gather and self.kc * self.nc * 4 > SMALL_B_BLOCK
        b_slot = self.kc * (blk.nr if per_panel else self.nc)
        a_slot = self.kc * self.mc
        per = m_blocks if rows_outside else n_blocks
        slots = math.prod(con.ranges[d] for d in con.outer) * per
        need = (b_slot if self.b_packed is None else 0) + (a_slot if self.a_packed is None else 0)
        top = slots * need * 4 <= SCRATCH_LIMIT
        if not top:
            slots = 1
        bp = ap = None
        if top and self.b_packed is None:
            bp = L.alloc(MemRefType(f32, [slots * b_slot]))
        if top and self.a_packed is None:
            ap = L.alloc(MemRefType(f32, [slots * a_slot]))
        ir = _IR(L, L.b)
        dims: dict[int, SSAValue] = {}
        c_off = ir.c(0)
        for d in con.outer:
            ir, iv = ir.loop(0, con.ranges[d], parallel=True)
            dims[d] = iv
        for d in con.outer:
            c_off = ir.add(c_off, ir.mul(dims[d], self.c_stride[d])) if self.c_stride[d] else c_off
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
        if self.a_packed is None:
            t = MemRefType(f32, [slots * a_slot])
            ap = ap if top else ir.b.insert(loop.AllocOp(t)).result
            a_base = ir.mul(slot, a_slot) if top else ir.c(0)
            a_len = slots * a_slot
            if not top:
                scratch.append(ap)
        else:
            a_len = self.a_packed[1].get_shape()[0]
        kernel = _ensure_kernel(L, blk, a_len, b_len, self.c_len)
        kernel_tile = _ensure_kernel(L, blk, a_len, b_len, mr * nr)

        k_blocks = -(-self.k // self.kc)
        pir, pcb = ir.loop(0, k_blocks)
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
            a_src = ap
        else:
            a_src = pir.b.insert(memref.GetGlobalOp(*self.a_packed)).memref
        if rows_outside:
            iir = pir
        else:
            iir, icb = pir.loop(0, m_blocks)
        tile = iir.b.insert(loop.AllocOp(MemRefType(f32, [mr * nr]))).result
        ic = iir.mul(icb, self.mc)
        mc = iir.min(self.mc, iir.sub(self.m, ic))
        if self.a_packed is None:
            self.pack_a(iir, ap, a_base, dims, ic, mc, pc, kc, kcp)
        nj_full, nj = iir.div(nc, nr), iir.ceildiv(nc, nr)
        ni_full, ni = iir.div(mc, mr), iir.ceildiv(mc, mr)
        ldc = self.c_stride[con.row]

        def offsets(e: _IR, jr: SSAValue, irow: SSAValue):
            if self.a_packed is None:
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

        def full(e: _IR, jr: SSAValue, irow: SSAValue) -> None:
            a_off, b_off, _, _, off = offsets(e, jr, irow)
            args = [a_src, a_off, b_src, b_off, c_flat, off, e.c(ldc), kcp]
            e.b.insert(func.CallOp(kernel, args, []))

        def edge(e: _IR, jr: SSAValue, irow: SSAValue) -> None:
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
        for s in scratch:
            ir.b.insert(loop.DeallocOp(s))

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
        ir = _IR(L, L.b)
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

    def _load(self, e: _IR, side: Side, dims, valid: SSAValue | None) -> SSAValue:
        """The factor `side` at the domain point `dims`: its inputs loaded at their maps,
        its prologue ops cloned; with `valid`, 0 where it is false (the caller clamped
        dims)."""
        block = self.con.op.body.block
        bmap: dict[SSAValue, SSAValue] = {}
        for i in side.inputs:
            idx = [e.affine(x, dims) for x in self.maps[i].results]
            bmap[block.args[i]] = e.b.insert(loop.LoadOp(self.bufs[i], idx)).result
        return self._prologue(e, side, bmap, valid)

    def _prologue(self, e: _IR, side: Side, bmap, valid: SSAValue | None) -> SSAValue:
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

    def _zero_rows(self, e: _IR, buf, base, panels, block: int, kc, kcp) -> None:
        """buf[base + (q * KC + p) * block + l] = 0 for p in [kc, kcp): the k padding."""
        zero = e.b.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result
        qe, q = e.loop(0, panels)
        pe, p = qe.loop(kc, kcp)
        le, lane = pe.loop(0, block)
        dst = le.add(le.add(le.mul(le.add(le.mul(q, self.kc), p), block), lane), base)
        le.b.insert(loop.StoreOp(zero, buf, [dst]))

    def pack_b(self, e: _IR, bp, base, outer_dims, jc, nc, pc, kc, kcp, nr: int = 0) -> None:
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

    def pack_b_panel(self, e: _IR, bp, base, outer_dims, jc, jr, pc, kc, kcp, partial) -> None:
        """bp[base + p * NR + l] = B[pc + p, jc + jr * NR + l]: one NR panel of one K block,
        as pack_b (`partial`: the last panel, clamped, 0 past N)."""
        con, nr = self.con, self.blk.nr
        col0 = e.add(jc, e.mul(jr, nr))
        pe, p = e.loop(0, kc)
        dims = dict(outer_dims)
        dims.update(pe.unravel(pe.add(pc, p), con.red, con.ranges))
        self._pack_b_row(pe, bp, pe.add(pe.mul(p, nr), base), dims, col0, nr, partial)
        self._zero_rows(e, bp, base, 1, nr, kc, kcp)

    def _pack_b_row(self, e: _IR, bp, start, dims, col0, nr: int, partial: bool) -> None:
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

    def _load_by_table(self, e: _IR, side: Side, dims, col, valid) -> SSAValue:
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

    def pack_a(self, e: _IR, ap, base, outer_dims, ic, mc, pc, kc, kcp) -> None:
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
            pe, p = ie.loop(0, kc)
            dims = dict(outer_dims)
            dims[con.row] = row
            dims.update(pe.unravel(pe.add(pc, p), con.red, con.ranges))
            v = self._load(pe, con.a, dims, valid)
            dst = pe.add(pe.add(pe.mul(pe.add(pe.mul(irow, self.kc), p), mr), i), base)
            pe.b.insert(loop.StoreOp(v, ap, [dst]))
        self._zero_rows(e, ap, base, e.ceildiv(mc, mr), mr, kc, kcp)


def _thread_count(module) -> int:
    """The thread count parallelize-loops will compile for (its module attribute, else
    IRFORGE_NUM_THREADS, else the cores available): with one thread, no work is spent on
    splitting rows for threads."""
    from ...loop.parallelize_loops import module_thread_count

    try:
        return module_thread_count(module)
    except ValueError:
        return 1


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
