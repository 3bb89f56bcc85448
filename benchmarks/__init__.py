"""Same-run benchmarks of irforge against its peers (ONNX Runtime, NumPy).

    python -m benchmarks            # every suite, a table and bench-results.json
    irforge bench --only matmul     # the same through the CLI (docs/benchmarks.md)

Single-purpose scripts:

    python -m irforge.benchmarks.mlp_latency        # installed
    python benchmarks/mlp_latency.py                # from a clone

Every benchmark times irforge and the peers interleaved in one run, repeats, and reports
medians and ratios: the machines are shared and absolute times drift between runs.
"""
