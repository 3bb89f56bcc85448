"""python -m irforge.frontends.onnx docs/onnx.md: regenerate the operator table of a page."""

import sys

from .operators_page import write_operator_pages

write_operator_pages(sys.argv[1:])
