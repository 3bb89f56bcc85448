"""`tensor-fuse-elementwise`: fuse a pointwise producer `tensor.generic` into the generic that
reads its result, so that a chain of elementwise ops becomes one loop nest.

convert-graph-to-tensor lowers each graph op to its own generic: `relu(x * 2 + 1) * x` is
four generics, four loop nests and three temporary tensors. Fusion computes the producer's
element where the consumer reads it instead::

    %e0 = "tensor.empty"() : () -> tensor<4xf32>
    %a = "tensor.generic"(%x, %two, %e0) <{indexing_maps = [#id, #zero, #id], ...}> ({
    ^bb0(%p: f32, %q: f32, %o: f32):
      %m = "arith.mulf"(%p, %q) : (f32, f32) -> f32
      "tensor.yield"(%m) : (f32) -> ()
    }) : (tensor<4xf32>, tensor<1xf32>, tensor<4xf32>) -> tensor<4xf32>
    %e1 = "tensor.empty"() : () -> tensor<4xf32>
    %r = "tensor.generic"(%a, %x, %e1) <{indexing_maps = [#id, #id, #id], ...}> ({
    ^bb0(%u: f32, %v: f32, %o: f32):
      %s = "arith.mulf"(%u, %v) : (f32, f32) -> f32
      "tensor.yield"(%s) : (f32) -> ()
    }) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>

becomes (the producer's inputs replace the fused operand, its body is inlined in place of
the operand's block argument)::

    %e1 = "tensor.empty"() : () -> tensor<4xf32>
    %r = "tensor.generic"(%x, %two, %x, %e1) <{indexing_maps = [#id, #zero, #id, #id], ...}> ({
    ^bb0(%p: f32, %q: f32, %v: f32, %o: f32):
      %m = "arith.mulf"(%p, %q) : (f32, f32) -> f32
      %s = "arith.mulf"(%m, %v) : (f32, f32) -> f32
      "tensor.yield"(%s) : (f32) -> ()
    }) : (tensor<4xf32>, tensor<1xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>

A producer is fused into a consumer that reads its result as an `ins` operand when:
- the producer has one result, used once (by that consumer), so nothing else needs the
  tensor and no element is computed twice for two readers;
- every producer iterator is parallel and the body does not read its `outs` argument: a
  pure map, whose elements can be computed in any order and one at a time;
- the producer's output map is a permutation, so the element the consumer reads at index
  i is the one the producer computes at domain point inverse(out_map)(i);
- every dimension of the fused domain is still indexed directly by some operand (the loop
  bounds are read off the operands).
- the producer's body reads no `tensor.index` (a gather): its domain's dims are not the
  fused domain's;
- the consumer is not a blocked convolution
  (passes/tensor_to_loop/microkernel/direct_conv.py), whose kernel reads its input where
  it lies, many times per element, with no packing step in which a fused producer would
  run once per element.
The consumer may reduce: a reduction reads each producer element once per point of its
domain, the same elements the unfused producer computed. A consumer that reads each
element at several points of its domain (its map for the operand leaves out a dim: a
matmul reads A[i, k] once per column j) takes the producer only if the fused generic is
still a contraction the microkernel recognizes (`match_contraction`), whose packing step
computes the producer once per packed element; in a plain loop nest it would run once per
read (a GELU fused into the next matmul's loop nest: an erf per multiply-add). Each
producer input's map becomes `in_map o inverse(out_map) o consumer_map`, and inputs the
fused generic reads twice through the same map become one operand (x in relu(x) * x: the
element is then computed once, and a chain reading x several times reads it once).

Two rounds, each applied until no pair is left: first into consumers that are not
contractions (chains of pointwise ops become one generic), then into contractions. A
pointwise chain that reads a contraction's result and could run as that contraction's
GEMM epilogue (`runs_as_epilogue`: microkernel/gemm_epilogue.py's conditions, a tanh GELU
after a matmul) is not fused into a following contraction's packing: the epilogue
computes it on the tile in registers, 16 lanes at a time. A dead `tensor.empty` left by
the producer is erased.

Source: MLIR's linalg elementwise op fusion (`ElementwiseOpFusion.cpp`, "fuseElementwiseOps").
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from ...dialects.tensor import PARALLEL, EmptyOp, GenericOp, IndexOp, YieldOp
from ..tensor_to_loop.microkernel.contraction import map_dims, match_contraction
from ..tensor_to_loop.microkernel.direct_conv import match_direct_conv
from ..tensor_to_loop.microkernel.gemm_epilogue import epilogue_input


def _is_permutation(amap: AffineMap) -> bool:
    dims = [e.position for e in amap.results if isinstance(e, AffineDimExpr)]
    return (
        len(dims) == len(amap.results) == amap.num_dims
        and sorted(dims) == list(range(amap.num_dims))
        and amap.num_symbols == 0
    )


def fusable_producer(consumer: GenericOp, index: int) -> GenericOp | None:
    """The generic producing `consumer.ins[index]` if it may be fused there (see module
    docstring), else None."""
    value = consumer.ins[index]
    producer = value.owner
    if not isinstance(producer, GenericOp) or len(producer.res) != 1:
        return None
    if not value.has_one_use():
        return None
    if any(kind != PARALLEL for kind in producer.iterators):
        return None
    if not _is_permutation(producer.maps[-1]):
        return None
    if producer.body.block.args[-1].uses:
        return None
    if any(isinstance(o, IndexOp) for o in producer.body.block.ops):
        return None  # its tensor.index ops name dims of its own domain, not the consumer's
    if match_direct_conv(consumer) is not None:
        return None  # its kernel reads the input unpacked: the producer would run per read
    if match_contraction(consumer) is not None and runs_as_epilogue(producer):
        return None  # computed in the producing GEMM's registers instead of in a packing
    return producer


def runs_as_epilogue(op: GenericOp) -> bool:
    """Whether pointwise `op` reads the result of a contraction whose GEMM microkernel can
    run it as its epilogue (microkernel/gemm_epilogue.py: one column dim, elementwise f32
    body), with its other inputs computed before that contraction."""
    for v in op.ins:
        owner = v.owner
        if not isinstance(owner, GenericOp):
            continue
        con = match_contraction(owner)
        if con is None or epilogue_input(con, op) is None:
            continue
        others = [w.owner for w in op.ins if w is not v]
        return all(
            not isinstance(o, Operation)
            or isinstance(o, arith.ConstantOp)
            or (o.parent_block() is owner.parent_block() and o.is_before_in_block(owner))
            for o in others
        )
    return False


def _directly_indexed(maps: list[AffineMap], n_dims: int) -> bool:
    seen = {e.position for m in maps for e in m.results if isinstance(e, AffineDimExpr)}
    return len(seen) == n_dims


def fuse(consumer: GenericOp, index: int, producer: GenericOp) -> GenericOp | None:
    """One generic computing `consumer` with `producer` inlined at `consumer.ins[index]`,
    or None if the fused domain would lose a dimension's bounds."""
    c_maps, p_maps = consumer.maps, producer.maps
    p_ins = list(producer.ins)
    # consumer index -> producer result index -> producer domain -> producer input index
    to_producer = p_maps[-1].inverse_permutation()
    assert to_producer is not None
    through = to_producer.compose(c_maps[index])
    new_maps = (
        c_maps[:index] + [m.compose(through) for m in p_maps[: len(p_ins)]] + c_maps[index + 1 :]
    )
    if not _directly_indexed(new_maps, len(consumer.iterators)):
        return None
    ins = [*consumer.ins[:index], *p_ins, *consumer.ins[index + 1 :]]
    # An input read twice through the same map (x in x * x, or in both the producer and
    # the consumer) becomes one operand: each block argument then reads a distinct
    # element, and a GELU reads its x once (as a GEMM epilogue must, gemm_epilogue.py).
    first: dict[tuple[SSAValue, AffineMap], int] = {}
    slot = [first.setdefault((v, m), len(first)) for v, m in zip(ins, new_maps)]
    kept = [k for k, s in enumerate(slot) if s not in slot[:k]]  # first readers
    new_maps = [new_maps[k] for k in kept] + new_maps[len(ins) :]
    ins = [ins[k] for k in kept]
    operands = [*ins, *consumer.outs]

    block = Block(arg_types=[v.type.element_type for v in operands])
    c_args, p_args = consumer.body.block.args, producer.body.block.args
    n_in = len(ins)
    arg_of = [block.args[s] for s in slot] + list(block.args[n_in:])
    mapping: dict[SSAValue, SSAValue] = {}
    for k, arg in enumerate(c_args[:index]):
        mapping[arg] = arg_of[k]
    for k, arg in enumerate(p_args[: len(p_ins)]):
        mapping[arg] = arg_of[index + k]
    for k, arg in enumerate(c_args[index + 1 :]):
        mapping[arg] = arg_of[index + len(p_ins) + k]
    for op in producer.body.block.ops:
        if isinstance(op, YieldOp):
            mapping[c_args[index]] = mapping.get(op.values[0], op.values[0])
        else:
            block.add_op(op.clone(mapping))
    for op in consumer.body.block.ops:
        block.add_op(op.clone(mapping))
    return GenericOp(ins, list(consumer.outs), Region(block), new_maps, consumer.iterators)


