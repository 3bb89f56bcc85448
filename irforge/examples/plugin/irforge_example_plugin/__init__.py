"""An example irforge plugin: the `act` dialect, the `convert-act-to-graph` pass and the
pattern file `act.pat`, registered through the `irforge.plugins` entry point.

irforge calls `register()` once, before it makes a Context or runs a pipeline.
"""

from __future__ import annotations

from pathlib import Path


def register() -> None:
    from irforge.dialects import register_dialect
    from irforge.dialects.graph_reference import register_reference
    from irforge.passes.infra.registry import register_pass
    from irforge.passes.patterns import register_pattern_set
    from irforge_example_plugin import act

    register_dialect("act", lambda: act.Act)
    register_reference(act.LeakyReluOp, act.leaky_relu_reference)
    register_pass("convert-act-to-graph", _convert_pass)
    register_pattern_set("act", Path(__file__).with_name("act.pat"))


def _convert_pass():
    from irforge_example_plugin.convert_act_to_graph import ConvertActToGraphPass

    return ConvertActToGraphPass
