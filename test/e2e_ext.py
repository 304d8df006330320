#!/usr/bin/env python3
"""End-to-end tests of agent's OpenAI-compatible provider and its WebFetch tool: the real binary against
test/mock_api.py (its Chat Completions dialect and its `pages`).

    python3 test/e2e_ext.py --agent ./agent [--filter S] [--label L]

Each test has its own mock servers (127.0.0.1, port 0), its own working directory and HOME (XDG_STATE_HOME and
XDG_CONFIG_HOME inside it), and runs the agent in print mode (-p) with a clean environment. One line per test:
"ok - ext: NAME" or "not ok - ext: NAME" followed by indented diagnostics (the command, exit code, stdout and
stderr excerpts, the requests each server received). The last line is "e2e_ext: N passed, N failed"; exit
status 1 when any test fails. Python 3 standard library only.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_api  # noqa: E402
import e2e_lib  # noqa: E402
from e2e_lib import API_KEY as ANTHROPIC_KEY, Fail, call, certs, clip, say  # noqa: E402

OPENAI_KEY = "sk-test-openai-456"
SUITE = e2e_lib.Suite("ext")
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# Script builders (say and call: test/e2e_lib.py)

def otext(text, pieces=None, **kw):
    """An OpenAI text answer; kw: more spec keys (usage, cut, finish_reason...)."""
    spec = {"openai_text": text}
    if pieces is not None:
        spec["pieces"] = pieces
    spec.update(kw)
    return spec


def ocalls(*uses, text_before=None, **kw):
    """An OpenAI answer with tool calls: uses are (id, name, input[, pieces]) tuples."""
    tcs = []
    for u in uses:
        tc = {"id": u[0], "name": u[1], "arguments": json.dumps(u[2])}
        if len(u) > 3:
            tc["pieces"] = u[3]
            if "".join(u[3]) != tc["arguments"]:
                tc["arguments"] = "".join(u[3])
        tcs.append(tc)
    spec = {"openai_tool_calls": tcs}
    if text_before is not None:
        spec["text_before"] = text_before
    spec.update(kw)
    return spec


def webfetch(tid, url, prompt="What does the page say?"):
    return call(tid, "WebFetch", {"url": url, "prompt": prompt})


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): page servers, the OpenAI-compatible provider

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-ext-"
    RUN_TIMEOUT = 40

    def page_server(self, pages, tls=False):
        """A server for web pages only (its script is empty: any POST gets a 500)."""
        return self.server([], pages=pages, tls=tls)

    def env(self, srv, openai=False, extra=None, drop=()):
        e = super().env(srv)
        if openai:
            e["OPENAI_BASE_URL"] = "http://127.0.0.1:%d/v1" % srv.port
            e["OPENAI_API_KEY"] = OPENAI_KEY
        e.update(extra or {})
        for k in drop:
            e.pop(k, None)
        return e

    def run(self, srv, args, prompt="do the task", openai=False, env=None, drop=(), flag=True, timeout=None):
        """Run agent -p PROMPT [--provider openai] ARGS against srv (stdin /dev/null); timeout: seconds (else
        RUN_TIMEOUT) before it is killed."""
        argv = [self.agent]
        if prompt is not None:
            argv += ["-p", prompt]
        if openai and flag:
            argv += ["--provider", "openai"]
        argv += list(args)
        return self.spawn(argv, self.env(srv, openai, env, drop), srv, timeout=timeout)

    def sessions(self):
        out = []
        for dp, _, fns in os.walk(os.path.join(self.home, "state", "agent", "sessions")):
            out += [os.path.join(dp, f) for f in fns]
        return sorted(out)

    def ngets(self, srv, n):
        if len(srv.page_requests) != n:
            raise Fail("expected %d requests to the page server, got %d" % (n, len(srv.page_requests)))


def text_of(content):
    """All the text of a message content: a string, or the text (and tool_result text) of its blocks."""
    if isinstance(content, str):
        return content
    out = []
    for b in content or []:
        if not isinstance(b, dict):
            continue
        if b.get("type") == "text":
            out.append(b.get("text", ""))
        elif b.get("type") == "tool_result":
            out.append(text_of(b.get("content")))
    return "\n".join(out)


def result_text(b):
    return text_of(b.get("content"))


def tool_names_openai(body):
    return [(t.get("function") or {}).get("name") for t in body.get("tools") or []]


# ---------------------------------------------------------------------------------------------------------
# OpenAI-compatible provider

@test
def t_openai_text_printed(c):
    srv = c.server([otext("Hello from the OpenAI side.", pieces=["Hello ", "from the ", "OpenAI side."])])
    r = c.run(srv, [], openai=True, prompt="say hello", drop=("ANTHROPIC_API_KEY",))
    c.ok(r)
    c.nreq(srv, 1)
    c.eq(srv.requests[0]["path"], "/v1/chat/completions", "request path")
    c.check(r.out in ("Hello from the OpenAI side.", "Hello from the OpenAI side.\n"), "stdout %r" % r.out)


@test
def t_openai_request_body(c):
    ref = c.server([say("anthropic reference")])
    c.ok(c.run(ref, ["--model", "gpt-test-1"], prompt="say hi"))
    aref = c.body(ref, 0)
    srv = c.server([otext("Hi there.")])
    r = c.run(srv, ["--model", "gpt-test-1"], openai=True, prompt="say hi")
    c.ok(r)
    c.nreq(srv, 1)
    q = srv.requests[0]
    c.eq(q["method"], "POST", "method")
    c.eq(q["path"], "/v1/chat/completions", "path")
    c.eq(q["headers"].get("authorization"), "Bearer " + OPENAI_KEY, "authorization header")
    c.check("x-api-key" not in q["headers"], "x-api-key header sent to the OpenAI endpoint: %r" % q["headers"])
    for k, v in q["headers"].items():
        c.lacks(v, ANTHROPIC_KEY, "header %s" % k)
    c.has(q["headers"].get("content-type", ""), "application/json", "content-type")
    b = q["body"]
    c.eq(b.get("model"), "gpt-test-1", "model")
    c.check(isinstance(b.get("max_tokens"), int) and not isinstance(b["max_tokens"], bool) and b["max_tokens"] > 0,
            "max_tokens: %r" % b.get("max_tokens"))
    c.eq(b.get("stream"), True, "stream")
    c.eq(b.get("stream_options"), {"include_usage": True}, "stream_options")
    c.check("system" not in b, "a top-level system key in the OpenAI body")
    msgs = b.get("messages")
    c.check(isinstance(msgs, list) and len(msgs) == 2, "messages: expected [system, user], got %r" % clip(msgs, 500))
    c.eq(msgs[0].get("role"), "system", "role of the first message")
    sys_text = msgs[0].get("content")
    c.check(isinstance(sys_text, str), "system content is not a string: %r" % clip(sys_text, 300))
    for blk in aref["system"]:
        c.has(sys_text, blk["text"], "system content (each system block of the Anthropic request)")
    c.eq(msgs[1].get("role"), "user", "role of the second message")
    u = msgs[1].get("content")
    c.check(isinstance(u, str), "user content is not a string: %r" % clip(u, 300))
    c.check(u.rstrip().endswith("say hi"), "user content does not end with the prompt: %r" % clip(u, 300))
    c.has(u, "<system-reminder>", "user content (the reminder blocks joined in)")
    c.has(u, "todo list is currently empty", "user content (the todo reminder)")
    tools = b.get("tools")
    c.check(isinstance(tools, list) and tools, "tools missing")
    want = [(t["name"], t.get("description"), t.get("input_schema")) for t in aref["tools"]]
    for t in tools:
        c.eq(t.get("type"), "function", "type of tool %r" % t.get("function", {}).get("name"))
        c.eq(sorted(t.get("function", {}).keys()), ["description", "name", "parameters"],
             "keys of function %r" % t.get("function", {}).get("name"))
    got = [(t["function"]["name"], t["function"]["description"], t["function"]["parameters"]) for t in tools]
    c.eq([g[0] for g in got], [w[0] for w in want], "tool names (as in the Anthropic request)")
    for g, w in zip(got, want):
        c.eq(g, w, "function %s (description, parameters = input_schema)" % w[0])
    c.check("cache_control" not in json.dumps(b), "cache_control in the OpenAI body")


@test
def t_openai_env_provider_model_no_key(c):
    """AGENT_PROVIDER=openai, OPENAI_MODEL, no OPENAI_API_KEY: no Authorization header; no Anthropic key needed."""
    srv = c.server([otext("env ok")])
    r = c.run(srv, [], openai=True, flag=False, env={"AGENT_PROVIDER": "openai", "OPENAI_MODEL": "gpt-env-model"},
              drop=("OPENAI_API_KEY", "ANTHROPIC_API_KEY"))
    c.ok(r)
    c.nreq(srv, 1)
    q = srv.requests[0]
    c.eq(q["path"], "/v1/chat/completions", "path")
    c.eq(q["body"].get("model"), "gpt-env-model", "model (OPENAI_MODEL)")
    c.check("authorization" not in q["headers"], "authorization header without a key: %r" %
            q["headers"].get("authorization"))
    c.check("x-api-key" not in q["headers"], "x-api-key header")
    c.has(r.out, "env ok", "stdout")


@test
def t_openai_model_default_and_flag(c):
    srv = c.server([otext("one"), otext("two")])
    c.ok(c.run(srv, [], openai=True))
    c.ok(c.run(srv, ["--model", "gpt-flag-model"], openai=True, env={"OPENAI_MODEL": "gpt-env-model"}))
    c.nreq(srv, 2)
    c.eq(srv.requests[0]["body"].get("model"), "gpt-4o-mini", "default model")
    c.eq(srv.requests[1]["body"].get("model"), "gpt-flag-model", "model with --model and OPENAI_MODEL")


@test
def t_openai_tool_call_in_pieces(c):
    inp = {"file_path": "out.txt", "content": "written by gpt\nline two\n"}
    args = json.dumps(inp)
    pieces = [args[:7], args[7:19], args[19:20], args[20:41], args[41:]]
    srv = c.server([ocalls(("call_w1", "Write", inp, pieces), text_before="I will write it."),
                    otext("Written.")])
    r = c.run(srv, ["--allowedTools", "Write"], openai=True)
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(c.read("out.txt"), inp["content"], "out.txt")
    msgs = c.body(srv, 1)["messages"]
    c.eq([m.get("role") for m in msgs], ["system", "user", "assistant", "tool"], "roles in request 1")
    c.eq(msgs[:2], c.body(srv, 0)["messages"], "the first two messages (as in request 0)")
    a = msgs[2]
    c.eq(a.get("content"), "I will write it.", "assistant content")
    tcs = a.get("tool_calls")
    c.check(isinstance(tcs, list) and len(tcs) == 1, "assistant tool_calls: %r" % tcs)
    tc = tcs[0]
    c.eq(tc.get("id"), "call_w1", "tool call id")
    c.eq(tc.get("type"), "function", "tool call type")
    c.eq(tc.get("function", {}).get("name"), "Write", "function name")
    argstr = tc.get("function", {}).get("arguments")
    c.check(isinstance(argstr, str), "arguments is not a JSON string: %r" % argstr)
    c.eq(json.loads(argstr), inp, "arguments (parsed)")
    t = msgs[3]
    c.eq(t.get("tool_call_id"), "call_w1", "tool_call_id")
    c.check(isinstance(t.get("content"), str) and t["content"], "tool content: %r" % t.get("content"))
    c.has(r.out, "Written.", "stdout")


@test
def t_openai_two_tool_calls(c):
    c.write("in.txt", "INPUT-LINE-42\n")
    srv = c.server([ocalls(("call_a", "Read", {"file_path": "in.txt"}),
                           ("call_b", "Write", {"file_path": "b.txt", "content": "bee\n"})),
                    otext("Both done.")])
    r = c.run(srv, ["--allowedTools", "Write"], openai=True)
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(c.read("b.txt"), "bee\n", "b.txt")
    msgs = c.body(srv, 1)["messages"]
    c.eq([m.get("role") for m in msgs], ["system", "user", "assistant", "tool", "tool"], "roles in request 1")
    a = msgs[2]
    c.eq(a.get("content"), None, "assistant content without text (null)")
    c.eq([(t.get("id"), t.get("function", {}).get("name")) for t in a.get("tool_calls") or []],
         [("call_a", "Read"), ("call_b", "Write")], "assistant tool_calls")
    c.eq(json.loads(a["tool_calls"][1]["function"]["arguments"]), {"file_path": "b.txt", "content": "bee\n"},
         "second call's arguments")
    c.eq([m.get("tool_call_id") for m in msgs[3:]], ["call_a", "call_b"], "tool_call_ids in order")
    c.has(msgs[3].get("content"), "INPUT-LINE-42", "Read result")
    c.has(r.out, "Both done.", "stdout")


@test
def t_openai_cut_mid_tool_call_retried(c):
    cut = ocalls(("call_cut", "Bash", {"command": "touch cutmarker"}, ['{"comm', 'and": "touch ', 'cutmarker"}']),
                 cut="arguments")
    srv = c.server([cut, otext("Recovered after the cut.")])
    r = c.run(srv, ["--dangerously-skip-permissions"], openai=True, env={"ANTHROPIC_MAX_RETRIES": "3"})
    c.ok(r)
    c.nreq(srv, 2)
    c.check(not os.path.exists(c.path("cutmarker")), "the half-received tool call ran (cutmarker exists)")
    c.eq(c.body(srv, 1)["messages"], c.body(srv, 0)["messages"], "messages of the retry")
    c.has(r.out, "Recovered after the cut.", "stdout")
    lines = [ln for ln in r.err.split("\n") if "retrying in" in ln]
    c.eq(len(lines), 1, "'retrying in' lines on stderr")
    c.has(lines[0], "(retry 1 of 3)", "retry line")
    for f in c.sessions():
        with open(f, encoding="utf-8", errors="replace") as fh:
            c.lacks(fh.read(), "call_cut", "session file %s" % f)


@test
def t_openai_cut_retries_exhausted(c):
    cut = ocalls(("call_cut2", "Bash", {"command": "touch cutmarker"}, ['{"comm', 'and": "touch ', 'cutmarker"}']),
                 cut="arguments")
    srv = c.server([cut, dict(cut), otext("never")])
    r = c.run(srv, ["--dangerously-skip-permissions", "--max-retries", "1"], openai=True)
    c.check(r.rc != 0 and isinstance(r.rc, int), "exit code: expected non-zero, got %r" % r.rc)
    c.nreq(srv, 2)
    c.check(not os.path.exists(c.path("cutmarker")), "the half-received tool call ran (cutmarker exists)")
    c.lacks(r.out, "never", "stdout")
    last = [ln for ln in r.err.split("\n") if ln.strip() and "retrying in" not in ln]
    c.check(last, "no error message on stderr")
    c.check(re.search(r"incomplete|ended before|\[DONE\]|cut", "\n".join(last), re.I),
            "stderr does not say the answer was incomplete: %r" % clip(r.err, 600))


@test
def t_openai_cut_before_finish_not_run(c):
    """Every argument piece arrived (the JSON is complete) but no finish_reason and no [DONE]: never run."""
    cut = ocalls(("call_cf", "Bash", {"command": "touch cutmarker"}), cut="finish")
    srv = c.server([cut, otext("never")])
    r = c.run(srv, ["--dangerously-skip-permissions"], openai=True)
    c.check(r.rc != 0 and isinstance(r.rc, int), "exit code: expected non-zero, got %r" % r.rc)
    c.nreq(srv, 1)
    c.check(not os.path.exists(c.path("cutmarker")), "the unfinished tool call ran (cutmarker exists)")


@test
def t_openai_length_mid_tool_call(c):
    """finish_reason "length" in the middle of a tool call's arguments (as the Anthropic max_tokens case): the
    call never runs, is not sent back, and the next user message says the reply was cut off."""
    chunks, _ = mock_api.openai_chunks(text_before="Making it.", finish_reason="length",
                                       tool_calls=[{"id": "call_len", "name": "Bash",
                                                    "arguments": '{"command": "touch cut-mark',
                                                    "pieces": ['{"command": ', '"touch cut-mark']}])
    srv = c.server([{"openai_chunks": chunks}, otext("Sorry, done now.")])
    r = c.run(srv, ["--dangerously-skip-permissions"], openai=True)
    c.ok(r)
    c.nreq(srv, 2)
    c.check(not os.path.exists(c.path("cut-mark")), "the cut-off command ran: cut-mark exists")
    msgs = c.body(srv, 1)["messages"]
    c.eq([m.get("role") for m in msgs], ["system", "user", "assistant", "user"], "roles in request 1")
    c.check(not msgs[2].get("tool_calls"), "the cut tool call was sent back: %r" % msgs[2])
    c.has(msgs[3].get("content"), "cut off", "last user message")


@test
def t_openai_cut_mid_text_retried(c):
    """A text answer cut before its finish_reason: retried; the cut text is not sent back. (Text already
    written to stdout stays there, as with the Anthropic provider.)"""
    srv = c.server([otext("PARTIAL-ONE PARTIAL-TWO", pieces=["PARTIAL-ONE ", "PARTIAL-TWO"], cut="text"),
                    ocalls(("call_t1", "Glob", {"pattern": "*.none"})),
                    otext("Complete answer.")])
    r = c.run(srv, [], openai=True, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.ok(r)
    c.nreq(srv, 3)
    c.check(r.out.rstrip("\n").endswith("Complete answer."), "stdout %r" % r.out)
    c.eq(c.body(srv, 1)["messages"], c.body(srv, 0)["messages"], "messages of the retry")
    for i in (1, 2):
        c.lacks(json.dumps(c.body(srv, i)), "PARTIAL", "request %d" % i)


@test
def t_openai_http_401(c):
    srv = c.server([{"status": 401, "openai_error": {"message": "Incorrect API key provided: sk-te***456.",
                                                     "type": "invalid_request_error", "code": "invalid_api_key"}}])
    r = c.run(srv, [], openai=True, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.check(r.rc != 0 and isinstance(r.rc, int), "exit code: expected non-zero, got %r" % r.rc)
    c.nreq(srv, 1)
    c.has(r.err, "API error 401 invalid_request_error: Incorrect API key provided: sk-te***456.", "stderr")
    c.eq(r.out.strip(), "", "stdout")


@test
def t_openai_output_json(c):
    srv = c.server([ocalls(("call_j1", "Bash", {"command": "echo hi"})), otext("The answer is 42.")])
    r = c.run(srv, ["--output-format", "json", "--dangerously-skip-permissions"], openai=True)
    c.ok(r)
    c.nreq(srv, 2)
    obj = c.json_out(r)
    c.eq(obj.get("type"), "result", "type")
    c.eq(obj.get("subtype"), "success", "subtype")
    c.eq(obj.get("is_error"), False, "is_error")
    c.eq(obj.get("num_turns"), 2, "num_turns")
    c.eq(obj.get("result"), "The answer is 42.", "result")
    c.check(isinstance(obj.get("usage"), dict), "usage not an object")
    c.check(isinstance(obj.get("session_id"), str) and obj["session_id"], "session_id")
    c.has(c.body(srv, 1)["messages"][-1].get("content", ""), "hi", "tool message (Bash output)")


@test
def t_openai_usage_counted(c):
    """The usage chunks' prompt_tokens/completion_tokens end up in the json result's usage."""
    srv = c.server([ocalls(("call_u1", "Glob", {"pattern": "*.none"}),
                           usage={"prompt_tokens": 1000, "completion_tokens": 20}),
                    otext("done", usage={"prompt_tokens": 2000, "completion_tokens": 30})])
    r = c.run(srv, ["--output-format", "json"], openai=True)
    c.ok(r)
    obj = json.loads(r.out)
    u = obj.get("usage") or {}
    c.eq((u.get("input_tokens"), u.get("output_tokens")), (3000, 50), "usage input_tokens, output_tokens")


@test
def t_openai_session_resume(c):
    srv = c.server([ocalls(("call_s1", "Write", {"file_path": "s.txt", "content": "PINEAPPLE\n"}),
                           text_before="Saving it."),
                    otext("Noted the word."),
                    otext("It was PINEAPPLE.")])
    r1 = c.run(srv, ["--allowedTools", "Write"], openai=True, prompt="remember the word PINEAPPLE")
    c.ok(r1)
    c.check(c.sessions(), "no session file after the OpenAI session")
    r2 = c.run(srv, ["-c"], openai=True, prompt="what was the word?")
    c.ok(r2)
    c.nreq(srv, 3)
    c.has(r2.out, "It was PINEAPPLE.", "stdout of the resumed session")
    msgs = c.body(srv, 2)["messages"]
    c.eq([m.get("role") for m in msgs], ["system", "user", "assistant", "tool", "assistant", "user"],
         "roles in the resumed session's request")
    c.has(msgs[1].get("content"), "remember the word PINEAPPLE", "first user message")
    c.eq(msgs[2].get("content"), "Saving it.", "first assistant content")
    c.eq([t.get("id") for t in msgs[2].get("tool_calls") or []], ["call_s1"], "tool_calls ids")
    c.eq(json.loads(msgs[2]["tool_calls"][0]["function"]["arguments"]),
         {"file_path": "s.txt", "content": "PINEAPPLE\n"}, "arguments")
    c.eq(msgs[3].get("tool_call_id"), "call_s1", "tool_call_id")
    c.eq(msgs[4].get("content"), "Noted the word.", "second assistant content")
    c.check(isinstance(msgs[5].get("content"), str) and msgs[5]["content"].rstrip().endswith("what was the word?"),
            "last user content: %r" % clip(msgs[5].get("content"), 300))


@test
def t_openai_resumes_anthropic_session(c):
    """Same session files: a session made with the Anthropic provider continues with the OpenAI one."""
    srv = c.server([call("toolu_x1", "Glob", {"pattern": "*.none"}), say("Nothing there."), otext("Still nothing.")])
    c.ok(c.run(srv, [], prompt="look for files"))
    r = c.run(srv, ["-c"], openai=True, prompt="and now?")
    c.ok(r)
    c.nreq(srv, 3)
    c.eq(srv.requests[2]["path"], "/v1/chat/completions", "path of the resumed request")
    msgs = c.body(srv, 2)["messages"]
    c.eq([m.get("role") for m in msgs], ["system", "user", "assistant", "tool", "assistant", "user"], "roles")
    c.eq(msgs[2]["tool_calls"][0].get("id"), "toolu_x1", "tool call id")
    c.eq(json.loads(msgs[2]["tool_calls"][0]["function"]["arguments"]), {"pattern": "*.none"}, "arguments")
    c.eq(msgs[3].get("tool_call_id"), "toolu_x1", "tool_call_id")
    c.has(r.out, "Still nothing.", "stdout")


@test
def t_openai_arguments_split_inside_escapes(c):
    """Argument pieces split inside a \\u escape, inside a UTF-8 character's escape and inside \\n."""
    content = "h\u00e9llo \u2603 \"quoted\" back\\slash\nnext line\n"
    args = json.dumps({"file_path": "esc.txt", "content": content})          # ensure_ascii: \\u00e9, \\u2603
    cuts = [args.index("\\u00e9") + 3, args.index("\\u2603") + 1, args.index("\\n") + 1, len(args) - 2]
    pieces, last = [], 0
    for k in cuts:
        pieces.append(args[last:k])
        last = k
    pieces.append(args[last:])
    srv = c.server([ocalls(("call_e1", "Write", {"file_path": "esc.txt", "content": content}, pieces)), otext("ok")])
    r = c.run(srv, ["--allowedTools", "Write"], openai=True)
    c.ok(r)
    c.eq(c.read("esc.txt"), content, "esc.txt")
    sent = c.body(srv, 1)["messages"][2]["tool_calls"][0]["function"]["arguments"]
    c.eq(json.loads(sent), {"file_path": "esc.txt", "content": content}, "arguments sent back")


