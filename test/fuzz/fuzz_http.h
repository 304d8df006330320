/* An in-memory peer for the HTTP harnesses, with no change to agent.c: read() and close() are defined here,
 * which takes precedence over libc's (and the sanitizers' weak interceptors). On the peer's descriptor,
 * read() hands out the response in pieces of fuzz-chosen sizes and then reports EOF, and close() records
 * how far the client had got; every other descriptor goes straight to the kernel. */
#include <sys/syscall.h>

#define PEER_FD 0x3ffffff0            /* never a real descriptor */

static struct {
	const unsigned char *p;
	size_t len, pos;
	struct fuzz_split split;
	struct http *h;               /* whose buffer to look at when the client closes */
	int closed;
	size_t consumed_at_close;     /* bytes of the response the client had used when it closed */
} peer;

ssize_t
read(int fd, void *buf, size_t n)
{
	size_t k;
	if (fd != PEER_FD)
		return syscall(SYS_read, fd, buf, n);
	if (peer.closed) {
		errno = EBADF;
		return -1;
	}
	if (peer.pos >= peer.len || n == 0)
		return 0;
	k = fuzz_piece(&peer.split, peer.len - peer.pos);
	if (k > n)
		k = n;
	memcpy(buf, peer.p + peer.pos, k);
	peer.pos += k;
	return (ssize_t)k;
}

int
close(int fd)
{
	if (fd != PEER_FD)
		return (int)syscall(SYS_close, fd);
	if (peer.closed)
		FUZZ_FAIL("the client closed its connection twice");
	peer.closed = 1;
	if (peer.h)                   /* net_close runs before http_close resets the buffer */
		peer.consumed_at_close = peer.pos - (peer.h->rlen - peer.h->rpos);
	return 0;
}

/* Bytes of the response the client has used so far. */
static size_t
peer_consumed(void)
{
	if (peer.closed)
		return peer.consumed_at_close;
	return peer.pos - (peer.h->rlen - peer.h->rpos);
}

static void
peer_start(struct http *h, struct ag_err *e, const void *p, size_t len, int mode, unsigned seed, size_t max)
{
	static struct url u;
	static int have;
	if (!have) {
		struct ag_err ue = {0};
		url_parse("http://fuzz.test", &u, &ue);
		have = 1;
	}
	peer.p = p;
	peer.len = len;
	peer.pos = 0;
	peer.split.mode = mode;
	peer.split.seed = seed;
	peer.split.max = max;
	peer.h = h;
	peer.closed = 0;
	peer.consumed_at_close = 0;
	/* the fields a response uses; the big buffers need no clearing */
	h->url = u;
	h->net.fd = PEER_FD;
	h->net.timeout_ms = 1000;
	h->net.tick = NULL;
	h->connected = 1;
	h->deadline_ms = 0;
	h->e = e;
	h->rpos = h->rlen = 0;
	h->status = h->keep = h->framing = h->chunk_state = 0;
	h->remain = 0;
	h->hdrlen = 0;
	e->code = e->status = 0;
	e->msg[0] = 0;
}

/* ---- the body as the agent means to decode it, written separately to hold http_body_read against ---- */

/* One line from s[*p]: its length without LF and one trailing CR; -1 when there is no LF or the raw line
 * (CR included) does not fit the agent's line buffer of cap bytes. */
static long
ref_line(const unsigned char *s, size_t n, size_t *p, size_t cap)
{
	const unsigned char *lf = memchr(s + *p, '\n', n - *p);
	size_t l;
	if (!lf)
		return -1;
	l = (size_t)(lf - (s + *p));
	if (l >= cap)
		return -1;
	*p += l + 1;
	if (l && lf[-1] == '\r')
		l--;
	return (long)l;
}

/* Chunked body from s[off]: the decoded bytes into out (also those before an error), the offset just past
 * the body into *end. 0 when complete, -1 on any error. */
