"""llvm-dialect module -> one self-contained WebAssembly module (wasm32 + simd128).

    wasm = build_wasm(llvm_module_op, entry="main")   # bytes of a .wasm file

Steps: translate to LLVM IR for `wasm32-unknown-unknown` with every global (the weights)
embedded, so they land in a data segment; point the math intrinsics the model uses
(`llvm.exp.v4f32`, ...) at our own inlinable implementations and link the runtime of
`libc.py` (allocator, math) into the same LLVM module; optimize at O`opt_level`; emit a
wasm object; link it with `wasm-ld` (a system one, or the `ziglang` package's) into a
module with no imports that exports `memory`, `irforge_alloc`, `irforge_free` and the
entry function (the ABI of docs/wasm.md: `entry(i32 in0, ..., i32 out0, ...)`, one
pointer into the linear memory per buffer).

Linker flags: `--no-entry --export=... --export-memory -z stack-size=... --max-memory=...
--gc-sections -O2 --strip-debug`; the initial memory is what wasm-ld computes (data +
stack), the allocator grows it on demand up to `max_memory`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

TRIPLE = "wasm32-unknown-unknown"
DEFAULT_FEATURES = "+simd128,+bulk-memory,+nontrapping-fptoint,+sign-ext,+mutable-globals"
"""simd128 for the vector code; bulk-memory makes memcpy / memset `memory.copy` /
`memory.fill` (no libc call); the rest are on in every current engine. `+relaxed-simd`
(fused `f32x4.relaxed_madd` for `llvm.fmuladd`) is an option: not every browser has it."""
STACK_SIZE = 1 << 20
"""Bytes of shadow stack (convert-loop-to-llvm puts up to 64 KiB of buffers per function
on it)."""
DEFAULT_MAX_MEMORY = 1 << 31
"""Default ceiling of the linear memory (2 GiB, which every browser accepts)."""
PAGE = 65536
EXPORTS = ("irforge_alloc", "irforge_free", "irforge_failed_alloc")


class WasmLinkerNotFound(RuntimeError):
    """No `wasm-ld` was found (see `find_wasm_ld`)."""


class WasmBuildError(RuntimeError):
    """The model cannot be made into a self-contained wasm module (for example it needs a
    function the wasm runtime does not provide)."""


@functools.cache
def find_wasm_ld() -> tuple[str, ...]:
    """The command that runs a wasm-ld: `wasm-ld` on PATH, else the newest `wasm-ld-NN`
    (Debian's lld-NN packages), else the `ziglang` package's (`python -m ziglang wasm-ld`).

    Raises WasmLinkerNotFound saying how to install one.
    """
    path = shutil.which("wasm-ld")
    if path:
        return (path,)
    for version in range(30, 10, -1):
        path = shutil.which(f"wasm-ld-{version}")
        if path:
            return (path,)
    if importlib.util.find_spec("ziglang") is not None:
        return (sys.executable, "-m", "ziglang", "wasm-ld")
    raise WasmLinkerNotFound(
        "no WebAssembly linker found: the wasm target needs `wasm-ld` on PATH (Debian/Ubuntu: "
        "`apt install lld`), or the ziglang package: `pip install 'irforge[wasm]'`"
    )


def _undefined_symbols(message: str) -> list[str]:
    return sorted(set(re.findall(r"undefined symbol: (\S+)", message)))


def build_wasm(
    llvm_module_op: Any,
    *,
    entry: str = "main",
    opt_level: int = 3,
    features: str | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    stack_size: int = STACK_SIZE,
) -> bytes:
    """Compile an llvm-dialect module (or LLVM IR text) to a linked wasm32 module.

    `features`: LLVM wasm target features (default `DEFAULT_FEATURES`; must keep
    `+simd128` if the module uses vectors, and `+bulk-memory` unless memcpy is provided).
    `max_memory`: bytes the linear memory may grow to (a multiple of 64 KiB, at most
    4 GiB). Returns the bytes of the module: no imports; exports `memory`,
    `irforge_alloc`, `irforge_free` and `entry`.

    Raises KeyError if `entry` is not defined, WasmLinkerNotFound without a wasm-ld,
    WasmBuildError if the model needs a function the runtime lacks (f64 math, ...) or the
    linker fails, ValueError for a bad `max_memory`.
    """
    from ..llvm.inline_math import WASM_MATH, retarget_math
    from ..llvm.jit import llvm_ir_text, parse_and_optimize, target_machine
    from .libc import runtime_module

    if max_memory % PAGE or not PAGE <= max_memory <= 1 << 32:
        raise ValueError(
            f"build_wasm: max_memory={max_memory} must be a multiple of 65536 in [64 KiB, 4 GiB]"
        )
    linker = find_wasm_ld()
    tm = target_machine("generic", features or DEFAULT_FEATURES, opt_level, triple=TRIPLE)
    text, intrinsics = retarget_math(llvm_ir_text(llvm_module_op, tm, 0, None), WASM_MATH)
    runtime = runtime_module(intrinsics, tm.triple, str(tm.target_data))
    mod = parse_and_optimize(text, tm, opt_level, link=(runtime,), inline_math=())
    del text
    try:
        fn = mod.get_function(entry)
    except NameError:
        fn = None
    if fn is None or fn.is_declaration:
        raise KeyError(f"no function '{entry}' in the compiled module")
    obj = tm.emit_object(mod)
    with tempfile.TemporaryDirectory(prefix="irforge-wasm-") as tmp:
        obj_path = os.path.join(tmp, "model.o")
        out_path = os.path.join(tmp, "model.wasm")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = [
            *linker,
            obj_path,
            "-o",
            out_path,
            "--no-entry",
            "--export-memory",
            f"--export={entry}",
            *(f"--export={name}" for name in EXPORTS),
            "-z",
            f"stack-size={stack_size}",
            f"--max-memory={max_memory}",
            "--gc-sections",
            "--strip-debug",
            "-O2",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip()
            missing = _undefined_symbols(message)
            if missing:
                raise WasmBuildError(
                    "the model needs functions the wasm runtime does not provide: "
                    f"{', '.join(missing)} (wasm math is f32 only: exp, log, tanh, erf, "
                    "expm1, log1p, pow)"
                )
            raise WasmBuildError(f"wasm-ld failed ({' '.join(cmd[: len(linker)])}): {message}")
        with open(out_path, "rb") as f:
            wasm = f.read()
    imports = wasm_imports(wasm)
    if imports:  # wasm-ld reports undefined functions; this catches anything else
        raise WasmBuildError(f"the linked module imports {', '.join(imports)}")
    return wasm


def _leb(data: bytes, i: int) -> tuple[int, int]:
    """An unsigned LEB128 at data[i]: (value, next index)."""
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def wasm_imports(wasm: bytes) -> list[str]:
    """The imports of a wasm module as "module.name" strings (its import section, read
    without a runtime). Raises ValueError if `wasm` is not a wasm module."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module (no \\0asm magic)")
    i = 8
    while i < len(wasm):
        section, i = wasm[i], i + 1
        size, i = _leb(wasm, i)
        if section != 2:
            i += size
            continue
        count, j = _leb(wasm, i)
        names = []
        for _ in range(count):
            n, j = _leb(wasm, j)
            module = wasm[j : j + n].decode()
            j += n
            n, j = _leb(wasm, j)
            names.append(f"{module}.{wasm[j : j + n].decode()}")
            j += n
            kind, j = wasm[j], j + 1
            if kind == 0:  # function: type index
                _, j = _leb(wasm, j)
            elif kind == 1:  # table: reftype + limits
                j += 1
                flags, j = _leb(wasm, j)
                _, j = _leb(wasm, j)
                if flags & 1:
                    _, j = _leb(wasm, j)
            elif kind == 2:  # memory: limits
                flags, j = _leb(wasm, j)
                _, j = _leb(wasm, j)
                if flags & 1:
                    _, j = _leb(wasm, j)
            else:  # global: valtype + mutability; tag: attribute + type index
                j += 1
                if kind == 3:
                    j += 1
                else:
                    _, j = _leb(wasm, j)
        return names
    return []
