"""Optimize LLVM IR for a CPU and make native code: JIT (MCJIT), object files, assembly.

Every entry point takes an llvm-dialect `ModuleOp`, an llvmlite `ir.Module` or LLVM IR
text. The target defaults to the host: `get_host_cpu_name()` and
`get_host_cpu_features().flatten()`; `cpu=` and `features=` override them (for example
`cpu="x86-64-v3", features=""`). Optimization uses LLVM's new pass manager at O`opt_level`
(0-3) with loop and SLP vectorization on from O2.

Large constants in the JIT: `jit_compile` translates every dense global of more than
`external_threshold` bytes (default 64 KiB; a model's weights) as an external declaration
and keeps its bytes in a 64-byte-aligned NumPy buffer owned by the `JITModule`; MCJIT's
global mapping (`ExecutionEngine.add_global_mapping`, per engine) resolves the symbol to
that buffer before the object is finalized. The weights then never go through LLVM IR
text, the IR parser, the optimizer or the object file. Smaller globals stay in the module,
where LLVM can fold them. (MCJIT resolves an unmapped external global to address 0
without an error, so every mapping is checked after finalization. LLJIT would be the same
with `JITLibraryBuilder.import_symbol`, and fails to link an unresolved one. The process-
wide `llvmlite.binding.add_symbol` is not used: weight names repeat across modules.)
`emit_object`, `emit_assembly` and `emit_llvm_ir` embed everything unless given an
`external_data` mapping to fill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import llvmlite.binding as llb

_ready = False


def _binding():
    """llvmlite.binding, with the native target initialized once."""
    global _ready
    import llvmlite.binding as llb

    if not _ready:
        llb.initialize_native_target()
        llb.initialize_native_asmprinter()
        _ready = True
    return llb


def host_target() -> tuple[str, str]:
    """(cpu name, feature string) of this machine, as LLVM names them."""
    llb = _binding()
    try:
        features = llb.get_host_cpu_features().flatten()
    except RuntimeError:  # not available on every platform
        features = ""
    return llb.get_host_cpu_name(), features


def target_machine(
    cpu: str | None = None,
    features: str | None = None,
    opt_level: int = 3,
    *,
    triple: str | None = None,
    jit: bool = False,
) -> llb.TargetMachine:
    """An LLVM TargetMachine (host CPU and features unless given; host triple unless given)."""
    llb = _binding()
    if cpu is None or features is None:
        host_cpu, host_features = host_target() if triple is None else ("", "")
        cpu = host_cpu if cpu is None else cpu
        features = host_features if features is None else features
    target = llb.Target.from_triple(triple or llb.get_process_triple())
    return target.create_target_machine(
        cpu=cpu,
        features=features,
        opt=opt_level,
        reloc="pic" if not jit else "default",
        codemodel="jitdefault" if jit else "default",
    )


DEFAULT_EXTERNAL_THRESHOLD = 65536
"""Dense globals larger than this many bytes are kept out of JIT-compiled modules."""


def _to_text(
    module: Any,
    tm: llb.TargetMachine,
    external_threshold: int = 0,
    external_data: dict[str, Any] | None = None,
) -> str:
    """LLVM IR text of `module`. For an llvm-dialect ModuleOp, dense globals larger than
    `external_threshold` bytes (when > 0) become declarations and their bytes go to
    `external_data`; IR text and llvmlite modules are taken as they are."""
    from llvmlite import ir

    if isinstance(module, str):
        return module
    if not isinstance(module, ir.Module):
        from .translate import translate_module

        if external_data is None:
            external_threshold = 0
        module = translate_module(
            module,
            triple=tm.triple,
            external_threshold=external_threshold,
            external_data=external_data,
        )
    return str(module)


def parse_and_optimize(
    module: Any,
    tm: llb.TargetMachine,
    opt_level: int = 3,
    *,
    external_data: dict[str, Any] | None = None,
    external_threshold: int = DEFAULT_EXTERNAL_THRESHOLD,
) -> llb.ModuleRef:
    """Parse (or translate) `module`, verify it, and run the O`opt_level` pipeline on it.

    With an `external_data` dict, dense globals of more than `external_threshold` bytes
    of an llvm-dialect module are left out of the LLVM module (external declarations) and
    their bytes stored in the dict by name (see `translate.translate_module`).

    Raises RuntimeError with LLVM's message if the IR does not parse or verify.
    """
    llb = _binding()
    mod = llb.parse_assembly(_to_text(module, tm, external_threshold, external_data))
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    if opt_level > 0:
        pto = llb.create_pipeline_tuning_options(speed_level=opt_level)
        pto.loop_vectorization = opt_level >= 2
        pto.slp_vectorization = opt_level >= 2
        pb = llb.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
    return mod


def emit_llvm_ir(
    module: Any,
    opt_level: int = 0,
    cpu: str | None = None,
    features: str | None = None,
    *,
    external_data: dict[str, Any] | None = None,
    external_threshold: int = DEFAULT_EXTERNAL_THRESHOLD,
) -> str:
    """LLVM IR text of `module`, optimized for the target when opt_level > 0.

    Every global keeps its initializer unless `external_data` is given (a dict, filled
    with the bytes of the globals left out; see `parse_and_optimize`).
    """
    ext = {"external_data": external_data, "external_threshold": external_threshold}
    if opt_level == 0:
        tm = target_machine(cpu, features, 0)
        return _to_text(module, tm, external_threshold, external_data)
    tm = target_machine(cpu, features, opt_level)
    return str(parse_and_optimize(module, tm, opt_level, **ext))


def _optimized(module, opt_level, cpu, features, triple, external_data, external_threshold):
    """The target machine and `module` optimized for it (emit_object / emit_assembly)."""
    tm = target_machine(cpu, features, opt_level, triple=triple)
    mod = parse_and_optimize(
        module,
        tm,
        opt_level,
        external_data=external_data,
        external_threshold=external_threshold,
    )
    return tm, mod


def emit_object(
    module: Any,
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    triple: str | None = None,
    *,
    external_data: dict[str, Any] | None = None,
    external_threshold: int = DEFAULT_EXTERNAL_THRESHOLD,
) -> bytes:
    """A relocatable (PIC) object file of `module` for the target (host by default).

    Self-contained unless `external_data` is given: then dense globals of more than
    `external_threshold` bytes become undefined symbols whose bytes are put in the dict.
    """
    tm, mod = _optimized(
        module, opt_level, cpu, features, triple, external_data, external_threshold
    )
    return tm.emit_object(mod)


def emit_assembly(
    module: Any,
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    triple: str | None = None,
    *,
    external_data: dict[str, Any] | None = None,
    external_threshold: int = DEFAULT_EXTERNAL_THRESHOLD,
) -> str:
    """Target assembly of `module` (host by default); `external_data` as for emit_object."""
    tm, mod = _optimized(
        module, opt_level, cpu, features, triple, external_data, external_threshold
    )
    return tm.emit_assembly(mod)


@dataclass
class JITModule:
    """Native code for a module, loaded in this process. Keep it alive while any function
    address taken from it may be called (NativeFunction holds it).

    `external_data` maps each global left out of the LLVM module to the buffer the code
    reads it from (alive as long as this object); `module` is the optimized LLVM module
    (owned by the engine; `str(jm.module)` is its IR).
    """

    engine: Any
    target_machine: Any
    timings: dict[str, float] = field(default_factory=dict)
    external_data: dict[str, Any] = field(default_factory=dict)
    module: Any = None

    def address(self, symbol: str) -> int:
        """Address of a function; KeyError if the module has no such symbol."""
        addr = self.engine.get_function_address(symbol)
        if not addr:
            raise KeyError(f"no function '{symbol}' in the compiled module")
        return addr


def jit_compile(
    module: Any,
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    *,
    external_threshold: int = DEFAULT_EXTERNAL_THRESHOLD,
) -> JITModule:
    """Translate, optimize and JIT-compile `module` with MCJIT for the host.

    Dense globals of an llvm-dialect module larger than `external_threshold` bytes stay
    out of the LLVM module, in buffers owned by the result (0: keep all in the module).
    `timings` on the result holds seconds spent in translate, optimize and codegen.
    External symbols (malloc, free, libm) resolve against the running process; libgomp
    is loaded into it first when the module has parallel regions (RuntimeError if it is
    not found).
    """
    t0 = time.perf_counter()
    tm = target_machine(cpu, features, opt_level, jit=True)
    external: dict[str, Any] = {}
    text = _to_text(module, tm, external_threshold, external)
    if "GOMP_parallel" in text:  # parallel loops: the OpenMP runtime must be loaded
        from .openmp import require_libgomp

        require_libgomp()
    t1 = time.perf_counter()
    mod = parse_and_optimize(text, tm, opt_level)
    del text
    t2 = time.perf_counter()
    engine = _binding().create_mcjit_compiler(mod, tm)
    mapped: dict[str, int] = {}
    for name, buf in external.items():
        try:
            gv = mod.get_global_variable(name)
        except NameError:  # no longer used after optimization
            continue
        addr = buf.ctypes.data
        engine.add_global_mapping(gv, addr)
        mapped[name] = addr
    engine.finalize_object()
    for name, addr in mapped.items():
        # MCJIT would silently resolve a missing mapping to address 0.
        if engine.get_global_value_address(name) != addr:
            raise RuntimeError(f"the JIT did not map global '{name}' to its buffer")
    t3 = time.perf_counter()
    timings = {"translate": t1 - t0, "optimize": t2 - t1, "codegen": t3 - t2}
    kept = {name: external[name] for name in mapped}  # drop buffers of unused globals
    return JITModule(engine, tm, timings, kept, mod)
