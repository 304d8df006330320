#!/bin/sh
# libFuzzer harnesses for agent.c (test/fuzz/*.c): build, fuzz each for a bounded time, replay regressions.
#
#   test/fuzz.sh [SECONDS] [HARNESS...]     fuzz each harness SECONDS (default 60), then replay its
#                                           regression inputs; a short CI pass is `test/fuzz.sh 5`
#   test/fuzz.sh --replay [HARNESS...]      no fuzzing: run every seed (test/fuzz/corpus/H) and every
#                                           regression input (test/fuzz/regress/H) once; fast, deterministic
#   --known-ok                              let the open bugs listed in test/fuzz/KNOWN pass in replays too
#                                           (fuzzing always lets them pass, so it can look past them)
#   --strict                                fuzz without letting the known open bugs pass
#   --jobs N                                build and run N harnesses at once (default 1)
#   --runs N                                stop each harness after N executions (or SECONDS, first reached)
#
# Builds into build/fuzz/H with clang -fsanitize=fuzzer,address,undefined. New corpus units go to
# build/fuzz/corpus/H, crashes to build/fuzz/crash/H/. Every crash found belongs in test/fuzz/regress/H/
# (and, while agent.c is not fixed, a line in test/fuzz/KNOWN). Exit status 1 when anything crashed or a
# regression input failed. Per-harness compile flags come from a "fuzz-cflags:" comment in its source.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
CC=${CC:-clang}
BEARSSL_A=${BEARSSL_A:-/usr/lib/$(gcc -dumpmachine 2>/dev/null | sed 's/-pc-/-/;s/-unknown-/-/')/libbearssl.a}
# FUZZ_OPT=-O0 (make test's short pass) builds four times faster; it gets its own build directory
FUZZ_OPT=${FUZZ_OPT:--O1}
OUT=$ROOT/build/fuzz
[ "$FUZZ_OPT" = -O1 ] || OUT=$ROOT/build/fuzz$FUZZ_OPT
SECS=60
REPLAY=0
KNOWN_OK=0
STRICT=0
JOBS=1
RUNS=-1
LIST=""
while [ $# -gt 0 ]; do
	case $1 in
	--replay) REPLAY=1 ;;
	--known-ok) KNOWN_OK=1 ;;
	--strict) STRICT=1 ;;
	--jobs) shift; JOBS=$1 ;;
	--runs) shift; RUNS=$1 ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	[0-9]*) SECS=$1 ;;
	*) LIST="$LIST $1" ;;
	esac
	shift
done
[ -n "$LIST" ] || LIST=$(for f in test/fuzz/*.c; do basename "$f" .c; done | tr "\n" " ")

. test/tap.sh
# no compiler: a skip, but a failure under CI=true (.ci/run installs clang)
if ! command -v "$CC" >/dev/null 2>&1; then
	tap_skip "fuzz: every harness" "$CC not found (apt-get install clang)" peer
	exit
fi
[ -f "$BEARSSL_A" ] || { echo "fuzz: $BEARSSL_A not found (install libbearssl-dev)"; exit 1; }
make -s build/data.h || exit 1
mkdir -p "$OUT"
# replays only need the first line of a report; symbolizing every failing stack is slow
REPLAY_ASAN=${ASAN_OPTIONS:-symbolize=0}

build() {
	h=$1
	src=test/fuzz/$h.c
	[ -f "$src" ] || { echo "fuzz: no harness $src"; return 1; }
	extra=$(sed -n 's/.*fuzz-cflags:\(.*\)\*\/.*/\1/p' "$src" | head -1)
	if [ -x "$OUT/$h" ] && [ -z "$(find "$src" test/fuzz/fuzz.h test/fuzz/fuzz_http.h test/t_util.h agent.c build/data.h \
	    -newer "$OUT/$h" 2>/dev/null)" ]; then
		return 0
	fi
	# shellcheck disable=SC2086
	$CC -g $FUZZ_OPT -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    -Wall -Wno-unused-function -Wno-unused-parameter -DAG_HAVE_DATA $extra \
	    -Ibuild -I/usr/include/bearssl "$src" "$BEARSSL_A" -o "$OUT/$h.tmp" 2>"$OUT/$h.log" &&
	    mv "$OUT/$h.tmp" "$OUT/$h" || { echo "not ok - fuzz: building $h failed:"; cat "$OUT/$h.log"; return 1; }
}

