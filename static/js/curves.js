/**
 * The two pictures of "Watch it learn", drawn on canvases: training curves (a line per batch, dots
 * per epoch) and the first layer's weights as a grid of small images. Both redraw from the data
 * they were given, sharply at any size (backing store scaled by devicePixelRatio).
 */

const FONT_SHARE = 0.052; // axis labels as a share of the canvas height: readable on a projector
const MIN_FONT_PX = 12;

function cssColor(element, name, fallback) {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

/** Size the backing store to the element's CSS box; returns [width, height] in CSS pixels. */
function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, canvas.clientWidth);
  const height = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return [width, height];
}

/** Redraw on resize, at most once a frame. */
function onResize(canvas, draw) {
  let frame = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(draw);
  }).observe(canvas);
}

export class CurveChart {
  #canvas;
  #formatY;
  #fixedMax;
  #xLabel;
  #xMax = 1;
  #training = [];
  #validation = [];
  #frame = 0;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} options
   * @param {(value: number) => string} options.formatY tick labels
   * @param {number | null} options.yMax a fixed top (accuracy: 1), or null to follow the data
   * @param {string} options.xLabel the x axis' name ("batch")
   */
  constructor(canvas, { formatY, yMax, xLabel }) {
    this.#canvas = canvas;
    this.#formatY = formatY;
    this.#fixedMax = yMax;
    this.#xLabel = xLabel;
    onResize(canvas, () => this.draw());
  }

  reset(xMax) {
    this.#xMax = Math.max(1, xMax);
    this.#training = [];
    this.#validation = [];
    this.redraw();
  }

  setXMax(xMax) {
    this.#xMax = Math.max(1, xMax);
    this.redraw();
  }

  addTraining(x, y) {
    if (Number.isFinite(y)) this.#training.push([x, y]);
    this.redraw();
  }

  addValidation(x, y) {
    if (Number.isFinite(y)) this.#validation.push([x, y]);
    this.redraw();
  }

