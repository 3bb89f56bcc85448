"""The ONNX importer's core: `ONNXImportError`, the `Importer`, the converter registry and
the helpers the converter families share. It imports no family; the families (core.py,
math.py, nn.py, shape.py) and plugins register their converters here.

## Converters

A converter imports one ONNX node of one operator of one domain:

    def convert(importer: Importer, operands: list[SSAValue | None], attrs: dict[str, Any],
                label: str) -> SSAValue | Sequence[SSAValue | None] | np.ndarray

- `operands`: one per node input, in order; None for an omitted optional input. Each is an
  SSA value of a ranked tensor type with a static shape (`v.type.get_shape()`). A value
  computed at run time is float32. A value known at import (an initializer, a Constant,
  anything evaluated at import) is the result of a `graph.constant` of its own element
  type (i64 for shapes and axes, i1 for bools, ...), inserted into the function only if an
  emitted op uses it; `importer.constant_value(operand)` gives its NumPy array (None for a
  runtime value).
- `attrs`: the node's attributes as `onnx.helper.get_attribute_value` reads them (int,
  float, bytes for strings, lists of them, TensorProto, ...); an absent attribute is
  absent, so apply the operator's defaults.
- `label`: the node for messages, e.g. `Conv node 'conv0'` or `Act unnamed node #3`.
- The importer: `importer.emit(op, label)` appends a graph op and returns its first result
  (it verifies the op, turning a VerifyException into an ONNXImportError naming the node,
  inserts the graph.constant ops of known operands, and refuses operands and results that
  are not float32); `importer.constant_ssa(array)` makes a float32 constant operand;
  `importer.opset` is the default domain's opset version, `importer.opsets[domain]` that
  of any domain the model imports; `importer.node` is the NodeProto being imported and
  `importer.used_extra_outputs()` names its outputs beyond the first that something uses.
- Return: the SSA value of the (first) output, a sequence with one entry per output (None
  for an output left unbound), or a NumPy array for a result known at import. Runtime
  results are float32 tensors of static shape. When a single value is returned and a later
  node or the graph uses another output of the node, the import fails naming it.
- Errors: raise `ONNXImportError(f"{label}: ...")` for what the converter declines; a
  plain ValueError (an op builder refusing shapes, say) becomes `ONNXImportError(f"{label}:
  {e}")`; any other exception propagates as a bug. A failed node does not stop the import:
  its problem is collected with the others, and the nodes that depend on it are skipped.

Register with `@converter("Conv")`, `register_converter(op_type, fn, domain="")`, or for a
while with `with temporary_converter(op_type, fn, domain): ...`; `unregister_converter`
removes one. The default domain is `""` (alias `"ai.onnx"`). A model whose nodes use
another domain must declare it in `opset_import` (the ONNX checker insists); a node of
a domain with no converter for its operator is reported as unsupported, as
`domain.OpType`. Nodes of other domains are never evaluated at import: their converter
sees known inputs as graph.constant operands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from ...dialects import graph
from ...dialects.arrays import from_numpy, numpy_dtype, to_numpy
from .evaluate import SHAPE_QUERIES, evaluate_node, is_foldable, shape_query

DEFAULT_DOMAINS = ("", "ai.onnx")
"""The names of ONNX's default operator domain."""


class ONNXImportError(ValueError):
    """The ONNX model cannot be imported; the message names what is at fault and why."""


# ------------------------------------------------------------------------ the registry

Converter = Callable[..., "SSAValue | Sequence[SSAValue | None] | np.ndarray"]
"""`fn(importer, operands, attrs, label)`: imports one node (see the module docstring)."""

SUPPORTED_OPS: dict[str, Converter] = {}
"""ONNX operator of the default domain -> the converter importing one node of it."""

_CONVERTERS: dict[str, dict[str, Converter]] = {"": SUPPORTED_OPS}  # domain -> op -> fn


def _domain(domain: str) -> str:
    if not isinstance(domain, str):
        raise TypeError(f"an ONNX domain is a string, got {domain!r}")
    return "" if domain in DEFAULT_DOMAINS else domain


