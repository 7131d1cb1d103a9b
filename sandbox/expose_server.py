#!/usr/bin/env python3
"""seer's expose server: serves a Python interface file's @expose functions
as MCP tools over stdio.  Python standard library only.

    python3 expose_server.py FILE.py [--name NAME] [--list]
    seer serve expose FILE.py            (the same, found by the seer binary)

The interface file needs no seer import: `expose` and `get_model_path` are
injected into its globals (and into builtins, and as a `seer` module, so
`from seer import expose` also works).  Models are loaded at module level as
usual; the file is imported once, before the first request is read.

    @expose
    def top_features(text: str, k: int = 10) -> list:
        '''The k SAE features most active on text.'''
        ...

Each exposed function becomes a tool: its name (or @expose(name=...)), its
docstring as the description (Google-style "Args:" lines become parameter
descriptions), and an inputSchema built from the signature and type hints
(int, float, str, bool, None, list/List[X], tuple, dict/Dict[str, X],
Optional, Union, Literal, Any; parameters without defaults are required).
A call returns the function's result as JSON text (a str is returned as is)
and, for a dict, also as structuredContent.  An exception becomes an isError
result carrying "ExceptionType: message", never a crash.

get_model_path(name) looks the name up in the SEER_MODELS environment
variable (a JSON object of name -> path that the sandbox sets from the run
file's "models"; hidden models appear at neutral paths).

DESIGN: the main thread reads JSON-RPC lines from stdin and answers
initialize, ping and tools/list itself, so they are answered even while
tools run.  Each tools/call runs on a small thread pool (SEER_EXPOSE_WORKERS,
default 4), so one slow call does not hold the others back; a function
marked @expose(exclusive=True) runs alone (a process-wide lock), for code
that must never be entered twice.  Responses are written whole under a
lock.  Before the interface file is imported, file descriptor 1 is moved
aside for the protocol and fd 1 is pointed at stderr, so nothing the
interface code does -- print(), a C library, a child process -- can write
into the protocol stream.  A cancelled call that has not started is
dropped; one that is running cannot be stopped (Python threads cannot be
killed) and its late answer is ignored by the client.  A hung function is
the sandbox's business: it times the call out and restarts the server.
"""

import asyncio
import builtins
import concurrent.futures
import importlib.util
import inspect
import json
import os
import sys
import threading
import traceback
import types
import typing

SERVER_NAME = "seer-expose"
SERVER_VERSION = "0.1.0"
PROTOCOLS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

_exposed = {}  # tool name -> (function, description, schema)


# ---- what the interface file sees ------------------------------------------

def expose(fn=None, *, name=None, description=None, exclusive=False):
    """Marks a function as a tool.  Use as @expose or
    @expose(name=..., description=..., exclusive=True)."""
    def mark(f):
        tool = name or f.__name__
        if tool in _exposed:
            raise ValueError(f"@expose: a tool named {tool!r} already exists")
        _exposed[tool] = (f, description, exclusive)
        return f
    if fn is not None and callable(fn):
        return mark(fn)
    return mark


def get_model_path(name):
    """The path of model `name` inside this sandbox (from SEER_MODELS)."""
    try:
        models = json.loads(os.environ.get("SEER_MODELS") or "{}")
    except ValueError:
        models = {}
    if not isinstance(models, dict) or name not in models:
        raise KeyError(f"no model named {name!r} in this sandbox")
    return models[name]


# ---- schemas from type hints -------------------------------------------------

_SIMPLE = {int: "integer", float: "number", str: "string", bool: "boolean",
           type(None): "null", list: "array", tuple: "array", set: "array",
           frozenset: "array", dict: "object", bytes: "string"}


def schema_for(tp):
    """JSON Schema for a type hint ({} = anything)."""
    if tp is inspect.Parameter.empty or tp is typing.Any or tp is object:
        return {}
    if tp is None:
        return {"type": "null"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    union_types = (typing.Union,) + ((types.UnionType,) if hasattr(types, "UnionType") else ())
    if origin in union_types:
        non_null = [a for a in args if a is not type(None)]
        subs = [schema_for(a) for a in non_null]
        if len(args) != len(non_null):
            subs.append({"type": "null"})
        return subs[0] if len(subs) == 1 else {"anyOf": subs}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, set, frozenset):
        s = {"type": "array"}
        if args:
            s["items"] = schema_for(args[0])
        return s
    if origin is tuple:
        s = {"type": "array"}
        if args and not (len(args) == 2 and args[1] is Ellipsis):
            s["prefixItems"] = [schema_for(a) for a in args]
            s["minItems"] = s["maxItems"] = len(args)
        elif args:
            s["items"] = schema_for(args[0])
        return s
    if origin is dict:
        s = {"type": "object"}
        if len(args) == 2:
            s["additionalProperties"] = schema_for(args[1])
        return s
    if tp in _SIMPLE:
        return {"type": _SIMPLE[tp]}
    return {}


