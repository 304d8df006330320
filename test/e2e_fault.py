#!/usr/bin/env python3
"""Fault injection end to end, in the spirit of curl's test suite: the real binary against malformed and
unusual HTTP responses and SSE streams served by test/mock_api.py.

    python3 test/e2e_fault.py --agent ./agent [--filter S] [--label L] [--jobs N] [--list] [--show]

Every case runs in its own temp dirs (HOME, XDG_STATE_HOME, working directory) with its own mock servers:

  1. setup: `agent -p` completes a turn whose model Reads and Edits edited.txt (alpha -> beta), then answers;
  2. the faulty turn: `agent -c -p` continues that session against a server that misbehaves as the case says;
  3. recovery: `agent -c -p` once more against a good server.

What is asserted for every case: the exit status of the faulty turn (0 when the answer completes, 1 when it
cannot), what the user sees (stdout exactly, or its key part, and a key phrase of the stderr message), and that
nothing was lost: the session file still parses line by line as JSON, starts with the very bytes the setup turn
left (every message of the completed turn), holds no half-received assistant message (nothing from a stream
that did not complete: such streams carry POISON text and a Write of poison.txt); edited.txt holds "beta";
poison.txt was never created (no tool call from a cut stream ran); the faulty turn's first request and the
recovery request carry the setup conversation unchanged.

One line per case: "ok - fault: NAME" or "not ok - fault: NAME" with indented diagnostics. At the end
"e2e_fault: N passed, N failed" and "fault cases: HTTP X, SSE Y". Exit status 1 when any case fails.
Python 3 standard library only.
"""
import functools
import glob
import json
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mock_api  # noqa: E402
import e2e_lib  # noqa: E402
from e2e_lib import Fail, clip  # noqa: E402

FINAL = "The fault-case answer is complete."
PROMPT = "now the faulty turn"
RECOVER = "recover please"
SETUP_TEXT = "SETUP-DONE"
CASES = []


class FaultSuite(e2e_lib.Suite):
    """The cases (CASES, one test each), --list and --show, and a last line that counts them by kind."""

    def add_args(self, ap):
        ap.add_argument("--list", action="store_true", help="list the cases and exit")
        ap.add_argument("--show", action="store_true", help="show the faulty run's output for passing cases too")

    def early(self, args):
        if args.list:
            for cs in CASES:
                print("%-4s %s" % (cs.kind, cs.name))
            return 0
        names = [cs.name for cs in CASES]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            print("not ok - e2e_fault: duplicate case names %s" % dup)
            return 1
        return None

    def epilogue(self, args, tests):
        cases = [opts["case"] for _, _, opts in tests]
        return ["fault cases: HTTP %d, SSE %d" % (sum(cs.kind == "HTTP" for cs in cases),
                                                   sum(cs.kind == "SSE" for cs in cases))]


SUITE = FaultSuite("fault", jobs=16)


# ---------------------------------------------------------------------------------------------------------
# A mock server with a few more faults: a TCP reset, stray bytes after a response, a silent close

class FaultServer(mock_api.MockServer):
    """Extra spec keys:
      rst: BYTES          send these bytes as they are, then close with SO_LINGER 0 (a TCP RST)
      raw_keep: BYTES     the complete response, sent as is in one write; the connection stays open
      silent_close: true  close the connection after the response without having said so
      slow_head: SECONDS  with raw: the head section one byte per write, SECONDS apart, then the body"""

    def _respond(self, sock, spec, req):
        if "rst" in spec:
            if spec.get("stall"):
                time.sleep(float(spec["stall"]))
            self._send(sock, mock_api._bytes(spec["rst"], "latin-1"), spec.get("write_size"),
                       float(spec.get("write_delay", 0) or 0))
            time.sleep(0.05)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            sock.close()
            return False
        if "raw_keep" in spec:
            sock.sendall(mock_api._bytes(spec["raw_keep"], "latin-1"))
            return True
        if "slow_head" in spec:
            data = mock_api._bytes(spec["raw"], "latin-1")
            end = data.find(b"\r\n\r\n") + 4
            self._send(sock, data[:end], 1, float(spec["slow_head"]))
            self._send(sock, data[end:], None, 0)
            self._finish(sock, graceful=True)
            return False
        keep = super()._respond(sock, spec, req)
        if keep and spec.get("silent_close"):
            self._finish(sock, graceful=True)
            return False
        return keep


# ---------------------------------------------------------------------------------------------------------
# Builders

def events_good(text=FINAL, **kw):
    return mock_api.message_stream(text, **kw)


def sse_good(text=FINAL, **kw):
    """The bytes of a complete, well-formed Messages stream answering `text`."""
    return mock_api.sse_from_events(events_good(text, **kw))


POISON_TOOL = {"type": "tool_use", "id": "toolu_poison", "name": "Write",
               "input": {"file_path": "poison.txt", "content": "POISON\n"}}


def events_poison():
    """A complete stream whose answer must never be kept: POISON text, then a Write of poison.txt."""
    return mock_api.message_stream(content=[{"type": "text", "text": "POISON-PARTIAL answer text"}, POISON_TOOL],
                                   stop_reason="tool_use")


def sse_poison():
    return mock_api.sse_from_events(events_poison())


def sse_poison_until(marker):
    """The poison stream cut just before the first occurrence of marker (bytes)."""
    b = sse_poison()
    i = b.find(marker)
    assert i > 0, marker
    return b[:i]


def sse_poison_no_stop():
    """The poison stream without its message_stop event: the tool_use block arrived whole."""
    return mock_api.sse_from_events([e for e in events_poison() if e[0] != "message_stop"])


def head(status=b"HTTP/1.1 200 OK", headers=(), ctype=b"text/event-stream", length=None, sep=b"\r\n"):
    """A response head: status line, content-type (unless None), content-length (unless None), headers."""
    lines = [status]
    if ctype is not None:
        lines.append(b"content-type: " + ctype)
    if length is not None:
        lines.append(b"content-length: %d" % length)
    lines.extend(headers)
    return sep.join(lines) + sep + sep


def raw(data, **kw):
    d = {"raw": data}
    d.update(kw)
    return d


