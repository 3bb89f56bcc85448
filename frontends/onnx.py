"""Import an ONNX model into the `graph` dialect.

`import_onnx(model)` returns a `builtin.module` holding one `func.func @main`: its
arguments are the graph's inputs (initializers excluded), its results the graph's outputs,
all static `tensor<...xf32>`; the ONNX names are kept, in order, in the function attributes
`irforge.input_names` and `irforge.output_names`. Initializers and Constant nodes become
`graph.constant` ops; every other node becomes the graph op of the same semantics.

    onnx:   input[N, 64] -> Gemm(W0, B0) -> Relu -> ... -> Softmax(axis=1) -> probabilities
    irforge (input_shapes={"input": [1, 64]}):

    builtin.module {
      func.func @main(%input : tensor<1x64xf32>) -> tensor<1x10xf32>
          attributes {irforge.input_names = ["input"], irforge.output_names = [...]} {
        %W0 = "graph.constant"() <{value = dense<...> : tensor<64x64xf32>}> : ...
        %logits0 = "graph.gemm"(%input, %W0, %B0) <{alpha = 1.0 : f32, ...}> : ...
        ...
        func.return %probabilities : tensor<1x10xf32>
      }
    }

Supported operators (default domain, opset 7 or newer): Gemm, MatMul (2-D), Add, Sub, Mul,
Relu, Softmax, Identity, Constant; float32 tensors only. Softmax of opsets before 13
(which flattens the input to 2-D around `axis`) is accepted when it equals the opset-13
operator, that is when `axis` is the last axis.

Every problem is an `ONNXImportError` (a ValueError) that names the input, initializer or
node at fault: checker failures, unsupported operators (all of them, in one message),
dynamic input dimensions without `input_shapes`, non-float32 tensors, bad shapes.

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float32Type,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from irforge.dialects import graph

__all__ = [
    "MIN_OPSET",
    "ONNXImportError",
    "SUPPORTED_OPS",
    "dense_f32",
    "import_onnx",
    "parse_input_shape",
]

MIN_OPSET = 7
"""The oldest default-domain opset imported (older ones have legacy broadcast attributes)."""

_DEFAULT_DOMAINS = ("", "ai.onnx")


class ONNXImportError(ValueError):
    """The ONNX model cannot be imported; the message names what is at fault and why."""


def dense_f32(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A `dense<...> : tensor<...xf32>` attribute holding `array`, built from its bytes.

    Packing the raw little-endian bytes is ~60x faster than `DenseIntOrFPElementsAttr.
    from_list` (0.2 ms vs 12 ms for a 512x512 weight), which matters for real models.
    """
    data = np.asarray(array, dtype="<f4")  # tobytes() writes C order whatever the layout
    return DenseIntOrFPElementsAttr(
        TensorType(Float32Type(), data.shape), BytesAttr(data.tobytes())
    )


def parse_input_shape(text: str) -> tuple[str, list[int]]:
    """Parse a command-line shape `NAME=D0xD1x...` (e.g. `input=1x64`) into (name, dims).

    The name is everything before the last `=`, so ONNX names containing `=` work.
    Raises ONNXImportError if the text is not of that form.
    """
    name, sep, dims = text.rpartition("=")
    if not sep or not name or not re.fullmatch(r"\d+(x\d+)*", dims):
        raise ONNXImportError(f"bad input shape {text!r}: expected NAME=D0xD1x..., e.g. input=1x64")
    return name, [int(d) for d in dims.split("x")]


# --------------------------------------------------------------------------- model level


