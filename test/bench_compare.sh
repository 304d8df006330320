#!/bin/sh
# Side by side, in one run (figures, never assertions; about 3 minutes on an idle machine):
#   1. agent against Claude Code (npm @anthropic-ai/claude-code, installed here into a temporary directory) on
#      the same scripted 10-turn tool session (9 Bash calls, then a text answer) from the same mock server
#      (test/bench_mock.py, plain HTTP), both in their permission-bypass modes, fresh work dirs and HOMEs with
#      the same files: on-disk size, wall time, user+sys CPU, peak RSS (GNU time), bytes sent (the requests as
#      the mock recorded them). Medians of BENCH_RUNS (3), after one warm-up run each.
#   2. Transport against curl (OpenSSL): one 10 MB SSE stream of text_delta events over TLS from the same local
#      server, CPU time (user+sys, from wait4, microseconds) of each; medians of 5 after a warm-up.
#   3. Instruction counts (valgrind --tool=callgrind on build/agent-dbg, the glibc -O1 build of the same
#      agent.c): one text delta parsed and printed; one turn's request assembly; the TLS handshake. Two rounds.
#      Then where the instructions of a 1 MB stream like 2's go, by function group.
#   4. The same instruction counts under qemu-user for x86_64 (./agent), aarch64, armhf, armel, mipsel, mips, riscv64
#      (build/cross), through test/qemu_insn.c, a TCG plugin (needs Debian's qemu-user: qemu-user-static has
#      no plugin support; without it, wall and CPU times under qemu-*-static instead).
#   5. Memory: the 50-turn session of test/bench.sh (20 KB per tool result) under prlimit --as=16777216, and in
#      an 8 MiB memory cgroup when one can be made (systemd-run, a cgroup v2 group, or a child of this
#      script's cgroup v1 memory group, removed afterwards); Claude Code under the same limits once.
# Then a Markdown table for README. The binaries are built first (make agent build/agent-dbg, and cross when
# its compilers are installed) and copied, so a rebuild during the run changes nothing.
# Knobs: BENCH_RUNS=N; BENCH_CC_DIR=DIR (use the Claude Code install there, or install into it);
# BENCH_NO_CC=1; BENCH_NO_CGROUP=1; BENCH_SECTIONS="1 2 3 4 5"; BENCH_KEEP=1 (keep the temporary directory).
# Usage: sh test/bench_compare.sh
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
runs=${BENCH_RUNS:-3}
sections=${BENCH_SECTIONS:-1 2 3 4 5}
want() { case " $sections " in *" $1 "*) return 0 ;; esac; return 1; }
command -v /usr/bin/time >/dev/null 2>&1 || { echo "bench_compare: needs GNU time (apt-get install time)"; exit 1; }
tmp=$(mktemp -d)
pids=""
cgdir=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -n "$cgdir" ] && [ -d "$cgdir" ] && rmdir "$cgdir" 2>/dev/null
	if [ -n "$BENCH_KEEP" ]; then echo "(kept $tmp)"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
t_start=$(date +%s)
t_sec=$t_start
# section_end: how long the section took
section_end() { echo "  ($(( $(date +%s) - t_sec )) s)"; t_sec=$(date +%s); }

# the binaries, built from the current agent.c and copied
make -s agent > "$tmp/make.log" 2>&1 || { echo "bench_compare: make agent failed:"; cat "$tmp/make.log"; exit 1; }
make -s build/agent-dbg > "$tmp/make.log" 2>&1 || echo "(make build/agent-dbg failed: no callgrind figures)"
if command -v aarch64-linux-gnu-gcc > /dev/null 2>&1 && want 4; then
	make -s cross > "$tmp/make.log" 2>&1 || echo "(make cross failed; using the cross binaries that are there)"
fi
mkdir -p "$tmp/bin"
cp agent "$tmp/bin/agent"
[ -x build/agent-dbg ] && cp build/agent-dbg "$tmp/bin/agent-dbg"
for a in aarch64 armhf armel mipsel mips riscv64; do [ -x build/cross/agent-$a ] && cp build/cross/agent-$a "$tmp/bin/agent-$a"; done
agent=$tmp/bin/agent

sh test/mkcerts.sh "$tmp/certs" >/dev/null || exit 1
ca=$tmp/certs/ca.pem

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
# ratio A B: A/B to two or three significant places
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a == "" || b + 0 == 0 || a == "-" || b == "-") { print "-"; exit }
	r = a / b; if (r >= 100) printf "%.0f", r; else if (r >= 10) printf "%.1f", r; else printf "%.2f", r }'; }
human() { awk -v n="$1" 'BEGIN { if (n == "-" || n == "") print "-"; else if (n >= 1048576) printf "%.1f MiB", n / 1048576;
	else if (n >= 1024) printf "%.1f KiB", n / 1024; else printf "%d B", n }'; }
# grouped digits: 1234567 -> 1,234,567
commas() { echo "$1" | sed -e ':a' -e 's/^\([-0-9]*[0-9]\)\([0-9]\{3\}\)/\1,\2/;ta'; }

