/**
 * The bar chart of the ten probabilities. The bars are in the page already (one element per digit
 * with data-digit); this module only sets their heights, labels and the highlight. Heights go
 * through a CSS custom property so the stylesheet animates them.
 */

// Bars under half a percent would read "0%": they get no label.
const MIN_LABELLED = 0.005;

export class BarChart {
  #list;
  #bars;
  #labels; // each bar's .bar-value, looked up once: show() runs on every live answer
  #formatPercent;

  /**
   * @param {Element} list the element holding the [data-digit] bars
   * @param {(value: number) => string} formatPercent 0.98 -> "98%" in the page's language
   * @param {string} attribute the bars' data attribute holding their digit (dataset name)
   */
  constructor(list, formatPercent, attribute = "digit") {
    this.#list = list;
    this.#bars = [...list.querySelectorAll(`[data-${attribute}]`)]
      .sort((a, b) => Number(a.dataset[attribute]) - Number(b.dataset[attribute]));
    this.#labels = this.#bars.map((bar) => bar.querySelector(".bar-value"));
    this.#formatPercent = formatPercent;
  }

  show(probabilities) {
    const top = probabilities.indexOf(Math.max(...probabilities));
    this.#bars.forEach((bar, digit) => {
      const probability = probabilities[digit];
      bar.dataset.prob = String(probability);
      bar.style.setProperty("--p", String(probability));
      // "0%" over most bars is noise; the bar itself still shows how small the share is.
      const shown = probability >= MIN_LABELLED ? this.#formatPercent(probability) : "";
      this.#labels[digit].textContent = shown;
      bar.classList.toggle("is-top", digit === top);
    });
  }

  /** Dim every bar: the answer is not a digit, the bars are only the network's guess. */
  setDimmed(dimmed) {
    this.#list.classList.toggle("is-dimmed", dimmed);
  }

  clear() {
    this.#bars.forEach((bar, digit) => {
      bar.dataset.prob = "";
      bar.style.setProperty("--p", "0");
      this.#labels[digit].textContent = "";
      bar.classList.remove("is-top");
    });
  }
}
