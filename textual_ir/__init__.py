"""Textual IR: MLIR's generic operation form, parsed with lark and printed with xDSL.

    module = parse_module(text, ctx, "model.mlir")   # Diagnostic on malformed input
    verify_module(module, "model.mlir")              # Diagnostic at the failing op
    text = print_module(module)                      # generic form, deterministic
    external_resources(module)                       # {-# external_resources #-} as a dict

`print_module` prints affine maps and sets as `#map`/`#set` aliases (`aliases=False` to
inline them), `loc(...)` with `debuginfo=True` (parsed positions for ops without one), and
the blobs of `dense_resource` attributes in a trailing `{-# dialect_resources #-}` block.
`parse_file` reads a path or bytes; `decode_source(data, filename)` decodes bytes (invalid
UTF-8 is a Diagnostic at the bad byte). Every error is a `Diagnostic` whose `format()` gives
`FILE:LINE:COL: error: MESSAGE`, the source line and a caret. This package imports only xDSL
and lark: it parses into whatever Context it is given.
"""

from .diagnostics import Diagnostic, decode_source
from .parser import (
    external_resources,
    file_metadata,
    parse_file,
    parse_module,
    source_position,
)
from .printer import print_module, verify_module

__all__ = [
    "Diagnostic",
    "decode_source",
    "external_resources",
    "file_metadata",
    "parse_file",
    "parse_module",
    "print_module",
    "source_position",
    "verify_module",
]
