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

// The stats answer, read defensively: each part may be absent.
function minutes(stats) {
  const rows = stats.per_minute || stats.minutes || [];
  return rows.map((r) => ({ ...r, label: new Date(r.minute || r.at || r.t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }));
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
    const counts = stats.counts || stats.status_counts || {};
    const queue = stats.queue || {};
    const depth = queue.depth ?? stats.queue_depth ?? ((counts.queued || 0) + (counts.sending || 0));
    const oldest = queue.oldest_age_seconds ?? stats.oldest_queued_age_seconds ?? 0;
    const lat = stats.latency || stats.provider_latency || {};
    cards.replaceChildren(
      card(t('overview.queue'), depth), card(t('overview.oldest'), age(oldest), oldest > 600),
      card(t('overview.provider'), rd.ok ? t('overview.ok') : `${t('overview.paused')}: ${rd.reason}`, !rd.ok),
      card(`${t('overview.latency')} p50/p99`, lat.p50_ms !== undefined ? `${Math.round(lat.p50_ms)} / ${Math.round(lat.p99_ms)}` : '-'));
    const rows = minutes(stats);
    line.data.labels = rows.map((r) => r.label);
    line.data.datasets.forEach((d, i) => { d.data = rows.map((r) => r[SERIES[i]] || 0); });
    line.update();
    const names = Object.keys(counts);
    bars.data.labels = names;
    bars.data.datasets[0].data = names.map((n) => counts[n]);
    bars.data.datasets[0].backgroundColor = names.map((n) => COLORS[n] || '#888');
    bars.update();
    const top = stats.top_failures || stats.failure_codes || [];
    failures.replaceChildren(top.length
      ? table([[t('messages.status')], ['#']], top.map((f) => h('tr', {}, h('td', { class: 'wrap' }, f.code || f.reason || f.error || '?'), h('td', {}, f.count))))
      : h('p', { class: 'muted' }, t('overview.none')));
    root.dataset.ready = 'true';
  }
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 10000);
  return () => { clearInterval(timer); line.destroy(); bars.destroy(); };
}
