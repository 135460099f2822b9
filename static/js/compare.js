/**
 * /compare: one pad, every served model's answer and bar chart side by side, live. Each model
 * gets its own POST /predict (in parallel); the drawing is sent again once all have answered.
 *
 * #app's data-state is idle, pending, ready or error as on the drawing page; each [data-model]
 * block holds its answer in [data-digit] and its own data-state.
 */

import { predict } from "./api.js";
import { BarChart } from "./chart.js";
import { LivePredictor } from "./live.js";
import { Pad } from "./pad.js";

const root = document.getElementById("app");
const strings = JSON.parse(root.dataset.strings);
const locale = document.documentElement.lang || "en";
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const pad = new Pad(document.getElementById("pad"));
const buttons = ["undo", "redo", "clear"].map((id) => document.getElementById(id));
const error = document.getElementById("error");

const blocks = [...document.querySelectorAll("[data-model]")].map((block) => ({
  name: block.dataset.model,
  block,
  digit: block.querySelector("[data-digit]"),
  confidence: block.querySelector(".compare-confidence"),
  chart: new BarChart(block.querySelector("ol"), (value) => percent.format(value), "bar"),
}));

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

function showAll(results) {
  blocks.forEach((model, index) => {
    const result = results[index];
    model.digit.textContent = String(result.digit);
    model.digit.dataset.digit = String(result.digit);
    model.confidence.textContent = format(strings.confidence, {
      percent: percent.format(result.confidence),
    });
    model.chart.show(result.probabilities);
    model.block.dataset.state = "ready";
  });
  error.textContent = "";
  root.dataset.state = "ready";
}

function clearAll(state, message = "") {
  for (const model of blocks) {
    model.digit.textContent = "";
    model.digit.dataset.digit = "";
    model.confidence.textContent = "";
    model.chart.clear();
    model.block.dataset.state = "idle";
  }
  error.textContent = message;
  root.dataset.state = state;
}

function errorMessage(failure) {
  if (failure.message) return failure.message;
  if (failure.status === 0) return strings.error_unreachable;
  return format(strings.error_http, { status: failure.status });
}

const predictor = new LivePredictor({
  intervalMs: Number(root.dataset.liveIntervalMs) || 120,
  request: () => {
    const strokes = pad.toData();
    return Promise.all(blocks.map((model) => predict(root.dataset.predictUrl, strokes, model.name)));
  },
  onResult: showAll,
  onError: (failure) => clearAll("error", errorMessage(failure)),
});

function updateTools() {
  root.dataset.strokes = String(pad.strokeCount);
  const [undo, redo, clear] = buttons;
  undo.disabled = !pad.canUndo;
  redo.disabled = !pad.canRedo;
  clear.disabled = pad.isEmpty();
}

pad.addEventListener("change", (event) => {
  const { reason } = event.detail;
  if (reason !== "extend") updateTools();
  if (pad.isEmpty()) {
    predictor.cancel();
    clearAll("idle");
    return;
  }
  if (reason === "end") {
    predictor.flush();
    return;
  }
  root.dataset.state = "pending";
  predictor.changed();
  if (reason === "undo" || reason === "redo") predictor.flush();
});
buttons[0].addEventListener("click", () => pad.undo());
buttons[1].addEventListener("click", () => pad.redo());
buttons[2].addEventListener("click", () => pad.clear());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.ctrlKey && !event.metaKey) pad.clear();
});
updateTools();
clearAll("idle");
