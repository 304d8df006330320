#!/usr/bin/env python3
"""End-to-end tests of agent's hooks (Claude Code's "hooks" in settings.json): the real binary against
test/mock_api.py, each hook a small shell command that records what it got and answers by exit code or JSON.

    python3 test/e2e_hooks.py --agent ./agent [--filter S] [--label L]

Covered: PreToolUse blocking by exit 2 and by a JSON deny (matchers: exact, A|B, regular expression), a JSON
allow that stands in for an allow rule but never reaches past the trust boundary, the event's JSON on stdin
and CLAUDE_PROJECT_DIR, PostToolUse feedback, a hook killed at its timeout (non-blocking), hooks side by
side, UserPromptSubmit refusing a prompt and adding context, Stop making the answer go on once
(stop_hook_active), SessionStart context and SessionEnd, and a project's hooks running only in a trusted
folder. One line per test: "ok - hooks: NAME" or "not ok - hooks: NAME" with diagnostics. Python 3 standard
library only.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import bash, call, rtext, say  # noqa: E402

SUITE = e2e_lib.Suite("hooks")
test = SUITE.test


class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-hooks-"
    RUN_TIMEOUT = 30

    def hooks(self, hooks, where="home"):
        """Write {"hooks": hooks} to ~/.claude/settings.json (where "home") or the project's."""
        path = (os.path.join(self.home, ".claude", "settings.json") if where == "home"
                else os.path.join(".claude", "settings.json"))
        self.write(path, json.dumps({"hooks": hooks}) + "\n")

    def log(self, name):
        return os.path.join(self.root, name)

    def read(self, name):
        try:
            with open(self.log(name)) as f:
                return f.read()
        except OSError:
            return None


def one(event, command, matcher=None, timeout=None):
    """{event: [{matcher, hooks: [{type: command, command, timeout}]}]}"""
    h = {"type": "command", "command": command}
    if timeout is not None:
        h["timeout"] = timeout
    group = {"hooks": [h]}
    if matcher is not None:
        group["matcher"] = matcher
    return {event: [group]}


@test
def t_pre_tool_use_exit_2_blocks(c):
    """A PreToolUse hook that exits 2 refuses the call: the model gets its stderr, the command never runs."""
    c.hooks(one("PreToolUse", "grep -q 'git push' && { echo 'pushing is not allowed here' >&2; exit 2; }; exit 0",
                "Bash"))
    srv = c.server([bash("t1", "git push; touch pushed"), bash("t2", "touch ran-ok"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    b = c.result(srv, 1, "t1")
    c.is_err(b, "the blocked call")
    c.has(rtext(b), "pushing is not allowed here", "the tool error (the hook's stderr)")
    c.check(not os.path.exists(c.path("pushed")), "the blocked command ran")
    c.not_err(c.result(srv, 2, "t2"), "a call the hook lets through")
    c.check(os.path.exists(c.path("ran-ok")), "the allowed command did not run")


@test
def t_pre_tool_use_json_deny_and_matchers(c):
    """A JSON permissionDecision deny with its reason; the matcher is a regular expression on the tool name."""
    deny = json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                              "permissionDecisionReason": "no writes today"}})
    c.hooks({"PreToolUse": [{"matcher": "Ed.*|Write", "hooks": [{"type": "command", "command": "echo '%s'" % deny}]},
                            {"matcher": "^Rea$", "hooks": [{"type": "command", "command": "exit 2"}]}]})
    c.write("a.txt", "alpha\n")
    srv = c.server([call("w1", "Write", {"file_path": c.path("new.txt"), "content": "x\n"}),
                    call("r1", "Read", {"file_path": c.path("a.txt")}), say("done")])
    r = c.run(srv, ["--allowedTools", "Write,Read"])
    c.ok(r)
    b = c.result(srv, 1, "w1")
    c.is_err(b, "Write under a deny")
    c.has(rtext(b), "no writes today", "the deny's reason")
    c.check(not os.path.exists(c.path("new.txt")), "the denied Write wrote")
    c.has(rtext(c.result(srv, 2, "r1")), "alpha", "Read (the anchored matcher ^Rea$ is not Read)")


