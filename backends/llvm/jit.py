"""Optimize LLVM IR for a CPU and make native code: JIT (MCJIT), object files, assembly.

Every entry point takes an llvm-dialect `ModuleOp`, an llvmlite `ir.Module` or LLVM IR
text. The target defaults to the host: `get_host_cpu_name()` and
`get_host_cpu_features().flatten()`; `cpu=` and `features=` override them (a named CPU
without `features` gets that CPU's own features: `cpu="x86-64-v2"` makes SSE4.2 code; the
`triple=` of emit_object / emit_assembly / target_machine picks another target, such as
`wasm32-unknown-unknown`). `target_vector_bits` says how wide the target's SIMD registers
are, for the schedules. Optimization uses LLVM's new pass manager at O`opt_level` (0-3)
with loop and SLP vectorization on from O2.

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

import functools
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


_all_ready = False


def _all_targets():
    """llvmlite.binding with every target LLVM was built with (wasm32, ...) initialized."""
    global _all_ready
    llb = _binding()
    if not _all_ready:
        llb.initialize_all_targets()
        llb.initialize_all_asmprinters()
        _all_ready = True
    return llb


def host_target() -> tuple[str, str]:
    """(cpu name, feature string) of this machine, as LLVM names them."""
    llb = _binding()
    try:
        features = llb.get_host_cpu_features().flatten()
    except RuntimeError:  # not available on every platform
        features = ""
    return llb.get_host_cpu_name(), features


def _resolve_cpu(cpu: str | None, features: str | None, triple: str | None) -> tuple[str, str]:
    """(cpu, features) to give LLVM: the host's for no cpu (or "host") on the host
    triple; a named CPU's own defaults ("") when only the cpu is given."""
    if triple is None and cpu in (None, "host"):
        host_cpu, host_features = host_target()
        return host_cpu, host_features if features is None else features
    return ("" if cpu in (None, "host") else cpu), (features or "")


_X86_LEVEL_BITS = {"x86-64": 128, "x86-64-v2": 128, "x86-64-v3": 256, "x86-64-v4": 512}


@functools.cache
def target_vector_bits(
    cpu: str | None = None, features: str | None = None, triple: str | None = None
) -> int:
    """Bits of the widest SIMD register the code for this target may use for f32
    arithmetic: what schedules and microkernels size their vectors by.

    wasm32/wasm64: 128 (simd128). Otherwise the features decide, the host's when no cpu
    is named (+avx512f: 512, +avx: 256; of "+x" and "-x" the later wins); a named CPU
    without features by the x86-64 levels (x86-64, v2: 128; v3: 256; v4: 512), or by
    compiling a 16 x f32 addition for it and looking for zmm / ymm registers. Non-x86
    targets: 128.
    """
    if triple is not None and triple.startswith("wasm"):
        return 128
    cpu, features = _resolve_cpu(cpu, features, triple)
    flags = {f[1:]: f[0] == "+" for f in features.split(",") if f[:1] in "+-" and f[1:]}
    if flags.get("avx512f"):
        return 512
    if flags.get("avx"):
        return 256
    if cpu in _X86_LEVEL_BITS and not flags:
        return _X86_LEVEL_BITS[cpu]
    return _probe_vector_bits(cpu, features, triple)


_PROBE = """define void @probe(ptr %a, ptr %b) {
  %x = load <16 x float>, ptr %a, align 64
  %y = load <16 x float>, ptr %b, align 64
  %z = fadd <16 x float> %x, %y
  store <16 x float> %z, ptr %a, align 64
  ret void
}
"""


def _probe_vector_bits(cpu: str, features: str, triple: str | None) -> int:
    """128/256/512 from the registers LLVM uses for a 16 x f32 addition (x86 only)."""
    llb = _binding()
    full = triple or llb.get_process_triple()
    if not full.startswith(("x86_64", "i386", "i686")):
        return 128
    tm = target_machine(cpu, features, 2, triple=triple)
    mod = llb.parse_assembly(_PROBE)
    mod.triple = tm.triple
    asm = tm.emit_assembly(mod)
    return 512 if "zmm" in asm else 256 if "ymm" in asm else 128


def target_machine(
    cpu: str | None = None,
    features: str | None = None,
    opt_level: int = 3,
    *,
    triple: str | None = None,
    jit: bool = False,
) -> llb.TargetMachine:
    """An LLVM TargetMachine for `triple` (default: the host's).

    With no `cpu` (or `cpu="host"`) on the host triple, the host CPU and, unless
    `features` is given, the host's features; a named `cpu` without `features` gets that
    CPU's own default features (`cpu="x86-64-v2"` makes SSE4.2 code, not the host's AVX).
    """
    llb = _binding() if triple is None else _all_targets()
    cpu, features = _resolve_cpu(cpu, features, triple)
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


