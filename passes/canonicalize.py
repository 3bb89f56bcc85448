"""`canonicalize`: xDSL's canonicalizer (folding, canonicalization patterns, dead code).

Reused as it is: it applies every registered op's folders and canonicalization patterns
with a greedy driver and removes dead pure ops.
"""

from xdsl.transforms.canonicalize import CanonicalizePass

__all__ = ["CanonicalizePass"]
