"""`irforge fuzz`: check with hypothesis that rewrites and lowerings keep a program's meaning.

    irforge fuzz                          # every pattern, then random programs
    irforge fuzz --pattern relu_relu      # one declarative pattern
    irforge fuzz --programs --examples 500 --seed 7
    irforge fuzz --programs --target wasm --examples 50
    irforge fuzz --mutants --examples 60 --seed 0   # mutation testing of the patterns

Patterns: for every registered declarative pattern, instances of its match DAG are
generated (random shapes, attribute values and data), the pattern is applied, and the
verifier and the reference semantics before and after are checked. Programs: random
well-typed graph programs over every graph op (irforge/fuzzing/programs.py) are compiled
natively or to wasm, with the default pipeline or one with lowered thresholds, and
compared with the NumPy reference and ONNX Runtime (when installed).
On a failure hypothesis shrinks the case; the minimal counterexample is written as a .mlir
file (with its inputs as .npy) and the command that replays it is printed.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from irforge.fuzzing.runner import Failure, run_hypothesis


def fuzz_programs(
    examples: int, seed: int | None, target: str = "native", onnxruntime: bool | None = None
) -> Failure | None:
    """Random graph programs compiled for `target` vs the NumPy reference and (when
    `onnxruntime`, by default when it is installed) ONNX Runtime. The failure's `what`
    names the pipeline and thread count of the counterexample."""
    from irforge.fuzzing.programs import check, fuzz_strategy
    from irforge.textual_ir import print_module

    if onnxruntime is None:
        import importlib.util

        onnxruntime = importlib.util.find_spec("onnxruntime") is not None
    last: list = []

    def describe(case):
        module, inputs = case
        last[:] = [case.knobs]
        return print_module(module), inputs

    def run(case):
        check(case, target, onnxruntime=onnxruntime)

    failure = run_hypothesis(fuzz_strategy(), run, examples, seed, describe)
    if failure:
        knobs = last[0]
        threads = f" --num-threads {knobs.threads}" if knobs.threads else ""
        failure.what = f"random program (--target {target} -p '{knobs.pipeline(target)}'{threads})"
    return failure


def save_failure(failure: Failure, folder: str | None = None) -> list[str]:
    """Write the counterexample and its inputs; return the paths (the .mlir first)."""
    folder = folder or tempfile.mkdtemp(prefix="irforge-fuzz-")
    paths = [os.path.join(folder, "counterexample.mlir")]
    with open(paths[0], "w", encoding="utf-8") as f:
        f.write(failure.mlir)
    for i, x in enumerate(failure.inputs):
        paths.append(os.path.join(folder, f"input{i}.npy"))
        np.save(paths[-1], x)
    return paths


def report(failure: Failure, replay: str) -> str:
    paths = save_failure(failure)
    inputs = " ".join(f"--input {p}" for p in paths[1:])
    return (
        f"FAILED: {failure.what}\n{failure.error}\n\nminimal counterexample ({paths[0]}):\n"
        f"{failure.mlir}\nreplay the check: {replay}\n"
        f"run it: irforge run {paths[0]} {inputs}\n"
    )


def main_fuzz(args) -> int:
    """The `irforge fuzz` subcommand (arguments parsed by irforge.cli)."""
    if getattr(args, "mutants", False):
        return main_mutants(args)
    failures = 0
    run_patterns = not args.programs or args.pattern
    if run_patterns:
        from irforge.fuzzing.patterns import fuzz_patterns

        for name, failure, fired in fuzz_patterns(args.pattern, args.examples, args.seed):
            if failure is None:
                print(f"ok: pattern {name} ({fired} rewritten instances checked)")
                continue
            failures += 1
            seed = f" --seed {args.seed}" if args.seed is not None else ""
            replay = f"irforge fuzz --pattern {name} --examples {args.examples}{seed}"
            print(report(failure, replay), file=sys.stderr)
    if args.programs or not args.pattern:
        target = getattr(args, "target", "native")
        failure = fuzz_programs(args.examples, args.seed, target)
        if failure is None:
            print(f"ok: {args.examples} random programs, {target} vs reference")
        else:
            failures += 1
            seed = f" --seed {args.seed}" if args.seed is not None else ""
            where = f" --target {target}" if target != "native" else ""
            replay = f"irforge fuzz --programs --examples {args.examples}{seed}{where}"
            print(report(failure, replay), file=sys.stderr)
    return 1 if failures else 0


def main_mutants(args) -> int:
    """`irforge fuzz --mutants`: mutation testing of the declarative patterns. Prints each
    mutant's verdict and the score; 1 if a non-equivalent mutant survived, else 0."""
    from irforge.fuzzing.mutants import all_mutants, equivalence_reason, kill

    survived, live, equivalent = [], 0, 0
    for mutant in all_mutants(args.pattern):
        reason = equivalence_reason(mutant.id)
        if reason is not None:
            equivalent += 1
            print(f"equivalent: {mutant.id} ({reason})")
            continue
        live += 1
        verdict = kill(mutant, args.examples, args.seed)
        print(f"{verdict.outcome}: {mutant.id}: {mutant.description}")
        if not verdict.caught:
            survived.append(mutant)
    print(
        f"mutation score: {live - len(survived)}/{live} non-equivalent mutants caught "
        f"({equivalent} equivalent, allow-listed; {args.examples} examples per mutant)"
    )
    for mutant in survived:
        print(f"SURVIVED: {mutant.id}: {mutant.description}", file=sys.stderr)
    return 1 if survived else 0
