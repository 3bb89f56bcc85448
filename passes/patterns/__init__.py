"""Declarative rewrite patterns (in the spirit of MLIR's DRR and PDLL) and their driver.

    // x * 1 -> x
    pattern mul_one { match graph.mul(x, c) where c is splat 1.0 and type(root) == type(x)
                      rewrite x }

- model.py: the pattern data (`Pattern`, `Op`, `Var`, `Lit`, `Call`, ...), the one Python
  constructor the text syntax parses into;
- syntax.py + pattern.lark: the pattern language, FILE:LINE:COL errors;
- natives.py: builtins and `@native_constraint` / `@native_function` / `@native_rewrite`;
- compile.py: patterns -> xDSL RewritePatterns (`CompiledPattern`); the operands of ops
  with xDSL's `Commutative` trait match in either order;
- driver.py: the greedy worklist driver (`apply_patterns`);
- sets.py: named pattern sets (`all_patterns()`, `register_pattern_set`);
- legality.py: conversion targets and the illegal-op report of convert-X-to-Y passes.

Documentation: docs/patterns.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module, imported on first use (keeps `import irforge.passes.patterns` and
# the passes that only need legality.py light).
_EXPORTS = {
    "And": "irforge.passes.patterns.model",
    "Call": "irforge.passes.patterns.model",
    "Cmp": "irforge.passes.patterns.model",
    "CompiledPattern": "irforge.passes.patterns.compile",
    "ConversionTarget": "irforge.passes.patterns.legality",
    "IllegalOp": "irforge.passes.patterns.legality",
    "IllegalOpsError": "irforge.passes.patterns.legality",
    "register_locator": "irforge.passes.patterns.legality",
    "DriverResult": "irforge.passes.patterns.driver",
    "GreedyDriver": "irforge.passes.patterns.driver",
    "List": "irforge.passes.patterns.model",
    "Lit": "irforge.passes.patterns.model",
    "Not": "irforge.passes.patterns.model",
    "Op": "irforge.passes.patterns.model",
    "Or": "irforge.passes.patterns.model",
    "Pattern": "irforge.passes.patterns.model",
    "PatternApplicationError": "irforge.passes.patterns.compile",
    "PatternError": "irforge.passes.patterns.model",
    "PatternSet": "irforge.passes.patterns.sets",
    "PatternSyntaxError": "irforge.passes.patterns.syntax",
    "RewriteNotConverging": "irforge.passes.patterns.driver",
    "Var": "irforge.passes.patterns.model",
    "all_patterns": "irforge.passes.patterns.sets",
    "apply_patterns": "irforge.passes.patterns.driver",
    "compile_pattern": "irforge.passes.patterns.compile",
    "compile_patterns": "irforge.passes.patterns.compile",
    "is_commutative": "irforge.passes.patterns.compile",
    "is_splat": "irforge.passes.patterns.model",
    "load_patterns": "irforge.passes.patterns.syntax",
    "native_constraint": "irforge.passes.patterns.natives",
    "native_function": "irforge.passes.patterns.natives",
    "native_rewrite": "irforge.passes.patterns.natives",
    "one_use": "irforge.passes.patterns.model",
    "parse_pattern": "irforge.passes.patterns.syntax",
    "parse_patterns": "irforge.passes.patterns.syntax",
    "pattern_set": "irforge.passes.patterns.sets",
    "register_pattern_set": "irforge.passes.patterns.sets",
    "register_type_inference": "irforge.passes.patterns.compile",
    "same_type": "irforge.passes.patterns.model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'irforge.passes.patterns' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
