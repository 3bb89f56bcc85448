"""The terminal table of `python -m benchmarks`: one table per suite (a row per case: each
engine's median in the suite's unit with its interquartile spread in percent, the ratios
and the correctness check), the BLAS report, then issue 6's targets with a PASS / SHORT /
FAIL (wrong results) mark. Uses `rich` when it is installed, plain text otherwise.
"""

from __future__ import annotations

from typing import TextIO

SHORT = {
    "numpy (OpenBLAS env unset)": "numpy*",
    "irforge (preallocated out)": "irforge prealloc",
    "numpy expression": "np expr",
    "onnxruntime": "ORT",
}


def _short(name: str) -> str:
    for long, short in SHORT.items():
        name = name.replace(long, short)
    return name


def _fmt(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if v >= 0.1 else f"{v:.3g}"


def _spread(e: dict) -> str:
    return f"{100 * (e['q3_s'] - e['q1_s']) / (2 * e['median_s']):.0f}%"


def suite_rows(suite: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a suite's table."""
    cases = suite["cases"]
    engines: list[str] = []
    ratios: list[str] = []
    for c in cases:
        engines += [e for e in c["engines"] if e not in engines]
        ratios += [r for r in c["ratios"] if r not in ratios]
    header = ["case", *map(_short, engines), *map(_short, ratios), "check"]
    rows = []
    for c in cases:
        row = [c["label"]]
        for e in engines:
            st = c["engines"].get(e)
            row.append(f"{_fmt(st['value'])} ±{_spread(st)}" if st else "-")
        for r in ratios:
            v = c["ratios"].get(r)
            row.append("-" if v is None else f"{v:.2f}x" if v >= 0.1 else f"{v:.2g}x")
        ck = c.get("check", {})
        if ck.get("allclose") is True:
            row.append("ok")
        elif ck.get("error"):
            row.append("not run")
        else:
            row.append(f"WRONG (max diff {ck.get('max_abs_diff', 'not checked')})")
        rows.append(row)
    return header, rows


def _plain(title: str, header: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}", file=out)
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        print("  ".join(cells), file=out)


def _rich(title: str, header: list[str], rows: list[list[str]], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    Console(file=out, width=200).print(table)


def _blas_lines(blas: dict) -> list[str]:
    lines = []
    for key, label in (
        ("in_process", f"numpy (this process, env {blas['in_process_env']})"),
        ("child_without_pinning_env", "numpy* (child process, OPENBLAS_CORETYPE/L2_SIZE unset)"),
    ):
        entries = blas[key]
        if isinstance(entries, str):
            lines.append(f"  {label}: {entries}")
            continue
        for e in entries:
            desc = ", ".join(f"{k}={v}" for k, v in e.items())
            lines.append(f"  {label}: {desc}")
    return lines


def render(res: dict, out: TextIO) -> None:
    try:
        import rich  # noqa: F401

        table = _rich
    except ImportError:
        table = _plain
    m = res["machine"]
    print(
        f"irforge benchmarks {res['started_utc']}: {m['llvm_host_cpu']}, "
        f"{m['cpus_available']} cpus, numpy {m['numpy']}, onnxruntime {m['onnxruntime']}"
        f"{' (--quick: sizes too small to mean anything)' if res['config']['quick'] else ''}",
        file=out,
    )
    print(
        "figures: median ±(IQR/2 in % of the median); ratio = peer time / irforge time "
        "(>1: irforge faster); check: irforge vs peer, np.allclose",
        file=out,
    )
    cpus = m["cpus_available"] or 1
    for name, suite in res["suites"].items():
        if "error" in suite:
            print(f"\n{name}: FAILED: {suite['error']}", file=out)
            continue
        header, rows = suite_rows(suite)
        table(f"{name} ({suite['unit']})", header, rows, out)
        load = [x for x in suite.get("loadavg_1min", []) if x is not None]
        if load and max(load) > cpus + 0.5:
            print(
                f"  warning: load average {'/'.join(f'{x:.1f}' for x in load)} (start/end) on "
                f"{cpus} cpus: other processes competed, multi-thread figures suffer most",
                file=out,
            )
        if "blas" in suite:
            print("\n".join(_blas_lines(suite["blas"])), file=out)
        for t, tot in suite.get("totals", {}).items():
            secs = ", ".join(f"{_short(k)} {v * 1e3:.1f} ms" for k, v in tot["seconds"].items())
            print(
                f"  all ResNet-50 convs, {t}: {secs} "
                f"(irforge {tot['irforge_over_onnxruntime_time']:.2f}x ORT time)",
                file=out,
            )
        for c in suite["cases"]:
            if "irforge_compile_phases_s" in c:
                phases = ", ".join(f"{k} {v:.2f}" for k, v in c["irforge_compile_phases_s"].items())
                print(
                    f"  irforge compile {c['label']}: {c['irforge_compile_s']:.1f} s ({phases})",
                    file=out,
                )
        for note in suite.get("notes", []):
            print(f"  note: {note}", file=out)
    print("\ntargets (issues 6 and 7)", file=out)
    for t in res["targets"]:
        print(f"  {target_line(t)}", file=out)


def target_line(t: dict) -> str:
    """A target's line: PASS, SHORT (its figure misses the goal), n/a (not measured) or FAIL
    (a row it judges has wrong results: its figure means nothing, however good)."""
    wrong = t.get("wrong_rows", 0)
    if wrong:
        rows = f"{wrong} row{'s' if wrong > 1 else ''}"
        return f"[FAIL ] {t['name']}: FAIL (wrong results in {rows}; figure {t['shown']})"
    mark = {True: "PASS", False: "SHORT", None: "n/a"}[t["met"]]
    return f"[{mark:5s}] {t['name']}: {t['shown']} (goal: {t['goal']})"
