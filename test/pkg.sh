#!/bin/sh
# Packages, the way each ecosystem installs things (make ipk, make openwrt-feed, make dist):
#   sh test/pkg.sh ipk ARCH [OUTDIR]     OpenWrt's .ipk of build/cross/agent-ARCH (./agent for x86_64)
#   sh test/pkg.sh feed [OUTDIR]         an OpenWrt feed (package definition and sources) for own images
#   sh test/pkg.sh dist OUTDIR ARCH...   release binaries, SHA256SUMS, the FROM scratch Dockerfile, install.txt
# Everything is written under build/ (or OUTDIR); nothing is downloaded.
set -eu
cd "$(dirname "$0")/.."
version=$(sed -n 's/^#define AG_VERSION "\(.*\)"$/\1/p' agent.c)
[ -n "$version" ] || { echo "pkg.sh: no AG_VERSION in agent.c" >&2; exit 1; }

bin_of() { # arch -> the binary
	case $1 in x86_64|host) echo agent ;; *) echo "build/cross/agent-$1" ;; esac
}

# OpenWrt's architecture names (opkg's "Architecture:"), one per board we build
owrt_arch() {
	case $1 in
	x86_64|host) echo x86_64 ;;
	aarch64) echo aarch64_generic ;;
	armhf) echo arm_cortex-a7_neon-vfpv4 ;;
	armel) echo arm_arm926ej-s ;;
	mipsel) echo mipsel_24kc ;;
	mips) echo mips_24kc ;;
	riscv64) echo riscv64_riscv64 ;;
	*) return 1 ;;
	esac
}

# A tar.gz with entries ./name, owned by root, mtime of the source tree (reproducible)
tgz() { # out dir
	tar --numeric-owner --owner=0 --group=0 --mtime="@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}" \
		--sort=name -C "$2" -czf "$1" .
}

ipk() { # arch [outdir]
	a=$1; out=${2:-build/dist}
	oa=$(owrt_arch "$a") || { echo "pkg.sh: no OpenWrt architecture for '$a' (aarch64 armhf armel mipsel mips riscv64 x86_64)" >&2; exit 2; }
	b=$(bin_of "$a")
	[ -x "$b" ] || { echo "pkg.sh: $b is missing: make ARCH=$a first" >&2; exit 1; }
	w=$(mktemp -d "${TMPDIR:-/tmp}/agent-ipk.XXXXXX")
	trap 'rm -rf "$w"' EXIT
	mkdir -p "$w/data/usr/bin" "$w/control" "$w/pkg" "$out"
	install -m 0755 "$b" "$w/data/usr/bin/agent"
	size=$(stat -c %s "$b")
	cat > "$w/control/control" <<EOF
Package: agent
Version: $version-1
Depends:
Source: agent
SourceName: agent
Section: utils
Architecture: $oa
Installed-Size: $size
Description: A coding agent in one static binary: the Anthropic Messages API over TLS, Claude Code's
 tools, flags and configuration files, for routers and boards with 32-512 MB of RAM.
EOF
	printf '2.0\n' > "$w/pkg/debian-binary"
	tgz "$w/pkg/control.tar.gz" "$w/control"
	tgz "$w/pkg/data.tar.gz" "$w/data"
	f="$out/agent_${version}-1_$oa.ipk"
	# OpenWrt's ipkg-build: a gzip'd tar of debian-binary, data.tar.gz and control.tar.gz (opkg also reads ar)
	tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$w/pkg" -czf "$f" ./debian-binary ./data.tar.gz ./control.tar.gz
	echo "$f"
}

