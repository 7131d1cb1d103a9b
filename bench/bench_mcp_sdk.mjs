// bench_mcp_sdk.mjs - the official MCP TypeScript SDK client's side of
// bench_mcp: tools/call round trips to the "everything" server's echo over
// stdio, N calls with K in flight, measuring this Node process's own CPU
// (process.cpuUsage: the server child is not included) and wall time.
//
// usage: node bench_mcp_sdk.mjs NODE_MODULES SERVER_JS CALLS INFLIGHT
// prints one JSON line: {"calls":N,"inflight":K,"wall_s":..,"cpu_s":..}
import path from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, serverJs, callsArg, inflightArg] = process.argv.slice(2);
const calls = Number(callsArg || 2000);
const inflight = Number(inflightArg || 1);
const sdk = (p) => pathToFileURL(path.join(nodeModules, "@modelcontextprotocol/sdk/dist/esm", p)).href;
const { Client } = await import(sdk("client/index.js"));
const { StdioClientTransport } = await import(sdk("client/stdio.js"));

const transport = new StdioClientTransport({ command: process.execPath, args: [serverJs, "stdio"], stderr: "ignore" });
const client = new Client({ name: "bench-sdk", version: "1.0.0" });
await client.connect(transport);

const echo = (i) => client.callTool({ name: "echo", arguments: { message: `m${i}` } });
for (let i = 0; i < 50; i++) await echo(i); // warm-up (JIT, server)

let next = 0;
let failures = 0;
async function worker() {
  while (next < calls) {
    const i = next++;
    const r = await echo(i);
    if (!r.content || !String(r.content[0].text).includes(`m${i}`)) failures++;
  }
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: inflight }, worker));
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
await client.close();
console.log(JSON.stringify({ calls, inflight, failures, wall_s: wall, cpu_s: (cpu.user + cpu.system) / 1e6,
                             rss_mb: process.memoryUsage().rss / 1048576 }));