  /** Many points arrive at once during a replay: draw once, in the next frame. */
  redraw() {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.draw();
    });
  }

  #yMax() {
    if (this.#fixedMax !== null) return this.#fixedMax;
    const values = [...this.#training, ...this.#validation].map(([, y]) => y);
    const top = Math.max(0.5, ...values);
    return Math.min(Math.ceil(top * 1.05 * 2) / 2, 5); // a diverging loss is clipped at 5
  }

  draw() {
    const canvas = this.#canvas;
    const [width, height] = fitCanvas(canvas);
    const context = canvas.getContext("2d");
    const text = cssColor(canvas, "--text", "#0b1324");
    const grid = cssColor(canvas, "--line", "#c9d3e1");
    const trainingColour = cssColor(canvas, "--curve-training", "#1d4ed8");
    const validationColour = cssColor(canvas, "--curve-validation", "#c2410c");
    const font = Math.max(MIN_FONT_PX, Math.round(height * FONT_SHARE));
    context.clearRect(0, 0, width, height);
    context.font = `600 ${font}px system-ui, sans-serif`;
    const left = context.measureText(this.#formatY(this.#yMax() * 0.88)).width + font;
    const plot = { left, top: font * 0.8, right: width - font, bottom: height - font * 2.6 };
    const yMax = this.#yMax();
    const x = (value) => plot.left + (value / this.#xMax) * (plot.right - plot.left);
    const y = (value) =>
      plot.bottom - (Math.min(value, yMax) / yMax) * (plot.bottom - plot.top);

    context.lineWidth = 1;
    context.strokeStyle = grid;
    context.fillStyle = text;
    context.textBaseline = "middle";
    context.textAlign = "right";
    for (let step = 0; step <= 4; step += 1) {
      const value = (yMax * step) / 4;
      context.beginPath();
      context.moveTo(plot.left, y(value));
      context.lineTo(plot.right, y(value));
      context.stroke();
      context.fillText(this.#formatY(value), plot.left - font * 0.4, y(value));
    }
    context.textAlign = "center";
    context.textBaseline = "top";
    for (const value of [0, Math.round(this.#xMax / 2), this.#xMax]) {
      context.fillText(String(value), x(value), plot.bottom + font * 0.35);
    }
    context.fillText(this.#xLabel, (plot.left + plot.right) / 2, plot.bottom + font * 1.4);

    if (this.#training.length) {
      context.strokeStyle = trainingColour;
      context.lineWidth = Math.max(2.5, font * 0.22);
      context.lineJoin = "round";
      context.beginPath();
      this.#training.forEach(([px, py], index) => {
        if (index === 0) context.moveTo(x(px), y(py));
        else context.lineTo(x(px), y(py));
      });
      context.stroke();
    }
    if (this.#validation.length) {
      context.strokeStyle = validationColour;
      context.fillStyle = validationColour;
      context.lineWidth = Math.max(2, font * 0.15);
      context.setLineDash([font * 0.4, font * 0.3]);
      context.beginPath();
      this.#validation.forEach(([px, py], index) => {
        if (index === 0) context.moveTo(x(px), y(py));
        else context.lineTo(x(px), y(py));
      });
      context.stroke();
      context.setLineDash([]);
      for (const [px, py] of this.#validation) {
        context.beginPath();
        context.arc(x(px), y(py), font * 0.42, 0, 2 * Math.PI);
        context.fill();
      }
    }
  }
}

// Diverging scale, zero at white: blue for negative weights, red for positive (the seeds' figure).
const NEGATIVE = [33, 102, 172];
const POSITIVE = [178, 24, 43];
const PALETTE = (() => {
  const table = new Uint8ClampedArray(256 * 4);
  for (let value = 0; value < 256; value += 1) {
    const t = (value - 127.5) / 127.5;
    const end = t < 0 ? NEGATIVE : POSITIVE;
    const share = Math.abs(t);
    for (let channel = 0; channel < 3; channel += 1) {
      table[value * 4 + channel] = 255 * (1 - share) + end[channel] * share;
    }
    table[value * 4 + 3] = 255;
  }
  return table;
})();

export class WeightGrid {
  #canvas;
  #tiles = null; // an offscreen canvas: one row of side x side tiles at their own resolution
  #count = 0;
  #side = 0;

  constructor(canvas) {
    this.#canvas = canvas;
    onResize(canvas, () => this.draw());
  }

  clear() {
    this.#tiles = null;
    this.draw();
  }

  /**
   * @param {number} count images
   * @param {number} side pixels per image side (28 for a dense layer, 3 for a convolution)
   * @param {string} base64 count * side * side bytes, 128 = zero
   */
  show(count, side, base64) {
    const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
    const tiles = document.createElement("canvas");
    tiles.width = side * count;
    tiles.height = side;
    const context = tiles.getContext("2d");
    const image = context.createImageData(side * count, side);
    for (let tile = 0; tile < count; tile += 1) {
      for (let row = 0; row < side; row += 1) {
        for (let column = 0; column < side; column += 1) {
          const value = bytes[tile * side * side + row * side + column];
          const target = (row * side * count + tile * side + column) * 4;
          image.data.set(PALETTE.subarray(value * 4, value * 4 + 4), target);
        }
      }
    }
    context.putImageData(image, 0, 0);
    this.#tiles = tiles;
    this.#count = count;
    this.#side = side;
    this.draw();
  }

  draw() {
    const canvas = this.#canvas;
    const [width, height] = fitCanvas(canvas);
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    if (!this.#tiles) return;
    const columns = Math.min(8, Math.ceil(Math.sqrt(this.#count * (width / height))));
    const rows = Math.ceil(this.#count / columns);
    const gap = Math.max(2, Math.round(width / 160));
    const size = Math.floor(
      Math.min((width - gap * (columns - 1)) / columns, (height - gap * (rows - 1)) / rows),
    );
    const offsetX = (width - (size * columns + gap * (columns - 1))) / 2;
    context.imageSmoothingEnabled = false; // each weight stays a visible square
    for (let tile = 0; tile < this.#count; tile += 1) {
      const dx = offsetX + (tile % columns) * (size + gap);
      const dy = Math.floor(tile / columns) * (size + gap);
      context.drawImage(this.#tiles, tile * this.#side, 0, this.#side, this.#side, dx, dy, size, size);
    }
  }
}
