"""Schedule primitives on the loop dialect, and replayable schedules (docs/schedules.md).

Primitives are functions on live `loop.for` ops (xDSL IR) that restructure a nest without
changing what it computes, or raise ScheduleError naming the primitive and the loop:
split, reorder, tile, fuse, unroll, vectorize, parallelize, cache_read (pack). A
`Schedule` is a list of steps (primitive, loop references, arguments) that serializes to
JSON and replays on a fresh copy of the IR.
"""

from .fuse import fuse
from .loops import LoopRef, ScheduleError, find_loop, get_loops, loop_ref
from .pack import cache_read, loaded_buffers, pack
from .parallelize import parallelize
from .schedule import PRIMITIVES, Schedule, Step
from .split import reorder, split, tile
from .unroll import unroll
from .vectorize import vectorize

__all__ = [
    "PRIMITIVES",
    "Schedule",
    "Step",
    "cache_read",
    "loaded_buffers",
    "LoopRef",
    "ScheduleError",
    "find_loop",
    "fuse",
    "get_loops",
    "loop_ref",
    "pack",
    "parallelize",
    "reorder",
    "split",
    "tile",
    "unroll",
    "vectorize",
]
