"""`PassFailure`: the error the pass manager raises for a pass that failed (shared by the
manager and the instrumentations that report it, so that neither imports the other)."""

from __future__ import annotations


class PassFailure(Exception):
    """A pass raised, or left IR that does not verify. `pass_name` names the pass; `op` is
    the op it ran on; `reproducer` the crash reproducer written for it, if any."""

    def __init__(self, pass_name: str, message: str, op=None, pass_=None):
        super().__init__(f"pass '{pass_name}' {message}")
        self.pass_name = pass_name
        self.op = op
        self.pass_ = pass_
        self.reproducer: str | None = None
        self.reproducer_error: str | None = None
