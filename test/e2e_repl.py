#!/usr/bin/env python3
"""End-to-end tests of agent's interactive session: the real binary in tmux against test/mock_api.py.

    python3 test/e2e_repl.py --agent ./agent [--filter S] [--label L]

Each test has its own mock server (127.0.0.1, port 0), its own working directory and HOME, and its own tmux
server (tmux -L SOCKET), so tests run four at a time. The agent runs in a 100x40 pane with a clean
environment; the test types with send-keys, reads the screen with capture-pane and polls it for what it expects
(never a fixed long sleep). One line per test: "ok - repl: NAME" or "not ok - repl: NAME" followed by indented
diagnostics (the panes as they were, the request bodies the server received). Exit status 1 when any test fails.
Python 3 standard library and tmux only.

What is checked is what a user would notice: what the screen shows, files on disk, exit codes, the terminal
modes after the agent leaves, and the exact requests the model would see.
"""
import json
import os
import random
import re
import shlex
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_api  # noqa: E402
import e2e_lib  # noqa: E402
from e2e_lib import Fail, Pane, bash, call, clip, pids_matching, say, texts  # noqa: E402

WAIT = 10.0              # seconds to wait for anything the agent should show or send


class ReplSuite(e2e_lib.Suite):
    def not_ready(self, args):
        return None if shutil.which("tmux") else "tmux is not installed"


SUITE = ReplSuite("repl")
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# Script builders (say, call, bash: test/e2e_lib.py)

def with_input_tokens(text, n):
    """A text answer whose message_start reports n input tokens."""
    ev = mock_api.message_stream(text)
    ev[0][1]["message"]["usage"]["input_tokens"] = n
    return {"events": ev}


# ---------------------------------------------------------------------------------------------------------
# Requests as the model sees them (texts: test/e2e_lib.py)

def last_text(body):
    """The last text block of the newest (user) message of a request body."""
    m = body["messages"][-1]
    if m.get("role") != "user":
        raise Fail("newest message of the request is not a user message: %r" % clip(json.dumps(m), 400))
    t = texts(m)
    if not t:
        raise Fail("newest user message has no text block: %r" % clip(json.dumps(m), 400))
    return t[-1]


def all_text(body):
    return "\n".join("%s: %s" % (m.get("role"), " | ".join(texts(m))) for m in body.get("messages", []))


def tool_results(body):
    out = []
    for m in body.get("messages", []):
        if isinstance(m.get("content"), list):
            out += [b for b in m["content"] if b.get("type") == "tool_result"]
    return out


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): the agent in tmux panes (e2e_lib.Pane), print-mode runs

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-repl-"
    RUN_TIMEOUT = 20         # a print-mode run
    SANITIZER_ENV = True     # the sanitizer build's settings (run.sh)
    OUT_CLIP = ERR_CLIP = 800
    REQUEST_CLIP = 2000
    FIRST_REQUEST = 1        # as wait_req counts them

    def env(self, srv, term="xterm-256color", color=False, extra=None):
        e = super().env(srv)
        e["TERM"] = term
        if color:
            e.pop("NO_COLOR")
        e.update(extra or {})
        return e

    def start(self, srv, args=(), term="xterm-256color", color=False, extra=None, after="", width=100, height=40,
              wait=True):
        """The agent in a new tmux pane: `cd WORK && env -i ... agent ARGS; echo EXIT=$?; AFTER; sleep 60`.
        Waits for the banner and the first prompt unless wait is false."""
        p = self.agent_pane(self.env(srv, term, color, extra), args, after, width, height)
        if wait:
            p.wait("/help for commands, Ctrl-D to leave", "the banner")
            p.wait_prompt("the first prompt")
            s = p.screen()
            self.check(re.search(r"^agent ", s, re.M), "no banner line starting 'agent ': %r" % s[:300])
        return p

    def shell(self, srv, color=False):
        """An interactive bash (no rc files) with the agent's environment, prompt "SH$ "."""
        e = self.env(srv, color=color)
        e["PS1"] = "SH$ "
        envs = " ".join(shlex.quote("%s=%s" % kv) for kv in e.items())
        cmd = "cd %s && exec env -i %s bash --norc --noprofile -i" % (shlex.quote(self.work), envs)
        p = Pane(self, "pane %d: bash" % (len(self.panes) + 1), cmd)
        self.panes.append(p)
        p.wait(lambda s: p.tail(s) == "SH$", "the shell prompt")
        return p

    def run(self, srv, args, prompt=None, extra=None):
        """agent [-p PROMPT] ARGS in print mode (stdin /dev/null), in WORK."""
        return super().run(srv, args, prompt=prompt, extra=extra)

    def wait_req(self, srv, n, timeout=WAIT):
        """Wait until the server has received n requests; return the body of the n-th."""
        deadline = time.monotonic() + timeout
        while len(srv.requests) < n:
            if time.monotonic() > deadline:
                raise Fail("expected %d requests to the API within %.0f s, got %d" % (n, timeout, len(srv.requests)))
            time.sleep(0.05)
        b = srv.requests[n - 1]["body"]
        self.check(isinstance(b, dict), "request %d body is not JSON: %r" % (n, clip(b, 300)))
        return b

    def exchange(self, pane, srv, text, answer):
        """Type a line at the prompt; wait for its request and for the answer and the next prompt."""
        n = len(srv.requests)
        pane.line(text)
        b = self.wait_req(srv, n + 1)
        pane.wait_prompt("the prompt after %r" % answer, after=answer)
        return b

    def sess_dir(self):
        return os.path.join(self.home, "state", "agent", "sessions", self.work.replace("/", "-"))

    def sess_files(self):
        d = self.sess_dir()
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jsonl"))


# ---------------------------------------------------------------------------------------------------------
# Starting, leaving, the basic exchange

@test
def t_banner_and_exchange(c):
    srv = c.server([say("Hello from the model.")])
    p = c.start(srv)
    s = p.screen()
    c.has(s, "/help for commands, Ctrl-D to leave", "banner")
    b = c.exchange(p, srv, "hello there", "Hello from the model.")
    c.eq(last_text(b), "hello there", "text sent")
    c.eq(b.get("stream"), True, "stream")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code after Ctrl-D")


@test
def t_ctrl_d_exits(c):
    srv = c.server([])
    p = c.start(srv)
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code after Ctrl-D at an empty prompt")
    c.nreq(srv, 0)


@test
def t_ctrl_c_twice_exits(c):
    srv = c.server([])
    p = c.start(srv)
    p.keys("C-c")
    time.sleep(0.3)
    s = p.screen()
    c.check("EXIT=" not in s, "one Ctrl-C at the empty prompt ended the agent")
    p.wait_prompt("the prompt after one Ctrl-C")
    p.keys("C-c")
    c.eq(p.exit_code(), 0, "exit code after Ctrl-C twice")
    c.nreq(srv, 0)


@test
def t_ctrl_d_on_text_does_not_exit(c):
    srv = c.server([say("ok")])
    p = c.start(srv)
    p.type("abyc")
    p.keys("Left", "Left", "C-d")      # deletes the character under the cursor
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), "abc", "text sent")


@test
def t_exit_command(c):
    srv = c.server([])
    p = c.start(srv)
    p.line("/exit")
    c.eq(p.exit_code(), 0, "exit code after /exit")
    c.nreq(srv, 0)


# ---------------------------------------------------------------------------------------------------------
# Line editor

def edit_case(c, keys, want):
    """keys: a list of ("t", literal text) or ("k", [tmux keys]); Enter at the end; check the text sent."""
    srv = c.server([say("noted")])
    p = c.start(srv)
    for kind, v in keys:
        if kind == "t":
            p.type(v)
        else:
            p.keys(*v)
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), want, "text sent")
    p.wait_prompt(after="noted")
    return p, srv


@test
def t_edit_left_insert(c):
    edit_case(c, [("t", "helo"), ("k", ["Left", "Left"]), ("t", "l")], "hello")


