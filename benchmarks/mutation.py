"""Mutation testing of the Python lowerings (issue 14): a benchmark-style report, not a gate.

    python -m benchmarks.mutation [--groups affine,graph_to_tensor,microkernel_index]
                                  [--sample N] [--seed S] [--worktree] [--jobs J]
                                  [--only-survivors JSON] [--json FILE] [--markdown FILE]

For each group of benchmarks/mutation.toml the runner clones the repository into a temporary
directory (HEAD; `--worktree` overlays the working-tree versions of the group's modules and
tests), makes `irforge.*` import from that copy (symlinks to the top-level folders in its
`irforge` folder: the editable install points at the original checkout), checks that the copy is
what the tests import (a module made to raise on import must fail the tests), times the
unmutated tests, then runs cosmic-ray (`init`, a scope and sample filter, `exec`) there.

Score = killed / (killed + survived); timeouts (the mutant's tests ran longer than the limit)
and incompetent mutants are counted apart, and survivors inside annotations (never evaluated
under `from __future__ import annotations`) are left out of `score` (kept in `score_raw`).
The report (JSON and markdown) lists every survivor with file:line, operator and diff. The
originals are never mutated. `--only-survivors` re-runs the survivors of an earlier report
(after new tests) and merges: the other mutants keep their earlier outcome.

Also a pytest plugin (`-p benchmarks.mutation`): a hypothesis profile without an example
database and derandomized, so that each mutant sees the same examples.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_suffix(".toml")
SANITY = 'raise RuntimeError("mutation runner: this copy is the one imported")\n'


def pytest_configure(config) -> None:
    """As a pytest plugin: reproducible hypothesis runs, nothing carried between mutants."""
    from hypothesis import settings

    settings.register_profile("irforge-mutation", database=None, derandomize=True)
    settings.load_profile("irforge-mutation")


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float | None = None):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def make_copy(group: dict, work: Path, worktree: bool) -> tuple[Path, dict]:
    """A clone of the repository in `work`, and the environment that imports it."""
    copy = work / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(copy)], check=True)
    # This file is also the tests' pytest plugin; it may not be committed yet.
    shutil.copy(Path(__file__), copy / "benchmarks" / Path(__file__).name)
    if worktree:
        for rel in group["modules"] + group["tests"]:
            shutil.copy(ROOT / rel, copy / rel)
    # The installed layout, inside the copy's own `irforge` folder (the current directory
    # comes first on sys.path): the top-level folders as its subpackages, symlinked.
    with open(copy / "pyproject.toml", "rb") as f:
        dirs = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    for pkg, folder in dirs.items():
        if pkg.count(".") == 1:
            (copy / "irforge" / pkg.split(".")[1]).symlink_to(copy / folder)
    env = dict(os.environ, PYTHONPATH=str(copy))
    return copy, env


def test_command(group: dict, run: dict) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", *run["pytest_args"], *group["tests"]]
    if group.get("pytest_k"):
        cmd += ["-k", group["pytest_k"]]
    return cmd


def check_copy(copy: Path, env: dict, group: dict, cmd: list[str]) -> None:
    """The tests import the copy: each module must resolve there and, raising, fail them."""
    for rel in group["modules"]:
        name = "irforge." + rel.removesuffix(".py").replace("/", ".")
        out = _run([sys.executable, "-c", f"import {name} as m; print(m.__file__)"], copy, env)
        if not out.stdout.strip().startswith(str(copy.parent)):
            raise SystemExit(f"{name} is not imported from the copy: {out.stdout}{out.stderr}")
        path = copy / rel
        text = path.read_text()
        path.write_text(text + "\n" + SANITY)
        try:
            if _run(cmd, copy, env).returncode == 0:
                raise SystemExit(f"tests pass with {rel} raising at import: wrong copy?")
        finally:
            path.write_text(text)


def scope_lines(path: Path, names: list[str]) -> list[tuple[int, int]]:
    """Line ranges of the top-level definitions `names` in `path`."""
    tree = ast.parse(path.read_text())
    ranges = [(n.lineno, n.end_lineno) for n in tree.body if getattr(n, "name", None) in names]
    if len(ranges) != len(names):
        raise SystemExit(f"{path}: not all of {names} found")
    return ranges


def _key(m) -> tuple[str, str, int]:
    """A mutant's identity across sessions of the same source: the n-th use of an operator."""
    return str(m.module_path), m.operator_name, int(m.occurrence)


