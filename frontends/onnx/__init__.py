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
docs/onnx.md, from the converter families core.py (Gemm, MatMul (2-D), Add, Sub, Mul,
Relu, Softmax, Identity, Constant), math.py, nn.py and shape.py. Operators of other
domains (and more of the default one) can be added by plugins with `converter` /
`register_converter`; base.py documents what a converter receives and returns.

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

The package is laid out so that nothing in it imports this file, and no family another:

- base.py: `ONNXImportError`, the `Importer`, the converter registry, shared helpers;
- evaluate.py: import-time evaluation (NumPy, onnx.reference);
- model.py: `import_onnx`, `load_model`, `parse_input_shape` (the model level);
- core.py, math.py, nn.py, shape.py, logic.py, ...: the converter families, registered on
  import here;
- operators_page.py: the operator table of docs/onnx.md (`python -m irforge.frontends.onnx`).

Source: the ONNX operator specifications, https://onnx.ai/onnx/operators/.
"""

from . import core, gather, logic, math, nn, positional, shape  # noqa: F401  (the built-in converters)
from .base import (
    DEFAULT_DOMAINS,
    SUPPORTED_OPS,
    Converter,
    Importer,
    ONNXImportError,
    converter,
    dense,
    dense_f32,
    find_converter,
    register_converter,
    registered_converters,
    temporary_converter,
    unregister_converter,
)
from .evaluate import evaluate_node
from .model import MIN_OPSET, import_onnx, load_model, parse_input_shape
from .operators_page import operators_markdown, update_operators_page, write_operator_pages

__all__ = [
    "DEFAULT_DOMAINS",
    "MIN_OPSET",
    "SUPPORTED_OPS",
    "Converter",
    "Importer",
    "ONNXImportError",
    "converter",
    "dense",
    "dense_f32",
    "evaluate_node",
    "find_converter",
    "import_onnx",
    "load_model",
    "operators_markdown",
    "parse_input_shape",
    "register_converter",
    "registered_converters",
    "temporary_converter",
    "unregister_converter",
    "update_operators_page",
    "write_operator_pages",
]
