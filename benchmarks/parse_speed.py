"""Parse and print speed of irforge's textual IR against xDSL's own parser and printer.

A generated generic-form file of ~10,000 ops (functions mixing graph ops on tensors,
tensor.generic with affine maps and a scalar body, loop nests over memrefs, arith ops, and
dense constants) is parsed and printed `--rounds` times; the four measurements take turns
within each round, and each figure is the median over rounds, in lines per second of the
input (for parsing) or of the output (for printing).

irforge's parser switches Python's cyclic GC off while it builds IR (IR is all reference
cycles, so the collector would rescan the growing heap for nothing). xDSL's parser leaves
the GC on. For a fair comparison the parse figures are also reported with the same GC
setting for both: GC on for both, and GC off for both.

    python -m irforge.benchmarks.parse_speed [--ops 10000] [--rounds 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from io import StringIO


def _graph_block(r: random.Random, k: int, lines: list[str]) -> None:
    t = "tensor<4x8xf32>"
    values = [f"{r.uniform(-2, 2):.6e}" for _ in range(8)]
    lines += [
        f'    %w{k} = "graph.constant"() <{{value = dense<[[{", ".join(values)}], '
        f"[{', '.join(values[::-1])}], [{', '.join(values)}], [{', '.join(values[::-1])}]]> "
        f": {t}}}> : () -> {t}",
        f'    %a{k} = "graph.add"(%x, %w{k}) : ({t}, {t}) -> {t}',
        f'    %r{k} = "graph.relu"(%a{k}) : ({t}) -> {t}',
        f'    %m{k} = "graph.mul"(%r{k}, %w{k}) : ({t}, {t}) -> {t}',
    ]


def _generic_block(k: int, lines: list[str]) -> None:
    lines += [
        f'    %e{k} = "tensor.empty"() : () -> tensor<4xf32>',
        f'    %s{k} = "tensor.generic"(%x, %e{k}) <{{indexing_maps = '
        "[affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], "
        'iterator_types = ["parallel", "reduction"], operandSegmentSizes = array<i32: 1, 1>}> ({',
        f"    ^bb0(%in{k}: f32, %acc{k}: f32):",
        f'      %p{k} = "arith.mulf"(%in{k}, %in{k}) <{{fastmath = #arith.fastmath<none>}}> '
        ": (f32, f32) -> f32",
        f'      %q{k} = "arith.addf"(%acc{k}, %p{k}) <{{fastmath = #arith.fastmath<none>}}> '
        ": (f32, f32) -> f32",
        f'      "tensor.yield"(%q{k}) : (f32) -> ()',
        "    }) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4xf32>",
    ]


def _loop_block(r: random.Random, k: int, lines: list[str]) -> None:
    m = "memref<4x8xf32>"
    lines += [
        f'    %c{k} = "arith.constant"() <{{value = {r.uniform(0, 4):.6e} : f32}}> : () -> f32',
        f'    %t{k} = "loop.alloc"() : () -> {m}',
        '    "loop.for"(%c0, %c4, %c1) <{parallel}> ({',
        f"    ^bb0(%i{k}: index):",
        '      "loop.for"(%c0, %c8, %c1) ({',
        f"      ^bb0(%j{k}: index):",
        f'        %v{k} = "loop.load"(%buf, %i{k}, %j{k}) : ({m}, index, index) -> f32',
        f'        %u{k} = "arith.mulf"(%v{k}, %c{k}) <{{fastmath = #arith.fastmath<none>}}> '
        ": (f32, f32) -> f32",
        f'        "loop.store"(%u{k}, %t{k}, %i{k}, %j{k}) : (f32, {m}, index, index) -> ()',
        '        "loop.yield"() : () -> ()',
        "      }) : (index, index, index) -> ()",
        '      "loop.yield"() : () -> ()',
        "    }) : (index, index, index) -> ()",
        f'    "loop.dealloc"(%t{k}) : ({m}) -> ()',
    ]


def _arith_block(r: random.Random, k: int, lines: list[str]) -> None:
    lines += [
        f'    %n{k} = "arith.constant"() <{{value = {r.randrange(1000)} : index}}> : () -> index',
        f'    %o{k} = "arith.muli"(%n{k}, %c4) <{{overflowFlags = #arith.overflow<none>}}> '
        ": (index, index) -> index",
        f'    %b{k} = "arith.cmpi"(%o{k}, %c8) <{{predicate = 2 : i64}}> : (index, index) -> i1',
        f'    %z{k} = "arith.select"(%b{k}, %o{k}, %n{k}) : (i1, index, index) -> index',
    ]


# ops in each block kind, to count toward the target
_OPS = {"graph": 4, "generic": 5, "loop": 11, "arith": 4}


def generate(n_ops: int, seed: int = 0) -> str:
    """A generic-form module of about `n_ops` ops in functions of ~100 ops each."""
    r = random.Random(seed)
    lines = ['"builtin.module"() ({']
    count = f = 0
    while count < n_ops:
        lines += [
            f'  "func.func"() <{{sym_name = "f{f}", function_type = '
            "(tensor<4x8xf32>, memref<4x8xf32>) -> tensor<4x8xf32>}> ({",
            "  ^bb0(%x: tensor<4x8xf32>, %buf: memref<4x8xf32>):",
        ]
        for i, c in ((0, 0), (1, 1), (4, 4), (8, 8)):
            lines.append(f'    %c{c} = "arith.constant"() <{{value = {i} : index}}> : () -> index')
        count += 5  # the function, its constants
        in_func = 0
        while in_func < 100:
            kind = r.choice(list(_OPS))
            k = count + in_func
            if kind == "graph":
                _graph_block(r, k, lines)
            elif kind == "generic":
                _generic_block(k, lines)
            elif kind == "loop":
                _loop_block(r, k, lines)
            else:
                _arith_block(r, k, lines)
            in_func += _OPS[kind]
        lines += ['    "func.return"(%x) : (tensor<4x8xf32>) -> ()', "  }) : () -> ()"]
        count += in_func + 1
        f += 1
    lines.append("}) : () -> ()")
    return "\n".join(lines) + "\n"


def _time(fn: Callable[[], object], gc_off: bool) -> tuple[float, object]:
    was = gc.isenabled()
    if gc_off:
        gc.disable()
    try:
        t = time.perf_counter()
        out = fn()
        return time.perf_counter() - t, out
    finally:
        if was:
            gc.enable()
        gc.collect()


def run(n_ops: int, rounds: int) -> dict:
    from xdsl.parser import Parser
    from xdsl.printer import Printer

    from irforge.dialects import make_dialect_context
    from irforge.textual_ir import parse_module, print_module
    from irforge.textual_ir import parser as irforge_parser

    text = generate(n_ops)
    ctx = make_dialect_context()
    lines_in = text.count("\n")
    module = parse_module(text, ctx)  # warm-up: builds the LALR tables
    ops = sum(1 for _ in module.walk())
    printed = print_module(module)
    lines_out = printed.count("\n")

    def ours_gc_on():
        irforge_parser.DISABLE_GC = False
        try:
            return parse_module(text, ctx)
        finally:
            irforge_parser.DISABLE_GC = True

    def xdsl_print(m):
        out = StringIO()
        Printer(stream=out, print_generic_format=True).print_op(m)
        return out.getvalue()

    times: dict[str, list[float]] = {
        k: []
        for k in (
            "irforge parse",
            "xdsl parse",
            "irforge parse (GC on)",
            "xdsl parse (GC off)",
            "irforge print",
            "xdsl print",
        )
    }
    for _ in range(rounds):
        dt, ours = _time(lambda: parse_module(text, ctx), gc_off=False)
        times["irforge parse"].append(dt)
        dt, theirs = _time(lambda: Parser(ctx, text).parse_module(), gc_off=False)
        times["xdsl parse"].append(dt)
        times["irforge parse (GC on)"].append(_time(ours_gc_on, gc_off=False)[0])
        times["xdsl parse (GC off)"].append(
            _time(lambda: Parser(ctx, text).parse_module(), gc_off=True)[0]
        )
        times["irforge print"].append(_time(partial(print_module, ours), gc_off=False)[0])
        times["xdsl print"].append(_time(partial(xdsl_print, theirs), gc_off=False)[0])
        del ours, theirs

    med = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: (lines_out if "print" in k else lines_in) / v for k, v in med.items()}  # lines/s
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "ops": ops,
        "lines_in": lines_in,
        "lines_out": lines_out,
        "bytes_in": len(text),
        "rounds": rounds,
        "median_seconds": med,
        "lines_per_second": rate,
        "ratios": {
            "parse irforge/xdsl (each with its default GC setting)": rate["irforge parse"]
            / rate["xdsl parse"],
            "parse irforge/xdsl (GC on for both)": rate["irforge parse (GC on)"]
            / rate["xdsl parse"],
            "parse irforge/xdsl (GC off for both)": rate["irforge parse"]
            / rate["xdsl parse (GC off)"],
            "print irforge/xdsl": rate["irforge print"] / rate["xdsl print"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=10_000, help="ops in the generated file")
    p.add_argument("--rounds", type=int, default=7, help="rounds (the median is reported)")
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    res = run(args.ops, args.rounds)
    print(
        f"{res['ops']} ops, {res['lines_in']} lines in, {res['lines_out']} lines printed, "
        f"median of {res['rounds']} rounds (Python {res['python']})"
    )
    for name, r in res["lines_per_second"].items():
        print(f"  {name:24s} {r:10.0f} lines/s   ({res['median_seconds'][name]:.3f} s)")
    for name, x in res["ratios"].items():
        print(f"  {name:56s} {x:5.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
