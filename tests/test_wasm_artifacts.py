"""The WebAssembly artifacts: write_artifacts, the manifest, and the JavaScript loader.

The loader (`model.js`) is run under Node on small hand-written wasm modules (WAT, via
wasmtime.wat2wasm) that keep the irforge ABI, so these tests do not depend on the compiler;
the compiled digits model is run through the same loader in tests/test_wasm_browser.py.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from irforge.backends.wasm.artifacts import (
    LOADER_SOURCE,
    MANIFEST_FORMAT,
    read_manifest,
    write_artifacts,
)

# a: [2, 3], b: [3] -> sum: [2, 3] = a + b (broadcast over rows), rowsum: [2] = a.sum(1).
# The allocator and the entry function each grow the memory by a page, so that a loader
# that keeps a view of the old memory.buffer reads garbage (a detached buffer).
WAT = """
(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func (export "irforge_alloc") (param $n i32) (result i32)
    (local $p i32)
    {alloc_body})
  (func (export "irforge_free") (param i32))
  (func (export "main") (param $a i32) (param $b i32) (param $sum i32) (param $rows i32)
    (local $i i32) (local $j i32) (local $k i32) (local $s f32) (local $x f32)
    (drop (memory.grow (i32.const 1)))
    (loop $li
      (local.set $s (f32.const 0))
      (local.set $j (i32.const 0))
      (loop $lj
        (local.set $k (i32.shl (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $j))
                               (i32.const 2)))
        (local.set $x (f32.load (i32.add (local.get $a) (local.get $k))))
        (f32.store (i32.add (local.get $sum) (local.get $k))
          (f32.add (local.get $x)
                   (f32.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))))
        (local.set $s (f32.add (local.get $s) (local.get $x)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $lj (i32.lt_u (local.get $j) (i32.const 3))))
      (f32.store (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))
                 (local.get $s))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $li (i32.lt_u (local.get $i) (i32.const 2))))))
