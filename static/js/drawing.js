/**
 * The drawing part of a page: the pad, the live predictor, the answer, the bar chart, the tool
 * buttons and the keyboard shortcuts. The drawing page (main.js) and the class page (join.js)
 * both build one; each adds its own controls around it.
 *
 * root's data-state says where the page is, for tests and tools that watch the page:
 * idle (nothing drawn), pending (the answer on screen is not yet for this drawing),
 * ready (the answer on screen is for this drawing and model), error (no answer, a message instead).
 */

import { predict } from "./api.js";
import { BarChart } from "./chart.js";
import { LivePredictor } from "./live.js";
import { Pad } from "./pad.js";

const PREVIEW_PREFIX = "data:image/png;base64,";

/** A UI string with its {placeholders} filled in. */
export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

export class DrawingPage extends EventTarget {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root element whose data-state and data-strokes follow the page
   * @param {object} options.strings the page's UI strings
   * @param {string} options.predictUrl where live predictions go
   * @param {number} options.intervalMs least time between two live predictions
   * @param {() => string} [options.model] the chosen model's name, "" for the server's default
   */
  constructor({ root, strings, predictUrl, intervalMs, model = () => "" }) {
    super();
    this.root = root;
    this.strings = strings;
    this.shown = null; // the answer on screen, announced again when the stroke it came during ends
    const locale = document.documentElement.lang || "en";
    this.percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
    const element = (id) => document.getElementById(id);
    this.view = {
      prediction: element("prediction"),
      confidence: element("confidence"),
      hint: element("hint"),
      preview: element("preview"),
      error: element("error"),
      announce: element("announce"),
      canvas: element("pad"),
      buttons: { undo: element("undo"), redo: element("redo"), clear: element("clear") },
    };
    this.pad = new Pad(this.view.canvas);
    this.chart = new BarChart(element("bars"), (value) => this.percent.format(value));
    this.predictor = new LivePredictor({
      intervalMs,
      request: () => predict(predictUrl, this.pad.toData(), model()),
      onResult: (result) => this.showResult(result),
      onError: (error) => this.showError(this.errorMessage(error)),
    });
    this.pad.addEventListener("change", (event) => this.#onPadChange(event));
    const { buttons } = this.view;
    buttons.undo.addEventListener("click", () => this.pad.undo());
    buttons.redo.addEventListener("click", () => this.pad.redo());
    buttons.clear.addEventListener("click", () => this.pad.clear());
    document.addEventListener("keydown", (event) => this.#onKeyDown(event));
    this.#updateTools();
    this.showIdle();
  }

  errorMessage(error) {
    if (error.message) return error.message;
    if (error.status === 0) return this.strings.error_unreachable;
    return format(this.strings.error_http, { status: error.status });
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  #showAnswer(digit, confidence) {
    this.view.prediction.textContent = digit;
    this.view.confidence.textContent = confidence;
    this.view.hint.hidden = digit !== "" || this.pad.strokeCount > 0;
  }

  #showPreview(source) {
    const { preview } = this.view;
    if (source) preview.src = source;
    else preview.removeAttribute("src");
    preview.hidden = !source;
  }

  showResult(result) {
    this.shown = result;
    const confidence = this.percent.format(result.confidence);
    this.#showAnswer(String(result.digit), format(this.strings.confidence, { percent: confidence }));
    this.chart.show(result.probabilities);
    const preview = String(result.preprocessed ?? "");
    this.#showPreview(preview.startsWith(PREVIEW_PREFIX) ? preview : "");
    this.view.error.textContent = "";
    this.setState("ready");
    if (!this.pad.isDrawing) this.#announce(result);
    this.dispatchEvent(new CustomEvent("result", { detail: result }));
  }

  /** No answer at all rather than a stale one: the digit, bars and preview go with the message. */
  #showNoAnswer(state, message = "") {
    this.shown = null;
    this.#showAnswer("", "");
    this.chart.clear();
    this.#showPreview("");
    this.view.error.textContent = message;
    this.view.announce.textContent = "";
    this.setState(state);
  }

  showError(message) {
    this.#showNoAnswer("error", message);
  }

  showIdle() {
    this.#showNoAnswer("idle");
  }

  #showPending() {
    if (this.view.prediction.textContent === "") {
      this.view.confidence.textContent = this.strings.pending;
    }
    this.view.hint.hidden = true;
    this.setState("pending");
  }

  /** Screen readers hear each finished answer once, not every live update during a stroke. */
  #announce(result) {
    this.view.announce.textContent = format(this.strings.announce, {
      digit: result.digit,
      percent: this.percent.format(result.confidence),
    });
  }

  #updateTools() {
    const { pad, view } = this;
    this.root.dataset.strokes = String(pad.strokeCount);
    const enabled = { undo: pad.canUndo, redo: pad.canRedo, clear: !pad.isEmpty() };
    const buttons = Object.values(view.buttons);
    const focused = buttons.find((button) => button === document.activeElement);
    for (const [name, button] of Object.entries(view.buttons)) button.disabled = !enabled[name];
    // A disabled button drops the keyboard focus to the top of the page; keep it near the pad.
    if (focused?.disabled) {
      const next = buttons.find((button) => !button.disabled);
      (next ?? view.canvas).focus();
    }
  }

  #onPadChange(event) {
    const { reason } = event.detail;
    // A growing stroke changes no button (every pointer move lands here): skip that work.
    if (reason !== "extend") this.#updateTools();
    this.dispatchEvent(new CustomEvent("change", { detail: event.detail }));
    if (this.pad.isEmpty()) {
      this.predictor.cancel();
      this.showIdle();
      return;
    }
    if (reason === "end") {
      this.predictor.flush();
      if (this.root.dataset.state === "ready" && this.shown) this.#announce(this.shown);
      return;
    }
    this.#showPending();
    this.predictor.changed();
    if (reason === "undo" || reason === "redo") this.predictor.flush();
  }

  /** Ask again for the drawing on the pad (the model changed). */
  repredict() {
    if (this.pad.isEmpty()) return;
    this.#showPending();
    this.predictor.changed();
    this.predictor.flush();
  }

  #onKeyDown(event) {
    if (event.defaultPrevented || event.altKey || event.isComposing) return;
    // Text fields keep their own undo and Escape.
    if (event.target.closest?.("input, textarea, [contenteditable]")) return;
    const command = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (command && key === "z") {
      event.preventDefault();
      if (event.shiftKey) this.pad.redo();
      else this.pad.undo();
    } else if (command && key === "y" && !event.shiftKey) {
      event.preventDefault();
      this.pad.redo();
    } else if (key === "escape" && !command && !event.shiftKey) {
      this.pad.clear();
    }
  }
}
