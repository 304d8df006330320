#!/usr/bin/env python3
"""End-to-end tests of agent's loop and tools: the real binary against test/mock_api.py.

    python3 test/e2e_loop.py --agent ./agent [--filter S] [--label L]

Each test has its own mock server (127.0.0.1, port 0), its own working directory and HOME, and runs the agent
with a clean environment. One line per test: "ok - NAME" or "not ok - NAME" followed by indented diagnostics
(the command, exit code, stdout and stderr excerpts, the request bodies the server received). Exit status 1 when
any test fails. Python 3 standard library only.

What is checked is what a user would notice: files on disk, the bytes on stdout, exit codes, and the exact
requests the model would see (tool_result blocks, reminders, cache breakpoints, one kept-alive connection).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_api  # noqa: E402
import e2e_lib  # noqa: E402
from e2e_lib import Fail, bash, cache_count, call, calls, certs, clip, say, texts  # noqa: E402

TOOL_NAMES = ["Bash", "BashOutput", "KillShell", "Read", "Write", "Edit", "Glob", "Grep", "TodoWrite", "WebFetch", "Task"]
SUITE = e2e_lib.Suite("loop")
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): the API over HTTPS when asked, tool_result contents that are strings

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-loop-"
    RUN_TIMEOUT = 30
    CLIP = 600

    def env(self, srv, extra=None):
        e = super().env(srv)
        e["SSL_CERT_FILE"] = certs("ca")[0]
        e.update(extra or {})
        return e

    def result(self, srv, i, tid=None):
        """The single tool_result of request i (checked: its id, content a string)."""
        b = super().result(srv, i, tid)
        self.check(isinstance(b.get("content"), str), "tool_result content is not a string: %r" % (b,))
        return b


# ---------------------------------------------------------------------------------------------------------
# Request body

@test
def t_request_body_first_turn(c):
    srv = c.server([say("Hi there.")])
    r = c.run(srv, [], prompt="say hi")
    c.ok(r)
    c.nreq(srv, 1)
    q = srv.requests[0]
    c.eq(q["method"], "POST", "method")
    c.check(q["path"].startswith("/v1/messages"), "path %r" % q["path"])
    b = q["body"]
    c.check(isinstance(b.get("model"), str) and b["model"], "model missing")
    c.check(isinstance(b.get("max_tokens"), int) and b["max_tokens"] > 0, "max_tokens missing")
    c.eq(b.get("stream"), True, "stream")
    uid = (b.get("metadata") or {}).get("user_id")
    c.check(isinstance(uid, str) and re.fullmatch(r"[0-9a-f]+", uid or ""), "metadata.user_id not hex: %r" % uid)
    sysb = b.get("system")
    c.check(isinstance(sysb, list), "system is not a list: %r" % sysb)
    c.eq(len(sysb), 2, "number of system blocks")
    c.check(all(x.get("type") == "text" for x in sysb), "system blocks are not text blocks")
    c.eq(["cache_control" in x for x in sysb], [False, True], "cache_control on system blocks")
    c.eq(sysb[1]["cache_control"], {"type": "ephemeral"}, "system cache_control")
    env = sysb[1]["text"]
    c.has(env, "<env>", "second system block")
    c.has(env, "Working directory: %s\n" % c.work, "env block")
    c.has(env, "Is a git repository: no", "env block")
    tools = b.get("tools")
    c.eq([t.get("name") for t in tools], TOOL_NAMES, "tool names")
    for t in tools:
        c.eq(t.get("input_schema", {}).get("additionalProperties"), False,
             "input_schema.additionalProperties of %s" % t.get("name"))
        c.check(t["input_schema"].get("type") == "object", "%s schema type" % t.get("name"))
    c.eq(["cache_control" in t for t in tools], [False] * (len(TOOL_NAMES) - 1) + [True], "cache_control on tools")
    msgs = b["messages"]
    c.eq(len(msgs), 1, "number of messages")
    c.eq(msgs[0]["role"], "user", "role")
    blocks = msgs[0]["content"]
    c.check(isinstance(blocks, list) and all(x.get("type") == "text" for x in blocks),
            "first user message is not a list of text blocks")
    c.eq(len(blocks), 2, "blocks in the first user message (no memory files)")
    c.check(blocks[0]["text"].startswith("<system-reminder>"), "first block is not a system-reminder")
    c.has(blocks[0]["text"], "todo list is currently empty", "todo reminder")
    c.eq(blocks[-1]["text"], "say hi", "prompt block")
    c.eq(["cache_control" in x for x in blocks], [False, True], "cache_control on message blocks")
    c.check(cache_count(b) <= 4, "more than 4 cache_control breakpoints: %d" % cache_count(b))
    c.check(r.out in ("Hi there.", "Hi there.\n"), "stdout %r" % r.out)


@test
def t_git_repo_detected(c):
    subprocess.run(["git", "init", "-q", c.work], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(c.path("deep/er"))
    srv = c.server([say("ok")])
    r = c.run(srv, [], cwd=c.path("deep/er"))
    c.ok(r)
    env = srv.requests[0]["body"]["system"][1]["text"]
    c.has(env, "Working directory: %s\n" % c.path("deep/er"), "env block")
    c.has(env, "Is a git repository: yes", "env block")


@test
def t_append_system_prompt(c):
    srv = c.server([say("ok")])
    r = c.run(srv, ["--append-system-prompt", "Always answer in French."])
    c.ok(r)
    sysb = srv.requests[0]["body"]["system"]
    c.eq(len(sysb), 3, "number of system blocks")
    c.eq(sysb[2].get("text"), "Always answer in French.", "third system block")
    c.eq(["cache_control" in x for x in sysb], [False, False, True], "cache_control on system blocks")
    c.has(sysb[1]["text"], "<env>", "second system block")


@test
def t_system_prompt_replaced(c):
    srv = c.server([say("ok")])
    r = c.run(srv, ["--system-prompt", "You are a pirate."])
    c.ok(r)
    sysb = srv.requests[0]["body"]["system"]
    c.eq(sysb[0].get("text"), "You are a pirate.", "first system block")
    c.eq(len(sysb), 2, "number of system blocks")
    c.has(sysb[1]["text"], "Working directory: ", "env block kept")


@test
def t_disallowed_bash_removed_from_tools(c):
    """Bash denied whole takes BashOutput and KillShell with it: nothing could start what they read."""
    srv = c.server([say("ok")])
    r = c.run(srv, ["--disallowedTools", "Bash"])
    c.ok(r)
    tools = srv.requests[0]["body"]["tools"]
    c.eq([t["name"] for t in tools], TOOL_NAMES[3:], "tool names")
    c.check("cache_control" in tools[-1], "last tool lacks cache_control")


@test
def t_user_id_stable_across_runs(c):
    srv = c.server([say("one"), say("two")])
    c.ok(c.run(srv, []))
    c.ok(c.run(srv, []))
    c.nreq(srv, 2)
    u1 = srv.requests[0]["body"]["metadata"]["user_id"]
    u2 = srv.requests[1]["body"]["metadata"]["user_id"]
    c.eq(u2, u1, "metadata.user_id of the second run")


@test
def t_keepalive_and_cache_breakpoints_each_turn(c):
    c.write("f.txt", "x\n")
    srv = c.server([call("toolu_k1", "Read", {"file_path": "f.txt"}),
                    call("toolu_k2", "Glob", {"pattern": "*.txt"}),
                    say("done")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 3)
    conns = [q["conn"] for q in srv.requests]
    c.eq(conns, [conns[0]] * 3, "connection of each request (one kept-alive connection)")
    for i, q in enumerate(srv.requests):
        b = q["body"]
        msgs = b["messages"]
        c.eq(len(msgs), 2 * i + 1, "messages in request %d" % i)
        c.eq([m["role"] for m in msgs], ["user", "assistant"] * i + ["user"], "roles in request %d" % i)
        marks = [(mi, bi) for mi, m in enumerate(msgs) if isinstance(m["content"], list)
                 for bi, blk in enumerate(m["content"]) if "cache_control" in blk]
        c.eq(marks, [(len(msgs) - 1, len(msgs[-1]["content"]) - 1)], "message blocks with cache_control, request %d" % i)
        c.check(cache_count(b) <= 4, "request %d has %d cache_control breakpoints" % (i, cache_count(b)))
        c.eq(b["system"], srv.requests[0]["body"]["system"], "system of request %d" % i)
        c.eq(b["tools"], srv.requests[0]["body"]["tools"], "tools of request %d" % i)
        c.eq(b.get("stream"), True, "stream in request %d" % i)
    # the todo reminder sits in the first user message only
    for i, q in enumerate(srv.requests):
        for m in q["body"]["messages"][1:]:
            for t in texts(m):
                c.lacks(t, "todo list is currently empty", "later message of request %d" % i)


@test
def t_memory_files_in_order(c):
    os.makedirs(os.path.join(c.home, ".claude"))
    with open(os.path.join(c.home, ".claude", "CLAUDE.md"), "w") as f:
        f.write("MEM-HOME: use tabs\n")
    with open(os.path.join(c.root, "CLAUDE.md"), "w") as f:
        f.write("MEM-ROOT: tests live in t/\n")
    c.write("AGENTS.md", "MEM-WORK: run make\n")
    c.write("sub/CLAUDE.md", "MEM-SUB: be brief\n")
    srv = c.server([say("ok")])
    r = c.run(srv, [], cwd=c.path("sub"), prompt="hello")
    c.ok(r)
    blocks = srv.requests[0]["body"]["messages"][0]["content"]
    c.eq(len(blocks), 3, "blocks in the first user message (memory, todo reminder, prompt)")
    mem = blocks[0]["text"]
    c.check(mem.startswith("<system-reminder>"), "memory block does not start with <system-reminder>: %r"
            % clip(mem, 200))
    pos = []
    for tag in ("MEM-HOME: use tabs", "MEM-ROOT: tests live in t/", "MEM-WORK: run make", "MEM-SUB: be brief"):
        c.has(mem, tag, "memory block")
        pos.append(mem.index(tag))
    c.eq(pos, sorted(pos), "order of the memory files (home, then root to cwd)")
    c.has(blocks[1]["text"], "todo list is currently empty", "second block")
    c.eq(blocks[2]["text"], "hello", "prompt block")


@test
def t_todo_nudge_after_ten_rounds(c):
    script = [bash("toolu_n%02d" % i, "true") for i in range(1, 12)] + [say("finished")]
    srv = c.server(script)
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 12)
    with_nudge = []
    for i in range(1, 12):
        msg = srv.requests[i]["body"]["messages"][-1]
        ts = [t for t in texts(msg) if "<system-reminder>" in t and "TodoWrite" in t]
        c.check(len(ts) <= 1, "request %d has %d TodoWrite reminders" % (i, len(ts)))
        if ts:
            with_nudge.append(i)
        c.eq(len(c.results(srv, i)), 1, "tool results in request %d" % i)
    c.eq(with_nudge, [10], "requests whose newest user message carries the TodoWrite reminder")
    # it is not repeated later in the conversation either
    msgs = srv.requests[11]["body"]["messages"]
    n = sum(1 for m in msgs[1:] for t in texts(m) if "<system-reminder>" in t and "TodoWrite" in t)
    c.eq(n, 1, "TodoWrite reminders in the whole conversation of the last request")
    c.check(r.out.rstrip("\n") == "finished", "stdout %r" % r.out)


@test
def t_todo_nudge_counter_reset_by_todowrite(c):
    todo = {"todos": [{"content": "step", "status": "in_progress", "activeForm": "stepping"}]}
    script = ([bash("toolu_r%02d" % i, "true") for i in range(1, 6)] + [call("toolu_r06", "TodoWrite", todo)] +
              [bash("toolu_r%02d" % i, "true") for i in range(7, 17)] + [say("finished")])
    srv = c.server(script)
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 17)
    with_nudge = [i for i in range(1, 17)
                  if any("<system-reminder>" in t and "TodoWrite" in t
                         for t in texts(srv.requests[i]["body"]["messages"][-1]))]
    c.eq(with_nudge, [16], "requests carrying the TodoWrite reminder (TodoWrite used in round 6)")


# ---------------------------------------------------------------------------------------------------------
# stdout and the loop

@test
def t_stdout_joins_turns(c):
    srv = c.server([call("toolu_s1", "Glob", {"pattern": "*.none"}, text_before="Let me look."),
                    call("toolu_s2", "Glob", {"pattern": "*.none"}, text_before="Line two.\n"),
                    say("Done.")])
    r = c.run(srv, [])
    c.ok(r)
    c.check(r.out in ("Let me look.\nLine two.\nDone.", "Let me look.\nLine two.\nDone.\n"),
            "stdout: expected the three turns' text joined by single newlines, got %r" % r.out)
    c.has(r.err, "Glob", "stderr (the tool call lines)")


@test
def t_multiple_calls_one_user_message(c):
    c.write("notes.txt", "first line\nsecond line\n")
    c.write("src/m.c", "int main;\n")
    ids = ["toolu_01AbC-xyz_999", "toolu_02Zz.q", "toolu_03"]
    srv = c.server([calls((ids[0], "Read", {"file_path": "notes.txt"}),
                          (ids[1], "Glob", {"pattern": "**/*.c"}),
                          (ids[2], "Bash", {"command": "echo from-bash"}),
                          text_before="Three at once."),
                    say("all done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    c.nreq(srv, 2)
    msgs = srv.requests[1]["body"]["messages"]
    c.eq(len(msgs), 3, "messages in request 1")
    am = msgs[1]
    c.eq(am["role"], "assistant", "role of message 1")
    uses = [b for b in am["content"] if b.get("type") == "tool_use"]
    c.eq([(u["id"], u["name"]) for u in uses], [(ids[0], "Read"), (ids[1], "Glob"), (ids[2], "Bash")],
         "tool_use blocks sent back")
    c.eq(uses[0]["input"], {"file_path": "notes.txt"}, "tool_use input sent back")
    c.eq(am["content"][0], {"type": "text", "text": "Three at once."}, "text block sent back")
    rs = c.results(srv, 1)
    c.eq([b.get("tool_use_id") for b in rs], ids, "tool_use_ids of the results, in order")
    c.eq(msgs[2]["content"][:3], rs, "tool_result blocks come first in the user message")
    for b in rs:
        c.check(isinstance(b.get("content"), str), "content not a string: %r" % (b,))
        c.not_err(b, "result %s" % b.get("tool_use_id"))
    c.has(rs[0]["content"], "     1\tfirst line", "Read result")
    c.has(rs[1]["content"], os.path.join(c.work, "src/m.c"), "Glob result")
    c.eq(rs[2]["content"], "from-bash\n", "Bash result")
    c.lacks(r.out, "from-bash", "stdout (tool output belongs to stderr, if anywhere)")
    c.check(r.out.rstrip("\n") == "Three at once.\nall done", "stdout %r" % r.out)


@test
def t_unknown_tool_is_error_and_loop_goes_on(c):
    srv = c.server([call("toolu_u1", "Teleport", {"where": "mars"}), say("ok then")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    b = c.result(srv, 1, "toolu_u1")
    c.is_err(b, "unknown tool result")
    c.check(r.out.rstrip("\n") == "ok then", "stdout %r" % r.out)


@test
def t_tool_input_split_into_tiny_pieces(c):
    js = '{"command": "printf \'%s|%s\\\\n\' \\u00e9t\\u00e9 \\"q\\" > out.txt"}'
    want = {"command": "printf '%s|%s\\n' \u00e9t\u00e9 \"q\" > out.txt"}
    c.eq(json.loads(js), want, "test's own JSON")
    srv = c.server([{"tool_use": {"id": "toolu_tp1", "name": "Bash", "input": want, "json_pieces": list(js)}},
                    say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_tp1"), "Bash")
    c.eq(c.read("out.txt"), "\u00e9t\u00e9|q\n", "out.txt")
    use = srv.requests[1]["body"]["messages"][1]["content"][0]
    c.eq(use.get("input"), want, "tool_use input sent back")


@test
def t_tool_input_empty(c):
    srv = c.server([{"tool_use": {"id": "toolu_ei1", "name": "Glob", "input": {}, "json_pieces": []}},
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    use = srv.requests[1]["body"]["messages"][1]["content"][0]
    c.eq((use.get("type"), use.get("id"), use.get("input")), ("tool_use", "toolu_ei1", {}),
         "tool_use sent back (an empty input is {})")
    c.is_err(c.result(srv, 1, "toolu_ei1"), "Glob without a pattern")


@test
def t_long_tool_use_id_echoed(c):
    tid = "toolu_" + "".join("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"[i % 64]
                             for i in range(194))
    srv = c.server([call(tid, "Glob", {"pattern": "*.none"}), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(srv.requests[1]["body"]["messages"][1]["content"][0].get("id"), tid, "tool_use id sent back")
    c.result(srv, 1, tid)


@test
def t_max_turns_text(c):
    srv = c.server([bash("toolu_m1", "touch ran"), say("never")])
    r = c.run(srv, ["--max-turns", "1", "--dangerously-skip-permissions"])
    c.ok(r, 1)
    c.nreq(srv, 1)
    c.has(r.err, "max-turns", "stderr")


@test
def t_output_json(c):
    srv = c.server([bash("toolu_j1", "echo hi"), say("The answer is 42.")])
    r = c.run(srv, ["--output-format", "json", "--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 2)
    obj = c.json_out(r)
    c.eq(r.out.strip().count("\n"), 0, "newlines inside the JSON output")
    c.eq(obj.get("type"), "result", "type")
    c.eq(obj.get("subtype"), "success", "subtype")
    c.eq(obj.get("is_error"), False, "is_error")
    c.eq(obj.get("num_turns"), 2, "num_turns")
    c.eq(obj.get("result"), "The answer is 42.", "result")
    c.check(isinstance(obj.get("total_cost_usd"), (int, float)) and not isinstance(obj["total_cost_usd"], bool),
            "total_cost_usd not a number: %r" % obj.get("total_cost_usd"))
    c.check(isinstance(obj.get("usage"), dict), "usage not an object")
    # the default model's list prices: $3 and $15 per million tokens in and out, cache writes 1.25x, reads 0.1x
    u = obj["usage"]
    want = round((u["input_tokens"] * 3 + u["output_tokens"] * 15 + u["cache_creation_input_tokens"] * 3.75 +
                  u["cache_read_input_tokens"] * 0.3) / 1e6, 6)
    c.check(u["input_tokens"] > 0 and abs(obj["total_cost_usd"] - want) < 1e-9,
            "total_cost_usd %r, expected %r from usage %r" % (obj["total_cost_usd"], want, u))
    c.check(isinstance(obj.get("session_id"), str) and obj["session_id"], "session_id")
    c.check(isinstance(obj.get("duration_ms"), (int, float)), "duration_ms")


@test
def t_output_json_max_turns(c):
    srv = c.server([bash("toolu_j2", "echo hi"), say("never")])
    r = c.run(srv, ["--output-format", "json", "--max-turns", "1", "--dangerously-skip-permissions"])
    c.ok(r, 1)
    c.nreq(srv, 1)
    obj = c.json_out(r)
    c.eq(obj.get("type"), "result", "type")
    c.eq(obj.get("subtype"), "error_max_turns", "subtype")
    c.eq(obj.get("is_error"), True, "is_error")


@test
def t_output_stream_json(c):
    srv = c.server([bash("toolu_sj1", "echo streamed"), say("Finished.")])
    r = c.run(srv, ["--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"])
    c.ok(r)
    lines = r.out.split("\n")
    c.eq(lines[-1], "", "stdout ends with a newline")
    objs = []
    for ln in lines[:-1]:
        try:
            objs.append(json.loads(ln))
        except ValueError:
            raise Fail("stdout line is not JSON: %r" % ln)
    c.eq([o.get("type") for o in objs], ["system", "assistant", "user", "assistant", "result"], "line types")
    init = objs[0]
    c.eq(init.get("subtype"), "init", "first line subtype")
    c.eq(init.get("tools"), TOOL_NAMES, "init tools")
    c.eq(init.get("cwd"), c.work, "init cwd")
    c.check(isinstance(init.get("model"), str) and init["model"], "init model")
    c.check(isinstance(init.get("session_id"), str) and init["session_id"], "init session_id")
    use = [b for b in objs[1]["message"]["content"] if b.get("type") == "tool_use"]
    c.eq([(u["id"], u["name"], u["input"]) for u in use], [("toolu_sj1", "Bash", {"command": "echo streamed"})],
         "tool_use in the first assistant line")
    res = [b for b in objs[2]["message"]["content"] if b.get("type") == "tool_result"]
    c.eq(len(res), 1, "tool_results in the user line")
    c.eq(res[0].get("tool_use_id"), "toolu_sj1", "tool_use_id")
    c.has(str(res[0].get("content")), "streamed", "tool_result content")
    c.eq(texts(objs[3]["message"]), ["Finished."], "text of the last assistant line")
    c.eq(objs[4].get("subtype"), "success", "result subtype")
    c.eq(objs[4].get("result"), "Finished.", "result text")
    c.eq(objs[4].get("session_id"), init["session_id"], "result session_id")


@test
def t_input_stream_json(c):
    srv = c.server([say("First answer."), say("Second answer.")])
    stdin = (json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}) + "\n" +
             json.dumps({"type": "user", "message": {"role": "user", "content": "and again"}}) + "\n")
    r = c.run(srv, ["--input-format", "stream-json", "--output-format", "stream-json", "--verbose"],
              stdin=stdin, prompt=None)
    c.check(r.rc == 0, "exit code: expected 0, got %r" % r.rc)
    c.nreq(srv, 2)
    c.has(" ".join(texts(srv.requests[0]["body"]["messages"][0])), "hi", "first user message")
    msgs = srv.requests[1]["body"]["messages"]
    c.eq([m["role"] for m in msgs], ["user", "assistant", "user"], "roles in the second request")
    c.eq(texts(msgs[0])[-1], "hi", "first user text")
    c.eq(texts(msgs[1]), ["First answer."], "first answer sent back")
    c.eq(texts(msgs[2])[-1], "and again", "second user text")
    c.has(r.out, "First answer.", "stdout")
    c.has(r.out, "Second answer.", "stdout")


# ---------------------------------------------------------------------------------------------------------
# Thinking and cut replies

@test
def t_thinking_block_sent_back(c):
    reply = {"events": mock_api.message_stream(content=[
        {"type": "thinking", "thinking": "SECRET-THOUGHT: list the files first.", "signature": "sig123"},
        {"type": "tool_use", "id": "toolu_th1", "name": "Glob", "input": {"pattern": "*.x"}},
    ], stop_reason="tool_use")}
    srv = c.server([reply, say("No files.")])
    r = c.run(srv, ["--thinking", "2048"])
    c.ok(r)
    c.nreq(srv, 2)
    for i in range(2):
        c.eq(srv.requests[i]["body"].get("thinking"), {"type": "enabled", "budget_tokens": 2048},
             "thinking in request %d" % i)
        c.check(srv.requests[i]["body"]["max_tokens"] > 2048, "max_tokens must exceed the thinking budget")
    am = srv.requests[1]["body"]["messages"][1]
    c.eq(am["role"], "assistant", "role")
    c.eq(len(am["content"]), 2, "blocks in the assistant message")
    th = am["content"][0]
    c.eq((th.get("type"), th.get("thinking"), th.get("signature")),
         ("thinking", "SECRET-THOUGHT: list the files first.", "sig123"), "thinking block sent back")
    c.eq(am["content"][1].get("type"), "tool_use", "second block")
    c.eq(am["content"][1].get("id"), "toolu_th1", "tool_use id")
    c.lacks(r.out, "SECRET-THOUGHT", "stdout")
    c.check(r.out.rstrip("\n") == "No files.", "stdout %r" % r.out)


@test
def t_thinking_budget_too_small(c):
    srv = c.server([say("never")])
    r = c.run(srv, ["--thinking", "500"])
    c.ok(r, 2)
    c.nreq(srv, 0)


@test
def t_reply_cut_mid_tool_use(c):
    events = [
        mock_api._message_start(),
        ["content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}],
        ["content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Making it."}}],
        ["content_block_stop", {"type": "content_block_stop", "index": 0}],
        ["content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "tool_use", "id": "toolu_cut1", "name": "Bash",
                                                   "input": {}}}],
        ["content_block_delta", {"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"command": "touch cut-mark'}}],
        ["message_delta", {"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                           "usage": {"output_tokens": 30}}],
        ["message_stop", {"type": "message_stop"}],
    ]
    srv = c.server([{"events": events}, say("Sorry, done now.")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 2)
    c.check(not os.path.exists(c.path("cut-mark")), "the cut-off command ran: cut-mark exists")
    msgs = srv.requests[1]["body"]["messages"]
    c.eq([m["role"] for m in msgs], ["user", "assistant", "user"], "roles in request 1")
    am = msgs[1]
    c.check(isinstance(am["content"], str) or not any(b.get("type") == "tool_use" for b in am["content"]),
            "assistant message sent back holds a tool_use block")
    um = msgs[2]
    c.check(isinstance(um["content"], list), "last user message content is not a list")
    c.check(not any(b.get("type") == "tool_result" for b in um["content"]),
            "last user message holds a tool_result for a tool_use that was not sent back")
    c.check(any("cut off" in t for t in texts(um)), "no text block mentioning 'cut off' in %r"
            % clip(json.dumps(um), 800))


# ---------------------------------------------------------------------------------------------------------
# Bash

@test
def t_bash_exit_code(c):
    srv = c.server([bash("toolu_b1", "echo oops; echo bad >&2; exit 3"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_b1")
    c.is_err(b, "non-zero exit")
    c.check(b["content"].startswith("Exit code 3\n"), "content does not start with 'Exit code 3\\n': %r"
            % b["content"])
    c.has(b["content"], "oops", "result")
    c.has(b["content"], "bad", "result (stderr merged)")


@test
def t_bash_no_output(c):
    srv = c.server([bash("toolu_b2", "true"), bash("toolu_b3", "echo out; echo err 1>&2"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_b2")
    c.not_err(b, "true")
    c.eq(b["content"], "(Bash completed with no output)", "content")
    b = c.result(srv, 2, "toolu_b3")
    c.not_err(b, "echo")
    c.eq(b["content"], "out\nerr\n", "merged stdout and stderr")


@test
def t_bash_stdin_is_empty(c):
    srv = c.server([bash("toolu_in1", "cat; read x; echo rc=$?"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.check(r.elapsed < 10, "the run took %.1f s" % r.elapsed)
    c.eq(c.result(srv, 1, "toolu_in1")["content"], "rc=1\n", "a command reading stdin gets EOF")


@test
def t_bash_non_utf8_output(c):
    srv = c.server([bash("toolu_nu1", "printf 'caf\\351 ok\\377\\n'"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 2)
    c.check(isinstance(srv.requests[1]["body"], dict), "request 1 is not valid UTF-8 JSON: %r"
            % clip(srv.requests[1]["body"], 300))
    b = c.result(srv, 1, "toolu_nu1")
    c.has(b["content"], "caf", "result")
    c.has(b["content"], " ok", "result")


@test
def t_read_non_utf8_file(c):
    c.write("latin1.txt", b"caf\xe9 au lait\n")
    srv = c.server([call("toolu_nu2", "Read", {"file_path": "latin1.txt"}),
                    call("toolu_nu3", "Grep", {"pattern": "lait", "output_mode": "content"}),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 3)
    for i in (1, 2):
        c.check(isinstance(srv.requests[i]["body"], dict), "request %d is not valid UTF-8 JSON: %r"
                % (i, clip(srv.requests[i]["body"], 300)))
    c.has(c.result(srv, 1, "toolu_nu2")["content"], " au lait", "Read result")
    c.has(c.result(srv, 2, "toolu_nu3")["content"], " au lait", "Grep result")


@test
def t_bash_timeout_kills_group(c):
    marker = "sleep 30.%d" % (os.getpid() % 1000 + 1000)
    srv = c.server([bash("toolu_to", "%s & %s" % (marker, marker), timeout=500), say("gave up")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    try:
        time.sleep(0.3)
        left = subprocess.run(["pgrep", "-f", marker], stdout=subprocess.PIPE).stdout.decode().split()
    finally:
        pass
    for pid in left:  # our own marker: processes this test started through the agent
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    c.ok(r)
    c.check(r.elapsed < 8, "the run took %.1f s with a 500 ms timeout" % r.elapsed)
    b = c.result(srv, 1, "toolu_to")
    c.is_err(b, "timed out command")
    c.has(b["content"], "timed out", "result")
    c.eq(left, [], "processes matching %r still alive after the run" % marker)


@test
def t_bash_cd_persists(c):
    srv = c.server([bash("toolu_cd1", "mkdir sub && cd sub"), bash("toolu_cd2", "pwd; touch here"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_cd1")
    c.not_err(b, "cd")
    c.has(b["content"], "working directory is now", "cd result")
    b = c.result(srv, 2, "toolu_cd2")
    c.eq(b["content"], c.path("sub") + "\n", "pwd after cd")
    c.check(os.path.exists(c.path("sub/here")), "sub/here was not created")


@test
def t_bash_env_has_no_api_key(c):
    srv = c.server([bash("toolu_env", 'echo "k=$ANTHROPIC_API_KEY"'), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.eq(c.result(srv, 1, "toolu_env")["content"], "k=\n", "child's ANTHROPIC_API_KEY")


@test
def t_bash_long_output_cut_in_middle(c):
    srv = c.server([bash("toolu_seq", "seq 1 100000"), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_seq")
    s = b["content"]
    c.check(s.startswith("1\n2\n3\n"), "head kept: %r" % s[:40])
    c.check(s.rstrip("\n").endswith("99999\n100000"), "tail kept: %r" % s[-40:])
    c.has(s, "characters cut from the middle", "result")
    c.check(len(s) < 31000, "result is %d characters long" % len(s))
    c.check(len(s) > 20000, "result is only %d characters long" % len(s))


# ---------------------------------------------------------------------------------------------------------
# Read

@test
def t_read_numbered_lines_relative_path(c):
    c.write("hello.txt", "hello\nworld\n")
    srv = c.server([call("toolu_r1", "Read", {"file_path": "hello.txt"}), say("read it")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.result(srv, 1, "toolu_r1")
    c.not_err(b, "Read")
    c.check(b["content"].startswith("     1\thello\n     2\tworld"), "content %r" % b["content"])


@test
def t_read_errors(c):
    os.makedirs(c.path("adir"))
    c.write("bin.dat", b"ab\x00cd\n")
    c.write("empty.txt", "")
    srv = c.server([calls(("toolu_e1", "Read", {"file_path": "missing.txt"}),
                          ("toolu_e2", "Read", {"file_path": "adir"}),
                          ("toolu_e3", "Read", {"file_path": c.path("bin.dat")}),
                          ("toolu_e4", "Read", {"file_path": "empty.txt"})),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    rs = c.results(srv, 1)
    c.eq([b.get("tool_use_id") for b in rs], ["toolu_e1", "toolu_e2", "toolu_e3", "toolu_e4"], "result ids")
    c.is_err(rs[0], "missing file")
    c.has(rs[0]["content"], "does not exist", "missing file")
    c.is_err(rs[1], "directory")
    c.has(rs[1]["content"], "directory", "directory")
    c.is_err(rs[2], "binary file")
    c.has(rs[2]["content"], "binary", "binary file")
    c.not_err(rs[3], "empty file")
    c.has(rs[3]["content"], "empty", "empty file")


@test
def t_read_long_file_paged(c):
    c.write("long.txt", "".join("line %d\n" % i for i in range(1, 3001)))
    srv = c.server([call("toolu_l1", "Read", {"file_path": "long.txt"}),
                    call("toolu_l2", "Read", {"file_path": "long.txt", "offset": 10, "limit": 3}),
                    call("toolu_l3", "Read", {"file_path": "long.txt", "offset": 2001}),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    s = c.result(srv, 1, "toolu_l1")["content"]
    c.has(s, "     1\tline 1\n", "first page")
    c.has(s, "  2000\tline 2000\n", "first page")
    c.lacks(s, "\tline 2001", "first page")
    c.has(s, "[showing lines 1-2000 of 3000; Read with offset=2001 to read on]", "first page")
    s = c.result(srv, 2, "toolu_l2")["content"]
    nums = re.findall(r"^ *(\d+)\tline (\d+)$", s, re.M)
    c.eq(nums, [("10", "10"), ("11", "11"), ("12", "12")], "lines shown with offset=10 limit=3")
    s = c.result(srv, 3, "toolu_l3")["content"]
    nums = re.findall(r"^ *(\d+)\tline \d+$", s, re.M)
    c.eq((nums[0], nums[-1], len(nums)) if nums else None, ("2001", "3000", 1000), "lines shown with offset=2001")
    c.lacks(s, "Read with offset", "last page")


# ---------------------------------------------------------------------------------------------------------
# Write and Edit

@test
def t_write_creates_dirs(c):
    tricky = 'tab\there "quoted" back\\slash\nh\u00e9llo \u2713 \U0001F600\nno newline at end'
    srv = c.server([call("toolu_w1", "Write", {"file_path": "a/b/c.txt", "content": "new\nfile\n"}),
                    call("toolu_w1b", "Write", {"file_path": c.path("abs.txt"), "content": tricky}),
                    say("ok")])
    r = c.run(srv, ["--permission-mode", "acceptEdits"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_w1")
    c.not_err(b, "Write")
    c.check(b["content"].startswith("Created"), "content %r" % b["content"])
    c.eq(c.read("a/b/c.txt"), "new\nfile\n", "a/b/c.txt on disk")
    c.not_err(c.result(srv, 2, "toolu_w1b"), "Write with an absolute path")
    with open(c.path("abs.txt"), "rb") as f:
        c.eq(f.read(), tricky.encode("utf-8"), "abs.txt bytes on disk")


@test
def t_write_unread_file_refused(c):
    c.write("keep.txt", "original\n")
    srv = c.server([call("toolu_w2", "Write", {"file_path": "keep.txt", "content": "clobbered\n"}), say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_w2")
    c.is_err(b, "Write over an unread file")
    c.has(b["content"], "has not been Read", "result")
    c.eq(c.read("keep.txt"), "original\n", "keep.txt on disk")


@test
def t_write_after_read_keeps_mode(c):
    c.write("run.sh", "#!/bin/sh\necho old\n", mode=0o755)
    srv = c.server([call("toolu_w3", "Read", {"file_path": "run.sh"}),
                    call("toolu_w4", "Write", {"file_path": "run.sh", "content": "#!/bin/sh\necho new\n"}),
                    say("ok")])
    r = c.run(srv, ["--permission-mode", "acceptEdits"])
    c.ok(r)
    b = c.result(srv, 2, "toolu_w4")
    c.not_err(b, "Write after Read")
    c.eq(c.read("run.sh"), "#!/bin/sh\necho new\n", "run.sh on disk")
    c.eq(oct(os.stat(c.path("run.sh")).st_mode & 0o7777), oct(0o755), "mode of run.sh")


@test
def t_write_file_changed_since_read(c):
    c.write("f.txt", "v1\n")
    srv = c.server([call("toolu_w5", "Read", {"file_path": "f.txt"}),
                    bash("toolu_w6", "echo x >> f.txt"),
                    call("toolu_w7", "Write", {"file_path": "f.txt", "content": "v2\n"}),
                    say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 3, "toolu_w7")
    c.is_err(b, "Write over a changed file")
    c.has(b["content"], "changed on disk", "result")
    c.eq(c.read("f.txt"), "v1\nx\n", "f.txt on disk")


@test
def t_edit_requires_read(c):
    c.write("e.txt", "alpha\n")
    srv = c.server([call("toolu_ed0", "Edit", {"file_path": "e.txt", "old_string": "alpha", "new_string": "beta"}),
                    say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    b = c.result(srv, 1, "toolu_ed0")
    c.is_err(b, "Edit without Read")
    c.has(b["content"], "Read", "result")
    c.eq(c.read("e.txt"), "alpha\n", "e.txt on disk")


@test
def t_edit_sequence(c):
    c.write("e.txt", "alpha beta\nalpha gamma\nfoo foo foo\n")
    e = lambda tid, old, new, **kw: call(tid, "Edit", dict({"file_path": "e.txt", "old_string": old,
                                                             "new_string": new}, **kw))
    srv = c.server([call("toolu_ed1", "Read", {"file_path": "e.txt"}),
                    e("toolu_ed2", "delta", "DELTA"),
                    e("toolu_ed3", "alpha", "ALPHA"),
                    e("toolu_ed4", "alpha gamma", "ALPHA gamma"),
                    e("toolu_ed5", "foo", "bar", replace_all=True),
                    say("edited")])
    r = c.run(srv, ["--permission-mode", "acceptEdits"])
    c.ok(r)
    b = c.result(srv, 2, "toolu_ed2")
    c.is_err(b, "Edit of a missing string")
    c.has(b["content"], "was not found", "result")
    b = c.result(srv, 3, "toolu_ed3")
    c.is_err(b, "ambiguous Edit")
    c.has(b["content"], "found 2 times", "result")
    c.not_err(c.result(srv, 4, "toolu_ed4"), "Edit with more context")
    c.not_err(c.result(srv, 5, "toolu_ed5"), "replace_all Edit")
    c.eq(c.read("e.txt"), "alpha beta\nALPHA gamma\nbar bar bar\n", "e.txt on disk")


# ---------------------------------------------------------------------------------------------------------
# Glob and Grep

@test
def t_glob(c):
    now = time.time()
    for rel, age in (("a.c", 200), ("src/b.c", 300), ("src/deep/c.c", 100), ("d.txt", 50), (".git/x.c", 10)):
        p = c.write(rel, "x\n")
        os.utime(p, (now - age, now - age))
    srv = c.server([call("toolu_g1", "Glob", {"pattern": "**/*.c"}),
                    call("toolu_g2", "Glob", {"pattern": "*.c", "path": "src"}),
                    call("toolu_g3", "Glob", {"pattern": "**/*.rs"}),
                    call("toolu_g4", "Glob", {"pattern": "src/*.c"}),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.result(srv, 1, "toolu_g1")
    c.not_err(b, "Glob")
    paths = [ln for ln in b["content"].split("\n") if ln.startswith("/")]
    c.eq(paths, [c.path("src/deep/c.c"), c.path("a.c"), c.path("src/b.c")], "**/*.c, newest first")
    paths = [ln for ln in c.result(srv, 2, "toolu_g2")["content"].split("\n") if ln.startswith("/")]
    c.eq(paths, [c.path("src/deep/c.c"), c.path("src/b.c")], "*.c with path src (only files under src)")
    b = c.result(srv, 3, "toolu_g3")
    c.has(b["content"], "No files match", "no match")
    paths = [ln for ln in c.result(srv, 4, "toolu_g4")["content"].split("\n") if ln.startswith("/")]
    c.eq(paths, [c.path("src/b.c")], "src/*.c ('*' does not cross '/')")


@test
def t_grep(c):
    c.write("a.txt", "one\nthe needle here\nthree\nNEEDLE loud\nfive\n")
    c.write("sub/b.txt", "needle again\n")
    c.write("sub/c.md", "a needle in markdown\n")
    c.write("none.txt", "nothing\n")
    c.write(".git/config", "needle in git\n")
    c.write("bin.dat", b"needle\x00\x01\x02\n")
    g = lambda tid, **kw: call(tid, "Grep", kw)
    srv = c.server([g("toolu_gr1", pattern="needle"),
                    g("toolu_gr2", pattern="needle", output_mode="content", **{"-n": True}),
                    g("toolu_gr3", pattern="needle", output_mode="count", **{"-i": True}),
                    g("toolu_gr4", pattern="needle", glob="*.md", output_mode="content"),
                    g("toolu_gr5", pattern="needle here", path="a.txt", output_mode="content", **{"-C": 1}),
                    g("toolu_gr6", pattern="(unclosed"),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    s = c.result(srv, 1, "toolu_gr1")["content"]
    found = sorted(os.path.basename(ln.strip()) for ln in s.split("\n") if ln.strip().endswith((".txt", ".md")))
    c.eq(found, ["a.txt", "b.txt", "c.md"], "files listed by default (%r)" % s)
    c.lacks(s, ".git", "default Grep")
    c.lacks(s, "bin.dat", "default Grep")
    s = c.result(srv, 2, "toolu_gr2")["content"]
    c.check(re.search(r"(^|/)a\.txt:2:the needle here$", s, re.M), "no 'a.txt:2:the needle here' in %r" % s)
    c.check(re.search(r"(^|/)b\.txt:1:needle again$", s, re.M), "no 'b.txt:1:needle again' in %r" % s)
    c.lacks(s, "NEEDLE loud", "case-sensitive content")
    c.lacks(s, "bin.dat", "content mode")
    s = c.result(srv, 3, "toolu_gr3")["content"]
    c.check(re.search(r"(^|/)a\.txt:2$", s, re.M), "no 'a.txt:2' count line in %r" % s)
    c.check(re.search(r"(^|/)b\.txt:1$", s, re.M), "no 'b.txt:1' count line in %r" % s)
    s = c.result(srv, 4, "toolu_gr4")["content"]
    c.check(re.search(r"(^|/)c\.md:a needle in markdown$", s, re.M), "no 'c.md:a needle in markdown' in %r" % s)
    c.lacks(s, "a.txt", "glob *.md")
    s = c.result(srv, 5, "toolu_gr5")["content"]
    for t in ("one", "the needle here", "three"):
        c.has(s, t, "-C 1")
    c.lacks(s, "five", "-C 1")
    c.is_err(c.result(srv, 6, "toolu_gr6"), "invalid regex")


@test
def t_grep_ripgrep_syntax(c):
    """Grep takes the syntax the model knows from ripgrep: \\d, \\w, \\s, \\b, {n,m}, (?i), (?:...)."""
    c.write("calls.txt", "call 555-1234 now\nno number here\nmail bob_smith@example.com\nwordy swordfish\n"
                         "Hello World\n")
    g = lambda tid, pat: call(tid, "Grep", {"pattern": pat, "output_mode": "content", "path": "calls.txt"})
    srv = c.server([g("toolu_rg1", r"\d{3}-\d{4}"), g("toolu_rg2", r"\w+@\w+\.com"), g("toolu_rg3", r"\bword\b|\bwordy\s"),
                    g("toolu_rg4", r"(?i)hello\s+world"), g("toolu_rg5", r"(?:ab)+{"), g("toolu_rg6", r"\bordfish"),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.has(c.result(srv, 1, "toolu_rg1")["content"], "call 555-1234 now", "\\d{3}-\\d{4}")
    c.lacks(c.result(srv, 1, "toolu_rg1")["content"], "no number", "\\d{3}-\\d{4}")
    c.has(c.result(srv, 2, "toolu_rg2")["content"], "bob_smith@example.com", "\\w+@")
    c.has(c.result(srv, 3, "toolu_rg3")["content"], "wordy swordfish", "\\b and \\s")
    c.has(c.result(srv, 4, "toolu_rg4")["content"], "Hello World", "(?i)")
    c.is_err(c.result(srv, 5, "toolu_rg5"), "a bad repetition")
    c.has(c.result(srv, 5, "toolu_rg5")["content"], "regular expression", "the error names the problem")
    c.has(c.result(srv, 6, "toolu_rg6")["content"], "No matches", "\\b inside a word (swordfish)")


# ---------------------------------------------------------------------------------------------------------
# TodoWrite

@test
def t_todowrite(c):
    todos = [{"content": "Write the parser", "status": "completed", "activeForm": "Writing the parser"},
             {"content": "Test the parser", "status": "in_progress", "activeForm": "Testing the parser"},
             {"content": "Ship it", "status": "pending", "activeForm": "Shipping it"}]
    srv = c.server([call("toolu_td1", "TodoWrite", {"todos": todos}),
                    call("toolu_td2", "TodoWrite", {"todos": [{"content": "x", "status": "someday",
                                                                "activeForm": "x-ing"}]}),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.result(srv, 1, "toolu_td1")
    c.not_err(b, "TodoWrite")
    c.check(b["content"].startswith("Todo list updated: 1 pending, 1 in progress, 1 completed"),
            "content %r" % b["content"])
    for t in ("Write the parser", "Test the parser", "Ship it"):
        c.has(r.err, t, "stderr")
    c.is_err(c.result(srv, 2, "toolu_td2"), "bad status")


# ---------------------------------------------------------------------------------------------------------
# Permissions

@test
def t_perm_default_refuses_bash_write_edit(c):
    c.write("e.txt", "alpha\n")
    srv = c.server([call("toolu_p0", "Read", {"file_path": "e.txt"}),
                    calls(("toolu_p1", "Bash", {"command": "touch marker"}),
                          ("toolu_p2", "Write", {"file_path": "w.txt", "content": "w\n"}),
                          ("toolu_p3", "Edit", {"file_path": "e.txt", "old_string": "alpha", "new_string": "beta"}),
                          ("toolu_p4", "Glob", {"pattern": "*.txt"})),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_p0"), "Read")
    rs = c.results(srv, 2)
    c.eq([b.get("tool_use_id") for b in rs], ["toolu_p1", "toolu_p2", "toolu_p3", "toolu_p4"], "result ids")
    for b, tool in zip(rs[:3], ("Bash", "Write", "Edit")):
        c.is_err(b, tool)
        c.check(b["content"].startswith("Permission to use %s was denied" % tool), "content %r" % b["content"])
    c.not_err(rs[3], "Glob")
    c.check(not os.path.exists(c.path("marker")), "Bash ran: marker exists")
    c.check(not os.path.exists(c.path("w.txt")), "Write ran: w.txt exists")
    c.eq(c.read("e.txt"), "alpha\n", "e.txt on disk")


@test
def t_key_not_in_any_environ_a_command_can_read(c):
    if os.path.basename(c.agent).startswith("run-"):      # test/cross.sh's qemu-user shim
        raise e2e_lib.Skip("under qemu-user /proc/PID/environ is qemu's own, not the guest's")
    srv = c.server([bash("toolu_k1", "a=$(cut -d' ' -f4 /proc/$PPID/stat); tr '\\0' '\\n' < /proc/$PPID/environ; "
                                      "tr '\\0' '\\n' < /proc/$a/environ; env; echo END"), say("ok")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    out = json.dumps(c.result(srv, 1, "toolu_k1"))
    c.has(out, "END", "the command's output")
    c.has(out, "HOME=", "the command read an environment")
    c.lacks(out, e2e_lib.API_KEY, "what the command could read of the agent's and its keeper's environment")


@test
def t_blank_prompt_is_no_prompt(c):
    srv = c.server([say("never")])
    for stdin, prompt in (("   \n\n", None), ("", "  \t "), ("\n", "")):
        argv = [c.agent, "-p"] + ([prompt] if prompt is not None else [])
        r = c.spawn(argv, c.env(srv), srv, stdin=stdin)
        c.eq(r.rc, 2, "exit code for a blank prompt %r / stdin %r" % (prompt, stdin))
        c.has(r.err, "no prompt", "stderr")
    c.nreq(srv, 0, " (a blank prompt is never sent)")


@test
def t_first_retry_line_says_how_long(c):
    srv = c.server([{"status": 503, "body": "busy"}, {"status": 503, "body": "busy"}, say("made it")])
    r = c.run(srv, [], extra={"ANTHROPIC_MAX_RETRIES": "2"})
    c.ok(r)
    lines = [ln for ln in r.err.split("\n") if "retrying in" in ln]
    c.eq(len(lines), 2, "retry lines")
    c.has(lines[0], "503", "the first retry line (the reason)")
    c.has(lines[0], "(retry 1 of 2); the 2 retries wait up to 2 s in all", "the first retry line (the cost of all)")
    c.lacks(lines[1], "in all", "the second retry line")


@test
def t_perm_allowed_bash(c):
    srv = c.server([bash("toolu_pa1", "touch marker"), say("ok")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_pa1"), "allowed Bash")
    c.check(os.path.exists(c.path("marker")), "marker was not created")


@test
def t_perm_bash_prefix_rule(c):
    os.makedirs(c.path("victim"))
    srv = c.server([bash("toolu_pp1", "touch ok1"),
                    bash("toolu_pp2", "touch inj1; rm -rf victim"),
                    bash("toolu_pp3", "touch inj2 && rm -rf victim"),
                    bash("toolu_pp4", "echo hi > inj3"),
                    bash("toolu_pp5", "touch inj4\nrm -rf victim"),
                    bash("toolu_pp6", "touch $(rm -rf victim) inj5"),
                    bash("toolu_pp7", "touch `rm -rf victim` inj6"),
                    bash("toolu_pp8", "touch inj7 | rm -rf victim"),
                    say("ok")])
    r = c.run(srv, ["--allowedTools", "Bash(touch:*)"])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_pp1"), "touch ok1")
    c.check(os.path.exists(c.path("ok1")), "ok1 was not created")
    for i in range(2, 9):
        tid = "toolu_pp%d" % i
        b = c.result(srv, i, tid)
        c.is_err(b, "request %d" % i)
        c.check(b["content"].startswith("Permission to use Bash was denied"), "content %r" % b["content"])
    c.check(os.path.isdir(c.path("victim")), "victim was removed")
    for f in ("inj1", "inj2", "inj3", "inj4", "inj5", "inj6", "inj7"):
        c.check(not os.path.exists(c.path(f)), "%s was created by a command the rule does not allow" % f)


@test
def t_perm_accept_edits(c):
    c.write("e.txt", "alpha\n")
    srv = c.server([call("toolu_ae1", "Read", {"file_path": "e.txt"}),
                    calls(("toolu_ae2", "Edit", {"file_path": "e.txt", "old_string": "alpha", "new_string": "beta"}),
                          ("toolu_ae3", "Write", {"file_path": "new.txt", "content": "n\n"}),
                          ("toolu_ae4", "Bash", {"command": "touch marker"})),
                    say("ok")])
    r = c.run(srv, ["--permission-mode", "acceptEdits"])
    c.ok(r)
    rs = c.results(srv, 2)
    c.eq(len(rs), 3, "results")
    c.not_err(rs[0], "Edit")
    c.not_err(rs[1], "Write")
    c.is_err(rs[2], "Bash")
    c.check(rs[2]["content"].startswith("Permission to use Bash was denied"), "content %r" % rs[2]["content"])
    c.eq(c.read("e.txt"), "beta\n", "e.txt")
    c.eq(c.read("new.txt"), "n\n", "new.txt")
    c.check(not os.path.exists(c.path("marker")), "Bash ran: marker exists")


@test
def t_perm_plan_mode(c):
    c.write("e.txt", "alpha\n")
    srv = c.server([call("toolu_pl1", "Read", {"file_path": "e.txt"}),
                    calls(("toolu_pl2", "Edit", {"file_path": "e.txt", "old_string": "alpha", "new_string": "beta"}),
                          ("toolu_pl3", "Write", {"file_path": "new.txt", "content": "n\n"}),
                          ("toolu_pl4", "Bash", {"command": "touch marker"}),
                          ("toolu_pl5", "Grep", {"pattern": "alpha"})),
                    say("here is my plan")])
    r = c.run(srv, ["--permission-mode", "plan"])
    c.ok(r)
    c.not_err(c.result(srv, 1, "toolu_pl1"), "Read")
    rs = c.results(srv, 2)
    c.eq(len(rs), 4, "results")
    for b in rs[:3]:
        c.is_err(b, b.get("tool_use_id"))
        c.has(b["content"], "Plan mode", "result")
    c.not_err(rs[3], "Grep")
    c.eq(c.read("e.txt"), "alpha\n", "e.txt")
    c.check(not os.path.exists(c.path("new.txt")), "Write ran in plan mode")
    c.check(not os.path.exists(c.path("marker")), "Bash ran in plan mode")


@test
def t_perm_skip_and_bypass(c):
    for i, flags in enumerate((["--dangerously-skip-permissions"], ["--permission-mode", "bypassPermissions"])):
        srv = c.server([calls(("toolu_by%da" % i, "Bash", {"command": "touch marker%d" % i}),
                              ("toolu_by%db" % i, "Write", {"file_path": "w%d.txt" % i, "content": "w\n"})),
                        say("ok")])
        r = c.run(srv, flags)
        c.ok(r)
        rs = c.results(srv, 1)
        c.eq(len(rs), 2, "results with %s" % flags)
        for b in rs:
            c.not_err(b, "%s with %s" % (b.get("tool_use_id"), flags))
        c.check(os.path.exists(c.path("marker%d" % i)), "Bash did not run with %s" % flags)
        c.eq(c.read("w%d.txt" % i), "w\n", "w%d.txt with %s" % (i, flags))


@test
def t_perm_disallowed_read(c):
    c.write("secret.txt", "TOPSECRET\n")
    srv = c.server([call("toolu_dr1", "Read", {"file_path": "secret.txt"}), say("ok")])
    r = c.run(srv, ["--disallowedTools", "Read"])
    c.ok(r)
    c.check("Read" not in [t["name"] for t in srv.requests[0]["body"]["tools"]], "Read still offered")
    b = c.result(srv, 1, "toolu_dr1")
    c.is_err(b, "disallowed Read")
    c.has(b["content"], "denied by the rule", "result")
    c.lacks(b["content"], "TOPSECRET", "result")


# ---------------------------------------------------------------------------------------------------------
# TLS: one kept-alive connection

@test
def t_tls_keepalive_one_handshake(c):
    c.write("f.txt", "x\n")
    srv = c.server([call("toolu_t1", "Read", {"file_path": "f.txt"}), say("done")], tls=True)
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    c.eq(srv.connections, 1, "TCP connections for two turns over TLS")
    c.eq(srv.handshakes, 1, "TLS handshakes for two turns")


@test
def t_server_closes_kept_alive_connection_between_turns(c):
    c.write("f.txt", "x\n")
    first = dict(call("toolu_c1", "Read", {"file_path": "f.txt"}))
    first["close"] = True
    srv = c.server([first, say("after reconnect")], tls=True)
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    c.has(r.out, "after reconnect", "stdout")
    c.eq(srv.connections, 2, "connections (the client reconnected by itself)")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
