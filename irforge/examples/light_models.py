"""The onnx package's light model graphs (onnx/backend/test/data/light), made meaningful
for tests and benchmarks.

Their weights are all one constant (every ConstantOfShape and float initializer holds 0.02),
so their outputs are uniform whatever the input. `randomize_weights` replaces every weight
by seeded random values of a sensible scale for its role, read off the op that consumes it:

- Conv / Gemm / MatMul weights: He-normal, std = sqrt(2 / fan_in) (He et al., 2015);
- biases (Conv B, Gemm C, Add/Sum operands): N(0, 0.05);
- BatchNormalization: scale U(0.8, 1.2), bias N(0, 0.1), mean N(0, 0.1), var U(0.5, 1.5);
- anything else: N(0, 0.05).

`logits_model` exposes the input of the final Softmax as the model's output, so outputs
are compared before the Softmax squashes differences.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

LIGHT_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
NAMES = [
    "resnet50",
    "squeezenet",
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "shufflenet",
    "vgg19",
    "zfnet512",
]


def model_path(name: str) -> str:
    return os.path.join(LIGHT_DIR, f"light_{name}.onnx")


def load(name: str) -> onnx.ModelProto:
    return onnx.load(model_path(name))


def _role_values(rng, node: onnx.NodeProto | None, index: int, shape) -> np.ndarray:
    op_type = node.op_type if node is not None else ""
    if index == 1 and op_type in ("Conv", "Gemm", "MatMul"):
        if op_type == "Conv":
            fan_in = int(np.prod(shape[1:]))
        elif op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            fan_in = shape[1] if attrs.get("transB", 0) else shape[0]
        else:
            fan_in = shape[0]
        return rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), shape)
    if op_type == "BatchNormalization":
        return {
            1: lambda: rng.uniform(0.8, 1.2, shape),
            2: lambda: rng.normal(0.0, 0.1, shape),
            3: lambda: rng.normal(0.0, 0.1, shape),
            4: lambda: rng.uniform(0.5, 1.5, shape),
        }.get(index, lambda: rng.normal(0.0, 0.05, shape))()
    if op_type == "Mul":  # a per-channel scale (DenseNet's and Inception-v2's affine after BN)
        return rng.uniform(0.8, 1.2, shape)
    return rng.normal(0.0, 0.05, shape)


def randomize_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy of `model` whose ConstantOfShape weights and float initializers are replaced
    by seeded random initializers (scales in the module docstring)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    rng = np.random.default_rng(seed)
    inits = {t.name: t for t in g.initializer}
    consumers: dict[str, tuple[onnx.NodeProto, int]] = {}
    for node in g.node:
        for i, name in enumerate(node.input):
            consumers.setdefault(name, (node, i))
    # Look through shape-only ops (Unsqueeze, Reshape) to the op that uses the weight.
    for name, (node, i) in list(consumers.items()):
        while node.op_type in ("Unsqueeze", "Reshape", "Flatten") and i == 0:
            if node.output[0] not in consumers:
                break
            node, i = consumers[node.output[0]]
        consumers[name] = (node, i)
    new_inits: dict[str, np.ndarray] = {}
    keep_nodes = []
    for node in g.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = tuple(int(d) for d in numpy_helper.to_array(inits[node.input[0]]))
            consumer, index = consumers.get(node.output[0], (None, 0))
            vals = _role_values(rng, consumer, index, shape).astype(np.float32)
            new_inits[node.output[0]] = vals
        else:
            keep_nodes.append(node)
    for t in g.initializer:
        arr = numpy_helper.to_array(t)
        if arr.dtype == np.float32 and t.name in consumers and arr.size > 1:
            consumer, index = consumers[t.name]
            new_inits[t.name] = _role_values(rng, consumer, index, arr.shape).astype(np.float32)
    del g.node[:]
    g.node.extend(keep_nodes)
    used = {n for node in g.node for n in node.input}
    old = [t for t in g.initializer if t.name not in new_inits and t.name in used]
    del g.initializer[:]
    g.initializer.extend(old)
    g.initializer.extend(numpy_helper.from_array(v, name=k) for k, v in new_inits.items())
    weights = {t.name for t in g.initializer}  # weights listed as inputs too (IR < 4)
    inputs = [i for i in g.input if i.name in used and i.name not in weights]
    del g.input[:]
    g.input.extend(inputs)
    m.ir_version = max(4, min(m.ir_version, 10))  # 4+: initializers need not be inputs
    return m


def logits_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose single output is the input of the last Softmax node (the logits), or
    an unchanged copy when the model has no Softmax."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    softmaxes = [n for n in g.node if n.op_type == "Softmax"]
    if not softmaxes:  # the model ends in its logits already (DenseNet-121)
        return m
    soft = softmaxes[-1]
    logits = soft.input[0]
    idx = list(g.node).index(soft)
    del g.node[idx]
    del g.output[:]
    inferred = onnx.shape_inference.infer_shapes(m).graph.value_info
    info = next((vi for vi in inferred if vi.name == logits), None)
    if info is None:
        raise ValueError(f"cannot infer the shape of the logits '{logits}'")
    g.output.append(info)
    return m


def random_input(model: onnx.ModelProto, seed: int = 1) -> np.ndarray:
    """A seeded random image batch for the model's data input (its one non-weight input)."""
    weights = {t.name for t in model.graph.initializer}
    x = next(i for i in model.graph.input if i.name not in weights)
    shape = [d.dim_value for d in x.type.tensor_type.shape.dim]
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
