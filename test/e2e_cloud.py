"""Claude on Amazon Bedrock, end to end: the real static binary against a mock Bedrock runtime on 127.0.0.1
that checks every request's AWS Signature Version 4 itself (an independent implementation: hashlib and hmac,
the canonical URI encoded once more as AWS does) and answers in the application/vnd.amazon.eventstream
framing it encodes itself (zlib.crc32). The same server plays the EC2 instance metadata service (IMDSv2) and
the container credentials endpoint. Usage: python3 test/e2e_cloud.py --agent ./agent [--filter S]
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import struct
import sys
import threading
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import Fail  # noqa: E402

suite = e2e_lib.Suite("cloud")
test = suite.test

KEY = ("AKIDTESTBEDROCK1", "secret/Test+Key/0123456789abcdefghijklmnop", "SESSION-TOKEN-abc123")
MODEL_DEFAULT_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


# -- the event-stream framing, encoded here --------------------------------------------------------------

def es_message(headers, payload, corrupt=False):
    h = b""
    for name, value in headers:
        v = value.encode()
        h += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(h) + len(payload) + 4
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xffffffff)
    msg = prelude + h + payload
    crc = zlib.crc32(msg) & 0xffffffff
    if corrupt:
        crc ^= 1
    return msg + struct.pack(">I", crc)


def es_chunk(event, corrupt=False):
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode(), "p": "abcd"}).encode()
    return es_message([(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")],
                      payload, corrupt)


def es_answer(text=None, tool=None):
    ev = [{"type": "message_start", "message": {"id": "msg_b1", "type": "message", "role": "assistant", "content": [],
                                                "model": "m", "stop_reason": None,
                                                "usage": {"input_tokens": 5, "output_tokens": 1}}}]
    if tool:
        tid, name, inp = tool
        ev += [{"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": tid, "name": name, "input": {}}},
               {"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": json.dumps(inp)}},
               {"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}]
    else:
        ev += [{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
               {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
               {"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}]
    ev.append({"type": "message_stop"})
    return b"".join(es_chunk(e) for e in ev)


# -- Signature Version 4, checked here ---------------------------------------------------------------

def _hm(k, m):
    return hmac.new(k, m.encode(), hashlib.sha256).digest()


def sigv4_check(method, raw_path, headers, body, secrets):
    """(ok, why): the request's Authorization against secrets {akid: secret}."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False, "no SigV4 authorization: %r" % auth[:60]
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, date, region, service, term = parts["Credential"].split("/")
    if akid not in secrets:
        return False, "unknown access key %s" % akid
    if service != "bedrock" or term != "aws4_request":
        return False, "scope %s" % parts["Credential"]
    if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
        return False, "x-amz-content-sha256 is not the body's SHA-256"
    signed = parts["SignedHeaders"].split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in signed:
            return False, "%s not signed" % need
    canon_uri = urllib.parse.quote(raw_path, safe="/~")     # once more, as AWS does but for S3
    canon = "\n".join([method, canon_uri, ""] + ["%s:%s" % (h, headers.get(h, "").strip()) for h in signed] +
                      ["", ";".join(signed), headers["x-amz-content-sha256"]])
    sts = "\n".join(["AWS4-HMAC-SHA256", headers["x-amz-date"], "/".join([date, region, service, term]),
                     hashlib.sha256(canon.encode()).hexdigest()])
    k = _hm(_hm(_hm(_hm(("AWS4" + secrets[akid]).encode(), date), region), service), "aws4_request")
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if want != parts["Signature"]:
        return False, "signature mismatch (canonical request %r)" % canon
    return True, region


