/**
 * Numbers as pictures on a canvas, with the colour scales of the look inside, the compare page and
 * the report: signed values on a diverging red/blue scale with zero at white; values that are
 * never negative from white (zero) to dark ink (the largest). Canvases are drawn at one pixel per
 * value and scaled up by CSS (image-rendering: pixelated), so a 28x28 map stays crisp and cheap.
 */

const INK = [11, 19, 36];
const RED = [200, 30, 30];
const BLUE = [30, 70, 200];
const GAP = [201, 211, 225]; // between tiles: the page's line colour
const HIGHLIGHT = [234, 88, 12]; // the strongest tiles' frame: orange, apart from red and blue

/** [r, g, b] for value / scale in [-1, 1] (signed) or [0, 1] (not signed). */
export function colour(value, scale, signed) {
  if (!(scale > 0)) return [255, 255, 255];
  const share = Math.max(-1, Math.min(1, value / scale));
  if (!signed) {
    const t = Math.max(0, share);
    return INK.map((ink) => Math.round(255 + (ink - 255) * t));
  }
  const end = share >= 0 ? RED : BLUE;
  const t = Math.abs(share);
  return end.map((channel) => Math.round(255 + (channel - 255) * t));
}

/** Largest magnitude and whether any value is negative, over a flat array. */
export function range(values) {
  let largest = 0;
  let signed = false;
  for (const value of values) {
    const size = Math.abs(value);
    if (size > largest) largest = size;
    if (value < 0) signed = true;
  }
  return { largest, signed };
}

function put(data, width, x, y, rgb) {
  const at = (y * width + x) * 4;
  data[at] = rgb[0];
  data[at + 1] = rgb[1];
  data[at + 2] = rgb[2];
  data[at + 3] = 255;
}

/**
 * Tiles: pictures of the same size in a grid, one scale for all of them.
 * @param {HTMLCanvasElement} canvas
 * @param {{height: number, width: number, count: number, value: (tile, row, col) => number}} tiles
 * @param {{columns: number, scale?: number, signed?: boolean, highlight?: Set<number>}} options
 */
export function drawTiles(canvas, tiles, options) {
  const { height, width, count, value } = tiles;
  const columns = Math.max(1, Math.min(options.columns, count));
  const rows = Math.ceil(count / columns);
  const canvasWidth = columns * (width + 1) + 1;
  const canvasHeight = rows * (height + 1) + 1;
  canvas.width = canvasWidth;
  canvas.height = canvasHeight;
  const context = canvas.getContext("2d");
  const image = context.createImageData(canvasWidth, canvasHeight);
  const data = image.data;
  for (let y = 0; y < canvasHeight; y += 1) {
    for (let x = 0; x < canvasWidth; x += 1) put(data, canvasWidth, x, y, GAP);
  }
  const { scale, signed } = options;
  for (let tile = 0; tile < count; tile += 1) {
    const left = (tile % columns) * (width + 1) + 1;
    const top = Math.floor(tile / columns) * (height + 1) + 1;
    if (options.highlight?.has(tile)) {
      for (let x = left - 1; x <= left + width; x += 1) {
        put(data, canvasWidth, x, top - 1, HIGHLIGHT);
        put(data, canvasWidth, x, top + height, HIGHLIGHT);
      }
      for (let y = top - 1; y <= top + height; y += 1) {
        put(data, canvasWidth, left - 1, y, HIGHLIGHT);
        put(data, canvasWidth, left + width, y, HIGHLIGHT);
      }
    }
    for (let row = 0; row < height; row += 1) {
      for (let col = 0; col < width; col += 1) {
        put(data, canvasWidth, left + col, top + row, colour(value(tile, row, col), scale, signed));
      }
    }
  }
  context.putImageData(image, 0, 0);
}

/** One picture (rows of numbers) on a canvas, scaled by its own largest magnitude. */
export function drawMap(canvas, rows, signed = null) {
  const flat = rows.flat();
  const found = range(flat);
  const isSigned = signed ?? found.signed;
  drawTiles(
    canvas,
    { height: rows.length, width: rows[0].length, count: 1, value: (t, r, c) => rows[r][c] },
    { columns: 1, scale: found.largest, signed: isSigned },
  );
  return found.largest;
}
