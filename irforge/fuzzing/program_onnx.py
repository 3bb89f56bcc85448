"""Export a graph-level program (`func.func @main` of graph ops) to an ONNX model and run
it with ONNX Runtime: the fuzzer's second oracle (programs.py).

`to_onnx(module)` writes one ONNX node (or a few) per graph op, opset 20, IR version 10
(ONNX Runtime 1.31 refuses IR versions above 13): each op follows the ONNX operator it
is named after (dialects/graph*.py), with these translations:

- reductions take `axes` as an input (opset 18); an empty list is `noop_with_empty_axes`;
- clip's absent bounds are absent optional inputs;
- slice's static starts, steps and sizes become starts, ends and steps (an end before
  index 0 is written as -(n + 1), which ONNX clamps to "before the first element");
- the layout ops, which ONNX lacks: pack is Reshape + Transpose, unpack the reverse, and
  conv2d_nchwc a Conv of the unpacked input with the weights and bias unblocked at export
  time, packed again.

ONNX's shape inference (onnx 1.23) sizes a pool in ceil mode without dropping a last
window that would start in the end padding, unlike the ONNX Runtime kernels, PyTorch and
irforge (dialects/graph/nn.py `Window`): ONNX Runtime then rejects the model when a later
node's inferred shapes contradict each other (a MaxPool of [1, 1, 2] with kernel 1,
stride 2, ceil_mode 1: inferred 2, computed 1). Such programs are left to the reference.

`run_onnxruntime(module, inputs)` returns ONNX Runtime's output, or None when ONNX
Runtime cannot run the graph (`ort_can_run`: its LRN kernel takes only 4-D inputs and odd
sizes; ceil-mode pools, below; the fuzzer then checks against the NumPy reference alone).

Tolerances against irforge (`ORT_RTOL`, `ORT_ATOL`, atol times the program's scale):
1e-4 and 1e-5 like the reference check, since ONNX Runtime's MLAS kernels (blocked sums,
its own vectorized exp, tanh, erf and logistic within a few ulps) differ from irforge by
rounding only.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from irforge.dialects import graph
from irforge.dialects.arrays import numpy_dtype, to_numpy
from irforge.dialects.graph import attention as gattn
from irforge.dialects.graph import gather as ggather
from irforge.dialects.graph import layout as gl
from irforge.dialects.graph import logic as glogic
from irforge.dialects.graph import math as gm
from irforge.dialects.graph import nn as gn
from irforge.dialects.graph import positional as gpos
from irforge.dialects.graph import shape as gs

ORT_RTOL, ORT_ATOL = 1e-4, 1e-5
OPSET = 20

_SAME = {
    graph.AddOp: "Add", graph.SubOp: "Sub", graph.MulOp: "Mul", gm.DivOp: "Div",
    gm.PowOp: "Pow", gm.MaxOp: "Max", gm.MinOp: "Min", graph.ReluOp: "Relu",
    graph.IdentityOp: "Identity", gm.SqrtOp: "Sqrt", gm.ExpOp: "Exp", gm.LogOp: "Log",
    gm.AbsOp: "Abs", gm.NegOp: "Neg", gm.ReciprocalOp: "Reciprocal", gm.TanhOp: "Tanh",
    gm.ErfOp: "Erf", gm.SigmoidOp: "Sigmoid", gm.SoftplusOp: "Softplus",
    graph.MatMulOp: "MatMul", gs.ConcatOp: "Concat", gn.GlobalAveragePoolOp:
    "GlobalAveragePool", gn.GlobalMaxPoolOp: "GlobalMaxPool", gn.BatchNormOp:
    "BatchNormalization", gs.ExpandOp: "Expand", graph.ReshapeOp: "Reshape",
    gs.WhereOp: "Where", glogic.EqualOp: "Equal", glogic.LessOp: "Less",
    glogic.LessOrEqualOp: "LessOrEqual", glogic.GreaterOp: "Greater",
    glogic.GreaterOrEqualOp: "GreaterOrEqual", glogic.AndOp: "And", glogic.OrOp: "Or",
    glogic.XorOp: "Xor", glogic.NotOp: "Not",
}  # fmt: skip
_REDUCE = {
    gm.ReduceSumOp: "ReduceSum", gm.ReduceMeanOp: "ReduceMean", gm.ReduceMaxOp: "ReduceMax",
    gm.ReduceMinOp: "ReduceMin", gm.ReduceProdOp: "ReduceProd",
}  # fmt: skip
_FLOAT_PARAMS = ("alpha", "beta", "bias", "epsilon")
_INT_PARAMS = ("axis", "group", "ceil_mode", "count_include_pad", "size", "keepdims")
_ARRAY_PARAMS = ("perm", "kernel_shape", "strides", "pads", "dilations")


class _Writer:
    """Nodes and initializers of the model, and the names of values."""

    def __init__(self):
        from onnx import helper

        self.helper = helper
        self.nodes, self.inits, self.names = [], [], {}

    def name(self, v: SSAValue) -> str:
        return self.names.setdefault(v, f"v{len(self.names)}")

    def const(self, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, kind: str, inputs: list[str], out: str | None = None, **attrs) -> str:
        out = out or f"t{len(self.nodes)}"
        self.nodes.append(self.helper.make_node(kind, inputs, [out], **attrs))
        return out


def _attrs(op: Operation) -> dict:
    """The op's properties that map one to one onto ONNX attributes."""
    out = {}
    for key, attr in op.properties.items():
        if key in _FLOAT_PARAMS:
            out[key] = float(attr.value.data)
        elif key in _INT_PARAMS:
            out[key] = int(attr.value.data)
        elif key in _ARRAY_PARAMS and attr.get_values():  # a rank-0 transpose has no perm
            out[key] = [int(v) for v in attr.get_values()]
        elif key == "approximate":
            out[key] = attr.data
        elif key in ("transA", "transB"):
            out[key] = int(attr.value.data)
    return out


