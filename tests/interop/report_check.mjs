// report_check.mjs - opens a `seer leaderboard --format html` report in
// headless Chromium and checks that what a reader sees is what the JSON
// output says.
//
// usage: node report_check.mjs REPORT.html LEADERBOARD.json [--chromium PATH]
//
// Checks:
//   1. the page loads from file:// with no console error, no uncaught
//      exception, no browser log error, and requests nothing but itself
//      (the report must work offline);
//   2. it renders: the ranking table, one SVG bar per group, the heat map
//      (groups x dimensions), the drill-down, and "expand all" opens it;
//   3. the embedded <script id="seer-data"> JSON equals LEADERBOARD.json
//      (deep equality), and every ranking cell shown (rank, name, value,
//      CI bounds, SE, n, failure counts) equals the JSON number formatted
//      as the report formats it (3 decimals; rates as percentages with 1
//      decimal; "-" for null), and so do the paired comparison with rank 1
//      (difference, p, pairs); every heat map cell equals its mean (2
//      decimals).
// Chromium is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-terminated JSON messages, we write fd 3
// and read fd 4), so no npm browser driver is needed.
//
// Exit: 0 pass, 1 fail (each failure printed), 77 skipped (no Chromium).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--chromium') chromium = args[++i];
  else files.push(args[i]);
}
if (files.length !== 2) {
  console.error('usage: node report_check.mjs REPORT.html LEADERBOARD.json [--chromium PATH]');
  process.exit(2);
}
if (!existsSync(chromium)) {
  console.log(`SKIP: no Chromium at ${chromium} (apt-get install -y chromium, or set CHROMIUM)`);
  process.exit(77);
}
const reportPath = resolve(files[0]);
const expected = JSON.parse(readFileSync(files[1], 'utf8'));
const pageUrl = pathToFileURL(reportPath).href;

const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`FAIL: ${msg}`); };

