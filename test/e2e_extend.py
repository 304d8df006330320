#!/usr/bin/env python3
"""End-to-end tests of Claude Code's extension points beyond hooks: background Bash (run_in_background,
BashOutput, KillShell), images in Read, and custom slash commands (.claude/commands). The real binary
against test/mock_api.py.

    python3 test/e2e_extend.py --agent ./agent [--filter S] [--label L]

One line per test: "ok - extend: NAME" or "not ok - extend: NAME" with diagnostics. Python 3 standard
library only.
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import bash, call, rtext, say, texts, tool_names  # noqa: E402

SUITE = e2e_lib.Suite("extend")
test = SUITE.test


class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-extend-"
    RUN_TIMEOUT = 40


def bg(tid, command):
    return bash(tid, command, run_in_background=True)


def out(tid, bash_id="bash_1", flt=None):
    inp = {"bash_id": bash_id}
    if flt is not None:
        inp["filter"] = flt
    return call(tid, "BashOutput", inp)


# ---------------------------------------------------------------------------------------------------------
# Background Bash

@test
def t_background_server_read_twice_and_killed(c):
    """A background command returns its id at once; BashOutput gives what is new each time; KillShell ends
    its whole process group; the loop never waits for it."""
    cmd = "echo first; sleep 1; echo second; exec sleep 31"
    srv = c.server([bg("t1", cmd), bash("t2", "sleep 0.3"), out("t3"), bash("t4", "sleep 1.5"), out("t5"),
                    call("t6", "KillShell", {"shell_id": "bash_1"}), out("t7"), say("done")])
    t0 = time.time()
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    c.check(time.time() - t0 < 25, "the run waited for the background command")
    c.check({"BashOutput", "KillShell"} <= set(tool_names(c.body(srv, 0))), "BashOutput and KillShell offered")
    started = rtext(c.result(srv, 1, "t1"))
    c.has(started, "bash_1", "the id in Bash's result")
    first = rtext(c.result(srv, 3, "t3"))
    c.has(first, "<status>running</status>", "the first read")
    c.has(first, "first", "the first read")
    second = rtext(c.result(srv, 5, "t5"))
    c.has(second, "second", "the second read")
    c.lacks(second, "first", "the second read (only what is new)")
    c.not_err(c.result(srv, 6, "t6"), "KillShell")
    c.has(rtext(c.result(srv, 7, "t7")), "<status>killed</status>", "a read after KillShell")
    c.eq(c.ours("sleep 31"), [], "processes left of the killed command")


@test
def t_background_commands_end_with_the_session(c):
    """What is still running when the agent leaves is killed, group and all."""
    srv = c.server([bg("t1", "sh -c 'exec sleep 32' & exec sleep 33"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    time.sleep(0.3)
    c.eq(c.ours("sleep 3"), [], "background processes after the agent ended")


@test
def t_background_output_is_capped_and_filtered(c):
    """A command that prints 3 MB keeps only the newest 256 KB (the drop is said); filter keeps the lines
    that match and says how many did not; an exit code is reported when it ends."""
    srv = c.server([bg("t1", "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo tail-line; exit 3"),
                    bash("t2", "sleep 1.5"), out("t3"),
                    bg("t4", "printf 'alpha 1\\nbeta 2\\nalpha 3\\n'"), bash("t5", "sleep 0.5"),
                    out("t6", "bash_2", "^alpha"), out("t7", "bash_2"), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    big = rtext(c.result(srv, 3, "t3"))
    c.has(big, "<status>failed</status>", "the big one's state")
    c.has(big, "<exit_code>3</exit_code>", "its exit code")
    c.has(big, "dropped", "the note of dropped output")
    c.has(big, "tail-line", "the newest output")
    c.check(len(big) < 40000, "the result is %d characters, over the tool output limit" % len(big))
    f = rtext(c.result(srv, 6, "t6"))
    c.has(f, "alpha 1", "filtered output")
    c.has(f, "alpha 3", "filtered output")
    c.lacks(f, "beta", "filtered output")
    c.has(f, "1 lines did not match", "filtered output")
    c.has(rtext(c.result(srv, 7, "t7")), "no new output", "a read after a filtered read")


@test
def t_background_ids_and_errors(c):
    """An unknown id is a tool error that says where ids come from; KillShell of an ended command says so;
    background Bash is judged by the same permissions as Bash."""
    srv = c.server([out("t1", "bash_9"), bg("t2", "true"), bash("t3", "sleep 0.4"),
                    call("t4", "KillShell", {"shell_id": "bash_1"}), say("done")])
    r = c.run(srv, ["--allowedTools", "Bash"])
    c.ok(r)
    b = c.result(srv, 1, "t1")
    c.is_err(b, "BashOutput of an unknown id")
    c.has(rtext(b), "run_in_background", "its message")
    b = c.result(srv, 4, "t4")
    c.is_err(b, "KillShell of an ended command")
    c.has(rtext(b), "already ended", "its message")
    srv = c.server([bg("t1", "touch should-not-exist"), say("done")])
    r = c.run(srv, [])
    c.ok(r)
    c.is_err(c.result(srv, 1, "t1"), "background Bash without permission")
    time.sleep(0.3)
    c.check(not os.path.exists(c.path("should-not-exist")), "a background command ran without permission")

# ---------------------------------------------------------------------------------------------------------
# Images

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300      # magic bytes, then every byte value
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(40000)
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + os.urandom(100)
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + os.urandom(777)


def image_blocks(b):
    c = b.get("content")
    return [x for x in c if isinstance(x, dict) and x.get("type") == "image"] if isinstance(c, list) else []


@test
def t_read_images_as_blocks(c):
    """Read of a PNG, JPEG, GIF or WebP gives an image block whose base64 is the file byte for byte; the media
    type comes from the first bytes, not the name (a JPEG named .png is image/jpeg; a text named .png is text)."""
    c.write("shot.png", PNG)
    c.write("photo.png", JPEG)
    c.write("anim.gif", GIF)
    c.write("pic.dat", WEBP)
    c.write("notes.png", "just text\n")
    names = ["shot.png", "photo.png", "anim.gif", "pic.dat", "notes.png"]
    srv = c.server([call("r%d" % i, "Read", {"file_path": n}) for i, n in enumerate(names)] + [say("done")])
    r = c.run(srv, ["--allowedTools", "Read"])
    c.ok(r)
    for i, (name, data, mt) in enumerate([("shot.png", PNG, "image/png"), ("photo.png", JPEG, "image/jpeg"),
                                           ("anim.gif", GIF, "image/gif"), ("pic.dat", WEBP, "image/webp")]):
        b = c.result(srv, i + 1, "r%d" % i)
        c.not_err(b, "Read of " + name)
        im = image_blocks(b)
        c.eq(len(im), 1, "image blocks in the result of " + name)
        if im:
            c.eq(im[0]["source"].get("media_type"), mt, "media type of " + name)
            c.eq(im[0]["source"].get("type"), "base64", "source type of " + name)
            c.check(base64.b64decode(im[0]["source"].get("data", "")) == data, "the bytes of %s differ" % name)
        c.has(rtext(b), name, "the text beside the image")
    b = c.result(srv, 5, "r4")
    c.eq(image_blocks(b), [], "image blocks for a text file named .png")
    c.has(rtext(b), "just text", "a text file named .png")


@test
def t_read_image_over_the_limit_and_outside(c):
    """An image over 3.75 MB (5 MB of base64) is refused with the limit and what to do; an image outside
    the working directory is refused by the boundary like any Read."""
    c.write("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024))
    outside = os.path.join(c.root, "outside.png")
    with open(outside, "wb") as f:
        f.write(PNG)
    srv = c.server([call("r1", "Read", {"file_path": "big.png"}), call("r2", "Read", {"file_path": outside}),
                    say("done")])
    r = c.run(srv, ["--allowedTools", "Read"])
    c.ok(r)
    b = c.result(srv, 1, "r1")
    c.is_err(b, "Read of a 4 MB image")
    c.has(rtext(b), "limit", "its message")
    c.eq(image_blocks(b), [], "image blocks of a refused image")
    b = c.result(srv, 2, "r2")
    c.is_err(b, "Read of an image outside")
    c.eq(image_blocks(b), [], "image blocks of an image outside")
    c.lacks(json.dumps(c.body(srv, 2)), base64.b64encode(PNG[:300]).decode()[:40], "the request")


# ---------------------------------------------------------------------------------------------------------
# Custom slash commands

def user_text(body):
    return "\n".join(texts(body["messages"][-1]))


def command(c, rel, text, where="project"):
    base = c.path(".claude/commands") if where == "project" else os.path.join(c.home, ".claude", "commands")
    c.write(os.path.join(base, rel), text)


@test
def t_command_arguments_and_front_matter(c):
    """-p "/review ARGS": $ARGUMENTS and $1, $2 (quotes keep words together) put in; the request names the
    command as Claude Code's do; model in the front matter is this turn's model."""
    command(c, "review.md", "---\ndescription: review a file\nargument-hint: FILE [FOCUS]\nmodel: claude-haiku-4-5\n"
            "---\nReview $ARGUMENTS carefully. First: $1; second: $2.\n")
    srv = c.server([say("reviewed")])
    r = c.run(srv, [], prompt="/review a.c 'b c'")
    c.ok(r)
    t = user_text(c.body(srv, 0))
    c.has(t, "Review a.c 'b c' carefully. First: a.c; second: b c.", "the prompt")
    c.has(t, "<command-name>/review</command-name>", "the prompt")
    c.lacks(t, "description:", "the prompt (front matter)")
    c.eq(c.body(srv, 0).get("model"), "claude-haiku-4-5", "the model of the command's turn")
    c.has(r.out, "reviewed", "stdout")


@test
def t_command_namespaces_and_user_commands(c):
    """A subfolder is the namespace (/comp and /frontend:comp); ~/.claude/commands are the user's; without
    $ARGUMENTS the arguments follow as ARGUMENTS:; an unknown /word is sent as it is."""
    command(c, "frontend/comp.md", "Make a component.")
    command(c, "hello.md", "Say hello to the user.", where="user")
    for prompt, want in [("/comp Button", "Make a component.\n\nARGUMENTS: Button"),
                         ("/frontend:comp Card", "ARGUMENTS: Card"), ("/hello", "Say hello to the user."),
                         ("/etc/hosts: what is this file?", "/etc/hosts: what is this file?")]:
        srv = c.server([say("ok")])
        r = c.run(srv, [], prompt=prompt)
        c.ok(r)
        c.has(user_text(c.body(srv, 0)), want, "the prompt of %r" % prompt)


@test
def t_command_bang_lines_run_under_permissions(c):
    """A !`cmd` line runs first and its output is inlined, when allowed-tools (or a rule) allows it; without
    permission the command is refused before anything is sent, with what to do."""
    command(c, "st.md", "---\nallowed-tools: Bash(echo:*)\n---\nState: !`echo bang-output-42`\nGo on.", where="user")
    command(c, "nope.md", "Files: !`touch made-by-bang; echo x`", where="user")
    srv = c.server([say("ok")])
    r = c.run(srv, [], prompt="/st")
    c.ok(r)
    t = user_text(c.body(srv, 0))
    c.has(t, "State: bang-output-42", "the prompt")
    c.lacks(t, "!`", "the prompt")
    srv = c.server([say("ok")])
    r = c.run(srv, [], prompt="/nope")
    c.check(r.rc != 0, "exit code %d for a refused command" % r.rc)
    c.has(r.err, "not allowed", "stderr")
    c.nreq(srv, 0, " (nothing sent for a refused command)")
    c.check(not os.path.exists(c.path("made-by-bang")), "the refused line ran")


@test
def t_command_allowed_tools_hold_for_its_turn(c):
    """allowed-tools lets the model's calls of that turn run without asking; a project's command in an
    untrusted folder does not get them until the folder is trusted."""
    command(c, "mk.md", "---\nallowed-tools: Bash(touch:*)\n---\nMake the file.")
    srv = c.server([bash("t1", "touch made-1"), say("done")])
    r = c.run(srv, [], prompt="/mk")
    c.ok(r)
    c.is_err(c.result(srv, 1, "t1"), "Bash in an untrusted folder's command")
    c.has(r.err, "until this folder is trusted", "stderr (why the allowed-tools did not count)")
    c.check(not os.path.exists(c.path("made-1")), "an untrusted command's allowed-tools were used")
    c.trust()
    srv = c.server([bash("t1", "touch made-2"), say("done")])
    r = c.run(srv, [], prompt="/mk")
    c.ok(r)
    c.not_err(c.result(srv, 1, "t1"), "Bash allowed by the command")
    c.check(os.path.exists(c.path("made-2")), "the allowed command did not run")


@test
def t_command_at_file_included(c):
    """@path in a command puts the file after it (under the Read rules); a file outside the boundary is not
    read."""
    c.write("notes.txt", "the secret plan is X7\n")
    outside = os.path.join(c.root, "outside.txt")
    with open(outside, "w") as f:
        f.write("outside-content-99\n")
    command(c, "look.md", "Look at @notes.txt and @%s now." % outside, where="user")
    srv = c.server([say("ok")])
    r = c.run(srv, [], prompt="/look")
    c.ok(r)
    t = user_text(c.body(srv, 0))
    c.has(t, "the secret plan is X7", "the prompt")
    c.lacks(t, "outside-content-99", "the prompt")
    c.has(t, "not read", "the prompt")


if __name__ == "__main__":
    sys.exit(SUITE.main(__doc__, Ctx))
