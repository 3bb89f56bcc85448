"""The `graph` dialect: a hardware-agnostic computation graph with value semantics.

Every op takes and returns builtin ranked tensors with static shapes and follows the ONNX
operator of the same name; core.py documents the conventions. The package is layered
"base <- families <- aggregator":

- base.py: what the families share: `GraphOp`, `AnyTensor`, the elementwise base classes,
  `static_shape`, `broadcast_shapes`, the attribute builders and the window geometry
  (`Window`, `window_props`);
- core.py, math.py, nn.py, shape.py, layout.py: the op families, each with an `OPS` list;
  a family imports base.py only;
- this module: imports the families, re-exports every op class and the base names, and
  builds `Graph`, the dialect, listing the ops family by family.

`from irforge.dialects import graph` then `graph.AddOp`, `graph.ConvOp`, `graph.Graph`;
the family modules (`irforge.dialects.graph.nn`, ...) export their own ops too.
"""

from __future__ import annotations

from xdsl.ir import Dialect

from . import attention, core, gather, layout, logic, math, nn, positional, shape
from .attention import AttentionOp
from .base import (
    AnyTensor,
    ElementwiseBinaryOp,
    ElementwiseUnaryOp,
    GraphOp,
    Window,
    broadcast_shapes,
    f32_attr,
    i64_array,
    i64_attr,
    is_f32_tensor,
    static_shape,
    window_props,
)
from .core import (
    AddOp,
    ConstantOp,
    GemmOp,
    IdentityOp,
    MatMulOp,
    MulOp,
    ReluOp,
    ReshapeOp,
    SoftmaxOp,
    SubOp,
    TransposeOp,
)
from .gather import GatherElementsOp, GatherNDOp, GatherOp
from .layout import Conv2DNchwcOp, PackOp, UnpackOp
from .logic import (
    AndOp,
    CastOp,
    CompareOp,
    EqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    LessOp,
    LessOrEqualOp,
    LogicalBinaryOp,
    NotOp,
    OrOp,
    XorOp,
)
from .math import (
    AbsOp,
    ClipOp,
    DivOp,
    EluOp,
    ErfOp,
    ExpOp,
    GeluOp,
    HardSigmoidOp,
    LayerNormOp,
    LeakyReluOp,
    LogOp,
    MaxOp,
    MinOp,
    NegOp,
    PowOp,
    ReciprocalOp,
    ReduceMaxOp,
    ReduceMeanOp,
    ReduceMinOp,
    ReduceOp,
    ReduceProdOp,
    ReduceSumOp,
    SigmoidOp,
    SoftplusOp,
    SqrtOp,
    TanhOp,
    UnaryMathOp,
)
from .nn import (
    AveragePoolOp,
    BatchNormOp,
    ConvOp,
    GlobalAveragePoolOp,
    GlobalMaxPoolOp,
    LRNOp,
    MaxPoolOp,
)
from .positional import CumSumOp, TriluOp
from .shape import ConcatOp, ExpandOp, SliceOp, WhereOp

Graph = Dialect(
    "graph",
    [
        *core.OPS,
        *math.OPS,
        *nn.OPS,
        *shape.OPS,
        *gather.OPS,
        *layout.OPS,
        *logic.OPS,
        *positional.OPS,
        *attention.OPS,
    ],
    [],
)
"""The `graph` dialect: the core ops, then the math, nn, shape and layout families."""

__all__ = [
    # base.py
    "AnyTensor",
    "ElementwiseBinaryOp",
    "ElementwiseUnaryOp",
    "GraphOp",
    "Window",
    "broadcast_shapes",
    "f32_attr",
    "i64_array",
    "i64_attr",
    "is_f32_tensor",
    "static_shape",
    "window_props",
    # core.py
    "AddOp",
    "ConstantOp",
    "GemmOp",
    "IdentityOp",
    "MatMulOp",
    "MulOp",
    "ReluOp",
    "ReshapeOp",
    "SoftmaxOp",
    "SubOp",
    "TransposeOp",
    # math.py
    "AbsOp",
    "ClipOp",
    "DivOp",
    "EluOp",
    "ErfOp",
    "ExpOp",
    "GeluOp",
    "HardSigmoidOp",
    "LayerNormOp",
    "LeakyReluOp",
    "LogOp",
    "MaxOp",
    "MinOp",
    "NegOp",
    "PowOp",
    "ReciprocalOp",
    "ReduceMaxOp",
    "ReduceMeanOp",
    "ReduceMinOp",
    "ReduceOp",
    "ReduceProdOp",
    "ReduceSumOp",
    "SigmoidOp",
    "SoftplusOp",
    "SqrtOp",
    "TanhOp",
    "UnaryMathOp",
    # nn.py
    "AveragePoolOp",
    "BatchNormOp",
    "ConvOp",
    "GlobalAveragePoolOp",
    "GlobalMaxPoolOp",
    "LRNOp",
    "MaxPoolOp",
    # shape.py
    "ConcatOp",
    "ExpandOp",
    "SliceOp",
    "WhereOp",
    # gather.py
    "GatherElementsOp",
    "GatherNDOp",
    "GatherOp",
    # layout.py
    "Conv2DNchwcOp",
    "PackOp",
    "UnpackOp",
    # logic.py
    "AndOp",
    "CastOp",
    "CompareOp",
    "EqualOp",
    "GreaterOp",
    "GreaterOrEqualOp",
    "LessOp",
    "LessOrEqualOp",
    "LogicalBinaryOp",
    "NotOp",
    "OrOp",
    "XorOp",
    # positional.py
    "CumSumOp",
    "TriluOp",
    # attention.py
    "AttentionOp",
    # the dialect
    "Graph",
]
