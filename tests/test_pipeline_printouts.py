"""Every intermediate printout of the lowering chain parses again, with irforge's parser
and with xDSL's own, to IR that prints identically (the generic form is the contract)."""

import pytest
from xdsl.parser import Parser as XDSLParser

from irforge.api import import_model
from irforge.dialects import make_dialect_context
from irforge.examples.digits import model_path
from irforge.passes.infra.manager import run_pass_pipeline
from irforge.textual_ir import parse_module, print_module, verify_module

STEPS = [
    "canonicalize",
    "convert-graph-to-tensor",
    "convert-tensor-to-loop",
    "convert-loop-to-llvm",
]


@pytest.mark.parametrize("batch", [1, 4])
def test_digits_printouts_reparse_at_every_step(batch):
    module = import_model(model_path(), {"input": [batch, 64]})
    ctx = make_dialect_context()
    printouts = [print_module(module)]
    for step in STEPS:
        run_pass_pipeline(module, step, ctx)
        printouts.append(print_module(module))
    for text in printouts:
        ours = parse_module(text, make_dialect_context(), "<printout>")
        verify_module(ours, "<printout>")
        assert print_module(ours) == text
        theirs = XDSLParser(make_dialect_context(), text).parse_module()
        theirs.verify()
        assert print_module(theirs) == text
    assert '"llvm.func"' in printouts[-1]
