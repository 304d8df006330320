"""Claude on Google Vertex AI, end to end: the real static binary against test/mock_api.py playing the Vertex
endpoint (…/publishers/anthropic/models/MODEL:streamRawPredict, answered in the Messages API's own SSE) and a
mock Google on 127.0.0.1 that plays the OAuth token endpoint and the GCE metadata server. The token endpoint
checks every service account's JWT itself: header and claims decoded here, the RS256 signature verified with
the openssl command line tool against a key pair made for the run (PKCS#8 and PKCS#1). Nothing leaves the
machine: GCE_METADATA_HOST always names the mock or a 127.0.0.1 port that refuses connections.
Usage: python3 test/e2e_vertex.py --agent ./agent [--filter S]
"""
import atexit
import base64
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import Skip, bash, rtext, say  # noqa: E402

suite = e2e_lib.Suite("vertex")
test = suite.test

REGION = "us-east5"
PROJECT = "test-project"
MODEL_DEFAULT = "claude-sonnet-4-5@20250929"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SA_EMAIL = "agent-test@test-project.iam.gserviceaccount.com"
CLIENT_ID = "764086051850-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-client-SECRET-d3adb33f"
REFRESH_TOKEN = "1//0refresh-SECRET-token-5eed"
ENV_DUMP = "env; cat /proc/self/environ | tr '\\0' '\\n'"


# -- RSA keys, made once per run with openssl ----------------------------------------------------------

_KEYS = {}
_KEYS_LOCK = threading.Lock()