# mock NAME ARGS: start test/bench_mock.py (recording to $tmp/NAME.rec); sets NAME_pid and NAME_port
mock() {
	name=$1; shift
	python3 test/bench_mock.py --steps "$tmp/steps.json" --record "$tmp/$name.rec" --port-file "$tmp/$name.port" \
		"$@" > "$tmp/$name.log" 2>&1 &
	eval "${name}_pid=$!"
	pids="$pids $!"
	n=0; while [ ! -s "$tmp/$name.port" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -s "$tmp/$name.port" ] || { echo "bench_compare: the mock server did not start:"; cat "$tmp/$name.log"; exit 1; }
	eval "${name}_port=$(cat "$tmp/$name.port")"
}
# cleanenv HOME URL CMD...: CMD in an empty environment with only what both clients need
cleanenv() {
	h=$1; u=$2; shift 2
	env -i PATH="$PATH" HOME="$h" LANG=C.UTF-8 TERM=dumb ANTHROPIC_API_KEY=sk-ant-bench ANTHROPIC_BASE_URL="$u" \
		SSL_CERT_FILE="$ca" DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 IS_SANDBOX=1 "$@"
}
# recsum FILE: "requests posts body_bytes head_bytes first_post_body last_post_body" of a record
recsum() {
	python3 - "$1" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
posts = [r for r in reqs if r["method"] == "POST" and r["path"].startswith("/v1/messages")]
cl = lambda r: int(r["headers"].get("content-length", "0") or 0)
print(len(reqs), len(posts), sum(cl(r) for r in reqs), sum(r.get("head_bytes", 0) for r in reqs),
      cl(posts[0]) if posts else 0, cl(posts[-1]) if posts else 0)
PY
}
# rusage OUT CMD...: run CMD, write "user_s sys_s wall_s maxrss_kb exit" to OUT (wait4: microseconds)
rusage() {
	python3 -c 'import os, sys, time
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, st, ru = os.wait4(pid, 0)
open(sys.argv[1], "w").write("%.6f %.6f %.6f %d %d\n" % (ru.ru_utime, ru.ru_stime, time.monotonic() - t,
                                                         ru.ru_maxrss, os.waitstatus_to_exitcode(st)))' "$@"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="$(uname -m), ${cpu_model:-unknown CPU}, $(nproc) cores, Linux $(uname -r | cut -d- -f1)"
today=$(date -u +%Y-%m-%d)
if rev=$(git rev-parse --short HEAD 2>/dev/null); then
	git diff --quiet HEAD -- agent.c 2>/dev/null || rev="$rev + uncommitted changes"
else
	rev="(not a git checkout)"
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "agent side-by-side benchmark, $today, $machine; agent.c at $rev"
echo "agent: $(stat -c %s "$agent") bytes ($("$agent" --version)); curl: $(curl --version | head -n 1 | cut -d' ' -f1-2,5)"
echo "load average at the start: $load0 ($(nproc) cores)"
awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { if (l > n / 2) print "WARNING: the machine is busy: wall times and CPU times are inflated; instruction counts are not" }'

# the work: 9 Bash calls, then a text answer, in a work dir with the same files each time
mkdir -p "$tmp/tpl/src"
printf 'alpha\nbeta\ngamma\n' > "$tmp/tpl/a.txt"
seq 1 100 > "$tmp/tpl/b.txt"
printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' > "$tmp/tpl/src/main.c"
cat > "$tmp/steps.json" <<'EOF'
["ls -R", "cat a.txt", "wc -l b.txt", "head -n 5 b.txt", "grep -n beta a.txt", "cat src/main.c",
 "tail -n 3 b.txt", "grep -c 1 b.txt", "du -s ."]
EOF
# the 10 MB stream: text_delta events of 500 bytes of text each
python3 - "$tmp/10mb.sse" <<'PY'
import sys
sys.path.insert(0, "test")
import mock_api as m
text = ("The quick brown fox jumps over the lazy dog; " * 12)[:500]
one = len(m.sse_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}}).encode())
n = 10 * 1024 * 1024 // one
open(sys.argv[1], "wb").write(m.sse_from_events(m.message_stream(text * n, pieces=[text] * n)))
PY
sse_bytes=$(stat -c %s "$tmp/10mb.sse")
mock P
mock T --tls "$tmp/certs/server.pem" "$tmp/certs/server.key" --tls-log "$tmp/tls.log" --sse-file "$tmp/10mb.sse"
agent_size=$(stat -c %s "$agent")
cc_ok=0

