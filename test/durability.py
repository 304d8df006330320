#!/usr/bin/env python3
"""Durability benchmark: memory as a conversation grows, and sessions that survive kill -9.

    python3 test/durability.py [--agent ./agent] [--turns 500] [--kills 1000] [--jobs 6] [--seed N]
    python3 test/durability.py --quick          # 50 turns, 30 kills: asserts correctness only

(a) Memory. One `agent -p` run against test/mock_api.py whose model keeps calling tools (Read of a 1 KB file,
    Grep, Glob) for --turns rounds, then answers (--max-turns above that). Its peak RSS (GNU time's %M, the
    agent's own ru_maxrss) is set against a 1-round run of the same kind. Printed: both figures, the ratio, the size of
    the last request body (the whole conversation as sent), the session file's size. Checked: exit 0, one
    request per round, the last request carrying every message.

(b) kill -9. A scripted session of several turns whose tool calls write files (Write, Bash, Read, streamed in
    small writes so a run lasts a few hundred ms) is run once to the end to learn its messages and duration.
    Then --kills times: start it again in fresh dirs with --output-format stream-json, SIGKILL it at a random
    moment within that duration, and check:
      - every line of every session file parses as JSON, except a torn last line (no newline at its end);
      - every message line is a complete message: the session's messages are a prefix of the full run's;
      - nothing confirmed was lost: every message printed on stdout (stream-json) before the kill is in the
        session file, in order;
      - after every 50th kill, and after every kill that left a torn last line, `agent -c -p` resumes the
        session against the mock: exit 0, and its request carries the saved messages.
    Printed: kills done, sessions checked, sessions unreadable (must be 0), torn last lines, resumes checked,
    messages confirmed, messages lost (must be 0).

One line per check, "ok - ..." or "not ok - ..." (with diagnostics), then "durability: N passed, N failed".
Exit status 1 when any check fails. Python 3 standard library only.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mock_api  # noqa: E402

RUN_TIMEOUT = 300


class LightServer(mock_api.MockServer):
    """The mock, keeping of each request only its size and message count (a 500-round session would
    otherwise keep hundreds of MB of parsed bodies)."""

    def _respond(self, sock, spec, req):
        body = req.get("body")
        req["size"] = int(req["headers"].get("content-length", "0") or 0)
        req["nmsg"] = len(body.get("messages", [])) if isinstance(body, dict) else -1
        req["msgs"] = body.get("messages") if isinstance(body, dict) and self.keep_msgs else None
        req["body"] = None
        return super()._respond(sock, spec, req)

    keep_msgs = False


class World:
    """Temp dirs (HOME, state, work) and the environment of one agent run."""

    def __init__(self, prefix="agent-durability-"):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
        self.home = os.path.join(self.root, "home")
        self.work = os.path.join(self.root, "work")
        os.makedirs(self.home)
        os.makedirs(self.work)

    def env(self, srv, extra=None):
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "XDG_STATE_HOME": os.path.join(self.home, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.home, "config"),
            "ANTHROPIC_API_KEY": "test-key-123",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:%d" % srv.port,
            "ANTHROPIC_MAX_RETRIES": "0",
            "API_TIMEOUT_MS": "30000",
            "NO_COLOR": "1",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update(extra or {})
        return e

    def sessions(self):
        return sorted(glob.glob(os.path.join(self.home, "state", "agent", "sessions", "*", "*.jsonl")))

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


TIME = "/usr/bin/time"


def run_measured(argv, cwd, env, timeout=RUN_TIMEOUT, rss=False):
    """Run to the end; (exit code, stdout, stderr, peak RSS in KiB, seconds). The peak RSS comes from GNU time
    when it is installed: a direct child of this Python process counts the forked Python image in its
    ru_maxrss until it execs, so wait4's figure is only a fallback (an upper bound)."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe, \
            tempfile.NamedTemporaryFile(prefix="agent-durability-rss-") as ft:
        use_time = rss and os.access(TIME, os.X_OK)
        if use_time:
            argv = [TIME, "-f", "%M", "-o", ft.name] + list(argv)
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                             start_new_session=True)
        timer = threading.Timer(timeout, lambda: _killpg(p.pid))
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - t0
        fo.seek(0)
        fe.seek(0)
        peak = ru.ru_maxrss
        if use_time:
            with open(ft.name) as f:
                last = (f.read().strip().split("\n") or [""])[-1]
            peak = int(last) if last.isdigit() else -1
        return (p.returncode, fo.read().decode("utf-8", "replace"), fe.read().decode("utf-8", "replace"),
                peak, elapsed)


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, cond, name, diag=()):
        print("%s - %s" % ("ok" if cond else "not ok", name))
        if not cond:
            for d in diag:
                for ln in str(d).split("\n"):
                    print("    " + ln)
        sys.stdout.flush()
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond


