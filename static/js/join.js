/**
 * A student's class page: join (or come back as the same student with the token kept in this
 * browser), then draw with the live answer as on the drawing page, and send drawings to the
 * class wall. The teacher's prompt and pause arrive live on the student's own event stream.
 *
 * #app's data-phase: loading, join (the form), class (drawing), ended.
 */

import { apiCall } from "./api.js";
import { DrawingPage, format } from "./drawing.js";
import { EventStream } from "./stream.js";

const root = document.getElementById("app");
const strings = JSON.parse(root.dataset.strings);
const element = (id) => document.getElementById(id);
const view = {
  joinPanel: element("join-panel"),
  form: element("join-form"),
  codeField: element("code-field"),
  code: element("join-code"),
  name: element("join-name"),
  joinError: element("join-error"),
  me: element("me"),
  prompt: element("prompt"),
  classPad: element("class-pad"),
  result: element("class-result"),
  send: element("send"),
  sendStatus: element("send-status"),
  labelPanel: element("label-panel"),
};

let code = root.dataset.code;
let student = null; // {token, name, student_id}
let classState = { prompt: null, paused: false, ended: false };
let sending = false;
let lastSent = null; // the drawing_id whose label the buttons set
let stream = null;

const storageKey = () => `digitdraw.class.${code}`;
const classUrl = (path = "") => `${root.dataset.apiRoot}/${encodeURIComponent(code)}${path}`;

const drawing = new DrawingPage({
  root,
  strings,
  predictUrl: root.dataset.predictUrl,
  intervalMs: Number(root.dataset.liveIntervalMs) || 120,
});
drawing.addEventListener("change", (event) => {
  // A new drawing begins: the correction buttons were for the one sent before, and give the
  // live answer its place under the pad again.
  if (event.detail.reason === "begin") view.labelPanel.hidden = true;
  updateSend();
});

function saved() {
  try {
    return JSON.parse(localStorage.getItem(storageKey()) ?? "null");
  } catch {
    return null;
  }
}

function save(value) {
  try {
    if (value === null) localStorage.removeItem(storageKey());
    else localStorage.setItem(storageKey(), JSON.stringify(value));
  } catch {
    // Storage off (private window): the student stays in the class for this visit only.
  }
}

function setPhase(phase) {
  root.dataset.phase = phase;
  view.joinPanel.hidden = phase !== "join";
  const drawingShown = phase === "class" || phase === "ended";
  view.classPad.hidden = !drawingShown;
  view.result.hidden = !drawingShown;
  view.prompt.hidden = !drawingShown;
  updateSend();
}

function showJoin(message = "") {
  setPhase("join");
  view.codeField.hidden = Boolean(code);
  view.joinError.textContent = message;
}

function showPrompt() {
  let text;
  if (classState.ended) text = strings.join_ended;
  else if (classState.paused) text = strings.join_paused;
  else if (classState.prompt === null || classState.prompt === undefined) {
    text = strings.join_prompt_free;
  } else text = format(strings.join_prompt, { digit: classState.prompt });
  view.prompt.textContent = text;
  view.prompt.dataset.digit = classState.prompt ?? "";
  view.prompt.classList.toggle("is-asking", classState.prompt !== null && !classState.ended);
}

function updateSend() {
  const canSend = root.dataset.phase === "class" && !classState.paused && !classState.ended
    && !drawing.pad.isEmpty() && !sending;
  view.send.disabled = !canSend;
}

function applyClass(state) {
  classState = { prompt: state.prompt, paused: state.paused, ended: state.ended };
  showPrompt();
  if (classState.ended) {
    setPhase("ended");
    stream?.stop();
  }
  updateSend();
}

function enterClass(me) {
  view.me.textContent = format(strings.join_you_are, { name: me.name });
  view.me.hidden = false;
  setPhase("class");
  applyClass(me.class);
  if (classState.ended) return;
  stream = new EventStream(classUrl("/me/events"), {
    token: student.token,
    onEvent: (kind, data) => applyClass(data),
    onStatus: (status, detail) => {
      root.dataset.stream = status;
      if (status === "reconnecting") view.sendStatus.textContent = strings.join_offline;
      else if (status === "live" && view.sendStatus.textContent === strings.join_offline) {
        view.sendStatus.textContent = "";
      }
      if (status === "refused" && detail !== 410) showJoin();
    },
  });
  stream.start();
}

async function resume() {
  if (!code) {
    showJoin();
    return;
  }
  student = saved();
  if (!student) {
    showJoin();
    return;
  }
  try {
    enterClass(await apiCall(classUrl("/me"), { token: student.token }));
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      save(null); // a token of a deleted class or another server: join afresh
      showJoin();
    } else if (error.status === 404) showJoin(strings.join_unknown);
    else if (error.status === 0) setTimeout(resume, 2000); // the laptop may be restarting
    else showJoin(drawing.errorMessage(error));
  }
}

async function onJoin(event) {
  event.preventDefault();
  if (!code) {
    const typed = view.code.value.replace(/[\s-]/g, "").toUpperCase();
    if (!typed) return;
    window.location.assign(`${root.dataset.joinRoot}/${encodeURIComponent(typed)}`);
    return;
  }
  const name = view.name.value.trim();
  try {
    const joined = await apiCall(classUrl("/join"), {
      method: "POST",
      body: name ? { name } : {},
    });
    student = { token: joined.student_token, name: joined.name, student_id: joined.student_id };
    save(student);
    enterClass({ name: joined.name, class: joined.class });
  } catch (error) {
    view.joinError.textContent = error.status === 404
      ? strings.join_unknown
      : drawing.errorMessage(error);
  }
}

const BUSY_RETRIES = 3; // a 503 store_busy saved nothing: sending again is safe

async function sendDrawing(strokes) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await apiCall(classUrl("/drawings"), {
        method: "POST",
        body: { strokes },
        token: student.token,
      });
    } catch (error) {
      if (error.code !== "store_busy" || attempt >= BUSY_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function onSend() {
  if (view.send.disabled) return;
  sending = true;
  updateSend();
  view.sendStatus.textContent = strings.pending;
  try {
    const answer = await sendDrawing(drawing.pad.toData());
    lastSent = answer.drawing_id;
    view.sendStatus.textContent = format(strings.join_sent, { digit: answer.digit });
    view.labelPanel.hidden = false;
    drawing.pad.clear();
  } catch (error) {
    view.sendStatus.textContent = drawing.errorMessage(error);
    if (error.code === "class_ended") applyClass({ ...classState, ended: true });
    if (error.code === "class_paused") applyClass({ ...classState, paused: true });
  } finally {
    sending = false;
    updateSend();
  }
}

async function onLabel(event) {
  const button = event.target.closest("[data-label]");
  if (!button || lastSent === null) return;
  const label = Number(button.dataset.label);
  try {
    await apiCall(classUrl(`/drawings/${lastSent}/label`), {
      method: "POST",
      body: { label },
      token: student.token,
    });
    view.sendStatus.textContent = format(strings.join_labelled, { digit: label });
    view.labelPanel.hidden = true;
  } catch (error) {
    view.sendStatus.textContent = drawing.errorMessage(error);
  }
}

view.form.addEventListener("submit", onJoin);
view.send.addEventListener("click", onSend);
view.labelPanel.addEventListener("click", onLabel);
resume();
