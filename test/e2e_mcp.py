#!/usr/bin/env python3
"""End-to-end tests of agent's MCP client: the real binary against test/mock_api.py and real MCP servers.

    python3 test/e2e_mcp.py --agent ./agent [--filter S] [--label L]

Servers used:
  - @modelcontextprotocol/server-everything and @modelcontextprotocol/server-filesystem from the npm registry,
    installed once by this script with `npm install --prefix build/npm` (pinned versions below; reused when
    the right versions are already there). Without node/npm the tests that need them print
    "ok - mcp: NAME # SKIP node not found" and the others still run (under CI=true, where .ci/run installs
    them, "not ok - mcp: NAME # missing in CI: node not found").
  - Python stdio servers written by this script (PY_SERVER below): a well-behaved one, and ones that exit at
    once, hang in initialize, answer garbage, crash during tools/call, paginate tools/list, return isError,
    answer a JSON-RPC error, write to stderr, report their environment.
  - A tiny streamable-HTTP MCP server (JSON-RPC over POST; application/json answers, text/event-stream for one
    tool; Mcp-Session-Id) running in this process.

Each test has its own mock Messages API (127.0.0.1, port 0), working directory and HOME (XDG dirs inside it),
runs the agent in print mode with a clean environment (or in tmux for /mcp) and checks what the model would see
(the tools list, tool_result blocks), stdout/stderr, exit codes and the servers' log files. One line per test:
"ok - mcp: NAME" or "not ok - mcp: NAME" with indented diagnostics. Exit status 1 when any test fails.
Python 3 standard library only (plus node/npm for the npm servers, tmux for /mcp).
"""
import base64
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib  # noqa: E402
from e2e_lib import Fail, call, calls, clip, rtext, say  # noqa: E402

NPM_DIR = os.path.join(os.path.dirname(HERE), "build", "npm")
NPM_PKGS = {
    "@modelcontextprotocol/server-everything": "2026.8.31",
    "@modelcontextprotocol/server-filesystem": "2026.8.31",
}
NPM_TIMEOUT = 900
WAIT = 20.0
BUILTIN = ["Bash", "Read", "Write", "Edit", "Glob", "Grep", "TodoWrite"]

# Filled in by setup_npm(): {"node": path, "everything": js, "filesystem": js} or {"skip": why} / {"error": why}
NPM = {}


class McpSuite(e2e_lib.Suite):
    """Tests registered with @test(node=True) need the npm servers: installed once before the tests; without
    node/npm they are skipped ("ok - mcp: NAME # SKIP why", counted as skipped, the reason in the summary), and
    under CI=true, where .ci/run installs node and npm, they fail."""

    def before(self, args, tests):
        if any(opts.get("node") for _, _, opts in tests):
            setup_npm()
        if "error" in NPM:
            return [("npm install", e2e_lib.Outcome(False, NPM["error"].split("\n")))]
        return []

    def schedule(self, pool, ctx, agent, args, name, fn, opts):
        if opts.get("node") and "skip" in NPM:
            return e2e_lib.skip_outcome(NPM["skip"], peer=True)
        if opts.get("node") and "error" in NPM:
            return e2e_lib.Outcome(False, note=": npm install failed")
        return super().schedule(pool, ctx, agent, args, name, fn, opts)

    def summary_note(self, skipped):
        return " (%s)" % NPM["skip"] if skipped else ""


SUITE = McpSuite("mcp")
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# npm servers

def setup_npm():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        NPM["skip"] = "node not found" if not node else "npm not found"
        return
    paths = {}
    for pkg in NPM_PKGS:
        paths[pkg] = os.path.join(NPM_DIR, "node_modules", pkg)

    def have():
        for pkg, ver in NPM_PKGS.items():
            try:
                with open(os.path.join(paths[pkg], "package.json")) as f:
                    if json.load(f).get("version") != ver:
                        return False
            except (OSError, ValueError):
                return False
        return True

    if not have():
        os.makedirs(NPM_DIR, exist_ok=True)
        argv = [npm, "install", "--prefix", NPM_DIR, "--no-audit", "--no-fund"] + \
               ["%s@%s" % kv for kv in NPM_PKGS.items()]
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            NPM["error"] = "%s: timed out after %d s" % (" ".join(argv), NPM_TIMEOUT)
            return
        if r.returncode != 0 or not have():
            NPM["error"] = "%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                                 r.stdout.decode("utf-8", "replace")[-1500:])
            return
    NPM["node"] = node
    NPM["everything"] = os.path.join(paths["@modelcontextprotocol/server-everything"], "dist", "index.js")
    NPM["filesystem"] = os.path.join(paths["@modelcontextprotocol/server-filesystem"], "dist", "index.js")


def everything_cfg():
    return {"command": NPM["node"], "args": [NPM["everything"], "stdio"]}


def filesystem_cfg(*dirs):
    return {"command": NPM["node"], "args": [NPM["filesystem"]] + list(dirs)}


# ---------------------------------------------------------------------------------------------------------
# A Python stdio MCP server, one script, behaviour chosen by argv[1]; argv[2] (optional) a file where each
# received method (or "response"/"notification") is logged, one per line.

