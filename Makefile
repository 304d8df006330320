# agent: one static binary from agent.c, musl, BearSSL and jsmn. `./build.sh` installs what is missing.
# Targets: all (static, stripped, size printed), test, asan, valgrind, fuzz, bench, toc, clean, readme,
# ipk, openwrt-feed, dist, cross and test-cross (see "Cross builds" below; `./build.sh cross` installs what they need).

MUSL_CC   ?= musl-gcc
HOST_CC   ?= gcc
TRIPLET   ?= $(shell $(HOST_CC) -dumpmachine 2>/dev/null | sed 's/-pc-/-/;s/-unknown-/-/')
BEARSSL_A ?= /usr/lib/$(TRIPLET)/libbearssl.a
# Certificates are never checked before the build date (boards without a clock boot in 1970).
BUILD_EPOCH ?= $(or $(SOURCE_DATE_EPOCH),$(shell date +%s))

WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
# -Oz: 3.8 KB smaller than -Os on x86_64 for +0.3% instructions on a 20,000-delta stream (callgrind)
CFLAGS  ?= -Oz
# -fomit-frame-pointer: Debian's aarch64 gcc keeps frame pointers at -Oz; without them, 1.4 KB less there
# -fipa-pta -fno-tree-switch-conversion: 1.0 KB less on x86_64 and aarch64 (switches as compares, not tables)
CFLAGS  += -fipa-pta -fno-tree-switch-conversion
CFLAGS  += -std=gnu11 $(WARN) -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
           -fomit-frame-pointer -fno-stack-protector -DAG_HAVE_DATA -DAG_BUILD_EPOCH=$(BUILD_EPOCH)LL
INC      = -Ibuild -Ibuild/include -I/usr/include/bearssl
LDFLAGS += -static -no-pie -s -Wl,--gc-sections -Wl,-z,norelro -Wl,-z,noseparate-code -Wl,--hash-style=gnu -Wl,--build-id=none
# No C++ exceptions or backtraces here: the unwind tables BearSSL and musl carry are dropped at link time
# (build/noeh.ld adds a /DISCARD/ to ld's own script). Removed after the link instead, they left their room as
# a hole in the file before the data segment: 8.4 KB of zeros on aarch64 with its 16 KB pages.
LDFLAGS += -Wl,-T,build/noeh.ld
# The data segment goes on in the file where the code ends (common-page-size=64): with ld's default of a whole
# page it started on a fresh page of the file, up to 4 KB of zeros (2.1 KB on x86_64 here) that change with
# every edit. The kernel maps it the same way: that page of the file is mapped twice, once writable.
LDFLAGS += -Wl,-z,common-page-size=64

# The sanitizer build: glibc, dynamic, same agent.c (sanitizers and valgrind do not run on static musl).
DBG_CFLAGS = -std=gnu11 $(WARN) -g -O1 -DAG_HAVE_DATA -DAG_BUILD_EPOCH=$(BUILD_EPOCH)LL
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Cross builds: the same flags with a cross gcc pointed at Debian's musl for that architecture (its
# musl-gcc.specs) and Debian's BearSSL for it. aarch64 and armhf come from installed multiarch packages;
# mipsel and s390x (big-endian, for portability checks only) from .debs unpacked into build/cross/sysroot-ARCH,
# since installing them fails on dependencies. `./build.sh cross` sets all of this up.
# armel: Debian's musl and BearSSL for ARMv5TE soft-float EABI, unpacked the same way. mips (big-endian) and
# riscv64: Debian ships neither, so `./build.sh cross` builds both from Debian's own source packages into
# build/cross/sysroot-ARCH.
CROSS_ARCHS ?= aarch64 armhf armel mipsel mips riscv64
XARCHS       = aarch64 armhf armel mipsel mips riscv64 s390x
X_TRIPLET_aarch64 = aarch64-linux-gnu
X_TRIPLET_armhf   = arm-linux-gnueabihf
X_TRIPLET_armel   = arm-linux-gnueabi
X_TRIPLET_mipsel  = mipsel-linux-gnu
X_TRIPLET_mips    = mips-linux-gnu
X_TRIPLET_riscv64 = riscv64-linux-gnu
X_TRIPLET_s390x   = s390x-linux-gnu
X_MUSL_aarch64    = aarch64-linux-musl
X_MUSL_armhf      = arm-linux-musleabihf
X_MUSL_armel      = arm-linux-musleabi
X_MUSL_mipsel     = mipsel-linux-musl
X_MUSL_mips       = mips-linux-musl
X_MUSL_riscv64    = riscv64-linux-musl
X_MUSL_s390x      = s390x-linux-musl
X_ROOT_armel      = build/cross/sysroot-armel
X_ROOT_mipsel     = build/cross/sysroot-mipsel
X_ROOT_mips       = build/cross/sysroot-mips
X_ROOT_riscv64    = build/cross/sysroot-riscv64
X_ROOT_s390x      = build/cross/sysroot-s390x
X_WARN            = -Wformat=2 -Wcast-align=strict -Wpointer-arith -Wstrict-aliasing=2
# The data segment starts on a new page in the file too: the toolchains' default 64 KB "pages" for aarch64
# and mips pad the binary by up to 60 KB. 16 KB suits 4 KB and 16 KB page kernels (the Pi 5 uses 16 KB).
# mipsel: agent.c as MIPS16e (musl and BearSSL stay MIPS32; calls between them interlink): 399 -> 354 KB;
# -mplt: direct calls instead of loads from the GOT, as suits a static executable: 13 KB less again.
X_CF_mipsel       = -mips16 -minterlink-compressed -mplt
# mips (big-endian: ath79, lantiq): the same MIPS16e code, tuned for the 24Kc (MIPS32r2, as Debian's default)
X_CF_mips         = -mips16 -minterlink-compressed -mplt -mtune=24kc
# armel: ARMv5TE (no VFP or NEON), agent.c as Thumb-1 (ARMv5TE and ARMv6 have it; Thumb-2 is ARMv6T2 on), musl and
# BearSSL in ARM state, interworking: runs on ARMv5 (Kirkwood) and ARMv6 (Pi Zero, Pi 1). 320 -> 271 KB.
X_CF_armel        = -march=armv5te -mthumb -mthumb-interwork
X_LD_aarch64      = -Wl,-z,max-page-size=16384 -Wl,-z,common-page-size=64
X_LD_mipsel       = -Wl,-z,max-page-size=4096
X_LD_mips         = -Wl,-z,max-page-size=4096
X_LD_armel        =
X_LD_riscv64      = -Wl,-z,max-page-size=4096
X_LD_armhf        =
X_LD_s390x        =

