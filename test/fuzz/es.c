/* The Bedrock event-stream decoder: api_es_feed on a static struct api driving api_on_event, as in api.c.
 * Each input is fed three ways, whole (the in-place path), one byte at a time (the buffered path) and in
 * random pieces (both; seeded from the input); the result, the error and its message, the bytes left
 * waiting, what the sink was shown and the message state must agree. Three streams come of each input:
 *   - its raw bytes; then the same with every message's CRCs made right (as far as its lengths go), so that
 *     mutations get past them into the headers and payloads;
 *   - its lines ("data: " dropped, "event:" lines skipped: .sse files make real events), each framed with
 *     the harness's own CRC-32 (bit by bit) and base64 as a chunk (:event-type, :content-type, :message-type
 *     in varying order, at times after a timestamp header; {"bytes":..} or {"p":..,"bytes":..}). It must
 *     never read as corrupt; each frame, whole and in two pieces, must decode to exactly its payload
 *     (AG_E_TOOBIG past AG_SSE_EVENT_MAX or AG_ES_FRAME_MAX); one frame with one bit flipped (anywhere, in
 *     the prelude, in headers or payload, in the message CRC) must be a cut stream, AG_E_CLOSED (or
 *     AG_E_TOOBIG), both ways: CRC-32 finds every one-bit error. Small limits: both edges in reach.
 * fuzz-cflags: -DAG_SSE_EVENT_MAX=1024 -DAG_ES_FRAME_MAX=1500 */
#include "fuzz.h"

#define PAY_MAX (AG_SSE_EVENT_MAX + 4)  /* longer lines: cut to 3 below the limit .. 4 past it, in turn */
#define FRAMES 128

static struct api a;
static struct api_msg msg;
static struct ag_err e;
static uint64_t seen;                   /* what the sink was shown, hashed in order */
static unsigned char st[64 * 1024], fx[64 * 1024], one[2 * PAY_MAX];
static struct { const unsigned char *p; size_t n, off, len; } fr[FRAMES];

#define HV(h, v) fuzz_hash(h, &(v), sizeof(v))
#define HS(h, s) fuzz_hash(h, s, strlen(s))
#define HB(h, b) fuzz_hash(HV(h, (b).len), (b).p, (b).len)
#define PUT(o, s) (memcpy(o, s, strlen(s)), strlen(s))
#define PUT32(o, v) ((o)[0] = (unsigned char)((v) >> 24), (o)[1] = (unsigned char)((v) >> 16), \
                     (o)[2] = (unsigned char)((v) >> 8), (o)[3] = (unsigned char)(v))

static void
on_shown(void *ctx, const char *s, size_t n)           /* text and thinking (which is in its block too) */
{
	seen = fuzz_hash(HV(HS(seen, "shown"), n), s, n);
}

static void
on_block_start(void *ctx, int type)
{
	FUZZ_CHECK(type > BLK_NONE && type <= BLK_OTHER, "block type %d", type);
	seen = HV(HS(seen, "block"), type);
}

static const struct api_sink sink = { NULL, on_shown, on_shown, on_block_start };

static void
reset(void)
{
	api_msg_reset(&msg);
	sse_init(&a.sse);
	a.esn = 0, a.stream_error[0] = 0;
	memset(&e, 0, sizeof e);
	seen = FUZZ_HASH0;
}

/* Feed s[0..n) in pieces until a result is not 0; that result, *digest all that it led to. */
static int
feed(const unsigned char *s, size_t n, int mode, unsigned seed, uint64_t *digest)
{
	struct fuzz_split sp = { mode, seed, 1 + seed % 1600 };
	size_t i = 0, k;
	uint64_t h;
	int r = 0, b;
	reset();
	while (i < n && !r) {
		k = fuzz_piece(&sp, n - i);
		r = api_es_feed(&a, s + i, k);
		FUZZ_CHECK(a.esn < sizeof a.es, "%zu bytes waiting", a.esn);
		i += k;
	}
	FUZZ_CHECK(r == e.code && (!r || e.msg[0]), "result %d, error %d '%s'", r, e.code, e.msg);
	FUZZ_CHECK(r == 0 || r == AG_E_CLOSED || r == AG_E_TOOBIG || r == AG_E_API || r == AG_E_NOMEM, "result %d", r);
	FUZZ_CHECK(msg.nb >= 0 && msg.nb <= AG_API_BLOCKS, "nb %d", msg.nb);
	h = HS(HS(HV(HS(HV(seen, r), e.msg), a.esn), a.stream_error), msg.id);
	h = HV(HV(HV(HV(HS(h, msg.stop_reason), msg.usage), msg.nb), msg.started), msg.stopped);
	for (b = 0; b < msg.nb; b++) {
		struct api_block *bl = &msg.b[b];
		h = HB(HB(HB(HB(HB(HV(HV(h, bl->type), bl->stopped), bl->text), bl->sig), bl->input), bl->raw), bl->id);
		h = HS(h, bl->name);
	}
	*digest = h;
	return r;
}

