#!/usr/bin/env python3
"""End-to-end tests of agent's OAuth for streamable-HTTP MCP servers: the real binary against a mock that is
both the MCP server and its authorization server, and test/mock_api.py as the model.

    python3 test/e2e_oauth.py --agent ./agent [--filter S] [--label L] [--jobs N]

The mock (OAuthMock below, one http.server on 127.0.0.1, port 0, per test) serves
  - the MCP server: POST /mcp, JSON-RPC with application/json answers (initialize, notifications/* -> 202,
    tools/list -> one tool "whoami", tools/call whoami -> "WHOAMI token=... scope=... client=..."), GET /mcp
    -> 405; every request (or only tools/call: protect="call") needs a bearer token the mock issued for this
    resource, else 401 with WWW-Authenticate: Bearer resource_metadata="...", scope="...";
  - its protected-resource metadata (RFC 9728) at /.well-known/oauth-protected-resource/mcp (or at the root
    one), the authorization server's metadata (RFC 8414) at /.well-known/oauth-authorization-server;
  - the authorization server: POST /register (RFC 7591), GET /authorize (302 at once to the redirect_uri with
    code and state: no login page), POST /token (authorization_code with PKCE S256 checked, refresh_token,
    client_credentials; access tokens "at-N", refresh tokens "rt-N").
It records every request (and what it found wrong with it). Per test it can revoke tokens, ask for a scope
(403 insufficient_scope), name another resource in its metadata, take only client_credentials.
The "browser" is test/oauth_browser.py (BROWSER="python3 test/oauth_browser.py"): it GETs the authorization
URL and then the Location it redirects to, agent's loopback listener. Two tests play the user instead: one
answers the listener by hand (first with a wrong state), one pastes the address into agent's terminal (a pty).

Each test has its own HOME (XDG_STATE_HOME in it: the tokens are kept in state/agent/mcp-auth/NAME.json),
runs agent in print mode (-p ... --allowedTools mcp__srv) with the model scripted to call mcp__srv__whoami and
then say "done", and checks what the servers received, the files on disk, the exit code and stderr. One line
per test, "ok - oauth: NAME" or "not ok - oauth: NAME" with indented diagnostics; the summary line last (with
the suite's run time). Exit status 1 when any test fails. Python 3 standard library only.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib  # noqa: E402
from e2e_lib import Fail, call, clip, rtext, say  # noqa: E402

# agent runs `sh -c '$BROWSER "$1"'`: the words of BROWSER are split, not unquoted (no spaces in these paths)
BROWSER = "%s %s" % (sys.executable, os.path.join(HERE, "oauth_browser.py"))
SIGN_IN = "agent: MCP server 'srv' needs you to sign in. Open this address in a browser"
TOOL = "mcp__srv__whoami"
WAIT = 15.0             # seconds a test waits for agent to say something


class OAuthSuite(e2e_lib.Suite):
    def main(self, doc, ctx, argv=None):
        self.t0 = time.monotonic()
        return super().main(doc, ctx, argv)

    def summary_note(self, skipped):
        return " (in %.1f s)" % (time.monotonic() - self.t0)


SUITE = OAuthSuite("oauth")
test = SUITE.test


def b64url_sha256(s):
    return base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest()).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------------------
# The mock: MCP server and authorization server in one

class OAuthMock:
    """Settings (attributes; a test may change them between two runs):
      protect         "all": every POST /mcp needs a token; "call": only tools/call does
      revoked         access tokens refused with 401 (as if expired)
      revoked_refresh refresh tokens the token endpoint refuses (invalid_grant)
      need_scope      a scope tools/call needs: a token without it gets 403 insufficient_scope
      grantable       the scopes the authorization server grants (None: whatever is asked)
      www_scope       scope="..." of the 401 challenge (None: no scope parameter)
      www_rm          the 401 challenge names resource_metadata
      prm_at          "path": the metadata at /.well-known/oauth-protected-resource/mcp; "root": only at
                      /.well-known/oauth-protected-resource (the path one is 404)
      prm_resource    the "resource" the metadata names (None: the server's URL, self.url)
      auth_methods    token_endpoint_auth_methods_supported
      grant_types     grant_types_supported
      registration    it has a registration_endpoint
      clients         {client_id: {"secret": s or None, "method": m, "redirect_uris": [...] or None (any
                      loopback /callback), "grant_types": [...]}}: preconfigured ones, and those registered
    """

    def __init__(self, **kw):
        self.protect = "all"
        self.revoked = set()
        self.revoked_refresh = set()
        self.need_scope = None
        self.grantable = None
        self.www_scope = "mcp:read"
        self.www_rm = True
        self.prm_at = "path"
        self.prm_resource = None
        self.auth_methods = ["none", "client_secret_basic", "client_secret_post"]
        self.grant_types = ["authorization_code", "refresh_token"]
        self.registration = True
        self.clients = {}
        for k, v in kw.items():
            if not hasattr(self, k):
                raise ValueError("no setting %r" % k)
            setattr(self, k, v)
        self.log = []           # one dict per request (see handle())
        self.errors = []        # exceptions while serving (not a client hanging up)
        self.codes = {}         # code -> what it was issued for
        self.tokens = {}        # access token -> {"scope", "client", "resource"}
        self.refresh = {}       # refresh token -> {"scope", "client", "resource"}
        self.issued = 0
        self.nclients = 0
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.handle(self, None)

            def do_DELETE(self):
                outer.handle(self, None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.handle(self, self.rfile.read(n) if n else b"")

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                e = sys.exc_info()[1]
                if not isinstance(e, (ConnectionResetError, BrokenPipeError)):     # a client that hung up
                    outer.errors.append(repr(e))

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.url = self.base + "/mcp"
        self.prm_url = self.base + "/.well-known/oauth-protected-resource/mcp"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what was received --

    def mark(self):
        with self.lock:
            return len(self.log)

    def reqs(self, path=None, since=0, method=None):
        """Recorded requests (from index since) to path (without the query), of method."""
        with self.lock:
            return [q for q in self.log[since:] if (path is None or q["path"] == path) and
                    (method is None or q["method"] == method)]

    def mcp_posts(self, since=0):
        return self.reqs("/mcp", since, "POST")

    def resource(self):
        return self.url if self.prm_resource is None else self.prm_resource

    # -- serving --

    def handle(self, h, raw):
        u = urllib.parse.urlsplit(h.path)
        q = {"n": None, "method": h.command, "path": u.path, "query": dict(urllib.parse.parse_qsl(u.query)),
             "rawquery": u.query, "headers": {k.lower(): v for k, v in h.headers.items()},
             "raw": (raw or b"").decode("utf-8", "replace"), "form": None, "json": None, "status": None,
             "problems": [], "rpc": None}
        ctype = q["headers"].get("content-type", "")
        if raw and "application/x-www-form-urlencoded" in ctype:
            q["form"] = dict(urllib.parse.parse_qsl(q["raw"], keep_blank_values=True))
        elif raw:
            try:
                q["json"] = json.loads(q["raw"])
            except ValueError:
                pass
        with self.lock:
            q["n"] = len(self.log)
            self.log.append(q)
        try:
            status, headers, body = self.route(q)
        except Exception as e:  # noqa: BLE001
            q["problems"].append("mock error: %r" % e)
            status, headers, body = 500, {}, {"error": "server_error", "error_description": repr(e)}
        q["status"] = status
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            data = (body or "").encode()
            if data:
                headers.setdefault("Content-Type", "text/plain")
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def route(self, q):
        p, m = q["path"], q["method"]
        if p == "/mcp":
            return self.mcp(q) if m == "POST" else (405, {"Allow": "POST"}, "POST only")
        if p == "/.well-known/oauth-protected-resource/mcp" and m == "GET" and self.prm_at == "path" or \
                p == "/.well-known/oauth-protected-resource" and m == "GET" and self.prm_at == "root":
            return 200, {}, {"resource": self.resource(), "authorization_servers": [self.base],
                             "scopes_supported": ["mcp:read", "mcp:admin"], "bearer_methods_supported": ["header"]}
        if p == "/.well-known/oauth-authorization-server" and m == "GET":
            md = {"issuer": self.base, "authorization_endpoint": self.base + "/authorize",
                  "token_endpoint": self.base + "/token", "response_types_supported": ["code"],
                  "grant_types_supported": self.grant_types, "code_challenge_methods_supported": ["S256"],
                  "token_endpoint_auth_methods_supported": self.auth_methods,
                  "scopes_supported": ["mcp:read", "mcp:admin"]}
            if self.registration:
                md["registration_endpoint"] = self.base + "/register"
            return 200, {}, md
        if p == "/register" and m == "POST" and self.registration:
            return self.register(q)
        if p == "/authorize" and m == "GET":
            return self.authorize(q)
        if p == "/token" and m == "POST":
            return self.token(q)
        return 404, {}, {"error": "not_found"}

    def challenge(self, extra=""):
        parts = []
        if extra:
            parts.append(extra)
        if self.www_rm:
            parts.append('resource_metadata="%s"' % self.prm_url)
        if self.www_scope and not extra:
            parts.append('scope="%s"' % self.www_scope)
        return "Bearer " + ", ".join(parts)

    def mcp(self, q):
        msg = q["json"]
        if not isinstance(msg, dict):
            q["problems"].append("not a JSON-RPC object")
            return 400, {}, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
        meth = msg.get("method")
        q["rpc"] = meth
        auth = q["headers"].get("authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        q["bearer"] = tok
        info = self.tokens.get(tok)
        if info is not None and (tok in self.revoked or info["resource"] != self.resource()):
            info = None
        if (self.protect == "all" or meth == "tools/call") and info is None:
            why = ', error="invalid_token"' if tok else ""
            return 401, {"WWW-Authenticate": self.challenge() + why}, {"error": "unauthorized"}
        if meth == "tools/call" and self.need_scope and self.need_scope not in info["scope"].split():
            return 403, {"WWW-Authenticate": self.challenge('error="insufficient_scope", scope="%s"'
                                                            % self.need_scope)}, {"error": "insufficient_scope"}
        if "id" not in msg:
            return 202, {}, ""
        mid, par = msg["id"], msg.get("params") or {}
        if meth == "initialize":
            res = {"protocolVersion": par.get("protocolVersion") or "2025-06-18", "capabilities": {"tools": {}},
                   "serverInfo": {"name": "oauth-mock", "version": "1.0"}}
        elif meth == "tools/list":
            res = {"tools": [{"name": "whoami", "description": "Says which token called it.",
                              "inputSchema": {"type": "object", "properties": {}}}]}
        elif meth == "tools/call" and par.get("name") == "whoami":
            res = {"content": [{"type": "text", "text": "WHOAMI token=%s scope=%s client=%s" % (
                tok, info["scope"], info["client"])}]}
        elif meth == "ping":
            res = {}
        else:
            return 200, {}, {"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "no %s" % meth}}
        return 200, {}, {"jsonrpc": "2.0", "id": mid, "result": res}

    def register(self, q):
        md = q["json"]
        if not isinstance(md, dict) or not isinstance(md.get("redirect_uris"), list) or not md["redirect_uris"]:
            q["problems"].append("registration without redirect_uris")
            return 400, {}, {"error": "invalid_redirect_uri"}
        method = md.get("token_endpoint_auth_method", "client_secret_basic")
        with self.lock:
            self.nclients += 1
            cid = "client-%d" % self.nclients
        secret = None if method == "none" else "secret-%d" % self.nclients
        self.clients[cid] = {"secret": secret, "method": method, "redirect_uris": md["redirect_uris"],
                             "grant_types": md.get("grant_types") or ["authorization_code"]}
        out = dict(md, client_id=cid, client_id_issued_at=int(time.time()), token_endpoint_auth_method=method)
        if secret:
            out["client_secret"] = secret
        return 201, {}, out

    def redirect_ok(self, client, uri):
        """uri is one the client registered; a loopback one with any port (RFC 8252 7.3: a native app's
        listener gets a new port each time). Preconfigured clients (None): any loopback /callback."""
        loop = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\]):\d+(/.*)$")
        if client["redirect_uris"] is None:
            return re.match(r"^http://(localhost|127\.0\.0\.1):\d+/callback$", uri or "") is not None
        for reg in client["redirect_uris"]:
            a, b = loop.match(reg), loop.match(uri or "")
            if reg == uri or a and b and (a.group(1), a.group(2)) == (b.group(1), b.group(2)):
                return True
        return False

    def authorize(self, q):
        a = q["query"]
        client = self.clients.get(a.get("client_id"))
        bad = []
        if client is None:
            bad.append("unknown client_id %r" % a.get("client_id"))
        elif not self.redirect_ok(client, a.get("redirect_uri")):
            bad.append("redirect_uri %r is not registered" % a.get("redirect_uri"))
        if a.get("response_type") != "code":
            bad.append("response_type %r" % a.get("response_type"))
        if a.get("code_challenge_method") != "S256" or not re.match(r"^[A-Za-z0-9_-]{43}$",
                                                                    a.get("code_challenge", "")):
            bad.append("no S256 code_challenge")
        if not a.get("state"):
            bad.append("no state")
        if bad:
            q["problems"] += bad
            return 400, {}, "bad authorization request: " + "; ".join(bad)
        with self.lock:
            code = "code-%d-%s" % (len(self.codes) + 1, os.urandom(4).hex())
            self.codes[code] = {"client": a["client_id"], "challenge": a["code_challenge"],
                                "redirect_uri": a["redirect_uri"], "scope": self.grant(a.get("scope", "")),
                                "resource": a.get("resource"), "used": False}
        loc = a["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": a["state"]})
        q["location"] = loc
        return 302, {"Location": loc}, ""

    def grant(self, asked):
        words = asked.split()
        if self.grantable is not None:
            words = [w for w in words if w in self.grantable]
        return " ".join(words)

    def issue(self, client, scope, resource, refresh=True):
        with self.lock:
            self.issued += 1
            n = self.issued
        at, rt = "at-%d" % n, "rt-%d" % n
        self.tokens[at] = {"scope": scope, "client": client, "resource": resource}
        out = {"access_token": at, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        if refresh:
            self.refresh[rt] = {"scope": scope, "client": client, "resource": resource}
            out["refresh_token"] = rt
        return 200, {"Cache-Control": "no-store"}, out

    def token(self, q):
        f = q["form"]
        if f is None:
            q["problems"].append("token request is not a form")
            return 400, {}, {"error": "invalid_request"}
        # the client's authentication
        auth = q["headers"].get("authorization", "")
        cid = secret = None
        if auth.startswith("Basic "):
            try:
                cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
            except Exception:  # noqa: BLE001
                q["problems"].append("undecodable Basic")
            q["client_auth"] = "basic"
            if "client_secret" in f:
                q["problems"].append("client_secret in the form as well as Basic")
        else:
            cid, secret = f.get("client_id"), f.get("client_secret")
            q["client_auth"] = "post" if secret else "none"
        client = self.clients.get(cid)
        if client is None:
            q["problems"].append("unknown client %r" % cid)
            return 401, {}, {"error": "invalid_client"}
        if (client["secret"] or None) != (secret or None):
            q["problems"].append("wrong client secret %r" % secret)
            return 401, {}, {"error": "invalid_client"}
        g = f.get("grant_type")
        res = f.get("resource")
        if res != self.resource():
            q["problems"].append("resource %r, not %r" % (res, self.resource()))
            return 400, {}, {"error": "invalid_target"}
        if g == "authorization_code":
            c = self.codes.get(f.get("code"))
            if c is None or c["used"]:
                q["problems"].append("unknown or used code")
                return 400, {}, {"error": "invalid_grant"}
            c["used"] = True
            q["pkce_ok"] = b64url_sha256(f.get("code_verifier", "")) == c["challenge"]
            if c["client"] != cid or c["redirect_uri"] != f.get("redirect_uri") or not q["pkce_ok"] or \
                    c["resource"] != res:
                q["problems"].append("code issued for %r, redeemed as %r" % (c, f))
                return 400, {}, {"error": "invalid_grant", "error_description": "code, verifier or redirect"}
            return self.issue(cid, c["scope"], res)
        if g == "refresh_token":
            rt = f.get("refresh_token")
            r = self.refresh.get(rt)
            if r is None or rt in self.revoked_refresh or r["client"] != cid:
                q["problems"].append("refresh token %r refused" % rt)
                return 400, {}, {"error": "invalid_grant", "error_description": "refresh token expired"}
            del self.refresh[rt]     # rotated
            return self.issue(cid, r["scope"], res)
        if g == "client_credentials":
            if "client_credentials" not in client["grant_types"] or not client["secret"]:
                q["problems"].append("client_credentials for a client that may not")
                return 400, {}, {"error": "unauthorized_client"}
            return self.issue(cid, self.grant(f.get("scope", "")), res, refresh=False)
        q["problems"].append("grant_type %r" % g)
        return 400, {}, {"error": "unsupported_grant_type"}

    def lines(self):
        out = []
        with self.lock:
            log = list(self.log)
        for q in log:
            ln = "mock %d: %s %s -> %s" % (q["n"], q["method"], q["path"] + ("?" + q["rawquery"] if q["rawquery"]
                                                                              else ""), q["status"])
            if q["rpc"]:
                ln += " rpc=%s" % q["rpc"]
            if "authorization" in q["headers"]:
                ln += " auth=%r" % q["headers"]["authorization"]
            if q["raw"] and q["path"] != "/mcp":
                ln += " body=%s" % clip(q["raw"], 400)
            if q["problems"]:
                ln += " PROBLEMS=%r" % q["problems"]
            out.append(ln)
        if self.errors:
            out.append("mock errors: %r" % self.errors)
        return out


# ---------------------------------------------------------------------------------------------------------
# One test's world

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-oauth-"
    RUN_TIMEOUT = 40

    def __init__(self, agent, name):
        super().__init__(agent, name)
        self.mocks = []
        self.procs = []

    def oauth(self, **kw):
        m = OAuthMock(**kw)
        self.mocks.append(m)
        return m

    def mcp_json(self, servers):
        """.mcp.json in the working directory, its servers approved (the folder trusted, then
        enableAllProjectMcpServers in .claude/settings.local.json), as test/e2e_mcp.py does."""
        self.trust()
        self.write(".claude/settings.local.json", json.dumps({"enableAllProjectMcpServers": True}))
        return self.write(".mcp.json", json.dumps({"mcpServers": servers}, indent=2))

    def api(self):
        """The model: call mcp__srv__whoami, then say done."""
        return self.server([call("toolu_w1", TOOL, {}), say("done")])

    def go(self, api, browser=True, extra=None, args=()):
        e = dict(extra or {})
        if browser:
            e["BROWSER"] = BROWSER
        return self.run(api, ["--allowedTools", "mcp__srv"] + list(args), extra=e)

    def token_path(self):
        return os.path.join(self.home, "state", "agent", "mcp-auth", "srv.json")

    def token_file(self):
        p = self.token_path()
        self.check(os.path.isfile(p), "no token file %s" % p)
        with open(p) as f:
            txt = f.read()
        try:
            return json.loads(txt)
        except ValueError:
            raise Fail("the token file is not JSON: %r" % clip(txt, 400))

    def tools_of(self, srv, i=0):
        """The names of the tools offered in request i of the model API."""
        return {t.get("name") for t in self.body(srv, i).get("tools") or []}

    def whoami(self, api, i=1):
        """The text of the whoami result in request i of the model API (checked: no error)."""
        b = self.result(api, i, "toolu_w1")
        self.not_err(b, "the whoami tool result")
        return rtext(b)

    def one(self, m, path, since=0, method=None):
        rs = m.reqs(path, since, method)
        self.eq(len(rs), 1, "number of %s requests" % path)
        return rs[0]

    def none_to(self, m, since, *paths):
        for p in paths:
            self.eq([(q["method"], q["path"]) for q in m.reqs(p, since)], [], "requests to %s" % p)

    def no_problems(self, m, since=0):
        bad = [(q["n"], q["method"], q["path"], q["problems"]) for q in m.reqs(None, since) if q["problems"]]
        self.eq(bad, [], "requests the authorization/MCP mock found wrong")
        self.eq(m.errors, [], "errors of the mock")
        self.no_token_elsewhere(m, since)

    def no_token_elsewhere(self, m, since=0):
        """The bearer token goes to the MCP server only; the token endpoint may get Basic client credentials."""
        leaks = [(q["n"], q["method"], q["path"], q["headers"]["authorization"]) for q in m.reqs(None, since)
                 if q["path"] != "/mcp" and "authorization" in q["headers"] and
                 not (q["path"] == "/token" and q["headers"]["authorization"].startswith("Basic "))]
        self.eq(leaks, [], "Authorization headers sent outside the MCP endpoint")

    def interactive(self, api, stdin, extra=None):
        """agent -p ... with stdin a file descriptor (a pty's slave, or /dev/null), its stderr read as it
        comes: (Popen, stderr-so-far function, finish function -> Result)."""
        argv = [self.agent, "-p", "do the task", "--allowedTools", "mcp__srv"]
        env = self.env(api, extra=extra)
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=self.work, env=env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(p)
        buf = {"err": b"", "out": b""}
        lock = threading.Lock()

        def pump(f, key):
            for chunk in iter(lambda: f.read1(4096), b""):
                with lock:
                    buf[key] += chunk

        ts = [threading.Thread(target=pump, args=(p.stderr, "err"), daemon=True),
              threading.Thread(target=pump, args=(p.stdout, "out"), daemon=True)]
        for t in ts:
            t.start()

        def err():
            with lock:
                return buf["err"].decode("utf-8", "replace")

        def finish(timeout=WAIT):
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = "timeout after %d s" % timeout
            for t in ts:
                t.join(5)
            r = e2e_lib.Result(argv, rc, buf["out"].decode("utf-8", "replace"), err(), time.monotonic() - t0)
            self.runs.append((r, api))
            return r

        return p, err, finish

    def wait_for(self, get, pattern, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            mt = re.search(pattern, get())
            if mt:
                return mt
            if time.monotonic() > deadline:
                raise Fail("%s: not on agent's stderr within %.0f s: %r" % (what, timeout, clip(get(), 1500)))
            time.sleep(0.05)

    def teardown(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
        for pid, _ in self.ours():      # a browser left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for m in self.mocks:
            m.stop()

    def more_diagnostics(self):
        lines = []
        for k, m in enumerate(self.mocks):
            lines.append("oauth mock %d (%s):" % (k + 1, m.base))
            lines += ["  " + ln for ln in m.lines()]
        p = self.token_path()
        if os.path.exists(p):
            with open(p, errors="replace") as f:
                lines.append("token file (mode %o): %s" % (os.stat(p).st_mode & 0o777, clip(f.read(), 800)))
        else:
            lines.append("no token file")
        return lines


def get(url):
    """(status, Location) of one GET of url, redirects not followed."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Location")
    finally:
        conn.close()


def printed_url(c, err):
    """The authorization URL agent printed: the line after the sign-in line, indented two spaces."""
    mt = re.search(re.escape(SIGN_IN) + r"[^\n]*:\n  (\S+)\n", err)
    c.check(mt, "no sign-in message with the address on the next line on stderr: %r" % clip(err, 1500))
    return mt.group(1)


def entry(m, **oauth):
    e = {"type": "http", "url": m.url}
    if oauth:
        e["oauth"] = oauth
    return e


def first_run(c, m, api=None):
    """A sign-in with the browser; returns (api, Result) after checking the tool worked with at-1."""
    c.mcp_json({"srv": entry(m)})
    api = api or c.api()
    r = c.go(api)
    c.ok(r)
    c.has(c.whoami(api), "WHOAMI token=at-1 ", "the tool's result in the model's next request")
    return api, r


def words(s):
    return set((s or "").split())


# ---------------------------------------------------------------------------------------------------------
# Tests

@test
def t_first_run_signs_in(c):
    """401 -> protected-resource metadata -> authorization server metadata -> registration -> the browser with
    PKCE S256, state and resource -> the code exchanged with the verifier -> the MCP request again with the
    token; the tokens kept 0600 in a 0700 directory."""
    m = c.oauth()
    api, r = first_run(c, m)
    c.no_problems(m)
    log = m.reqs()
    # the order things happened in
    first = m.mcp_posts()[0]
    c.eq((first["rpc"], first["status"], first["headers"].get("authorization")), ("initialize", 401, None),
         "the first MCP request (no token yet)")
    seq = [q["path"] for q in log if q["path"] != "/mcp"]
    c.eq(seq, ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server",
               "/register", "/authorize", "/token"], "the authorization requests, in order")
    # registration
    reg = c.one(m, "/register")["json"]
    c.check(isinstance(reg, dict), "the registration is not a JSON object")
    c.eq(reg.get("client_name"), "agent", "client_name")
    c.check(isinstance(reg.get("redirect_uris"), list) and len(reg["redirect_uris"]) == 1 and
            re.match(r"^http://localhost:\d+/callback$", reg["redirect_uris"][0]),
            "redirect_uris: expected one http://localhost:PORT/callback, got %r" % reg.get("redirect_uris"))
    redirect = reg["redirect_uris"][0]
    c.eq(reg.get("grant_types"), ["authorization_code", "refresh_token"], "grant_types")
    c.eq(reg.get("response_types"), ["code"], "response_types")
    c.eq(reg.get("token_endpoint_auth_method"), "none", "token_endpoint_auth_method (none is listed)")
    # the authorization request, as printed and as the browser made it
    az = c.one(m, "/authorize")
    a = az["query"]
    c.eq(a.get("response_type"), "code", "response_type")
    c.eq(a.get("client_id"), "client-1", "client_id of the authorization request")
    c.eq(a.get("redirect_uri"), redirect, "redirect_uri of the authorization request")
    c.eq(a.get("code_challenge_method"), "S256", "code_challenge_method")
    c.check(re.match(r"^[A-Za-z0-9_-]{43}$", a.get("code_challenge", "")), "code_challenge: %r"
            % a.get("code_challenge"))
    c.check(len(a.get("state", "")) >= 16, "state: expected at least 16 characters, got %r" % a.get("state"))
    c.eq(a.get("resource"), m.url, "resource of the authorization request")
    c.eq(a.get("scope"), "mcp:read", "scope of the authorization request (the challenge's)")
    url = printed_url(c, r.err)
    c.eq(url, m.base + "/authorize?" + az["rawquery"], "the address on stderr is the one the browser opened")
    # the code exchange
    tk = c.one(m, "/token")
    f = tk["form"]
    c.check(f is not None, "the token request is not a form")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(az["location"]).query)["code"][0]
    c.eq(f.get("grant_type"), "authorization_code", "grant_type")
    c.eq(f.get("code"), code, "the code the redirect brought")
    c.eq(f.get("redirect_uri"), redirect, "redirect_uri of the token request")
    c.eq(b64url_sha256(f.get("code_verifier", "")), a["code_challenge"], "S256 of code_verifier vs code_challenge")
    c.check(43 <= len(f.get("code_verifier", "")) <= 128, "code_verifier length %d" % len(f.get("code_verifier", "")))
    c.eq(f.get("resource"), m.url, "resource of the token request")
    c.eq(f.get("client_id"), "client-1", "client_id of the token request (auth method none)")
    c.check("authorization" not in tk["headers"], "a public client sent an Authorization header to /token")
    c.eq(tk["status"], 200, "the token endpoint's answer")
    # then the MCP requests with the token, and the tool's result at the model
    after = [q for q in m.mcp_posts() if q["n"] > tk["n"]]
    c.check(after, "no MCP request after the token")
    c.eq(after[0]["rpc"], "initialize", "the request retried with the token")
    for q in after:
        c.eq(q["headers"].get("authorization"), "Bearer at-1", "Authorization of %s" % q["rpc"])
        c.check(q["status"] in (200, 202), "%s answered %s" % (q["rpc"], q["status"]))
    c.check(TOOL in c.tools_of(api, 0), "%s is not offered to the model" % TOOL)
    c.has(c.whoami(api), "WHOAMI token=at-1 scope=mcp:read client=client-1", "the tool's result")
    c.lacks(r.err, "failed", "stderr")
    # on disk
    p = c.token_path()
    c.eq(os.stat(p).st_mode & 0o777, 0o600, "mode of %s" % p)
    c.eq(os.stat(os.path.dirname(p)).st_mode & 0o777, 0o700, "mode of %s" % os.path.dirname(p))
    t = c.token_file()
    for k, v in (("url", m.url), ("access_token", "at-1"), ("refresh_token", "rt-1"), ("client_id", "client-1"),
                 ("auth_method", "none"), ("token_endpoint", m.base + "/token"), ("resource", m.url),
                 ("scope", "mcp:read")):
        c.eq(t.get(k), v, "%s in the token file" % k)
    c.lacks(json.dumps(t), f["code_verifier"], "the token file (the PKCE verifier)")


