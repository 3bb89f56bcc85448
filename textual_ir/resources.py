"""The file metadata block `{-# ... #-}`: dialect resources (the blobs behind
`dense_resource<handle>`) and external resources (tool settings such as `mlir_reproducer`).

    "test.op"() {w = dense_resource<w0> : tensor<2xi32>} : () -> ()
    {-#
      dialect_resources: { builtin: { w0: "0x040000000100000002000000" } },
      external_resources: { mlir_reproducer: { pipeline: "builtin.module(cse)" } }
    #-}

Blobs are stored where xDSL keeps them: in the `OpAsmDialectInterface` of the dialect in
the Context (for `builtin`, one storage shared by every Context, as xDSL's Builtin dialect
is a singleton). So a blob parsed here prints with xDSL's printer and the reverse. When a
handle is already stored with a different blob (another file used the same name), the
handle gets a fresh name from the interface (`w0_0`), as MLIR and xDSL do, and the IR is
rewritten to use it. External resources are not IR: `external_resources(module)` returns
them as a dict (strings and booleans) for tools to read.

Source: https://mlir.llvm.org/docs/LangRef/#dialect-resource-values (file metadata).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lark import Token
from xdsl.context import Context
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import ArrayAttr, DenseResourceAttr, DictionaryAttr, StringAttr
from xdsl.ir import Attribute, Operation

from .diagnostics import Diagnostic

_BLOB = re.compile(r"0x(?:[0-9a-fA-F]{2})*")

ResourceValue = str | bool


class FileMetadata:
    """The metadata of one parsed file: blobs by dialect and handle (after renaming), and
    external resources by group and key."""

    __slots__ = ("dialect_resources", "external_resources")

    def __init__(self) -> None:
        self.dialect_resources: dict[str, dict[str, str]] = {}
        self.external_resources: dict[str, dict[str, ResourceValue]] = {}


class ResourceBuilder:
    """Callbacks of the metadata rules of `generic.lark` (a mixin of `IRBuilder`, which
    provides `error` and `unescape`)."""

    error: Callable[..., Diagnostic]
    unescape: Callable[..., str]

    ctx: Context
    resource_uses: dict[str, Token]

    def reset_resources(self) -> None:
        self.resource_uses = {}
        # dialect -> handle -> (blob, token of the handle); group -> key -> value
        self.blobs: dict[str, dict[str, tuple[str, Token]]] = {}
        self.blob_dialects: dict[str, Token] = {}
        self.external: dict[str, dict[str, ResourceValue]] = {}
        self.has_metadata = False

    def resource_string(self, c):
        return c[0]

    def resource_entry(self, c):
        return c[0], c[1]

    def resource_group(self, c):
        return c[0], c[1]

    def metadata_group(self, c):
        return c[0], c[1]

    def _key(self, tok: Token) -> str:
        return self.unescape(tok) if tok.type == "STRING" else str(tok)

    def top_metadata(self, c):
        self.has_metadata = True
        for kind, groups in c[1]:
            if kind == "dialect_resources":
                self._dialect_resources(groups)
            elif kind == "external_resources":
                for group_tok, entries in groups:
                    group = self.external.setdefault(self._key(group_tok), {})
                    for key_tok, value in entries:
                        key = self._check_new(group, key_tok)
                        group[key] = self.unescape(value) if isinstance(value, Token) else value
            else:
                raise self.error(kind, f"unexpected key in file metadata: '{kind}'")
        return c[0]

    def _check_new(self, table: dict, key_tok: Token) -> str:
        key = self._key(key_tok)
        if key in table:
            raise self.error(key_tok, f"duplicate resource key '{key}'")
        return key

    def _dialect_resources(self, groups) -> None:
        for dialect_tok, entries in groups:
            dialect = self._key(dialect_tok)
            self.blob_dialects.setdefault(dialect, dialect_tok)
            table = self.blobs.setdefault(dialect, {})
            for key_tok, value in entries:
                key = self._check_new(table, key_tok)
                if not isinstance(value, Token):
                    raise self.error(key_tok, f"resource '{key}' must be a hex string blob")
                blob = self.unescape(value)
                if not _BLOB.fullmatch(blob):
                    raise self.error(
                        value, f"resource '{key}': a blob must be a hex string \"0x...\""
                    )
                table[key] = (blob, key_tok)

    def settle_resources(self, module: Operation) -> FileMetadata | None:
        """Store the blobs in the Context's dialect interfaces; rename handles that clash
        with a different stored blob. The file's metadata, or None if it has none."""
        if not self.has_metadata and not self.resource_uses:
            return None
        meta = FileMetadata()
        meta.external_resources = self.external
        renames: dict[str, str] = {}
        dialects = list(self.blobs)
        if self.resource_uses and "builtin" not in self.blobs:
            dialects.append("builtin")
        for dialect in dialects:
            table = self.blobs.get(dialect, {})
            found = self.ctx.get_optional_dialect(dialect)
            iface = found.get_interface(OpAsmDialectInterface) if found is not None else None
            if iface is None:
                if found is None and self.ctx.allow_unregistered:
                    meta.dialect_resources[dialect] = {k: v for k, (v, _) in table.items()}
                    continue
                why = "is not registered" if found is None else "has no resources"
                raise self.error(self.blob_dialects.get(dialect), f"dialect '{dialect}' {why}")
            uses = self.resource_uses if dialect == "builtin" else {}
            stored: dict[str, str] = {}
            for handle in {**uses, **table}:
                blob = table[handle][0] if handle in table else None
                existing = iface.lookup(handle)
                key = handle
                if existing is None:
                    iface.declare_resource(handle)
                elif blob is not None and existing not in ("", blob):
                    if handle not in uses:
                        continue  # an unused blob that clashes: nothing refers to it
                    key = renames[handle] = iface.declare_resource(handle)
                if blob is not None:
                    iface.parse_resource(key, blob)
                    stored[key] = blob
            meta.dialect_resources[dialect] = stored
        if renames:
            _rename_handles(module, renames)
        return meta


