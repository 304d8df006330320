#!/usr/bin/env python3
"""Self-check of how skips are printed and counted (make test runs it; well under a second).

    python3 test/tap_check.py

A test that cannot run here is "ok - NAME # SKIP why" in every suite and is counted apart from those that
passed: by test/tap.sh's tap_tally (make test's last line, "N passed, N failed, N skipped"), by
test/e2e_lib.py's Suite and by test/e2e_net.py's runner. Under CI=true a skip because a program .ci/run
installs is missing (a peer: tinyproxy, microsocks, sshd, node, clang, unshare, ...) is a failure,
"not ok - NAME # missing in CI: why"; a skip for what the machine lacks (Landlock, [::1]) stays a skip.
Each harness here runs on made-up output or made-up tests, its own output captured. One line per check,
"ok - tap: NAME" or "not ok - tap: NAME" with the expected and actual output indented, then
"tap_check: N passed, N failed, 0 skipped"; exit status 1 when a check failed. Python 3 standard library only.
"""
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import e2e_lib  # noqa: E402
import e2e_net  # noqa: E402

RESULTS = []     # (name, ok, diagnostic lines)

# make test's output, in short: a pass whose name says "skipped", a skip, a failure, an indented diagnostic
SAMPLE = """ok - e2e: one
ok - SSE unknown event types skipped
ok - net: proxy_socks5h_microsocks # SKIP microsocks is not installed
not ok - net: proxy_basic_auth # missing in CI: tinyproxy is not installed
    ok - an indented diagnostic is not a test
e2e_net: 2 passed, 1 failed, 1 skipped
"""


def check(name, want, got):
    RESULTS.append((name, want == got, [] if want == got else ["expected: %r" % (want,), "got:      %r" % (got,)]))


def section(fn):
    """Run one group of checks now; one that raises is a failed check named after it."""
    try:
        fn()
    except Exception:
        RESULTS.append((fn.__name__ + " raised", False, traceback.format_exc().rstrip().split("\n")))
    return fn


@contextlib.contextmanager
def ci(value):
    """CI set to value (None: unset) for what runs in this process."""
    old = os.environ.get("CI")
    if value is None:
        os.environ.pop("CI", None)
    else:
        os.environ["CI"] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = old


def sh(script, *args, ci_value=None):
    """(status, stdout) of a shell script with test/tap.sh sourced."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci_value is not None:
        env["CI"] = ci_value
    p = subprocess.run(["sh", "-c", ". test/tap.sh && " + script, "sh"] + list(args), cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def tally(text):
    """(status, line) of tap_tally over text: the count make test ends with."""
    with tempfile.NamedTemporaryFile("w", prefix="agent-tap-check-", suffix=".log") as f:
        f.write(text)
        f.flush()
        return sh('tap_tally "$1"', f.name)


def captured(fn, *args, **kw):
    """(return value, stdout) of fn."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = fn(*args, **kw)
    return rc, buf.getvalue()


def main_lines(out):
    """The TAP lines and the summary of a suite's output, without the indented diagnostics."""
    return [ln for ln in out.split("\n") if ln and not ln.startswith(" ")]


# -- test/tap.sh: make test's last line, the shell suites' skips --

@section
def shell():
    check("tally: a skip is counted as skipped, not as passed", (1, "2 passed, 1 failed, 1 skipped\n"), tally(SAMPLE))
    check("tally: skips alone do not fail", (0, "2 passed, 0 failed, 1 skipped\n"),
          tally("".join(ln + "\n" for ln in SAMPLE.split("\n") if ln and not ln.startswith("not ok"))))
    check("tally: nothing at all", (0, "0 passed, 0 failed, 0 skipped\n"), tally(""))
    for value, want in ((None, (0, "ok - fuzz: every harness # SKIP clang not found\n")),
                        ("false", (0, "ok - fuzz: every harness # SKIP clang not found\n")),
                        ("true", (1, "not ok - fuzz: every harness # missing in CI: clang not found\n"
                                     "    .ci/run installs it: CI=true counts the skip as a failure\n"))):
        check("tap_skip peer, CI=%s" % value, want,
              sh('tap_skip "fuzz: every harness" "clang not found" peer', ci_value=value))
    check("tap_skip for what the machine lacks stays a skip under CI=true",
          (0, "ok - json suite # SKIP npm pack failed: no network or registry?\n"),
          sh('tap_skip "json suite" "npm pack failed: no network or registry?"', ci_value="true"))


# -- test/e2e_lib.py: Suite (e2e_loop, e2e_ext, e2e_mcp, e2e_dns, ...) and skip_suite (e2e_dns without a namespace) --

SUITE = e2e_lib.Suite("tapcheck")


@SUITE.test
def t_works(c):
    pass


