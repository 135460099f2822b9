/**
 * Calls to the digitdraw JSON API. Every failure becomes an ApiError carrying the server's own
 * words when it sent some, so the page can say what went wrong instead of guessing.
 */

export class ApiError extends Error {
  /**
   * @param {string} message the server's message, or "" when there was none to read
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code the server's error code, or "unreachable" / "invalid_response"
   */
  constructor(message, status, code) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function call(url, options = {}) {
  let response;
  try {
    const headers = { Accept: "application/json", ...options.headers };
    response = await fetch(url, { ...options, headers });
  } catch {
    throw new ApiError("", 0, "unreachable");
  }
  if (response.status === 204) return {};
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page, or a cut connection: there is no message to show.
  }
  if (!response.ok) {
    const error = body?.error ?? {};
    const code = String(error.code ?? "http_error");
    throw new ApiError(String(error.message ?? ""), response.status, code);
  }
  if (body === null || typeof body !== "object") {
    throw new ApiError("", response.status, "invalid_response");
  }
  return body;
}

/** POST the strokes; resolves to {digit, confidence, probabilities, preprocessed, ...}. */
export async function predict(url, strokes, model) {
  const payload = model ? { strokes, model } : { strokes };
  const result = await call(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const valid = Number.isInteger(result.digit) && Array.isArray(result.probabilities)
    && result.probabilities.length === 10;
  if (!valid) throw new ApiError("", 200, "invalid_response");
  return result;
}

/** POST the strokes to /explain: the prediction plus layers and the saliency of `target`. */
export async function explain(url, strokes, model, target) {
  // base64 float32 activations: a tenth of the time of nested JSON lists to write and to parse.
  const payload = { strokes, encoding: "base64" };
  if (model) payload.model = model;
  if (Number.isInteger(target)) payload.target = target;
  const result = await call(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const valid = Number.isInteger(result.digit) && Array.isArray(result.layers)
    && Array.isArray(result.saliency?.values);
  if (!valid) throw new ApiError("", 200, "invalid_response");
  return result;
}

/** GET the served models: [{name, description, mnist_test_accuracy, default}, ...]. */
export async function listModels(url) {
  const body = await call(url);
  if (!Array.isArray(body.models)) throw new ApiError("", 200, "invalid_response");
  return body.models;
}

/** POST a correction (the drawing, the digit it really is); resolves to {id}. */
export async function sendCorrection(url, correction) {
  return apiCall(url, { method: "POST", body: correction });
}

/**
 * A JSON call to the classroom API. `token` goes as a Bearer header (a student's token); the
 * teacher's page sends no token, its HttpOnly cookie carries the key.
 */
export async function apiCall(url, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return call(url, { method, headers, body: payload });
}

/** POST the strokes of a number; resolves to {number, digits: [{digit, box, ...}], ...}. */
export async function predictNumber(url, strokes, model) {
  const payload = model ? { strokes, model } : { strokes };
  const result = await call(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const valid = typeof result.number === "string" && Array.isArray(result.digits)
    && result.digits.every((digit) => Number.isInteger(digit.digit) && Array.isArray(digit.box)
      && Array.isArray(digit.probabilities) && digit.probabilities.length === 10);
  if (!valid) throw new ApiError("", 200, "invalid_response");
  return result;
}
