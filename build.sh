#!/bin/sh
# Installs what a build needs (musl-tools, libbearssl-dev, libjsmn-dev) when missing, then runs make.
# With "test" as an argument it also installs what `make test` uses (python3, openssl, curl) and runs it.
# With "cross" it also installs what `make cross` needs (cross compilers, musl and BearSSL for arm64 and armhf,
# qemu-user-static), unpacks musl and BearSSL for mipsel and s390x into build/cross/sysroot-ARCH, and runs
# `make cross`; with "test-cross" it then runs `make test-cross` as well (arguments after the mode go to that
# make: ./build.sh test-cross ARCH=aarch64 tests one board). Nothing cross is installed otherwise.
set -u
mode=${1:-}
need=""
command -v musl-gcc >/dev/null 2>&1 || need="$need musl-tools"
[ -f "/usr/lib/$(gcc -dumpmachine 2>/dev/null)/libbearssl.a" ] || need="$need libbearssl-dev"
[ -f /usr/include/jsmn.h ] || need="$need libjsmn-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
if [ "$mode" = test ] || [ "$mode" = test-cross ]; then
	command -v python3 >/dev/null 2>&1 || need="$need python3"
	command -v openssl >/dev/null 2>&1 || need="$need openssl"
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
case "$mode" in cross|test-cross) cross=1 ;; *) cross=0 ;; esac
# Cross packages: installed for arm64 and armhf; for mipsel and s390x (big-endian, portability checks) only
# downloaded and unpacked into build/cross/sysroot-ARCH, because installing them fails on dependencies.
fetch=""
update=0
if [ $cross = 1 ]; then
	for t in aarch64-linux-gnu arm-linux-gnueabihf mipsel-linux-gnu s390x-linux-gnu; do
		command -v $t-gcc >/dev/null 2>&1 || need="$need gcc-$t"
	done
	[ -f /usr/lib/aarch64-linux-musl/libc.a ] || need="$need musl-dev:arm64"
	[ -f /usr/lib/arm-linux-musleabihf/libc.a ] || need="$need musl-dev:armhf"
	[ -f /usr/lib/aarch64-linux-gnu/libbearssl.a ] || need="$need libbearssl-dev:arm64"
	[ -f /usr/lib/arm-linux-gnueabihf/libbearssl.a ] || need="$need libbearssl-dev:armhf"
	command -v qemu-mipsel-static >/dev/null 2>&1 || need="$need qemu-user-static"
	want=""                             # ARCH=... after the mode: only that board's sysroot is fetched
	for a in "$@"; do case $a in ARCH=*) want=${a#ARCH=} ;; esac; done
	for a in mipsel s390x; do
		[ -z "$want" ] || [ "$want" = $a ] || continue
		[ -f build/cross/sysroot-$a/usr/lib/$a-linux-musl/libc.a ] &&
		[ -f build/cross/sysroot-$a/usr/lib/$a-linux-gnu/libbearssl.a ] || fetch="$fetch $a"
	done
	for a in arm64 armhf $fetch; do
		dpkg --print-foreign-architectures | grep -qx $a && continue
		echo "build.sh: dpkg --add-architecture $a"
		$sudo dpkg --add-architecture $a || exit 1
		update=1
	done
fi
[ -n "$need" ] && update=1
if [ $update = 1 ]; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "build.sh: no apt-get here; install these packages (or their equivalents) by hand:$need" >&2
		exit 1
	fi
	# A failed index update (a foreign architecture's list, a flaky mirror) is not fatal; a failed install is.
	$sudo apt-get update -qq >/dev/null 2>&1 || echo "build.sh: apt-get update failed; trying anyway" >&2
fi
if [ -n "$need" ]; then
	echo "build.sh: installing:$need"
	log=${TMPDIR:-/tmp}/build.sh.$$
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need > "$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "build.sh: could not install:$need; install them by hand and run make" >&2
		exit 1
	fi
	rm -f "$log"
fi
opt=""
[ "$(id -u)" = 0 ] && opt="-o APT::Sandbox::User=root" # as root, apt would warn that _apt cannot write here
for a in $fetch; do
	echo "build.sh: unpacking musl-dev:$a and libbearssl-dev:$a into build/cross/sysroot-$a"
	d=build/cross/debs-$a
	rm -rf "$d" build/cross/sysroot-$a build/cross/$a.specs && mkdir -p "$d" || exit 1
	# a stale index names versions the mirror no longer has: update it once and try again
	if ! (cd "$d" && apt-get download -qq $opt musl-dev:$a libbearssl-dev:$a 2>/dev/null) &&
	   ! { $sudo apt-get update -qq >/dev/null 2>&1; (cd "$d" && apt-get download -qq $opt musl-dev:$a libbearssl-dev:$a); }; then
		echo "build.sh: could not download musl-dev:$a libbearssl-dev:$a" >&2
		exit 1
	fi
	for f in "$d"/*.deb; do dpkg -x "$f" build/cross/sysroot-$a || exit 1; done
	rm -rf "$d"
done
make || exit 1
[ $# -gt 0 ] && shift                     # what follows the mode goes to make: ./build.sh test-cross ARCH=aarch64
case "$mode" in
test) make test ;;
cross) make cross "$@" ;;
test-cross) make test-cross "$@" ;;
esac