def raw_len(body, status=b"HTTP/1.1 200 OK", headers=(), ctype=b"text/event-stream", sep=b"\r\n"):
    """A complete response with a content-length (the connection is closed after it by the mock)."""
    return raw(head(status, headers, ctype, len(body), sep) + body)


def chunked(body, size=64, fmt=b"%x", ext=b"", sep=b"\r\n", last=b"0\r\n\r\n"):
    out = []
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out.append((fmt % len(piece)) + ext + sep + piece + sep)
    out.append(last)
    return b"".join(out)


def raw_chunked(body, headers=(b"transfer-encoding: chunked",), **kw):
    return raw(head(headers=headers) + chunked(body, **kw))


def status(code, kind="api_error", message="server trouble", headers=None):
    d = {"status": code, "json": {"type": "error", "error": {"type": kind, "message": message}}}
    if headers:
        d["headers"] = headers
    return d


def say(text=FINAL):
    return {"text": text}


def read_call(tid="toolu_f1"):
    return {"tool_use": {"id": tid, "name": "Read", "input": {"file_path": "edited.txt"}}}



def ev_bytes(events, fmt):
    """Every event rendered by fmt(name, data_json) -> bytes, concatenated."""
    out = []
    for name, data in events:
        js = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        out.append(fmt(name, js.encode("utf-8")))
    return b"".join(out)



