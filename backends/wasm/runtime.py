"""Running a model compiled to WebAssembly from Python, through wasmtime.

    f = WasmFunction(wasm_bytes, "main", inputs=[("x", (1, 64), "float32")],
                     outputs=[("y", (1, 10), "float32")])
    y = f(x)

The module (see build.py for its ABI) is compiled by Cranelift at opt level "speed" with
SIMD on, and instantiated in a Store of its own. Buffers for the inputs and outputs are
allocated once in the linear memory with the module's `irforge_alloc` (and freed by
`close()`); a call copies the inputs in, runs the entry function with their addresses and
copies the outputs out. The memory is created with `memory_may_move` off (it is reserved
up front and grows in place), so NumPy views of the buffers stay valid for the life of
the instance; `input_arrays` / `output_arrays` expose them, and `run()` calls the entry on
them without copying (for memory-bound models the two copies of `f(x)` cost as much as
the work: ReLU on 1M floats, 0.35 ms vs 0.1 ms natively).

Call overhead: wasmtime-py's `Func.__call__` reads the function type and converts every
argument on every call (tens of microseconds). The argument list here never changes, so
it is built once as raw values and the function is called through wasmtime's C API
`wasmtime_func_call_unchecked` (a few microseconds; the entry's type, all i32 params and
no result, is checked once). If that API is missing from the wasmtime package, the
public call is used.

Errors: inputs are checked as for NativeFunction (ValueError); a buffer the memory cannot
hold raises WasmMemoryError (a MemoryError) with the size asked and the limit; a trap in
the model raises RuntimeError naming the entry (the instance is then made afresh, so a
later call starts from a clean memory).
"""

from __future__ import annotations

import atexit
import ctypes
import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..llvm.runtime import CheckedCall

PAGE = 65536


class WasmMemoryError(MemoryError):
    """The wasm module's linear memory cannot hold what was asked for."""


def wasm_engine() -> Any:
    """The shared wasmtime Engine: Cranelift at opt level "speed", SIMD and relaxed SIMD
    on (a module built without `+relaxed-simd` does not use it), memories that never
    move."""
    engine = _ENGINES.get("default")
    if engine is not None:
        return engine
    import wasmtime

    config = wasmtime.Config()
    config.cranelift_opt_level = "speed"
    config.wasm_simd = True
    config.wasm_bulk_memory = True
    config.wasm_relaxed_simd = True
    config.memory_may_move = False
    if not _ENGINES:
        atexit.register(_close_all)
    engine = _ENGINES["default"] = wasmtime.Engine(config)
    return engine


_ENGINES: dict[str, Any] = {}
_LIVE: weakref.WeakSet = weakref.WeakSet()


def _close_all() -> None:
    """Release the wasmtime objects at exit, while wasmtime's library is still loaded
    (their finalizers fail once the interpreter has torn its modules down)."""
    for f in list(_LIVE):
        f._release()
    for engine in _ENGINES.values():
        engine.close()
    _ENGINES.clear()


def _raw_call():
    """wasmtime's `wasmtime_func_call_unchecked` and its raw value type, or None."""
    try:
        from wasmtime import _ffi as ffi

        return ffi.wasmtime_func_call_unchecked, ffi.wasmtime_val_raw_t, ffi.wasm_trap_t
    except (ImportError, AttributeError):
        return None


