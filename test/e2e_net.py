#!/usr/bin/env python3
"""End-to-end tests of agent on a hostile network: retries, timeouts, proxies, secrets, the sandbox, escapes.

    python3 test/e2e_net.py --agent ./agent [--filter S] [--label L]

The real binary against test/mock_api.py, and against real proxy servers from Debian's packages started on
127.0.0.1 by the tests themselves: tinyproxy (HTTP CONNECT and absolute-form, Basic credentials), microsocks
(SOCKS5) and `ssh -D` to a throwaway sshd (SOCKS5 the way a board reaches the internet through a laptop).
Each test has its own mock server, its own working directory and HOME, and runs the agent with a clean
environment (ANTHROPIC_MAX_RETRIES=0 unless the test is about retries). One line per test: "ok - net: NAME",
"ok - net: NAME # SKIP why" or "not ok - net: NAME" followed by indented diagnostics (the command, exit code,
stdout and stderr excerpts, the requests the mock recorded, proxy logs), then "e2e_net: N passed, N failed,
N skipped". A test skips when a proxy program is not installed, and when the machine cannot do what it needs
(no Landlock, no root for sshd); under CI=true a missing program that .ci/run installs (tinyproxy, microsocks,
openssh-server, unshare, script) is a failure instead: "not ok - net: NAME # missing in CI: why". Exit status
1 when any test fails.
Python 3 standard library only.
"""
import argparse
import concurrent.futures
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
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mock_api  # noqa: E402
from e2e_lib import Skip, skip_outcome  # noqa: E402  (Skip(why) or Skip(why, peer=True): see e2e_lib)

API_KEY = "test-key-123"
RUN_TIMEOUT = 30
SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS")
TESTS = []


def test(fn):
    """Register a test; its name is the function name without the "t_" prefix."""
    TESTS.append((fn.__name__[2:], fn))
    return fn