PY_SERVER = r'''
import json, os, sys, time
mode = sys.argv[1]
log = sys.argv[2] if len(sys.argv) > 2 else None
def L(s):
    if log:
        with open(log, "a") as f:
            f.write(s + "\n")
def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
L("start " + mode)
if mode == "exit":
    sys.stderr.write("py-exit: giving up at once\n")
    sys.exit(3)
if mode == "hang":
    end = time.time() + 60
    while time.time() < end:
        time.sleep(0.2)
    sys.exit(0)
if mode == "stderr":
    sys.stderr.write("PYSTDERR-MARKER-1 hello from the server's stderr\n")
    sys.stderr.flush()
OBJ = {"type": "object", "properties": {}}
TOOLS = [
    {"name": "ping_tool", "description": "Answers pong.", "inputSchema": OBJ},
    {"name": "env_dump", "description": "Reports the server's environment as JSON.", "inputSchema": OBJ},
    {"name": "fail_tool", "description": "Always fails (isError).", "inputSchema": OBJ},
    {"name": "rpc_error", "description": "Answers a JSON-RPC error.", "inputSchema": OBJ},
    {"name": "crash", "description": "Exits in the middle of the call.", "inputSchema": OBJ},
    {"name": "slow", "description": "Sleeps N seconds.", "inputSchema": {"type": "object",
     "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]}},
    {"name": "shout", "description": "Upper-cases its text.", "inputSchema": {"type": "object",
     "properties": {"text": {"type": "string", "description": "what to shout"}}, "required": ["text"]}},
    {"name": "two_texts", "description": "Two text items.", "inputSchema": OBJ},
    {"name": "grow", "description": "Adds a tool.", "inputSchema": OBJ},
    {"name": "ask_roots", "description": "Asks the client for its roots.", "inputSchema": OBJ},
    {"name": "ask_user", "description": "Asks the user a question.", "inputSchema": OBJ},
    {"name": "image_nomime", "description": "An image item without mimeType.", "inputSchema": OBJ},
]
if mode == "page":
    TOOLS = [{"name": "page%d_tool" % i, "description": "tool %d" % i, "inputSchema": OBJ} for i in range(1, 6)]
if mode == "collide":     # two names that are one after sanitising ("." is not allowed in a tool name)
    TOOLS = [{"name": "a.b", "description": "dotted", "inputSchema": OBJ},
             {"name": "a_b", "description": "underscored", "inputSchema": OBJ}]
# a 1x1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        msg = json.loads(line)
    except ValueError:
        L("bad json " + line[:80])
        continue
    m = msg.get("method")
    if m is None:
        L("response")
        continue
    L(m)
    if "id" not in msg:
        continue
    mid = msg["id"]
    p = msg.get("params") or {}
    if mode == "garbage":
        sys.stdout.write("this is not JSON-RPC {{{ garbage\n\x01\x02 more garbage ]]\n")
        sys.stdout.flush()
        continue
    if m == "initialize":
        out({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": p.get("protocolVersion") or "2025-06-18",
             "capabilities": {"tools": {}}, "serverInfo": {"name": "py-" + mode, "version": "1.0"}}})
    elif m == "tools/list":
        if mode == "page":
            cur = p.get("cursor")
            if cur is None:
                out({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[:2], "nextCursor": "c-2"}})
            elif cur == "c-2":
                out({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[2:4], "nextCursor": "c-3"}})
            elif cur == "c-3":
                out({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[4:]}})
            else:
                out({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "bad cursor %r" % cur}})
        else:
            out({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS}})
        if mode == "deaf":     # stops reading its stdin: a big request fills the pipe
            L("deaf")
            time.sleep(60)
            sys.exit(0)
    elif m == "tools/call":
        name = p.get("name")
        args = p.get("arguments") or {}
        L("call " + json.dumps({"name": name, "arguments": args}))
        def text(t, err=False):
            r = {"content": [{"type": "text", "text": t}]}
            if err:
                r["isError"] = True
            out({"jsonrpc": "2.0", "id": mid, "result": r})
        if name == "ping_tool" or name.startswith("page") or mode == "collide":
            text("pong from %s" % name)
        elif name == "env_dump":
            text(json.dumps(dict(os.environ), sort_keys=True))
        elif name == "fail_tool":
            text("FAILTOOL-MARKER: the tool failed on purpose", err=True)
        elif name == "rpc_error":
            out({"jsonrpc": "2.0", "id": mid, "error": {"code": -32000, "message": "RPCERR-MARKER internal boom"}})
        elif name == "crash":
            sys.stderr.write("py-crash: dying now\n")
            sys.stderr.flush()
            os._exit(7)
        elif name == "slow":
            tok = (p.get("_meta") or {}).get("progressToken")
            if tok is not None:     # progress as the spec has it: the token the request carried
                L("progress token %r" % (tok,))
                for k in (1, 2):
                    out({"jsonrpc": "2.0", "method": "notifications/progress",
                         "params": {"progressToken": tok, "progress": k, "total": 2, "message": "step %d" % k}})
            time.sleep(float(args.get("seconds", 1)))
            text("slept")
        elif name == "shout":
            text(str(args.get("text", "")).upper())
        elif name == "grow":     # a new tool, said with notifications/tools/list_changed after the answer
            TOOLS.append({"name": "grown_tool", "description": "Added mid-session.", "inputSchema": OBJ})
            text("grown")
            out({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        elif name == "grown_tool":
            text("the grown tool ran")
        elif name in ("ask_roots", "ask_user"):     # a request of the server's own, answered on stdin
            if name == "ask_roots":
                out({"jsonrpc": "2.0", "id": "roots-1", "method": "roots/list"})
            else:
                out({"jsonrpc": "2.0", "id": 77, "method": "elicitation/create", "params": {
                     "message": "Which colour?", "requestedSchema": {"type": "object", "properties": {
                         "colour": {"type": "string", "default": "blue"}}}}})
            text(json.dumps(json.loads(sys.stdin.readline()), sort_keys=True))
        elif name == "two_texts":
            out({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "first line"},
                                                                     {"type": "text", "text": "second line"}]}})
        elif name == "image_nomime":
            out({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "NOMIME-TEXT"},
                                                                     {"type": "image", "data": PNG}]}})
        else:
            out({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "unknown tool %s" % name}})
        if mode == "stderr":
            sys.stderr.write("PYSTDERR-MARKER-2 after a call\n")
            sys.stderr.flush()
    elif m == "ping":
        out({"jsonrpc": "2.0", "id": mid, "result": {}})
    else:
        out({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found: %s" % m}})
L("eof")
if mode == "stubborn":     # does not end when its input closes: the agent must kill it
    time.sleep(30)
'''


# ---------------------------------------------------------------------------------------------------------
# A streamable-HTTP MCP server (POST JSON-RPC; one tool answers with text/event-stream)

class HttpMcp:
    SESSION = "sess-7f3a9c"

    def __init__(self):
        self.requests = []      # (method, path, headers dict lowercased, body)
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _record(self, body):
                with outer.lock:
                    outer.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                           body))

            def _send(self, status, ctype=None, body=b"", extra=None):
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._record(None)
                self._send(405, "text/plain", b"no server-initiated stream here", {"Allow": "POST, DELETE"})

            def do_DELETE(self):
                self._record(None)
                self._send(200)

            def do_POST(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    raw = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        raw += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = raw.decode("utf-8", "replace")
                self._record(msg)
                accept = self.headers.get("Accept", "")
                if "application/json" not in accept or "text/event-stream" not in accept:
                    self._send(406, "application/json", json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                        "code": -32000, "message": "Not Acceptable: Client must accept both application/json "
                        "and text/event-stream"}}).encode())
                    return
                if not isinstance(msg, dict):
                    self._send(400, "application/json", b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,'
                                                          b'"message":"Parse error"}}')
                    return
                m = msg.get("method")
                if m != "initialize" and self.headers.get("Mcp-Session-Id") != HttpMcp.SESSION:
                    self._send(400, "application/json", json.dumps({"jsonrpc": "2.0", "id": msg.get("id"), "error": {
                        "code": -32000, "message": "Bad Request: missing or wrong Mcp-Session-Id"}}).encode())
                    return
                if "id" not in msg or m is None:
                    self._send(202)
                    return
                mid = msg["id"]
                p = msg.get("params") or {}
                sid = {"Mcp-Session-Id": HttpMcp.SESSION}
                if m == "initialize":
                    res = {"protocolVersion": p.get("protocolVersion") or "2025-06-18",
                           "capabilities": {"tools": {}}, "serverInfo": {"name": "py-http", "version": "1.0"}}
                elif m == "tools/list":
                    res = {"tools": [
                        {"name": "hello", "description": "Greets (application/json answer).",
                         "inputSchema": {"type": "object", "properties": {"who": {"type": "string"}},
                                         "required": ["who"]}},
                        {"name": "streamed", "description": "Answers over text/event-stream.",
                         "inputSchema": {"type": "object", "properties": {}}}]}
                elif m == "tools/call" and p.get("name") == "hello":
                    res = {"content": [{"type": "text", "text": "HTTP-HELLO %s" % (p.get("arguments") or {}).get("who")}]}
                elif m == "tools/call" and p.get("name") == "streamed":
                    self._sse(mid)
                    return
                else:
                    self._send(200, "application/json", json.dumps({"jsonrpc": "2.0", "id": mid, "error": {
                        "code": -32601, "message": "method not found"}}).encode(), sid)
                    return
                self._send(200, "application/json", json.dumps({"jsonrpc": "2.0", "id": mid, "result": res}).encode(),
                           sid)

            def _sse(self, mid):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Mcp-Session-Id", HttpMcp.SESSION)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                events = [
                    "event: message\nid: e1\ndata: " + json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                                                 "params": {"level": "info", "data": "working"}}) + "\n\n",
                    ": a comment line\n\n",
                    "event: message\nid: e2\ndata: " + json.dumps({"jsonrpc": "2.0", "id": mid, "result": {
                        "content": [{"type": "text", "text": "SSE-STREAMED-RESULT part one"},
                                    {"type": "text", "text": "part two"}]}}) + "\n\n",
                ]
                for ev in events:
                    data = ev.encode()
                    for i in range(0, len(data), 40):     # in small pieces, as a real stream arrives
                        piece = data[i:i + 40]
                        self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                        self.wfile.flush()
                        time.sleep(0.005)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/mcp" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def posts(self):
        with self.lock:
            return [r for r in self.requests if r[0] == "POST"]


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): MCP servers in .mcp.json, their logs, processes left behind

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-mcp-"
    RUN_TIMEOUT = 60

    def __init__(self, agent, name):
        super().__init__(agent, name)
        self.bin = os.path.join(self.root, "bin")
        os.makedirs(self.bin)
        self.pyserver = os.path.join(self.bin, "pyserver.py")
        with open(self.pyserver, "w") as f:
            f.write(PY_SERVER)
        self.https = []

    def write_json(self, path, obj):
        return self.write(path, json.dumps(obj, indent=2))

    def py(self, mode, log=None):
        """Config of a Python stdio server in the given mode; log: a file name under root for its method log."""
        args = [self.pyserver, mode]
        if log:
            args.append(os.path.join(self.root, log))
        return {"command": sys.executable, "args": args}

    def methods(self, log):
        try:
            with open(os.path.join(self.root, log)) as f:
                return [ln.rstrip("\n") for ln in f]
        except OSError:
            return []

    def mcp_json(self, servers, approve=True):
        """Write .mcp.json in the working directory; approve: and approve its servers as the user does, by
        trusting the folder and then in .claude/settings.local.json (a project's servers start only when
        approved)."""
        if approve:
            self.trust()
            self.write_json(".claude/settings.local.json", {"enableAllProjectMcpServers": True})
        return self.write_json(".mcp.json", {"mcpServers": servers})

    def http_mcp(self):
        h = HttpMcp()
        self.https.append(h)
        return h

    def log_dir(self):
        return os.path.join(self.home, "state", "agent", "mcp-logs")

    def leftovers(self):
        """Processes still running with this test's HOME in their environment (the agent passes its own to the
        MCP servers it starts; the tmux server and the pane's shell do not have it there)."""
        mark = ("HOME=%s" % self.home).encode()
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
                if mark not in env:
                    continue
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
                with open("/proc/%s/stat" % d) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                out.append((int(d), cmd.strip()))
        return out

    def no_leftovers(self, what="after the agent exited"):
        deadline = time.monotonic() + 3
        while True:
            left = self.leftovers()
            if not left:
                return
            if time.monotonic() > deadline:
                raise Fail("MCP server processes still running %s: %r" % (what, left))
            time.sleep(0.1)

    def teardown(self):
        for h in self.https:
            h.stop()
        for pid, _ in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def tools(self, srv, i=0):
        """The tools offered in request i, by name."""
        return {t.get("name"): t for t in self.body(srv, i).get("tools") or []}

    def failed_lines(self, err, name):
        return [ln for ln in err.split("\n") if ln.startswith("agent: MCP server '%s' failed" % name)]

    def one_failed_line(self, r, name):
        ls = self.failed_lines(r.err, name)
        self.check(len(ls) == 1, "expected exactly one stderr line \"agent: MCP server '%s' failed: ...\", got %r"
                   % (name, ls))
        self.check(re.match(r"^agent: MCP server '%s' failed: \S" % re.escape(name), ls[0]),
                   "the failed line gives no reason after 'failed: ': %r" % ls[0])
        return ls[0]

    def more_diagnostics(self):
        lines = []
        for h in self.https:
            for q in h.requests:
                lines.append("http mcp: %s %s %s %s" % (q[0], q[1], json.dumps(q[2]), clip(json.dumps(q[3]), 300)))
        ld = self.log_dir()
        if os.path.isdir(ld):
            for f in sorted(os.listdir(ld)):
                try:
                    with open(os.path.join(ld, f), errors="replace") as fh:
                        lines.append("log %s: %r" % (f, clip(fh.read(), 600)))
                except OSError:
                    pass
        for f in sorted(os.listdir(self.root)):
            if f.endswith(".methods"):
                lines.append("%s: %r" % (f, self.methods(f)))
        return lines


