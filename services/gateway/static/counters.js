// Counters in the top bar: live detections this session, rate, per kind, latency, stored.
//
// The numbers change many times a second under load, so the DOM is refreshed at most once
// a second, and screen readers get a polite summary at most every 15 seconds.

import { KINDS, KIND_LABEL, KIND_NAME, compactNumber, h, latencyText } from "./format.js";

const RATE_WINDOW_S = 5;
const ANNOUNCE_EVERY_MS = 15_000;
const LATENCY_SAMPLES = 512;

export class Counters {
  constructor({ total, rate, latency, kinds, stored, announcer }) {
    this.el = { total, rate, latency, stored, announcer };
    this.total = 0;
    this.byKind = Object.fromEntries(KINDS.map((kind) => [kind, 0]));
    this.ticks = []; // [second, count]
    this.latencies = [];
    this.announced = 0;
    this.announcedTotal = 0;
    this.dirty = true;
    this.kindCells = {};
    for (const kind of KINDS) {
      const value = h("dd", { text: "0" });
      this.kindCells[kind] = value;
      kinds.append(
        h("div", { class: `kind-count k-${kind}`, title: `${KIND_NAME[kind]}s` }, h("dt", { text: KIND_LABEL[kind] }), value),
      );
    }
    setInterval(() => this.paint(), 1000);
  }

  /** Newly accepted live detections. */
  count(items) {
    this.total += items.length;
    const second = Math.floor(Date.now() / 1000);
    const last = this.ticks[this.ticks.length - 1];
    if (last && last[0] === second) last[1] += items.length;
    else this.ticks.push([second, items.length]);
    for (const item of items) {
      const kinds = new Set((item.matches || []).map((match) => match.kind));
      for (const kind of kinds) if (kind in this.byKind) this.byKind[kind] += 1;
    }
    this.dirty = true;
  }

  latency(values) {
    // Only live rows: a replay after a reconnect would skew the figure.
    for (const value of values) {
      if (value < 60) this.latencies.push(value);
    }
    if (this.latencies.length > LATENCY_SAMPLES) {
      this.latencies.splice(0, this.latencies.length - LATENCY_SAMPLES);
    }
    this.dirty = true;
  }

  stored(n) {
    this.el.stored.textContent = compactNumber(n);
    this.el.stored.title = `${n} detections stored`;
  }

  reset() {
    this.total = 0;
    for (const kind of KINDS) this.byKind[kind] = 0;
    this.ticks = [];
    this.latencies = [];
    this.dirty = true;
    this.paint();
  }

  rate() {
    const now = Math.floor(Date.now() / 1000);
    while (this.ticks.length && this.ticks[0][0] <= now - RATE_WINDOW_S) this.ticks.shift();
    const sum = this.ticks.reduce((acc, [second, n]) => acc + (second < now ? n : 0), 0);
    return sum / (RATE_WINDOW_S - 1);
  }

  paint() {
    const rate = this.rate();
    this.el.rate.textContent = rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
    if (!this.dirty) return;
    this.dirty = false;
    this.el.total.textContent = compactNumber(this.total);
    this.el.total.title = `${this.total} live detections since the page opened`;
    for (const kind of KINDS) this.kindCells[kind].textContent = compactNumber(this.byKind[kind]);
    if (this.latencies.length) {
      const sorted = [...this.latencies].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(sorted.length * 0.5)];
      const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
      this.el.latency.textContent = latencyText(p50);
      this.el.latency.title = `listener → screen, last ${sorted.length}: p50 ${latencyText(p50)}, p95 ${latencyText(p95)}`;
    }
    const now = Date.now();
    if (now - this.announced >= ANNOUNCE_EVERY_MS && this.total !== this.announcedTotal) {
      const fresh = this.total - this.announcedTotal;
      this.announced = now;
      this.announcedTotal = this.total;
      this.el.announcer.textContent = `${fresh} new detection${fresh === 1 ? "" : "s"}, ${this.total} in total.`;
    }
  }
}
