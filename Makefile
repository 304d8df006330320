# agent: one static binary from agent.c, musl, BearSSL and jsmn. `./build.sh` installs what is missing.
# Targets: all (static, stripped, size printed), test, asan, valgrind, fuzz, bench, toc, clean.

MUSL_CC   ?= musl-gcc
HOST_CC   ?= gcc
TRIPLET   ?= $(shell $(HOST_CC) -dumpmachine 2>/dev/null | sed 's/-pc-/-/;s/-unknown-/-/')
BEARSSL_A ?= /usr/lib/$(TRIPLET)/libbearssl.a
# Certificates are never checked before the build date (boards without a clock boot in 1970).
BUILD_EPOCH ?= $(or $(SOURCE_DATE_EPOCH),$(shell date +%s))

WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS  ?= -Os
CFLAGS  += -std=gnu11 $(WARN) -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
           -fno-stack-protector -DAG_HAVE_ROOTS -DAG_BUILD_EPOCH=$(BUILD_EPOCH)LL
INC      = -Ibuild -Ibuild/include -I/usr/include/bearssl
LDFLAGS += -static -s -Wl,--gc-sections -Wl,-z,norelro -Wl,-z,noseparate-code -Wl,--hash-style=gnu -Wl,--build-id=none

# The sanitizer build: glibc, dynamic, same agent.c (sanitizers and valgrind do not run on static musl).
DBG_CFLAGS = -std=gnu11 $(WARN) -g -O1 -DAG_HAVE_ROOTS -DAG_BUILD_EPOCH=$(BUILD_EPOCH)LL
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

UNIT = $(patsubst test/%.c,build/%,$(wildcard test/t_*.c))

.PHONY: all test asan valgrind fuzz bench toc toc-check clean
all: agent

build/include/jsmn.h:
	@mkdir -p build/include
	@test -f /usr/include/jsmn.h || { echo "jsmn.h not found: install libjsmn-dev (./build.sh does)"; exit 1; }
	ln -sf /usr/include/jsmn.h $@

# certs/*.pem as one C string: the fallback roots, read by the same PEM loader as a system bundle.
build/roots.h: $(wildcard certs/*.pem)
	@mkdir -p build
	{ echo 'static const char ag_roots_pem[] ='; cat certs/*.pem | tr -d '\r' | sed 's/.*/"&\\n"/'; echo ';'; } > $@

agent: agent.c build/roots.h build/include/jsmn.h
	@test -f $(BEARSSL_A) || { echo "$(BEARSSL_A) not found: install libbearssl-dev (./build.sh does)"; exit 1; }
	$(MUSL_CC) $(CFLAGS) $(INC) agent.c $(BEARSSL_A) -o $@ $(LDFLAGS)
	@# no C++ exceptions or backtraces here: the unwind tables BearSSL and musl carry are dead weight
	objcopy -R .eh_frame -R .eh_frame_hdr $@
	@echo "agent: $$(stat -c %s $@) bytes, static, stripped"

build/agent-asan: agent.c build/roots.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -Ibuild -I/usr/include/bearssl agent.c $(BEARSSL_A) -o $@

build/agent-dbg: agent.c build/roots.h
	$(HOST_CC) $(DBG_CFLAGS) -Ibuild -I/usr/include/bearssl agent.c $(BEARSSL_A) -o $@

build/t_%: test/t_%.c test/t_util.h agent.c build/roots.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -Ibuild -I/usr/include/bearssl $< $(BEARSSL_A) -o $@

build/t_small_%: test/t_%.c test/t_util.h agent.c build/roots.h
	$(HOST_CC) $(DBG_CFLAGS) $(SAN) -DAG_SSE_EVENT_MAX=96 -DAG_JSON_TOKENS=16 -DAG_HTTP_RBUF=16 \
	  -Ibuild -I/usr/include/bearssl $< $(BEARSSL_A) -o $@

asan: build/agent-asan

test: agent build/agent-asan build/agent-dbg $(UNIT) build/t_small_sse build/t_small_http toc-check
	@sh test/run.sh

valgrind: agent build/agent-dbg
	@sh test/run.sh --valgrind

bench: agent
	@sh test/bench.sh

toc:
	@sh test/toc.sh --write agent.c

toc-check:
	@sh test/toc.sh --check agent.c

clean:
	rm -rf build agent
