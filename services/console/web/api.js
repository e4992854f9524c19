// The console's JSON API (same origin): POST /api/<service>/<Method> with the proto3 JSON of
// the request; answers the proto3 JSON of the response or an RFC 9457 problem+json body.

// A failed call: the HTTP status and the problem's title and detail.
export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

// Every response the current page rendered, in order: what "Export JSON" saves.
export const log = [];

async function answer(response, what) {
  const text = await response.text();
  let body = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(response.status, `${what}: not JSON`, text.slice(0, 200));
  }
  if (!response.ok) {
    throw new ApiError(response.status, body.title || `HTTP ${response.status}`, body.detail || '');
  }
  return body;
}

export async function call(service, method, request) {
  const response = await fetch(`/api/${service}/${method}`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
    body: JSON.stringify(request || {}),
  });
  const body = await answer(response, method);
  log.push({call: `${service}/${method}`, request, response: body});
  return body;
}

export const provenance = (method, request) => call('provenance', method, request);
export const ledger = (method, request) => call('ledger', method, request);

export async function search(prefix, limit) {
  const query = new URLSearchParams({q: prefix, limit: String(limit)});
  const body = await answer(await fetch(`/api/search?${query}`), 'search');
  log.push({call: 'search', request: {q: prefix, limit}, response: body});
  return body;
}

let infoPromise = null;
// {service, headSize, ledger}; asked once per page load.
export function info() {
  if (!infoPromise) infoPromise = fetch('/api/info').then((r) => answer(r, 'info'));
  return infoPromise;
}