class Cloud:
    """One mock Bedrock + IMDS + container endpoint. script: one spec per model call: {"text"}, {"tool"},
    {"exception": TYPE}, {"corrupt": True}, {"status", "message", "type"}."""

    def __init__(self, script, secrets=None, token=None):
        self.script = list(script)
        self.secrets = dict(secrets or {KEY[0]: KEY[1]})
        self.token = token
        self.requests = []       # (path, headers, body, signature ok, why)
        self.meta = []           # (method, path, headers)
        self.imds_serial = 0
        self.imds_expire = 3600
        self.lock = threading.Lock()
        cloud = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, body, ctype="application/json", extra=()):
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _headers(self):
                return {k.lower(): v for k, v in self.headers.items()}

            def do_PUT(self):
                with cloud.lock:
                    cloud.meta.append(("PUT", self.path, self._headers()))
                if self.path == "/latest/api/token" and self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                    return self._send(200, b"IMDS-SESSION-TOKEN", "text/plain")
                self._send(403, b"")

            def do_GET(self):
                hd = self._headers()
                with cloud.lock:
                    cloud.meta.append(("GET", self.path, hd))
                if self.path.startswith("/latest/"):
                    if hd.get("x-aws-ec2-metadata-token") != "IMDS-SESSION-TOKEN":
                        return self._send(401, b"")
                    if self.path == "/latest/meta-data/iam/security-credentials/":
                        return self._send(200, b"agent-role", "text/plain")
                    if self.path == "/latest/meta-data/iam/security-credentials/agent-role":
                        with cloud.lock:
                            cloud.imds_serial += 1
                            n = cloud.imds_serial
                        akid, secret = "AKIDIMDS%04d" % n, "imds-secret-%d" % n
                        cloud.secrets[akid] = secret
                        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + cloud.imds_expire))
                        return self._send(200, json.dumps({"Code": "Success", "AccessKeyId": akid, "SecretAccessKey": secret,
                                                           "Token": "imds-token-%d" % n, "Expiration": exp}).encode())
                    return self._send(404, b"")
                if self.path == "/creds":
                    if hd.get("authorization") != "CONTAINER-AUTH":
                        return self._send(403, b"{}")
                    cloud.secrets["AKIDCONTAINER"] = "container-secret"
                    return self._send(200, json.dumps({"AccessKeyId": "AKIDCONTAINER", "SecretAccessKey": "container-secret",
                                                       "Token": "container-token", "Expiration": "2099-01-01T00:00:00Z"}).encode())
                self._send(404, b"")

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                hd = self._headers()
                raw = self.path
                if cloud.token:
                    ok, why = (hd.get("authorization") == "Bearer " + cloud.token), "bearer"
                else:
                    ok, why = sigv4_check("POST", raw, hd, body, cloud.secrets)
                with cloud.lock:
                    cloud.requests.append((raw, hd, body, ok, why))
                    spec = cloud.script.pop(0) if cloud.script else {"status": 500, "message": "script exhausted"}
                if not ok:
                    return self._send(403, json.dumps({"message": "The request signature we calculated does not match"
                                                                  " (%s)" % why}).encode(),
                                      extra=[("x-amzn-ErrorType", "InvalidSignatureException:http://internal")])
                if "status" in spec:
                    return self._send(spec["status"], json.dumps({"message": spec["message"]}).encode(),
                                      extra=[("x-amzn-ErrorType", spec.get("type", "ValidationException"))])
                if "exception" in spec:
                    data = es_message([(":message-type", "exception"), (":exception-type", spec["exception"]),
                                       (":content-type", "application/json")],
                                      json.dumps({"message": "please slow down"}).encode())
                elif spec.get("corrupt"):          # the first message's CRC: nothing of the answer is shown
                    data = es_answer("never shown")
                    first = struct.unpack(">I", data[:4])[0]
                    data = data[:first - 1] + bytes([data[first - 1] ^ 0x55]) + data[first:]
                else:
                    data = es_answer(spec.get("text"), spec.get("tool"))
                self._send(200, data, "application/vnd.amazon.eventstream")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-cloud-"

    def cloud(self, script, **kw):
        c = Cloud(script, **kw)
        self.notes.append("mock cloud on port %d" % c.port)
        self.clouds = getattr(self, "clouds", []) + [c]
        return c

    def teardown(self):
        for c in getattr(self, "clouds", []):
            c.stop()

    def bedrock(self, cloud, args=(), env=None, prompt="do the task", keys=True):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
             "XDG_STATE_HOME": os.path.join(self.home, "state"), "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
             "CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_BEDROCK_BASE_URL": cloud.url, "AWS_REGION": "us-west-2",
             "ANTHROPIC_MAX_RETRIES": "0", "NO_COLOR": "1", "AWS_EC2_METADATA_DISABLED": "true"}
        if keys:
            e.update({"AWS_ACCESS_KEY_ID": KEY[0], "AWS_SECRET_ACCESS_KEY": KEY[1], "AWS_SESSION_TOKEN": KEY[2]})
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        argv = [self.agent] + (["-p", prompt] if prompt is not None else []) + list(args)
        r = self.spawn(argv, e, None)
        self.notes.append("cloud requests: %r" % [(p, ok, why) for p, _, _, ok, why in cloud.requests])
        return r

    def signed(self, cloud, i):
        p, hd, body, ok, why = cloud.requests[i]
        self.check(ok, "request %d: the mock's SigV4 check failed: %s" % (i, why))
        return p, hd, json.loads(body)


def results(body):
    return [b for m in body["messages"] if isinstance(m.get("content"), list) for b in m["content"]
            if b.get("type") == "tool_result"]