class WasmFunction(CheckedCall):
    """The entry function of a wasm module built by `build_wasm`, callable with NumPy
    arrays like NativeFunction.

    `WasmFunction(wasm_bytes, entry, inputs, outputs)`: `inputs`/`outputs` are sequences
    of (name, shape, dtype) in argument order. `f(*arrays)` returns the output array (a
    tuple for several); `f(*arrays, out=...)` writes caller-owned arrays (see
    NativeFunction). Inputs must have the compiled shape and dtype: ValueError otherwise.
    Not thread-safe (one wasmtime Store).

    Raises ImportError (saying `pip install 'irforge[wasm]'`) without wasmtime,
    RuntimeError if the module does not have the irforge ABI or traps, WasmMemoryError
    if the I/O buffers or the model's own buffers do not fit in the memory's maximum.
    """

    def __init__(
        self,
        wasm_bytes: bytes,
        entry: str = "main",
        inputs: Sequence[Any] = (),
        outputs: Sequence[Any] = (),
    ):
        super().__init__(entry, inputs, outputs)
        try:
            import wasmtime
        except ImportError as e:
            raise ImportError(
                "running wasm modules needs wasmtime: pip install 'irforge[wasm]'"
            ) from e
        self.wasm_bytes = bytes(wasm_bytes)
        self._wasmtime = wasmtime
        self._engine = wasm_engine()
        try:
            self._module = wasmtime.Module(self._engine, self.wasm_bytes)
        except wasmtime.WasmtimeError as e:
            raise RuntimeError(
                f"'{entry}': wasmtime rejects the module: {_first_line(e)}"
            ) from None
        imports = [f"{i.module}.{i.name}" for i in self._module.imports]
        if imports:
            raise RuntimeError(
                f"'{entry}': the wasm module imports {', '.join(imports)}; irforge modules "
                "are self-contained"
            )
        self._nbytes = [
            math.prod(s.shape) * s.dtype.itemsize for s in (*self.inputs, *self.outputs)
        ]
        self._instantiate()
        _LIVE.add(self)

    # -- instance --------------------------------------------------------------------------

    def _instantiate(self) -> None:
        wt = self._wasmtime
        self._store = wt.Store(self._engine)
        instance = wt.Instance(self._store, self._module, [])
        exports = instance.exports(self._store)
        self._exports = exports
        try:
            self._memory = exports["memory"]
            self._alloc = exports["irforge_alloc"]
            self._free = exports["irforge_free"]
            self._fn = exports[self.symbol]
        except KeyError as e:
            raise RuntimeError(
                f"the wasm module lacks the export {e}: not built by irforge's build_wasm?"
            ) from None
        self._ptrs = [self._alloc_buffer(n, i) for i, n in enumerate(self._nbytes)]
        self._signed_ptrs = [p - (1 << 32) if p >= 1 << 31 else p for p in self._ptrs]
        base = ctypes.addressof(self._memory.data_ptr(self._store).contents)
        self._base = base
        views = [
            np.ctypeslib.as_array((ctypes.c_ubyte * max(n, 1)).from_address(base + p))[:n]
            for p, n in zip(self._ptrs, self._nbytes)
        ]
        specs = (*self.inputs, *self.outputs)
        self._views = [v.view(s.dtype).reshape(s.shape) for v, s in zip(views, specs)]
        self._in_views = self._views[: len(self.inputs)]
        self._out_views = self._views[len(self.inputs) :]
        self._prepare_call()

    def _limit(self) -> tuple[int, int | None]:
        """(current bytes, maximum bytes or None) of the linear memory."""
        ty = self._memory.type(self._store)
        size = self._memory.size(self._store) * PAGE
        maximum = ty.limits.max
        return size, None if maximum is None else maximum * PAGE

    def _alloc_buffer(self, nbytes: int, i: int) -> int:
        try:
            p = self._alloc(self._store, max(nbytes, 1))
        except self._wasmtime.Trap as e:
            raise RuntimeError(
                f"'{self.symbol}': irforge_alloc trapped: {_first_line(e)}"
            ) from None
        p &= 0xFFFFFFFF  # wasm's i32 comes back signed; addresses may pass 2 GiB
        if p == 0:
            specs = (*self.inputs, *self.outputs)
            size, maximum = self._limit()
            what = "input" if i < len(self.inputs) else "output"
            limit = "no maximum" if maximum is None else f"a maximum of {maximum} bytes"
            raise WasmMemoryError(
                f"'{self.symbol}': the wasm memory cannot hold {nbytes} bytes for {what} "
                f"'{specs[i].name}' (the memory has {size} bytes, {limit}; "
                "build_wasm(max_memory=...) raises it)"
            )
        return p

    def _prepare_call(self) -> None:
        raw = _raw_call()
        self._raw = None
        if raw is None:
            return
        call, val_raw_t, trap_t = raw
        ty = self._fn.type(self._store)
        i32 = self._wasmtime.ValType.i32()
        n = len(self._ptrs)
        if ty.results or len(ty.params) != n or any(p != i32 for p in ty.params):
            return  # not the irforge ABI: let the public call path check the types
        args = (val_raw_t * max(n, 1))()
        for k, p in enumerate(self._signed_ptrs):
            args[k].i32 = p
        self._raw_template = bytes(args)
        self._raw_args = args
        self._trap = ctypes.POINTER(trap_t)()
        self._raw = (call, self._store._context(), ctypes.byref(self._fn._func), n)

    def _release(self) -> None:
        """Drop the Store, instance and module now (at exit)."""
        self._raw = None
        self._ptrs = []
        for name in ("_store", "_module"):
            obj = self.__dict__.pop(name, None)
            if obj is not None:
                obj.close()

    def close(self) -> None:
        """Free the I/O buffers (the instance's memory goes with the object)."""
        if getattr(self, "_ptrs", None):
            for p in self._signed_ptrs:
                self._free(self._store, p)
            self._ptrs = []
            self._raw = None

    # -- calls -----------------------------------------------------------------------------

    def _run(self) -> None:
        raw = self._raw
        if raw is None:
            try:
                self._fn(self._store, *self._signed_ptrs)
            except (self._wasmtime.Trap, self._wasmtime.WasmtimeError) as e:
                self._trapped(e)
            return
        call, ctx, func, n = raw
        ctypes.memmove(self._raw_args, self._raw_template, len(self._raw_template))
        trap = self._trap
        error = call(ctx, func, self._raw_args, n, ctypes.byref(trap))
        if error:
            self._trapped(self._wasmtime.WasmtimeError._from_ptr(error))
        if trap:
            t = self._wasmtime.Trap._from_ptr(trap)
            self._trap = type(trap)()
            self._trapped(t)

    def _trapped(self, e: Exception) -> None:
        message = _first_line(e)
        size, maximum = self._limit()
        failed = self._failed_alloc()
        self._instantiate()  # a clean memory for the next call
        if failed:
            limit = "no maximum" if maximum is None else f"a maximum of {maximum} bytes"
            raise WasmMemoryError(
                f"'{self.symbol}': the model ran out of wasm memory: it asked for {failed} "
                f"bytes (the memory has {size} bytes, {limit}; build_wasm(max_memory=...) "
                "raises it)"
            )
        raise RuntimeError(f"wasm function '{self.symbol}' trapped: {message}")

    def _failed_alloc(self) -> int:
        """Bytes of the model's last failed allocation (0: none, or an older module)."""
        f = self._exports.get("irforge_failed_alloc")
        try:
            return int(f(self._store)) if f is not None else 0
        except (self._wasmtime.Trap, self._wasmtime.WasmtimeError):
            return 0

    @property
    def input_arrays(self) -> tuple[np.ndarray, ...]:
        """NumPy views of the input buffers inside the wasm memory (write inputs here and
        call `run()` to skip the copy `f(x)` makes; valid until `close()` or a trap)."""
        return tuple(self._in_views)

    @property
    def output_arrays(self) -> tuple[np.ndarray, ...]:
        """NumPy views of the output buffers inside the wasm memory (what `run()` wrote;
        overwritten by the next call)."""
        return tuple(self._out_views)

    def run(self) -> None:
        """Run the entry on the current contents of `input_arrays`, writing
        `output_arrays` (no checks, no copies: the zero-copy path)."""
        if self._raw is None and not self._ptrs:
            raise RuntimeError(f"'{self.symbol}': the function was closed")
        self._run()

    def __call__(self, *arrays: Any, out: Any = None):
        if self._raw is None and not self._ptrs:
            raise RuntimeError(f"'{self.symbol}': the function was closed")
        if len(arrays) != len(self._checks):
            raise self._arity_error(arrays)
        for i, (x, (shape, dtype)) in enumerate(zip(arrays, self._checks)):
            if type(x) is not np.ndarray or x.dtype != dtype or x.shape != shape:
                x = self._coerce(i, x)
            self._in_views[i][...] = x
        if out is not None:
            outs = self._check_out(out, ())
            self._run()
            for o, v in zip(outs, self._out_views):
                o[...] = v
            return outs[0] if self._single else tuple(outs)
        self._run()
        if self._single:
            return self._out_views[0].copy()
        return tuple(v.copy() for v in self._out_views)


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
