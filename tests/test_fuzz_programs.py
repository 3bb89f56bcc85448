"""Random well-typed graph programs over every graph op, lowered through the whole chain
(the default pipelines and pipelines with lowered thresholds) and run natively or in
wasmtime, match the NumPy reference and ONNX Runtime (irforge.fuzzing.programs;
tolerances stated there).

The budget is fixed and the examples derandomized (`derandomize=True`, no example
database): CI runs the same programs every time, so a red run is a regression of the
compiler, not a new random draw, and its time stays stable. New programs are explored
with `irforge fuzz --programs --examples N [--seed S] [--target wasm]`.
"""

import pytest
from hypothesis import HealthCheck, given, settings

from irforge.fuzzing.programs import FAMILIES, GENERATORS, FuzzKnobs, check, fuzz_strategy


def ci(examples: int) -> settings:
    """The CI budget: `examples` derandomized examples (module docs)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@ci(30)
@given(fuzz_strategy())
def test_random_programs_native_vs_reference_and_onnxruntime(program):
    check(program, "native", onnxruntime=True)


@pytest.mark.parametrize("first", sorted(GENERATORS))
def test_each_op_kind_native_vs_reference_and_onnxruntime(first):
    """Every generator heads a few programs, whatever hypothesis's draws favour."""

    @ci(2)
    @given(fuzz_strategy(first=first, max_ops=4))
    def run(program):
        check(program, "native", onnxruntime=True)

    run()


@ci(25)
@given(fuzz_strategy(special=True))
def test_special_values_native_vs_reference(program):
    check(program, "native")


@ci(6)
@given(fuzz_strategy(max_ops=4, max_dim=5, big=False))
def test_random_programs_wasm_vs_reference(program):
    check(program, "wasm")


def test_every_graph_op_is_drawn_and_exported():
    """The generators emit every op of the graph dialect (graph.constant as operands),
    and programs headed by each (no compilation) export to valid ONNX models."""
    import onnx

    from irforge.dialects.graph import Graph
    from irforge.fuzzing.program_onnx import to_onnx

    listed = {f"graph.{name}" for family in FAMILIES for gen in family for name in gen.ops}
    every = {op.name for op in Graph.operations}
    assert listed == every - {"graph.constant"}, sorted(every ^ listed)
    seen = set()

    for first in GENERATORS:

        @ci(3)
        @given(fuzz_strategy(knobs=False, first=first))
        def draw(program):
            module, _ = program
            seen.update(op.name for op in module.walk() if op.name.startswith("graph."))
            onnx.checker.check_model(to_onnx(module), full_check=True)

        draw()
    assert seen == every, sorted(every - seen)


def _lowered(text: str, knobs: FuzzKnobs) -> str:
    import irforge
    from irforge.backends.target import host_target

    module = irforge.parse(text)
    host_target(num_threads=2).attach(module)
    irforge.run_pipeline(module, knobs.pipeline("native"))
    return irforge.print_ir(module)


CONV_RELU = """
"builtin.module"() ({
  "func.func"() <{sym_name = "main", function_type = (tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>}> ({
  ^bb0(%x: tensor<1x8x6x6xf32>):
    %w = "graph.constant"() <{value = dense<0.5> : tensor<8x8x3x3xf32>}> : () -> tensor<8x8x3x3xf32>
    %y = "graph.conv"(%x, %w) <{pads = array<i64: 1, 1, 1, 1>}> : (tensor<1x8x6x6xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x6x6xf32>
    %t = "graph.tanh"(%y) : (tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
    "func.return"(%t) : (tensor<1x8x6x6xf32>) -> ()
  }) : () -> ()
}) : () -> ()
"""  # noqa: E501


def test_lowered_thresholds_reach_layout_microkernel_and_threads():
    """On a 1x8x6x6 convolution (2.3k MACs) the fuzz pipeline blocks the layout, calls the
    direct-convolution microkernel and runs a parallel region; the default does none."""
    low = _lowered(CONV_RELU, LOWERED)
    assert "@irforge_parallel_for" in low, "no parallel region"
    assert "@__sconv_6x4_v4" in low, "no direct-convolution kernel on 4-channel blocks"
    default = _lowered(CONV_RELU, FuzzKnobs())
    assert "irforge_parallel_for" not in default and "__sconv" not in default


LOWERED = FuzzKnobs(True, block=4, vector_bits=128, min_flops=64, min_work=256, threads=2)


@pytest.mark.parametrize(
    "first", ["residual", "conv_bn_relu", "conv_pool", "blocked_conv", "sibling_matmuls"]
)
def test_network_idioms_with_lowered_thresholds(first):
    """Small networks with every threshold lowered: blocked layout with the kernel's
    epilogue (relu, residual add), the GEMM kernel, parallel regions."""

    @ci(3)
    @given(fuzz_strategy(first=first, max_ops=3, knobs=LOWERED, big=False))
    def run(program):
        check(program, "native", onnxruntime=True)

    run()


def test_a_wrong_lowering_is_caught_and_shrunk(monkeypatch):
    """Break the lowering of graph.sub (to an addition): the fuzzer must find a program
    using it and shrink it to a small counterexample."""
    from xdsl.dialects import arith

    from irforge.dialects import graph
    from irforge.fuzz import fuzz_programs
    from irforge.passes.graph_to_tensor import core

    monkeypatch.setitem(core.BINARY, graph.SubOp, (arith.AddfOp, arith.AddiOp))
    # Seeded (the draws are deterministic per seed). With seven op families a sub is a
    # rare draw: seed 1 reaches one within 200 examples, seeds 0 and 2 do not; pick another
    # seed that does if the generators change.
    failure = fuzz_programs(examples=200, seed=1, onnxruntime=False)
    assert failure is not None
    assert '"graph.sub"' in failure.mlir and "AssertionError" in failure.error
    ops = [line for line in failure.mlir.splitlines() if '= "graph.' in line]
    assert len(ops) <= 3, failure.mlir


@pytest.mark.parametrize("target", ["native"])
def test_cli_fuzz_programs_reports_ok(target, capsys):
    from types import SimpleNamespace

    from irforge.fuzz import main_fuzz

    args = SimpleNamespace(pattern=None, programs=True, examples=3, seed=1, target=target)
    assert main_fuzz(args) == 0
    assert f"ok: 3 random programs, {target} vs reference" in capsys.readouterr().out
