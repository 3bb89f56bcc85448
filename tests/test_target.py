"""backends/target.py: the Target is made at the edge and read by the passes from the
module (`irforge.target`); no pass reads the environment or probes the host."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, StringAttr, i64

import irforge
from irforge.api import make_target
from irforge.backends.target import ATTR, Target, host_num_threads, wasm_target

T = "tensor<64x64xf32>"
MATMUL = (
    f'"func.func"() <{{sym_name = "main", function_type = ({T}, {T}) -> {T}}}> ({{\n'
    f"^bb0(%a: {T}, %b: {T}):\n"
    f'  %c = "graph.matmul"(%a, %b) : ({T}, {T}) -> {T}\n'
    f'  "func.return"(%c) : ({T}) -> ()\n'
    "}) : () -> ()\n"
)
LOWER = "convert-graph-to-tensor,convert-tensor-to-loop"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "gpu"}, "unknown target kind 'gpu'"),
        ({"vector_bits": 96}, "power of two >= 128"),
        ({"vector_bits": 64}, "power of two >= 128"),
        ({"num_threads": 0}, "num_threads must be a positive integer"),
        ({"kind": "wasm", "num_threads": 2}, "runs on one thread"),
    ],
)
def test_bad_targets_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Target(**kwargs)


def test_attribute_round_trip_and_lookup_from_a_nested_op():
    module = irforge.parse(MATMUL)
    assert Target.of(module) == Target()  # none attached: generic, 128-bit, one thread
    t = Target(cpu="x86-64-v3", features="+avx2", vector_bits=256, num_threads=3)
    t.attach(module)
    inner = next(op for op in module.walk() if op.name == "graph.matmul")
    # features stay with the backend, not in the module
    assert Target.of(inner) == Target(cpu="x86-64-v3", vector_bits=256, num_threads=3)
    printed = irforge.print_ir(module)
    again = irforge.parse(printed)
    assert Target.of(again) == Target.of(module)


@pytest.mark.parametrize(
    "attr, message",
    [
        (StringAttr("avx"), "must be a dictionary"),
        (DictionaryAttr({"vector_bits": StringAttr("wide")}), "'vector_bits' must be an integer"),
        (DictionaryAttr({"num_threads": IntegerAttr(0, i64)}), "num_threads must be"),
    ],
)
def test_malformed_attribute_is_a_clear_error(attr, message):
    module = irforge.parse(MATMUL)
    module.attributes[ATTR] = attr
    with pytest.raises(ValueError, match=message):
        Target.of(module)


def vector_widths(module) -> set[int]:
    widths = set()
    for op in module.walk():
        for r in op.results:
            t = r.type
            if t.name == "vector":
                widths.add(t.get_shape()[-1])
    return widths


@pytest.mark.parametrize("bits, lanes", [(128, 4), (256, 8), (512, 16)])
def test_lowering_follows_the_module_target_not_the_host(bits, lanes):
    module = irforge.parse(MATMUL)
    Target(vector_bits=bits).attach(module)
    irforge.run_pipeline(module, LOWER)
    assert vector_widths(module) == {lanes}


def test_no_pass_reads_the_environment(monkeypatch):
    # IRFORGE_NUM_THREADS is read at the edge only: a module whose target says 2 threads
    # gets 2-thread parallel regions whatever the variable says.
    monkeypatch.setenv("IRFORGE_NUM_THREADS", "7")
    big = MATMUL.replace("64x64", "512x512")
    module = irforge.parse(big)
    Target(vector_bits=128, num_threads=2).attach(module)
    irforge.run_pipeline(
        module,
        "canonicalize,convert-graph-to-tensor,convert-tensor-to-loop,"
        "outline-loop-nests,parallelize-loops{min-work=1}",
    )
    text = irforge.print_ir(module)
    assert "num_threads = 2 : i64" in text and "num_threads = 7" not in text


def test_make_target_at_the_edge(monkeypatch):
    assert make_target("wasm") == wasm_target()
    with pytest.raises(ValueError, match="wasm code runs on one thread"):
        make_target("wasm", num_threads=2)
    with pytest.raises(ValueError, match="is for native targets"):
        make_target("wasm", cpu="x86-64-v3")
    monkeypatch.setenv("IRFORGE_NUM_THREADS", "3")
    assert host_num_threads() == 3
    native = make_target("native", cpu="x86-64-v3")
    assert (native.cpu, native.vector_bits) == ("x86-64-v3", 256)
    # without parallelize-loops in the pipeline the code is serial: the target says so
    assert make_target("native", num_threads=2, pipeline="canonicalize").num_threads == 1
    monkeypatch.setenv("IRFORGE_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="IRFORGE_NUM_THREADS"):
        make_target("native")


def test_compiled_model_matches_numpy_for_a_wide_and_a_narrow_target():
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    for cpu in ("x86-64-v2", None):
        model = irforge.compile(irforge.parse(MATMUL), cpu=cpu, num_threads=1)
        np.testing.assert_allclose(model(a, b), a @ b, rtol=1e-4, atol=1e-4)
