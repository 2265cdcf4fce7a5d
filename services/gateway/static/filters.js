// Filters and view state, kept in the URL query so a view survives a reload and can be shared.
//
// group, chat, sender, kind, q go to the gateway as they are (REST and WebSocket read the
// same parameters); view and window/hkind belong to the page.

import { KINDS } from "./format.js";

export const FILTER_FIELDS = ["group", "chat", "sender", "kind", "q"];
export const WINDOWS = { "5m": 300, "15m": 900, "1h": 3600, "24h": 86400 };

/** The state in the current URL. */
export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const name of FILTER_FIELDS) {
    const value = (params.get(name) || "").trim();
    if (value) filters[name] = value;
  }
  if (filters.kind) {
    const kinds = filters.kind.split(",").map((k) => k.trim()).filter((k) => KINDS.includes(k));
    if (kinds.length) filters.kind = kinds.join(",");
    else delete filters.kind;
  }
  const view = params.get("view") === "hot" ? "hot" : "feed";
  const window_ = params.get("window") in WINDOWS ? params.get("window") : "15m";
  const hkind = ["solana", "evm"].includes(params.get("hkind")) ? params.get("hkind") : "";
  return { filters, view, window: window_, hkind };
}

/** Replace the URL (no history entry per keystroke) with this state. */
export function writeState(state) {
  const params = new URLSearchParams();
  for (const name of FILTER_FIELDS) {
    if (state.filters[name]) params.set(name, state.filters[name]);
  }
  if (state.view === "hot") params.set("view", "hot");
  if (state.window && state.window !== "15m") params.set("window", state.window);
  if (state.hkind) params.set("hkind", state.hkind);
  const query = params.toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`;
  history.replaceState(null, "", url);
}

/** Put the filters into the form. */
export function fillForm(form, filters) {
  for (const name of ["group", "chat", "sender", "q"]) {
    form.elements[name].value = filters[name] || "";
  }
  const kinds = new Set((filters.kind || "").split(",").filter(Boolean));
  for (const box of form.querySelectorAll('input[name="kind"]')) {
    box.checked = kinds.has(box.value);
  }
}

/** Read and lightly validate the form; returns {filters} or {error}. */
export function readForm(form) {
  const filters = {};
  for (const name of ["group", "chat", "sender", "q"]) {
    const value = form.elements[name].value.trim();
    if (value) filters[name] = value;
  }
  const kinds = [...form.querySelectorAll('input[name="kind"]:checked')].map((box) => box.value);
  if (kinds.length && kinds.length < KINDS.length) filters.kind = kinds.join(",");
  if (filters.chat && !/^-?\d+$/.test(filters.chat)) {
    return { error: "Chat: use the numeric chat id (click a chat name in the feed to filter by it)." };
  }
  if (filters.q && filters.q.length > 200) {
    return { error: "Text: at most 200 characters." };
  }
  return { filters };
}

export function sameFilters(a, b) {
  return FILTER_FIELDS.every((name) => (a[name] || "") === (b[name] || ""));
}

/** A one-line description for the notice area: "group alpha · kind solana". */
export function describe(filters) {
  return FILTER_FIELDS.filter((name) => filters[name])
    .map((name) => `${name === "q" ? "text" : name} ${filters[name]}`)
    .join(" · ");
}
