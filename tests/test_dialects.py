"""Verifiers of the graph, tensor and loop dialects reject bad IR with a message naming
the op and the cause; good IR verifies."""

import pytest
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from irforge.dialects import make_dialect_context


def verify(src: str) -> None:
    Parser(make_dialect_context(), src).parse_module().verify()


def fn(args: str, body: str, ret: str = "") -> str:
    return f"func.func @f({args}) {{\n{body}\n  func.return {ret}\n}}"


GOOD = [
    fn(
        "%a: tensor<4x8xf32>, %b: tensor<8xf32>",
        '%r = "graph.add"(%a, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>',
    ),
    fn(
        "%a: tensor<3x2xf32>, %b: tensor<4x3xf32>",
        '%r = "graph.gemm"(%a, %b) <{transA = 1 : i64, transB = 1 : i64}>'
        " : (tensor<3x2xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>",
    ),
    # A reversed read: (d0) -> (3 - d0) stays in bounds.
    fn(
        "%x: tensor<4xf32>, %o: tensor<4xf32>",
        '%r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (-d0 + 3)>,'
        ' affine_map<(d0) -> (d0)>], iterator_types = ["parallel"],'
        " operandSegmentSizes = array<i32: 1, 1>}> ({\n"
        "  ^bb0(%a: f32, %b: f32):\n"
        '    "tensor.yield"(%a) : (f32) -> ()\n'
        "  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>",
    ),
]

BAD = [
    (
        fn(
            "%a: tensor<4x8xf32>, %b: tensor<3xf32>",
            '%r = "graph.add"(%a, %b) : (tensor<4x8xf32>, tensor<3xf32>) -> tensor<4x8xf32>',
        ),
        "'graph.add' op operand shapes [4, 8] and [3] are not broadcast-compatible",
    ),
    (
        fn(
            "%a: tensor<4x8xf32>",
            '%r = "graph.relu"(%a) : (tensor<4x8xf32>) -> tensor<4x9xf32>',
        ),
        "'graph.relu' op result shape [4, 9] does not match the inferred shape [4, 8]",
    ),
    (
        fn(
            "%a: tensor<2x3xf32>, %b: tensor<4x5xf32>",
            '%r = "graph.matmul"(%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>',
        ),
        "'graph.matmul' op contraction dimensions differ",
    ),
    (
        fn(
            "%a: tensor<2x3xf32>",
            '%r = "graph.softmax"(%a) <{axis = 2 : i64}> : (tensor<2x3xf32>) -> tensor<2x3xf32>',
        ),
        "'graph.softmax' op axis 2 is out of range for rank 2",
    ),
    (
        fn(
            "%a: tensor<2x3xf32>, %b: tensor<2x3xf64>",
            '%r = "graph.sub"(%a, %b) : (tensor<2x3xf32>, tensor<2x3xf64>) -> tensor<2x3xf32>',
        ),
        "'graph.sub' op operand #1 has element type f64",
    ),
    (
        fn(
            "%x: tensor<4xf32>, %o: tensor<4xf32>",
            '%r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0 + 1)>,'
            ' affine_map<(d0) -> (d0)>], iterator_types = ["parallel"],'
            " operandSegmentSizes = array<i32: 1, 1>}> ({\n"
            "  ^bb0(%a: f32, %b: f32):\n"
            '    "tensor.yield"(%a) : (f32) -> ()\n'
            "  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>",
        ),
        "'tensor.generic' op indexing map #0 result 0 `(d0 + 1)` spans [1, 4]",
    ),
    (
        fn(
            "%x: tensor<5xf32>, %o: tensor<4xf32>",
            '%r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>,'
            ' affine_map<(d0) -> (d0)>], iterator_types = ["parallel"],'
            " operandSegmentSizes = array<i32: 1, 1>}> ({\n"
            "  ^bb0(%a: f32, %b: f32):\n"
            '    "tensor.yield"(%a) : (f32) -> ()\n'
            "  }) : (tensor<5xf32>, tensor<4xf32>) -> tensor<4xf32>",
        ),
        "'tensor.generic' op operand #1 gives d0 size 4, but an earlier operand gives it size 5",
    ),
    (
        fn(
            "%x: tensor<4xf32>, %o: tensor<4xf32>",
            '%r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>,'
            ' affine_map<(d0) -> (d0)>], iterator_types = ["sideways"],'
            " operandSegmentSizes = array<i32: 1, 1>}> ({\n"
            "  ^bb0(%a: f32, %b: f32):\n"
            '    "tensor.yield"(%a) : (f32) -> ()\n'
            "  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>",
        ),
        'iterator type must be "parallel" or "reduction"',
    ),
    (
        fn(
            "%m: memref<4x4xf32>, %i: index",
            '%v = "loop.load"(%m, %i) : (memref<4x4xf32>, index) -> f32',
        ),
        "'loop.load' op expects 2 indices for memref<4x4xf32>, got 1",
    ),
    (
        fn(
            "%m: memref<4xf32>, %i: index, %v: f64",
            '"loop.store"(%v, %m, %i) : (f64, memref<4xf32>, index) -> ()',
        ),
        "'loop.store' op value type f64 differs from the element type",
    ),
]


@pytest.mark.parametrize("src", GOOD)
def test_good_ir_verifies(src):
    verify(src)


@pytest.mark.parametrize("src,message", BAD)
def test_bad_ir_is_rejected_with_a_clear_message(src, message):
    with pytest.raises(VerifyException) as err:
        verify(src)
    assert message in str(err.value)
