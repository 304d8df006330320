#!/usr/bin/env python3
"""A mock Anthropic Messages API server for the end-to-end tests (Python 3 standard library only).

Raw sockets and one thread per connection, not http.server: the tests need to send malformed bytes, cut
connections, write one byte at a time and count connections. Listens on 127.0.0.1 only.

As a module:
    srv = MockServer(script=[{"text": "Hello!"}], tls=("server.pem", "server.key")).start()
    ... srv.port, srv.url, srv.requests, srv.connections, srv.handshakes ...
    srv.stop()

As a program (runs until killed):
    python3 test/mock_api.py --script S.json [--record R.jsonl] [--port-file P] [--port N]
                             [--tls CERT KEY] [--tls13-only]
    (S.json: a list of specs, or {"responses": [...], "pages": {...}})

A script is a list of response specs, consumed in order, one per request. When it runs out the server answers
500 with {"type":"error","error":{"type":"api_error","message":"mock script exhausted"}}.
A spec is a dict (every key optional):

  body, one of:
    text: "..."            a complete Messages SSE stream carrying that text (see message_stream); with
                           pieces: [...] for the exact text_delta strings, stop_reason: "..." for message_delta
    tool_use: {id, name, input, json_pieces, text_before}   a stream ending in a tool_use block
    events: [[name, data], ...]   SSE built by sse_from_events (data: an object, or a raw string)
    sse_file: PATH         the file's bytes, verbatim (relative paths: from the script's folder, then the cwd)
    sse_raw: "..."         verbatim (str is UTF-8 encoded; bytes as they are)
    json: OBJ              application/json body
    body: "..."            verbatim (str is UTF-8 encoded; bytes as they are), content-type text/plain
  status: 200              reason: "OK" (default from the status)      version: "HTTP/1.1"
  headers: {name: value}   added to the defaults; a name that matches a default (any case) replaces it, and
                           a value of null removes it
  header_case: "lower" (default) | "title" | "upper"   spelling of the default header names
  framing: "length" (default) | "chunked" | "close" (no length; the connection closes after the body)
  chunk_size: 256          bytes of body per chunk with chunked framing
  write_size: N            bytes per send(), headers and body alike (1 = one-byte writes); default: one send
  write_delay: 0           seconds to sleep between sends
  cut_after: N             close the socket after N bytes of the body as sent on the wire (after the
                           header section; with chunked framing the chunk-size lines count)
  raw: "..."               the complete response, sent as is (str is latin-1 encoded); the connection is
                           closed after it. write_size, write_delay, stall and cut_after apply.
  close: true              send "connection: close" and close after this response
  stall: seconds           sleep before sending anything
  on_request: callable     (from Python only) called with the recorded request (the dict described below)
                           before anything is sent for this spec, e.g. to change the files the agent sees
                           between two of its calls; an exception is a mock error (srv.errors)

OpenAI Chat Completions dialect. A request to POST .../chat/completions (e.g. /v1/chat/completions) takes
the next spec like any other, plus these body keys (the stream is `data: {chunk}` lines, each
{"id","object":"chat.completion.chunk","created","model","choices":[{"index":0,"delta":{..},"finish_reason"}]},
ended by `data: [DONE]`; see openai_stream):
    openai_text: "..."     the text as delta.content pieces (pieces: [...] for the exact strings), then a chunk
                           with finish_reason (finish_reason: "stop" by default)
    openai_tool_calls: [{id, name, arguments, pieces}, ...]   tool calls, one after the other, each a first
                           delta {index, id, type:"function", function:{name, arguments:""}} and then the
                           arguments (a JSON string; a non-string is JSON-encoded) as function.arguments pieces
                           (pieces: [...] exact strings, else the string split in 3); text_before: "..." content
                           pieces first; finish_reason "tool_calls" by default
    openai_chunks: [chunk or "raw data", ...]   verbatim data lines (objects JSON-encoded), then [DONE]
    openai_error: {"message", "type", "code"?}   an error body {"error": {...}} (status: 400 unless given)
  modifiers of openai_text and openai_tool_calls (openai_chunks: only done and cut):
    usage: {prompt_tokens, completion_tokens} | false   the final usage chunk (empty choices). By default it is
                           sent, with prompt_tokens 12 and completion_tokens = number of delta chunks, when the
                           request asked for it (stream_options.include_usage); every earlier chunk then
                           carries "usage": null, as OpenAI's does
    model: "gpt-mock-1"    id: "chatcmpl-mock-0001"
    done: false            leave out the final `data: [DONE]`
    cut: "arguments" | "text" | "finish" | "done" | N   end the stream early (a well-framed response, the
                           connection stays usable): "arguments" in the middle of the last tool call's arguments
                           (after the first half of its pieces), "text" in the middle of the content pieces,
                           "finish" just before the finish_reason chunk, "done" just before `data: [DONE]`;
                           N: after the first N data chunks. Nothing is sent after the cut point (no [DONE]).
                           (For a connection cut at a byte offset, use cut_after.)
  On such a path a spec with "text" or "tool_use" (and no openai_* key) is translated: text -> openai_text (with
  pieces and stop_reason end_turn -> "stop", max_tokens -> "length"), tool_use -> one openai_tool_calls entry
  (input JSON-encoded as arguments; json_pieces as pieces; text_before kept). A spec with "json" and an
  Anthropic-style error is sent as is. When the script runs out, the answer is 500
  {"error":{"message":"mock script exhausted","type":"server_error"}}.

Web pages (for WebFetch). MockServer(pages={path: page}) or srv.pages[path] = page (also "pages" next to
"responses" in a --script file): a GET or HEAD whose path (with its query, else without it) is in pages is
answered from there and does NOT consume the script. While pages is not None, any other GET/HEAD is answered
404 "no such page" and does not consume the script either. Page requests are recorded in srv.page_requests
(same shape as srv.requests), never in srv.requests. A page is a string (200 text/html) or a dict:
    html: "..."            body with content-type text/html; charset=utf-8
    text: "..."            body with content-type text/plain; charset=utf-8
    body: "..." | bytes    body, with content_type: "..." (default application/octet-stream)
    redirect: URL or path  a redirect (status 302 unless given) with that location and an empty body
    status, reason, headers, framing, close, stall, write_size, write_delay, cut_after   as for specs

Each request is recorded (and with --record written as one JSON line) as
  {"conn": n, "method", "path", "version", "headers": {lowercased name: value}, "body": JSON or text}
where n counts connections from 1. srv.connections counts accepted connections, srv.handshakes completed TLS
handshakes, srv.errors what went wrong on the server side (handshake failures, resets).
"""
import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

