// irforge model loader: runs a model compiled with `irforge compile --target wasm`.
//
// An ES module with no dependencies, for browsers and Node (>= 18). It is written next to
// `model.wasm` and `manifest.json` as `model.js`:
//
//   import { loadModel } from "./model.js";
//   const model = await loadModel("./model.wasm");   // or the URL of manifest.json
//   const probabilities = model.run(pixels, [1, 64]);  // a Float32Array
//
// The module imports nothing from the host; it exports `memory`, `irforge_alloc(nbytes)`
// (a 16-byte aligned pointer, 0 when out of memory), `irforge_free(ptr)` and the entry
// function `entry(in0, ..., out0, ...)`, which takes one pointer per buffer (inputs
// first, then outputs; C-contiguous, the static shapes of the manifest). See docs/wasm.md.

export const MANIFEST_FORMAT = "irforge-wasm/1";

// Typed array per manifest dtype (NumPy names).
const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array, // NumPy's bool: one byte, 0 or 1
};

const isNode = typeof process !== "undefined" && process.versions != null && process.versions.node != null;

function baseUrl() {
  if (typeof document !== "undefined" && document.baseURI) return document.baseURI;
  if (typeof location !== "undefined" && location.href) return location.href;
  if (isNode) return "file://" + encodeURI(process.cwd().replace(/\\/g, "/")).replace(/\/?$/, "/");
  return undefined;
}

function toUrl(url) {
  if (url instanceof URL) return url;
  if (typeof url !== "string" || url === "") {
    throw new TypeError(`loadModel: expected the URL of model.wasm or manifest.json, got ${url}`);
  }
  return new URL(url, baseUrl());
}

// The bytes (or text) at `url`; file: URLs are read with node:fs under Node, where fetch
// does not support them.
async function readUrl(url, what) {
  if (url.protocol === "file:" && isNode) {
    const fs = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    try {
      return new Response(await fs.readFile(fileURLToPath(url)));
    } catch (e) {
      throw new Error(`cannot read the ${what} ${url.href}: ${e.message}`);
    }
  }
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch the ${what} ${url.href}: ${e.message}`);
  }
  if (!response.ok) {
    throw new Error(`cannot fetch the ${what} ${url.href}: HTTP ${response.status}`);
  }
  return response;
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function fmtShape(shape) {
  return `[${shape.join(", ")}]`;
}

function checkSpec(spec, where) {
  const ok =
    spec != null &&
    typeof spec.name === "string" &&
    Array.isArray(spec.shape) &&
    spec.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    typeof spec.dtype === "string";
  if (!ok) throw new Error(`manifest: malformed ${where}: ${JSON.stringify(spec)}`);
  if (!(spec.dtype in ARRAYS)) {
    throw new Error(`manifest: ${where} '${spec.name}' has unsupported dtype ${spec.dtype}`);
  }
  return { name: spec.name, shape: spec.shape.slice(), dtype: spec.dtype };
}

/** Check a parsed manifest.json; returns a normalized copy or throws an Error. */
export function checkManifest(manifest) {
  if (manifest == null || typeof manifest !== "object") {
    throw new Error("manifest: expected a JSON object");
  }
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new Error(`manifest: format is ${JSON.stringify(manifest.format)}, expected "${MANIFEST_FORMAT}"`);
  }
  if (!Array.isArray(manifest.inputs) || !Array.isArray(manifest.outputs) || manifest.outputs.length === 0) {
    throw new Error("manifest: 'inputs' and 'outputs' must be lists (at least one output)");
  }
  return {
    format: manifest.format,
    entry: typeof manifest.entry === "string" ? manifest.entry : "main",
    wasm: typeof manifest.wasm === "string" ? manifest.wasm : "model.wasm",
    inputs: manifest.inputs.map((s, i) => checkSpec(s, `input #${i}`)),
    outputs: manifest.outputs.map((s, i) => checkSpec(s, `output #${i}`)),
  };
}

/**
 * Load a compiled model. `url` is the URL (or, under Node, a path or file: URL) of
 * `model.wasm` or of `manifest.json`; the other file is looked for next to it (the
 * manifest is always `manifest.json`; the wasm file is the one the manifest names when
 * `url` is the manifest). Resolves to a model object (see `instantiateModel`).
 */