# ---- 1. against Claude Code ---------------------------------------------------------------------------------
# session TOOL I: one run of the 10-turn session in a fresh work dir and HOME; appends to $tmp/TOOL.s
session() {
	d=$tmp/run/$1.$2
	rm -rf "$d"; mkdir -p "$d/home"; cp -R "$tmp/tpl" "$d/work"
	: > "$tmp/P.rec"
	if [ "$1" = agent ]; then set -- "$1" "$2" "$agent" -p go --dangerously-skip-permissions
	else set -- "$1" "$2" "$claude" -p go --dangerously-skip-permissions --output-format text; fi
	tool=$1 i=$2; shift 2
	(cd "$d/work" && cleanenv "$d/home" "http://127.0.0.1:$P_port" /usr/bin/time -f '%e %U %S %M' -o "$d/time" \
		timeout 300 "$@" > "$d/out" 2> "$d/err" < /dev/null)
	rc=$?
	if [ $rc -ne 0 ] || ! grep -q 'All done\.' "$d/out"; then
		echo "  $tool run $i: FAILED (exit $rc): $(tail -n 3 "$d/err" | tr '\n' ' ')"
		return 1
	fi
	[ "$i" = warm ] && return 0
	echo "$(tail -n 1 "$d/time") $(recsum "$tmp/P.rec")" >> "$tmp/$tool.s"
}
# med TOOL FIELD_EXPR: the median of an awk expression over the runs of TOOL
med() { if [ -s "$tmp/$1.s" ]; then awk "{ print $2 }" "$tmp/$1.s" | median; else echo "-"; fi; }
if want 1; then
	echo
	echo "== 1. the same 10-turn tool session (9 Bash calls + answer), plain HTTP mock, medians of $runs"
	if [ -z "$BENCH_NO_CC" ] && command -v npm >/dev/null 2>&1; then
		ccdir=${BENCH_CC_DIR:-$tmp/cc}
		if [ ! -x "$ccdir/node_modules/.bin/claude" ]; then
			t0=$(date +%s)
			if npm install --prefix "$ccdir" --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code > "$tmp/npm.log" 2>&1; then
				echo "  npm install --prefix DIR @anthropic-ai/claude-code: $(( $(date +%s) - t0 )) s"
			else
				echo "  npm install @anthropic-ai/claude-code failed:"; tail -n 5 "$tmp/npm.log"
			fi
		fi
		claude=$ccdir/node_modules/.bin/claude
		if [ -x "$claude" ]; then
			ccver=$("$claude" --version 2>/dev/null | head -n 1 | cut -d' ' -f1)
			if [ -z "$ccver" ] && [ -f "$ccdir/node_modules/@anthropic-ai/claude-code/install.cjs" ]; then
				# npm 11 may hold back the postinstall that puts the native binary in place
				(cd "$ccdir/node_modules/@anthropic-ai/claude-code" && node install.cjs) > "$tmp/cc-postinstall.log" 2>&1
				ccver=$("$claude" --version 2>/dev/null | head -n 1 | cut -d' ' -f1)
			fi
			cc_size=$(du -sb "$ccdir" | cut -f1)
			cc_bin=$(readlink -f "$claude")
			if [ -n "$ccver" ]; then
				cc_ok=1
				echo "  Claude Code $ccver: install dir $cc_size bytes (du -sb), of which $(basename "$cc_bin") $(stat -c %s "$cc_bin") bytes ($(file -b "$cc_bin" | cut -d, -f1-2))"
			else
				echo "  Claude Code installed ($cc_size bytes, du -sb) but does not run: $("$claude" --version 2>&1 | head -n 3)"
			fi
		fi
	else
		echo "  (Claude Code skipped: BENCH_NO_CC set or npm missing)"
	fi
	for tool in agent cc; do
		[ $tool = cc ] && [ $cc_ok = 0 ] && continue
		: > "$tmp/$tool.s"
		session $tool warm
		i=1; while [ $i -le "$runs" ]; do session $tool $i; i=$((i + 1)); done
		# columns: wall user sys maxrss_kb requests posts body head first last
		awk -v t=$tool '{ printf "  %-5s run %d: wall %.2f s, user+sys %.2f s, max RSS %d KB, %d requests (%d POST /v1/messages), body %d B + head %d B sent, first body %d B, last body %d B\n",
			t, NR, $1, $2 + $3, $4, $5, $6, $7, $8, $9, $10 }' "$tmp/$tool.s"
	done
	a_wall=$(med agent '$1 * 1000'); a_cpu=$(med agent '($2 + $3) * 1000'); a_rss=$(med agent '$4')
	a_sent=$(med agent '$7 + $8'); a_first=$(med agent '$9'); a_req=$(med agent '$5')
	c_wall=$(med cc '$1 * 1000'); c_cpu=$(med cc '($2 + $3) * 1000'); c_rss=$(med cc '$4')
	c_sent=$(med cc '$7 + $8'); c_first=$(med cc '$9'); c_req=$(med cc '$5')
	echo "  medians: agent wall $a_wall ms, CPU $a_cpu ms, RSS $a_rss KB, sent $a_sent B in $a_req requests (first body $a_first B)"
	if [ $cc_ok = 1 ]; then
		echo "  medians: Claude Code wall $c_wall ms, CPU $c_cpu ms, RSS $c_rss KB, sent $c_sent B in $c_req requests (first body $c_first B)"
		echo "  Claude Code / agent: size $(ratio "$cc_size" "$agent_size"), wall $(ratio "$c_wall" "$a_wall"), CPU $(ratio "$c_cpu" "$a_cpu"), RSS $(ratio "$c_rss" "$a_rss"), bytes sent $(ratio "$c_sent" "$a_sent"), first body $(ratio "$c_first" "$a_first")"
		echo "  what Claude Code sent (last run): $(python3 -c '
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l); c["%s %s" % (r["method"], r["path"])] += 1
print(", ".join("%d x %s" % (n, k) for k, n in c.items()))' "$tmp/P.rec")"
	fi
	section_end
fi

# ---- 2. transport against curl ----------------------------------------------------------------------------
srv_ticks() { awk '{ print $14 + $15 }' "/proc/$T_pid/stat"; }
hz=$(getconf CLK_TCK)
# the two clients as scripts that exec them (the measured process is curl or agent itself)
cat > "$tmp/curl.sh" <<EOF
exec curl -sN --cacert "$ca" "https://localhost:$T_port/v1/messages" -H 'content-type: application/json' -d @"$tmp/body.json" "\$@"
EOF
mkdir -p "$tmp/xh"
cat > "$tmp/agent.sh" <<EOF
exec env -i PATH="$PATH" HOME="$tmp/xh" ANTHROPIC_API_KEY=sk-ant-bench ANTHROPIC_BASE_URL="https://localhost:$T_port" \\
	SSL_CERT_FILE="$ca" "$agent" -p stream
