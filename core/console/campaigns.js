// campaigns.js - campaign progress: the campaigns in recent messages, or one
// by id, each with its counts per status and a progress bar.
import { api, query } from './api.js';
import { t } from './i18n.js';
import { h, bar } from './dom.js';
import { itemsOf } from './list.js';

// GET /v1/campaigns/{id}: total, counts per status, progress (0..1: no
// longer waiting for the provider).
function progressOf(c) {
  return { total: c.total || 0, done: typeof c.progress === 'number' ? c.progress : 0 };
}

async function campaignCard(id) {
  const c = await api(`/v1/campaigns/${encodeURIComponent(id)}`);
  const { total, done } = progressOf(c);
  const note = h('span', { class: 'muted' });
  return h('div', { class: 'card', 'data-campaign': id },
    h('strong', {}, id), ` · ${total} · ${Math.round(done * 100)}%`, bar(done),
    h('div', { class: 'muted' }, Object.entries(c.counts || {}).map(([s, n]) => `${s} ${n}`).join(' · ')),
    (c.counts?.queued || 0) > 0
      ? h('button', { class: 'secondary', type: 'button', onclick: async () => {
          const r = await api(`/v1/campaigns/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {} });
          note.textContent = t('campaigns.canceled', { n: r.canceled ?? 0 });
        } }, t('campaigns.cancel'))
      : null, note);
}

export async function campaigns(root) {
  const input = h('input', { type: 'search', name: 'campaign' });
  const one = h('div');
  const form = h('form', { class: 'filters' }, h('label', {}, h('span', {}, t('campaigns.id')), input),
    h('button', { type: 'submit' }, t('campaigns.show')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (input.value) one.replaceChildren(await campaignCard(input.value.trim()));
  });
  const recent = h('div', { class: 'cards' });
  root.append(h('h1', {}, t('campaigns.title')), form, one, h('h2', {}, t('campaigns.recent')), recent);
  const ids = [...new Set(itemsOf(await api(`/v1/messages${query({ limit: 200 })}`))
    .map((m) => m.campaign_id).filter(Boolean))].slice(0, 12);
  recent.replaceChildren(...(await Promise.all(ids.map(campaignCard))));
}
