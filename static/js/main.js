/**
 * The drawing page: the drawing part (drawing.js) plus the model selector. Addresses and words
 * come from data- attributes of #app.
 */

import { listModels } from "./api.js";
import { DrawingPage, format } from "./drawing.js";

const MODEL_KEY = "digitdraw.model";

const root = document.getElementById("app");
const strings = JSON.parse(root.dataset.strings);
const locale = document.documentElement.lang || "en";
const accuracyPercent = new Intl.NumberFormat(locale, {
  style: "percent",
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const select = document.getElementById("model");

const page = new DrawingPage({
  root,
  strings,
  predictUrl: root.dataset.predictUrl,
  intervalMs: Number(root.dataset.liveIntervalMs) || 120,
  model: () => select.value,
});

function onModelChange() {
  try {
    localStorage.setItem(MODEL_KEY, select.value);
  } catch {
    // Storage can be disabled (private windows, kiosk policies); the choice then lasts this visit.
  }
  page.repredict();
}

function savedModel() {
  try {
    return localStorage.getItem(MODEL_KEY);
  } catch {
    return null;
  }
}

function modelLabel(model) {
  const accuracy = model.mnist_test_accuracy;
  if (typeof accuracy !== "number") return model.name;
  return format(strings.model_option, {
    name: model.name,
    accuracy: accuracyPercent.format(accuracy),
  });
}

async function loadModels() {
  let models;
  try {
    models = await listModels(root.dataset.modelsUrl);
  } catch (error) {
    select.options[0].textContent = strings.model_default;
    page.view.error.textContent = format(strings.error_models, {
      message: page.errorMessage(error),
    });
    return;
  }
  const options = models.map(
    (model) => new Option(modelLabel(model), model.name, model.default, model.default),
  );
  select.replaceChildren(...options);
  const saved = savedModel();
  if (models.some((model) => model.name === saved)) select.value = saved;
  select.disabled = false;
  // Strokes drawn while the list loaded went to the server's default, which may not be the choice.
  if (select.value !== models.find((model) => model.default)?.name) page.repredict();
}

select.addEventListener("change", onModelChange);
loadModels();
