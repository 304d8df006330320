/* HTTP/1.1 response reader: curl's fault vocabulary, served by a forked peer over a socketpair, every
 * response written three ways (whole, one byte per write, random pieces; the seed is printed on failure);
 * then keep-alive and stale-connection reuse over real TCP on 127.0.0.1. */
#include "t_util.h"

#define S(lit) lit, sizeof(lit) - 1
#define ANY (-1)

static struct http h;
static struct ag_err e;
static struct tls_trust trust;

/* What one response gave the client. */
struct res {
	int r;                    /* first negative result (head or body), 0 when the body ended cleanly */
	int status;
	int keep;                 /* h.keep right after the head */
	int connected;            /* h.connected after the body */
	size_t left;              /* bytes still buffered after the body */
	size_t got;               /* http_read_head's first_got */
	int code;
	char msg[600];
	struct buf body;
};

/* The peer: writes in pieces, then closes at once, or (hold_ms) waits for the client to close first. */
static void
peer(int fd, const char *in, size_t len, int mode, int hold_ms)
{
	size_t i = 0;
	while (i < len) {
		size_t k = mode == 0 ? len - i : mode == 1 ? 1 : 1 + t_rand() % 23;
		ssize_t w;
		if (k > len - i)
			k = len - i;
		w = send(fd, in + i, k, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;                    /* the client gave up (an error case): stop */
		}
		i += (size_t)w;
		if (mode == 1 && len <= 4096)
			usleep(20);               /* let each byte arrive as a read of its own */
		else if (mode == 2 && t_rand() % 4 == 0)
			usleep(50);
	}
	if (hold_ms) {
		struct pollfd p;
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		poll(&p, 1, hold_ms);
	}
	close(fd);
}