static int
ref_chunked(const unsigned char *s, size_t n, size_t off, struct buf *out, size_t *end)
{
	size_t p = off;
	for (;;) {
		size_t start = p, i = 0;
		unsigned long long v = 0;
		long l = ref_line(s, n, &p, 1024);
		const unsigned char *line = s + start;
		if (l < 0)
			return -1;
		for (; i < (size_t)l && isxdigit(line[i]); i++) {
			if (i >= 15)
				return -1;
			v = v << 4 | (unsigned)(isdigit(line[i]) ? line[i] - '0' : tolower(line[i]) - 'a' + 10);
		}
		if (i == 0 || (i < (size_t)l && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
			return -1;
		if (v == 0) {
			for (;;) {
				l = ref_line(s, n, &p, 1024);
				if (l < 0)
					return -1;
				if (l == 0) {
					*end = p;
					return 0;
				}
			}
		}
		if (n - p < v) {
			buf_add(out, s + p, n - p);
			return -1;
		}
		buf_add(out, s + p, (size_t)v);
		p += (size_t)v;
		if (ref_line(s, n, &p, 1024) != 0)
			return -1;
	}
}

/* ---- one response read three ways; everything it gave must agree, and agree with the reference ---- */

struct http_res {
	int r, status, keep, framing, connected, code;
	size_t head_end, consumed, body_len;
	unsigned long long remain;
	uint64_t body_hash;
};

static struct http fh;
static struct ag_err fe;
static struct buf fbody, fref;

static void
http_run(const unsigned char *in, size_t len, int head_only, int mode, unsigned seed, struct http_res *o)
{
	char tmp[4096];
	size_t got = 0;
	unsigned cs = seed ^ 0x9e3779b9u;
	long n;
	peer_start(&fh, &fe, in, len, mode, seed, 1 + seed % 97);
	fbody.len = 0;
	memset(o, 0, sizeof *o);
	o->r = http_read_head(&fh, head_only, &got);
	FUZZ_CHECK(o->r <= 0, "http_read_head returned %d", o->r);
	FUZZ_CHECK(fh.rpos <= fh.rlen && fh.rlen <= sizeof fh.rbuf, "read buffer bounds");
	FUZZ_CHECK(got <= len, "first_got %zu > %zu", got, len);
	if (o->r) {
		FUZZ_CHECK(fe.code == o->r && fe.msg[0], "error %d without its message (code %d)", o->r, fe.code);
		o->code = fe.code;
		o->consumed = peer_consumed();
		if (!peer.closed)
			http_close(&fh);
		return;
	}
	o->status = fh.status;
	o->keep = fh.keep;
	o->framing = fh.framing;
	o->remain = fh.remain;
	o->head_end = peer_consumed();
	FUZZ_CHECK(fh.status >= 0 && fh.status <= 999 && (fh.status < 100 || fh.status >= 200 || fh.status == 101),
	           "status %d", fh.status);
	FUZZ_CHECK(fh.hdrlen <= sizeof fh.hdr, "header bytes %zu", fh.hdrlen);
	FUZZ_CHECK(o->head_end >= 2 && in[o->head_end - 1] == '\n', "the head ends on a line end");
	{
		size_t i = 0;                     /* stored headers: "name: value\n", names lower case */
		while (i < fh.hdrlen) {
			const char *line = fh.hdr + i, *eol = memchr(line, '\n', fh.hdrlen - i), *c;
			FUZZ_CHECK(eol != NULL, "stored header without its newline");
			c = memchr(line, ':', (size_t)(eol - line));
			FUZZ_CHECK(c && c > line && c[1] == ' ', "stored header '%.*s'", (int)(eol - line), line);
			for (; line < c; line++)
				FUZZ_CHECK(!isupper((unsigned char)*line) && *line != ' ' && *line != '\t', "header name");
			i = (size_t)(eol - fh.hdr) + 1;
		}
	}
	if (fh.framing == HTTP_BODY_LENGTH) {
		size_t cl;
		const char *c = http_header(&fh, "content-length", &cl);
		FUZZ_CHECK(c != NULL, "length framing without content-length");
	}
	for (;;) {
		size_t cap = mode == 0 ? sizeof tmp : mode == 1 ? 1 : 1 + (cs = cs * 1103515245u + 12345u) % 61;
		n = http_body_read(&fh, tmp, cap);
		if (n < 0) {
			FUZZ_CHECK(fe.code == n && fe.msg[0], "body error %ld without its message (code %d)", n, fe.code);
			o->r = (int)n;
			o->code = fe.code;
			break;
		}
		if (n == 0) {
			FUZZ_CHECK(http_body_read(&fh, tmp, cap) == 0, "the end of a body is not sticky");
			break;
		}
		FUZZ_CHECK((size_t)n <= cap, "http_body_read gave %ld > cap %zu", n, cap);
		buf_add(&fbody, tmp, (size_t)n);
		FUZZ_CHECK(fbody.len <= len, "more body than input");
	}
	o->consumed = peer_consumed();
	o->connected = fh.connected;
	o->body_len = fbody.len;
	o->body_hash = fuzz_hash(FUZZ_HASH0, fbody.p, fbody.len);
	if (fh.connected) {
		if (o->r == 0 && o->framing != HTTP_BODY_NONE)
			FUZZ_CHECK(o->keep && fh.rpos == fh.rlen, "a connection kept with keep=%d and %zu bytes left",
			           o->keep, fh.rlen - fh.rpos);
		http_close(&fh);
	}
	/* the body against the reference */
	{
		size_t he = o->head_end, rest = len - he, end = 0;
		int rr = 0;
		fref.len = 0;
		switch (o->framing) {
		case HTTP_BODY_NONE:
			end = he;
			break;
		case HTTP_BODY_LENGTH:
			buf_add(&fref, in + he, rest < o->remain ? rest : (size_t)o->remain);
			rr = rest < o->remain ? -1 : 0;
			end = he + fref.len;
			break;
		case HTTP_BODY_CLOSE:
			buf_add(&fref, in + he, rest);
			end = len;
			FUZZ_CHECK(!o->connected, "a body read to EOF left the connection open");
			break;
		case HTTP_BODY_CHUNKED:
			rr = ref_chunked(in, len, he, &fref, &end);
			break;
		default:
			FUZZ_FAIL("framing %d", o->framing);
		}
		FUZZ_CHECK((o->r == 0) == (rr == 0), "framing %d: http_body_read %s (%d: %s), the reference %s",
		           o->framing, o->r ? "failed" : "succeeded", o->r, fe.msg, rr ? "failed" : "succeeded");
		FUZZ_CHECK(fref.len == fbody.len && memcmp(fref.p ? fref.p : "", fbody.p ? fbody.p : "", fbody.len) == 0,
		           "framing %d: body of %zu bytes, the reference has %zu", o->framing, fbody.len, fref.len);
		if (o->r == 0 && o->framing != HTTP_BODY_CLOSE)
			FUZZ_CHECK(o->consumed == end, "framing %d: the reader stopped at %zu, the body ends at %zu",
			           o->framing, o->consumed, end);
	}
}

/* The response whole, one byte per read (and per body read), and in random pieces: the same outcome. */
static void
http_check(const unsigned char *in, size_t len, int head_only, unsigned seed)
{
	struct http_res a, b;
	int mode;
	http_run(in, len, head_only, 0, seed, &a);
	for (mode = len <= 512 ? 1 : 2; mode <= 2; mode++) {    /* one byte per read: short inputs only */
		http_run(in, len, head_only, mode, seed, &b);
		FUZZ_CHECK(a.r == b.r && a.status == b.status && a.keep == b.keep && a.framing == b.framing &&
		           a.code == b.code && a.head_end == b.head_end &&
		           a.remain == b.remain && a.body_len == b.body_len && a.body_hash == b.body_hash &&
		           (a.r || a.framing == HTTP_BODY_CLOSE || a.consumed == b.consumed),
		           "split mode %d differs: r %d/%d status %d/%d framing %d/%d body %zu/%zu consumed %zu/%zu",
		           mode, a.r, b.r, a.status, b.status, a.framing, b.framing, a.body_len, b.body_len,
		           a.consumed, b.consumed);
	}
}