/* Whole, one byte at a time, in random pieces: one outcome. */
static int
same(const unsigned char *s, size_t n, unsigned seed, const char *what)
{
	uint64_t d0, d;
	int r0 = feed(s, n, 0, seed, &d0), r, mode;
	for (mode = 1; mode <= 2; mode++) {
		r = feed(s, n, mode, seed, &d);
		FUZZ_CHECK(r == r0 && d == d0, "%s, split mode %d (seed %u): result %d/%d, or what it led to, differs",
		           what, mode, seed, r0, r);
	}
	return r0;
}

/* ---- the reference encoder: CRC-32 bit by bit, base64, the framing ---- */

static uint32_t
ref_crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	int k;
	while (n--)
		for (c ^= *p++, k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0xEDB88320u : c >> 1;
	return ~c;
}

static size_t
ref_b64(unsigned char *o, const unsigned char *p, size_t n)
{
	static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	size_t i, k = 0;
	int bits = 0;
	for (i = 0; i < n; i++)
		for (acc = (acc << 8 | p[i]) & 0xFFFF, bits += 8; bits >= 6;)
			bits -= 6, o[k++] = (unsigned char)d[acc >> bits & 63];
	if (bits)
		o[k++] = (unsigned char)d[acc << (6 - bits) & 63];
	while (k % 4)
		o[k++] = '=';
	return k;
}

/* The prelude CRC of the message at o made right, and its message CRC if t (>= 16) is its length. */
static void
seal(unsigned char *o, size_t t)
{
	uint32_t c = ref_crc(o, 8);
	PUT32(o + 8, c);
	if (t) {
		c = ref_crc(o, t - 4);
		PUT32(o + t - 4, c);
	}
}

/* One chunk message carrying p[0..n) at o; v picks the header order and the JSON's shape. Its length. */
static size_t
frame(unsigned char *o, const unsigned char *p, size_t n, unsigned v)
{
	static const char *const hd[3][2] = { { ":event-type", "chunk" }, { ":content-type", "application/json" },
	                                      { ":message-type", "event" } };
	size_t hl = 0, k, t;
	unsigned char *h = o + 12;
	if (v & 4)                              /* a header of another type first: a timestamp, 8 bytes */
		hl += PUT(h, "\005:date\010\001\002\003\004\005\006\007\010");
	for (k = 0; k < 3; k++) {
		const char *nm = hd[(k + v) % 3][0], *val = hd[(k + v) % 3][1];
		h[hl++] = (unsigned char)strlen(nm);
		hl += PUT(h + hl, nm);
		h[hl++] = 7, h[hl++] = 0, h[hl++] = (unsigned char)strlen(val);
		hl += PUT(h + hl, val);
	}
	t = 12 + hl;
	t += PUT(o + t, v & 8 ? "{\"p\":\"abcdefghij\",\"bytes\":\"" : "{\"bytes\":\"");   /* the tokenizer's way */
	t += ref_b64(o + t, p, n);
	t += PUT(o + t, "\"}") + 4;
	PUT32(o, t), PUT32(o + 4, hl);
	seal(o, t);
	return t;
}

/* The input's lines as payloads, framed into st; the number of frames, *len the stream's length. */
static int
build(const unsigned char *s, size_t n, unsigned v, size_t *len)
{
	size_t i = 0, o = 0;
	int nf = 0;
	while (i < n && nf < FRAMES && o + 2 * PAY_MAX < sizeof st) {
		const unsigned char *nl = memchr(s + i, '\n', n - i), *p = s + i;
		size_t l = nl ? (size_t)(nl - p) : n - i, k = l < PAY_MAX - nf % 8 ? l : PAY_MAX - nf % 8;
		i += k + (k == l && nl);
		if (k >= 6 && !memcmp(p, "event:", 6))
			continue;
		if (k >= 6 && !memcmp(p, "data: ", 6))
			p += 6, k -= 6;
		v = v * 1103515245u + 12345u;
		fr[nf].p = p, fr[nf].n = k, fr[nf].off = o, fr[nf].len = frame(st + o, p, k, v >> 16);
		o += fr[nf++].len;
	}
	*len = o;
	return nf;
}