/* One response, one way: fork the peer, read head and body, record everything. */
static void
run1(const char *in, size_t len, int mode, int hold_ms, int timeout_ms, unsigned seed, struct res *o)
{
	int sv[2];
	pid_t pid;
	char tmp[4096];
	long n;
	unsigned rseed = seed ^ 0x5a5a5a5au;
	o->body.len = 0;
	buf_adds(&o->body, "");
	o->r = o->status = o->keep = o->connected = o->code = 0;
	o->left = o->got = 0;
	o->msg[0] = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		o->r = AG_E_IO;
		snprintf(o->msg, sizeof o->msg, "socketpair: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		t_seed = seed;
		peer(sv[1], in, len, mode, hold_ms);
		_exit(0);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	memset(&h, 0, sizeof h);
	memset(&e, 0, sizeof e);
	url_parse("http://test.local", &h.url, &e);
	h.trust = &trust;
	h.net.fd = sv[0];
	h.net.timeout_ms = timeout_ms;
	h.connected = 1;
	h.e = &e;
	o->r = http_read_head(&h, 0, &o->got);
	o->status = h.status;
	o->keep = h.keep;
	while (!o->r) {
		size_t cap = mode == 0 ? sizeof tmp : mode == 1 ? 1 : 1 + (rseed = rseed * 1103515245u + 12345u) % 61;
		n = http_body_read(&h, tmp, cap);
		if (n < 0)
			o->r = (int)n;
		else if (n == 0)
			break;
		else if ((size_t)n > cap)
			o->r = AG_E_INVAL, snprintf(o->msg, sizeof o->msg, "http_body_read returned %ld > cap %zu", n, cap);
		else
			buf_add(&o->body, tmp, (size_t)n);
	}
	o->connected = h.connected;
	o->left = h.rlen - h.rpos;
	o->code = e.code;
	if (!o->msg[0])
		snprintf(o->msg, sizeof o->msg, "%s", e.msg);
	if (h.net.fd >= 0)
		http_close(&h);
	waitpid(pid, NULL, 0);
}

static void
show(const char *name, int mode, unsigned seed, const struct res *o)
{
	char ex[200];
	str_excerpt(ex, sizeof ex, o->body.p, o->body.len);
	printf("# %s: mode %d (seed %u): r=%d status=%d keep=%d connected=%d code=%d msg='%s' body(%zu)='%s'\n",
	       name, mode, seed, o->r, o->status, o->keep, o->connected, o->code, o->msg, o->body.len, ex);
}

static struct res last;                   /* the last mode of the last case, for follow-up checks */

/* The response `in` sent three ways must give this status, body, error code (0 or AG_E_*), a word in the
 * error message, and h.keep (ANY: not checked). */
static void
expect_t(const char *name, const char *in, size_t len, int hold_ms, int timeout_ms, int status,
         const char *body, size_t blen, int code, const char *word, int keep)
{
	int mode, ok = 1;
	unsigned seed = t_seed;
	for (mode = 0; mode < 3; mode++) {
		int good;
		run1(in, len, mode, hold_ms, timeout_ms, seed, &last);
		good = (status == ANY || last.status == status) && last.body.len == blen &&
		       memcmp(last.body.p, body, blen) == 0 && last.code == code && last.r == code &&
		       (keep == ANY || last.keep == keep) && (!word || strstr(last.msg, word));
		if (!good) {
			show(name, mode, seed, &last);
			printf("#   want status=%d code=%d word='%s' keep=%d body(%zu)\n", status, code, word ? word : "",
			       keep, blen);
		}
		ok &= good;
	}
	t_rand();
	T_CHECK(ok, "%s", name);
}

static void
expect(const char *name, const char *in, size_t len, int hold_ms, int status, const char *body, size_t blen,
       int code, const char *word, int keep)
{
	expect_t(name, in, len, hold_ms, 2000, status, body, blen, code, word, keep);
}

/* ---- keep-alive over TCP ---- */

enum { SRV_KEEP, SRV_CLOSE_EACH, SRV_STRAY };

/* Length of the first complete request in b (head plus content-length body), or 0 when incomplete. */
static size_t
req_len(const struct buf *b)
{
	const char *end, *cl;
	unsigned long v = 0;
	size_t hl;
	if (!b->len || !(end = memmem(b->p, b->len, "\r\n\r\n", 4)))
		return 0;
	hl = (size_t)(end - b->p) + 4;
	cl = memmem(b->p, hl, "\r\ncontent-length:", 17);
	if (cl)
		v = strtoul(cl + 17, NULL, 10);
	return b->len >= hl + v ? hl + v : 0;
}

/* Answer `total` requests, then report every request ("<len>\n<bytes>") and "C<connections>\n". */
static void
tcp_server(int ls, int style, int total, int pfd)
{
	int conns = 0, served = 0;
	struct buf rep = {0};
	alarm(20);
	while (served < total) {
		int fd = accept(ls, NULL, NULL);
		struct buf in = {0};
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		conns++;
		while (served < total) {
			size_t n;
			char tmp[4096], resp[256];
			int rl;
			while (!(n = req_len(&in))) {
				ssize_t r = read(fd, tmp, sizeof tmp);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					goto next;
				buf_add(&in, tmp, (size_t)r);
			}
			buf_printf(&rep, "%zu\n", n);
			buf_add(&rep, in.p, n);
			memmove(in.p, in.p + n, in.len - n);
			in.len -= n;
			served++;
			rl = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2"
			              "\r\n\r\nr%d%s", served, style == SRV_STRAY && served == 1 ? "EXTRA" : "");
			send(fd, resp, (size_t)rl, MSG_NOSIGNAL);
			if (style == SRV_CLOSE_EACH)
				break;
		}
next:
		close(fd);
		buf_free(&in);
	}
	buf_printf(&rep, "C%d\n", conns);
	fd_write_all(pfd, rep.p, rep.len);
	_exit(0);
}

static void
body_cb(struct jw *w, void *ctx)
{
	(void)ctx;
	jw_open(w, '{');
	jw_key(w, "a");
	jw_int(w, 1);
	jw_close(w, '}');
}