@test
def t_env_keys_signed_request(c):
    cl = c.cloud([{"text": "Hello from Bedrock."}])
    r = c.bedrock(cl)
    c.eq((r.rc, r.out), (0, "Hello from Bedrock.\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    c.eq(len(cl.requests), 1, "requests")
    p, hd, body = c.signed(cl, 0)
    c.eq(p, "/model/%s/invoke-with-response-stream" % urllib.parse.quote(MODEL_DEFAULT_US, safe=""), "path")
    c.eq(hd.get("x-amz-security-token"), KEY[2], "x-amz-security-token")
    c.check("x-amz-security-token" in hd["authorization"], "the session token is not signed")
    c.eq(body.get("anthropic_version"), "bedrock-2023-05-31", "anthropic_version")
    c.check("model" not in body and "stream" not in body, "model or stream in the body: %r" % sorted(body))
    c.check(body.get("messages") and body.get("max_tokens"), "the Messages body: %r" % sorted(body))
    c.has(hd["authorization"], "/us-west-2/bedrock/aws4_request", "the signature's scope")


@test
def t_model_arn_in_the_path(c):
    arn = "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc123"
    cl = c.cloud([{"text": "ok"}])
    r = c.bedrock(cl, env={"ANTHROPIC_MODEL": arn})
    c.ok(r)
    p, _, _ = c.signed(cl, 0)
    c.eq(p, "/model/%s/invoke-with-response-stream" % urllib.parse.quote(arn, safe=""), "path (the ARN as one segment)")


@test
def t_bearer_token(c):
    cl = c.cloud([{"text": "bearer ok"}], token="BEDROCK-API-KEY-42")
    r = c.bedrock(cl, keys=False, env={"AWS_BEARER_TOKEN_BEDROCK": "BEDROCK-API-KEY-42"})
    c.eq((r.rc, r.out), (0, "bearer ok\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    _, hd, _, ok, _ = cl.requests[0]
    c.check(ok and "x-amz-date" not in hd, "a bearer request: %r" % hd)


@test
def t_profile_files_and_region(c):
    os.makedirs(os.path.join(c.home, ".aws"))
    c.write(os.path.join(c.home, ".aws", "credentials"),
            "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\n"
            "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n")
    c.write(os.path.join(c.home, ".aws", "config"), "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n")
    cl = c.cloud([{"text": "from the profile"}], secrets={"AKIDDEV": "dev-secret"})
    r = c.bedrock(cl, keys=False, env={"AWS_PROFILE": "dev", "AWS_REGION": None})
    c.eq((r.rc, r.out), (0, "from the profile\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    p, hd, _ = c.signed(cl, 0)
    c.has(hd["authorization"], "Credential=AKIDDEV/", "the key of profile dev")
    c.has(hd["authorization"], "/eu-west-1/bedrock/", "the region of profile dev")
    c.check(p.startswith("/model/eu.anthropic."), "the eu inference profile by default: %s" % p)
    c.check("x-amz-security-token" not in hd, "a token header without a session token")


@test
def t_credential_process(c):
    os.makedirs(os.path.join(c.home, ".aws"))
    helper = c.write(os.path.join(c.root, "creds.py"),
                     "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDPROC', 'SecretAccessKey': 'proc-secret',"
                     " 'SessionToken': 'proc-token', 'Expiration': '2099-01-01T00:00:00Z'}))\n")
    c.write(os.path.join(c.home, ".aws", "config"), "[profile p]\ncredential_process = %s %s\n" % (sys.executable, helper))
    cl = c.cloud([{"text": "from a process"}], secrets={"AKIDPROC": "proc-secret"})
    r = c.bedrock(cl, keys=False, env={"AWS_PROFILE": "p"})
    c.eq((r.rc, r.out), (0, "from a process\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    _, hd, _ = c.signed(cl, 0)
    c.eq(hd.get("x-amz-security-token"), "proc-token", "the process's session token")


@test
def t_container_endpoint(c):
    cl = c.cloud([{"text": "from the container endpoint"}])
    r = c.bedrock(cl, keys=False, env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": cl.url + "/creds",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN": "CONTAINER-AUTH"})
    c.eq((r.rc, r.out), (0, "from the container endpoint\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    _, hd, _ = c.signed(cl, 0)
    c.has(hd["authorization"], "Credential=AKIDCONTAINER/", "the container's key")
    c.eq([m[1] for m in cl.meta], ["/creds"], "endpoint requests")


@test
def t_imds_refreshed_before_expiry(c):
    cl = c.cloud([{"tool": ("toolu_i1", "Bash", {"command": "echo hi"})}, {"text": "two turns done"}])
    cl.imds_expire = 120          # inside the 5 minutes: fetched again before the next request
    r = c.bedrock(cl, ["--allowedTools", "Bash"], keys=False,
                  env={"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": cl.url})
    c.eq((r.rc, r.out), (0, "two turns done\n"), "exit code and stdout (stderr %r)" % r.err[-300:])
    c.eq(len(cl.requests), 2, "model requests")
    _, h0, _ = c.signed(cl, 0)
    _, h1, _ = c.signed(cl, 1)
    # fetched at the start (0001); each ends within 5 minutes, so each request fetches them again first
    c.has(h0["authorization"], "Credential=AKIDIMDS0002/", "the first request's key (refreshed once)")
    c.has(h1["authorization"], "Credential=AKIDIMDS0003/", "the second request's key (refreshed again)")
    c.eq(h1.get("x-amz-security-token"), "imds-token-3", "the refreshed session token")
    puts = [m for m in cl.meta if m[0] == "PUT"]
    c.eq(len(puts), 3, "IMDSv2 session tokens asked for (one per fetch)")


@test
def t_throttling_and_cut_streams_retried(c):
    cl = c.cloud([{"exception": "throttlingException"}, {"corrupt": True}, {"text": "after two retries"}])
    r = c.bedrock(cl, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.eq((r.rc, r.out), (0, "after two retries\n"), "exit code and stdout (stderr %r)" % r.err[-400:])
    c.eq(len(cl.requests), 3, "requests (two retries)")
    c.has(r.err, "throttlingException", "stderr (the first retry's reason)")
    c.has(r.err, "CRC", "stderr (the second retry's reason)")


@test
def t_validation_not_retried(c):
    cl = c.cloud([{"exception": "validationException"}, {"text": "never"}])
    r = c.bedrock(cl, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.eq(r.rc, 1, "exit code")
    c.eq(len(cl.requests), 1, "requests")


@test
def t_errors_say_what_to_fix(c):
    cl = c.cloud([{"status": 403, "type": "InvalidSignatureException",
                   "message": "Signature expired: 20150830T123600Z is now earlier than 20261203T100000Z"}])
    r = c.bedrock(cl)
    c.eq(r.rc, 1, "exit code of an expired signature")
    c.has(r.err, "clock is off", "stderr for a clock skew")
    cl2 = c.cloud([{"status": 400, "type": "ValidationException", "message": "The provided model identifier is invalid."}])
    r = c.bedrock(cl2, env={"ANTHROPIC_MODEL": "anthropic.nope"})
    c.has(r.err, "check the model id 'anthropic.nope'", "stderr for an unknown model id")
    r = c.bedrock(cl2, env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None})
    c.eq(r.rc, 2, "exit code without a region")
    c.has(r.err, "Bedrock needs a region: set AWS_REGION", "stderr without a region")
    r = c.bedrock(cl2, keys=False)
    c.eq(r.rc, 2, "exit code without credentials")
    c.has(r.err, "no AWS credentials found", "stderr without credentials")
    c.has(r.err, ".aws/credentials", "stderr (where it looked)")
    bad = c.cloud([{"text": "never"}], secrets={KEY[0]: "another secret"})
    r = c.bedrock(bad)
    c.eq(r.rc, 1, "exit code when the server rejects the signature")
    c.has(r.err, "InvalidSignatureException", "stderr")


@test
def t_secrets_kept_out(c):
    cl = c.cloud([{"tool": ("toolu_e1", "Bash", {"command": "env; echo DONE"})}, {"text": "ok"}])
    r = c.bedrock(cl, ["--allowedTools", "Bash", "--verbose"], env={"AWS_BEARER_TOKEN_BEDROCK": None})
    c.ok(r)
    _, _, body = c.signed(cl, 1)
    out = json.dumps(results(body))
    c.has(out, "DONE", "the env command's output")
    for s in (KEY[1], KEY[2]):
        c.lacks(out, s, "Bash's environment (sent to the model)")
        c.lacks(r.err, s, "stderr (--verbose)")
    for root, _, files in os.walk(os.path.join(c.home, "state")):
        for f in files:
            data = open(os.path.join(root, f), errors="replace").read()
            for s in (KEY[1], KEY[2]):
                c.lacks(data, s, "state file %s" % f)


@test
def t_status_names_the_source(c):
    cl = c.cloud([{"text": "x"}])
    r = c.bedrock(cl, ["--status"], prompt=None)
    c.eq(r.rc, 0, "exit code of --status (stderr %r)" % r.err[-300:])
    c.has(r.out, "Bedrock: region us-west-2, credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "--status")


if __name__ == "__main__":
    sys.exit(suite.main(__doc__, Ctx))