def delta_raw_stream(piece_json_strings):
    """A complete stream whose text deltas are given as raw JSON string literals (bytes, quotes included),
    so invalid UTF-8 and odd escapes can be sent exactly."""
    out = [sse_event_bytes("message_start", json.dumps(mock_api._message_start()[1]).encode())]
    out.append(sse_event_bytes("content_block_start",
                               b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'))
    for lit in piece_json_strings:
        out.append(sse_event_bytes("content_block_delta",
                                   b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
                                   + lit + b'}}'))
    out.append(sse_event_bytes("content_block_stop", b'{"type":"content_block_stop","index":0}'))
    out.append(sse_event_bytes("message_delta", b'{"type":"message_delta","delta":{"stop_reason":"end_turn",'
                               b'"stop_sequence":null},"usage":{"output_tokens":5}}'))
    out.append(sse_event_bytes("message_stop", b'{"type":"message_stop"}'))
    return b"".join(out)


def sse_event_bytes(name, data):
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def sse_insert(body, before, extra):
    """Insert extra bytes just before the first occurrence of `before` in body."""
    i = body.find(before)
    assert i >= 0, before
    return body[:i] + extra + body[i:]


# ---------------------------------------------------------------------------------------------------------
# Cases

class Case:
    def __init__(self, kind, name, script, rc=0, out="default", out_has=(), out_lacks=(), err_has=(),
                 err_lacks=(), env=None, new_msgs=None, check=None, args=()):
        self.kind, self.name, self.script, self.rc = kind, name, script, rc
        if out == "default":
            out = FINAL + "\n" if rc == 0 else ""
        self.out = out
        self.out_has, self.out_lacks = list(out_has), list(out_lacks)
        self.err_has, self.err_lacks = list(err_has), list(err_lacks)
        self.env = dict(env or {})
        self.new_msgs = new_msgs if new_msgs is not None else (2 if rc == 0 else 1)
        self.check = check
        self.args = list(args)
        if rc != 0 and not self.err_has:
            raise ValueError("case %s: a failing case must name its stderr phrase" % name)


def http(name, script, **kw):
    CASES.append(Case("HTTP", name, script, **kw))


def sse(name, script, **kw):
    CASES.append(Case("SSE", name, script, **kw))


R1 = {"ANTHROPIC_MAX_RETRIES": "1"}
R2 = {"ANTHROPIC_MAX_RETRIES": "2"}
R3 = {"ANTHROPIC_MAX_RETRIES": "3"}
FAST = {"retry-after-ms": "20"}
GOOD = sse_good()


def conns(n):
    def check(c, r, srv):
        c.eq(srv.connections, n, "TCP connections the faulty run opened")
    return check


def nreq(n):
    def check(c, r, srv):
        c.eq(len(srv.requests), n, "requests of the faulty run")
    return check


# -- the status line --

http("garbage_status_line", [raw(b"GARBAGE\r\n\r\n")], rc=1, err_has=["malformed status line 'GARBAGE'"])
http("http10_status_line", [{"text": FINAL, "version": "HTTP/1.0"}])
http("http10_close_delimited_body", [raw(head(status=b"HTTP/1.0 200 OK") + GOOD)])
http("http10_keep_alive_header_then_closed",
     [{"tool_use": {"id": "toolu_f1", "name": "Read", "input": {"file_path": "edited.txt"}}, "version": "HTTP/1.0",
       "headers": {"connection": "keep-alive"}}, {"text": FINAL, "version": "HTTP/1.0"}],
     new_msgs=4, check=conns(2))
http("status_line_without_reason", [raw_len(GOOD, status=b"HTTP/1.1 200")])
http("status_line_trailing_space", [raw_len(GOOD, status=b"HTTP/1.1 200 ")])
http("status_line_odd_reason_bytes", [raw_len(GOOD, status=b"HTTP/1.1 200 \xe9t\xe9 fine \x7f")])
http("status_line_lowercase_protocol", [raw_len(GOOD, status=b"http/1.1 200 OK")], rc=1,
     err_has=["malformed status line"])
http("status_line_http2", [raw_len(GOOD, status=b"HTTP/2 200")], rc=1, err_has=["malformed status line 'HTTP/2 200'"])
http("status_code_two_digits", [raw_len(GOOD, status=b"HTTP/1.1 20 OK")], rc=1, err_has=["malformed status line"])
http("status_code_four_digits", [raw_len(GOOD, status=b"HTTP/1.1 2000 OK")], rc=1, err_has=["malformed status line"])
http("status_line_9k_long", [raw_len(GOOD, status=b"HTTP/1.1 200 " + b"O" * 9000)], rc=1,
     err_has=["status line longer than"])
http("http09_body_without_head", [raw(GOOD)], rc=1, err_has=["malformed status line 'event: message_start'"])
http("blank_lines_before_status_line", [raw(b"\r\n\r\n" + head(length=len(GOOD)) + GOOD)])
http("bare_lf_line_ends", [raw(head(length=len(GOOD), sep=b"\n") + GOOD)])
http("bare_lf_chunked_framing", [raw(head(headers=[b"transfer-encoding: chunked"], sep=b"\n") +
                                     chunked(GOOD, 100, sep=b"\n", last=b"0\n\n"))])
http("empty_response_then_retry", [raw(b""), say()], env=R1, err_has=["retrying in"], check=nreq(2))
http("empty_response_no_retries", [raw(b"")], rc=1, err_has=["closed the connection before sending a response"])

# -- header lines --

http("header_without_colon", [raw_len(GOOD, headers=[b"x-broken header line"])], rc=1,
     err_has=["malformed header line 'x-broken header line'"])
http("header_space_before_colon", [raw(b"HTTP/1.1 200 OK\r\ncontent-type : text/event-stream\r\ncontent-length: %d"
                                       b"\r\n\r\n" % len(GOOD) + GOOD)], rc=1, err_has=["malformed header line"])
http("header_empty_name", [raw_len(GOOD, headers=[b": no name"])], rc=1, err_has=["malformed header line"])
http("obsolete_folded_header", [raw_len(GOOD, headers=[b"x-folded: first part", b"   continued here",
                                                       b"\tand here"])])
http("folded_line_right_after_status", [raw(b"HTTP/1.1 200 OK\r\n  folded-junk\r\ncontent-type: text/event-stream\r\n"
                                            b"content-length: %d\r\n\r\n" % len(GOOD) + GOOD)])
http("nul_byte_in_header", [raw_len(GOOD, headers=[b"x-nul: a\x00b"])], rc=1, err_has=["NUL byte"])
http("header_value_latin1_bytes", [raw_len(GOOD, headers=[b"x-odd: caf\xe9 \xff\xfe"])])
http("header_empty_value", [raw_len(GOOD, headers=[b"x-empty:", b"x-blank:   "])])
http("header_tab_after_colon", [raw(b"HTTP/1.1 200 OK\r\ncontent-type:\ttext/event-stream\t \r\ncontent-length:\t%d"
                                    b"\r\n\r\n" % len(GOOD) + GOOD)])
http("header_names_upper_case", [{"text": FINAL, "header_case": "upper"}])
http("header_names_title_case", [{"text": FINAL, "header_case": "title"}])
http("content_type_with_parameters", [{"text": FINAL, "headers": {"content-type":
                                                                  "text/event-stream; charset=utf-8"}}])
http("headers_one_byte_per_write", [raw(head(length=len(GOOD), headers=[b"x-padding: " + b"p" * 100]) + GOOD,
                                         slow_head=0.002)])
http("header_line_100kb", [raw_len(GOOD, headers=[b"x-huge: " + b"h" * 100 * 1024])], rc=1,
     err_has=["header line from 127.0.0.1 is longer than"])
http("headers_total_over_32kb", [raw_len(GOOD, headers=[b"x-h%d: %s" % (i, b"v" * 1000) for i in range(40)])],
     rc=1, err_has=["response headers from 127.0.0.1 exceed"])
http("five_hundred_small_headers", [raw_len(GOOD, headers=[b"x-h%d: v%d" % (i, i) for i in range(500)])])
http("closed_in_the_middle_of_headers", [raw(b"HTTP/1.1 200 OK\r\ncontent-type: text/ev")], rc=1,
     err_has=["in the middle of the response headers"])

# -- content-length --

http("two_different_content_lengths", [raw(head(headers=[b"content-length: %d" % len(GOOD),
                                                         b"content-length: %d" % (len(GOOD) + 5)]) + GOOD)],
     rc=1, err_has=["conflicting content-length"])
http("two_equal_content_lengths", [raw(head(headers=[b"content-length: %d" % len(GOOD)] * 2) + GOOD)])
http("content_length_list_equal", [raw(head(headers=[b"content-length: %d, %d" % (len(GOOD), len(GOOD))]) + GOOD)])
http("content_length_list_different", [raw(head(headers=[b"content-length: %d, 7" % len(GOOD)]) + GOOD)],
     rc=1, err_has=["conflicting content-length"])
http("negative_content_length", [raw(head(headers=[b"content-length: -1"]) + GOOD)], rc=1,
     err_has=["invalid content-length '-1'"])
http("content_length_overflows_2_64", [raw(head(headers=[b"content-length: 18446744073709551616"]) + GOOD)], rc=1,
     err_has=["invalid content-length '18446744073709551616'"])
http("content_length_40_digits", [raw(head(headers=[b"content-length: " + b"9" * 40]) + GOOD)], rc=1,
     err_has=["invalid content-length"])
http("content_length_not_a_number", [raw(head(headers=[b"content-length: ten"]) + GOOD)], rc=1,
     err_has=["invalid content-length 'ten'"])
http("content_length_with_plus_sign", [raw(head(headers=[b"content-length: +%d" % len(GOOD)]) + GOOD)], rc=1,
     err_has=["invalid content-length"])
http("content_length_empty", [raw(head(headers=[b"content-length: "]) + GOOD)], rc=1,
     err_has=["invalid content-length"])
http("content_length_zero", [raw(head(length=0) + GOOD)], rc=1, err_has=["ended before message_stop"])
http("body_longer_than_announced", [raw(head(length=len(GOOD)) + GOOD +
                                        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                                        b"\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"POISON\"}}\n\n")])
_READ_SSE = mock_api.sse_from_events(mock_api.tool_use_stream("toolu_f1", "Read", {"file_path": "edited.txt"}))
http("stray_bytes_after_body_keepalive", [{"raw_keep": head(length=len(_READ_SSE)) + _READ_SSE +
                                           b"HTTP/1.1 200 OK\r\nx-stray: POISON\r\n\r\n"}, say()],
     new_msgs=4, check=conns(2))
http("body_shorter_than_announced", [raw(head(length=len(sse_poison()) + 100) + sse_poison())], rc=1,
     out=None, out_has=["POISON-PARTIAL"], err_has=["closed before the answer was complete"])
http("body_shorter_than_announced_retried", [raw(head(length=len(sse_poison()) + 100) + sse_poison()), say()],
     env=R1, out=None, out_has=[FINAL + "\n"], err_has=["retrying in"])

# -- transfer-encoding and chunks --

http("transfer_encoding_with_content_length",
     [raw(head(headers=[b"content-length: 5", b"transfer-encoding: chunked"]) + chunked(GOOD, 100))])
http("transfer_encoding_gzip", [raw(head(headers=[b"transfer-encoding: gzip"]) + GOOD)], rc=1,
     err_has=["transfer-encoding 'gzip'"])
http("transfer_encoding_gzip_chunked", [raw(head(headers=[b"transfer-encoding: gzip, chunked"]) + chunked(GOOD))],
     rc=1, err_has=["transfer-encoding 'gzip'"])
http("transfer_encoding_upper_case", [raw(head(headers=[b"Transfer-Encoding: CHUNKED"]) + chunked(GOOD))])
http("transfer_encoding_empty", [raw(head(headers=[b"transfer-encoding: "]) + GOOD)], rc=1,
     err_has=["empty transfer-encoding"])
http("chunk_size_with_extension", [raw_chunked(GOOD, size=100, ext=b";name=value;other")])
http("chunk_extension_quoted_string", [raw_chunked(GOOD, size=100, ext=b';q="a;b\\" c"')])
http("chunk_size_space_before_crlf", [raw_chunked(GOOD, size=100, ext=b"  ")])
http("chunk_size_upper_case_hex", [raw_chunked(GOOD, size=171, fmt=b"%X")])
http("chunk_size_leading_zeros", [raw_chunked(GOOD, size=100, fmt=b"0000000%x")])
http("chunks_of_one_byte", [{"text": FINAL, "framing": "chunked", "chunk_size": 1}])
http("chunk_size_overflows_64_bits", [raw(head(headers=[b"transfer-encoding: chunked"]) +
                                          b"10000000000000000\r\n" + GOOD)], rc=1, err_has=["chunk size that overflows"])
http("chunk_size_all_f", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"FFFFFFFFFFFFFFFF\r\n" + GOOD)],
     rc=1, err_has=["chunk size that overflows"])