def register_converter(op_type: str, fn: Converter, domain: str = "") -> Converter:
    """Make `fn` the converter of ONNX operator `op_type` of `domain` ("" or "ai.onnx":
    the default domain) and return it. Raises ValueError if that operator already has
    one (unregister it first) and TypeError for a bad argument."""
    if not isinstance(op_type, str) or not op_type:
        raise TypeError(f"an ONNX operator type is a non-empty string, got {op_type!r}")
    if not callable(fn):
        raise TypeError(f"the converter of {op_type} is not callable: {fn!r}")
    table = _CONVERTERS.setdefault(_domain(domain), {})
    if op_type in table:
        old = table[op_type]
        raise ValueError(
            f"ONNX operator {qualified_op(op_type, domain)} already has a converter "
            f"({getattr(old, '__module__', '?')}.{getattr(old, '__qualname__', '?')})"
        )
    table[op_type] = fn
    return fn


def converter(op_type: str, domain: str = "") -> Callable[[Converter], Converter]:
    """Decorator form of `register_converter`: `@converter("Conv")` above the function."""

    def register(fn: Converter) -> Converter:
        return register_converter(op_type, fn, domain)

    return register


def unregister_converter(op_type: str, domain: str = "") -> Converter:
    """Remove the converter of `op_type` of `domain` and return it (KeyError if none)."""
    key = _domain(domain)
    table = _CONVERTERS.get(key, {})
    if op_type not in table:
        raise KeyError(f"ONNX operator {qualified_op(op_type, domain)} has no converter")
    fn = table.pop(op_type)
    if key and not table:
        del _CONVERTERS[key]
    return fn


@contextmanager
def temporary_converter(op_type: str, fn: Converter, domain: str = "") -> Iterator[Converter]:
    """Register `fn` for `op_type` of `domain` for the duration of a `with` block."""
    register_converter(op_type, fn, domain)
    try:
        yield fn
    finally:
        unregister_converter(op_type, domain)


def find_converter(op_type: str, domain: str = "") -> Converter | None:
    """The converter of `op_type` of `domain`, or None if it has none."""
    return _CONVERTERS.get(_domain(domain), {}).get(op_type)


def registered_converters() -> list[tuple[str, str, Converter]]:
    """`(domain, op_type, converter)` of every registered converter, sorted: the default
    domain ("") first."""
    return sorted(
        ((domain, op, fn) for domain, table in _CONVERTERS.items() for op, fn in table.items()),
        key=lambda entry: entry[:2],
    )


def qualified_op(op_type: str, domain: str = "") -> str:
    """`op_type` for the default domain, `domain.op_type` for another one."""
    key = _domain(domain)
    return f"{key}.{op_type}" if key else op_type


# ------------------------------------------------------------------- shared helpers


