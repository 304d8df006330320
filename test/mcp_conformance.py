#!/usr/bin/env python3
"""The client command of the MCP conformance suite (test/conformance.sh runs the suite with it).

    python3 test/mcp_conformance.py URL          (the suite appends URL, its test server's address)

The suite (@modelcontextprotocol/conformance, client mode) starts a test MCP server for one scenario, runs
this with the server's URL as the last argument and MCP_CONFORMANCE_SCENARIO (and for four auth scenarios
MCP_CONFORMANCE_CONTEXT, JSON) in the environment, and then judges what the server saw. This drives the real
agent binary ($AGENT, default: agent in the repository's top folder) as a user would, with test/mock_api.py standing in for the model:

  - the mock's first reply is a tool_use of the MCP tool the scenario needs (mcp__conf__<tool>), the second
    the text "done."; scenarios that need no tool call get only "done.";
  - the server is "conf" in a --mcp-config file: {"type": "http", "url": URL, "oauth": {...}}, the oauth
    block filled from the scenario and its context (pre-registered client, client credentials, a private key
    file for private_key_jwt, a client metadata document URL), none where agent discovers and registers;
  - agent runs in print mode: agent -p "call the tool" --mcp-config CFG --allowedTools mcp__conf, in a fresh
    working directory with a fresh HOME (XDG dirs inside it), so no token survives from one run to the next;
    BROWSER is test/oauth_browser.py, which follows the authorization server's redirect to agent's listener;
  - the elicitation scenario needs a user at a terminal (without one agent declines): agent's interactive
    session runs in a pseudo-terminal, each question of the form ("...]: ") is answered with Enter (the
    default), and /exit is typed once "done." is on the screen.

agent's stdout goes to stdout, its stderr (or the terminal's transcript) to stderr: the suite keeps them in
stdout.txt and stderr.txt. Exit status: agent's; 124 when it was still running after DEADLINE seconds
(MCP_CONFORMANCE_DEADLINE, default 25: under the suite's 30 s --timeout, so that its output is kept) and was
killed. On SIGTERM, or when its parent is gone (the suite's time-out killed the shell it ran this in), agent is
killed and this exits 143. Python 3 standard library only.
"""
import fcntl
import json
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import mock_api  # noqa: E402

SERVER = "conf"
DEADLINE = float(os.environ.get("MCP_CONFORMANCE_DEADLINE", "25"))  # seconds, all of it
PROMPT = "call the tool"
CIMD_URL = "https://conformance-test.local/client-metadata.json"   # the suite's constant (auth/basic-cimd)

# scenario -> (tool, arguments); every auth/ scenario calls test-tool; the rest call nothing
TOOLS = {
    "tools_call": ("add_numbers", {"a": 2, "b": 3}),
    "elicitation-sep1034-client-defaults": ("test_client_elicitation_defaults", {}),
    "sse-retry": ("test_reconnection", {}),
}
INTERACTIVE = {"elicitation-sep1034-client-defaults"}

ANSI = re.compile(r"\x1b(\[[0-9;?<=>!]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Za-z0-9]|[=>78DEHMNOZc])")


def log(msg):
    sys.stderr.write("mcp_conformance: %s\n" % msg)
    sys.stderr.flush()


def tool_for(scenario):
    if scenario.startswith("auth/"):
        return ("test-tool", {})
    return TOOLS.get(scenario)