struct tcp_res {
	int rc[2], status[2];
	char body[2][64];
	char msg[2][600];
	int connects;             /* the client's count */
	int server_conns;         /* the server's count */
	int nreq;                 /* requests the server saw */
	char req[2][1024];
	int port;
};

static void
tcp_run(int style, struct tcp_res *t)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int ls, pfd[2], i;
	pid_t pid;
	char url[64];
	struct buf rep = {0};
	memset(t, 0, sizeof *t);
	t->server_conns = -1;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0 || pipe(pfd) < 0) {
		snprintf(t->msg[0], sizeof t->msg[0], "cannot listen on 127.0.0.1: %s", strerror(errno));
		t->rc[0] = t->rc[1] = AG_E_IO;
		if (ls >= 0)
			close(ls);
		return;
	}
	t->port = ntohs(sa.sin_port);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		tcp_server(ls, style, 2, pfd[1]);
	}
	close(ls);
	close(pfd[1]);
	memset(&h, 0, sizeof h);
	memset(&e, 0, sizeof e);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", t->port);
	url_parse(url, &h.url, &e);
	h.trust = &trust;
	h.net.fd = -1;
	h.net.timeout_ms = 2000;
	h.e = &e;
	for (i = 0; i < 2; i++) {
		char tmp[64];
		long n;
		size_t bl = 0;
		memset(&e, 0, sizeof e);
		t->rc[i] = http_request(&h, "POST", "/v1/x", "x-a: b\r\n", body_cb, NULL);
		t->status[i] = h.status;
		while (!t->rc[i] && (n = http_body_read(&h, tmp, sizeof tmp)) != 0) {
			if (n < 0) {
				t->rc[i] = (int)n;
				break;
			}
			if (bl + (size_t)n < sizeof t->body[i]) {
				memcpy(t->body[i] + bl, tmp, (size_t)n);
				bl += (size_t)n;
			}
		}
		t->body[i][bl] = 0;
		snprintf(t->msg[i], sizeof t->msg[i], "%s", e.msg);
		if (t->rc[i])
			http_close(&h);
	}
	t->connects = h.connects;
	if (h.net.fd >= 0)
		http_close(&h);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pfd[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_add(&rep, tmp, (size_t)r);
	}
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	/* parse the report */
	{
		size_t p = 0;
		while (rep.p && p < rep.len) {
			char *nl = memchr(rep.p + p, '\n', rep.len - p);
			if (!nl)
				break;
			if (rep.p[p] == 'C') {
				t->server_conns = atoi(rep.p + p + 1);
				break;
			} else {
				size_t n = strtoul(rep.p + p, NULL, 10);
				p = (size_t)(nl - rep.p) + 1;
				if (p + n > rep.len)
					break;
				if (t->nreq < 2)
					str_copy(t->req[t->nreq], sizeof t->req[t->nreq], rep.p + p, n);
				t->nreq++;
				p += n;
			}
		}
	}
	buf_free(&rep);
}

static void
tcp_show(const char *name, const struct tcp_res *t)
{
	int i;
	for (i = 0; i < 2; i++)
		printf("# %s: request %d: rc=%d status=%d body='%s' msg='%s'\n", name, i + 1, t->rc[i], t->status[i],
		       t->body[i], t->msg[i]);
	printf("# %s: client connects=%d, server connections=%d, requests seen=%d\n", name, t->connects,
	       t->server_conns, t->nreq);
}

