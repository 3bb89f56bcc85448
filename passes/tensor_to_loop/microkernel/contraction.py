"""Recognize a contraction `tensor.generic` and classify its iteration dims for GEMM.

A contraction here is an f32 generic with one output `c` whose body ends in
`yield(c + p * q)` (arith.mulf, then arith.addf with the output's element, in any operand
order), where the factors `p` and `q` read disjoint sets of inputs: each is one input read
as it is (matmul, convolution) or a pure scalar function of its inputs (a batch-norm +
ReLU that tensor-fuse-elementwise fused into a convolution's input; packing computes it
once per packed element). Every iterator is `parallel` or `reduction`, the output map is a
list of distinct parallel dims (`(d0, d1, d2, d3)`) and the reduction dims are not in it.
The input maps may be any affine functions of the dims (a convolution reads its padded
input at `oh * s + kh * d`): packing evaluates them, which is an implicit im2col.

The output is seen as a matrix C[rows, cols] for each value of the `outer` dims:

- side `b` (vector side, NR): the factor that uses the output's innermost dim; the
  microkernel loads contiguous vectors of it (after packing) and stores contiguous vectors
  of C; side `a` (broadcast side, MR) is the other factor;
- `cols`: the longest run of trailing output dims used by `b` but not by `a`; they are
  contiguous in C, so column j of C is the row-major linearization of their values (a
  convolution's (oh, ow));
- `rows`: the longest run of output dims used by `a` but not by `b` that ends at the
  innermost such dim (matmul's m, a convolution's output channel f; both b and m of a
  batch of rows times a weight matrix, [B, S, H] x [H, N]); they are contiguous in C
  (consecutive output dims), so row i of C is the row-major linearization of their
  values and one row stride (that of the last, `row`) steps through them all;
- `outer`: every other output dim (batch dims that both factors use, a convolution's n,
  ...): an outer loop;
- `red`: the reduction dims, linearized row-major into K.

matmul C[m,n] += A[m,k] B[k,n]: b = B, cols = (n), rows = (m), red = (k).
rows x weights C[b,s,n] += A[b,s,k] W[k,n]: b = W, cols = (n), rows = (b, s), red = (k).
batched matmul C[b,h,s,t] += Q[b,h,s,k] K[b,h,k,t]: b = K, cols = (t), rows = (s),
outer = (b, h), red = (k).
conv   C[n,f,oh,ow] += X[n,c,oh*s+kh,ow*s+kw] W[f,c,kh,kw]: b = X, a = W, cols = (oh, ow),
rows = (f), outer = (n), red = (c, kh, kw).

`match_contraction` returns None for anything else (the generic then takes the plain
loop-nest lowering).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import Float32Type, TensorType
from xdsl.ir import Block, Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap

from ....dialects.tensor import GenericOp, YieldOp


def _dims_used(e: AffineExpr, out: set[int]) -> set[int]:
    if isinstance(e, AffineDimExpr):
        out.add(e.position)
    for child in (getattr(e, "lhs", None), getattr(e, "rhs", None)):
        if child is not None:
            _dims_used(child, out)
    return out


def map_dims(m: AffineMap) -> set[int]:
    """The domain dims that any result of `m` depends on."""
    used: set[int] = set()
    for e in m.results:
        _dims_used(e, used)
    return used


@dataclass(frozen=True)
class Side:
    """One factor of the product: the inputs it reads and how the body combines them.

    `inputs`: indices into the generic's `ins`; `value`: the body value of the factor (a
    block argument when the factor is one input read as it is; else the result of the
    body ops in `ops`, which only read the block arguments of `inputs` and constants);
    `dims`: the domain dims its inputs' maps use."""

    inputs: tuple[int, ...]
    value: SSAValue
    ops: tuple[Operation, ...]
    dims: frozenset[int]

    @property
    def plain(self) -> int | None:
        """The input index when the factor is that input itself, else None."""
        if not self.ops and len(self.inputs) == 1:
            return self.inputs[0]
        return None


@dataclass(frozen=True)
class Contraction:
    """A recognized contraction (see the module docs). Dims are domain positions."""

    op: GenericOp
    ranges: tuple[int, ...]  # size of each domain dim
    sides: tuple[Side, Side]  # (broadcast / MR side "A", vector / NR side "B")
    outer: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    red: tuple[int, ...]

    @property
    def a(self) -> Side:
        return self.sides[0]

    @property
    def b(self) -> Side:
        return self.sides[1]

    @property
    def row(self) -> int:
        """The innermost row dim: its stride in C is the row stride (ldc)."""
        return self.rows[-1]

    @property
    def m(self) -> int:
        return math.prod(self.ranges[d] for d in self.rows)

    @property
    def n(self) -> int:
        return math.prod(self.ranges[d] for d in self.cols)

    @property
    def k(self) -> int:
        return math.prod(self.ranges[d] for d in self.red)

    @property
    def flops(self) -> int:
        """Multiply-adds times 2 over the whole domain."""
        return 2 * math.prod(self.ranges)


