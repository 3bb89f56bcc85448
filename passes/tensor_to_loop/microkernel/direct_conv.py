"""Direct convolution on channel-blocked tensors (NCHW[x]c): a register-blocked
microkernel that reads the input where it lies, with no im2col packing.

convert-tensor-to-loop hands this module the generic of `graph.conv2d_nchwc`
(passes/graph_to_tensor/layout.py) over the domain `(n, ob, oh, ow, o, ib, kh, kw, i)`:
`C[n, ob, oh, ow, o] += A[n, ib, oh * sh + kh * dh, ow * sw + kw * dw, i] * B[ob, ib, kh,
kw, i, o]`, A the spatially padded input `[N, IB, Hp, Wp, ci]`, B the blocked weights
`[OB, IB, KH, KW, ci, co]`, C `[N, OB, OH, OW, co]` (initialized with the bias).

The kernel computes MR consecutive output pixels of one output row times the `co`
channels of one output block: MR x co/VW vector accumulators. For each tap (ib, kh, kw)
and input channel i, it loads co/VW weight vectors (row `(tap, i)` of B[ob]: contiguous)
and broadcasts MR input elements, each `sw * ci` floats after the last (the pixels of the
row, channel i): no packing, because in the blocked layout a pixel's channels are
contiguous and the weights are already in panel order::

    for q in 0..N*OB*OH:                      (parallel; q -> n, ob, oh; weights of ob
                                               stay in L2 over its OH rows)
      for owb in 0..OW / MR:  kernel(A at (n, oh*sh, owb*MR*sw), B[ob], C at (n, ob, oh, owb*MR))
      the OW mod MR pixels left:  the same kernel with fewer rows

Epilogue (`find_epilogue`): when the convolution's result has one user, a pointwise
generic (ReLU; residual add + ReLU) whose other inputs are already computed, the kernel
applies its body to each tile as it stores C, in place; convert-tensor-to-loop then skips
that generic (`fused`). One pass over the output instead of two.

Register budget: MR * co/VW accumulators + co/VW weight vectors + 1 broadcast within the
target's vector registers (32 with AVX-512, 16 else); MR is the largest that fits (14 x 2
vectors at co = 32 on AVX-512, 6 x 2 on AVX2 and 128-bit SIMD at co = 2 vectors), or a
divisor of OW close to it (then no remainder kernel).

Source: the direct convolution of Georganas et al., "Anatomy of High-Performance Deep
Learning Convolutions on SIMD Architectures" (SC 2018) and TVM's NCHW[x]c x86 schedule
(Liu et al., USENIX ATC 2019).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import Builder, InsertPoint
from xdsl.dialects import arith, func, vector
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    MemRefType,
    VectorType,
    f32,
)
from xdsl.ir import Block, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from ....dialects import loop
from ....dialects.tensor import PARALLEL, EmptyOp, GenericOp, YieldOp
from ...loop.schedule.vectorize import ELEMENTWISE
from .blocking import Blocking
from .emitter import IndexEmitter, linear, strides, thread_count
from .sgemm_kernel import KernelEmitter, kernel_function, rank1_update


@dataclass(frozen=True)
class DirectConv:
    """A recognized blocked convolution (module docs): shapes and window."""

    a_shape: tuple[int, ...]  # N, IB, Hp, Wp, ci
    b_shape: tuple[int, ...]  # OB, IB / group, KH, KW, ci, co
    c_shape: tuple[int, ...]  # N, OB, OH, OW, co
    strides: tuple[int, int]
    dilations: tuple[int, int]
    group: int = 1

    @property
    def ob_per_group(self) -> int:
        return self.b_shape[0] // self.group

    @property
    def flops(self) -> int:
        return 2 * math.prod(self.c_shape) * math.prod(self.b_shape[1:5])


def match_direct_conv(op: GenericOp) -> DirectConv | None:
    """The blocked convolution `op` computes, or None if it is not exactly the form
    passes/graph_to_tensor/layout.py emits (module docs) on f32."""
    if len(op.ins) != 2 or len(op.outs) != 1 or len(op.maps) != 3:
        return None
    in_map, w_map, out_map = op.maps
    if in_map.num_dims != 9 or in_map.num_symbols or w_map.num_symbols or out_map.num_symbols:
        return None

    def dims(m) -> list[int] | None:
        if not all(isinstance(e, AffineDimExpr) for e in m.results):
            return None
        return [e.position for e in m.results]

    if dims(out_map) != [0, 1, 2, 3, 4] or dims(w_map) != [1, 5, 6, 7, 8, 4]:
        return None
    r = in_map.results
    plain = [r[i] for i in (0, 4)] if len(r) == 5 else []
    if [e.position if isinstance(e, AffineDimExpr) else -1 for e in plain] != [0, 8]:
        return None
    window = []
    for e, (o, k) in zip(r[2:4], ((2, 6), (3, 7))):
        lin = linear(e)
        if lin is None or lin[1] != 0 or set(lin[0]) != {o, k}:
            return None
        window.append((lin[0][o], lin[0][k]))
    if not _is_multiply_add(op):
        return None
    types = [v.type for v in (*op.ins, *op.outs)]
    if any(t.element_type != f32 for t in types):
        return None
    shapes = [tuple(t.get_shape()) for t in types]
    group = _group(r[1], shapes[0][1], shapes[1][0], shapes[1][1])
    if group is None:
        return None
    (sh, dh), (sw, dw) = window
    return DirectConv(shapes[0], shapes[1], shapes[2], (sh, sw), (dh, dw), group)


def _group(e, ib: int, ob: int, ib_per_group: int) -> int | None:
    """The group count when the input-block expression `e` is `d5` (1) or `(d1 floordiv
    OB/group) * IB/group + d5`, checked at every output block; else None."""
    if isinstance(e, AffineDimExpr):
        return 1 if e.position == 5 else None
    if ib % ib_per_group or ob % (ib // ib_per_group):
        return None
    group = ib // ib_per_group
    expr = AffineMap(9, 0, (e,))
    for d1 in range(ob):
        for d5 in (0, ib_per_group - 1):
            point = [0, d1, 0, 0, 0, d5, 0, 0, 0]
            if expr.eval(point, [])[0] != d1 // (ob // group) * ib_per_group + d5:
                return None
    return group


def _is_multiply_add(op: GenericOp) -> bool:
    """Whether the body is `yield(acc + a * w)` on the block arguments, any order."""
    block = op.body.block
    ops = list(block.ops)
    if len(ops) != 3:
        return False
    mul, add, _ = ops
    a, w, acc = block.args
    return (
        isinstance(mul, arith.MulfOp)
        and {mul.lhs, mul.rhs} == {a, w}
        and isinstance(add, arith.AddfOp)
        and {add.lhs, add.rhs} == {acc, mul.result}
        and list(ops[2].operands) == [add.result]
    )


@dataclass(frozen=True)
class Epilogue:
    """A pointwise generic that is the convolution's only user, computed in the kernel
    as each output tile is stored (module docs): `op`, the index of its input that reads
    the convolution, and the values of its other inputs (same shape, identity maps)."""

    op: GenericOp
    conv_input: int
    others: tuple[SSAValue, ...]

    def key(self) -> str:
        """A short stable name of the body, for the kernel's symbol."""
        text = ";".join(
            f"{o.name}:{[str(v.type) for v in o.operands]}:{o.properties.get('value', '')}"
            for o in self.op.body.block.ops
        )
        return hashlib.sha1(f"{self.conv_input}|{text}".encode()).hexdigest()[:10]


