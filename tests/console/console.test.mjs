// console.test.mjs - the operator console in headless Chromium, against the
// real daemon (mock provider) on a free loopback port.
//
// Signs in with an admin key (a sending key is refused), sees the overview
// with both charts drawn, finds a message sent through the mock and opens its
// history, makes one fail (MOCK_REJECT_FILE), requeues it from the failed
// list and sees it become sent, sees the campaign's progress, and reads the
// page in Portuguese. Screenshots go to $WA_ARTIFACTS. Fails on any browser
// console error or page error, and on any request that leaves 127.0.0.1.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(`${process.env.WA_NPM_DIR}/`);
const { chromium } = require('playwright-core');

const SEND_KEY = 'console-send-key-0123456789';
const ADMIN_KEY = 'console-admin-key-0123456789';
const artifacts = process.env.WA_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'wa-console-shots-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-console-'));
const rejectFile = path.join(tmp, 'reject');
let passed = 0;
let failed = 0;

function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.error(`FAIL: ${what}`); }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await cond()) return true; } catch { /* not yet */ }
    if (Date.now() > end) { check(false, `timed out waiting for ${what}`); return false; }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const daemonLog = fs.openSync(path.join(tmp, 'daemon.log'), 'w');
const daemon = spawn(process.env.WA_DAEMON, [], {
  stdio: ['ignore', daemonLog, daemonLog],
  env: {
    PATH: process.env.PATH, PORT: String(port), BIND_ADDRESS: '127.0.0.1',
    API_KEY: SEND_KEY, ADMIN_API_KEYS: ADMIN_KEY, WHATSAPP_PROVIDER: 'mock',
    PROVIDER_DIR: process.env.WA_PROVIDER_BUILD_DIR, MOCK_DELAY_MS: '5',
    MOCK_REJECT_FILE: rejectFile, STORE_PATH: path.join(tmp, 'store.db'),
    CONSOLE_DIR: path.join(process.env.WA_SOURCE_DIR, 'core/console'),
  },
});