__all__ = ["MockServer", "sse_event", "sse_from_events", "message_stream", "tool_use_stream",
           "build_body", "REASONS", "openai_chunks", "openai_stream", "openai_body", "page_spec"]

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}

MAX_REQUEST_HEAD = 1 << 20
MAX_REQUEST_BODY = 64 << 20
IDLE_TIMEOUT = 30.0


# ---------------------------------------------------------------------------------------------------------
# SSE builders

def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sse_event(name, data):
    """One SSE event as text: `event: NAME` (left out when name is None), one `data: ` line per line of
    data (an object is JSON-encoded first), then the blank line that dispatches it."""
    if not isinstance(data, str):
        data = _dumps(data)
    out = []
    if name is not None:
        out.append("event: %s\n" % name)
    for line in data.split("\n"):
        out.append("data: %s\n" % line)
    out.append("\n")
    return "".join(out)


def sse_from_events(events):
    """SSE body bytes (UTF-8) from a list of [name, data] pairs (see sse_event)."""
    return "".join(sse_event(name, data) for name, data in events).encode("utf-8")


def _split_text(text, parts=4):
    """Split text at code point boundaries into about `parts` non-empty pieces."""
    if not text:
        return []
    step = max(1, -(-len(text) // parts))
    return [text[i:i + step] for i in range(0, len(text), step)]


def _message_start(model="claude-mock-1", msg_id="msg_mock_0001", input_tokens=12):
    return ["message_start", {
        "type": "message_start",
        "message": {"id": msg_id, "type": "message", "role": "assistant", "content": [], "model": model,
                    "stop_reason": None, "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                              "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}]


def _block_events(index, block):
    """Events for one content block described by a dict:
       {"type": "text", "text": ..., "pieces": [...]}
       {"type": "tool_use", "id", "name", "input": obj, "json_pieces": [...]}
       {"type": "thinking", "thinking": ..., "pieces": [...], "signature": ...}
       {"start": content_block_obj, "deltas": [delta_obj, ...]}   anything else, verbatim"""
    kind = block.get("type")
    ev = []
    if "start" in block:
        start, deltas = block["start"], block.get("deltas", [])
    elif kind == "text":
        pieces = block.get("pieces")
        if pieces is None:
            pieces = _split_text(block.get("text", ""))
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces]
    elif kind == "tool_use":
        pieces = block.get("json_pieces")
        if pieces is None:
            js = _dumps(block.get("input", {}))
            pieces = [""] + _split_text(js, 3)
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    elif kind == "thinking":
        pieces = block.get("pieces")
        if pieces is None:
            pieces = _split_text(block.get("thinking", ""), 3)
        start = {"type": "thinking", "thinking": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "c2lnbmF0dXJl")})
    else:
        raise ValueError("unknown block description: %r" % (block,))
    ev.append(["content_block_start", {"type": "content_block_start", "index": index, "content_block": start}])
    for d in deltas:
        ev.append(["content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}])
    ev.append(["content_block_stop", {"type": "content_block_stop", "index": index}])
    return ev


def message_stream(text="", pieces=None, stop_reason="end_turn", content=None, model="claude-mock-1",
                   ping=True):
    """The events ([name, data] pairs) of a complete, well-formed Messages stream.

    By default one text block carrying `text`, split into a few text_delta events (or exactly `pieces`).
    `content`, a list of block descriptions (see _block_events), replaces that single block. A ping follows
    the first content_block_start (or message_start when there is no block). Feed the result to
    sse_from_events, or use it as a spec's "events"."""
    if content is None:
        content = [{"type": "text", "text": text, "pieces": pieces}]
    events = [_message_start(model=model)]
    out_tokens = 1
    for i, block in enumerate(content):
        bev = _block_events(i, block)
        events.extend(bev)
        out_tokens += len(bev) - 2
    if ping:
        events.insert(2 if content else 1, ["ping", {"type": "ping"}])
    events.append(["message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                     "usage": {"output_tokens": out_tokens}}])
    events.append(["message_stop", {"type": "message_stop"}])
    return events


def tool_use_stream(id, name, input_obj, json_pieces=None, text_before=None):
    """The events of a stream that ends with stop_reason tool_use: an optional text block, then one tool_use
    block whose input arrives as input_json_delta pieces (json_pieces, or the JSON of input_obj split up)."""
    content = []
    if text_before is not None:
        content.append({"type": "text", "text": text_before})
    content.append({"type": "tool_use", "id": id, "name": name, "input": input_obj, "json_pieces": json_pieces})
    return message_stream(content=content, stop_reason="tool_use")


def _bytes(value, encoding="utf-8"):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode(encoding)


def build_body(spec, base_dir=None):
    """(body bytes, content type or None) for a response spec."""
    if "text" in spec:
        ev = message_stream(spec["text"], pieces=spec.get("pieces"),
                            stop_reason=spec.get("stop_reason", "end_turn"))
        return sse_from_events(ev), "text/event-stream"
    if "tool_use" in spec:
        t = spec["tool_use"]
        ev = tool_use_stream(t.get("id", "toolu_mock_0001"), t["name"], t.get("input", {}),
                             json_pieces=t.get("json_pieces"), text_before=t.get("text_before"))
        return sse_from_events(ev), "text/event-stream"
    if "events" in spec:
        return sse_from_events(spec["events"]), "text/event-stream"
    if "sse_file" in spec:
        path = spec["sse_file"]
        if not os.path.isabs(path) and base_dir and os.path.exists(os.path.join(base_dir, path)):
            path = os.path.join(base_dir, path)
        with open(path, "rb") as f:
            return f.read(), "text/event-stream"
    if "sse_raw" in spec:
        return _bytes(spec["sse_raw"]), "text/event-stream"
    if "json" in spec:
        return _dumps(spec["json"]).encode("utf-8"), "application/json"
    if "body" in spec:
        return _bytes(spec["body"]), "text/plain"
    return b"", None


# ---------------------------------------------------------------------------------------------------------
# OpenAI Chat Completions dialect

OPENAI_KEYS = ("openai_text", "openai_tool_calls", "openai_chunks", "openai_error")


def is_openai_path(path):
    """Whether a request path is a Chat Completions endpoint (…/chat/completions, query ignored)."""
    return path.split("?", 1)[0].rstrip("/").endswith("/chat/completions")


def openai_chunks(text=None, pieces=None, tool_calls=None, text_before=None, finish_reason=None,
                  model="gpt-mock-1", id="chatcmpl-mock-0001", created=1700000000):
    """The chunk objects of one streamed Chat Completions answer, without usage and [DONE]:
    (chunks, marks) where marks names positions for cuts: "text" (middle of the content pieces), "arguments"
    (middle of the last tool call's arguments), "finish" (index of the finish_reason chunk)."""
    def chunk(delta, finish=None):
        return {"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_mock", "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                                "finish_reason": finish}]}
    chunks = [chunk({"role": "assistant", "content": ""} if not tool_calls or text or text_before
                    else {"role": "assistant", "content": None})]
    marks = {}
    content = text if text is not None else text_before
    if content:
        ps = pieces if (pieces is not None and text is not None) else _split_text(content)
        start = len(chunks)
        for p in ps:
            chunks.append(chunk({"content": p}))
        marks["text"] = start + max(1, len(ps) // 2) if ps else start
    for i, tc in enumerate(tool_calls or []):
        args = tc.get("arguments", "{}")
        if not isinstance(args, str):
            args = _dumps(args)
        ps = tc.get("pieces")
        if ps is None:
            ps = _split_text(args, 3)
        chunks.append(chunk({"tool_calls": [{"index": tc.get("index", i), "id": tc.get("id", "call_mock_%d" % i),
                                             "type": "function",
                                             "function": {"name": tc["name"], "arguments": ""}}]}))
        start = len(chunks)
        for p in ps:
            chunks.append(chunk({"tool_calls": [{"index": tc.get("index", i), "function": {"arguments": p}}]}))
        marks["arguments"] = start + max(1, len(ps) // 2) if len(ps) > 1 else start + len(ps) // 2
    if finish_reason is None:
        finish_reason = "tool_calls" if tool_calls else "stop"
    marks["finish"] = len(chunks)
    chunks.append(chunk({}, finish_reason))
    return chunks, marks


def openai_stream(spec, request_body=None):
    """SSE body bytes for a spec with openai_text, openai_tool_calls or openai_chunks (see the docstring)."""
    model = spec.get("model", "gpt-mock-1")
    cid = spec.get("id", "chatcmpl-mock-0001")
    if "openai_chunks" in spec:
        chunks, marks = list(spec["openai_chunks"]), {}
    elif "openai_tool_calls" in spec:
        chunks, marks = openai_chunks(tool_calls=spec["openai_tool_calls"], text_before=spec.get("text_before"),
                                      finish_reason=spec.get("finish_reason"), model=model, id=cid)
    else:
        chunks, marks = openai_chunks(text=spec.get("openai_text", ""), pieces=spec.get("pieces"),
                                      finish_reason=spec.get("finish_reason"), model=model, id=cid)
    want_usage = False
    if isinstance(request_body, dict):
        want_usage = bool((request_body.get("stream_options") or {}).get("include_usage"))
    usage = spec.get("usage")
    if usage is False:
        want_usage = False
    elif usage is not None:
        want_usage = True
    ndeltas = max(0, len(chunks) - 2)
    if want_usage:
        u = {"prompt_tokens": 12, "completion_tokens": ndeltas}
        if isinstance(usage, dict):
            u.update(usage)
        u.setdefault("total_tokens", u.get("prompt_tokens", 0) + u.get("completion_tokens", 0))
        if "openai_chunks" not in spec:
            for c in chunks:
                c["usage"] = None
            chunks.append({"id": cid, "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                           "system_fingerprint": "fp_mock", "choices": [], "usage": u})
    cut = spec.get("cut")
    done = spec.get("done", True) and cut is None
    if cut is not None:
        if isinstance(cut, bool) or not isinstance(cut, (int, str)):
            raise ValueError("cut: %r" % (cut,))
        if isinstance(cut, int):
            n = cut
        elif cut == "done":
            n = len(chunks)
        elif cut in marks:
            n = marks[cut]
        else:
            raise ValueError("cut %r: this stream has no such place (%s)" % (cut, ", ".join(sorted(marks))))
        chunks = chunks[:n]
    out = "".join("data: %s\n\n" % (c if isinstance(c, str) else _dumps(c)) for c in chunks)
    if done:
        out += "data: [DONE]\n\n"
    return out.encode("utf-8")


def openai_translate(spec):
    """An Anthropic-style text/tool_use spec as the equivalent openai_* spec (other specs unchanged)."""
    if any(k in spec for k in OPENAI_KEYS):
        return spec
    if "text" in spec:
        out = {k: v for k, v in spec.items() if k not in ("text", "stop_reason")}
        out["openai_text"] = spec["text"]
        sr = spec.get("stop_reason", "end_turn")
        out.setdefault("finish_reason", {"end_turn": "stop", "max_tokens": "length",
                                         "tool_use": "tool_calls", "stop_sequence": "stop"}.get(sr, sr))
        return out
    if "tool_use" in spec:
        t = spec["tool_use"]
        out = {k: v for k, v in spec.items() if k != "tool_use"}
        tc = {"id": t.get("id", "call_mock_0"), "name": t["name"], "arguments": _dumps(t.get("input", {}))}
        if t.get("json_pieces") is not None:
            tc["pieces"] = [p for p in t["json_pieces"] if p] or [""]
        out["openai_tool_calls"] = [tc]
        if t.get("text_before") is not None:
            out["text_before"] = t["text_before"]
        return out
    return spec


def openai_body(spec, request_body=None):
    """(body bytes, content type) for an openai_* spec, or None when spec has none of those keys."""
    if "openai_error" in spec:
        err = {"message": "", "type": "invalid_request_error", "param": None, "code": None}
        err.update(spec["openai_error"])
        return _dumps({"error": err}).encode("utf-8"), "application/json"
    if any(k in spec for k in ("openai_text", "openai_tool_calls", "openai_chunks")):
        return openai_stream(spec, request_body), "text/event-stream"
    return None


def openai_exhausted_spec():
    return {"status": 500, "json": {"error": {"message": "mock script exhausted", "type": "server_error",
                                              "param": None, "code": None}}}


# ---------------------------------------------------------------------------------------------------------
# Web pages

def page_spec(page):
    """A response spec for a page (see the docstring: a string, or html/text/body/redirect + spec keys)."""
    if isinstance(page, (str, bytes)):
        page = {"html": page}
    spec = {k: v for k, v in page.items() if k not in ("html", "text", "body", "content_type", "redirect")}
    headers = dict(spec.get("headers") or {})
    if "redirect" in page:
        spec.setdefault("status", 302)
        headers.setdefault("location", page["redirect"])
        spec["body"] = page.get("body", "")
        ctype = page.get("content_type", "text/html; charset=utf-8")
    elif "html" in page:
        spec["body"] = page["html"]
        ctype = page.get("content_type", "text/html; charset=utf-8")
    elif "text" in page:
        spec["body"] = page["text"]
        ctype = page.get("content_type", "text/plain; charset=utf-8")
    else:
        spec["body"] = page.get("body", "")
        ctype = page.get("content_type", "application/octet-stream")
    if not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = ctype
    spec["headers"] = headers
    return spec


def not_found_page():
    return {"status": 404, "text": "no such page\n"}


def _chunked(body, size):
    out = []
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def _name_case(name, how):
    if how == "title":
        return "-".join(p[:1].upper() + p[1:] for p in name.split("-"))
    if how == "upper":
        return name.upper()
    return name


def exhausted_spec():
    return {"status": 500, "json": {"type": "error",
                                    "error": {"type": "api_error", "message": "mock script exhausted"}}}


# ---------------------------------------------------------------------------------------------------------
# Server

class _Closed(Exception):
    pass


class MockServer:
    """The mock API. script: a list of response specs (more can be appended to .script later).
    tls: (certfile, keyfile) to serve HTTPS; tls13_only: refuse anything below TLS 1.3.
    record: a path where each request is appended as one JSON line.
    pages: {path: page} served to GET/HEAD without consuming the script (see the module docstring)."""

    def __init__(self, script=None, tls=None, tls13_only=False, host="127.0.0.1", port=0, record=None,
                 base_dir=None, pages=None):
        self.script = list(script or [])
        self.pages = pages
        self.page_requests = []
        self.host, self._want_port = host, port
        self.record = record
        self.base_dir = base_dir
        self.requests = []
        self.connections = 0
        self.handshakes = 0
        self.errors = []
        self.port = None
        self._lock = threading.Lock()
        self._next = 0
        self._socks = set()
        self._threads = []
        self._stopping = False
        self._listener = None
        self._ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls13_only else ssl.TLSVersion.TLSv1_2
            self._ctx = ctx

    @property
    def scheme(self):
        return "https" if self._ctx else "http"

    @property
    def url(self):
        """Base URL: https://localhost:P with TLS (the certificates name localhost), else http://127.0.0.1:P."""
        return "%s://%s:%d" % (self.scheme, "localhost" if self._ctx else self.host, self.port)

    def start(self):
        ls = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, self._want_port))
        ls.listen(64)
        self._listener = ls
        self.port = ls.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="mock-accept-%d" % self.port, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stopping = True
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        for t in list(self._threads):
            t.join(timeout=2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- accepting -------------------------------------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                n = self.connections
                self._socks.add(conn)
            t = threading.Thread(target=self._serve, args=(conn, n), name="mock-conn-%d" % n, daemon=True)
            t.start()
            with self._lock:
                self._threads.append(t)

    def _error(self, n, what):
        with self._lock:
            self.errors.append("conn %d: %s" % (n, what))

    def _serve(self, raw_sock, n):
        sock = raw_sock
        try:
            raw_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            raw_sock.settimeout(IDLE_TIMEOUT)
            if self._ctx is not None:
                sock = self._ctx.wrap_socket(raw_sock, server_side=True, do_handshake_on_connect=False)
                with self._lock:
                    self._socks.add(sock)
                try:
                    sock.do_handshake()
                except (ssl.SSLError, OSError) as e:
                    self._error(n, "TLS handshake failed: %s" % e)
                    return
                with self._lock:
                    self.handshakes += 1
            reader = _Reader(sock)
            while not self._stopping:
                req = self._read_request(reader, n)
                if req is None:
                    return
                page = self._page_for(req)
                if page is not None:
                    with self._lock:
                        self.page_requests.append(req)
                    if self.record:
                        with self._lock, open(self.record, "a", encoding="utf-8") as f:
                            f.write(json.dumps(dict(req, page=True), ensure_ascii=False) + "\n")
                    if not self._respond(sock, page_spec(page), req):
                        return
                    continue
                with self._lock:
                    self.requests.append(req)
                    if self._next < len(self.script):
                        spec = self.script[self._next]
                    elif is_openai_path(req["path"]):
                        spec = openai_exhausted_spec()
                    else:
                        spec = exhausted_spec()
                    self._next += 1
                if self.record:
                    with self._lock, open(self.record, "a", encoding="utf-8") as f:
                        f.write(json.dumps(req, ensure_ascii=False) + "\n")
                keep = self._respond(sock, spec, req)
                if not keep:
                    return
        except _Closed:
            pass
        except (OSError, ssl.SSLError) as e:
            if not self._stopping:
                self._error(n, "%s: %s" % (type(e).__name__, e))
        except Exception as e:  # a bug in the mock or a bad spec: keep it visible to the test
            self._error(n, "mock error %s: %s" % (type(e).__name__, e))
        finally:
            for s in (sock, raw_sock):
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._socks.discard(sock)
                self._socks.discard(raw_sock)

    # -- requests --------------------------------------------------------------------------------------

    def _page_for(self, req):
        """The page (see the docstring) that answers req, or None when req goes to the script."""
        pages = self.pages
        if pages is None or req["method"] not in ("GET", "HEAD"):
            return None
        path = req["path"]
        if "://" in path:                          # absolute form (through a proxy)
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        with self._lock:
            if path in pages:
                return pages[path]
            bare = path.split("?", 1)[0]
            if bare in pages:
                return pages[bare]
        return not_found_page()

    def _read_request(self, reader, n):
        head = reader.read_until(b"\r\n\r\n", MAX_REQUEST_HEAD)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            self._error(n, "bad request line %r" % lines[0])
            raise _Closed()
        method, path, version = parts
        headers = {}
        order = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                self._error(n, "bad header line %r" % line)
                raise _Closed()
            name, value = name.strip().lower(), value.strip()
            order.append([name, value])
            headers[name] = headers[name] + ", " + value if name in headers else value
        if headers.get("expect", "").lower() == "100-continue":
            reader.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked(reader)
        else:
            length = int(headers.get("content-length", "0") or "0")
            if length < 0 or length > MAX_REQUEST_BODY:
                raise _Closed()
            body = reader.read_exact(length)
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            parsed = body.decode("utf-8", "replace")
        return {"conn": n, "method": method, "path": path, "version": version, "headers": headers,
                "header_list": order, "body": parsed}

    def _read_chunked(self, reader):
        out = bytearray()
        while True:
            line = reader.read_until(b"\r\n", 1024)
            if line is None:
                raise _Closed()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers up to the blank line
                    t = reader.read_until(b"\r\n", 65536)
                    if t is None or t == b"":
                        return bytes(out)
            out += reader.read_exact(size)
            if len(out) > MAX_REQUEST_BODY:
                raise _Closed()
            reader.read_exact(2)

    # -- responses -------------------------------------------------------------------------------------

    def _respond(self, sock, spec, req):
        """Send the response for spec; return whether the connection stays open."""
        if callable(spec.get("on_request")):
            spec["on_request"](req)
        if spec.get("stall"):
            time.sleep(float(spec["stall"]))
        write_size = spec.get("write_size")
        delay = float(spec.get("write_delay", 0) or 0)
        cut = spec.get("cut_after")
        if "raw" in spec:
            data = _bytes(spec["raw"], "latin-1")
            if cut is not None:
                data = data[:int(cut)]
            self._send(sock, data, write_size, delay)
            self._finish(sock, graceful=cut is None)
            return False

        ob = None
        if is_openai_path(req["path"]):
            spec = openai_translate(spec)
            ob = openai_body(spec, req.get("body"))
        if ob is not None:
            body, ctype = ob
            status = int(spec.get("status", 400 if "openai_error" in spec else 200))
        else:
            body, ctype = build_body(spec, self.base_dir)
            status = int(spec.get("status", 200))
        version = spec.get("version", "HTTP/1.1")
        reason = spec.get("reason", REASONS.get(status, "Status"))
        framing = spec.get("framing", "length")
        client_close = "close" in req["headers"].get("connection", "").lower()
        close = bool(spec.get("close")) or framing == "close" or client_close or version == "HTTP/1.0"

        hdrs = []
        if ctype:
            hdrs.append(["content-type", ctype])
        hdrs.append(["request-id", "req_mock_%04d" % len(self.requests)])
        if framing == "chunked":
            hdrs.append(["transfer-encoding", "chunked"])
            wire = _chunked(body, int(spec.get("chunk_size", 256)))
        elif framing == "close":
            wire = body
        elif framing == "length":
            hdrs.append(["content-length", str(len(body))])
            wire = body
        else:
            raise ValueError("unknown framing %r" % framing)
        if close and version != "HTTP/1.0":
            hdrs.append(["connection", "close"])
        how = spec.get("header_case", "lower")
        hdrs = [[_name_case(k, how), v] for k, v in hdrs]
        for name, value in (spec.get("headers") or {}).items():
            hdrs = [h for h in hdrs if h[0].lower() != name.lower()]
            if value is not None:
                hdrs.append([name, str(value)])
        head = ("%s %d %s\r\n" % (version, status, reason)).encode("latin-1")
        head += b"".join(("%s: %s\r\n" % (k, v)).encode("latin-1") for k, v in hdrs) + b"\r\n"
        if req.get("method") == "HEAD":
            wire = b""

        if cut is not None:
            self._send(sock, head + wire[:int(cut)], write_size, delay)
            self._finish(sock, graceful=False)
            return False
        self._send(sock, head + wire, write_size, delay)
        if close:
            self._finish(sock, graceful=True)
            return False
        return True

    def _send(self, sock, data, write_size, delay):
        if not write_size or write_size <= 0:
            if delay:
                time.sleep(delay)
            sock.sendall(data)
            return
        for i in range(0, len(data), write_size):
            if delay and i:
                time.sleep(delay)
            sock.sendall(data[i:i + write_size])

    def _finish(self, sock, graceful):
        """End the connection after a response. graceful: a TLS close_notify first (a cut sends none).
        Then half-close and drain what the client still sends, so the kernel does not answer unread bytes
        with a reset that could destroy data the client has not read yet."""
        if graceful and isinstance(sock, ssl.SSLSocket):
            try:
                sock.settimeout(2)
                sock = sock.unwrap()
            except (OSError, ssl.SSLError, ValueError):
                pass
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        try:
            sock.settimeout(2)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                if not sock.recv(65536):
                    break
        except (OSError, ssl.SSLError, ValueError):
            pass


class _Reader:
    """Buffered reads on a socket: read_until(delimiter) and read_exact(n). read_until returns None on a clean
    EOF before any byte; a connection that ends in the middle of a message raises _Closed."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise _Closed()
        except (ConnectionResetError, ssl.SSLError):
            raise _Closed()
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, delim, limit):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + len(delim)]
                return out
            if len(self.buf) > limit:
                raise _Closed()
            if not self._fill():
                if self.buf:
                    raise _Closed()
                return None

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise _Closed()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


# ---------------------------------------------------------------------------------------------------------
# Command line

def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock Anthropic Messages API server (runs until killed).")
    ap.add_argument("--script", required=True, help="JSON file: a list of response specs")
    ap.add_argument("--record", help="append each request to this file as one JSON line")
    ap.add_argument("--port-file", help="write the listening port to this file once listening")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    ap.add_argument("--tls13-only", action="store_true", help="refuse TLS versions below 1.3")
    args = ap.parse_args(argv)

    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    pages = None
    if isinstance(script, dict):
        pages = script.get("pages")
        script = script.get("responses", [])
    srv = MockServer(script, tls=tuple(args.tls) if args.tls else None, tls13_only=args.tls13_only,
                     port=args.port, record=args.record, pages=pages,
                     base_dir=os.path.dirname(os.path.abspath(args.script))).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.replace(tmp, args.port_file)
    else:
        print(srv.port, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(0.5):
        pass
    srv.stop()
    for e in srv.errors:
        print("mock_api: " + e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
