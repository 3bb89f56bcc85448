"""Contractions (matmul, gemm, batched matmul, convolution) lowered to packed,
register-blocked GEMM microkernels in the manner of BLIS/OpenBLAS (docs/microkernels.md).

- `contraction`: recognizes a `tensor.generic` that computes `out += a * b` and classifies
  its dims (outer, rows M, contiguous columns N, reduction K);
- `packing`: panel layouts; compile-time packing of constant operands with NumPy;
- `blocking`: register and cache blocks, size thresholds (`Blocking`, `default_blocking`);
- `emitter`: index arithmetic and loop nests at a builder (`IndexEmitter`), `strides`,
  `linear`, `thread_count`;
- `sgemm_kernel`: the MR x NR microkernel as a loop/vector-level function;
- `gemm_epilogue`: a matmul's pointwise consumer (bias, residual add) applied by the
  kernel as it stores the last K block's tiles;
- `gemm_plan`: a contraction's plan (cache blocks, narrow-N mode, compile-time packing)
  and the run-time packing loops;
- `direct_conv`: the direct convolution on channel-blocked (NCHW[x]c) tensors;
- `lower`: the macro loops (cache blocking, run-time packing, edge tiles) that
  convert-tensor-to-loop emits for a recognized contraction (`lower_contraction`, which
  hands blocked convolutions to `direct_conv`);
- `layout_transpose`: graph.pack / graph.unpack copies as in-register transposes.

Imports point one way: contraction, packing, emitter and sgemm_kernel import no sibling,
blocking and gemm_epilogue only contraction; gemm_plan, direct_conv and layout_transpose
import those; lower imports them all (and only convert-tensor-to-loop imports lower).
"""
