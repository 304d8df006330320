/* The SSE parser: the input is a byte stream fed to sse_feed whole, one byte at a time, and in random
 * pieces (seeded from the input), then sse_finish. The events (name, data) and the result must be the same
 * all three ways and the same as an independent parser of the agent's documented rules (fuzz: WHATWG line
 * ends CR, LF, CRLF; a leading BOM; comments; one space after the colon dropped; data lines joined with LF;
 * the last event dispatched at the end even without its blank line; AG_E_TOOBIG when the data and the line
 * being read would pass AG_SSE_EVENT_MAX). Some inputs make the callback fail at a chosen event: the
 * parser must stop there and return that failure. Raw .sse files are valid inputs (no control bytes).
 * fuzz-cflags: -DAG_SSE_EVENT_MAX=1024 */
#include "fuzz.h"

#define CB_FAIL (-77)

struct log {
	int n;                    /* events */
	uint64_t h;               /* all of them, hashed in order */
	int stop_at;              /* the callback fails on this event (-1: never) */
};

static struct sse ps;

static void
log_event(struct log *l, const char *event, const char *data, size_t n)
{
	size_t el = strlen(event);
	l->h = fuzz_hash(l->h, &el, sizeof el);
	l->h = fuzz_hash(l->h, event, el);
	l->h = fuzz_hash(l->h, &n, sizeof n);
	l->h = fuzz_hash(l->h, data, n);
	l->n++;
}

static int
on_event(void *ctx, const char *event, char *data, size_t n)
{
	struct log *l = ctx;
	FUZZ_CHECK(n <= AG_SSE_EVENT_MAX, "event of %zu bytes", n);
	FUZZ_CHECK(data[n] == 0, "data not terminated");
	FUZZ_CHECK(!memchr(data, '\r', n), "CR inside event data");
	FUZZ_CHECK(strlen(event) < 64 && !strpbrk(event, "\r\n"), "event name '%s'", event);
	if (l->n == l->stop_at) {
		log_event(l, event, data, n);
		return CB_FAIL;
	}
	log_event(l, event, data, n);
	return 0;
}

static int
run(const unsigned char *in, size_t len, int mode, unsigned seed, struct log *l)
{
	struct fuzz_split sp = { mode, seed, 1 + seed % 200 };
	size_t i = 0;
	int r = 0;
	sse_init(&ps);
	while (i < len && !r) {
		size_t k = fuzz_piece(&sp, len - i);
		r = sse_feed(&ps, (const char *)in + i, k, on_event, l);
		i += k;
	}
	if (!r)
		r = sse_finish(&ps, on_event, l);
	FUZZ_CHECK(r == 0 || r == CB_FAIL || r == AG_E_TOOBIG, "sse result %d", r);
	if (r == CB_FAIL)
		FUZZ_CHECK(l->n == l->stop_at + 1, "the parser went on after its callback failed");
	return r;
}

/* ---- the reference: the whole stream at once, lines first ---- */

static char rdata[AG_SSE_EVENT_MAX + 1];

static int
ref_dispatch(struct log *l, const char *event, size_t dlen)
{
	rdata[dlen] = 0;
	if (l->n == l->stop_at) {
		log_event(l, event, rdata, dlen);
		return CB_FAIL;
	}
	log_event(l, event, rdata, dlen);
	return 0;
}

static int
ref_sse(const unsigned char *s, size_t n, struct log *l)
{
	size_t p = 0, dlen = 0;
	int have = 0;
	char event[64] = "";
	if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		p = 3;
	while (p < n) {
		size_t e = p, len, nl, vl;
		const unsigned char *line = s + p, *colon, *val;
		while (e < n && s[e] != '\r' && s[e] != '\n')
			e++;
		len = e - p;
		if (dlen + len + 1 > AG_SSE_EVENT_MAX)
			return AG_E_TOOBIG;
		if (e < n)
			p = e + 1 + (s[e] == '\r' && e + 1 < n && s[e + 1] == '\n');
		else
			p = n;
		if (len == 0) {
			int r = have ? ref_dispatch(l, event, dlen) : 0;
			dlen = 0;
			have = 0;
			event[0] = 0;
			if (r)
				return r;
			continue;
		}
		if (line[0] == ':')
			continue;
		colon = memchr(line, ':', len);
		nl = colon ? (size_t)(colon - line) : len;
		val = colon ? colon + 1 : line + len;
		vl = (size_t)(line + len - val);
		if (vl && *val == ' ')
			val++, vl--;
		if (nl == 4 && memcmp(line, "data", 4) == 0) {
			if (have)
				rdata[dlen++] = '\n';
			memcpy(rdata + dlen, val, vl);
			dlen += vl;
			have = 1;
		} else if (nl == 5 && memcmp(line, "event", 5) == 0) {
			size_t k = vl < sizeof event - 1 ? vl : sizeof event - 1;
			memcpy(event, val, k);
			event[k] = 0;
		}
	}
	return have ? ref_dispatch(l, event, dlen) : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = fuzz_hash(FUZZ_HASH0, data, size);
	unsigned seed = (unsigned)(h >> 32);
	int stop_at = (h & 7) == 0 ? (int)((h >> 3) % 24) : -1;
	struct log a = { 0, FUZZ_HASH0, stop_at }, b, ref = { 0, FUZZ_HASH0, stop_at };
	int ra, rb, rr, mode;
	ra = run(data, size, 0, seed, &a);
	for (mode = size <= 512 ? 1 : 2; mode <= 2; mode++) {   /* one byte at a time: short inputs only */
		b.n = 0;
		b.h = FUZZ_HASH0;
		b.stop_at = stop_at;
		rb = run(data, size, mode, seed, &b);
		FUZZ_CHECK(ra == rb && a.n == b.n && a.h == b.h, "split mode %d: result %d/%d, %d/%d events", mode,
		           ra, rb, a.n, b.n);
	}
	rr = ref_sse(data, size, &ref);
	FUZZ_CHECK(ra == rr && a.n == ref.n && a.h == ref.h, "the reference: result %d/%d, %d/%d events", ra, rr,
	           a.n, ref.n);
	return 0;
}
