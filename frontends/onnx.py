"""Import an ONNX model into the `graph` dialect.

`import_onnx(model)` returns a `builtin.module` holding one `func.func @main`: its
arguments are the graph's inputs (initializers excluded), its results the graph's outputs,
all static `tensor<...xf32>`; the ONNX names are kept, in order, in the function attributes
`irforge.input_names` and `irforge.output_names`. Each node computed at run time becomes
the graph ops of the same semantics; values known at import are evaluated (below).

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

Supported operators (default domain, opset 7 or newer): `SUPPORTED_OPS`, listed in
docs/onnx.md; the core ones here (Gemm, MatMul (2-D), Add, Sub, Mul, Relu, Softmax,
Identity, Constant), the op families in onnx_math.py, onnx_nn.py and onnx_shape.py.
Softmax of opsets before 13 (which flattens the input to 2-D around `axis`) becomes
reshape, softmax over the last axis, reshape back.

Values known at import are evaluated there, with NumPy (onnx.reference for the rarer
operators): initializers, Constant, ConstantOfShape, Shape and Size (every shape is
static), and every node whose inputs are all known, whatever its operator, e.g. the int64
shape arithmetic of exported models (Shape -> Gather -> Concat -> Reshape imports as one
graph.reshape). Only runtime tensors become graph ops, and they are float32: a known
value a runtime op reads becomes a `graph.constant` at its first use; a non-float32 value
that a runtime op would read is an error naming the node.

Every problem is an `ONNXImportError` (a ValueError) that names the input, initializer or
node at fault: checker failures, unsupported operators, dynamic input dimensions without
`input_shapes`, non-float32 tensors, bad shapes or attributes. The node-level problems of
a model come together in one error: the list of unsupported operators (every node), then
one line per node that failed (nodes that depend on a failed one are not tried).

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from __future__ import annotations

import math
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
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from ..dialects import graph

__all__ = [
    "MIN_OPSET",
    "ONNXImportError",
    "SUPPORTED_OPS",
    "dense_f32",
    "import_onnx",
    "load_model",
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

    initializers = {t.name: t for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in initializers]
    shapes = _input_shapes(inputs, dict(input_shapes or {}))

    block = Block(arg_types=[TensorType(Float32Type(), s) for s in shapes])
    importer = _Importer(block, initializers, opset)
    for vi, arg in zip(inputs, block.args):
        importer.bind(vi.name, arg)
    results = importer.import_graph(g)
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

# Nodes never evaluated at import even when their inputs are known.
_NONDETERMINISTIC = frozenset(
    {
        "RandomNormal",
        "RandomUniform",
        "RandomNormalLike",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)
# Always known at import: every shape is static.
_SHAPE_QUERIES = frozenset({"Shape", "Size"})


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute
    )


def _plan(g: onnx.GraphProto) -> tuple[set[int], list[str]]:
    """Which nodes are evaluated at import (by structure: their inputs are all known, or
    they ask for a shape), and the nodes that can be neither folded nor imported."""
    known = {t.name for t in g.initializer}
    folded: set[int] = set()
    unsupported = []
    for i, node in enumerate(g.node):
        default = node.domain in _DEFAULT_DOMAINS
        inputs = [n for n in node.input if n]
        foldable = default and (
            node.op_type == "Constant"
            or node.op_type in _SHAPE_QUERIES
            or (
                inputs
                and all(n in known for n in inputs)
                and node.op_type not in _NONDETERMINISTIC
                and not _has_subgraph(node)
            )
        )
        if foldable:
            folded.add(i)
            known.update(n for n in node.output if n)
        elif not (default and node.op_type in SUPPORTED_OPS):
            op = node.op_type
            if not default and op in SUPPORTED_OPS:
                op = f"{node.domain}.{op}"  # same name as a supported op, but not the ONNX one
            unsupported.append(f"{op} ({_node_label(node, i)})")
    return folded, unsupported


def _unsupported_message(bad: list[str]) -> str:
    return (
        f"unsupported ONNX operators: {', '.join(bad)}; irforge supports "
        f"{', '.join(sorted(SUPPORTED_OPS))} (and evaluates any operator whose inputs are "
        "known at import)"
    )


def _import_error(problems: list[str]) -> ONNXImportError:
    if len(problems) == 1:
        return ONNXImportError(problems[0])
    listed = "\n".join(f"  - {p}" for p in problems)
    return ONNXImportError(f"{len(problems)} problems prevent the import:\n{listed}")


def _numpy_dtype_name(array: np.ndarray) -> str:
    return array.dtype.name if array.dtype != np.bool_ else "bool"


def _dense(array: np.ndarray) -> DenseIntOrFPElementsAttr | None:
    """A dense attribute of any numeric array (None for strings and other objects)."""
    if array.dtype == np.float32:
        return dense_f32(array)
    element = _ELEMENT_TYPES.get(array.dtype)
    if element is None:
        return None
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return DenseIntOrFPElementsAttr(TensorType(element(), data.shape), BytesAttr(data.tobytes()))


def _element_types() -> dict[np.dtype, Callable[[], Attribute]]:
    from xdsl.dialects.builtin import Float16Type, Float64Type, IntegerType, Signedness

    table: dict[np.dtype, Callable[[], Attribute]] = {
        np.dtype(np.bool_): lambda: IntegerType(1),
        np.dtype(np.float16): Float16Type,
        np.dtype(np.float64): Float64Type,
    }
    for bits in (8, 16, 32, 64):
        table[np.dtype(f"int{bits}")] = lambda b=bits: IntegerType(b)
        table[np.dtype(f"uint{bits}")] = lambda b=bits: IntegerType(b, Signedness.UNSIGNED)
    return table


_ELEMENT_TYPES = _element_types()


class _Poisoned(Exception):
    """A value that could not be imported (its node's problem is reported once)."""


class _Importer:
    """Builds ops into `block`, binding ONNX value names to SSA values as it goes.

    Values known at import (initializers, Constant, Shape, and any node whose inputs are
    all known) are NumPy arrays, evaluated here; only runtime tensors become graph ops. A
    known value that a runtime op reads becomes a `graph.constant` just before its first
    use, so unused ones (and their dtypes) do not matter.

    Converters (`SUPPORTED_OPS`) receive the node's operands as SSA values (None for an
    omitted optional input; a known input as the result of a `graph.constant` op that is
    inserted only if an emitted op uses it) and may call `constant_value(operand)` for the
    array of a known one. They return an SSA value, a sequence of them (one per output of
    a multi-output node, None for an unused one), or a NumPy array (a known result). The
    node being imported is `node`; `used_extra_outputs()` names its outputs beyond the
    first that something uses.
    """

    def __init__(self, block: Block, initializers: dict[str, TensorProto], opset: int):
        self.block = block
        self.initializers = initializers
        self.opset = opset
        self.values: dict[str, SSAValue] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.poisoned: set[str] = set()
        self.problems: list[str] = []
        self.node: onnx.NodeProto | None = None
        self._used: set[str] = set()
        self._constant_ops: dict[str, graph.ConstantOp] = {}
        self._arrays: dict[SSAValue, np.ndarray] = {}
        self._names: dict[SSAValue, str] = {}

    # -- values ----------------------------------------------------------------------------

    def bind(self, name: str, value: SSAValue | np.ndarray) -> None:
        if isinstance(value, np.ndarray):
            self.constants[name] = value
            return
        if value in self._arrays and value.owner.parent is None:
            self.constants[name] = self._arrays[value]  # a known value passed through
            return
        if value.name_hint is None:
            value.name_hint = _name_hint(name)
        self.values[name] = value

    def constant_value(self, value: str | SSAValue | None) -> np.ndarray | None:
        """The array of an ONNX value (by name) or operand known at import, else None."""
        if value is None:
            return None
        if isinstance(value, str):
            if value not in self.constants and value in self.initializers:
                self.constants[value] = numpy_helper.to_array(self.initializers[value])
            return self.constants.get(value)
        if value in self._arrays:
            return self._arrays[value]
        if isinstance(value.owner, graph.ConstantOp):
            from ..dialects.graph_reference import dense_to_numpy

            return dense_to_numpy(value.owner.value)
        return None

    def constant_ssa(self, array: np.ndarray) -> SSAValue:
        """A graph.constant holding a float32 `array`, inserted when an emitted op uses it."""
        op = graph.ConstantOp(dense_f32(array))
        self._arrays[op.result] = np.asarray(array, dtype=np.float32)
        return op.result

    def lookup(self, name: str, user: str) -> SSAValue:
        """The SSA value of `name`: a runtime value, or a known one as a graph.constant."""
        if name in self.poisoned:
            raise _Poisoned(name)
        if name in self.values:
            return self.values[name]
        array = self.constant_value(name)
        if array is None:
            # The checker guarantees topological order, so this is an importer bug.
            raise ONNXImportError(f"{user} uses '{name}', which is not defined before it")
        op = self._constant_ops.get(name)
        if op is None:
            attr = _dense(array)
            if attr is None:
                raise ONNXImportError(
                    f"{user}: '{name}' is a {_numpy_dtype_name(array)} tensor, which irforge "
                    "cannot hold in a graph op"
                )
            op = graph.ConstantOp(attr)
            op.result.name_hint = _name_hint(name)
            self._constant_ops[name] = op
            self._arrays[op.result] = array
            self._names[op.result] = name
        return op.result

    def _describe(self, value: SSAValue) -> str:
        name = self._names.get(value, value.name_hint or "?")
        kind = "initializer" if name in self.initializers else "value"
        return f"{kind} '{name}'"

    def emit(self, op: Operation, label: str) -> SSAValue:
        """Append `op` after verifying it, so that a shape error names the ONNX node.

        Known operands are inserted as graph.constant ops first; an operand or result that
        is not float32 is an ONNXImportError (irforge computes float32 at run time).
        """
        for v in op.operands:
            self._check_float32(v, label)
        try:
            op.verify()
        except VerifyException as e:
            raise ONNXImportError(f"{label}: {e}") from e
        for v in op.operands:
            self._insert_constant(v, label)
        for r in op.results:
            if isinstance(r.type, TensorType) and r.type.element_type != Float32Type():
                raise ONNXImportError(
                    f"{label}: the result has element type {r.type.element_type}; irforge "
                    "computes float32 tensors only at run time"
                )
        self.block.add_op(op)
        return op.results[0]

    def _check_float32(self, v: SSAValue, label: str) -> None:
        if v.type.element_type != Float32Type():
            dtype = _numpy_dtype_name(self._arrays[v]) if v in self._arrays else v.type.element_type
            raise ONNXImportError(
                f"{label}: {self._describe(v)} has element type {dtype}; irforge computes "
                "float32 tensors only at run time (values of other types must be known at "
                "import, where they are evaluated)"
            )

    def _insert_constant(self, v: SSAValue, label: str) -> None:
        """Insert the graph.constant of a known value at its first use."""
        owner = v.owner
        if isinstance(owner, graph.ConstantOp) and owner.parent is None:
            self._check_float32(v, label)
            self.block.add_op(owner)

    def used_extra_outputs(self) -> list[str]:
        """The current node's outputs beyond the first that a node or the graph uses."""
        if self.node is None:
            return []
        return [o for o in self.node.output[1:] if o and o in self._used]

    # -- nodes -----------------------------------------------------------------------------

    def import_graph(self, g: onnx.GraphProto) -> list[SSAValue]:
        """Import every node of `g`; return its outputs. Problems are collected and raised
        together (one ONNXImportError) once every node has been tried."""
        folded, unsupported = _plan(g)
        if unsupported:
            self.problems.append(_unsupported_message(unsupported))
        self._used = {n for node in g.node for n in node.input} | {vi.name for vi in g.output}
        for index, node in enumerate(g.node):
            label = f"{node.op_type} {_node_label(node, index)}"
            self.node = node
            outputs = [o for o in node.output if o]
            if any(n in self.poisoned for n in node.input if n):
                self.poisoned.update(outputs)
                continue
            try:
                supported = node.domain in _DEFAULT_DOMAINS and node.op_type in SUPPORTED_OPS
                if index in folded:
                    try:
                        self.fold(node, label)
                    except ONNXImportError:
                        if not supported or node.op_type in _SHAPE_QUERIES:
                            raise
                        self.import_node(node, label)  # e.g. no reference for this opset
                elif supported:
                    self.import_node(node, label)
                else:
                    self.poisoned.update(outputs)  # listed in the unsupported message
            except ONNXImportError as e:
                self.problems.append(str(e))
                self.poisoned.update(outputs)
        self.node = None
        results = []
        for vi in g.output:
            if vi.name in self.poisoned:
                continue
            try:
                value = self.lookup(vi.name, f"graph output '{vi.name}'")
                self._insert_constant(value, f"graph output '{vi.name}'")
                _check_output(vi, value)
                results.append(value)
            except ONNXImportError as e:
                self.problems.append(str(e))
        if self.problems:
            raise _import_error(self.problems)
        return results

    def fold(self, node: onnx.NodeProto, label: str) -> None:
        """Evaluate a node whose result is known at import and bind its outputs."""
        if node.op_type in _SHAPE_QUERIES and node.input[0] in self.values:
            shape = tuple(self.values[node.input[0]].type.get_shape())
            arrays = [_shape_query(node, shape)]
        else:
            inputs = [self.constant_value(n) if n else None for n in node.input]
            try:
                arrays = _evaluate(node, inputs, self.opset)
            except Exception as e:  # the reference evaluator's errors have no common base
                raise ONNXImportError(
                    f"{label}: cannot evaluate it at import (its inputs are known): "
                    f"{type(e).__name__}: {e}"
                ) from e
        for name, array in zip(node.output, arrays):
            if name:
                self.constants[name] = np.asarray(array)

    def import_node(self, node: onnx.NodeProto, label: str) -> None:
        try:
            operands = [self.lookup(n, label) if n else None for n in node.input]
        except _Poisoned:  # pragma: no cover - checked by import_graph
            self.poisoned.update(node.output)
            return
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        try:
            result = SUPPORTED_OPS[node.op_type](self, operands, attrs, label)
        except ValueError as e:  # a builder refusing the operand shapes
            if isinstance(e, ONNXImportError):
                raise
            raise ONNXImportError(f"{label}: {e}") from e
        if isinstance(result, SSAValue | np.ndarray):
            used = self.used_extra_outputs()
            if used:
                raise ONNXImportError(
                    f"{label}: output{'s' if len(used) > 1 else ''} "
                    f"{', '.join(map(repr, used))} {'are' if len(used) > 1 else 'is'} used; "
                    f"irforge imports only the first output of {node.op_type}"
                )
            result = [result]
        for name, value in zip(node.output, result):
            if name and value is not None:
                self.bind(name, value)


def _shape_query(node: onnx.NodeProto, shape: tuple[int, ...]) -> np.ndarray:
    """ONNX Shape (with opset-15 start/end) or Size of a tensor of static `shape`."""
    if node.op_type == "Size":
        return np.array(math.prod(shape), dtype=np.int64)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)  # slicing clamps as ONNX says


