/**
 * The drawing pad: strokes are data, the canvas is only their picture.
 *
 * A stroke is an array of [x, y] points in CSS pixels of the pad, y pointing down. Undo pops a
 * stroke and redraws; a resize rescales the strokes and redraws them sharply. The pad knows nothing
 * of the network: it dispatches a "change" event and the page decides what to do with toData().
 */

// Brush width as a share of the pad's side: a marker, as thick on a phone as on a projector.
const BRUSH_SHARE = 0.05;

export class Pad extends EventTarget {
  #canvas;
  #context;
  #strokes = [];
  #redoStack = [];
  #current = null;
  #pointerId = null;
  #origin = { left: 0, top: 0 };
  #width = 0;
  #height = 0;
  #frame = 0;

  constructor(canvas) {
    super();
    this.#canvas = canvas;
    this.#context = canvas.getContext("2d");
    this.#listen();
    this.#observeSize();
  }

  get strokeCount() {
    return this.#strokes.length;
  }

  get canUndo() {
    return this.#strokes.length > 0;
  }

  get canRedo() {
    return this.#redoStack.length > 0;
  }

  get isDrawing() {
    return this.#current !== null;
  }

  isEmpty() {
    return this.#strokes.length === 0;
  }

  /** A copy of the strokes, [[[x, y], ...], ...], rounded to a tenth of a pixel. */
  toData() {
    return this.#strokes.map((stroke) => stroke.map(([x, y]) => [round(x), round(y)]));
  }

  beginStroke(point) {
    if (this.#current) this.endStroke();
    this.#current = [point];
    this.#strokes.push(this.#current);
    this.#redoStack = [];
    this.#changed("begin");
  }

  extendStroke(points) {
    if (!this.#current) return;
    const before = this.#current.length;
    for (const point of points) {
      const last = this.#current.at(-1);
      if (point[0] !== last[0] || point[1] !== last[1]) this.#current.push(point);
    }
    if (this.#current.length > before) this.#changed("extend");
  }

  endStroke() {
    if (!this.#current) return;
    this.#current = null;
    this.#pointerId = null;
    this.#changed("end");
  }

  undo() {
    this.endStroke();
    if (!this.canUndo) return;
    this.#redoStack.push(this.#strokes.pop());
    this.#changed("undo");
  }

  redo() {
    this.endStroke();
    if (!this.canRedo) return;
    this.#strokes.push(this.#redoStack.pop());
    this.#changed("redo");
  }

  clear() {
    this.endStroke();
    if (this.isEmpty() && !this.canRedo) return;
    this.#strokes = [];
    this.#redoStack = [];
    this.#changed("clear");
  }

  #changed(reason) {
    this.#scheduleRender();
    this.dispatchEvent(new CustomEvent("change", { detail: { reason } }));
  }

  #listen() {
    const canvas = this.#canvas;
    canvas.addEventListener("pointerdown", (event) => this.#onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.#onPointerMove(event));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      canvas.addEventListener(type, (event) => this.#onPointerEnd(event));
    }
    // touch-action: none stops scrolling where it is supported; iOS Safari also needs the touch
    // events themselves cancelled (listeners must be non-passive for that), and a long press
    // would otherwise open the context menu in the middle of a stroke.
    const cancel = (event) => event.preventDefault();
    canvas.addEventListener("touchstart", cancel, { passive: false });
    canvas.addEventListener("touchmove", cancel, { passive: false });
    canvas.addEventListener("contextmenu", cancel);
  }

  #onPointerDown(event) {
    // One pointer per stroke: a second finger or the palm while drawing is ignored.
    if (this.#pointerId !== null) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    const rect = this.#canvas.getBoundingClientRect();
    this.#origin = { left: rect.left, top: rect.top };
    this.#pointerId = event.pointerId;
    // Capture keeps the stroke ours when the pointer leaves the pad mid-stroke.
    this.#canvas.setPointerCapture(event.pointerId);
    this.beginStroke(this.#point(event));
  }

  #onPointerMove(event) {
    if (event.pointerId !== this.#pointerId) return;
    event.preventDefault();
    // Browsers merge moves to one per frame; the merged samples keep fast curves round.
    const samples = event.getCoalescedEvents?.() ?? [];
    const events = samples.length > 0 ? samples : [event];
    this.extendStroke(events.map((sample) => this.#point(sample)));
  }

  #onPointerEnd(event) {
    if (event.pointerId !== this.#pointerId) return;
    if (event.type === "pointerup") this.extendStroke([this.#point(event)]);
    this.endStroke();
  }

  /** The event's position in CSS pixels of the pad, kept inside it: what is seen is sent. */
  #point(event) {
    const x = clamp(event.clientX - this.#origin.left, 0, this.#width);
    const y = clamp(event.clientY - this.#origin.top, 0, this.#height);
    return [x, y];
  }

  #observeSize() {
    const observer = new ResizeObserver(([entry]) => this.#resize(entry));
    try {
      // Device pixels also change when the window moves to a screen of another density.
      observer.observe(this.#canvas, { box: "device-pixel-content-box" });
    } catch {
      observer.observe(this.#canvas); // Safari has no device-pixel-content-box
    }
  }

  #resize(entry) {
    const box = entry.contentBoxSize?.[0];
    const width = box ? box.inlineSize : entry.contentRect.width;
    const height = box ? box.blockSize : entry.contentRect.height;
    if (width === 0 || height === 0) return;
    if (this.#width > 0 && (width !== this.#width || height !== this.#height)) {
      this.#rescale(width / this.#width, height / this.#height);
    }
    this.#width = width;
    this.#height = height;
    const pixels = entry.devicePixelContentBoxSize?.[0];
    const ratio = window.devicePixelRatio || 1;
    this.#canvas.width = pixels ? pixels.inlineSize : Math.round(width * ratio);
    this.#canvas.height = pixels ? pixels.blockSize : Math.round(height * ratio);
    this.#render(); // resizing the backing store erased it
  }

  #rescale(scaleX, scaleY) {
    for (const stroke of [...this.#strokes, ...this.#redoStack]) {
      for (const point of stroke) {
        point[0] *= scaleX;
        point[1] *= scaleY;
      }
    }
  }

  #scheduleRender() {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#render());
  }

  #render() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    const canvas = this.#canvas;
    const context = this.#context;
    const style = getComputedStyle(canvas);
    // An opaque background: a transparent canvas turns black when exported as an image.
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = style.backgroundColor;
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (this.#width === 0) return;
    context.setTransform(canvas.width / this.#width, 0, 0, canvas.height / this.#height, 0, 0);
    context.strokeStyle = context.fillStyle = style.color;
    context.lineWidth = Math.min(this.#width, this.#height) * BRUSH_SHARE;
    context.lineCap = "round";
    context.lineJoin = "round";
    for (const stroke of this.#strokes) drawStroke(context, stroke);
  }
}

function drawStroke(context, stroke) {
  context.beginPath();
  if (stroke.length === 1) {
    const [x, y] = stroke[0];
    context.arc(x, y, context.lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.moveTo(...stroke[0]);
  // Curves through the midpoints smooth the corners that sparse mouse samples leave.
  for (let i = 1; i < stroke.length - 1; i += 1) {
    const [x, y] = stroke[i];
    const [nextX, nextY] = stroke[i + 1];
    context.quadraticCurveTo(x, y, (x + nextX) / 2, (y + nextY) / 2);
  }
  context.lineTo(...stroke.at(-1));
  context.stroke();
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

function round(value) {
  return Math.round(value * 10) / 10;
}