def keys():
    """{name: path}: a (PKCS#8) and a1 (the same key as PKCS#1), a.pub; b (another key, PKCS#8), b.pub."""
    with _KEYS_LOCK:
        if not _KEYS:
            if not shutil.which("openssl"):
                raise Skip("no openssl command line tool", peer=True)
            d = tempfile.mkdtemp(prefix="agent-e2e-vertex-keys-")
            atexit.register(shutil.rmtree, d, True)
            for k in ("a", "b"):
                p = os.path.join(d, k + ".pem")
                subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                                "-out", p], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                subprocess.run(["openssl", "pkey", "-in", p, "-pubout", "-out", os.path.join(d, k + ".pub")],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["openssl", "rsa", "-in", os.path.join(d, "a.pem"), "-traditional",
                            "-out", os.path.join(d, "a1.pem")], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            for k in ("a", "a1", "b"):
                _KEYS[k] = os.path.join(d, k + ".pem")
            for k in ("a", "b"):
                _KEYS[k + ".pub"] = os.path.join(d, k + ".pub")
    return _KEYS


def pem(name):
    with open(keys()[name]) as f:
        return f.read()


def key_secret(name):
    """A distinctive piece of the private key's base64 (a whole line from its middle)."""
    lines = pem(name).strip().split("\n")
    return lines[len(lines) // 2]


# -- the JWT, checked here -------------------------------------------------------------------------------

def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_check(assertion, accounts, token_uri, tmp):
    """(None, claims) when assertion is a good RS256 JWT of one of accounts ({kid: (public key path,
    client_email)}), else (kind, why): kind "signature" (unknown kid, or the signature does not verify) or
    "claims" (the form, the header or the claims are wrong)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return "claims", "not three dot-separated parts: %r" % assertion[:80]
    for p in parts:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", p):
            return "claims", "a part is not base64url without padding: %r" % p[:80]
    try:
        header, claims = json.loads(b64url_dec(parts[0])), json.loads(b64url_dec(parts[1]))
        sig = b64url_dec(parts[2])
    except ValueError as e:
        return "claims", "header or claims not JSON: %s" % e
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return "claims", "header or claims not an object"
    if header.get("kid") not in accounts:
        return "signature", "unknown kid %r" % header.get("kid")
    pub, email = accounts[header["kid"]]
    fd, sig_path = tempfile.mkstemp(dir=tmp, suffix=".sig")
    with os.fdopen(fd, "wb") as f:
        f.write(sig)
    fd, in_path = tempfile.mkstemp(dir=tmp, suffix=".txt")
    with os.fdopen(fd, "wb") as f:
        f.write((parts[0] + "." + parts[1]).encode())
    v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig_path, in_path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if v.returncode != 0:
        return "signature", "openssl dgst -verify: %s" % " | ".join(v.stdout.decode(errors="replace").split("\n"))[:200]
    want = {"alg": "RS256", "typ": "JWT", "kid": header.get("kid")}
    if {k: header.get(k) for k in want} != want:
        return "claims", "header %r" % header
    now = time.time()
    for k, w in (("iss", email), ("scope", SCOPE), ("aud", token_uri)):
        if claims.get(k) != w:
            return "claims", "%s is %r, not %r" % (k, claims.get(k), w)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or abs(iat - now) > 60:
        return "claims", "iat %r is not within 60 s of now (%d)" % (iat, now)
    if exp != iat + 3600:
        return "claims", "exp %r is not iat + 3600 (%r)" % (exp, iat)
    return None, claims


class Google:
    """A mock OAuth token endpoint (POST /token) and GCE metadata server (GET /computeMetadata/v1/...).
    accounts: {kid: (public key path, client_email)}; users: {client_id: (secret, refresh)}.
    Every token it hands out is "ya29.TOKEN-n" (n from 1) with expires_in self.expires_in; each is appended
    to timeline as ("token", tok) (the API server appends ("api", authorization) there too)."""

    def __init__(self, timeline, lock, tmp, expires_in=3600, project="meta-project"):
        self.timeline, self.lock, self.tmp = timeline, lock, tmp
        self.expires_in = expires_in
        self.project = project
        self.accounts = {}
        self.users = {}
        self.hits = []          # {method, path, headers, form, status, why}
        self.issued = []
        google = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body, ctype="application/json", why=None, form=None):
                data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
                with google.lock:
                    google.hits.append({"method": self.command, "path": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "form": form, "status": status, "why": why})
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.send_header("metadata-flavor", "Google")
                self.end_headers()
                self.wfile.write(data)

            def _issue(self, form=None):
                with google.lock:
                    tok = "ya29.TOKEN-%d" % (len(google.issued) + 1)
                    google.issued.append(tok)
                    google.timeline.append(("token", tok))
                self._send(200, {"access_token": tok, "expires_in": google.expires_in, "token_type": "Bearer"},
                           form=form)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if not path.startswith("/computeMetadata/v1/"):
                    return self._send(404, "not found", "text/html")
                if self.headers.get("metadata-flavor") != "Google":
                    return self._send(403, "Missing required header: Metadata-Flavor", "text/html",
                                      why="no metadata-flavor: Google")
                if path == "/computeMetadata/v1/instance/service-accounts/default/token":
                    return self._issue()
                if path == "/computeMetadata/v1/project/project-id":
                    return self._send(200, google.project, "application/text")
                self._send(404, "not found", "text/html")

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n).decode("utf-8", "replace")
                if self.path != "/token":
                    return self._send(404, {"error": "not_found"})
                ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
                try:
                    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True,
                                                                      strict_parsing=True).items()}
                except ValueError:
                    form = None
                if ctype != "application/x-www-form-urlencoded" or form is None:
                    return self._send(400, {"error": "invalid_request",
                                            "error_description": "mock: not a form (content-type %r)" % ctype},
                                      why="content-type %r, body %r" % (ctype, raw[:200]), form=form)
                grant = form.get("grant_type")
                if grant == JWT_GRANT:
                    token_uri = "http://127.0.0.1:%d/token" % google.port
                    kind, why = jwt_check(form.get("assertion", ""), google.accounts, token_uri, google.tmp)
                    if kind is None:
                        return self._issue(form)
                    if kind == "signature":
                        return self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                          why=why, form=form)
                    return self._send(400, {"error": "invalid_grant", "error_description": "mock: bad JWT: %s" % why},
                                      why=why, form=form)
                if grant == "refresh_token":
                    u = google.users.get(form.get("client_id"))
                    if u is None or u != (form.get("client_secret"), form.get("refresh_token")):
                        return self._send(400, {"error": "invalid_grant",
                                                "error_description": "Token has been expired or revoked."},
                                          why="unknown client or refresh token", form=form)
                    return self._issue(form)
                self._send(400, {"error": "unsupported_grant_type",
                                 "error_description": "Invalid grant_type: %s" % grant}, why="grant", form=form)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def token_uri(self):
        return "http://127.0.0.1:%d/token" % self.port

    def tokens(self):
        """The token endpoint's and metadata server's successful token answers so far (hits)."""
        return [h for h in self.hits if h["status"] == 200 and (h["path"] == "/token" or h["path"].startswith(
            "/computeMetadata/v1/instance/service-accounts/default/token"))]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-vertex-"

    def __init__(self, agent, name):
        super().__init__(agent, name)
        self.timeline = []
        self.tl_lock = threading.Lock()
        self.googles = []
        self.closed = []

    def google(self, **kw):
        g = Google(self.timeline, self.tl_lock, self.root, **kw)
        self.notes.append("mock google on port %d" % g.port)
        self.googles.append(g)
        return g

    def closed_host(self):
        """127.0.0.1:PORT where nothing listens: a socket bound there but never listening (connections refused)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        self.closed.append(s)
        return "127.0.0.1:%d" % s.getsockname()[1]

    def api(self, script):
        """The Vertex endpoint: a mock_api server whose every answer records ("api", authorization) first."""
        def note(req):
            with self.tl_lock:
                self.timeline.append(("api", req["headers"].get("authorization")))
        return self.server([dict(s, on_request=note) for s in script])

    def sa_file(self, google, key="a", kid="kid-a", pub="a.pub", email=SA_EMAIL, project="sa-project", name="sa.json"):
        """A service account key file with private key `key`; google learns the account (kid -> pub)."""
        if google is not None:
            google.accounts[kid] = (keys()[pub], email)
        d = {"type": "service_account", "project_id": project, "private_key_id": kid, "private_key": pem(key),
             "client_email": email, "client_id": "1234567890",
             "auth_uri": "https://accounts.google.com/o/oauth2/auth",
             "token_uri": google.token_uri if google else "http://%s/token" % self.closed_host()}
        if project is None:
            del d["project_id"]
        return self.write(os.path.join(self.root, name), json.dumps(d, indent=2))

    def user_file(self, google, path=None, client_id=CLIENT_ID, secret=CLIENT_SECRET, refresh=REFRESH_TOKEN,
                  quota="quota-project", known=True):
        """An authorized_user file (gcloud auth application-default login) at path (default: in HOME's gcloud)."""
        if known and google is not None:
            google.users[client_id] = (secret, refresh)
        d = {"type": "authorized_user", "client_id": client_id, "client_secret": secret, "refresh_token": refresh,
             "token_uri": google.token_uri if google else "http://%s/token" % self.closed_host()}
        if quota is not None:
            d["quota_project_id"] = quota
        path = path or os.path.join(self.home, ".config", "gcloud", "application_default_credentials.json")
        return self.write(path, json.dumps(d, indent=2))

    def teardown(self):
        for g in self.googles:
            g.stop()
        for s in self.closed:
            s.close()

    def vertex(self, api, args=(), env=None, prompt="do the task", google=None):
        """agent [-p PROMPT] ARGS for Vertex at api: region us-east5, project test-project, the metadata server at
        google (else a closed port). env: more variables (None removes one)."""
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
             "XDG_STATE_HOME": os.path.join(self.home, "state"), "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
             "CLAUDE_CODE_USE_VERTEX": "1", "CLOUD_ML_REGION": REGION, "ANTHROPIC_VERTEX_PROJECT_ID": PROJECT,
             "ANTHROPIC_VERTEX_BASE_URL": "http://127.0.0.1:%d/v1" % api.port,
             "GCE_METADATA_HOST": google.host if google else self.closed_host(),
             "ANTHROPIC_MAX_RETRIES": "0", "NO_COLOR": "1"}
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        self.notes.append("run %d env: %s" % (len(self.runs) + 1, " ".join(
            "%s=%s" % kv for kv in sorted(e.items()) if kv[0] not in ("PATH", "HOME", "XDG_STATE_HOME",
                                                                      "XDG_CONFIG_HOME", "NO_COLOR"))))
        argv = [self.agent] + (["-p", prompt] if prompt is not None else []) + list(args)
        return self.spawn(argv, e, api)

    def req(self, api, i, token=None, project=PROJECT, model=MODEL_DEFAULT, region=REGION):
        """(headers, body) of API request i, its path, method and headers checked (token: the bearer expected;
        False: no authorization header at all)."""
        self.check(i < len(api.requests), "API request %d was never made (%d requests)" % (i, len(api.requests)))
        q = api.requests[i]
        want = "/v1/projects/%s/locations/%s/publishers/anthropic/models/%s:streamRawPredict" % (project, region, model)
        self.eq((q["method"], q["path"].replace("%40", "@")), ("POST", want), "API request %d method and path" % i)
        hd = q["headers"]
        self.eq(hd.get("content-type", "").split(";")[0].strip(), "application/json", "request %d content-type" % i)
        if token is False:
            self.check("authorization" not in hd, "request %d: an authorization header: %r" % (i, hd.get("authorization")))
        elif token is not None:
            self.eq(hd.get("authorization"), "Bearer " + token, "request %d authorization" % i)
        body = q["body"]
        self.check(isinstance(body, dict), "request %d body is not JSON: %r" % (i, e2e_lib.clip(body, 300)))
        return hd, body

    def token_hits(self, google, since=0):
        return google.tokens()[since:]

    def secrets_absent(self, secrets, where):
        """Each of secrets appears in none of where ({what: text}) and no file under $XDG_STATE_HOME."""
        texts = dict(where)
        state = os.path.join(self.home, "state")
        sessions = 0
        for root, _, files in os.walk(state):
            for f in files:
                p = os.path.join(root, f)
                sessions += os.sep + "sessions" + os.sep in p
                with open(p, errors="replace") as fh:
                    texts["state file %s" % os.path.relpath(p, state)] = fh.read()
        self.check(sessions, "no session file under %s/agent/sessions: the check would prove nothing" % state)
        for s in secrets:
            for what, text in texts.items():
                self.lacks(text, s, what)

    def more_diagnostics(self):
        lines = ["timeline: %r" % self.timeline]
        for g in self.googles:
            lines.append("google (port %d): %d requests" % (g.port, len(g.hits)))
            for h in g.hits:
                lines.append("  %s %s -> %d%s form %s" % (h["method"], h["path"], h["status"],
                                                          " (%s)" % h["why"] if h["why"] else "",
                                                          e2e_lib.clip(json.dumps(h["form"]), 400)))
        return lines


def results(body):
    return [b for m in body["messages"] if isinstance(m.get("content"), list) for b in m["content"]
            if b.get("type") == "tool_result"]


def out_err(r, n=300):
    return "exit code and stdout (stderr %r)" % r.err[-n:]


def failed(c, r, what):
    """A run that must end with an error: a non-zero exit code (not a timeout)."""
    c.check(isinstance(r.rc, int) and r.rc != 0, "%s: expected a non-zero exit code, got %r" % (what, r.rc))


# -- the request ----------------------------------------------------------------------------------------

@test
def t_service_account_pkcs8(c):
    g = c.google()
    sa = c.sa_file(g)
    api = c.api([say("Hello from Vertex.")])
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.eq((r.rc, r.out), (0, "Hello from Vertex.\n"), out_err(r))
    c.nreq(api, 1)
    hd, body = c.req(api, 0, token="ya29.TOKEN-1")
    c.eq(body.get("anthropic_version"), "vertex-2023-10-16", "anthropic_version")
    c.eq(body.get("stream"), True, "stream")
    c.check("model" not in body, "a model key in the body: %r" % body.get("model"))
    c.check(body.get("messages") and body.get("max_tokens"), "the Messages body: %r" % sorted(body))
    c.has(json.dumps(body["messages"]), "do the task", "the prompt in messages")
    hits = c.token_hits(g)
    c.eq(len(hits), 1, "token requests")
    c.eq(hits[0]["form"].get("grant_type"), JWT_GRANT, "grant_type")
    c.check("x-api-key" not in hd, "an x-api-key header on Vertex")


@test
def t_service_account_pkcs1(c):
    g = c.google()
    sa = c.sa_file(g, key="a1", kid="kid-pkcs1")
    c.has(pem("a1"), "BEGIN RSA PRIVATE KEY", "the PKCS#1 key")
    api = c.api([say("signed with a PKCS#1 key")])
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.eq((r.rc, r.out), (0, "signed with a PKCS#1 key\n"), out_err(r))
    c.req(api, 0, token="ya29.TOKEN-1")
    c.eq(len(c.token_hits(g)), 1, "token requests")


@test
def t_authorized_user_refresh(c):
    g = c.google()
    c.user_file(g)
    api = c.api([say("as the signed-in user")])
    r = c.vertex(api, google=g)
    c.eq((r.rc, r.out), (0, "as the signed-in user\n"), out_err(r))
    c.req(api, 0, token="ya29.TOKEN-1")
    hits = c.token_hits(g)
    c.eq(len(hits), 1, "token requests")
    c.eq(hits[0]["form"], {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                           "refresh_token": REFRESH_TOKEN}, "the refresh request's form")


@test
def t_credentials_in_googles_order(c):
    g = c.google()
    sa = c.sa_file(g)
    cloudsdk = os.path.join(c.root, "gcloud-config")
    c.user_file(g, os.path.join(cloudsdk, "application_default_credentials.json"), client_id="cid-cloudsdk",
                refresh="refresh-cloudsdk")
    home_file = c.user_file(g, client_id="cid-home", refresh="refresh-home")
    api = c.api([say("one"), say("two"), say("three"), say("four")])
    steps = [("GOOGLE_APPLICATION_CREDENTIALS", {"GOOGLE_APPLICATION_CREDENTIALS": sa, "CLOUDSDK_CONFIG": cloudsdk},
              lambda h: h["form"].get("grant_type") == JWT_GRANT),
             ("$CLOUDSDK_CONFIG/application_default_credentials.json", {"CLOUDSDK_CONFIG": cloudsdk},
              lambda h: h["form"].get("client_id") == "cid-cloudsdk"),
             ("$HOME/.config/gcloud/application_default_credentials.json", {},
              lambda h: h["form"].get("client_id") == "cid-home"),
             ("the metadata server", {}, lambda h: h["path"].startswith("/computeMetadata/"))]
    for i, (what, env, used) in enumerate(steps):
        if i == 3:
            os.unlink(home_file)
        before = len(g.tokens())
        r = c.vertex(api, google=g, env=env)
        c.eq((r.rc, r.out), (0, ["one", "two", "three", "four"][i] + "\n"), "run %d (%s): %s" % (i + 1, what, out_err(r)))
        hits = c.token_hits(g, before)
        c.eq(len(hits), 1, "run %d (%s): token requests" % (i + 1, what))
        c.check(used(hits[0]), "run %d: the credentials of %s not used: %s %s %r" % (
            i + 1, what, hits[0]["method"], hits[0]["path"], hits[0]["form"]))
        c.req(api, i, token=g.issued[-1])


@test
def t_metadata_server(c):
    g = c.google(project="meta-project")
    api = c.api([say("from the metadata server")])
    r = c.vertex(api, google=g, env={"ANTHROPIC_VERTEX_PROJECT_ID": None})
    c.eq((r.rc, r.out), (0, "from the metadata server\n"), out_err(r))
    c.req(api, 0, token="ya29.TOKEN-1", project="meta-project")
    refused = [h for h in g.hits if h["status"] == 403]
    c.eq(refused, [], "metadata requests without metadata-flavor: Google")
    paths = sorted(set(h["path"].split("?")[0] for h in g.hits))
    c.eq(paths, ["/computeMetadata/v1/instance/service-accounts/default/token",
                 "/computeMetadata/v1/project/project-id"], "metadata paths asked for")


@test
def t_project_fallbacks(c):
    g = c.google(project="meta-project")
    sa = c.sa_file(g, project="sa-project")
    user = c.user_file(g, os.path.join(c.root, "user.json"), quota="quota-project")
    api = c.api([say("p%d" % i) for i in range(5)])
    env = {"GOOGLE_APPLICATION_CREDENTIALS": sa, "ANTHROPIC_VERTEX_PROJECT_ID": "p-anthropic",
           "GOOGLE_CLOUD_PROJECT": "p-google", "GCLOUD_PROJECT": "p-gcloud"}
    steps = [("ANTHROPIC_VERTEX_PROJECT_ID", "p-anthropic", None),
             ("GOOGLE_CLOUD_PROJECT", "p-google", "ANTHROPIC_VERTEX_PROJECT_ID"),
             ("GCLOUD_PROJECT", "p-gcloud", "GOOGLE_CLOUD_PROJECT"),
             ("the service account's project_id", "sa-project", "GCLOUD_PROJECT"),
             ("the authorized_user's quota_project_id", "quota-project", None)]
    for i, (what, want, drop) in enumerate(steps):
        if drop:
            env[drop] = None
        if i == 4:
            env["GOOGLE_APPLICATION_CREDENTIALS"] = user
        r = c.vertex(api, google=g, env=env)
        c.eq((r.rc, r.out), (0, "p%d\n" % i), "run %d (%s): %s" % (i + 1, what, out_err(r)))
        c.req(api, i, project=want)


@test
def t_provider_flag_model_and_skip_auth(c):
    g = c.google()
    api = c.api([say("flag"), say("env model")])
    env = {"CLAUDE_CODE_USE_VERTEX": None, "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1", "CLOUD_ML_REGION": "europe-west1",
           "GOOGLE_APPLICATION_CREDENTIALS": os.path.join(c.root, "never-read.json")}
    r = c.vertex(api, ["--provider", "vertex", "--model", "claude-opus-4-1@20250805"], google=g, env=env)
    c.eq((r.rc, r.out), (0, "flag\n"), "--provider vertex --model: " + out_err(r))
    c.req(api, 0, token=False, model="claude-opus-4-1@20250805", region="europe-west1")
    r = c.vertex(api, ["--provider", "vertex"], google=g, env=dict(env, ANTHROPIC_MODEL="claude-haiku-4-5@20251001"))
    c.eq((r.rc, r.out), (0, "env model\n"), "ANTHROPIC_MODEL: " + out_err(r))
    c.req(api, 1, token=False, model="claude-haiku-4-5@20251001", region="europe-west1")
    c.eq(g.hits, [], "requests to the token endpoint or metadata server with CLAUDE_CODE_SKIP_VERTEX_AUTH=1")


@test
def t_output_format_json(c):
    g = c.google()
    sa = c.sa_file(g)
    api = c.api([say("The answer is 42.")])
    r = c.vertex(api, ["--output-format", "json"], google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.ok(r)
    obj = c.json_out(r)
    c.eq((obj.get("type"), obj.get("subtype"), obj.get("is_error"), obj.get("result")),
         ("result", "success", False, "The answer is 42."), "type, subtype, is_error, result")
    c.req(api, 0, token="ya29.TOKEN-1")


# -- tokens over a session ------------------------------------------------------------------------------

@test
def t_token_cached_for_the_session(c):
    g = c.google(expires_in=3600)
    sa = c.sa_file(g)
    api = c.api([bash("toolu_v1", "echo cached"), say("one token")])
    r = c.vertex(api, ["--allowedTools", "Bash"], google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.eq((r.rc, r.out), (0, "one token\n"), out_err(r))
    c.nreq(api, 2)
    c.req(api, 0, token="ya29.TOKEN-1")
    _, body = c.req(api, 1, token="ya29.TOKEN-1")
    c.has(json.dumps(results(body)), "cached", "the Bash result")
    c.eq(len(c.token_hits(g)), 1, "token requests (one token serves the whole run)")


def refreshed_before_each_request(c, expires_in):
    """A run of two API requests (a Bash call between them) with tokens that end within 5 minutes: each request
    carries a token fetched just before it."""
    g = c.google(expires_in=expires_in)
    sa = c.sa_file(g)
    api = c.api([bash("toolu_v2", "echo refreshed"), say("two tokens")])
    r = c.vertex(api, ["--allowedTools", "Bash"], google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.eq((r.rc, r.out), (0, "two tokens\n"), out_err(r))
    c.nreq(api, 2)
    tl = list(c.timeline)
    # one fetch at start-up (to report bad credentials before the first question) may come first
    if tl[:2] and tl[0][0] == tl[1][0] == "token":
        tl = tl[1:]
        c.ok_lines.append("# one more token fetched at start-up, before the first request's own")
    c.eq([k for k, _ in tl], ["token", "api", "token", "api"], "token fetches and API requests with expires_in %d,"
         " in order (one fresh token before each request)" % expires_in)
    c.eq(tl[1][1], "Bearer " + tl[0][1], "the first request's token (the one just fetched)")
    c.eq(tl[3][1], "Bearer " + tl[2][1], "the second request's token (the one just fetched)")
    c.check(tl[0][1] != tl[2][1], "the same token twice: %r" % tl)
    _, body = c.req(api, 1, token=g.issued[-1])
    c.has(json.dumps(results(body)), "refreshed", "the Bash result")


@test
def t_expiry_and_refresh_mid_session(c):
    refreshed_before_each_request(c, 120)


@test
def t_token_of_exactly_5_minutes_refreshed(c):
    refreshed_before_each_request(c, 300)


@test
def t_overloaded_and_rate_limited_retried(c):
    g = c.google()
    sa = c.sa_file(g)
    fast = {"retry-after-ms": "20"}
    api = c.api([{"status": 529, "headers": fast,
                  "json": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}},
                 say("after an overload"),
                 {"status": 429, "headers": fast,
                  "json": {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                     "message": "Quota exceeded for aiplatform.googleapis.com/"
                                                "online_prediction_requests_per_base_model."}}},
                 say("after a rate limit")])
    env = {"GOOGLE_APPLICATION_CREDENTIALS": sa, "ANTHROPIC_MAX_RETRIES": "1"}
    r = c.vertex(api, google=g, env=env)
    c.eq((r.rc, r.out), (0, "after an overload\n"), "529 then 200: " + out_err(r))
    c.nreq(api, 2, " after a 529 (one retry)")
    r = c.vertex(api, google=g, env=env)
    c.eq((r.rc, r.out), (0, "after a rate limit\n"), "429 then 200: " + out_err(r))
    c.nreq(api, 4, " after a 429 (one retry)")
    for i in range(4):
        c.req(api, i, token="ya29.TOKEN-%d" % (1 + i // 2))


# -- errors -----------------------------------------------------------------------------------------------

@test
def t_missing_region_or_project(c):
    api = c.api([])
    r = c.vertex(api, env={"CLOUD_ML_REGION": None, "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1"})
    failed(c, r, "no CLOUD_ML_REGION")
    c.has(r.err, "CLOUD_ML_REGION", "stderr without a region")
    g = c.google()
    user = c.user_file(g, os.path.join(c.root, "user.json"), quota=None)
    r = c.vertex(api, env={"ANTHROPIC_VERTEX_PROJECT_ID": None, "GOOGLE_APPLICATION_CREDENTIALS": user})
    failed(c, r, "no project anywhere")
    c.has(r.err, "ANTHROPIC_VERTEX_PROJECT_ID", "stderr without a project")
    c.nreq(api, 0)


@test
def t_no_credentials(c):
    api = c.api([])
    r = c.vertex(api)
    failed(c, r, "no credentials at all")
    c.check("no google credentials" in r.err.lower(), "stderr: expected 'no Google credentials', got %r" % r.err[-400:])
    c.has(r.err, "GOOGLE_APPLICATION_CREDENTIALS", "stderr (what to set)")
    c.has(r.err, "application_default_credentials.json", "stderr (where it looked)")
    missing = os.path.join(c.root, "keys", "missing-sa.json")
    r = c.vertex(api, env={"GOOGLE_APPLICATION_CREDENTIALS": missing})
    failed(c, r, "GOOGLE_APPLICATION_CREDENTIALS naming a missing file")
    c.has(r.err, missing, "stderr (the missing file)")
    c.nreq(api, 0)


@test
def t_unsupported_credentials_type(c):
    g = c.google()
    api = c.api([])
    p = c.write(os.path.join(c.root, "wif.json"), json.dumps({
        "type": "external_account", "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": g.token_uri,
        "credential_source": {"file": "/nonexistent/token"}}))
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": p})
    failed(c, r, "an external_account file")
    c.has(r.err, "external_account", "stderr (the unsupported type)")
    c.nreq(api, 0)


@test
def t_token_endpoint_refuses(c):
    g = c.google()
    bad = c.sa_file(g, key="b", kid="kid-a", pub="a.pub")       # signed with b, checked against a's public key
    api = c.api([say("never")])
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": bad})
    failed(c, r, "a JWT with a bad signature")
    c.has(r.err, "Invalid JWT Signature.", "stderr (the token endpoint's error_description)")
    c.eq([h["why"] for h in g.hits if h["status"] != 200 and not (h["why"] or "").startswith("openssl")], [],
         "token requests refused for other reasons than the signature")
    user = c.user_file(g, os.path.join(c.root, "user.json"), known=False)
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": user})
    failed(c, r, "a revoked refresh token")
    c.has(r.err, "Token has been expired or revoked.", "stderr (the token endpoint's error_description)")
    c.nreq(api, 0)


@test
def t_model_not_found(c):
    g = c.google()
    sa = c.sa_file(g)
    api = c.api([{"status": 404, "json": {"error": {"code": 404, "message": "Requested entity was not found.",
                                                    "status": "NOT_FOUND"}}}])
    r = c.vertex(api, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa, "ANTHROPIC_MODEL": "claude-nope@20990101"})
    failed(c, r, "a 404 from Vertex")
    c.has(r.err, "claude-nope@20990101", "stderr (the model id)")
    c.req(api, 0, model="claude-nope@20990101")


# -- secrets and --status -----------------------------------------------------------------------------------

@test
def t_secrets_kept_out(c):
    g = c.google()
    sa = c.sa_file(g)
    c.user_file(g, os.path.join(c.root, "user.json"))
    api = c.api([bash("toolu_s1", ENV_DUMP), say("sa done"), bash("toolu_s2", ENV_DUMP), say("user done")])
    args = ["--allowedTools", "Bash", "--verbose"]
    r1 = c.vertex(api, args, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": sa})
    c.eq((r1.rc, r1.out), (0, "sa done\n"), "service account: " + out_err(r1))
    r2 = c.vertex(api, args, google=g, env={"GOOGLE_APPLICATION_CREDENTIALS": os.path.join(c.root, "user.json")})
    c.eq((r2.rc, r2.out), (0, "user done\n"), "authorized_user: " + out_err(r2))
    c.nreq(api, 4)
    where = {}
    for run, (r, i) in enumerate(((r1, 1), (r2, 3))):
        _, body = c.req(api, i, token=g.issued[run])
        out = "\n".join(rtext(b) for b in results(body))
        c.check(out.count("PATH=") >= 2, "the output of env and of /proc/self/environ (run %d): %r"
                % (run + 1, e2e_lib.clip(out, 600)))
        where["Bash's environment (sent to the model), run %d" % (run + 1)] = out
        where["stderr with --verbose, run %d" % (run + 1)] = r.err
        c.check("authorization" in r.err.lower(), "--verbose shows no authorization header (run %d): %r"
                % (run + 1, r.err[-600:]))
    c.secrets_absent([key_secret("a"), CLIENT_SECRET, REFRESH_TOKEN] + g.issued + ["ya29.TOKEN"], where)


@test
def t_status_names_the_source(c):
    g = c.google()
    sa = c.sa_file(g)
    user = c.user_file(g, os.path.join(c.root, "user.json"))
    api = c.api([say("x"), say("x"), say("x")])
    for what, env, want in (("service account", {"GOOGLE_APPLICATION_CREDENTIALS": sa}, SA_EMAIL),
                            ("authorized_user", {"GOOGLE_APPLICATION_CREDENTIALS": user}, "authorized_user"),
                            ("metadata server", {}, "metadata")):
        before = len(g.issued)
        r = c.vertex(api, ["--status"], prompt=None, google=g, env=env)
        c.eq(r.rc, 0, "exit code of --status with a %s (stderr %r)" % (what, r.err[-300:]))
        c.has(r.out, want, "--status with a %s" % what)
        c.check(len(g.issued) > before, "--status with a %s fetched no token" % what)
        for tok in g.issued[before:]:
            c.lacks(r.out + r.err, tok, "--status output with a %s (the token)" % what)


if __name__ == "__main__":
    sys.exit(suite.main(__doc__, Ctx))
