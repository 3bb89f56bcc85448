"""The OpenMP runtime that parallel regions call: GNU libgomp, loaded for the JIT.

Code made by parallelize-loops calls `GOMP_parallel`, `omp_get_thread_num` and
`omp_get_num_threads` (passes/loop_to_llvm/parallel.py). MCJIT resolves external symbols
against the running process, so the library is loaded into it once, process-wide
(`llvmlite.binding.load_library_permanently`). Where it is looked for: `IRFORGE_LIBGOMP`
(a path) if set, then `ctypes.util.find_library("gomp")`, then the usual soname
`libgomp.so.1` (found by the dynamic loader). Unless OMP_WAIT_POLICY or GOMP_SPINCOUNT
is set, libgomp is loaded with GOMP_SPINCOUNT=200000 (the variable is set only while
loading): idle workers spin long enough to catch the next region of the same model call,
then sleep. See docs/parallelism.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import warnings

# Spin iterations of an idle worker before it sleeps: measured on the light ResNet-50 at
# 2 threads (docs/parallelism.md); shorter spins (20k-100k) end just before the next region.
DEFAULT_SPINCOUNT = 200_000

_state: dict[str, object] = {}  # "path": the loaded library, "error": why it failed


def _candidates() -> list[str]:
    names = []
    env = os.environ.get("IRFORGE_LIBGOMP")
    if env:
        names.append(env)
    found = ctypes.util.find_library("gomp")
    if found:
        names.append(found)
    names += ["libgomp.so.1", "libgomp.so", "libgomp.dylib", "libgomp-1.dll"]
    return names


def load_libgomp() -> str | None:
    """Load libgomp for JIT-compiled code (once); its name, or None if it is not found."""
    if "path" in _state or "error" in _state:
        return _state.get("path")  # type: ignore[return-value]
    import llvmlite.binding as llb

    errors = []
    # libgomp reads its settings when it is loaded. Unless told otherwise, idle workers
    # spin a bounded while, then sleep (see docs/parallelism.md, "Waiting policy").
    bounded = not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
    if bounded:
        os.environ["GOMP_SPINCOUNT"] = str(DEFAULT_SPINCOUNT)
    try:
        for name in _candidates():
            try:
                ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)  # fails fast on a missing file
                llb.load_library_permanently(name)
            except (OSError, RuntimeError) as e:
                errors.append(f"{name}: {e}")
                continue
            _state["path"] = name
            return name
    finally:
        if bounded:
            del os.environ["GOMP_SPINCOUNT"]
    _state["error"] = "; ".join(errors)
    return None


def libgomp_available() -> bool:
    """Whether parallel code can run here (loads libgomp on first use)."""
    return load_libgomp() is not None


def serial_fallback_warning() -> None:
    """Warn (once per process) that parallel regions are off because libgomp is missing."""
    if _state.get("warned"):
        return
    _state["warned"] = True
    warnings.warn(
        "irforge: libgomp (the GNU OpenMP runtime) was not found, so models are compiled "
        f"serially (num_threads=1). Tried: {_state.get('error', '')}. Install libgomp1 or "
        "set IRFORGE_LIBGOMP to its path.",
        RuntimeWarning,
        stacklevel=3,
    )


def require_libgomp() -> None:
    """Load libgomp for code that calls it; RuntimeError saying so if it cannot be."""
    if load_libgomp() is None:
        raise RuntimeError(
            "this module calls GOMP_parallel (parallel loops) but libgomp, the GNU OpenMP "
            f"runtime, was not found ({_state.get('error', '')}); install libgomp1, set "
            "IRFORGE_LIBGOMP to its path, or compile with num_threads=1"
        )
