"""Fuzzing: random programs and pattern instances checked against the reference semantics
(hypothesis strategies, used by the tests and by `irforge fuzz`)."""