http("chunk_size_not_hex", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"zz\r\n" + GOOD)], rc=1,
     err_has=["invalid chunk size 'zz'"])
http("chunk_size_negative", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"-5\r\n" + GOOD)], rc=1,
     err_has=["invalid chunk size '-5'"])
http("chunk_size_line_empty", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"\r\n" + GOOD)], rc=1,
     err_has=["invalid chunk size"])
http("chunk_data_longer_than_size", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"5\r\n" +
                                         sse_poison() + b"\r\n0\r\n\r\n")], rc=1,
     err_has=["chunk data longer than its chunk size"])
http("chunk_missing_crlf_before_last", [raw(head(headers=[b"transfer-encoding: chunked"]) +
                                            chunked(sse_poison(), 100)[:-7] + b"0\r\n\r\n")],
     rc=1, out=None, out_has=["POISON-PARTIAL"], err_has=["chunk data longer than its chunk size"])
http("missing_last_chunk", [raw_chunked(sse_poison(), last=b"")], rc=1, out=None,
     err_has=["closed before the answer was complete"])
http("missing_last_chunk_retried", [raw_chunked(sse_poison(), last=b""), say()], env=R1, out=None,
     out_has=[FINAL + "\n"], err_has=["retrying in"])
http("missing_final_crlf_after_last_chunk", [raw_chunked(sse_poison(), last=b"0\r\n")], rc=1, out=None,
     err_has=["closed before the answer was complete"])
http("trailers_after_last_chunk", [raw_chunked(GOOD, last=b"0\r\nx-trailer: one\r\nx-checksum: abc\r\n\r\n")])
http("truncated_chunk", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"%x\r\n" % len(sse_poison()) +
                             sse_poison()[:-40])], rc=1, out=None,
     err_has=["closed before the answer was complete"])
http("empty_chunked_body", [raw(head(headers=[b"transfer-encoding: chunked"]) + b"0\r\n\r\n")], rc=1,
     err_has=["ended before message_stop"])

# -- interim responses and bodiless statuses --

http("interim_100_continue", [raw(b"HTTP/1.1 100 Continue\r\n\r\n" + head(length=len(GOOD)) + GOOD)])
http("interim_103_early_hints", [raw(b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n" +
                                     head(length=len(GOOD)) + GOOD)])
http("interim_several_1xx", [raw(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                                 b"HTTP/1.1 103 Early Hints\r\nx-a: b\r\n\r\n" + head(length=len(GOOD)) + GOOD)])
http("interim_100_then_close", [raw(b"HTTP/1.1 100 Continue\r\n\r\n")], rc=1,
     err_has=["closed the connection before sending a response"])
