// Optional sound (a WebAudio beep, no audio files) and desktop notifications for live
// detections of chosen kinds and groups. Settings live in localStorage.

import { KIND_LABEL, shorten } from "./format.js";

const KEY = "telesniff.alerts";
const BEEP_EVERY_MS = 250;
const NOTIFY_EVERY_MS = 2000;

const DEFAULTS = { sound: false, desktop: false, kinds: ["solana", "evm"], groups: "" };

export class Alerts {
  constructor({ form, note, indicator, test }) {
    this.form = form;
    this.note = note;
    this.indicator = indicator;
    this.settings = load();
    this.audio = null;
    this.lastBeep = 0;
    this.lastNotice = 0;
    this.pending = [];
    this.noticeTimer = 0;
    this.fill();
    form.addEventListener("change", (event) => this.changed(event));
    form.addEventListener("submit", (event) => event.preventDefault());
    test.addEventListener("click", () => {
      this.unlockAudio();
      this.beep();
      this.notify([{ group: "test", chat: "telesniff", sender: null, matches: [{ kind: "solana", value: "So11111111111111111111111111111111111111112" }] }], true);
    });
  }

  fill() {
    const s = this.settings;
    this.form.elements.sound.checked = s.sound;
    this.form.elements.desktop.checked = s.desktop;
    for (const box of this.form.querySelectorAll('input[name="kind"]')) box.checked = s.kinds.includes(box.value);
    this.form.elements.groups.value = s.groups;
    this.indicator.hidden = !(s.sound || s.desktop);
  }

  async changed(event) {
    const form = this.form;
    const next = {
      sound: form.elements.sound.checked,
      desktop: form.elements.desktop.checked,
      kinds: [...form.querySelectorAll('input[name="kind"]:checked')].map((box) => box.value),
      groups: form.elements.groups.value.trim(),
    };
    if (next.sound) this.unlockAudio();
    if (next.desktop && event.target === form.elements.desktop) {
      if (!("Notification" in window)) {
        this.note.textContent = "This browser has no desktop notifications.";
        next.desktop = false;
      } else if (Notification.permission !== "granted") {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") {
          this.note.textContent = "Notifications are blocked for this site; allow them in the browser's site settings.";
          next.desktop = false;
        }
      }
    }
    if (!next.desktop) form.elements.desktop.checked = false;
    if (next.desktop && event.target === form.elements.desktop) this.note.textContent = "Desktop notifications on.";
    this.settings = next;
    this.indicator.hidden = !(next.sound || next.desktop);
    save(next);
  }

  /** AudioContext needs a user gesture; create it when the user turns sound on. */
  unlockAudio() {
    if (!this.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      this.audio = new Context();
    }
    if (this.audio.state === "suspended") this.audio.resume();
  }

  wants(item) {
    const s = this.settings;
    if (!(s.sound || s.desktop)) return false;
    if (s.groups) {
      const groups = s.groups.split(",").map((g) => g.trim()).filter(Boolean);
      if (groups.length && !groups.includes(item.group)) return false;
    }
    return (item.matches || []).some((match) => s.kinds.includes(match.kind));
  }

  /** Live detections (never history or a replay after reconnect). */
  consider(items) {
    const chosen = items.filter((item) => this.wants(item));
    if (!chosen.length) return;
    if (this.settings.sound) this.beep();
    if (this.settings.desktop) this.notify(chosen, false);
  }

  beep() {
    const now = performance.now();
    if (!this.audio || now - this.lastBeep < BEEP_EVERY_MS) return;
    this.lastBeep = now;
    const ctx = this.audio;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = 880;
    const t = ctx.currentTime;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.12);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(t);
    oscillator.stop(t + 0.13);
  }

  /** One notification per burst (at most every 2 s), summarising what came in. */
  notify(items, immediate) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    this.pending.push(...items);
    const wait = immediate ? 0 : Math.max(0, this.lastNotice + NOTIFY_EVERY_MS - Date.now());
    if (this.noticeTimer) return;
    this.noticeTimer = setTimeout(() => this.flushNotice(), wait);
  }

  flushNotice() {
    this.noticeTimer = 0;
    const items = this.pending;
    this.pending = [];
    if (!items.length) return;
    this.lastNotice = Date.now();
    const first = items[items.length - 1];
    const match = (first.matches || []).find((m) => this.settings.kinds.includes(m.kind)) || first.matches[0];
    const where = [first.chat || first.group, first.sender ? `@${first.sender}` : ""].filter(Boolean).join(" · ");
    const title =
      items.length === 1
        ? `${KIND_LABEL[match.kind] || match.kind} ${shorten(match.value)}`
        : `${items.length} new detections`;
    try {
      const notice = new Notification(title, {
        body: items.length === 1 ? where : `latest: ${KIND_LABEL[match.kind] || match.kind} ${shorten(match.value)} in ${where}`,
        tag: "telesniff",
        silent: true,
      });
      notice.onclick = () => {
        window.focus();
        notice.close();
      };
    } catch {
      // Some platforms only allow notifications from a service worker: skip quietly.
    }
  }
}

function load() {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) || "null");
    if (raw && typeof raw === "object") {
      return {
        sound: Boolean(raw.sound),
        desktop: Boolean(raw.desktop) && "Notification" in window && Notification.permission === "granted",
        kinds: Array.isArray(raw.kinds) ? raw.kinds.map(String) : DEFAULTS.kinds,
        groups: typeof raw.groups === "string" ? raw.groups : "",
      };
    }
  } catch {
    // Ignore broken or unavailable storage.
  }
  return { ...DEFAULTS };
}

function save(settings) {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Storage disabled: settings last for this page.
  }
}
