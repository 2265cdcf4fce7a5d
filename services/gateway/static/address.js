// The address side panel: first seen, distinct chats and senders, and when each called it.

import { getJson } from "./api.js";
import { KIND_NAME, ago, clock, copyButton, dateTime, h, kindBadge, linkList } from "./format.js";

const REFRESH_MS = 10_000;

export class AddressPanel {
  constructor({ panel, body, title, close, onError, onClosed }) {
    this.panel = panel;
    this.body = body;
    this.title = title;
    this.onError = onError;
    this.onClosed = onClosed;
    this.current = null;
    this.timer = 0;
    this.returnFocus = null;
    close.addEventListener("click", () => this.close());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.close();
      }
    });
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  async open(kind, value, opener) {
    this.current = { kind, value };
    this.returnFocus = opener || document.activeElement;
    this.panel.hidden = false;
    this.title.textContent = `${KIND_NAME[kind] || "Address"}`;
    this.body.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
    this.panel.querySelector("#panel-close").focus();
    await this.load();
  }

  close() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.current = null;
    this.panel.hidden = true;
    this.onClosed();
    if (this.returnFocus && document.contains(this.returnFocus)) this.returnFocus.focus();
    this.returnFocus = null;
  }

  async load() {
    clearTimeout(this.timer);
    const wanted = this.current;
    if (!wanted) return;
    try {
      const detail = await getJson(`api/addresses/${encodeURIComponent(wanted.value)}`, {
        kind: wanted.kind,
        limit: 200,
      });
      if (this.current !== wanted) return;
      // A refresh must not yank focus from a control the reader is on.
      if (!this.body.contains(document.activeElement)) this.render(detail);
    } catch (error) {
      if (this.current !== wanted) return;
      if (error.status === 404) {
        this.renderUnknown(wanted);
      } else {
        this.body.replaceChildren(h("p", { class: "error", text: `Could not load: ${error.message}` }));
        this.onError(error);
      }
    }
    if (this.current === wanted) this.timer = setTimeout(() => this.load(), REFRESH_MS);
  }

  header(kind, value) {
    return h(
      "div",
      { class: "panel-addr" },
      h("div", { class: "panel-value" }, kindBadge(kind), h("code", { class: "mono", text: value })),
      h("div", { class: "panel-actions" }, copyButton(value, kind), linkList(kind, value) || ""),
    );
  }

  renderUnknown({ kind, value }) {
    this.body.replaceChildren(
      this.header(kind, value),
      h("p", { class: "muted", text: "Not stored yet (it may still be on its way to the database)." }),
    );
  }

  render(detail) {
    const now = Date.now() / 1000;
    const stats = h(
      "dl",
      { class: "panel-stats" },
      stat("First seen", ago(detail.first_seen, now), dateTime(detail.first_seen)),
      stat("Mentions", String(detail.mentions)),
      stat("Chats", String(detail.chats.length), null, detail.chats.length > 1),
      stat("Senders", String(detail.senders.length), null, detail.senders.length > 1),
    );

    const chats = h(
      "table",
      { class: "grid mini" },
      h("caption", { text: "Chats" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", text: "Chat" }),
          h("th", { scope: "col", text: "Group" }),
          h("th", { scope: "col", text: "First" }),
          h("th", { scope: "col", class: "num", text: "Count" }),
        ),
      ),
      h(
        "tbody",
        {},
        ...detail.chats.map((chat) =>
          h(
            "tr",
            {},
            h("td", { class: "ellipsis", title: `${chat.chat || ""} (${chat.chat_id})`, text: chat.chat || String(chat.chat_id) }),
            h("td", { class: "ellipsis", text: chat.group }),
            h("td", { class: "mono", title: dateTime(chat.first_seen), text: clock(chat.first_seen, false) }),
            h("td", { class: "num", text: String(chat.count) }),
          ),
        ),
      ),
    );

    const senders = h(
      "table",
      { class: "grid mini" },
      h("caption", { text: "Senders" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", text: "Sender" }),
          h("th", { scope: "col", text: "First" }),
          h("th", { scope: "col", class: "num", text: "Count" }),
        ),
      ),
      h(
        "tbody",
        {},
        ...detail.senders.map((sender) =>
          h(
            "tr",
            {},
            h("td", {
              class: "ellipsis",
              text: sender.sender ? `@${sender.sender}` : sender.sender_id != null ? `#${sender.sender_id}` : "–",
            }),
            h("td", { class: "mono", title: dateTime(sender.first_seen), text: clock(sender.first_seen, false) }),
            h("td", { class: "num", text: String(sender.count) }),
          ),
        ),
      ),
    );

    const timeline = h("ol", { class: "timeline", "aria-label": "Mentions, newest first" });
    // The gateway sends the latest mentions oldest first; newest on top reads better here.
    for (const mention of [...detail.timeline].reverse()) {
      const who = mention.sender ? `@${mention.sender}` : mention.sender_id != null ? `#${mention.sender_id}` : "";
      timeline.append(
        h(
          "li",
          {},
          h("time", { class: "mono", datetime: new Date(mention.date * 1000).toISOString(), title: dateTime(mention.date), text: clock(mention.date, false) }),
          h("span", { class: "ellipsis", text: mention.chat || String(mention.chat_id) }),
          h("span", { class: "muted ellipsis", text: who }),
        ),
      );
    }

    this.body.replaceChildren(
      this.header(detail.kind, detail.value),
      stats,
      spark(detail.timeline, detail.first_seen, now),
      chats,
      senders,
      h("h3", { text: "Timeline" }),
      timeline,
    );
  }
}

function stat(label, value, title = null, signal = false) {
  return h(
    "div",
    { class: signal ? "signal" : null },
    h("dt", { text: label }),
    h("dd", { title, text: value }),
  );
}

/** Mentions over time since first seen, as a row of bars (no canvas, no library). */
function spark(timeline, firstSeen, now) {
  const buckets = 30;
  const span = Math.max(60, now - firstSeen);
  const counts = new Array(buckets).fill(0);
  for (const mention of timeline) {
    const index = Math.min(buckets - 1, Math.max(0, Math.floor(((mention.date - firstSeen) / span) * buckets)));
    counts[index] += 1;
  }
  const peak = Math.max(1, ...counts);
  const bars = h("div", {
    class: "spark",
    role: "img",
    "aria-label": `Mentions over the last ${ago(firstSeen, now).replace(" ago", "")}, in ${buckets} buckets`,
  });
  for (const count of counts) {
    const bar = h("span", { title: String(count) });
    bar.style.height = `${Math.round((count / peak) * 100)}%`;
    bars.append(bar);
  }
  return bars;
}