/* A message alone, whole (pass 0: the in-place path) or cut in two (1: the buffered path). */
static int
alone(const unsigned char *m, size_t len, size_t cut, int pass)
{
	int r;
	reset();
	r = api_es_feed(&a, m, pass ? cut : len);
	return pass && !r ? api_es_feed(&a, m + cut, len - cut) : r;
}

/* A frame with one bit flipped: a cut stream both ways. */
static void
flip(int f, size_t bit, size_t cut, const char *where)
{
	size_t len = fr[f].len;
	int r, pass;
	memcpy(one, st + fr[f].off, len);
	one[bit / 8] ^= (unsigned char)(1u << bit % 8);
	for (pass = 0; pass < 2; pass++) {
		r = alone(one, len, cut, pass);
		FUZZ_CHECK(r == AG_E_CLOSED || r == AG_E_TOOBIG, "bit %zu (%s) of a %zu-byte frame flipped, cut at %zu: "
		           "%d '%s'", bit, where, len, pass ? cut : len, r, e.msg);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = fuzz_hash(FUZZ_HASH0, data, size);
	unsigned seed = (unsigned)(h >> 32);
	size_t n, len, cut, t;
	int nf, f, r, pass;
	a.e = &e, a.sink = &sink, a.msg = &msg;
	same(data, size, seed, "the input");
	if (size <= sizeof fx) {
		memcpy(fx, data, size);
		for (n = 0, t = 1; t && size - n >= 12; n += t) {
			t = api_be32(fx + n);
			seal(fx + n, t = t >= 16 && t <= size - n ? t : 0);
		}
		same(fx, size, seed, "the input, its CRCs made right");
	}
	nf = build(data, size, (unsigned)h, &n);
	r = same(st, n, seed, "the stream made of it");
	FUZZ_CHECK(r != AG_E_CLOSED && (r || a.esn == 0), "a well-formed stream: %d '%s', %zu bytes left", r, e.msg,
	           a.esn);
	for (f = 0; f < nf; f++) {
		len = fr[f].len;
		cut = 1 + (size_t)((h >> (f % 32)) % (len - 1));
		for (pass = 0; pass < 2; pass++) {    /* the in-place path, then the buffered one */
			memset(a.esd, 0xA5, sizeof a.esd);
			r = alone(st + fr[f].off, len, cut, pass);
			FUZZ_CHECK(a.esn == 0, "frame %d (pass %d): %zu bytes left (an error drops what waited)", f, pass, a.esn);
			if (len > sizeof a.es || fr[f].n > AG_SSE_EVENT_MAX) {
				FUZZ_CHECK(r == AG_E_TOOBIG, "frame %d of %zu bytes, payload %zu (pass %d): %d '%s'", f, len,
				           fr[f].n, pass, r, e.msg);
				continue;
			}
			FUZZ_CHECK(r == 0 || r == AG_E_API || r == AG_E_NOMEM, "frame %d (pass %d): %d '%s'", f, pass, r, e.msg);
			FUZZ_CHECK(!memcmp(a.esd, fr[f].p, fr[f].n) && a.esd[fr[f].n] == 0,
			           "frame %d (pass %d): its %zu payload bytes decoded otherwise", f, pass, fr[f].n);
		}
	}
	if (!nf)
		return 0;
	f = (int)(h % (unsigned)nf);
	len = fr[f].len;
	cut = 1 + (size_t)((h >> 7) % (len - 1));
	flip(f, (size_t)((h >> 11) % (len * 8)), cut, "anywhere");
	flip(f, (size_t)((h >> 23) % 96), cut, "the prelude");
	flip(f, 96 + (size_t)((h >> 31) % ((len - 16) * 8)), cut, "headers or payload");
	flip(f, (len - 4) * 8 + (size_t)((h >> 43) % 32), cut, "the message CRC");
	return 0;
}
