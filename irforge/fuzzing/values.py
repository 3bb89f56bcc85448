"""Float32 test data for the fuzzers, with the special values that guards exist for.

Rewrites that are right for ordinary numbers can be wrong for NaN, ±Inf, ±0.0, subnormals
or values whose product overflows (x·0 -> 0 is wrong for x = Inf; a reassociation can
overflow). A fuzzer fills each array from a seeded NumPy generator (hypothesis draws the
seed) with one of these *mixes*, drawn from the same generator with `MIX_WEIGHTS` (drawing
it with hypothesis would let its preference for simple choices starve the special mixes):

- `normal`: standard normal values;
- `special`: each element, with probability 1/2, one of `SPECIAL_F32` (NaN, ±Inf, ±0.0,
  the smallest and largest subnormals, ±the smallest normal, ±the largest finite value,
  ±1e20 whose square overflows, ±1), else standard normal;
- `nonfinite`: as `special`, with at least one NaN or ±Inf at a random position (guards
  such as `is_finite_constant` exist for exactly these, and small arrays would often miss
  them);
- `huge`: standard normal times 1e19 (products overflow to ±Inf, sums may not);
- `tiny`: standard normal times 1e-39 (subnormal: flushing them to zero is visible);
- `exact`: each element, with probability 0.3, one of `EXACT_SPECIAL_F32`, else standard
  normal (never drawn by default: see `EXACT_SPECIAL_F32`).

Comparisons (`assert_same`) treat NaN as equal to NaN, ±Inf as equal only to themselves,
and -0.0 as equal to +0.0: IEEE 754 says -0.0 == +0.0, and rewrites such as x + 0 -> x
legitimately change the sign of a zero result (docs/fuzzing.md).
"""

from __future__ import annotations

import numpy as np

_F32 = np.finfo(np.float32)

SPECIAL_F32 = np.array(
    [
        np.nan,
        np.inf,
        -np.inf,
        0.0,
        -0.0,
        _F32.smallest_subnormal,
        _F32.smallest_normal - _F32.smallest_subnormal,  # the largest subnormal
        _F32.smallest_normal,
        -_F32.smallest_normal,
        _F32.max,
        -_F32.max,
        1e20,
        -1e20,
        1.0,
        -1.0,
    ],
    dtype=np.float32,
)
"""The special float32 values a `special` mix draws from."""

EXACT_SPECIAL_F32 = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -2e-39], dtype=np.float32)
"""Special values whose results do not depend on evaluation order: zeros of both signs,
infinities, NaN and subnormals (no value here overflows when summed in another order). The
program fuzzer compares whole compiled programs with the reference, so it draws only these
(the `exact` mix); the rewrite fuzzer draws all of `SPECIAL_F32`."""

MIXES = ("normal", "special", "nonfinite", "huge", "tiny", "exact")
"""The kinds of data an array can be filled with."""

MIX_WEIGHTS = (0.3, 0.2, 0.3, 0.1, 0.1, 0.0)
"""How often `fill` picks each mix when it is not given one."""


def fill(rng: np.random.Generator, shape: tuple[int, ...], mix: str | None = None) -> np.ndarray:
    """A float32 array of `shape` filled according to `mix` (one of `MIXES`; None: one
    drawn from `rng` with `MIX_WEIGHTS`).

    Raises ValueError for an unknown mix.
    """
    if mix is None:
        mix = MIXES[rng.choice(len(MIXES), p=MIX_WEIGHTS)]
    data = rng.standard_normal(shape).astype(np.float32)
    if mix == "normal":
        return data
    if mix in ("special", "nonfinite"):
        pick = rng.random(shape) < 0.5
        data[pick] = rng.choice(SPECIAL_F32, size=int(pick.sum()))
        if mix == "nonfinite" and data.size:
            data.flat[rng.integers(data.size)] = rng.choice(SPECIAL_F32[:3])
        return data
    if mix == "exact":
        pick = rng.random(shape) < 0.3
        data[pick] = rng.choice(EXACT_SPECIAL_F32, size=int(pick.sum()))
        return data
    if mix == "huge":
        return (data * np.float32(1e19)).astype(np.float32)
    if mix == "tiny":
        return (data * np.float32(1e-39)).astype(np.float32)
    raise ValueError(f"unknown value mix '{mix}', expected one of {', '.join(MIXES)}")


def assert_same(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> None:
    """Assert equal shapes and values within `rtol`/`atol`, NaN equal to NaN, infinities
    equal only to the same infinity, -0.0 equal to +0.0 (see the module docstring).

    Raises AssertionError naming the shapes or the first differing elements.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"shape {expected.shape} became {got.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
