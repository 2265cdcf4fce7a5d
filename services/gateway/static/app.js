// telesniff dashboard: wires the feed, filters, hot view, alerts and the live connection.
//
// No build step, no dependencies: ES modules served by the gateway as they are.

import { AddressPanel } from "./address.js";
import { AuthError, getJson, setToken } from "./api.js";
import { LiveConnection, cursorAfter, parseCursor } from "./connection.js";
import { Counters } from "./counters.js";
import { Feed } from "./feed.js";
import { describe, fillForm, readForm, readState, sameFilters, writeState } from "./filters.js";
import { copyText, shorten } from "./format.js";
import { HotView } from "./hot.js";
import { Alerts } from "./notify.js";

const $ = (id) => document.getElementById(id);
const STATS_BUSY_MS = 2000;
const STATS_IDLE_MS = 15_000;
const RESUME_OVERLAP_MS = 2000; // replay a little before the newest stored row; duplicates are dropped

const state = readState();
const form = $("filters");
let heldCount = 0;
let lastGapRestart = 0;
let viewGeneration = 0;

// ---------------------------------------------------------------------------------------
// Pieces.

const counters = new Counters({
  total: $("count-total"),
  rate: $("count-rate"),
  latency: $("count-latency"),
  kinds: $("count-kinds"),
  stored: $("count-stored"),
  announcer: $("announcer"),
});

const feed = new Feed({
  body: $("feed-body"),
  scroller: $("feed-scroll"),
  fetchPage: (query) => getJson("api/detections", { ...state.filters, ...query }),
});

const alerts = new Alerts({
  form: $("alerts-form"),
  note: $("alerts-note"),
  indicator: $("alerts-on"),
  test: $("alerts-test"),
});

const hot = new HotView({
  body: $("hot-body"),
  empty: $("hot-empty"),
  updated: $("hot-updated"),
  onError: handleError,
});

const panel = new AddressPanel({
  panel: $("panel"),
  body: $("panel-body"),
  title: $("panel-title"),
  close: $("panel-close"),
  onError: handleError,
  onClosed: () => {},
});

const connection = new LiveConnection({
  onItems: (items, replaying) => {
    const fresh = feed.push(items, replaying);
    if (!replaying && fresh.length) alerts.consider(fresh);
  },
  onState: showConnection,
  onGap: (frame) => {
    const now = Date.now();
    notice(
      `The stream no longer holds everything since your last cursor (oldest kept: ${frame.oldest}). ` +
        "Reloaded from history.",
      "warn",
    );
    if (now - lastGapRestart > 30_000) {
      lastGapRestart = now;
      startView();
    }
  },
  onClosed: async () => {
    // A rejected handshake looks like any other close in a browser: ask REST why.
    try {
      await getJson("api/detections", { limit: 1 });
    } catch (error) {
      if (error instanceof AuthError) {
        askToken(error.hadToken);
        return "auth";
      }
    }
    return "retry";
  },
});

feed.onAccepted = (items) => counters.count(items);
feed.onRendered = (latencies) => counters.latency(latencies);
feed.onHeld = (n) => showHeld(n);
feed.onNewAbove = (n) => {
  $("new-above").hidden = n === 0;
  $("new-above-count").textContent = String(n);
};
feed.onChange = () => {
  $("feed-empty").hidden = feed.size > 0 || feed.older.loading;
};
feed.onOlderState = (older) => {
  const button = $("load-older");
  button.hidden = older.done;
  button.disabled = older.loading;
  $("older-status").textContent = older.loading ? "Loading older detections…" : older.done && feed.size ? "End of history." : "";
  $("feed-empty").hidden = feed.size > 0 || older.loading;
};

// ---------------------------------------------------------------------------------------
// Starting a view: history first, then the live socket resuming right after it.

async function startView() {
  viewGeneration += 1;
  const generation = viewGeneration;
  connection.stop();
  feed.reset();
  counters.reset();
  describeFilters();
  let history = [];
  try {
    history = (await feed.loadInitial()) || [];
  } catch (error) {
    if (generation !== viewGeneration) return;
    if (error instanceof AuthError) {
      askToken(error.hadToken);
      showConnection("auth");
      return;
    }
    notice(`History unavailable: ${error.message}`, "warn");
  }
  if (generation !== viewGeneration) return;
  connection.start(state.filters, resumeCursor(history));
  refreshStats();
}

/** A little before the newest row shown (or a minute ago when there is none), so nothing
 * published between the history query and the socket opening slips through; what was
 * already shown is recognised by its cursor and dropped. */
function resumeCursor(history) {
  let newest = null;
  let oldest = null;
  for (const item of history) {
    if (!item.cursor) continue;
    if (cursorAfter(item.cursor, newest)) newest = item.cursor;
    if (!oldest || cursorAfter(oldest, item.cursor)) oldest = item.cursor;
  }
  if (!newest) return `${Date.now() - 60_000}-0`;
  // Not before the oldest row shown: older entries would land on top, out of order.
  const [newestMs] = parseCursor(newest);
  const start = `${Math.max(0, newestMs - RESUME_OVERLAP_MS)}-0`;
  return cursorAfter(start, oldest) ? start : oldest;
}

