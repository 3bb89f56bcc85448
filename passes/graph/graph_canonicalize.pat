// Graph-level canonicalization patterns (the `graph-canonicalize` pattern set), applied
// by the `canonicalize` pass together with constant folding. The comment line right above
// each pattern is its algebra. Language reference: docs/patterns.md.
//
// Broadcasting: an identity such as x + 0 -> x holds only when the result has x's type
// (adding a [4, 8] zero to an [8] x makes a [4, 8] tensor), hence `type(root) == type(x)`.
// Signed zeros: where x is -0.0, x + 0.0 is +0.0 but the rewrite keeps -0.0 (and x * 0 -> 0
// gives +0.0 for negative x); numerical tolerances ignore the sign of zero.
// Commutative ops (graph.add, graph.mul) match their operands in either order, so each
// pattern below on them covers both `x + 0` and `0 + x`; its guards apply in either order.

// x + 0 -> x  (and 0 + x -> x)
pattern add_zero {
  match graph.add(x, z)
  where z is splat 0.0 and type(root) == type(x)
  rewrite x
}

// x - 0 -> x
pattern sub_zero {
  match graph.sub(x, z)
  where z is splat 0.0 and type(root) == type(x)
  rewrite x
}

// x * 1 -> x  (and 1 * x -> x)
pattern mul_one {
  match graph.mul(x, c)
  where c is splat 1.0 and type(root) == type(x)
  rewrite x
}

// x * 0 -> 0  (and 0 * x -> 0), only for a finite constant x (0 * Inf and 0 * NaN are NaN);
// a splat, so it costs nothing whatever the size (constant folding would materialize
// every element)
pattern mul_zero benefit 2 {
  match graph.mul(x, z)
  where z is splat 0.0 and is_finite_constant(x)
  rewrite graph.constant() {value = splat(0.0, type(root))}
}

// transpose(transpose(x, p), q) -> x  when p∘q is the identity
pattern transpose_transpose_identity benefit 2 {
  match graph.transpose(graph.transpose(x) {perm = p}) {perm = q}
  where is_identity_perm(compose(p, q))
  rewrite x
}

// transpose(transpose(x, p), q) -> transpose(x, p∘q)  with (p∘q)[i] = p[q[i]]
pattern transpose_transpose {
  match graph.transpose(graph.transpose(x) {perm = p}) {perm = q}
  rewrite graph.transpose(x) {perm = compose(p, q)}
}

// transpose(x, identity) -> x
pattern transpose_identity {
  match graph.transpose(x) {perm = p}
  where is_identity_perm(p)
  rewrite x
}

// reshape(reshape(x)) -> reshape(x)  (row-major order is kept by both)
pattern reshape_reshape {
  match graph.reshape(graph.reshape(x))
  rewrite graph.reshape(x)
}

// reshape(x) -> x  when the target shape is x's own
pattern reshape_noop {
  match graph.reshape(x)
  where type(root) == type(x)
  rewrite x
}

// reshape(reshape(x) @ w) -> x @ w  when the first reshape merges x's leading dims and
// keeps its last (K), and the second splits them back (torch's Linear on a 3-D input, as
// the dynamo exporter writes it: view(-1, K), addmm, view(..., N)): the N-D matmul is the
// same product, without the two copies, and its result is then the direct input of a
// pointwise consumer (a GEMM epilogue)
pattern matmul_of_flattened_rows {
  match graph.reshape(graph.matmul(graph.reshape(x) as flat, w) as mm)
  where one_use(mm) and rank(w) == 2 and merges_leading_dims(x, flat) and leading_dims(x) == leading_dims(root)
  rewrite graph.matmul(x, w)
}

// relu(relu(x)) -> relu(x)
pattern relu_relu {
  match graph.relu(graph.relu(x) as inner)
  rewrite inner
}

// identity(x) -> x
pattern identity {
  match graph.identity(x)
  rewrite x
}

// gemm(a, b, c){beta = 0} -> gemm(a, b), only for a finite constant c (0 * Inf is NaN)
pattern gemm_zero_beta {
  match graph.gemm(a, b, c) {beta = 0.0, alpha = al, transA = ta, transB = tb}
  where is_finite_constant(c)
  rewrite graph.gemm(a, b) {alpha = al, transA = ta, transB = tb}
}

// gemm(a, b, 0) -> gemm(a, b)  (beta * 0 = 0 for a finite beta)
pattern gemm_zero_c {
  match graph.gemm(a, b, c) {beta = beta, alpha = al, transA = ta, transB = tb}
  where c is splat 0.0 and is_finite(beta)
  rewrite graph.gemm(a, b) {alpha = al, transA = ta, transB = tb}
}

// gemm(a, b){alpha = 1} -> a @ b  (no C, no transposes: the canonical form is matmul)
pattern gemm_to_matmul {
  match graph.gemm(a, b) {alpha = 1.0, transA = 0, transB = 0}
  rewrite graph.matmul(a, b)
}

// (a @ b) + c -> gemm(a, b, c)  (and c + (a @ b)) when c broadcasts to a @ b without
// growing it (ONNX Gemm, 2-D operands only)
pattern matmul_add_to_gemm {
  match graph.add(graph.matmul(a, b) as mm, c)
  where one_use(mm) and type(root) == type(mm) and rank(a) == 2 and rank(b) == 2 and rank(c) <= 2
  rewrite graph.gemm(a, b, c)
}
