// sdk_client.mjs - drives an MCP server with the official TypeScript SDK
// client and prints what it saw as one JSON object on stdout, for
// tests/test_mcp_http_interop.c to assert on.
//
//   node sdk_client.mjs stdio COMMAND ARGS...   (StdioClientTransport)
//   node sdk_client.mjs http URL [TOKEN]        (StreamableHTTPClientTransport)
//
// Calls made: initialize (by connect), ping, tools/list, calculator "(2+3)*4",
// calculator with no arguments (expects an isError result or a JSON-RPC
// error), an unknown tool, clock; then closes (DELETE over HTTP).  Any
// failure prints {"ok":false,"error":...} and exits 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, ...rest] = process.argv.slice(2);

function transportFor() {
  if (mode === "stdio") {
    const [command, ...args] = rest;
    return new StdioClientTransport({ command, args, stderr: "ignore" });
  }
  if (mode === "http") {
    const [url, token] = rest;
    const opts = token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {};
    return new StreamableHTTPClientTransport(new URL(url), opts);
  }
  throw new Error(`usage: sdk_client.mjs stdio COMMAND ARGS... | http URL [TOKEN]`);
}

// Calls a tool; a JSON-RPC error is reported as {rpcError: code} rather than thrown.
async function call(client, name, args) {
  try {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
    return { isError: !!r.isError, text, structured: r.structuredContent ?? null };
  } catch (e) {
    return { rpcError: e.code ?? null, message: String(e.message || e) };
  }
}

async function main() {
  const client = new Client({ name: "seer-interop-sdk", version: "1.0.0" });
  const transport = transportFor();
  await client.connect(transport);
  const out = { ok: true };
  out.serverInfo = client.getServerVersion();
  out.instructions = client.getInstructions() ?? null;
  out.capabilities = client.getServerCapabilities();
  out.sessionId = transport.sessionId ?? null;
  out.protocolVersion = transport.protocolVersion ?? null;
  out.ping = await client.ping();
  const listed = await client.listTools();
  out.tools = listed.tools.map((t) => ({ name: t.name, hasSchema: !!t.inputSchema }));
  out.calc = await call(client, "calculator", { expression: "(2+3)*4" });
  out.calcMissing = await call(client, "calculator", {});
  out.unknown = await call(client, "no_such_tool", {});
  out.clock = await call(client, "clock", {});
  if (transport.terminateSession) {
    await transport.terminateSession();
    out.terminated = true;
  }
  await client.close();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) }) + "\n");
  process.exit(1);
});