@test
def t_second_run_uses_kept_token(c):
    """The next run sends the kept access token from its first request: no registration, no browser."""
    m = c.oauth()
    first_run(c, m)
    since = m.mark()
    api2 = c.api()
    r = c.go(api2)
    c.ok(r)
    c.none_to(m, since, "/register", "/authorize", "/token")
    posts = m.mcp_posts(since)
    c.check(posts, "no MCP request in the second run")
    c.eq((posts[0]["rpc"], posts[0]["headers"].get("authorization"), posts[0]["status"]),
         ("initialize", "Bearer at-1", 200), "the second run's first MCP request")
    c.eq([q["n"] for q in posts if q["status"] == 401], [], "MCP requests answered 401 in the second run")
    c.has(c.whoami(api2), "WHOAMI token=at-1 ", "the tool's result")
    c.lacks(r.err, SIGN_IN, "stderr of the second run")
    c.eq(c.token_file().get("access_token"), "at-1", "access_token in the token file")
    c.no_problems(m)


@test
def t_expired_token_refreshed(c):
    """The kept access token is refused (401): the refresh token gets a new one (with resource and the
    client), the request is made again; no browser, no registration; the file holds the new tokens."""
    m = c.oauth()
    first_run(c, m)
    m.revoked.add("at-1")
    since = m.mark()
    api2 = c.api()
    r = c.go(api2)
    c.ok(r)
    posts = m.mcp_posts(since)
    c.eq((posts[0]["headers"].get("authorization"), posts[0]["status"]), ("Bearer at-1", 401),
         "the second run's first MCP request (the old token, refused)")
    c.none_to(m, since, "/register", "/authorize")
    tk = c.one(m, "/token", since)
    f = tk["form"] or {}
    c.eq(f.get("grant_type"), "refresh_token", "grant_type")
    c.eq(f.get("refresh_token"), "rt-1", "refresh_token")
    c.eq(f.get("resource"), m.url, "resource of the refresh")
    c.eq(f.get("client_id"), "client-1", "client_id of the refresh (auth method none)")
    c.eq(tk["status"], 200, "the token endpoint's answer")
    after = [q for q in posts if q["n"] > tk["n"]]
    c.check(after and after[0]["headers"].get("authorization") == "Bearer at-2",
            "the request after the refresh: expected Bearer at-2, got %r"
            % [(q["rpc"], q["headers"].get("authorization")) for q in after])
    c.has(c.whoami(api2), "WHOAMI token=at-2 ", "the tool's result")
    c.lacks(r.err, SIGN_IN, "stderr (no sign-in after a refresh)")
    t = c.token_file()
    c.eq((t.get("access_token"), t.get("refresh_token")), ("at-2", "rt-2"), "tokens in the file after the refresh")
    c.eq(os.stat(c.token_path()).st_mode & 0o777, 0o600, "mode of the token file after the refresh")
    c.no_problems(m)