@dataclass
class FuseProducerIntoConsumer(RewritePattern):
    into_contractions: bool = True
    """False: only into consumers that are not contractions (the first round)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GenericOp, rewriter: PatternRewriter):
        if not self.into_contractions and match_contraction(op) is not None:
            return
        for index in range(len(op.ins)):
            producer = fusable_producer(op, index)
            if producer is None:
                continue
            fused = fuse(op, index, producer)
            if fused is None:
                continue
            rereads = len(map_dims(op.maps[index])) < len(op.iterators)
            if rereads and match_contraction(fused) is None:
                fused.erase()
                continue  # the producer would run once per read (module docstring)
            rewriter.replace(op, fused)
            dead_outs = producer.outs[0].owner
            rewriter.erase(producer)
            if isinstance(dead_outs, EmptyOp) and not dead_outs.result.uses:
                rewriter.erase(dead_outs)
            return


@dataclass(frozen=True)
class FuseElementwisePass(ModulePass):
    """Fuse pointwise producer generics into their consumers (see the module docstring)."""

    name = "tensor-fuse-elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        # Chains of pointwise ops first, so that a whole chain (a GELU after a matmul) is
        # one generic when the second round decides whether it runs as the producing
        # GEMM's epilogue or in the consuming contraction's packing.
        PatternRewriteWalker(FuseProducerIntoConsumer(False)).rewrite_module(op)
        PatternRewriteWalker(FuseProducerIntoConsumer()).rewrite_module(op)
