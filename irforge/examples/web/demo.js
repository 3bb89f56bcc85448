// The digits demo: draw a digit (or pick a held-out one), classify it with the model irforge
// compiled to WebAssembly, show the 10 probabilities and the time per classification.
//
// Input format (irforge/examples/digits/train_digits.py): sklearn's 8x8 digits, pixel
// intensities 0-16 (the count of "on" pixels in each 4x4 block of a 32x32 bitmap), scaled
// by 1/16 to float32 [1, 64], row-major. A drawing is turned into that format the same way:
// its strokes are fitted into a 32x32 bitmap (the ink's height fills it, centred, as in the
// UCI optdigits bitmaps), and the ink of each 4x4 block is summed.

import { loadModel } from "./model.js";

const BITMAP = 32; // side of the optdigits bitmaps
const BLOCK = 4; // 32 / 8
const PEN = 3.5; // stroke width in bitmap pixels (the data's strokes are 3-4 pixels wide)
const TIMING_BATCHES = 15; // the time shown: median over batches of runs (timer resolution
const TIMING_RUNS = 200; // in browsers is coarse, so one run is too short to time alone)

const $ = (id) => document.getElementById(id);
let model = null;
let strokes = []; // [[x, y], ...] per stroke, in pad canvas pixels
let results = 0;

function setStatus(state, text) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = text;
}

// -- classification -------------------------------------------------------------------

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Classify 64 intensities 0-16; update the page; return the result object. */
function classify(pixels, source) {
  const shape = model.inputs[0].shape;
  const x = Float32Array.from(pixels, (v) => v / 16);
  let t = performance.now();
  const probabilities = model.run(x, shape);
  const firstMs = performance.now() - t;
  const perRun = [];
  for (let b = 0; b < TIMING_BATCHES; b++) {
    t = performance.now();
    for (let r = 0; r < TIMING_RUNS; r++) model.run(x, shape);
    perRun.push((performance.now() - t) / TIMING_RUNS);
  }
  const ms = median(perRun);
  let predicted = 0;
  probabilities.forEach((p, i) => {
    if (p > probabilities[predicted]) predicted = i;
  });
  const result = {
    source,
    input: Array.from(pixels),
    probabilities: Array.from(probabilities),
    predicted,
    ms_per_classification: ms,
    ms_first_call: firstMs,
    timing: `median of ${TIMING_BATCHES} batches of ${TIMING_RUNS} runs`,
  };
  show(result);
  return result;
}

