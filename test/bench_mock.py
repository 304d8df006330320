#!/usr/bin/env python3
"""A mock Messages API for test/bench_compare.sh that answers by request content, not by order.

Claude Code sends more than the turns of the session (a small model for titles, count_tokens, paths with
?beta=true), so a script consumed in order would fall out of step. This server picks each answer from the
request itself:

  POST /v1/messages* whose body has a "tools" list naming Bash: a session, chosen by the prompt (the text
      of the first user message). The number of tool_result blocks in the messages says which step comes
      next: step k < len(steps) answers a Bash tool_use running steps[k]; after the last step, the final text.
        "deltas N"   no tool call: the answer in N text_delta events of 40 bytes ("deltas N SIZE": SIZE bytes)
        "turns K"    K Bash calls of `true`, then the final text
        "bulk K"     K Bash calls each printing 20,000 bytes (like test/bench.sh), then the final text
        "stream"     the bytes of --sse-file, verbatim (any request with that prompt, tools or not)
        anything else   the commands of --steps, then the final text
  POST .../count_tokens: {"input_tokens": N} (N from the body size).
  any other POST /v1/messages*: a short text answer ("ok"), streamed when the body asks for a stream.
  anything else: 200 with {} (recorded, so it shows up in the request count).
Each answer has its own message id (Claude Code merges streamed messages that share one).

Usage (runs until killed; listens on 127.0.0.1):
    python3 test/bench_mock.py --steps STEPS.json --record R.jsonl --port-file P [--tls CERT KEY]
        [--final TEXT] [--tls-log FILE] [--sse-file FILE]
STEPS.json is a list of shell commands. --tls-log appends "version cipher" of each TLS handshake.
Every request is recorded like test/mock_api.py does, plus "head_bytes" (the request line and headers).
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_api as m  # noqa: E402


def _tool_results(body):
    n = 0
    for msg in body.get("messages") or []:
        content = msg.get("content")
        if isinstance(content, list):
            n += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    return n


def _has_bash(body):
    return any(isinstance(t, dict) and t.get("name") == "Bash" for t in body.get("tools") or [])


BULK = "head -c 20000 /dev/zero | tr '\\0' x"


class KeyedServer(m.MockServer):
    def __init__(self, steps, final="All done.", tls_log=None, sse_file=None, **kw):
        super().__init__(script=[], **kw)
        self.steps = steps
        self.sse_file = sse_file
        self.final = final
        self.tls_log = tls_log
        if self._ctx is not None and tls_log:
            log = tls_log

            class LoggingSocket(ssl.SSLSocket):
                def do_handshake(self, *a, **k):
                    r = super().do_handshake(*a, **k)
                    with open(log, "a") as f:
                        f.write("%s %s\n" % (self.version(), self.cipher()[0]))
                    return r
            self._ctx.sslsocket_class = LoggingSocket

    def _prompt(self, body):
        """The text of the first user message (its last text block: Claude Code puts reminders first)."""
        for msg in body.get("messages") or []:
            if msg.get("role") != "user":
                continue
            c = msg.get("content")
            if isinstance(c, str):
                return c.strip()
            texts = [b.get("text", "") for b in c or [] if isinstance(b, dict) and b.get("type") == "text"]
            return texts[-1].strip() if texts else ""
        return ""

    def _plan(self, prompt):
        """(list of Bash commands, final answer as a list of text_delta pieces) for a prompt."""
        words = prompt.split()
        n = int(words[1]) if len(words) == 2 and words[1].isdigit() else None
        if len(words) == 3 and words[0] == "deltas" and words[1].isdigit() and words[2].isdigit():
            text = ("The quick brown fox jumps over the lazy dog; " * (int(words[2]) // 45 + 1))[:int(words[2])]
            return [], [text] * int(words[1])                  # "deltas N SIZE": n deltas of SIZE bytes
        if n is not None and words[0] == "deltas":
            return [], ["word " * 8] * n                       # n deltas of 40 bytes
        if n is not None and words[0] == "turns":
            return ["true"] * n, [self.final]
        if n is not None and words[0] == "bulk":
            return [BULK] * n, [self.final]                    # each result 20 KB
        return self.steps, [self.final]

    def choose(self, req):
        path = req.get("path", "")
        body = req.get("body")
        if req.get("method") != "POST" or not path.startswith("/v1/messages"):
            return {"json": {}}
        if not isinstance(body, dict):
            return {"status": 400, "json": {"type": "error", "error": {"type": "invalid_request_error",
                                                                       "message": "body is not JSON"}}}
        if "count_tokens" in path:
            return {"json": {"input_tokens": max(1, len(json.dumps(body)) // 4)}}
        prompt = self._prompt(body)
        if prompt == "stream" and self.sse_file:
            return {"sse_file": self.sse_file}
        model = body.get("model", "claude-mock-1")
        stream = bool(body.get("stream"))
        if _has_bash(body):
            steps, pieces = self._plan(prompt)
            k = _tool_results(body)
            if k < len(steps):
                content = [{"type": "tool_use", "id": "toolu_bench_%02d" % k, "name": "Bash",
                            "input": {"command": steps[k], "description": "step %d" % (k + 1)}}]
                ev = m.message_stream(content=content, stop_reason="tool_use", model=model)
            else:
                ev = m.message_stream("".join(pieces), pieces=pieces, model=model)
        else:
            ev = m.message_stream("ok", model=model)
        ev[0][1]["message"]["id"] = "msg_bench_%04d" % len(self.requests)   # one id per answer
        if stream:
            return {"events": ev}
        # a non-streaming request: the final message as one JSON object
        msg = dict(ev[0][1]["message"])
        msg["content"] = [{"type": "text", "text": "ok"}]
        msg["stop_reason"] = "end_turn"
        return {"json": msg}

    def _respond(self, sock, spec, req):
        return super()._respond(sock, self.choose(req), req)

    def _read_request(self, reader, n):
        req = super()._read_request(reader, n)
        if req is not None:
            head = "%s %s %s\r\n" % (req["method"], req["path"], req["version"])
            head += "".join("%s: %s\r\n" % (k, v) for k, v in req["header_list"]) + "\r\n"
            req["head_bytes"] = len(head.encode("latin-1", "replace"))
        return req


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", required=True)
    ap.add_argument("--final", default="All done.")
    ap.add_argument("--record")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls", nargs=2)
    ap.add_argument("--tls-log")
    ap.add_argument("--sse-file")
    a = ap.parse_args()
    with open(a.steps) as f:
        steps = json.load(f)
    srv = KeyedServer(steps, final=a.final, tls_log=a.tls_log, sse_file=a.sse_file, tls=tuple(a.tls) if a.tls else None,
                      record=a.record).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.port)
    os.replace(a.port_file + ".tmp", a.port_file)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *x: done.set())
    signal.signal(signal.SIGINT, lambda *x: done.set())
    while not done.wait(0.5):
        pass
    srv.stop()
    for e in srv.errors:
        print("bench_mock: " + e, file=sys.stderr)


if __name__ == "__main__":
    main()
