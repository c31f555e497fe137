// failed.js - the failed messages, newest first, with requeue (one or all shown).
import { api, query } from './api.js';
import { t } from './i18n.js';
import { h, table } from './dom.js';
import { itemsOf } from './list.js';
import { messageRow, messageHead } from './messages.js';

export async function failed(root) {
  const note = h('p', { class: 'muted', role: 'status' });
  const out = h('div');
  root.append(h('h1', {}, t('failed.title')), note, out);

  async function requeue(ids) {
    let n = 0;
    for (const id of ids) {
      await api(`/v1/messages/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} });
      n++;
    }
    await load();
    note.textContent = t('failed.requeued', { n });
  }

  async function load() {
    const list = itemsOf(await api(`/v1/messages${query({ status: 'failed', limit: 100 })}`));
    out.replaceChildren(list.length
      ? h('div', {},
          h('button', { id: 'retry-all', type: 'button', onclick: () => requeue(list.map((m) => m.message_id)) }, t('failed.retryall')),
          table(messageHead(true), list.map((m) => messageRow(m,
            h('button', { class: 'secondary', type: 'button', 'data-retry': m.external_id,
                          onclick: () => requeue([m.message_id]) }, t('failed.retry'))))))
      : h('p', { class: 'muted' }, t('failed.none')));
  }
  await load();
}