export async function loadModel(url) {
  const given = toUrl(url);
  const isManifest = given.pathname.endsWith(".json");
  const manifestUrl = isManifest ? given : new URL("manifest.json", given);
  const manifest = checkManifest(await (await readUrl(manifestUrl, "manifest")).json());
  const wasmUrl = isManifest ? new URL(manifest.wasm, manifestUrl) : given;

  let instance;
  const streaming = typeof WebAssembly.instantiateStreaming === "function" && wasmUrl.protocol !== "file:";
  if (streaming) {
    try {
      ({ instance } = await WebAssembly.instantiateStreaming(readUrl(wasmUrl, "module"), {}));
    } catch (e) {
      // A server that does not send `application/wasm` makes streaming fail: fall back.
      instance = undefined;
    }
  }
  if (instance === undefined) {
    const bytes = await (await readUrl(wasmUrl, "module")).arrayBuffer();
    try {
      ({ instance } = await WebAssembly.instantiate(bytes, {}));
    } catch (e) {
      throw new Error(`cannot instantiate ${wasmUrl.href}: ${e.message}`);
    }
  }
  return instantiateModel(manifest, instance);
}

/**
 * A model object from a manifest (parsed JSON) and a WebAssembly.Instance, a
 * WebAssembly.Module, or the module's bytes (ArrayBuffer / typed array). Synchronous
 * except for bytes and modules, so it returns a Promise in every case.
 *
 * The object has:
 * - `inputs`, `outputs`: [{name, shape, dtype}] from the manifest; `entry`; `instance`.
 * - `run(data, shape?)` for a single-input model; `run(a, b, ...)` or
 *   `run({name: data, ...})` for several. `data` is a typed array of the input's dtype
 *   (a Float32Array for float32) or a plain array of numbers, with exactly
 *   product(shape) values; `shape`, if given, must equal the manifest's. Returns the
 *   output typed array (a copy) for a single-output model, else `runAll`'s list.
 * - `runAll(...)`: same arguments; returns [{name, shape, dtype, data}] for every output.
 * Throws an Error naming the input with the expected and received shape or length, and
 * when `irforge_alloc` returns 0 (out of wasm memory).
 */
export async function instantiateModel(manifest, source) {
  const m = checkManifest(manifest);
  let instance = source;
  if (!(source instanceof WebAssembly.Instance)) {
    const mod = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
    instance = await WebAssembly.instantiate(mod, {});
  }
  return new IrforgeModel(m, instance);
}

class IrforgeModel {
  constructor(manifest, instance) {
    const ex = instance.exports;
    for (const name of ["memory", "irforge_alloc", "irforge_free", manifest.entry]) {
      if (!(name in ex)) {
        throw new Error(`the wasm module does not export '${name}' (not an irforge model?)`);
      }
    }
    if (ex[manifest.entry].length !== manifest.inputs.length + manifest.outputs.length) {
      throw new Error(
        `'${manifest.entry}' takes ${ex[manifest.entry].length} pointers, the manifest lists ` +
          `${manifest.inputs.length} inputs and ${manifest.outputs.length} outputs`,
      );
    }
    this.manifest = manifest;
    this.instance = instance;
    this.entry = manifest.entry;
    this.inputs = manifest.inputs;
    this.outputs = manifest.outputs;
    this._fn = ex[manifest.entry];
    this._memory = ex.memory;
    this._alloc = ex.irforge_alloc;
    this._free = ex.irforge_free;
    this._failedAlloc = typeof ex.irforge_failed_alloc === "function" ? ex.irforge_failed_alloc : null;
  }

  // The call's arguments as one typed array per input, in manifest order.
  _arguments(args) {
    const specs = this.inputs;
    let items; // [data, shape | undefined] per input
    const byName = args.length === 1 && isByName(args[0], specs);
    if (specs.length === 1 && args.length <= 2 && !byName) {
      items = [unpack(args[0])];
      if (args.length === 2) items[0][1] = args[1];
    } else if (byName) {
      const named = args[0];
      const unknown = Object.keys(named).filter((k) => !specs.some((s) => s.name === k));
      if (unknown.length) {
        const names = specs.map((s) => s.name).join(", ");
        throw new Error(`unknown input(s) ${unknown.join(", ")}; inputs: ${names}`);
      }
      items = specs.map((s) => {
        if (!(s.name in named)) throw new Error(`missing input '${s.name}'`);
        return unpack(named[s.name]);
      });
    } else {
      items = args.map(unpack);
    }
    if (items.length !== specs.length) {
      throw new Error(`the model takes ${specs.length} input(s), got ${items.length}`);
    }
    return items.map(([data, shape], i) => coerce(specs[i], i, data, shape));
  }

