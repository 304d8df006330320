#!/usr/bin/env python3
"""End-to-end tests: the real agent binary against a local mock Messages API (test/mock_api.py).

usage: python3 test/e2e.py --agent ./agent [--filter SUBSTR] [--label asan] [--jobs 4] [--timeout 20]
                           [--valgrind] [--wrapper CMD] [--list] [--keep]

Prints one line per test, `ok - NAME` or `not ok - NAME` followed by indented diagnostics (command, exit
code, stdout and stderr excerpts, the requests the mock recorded), then a closing `LABEL: N passed, N failed,
N skipped` line. Exit status 1 if any test failed.

Each test is a plain function taking a Ctx, registered with @test("name"); it starts its own MockServer on
port 0 and runs the agent through ctx.run(), which gives the agent a clean environment: PATH, a fresh HOME,
XDG_STATE_HOME=$HOME/state, ANTHROPIC_API_KEY=test-key-123, ANTHROPIC_BASE_URL at the mock,
ANTHROPIC_MAX_RETRIES=0, NO_COLOR=1 (SSL_CERT_FILE=ca.pem for TLS tests), stdin /dev/null. Sanitizer option
variables (ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS, MSAN_OPTIONS) are passed through when set. Every run
is also checked for crashes: death by a signal, or a sanitizer or valgrind report on stderr, fails the test.

Real streams are read from ../shared/real-streams (beside the repository), or from $REAL_STREAMS.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mock_api import MockServer, message_stream, sse_from_events  # noqa: E402

API_KEY = "test-key-123"
STREAMS_DIR = os.environ.get("REAL_STREAMS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "shared", "real-streams"))
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--track-fds=no"]
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
               "Segmentation fault", "Invalid read", "Invalid write", "uninitialised", "definitely lost")

# ---------------------------------------------------------------------------------------------------------
# Registry and context

TESTS = []


def test(name):
    """Register a test function under a name (names are unique)."""
    def deco(fn):
        assert name not in [t[0] for t in TESTS], "duplicate test name " + name
        TESTS.append((name, fn))
        return fn
    return deco


class Skip(Exception):
    pass


class Fail(Exception):
    pass


class Result:
    def __init__(self, cmd, returncode, stdout, stderr, timed_out, env_shown):
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr
        self.timed_out, self.env_shown = timed_out, env_shown

    @property
    def err(self):
        """stderr as text (UTF-8, undecodable bytes replaced)."""
        return self.stderr.decode("utf-8", "replace")


class Config:
    agent = None
    wrapper = []
    timeout = 20.0
    workdir = None
    certs = None


def _excerpt(data, limit=1500):
    if len(data) <= limit:
        return repr(data)
    return "%r ... [%d bytes, last: %r]" % (data[:limit], len(data), data[-200:])


class Ctx:
    """Per-test state: the mock servers and the runs, for diagnostics, and the assertions."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="t-", dir=Config.workdir)
        self.servers = []
        self.runs = []
        self.notes = []
        self._home_n = 0

    # -- servers and runs ------------------------------------------------------------------------------

    def server(self, *specs, tls=None, tls13_only=False):
        """Start a mock server answering with these specs in order. tls: a certificate base name in the
        certs dir ("server", "wrong", "untrusted") to serve HTTPS with."""
        if tls:
            tls = (os.path.join(Config.certs, tls + ".pem"), os.path.join(Config.certs, tls + ".key"))
        srv = MockServer(list(specs), tls=tls, tls13_only=tls13_only).start()
        self.servers.append(srv)
        return srv

    def run(self, args, srv=None, base_url=None, input=None, env=None, unset=(), tls=False, timeout=None):
        """Run the agent with args. The base URL is base_url, else srv.url, else a closed port.
        env: extra variables; unset: names to remove from the default environment; input: bytes for stdin
        (else /dev/null); tls: also set SSL_CERT_FILE=ca.pem."""
        self._home_n += 1
        home = os.path.join(self.dir, "home%d" % self._home_n)
        os.makedirs(home)
        e = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": home,
            "XDG_STATE_HOME": os.path.join(home, "state"),
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_MAX_RETRIES": "0",
            "NO_COLOR": "1",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if base_url is None and srv is not None:
            base_url = srv.url
        if base_url is None:
            base_url = "http://127.0.0.1:%d" % closed_port()
        e["ANTHROPIC_BASE_URL"] = base_url
        if tls or (srv is not None and srv.scheme == "https"):
            e["SSL_CERT_FILE"] = os.path.join(Config.certs, "ca.pem")
        e.update(env or {})
        for k in unset:
            e.pop(k, None)
        cmd = Config.wrapper + [Config.agent] + list(args)
        shown = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(e.items()) if k not in ("PATH",))
        p = subprocess.Popen(cmd, env=e, cwd=home, start_new_session=True,
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        timed_out = False
        try:
            out, err = p.communicate(input=input, timeout=timeout or Config.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            out, err = p.communicate()
        r = Result(cmd, p.returncode, out, err, timed_out, shown)
        self.runs.append(r)
        if timed_out:
            raise Fail("timed out after %gs" % (timeout or Config.timeout))
        self.no_crash(r)
        return r

    # -- assertions ------------------------------------------------------------------------------------

    def check(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def no_crash(self, r):
        self.check(r.returncode >= 0, "killed by signal %d" % -r.returncode)
        for mark in CRASH_MARKS:
            self.check(mark not in r.err, "crash or sanitizer report on stderr (%r)" % mark)
        self.check(not re.search(r"(?m)^==\d+== ", r.err), "valgrind report on stderr")

    def exit_code(self, r, *codes):
        self.check(r.returncode in codes, "exit code %d, expected %s" % (r.returncode, " or ".join(map(str, codes))))

    def stdout_text(self, r, expected):
        """stdout is exactly expected, or expected plus the one "\\n" a client may add when the text does not
        end in a newline."""
        if isinstance(expected, str):
            expected = expected.encode("utf-8")
        ok = r.stdout == expected or (not expected.endswith(b"\n") and r.stdout == expected + b"\n")
        self.check(ok, "stdout is %s, expected %s (a final \"\\n\" may be added)"
                   % (_excerpt(r.stdout, 300), _excerpt(expected, 300)))

    def stdout_empty(self, r):
        self.check(r.stdout in (b"", b"\n"), "stdout should be empty, is %s" % _excerpt(r.stdout, 300))

    def stderr_has(self, r, *subs):
        low = r.err.lower()
        for s in subs:
            self.check(s.lower() in low, "stderr lacks %r" % s)

    def stderr_has_any(self, r, *subs):
        low = r.err.lower()
        self.check(any(s.lower() in low for s in subs), "stderr has none of %r" % (subs,))

    def error_line(self, r):
        """stderr begins with a line starting `agent: `."""
        self.check(r.err.startswith("agent: "), "stderr does not start with 'agent: '")

    def failed(self, r, *subs):
        """Exit 1, an `agent: ` error on stderr containing every one of subs (case-insensitive)."""
        self.exit_code(r, 1)
        self.error_line(r)
        self.stderr_has(r, *subs)

    def requests(self, srv, n):
        self.check(len(srv.requests) == n, "%d requests recorded, expected %d" % (len(srv.requests), n))
        return srv.requests

    def note(self, msg):
        self.notes.append(msg)

    # -- diagnostics -----------------------------------------------------------------------------------

    def diagnostics(self):
        out = list(self.notes)
        for i, r in enumerate(self.runs, 1):
            out.append("run %d: %s" % (i, " ".join(shlex.quote(c) for c in r.cmd)))
            out.append("  env: %s" % r.env_shown)
            out.append("  exit code: %s%s" % (r.returncode, " (timed out)" if r.timed_out else ""))
            out.append("  stdout: %s" % _excerpt(r.stdout))
            out.append("  stderr: %s" % _excerpt(r.stderr))
        for i, s in enumerate(self.servers, 1):
            out.append("mock %d (%s, port %s): %d connections, %d TLS handshakes, %d requests"
                       % (i, s.scheme, s.port, s.connections, s.handshakes, len(s.requests)))
            for e in s.errors:
                out.append("  server: %s" % e)
            for q in s.requests:
                body = json.dumps(q["body"], ensure_ascii=False)
                if len(body) > 1200:
                    body = body[:1200] + "... [%d chars]" % len(body)
                out.append("  request conn %d: %s %s %s" % (q["conn"], q["method"], q["path"], q["version"]))
                out.append("    headers: %s" % json.dumps(q["headers"], ensure_ascii=False))
                out.append("    body: %s" % body)
        return out

    def close(self):
        for s in self.servers:
            s.stop()


def closed_port():
    """A local port with nothing listening on it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def last_user_text(body):
    """The text of the last text block of the last message (which must be a user message)."""
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Fail("request body has no messages list")
    last = msgs[-1]
    if last.get("role") != "user":
        raise Fail("last message has role %r, not user" % last.get("role"))
    content = last.get("content")
    if not isinstance(content, list):
        raise Fail("last message content is %s, expected a list of blocks" % type(content).__name__)
    texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    if not texts:
        raise Fail("last message has no text block")
    return texts[-1]


def events_of(text="Hello", pieces=None):
    return message_stream(text, pieces=pieces)


def delta(text, index=0):
    return ["content_block_delta", {"type": "content_block_delta", "index": index,
                                    "delta": {"type": "text_delta", "text": text}}]


def head_events():
    """message_start and content_block_start of a text block at index 0."""
    return message_stream("")[:2]


def tail_events(index=0):
    return [["content_block_stop", {"type": "content_block_stop", "index": index}],
            ["message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 5}}],
            ["message_stop", {"type": "message_stop"}]]


def prompt_run(ctx, srv, prompt="Hi", **kw):
    return ctx.run(["-p", prompt], srv=srv, **kw)


# ---------------------------------------------------------------------------------------------------------
# Real streams

# streams that stop for tool_use or max_tokens: only stdout is asserted, the agent loop may send a follow-up
LOOP_STREAMS = {"sdkpy-max-tokens-partial-json", "apirec-tool-call-only", "docs-tool-use", "docs-web-search",
                "sdkpy-tool-use-caller"}


def _real_stream_test(name, path, how):
    def fn(ctx):
        with open(path[:-4] + ".expected", "rb") as f:
            expected = f.read()
        if how == "chunked":
            spec = {"sse_file": path, "framing": "chunked", "write_size": 3, "chunk_size": 100}
        else:
            spec = {"sse_file": path, "framing": "length"}
        srv = ctx.server(spec, {"text": ""})
        r = prompt_run(ctx, srv, "What is up?")
        ctx.stdout_text(r, expected)
        ctx.check(len(srv.requests) >= 1, "no request recorded")
        if name == "docs-error-overloaded":
            ctx.failed(r, "overloaded_error", "Overloaded")
        elif name not in LOOP_STREAMS:
            ctx.exit_code(r, 0)
            ctx.requests(srv, 1)
    return fn


def register_real_streams():
    files = sorted(glob.glob(os.path.join(STREAMS_DIR, "*.sse")))
    if not files:
        def skip(ctx):
            raise Skip("no real-streams")
        test("real-streams")(skip)
        return
    for path in files:
        name = os.path.basename(path)[:-4]
        test("stream %s chunked/3" % name)(_real_stream_test(name, path, "chunked"))
        test("stream %s length/1 write" % name)(_real_stream_test(name, path, "length"))


register_real_streams()

# ---------------------------------------------------------------------------------------------------------
# Framing and byte-level robustness

UTF8_TEXT = "héllo wörld 日本語 🎉"


@test("one-byte writes (headers and body)")
def _(ctx):
    srv = ctx.server({"text": "Hello, world! One byte at a time.", "write_size": 1})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "Hello, world! One byte at a time.")


@test("one-byte writes chunked")
def _(ctx):
    srv = ctx.server({"text": "chunk by chunk", "framing": "chunked", "chunk_size": 7, "write_size": 1})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "chunk by chunk")


@test("framing content-length")
def _(ctx):
    srv = ctx.server({"text": "length framed", "framing": "length"})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "length framed")


@test("framing chunked")
def _(ctx):
    srv = ctx.server({"text": "chunk framed", "framing": "chunked", "chunk_size": 64})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "chunk framed")


@test("framing close-delimited")
def _(ctx):
    srv = ctx.server({"text": "close framed", "framing": "close"})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "close framed")


@test("framing close-delimited, one-byte writes")
def _(ctx):
    srv = ctx.server({"text": "close framed slowly", "framing": "close", "write_size": 1})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "close framed slowly")


@test("response header names in mixed case")
def _(ctx):
    srv = ctx.server({"text": "Title-Case headers", "framing": "chunked", "header_case": "title"})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "Title-Case headers")
    srv2 = ctx.server({"text": "UPPER headers", "header_case": "upper"})
    r = prompt_run(ctx, srv2)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "UPPER headers")


@test("HTTP/1.0 200 with close-delimited body")
def _(ctx):
    body = sse_from_events(events_of("old server", ["old", " server"]))
    raw = b"HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n" + body
    srv = ctx.server({"raw": raw})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "old server")


def _line_ends(ctx, sep, write_size):
    body = sse_from_events(events_of("line ends vary", ["line ", "ends ", "vary"])).replace(b"\n", sep)
    srv = ctx.server({"sse_raw": body, "write_size": write_size})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "line ends vary")


@test("SSE with CRLF line ends")
def _(ctx):
    _line_ends(ctx, b"\r\n", None)


@test("SSE with CRLF line ends, one-byte writes")
def _(ctx):
    _line_ends(ctx, b"\r\n", 1)


@test("SSE with CR-only line ends")
def _(ctx):
    _line_ends(ctx, b"\r", None)


@test("SSE with CR-only line ends, one-byte writes")
def _(ctx):
    _line_ends(ctx, b"\r", 1)


@test("SSE comments")
def _(ctx):
    ev = events_of("commented", ["comm", "ented"])
    body = b": hello from the proxy\n\n" + sse_from_events(ev[:3]) + b":keepalive\n\n" + \
        sse_from_events(ev[3:5]) + b": a comment between lines\n" + sse_from_events(ev[5:])
    srv = ctx.server({"sse_raw": body})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "commented")


@test("SSE data: without a space")
def _(ctx):
    body = sse_from_events(events_of("no space", ["no", " space"])).replace(b"data: ", b"data:") \
        .replace(b"event: ", b"event:")
    srv = ctx.server({"sse_raw": body, "framing": "chunked", "write_size": 5})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "no space")


@test("SSE multi-line data")
def _(ctx):
    ev = events_of("multi line", ["multi", " line"])
    # spread the JSON of every event over several data: lines (SSE joins them with "\n", JSON whitespace)
    ev = [[n, json.dumps(d, indent=1, ensure_ascii=False)] for n, d in ev]
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "multi line")


@test("SSE UTF-8 BOM at start")
def _(ctx):
    body = b"\xef\xbb\xbf" + sse_from_events(events_of("bom", ["b", "om"]))
    srv = ctx.server({"sse_raw": body, "write_size": 2})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "bom")


@test("SSE unknown event types skipped")
def _(ctx):
    ev = events_of("known only", ["known", " only"])
    ev.insert(1, ["future_event", {"type": "future_event", "text": "NOPE", "nested": {"a": [1, 2, {"b": None}]}}])
    ev.insert(5, ["another_thing", {"type": "another_thing"}])
    ev.insert(5, ["ping", {"type": "ping"}])
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "known only")


@test("SSE unknown content block types skipped")
def _(ctx):
    content = [
        {"start": {"type": "mystery_block", "payload": {"x": 1}},
         "deltas": [{"type": "mystery_delta", "text": "NOPE1"}, {"type": "text_delta", "text": "NOPE2"}]},
        {"type": "text", "text": "visible", "pieces": ["vis", "ible"]},
        {"start": {"type": "redacted_thinking", "data": "abc"}, "deltas": []},
    ]
    srv = ctx.server({"events": message_stream(content=content)})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "visible")


@test("thinking is not printed")
def _(ctx):
    content = [{"type": "thinking", "thinking": "SECRET THOUGHTS"}, {"type": "text", "text": "answer"}]
    srv = ctx.server({"events": message_stream(content=content)})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "answer")


@test("UTF-8 split across reads")
def _(ctx):
    srv = ctx.server({"text": UTF8_TEXT, "pieces": [UTF8_TEXT], "write_size": 1, "framing": "chunked",
                      "chunk_size": 5})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, UTF8_TEXT)


@test("UTF-8 split across deltas")
def _(ctx):
    pieces = ["h", "é", "llo w", "ö", "rld ", "日", "本語", " ", "🎉"]
    srv = ctx.server({"text": UTF8_TEXT, "pieces": pieces, "write_size": 1})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, UTF8_TEXT)


@test("JSON escapes in deltas")
def _(ctx):
    raw_texts = [r'line1\nline2', r'\ttab', r' \"q\"', r' back\\slash', r' \/', r' \u00e9', r' \u20AC',
                 r' \ud83c\udf89', r' x\ud800y', r' end\u0041']
    ev = head_events()
    for t in raw_texts:
        ev.append(["content_block_delta",
                   '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%s"}}' % t])
    ev += tail_events()
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    expected = (b'line1\nline2\ttab "q" back\\slash / \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x89 x\xef\xbf\xbdy endA')
    ctx.stdout_text(r, expected)


@test("text ending in a newline gets nothing added")
def _(ctx):
    srv = ctx.server({"text": "two\nlines\n", "pieces": ["two\n", "lines\n"]})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.check(r.stdout == b"two\nlines\n", "stdout is %r, expected exactly b'two\\nlines\\n'" % r.stdout)


@test("empty text")
def _(ctx):
    srv = ctx.server({"text": ""})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_empty(r)


@test("large stream (200 KB over 2000 deltas)")
def _(ctx):
    pieces = ["%05d:%s\n" % (i, "abcdefghij" * 9) for i in range(2000)]
    srv = ctx.server({"text": "".join(pieces), "pieces": pieces, "framing": "chunked", "chunk_size": 4000,
                      "write_size": 1500})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "".join(pieces))


@test("several text blocks concatenated")
def _(ctx):
    content = [{"type": "text", "text": "first. "}, {"type": "text", "text": "second."}]
    srv = ctx.server({"events": message_stream(content=content)})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "first. second.")

# ---------------------------------------------------------------------------------------------------------
# The request


@test("request shape")
def _(ctx):
    srv = ctx.server({"text": "ok"})
    prompt = 'Say "hi"\n\ttab \\ é 日本 🎉 </s> {"json": true}'
    base = srv.url + "/gateway"
    r = ctx.run(["--model", "claude-test-model-9", "--max-tokens", "1234", "-p", prompt], srv=srv, base_url=base)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "ok")
    q = ctx.requests(srv, 1)[0]
    h = q["headers"]
    ctx.check(q["method"] == "POST", "method %r" % q["method"])
    ctx.check(q["path"] == "/gateway/v1/messages", "path %r, expected /gateway/v1/messages" % q["path"])
    ctx.check(h.get("host") in ("127.0.0.1:%d" % srv.port,), "host header %r" % h.get("host"))
    ctx.check(h.get("x-api-key") == API_KEY, "x-api-key %r" % h.get("x-api-key"))
    ctx.check("authorization" not in h, "authorization header sent along with x-api-key")
    ctx.check(h.get("anthropic-version") == "2023-06-01", "anthropic-version %r" % h.get("anthropic-version"))
    ctx.check(h.get("content-type", "").split(";")[0].strip() == "application/json",
              "content-type %r" % h.get("content-type"))
    ctx.check(h.get("accept") == "text/event-stream", "accept %r" % h.get("accept"))
    ctx.check(h.get("user-agent", "").startswith("agent/"), "user-agent %r" % h.get("user-agent"))
    b = q["body"]
    ctx.check(isinstance(b, dict), "body is not a JSON object: %r" % (b,))
    ctx.check(b.get("model") == "claude-test-model-9", "model %r" % b.get("model"))
    ctx.check(type(b.get("max_tokens")) is int and b["max_tokens"] == 1234, "max_tokens %r" % b.get("max_tokens"))
    ctx.check(b.get("stream") is True, "stream %r" % b.get("stream"))
    t = last_user_text(b)
    ctx.check(t == prompt, "prompt text %r, expected %r" % (t, prompt))


@test("request path without prefix")
def _(ctx):
    srv = ctx.server({"text": "ok"})
    r = prompt_run(ctx, srv, "plain")
    ctx.exit_code(r, 0)
    q = ctx.requests(srv, 1)[0]
    ctx.check(q["path"] == "/v1/messages", "path %r" % q["path"])
    ctx.check(last_user_text(q["body"]) == "plain", "prompt text %r" % last_user_text(q["body"]))


@test("model from ANTHROPIC_MODEL")
def _(ctx):
    srv = ctx.server({"text": "ok"})
    r = prompt_run(ctx, srv, env={"ANTHROPIC_MODEL": "claude-env-model"})
    ctx.exit_code(r, 0)
    q = ctx.requests(srv, 1)[0]
    ctx.check(q["body"].get("model") == "claude-env-model", "model %r" % q["body"].get("model"))


@test("--print is -p")
def _(ctx):
    srv = ctx.server({"text": "printed"})
    r = ctx.run(["--print", "long form"], srv=srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "printed")
    q = ctx.requests(srv, 1)[0]
    ctx.check(last_user_text(q["body"]) == "long form", "prompt text %r" % last_user_text(q["body"]))


@test("bearer token auth")
def _(ctx):
    srv = ctx.server({"text": "ok"})
    r = prompt_run(ctx, srv, env={"ANTHROPIC_AUTH_TOKEN": "tok-456"}, unset=["ANTHROPIC_API_KEY"])
    ctx.exit_code(r, 0)
    h = ctx.requests(srv, 1)[0]["headers"]
    ctx.check(h.get("authorization") == "Bearer tok-456", "authorization %r" % h.get("authorization"))
    ctx.check("x-api-key" not in h, "x-api-key sent without ANTHROPIC_API_KEY: %r" % h.get("x-api-key"))


@test("prompt from stdin")
def _(ctx):
    srv = ctx.server({"text": "answer"})
    r = ctx.run(["-p"], srv=srv, input=b"question\n")
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "answer")
    t = last_user_text(ctx.requests(srv, 1)[0]["body"])
    ctx.check(t in ("question", "question\n"), "prompt text %r, expected 'question'" % t)


@test("missing API key")
def _(ctx):
    srv = ctx.server({"text": "should not be asked"})
    r = prompt_run(ctx, srv, unset=["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
    ctx.exit_code(r, 1, 2)
    ctx.error_line(r)
    ctx.stderr_has(r, "ANTHROPIC_API_KEY")
    ctx.requests(srv, 0)

# ---------------------------------------------------------------------------------------------------------
# Command line


@test("--version")
def _(ctx):
    r = ctx.run(["--version"])
    ctx.exit_code(r, 0)
    ctx.check(r.stdout.startswith(b"agent "), "stdout %r does not start with 'agent '" % r.stdout[:100])
    ctx.check(r.stdout.count(b"\n") == 1 and r.stdout.endswith(b"\n"), "--version prints more than one line")


@test("--help")
def _(ctx):
    r = ctx.run(["--help"])
    ctx.exit_code(r, 0)
    ctx.check(b"usage" in r.stdout.lower(), "no usage text on stdout")
    ctx.check(b"-p" in r.stdout, "usage does not mention -p")
    ctx.check(r.stderr == b"", "--help wrote to stderr")


@test("unknown flag")
def _(ctx):
    srv = ctx.server({"text": "no"})
    r = ctx.run(["--bogus-flag", "-p", "hi"], srv=srv)
    ctx.exit_code(r, 2)
    ctx.check(r.err.count("\n") == 1, "expected one line on stderr, got %d" % r.err.count("\n"))
    ctx.stderr_has(r, "--bogus-flag")
    ctx.check(r.stdout == b"", "stdout not empty")
    ctx.requests(srv, 0)


@test("missing flag argument")
def _(ctx):
    srv = ctx.server({"text": "no"})
    r = ctx.run(["-p", "hi", "--max-tokens"], srv=srv)
    ctx.exit_code(r, 2)
    ctx.check(r.err.count("\n") == 1, "expected one line on stderr, got %d" % r.err.count("\n"))
    ctx.stderr_has(r, "--max-tokens")
    ctx.requests(srv, 0)
    r = ctx.run(["-p", "hi", "--model"], srv=srv)
    ctx.exit_code(r, 2)
    ctx.stderr_has(r, "--model")
    ctx.requests(srv, 0)

# ---------------------------------------------------------------------------------------------------------
# TLS


@test("TLS success with SSL_CERT_FILE")
def _(ctx):
    srv = ctx.server({"text": "secure hello"}, tls="server")
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "secure hello")
    q = ctx.requests(srv, 1)[0]
    ctx.check(q["path"] == "/v1/messages", "path %r" % q["path"])
    ctx.check(q["headers"].get("host") == "localhost:%d" % srv.port, "host header %r" % q["headers"].get("host"))


@test("TLS one-byte records, chunked")
def _(ctx):
    srv = ctx.server({"text": UTF8_TEXT, "framing": "chunked", "chunk_size": 9, "write_size": 1}, tls="server")
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, UTF8_TEXT)


@test("TLS close-delimited body")
def _(ctx):
    srv = ctx.server({"text": "closed securely", "framing": "close"}, tls="server")
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "closed securely")


@test("TLS untrusted CA")
def _(ctx):
    srv = ctx.server({"text": "must not be seen"}, tls="untrusted")
    r = prompt_run(ctx, srv)
    ctx.failed(r, "SSL_CERT_FILE", "localhost")
    ctx.check(r.stdout == b"", "stdout not empty")
    ctx.requests(srv, 0)


@test("TLS failures no retry can fix are not retried")
def _(ctx):
    for kind, tls13, what in (("untrusted", False, "SSL_CERT_FILE"), ("server", True, "TLS 1.3")):
        srv = ctx.server({"text": "must not be seen"}, {"text": "must not be seen"}, tls=kind, tls13_only=tls13)
        r = prompt_run(ctx, srv, env={"ANTHROPIC_MAX_RETRIES": "3"})
        ctx.failed(r, what)
        ctx.check("retrying" not in r.err, "%s: retried: %r" % (kind, r.err[-300:]))
        ctx.check(srv.connections == 1, "%s: %d connections, expected 1 (no retry)" % (kind, srv.connections))


@test("early errors in --output-format json and stream-json are result objects")
def _(ctx):
    cases = ((["--bogus"], {}, (), "unknown option '--bogus'"),
             ([], {}, ("ANTHROPIC_API_KEY",), "no API key"),
             ([], {"ANTHROPIC_BASE_URL": "ftp://x"}, (), "ANTHROPIC_BASE_URL"),
             (["--model"], {}, (), "--model"))
    for fmt in ("json", "stream-json"):
        for args, env, unset, want in cases:
            r = ctx.run(["-p", "Hi", "--output-format", fmt] + args, env=env, unset=unset)
            ctx.exit_code(r, 2)
            lines = r.stdout.decode().strip().split("\n")
            ctx.check(len(lines) == 1 and lines[0], "%s %s: expected one line on stdout, got %r" % (fmt, args, r.stdout))
            obj = json.loads(lines[0])
            ctx.check(obj.get("type") == "result" and obj.get("is_error") is True, "%s %s: %r" % (fmt, args, obj))
            ctx.check(want in obj.get("result", ""), "%s %s: result %r lacks %r" % (fmt, args, obj.get("result"), want))
    r = ctx.run(["-p", "Hi", "--bogus"])
    ctx.exit_code(r, 2)
    ctx.check(r.stdout == b"", "text format: stdout not empty: %r" % r.stdout)


@test("--help and README name every environment variable agent.c reads")
def _(ctx):
    src = open(os.path.join(os.path.dirname(HERE), "agent.c"), encoding="utf-8").read()
    names = set(re.findall(r'(?:getenv|_env_ms|_env_num)\("([A-Z][A-Z0-9_]+)"', src))
    names |= set(n for n in re.findall(r'"([A-Z]+_PROXY)"', src))
    names -= {"HOME", "TERM", "AGENT_TEST_NOW"}          # the OS's, and the tests' own clock
    ctx.check(len(names) > 20, "found only %d variables in agent.c: %r" % (len(names), sorted(names)))
    r = ctx.run(["--help"])
    ctx.exit_code(r, 0)
    readme = open(os.path.join(os.path.dirname(HERE), "README.md"), encoding="utf-8").read()
    env_table = readme[readme.index("## Environment"):]
    out = r.stdout.decode()
    missing_help = sorted(n for n in names if n not in out)
    missing_readme = sorted(n for n in names if "`%s`" % n not in env_table)
    ctx.check(not missing_help, "--help does not name %r" % missing_help)
    ctx.check(not missing_readme, "README's Environment section does not name %r" % missing_readme)
    ctx.check("agent [options] [PROMPT]" in out, "--help's usage lacks the interactive form")


@test("TLS wrong host name")
def _(ctx):
    srv = ctx.server({"text": "must not be seen"}, tls="wrong")
    r = prompt_run(ctx, srv)
    ctx.failed(r, "localhost", "name")
    ctx.check(r.stdout == b"", "stdout not empty")
    ctx.requests(srv, 0)


@test("TLS clock in 1970 warns and works")
def _(ctx):
    srv = ctx.server({"text": "time travel"}, tls="server")
    r = prompt_run(ctx, srv, env={"AGENT_TEST_NOW": "0"})
    ctx.exit_code(r, 0)
    ctx.stdout_text(r, "time travel")
    lines = [l for l in r.err.splitlines() if "warning" in l.lower() and "clock" in l.lower()]
    ctx.check(len(lines) == 1, "expected one stderr line with 'warning' and 'clock', got %d" % len(lines))


@test("TLS clock in 2100: expired")
def _(ctx):
    srv = ctx.server({"text": "must not be seen"}, tls="server")
    r = prompt_run(ctx, srv, env={"AGENT_TEST_NOW": "4102444800"})
    ctx.failed(r, "expired")
    ctx.requests(srv, 0)


@test("TLS 1.3-only server")
def _(ctx):
    srv = ctx.server({"text": "must not be seen"}, tls="server", tls13_only=True)
    r = prompt_run(ctx, srv)
    ctx.failed(r, "TLS 1.3")
    ctx.requests(srv, 0)


@test("TLS to an IP address")
def _(ctx):
    srv = ctx.server({"text": "must not be seen"}, tls="server")
    r = prompt_run(ctx, srv, base_url="https://127.0.0.1:%d" % srv.port)
    ctx.failed(r, "IP address")
    ctx.requests(srv, 0)

# ---------------------------------------------------------------------------------------------------------
# HTTP and API errors


def _api_error(status, etype, message, headers=None):
    def fn(ctx):
        srv = ctx.server({"status": status, "headers": headers or {},
                          "json": {"type": "error", "error": {"type": etype, "message": message}}})
        r = prompt_run(ctx, srv)
        ctx.failed(r, str(status), etype, message)
        ctx.check(r.stdout == b"", "stdout not empty")
        ctx.requests(srv, 1)
    return fn


test("HTTP 400 invalid_request_error")(_api_error(
    400, "invalid_request_error", "max_tokens: Field required"))
test("HTTP 401 authentication_error")(_api_error(401, "authentication_error", "invalid x-api-key"))
test("HTTP 404 not_found_error")(_api_error(404, "not_found_error", "model: claude-nope-1"))
test("HTTP 429 rate_limit_error, no retries")(_api_error(
    429, "rate_limit_error", "Number of request tokens has exceeded your rate limit", {"retry-after": "1"}))
test("HTTP 500 api_error, no retries")(_api_error(500, "api_error", "Internal server error"))
test("HTTP 529 overloaded_error, no retries")(_api_error(529, "overloaded_error", "Overloaded"))


@test("HTTP 502 with an HTML body")
def _(ctx):
    html = ("<html><head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1>"
            "</center><hr><center>nginx</center></body></html>\r\n")
    srv = ctx.server({"status": 502, "body": html, "headers": {"content-type": "text/html"}})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "502", "<html><head><title>502 Bad Gateway</title></head>")
    ctx.check(r.stdout == b"", "stdout not empty")


@test("error event mid-stream")
def _(ctx):
    ev = head_events() + [delta("Partial answer")]
    ev.append(["error", {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}])
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "api_error", "Internal server error")
    ctx.stdout_text(r, "Partial answer")


def _cut(ctx, framing, tls=None):
    ev = head_events() + [delta("Hello")]
    prefix = len(sse_from_events(ev))
    ev += [delta(" world")] + tail_events()
    spec = {"events": ev, "framing": framing}
    if framing == "chunked":
        spec["chunk_size"] = prefix  # first chunk ends right after the first delta
        prefix += len(b"%x\r\n" % prefix) + 2
    spec["cut_after"] = prefix + 10
    srv = ctx.server(spec, tls=tls)
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 1)
    ctx.error_line(r)
    ctx.stderr_has_any(r, "incomplete", "closed")
    ctx.stdout_text(r, "Hello")


@test("cut mid-stream, content-length")
def _(ctx):
    _cut(ctx, "length")


@test("cut mid-stream, chunked")
def _(ctx):
    _cut(ctx, "chunked")


@test("cut mid-stream, close-delimited")
def _(ctx):
    _cut(ctx, "close")


@test("cut mid-stream, TLS")
def _(ctx):
    _cut(ctx, "length", tls="server")


@test("stream without message_stop")
def _(ctx):
    ev = events_of("no stop here", ["no stop", " here"])[:-1]
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 1)
    ctx.error_line(r)
    ctx.stderr_has_any(r, "incomplete", "closed")
    ctx.stdout_text(r, "no stop here")


@test("stream without message_stop, close-delimited")
def _(ctx):
    ev = events_of("no stop here", ["no stop", " here"])[:-1]
    srv = ctx.server({"events": ev, "framing": "close"})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 1)
    ctx.error_line(r)
    ctx.stderr_has_any(r, "incomplete", "closed")
    ctx.stdout_text(r, "no stop here")


@test("server closes without a response")
def _(ctx):
    srv = ctx.server({"raw": b""})
    r = prompt_run(ctx, srv)
    ctx.exit_code(r, 1)
    ctx.error_line(r)
    ctx.check(r.stdout == b"", "stdout not empty")


@test("connection refused")
def _(ctx):
    r = prompt_run(ctx, None)
    ctx.exit_code(r, 1)
    ctx.error_line(r)


@test("oversized response header (70 KB line)")
def _(ctx):
    srv = ctx.server({"text": "never", "headers": {"x-huge": "a" * 70000}})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "header")
    ctx.check(r.stdout == b"", "stdout not empty")


@test("oversized response header section (many lines)")
def _(ctx):
    headers = {"x-h%04d" % i: "v" * 90 for i in range(800)}
    srv = ctx.server({"text": "never", "headers": headers})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "header")


@test("garbage status line")
def _(ctx):
    srv = ctx.server({"raw": "GARBAGE GARBAGE\r\ncontent-length: 0\r\n\r\n"})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "status line")


@test("bad chunk size")
def _(ctx):
    body = sse_from_events(events_of("x"))
    raw = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n" + body
    srv = ctx.server({"raw": raw})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "chunk")


@test("huge chunk size")
def _(ctx):
    body = sse_from_events(events_of("x"))
    raw = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
           b"ffffffffffffffffff\r\n" + body)
    srv = ctx.server({"raw": raw})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "chunk")


@test("invalid JSON in an event")
def _(ctx):
    ev = head_events() + [delta("before ")]
    ev.append(["content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
                                      '"text":"broken"'])
    ev += tail_events()
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "JSON")
    ctx.stdout_text(r, "before ")


@test("oversized event (2 MiB of data)")
def _(ctx):
    ev = head_events() + [delta("small "), delta("x" * (2 << 20))] + tail_events()
    srv = ctx.server({"events": ev})
    r = prompt_run(ctx, srv)
    ctx.failed(r, "too large")


def _survives(ctx, r, text):
    """Exit 0 with the text, or a clear error: never a crash (no_crash already ran)."""
    ctx.exit_code(r, 0, 1)
    if r.returncode == 0:
        ctx.stdout_text(r, text)
    else:
        ctx.error_line(r)


@test("deep nesting in an unknown event")
def _(ctx):
    ev = events_of("still here", ["still", " here"])
    ev.insert(1, ["mystery_event", "[" * 5000 + "]" * 5000])
    srv = ctx.server({"events": ev})
    _survives(ctx, prompt_run(ctx, srv), "still here")


@test("deep nesting inside a known event")
def _(ctx):
    ev = head_events()
    ev.append(["content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
                                      '"text":"deep","x":' + "[" * 5000 + "]" * 5000 + '}}'])
    ev.append(["content_block_delta", '{"type":"content_block_delta","index":0,"junk":' + '{"a":' * 3000 + '1'
               + '}' * 3000 + ',"delta":{"type":"text_delta","text":"er"}}'])
    ev += tail_events()
    srv = ctx.server({"events": ev})
    _survives(ctx, prompt_run(ctx, srv), "deeper")


@test("more JSON tokens than the pool")
def _(ctx):
    ev = events_of("many tokens", ["many", " tokens"])
    ev.insert(1, ["mystery_event", "[" + ",".join(["1"] * 100000) + "]"])
    srv = ctx.server({"events": ev})
    _survives(ctx, prompt_run(ctx, srv), "many tokens")


@test("many tokens inside a known event")
def _(ctx):
    ev = head_events()
    ev.append(["content_block_delta", '{"type":"content_block_delta","index":0,"extra":['
               + ",".join(["1"] * 100000) + '],"delta":{"type":"text_delta","text":"counted"}}'])
    ev += tail_events()
    srv = ctx.server({"events": ev})
    _survives(ctx, prompt_run(ctx, srv), "counted")

# ---------------------------------------------------------------------------------------------------------
# Runner


def run_one(name, fn):
    ctx = Ctx(name)
    status, diag = "ok", []
    try:
        fn(ctx)
    except Skip as e:
        status = "skip"
        diag = [str(e)]
    except Fail as e:
        status = "fail"
        diag = [str(e)] + ctx.diagnostics()
    except Exception:
        status = "fail"
        diag = ["test raised:"] + traceback.format_exc().rstrip().splitlines() + ctx.diagnostics()
    finally:
        ctx.close()
    return status, diag


def main(argv=None):
    ap = argparse.ArgumentParser(description="End-to-end tests of the agent binary against a mock API.")
    ap.add_argument("--agent", help="path of the agent binary to test")
    ap.add_argument("--filter", action="append", default=[],
                    help="run only tests whose name contains SUBSTR (repeatable; any matches)")
    ap.add_argument("--label", default="e2e", help="name of this run (e.g. asan), shown in the summary line")
    ap.add_argument("--jobs", type=int, default=4, help="tests run in parallel (default 4)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per agent run (default 20)")
    ap.add_argument("--wrapper", default="", help="command to run the agent under, e.g. 'valgrind -q'")
    ap.add_argument("--valgrind", action="store_true",
                    help="run the agent under valgrind (memcheck; errors exit 99), timeout at least 120 s")
    ap.add_argument("--list", action="store_true", help="list the test names and exit")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)

    selected = [(n, f) for n, f in TESTS if not args.filter or any(s in n for s in args.filter)]
    if args.list:
        for n, _ in selected:
            print(n)
        return 0
    if not args.agent:
        ap.error("--agent PATH is required")
    agent = os.path.abspath(args.agent)
    if not (os.path.isfile(agent) and os.access(agent, os.X_OK)):
        print("e2e.py: %s is not an executable file" % args.agent, file=sys.stderr)
        return 2
    Config.agent = agent
    Config.wrapper = shlex.split(args.wrapper)
    Config.timeout = args.timeout
    if args.valgrind:
        Config.wrapper = VALGRIND + Config.wrapper
        Config.timeout = max(args.timeout, 120.0)
    Config.workdir = tempfile.mkdtemp(prefix="agent-e2e-")
    Config.certs = os.path.join(Config.workdir, "certs")
    try:
        subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), Config.certs], check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        print("e2e.py: mkcerts.sh failed: %s" % e, file=sys.stderr)
        return 2

    t0 = time.monotonic()
    counts = {"ok": 0, "fail": 0, "skip": 0}
    suffix = "" if args.label == "e2e" else " [%s]" % args.label
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [(n, pool.submit(run_one, n, f)) for n, f in selected]
            for name, fut in futures:
                status, diag = fut.result()
                counts[status] += 1
                if status == "skip":
                    print("ok - %s%s # SKIP %s" % (name, suffix, diag[0] if diag else ""), flush=True)
                    continue
                print("%s - %s%s" % ("ok" if status == "ok" else "not ok", name, suffix), flush=True)
                for line in diag:
                    print("    " + line)
                sys.stdout.flush()
    finally:
        if args.keep:
            print("# kept %s" % Config.workdir)
        else:
            shutil.rmtree(Config.workdir, ignore_errors=True)
    print("# %d tests in %.1fs" % (len(selected), time.monotonic() - t0))
    print("%s: %d passed, %d failed, %d skipped" % (args.label, counts["ok"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