// ---- a minimal DevTools-protocol client over the pipe -----------------------
const profile = mkdtempSync(join(tmpdir(), 'seer-report-chromium-'));
const browser = spawn(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--mute-audio',
  `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let browserLog = '';
browser.stderr.on('data', (d) => { browserLog += d; });

let nextId = 1;
const pending = new Map();
const listeners = [];
let inbuf = Buffer.alloc(0);
browser.stdio[4].on('data', (chunk) => {
  inbuf = Buffer.concat([inbuf, chunk]);
  let nul;
  while ((nul = inbuf.indexOf(0)) >= 0) {
    const msg = JSON.parse(inbuf.subarray(0, nul).toString('utf8'));
    inbuf = inbuf.subarray(nul + 1);
    if (msg.id && pending.has(msg.id)) {
      const { ok, ko } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) ko(new Error(`${msg.error.message} (${msg.error.code})`));
      else ok(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const m = { id, method, params };
  if (sessionId) m.sessionId = sessionId;
  browser.stdio[3].write(JSON.stringify(m) + '\0');
  return new Promise((ok, ko) => pending.set(id, { ok, ko }));
}
function waitFor(pred, ms, what) {
  return new Promise((ok, ko) => {
    const t = setTimeout(() => ko(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    listeners.push((m) => { if (pred(m)) { clearTimeout(t); ok(m); } });
  });
}
const exitCode = new Promise((ok) => browser.on('exit', ok));

// ---- formatting as the report does ------------------------------------------
const pct = expected.metric.kind === 'elicitation';
const fmt = (v, asPct) => (v === null || v === undefined) ? '-'
  : asPct ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);
// JavaScript's toFixed and C's printf round a few halfway cases differently;
// compare the numbers within half a unit of the last shown digit instead.
function sameShown(shown, v, asPct, digits, what) {
  if (v === null || v === undefined) {
    if (shown !== '-') fail(`${what}: shown "${shown}", JSON null`);
    return;
  }
  const num = parseFloat(shown.replace('%', ''));
  const want = asPct ? v * 100 : v;
  const tol = 0.5 * 10 ** -digits + 1e-9;
  if (!(Math.abs(num - want) <= tol)) fail(`${what}: shown "${shown}", JSON ${v}`);
}

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const requests = [];
  listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert'))
      fail(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    if (m.method === 'Runtime.exceptionThrown')
      fail(`uncaught exception: ${m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text}`);
    if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error')
      fail(`browser log error: ${m.params.entry.text} ${m.params.entry.url ?? ''}`);
    if (m.method === 'Network.requestWillBeSent') requests.push(m.params.request.url);
  });
  for (const d of ['Runtime.enable', 'Log.enable', 'Page.enable', 'Network.enable'])
    await send(d, {}, sessionId);
  const loaded = waitFor((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired', 60000, 'the page to load');
  await send('Page.navigate', { url: pageUrl }, sessionId);
  await loaded;

  const evaluate = async (expr) => {
    const r = await send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true }, sessionId);
    if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  const page = await evaluate(`(() => {
    const text = (el) => el ? el.textContent.trim() : null;
    const rows = [...document.querySelectorAll('#ranking tbody tr.group')].map((tr) => ({
      rank: text(tr.querySelector('.rank')), name: text(tr.querySelector('.name')),
      value: text(tr.querySelector('.value')), lo: text(tr.querySelector('.ci-low')),
      hi: text(tr.querySelector('.ci-high')), se: text(tr.querySelector('.se')),
      n: text(tr.querySelector('.n')), failed: text(tr.querySelector('.failed')),
      vsTop: text(tr.querySelector('.vs-top')), vsTopP: text(tr.querySelector('.vs-top-p')),
      pairs: text(tr.querySelector('.pairs')),
      judge_failed: text(tr.querySelector('.judge-failed')),
      audit_failed: text(tr.querySelector('.audit-failed')),
      other: text(tr.querySelector('.other-failed')),
    }));
    const heat = [...document.querySelectorAll('#heatmap tbody tr')].map((tr) => ({
      name: text(tr.querySelector('th')), cells: [...tr.querySelectorAll('td')].map(text) }));
    const heatDims = [...document.querySelectorAll('#heatmap thead th.dim')].map(text);
    const data = document.getElementById('seer-data');
    const closedBefore = document.querySelectorAll('#drilldown details:not([open])').length;
    const btn = document.getElementById('expand-all');
    if (btn) btn.click();
    const openAfter = document.querySelectorAll('#drilldown details[open]').length;
    const links = [...document.querySelectorAll('#drilldown a')].map((a) => a.getAttribute('href'));
    return { rows, heat, heatDims, data: data ? data.textContent : null,
      bars: document.querySelectorAll('svg#bars g.bar').length,
      barValues: [...document.querySelectorAll('svg#bars g.bar')].map((g) => ({
        name: g.dataset.name, value: text(g.querySelector('rect title')),
        width: g.querySelector('rect') ? g.querySelector('rect').getBBox().width : null })),
      whiskers: document.querySelectorAll('svg#bars line.whisker').length,
      barWidth: document.querySelector('svg#bars') ? document.querySelector('svg#bars').getBoundingClientRect().width : 0,
      closedBefore, openAfter, links, title: document.title,
      metric: text(document.getElementById('metric')) };
  })()`);

  // 1. nothing but the page itself was requested
  for (const u of requests)
    if (u !== pageUrl && !u.startsWith('data:') && !u.startsWith('about:'))
      fail(`the report requested ${u} (it must be self-contained)`);

  // 2. it renders
  const groups = expected.groups;
  if (page.rows.length !== groups.length) fail(`ranking shows ${page.rows.length} rows, JSON has ${groups.length} groups`);
  if (page.bars !== groups.length) fail(`bar chart has ${page.bars} bars for ${groups.length} groups`);
  const withCi = groups.filter((g) => g.ci_low !== null && g.ci_high !== null).length;
  if (page.whiskers !== withCi) fail(`bar chart has ${page.whiskers} CI whiskers, JSON has ${withCi} intervals`);
  if (!(page.barWidth > 0)) fail('the bar chart has no size (not rendered)');
  // each bar is labelled with its group's value, and longer bars mean larger values
  page.barValues.forEach((b, i) => {
    const g = groups[i];
    if (!g) return;
    if (b.name !== g.name) fail(`bar ${i + 1} is "${b.name}", ranking row is "${g.name}"`);
    if (g.value === null) { if (b.value !== null) fail(`bar ${i + 1} drawn for a group without a value`); return; }
    sameShown(b.value ?? '', g.value, pct, pct ? 1 : 3, `bar ${i + 1} (${g.name})`);
  });
  const drawn = page.barValues.map((b, i) => [b.width, groups[i]?.value]).filter(([w, v]) => w !== null && v !== null && v !== undefined);
  for (let i = 0; i < drawn.length; i++)
    for (let k = 0; k < drawn.length; k++)
      if (drawn[i][1] < drawn[k][1] && !(drawn[i][0] <= drawn[k][0] + 1e-6))
        fail(`bar for ${drawn[i][1]} is longer than the bar for ${drawn[k][1]}`);
  if (page.heatDims.length !== expected.dimensions.length) fail(`heat map has ${page.heatDims.length} dimension columns, JSON ${expected.dimensions.length}`);
  if (page.heat.length !== groups.length) fail(`heat map has ${page.heat.length} rows`);
  if (groups.length && !(page.closedBefore > 0 && page.openAfter >= page.closedBefore))
    fail(`"expand all" did not open the drill-down (${page.closedBefore} closed before, ${page.openAfter} open after)`);
  for (const h of page.links)
    if (/^[a-z]+:/i.test(h) || h.startsWith('/')) fail(`transcript link is not relative: ${h}`);
  if (page.metric !== expected.metric.name) fail(`page metric "${page.metric}", JSON "${expected.metric.name}"`);

  // 3. the numbers
  let embedded = null;
  try { embedded = JSON.parse(page.data); } catch (e) { fail(`seer-data block does not parse: ${e.message}`); }
  if (embedded && JSON.stringify(embedded) !== JSON.stringify(expected))
    fail('the seer-data JSON differs from the JSON output');
  page.rows.forEach((r, i) => {
    const g = groups[i];
    if (!g) return;
    const w = `row ${i + 1} (${g.name})`;
    if (r.name !== g.name) fail(`${w}: name shown "${r.name}"`);
    if (r.rank !== String(g.rank)) fail(`${w}: rank shown ${r.rank}, JSON ${g.rank}`);
    const valueShown = pct ? r.value.split(' ')[0] : r.value;
    sameShown(valueShown, g.value, pct, pct ? 1 : 3, `${w} value`);
    if (pct && g.value !== null && !r.value.includes(`(${g.k}/${g.n})`)) fail(`${w}: "${r.value}" lacks (${g.k}/${g.n})`);
    sameShown(r.lo, g.ci_low, pct, pct ? 1 : 3, `${w} CI low`);
    sameShown(r.hi, g.ci_high, pct, pct ? 1 : 3, `${w} CI high`);
    sameShown(r.se, g.se, pct, pct ? 1 : 3, `${w} SE`);
    if (r.n !== String(g.n)) fail(`${w}: n shown ${r.n}, JSON ${g.n}`);
    // the paired comparison with rank 1 (null for rank 1 itself)
    const vt = g.vs_top;
    if (r.pairs !== String(vt ? vt.pairs : 0)) fail(`${w}: pairs shown ${r.pairs}, JSON ${vt ? vt.pairs : 0}`);
    sameShown(r.vsTop, vt ? vt.diff : null, pct, pct ? 1 : 3, `${w} vs #1`);
    if (vt && vt.p_t !== null && vt.p_t < 0.0001) {
      if (r.vsTopP !== '<0.0001') fail(`${w}: p shown ${r.vsTopP}, JSON ${vt.p_t}`);
    } else {
      sameShown(r.vsTopP, vt ? vt.p_t : null, false, 4, `${w} vs #1 p`);
    }
    if (r.failed !== String(g.failed.samples)) fail(`${w}: failed shown ${r.failed}, JSON ${g.failed.samples}`);
    if (r.judge_failed !== String(g.failed.judge_failed)) fail(`${w}: judge_failed shown ${r.judge_failed}`);
    if (r.audit_failed !== String(g.failed.audit_failed)) fail(`${w}: audit_failed shown ${r.audit_failed}`);
    if (r.other !== String(g.failed.other)) fail(`${w}: other shown ${r.other}`);
    const h = page.heat[i];
    if (!h || h.name !== g.name) { fail(`${w}: heat map row is "${h?.name}"`); return; }
    expected.dimensions.forEach((d, k) => {
      sameShown(h.cells[k], g.dimensions[d.name].mean, false, 2, `${w} heat ${d.name}`);
    });
  });
  console.log(`checked ${page.rows.length} ranking rows, ${page.heat.length}x${page.heatDims.length} heat map cells, ${page.links.length} transcript links, ${requests.length} request(s)`);
}

let code = 0;
try {
  await main();
  code = failures.length ? 1 : 0;
} catch (e) {
  console.log(`FAIL: ${e.message}`);
  if (browserLog) console.log(browserLog.split('\n').slice(-20).join('\n'));
  code = 1;
}
try { await send('Browser.close'); } catch { /* already gone */ }
const t = setTimeout(() => browser.kill('SIGKILL'), 5000);
await exitCode;
clearTimeout(t);
rmSync(profile, { recursive: true, force: true });
console.log(code === 0 ? 'PASS' : `${failures.length || 1} failure(s)`);
process.exit(code);