tmp_clean() {   # temporary files a harness that crashed could not remove (not those of one still running:
	              # another fuzz.sh, make test's short pass, may be using them)
	for d in /dev/shm/agent-fuzz-"$1".* "${TMPDIR:-/tmp}"/agent-fuzz-"$1".*; do
		[ -e "$d" ] || continue
		pid=${d##*/agent-fuzz-"$1".}
		pid=${pid%%.*}
		kill -0 "$pid" 2>/dev/null || rm -rf "$d"
	done
}

stat_of() {   # stat name, log file
	sed -n "s/^stat::$1: *//p" "$2" | tail -1
}

# Every regression input of a harness, one run each, so that each failure is named.
replay_regress() {
	h=$1
	bad=0
	n=0
	[ -d "test/fuzz/regress/$h" ] || { echo "0 0"; return 0; }
	for f in "test/fuzz/regress/$h"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if [ $KNOWN_OK = 1 ]; then k=1; else k=0; fi
		if ! AG_FUZZ_KNOWN=$k ASAN_OPTIONS=$REPLAY_ASAN "$OUT/$h" -runs=1 "$f" >"$OUT/$h.replay.log" 2>&1; then
			bad=$((bad + 1))
			echo "  FAIL $f" >&2
			grep -m1 -E 'FUZZ INVARIANT|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' "$OUT/$h.replay.log" \
			    | sed 's/^/       /' >&2
		fi
	done
	tmp_clean "$h"
	echo "$n $bad"
}

# The real API streams in ../shared/real-streams seed the SSE and stream harnesses (read where they are,
# copied into build/ only: they are not part of this repository).
extra_seeds() {
	h=$1
	case $h in sse|api) ;; *) return 0 ;; esac
	[ -d ../shared/real-streams ] || return 0
	mkdir -p "$OUT/seeds/$h"
	cp ../shared/real-streams/*.sse "$OUT/seeds/$h/" 2>/dev/null
	echo "$OUT/seeds/$h"
}

fuzz_one() {
	h=$1
	log=$OUT/$h.fuzz.log
	mkdir -p "$OUT/corpus/$h" "$OUT/crash/$h" "test/fuzz/corpus/$h"
	seeds=$(extra_seeds "$h")
	before=$(ls "$OUT/crash/$h" | wc -l)
	if [ $STRICT = 1 ]; then k=0; else k=1; fi
	AG_FUZZ_KNOWN=$k "$OUT/$h" -max_total_time="$SECS" -runs="$RUNS" -timeout=10 -rss_limit_mb=2560 -max_len=8192 \
	    -print_final_stats=1 -artifact_prefix="$OUT/crash/$h/" "$OUT/corpus/$h" "test/fuzz/corpus/$h" $seeds >"$log" 2>&1
	rc=$?
	tmp_clean "$h"
	after=$(ls "$OUT/crash/$h" | wc -l)
	execs=$(stat_of number_of_executed_units "$log")
	eps=$(stat_of average_exec_per_sec "$log")
	new=$(stat_of new_units_added "$log")
	corp=$(ls "$OUT/corpus/$h" | wc -l)
	set -- $(replay_regress "$h")
	if [ $rc != 0 ] || [ "$after" != "$before" ] || [ "$2" != 0 ]; then st="not ok"; else st="ok"; fi
	printf '%s - fuzz: %-8s %12s execs %8s exec/s  %5s new units (corpus %5s)  %s crashes  regress %s/%s ok\n' \
	    "$st" "$h" "${execs:-?}" "${eps:-?}" "${new:-?}" "$corp" "$((after - before))" "$(($1 - $2))" "$1"
	if [ $rc != 0 ] || [ "$after" != "$before" ]; then
		echo "  $h: crash; see $log and $OUT/crash/$h/ (add the input to test/fuzz/regress/$h/)"
		grep -m3 -E 'FUZZ INVARIANT|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer|Test unit written' "$log" \
		    | sed 's/^/    /'
		return 1
	fi
	[ "$2" = 0 ]
}

fail=0
running=0
for h in $LIST; do
	( build "$h" || echo "$h" >>"$OUT/build-failed" ) &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then wait; running=0; fi
done
wait
[ ! -f "$OUT/build-failed" ] || { rm -f "$OUT/build-failed"; fail=1; }
[ $fail = 0 ] || exit 1

if [ $REPLAY = 1 ]; then
	total=0
	for h in $LIST; do
		mkdir -p "test/fuzz/corpus/$h"
		if [ $KNOWN_OK = 1 ]; then k=1; else k=0; fi
		seeds=$(ls "test/fuzz/corpus/$h" | wc -l)
		ok=ok
		if ! AG_FUZZ_KNOWN=$k ASAN_OPTIONS=$REPLAY_ASAN "$OUT/$h" -runs=0 "test/fuzz/corpus/$h" >"$OUT/$h.replay.log" 2>&1; then
			ok=FAIL
			fail=1
			grep -m1 -E 'FUZZ INVARIANT|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' "$OUT/$h.replay.log"
		fi
		set -- $(replay_regress "$h")
		[ "$2" = 0 ] || fail=1
		[ "$ok" = ok ] && [ "$2" = 0 ] && st="ok" || st="not ok"
		printf '%s - fuzz replay: %-8s seeds %4s %-4s  regress %s/%s ok\n' "$st" "$h" "$seeds" "$ok" "$(($1 - $2))" "$1"
	done
	[ $fail = 0 ] && echo "fuzz replay: all passed" || echo "fuzz replay: FAILED"
	exit $fail
fi

echo "fuzzing $SECS s per harness:$LIST"
if [ "$JOBS" -gt 1 ]; then
	running=0
	for h in $LIST; do
		( fuzz_one "$h" >"$OUT/$h.summary" 2>&1; echo $? >"$OUT/$h.rc" ) &
		running=$((running + 1))
		if [ $running -ge "$JOBS" ]; then wait; running=0; fi
	done
	wait
	for h in $LIST; do
		cat "$OUT/$h.summary"
		[ "$(cat "$OUT/$h.rc")" = 0 ] || fail=1
	done
else
	for h in $LIST; do
		fuzz_one "$h" || fail=1
	done
fi
[ $fail = 0 ] && echo "fuzz: no crashes" || echo "fuzz: FAILED (a crash, or a regression input that still fails: see above and test/fuzz/KNOWN)"
exit $fail