def parse_docstring(doc):
    """(description, {param: text}) from a docstring with an optional Args: section."""
    if not doc:
        return "", {}
    lines = doc.splitlines()
    desc, params, current, in_args = [], {}, None, False
    for line in lines:
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:", "params:"):
            in_args = True
            continue
        if in_args:
            if stripped.endswith(":") and " " not in stripped:  # next section
                in_args = False
                desc.append(line)
                continue
            head, sep, text = stripped.partition(":")
            if sep and head and " " not in head.split("(")[0].strip():
                current = head.split("(")[0].strip()
                params[current] = text.strip()
            elif current and stripped:
                params[current] = (params[current] + " " + stripped).strip()
            continue
        desc.append(line)
    return "\n".join(desc).strip(), params


def build_tool(name, fn, description):
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to raw hints
        hints = getattr(fn, "__annotations__", {})
    doc_desc, doc_params = parse_docstring(inspect.getdoc(fn))
    props, required = {}, []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        s = dict(schema_for(hints.get(p.name, p.annotation)))
        if p.name in doc_params and doc_params[p.name]:
            s["description"] = doc_params[p.name]
        if p.default is p.empty:
            required.append(p.name)
        else:
            try:
                json.dumps(p.default)
                s["default"] = p.default
            except (TypeError, ValueError):
                pass
        props[p.name] = s
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        schema["additionalProperties"] = False
    tool = {"name": name, "description": description or doc_desc or name,
            "inputSchema": schema}
    return tool


# ---- loading the interface file --------------------------------------------

def load_interface(path):
    sys.dont_write_bytecode = True  # never litter the interface file's folder
    shim = types.ModuleType("seer")
    shim.expose = expose
    shim.get_model_path = get_model_path
    sys.modules.setdefault("seer", shim)
    builtins.expose = expose
    builtins.get_model_path = get_model_path
    modname = os.path.splitext(os.path.basename(path))[0] or "interface"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    mod.expose = expose
    mod.get_model_path = get_model_path
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    tools = {}
    for name, (fn, description, exclusive) in _exposed.items():
        tools[name] = (fn, build_tool(name, fn, description), exclusive)
    return mod, tools


# ---- the protocol ------------------------------------------------------------