def _pack(w: _Writer, x: str, shape, block: int, out: str | None = None) -> str:
    n, c, *spatial = shape
    r = w.node("Reshape", [x, w.const(np.array([n, c // block, block, *spatial], np.int64))])
    perm = [0, 1, *range(3, 3 + len(spatial)), 2]
    return w.node("Transpose", [r], out, perm=perm)


def _unpack(w: _Writer, x: str, shape, out: str | None = None) -> str:
    n, cb, *spatial, block = shape
    perm = [0, 1, len(shape) - 1, *range(2, len(shape) - 1)]
    t = w.node("Transpose", [x], perm=perm)
    return w.node("Reshape", [t, w.const(np.array([n, cb * block, *spatial], np.int64))], out)


def _export(w: _Writer, op: Operation, ins: list[str], out: str) -> None:
    shape = tuple(op.results[0].type.get_shape())
    attrs = _attrs(op)
    if isinstance(op, graph.ReshapeOp | gs.ExpandOp):
        w.node(_SAME[type(op)], [*ins, w.const(np.array(shape, np.int64))], out)
    elif type(op) in _SAME:
        w.node(_SAME[type(op)], ins, out, **attrs)
    elif isinstance(op, gm.UnaryMathOp):  # the ones with parameters
        kind = {gm.GeluOp: "Gelu", gm.LeakyReluOp: "LeakyRelu", gm.EluOp: "Elu"}
        kind |= {gm.HardSigmoidOp: "HardSigmoid", gm.ClipOp: "Clip"}
        if isinstance(op, gm.ClipOp):
            bounds = [op.param("min"), op.param("max")]
            ins += ["" if b is None else w.const(np.float32(b)) for b in bounds]
            attrs = {}
        w.node(kind[type(op)], ins, out, **attrs)
    elif isinstance(op, gm.ReduceOp):
        axes = [int(a) for a in op.axes.get_values()]
        extra = {} if axes else {"noop_with_empty_axes": 1}
        w.node(_REDUCE[type(op)], [*ins, w.const(np.array(axes, np.int64))], out, **attrs, **extra)
    elif isinstance(op, graph.GemmOp | graph.SoftmaxOp | graph.TransposeOp | gn.LRNOp):
        kind = {graph.GemmOp: "Gemm", graph.SoftmaxOp: "Softmax"}
        kind |= {graph.TransposeOp: "Transpose", gn.LRNOp: "LRN"}
        w.node(kind[type(op)], ins, out, **attrs)
    elif isinstance(op, gm.LayerNormOp):
        w.node("LayerNormalization", ins, out, **attrs)
    elif isinstance(op, gn.ConvOp | gn.MaxPoolOp | gn.AveragePoolOp):
        kind = {gn.ConvOp: "Conv", gn.MaxPoolOp: "MaxPool", gn.AveragePoolOp: "AveragePool"}
        w.node(kind[type(op)], ins, out, **attrs)
    elif isinstance(op, gs.SliceOp):
        src = op.input.type.get_shape()
        starts, steps = op.start_values, op.step_values
        ends = [s + k * st for s, k, st in zip(starts, shape, steps)]
        ends = [e if e >= 0 else -n - 1 for e, n in zip(ends, src)]
        consts = [w.const(np.array(a, np.int64)) for a in (starts, ends, range(len(src)), steps)]
        w.node("Slice", [*ins, *consts], out)
    elif isinstance(op, glogic.CastOp):
        to = numpy_dtype(op.result.type.element_type)
        w.node("Cast", ins, out, to=w.helper.np_dtype_to_tensor_dtype(to))
    elif isinstance(op, gattn.AttentionOp):
        _attention(w, op, ins, out)
    elif isinstance(op, ggather.GatherOp | ggather.GatherElementsOp):
        kind = "Gather" if isinstance(op, ggather.GatherOp) else "GatherElements"
        w.node(kind, ins, out, axis=int(op.axis.value.data))
    elif isinstance(op, ggather.GatherNDOp):
        w.node("GatherND", ins, out, batch_dims=int(op.batch_dims.value.data))
    elif isinstance(op, gpos.TriluOp):
        k = w.const(np.array(op.k.value.data, np.int64))
        w.node("Trilu", [*ins, k], out, upper=int(op.upper.value.data))
    elif isinstance(op, gpos.CumSumOp):
        axis = w.const(np.array(op.axis.value.data, np.int64))
        flags = {"exclusive": int(op.exclusive.value.data), "reverse": int(op.reverse.value.data)}
        w.node("CumSum", [*ins, axis], out, **flags)
    elif isinstance(op, gl.PackOp):
        _pack(w, ins[0], op.input.type.get_shape(), op.block.value.data, out)
    elif isinstance(op, gl.UnpackOp):
        _unpack(w, ins[0], op.input.type.get_shape(), out)
    elif isinstance(op, gl.Conv2DNchwcOp):
        _blocked_conv(w, op, ins, out)
    else:
        raise NotImplementedError(f"no ONNX export of '{op.name}'")


def _attention(w: _Writer, op: gattn.AttentionOp, ins: list[str], out: str) -> None:
    """graph.attention as the opset-20 ops torch writes: MatMul(Q, K^T), Mul by the
    scale, Add of the mask, Softmax on the last axis, MatMul by V."""
    q, k, v, *mask = ins
    rank = len(op.key.type.get_shape())
    perm = [*range(rank - 2), rank - 1, rank - 2]
    scores = w.node("MatMul", [q, w.node("Transpose", [k], perm=perm)])
    scale = w.const(np.array(op.scale.value.data, np.float32))
    scores = w.node("Mul", [scores, scale])
    if mask:
        scores = w.node("Add", [scores, mask[0]])
    w.node("MatMul", [w.node("Softmax", [scores], axis=-1), v], out)


def _blocked_conv(w: _Writer, op: gl.Conv2DNchwcOp, ins: list[str], out: str) -> None:
    blocked = to_numpy(op.weight.owner.value)
    mb, cb, kh, kw, ci, co = blocked.shape
    plain = blocked.transpose(0, 5, 1, 4, 2, 3).reshape(mb * co, cb * ci, kh, kw)
    x = _unpack(w, ins[0], op.input.type.get_shape())
    conv_ins = [x, w.const(plain)]
    if op.bias is not None:
        conv_ins.append(w.const(to_numpy(op.bias.owner.value).reshape(-1)))
    y = w.node("Conv", conv_ins, **_attrs(op))
    n, _, oh, ow, _ = op.result.type.get_shape()
    _pack(w, y, (n, mb * co, oh, ow), co, out)


def to_onnx(module: ModuleOp, entry: str = "main"):
    """The ONNX ModelProto of the graph function `entry` (module docs).

    Raises NotImplementedError for an op without an export (a plugin's), and for a
    conv2d_nchwc whose weights or bias are not constants."""
    from onnx import TensorProto, helper

    fn = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == entry)
    w = _Writer()
    block = fn.body.blocks.first
    inputs = []
    for arg in block.args:
        shape = list(arg.type.get_shape())
        inputs.append(helper.make_tensor_value_info(w.name(arg), TensorProto.FLOAT, shape))
    outputs = []
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            for v in op.operands:
                shape = list(v.type.get_shape())
                outputs.append(helper.make_tensor_value_info(w.name(v), TensorProto.FLOAT, shape))
        elif isinstance(op, graph.ConstantOp):
            w.names[op.result] = w.const(to_numpy(op.value))
        else:
            _export(w, op, [w.name(v) for v in op.operands], w.name(op.results[0]))
    g = helper.make_graph(w.nodes, "fuzz", inputs, outputs, w.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    return model


def _onnx_infers_pool_differently(op: gn.MaxPoolOp | gn.AveragePoolOp) -> bool:
    """Whether ONNX's shape inference sizes this ceil-mode pool differently (module docs)."""
    win = op.window()
    if not win.ceil_mode:
        return False
    for d, n in enumerate(op.input.type.get_shape()[2:]):
        room = n + win.pads_begin[d] + win.pads_end[d] - win.dilations[d] * (win.kernel[d] - 1) - 1
        if -(-room // win.strides[d]) + 1 != win.output_size(d, n):
            return True
    return False


def ort_can_run(module: ModuleOp) -> bool:
    """Whether ONNX Runtime (1.31, CPU) runs every op of `module` as exported: not an LRN
    of a rank other than 4 or of an even size, not a ceil-mode pool whose last window
    starts in the end padding (ONNX's shape inference and its kernels disagree on its
    size: module docs)."""
    for op in module.walk():
        if isinstance(op, gn.LRNOp):
            if len(op.input.type.get_shape()) != 4 or op.size.value.data % 2 == 0:
                return False
        if isinstance(op, gn.MaxPoolOp | gn.AveragePoolOp) and _onnx_infers_pool_differently(op):
            return False
    return True


def run_onnxruntime(module: ModuleOp, inputs: list[np.ndarray]) -> np.ndarray | None:
    """ONNX Runtime's first output of `module` on `inputs`, or None when it cannot run
    the graph (module docs). The module is not changed."""
    import onnxruntime as ort

    if not ort_can_run(module):
        return None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(to_onnx(module).SerializeToString(), opts, ["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, inputs)))[0]
