/**
 * Number mode: a wider pad, POST /predict/number, each digit's box drawn over the ink with its
 * answer, the whole number in large type (#number) and one button per digit that shows that
 * digit's probabilities in the page's bar chart. The page script (main.js) asks this module
 * whether the mode is on and hands it the answers; the single-digit view is left untouched.
 */

// Half the pad's brush (pad.js draws 5% of the pad's shorter side): boxes frame the ink.
const BOX_MARGIN_SHARE = 0.025;

export class NumberMode {
  #root;
  #pad;
  #canvas;
  #chart;
  #strings;
  #format;
  #percent;
  #view;
  #overlay;
  #defaults;
  #selected = -1;
  #digits = [];

  /**
   * @param {object} options
   * @param {HTMLElement} options.root #app, whose data-mode says which mode is on
   * @param {HTMLCanvasElement} options.canvas the pad's canvas (boxes are laid over it)
   * @param {import("./chart.js").BarChart} options.chart the page's bar chart
   * @param {object} options.strings the page's client strings
   * @param {(template: string, values: object) => string} options.format fills {placeholders}
   * @param {(value: number) => string} options.percent 0.98 -> "98%"
   * @param {() => void} options.onChange called after the mode changed (the pad is cleared)
   * @param {import("./pad.js").Pad} options.pad the drawing pad
   */
  constructor({ root, canvas, chart, strings, format, percent, onChange, pad }) {
    this.#root = root;
    this.#pad = pad;
    this.#canvas = canvas;
    this.#chart = chart;
    this.#strings = strings;
    this.#format = format;
    this.#percent = percent;
    this.#view = {
      result: document.getElementById("number-result"),
      digitResult: root.querySelector(".result"),
      number: document.getElementById("number"),
      hint: document.getElementById("number-hint"),
      digits: document.getElementById("number-digits"),
      placeholder: root.querySelector(".pad-placeholder"),
    };
    this.#overlay = document.createElement("div");
    this.#overlay.className = "number-boxes";
    this.#overlay.setAttribute("aria-hidden", "true");
    canvas.parentElement.append(this.#overlay);
    this.#defaults = {
      label: canvas.getAttribute("aria-label"),
      placeholder: this.#view.placeholder?.textContent ?? "",
    };
    for (const input of root.querySelectorAll('input[name="mode"]')) {
      input.addEventListener("change", () => {
        if (input.checked) this.#setMode(input.value, onChange);
      });
    }
    this.#view.digits.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-index]");
      if (button) this.#select(Number(button.dataset.index));
    });
  }

  get active() {
    return this.#root.dataset.mode === "number";
  }

  get url() {
    return this.#root.dataset.numberUrl;
  }

  #setMode(mode, onChange) {
    // The pad changes shape: strokes drawn for one shape would be stretched in the other.
    this.#pad.clear();
    this.#root.dataset.mode = mode;
    const number = mode === "number";
    this.#view.result.hidden = !number;
    this.#view.digitResult.hidden = number;
    this.#canvas.setAttribute(
      "aria-label",
      number ? this.#strings.number_pad_label : this.#defaults.label,
    );
    if (this.#view.placeholder) {
      this.#view.placeholder.textContent = number
        ? this.#strings.number_pad_placeholder
        : this.#defaults.placeholder;
    }
    this.clear();
    onChange();
  }

  /** Show an answer of POST /predict/number. */
  show(result) {
    // A pick survives live updates of the same digits; a new digit takes the chart.
    const keep = this.#selected >= 0 && result.digits.length === this.#digits.length;
    this.#digits = result.digits;
    this.#view.number.textContent = result.number;
    this.#view.hint.hidden = true;
    const buttons = result.digits.map((digit, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "number-digit";
      button.dataset.index = String(index);
      button.setAttribute("aria-label", this.#format(this.#strings.number_digit, {
        position: index + 1,
        digit: digit.digit,
        percent: this.#percent(digit.confidence),
      }));
      const value = document.createElement("span");
      value.className = "number-digit-value";
      value.textContent = String(digit.digit);
      const confidence = document.createElement("span");
      confidence.className = "number-digit-confidence";
      confidence.textContent = this.#percent(digit.confidence);
      button.append(value, confidence);
      item.append(button);
      return item;
    });
    this.#view.digits.replaceChildren(...buttons);
    this.#drawBoxes(result.digits);
    this.#select(keep ? this.#selected : result.digits.length - 1);
  }

  /** The sentence a screen reader hears once the pen lifts. */
  announcement(result) {
    return this.#format(this.#strings.number_announce, { number: result.number });
  }

  clear() {
    this.#digits = [];
    this.#selected = -1;
    this.#view.number.textContent = "";
    this.#view.hint.hidden = false;
    this.#view.digits.replaceChildren();
    this.#overlay.replaceChildren();
  }

  #select(index) {
    this.#selected = index;
    for (const button of this.#view.digits.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.index) === index));
    }
    for (const box of this.#overlay.children) {
      box.classList.toggle("is-selected", Number(box.dataset.index) === index);
    }
    const digit = this.#digits[index];
    if (digit) this.#chart.show(digit.probabilities);
    else this.#chart.clear();
  }

  /** Boxes in the pad's CSS pixels (what the strokes were sent in), as shares of the pad. */
  #drawBoxes(digits) {
    const width = this.#canvas.clientWidth || 1;
    const height = this.#canvas.clientHeight || 1;
    const margin = Math.min(width, height) * BOX_MARGIN_SHARE;
    const boxes = digits.map((digit, index) => {
      const [left, top, right, bottom] = digit.box;
      const box = document.createElement("div");
      box.className = "number-box";
      box.dataset.index = String(index);
      box.style.left = `${(100 * (left - margin)) / width}%`;
      box.style.top = `${(100 * (top - margin)) / height}%`;
      box.style.width = `${(100 * (right - left + 2 * margin)) / width}%`;
      box.style.height = `${(100 * (bottom - top + 2 * margin)) / height}%`;
      const label = document.createElement("span");
      label.className = "number-box-label";
      label.textContent = String(digit.digit);
      box.append(label);
      return box;
    });
    this.#overlay.replaceChildren(...boxes);
  }
}