@test
def t_edit_right(c):
    edit_case(c, [("t", "acd"), ("k", ["Left", "Left", "Left", "Right"]), ("t", "b")], "abcd")


@test
def t_edit_ctrl_a_ctrl_e(c):
    edit_case(c, [("t", "bc"), ("k", ["C-a"]), ("t", "a"), ("k", ["C-e"]), ("t", "d")], "abcd")


@test
def t_edit_home_end(c):
    edit_case(c, [("t", "bc"), ("k", ["Home"]), ("t", "a"), ("k", ["End"]), ("t", "d")], "abcd")


@test
def t_edit_ctrl_k(c):
    edit_case(c, [("t", "hello world"), ("k", ["C-a"] + ["Right"] * 5 + ["C-k"]), ("t", "!")], "hello!")


@test
def t_edit_ctrl_u(c):
    edit_case(c, [("t", "abcdef"), ("k", ["Left"] * 3 + ["C-u"]), ("t", "X")], "Xdef")


@test
def t_edit_ctrl_w(c):
    edit_case(c, [("t", "abc def"), ("k", ["C-w"]), ("t", "xyz")], "abc xyz")


@test
def t_edit_backspace(c):
    edit_case(c, [("t", "abcx"), ("k", ["BSpace"]), ("t", "d")], "abcd")


@test
def t_edit_delete(c):
    edit_case(c, [("t", "abxc"), ("k", ["Left", "Left", "DC"])], "abc")


@test
def t_edit_backspace_utf8(c):
    edit_case(c, [("t", "café"), ("k", ["BSpace"]), ("t", "e 日本"), ("k", ["BSpace"]), ("t", "!")], "cafe 日!")


@test
def t_edit_cursor_over_wide_chars(c):
    edit_case(c, [("t", "日本語"), ("k", ["Left", "Left"]), ("t", "x"), ("k", ["End"]), ("t", "!"),
                  ("k", ["Home", "Right"]), ("t", "y")], "日yx本語!")


@test
def t_edit_backspace_combining(c):
    # "e" + COMBINING ACUTE ACCENT is one character on the screen: one Backspace removes both
    edit_case(c, [("t", "xe\u0301"), ("k", ["BSpace"]), ("t", "y")], "xy")


@test
def t_edit_cursor_column_wide_and_combining(c):
    # where the terminal's cursor is left: "> " is 2 columns, each of 日本語 is 2, e + U+0301 is 1
    srv = c.server([say("noted")])
    p = c.start(srv)

    def cursor_x(want, what):
        deadline = time.monotonic() + 3
        while True:
            x = p.tmux("display-message", "-p", "-t", "t:", "#{cursor_x}").stdout.strip()
            if x == str(want):
                return
            if time.monotonic() > deadline:
                raise Fail("%s: cursor in column %s, expected %d" % (what, x, want))
            time.sleep(0.05)
    p.type("日本語")
    cursor_x(8, "after typing 日本語")
    p.keys("Left")
    cursor_x(6, "after 日本語 and Left")
    p.keys("C-u")                      # leaves 語, the cursor before it
    p.type("e\u0301e\u0301")
    cursor_x(4, "after typing two e + combining acute")
    p.keys("Left")
    cursor_x(3, "after two e + combining acute and Left")
    p.keys("End", "Enter")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), "e\u0301e\u0301\u8a9e", "text sent")


@test
def t_edit_long_line_wraps(c):
    text = "".join("w%02d " % i for i in range(40))        # 160 columns: wraps in a 100-column pane
    p, srv = edit_case(c, [("t", text), ("k", ["C-a"]), ("t", "S"), ("k", ["C-e"]), ("t", "E")],
                       "S" + text + "E")


@test
def t_edit_resize_while_typing(c):
    srv = c.server([say("noted")])
    p = c.start(srv)
    p.type("abc " * 30)
    p.wait("abc abc abc", "typed text")
    p.tmux("resize-window", "-t", "t:", "-x", "50", "-y", "30")
    time.sleep(0.2)
    p.type("tail")
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), ("abc " * 30) + "tail", "text sent")
    p.wait_prompt(after="noted")


@test
def t_history_up_down(c):
    srv = c.server([say("A1"), say("A2"), say("A3"), say("A4")])
    p = c.start(srv)
    c.exchange(p, srv, "first one", "A1")
    c.exchange(p, srv, "second one", "A2")
    p.keys("Up", "Up")
    p.keys("Enter")
    b = c.wait_req(srv, 3)
    c.eq(last_text(b), "first one", "Up Up then Enter")
    p.wait_prompt(after="A3")
    p.type("draft")
    p.keys("Up", "Up", "Down", "Down")          # back to what was being typed
    p.keys("Enter")
    b = c.wait_req(srv, 4)
    c.eq(last_text(b), "draft", "Up Up Down Down then Enter")


@test
def t_history_persists(c):
    srv = c.server([say("A1"), say("A2")])
    p = c.start(srv)
    c.exchange(p, srv, "remember this line", "A1")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "first run exit code")
    p2 = c.start(srv)
    p2.keys("Up")
    p2.wait(lambda s: p2.tail(s) == "> remember this line", "the first run's entry after Up")
    p2.keys("Enter")
    b = c.wait_req(srv, 2)
    c.eq(last_text(b), "remember this line", "text sent after Up in the second run")


@test
def t_backslash_continuation(c):
    srv = c.server([say("noted")])
    p = c.start(srv)
    p.line("line one\\")
    time.sleep(0.2)
    c.nreq(srv, 0, " after a line ending in a backslash")
    p.line("line two")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), "line one\nline two", "text sent")


@test
def t_alt_enter_newline(c):
    srv = c.server([say("noted")])
    p = c.start(srv)
    p.type("first")
    p.keys("Escape", "Enter")
    time.sleep(0.2)
    c.nreq(srv, 0, " after Alt-Enter")
    p.line("second")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), "first\nsecond", "text sent")


@test
def t_bracketed_paste(c):
    srv = c.server([say("noted"), say("again")])
    p = c.start(srv)
    p.type("\x1b[200~line1\nline2\nline3\x1b[201~")
    time.sleep(0.3)
    c.nreq(srv, 0, " after the paste (before Enter)")
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    c.eq(last_text(b), "line1\nline2\nline3", "text sent")
    p.wait_prompt(after="noted")
    time.sleep(0.2)
    c.nreq(srv, 1, " (a paste is one message)")


@test
def t_dumb_terminal(c):
    srv = c.server([say("plain answer"), say("second answer")])
    p = c.start(srv, term="dumb")
    b = c.exchange(p, srv, "plain line", "plain answer")
    c.eq(last_text(b), "plain line", "text sent")
    p.line("more\\")
    p.line("lines")
    b = c.wait_req(srv, 2)
    c.eq(last_text(b), "more\nlines", "text sent with a trailing backslash")
    p.wait_prompt(after="second answer")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code after Ctrl-D")


@test
def t_dumb_ctrl_d_ends_the_line(c):
    # Ctrl-D at the plain prompt leaves the line: what comes next (the shell's prompt) starts on a new line
    srv = c.server([])
    p = c.start(srv, term="dumb")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code after Ctrl-D")
    s = p.screen()
    c.check(re.search(r"^EXIT=0$", s, re.M), "the output after Ctrl-D continues on the prompt's line: %r" %
            s.split("\n")[-1])


@test
def t_history_multiline_persists(c):
    srv = c.server([say("A1"), say("A2")])
    p = c.start(srv)
    p.line("top line\\")
    p.line("bottom line")
    c.wait_req(srv, 1)
    p.wait_prompt(after="A1")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "first run exit code")
    p2 = c.start(srv)
    p2.keys("Up")
    p2.wait("bottom line", "the multi-line entry after Up")
    p2.keys("Enter")
    b = c.wait_req(srv, 2)
    c.eq(last_text(b), "top line\nbottom line", "text sent after Up in the second run")


