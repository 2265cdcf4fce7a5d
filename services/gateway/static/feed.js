// The live table: newest first, batched DOM updates, a capped list, older rows on demand.
//
// Detections arrive in bursts (hundreds a second). They are queued and rendered once per
// animation frame as one DocumentFragment prepended to the table body, so the browser
// lays out once per frame, not once per row. While the reader is at the top the table
// keeps at most `cap` rows (older ones are dropped from memory and come back from REST
// when scrolled to); while they read further down it grows up to `hardCap`, and the
// browser's scroll anchoring keeps what they read still.

import {
  KIND_NAME,
  clock,
  copyButton,
  dateTime,
  h,
  highlighted,
  isAddress,
  isoTime,
  kindBadge,
  latencyClass,
  latencyText,
  linkList,
  shorten,
  uniqueMatches,
} from "./format.js";

const TOP_SLACK_PX = 48;
const SEEN_CURSORS = 50_000;
const FRESH_MS = 1200;
const NEAR_BOTTOM_PX = 600;

export const keyOf = (item) => `${item.chat_id}:${item.message_id}`;

/** Distinct chats and senders per address, over what this page has seen. */
export class Spread {
  constructor(limit = 20_000) {
    this.limit = limit;
    this.byValue = new Map();
  }

  observe(item) {
    for (const match of item.matches || []) {
      if (!isAddress(match.kind)) continue;
      let entry = this.byValue.get(match.value);
      if (!entry) {
        if (this.byValue.size >= this.limit) {
          this.byValue.delete(this.byValue.keys().next().value);
        }
        entry = { chats: new Set(), senders: new Set() };
        this.byValue.set(match.value, entry);
      }
      entry.chats.add(item.chat_id);
      entry.senders.add(item.sender_id ?? item.sender ?? "?");
    }
  }

  of(value) {
    const entry = this.byValue.get(value);
    return entry ? { chats: entry.chats.size, senders: entry.senders.size } : null;
  }

  clear() {
    this.byValue.clear();
  }
}

/** One table row for a detection; `latency` is null for rows loaded from history. */
export function renderRow(item, latency, spread) {
  const row = h("tr", { role: "row", "data-key": keyOf(item), "data-cursor": item.cursor });
  if (item.edit || item.edited) row.classList.add("edited");

  const time = h(
    "td",
    { class: "c-time", role: "cell" },
    h("time", {
      datetime: isoTime(item.date),
      title: `posted ${dateTime(item.date)}\nreceived by the listener ${clock(item.received_at)}`,
      text: clock(item.date),
    }),
  );
  if (latency === null) {
    time.append(h("span", { class: "lat lat-hist", title: "loaded from history", text: "hist" }));
  } else {
    time.append(
      h("span", {
        class: `lat ${latencyClass(latency)}`,
        title: "listener → screen latency",
        text: latencyText(latency),
      }),
    );
  }
  if (item.edit || item.edited) time.append(h("span", { class: "edit-tag", text: "edit" }));

  const group = h(
    "td",
    { class: "c-group", role: "cell" },
    h("button", {
      type: "button",
      class: "cell-filter",
      tabindex: "-1",
      "data-action": "filter",
      "data-field": "group",
      "data-value": item.group,
      title: `Show only group ${item.group}`,
      text: item.group,
    }),
  );
  const chatName = item.chat || String(item.chat_id);
  const chat = h(
    "td",
    { class: "c-chat", role: "cell" },
    h("button", {
      type: "button",
      class: "cell-filter",
      tabindex: "-1",
      "data-action": "filter",
      "data-field": "chat",
      "data-value": String(item.chat_id),
      title: `${chatName} (${item.chat_id}): show only this chat`,
      text: chatName,
    }),
  );
  const senderName = item.sender ? `@${item.sender}` : item.sender_id != null ? `#${item.sender_id}` : "–";
  const sender = h("td", { class: "c-sender", role: "cell" });
  if (item.sender || item.sender_id != null) {
    sender.append(
      h("button", {
        type: "button",
        class: "cell-filter",
        tabindex: "-1",
        "data-action": "filter",
        "data-field": "sender",
        "data-value": item.sender ? item.sender : String(item.sender_id),
        title: `${senderName}: show only this sender`,
        text: senderName,
      }),
    );
  } else {
    sender.append(h("span", { class: "muted", text: senderName }));
  }

  const matches = uniqueMatches(item.matches);
  const text = h(
    "td",
    { class: "c-text", role: "cell" },
    h("div", { class: "msg", title: item.text.length > 140 ? item.text : null }, highlighted(item.text, matches)),
  );

  const list = h("ul", { class: "matches" });
  for (const match of matches) {
    list.append(matchItem(match, spread));
  }
  const cells = h("td", { class: "c-matches", role: "cell" }, list);

  row.append(time, group, chat, sender, text, cells);
  return row;
}

