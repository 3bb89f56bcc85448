// RUN: irforge-opt %s --split-input-file --verify-diagnostics

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op expects one indexing map per operand (2), got 1}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %b: f32):
    "tensor.yield"(%a) : (f32) -> ()
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op indexing map #0 result 0 `(d0 + 1)` spans [1, 4] over the domain [4], out of bounds of dimension 0 of shape [4]}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0 + 1)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %b: f32):
    "tensor.yield"(%a) : (f32) -> ()
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op iterator type must be "parallel" or "reduction", got "window"}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["window"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %b: f32):
    "tensor.yield"(%a) : (f32) -> ()
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op body arguments [f32] must be the operands' element types [f32, f32]}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32):
    "tensor.yield"(%a) : (f32) -> ()
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op body yields [], expected [f32]}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %b: f32):
    "tensor.yield"() : () -> ()
  }) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = (tensor<4x4xf32>, tensor<4xf32>) -> ()}> ({
^bb0(%x: tensor<4x4xf32>, %o: tensor<4xf32>):
  // expected-error @+1 {{'tensor.generic' op cannot infer the size of d1: no operand is indexed by it directly}}
  %r = "tensor.generic"(%x, %o) <{indexing_maps = [affine_map<(d0, d1) -> (d0, d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], operandSegmentSizes = array<i32: 1, 1>}> ({
  ^bb0(%a: f32, %b: f32):
    "tensor.yield"(%a) : (f32) -> ()
  }) : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"() : () -> ()
}) : () -> ()

// -----

"func.func"() <{sym_name = "f", function_type = () -> ()}> ({
  // expected-error @+1 {{'tensor.empty' op result must have a static shape}}
  %e = "tensor.empty"() : () -> tensor<?xf32>
  "func.return"() : () -> ()
}) : () -> ()