@test
def t_refresh_refused_signs_in_again(c):
    """Access and refresh token both refused: the refresh fails, agent signs in again (the browser), with
    the client it registered before."""
    m = c.oauth()
    first_run(c, m)
    m.revoked.add("at-1")
    m.revoked_refresh.add("rt-1")
    since = m.mark()
    api2 = c.api()
    r = c.go(api2)
    c.ok(r)
    tks = m.reqs("/token", since)
    c.eq([((q["form"] or {}).get("grant_type"), q["status"]) for q in tks],
         [("refresh_token", 400), ("authorization_code", 200)], "token requests (grant_type, status)")
    c.eq(len(m.reqs("/authorize", since)), 1, "authorization requests in the second run")
    c.eq(m.reqs("/authorize", since)[0]["query"].get("client_id"), "client-1", "client_id (the kept one)")
    c.none_to(m, since, "/register")
    c.has(r.err, SIGN_IN, "stderr")
    c.has(c.whoami(api2), "WHOAMI token=at-2 ", "the tool's result")
    t = c.token_file()
    c.eq((t.get("access_token"), t.get("refresh_token")), ("at-2", "rt-2"), "tokens in the file")
    c.eq([q["n"] for q in m.reqs(None, since) if q["problems"] and q["path"] != "/token"], [],
         "requests the mock found wrong (besides the refused refresh)")
    c.no_token_elsewhere(m)


