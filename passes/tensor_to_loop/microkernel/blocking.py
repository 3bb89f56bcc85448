"""The blocking of the GEMM microkernel path: register block, cache blocks and the size
thresholds (`Blocking`, `default_blocking`; docs/microkernels.md), shared by lower.py,
direct_conv.py and layout_transpose.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .contraction import Contraction

DEFAULT_MIN_FLOPS = 1 << 12
"""Contractions of fewer flops keep the plain loop nest. The threshold is low because even
the digits MLP's 64-wide layers at batch 1 run faster on the kernel path than as loop nests
(figures: docs/benchmarks.md, 'Design measurements'). Tiny products stay loop nests, where
packing and the kernel call would weigh most (not measured below 4096 flops)."""


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
    see `emit_transposed` in lower.py."""


def default_blocking(
    vector_bits: int,
    min_flops: int = DEFAULT_MIN_FLOPS,
    narrow_n: bool = True,
    panel_packing: bool = True,
) -> Blocking:
    """The blocking for a target whose SIMD registers have `vector_bits` bits.
    512 (AVX-512, 32 registers): 8 x 32; 256 (AVX2, 16 registers): 6 x 16;
    128 (SSE, NEON, wasm simd128): 4 x 16 with k unrolled 4 times (wasm in wasmtime comes
    much closer to native x86-64-v2 code than with 6 x 8, and native SSE code is faster
    too; figures: docs/benchmarks.md, 'Design measurements').
    `narrow_n`, `panel_packing`: see `Blocking`."""
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


WIDE_ROWS = 6
"""MR of the wide register block (`matmul_blocking`)."""


def matmul_blocking(c: Contraction, blk: Blocking) -> Blocking:
    """The blocking for contraction `c`: with 16-lane vectors (AVX-512), a matmul (one
    column dim) whose N is a multiple of 4 vectors takes MR x NR = 6 x 4 vectors (24
    accumulators + 4 B vectors of the 32 registers) instead of `blk`'s 8 x 2 vectors: it
    loads 10 values per 24 FMAs instead of 10 per 16. Measured on an Ice Lake core (thread
    CPU time, medians of 40, against ONNX Runtime 1.x at 1 thread): [128, 512] x [512,
    2048] 1.22x -> 1.02x ORT's time, [128, 2048] x [2048, 512] 1.22x -> 0.98x. A
    convolution (several column dims: oh, ow) keeps `blk` (ResNet's channel counts are
    multiples of 8 and a 32-column panel wastes less on a 7 x 7 output)."""
    wide = 4 * blk.vw
    if blk.vw != 16 or len(c.cols) != 1 or c.n % wide or blk.nr == wide:
        return blk
    mc = max(blk.mc // WIDE_ROWS, 1) * WIDE_ROWS
    return replace(blk, mr=WIDE_ROWS, nr=wide, mc=mc)
