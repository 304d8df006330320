#!/bin/sh
# Benchmark (figures, never assertions): size, start-up, CA bundle decoding, and memory and CPU while
# streaming a 1 MB answer over TLS from the local mock server. Run with `make bench`.
cd "$(dirname "$0")/.." || exit 1
[ -x ./agent ] || make -s agent || exit 1
command -v /usr/bin/time >/dev/null 2>&1 || { echo "bench: needs GNU time (apt-get install time)"; exit 1; }
tmp=$(mktemp -d)
trap 'kill $mock 2>/dev/null; rm -rf "$tmp"' EXIT
sh test/mkcerts.sh "$tmp/certs" >/dev/null
echo "agent benchmark, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores"
echo "stripped size:                 $(stat -c %s agent) bytes ($(file -b agent | grep -o 'statically linked' || echo dynamic))"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
i=0; : > "$tmp/v"
while [ $i -lt 21 ]; do
	/usr/bin/time -f '%e %M' -o "$tmp/t" ./agent --version >/dev/null; cat "$tmp/t" >> "$tmp/v"; i=$((i+1))
done
echo "--version wall time:           $(awk '{print $1*1000}' "$tmp/v" | median) ms (median of 21)"
echo "--version max RSS:             $(awk '{print $2}' "$tmp/v" | median) KB"
# CA bundle decode, agent's loader against BearSSL's generic decoder (both static musl -Oz, like agent)
if musl-gcc -Oz -std=gnu11 -DAG_HAVE_DATA -Ibuild -Ibuild/include -I/usr/include/bearssl test/b_ca.c \
	"/usr/lib/$(gcc -dumpmachine)/libbearssl.a" -static -o "$tmp/b_ca" 2>/dev/null; then
	"$tmp/b_ca" | sed 's/^/  /'
fi
# 1 MB answer over TLS, in 2000 deltas of ~500 bytes
python3 - "$tmp/script.json" <<'PY'
import json, sys
text = ("The quick brown fox jumps over the lazy dog; " * 12)[:500]
pieces = [text] * 2000
json.dump([{"text": "".join(pieces), "pieces": pieces, "framing": "chunked"}] * 30, open(sys.argv[1], "w"))
PY
python3 test/mock_api.py --script "$tmp/script.json" --port-file "$tmp/port" \
	--tls "$tmp/certs/server.pem" "$tmp/certs/server.key" >/dev/null 2>&1 &