"""
BUMP = """
    (drop (memory.grow (i32.const 1)))
    (local.set $p (i32.and (i32.add (global.get $top) (i32.const 15)) (i32.const -16)))
    (global.set $top (i32.add (local.get $p) (local.get $n)))
    (local.get $p)"""
OUT_OF_MEMORY = "(i32.const 0)"

INPUTS = [("a", (2, 3), "float32"), ("b", (3,), "float32")]
OUTPUTS = [("sum", (2, 3), "float32"), ("rowsum", (2,), "float32")]


def _wasm(alloc_body: str = BUMP) -> bytes:
    wasmtime = pytest.importorskip("wasmtime")
    return bytes(wasmtime.wat2wasm(WAT.format(alloc_body=alloc_body)))


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript loader is not run")
    return node


def _run_node(folder: Path, script: str) -> dict:
    """Run an ES module script in `folder` (where model.js is) and parse its JSON output."""
    proc = subprocess.run(
        [_node(), "--input-type=module", "-e", script],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_write_artifacts_files_and_manifest(tmp_path: Path):
    wasm = _wasm()
    out = tmp_path / "a" / "b"  # created with its parents
    paths = write_artifacts(out, wasm, entry="main", inputs=INPUTS, outputs=OUTPUTS)
    assert sorted(paths) == ["manifest.json", "model.js", "model.wasm"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.js", "model.wasm"]
    assert (out / "model.wasm").read_bytes() == wasm
    assert (out / "model.js").read_bytes() == LOADER_SOURCE.read_bytes()
    manifest = read_manifest(out / "manifest.json")
    assert manifest == {
        "format": MANIFEST_FORMAT,
        "entry": "main",
        "inputs": [
            {"name": "a", "shape": [2, 3], "dtype": "float32"},
            {"name": "b", "shape": [3], "dtype": "float32"},
        ],
        "outputs": [
            {"name": "sum", "shape": [2, 3], "dtype": "float32"},
            {"name": "rowsum", "shape": [2], "dtype": "float32"},
        ],
        "wasm": "model.wasm",
    }


def test_write_artifacts_replaces_its_own_files_only(tmp_path: Path):
    wasm = _wasm()
    (tmp_path / "notes.txt").write_text("mine")
    write_artifacts(tmp_path, wasm, inputs=INPUTS, outputs=OUTPUTS)
    write_artifacts(tmp_path, wasm, inputs=INPUTS[:1], outputs=OUTPUTS[:1])  # earlier: ours
    assert len(read_manifest(tmp_path / "manifest.json")["inputs"]) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".irforge-")]


def test_write_artifacts_refuses_foreign_files(tmp_path: Path):
    (tmp_path / "model.js").write_text("// the user's own")
    with pytest.raises(FileExistsError, match="model.js exists .* no irforge manifest"):
        write_artifacts(tmp_path, _wasm(), inputs=INPUTS, outputs=OUTPUTS)
    assert (tmp_path / "model.js").read_text() == "// the user's own"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.js"]


@pytest.mark.parametrize(
    "wasm, inputs, outputs, message",
    [
        (b"\x7fELF....", INPUTS, OUTPUTS, "not a WebAssembly module"),
        (None, [("a", (2, -1), "float32")], OUTPUTS, "shape \\[2, -1\\] is not static"),
        (None, [("a", (2,), "complex64")], OUTPUTS, "complex64 has no JavaScript typed array"),
        (None, INPUTS, [], "at least one output"),
        (None, ["a"], OUTPUTS, "input #0: expected \\(name, shape, dtype\\)"),
    ],
)
def test_write_artifacts_bad_input(tmp_path: Path, wasm, inputs, outputs, message):
    with pytest.raises(ValueError, match=message):
        write_artifacts(tmp_path / "o", wasm or _wasm(), inputs=inputs, outputs=outputs)
    assert not (tmp_path / "o").exists()


def test_write_artifacts_into_a_file_fails(tmp_path: Path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        write_artifacts(f, _wasm(), inputs=INPUTS, outputs=OUTPUTS)


LOADER_SCRIPT = """
import { loadModel } from "./model.js";
const model = await loadModel(process.argv[1] ?? "model.wasm");
const a = [1, 2, 3, 4, 5, 6.5];
const b = new Float32Array([10, 20, 30]);
const out = {};
out.inputs = model.inputs;
const outs = model.run(new Float32Array(a), b);
out.positional = outs.map((o) => [o.name, o.shape, Array.from(o.data)]);
out.byName = model.runAll({ b: { data: b, shape: [3] }, a }).map((o) => Array.from(o.data));
out.errors = [];
for (const bad of [
  () => model.run(new Float32Array(5), b),
  () => model.run({ data: new Float32Array(a), shape: [3, 2] }, b),
  () => model.run(new Float32Array(a)),
  () => model.run({ a, c: b }),
  () => model.run("nope", b),
]) {
  try { bad(); out.errors.push(null); } catch (e) { out.errors.push(e.message); }
}
console.log(JSON.stringify(out));
"""


def test_loader_runs_the_module_under_node(tmp_path: Path):
    write_artifacts(tmp_path, _wasm(), inputs=INPUTS, outputs=OUTPUTS)
    out = _run_node(tmp_path, LOADER_SCRIPT)
    a = np.array([1, 2, 3, 4, 5, 6.5], np.float32).reshape(2, 3)
    b = np.array([10, 20, 30], np.float32)
    assert out["inputs"] == [{"name": n, "shape": list(s), "dtype": d} for n, s, d in INPUTS]
    (n0, s0, sum_), (n1, s1, rows) = out["positional"]
    assert (n0, s0, n1, s1) == ("sum", [2, 3], "rowsum", [2])
    np.testing.assert_array_equal(np.array(sum_, np.float32).reshape(2, 3), a + b)
    np.testing.assert_array_equal(np.array(rows, np.float32), a.sum(axis=1))
    assert out["byName"] == [sum_, rows]
    assert out["errors"] == [
        "input 'a' (#0): expected shape [2, 3] float32 (6 values), got 5 values",
        "input 'a' (#0): expected shape [2, 3] float32, got shape [3, 2]",
        "the model takes 2 input(s), got 1",
        "unknown input(s) c; inputs: a, b",
        "input 'a' (#0): expected a Float32Array of shape [2, 3] float32, got a string",
    ]


# A model whose own allocation fails: it traps, and says how much it asked for.
TRAP_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "irforge_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "irforge_free") (param i32))
  (func (export "irforge_failed_alloc") (result i64) (i64.const 3000000000))
  (func (export "main") (param i32) (param i32) unreachable))
"""


def test_loader_reports_a_failed_allocation_inside_the_model(tmp_path: Path):
    wasmtime = pytest.importorskip("wasmtime")
    wasm = bytes(wasmtime.wat2wasm(TRAP_WAT))
    write_artifacts(tmp_path, wasm, inputs=INPUTS[1:], outputs=OUTPUTS[1:])
    script = """
import { loadModel } from "./model.js";
const model = await loadModel("model.wasm");
try { model.run([1, 2, 3]); } catch (e) { console.log(JSON.stringify(e.message)); }
"""
    message = _run_node(tmp_path, script)
    assert message.startswith("out of wasm memory: the model could not allocate 3000000000 bytes")


def test_loader_reports_out_of_memory_and_missing_files(tmp_path: Path):
    write_artifacts(tmp_path, _wasm(OUT_OF_MEMORY), inputs=INPUTS, outputs=OUTPUTS)
    script = """
import { loadModel } from "./model.js";
const out = {};
const model = await loadModel("manifest.json");
try { model.run(new Float32Array(6), new Float32Array(3)); } catch (e) { out.oom = e.message; }
try { await loadModel("missing/model.wasm"); } catch (e) { out.missing = e.message; }
console.log(JSON.stringify(out));
"""
    out = _run_node(tmp_path, script)
    assert out["oom"] == "out of wasm memory: irforge_alloc(24) returned 0 for input 'a'"
    assert out["missing"].startswith("cannot read the manifest ")
    assert "missing/manifest.json" in out["missing"]
