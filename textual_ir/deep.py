"""Run recursive code (xDSL's printer and verifier, hashing of nested attributes) on IR
that nests deeper than Python's default recursion limit allows.

`call_deep(fn, *args)` calls `fn` directly; only if that overflows the recursion limit is
the call repeated in a helper thread with a large stack and a raised recursion limit, so
the common case costs nothing. Regions or arrays nested ~30,000 deep fit; deeper still
raises RecursionError, which callers turn into a clean error.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# A thread stack of 512 MiB (address space, committed only as used) holds the C frames of
# ~250k nested Python calls made through C (such as __hash__ of nested tuples), measured at
# well under 1 KiB each on CPython 3.11; the recursion limit stops Python before that.
STACK_BYTES = 512 << 20
RECURSION_LIMIT = 250_000

_limit_lock = threading.Lock()


def call_deep(fn: Callable[..., T], *args, **kwargs) -> T:
    """`fn(*args, **kwargs)`, retried on a deep stack if it raises RecursionError.

    `fn` must be safe to run twice (it is re-run from the start). Exceptions of the retry
    propagate to the caller, RecursionError included.
    """
    try:
        return fn(*args, **kwargs)
    except RecursionError:
        pass
    outcome: list = [None, None]

    def run() -> None:
        try:
            outcome[0] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the calling thread
            outcome[1] = e

    # The recursion limit is process-wide: raise it only while the helper runs.
    with _limit_lock:
        old_limit = sys.getrecursionlimit()
        old_stack = threading.stack_size()
        try:
            threading.stack_size(STACK_BYTES)
            worker = threading.Thread(target=run, name="irforge-deep-ir", daemon=True)
            sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
            worker.start()
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
            threading.stack_size(old_stack)
    if outcome[1] is not None:
        raise outcome[1]
    return outcome[0]
