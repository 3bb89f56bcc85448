"""`vectorize-loops`: the default schedule for elementwise / streaming loop nests: vectorize
every innermost loop that the `vectorize` primitive accepts, at the target's width. (Not
LLVM's own `loop-vectorize`, which still runs later, inside LLVM's -O pipeline.)

    "loop.for"(%c0, %c100, %c1) ({              "loop.for"(%c0, %c96, %c16) ({
    ^bb0(%i: index):                            ^bb0(%i: index):
      %x = "loop.load"(%a, %i) ...          ->    %x = vector.load %a[%i] : ..., vector<16xf32>
      %y = arith.mulf %x, %x : f32                %y = arith.mulf %x, %x : vector<16xf32>
      "loop.store"(%y, %b, %i) ...                vector.store %y, %b[%i] ...
    }) ...                                      }) ...
                                                "loop.for"(%c96, %c100, %c1) ({ ...scalar... })

Options:
- `width`: lanes; 0 (default) takes the target's SIMD width for the loop's element type
  (the module's Target, backends/target.py: `vector_bits // element bits`, 16 x f32 with
  AVX-512); `vector_bits` overrides the register width (128 for wasm32 `+simd128`).
- `unroll`: unroll the vector loop by this factor (1: no unrolling; constant bounds only).
- `nontemporal_bytes`: vector stores into a buffer of at least this many bytes are
  non-temporal (streaming: no cache-line fill before the write; pays once the data far
  exceeds the last-level cache); 0 never.

Loops the primitive refuses (reductions, strided accesses, unsupported ops) stay scalar;
loops with fewer iterations than the width too. Source: the default schedules of TVM's
`topi` for injective ops (vectorize the innermost axis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import AnyFloat, IntegerType, MemRefType, ModuleOp
from xdsl.passes import ModulePass

from ...backends.target import Target
from ...dialects import loop


def _element_bits(lp: loop.ForOp) -> int | None:
    """The element width of what the loop stores (else loads): a gather's body loads an
    i64 index first, but it copies f32 lanes."""
    ops = list(lp.body.block.ops)
    stores = [op for op in ops if isinstance(op, loop.StoreOp)]
    for op in stores + [op for op in ops if isinstance(op, loop.LoadOp)]:
        t = op.memref.type.element_type
        if isinstance(t, AnyFloat):
            return t.bitwidth
        if isinstance(t, IntegerType):
            return max(8, t.width.data)  # an i1 is held in a byte
    return None


@dataclass(frozen=True)
class VectorizeLoopsPass(ModulePass):
    """Vectorize innermost loops at the target width (see the module docstring)."""

    name = "vectorize-loops"

    width: int = 0
    vector_bits: int = 0
    unroll: int = 1
    nontemporal_bytes: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from .schedule import ScheduleError, unroll, vectorize

        bits = self.vector_bits or Target.of(op).vector_bits
        for fn in op.ops:
            if not isinstance(fn, func.FuncOp):
                continue
            innermost = [
                lp
                for lp in fn.walk()
                if isinstance(lp, loop.ForOp)
                and not any(isinstance(o, loop.ForOp) for o in lp.body.block.ops)
            ]
            for lp in innermost:
                elem = _element_bits(lp)
                if elem is None:
                    continue
                width = self.width or max(bits // elem, 1)
                if width < 2:
                    continue
                streaming = self.nontemporal_bytes > 0 and any(
                    isinstance(o, loop.StoreOp)
                    and isinstance(o.memref.type, MemRefType)
                    and math.prod(o.memref.type.get_shape()) * elem // 8 >= self.nontemporal_bytes
                    for o in lp.body.block.ops
                )
                try:
                    vec = vectorize(lp, width, nontemporal=streaming)
                except ScheduleError:
                    continue
                if vec is not None and self.unroll > 1:
                    try:
                        unroll(vec, self.unroll)
                    except ScheduleError:
                        pass
