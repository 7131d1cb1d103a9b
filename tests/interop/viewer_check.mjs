// viewer_check.mjs - opens seer-rendered Petri transcripts in Petri's real
// transcript viewer (@kaifronsdal/transcript-viewer from npm) and in headless
// Chromium, and checks that they load, render and log no errors.
//
// usage: node viewer_check.mjs DIR [--expect TEXT]... [--chromium PATH]
//
// For every transcript_*.json in DIR:
//   1. it validates against the viewer's own JSON schema (ajv, configured as
//      the viewer configures it);
//   2. the viewer's HTTP API lists it (/api/transcripts/list) and serves it
//      parsed (/api/transcripts?filePath=...), with the same id, models and
//      scores as the file;
//   3. its page (/transcript/<file>) rendered in headless Chromium shows the
//      text of every target-view assistant message of the file, and every
//      --expect TEXT appears on some page; the home page lists it.
// Chromium is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so no npm
// browser driver is needed.  Console errors, uncaught exceptions and
// browser log errors on any page fail the check.
//
// VIEWER_EXTRA_PATH=/some/page also visits that page last (tests use a
// missing transcript there to prove that console errors are caught).
//
// Exit: 0 pass, 1 fail, 77 skipped (node_modules, viewer or chromium
// missing; the reason is printed).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const viewerRoot = join(here, 'node_modules/@kaifronsdal/transcript-viewer');
const args = process.argv.slice(2);
const expects = [];
let dir = null;
let chromium = process.env.CHROMIUM || '/usr/bin/chromium';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--expect') expects.push(args[++i]);
  else if (args[i] === '--chromium') chromium = args[++i];
  else dir = args[i];
}
if (!dir) {
  console.error('usage: node viewer_check.mjs DIR [--expect TEXT]... [--chromium PATH]');
  process.exit(2);
}

function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(77);
}
if (!existsSync(join(viewerRoot, 'bin/transcript-viewer.js')))
  skip(`the transcript viewer is not installed (run scripts/install-peers.sh): ${viewerRoot}`);
if (!existsSync(join(viewerRoot, 'build/handler.js')))
  skip('the transcript viewer has no prebuilt build/ directory');
if (!existsSync(chromium))
  skip(`no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM)`);

