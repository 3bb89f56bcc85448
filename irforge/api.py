"""irforge's Python API: parse IR, run pipelines, import and compile models.

    >>> import irforge
    >>> model = irforge.compile("digits_mlp.onnx", input_shapes={"input": [1, 64]})
    >>> probabilities = model(x)            # x: float32 array of shape (1, 64)

Heavy dependencies (onnx, llvmlite) are imported only when a function needs them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr, TensorType

from irforge.backends.llvm.runtime import TensorSpec
from irforge.backends.target import Target
from irforge.dialects import make_dialect_context as _make_dialect_context
from irforge.passes.infra.registry import DEFAULT_PIPELINE

ModelLike = Any  # onnx.ModelProto | str | os.PathLike | ModuleOp


def make_context(allow_unregistered: bool = False) -> Context:
    """A Context with every irforge dialect and those of installed plugins (the
    `irforge.plugins` entry points, loaded once)."""
    from irforge.plugins import load_entry_point_plugins

    load_entry_point_plugins()
    return _make_dialect_context(allow_unregistered)


def parse(text: str, filename: str = "<string>", ctx: Context | None = None) -> ModuleOp:
    """Parse MLIR generic-form text into a verified module.

    Raises irforge.textual_ir.Diagnostic (with file:line:col) on a parse or verify error.
    """
    from irforge.textual_ir import parse_module, verify_module

    module = parse_module(text, ctx or make_context(), filename)
    verify_module(module, filename)
    return module


def print_ir(module: ModuleOp) -> str:
    """The module in MLIR's generic form."""
    from irforge.textual_ir import print_module

    return print_module(module)


def run_pipeline(
    module: ModuleOp,
    pipeline: str = DEFAULT_PIPELINE,
    ctx: Context | None = None,
    *,
    verify_each: bool = True,
    verify: bool = True,
    target: Target | None = None,
) -> ModuleOp:
    """Run a textual pass pipeline on `module` in place, verifying after each pass
    (`verify_each=False`: only the result, and with `verify=False` not even that; see
    irforge.passes.infra.manager.run_pass_pipeline).

    The passes lower for `target`, which is attached to the module (`irforge.target`,
    backends/target.py); by default for the module's own target, else for this machine
    (`host_target()`: its vector width, IRFORGE_NUM_THREADS or its cores).

    Raises irforge.passes.infra.manager.PipelineError for a bad pipeline string and PassFailure
    naming the pass that failed or broke the IR.
    """
    from irforge.backends.target import ATTR, host_target
    from irforge.passes.infra.manager import run_pass_pipeline as _run

    if target is not None:
        target.attach(module)
    elif ATTR not in module.attributes:
        host_target().attach(module)
    return _run(module, pipeline, ctx or make_context(), verify_each=verify_each, verify=verify)


def import_model(
    model: ModelLike, input_shapes: Mapping[str, Sequence[int]] | None = None
) -> ModuleOp:
    """Import an ONNX model (ModelProto or path) into the graph dialect.

    Installed plugins are loaded first (they may add ONNX converters, e.g. for a custom
    domain). Raises irforge.frontends.onnx.ONNXImportError listing unsupported ops or
    dynamic inputs.
    """
    from irforge.frontends.onnx import import_onnx
    from irforge.plugins import load_entry_point_plugins

    load_entry_point_plugins()
    return import_onnx(model, input_shapes=input_shapes)