let statsAt = 0;
let statsSeen = 0;
async function refreshStats() {
  statsAt = Date.now();
  try {
    const stats = await getJson("api/stats");
    counters.stored(stats.detections.total);
  } catch {
    // The counter keeps its last value; the connection status tells what is wrong.
  }
}

// ---------------------------------------------------------------------------------------
// Connection status, token, notices.

const STATE_TEXT = {
  idle: "Stopped",
  connecting: "Connecting…",
  reconnecting: "Offline",
  replaying: "Catching up…",
  live: "Live",
  down: "Offline",
  waiting: "Offline",
  auth: "Token required",
};
let countdown = 0;

function showConnection(name, detail = {}) {
  const box = $("conn");
  const label = $("conn-label");
  const retry = $("conn-retry");
  clearInterval(countdown);
  box.dataset.state = name;
  // The label is a polite live region: it changes with the state, never every second.
  const text = STATE_TEXT[name] || name;
  if (label.textContent !== text) label.textContent = text;
  retry.textContent = name === "reconnecting" || name === "down" ? "· reconnecting" : "";
  if (name === "waiting") {
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000));
      retry.textContent = seconds ? `· retry in ${seconds}s` : "· retrying";
    };
    tick();
    countdown = setInterval(tick, 500);
  }
  box.title = detail.code ? `WebSocket closed (${detail.code}${detail.reason ? `: ${detail.reason}` : ""})` : "";
}

function askToken(hadToken) {
  const dialog = $("auth");
  const error = $("auth-error");
  error.hidden = !hadToken;
  error.textContent = hadToken ? "That token was not accepted. Check it and try again." : "";
  if (hadToken) setToken("");
  if (!dialog.open) dialog.showModal();
  $("auth-token").focus();
}

$("auth-form").addEventListener("submit", (event) => {
  const token = $("auth-token").value.trim();
  if (!token) {
    event.preventDefault();
    return;
  }
  setToken(token);
  $("auth-token").value = "";
  startView();
});
$("auth").addEventListener("cancel", () => {
  notice("A token is required to see detections.", "warn", { label: "Enter token", run: () => askToken(false) });
});

function notice(text, tone = "info", action = null) {
  const box = $("notice");
  box.replaceChildren(text);
  box.dataset.tone = tone;
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn small";
    button.textContent = action.label;
    button.addEventListener("click", action.run);
    box.append(" ", button);
  }
  box.hidden = !text;
}

function describeFilters() {
  const text = describe(state.filters);
  notice(text ? `Filtered: ${text}` : "", "info");
}

function handleError(error) {
  if (error instanceof AuthError) askToken(error.hadToken);
}

let toastTimer = 0;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), 1600);
}

// ---------------------------------------------------------------------------------------
// Pause / resume.

function showHeld(n) {
  heldCount = n;
  const held = $("held");
  held.hidden = !feed.paused;
  held.textContent = `${n} new`;
  document.title = n ? `(${n}) telesniff` : "telesniff";
}

function setPaused(paused) {
  feed.setPaused(paused);
  const button = $("pause");
  button.setAttribute("aria-pressed", String(paused));
  button.querySelector(".pause-label").textContent = paused ? "Resume" : "Pause";
  button.querySelector(".pause-icon").textContent = paused ? "▶" : "❚❚";
  button.title = paused ? "Resume the live feed (p)" : "Pause the live feed (p)";
  showHeld(paused ? heldCount : 0);
}

$("pause").addEventListener("click", () => setPaused(!feed.paused));

// ---------------------------------------------------------------------------------------
// Filters.

function applyFilters(filters) {
  $("filter-error").hidden = true;
  if (sameFilters(filters, state.filters)) return;
  state.filters = filters;
  writeState(state);
  startView();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typingTimer);
  const result = readForm(form);
  if (result.error) {
    const box = $("filter-error");
    box.textContent = result.error;
    box.hidden = false;
    return;
  }
  applyFilters(result.filters);
});

let typingTimer = 0;
form.addEventListener("input", (event) => {
  clearTimeout(typingTimer);
  if (event.target.name === "kind") return; // handled on change
  typingTimer = setTimeout(() => form.requestSubmit(), 700);
});
form.addEventListener("change", (event) => {
  if (event.target.name === "kind") form.requestSubmit();
});
$("filters-clear").addEventListener("click", () => {
  fillForm(form, {});
  form.requestSubmit();
});

function filterBy(field, value) {
  const next = { ...state.filters, [field]: value };
  fillForm(form, next);
  form.requestSubmit();
}

// ---------------------------------------------------------------------------------------
// Row actions (one delegated listener for the feed, the hot view and the panel).

document.addEventListener("click", async (event) => {
  const target = event.target.closest("[data-action]");
  if (!target) return;
  const { action, value } = target.dataset;
  if (action === "copy") {
    const ok = await copyText(value);
    target.classList.toggle("copied", ok);
    setTimeout(() => target.classList.remove("copied"), 1200);
    toast(ok ? `Copied ${shorten(value)}` : "Copy failed: select the text and copy it by hand");
  } else if (action === "details") {
    panel.open(target.dataset.kind, value, target);
  } else if (action === "filter") {
    filterBy(target.dataset.field, value);
  }
});

