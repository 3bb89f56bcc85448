"""Optimize LLVM IR for a CPU and make native code: JIT (MCJIT), object files, assembly.

Every entry point takes an llvm-dialect `ModuleOp`, an llvmlite `ir.Module` or LLVM IR
text. The target defaults to the host: `get_host_cpu_name()` and
`get_host_cpu_features().flatten()`; `cpu=` and `features=` override them (for example
`cpu="x86-64-v3", features=""`). Optimization uses LLVM's new pass manager at O`opt_level`
(0-3) with loop and SLP vectorization on from O2.
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


def _to_text(module: Any, tm: llb.TargetMachine) -> str:
    from llvmlite import ir

    if isinstance(module, str):
        return module
    if not isinstance(module, ir.Module):
        from irforge.backends.llvm.translate import translate_module

        module = translate_module(module, triple=tm.triple)
    return str(module)


def parse_and_optimize(module: Any, tm: llb.TargetMachine, opt_level: int = 3) -> llb.ModuleRef:
    """Parse (or translate) `module`, verify it, and run the O`opt_level` pipeline on it.

    Raises RuntimeError with LLVM's message if the IR does not parse or verify.
    """
    llb = _binding()
    mod = llb.parse_assembly(_to_text(module, tm))
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
    module: Any, opt_level: int = 0, cpu: str | None = None, features: str | None = None
) -> str:
    """LLVM IR text of `module`, optimized for the target when opt_level > 0."""
    if opt_level == 0:
        tm = target_machine(cpu, features, 0)
        return _to_text(module, tm)
    tm = target_machine(cpu, features, opt_level)
    return str(parse_and_optimize(module, tm, opt_level))


def emit_object(
    module: Any,
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    triple: str | None = None,
) -> bytes:
    """A relocatable (PIC) object file of `module` for the target (host by default)."""
    tm = target_machine(cpu, features, opt_level, triple=triple)
    return tm.emit_object(parse_and_optimize(module, tm, opt_level))


def emit_assembly(
    module: Any,
    opt_level: int = 3,
    cpu: str | None = None,
    features: str | None = None,
    triple: str | None = None,
) -> str:
    """Target assembly of `module` (host by default)."""
    tm = target_machine(cpu, features, opt_level, triple=triple)
    return tm.emit_assembly(parse_and_optimize(module, tm, opt_level))


@dataclass
class JITModule:
    """Native code for a module, loaded in this process. Keep it alive while any function
    address taken from it may be called (NativeFunction holds it)."""

    engine: Any
    target_machine: Any
    timings: dict[str, float] = field(default_factory=dict)

    def address(self, symbol: str) -> int:
        """Address of a function; KeyError if the module has no such symbol."""
        addr = self.engine.get_function_address(symbol)
        if not addr:
            raise KeyError(f"no function '{symbol}' in the compiled module")
        return addr


def jit_compile(
    module: Any, opt_level: int = 3, cpu: str | None = None, features: str | None = None
) -> JITModule:
    """Translate, optimize and JIT-compile `module` with MCJIT for the host.

    `timings` on the result holds seconds spent in translate, optimize and codegen.
    External symbols (malloc, free, libm) resolve against the running process.
    """
    t0 = time.perf_counter()
    tm = target_machine(cpu, features, opt_level, jit=True)
    text = _to_text(module, tm)
    t1 = time.perf_counter()
    mod = parse_and_optimize(text, tm, opt_level)
    t2 = time.perf_counter()
    engine = _binding().create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    t3 = time.perf_counter()
    return JITModule(engine, tm, {"translate": t1 - t0, "optimize": t2 - t1, "codegen": t3 - t2})
