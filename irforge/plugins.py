"""The plugin loader: plugins add dialects, passes and frontends without changing irforge.

A plugin is a Python package that declares an entry point in the group `irforge.plugins`
pointing at a function `register()` (called with no arguments), or a single Python file
passed with `--load-plugin FILE.py` that defines `register()`. `register` uses
`irforge.dialects.register_dialect` and `irforge.passes.infra.registry.register_pass`:

    # pyproject.toml of a plugin
    [project.entry-points."irforge.plugins"]
    my_plugin = "my_plugin:register"
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from importlib.metadata import entry_points

_loaded = False


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
