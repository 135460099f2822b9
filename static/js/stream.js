/**
 * A Server-Sent Events client over fetch, for the class pages.
 *
 * Not EventSource: that cannot send an Authorization header (the student's token), and it gives
 * up for good on some errors. This one resends the last id it saw as Last-Event-ID, so the
 * server replays what was missed; it reconnects after a drop, when no byte (not even a heartbeat)
 * came for a while, and at once when the page comes back: iOS Safari kills background
 * connections of a locked phone without telling the page.
 */

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
const SILENCE_MS = 40_000; // the server sends a heartbeat every 15 s: 40 s of silence is a dead link
const REFUSED = new Set([401, 403, 404, 410]); // retrying these cannot help

export class EventStream {
  #url;
  #token;
  #onEvent;
  #onStatus;
  #controller = null;
  #retryMs = RETRY_MIN_MS;
  #retryTimer = null;
  #watchdog = null;
  #stopped = false;
  #generation = 0;
  lastEventId = "";

  /**
   * @param {string} url the stream's address
   * @param {object} options
   * @param {string} [options.token] sent as a Bearer header
   * @param {(kind: string, data: object, id: string) => void} options.onEvent each event
   * @param {(status: string, detail?: number) => void} [options.onStatus]
   *   "connecting", "live", "reconnecting", or "refused" with the HTTP status
   */
  constructor(url, { token = "", onEvent, onStatus = () => {} }) {
    this.#url = url;
    this.#token = token;
    this.#onEvent = onEvent;
    this.#onStatus = onStatus;
    const now = () => this.reconnectNow();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") now();
    });
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) now();
    });
    window.addEventListener("online", now);
  }

  start() {
    this.#stopped = false;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#watchdog);
    this.#controller?.abort();
  }

  /** Drop the connection (it may be dead without knowing it) and open a fresh one now. */
  reconnectNow() {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryMs = RETRY_MIN_MS;
    this.#connect();
  }

  #feedWatchdog(generation) {
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (generation === this.#generation) this.reconnectNow();
    }, SILENCE_MS);
  }

  async #connect() {
    this.#controller?.abort();
    const generation = ++this.#generation;
    const controller = new AbortController();
    this.#controller = controller;
    this.#onStatus("connecting");
    const headers = { Accept: "text/event-stream" };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    try {
      const response = await fetch(this.#url, {
        headers,
        signal: controller.signal,
        cache: "no-store",
      });
      if (REFUSED.has(response.status)) {
        this.#stopped = true;
        this.#onStatus("refused", response.status);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.#retryMs = RETRY_MIN_MS;
      this.#onStatus("live");
      await this.#read(response.body, generation);
    } catch {
      // A drop, a refused connection, or our own abort: handled below.
    }
    if (generation !== this.#generation || this.#stopped) return;
    this.#onStatus("reconnecting");
    clearTimeout(this.#watchdog);
    this.#retryTimer = setTimeout(() => this.#connect(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  async #read(body, generation) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    this.#feedWatchdog(generation);
    for (;;) {
      const { value, done } = await reader.read();
      if (done || generation !== this.#generation) return;
      this.#feedWatchdog(generation);
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        this.#dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
      }
    }
  }

  #dispatch(block) {
    let kind = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") kind = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (id !== null) this.lastEventId = id;
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      return; // not one of ours
    }
    this.#onEvent(kind, parsed, id ?? "");
  }
}