def _evaluate(node: onnx.NodeProto, inputs: list[np.ndarray | None], opset: int) -> list:
    """The outputs of `node` on known inputs: NumPy for the frequent ops (ConstantOfShape
    holds the weights of the onnx package's test models), onnx.reference otherwise."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    op = node.op_type
    if op == "Constant" and "value" in attrs:
        return [numpy_helper.to_array(attrs["value"])]
    if op == "ConstantOfShape":
        value = (
            numpy_helper.to_array(attrs["value"]).reshape(()) if "value" in attrs else np.float32(0)
        )
        return [np.full(tuple(int(d) for d in inputs[0]), value, dtype=value.dtype)]
    if op in _SHAPE_QUERIES:
        return [_shape_query(node, inputs[0].shape)]
    if op == "Identity":
        return [inputs[0]]
    from onnx.reference import ReferenceEvaluator

    plain = helper.make_node(op, list(node.input), list(node.output), name=node.name)
    plain.attribute.extend(node.attribute)
    g = helper.make_graph(
        [plain],
        "fold",
        [helper.make_tensor_value_info(n, 0, None) for n in node.input if n],
        [helper.make_tensor_value_info(n, 0, None) for n in node.output if n],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: a for n, a in zip(node.input, inputs) if n}
    results = ReferenceEvaluator(model).run(None, feeds)
    it = iter(results)
    return [next(it) if n else None for n in node.output]


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
    shape = list(x.type.get_shape())
    rank = len(shape)
    axis = int(attrs.get("axis", -1 if imp.opset >= 13 else 1))
    if rank == 0 or not -rank <= axis < rank:
        raise ONNXImportError(f"{label}: axis {axis} is out of range for rank {rank}")
    axis %= rank
    if imp.opset >= 13 or all(d == 1 for d in shape[axis + 1 :]):
        return imp.emit(graph.SoftmaxOp(x, axis), label)
    # Before opset 13, Softmax flattens the input to 2-D [prod(d[:axis]), prod(d[axis:])]
    # and normalizes the rows: reshape, softmax over the last axis, reshape back.
    flat = imp.emit(graph.ReshapeOp(x, [math.prod(shape[:axis]), math.prod(shape[axis:])]), label)
    soft = imp.emit(graph.SoftmaxOp(flat, 1), label)
    return imp.emit(graph.ReshapeOp(soft, shape), label)


def _identity(imp: _Importer, ops: list, attrs: dict, label: str) -> SSAValue:
    return ops[0]


def _constant(imp: _Importer, ops: list, attrs: dict, label: str) -> np.ndarray:
    # Constant nodes are evaluated at import (`_Importer.fold`); this entry lists the op.
    return _evaluate(imp.node, [], imp.opset)[0]


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
    from . import onnx_math, onnx_nn, onnx_shape

    for family in (onnx_math, onnx_nn, onnx_shape):
        clash = SUPPORTED_OPS.keys() & family.CONVERTERS.keys()
        assert not clash, f"ONNX ops imported twice: {sorted(clash)}"
        SUPPORTED_OPS.update(family.CONVERTERS)


_add_families()


# ------------------------------------------------------------------------------- the docs

_DOCS_BEGIN = "<!-- operators: generated by `python -m irforge.frontends.onnx docs/onnx.md` -->"
_DOCS_END = "<!-- end of operators -->"
_FAMILIES = {
    "irforge.frontends.onnx": "core",
    "irforge.frontends.onnx_math": "math",
    "irforge.frontends.onnx_nn": "nn",
    "irforge.frontends.onnx_shape": "shape",
}


def operators_markdown() -> str:
    """The Markdown table of `SUPPORTED_OPS`: each operator and the module importing it."""
    rows = ["| ONNX operator | family | imported by |", "|---|---|---|"]
    for op in sorted(SUPPORTED_OPS):
        module = getattr(SUPPORTED_OPS[op], "__module__", "") or ""
        family = _FAMILIES.get(module, "plugin")
        rows.append(f"| {op} | {family} | `{module.removeprefix('irforge.')}` |")
    return "\n".join(rows) + "\n"


def update_operators_page(text: str) -> str:
    """`text` (docs/onnx.md) with the generated table between its markers replaced."""
    head, sep, rest = text.partition(_DOCS_BEGIN)
    _, sep2, tail = rest.partition(_DOCS_END)
    if not sep or not sep2:
        raise ValueError("the page lacks the generated-table markers")
    return f"{head}{_DOCS_BEGIN}\n\n{operators_markdown()}\n{_DOCS_END}{tail}"


def _write_pages(paths: Sequence[str]) -> None:
    for path in paths:
        with open(path, encoding="utf-8") as f:
            old = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(update_operators_page(old))


if __name__ == "__main__":  # python -m irforge.frontends.onnx docs/onnx.md
    import sys

    # Through the package's module, so that converters name their real modules.
    from . import onnx as _package_module

    _package_module._write_pages(sys.argv[1:])
