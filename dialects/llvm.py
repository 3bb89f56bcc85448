"""The `llvm` dialect: xDSL's own (`xdsl.dialects.llvm`), reused as it is.

irforge lowers to xDSL's llvm op classes so that `xdsl.backend.llvm` can translate them to
LLVM IR through llvmlite. Additions irforge needs live here.
"""

from xdsl.dialects.llvm import LLVM

__all__ = ["LLVM"]