EOF
printf '{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"stream"}]}' > "$tmp/body.json"
# xfer LABEL CMD...: one timed transfer; appends "user+sys_ms wall_ms server_cpu_ms" to $tmp/x.LABEL
xfer() {
	label=$1; shift
	s0=$(srv_ticks)
	rusage "$tmp/xt" "$@" > /dev/null 2>> "$tmp/x.err" < /dev/null
	s1=$(srv_ticks)
	awk -v s=$((s1 - s0)) -v hz="$hz" -v l="$label" '{ if ($5 != 0) print "  " l ": exit " $5 > "/dev/stderr"
		printf "%.1f %.0f %.0f\n", ($1 + $2) * 1000, $3 * 1000, s * 1000 / hz }' "$tmp/xt" >> "$tmp/x.$label"
}
if want 2; then
	echo
	echo "== 2. one 10 MB SSE stream (text_delta events) over TLS from the local mock, CPU user+sys (wait4), medians of 5"
	# check the bytes arrive whole, and which suite each one gets
	: > "$tmp/tls.log"
	got_curl=$(sh "$tmp/curl.sh" -o /dev/null -w '%{size_download}')
	curl_suite=$(tail -n 1 "$tmp/tls.log")
	got_agent=$(sh "$tmp/agent.sh" | wc -c)
	agent_suite=$(tail -n 1 "$tmp/tls.log")
	agent_cipher=${agent_suite#* }
	echo "  stream: $sse_bytes bytes of SSE; curl received $got_curl bytes ($curl_suite), agent printed $got_agent bytes of text ($agent_suite)"
	: > "$tmp/x.curl"; : > "$tmp/x.curl12"; : > "$tmp/x.agent"
	i=0; while [ $i -le 5 ]; do
		[ $i = 0 ] && sfx=.warm || sfx=
		xfer curl$sfx sh "$tmp/curl.sh" -o /dev/null
		xfer curl12$sfx sh "$tmp/curl.sh" --tls-max 1.2 --ciphers "$agent_cipher" -o /dev/null
		xfer agent$sfx sh "$tmp/agent.sh"
		i=$((i + 1))
	done
	for l in curl curl12 agent; do
		case $l in curl) what="curl (default: $curl_suite)" ;; curl12) what="curl --tls-max 1.2 --ciphers $agent_cipher" ;; agent) what="agent -p ($agent_suite)" ;; esac
		echo "  $what: CPU $(cut -d' ' -f1 "$tmp/x.$l" | tr '\n' ' ')ms; wall $(cut -d' ' -f2 "$tmp/x.$l" | tr '\n' ' ')ms; server CPU $(cut -d' ' -f3 "$tmp/x.$l" | tr '\n' ' ')ms"
	done
	x_curl=$(cut -d' ' -f1 "$tmp/x.curl" | median); x_curl12=$(cut -d' ' -f1 "$tmp/x.curl12" | median); x_agent=$(cut -d' ' -f1 "$tmp/x.agent" | median)
	w_curl=$(cut -d' ' -f2 "$tmp/x.curl" | median); w_agent=$(cut -d' ' -f2 "$tmp/x.agent" | median)
	s_curl=$(cut -d' ' -f3 "$tmp/x.curl" | median); s_agent=$(cut -d' ' -f3 "$tmp/x.agent" | median)
	echo "  medians: curl $x_curl ms, curl TLS 1.2 same suite $x_curl12 ms, agent $x_agent ms CPU; agent/curl $(ratio "$x_agent" "$x_curl"), agent/curl same suite $(ratio "$x_agent" "$x_curl12") (goal <= 1.2)"
	echo "  wall medians: curl $w_curl ms, agent $w_agent ms; the Python server's CPU per transfer (10 ms ticks): $s_curl ms for curl, $s_agent ms for agent"
	section_end
fi