feed() { # [outdir]: OUT/agent/Makefile and OUT/agent/src (agent.c, data.h, jsmn.h, BearSSL's sources)
	out=${1:-build/openwrt-feed}
	p="$out/agent"
	bs=$(sh test/debsrc.sh | tail -n 1) || exit 1        # Debian's BearSSL sources, as the cross builds use
	[ -f build/data.h ] || { echo "pkg.sh: build/data.h is missing: run make" >&2; exit 1; }
	rm -rf "$p" && mkdir -p "$p/src/bearssl"
	cp agent.c build/data.h /usr/include/jsmn.h "$p/src/"
	cp -R "$bs/inc" "$bs/src" "$p/src/bearssl/"
	cp "$bs/LICENSE.txt" "$p/src/bearssl/"
	# the flags of the Makefile's static build, with OpenWrt's own cross compiler and musl
	cat > "$p/Makefile" <<EOF
# agent for OpenWrt: one static binary, no dependency (libc is OpenWrt's musl, linked in; BearSSL and
# jsmn come with the sources in src/). Put this directory in a feed (src-link in feeds.conf) or in package/.
include \$(TOPDIR)/rules.mk

PKG_NAME:=agent
PKG_VERSION:=$version
PKG_RELEASE:=1
PKG_BUILD_DIR:=\$(BUILD_DIR)/\$(PKG_NAME)-\$(PKG_VERSION)

include \$(INCLUDE_DIR)/package.mk

define Package/agent
  SECTION:=utils
  CATEGORY:=Utilities
  TITLE:=A coding agent in one static binary (Claude Code's tools and configuration)
  DEPENDS:=
endef

define Package/agent/description
  Talks to the Anthropic Messages API over TLS, streams the answer, and runs Claude Code's tools
  (Bash, Read, Write, Edit, Glob, Grep, TodoWrite, WebFetch, Task, MCP) with the same flags and files.
endef

AGENT_CFLAGS:=-Oz -fipa-pta -fno-tree-switch-conversion -std=gnu11 -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \\
  -fomit-frame-pointer -fno-stack-protector -DAG_HAVE_DATA -DAG_BUILD_EPOCH=$(date +%s)LL
# no unwind tables (the /DISCARD/ agent's own Makefile adds to ld's script)
AGENT_LDFLAGS:=-static -no-pie -s -Wl,--gc-sections -Wl,-z,norelro -Wl,-z,noseparate-code -Wl,--build-id=none \\
  -Wl,-z,common-page-size=64 -Wl,-T,\$(PKG_BUILD_DIR)/noeh.ld

define Build/Prepare
	mkdir -p \$(PKG_BUILD_DIR)
	\$(CP) ./src/* \$(PKG_BUILD_DIR)/
endef

define Build/Compile
	cd \$(PKG_BUILD_DIR)/bearssl && for f in src/*/*.c src/*.c; do \\
	  [ -f "\$\$\$\$f" ] || continue; \\
	  \$(TARGET_CC) \$(TARGET_CFLAGS) -Os -ffunction-sections -fdata-sections -Isrc -Iinc -c "\$\$\$\$f" \\
	    -o "\$\$\$\$(echo \$\$\$\$f | tr / _).o" || exit 1; done && \$(TARGET_AR) rcs libbearssl.a *.o
	printf 'SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\\n' > \$(PKG_BUILD_DIR)/noeh.ld
	\$(TARGET_CC) \$(TARGET_CFLAGS) \$(AGENT_CFLAGS) -I\$(PKG_BUILD_DIR) -I\$(PKG_BUILD_DIR)/bearssl/inc \\
	  \$(PKG_BUILD_DIR)/agent.c \$(PKG_BUILD_DIR)/bearssl/libbearssl.a -o \$(PKG_BUILD_DIR)/agent \$(AGENT_LDFLAGS)
endef

define Package/agent/install
	\$(INSTALL_DIR) \$(1)/usr/bin
	\$(INSTALL_BIN) \$(PKG_BUILD_DIR)/agent \$(1)/usr/bin/agent
endef

\$(eval \$(call BuildPackage,agent))
EOF
	echo "$p/Makefile"
}

dist() { # outdir arch...
	out=$1; shift
	base=${DIST_URL:-https://github.com/OWNER/agent/releases/download/v$version}
	mkdir -p "$out"
	: > "$out/SHA256SUMS.tmp"
	for a; do
		b=$(bin_of "$a")
		[ -x "$b" ] || { echo "pkg.sh: $b is missing: make cross (or make ARCH=$a)" >&2; exit 1; }
		n=agent-$version-$a
		cp "$b" "$out/$n"
		(cd "$out" && sha256sum "$n") >> "$out/SHA256SUMS.tmp"
	done
	mv "$out/SHA256SUMS.tmp" "$out/SHA256SUMS"
	# the image holds the binary and nothing else: the trust anchors are compiled in
	cat > "$out/Dockerfile" <<EOF
FROM scratch
COPY agent-$version-x86_64 /agent
ENV HOME=/ XDG_STATE_HOME=/state XDG_CONFIG_HOME=/config
ENTRYPOINT ["/agent"]
EOF
	cat > "$out/install.txt" <<EOF
curl -fsSLo agent $base/agent-$version-ARCH && chmod +x agent
# verify (BusyBox has sha256sum -c): curl -fsSLO $base/SHA256SUMS &&
#   grep " agent-$version-ARCH\$" SHA256SUMS | sed 's/agent-$version-ARCH/agent/' | sha256sum -c
EOF
	echo "$out: $# binaries, SHA256SUMS, Dockerfile, install.txt"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
ipk) [ $# -ge 1 ] || { echo "usage: pkg.sh ipk ARCH [OUTDIR]" >&2; exit 2; }; ipk "$@" ;;
feed) feed "$@" ;;
dist) [ $# -ge 2 ] || { echo "usage: pkg.sh dist OUTDIR ARCH..." >&2; exit 2; }; dist "$@" ;;
*) echo "usage: pkg.sh ipk ARCH [OUTDIR] | feed [OUTDIR] | dist OUTDIR ARCH..." >&2; exit 2 ;;
esac