# ---------------------------------------------------------------------------------------------------------
# Permissions

@test
def t_perm_bash_yes(c):
    srv = c.server([bash("toolu_y1", "touch marker"), say("all done")])
    p = c.start(srv)
    p.line("make a marker")
    s = p.wait_ask()
    for want in ("Bash wants to run", "touch marker", "  y  yes",
                 "  a  yes, and don't ask again this session for ",
                 "  n  no, and tell the agent what to do instead"):
        c.has(s, want, "permission question")
    c.check(not os.path.exists(c.path("marker")), "the command ran before the answer")
    p.keys("y")
    p.wait_prompt(after="all done")
    c.check(os.path.exists(c.path("marker")), "marker was not created after y")
    s = p.screen()
    c.check(re.search(r"^> Bash\(touch marker\)", s, re.M), "no '> Bash(touch marker)' line")
    c.check(re.search(r"^  = ", s, re.M), "no '  = ' result line")
    b = c.wait_req(srv, 2)
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_y1"]
    c.eq(len(rs), 1, "tool_result for toolu_y1")
    c.check(not rs[0].get("is_error"), "tool_result is an error: %r" % rs[0])


@test
def t_perm_bash_no_with_feedback(c):
    srv = c.server([bash("toolu_n1", "touch marker"), say("understood")])
    p = c.start(srv)
    p.line("make a marker")
    p.wait_ask()
    p.keys("n")
    p.wait(lambda s: p.tail(s).startswith("what should it do instead?"), "what should it do instead?")
    p.line("use ls instead")
    b = c.wait_req(srv, 2)
    p.wait_prompt(after="understood")
    c.check(not os.path.exists(c.path("marker")), "marker was created after n")
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_n1"]
    c.eq(len(rs), 1, "tool_result for toolu_n1")
    c.eq(rs[0].get("is_error"), True, "is_error")
    content = rs[0].get("content") if isinstance(rs[0].get("content"), str) else json.dumps(rs[0].get("content"))
    c.has(content, "The user refused", "tool_result")
    c.has(content, "use ls instead", "tool_result")


@test
def t_perm_bash_always(c):
    srv = c.server([bash("toolu_a1", "touch m1"), say("first done"),
                    bash("toolu_a2", "touch m1"), say("second done")])
    p = c.start(srv)
    p.line("one")
    p.wait_ask()
    p.keys("a")
    p.wait_prompt(after="first done")
    c.check(os.path.exists(c.path("m1")), "m1 was not created after a")
    os.unlink(c.path("m1"))
    p.line("two")
    p.wait_prompt(after="second done")
    s = p.screen()
    c.eq(s.count("Bash wants to run"), 1, "permission questions asked")
    c.check(os.path.exists(c.path("m1")), "the second, allowed command did not run")
    b = c.wait_req(srv, 4)
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_a2"]
    c.eq(len(rs), 1, "tool_result for toolu_a2")
    c.check(not rs[0].get("is_error"), "tool_result is an error: %r" % rs[0])
    p.line("/permissions")
    s = p.wait_prompt(after="mode: ")
    c.has(s[s.rindex("/permissions"):], "touch", "/permissions after 'a' (the session rule)")


@test
def t_perm_edit_diff_yes(c):
    c.write("e.txt", "alpha\nbeta\ngamma\n")
    srv = c.server([call("toolu_e1", "Read", {"file_path": "e.txt"}),
                    call("toolu_e2", "Edit", {"file_path": "e.txt", "old_string": "beta", "new_string": "BETA"}),
                    say("edited")])
    p = c.start(srv)
    p.line("edit it")
    s = p.wait_ask()
    c.has(s, "Edit wants to run", "question")
    lines = s.split("\n")
    for pfx in ("--- ", "+++ ", "@@"):
        c.check(any(ln.startswith(pfx) for ln in lines), "no diff line starting %r" % pfx)
    c.check("-beta" in lines, "no '-beta' line in the diff")
    c.check("+BETA" in lines, "no '+BETA' line in the diff")
    c.check(" alpha" in lines, "no ' alpha' context line in the diff")
    c.eq(c.read("e.txt"), "alpha\nbeta\ngamma\n", "e.txt before the answer")
    p.keys("y")
    p.wait_prompt(after="edited")
    c.eq(c.read("e.txt"), "alpha\nBETA\ngamma\n", "e.txt after y")


@test
def t_perm_write_diff_yes(c):
    srv = c.server([call("toolu_w1", "Write", {"file_path": "new.txt", "content": "hello\nworld\n"}),
                    say("written")])
    p = c.start(srv)
    p.line("write it")
    s = p.wait_ask()
    c.has(s, "Write wants to run", "question")
    lines = s.split("\n")
    for pfx in ("--- ", "+++ ", "@@"):
        c.check(any(ln.startswith(pfx) for ln in lines), "no diff line starting %r" % pfx)
    c.check("+hello" in lines and "+world" in lines, "no '+hello'/'+world' lines in the diff")
    c.check(not os.path.exists(c.path("new.txt")), "new.txt exists before the answer")
    p.keys("y")
    p.wait_prompt(after="written")
    c.eq(c.read("new.txt"), "hello\nworld\n", "new.txt after y")


@test
def t_perm_write_no(c):
    c.write("keep.txt", "original\n")
    srv = c.server([call("toolu_w2", "Write", {"file_path": "keep.txt", "content": "replaced\n"}),
                    say("fine")])
    p = c.start(srv)
    p.line("overwrite it")
    s = p.wait_ask()
    lines = s.split("\n")
    c.check("-original" in lines and "+replaced" in lines, "diff lacks '-original'/'+replaced'")
    p.keys("n")
    p.wait(lambda s: p.tail(s).startswith("what should it do instead?"), "what should it do instead?")
    p.line("leave it alone")
    b = c.wait_req(srv, 2)
    p.wait_prompt(after="fine")
    c.eq(c.read("keep.txt"), "original\n", "keep.txt after n")
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_w2"]
    c.eq(len(rs), 1, "tool_result for toolu_w2")
    c.eq(rs[0].get("is_error"), True, "is_error")
    c.has(rs[0].get("content"), "leave it alone", "tool_result")


@test
def t_perm_edit_always(c):
    c.write("e.txt", "one\ntwo\n")
    srv = c.server([call("toolu_ea1", "Read", {"file_path": "e.txt"}),
                    call("toolu_ea2", "Edit", {"file_path": "e.txt", "old_string": "one", "new_string": "ONE"}),
                    say("first edit"),
                    call("toolu_ea3", "Edit", {"file_path": "e.txt", "old_string": "two", "new_string": "TWO"}),
                    say("second edit")])
    p = c.start(srv)
    p.line("edit one")
    s = p.wait_ask()
    c.has(s, "Edit wants to run", "question")
    p.keys("a")
    p.wait_prompt(after="first edit")
    p.line("edit two")
    s = p.wait_prompt(after="second edit")
    c.eq(s.count("wants to run"), 1, "questions (the second Edit is allowed for the session)")
    c.eq(c.read("e.txt"), "ONE\nTWO\n", "e.txt")


@test
def t_ctrl_c_at_permission_question(c):
    srv = c.server([bash("toolu_cq1", "touch marker"), say("after")])
    p = c.start(srv)
    p.line("make a marker")
    p.wait_ask()
    p.keys("C-c")
    p.wait_prompt("the prompt after Ctrl-C at the question", after="[interrupted]", timeout=5)
    c.check(not os.path.exists(c.path("marker")), "the command ran after Ctrl-C")
    c.nreq(srv, 1, " (Ctrl-C at the question sends nothing more)")
    b = c.exchange(p, srv, "next", "after")
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_cq1"]
    c.eq(len(rs), 1, "tool_result for toolu_cq1 in the next request")
    c.eq(rs[0].get("is_error"), True, "is_error")
    c.eq(last_text(b), "next", "text sent")


def settings(c, perms, where=".claude/settings.json"):
    return c.write(where, json.dumps({"permissions": perms}))


