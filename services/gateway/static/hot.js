// The hot view: addresses ranked by mentions in a time window (5 min … 24 h).
//
// Several chats and several callers naming one address within minutes is the signal, so
// the chats and senders columns stand out when they pass 1.

import { getJson } from "./api.js";
import { WINDOWS } from "./filters.js";
import { KIND_NAME, ago, clock, copyButton, dateTime, h, kindBadge, linkList } from "./format.js";

const REFRESH_MS = 5000;

export class HotView {
  constructor({ body, empty, updated, onError }) {
    this.body = body;
    this.empty = empty;
    this.updated = updated;
    this.onError = onError;
    this.window = "15m";
    this.kind = "";
    this.timer = 0;
    this.active = false;
    this.request = null;
  }

  configure({ window: windowName, hkind }) {
    this.window = windowName;
    this.kind = hkind;
    if (this.active) this.refresh();
  }

  show() {
    this.active = true;
    this.refresh();
  }

  hide() {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = 0;
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.request) this.request.abort();
    const request = new AbortController();
    this.request = request;
    try {
      const rows = await getJson(
        "api/addresses/hot",
        { window: WINDOWS[this.window], kind: this.kind, limit: 100 },
        { signal: request.signal },
      );
      if (request.signal.aborted) return;
      this.render(rows);
      this.updated.textContent = `Updated ${clock(Date.now() / 1000, false)}`;
    } catch (error) {
      if (error.name === "AbortError") return;
      this.updated.textContent = `Not updated: ${error.message}`;
      this.onError(error);
    } finally {
      if (this.request === request) this.request = null;
      if (this.active && !request.signal.aborted) {
        this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
      }
    }
  }

  render(rows) {
    const now = Date.now() / 1000;
    const fragment = document.createDocumentFragment();
    rows.forEach((entry, index) => {
      const address = h(
        "td",
        { class: "c-addr" },
        h("button", {
          type: "button",
          class: "addr full",
          "data-action": "details",
          "data-kind": entry.kind,
          "data-value": entry.value,
          title: "First seen, chats and senders",
          "aria-label": `Details for ${KIND_NAME[entry.kind] || entry.kind} ${entry.value}`,
          text: entry.value,
        }),
        copyButton(entry.value, entry.kind),
      );
      const row = h(
        "tr",
        { "data-value": entry.value },
        h("td", { class: "num rank", text: String(index + 1) }),
        h("td", {}, kindBadge(entry.kind)),
        address,
        h("td", { class: "num strong", text: String(entry.mentions) }),
        h("td", { class: `num${entry.chats > 1 ? " signal" : ""}`, text: String(entry.chats) }),
        h("td", { class: `num${entry.senders > 1 ? " signal" : ""}`, text: String(entry.senders) }),
        h("td", { class: "when", title: dateTime(entry.first_seen), text: ago(entry.first_seen, now) }),
        h("td", { class: "when", title: dateTime(entry.last_seen), text: ago(entry.last_seen, now) }),
        h("td", {}, linkList(entry.kind, entry.value) || ""),
      );
      fragment.append(row);
    });
    this.body.replaceChildren(fragment);
    this.empty.hidden = rows.length > 0;
  }
}
