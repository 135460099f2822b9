/**
 * Live prediction while the drawing changes: throttled, at most one request in flight, and the
 * latest drawing wins. An answer for a drawing that has changed since is dropped, never shown, and
 * the newer drawing is sent as soon as the request in flight returns.
 */

export class LivePredictor {
  #intervalMs;
  #request;
  #onResult;
  #onError;
  #version = 0; // bumped on every change; an answer is current only for the version it was sent for
  #sentVersion = 0;
  #inFlight = false;
  #urgent = false;
  #timer = null;
  #lastSentAt = -Infinity;

  /**
   * @param {object} options
   * @param {number} options.intervalMs least time between two requests while drawing
   * @param {() => Promise<object>} options.request sends the drawing as it is now
   * @param {(result: object) => void} options.onResult called with answers for the current drawing
   * @param {(error: Error) => void} options.onError called with failures for the current drawing
   */
  constructor({ intervalMs, request, onResult, onError }) {
    this.#intervalMs = intervalMs;
    this.#request = request;
    this.#onResult = onResult;
    this.#onError = onError;
  }

  /** The drawing changed: send it once the throttle interval allows. */
  changed() {
    this.#version += 1;
    this.#schedule();
  }

  /** Send an unsent change now (a stroke ended, a model was chosen) instead of waiting. */
  flush() {
    if (this.#sentVersion === this.#version) return;
    this.#urgent = true;
    this.#schedule();
  }

  /** The drawing is gone: drop what is scheduled and every answer still on its way. */
  cancel() {
    this.#version += 1;
    this.#sentVersion = this.#version;
    this.#urgent = false;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule() {
    if (this.#inFlight) return; // sent again when the request in flight returns
    const wait = this.#urgent ? 0 : this.#lastSentAt + this.#intervalMs - performance.now();
    if (this.#timer !== null) {
      if (!this.#urgent) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => this.#send(), Math.max(0, wait));
  }

  async #send() {
    this.#timer = null;
    this.#urgent = false;
    const version = this.#version;
    this.#sentVersion = version;
    this.#inFlight = true;
    this.#lastSentAt = performance.now();
    try {
      const result = await this.#request();
      if (version === this.#version) this.#onResult(result);
    } catch (error) {
      if (version === this.#version) this.#onError(error);
    } finally {
      this.#inFlight = false;
    }
    if (this.#sentVersion !== this.#version) this.#schedule();
  }
}
