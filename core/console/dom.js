// dom.js - building elements without innerHTML (every text is a text node).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function statusPill(s) {
  return h('span', { class: `pill status-${s}` }, s);
}

export function bar(fraction) {
  const inner = h('div');
  inner.style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': Math.round(fraction * 100),
                   'aria-valuemin': 0, 'aria-valuemax': 100 }, inner);
}

export function table(head, rows) {
  return h('table', {},
    h('thead', {}, h('tr', {}, head.map(([text, cls]) => h('th', { class: cls }, text)))),
    h('tbody', {}, rows));
}
