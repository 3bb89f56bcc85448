"""NumPy reference semantics of the graph dialect's math ops (dialects/graph_math.py),
following the ONNX operator specifications; merged into graph_reference.REFERENCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

REFERENCE: dict[type[Operation], Callable[..., np.ndarray]] = {}
