"""A deliberately misbehaving MCP stdio server for the fault tests: it
speaks just enough of the protocol to start, then misbehaves on request.

tools: ok (answers "ok"), garbage (non-protocol bytes, then silence),
flood (a line longer than any client accepts, then a stream of
notifications, then silence)."""
import json
import sys
import time

out = sys.stdout.buffer


def send(msg):
    out.write(json.dumps(msg).encode() + b"\n")
    out.flush()


TOOLS = [{"name": n, "description": n, "inputSchema": {"type": "object"}}
         for n in ("ok", "garbage", "flood")]

for raw in sys.stdin.buffer:
    try:
        msg = json.loads(raw)
    except ValueError:
        continue
    if "id" not in msg:
        continue
    rid, method = msg["id"], msg.get("method")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "bad", "version": "0"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": TOOLS}})
    elif method == "tools/call":
        name = msg["params"]["name"]
        if name == "ok":
            send({"jsonrpc": "2.0", "id": rid,
                  "result": {"content": [{"type": "text", "text": "ok"}]}})
        elif name == "garbage":
            out.write(b"this is not json\n{\"half\":\n\x00\xff\xfe binary\n")
            out.flush()
            time.sleep(3600)
        elif name == "flood":
            chunk = b"x" * (1 << 20)
            for _ in range(20):
                out.write(chunk)
            out.write(b"\n")
            note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                               "params": {"level": "info", "data": "spam"}}).encode() + b"\n"
            for _ in range(20000):
                out.write(note)
            out.flush()
            time.sleep(3600)
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}})