@test
def t_step_up_insufficient_scope(c):
    """tools/call answered 403 insufficient_scope, scope="mcp:admin": a second authorization asks for what
    was granted and what is asked; the call is made again and works."""
    m = c.oauth(need_scope="mcp:admin")
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    r = c.go(api)
    c.ok(r)
    azs = m.reqs("/authorize")
    c.eq(len(azs), 2, "authorization requests")
    c.eq(words(azs[0]["query"].get("scope")), {"mcp:read"}, "scope of the first authorization")
    c.check(words(azs[1]["query"].get("scope")) >= {"mcp:read", "mcp:admin"},
            "scope of the second authorization: expected mcp:read and mcp:admin, got %r"
            % azs[1]["query"].get("scope"))
    c.eq(azs[1]["query"].get("resource"), m.url, "resource of the second authorization")
    c.eq(len(m.reqs("/register")), 1, "registrations (the client is reused)")
    calls_ = [q for q in m.mcp_posts() if q["rpc"] == "tools/call"]
    c.eq([q["status"] for q in calls_], [403, 200], "statuses of tools/call")
    c.eq(calls_[-1]["headers"].get("authorization"), "Bearer at-2", "the retried tools/call's token")
    txt = c.whoami(api)
    c.has(txt, "WHOAMI token=at-2 ", "the tool's result")
    c.check(words(re.search(r"scope=(.*) client=", txt).group(1)) >= {"mcp:read", "mcp:admin"},
            "scope of the token the tool saw: %r" % txt)
    c.check(words(c.token_file().get("scope")) >= {"mcp:read", "mcp:admin"}, "scope in the token file: %r"
            % c.token_file().get("scope"))
    c.no_problems(m)


