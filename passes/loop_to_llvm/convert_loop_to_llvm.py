"""`convert-loop-to-llvm`: lower loop-level IR (loop, func, memref globals, arith, math) to
xDSL's `llvm` dialect.

Buffers have static shapes and the identity layout, so a memref becomes a bare `!llvm.ptr`
and an access linearizes its indices with the static row-major strides (one `i64` GEP
index). `index` becomes `i64`. A `loop.for` becomes a rotated loop: a guard, a body block
whose argument is the induction variable, and a latch that branches back::

    "loop.for"(%lb, %ub, %c1) ({            %g = llvm.icmp "slt" %lb, %ub
    ^bb0(%i: index):                         llvm.cond_br %g, ^body(%lb), ^exit
      %v = "loop.load"(%a, %i)          ^body(%i: i64):
        : (memref<8xf32>, index) -> f32     %p = llvm.getelementptr inbounds %a[%i] : f32
      "loop.store"(%v, %b, %i) ...          %v = llvm.load %p : !llvm.ptr -> f32
      "loop.yield"() : () -> ()             ... store ...
    }) : (index, index, index) -> ()        %n = llvm.add %i, %c1 overflow<nsw>
                                             %c = llvm.icmp "slt" %n, %ub
                                             llvm.cond_br %c, ^body(%n), ^exit
                                           ^exit:

Other rules:

- `func.func` -> `llvm.func` (void result; memref args are `ptr`). Public functions get
  `noalias` and `dereferenceable(<bytes>)` on pointer args, and `readonly` on args the body
  never writes (the runtime passes distinct buffers and checks their shapes). Private
  functions (internal linkage; e.g. the nests outline-loop-nests makes) get
  `dereferenceable` and `readonly` the same way, and keep the `llvm.*` argument attributes
  of their `func.func` (`llvm.noalias` only where the caller passes distinct buffers).
  A `passthrough` attribute of the `func.func` (`["noinline"]`) goes to the `llvm.func`.
  `func.call` -> `llvm.call`.
- `memref.global` -> internal `llvm.mlir.global` of type `!llvm.array<N x i8>` whose value is
  the dense attribute itself (translated byte for byte by `irforge.backends.llvm`), align 64;
  `memref.get_global` -> `llvm.mlir.addressof`.
- `loop.alloc` -> a 64-byte aligned `alloca` in the entry block while the function's stack
  budget (`stack_limit` bytes) lasts, else `aligned_alloc(64, size)`; `loop.dealloc` ->
  `free` (nothing for stack buffers). Stack buffers let LLVM keep small accumulators in
  registers.
- arith -> llvm arithmetic; float ops keep their own fast-math flags plus `contract`
  (fma formation; results stay deterministic). `index` add/sub/mul get `nsw`: indices of
  static buffers never overflow 64 bits.
- math -> LLVM intrinsics with the type suffix (`llvm.intr.exp` or `llvm.call_intrinsic
  "llvm.tanh.f32"`); erf, expm1, log1p, cbrt, asinh, acosh, atanh call libm.
- `arith.fptosi`/`fptoui` -> `llvm.fptosi.sat`/`fptoui.sat` (xDSL's llvm dialect has no
  fptosi; the saturating form refines it); `arith.uitofp` -> zext + sitofp.

Raises PassFailedException naming the op for anything else.

Layout (base <- families <- this aggregator): base.py holds the per-function state
(`FunctionLowering`), the rule registry (`register_llvm_rule`, `lowering_rule`: the
extension point for plugins, documented there) and the shared helpers; the rules live in
core.py (loops, memory, returns), arith_math.py, parallel.py (`func.call`, GOMP),
vector.py, view.py and reshape.py, which register them when imported here.

Source: MLIR's convert-scf-to-cf, convert-arith-to-llvm, finalize-memref-to-llvm,
https://mlir.llvm.org/docs/TargetLLVMIR/
"""

from __future__ import annotations

import math as _math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, llvm, memref
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

# The rule families register their rules on base's registry when imported.
from . import arith_math, core, parallel, reshape, vector, view  # noqa: F401
from .base import ALIGN, FunctionLowering, element_bytes

# -- the pass -----------------------------------------------------------------------------


def _lower_global(op: memref.GlobalOp) -> llvm.GlobalOp:
    t = op.type
    nbytes = _math.prod(t.get_shape()) * element_bytes(t.element_type)
    value = op.initial_value
    constant = op.constant is not None
    if not isinstance(value, DenseIntOrFPElementsAttr):
        value = None  # uninitialized: zero-filled by the translation
    align = max(ALIGN, op.alignment.value.data if op.alignment is not None else 0)
    return llvm.GlobalOp(
        llvm.LLVMArrayType(nbytes, IntegerType(8)),
        op.sym_name,
        "internal",
        constant=constant,
        value=value,
        alignment=align,
    )


@dataclass(frozen=True)
class ConvertLoopToLLVMPass(ModulePass):
    """Lower loop-level IR to the llvm dialect (see the module docstring).

    Options: `contract` adds the `contract` fast-math flag to float arithmetic (lets LLVM
    form fma); `stack_limit` is the per-function budget in bytes for placing `loop.alloc`
    buffers on the stack instead of the heap (0 puts every buffer on the heap).
    """

    name = "convert-loop-to-llvm"

    contract: bool = True
    stack_limit: int = 65536

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        externs: dict[str, llvm.FuncOp] = {}
        new_ops: list[Operation] = []
        for top in list(op.ops):
            if isinstance(top, memref.GlobalOp):
                new_ops.append(_lower_global(top))
            elif isinstance(top, func.FuncOp):
                lowering = FunctionLowering(externs, self.contract, self.stack_limit)
                new_ops.append(lowering.lower_func(top))
            elif isinstance(top, llvm.FuncOp | llvm.GlobalOp):
                if isinstance(top, llvm.FuncOp) and not top.body.blocks:
                    externs.setdefault(top.sym_name.data, top)
                    top.detach()
                    continue
                new_ops.append(top.clone())
            else:
                raise PassFailedException(
                    f"convert-loop-to-llvm: cannot lower top-level '{top.name}'"
                )
        declared = {o.sym_name.data for o in new_ops if isinstance(o, llvm.FuncOp)}
        for name, decl in externs.items():
            if name not in declared:
                new_ops.append(decl)
        body = op.body.block
        for old in list(body.ops):
            old.detach()
            old.drop_all_references()
        for new in new_ops:
            body.add_op(new)
