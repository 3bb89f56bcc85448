"""Print IR in MLIR's generic operation form, and verify it with source positions.

Printing goes through xDSL's Printer with `print_generic_format=True`: the output is what
xDSL's parser and mlir-opt read back, and is deterministic (names come from name hints,
then numbering in program order).
"""

from __future__ import annotations

from io import StringIO

from xdsl.ir import Operation
from xdsl.printer import Printer
from xdsl.traits import NoTerminator
from xdsl.utils.exceptions import VerifyException

from irforge.textual_ir.diagnostics import Diagnostic, at
from irforge.textual_ir.parser import source_of, source_position


def print_module(module: Operation, *, debuginfo: bool = False) -> str:
    """The generic form of `module`, ending in a newline; `debuginfo` prints `loc(...)`.

    Raises ValueError if the IR nests too deeply for Python's recursion limit.
    """
    out = StringIO()
    printer = Printer(stream=out, print_generic_format=True, print_debuginfo=debuginfo)
    try:
        printer.print_op(module)
    except RecursionError:
        raise ValueError("IR nests too deeply to print") from None
    out.write("\n")
    return out.getvalue()


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
        module.verify()
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