@test
def t_step_up_gives_up(c):
    """A scope the authorization server never grants: at most 3 authorizations in a row without a success,
    then the call fails (an error result, the server stays), and agent ends."""
    m = c.oauth(need_scope="mcp:never", grantable={"mcp:read", "mcp:admin"})
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    r = c.go(api)
    c.ok(r)
    azs = m.reqs("/authorize")
    c.check(2 <= len(azs) <= 4, "authorization requests: expected the first and 1 to 3 step-ups, got %d"
            % len(azs))
    b = c.result(api, 1, "toolu_w1")
    c.is_err(b, "the whoami result")
    c.lacks(rtext(b), "WHOAMI", "the whoami result")
    c.check(all(q["status"] == 403 for q in m.mcp_posts() if q["rpc"] == "tools/call"), "a tools/call passed")
    c.has(rtext(b), "403", "the whoami result says the server refused it")
    c.lacks(r.err, "agent: MCP server 'srv' failed", "stderr: the refused call fails, the server (up and listed) stays")
    # the AS granted only mcp:read each time (its answers say so): the file should not claim more
    last = [q for q in m.reqs("/token") if q["status"] == 200][-1]
    granted = m.tokens["at-%d" % m.issued]["scope"]
    c.eq(words(c.token_file().get("scope")), words(granted),
         "scope in the token file vs the scope the last token answer (request %d) granted" % last["n"])