def import_onnx(
    model: onnx.ModelProto | str | os.PathLike,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
) -> ModuleOp:
    """Import `model` (a ModelProto or the path of a .onnx file) as a verified module.

    `input_shapes` gives static shapes to inputs whose ONNX shape has dynamic (symbolic
    or unknown) dimensions, e.g. `{"input": [1, 64]}`; a given shape must have the
    declared rank and agree with the declared static dimensions.

    Raises ONNXImportError for an invalid or unsupported model (see the module docstring)
    and OSError if the file cannot be read.
    """
    if not isinstance(model, onnx.ModelProto):
        model = load_model(model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ONNXImportError(f"invalid ONNX model: {e}") from e
    opset = _default_opset(model)
    g = model.graph
    _check_supported(g)

    initializers = {t.name: t for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in initializers]
    shapes = _input_shapes(inputs, dict(input_shapes or {}))

    block = Block(arg_types=[TensorType(Float32Type(), s) for s in shapes])
    importer = _Importer(block, initializers, opset)
    for vi, arg in zip(inputs, block.args):
        importer.bind(vi.name, arg)
    for index, node in enumerate(g.node):
        importer.import_node(node, index)

    results = [importer.lookup(vi.name, "graph output") for vi in g.output]
    for vi, value in zip(g.output, results):
        _check_output(vi, value)
    block.add_op(ReturnOp(*results))

    func = FuncOp("main", ([a.type for a in block.args], [r.type for r in results]), Region(block))
    func.attributes["irforge.input_names"] = _names(vi.name for vi in inputs)
    func.attributes["irforge.output_names"] = _names(vi.name for vi in g.output)
    module = ModuleOp([func])
    try:
        module.verify()
    except VerifyException as e:  # a bug in the importer rather than in the model
        raise ONNXImportError(f"the imported module does not verify: {e}") from e
    return module


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Read a .onnx file; ONNXImportError if it is not a model, OSError if unreadable."""
    from google.protobuf.message import DecodeError

    try:
        return onnx.load(os.fspath(path))
    except DecodeError as e:
        raise ONNXImportError(f"cannot read an ONNX model from '{os.fspath(path)}': {e}") from e


def _default_opset(model: onnx.ModelProto) -> int:
    versions = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
    if not versions:
        raise ONNXImportError("the model imports no version of the default ONNX opset")
    if versions[0] < MIN_OPSET:
        raise ONNXImportError(
            f"the model uses ONNX opset {versions[0]}; irforge imports opset {MIN_OPSET} "
            "or newer (onnx.version_converter.convert_version can upgrade it)"
        )
    return versions[0]


def _node_label(node: onnx.NodeProto, index: int) -> str:
    return f"node '{node.name}'" if node.name else f"unnamed node #{index}"


def _check_supported(g: onnx.GraphProto) -> None:
    """Raise one ONNXImportError listing every node whose operator is not supported."""
    bad = []
    for i, node in enumerate(g.node):
        if node.domain in _DEFAULT_DOMAINS and node.op_type in SUPPORTED_OPS:
            continue
        op = node.op_type
        if node.domain not in _DEFAULT_DOMAINS and op in SUPPORTED_OPS:
            op = f"{node.domain}.{op}"  # same name as a supported op, but not the ONNX one
        bad.append(f"{op} ({_node_label(node, i)})")
    if bad:
        raise ONNXImportError(
            f"unsupported ONNX operators: {', '.join(bad)}; irforge supports "
            f"{', '.join(sorted(SUPPORTED_OPS))}"
        )


def _elem_type_name(elem_type: int) -> str:
    return helper.tensor_dtype_to_np_dtype(elem_type).name if elem_type else "undefined"


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
        if t.tensor_type.elem_type != TensorProto.FLOAT:
            raise ONNXImportError(
                f"input '{vi.name}' has element type "
                f"{_elem_type_name(t.tensor_type.elem_type)}; irforge imports float32 only"
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
            f"'{name}' has rank {len(declared)} (shape {_show(declared)})"
        )
    for i, (d, want) in enumerate(zip(shape, declared)):
        if isinstance(want, int) and d != want:
            raise ONNXImportError(
                f"input_shapes['{name}'] = {list(shape)} sets dimension {i} to {d}, but input "
                f"'{name}' has static size {want} there (shape {_show(declared)})"
            )
    return shape


def _show(dims: Sequence[int | str | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _check_output(vi: onnx.ValueInfoProto, value: SSAValue) -> None:
    """The declared type of a graph output, if any, must agree with the computed one."""
    tt = vi.type.tensor_type
    if tt.elem_type not in (0, TensorProto.FLOAT):
        raise ONNXImportError(
            f"output '{vi.name}' is declared {_elem_type_name(tt.elem_type)}, but irforge "
            "computes it as float32"
        )
    if not tt.HasField("shape"):
        return
    got = value.type.get_shape()
    declared = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    if len(declared) != len(got) or any(d is not None and d != g for d, g in zip(declared, got)):
        raise ONNXImportError(
            f"output '{vi.name}' is declared with shape {_show(declared)}, but its computed "
            f"shape is {list(got)}"
        )


def _names(names) -> ArrayAttr[StringAttr]:
    return ArrayAttr([StringAttr(n) for n in names])


def _name_hint(onnx_name: str) -> str | None:
    """An SSA name hint close to the ONNX name (`%logits0`), or None if nothing is left."""
    hint = re.sub(r"[^\w$.-]", "_", onnx_name)
    if hint and hint[0].isdigit():
        hint = "v" + hint
    return hint or None


# ---------------------------------------------------------------------------- node level


class _Importer:
    """Builds ops into `block`, binding ONNX value names to SSA values as it goes.

    Initializers become `graph.constant` ops at their first use, so unused ones (and
    their dtypes) do not matter.
    """

    def __init__(self, block: Block, initializers: dict[str, TensorProto], opset: int):
        self.block = block
        self.initializers = initializers
        self.opset = opset
        self.values: dict[str, SSAValue] = {}

    def bind(self, name: str, value: SSAValue) -> None:
        if value.name_hint is None:
            value.name_hint = _name_hint(name)
        self.values[name] = value

    def lookup(self, name: str, user: str) -> SSAValue:
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            array = numpy_helper.to_array(self.initializers[name])
            if array.dtype != np.float32:
                raise ONNXImportError(
                    f"initializer '{name}' has element type {array.dtype}; irforge imports "
                    "float32 only"
                )
            self.bind(name, self.emit(graph.ConstantOp(dense_f32(array)), user))
            return self.values[name]
        # The checker guarantees topological order, so this is an importer bug.
        raise ONNXImportError(f"{user} uses '{name}', which is not defined before it")

    def emit(self, op: Operation, label: str) -> SSAValue:
        """Append `op` after verifying it, so that a shape error names the ONNX node."""
        try:
            op.verify()
        except VerifyException as e:
            raise ONNXImportError(f"{label}: {e}") from e
        self.block.add_op(op)
        return op.results[0]

    def import_node(self, node: onnx.NodeProto, index: int) -> None:
        label = f"{node.op_type} {_node_label(node, index)}"
        operands = [self.lookup(n, label) if n else None for n in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        try:
            result = SUPPORTED_OPS[node.op_type](self, operands, attrs, label)
        except ValueError as e:  # a builder refusing the operand shapes
            if isinstance(e, ONNXImportError):
                raise
            raise ONNXImportError(f"{label}: {e}") from e
        self.bind(node.output[0], result)


def _rank2(label: str, *values: SSAValue) -> None:
    shapes = [list(v.type.get_shape()) for v in values]
    if any(len(s) != 2 for s in shapes):
        raise ONNXImportError(
            f"{label}: irforge supports only 2-D operands here, got shapes "
            f"{' and '.join(map(str, shapes))}"
        )


def _gemm(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    a, b, c = (ops + [None])[:3]
    _rank2(label, a, b)
    op = graph.GemmOp(
        a,
        b,
        c,
        alpha=float(attrs.get("alpha", 1.0)),
        beta=float(attrs.get("beta", 1.0)),
        trans_a=int(attrs.get("transA", 0)),
        trans_b=int(attrs.get("transB", 0)),
    )
    return imp.emit(op, label)


def _matmul(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    _rank2(label, *ops)
    return imp.emit(graph.MatMulOp(*ops), label)


def _binary(cls: type[graph.ElementwiseBinaryOp]) -> Callable:
    def build(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
        return imp.emit(cls(*ops), label)

    return build


def _relu(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return imp.emit(graph.ReluOp(ops[0]), label)


def _softmax(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    x = ops[0]
    rank = len(x.type.get_shape())
    if imp.opset >= 13:
        axis = int(attrs.get("axis", -1))
    else:
        # Before opset 13, Softmax flattens the input to 2-D [prod(d[:axis]), prod(d[axis:])]
        # and normalizes the rows: the same as the opset-13 operator only for the last axis.
        axis = int(attrs.get("axis", 1))
        if rank == 0 or axis % rank != rank - 1:
            raise ONNXImportError(
                f"{label}: Softmax of opset {imp.opset} with axis={axis} on a rank-{rank} "
                "input normalizes over the flattened trailing dimensions; irforge supports "
                "it only when axis is the last axis (upgrade the model to opset 13 or newer)"
            )
    if rank == 0 or not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    return imp.emit(graph.SoftmaxOp(x, axis), label)


def _identity(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return ops[0]


def _constant(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    if "value" in attrs:
        array = numpy_helper.to_array(attrs["value"])
    elif "value_float" in attrs:
        array = np.array(attrs["value_float"], dtype=np.float32)
    elif "value_floats" in attrs:
        array = np.array(attrs["value_floats"], dtype=np.float32)
    else:
        raise ONNXImportError(
            f"{label}: Constant with attribute {', '.join(attrs)} is not float32; irforge "
            "imports float32 only"
        )
    if array.dtype != np.float32:
        raise ONNXImportError(
            f"{label}: Constant has element type {array.dtype}; irforge imports float32 only"
        )
    return imp.emit(graph.ConstantOp(dense_f32(array)), label)


_Builder = Callable[[_Importer, list, dict, str], SSAValue]

SUPPORTED_OPS: dict[str, _Builder] = {
    "Add": _binary(graph.AddOp),
    "Constant": _constant,
    "Gemm": _gemm,
    "Identity": _identity,
    "MatMul": _matmul,
    "Mul": _binary(graph.MulOp),
    "Relu": _relu,
    "Softmax": _softmax,
    "Sub": _binary(graph.SubOp),
}
"""ONNX operator (default domain) -> the function that imports one node of it."""


def _add_families() -> None:
    from irforge.frontends import onnx_math, onnx_nn, onnx_shape

    for family in (onnx_math, onnx_nn, onnx_shape):
        clash = SUPPORTED_OPS.keys() & family.CONVERTERS.keys()
        assert not clash, f"ONNX ops imported twice: {sorted(clash)}"
        SUPPORTED_OPS.update(family.CONVERTERS)


_add_families()
