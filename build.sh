#!/bin/sh
# Installs what a build needs (musl-tools, libbearssl-dev, libjsmn-dev) when missing, then runs make.
# With "test" as an argument it also installs what `make test` uses (python3, openssl, curl) and runs it.
# With "cross" it also installs what `make cross` needs (cross compilers, musl and BearSSL for arm64 and armhf,
# qemu-user-static), unpacks musl and BearSSL for mipsel, armel and s390x into build/cross/sysroot-ARCH, builds
# them for big-endian mips and riscv64 (which Debian does not ship them for) from Debian's own source packages of
# the very versions installed for the host, and runs `make cross`; with "test-cross" it then runs `make test-cross` as well (arguments after the mode go to that
# make: ./build.sh test-cross ARCH=aarch64 tests one board). Nothing cross is installed otherwise.
set -u
mode=${1:-}
need=""
command -v musl-gcc >/dev/null 2>&1 || need="$need musl-tools"
[ -f "/usr/lib/$(gcc -dumpmachine 2>/dev/null)/libbearssl.a" ] || need="$need libbearssl-dev"
[ -f /usr/include/jsmn.h ] || need="$need libjsmn-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v gzip >/dev/null 2>&1 || need="$need gzip"     # packs the texts into build/data.h
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
	for t in aarch64-linux-gnu arm-linux-gnueabihf arm-linux-gnueabi mipsel-linux-gnu mips-linux-gnu riscv64-linux-gnu \
	         s390x-linux-gnu; do
		command -v $t-gcc >/dev/null 2>&1 || need="$need gcc-$t"
	done
	command -v dpkg-source >/dev/null 2>&1 || need="$need dpkg-dev"
	[ -f /usr/lib/aarch64-linux-musl/libc.a ] || need="$need musl-dev:arm64"
	[ -f /usr/lib/arm-linux-musleabihf/libc.a ] || need="$need musl-dev:armhf"
	[ -f /usr/lib/aarch64-linux-gnu/libbearssl.a ] || need="$need libbearssl-dev:arm64"
	[ -f /usr/lib/arm-linux-gnueabihf/libbearssl.a ] || need="$need libbearssl-dev:armhf"
	command -v qemu-mipsel-static >/dev/null 2>&1 || need="$need qemu-user-static"
	want=""                             # ARCH=... after the mode: only that board's sysroot is fetched
	for a in "$@"; do case $a in ARCH=*) want=${a#ARCH=} ;; esac; done
	for a in mipsel s390x armel; do
		[ -z "$want" ] || [ "$want" = $a ] || continue
		t=$a-linux; [ $a = armel ] && t=arm-linux
		[ -f build/cross/sysroot-$a/usr/lib/$t-musl$([ $a = armel ] && echo eabi)/libc.a ] &&
		[ -f build/cross/sysroot-$a/usr/lib/$t-gnu$([ $a = armel ] && echo eabi)/libbearssl.a ] || fetch="$fetch $a"
	done
	build_src=""                        # no Debian musl or BearSSL for these: built from Debian's sources
	for a in mips riscv64; do
		[ -z "$want" ] || [ "$want" = $a ] || continue
		[ -f build/cross/sysroot-$a/usr/lib/$a-linux-musl/libc.a ] &&
		[ -f build/cross/sysroot-$a/usr/lib/$a-linux-gnu/libbearssl.a ] || build_src="$build_src $a"
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
# musl and BearSSL for a board Debian has no packages of, from Debian's source packages (fetched through a
# deb-src line of this machine's own mirror, in a private apt directory: nothing else on the system changes),
# at the versions installed for the host, with Debian's patches applied; installed into build/cross/sysroot-ARCH
# in the layout of Debian's packages for the other boards.
src_build() { # arch
	a=$1; t=$a-linux-gnu; m=$a-linux-musl; root=$(pwd)/build/cross/sysroot-$a; s=build/cross/src
	h=$(dpkg --print-architecture)
	mv=$(dpkg-query -W -f='${Version}' musl-dev:$h 2>/dev/null); bv=$(dpkg-query -W -f='${Version}' libbearssl-dev:$h 2>/dev/null)
	sh test/debsrc.sh >/dev/null || return 1
	echo "build.sh: building musl $mv and BearSSL $bv for $a into build/cross/sysroot-$a"
	o=build/cross/obj-musl-$a
	rm -rf $o "$root" && mkdir -p $o || return 1
	(cd $o && ../../../$s/musl-$mv/configure --target=$t CROSS_COMPILE=$t- CFLAGS="-Os -ffunction-sections -fdata-sections" \
		--prefix=/usr --libdir=/usr/lib/$m --includedir=/usr/include/$m --syslibdir=/lib --disable-shared >/dev/null &&
		make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null && make install DESTDIR="$root" >/dev/null) ||
		{ echo "build.sh: musl did not build for $a" >&2; return 1; }
	[ -f "$root/usr/lib/$m/musl-gcc.specs" ] || { echo "build.sh: musl installed no musl-gcc.specs for $a" >&2; return 1; }
	(cd $s/bearssl-$bv && make -j"$(nproc 2>/dev/null || echo 2)" BUILD=../../obj-bearssl-$a CC=$t-gcc AR=$t-ar LD=$t-gcc \
		CFLAGS="-W -Wall -Os -ffunction-sections -fdata-sections" DLL=no TOOLS=no TESTS=no lib >/dev/null) ||
		{ echo "build.sh: BearSSL did not build for $a" >&2; return 1; }
	mkdir -p "$root/usr/lib/$t" "$root/usr/include/bearssl" &&
		cp build/cross/obj-bearssl-$a/libbearssl.a "$root/usr/lib/$t/" && cp $s/bearssl-$bv/inc/*.h "$root/usr/include/bearssl/" &&
		rm -rf $o build/cross/obj-bearssl-$a build/cross/$a.specs
}
for a in ${build_src:-}; do
	src_build $a || exit 1
done
make || exit 1
[ $# -gt 0 ] && shift                     # what follows the mode goes to make: ./build.sh test-cross ARCH=aarch64
case "$mode" in
test) make test ;;
cross) make cross "$@" ;;
test-cross) make test-cross "$@" ;;
esac