function show(result) {
  drawPreview(result.input);
  $("prediction").textContent = String(result.predicted);
  result.probabilities.forEach((p, i) => {
    const row = $(`bar-${i}`);
    row.classList.toggle("top", i === result.predicted);
    row.dataset.p = String(p);
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(2)}%`;
    row.querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
  });
  const us = result.ms_per_classification * 1000;
  $("timing").textContent =
    `${us < 1000 ? `${us.toFixed(1)} µs` : `${result.ms_per_classification.toFixed(2)} ms`} per ` +
    `classification (${result.timing} in this browser, copies in and out included; ` +
    `first call ${result.ms_first_call.toFixed(2)} ms)`;
  const pre = $("result");
  pre.textContent = JSON.stringify(result);
  pre.dataset.count = String(++results);
}

function buildBars() {
  const bars = $("bars");
  for (let i = 0; i < 10; i++) {
    const row = document.createElement("div");
    row.className = "bar";
    row.id = `bar-${i}`;
    row.setAttribute("role", "listitem");
    row.innerHTML =
      `<span>${i}</span><span class="track"><span class="fill"></span></span>` +
      `<span class="value">–</span>`;
    bars.append(row);
  }
}

// -- the 8x8 input --------------------------------------------------------------------

function paintDigit(canvas, pixels) {
  const ctx = canvas.getContext("2d");
  const cell = canvas.width / 8;
  for (let i = 0; i < 64; i++) {
    const g = Math.round(255 - (pixels[i] * 255) / 16);
    ctx.fillStyle = `rgb(${g}, ${g}, ${g})`;
    ctx.fillRect((i % 8) * cell, Math.floor(i / 8) * cell, cell, cell);
  }
}

function drawPreview(pixels) {
  paintDigit($("preview"), pixels);
}

/** The strokes as 64 intensities 0-16 (see the top of this file), or null if empty. */
function strokesToPixels(strokes) {
  const points = strokes.flat();
  if (points.length === 0) return null;
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = $("pad");
  // Fit the larger side of the ink (stroke centres) into the bitmap, leaving room for the
  // pen; a dot or a short dash is not blown up to full size.
  const extent = Math.max(x1 - x0, y1 - y0, pad.width / 8);
  const scale = (BITMAP - PEN) / extent;
  const bitmap = document.createElement("canvas");
  bitmap.width = bitmap.height = BITMAP;
  const ctx = bitmap.getContext("2d", { willReadFrequently: true });
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  ctx.setTransform(scale, 0, 0, scale, BITMAP / 2 - scale * cx, BITMAP / 2 - scale * cy);
  ctx.lineWidth = PEN / scale;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#000";
  for (const s of strokes) {
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    for (const [x, y] of s.length > 1 ? s.slice(1) : [[s[0][0] + 0.01, s[0][1]]]) ctx.lineTo(x, y);
    ctx.stroke();
  }
  const alpha = ctx.getImageData(0, 0, BITMAP, BITMAP).data;
  const pixels = new Array(64).fill(0);
  for (let y = 0; y < BITMAP; y++) {
    for (let x = 0; x < BITMAP; x++) {
      pixels[Math.floor(y / BLOCK) * 8 + Math.floor(x / BLOCK)] += alpha[(y * BITMAP + x) * 4 + 3] / 255;
    }
  }
  return pixels.map((v) => Math.min(16, Math.round(v)));
}

// -- the drawing pad ------------------------------------------------------------------

function setupPad() {
  const pad = $("pad");
  const ctx = pad.getContext("2d");
  let drawing = false;

  const clear = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
  };
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  const redraw = () => {
    clear();
    ctx.lineWidth = pad.width / 14;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#000";
    for (const s of strokes) {
      ctx.beginPath();
      ctx.moveTo(s[0][0], s[0][1]);
      for (const [x, y] of s.length > 1 ? s : [[s[0][0] + 0.01, s[0][1]]]) ctx.lineTo(x, y);
      ctx.stroke();
    }
  };

  pad.addEventListener("pointerdown", (e) => {
    if (!model) return;
    e.preventDefault();
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    strokes.push([at(e)]);
    selectDigit(null);
    redraw();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    strokes[strokes.length - 1].push(at(e));
    redraw();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    const pixels = strokesToPixels(strokes);
    if (pixels) classify(pixels, { kind: "drawn", strokes: strokes.length });
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    strokes = [];
    clear();
  });
  clear();
  return { showDigit: (pixels) => (clear(), paintDigit(pad, pixels)) };
}

// -- the held-out digits --------------------------------------------------------------

let padApi = null;

function selectDigit(button) {
  for (const b of document.querySelectorAll("#digits button")) b.classList.toggle("selected", b === button);
}

async function loadDigits() {
  const response = await fetch("digits.json");
  if (!response.ok) throw new Error(`cannot fetch digits.json: HTTP ${response.status}`);
  const data = await response.json();
  const box = $("digits");
  data.images.forEach((pixels, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.index = String(i);
    b.dataset.label = String(data.labels[i]);
    b.title = `held-out image #${data.indices[i]}, label ${data.labels[i]}`;
    const c = document.createElement("canvas");
    c.width = c.height = 8;
    paintDigit(c, pixels);
    const label = document.createElement("span");
    label.textContent = String(data.labels[i]);
    b.append(c, label);
    b.addEventListener("click", () => {
      strokes = [];
      selectDigit(b);
      padApi.showDigit(pixels);
      classify(pixels, { kind: "heldout", index: data.indices[i], label: data.labels[i] });
    });
    box.append(b);
  });
  return data.images.length;
}

async function main() {
  try {
    model = await loadModel("model.wasm");
  } catch (e) {
    setStatus("error", `Could not load the model: ${e.message}`);
    return;
  }
  buildBars();
  padApi = setupPad();
  let n = 0;
  try {
    n = await loadDigits();
  } catch (e) {
    setStatus("error", `Model loaded, but not the held-out digits: ${e.message}`);
    return;
  }
  const { shape } = model.inputs[0];
  setStatus(
    "ready",
    `Model loaded: input ${model.inputs[0].name} [${shape.join(", ")}], ` +
      `output ${model.outputs[0].name} [${model.outputs[0].shape.join(", ")}]; ${n} held-out digits.`,
  );
  // For the console: irforgeDemo.classify(pixels) with 64 intensities 0-16.
  window.irforgeDemo = { model, classify: (pixels) => classify(pixels, { kind: "console" }) };
}

main();
