"""An example irforge plugin, registered through the `irforge.plugins` entry point, that
uses every extension point of `irforge.plugins` with public names only:

- the `act` dialect (act.leaky_relu, act.swish) and their NumPy reference semantics;
- the pass `convert-act-to-graph` (act.leaky_relu as graph ops) and the pattern file
  `act.pat`;
- act.swish's own lowering to tensor-level IR (lower_swish.py), so it reaches native code
  without graph ops;
- the ONNX operator `com.example.Swish` (onnx_converters.py), so a model in that custom
  domain imports, compiles and runs.

irforge calls `register()` once, before it makes a Context or runs a pipeline.
"""

from __future__ import annotations

from pathlib import Path


def register() -> None:
    from irforge.plugins import (
        register_converter,
        register_dialect,
        register_graph_lowering,
        register_pass,
        register_pattern_set,
        register_reference,
    )
    from irforge_example_plugin import act, lower_swish, onnx_converters

    register_dialect("act", lambda: act.Act)
    register_reference(act.LeakyReluOp, act.leaky_relu_reference)
    register_reference(act.SwishOp, act.swish_reference)
    register_pass("convert-act-to-graph", _convert_pass)
    register_pattern_set("act", Path(__file__).with_name("act.pat"))
    register_graph_lowering(act.SwishOp, lower_swish.lower_swish)
    register_converter("Swish", onnx_converters.convert_swish, domain=onnx_converters.DOMAIN)


def _convert_pass():
    from irforge_example_plugin.convert_act_to_graph import ConvertActToGraphPass

    return ConvertActToGraphPass
