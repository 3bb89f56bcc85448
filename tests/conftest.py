"""Test-suite settings: models compiled by the tests verify their IR after every pass
(IRFORGE_VERIFY_EACH=1), so that a pass that breaks the IR is named where it happens;
irforge.compile's own default verifies only the result (passes/manager.py). A run can
still set the variable to 0 to test that default."""

import os

os.environ.setdefault("IRFORGE_VERIFY_EACH", "1")
