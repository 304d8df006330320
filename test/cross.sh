#!/bin/sh
# make test-cross: each cross binary build/cross/agent-ARCH under qemu-user, against the same mock server as
# `make test`: its --self-test, test/e2e.py (through its --wrapper option), test/e2e_loop.py and test/e2e_dns.py
# (which have no --wrapper: they run build/cross/run-ARCH, a two-line script that execs qemu on the binary),
# and its OpenWrt package (test/e2e_pkg.py: the .ipk unpacked as opkg does, the binary inside run), and the
# Bedrock and Vertex suites (test/e2e_cloud.py, test/e2e_vertex.py: CRCs, base64, SigV4, RSA in its byte order).
# Usage: sh test/cross.sh [ARCH...] (default: aarch64 armhf armel mipsel mips riscv64). Failures are shown with their
# diagnostics, full logs stay in build/cross/test-ARCH.log; per ARCH one line of figures, then a summary.
cd "$(dirname "$0")/.." || exit 1
. test/tap.sh
[ $# -gt 0 ] || set -- aarch64 armhf armel mipsel mips riscv64
# qemu-user for a board, with a CPU model of the real class where qemu has one
qemu_for() {
	case $1 in
	aarch64) echo qemu-aarch64-static ;;
	armhf) echo qemu-arm-static ;;
	armel) echo qemu-arm-static -cpu arm926 ;;        # ARMv5TE (Kirkwood); the self-test also runs as arm1176
	mipsel) echo qemu-mipsel-static -cpu 24Kc ;;
	mips) echo qemu-mips-static -cpu 24Kc ;;          # ath79's 24Kc: no FPU, so no FP instruction may run
	riscv64) echo qemu-riscv64-static -cpu rv64 ;;
	s390x) echo qemu-s390x-static ;;
	*) return 1 ;;
	esac
}
now() { date +%s.%N; }
# the failures of a log, with their indented diagnostics
show_failures() { # log
	awk '/^not ok/ { show = 1; print; next } /^ / { if (show) print; next } { show = 0 }' "$1"
}
table=""
fails=0
passes=0
skips=0
for a; do
	bin=build/cross/agent-$a
	log=build/cross/test-$a.log
	t0=$(now)
	if ! q=$(qemu_for "$a"); then
		echo "not ok - $a: unknown architecture (known: aarch64 armhf armel mipsel mips riscv64 s390x)"
		fails=$((fails + 1))
		continue
	fi
	if ! command -v "${q%% *}" >/dev/null 2>&1 || [ ! -x "$bin" ]; then
		echo "not ok - $a: $q or $bin missing: run ./build.sh cross"
		fails=$((fails + 1))
		continue
	fi
	size=$(stat -c %s "$bin")
	echo "== $a: $bin, $size bytes, under $q"
	if $q "$bin" --self-test > "$log" 2>&1 &&
	   { [ $a != armel ] || qemu-arm-static -cpu arm1176 "$bin" --self-test >> "$log" 2>&1; }; then
		self="ok ($(tail -n 1 "$log" | sed 's/^self-test: //'))"
		echo "ok - self-test [$a]"
		passes=$((passes + 1))
	else
		self="FAILED"
		echo "not ok - self-test [$a]"
		sed 's/^/    /' "$log"
		fails=$((fails + 1))
	fi
	shim=build/cross/run-$a
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$q" "$(pwd)/$bin" > "$shim" && chmod +x "$shim"
	python3 test/e2e.py --agent "$bin" --wrapper "$q" --label "$a" > "$log.e2e" 2>&1
	python3 test/e2e_loop.py --agent "$shim" --label "$a" > "$log.loop" 2>&1
	python3 test/e2e_dns.py --agent "$shim" --label "$a" > "$log.dns" 2>&1
	python3 test/e2e_pkg.py --agent "$bin" --arch "$a" --filter ipk --label "$a" > "$log.pkg" 2>&1   # its .ipk
	# Bedrock and Vertex: SigV4, the event-stream CRCs and base64, RSA signing, on this board's byte order
	python3 test/e2e_cloud.py --agent "$shim" --label "$a" > "$log.cloud" 2>&1
	python3 test/e2e_vertex.py --agent "$shim" --label "$a" > "$log.vertex" 2>&1
	for s in e2e loop dns pkg cloud vertex; do
		show_failures "$log.$s"
		tail -n 1 "$log.$s"
		tap_count "$log.$s"
		fails=$((fails + tap_failed))
		passes=$((passes + tap_passed))
		skips=$((skips + tap_skipped))
	done
	e2e=$(tail -n 1 "$log.e2e" | sed "s/^[^:]*: //")
	loop=$(tail -n 1 "$log.loop" | sed "s/^[^:]*: //")
	dns=$(tail -n 1 "$log.dns" | sed "s/^[^:]*: //")
	pkg=$(tail -n 1 "$log.pkg" | sed "s/^[^:]*: //")
	cat "$log.e2e" "$log.loop" "$log.dns" "$log.pkg" "$log.cloud" "$log.vertex" >> "$log" &&
		rm -f "$log.e2e" "$log.loop" "$log.dns" "$log.pkg" "$log.cloud" "$log.vertex"
	secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
	table="$table$a: $size bytes; self-test $self; e2e $e2e; e2e_loop $loop; e2e_dns $dns; ipk $pkg; $secs s
"
	# for README's board table (make readme)
	echo "self-test $( [ "$self" = FAILED ] && echo FAILED || echo ok) ($q); e2e $e2e; e2e_loop $loop; e2e_dns $dns; ipk $pkg" \
		> build/cross/results-$a
done
echo
printf '%s' "$table"
echo "test-cross: $passes passed, $fails failed, $skips skipped"
[ "$fails" -eq 0 ]