def llvm_ir_text(
    module: Any,
    tm: llb.TargetMachine,
    external_threshold: int = 0,
    external_data: dict[str, Any] | None = None,
) -> str:
    """LLVM IR text of `module`, unoptimized (an llvm-dialect ModuleOp is translated for
    `tm`'s triple; `parse_and_optimize` optimizes). For a ModuleOp, dense globals larger than
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
    link: tuple[str, ...] = (),
    inline_math: tuple[str, ...] | None = None,
    vector_bits: int = 512,
    merge_functions: bool = True,
) -> llb.ModuleRef:
    """Parse (or translate) `module`, verify it, and run the O`opt_level` pipeline on it.

    `link` holds LLVM IR texts linked into the module before it is optimized (a runtime
    whose functions the optimizer may then inline: the wasm backend's allocator and math).
    Scalar calls of the f32 math functions named in `inline_math` (None:
    `inline_math.NATIVE_MATH`: exp, log, tanh, erf, expm1, log1p) get vector variants
    (irforge's branch-free code, inline_math.py, within 1-4 ulp), so that LLVM vectorizes
    loops calling them instead of calling libm once per element; loops it leaves scalar
    keep libm. `()`: no variants. `vector_bits`: the widest variant offered (the target's
    registers, `target_vector_bits`).

    `merge_functions`: before optimizing, LLVM's MergeFunctions pass folds functions whose
    IR is identical into one (callers of a merged function then call the one kept; one
    whose address is taken becomes a tail-calling thunk). A transformer's layers are
    lowered to identical loop nests, each outlined into its own function: BERT with 4
    layers of width 512 keeps 109 of its 204 optimized functions and its O3 + code
    generation go from 6.8 to 4.9 s of CPU time, with the same speed and results.

    With an `external_data` dict, dense globals of more than `external_threshold` bytes
    of an llvm-dialect module are left out of the LLVM module (external declarations) and
    their bytes stored in the dict by name (see `translate.translate_module`).

    Raises RuntimeError with LLVM's message if the IR does not parse or verify.
    """
    llb = _binding()
    text = llvm_ir_text(module, tm, external_threshold, external_data)
    from .inline_math import NATIVE_MATH, add_vector_variants

    if inline_math is None:
        inline_math = NATIVE_MATH
    variants = None
    if inline_math:
        lanes = max(vector_bits // 32, 4)
        layout = str(tm.target_data)
        text, variants = add_vector_variants(text, inline_math, tm.triple, layout, lanes)
        if variants is not None:
            link = (*link, variants)
    mod = llb.parse_assembly(text)
    del text
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    for text in link:
        other = llb.parse_assembly(text)
        other.triple = tm.triple
        other.data_layout = mod.data_layout
        mod.link_in(other)
    mod.verify()
    if opt_level > 0:
        pto = llb.create_pipeline_tuning_options(speed_level=opt_level)
        pto.loop_vectorization = opt_level >= 2
        pto.slp_vectorization = opt_level >= 2
        pb = llb.create_pass_builder(tm, pto)
        if merge_functions:
            mpm = llb.create_new_module_pass_manager()
            mpm.add_merge_functions_pass()
            mpm.run(mod, pb)
        pb.getModulePassManager().run(mod, pb)
        if variants is not None:  # the vectorizer's calls of the math variants
            mpm = llb.create_new_module_pass_manager()
            mpm.add_always_inliner_pass()
            mpm.add_instruction_combine_pass()
            mpm.run(mod, pb)
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
        return llvm_ir_text(module, tm, external_threshold, external_data)
    tm = target_machine(cpu, features, opt_level)
    bits = target_vector_bits(cpu, features)
    return str(parse_and_optimize(module, tm, opt_level, vector_bits=bits, **ext))


def _optimized(module, opt_level, cpu, features, triple, external_data, external_threshold):
    """The target machine and `module` optimized for it (emit_object / emit_assembly)."""
    tm = target_machine(cpu, features, opt_level, triple=triple)
    mod = parse_and_optimize(
        module,
        tm,
        opt_level,
        external_data=external_data,
        external_threshold=external_threshold,
        vector_bits=target_vector_bits(cpu, features, triple),
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
    External symbols (malloc, free, libm) resolve against the running process; irforge's
    thread pool (thread_pool.py) is made ready first when the module has parallel loops
    (RuntimeError if it cannot run here).
    """
    t0 = time.perf_counter()
    tm = target_machine(cpu, features, opt_level, jit=True)
    external: dict[str, Any] = {}
    text = llvm_ir_text(module, tm, external_threshold, external)
    if "irforge_parallel_for" in text:  # parallel loops: start the thread pool
        from .thread_pool import require_pool

        require_pool(text)
    t1 = time.perf_counter()
    mod = parse_and_optimize(text, tm, opt_level, vector_bits=target_vector_bits(cpu, features))
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