static void
tcp_tests(void)
{
	struct tcp_res t;
	int ok;
	char want[256];

	tcp_run(SRV_KEEP, &t);
	ok = t.rc[0] == 0 && t.rc[1] == 0 && t.status[0] == 200 && t.status[1] == 200 && !strcmp(t.body[0], "r1") &&
	     !strcmp(t.body[1], "r2");
	if (!ok)
		tcp_show("keep-alive", &t);
	T_CHECK(ok, "keep-alive over TCP: two POSTs both succeed");
	T_CHECK(t.connects == 1 && t.server_conns == 1 && t.nreq == 2,
	        "keep-alive over TCP: one connection for two requests (client %d, server %d)", t.connects,
	        t.server_conns);
	T_CHECK(str_starts(t.req[0], "POST /v1/x HTTP/1.1\r\n"), "request line is 'POST /v1/x HTTP/1.1'");
	snprintf(want, sizeof want, "\r\nhost: 127.0.0.1:%d\r\n", t.port);
	T_CHECK(strstr(t.req[0], want) != NULL, "request carries 'host: 127.0.0.1:%d'", t.port);
	T_CHECK(strstr(t.req[0], "\r\nx-a: b\r\n") != NULL, "request carries the caller's header 'x-a: b'");
	T_CHECK(strstr(t.req[0], "\r\ncontent-length: 7\r\n") != NULL, "request content-length is the body length (7)");
	{
		const char *b = strstr(t.req[0], "\r\n\r\n");
		T_CHECK(b && strcmp(b + 4, "{\"a\":1}") == 0, "request body is exactly what body_cb wrote: {\"a\":1}");
	}
	T_CHECK(strcmp(t.req[0], t.req[1]) == 0, "the second request on the connection is byte-identical to the first");

	tcp_run(SRV_CLOSE_EACH, &t);
	ok = t.rc[0] == 0 && t.rc[1] == 0 && !strcmp(t.body[0], "r1") && !strcmp(t.body[1], "r2");
	if (!ok)
		tcp_show("server closes after each response", &t);
	T_CHECK(ok, "server closing after each response (no 'connection: close'): both requests succeed");
	T_CHECK(t.connects == 2 && t.server_conns == 2 && t.nreq == 2,
	        "server closing after each response: two connections (client %d, server %d)", t.connects,
	        t.server_conns);

	/* curl: "Excess found in a non pipelined read": bytes after a Content-Length body must not be taken as
	 * the start of the next response on a kept-alive connection */
	tcp_run(SRV_STRAY, &t);
	ok = t.rc[0] == 0 && t.rc[1] == 0 && !strcmp(t.body[0], "r1") && t.status[1] == 200 && !strcmp(t.body[1], "r2");
	if (!ok)
		tcp_show("stray bytes after a body", &t);
	T_CHECK(ok, "stray bytes after a Content-Length body do not poison the next response on the connection");
}

