"""The code-generation target: what the passes may assume about the machine the code runs on.

A `Target` is made once, at the edge (the Python API, the CLIs), from the host, the user's
flags and the environment, and attached to the module as the attribute `irforge.target`
(as MLIR keeps `llvm.target_triple` and DLTI specs on the module). Passes read it with
`Target.of(op)` and never probe the host or read the environment themselves, so the same
module and target lower the same way on any machine.

    #  irforge.target = {kind = "native", cpu = "skylake-avx512", vector_bits = 512 : i64,
    #                    num_threads = 2 : i64}
    target = host_target(num_threads=2)
    target.attach(module)
    ...
    Target.of(op).vector_bits        # in a pass: 512

A module without the attribute lowers for `Target()`: generic native code, 128-bit vectors
(SSE2 / NEON / wasm simd128: what every x86-64 and AArch64 CPU has), one thread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Operation

ATTR = "irforge.target"
KINDS = ("native", "wasm")
NUM_THREADS_ENV = "IRFORGE_NUM_THREADS"


@dataclass(frozen=True)
class Target:
    """What code is generated for.

    - `kind`: "native" (the host's LLVM target, run in-process or saved as a shared
      library) or "wasm" (wasm32 with simd128).
    - `cpu`: the LLVM CPU name ("" for the target's generic CPU), e.g. "x86-64-v3".
    - `features`: the LLVM feature string ("+avx2,+fma,..."; "" for the CPU's own); kept
      for the backend, not written into the module attribute.
    - `vector_bits`: bits of the widest SIMD register for f32 arithmetic (128, 256, 512):
      what schedules, layouts and microkernels size their vectors by.
    - `num_threads`: threads big parallel loops run on (1: serial code).

    Raises ValueError for an unknown kind, a vector width that is not a power of two
    >= 128, or a thread count below 1 (or above 1 for wasm).
    """

    kind: str = "native"
    cpu: str = ""
    features: str = ""
    vector_bits: int = 128
    num_threads: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown target kind '{self.kind}'; available: {', '.join(KINDS)}")
        bits = self.vector_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 128 or bits & (bits - 1):
            raise ValueError(f"target vector_bits must be a power of two >= 128, got {bits!r}")
        check_num_threads(self.num_threads)
        if self.kind == "wasm" and self.num_threads != 1:
            raise ValueError(
                f"target 'wasm' runs on one thread, got num_threads={self.num_threads}"
            )

    def with_threads(self, num_threads: int) -> Target:
        """This target with another thread count."""
        return replace(self, num_threads=num_threads)

    # ------------------------------------------------------------------ the module attribute

    def to_attr(self) -> DictionaryAttr:
        return DictionaryAttr(
            {
                "kind": StringAttr(self.kind),
                "cpu": StringAttr(self.cpu),
                "vector_bits": IntegerAttr(self.vector_bits, i64),
                "num_threads": IntegerAttr(self.num_threads, i64),
            }
        )

    @staticmethod
    def from_attr(attr: DictionaryAttr) -> Target:
        """The Target an `irforge.target` attribute describes; ValueError if malformed."""
        fields = attr.data
        try:
            return Target(
                kind=_str(fields, "kind", "native"),
                cpu=_str(fields, "cpu", ""),
                vector_bits=_int(fields, "vector_bits", 128),
                num_threads=_int(fields, "num_threads", 1),
            )
        except ValueError as e:
            raise ValueError(f"bad '{ATTR}' attribute {attr}: {e}") from None

    def attach(self, module: ModuleOp) -> None:
        """Record this target on `module` (replacing any earlier one)."""
        module.attributes[ATTR] = self.to_attr()

    @staticmethod
    def of(op: Operation) -> Target:
        """The target recorded on the module around `op` (or on `op` itself, if it is the
        module), else the default `Target()`. Raises ValueError for a malformed attribute.
        """
        top: Operation | None = op
        while top is not None and not isinstance(top, ModuleOp):
            top = top.parent_op()
        if top is None:
            return Target()
        attr = top.attributes.get(ATTR)
        if attr is None:
            return Target()
        if not isinstance(attr, DictionaryAttr):
            raise ValueError(f"'{ATTR}' must be a dictionary attribute, got {attr}")
        return Target.from_attr(attr)


def _str(fields: Mapping, key: str, default: str) -> str:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, StringAttr):
        raise ValueError(f"'{key}' must be a string")
    return value.data


def _int(fields: Mapping, key: str, default: int) -> int:
    value = fields.get(key)
    if value is None:
        return default
    if not isinstance(value, IntegerAttr):
        raise ValueError(f"'{key}' must be an integer")
    return value.value.data


def check_num_threads(value: object, where: str = "num_threads") -> int:
    """`value` as a thread count; ValueError naming `where` unless it is an integer >= 1."""
    n = 0
    if not isinstance(value, bool):
        try:
            n = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            pass
    if n < 1:
        raise ValueError(f"{where} must be a positive integer (a thread count), got {value!r}")
    return n


# ---------------------------------------------------------------------------- the host


def host_num_threads(environ: Mapping[str, str] | None = None) -> int:
    """IRFORGE_NUM_THREADS if set, else the cores this process may run on (>= 1).

    Raises ValueError naming the variable if it is not a positive integer.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(NUM_THREADS_ENV)
    if text is not None and text.strip():
        return check_num_threads(text, NUM_THREADS_ENV)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def host_target(
    cpu: str | None = None,
    num_threads: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The native target for this machine: its CPU and features (or the named `cpu`
    with that CPU's own features), the vector width they allow, and `num_threads`
    (default: IRFORGE_NUM_THREADS, else the cores available).

    Raises ValueError for a bad thread count (argument or variable).
    """
    from .llvm.jit import host_target as host_cpu
    from .llvm.jit import target_vector_bits

    if cpu in (None, "host"):
        name, features = host_cpu()
    else:
        name, features = cpu, ""
    threads = host_num_threads(environ) if num_threads is None else num_threads
    return Target(
        kind="native",
        cpu=name,
        features=features,
        vector_bits=target_vector_bits(cpu),
        num_threads=check_num_threads(threads),
    )


def wasm_target() -> Target:
    """wasm32 with simd128: 128-bit vectors, one thread."""
    return Target(kind="wasm", vector_bits=128, num_threads=1)