@test
def t_openai_interleaved_tool_calls(c):
    """Two tool calls whose argument pieces arrive interleaved: concatenated per index."""
    a0 = json.dumps({"file_path": "i0.txt", "content": "zero\n"})
    a1 = json.dumps({"file_path": "i1.txt", "content": "one\n"})

    def ch(delta, finish=None):
        return {"id": "chatcmpl-il", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def tc(i, args, first=None):
        d = {"index": i, "function": {"arguments": args}}
        if first:
            d.update({"id": first[0], "type": "function"})
            d["function"]["name"] = first[1]
        return ch({"tool_calls": [d]})
    chunks = [ch({"role": "assistant", "content": None}),
              tc(0, a0[:10], ("call_i0", "Write")), tc(1, a1[:5], ("call_i1", "Write")),
              tc(0, a0[10:25]), tc(1, a1[5:]), tc(0, a0[25:]), ch({}, "tool_calls")]
    srv = c.server([{"openai_chunks": chunks}, otext("ok")])
    r = c.run(srv, ["--allowedTools", "Write"], openai=True)
    c.ok(r)
    c.eq(c.read("i0.txt"), "zero\n", "i0.txt")
    c.eq(c.read("i1.txt"), "one\n", "i1.txt")
    msgs = c.body(srv, 1)["messages"]
    c.eq([m.get("tool_call_id") for m in msgs if m.get("role") == "tool"], ["call_i0", "call_i1"], "tool_call_ids")


@test
def t_openai_sse_variants(c):
    """What OpenAI-compatible servers send: chunked framing, CRLF lines, `data:` without a space, comments."""
    body = mock_api.openai_stream(otext("Variant answer.", pieces=["Vari", "ant ", "answer."]),
                                  {"stream_options": {"include_usage": True}})
    body = b": keep-alive\r\n\r\n" + body.replace(b"data: ", b"data:").replace(b"\n", b"\r\n")
    srv = c.server([{"sse_raw": body, "framing": "chunked", "chunk_size": 7}])
    r = c.run(srv, [], openai=True)
    c.ok(r)
    c.eq(r.out.strip(), "Variant answer.", "stdout")


@test
def t_openai_tool_call_without_id(c):
    """Some local servers send no tool call id: one is made up, and the tool message answers that same id."""
    args = json.dumps({"file_path": "noid.txt", "content": "x\n"})

    def ch(delta, finish=None):
        return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    chunks = [ch({"role": "assistant"}),
              ch({"tool_calls": [{"index": 0, "type": "function", "function": {"name": "Write", "arguments": args}}]}),
              ch({}, "tool_calls")]
    srv = c.server([{"openai_chunks": chunks}, otext("ok")])
    r = c.run(srv, ["--allowedTools", "Write"], openai=True)
    c.ok(r)
    c.eq(c.read("noid.txt"), "x\n", "noid.txt")
    msgs = c.body(srv, 1)["messages"]
    tid = (msgs[2].get("tool_calls") or [{}])[0].get("id")
    c.check(isinstance(tid, str) and tid, "made-up tool call id: %r" % tid)
    c.eq(msgs[3].get("tool_call_id"), tid, "tool_call_id of the tool message")


@test
def t_openai_error_chunk_mid_stream(c):
    """An error object as a stream chunk (as OpenAI sends when it fails mid-answer): reported, retried."""
    chunks, _ = mock_api.openai_chunks(text="Half an ans")
    chunks = chunks[:2] + [{"error": {"message": "The server had an error while processing your request.",
                                      "type": "server_error"}}]
    srv = c.server([{"openai_chunks": chunks, "done": False}, otext("Second try worked.")])
    r = c.run(srv, [], openai=True, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.ok(r)
    c.nreq(srv, 2)
    c.has(r.err, "The server had an error while processing your request.", "stderr")
    c.check(r.out.rstrip("\n").endswith("Second try worked."), "stdout %r" % r.out)


@test
def t_openai_429_retried(c):
    srv = c.server([{"status": 429, "headers": {"retry-after": "0"},
                     "openai_error": {"message": "Rate limit reached", "type": "requests"}},
                    otext("After the rate limit.")])
    r = c.run(srv, [], openai=True, env={"ANTHROPIC_MAX_RETRIES": "2"})
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(r.out.strip(), "After the rate limit.", "stdout")
    lines = [ln for ln in r.err.split("\n") if "retrying in" in ln]
    c.eq(len(lines), 1, "'retrying in' lines on stderr")


@test
def t_openai_base_url_trailing_slash(c):
    srv = c.server([otext("slash ok")])
    r = c.run(srv, [], openai=True, env={"OPENAI_BASE_URL": "http://127.0.0.1:%d/v1/" % srv.port})
    c.ok(r)
    c.nreq(srv, 1)
    c.eq(srv.requests[0]["path"], "/v1/chat/completions", "path with OPENAI_BASE_URL ending in /")


@test
def t_openai_stream_json(c):
    srv = c.server([ocalls(("call_sj1", "Bash", {"command": "echo streamed"})), otext("Finished.")])
    r = c.run(srv, ["--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"], openai=True)
    c.ok(r)
    objs = []
    for ln in r.out.split("\n"):
        if ln:
            try:
                objs.append(json.loads(ln))
            except ValueError:
                raise Fail("stdout line is not JSON: %r" % ln)
    c.eq([o.get("type") for o in objs], ["system", "assistant", "user", "assistant", "result"], "line types")
    use = [b for b in objs[1]["message"]["content"] if b.get("type") == "tool_use"]
    c.eq([(u["id"], u["name"], u["input"]) for u in use], [("call_sj1", "Bash", {"command": "echo streamed"})],
         "tool_use in the first assistant line")
    res = [b for b in objs[2]["message"]["content"] if b.get("type") == "tool_result"]
    c.eq([b.get("tool_use_id") for b in res], ["call_sj1"], "tool_result ids")
    c.has(json.dumps(res[0].get("content")), "streamed", "tool_result content")
    c.eq(objs[4].get("result"), "Finished.", "result")


# ---------------------------------------------------------------------------------------------------------
# WebFetch

PAGE = """<!DOCTYPE html>
<html><head><title>HEAD-TITLE-SECRET</title>
<style>.x { color: red } STYLE-SECRET</style>
<script>var SCRIPT_SECRET = "1 < 2";</script>
</head>
<body>
<h1>Cats &amp; Dogs</h1>
<p>Para   one
   has     many
spaces &lt;b&gt; &quot;quoted&quot; &#39;single&#39; &#65;&#x42;&#x43;.</p>
<div>Non&nbsp;breaking</div>
<ul><li>item-one</li><li>item-two</li></ul>
<SCRIPT type="text/javascript">UPPER_SCRIPT_SECRET()</SCRIPT>
<p>Last<br>line</p>
</body></html>
"""


def small_text(body):
    """The text of the small-model request's messages (Anthropic or OpenAI body)."""
    return "\n".join(text_of(m.get("content")) for m in body.get("messages") or [])


RULE = ["--allowedTools", "WebFetch(domain:127.0.0.1)"]


@test
def t_webfetch_tool_offered(c):
    srv = c.server([say("ok")])
    c.ok(c.run(srv, []))
    tools = {t["name"]: t for t in c.body(srv, 0)["tools"]}
    c.check("WebFetch" in tools, "WebFetch not among the tools: %s" % sorted(tools))
    sch = tools["WebFetch"].get("input_schema", {})
    c.eq(sorted(sch.get("required", [])), ["prompt", "url"], "WebFetch required parameters")
    c.check({"url", "prompt"} <= set(sch.get("properties", {})), "WebFetch properties: %r" % sch.get("properties"))


@test
def t_webfetch_html_small_model(c):
    ps = c.page_server({"/doc.html": {"html": PAGE}})
    url = "http://127.0.0.1:%d/doc.html" % ps.port
    srv = c.server([webfetch("toolu_wf1", url, "Summarize PROMPT-MARKER-77"),
                    say("SMALL-MODEL-ANSWER: cats and dogs."),
                    say("Main model done.")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(ps, 1)
    c.eq(ps.page_requests[0]["method"], "GET", "method of the fetch")
    c.eq(ps.page_requests[0]["path"], "/doc.html", "path of the fetch")
    sb = c.body(srv, 1)
    c.eq(sb.get("model"), "claude-haiku-4-5", "model of the small request")
    c.check(not sb.get("tools"), "the small request offers tools: %r" % clip(sb.get("tools"), 200))
    c.eq([m.get("role") for m in sb.get("messages") or []], ["user"], "messages of the small request")
    txt = small_text(sb)
    c.has(txt, "PROMPT-MARKER-77", "small request (the prompt)")
    c.has(txt, "Cats & Dogs", "small request (h1 text, &amp; decoded)")
    c.has(txt, '<b> "quoted" \'single\' ABC.', "small request (entities &lt; &gt; &quot; &#39; &#65; &#x42; decoded)")
    c.check(re.search(r"Para[ \n]one[ \n]has[ \n]many[ \n]spaces", txt),
            "whitespace runs not collapsed: %r" % clip(txt, 1500))
    c.check(re.search(r"Non(\s|\u00a0)breaking", txt), "&nbsp; not decoded: %r" % clip(txt, 1500))
    c.check(re.search(r"item-one[ \t]*\n\s*(?:[-*\u2022][ \t]*)?item-two", txt),
            "li items not on separate lines: %r" % clip(txt, 1500))
    c.check(re.search(r"Last[ \t]*\n\s*line", txt), "<br> not a line break: %r" % clip(txt, 1500))
    for bad in ("SCRIPT_SECRET", "UPPER_SCRIPT_SECRET", "STYLE-SECRET", "HEAD-TITLE-SECRET", "color: red",
                "<h1>", "<p>", "</li>", "&amp;", "&lt;", "<!DOCTYPE"):
        c.lacks(txt, bad, "small request (the page text)")
    b = c.result(srv, 2, "toolu_wf1")
    c.not_err(b, "WebFetch result")
    res = result_text(b)
    first = res.split("\n", 1)[0]
    c.check(re.fullmatch(r"Fetched \S+ \(\d+ characters\)\.?", first),
            "first line of the result is not 'Fetched URL (N characters)': %r" % first)
    c.has(first, url, "Fetched line")
    c.has(res, "SMALL-MODEL-ANSWER: cats and dogs.", "tool result (the small model's answer)")
    c.lacks(res, "SCRIPT_SECRET", "tool result")
    c.eq(r.out.strip(), "Main model done.", "stdout (the small answer is not printed)")


@test
def t_webfetch_small_fast_model_env(c):
    ps = c.page_server({"/p": {"text": "plain page body"}})
    srv = c.server([webfetch("toolu_wf2", "http://127.0.0.1:%d/p" % ps.port), say("small says hi"), say("ok")])
    r = c.run(srv, RULE, env={"ANTHROPIC_SMALL_FAST_MODEL": "claude-tiny-test"})
    c.ok(r)
    c.nreq(srv, 3)
    c.eq(c.body(srv, 1).get("model"), "claude-tiny-test", "model of the small request")
    c.has(result_text(c.result(srv, 2, "toolu_wf2")), "small says hi", "tool result")


@test
def t_webfetch_plain_text_kept(c):
    body = "line <b>one</b> &amp; kept\n\n  indented   spaces\n"
    ps = c.page_server({"/t.txt": {"text": body}})
    srv = c.server([webfetch("toolu_wf3", "http://127.0.0.1:%d/t.txt" % ps.port), say("answer"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    txt = small_text(c.body(srv, 1))
    c.has(txt, "line <b>one</b> &amp; kept", "small request (text/plain kept as it is)")


@test
def t_webfetch_redirect_followed(c):
    ps = c.page_server({"/old": {"redirect": "/mid", "status": 301},
                        "/mid": {"redirect": "/new?x=1", "status": 307},
                        "/new?x=1": {"html": "<p>NEW-PAGE-CONTENT</p>"}})
    srv = c.server([webfetch("toolu_wf4", "http://127.0.0.1:%d/old" % ps.port), say("small: new page"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    c.eq([q["path"] for q in ps.page_requests], ["/old", "/mid", "/new?x=1"], "paths fetched")
    c.eq({q["method"] for q in ps.page_requests}, {"GET"}, "methods")
    c.has(small_text(c.body(srv, 1)), "NEW-PAGE-CONTENT", "small request")
    b = c.result(srv, 2, "toolu_wf4")
    c.not_err(b, "result")
    c.has(result_text(b), "small: new page", "result")


@test
def t_webfetch_redirect_other_host(c):
    other = c.page_server({"/landing": {"html": "<p>OTHER-HOST-PAGE</p>"}})
    ps = c.page_server({"/go": {"redirect": "http://localhost:%d/landing" % other.port, "status": 302}})
    srv = c.server([webfetch("toolu_wf5", "http://127.0.0.1:%d/go" % ps.port), say("small: other host"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.ngets(ps, 1)
    c.ngets(other, 1)
    c.has(small_text(c.body(srv, 1)), "OTHER-HOST-PAGE", "small request")
    b = c.result(srv, 2, "toolu_wf5")
    c.not_err(b, "result")
    c.has(result_text(b), "localhost:%d" % other.port, "result (names the host redirected to)")
    c.has(result_text(b), "small: other host", "result")


@test
def t_webfetch_redirect_loop(c):
    ps = c.page_server({"/a": {"redirect": "/b", "status": 302}, "/b": {"redirect": "/a", "status": 301}})
    srv = c.server([webfetch("toolu_wf6", "http://127.0.0.1:%d/a" % ps.port), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_wf6")
    c.is_err(b, "redirect loop")
    c.has(result_text(b).lower(), "too many redirects", "result")
    n = len(ps.page_requests)
    c.check(10 <= n <= 12, "GETs for a redirect loop: %d (expected 11: the first and 10 hops)" % n)


@test
def t_webfetch_ten_redirects_ok(c):
    pages = {"/r%d" % i: {"redirect": "/r%d" % (i + 1), "status": 302} for i in range(10)}
    pages["/r10"] = {"html": "<p>AFTER-TEN-HOPS</p>"}
    ps = c.page_server(pages)
    srv = c.server([webfetch("toolu_wf7", "http://127.0.0.1:%d/r0" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.ngets(ps, 11)
    b = c.result(srv, 2, "toolu_wf7")
    c.not_err(b, "10 redirects")
    c.has(small_text(c.body(srv, 1)), "AFTER-TEN-HOPS", "small request")


@test
def t_webfetch_404(c):
    ps = c.page_server({"/missing": {"status": 404, "html": "<p>gone</p>"}})
    srv = c.server([webfetch("toolu_wf8", "http://127.0.0.1:%d/missing" % ps.port), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_wf8")
    c.is_err(b, "404")
    c.has(result_text(b), "404", "result")


@test
def t_webfetch_500(c):
    ps = c.page_server({"/boom": {"status": 503, "text": "down"}})
    srv = c.server([webfetch("toolu_wf9", "http://127.0.0.1:%d/boom" % ps.port), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    b = c.result(srv, 1, "toolu_wf9")
    c.is_err(b, "503")
    c.has(result_text(b), "503", "result")


@test
def t_webfetch_scheme_refused(c):
    ps = c.page_server({"/x": "<p>x</p>"})
    srv = c.server([call("toolu_sc1", "WebFetch", {"url": "file:///etc/passwd", "prompt": "read it"}),
                    call("toolu_sc2", "WebFetch", {"url": "ftp://127.0.0.1:%d/x" % ps.port, "prompt": "read it"}),
                    say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(ps, 0)
    for i, tid in ((1, "toolu_sc1"), (2, "toolu_sc2")):
        b = c.result(srv, i, tid)
        c.is_err(b, tid)
        c.lacks(result_text(b), "root:", "result")
        c.check(re.search(r"http", result_text(b), re.I), "result does not say only http(s) is allowed: %r" %
                result_text(b))


@test
def t_webfetch_refused_without_rule(c):
    ps = c.page_server({"/p": "<p>should not be fetched</p>"})
    srv = c.server([webfetch("toolu_pr1", "http://127.0.0.1:%d/p" % ps.port), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    c.ngets(ps, 0)
    b = c.result(srv, 1, "toolu_pr1")
    c.is_err(b, "WebFetch without a rule")
    c.check(result_text(b).startswith("Permission to use WebFetch was denied"), "result %r" % result_text(b))


@test
def t_webfetch_rule_other_domain_refused(c):
    ps = c.page_server({"/p": "<p>should not be fetched</p>"})
    srv = c.server([webfetch("toolu_pr2", "http://127.0.0.1:%d/p" % ps.port), say("ok")])
    r = c.run(srv, ["--allowedTools", "WebFetch(domain:example.com)"])
    c.ok(r)
    c.nreq(srv, 2)
    c.ngets(ps, 0)
    b = c.result(srv, 1, "toolu_pr2")
    c.is_err(b, "WebFetch with a rule for another domain")
    c.check(result_text(b).startswith("Permission to use WebFetch was denied"), "result %r" % result_text(b))


@test
def t_webfetch_domain_rule_runs(c):
    ps = c.page_server({"/p": "<p>RULED-PAGE</p>"})
    srv = c.server([webfetch("toolu_pr3", "http://127.0.0.1:%d/p" % ps.port), say("small ok"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(ps, 1)
    c.not_err(c.result(srv, 2, "toolu_pr3"), "WebFetch with the domain rule")


@test
def t_webfetch_key_not_leaked(c):
    ps = c.page_server({"/p": "<p>page</p>"})
    srv = c.server([webfetch("toolu_lk1", "http://127.0.0.1:%d/p" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE, env={"ANTHROPIC_AUTH_TOKEN": "auth-token-789"})
    c.ok(r)
    c.ngets(ps, 1)
    h = ps.page_requests[0]["headers"]
    for name in ("x-api-key", "authorization"):
        c.check(name not in h, "header %s sent to the fetched server: %r" % (name, h.get(name)))
    for k, v in h.items():
        for secret in (ANTHROPIC_KEY, "auth-token-789", OPENAI_KEY):
            c.lacks(k + ": " + v, secret, "header of the GET")
    c.eq(h.get("host"), "127.0.0.1:%d" % ps.port, "host header")


@test
def t_webfetch_openai_provider(c):
    ps = c.page_server({"/p": "<h2>OPENAI-FETCHED-PAGE</h2>"})
    url = "http://127.0.0.1:%d/p" % ps.port
    srv = c.server([ocalls(("call_wf1", "WebFetch", {"url": url, "prompt": "PROMPT-OAI"})),
                    otext("SMALL-OAI-ANSWER"),
                    otext("main done")])
    r = c.run(srv, RULE, openai=True)
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(ps, 1)
    h = ps.page_requests[0]["headers"]
    c.check("authorization" not in h, "authorization header sent to the fetched server: %r" % h.get("authorization"))
    q = srv.requests[1]
    c.eq(q["path"], "/v1/chat/completions", "path of the small request")
    c.eq(q["headers"].get("authorization"), "Bearer " + OPENAI_KEY, "authorization of the small request")
    sb = q["body"]
    c.check(not sb.get("tools"), "the small request offers tools")
    txt = small_text(sb)
    c.has(txt, "OPENAI-FETCHED-PAGE", "small request")
    c.has(txt, "PROMPT-OAI", "small request")
    msgs = c.body(srv, 2)["messages"]
    c.eq(msgs[-1].get("role"), "tool", "role of the last message")
    c.eq(msgs[-1].get("tool_call_id"), "call_wf1", "tool_call_id")
    res = msgs[-1].get("content") or ""
    c.check(res.startswith("Fetched "), "tool content does not start with 'Fetched': %r" % clip(res, 300))
    c.has(res, "SMALL-OAI-ANSWER", "tool content")
    c.eq(r.out.strip(), "main done", "stdout")


@test
def t_webfetch_https_trusted(c):
    """https page: the agent's own trust anchors (SSL_CERT_FILE) apply to WebFetch."""
    ps = c.page_server({"/s": "<p>TLS-PAGE-TEXT</p>"}, tls=True)
    srv = c.server([webfetch("toolu_tls1", "https://localhost:%d/s" % ps.port), say("small tls"), say("ok")])
    r = c.run(srv, ["--allowedTools", "WebFetch(domain:localhost)"], env={"SSL_CERT_FILE": certs("ca")[0]})
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(ps, 1)
    c.eq(ps.handshakes, 1, "TLS handshakes with the page server")
    c.not_err(c.result(srv, 2, "toolu_tls1"), "https fetch")
    c.has(small_text(c.body(srv, 1)), "TLS-PAGE-TEXT", "small request")


@test
def t_webfetch_https_untrusted(c):
    """A certificate no trust anchor vouches for (the test CA is not given): a tool error, no page served."""
    ps = c.page_server({"/s": "<p>TLS-PAGE-TEXT</p>"}, tls=True)
    srv = c.server([webfetch("toolu_tls2", "https://localhost:%d/s" % ps.port), say("ok")])
    r = c.run(srv, ["--allowedTools", "WebFetch(domain:localhost)"])
    c.ok(r)
    c.nreq(srv, 2)
    c.ngets(ps, 0)
    c.is_err(c.result(srv, 1, "toolu_tls2"), "untrusted certificate")


@test
def t_webfetch_through_http_proxy(c):
    """http_proxy applies to WebFetch (absolute-form GET to the proxy); NO_PROXY keeps the API direct."""
    proxy = c.page_server({"/doc": "<p>VIA-PROXY-PAGE</p>"})
    srv = c.server([webfetch("toolu_px1", "http://pages.example.test/doc"), say("small proxy"), say("ok")])
    r = c.run(srv, ["--allowedTools", "WebFetch(domain:pages.example.test)"],
              env={"http_proxy": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": "127.0.0.1"})
    c.ok(r)
    c.nreq(srv, 3)
    c.ngets(proxy, 1)
    c.eq(proxy.page_requests[0]["path"], "http://pages.example.test/doc", "request target at the proxy")
    c.eq(proxy.page_requests[0]["headers"].get("host"), "pages.example.test", "host header at the proxy")
    c.not_err(c.result(srv, 2, "toolu_px1"), "fetch through the proxy")
    c.has(small_text(c.body(srv, 1)), "VIA-PROXY-PAGE", "small request")


@test
def t_webfetch_capped(c):
    big = "<p>" + ("0123456789" * 16000) + "</p><p>TAIL-AFTER-CAP</p>"
    ps = c.page_server({"/big": big})
    srv = c.server([webfetch("toolu_cap", "http://127.0.0.1:%d/big" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    txt = small_text(c.body(srv, 1))
    c.lacks(txt, "TAIL-AFTER-CAP", "small request (text past 100,000 characters)")
    c.check(len(txt) < 101000 + 5000, "small request text is %d characters" % len(txt))
    first = result_text(c.result(srv, 2, "toolu_cap")).split("\n", 1)[0]
    c.check(re.search(r"^Fetched \S+ .*\(\d+ characters\)", first), "Fetched line: %r" % first)


@test
def t_webfetch_redirect_relative_reference(c):
    """Location: a relative reference without a leading slash (RFC 9110 allows any URI reference)."""
    ps = c.page_server({"/dir/a": {"redirect": "b.html", "status": 302},
                        "/dir/b.html": "<p>RELATIVE-TARGET</p>"})
    srv = c.server([webfetch("toolu_rr1", "http://127.0.0.1:%d/dir/a" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.eq([q["path"] for q in ps.page_requests], ["/dir/a", "/dir/b.html"], "paths fetched")
    c.not_err(c.result(srv, 2, "toolu_rr1"), "relative redirect")


@test
def t_webfetch_redirect_scheme_relative(c):
    """Location: //host:port/path (a network-path reference) keeps the scheme."""
    other = c.page_server({"/x": "<p>NETPATH-TARGET</p>"})
    ps = c.page_server({"/a": {"redirect": "//localhost:%d/x" % other.port, "status": 301}})
    srv = c.server([webfetch("toolu_rr2", "http://127.0.0.1:%d/a" % ps.port), say("small"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.ngets(other, 1)
    c.not_err(c.result(srv, 2, "toolu_rr2"), "scheme-relative redirect")


@test
def t_webfetch_redirect_to_file_refused(c):
    ps = c.page_server({"/a": {"redirect": "file:///etc/passwd", "status": 302}})
    srv = c.server([webfetch("toolu_rf1", "http://127.0.0.1:%d/a" % ps.port), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_rf1")
    c.is_err(b, "redirect to file://")
    c.lacks(result_text(b), "root:", "result")


@test
def t_webfetch_fragment_not_sent(c):
    ps = c.page_server({"/p?q=1": "<p>FRAG-PAGE</p>"})
    srv = c.server([webfetch("toolu_fr1", "http://127.0.0.1:%d/p?q=1#section-2" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.eq([q["path"] for q in ps.page_requests], ["/p?q=1"], "request target (no #fragment)")


@test
def t_webfetch_characters_counted(c):
    """"Fetched URL (N characters)": N counts characters, not UTF-8 bytes."""
    ps = c.page_server({"/u": "<p>" + "\u00e9" * 10 + "\u2603" * 5 + "</p>"})
    srv = c.server([webfetch("toolu_ch1", "http://127.0.0.1:%d/u" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.has(small_text(c.body(srv, 1)), "\u00e9" * 10 + "\u2603" * 5, "small request")
    first = result_text(c.result(srv, 2, "toolu_ch1")).split("\n", 1)[0]
    c.has(first, "(15 characters)", "Fetched line for a 15-character page (25 bytes in UTF-8)")


@test
def t_webfetch_cap_inside_utf8(c):
    """The 100,000 cap falling inside a multi-byte character: the small request is still valid JSON (UTF-8)."""
    ps = c.page_server({"/t": {"text": "a" * 99999 + "\u00e9" * 20},
                        "/h": {"html": "<p>" + "a" * 99999 + "\u20ac" * 20 + "</p>"}})
    srv = c.server([webfetch("toolu_cu1", "http://127.0.0.1:%d/t" % ps.port), say("small one"),
                    webfetch("toolu_cu2", "http://127.0.0.1:%d/h" % ps.port), say("small two"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 5)
    for i in (1, 3):
        c.check(isinstance(srv.requests[i]["body"], dict), "small request %d is not valid UTF-8 JSON: %r" %
                (i, clip(srv.requests[i]["body"], 200)))
    c.not_err(c.result(srv, 2, "toolu_cu1"), "text page")
    c.not_err(c.result(srv, 4, "toolu_cu2"), "html page")


@test
def t_webfetch_latin1_page(c):
    """A page in ISO-8859-1 (bytes that are not UTF-8): the small request is still valid JSON."""
    ps = c.page_server({"/l": {"body": b"<p>caf\xe9 LATIN-PAGE na\xefve</p>",
                               "content_type": "text/html; charset=iso-8859-1"}})
    srv = c.server([webfetch("toolu_l1", "http://127.0.0.1:%d/l" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    c.check(isinstance(srv.requests[1]["body"], dict), "small request is not valid UTF-8 JSON: %r" %
            clip(srv.requests[1]["body"], 300))
    c.has(small_text(c.body(srv, 1)), "LATIN-PAGE", "small request")


@test
def t_webfetch_numeric_entities_edge(c):
    ps = c.page_server({"/e": "<p>smile &#128512; &#x1F600; bad &#xD800; &#0; &#x110000; end</p>"})
    srv = c.server([webfetch("toolu_ne1", "http://127.0.0.1:%d/e" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.check(isinstance(srv.requests[1]["body"], dict), "small request is not valid JSON")
    txt = small_text(c.body(srv, 1))
    c.has(txt, "smile \U0001F600 \U0001F600 bad", "small request (astral code points decoded)")
    c.has(txt, "end", "small request")


@test
def t_webfetch_binary_refused(c):
    ps = c.page_server({"/img.png": {"body": b"\x89PNG\r\n\x1a\n\x00\x00", "content_type": "image/png"}})
    srv = c.server([webfetch("toolu_bi1", "http://127.0.0.1:%d/img.png" % ps.port), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_bi1")
    c.is_err(b, "binary content")
    c.has(result_text(b), "image/png", "result")


@test
def t_webfetch_small_request_fails(c):
    ps = c.page_server({"/p": "<p>page</p>"})
    srv = c.server([webfetch("toolu_sf1", "http://127.0.0.1:%d/p" % ps.port),
                    {"status": 400, "json": {"type": "error", "error": {"type": "invalid_request_error",
                                                                         "message": "small model says no"}}},
                    say("carried on")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    b = c.result(srv, 2, "toolu_sf1")
    c.is_err(b, "small request failed")
    c.has(result_text(b), "small model says no", "result")
    c.eq(r.out.strip(), "carried on", "stdout")


@test
def t_webfetch_deny_rule_host_case(c):
    """A deny rule for a domain also holds for the same host name in capitals or with a final dot (host names
    are case-insensitive; "evil.test." is the same host). Fetched through a proxy: no DNS needed."""
    proxy = c.page_server({"/x": "<p>SHOULD-NOT-BE-FETCHED</p>"})
    fetched = []
    for k, url in enumerate(("http://evil.test/x", "http://EVIL.TEST/x", "http://Evil.Test/x", "http://evil.test./x")):
        before = len(proxy.page_requests)
        srv = c.server([webfetch("toolu_dc%d" % k, url), say("small"), say("ok")])
        r = c.run(srv, ["--allowedTools", "WebFetch", "--disallowedTools", "WebFetch(domain:evil.test)"],
                  env={"http_proxy": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": "127.0.0.1"})
        c.ok(r)
        if len(proxy.page_requests) > before:
            fetched.append(url)
    c.eq(fetched, [], "URLs fetched despite the rule WebFetch(domain:evil.test) in --disallowedTools")


@test
def t_webfetch_head_end_tag_omitted(c):
    """</head> is optional in HTML: a page without it still has its body text."""
    ps = c.page_server({"/m": "<!doctype html><html><head><meta charset=utf-8><title>T</title>"
                              "<body><p>BODY-AFTER-UNCLOSED-HEAD</p></body></html>"})
    srv = c.server([webfetch("toolu_hd1", "http://127.0.0.1:%d/m" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.has(small_text(c.body(srv, 1)), "BODY-AFTER-UNCLOSED-HEAD", "small request")


@test
def t_webfetch_tag_attribute_with_gt(c):
    """A '>' inside a quoted attribute value does not end the tag."""
    ps = c.page_server({"/g": '<p><a href="/x" title="a>b">LINK-TEXT</a> <img alt="1 > 0"> after</p>'})
    srv = c.server([webfetch("toolu_gt1", "http://127.0.0.1:%d/g" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    txt = small_text(c.body(srv, 1))
    c.has(txt, "LINK-TEXT", "small request")
    c.lacks(txt, 'b">', "small request (the rest of a tag)")
    c.lacks(txt, '0">', "small request (the rest of a tag)")


@test
def t_webfetch_truncated_markup(c):
    """Pages that end inside an entity, a tag, a comment or a script: no crash (run it with the sanitizer
    build too), every fetch gives a result, and text before the cut survives."""
    ends = ["<p>KEEP-0 &#", "<p>KEEP-1 &#x1F60", "<p>KEEP-2 <", "<p>KEEP-3 <script>never closed",
            "<p>KEEP-4 <!-- unterminated", "<p>KEEP-5 &", "<p>KEEP-6 &am", "<p>KEEP-7 </", "<p>KEEP-8 <a href='x"]
    ps = c.page_server({"/e%d" % i: {"html": e} for i, e in enumerate(ends)})
    uses = [("toolu_tm%d" % i, "WebFetch", {"url": "http://127.0.0.1:%d/e%d" % (ps.port, i), "prompt": "p"})
            for i in range(len(ends))]
    content = [{"type": "tool_use", "id": u[0], "name": u[1], "input": u[2]} for u in uses]
    script = [{"events": mock_api.message_stream(content=content, stop_reason="tool_use")}]
    script += [say("small %d" % i) for i in range(len(ends))] + [say("ok")]
    srv = c.server(script)
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, len(ends) + 2)
    for i in range(len(ends)):
        c.has(small_text(c.body(srv, 1 + i)), "KEEP-%d" % i, "small request for page %d (%r)" % (i, ends[i]))


@test
def t_webfetch_url_control_chars_in_host(c):
    """CR/LF, a space or a tab in the host part of a URL: refused before any connection (through a proxy the host
    goes into the request line and Host header as it is: CR/LF there would inject headers)."""
    proxy = c.page_server({"/p": "<p>SHOULD-NOT-BE-FETCHED</p>"})
    urls = ["http://pages.example.test\r\nX-Injected:1/p", "http://pages.example.test x/p",
            "http://pages.example.test\tx/p"]
    content = [{"type": "tool_use", "id": "toolu_cc%d" % i, "name": "WebFetch", "input": {"url": u, "prompt": "p"}}
               for i, u in enumerate(urls)]
    srv = c.server([{"events": mock_api.message_stream(content=content, stop_reason="tool_use")}, say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"],
              env={"http_proxy": "http://127.0.0.1:%d" % proxy.port, "NO_PROXY": "127.0.0.1"})
    c.ok(r)
    c.nreq(srv, 2, " (no small-model request)")
    rs = c.results(srv, 1)
    c.eq([b.get("tool_use_id") for b in rs], ["toolu_cc%d" % i for i in range(len(urls))], "result ids")
    for b, u in zip(rs, urls):
        c.is_err(b, "WebFetch of %r" % u)
    c.eq(proxy.connections, 0, "connections to the proxy")
    c.ngets(proxy, 0)


@test
def t_webfetch_content_type_case(c):
    """Media types are case-insensitive: "Text/HTML" is HTML, reduced to text."""
    ps = c.page_server({"/c": {"html": "<p>MIXED-CASE-TYPE <b>bold</b></p>",
                               "content_type": "Text/HTML; charset=utf-8"}})
    srv = c.server([webfetch("toolu_ct1", "http://127.0.0.1:%d/c" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE)
    c.ok(r)
    c.nreq(srv, 3)
    c.not_err(c.result(srv, 2, "toolu_ct1"), "a Text/HTML page")
    txt = small_text(c.body(srv, 1))
    c.has(txt, "MIXED-CASE-TYPE bold", "small request (the page as text)")
    c.lacks(txt, "<b>", "small request (tags removed)")


@test
def t_webfetch_large_html_linear(c):
    """HTML to text takes time linear in the page: ~99,000 characters of text, then 3 MB of tags that add none
    (each was a walk over all the text so far: a minute), then a tail that must still be reached."""
    page = "<p>" + "a" * 99000 + "</p>" + "<b></b>" * (3 * 1024 * 1024 // 7) + "<p>TAIL-AFTER-TAGS</p>"
    ps = c.page_server({"/big": {"html": page}})
    srv = c.server([webfetch("toolu_lh1", "http://127.0.0.1:%d/big" % ps.port), say("small"), say("ok")])
    r = c.run(srv, RULE, timeout=20)
    c.ok(r)
    c.nreq(srv, 3)
    c.check(r.elapsed < 5, "a 3 MB page took %.1f s" % r.elapsed)
    c.not_err(c.result(srv, 2, "toolu_lh1"), "a 3 MB page")
    c.has(small_text(c.body(srv, 1)), "TAIL-AFTER-TAGS", "small request (text after the tags)")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
