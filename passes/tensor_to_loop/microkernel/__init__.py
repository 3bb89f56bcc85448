"""Contractions (matmul, gemm, batched matmul, convolution) lowered to packed,
register-blocked GEMM microkernels in the manner of BLIS/OpenBLAS (docs/microkernels.md).

- `contraction`: recognizes a `tensor.generic` that computes `out += a * b` and classifies
  its dims (outer, rows M, contiguous columns N, reduction K);
- `packing`: panel layouts; compile-time packing of constant operands with NumPy;
- `sgemm_kernel`: the MR x NR microkernel as a loop/vector-level function;
- `lower`: the macro loops (cache blocking, run-time packing, edge tiles) that
  convert-tensor-to-loop emits for a recognized contraction;
- `direct_conv`: the direct convolution on channel-blocked (NCHW[x]c) tensors;
- `layout_transpose`: graph.pack / graph.unpack copies as in-register transposes;
- `llvm_rules`: the convert-loop-to-llvm rule for `loop.reshape`.
"""
