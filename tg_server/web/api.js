// Talking to tg-server: same origin, the session cookie, JSON in and out.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(`/api/0/${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    // State-changing requests must be JSON: the server refuses anything else.
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  const early = window.__tgPrefetch;
  try {
    if (early && method === "GET" && early.path === url.pathname + url.search) {
      window.__tgPrefetch = null;  // started by boot.js during page load; use it once
      response = await early.response;
    } else {
      response = await fetch(url, options);
    }
  } catch (err) {
    throw new ApiError(0, "network", "The TimelyGator server is not reachable. Is it running?");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    let message = error.message || `The server answered ${response.status}.`;
    if (response.status === 401) {
      message = "Not signed in. Open the dashboard from the tray menu, or run “tg-server open”.";
    }
    throw new ApiError(response.status, error.code || "http_error", message);
  }
  return data;
}

export function apiUrl(path, query) {
  const url = new URL(`/api/0/${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url.pathname + url.search;
}