@test
def t_settings_allow_and_deny(c):
    settings(c, {"allow": ["Bash(touch:*)"], "deny": ["Bash(rm:*)"]})
    srv = c.server([bash("toolu_s1", "touch x"), bash("toolu_s2", "rm x"), say("finished")])
    p = c.start(srv)
    p.line("go")
    s = p.wait_prompt(after="finished")
    c.lacks(s, "wants to run", "screen (no question with settings rules)")
    c.check(os.path.exists(c.path("x")), "x: touch did not run, or rm did")
    b1 = c.wait_req(srv, 2)
    r1 = [r for r in tool_results(b1) if r.get("tool_use_id") == "toolu_s1"]
    c.check(r1 and not r1[0].get("is_error"), "touch result: %r" % r1)
    b2 = c.wait_req(srv, 3)
    r2 = [r for r in tool_results(b2) if r.get("tool_use_id") == "toolu_s2"]
    c.check(r2 and r2[0].get("is_error") is True, "rm result is not an error: %r" % r2)
    c.has(r2[0].get("content"), "denied by the rule", "rm result")


@test
def t_settings_deny_beats_allow_ask_beats_allow(c):
    settings(c, {"allow": ["Bash"], "deny": ["Bash(rm:*)"], "ask": ["Bash(touch:*)"]})
    c.write("victim.txt", "v\n")
    srv = c.server([bash("toolu_d1", "rm victim.txt"), bash("toolu_d2", "touch asked"),
                    bash("toolu_d3", "echo free > free.txt"), say("finished")])
    p = c.start(srv)
    p.line("go")
    s = p.wait_ask("the question for touch (ask beats allow)")
    c.eq(s.count("wants to run"), 1, "questions so far (rm denied without asking)")
    c.has(s[s.rindex("wants to run"):], "touch asked", "question")
    p.keys("y")
    s = p.wait_prompt(after="finished")
    c.eq(s.count("wants to run"), 1, "questions (echo allowed by 'Bash')")
    c.check(os.path.exists(c.path("victim.txt")), "rm ran although denied (deny must beat allow)")
    c.check(os.path.exists(c.path("asked")), "touch did not run after y")
    c.check(os.path.exists(c.path("free.txt")), "echo did not run though 'Bash' is allowed")
    r = [x for x in tool_results(c.wait_req(srv, 2)) if x.get("tool_use_id") == "toolu_d1"]
    c.check(r and r[0].get("is_error") is True, "rm result: %r" % r)
    c.has(r[0].get("content"), "denied by the rule", "rm result")


@test
def t_permissions_command(c):
    sp = settings(c, {"allow": ["Bash(touch:*)"], "deny": ["Bash(rm:*)"]})
    srv = c.server([])
    p = c.start(srv)
    p.line("/permissions")
    s = p.wait_prompt(after="mode: ")
    s = s[s.rindex("/permissions"):]
    c.has(s, "mode: default", "/permissions")
    c.check(re.search(r"allow.*Bash\(touch:\*\).*" + re.escape(sp), s), "no allow Bash(touch:*) line naming %s" % sp)
    c.check(re.search(r"deny.*Bash\(rm:\*\).*" + re.escape(sp), s), "no deny Bash(rm:*) line naming %s" % sp)
    c.nreq(srv, 0)


@test
def t_perm_write_outside_asks(c):
    settings(c, {"allow": ["Write"]})
    outside = os.path.join(c.root, "outside")
    os.makedirs(outside)
    os.symlink(outside, c.path("link"))
    srv = c.server([call("toolu_o1", "Write", {"file_path": "inside.txt", "content": "in\n"}),
                    call("toolu_o2", "Write", {"file_path": "link/evil.txt", "content": "out\n"}),
                    say("finished")])
    p = c.start(srv)
    p.line("go")
    s = p.wait_ask("the question for a Write through a symlink to outside the project")
    c.eq(s.count("wants to run"), 1, "questions (the Write inside is allowed)")
    c.eq(c.read("inside.txt"), "in\n", "inside.txt")
    p.keys("n")
    p.wait(lambda s: p.tail(s).startswith("what should it do instead?"), "what should it do instead?")
    p.keys("Enter")
    p.wait_prompt(after="finished")
    c.check(not os.path.exists(os.path.join(outside, "evil.txt")), "Write went outside the project unasked")


def _project_server(c):
    """A project .mcp.json whose stdio server only marks that it was started (it never answers)."""
    marker = os.path.join(c.root, "started")
    script = c.write(os.path.join(c.root, "srv.py"),
                     "import sys\nopen(%r, 'a').write('x')\nfor _ in sys.stdin:\n    pass\n" % marker)
    c.write(".mcp.json", json.dumps({"mcpServers": {"proj": {"command": sys.executable, "args": [script]}}}))
    return marker


@test
def t_trust_folder_asked_once(c):
    marker = _project_server(c)
    srv = c.server([])
    p = c.start(srv, extra={"MCP_TIMEOUT": "300"}, wait=False)
    s = p.wait("Trust this folder? [y/N]", "the trust question")
    c.has(s, "the MCP server 'proj' of .mcp.json", "what the question names")
    c.check(not os.path.exists(marker), "the project's server started before the question was answered")
    p.line("y")
    p.wait_prompt("the first prompt after trusting")
    c.check(os.path.exists(marker), "the server of a trusted folder did not start")
    with open(os.path.join(c.home, "state", "agent", "trusted-folders")) as f:
        c.eq(f.read(), c.work + "\n", "trusted-folders")
    p.line("/exit")
    p.exit_code()
    os.unlink(marker)
    q = c.start(srv, extra={"MCP_TIMEOUT": "300"})
    c.lacks(q.screen(), "Trust this folder", "the second start (trust is remembered)")
    c.check(os.path.exists(marker), "the server of a remembered trusted folder did not start")


@test
def t_trust_folder_refused(c):
    marker = _project_server(c)
    srv = c.server([])
    p = c.start(srv, extra={"MCP_TIMEOUT": "300"}, wait=False)
    p.wait("Trust this folder? [y/N]", "the trust question")
    p.line("n")
    s = p.wait_prompt("the first prompt after refusing")
    c.has(s, "Not trusted", "the answer's line")
    c.has(s, "MCP server 'proj' from .mcp.json was not started", "the unapproved server's line")
    c.check(not os.path.exists(marker), "the server of a folder the user did not trust started")
    c.check(not os.path.exists(os.path.join(c.home, "state", "agent", "trusted-folders")), "a refusal was remembered")


@test
def t_add_dir_in_session(c):
    other = os.path.join(c.root, "other")
    os.makedirs(other)
    srv = c.server([call("toolu_ad1", "Write", {"file_path": os.path.join(other, "f.txt"), "content": "x\n"}),
                    say("written")])
    p = c.start(srv, args=["--allowedTools", "Write"])
    p.line("/add-dir ../other")
    p.wait("added %s" % other, "the /add-dir answer")
    p.line("/permissions")
    p.wait("added dir  %s" % other, "/permissions lists the added directory")
    p.line("go")
    p.wait_prompt(after="written")
    c.eq(open(os.path.join(other, "f.txt")).read(), "x\n", "the file written in the added directory")
    c.lacks(p.screen(), "wants to run", "the screen (no question for a Write in an added directory)")


# ---------------------------------------------------------------------------------------------------------
# Ctrl-C

