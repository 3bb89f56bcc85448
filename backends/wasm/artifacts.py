"""The files that ship a model compiled to WebAssembly: `model.wasm`, `model.js`, `manifest.json`.

`write_artifacts(out_dir, wasm_bytes, entry=..., inputs=..., outputs=...)` writes them into
one directory, ready to be served to a browser:

- `model.wasm`: the linked module (wasm32 + simd128, no imports; exports `memory`,
  `irforge_alloc`, `irforge_free` and the entry function; weights in a data segment).
- `model.js`: the JavaScript loader (an ES module, `irforge_model.js` of this package):
  `const model = await loadModel("model.wasm"); model.run(data, shape)`.
- `manifest.json`: what the loader needs to call the entry function::

    {"format": "irforge-wasm/1", "entry": "main",
     "inputs": [{"name": "input", "shape": [1, 64], "dtype": "float32"}],
     "outputs": [{"name": "probabilities", "shape": [1, 10], "dtype": "float32"}],
     "wasm": "model.wasm"}

The format is described for users in docs/wasm.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST_FORMAT = "irforge-wasm/1"
WASM_FILE = "model.wasm"
JS_FILE = "model.js"
MANIFEST_FILE = "manifest.json"
ARTIFACT_FILES = (WASM_FILE, JS_FILE, MANIFEST_FILE)

LOADER_SOURCE = Path(__file__).resolve().parent / "irforge_model.js"
"""The JavaScript loader shipped as package data, copied to `model.js`."""

_WASM_MAGIC = b"\0asm"
# The dtypes the loader has typed arrays for (irforge_model.js, ARRAYS).
_JS_DTYPES = (
    "float32",
    "float64",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "bool",
)


def _spec_json(spec: Any, what: str) -> dict[str, Any]:
    """{"name", "shape", "dtype"} of a TensorSpec or (name, shape, dtype) triple."""
    try:
        name, shape, dtype = spec
        shape = [int(d) for d in shape]
        dtype = np.dtype(dtype).name
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: expected (name, shape, dtype), got {spec!r} ({e})") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{what} '{name}': shape {shape} is not static")
    if dtype not in _JS_DTYPES:
        raise ValueError(f"{what} '{name}': dtype {dtype} has no JavaScript typed array")
    return {"name": str(name), "shape": shape, "dtype": dtype}


def make_manifest(
    *, entry: str, inputs: Sequence[Any], outputs: Sequence[Any], wasm: str = WASM_FILE
) -> dict[str, Any]:
    """The manifest dict (format `irforge-wasm/1`) for an entry function.

    `inputs`/`outputs` are TensorSpecs or (name, shape, dtype) triples in argument order.
    Raises ValueError for a malformed spec, a dynamic shape, or a dtype JavaScript cannot
    hold, and when there is no output.
    """
    if not entry:
        raise ValueError("the entry function needs a name")
    outs = [_spec_json(s, f"output #{i}") for i, s in enumerate(outputs)]
    if not outs:
        raise ValueError(f"'{entry}': a compiled model needs at least one output")
    return {
        "format": MANIFEST_FORMAT,
        "entry": entry,
        "inputs": [_spec_json(s, f"input #{i}") for i, s in enumerate(inputs)],
        "outputs": outs,
        "wasm": wasm,
    }


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """A manifest.json read back; ValueError if it is not JSON of format irforge-wasm/1."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a JSON manifest ({e})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: not an irforge manifest (format {MANIFEST_FORMAT!r} expected)")
    return data


def holds_irforge_manifest(folder: Path) -> bool:
    """True if `folder` holds a manifest written by irforge (so earlier artifacts)."""
    try:
        read_manifest(folder / MANIFEST_FILE)
    except (OSError, ValueError):
        return False
    return True


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as JSON text: one line per field, one line per input or output."""
    fields = []
    for key, value in manifest.items():
        if key in ("inputs", "outputs") and value:
            specs = ",\n".join(f"    {json.dumps(s)}" for s in value)
            fields.append(f"  {json.dumps(key)}: [\n{specs}\n  ]")
        else:
            fields.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".irforge-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_artifacts(
    out_dir: str | os.PathLike,
    wasm_bytes: bytes,
    *,
    entry: str = "main",
    inputs: Sequence[Any],
    outputs: Sequence[Any],
) -> dict[str, Path]:
    """Write `model.wasm`, `model.js` and `manifest.json` into `out_dir`.

    `out_dir` is created (with its parents) if missing. Only these three names are ever
    written, each atomically (a temporary file renamed over it); nothing is deleted. If one
    of them already exists, the directory must hold an irforge `manifest.json` (earlier
    artifacts, which are replaced); otherwise the files are left alone and FileExistsError
    names the first one, so that a user's own `model.js` is never overwritten.

    `wasm_bytes` is the linked module (see `build_wasm`); `inputs`/`outputs` are
    TensorSpecs or (name, shape, dtype) triples of the entry function, in argument order.

    Returns {file name: path} of the three files. Raises ValueError for bytes that are not
    a wasm module or a bad spec (see `make_manifest`), NotADirectoryError if `out_dir` is
    a file, FileExistsError as above, OSError from the file system.
    """
    if not isinstance(wasm_bytes, bytes | bytearray | memoryview):
        raise ValueError(f"wasm_bytes: expected bytes, got {type(wasm_bytes).__name__}")
    wasm_bytes = bytes(wasm_bytes)
    if wasm_bytes[:4] != _WASM_MAGIC:
        raise ValueError("wasm_bytes is not a WebAssembly module (no \\0asm header)")
    manifest = make_manifest(entry=entry, inputs=inputs, outputs=outputs)
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    present = [folder / name for name in ARTIFACT_FILES if (folder / name).exists()]
    if present and not holds_irforge_manifest(folder):
        raise FileExistsError(
            f"{present[0]} exists and {folder} holds no irforge manifest.json: not "
            "overwriting it (remove it or choose another directory)"
        )
    contents = {
        WASM_FILE: wasm_bytes,
        JS_FILE: LOADER_SOURCE.read_bytes(),
        MANIFEST_FILE: manifest_text(manifest).encode("utf-8"),
    }
    # The manifest last: a directory with a manifest always has the files it names.
    paths = {}
    for name in (WASM_FILE, JS_FILE, MANIFEST_FILE):
        paths[name] = folder / name
        _write_atomic(paths[name], contents[name])
    return paths
