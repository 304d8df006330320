#!/usr/bin/env python3
"""A Bedrock stand-in for test/bench.sh: every POST is answered with N text deltas of 40 bytes in the
application/vnd.amazon.eventstream framing (test/e2e_cloud.py's es_message), each event compact JSON as the
API sends it, base64 in a compact {"bytes", "p"} payload as Bedrock wraps it, so that the per-event cost of
agent's event-stream path can be set beside its SSE path's (bench_mock.py "deltas N").
Usage: python3 test/bench_es.py N PORT_FILE (prints nothing; runs until killed)."""
import http.server
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import base64  # noqa: E402
import json  # noqa: E402

from e2e_cloud import es_message  # noqa: E402


def es_chunk(event):
    inner = json.dumps(event, separators=(",", ":")).encode()
    payload = json.dumps({"bytes": base64.b64encode(inner).decode(), "p": "abcdefghij"},
                         separators=(",", ":")).encode()
    return es_message([(":event-type", "chunk"), (":content-type", "application/json"),
                       (":message-type", "event")], payload)


def answer(n):
    ev = [{"type": "message_start", "message": {"id": "msg_b1", "type": "message", "role": "assistant",
                                                "content": [], "model": "m", "stop_reason": None,
                                                "usage": {"input_tokens": 5, "output_tokens": 1}}},
          {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    ev += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word " * 8}}] * n
    ev += [{"type": "content_block_stop", "index": 0},
           {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": n}},
           {"type": "message_stop"}]
    return b"".join(es_chunk(e) for e in ev)


def main():
    body = answer(int(sys.argv[1]))

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/vnd.amazon.eventstream")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    srv.serve_forever()


if __name__ == "__main__":
    main()
