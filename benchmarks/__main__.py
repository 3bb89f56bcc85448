"""`python -m benchmarks` (from a clone) or `python -m irforge.benchmarks`: every benchmark
suite in one run (see suites.py and docs/benchmarks.md)."""

import sys

from .suites import main

sys.exit(main())
