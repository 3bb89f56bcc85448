"""The native backend: llvm-dialect IR -> LLVM IR (llvmlite) -> optimized machine code.

    # compile_module, from this package (irforge.backends.llvm)
    f = compile_module(module, entry="main",
                       inputs=[("x", (1, 64), "float32")], outputs=[("y", (1, 10), "float32")])
    y = f(x)

Pieces: `translate.translate_module` (ModuleOp -> llvmlite `ir.Module`), `jit` (target
machine, O0-O3 pipeline, MCJIT, `emit_llvm_ir`, `emit_object`, `emit_assembly`) and
`runtime.NativeFunction` (checked calls with NumPy arrays). llvmlite is imported only when
one of them is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import NativeFunction

_LAZY = {
    "translate_module": "irforge.backends.llvm.translate",
    "jit_compile": "irforge.backends.llvm.jit",
    "emit_llvm_ir": "irforge.backends.llvm.jit",
    "emit_object": "irforge.backends.llvm.jit",
    "emit_assembly": "irforge.backends.llvm.jit",
    "host_target": "irforge.backends.llvm.jit",
    "target_machine": "irforge.backends.llvm.jit",
    "JITModule": "irforge.backends.llvm.jit",
    "NativeFunction": "irforge.backends.llvm.runtime",
    "TensorSpec": "irforge.backends.llvm.runtime",
}

__all__ = ["compile_module", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def compile_module(
    llvm_module_op: Any,
    entry: str = "main",
    inputs: Sequence[Any] = (),
    outputs: Sequence[Any] = (),
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    *,
    external_threshold: int = 65536,
) -> NativeFunction:
    """JIT-compile an llvm-dialect module and return its function `entry` as a callable.

    `inputs`/`outputs` are (name, shape, dtype) triples in argument order (inputs first).
    `cpu`/`features` default to the host's. Raises KeyError if `entry` is not defined,
    RuntimeError if LLVM rejects the module, NotImplementedError for untranslatable ops.

    Dense globals (weights) of more than `external_threshold` bytes are not put into the
    LLVM module: the code reads them from buffers the returned function keeps alive
    (0 embeds every global; see `jit.jit_compile`).
    """
    from .jit import jit_compile
    from .runtime import NativeFunction

    jm = jit_compile(
        llvm_module_op,
        opt_level=opt_level,
        cpu=cpu,
        features=features,
        external_threshold=external_threshold,
    )
    return NativeFunction(jm, entry, inputs, outputs)