# ---------------------------------------------------------------------------------------------------------
# server-everything

@test(node=True)
def t_everything_tools_listed_with_schema(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    tools = c.tools(srv, 0)
    for name in BUILTIN:
        c.check(name in tools, "built-in tool %s missing next to the MCP tools: %r" % (name, sorted(tools)))
    for name in ("echo", "get-sum", "get-tiny-image", "get-env"):
        c.check("mcp__everything__" + name in tools, "mcp__everything__%s not in the tools list: %r"
                % (name, sorted(tools)))
    echo = tools["mcp__everything__echo"]
    sch = echo.get("input_schema")
    c.check(isinstance(sch, dict), "input_schema of mcp__everything__echo: %r" % (sch,))
    c.eq(sch.get("type"), "object", "input_schema.type")
    c.eq(sch.get("properties"), {"message": {"type": "string", "description": "Message to echo"}},
         "input_schema.properties of mcp__everything__echo")
    c.eq(sch.get("required"), ["message"], "input_schema.required")
    c.check(isinstance(echo.get("description"), str) and echo["description"], "description of echo missing")
    s = tools["mcp__everything__get-sum"]["input_schema"]
    c.eq(sorted(s.get("properties", {})), ["a", "b"], "get-sum properties")
    c.eq(s["properties"]["a"].get("type"), "number", "get-sum a type")
    c.eq(r.out.strip(), "ok", "stdout")
    c.lacks(r.err, "Starting default (STDIO) server", "agent stderr (the server's stderr goes to its log)")
    c.no_leftovers()


@test(node=True)
def t_everything_echo_allowed_by_tool_rule(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_e1", "mcp__everything__echo", {"message": "hi"}),
                    call("toolu_e2", "mcp__everything__get-sum", {"a": 2, "b": 3}),
                    say("echoed")])
    r = c.run(srv, ["--allowedTools", "mcp__everything__echo"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_e1")
    c.not_err(b, "allowed echo")
    c.has(rtext(b), "Echo: hi", "echo result")
    b = c.result(srv, 2, "toolu_e2")
    c.is_err(b, "get-sum (only echo is allowed)")
    c.lacks(rtext(b), "The sum of", "refused get-sum")
    c.has(rtext(b).lower(), "denied", "refused get-sum")
    c.has(r.out, "echoed", "stdout")


@test(node=True)
def t_everything_server_rule_allows_all_its_tools(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([calls(("toolu_s1", "mcp__everything__get-sum", {"a": 2, "b": 3}),
                          ("toolu_s2", "mcp__everything__echo", {"message": "both"})),
                    say("summed")])
    r = c.run(srv, ["--allowedTools", "mcp__everything"])
    c.ok(r)
    rs = c.results(srv, 1)
    c.eq([b.get("tool_use_id") for b in rs], ["toolu_s1", "toolu_s2"], "result ids")
    c.not_err(rs[0], "get-sum")
    c.has(rtext(rs[0]), "The sum of 2 and 3 is 5.", "get-sum result")
    c.not_err(rs[1], "echo")
    c.has(rtext(rs[1]), "Echo: both", "echo result")


@test(node=True)
def t_everything_refused_without_rule(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_r1", "mcp__everything__echo", {"message": "nope"}), say("fine")])
    r = c.run(srv, [])
    c.ok(r)
    c.check("mcp__everything__echo" in c.tools(srv, 0), "mcp__everything__echo is not offered")
    b = c.result(srv, 1, "toolu_r1")
    c.is_err(b, "echo without a rule in print mode")
    c.lacks(rtext(b), "Echo: nope", "refused echo")
    c.has(rtext(b), "mcp__everything__echo", "refusal names the tool")
    c.has(rtext(b).lower(), "denied", "refusal")


@test(node=True)
def t_everything_bypass_runs_them(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_b1", "mcp__everything__echo", {"message": "bypass"}), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_b1")
    c.not_err(b, "echo with --dangerously-skip-permissions")
    c.has(rtext(b), "Echo: bypass", "echo result")


@test(node=True)
def t_everything_image_block(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_i1", "mcp__everything__get-tiny-image", {}), say("saw it")])
    r = c.run(srv, ["--allowedTools", "mcp__everything__get-tiny-image"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_i1")
    c.not_err(b, "get-tiny-image")
    content = b.get("content")
    c.check(isinstance(content, list), "tool_result content is not a list of blocks: %r" % clip(json.dumps(b), 400))
    imgs = [x for x in content if x.get("type") == "image"]
    c.eq(len(imgs), 1, "image blocks in the tool_result")
    src = imgs[0].get("source") or {}
    c.eq(src.get("type"), "base64", "image source type")
    c.eq(src.get("media_type"), "image/png", "image media_type")
    data = src.get("data") or ""
    try:
        raw = base64.b64decode(data, validate=True)
    except Exception as e:
        raise Fail("image data is not base64: %s" % e)
    c.check(raw.startswith(b"\x89PNG\r\n\x1a\n"), "image data is not a PNG: %r" % raw[:16])
    texts = [x.get("text", "") for x in content if x.get("type") == "text"]
    c.check(any("Here's the image you requested" in t for t in texts), "text item missing: %r" % texts)
    c.check(all(set(x) <= {"type", "text", "source", "cache_control"} for x in content),
            "unexpected keys in content blocks: %r" % [sorted(x) for x in content])


@test(node=True)
def t_everything_stderr_in_log(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    log = os.path.join(c.log_dir(), "everything.log")
    c.check(os.path.isfile(log), "no log file %s" % log)
    with open(log, errors="replace") as f:
        c.has(f.read(), "Starting default (STDIO) server", "everything.log")
    c.lacks(r.err, "Starting default", "agent stderr")
    c.lacks(r.out, "Starting default", "agent stdout")


# ---------------------------------------------------------------------------------------------------------
# server-filesystem

@test(node=True)
def t_filesystem_list_read_and_outside(c):
    allowed = os.path.join(c.root, "allowed")
    c.write(os.path.join(allowed, "notes.txt"), "FS-CONTENT line one\nline two\n")
    c.write(os.path.join(allowed, "sub", "x.md"), "x\n")
    secret = c.write(os.path.join(c.root, "outside", "secret.txt"), "TOPSECRET\n")
    c.mcp_json({"fs": filesystem_cfg(allowed)})
    srv = c.server([call("toolu_f1", "mcp__fs__list_directory", {"path": allowed}),
                    call("toolu_f2", "mcp__fs__read_text_file", {"path": os.path.join(allowed, "notes.txt")}),
                    call("toolu_f3", "mcp__fs__read_text_file", {"path": secret}),
                    say("listed")])
    # agent answers roots/list with its trust boundary, which the server takes in place of its own list
    r = c.run(srv, ["--allowedTools", "mcp__fs", "--add-dir", allowed])
    c.ok(r)
    tools = c.tools(srv, 0)
    for t in ("read_text_file", "list_directory", "write_file", "list_allowed_directories"):
        c.check("mcp__fs__" + t in tools, "mcp__fs__%s missing: %r" % (t, sorted(tools)))
    b = c.result(srv, 1, "toolu_f1")
    c.not_err(b, "list_directory")
    c.has(rtext(b), "[FILE] notes.txt", "list_directory")
    c.has(rtext(b), "[DIR] sub", "list_directory")
    b = c.result(srv, 2, "toolu_f2")
    c.not_err(b, "read_text_file")
    c.has(rtext(b), "FS-CONTENT line one\nline two", "read_text_file")
    b = c.result(srv, 3, "toolu_f3")
    c.is_err(b, "read_text_file outside the allowed directory")
    c.has(rtext(b), "Access denied", "outside read")
    c.lacks(rtext(b), "TOPSECRET", "outside read")


@test
def t_filesystem_roots_are_the_boundary(c):
    """roots/list: the server-filesystem confines itself to the folders agent works in (the working directory
    and --add-dir), whatever its command line allowed."""
    allowed = os.path.join(c.root, "allowed")
    c.write(os.path.join(allowed, "notes.txt"), "FS-CONTENT\n")
    c.mcp_json({"fs": filesystem_cfg(allowed)})
    # the server takes the roots in after it has answered initialize (asynchronously): a first call gives it time
    srv = c.server([call("toolu_r0", "mcp__fs__list_allowed_directories", {}),
                    call("toolu_r1", "mcp__fs__list_allowed_directories", {}),
                    call("toolu_r2", "mcp__fs__read_text_file", {"path": os.path.join(allowed, "notes.txt")}),
                    say("done")])
    r = c.run(srv, ["--allowedTools", "mcp__fs"])
    c.ok(r)
    b = c.result(srv, 2, "toolu_r1")
    c.not_err(b, "list_allowed_directories")
    c.has(rtext(b), os.path.realpath(c.work), "the allowed directories are agent's roots")
    c.lacks(rtext(b), allowed, "the server's own directory is replaced by the roots")
    b = c.result(srv, 3, "toolu_r2")
    c.is_err(b, "a file outside the roots")
    c.lacks(rtext(b), "FS-CONTENT", "a file outside the roots")
    with open(os.path.join(c.log_dir(), "fs.log")) as f:
        c.has(f.read(), "Updated allowed directories from MCP roots", "the server's log")


# ---------------------------------------------------------------------------------------------------------
# Python stdio servers: results, errors, failures

@test
def t_py_list_changed_mid_session(c):
    """notifications/tools/list_changed: the server's tools are listed again before the next request, which
    offers the new tool; the model can call it."""
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_g1", "mcp__py__grow", {}),
                    call("toolu_g2", "mcp__py__grown_tool", {}),
                    say("done")])
    r = c.run(srv, ["--allowedTools", "mcp__py"])
    c.ok(r)
    c.check("mcp__py__grown_tool" not in c.tools(srv, 0), "the new tool is not there before the change")
    c.check("mcp__py__grown_tool" in c.tools(srv, 1), "the request after the change offers the new tool: %r"
            % sorted(c.tools(srv, 1)))
    c.has(rtext(c.result(srv, 2, "toolu_g2")), "the grown tool ran", "the new tool's answer")
    ms = c.methods("py.methods")
    c.eq(ms.count("tools/list"), 2, "tools/list asked twice (start, and after the change): %r" % ms)


@test
def t_py_roots_and_elicitation_without_terminal(c):
    """roots/list answered with the trust boundary's folders as file:// URIs; elicitation/create declined in
    print mode (no terminal to ask at), said on stderr."""
    extra = os.path.join(c.root, "extra dir")
    os.makedirs(extra)
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_q1", "mcp__py__ask_roots", {}), call("toolu_q2", "mcp__py__ask_user", {}),
                    say("done")])
    r = c.run(srv, ["--allowedTools", "mcp__py", "--add-dir", extra])
    c.ok(r)
    got = json.loads(rtext(c.result(srv, 1, "toolu_q1")))
    c.eq(got, {"jsonrpc": "2.0", "id": "roots-1", "result": {"roots": [
        {"uri": "file://" + os.path.realpath(c.work), "name": os.path.realpath(c.work)},
        {"uri": "file://" + os.path.realpath(extra).replace(" ", "%20"), "name": os.path.realpath(extra)}]}},
         "the answer to roots/list (a file: URI is percent-encoded)")
    got = json.loads(rtext(c.result(srv, 2, "toolu_q2")))
    c.eq(got, {"jsonrpc": "2.0", "id": 77, "result": {"action": "decline"}}, "the answer to elicitation/create")
    c.has(r.err, "MCP server 'py' asked a question, declined: there is no terminal to ask it at (Which colour?)",
          "stderr")


@test
def t_py_tool_call_and_text_items(c):
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_p1", "mcp__py__shout", {"text": "quiet words"}),
                    call("toolu_p2", "mcp__py__two_texts", {}),
                    say("done")])
    r = c.run(srv, ["--allowedTools", "mcp__py"])
    c.ok(r)
    tools = c.tools(srv, 0)
    c.check("mcp__py__shout" in tools, "mcp__py__shout missing: %r" % sorted(tools))
    c.eq(tools["mcp__py__shout"].get("input_schema"),
         {"type": "object", "properties": {"text": {"type": "string", "description": "what to shout"}},
          "required": ["text"]}, "input_schema of mcp__py__shout (the server's inputSchema)")
    c.eq(tools["mcp__py__shout"].get("description"), "Upper-cases its text.", "description")
    b = c.result(srv, 1, "toolu_p1")
    c.not_err(b, "shout")
    c.eq(rtext(b).strip(), "QUIET WORDS", "shout result")
    b = c.result(srv, 2, "toolu_p2")
    c.not_err(b, "two_texts")
    c.has(rtext(b), "first line\nsecond line", "text items joined with newlines")
    ms = c.methods("py.methods")
    c.check("initialize" in ms and "notifications/initialized" in ms and "tools/list" in ms,
            "server saw %r (expected initialize, notifications/initialized, tools/list)" % ms)
    c.check(ms.index("initialize") < ms.index("notifications/initialized") < ms.index("tools/list"),
            "order of the handshake: %r" % ms)
    calls_seen = [json.loads(m[5:]) for m in ms if m.startswith("call ")]
    c.eq(calls_seen, [{"name": "shout", "arguments": {"text": "quiet words"}},
                      {"name": "two_texts", "arguments": {}}], "tools/call requests the server saw")
    c.no_leftovers()


@test
def t_py_refused_call_never_reaches_server(c):
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_q1", "mcp__py__shout", {"text": "x"}), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.result(srv, 1, "toolu_q1")
    c.is_err(b, "shout without a rule")
    c.has(rtext(b).lower(), "denied", "refusal")
    ms = c.methods("py.methods")
    c.check("tools/list" in ms, "the server was never asked for its tools: %r" % ms)
    c.check(not any(m == "tools/call" for m in ms), "the server saw tools/call for a refused tool: %r" % ms)


@test
def t_py_disallowed_tool(c):
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_d1", "mcp__py__shout", {"text": "x"}), say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__py", "--disallowedTools", "mcp__py__shout"])
    c.ok(r)
    tools = c.tools(srv, 0)
    c.check("mcp__py__ping_tool" in tools, "the server's other tools are missing: %r" % sorted(tools))
    c.check("mcp__py__shout" not in tools, "a tool denied by --disallowedTools is still offered (built-in tools "
            "denied that way are not)")
    b = c.result(srv, 1, "toolu_d1")
    c.is_err(b, "disallowed shout")
    c.check("tools/call" not in c.methods("py.methods"), "the server saw tools/call for a denied tool")


