/**
 * The drawing page: wires the pad, the live predictor, the chart, the model selector, the buttons
 * and the keyboard shortcuts. Addresses and words come from data- attributes of #app.
 *
 * #app's data-state says where the page is, for tests and tools that watch the page:
 * idle (nothing drawn), pending (the answer on screen is not yet for this drawing),
 * ready (the answer on screen is for this drawing and model), error (no answer, a message instead).
 * data-is-digit says whether the answer on screen is a digit ("yes") or not one ("no"), when ready.
 */

import { explain, listModels, predict, predictNumber } from "./api.js";
import { BarChart } from "./chart.js";
import { InsideView } from "./inside.js";
import { LivePredictor } from "./live.js";
import { NumberMode } from "./number.js";
import { Pad } from "./pad.js";

const MODEL_KEY = "digitdraw.model";
const PREVIEW_PREFIX = "data:image/png;base64,";

const root = document.getElementById("app");
const strings = JSON.parse(root.dataset.strings);
const locale = document.documentElement.lang || "en";
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const accuracyPercent = new Intl.NumberFormat(locale, {
  style: "percent",
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

const element = (id) => document.getElementById(id);
const view = {
  prediction: element("prediction"),
  confidence: element("confidence"),
  hint: element("hint"),
  notDigit: element("not-digit"),
  bestGuess: element("best-guess"),
  preview: element("preview"),
  error: element("error"),
  announce: element("announce"),
  model: element("model"),
  reportLink: element("report-link"),
  insideToggle: element("inside-toggle"),
  canvas: element("pad"),
  buttons: { undo: element("undo"), redo: element("redo"), clear: element("clear") },
};

const pad = new Pad(view.canvas);
const chart = new BarChart(element("bars"), (value) => percent.format(value));
let target = null; // the digit the look inside explains; null: the answer
const inside = new InsideView(
  element("inside"),
  strings,
  locale,
  root.dataset.weightsUrl,
  explainDigit,
);
const predictor = new LivePredictor({
  intervalMs: Number(root.dataset.liveIntervalMs) || 120,
  // In Number mode /predict/number answers; with the look inside open, /explain does: the same
  // prediction, and the layers.
  request: () => (numberMode.active
    ? predictNumber(numberMode.url, pad.toData(), view.model.value)
    : inside.open
    ? explain(root.dataset.explainUrl, pad.toData(), view.model.value, target)
    : predict(root.dataset.predictUrl, pad.toData(), view.model.value)),
  onResult: showResult,
  onError: (error) => showError(errorMessage(error)),
});
const numberMode = new NumberMode({
  root,
  canvas: view.canvas,
  chart,
  strings,
  format,
  percent: (value) => percent.format(value),
  pad,
  onChange: () => showIdle(),
});
let shown = null; // the answer on screen, announced again when the stroke it came during ends

/** A UI string with its {placeholders} filled in. */
function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

function errorMessage(error) {
  if (error.message) return error.message;
  if (error.status === 0) return strings.error_unreachable;
  return format(strings.error_http, { status: error.status });
}

function setState(state) {
  root.dataset.state = state;
}

function showAnswer(digit, confidence, bestGuess = "") {
  view.prediction.textContent = digit;
  view.confidence.textContent = confidence;
  view.hint.hidden = digit !== "" || bestGuess !== "" || pad.strokeCount > 0;
  // Not a digit: no digit and no confidence, a calm sentence, the guess in small type.
  view.notDigit.hidden = bestGuess === "";
  view.bestGuess.hidden = bestGuess === "";
  view.bestGuess.textContent = bestGuess;
  chart.setDimmed(bestGuess !== "");
}

function showPreview(source) {
  if (source) view.preview.src = source;
  else view.preview.removeAttribute("src");
  view.preview.hidden = !source;
}

function showResult(result) {
  shown = result;
  if (numberMode.active) {
    numberMode.show(result);
    view.error.textContent = "";
    setState("ready");
    if (!pad.isDrawing) announce(result);
    return;
  }
  const confidence = percent.format(result.confidence);
  if (result.is_digit === false) {
    showAnswer("", "", format(strings.best_guess, { digit: result.digit, percent: confidence }));
  } else {
    showAnswer(String(result.digit), format(strings.confidence, { percent: confidence }));
  }
  chart.show(result.probabilities);
  const preview = String(result.preprocessed ?? "");
  showPreview(preview.startsWith(PREVIEW_PREFIX) ? preview : "");
  view.error.textContent = "";
  if (inside.open) inside.show(result);
  root.dataset.isDigit = result.is_digit === false ? "no" : "yes";
  setState("ready");
  if (!pad.isDrawing) announce(result);
  // The correction row (correct.js) stores the drawing on screen with the answer it got.
  const detail = { result, strokes: () => pad.toData() };
  root.dispatchEvent(new CustomEvent("digitdraw:answer", { detail }));
}

/** No answer at all rather than a stale one: the digit, bars and preview go with the message. */
function showNoAnswer(state, message = "") {
  shown = null;
  showAnswer("", "");
  numberMode.clear();
  chart.clear();
  showPreview("");
  view.error.textContent = message;
  view.announce.textContent = "";
  inside.clear();
  delete root.dataset.isDigit;
  setState(state);
}

function showError(message) {
  showNoAnswer("error", message);
}

function showIdle() {
  showNoAnswer("idle");
}

function showPending() {
  if (view.prediction.textContent === "") view.confidence.textContent = strings.pending;
  view.hint.hidden = true;
  setState("pending");
}

/** Screen readers hear each finished answer once, not every live update during a stroke. */
function announce(result) {
  if (numberMode.active) {
    view.announce.textContent = numberMode.announcement(result);
    return;
  }
  const template = result.is_digit === false ? strings.announce_not_digit : strings.announce;
  view.announce.textContent = format(template, {
    digit: result.digit,
    percent: percent.format(result.confidence),
  });
}

function updateTools() {
  root.dataset.strokes = String(pad.strokeCount);
  const enabled = { undo: pad.canUndo, redo: pad.canRedo, clear: !pad.isEmpty() };
  const focused = Object.values(view.buttons).find((button) => button === document.activeElement);
  for (const [name, button] of Object.entries(view.buttons)) button.disabled = !enabled[name];
  // A disabled button drops the keyboard focus to the top of the page; keep it near the pad.
  if (focused?.disabled) {
    const next = Object.values(view.buttons).find((button) => !button.disabled);
    (next ?? view.canvas).focus();
  }
}

function onPadChange(event) {
  const { reason } = event.detail;
  // A growing stroke changes no button (every pointer move lands here): skip that work.
  if (reason !== "extend") updateTools();
  if (pad.isEmpty()) {
    target = null;
    predictor.cancel();
    showIdle();
    // On a phone the rows under the answer (correction, look inside) scroll the pad out of view,
    // and the page shrinks when they hide: a cleared pad is for drawing again, so bring it back.
    if (reason === "clear") view.canvas.scrollIntoView({ block: "nearest" });
    return;
  }
  if (reason === "end") {
    predictor.flush();
    if (root.dataset.state === "ready" && shown) announce(shown);
    return;
  }
  showPending();
  predictor.changed();
  if (reason === "undo" || reason === "redo") predictor.flush();
}

/** "Why not X?": explain another digit than the answer (a tapped bar or digit button). */
function explainDigit(digit) {
  target = digit;
  repredict();
}

function onBarClick(event) {
  const bar = event.target.closest?.("[data-digit]");
  if (bar && inside.open) explainDigit(Number(bar.dataset.digit));
}

function toggleInside() {
  inside.open = !inside.open;
  view.insideToggle.setAttribute("aria-expanded", String(inside.open));
  root.classList.toggle("is-inside", inside.open);
  // The answer on screen came from /predict: ask again, this time with the layers.
  if (inside.open) repredict();
}

function updateReportLink() {
  if (view.model.value) {
    view.reportLink.href = root.dataset.reportUrl + encodeURIComponent(view.model.value);
  }
}

function onModelChange() {
  try {
    localStorage.setItem(MODEL_KEY, view.model.value);
  } catch {
    // Storage can be disabled (private windows, kiosk policies); the choice then lasts this visit.
  }
  updateReportLink();
  repredict();
}

function repredict() {
  if (pad.isEmpty()) return;
  showPending();
  predictor.changed();
  predictor.flush();
}

function savedModel() {
  try {
    return localStorage.getItem(MODEL_KEY);
  } catch {
    return null;
  }
}

function modelLabel(model) {
  const accuracy = model.mnist_test_accuracy;
  if (typeof accuracy !== "number") return model.name;
  return format(strings.model_option, {
    name: model.name,
    accuracy: accuracyPercent.format(accuracy),
  });
}

async function loadModels() {
  const select = view.model;
  let models;
  try {
    models = await listModels(root.dataset.modelsUrl);
  } catch (error) {
    select.options[0].textContent = strings.model_default;
    view.error.textContent = format(strings.error_models, { message: errorMessage(error) });
    return;
  }
  const options = models.map(
    (model) => new Option(modelLabel(model), model.name, model.default, model.default),
  );
  select.replaceChildren(...options);
  const saved = savedModel();
  if (models.some((model) => model.name === saved)) select.value = saved;
  select.disabled = false;
  updateReportLink();
  // Strokes drawn while the list loaded went to the server's default, which may not be the choice.
  if (select.value !== models.find((model) => model.default)?.name) repredict();
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.altKey || event.isComposing) return;
  // Text fields keep their own undo and Escape.
  if (event.target.closest?.("input, textarea, [contenteditable]")) return;
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && key === "z") {
    event.preventDefault();
    if (event.shiftKey) pad.redo();
    else pad.undo();
  } else if (command && key === "y" && !event.shiftKey) {
    event.preventDefault();
    pad.redo();
  } else if (key === "escape" && !command && !event.shiftKey) {
    pad.clear();
  }
}

pad.addEventListener("change", onPadChange);
view.buttons.undo.addEventListener("click", () => pad.undo());
view.buttons.redo.addEventListener("click", () => pad.redo());
view.buttons.clear.addEventListener("click", () => pad.clear());
view.model.addEventListener("change", onModelChange);
view.insideToggle.addEventListener("click", toggleInside);
element("bars").addEventListener("click", onBarClick);
document.addEventListener("keydown", onKeyDown);
updateTools();
showIdle();
loadModels();