function matchItem(match, spread) {
  const { kind, value } = match;
  const item = h("li", { class: "match" }, kindBadge(kind));
  if (isAddress(kind)) {
    item.append(
      h("button", {
        type: "button",
        class: "addr",
        "data-action": "details",
        "data-kind": kind,
        "data-value": value,
        title: `${value}\nFirst seen, chats and senders`,
        "aria-label": `Details for ${KIND_NAME[kind]} ${shorten(value)}`,
        text: shorten(value),
      }),
    );
  } else {
    item.append(h("span", { class: "val", title: value, text: kind === "url" ? shorten(value, 22, 8) : value }));
  }
  item.append(copyButton(value, kind));
  const links = linkList(kind, value);
  if (links) item.append(links);
  const seen = isAddress(kind) && spread ? spread.of(value) : null;
  if (seen && seen.chats > 1) {
    item.append(
      h("span", {
        class: `spread${seen.chats >= 3 ? " hot" : ""}`,
        title: `${seen.chats} chats and ${seen.senders} senders mentioned it since this page opened`,
        text: `${seen.chats} chats`,
      }),
    );
  }
  return item;
}

export class Feed {
  /**
   * @param {object} options
   * @param {HTMLTableSectionElement} options.body
   * @param {HTMLElement} options.scroller
   * @param {(query: {cursor?: string, until?: number, limit: number}) => Promise<{items: object[], next: string|null}>} options.fetchPage
   */
  constructor({ body, scroller, fetchPage, cap = 500, hardCap = 5000, pageSize = 100 }) {
    this.body = body;
    this.scroller = scroller;
    this.fetchPage = fetchPage;
    this.cap = cap;
    this.hardCap = hardCap;
    this.pageSize = pageSize;
    this.spread = new Spread();
    this.rows = new Map(); // key -> {item, row}
    this.seen = new Set(); // cursors already accepted (at-least-once delivery repeats some)
    this.queue = []; // accepted live items waiting for the next frame, oldest first
    this.held = []; // accepted while paused, oldest first (at most `cap`)
    this.heldTotal = 0;
    this.heldOverflow = false;
    this.paused = false;
    this.frame = 0;
    this.newAbove = 0;
    this.older = { cursor: null, until: null, done: false, loading: false };
    this.generation = 0;
    // Zebra stripes by sequence, not :nth-child: a prepend would otherwise flip the parity
    // of every row below and restyle the whole table on each frame.
    this.topSeq = 0;
    this.bottomSeq = 0;
    this.freshRows = []; // [expires, row], oldest first; swept on a timer (no per-row animation)
    this.sweeper = 0;
    // Callbacks the app sets.
    this.onAccepted = () => {};
    this.onRendered = () => {};
    this.onHeld = () => {};
    this.onNewAbove = () => {};
    this.onChange = () => {};
    this.onOlderState = () => {};
    this.onNearBottom = () => {};
    scroller.addEventListener("scroll", () => this.scrolled(), { passive: true });
  }

  get size() {
    return this.rows.size;
  }

  atTop() {
    return this.scroller.scrollTop <= TOP_SLACK_PX;
  }

  /** Forget everything (new filters). */
  reset() {
    this.generation += 1;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.body.replaceChildren();
    this.rows.clear();
    this.seen.clear();
    this.spread.clear();
    this.queue = [];
    this.held = [];
    this.heldTotal = 0;
    this.heldOverflow = false;
    this.newAbove = 0;
    this.topSeq = 0;
    this.bottomSeq = 0;
    this.freshRows = [];
    clearTimeout(this.sweeper);
    this.sweeper = 0;
    this.older = { cursor: null, until: null, done: false, loading: false };
    this.onHeld(0);
    this.onNewAbove(0);
    this.onChange();
    this.onOlderState(this.older);
  }

