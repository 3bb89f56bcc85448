"""The browser demo: the digits classifier compiled to WebAssembly, run in a web page.

`python -m irforge.examples.web [--out DIR] [--serve PORT]` (or `irforge demo --web`)
compiles the bundled digits MLP (irforge/examples/digits) with `target="wasm"`, and writes
into DIR:

- `model.wasm`, `model.js`, `manifest.json`: the artifacts of `irforge compile --target
  wasm` (backends/wasm/artifacts.py);
- `index.html`, `demo.js`, `demo.css`: the page (package data beside this file): draw a
  digit or pick a held-out one, and see the 10 class probabilities and the time per
  classification, all computed in the browser;
- `digits.json`: a few held-out test images per class (intensities 0-16, as in sklearn's
  digits), taken from `digits_test.npz` when the demo is built.

With `--serve PORT` it then serves DIR on localhost (0: any free port) and prints the URL.
WebAssembly cannot be loaded from a `file:` page, hence the server; any static server
works if it sends `application/wasm` for .wasm (else the loader falls back to a slower
non-streaming compile).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PAGE_FILES = ("index.html", "demo.js", "demo.css")
DIGITS_FILE = "digits.json"
PER_CLASS = 4

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".html": "text/html",
    ".css": "text/css",
}


def heldout_digits(per_class: int = PER_CLASS) -> dict[str, Any]:
    """The first `per_class` held-out images of each class, ordered by class.

    Returns {"images": [[64 ints 0-16]], "labels": [int], "indices": [index in the test
    split]}: pixels x 16 of `digits_test.npz`, which are exact integers (the split holds
    sklearn's 0-16 intensities divided by 16).
    """
    from irforge.examples.digits import load_test_split

    x, y = load_test_split()
    picked = [int(i) for c in range(10) for i in np.flatnonzero(y == c)[:per_class]]
    images = np.rint(x[picked] * 16).astype(int)
    return {
        "source": "irforge/examples/digits/digits_test.npz (held-out split of sklearn digits)",
        "images": images.tolist(),
        "labels": [int(v) for v in y[picked]],
        "indices": [int(i) for i in picked],
    }


def compile_digits_wasm():
    """The digits model compiled for the browser at batch 1: a CompiledModel whose
    function is a WasmFunction (its `wasm_bytes` are the module)."""
    import irforge
    from irforge.examples.digits import model_path

    return irforge.compile(model_path(), target="wasm", input_shapes={"input": [1, 64]})


def build_demo(out_dir: str | os.PathLike, *, per_class: int = PER_CLASS) -> dict[str, Path]:
    """Compile the digits model and write the demo into `out_dir` (created if missing).

    Writes only the files named in the module docstring, replacing earlier ones; refuses
    (FileExistsError, nothing written) if one of them exists in a directory that holds no
    irforge manifest.json. Returns {file name: path}. Raises what `irforge.compile` and
    `write_artifacts` raise.
    """
    from irforge.backends.wasm.artifacts import (
        ARTIFACT_FILES,
        holds_irforge_manifest,
        write_artifacts,
    )

    folder = Path(out_dir)
    names = (*ARTIFACT_FILES, *PAGE_FILES, DIGITS_FILE)
    if folder.is_dir() and not holds_irforge_manifest(folder):
        present = [folder / n for n in names if (folder / n).exists()]
        if present:
            raise FileExistsError(
                f"{present[0]} exists and {folder} holds no irforge manifest.json: not "
                "overwriting it (remove it or choose another directory)"
            )
    model = compile_digits_wasm()
    paths = write_artifacts(
        folder,
        model.function.wasm_bytes,
        entry=model.function.symbol,
        inputs=model.inputs,
        outputs=model.outputs,
    )
    for name in PAGE_FILES:
        paths[name] = Path(shutil.copyfile(HERE / name, folder / name))
    digits = folder / DIGITS_FILE
    digits.write_text(json.dumps(heldout_digits(per_class)) + "\n", encoding="utf-8")
    paths[DIGITS_FILE] = digits
    return paths


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types WebAssembly and ES modules need; no request log."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: str | os.PathLike, port: int = 0) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `directory` on 127.0.0.1:`port` (0: a free port; see
    `server.server_port`). Call `serve_forever()` (e.g. in a thread) and `shutdown()`.
    Raises OSError if the port is taken."""
    handler = functools.partial(_Handler, directory=str(directory))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