def camel(k):
    head, *rest = k.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def oauth_for(scenario, ctx, tmp):
    """The oauth block of the server entry, or None (agent discovers the server and registers itself)."""
    if scenario == "auth/basic-cimd":
        return {"clientMetadataUrl": CIMD_URL}
    if scenario == "auth/pre-registration":
        return {"clientId": ctx["client_id"], "clientSecret": ctx["client_secret"]}
    if scenario == "auth/client-credentials-basic":
        return {"grant": "client_credentials", "clientId": ctx["client_id"], "clientSecret": ctx["client_secret"]}
    if scenario == "auth/client-credentials-jwt":
        key = os.path.join(tmp, "client-key.pem")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(ctx["private_key_pem"].rstrip("\n") + "\n")
        # signing_algorithm is ES256, what an EC P-256 key implies: not passed on (not in agent's oauth block)
        return {"grant": "client_credentials", "clientId": ctx["client_id"], "privateKeyFile": key}
    if scenario == "auth/cross-app-access-complete-flow":
        # SEP-990: token exchange at the IdP (id_token -> ID-JAG), then the jwt-bearer grant at the AS. Not in
        # the interface agent is getting: the context's fields are passed through, camelCased.
        o = {"grant": "jwt-bearer"}
        for k, v in ctx.items():
            if k != "name":
                o[camel(k)] = v
        return o
    if ctx:
        # a scenario with context this does not know (a newer suite): pass it through as well as it can be
        o = {camel(k): v for k, v in ctx.items() if k != "name"}
        return o or None
    return None


PARENT = os.getppid()


def orphaned():
    """The suite (or the shell it ran this in) is gone, killed at its time-out: stop too."""
    if os.getppid() != PARENT:
        log("the suite is gone (timed out?): stopping")
        raise SystemExit(143)