int
main(void)
{
	static char big[140 * 1024];
	size_t n;
	const char *env = getenv("T_SEED");
	if (env && *env)
		t_seed = (unsigned)strtoul(env, NULL, 10);
	alarm(300);
	signal(SIGPIPE, SIG_IGN);

	/* framing */
	expect("Content-Length body (peer keeps the connection open)",
	       S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"), 3000,
	       200, S("hello world"), 0, NULL, 1);
	T_CHECK(last.connected == 1 && last.left == 0, "Content-Length body: connection kept, nothing left over");
	expect("chunked body with extensions, uppercase hex, CRLF inside data and trailers",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "5;a=b\r\nhello\r\n"
	         "A\r\n, chunked!\r\n"
	         "C;name=\"v\";x\r\nline1\r\nline2\r\n"
	         "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	         "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"), 3000,
	       200, S("hello, chunked!line1\r\nline2abcdefghijklmnopqrstuvwxyz"), 0, NULL, 1);
	T_CHECK(last.connected == 1 && last.left == 0, "chunked body: trailers consumed, connection kept");
	expect("chunked body, last chunk '000' and no trailers",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n000\r\n\r\n"), 3000,
	       200, S("abc"), 0, NULL, 1);
	expect("close-delimited body",
	       S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\r\nof the connection"), 0,
	       200, S("until the end\r\nof the connection"), 0, NULL, 0);
	T_CHECK(last.connected == 0, "close-delimited body: connection closed after it");
	expect("HTTP/1.0 200, close-delimited", S("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nold-style body"), 0,
	       200, S("old-style body"), 0, NULL, 0);
	expect("HTTP/1.0 with Content-Length is not kept alive",
	       S("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"), 0, NULL, 0);
	expect("HTTP/1.0 with 'connection: keep-alive' is kept alive",
	       S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"), 0,
	       NULL, 1);
	expect("1xx interim responses (100, 103) before the 200",
	       S("HTTP/1.1 100 Continue\r\n\r\n"
	         "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
	         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"), 0, NULL, 1);
	{
		size_t l;
		T_CHECK(http_header(&h, "link", &l) == NULL, "headers of an interim response are not kept");
	}
	expect("204 has no body even if bytes follow",
	       S("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"), 3000, 204, S(""), 0, NULL, ANY);
	expect("304 has no body even if bytes follow",
	       S("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
	       3000, 304, S(""), 0, NULL, ANY);
	expect("bare LF line ends", S("HTTP/1.1 200 OK\nContent-Length: 3\nX-A: b\n\nabc"), 3000, 200, S("abc"), 0,
	       NULL, 1);
	expect("bare LF line ends in a chunked body",
	       S("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n2\nde\n0\n\n"), 3000, 200, S("abcde"), 0,
	       NULL, 1);

	/* header syntax */
	expect("header without a colon", S("HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "malformed", ANY);
	expect("header with an empty name", S("HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "malformed", ANY);
	expect("space before the colon", S("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello"), 0,
	       ANY, S(""), AG_E_HTTP, "malformed", ANY);
	expect("obsolete folded header accepted and ignored",
	       S("HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second part\r\n\tthird\r\nContent-Length: 2\r\n\r\nok"), 3000,
	       200, S("ok"), 0, NULL, 1);
	{
		size_t l = 0;
		const char *v = http_header(&h, "x-folded", &l);
		T_CHECK(v && l == 5 && memcmp(v, "first", 5) == 0, "folded header keeps its first line's value");
	}
	expect("NUL byte in a header", S("HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "NUL", ANY);

	/* Content-Length */
	expect("two different Content-Length values",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), 0,
	       ANY, S(""), AG_E_HTTP, "conflicting", ANY);
	expect("Content-Length list '5, 6'", S("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!"), 0,
	       ANY, S(""), AG_E_HTTP, "conflicting", ANY);
	expect("identical duplicate Content-Length",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello"), 3000, 200, S("hello"), 0,
	       NULL, 1);
	expect("Content-Length list '5, 5'", S("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello"), 3000,
	       200, S("hello"), 0, NULL, 1);
	expect("negative Content-Length", S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello"), 0,
	       ANY, S(""), AG_E_HTTP, "content-length", ANY);
	expect("Content-Length overflowing 2^64",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\nhello"), 0,
	       ANY, S(""), AG_E_HTTP, "content-length", ANY);
	expect("Content-Length with a sign", S("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello"), 0,
	       ANY, S(""), AG_E_HTTP, "content-length", ANY);
	expect("Content-Length: 0 is an empty body", S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 3000,
	       200, S(""), 0, NULL, 1);

	/* Transfer-Encoding, Content-Encoding */
	expect("Transfer-Encoding chunked with Content-Length: chunked used, connection not kept",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
	       3000, 200, S("abc"), 0, NULL, 0);
	T_CHECK(last.connected == 0, "Transfer-Encoding with Content-Length: connection closed after the body");
	expect("transfer-encoding gzip", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx"), 0,
	       ANY, S(""), AG_E_HTTP, "transfer-encoding", ANY);
	expect("transfer-encoding 'gzip, chunked'",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nxxxx\r\n0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "compressed", ANY);
	expect("content-encoding gzip", S("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nxxxx"), 0,
	       ANY, S(""), AG_E_HTTP, "compressed", ANY);
	expect("content-encoding identity is fine",
	       S("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 4\r\n\r\nxxxx"), 3000,
	       200, S("xxxx"), 0, NULL, 1);

	/* chunked faults */
	expect("chunk size 'zz'", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"), 0,
	       200, S(""), AG_E_HTTP, "chunk", ANY);
	expect("chunk size with 20 hex digits",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"), 0,
	       200, S(""), AG_E_HTTP, "overflows", ANY);
	expect("chunk data longer than its size",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"), 0,
	       200, S("abc"), AG_E_HTTP, "chunk", ANY);
	expect("missing last chunk, peer closes",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), 0,
	       200, S("hello"), AG_E_CLOSED, "incomplete", ANY);
	expect("peer closes inside chunk data",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello"), 0,
	       200, S("hello"), AG_E_CLOSED, "incomplete", ANY);

	/* bodies cut or too long */
	expect("body shorter than Content-Length, peer closes",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), 0, 200, S("hello"), AG_E_CLOSED, "incomplete",
	       ANY);
	expect("body longer than announced: only Content-Length bytes",
	       S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello world"), 3000, 200, S("hello"), 0, NULL, ANY);

	/* status line */
	expect("garbage status line", S("FOO BAR BAZ\r\n\r\n"), 0, ANY, S(""), AG_E_HTTP, "status line", ANY);
	expect("status code with letters", S("HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "status line", ANY);
	expect("HTTP/2 status line", S("HTTP/2 200\r\nContent-Length: 0\r\n\r\n"), 0,
	       ANY, S(""), AG_E_HTTP, "status line", ANY);
	expect("'HTTP/1.1 200' without a reason phrase", S("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"), 3000,
	       200, S("ok"), 0, NULL, 1);
	/* RFC 9112 section 2.2: a client SHOULD ignore at least one empty line received before the status-line */
	expect("an empty line before the status line is ignored",
	       S("\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"), 0, NULL, 1);
	expect("non-200 status with a body", S("HTTP/1.1 529 Overloaded\r\nContent-Length: 4\r\n\r\nbusy"), 3000,
	       529, S("busy"), 0, NULL, 1);

	/* sizes */
	n = 0;
	memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
	n = 24;
	memset(big + n, 'a', 100 * 1024);
	n += 100 * 1024;
	memcpy(big + n, "\r\nContent-Length: 0\r\n\r\n", 23);
	n += 23;
	expect("a 100 KB header line", big, n, 0, ANY, S(""), AG_E_HTTP, "longer", ANY);
	n = 0;
	memset(big, 'H', 100 * 1024);
	memcpy(big + 100 * 1024, "\r\n\r\n", 4);
	expect("a 100 KB status line", big, 100 * 1024 + 4, 0, ANY, S(""), AG_E_HTTP, "longer", ANY);
	{
		int i, lines = AG_HTTP_HEADER_MAX / 100 + 10;
		n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < lines && n + 200 < sizeof big; i++) {
			int k = snprintf(big + n, sizeof big - n, "X-H-%05d: ", i);
			n += (size_t)k;
			memset(big + n, 'v', 100 - (size_t)k - 2);
			n += 100 - (size_t)k - 2;
			memcpy(big + n, "\r\n", 2);
			n += 2;
		}
		memcpy(big + n, "Content-Length: 0\r\n\r\n", 21);
		n += 21;
		expect("total headers over AG_HTTP_HEADER_MAX", big, n, 0, ANY, S(""), AG_E_HTTP, "exceed", ANY);
		/* just under the limit is fine */
		lines = (AG_HTTP_HEADER_MAX - 200) / 100;
		n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n");
		for (i = 0; i < lines; i++) {
			int k = snprintf(big + n, sizeof big - n, "X-H-%05d: ", i);
			n += (size_t)k;
			memset(big + n, 'v', 100 - (size_t)k - 2);
			n += 100 - (size_t)k - 2;
			memcpy(big + n, "\r\n", 2);
			n += 2;
		}
		memcpy(big + n, "Content-Length: 2\r\n\r\nok", 23);
		n += 23;
		expect("headers just under AG_HTTP_HEADER_MAX", big, n, 3000, 200, S("ok"), 0, NULL, 1);
	}

	/* the peer going away or going quiet */
	expect("peer closing before any byte", S(""), 0, ANY, S(""), AG_E_CLOSED, "closed", ANY);
	T_CHECK(last.got == 0, "peer closing before any byte: first_got is 0 (a stale connection can be retried)");
	expect("peer closing in the middle of the headers", S("HTTP/1.1 200 OK\r\nContent-Le"), 0,
	       ANY, S(""), AG_E_CLOSED, "closed", ANY);
	T_CHECK(last.got > 0, "peer closing mid-response: first_got is not 0 (the request must not be resent)");
	expect_t("read timeout (half the headers, then silence)", S("HTTP/1.1 200 OK\r\nContent-Le"), 3000, 300,
	         ANY, S(""), AG_E_TIMEOUT, "sent nothing", ANY);
	expect_t("read timeout in the body", S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), 3000, 300,
	         200, S("hello"), AG_E_TIMEOUT, "sent nothing", ANY);

	/* header storage and connection handling */
	expect("header lookups", S("HTTP/1.1 200 OK\r\nX-MiXeD-CaSe: Value One\r\nCONTENT-LENGTH: 2\r\n"
	                            "X-Trail:  padded \t\r\nX-Empty:\r\nX-Mixed-Case-Longer: other\r\n\r\nok"),
	       3000, 200, S("ok"), 0, NULL, 1);
	{
		size_t l = 0;
		const char *v = http_header(&h, "x-mixed-case", &l);
		T_CHECK(v && l == 9 && memcmp(v, "Value One", 9) == 0, "http_header finds a mixed-case name by its lower-case form, value case kept");
		v = http_header(&h, "content-length", &l);
		T_CHECK(v && l == 1 && *v == '2', "http_header finds CONTENT-LENGTH as content-length");
		T_CHECK(memmem(h.hdr, h.hdrlen, "x-mixed-case: Value One\n", 24) != NULL &&
		        memmem(h.hdr, h.hdrlen, "X-MiXeD", 7) == NULL, "header names are stored lower-cased");
		v = http_header(&h, "x-trail", &l);
		T_CHECK(v && l == 6 && memcmp(v, "padded", 6) == 0, "header values lose leading and trailing blanks");
		T_CHECK(http_header(&h, "x-mixed", &l) == NULL, "a prefix of a header name does not match");
		T_CHECK(http_header(&h, "x-missing", &l) == NULL, "a missing header is NULL");
	}
	expect("'connection: close' sets keep to 0",
	       S("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"), 0, NULL, 0);
	T_CHECK(last.connected == 0, "'connection: close': connection closed after the body");
	expect("two Connection headers, the second says close: keep is 0",
	       S("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), 3000,
	       200, S("ok"), 0, NULL, 0);
	/* RFC 9112: field-line = field-name ":" OWS field-value OWS, and OWS is spaces or tabs */
	expect("a tab after the colon (OWS) in Content-Length",
	       S("HTTP/1.1 200 OK\r\nContent-Length:\t2\r\n\r\nok"), 3000, 200, S("ok"), 0, NULL, 1);
	expect("a tab after the colon (OWS) in Transfer-Encoding",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding:\tchunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), 3000,
	       200, S("ok"), 0, NULL, 1);
	expect("Transfer-Encoding split over two headers, gzip last: not decoded as plain chunked",
	       S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
	       0, ANY, S(""), AG_E_HTTP, "transfer-encoding", ANY);
	expect("'Connection: Keep-Alive, Close' (any case) sets keep to 0",
	       S("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 2\r\n\r\nok"), 3000, 200, S("ok"),
	       0, NULL, 0);

	tcp_tests();
	buf_free(&last.body);
	return t_done();
}