const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`FAIL: ${msg}`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the files -------------------------------------------------------------
const files = readdirSync(dir).filter((f) => /^transcript_.*\.json$/.test(f)).sort();
if (files.length === 0) {
  console.log(`FAIL: no transcript_*.json in ${dir}`);
  process.exit(1);
}
const docs = Object.fromEntries(files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8'))]));

// Texts a reader must see: the target-view assistant messages (string
// content or text parts), trimmed to a searchable prefix.
function targetTexts(doc) {
  const out = [];
  for (const ev of doc.events ?? []) {
    if (ev.type !== 'transcript_event') continue;
    const views = Array.isArray(ev.view) ? ev.view : [ev.view];
    if (!views.includes('target')) continue;
    const m = ev.edit?.message;
    if (!m || m.role !== 'assistant') continue;
    const text = typeof m.content === 'string' ? m.content
      : (m.content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join('');
    if (text.trim()) out.push(text.trim().split('\n')[0].slice(0, 60));
  }
  return out;
}

// ---- 1. schema ---------------------------------------------------------------
{
  const require = createRequire(join(here, 'package.json'));
  let Ajv, addFormats;
  try {
    Ajv = require('ajv'); addFormats = require('ajv-formats');
  } catch (e) { skip(`ajv is not installed: ${e.message}`); }
  Ajv = Ajv.default ?? Ajv; addFormats = addFormats.default ?? addFormats;
  const schema = JSON.parse(readFileSync(join(viewerRoot, 'src/lib/shared/transcript-schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  for (const f of files) {
    if (validate(docs[f])) console.log(`ok schema ${f}`);
    else fail(`${f} does not match the v3.0 schema: ${ajv.errorsText(validate.errors)}`);
  }
}

// ---- 2. the viewer's HTTP API -------------------------------------------------
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const viewer = spawn(process.execPath, [join(viewerRoot, 'bin/transcript-viewer.js'),
  '--dir', dir, '--host', '127.0.0.1', '--port', String(port)],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
let viewerLog = '';
viewer.stdout.on('data', (d) => { viewerLog += d; });
viewer.stderr.on('data', (d) => { viewerLog += d; });
let browser = null;
let profile = null;
function cleanup() {
  if (browser && browser.exitCode === null) browser.kill('SIGKILL');
  if (viewer.exitCode === null) viewer.kill('SIGTERM');
  if (profile) {
    try { rmSync(profile, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort */ }
  }
}
process.on('exit', cleanup);

// Waits (up to 5 s) for Chromium to exit after Browser.close, so its
// profile directory can be removed.
async function browserGone() {
  if (!browser || browser.exitCode !== null || browser.signalCode !== null) return;
  await Promise.race([new Promise((r) => browser.once('exit', r)), sleep(5000)]);
  if (browser.exitCode === null && browser.signalCode === null) {
    browser.kill('SIGKILL');
    await Promise.race([new Promise((r) => browser.once('exit', r)), sleep(2000)]);
  }
}

async function getJson(path) {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return r.json();
}

let up = false;
for (let i = 0; i < 120 && !up; i++) {
  if (viewer.exitCode !== null) break;
  try { await fetch(base + '/api/transcripts/list'); up = true; } catch { await sleep(250); }
}
if (!up) {
  console.log(viewerLog);
  console.log('FAIL: the viewer did not start');
  process.exit(1);
}
console.log(`viewer up on ${base}`);

try {
  const list = await getJson('/api/transcripts/list');
  for (const f of files) {
    const meta = docs[f].metadata;
    const item = list.find((t) => t._filePath === f);
    if (!item) { fail(`/api/transcripts/list does not list ${f}`); continue; }
    if (item.id !== meta.transcript_id) fail(`${f}: list id ${item.id} != ${meta.transcript_id}`);
    const one = await getJson(`/api/transcripts?filePath=${encodeURIComponent(f)}`);
    if (!one.success) { fail(`${f}: the viewer could not load it`); continue; }
    const d = one.data;
    if (d.id !== meta.transcript_id) fail(`${f}: loaded id ${d.id}`);
    if (d.model !== meta.target_model) fail(`${f}: loaded model ${d.model} != ${meta.target_model}`);
    if (d.transcript?.events?.length !== docs[f].events.length)
      fail(`${f}: loaded ${d.transcript?.events?.length} events, file has ${docs[f].events.length}`);
    const want = meta.judge_output?.scores ?? {};
    for (const [k, v] of Object.entries(want))
      if (d.scores?.[k] !== v) fail(`${f}: score ${k} is ${d.scores?.[k]}, file says ${v}`);
    console.log(`ok api ${f}: ${d.transcript.events.length} events, ${Object.keys(d.scores ?? {}).length} scores`);
  }
} catch (e) {
  fail(`viewer API: ${e.message}`);
}

// ---- 3. headless Chromium over the DevTools pipe -------------------------------
class Cdp {
  constructor(proc) {
    this.proc = proc; this.next = 1; this.pending = new Map(); this.listeners = []; this.buf = '';
    proc.stdio[4].on('data', (chunk) => {
      this.buf += chunk.toString('utf8');
      let i;
      while ((i = this.buf.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
        if (msg.id && this.pending.has(msg.id)) {
          const { resolve, reject } = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`));
          else resolve(msg.result);
        } else if (msg.method) {
          for (const l of this.listeners) l(msg);
        }
      }
    });
  }
  send(method, params = {}, sessionId = undefined, timeoutMs = 30000) {
    const id = this.next++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    this.proc.stdio[3].write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method}: no answer`)); }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => { clearTimeout(t); resolve(r); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
    });
  }
  on(fn) { this.listeners.push(fn); }
}

profile = mkdtempSync(join(tmpdir(), 'seer-chromium-'));
browser = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${profile}`,
  '--remote-debugging-pipe', 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let browserErr = '';
browser.stdio[2].on('data', (d) => { browserErr += d; });
const cdp = new Cdp(browser);

let page = '(none)';
const pageErrors = [];
cdp.on((msg) => {
  const p = msg.params ?? {};
  if (msg.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
    const text = (p.args ?? []).map((a) => a.value ?? a.description ?? '').join(' ');
    pageErrors.push(`${page}: console.${p.type}: ${text}`);
  } else if (msg.method === 'Runtime.exceptionThrown') {
    const d = p.exceptionDetails ?? {};
    pageErrors.push(`${page}: uncaught: ${d.exception?.description ?? d.text}`);
  } else if (msg.method === 'Log.entryAdded' && p.entry?.level === 'error') {
    pageErrors.push(`${page}: browser log: ${p.entry.text} ${p.entry.url ?? ''}`);
  }
});

async function bodyText(sessionId) {
  const r = await cdp.send('Runtime.evaluate',
    { expression: 'document.body ? document.body.innerText : ""', returnByValue: true }, sessionId);
  return r.result?.value ?? '';
}

// Loads url and waits (up to 30 s) until every string in want is on the page.
async function visit(sessionId, path, want) {
  page = path;
  const loaded = new Promise((resolve) => {
    const l = (msg) => { if (msg.method === 'Page.loadEventFired' && msg.sessionId === sessionId) resolve(); };
    cdp.on(l);
  });
  const nav = await cdp.send('Page.navigate', { url: base + path }, sessionId);
  if (nav.errorText) { fail(`${path}: navigation failed: ${nav.errorText}`); return ''; }
  await Promise.race([loaded, sleep(30000)]);
  let text = '';
  const deadline = Date.now() + 30000;
  for (;;) {
    text = await bodyText(sessionId);
    const missing = want.filter((w) => !text.includes(w));
    if (missing.length === 0) break;
    if (Date.now() > deadline) {
      fail(`${path}: the page never showed ${JSON.stringify(missing)}; it shows: ${JSON.stringify(text.slice(0, process.env.VIEWER_DEBUG ? 100000 : 400))}`);
      break;
    }
    await sleep(250);
  }
  await sleep(500); // late errors from rendering
  return text;
}

try {
  const { targetInfos } = await cdp.send('Target.getTargets');
  let target = targetInfos.find((t) => t.type === 'page');
  const targetId = target ? target.targetId : (await cdp.send('Target.createTarget', { url: 'about:blank' })).targetId;
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
  await cdp.send('Runtime.enable', {}, sessionId);
  await cdp.send('Log.enable', {}, sessionId);
  await cdp.send('Page.enable', {}, sessionId);

  const seen = new Set();
  for (const f of files) {
    const want = targetTexts(docs[f]);
    const text = await visit(sessionId, `/transcript/${encodeURIComponent(f)}`, want);
    for (const e of expects) if (text.includes(e)) seen.add(e);
    console.log(`ok page ${f}: shows ${want.length} target replies`);
  }
  // The home page counts every transcript and shows its rows: the table
  // is virtualised (only the rows on screen are in the DOM, and the ID
  // column shows what follows the id's last '_'), so with a few files every
  // row is checked -- id and judge summary -- and with many, the count and
  // the rows on screen.
  const n = files.length;
  const home = await visit(sessionId, '/', [`Showing ${n} of ${n} transcripts`]);
  let rows = 0;
  for (const f of files) {
    const m = docs[f].metadata;
    const shown = home.includes('#' + m.transcript_id.split('_').pop());
    if (shown && m.judge_output?.summary && !home.includes(m.judge_output.summary))
      fail(`home page row of ${f} lacks its judge summary`);
    rows += shown;
    if (!shown && n <= 5) fail(`home page does not list ${f}`);
  }
  if (rows === 0) fail('home page shows no transcript row');
  if (process.env.VIEWER_EXTRA_PATH) await visit(sessionId, process.env.VIEWER_EXTRA_PATH, []);
  console.log(`ok home page counts ${n} transcript(s), shows ${rows} row(s) with their summaries`);
  for (const e of expects) if (!seen.has(e)) fail(`no page shows expected text ${JSON.stringify(e)}`);
  await cdp.send('Browser.close').catch(() => {});
  await browserGone();
} catch (e) {
  fail(`chromium: ${e.message}\n${browserErr.slice(-2000)}`);
}
await browserGone();
for (const e of pageErrors) fail(e);

if (failures.length) {
  console.log(`viewer log:\n${viewerLog.slice(-3000)}`);
  console.log(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`PASS: ${files.length} transcript(s) validated, served and rendered with no errors`);
process.exit(0);
