"""Panel layouts of the packed operands, and compile-time packing of constant operands.

A packed operand is a sequence of panels of MR rows (broadcast side, "A") or NR columns
(vector side, "B"), zero-padded to whole panels, each holding one K block of kc rows::

    A panel q of the block at pc: a_packed[pc * Q * MR + (q * kc + p) * MR + i]
                                      = A[row = q * MR + i, k = pc + p]
    B panel t of the block at pc: b_packed[pc * T * NR + (t * kc + p) * NR + j]
                                      = B[k = pc + p, col = t * NR + j]

(Q, T: the numbers of panels; kc: KC, or the padded rest for the last block), so the
microkernel reads one MR-vector of A and one NR-vector of B per k step, both contiguous,
and the panels of one K block follow each other (the hardware prefetcher streams them).
K is padded with zero rows to a multiple of the kernel's unroll factor (Kp). Run-time
packing (lower.py) uses the layout of one K block.

`pack_constant` evaluates the operand's indexing map (an implicit im2col for a
convolution's input) over (rows or cols) x K with NumPy and returns the packed array.

Source: Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication", ACM TOMS
34(3), 2008 (packing into contiguous panels); BLIS's packm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)


def eval_affine_numpy(e: AffineExpr, dims: dict[int, np.ndarray]) -> np.ndarray:
    """The values of `e` with each dim `d` bound to the integer array `dims[d]`
    (broadcasting). Raises KeyError for a dim without a value."""
    if isinstance(e, AffineDimExpr):
        return dims[e.position]
    if isinstance(e, AffineConstantExpr):
        return np.int64(e.value)
    assert isinstance(e, AffineBinaryOpExpr)
    lhs, rhs = eval_affine_numpy(e.lhs, dims), eval_affine_numpy(e.rhs, dims)
    if e.kind == AffineBinaryOpKind.Add:
        return lhs + rhs
    if e.kind == AffineBinaryOpKind.Mul:
        return lhs * rhs
    if e.kind == AffineBinaryOpKind.Mod:
        return np.mod(lhs, rhs)
    if e.kind == AffineBinaryOpKind.FloorDiv:
        return np.floor_divide(lhs, rhs)
    return -np.floor_divide(-lhs, rhs)  # CeilDiv


def unravel(
    linear: np.ndarray, dims: Sequence[int], ranges: Sequence[int]
) -> dict[int, np.ndarray]:
    """The row-major digits of `linear` over `dims` with sizes `ranges[d]`."""
    out: dict[int, np.ndarray] = {}
    for d in reversed(dims):
        out[d] = linear % ranges[d]
        linear = linear // ranges[d]
    return out


def pack_constant(
    array: np.ndarray,
    amap: AffineMap,
    side_dims: Sequence[int],
    red_dims: Sequence[int],
    ranges: Sequence[int],
    block: int,
    k_pad: int,
    kc: int,
) -> np.ndarray:
    """`array` (a constant input of the contraction, read through `amap`) packed into
    panels of `block` (MR or NR) along the linearized `side_dims` (the row dim, or the
    column dims) over the linearized `red_dims` padded to `k_pad` >= K rows, in K blocks of
    `kc` rows (module docs): a flat float32 array of ceil(S / block) * k_pad * block
    elements (S, K: the products of those dims' sizes), zero in the padding."""
    s = int(np.prod([ranges[d] for d in side_dims]))
    k = int(np.prod([ranges[d] for d in red_dims]))
    dims = unravel(np.arange(s, dtype=np.int64)[:, None], side_dims, ranges)
    dims.update(unravel(np.arange(k, dtype=np.int64)[None, :], red_dims, ranges))
    index = tuple(np.broadcast_to(eval_affine_numpy(e, dims), (s, k)) for e in amap.results)
    values = array[index].astype(np.float32)  # [S, K]
    panels = -(-s // block)
    padded = np.zeros((panels * block, k_pad), np.float32)
    padded[:s, :k] = values
    tiles = padded.reshape(panels, block, k_pad).transpose(0, 2, 1)  # [panel, k, lane]
    # K blocks of kc rows one after the other, each holding all its panels.
    blocks = [tiles[:, pc : pc + kc].reshape(-1) for pc in range(0, k_pad, kc)]
    return np.ascontiguousarray(np.concatenate(blocks))