class Fail(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------
# Response specs

def say(text):
    return {"text": text}


def bash(tid, command):
    return {"tool_use": {"id": tid, "name": "Bash", "input": {"command": command}}}


def calls(*uses):
    """A reply with several tool_use blocks: uses are (id, name, input) triples."""
    content = [{"type": "tool_use", "id": t, "name": n, "input": i} for t, n, i in uses]
    return {"events": mock_api.message_stream(content=content, stop_reason="tool_use")}


def err_json(kind, message):
    return {"type": "error", "error": {"type": kind, "message": message}}


def status(code, kind="api_error", message=None, headers=None):
    """An error response as the API sends it."""
    spec = {"status": code, "json": err_json(kind, message or "mock %d" % code)}
    if headers:
        spec["headers"] = headers
    return spec


def cut_spec(events, marker, extra=0):
    """The SSE body of events, the connection cut just after the first occurrence of marker (+ extra bytes).
    An event only counts once its blank line arrived: for a text delta ending in marker, extra=5 (`"}}` and
    the blank line) delivers that delta whole."""
    body = mock_api.sse_from_events(events)
    i = body.find(marker.encode())
    assert i >= 0, "marker %r not in the stream" % marker
    return {"sse_raw": body, "cut_after": i + len(marker) + extra}


def stream_error(kind, partial="Half an ans"):
    """A stream that starts an answer and then reports an `error` event, as the API does when overloaded."""
    ev = mock_api.message_stream(partial)[:4]          # message_start, block start, ping, one delta
    ev.append(["error", {"type": "error", "error": {"type": kind, "message": "mock " + kind}}])
    return {"events": ev}


class Server(mock_api.MockServer):
    """The mock, each request also stamped with the time it arrived: "t" monotonic, "wall" time.time()."""

    def _read_request(self, reader, n):
        req = super()._read_request(reader, n)
        if req is not None:
            req["t"], req["wall"] = time.monotonic(), time.time()
        return req


# ---------------------------------------------------------------------------------------------------------
# Shared fixtures: certificates (made once), free ports, waiting for a listener

class Shared:
    lock = threading.Lock()
    certs = None
    certs_error = None
    workdir = None


def certs():
    """The directory test/mkcerts.sh filled (ca.pem, server.pem, server.key), made once per run."""
    with Shared.lock:
        if Shared.certs is None and Shared.certs_error is None:
            d = os.path.join(Shared.workdir, "certs")
            p = subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), d], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
            if p.returncode == 0:
                Shared.certs = d
            else:
                Shared.certs_error = "mkcerts.sh failed: %s" % p.stdout.decode("utf-8", "replace")[-500:]
        if Shared.certs_error:
            raise Fail(Shared.certs_error)
        return Shared.certs


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_port():
    """A port on 127.0.0.1 where nothing listens (bound, never listened on, then released)."""
    return free_port()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Listener:
    """A bare TCP listener that counts connections and answers each with a tiny HTTP response."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                except OSError:
                    pass
                conn.sendall(b"HTTP/1.0 200 OK\r\ncontent-length: 11\r\n\r\nlistener-ok")
            except OSError:
                pass
            conn.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# ---------------------------------------------------------------------------------------------------------
# One test's world: temp dirs, servers, proxies, agent runs, assertions with diagnostics

class Result:
    def __init__(self, argv, rc, out, err, elapsed, raw_out=b""):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed
        self.raw_out = raw_out


class Ctx:
    def __init__(self, agent, name):
        self.agent = agent
        self.name = name
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="agent-e2e-net-"))
        self.home = os.path.join(self.root, "home")
        self.work = os.path.join(self.root, "work")
        os.makedirs(self.home)
        os.makedirs(self.work)
        self.extra_dirs = []
        self.servers = []
        self.procs = []          # (name, Popen, log path or None)
        self.closers = []
        self.runs = []
        self.notes = []

    # -- setup helpers --

    def path(self, rel):
        return os.path.join(self.work, rel)

    def tmpdir(self, base=None, prefix="agent-e2e-net-"):
        d = os.path.realpath(tempfile.mkdtemp(prefix=prefix, dir=base))
        self.extra_dirs.append(d)
        return d

    def server(self, script, tls=False):
        kw = {}
        if tls:
            d = certs()
            kw["tls"] = (os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
        srv = Server(script=script, **kw).start()
        self.servers.append(srv)
        return srv

    def env(self, srv, extra=None):
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_BASE_URL": srv.url if srv is not None else "http://127.0.0.1:9",
            "ANTHROPIC_MAX_RETRIES": "0",
            "NO_COLOR": "1",
        }
        if srv is not None and srv.scheme == "https":
            e["SSL_CERT_FILE"] = os.path.join(certs(), "ca.pem")
        for k in SANITIZER_VARS:
            if k in os.environ:
                e[k] = os.environ[k]
        for k, v in (extra or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def run(self, srv, args=(), env=None, prompt="do the task", timeout=RUN_TIMEOUT, wrap=None):
        """Run agent -p PROMPT ARGS against srv with env overrides (a None value removes a variable).
        wrap: a function from argv to the argv actually run (the pty test runs agent under script)."""
        argv = [self.agent]
        if prompt is not None:
            argv += ["-p", prompt]
        argv += list(args)
        shown = argv
        if wrap is not None:
            argv = wrap(argv)
            shown = argv
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=self.work, env=self.env(srv, env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            out, err = p.communicate()
            rc = "timeout after %d s" % timeout
        r = Result(shown, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                   time.monotonic() - t0, out)
        self.runs.append((r, srv))
        if isinstance(rc, int) and rc < 0:
            raise Fail("agent died of signal %d" % -rc)
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if mark in r.err:
                raise Fail("sanitizer report on stderr (%s)" % mark)
        return r

    def spawn(self, name, argv, log=None, cwd=None, show=None):
        """Start a helper server process in its own process group; stopped (the whole group) at cleanup.
        Its output goes to log; show: the file its tail is taken from for diagnostics (default: log)."""
        out = open(log, "ab") if log else subprocess.DEVNULL
        try:
            p = subprocess.Popen(argv, cwd=cwd or self.root, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if log:
                out.close()
        self.procs.append((name, p, show or log))
        return p

    def wait_listening(self, name, p, port, timeout=20):
        """Poll until something accepts on 127.0.0.1:port; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_open(port):
                return
            if p.poll() is not None:
                raise Fail("%s exited with status %s before listening on port %d" % (name, p.returncode, port))
            time.sleep(0.05)
        raise Fail("%s is not listening on port %d after %d s" % (name, port, timeout))

    def tinyproxy(self, auth=None):
        """A real tinyproxy on a free port (no ConnectPort lines: every port may be tunnelled).
        Returns (port, log path); the log records each CONNECT and each request line."""
        exe = shutil.which("tinyproxy") or ("/usr/bin/tinyproxy" if os.path.exists("/usr/bin/tinyproxy") else None)
        if not exe:
            raise Skip("tinyproxy is not installed", peer=True)
        d = self.tmpdir(self.root, "tinyproxy-")
        port = free_port()
        log = os.path.join(d, "tinyproxy.log")
        conf = os.path.join(d, "tinyproxy.conf")
        lines = ["Port %d" % port, "Listen 127.0.0.1", "Allow 127.0.0.1", "Timeout 30", "MaxClients 20",
                 'LogFile "%s"' % log, "LogLevel Info"]
        if auth:
            lines.append("BasicAuth %s %s" % auth)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = self.spawn("tinyproxy", [exe, "-d", "-c", conf], log=os.path.join(d, "stdout.log"), show=log)
        self.wait_listening("tinyproxy", p, port)
        return port, log

    def microsocks(self):
        exe = shutil.which("microsocks") or ("/usr/bin/microsocks" if os.path.exists("/usr/bin/microsocks")
                                             else None)
        if not exe:
            raise Skip("microsocks is not installed", peer=True)
        port = free_port()
        log = os.path.join(self.tmpdir(self.root, "microsocks-"), "microsocks.log")
        p = self.spawn("microsocks", [exe, "-i", "127.0.0.1", "-p", str(port)], log=log)
        self.wait_listening("microsocks", p, port)
        return port

    def ssh_socks(self):
        """sshd on a free port (host key, authorized key and config all in a temp dir; run in a private mount
        namespace with a tmpfs on /run so that its privilege separation directory exists without touching the
        system), then `ssh -N -D PORT` to it. Returns the SOCKS port. Skip when this cannot work here."""
        sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
        ssh, keygen = shutil.which("ssh"), shutil.which("ssh-keygen")
        if not (sshd and ssh and keygen):
            raise Skip("ssh, ssh-keygen or sshd is not installed", peer=True)
        if os.geteuid() != 0:
            raise Skip("sshd needs root here (privilege separation)")
        d = self.tmpdir(self.root, "ssh-")
        for k in ("hostkey", "userkey"):
            p = subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, k)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            if p.returncode:
                raise Skip("ssh-keygen failed: %s" % p.stdout.decode("utf-8", "replace")[-200:])
        shutil.copy(os.path.join(d, "userkey.pub"), os.path.join(d, "authorized_keys"))
        os.chmod(os.path.join(d, "authorized_keys"), 0o600)
        sport = free_port()
        with open(os.path.join(d, "sshd_config"), "w") as f:
            f.write("\n".join([
                "Port %d" % sport, "ListenAddress 127.0.0.1", "HostKey %s/hostkey" % d, "PidFile none",
                "UsePAM no", "StrictModes no", "AuthorizedKeysFile %s/authorized_keys" % d,
                "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "AllowTcpForwarding yes", "LogLevel VERBOSE", ""]))
        sshd_cmd = "%s -D -e -f %s/sshd_config" % (shlex.quote(sshd), shlex.quote(d))
        if os.path.isdir("/run/sshd"):
            argv = ["sh", "-c", "exec " + sshd_cmd]
        elif shutil.which("unshare"):
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec " + sshd_cmd]
        else:
            raise Skip("/run/sshd is missing and unshare is not available", peer=True)
        slog = os.path.join(d, "sshd.log")
        p = self.spawn("sshd", argv, log=slog)
        try:
            self.wait_listening("sshd", p, sport)
        except Fail as e:
            raise Skip("sshd cannot run here: %s; %s" % (e, _tail(slog, 300)))
        dport = free_port()
        q = self.spawn("ssh -D", [ssh, "-F", "/dev/null", "-N", "-D", "127.0.0.1:%d" % dport, "-o",
                                  "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                                  "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-i", os.path.join(d, "userkey"),
                                  "-p", str(sport), "root@127.0.0.1"], log=os.path.join(d, "ssh.log"))
        try:
            self.wait_listening("ssh -D", q, dport)
        except Fail as e:
            raise Skip("ssh -D cannot run here: %s; %s" % (e, _tail(os.path.join(d, "ssh.log"), 300)))
        return dport

    def sessions(self):
        """Every file under $XDG_STATE_HOME/agent/sessions."""
        out = []
        for dp, _, fns in os.walk(os.path.join(self.home, "state", "agent", "sessions")):
            out += [os.path.join(dp, f) for f in fns]
        return out

    def cleanup(self):
        # ssh before sshd, so each session child ends with its connection
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except OSError:
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
                    p.wait()
        for f in self.closers:
            f()
        for s in self.servers:
            s.stop()
        for d in self.extra_dirs:
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- assertions --

    def check(self, cond, msg):
        if not cond:
            raise Fail(msg)

    def eq(self, got, want, what):
        if got != want:
            raise Fail("%s: expected %r, got %r" % (what, want, got))

    def has(self, hay, needle, what):
        if not isinstance(hay, str) or needle not in hay:
            raise Fail("%s: expected it to contain %r, got %r" % (what, needle, _clip(hay, 600)))

    def lacks(self, hay, needle, what):
        if isinstance(hay, str) and needle in hay:
            raise Fail("%s: expected it NOT to contain %r, got %r" % (what, needle, _clip(hay, 600)))

    def ok(self, r, rc=0):
        if r.rc != rc:
            raise Fail("exit code: expected %r, got %r" % (rc, r.rc))

    def nreq(self, srv, n):
        if len(srv.requests) != n:
            raise Fail("expected %d requests to the API, got %d" % (n, len(srv.requests)))

    def retry_lines(self, r, n, of):
        """stderr has exactly n retry lines, "retrying in ... (retry k of OF)" for k = 1..n."""
        lines = [ln for ln in r.err.split("\n") if "retrying in" in ln]
        self.eq(len(lines), n, "number of 'retrying in' lines on stderr")
        for k, ln in enumerate(lines, 1):
            self.has(ln, "(retry %d of %d)" % (k, of), "retry line %d" % k)

    def gap(self, srv, i):
        """Seconds between request i-1 and request i arriving at the mock."""
        return srv.requests[i]["t"] - srv.requests[i - 1]["t"]

    def results(self, srv, i):
        """The tool_result blocks of the newest message of request i."""
        self.check(i < len(srv.requests), "request %d was never made (%d requests)" % (i, len(srv.requests)))
        m = srv.requests[i]["body"]["messages"][-1]
        self.eq(m.get("role"), "user", "role of the newest message of request %d" % i)
        self.check(isinstance(m.get("content"), list), "request %d: newest message content is not a list" % i)
        return [b for b in m["content"] if b.get("type") == "tool_result"]

    def result(self, srv, i, tid):
        rs = self.results(srv, i)
        self.eq(len(rs), 1, "number of tool_result blocks in request %d" % i)
        self.eq(rs[0].get("tool_use_id"), tid, "tool_use_id in request %d" % i)
        return rs[0]

    @staticmethod
    def content_text(b):
        c = b.get("content")
        if isinstance(c, list):
            return "".join(x.get("text", "") for x in c if isinstance(x, dict))
        return c if isinstance(c, str) else repr(c)

    # -- diagnostics --

    def diagnostics(self):
        lines = list(self.notes)
        for r, srv in self.runs:
            lines.append("command: %s" % " ".join(_shq(a) for a in r.argv))
            lines.append("rc: %r  (%.2f s)" % (r.rc, r.elapsed))
            lines.append("stdout: %r" % _clip(r.out, 1500))
            lines.append("stderr: %r" % _clip(r.err, 1500))
            if srv is None:
                continue
            lines.append("requests: %d" % len(srv.requests))
            t0 = srv.requests[0]["t"] if srv.requests else 0
            for i, q in enumerate(srv.requests):
                body = q["body"]
                if isinstance(body, dict):
                    body = dict(body)
                    body.pop("tools", None)
                    body.pop("system", None)
                    s = json.dumps(body, ensure_ascii=False)
                else:
                    s = repr(body)
                lines.append("  request %d (conn %s, +%.2f s): %s" % (i, q["conn"], q["t"] - t0, _clip(s, 1200)))
            if srv.errors:
                lines.append("mock errors: %s" % srv.errors[:5])
        for name, p, log in self.procs:
            if log:
                lines.append("%s log: %r" % (name, _tail(log, 800)))
        return lines


def _clip(s, n):
    if not isinstance(s, str):
        s = repr(s)
    if len(s) <= n:
        return s
    return s[:n // 2] + " [...%d chars...] " % (len(s) - n) + s[-n // 2:]


def _tail(path, n):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(%s)" % e
    return data[-n:]


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _shq(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


def _script_argv(script, argv):
    """argv run on a pseudo-terminal by util-linux script (what the terminal got arrives on script's stdout)."""
    return [script, "-q", "-e", "-c", " ".join(shlex.quote(a) for a in argv), "/dev/null"]


RETRY = {"ANTHROPIC_MAX_RETRIES": "3"}

# ---------------------------------------------------------------------------------------------------------
# Retries: which failures are tried again, how long the agent waits, what the user sees


@test
def t_retry_429_retry_after(c):
    srv = c.server([status(429, "rate_limit_error", "slow down", {"retry-after": "1"}), say("The answer.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(r.out.strip(), "The answer.", "stdout")
    c.retry_lines(r, 1, 3)
    c.check(c.gap(srv, 1) >= 0.9, "retry-after: 1 honoured: the retry came %.2f s later" % c.gap(srv, 1))
    c.check(r.elapsed >= 0.9, "run took %.2f s" % r.elapsed)


@test
def t_retry_529_overloaded(c):
    srv = c.server([status(529, "overloaded_error", "Overloaded"), say("Back again.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(r.out.strip(), "Back again.", "stdout")
    c.retry_lines(r, 1, 3)


@test
def t_retry_500_three_times_backoff(c):
    """No retry-after: min(0.5 * 2^n, 8) s less up to 25%: gaps of >= 0.375, 0.75 and 1.5 s."""
    srv = c.server([status(500)] * 3 + [say("Fourth time lucky.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 4)
    c.eq(r.out.strip(), "Fourth time lucky.", "stdout")
    c.retry_lines(r, 3, 3)
    for i, base in ((1, 0.5), (2, 1.0), (3, 2.0)):
        g = c.gap(srv, i)
        c.check(g >= 0.75 * base - 0.05, "backoff before retry %d: %.2f s, expected at least %.2f" %
                (i, g, 0.75 * base))
        c.check(g < base + 3.0, "backoff before retry %d: %.2f s, expected about %.2f" % (i, g, base))


@test
def t_retry_other_statuses(c):
    """408, 409 and 5xx are retried (retry-after-ms keeps it quick)."""
    fast = {"retry-after-ms": "20"}
    codes = (408, 409, 502, 503, 504)
    srv = c.server([status(s, headers=fast) for s in codes] + [say("Through.")])
    r = c.run(srv, env={"ANTHROPIC_MAX_RETRIES": "5"})
    c.ok(r)
    c.nreq(srv, len(codes) + 1)
    c.eq(r.out.strip(), "Through.", "stdout")
    c.retry_lines(r, len(codes), 5)


@test
def t_retry_gives_up_after_max(c):
    srv = c.server([status(500, message="still broken", headers={"retry-after-ms": "10"})] * 5)
    r = c.run(srv, env=RETRY)
    c.ok(r, 1)
    c.nreq(srv, 4)
    c.retry_lines(r, 3, 3)
    c.has(r.err, "still broken", "stderr (the API's message)")
    c.eq(r.out, "", "stdout")


@test
def t_no_retry_on_4xx(c):
    for code, kind in ((400, "invalid_request_error"), (401, "authentication_error"),
                       (403, "permission_error"), (404, "not_found_error")):
        srv = c.server([status(code, kind, "message-for-%d" % code), say("never")])
        r = c.run(srv, env=RETRY)
        c.ok(r, 1)
        c.nreq(srv, 1)
        c.has(r.err, "message-for-%d" % code, "stderr for %d (the API's message)" % code)
        c.lacks(r.err, "retrying in", "stderr for %d" % code)
        c.eq(r.out, "", "stdout for %d" % code)


@test
def t_x_should_retry_false(c):
    srv = c.server([status(500, headers={"x-should-retry": "false"}), say("never")])
    r = c.run(srv, env=RETRY)
    c.ok(r, 1)
    c.nreq(srv, 1)
    c.lacks(r.err, "retrying in", "stderr")


@test
def t_x_should_retry_true_on_400(c):
    srv = c.server([status(400, "invalid_request_error", "try me again",
                           {"x-should-retry": "true", "retry-after-ms": "10"}), say("Second try.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(r.out.strip(), "Second try.", "stdout")
    c.retry_lines(r, 1, 3)


@test
def t_retry_after_ms(c):
    srv = c.server([status(429, "rate_limit_error", headers={"retry-after-ms": "200", "retry-after": "30"}),
                    say("ms honoured.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    g = c.gap(srv, 1)
    c.check(g >= 0.15, "retry-after-ms: 200 but the retry came after %.3f s" % g)
    c.check(g < 5, "retry-after-ms: 200 (not retry-after: 30) should win; the retry came after %.2f s" % g)
    c.has(r.err, "retrying in 0.2 s", "stderr")


@test
def t_retry_after_http_date(c):
    at = int(time.time()) + 3
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(at))
    srv = c.server([status(503, headers={"retry-after": when}), say("Dated.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    g, left = c.gap(srv, 1), at - srv.requests[0]["wall"]
    if left < 0.3:
        raise Skip("the machine is too slow: the first request came %.2f s before the retry-after date" % left)
    c.check(left - 0.15 <= g < left + 3, "retry-after: %s, %.2f s after the first request: the retry came after "
            "%.2f s" % (when, left, g))


@test
def t_retry_after_over_60s_ignored(c):
    srv = c.server([status(429, "rate_limit_error", headers={"retry-after": "3600"}), say("Not an hour.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    g = c.gap(srv, 1)
    c.check(0.3 <= g < 5, "retry-after: 3600 is out of 0-60 s so the backoff (0.375-0.5 s) applies; got %.2f s" % g)


@test
def t_max_retries_flag_zero(c):
    srv = c.server([status(529, "overloaded_error", "Overloaded"), say("never")])
    r = c.run(srv, ["--max-retries", "0"], env=RETRY)
    c.ok(r, 1)
    c.nreq(srv, 1)
    c.lacks(r.err, "retrying in", "stderr")
    c.has(r.err, "Overloaded", "stderr")


@test
def t_max_retries_flag_beats_env(c):
    srv = c.server([status(503, headers={"retry-after-ms": "10"})] * 2 + [say("Twice.")])
    r = c.run(srv, ["--max-retries", "2"], env={"ANTHROPIC_MAX_RETRIES": "0"})
    c.ok(r)
    c.nreq(srv, 3)
    c.retry_lines(r, 2, 2)


@test
def t_retry_connection_closed(c):
    """The server closes the connection without an answer: a connection error, retried."""
    srv = c.server([{"raw": ""}, say("Reconnected.")])
    r = c.run(srv, env=RETRY)
    c.ok(r)
    c.eq(r.out.strip(), "Reconnected.", "stdout")
    c.check(len(srv.requests) == 2, "expected 2 requests, got %d" % len(srv.requests))
    c.retry_lines(r, 1, 3)


@test
def t_retry_timeout(c):
    """A request that outlives API_TIMEOUT_MS is a timeout, retried."""
    srv = c.server([{"text": "too late", "stall": 8}, say("In time.")])
    r = c.run(srv, env={"ANTHROPIC_MAX_RETRIES": "2", "API_TIMEOUT_MS": "2500"})
    c.ok(r)
    c.eq(r.out.strip(), "In time.", "stdout")
    c.nreq(srv, 2)
    c.retry_lines(r, 1, 2)


@test
def t_retry_stream_error_event(c):
    for kind in ("overloaded_error", "api_error"):
        srv = c.server([stream_error(kind), say("Recovered after %s." % kind)])
        r = c.run(srv, env=RETRY)
        c.ok(r)
        c.nreq(srv, 2)
        c.has(r.out, "Recovered after %s." % kind, "stdout")
        c.retry_lines(r, 1, 3)
        c.eq(srv.requests[1]["body"]["messages"], srv.requests[0]["body"]["messages"],
             "messages of the retried request after %s" % kind)


@test
def t_no_retry_stream_error_invalid(c):
    srv = c.server([stream_error("invalid_request_error"), say("never")])
    r = c.run(srv, env=RETRY)
    c.ok(r, 1)
    c.nreq(srv, 1)
    c.lacks(r.err, "retrying in", "stderr")
    c.has(r.err, "invalid_request_error", "stderr")


@test
def t_retry_cut_mid_answer(c):
    """A stream cut mid-answer, then a full answer: exit 0, the full answer printed, and the cut message is
    neither sent back (next requests) nor saved (session file)."""
    first = mock_api.message_stream("PARTIAL-ONE PARTIAL-TWO PARTIAL-THREE",
                                    pieces=["PARTIAL-ONE ", "PARTIAL-TWO ", "PARTIAL-THREE"])
    srv = c.server([cut_spec(first, "PARTIAL-TWO "),
                    bash("toolu_cut1", "echo tool-ran"),
                    say("The full second answer.")])
    r = c.run(srv, ["--dangerously-skip-permissions"], env=RETRY)
    c.ok(r)
    c.nreq(srv, 3)
    c.has(r.out, "The full second answer.", "stdout")
    c.retry_lines(r, 1, 3)
    c.eq(srv.requests[1]["body"]["messages"], srv.requests[0]["body"]["messages"], "messages of the retry")
    msgs = srv.requests[2]["body"]["messages"]
    c.eq([m["role"] for m in msgs], ["user", "assistant", "user"], "roles in request 2")
    c.eq([b.get("type") for b in msgs[1]["content"]], ["tool_use"], "blocks of the assistant message")
    for i in (1, 2):
        c.lacks(json.dumps(srv.requests[i]["body"]), "PARTIAL", "request %d" % i)
    c.has(c.content_text(c.result(srv, 2, "toolu_cut1")), "tool-ran", "tool_result")
    files = c.sessions()
    c.check(files, "no session file under %s/state/agent/sessions" % c.home)
    for f in files:
        c.lacks(_read(f), "PARTIAL", "session file %s" % f)


@test
def t_retry_cut_tool_call_never_runs(c):
    """A tool_use block received whole but the message cut before message_stop: the call never runs."""
    ev = mock_api.tool_use_stream("toolu_half", "Bash", {"command": "touch cutmarker"})
    srv = c.server([cut_spec(ev, '"content_block_stop"'), say("No tool this time.")])
    r = c.run(srv, ["--dangerously-skip-permissions"], env=RETRY)
    c.ok(r)
    c.nreq(srv, 2)
    c.check(not os.path.exists(c.path("cutmarker")), "the half-received tool call ran (cutmarker exists)")
    c.eq(srv.requests[1]["body"]["messages"], srv.requests[0]["body"]["messages"], "messages of the retry")
    c.has(r.out, "No tool this time.", "stdout")
    for f in c.sessions():
        c.lacks(_read(f), "toolu_half", "session file %s" % f)


@test
def t_retry_cut_tty_marked(c):
    """On a terminal, text already shown from a cut answer is marked as cut before the retried answer."""
    script = shutil.which("script")
    if not script:
        raise Skip("util-linux script is not installed", peer=True)
    first = mock_api.message_stream("SHOWN-PART of a line.\n\nLOST-PART", pieces=["SHOWN-PART of a line.\n\n",
                                                                                 "LOST-PART"])
    srv = c.server([cut_spec(first, "SHOWN-PART of a line.\\n\\n", 5), say("Whole retried answer.")])
    r = c.run(srv, env=dict(RETRY, TERM="xterm"), wrap=lambda argv: _script_argv(script, argv))
    c.ok(r)
    c.nreq(srv, 2)
    out = r.raw_out.decode("utf-8", "replace")
    c.has(out, "[answer cut off]", "terminal output")
    c.check(out.find("SHOWN-PART") < out.find("[answer cut off]") < out.find("Whole retried answer."),
            "terminal output not in the order: partial text, cut mark, retried answer: %r" % out[-600:])


# ---------------------------------------------------------------------------------------------------------
# Timeouts


@test
def t_api_timeout(c):
    srv = c.server([{"text": "never in time", "stall": 10}])
    r = c.run(srv, env={"API_TIMEOUT_MS": "1500"})
    c.ok(r, 1)
    c.check(r.elapsed < 8, "API_TIMEOUT_MS=1500 but the run took %.2f s" % r.elapsed)
    c.check(r.elapsed >= 1.3, "gave up after %.2f s, before API_TIMEOUT_MS=1500" % r.elapsed)
    c.has(r.err, "API_TIMEOUT_MS", "stderr")
    c.eq(r.out, "", "stdout")


@test
def t_api_timeout_mid_stream(c):
    """Headers and part of the stream arrive, then silence: the bound still holds."""
    body = mock_api.sse_from_events(mock_api.message_stream("slow answer here", pieces=["slow ", "answer ", "here"]))
    srv = c.server([{"sse_raw": body, "write_size": 200, "write_delay": 8}])
    r = c.run(srv, env={"API_TIMEOUT_MS": "1500"})
    c.ok(r, 1)
    c.check(r.elapsed < 8, "API_TIMEOUT_MS=1500 but the run took %.2f s" % r.elapsed)
    c.has(r.err, "API_TIMEOUT_MS", "stderr")


# ---------------------------------------------------------------------------------------------------------
# Proxies: real tinyproxy, microsocks and ssh -D


def _tiny_requests(log):
    return [ln for ln in _read(log).split("\n") if "Request (file descriptor" in ln]


@test
def t_proxy_https_connect(c):
    port, log = c.tinyproxy()
    srv = c.server([say("Through the tunnel.")], tls=True)
    r = c.run(srv, env={"HTTPS_PROXY": "http://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Through the tunnel.", "stdout")
    c.nreq(srv, 1)
    c.check(srv.handshakes >= 1, "no TLS handshake reached the mock")
    reqs = _tiny_requests(log)
    c.check(any("CONNECT localhost:%d" % srv.port in ln for ln in reqs),
            "tinyproxy log shows no CONNECT localhost:%d: %r" % (srv.port, reqs))


@test
def t_proxy_https_lowercase_var(c):
    port, log = c.tinyproxy()
    srv = c.server([say("lower case works.")], tls=True)
    r = c.run(srv, env={"https_proxy": "http://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "lower case works.", "stdout")
    c.check(_tiny_requests(log), "tinyproxy saw no request")


@test
def t_proxy_basic_auth(c):
    port, log = c.tinyproxy(auth=("user", "s3cret-pw"))
    srv = c.server([say("Authenticated tunnel.")], tls=True)
    r = c.run(srv, ["--verbose"], env={"HTTPS_PROXY": "http://user:s3cret-pw@127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Authenticated tunnel.", "stdout")
    c.check(any("CONNECT localhost:%d" % srv.port in ln for ln in _tiny_requests(log)), "tinyproxy saw no CONNECT")
    c.lacks(r.err, "s3cret-pw", "stderr (the proxy password)")


@test
def t_proxy_missing_credentials(c):
    """tinyproxy answers a CONNECT without credentials with 407."""
    port, _ = c.tinyproxy(auth=("user", "s3cret-pw"))
    srv = c.server([say("never")], tls=True)
    r = c.run(srv, env={"HTTPS_PROXY": "http://127.0.0.1:%d" % port})
    c.ok(r, 1)
    c.nreq(srv, 0)
    c.has(r.err, "407", "stderr")
    c.has(r.err, "credentials", "stderr")
    c.has(r.err, "HTTPS_PROXY", "stderr")


@test
def t_proxy_wrong_credentials(c):
    """Wrong credentials: the user is told they are wrong, and the password is never shown.
    (tinyproxy 1.11 answers a CONNECT with wrong credentials with 401, not 407.)"""
    port, _ = c.tinyproxy(auth=("user", "s3cret-pw"))
    srv = c.server([say("never")], tls=True)
    r = c.run(srv, env={"HTTPS_PROXY": "http://user:wrong-pw@127.0.0.1:%d" % port})
    c.ok(r, 1)
    c.nreq(srv, 0)
    c.check("407" in r.err or "401" in r.err, "stderr names neither 407 nor 401: %r" % r.err)
    c.has(r.err, "credentials", "stderr")
    c.lacks(r.err, "wrong-pw", "stderr (the proxy password)")


@test
def t_proxy_http_absolute_form(c):
    port, log = c.tinyproxy()
    srv = c.server([say("Plain proxied.")])
    r = c.run(srv, env={"HTTP_PROXY": "http://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Plain proxied.", "stdout")
    c.nreq(srv, 1)
    reqs = _tiny_requests(log)
    c.check(any("POST http://127.0.0.1:%d/v1/messages" % srv.port in ln for ln in reqs),
            "tinyproxy log shows no absolute-form POST: %r" % reqs)
    via = srv.requests[0]["headers"].get("via", "")
    c.has(via, "tinyproxy", "Via header the mock received")
    c.check(srv.requests[0]["path"].startswith("/v1/messages"), "path %r" % srv.requests[0]["path"])


@test
def t_proxy_http_basic_auth(c):
    port, log = c.tinyproxy(auth=("user", "s3cret-pw"))
    srv = c.server([say("Plain authenticated.")])
    r = c.run(srv, ["--verbose"], env={"HTTP_PROXY": "http://user:s3cret-pw@127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Plain authenticated.", "stdout")
    c.has(srv.requests[0]["headers"].get("via", ""), "tinyproxy", "Via header the mock received")
    c.lacks(r.err, "s3cret-pw", "stderr (the proxy password)")


@test
def t_proxy_http_missing_credentials(c):
    """An absolute-form request without credentials: tinyproxy answers 407. The user should learn what to do,
    as with CONNECT: the proxy wants credentials, and which variable to put them in."""
    port, _ = c.tinyproxy(auth=("user", "s3cret-pw"))
    srv = c.server([say("never")])
    r = c.run(srv, env={"HTTP_PROXY": "http://127.0.0.1:%d" % port})
    c.ok(r, 1)
    c.nreq(srv, 0)
    c.has(r.err, "407", "stderr")
    c.has(r.err, "credentials", "stderr")
    c.has(r.err, "HTTP_PROXY", "stderr")


@test
def t_proxy_no_proxy_bypass(c):
    """NO_PROXY=localhost / 127.0.0.1 / suffix,port lists / *: the proxy is not used."""
    port, log = c.tinyproxy()
    srv = c.server([say("Direct %d." % i) for i in range(2)])
    for i, np in enumerate(("127.0.0.1", "example.com,127.0.0.1:%d" % srv.port)):
        r = c.run(srv, env={"HTTP_PROXY": "http://127.0.0.1:%d" % port, "NO_PROXY": np})
        c.ok(r)
        c.eq(r.out.strip(), "Direct %d." % i, "stdout with NO_PROXY=%s" % np)
    c.eq(_tiny_requests(log), [], "requests in tinyproxy's log")
    c.check("via" not in srv.requests[0]["headers"], "the request came through a proxy")
    # TLS: the proxy variables point at a closed port, so only a bypass can work
    tsrv = c.server([say("Direct TLS %d." % i) for i in range(4)], tls=True)
    dead = "http://127.0.0.1:%d" % closed_port()
    for i, np in enumerate(("localhost", ".example.org, localhost", "*", "localhost:%d" % tsrv.port)):
        r = c.run(tsrv, env={"HTTPS_PROXY": dead, "ALL_PROXY": dead, "no_proxy": np})
        c.ok(r)
        c.eq(r.out.strip(), "Direct TLS %d." % i, "stdout with no_proxy=%s" % np)


@test
def t_proxy_no_proxy_other_port(c):
    """NO_PROXY=localhost:1 does not cover localhost:MOCKPORT: the (closed) proxy is used, and fails."""
    srv = c.server([say("never")], tls=True)
    dead = "http://127.0.0.1:%d" % closed_port()
    r = c.run(srv, env={"HTTPS_PROXY": dead, "NO_PROXY": "localhost:1,example.com"})
    c.ok(r, 1)
    c.nreq(srv, 0)
    c.has(r.err, "HTTPS_PROXY", "stderr")


@test
def t_proxy_refused(c):
    srv = c.server([say("never")], tls=True)
    for var, url in (("HTTPS_PROXY", "http://127.0.0.1:%d" % closed_port()),
                     ("ALL_PROXY", "socks5h://127.0.0.1:%d" % closed_port())):
        r = c.run(srv, env={var: url})
        c.ok(r, 1)
        c.has(r.err, var, "stderr when %s refuses" % var)
    c.nreq(srv, 0)


@test
def t_proxy_socks5h_microsocks(c):
    port = c.microsocks()
    srv = c.server([say("Via SOCKS5h.")], tls=True)
    r = c.run(srv, env={"ALL_PROXY": "socks5h://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Via SOCKS5h.", "stdout")
    c.nreq(srv, 1)


@test
def t_proxy_socks5_local_resolution(c):
    port = c.microsocks()
    srv = c.server([say("Via SOCKS5.")], tls=True)
    r = c.run(srv, env={"ALL_PROXY": "socks5://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Via SOCKS5.", "stdout")
    hsrv = c.server([say("Plain via SOCKS5.")])
    r = c.run(hsrv, env={"all_proxy": "socks5://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Plain via SOCKS5.", "stdout (http base URL)")


@test
def t_proxy_socks5h_ssh_d(c):
    port = c.ssh_socks()
    srv = c.server([say("Via ssh -D.")], tls=True)
    r = c.run(srv, env={"ALL_PROXY": "socks5h://127.0.0.1:%d" % port})
    c.ok(r)
    c.eq(r.out.strip(), "Via ssh -D.", "stdout")
    c.nreq(srv, 1)


# ---------------------------------------------------------------------------------------------------------
# The key: apiKeyHelper, masking, sessions, child environments


def _settings(c, obj):
    d = os.path.join(c.home, ".claude")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "settings.json"), "w") as f:
        json.dump(obj, f)


@test
def t_api_key_helper(c):
    _settings(c, {"apiKeyHelper": "echo helper-key-42"})
    srv = c.server([say("Helped.")])
    r = c.run(srv, env={"ANTHROPIC_API_KEY": None})
    c.ok(r)
    c.eq(r.out.strip(), "Helped.", "stdout")
    c.nreq(srv, 1)
    c.eq(srv.requests[0]["headers"].get("x-api-key"), "helper-key-42", "x-api-key")
    c.lacks(r.err, "helper-key-42", "stderr")


@test
def t_api_key_helper_fails(c):
    _settings(c, {"apiKeyHelper": "exit 1"})
    srv = c.server([say("never")])
    r = c.run(srv, env={"ANTHROPIC_API_KEY": None})
    c.ok(r, 2)
    c.nreq(srv, 0)
    c.has(r.err, "apiKeyHelper", "stderr")


@test
def t_api_key_helper_of_an_untrusted_project(c):
    marker = os.path.join(c.root, "helper-ran")
    os.makedirs(c.path(".claude"))
    with open(c.path(".claude/settings.json"), "w") as f:
        json.dump({"apiKeyHelper": "touch %s; echo project-key-7" % marker}, f)
    srv = c.server([say("Helped.")])
    r = c.run(srv, env={"ANTHROPIC_API_KEY": None})
    c.ok(r, 2)
    c.nreq(srv, 0)
    c.check(not os.path.exists(marker), "the apiKeyHelper of an untrusted project's settings ran")
    c.has(r.err, "this folder is not trusted, so its .claude settings were read without apiKeyHelper", "stderr")
    state = os.path.join(c.home, "state", "agent")          # trusted (as a yes at the question records it): it runs
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "trusted-folders"), "w") as f:
        f.write(os.path.realpath(c.work) + "\n")
    r = c.run(srv, env={"ANTHROPIC_API_KEY": None})
    c.ok(r)
    c.check(os.path.exists(marker), "the apiKeyHelper of a trusted project did not run")
    c.eq(srv.requests[0]["headers"].get("x-api-key"), "project-key-7", "x-api-key")


@test
def t_secret_verbose_masked(c):
    srv = c.server([bash("toolu_v1", "echo hi"), say("Verbose done.")])
    r = c.run(srv, ["--verbose", "--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 2)
    c.has(r.err, "x-api-key:", "stderr (the request trace)")
    c.has(r.err, API_KEY[:6], "stderr (the key's first 6 characters)")
    c.lacks(r.err, API_KEY, "stderr")
    c.lacks(r.out, API_KEY, "stdout")
    files = c.sessions()
    c.check(files, "no session file under %s/state/agent/sessions" % c.home)
    for f in files:
        c.lacks(_read(f), API_KEY, "session file %s" % f)


@test
def t_secret_bearer_masked(c):
    token = "sk-bearer-tok-98765"
    srv = c.server([say("Bearer done.")])
    r = c.run(srv, ["--verbose"], env={"ANTHROPIC_API_KEY": None, "ANTHROPIC_AUTH_TOKEN": token})
    c.ok(r)
    c.eq(srv.requests[0]["headers"].get("authorization"), "Bearer " + token, "authorization header")
    c.has(r.err, "authorization:", "stderr (the request trace)")
    c.lacks(r.err, token, "stderr")
    c.lacks(r.err, token[:12], "stderr")
    for f in c.sessions():
        c.lacks(_read(f), token, "session file %s" % f)


@test
def t_secret_bash_env_scrubbed(c):
    srv = c.server([bash("toolu_env", "env"), say("env shown.")])
    r = c.run(srv, ["--dangerously-skip-permissions"],
              env={"ANTHROPIC_AUTH_TOKEN": "auth-token-555", "OPENAI_API_KEY": "openai-key-777",
                   "NET_MARKER": "visible-to-children"})
    c.ok(r)
    text = c.content_text(c.result(srv, 1, "toolu_env"))
    c.has(text, "NET_MARKER=visible-to-children", "env output (proof that env ran with the agent's environment)")
    for name, value in (("ANTHROPIC_API_KEY", API_KEY), ("ANTHROPIC_AUTH_TOKEN", "auth-token-555"),
                        ("OPENAI_API_KEY", "openai-key-777")):
        c.lacks(text, name, "env output")
        c.lacks(text, value, "env output")


# ---------------------------------------------------------------------------------------------------------
# Sandbox (Landlock)


def _sandbox_or_skip(c, r):
    if r.rc == 2 and "Landlock" in r.err:
        raise Skip("this kernel has no Landlock (agent refused --sandbox: %s)" % r.err.strip()[:120])


@test
def t_sandbox_writes(c):
    outside = c.tmpdir("/var/tmp" if os.access("/var/tmp", os.W_OK) else os.path.join(os.path.dirname(HERE), "build"))
    c.home = outside            # HOME neither under the work dir nor under /tmp
    os.makedirs(os.path.join(outside, "state"), exist_ok=True)
    srv = c.server([calls(("toolu_in", "Bash", {"command": "echo x > inside.txt"}),
                          ("toolu_out", "Bash", {"command": 'echo x > "$HOME/outside.txt"'}),
                          ("toolu_tmp", "Bash", {"command": "echo x > /tmp/agent-e2e-net-sandbox-$$ && "
                                                            "rm /tmp/agent-e2e-net-sandbox-$$ && echo tmp-ok"})),
                    say("Sandboxed.")])
    r = c.run(srv, ["--sandbox", "--dangerously-skip-permissions"])
    _sandbox_or_skip(c, r)
    c.ok(r)
    rs = {b.get("tool_use_id"): b for b in c.results(srv, 1)}
    c.eq(sorted(rs), ["toolu_in", "toolu_out", "toolu_tmp"], "tool results")
    c.check(not rs["toolu_in"].get("is_error"), "writing inside the work dir failed: %r" % rs["toolu_in"])
    c.check(os.path.exists(c.path("inside.txt")), "inside.txt was not written")
    c.check(rs["toolu_out"].get("is_error") is True, "writing $HOME/outside.txt is not an error: %r" % rs["toolu_out"])
    c.has(c.content_text(rs["toolu_out"]), "Permission denied", "tool_result of the outside write")
    c.check(not os.path.exists(os.path.join(outside, "outside.txt")), "outside.txt exists: the sandbox let it through")
    c.has(c.content_text(rs["toolu_tmp"]), "tmp-ok", "tool_result of the /tmp write")


@test
def t_sandbox_no_tcp(c):
    lst = Listener()
    c.closers.append(lst.close)
    cmd = ("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), timeout=5); print(\"TCP-OK\")'"
           "; echo rc=$?" % lst.port)
    srv = c.server([bash("toolu_tcp", cmd), say("No network.")])
    r = c.run(srv, ["--sandbox", "--dangerously-skip-permissions"])
    _sandbox_or_skip(c, r)
    c.ok(r)
    text = c.content_text(c.result(srv, 1, "toolu_tcp"))
    c.lacks(text, "TCP-OK", "tool_result")
    c.check(re.search(r"rc=[1-9]", text), "the connect did not fail: %r" % text)
    c.eq(lst.accepted, 0, "connections the listener accepted under --sandbox")
    # control: without --sandbox the same command reaches the listener
    srv2 = c.server([bash("toolu_tcp2", cmd), say("Network.")])
    r = c.run(srv2, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.has(c.content_text(c.result(srv2, 1, "toolu_tcp2")), "TCP-OK", "tool_result without --sandbox")
    deadline = time.monotonic() + 10
    while lst.accepted < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    c.eq(lst.accepted, 1, "connections the listener accepted without --sandbox")


# ---------------------------------------------------------------------------------------------------------
# Escape sequences from the model

HOSTILE = "A\x1b]52;c;ZXZpbA==\x07B\x1b[2JC"


def _hostile_spec():
    return {"text": "before " + HOSTILE + " after", "pieces": ["before ", HOSTILE, " after"]}


@test
def t_escapes_pipe_raw(c):
    """stdout is a pipe: the text is written byte-exact (a pipe gets the raw text)."""
    srv = c.server([_hostile_spec()])
    r = c.run(srv)
    c.ok(r)
    c.eq(r.raw_out.rstrip(b"\n"), ("before " + HOSTILE + " after").encode(), "stdout bytes")


@test
def t_escapes_tty_neutralised(c):
    """stdout is a terminal (util-linux script gives a pty): ESC is shown as ^[ and never reaches it raw."""
    script = shutil.which("script")
    if not script:
        raise Skip("util-linux script is not installed", peer=True)
    srv = c.server([_hostile_spec()])
    r = c.run(srv, env={"TERM": "xterm"}, wrap=lambda argv: _script_argv(script, argv))
    c.ok(r)
    c.nreq(srv, 1)
    out = r.raw_out
    c.check(b"before" in out and b"after" in out, "the answer did not reach the terminal: %r" % out[-300:])
    c.check(b"\x1b]52" not in out, "OSC 52 reached the terminal raw: %r" % out[-300:])
    c.check(b"\x1b[2J" not in out, "ESC [2J reached the terminal raw: %r" % out[-300:])
    c.check(b"\x07" not in out, "BEL reached the terminal raw: %r" % out[-300:])
    c.check(b"^[]52;c;ZXZpbA==" in out, "OSC 52 not shown as ^[]52;...: %r" % out[-300:])
    c.check(b"^[[2J" in out, "ESC [2J not shown as ^[[2J: %r" % out[-300:])


# ---------------------------------------------------------------------------------------------------------
# Runner

def run_one(agent, name, fn):
    """(ok, note, lines, skipped) of one test: note is what follows its name (" # SKIP why", see e2e_lib)."""
    c = Ctx(agent, name)
    lines = []
    try:
        fn(c)
        ok = True
    except Skip as e:
        c.cleanup()
        out = skip_outcome(e.why, e.peer)
        return out.ok, out.note, list(out.lines), out.skipped
    except Fail as e:
        ok = False
        lines.append(str(e))
    except Exception:
        ok = False
        lines.extend(traceback.format_exc().rstrip().split("\n"))
    if not ok:
        lines.extend(c.diagnostics())
    c.cleanup()
    return ok, "", lines, False


def main(argv=None, tests=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", default="./agent")
    ap.add_argument("--filter", default="", help="run only tests whose name contains this")
    ap.add_argument("--label", default="", help="added to each test name")
    args = ap.parse_args(argv)
    agent = os.path.abspath(args.agent)
    if not os.access(agent, os.X_OK):
        print("not ok - e2e_net: %s is not an executable" % agent)
        return 1
    tests = [(n, f) for n, f in (TESTS if tests is None else tests) if args.filter in n]
    suffix = " [%s]" % args.label if args.label else ""
    Shared.workdir = tempfile.mkdtemp(prefix="agent-e2e-net-shared-")
    passed = failed = skipped = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futs = [(n, pool.submit(run_one, agent, n, f)) for n, f in tests]
            for n, fut in futs:
                ok, note, lines, skip = fut.result()
                print("%s - net: %s%s%s" % ("ok" if ok else "not ok", n, suffix, note))
                for ln in lines:
                    print("    " + ln)
                sys.stdout.flush()
                skipped += bool(ok and skip)
                passed += bool(ok and not skip)
                failed += not ok
    finally:
        shutil.rmtree(Shared.workdir, ignore_errors=True)
    print("e2e_net%s: %d passed, %d failed, %d skipped" % (suffix, passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