def _refused(c, resource, why_in_err=("no credentials are sent",)):
    m = c.oauth()
    m.prm_resource = resource(m)
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    r = c.go(api)
    c.notes.append("exit code of the run: %r" % r.rc)
    c.ok(r, 0)
    c.eq([q["path"] for q in m.reqs("/.well-known/oauth-protected-resource/mcp")],
         ["/.well-known/oauth-protected-resource/mcp"], "protected-resource metadata requests")
    c.none_to(m, 0, "/register", "/authorize", "/token")
    fl = [ln for ln in r.err.split("\n") if ln.startswith("agent: MCP server 'srv' failed")]
    c.eq(len(fl), 1, "stderr lines \"agent: MCP server 'srv' failed...\" (%r)" % r.err)
    for w in why_in_err:
        c.has(fl[0], w, "the failure line")
    c.has(fl[0], m.prm_resource, "the failure line (names the metadata's resource)")
    c.lacks(r.err, SIGN_IN, "stderr")
    c.check(TOOL not in c.tools_of(api, 0), "the refused server's tool is offered")
    c.is_err(c.result(api, 1, "toolu_w1"), "a call to the refused server's tool")
    c.check(not os.path.exists(c.token_path()), "a token file was written")


@test
def t_resource_mismatch_refused(c):
    """The protected-resource metadata is for another path of the same origin: refused before any request
    with credentials; the server fails, the run still ends normally (exit 0), no token file."""
    _refused(c, lambda m: m.base + "/other")