def select(
    session: Path, copy: Path, group: dict, sample: int, seed: int, only: set | None = None
) -> dict:
    """Mark mutants outside the scope, or outside the sample, as skipped in the session;
    with `only`, keep just the mutants of those keys (the survivors of an earlier run)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    scope = group.get("scope")
    lines = scope_lines(copy / group["modules"][0], scope) if scope else None
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = sorted(
            db.work_items,
            key=lambda w: (
                str(w.mutations[0].module_path),
                w.mutations[0].start_pos,
                w.mutations[0].operator_name,
                w.mutations[0].occurrence,
            ),
        )
        total = len(items)
        if lines is not None:
            items = [
                w for w in items if any(a <= w.mutations[0].start_pos[0] <= b for a, b in lines)
            ]
        in_scope = len(items)
        keep = (
            items if not sample or sample >= in_scope else random.Random(seed).sample(items, sample)
        )
        if only is not None:
            keep = [w for w in keep if _key(w.mutations[0]) in only]
        kept = {w.job_id for w in keep}
        skip = [w.job_id for w in db.work_items if w.job_id not in kept]
        db.set_multiple_results(skip, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    return {"mutants_total": total, "mutants_in_scope": in_scope, "mutants_run": len(kept)}


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of the annotations in `path`: with `from __future__ import
    annotations` they are never evaluated, so a mutant there is equivalent."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text())):
        notes = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            notes.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            notes.append(node.returns)
        for n in filter(None, notes):
            spans.append(((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)))
    return spans


def score(counts: dict) -> dict:
    """killed / (killed + survived), raw and without the annotation mutants."""
    decided = counts["killed"] + counts["survived"]
    real = decided - counts["equivalent_annotation"]
    return {
        "score_raw": round(counts["killed"] / decided, 4) if decided else None,
        "score": round(counts["killed"] / real, 4) if real else None,
    }


def collect(session: Path, copy: Path) -> dict:
    """Counts and the survivors (file:line, operator, diff) of a finished session."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    names = ["killed", "survived", "timeout", "incompetent", "equivalent_annotation"]
    counts = dict.fromkeys(names, 0)
    survivors, spans = [], {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = {w.job_id: w for w in db.work_items}
        for job_id, result in db.results:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            m = items[job_id].mutations[0]
            if result.test_outcome == TestOutcome.SURVIVED:
                if m.module_path not in spans:
                    spans[m.module_path] = annotation_spans(copy / m.module_path)
                pos = tuple(m.start_pos)
                note = any(a <= pos < b for a, b in spans[m.module_path])
                counts["survived"] += 1
                counts["equivalent_annotation"] += note
                survivors.append(
                    {
                        "where": f"{m.module_path}:{m.start_pos[0]}",
                        "col": m.start_pos[1],
                        "operator": m.operator_name,
                        "occurrence": m.occurrence,
                        "annotation": note,
                        "diff": result.diff,
                    }
                )
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            elif result.output == "timeout":
                counts["timeout"] += 1
            else:
                counts["killed"] += 1
    survivors.sort(key=lambda s: (s["where"].split(":")[0], int(s["where"].split(":")[1])))
    return {**counts, **score(counts), "survivors": survivors}


def merge(earlier: dict, rerun: dict) -> dict:
    """An earlier group result with its survivors replaced by their re-run outcomes."""
    out = dict(rerun)
    for k in ("killed", "timeout", "incompetent"):
        out[k] = earlier[k] + rerun[k]
    out["killed_by_the_rerun"] = rerun["killed"]
    for k in ("mutants_total", "mutants_in_scope", "mutants_run"):
        out[k] = earlier[k]
    return {**out, **score(out)}


def run_group(name: str, group: dict, run: dict, args) -> dict:
    """Copy, check, baseline, init, select, exec, collect: one group's result."""
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"irforge-mutation-{name}-") as tmp:
        work = Path(tmp)
        copy, env = make_copy(group, work, args.worktree)
        cmd = test_command(group, run)
        check_copy(copy, env, group, cmd)
        b0 = time.monotonic()
        base = _run(cmd, copy, env)
        baseline = time.monotonic() - b0
        if base.returncode != 0:
            raise SystemExit(f"{name}: the unmutated tests fail:\n{base.stdout[-3000:]}")
        timeout = max(run["timeout_min"], run["timeout_factor"] * baseline)
        cfg = work / "cosmic-ray.toml"
        modules = ", ".join(json.dumps(m) for m in group["modules"])
        cfg.write_text(
            f"[cosmic-ray]\nmodule-path = [{modules}]\ntimeout = {timeout:.0f}\n"
            f"excluded-modules = []\ntest-command = {json.dumps(shlex.join(cmd))}\n"
            '[cosmic-ray.distributor]\nname = "local"\n'
        )
        session = work / "session.sqlite"
        cr = [sys.executable, "-m", "cosmic_ray.cli"]
        subprocess.run([*cr, "init", str(cfg), str(session)], cwd=copy, env=env, check=True)
        sample = group.get("sample", 0) if args.sample is None else args.sample
        only = earlier = None
        if args.only_survivors:
            earlier = json.loads(Path(args.only_survivors).read_text())["groups"][name]
            only = {
                (s["where"].split(":")[0], s["operator"], s["occurrence"])
                for s in earlier["survivors"]
            }
        sizes = select(session, copy, group, sample, args.seed, only)
        e0 = time.monotonic()
        subprocess.run([*cr, "exec", str(cfg), str(session)], cwd=copy, env=env, check=True)
        exec_s = time.monotonic() - e0
        result = collect(session, copy)
        if args.keep:
            shutil.copytree(work, Path(args.keep) / name, symlinks=True, dirs_exist_ok=True)
    res = {
        "modules": group["modules"],
        "scope": group.get("scope"),
        "tests": group["tests"],
        "pytest_k": group.get("pytest_k"),
        "sample_seed": args.seed,
        **sizes,
        "baseline_s": round(baseline, 1),
        "timeout_s": round(timeout),
        "exec_s": round(exec_s),
        "wall_s": round(time.monotonic() - t0),
        **result,
    }
    return res if earlier is None else merge(earlier, res)


