// app.js - the console: sign-in, navigation, one view at a time (hash routes).
import { api, ApiError, key } from './api.js';
import { t, translate } from './i18n.js';
import { overview } from './overview.js';
import { campaigns } from './campaigns.js';
import { messages, detail } from './messages.js';
import { failed } from './failed.js';
import { suppressions } from './suppressions.js';
import { h } from './dom.js';

const routes = { overview, campaigns, messages, message: detail, failed, suppressions };
const $ = (id) => document.getElementById(id);
let stopView = null;

function showSignin(message = '') {
  $('nav').hidden = true;
  $('view').replaceChildren();
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('key').focus();
}

async function render() {
  if (stopView) { stopView(); stopView = null; }
  if (!key.get()) return showSignin();
  $('signin').hidden = true;
  $('nav').hidden = false;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const view = routes[name] || overview;
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${name}`);
  const root = $('view');
  root.replaceChildren();
  for (const k of Object.keys(root.dataset)) delete root.dataset[k]; // the last view's state
  try {
    stopView = (await view(root, rest.map(decodeURIComponent))) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { key.clear(); return showSignin(t('signin.bad')); }
    root.append(h('p', { class: 'error', role: 'alert' }, t('error.load', { e: e.message })));
  }
}

async function signin(ev) {
  ev.preventDefault();
  key.set($('key').value.trim());
  $('key').value = '';
  try {
    await api('/v1/stats'); // an operator-only route: proves the key's role
  } catch (e) {
    key.clear();
    const why = e instanceof ApiError && e.status === 403 ? 'signin.notadmin' : 'signin.bad';
    return showSignin(e instanceof ApiError && e.status < 500 ? t(why) : e.message);
  }
  if (!location.hash || location.hash === '#/') location.hash = '#/overview';
  else render();
}

document.addEventListener('DOMContentLoaded', () => {
  translate();
  $('signin').addEventListener('submit', signin);
  $('signout').addEventListener('click', () => { key.clear(); render(); });
  window.addEventListener('hashchange', render);
  render();
});