mock=$!
n=0; while [ ! -s "$tmp/port" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
port=$(cat "$tmp/port")
run() { # label, extra env
	: > "$tmp/s"
	i=0
	while [ $i -lt 5 ]; do
		env -i PATH="$PATH" HOME="$tmp" ANTHROPIC_API_KEY=k ANTHROPIC_BASE_URL="https://localhost:$port" $2 \
			/usr/bin/time -f '%M %U %S %e' -o "$tmp/t" ./agent -p go > "$tmp/out" </dev/null || echo "run failed"
		cat "$tmp/t" >> "$tmp/s"; i=$((i+1))
	done
	echo "$1: $(stat -c %s "$tmp/out") bytes out; max RSS $(awk '{print $1}' "$tmp/s" | median) KB, CPU (user+sys) $(awk '{print ($2+$3)*1000}' "$tmp/s" | median) ms, wall $(awk '{print $4*1000}' "$tmp/s" | median) ms (medians of 5)"
}
run "1 MB over TLS, test CA only        " "SSL_CERT_FILE=$tmp/certs/ca.pem"
cat /etc/ssl/certs/ca-certificates.crt "$tmp/certs/ca.pem" > "$tmp/bundle.pem" 2>/dev/null &&
run "1 MB over TLS, system bundle + test CA" "SSL_CERT_FILE=$tmp/bundle.pem"
# The agent loop: 50 turns, each a Bash call printing ~20 KB, against the mock over plain HTTP
python3 - "$tmp/loop.json" <<'PY'
import json, sys
sys.path.insert(0, "test")
import mock_api as m
script = [{"events": m.tool_use_stream("toolu_%02d" % i, "Bash", {"command": "head -c 20000 /dev/zero | tr '\\0' x"})}
          for i in range(50)]
script.append({"text": "done"})
json.dump(script, open(sys.argv[1], "w"))
PY
python3 test/mock_api.py --script "$tmp/loop.json" --record "$tmp/loop.rec" --port-file "$tmp/lport" >/dev/null 2>&1 &
lmock=$!
n=0; while [ ! -s "$tmp/lport" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
mkdir -p "$tmp/work"; top=$(pwd)
(cd "$tmp/work" && env -i PATH="$PATH" HOME="$tmp" ANTHROPIC_API_KEY=k ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$tmp/lport")" \
	/usr/bin/time -f '%M %U %S %e' -o "$tmp/lt" "$top/agent" -p go --dangerously-skip-permissions >/dev/null 2>&1 </dev/null)
kill $lmock 2>/dev/null
python3 - "$tmp/loop.rec" "$tmp/lt" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
first = reqs[0]["body"]
sysb = len(json.dumps(first["system"], separators=(",", ":")).encode())
tools = len(json.dumps(first["tools"], separators=(",", ":")).encode())
last = int(reqs[-1]["headers"]["content-length"])
rss, u, s, e = open(sys.argv[2]).read().split()[-4:]
print("request weight (system + tools, every turn): %d bytes (system %d, tools %d); first body %s bytes"
      % (sysb + tools, sysb, tools, reqs[0]["headers"]["content-length"]))
print("50-turn session, 20 KB per tool result: %d requests, %d connection(s), last body %d bytes;"
      " max RSS %s KB, CPU %.0f ms, wall %.0f ms" % (len(reqs), len({r["conn"] for r in reqs}), last, rss,
      (float(u) + float(s)) * 1000, float(e) * 1000))
PY
# Instructions per streamed text delta (callgrind on the glibc debug build: the same code, stable counts), and
# per Bedrock delta: the same deltas as event-stream frames (CRCs, headers, base64 of the event), same reader.
# ir_of BIN N VAR SERVER...: the instructions of BIN -p go against SERVER (started with its port file as the
# last argument), reached through the variable VAR (ANTHROPIC_BASE_URL, or ANTHROPIC_BEDROCK_BASE_URL: Bedrock)
ir_of() {
	bin=$1 n=$2 var=$3; shift 3
	rm -f "$tmp/port"
	"$@" "$tmp/port" >/dev/null 2>&1 &
	srv=$!
	k=0; while [ ! -s "$tmp/port" ] && [ $k -lt 300 ]; do sleep 0.1; k=$((k+1)); done
	env -i PATH="$PATH" HOME="$tmp" ANTHROPIC_API_KEY=k CLAUDE_CODE_USE_BEDROCK=$([ "$var" = ANTHROPIC_BASE_URL ] && echo 0 || echo 1) \
		AWS_REGION=us-east-1 CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 "$var=http://127.0.0.1:$(cat "$tmp/port")" \
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" -p go >/dev/null 2>"$tmp/cgerr" </dev/null
	kill $srv 2>/dev/null
	grep -o 'Collected : [0-9]*' "$tmp/cgerr" | awk '{print $3}'
}
if command -v valgrind >/dev/null 2>&1 && make -s build/agent-dbg >/dev/null 2>&1; then
	for n in 1000 2000; do
		python3 -c "
import json
json.dump([{'text': 'x'*40*$n, 'pieces': ['word '*8]*$n}], open('$tmp/d$n.json','w'))"
	done
	for bin in build/agent-dbg ./agent; do
		a=$(ir_of $bin 1000 ANTHROPIC_BASE_URL python3 test/mock_api.py --script "$tmp/d1000.json" --port-file)
		b=$(ir_of $bin 2000 ANTHROPIC_BASE_URL python3 test/mock_api.py --script "$tmp/d2000.json" --port-file)
		c=$(ir_of $bin 1000 ANTHROPIC_BEDROCK_BASE_URL python3 test/bench_es.py 1000)
		d=$(ir_of $bin 2000 ANTHROPIC_BEDROCK_BASE_URL python3 test/bench_es.py 2000)
		echo "instructions per streamed text delta, $bin (callgrind, 2000 vs 1000 deltas of 40 bytes): SSE $(( (b - a) / 1000 )), Bedrock event-stream $(( (d - c) / 1000 )) ($(( (d - c) * 100 / (b - a) ))% of SSE's)"
	done
fi
