"""convert-graph-to-tensor rules for the graph dialect's nn ops (dialects/graph_nn.py).

Each rule is an xDSL RewritePattern that replaces one graph op by tensor.generic ops;
`PATTERNS` is added to the pass in passes/convert_graph_to_tensor.py.
"""

from __future__ import annotations

from xdsl.pattern_rewriter import RewritePattern

PATTERNS: list[RewritePattern] = []
