"""The harness the end-to-end suites share (e2e_loop, e2e_ext, e2e_mcp, e2e_agents, e2e_fault, e2e_repl).

A suite makes a Suite, registers its tests with its decorator and subclasses Ctx (one test's world: temp HOME and
working directory, mock servers from test/mock_api.py, agent runs, checks that raise Fail, a dump of everything
recorded when a test fails). Suite.main parses --agent, --filter, --label and --jobs, runs the tests on a thread
pool and prints, in registration order, "ok - PREFIX: NAME [LABEL]" or "not ok - PREFIX: NAME [LABEL]" followed
by indented diagnostics, then "e2e_PREFIX [LABEL]: N passed, N failed, N skipped"; exit status 1 when any test
failed. A test that cannot run here raises Skip (or a hook returns skip_outcome): "ok - PREFIX: NAME # SKIP why",
counted apart from those that passed; when what is missing is a program .ci/run installs (Skip(why, peer=True)),
under CI=true it is a failure instead, "not ok - PREFIX: NAME # missing in CI: why".
Python 3 standard library only (tmux for Pane).
"""
import argparse
import collections
import concurrent.futures
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import mock_api  # noqa: E402

API_KEY = "test-key-123"
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
PANE_WAIT = 10.0     # seconds Pane.wait polls the screen unless told otherwise


class Fail(Exception):
    """A check that did not hold: the test fails with this message (and the diagnostics after it)."""


class Skip(Exception):
    """The test cannot run here, and why. Skip(why): this machine cannot give what the test needs (a kernel
    without Landlock, no [::1]), a skip everywhere. Skip(why, peer=True): a program that .ci/run installs is
    missing (tinyproxy, microsocks, sshd, node, unshare, ip, ...): a skip on a developer's machine, a failure
    under CI=true, where .ci/run should have installed it."""

    def __init__(self, why, peer=False):
        super().__init__(why)
        self.why = why
        self.peer = peer


def in_ci():
    """CI=true (or 1, yes) in the environment: every peer program .ci/run installs must be here."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def clip(s, n):
    """s (or its repr) cut to about n characters, keeping both ends."""
    if not isinstance(s, str):
        s = repr(s)
    if len(s) <= n:
        return s
    return s[:n // 2] + " [...%d chars...] " % (len(s) - n) + s[-n // 2:]


def shq(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


_CERTS = {}
_CERTS_LOCK = threading.Lock()


def certs(name):
    """(pem, key) of a test certificate made once per run by test/mkcerts.sh (ca, server: names localhost)."""
    with _CERTS_LOCK:
        if "dir" not in _CERTS:
            d = tempfile.mkdtemp(prefix="agent-e2e-certs-")
            subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), d], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            _CERTS["dir"] = d
    return (os.path.join(_CERTS["dir"], name + ".pem"), os.path.join(_CERTS["dir"], name + ".key"))


# ---------------------------------------------------------------------------------------------------------
# Script builders: one response spec per model call (see test/mock_api.py)

def say(text, **kw):
    """A text answer; kw: more spec keys (pieces, stall, ...)."""
    d = {"text": text}
    d.update(kw)
    return d


def call(tid, name, inp, text_before=None):
    """A reply with one tool_use block (optionally after a text block)."""
    t = {"id": tid, "name": name, "input": inp}
    if text_before is not None:
        t["text_before"] = text_before
    return {"tool_use": t}


def bash(tid, command, **kw):
    inp = {"command": command}
    inp.update(kw)
    return call(tid, "Bash", inp)


def calls(*uses, text_before=None):
    """A reply with several tool_use blocks: uses are (id, name, input) triples."""
    content = []
    if text_before is not None:
        content.append({"type": "text", "text": text_before})
    for tid, name, inp in uses:
        content.append({"type": "tool_use", "id": tid, "name": name, "input": inp})
    return {"events": mock_api.message_stream(content=content, stop_reason="tool_use")}


# ---------------------------------------------------------------------------------------------------------
# Requests as the model sees them

def texts(msg):
    """The texts of a message: its string content, or its text blocks."""
    c = msg.get("content")
    if isinstance(c, str):
        return [c]
    return [b.get("text", "") for b in c if b.get("type") == "text"]


def rtext(b):
    """The text of a tool_result block: its string content, or its text blocks joined by newlines."""
    c = b.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "\n".join(x.get("text", "") for x in c if isinstance(x, dict) and x.get("type") == "text")
    return ""


def sys_text(body):
    """The system prompt of a Messages request: a string, or its blocks' texts joined by newlines."""
    s = body.get("system")
    if isinstance(s, str):
        return s
    return "\n".join(b.get("text", "") for b in s or [] if isinstance(b, dict))