$("new-above").addEventListener("click", () => feed.scrollToTop());

async function loadOlder() {
  try {
    await feed.loadOlder();
  } catch (error) {
    if (error instanceof AuthError) askToken(error.hadToken);
    else $("older-status").textContent = `Could not load older detections: ${error.message}`;
  }
}
$("load-older").addEventListener("click", loadOlder);
// Scrolling near the end of the list pages in older rows (the sentinel covers a list that
// grows into view without a scroll event).
feed.onNearBottom = loadOlder;
new IntersectionObserver(
  (entries) => {
    if (entries.some((entry) => entry.isIntersecting) && feed.size && !$("view-feed").hidden) loadOlder();
  },
  { root: $("feed-scroll"), rootMargin: "600px 0px" },
).observe($("older-sentinel"));

// ---------------------------------------------------------------------------------------
// Views (tabs).

const tabs = [$("tab-feed"), $("tab-hot")];

function setView(view, focus = false) {
  state.view = view;
  writeState(state);
  const hotActive = view === "hot";
  $("tab-feed").setAttribute("aria-selected", String(!hotActive));
  $("tab-hot").setAttribute("aria-selected", String(hotActive));
  $("tab-feed").tabIndex = hotActive ? -1 : 0;
  $("tab-hot").tabIndex = hotActive ? 0 : -1;
  $("view-feed").hidden = hotActive;
  $("view-hot").hidden = !hotActive;
  if (hotActive) hot.show();
  else hot.hide();
  if (focus) (hotActive ? $("tab-hot") : $("tab-feed")).focus();
}

$("tab-feed").addEventListener("click", () => setView("feed"));
$("tab-hot").addEventListener("click", () => setView("hot"));
for (const tab of tabs) {
  tab.addEventListener("keydown", (event) => {
    if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) {
      event.preventDefault();
      setView(state.view === "hot" ? "feed" : "hot", true);
    }
  });
}

const hotForm = $("hot-form");
hotForm.elements.window.value = state.window;
hotForm.elements.hkind.value = state.hkind;
hotForm.addEventListener("change", () => {
  state.window = hotForm.elements.window.value;
  state.hkind = hotForm.elements.hkind.value;
  writeState(state);
  hot.configure(state);
});
hotForm.addEventListener("submit", (event) => event.preventDefault());
$("hot-refresh").addEventListener("click", () => hot.refresh());
hot.configure(state);

// ---------------------------------------------------------------------------------------
// Theme: automatic (system) → dark → light.

const THEMES = ["auto", "dark", "light"];
const THEME_ICON = { auto: "◐", dark: "☾", light: "☀" };

function currentTheme() {
  return document.documentElement.dataset.theme || "auto";
}

function showTheme(theme) {
  $("theme-icon").textContent = THEME_ICON[theme];
  $("theme-label").textContent = `Theme: ${theme === "auto" ? "automatic" : theme} (change)`;
  $("theme").title = `Theme: ${theme === "auto" ? "follows the system" : theme}`;
}

$("theme").addEventListener("click", () => {
  const next = THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length];
  if (next === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = next;
  try {
    if (next === "auto") localStorage.removeItem("telesniff.theme");
    else localStorage.setItem("telesniff.theme", next);
  } catch {
    // Storage disabled: the choice lasts for this page.
  }
  showTheme(next);
});
showTheme(currentTheme());

// ---------------------------------------------------------------------------------------
// Keyboard: "/" text filter, "p" pause, "h" hot view, "f" feed, Escape closes menus/panel.

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    const menu = $("alerts-menu");
    if (menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
      return;
    }
    if (panel.isOpen) panel.close();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const field = event.target.closest("input, textarea, select, [contenteditable]");
  if (field || $("auth").open) return;
  if (event.key === "/") {
    event.preventDefault();
    form.elements.q.focus();
    form.elements.q.select();
  } else if (event.key === "p") {
    setPaused(!feed.paused);
  } else if (event.key === "h") {
    setView("hot");
  } else if (event.key === "f") {
    setView("feed");
  }
});

// The browser only lets audio start after a gesture: unlock it on the first one.
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, () => alerts.settings.sound && alerts.unlockAudio(), { once: true });
}

// Stored total: soon after new detections arrive, otherwise now and then.
setInterval(() => {
  if (document.hidden || connection.state === "auth") return;
  const since = Date.now() - statsAt;
  if ((counters.total !== statsSeen && since >= STATS_BUSY_MS) || since >= STATS_IDLE_MS) {
    statsSeen = counters.total;
    refreshStats();
  }
}, 500);

// ---------------------------------------------------------------------------------------
// Go.

fillForm(form, state.filters);
writeState(state);
setView(state.view);
startView();

// For tests and debugging in the console.
window.telesniff = { feed, connection, counters, state };