  _allocate(nbytes, what) {
    if (nbytes > 0xffffffff) {
      throw new Error(`out of wasm memory: ${what} needs ${nbytes} bytes, more than a 32-bit memory holds`);
    }
    const ptr = this._alloc(Math.max(nbytes, 1)) >>> 0;
    if (ptr === 0) {
      throw new Error(`out of wasm memory: irforge_alloc(${nbytes}) returned 0 for ${what}`);
    }
    return ptr;
  }

  runAll(...args) {
    const arrays = this._arguments(args);
    const specs = [...this.inputs, ...this.outputs];
    const ptrs = [];
    try {
      specs.forEach((s, i) => {
        const kind = i < this.inputs.length ? "input" : "output";
        const nbytes = product(s.shape) * ARRAYS[s.dtype].BYTES_PER_ELEMENT;
        ptrs.push(this._allocate(nbytes, `${kind} '${s.name}'`));
      });
      // Allocation may grow the memory (a new buffer): take views only now.
      let buffer = this._memory.buffer;
      arrays.forEach((a, i) => new ARRAYS[this.inputs[i].dtype](buffer, ptrs[i], a.length).set(a));
      try {
        this._fn(...ptrs);
      } catch (e) {
        // The model traps when one of its own allocations fails; the module then reports
        // the size it asked for.
        const trapped = this._failedAlloc && e instanceof WebAssembly.RuntimeError;
        const failed = trapped ? Number(this._failedAlloc()) : 0;
        if (failed > 0) {
          throw new Error(`out of wasm memory: the model could not allocate ${failed} bytes (${e.message})`);
        }
        throw e;
      }
      buffer = this._memory.buffer; // the call may have grown memory too
      return this.outputs.map((s, j) => {
        const n = product(s.shape);
        const view = new ARRAYS[s.dtype](buffer, ptrs[this.inputs.length + j], n);
        return { name: s.name, shape: s.shape.slice(), dtype: s.dtype, data: view.slice() };
      });
    } finally {
      for (const p of ptrs) this._free(p);
    }
  }

  run(...args) {
    const outs = this.runAll(...args);
    return outs.length === 1 ? outs[0].data : outs;
  }
}

// `run({name: data, ...})`: an object that is not an array and not `{data, shape}` (unless
// an input is called "data").
function isByName(x, specs) {
  if (x == null || typeof x !== "object" || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
  return !("data" in x) || specs.some((s) => s.name === "data");
}

// [data, shape] from `data` or `{data, shape}`.
function unpack(x) {
  if (x != null && typeof x === "object" && !Array.isArray(x) && !ArrayBuffer.isView(x) && "data" in x) {
    return [x.data, x.shape];
  }
  return [x, undefined];
}

function coerce(spec, i, data, shape) {
  const where = `input '${spec.name}' (#${i})`;
  const expected = `${fmtShape(spec.shape)} ${spec.dtype}`;
  if (shape !== undefined) {
    const same =
      Array.isArray(shape) &&
      shape.length === spec.shape.length &&
      shape.every((d, k) => d === spec.shape[k]);
    if (!same) {
      const got = Array.isArray(shape) ? fmtShape(shape) : JSON.stringify(shape);
      throw new Error(`${where}: expected shape ${expected}, got shape ${got}`);
    }
  }
  const Type = ARRAYS[spec.dtype];
  if (!(data instanceof Type)) {
    if (!Array.isArray(data) && !ArrayBuffer.isView(data)) {
      throw new Error(`${where}: expected a ${Type.name} of shape ${expected}, got ${describe(data)}`);
    }
    try {
      data = Type.from(data);
    } catch (e) {
      throw new Error(`${where}: cannot convert ${describe(data)} to a ${Type.name}: ${e.message}`);
    }
  }
  const n = product(spec.shape);
  if (data.length !== n) {
    throw new Error(`${where}: expected shape ${expected} (${n} values), got ${data.length} values`);
  }
  return data;
}

function describe(x) {
  if (x === null || x === undefined) return String(x);
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of ${x.length} values`;
  if (Array.isArray(x)) return `an Array of ${x.length} values`;
  return `a ${typeof x}`;
}
