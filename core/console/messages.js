// messages.js - search messages (external id, phone, status, campaign, time)
// and one message's detail with its history.
import { api, query, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, when, statusPill, table } from './dom.js';
import { itemsOf, cursorOf } from './list.js';

const STATUSES = ['', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'canceled'];

export function messageRow(m, extra) {
  return h('tr', {},
    h('td', { class: 'wrap' }, h('a', { href: `#/message/${encodeURIComponent(m.message_id)}` }, m.external_id || m.message_id)),
    h('td', {}, m.recipient_phone || ''), h('td', {}, statusPill(m.status)),
    h('td', { class: 'opt' }, m.campaign_id || ''), h('td', { class: 'opt' }, when(m.created_at)),
    extra ? h('td', {}, extra) : null);
}

export function messageHead(extra) {
  return [[t('messages.external')], [t('messages.phone')], [t('messages.status')],
          [t('messages.campaign'), 'opt'], [t('messages.created'), 'opt'], extra ? [''] : null].filter(Boolean);
}

function field(name, label, input) {
  input.name = name;
  return h('label', {}, h('span', {}, label), input);
}

export async function messages(root) {
  const form = h('form', { class: 'filters', id: 'search' },
    field('external_id', t('messages.external'), h('input', { type: 'search' })),
    field('phone', t('messages.phone'), h('input', { type: 'search', inputmode: 'tel' })),
    field('status', t('messages.status'), h('select', {}, STATUSES.map((s) => h('option', { value: s }, s || t('messages.any'))))),
    field('campaign_id', t('messages.campaign'), h('input', { type: 'search' })),
    field('since', t('messages.since'), h('input', { type: 'datetime-local' })),
    field('until', t('messages.until'), h('input', { type: 'datetime-local' })),
    h('button', { type: 'submit' }, t('messages.search')));
  const out = h('div', { id: 'results' });
  root.append(h('h1', {}, t('messages.title')), form, out);

  async function search(cursor, rows = []) {
    const f = Object.fromEntries(new FormData(form));
    if (f.external_id) {
      try {
        const m = await api(`/v1/messages${query({ external_id: f.external_id })}`);
        location.hash = `#/message/${encodeURIComponent(m.message_id)}`;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e;
        out.replaceChildren(h('p', { class: 'muted' }, t('messages.notfound')));
      }
      return;
    }
    const iso = (v) => (v ? new Date(v).toISOString() : undefined);
    const data = await api(`/v1/messages${query({ status: f.status, phone: f.phone, campaign_id: f.campaign_id,
      since: iso(f.since), until: iso(f.until), limit: 50, cursor })}`);
    rows.push(...itemsOf(data).map((m) => messageRow(m)));
    const next = cursorOf(data);
    out.replaceChildren(rows.length ? table(messageHead(), rows) : h('p', { class: 'muted' }, t('messages.none')),
      next ? h('button', { class: 'secondary', type: 'button', onclick: () => search(next, rows) }, t('messages.more')) : null);
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); search().catch((e) => out.replaceChildren(h('p', { class: 'error' }, e.message))); });
  await search();
}

export async function detail(root, [id]) {
  const m = await api(`/v1/messages/${encodeURIComponent(id)}`);
  const pd = m.provider_details || {};
  const retry = ['failed', 'canceled'].includes(m.status)
    ? h('button', { id: 'retry', type: 'button', onclick: async () => {
        await api(`/v1/messages/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} });
        root.replaceChildren(); await detail(root, [id]);
      } }, t('detail.retry'))
    : null;
  root.append(h('h1', {}, `${t('detail.title')} ${m.external_id}`),
    h('table', { id: 'detail' }, h('tbody', {},
      [[t('messages.id'), m.message_id], [t('messages.phone'), m.recipient_phone],
       [t('messages.status'), statusPill(m.status)], [t('messages.campaign'), m.campaign_id || ''],
       [t('detail.attempts'), m.attempts], [t('detail.provider'), m.provider_message_id || ''],
       [t('detail.error'), m.last_error || ''], [t('messages.created'), when(m.created_at)],
       ['upstream', [pd.upstream_status, pd.upstream_code].filter(Boolean).join(' ')]]
        .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'wrap' }, v))))),
    retry,
    h('h2', {}, t('detail.history')),
    table([[t('messages.status')], ['', 'opt'], ['']],
      (m.history || []).map((e) => h('tr', {}, h('td', {}, statusPill(e.status)), h('td', { class: 'opt' }, when(e.at)),
                                           h('td', { class: 'wrap' }, e.detail || '')))));
  root.dataset.status = m.status;
}
