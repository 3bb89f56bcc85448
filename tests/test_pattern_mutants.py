"""Mutation testing of the declarative rewrite set (irforge.fuzzing.mutants).

Every mutant of every registered pattern (a `where` conjunct dropped, operands swapped, a
constant changed, an attribute expression altered, the result replaced) must be caught by
the rewrite fuzzer at the budget below, except the equivalent mutants that
`mutants.EQUIVALENT` names with a reason; those must survive (if the fuzzer kills one, the
allow-list is wrong). The score is written to the terminal at the end of the module.
"""

import fnmatch

import pytest

from irforge.fuzzing.mutants import EQUIVALENT, equivalence_reason, kill, pattern_mutants
from irforge.passes.patterns import all_patterns

BUDGET = 60  # examples per mutant (seed 0): `irforge fuzz --mutants --examples 60 --seed 0`
SEED = 0

MUTANTS = [m for pset in all_patterns().values() for p in pset for m in pattern_mutants(p)]
LIVE = [m for m in MUTANTS if equivalence_reason(m.id) is None]
EQUIV = [m for m in MUTANTS if equivalence_reason(m.id) is not None]
_VERDICTS: list = []


@pytest.fixture(scope="module", autouse=True)
def _score(request):
    yield
    caught = [v for v in _VERDICTS if v.caught]
    if not _VERDICTS:
        return
    line = (
        f"pattern mutation score: {len(caught)}/{len(_VERDICTS)} non-equivalent mutants "
        f"caught ({len(EQUIV)} equivalent, allow-listed; {BUDGET} examples, seed {SEED})"
    )
    plugins = request.config.pluginmanager
    reporter, capture = plugins.getplugin("terminalreporter"), plugins.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)


@pytest.mark.parametrize("mutant", LIVE, ids=lambda m: m.id)
def test_mutant_is_caught(mutant):
    verdict = kill(mutant, BUDGET, SEED)
    _VERDICTS.append(verdict)
    assert verdict.caught, f"{mutant.id} ({mutant.description}) survived {BUDGET} examples"


@pytest.mark.parametrize("mutant", EQUIV, ids=lambda m: m.id)
def test_equivalent_mutant_survives(mutant):
    verdict = kill(mutant, BUDGET, SEED)
    assert not verdict.caught, (
        f"{mutant.id} is allow-listed as equivalent ({equivalence_reason(mutant.id)}) but "
        f"the fuzzer caught it: {verdict.error}"
    )


def test_every_allow_list_entry_names_a_mutant():
    for glob in EQUIVALENT:
        assert any(fnmatch.fnmatchcase(m.id, glob) for m in MUTANTS), f"stale entry {glob}"


@pytest.mark.parametrize(
    "mutant_id",
    [
        "mul_zero/drop-where:is_finite_constant(x)",  # x * 0 -> 0 for x = Inf, NaN
        "gemm_zero_beta/drop-where:is_finite_constant(c)",  # 0 * Inf in C
        "transpose_transpose/attr-expr:graph.transpose.perm.compose.reverse",  # q∘p for p∘q
    ],
)
def test_the_mutants_that_once_survived_are_generated(mutant_id):
    """The three wrong variants a review found passing the fuzzer before special values
    and rank-4 transposes were generated (issue 14) are among the live mutants."""
    assert mutant_id in {m.id for m in LIVE}


def test_operators_cover_every_kind_of_change():
    assert {m.operator for m in MUTANTS} == {
        "drop-where",
        "swap-match",
        "swap-rewrite",
        "constant",
        "attr-expr",
        "result",
    }


def test_cli_reports_the_score(capsys):
    from irforge.cli import main

    assert (
        main(["fuzz", "--mutants", "--pattern", "relu_relu", "--examples", "20", "--seed", "0"])
        == 0
    )
    out = capsys.readouterr().out
    assert "killed: relu_relu/result:x" in out
    assert "mutation score: 1/1 non-equivalent mutants caught" in out


def test_cli_fails_on_a_surviving_mutant(monkeypatch, capsys):
    """A redundant guard that no allow-list entry explains: dropping it changes nothing, so
    the mutant survives and the run must fail naming it."""
    from irforge.cli import main
    from irforge.fuzzing import mutants
    from irforge.passes.patterns import parse_patterns

    (pattern,) = parse_patterns(
        "pattern relu_relu_guarded {\n"
        "  match graph.relu(graph.relu(x) as inner) where one_use(inner) rewrite inner\n"
        "}",
        "<test>",
    )
    monkeypatch.setattr(mutants, "all_mutants", lambda name: pattern_mutants(pattern))
    assert main(["fuzz", "--mutants", "--examples", "20", "--seed", "0"]) == 1
    err = capsys.readouterr().err
    assert "SURVIVED: relu_relu_guarded/drop-where:one_use(inner)" in err


def test_cli_unknown_pattern_is_an_error_not_a_traceback(capsys):
    from irforge.cli import main

    assert main(["fuzz", "--mutants", "--pattern", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no registered pattern named 'nope'" in err and "relu_relu" in err
    assert "Traceback" not in err