class Agent:
    """One run of the agent: its world (temp dir), the mock API, the config, the environment."""

    def __init__(self, agent, url, scenario, ctx):
        self.agent, self.url, self.scenario, self.ctx = agent, url, scenario, ctx
        self.tmp = tempfile.mkdtemp(prefix="agent-conformance-")
        self.home = os.path.join(self.tmp, "home")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.work)
        os.makedirs(os.path.join(self.home, "state", "agent"))
        os.makedirs(os.path.join(self.home, "config"))
        self.tool = tool_for(scenario)
        self.done_at = None      # transcript length when the mock was asked for its last reply
        self.transcript = ""
        script = []
        if self.tool:
            script.append({"tool_use": {"id": "toolu_conf_1", "name": "mcp__%s__%s" % (SERVER, self.tool[0]),
                                        "input": self.tool[1]}})
        script.append({"text": "done.", "on_request": self._last_request})
        self.mock = mock_api.MockServer(script=script).start()
        entry = {"type": "http", "url": url}
        oauth = oauth_for(scenario, ctx, self.tmp)
        if oauth:
            entry["oauth"] = oauth
        self.cfg = os.path.join(self.tmp, "mcp.json")
        with open(self.cfg, "w") as f:
            json.dump({"mcpServers": {SERVER: entry}}, f, indent=2)
        self.proc = None

    def _last_request(self, req):
        self.done_at = len(self.transcript)

    def env(self, tty=False):
        browser = "%s %s" % (shlex.quote(sys.executable), shlex.quote(os.path.join(HERE, "oauth_browser.py")))
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "ANTHROPIC_API_KEY": "test",
            "ANTHROPIC_BASE_URL": self.mock.url,
            "ANTHROPIC_MAX_RETRIES": "0",
            "NO_COLOR": "1",
            "BROWSER": browser,
        }
        if tty:
            e["TERM"] = "xterm-256color"
        for k in ("SSL_CERT_FILE", "SSL_CERT_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return e

    def argv(self, interactive):
        a = [self.agent]
        if not interactive:
            a += ["-p", PROMPT]
        a += ["--mcp-config", self.cfg, "--allowedTools", "mcp__%s" % SERVER]
        if interactive:
            a.append(PROMPT)
        return a

    def kill(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(p.pid, sig)
            except OSError:
                pass
            try:
                p.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self.kill()
        try:
            self.mock.stop()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- print mode ------------------------------------------------------------------------------------------
    def run_print(self, deadline):
        self.proc = subprocess.Popen(self.argv(False), cwd=self.work, env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        out = err = b""
        rc = None
        try:
            while True:
                try:
                    out, err = self.proc.communicate(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    orphaned()
                    if time.monotonic() > deadline:
                        raise
            rc = self.proc.returncode
            if rc < 0:
                rc = 128 - rc
        except subprocess.TimeoutExpired:
            log("agent still running after %g s: killed" % DEADLINE)
            self.kill()
            out, err = self.proc.communicate()
            rc = 124
        finally:
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
            sys.stderr.buffer.write(err)
            sys.stderr.flush()
        return rc

    # -- the interactive session in a pseudo-terminal --------------------------------------------------------
    def run_tty(self, deadline):
        # the working directory is trusted, as the user's yes at the trust question records it
        with open(os.path.join(self.home, "state", "agent", "trusted-folders"), "a") as f:
            f.write(os.path.realpath(self.work) + "\n")
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        raw = bytearray()
        try:
            self.proc = subprocess.Popen(self.argv(True), cwd=self.work, env=self.env(tty=True), stdin=slave,
                                         stdout=slave, stderr=slave, start_new_session=True, preexec_fn=ctty,
                                         close_fds=True)
        finally:
            os.close(slave)
        answered = 0          # transcript length when the last question was answered
        exit_sent = None
        quiet_since = time.monotonic()
        rc = None
        try:
            while True:
                orphaned()
                now = time.monotonic()
                if now > deadline:
                    log("agent still running after %g s: killed" % DEADLINE)
                    self.kill()
                    rc = 124
                    break
                r, _, _ = select.select([master], [], [], 0.05)
                if r:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:          # EIO: the terminal's other side is closed, agent is gone
                        rc = self.proc.wait(timeout=max(0.5, deadline - time.monotonic()))
                        break
                    raw += data
                    self.transcript = ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "")
                    quiet_since = time.monotonic()
                    continue
                if self.proc.poll() is not None and not r:
                    # drained: agent exited and nothing more came within 50 ms
                    rc = self.proc.returncode
                    break
                t = self.transcript
                if time.monotonic() - quiet_since < 0.1:
                    continue
                if exit_sent is None and len(t) > answered and t.endswith("]: "):
                    os.write(master, b"\r")
                    answered = len(t)
                    continue
                if exit_sent is None and self.done_at is not None and "done." in t[self.done_at:]:
                    os.write(master, b"/exit\r")
                    exit_sent = time.monotonic()
                    continue
                if exit_sent is not None and time.monotonic() - exit_sent > 5 and len(t) > answered:
                    os.write(master, b"/exit\r")       # once more, should the first have gone to a question
                    exit_sent = time.monotonic()
                    answered = len(t)
        finally:
            os.close(master)
            self.transcript = ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "")
            sys.stderr.write("---- agent's terminal ----\n%s\n---- end of agent's terminal ----\n" % self.transcript)
            sys.stderr.flush()
        if rc is not None and rc < 0:
            rc = 128 - rc
        return rc


def main(argv):
    if len(argv) < 2:
        print("usage: mcp_conformance.py URL  (MCP_CONFORMANCE_SCENARIO in the environment)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + DEADLINE
    url = argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    try:
        ctx = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    except ValueError as e:
        log("MCP_CONFORMANCE_CONTEXT is not JSON: %s" % e)
        ctx = {}
    agent = os.path.abspath(os.environ.get("AGENT") or os.path.join(ROOT, "agent"))
    if not os.access(agent, os.X_OK):
        log("no agent binary at %s (set AGENT)" % agent)
        return 127
    a = Agent(agent, url, scenario, ctx)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    interactive = scenario in INTERACTIVE
    log("scenario %r, server %s, tool %s, %s" % (scenario, url, a.tool[0] if a.tool else "none",
                                                 "interactive session in a terminal" if interactive else "print mode"))
    with open(a.cfg) as f:
        log("--mcp-config %s" % " ".join(f.read().split()))
    t0 = time.monotonic()
    rc = None
    try:
        rc = a.run_tty(deadline) if interactive else a.run_print(deadline)
    except SystemExit as e:
        rc = e.code
        log("stopped (signal or the suite gone) after %.1f s: agent killed" % (time.monotonic() - t0))
    finally:
        n = len(a.mock.requests)
        a.cleanup()
    log("agent exited with %s after %.1f s; the mock API got %d request(s)" % (rc, time.monotonic() - t0, n))
    return rc if isinstance(rc, int) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
