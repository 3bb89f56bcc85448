"""Functions that patterns call by name: builtins and native Python extensions.

Three kinds share one namespace:

- `@native_constraint("name")`: a predicate for `where` clauses, `fn(*args) -> bool`.
- `@native_function("name")`: a pure computation usable in constraints and in replacement
  attributes/types, `fn(*args) -> value` (`compose(p, q)`, `splat(0.0, type(root))`).
- `@native_rewrite("name")`: builds IR where a DAG cannot say it; used as a replacement
  node, `fn(builder, *args) -> SSAValue | Operation`. `builder.insert(op)` places new ops
  before the matched root (they are reported to the driver as created).

Arguments are what the pattern passes: SSAValues for value names, Python values for
attribute names and literals (see model.py). Registering a name twice raises ValueError
unless `replace=True`.

Builtins (always available): type, shape, rank, numel, element_type, one_use,
is_constant, is_splat, is_finite_constant, is_finite, constant_value, compose, inverse_perm,
is_identity_perm, splat, len.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ShapedType,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.traits import ConstantLike

from ...dialects.arrays import constant_array

KINDS = ("constraint", "function", "rewrite")


@dataclass(frozen=True)
class Native:
    """A registered function: its name, kind (constraint / function / rewrite) and code."""

    name: str
    kind: str
    fn: Callable[..., Any]

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip().split("\n")[0]


_NATIVES: dict[str, Native] = {}


def _register(kind: str, name: str | None, replace: bool) -> Callable:
    def deco(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in _NATIVES and not replace:
            raise ValueError(f"a pattern function named '{key}' is already registered")
        _NATIVES[key] = Native(key, kind, fn)
        return fn

    return deco


def native_constraint(name: str | None = None, *, replace: bool = False) -> Callable:
    """Register a predicate usable in `where` clauses under `name` (default: fn name)."""
    return _register("constraint", name, replace)


def native_function(name: str | None = None, *, replace: bool = False) -> Callable:
    """Register a pure function usable in constraints and replacement attributes."""
    return _register("function", name, replace)


def native_rewrite(name: str | None = None, *, replace: bool = False) -> Callable:
    """Register an IR-building rewrite `fn(builder, *args) -> SSAValue | Operation`."""
    return _register("rewrite", name, replace)


def lookup(name: str) -> Native | None:
    return _NATIVES.get(name)


def registered() -> dict[str, Native]:
    """Every registered function by name (builtins included)."""
    return dict(_NATIVES)


# ---- attribute <-> Python value ----


def attr_to_py(a: Attribute) -> Any:
    """The Python value patterns see for an attribute (ints, floats, tuples, strings);
    attributes without a simpler form (types, dense elements) are returned as they are."""
    from xdsl.dialects.builtin import ArrayAttr, DenseArrayBase, StringAttr

    if isinstance(a, (IntegerAttr, FloatAttr)):
        return a.value.data
    if isinstance(a, DenseArrayBase):
        return tuple(a.get_values())
    if isinstance(a, StringAttr):
        return a.data
    if isinstance(a, ArrayAttr):
        return tuple(attr_to_py(x) for x in a.data)
    return a


def py_to_attr(v: Any, like: Attribute | None = None) -> Attribute:
    """An attribute holding `v`, of the same kind and element type as `like` when given
    (e.g. the property's default value); else int -> i64, float -> f32, bool -> i1,
    tuple of ints -> array<i64>, str -> string, tuple -> array. Raises TypeError."""
    from xdsl.dialects.builtin import (
        ArrayAttr,
        DenseArrayBase,
        Float32Type,
        IntegerType,
        StringAttr,
    )

    if isinstance(v, Attribute):
        return v
    if isinstance(like, FloatAttr) and isinstance(v, (int, float)):
        return FloatAttr(float(v), like.type)
    if isinstance(like, IntegerAttr) and isinstance(v, (int, bool)):
        return IntegerAttr(int(v), like.type)
    if isinstance(like, DenseArrayBase) and isinstance(v, tuple):
        return DenseArrayBase.from_list(like.elt_type, list(v))
    if isinstance(v, bool):
        return IntegerAttr(int(v), IntegerType(1))
    if isinstance(v, int):
        return IntegerAttr(v, IntegerType(64))
    if isinstance(v, float):
        return FloatAttr(v, Float32Type())
    if isinstance(v, str):
        return StringAttr(v)
    if isinstance(v, tuple):
        if all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            return DenseArrayBase.from_list(IntegerType(64), list(v))
        return ArrayAttr([py_to_attr(x) for x in v])
    raise TypeError(f"cannot make an attribute of {v!r}")


# ---- builtins ----


def _splat_scalar(v: SSAValue) -> Any:
    """The single element of a splat constant, or None (cheap for splat-stored attrs)."""
    op = v.owner
    if not isinstance(op, Operation) or not op.has_trait(ConstantLike):
        return None
    value = op.properties.get("value") or op.attributes.get("value")
    if isinstance(value, DenseIntOrFPElementsAttr):
        if value.is_splat():
            return next(iter(value.iter_values()))
        return None
    if isinstance(value, (IntegerAttr, FloatAttr)):
        return value.value.data
    return None


@native_function("type")
def _type(v: SSAValue) -> Attribute:
    """The type of a value."""
    return v.type


@native_function("shape")
def _shape(v: SSAValue) -> tuple[int, ...]:
    """The shape of a shaped value as a tuple; () for scalars."""
    t = v.type
    return tuple(t.get_shape()) if isinstance(t, ShapedType) else ()


@native_function("rank")
def _rank(v: SSAValue) -> int:
    """The rank of a shaped value; 0 for scalars."""
    return len(_shape(v))


@native_function("leading_dims")
def _leading_dims(v: SSAValue) -> tuple[int, ...]:
    """The shape of a shaped value without its last dim (the rows of a matmul operand)."""
    return _shape(v)[:-1]


@native_constraint("merges_leading_dims")
def _merges_leading_dims(x: SSAValue, flat: SSAValue) -> bool:
    """Whether `flat` is `x` reshaped to 2-D by merging all its dims but the last:
    [a, b, ..., K] -> [a * b * ..., K]."""
    s, f = _shape(x), _shape(flat)
    return len(f) == 2 and len(s) >= 1 and s[-1] == f[-1]


@native_function("numel")
def _numel(v: SSAValue) -> int:
    """The element count of a shaped value."""
    return math.prod(_shape(v))


@native_function("element_type")
def _element_type(v: SSAValue) -> Attribute:
    """The element type of a shaped value (the type itself for scalars)."""
    t = v.type
    return t.get_element_type() if isinstance(t, ShapedType) else t


@native_constraint("one_use")
def _one_use(v: SSAValue) -> bool:
    """The value has exactly one use."""
    return v.has_one_use()


@native_constraint("is_constant")
def _is_constant(v: SSAValue) -> bool:
    """The value is the result of a constant op (ConstantLike)."""
    op = v.owner
    return isinstance(op, Operation) and op.has_trait(ConstantLike)


@native_constraint("is_splat")
def _is_splat(v: SSAValue, value: float | None = None) -> bool:
    """`x is splat [VALUE]`: a constant whose elements are all equal (to VALUE)."""
    s = _splat_scalar(v)
    if s is None:
        arr = constant_array(v)
        if arr is None or arr.size == 0 or not np.all(arr == arr.flat[0]):
            return False
        s = arr.flat[0]
    return value is None or bool(s == value)


@native_constraint("is_finite_constant")
def _is_finite_constant(v: SSAValue) -> bool:
    """A constant with no NaN or infinite element."""
    s = _splat_scalar(v)
    if s is not None:
        return bool(np.isfinite(s))
    arr = constant_array(v)
    return arr is not None and bool(np.all(np.isfinite(arr)))


@native_constraint("is_finite")
def _is_finite(x: float) -> bool:
    """A number (e.g. a float attribute) that is neither infinite nor NaN."""
    return bool(np.isfinite(x))


@native_function("constant_value")
def _constant_value(v: SSAValue) -> np.ndarray | None:
    """The elements of a constant as a NumPy array (None if not a constant)."""
    return constant_array(v)


@native_function("compose")
def compose(p: tuple[int, ...], q: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation of transpose(transpose(x, p), q) as one transpose: r[i] = p[q[i]]."""
    return tuple(p[i] for i in q)


@native_function("inverse_perm")
def inverse_perm(p: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation that undoes `p`."""
    inv = [0] * len(p)
    for i, d in enumerate(p):
        inv[d] = i
    return tuple(inv)


@native_constraint("is_identity_perm")
def is_identity_perm(p: tuple[int, ...]) -> bool:
    """`p` is 0, 1, ..., n-1."""
    return all(d == i for i, d in enumerate(p))


@native_function("splat")
def splat(value: float, t: Attribute) -> DenseIntOrFPElementsAttr:
    """A dense attribute of shaped type `t` with every element `value` (stored once)."""
    if not isinstance(t, TensorType):
        raise TypeError(f"splat needs a tensor type, got {t}")
    v = int(value) if isinstance(t.get_element_type(), (IntegerType, IndexType)) else float(value)
    return DenseIntOrFPElementsAttr.from_list(t, [v])


@native_function("len")
def _len(v: Any) -> int:
    """The length of a tuple."""
    return len(v)
