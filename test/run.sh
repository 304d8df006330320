#!/bin/sh
# make test: unit tests (sanitizer builds), the end-to-end suites against the static binary, the same
# suites against the sanitizer build, and a short pass of every fuzz harness. Three lanes run side by side
# (the static binary's, shown as it goes; the sanitizer build's and the tmux/fuzz one, shown after): most
# tests wait on timers and servers, so three lanes fit two cores. Every test prints
# "ok - NAME", "ok - NAME # SKIP why" or "not ok - NAME"; the last line counts them, "N passed, N failed,
# N skipped" (test/tap.sh: a skip is not a pass; under CI=true a program .ci/run installs that is missing fails).
cd "$(dirname "$0")/.." || exit 1
. test/tap.sh
out=${TMPDIR:-/tmp}/agent-test.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
valgrind=0
[ "${1:-}" = --valgrind ] && valgrind=1
run() { # name, command...
	name=$1; shift
	"$@" > "$out/$name.log" 2>&1
	rc=$?
	cat "$out/$name.log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out/$name.log"; then
		echo "not ok - $name exited with status $rc"
	fi
}
if [ $valgrind = 1 ]; then
	run e2e-valgrind python3 test/e2e.py --agent build/agent-dbg --valgrind --label valgrind | tee "$out/all"
else
	{
		# lane 2: the sanitizer build
		run e2e-asan python3 test/e2e.py --agent build/agent-asan --label asan
		run e2e-loop-asan python3 test/e2e_loop.py --agent build/agent-asan --label asan
		run e2e-net-asan python3 test/e2e_net.py --agent build/agent-asan --label asan
		run e2e-ext-asan python3 test/e2e_ext.py --agent build/agent-asan --label asan
		run e2e-mcp-asan python3 test/e2e_mcp.py --agent build/agent-asan --label asan
		run e2e-agents-asan python3 test/e2e_agents.py --agent build/agent-asan --label asan
		run e2e-escape-asan python3 test/e2e_escape.py --agent build/agent-asan --label asan
		run e2e-cloud-asan python3 test/e2e_cloud.py --agent build/agent-asan --label asan
		run e2e-vertex-asan python3 test/e2e_vertex.py --agent build/agent-asan --label asan
		run e2e-hooks-asan python3 test/e2e_hooks.py --agent build/agent-asan --label asan
		run e2e-extend-asan python3 test/e2e_extend.py --agent build/agent-asan --label asan
		run e2e-oauth-asan python3 test/e2e_oauth.py --agent build/agent-asan --label asan
	} > "$out/lane2" 2>&1 &
	lane2=$!
	{
		# lane 3: the terminal and resolver suites on the sanitizer build, and the fuzz harnesses
		# LeakSanitizer spins at exit once the tmux pane (its pty) is gone, leaving orphans: leaks are checked by the other suites
		(export ASAN_OPTIONS=detect_leaks=0; run e2e-repl-asan python3 test/e2e_repl.py --agent build/agent-asan --label asan)
		run e2e-dns-asan python3 test/e2e_dns.py --agent build/agent-asan --label asan
		run fuzz env FUZZ_OPT=-O0 sh test/fuzz.sh ${AG_FUZZ_SECS:-2}
		# the official MCP conformance suite (client scenarios) against the static binary
		run mcp-conformance env AGENT=./agent sh test/conformance.sh
	} > "$out/lane3" 2>&1 &
	lane3=$!
	{
		sh test/toc.sh --check agent.c
		python3 test/readme.py --check
		run tap-check python3 test/tap_check.py
		./agent --self-test >/dev/null 2>&1 && echo "ok - agent --self-test" || echo "not ok - agent --self-test"
		for t in build/t_*; do
			[ -x "$t" ] || continue
			run "$(basename "$t")" "$t"
		done
		run e2e python3 test/e2e.py --agent ./agent
		run e2e-loop python3 test/e2e_loop.py --agent ./agent
		run e2e-repl python3 test/e2e_repl.py --agent ./agent
		run e2e-net python3 test/e2e_net.py --agent ./agent
		run e2e-dns python3 test/e2e_dns.py --agent ./agent
		run e2e-fault python3 test/e2e_fault.py --agent ./agent
		run e2e-ext python3 test/e2e_ext.py --agent ./agent
		run e2e-mcp python3 test/e2e_mcp.py --agent ./agent
		run e2e-agents python3 test/e2e_agents.py --agent ./agent
		run e2e-escape python3 test/e2e_escape.py --agent ./agent
		run e2e-cloud python3 test/e2e_cloud.py --agent ./agent
		run e2e-vertex python3 test/e2e_vertex.py --agent ./agent
		run e2e-hooks python3 test/e2e_hooks.py --agent ./agent
		run e2e-extend python3 test/e2e_extend.py --agent ./agent
		run e2e-oauth python3 test/e2e_oauth.py --agent ./agent
		run e2e-pkg python3 test/e2e_pkg.py --agent ./agent
		run durability python3 test/durability.py --quick --agent ./agent
	} | tee "$out/all"
	wait $lane2 $lane3
	cat "$out/lane2" "$out/lane3" | tee -a "$out/all"
fi
mkdir -p build
tap_tally "$out/all" > build/test-summary   # the final line, also for README's board table (make readme)
rc=$?
cat build/test-summary
exit $rc
