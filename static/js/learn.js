/**
 * Watch it learn: the teacher starts a training job, the page follows its Server-Sent Events and
 * draws the curves, the first layer's weights and the current model's answer on the pad.
 *
 * #learn's data-state says where the page is (for tests and tools): idle, running, done, failed,
 * cancelled. data-batch is the last batch drawn, data-weights-batch that of the weights shown.
 * While a job runs, the pad's drawing goes to the job (PUT .../drawing) and the answer comes back
 * as "prediction" events; otherwise the pad asks /predict with the model chosen under it.
 */

import { ApiError, listModels, predict } from "./api.js";
import { BarChart } from "./chart.js";
import { CurveChart, WeightGrid } from "./curves.js";
import { LivePredictor } from "./live.js";
import { Pad } from "./pad.js";

const root = document.getElementById("learn");
const strings = JSON.parse(root.dataset.strings);
const trainingUrl = root.dataset.trainingUrl;
const locale = document.documentElement.lang || "en";
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const accuracyPercent = new Intl.NumberFormat(locale, {
  style: "percent",
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const TERMINAL = ["done", "failed", "cancelled"];

const element = (id) => document.getElementById(id);
const view = {
  form: element("train-form"),
  key: element("teacher-key"),
  start: element("start"),
  cancel: element("cancel"),
  status: element("status"),
  trainError: element("train-error"),
  weightsBatch: element("weights-batch"),
  prediction: element("prediction"),
  confidence: element("confidence"),
  hint: element("hint"),
  preview: element("preview"),
  when: element("answer-when"),
  padError: element("error"),
  model: element("model"),
  classModels: element("class-models"),
  buttons: { undo: element("undo"), redo: element("redo"), clear: element("clear") },
};

const lossChart = new CurveChart(element("loss-chart"), {
  formatY: (value) => decimal.format(value),
  yMax: null,
  xLabel: strings.learn_axis_batch,
});
const accuracyChart = new CurveChart(element("accuracy-chart"), {
  formatY: (value) => percent.format(value),
  yMax: 1,
  xLabel: strings.learn_axis_batch,
});
const weights = new WeightGrid(element("weights"));
const bars = new BarChart(element("bars"), (value) => percent.format(value));
const pad = new Pad(element("pad"));

let job = null; // {id, source, epochs, steps}
const predictor = new LivePredictor({
  intervalMs: Number(root.dataset.liveIntervalMs) || 120,
  request: () => (isRunning() ? sendDrawing() : askModel()),
  onResult: (result) => {
    if (result) showPrediction(result.digit, result.probabilities, "", result.preprocessed);
  },
  onError: (error) => {
    // A drawing sent as the job ended (or while replaying a finished one) has no one to read it.
    if (error.code !== "job_finished") view.padError.textContent = errorMessage(error);
  },
});

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

function errorMessage(error) {
  if (error.message) return error.message;
  if (error.status === 0) return strings.error_unreachable;
  return format(strings.error_http, { status: error.status });
}

function isRunning() {
  return root.dataset.state === "running";
}

/** fetch with the teacher key (typed, or the page's HttpOnly cookie); ApiError on failure. */
async function call(url, options = {}) {
  const headers = { Accept: "application/json", ...options.headers };
  const key = view.key.value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(url, { ...options, headers });
  } catch {
    throw new ApiError("", 0, "unreachable");
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error ?? {};
    if (response.status === 401 || response.status === 403) {
      throw new ApiError(strings.learn_need_key, response.status, String(error.code));
    }
    throw new ApiError(String(error.message ?? ""), response.status, String(error.code ?? ""));
  }
  return body;
}

function setState(state) {
  root.dataset.state = state;
  const running = state === "running";
  view.start.disabled = running;
  view.cancel.disabled = !running;
  for (const field of view.form.elements) {
    if (field !== view.start && field !== view.cancel && field !== view.key) {
      field.disabled = running;
    }
  }
}

function setStatus(text) {
  view.status.textContent = text;
}

// --- the pad and its answer ------------------------------------------------------------------

async function sendDrawing() {
  if (!job || pad.isEmpty()) return null;
  await call(`${trainingUrl}/${job.id}/drawing`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ strokes: pad.toData() }),
  });
  return null; // the answer comes with the job's next "prediction" event
}

async function askModel() {
  if (pad.isEmpty()) return null;
  return predict(root.dataset.predictUrl, pad.toData(), view.model.value || undefined);
}

