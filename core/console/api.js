// api.js - the daemon's JSON API, with the operator's key from this tab's
// sessionStorage (never localStorage, never a cookie).
const KEY = 'wadispatch.key';

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { 'X-API-Key': key.get() || '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: 'omit',
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// GET /ready answers 503 with a reason while the provider is paused.
export async function ready() {
  const res = await fetch('/ready', { cache: 'no-store', credentials: 'omit' });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return { ok: res.ok, reason: data?.reason || '' };
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
