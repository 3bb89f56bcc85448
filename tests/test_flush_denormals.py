"""graph-flush-denormals: subnormal constants become signed zeros, nothing else changes
(IR-level cases are in tests/filecheck/passes/graph-flush-denormals.mlir)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from irforge.dialects import graph
from irforge.dialects.arrays import to_numpy
from irforge.passes.graph.graph_flush_denormals import GraphFlushDenormalsPass, flush_denormals
from irforge.passes.infra.statistics import collecting


@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(max_dims=3, max_side=6),
        elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=32),
    )
)
def test_flush_keeps_every_normal_value_and_every_sign(a: np.ndarray) -> None:
    out, count = flush_denormals(a)
    tiny = np.finfo(a.dtype).tiny
    subnormal = (a != 0) & (np.abs(a) < tiny)
    assert count == int(subnormal.sum())
    assert out.dtype == a.dtype and out.shape == a.shape
    assert not ((out != 0) & (np.abs(out) < tiny)).any()
    assert np.array_equal(out[~subnormal], a[~subnormal], equal_nan=True)
    assert (out[subnormal] == 0).all()
    assert np.array_equal(np.signbit(out), np.signbit(a))


def test_integer_arrays_are_returned_unchanged() -> None:
    a = np.array([0, 1, -1], dtype=np.int64)
    out, count = flush_denormals(a)
    assert out is a and count == 0


def test_digits_weights_are_flushed() -> None:
    from onnx import numpy_helper

    from irforge.dialects import make_dialect_context
    from irforge.examples.digits import model_path
    from irforge.frontends.onnx import import_onnx, load_model

    proto = load_model(model_path())
    expected = 0
    for t in proto.graph.initializer:
        w = numpy_helper.to_array(t)
        if w.dtype == np.float32:
            expected += int(((w != 0) & (np.abs(w) < np.finfo(np.float32).tiny)).sum())
    assert expected == 88  # 80 in W0, 8 in W1: why the pass exists (docstring)
    module = import_onnx(proto, input_shapes={"input": [1, 64]})
    with collecting() as stats:
        GraphFlushDenormalsPass().apply(make_dialect_context(), module)
    assert stats["denormals-flushed"] == expected
    assert stats["constants-changed"] == 2
    for op in module.walk():
        if isinstance(op, graph.ConstantOp):
            w = to_numpy(op.value)
            if w.dtype.kind == "f":
                assert not ((w != 0) & (np.abs(w) < np.finfo(w.dtype).tiny)).any()
