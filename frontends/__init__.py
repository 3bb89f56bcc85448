"""Frontends: bring models from other formats into irforge's `graph` dialect.

- `irforge.frontends.onnx`: `import_onnx(model, input_shapes=None)` turns an ONNX model
  (a ModelProto or a .onnx path) into a verified `builtin.module` with one `func.func @main`
  of graph ops; problems raise `ONNXImportError` naming the input, initializer or node.

Submodules are imported on demand (the onnx package is heavy), so `import irforge` does not
load them.
"""