# ---- 3. and 4. instruction counts ---------------------------------------------------------------------------
# Each run has a fresh copy of one HOME made by a first run (so every run takes the same path: config and state
# already there), the same work dir path, the same mock. Figures:
#   delta:    (run with 2000 deltas - run with 1000 deltas) / 1000; each delta 40 bytes of text, printed
#   turn:     run with one Bash tool call (`true`) and the answer - run with the answer only: one more full
#             turn (request assembly + one tool_use stream parsed + the tool run from the parent's side)
#   tls:      the answer-only run over TLS - the same over plain HTTP (trust anchor load, handshake, records)
#   callgrind only, from the inclusive costs of functions:
#   req1:     api_body, which writes the whole request body (called twice per request: once to count its
#             length, once to send it), in the answer-only run: the first request's assembly
#   req2:     api_body in the one-tool-turn run minus req1: the second request's (one tool_use + result more)
#   hs:       the BearSSL handshake: br_ssl_client_reset + br_sslio_flush as called when connecting
#   trust:    tls_trust_load (one PEM CA from SSL_CERT_FILE parsed into a trust anchor)
mkdir -p "$tmp/iw" && cp -R "$tmp/tpl/." "$tmp/iw/"
# irun RUNNER LABEL URL PROMPT: the instruction count of one run, from RUNNER (cg, or a qemu with $qbin)
irun() {
	runner=$1 label=$2 url=$3 prompt=$4
	rm -rf "$tmp/ih"; cp -R "$tmp/ih0" "$tmp/ih"
	if [ "$runner" = cg ]; then
		(cd "$tmp/iw" && cleanenv "$tmp/ih" "$url" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$label" \
			"$tmp/bin/agent-dbg" -p "$prompt" --dangerously-skip-permissions > /dev/null 2> "$tmp/cg.$label.err" < /dev/null)
		grep -o 'Collected : [0-9]*' "$tmp/cg.$label.err" | awk '{ print $3 }' | tail -n 1   # the agent's own: it ends last (a forked keeper reports first)
	else
		rm -f "$tmp/q.out"
		(cd "$tmp/iw" && cleanenv "$tmp/ih" "$url" $runner -plugin "$tmp/libinsn.so,out=$tmp/q.out" "$qbin" \
			-p "$prompt" --dangerously-skip-permissions > /dev/null 2> "$tmp/q.err" < /dev/null)
		awk '{ print $2 }' "$tmp/q.out" 2>/dev/null
	fi
}
# incl LABEL FUNCTION...: inclusive instructions of the first FUNCTION found in callgrind output LABEL
incl() {
	f=$tmp/cg.$1; shift
	callgrind_annotate --inclusive=yes --threshold=100 "$f" > "$f.incl" 2>/dev/null
	for fn; do
		v=$(awk -v f=":$fn " 'index($0, f) { gsub(",", "", $1); print $1; exit }' "$f.incl")
		[ -n "$v" ] && { echo "$v"; return; }
	done
	echo 0
}
# flush_at_connect LABEL: inclusive instructions of br_sslio_flush as called when connecting (the handshake)
flush_at_connect() {
	callgrind_annotate --tree=caller --inclusive=yes --threshold=100 "$tmp/cg.$1" 2>/dev/null | awk '
	/^[[:space:]]*$/ { n = 0; next }
	{ blk[++n] = $0 }
	/\*  .*:br_sslio_flush / { for (i = 1; i < n; i++) if (blk[i] ~ /:(tls_start|http_connect|http_request) \(/) {
		split(blk[i], a, " "); gsub(",", "", a[1]); print a[1]; exit } }'
}
# ifigures RUNNER ROUND: the figures of one round into $tmp/if.RUNNER, as
# "delta turn tls req1 req2 hs trust d1000 d2000 t0 t1 s0"
ifigures() {
	r=$1; rd=$2; k=$(echo "${3:-$1}" | tr -c 'a-z0-9\n' _)     # the figures' key: the board, else the runner
	rm -rf "$tmp/ih0"; mkdir -p "$tmp/ih0"
	irun "$r" init "https://localhost:$T_port" "turns 0" > /dev/null   # creates config and state in ih
	rm -rf "$tmp/ih0"; cp -R "$tmp/ih" "$tmp/ih0"
	d1=$(irun "$r" d1000.$rd "http://127.0.0.1:$P_port" "deltas 1000")
	d2=$(irun "$r" d2000.$rd "http://127.0.0.1:$P_port" "deltas 2000")
	t0=$(irun "$r" t0.$rd "http://127.0.0.1:$P_port" "turns 0")
	: > "$tmp/P.rec"
	t1=$(irun "$r" t1.$rd "http://127.0.0.1:$P_port" "turns 1")
	s0=$(irun "$r" s0.$rd "https://localhost:$T_port" "turns 0")
	if [ -n "$d1" ] && [ -n "$d2" ] && [ -n "$t0" ] && [ -n "$t1" ] && [ -n "$s0" ]; then
		delta=$(( (d2 - d1) / 1000 )); turn=$((t1 - t0)); tls=$((s0 - t0))
	else
		delta=-; turn=-; tls=-
	fi
	req1=-; req2=-; hs=-; trust=-
	if [ "$r" = cg ]; then
		req1=$(incl t0.$rd api_body); req2=$(( $(incl t1.$rd api_body) - req1 ))
		hs=$(( $(flush_at_connect s0.$rd) + $(incl s0.$rd br_ssl_client_reset) ))
		trust=$(incl s0.$rd tls_trust_load tls_trust_add_file)
	fi
	echo "$delta $turn $tls $req1 $req2 $hs $trust ${d1:--} ${d2:--} ${t0:--} ${t1:--} ${s0:--}" >> "$tmp/if.$k"
	printf '  round %s: per delta %s; one more turn %s; TLS over plain %s\n' "$rd" "$(commas $delta)" "$(commas $turn)" "$(commas $tls)"
	[ "$r" = cg ] && printf '    api_body: first request %s, second request %s; handshake %s; trust anchor load %s\n' \
		"$(commas "$req1")" "$(commas "$req2")" "$(commas "$hs")" "$(commas "$trust")"
	printf '    (raw totals: deltas 1000 %s, deltas 2000 %s, answer only %s, one tool turn %s, answer only over TLS %s)\n' \
		"$(commas "$d1")" "$(commas "$d2")" "$(commas "$t0")" "$(commas "$t1")" "$(commas "$s0")"
}
cg_ok=0
if want 3; then
	echo
	echo "== 3. instruction counts, valgrind --tool=callgrind, build/agent-dbg (glibc, -O1 -g), two rounds"
	if command -v valgrind >/dev/null 2>&1 && [ -x "$tmp/bin/agent-dbg" ]; then
		cg_ok=1
		ifigures cg 1
		b1=$(recsum "$tmp/P.rec" | cut -d' ' -f5); b2=$(recsum "$tmp/P.rec" | cut -d' ' -f6)
		ifigures cg 2
		echo "  request bodies: first $b1 bytes, second $b2 bytes; api_body per byte and pass: $(awk -v a="$(cut -d' ' -f4 "$tmp/if.cg" | head -n 1)" -v b="$b1" 'BEGIN { if (b) printf "%.2f", a / b / 2 }')"
		# where the instructions of a stream like section 2's go (1 MB of it: the shares do not change with size)
		rm -rf "$tmp/ih"; mkdir -p "$tmp/ih"
		: > "$tmp/T.rec"
		cleanenv "$tmp/ih" "https://localhost:$T_port" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.1mb" \
			"$tmp/bin/agent-dbg" -p "deltas 2000 500" > /dev/null 2> "$tmp/cg.1mb.err" < /dev/null
		mb_bytes=$(python3 -c 'import sys; sys.path.insert(0, "test"); import mock_api as m
t = ("The quick brown fox jumps over the lazy dog; " * 12)[:500]
print(len(m.sse_from_events(m.message_stream(t * 2000, pieces=[t] * 2000))))')
		callgrind_annotate --threshold=100 --auto=no "$tmp/cg.1mb" 2>/dev/null | awk -v bytes="$mb_bytes" -v reqs="$(wc -l < "$tmp/T.rec")" '
		/^[[:space:]]*[0-9,]+ +\(/ && /:/ {
			v = $1; gsub(",", "", v); v += 0
			if ($0 ~ /PROGRAM TOTALS/) { total = v; next }
			fn = $0; sub(/ \[.*/, "", fn); sub(/.*:/, "", fn)
			if (fn ~ /^(br_|f255_|api_generic)/) g = "BearSSL (records: AES-GCM; and the handshake)"
			else if (fn == "jsmn_parse") g = "jsmn_parse (tokenizing each event)"
			else if (fn ~ /^jw_/) g = "jw_* (JSON-escaping the text into the conversation)"
			else if (fn ~ /^sse_/) g = "sse_* (splitting lines and events)"
			else if ($0 ~ /libc\.so/) g = "libc (memcpy, write, ...)"
			else g = "the rest (api_on_event, json_get, ui, ...)"
			sum[g] += v; all += v
		}
		END {
			if (!all) exit
			printf "  a 1 MB stream (2000 deltas of 500 bytes) over TLS under callgrind: %.0f instructions (%d request(s)), %.1f per SSE byte:\n", all, reqs, all / bytes
			n = 0; for (g in sum) order[++n] = g
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (sum[order[j]] > sum[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
			for (i = 1; i <= n; i++) printf "    %5.1f%%  %6.1f/byte  %s\n", 100 * sum[order[i]] / all, sum[order[i]] / bytes, order[i]
		}'
	else
		echo "  (skipped: valgrind or build/agent-dbg missing)"
	fi
	section_end
fi

qarchs=""
if want 4; then
	echo
	echo "== 4. the same counts under qemu-user (test/qemu_insn.c plugin; the static musl -Oz binaries), two rounds"
	if command -v qemu-aarch64 >/dev/null 2>&1 && qemu-aarch64 -h 2>&1 | grep -q -- '-plugin' &&
		gcc -shared -fPIC -O2 -o "$tmp/libinsn.so" test/qemu_insn.c 2> "$tmp/plugin.err"; then
		for a in x86_64 aarch64 armhf armel mipsel mips riscv64; do
			# the CPU models test/cross.sh runs them on
			case $a in x86_64) qbin=$agent; q=qemu-x86_64 ;; armhf) qbin=$tmp/bin/agent-armhf; q=qemu-arm ;;
			armel) qbin=$tmp/bin/agent-armel; q="qemu-arm -cpu arm926" ;;
			mipsel|mips) qbin=$tmp/bin/agent-$a; q="qemu-$a -cpu 24Kc" ;;
			*) qbin=$tmp/bin/agent-$a; q=qemu-$a ;; esac
			[ -x "$qbin" ] && command -v ${q%% *} > /dev/null 2>&1 || continue
			qarchs="$qarchs $a"
			echo " $a: $(stat -c %s "$qbin") bytes, under $q ($(${q%% *} --version | head -n 1 | sed 's/.*version //'))"
			ifigures "$q" 1 "$a"
			ifigures "$q" 2 "$a"
		done
	else
		echo "  no qemu with plugin support (Debian's qemu-user has it, qemu-user-static not: apt-get install qemu-user);"
		echo "  instead: CPU and wall time medians of 5 runs of each cross binary under qemu-*-static"
		for a in aarch64 armhf; do
			case $a in armhf) q=qemu-arm-static ;; *) q=qemu-$a-static ;; esac
			qbin=$tmp/bin/agent-$a
			[ -x "$qbin" ] && command -v $q > /dev/null 2>&1 || continue
			for p in "deltas 2000" "turns 1"; do
				: > "$tmp/qs"
				i=0; while [ $i -lt 5 ]; do
					(cd "$tmp/iw" && rusage "$tmp/qt" env -i PATH="$PATH" HOME="$tmp/iw" ANTHROPIC_API_KEY=k \
						ANTHROPIC_BASE_URL="http://127.0.0.1:$P_port" $q "$qbin" -p "$p" --dangerously-skip-permissions > /dev/null 2>&1 < /dev/null)
					cat "$tmp/qt" >> "$tmp/qs"; i=$((i + 1))
				done
				echo "  $a '$p': CPU $(awk '{ printf "%.0f\n", ($1 + $2) * 1000 }' "$tmp/qs" | median) ms, wall $(awk '{ printf "%.0f\n", $3 * 1000 }' "$tmp/qs" | median) ms"
			done
		done
	fi
	section_end
