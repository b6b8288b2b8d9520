// skinkit's demo page: a photo prepared as `python -m skinkit predict` prepares it, classified by the
// exported model with onnxruntime-web (WebAssembly, one thread), everything served from this origin.
"use strict";

const PRECISION_BITS = 22; // Pillow's fixed-point resampling of 8-bit images

// Pillow's convert("L"): ITU-R 601-2 luma in fixed point.
function grayOf(rgba) {
  const gray = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < gray.length; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
  }
  return gray;
}

function sinc(x) {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos(x) {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

// Pillow's resampling coefficients for one side (inSize -> outSize), as fixed-point integers.
function lanczosCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const rows = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const weights = [];
    let total = 0;
    for (let x = xmin; x < xmax; x++) {
      const w = lanczos((x - center + 0.5) / filterscale);
      weights.push(w);
      total += w;
    }
    const fixed = weights.map((w) => {
      const v = (total !== 0 ? w / total : w) * 2 ** PRECISION_BITS;
      return Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    });
    rows.push({ first: xmin, fixed });
  }
  return rows;
}

function clip8(sum) {
  return Math.min(255, Math.max(0, Math.floor(sum / 2 ** PRECISION_BITS)));
}

// Pillow's Image.resize(..., LANCZOS) of a gray image: horizontal pass to 8 bits, then vertical.
function resizeLanczos(gray, width, height, outWidth, outHeight) {
  const horizontal = lanczosCoefficients(width, outWidth);
  const across = new Uint8Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const { first, fixed } = horizontal[x];
      let sum = 2 ** (PRECISION_BITS - 1);
      for (let k = 0; k < fixed.length; k++) sum += gray[y * width + first + k] * fixed[k];
      across[y * outWidth + x] = clip8(sum);
    }
  }
  const vertical = lanczosCoefficients(height, outHeight);
  const out = new Uint8Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    const { first, fixed } = vertical[y];
    for (let x = 0; x < outWidth; x++) {
      let sum = 2 ** (PRECISION_BITS - 1);
      for (let k = 0; k < fixed.length; k++) sum += across[(first + k) * outWidth + x] * fixed[k];
      out[y * outWidth + x] = clip8(sum);
    }
  }
  return out;
}

