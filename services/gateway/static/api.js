// REST access and the session token.
//
// Every URL is relative to the page, so the dashboard also works when the gateway is
// served under a path prefix by a reverse proxy.

const TOKEN_KEY = "telesniff.token";
const SUBPROTOCOL = "telesniff.v1";

/** The gateway answered 401: a token is needed (or the one we sent is wrong). */
export class AuthError extends Error {
  constructor(message, hadToken) {
    super(message);
    this.name = "AuthError";
    this.hadToken = hadToken;
  }
}

/** The gateway answered with an error status other than 401. */
export class HttpError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.name = "HttpError";
    this.status = status;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives as long as nothing asks again.
  }
}

/** A URL relative to the page, with the non-empty params set. */
export function pageUrl(path, params = {}) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") {
      url.searchParams.set(name, String(value));
    }
  }
  return url;
}

/** The WebSocket URL for /ws with the given query. */
export function wsUrl(params) {
  const url = pageUrl("ws", params);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/** Browsers cannot set headers on a WebSocket, so the token travels as a subprotocol. */
export function wsProtocols() {
  const token = getToken();
  return token ? [SUBPROTOCOL, `bearer.${token}`] : [SUBPROTOCOL];
}

/** GET a JSON resource; throws AuthError on 401 and HttpError on other failures. */
export async function getJson(path, params = {}, { signal } = {}) {
  const token = getToken();
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(pageUrl(path, params), {
    headers,
    signal,
    cache: "no-store",
    credentials: "same-origin",
  });
  if (response.status === 401) {
    throw new AuthError(await detailOf(response), Boolean(token));
  }
  if (!response.ok) {
    throw new HttpError(response.status, await detailOf(response));
  }
  return response.json();
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((problem) => problem.msg || String(problem)).join("; ");
    }
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${response.status}`;
}
