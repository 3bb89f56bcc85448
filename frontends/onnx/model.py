"""The model level of the ONNX import: reading a model, checking it, giving its inputs
static shapes, and `import_onnx`, which builds `func.func @main` with the `Importer`
(base.py) and the converters registered there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import numpy as np
import onnx
from onnx import helper
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

from ...dialects.arrays import element_type
from .base import (
    DEFAULT_DOMAINS,
    RUNTIME_DTYPES,
    RUNTIME_TYPES_TEXT,
    Importer,
    ONNXImportError,
    elem_type_name,
    show_dims,
    string_array,
)

MIN_OPSET = 7
"""The oldest default-domain opset imported (older ones have legacy broadcast attributes)."""


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    """Parse a command-line shape `NAME=D0xD1x...` (e.g. `input=1x64`) into (name, dims).

    The name is everything before the last `=`, so ONNX names containing `=` work.
    Raises ONNXImportError if the text is not of that form.
    """
    name, sep, dims = text.rpartition("=")
    if not sep or not name or not re.fullmatch(r"\d+(x\d+)*", dims):
        raise ONNXImportError(f"bad input shape {text!r}: expected NAME=D0xD1x..., e.g. input=1x64")
    return name, [int(d) for d in dims.split("x")]


def import_onnx(
    model: onnx.ModelProto | str | os.PathLike,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> ModuleOp:
    """Import `model` (a ModelProto or the path of a .onnx file) as a verified module.

    `input_shapes` gives static shapes to inputs whose ONNX shape has dynamic (symbolic
    or unknown) dimensions, e.g. `{"input": [1, 64]}`; a given shape must have the
    declared rank and agree with the declared static dimensions.

    Raises ONNXImportError for an invalid or unsupported model (see the package docstring)
    and OSError if the file cannot be read.
    """
    if not isinstance(model, onnx.ModelProto):
        model = load_model(model)
    _require_loaded_weights(model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ONNXImportError(f"invalid ONNX model: {e}") from e
    opset = _default_opset(model)
    opsets: dict[str, int] = {}
    for o in model.opset_import:
        opsets.setdefault("" if o.domain in DEFAULT_DOMAINS else o.domain, o.version)
    g = model.graph

    initializers = {t.name: t for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in initializers]
    shapes = _input_shapes(inputs, dict(input_shapes or {}))

    elems = [
        element_type(helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type))
        for vi in inputs
    ]
    arg_types = [TensorType(e, s) for e, s in zip(elems, shapes)]

    def run(stand_in_types: dict[str, TensorType] | None) -> tuple[Block, list]:
        block = Block(arg_types=arg_types)
        importer = Importer(block, initializers, opset, opsets)
        importer.stand_in_types = stand_in_types or {}
        for vi, arg in zip(inputs, block.args):
            importer.bind(vi.name, arg)
        try:
            return block, importer.import_graph(g)
        except ONNXImportError:
            if stand_in_types is not None or not importer.skipped:
                raise
        # Nodes after a failed one were skipped: try them too, on stand-ins typed by ONNX
        # shape inference, so that the error names every node irforge cannot import.
        return run(_inferred_types(model, inputs, arg_types) or {})

    block, results = run(None)
    block.add_op(ReturnOp(*results))

    func = FuncOp("main", ([a.type for a in block.args], [r.type for r in results]), Region(block))
    func.attributes["irforge.input_names"] = string_array(vi.name for vi in inputs)
    func.attributes["irforge.output_names"] = string_array(vi.name for vi in g.output)
    module = ModuleOp([func])
    try:
        module.verify()
    except VerifyException as e:  # a bug in the importer rather than in the model
        raise ONNXImportError(f"the imported module does not verify: {e}") from e
    return module


def _inferred_types(
    model: onnx.ModelProto, inputs: Sequence[onnx.ValueInfoProto], arg_types: Sequence[TensorType]
) -> dict[str, TensorType] | None:
    """The static tensor types ONNX shape inference gives the model's values when its
    inputs have `arg_types` (None if inference fails): the stand-ins of values a failed
    import could not compute."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    del copy.graph.value_info[:]
    for vi in copy.graph.input:
        for name_vi, t in zip(inputs, arg_types):
            if vi.name == name_vi.name:
                dims = vi.type.tensor_type.shape.dim
                del dims[:]
                for d in t.get_shape():
                    dims.add().dim_value = d
    try:
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is a best effort for the error message
        return None
    types: dict[str, TensorType] = {}
    for vi in inferred.graph.value_info:
        tt = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        if not tt.elem_type or not tt.HasField("shape") or any(d < 0 for d in dims):
            continue
        elem = element_type(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        if elem is not None:
            types[vi.name] = TensorType(elem, dims)
    return types


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Read a .onnx file with its external data (torch's dynamo exporter writes the weights
    to `MODEL.onnx.data` beside the model; ONNX's external-data locations are relative to
    the model's directory). ONNXImportError if it is not a model or its external data
    file is missing or invalid, OSError if the model file is unreadable."""
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(os.fspath(path))
    except DecodeError as e:
        raise ONNXImportError(f"cannot read an ONNX model from '{os.fspath(path)}': {e}") from e
    except onnx.checker.ValidationError as e:  # onnx's check of an external data location
        raise ONNXImportError(
            f"cannot read the external data of '{os.fspath(path)}' (it must be beside the "
            f"model, as saved): {e}"
        ) from e


def _require_loaded_weights(model: onnx.ModelProto) -> None:
    """ONNXImportError naming the first initializer whose data is still in an external
    file (a ModelProto read with `load_external_data=False`): the importer needs the
    weights, and a path lets `load_model` read them from beside the model."""
    for t in model.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data:
            where = next((e.value for e in t.external_data if e.key == "location"), "?")
            raise ONNXImportError(
                f"initializer '{t.name}' keeps its data in the external file '{where}', which "
                "this ModelProto has not loaded; pass the model's path (the file is read "
                "from beside it) or load it with onnx.load(path) (load_external_data=True)"
            )


def _default_opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    if not versions:
        raise ONNXImportError("the model imports no version of the default ONNX opset")
    if versions[0] < MIN_OPSET:
        raise ONNXImportError(
            f"the model uses ONNX opset {versions[0]}; irforge imports opset {MIN_OPSET} "
            "or newer (onnx.version_converter.convert_version can upgrade it)"
        )
    return versions[0]


def _input_shapes(
    inputs: Sequence[onnx.ValueInfoProto], given: dict[str, Sequence[int]]
) -> list[tuple[int, ...]]:
    """The static shape of each graph input, from its ONNX type and `given` shapes."""
    names = [vi.name for vi in inputs]
    unknown = [n for n in given if n not in names]
    if unknown:
        raise ONNXImportError(
            f"input_shapes names {', '.join(repr(n) for n in unknown)}, which "
            f"{'is not an input' if len(unknown) == 1 else 'are not inputs'} of the model; "
            f"its inputs are {', '.join(repr(n) for n in names) or 'none'}"
        )
    shapes: list[tuple[int, ...]] = []
    dynamic: list[tuple[str, str, list[int]]] = []  # (name, what, example shape)
    for vi in inputs:
        t = vi.type
        if t.WhichOneof("value") != "tensor_type":
            raise ONNXImportError(f"input '{vi.name}' is not a tensor")
        elem = t.tensor_type.elem_type
        if not elem or helper.tensor_dtype_to_np_dtype(elem) not in RUNTIME_DTYPES:
            raise ONNXImportError(
                f"input '{vi.name}' has element type {elem_type_name(elem)}; irforge "
                f"imports inputs of {RUNTIME_TYPES_TEXT} only"
            )
        declared = (
            [
                d.dim_value if d.HasField("dim_value") else d.dim_param or None
                for d in t.tensor_type.shape.dim
            ]
            if t.tensor_type.HasField("shape")
            else None
        )
        if vi.name in given:
            shapes.append(_given_shape(vi.name, given[vi.name], declared))
            continue
        if declared is None:
            dynamic.append((vi.name, "no declared shape", []))
            shapes.append(())
            continue
        dyn = [(i, d) for i, d in enumerate(declared) if not isinstance(d, int)]
        if dyn:
            what = " and ".join(f"{i} ('{d}')" if d else f"{i} (unnamed)" for i, d in dyn)
            what = f"a dynamic dimension {what}" if len(dyn) == 1 else f"dynamic dimensions {what}"
            dynamic.append((vi.name, what, [d if isinstance(d, int) else 1 for d in declared]))
        shapes.append(tuple(d if isinstance(d, int) else 1 for d in declared))
    if dynamic:
        problems = "; ".join(f"input '{name}' has {what}" for name, what, _ in dynamic)
        example = ", ".join(
            f"'{name}': {shape if shape else '[...]'}" for name, _, shape in dynamic
        )
        flags = " ".join(
            f"--input-shape {name}={'x'.join(map(str, shape)) if shape else '...'}"
            for name, _, shape in dynamic
        )
        raise ONNXImportError(
            f"{problems}; give a static shape, e.g. input_shapes={{{example}}} or {flags}"
        )
    return shapes


def _given_shape(
    name: str, shape: Sequence[int], declared: list[int | str | None] | None
) -> tuple[int, ...]:
    if not isinstance(shape, Sequence | np.ndarray) or not all(
        isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 1 for d in shape
    ):
        raise ONNXImportError(
            f"input_shapes['{name}'] = {shape!r} is not a sequence of positive integers"
        )
    shape = tuple(int(d) for d in shape)
    if declared is None:
        return shape
    if len(shape) != len(declared):
        raise ONNXImportError(
            f"input_shapes['{name}'] = {list(shape)} has rank {len(shape)}, but input "
            f"'{name}' has rank {len(declared)} (shape {show_dims(declared)})"
        )
    for i, (d, want) in enumerate(zip(shape, declared)):
        if isinstance(want, int) and d != want:
            raise ONNXImportError(
                f"input_shapes['{name}'] = {list(shape)} sets dimension {i} to {d}, but input "
                f"'{name}' has static size {want} there (shape {show_dims(declared)})"
            )
    return shape