def _split_body(op: GenericOp) -> tuple[SSAValue, SSAValue, list[Operation]] | None:
    """(p, q, prologue) when the body ends in `yield(out + p * q)` (any operand order) and
    nothing before reads the output's block argument; else None."""
    block = op.body.block
    ops = list(block.ops)
    if len(ops) < 3 or not isinstance(ops[-1], YieldOp) or len(ops[-1].values) != 1:
        return None
    add, yld = ops[-2], ops[-1]
    out_arg = block.args[len(op.ins)]
    if not isinstance(add, arith.AddfOp) or yld.values[0] is not add.result:
        return None
    if add.lhs is out_arg:
        prod = add.rhs
    elif add.rhs is out_arg:
        prod = add.lhs
    else:
        return None
    mul = prod.owner
    if not isinstance(mul, arith.MulfOp) or not prod.has_one_use() or mul is not ops[-3]:
        return None
    prologue = ops[:-3]
    if any(out_arg in o.operands or o.regions or o.successors for o in prologue):
        return None
    return mul.lhs, mul.rhs, prologue


def _side(op: GenericOp, value: SSAValue, prologue: list[Operation]) -> Side:
    """The inputs `value` depends on and the prologue ops that compute it."""
    block = op.body.block
    needed: set[Operation] = set()
    inputs: set[int] = set()
    work = [value]
    while work:
        v = work.pop()
        if isinstance(v.owner, Block):
            if v.owner is block:
                inputs.add(v.index)
            continue
        if v.owner not in needed:
            needed.add(v.owner)
            work.extend(v.owner.operands)
    ops = tuple(o for o in prologue if o in needed)
    dims: set[int] = set()
    for i in inputs:
        dims |= map_dims(op.maps[i])
    return Side(tuple(sorted(inputs)), value, ops, frozenset(dims))


def match_contraction(op: GenericOp) -> Contraction | None:
    """The classification of `op` if it is a contraction (module docs), else None."""
    if len(op.outs) != 1 or len(op.ins) < 2:
        return None
    types = [v.type for v in (*op.ins, *op.outs)]
    if not all(
        isinstance(t, TensorType) and isinstance(t.element_type, Float32Type) for t in types
    ):
        return None
    split = _split_body(op)
    if split is None:
        return None
    p, q, prologue = split
    sides = [_side(op, p, prologue), _side(op, q, prologue)]
    if set(sides[0].inputs) & set(sides[1].inputs) or not sides[0].inputs or not sides[1].inputs:
        return None
    if set(sides[0].ops) & set(sides[1].ops) or len(sides[0].ops) + len(sides[1].ops) != len(
        prologue
    ):
        return None  # a prologue op shared by both factors, or computing something else
    if any(not isinstance(o, _PURE_OPS) for o in prologue):
        return None
    iters = op.iterators
    if any(kind not in ("parallel", "reduction") for kind in iters):
        return None
    out = op.maps[-1].results
    if not out or not all(isinstance(e, AffineDimExpr) for e in out):
        return None
    out_dims = [e.position for e in out]
    if len(set(out_dims)) != len(out_dims) or any(iters[d] != "parallel" for d in out_dims):
        return None
    red = tuple(d for d, kind in enumerate(iters) if kind == "reduction")
    if set(out_dims) | set(red) != set(range(len(iters))) or not red:
        return None
    last = out_dims[-1]
    if (last in sides[0].dims) == (last in sides[1].dims):
        return None
    if last in sides[0].dims:
        sides.reverse()
    a, b = sides
    cols: list[int] = []
    for d in reversed(out_dims):
        if d not in b.dims or d in a.dims:
            break
        cols.insert(0, d)
    row_only = [d for d in out_dims if d in a.dims and d not in b.dims]
    if not row_only:
        return None
    at = out_dims.index(row_only[-1])
    first = at
    while first > 0 and out_dims[first - 1] in row_only:
        first -= 1
    rows = tuple(out_dims[first : at + 1])
    outer = tuple(d for d in out_dims if d not in rows and d not in cols)
    return Contraction(
        op=op,
        ranges=tuple(op.loop_ranges()),
        sides=(a, b),
        outer=outer,
        rows=rows,
        cols=tuple(cols),
        red=red,
    )


# Scalar ops a factor's prologue may hold (pure: computed again per packed element).
_PURE_OPS = (
    arith.ConstantOp,
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.NegfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.MaxnumfOp,
    arith.MinnumfOp,
    arith.SelectOp,
    arith.CmpfOp,
    xmath.ExpOp,
    xmath.TanhOp,
    xmath.SqrtOp,
    xmath.AbsFOp,
)
