// The one door from a page script to the server (docs/architecture.md "Front end"): requests carry
// the CSRF token and speak JSON; an error answer becomes an ApiError carrying the API's error shape
// ({"detail": "…", "errors": {"field": ["…"]}}, docs/decisions.md §3); polling and reconnecting back
// off with Backoff. Page scripts import from here and never call fetch or XMLHttpRequest themselves.

const JSON_TYPE = "application/json";
const OFFLINE = "The server could not be reached: check the network and try again.";
const SESSION_LOST = "Your session has expired: log in again (reload the page).";

// The token Django checks in X-CSRFToken: the cookie (fresh even after a login in another tab), else
// the copy base.html puts in <meta name="csrf-token"> (for when the cookie is HttpOnly).
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.content : "";
}

// An answer that is not 2xx (status 0: no answer at all, or a redirect to the login page). `message`
// is the server's sentence for a person (ours when it sent none, or when the session is gone);
// `fieldErrors` maps a field to its messages; `body` keeps the whole answer for the extension keys
// (409 `conflicts` and `suggestions`, 412 `current`, 413 `limit`).
export class ApiError extends Error {
  constructor(status, body, message) {
    const detail = body && typeof body.detail === "string" && body.detail ? body.detail : null;
    super(message || detail || `The server answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.body = body || {};
    this.fieldErrors = (body && body.errors) || {};
  }
}

function parseJson(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch (error) { return null; }
}

// One request; resolves with {ok, status, data, text, headers, redirected} whatever the status, so a
// caller that branches on statuses (the annotation workspace's autosave) can; rejects with an ApiError
// of status 0 only when no answer came. A redirect (to the login page, once the session is gone) is
// reported as `redirected`, never followed. `body`: an object (sent as JSON) or a JSON string.
export async function send(method, url, { body, headers = {}, keepalive = false } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    redirect: "manual",
    keepalive,
    headers: { Accept: JSON_TYPE, "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest", ...headers },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = JSON_TYPE;
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, null, OFFLINE);
  }
  const text = await response.text().catch(() => "");
  return {
    ok: response.ok, status: response.status, data: parseJson(text), text, headers: response.headers,
    redirected: response.type === "opaqueredirect",
  };
}

// Whether an answer means the person must log in again: a redirect to the login page, a 401, or a
// 403 about credentials or the CSRF token (which a new session replaces).
export function sessionLost(result) {
  if (result.redirected || result.status === 401) return true;
  const detail = result.data && typeof result.data.detail === "string" ? result.data.detail : "";
  return result.status === 403 && /credentials|CSRF|authenticat/i.test(detail);
}

// The result of a 2xx answer, or a thrown ApiError.
export function checked(result) {
  if (result.ok) return result;
  throw new ApiError(result.status, result.data, sessionLost(result) ? SESSION_LOST : null);
}

// A request that must succeed: resolves with {status, data, text, headers}, throws ApiError otherwise.
export async function request(method, url, options) {
  return checked(await send(method, url, options));
}

export async function getJson(url) {
  return (await request("GET", url)).data;
}

// A page fragment (HTML), for the pages that swap rows rendered by the server.
export async function getText(url) {
  return (await request("GET", url, { headers: { Accept: "text/html" } })).text;
}

// Every row behind a paginated list, following its `next` links (at most `maxPages` pages).
export async function getAllPages(url, { maxPages = 10 } = {}) {
  const rows = [];
  for (let next = url, page = 0; next && page < maxPages; page += 1) {
    const data = await getJson(next);
    rows.push(...(Array.isArray(data) ? data : data.results || []));
    next = Array.isArray(data) ? null : data.next;
  }
  return rows;
}

// A multipart upload with progress events (fetch reports none for request bodies): resolves with
// {status, data, headers} like request(), throws ApiError likewise.
export function upload(url, formData, { onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", JSON_TYPE);
    if (onProgress) xhr.upload.addEventListener("progress", onProgress);
    xhr.onload = () => {
      const result = {
        ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data: parseJson(xhr.responseText),
        text: xhr.responseText, headers: { get: (name) => xhr.getResponseHeader(name) }, redirected: false,
      };
      try { resolve(checked(result)); } catch (error) { reject(error); }
    };
    xhr.onerror = () => reject(new ApiError(0, null, OFFLINE));
    xhr.send(formData);
  });
}

// Delays that grow by `factor` up to `maxMs`, back to `initialMs` on reset().
export class Backoff {
  constructor({ initialMs, maxMs, factor = 2 }) {
    Object.assign(this, { initialMs, maxMs, factor });
    this.reset();
  }

  next() {
    const delay = this.delay;
    this.delay = Math.min(this.delay * this.factor, this.maxMs);
    return delay;
  }

  reset() {
    this.delay = this.initialMs;
  }
}

// Reads a status resource (an import or export job) until isDone(data), calling onUpdate(data) with
// each reading. Readings slow down from 1 s to 5 s while nothing calls now(); a page calls now() when
// a realtime event says the resource changed, so the poll is the source of truth if an event is
// missed, and costs little while events arrive. Errors are retried on the same back-off.
export function poll(url, { onUpdate, isDone, onError = () => {}, initialMs = 1000, maxMs = 5000 }) {
  const backoff = new Backoff({ initialMs, maxMs, factor: 1.5 });
  let timer = null;
  let running = false;
  let again = false;
  let stopped = false;

  async function read() {
    clearTimeout(timer);
    if (stopped) return;
    if (running) { again = true; return; }
    running = true;
    try {
      const data = await getJson(url);
      onUpdate(data);
      if (isDone(data)) stopped = true;
    } catch (error) {
      onError(error);
    }
    running = false;
    if (!stopped) timer = setTimeout(read, again ? 0 : backoff.next());
    again = false;
  }

  read();
  return {
    now() { backoff.reset(); read(); },
    stop() { stopped = true; clearTimeout(timer); },
  };
}
