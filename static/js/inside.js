/**
 * The "Look inside" panel of the drawing page: the saliency map of the chosen digit, every
 * layer's activations and the first layer's weights, all from POST /explain (real values the
 * served model computed) and GET /models/{name}/layers/{layer}/weights.
 *
 * #inside's data-state: idle (nothing to show), ready (the pictures are for the answer on
 * screen); data-target is the digit the saliency map explains.
 */

import { drawMap, drawTiles, range } from "./pictures.js";

const STRONGEST = 3; // tiles or units highlighted per layer
const WEIGHT_UNITS = 32; // first-layer units or filters drawn, strongest first
const UNIT_COLUMNS = 32; // units per row of a dense layer's strip
const UNIT_SIDE = 4; // canvas pixels per unit, so the 1-pixel gaps do not swamp the colours

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

/** Indices of the `count` largest scores, largest first. */
function strongest(scores, count) {
  return scores
    .map((score, index) => [score, index])
    .sort((a, b) => b[0] - a[0])
    .slice(0, count)
    .map(([, index]) => index);
}

/** Per-channel means of an (H, W, C) activation stored flat, channels last. */
function channelMeans(values, channels) {
  const sums = new Array(channels).fill(0);
  for (let i = 0; i < values.length; i += 1) sums[i % channels] += values[i];
  const cells = values.length / channels;
  return sums.map((sum) => sum / cells);
}

/** A layer's values as one flat Float32Array (C order), from base64 or nested lists. */
export function layerValues(layer) {
  if (typeof layer.activations_base64 === "string") {
    const bytes = Uint8Array.from(atob(layer.activations_base64), (c) => c.charCodeAt(0));
    return new Float32Array(bytes.buffer); // little-endian, as every browser's typed arrays
  }
  return Float32Array.from(layer.activations.flat(Infinity));
}

export class InsideView {
  #root;
  #strings;
  #number;
  #weightsUrl;
  #weights = new Map(); // model name -> Promise of its first layer's weights
  #onTarget;

  /**
   * @param {HTMLElement} root the #inside section
   * @param {object} strings UI strings of the page's language
   * @param {string} locale for number formats
   * @param {string} weightsUrl with {name} and {layer} placeholders
   * @param {(digit: number) => void} onTarget called when a digit button is pressed
   */
  constructor(root, strings, locale, weightsUrl, onTarget) {
    this.#root = root;
    this.#strings = strings;
    this.#number = new Intl.NumberFormat(locale, { maximumSignificantDigits: 2 });
    this.#weightsUrl = weightsUrl;
    this.#onTarget = onTarget;
    for (const button of root.querySelectorAll("[data-target]")) {
      button.addEventListener("click", () => onTarget(Number(button.dataset.target)));
    }
  }

  get open() {
    return !this.#root.hidden;
  }

  set open(value) {
    this.#root.hidden = !value;
  }

  clear() {
    this.#root.dataset.state = "idle";
    this.#root.querySelector("#inside-empty").hidden = false;
    this.#root.querySelector("#inside-body").hidden = true;
  }

  /** Draw an /explain answer: saliency, layers, then (once fetched) first-layer weights. */
  show(explanation) {
    if (!explanation.layers || !explanation.saliency) return;
    for (const layer of explanation.layers) layer.values ??= layerValues(layer);
    this.#root.querySelector("#inside-empty").hidden = true;
    this.#root.querySelector("#inside-body").hidden = false;
    this.#showSaliency(explanation);
    this.#showLayers(explanation.layers);
    this.#root.dataset.target = String(explanation.saliency.target);
    this.#root.dataset.model = explanation.model;
    this.#root.dataset.state = "ready";
    this.#showWeights(explanation);
  }

  #showSaliency({ digit, saliency }) {
    const target = saliency.target;
    const largest = drawMap(this.#root.querySelector("#saliency"), saliency.values, true);
    const title = target === digit ? this.#strings.saliency_why : this.#strings.saliency_why_not;
    this.#root.querySelector("#saliency-title").textContent = format(title, { digit: target });
    this.#root.querySelector("#saliency-caption").textContent = format(
      this.#strings.saliency_caption,
      { digit: target, max: this.#number.format(largest) },
    );
    for (const button of this.#root.querySelectorAll("[data-target]")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.target) === target));
    }
  }

