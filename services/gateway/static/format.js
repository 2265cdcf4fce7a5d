// Formatting and safe DOM building shared by the views.
//
// Message text, chat titles and sender names come from Telegram users: untrusted. Nothing
// here ever assigns them to innerHTML; every string becomes a text node or an attribute
// value set through the DOM, so markup in a message is shown, never interpreted.

export const KINDS = ["solana", "evm", "url", "keyword", "regex"];
export const KIND_LABEL = { solana: "SOL", evm: "EVM", url: "URL", keyword: "KEY", regex: "RE" };
export const KIND_NAME = {
  solana: "Solana address",
  evm: "EVM address",
  url: "link",
  keyword: "keyword",
  regex: "pattern",
};

/** Create an element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("data-")) element.setAttribute(name, String(value));
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** 14:03:27.481 (local time) from epoch seconds. */
export function clock(seconds, withMillis = true) {
  const d = new Date(seconds * 1000);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

export function isoTime(seconds) {
  return new Date(seconds * 1000).toISOString();
}

/** 2025-12-04 14:03:27 (local) */
export function dateTime(seconds) {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(seconds, false)}`;
}

/** "42 s ago", "3 min ago", "5 h ago", "2 d ago". */
export function ago(seconds, now = Date.now() / 1000) {
  const delta = Math.max(0, now - seconds);
  if (delta < 60) return `${Math.floor(delta)} s ago`;
  if (delta < 3600) return `${Math.floor(delta / 60)} min ago`;
  if (delta < 86400) return `${Math.floor(delta / 3600)} h ago`;
  return `${Math.floor(delta / 86400)} d ago`;
}

/** Listener → screen latency, compactly: "38 ms", "1.2 s", "4 min". */
export function latencyText(seconds) {
  const value = Math.max(0, seconds);
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  if (value < 3600) return `${Math.round(value / 60)} min`;
  return `${Math.round(value / 3600)} h`;
}

export function latencyClass(seconds) {
  if (seconds < 0.25) return "lat-good";
  if (seconds < 2) return "lat-warn";
  return "lat-bad";
}

/** First and last characters of a long value: "7xKXtg…gAsU". */
export function shorten(value, head = 6, tail = 5) {
  return value.length <= head + tail + 1 ? value : `${value.slice(0, head)}…${value.slice(-tail)}`;
}

export function compactNumber(n) {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Explorer links for a match: [{label, title, href}]. Values are URL-encoded. */
export function explorerLinks(kind, value) {
  const v = encodeURIComponent(value);
  if (kind === "solana") {
    return [
      { label: "PF", title: "pump.fun", href: `https://pump.fun/coin/${v}` },
      { label: "DS", title: "DexScreener", href: `https://dexscreener.com/solana/${v}` },
      { label: "BE", title: "Birdeye", href: `https://birdeye.so/token/${v}?chain=solana` },
      { label: "SS", title: "Solscan", href: `https://solscan.io/token/${v}` },
    ];
  }
  if (kind === "evm") {
    return [
      { label: "ES", title: "Etherscan", href: `https://etherscan.io/token/${v}` },
      { label: "DS", title: "DexScreener", href: `https://dexscreener.com/ethereum/${v}` },
    ];
  }
  if (kind === "url") {
    const safe = safeHttpUrl(value);
    return safe ? [{ label: "↗", title: "Open link", href: safe }] : [];
  }
  return [];
}

/** The URL when it is http(s), else null (never a javascript: or data: link). */
export function safeHttpUrl(value) {
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://${value}`);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function isAddress(kind) {
  return kind === "solana" || kind === "evm";
}

export function kindBadge(kind) {
  return h("span", {
    class: `badge k-${kind}`,
    title: KIND_NAME[kind] || kind,
    text: KIND_LABEL[kind] || kind.toUpperCase(),
  });
}

/** The explorer link row for a value (target=_blank, no opener, no referrer). */
export function linkList(kind, value) {
  const links = explorerLinks(kind, value);
  if (!links.length) return null;
  const wrap = h("span", { class: "links" });
  for (const link of links) {
    wrap.append(
      h("a", {
        class: "xl",
        href: link.href,
        target: "_blank",
        rel: "noopener noreferrer",
        title: `${link.title}: ${value}`,
        "aria-label": `Open ${shorten(value)} on ${link.title}`,
        text: link.label,
      }),
    );
  }
  return wrap;
}

export function copyButton(value, kind) {
  return h(
    "button",
    {
      type: "button",
      class: "copy",
      "data-action": "copy",
      "data-value": value,
      title: `Copy ${value}`,
      "aria-label": `Copy ${KIND_NAME[kind] || "value"} ${shorten(value)}`,
    },
    copyIcon.cloneNode(true),
  );
}

// An inline SVG (fonts differ; a glyph may be missing): two sheets, and a tick once copied.
// Built once from a constant string, then cloned per button.
const copyIcon = (() => {
  const template = document.createElement("template");
  template.innerHTML =
    '<svg class="icon" viewBox="0 0 16 16" width="13" height="13" aria-hidden="true" focusable="false" ' +
    'fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round">' +
    '<g class="i-copy"><rect x="5.5" y="5.5" width="8.5" height="8.5" rx="1.5"/>' +
    '<path d="M10.5 3.5V3a1.5 1.5 0 0 0-1.5-1.5H3.5A1.5 1.5 0 0 0 2 3v5.5A1.5 1.5 0 0 0 3.5 10H4"/></g>' +
    '<path class="i-done" d="M3 8.5l3.2 3.2L13 4.8"/></svg>';
  return template.content.firstElementChild;
})();

/**
 * The message text as nodes, with each match value highlighted.
 * Addresses are case-sensitive (base58), everything else is found case-insensitively.
 */
export function highlighted(text, matches) {
  const ranges = [];
  const lower = text.toLowerCase();
  for (const match of matches) {
    const value = match.value;
    if (!value) continue;
    const caseSensitive = match.kind === "solana";
    const haystack = caseSensitive ? text : lower;
    const needle = caseSensitive ? value : value.toLowerCase();
    let from = 0;
    let found = false;
    for (let guard = 0; guard < 50; guard += 1) {
      const at = haystack.indexOf(needle, from);
      if (at < 0) break;
      ranges.push([at, at + needle.length, match.kind]);
      from = at + needle.length;
      found = true;
    }
    if (!found && match.kind === "url") {
      // The detector may normalise a link (scheme added); highlight its host+path part.
      const bare = needle.replace(/^https?:\/\//, "");
      const at = lower.indexOf(bare);
      if (at >= 0 && bare) ranges.push([at, at + bare.length, match.kind]);
    }
  }
  const fragment = document.createDocumentFragment();
  if (!ranges.length) {
    fragment.append(text);
    return fragment;
  }
  // Longest first at equal starts; then drop overlaps.
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let position = 0;
  for (const [start, end, kind] of ranges) {
    if (start < position) continue;
    if (start > position) fragment.append(text.slice(position, start));
    fragment.append(h("mark", { class: `hl k-${kind}`, text: text.slice(start, end) }));
    position = end;
  }
  if (position < text.length) fragment.append(text.slice(position));
  return fragment;
}

/** Order-preserving unique matches (a message may repeat an address). */
export function uniqueMatches(matches) {
  const seen = new Set();
  const out = [];
  for (const match of matches || []) {
    const key = `${match.kind}\u0000${match.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(match);
  }
  return out;
}

/** Copy text; falls back to a hidden textarea when the Clipboard API is unavailable
 * (it needs a secure context: https or localhost). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission denied or document not focused: try the fallback.
    }
  }
  const area = h("textarea", { class: "clipboard-fallback", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