async function call(method, p, body, key = SEND_KEY) {
  const res = await fetch(base + p, { method, headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function statusOf(ext) {
  return (await call('GET', `/v1/messages?external_id=${ext}`)).body?.status;
}

let browser;
try {
  await until(async () => (await fetch(`${base}/health`)).ok, 15000, 'the daemon');
  // Messages through the mock: three in a campaign, one that fails.
  for (const n of [1, 2, 3]) {
    const r = await call('POST', '/v1/messages/send', { recipient_phone: `+55119876500${n}0`,
      message_body: `Olá ${n}`, external_id: `console-ok-${n}`, campaign_id: 'spring-sale' });
    check(r.status === 200, `send console-ok-${n}: ${r.status}`);
  }
  for (const n of [1, 2, 3])
    await until(async () => (await statusOf(`console-ok-${n}`)) === 'sent', 10000, `console-ok-${n} to be sent`);
  fs.writeFileSync(rejectFile, '');
  check((await call('POST', '/v1/messages/send', { recipient_phone: '+5511987650099',
    message_body: 'will fail', external_id: 'console-fail-1', campaign_id: 'spring-sale' })).status === 200, 'send console-fail-1');
  await until(async () => (await statusOf('console-fail-1')) === 'failed', 10000, 'console-fail-1 to fail');
  fs.unlinkSync(rejectFile);

  browser = await chromium.launch({ executablePath: process.env.WA_CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'] });
  const errors = [];
  const foreign = [];
  async function open(locale) {
    const ctx = await browser.newContext({ locale, viewport: { width: 1100, height: 900 } });
    const page = await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${locale}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`${locale}: ${e.message}`));
    page.on('request', (req) => { if (new URL(req.url()).hostname !== '127.0.0.1') foreign.push(req.url()); });
    return page;
  }
  const page = await open('en-US');
  const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

  await page.goto(`${base}/console/`);
  // A sending key may not sign in.
  await page.fill('#key', SEND_KEY);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#signin-error:not(:empty)');
  check((await page.textContent('#signin-error')).includes('not an operator key'), 'a sending key is refused');
  // The browser logs that refusal (403) as a failed resource: expected once.
  check(errors.length === 1 && errors[0].includes('403'), `the refusal is the only error so far (${errors.join(' | ')})`);
  errors.length = 0;
  // The admin key signs in; the overview draws both charts.
  await page.fill('#key', ADMIN_KEY);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#view[data-ready=true]', { timeout: 10000 });
  const drawn = await page.evaluate(() => ['chart-throughput', 'chart-status'].map((id) => {
    const c = document.getElementById(id);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) inked++;
    return inked;
  }));
  check(drawn.every((n) => n > 500), `both charts drawn (inked pixels ${drawn})`);
  check((await page.textContent('#view')).includes('Provider'), 'the overview shows the provider state');
  await shot('overview');

  // Find a message by its external id and open its history.
  await page.click('nav a[href="#/messages"]');
  await page.waitForSelector('#search');
  await page.fill('#search input[name=external_id]', 'console-ok-2');
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#detail');
  const detailText = await page.textContent('#view');
  check(detailText.includes('console-ok-2') && detailText.includes('queued') && detailText.includes('sent'),
    'the detail shows the message and its history');
  await shot('message-detail');

  // The failed list has the failed one; requeue it and see it sent.
  await page.click('nav a[href="#/failed"]');
  await page.waitForSelector('[data-retry="console-fail-1"]');
  await shot('failed');
  await page.click('[data-retry="console-fail-1"]');
  await page.waitForSelector('[role=status]:not(:empty)');
  check((await page.textContent('[role=status]')).includes('1'), 'the requeue is confirmed');
  await until(async () => (await statusOf('console-fail-1')) === 'sent', 10000, 'the requeued message to be sent');
  await page.goto(`${base}/console/#/messages`);
  await page.waitForSelector('#search');
  await page.fill('#search input[name=external_id]', 'console-fail-1');
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#view[data-status]');
  check((await page.getAttribute('#view', 'data-status')) === 'sent', 'the requeued message shows as sent');
  check((await page.textContent('#view h1')).includes('console-fail-1'), 'its detail is shown');
  await shot('requeued-sent');

  // The campaign's progress.
  await page.click('nav a[href="#/campaigns"]');
  await page.waitForSelector('[data-campaign="spring-sale"] [role=progressbar]');
  check((await page.textContent('[data-campaign="spring-sale"]')).includes('4'), 'the campaign counts its 4 messages');
  await shot('campaigns');

  // A phone-sized screen in Portuguese.
  const pt = await open('pt-BR');
  await pt.setViewportSize({ width: 390, height: 800 });
  await pt.goto(`${base}/console/`);
  check((await pt.textContent('#signin h1')) === 'Entrar', 'the sign-in page is in Portuguese');
  await pt.fill('#key', ADMIN_KEY);
  await pt.click('#signin button[type=submit]');
  await pt.waitForSelector('#view[data-ready=true]', { timeout: 10000 });
  check((await pt.textContent('nav')).includes('Campanhas'), 'the navigation is in Portuguese');
  await pt.screenshot({ path: path.join(artifacts, 'overview-pt-phone.png'), fullPage: true });

  check(errors.length === 0, `no browser console errors (${errors.join(' | ')})`);
  check(foreign.length === 0, `no request left 127.0.0.1 (${foreign.join(' ')})`);
} catch (e) {
  check(false, `${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  daemon.kill('SIGTERM');
  await new Promise((r) => (daemon.exitCode !== null ? r() : daemon.on('exit', r)));
}
console.log(`console: screenshots in ${artifacts}`);
if (failed) console.error(`daemon log and store kept in ${tmp}`);
else fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