fi

# ---- 5. memory ------------------------------------------------------------------------------------------------
# mem LABEL WRAPPER...: the 50-turn session under a wrapper; prints "rc requests last_body maxrss_kb cpu_ms wall_ms"
mem() {
	label=$1; shift
	d=$tmp/mem.$label
	rm -rf "$d"; mkdir -p "$d/home"; cp -R "$tmp/tpl" "$d/work"
	: > "$tmp/P.rec"
	(cd "$d/work" && cleanenv "$d/home" "http://127.0.0.1:$P_port" /usr/bin/time -f '%M %U %S %e' -o "$d/time" \
		"$@" "$agent" -p "bulk 50" --dangerously-skip-permissions > "$d/out" 2> "$d/err" < /dev/null)
	rc=$?
	grep -q 'All done\.' "$d/out" || rc="$rc(no-answer)"
	set -- $(recsum "$tmp/P.rec")
	echo "$rc $2 $6 $(awk '{ printf "%d %.0f %.0f", $1, ($2 + $3) * 1000, $4 * 1000 }' "$d/time")"
}
# cc_under LABEL WRAPPER...: Claude Code's 10-turn session once under a wrapper; prints its exit status
cc_under() {
	label=$1; shift
	d=$tmp/mem.$label
	rm -rf "$d"; mkdir -p "$d/home"; cp -R "$tmp/tpl" "$d/work"
	(cd "$d/work" && cleanenv "$d/home" "http://127.0.0.1:$P_port" timeout 60 "$@" "$claude" -p go \
		--dangerously-skip-permissions --output-format text > "$d/out" 2> "$d/err" < /dev/null)
	rc=$?
	case $rc in 137) how="killed (SIGKILL)" ;; 139) how="segmentation fault" ;; 134) how="aborted" ;; 124) how="timed out" ;; *) how="" ;; esac
	echo "exit $rc${how:+, $how}: $(head -c 160 "$d/err" | tr '\n' ' ')"
}
m_cg="not tried"; m_cg_how=""; m_as_rc=-
if want 5; then
	echo
	echo "== 5. memory: the 50-turn session (each Bash result 20 KB), plain HTTP"
	set -- $(mem free); m_free_rss=$4
	echo "  no limit:              exit $1, $2 requests, last body $3 B, max RSS $4 KB, CPU $5 ms, wall $6 ms"
	set -- $(mem as16 prlimit --as=16777216); m_as_rc=$1; m_as_rss=$4; m_as_req=$2
	echo "  prlimit --as=16777216: exit $1, $2 requests, last body $3 B, max RSS $4 KB, CPU $5 ms, wall $6 ms"
	[ "$m_as_rc" = 0 ] || echo "    stderr: $(tail -c 300 "$tmp/mem.as16/err" | tr '\n' ' ')"
	[ $cc_ok = 1 ] && m_cc_as=$(cc_under cc-as16 prlimit --as=16777216) && echo "  Claude Code, its 10-turn session under the same prlimit: $m_cc_as"
	if [ -z "$BENCH_NO_CGROUP" ]; then
		if out=$(systemd-run --scope -p MemoryMax=8M --quiet true 2>&1); then
			m_cg_how="systemd-run --scope -p MemoryMax=8M"
			set -- $(mem cg8 systemd-run --scope -p MemoryMax=8M --quiet); m_cg_rc=$1; m_cg_rss=$4
			m_cg="exit $1, $2 requests, max RSS $4 KB"
			echo "  $m_cg_how: $m_cg"
			[ $cc_ok = 1 ] && echo "  Claude Code, its 10-turn session the same way: $(cc_under cc-cg8 systemd-run --scope -p MemoryMax=8M --quiet)"
		else
			echo "  systemd-run --scope -p MemoryMax=8M: $(echo "$out" | tr '\n' ' ')"
			v2=/sys/fs/cgroup; [ -f $v2/cgroup.controllers ] || v2=/sys/fs/cgroup/unified
			v1=$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
			if [ -f $v2/cgroup.controllers ] && grep -qw memory $v2/cgroup.controllers && mkdir "$v2/agent-bench-$$" 2>/dev/null; then
				cgdir=$v2/agent-bench-$$
				echo 8388608 > "$cgdir/memory.max"; { echo 0 > "$cgdir/memory.swap.max"; } 2>/dev/null
				m_cg_how="cgroup v2 group, memory.max=8M"
			elif [ -n "$v1" ] && [ -d "/sys/fs/cgroup/memory$v1" ] && mkdir "/sys/fs/cgroup/memory$v1/agent-bench-$$" 2>/dev/null; then
				# a child of the group this script runs in: it only narrows the limits already in force
				cgdir=/sys/fs/cgroup/memory$v1/agent-bench-$$
				echo 8388608 > "$cgdir/memory.limit_in_bytes"; { echo 8388608 > "$cgdir/memory.memsw.limit_in_bytes"; } 2>/dev/null
				m_cg_how="cgroup v1 child group, memory.limit_in_bytes=8M"
			else
				echo "  no cgroup could be made (cgroup v2 memory controller: $(grep -qw memory $v2/cgroup.controllers 2>/dev/null && echo yes || echo no); v1 memory group: ${v1:-none})"
			fi
			if [ -n "$cgdir" ]; then
				echo "  $m_cg_how: $cgdir"
				set -- $(mem cg8 sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cgdir"); m_cg_rc=$1; m_cg_rss=$4
				if [ -f "$cgdir/memory.max_usage_in_bytes" ]; then
					peak=$(cat "$cgdir/memory.max_usage_in_bytes"); fails=$(cat "$cgdir/memory.failcnt")
					ooms=$(sed -n 's/^oom_kill //p' "$cgdir/memory.oom_control")
				else
					peak=$(cat "$cgdir/memory.peak" 2>/dev/null || echo -); fails=-
					ooms=$(sed -n 's/^oom_kill //p' "$cgdir/memory.events")
				fi
				m_cg="exit $1, $2 requests, max RSS $4 KB, CPU $5 ms; group peak $(human "$peak") (page cache included), limit reached $fails times, OOM kills ${ooms:-0}"
				echo "    agent: $m_cg"
				if [ $cc_ok = 1 ]; then
					echo "    Claude Code, its 10-turn session in the same group: $(cc_under cc-cg8 sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cgdir")"
				fi
				sleep 0.2
				rmdir "$cgdir" 2>/dev/null && cgdir=""
			fi
		fi
	fi
	section_end