// skinkit.deployment.inputs.resampling_weights: validation's resize and centre crop as (crop x source) weights.
function resamplingWeights(source, resize, crop) {
  const weights = Array.from({ length: crop }, () => new Float64Array(source));
  for (let i = 0; i < crop; i++) {
    const centre = (2 * i + 1) / crop - 1;
    const position = ((centre * crop / resize + 1) * source - 1) / 2;
    const left = Math.floor(position);
    const rightShare = position - left;
    if (left >= 0 && left < source) weights[i][left] = 1 - rightShare;
    if (left + 1 >= 0 && left + 1 < source) weights[i][left + 1] = rightShare;
  }
  return weights;
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// skinkit.deployment.inputs.crop_to_input for one square gray image: rows @ image @ columns^T, rounded.
function cropToInput(square, side, resize, crop) {
  const w = resamplingWeights(side, resize, crop);
  const rows = new Float64Array(crop * side);
  for (let i = 0; i < crop; i++) {
    for (let a = 0; a < side; a++) {
      const wa = w[i][a];
      if (wa === 0) continue;
      for (let b = 0; b < side; b++) rows[i * side + b] += wa * square[a * side + b];
    }
  }
  const out = new Uint8Array(crop * crop);
  for (let i = 0; i < crop; i++) {
    for (let j = 0; j < crop; j++) {
      let sum = 0;
      for (let b = 0; b < side; b++) sum += rows[i * side + b] * w[j][b];
      out[i * crop + j] = Math.min(255, Math.max(0, roundHalfEven(sum)));
    }
  }
  return out;
}

// A photo as the course prepares its images: gray, centre square, squareSize px (data.prepare.square_gray).
async function preparedPhoto(file, squareSize) {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  const side = Math.min(bitmap.width, bitmap.height);
  const left = Math.floor((bitmap.width - side) / 2);
  const top = Math.floor((bitmap.height - side) / 2);
  const gray = grayOf(context.getImageData(left, top, side, side).data);
  return resizeLanczos(gray, side, side, squareSize, squareSize);
}

function showSeen(pixels, size) {
  const canvas = document.getElementById("seen");
  canvas.width = canvas.height = size;
  const image = canvas.getContext("2d").createImageData(size, size);
  pixels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
  canvas.getContext("2d").putImageData(image, 0, 0);
}

// The prediction set (every class with 1 - p <= threshold) and the gate's verdict, where the export has them;
// as in `predict`, a refused photo gets an empty set.
function trust(facts, probabilities, oodScore) {
  const inDistribution = facts.ood_threshold === null || oodScore === null ? null : oodScore <= facts.ood_threshold;
  const set = facts.conformal_threshold === null ? null : inDistribution === false ? []
    : facts.classes.filter((_, i) => 1 - probabilities[i] <= facts.conformal_threshold);
  return { set, inDistribution };
}

function verdictText(facts, probabilities, set, inDistribution) {
  if (inDistribution === false) return "Not like the training images: refer (no class is given).";
  if (set !== null) return `Prediction set: ${set.length ? set.join(", ") : "empty"}`;
  const best = probabilities.indexOf(Math.max(...probabilities));
  return `Most probable: ${facts.classes[best]} (${facts.class_names[facts.classes[best]]})`;
}

function showResult(facts, fileName, probabilities, oodScore) {
  const { set, inDistribution } = trust(facts, probabilities, oodScore);
  const verdict = document.getElementById("verdict");
  verdict.textContent = verdictText(facts, probabilities, set, inDistribution);
  verdict.className = inDistribution === false ? "refer" : "";
  const bars = document.getElementById("bars");
  bars.replaceChildren(...facts.classes.map((code, i) => {
    const row = document.createElement("div");
    row.className = set !== null && set.includes(code) ? "row in-set" : "row";
    row.title = facts.class_names[code];
    row.innerHTML = `<span>${code}</span><div class="bar"><div></div></div><span class="p"></span>`;
    row.querySelector(".bar div").style.width = `${(100 * probabilities[i]).toFixed(1)}%`;
    row.querySelector(".p").textContent = probabilities[i].toFixed(3);
    return row;
  }));
  const result = document.getElementById("result");
  result.dataset.probabilities = JSON.stringify(Object.fromEntries(facts.classes.map((c, i) => [c, probabilities[i]])));
  result.dataset.predictionSet = JSON.stringify(set);
  result.dataset.inDistribution = JSON.stringify(inDistribution);
  result.dataset.file = fileName;
  result.hidden = false;
}

async function classify(session, facts, file) {
  const status = document.getElementById("status");
  status.textContent = `Reading ${file.name}…`;
  try {
    const square = await preparedPhoto(file, facts.square_size);
    const input = cropToInput(square, facts.square_size, facts.resize, facts.image_size);
    showSeen(input, facts.image_size);
    const tensor = new ort.Tensor("uint8", input, [1, 1, facts.image_size, facts.image_size]);
    const outputs = await session.run({ [session.inputNames[0]]: tensor });
    const probabilities = Array.from(outputs[session.outputNames[0]].data);
    const ood = session.outputNames.includes("ood_score") ? outputs.ood_score.data[0] : null;
    showResult(facts, file.name, probabilities, ood);
    status.textContent = "";
  } catch (error) {
    status.textContent = `${file.name}: cannot be read as an image (${error.message}); choose a JPEG or PNG photo.`;
  }
}

async function start() {
  const facts = await (await fetch("model.json")).json();
  ort.env.wasm.numThreads = 1; // one thread: no cross-origin isolation needed
  ort.env.wasm.wasmPaths = new URL("ort/", document.baseURI).href;
  const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  const family = `MobileNetV3-${facts.architecture[0].toUpperCase()}${facts.architecture.slice(1)}`;
  const weights = facts.pretrained ? "ImageNet weights, fine-tuned" : "trained from random initialisation";
  document.getElementById("about").textContent =
    `Model: ${facts.stage} (${family}, int8, ${facts.image_size} px, ${weights}), ` +
    `trained on ${facts.trained_on}; runs in this browser with onnxruntime-web ${facts.onnxruntime_web}.`;
  const input = document.getElementById("photo");
  input.disabled = false;
  input.addEventListener("change", () => {
    if (input.files.length) classify(session, facts, input.files[0]);
  });
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  document.getElementById("about").textContent = `The model could not be loaded (${error.message}).`;
});