@test
def t_pre_tool_use_allow_stops_at_the_boundary(c):
    """A hook's allow stands in for an allow rule inside the project, never for a path outside it."""
    allow = json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}})
    c.hooks(one("PreToolUse", "echo '%s'" % allow))
    outside = os.path.join(c.root, "outside.txt")
    srv = c.server([call("w1", "Write", {"file_path": c.path("in.txt"), "content": "in\n"}),
                    call("w2", "Write", {"file_path": outside, "content": "out\n"}), say("done")])
    r = c.run(srv, [])                          # no rule allows Write: only the hook does
    c.ok(r)
    c.not_err(c.result(srv, 1, "w1"), "Write inside, allowed by the hook")
    c.check(os.path.exists(c.path("in.txt")), "the allowed Write did not write")
    b = c.result(srv, 2, "w2")
    c.is_err(b, "Write outside the project")
    c.has(rtext(b), "outside", "the refusal")
    c.check(not os.path.exists(outside), "the hook's allow let a Write outside the project through")


@test
def t_hook_input_and_environment(c):
    """The event's JSON on stdin and CLAUDE_PROJECT_DIR in the environment, as Claude Code sends them."""
    c.hooks(one("PreToolUse", "cat > %s; echo \"$CLAUDE_PROJECT_DIR\" > %s" % (c.log("in.json"), c.log("dir")),
                "Bash"))
    srv = c.server([bash("t1", "echo hi"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    got = json.loads(c.read("in.json") or "{}")
    c.eq(got.get("hook_event_name"), "PreToolUse", "hook_event_name")
    c.eq(got.get("tool_name"), "Bash", "tool_name")
    c.eq(got.get("tool_input"), {"command": "echo hi"}, "tool_input")
    c.eq(got.get("tool_use_id"), "t1", "tool_use_id")
    c.eq(got.get("cwd"), os.path.realpath(c.work), "cwd")
    c.check(got.get("session_id"), "no session_id: %r" % got)
    c.check("transcript_path" in got and "permission_mode" in got, "transcript_path or permission_mode missing")
    c.eq((c.read("dir") or "").strip(), os.path.realpath(c.work), "CLAUDE_PROJECT_DIR")


@test
def t_post_tool_use_feedback(c):
    """PostToolUse gets tool_response; its decision block's reason reaches the model with the result."""
    fb = json.dumps({"decision": "block", "reason": "the output shows a failing test: fix it"})
    c.hooks(one("PostToolUse", "cat > %s; echo '%s'" % (c.log("post.json"), fb), "Bash"))
    srv = c.server([bash("t1", "echo RESULT-42"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    t = rtext(c.result(srv, 1, "t1"))
    c.has(t, "RESULT-42", "the tool's own output")
    c.has(t, "the output shows a failing test: fix it", "the hook's feedback")
    got = json.loads(c.read("post.json") or "{}")
    c.eq(got.get("hook_event_name"), "PostToolUse", "hook_event_name")
    c.has(json.dumps(got.get("tool_response")), "RESULT-42", "tool_response")
    resp = got.get("tool_response") or {}
    c.eq((resp.get("stdout", "").strip(), resp.get("stderr"), resp.get("interrupted"), resp.get("is_error")),
         ("RESULT-42", "", False, False), "Bash's tool_response as Claude Code shapes it (stdout, stderr, interrupted)")


@test
def t_post_tool_use_file_response(c):
    """A file tool's tool_response names filePath and success, as Claude Code's does."""
    c.hooks(one("PostToolUse", "cat > %s" % c.log("post.json"), "Write"))
    srv = c.server([call("w1", "Write", {"file_path": c.path("new.txt"), "content": "x\n"}), say("done")])
    r = c.run(srv, ["--allowedTools", "Write"])
    c.ok(r)
    resp = json.loads(c.read("post.json") or "{}").get("tool_response") or {}
    c.eq((resp.get("filePath"), resp.get("success")), (c.path("new.txt"), True), "Write's tool_response")


@test
def t_hook_timeout_kills_and_goes_on(c):
    """A hook past its timeout is killed (its group) and counts as a non-blocking error."""
    c.hooks(one("PreToolUse", "sleep 30; exit 2", "Bash", timeout=1))
    srv = c.server([bash("t1", "touch ran"), say("done")])
    t0 = time.monotonic()
    r = c.run(srv, ["--allowedTools", "Bash"])
    took = time.monotonic() - t0
    c.ok(r)
    c.check(took < 10, "the run took %.1f s with a 1 s hook timeout" % took)
    c.check(os.path.exists(c.path("ran")), "the command did not run after the hook timed out")
    c.has(r.err, "timed out", "stderr")
    c.check(not c.ours("sleep 30"), "the timed-out hook is still running")


@test
def t_bad_matcher_and_failing_hook_are_reported(c):
    """A matcher that is not a regular expression is named at start (its hooks left out); a hook that fails
    with another code than 2 gets a stderr line with its exit code and stderr, and the run goes on."""
    c.hooks({"PreToolUse": [{"matcher": "Bash(", "hooks": [{"type": "command", "command": "exit 2"}]}],
             "Stop": [{"hooks": [{"type": "command", "command": "echo 'stop hook broke' >&2; exit 3"}]}]})
    srv = c.server([bash("t1", "touch ran"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    c.check(os.path.exists(c.path("ran")), "the command did not run (the bad matcher's hook blocked it)")
    c.has(r.err, "matcher 'Bash(' is not a regular expression (unmatched ( at offset 4", "stderr")
    c.has(r.err, "failed (exit 3); going on without it: stop hook broke", "stderr")
    c.eq(r.out, "done\n", "stdout")


@test
def t_hooks_run_side_by_side(c):
    """Two matching hooks of one second each take about one second, not two."""
    c.hooks({"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "sleep 1; touch %s" % c.log("h1")},
                                                          {"type": "command", "command": "sleep 1; touch %s" % c.log("h2")}]}]})
    srv = c.server([bash("t1", "true"), say("done")])
    t0 = time.monotonic()
    r = c.run(srv, ["--allowedTools", "Bash"])
    took = time.monotonic() - t0
    c.ok(r)
    c.check(c.read("h1") is not None and c.read("h2") is not None, "both hooks did not run")
    c.check(took < 1.9, "two 1 s hooks took %.1f s in all: not side by side" % took)


@test
def t_user_prompt_submit_blocks(c):
    """UserPromptSubmit exit 2: the prompt is refused with the hook's reason, nothing is sent."""
    c.hooks(one("UserPromptSubmit", "grep -q secret && { echo 'prompts about secrets are refused' >&2; exit 2; }; exit 0"))
    srv = c.server([say("never")])
    r = c.run(srv, [], prompt="tell me the secret")
    c.check(r.rc != 0, "a refused prompt exited 0")
    c.has(r.err, "prompts about secrets are refused", "stderr")
    c.nreq(srv, 0, " (the refused prompt)")


@test
def t_user_prompt_submit_and_session_start_context(c):
    """What UserPromptSubmit and SessionStart hooks print is context for the model; SessionEnd runs at the end."""
    c.hooks({"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo PROMPT-CONTEXT-7"}]}],
             "SessionStart": [{"hooks": [{"type": "command", "command": "cat > %s; echo START-CONTEXT-9" % c.log("start.json")}]}],
             "SessionEnd": [{"hooks": [{"type": "command", "command": "cat > %s" % c.log("end.json")}]}]})
    srv = c.server([say("done")])
    r = c.run(srv, [])
    c.ok(r)
    first = json.dumps(c.body(srv, 0)["messages"][0])
    c.has(first, "PROMPT-CONTEXT-7", "the first user message")
    c.has(first, "START-CONTEXT-9", "the first user message")
    c.eq(json.loads(c.read("start.json") or "{}").get("source"), "startup", "SessionStart source")
    c.eq(json.loads(c.read("end.json") or "{}").get("hook_event_name"), "SessionEnd", "SessionEnd ran")


@test
def t_stop_hook_goes_on_once(c):
    """A Stop hook's block makes the answer go on with its reason; the next Stop has stop_hook_active true."""
    cmd = ("cat >> %s; echo >> %s; grep -q '\"stop_hook_active\":true' %s || "
           "{ echo '{\"decision\": \"block\", \"reason\": \"run the tests first\"}'; }") % (
        c.log("stops"), c.log("stops"), c.log("stops"))
    c.hooks(one("Stop", cmd))
    srv = c.server([say("first answer"), say("second answer")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2, " (the Stop hook's block asks for one more answer)")
    c.has(json.dumps(c.body(srv, 1)["messages"][-1]), "run the tests first", "the second request's last message")
    lines = [ln for ln in (c.read("stops") or "").split("\n") if ln.strip()]
    c.eq(len(lines), 2, "Stop hook runs")
    c.eq([json.loads(ln).get("stop_hook_active") for ln in lines], [False, True], "stop_hook_active")
    c.has(r.out, "second answer", "stdout")


@test
def t_project_hooks_need_a_trusted_folder(c):
    """A project's hooks do not run until the folder is trusted; then they do."""
    c.hooks(one("PreToolUse", "touch %s" % c.log("proj-hook")), where="project")
    srv = c.server([bash("t1", "true"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    c.check(c.read("proj-hook") is None, "an untrusted project's hook ran")
    c.has(r.err, "hooks", "stderr (what was left out)")
    c.trust()
    srv = c.server([bash("t1", "true"), say("done")])
    c.ok(c.run(srv, ["--allowedTools", "Bash"]))
    c.check(c.read("proj-hook") is not None, "a trusted project's hook did not run")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
