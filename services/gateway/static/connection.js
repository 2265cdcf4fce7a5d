// The WebSocket to the gateway: connect, resume from the last cursor, reconnect with backoff.
//
// Every detection carries its stream id (`cursor`). The connection remembers the highest
// one it has seen; a reconnect asks the gateway to replay everything after it before going
// live again, so a dropped socket or a restarted gateway loses nothing.

import { wsProtocols, wsUrl } from "./api.js";

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

/** "1733333333333-4" → [1733333333333, 4], comparable. */
export function parseCursor(cursor) {
  const [ms, seq = "0"] = String(cursor).split("-");
  return [Number(ms), Number(seq)];
}

export function cursorAfter(a, b) {
  if (!b) return true;
  if (!a) return false;
  const [am, as] = parseCursor(a);
  const [bm, bs] = parseCursor(b);
  return am > bm || (am === bm && as > bs);
}

export class LiveConnection {
  /**
   * @param {object} handlers
   * @param {(items: object[], replaying: boolean) => void} handlers.onItems
   * @param {(state: string, detail?: object) => void} handlers.onState
   * @param {(frame: object) => void} handlers.onGap
   * @param {(info: {code: number, opened: boolean}) => Promise<"auth"|"retry">} handlers.onClosed
   */
  constructor({ onItems, onState, onGap, onClosed }) {
    this.onItems = onItems;
    this.onState = onState;
    this.onGap = onGap;
    this.onClosed = onClosed;
    this.params = {};
    this.cursor = null;
    this.socket = null;
    this.attempt = 0;
    this.timer = 0;
    this.wanted = false;
    this.replaying = false;
    this.state = "idle";
    this.retryAt = 0;
    window.addEventListener("online", () => this.wanted && this.reconnectNow());
  }

  /** Start (or restart) with these filters, resuming after `cursor` (null: from now). */
  start(params, cursor) {
    this.params = { ...params };
    this.cursor = cursor || null;
    this.wanted = true;
    this.attempt = 0;
    this.reconnectNow();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.closeSocket();
    this.setState("idle");
  }

  /** Note a cursor seen elsewhere (REST history) so a resume starts after it. */
  advance(cursor) {
    if (cursor && cursorAfter(cursor, this.cursor)) this.cursor = cursor;
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.closeSocket();
    this.open();
  }

  closeSocket() {
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, "client restart");
      } catch {
        // Already closed.
      }
    }
  }

  setState(state, detail = {}) {
    this.state = state;
    this.onState(state, detail);
  }

  open() {
    const query = { ...this.params };
    if (this.cursor) query.cursor = this.cursor;
    let socket;
    try {
      socket = new WebSocket(wsUrl(query), wsProtocols());
    } catch (error) {
      // A malformed token cannot be a subprotocol: treat it as an auth problem.
      this.setState("auth", { reason: String(error) });
      this.wanted = false;
      return;
    }
    this.socket = socket;
    this.replaying = Boolean(this.cursor);
    let opened = false;
    this.setState(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt });

    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handle(frame);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.closed(event.code, opened, event.reason);
    };
  }

  handle(frame) {
    switch (frame.type) {
      case "hello":
        // Fresh connection: the gateway says where "now" is; resume from there next time.
        if (!this.cursor && frame.cursor) this.cursor = frame.cursor;
        this.attempt = 0;
        this.setState(this.replaying ? "replaying" : "live");
        break;
      case "detections": {
        const items = frame.items || [];
        for (const item of items) this.advance(item.cursor);
        if (items.length) this.onItems(items, this.replaying);
        break;
      }
      case "caught_up":
        // Everything up to here was considered (filtered-out entries included).
        this.advance(frame.cursor);
        this.replaying = false;
        this.attempt = 0;
        this.setState("live");
        break;
      case "gap":
        this.onGap(frame);
        break;
      default:
        break;
    }
  }

  async closed(code, opened, reason) {
    if (!this.wanted) return;
    this.setState("down", { code, reason });
    const verdict = await this.onClosed({ code, opened, reason });
    if (!this.wanted) return;
    if (verdict === "auth") {
      this.wanted = false;
      this.setState("auth", { code, reason });
      return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState("waiting", { delay, code, reason, retryAt: this.retryAt });
    this.timer = setTimeout(() => {
      this.timer = 0;
      if (this.wanted) this.open();
    }, delay);
  }
}
