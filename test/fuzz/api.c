/* The Messages stream handler: the input is an SSE stream, fed through sse_feed to api_on_event (as
 * api_call does, on a static struct api after api_msg_reset), whole and in random pieces (seeded from the
 * input). Both must give the same message. When the stream completes (message_stop, no error), the message
 * is turned into conversation blocks by loop_assistant, as the agent loop does, and then:
 *   - every block, and the messages array conv_write makes of them, must be valid JSON (strict, UTF-8);
 *   - a text block must hold exactly the text the sink was shown, invalid UTF-8 replaced by U+FFFD.
 * Raw .sse files (../shared/real-streams) are valid inputs. */
#include "fuzz.h"

static struct api a;
static struct loop L;
static struct ag_err e;
static jsmntok_t peek_tok[AG_JSON_TOKENS];
static struct buf shown[AG_API_BLOCKS];   /* what the sink showed, per block */
static struct buf out, tmp;

static struct {
	int idx;                  /* block index of the event being handled, -1 when none */
} st;

/* The sink gets n bytes, not a C string (the text_delta fast path hands over the event's own bytes). */
static void
on_text(void *ctx, const char *s, size_t n)
{
	if (st.idx >= 0)
		buf_add(&shown[st.idx], s, n);
}

static void
on_thinking(void *ctx, const char *s, size_t n)
{
	FUZZ_CHECK(s[n] == 0, "shown thinking not terminated");
}

static void
on_block_start(void *ctx, int type)
{
	FUZZ_CHECK(type > BLK_NONE && type <= BLK_OTHER, "block type %d", type);
}

static const struct api_sink sink = { NULL, on_text, on_thinking, on_block_start };

/* Look at the event the way api_on_event will, to know its block index (for the text the sink shows). */
static int
on_event(void *ctx, const char *event, char *data, size_t n)
{
	static const char *const known[] = { "", "message_start", "content_block_start", "content_block_delta",
	                                     "content_block_stop", "message_delta", "message_stop", "error" };
	struct json j;
	long long idx;
	size_t k;
	int r, ok = 0;
	for (k = 0; k < sizeof known / sizeof known[0]; k++)
		ok |= strcmp(event, known[k]) == 0;       /* the events api_on_event reads; it skips the others */
	ok = ok && json_parse(&j, data, n, peek_tok, AG_JSON_TOKENS) > 0 && j.t[0].type == JSMN_OBJECT;
	st.idx = -1;
	if (ok && !json_int(&j, json_get(&j, 0, "index"), &idx) && idx >= 0 && idx < AG_API_BLOCKS) {
		int i = (int)idx;
		st.idx = i;
		if (json_eq(&j, json_get(&j, 0, "type"), "content_block_start"))
			shown[i].len = 0;
	}
	r = api_on_event(ctx, event, data, n);
	FUZZ_CHECK(r <= 0, "api_on_event returned %d", r);
	if (r)
		FUZZ_CHECK(e.code == r && e.msg[0], "error %d without its message", r);
	FUZZ_CHECK(L.msg.nb >= 0 && L.msg.nb <= AG_API_BLOCKS, "nb %d", L.msg.nb);
	return r;
}