@test
def t_resource_other_origin_refused(c):
    _refused(c, lambda m: "http://localhost:%d/mcp" % m.port)


@test
def t_resource_partial_segment_refused(c):
    """"/mc" is a prefix of "/mcp" as a string, not as a path."""
    _refused(c, lambda m: m.base + "/mc")


@test
def t_resource_parent_path_accepted(c):
    """A resource above the server's path covers it: the sign-in goes on, with that resource."""
    m = c.oauth()
    m.prm_resource = m.base + "/"
    api, r = first_run(c, m)
    c.eq(c.one(m, "/authorize")["query"].get("resource"), m.base + "/", "resource of the authorization")
    c.eq((c.one(m, "/token")["form"] or {}).get("resource"), m.base + "/", "resource of the token request")
    c.no_problems(m)


@test
def t_discovery_without_resource_metadata(c):
    """A challenge without resource_metadata, the metadata only at the root: agent tries the path one, then the
    root one."""
    m = c.oauth(www_rm=False, prm_at="root")
    api, r = first_run(c, m)
    prm = [(q["path"], q["status"]) for q in m.reqs() if q["path"].startswith("/.well-known/oauth-protected")]
    c.eq(prm, [("/.well-known/oauth-protected-resource/mcp", 404), ("/.well-known/oauth-protected-resource", 200)],
         "protected-resource metadata requests")
    c.eq(len(m.reqs("/authorize")), 1, "authorization requests")


@test
def t_client_credentials_basic(c):
    """oauth.grant client_credentials: the token by client_credentials with Basic id:secret, no browser, no
    registration (the authorization server has none); the config from --mcp-config."""
    m = c.oauth(registration=False, grant_types=["client_credentials"], auth_methods=["client_secret_basic"],
                clients={"cc-client": {"secret": "cc-secret-42", "method": "client_secret_basic",
                                       "redirect_uris": [], "grant_types": ["client_credentials"]}})
    cfg = c.write(os.path.join(c.root, "mcp.json"), json.dumps({"mcpServers": {"srv": entry(
        m, grant="client_credentials", clientId="cc-client", clientSecret="cc-secret-42")}}))
    api = c.api()
    r = c.go(api, args=["--mcp-config", cfg])
    c.ok(r)
    c.none_to(m, 0, "/register", "/authorize")
    tk = c.one(m, "/token")
    auth = tk["headers"].get("authorization", "")
    c.check(auth.startswith("Basic "), "the token request's Authorization: expected Basic, got %r" % auth)
    c.eq(base64.b64decode(auth[6:]).decode("utf-8", "replace"), "cc-client:cc-secret-42", "the Basic credentials")
    f = tk["form"] or {}
    c.eq(f.get("grant_type"), "client_credentials", "grant_type")
    c.eq(f.get("resource"), m.url, "resource")
    c.check("client_secret" not in f, "client_secret in the form as well: %r" % f)
    c.check("code_verifier" not in f and "code" not in f, "authorization-code fields in the form: %r" % f)
    c.eq(tk["status"], 200, "the token endpoint's answer")
    c.lacks(r.err, SIGN_IN, "stderr")
    c.has(c.whoami(api), "WHOAMI token=at-1 ", "the tool's result")
    c.eq(c.token_file().get("access_token"), "at-1", "access_token in the token file")
    c.no_problems(m)