def tool_names(body):
    return [t.get("name") for t in body.get("tools") or []]


def cache_count(body):
    """cache_control breakpoints of a Messages request (system, tools, message blocks)."""
    n = sum("cache_control" in b for b in body.get("system") or [] if isinstance(b, dict))
    n += sum("cache_control" in t for t in body.get("tools") or [])
    for m in body.get("messages") or []:
        if isinstance(m.get("content"), list):
            n += sum("cache_control" in b for b in m["content"])
    return n


def brief(body, first=None, system_clip=300):
    """A request body for a failure dump: tools as their names, the system prompt cut (or "<as in the first
    request>" when first, the first request's body, has the same), Chat Completions system messages cut."""
    if not isinstance(body, dict):
        return repr(body)
    b = dict(body)
    if "tools" in b:
        b["tools"] = ["<%d tools: %s>" % (len(b["tools"]), ",".join(
            t.get("name") or (t.get("function") or {}).get("name", "?") for t in b["tools"]))]
    if "system" in b:
        st = sys_text(b)
        same = first is not None and first is not body and isinstance(first, dict) and sys_text(first) == st
        b["system"] = "<as in the first request>" if same else clip(st, system_clip)
    if isinstance(b.get("messages"), list):
        b["messages"] = [dict(m, content="<system prompt, %d chars>" % len(str(m.get("content"))))
                         if isinstance(m, dict) and m.get("role") == "system" else m for m in b["messages"]]
    return json.dumps(b, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------------
# One test's world: temp dirs, mock servers, agent runs, checks, the failure dump

class Result:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed


class Ctx:
    """A suite subclasses it and sets what differs below (and adds its own helpers)."""
    TMP_PREFIX = "agent-e2e-"       # of the test's temp root
    RUN_TIMEOUT = 30                # seconds an agent run may take before it is killed (with its group)
    SERVER = mock_api.MockServer    # the class of c.server()
    ENV = {}                        # more variables for every run
    SANITIZER_ENV = False           # pass the sanitizer build's settings (SANITIZER_VARS) on to the agent
    CLIP = 800                      # how much of a value a failed check shows
    EQ_CLIP = None                  # eq: clip expected and actual values to this too
    OUT_CLIP = 1500                 # how much of stdout / stderr the dump shows
    ERR_CLIP = 1500
    REQUEST_CLIP = 2500             # ... of each request body
    SYSTEM_CLIP = 300               # ... of a system prompt (the first time it is seen)
    FIRST_REQUEST = 0               # the dump numbers requests from this

    def __init__(self, agent, name):
        self.agent = agent
        self.name = name
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=self.TMP_PREFIX))
        self.home = os.path.join(self.root, "home")
        self.work = os.path.join(self.root, "work")
        os.makedirs(self.home)
        os.makedirs(self.work)
        self.servers = []
        self.panes = []
        self.runs = []          # (Result, server)
        self.notes = []         # lines for the dump
        self.ok_lines = []      # lines shown under a passing test's "ok" line
        self.args = None        # the suite's command line

    # -- setup --

    def path(self, rel):
        return os.path.join(self.work, rel)

    def write(self, path, data, mode=None):
        """A file (relative paths: in the working directory), its directories made; data: str or bytes."""
        p = path if os.path.isabs(path) else self.path(path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ours(self, pattern=None):
        """pids of processes with this test's HOME in their environment (started by its agent runs), whose
        command line contains pattern (any when None)."""
        mark = ("HOME=%s" % self.home).encode()
        found = []
        for pid, _, cmd in procs():
            if pid == os.getpid() or (pattern is not None and pattern not in cmd):
                continue
            try:
                with open("/proc/%d/environ" % pid, "rb") as f:
                    if mark in f.read().split(b"\0"):
                        found.append((pid, cmd))
            except OSError:
                pass
        return found

    def trust(self, folder=None):
        """Mark folder (the working directory) trusted, as a yes at the agent's trust question records it."""
        state = os.path.join(self.home, "state", "agent")
        os.makedirs(state, exist_ok=True)
        with open(os.path.join(state, "trusted-folders"), "a") as f:
            f.write(os.path.realpath(folder or self.work) + "\n")

    def server(self, script=None, pages=None, tls=False):
        """A started mock server (SERVER) on 127.0.0.1, port 0; tls: HTTPS with the test certificate."""
        srv = self.SERVER(script=script or [], pages=pages, tls=certs("server") if tls else None).start()
        self.servers.append(srv)
        return srv

    def env(self, srv, extra=None):
        """The agent's whole environment: HOME and XDG dirs of this test, the API at srv, no retries, no colour."""
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_BASE_URL": ("https://localhost:%d" if srv.scheme == "https" else "http://127.0.0.1:%d")
                                  % srv.port,
            "ANTHROPIC_MAX_RETRIES": "0",
            "NO_COLOR": "1",
        }
        e.update(self.ENV)
        if self.SANITIZER_ENV:
            for k in SANITIZER_VARS:
                if k in os.environ:
                    e[k] = os.environ[k]
        e.update(extra or {})
        return e

    def run(self, srv, args, prompt="do the task", extra=None, stdin=None, cwd=None, timeout=None):
        """agent [-p PROMPT] ARGS against srv, in the working directory (or cwd). stdin: str/bytes fed to it,
        else /dev/null; extra: more environment."""
        argv = [self.agent] + (["-p", prompt] if prompt is not None else []) + list(args)
        return self.spawn(argv, self.env(srv, extra=extra), srv, stdin=stdin, cwd=cwd, timeout=timeout)

    def spawn(self, argv, env, srv, stdin=None, cwd=None, timeout=None):
        """Run argv in its own session with exactly env; kill its group after timeout (RUN_TIMEOUT) seconds.
        The Result is kept (with srv) for the dump."""
        timeout = self.RUN_TIMEOUT if timeout is None else timeout
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=cwd or self.work, env=env,
                             stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        try:
            out, err = p.communicate(input=data, timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            out, err = p.communicate()
            rc = "timeout after %d s" % timeout
        r = Result(argv, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - t0)
        self.runs.append((r, srv))
        return r

    def agent_pane(self, env, args=(), after="", width=100, height=40):
        """The agent in a new tmux pane with exactly env: `cd WORK && env -i ENV agent ARGS; echo EXIT=$?; AFTER;
        sleep 60` (the pane stays, so its last screen can be read)."""
        envs = " ".join(shlex.quote("%s=%s" % kv) for kv in env.items())
        cmd = "cd %s && env -i %s %s" % (shlex.quote(self.work), envs,
                                         " ".join(shlex.quote(a) for a in [self.agent] + list(args)))
        cmd += "; echo EXIT=$?; %ssleep 60" % (after + "; " if after else "")
        p = Pane(self, ("pane %d: agent %s" % (len(self.panes) + 1, " ".join(args))).rstrip(), cmd, width, height)
        self.panes.append(p)
        return p

    def teardown(self):
        """What a suite stops besides panes and mock servers (before the temp dirs go)."""

    def cleanup(self):
        for p in self.panes:
            try:
                p.close()
            except Exception:
                pass
        for s in self.servers:
            s.stop()
        self.teardown()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- checks --

    def check(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def eq(self, got, want, what):
        if got != want:
            if self.EQ_CLIP:
                want, got = clip(want, self.EQ_CLIP), clip(got, self.EQ_CLIP)
            raise Fail("%s: expected %r, got %r" % (what, want, got))

    def has(self, hay, needle, what):
        if not isinstance(hay, str) or needle not in hay:
            raise Fail("%s: expected it to contain %r, got %r" % (what, needle, clip(hay, self.CLIP)))

    def lacks(self, hay, needle, what):
        if isinstance(hay, str) and needle in hay:
            raise Fail("%s: expected it NOT to contain %r, got %r" % (what, needle, clip(hay, self.CLIP)))

    def ok(self, r, rc=0):
        if r.rc != rc:
            raise Fail("exit code: expected %r, got %r" % (rc, r.rc))

    def nreq(self, srv, n, what=""):
        if len(srv.requests) != n:
            raise Fail("expected %d requests to the API%s, got %d" % (n, what, len(srv.requests)))

    def json_out(self, r):
        """The stdout of run r as one JSON object."""
        try:
            obj = json.loads(r.out)
        except ValueError as e:
            raise Fail("stdout is not one JSON object: %s" % e)
        self.check(isinstance(obj, dict), "stdout JSON is not an object")
        return obj

    def body(self, srv, i):
        """The JSON body of request i (from 0) of srv."""
        self.check(i < len(srv.requests), "request %d was never made (%d requests)" % (i, len(srv.requests)))
        b = srv.requests[i]["body"]
        self.check(isinstance(b, dict), "request %d body is not JSON: %r" % (i, clip(b, 300)))
        return b

    def results(self, srv, i):
        """The tool_result blocks of the newest message of request i (the results of reply i-1)."""
        m = self.body(srv, i)["messages"][-1]
        self.eq(m.get("role"), "user", "role of the newest message of request %d" % i)
        self.check(isinstance(m.get("content"), list), "request %d: newest message content is not a list" % i)
        return [b for b in m["content"] if b.get("type") == "tool_result"]

    def result(self, srv, i, tid=None):
        """The single tool_result block of request i (its tool_use_id checked when tid is given)."""
        rs = self.results(srv, i)
        self.eq(len(rs), 1, "number of tool_result blocks in request %d" % i)
        if tid is not None:
            self.eq(rs[0].get("tool_use_id"), tid, "tool_use_id in request %d" % i)
        return rs[0]

    def is_err(self, b, what):
        if b.get("is_error") is not True:
            raise Fail("%s: expected is_error true, got %r" % (what, clip(json.dumps(b), self.CLIP)))

    def not_err(self, b, what):
        if b.get("is_error"):
            raise Fail("%s: expected no is_error, got %r" % (what, clip(json.dumps(b), self.CLIP)))

    # -- the failure dump --

    def brief(self, body, first):
        """A request body as the dump shows it (first: the server's first request body)."""
        return brief(body, first, self.SYSTEM_CLIP)

    def more_diagnostics(self):
        """Lines a suite adds at the end of the dump."""
        return []

    def diagnostics(self):
        """Notes, panes as they were, each run (command, exit code, stdout, stderr), what each server received."""
        lines = list(self.notes)
        for p in self.panes:
            lines.append("%s: %s" % (p.name, clip(p.command, 300)))
            lines.append("  screen:")
            scr = p.screen().split("\n")
            if len(scr) > 70:
                scr = scr[:20] + ["  [... %d lines ...]" % (len(scr) - 60)] + scr[-40:]
            lines += ["  | " + ln for ln in scr]
        for r, _ in self.runs:
            lines.append("command: %s" % " ".join(shq(a) for a in r.argv))
            lines.append("rc: %r  (%.2f s)" % (r.rc, r.elapsed))
            lines.append("stdout: %r" % clip(r.out, self.OUT_CLIP))
            lines.append("stderr: %r" % clip(r.err, self.ERR_CLIP))
        for k, srv in enumerate(self.servers):
            lines.append("server %d (port %s): %d API requests, %d page requests, %d connections" %
                         (k + 1, srv.port, len(srv.requests), len(srv.page_requests), srv.connections))
            first = srv.requests[0]["body"] if srv.requests else None
            for i, q in enumerate(srv.requests):
                lines.append("  request %d %s %s (conn %s): %s" % (
                    i + self.FIRST_REQUEST, q["method"], q["path"], q["conn"],
                    clip(self.brief(q["body"], first), self.REQUEST_CLIP)))
            for i, q in enumerate(srv.page_requests):
                lines.append("  page request %d %s %s headers %s" % (i, q["method"], q["path"],
                                                                    json.dumps(q["headers"])))
            if srv.errors:
                lines.append("  mock errors: %s" % clip(repr(srv.errors), 2000))
        return lines + self.more_diagnostics()


# ---------------------------------------------------------------------------------------------------------
# A tmux pane running the agent (or a shell); each pane has its own tmux server (tmux -L SOCKET)

_SOCKETS = itertools.count(1)
_SOCKET_LOCK = threading.Lock()


def _tmux_env():
    env = dict(os.environ)
    env.pop("TMUX", None)
    env.pop("TMUX_PANE", None)
    return env


def procs():
    """(pid, ppid, cmdline) of every process we can see."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                st = f.read().decode("latin-1")
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        out.append((int(d), ppid, cmd))
    return out


def pids_matching(s):
    return [p for p, _, cmd in procs() if s in cmd and p != os.getpid()]


class Pane:
    def __init__(self, c, name, command, width=100, height=40):
        self.c = c
        self.name = name
        with _SOCKET_LOCK:
            self.sock = "agent-e2e-repl-%d-%d" % (os.getpid(), next(_SOCKETS))
        self.command = command
        self.last = ""
        self.closed = False
        r = self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command)
        if r.returncode != 0:
            raise Fail("tmux new-session failed: %s" % r.stderr.strip())

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_tmux_env(), timeout=10)

    def screen(self):
        """The pane with its history, wrapped lines joined, trailing blanks gone."""
        if self.closed:
            return self.last
        r = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t:")
        if r.returncode == 0:
            lines = [ln.rstrip() for ln in r.stdout.split("\n")]
            while lines and not lines[-1]:
                lines.pop()
            self.last = "\n".join(lines)
        return self.last

    def keys(self, *keys):
        """tmux key names: Enter, Left, C-a, BSpace, DC, Up, Escape, ..."""
        self.tmux("send-keys", "-t", "t:", *keys)

    def type(self, text):
        """Literal text, as typed."""
        self.tmux("send-keys", "-t", "t:", "-l", "--", text)

    def line(self, text):
        self.type(text)
        self.keys("Enter")

    def wait(self, cond, what, timeout=PANE_WAIT):
        """Poll the screen until cond (a string it contains, a compiled regex, or a function of the screen)."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if isinstance(cond, str):
                ok = cond in s
            elif hasattr(cond, "search"):
                ok = cond.search(s) is not None
            else:
                ok = cond(s)
            if ok:
                return s
            if time.monotonic() > deadline:
                raise Fail("%s: not seen on the screen within %.0f s (%s)" % (what, timeout, self.name))
            time.sleep(0.05)

    def tail(self, s=None):
        s = self.screen() if s is None else s
        lines = [ln for ln in s.split("\n") if ln.strip()]
        return lines[-1] if lines else ""

    def wait_prompt(self, what="the prompt", timeout=PANE_WAIT, after=None):
        """Wait until the last line on the screen is the bare prompt "> " (after text `after` when given)."""
        def ready(s):
            if after is not None and after not in s:
                return False
            return self.tail(s) == ">"
        return self.wait(ready, what, timeout)

    def wait_ask(self, what="the permission question"):
        """Wait for the permission question's "? " line, then give the agent a moment to switch to raw mode."""
        s = self.wait(lambda s: self.tail(s) == "?", what)
        time.sleep(0.1)
        return s

    def exit_code(self, timeout=PANE_WAIT):
        s = self.wait(re.compile(r"EXIT=\d+$", re.M), "EXIT=", timeout)
        return int(re.findall(r"EXIT=(\d+)$", s, re.M)[-1])

    def pane_pid(self):
        r = self.tmux("display-message", "-p", "-t", "t:", "#{pane_pid}")
        return int(r.stdout.strip())

    def agent_pid(self):
        """The agent: the descendant of the pane's process that runs the agent binary."""
        root = self.pane_pid()
        kids = {}
        for p, pp, cmd in procs():
            kids.setdefault(pp, []).append((p, cmd))
        todo = [root]
        while todo:
            p = todo.pop()
            for k, cmd in kids.get(p, []):
                if cmd.split(" ")[0] == self.c.agent:
                    return k
                todo.append(k)
        raise Fail("no agent process under the pane (pid %d)" % root)

    def close(self):
        if not self.closed:
            self.screen()
            self.tmux("kill-server")
            self.closed = True
            sock = os.path.join(os.environ.get("TMUX_TMPDIR") or "/tmp", "tmux-%d" % os.getuid(), self.sock)
            try:
                os.unlink(sock)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------------------
# The runner

Outcome = collections.namedtuple("Outcome", "ok lines note skipped", defaults=((), "", False))


def skip_outcome(why, peer=False):
    """The Outcome of a test skipped for why (see Skip): "ok - NAME # SKIP why", or under CI=true, when a peer
    program is missing, "not ok - NAME # missing in CI: why"."""
    if peer and in_ci():
        return Outcome(False, [".ci/run installs it: CI=true counts the skip as a failure"],
                       " # missing in CI: %s" % why)
    return Outcome(True, (), " # SKIP %s" % why, True)


def label_suffix(argv):
    """" [LABEL]" of a --label LABEL in argv (for what is printed before Suite.main parses it), or ""."""
    for i, a in enumerate(argv):
        if a == "--label" and i + 1 < len(argv) and argv[i + 1]:
            return " [%s]" % argv[i + 1]
        if a.startswith("--label=") and len(a) > 8:
            return " [%s]" % a[8:]
    return ""


def skip_suite(prefix, why, peer=False, argv=None):
    """No test of the suite can run here (found before Suite.main, e.g. no private namespace): one line for
    all of them and the summary line. Returns the exit status (1 when skip_outcome makes it a failure)."""
    suffix = label_suffix(sys.argv[1:] if argv is None else argv)
    out = skip_outcome(why, peer)
    print("%s - %s: all tests%s%s" % ("ok" if out.ok else "not ok", prefix, suffix, out.note))
    for ln in out.lines:
        print("    " + ln)
    print("e2e_%s%s: 0 passed, %d failed, %d skipped" % (prefix, suffix, not out.ok, bool(out.skipped)))
    sys.stdout.flush()
    return 0 if out.ok else 1


class Suite:
    """A suite's tests and its command line. Lines "ok - PREFIX: NAME" / "not ok - PREFIX: NAME" /
    "ok - PREFIX: NAME # SKIP why", the summary "e2e_PREFIX: N passed, N failed, N skipped" (passed: not the
    skipped). A suite that needs more subclasses it and overrides the hooks."""

    def __init__(self, prefix, jobs=4):
        self.prefix = prefix
        self.jobs = jobs
        self.tests = []         # (name, fn, opts)

    def test(self, fn=None, **opts):
        """Register a test fn(c); its name is the function name without the "t_" prefix. With options
        (@test(node=True)) they are kept for the hooks."""
        def reg(f):
            self.tests.append((f.__name__[2:], f, opts))
            return f
        return reg(fn) if fn is not None else reg

    # -- hooks --

    def add_args(self, ap):
        """More command-line options."""

    def early(self, args):
        """Before anything runs: an exit status to stop with at once (after printing what it has to), or None."""
        return None

    def not_ready(self, args):
        """Why no test can run (printed as one "not ok" line), or None."""
        return None

    def before(self, args, tests):
        """(name, Outcome) pairs reported before the tests."""
        return []

    def schedule(self, pool, ctx, agent, args, name, fn, opts):
        """A future of the test's Outcome, or an Outcome reported without running it (a skip: skip_outcome)."""
        return pool.submit(self.run_one, ctx, agent, args, name, fn)

    def summary_note(self, skipped):
        """Added to the summary line, after "N skipped" (why they were skipped, say)."""
        return ""

    def epilogue(self, args, tests):
        """Lines printed after the summary line."""
        return []

    # -- running --

    def run_one(self, ctx, agent, args, name, fn):
        c = ctx(agent, name)
        c.args = args
        lines = []
        try:
            fn(c)
            ok = True
            lines = list(c.ok_lines)
        except Skip as e:
            c.cleanup()
            return skip_outcome(e.why, e.peer)
        except Fail as e:
            ok = False
            lines.append(str(e))
        except Exception:
            ok = False
            lines.extend(traceback.format_exc().rstrip().split("\n"))
        if not ok:
            try:
                lines.extend(c.diagnostics())
            except Exception:
                lines.extend(traceback.format_exc().rstrip().split("\n"))
        c.cleanup()
        return Outcome(ok, lines)

    def main(self, doc, ctx, argv=None):
        ap = argparse.ArgumentParser(description=doc.split("\n")[0])
        ap.add_argument("--agent", default="./agent")
        ap.add_argument("--filter", default="", help="run only tests whose name contains this")
        ap.add_argument("--label", default="", help="added to each test name")
        ap.add_argument("--jobs", type=int, default=self.jobs, help="tests run in parallel")
        self.add_args(ap)
        args = ap.parse_args(argv)
        rc = self.early(args)
        if rc is not None:
            return rc
        agent = os.path.abspath(args.agent)
        suffix = " [%s]" % args.label if args.label else ""
        why = "%s is not an executable" % agent if not os.access(agent, os.X_OK) else self.not_ready(args)
        if why:
            print("not ok - %s: %s%s" % (self.prefix, why, suffix))
            print("e2e_%s%s: 0 passed, 1 failed, 0 skipped" % (self.prefix, suffix))
            return 1
        tests = [t for t in self.tests if args.filter in t[0]]
        passed = failed = skipped = 0

        def report(name, out):
            nonlocal passed, failed, skipped
            print("%s - %s: %s%s%s" % ("ok" if out.ok else "not ok", self.prefix, name, suffix, out.note))
            for ln in out.lines:
                print("    " + ln)
            sys.stdout.flush()
            skipped += bool(out.ok and out.skipped)
            passed += bool(out.ok and not out.skipped)
            failed += not out.ok

        for name, out in self.before(args, tests):
            report(name, out)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            jobs = [(name, self.schedule(pool, ctx, agent, args, name, fn, opts)) for name, fn, opts in tests]
            for name, job in jobs:
                if isinstance(job, Outcome):
                    out = job
                else:
                    try:
                        out = job.result()
                    except Exception:
                        out = Outcome(False, traceback.format_exc().rstrip().split("\n"))
                report(name, out)
        print("e2e_%s%s: %d passed, %d failed, %d skipped%s" % (self.prefix, suffix, passed, failed, skipped,
                                                               self.summary_note(skipped)))
        for ln in self.epilogue(args, tests):
            print(ln)
        return 1 if failed else 0
