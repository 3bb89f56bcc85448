"""Textual IR: MLIR's generic operation form, parsed with lark and printed with xDSL.

    module = parse_module(text, ctx, "model.mlir")   # Diagnostic on malformed input
    verify_module(module, "model.mlir")              # Diagnostic at the failing op
    text = print_module(module)                      # generic form, deterministic

`parse_file` reads a path or bytes; `decode_source(data, filename)` decodes bytes (invalid
UTF-8 is a Diagnostic at the bad byte). Every error is a `Diagnostic` whose `format()` gives
`FILE:LINE:COL: error: MESSAGE`, the source line and a caret. This package imports only xDSL
and lark: it parses into whatever Context it is given.
"""

from irforge.textual_ir.diagnostics import Diagnostic, decode_source
from irforge.textual_ir.parser import parse_file, parse_module, source_position
from irforge.textual_ir.printer import print_module, verify_module

__all__ = [
    "Diagnostic",
    "decode_source",
    "parse_file",
    "parse_module",
    "print_module",
    "source_position",
    "verify_module",
]
