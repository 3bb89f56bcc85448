"""Plugins: the loader, and the public extension API a plugin's `register()` uses.

A plugin is a Python package that declares an entry point in the group `irforge.plugins`
pointing at a function `register()` (called with no arguments, once, before irforge makes
a Context or runs a pipeline), or a single Python file passed with `--load-plugin FILE.py`
that defines `register()`:

    # pyproject.toml of a plugin
    [project.entry-points."irforge.plugins"]
    my_plugin = "my_plugin:register"

The extension points (docs/plugins.md shows each with an example), importable from here:

- `register_dialect(name, factory)`: a dialect, in every Context;
- `register_reference(op_class, fn)`: the NumPy semantics of a value-semantics op;
- `register_pass(name, factory)`: a pass, in pipelines and irforge-opt;
- `register_pattern_set(name, path)`: a `.pat` file of declarative rewrite patterns;
- `register_graph_lowering(op_class, rule)` (decorator: `lowers(op_class)`): the lowering
  of a graph-level op to tensor-level IR, in convert-graph-to-tensor (`elementwise` and
  `Lowered` help write one);
- `register_llvm_rule(op_class, rule)`: the lowering of a loop-level op to the llvm
  dialect, in convert-loop-to-llvm;
- `register_converter(op_type, fn, domain="")` (decorator: `converter(op_type, domain)`):
  an ONNX operator, of the default domain or a custom one (`com.example`).

Each is loaded on first use, so `import irforge.plugins` stays cheap. A name already taken
is a ValueError that names it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from importlib.metadata import entry_points

_loaded = False

# name -> (module, attribute): the public extension API, imported on first use.
EXTENSION_API = {
    "register_dialect": ("irforge.dialects", "register_dialect"),
    "register_reference": ("irforge.dialects.graph_reference", "register_reference"),
    "register_pass": ("irforge.passes.infra.registry", "register_pass"),
    "register_pattern_set": ("irforge.passes.patterns", "register_pattern_set"),
    "register_graph_lowering": ("irforge.passes.graph_to_tensor.base", "register_graph_lowering"),
    "lowers": ("irforge.passes.graph_to_tensor.base", "lowers"),
    "elementwise": ("irforge.passes.graph_to_tensor.base", "elementwise"),
    "Lowered": ("irforge.passes.graph_to_tensor.base", "Lowered"),
    "register_llvm_rule": ("irforge.passes.loop_to_llvm.base", "register_llvm_rule"),
    "register_converter": ("irforge.frontends.onnx", "register_converter"),
    "converter": ("irforge.frontends.onnx", "converter"),
}

__all__ = [
    "PluginError",
    "load_entry_point_plugins",
    "load_plugin_files",
    *EXTENSION_API,
]


def __getattr__(name: str):
    if name in EXTENSION_API:
        import importlib

        module, attr = EXTENSION_API[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PluginError(ValueError):
    """A plugin could not be loaded: the message names it and the cause."""


def load_entry_point_plugins() -> None:
    """Call `register()` of every installed `irforge.plugins` entry point, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group="irforge.plugins"):
        try:
            ep.load()()
        except Exception as e:
            raise PluginError(f"plugin '{ep.name}' ({ep.value}) failed to load: {e}") from e


def load_plugin_files(paths: Sequence[str]) -> None:
    """Import each file and call its `register()`; installed entry points load first."""
    load_entry_point_plugins()
    for i, path in enumerate(paths):
        spec = importlib.util.spec_from_file_location(f"irforge_plugin_{i}", path)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot load plugin file '{path}'")
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except FileNotFoundError:
            raise PluginError(f"plugin file '{path}' does not exist") from None
        register = getattr(mod, "register", None)
        if register is None:
            raise PluginError(f"plugin file '{path}' defines no register() function")
        register()