fi

# ---- the table ------------------------------------------------------------------------------------------------
ms() { case $1 in -|"") echo - ;; *) echo "$1 ms" ;; esac; }
kb() { case $1 in -|"") echo - ;; *) human $(( $1 * 1024 )) ;; esac; }
f() { awk -v i="$1" 'NR == 1 { print $i }' "$2" 2>/dev/null; }   # field I of round 1
echo
echo "== README table (Markdown)"
echo
echo "Measured $today on $machine (load average $load0), agent.c at $rev, by \`sh test/bench_compare.sh\`."
if want 1 && [ $cc_ok = 1 ]; then
	echo
	echo "| 10-turn tool session (9 Bash calls), same mock, medians of $runs | agent | Claude Code $ccver (npm) | Claude Code / agent |"
	echo "|---|---:|---:|---:|"
	echo "| on disk | $(human "$agent_size") | $(human "$cc_size") | $(ratio "$cc_size" "$agent_size")× |"
	echo "| wall time | $(ms "$a_wall") | $(ms "$c_wall") | $(ratio "$c_wall" "$a_wall")× |"
	echo "| CPU (user+sys) | $(ms "$a_cpu") | $(ms "$c_cpu") | $(ratio "$c_cpu" "$a_cpu")× |"
	echo "| peak RSS | $(kb "$a_rss") | $(kb "$c_rss") | $(ratio "$c_rss" "$a_rss")× |"
	echo "| sent to the server (bodies + headers) | $(human "$a_sent") in $a_req requests | $(human "$c_sent") in $c_req requests | $(ratio "$c_sent" "$a_sent")× |"
	echo "| first request body | $(human "$a_first") | $(human "$c_first") | $(ratio "$c_first" "$a_first")× |"
