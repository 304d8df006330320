#!/bin/sh
# Installs what a build needs (musl-tools, libbearssl-dev, libjsmn-dev) when missing, then runs make.
# With "test" as an argument it also installs what `make test` uses (python3, openssl, curl) and runs it.
set -u
need=""
command -v musl-gcc >/dev/null 2>&1 || need="$need musl-tools"
ls /usr/lib/*/libbearssl.a >/dev/null 2>&1 || need="$need libbearssl-dev"
[ -f /usr/include/jsmn.h ] || need="$need libjsmn-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
if [ "${1:-}" = test ]; then
	command -v python3 >/dev/null 2>&1 || need="$need python3"
	command -v openssl >/dev/null 2>&1 || need="$need openssl"
fi
if [ -n "$need" ]; then
	echo "build.sh: installing:$need"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "build.sh: no apt-get here; install these packages (or their equivalents) by hand:$need" >&2
		exit 1
	fi
	# A failed index update (a foreign architecture's list, a flaky mirror) is not fatal; a failed install is.
	$sudo apt-get update -qq || echo "build.sh: apt-get update failed; trying the install anyway" >&2
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need; then
		echo "build.sh: could not install:$need; install them by hand and run make" >&2
		exit 1
	fi
fi
make || exit 1
if [ "${1:-}" = test ]; then
	make test
fi
