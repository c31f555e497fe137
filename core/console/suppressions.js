// suppressions.js - numbers that must not be messaged: list, add, remove
// (GET/PUT/DELETE /v1/suppressions; a daemon without them says so).
import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, when, table } from './dom.js';

export async function suppressions(root) {
  root.append(h('h1', {}, t('supp.title')));
  let data;
  try {
    data = await api('/v1/suppressions');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return void root.append(h('p', { class: 'muted' }, t('supp.unavailable')));
    throw e;
  }
  const phone = h('input', { type: 'tel', name: 'phone', required: true });
  const form = h('form', { class: 'filters' }, h('label', {}, h('span', {}, t('supp.phone')), phone),
    h('button', { type: 'submit' }, t('supp.add')));
  const reload = async () => { root.replaceChildren(); await suppressions(root); };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await api(`/v1/suppressions/${encodeURIComponent(phone.value.trim())}`, { method: 'PUT', body: {} });
    await reload();
  });
  const list = data?.suppressions || [];
  root.append(form, list.length
    ? table([[t('supp.phone')], ['', 'opt'], ['']], list.map((s) => h('tr', {},
        h('td', {}, s.phone), h('td', { class: 'opt' }, `${s.source || ''} ${when(s.at || s.created_at)}`),
        h('td', {}, h('button', { class: 'secondary', type: 'button', onclick: async () => {
          await api(`/v1/suppressions/${encodeURIComponent(s.phone)}`, { method: 'DELETE' });
          await reload();
        } }, t('supp.remove'))))))
    : h('p', { class: 'muted' }, t('supp.none')));
}
