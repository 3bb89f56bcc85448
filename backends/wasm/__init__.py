"""The WebAssembly backend: llvm-dialect IR -> one self-contained wasm32 + simd128 module,
and a runner for it.

    # build_wasm and WasmFunction, exported by this package (irforge.backends.wasm)
    wasm = build_wasm(llvm_module_op, entry="main")          # bytes of model.wasm
    f = WasmFunction(wasm, "main", inputs=[("x", (1, 64), "float32")],
                     outputs=[("y", (1, 10), "float32")])
    y = f(x)

Pieces: `build` (LLVM for wasm32, linking with wasm-ld), `libc` (the allocator and math
the module carries, as LLVM IR), `runtime.WasmFunction` (wasmtime), `artifacts` (the files
that ship a model to a browser). llvmlite and wasmtime are imported only when used.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "build_wasm": "irforge.backends.wasm.build",
    "find_wasm_ld": "irforge.backends.wasm.build",
    "wasm_imports": "irforge.backends.wasm.build",
    "WasmLinkerNotFound": "irforge.backends.wasm.build",
    "WasmBuildError": "irforge.backends.wasm.build",
    "DEFAULT_FEATURES": "irforge.backends.wasm.build",
    "WasmFunction": "irforge.backends.wasm.runtime",
    "WasmMemoryError": "irforge.backends.wasm.runtime",
    "wasm_engine": "irforge.backends.wasm.runtime",
    "write_artifacts": "irforge.backends.wasm.artifacts",
    "make_manifest": "irforge.backends.wasm.artifacts",
    "read_manifest": "irforge.backends.wasm.artifacts",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
