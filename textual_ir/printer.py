"""Print IR in MLIR's generic operation form, and verify it with source positions.

Printing goes through xDSL's Printer with `print_generic_format=True`, extended with what
mlir-opt does by default and xDSL's printer does not:

    #map = affine_map<(d0, d1) -> (d0, d1)>          // aliases, numbered #map, #map1, ...
    #set = affine_set<(d0) : (d0 >= 0)>
    "builtin.module"() ({ ... "test.op"() {m = #map} : () -> () ... }) : () -> ()
    {-#
      dialect_resources: { builtin: { w0: "0x04000000..." } }   // blobs of dense_resource
    #-}

Affine maps and integer sets are the attributes MLIR's builtin dialect aliases; types get
no aliases (MLIR gives builtin types none either). Alias numbers follow the order in which
the maps first appear in the printed text, so the output is deterministic and xDSL's parser
reads it back. With `debuginfo=True` every op prints its location; an op parsed without a
`loc(...)` prints the position it was parsed from, as mlir-opt does.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import StringIO
from typing import Any

from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import (
    AffineMapAttr,
    AffineSetAttr,
    FileLineColLoc,
    IntAttr,
    StringAttr,
    UnknownLoc,
    UnregisteredOp,
)
from xdsl.ir import Attribute, BlockArgument, Operation
from xdsl.printer import Printer
from xdsl.traits import NoTerminator
from xdsl.utils.exceptions import VerifyException

from .deep import call_deep
from .diagnostics import Diagnostic, at
from .parser import implicit_location, source_of, source_position
from .resources import format_metadata


class _GenericPrinter(Printer):
    """xDSL's Printer with MLIR's affine aliases, parsed positions as locations, and a
    record of the resource handles printed."""

    def __init__(self, stream: StringIO, debuginfo: bool, aliases: bool) -> None:
        super().__init__(stream=stream, print_generic_format=True, print_debuginfo=debuginfo)
        self._use_aliases = aliases
        # attribute -> alias name, in order of first use
        self.alias_names: dict[Attribute, str] = {}
        self._alias_counts = {"map": 0, "set": 0}
        self.handles: dict[str, set[str]] = {}
        self._unregistered: list[Operation] = []

    def print_attribute(self, attribute: Attribute) -> None:
        if self._use_aliases and isinstance(attribute, AffineMapAttr | AffineSetAttr):
            name = self.alias_names.get(attribute)
            if name is None:
                kind = "map" if isinstance(attribute, AffineMapAttr) else "set"
                n = self._alias_counts[kind]
                self._alias_counts[kind] = n + 1
                name = self.alias_names[attribute] = f"#{kind}{n or ''}"
            self.print_string(name)
            return
        super().print_attribute(attribute)

    def print_op(self, op: Operation) -> None:
        if isinstance(op, UnregisteredOp):
            # xDSL's Printer removes and restores `op_name__` around the op: a recursion
            # error in between would lose it, and printing must be safe to retry.
            self._print_results(op)
            self.print_string(f'"{op.op_name.data}"')
            self._unregistered.append(op)
            try:
                self.print_op_with_default_format(op)
            finally:
                self._unregistered.pop()
            return
        super().print_op(op)

    def print_op_attributes(self, attributes, *, reserved_attr_names=(), print_keyword=False):
        if self._unregistered and attributes is self._unregistered[-1].attributes:
            reserved_attr_names = (*reserved_attr_names, "op_name__")
        return super().print_op_attributes(
            attributes, reserved_attr_names=reserved_attr_names, print_keyword=print_keyword
        )

    def print_operation_type(self, op: Operation) -> None:
        self.print_function_type(op.operand_types, op.result_types)
        if self.print_debuginfo:
            self.print_string(" ")
            self._print_location(op)

    def print_block_argument(self, arg: BlockArgument, print_type: bool = True) -> None:
        self.print_ssa_value(arg)
        if print_type:
            self.print_string(": ")
            self.print_attribute(arg.type)
            if self.print_debuginfo:
                self.print_string(" ")
                self._print_location(arg)

    def _print_location(self, node: Operation | BlockArgument) -> None:
        location = node.location
        if isinstance(location, UnknownLoc) and (found := implicit_location(node)):
            name, line, col = found
            location = FileLineColLoc(StringAttr(name), IntAttr(line), IntAttr(col))
        self.print_attribute(location)

    def print_resource_handle(self, dialect: str, handle: str) -> None:
        self.handles.setdefault(dialect, set()).add(handle)
        self.print_string(handle)


def print_module(
    module: Operation,
    *,
    debuginfo: bool = False,
    aliases: bool = True,
    external_resources: Mapping[str, Mapping[str, Any]] | None = None,
    ctx: Any = None,
) -> str:
    """The generic form of `module`, ending in a newline.

    `aliases`: print affine maps and sets once at the top as `#map = ...`, `#set = ...`
    and refer to them by name (mlir-opt's default). `debuginfo`: print `loc(...)` after
    every op (parsed ops without a location print where they were parsed). Blobs of
    `dense_resource` attributes print in a trailing `{-# dialect_resources ... #-}` block;
    `external_resources` (group -> key -> str or bool) are printed in it too if given
    (xDSL's parser cannot read them). `ctx` names the dialects whose resources are looked
    up (default: builtin only). Raises ValueError if the IR nests too deeply to print
    even on a deep stack.
    """
    try:
        return call_deep(_print, module, debuginfo, aliases, external_resources, ctx)
    except RecursionError:
        raise ValueError("IR nests too deeply to print") from None


def _print(module, debuginfo, aliases, external_resources, ctx) -> str:
    body = StringIO()
    printer = _GenericPrinter(body, debuginfo, aliases)
    printer.print_op(module)
    body.write("\n")
    out = StringIO()
    if printer.alias_names:
        plain = _GenericPrinter(out, False, False)
        for attr, name in printer.alias_names.items():
            out.write(f"{name} = ")
            plain.print_attribute(attr)
            out.write("\n")
    out.write(body.getvalue())
    metadata = format_metadata(_blobs(printer.handles, ctx), external_resources)
    if metadata:
        out.write("\n" + metadata)
    return out.getvalue()


def _blobs(handles: dict[str, set[str]], ctx: Any) -> dict[str, dict[str, str]]:
    """dialect -> handle -> blob for the handles printed that have a stored blob."""
    blobs: dict[str, dict[str, str]] = {}
    for dialect_name, keys in handles.items():
        if ctx is not None:
            dialect = ctx.get_optional_dialect(dialect_name)
        elif dialect_name == "builtin":
            from xdsl.dialects.builtin import Builtin as dialect
        else:
            dialect = None
        iface = dialect.get_interface(OpAsmDialectInterface) if dialect is not None else None
        if iface is not None:
            blobs[dialect_name] = iface.build_resources(keys)
    return blobs


def _op_error(op: Operation) -> Exception | None:
    """The verification error of `op` alone (nested ops not verified), if any."""
    try:
        op.verify(verify_nested_ops=False)
    except VerifyException as e:
        return e
    except Exception as e:  # a verifier that crashes is still this op's failure
        return VerifyException(f"verifier raised {type(e).__name__}: {e}")
    for region in op.regions:
        if len(region.blocks) == 1 and not region.block.ops and not op.has_trait(NoTerminator):
            return VerifyException(
                f"Operation {op.name} contains empty block in single-block region that "
                "expects at least a terminator"
            )
    return None


def verify_module(module: Operation, filename: str | None = None) -> None:
    """Verify `module`; a failure becomes a Diagnostic at the failing op's source position.

    The op that failed is found by verifying ops one by one, innermost first (as xDSL's own
    verifier meets them). Its message is prefixed with `'op.name' op` unless it already
    names the op. Ops not made by the parser are reported at the module's position.
    """
    try:
        call_deep(module.verify)
        return
    except RecursionError:
        failing, error = module, VerifyException("IR nests too deeply to verify")
    except Exception as e:
        failing, error = module, e
        for op in module.walk(reverse=False, region_first=True):
            err = _op_error(op)
            if err is not None:
                failing, error = op, err
                break
    message = str(error.args[0]) if error.args else str(error)
    if not message.startswith("'"):
        message = f"'{failing.name}' op {message}"
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    source = source_of(module)
    name = filename or (source[0] if source else "<unknown>")
    line, col = _position(failing, module)
    raise at(name, source[1] if source else "", line, col, message)


def _position(op: Operation, module: Operation) -> tuple[int, int]:
    """The source position of `op`, else of its nearest parsed ancestor."""
    node: Operation | None = op
    while node is not None:
        pos = source_position(node)
        if pos is not None:
            return pos
        node = node.parent_op()
    return source_position(module) or (1, 1)


__all__ = ["Diagnostic", "print_module", "verify_module"]
