"""Generate the dialect reference pages (docs/dialects/*.md) from the op definitions.

    python -m irforge.docgen docs/dialects

Each page lists the dialect's ops with their docstring, operands, results, properties and
regions, read from the IRDL definitions, so the reference cannot drift from the code
(tests/test_docs.py checks the committed pages are current).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from xdsl.ir import Dialect


def _dialects() -> list[Dialect]:
    from irforge.dialects.graph import Graph
    from irforge.dialects.loop import Loop
    from irforge.dialects.tensor import Tensor

    return [Graph, Tensor, Loop]


def dialect_page(dialect: Dialect) -> str:
    module = sys.modules[next(iter(dialect.operations)).__module__]
    lines = [f"# The `{dialect.name}` dialect", ""]
    lines += [inspect.cleandoc(module.__doc__ or ""), "", "## Operations", ""]
    for op in dialect.operations:
        op_def = op.get_irdl_definition()
        lines += [f"### `{op.name}`", "", inspect.cleandoc(op.__doc__ or "(undocumented)"), ""]
        rows = []
        for name, d in op_def.operands:
            rows.append(f"| operand | `{name}` | {type(d).__name__} |")
        for name, d in op_def.results:
            rows.append(f"| result | `{name}` | {type(d).__name__} |")
        for name, d in op_def.properties.items():
            default = getattr(d, "default_value", None)
            extra = f" (default `{default}`)" if default is not None else ""
            rows.append(f"| property | `{name}` | {type(d).__name__}{extra} |")
        for name, _ in op_def.regions:
            rows.append(f"| region | `{name}` | |")
        if rows:
            lines += ["| kind | name | definition |", "|---|---|---|", *rows, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_pages(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for d in _dialects():
        path = folder / f"{d.name}.md"
        path.write_text(dialect_page(d), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dialects")
    for p in write_pages(target):
        print(p)