def markdown(report: dict) -> str:
    """The report as a markdown summary table followed by the survivors of each group."""
    rows = [
        f"{report['tool']}, commit {report['commit']}",
        "",
        "| group | mutants run (in scope) | killed | survived (annotations) | timeout "
        "| score (raw) | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, g in report["groups"].items():
        rows.append(
            f"| {name} | {g['mutants_run']} ({g['mutants_in_scope']}) | {g['killed']} "
            f"| {g['survived']} ({g['equivalent_annotation']}) | {g['timeout']} "
            f"| {g['score']} ({g['score_raw']}) | {g['wall_s']} s |"
        )
    for name, g in report["groups"].items():
        rows += ["", f"## {name}: survivors", ""]
        for s in g["survivors"]:
            if not s["annotation"]:
                rows += [f"- `{s['where']}` {s['operator']}", "", "```diff", s["diff"], "```"]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.mutation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    with open(CONFIG, "rb") as f:
        config = tomllib.load(f)
    p.add_argument("--groups", default=",".join(config["groups"]))
    p.add_argument("--sample", type=int, default=None, help="mutants per group (0: all)")
    p.add_argument("--seed", type=int, default=config["run"]["seed"])
    p.add_argument("--worktree", action="store_true", help="overlay uncommitted group files")
    p.add_argument("--jobs", type=int, default=1, help="groups run at the same time")
    p.add_argument("--json", default="mutation-results.json")
    p.add_argument("--markdown", default="mutation-results.md")
    p.add_argument(
        "--only-survivors",
        metavar="JSON",
        help="re-run only the survivors of this earlier report (same seed and sample)",
    )
    p.add_argument("--keep", default=None, help="copy each group's work directory here")
    args = p.parse_args(argv)
    names = [n for n in args.groups.split(",") if n]
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {
            n: pool.submit(run_group, n, config["groups"][n], config["run"], args) for n in names
        }
        groups = {n: f.result() for n, f in futures.items()}
    head = _run(["git", "rev-parse", "--short", "HEAD"], ROOT, dict(os.environ)).stdout.strip()
    from importlib.metadata import version

    report = {
        "tool": f"cosmic-ray {version('cosmic-ray')}",
        "commit": head,
        "worktree_overlay": args.worktree,
        "groups": groups,
    }
    Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    Path(args.markdown).write_text(markdown(report))
    for name, g in groups.items():
        print(
            f"{name}: score {g['score']} (raw {g['score_raw']}; killed {g['killed']}, "
            f"survived {g['survived']}, "
            f"timeout {g['timeout']}, incompetent {g['incompetent']}) in {g['wall_s']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