@SUITE.test
def t_no_landlock(c):
    raise e2e_lib.Skip("this kernel has no Landlock")


@SUITE.test
def t_no_microsocks(c):
    raise e2e_lib.Skip("microsocks is not installed", peer=True)


@section
def suite():
    for value, rc, peer_line, summary in (
            (None, 0, "ok - tapcheck: no_microsocks [x] # SKIP microsocks is not installed",
             "e2e_tapcheck [x]: 1 passed, 0 failed, 2 skipped"),
            ("true", 1, "not ok - tapcheck: no_microsocks [x] # missing in CI: microsocks is not installed",
             "e2e_tapcheck [x]: 1 passed, 1 failed, 1 skipped")):
        with ci(value):
            got_rc, out = captured(SUITE.main, "tap check", e2e_lib.Ctx, ["--agent", sys.executable, "--label", "x"])
        check("e2e_lib.Suite, CI=%s: lines and summary" % value,
              (rc, ["ok - tapcheck: works [x]", "ok - tapcheck: no_landlock [x] # SKIP this kernel has no Landlock",
                    peer_line, summary]), (got_rc, main_lines(out)))
        check("e2e_lib.Suite, CI=%s: make test counts it as the suite does" % value, summary.split(": ")[1] + "\n",
              tally(out)[1])

    for value, rc, want in ((None, 0, ["ok - dns: all tests [asan] # SKIP unshare not found",
                                       "e2e_dns [asan]: 0 passed, 0 failed, 1 skipped"]),
                            ("true", 1, ["not ok - dns: all tests [asan] # missing in CI: unshare not found",
                                         "e2e_dns [asan]: 0 passed, 1 failed, 0 skipped"])):
        with ci(value):
            got_rc, out = captured(e2e_lib.skip_suite, "dns", "unshare not found", True, ["--label", "asan"])
        check("e2e_lib.skip_suite peer, CI=%s" % value, (rc, want), (got_rc, main_lines(out)))
    with ci("true"):
        got = captured(e2e_lib.skip_suite, "dns", "unshare -rmn: Operation not permitted", False, [])
    check("e2e_lib.skip_suite for what the machine lacks stays a skip under CI=true",
          (0, ["ok - dns: all tests # SKIP unshare -rmn: Operation not permitted",
               "e2e_dns: 0 passed, 0 failed, 1 skipped"]), (got[0], main_lines(got[1])))


# -- test/e2e_net.py: its own runner, and its proxy programs' skip sites (with no proxy program to be found) --

@contextlib.contextmanager
def no_programs():
    """shutil.which finds nothing, and there is no /usr/bin or /usr/sbin fallback (for the whole run: the
    runner's threads share them)."""
    which, exists = e2e_net.shutil.which, e2e_net.os.path.exists
    e2e_net.shutil.which = lambda name: None
    e2e_net.os.path.exists = lambda p: False if p.startswith(("/usr/bin/", "/usr/sbin/")) else exists(p)
    try:
        yield
    finally:
        e2e_net.shutil.which, e2e_net.os.path.exists = which, exists


def t_net_works(c):
    pass


def t_net_no_landlock(c):
    raise e2e_net.Skip("this kernel has no Landlock")


NET = [("works", t_net_works), ("no_landlock", t_net_no_landlock),
       ("microsocks", lambda c: c.microsocks()), ("tinyproxy", lambda c: c.tinyproxy()),
       ("ssh_d", lambda c: c.ssh_socks())]
PEERS = (("microsocks", "microsocks is not installed"), ("tinyproxy", "tinyproxy is not installed"),
         ("ssh_d", "ssh, ssh-keygen or sshd is not installed"))
@section
def net():
    for value, rc, fmt, summary in ((None, 0, "ok - net: %s # SKIP %s", "e2e_net: 1 passed, 0 failed, 4 skipped"),
                                    ("true", 1, "not ok - net: %s # missing in CI: %s",
                                     "e2e_net: 1 passed, 3 failed, 1 skipped")):
        with ci(value), no_programs():
            got_rc, out = captured(e2e_net.main, ["--agent", sys.executable], tests=NET)
        check("e2e_net, CI=%s: lines and summary" % value,
              (rc, ["ok - net: works", "ok - net: no_landlock # SKIP this kernel has no Landlock"] +
               [fmt % p for p in PEERS] + [summary]), (got_rc, main_lines(out)))
        check("e2e_net, CI=%s: make test counts it as the suite does" % value, summary.split(": ")[1] + "\n",
              tally(out)[1])


failed = 0
for name, ok, lines in RESULTS:
    print("%s - tap: %s" % ("ok" if ok else "not ok", name))
    for ln in lines:
        print("    " + ln)
    failed += not ok
print("tap_check: %d passed, %d failed, 0 skipped" % (len(RESULTS) - failed, failed))
sys.exit(1 if failed else 0)