UNIT = $(patsubst test/%.c,build/%,$(wildcard test/t_*.c))

.PHONY: all test asan valgrind fuzz bench toc toc-check readme ipk openwrt-feed dist clean cross test-cross cross-warn
# `make ARCH=aarch64` builds build/cross/agent-aarch64 instead of ./agent (ARCH only from the command line, so
# a stray ARCH in the environment never changes the host build).
ifeq ($(origin ARCH),command line)
ifneq ($(filter-out x86_64 amd64 host,$(ARCH)),)
ifeq ($(filter $(ARCH),$(XARCHS)),)
$(error ARCH=$(ARCH): not one of $(XARCHS))
endif
CROSS_ARCHS := $(ARCH)
X_ONE        = build/cross/agent-$(ARCH)
endif
endif
all: $(or $(X_ONE),agent)

build/include/jsmn.h:
	@mkdir -p build/include
	@test -f /usr/include/jsmn.h || { echo "jsmn.h not found: install libjsmn-dev (./build.sh does)"; exit 1; }
	ln -sf /usr/include/jsmn.h $@

# build/data.h: certs/*.pem as C trust anchors (the fallback roots) and agent.c's long texts (PROSE) packed by
# gzip -9n, by agent.c itself built as a generator for this host (it checks that the texts inflate back whole).
build/gen: agent.c build/include/jsmn.h
	@mkdir -p build
	$(MUSL_CC) -Os -std=gnu11 $(WARN) -DAG_GEN $(INC) agent.c $(BEARSSL_A) -o $@ -static
