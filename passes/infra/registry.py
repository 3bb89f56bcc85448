"""The pass registry: pass name -> lazy factory of its ModulePass class.

Passes are xDSL `ModulePass` dataclasses (fields are the pass options). Registering a
factory rather than the class keeps `import irforge.passes` cheap: a pass module is only
imported when a pipeline names it. Plugins add passes with `register_pass`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

PassFactory = Callable[[], type[ModulePass]]


def _lazy(module: str, cls: str) -> PassFactory:
    """The class `cls` of `irforge.passes.<module>`, imported when first asked for."""

    def load() -> type[ModulePass]:
        return getattr(importlib.import_module(f"irforge.passes.{module}"), cls)

    return load


_PASSES: dict[str, PassFactory] = {
    "canonicalize": _lazy("transforms.canonicalize", "CanonicalizePass"),
    "convert-graph-to-tensor": _lazy(
        "graph_to_tensor.convert_graph_to_tensor", "ConvertGraphToTensorPass"
    ),
    "convert-tensor-to-loop": _lazy(
        "tensor_to_loop.convert_tensor_to_loop", "ConvertTensorToLoopPass"
    ),
    "convert-loop-to-llvm": _lazy("loop_to_llvm.convert_loop_to_llvm", "ConvertLoopToLLVMPass"),
    "outline-loop-nests": _lazy("loop.outline_loop_nests", "OutlineLoopNestsPass"),
    "parallelize-loops": _lazy("loop.parallelize_loops", "ParallelizeLoopsPass"),
    "tensor-fuse-elementwise": _lazy("tensor.tensor_fuse_elementwise", "FuseElementwisePass"),
    "graph-fuse": _lazy("graph.graph_fuse", "GraphFusePass"),
    "graph-fuse-attention": _lazy("graph.graph_fuse_attention", "GraphFuseAttentionPass"),
    "graph-flush-denormals": _lazy("graph.graph_flush_denormals", "GraphFlushDenormalsPass"),
    "graph-convert-layout": _lazy("graph.graph_convert_layout", "GraphConvertLayoutPass"),
    "loop-schedule": _lazy("loop.loop_schedule", "LoopSchedulePass"),
    "vectorize-loops": _lazy("loop.vectorize_loops", "VectorizeLoopsPass"),
    "plan-buffers": _lazy("loop.plan_buffers", "PlanBuffersPass"),
    "cse": _lazy("transforms.cse", "CSEPass"),
    "merge-functions": _lazy("transforms.merge_functions", "MergeFunctionsPass"),
    "dce": _lazy("transforms.dce", "DCEPass"),
}

# The default lowering from the graph dialect to the llvm dialect. merge-functions keeps one
# function for the loop nests that repeat (a transformer's layers), lowered and compiled once.
DEFAULT_PIPELINE = (
    "canonicalize,graph-fuse-attention{min-keys=512},graph-fuse,graph-flush-denormals,"
    "graph-convert-layout,convert-graph-to-tensor,tensor-fuse-elementwise,"
    "convert-tensor-to-loop{flatten=true},outline-loop-nests,merge-functions,plan-buffers,"
    "parallelize-loops,convert-loop-to-llvm"
)

# The default for WebAssembly: the native one without graph-convert-layout, and with
# vectorize-loops after convert-tensor-to-loop (figures: docs/benchmarks.md, 'Design
# measurements'):
# - layout: in wasmtime the light SqueezeNet ran faster with NCHW convolutions (the GEMM
#   path) than blocked, whatever the block (Cranelift's code for the direct-convolution
#   kernel is slower), while native 128-bit code (x86-64-v2) gained from the blocked layout;
# - vectorize-loops: LLVM's vectorizer leaves loops of fewer than 16 iterations that need a
#   remainder scalar; on wasm their math (exp, tanh: our inlined code, backends/wasm/libc.py)
#   then runs one lane at a time, slower than irforge's vectorized loop with its scalar
#   remainder. Native code calls libm's scalar expf either way, so the native pipeline
#   leaves it to LLVM.
WASM_PIPELINE = (
    "canonicalize,graph-fuse-attention{min-keys=512},graph-fuse,graph-flush-denormals,"
    "convert-graph-to-tensor,tensor-fuse-elementwise,convert-tensor-to-loop{flatten=true},"
    "vectorize-loops,outline-loop-nests,merge-functions,plan-buffers,parallelize-loops,"
    "convert-loop-to-llvm"
)


def register_pass(name: str, factory: PassFactory | type[ModulePass]) -> None:
    """Register a pass under `name` (a class or a zero-argument factory returning it).

    Raises ValueError if the name is taken.
    """
    if name in _PASSES:
        raise ValueError(f"a pass named '{name}' is already registered")
    if isinstance(factory, type):
        cls = factory
        factory = lambda: cls  # noqa: E731
    _PASSES[name] = factory


def available_passes() -> dict[str, PassFactory]:
    """Every registered pass name and its factory."""
    return dict(_PASSES)


def get_pass_class(name: str) -> type[ModulePass]:
    """The ModulePass class registered as `name`; KeyError if there is none."""
    return _PASSES[name]()
