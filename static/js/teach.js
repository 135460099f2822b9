/**
 * The teacher's pages: the lobby (start a class, open or delete old ones) and the projector wall.
 *
 * The wall is a fold over the class's event stream: on load the stream replays every event of
 * the class from the start, so a reload (or a reconnect after the server restarted) rebuilds the
 * same wall; after that each event updates it. Names are untrusted: only ever textContent.
 * The teacher key is in an HttpOnly cookie: this script never sees it.
 */

import { apiCall } from "./api.js";
import { format } from "./drawing.js";
import { EventStream } from "./stream.js";

const root = document.getElementById("teach");
const strings = JSON.parse(root.dataset.strings);
const code = root.dataset.code;
const apiRoot = root.dataset.apiRoot;
const element = (id) => document.getElementById(id);
const locale = document.documentElement.lang || "en";
const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });

function create(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function message(error) {
  return error.message || format(strings.error_http, { status: error.status });
}

// The lobby

async function loadLobby() {
  const list = element("classes");
  let classes;
  try {
    ({ classes } = await apiCall(apiRoot));
  } catch (error) {
    element("lobby-error").textContent = message(error);
    return;
  }
  element("no-classes").hidden = classes.length > 0;
  list.replaceChildren(
    ...classes.map((entry) => {
      const item = create("li", "class-entry");
      const link = create("a", "class-link", entry.code);
      link.href = `${root.dataset.teachRoot}/${encodeURIComponent(entry.code)}`;
      const when = new Date(entry.created_at * 1000).toLocaleString(locale);
      const summary = format(strings.teach_class_summary, {
        students: entry.students,
        drawings: entry.drawings,
      });
      const ended = entry.ended ? ` · ${strings.teach_class_ended}` : "";
      const details = create("span", "class-details", `${when} · ${summary}${ended}`);
      const remove = create("button", "button", strings.teach_delete);
      remove.type = "button";
      remove.setAttribute("aria-label", `${strings.teach_delete} ${entry.code}`);
      remove.addEventListener("click", async () => {
        try {
          await apiCall(`${apiRoot}/${encodeURIComponent(entry.code)}`, { method: "DELETE" });
          loadLobby();
        } catch (error) {
          element("lobby-error").textContent = message(error);
        }
      });
      item.append(link, details, remove);
      return item;
    }),
  );
}

function startLobby() {
  element("start-class").addEventListener("click", async () => {
    try {
      const started = await apiCall(apiRoot, { method: "POST" });
      window.location.assign(`${root.dataset.teachRoot}/${encodeURIComponent(started.code)}`);
    } catch (error) {
      element("lobby-error").textContent = message(error);
    }
  });
  loadLobby();
}

// The wall

const wall = {
  drawings: new Map(), // id -> tile data from the "drawing" events, updated by label and hide
  tiles: new Map(), // id -> tile element
  students: 0,
  state: { prompt: null, paused: false, veiled: false, ended: false, wall_from: 0 },
  renderQueued: false,
};
const classUrl = (path = "") => `${apiRoot}/${encodeURIComponent(code)}${path}`;

function target(drawing) {
  return drawing.label ?? drawing.prompt ?? null;
}

function onWall(drawing) {
  return !drawing.hidden && drawing.id > wall.state.wall_from;
}

function showQr(info) {
  // The HTML parser (segno's inline SVG has no xmlns): the server made it, no user text inside.
  const parsed = new DOMParser().parseFromString(info.qr_svg, "text/html");
  const svg = parsed.body.firstElementChild;
  if (svg?.nodeName.toLowerCase() !== "svg") return;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", strings.teach_qr_title);
  element("qr-box").replaceChildren(document.importNode(svg, true));
  const url = element("join-url");
  url.textContent = info.join_url;
  url.dataset.url = info.join_url;
  const select = element("address");
  if (select.options.length !== info.addresses.length) {
    select.replaceChildren(...info.addresses.map((address) => new Option(address, address)));
  }
  select.value = info.address;
  element("address-field").hidden = info.addresses.length < 2;
  element("local-only").hidden = info.reachable_from_lan;
}

async function loadJoinInfo(address = "") {
  const query = address ? `?address=${encodeURIComponent(address)}` : "";
  try {
    showQr(await apiCall(classUrl(query)));
  } catch (error) {
    element("teach-error").textContent = message(error);
  }
}

function tileFor(drawing) {
  let tile = wall.tiles.get(drawing.id);
  if (tile) return tile;
  tile = create("article", "tile");
  tile.dataset.drawingId = String(drawing.id);
  const name = create("h3", "tile-name", drawing.student);
  const reveal = create("div", "tile-reveal");
  const image = create("img", "tile-image");
  image.width = 28;
  image.height = 28;
  image.alt = format(strings.teach_tile_alt, { name: drawing.student });
  if (String(drawing.preprocessed ?? "").startsWith("data:image/png;base64,")) {
    image.src = drawing.preprocessed;
  }
  const answer = create("p", "tile-answer");
  const digit = create("span", "tile-digit", String(drawing.digit));
  digit.dataset.digit = String(drawing.digit);
  const confidence = create("span", "tile-confidence", percent.format(drawing.confidence));
  answer.append(digit, confidence);
  const label = create("p", "tile-label");
  reveal.append(image, answer, label);
  const veil = create("p", "tile-veil", "?");
  veil.setAttribute("aria-label", strings.teach_veiled_tile);
  const hide = create("button", "tile-hide", "×");
  hide.type = "button";
  hide.setAttribute("aria-label", format(strings.teach_hide_tile, { name: drawing.student }));
  hide.addEventListener("click", () => command(`/drawings/${drawing.id}/hide`, { value: true }));
  tile.append(name, reveal, veil, hide);
  wall.tiles.set(drawing.id, tile);
  return tile;
}

function updateTile(tile, drawing) {
  const labelNode = tile.querySelector(".tile-label");
  labelNode.textContent = drawing.label === null || drawing.label === undefined
    ? ""
    : format(strings.teach_label_tag, { digit: drawing.label });
  const goal = target(drawing);
  tile.dataset.verdict = goal === null ? "" : goal === drawing.digit ? "right" : "wrong";
}

function renderWall() {
  wall.renderQueued = false;
  const visible = [...wall.drawings.values()].filter(onWall);
  const container = element("wall");
  container.dataset.veiled = String(wall.state.veiled);
  element("wall-empty").hidden = visible.length > 0;
  element("drawing-count").textContent = String(visible.length);
  element("student-count").textContent = String(wall.students);
  const newestFirst = visible.slice().reverse();
  const children = [];
  if (wall.state.prompt !== null) {
    // Grouped by the network's answer, the asked-for digit's group first.
    const groups = new Map();
    for (const drawing of newestFirst) {
      if (!groups.has(drawing.digit)) groups.set(drawing.digit, []);
      groups.get(drawing.digit).push(drawing);
    }
    const order = [...groups.keys()].sort((a, b) => {
      if (a === wall.state.prompt) return -1;
      if (b === wall.state.prompt) return 1;
      return groups.get(b).length - groups.get(a).length || a - b;
    });
    for (const digit of order) {
      const group = create("section", "tile-group");
      group.dataset.group = String(digit);
      group.classList.toggle("is-asked", digit === wall.state.prompt);
      const heading = create("h3", "group-heading", format(strings.teach_group, { digit }));
      const tiles = create("div", "group-tiles");
      for (const drawing of groups.get(digit)) {
        const tile = tileFor(drawing);
        updateTile(tile, drawing);
        tiles.append(tile);
      }
      group.append(heading, tiles);
      children.push(group);
    }
  } else {
    for (const drawing of newestFirst) {
      const tile = tileFor(drawing);
      updateTile(tile, drawing);
      children.push(tile);
    }
  }
  container.replaceChildren(...children);
  renderScore(visible);
}

function renderScore(visible) {
  const scored = visible.filter((drawing) => target(drawing) !== null);
  const right = scored.filter((drawing) => target(drawing) === drawing.digit).length;
  const score = element("score");
  score.hidden = scored.length === 0;
  score.textContent = format(strings.teach_score, { right, total: scored.length });
  score.dataset.right = String(right);
  score.dataset.total = String(scored.length);
  element("matrix-card").hidden = scored.length === 0;
  const counts = new Map();
  for (const drawing of scored) {
    const key = `${target(drawing)}:${drawing.digit}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const most = Math.max(1, ...counts.values());
  for (const cell of element("matrix").querySelectorAll("td")) {
    const count = counts.get(`${cell.dataset.asked}:${cell.dataset.read}`) ?? 0;
    cell.textContent = String(count);
    cell.style.setProperty("--n", String(count / most));
    cell.classList.toggle("is-diagonal", cell.dataset.asked === cell.dataset.read);
    cell.classList.toggle("is-empty", count === 0);
  }
}

function renderState() {
  const { state } = wall;
  const banner = element("prompt-banner");
  banner.hidden = state.prompt === null;
  banner.textContent = state.prompt === null
    ? ""
    : format(strings.teach_prompt_banner, { digit: state.prompt });
  element("prompt-select").value = state.prompt === null ? "" : String(state.prompt);
  const pause = element("pause");
  pause.setAttribute("aria-pressed", String(state.paused));
  pause.textContent = state.paused ? strings.teach_resume : strings.teach_pause;
  const veil = element("veil");
  veil.setAttribute("aria-pressed", String(state.veiled));
  veil.textContent = state.veiled ? strings.teach_reveal : strings.teach_veil;
  element("paused-banner").hidden = !state.paused || state.ended;
  element("ended-banner").hidden = !state.ended;
  root.dataset.ended = String(state.ended);
  for (const id of ["pause", "veil", "clear-wall", "end-class", "prompt-select"]) {
    element(id).disabled = state.ended;
  }
}

function queueRender() {
  if (wall.renderQueued) return;
  wall.renderQueued = true;
  requestAnimationFrame(renderWall);
}

function onEvent(kind, data) {
  if (kind === "drawing") {
    wall.drawings.set(data.id, data);
  } else if (kind === "join") {
    wall.students += 1;
    element("isolation-hint").hidden = true;
  } else if (kind === "label" || kind === "hide") {
    const drawing = wall.drawings.get(data.drawing_id);
    if (!drawing) return;
    if (kind === "label") Object.assign(drawing, { label: data.label, labelled_by: data.labelled_by });
    else drawing.hidden = data.hidden;
  } else if (["prompt", "pause", "veil", "clear", "end"].includes(kind)) {
    wall.state = { ...wall.state, ...data };
    renderState();
  } else {
    return;
  }
  queueRender();
}

let stream = null;

function onStatus(status) {
  const node = element("wall-status");
  node.dataset.state = status;
  root.dataset.stream = status;
  node.textContent = status === "live" ? strings.teach_status_live : strings.teach_status_reconnecting;
  if (status === "refused") node.textContent = strings.teach_status_ended;
}

async function command(path, body) {
  try {
    const answer = await apiCall(classUrl(path), { method: "POST", body });
    element("teach-error").textContent = "";
    return answer;
  } catch (error) {
    element("teach-error").textContent = message(error);
    return null;
  }
}

function startWall() {
  element("prompt-select").addEventListener("change", (event) => {
    const value = event.target.value;
    command("/prompt", { digit: value === "" ? null : Number(value) });
  });
  element("pause").addEventListener("click", () => command("/pause", { value: !wall.state.paused }));
  element("veil").addEventListener("click", () => command("/veil", { value: !wall.state.veiled }));
  element("clear-wall").addEventListener("click", () => command("/clear"));
  element("end-class").addEventListener("click", () => {
    if (window.confirm(strings.teach_end_confirm)) command("/end");
  });
  element("address").addEventListener("change", (event) => loadJoinInfo(event.target.value));
  const seconds = Number(root.dataset.isolationSeconds) || 45;
  setTimeout(() => {
    if (wall.students === 0) element("isolation-hint").hidden = false;
  }, seconds * 1000);
  renderState();
  loadJoinInfo();
  stream = new EventStream(classUrl("/events"), { onEvent, onStatus });
  stream.start();
}

if (code) startWall();
else startLobby();
