// RUN: irforge-opt %s --allow-unregistered-dialect | filecheck %s
// RUN: irforge-opt %s --allow-unregistered-dialect | irforge-opt --allow-unregistered-dialect | filecheck %s
// RUN: irforge-opt %s --allow-unregistered-dialect | xdsl-opt --allow-unregistered-dialect --print-op-generic | filecheck %s --check-prefix=XDSL

// Affine maps and sets print once, as numbered aliases in order of first use; a blob of
// dense_resource prints in the trailing metadata block; unregistered types survive. xDSL reads the output.
"test.op"() {
  maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0) -> (d0 * 2)>, affine_map<(d0, d1) -> (d1, d0)>],
  set = affine_set<(d0)[s0] : (d0 - s0 >= 0, d0 == 0)>,
  weights = dense_resource<ftir_roundtrip_w> : tensor<2xi32>,
  pretty = !unreg.t<1, 2>
} : () -> (memref<4x4xf32, affine_map<(d0, d1) -> (d1, d0)>>)

{-#
  dialect_resources: {
    builtin: {
      ftir_roundtrip_w: "0x040000000100000002000000"
    }
  }
#-}

// CHECK:      #map = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-NEXT: #map1 = affine_map<(d0) -> ((d0 * 2))>
// CHECK-NEXT: #set = affine_set<(d0)[s0] : ({{.*}} >= 0, d0 == 0)>
// CHECK-NEXT: "builtin.module"() ({
// CHECK-NEXT:   %0 = "test.op"() {maps = [#map, #map1, #map], set = #set, weights = dense_resource<ftir_roundtrip_w> : tensor<2xi32>, pretty = !unreg.t<1, 2>} : () -> memref<4x4xf32, #map>
// CHECK-NEXT: }) : () -> ()
// CHECK-EMPTY:
// CHECK-NEXT: {-#
// CHECK-NEXT:   dialect_resources: {
// CHECK-NEXT:     builtin: {
// CHECK-NEXT:       ftir_roundtrip_w: "0x040000000100000002000000"
// CHECK-NEXT:     }
// CHECK-NEXT:   }
// CHECK-NEXT: #-}

// XDSL: "test.op"() {maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0) -> ((d0 * 2))>, affine_map<(d0, d1) -> (d1, d0)>]
// XDSL: ftir_roundtrip_w: "0x040000000100000002000000"