  remember(cursor) {
    this.seen.add(cursor);
    if (this.seen.size > SEEN_CURSORS) this.seen.delete(this.seen.values().next().value);
  }

  /** Live detections from the WebSocket, in stream order. Returns the newly accepted ones. */
  push(items, replayed = false) {
    const fresh = [];
    for (const item of items) {
      if (this.seen.has(item.cursor)) continue;
      this.remember(item.cursor);
      if (replayed) item.replayed = true;
      fresh.push(item);
    }
    if (!fresh.length) return fresh;
    for (const item of fresh) this.spread.observe(item);
    if (this.paused) {
      for (const item of fresh) item.held = true;
      this.held.push(...fresh);
      this.heldTotal += fresh.length;
      if (this.held.length > this.cap) {
        this.held.splice(0, this.held.length - this.cap);
        this.heldOverflow = true;
      }
      this.onHeld(this.heldTotal);
    } else {
      this.queue.push(...fresh);
      this.schedule();
    }
    this.onAccepted(fresh);
    return fresh;
  }

  setPaused(paused) {
    if (paused === this.paused) return;
    this.paused = paused;
    if (!paused) {
      if (this.heldOverflow) {
        // More arrived than the list keeps: show the newest, the rest is in history.
        this.clearRows();
      }
      this.queue.push(...this.held);
      this.held = [];
      this.heldTotal = 0;
      this.heldOverflow = false;
      this.onHeld(0);
      this.schedule();
    }
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** Render everything queued in one DOM insertion. */
  flush() {
    this.frame = 0;
    const batch = this.queue;
    this.queue = [];
    if (!batch.length) return;
    let start = 0;
    if (batch.length > this.cap) {
      // A burst bigger than the list: only the newest `cap` can be shown; older rows
      // would sit behind a hole, so they go too and paging fills in from history.
      start = batch.length - this.cap;
      this.clearRows();
    }
    const now = Date.now() / 1000;
    const fragment = document.createDocumentFragment();
    const inBatch = new Set();
    const latencies = [];
    let rendered = 0;
    for (let index = batch.length - 1; index >= start; index -= 1) {
      const item = batch[index];
      const key = keyOf(item);
      if (inBatch.has(key)) continue;
      inBatch.add(key);
      const existing = this.rows.get(key);
      if (existing) {
        if (!supersedes(item, existing.item)) continue;
        existing.row.remove();
        this.rows.delete(key);
      }
      const latency = now - item.received_at;
      // Replayed and held rows are late by design; they would distort the live figure.
      if (!item.replayed && !item.held) latencies.push(latency);
      const row = renderRow(item, latency, this.spread);
      this.rows.set(key, { item, row });
      fragment.append(row); // walking newest → oldest: display order
      rendered += 1;
    }
    if (!rendered) return;
    // Stripe upwards from the current top row: the batch's oldest row sits right above it.
    const expires = performance.now() + FRESH_MS;
    for (let row = fragment.lastElementChild; row; row = row.previousElementSibling) {
      this.topSeq -= 1;
      if (this.topSeq & 1) row.classList.add("z");
      row.classList.add("fresh");
      this.freshRows.push([expires, row]);
    }
    this.sweep();
    const reading = !this.atTop();
    this.body.prepend(fragment);
    if (reading) {
      this.newAbove += rendered;
      this.onNewAbove(this.newAbove);
    }
    this.trim(reading ? this.hardCap : this.cap);
    this.onRendered(latencies);
    this.onChange();
  }

  /** Take the "fresh" tint off rows older than FRESH_MS (one class change per row). */
  sweep() {
    const now = performance.now();
    let index = 0;
    while (index < this.freshRows.length && this.freshRows[index][0] <= now) {
      this.freshRows[index][1].classList.remove("fresh");
      index += 1;
    }
    if (index) this.freshRows.splice(0, index);
    if (this.freshRows.length && !this.sweeper) {
      this.sweeper = setTimeout(() => {
        this.sweeper = 0;
        this.sweep();
      }, Math.max(50, this.freshRows[0][0] - now));
    }
  }

  /** Drop the oldest rows beyond `limit`; paging older then starts below the new bottom. */
  trim(limit) {
    let removed = 0;
    while (this.rows.size > limit) {
      const last = this.body.lastElementChild;
      if (!last) break;
      this.rows.delete(last.dataset.key);
      last.remove();
      removed += 1;
    }
    if (removed) this.restartPagingBelowBottom();
  }

  clearRows() {
    this.body.replaceChildren();
    this.rows.clear();
    this.freshRows = [];
    this.topSeq = 0;
    this.bottomSeq = 0;
    this.restartPagingBelowBottom();
  }

  restartPagingBelowBottom() {
    const last = this.body.lastElementChild;
    const oldest = last ? this.rows.get(last.dataset.key)?.item : null;
    // Dates can tie: ask slightly past the oldest and let de-duplication drop repeats.
    this.older = {
      cursor: null,
      until: oldest ? oldest.date + 0.001 : Date.now() / 1000 + 1,
      done: false,
      loading: false,
    };
    this.onOlderState(this.older);
  }

  nearBottom() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scrolled() {
    if (this.nearBottom() && this.rows.size && !this.older.done && !this.older.loading) {
      this.onNearBottom();
    }
    if (this.atTop()) {
      if (this.newAbove) {
        this.newAbove = 0;
        this.onNewAbove(0);
      }
      if (this.rows.size > this.cap && !this.trimPending) {
        this.trimPending = true;
        requestAnimationFrame(() => {
          this.trimPending = false;
          if (this.atTop()) {
            this.trim(this.cap);
            this.onChange();
          }
        });
      }
    }
  }

  scrollToTop() {
    this.scroller.scrollTop = 0;
    this.scrolled();
  }

  /** Rows from REST (newest first), added below what is shown. */
  appendHistory(items) {
    const fragment = document.createDocumentFragment();
    let added = 0;
    for (const item of items) {
      const key = keyOf(item);
      if (this.rows.has(key)) continue;
      if (item.cursor) this.remember(item.cursor);
      this.spread.observe(item);
      const row = renderRow(item, null, this.spread);
      if (this.bottomSeq & 1) row.classList.add("z");
      this.bottomSeq += 1;
      this.rows.set(key, { item, row });
      fragment.append(row);
      added += 1;
    }
    this.body.append(fragment);
    this.onChange();
    return added;
  }

  /** The first page of history for the current filters. */
  async loadInitial() {
    const generation = this.generation;
    this.older.loading = true;
    this.onOlderState(this.older);
    try {
      const page = await this.fetchPage({ limit: this.pageSize });
      if (generation !== this.generation) return null;
      this.appendHistory(page.items);
      this.older = { cursor: page.next, until: null, done: !page.next, loading: false };
      this.onOlderState(this.older);
      return page.items;
    } catch (error) {
      if (generation === this.generation) {
        this.older.loading = false;
        this.onOlderState(this.older);
      }
      throw error;
    }
  }

  /** The next older page (scrolled to the bottom or "Load older" pressed). */
  async loadOlder() {
    const state = this.older;
    if (state.loading || state.done) return;
    if (this.rows.size >= this.hardCap) return;
    const generation = this.generation;
    state.loading = true;
    this.onOlderState(state);
    try {
      const query = { limit: this.pageSize };
      if (state.cursor) query.cursor = state.cursor;
      else if (state.until != null) query.until = state.until;
      const page = await this.fetchPage(query);
      if (generation !== this.generation || state !== this.older) return;
      this.appendHistory(page.items);
      this.older = { cursor: page.next, until: null, done: !page.next, loading: false };
    } catch (error) {
      if (generation === this.generation && state === this.older) state.loading = false;
      throw error;
    } finally {
      if (generation === this.generation) this.onOlderState(this.older);
    }
  }

  /** The detection behind a row (for the click handlers). */
  itemFor(row) {
    return this.rows.get(row?.dataset.key)?.item ?? null;
  }
}

/** Whether a later delivery of the same message should replace the row shown. */
function supersedes(incoming, shown) {
  if (incoming.received_at < shown.received_at) return false;
  if (incoming.edit) return true;
  return incoming.text !== shown.text;
}