def dense_f32(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A `dense<...> : tensor<...xf32>` attribute holding `array` as float32 (built from its
    bytes: irforge.dialects.arrays)."""
    return from_numpy(np.asarray(array, dtype=np.float32))


def dense(array: np.ndarray) -> DenseIntOrFPElementsAttr | None:
    """A dense attribute of any numeric array (None for strings and other objects)."""
    return from_numpy(array)


def elem_type_name(elem_type: int) -> str:
    """The NumPy name of an ONNX element type (TensorProto.FLOAT -> 'float32')."""
    return helper.tensor_dtype_to_np_dtype(elem_type).name if elem_type else "undefined"


def show_dims(dims: Sequence[int | str | None]) -> str:
    """A shape for messages, unknown dimensions as `?`: `[?, 3]`."""
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def string_array(names) -> ArrayAttr[StringAttr]:
    """An array attribute of strings."""
    return ArrayAttr([StringAttr(n) for n in names])


def name_hint(onnx_name: str) -> str | None:
    """An SSA name hint close to the ONNX name (`%logits0`), or None if nothing is left."""
    hint = re.sub(r"[^\w$.-]", "_", onnx_name)
    if hint and hint[0].isdigit():
        hint = "v" + hint
    return hint or None


def node_label(node: onnx.NodeProto, index: int) -> str:
    """`node 'NAME'`, or `unnamed node #INDEX` for a node without a name."""
    return f"node '{node.name}'" if node.name else f"unnamed node #{index}"


def _numpy_dtype_name(array: np.ndarray) -> str:
    return array.dtype.name if array.dtype != np.bool_ else "bool"


RUNTIME_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(d) for d in ("float32", "int64", "int32", "bool")
)
"""The element types irforge computes at run time (graph inputs, outputs, intermediates):
f32, i64, i32 and i1. Values of other types must be known at import, where they are
evaluated."""

RUNTIME_TYPES_TEXT = "float32, int64, int32 and bool"
"""`RUNTIME_DTYPES` for messages."""


def is_runtime_type(element_type) -> bool:
    """Whether irforge computes tensors of builtin `element_type` at run time."""
    try:
        return numpy_dtype(element_type) in RUNTIME_DTYPES
    except NotImplementedError:
        return False


def _check_output(vi: onnx.ValueInfoProto, value: SSAValue) -> None:
    """The declared type of a graph output, if any, must agree with the computed one."""
    tt = vi.type.tensor_type
    computed = numpy_dtype(value.type.element_type)
    if tt.elem_type and helper.tensor_dtype_to_np_dtype(tt.elem_type) != computed:
        raise ONNXImportError(
            f"output '{vi.name}' is declared {elem_type_name(tt.elem_type)}, but irforge "
            f"computes it as {computed.name}"
        )
    if not tt.HasField("shape"):
        return
    got = value.type.get_shape()
    declared = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    if len(declared) != len(got) or any(d is not None and d != g for d, g in zip(declared, got)):
        raise ONNXImportError(
            f"output '{vi.name}' is declared with shape {show_dims(declared)}, but its "
            f"computed shape is {list(got)}"
        )


# ---------------------------------------------------------------------- the import plan


def _plan(g: onnx.GraphProto) -> tuple[set[int], list[int]]:
    """Which nodes are evaluated at import (by structure: their inputs are all known, or
    they ask for a shape), and the indices of the nodes that can be neither folded nor
    imported (no converter for their operator)."""
    known = {t.name for t in g.initializer}
    folded: set[int] = set()
    unsupported = []
    for i, node in enumerate(g.node):
        if node.domain in DEFAULT_DOMAINS and is_foldable(node, known):
            folded.add(i)
            known.update(n for n in node.output if n)
        elif find_converter(node.op_type, node.domain) is None:
            unsupported.append(i)
    return folded, unsupported


def _unsupported_message(nodes: list[str], domains: set[str]) -> str:
    """The problem listing the nodes of operators without a converter (`nodes`: each
    `OpType (node 'name': its input types)`), and the operators irforge supports."""
    supported = ", ".join(qualified_op(op, d) for d, op, _ in registered_converters())
    message = (
        f"unsupported ONNX operators: {', '.join(nodes)}; irforge supports "
        f"{supported} (and evaluates any operator whose inputs are known at import)"
    )
    if domains:
        message += (
            f"; an operator of another domain ({', '.join(map(repr, sorted(domains)))}) "
            "needs a converter registered for its domain (irforge.frontends.onnx."
            "register_converter)"
        )
    return message


def describe_type(t: Attribute) -> str:
    """A tensor type for messages, as NumPy names it: `int64[1, 16]`."""
    if not isinstance(t, TensorType):
        return str(t)
    try:
        dtype = _numpy_dtype_name(np.empty(0, numpy_dtype(t.element_type)))
    except NotImplementedError:
        dtype = str(t.element_type)
    return f"{dtype}{list(t.get_shape())}"


def _import_error(problems: list[str]) -> ONNXImportError:
    if len(problems) == 1:
        return ONNXImportError(problems[0])
    listed = "\n".join(f"  - {p}" for p in problems)
    return ONNXImportError(f"{len(problems)} problems prevent the import:\n{listed}")


class _Poisoned(Exception):
    """A value that could not be imported (its node's problem is reported once)."""


# ------------------------------------------------------------------------- the importer


class Importer:
    """Builds ops into `block`, binding ONNX value names to SSA values as it goes.

    Values known at import (initializers, Constant, Shape, and any node whose inputs are
    all known) are NumPy arrays, evaluated here; only runtime tensors become graph ops. A
    known value that a runtime op reads becomes a `graph.constant` just before its first
    use, so unused ones (and their dtypes) do not matter.

    Converters (registered with `converter` / `register_converter`) receive it with the
    node's operands, attributes and label; see the module docstring for what they may
    call and return.
    """

    def __init__(
        self,
        block: Block,
        initializers: dict[str, TensorProto],
        opset: int,
        opsets: dict[str, int] | None = None,
    ):
        self.block = block
        self.initializers = initializers
        self.opset = opset
        """The version of the default domain the model imports."""
        self.opsets: dict[str, int] = {"": opset, **(opsets or {})}
        """Domain ("" for the default) -> the version the model imports."""
        self.values: dict[str, SSAValue] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.poisoned: set[str] = set()
        self.problems: list[str] = []
        self.skipped: list[str] = []
        """The labels of nodes not tried because an input could not be imported."""
        self.stand_in_types: dict[str, TensorType] = {}
        """ONNX value name -> its type, for values that could not be imported: a node that
        reads one is still tried on a stand-in value of that type, so that a failing import
        reports the problems of every node (model.py fills it from ONNX shape inference)."""
        self.node: onnx.NodeProto | None = None
        self._used: set[str] = set()
        self._constant_ops: dict[str, graph.ConstantOp] = {}
        self._arrays: dict[SSAValue, np.ndarray] = {}
        self._names: dict[SSAValue, str] = {}

    # -- values ----------------------------------------------------------------------------

    def bind(self, name: str, value: SSAValue | np.ndarray) -> None:
        """Make `value` (a runtime SSA value or a known array) the ONNX value `name`."""
        if isinstance(value, np.ndarray):
            self.constants[name] = value
            return
        if value in self._arrays and value.owner.parent is None:
            self.constants[name] = self._arrays[value]  # a known value passed through
            return
        if value.name_hint is None:
            value.name_hint = name_hint(name)
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
            return to_numpy(value.owner.value)
        return None

    def constant_ssa(self, array: np.ndarray, dtype: np.dtype | str = np.float32) -> SSAValue:
        """A graph.constant holding `array` as `dtype` (default float32), inserted when an
        emitted op uses it."""
        array = np.asarray(array, dtype=dtype)
        op = graph.ConstantOp(from_numpy(array))
        self._arrays[op.result] = array
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
            attr = dense(array)
            if attr is None:
                raise ONNXImportError(
                    f"{user}: '{name}' is a {_numpy_dtype_name(array)} tensor, which irforge "
                    "cannot hold in a graph op"
                )
            op = graph.ConstantOp(attr)
            op.result.name_hint = name_hint(name)
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

        Known operands are inserted as graph.constant ops first; an operand or result whose
        element type irforge does not compute at run time (`RUNTIME_DTYPES`) is an
        ONNXImportError.
        """
        for v in op.operands:
            self._check_runtime_type(v, label)
        try:
            op.verify()
        except VerifyException as e:
            raise ONNXImportError(f"{label}: {e}") from e
        for v in op.operands:
            self._insert_constant(v, label)
        for r in op.results:
            if isinstance(r.type, TensorType) and not is_runtime_type(r.type.element_type):
                raise ONNXImportError(
                    f"{label}: the result has element type {r.type.element_type}; irforge "
                    f"computes {RUNTIME_TYPES_TEXT} tensors only at run time"
                )
        self.block.add_op(op)
        return op.results[0]

    def _check_runtime_type(self, v: SSAValue, label: str) -> None:
        if not is_runtime_type(v.type.element_type):
            dtype = _numpy_dtype_name(self._arrays[v]) if v in self._arrays else v.type.element_type
            raise ONNXImportError(
                f"{label}: {self._describe(v)} has element type {dtype}; irforge computes "
                f"{RUNTIME_TYPES_TEXT} tensors only at run time (values of other types must "
                "be known at import, where they are evaluated)"
            )

    def _insert_constant(self, v: SSAValue, label: str) -> None:
        """Insert the graph.constant of a known value at its first use."""
        owner = v.owner
        if isinstance(owner, graph.ConstantOp) and owner.parent is None:
            self._check_runtime_type(v, label)
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
        unsupported_at = len(self.problems)  # the unsupported operators are listed first
        self._used = {n for node in g.node for n in node.input} | {vi.name for vi in g.output}
        for index, node in enumerate(g.node):
            label = f"{node.op_type} {node_label(node, index)}"
            self.node = node
            outputs = [o for o in node.output if o]
            if any(n in self.poisoned for n in node.input if n):
                if not self._stand_in(node):
                    self.skipped.append(label)
                    self.poisoned.update(outputs)
                    continue
            try:
                supported = find_converter(node.op_type, node.domain) is not None
                if index in folded:
                    try:
                        self.fold(node, label)
                    except ONNXImportError:
                        if not supported or node.op_type in SHAPE_QUERIES:
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
        if unsupported:
            nodes = [
                f"{qualified_op(g.node[i].op_type, g.node[i].domain)} "
                f"({node_label(g.node[i], i)}){self._input_types(g.node[i])}"
                for i in unsupported
            ]
            domains = {g.node[i].domain for i in unsupported} - set(DEFAULT_DOMAINS)
            self.problems.insert(unsupported_at, _unsupported_message(nodes, domains))
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

    def _stand_in(self, node: onnx.NodeProto) -> bool:
        """Give each poisoned input of `node` a stand-in value of its type from
        `stand_in_types`, so that the node is still tried and its own problems reported;
        False (nothing changed) if some poisoned input has no known type."""
        names = [n for n in node.input if n and n in self.poisoned]
        if not all(n in self.stand_in_types for n in names):
            return False
        for n in names:
            self.poisoned.discard(n)
            self.values[n] = Block(arg_types=[self.stand_in_types[n]]).args[0]
        return True

    def _input_types(self, node: onnx.NodeProto) -> str:
        """` on (int64[1, 16], float32[16, 32])`: `node`'s input types as far as known."""
        types = []
        for n in node.input:
            if not n:
                continue
            if n in self.values:
                types.append(describe_type(self.values[n].type))
            elif n in self.stand_in_types:
                types.append(describe_type(self.stand_in_types[n]))
            elif (array := self.constant_value(n)) is not None:
                types.append(f"{_numpy_dtype_name(array)}{list(array.shape)}")
            else:
                types.append("?")
        return f" on ({', '.join(types)})" if types else ""

    def evaluate(self, node: onnx.NodeProto) -> list:
        """The outputs of a default-domain `node` whose inputs are all known, evaluated
        with NumPy or onnx.reference; raises whatever the evaluator raises."""
        inputs = [self.constant_value(n) if n else None for n in node.input]
        return evaluate_node(node, inputs, self.opset)

    def fold(self, node: onnx.NodeProto, label: str) -> None:
        """Evaluate a node whose result is known at import and bind its outputs."""
        if node.op_type in SHAPE_QUERIES and node.input[0] in self.values:
            shape = tuple(self.values[node.input[0]].type.get_shape())
            arrays = [shape_query(node, shape)]
        else:
            try:
                arrays = self.evaluate(node)
            except Exception as e:  # the reference evaluator's errors have no common base
                raise ONNXImportError(
                    f"{label}: cannot evaluate it at import (its inputs are known): "
                    f"{type(e).__name__}: {e}"
                ) from e
        for name, array in zip(node.output, arrays):
            if name:
                self.constants[name] = np.asarray(array)

    def import_node(self, node: onnx.NodeProto, label: str) -> None:
        """Import `node` with the converter registered for its operator and domain."""
        try:
            operands = [self.lookup(n, label) if n else None for n in node.input]
        except _Poisoned:  # pragma: no cover - checked by import_graph
            self.poisoned.update(node.output)
            return
        attrs: dict[str, Any] = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        convert = find_converter(node.op_type, node.domain)
        try:
            result = convert(self, operands, attrs, label)
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
