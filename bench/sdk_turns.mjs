// sdk_turns.mjs - the Node side of bench/bench_agent: the same 30-turn
// tool-using conversation as seer's agent loop, driven by the official
// @anthropic-ai/sdk against the same fake provider, so the two clients'
// CPU per turn and memory per conversation can be compared.
//
//   node bench/sdk_turns.mjs --url http://127.0.0.1:PORT --fixture FILE
//        [--agents N] [--turns T] [--stream] [--sdk-dir DIR]
//
// The fixture (written by bench_agent) holds the model name, system prompt,
// tool schemas, first user message and the exact tool result strings, so both
// clients send the same bytes.  Every turn: send the whole conversation, append
// the assistant message, run each tool_use block (the result is fixture
// result number (tool call count % results.length), as seer's tool does),
// append one user message with the tool_result blocks, repeat for T turns.
// The request has the shape seer's anthropic provider builds (see
// buildParams), prompt-cache breakpoints included.
//
// Measurement, after one warm-up conversation (JIT, connection, lazy init):
// process.cpuUsage() around N concurrent conversations (Promise.all) and the
// peak resident set during them: the kernel's high-water mark is reset
// (/proc/self/clear_refs "5") at the baseline and read back (VmHWM) at the end,
// so the peak is exact rather than sampled.  One JSON line goes to stdout.
//
// DESIGN: one process, one SDK client shared by every conversation (as seer
// shares one seer_model), default SDK options except the base URL and key.
// Node is single-threaded here, so counters need no care.

import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

function parseArgs(argv) {
  const o = { agents: 1, turns: 30, stream: false, url: null, fixture: null, sdkDir: null };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--stream') o.stream = true;
    else if (a === '--url' && v) { o.url = v; i++; }
    else if (a === '--fixture' && v) { o.fixture = v; i++; }
    else if (a === '--agents' && v) { o.agents = Number(v); i++; }
    else if (a === '--turns' && v) { o.turns = Number(v); i++; }
    else if (a === '--sdk-dir' && v) { o.sdkDir = v; i++; }
    else throw new Error(`sdk_turns: bad or incomplete argument '${a}'`);
  }
  if (!o.url || !o.fixture) throw new Error('sdk_turns: --url and --fixture are required');
  if (!(o.agents >= 1) || !(o.turns >= 1)) throw new Error('sdk_turns: --agents and --turns must be >= 1');
  return o;
}

async function loadSdk(sdkDir) {
  // The SDK lives in tests/interop/node_modules (scripts/install-peers.sh),
  // not next to this script, so resolve it from there.
  const base = sdkDir ? pathToFileURL(sdkDir.replace(/\/?$/, '/') + 'package.json')
                      : new URL('../tests/interop/package.json', import.meta.url);
  const require = createRequire(base);
  const main = require.resolve('@anthropic-ai/sdk');
  const mod = await import(pathToFileURL(main).href);
  const Anthropic = mod.default?.default ?? mod.default ?? mod.Anthropic;
  // package.json is not in the SDK's "exports"; read it from its directory.
  const version = JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')).version;
  return { Anthropic, version };
}

function statusKb(field) {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : -1;
}

const EPHEMERAL = { type: 'ephemeral' };

// A copy of message m whose last content block carries a cache breakpoint.
// The stored history is never modified.
function marked(m) {
  const c = m.content;
  return { role: m.role, content: c.map((b, i) => (i === c.length - 1 ? { ...b, cache_control: EPHEMERAL } : b)) };
}

// The request seer's anthropic provider builds for the same conversation:
// system as a text block, tool_choice auto, and cache_control on the last
// tool, the system block, the newest message's last block and the last block
// of the user turn before it (where the previous request ended).
function buildParams(fx, messages) {
  const tools = fx.tools.map((t, i) => (i === fx.tools.length - 1 ? { ...t, cache_control: EPHEMERAL } : t));
  const last = messages.length - 1;
  let prevUser = -1;
  for (let i = last - 1; i >= 0; i--) if (messages[i].role === 'user') { prevUser = i; break; }
  return {
    model: fx.model,
    max_tokens: fx.max_tokens,
    system: [{ type: 'text', text: fx.system, cache_control: EPHEMERAL }],
    messages: messages.map((m, i) => (i === last || i === prevUser ? marked(m) : m)),
    tools,
    tool_choice: { type: 'auto' },
  };
}

async function conversation(client, fx, opts, counters) {
  const messages = [{ role: 'user', content: [{ type: 'text', text: fx.prompt }] }];
  for (let t = 0; t < opts.turns; t++) {
    const params = buildParams(fx, messages);
    const msg = opts.stream ? await client.messages.stream(params).finalMessage()
                            : await client.messages.create(params);
    counters.turns++;
    messages.push({ role: 'assistant', content: msg.content });
    const results = [];
    for (const b of msg.content) {
      if (b.type !== 'tool_use') continue;
      const text = fx.results[counters.toolCalls++ % fx.results.length];
      results.push({ type: 'tool_result', tool_use_id: b.id, content: text });
    }
    if (results.length === 0) break; // the model stopped: the conversation is over
    messages.push({ role: 'user', content: results });
  }
  return messages.length;
}

async function main() {
  const opts = parseArgs(process.argv);
  const fx = JSON.parse(readFileSync(opts.fixture, 'utf8'));
  const { Anthropic, version } = await loadSdk(opts.sdkDir);
  const client = new Anthropic({ apiKey: 'sk-bench-not-a-secret', baseURL: opts.url });

  // Warm-up: one full conversation, not measured.
  const warm = { turns: 0, toolCalls: 0 };
  await conversation(client, fx, opts, warm);

  const counters = { turns: 0, toolCalls: 0, errors: 0, firstError: '' };
  const rssBase = process.memoryUsage().rss;
  let hwmReset = true;
  try { writeFileSync('/proc/self/clear_refs', '5'); } catch { hwmReset = false; }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const runs = [];
  for (let i = 0; i < opts.agents; i++) {
    runs.push(conversation(client, fx, opts, counters).catch((e) => {
      counters.errors++;
      if (!counters.firstError) counters.firstError = String(e?.message ?? e).slice(0, 200);
    }));
  }
  await Promise.all(runs);
  const wallNs = process.hrtime.bigint() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rssEnd = process.memoryUsage().rss;
  // Without a resettable high-water mark the lifetime peak is the best we have.
  const peakKb = statusKb('VmHWM');

  const out = {
    side: 'sdk',
    sdk_version: version,
    node_version: process.version,
    agents: opts.agents,
    turns_per_agent: opts.turns,
    stream: opts.stream,
    turns: counters.turns,
    tool_calls: counters.toolCalls,
    errors: counters.errors,
    first_error: counters.firstError,
    cpu_user_us: cpu.user,
    cpu_sys_us: cpu.system,
    wall_s: Number(wallNs) / 1e9,
    rss_base_kb: Math.round(rssBase / 1024),
    rss_peak_kb: peakKb,
    rss_end_kb: Math.round(rssEnd / 1024),
    hwm_reset: hwmReset,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`sdk_turns: ${e?.stack ?? e}\n`);
  process.exit(1);
});