build/data.h: build/gen $(wildcard certs/*.pem)
	build/gen prose | gzip -9n > build/prose.gz && build/gen data build/prose.gz certs/*.pem > $@.tmp && \
	  mv -f $@.tmp $@ || { rm -f $@.tmp; exit 1; }

build/noeh.ld: Makefile
	@mkdir -p build
	@printf 'SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n' > $@

agent: agent.c build/data.h build/include/jsmn.h build/noeh.ld Makefile
	@test -f $(BEARSSL_A) || { echo "$(BEARSSL_A) not found: install libbearssl-dev (./build.sh does)"; exit 1; }
	@# built under a private name and renamed: two builds at once never leave a half-written binary
	$(MUSL_CC) $(CFLAGS) $(INC) agent.c $(BEARSSL_A) -o $@.$$$$.tmp $(LDFLAGS) && \
	  mv -f $@.$$$$.tmp $@ || { rm -f $@.$$$$.tmp; exit 1; }
	@echo "agent: $$(stat -c %s $@) bytes, static, stripped"

# The musl specs with the sysroot's paths (the installed ones unchanged when there is no sysroot).
build/cross/%.specs:
	@mkdir -p build/cross
	@f=$(X_ROOT_$*)/usr/lib/$(X_MUSL_$*)/musl-gcc.specs; \
	  test -f $$f || { echo "$$f not found: run ./build.sh cross"; exit 1; }; \
	  sed 's|\([ L]\)/usr/|\1$(abspath $(X_ROOT_$*))/usr/|g' $$f > $@

$(XARCHS:%=build/cross/agent-%): build/cross/agent-%: agent.c build/data.h build/include/jsmn.h build/cross/%.specs build/noeh.ld Makefile
	@command -v $(X_TRIPLET_$*)-gcc >/dev/null || { echo "$(X_TRIPLET_$*)-gcc not found: run ./build.sh cross"; exit 1; }
	@test -f $(X_ROOT_$*)/usr/lib/$(X_TRIPLET_$*)/libbearssl.a || \
	  { echo "$(X_ROOT_$*)/usr/lib/$(X_TRIPLET_$*)/libbearssl.a not found: run ./build.sh cross"; exit 1; }
	$(X_TRIPLET_$*)-gcc -specs build/cross/$*.specs $(CFLAGS) $(X_CF_$*) -Ibuild -Ibuild/include -I$(X_ROOT_$*)/usr/include/bearssl \
	  agent.c $(X_ROOT_$*)/usr/lib/$(X_TRIPLET_$*)/libbearssl.a -o $@ $(LDFLAGS) $(X_LD_$*)
	@echo "agent-$*: $$(stat -c %s $@) bytes, static, stripped"

cross: $(CROSS_ARCHS:%=build/cross/agent-%)

# Not part of `make test`: the self-test and the end-to-end suites of each cross binary under qemu-user.
test-cross: cross
	@sh test/cross.sh $(CROSS_ARCHS)

# Portability warnings: each architecture compiled (not linked) with extra format and alignment checks.
cross-warn: $(CROSS_ARCHS:%=cross-warn-%)
cross-warn-%: build/data.h build/include/jsmn.h build/cross/%.specs
	@echo "cross-warn: $*"
	@$(X_TRIPLET_$*)-gcc -specs build/cross/$*.specs $(CFLAGS) $(X_WARN) -Ibuild -Ibuild/include \
	  -I$(X_ROOT_$*)/usr/include/bearssl -c agent.c -o /dev/null

build/agent-asan: agent.c build/data.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -Ibuild -I/usr/include/bearssl agent.c $(BEARSSL_A) -o $@

build/agent-dbg: agent.c build/data.h
	$(HOST_CC) $(DBG_CFLAGS) -Ibuild -I/usr/include/bearssl agent.c $(BEARSSL_A) -o $@

build/t_%: test/t_%.c test/t_util.h agent.c build/data.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -Ibuild -I/usr/include/bearssl $< $(BEARSSL_A) -o $@

build/t_small_%: test/t_%.c test/t_util.h agent.c build/data.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -DAG_SSE_EVENT_MAX=96 -DAG_JSON_TOKENS=16 -DAG_HTTP_RBUF=16 \
	  -Ibuild -I/usr/include/bearssl $< $(BEARSSL_A) -o $@

asan: build/agent-asan

# What `make test` runs, built side by side first (one compiler per core: half the wait of one at a time).
TEST_BUILDS = agent build/agent-asan build/agent-dbg $(UNIT) build/t_small_sse build/t_small_http
TEST_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
test: toc-check
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) $(TEST_BUILDS)
	@sh test/run.sh

valgrind: agent build/agent-dbg
	@sh test/run.sh --valgrind

# Each libFuzzer harness for up to FUZZ_RUNS executions or FUZZ_SECS seconds (`make test` runs a short pass).
FUZZ_RUNS ?= 10000000
FUZZ_SECS ?= 3600
fuzz: build/data.h
	@sh test/fuzz.sh --runs $(FUZZ_RUNS) --jobs 2 $(FUZZ_SECS)

bench: agent
	@sh test/bench.sh

toc:
	@sh test/toc.sh --write agent.c

toc-check:
	@sh test/toc.sh --check agent.c

# Packages (test/pkg.sh): `make ipk ARCH=mips` -> build/dist/agent_VERSION-1_mips_24kc.ipk (no ARCH: x86_64);
# `make openwrt-feed` -> build/openwrt-feed/agent (a package definition for OpenWrt's build system); `make dist`
# -> build/dist/agent-VERSION-ARCH for every board built, SHA256SUMS, the FROM scratch Dockerfile, install.txt.
ipk: $(or $(X_ONE),agent)
	@sh test/pkg.sh ipk $(or $(filter-out host amd64,$(ARCH)),x86_64)
openwrt-feed: build/data.h
	@sh test/pkg.sh feed
dist: agent cross
	@sh test/pkg.sh dist build/dist x86_64 $(CROSS_ARCHS)

# README's board table from the binaries' sizes and the last test runs (test/readme.py)
readme:
	@python3 test/readme.py --write

clean:
	rm -rf build agent

# The official MCP conformance suite against agent, client mode (test/conformance.sh: node 22 and the suite come
# from the npm registry into build/node22 and build/conformance; one TAP line per scenario)
conformance: agent
	@sh test/conformance.sh
.PHONY: conformance
