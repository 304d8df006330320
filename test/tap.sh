# The TAP lines of the shell suites and the count make test ends with (sourced: . test/tap.sh).
#
#   tap_skip NAME WHY [peer]   NAME cannot run here: "ok - NAME # SKIP WHY", status 0. With peer (what is
#                              missing is a program .ci/run installs), under CI=true it is a failure instead:
#                              "not ok - NAME # missing in CI: WHY", status 1 (as test/e2e_lib.py's Skip peer=True)
#   tap_count FILE...          tap_passed, tap_failed, tap_skipped: the "ok", "not ok" and "ok ... # SKIP" lines in
#                              them (a skip is not a pass; indented lines are diagnostics, not counted)
#   tap_tally FILE...          their line "N passed, N failed, N skipped"; status 1 when one failed
tap_ci() {
	case ${CI:-} in [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) return 0 ;; *) return 1 ;; esac
}

tap_skip() { # NAME WHY [peer]
	if [ "${3:-}" = peer ] && tap_ci; then
		echo "not ok - $1 # missing in CI: $2"
		echo "    .ci/run installs it: CI=true counts the skip as a failure"
		return 1
	fi
	echo "ok - $1 # SKIP $2"
}

tap_count() { # FILE...
	tap_skipped=$(cat "$@" | grep -c '^ok .*# [Ss][Kk][Ii][Pp]')
	tap_passed=$(($(cat "$@" | grep -c '^ok') - tap_skipped))
	tap_failed=$(cat "$@" | grep -c '^not ok')
}

tap_tally() { # FILE...
	tap_count "$@"
	echo "$tap_passed passed, $tap_failed failed, $tap_skipped skipped"
	[ "$tap_failed" -eq 0 ]
}
