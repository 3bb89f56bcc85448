// Canonicalization patterns of the act dialect (pattern set `act`). The comment line above
// each pattern is its algebra. Language reference: irforge's docs/patterns.md.

// Not here: leaky_relu(x, alpha = 0) -> relu(x). It looks right, but at x = -Inf
// leaky_relu gives 0 * -Inf = NaN and relu gives 0; `irforge fuzz` catches it.

// leaky_relu(x, alpha = 1) -> x
pattern leaky_relu_unit_alpha {
  match act.leaky_relu(x) {alpha = 1.0}
  rewrite x
}

// leaky_relu(relu(x)) -> relu(x)   (its input is never negative)
pattern leaky_relu_of_relu {
  match act.leaky_relu(graph.relu(x) as r)
  rewrite r
}