def clip(s, n=1500):
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= n else s[:n // 2] + " [...] " + s[-n // 2:]


# ---------------------------------------------------------------------------------------------------------
# (a) memory as the conversation grows

DATA = "".join("line %03d of the data file that the model reads again and again, padded....\n" % i
               for i in range(14))          # about 1 KB


def rounds_script(n):
    """n rounds of one tool call each (Read of data.txt mostly, a Grep and a Glob every tenth round), then the
    final text. No Bash: the peak RSS that wait4 reports for the agent includes its waited-for children, and
    /bin/sh's would hide the agent's own."""
    script = []
    for i in range(n):
        tid = "toolu_r%04d" % i
        if i % 10 == 4:
            tool = ("Grep", {"pattern": "line 00[0-9]", "path": "data.txt", "output_mode": "content"})
        elif i % 10 == 7:
            tool = ("Glob", {"pattern": "*.txt"})
        else:
            tool = ("Read", {"file_path": "data.txt"})
        script.append({"tool_use": {"id": tid, "name": tool[0], "input": tool[1]}})
    script.append({"text": "All %d rounds done." % n})
    return script


def memory_run(agent, n):
    w = World()
    try:
        with open(os.path.join(w.work, "data.txt"), "w") as f:
            f.write(DATA)
        srv = LightServer(script=rounds_script(n)).start()
        try:
            argv = [agent, "-p", "read and run, round after round", "--dangerously-skip-permissions",
                    "--max-turns", str(n + 100)]
            rc, out, err, rss, secs = run_measured(argv, w.work, w.env(srv), rss=True)
        finally:
            srv.stop()
        sess = w.sessions()
        ssize = os.path.getsize(sess[0]) if sess else 0
        return {"rc": rc, "out": out, "err": err, "rss_kib": rss, "secs": secs, "requests": len(srv.requests),
                "last_size": srv.requests[-1]["size"] if srv.requests else 0,
                "last_nmsg": srv.requests[-1]["nmsg"] if srv.requests else 0, "session_bytes": ssize,
                "sessions": len(sess)}
    finally:
        w.cleanup()


def part_memory(agent, turns, rep):
    one = memory_run(agent, 1)
    many = memory_run(agent, turns)
    for n, m in ((1, one), (turns, many)):
        diag = ["rc %r, %.2f s, %d requests, stdout %r, stderr %r" % (m["rc"], m["secs"], m["requests"],
                                                                      clip(m["out"], 300), clip(m["err"], 800))]
        rep.ok(m["rc"] == 0 and m["out"] == "All %d rounds done.\n" % n, "memory: %d-round session completes" % n,
               diag)
        rep.ok(m["requests"] == n + 1, "memory: %d-round session made %d requests" % (n, n + 1), diag)
        rep.ok(m["last_nmsg"] == 2 * n + 1, "memory: the last request of the %d-round session carries all %d "
               "messages (got %d)" % (n, 2 * n + 1, m["last_nmsg"]))
        rep.ok(m["sessions"] == 1 and m["session_bytes"] > 0, "memory: the %d-round session was saved" % n)
    ratio = many["rss_kib"] / one["rss_kib"] if one["rss_kib"] else float("nan")
    print("# memory: max RSS, 1-round session: %d KiB (%.2f s)" % (one["rss_kib"], one["secs"]))
    print("# memory: max RSS, %d-round session: %d KiB (%.2f s, %.1f ms per round)" %
          (turns, many["rss_kib"], many["secs"], 1000 * many["secs"] / max(1, turns)))
    print("# memory: ratio %.2f; growth %d KiB" % (ratio, many["rss_kib"] - one["rss_kib"]))
    print("# memory: conversation as sent in the last request: %d bytes (%d messages); session file %d bytes" %
          (many["last_size"], many["last_nmsg"], many["session_bytes"]))
    if many["last_size"]:
        print("# memory: RSS growth per byte of conversation: %.2f" %
              ((many["rss_kib"] - one["rss_kib"]) * 1024.0 / max(1, many["last_size"] - one["last_size"])))
    return one, many


# ---------------------------------------------------------------------------------------------------------
# (b) kill -9 at random moments

SLOW = {"write_size": 96, "write_delay": 0.003}


def kill_script():
    """Seven model calls: Write, Bash, text+Write, Read, Bash (two files), Write, then the final text."""
    big = "".join("row %04d: the content of a file the agent writes while being killed\n" % i for i in range(60))
    steps = [
        {"tool_use": {"id": "toolu_k1", "name": "Write", "input": {"file_path": "one.txt", "content": "one\n"}}},
        {"tool_use": {"id": "toolu_k2", "name": "Bash", "input": {"command": "echo two > two.txt; cat one.txt"}}},
        {"tool_use": {"id": "toolu_k3", "name": "Write", "input": {"file_path": "big.txt", "content": big},
                      "text_before": "Now a bigger file, written in one go. " * 8}},
        {"tool_use": {"id": "toolu_k4", "name": "Read", "input": {"file_path": "big.txt"}}},
        {"events": mock_api.message_stream(content=[
            {"type": "text", "text": "Two commands at once."},
            {"type": "tool_use", "id": "toolu_k5a", "name": "Bash", "input": {"command": "echo five > five.txt"}},
            {"type": "tool_use", "id": "toolu_k5b", "name": "Bash", "input": {"command": "ls"}}],
            stop_reason="tool_use")},
        {"tool_use": {"id": "toolu_k6", "name": "Write", "input": {"file_path": "six.txt", "content": "six\n" * 50}}},
        {"text": "Everything is written. " * 20},
    ]
    return [dict(s, **SLOW) for s in steps]


KILL_PROMPT = "write the files"


def kill_argv(agent):
    return [agent, "-p", KILL_PROMPT, "--dangerously-skip-permissions", "--output-format", "stream-json"]


def read_session(path, work):
    """(messages, torn, problems): the message lines as {"role","content"} with the work dir replaced by
    <WORK>; torn: the last line has no newline (and does not parse); problems: lines that do not parse."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    torn = False
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        torn = True
    msgs, problems = [], []
    for i, ln in enumerate(lines):
        try:
            obj = json.loads(ln.decode("utf-8"))
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as e:
            if torn and i == len(lines) - 1:
                continue                    # the torn last line: judged by resuming
            problems.append("line %d: %s: %r" % (i + 1, e, clip(ln.decode("utf-8", "replace"), 200)))
            continue
        if torn and i == len(lines) - 1:
            torn = "parses"                 # a whole object without its newline
        if obj.get("type") == "message":
            m = obj.get("message")
            if not (isinstance(m, dict) and m.get("role") in ("user", "assistant") and
                    isinstance(m.get("content"), list) and m["content"]):
                problems.append("line %d: not a complete message: %r" % (i + 1, clip(ln.decode(), 200)))
                continue
            msgs.append(norm(m, work))
        elif i == 0 and obj.get("type") != "session":
            problems.append("line 1 is not the session header")
    return msgs, torn, problems, data


def norm(m, work):
    s = json.dumps({"role": m.get("role"), "content": m.get("content")}, sort_keys=True, ensure_ascii=False)
    return json.loads(s.replace(work, "<WORK>"))


def strip_cache(obj):
    if isinstance(obj, dict):
        return {k: strip_cache(v) for k, v in obj.items() if k != "cache_control"}
    if isinstance(obj, list):
        return [strip_cache(v) for v in obj]
    return obj


def confirmed_messages(out, work):
    """The messages stream-json printed before the kill (complete lines only)."""
    msgs = []
    for ln in out.split("\n")[:-1]:
        try:
            obj = json.loads(ln)
        except ValueError:
            continue
        if obj.get("type") in ("assistant", "user") and isinstance(obj.get("message"), dict):
            msgs.append(norm(obj["message"], work))
    return msgs


def baseline(agent):
    """The session run to its end: its messages (normalised) and how long it takes."""
    durs, ref = [], None
    for _ in range(3):
        w = World()
        try:
            srv = LightServer(script=kill_script()).start()
            try:
                rc, out, err, rss, secs = run_measured(kill_argv(agent), w.work, w.env(srv), timeout=60)
            finally:
                srv.stop()
            if rc != 0:
                raise RuntimeError("the scripted session failed: rc %r, stderr %r" % (rc, clip(err)))
            sess = w.sessions()
            msgs, torn, problems, _ = read_session(sess[0], w.work)
            if torn or problems:
                raise RuntimeError("the complete session file is damaged: %r" % problems)
            conf = confirmed_messages(out, w.work)
            if msgs[1:] != conf:
                raise RuntimeError("stream-json messages differ from the session's")
            if ref is None:
                ref = msgs
            elif ref != msgs:
                raise RuntimeError("two complete runs saved different messages")
            durs.append(secs)
        finally:
            w.cleanup()
    return ref, sorted(durs)[1]


class KillStats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kills = 0
        self.checked = 0
        self.no_session = 0
        self.unreadable = 0
        self.torn = 0
        self.torn_parses = 0
        self.resumes = 0
        self.resume_fail = 0
        self.confirmed = 0
        self.lost = 0
        self.not_prefix = 0
        self.finished = 0
        self.saved_hist = {}


def resume_check(agent, w, msgs):
    """agent -c -p against a good server: exit 0, and the request carries what the session holds (less a
    trailing tool call whose results were never saved, which loading drops by design)."""
    srv = LightServer(script=[{"text": "RESUMED"}])
    srv.keep_msgs = True
    srv.start()
    try:
        rc, out, err, _, _ = run_measured([agent, "-c", "-p", "go on", "--dangerously-skip-permissions"],
                                          w.work, w.env(srv), timeout=60)
    finally:
        srv.stop()
    if rc != 0 or out != "RESUMED\n":
        return "resume: rc %r, stdout %r, stderr %r" % (rc, clip(out, 200), clip(err, 600))
    if len(srv.requests) != 1 or srv.requests[0]["msgs"] is None:
        return "resume: expected one JSON request, got %d" % len(srv.requests)
    sent = [norm(strip_cache(m), w.work) for m in srv.requests[0]["msgs"]]
    want = list(msgs)
    while want and want[-1]["role"] == "assistant" and any(b.get("type") == "tool_use" for b in want[-1]["content"]):
        want.pop()
    # the new prompt joins a trailing user message (consecutive messages of one role are merged)
    if want and want[-1]["role"] == "user":
        last = want.pop()
        if not sent or sent[len(want)]["content"][:len(last["content"])] != last["content"]:
            return "resume: the last saved user message is not what the request carries: %r" % clip(json.dumps(sent))
    if sent[:len(want)] != want:
        return "resume: the request does not start with the saved messages:\n  saved %s\n  sent  %s" % (
            clip(json.dumps(want), 1500), clip(json.dumps(sent), 1500))
    return None


def one_kill(agent, k, delay, ref, stats, resume_every):
    w = World()
    fail = None
    try:
        srv = LightServer(script=kill_script()).start()
        try:
            p = subprocess.Popen(kill_argv(agent), cwd=w.work, env=w.env(srv), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
            chunks = []
            reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()), daemon=True)
            reader.start()
            time.sleep(delay)
            finished = p.poll() is not None
            _killpg(p.pid)
            p.wait()
            reader.join(10)
            out = b"".join(c for c in chunks if c).decode("utf-8", "replace")
        finally:
            srv.stop()
        conf = confirmed_messages(out, w.work)
        sess = w.sessions()
        do_resume = resume_every and (k + 1) % resume_every == 0
        with stats.lock:
            stats.kills += 1
            stats.finished += finished
            stats.confirmed += len(conf)
        if not sess:
            with stats.lock:
                stats.no_session += 1
                if conf:
                    stats.lost += len(conf)
                    fail = "no session file, but %d messages were confirmed on stdout" % len(conf)
            return fail
        if len(sess) != 1:
            fail = "expected one session file, found %d" % len(sess)
        msgs, torn, problems, data = read_session(sess[0], w.work)
        lost = 0 if msgs[1:1 + len(conf)] == conf else len(conf)
        with stats.lock:
            stats.checked += 1
            stats.unreadable += bool(problems)
            stats.torn += bool(torn)
            stats.torn_parses += torn == "parses"
            stats.lost += lost
            stats.not_prefix += msgs != ref[:len(msgs)]
            stats.saved_hist[len(msgs)] = stats.saved_hist.get(len(msgs), 0) + 1
        if problems:
            fail = "session unreadable: %s" % "; ".join(problems)
        elif lost:
            fail = "%d confirmed messages are not in the session file:\n  confirmed %s\n  saved %s" % (
                lost, clip(json.dumps(conf)), clip(json.dumps(msgs)))
        elif msgs != ref[:len(msgs)]:
            fail = "the session's messages are not a prefix of the complete run's:\n  saved %s\n  full %s" % (
                clip(json.dumps(msgs)), clip(json.dumps(ref)))
        if not fail and (do_resume or torn):
            r = resume_check(agent, w, msgs)
            with stats.lock:
                stats.resumes += 1
                stats.resume_fail += r is not None
            if r:
                fail = r + "\n  session bytes: %r" % clip(data.decode("utf-8", "replace"), 1500)
        return fail
    except Exception:
        return traceback.format_exc()
    finally:
        w.cleanup()


def part_kills(agent, kills, jobs, seed, rep):
    try:
        ref, dur = baseline(agent)
    except Exception as e:
        rep.ok(False, "kill: the scripted session runs to its end", [e])
        return
    rep.ok(True, "kill: the scripted session runs to its end (%d messages, %.2f s)" % (len(ref), dur))
    rng = random.Random(seed)
    delays = [rng.uniform(0, dur * 1.05) for _ in range(kills)]
    stats = KillStats()
    t0 = time.monotonic()
    fails = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        every = 50 if kills >= 100 else 10
        futs = [pool.submit(one_kill, agent, k, d, ref, stats, every) for k, d in enumerate(delays)]
        for k, f in enumerate(futs):
            r = f.result()
            if r:
                fails.append("kill %d at %.3f s: %s" % (k, delays[k], r))
    secs = time.monotonic() - t0
    print("# kill: %d kills in %.1f s (seed %d; moments uniform in 0..%.2f s; %d runs had already ended)" %
          (stats.kills, secs, seed, dur * 1.05, stats.finished))
    print("# kill: sessions checked %d (no session file yet: %d)" % (stats.checked, stats.no_session))
    print("# kill: messages saved when killed (of %d): %s" % (len(ref), ", ".join(
        "%d: %d" % (n, stats.saved_hist[n]) for n in sorted(stats.saved_hist))))
    print("# kill: sessions unreadable %d; torn last lines %d (of which a whole object without newline: %d)" %
          (stats.unreadable, stats.torn, stats.torn_parses))
    print("# kill: resumes checked %d, failed %d" % (stats.resumes, stats.resume_fail))
    print("# kill: messages confirmed on stdout %d, messages lost %d; sessions not a prefix of the full run %d" %
          (stats.confirmed, stats.lost, stats.not_prefix))
    rep.ok(stats.kills == kills, "kill: %d kills done" % kills)
    rep.ok(stats.unreadable == 0, "kill: no session unreadable (%d)" % stats.unreadable, fails[:5])
    rep.ok(stats.lost == 0, "kill: no confirmed message lost (%d)" % stats.lost, fails[:5])
    rep.ok(stats.not_prefix == 0, "kill: every saved message is complete (a prefix of the full run)", fails[:5])
    rep.ok(stats.resumes > 0 and stats.resume_fail == 0,
           "kill: resuming with -c works after every %dth kill and every torn line (%d resumes)" %
           (every, stats.resumes),
           fails[:5])
    rep.ok(not fails, "kill: all %d kills checked clean" % kills, fails[:10])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agent", default="./agent")
    ap.add_argument("--quick", action="store_true", help="a short pass: 50 rounds, 30 kills")
    ap.add_argument("--turns", type=int, default=None, help="rounds of the long session (default 500)")
    ap.add_argument("--kills", type=int, default=None, help="kill -9 moments (default 1000)")
    ap.add_argument("--jobs", type=int, default=6, help="kills run in parallel")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-kills", action="store_true")
    args = ap.parse_args()
    agent = os.path.abspath(args.agent)
    if not os.access(agent, os.X_OK):
        print("not ok - durability: %s is not an executable" % agent)
        print("durability: 0 passed, 1 failed")
        return 1
    turns = args.turns if args.turns is not None else (50 if args.quick else 500)
    kills = args.kills if args.kills is not None else (30 if args.quick else 1000)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rep = Report()
    t0 = time.monotonic()
    if not args.skip_memory:
        part_memory(agent, turns, rep)
    if not args.skip_kills:
        part_kills(agent, kills, args.jobs, seed, rep)
    print("# durability took %.1f s" % (time.monotonic() - t0))
    print("durability: %d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
