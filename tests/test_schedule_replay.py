"""Schedules as data: recording, JSON round trip, replay on a fresh copy of the IR, and the
`loop-schedule{file=...}` pass (errors name the step)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irforge.dialects import make_dialect_context
from irforge.dialects.reference import run_reference
from irforge.passes.infra.manager import PassFailure, run_pass_pipeline
from irforge.passes.loop import schedule as S
from tests.test_schedule_primitives import at, chain, matmul


def record_matmul_schedule(module, ti: int, tj: int, width: int) -> S.Schedule:
    sch = S.Schedule()
    sch.step("fuse", [at(module, 0), at(module, 1)])
    sch.step("fuse", [at(module, 0, 0), at(module, 0, 1)])
    fill_j = at(module, 0, 0)
    sch.step("parallelize", at(module, 0))
    i, j, k = S.get_loops(at(module, 0))[0], fill_j, None
    del i, j, k
    # the matmul nest of the fused loop: i { j { fill; k } }
    io, jo, ii, jj = sch.step("tile", [at(module, 0), at(module, 0, 0)], sizes=[ti, tj])
    sch.step("unroll", S.get_loops(jj)[-1], factor=2)
    sch.step("cache_read", io, buffer=1)
    return sch


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6)),
    st.integers(1, 3),
    st.integers(1, 4),
)
def test_replayed_json_gives_the_same_ir(dims, ti, tj):
    m, k, n = dims
    original = matmul(m, k, n)
    direct = original.clone()
    sch = record_matmul_schedule(direct, ti, tj, 4)
    direct.verify()
    text = sch.to_json()
    replayed = original.clone()
    S.Schedule.from_json(text).apply(replayed)
    assert str(replayed) == str(direct)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(s).astype(np.float32) for s in [(m, k), (k, n)]]
    np.testing.assert_array_equal(
        run_reference(replayed, inputs)[0], run_reference(original, inputs)[0]
    )


def test_json_format():
    m = chain((3, 20))
    sch = S.Schedule()
    outer, inner = sch.step("split", at(m, 0, 0), factor=8)
    sch.step("vectorize", inner, width=4)
    data = json.loads(sch.to_json())
    assert data == {
        "version": 1,
        "steps": [
            {"primitive": "split", "func": "main", "loops": [[0, 0]], "args": {"factor": 8}},
            {"primitive": "vectorize", "func": "main", "loops": [[0, 0, 0]], "args": {"width": 4}},
        ],
    }
    assert S.Schedule.from_json(sch.to_json()) == sch


def test_pass_applies_a_schedule_file(tmp_path):
    m = chain((3, 20))
    direct = m.clone()
    sch = S.Schedule()
    sch.step("vectorize", at(direct, 0, 0), width=8)
    path = tmp_path / "s.json"
    path.write_text(sch.to_json())
    run_pass_pipeline(m, f'loop-schedule{{file="{path}"}}', make_dialect_context())
    assert str(m) == str(direct)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ('{"steps": 3}', '"steps" list'),
        ('{"steps": [{"primitive": "split"}]}', "step 0: malformed"),
        (
            '{"steps": [{"primitive": "spilt", "func": "main", "loops": [[0]]}]}',
            r"step 0 \(spilt\): unknown primitive",
        ),
        (
            '{"steps": [{"primitive": "split", "func": "main", "loops": [[0, 5]], '
            '"args": {"factor": 2}}]}',
            r"step 0 \(split\): @main loop \[0, 5\]: level 1 has 1 loops",
        ),
        (
            '{"steps": [{"primitive": "split", "func": "main", "loops": [[0]], '
            '"args": {"factr": 2}}]}',
            r"step 0 \(split\):.*factr",
        ),
        (
            '{"steps": [{"primitive": "vectorize", "func": "main", "loops": [[0]], '
            '"args": {"width": 4}}]}',
            r"step 0 \(vectorize\): vectorize\(@main loop \[0\], 4\): the loop is not innermost",
        ),
    ],
)
def test_pass_errors_name_the_step(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(PassFailure, match=message):
        run_pass_pipeline(chain((3, 4)), f'loop-schedule{{file="{path}"}}', make_dialect_context())


def test_pass_missing_file(tmp_path):
    with pytest.raises(PassFailure, match="cannot read"):
        run_pass_pipeline(
            chain((3, 4)), f'loop-schedule{{file="{tmp_path}/no.json"}}', make_dialect_context()
        )