http("status_101_unasked", [raw(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n")],
     rc=1, err_has=["HTTP 101 from 127.0.0.1"])
http("status_204_no_content", [raw(b"HTTP/1.1 204 No Content\r\n\r\n")], rc=1,
     err_has=["ended before message_stop"])
http("status_304_not_modified", [raw(b"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n")], rc=1,
     err_has=["HTTP 304 from 127.0.0.1"])
http("status_204_keepalive_then_retry", [{"status": 204}, say()], env=R1, err_has=["retrying in"], check=nreq(2))

# -- encodings and bodies that are not an event stream --

http("gzip_content_encoding_unasked", [raw_len(b"\x1f\x8b\x08\x00" + b"\x00" * 20,
                                               headers=[b"content-encoding: gzip"])], rc=1,
     err_has=["compressed body (content-encoding 'gzip')"])
http("br_content_encoding_chunked", [raw(head(headers=[b"content-encoding: br", b"transfer-encoding: chunked"]) +
                                         chunked(b"\x0b\x02\x80hello\x03"))], rc=1,
     err_has=["content-encoding 'br'"])
http("identity_content_encoding", [raw_len(GOOD, headers=[b"content-encoding: identity"])])
http("captive_portal_html_200", [raw_len(b"<!DOCTYPE html>\n<html><head><title>Hotel WiFi Login</title></head>"
                                         b"<body><form action=\"/login\">Accept the terms</form></body></html>\n",
                                         ctype=b"text/html; charset=utf-8")], rc=1,
     err_has=["answered with text/html; charset=utf-8 instead of an event stream (a captive portal"])
http("json_body_instead_of_stream", [{"json": {"id": "msg_1", "type": "message", "role": "assistant",
                                               "content": [{"type": "text", "text": "POISON"}]}}], rc=1,
     err_has=["answered with application/json instead of an event stream"])
http("html_body_without_content_type", [raw(head(ctype=None, length=52) +
                                            b"<html><body>Please log in: http://portal/</body></html>"[:52])],
     rc=1, err_has=["ended before message_stop"])

# -- HTTP errors and retries --

http("status_429_retry_after_then_success", [status(429, "rate_limit_error", "slow down", {"retry-after": "1"}), say()],
     env=R1, err_has=["slow down", "retrying in 1.0 s"], check=nreq(2))
http("status_529_then_success", [status(529, "overloaded_error", "Overloaded"), say()], env=R1,
     err_has=["API error 529 overloaded_error: Overloaded", "retrying in"])
http("status_500_three_times_then_success", [status(500)] * 3 + [say()], env=R3,
     err_has=["retry 3 of 3"], check=nreq(4))
http("status_500_retries_exhausted", [status(500, message="still broken", headers=FAST)] * 3, env=R2, rc=1,
     err_has=["still broken", "retry 2 of 2"], check=nreq(3))
http("status_408_then_success", [status(408, headers=FAST), say()], env=R1, err_has=["retrying in"])
http("status_503_html_page_then_success",
     [{"status": 503, "body": "\n<html><head><title>503 Service Temporarily Unavailable</title></head></html>\n",
       "headers": dict(FAST, **{"content-type": "text/html"})}, say()], env=R1,
     err_has=["HTTP 503 from 127.0.0.1: <html><head><title>503 Service Temporarily Unavailable"])
http("status_503_x_should_retry_false", [status(503, headers={"x-should-retry": "false"}), say()], env=R2, rc=1,
     err_has=["API error 503"], err_lacks=["retrying in"], check=nreq(1))
http("status_400_invalid_request", [status(400, "invalid_request_error", "messages: bad"), say()], env=R2, rc=1,
     err_has=["API error 400 invalid_request_error: messages: bad"], err_lacks=["retrying in"])
http("status_401_authentication", [status(401, "authentication_error", "invalid x-api-key")], rc=1,
     err_has=["authentication_error: invalid x-api-key"])

# -- connections cut, reset, stalled, closed between turns --

http("fin_mid_stream", [{"sse_raw": sse_poison(), "cut_after": len(sse_poison()) // 2}], rc=1, out=None,
     err_has=["closed before the answer was complete"])
http("reset_mid_stream", [{"rst": head(length=len(sse_poison())) + sse_poison()[:len(sse_poison()) - 60]}], rc=1,
     out=None, err_has=["closed before the answer was complete (incomplete answer)"])
http("reset_mid_stream_retried", [{"rst": head(length=len(sse_poison())) + sse_poison()[:-60]}, say()], env=R1,
     out=None, out_has=[FINAL + "\n"], err_has=["retrying in"])
http("reset_before_response_retried", [{"rst": b""}, say()], env=R1, err_has=["retrying in"])
http("stalled_before_headers", [{"text": "POISON never", "stall": 3}], env={"API_TIMEOUT_MS": "700"}, rc=1,
     err_has=["API_TIMEOUT_MS"])
http("stalled_mid_stream", [{"sse_raw": sse_poison(), "write_size": 700, "write_delay": 3}],
     env={"API_TIMEOUT_MS": "800"}, rc=1, out=None, err_has=["API_TIMEOUT_MS"])
http("stalled_then_retry_succeeds", [{"sse_raw": sse_poison(), "write_size": 600, "write_delay": 4}, say()],
     env={"API_TIMEOUT_MS": "1500", "ANTHROPIC_MAX_RETRIES": "1"}, out=None, out_has=[FINAL + "\n"],
     err_has=["retrying in"])
http("keepalive_closed_between_turns", [dict(read_call(), close=True), say()], new_msgs=4, check=conns(2))
http("keepalive_closed_silently_between_turns", [dict(read_call(), silent_close=True), say()], new_msgs=4,
     check=conns(2))
http("keepalive_reused_between_turns", [read_call(), say()], new_msgs=4, check=conns(1))

# -- SSE: line ends, fields, framing of events --

BASE_EVENTS = events_good(FINAL, pieces=["The fault-case ", "answer is ", "complete."])


def fmt_std(name, js, eol=b"\n", space=b" "):
    return b"event:" + space + name.encode() + eol + b"data:" + space + js + eol + eol


sse("data_without_space", [{"sse_raw": ev_bytes(BASE_EVENTS, lambda n, j: fmt_std(n, j, space=b""))}])
sse("data_with_two_spaces", [{"sse_raw": ev_bytes(BASE_EVENTS, lambda n, j: b"event: " + n.encode() +
                                                 b"\ndata:  " + j + b"\n\n")}])
sse("stream_ends_without_blank_line", [{"sse_raw": GOOD[:-1]}])
sse("stream_ends_without_any_line_end", [{"sse_raw": GOOD[:-2]}])
sse("split_at_every_byte", [{"sse_raw": GOOD, "write_size": 1}])
sse("crlf_split_at_every_byte", [{"sse_raw": GOOD.replace(b"\n", b"\r\n"), "write_size": 1}])
sse("cr_only_line_ends", [{"sse_raw": GOOD.replace(b"\n", b"\r")}])
sse("cr_only_split_at_every_byte", [{"sse_raw": GOOD.replace(b"\n", b"\r"), "write_size": 1}])
sse("crlf_line_ends", [{"sse_raw": GOOD.replace(b"\n", b"\r\n")}])
sse("mixed_line_ends", [{"sse_raw": ev_bytes(BASE_EVENTS, lambda n, j: b"event: " + n.encode() + b"\r" +
                                             b"data: " + j + b"\n\r\n")}])
sse("bom_at_start", [{"sse_raw": b"\xef\xbb\xbf" + GOOD}])
sse("bom_at_start_split_at_every_byte", [{"sse_raw": b"\xef\xbb\xbf" + GOOD, "write_size": 1}])
sse("comment_lines", [{"sse_raw": b": hello\n\n" + GOOD.replace(b"\n\n", b"\n: keep-alive comment\n\n")
                       .replace(b"data: ", b":comment between\ndata: ")}])
sse("id_and_retry_fields", [{"sse_raw": GOOD.replace(b"event: ", b"id: 42\nretry: 10000\nevent: ")}])
sse("unknown_fields", [{"sse_raw": GOOD.replace(b"event: ", b"foo: bar\nx-field\nevent: ")}])
sse("multiple_data_lines", [{"sse_raw": ev_bytes(BASE_EVENTS, lambda n, j: b"event: " + n.encode() + b"\n" +
                                                 b"".join(b"data: " + piece + b"\n" for piece in
                                                          j.replace(b',"', b',\n"').split(b"\n")) + b"\n")}])
sse("unnamed_events", [{"sse_raw": ev_bytes(BASE_EVENTS, lambda n, j: b"data: " + j + b"\n\n")}])
sse("event_field_without_space", [{"sse_raw": GOOD.replace(b"event: ", b"event:")}])
sse("ping_storm", [{"sse_raw": sse_insert(GOOD, b"event: content_block_delta",
                                          b"event: ping\ndata: {\"type\":\"ping\"}\n\n" * 300)}])
sse("ping_without_data", [{"sse_raw": sse_insert(GOOD, b"event: content_block_delta", b"event: ping\n\n")}])
sse("events_after_message_stop", [{"sse_raw": GOOD + b"event: ping\ndata: {\"type\":\"ping\"}\n\n"}])

# -- SSE: sizes --

BIG = "B" * (200 * 1024)
sse("event_bigger_than_cap", [{"sse_raw": delta_raw_stream([json.dumps("POISON" + "x" * (260 * 1024)).encode()])}],
    rc=1, out=None, err_has=["too large (over 262144 bytes)"], env=R2, check=nreq(1))
sse("event_just_under_cap", [say(BIG)], out=BIG + "\n")
sse("one_megabyte_in_small_deltas", [{"events": mock_api.message_stream(pieces=["m" * 1000] * 1000,
                                                                       text="m" * 1000000)}],
    out="m" * 1000000 + "\n")
sse("five_thousand_one_char_deltas", [{"events": mock_api.message_stream(pieces=list(FINAL * 150),
                                                                        text=FINAL * 150)}],
    out=FINAL * 150 + "\n")

# -- SSE: text encodings --

sse("invalid_utf8_inside_text", [{"sse_raw": delta_raw_stream([b'"bad \xff\xfe bytes "', b'"and \xc3( more. "',
                                                               json.dumps(FINAL).encode()])}],
    out=None, out_has=["bad ", " bytes ", FINAL + "\n"])
sse("utf8_char_split_across_deltas", [{"sse_raw": delta_raw_stream([b'"caf\xc3"', b'"\xa9 \xf0\x9f"',
                                                                    b'"\x98\x80 ok"'])}],
    out="caf\u00e9 \U0001F600 ok\n")
sse("surrogate_bytes_in_utf8", [{"sse_raw": delta_raw_stream([b'"x\xed\xa0\x80y "', json.dumps(FINAL).encode()])}],
    out=None, out_has=[FINAL + "\n"])
sse("unicode_escapes", [{"sse_raw": delta_raw_stream([b'"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\t."'])}],
    out="caf\u00e9 \U0001F600 \"q\" \\ \t.\n")
sse("lone_surrogate_escape", [{"sse_raw": delta_raw_stream([b'"lone \\ud800 here "', json.dumps(FINAL).encode()])}],
    out=None, out_has=[FINAL + "\n"])
sse("nul_escape_in_text", [{"sse_raw": delta_raw_stream([b'"nul \\u0000 here "', json.dumps(FINAL).encode()])}],
    out=None, out_has=[FINAL + "\n"])

# -- SSE: JSON and event content --

sse("invalid_json_in_event", [{"sse_raw": sse_insert(sse_poison(), b"event: message_stop",
                                                     b"event: content_block_delta\ndata: {not json at all\n\n")}],
    rc=1, out=None, err_has=["not a valid JSON object: '{not json at all'"])
sse("truncated_json_in_event", [{"sse_raw": sse_insert(sse_poison(), b"event: content_block_stop",
                                                       b"event: content_block_delta\ndata: {\"type\":\"content_b\n\n")}],
    rc=1, out=None, err_has=["not a valid JSON object"])
sse("json_array_instead_of_object", [{"sse_raw": sse_insert(GOOD, b"event: message_stop",
                                                            b"event: message_delta\ndata: [1,2,3]\n\n")}],
    rc=1, out=None, err_has=["not a valid JSON object: '[1,2,3]'"])
sse("unknown_event_types_skipped", [{"sse_raw": sse_insert(GOOD, b"event: content_block_delta",
                                                           b"event: future_event\ndata: {\"type\":\"future_event\","
                                                           b"\"x\":1}\n\nevent: other_thing\ndata: not even json\n\n")}])
sse("unknown_delta_type_skipped", [{"events": mock_api.message_stream(content=[
    {"start": {"type": "text", "text": ""},
     "deltas": [{"type": "text_delta", "text": "The fault-case "},
                {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "POISON"}},
                {"type": "future_delta", "blob": [1, 2, 3]},
                {"type": "text_delta", "text": "answer is complete."}]}])}])
sse("delta_for_block_never_started", [{"sse_raw": sse_insert(GOOD, b"event: message_delta",
                                                             b"event: content_block_delta\ndata: {\"type\":"
                                                             b"\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
                                                             b"\"text_delta\",\"text\":\"orphan\"}}\n\n")}])
sse("block_index_out_of_range", [{"sse_raw": sse_insert(sse_poison(), b"event: message_delta",
                                                        b"event: content_block_start\ndata: {\"type\":"
                                                        b"\"content_block_start\",\"index\":999,\"content_block\":"
                                                        b"{\"type\":\"text\",\"text\":\"\"}}\n\n")}],
    rc=1, out=None, err_has=["content block index outside"])

UNKNOWN_BLOCK = {"type": "future_block", "id": "fb_01", "payload": {"k": [1, 2.5, {"z": "caf\u00e9"}], "t": True,
                                                                    "n": None}, "note": "kept \"as is\""}
SERVER_TOOL = {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {}}


def _assistant_block_check(want):
    def check(c, r, srv):
        c.eq(len(srv.requests), 2, "requests of the faulty run")
        msgs = srv.requests[1]["body"]["messages"]
        am = msgs[-2]
        c.eq(am.get("role"), "assistant", "role of the second newest message in request 1")
        got = strip_cache(am["content"][0])
        c.eq(got, want, "the unknown block as sent back")
        c.eq([b.get("type") for b in am["content"]], [want["type"], "tool_use"], "assistant blocks sent back")
        c.check(json.dumps(want, sort_keys=True) in [json.dumps(strip_cache(b), sort_keys=True)
                                                     for m in c.session_messages() for b in m["content"]],
                "the unknown block is not in the session file as it was")
    return check


sse("unknown_content_block_sent_back_unchanged",
    [{"events": mock_api.message_stream(content=[
        {"start": UNKNOWN_BLOCK, "deltas": [{"type": "future_delta", "more": 1}]},
        {"type": "tool_use", "id": "toolu_f1", "name": "Read", "input": {"file_path": "edited.txt"}}],
        stop_reason="tool_use")}, say()],
    new_msgs=4, check=_assistant_block_check(UNKNOWN_BLOCK))
sse("unknown_block_with_input_json_delta",
    [{"events": mock_api.message_stream(content=[
        {"start": SERVER_TOOL, "deltas": [{"type": "input_json_delta", "partial_json": "{\"query\": "},
                                          {"type": "input_json_delta", "partial_json": "\"caf\u00e9 \\\"x\\\"\"}"}]},
        {"type": "tool_use", "id": "toolu_f1", "name": "Read", "input": {"file_path": "edited.txt"}}],
        stop_reason="tool_use")}, say()],
    new_msgs=4, check=_assistant_block_check(dict(SERVER_TOOL, input={"query": "caf\u00e9 \"x\""})))


def _written(c, r, srv):
    c.eq(c.read("ok.txt"), "written in tiny pieces\n", "ok.txt")


WRITE_IN = json.dumps({"file_path": "ok.txt", "content": "written in tiny pieces\n"})
sse("tool_input_in_one_char_pieces", [{"tool_use": {"id": "toolu_f1", "name": "Write",
                                                    "input": json.loads(WRITE_IN), "json_pieces": [""] + list(WRITE_IN)}},
                                      say()], new_msgs=4, check=_written)

# -- SSE: errors and incomplete streams --


def stream_error_events(kind, msg="trouble"):
    ev = events_poison()[:4]
    ev.append(["error", {"type": "error", "error": {"type": kind, "message": msg}}])
    return ev


sse("error_event_overloaded_retried", [{"events": stream_error_events("overloaded_error", "Overloaded")}, say()],
    env=R1, out=None, out_has=[FINAL + "\n"], err_has=["API error (overloaded_error) in the middle of the answer",
                                                      "retrying in"], check=nreq(2))
sse("error_event_api_error_no_retries", [{"events": stream_error_events("api_error", "Internal")}], rc=1, out=None,
    err_has=["API error (api_error) in the middle of the answer: Internal"])
sse("error_event_invalid_request_not_retried", [{"events": stream_error_events("invalid_request_error", "bad")},
                                                say()], env=R2, rc=1, out=None,
    err_has=["(invalid_request_error)"], err_lacks=["retrying in"], check=nreq(1))
sse("message_stop_missing", [{"sse_raw": sse_poison_no_stop()}], rc=1, out=None,
    err_has=["ended before message_stop"])
sse("message_stop_missing_retried", [{"sse_raw": sse_poison_no_stop()}, say()], env=R1, out=None,
    out_has=[FINAL + "\n"], err_has=["retrying in"])
sse("cut_inside_tool_use_block_chunked", [{"sse_raw": sse_poison(), "framing": "chunked", "chunk_size": 64,
                                            "cut_after": sse_poison().find(b'"content_block_stop","index":1')}],
    rc=1, out=None, err_has=["closed before the answer was complete (incomplete answer)"])
sse("stream_ends_inside_an_event", [{"sse_raw": sse_poison_until(b'"message_stop"')}], rc=1, out=None,
    err_has=["(incomplete answer)"])
sse("close_delimited_cut_inside_an_event_retried",
    [{"sse_raw": sse_poison_until(b'"content_block_stop","index":1'), "framing": "close"}, say()], env=R1, out=None,
    out_has=[FINAL + "\n"], err_has=["(incomplete answer)", "retrying in"], check=nreq(2))


# ---------------------------------------------------------------------------------------------------------
# One case's world

def strip_cache(obj):
    if isinstance(obj, dict):
        return {k: strip_cache(v) for k, v in obj.items() if k != "cache_control"}
    if isinstance(obj, list):
        return [strip_cache(v) for v in obj]
    return obj


class Ctx(e2e_lib.Ctx):
    """test/e2e_lib.py's, with FaultServer, every run in bypass mode, and the session file."""
    TMP_PREFIX = "agent-e2e-fault-"
    RUN_TIMEOUT = 30
    SERVER = FaultServer
    ENV = {"API_TIMEOUT_MS": "10000"}
    SANITIZER_ENV = True
    EQ_CLIP = 800
    OUT_CLIP = ERR_CLIP = 1200
    REQUEST_CLIP = 1500

    def run(self, srv, args, env=None):
        argv = [self.agent] + list(args) + ["--dangerously-skip-permissions"]
        return self.spawn(argv, self.env(srv, env), srv)

    # -- the session file --

    def session_path(self):
        files = glob.glob(os.path.join(self.home, "state", "agent", "sessions", "*", "*.jsonl"))
        self.check(len(files) == 1, "expected exactly one session file, found %r" % files)
        return files[0]

    def session_raw(self):
        with open(self.session_path(), "rb") as f:
            return f.read()

    def session_lines(self):
        """Every line of the session file as JSON (strict UTF-8, each line complete with its newline)."""
        data = self.session_raw()
        self.check(data.endswith(b"\n"), "the session file does not end with a newline: %r" % clip(data[-200:], 300))
        out = []
        for i, line in enumerate(data[:-1].split(b"\n")):
            try:
                obj = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise Fail("session line %d does not parse (%s): %r" % (i + 1, e, clip(line, 300)))
            self.check(isinstance(obj, dict), "session line %d is not an object" % (i + 1))
            out.append(obj)
        return out

    def session_messages(self):
        return [o["message"] for o in self.session_lines() if o.get("type") == "message"]

    def brief(self, body, first):
        """Only the messages: what a case checks."""
        return json.dumps(body.get("messages"), ensure_ascii=False) if isinstance(body, dict) else repr(body)

    def more_diagnostics(self):
        try:
            return ["session: %r" % clip(self.session_raw().decode("utf-8", "replace"), 2500)]
        except Exception:
            return []


SETUP_SCRIPT = [
    {"events": mock_api.message_stream(content=[
        {"type": "tool_use", "id": "toolu_setup_read", "name": "Read", "input": {"file_path": "edited.txt"}},
        {"type": "tool_use", "id": "toolu_setup_edit", "name": "Edit",
         "input": {"file_path": "edited.txt", "old_string": "alpha", "new_string": "beta"}}],
        stop_reason="tool_use")},
    {"text": SETUP_TEXT},
]


def prefix_ok(c, srv, i, setup_msgs, what):
    """Request i of srv carries the completed setup turn unchanged as its first messages."""
    c.check(i < len(srv.requests), "%s: request %d was never made" % (what, i))
    body = srv.requests[i]["body"]
    c.check(isinstance(body, dict), "%s: request %d body is not JSON: %r" % (what, i, clip(body, 300)))
    msgs = strip_cache(body.get("messages", []))
    c.eq(msgs[:len(setup_msgs)], setup_msgs, "%s: the first messages of request %d (the completed setup turn)" %
         (what, i))
    c.check("poison" not in json.dumps(body).lower(), "%s: request %d carries something of a stream that did "
            "not complete (POISON)" % (what, i))


def run_case(cs, c):
    """One case: the setup turn, the faulty turn, the recovery turn (see the module docstring)."""
    with open(c.path("edited.txt"), "w") as f:
        f.write("alpha\n")
    # 1. a completed turn
    s0 = c.server(SETUP_SCRIPT)
    r0 = c.run(s0, ["-p", "set the scene"])
    c.eq(r0.rc, 0, "setup run exit code")
    c.eq(r0.out, SETUP_TEXT + "\n", "setup run stdout")
    c.eq(c.read("edited.txt"), "beta\n", "edited.txt after the setup run")
    setup_raw = c.session_raw()
    lines = c.session_lines()
    c.eq([(o.get("type"), (o.get("message") or {}).get("role")) for o in lines],
         [("session", None), ("message", "user"), ("message", "assistant"), ("message", "user"),
          ("message", "assistant")], "session lines after the setup run")
    setup_msgs = [o["message"] for o in lines[1:]]

    # 2. the faulty turn, continuing that session
    srv = c.server(cs.script)
    r = c.run(srv, ["-c", "-p", PROMPT] + cs.args, env=cs.env)
    c.eq(r.rc, cs.rc, "exit status of the faulty run")
    if cs.out is not None:
        c.eq(r.out, cs.out, "stdout of the faulty run")
    for s in cs.out_has:
        c.has(r.out, s, "stdout of the faulty run")
    for s in cs.out_lacks:
        c.lacks(r.out, s, "stdout of the faulty run")
    if cs.rc == 0 and cs.out is None:
        c.check(r.out.endswith(FINAL + "\n") or cs.out_has, "stdout does not end with the answer")
    for s in cs.err_has:
        c.has(r.err, s, "stderr of the faulty run")
    for s in cs.err_lacks:
        c.lacks(r.err, s, "stderr of the faulty run")
    c.lacks(r.err, "AddressSanitizer", "stderr")
    c.lacks(r.err, "runtime error", "stderr")
    prefix_ok(c, srv, 0, setup_msgs, "faulty run")

    # nothing lost, nothing half-received kept, nothing from a cut stream run
    raw_after = c.session_raw()
    c.check(raw_after.startswith(setup_raw), "the session file no longer starts with the setup turn's bytes")
    lines = c.session_lines()
    new = lines[5:]
    c.check(all(o.get("type") == "message" and isinstance(o.get("message", {}).get("content"), list)
                for o in new), "a new session line is not a message: %r" % clip(json.dumps(new), 600))
    c.eq(len(new), cs.new_msgs, "new messages in the session file after the faulty run")
    c.eq(new[0]["message"]["role"], "user", "role of the first new message")
    c.check(any(b.get("text") == PROMPT for b in new[0]["message"]["content"]),
            "the faulty turn's prompt is not the first new message")
    if cs.rc == 0:
        last = new[-1]["message"]
        c.eq(last["role"], "assistant", "role of the last message saved")
        texts = [b.get("text") for b in last["content"] if b.get("type") == "text"]
        if cs.out == FINAL + "\n":
            c.eq(texts, [FINAL], "text of the last message saved")
        elif FINAL + "\n" in cs.out_has:
            c.check(len(texts) == 1 and texts[0].endswith(FINAL), "text of the last message saved: %r" % texts)
    c.check(b"poison" not in raw_after.lower(), "the session file holds something of a stream that did not "
            "complete (POISON)")
    c.check(not os.path.exists(c.path("poison.txt")), "poison.txt exists: a tool call from a cut stream ran")
    c.eq(c.read("edited.txt"), "beta\n", "edited.txt after the faulty run")
    if cs.check:
        cs.check(c, r, srv)

    # 3. the session goes on
    s2 = c.server([say("RECOVERED")])
    r2 = c.run(s2, ["-c", "-p", RECOVER])
    c.eq(r2.rc, 0, "exit status of the recovery run")
    c.eq(r2.out, "RECOVERED\n", "stdout of the recovery run")
    prefix_ok(c, s2, 0, setup_msgs, "recovery run")
    body = s2.requests[0]["body"]
    c.check(PROMPT in json.dumps(body), "the recovery request lost the faulty turn's prompt")
    c.check(c.session_raw().startswith(raw_after), "the recovery run rewrote earlier session lines")
    c.session_lines()
    if c.args.show:
        c.ok_lines = ["faulty run: rc %r, %.2f s, %d requests, %d connections" %
                      (r.rc, r.elapsed, len(srv.requests), srv.connections),
                      "stdout: %r" % clip(r.out, 300), "stderr: %r" % clip(r.err, 600)]


SUITE.tests = [(cs.name, functools.partial(run_case, cs), {"case": cs}) for cs in CASES]


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