function showPrediction(digit, probabilities, when, preview = "") {
  if (pad.isEmpty()) return;
  view.prediction.textContent = String(digit);
  view.confidence.textContent = format(strings.confidence, {
    percent: percent.format(probabilities[digit]),
  });
  view.hint.hidden = true;
  view.when.textContent = when;
  bars.show(probabilities);
  const image = String(preview);
  if (image.startsWith("data:image/png;base64,")) view.preview.src = image;
  view.preview.hidden = !image.startsWith("data:image/png;base64,");
  view.padError.textContent = "";
}

function clearAnswer() {
  view.prediction.textContent = "";
  view.confidence.textContent = "";
  view.when.textContent = "";
  view.hint.hidden = false;
  view.preview.hidden = true;
  bars.clear();
}

function updateTools() {
  root.dataset.strokes = String(pad.strokeCount);
  view.buttons.undo.disabled = !pad.canUndo;
  view.buttons.redo.disabled = !pad.canRedo;
  view.buttons.clear.disabled = pad.isEmpty();
}

function onPadChange(event) {
  const { reason } = event.detail;
  if (reason !== "extend") updateTools();
  if (pad.isEmpty()) {
    predictor.cancel();
    clearAnswer();
    return;
  }
  predictor.changed();
  if (reason !== "extend") predictor.flush();
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.altKey || event.isComposing) return;
  if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && key === "z") {
    event.preventDefault();
    if (event.shiftKey) pad.redo();
    else pad.undo();
  } else if (command && key === "y" && !event.shiftKey) {
    event.preventDefault();
    pad.redo();
  } else if (key === "escape" && !command && !event.shiftKey) {
    pad.clear();
  }
}

// --- models ------------------------------------------------------------------------------------

async function loadModels(choose) {
  let models;
  try {
    models = await listModels(root.dataset.modelsUrl);
  } catch (error) {
    view.padError.textContent = errorMessage(error);
    return;
  }
  const options = models.map((model) => {
    const label = typeof model.mnist_test_accuracy === "number"
      ? format(strings.model_option, {
        name: model.name,
        accuracy: accuracyPercent.format(model.mnist_test_accuracy),
      })
      : model.name;
    return new Option(label, model.name, model.default, model.default);
  });
  const previous = view.model.value;
  view.model.replaceChildren(...options);
  const wanted = choose ?? previous;
  if (models.some((model) => model.name === wanted)) view.model.value = wanted;
}