@test
def t_ctrl_c_while_streaming(c):
    slow = mock_api.message_stream(pieces=["part%02d\n" % i for i in range(60)])
    srv = c.server([say("first answer"), {"events": slow, "write_size": 64, "write_delay": 0.1},
                    say("third answer")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "first answer")
    p.line("two")
    c.wait_req(srv, 2)
    p.wait("part01", "the slow answer streaming")
    t0 = time.monotonic()
    p.keys("C-c")
    p.wait_prompt("the prompt after Ctrl-C", after="[interrupted]", timeout=5)
    c.check(time.monotonic() - t0 < 4, "Ctrl-C took %.1f s" % (time.monotonic() - t0))
    c.lacks(p.screen(), "part59", "screen (the stream went on after Ctrl-C)")
    b = c.exchange(p, srv, "three", "third answer")
    c.eq(last_text(b), "three", "text sent after the interruption")
    msgs = b["messages"]
    c.check(len(msgs) >= 3, "request after the interruption has %d messages" % len(msgs))
    c.eq(msgs[0]["role"], "user", "role of message 0")
    c.eq(texts(msgs[0])[-1], "one", "message 0 text")
    c.eq(msgs[1]["role"], "assistant", "role of message 1")
    c.eq(texts(msgs[1]), ["first answer"], "message 1 (the completed answer)")
    c.has(all_text(b), "two", "request after the interruption (the interrupted request's text)")


@test
def t_ctrl_c_while_waiting(c):
    srv = c.server([say("first answer"), say("never shown", stall=15), say("third answer")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "first answer")
    p.line("two")
    c.wait_req(srv, 2)
    time.sleep(0.3)
    t0 = time.monotonic()
    p.keys("C-c")
    p.wait_prompt("the prompt after Ctrl-C", after="[interrupted]", timeout=5)
    c.check(time.monotonic() - t0 < 4, "Ctrl-C took %.1f s" % (time.monotonic() - t0))
    b = c.exchange(p, srv, "three", "third answer")
    c.eq(last_text(b), "three", "text sent after the interruption")
    c.eq(texts(b["messages"][1]), ["first answer"], "message 1 (the completed answer)")


@test
def t_ctrl_c_kills_long_bash(c):
    dur = "37.%03d" % random.randint(100, 999)
    cmd = "sleep %s" % dur
    srv = c.server([bash("toolu_k1", cmd), say("after the interruption")])
    p = c.start(srv)
    p.line("wait a while")
    p.wait_ask()
    p.keys("y")
    deadline = time.monotonic() + WAIT
    while not pids_matching(cmd):
        c.check(time.monotonic() < deadline, "'%s' never started" % cmd)
        time.sleep(0.05)
    t0 = time.monotonic()
    p.keys("C-c")
    p.wait_prompt("the prompt after Ctrl-C", after="[interrupted]", timeout=5)
    while pids_matching(cmd) and time.monotonic() - t0 < 3:
        time.sleep(0.05)
    left = pids_matching(cmd)
    if left:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    c.check(not left, "'%s' still runs 3 s after Ctrl-C (pids %s)" % (cmd, left))
    c.check(time.monotonic() - t0 < 5, "Ctrl-C took %.1f s" % (time.monotonic() - t0))
    b = c.exchange(p, srv, "go on", "after the interruption")
    rs = [r for r in tool_results(b) if r.get("tool_use_id") == "toolu_k1"]
    c.eq(len(rs), 1, "tool_result for toolu_k1 in the next request")
    c.has(json.dumps(rs[0].get("content")), "interrupted", "tool_result")
    c.eq(last_text(b), "go on", "text sent")


# ---------------------------------------------------------------------------------------------------------
# The terminal after leaving

def stty_modes(text):
    return set(re.split(r"[\s;]+", text))


def check_sane(c, out, what):
    modes = stty_modes(out)
    c.check("icanon" in modes and "-icanon" not in modes, "%s: icanon is off: %r" % (what, clip(out, 600)))
    c.check("echo" in modes and "-echo" not in modes, "%s: echo is off: %r" % (what, clip(out, 600)))


def shell_stty(c, sh):
    sh.line("stty -a; echo STTY-END")
    s = sh.wait(re.compile(r"^STTY-END$", re.M), "stty output")
    start = s.rindex("stty -a; echo STTY-END")
    return s[start + len("stty -a; echo STTY-END"):s.rindex("STTY-END")]


@test
def t_terminal_restored_after_ctrl_d(c):
    srv = c.server([say("hi back")])
    sh = c.shell(srv)
    sh.line(shlex.quote(c.agent))
    sh.wait("/help for commands", "the banner")
    sh.wait_prompt()
    c.exchange(sh, srv, "hello", "hi back")
    sh.keys("C-d")
    sh.wait(lambda s: sh.tail(s) == "SH$", "the shell prompt after the agent")
    check_sane(c, shell_stty(c, sh), "stty -a after Ctrl-D")


@test
def t_terminal_restored_after_ctrl_c(c):
    srv = c.server([])
    sh = c.shell(srv)
    sh.line(shlex.quote(c.agent))
    sh.wait("/help for commands", "the banner")
    sh.wait_prompt()
    sh.keys("C-c")
    sh.wait("Ctrl-C again", "the hint after one Ctrl-C")
    sh.wait_prompt()
    sh.keys("C-c")
    sh.wait(lambda s: sh.tail(s) == "SH$", "the shell prompt after the agent")
    sh.line("echo rc=$?")
    sh.wait(re.compile(r"^rc=0$", re.M), "exit status 0")
    check_sane(c, shell_stty(c, sh), "stty -a after Ctrl-C twice")


@test
def t_terminal_restored_after_sighup(c):
    srv = c.server([])
    p = c.start(srv, after="stty -a; echo STTY-END")
    pid = p.agent_pid()
    os.kill(pid, signal.SIGHUP)
    s = p.wait(re.compile(r"^STTY-END$", re.M), "stty output after SIGHUP")
    check_sane(c, s[s.rindex("EXIT="):], "stty -a after SIGHUP")


@test
def t_sigterm_at_prompt_exits_and_restores(c):
    # kill PID (a supervisor, `timeout`, a shutdown) must end the agent at its prompt and restore the terminal
    srv = c.server([])
    p = c.start(srv, after="stty -a; echo STTY-END")
    os.kill(p.agent_pid(), signal.SIGTERM)
    s = p.wait(re.compile(r"^STTY-END$", re.M), "the agent ending after SIGTERM at the prompt", timeout=3)
    check_sane(c, s[s.rindex("EXIT="):], "stty -a after SIGTERM")


# ---------------------------------------------------------------------------------------------------------
# Sessions

def sess_lines(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if ln.strip():
                out.append(json.loads(ln))
    return out


@test
def t_session_file(c):
    srv = c.server([say("ANSWER-ONE")])
    p = c.start(srv)
    c.exchange(p, srv, "hello session", "ANSWER-ONE")
    files = c.sess_files()
    c.eq(len(files), 1, "session files in %s" % c.sess_dir())
    f = files[0]
    c.eq(os.stat(f).st_mode & 0o777, 0o600, "mode of the session file")
    with open(f, encoding="utf-8") as fh:
        data = fh.read()
    c.lacks(data, "test-key-123", "session file (the API key)")
    c.has(data, "hello session", "session file (written before the agent leaves)")
    c.has(data, "ANSWER-ONE", "session file (written before the agent leaves)")
    for i, ln in enumerate(data.split("\n")[:-1]):
        try:
            json.loads(ln)
        except ValueError:
            raise Fail("session line %d is not JSON: %r" % (i + 1, ln[:200]))
    c.check(data.endswith("\n"), "session file does not end with a newline")


@test
def t_continue_interactive(c):
    srv = c.server([say("ANSWER-A"), say("ANSWER-B")])
    p = c.start(srv)
    c.exchange(p, srv, "alpha", "ANSWER-A")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "first run exit code")
    p2 = c.start(srv, ["-c"])
    b = c.exchange(p2, srv, "beta", "ANSWER-B")
    msgs = b["messages"]
    c.eq([m["role"] for m in msgs], ["user", "assistant", "user"], "roles after -c")
    c.eq(texts(msgs[0])[-1], "alpha", "message 0")
    c.eq(texts(msgs[1]), ["ANSWER-A"], "message 1")
    c.eq(last_text(b), "beta", "message 2")
    c.eq(len(c.sess_files()), 1, "session files (-c goes on in the same file)")


@test
def t_continue_print_mode(c):
    srv = c.server([say("ANSWER-A"), say("ANSWER-P")])
    p = c.start(srv)
    c.exchange(p, srv, "alpha", "ANSWER-A")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "interactive exit code")
    r = c.run(srv, ["-c"], prompt="more")
    c.eq(r.rc, 0, "agent -p more -c exit code")
    c.has(r.out, "ANSWER-P", "stdout")
    b = c.wait_req(srv, 2)
    c.eq([m["role"] for m in b["messages"]], ["user", "assistant", "user"], "roles")
    c.eq(texts(b["messages"][0])[-1], "alpha", "message 0")
    c.eq(last_text(b), "more", "message 2")


@test
def t_kill9_then_continue(c):
    srv = c.server([say("A1"), say("A2"), say("A3")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    c.exchange(p, srv, "two", "A2")
    os.kill(p.agent_pid(), signal.SIGKILL)
    c.eq(p.exit_code(), 137, "exit code after kill -9")
    r = c.run(srv, ["-c"], prompt="next")
    c.eq(r.rc, 0, "agent -p next -c exit code")
    b = c.wait_req(srv, 3)
    msgs = b["messages"]
    c.eq([m["role"] for m in msgs], ["user", "assistant", "user", "assistant", "user"], "roles")
    c.eq([texts(m)[-1] for m in msgs], ["one", "A1", "two", "A2", "next"], "texts")


@test
def t_kill9_mid_answer_then_continue(c):
    srv = c.server([say("A1"), say("A2"), say("lost", stall=10), say("A4")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    c.exchange(p, srv, "two", "A2")
    p.line("three")
    c.wait_req(srv, 3)
    os.kill(p.agent_pid(), signal.SIGKILL)
    c.eq(p.exit_code(), 137, "exit code after kill -9")
    r = c.run(srv, ["-c"], prompt="next")
    c.eq(r.rc, 0, "agent -p next -c exit code")
    b = c.wait_req(srv, 4)
    msgs = b["messages"]
    c.check(len(msgs) >= 5, "only %d messages after resuming" % len(msgs))
    c.eq([texts(m)[-1] for m in msgs[:4]], ["one", "A1", "two", "A2"], "the completed messages")
    c.eq(last_text(b), "next", "newest text")
    c.lacks(all_text(b), "lost", "request (the answer in flight)")


@test
def t_continue_picks_newest_within_one_second(c):
    # sessions written within the same second: -c must still pick the newest (sub-second modification times)
    os.makedirs(c.sess_dir())
    base = int(time.time()) - 100
    names = ["%d0000000-0000-4000-a000-00000000000%d" % (k, k) for k in range(8)]
    newest = 3
    for k, name in enumerate(names):
        path = os.path.join(c.sess_dir(), name + ".jsonl")
        lines = [{"type": "session", "id": name, "cwd": c.work, "model": "claude-mock-1", "created": base},
                 {"type": "message", "message": {"role": "user", "content": [{"type": "text", "text": "S-%d" % k}]}},
                 {"type": "message", "message": {"role": "assistant", "content": [{"type": "text", "text": "R-%d" % k}]}}]
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(json.dumps(x) + "\n" for x in lines))
        os.chmod(path, 0o600)
        t = base + (0.95 if k == newest else 0.1 * k / 2)
        os.utime(path, (t, t))
    srv = c.server([say("ok")])
    r = c.run(srv, ["-c"], prompt="next")
    c.eq(r.rc, 0, "agent -p next -c exit code")
    b = c.wait_req(srv, 1)
    c.eq([texts(m)[-1] for m in b["messages"]], ["S-%d" % newest, "R-%d" % newest, "next"],
         "texts after -c (session %d was modified last, 0.45 s after the others, in the same second)" % newest)


def torn_session(c, srv):
    r = c.run(srv, [], prompt="first words")
    c.eq(r.rc, 0, "first run exit code")
    files = c.sess_files()
    c.eq(len(files), 1, "session files")
    with open(files[0], "a", encoding="utf-8") as f:
        f.write('{"type":"message","message":{"role":"user","content":[{"type":"text","text":"TORN-TE')
    return files[0]


@test
def t_torn_last_line_resumes(c):
    srv = c.server([say("R1"), say("R2")])
    torn_session(c, srv)
    r = c.run(srv, ["-c"], prompt="again")
    c.eq(r.rc, 0, "agent -p again -c exit code")
    b = c.wait_req(srv, 2)
    c.eq([m["role"] for m in b["messages"]], ["user", "assistant", "user"], "roles")
    c.eq([texts(m)[-1] for m in b["messages"]], ["first words", "R1", "again"], "texts")
    c.lacks(json.dumps(b), "TORN", "request")


@test
def t_torn_last_line_interactive_continue(c):
    srv = c.server([say("R1"), say("R2")])
    torn_session(c, srv)
    p = c.start(srv, ["-c"])
    b = c.exchange(p, srv, "again", "R2")
    c.eq([texts(m)[-1] for m in b["messages"]], ["first words", "R1", "again"], "texts")


@test
def t_torn_last_line_survives_second_resume(c):
    # after resuming a file whose last line was torn, the next lines are appended to it: the session must
    # still load afterwards (the torn fragment must not swallow the first new line)
    srv = c.server([say("R1"), say("R2"), say("R3")])
    torn_session(c, srv)
    r = c.run(srv, ["-c"], prompt="again")
    c.eq(r.rc, 0, "second run exit code")
    r = c.run(srv, ["-c"], prompt="third time")
    c.eq(r.rc, 0, "third run (-c after a resumed torn session) exit code")
    b = c.wait_req(srv, 3)
    c.eq([texts(m)[-1] for m in b["messages"]], ["first words", "R1", "again", "R2", "third time"], "texts")


@test
def t_resume_print_without_id(c):
    srv = c.server([say("R1")])
    r = c.run(srv, ["-r"], prompt="x")
    c.eq(r.rc, 2, "exit code of -r with no session and no id")
    r = c.run(srv, [], prompt="make a session")
    c.eq(r.rc, 0, "print run exit code")
    sid = os.path.basename(c.sess_files()[0])[:-len(".jsonl")]
    r = c.run(srv, ["-r"], prompt="x")
    c.eq(r.rc, 2, "exit code of -p x -r")
    c.has(r.err, "-r ID", "stderr (how to pick)")
    c.has(r.err, sid, "stderr (the session to pick)")
    c.nreq(srv, 1, " (none for -r without an id)")


@test
def t_resume_command(c):
    srv = c.server([say("R-first"), say("R-second"), say("R-go-on")])
    c.eq(c.run(srv, [], prompt="first-session-words").rc, 0, "first print run")
    c.eq(c.run(srv, [], prompt="second-session-words").rc, 0, "second print run")
    p = c.start(srv)
    p.line("/resume")
    s = p.wait(lambda s: p.tail(s).startswith("session number"), "session number?")
    m = re.search(r"^\s*(\d+)\s.*first-session-words", s, re.M)
    c.check(m, "no numbered line for first-session-words")
    c.check(re.search(r"^\s*\d+\s.*second-session-words", s, re.M), "no numbered line for second-session-words")
    p.line(m.group(1))
    p.wait_prompt(after="resumed")
    b = c.exchange(p, srv, "go on", "R-go-on")
    msgs = b["messages"]
    c.eq([texts(x)[-1] for x in msgs], ["first-session-words", "R-first", "go on"], "texts after /resume")


@test
def t_resume_flag_interactive_lists(c):
    srv = c.server([say("R-first"), say("R-go-on")])
    c.eq(c.run(srv, [], prompt="only-session-words").rc, 0, "print run")
    p = c.start(srv, ["-r"], wait=False)
    s = p.wait(lambda s: p.tail(s).startswith("session number"), "session number?")
    m = re.search(r"^\s*(\d+)\s.*only-session-words", s, re.M)
    c.check(m, "no numbered line for only-session-words")
    p.line(m.group(1))
    p.wait_prompt()
    b = c.exchange(p, srv, "go on", "R-go-on")
    c.eq([texts(x)[-1] for x in b["messages"]], ["only-session-words", "R-first", "go on"], "texts after -r")


@test
def t_no_empty_session_file(c):
    srv = c.server([])
    p = c.start(srv)
    p.line("/exit")
    c.eq(p.exit_code(), 0, "exit code of /exit")
    c.eq(c.sess_files(), [], "session files after a start without a message")
    srv = c.server([say("R1")])
    c.eq(c.run(srv, [], prompt="saved-words").rc, 0, "print run")
    files = c.sess_files()
    p = c.start(srv, ["-r"], wait=False)       # -r, Enter for none: a new conversation, unsaved until it has a message
    p.wait(lambda s: p.tail(s).startswith("session number"), "session number?")
    p.keys("Enter")
    p.wait_prompt(after="no session chosen: this is a new conversation")
    p.line("/exit")
    p.exit_code()
    c.eq(c.sess_files(), files, "session files after agent -r, no choice and no message")


@test
def t_resume_picker_bad_input(c):
    srv = c.server([say("R-one"), say("R-two"), say("R-go-on")])
    c.eq(c.run(srv, [], prompt="first-words").rc, 0, "print run")
    c.eq(c.run(srv, [], prompt="second-words").rc, 0, "print run")
    p = c.start(srv, ["-r"], wait=False)
    p.wait(lambda s: p.tail(s).startswith("session number"), "session number?")
    p.line("99")
    p.wait("'99' is not one of the sessions above: give a number from 1 to 2", "the answer to 99")
    p.wait(lambda s: p.tail(s).startswith("session number"), "session number? again after 99")
    p.line("abc")
    s = p.wait("'abc' is not one of the sessions above", "the answer to abc")
    m = re.search(r"^\s*(\d+)\s.*first-words", s, re.M)
    c.check(m, "no numbered line for first-words")
    p.line(m.group(1))
    s = p.wait_prompt(after="resumed")
    c.has(s, "resumed: 2 messages, 1 of them yours", "the resumed line")
    b = c.exchange(p, srv, "go on", "R-go-on")
    c.eq([texts(x)[-1] for x in b["messages"]], ["first-words", "R-one", "go on"], "texts after the picker")


@test
def t_resume_id_forms(c):
    srv = c.server([say("R1"), say("R2"), say("R3"), say("R4")])
    c.eq(c.run(srv, [], prompt="the-session").rc, 0, "print run")
    name = os.path.basename(c.sess_files()[0])
    sid = name[:-len(".jsonl")]
    r = c.run(srv, ["-r", "deadbeef"], prompt="x")
    c.eq(r.rc, 2, "exit code of -r with an unknown id")
    c.has(r.err, "no session deadbeef here", "stderr")
    c.has(r.err, "the newest is %s;" % sid, "stderr (the id as --resume takes it)")
    c.lacks(r.err, ".jsonl", "stderr")
    for arg in (name, sid[:6]):
        r = c.run(srv, ["-r", arg], prompt="again")
        c.eq(r.rc, 0, "exit code of -r %s" % arg)
        b = c.body(srv, len(srv.requests) - 1)
        c.eq(texts(b["messages"][0])[-1], "the-session", "first message after -r %s" % arg)
    d = os.path.dirname(c.sess_files()[0])
    for twin in ("aaaa1111-0000-4000-a000-000000000001", "aaaa2222-0000-4000-a000-000000000002"):
        shutil.copy(os.path.join(d, name), os.path.join(d, twin + ".jsonl"))
    n = len(srv.requests)
    r = c.run(srv, ["-r", "aaaa"], prompt="x")
    c.eq(r.rc, 2, "exit code of -r with an ambiguous prefix")
    c.has(r.err, "2 sessions here start with aaaa", "stderr")
    c.nreq(srv, n, " (none for an ambiguous -r)")


@test
def t_continued_line_drops_blank_before_backslash(c):
    srv = c.server([say("got it")])
    p = c.start(srv)
    p.type("line one \\")
    p.keys("Enter")
    p.line("line two")
    b = c.wait_req(srv, 1)
    c.eq(texts(b["messages"][-1])[-1], "line one\nline two", "the continued prompt")


# ---------------------------------------------------------------------------------------------------------
# Slash commands

@test
def t_help_command(c):
    srv = c.server([])
    p = c.start(srv)
    p.line("/help")
    s = p.wait_prompt(after="/exit")
    s = s[s.rindex("> /help"):]
    for cmd in ("/clear", "/compact", "/cost", "/context", "/model", "/todos", "/permissions", "/resume", "/init",
                "/exit"):
        c.has(s, cmd, "/help")
    c.nreq(srv, 0)


@test
def t_unknown_command(c):
    srv = c.server([])
    p = c.start(srv)
    p.line("/foo")
    s = p.wait_prompt(after="unknown command /foo")
    s = s[s.rindex("unknown command /foo"):]
    for cmd in ("/help", "/compact", "/exit"):
        c.has(s, cmd, "the list after the error")
    c.nreq(srv, 0)


@test
def t_clear_command(c):
    srv = c.server([say("A1"), say("A2")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    p.line("/clear")
    p.wait_prompt(after="/clear")
    b = c.exchange(p, srv, "two", "A2")
    c.eq(len(b["messages"]), 1, "messages after /clear")
    c.eq(last_text(b), "two", "text")
    c.lacks(all_text(b), "A1", "request after /clear")


@test
def t_clear_then_continue(c):
    srv = c.server([say("A1"), say("A2"), say("A3")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    now = int(time.time())
    while int(time.time()) == now:          # the new conversation's file is written in a later second
        time.sleep(0.02)
    p.line("/clear")
    p.wait_prompt(after="/clear")
    c.exchange(p, srv, "two", "A2")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code")
    r = c.run(srv, ["-c"], prompt="three")
    c.eq(r.rc, 0, "agent -p three -c exit code")
    b = c.wait_req(srv, 3)
    c.eq([texts(m)[-1] for m in b["messages"]], ["two", "A2", "three"], "texts after -c (the newest: after /clear)")


@test
def t_cost_command(c):
    srv = c.server([say("A1")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    p.line("/cost")
    s = p.wait_prompt(after="estimated cost: $")
    s = s[s.rindex("/cost"):]
    c.has(s, "tokens:", "/cost")
    c.check(re.search(r"estimated cost: \$\d+\.\d+", s), "no 'estimated cost: $N.NN' in %r" % s)
    c.check(re.search(r"\b12\b", s), "the 12 input tokens the mock reported are not shown: %r" % s)
    c.nreq(srv, 1, " (/cost asks nothing)")


@test
def t_context_command(c):
    srv = c.server([say("A1"), {"status": 200, "json": {"input_tokens": 1234}}])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    p.line("/context")
    p.wait_prompt(after="1234 input tokens")
    q = srv.requests[1]
    c.eq(q["method"], "POST", "method")
    c.eq(q["path"].split("?")[0], "/v1/messages/count_tokens", "path")
    b = q["body"]
    c.check(isinstance(b, dict) and b.get("model"), "count_tokens body without a model: %r" % clip(b, 300))
    c.has(all_text(b), "one", "count_tokens messages")
    for k in ("stream", "max_tokens", "metadata"):
        c.check(k not in b, "count_tokens body has %r, which that endpoint refuses" % k)


@test
def t_model_command(c):
    srv = c.server([say("A1")])
    p = c.start(srv)
    p.line("/model claude-test-9")
    p.wait_prompt(after="claude-test-9")
    b = c.exchange(p, srv, "hi", "A1")
    c.eq(b.get("model"), "claude-test-9", "model of the next request")


@test
def t_todos_command(c):
    todos = [{"content": "Write the parser", "status": "completed", "activeForm": "Writing the parser"},
             {"content": "Test the parser", "status": "in_progress", "activeForm": "Testing the parser"}]
    srv = c.server([call("toolu_t1", "TodoWrite", {"todos": todos}), say("planned")])
    p = c.start(srv)
    p.line("/todos")
    p.wait_prompt(after="no todos")
    c.exchange(p, srv, "plan it", "planned")
    p.line("/todos")
    p.wait(lambda s: s.count("/todos") == 2 and "Test the parser" in s[s.rindex("/todos"):] and p.tail(s) == ">",
           "the todo items after the second /todos")
    s = p.screen()
    s = s[s.rindex("/todos"):]
    c.has(s, "Write the parser", "/todos")
    c.lacks(s, "no todos", "/todos after TodoWrite")


@test
def t_init_command(c):
    srv = c.server([say("I will write it")])
    p = c.start(srv)
    p.line("/init")
    b = c.wait_req(srv, 1)
    c.has(last_text(b), "AGENTS.md", "the message /init sends")
    p.wait_prompt(after="I will write it")


# ---------------------------------------------------------------------------------------------------------
# Compaction

@test
def t_auto_compaction(c):
    srv = c.server([with_input_tokens("first answer", 9000), say("SUMMARY-XYZ"), say("after compaction")])
    p = c.start(srv, extra={"AGENT_CONTEXT_WINDOW": "10000"})
    c.exchange(p, srv, "one", "first answer")
    p.line("two")
    c.wait_req(srv, 3)
    p.wait_prompt(after="after compaction")
    s1 = srv.requests[1]["body"]
    c.has(last_text(s1), "Summarise this conversation", "the summary request's last text")
    c.has(all_text(s1), "first answer", "the summary request (the conversation)")
    b = srv.requests[2]["body"]
    msgs = b["messages"]
    c.eq(len(msgs), 1, "messages after compaction")
    t = "\n".join(texts(msgs[0]))
    c.has(t, "SUMMARY-XYZ", "the message after compaction")
    c.has(t, "two", "the message after compaction (the new text)")
    c.check(t.rindex("two") > t.index("SUMMARY-XYZ"), "the new text does not follow the summary: %r" % clip(t, 600))
    c.lacks(t, "first answer", "the message after compaction")
    files = c.sess_files()
    c.eq(len(files), 1, "session files")
    lines = sess_lines(files[0])
    c.check(any(x.get("type") == "compact" for x in lines), "no {\"type\":\"compact\"} line in the session file")
    data = json.dumps([x for x in lines if x.get("type") == "message"])
    c.has(data, "first answer", "message lines of the session file (the full history)")
    c.has(data, "\"one\"", "message lines of the session file (the full history)")


@test
def t_compact_command(c):
    srv = c.server([say("A1"), say("SUMMARY-XYZ"), say("A2")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    p.line("/compact focus words")
    p.wait_prompt(after="compacted")
    s1 = c.wait_req(srv, 2)
    c.has(last_text(s1), "Summarise this conversation", "summary request")
    c.has(last_text(s1), "Focus on: focus words", "summary request")
    b = c.exchange(p, srv, "two", "A2")
    c.has("\n".join(texts(b["messages"][0])), "SUMMARY-XYZ", "first message after /compact")
    c.eq(last_text(b), "two", "newest text")
    c.lacks(all_text(b), "A1", "request after /compact")
    lines = sess_lines(c.sess_files()[0])
    c.check(any(x.get("type") == "compact" for x in lines), "no {\"type\":\"compact\"} line in the session file")


@test
def t_continue_after_compaction(c):
    srv = c.server([say("A1"), say("SUMMARY-XYZ"), say("A2"), say("A3")])
    p = c.start(srv)
    c.exchange(p, srv, "one", "A1")
    p.line("/compact")
    p.wait_prompt(after="compacted")
    c.exchange(p, srv, "two", "A2")
    p.keys("C-d")
    c.eq(p.exit_code(), 0, "exit code")
    r = c.run(srv, ["-c"], prompt="three")
    c.eq(r.rc, 0, "agent -p three -c exit code")
    b = c.wait_req(srv, 4)
    t = all_text(b)
    c.has(t, "SUMMARY-XYZ", "request after -c (goes on from the summary)")
    c.lacks(t, "A1", "request after -c (the compacted part)")
    c.has(t, "A2", "request after -c")
    c.eq(last_text(b), "three", "newest text")


# ---------------------------------------------------------------------------------------------------------
# Spinner

@test
def t_spinner_names_the_todo_in_progress(c):
    todos = [{"content": "Frobnicate the widget", "status": "in_progress", "activeForm": "Frobnicating the widget"}]
    srv = c.server([call("toolu_sp1", "TodoWrite", {"todos": todos}), say("done", stall=3)])
    p = c.start(srv, color=True)
    p.line("start")
    c.wait_req(srv, 2)
    p.wait("Frobnicating the widget", "the spinner naming the todo in progress", timeout=2.5)
    p.wait_prompt(after="done")


# ---------------------------------------------------------------------------------------------------------
# Markdown

@test
def t_markdown_with_colour(c):
    srv = c.server([say("", pieces=["Some **bo", "ld** text\n", "- item one\n- item", " two\n"])])
    p = c.start(srv, color=True)
    p.line("show me")
    s = p.wait_prompt(after="item two")
    s = s[s.rindex("show me"):]
    c.has(s, "Some bold text", "rendered answer")
    c.lacks(s, "**", "rendered answer")
    c.check(re.search(r"^\s*• item one$", s, re.M), "no '• item one' line in %r" % s)
    c.check(re.search(r"^\s*• item two$", s, re.M), "no '• item two' line in %r" % s)


@test
def t_markdown_left_alone_without_colour(c):
    srv = c.server([say("Some **bold** text\n- item one\n")])
    p = c.start(srv)
    p.line("show me")
    s = p.wait_prompt(after="item one")
    c.has(s, "Some **bold** text", "answer with NO_COLOR")
    c.check(re.search(r"^- item one$", s, re.M), "no '- item one' line with NO_COLOR")


# ---------------------------------------------------------------------------------------------------------
# Images and custom slash commands

@test
def t_pasted_image_path_goes_as_an_image(c):
    """A prompt naming an image file (here as a terminal pastes a dropped file, spaces escaped) sends the
    image as a block of the user's message, byte for byte, beside the words."""
    import base64
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    with open(os.path.join(c.work, "my shot.png"), "wb") as f:
        f.write(png)
    srv = c.server([say("seen")])
    p = c.start(srv)
    p.type("what is in my\\ shot.png please")
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    m = b["messages"][-1]
    im = [x for x in m["content"] if isinstance(x, dict) and x.get("type") == "image"]
    c.eq(len(im), 1, "image blocks in the user message")
    if im:
        c.eq(im[0]["source"]["media_type"], "image/png", "media type")
        c.check(base64.b64decode(im[0]["source"]["data"]) == png, "the image bytes differ")
    c.has(" ".join(texts(m)), "what is in my", "the words beside it")
    p.wait_prompt(after="seen")


@test
def t_custom_command_in_the_repl(c):
    """/help lists the custom commands with their hints and descriptions; Tab completes a command's name;
    the command runs with its arguments."""
    d = os.path.join(c.work, ".claude", "commands")
    os.makedirs(d)
    with open(os.path.join(d, "review-file.md"), "w") as f:
        f.write("---\ndescription: look hard at one file\nargument-hint: FILE\n---\nReview $1 now.\n")
    srv = c.server([say("reviewed it")])
    p = c.start(srv)
    p.line("/help")
    p.wait(lambda s: "look hard at one file" in s, "the command in /help")
    c.check("/review-file FILE" in p.screen(), "/help's line lacks the name and hint: %r" % p.screen()[-600:])
    p.type("/revi")
    p.keys("Tab")
    p.type("main.c")
    p.keys("Enter")
    b = c.wait_req(srv, 1)
    c.has(last_text(b), "Review main.c now.", "the prompt the command made")
    p.wait_prompt(after="reviewed it")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