  #showLayers(layers) {
    const list = this.#root.querySelector("#layers");
    const key = (layer) => `${layer.name} ${layer.kind} ${layer.shape}`;
    const blocks = new Map([...list.children].map((block) => [block.dataset.key, block]));
    const wanted = layers.map((layer, index) => this.#layerBlock(blocks.get(key(layer)), layer,
      index === layers.length - 1));
    // Same layers as last time (the usual case while drawing): the blocks are reused in place.
    if (wanted.some((block, index) => list.children[index] !== block)) list.replaceChildren(...wanted);
  }

  #layerBlock(existing, layer, isLast) {
    const block = existing ?? this.#newBlock(layer, isLast);
    const canvas = block.querySelector("canvas");
    const strongestText = block.querySelector(".layer-strongest");
    const { shape, values } = layer;
    let top = [];
    if (shape.length === 3) {
      const [height, width, channels] = shape;
      const means = channelMeans(values, channels);
      top = channels > STRONGEST ? strongest(means, STRONGEST) : [];
      const found = range(values);
      drawTiles(
        canvas,
        {
          height,
          width,
          count: channels,
          value: (c, r, x) => values[(r * width + x) * channels + c],
        },
        {
          columns: Math.ceil(Math.sqrt(channels * 2)),
          scale: found.largest,
          signed: found.signed,
          highlight: new Set(top),
        },
      );
    } else if (shape.length === 2) {
      const [height, width] = shape;
      const found = range(values);
      drawTiles(
        canvas,
        { height, width, count: 1, value: (t, r, x) => values[r * width + x] },
        { columns: 1, scale: found.largest, signed: found.signed },
      );
    } else {
      const units = [...values];
      const found = range(units);
      top = strongest(units, isLast ? 1 : STRONGEST);
      const columns = Math.min(UNIT_COLUMNS, units.length);
      drawTiles(
        canvas,
        { height: UNIT_SIDE, width: UNIT_SIDE, count: units.length, value: (unit) => units[unit] },
        { columns, scale: found.largest, signed: found.signed, highlight: new Set(top) },
      );
    }
    strongestText.textContent = top.length
      ? format(this.#strings.layer_strongest, { units: top.map((unit) => `#${unit}`).join(", ") })
      : "";
    return block;
  }

  #newBlock(layer, isLast) {
    const block = document.createElement("li");
    block.className = "layer";
    block.dataset.layer = layer.name;
    block.dataset.kind = layer.kind;
    block.dataset.key = `${layer.name} ${layer.kind} ${layer.shape}`;
    const heading = document.createElement("h4");
    heading.className = "layer-name";
    heading.textContent = layer.name;
    heading.setAttribute("translate", "no");
    const detail = document.createElement("p");
    detail.className = "layer-detail";
    detail.textContent = format(this.#strings.layer_shape, {
      kind: layer.kind,
      shape: layer.shape.join(" × "),
    });
    const about = document.createElement("p");
    about.className = "layer-about";
    const aboutKey = isLast ? "about_softmax" : `about_${layer.kind}`;
    about.textContent = this.#strings[aboutKey] ?? "";
    const canvas = document.createElement("canvas");
    canvas.className = `layer-picture layer-picture-${layer.shape.length}d`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${layer.name}: ${about.textContent}`);
    const strongestText = document.createElement("p");
    strongestText.className = "layer-strongest";
    block.append(heading, detail, about, canvas, strongestText);
    return block;
  }

  async #showWeights(explanation) {
    const first = explanation.layers.find((layer) => ["Dense", "Conv2D"].includes(layer.kind));
    if (!first) return;
    const key = `${explanation.model}/${first.name}`;
    if (!this.#weights.has(key)) {
      const url = this.#weightsUrl
        .replace("{name}", encodeURIComponent(explanation.model))
        .replace("{layer}", encodeURIComponent(first.name));
      const request = fetch(url, { headers: { Accept: "application/json" } }).then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      });
      request.catch(() => this.#weights.delete(key)); // tried again with the next answer
      this.#weights.set(key, request);
    }
    let weights;
    try {
      weights = await this.#weights.get(key);
    } catch {
      return; // the pictures of this answer stay; the weights block keeps its last state
    }
    this.#drawWeights(first, weights.weights.kernel, explanation);
  }

  #drawWeights(layer, kernel, explanation) {
    const canvas = this.#root.querySelector("#weights");
    const caption = this.#root.querySelector("#weights-caption");
    // Strongest first: by contribution to the explained digit when the server sent it.
    const contributions = explanation.first_layer?.name === layer.name
      ? explanation.first_layer.contributions
      : null;
    const units = contributions ?? (layer.shape.length === 1
      ? [...layer.values]
      : channelMeans(layer.values, layer.shape[layer.shape.length - 1]));
    const order = strongest(units, Math.min(WEIGHT_UNITS, units.length));
    const dense = layer.kind === "Dense";
    const { shape, values } = kernel;
    const picture = dense
      ? (tile, row, col) => values[row * 28 + col][order[tile]]
      : (tile, row, col) => values[row][col][0][order[tile]];
    const flat = dense ? values.flat() : values.flat(3);
    drawTiles(
      canvas,
      {
        height: dense ? 28 : shape[0],
        width: dense ? 28 : shape[1],
        count: order.length,
        value: picture,
      },
      { columns: 8, scale: range(flat).largest, signed: true },
    );
    canvas.dataset.weightsOf = layer.name;
    canvas.dataset.model = explanation.model;
    caption.textContent = dense
      ? this.#strings.weights_caption_dense
      : this.#strings.weights_caption_conv;
  }
}