@test
def t_py_is_error(c):
    c.mcp_json({"py": c.py("good")})
    srv = c.server([call("toolu_x1", "mcp__py__fail_tool", {}), say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__py"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_x1")
    c.is_err(b, "isError result")
    c.has(rtext(b), "FAILTOOL-MARKER: the tool failed on purpose", "isError text")


@test
def t_py_jsonrpc_error(c):
    c.mcp_json({"py": c.py("good")})
    srv = c.server([call("toolu_j1", "mcp__py__rpc_error", {}), say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__py"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_j1")
    c.is_err(b, "JSON-RPC error answer")
    c.has(rtext(b), "py", "error names the server")
    c.has(rtext(b), "RPCERR-MARKER", "error carries the server's message")


@test
def t_py_unknown_mcp_tool(c):
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_u1", "mcp__py__no_such_tool", {}),
                    call("toolu_u2", "mcp__nosuchserver__x", {}), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.check("mcp__py__ping_tool" in c.tools(srv, 0), "the server's tools are missing")
    c.is_err(c.result(srv, 1, "toolu_u1"), "a tool the server does not have")
    c.is_err(c.result(srv, 2, "toolu_u2"), "a server that does not exist")


@test
def t_py_crash_during_call(c):
    c.mcp_json({"crashy": c.py("good", "crashy.methods"), "steady": c.py("good")})
    srv = c.server([call("toolu_c1", "mcp__crashy__crash", {}),
                    call("toolu_c2", "mcp__crashy__ping_tool", {}),
                    call("toolu_c3", "mcp__steady__ping_tool", {}),
                    say("survived")])
    r = c.run(srv, ["--allowedTools", "mcp__crashy", "--allowedTools", "mcp__steady"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_c1")
    c.is_err(b, "call to a server that crashed")
    c.has(rtext(b), "crashy", "error names the server")
    b = c.result(srv, 2, "toolu_c2")
    c.is_err(b, "a second call to the crashed server")
    c.has(rtext(b), "crashy", "error names the server")
    b = c.result(srv, 3, "toolu_c3")
    c.not_err(b, "the other server after the crash")
    c.has(rtext(b), "pong from ping_tool", "steady result")
    c.has(r.out, "survived", "stdout")
    c.no_leftovers()


@test
def t_py_tool_timeout(c):
    c.mcp_json({"sleepy": c.py("good", "sleepy.methods")})
    srv = c.server([call("toolu_t1", "mcp__sleepy__slow", {"seconds": 20}), say("moved on")])
    r = c.run(srv, ["--allowedTools", "mcp__sleepy"], extra={"MCP_TOOL_TIMEOUT": "1500"})
    c.ok(r)
    b = c.result(srv, 1, "toolu_t1")
    c.is_err(b, "a call past MCP_TOOL_TIMEOUT")
    c.has(rtext(b), "sleepy", "error names the server")
    c.check(any(m.startswith('call {"name": "slow"') for m in c.methods("sleepy.methods")),
            "the server never got the call: %r" % c.methods("sleepy.methods"))
    c.check(r.elapsed < 12, "the run took %.1f s with MCP_TOOL_TIMEOUT=1500 and a 20 s tool" % r.elapsed)
    c.has(r.out, "moved on", "stdout")


@test
def t_py_pagination(c):
    c.mcp_json({"pages": c.py("page", "pages.methods")})
    srv = c.server([call("toolu_pg", "mcp__pages__page5_tool", {}), say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__pages"])
    c.ok(r)
    tools = c.tools(srv, 0)
    got = sorted(n for n in tools if n.startswith("mcp__pages__"))
    c.eq(got, ["mcp__pages__page%d_tool" % i for i in range(1, 6)], "tools from all three pages")
    c.eq(c.methods("pages.methods").count("tools/list"), 3, "tools/list requests (two nextCursor pages)")
    b = c.result(srv, 1, "toolu_pg")
    c.not_err(b, "tool from the last page")
    c.has(rtext(b), "pong from page5_tool", "result")


@test
def t_py_image_without_mime_type(c):
    """An image item without "mimeType" (servers leave it out): an image block taken as image/png, and the
    request carrying it is still valid JSON."""
    c.mcp_json({"py": c.py("good")})
    srv = c.server([call("toolu_im1", "mcp__py__image_nomime", {}), say("saw it")])
    r = c.run(srv, ["--allowedTools", "mcp__py"])
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_im1")      # c.body: the request is JSON
    c.not_err(b, "image_nomime")
    content = b.get("content")
    c.check(isinstance(content, list), "tool_result content is not a list of blocks: %r" % clip(json.dumps(b), 400))
    imgs = [x for x in content if x.get("type") == "image"]
    c.eq(len(imgs), 1, "image blocks in the tool_result")
    src = imgs[0].get("source") or {}
    c.eq(src.get("type"), "base64", "image source type")
    c.eq(src.get("media_type"), "image/png", "image media_type (no mimeType given)")
    c.check(base64.b64decode(src.get("data") or "").startswith(b"\x89PNG"), "image data: %r"
            % clip(src.get("data"), 100))
    c.has(rtext(b), "NOMIME-TEXT", "text item next to the image")
    c.has(r.out, "saw it", "stdout")


@test
def t_py_tool_names_colliding_after_sanitising(c):
    """Tools "a.b" and "a_b" are both mcp__S__a_b once sanitised: the API would refuse a request naming a tool
    twice, so the later one is left out with a warning and the session goes on."""
    c.mcp_json({"dup": c.py("collide", "dup.methods")})
    srv = c.server([call("toolu_cl1", "mcp__dup__a_b", {}), say("fine")])
    r = c.run(srv, ["--allowedTools", "mcp__dup"])
    c.ok(r)
    names = [t.get("name") for t in c.body(srv, 0).get("tools") or []]
    c.eq(names.count("mcp__dup__a_b"), 1, "mcp__dup__a_b in the tools list %r" % names)
    c.check(len(names) == len(set(names)), "a tool name offered twice: %r" % names)
    left = [ln for ln in r.err.split("\n") if "left out" in ln]
    c.eq(len(left), 1, "stderr lines saying a tool was left out")
    c.has(left[0], "dup", "the left-out line (names the server)")
    c.has(left[0], "a_b", "the left-out line (names the tool)")
    b = c.result(srv, 1, "toolu_cl1")
    c.not_err(b, "the tool kept")
    c.has(rtext(b), "pong from a.b", "the tool kept (the first listed)")
    c.has(r.out, "fine", "stdout")


@test
def t_py_server_stops_reading(c):
    """A server that stops reading its stdin while a call's ~300 KB request is written to it (more than a pipe
    holds): the call fails at MCP_TOOL_TIMEOUT naming the server, it does not hang in write()."""
    c.mcp_json({"deaf": c.py("deaf", "deaf.methods")})
    srv = c.server([call("toolu_df1", "mcp__deaf__shout", {"text": "y" * 300000}), say("moved on")])
    r = c.run(srv, ["--allowedTools", "mcp__deaf"], extra={"MCP_TOOL_TIMEOUT": "2000"}, timeout=25)
    c.ok(r)
    c.check("deaf" in c.methods("deaf.methods"), "the server never stopped reading: %r" % c.methods("deaf.methods"))
    c.check(r.elapsed < 15, "the run took %.1f s with MCP_TOOL_TIMEOUT=2000" % r.elapsed)
    b = c.result(srv, 1, "toolu_df1")
    c.is_err(b, "a call to a server that does not read")
    c.has(rtext(b), "deaf", "error names the server")
    c.has(r.out, "moved on", "stdout")
    c.no_leftovers()


def _fail_case(c, mode, extra=None, max_elapsed=None):
    c.mcp_json({"bad": c.py(mode, "bad.methods"), "good": c.py("good")})
    srv = c.server([call("toolu_g1", "mcp__good__ping_tool", {}), say("finished anyway")])
    r = c.run(srv, ["--allowedTools", "mcp__good"], extra=extra)
    c.ok(r)
    line = c.one_failed_line(r, "bad")
    c.notes.append("failed line: %r" % line)
    tools = c.tools(srv, 0)
    c.check("mcp__good__ping_tool" in tools, "the good server's tools are missing: %r" % sorted(tools))
    c.check(not any(n.startswith("mcp__bad__") for n in tools), "tools of the failed server offered: %r"
            % sorted(tools))
    for name in BUILTIN:
        c.check(name in tools, "built-in %s missing" % name)
    b = c.result(srv, 1, "toolu_g1")
    c.not_err(b, "the good server's tool")
    c.has(r.out, "finished anyway", "stdout")
    c.eq(len([ln for ln in r.err.split("\n") if "MCP server" in ln]), 1, "stderr lines about MCP servers")
    if max_elapsed is not None:
        c.check(r.elapsed < max_elapsed, "the run took %.1f s (expected under %.0f s)" % (r.elapsed, max_elapsed))
    c.no_leftovers()
    return r, line


@test
def t_stop_stubborn_servers_together(c):
    """Four servers that do not end when their input closes: the agent gives them half a second together, not
    each in turn (2 s), then kills them; none is left behind."""
    c.mcp_json({"s%d" % i: c.py("stubborn", "stub%d.log" % i) for i in range(4)})
    srv = c.server([say("Done.")])
    r = c.run(srv, [])
    c.ok(r)
    c.eq(r.out.strip(), "Done.", "stdout")
    for i in range(4):
        c.check("eof" in c.methods("stub%d.log" % i), "server s%d saw its input close: %r" % (i, c.methods(
            "stub%d.log" % i)))
    c.check(r.elapsed < 1.8, "the run took %.2f s (four servers stopped one after another take over 2 s)" %
            r.elapsed)
    c.eq(c.leftovers(), [], "processes left behind")


@test
def t_fail_exits_at_once(c):
    _fail_case(c, "exit")


@test
def t_fail_hangs_in_initialize(c):
    r, line = _fail_case(c, "hang", extra={"MCP_TIMEOUT": "1500"}, max_elapsed=12)
    c.check(r.elapsed >= 1.4, "the hanging server failed after %.2f s, before MCP_TIMEOUT=1500 ms" % r.elapsed)


@test
def t_fail_answers_garbage(c):
    _fail_case(c, "garbage", extra={"MCP_TIMEOUT": "3000"}, max_elapsed=15)


@test
def t_fail_command_not_found(c):
    c.mcp_json({"nocmd": {"command": os.path.join(c.root, "does-not-exist"), "args": []}, "good": c.py("good")})
    srv = c.server([say("fine")])
    r = c.run(srv, [])
    c.ok(r)
    c.one_failed_line(r, "nocmd")
    c.check("mcp__good__ping_tool" in c.tools(srv, 0), "the good server's tools are missing")


@test
def t_fail_servers_start_in_parallel(c):
    c.mcp_json({"h1": c.py("hang"), "h2": c.py("hang"), "h3": c.py("hang"), "h4": c.py("hang"), "good": c.py("good")})
    srv = c.server([say("parallel")])
    # 6 s: room for five Python servers to start on a loaded machine; in turn it would take 30 s
    r = c.run(srv, [], extra={"MCP_TIMEOUT": "6000"})
    c.ok(r)
    for n in ("h1", "h2", "h3", "h4"):
        c.one_failed_line(r, n)
    c.check(r.elapsed < 20, "four servers that hang with MCP_TIMEOUT=6000 took %.1f s (not in parallel?)"
            % r.elapsed)
    c.check("mcp__good__ping_tool" in c.tools(srv, 0), "the good server's tools are missing")
    c.no_leftovers()


@test
def t_stderr_goes_to_log(c):
    c.mcp_json({"noisy": c.py("stderr")})
    srv = c.server([call("toolu_n1", "mcp__noisy__ping_tool", {}), say("quiet")])
    r = c.run(srv, ["--allowedTools", "mcp__noisy"])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_n1"), "ping")
    log = os.path.join(c.log_dir(), "noisy.log")
    c.check(os.path.isfile(log), "no log file %s" % log)
    with open(log, errors="replace") as f:
        s = f.read()
    c.has(s, "PYSTDERR-MARKER-1", "noisy.log")
    c.has(s, "PYSTDERR-MARKER-2", "noisy.log (stderr written after a call)")
    for what, txt in (("stderr", r.err), ("stdout", r.out)):
        c.lacks(txt, "PYSTDERR-MARKER", "agent " + what)


@test
def t_failed_server_stderr_in_log(c):
    c.mcp_json({"quitter": c.py("exit")})
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.one_failed_line(r, "quitter")
    log = os.path.join(c.log_dir(), "quitter.log")
    c.check(os.path.isfile(log), "no log file %s" % log)
    with open(log, errors="replace") as f:
        c.has(f.read(), "py-exit: giving up at once", "quitter.log")
    c.lacks(r.err, "py-exit: giving up", "agent stderr")


@test
def t_env_keys_removed(c):
    c.mcp_json({"envs": dict(c.py("good"), env={"CFG_VAR": "from-config"}),
                "named": dict(c.py("good"), env={"ANTHROPIC_AUTH_TOKEN": "given-token", "OPENAI_API_KEY": "oa-given"})})
    srv = c.server([call("toolu_v1", "mcp__envs__env_dump", {}), call("toolu_v2", "mcp__named__env_dump", {}),
                    say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__envs", "--allowedTools", "mcp__named"],
              extra={"ANTHROPIC_AUTH_TOKEN": "secret-auth", "OPENAI_API_KEY": "secret-openai",
                     "KEEP_ME": "kept-value"})
    c.ok(r)
    b = c.result(srv, 1, "toolu_v1")
    c.not_err(b, "env_dump")
    try:
        env = json.loads(rtext(b))
    except ValueError:
        raise Fail("env_dump result is not JSON: %r" % clip(rtext(b), 300))
    for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY"):
        c.check(k not in env, "%s is in a stdio server's environment: %r" % (k, env.get(k)))
    c.lacks(rtext(b), "test-key-123", "server environment")
    c.lacks(rtext(b), "secret-auth", "server environment")
    c.eq(env.get("KEEP_ME"), "kept-value", "an ordinary variable of the agent's environment")
    c.eq(env.get("CFG_VAR"), "from-config", "a variable from the config's env")
    c.check(env.get("PATH"), "PATH missing from the server's environment")
    b = c.result(srv, 2, "toolu_v2")
    env = json.loads(rtext(b))
    c.eq(env.get("ANTHROPIC_AUTH_TOKEN"), "given-token", "a key the config's env names")
    c.eq(env.get("OPENAI_API_KEY"), "oa-given", "a key the config's env names")
    c.check("ANTHROPIC_API_KEY" not in env, "ANTHROPIC_API_KEY (not named) is in the server's environment")


@test(node=True)
def t_env_keys_removed_everything(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_ge", "mcp__everything__get-env", {}), say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__everything__get-env"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_ge")
    c.not_err(b, "get-env")
    c.lacks(rtext(b), "ANTHROPIC_API_KEY", "server-everything's get-env")
    c.lacks(rtext(b), "test-key-123", "server-everything's get-env")
    c.has(rtext(b), "ANTHROPIC_BASE_URL", "server-everything's get-env (other variables stay)")


# ---------------------------------------------------------------------------------------------------------
# Configuration sources, --mcp-list

@test
def t_config_sources(c):
    c.mcp_json({"proj": c.py("good")})
    c.write_json(os.path.join(c.home, ".claude.json"), {"numStartups": 3, "mcpServers": {"user": c.py("good")}})
    f1 = c.write_json(os.path.join(c.root, "extra1.json"), {"mcpServers": {"cli1": c.py("good")}})
    f2 = c.write_json(os.path.join(c.root, "extra2.json"), {"mcpServers": {"cli2": c.py("page")}})
    srv = c.server([say("ok")])
    r = c.run(srv, ["--mcp-config", f1, "--mcp-config", f2])
    c.ok(r)
    tools = c.tools(srv, 0)
    for n in ("mcp__proj__ping_tool", "mcp__user__ping_tool", "mcp__cli1__ping_tool", "mcp__cli2__page1_tool"):
        c.check(n in tools, "%s missing (.mcp.json, ~/.claude.json, --mcp-config x2): %r" % (n, sorted(tools)))
    c.eq(r.err.count("MCP server"), 0, "stderr lines about MCP servers")


@test
def t_config_mcp_config_only(c):
    f = c.write_json(os.path.join(c.root, "only.json"), {"mcpServers": {"solo": c.py("good")}})
    srv = c.server([say("ok"), say("ok")])
    r = c.run(srv, ["--mcp-config", f])
    c.ok(r)
    c.check("mcp__solo__ping_tool" in c.tools(srv, 0), "tools of the --mcp-config server missing")
    r = c.run(srv, [])
    c.ok(r)
    c.check(not any(n.startswith("mcp__") for n in c.tools(srv, 1)), "MCP tools without any config: %r"
            % sorted(c.tools(srv, 1)))


@test
def t_config_missing_file_is_an_error(c):
    srv = c.server([say("ok")])
    r = c.run(srv, ["--mcp-config", os.path.join(c.root, "nope.json")])
    c.check(r.rc != 0 or "nope.json" in r.err, "a missing --mcp-config file went unnoticed (rc %r, stderr %r)"
            % (r.rc, r.err))
    c.has(r.err, "nope.json", "stderr")


@test
def t_mcp_list(c):
    c.mcp_json({"good": c.py("good"), "quitter": c.py("exit")})
    srv = c.server([])
    r = c.run(srv, ["--mcp-list"], prompt=None)
    c.ok(r)
    c.nreq(srv, 0)
    out = r.out
    c.has(out, "good", "--mcp-list")
    c.has(out, "quitter", "--mcp-list")
    c.check(re.search(r"good.*connected", out) or re.search(r"good[^\n]*\n[^\n]*connected", out),
            "'good' not shown as connected: %r" % out)
    c.check(re.search(r"quitter[^\n]*failed", out), "'quitter' not shown as failed on its line: %r" % out)
    for t in ("ping_tool", "env_dump", "shout"):
        c.has(out, t, "--mcp-list tools of 'good'")


@test(node=True)
def t_mcp_list_everything(c):
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([])
    r = c.run(srv, ["--mcp-list"], prompt=None)
    c.ok(r)
    c.nreq(srv, 0)
    c.has(r.out, "everything", "--mcp-list")
    c.has(r.out, "connected", "--mcp-list")
    for t in ("echo", "get-sum", "get-tiny-image"):
        c.has(r.out, t, "--mcp-list")
    c.no_leftovers()


@test
def t_subagent_gets_mcp_tools(c):
    c.mcp_json({"py": c.py("good", "py.methods")})
    srv = c.server([call("toolu_sa1", "Task", {"description": "ping it", "prompt": "SUB: ping the server"}),
                    call("toolu_sa2", "mcp__py__shout", {"text": "from the subagent"}),
                    say("SUB: shouted"),
                    say("ok")])
    r = c.run(srv, ["--allowedTools", "mcp__py__shout"])
    c.ok(r)
    c.check(len(srv.requests) == 4, "expected 4 requests, got %d" % len(srv.requests))
    sub = srv.requests[1]["body"]
    names = [t.get("name") for t in sub.get("tools") or []]
    c.check("Task" not in names and "mcp__py__shout" in names, "subagent tools (all but Task, MCP ones too): %r"
            % names)
    b = c.result(srv, 2, "toolu_sa2")
    c.not_err(b, "an MCP tool called by a subagent")
    c.has(rtext(b), "FROM THE SUBAGENT", "result")
    c.has(rtext(c.result(srv, 3, "toolu_sa1")), "SUB: shouted", "Task result")


# ---------------------------------------------------------------------------------------------------------
# Streamable HTTP

@test
def t_http_transport(c):
    h = c.http_mcp()
    c.mcp_json({"web": {"type": "http", "url": h.url, "headers": {"Authorization": "Bearer http-token-9",
                                                                   "X-Custom": "yes"}}})
    srv = c.server([call("toolu_h1", "mcp__web__hello", {"who": "world"}),
                    call("toolu_h2", "mcp__web__streamed", {}),
                    say("http done")])
    r = c.run(srv, ["--allowedTools", "mcp__web"])
    c.ok(r)
    tools = c.tools(srv, 0)
    c.check("mcp__web__hello" in tools and "mcp__web__streamed" in tools, "http tools missing: %r" % sorted(tools))
    c.eq(tools["mcp__web__hello"].get("input_schema"),
         {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]}, "hello's schema")
    b = c.result(srv, 1, "toolu_h1")
    c.not_err(b, "hello (application/json)")
    c.has(rtext(b), "HTTP-HELLO world", "hello result")
    b = c.result(srv, 2, "toolu_h2")
    c.not_err(b, "streamed (text/event-stream)")
    c.has(rtext(b), "SSE-STREAMED-RESULT part one\npart two", "streamed result")
    c.lacks(rtext(b), "working", "streamed result (the notification before the answer is not the result)")
    posts = h.posts()
    c.check(posts, "the HTTP server got no POST")
    first = posts[0]
    c.eq(first[3].get("method") if isinstance(first[3], dict) else first[3], "initialize", "first POST")
    c.check("mcp-session-id" not in first[2], "initialize carried an Mcp-Session-Id")
    for meth, path, hd, body in posts:
        c.eq(path, "/mcp", "request path")
        c.eq(hd.get("authorization"), "Bearer http-token-9", "Authorization header from the config")
        c.eq(hd.get("x-custom"), "yes", "X-Custom header from the config")
        c.has(hd.get("content-type", ""), "application/json", "Content-Type of a POST")
    for meth, path, hd, body in posts[1:]:
        c.eq(hd.get("mcp-session-id"), HttpMcp.SESSION, "Mcp-Session-Id on %r" % (body.get("method")
                                                                                   if isinstance(body, dict) else body))
    methods = [b.get("method") for _, _, _, b in posts if isinstance(b, dict)]
    c.check("notifications/initialized" in methods, "no notifications/initialized POST: %r" % methods)
    c.eq([b["params"]["name"] for _, _, _, b in posts if isinstance(b, dict) and b.get("method") == "tools/call"],
         ["hello", "streamed"], "tools/call POSTs")


@test
def t_http_server_down(c):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c.mcp_json({"downweb": {"type": "http", "url": "http://127.0.0.1:%d/mcp" % port}, "good": c.py("good")})
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.one_failed_line(r, "downweb")
    c.check("mcp__good__ping_tool" in c.tools(srv, 0), "the good server's tools are missing")


@test
def t_http_mcp_list(c):
    h = c.http_mcp()
    c.mcp_json({"web": {"type": "http", "url": h.url}})
    srv = c.server([])
    r = c.run(srv, ["--mcp-list"], prompt=None)
    c.ok(r)
    c.has(r.out, "web", "--mcp-list")
    c.has(r.out, "connected", "--mcp-list")
    c.has(r.out, "hello", "--mcp-list")
    c.has(r.out, "streamed", "--mcp-list")


# ---------------------------------------------------------------------------------------------------------
# /mcp in the interactive session (tmux)

def _pane(c, srv, args=(), extra=None):
    env = c.env(srv, extra)
    env["TERM"] = "xterm-256color"
    p = c.agent_pane(env, args, width=120, height=50)

    def wait(cond, what, timeout=WAIT):
        return p.wait(cond, what, timeout)
    wait("/help for commands, Ctrl-D to leave", "the banner")
    wait(lambda s: p.tail(s) == ">", "the first prompt")
    return p, wait


@test(node=True)
def t_repl_mcp_command(c):
    if not shutil.which("tmux"):
        raise Fail("tmux is not installed")
    c.mcp_json({"everything": everything_cfg(), "quitter": c.py("exit"), "good": c.py("good")})
    srv = c.server([])
    p, wait = _pane(c, srv)
    p.type("/mcp")
    p.keys("Enter")
    s = wait(lambda s: "/mcp" in s and p.tail(s[s.rindex("/mcp"):]) == ">" and "quitter" in s[s.rindex("/mcp"):],
             "the /mcp listing and the prompt after it")
    s = s[s.rindex("/mcp"):]
    c.check(re.search(r"everything[^\n]*connected", s), "'everything' not shown as connected: %r" % s)
    c.check(re.search(r"good[^\n]*connected", s), "'good' not shown as connected: %r" % s)
    c.check(re.search(r"quitter[^\n]*failed", s), "'quitter' not shown as failed: %r" % s)
    for t in ("echo", "get-sum", "ping_tool", "shout"):
        c.has(s, t, "/mcp tools")
    c.nreq(srv, 0)
    p.keys("C-d")
    wait(re.compile(r"EXIT=0$", re.M), "EXIT=0 after Ctrl-D")
    c.no_leftovers("after the interactive agent exited")


@test
def t_repl_mcp_command_python_only(c):
    if not shutil.which("tmux"):
        raise Fail("tmux is not installed")
    c.mcp_json({"good": c.py("good"), "hung": c.py("hang")})
    srv = c.server([])
    p, wait = _pane(c, srv, extra={"MCP_TIMEOUT": "5000"})   # room for Python to start under load
    p.type("/mcp")
    p.keys("Enter")
    s = wait(lambda s: "/mcp" in s and p.tail(s[s.rindex("/mcp"):]) == ">" and "hung" in s[s.rindex("/mcp"):],
             "the /mcp listing")
    s = s[s.rindex("/mcp"):]
    c.check(re.search(r"good[^\n]*connected", s), "'good' not shown as connected: %r" % s)
    c.check(re.search(r"hung[^\n]*failed", s), "'hung' not shown as failed: %r" % s)
    c.has(s, "env_dump", "/mcp tools of 'good'")


@test
def t_py_progress_shown_and_cancelled_on_timeout(c):
    """tools/call carries a progressToken and the server's progress notifications are shown on stderr; a call
    given up at MCP_TOOL_TIMEOUT is cancelled with notifications/cancelled (the server reads it once it is
    done sleeping, while the agent goes on)."""
    c.mcp_json({"sleepy": c.py("good", "sleepy.methods")})
    srv = c.server([call("toolu_p1", "mcp__sleepy__slow", {"seconds": 0.1}),
                    call("toolu_p2", "mcp__sleepy__slow", {"seconds": 1.5}),
                    call("toolu_p3", "Bash", {"command": "sleep 2.5"}), say("moved on")])
    r = c.run(srv, ["--allowedTools", "mcp__sleepy,Bash"], extra={"MCP_TOOL_TIMEOUT": "800"})
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_p1"), "a quick call")
    c.has(r.err, "[sleepy] progress 1 of 2: step 1", "stderr")
    c.has(r.err, "[sleepy] progress 2 of 2: step 2", "stderr")
    c.is_err(c.result(srv, 2, "toolu_p2"), "a call past MCP_TOOL_TIMEOUT")
    c.check("notifications/cancelled" in c.methods("sleepy.methods"),
            "the server got no notifications/cancelled: %r" % c.methods("sleepy.methods"))


@test(node=True)
def t_everything_resources_listed_and_read(c):
    """A server with resources brings ListMcpResourcesTool and ReadMcpResourceTool (never asked: read-only);
    the list names each uri; a text resource reads as its text."""
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([call("toolu_r1", "ListMcpResourcesTool", {}),
                    call("toolu_r2", "ReadMcpResourceTool", {"server": "everything",
                                                             "uri": "demo://resource/dynamic/text/7"}),
                    call("toolu_r3", "ReadMcpResourceTool", {"server": "nosuch", "uri": "x://y"}),
                    say("read")])
    r = c.run(srv, [])
    c.ok(r)
    tools = c.tools(srv, 0)
    c.check("ListMcpResourcesTool" in tools and "ReadMcpResourceTool" in tools,
            "the resource tools are not offered: %r" % sorted(tools))
    b = c.result(srv, 1, "toolu_r1")
    c.not_err(b, "ListMcpResourcesTool")
    c.has(rtext(b), "everything: demo://resource/static/document/architecture.md", "the list")
    c.has(rtext(b), "everything: template demo://resource/dynamic/text/{", "the list's resource templates")
    b = c.result(srv, 2, "toolu_r2")
    c.not_err(b, "ReadMcpResourceTool")
    c.has(rtext(b), "7", "the dynamic resource's text")
    c.is_err(c.result(srv, 3, "toolu_r3"), "a resource of a server that is not there")


@test(node=True)
def t_everything_resource_mention(c):
    """@server:uri in a prompt: the resource is read and goes to the model after the prompt; a word that names
    no server stays as typed."""
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([say("ok")])
    r = c.run(srv, [], prompt="summarise @everything:demo://resource/dynamic/text/7 and mail @nobody:x")
    c.ok(r)
    texts = [b.get("text", "") for b in c.body(srv, 0)["messages"][-1]["content"]]
    c.check(any(t == "summarise @everything:demo://resource/dynamic/text/7 and mail @nobody:x" for t in texts),
            "the prompt as typed: %r" % texts)
    att = [t for t in texts if t.startswith('<mcp-resource server="everything" uri="demo://resource/dynamic/text/7">')]
    c.check(len(att) == 1 and att[0].endswith("</mcp-resource>") and "7" in att[0][80:],
            "the resource after the prompt: %r" % texts)
    c.check(not any("nobody" in t and "mcp-resource" in t for t in texts), "@nobody:x was read: %r" % texts)
    c.has(r.err, "read @everything:demo://resource/dynamic/text/7", "stderr")


@test(node=True)
def t_everything_prompt_as_slash_command(c):
    """/mcp__SERVER__PROMPT args in -p: prompts/get with the words as the prompt's arguments in order; its
    messages are the user's prompt."""
    c.mcp_json({"everything": everything_cfg()})
    srv = c.server([say("ok")])
    r = c.run(srv, [], prompt="/mcp__everything__args-prompt Lisbon Estremadura")
    c.ok(r)
    t = json.dumps(c.body(srv, 0)["messages"][-1])
    c.has(t, "Lisbon", "the prompt's text")
    c.has(t, "Estremadura", "the prompt's text (second argument)")
    c.has(t, "<command-name>/mcp__everything__args-prompt</command-name>", "the prompt's text")
    c.no_leftovers()


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