_EPILOGUE_OPS = (arith.ConstantOp, *ELEMENTWISE)


def find_epilogue(L, op: GenericOp) -> Epilogue | None:
    """The pointwise consumer of `op`'s result that the kernel can apply as it stores C:
    the result's only user; all-parallel, identity maps over the output's shape, one
    output it does not read; a body of ELEMENTWISE ops (passes/loop/schedule/vectorize.py)
    and f32 constants; other inputs already lowered (in `L.vmap`: defined before the
    convolution), of the output's type. None otherwise."""
    res = op.res[0]
    uses = list(res.uses)
    if len(uses) != 1 or not isinstance(user := uses[0].operation, GenericOp):
        return None
    if len(user.outs) != 1 or user.res[0].type != res.type:
        return None
    if any(kind != PARALLEL for kind in user.iterators):
        return None
    ident = AffineMap.identity(len(res.type.get_shape()))
    if any(m != ident for m in user.maps):
        return None
    block = user.body.block
    if block.args[len(user.ins)].uses or list(user.ins).count(res) != 1:
        return None
    for inner in list(block.ops)[:-1]:
        if not isinstance(inner, _EPILOGUE_OPS) or any(r.type != f32 for r in inner.results):
            return None
    others = tuple(v for v in user.ins if v is not res)
    if any(v.type != res.type or v not in L.vmap for v in others):
        return None
    return Epilogue(user, list(user.ins).index(res), others)


