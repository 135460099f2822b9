/**
 * "Wrong? It was: 0 1 ... 9" under the answer: one tap stores a correction for the drawing on
 * screen (POST /corrections), so the class can later fine-tune the network on its own mistakes.
 *
 * The page script announces each answer with a "digitdraw:answer" event on #app (the result and
 * a function that returns the strokes on screen); #app's data-state says whether an answer for
 * this drawing is on screen. Words and the address come from data- attributes of #correct.
 */

import { sendCorrection } from "./api.js";

const root = document.getElementById("app");
const row = document.getElementById("correct");
const status = document.getElementById("correct-status");
const buttons = [...row.querySelectorAll("[data-correct]")];
const { correctionsUrl, saving, thanks, failed } = row.dataset;

let answer = null; // {result, strokes} of the answer on screen
let busy = false; // a correction is on its way
let saved = false; // this answer was already corrected

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

function update() {
  const state = root.dataset.state;
  if (state === "idle" || state === "error") answer = null;
  row.hidden = answer === null;
  const usable = state === "ready" && !busy && !saved;
  for (const button of buttons) button.disabled = !usable;
}

function onAnswer(event) {
  answer = event.detail;
  saved = false;
  if (!busy) status.textContent = "";
  update();
}

async function correct(label) {
  if (!answer || busy || saved) return;
  const { result, strokes } = answer;
  busy = true;
  // The pressed button is about to be disabled: keep the keyboard focus on what happens next.
  status.textContent = saving;
  status.focus();
  update();
  const model = Number.isInteger(result.model_version)
    ? `${result.model}@${result.model_version}`
    : result.model;
  try {
    await sendCorrection(correctionsUrl, {
      strokes: strokes(),
      label,
      answer: result.digit,
      model,
      source: "page",
    });
    saved = true;
    status.textContent = format(thanks, { digit: label });
  } catch (error) {
    status.textContent = format(failed, { message: error.message || `HTTP ${error.status}` });
  } finally {
    busy = false;
    update();
  }
}

for (const button of buttons) {
  button.addEventListener("click", () => correct(Number(button.dataset.correct)));
}
root.addEventListener("digitdraw:answer", onAnswer);
new MutationObserver(update).observe(root, { attributes: true, attributeFilter: ["data-state"] });
update();