class Server:
    def __init__(self, tools, instructions, out, workers):
        self.tools = tools
        self.instructions = instructions
        self.out = out
        self.out_lock = threading.Lock()
        self.exclusive = threading.Lock()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.cancelled = set()
        self.state_lock = threading.Lock()

    def send(self, msg):
        data = json.dumps(msg, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self.out_lock:
            self.out.write(data)
            self.out.flush()

    def result(self, rid, result):
        self.send({"jsonrpc": "2.0", "id": rid, "result": result})

    def error(self, rid, code, message):
        self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})

    def handle(self, line):
        try:
            msg = json.loads(line)
        except ValueError:
            self.error(None, -32700, "parse error")
            return
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
            self.error(msg.get("id") if isinstance(msg, dict) else None, -32600,
                       "invalid request")
            return
        method, rid = msg.get("method"), msg.get("id")
        if method is None:
            return  # a response to something we never ask: ignore
        params = msg.get("params") or {}
        if "id" not in msg:
            if method == "notifications/cancelled" and isinstance(params, dict):
                with self.state_lock:
                    self.cancelled.add(json.dumps(params.get("requestId")))
            return  # other notifications (initialized): nothing to do
        if method == "initialize":
            asked = params.get("protocolVersion") if isinstance(params, dict) else None
            res = {"protocolVersion": asked if asked in PROTOCOLS else PROTOCOLS[0],
                   "capabilities": {"tools": {"listChanged": False}},
                   "serverInfo": {"name": SERVER_NAME, "version": SERVER_VERSION}}
            if self.instructions:
                res["instructions"] = self.instructions
            self.result(rid, res)
        elif method == "ping":
            self.result(rid, {})
        elif method == "tools/list":
            self.result(rid, {"tools": [t for _, t, _ in self.tools.values()]})
        elif method == "tools/call":
            try:
                self.pool.submit(self.call, rid, params)
            except RuntimeError as e:
                # No new worker thread: the sandbox's max_processes counts
                # threads too.  The call is already queued, so an existing
                # worker runs it once free; with no worker at all, answer.
                if not getattr(self.pool, "_threads", None):
                    with self.state_lock:
                        self.cancelled.add(json.dumps(rid))
                    self.result(rid, tool_error(f"cannot start a thread for the call ({e}); "
                                                "is max_processes reached?"))
        else:
            self.error(rid, -32601, f"method not found: {method}")

    def call(self, rid, params):
        with self.state_lock:
            key = json.dumps(rid)
            if key in self.cancelled:  # cancelled before it started: no answer
                self.cancelled.discard(key)
                return
        try:
            self.run_call(rid, params)
        except BaseException:  # never lose a worker thread silently
            traceback.print_exc(file=sys.stderr)
            self.result(rid, tool_error("internal error in the expose server"))

    def run_call(self, rid, params):
        if not isinstance(params, dict) or not isinstance(params.get("name"), str):
            self.error(rid, -32602, "tools/call needs a tool name")
            return
        name, args = params["name"], params.get("arguments") or {}
        if name not in self.tools:
            self.error(rid, -32602, f"unknown tool: {name}")
            return
        if not isinstance(args, dict):
            self.result(rid, tool_error("arguments must be an object"))
            return
        fn, tool, exclusive = self.tools[name]
        schema = tool["inputSchema"]
        missing = [p for p in schema.get("required", []) if p not in args]
        if missing:
            self.result(rid, tool_error("missing argument(s): " + ", ".join(missing)))
            return
        if schema.get("additionalProperties") is False:
            extra = [a for a in args if a not in schema["properties"]]
            if extra:
                self.result(rid, tool_error("unexpected argument(s): " + ", ".join(extra)))
                return
        try:
            if exclusive:
                with self.exclusive:
                    value = self.invoke(fn, args)
            else:
                value = self.invoke(fn, args)
        except BaseException as e:  # SystemExit, MemoryError included: report, keep serving
            traceback.print_exc(file=sys.stderr)
            self.result(rid, tool_error(f"{type(e).__name__}: {e}"))
            return
        if isinstance(value, str):
            self.result(rid, {"content": [{"type": "text", "text": value}]})
            return
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError) as e:
            self.result(rid, tool_error(f"result is not JSON-serializable: {e}"))
            return
        res = {"content": [{"type": "text", "text": text}]}
        if isinstance(value, dict):
            res["structuredContent"] = value
        self.result(rid, res)

    @staticmethod
    def invoke(fn, args):
        value = fn(**args)
        if inspect.iscoroutine(value):
            value = asyncio.run(value)
        return value


def tool_error(text):
    return {"content": [{"type": "text", "text": text}], "isError": True}


def protect_stdout():
    """Moves fd 1 aside for the protocol and points fd 1 (and sys.stdout) at
    stderr.  Returns a text stream on the protocol descriptor."""
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "w", encoding="utf-8", newline="\n")


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: expose_server.py FILE.py [--list]\n")
        return 2
    path, listing = args[0], "--list" in args[1:]
    proto = protect_stdout()
    try:
        mod, tools = load_interface(path)
    except SyntaxError as e:
        # file:line:col first, as every seer error; then the line itself
        name = e.filename or path
        if os.path.abspath(name) == os.path.abspath(path):
            name = path  # as the user gave it
        sys.stderr.write(f"{name}:{e.lineno or 0}:{e.offset or 0}: SyntaxError: {e.msg}\n")
        if e.text:
            sys.stderr.write("    " + e.text.rstrip("\n") + "\n")
        sys.stderr.write(f"expose_server: cannot load {path}\n")
        return 1
    except BaseException as e:
        traceback.print_exc(file=sys.stderr)
        # the innermost frame in the interface file, as file:line
        here = os.path.abspath(path)
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if os.path.abspath(f.filename) == here]
        if frames:
            sys.stderr.write(f"{path}:{frames[-1].lineno}: {type(e).__name__}: {e}\n")
        sys.stderr.write(f"expose_server: cannot load {path}\n")
        return 1
    if listing:
        proto.write(json.dumps([t for _, t, _ in tools.values()], indent=2) + "\n")
        proto.flush()
        return 0
    try:
        workers = max(1, int(os.environ.get("SEER_EXPOSE_WORKERS", "4")))
    except ValueError:
        workers = 4
    server = Server(tools, (mod.__doc__ or "").strip(), proto, workers)
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if line:
            server.handle(line.decode("utf-8", "replace"))
    # stdin closed: the client is going away.  Do not wait for running calls
    # (they may never finish); exit at once.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