def row_block(ow: int, co: int, vw: int) -> int:
    """MR for an output row of `ow` pixels (module docs): the most rows whose
    accumulators fit the registers, or a divisor of `ow` of at least 3/4 of that."""
    nv = co // vw
    regs = 32 if vw >= 16 else 16
    most = max((regs - nv - 1) // nv, 1)
    if ow <= most:
        return ow
    for r in range(most, 0, -1):
        if ow % r == 0 and 4 * r >= 3 * most:
            return r
    return most


def lower_direct_conv(L, op: GenericOp, bufs: Sequence[SSAValue], blk: Blocking) -> bool:
    """Emit the direct-convolution lowering of `op` at `L.b` when it is a blocked
    convolution whose channel block is a multiple of the vector width; return whether it
    did."""
    dc = match_direct_conv(op)
    if dc is None or dc.flops < blk.min_flops:
        return False
    co, vw = dc.b_shape[5], blk.vw
    if co % vw:
        return False
    n, ob, oh, ow, _ = dc.c_shape
    mr = row_block(ow, co, vw)
    a_len, b_len, c_len = (math.prod(s) for s in (dc.a_shape, dc.b_shape, dc.c_shape))
    epi = find_epilogue(L, op)
    kernels = {r: _ensure_kernel(L, dc, r, vw, epi) for r in {mr, ow % mr} if r}
    s_a, s_c = strides(dc.a_shape), strides(dc.c_shape)
    sh, sw = dc.strides
    ir = IndexEmitter(L, L.b)
    flat = [
        ir.b.insert(loop.ReshapeOp(buf, MemRefType(f32, [size]))).result
        for buf, size in zip(bufs, (a_len, b_len, c_len))
    ]
    extras = []
    if epi is not None:  # the consumer's other inputs; its result is C, in place
        extras = [
            ir.b.insert(loop.ReshapeOp(L.vmap[v], MemRefType(f32, [c_len]))).result
            for v in epi.others
        ]
        L.fused.add(epi.op)
        empty = epi.op.outs[0].owner
        if isinstance(empty, EmptyOp) and empty.result.has_one_use():
            L.fused.add(empty)
        L.vmap[epi.op.res[0]] = bufs[2]
    parallel = thread_count(L.module) > 1
    body, q = ir.loop(0, n * ob * oh, parallel=parallel)
    digits = body.unravel(q, [0, 1, 2], [n, ob, oh])
    a_row = body.add(body.mul(digits[0], s_a[0]), body.mul(digits[2], sh * s_a[2]))
    if dc.group > 1:  # the first input block of ob's group
        first = body.mul(body.div(digits[1], dc.ob_per_group), dc.b_shape[1] * s_a[1])
        a_row = body.add(a_row, first)
    b_off = body.mul(digits[1], b_len // ob)
    c_row = body.mul(
        body.add(body.mul(body.add(body.mul(digits[0], ob), digits[1]), oh), digits[2]), s_c[2]
    )
    full = ow // mr
    if full:
        e, blk_i = body.loop(0, full)
        a_off = e.add(a_row, e.mul(blk_i, mr * sw * s_a[3]))
        c_off = e.add(c_row, e.mul(blk_i, mr * co))
        call = [flat[0], a_off, flat[1], b_off, flat[2], c_off, *extras]
        e.b.insert(func.CallOp(kernels[mr], call, []))
    if ow % mr:
        a_off = body.add(a_row, full * mr * sw * s_a[3])
        c_off = body.add(c_row, full * mr * co)
        call = [flat[0], a_off, flat[1], b_off, flat[2], c_off, *extras]
        body.b.insert(func.CallOp(kernels[ow % mr], call, []))
    return True


def _ensure_kernel(L, dc: DirectConv, mr: int, vw: int, epi: Epilogue | None) -> str:
    """The kernel's symbol, built and inserted into the module on first use."""
    _, _, hp, wp, ci = dc.a_shape
    _, ib, kh, kw, _, co = dc.b_shape
    lens = tuple(math.prod(s) for s in (dc.a_shape, dc.b_shape, dc.c_shape))
    geometry = f"{ib}x{hp}x{wp}x{ci}_k{kh}x{kw}_s{dc.strides[0]}x{dc.strides[1]}"
    geometry += f"_d{dc.dilations[0]}x{dc.dilations[1]}_g{dc.group}"
    name = f"__sconv_{mr}x{co}_v{vw}_{geometry}_{lens[0]}_{lens[1]}_{lens[2]}"
    if epi is not None:
        name += f"_e{epi.key()}"
    if name not in L.global_names:
        L.global_names.add(name)
        kernel = build_direct_kernel(name, dc, mr, vw, epi)
        L.module.body.block.insert_op_before(kernel, L.fn)
    return name


def build_direct_kernel(
    name: str, dc: DirectConv, mr: int, vw: int, epi: Epilogue | None = None
) -> func.FuncOp:
    """`C[mr pixels x co] += sum over taps and channels of A * B` for one output row block
    (module docs), as a private, noinline `func.func`:

        func.func private @name(%a: memref<LAxf32>, %a_off: index, %b: memref<LBxf32>,
            %b_off: index, %c: memref<LCxf32>, %c_off: index)

    - A: pixel r, channel i of tap (ib, kh, kw) at `a[a_off + ib * s_ib + kh * dh * s_h +
      kw * dw * s_w + r * sw * s_w + i]` (s_*: the strides of the padded input);
    - B: row `((ib * KH + kh) * KW + kw) * ci + i` of the output block's panel, `co`
      contiguous floats at `b[b_off + row * co]`;
    - C: pixel r at `c[c_off + r * co]`, co contiguous floats.

    With an epilogue `epi`, one more `memref<LCxf32>` argument per other input of the
    consumer (read at C's offsets), and each tile is stored as the consumer's body applied
    to `C + acc` (on vectors) instead of `C + acc`.

    The accumulators live in a stack buffer accessed at constant offsets, which LLVM
    promotes to vector registers (as in sgemm_kernel.py); the channel loop is unrolled up
    to 8 times."""
    ci = dc.a_shape[4]
    _, ib, kh, kw, _, co = dc.b_shape
    s_a = strides(dc.a_shape)
    (sh, sw), (dh, dw) = dc.strides, dc.dilations
    del sh
    lens = [math.prod(s) for s in (dc.a_shape, dc.b_shape, dc.c_shape)]
    idx = IndexType()
    others = len(epi.others) if epi is not None else 0
    block = Block(
        arg_types=[
            MemRefType(f32, [lens[0]]),
            idx,
            MemRefType(f32, [lens[1]]),
            idx,
            MemRefType(f32, [lens[2]]),
            idx,
            *[MemRefType(f32, [lens[2]])] * others,
        ]
    )
    a, a_off, bp, b_off, c, c_off = block.args[:6]
    extras = block.args[6:]
    for arg, hint in zip(block.args, ("a", "a_off", "b", "b_off", "c", "c_off")):
        arg.name_hint = hint
    b = Builder(InsertPoint.at_end(block))
    e = KernelEmitter(block)
    vt = VectorType(f32, [vw])
    nv = co // vw
    acc = b.insert(loop.AllocOp(MemRefType(vt, [mr * nv]))).result
    zero = b.insert(arith.ConstantOp(FloatAttr(0.0, f32))).result
    zvec = b.insert(vector.BroadcastOp(zero, vt)).vector
    for s in range(mr * nv):
        b.insert(loop.StoreOp(zvec, acc, [e.index(s)]))

    def add(x, y, bb: Builder) -> SSAValue:
        return bb.insert(arith.AddiOp(x, y)).result

    def mul(x, y, bb: Builder) -> SSAValue:
        return bb.insert(arith.MuliOp(x, y)).result

    def for_loop(bb: Builder, ub: int, step: int = 1) -> tuple[Builder, SSAValue]:
        op = bb.insert(loop.ForOp(e.index(0), e.index(ub), e.index(step)))
        term = loop.YieldOp()
        op.body.block.add_op(term)
        return Builder(InsertPoint.before(term)), op.induction_var

    # Taps: ib, kh, kw loops; the A offset of each is a sum of strides, the B row block
    # the tap's index times ci * co.
    b1, vib = for_loop(b, ib)
    b2, vkh = for_loop(b1, kh)
    b3, vkw = for_loop(b2, kw)
    tap = add(mul(add(mul(vib, e.index(kh), b3), vkh, b3), e.index(kw), b3), vkw, b3)
    a_tap = add(a_off, mul(vib, e.index(s_a[1]), b3), b3)
    a_tap = add(a_tap, mul(vkh, e.index(dh * s_a[2]), b3), b3)
    a_tap = add(a_tap, mul(vkw, e.index(dw * s_a[3]), b3), b3)
    b_tap = add(b_off, mul(tap, e.index(ci * co), b3), b3)
    unroll = ci if ci <= 8 else next(u for u in (8, 4, 2, 1) if ci % u == 0)
    b4, vi = for_loop(b3, ci, unroll)
    for u in range(unroll):
        i = add(vi, e.index(u), b4) if u else vi
        bo = add(b_tap, mul(i, e.index(co), b4), b4)
        ai = add(a_tap, i, b4)
        rows = [add(ai, e.index(r * sw * s_a[3]), b4) if r else ai for r in range(mr)]
        rank1_update(b4, e, acc, a, rows, bp, bo, nv, vw)
    for r in range(mr):
        for j in range(nv):
            v = b.insert(loop.LoadOp(acc, [e.index(r * nv + j)])).result
            off = add(c_off, e.index(r * co + j * vw), b) if r or j else c_off
            old = b.insert(vector.LoadOp(c, [off], vt)).result
            total = b.insert(arith.AddfOp(old, v)).result
            if epi is not None:
                total = _apply_epilogue(b, epi, total, extras, off, vt)
            b.insert(vector.StoreOp(total, c, [off]))
    b.insert(loop.DeallocOp(acc))
    b.insert(func.ReturnOp())
    return kernel_function(name, block)


def _apply_epilogue(b: Builder, epi: Epilogue, conv, extras, off, vt) -> SSAValue:
    """The consumer's body on vectors: `conv` for its convolution input, the other
    inputs loaded from `extras` at `off`, constants splat, ELEMENTWISE ops on vectors."""
    block = epi.op.body.block
    vals: dict[SSAValue, SSAValue] = {}
    others = iter(extras)
    for k, arg in enumerate(block.args[: len(epi.op.ins)]):
        if k == epi.conv_input:
            vals[arg] = conv
        else:
            vals[arg] = b.insert(vector.LoadOp(next(others), [off], vt)).result
    for inner in block.ops:
        if isinstance(inner, YieldOp):
            return vals[inner.values[0]]
        if isinstance(inner, arith.ConstantOp):
            scalar = b.insert(inner.clone()).result
            vals[inner.result] = b.insert(vector.BroadcastOp(scalar, vt)).vector
            continue
        new = type(inner).create(
            operands=[vals[o] for o in inner.operands],
            result_types=[vt],
            properties=dict(inner.properties),
            attributes=dict(inner.attributes),
        )
        vals[inner.results[0]] = b.insert(new).results[0]
    raise AssertionError("generic body without a yield")