/* jw_strbody's rule, written again: each byte that does not start a well-formed sequence becomes U+FFFD. */
static void
repair(struct buf *o, const char *s, size_t n)
{
	size_t i = 0;
	o->len = 0;
	buf_add(o, "", 0);
	while (i < n) {
		size_t l = ref_utf8((const unsigned char *)s + i, n - i);
		if (l) {
			buf_add(o, s + i, l);
			i += l;
		} else {
			buf_add(o, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
}

/* Feed the stream; 0 when a complete message came, else the error (or 1: no message_stop). */
static int
run(const uint8_t *data, size_t size, int mode, unsigned seed, uint64_t *digest)
{
	struct fuzz_split sp = { mode, seed, 1 + seed % 300 };
	struct conv c = {0};
	struct msg *m;
	struct jw w;
	size_t i = 0, k;
	int r = 0, cut, b;
	api_msg_reset(&L.msg);
	sse_init(&a.sse);
	memset(&e, 0, sizeof e);
	memset(&st, 0, sizeof st);
	for (b = 0; b < AG_API_BLOCKS; b++)
		shown[b].len = 0;
	L.last_text.len = 0;
	while (i < size && !r) {
		k = fuzz_piece(&sp, size - i);
		r = sse_feed(&a.sse, (const char *)data + i, k, on_event, &a);
		i += k;
	}
	if (!r)
		r = sse_finish(&a.sse, on_event, &a);
	*digest = fuzz_hash(FUZZ_HASH0, &r, sizeof r);
	if (r)
		return r;
	if (!L.msg.stopped)
		return 1;
	for (b = 0; b < L.msg.nb; b++) {
		struct api_block *bl = &L.msg.b[b];
		if (bl->type != BLK_TEXT)
			continue;
		if (!bl->stopped)
			api_text_end(bl);         /* what loop_assistant does first */
		bl->stopped = 1;
		FUZZ_CHECK(bl->text.len >= sizeof API_TEXT_PREFIX + 1 &&
		           memcmp(bl->text.p, API_TEXT_PREFIX, sizeof API_TEXT_PREFIX - 1) == 0 &&
		           memcmp(bl->text.p + bl->text.len - 2, "\"}", 2) == 0 &&
		           ref_json_valid(bl->text.p, bl->text.len, REF_UTF8) == 1,
		           "text block %d is not a valid JSON object: %.300s", b, bl->text.p);
		{
			size_t off = sizeof API_TEXT_PREFIX - 1;
			long u;
			buf_reserve(&tmp, bl->text.len);
			u = json_unescape(bl->text.p + off, bl->text.len - off - 2, tmp.p);
			FUZZ_CHECK(u >= 0, "text block %d does not unescape", b);
			repair(&out, shown[b].p ? shown[b].p : "", shown[b].len);
			FUZZ_CHECK((size_t)u == out.len && memcmp(tmp.p, out.p, out.len) == 0,
			           "text block %d holds %ld bytes, the sink was shown %zu (%zu repaired)", b, u,
			           shown[b].len, out.len);
		}
	}
	m = conv_add(&c, ROLE_ASSISTANT);
	FUZZ_CHECK(m != NULL, "conv_add");
	loop_assistant(&L, m, &cut);
	out.len = 0;
	jw_init(&w, jw_sink_buf, &out);
	conv_write(&c, &w, 1);
	FUZZ_CHECK(!w.err, "conv_write error %d", w.err);
	for (k = 0; k < m->n; k++)
		FUZZ_CHECK(m->blk[k].len && m->blk[k].p[0] == '{' && ref_json_valid(m->blk[k].p, m->blk[k].len, REF_UTF8) == 1,
		           "block %zu of the assistant message is not valid JSON: %.300s", k, m->blk[k].p);
	FUZZ_CHECK(ref_json_valid(out.p, out.len, REF_UTF8) == 1, "conv_write wrote invalid JSON: %.300s", out.p);
	*digest = fuzz_hash(*digest, out.p, out.len);
	*digest = fuzz_hash(*digest, L.msg.stop_reason, strlen(L.msg.stop_reason));
	*digest = fuzz_hash(*digest, &L.msg.usage, sizeof L.msg.usage);
	conv_free(&c);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	uint64_t h = fuzz_hash(FUZZ_HASH0, data, size), d1, d2;
	int r1, r2;
	if (!init) {
		a.e = &e;
		a.sink = &sink;
		a.msg = &L.msg;
		L.out_format = OUT_JSON;      /* loop_assistant also collects the final text */
		init = 1;
	}
	r1 = run(data, size, 0, (unsigned)(h >> 32), &d1);
	r2 = run(data, size, 2, (unsigned)(h >> 32), &d2);
	FUZZ_CHECK(r1 == r2 && d1 == d2, "whole and in pieces differ: %d/%d", r1, r2);
	return 0;
}