async function loadClassModels() {
  let body;
  try {
    body = await call(`${trainingUrl}/models`);
  } catch {
    return;
  }
  const items = body.models.map((model) => {
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = format(strings.learn_model_row, {
      name: model.name,
      accuracy: accuracyPercent.format(model.mnist_test_accuracy ?? 0),
      digits: (model.train_size ?? 0).toLocaleString(locale),
      epochs: model.epochs ?? "?",
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button";
    remove.textContent = strings.learn_delete;
    remove.setAttribute("aria-label", format(strings.learn_delete_label, { name: model.name }));
    remove.addEventListener("click", () => deleteModel(model.name));
    item.append(text, remove);
    return item;
  });
  if (!items.length) {
    const empty = document.createElement("li");
    empty.textContent = strings.learn_models_empty;
    items.push(empty);
  }
  view.classModels.replaceChildren(...items);
}

async function deleteModel(name) {
  try {
    await call(`${trainingUrl}/models/${encodeURIComponent(name)}`, { method: "DELETE" });
  } catch (error) {
    view.trainError.textContent = errorMessage(error);
    return;
  }
  await Promise.all([loadClassModels(), loadModels()]);
}

// --- the job -----------------------------------------------------------------------------------

function settingsFromForm() {
  const data = new FormData(view.form);
  const settings = {
    model: data.get("model"),
    optimizer: data.get("optimizer"),
    learning_rate: Number(data.get("learning_rate")),
    epochs: Number(data.get("epochs")),
    batch_size: Number(data.get("batch_size")),
    train_size: Number(data.get("train_size")),
  };
  const units = String(data.get("hidden_units") ?? "").trim();
  if (units && settings.model !== "mlp128-64") settings.hidden_units = Number(units);
  return settings;
}

async function startJob(event) {
  event.preventDefault();
  view.trainError.textContent = "";
  let started;
  try {
    started = await call(trainingUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(settingsFromForm()),
    });
  } catch (error) {
    view.trainError.textContent = errorMessage(error);
    return;
  }
  follow(started.job_id);
}

async function cancelJob() {
  if (!job) return;
  view.cancel.disabled = true;
  try {
    await call(`${trainingUrl}/${job.id}`, { method: "DELETE" });
  } catch (error) {
    view.trainError.textContent = errorMessage(error);
    view.cancel.disabled = false;
  }
}

/** The last weights event, as the weights themselves or as what training changed. */
function showWeights() {
  const data = job?.weights;
  if (!data) return;
  const wanted = document.querySelector('input[name="weights-view"]:checked');
  const bytes = wanted?.value === "change" && data.change ? data.change : data.data;
  weights.show(data.count, data.side, bytes);
}

function follow(jobId) {
  job?.source.close();
  const source = new EventSource(`${trainingUrl}/${jobId}/events`);
  job = { id: jobId, source, epochs: 1, steps: 1 };
  setState("running");
  root.dataset.batch = "0";
  root.dataset.weightsBatch = "";
  lossChart.reset(1);
  accuracyChart.reset(1);
  weights.clear();
  view.weightsBatch.textContent = strings.learn_weights_before;
  setStatus(strings.learn_status_starting);
  const on = (kind, handler) =>
    source.addEventListener(kind, (message) => {
      if (job?.source === source) handler(JSON.parse(message.data));
    });
  on("queued", (data) => {
    job.epochs = data.settings.epochs;
    if (!pad.isEmpty()) predictor.changed(); // the pad's drawing, for the "before" answer
    predictor.flush();
  });
  on("started", (data) => {
    job.steps = data.steps_per_epoch;
    lossChart.setXMax(job.steps * job.epochs);
    accuracyChart.setXMax(job.steps * job.epochs);
  });
  on("progress", (data) => {
    lossChart.addTraining(data.batch, data.loss);
    accuracyChart.addTraining(data.batch, data.accuracy);
    root.dataset.batch = String(data.batch);
    setStatus(format(strings.learn_status_training, {
      epoch: data.epoch,
      epochs: job.epochs,
      step: data.step,
      steps: data.steps_per_epoch,
    }));
  });
  on("epoch", (data) => {
    lossChart.addValidation(data.batch, data.val_loss);
    accuracyChart.addValidation(data.batch, data.val_accuracy);
  });
  on("weights", (data) => {
    job.weights = data;
    showWeights();
    root.dataset.weightsBatch = String(data.batch);
    view.weightsBatch.textContent = data.batch === 0
      ? strings.learn_weights_before
      : format(strings.learn_weights_batch, { batch: data.batch });
  });
  on("prediction", (data) => {
    const when = data.batch === 0
      ? strings.learn_answer_before
      : format(strings.learn_answer_batch, { batch: data.batch });
    showPrediction(data.digit, data.probabilities, when);
  });
  on("stage", (data) => {
    if (data.stage === "testing") {
      setStatus(format(strings.learn_status_testing, {
        count: Number(data.test_size).toLocaleString(locale),
      }));
    } else {
      setStatus(strings.learn_status_saving);
    }
  });
  on("done", async (data) => {
    source.close();
    setState("done");
    setStatus(format(strings.learn_status_done, {
      name: data.name,
      accuracy: accuracyPercent.format(data.mnist_test_accuracy),
    }));
    await Promise.all([loadModels(data.name), loadClassModels()]);
    root.dataset.model = data.name;
    if (!pad.isEmpty()) {
      predictor.changed();
      predictor.flush();
    }
  });
  on("failed", (data) => {
    source.close();
    setState("failed");
    setStatus(format(strings.learn_status_failed, { reason: data.reason ?? "" }));
  });
  on("cancelled", () => {
    source.close();
    setState("cancelled");
    setStatus(strings.learn_status_cancelled);
  });
}

async function resume() {
  let status;
  try {
    status = await call(trainingUrl);
  } catch (error) {
    view.trainError.textContent = errorMessage(error);
    return;
  }
  if (!status.mnist_available) {
    view.trainError.textContent = strings.learn_mnist_missing;
    view.start.disabled = true;
  }
  // A reload during (or after) a job shows the same curves: the stream replays from the start.
  if (status.job) follow(status.job.id);
}

pad.addEventListener("change", onPadChange);
view.buttons.undo.addEventListener("click", () => pad.undo());
view.buttons.redo.addEventListener("click", () => pad.redo());
view.buttons.clear.addEventListener("click", () => pad.clear());
view.model.addEventListener("change", () => {
  if (!isRunning() && !pad.isEmpty()) {
    predictor.changed();
    predictor.flush();
  }
});
view.form.addEventListener("submit", startJob);
for (const choice of document.querySelectorAll('input[name="weights-view"]')) {
  choice.addEventListener("change", showWeights);
}
view.cancel.addEventListener("click", cancelJob);
document.addEventListener("keydown", onKeyDown);
updateTools();
clearAnswer();
loadModels();
loadClassModels();
resume();
