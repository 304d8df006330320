#!/bin/sh
# Debian's source packages of musl and BearSSL, at the versions installed for this host, unpacked with Debian's
# patches into build/cross/src/musl-VERSION and build/cross/src/bearssl-VERSION (once). They come through a
# deb-src line of this machine's own Debian mirror in a private apt directory (build/cross/apt): nothing on
# the system changes and nothing is fetched from anywhere else. Used by `./build.sh cross` (musl and BearSSL
# for mips and riscv64) and `make openwrt-feed` (BearSSL's sources in the feed). Prints the two directories.
set -u
cd "$(dirname "$0")/.." || exit 1
s=build/cross/src
h=$(dpkg --print-architecture)
mv=$(dpkg-query -W -f='${Version}' musl-dev:$h 2>/dev/null)
bv=$(dpkg-query -W -f='${Version}' libbearssl-dev:$h 2>/dev/null)
[ -n "$mv" ] && [ -n "$bv" ] || { echo "debsrc.sh: musl-dev or libbearssl-dev is not installed: run ./build.sh" >&2; exit 1; }
if [ ! -d $s/musl-$mv ] || [ ! -d $s/bearssl-$bv ]; then
	command -v dpkg-source >/dev/null 2>&1 || { echo "debsrc.sh: dpkg-source is missing: apt-get install dpkg-dev" >&2; exit 1; }
	d=$(pwd)/build/cross/apt
	opt=""
	[ "$(id -u)" = 0 ] && opt="-o APT::Sandbox::User=root"
	uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	suite=$(sed -n 's/^Suites: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[ -n "$suite" ] || suite=$(awk '$1 == "deb" { print $3; exit }' /etc/apt/sources.list 2>/dev/null)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" $s || exit 1
	echo "deb-src ${uri:-http://deb.debian.org/debian} ${suite:-bookworm} main" > "$d/sources.list"
	ao="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$d/lists"
	ao="$ao -o Dir::Cache=$d/cache $opt"
	echo "debsrc.sh: apt-get source musl=$mv bearssl=$bv (deb-src ${uri:-http://deb.debian.org/debian} ${suite:-bookworm})" >&2
	apt-get $ao update -qq >/dev/null 2>&1 || { echo "debsrc.sh: cannot read the deb-src index" >&2; exit 1; }
	(cd $s && apt-get $ao source --download-only -qq musl=$mv bearssl=$bv >/dev/null) ||
		{ echo "debsrc.sh: could not download the sources of musl $mv and bearssl $bv" >&2; exit 1; }
	rm -rf $s/musl-$mv $s/bearssl-$bv
	dpkg-source -q -x $s/musl_$mv.dsc $s/musl-$mv >/dev/null && dpkg-source -q -x $s/bearssl_$bv.dsc $s/bearssl-$bv >/dev/null ||
		{ echo "debsrc.sh: could not unpack the sources" >&2; exit 1; }
fi
echo "$s/musl-$mv"
echo "$s/bearssl-$bv"
