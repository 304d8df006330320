/* SSE: every input fed whole, one byte at a time and at random split points must give the same events. */
#include "t_util.h"

static struct sse s;

static int
collect(void *ctx, const char *event, char *data, size_t n)
{
	struct buf *b = ctx;
	buf_printf(b, "<%s>", event);
	buf_add(b, data, n);
	buf_adds(b, "|");
	return 0;
}

static int
stop_at_second(void *ctx, const char *event, char *data, size_t n)
{
	int *count = ctx;
	(void)event; (void)data; (void)n;
	return ++*count == 2 ? AG_E_API : 0;
}

/* Feed in pieces of the given mode: 0 whole, 1 one byte, 2 random. Returns feed result; events in out. */
static int
feed(const char *in, size_t len, int mode, struct buf *out, int finish)
{
	size_t i = 0;
	int r = 0;
	sse_init(&s);
	out->len = 0;
	buf_adds(out, "");
	while (i < len && !r) {
		size_t k = mode == 0 ? len : mode == 1 ? 1 : 1 + t_rand() % 9;
		if (k > len - i)
			k = len - i;
		r = sse_feed(&s, in + i, k, collect, out);
		i += k;
	}
	if (!r && finish)
		r = sse_finish(&s, collect, out);
	return r;
}

static void
expect(const char *name, const char *in, size_t len, const char *want)
{
	struct buf out = {0};
	int mode, ok = 1;
	unsigned seed = t_seed;
	for (mode = 0; mode < 3 && ok; mode++) {
		int r = feed(in, len, mode, &out, 1);
		ok = r == 0 && strcmp(out.p, want) == 0;
		if (!ok)
			printf("# %s: mode %d (seed %u) gave r=%d [%s], want [%s]\n", name, mode, seed, r, out.p, want);
	}
	T_CHECK(ok, "%s", name);
	buf_free(&out);
}

int
main(void)
{
	static char big[AG_SSE_EVENT_MAX + 64];
	struct buf out = {0};
	int r, count;
	size_t n;

	expect("one event, LF", "event: a\ndata: x\n\n", 18, "<a>x|");
	expect("CRLF line ends", "event: a\r\ndata: x\r\n\r\n", 21, "<a>x|");
	expect("CR-only line ends", "event: a\rdata: x\r\r", 18, "<a>x|");
	expect("mixed line ends", "data: 1\r\n\rdata: 2\n\r\n", 20, "<>1|<>2|");
	expect("multi-line data joined with LF", "data: a\ndata:b\ndata:  c\n\n", 25, "<>a\nb\n c|");
	expect("data without a space after the colon", "data:x\n\n", 8, "<>x|");
	expect("comments ignored", ": ping\n:\ndata: x\n: mid\n\n", 24, "<>x|");
	expect("a field with no colon is a name with an empty value", "data\n\n", 6, "<>|");
	expect("event name reset after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", 27, "<a>1|<>2|");
	expect("blank lines without data dispatch nothing", "\n\nevent: a\n\n\ndata: x\n\n", 22, "<>x|");
	expect("id and retry fields accepted, unknown fields ignored", "id: 7\nretry: 10\nfoo: bar\ndata: x\n\n", 35, "<>x|");
	expect("BOM at the start skipped", "\xEF\xBB\xBF" "data: x\n\n", 12, "<>x|");
	expect("an incomplete BOM is kept as text", "\xEF\xBB" "x: y\ndata: z\n\n", 16, "<>z|");
	expect("last event without its blank line is delivered", "data: x\n", 8, "<>x|");
	expect("last line without its line end is delivered", "data: x", 7, "<>x|");
	expect("UTF-8 split anywhere arrives whole", "data: h\xC3\xA9 \xF0\x9F\x8E\x89\n\n", 17, "<>h\xC3\xA9 \xF0\x9F\x8E\x89|");
	{
		const char *in = "event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\n";
		expect("several events", in, strlen(in), "<message_start>{\"a\":1}|<ping>{}|");
	}
	/* the event cap */
	n = AG_SSE_EVENT_MAX - 8;          /* "data: " + n + "\n" fits: data kept at exactly n bytes */
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n);
	memcpy(big + 6 + n, "\n\n", 2);
	r = feed(big, n + 8, 0, &out, 1);
	T_CHECK(r == 0 && out.len == n + 3, "an event just under the cap is delivered (%d bytes)", (int)n);
	n = AG_SSE_EVENT_MAX + 10;
	memset(big + 6, 'x', n - 6);
	memcpy(big + n, "\n\n", 2);
	r = feed(big, n + 2, 1, &out, 1);
	T_CHECK(r == AG_E_TOOBIG, "an event over the cap is AG_E_TOOBIG, fed one byte at a time");
	r = feed(big, n + 2, 0, &out, 1);
	T_CHECK(r == AG_E_TOOBIG, "an event over the cap is AG_E_TOOBIG, fed whole");
	/* many data lines adding up past the cap */
	{
		size_t k = 0, cap = 4 * (size_t)AG_SSE_EVENT_MAX + 64;
		char *many = malloc(cap);
		while (many && k + 10 < cap) {
			memcpy(many + k, "data: 12\n", 9);
			k += 9;
		}
		r = many ? feed(many, k, 2, &out, 1) : AG_E_NOMEM;
		free(many);
		T_CHECK(r == AG_E_TOOBIG, "many small data lines past the cap are AG_E_TOOBIG");
	}
	/* a callback error stops the feed and is returned */
	count = 0;
	sse_init(&s);
	r = sse_feed(&s, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, stop_at_second, &count);
	T_CHECK(r == AG_E_API && count == 2, "a callback error stops the stream at that event");
	buf_free(&out);
	return t_done();
}
