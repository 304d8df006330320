#!/usr/bin/env python3
"""End-to-end tests of agent's Task tool (subagents) and skills: the real binary against test/mock_api.py.

    python3 test/e2e_agents.py --agent ./agent [--filter S] [--label L]

Each test has its own mock server (127.0.0.1, port 0), its own working directory and HOME (XDG dirs inside it),
and runs the agent in print mode with a clean environment. The mock answers requests in order; a subagent's
requests are told apart from the main loop's by what they carry (a fresh conversation whose first user message
is the Task prompt, no Task tool) and the tests check that they do. One line per test: "ok - agents: NAME" or
"not ok - agents: NAME" with indented diagnostics (command, exit code, stdout/stderr, request bodies). Exit status
1 when any test fails. Python 3 standard library only.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import Fail, cache_count, call, clip, rtext, say, sys_text, texts, tool_names  # noqa: E402

BUILTIN = ["Bash", "Read", "Write", "Edit", "Glob", "Grep", "TodoWrite"]
SUITE = e2e_lib.Suite("agents")
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# Script builders and request readers (the rest: test/e2e_lib.py)

def task(tid, prompt, description="do a sub-task", **kw):
    inp = {"description": description, "prompt": prompt}
    inp.update(kw)
    return call(tid, "Task", inp)


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): agent and skill files, requests told apart by whose they are

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-agents-"
    RUN_TIMEOUT = 30
    ERR_CLIP = 2000
    REQUEST_CLIP = 3000
    SYSTEM_CLIP = 1200

    def agent_file(self, name, front, body, home=False):
        """.claude/agents/NAME.md (or ~/.claude/agents/NAME.md) with front matter lines `front` (a list of
        "key: value" strings, or None for no front matter) and body."""
        base = self.home if home else self.work
        text = ("---\n" + "\n".join(front) + "\n---\n" if front is not None else "") + body
        return self.write(os.path.join(base, ".claude", "agents", name + ".md"), text)

    def skill(self, name, front, body, home=False):
        base = self.home if home else self.work
        text = ("---\n" + "\n".join(front) + "\n---\n" if front is not None else "") + body
        return self.write(os.path.join(base, ".claude", "skills", name, "SKILL.md"), text)

    def main_req(self, srv, i, prompt="do the task"):
        """Request i belongs to the main loop: its first message is the main prompt, Task is offered."""
        b = self.body(srv, i)
        self.eq(texts(b["messages"][0])[-1], prompt, "last text of the first message of request %d (main loop)" % i)
        self.check("Task" in tool_names(b), "request %d (main loop) does not offer Task: %r" % (i, tool_names(b)))
        return b

    def sub_req(self, srv, i, prompt, nmsgs=None):
        """Request i belongs to a subagent: a fresh conversation whose first user message is prompt, no Task."""
        b = self.body(srv, i)
        msgs = b["messages"]
        self.eq(msgs[0].get("role"), "user", "role of the first message of request %d (subagent)" % i)
        self.eq(texts(msgs[0])[-1], prompt, "first user message of request %d (the subagent's prompt)" % i)
        self.lacks(json.dumps(msgs), "do the task", "messages of request %d (subagent: the main prompt leaked in)" % i)
        self.check("Task" not in tool_names(b), "request %d (subagent) offers Task: %r" % (i, tool_names(b)))
        if nmsgs is not None:
            self.eq(len(msgs), nmsgs, "number of messages in request %d (subagent)" % i)
        return b


# ---------------------------------------------------------------------------------------------------------
# Task: the tool itself

@test
def t_task_tool_offered(c):
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.body(srv, 0)
    names = tool_names(b)
    c.check("Task" in names, "Task not in the tools list: %r" % names)
    for n in BUILTIN:
        c.check(n in names, "%s missing" % n)
    t = [x for x in b["tools"] if x["name"] == "Task"][0]
    sch = t.get("input_schema") or {}
    props = sch.get("properties") or {}
    for k in ("description", "prompt", "subagent_type", "model"):
        c.check(k in props, "Task input_schema has no property %r: %r" % (k, sorted(props)))
    c.eq(sorted(sch.get("required") or []), ["description", "prompt"], "Task required properties")
    c.has(t.get("description", ""), "general-purpose", "Task description")
    c.check(cache_count(b) <= 4, "more than 4 cache_control breakpoints: %d" % cache_count(b))


@test
def t_task_general_purpose(c):
    sub_prompt = "SUBPROMPT: create out.txt saying hello"
    srv = c.server([task("toolu_t1", sub_prompt, description="write the file"),
                    call("toolu_s1", "Write", {"file_path": "out.txt", "content": "hello from the subagent\n"}),
                    say("SUBRESULT: wrote out.txt for you"),
                    say("main is done")])
    r = c.run(srv, ["--allowedTools", "Write"])
    c.ok(r)
    c.nreq(srv, 4)
    b0 = c.main_req(srv, 0)
    b1 = c.sub_req(srv, 1, sub_prompt, nmsgs=1)
    c.eq(b1.get("model"), b0.get("model"), "subagent model (general-purpose inherits the main model)")
    c.eq(sorted(tool_names(b1)), sorted(n for n in tool_names(b0) if n != "Task"),
         "subagent tools (the main tools minus Task)")
    b2 = c.sub_req(srv, 2, sub_prompt, nmsgs=3)
    res = c.result(srv, 2, "toolu_s1")
    c.not_err(res, "the subagent's Write")
    c.eq(c.read("out.txt"), "hello from the subagent\n", "out.txt written by the subagent")
    b3 = c.main_req(srv, 3)
    c.eq(len(b3["messages"]), 3, "messages in the main loop's second request")
    res = c.result(srv, 3, "toolu_t1")
    c.not_err(res, "Task result")
    c.has(rtext(res), "SUBRESULT: wrote out.txt for you", "Task result (the subagent's final text)")
    c.has(r.out, "main is done", "stdout")
    # stderr: the Task line, then the subagent's Write call indented under it
    err = r.err.split("\n")
    ti = [i for i, ln in enumerate(err) if re.match(r"^\S.*\bTask\b", ln)]
    c.check(ti, "no unindented line naming Task on stderr: %r" % r.err)
    wi = [i for i, ln in enumerate(err) if "Write" in ln and "out.txt" in ln]
    c.check(wi, "the subagent's Write call is not shown on stderr: %r" % r.err)
    c.check(all(re.match(r"^\s+\S", err[i]) for i in wi), "the subagent's Write line is not indented: %r"
            % [err[i] for i in wi])
    c.check(wi[0] > ti[0], "the subagent's Write line comes before the Task line: %r" % r.err)
    top = [ln for ln in err if ln.startswith("> ")]
    if top:  # the main loop's calls start with "> ": the subagent's are indented deeper than that
        c.check(not any("Write" in ln for ln in top), "the subagent's Write shown like a main-loop call: %r" % top)


@test
def t_task_subagent_cannot_call_task(c):
    srv = c.server([task("toolu_n1", "SUB: try to nest"),
                    task("toolu_n2", "nested prompt"),
                    say("SUB: gave up nesting"),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 4)
    c.sub_req(srv, 1, "SUB: try to nest")
    c.sub_req(srv, 2, "SUB: try to nest", nmsgs=3)
    c.is_err(c.result(srv, 2, "toolu_n2"), "Task called by a subagent")
    c.main_req(srv, 3)
    c.has(rtext(c.result(srv, 3, "toolu_n1")), "SUB: gave up nesting", "Task result")


@test
def t_task_permissions_apply_in_subagent(c):
    srv = c.server([task("toolu_p1", "SUB: run a command"),
                    call("toolu_p2", "Bash", {"command": "touch marker"}),
                    say("SUB: the command was refused"),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 4)
    c.sub_req(srv, 2, "SUB: run a command", nmsgs=3)
    b = c.result(srv, 2, "toolu_p2")
    c.is_err(b, "Bash in a subagent without a rule (print mode)")
    c.check(rtext(b).startswith("Permission to use Bash was denied"), "content %r" % rtext(b))
    c.check(not os.path.exists(c.path("marker")), "the subagent's Bash ran: marker exists")
    c.has(rtext(c.result(srv, 3, "toolu_p1")), "SUB: the command was refused", "Task result")


@test
def t_task_rules_apply_in_subagent(c):
    srv = c.server([task("toolu_q1", "SUB: touch it"),
                    call("toolu_q2", "Bash", {"command": "touch marker"}),
                    call("toolu_q3", "Bash", {"command": "rm -f other"}),
                    say("SUB: done"),
                    say("ok")])
    c.write("other", "x\n")
    r = c.run(srv, ["--allowedTools", "Bash(touch:*)"])
    c.ok(r)
    c.nreq(srv, 5)
    c.not_err(c.result(srv, 2, "toolu_q2"), "Bash allowed by the rule, in a subagent")
    c.check(os.path.exists(c.path("marker")), "marker was not created")
    c.is_err(c.result(srv, 3, "toolu_q3"), "Bash not allowed by the rule, in a subagent")
    c.check(os.path.exists(c.path("other")), "the subagent removed 'other'")


@test
def t_task_disallowed_tool_not_offered_to_subagent(c):
    srv = c.server([task("toolu_dd1", "SUB: look"), say("SUB: looked"), say("ok")])
    r = c.run(srv, ["--disallowedTools", "Bash"])
    c.ok(r)
    c.nreq(srv, 3)
    b = c.sub_req(srv, 1, "SUB: look")
    c.check("Bash" not in tool_names(b), "a disallowed tool is offered to the subagent: %r" % tool_names(b))


@test
def t_task_unknown_type(c):
    c.agent_file("reviewer", ["name: reviewer", "description: Reviews code"], "Review things.\n")
    srv = c.server([task("toolu_u1", "whatever", subagent_type="no-such-type"), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 2)
    c.main_req(srv, 1)
    b = c.result(srv, 1, "toolu_u1")
    c.is_err(b, "unknown subagent_type")
    c.has(rtext(b), "no-such-type", "error")
    c.has(rtext(b), "general-purpose", "error lists the known types")
    c.has(rtext(b), "reviewer", "error lists the known types")


@test
def t_task_max_turns(c):
    c.write("a.txt", "alpha\n")
    srv = c.server([task("toolu_m1", "SUB: loop forever"),
                    call("toolu_m2", "Read", {"file_path": "a.txt"}, text_before="LOOPTEXT-1"),
                    call("toolu_m3", "Read", {"file_path": "a.txt"}, text_before="LOOPTEXT-2"),
                    say("main saw the error"),
                    say("SHOULD-NOT-BE-USED")])
    r = c.run(srv, [], extra={"AGENT_SUBAGENT_MAX_TURNS": "2"})
    c.ok(r)
    c.nreq(srv, 4)
    c.sub_req(srv, 1, "SUB: loop forever", nmsgs=1)
    c.sub_req(srv, 2, "SUB: loop forever", nmsgs=3)
    c.main_req(srv, 3)
    b = c.result(srv, 3, "toolu_m1")
    c.is_err(b, "a subagent past AGENT_SUBAGENT_MAX_TURNS")
    # the spec's wording, as the start of a sentence or not
    c.check(re.search(r"\b[Tt]he subagent stopped after 2 turns without finishing", rtext(b)),
            "error: expected 'the subagent stopped after 2 turns without finishing', got %r" % rtext(b))
    c.has(rtext(b), "LOOPTEXT-2", "error (the subagent's last text)")
    c.has(r.out, "main saw the error", "stdout")


# ---------------------------------------------------------------------------------------------------------
# Task: custom subagent types

REVIEWER_BODY = "You are a meticulous code reviewer. REVIEWER-BODY-MARKER: point out bugs, never edit files.\n"


@test
def t_custom_agent_reviewer(c):
    c.agent_file("reviewer", ["name: reviewer", "description: Reviews code changes for bugs and style",
                              "tools: Read, Grep", "model: haiku"], REVIEWER_BODY)
    c.write("a.c", "int main(void) { return 0; }\n")
    srv = c.server([task("toolu_r1", "SUB: review a.c", subagent_type="reviewer"),
                    call("toolu_r2", "Grep", {"pattern": "main", "output_mode": "content"}),
                    say("REVIEW: a.c looks fine"),
                    say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 4)
    b0 = c.main_req(srv, 0)
    t = [x for x in b0["tools"] if x["name"] == "Task"][0]
    c.has(t.get("description", ""), "reviewer", "Task description")
    c.has(t.get("description", ""), "Reviews code changes for bugs and style", "Task description")
    c.has(t.get("description", ""), "general-purpose", "Task description")
    c.lacks(t.get("description", ""), "REVIEWER-BODY-MARKER", "Task description (the body is the subagent's "
            "system prompt, not part of the listing)")
    c.lacks(sys_text(b0), "REVIEWER-BODY-MARKER", "main system prompt")
    b1 = c.sub_req(srv, 1, "SUB: review a.c", nmsgs=1)
    c.eq(b1.get("model"), "claude-haiku-4-5", "subagent model (front matter model: haiku)")
    c.has(sys_text(b1), "REVIEWER-BODY-MARKER", "subagent system prompt (the body)")
    c.eq(sorted(tool_names(b1)), ["Grep", "Read"], "subagent tools (front matter tools: Read, Grep)")
    c.not_err(c.result(srv, 2, "toolu_r2"), "Grep in the reviewer")
    b3 = c.main_req(srv, 3)
    c.eq(b3.get("model"), b0.get("model"), "main model after the subagent")
    res = c.result(srv, 3, "toolu_r1")
    c.not_err(res, "Task result")
    c.has(rtext(res), "REVIEW: a.c looks fine", "Task result")


@test
def t_custom_agent_tool_outside_its_list(c):
    c.agent_file("reviewer", ["name: reviewer", "description: Reviews code", "tools: Read, Grep"], REVIEWER_BODY)
    srv = c.server([task("toolu_o1", "SUB: review", subagent_type="reviewer"),
                    call("toolu_o2", "Write", {"file_path": "w.txt", "content": "x\n"}),
                    say("SUB: could not write"),
                    say("ok")])
    r = c.run(srv, ["--dangerously-skip-permissions"])
    c.ok(r)
    c.nreq(srv, 4)
    c.is_err(c.result(srv, 2, "toolu_o2"), "Write from a subagent whose tools are Read, Grep")
    c.check(not os.path.exists(c.path("w.txt")), "a tool outside the subagent's list ran: w.txt exists")


@test
def t_custom_agent_all_tools_and_home(c):
    c.agent_file("helper", ["name: helper", "description: HOME-HELPER-DESC does chores"],
                 "HOME-HELPER-BODY\n", home=True)
    c.agent_file("writer", ["name: writer", "description: PROJECT-WRITER-DESC writes docs", "model: inherit"],
                 "WRITER-BODY\n")
    srv = c.server([task("toolu_h1", "SUB: chores", subagent_type="helper"),
                    say("SUB: chores done"),
                    task("toolu_h2", "SUB: docs", subagent_type="writer"),
                    say("SUB: docs done"),
                    say("ok")])
    r = c.run(srv, ["--model", "claude-main-model-x"])
    c.ok(r)
    c.nreq(srv, 5)
    b0 = c.main_req(srv, 0)
    desc = [x for x in b0["tools"] if x["name"] == "Task"][0].get("description", "")
    for s in ("helper", "HOME-HELPER-DESC does chores", "writer", "PROJECT-WRITER-DESC writes docs"):
        c.has(desc, s, "Task description")
    b1 = c.sub_req(srv, 1, "SUB: chores", nmsgs=1)
    c.has(sys_text(b1), "HOME-HELPER-BODY", "system prompt of the ~/.claude/agents subagent")
    c.eq(b1.get("model"), "claude-main-model-x", "model without a model line (the main model)")
    c.eq(sorted(tool_names(b1)), sorted(n for n in tool_names(b0) if n != "Task"),
         "tools without a tools line (all but Task)")
    b3 = c.sub_req(srv, 3, "SUB: docs", nmsgs=1)
    c.has(sys_text(b3), "WRITER-BODY", "system prompt of the writer")
    c.eq(b3.get("model"), "claude-main-model-x", "model: inherit")
    c.has(rtext(c.result(srv, 2, "toolu_h1")), "SUB: chores done", "first Task result")
    c.has(rtext(c.result(srv, 4, "toolu_h2")), "SUB: docs done", "second Task result")


@test
def t_custom_agent_body_starts_with_dash(c):
    """A body whose first line is a list item: its "-" is the body's, not part of the front matter's "---"."""
    c.agent_file("brief", ["name: brief", "description: Answers briefly"],
                 "- first rule: be brief\n- second rule: BRIEF-BODY-MARKER\n")
    srv = c.server([task("toolu_bd1", "SUB: answer", subagent_type="brief"), say("SUB: done"), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 3)
    b1 = c.sub_req(srv, 1, "SUB: answer", nmsgs=1)
    c.has(sys_text(b1), "- first rule: be brief\n- second rule: BRIEF-BODY-MARKER", "subagent system prompt")
    c.has(rtext(c.result(srv, 2, "toolu_bd1")), "SUB: done", "Task result")


@test
def t_task_model_parameter(c):
    c.agent_file("big", ["name: big", "description: Thinks hard", "model: opus"], "BIG-BODY\n")
    cases = [("opus", None, "claude-opus-4-1"), ("sonnet", None, "claude-sonnet-4-5"),
             ("haiku", None, "claude-haiku-4-5"), ("inherit", None, "claude-main-model-y"),
             (None, None, "claude-main-model-y"), ("claude-custom-model-7", None, "claude-custom-model-7"),
             (None, "big", "claude-opus-4-1")]
    script = []
    for k, (model, typ, _) in enumerate(cases):
        kw = {}
        if model is not None:
            kw["model"] = model
        if typ is not None:
            kw["subagent_type"] = typ
        script.append(task("toolu_mm%d" % k, "SUB-%d" % k, **kw))
        script.append(say("SUB-%d done" % k))
    script.append(say("ok"))
    srv = c.server(script)
    r = c.run(srv, ["--model", "claude-main-model-y"])
    c.ok(r)
    c.nreq(srv, 2 * len(cases) + 1)
    for k, (model, typ, want) in enumerate(cases):
        b = c.sub_req(srv, 2 * k + 1, "SUB-%d" % k, nmsgs=1)
        c.eq(b.get("model"), want, "subagent model for model=%r subagent_type=%r" % (model, typ))
        c.eq(c.main_req(srv, 2 * k)["model"], "claude-main-model-y", "main model")


@test
def t_task_stdout(c):
    srv = c.server([task("toolu_so1", "SUB: answer"), say("SUB-ANSWER-TEXT 42"), say("MAIN-ANSWER")])
    r = c.run(srv, [])
    c.ok(r)
    c.nreq(srv, 3)
    c.has(r.out, "MAIN-ANSWER", "stdout")
    c.check(r.out.count("SUB-ANSWER-TEXT") <= 1, "the subagent's answer appears %d times on stdout: %r"
            % (r.out.count("SUB-ANSWER-TEXT"), r.out))
    c.notes.append("subagent text on stdout: %s" % ("yes" if "SUB-ANSWER-TEXT" in r.out else "no"))


@test
def t_task_json_output(c):
    srv = c.server([task("toolu_js1", "SUB: json"), say("SUB: json done"), say("MAIN json")])
    r = c.run(srv, ["--output-format", "json"])
    c.ok(r)
    c.nreq(srv, 3)
    try:
        obj = json.loads(r.out)
    except ValueError:
        raise Fail("stdout is not one JSON document: %r" % clip(r.out, 400))
    c.has(json.dumps(obj), "MAIN json", "json output")


# ---------------------------------------------------------------------------------------------------------
# Skills

PDF_BODY = "SKILL-BODY-MARKER: run pdftotext -layout FILE - and read the output.\n"


@test
def t_skill_project(c):
    p = c.skill("pdf", ["name: pdf", "description: Extract text and tables from PDF files"], PDF_BODY)
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.body(srv, 0)
    s = sys_text(b)
    c.has(s, "pdf", "system prompt")
    c.has(s, "Extract text and tables from PDF files", "system prompt (skill description)")
    c.check(p in s or ".claude/skills/pdf/SKILL.md" in s, "the SKILL.md path (%s) is not in the system prompt: %r"
            % (p, clip(s[-1500:], 1500)))
    c.lacks(json.dumps(b), "SKILL-BODY-MARKER", "request (the skill body must not be sent)")
    c.check(isinstance(b.get("system"), list) and all(x.get("type") == "text" for x in b["system"]),
            "system is not a list of text blocks")
    c.check(cache_count(b) <= 4, "more than 4 cache_control breakpoints: %d" % cache_count(b))
    c.eq(r.err.count("agent: skill at"), 0, "skill warnings")
    c.eq(r.out.strip(), "ok", "stdout")


@test
def t_skill_home(c):
    p = c.skill("xlsx", ["name: xlsx", "description: HOME-SKILL-DESC work with spreadsheets"],
                "HOME-SKILL-BODY\n", home=True)
    c.skill("pdf", ["name: pdf", "description: Extract text and tables from PDF files"], PDF_BODY)
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.body(srv, 0)
    s = sys_text(b)
    c.has(s, "xlsx", "system prompt")
    c.has(s, "HOME-SKILL-DESC work with spreadsheets", "system prompt (home skill description)")
    c.has(s, p, "system prompt (the home SKILL.md path)")
    c.has(s, "Extract text and tables from PDF files", "system prompt (the project skill too)")
    c.lacks(json.dumps(b), "HOME-SKILL-BODY", "request")
    c.lacks(json.dumps(b), "SKILL-BODY-MARKER", "request")


@test
def t_skill_body_read_on_demand(c):
    p = c.skill("pdf", ["name: pdf", "description: Extract text and tables from PDF files"], PDF_BODY)
    srv = c.server([call("toolu_k1", "Read", {"file_path": p}), say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.result(srv, 1, "toolu_k1")
    c.not_err(b, "Read of the SKILL.md")
    c.has(rtext(b), "SKILL-BODY-MARKER", "Read result")


@test
def t_skill_without_front_matter(c):
    p1 = c.skill("nofm", None, "# Just a heading\nNOFM-BODY-MARKER text without front matter\n")
    p2 = c.skill("nodesc", ["name: nodesc"], "NODESC-BODY-MARKER\n")
    c.skill("pdf", ["name: pdf", "description: Extract text and tables from PDF files"], PDF_BODY)
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    warn = [ln for ln in r.err.split("\n") if ln.startswith("agent: skill at")]
    c.eq(len(warn), 2, "skill warnings on stderr (%r)" % warn)
    for p in (p1, p2):
        rel = os.path.relpath(p, c.work)
        want = [w for w in warn if re.fullmatch(r"agent: skill at (%s|%s) has no front matter \(name, "
                                                r"description\): skipped" % (re.escape(p), re.escape(rel)), w)]
        c.check(len(want) == 1, "no warning 'agent: skill at %s has no front matter (name, description): "
                "skipped' in %r" % (p, warn))
    s = sys_text(c.body(srv, 0))
    c.lacks(s, "nofm", "system prompt")
    c.lacks(s, "nodesc", "system prompt")
    c.lacks(json.dumps(c.body(srv, 0)), "NOFM-BODY-MARKER", "request")
    c.has(s, "Extract text and tables from PDF files", "system prompt (the good skill is still listed)")
    c.eq(r.out.strip(), "ok", "stdout")


@test
def t_no_skills_no_agents_unchanged(c):
    srv = c.server([say("ok")])
    r = c.run(srv, [])
    c.ok(r)
    b = c.body(srv, 0)
    c.eq(len(b.get("system") or []), 2, "system blocks without skills or memory files")
    c.eq(r.err, "", "stderr")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