def signature(module: ModuleOp, entry: str = "main") -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Input and output specs of the graph-level function `entry` (names from the
    `irforge.input_names` / `irforge.output_names` attributes when present)."""
    fn = next(
        (op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == entry),
        None,
    )
    if fn is None:
        raise ValueError(f"the module has no function @{entry}")

    def specs(types, attr: str, default: str) -> list[TensorSpec]:
        names = fn.attributes.get(attr)
        out = []
        for i, t in enumerate(types):
            if not isinstance(t, TensorType):
                raise ValueError(f"@{entry}: {default} #{i} has type {t}, expected a tensor")
            name = (
                names.data[i].data
                if isinstance(names, ArrayAttr) and isinstance(names.data[i], StringAttr)
                else f"{default}{i}"
            )
            dtype = np.dtype(_NUMPY_DTYPES.get(str(t.element_type), "float32"))
            out.append(TensorSpec(name, tuple(t.get_shape()), dtype))
        return out

    ftype = fn.function_type
    return (
        specs(ftype.inputs, "irforge.input_names", "input"),
        specs(ftype.outputs, "irforge.output_names", "output"),
    )


_NUMPY_DTYPES = {"f32": "float32", "f64": "float64", "i32": "int32", "i64": "int64", "i1": "bool"}


def load_module(
    model: ModelLike,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    ctx: Context | None = None,
) -> ModuleOp:
    """The graph-level module of `model`: a ModuleOp as it is, a `.mlir` path parsed and
    verified, anything else (ModelProto, `.onnx` path) imported from ONNX.

    Raises Diagnostic for bad IR, ONNXImportError for a bad or unsupported model, OSError
    for an unreadable file.
    """
    if isinstance(model, ModuleOp):
        return model
    if isinstance(model, str | os.PathLike) and str(model).endswith(".mlir"):
        with open(model, encoding="utf-8") as f:
            return parse(f.read(), str(model), ctx or make_context())
    return import_model(model, input_shapes)


@dataclass
class CompiledModel:
    """A compiled model (native code, or a wasm module run by wasmtime: `function` is a
    NativeFunction or a WasmFunction): call it with NumPy arrays, one per input.

    `model(x)` returns one array, or a tuple when the model has several outputs. Inputs
    are checked against `inputs` (shape and dtype) and a ValueError names the expected
    and received shapes. `timings` holds the seconds spent in each compile phase;
    `num_threads` the threads its parallel loops run on (1: serial code).
    """

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    function: Callable[..., Any]
    timings: dict[str, float] = field(default_factory=dict)
    num_threads: int = 1

    def __call__(self, *arrays: np.ndarray, out: Any = None):
        """Run the model; `out=` optionally names caller-owned output arrays to write
        (see backends.llvm.runtime.NativeFunction)."""
        return self.function(*arrays, out=out)


def compile(
    model: ModelLike,
    target: str = "native",
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    pipeline: str | None = None,
    opt_level: int = 3,
    cpu: str | None = None,
    entry: str = "main",
    num_threads: int | None = None,
    verify_each: bool | None = None,
) -> CompiledModel:
    """Compile a model to a callable: native code for a CPU, or WebAssembly.

    `model` is an ONNX ModelProto, a path to a .onnx file, a path to a graph-level .mlir
    file, or a graph-level ModuleOp (which is lowered in place). `input_shapes` fixes
    dynamic input dimensions (`{"input": [1, 64]}`). `pipeline` lowers the graph dialect to
    the llvm dialect (default: the target's, `DEFAULT_PIPELINE` for native code,
    `WASM_PIPELINE` for wasm, both in irforge.passes.infra.registry); LLVM then optimizes at
    `opt_level`.

    `target="native"`: code for `cpu` (default: the host CPU and its features; a named CPU
    such as "x86-64-v2" gets that CPU's own features, not the host's). `target="wasm"`: a
    self-contained wasm32 + simd128 module (backends/wasm, docs/wasm.md) run through
    wasmtime; the function is a WasmFunction (its `wasm_bytes` is the module); `cpu` must
    be None. The target (backends/target.py: its SIMD width, 512 bits for AVX-512, 256 for
    AVX2 or x86-64-v3, 128 for x86-64-v2 and wasm, and its thread count) is made here and
    attached to the module as `irforge.target`, where the passes read it.

    `num_threads` is the number of threads big parallel loops run on (default: the
    environment variable IRFORGE_NUM_THREADS, else the cores available; 1: serial code);
    it is fixed at compile time (see docs/parallelism.md). Where the thread pool cannot run
    the model is compiled serially, with a warning. wasm code is serial: num_threads > 1 is
    a ValueError.

    `verify_each`: verify the IR after every pass of `pipeline` (default: the environment
    variable IRFORGE_VERIFY_EACH=1, else the pipeline's result is verified only if the
    backend fails on it, to report a pass that broke the IR rather than the backend's
    error: per-pass verification is about a third of the lowering time of a CNN, verifying
    the result 0.6 of the 8 s a 4-layer BERT takes).

    Raises ValueError for an unknown target, a bad thread count or a cpu with the wasm
    target; ONNXImportError, Diagnostic, PipelineError or PassFailure from the phase that
    failed; for wasm, WasmLinkerNotFound when no wasm-ld is installed.
    """
    if pipeline is None:
        from irforge.passes.infra.registry import WASM_PIPELINE

        pipeline = WASM_PIPELINE if target == "wasm" else DEFAULT_PIPELINE
    code_target = make_target(target, cpu, num_threads, pipeline)
    threads = code_target.num_threads

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ctx = make_context()
    module = load_module(model, input_shapes, ctx)
    timings["import"] = time.perf_counter() - t0
    inputs, outputs = signature(module, entry)
    code_target.attach(module)

    t0 = time.perf_counter()
    from irforge.passes.infra.manager import default_verify_each, verify_result

    if verify_each is None:
        verify_each = default_verify_each()
    run_pipeline(module, pipeline, ctx, verify_each=verify_each, verify=False)
    timings["lowering"] = time.perf_counter() - t0
    try:
        return _backend(module, target, entry, inputs, outputs, opt_level, cpu, timings, threads)
    except Exception:
        if not verify_each:  # a PassFailure, rather than the backend's error, for broken IR
            verify_result(module)
        raise


def _backend(module, target, entry, inputs, outputs, opt_level, cpu, timings, threads):
    """`compile`'s last phase: the lowered module to a CompiledModel."""
    t0 = time.perf_counter()
    if target == "wasm":
        from irforge.backends.wasm import WasmFunction, build_wasm

        wasm = build_wasm(module, entry=entry, opt_level=opt_level)
        timings["llvm"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fn = WasmFunction(wasm, entry, inputs, outputs)
        timings["instantiate"] = time.perf_counter() - t0
        return CompiledModel(inputs, outputs, fn, timings, threads)
    from irforge.backends.llvm import compile_module

    fn = compile_module(
        module,
        entry=entry,
        inputs=inputs,
        outputs=outputs,
        opt_level=opt_level,
        cpu=cpu,
    )
    timings["llvm"] = time.perf_counter() - t0
    return CompiledModel(inputs, outputs, fn, timings, threads)


TARGETS = ("native", "wasm")
"""The targets `compile` knows."""


def make_target(
    target: str = "native",
    cpu: str | None = None,
    num_threads: int | None = None,
    pipeline: str = DEFAULT_PIPELINE,
) -> Target:
    """The Target `compile` attaches to a module (backends/target.py), made from the
    host, the arguments and the environment: the host CPU (or `cpu`) and its vector width;
    `num_threads` (default: IRFORGE_NUM_THREADS, else the cores available), 1 when
    `pipeline` has no parallelize-loops pass or the thread pool cannot run (with a warning);
    wasm32 + simd128 on one thread for `target="wasm"`.

    Raises ValueError for an unknown target, a bad thread count, a cpu for wasm or more
    than one thread for wasm, and PipelineError for a bad pipeline.
    """
    from irforge.backends.target import check_num_threads, host_target, wasm_target
    from irforge.passes.infra.pipeline import parse_pipeline

    if target not in TARGETS:
        raise ValueError(f"unknown target '{target}'; available: {', '.join(TARGETS)}")
    if num_threads is not None:
        check_num_threads(num_threads)
    if target == "wasm":
        if cpu is not None:
            raise ValueError(f"compile: cpu={cpu!r} is for native targets; wasm has no cpu")
        if num_threads is not None and num_threads > 1:
            raise ValueError(
                f"compile: num_threads={num_threads} with target 'wasm': wasm code runs on "
                "one thread"
            )
        return wasm_target()
    native = host_target(cpu, num_threads)
    if native.num_threads > 1:
        parallel = any(p.name == "parallelize-loops" for p in parse_pipeline(pipeline).passes())
        if not parallel:
            return native.with_threads(1)
        from irforge.backends.llvm.thread_pool import pool_available, serial_fallback_warning

        if not pool_available():
            serial_fallback_warning()
            return native.with_threads(1)
    return native
