"""Turning errors into user-facing messages for the command-line tools.

Bad input must end in a one-screen message and a non-zero exit, never a Python traceback.
`report` maps irforge's error types to such messages.
"""

from __future__ import annotations

import sys


def report(err: BaseException, filename: str | None = None) -> str:
    """A one-paragraph message for an error raised by irforge on bad input."""
    from irforge.textual_ir import Diagnostic

    if isinstance(err, Diagnostic):
        return err.format()
    where = f"{filename}: " if filename else ""
    return f"{where}error: {err}"


# Errors that mean bad input or a failed compile, not a bug in the tool.
def user_errors() -> tuple[type[BaseException], ...]:
    from irforge.passes.infra.manager import PassFailure, PipelineError
    from irforge.textual_ir import Diagnostic

    errs: list[type[BaseException]] = [Diagnostic, PassFailure, PipelineError, ValueError, OSError]
    return tuple(errs)


def fail(err: BaseException, filename: str | None = None) -> int:
    print(report(err, filename), file=sys.stderr)
    return 1