def _renamed(attr: Attribute, renames: dict[str, str]) -> Attribute:
    if isinstance(attr, DenseResourceAttr):
        new = renames.get(attr.resource_handle.data)
        return attr if new is None else DenseResourceAttr(StringAttr(new), attr.type)
    if isinstance(attr, ArrayAttr):
        items = [_renamed(a, renames) for a in attr.data]
        changed = any(a is not b for a, b in zip(items, attr.data))
        return ArrayAttr(items) if changed else attr
    if isinstance(attr, DictionaryAttr):
        entries = {k: _renamed(v, renames) for k, v in attr.data.items()}
        changed = any(entries[k] is not v for k, v in attr.data.items())
        return DictionaryAttr(entries) if changed else attr
    return attr


def _rename_handles(module: Operation, renames: dict[str, str]) -> None:
    """Make every `dense_resource<old>` under `module` use its new handle."""
    for op in module.walk():
        for table in (op.properties, op.attributes):
            for name, attr in list(table.items()):
                new = _renamed(attr, renames)
                if new is not attr:
                    table[name] = new


def format_metadata(
    blobs: dict[str, dict[str, str]], external: dict[str, dict[str, Any]] | None
) -> str:
    """The `{-# ... #-}` block for blobs (dialect -> handle -> hex) and external resources,
    one entry per line with sorted keys, as mlir-opt prints it; "" if both are empty."""
    sections = []
    for title, groups in (("dialect_resources", blobs), ("external_resources", external or {})):
        groups = {name: entries for name, entries in groups.items() if entries}
        if not groups:
            continue
        lines = [f"  {title}: {{"]
        group_texts = []
        for name in sorted(groups):
            entries = groups[name]
            body = ",\n".join(
                f"      {_key_text(k)}: {_value_text(entries[k])}" for k in sorted(entries)
            )
            group_texts.append(f"    {_key_text(name)}: {{\n{body}\n    }}")
        lines.append(",\n".join(group_texts))
        lines.append("  }")
        sections.append("\n".join(lines))
    if not sections:
        return ""
    return "{-#\n" + ",\n".join(sections) + "\n#-}\n"


_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_$.]*")


def _key_text(key: str) -> str:
    return key if _BARE.fullmatch(key) else _quote(key)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _quote(str(value))


_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')


def _quote(s: str) -> str:
    if _PLAIN.fullmatch(s):
        return f'"{s}"'
    out = []
    for ch in s:
        if ch in '"\\' or ord(ch) < 0x20:
            out.append("".join(f"\\{b:02X}" for b in ch.encode()))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
