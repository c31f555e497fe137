// overview.js - throughput and status over the last hour, queue, failures,
// provider state. Refreshes every 10 s while shown.
import { Chart, registerables } from './vendor/chart.js/chart.mjs';
import { api, ready } from './api.js';
import { t } from './i18n.js';
import { h, table } from './dom.js';

Chart.register(...registerables);
const COLORS = { accepted: '#5f6b73', sent: '#0b7a5c', delivered: '#1f6feb', read: '#8250df', failed: '#b3261e',
                 queued: '#a15c00', sending: '#d29922', canceled: '#6e7781' };
const SERIES = ['accepted', 'sent', 'delivered', 'read', 'failed'];

// GET /v1/stats's per-minute rows, labelled by the minute they start.
function minutes(stats) {
  return (stats.per_minute || []).map((r) => ({ ...r, label: new Date(r.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }));
}

function card(label, value, bad = false) {
  return h('div', { class: bad ? 'card bad' : 'card' }, h('div', { class: 'muted' }, label), h('div', { class: 'n' }, value));
}

function age(seconds) {
  if (!seconds) return '0 s';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

export async function overview(root) {
  const cards = h('div', { class: 'cards' });
  const lineCanvas = h('canvas', { id: 'chart-throughput', 'aria-label': t('overview.throughput') });
  const barCanvas = h('canvas', { id: 'chart-status', 'aria-label': t('overview.status') });
  const failures = h('div');
  root.append(h('h1', {}, t('overview.title')), cards,
    h('div', { class: 'charts' },
      h('div', {}, h('h2', {}, t('overview.throughput')), h('div', { class: 'chart' }, lineCanvas)),
      h('div', {}, h('h2', {}, t('overview.status')), h('div', { class: 'chart' }, barCanvas))),
    h('h2', {}, t('overview.failures')), failures);

  const line = new Chart(lineCanvas, { type: 'line', data: { labels: [], datasets: SERIES.map((s) => ({
    label: s, data: [], borderColor: COLORS[s], backgroundColor: COLORS[s], tension: 0.2, pointRadius: 0 })) },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } } });
  const bars = new Chart(barCanvas, { type: 'bar', data: { labels: [], datasets: [{ label: t('overview.status'), data: [], backgroundColor: [] }] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true } } } });

  async function refresh() {
    const [stats, rd] = await Promise.all([api('/v1/stats'), ready()]);
    const counts = stats.counts || {};
    const queue = stats.queue || {};
    const depth = queue.depth ?? 0;
    const oldest = queue.oldest_queued_age_seconds ?? 0;
    const lat = stats.provider_latency_seconds || {};
    const ms = (v) => (typeof v === 'number' ? Math.round(v * 1000) : '-');
    cards.replaceChildren(
      card(t('overview.queue'), depth), card(t('overview.oldest'), age(oldest), oldest > 600),
      card(t('overview.provider'), rd.ok ? t('overview.ok') : `${t('overview.paused')}: ${rd.reason}`, !rd.ok),
      card(`${t('overview.latency')} p50/p99`, `${ms(lat.p50)} / ${ms(lat.p99)}`));
    const rows = minutes(stats);
    line.data.labels = rows.map((r) => r.label);
    line.data.datasets.forEach((d, i) => { d.data = rows.map((r) => r[SERIES[i]] || 0); });
    line.update();
    const names = Object.keys(counts);
    bars.data.labels = names;
    bars.data.datasets[0].data = names.map((n) => counts[n]);
    bars.data.datasets[0].backgroundColor = names.map((n) => COLORS[n] || '#888');
    bars.update();
    const top = stats.top_failures || [];
    failures.replaceChildren(top.length
      ? table([[t('overview.reason')], ['#']], top.map((f) => h('tr', {}, h('td', { class: 'wrap' }, f.code || '?'), h('td', {}, f.count))))
      : h('p', { class: 'muted' }, t('overview.none')));
    root.dataset.ready = 'true';
  }
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 10000);
  return () => { clearInterval(timer); line.destroy(); bars.destroy(); };
}