@test
def t_configured_client_no_registration(c):
    """oauth.clientId and clientSecret configured: no registration; the authorization with that client_id and
    the code exchange authenticated with Basic."""
    m = c.oauth(clients={"pre-client": {"secret": "pre-secret", "method": "client_secret_basic",
                                        "redirect_uris": None, "grant_types": ["authorization_code"]}})
    c.mcp_json({"srv": entry(m, clientId="pre-client", clientSecret="pre-secret")})
    api = c.api()
    r = c.go(api)
    c.ok(r)
    c.none_to(m, 0, "/register")
    c.eq(c.one(m, "/authorize")["query"].get("client_id"), "pre-client", "client_id of the authorization")
    tk = c.one(m, "/token")
    auth = tk["headers"].get("authorization", "")
    c.check(auth.startswith("Basic "), "the token request's Authorization: expected Basic, got %r" % auth)
    c.eq(base64.b64decode(auth[6:]).decode("utf-8", "replace"), "pre-client:pre-secret", "the Basic credentials")
    c.check("client_secret" not in (tk["form"] or {}), "client_secret in the form as well")
    c.has(c.whoami(api), "WHOAMI token=at-1 ", "the tool's result")
    c.no_problems(m)


def _timeout(c, protect):
    m = c.oauth(protect=protect)
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    r = c.go(api, browser=False, extra={"MCP_OAUTH_TIMEOUT": "1500"})
    c.notes.append("exit code of the run: %r" % r.rc)
    c.ok(r, 0)
    c.check(r.elapsed < 8, "the run took %.1f s with MCP_OAUTH_TIMEOUT=1500" % r.elapsed)
    url = printed_url(c, r.err)
    c.check(url.startswith(m.base + "/authorize?"), "the printed address: %r" % url)
    c.none_to(m, 0, "/authorize", "/token")
    c.has(r.err, "not finished", "stderr")
    c.check(not os.path.exists(c.token_path()), "a token file was written")
    b = c.result(api, 1, "toolu_w1")
    c.is_err(b, "the whoami result")
    return m, api, r, b


@test
def t_no_browser_times_out(c):
    """No BROWSER and nobody signs in: the address on stderr, then after MCP_OAUTH_TIMEOUT a failure that
    says the sign-in was not finished; the tool call is an error."""
    _timeout(c, "all")


@test
def t_no_browser_times_out_during_call(c):
    """Only tools/call needs a token: the tool is listed; the call waits for the sign-in, which times out: the
    call's error result says so."""
    m, api, r, b = _timeout(c, "call")
    c.check(TOOL in c.tools_of(api, 0), "%s is not offered" % TOOL)
    c.has(rtext(b), "not finished", "the whoami error result")


@test
def t_callback_wrong_state_then_right(c):
    """Playing the browser by hand: a redirect with another state is turned away (and the wait goes on),
    then the right one signs in."""
    m = c.oauth()
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    p, err, finish = c.interactive(api, subprocess.DEVNULL, extra={"MCP_OAUTH_TIMEOUT": "20000"})
    url = c.wait_for(err, re.escape(SIGN_IN) + r"[^\n]*:\n  (\S+)\n", "the sign-in address").group(1)
    st, loc = get(url)
    c.eq(st, 302, "the authorization server's answer")
    lu = urllib.parse.urlsplit(loc)
    bad = urllib.parse.urlunsplit(("http", "127.0.0.1:%d" % lu.port, lu.path, "code=forged&state=not-yours", ""))
    conn = http.client.HTTPConnection("127.0.0.1", lu.port, timeout=10)
    conn.request("GET", lu.path + "?code=forged&state=not-yours")
    resp = conn.getresponse()
    page = resp.read().decode("utf-8", "replace")
    conn.close()
    c.notes.append("wrong-state GET %s: %s %r" % (bad, resp.status, page))
    c.has(page, "not the answer", "agent's page for a wrong state")
    c.check(p.poll() is None, "agent ended after the wrong state")
    c.eq(m.reqs("/token"), [], "token requests after the wrong state")
    st2, _ = get(loc)
    c.eq(st2, 200, "agent's listener's answer to the right redirect")
    r = finish()
    c.ok(r)
    c.eq((c.one(m, "/token")["form"] or {}).get("code"), urllib.parse.parse_qs(lu.query)["code"][0],
         "the code exchanged")
    c.has(c.whoami(api), "WHOAMI token=at-1 ", "the tool's result")
    c.no_problems(m)


@test
def t_pasted_address_on_a_terminal(c):
    """stdin a terminal (a pty), no BROWSER: the sign-in message asks for the address the browser ends at; a
    pasted address with another state is turned away, the right one signs in."""
    m = c.oauth()
    c.mcp_json({"srv": entry(m)})
    api = c.api()
    master, slave = os.openpty()
    echo = []

    def drain():                 # what the terminal shows (the echo of what is typed)
        while True:
            try:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    d = os.read(master, 4096)
                    if not d:
                        return
                    echo.append(d)
            except OSError:
                return

    try:
        p, err, finish = c.interactive(api, slave, extra={"MCP_OAUTH_TIMEOUT": "20000"})
        os.close(slave)
        slave = None
        threading.Thread(target=drain, daemon=True).start()
        mt = c.wait_for(err, re.escape(SIGN_IN) + r"([^\n]*):\n  (\S+)\n", "the sign-in address")
        c.has(mt.group(1), "paste", "the sign-in line on a terminal (says an address may be pasted)")
        st, loc = get(mt.group(2))
        c.eq(st, 302, "the authorization server's answer")
        lu = urllib.parse.urlsplit(loc)
        os.write(master, ("%s://%s%s?code=forged&state=not-yours\n" % (lu.scheme, lu.netloc, lu.path)).encode())
        c.wait_for(err, r"holds no code", "agent's answer to a pasted address with another state")
        c.check(p.poll() is None, "agent ended after the wrong address")
        os.write(master, (loc + "\n").encode())
        r = finish()
        c.notes.append("terminal: %r" % clip(b"".join(echo).decode("utf-8", "replace"), 600))
        c.ok(r)
        c.eq((c.one(m, "/token")["form"] or {}).get("code"), urllib.parse.parse_qs(lu.query)["code"][0],
             "the code exchanged")
        c.has(c.whoami(api), "WHOAMI token=at-1 ", "the tool's result")
        c.eq(c.token_file().get("access_token"), "at-1", "access_token in the token file")
        c.no_problems(m)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