fi
if want 2; then
	echo
	echo "| 10 MB SSE over TLS, CPU (user+sys), median of 5 | curl ($curl_suite) | curl, TLS 1.2 $agent_cipher | agent ($agent_suite) | agent / curl |"
	echo "|---|---:|---:|---:|---:|"
	echo "| local mock server | $(ms "$x_curl") | $(ms "$x_curl12") | $(ms "$x_agent") | $(ratio "$x_agent" "$x_curl")× ($(ratio "$x_agent" "$x_curl12")× same suite) |"
fi
if [ $cg_ok = 1 ] || [ -n "$qarchs" ]; then
	echo
	head="| instructions |"; sep="|---|"
	[ $cg_ok = 1 ] && head="$head x86_64 (callgrind, glibc -O1) |" && sep="$sep---:|"
	for a in $qarchs; do head="$head $a (qemu, musl -Oz) |"; sep="$sep---:|"; done
	echo "$head"; echo "$sep"
	row() { # TITLE FIELD [cg only]
		line="| $1 |"
		[ $cg_ok = 1 ] && line="$line $(commas "$(f "$2" "$tmp/if.cg")") |"
		for a in $qarchs; do
			k=$a
			if [ -n "$3" ]; then line="$line - |"; else line="$line $(commas "$(f "$2" "$tmp/if.$k")") |"; fi
		done
		echo "$line"
	}
	row "one text delta (40 bytes) parsed and printed" 1
	[ $cg_ok = 1 ] && row "request assembly, first request (api_body, both passes)" 4 cg
	[ $cg_ok = 1 ] && row "request assembly, second request" 5 cg
	row "one more turn (request, tool_use stream, Bash run, result)" 2
	row "TLS over plain HTTP (trust anchor, handshake, records)" 3
	[ $cg_ok = 1 ] && row "of which the handshake (BearSSL engine)" 6 cg
	[ $cg_ok = 1 ] && row "of which the trust anchor load (one PEM CA)" 7 cg
fi
if want 5; then
	echo
	echo "| memory | 50-turn session, 20 KB per tool result |"
	echo "|---|---|"
	echo "| no limit | max RSS $(kb "$m_free_rss") |"
	echo "| \`prlimit --as=16777216\` (16 MiB of address space) | $( [ "$m_as_rc" = 0 ] && echo completes || echo "fails (exit $m_as_rc)"), $m_as_req requests, max RSS $(kb "$m_as_rss") |"
	if [ "$m_cg" = "not tried" ]; then
		echo "| 8 MiB memory cgroup | could not be made here |"
	else
		echo "| 8 MiB memory cgroup ($m_cg_how) | $( [ "$m_cg_rc" = 0 ] && echo "completes, max RSS $(kb "$m_cg_rss")" || echo "fails: $m_cg") |"
	fi
fi
echo
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); this script took $(( $(date +%s) - t_start )) s)"
