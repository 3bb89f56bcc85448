"""Calling compiled functions with NumPy arrays.

The ABI of an irforge entry function is `void f(ptr in0, ..., ptr inN, ptr out0, ...)`:
one bare pointer per buffer, inputs first, then outputs, each a C-contiguous array of the
static shape and dtype the function was compiled for. `NativeFunction` checks every input
before the call (so that bad input raises ValueError instead of crashing), allocates the
outputs with NumPy, and calls the function with the GIL released.

Call overhead: reading `arr.ctypes.data` costs ~0.8 us per array, more than the call. So
the call goes through a small JIT-compiled shim per arity, `shim(f, obj0, obj1, ...)`, that
reads each array's data pointer straight from the ndarray object (the `data` field that
follows the object header, numpy's public C ABI behind PyArray_DATA) and calls `f`. The
field's offset is checked against `arr.ctypes.data` once; if it does not match (another
Python implementation), pointers are taken the slow way.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np


class TensorSpec(NamedTuple):
    """Name, static shape and NumPy dtype of one argument of a compiled function."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


def as_spec(spec: Any) -> TensorSpec:
    """A TensorSpec from a TensorSpec or a (name, shape, dtype) triple."""
    name, shape, dtype = spec
    return TensorSpec(str(name), tuple(int(d) for d in shape), np.dtype(dtype))


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"{tuple(shape)} {dtype}"


# -- the fast call path --------------------------------------------------------------------

_DATA_OFFSET: int | None | bool = False  # False: not probed yet; None: unavailable
_SHIMS: dict[int, tuple[Any, Any]] = {}


def _data_offset() -> int | None:
    """Offset of the data pointer in an ndarray object, if `id()` is an address and the
    layout is the one numpy documents; None otherwise."""
    global _DATA_OFFSET
    if _DATA_OFFSET is not False:
        return _DATA_OFFSET
    _DATA_OFFSET = None
    probes = [np.empty(3, np.float32), np.zeros((2, 2)), np.arange(5)[1:]]
    for off in (ctypes.sizeof(ctypes.c_void_p) * 2, ctypes.sizeof(ctypes.c_void_p) * 3):
        try:
            ok = all(
                ctypes.c_void_p.from_address(id(a) + off).value == a.ctypes.data for a in probes
            )
        except (ValueError, OverflowError):
            ok = False
        if ok:
            _DATA_OFFSET = off
            break
    return _DATA_OFFSET


def _shim(arity: int):
    """A ctypes function `shim(f, obj_0, ..., obj_{arity-1})`, compiled once per arity."""
    hit = _SHIMS.get(arity)
    if hit is not None:
        return hit[1]
    from .jit import jit_compile

    off = _data_offset()
    params = ", ".join(["ptr %f"] + [f"ptr %o{i}" for i in range(arity)])
    body = []
    for i in range(arity):
        body.append(f"  %p{i} = getelementptr inbounds i8, ptr %o{i}, i64 {off}")
        body.append(f"  %d{i} = load ptr, ptr %p{i}, align 8")
    args = ", ".join(f"ptr %d{i}" for i in range(arity))
    text = (
        f"define void @irforge_shim({params}) nounwind {{\n"
        + "\n".join(body)
        + f"\n  call void %f({args})\n  ret void\n}}\n"
    )
    jm = jit_compile(text, opt_level=1)
    cfunc = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * (arity + 1))(jm.address("irforge_shim"))
    _SHIMS[arity] = (jm, cfunc)
    return cfunc


