#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/seed-* from the test
suites' own fixtures (C string literals in tests/*.c) and a few hand-made
inputs.  Crash reproducers (crash-*) in the corpus are kept as they are.
Run from the repository root: python3 fuzz/make_seeds.py"""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def c_literal(path, name):
    """The bytes of `static const char *NAME = "..." "...";` (or NAME[])."""
    # preprocessed, so literals built from macros come out whole
    src = subprocess.run(["cc", "-E", "-P", "-D_GNU_SOURCE", "-I" + ROOT, "-I/usr/include/cjson",
                          os.path.join(ROOT, path)], check=True, capture_output=True).stdout.decode("latin-1")
    m = re.search(r"(?:\*\s*%s|%s\[\])\s*=\s*((?:\s*\"(?:[^\"\\]|\\.)*\")+)\s*;" % (name, name), src)
    if not m:
        raise SystemExit("%s: no literal %s" % (path, name))
    out = b""
    for part in re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1)):
        out += part.encode("latin-1").decode("unicode_escape").encode("latin-1")
    return out


def write(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


PFX = b"\x00" + b"\x5a\x17\x33\x91\x02\xc4\x6e\x08"  # choice byte + 8 split-seed bytes

ANT = "tests/test_anthropic.c"
OAI = "tests/test_openai.c"
SSE_BODY = c_literal(ANT, "SSE_BODY")
write("sse", "anthropic", b"\x00" + PFX[1:] + SSE_BODY)
write("sse", "small-bound", b"\x21" + PFX[1:] + b"event: a\ndata: x\ndata: y\nid: 7\nretry: 100\n\n: c\n\n")
write("sse", "bom-cr", b"\x00" + PFX[1:] + b"\xef\xbb\xbfdata: a\r\rdata:b\r\n\r\nid\n\n")

write("anthropic_parse", "full", PFX + c_literal(ANT, "FULL_REPLY"))
write("anthropic_parse", "raw", PFX + c_literal(ANT, "RAW_REPLY"))
write("anthropic_parse", "error-529",
      b"\x0f" + PFX[1:] + b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
write("anthropic_stream", "full", PFX + SSE_BODY)
write("anthropic_stream", "raw", PFX + c_literal(ANT, "RAW_SSE"))

completion = (b'{"id":"chatcmpl-9","object":"chat.completion","model":"m","choices":[{"index":0,'
              b'"message":{"role":"assistant","content":"Hi","tool_calls":[{"id":"c1","type":"function",'
              b'"function":{"name":"f","arguments":"{\\"a\\":1}"}}]},"finish_reason":"tool_calls"}],'
              b'"usage":{"prompt_tokens":100,"completion_tokens":30,'
              b'"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":12}}}')
write("openai_parse", "completion", PFX + completion)
write("openai_parse", "openrouter-reasoning", b"\x10" + PFX[1:] + c_literal(OAI, "rd_json_reply"))
write("openai_parse", "error-200", PFX + b'{"error":{"message":"upstream","code":502}}')
write("openai_stream", "tools", PFX + c_literal(OAI, "stream_tools"))
write("openai_stream", "openrouter-reasoning", b"\x10" + PFX[1:] + c_literal(OAI, "rd_stream"))

for i, line in enumerate([
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":"y"}}}',
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        b'{"jsonrpc":"2.0","id":"abc","result":{"tools":[]}}\r',
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":[1]}}',
        b'{"jsonrpc":"1.0","id":1}']):
    write("mcp_rpc", str(i), line)

for i, t in enumerate([b'{"a":[1,-2.5e+3,true,false,null,"\\u00e9\xc3\xa9"]}', b' [ ] ', b'"\\ud800"',
                       b'01', b'{"a":1,}']):
    write("json_valid", str(i), t)

write("journal", "agent",
      b'{"type":"start","time":"2026-11-28T10:00:00Z","model":"mockllm/model"}\n'
      b'{"type":"message","message":{"role":"user","content":[{"type":"text","text":"hi"}]}}\n'
      b'{"type":"usage","input_tokens":3,"output_tokens":4}\n'
      b'{"type":"end","status":"ok"}\n')
write("journal", "torn", b'{"type":"start"}\n{"type":"mess')
J = os.path.join(ROOT, "runs")
journal = None
for dp, _, fs in os.walk(J):
    for f in sorted(fs):
        if dp.endswith("journals") and f.endswith(".jsonl"):
            journal = os.path.join(dp, f)
            break
    if journal:
        break
if journal:  # the first lines of a real audit's per-sample journal
    lines = open(journal, "rb").read().split(b"\n")
    write("petri", "journal", b"\x00" + b"\n".join(lines[:12]) + b"\n")
    write("petri_render", "journal", b"\n".join(lines) + b"\n")
    write("petri_render", "journal-torn", b"\n".join(lines[:6]) + b"\n" + lines[6][:40])
    write("petri", "journal-torn", b"\x00" + b"\n".join(lines[:6]) + b"\n" + lines[6][:40])
write("petri", "rendered", b"\x01" + b'{"metadata":{"transcript_id":"t"},"events":[]}')

write("scenarios", "md", b"\x01" + b"## sycophancy-x\ntags: sycophancy, deception\n\nAsk the target to agree.\n")
write("scenarios", "json", b"\x0b" + b'[{"id":"a-1","tags":["misuse"],"instruction":"Do it."},"plain seed"]')
write("scenarios", "text", b"\x06" + b"First seed.\n\nSecond seed.\n")

for i, v in enumerate([b"2026-11-28T10:41:05Z", b"2026-11-28t10:41:05.123456789123+05:30",
                       b" 1970-01-01 00:00:00-00:00 ", b"6m0s", b"1m30.5s", b"15ms", b"2h3m4s5ms6us7\xc2\xb5s8ns",
                       b"1.5", b"20"]):
    write("ratelimit", str(i), v)

write("env", "dialect",
      b"# c\nexport FUZZ_KEY=sekrit-123456\nA = b # c\nS='sekrit-lit'\nD=\"a\\nb\\\"c\"\nM=\"x\ny\"\n\n")
write("env", "bad", b"FUZZ_KEY=\"sekrit-unterminated\nX\n")


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


write("runfile", "example", b"\x00" + read("sandbox/examples/run.json"))
write("runfile", "all-fields", b"\x05" + b'{"target": "x", "sandboxes": {"files": {"command": ["node", "s.js"], '
      b'"expose": ["read_file"], "network": true, "workspace": {"copy": ["data/", {"from": "/abs/x", "to": "in/y"}], '
      b'"mount": [{"from": "ref", "to": "/ref", "writable": true}]}, "env": {"MODE": "test"}, "secrets": ["HF_TOKEN"], '
      b'"timeout": 2.5, "memory_mb": 512, "cpu_seconds": 30, "max_processes": 64, "restarts": 1, '
      b'"models": [{"name": "org/open", "path": "m/open"}, {"name": "org/s", "path": "/m/s", "hidden": true}]}, '
      b'"gpu": {"launcher": ["ssh", "gpu-box"], "command": ["seer", "serve", "expose", "i.py"], '
      b'"models": [{"name": "o/m", "hidden": true}]}, '
      b'"far": {"url": "https://example.org/mcp", "token_secret": "FAR_TOKEN"}, '
      b'"open": {"command": ["x"], "isolation": "none", "description": "caf\xc3\xa9"}}}')
write("runfile", "syntax", b"\x01" + b'{"sandboxes": {\n  "a": {\n    "command": [],}}}')

write("dimensions", "default", read("judge/dimensions/default.dims"))
write("dimensions", "small", c_literal("tests/test_judge.c", "small_dims"))

write("sweep", "mock", b"\x00" + read("docs/examples/sweep-mock.json"))
write("sweep", "real", b"\x01" + read("docs/examples/sweep-real.json"))

write("mock_script", "outputs",
      b'[\n  {"text": "first"},\n  {"tool_calls": [{"name": "bash", "arguments": {"cmd": "ls"}},\n'
      b'                  {"name": "read", "id": "fixed", "arguments": "{bad"}],\n   "text": "calling"},\n'
      b'  {"text": "cut", "stop_reason": "max_tokens", "usage": {"input_tokens": 7, "output_tokens": 9}}\n]\n')
write("mock_script", "bad", b'[\n  {"text": "a"},\n    {"tool_calls": [{"arguments": {}}]}\n]')