class CheckedCall:
    """What every compiled-function wrapper checks before running code: the inputs
    (arity, shape, dtype, layout) and the `out=` arrays; `NativeFunction` and the wasm
    backend's `WasmFunction` share it. `symbol` names the function in messages;
    `inputs`/`outputs` are sequences of (name, shape, dtype)."""

    def __init__(self, symbol: str, inputs: Sequence[Any], outputs: Sequence[Any]):
        self.symbol = symbol
        self.inputs = tuple(as_spec(s) for s in inputs)
        self.outputs = tuple(as_spec(s) for s in outputs)
        if not self.outputs:
            raise ValueError(f"'{symbol}': a compiled function needs at least one output")
        self._checks = tuple((s.shape, s.dtype) for s in self.inputs)
        self._outs = tuple((s.shape, s.dtype) for s in self.outputs)
        self._single = len(self.outputs) == 1

    def __repr__(self) -> str:
        def fmt(specs):
            return ", ".join(f"{s.name}: {_describe(s.shape, s.dtype)}" for s in specs)

        kind = type(self).__name__
        return f"{kind} {self.symbol}({fmt(self.inputs)}) -> ({fmt(self.outputs)})"

    def _arity_error(self, arrays: tuple[Any, ...]) -> ValueError:
        names = ", ".join(s.name for s in self.inputs)
        return ValueError(
            f"'{self.symbol}' expects {len(self._checks)} input"
            f"{'s' if len(self._checks) != 1 else ''} ({names}), got {len(arrays)}"
        )

    def _bad(self, i: int, x: Any) -> ValueError:
        spec = self.inputs[i]
        got = _describe(np.shape(x), getattr(x, "dtype", type(x).__name__))
        return ValueError(
            f"input '{spec.name}' (#{i}): expected shape "
            f"{_describe(spec.shape, spec.dtype)}, got {got}"
        )

    def _coerce(self, i: int, x: Any) -> np.ndarray:
        shape, dtype = self._checks[i]
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x, dtype=dtype)
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"input '{self.inputs[i].name}' (#{i}): cannot convert "
                    f"{type(x).__name__} to a {dtype} array: {e}"
                ) from None
        if x.shape != shape or x.dtype != dtype:
            raise self._bad(i, x)
        return np.ascontiguousarray(x) if x.flags.aligned else x.copy(order="C")

    def _prepare(self, arrays: tuple[Any, ...]) -> list[np.ndarray]:
        """The slow path: convert, copy or reject each input."""
        out = []
        for i, x in enumerate(arrays):
            shape, dtype = self._checks[i]
            if type(x) is np.ndarray and x.shape == shape and x.dtype == dtype:
                f = x.flags
                if f.c_contiguous and f.aligned:
                    out.append(x)
                    continue
            out.append(self._coerce(i, x))
        return out

    def _check_out(self, out: Any, ins: Sequence[np.ndarray]) -> list[np.ndarray]:
        outs = [out] if isinstance(out, np.ndarray) else list(out)
        if len(outs) != len(self._outs):
            raise ValueError(
                f"'{self.symbol}': out= needs {len(self._outs)} array(s), got {len(outs)}"
            )
        for spec, (shape, dtype), o in zip(self.outputs, self._outs, outs):
            where = f"out= array for output '{spec.name}'"
            if not isinstance(o, np.ndarray) or o.shape != shape or o.dtype != dtype:
                got = _describe(np.shape(o), getattr(o, "dtype", type(o).__name__))
                raise ValueError(f"{where}: expected {_describe(shape, dtype)}, got {got}")
            f = o.flags
            if not (f.c_contiguous and f.aligned and f.writeable):
                raise ValueError(f"{where} must be C-contiguous, aligned and writeable")
            if any(np.may_share_memory(o, x) for x in ins):
                raise ValueError(f"{where} overlaps an input")
        return outs


class NativeFunction(CheckedCall):
    """A compiled entry function, callable with NumPy arrays.

    `NativeFunction(jit_module, symbol, inputs, outputs)`: `jit_module` is what
    `jit.jit_compile` returns (kept alive by this object), `symbol` the function name,
    `inputs`/`outputs` sequences of (name, shape, dtype).

    `f(*arrays)` returns the output array, or a tuple of them when there are several.
    Inputs must have exactly the compiled shape and dtype (ndarrays are not cast; lists and
    scalars are converted to the expected dtype); non-contiguous inputs are copied. Raises
    ValueError, naming the input, the expected and the received shape and dtype, before any
    native code runs.

    `f(*arrays, out=buffers)` writes into caller-owned output arrays instead (one array, or
    a tuple with one per output: exact shape and dtype, C-contiguous, aligned, writeable, not
    overlapping an input) and returns them; reusing them across calls avoids the page faults
    of fresh large allocations (a new 64 MB output costs about as much as computing it).
    """

    def __init__(
        self,
        jit_module: Any,
        symbol: str,
        inputs: Sequence[Any],
        outputs: Sequence[Any],
    ):
        super().__init__(symbol, inputs, outputs)
        self.jit_module = jit_module
        self.address = jit_module.address(symbol)
        n = len(self.inputs) + len(self.outputs)
        if _data_offset() is not None:
            self._shim = _shim(n)
            self._direct = None
        else:
            self._shim = None
            self._direct = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * n)(self.address)

    def __call__(self, *arrays: Any, out: Any = None):
        if len(arrays) != len(self._checks):
            raise self._arity_error(arrays)
        ins = arrays
        for x, (shape, dtype) in zip(arrays, self._checks):
            if type(x) is not np.ndarray or x.dtype != dtype or x.shape != shape:
                ins = self._prepare(arrays)
                break
            f = x.flags
            if not (f.c_contiguous and f.aligned):
                ins = self._prepare(arrays)
                break
        if out is not None:
            outs = self._check_out(out, ins)
            if self._shim is not None:
                self._shim(self.address, *map(id, ins), *map(id, outs))
            else:
                self._direct(*[a.ctypes.data for a in ins], *[a.ctypes.data for a in outs])
            return outs[0] if self._single else tuple(outs)
        if self._single:
            out = np.empty(*self._outs[0])
            if self._shim is not None:
                self._shim(self.address, *map(id, ins), id(out))
            else:
                self._direct(*[a.ctypes.data for a in ins], out.ctypes.data)
            return out
        outs = [np.empty(shape, dtype) for shape, dtype in self._outs]
        if self._shim is not None:
            self._shim(self.address, *map(id, ins), *map(id, outs))
        else:
            self._direct(*[a.ctypes.data for a in ins], *[a.ctypes.data for a in outs])
        return tuple(outs)
