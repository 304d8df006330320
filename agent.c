/* agent — a coding agent in one C file, for routers, boards and containers.
 *
 * It talks to the Anthropic Messages API over TLS (BearSSL), streams the answer, and (in later sections)
 * runs tools the way Claude Code does. One static musl binary of a few hundred KB, no other file needed.
 *
 * Build:  ./build.sh        (installs musl-tools, libbearssl-dev, libjsmn-dev if missing, then make)
 * Test:   make test
 * Device: ./agent --self-test
 *
 * Contents (regenerate with `make toc`; `make test` checks it is current)
 * TOC-BEGIN
 *  1. base: limits, errors, buffers, strings, clock
 *  2. json: jsmn tokens, lookups, unescape, writer
 *  3. net: URLs, sockets, timeouts
 *  4. tls: trust anchors, certificate clock, BearSSL client
 *  5. http: HTTP/1.1 client
 *  6. sse: server-sent events parser
 *  7. conv: the conversation store
 *  8. api: Messages API request and stream
 *  9. bound: the trust boundary
 * 10. tool: the tools the model calls
 * 11. mcp: Model Context Protocol servers
 * 12. perm: what may run without asking
 * 13. sess: sessions that survive
 * 14. ui: what the user sees
 * 15. loop: the agent loop
 * 16. term: raw mode and the line editor
 * 17. repl: the interactive session
 * 18. selftest: built-in checks for a new device
 * 19. cli: flags, environment, main
 * TOC-END
 */

/* ==== 1. base: limits, errors, buffers, strings, clock ==== */

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#ifdef __GLIBC__
#endif
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#include <bearssl.h>
#if defined(AG_HAVE_DATA) && !defined(AG_GEN)
#include "data.h"                 /* made by build/gen: the built-in roots and the packed prose */
#endif

#define AG_VERSION "0.1.0"

#ifndef AG_SSE_EVENT_MAX            /* largest SSE event (all its data lines) we accept, bytes */
#define AG_SSE_EVENT_MAX (256 * 1024)
#endif
#if AG_SSE_EVENT_MAX < 64 || AG_SSE_EVENT_MAX > (64 * 1024 * 1024)
#error "AG_SSE_EVENT_MAX out of range"
#endif
#ifndef AG_JSON_TOKENS              /* jsmn token pool for one SSE event */
#define AG_JSON_TOKENS 1024
#endif
#if AG_JSON_TOKENS < 16 || AG_JSON_TOKENS > 1000000
#error "AG_JSON_TOKENS out of range"
#endif
#ifndef AG_JSON_DEPTH               /* nesting the JSON copier follows */
#define AG_JSON_DEPTH 64
#endif
#if AG_JSON_DEPTH < 4 || AG_JSON_DEPTH > 4096
#error "AG_JSON_DEPTH out of range"
#endif
#ifndef AG_HTTP_HEADER_MAX          /* whole response header section */
#define AG_HTTP_HEADER_MAX (32 * 1024)
#endif
#if AG_HTTP_HEADER_MAX < 256
#error "AG_HTTP_HEADER_MAX too small"
#endif
#ifndef AG_HTTP_RBUF                /* socket read buffer */
#define AG_HTTP_RBUF (16 * 1024)
#endif
#if AG_HTTP_RBUF < 16
#error "AG_HTTP_RBUF too small"
#endif
#ifndef AG_HTTP_WBUF                /* request write buffer */
#define AG_HTTP_WBUF (8 * 1024)
#endif
#if AG_HTTP_WBUF < 16
#error "AG_HTTP_WBUF too small"
#endif
#ifndef AG_HTTP_ERRBODY_MAX         /* error bodies kept for their message */
#define AG_HTTP_ERRBODY_MAX (64 * 1024)
#endif
#ifndef AG_API_BLOCKS               /* content blocks in one message */
#define AG_API_BLOCKS 64
#endif
#ifndef AG_CONNECT_TIMEOUT_MS
#define AG_CONNECT_TIMEOUT_MS 15000
#endif
#ifndef AG_BUILD_EPOCH              /* set by the Makefile: certificates are never checked before this */
#define AG_BUILD_EPOCH 1764028800LL
#endif

/* Error codes: 0 or a positive count is success. "Need more input" is AG_E_AGAIN, never an error. */
enum {
	AG_E_AGAIN = -1, AG_E_INVAL = -2, AG_E_NOMEM = -3, AG_E_IO = -4, AG_E_TIMEOUT = -5, AG_E_TLS = -6,
	AG_E_HTTP = -7, AG_E_TOOBIG = -8, AG_E_CLOSED = -9, AG_E_API = -10, AG_E_USAGE = -11, AG_E_INTR = -12,
	AG_E_NOHOST = -13         /* the DNS says the name has no address: no retry can fix that */
};

/* printf-style formatting with vsnprintf's contract (the result is the length the whole output would
 * have), for the subset agent.c uses: flags - and 0, width and precision as digits or *, lengths hh h l ll z,
 * conversions d i u x c s %. No floating point (agent.c has none: costs are whole units of 10^-8 dollars).
 * musl's vfprintf, which also prints long doubles, is 10 KB; this is under 1 KB. */
static int base_vsnprintf(char *out, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static int base_snprintf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int base_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fd_write_all(int fd, const void *p, size_t n);

static int
base_vsnprintf(char *out, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;
#define BASE_PUT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
	while (*fmt) {
		char num[64], sign = 0;
		const char *s = num;
		size_t len = 0, pad;
		int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
		unsigned long long u = 0;
		if (*fmt != '%') {
			BASE_PUT(*fmt);
			fmt++;
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			*fmt == '-' ? (left = 1) : (zero = 1);
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0)
				left = 1, width = -width;
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		for (; *fmt == 'h' || *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = *fmt == 'l' ? lng + 1 : *fmt == 'z' ? 3 : lng;     /* 1 long, 2 long long, 3 size_t */
		switch (*fmt) {
		case 'd': case 'i': {
			long long v = lng == 3 ? (long long)va_arg(ap, ssize_t) : lng == 2 ? va_arg(ap, long long) :
			              lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0)
				sign = '-';
			u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			goto digits;
		}
		case 'u': case 'x':
			u = lng == 3 ? va_arg(ap, size_t) : lng == 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
		digits: {
			unsigned base = *fmt == 'x' ? 16 : 10;
			char *e = num + sizeof num;
			do
				*--e = "0123456789abcdef"[u % base];
			while (u /= base);
			s = e;
			len = (size_t)(num + sizeof num - e);
			break;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			len = 1;
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			len = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			break;
		case 0:
			fmt--;
			/* fall through */
		default:                 /* %% and anything unknown: printed as itself */
			num[0] = *fmt;
			len = 1;
		}
		fmt++;
		pad = (size_t)width > len + !!sign ? (size_t)width - len - !!sign : 0;
		if (!left && !zero)
			for (; pad; pad--)
				BASE_PUT(' ');
		if (sign)
			BASE_PUT(sign);
		for (; !left && pad; pad--)
			BASE_PUT('0');
		for (; len; len--)
			BASE_PUT(*s++);
		for (; pad; pad--)
			BASE_PUT(' ');
	}
#undef BASE_PUT
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
	return n > INT_MAX ? -1 : (int)n;
}

static int
base_snprintf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = base_vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* Formatted output straight to a file descriptor (stderr's messages, --help, --version), unbuffered. */
static int
base_dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	char tmp[1024], *p = tmp;
	int n;
	va_start(ap, fmt);
	n = base_vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof tmp && (p = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		base_vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (!p)
		p = tmp, n = sizeof tmp - 1;
	fd_write_all(fd, p, (size_t)n);
	if (p != tmp)
		free(p);
	return n;
}

/* The first error sticks: later failures deeper in the unwinding do not overwrite what went wrong. */
struct ag_err {
	int code;
	int status;              /* HTTP status when the error came from the server */
	char msg[600];
};

static int
err_set(struct ag_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	if (!e || e->code)
		return e ? e->code : code;
	e->code = code;
	va_start(ap, fmt);
	base_vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

/* Debian's libbearssl.a was built with _FORTIFY_SOURCE; musl has no __*_chk. These keep the checks. */
#if !defined(__GLIBC__)
void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dn);
void *__memset_chk(void *d, int c, size_t n, size_t dn);
void *__memcpy_chk(void *d, const void *s, size_t n, size_t dn) { if (n > dn) abort(); return memcpy(d, s, n); }
void *__memmove_chk(void *d, const void *s, size_t n, size_t dn) { if (n > dn) abort(); return memmove(d, s, n); }
void *__memset_chk(void *d, int c, size_t n, size_t dn) { if (n > dn) abort(); return memset(d, c, n); }
#endif

/* Heapsort of n elements of size bytes: O(n log n) in the worst case, no allocation, and 2 KB less than
 * musl's smoothsort. Not stable, like qsort. */
static void
base_sort_swap(unsigned char *a, unsigned char *b, size_t size)
{
	while (size--) {
		unsigned char t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

static void
base_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	unsigned char *v = base;
	size_t i = n / 2, end = n, root, child;
	while (end > 1) {
		if (i > 0)
			i--;                               /* building the heap */
		else
			base_sort_swap(v, v + --end * size, size);   /* the largest to the end */
		for (root = i; (child = 2 * root + 1) < end; root = child) {
			if (child + 1 < end && cmp(v + child * size, v + (child + 1) * size) < 0)
				child++;
			if (cmp(v + root * size, v + child * size) >= 0)
				break;
			base_sort_swap(v + root * size, v + child * size, size);
		}
	}
}

/* Inflate (RFC 1951), for the prose below: the long texts (tool definitions, system prompts, --help) are
 * written in this file as PROSE(name, "..."), and so are the messages of 34 characters or more (each just above
 * the function that says it, as FUNCTION_msgN), and the binary keeps them deflated. build/gen (this file built
 * with AG_GEN) writes them out, gzip -9 packs them, and build/data.h holds the packed bytes and where each
 * text starts; base_prose inflates them all the first time one is used. The generator inflates its own output
 * and compares, so a build never ships texts that do not come back whole. Builds without build/data.h (the
 * generator, fuzzers) keep them as plain strings. */
struct base_infl {
	const unsigned char *in;
	size_t inlen, ipos, olen, omax;
	unsigned char *out;
	unsigned long bits;
	int nbits, bad;
};
struct base_huff {                /* canonical Huffman code: how many codes of each length, symbols by code */
	unsigned short count[16], sym[288];
};

static unsigned
base_infl_bits(struct base_infl *s, int need)
{
	unsigned long v = s->bits;
	while (s->nbits < need) {
		if (s->ipos >= s->inlen) {
			s->bad = 1;
			return 0;
		}
		v |= (unsigned long)s->in[s->ipos++] << s->nbits;
		s->nbits += 8;
	}
	s->bits = v >> need;
	s->nbits -= need;
	return (unsigned)(v & ((1UL << need) - 1));
}

/* The code of n symbols from their lengths; 0, or -1 when the lengths are more than a code can have. */
static int
base_huff_make(struct base_huff *h, const unsigned char *len, int n)
{
	unsigned short off[16];
	int i, left = 1;
	memset(h->count, 0, sizeof h->count);
	for (i = 0; i < n; i++)
		h->count[len[i]]++;
	for (i = 1, off[1] = 0; i < 16; i++) {
		if ((left = 2 * left - h->count[i]) < 0)
			return -1;
		if (i < 15)
			off[i + 1] = (unsigned short)(off[i] + h->count[i]);
	}
	for (i = 0; i < n; i++)
		if (len[i])
			h->sym[off[len[i]]++] = (unsigned short)i;
	return 0;
}

static int
base_huff_get(struct base_infl *s, const struct base_huff *h)
{
	int code = 0, first = 0, index = 0, len;
	for (len = 1; len < 16; len++) {
		code |= (int)base_infl_bits(s, 1);
		if (code - h->count[len] < first)
			return h->sym[index + code - first];
		index += h->count[len];
		first = (first + h->count[len]) << 1;
		code <<= 1;
	}
	s->bad = 1;
	return 0;
}

/* One block's codes: literals, and (length, distance) copies of what is already out. */
static void
base_infl_codes(struct base_infl *s, const struct base_huff *lit, const struct base_huff *dist)
{
	int sym, e;
	size_t len, d;
	while (!s->bad && (sym = base_huff_get(s, lit)) != 256) {
		if (sym < 256) {
			if (s->olen >= s->omax)
				break;
			s->out[s->olen++] = (unsigned char)sym;
			continue;
		}
		sym -= 257;                 /* lengths 3..258 and distances 1..32768 as RFC 1951's tables say */
		if (sym >= 29)
			break;
		e = sym < 8 || sym == 28 ? 0 : (sym >> 2) - 1;
		len = sym == 28 ? 258 : sym < 8 ? (size_t)sym + 3 : ((size_t)(4 + (sym & 3)) << e) + 3;
		len += base_infl_bits(s, e);
		if ((sym = base_huff_get(s, dist)) >= 30)
			break;
		e = sym < 4 ? 0 : (sym >> 1) - 1;
		d = (sym < 4 ? (size_t)sym : (size_t)(2 + (sym & 1)) << e) + 1 + base_infl_bits(s, e);
		if (d > s->olen || len > s->omax - s->olen)
			break;
		for (; len; len--, s->olen++)
			s->out[s->olen] = s->out[s->olen - d];
	}
	if (sym != 256)
		s->bad = 1;
}

/* A dynamic block's two codes, themselves sent as lengths in a third code. */
static void
base_infl_dynamic(struct base_infl *s, struct base_huff *lit, struct base_huff *dist)
{
	static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
	unsigned char len[320];
	int nlit = (int)base_infl_bits(s, 5) + 257, ndist = (int)base_infl_bits(s, 5) + 1;
	int ncode = (int)base_infl_bits(s, 4) + 4, i, sym, rep, val;
	memset(len, 0, sizeof len);
	for (i = 0; i < ncode; i++)
		len[order[i]] = (unsigned char)base_infl_bits(s, 3);
	if (nlit > 286 || ndist > 30 || base_huff_make(lit, len, 19) < 0) {
		s->bad = 1;
		return;
	}
	for (i = 0; i < nlit + ndist && !s->bad;) {
		if ((sym = base_huff_get(s, lit)) < 16) {
			len[i++] = (unsigned char)sym;
			continue;
		}
		val = sym == 16 && i ? len[i - 1] : 0;
		rep = sym == 16 ? 3 + (int)base_infl_bits(s, 2) : sym == 17 ? 3 + (int)base_infl_bits(s, 3)
		                                                            : 11 + (int)base_infl_bits(s, 7);
		if ((sym == 16 && !i) || i + rep > nlit + ndist)
			s->bad = 1;
		while (!s->bad && rep--)
			len[i++] = (unsigned char)val;
	}
	if (s->bad || base_huff_make(lit, len, nlit) < 0 || base_huff_make(dist, len + nlit, ndist) < 0)
		s->bad = 1;
}

/* in (a raw deflate stream) into out; the length out, or -1 when the stream is not whole or does not fit. */
static long
base_inflate(const unsigned char *in, size_t inlen, unsigned char *out, size_t omax)
{
	struct base_infl s = {in, inlen, 0, 0, omax, out, 0, 0, 0};
	struct base_huff lit, dist;
	unsigned char len[320];
	int last, type, i;
	do {
		last = (int)base_infl_bits(&s, 1);
		type = (int)base_infl_bits(&s, 2);
		if (type == 0) {            /* stored: LEN, NLEN, the bytes */
			size_t n;
			s.bits = 0, s.nbits = 0;
			if (s.ipos + 4 > inlen || (in[s.ipos] ^ in[s.ipos + 2]) != 0xff ||
			    (in[s.ipos + 1] ^ in[s.ipos + 3]) != 0xff)
				return -1;
			n = in[s.ipos] | (size_t)in[s.ipos + 1] << 8;
			s.ipos += 4;
			if (n > inlen - s.ipos || n > omax - s.olen)
				return -1;
			memcpy(out + s.olen, in + s.ipos, n);
			s.ipos += n, s.olen += n;
			continue;
		}
		if (type == 1) {            /* fixed codes */
			for (i = 0; i < 288; i++)
				len[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
			memset(len + 288, 5, 30);
			base_huff_make(&lit, len, 288);
			base_huff_make(&dist, len + 288, 30);
		} else if (type == 2) {
			base_infl_dynamic(&s, &lit, &dist);
		} else {
			return -1;
		}
		if (!s.bad)
			base_infl_codes(&s, &lit, &dist);
		if (s.bad)
			return -1;
	} while (!last);
	return (long)s.olen;
}

#if defined(AG_HAVE_DATA) && !defined(AG_GEN)
#define PROSE(name, text)
#define prose(name) (base_prose() + PROSE_AT_##name)
static char base_prose_text[PROSE_SIZE];

static const char *
base_prose(void)
{
	static int done;
	if (!done && base_inflate(ag_prose_z, sizeof ag_prose_z, (unsigned char *)base_prose_text,
	                          sizeof base_prose_text) != PROSE_SIZE) {
		static const char msg[] = "agent: the texts built into this binary are damaged: copy it again\n";
		(void)!write(2, msg, sizeof msg - 1);
		_exit(70);
	}
	done = 1;
	return base_prose_text;
}
#else
#define PROSE(name, text) static const char name[] = text;
#define prose(name) (name)
#endif

PROSE(base_strerror_text,
	"Operation not permitted\0"
	"No such file or directory\0"
	"No such process\0"
	"Interrupted system call\0"
	"I/O error\0"
	"No such device or address\0"
	"Argument list too long\0"
	"Exec format error\0"
	"Bad file descriptor\0"
	"No child process\0"
	"Resource temporarily unavailable\0"
	"Out of memory\0"
	"Permission denied\0"
	"Resource busy\0"
	"File exists\0"
	"Cross-device link\0"
	"No such device\0"
	"Not a directory\0"
	"Is a directory\0"
	"Invalid argument\0"
	"Too many open files in system\0"
	"No file descriptors available\0"
	"Not a tty\0"
	"Text file busy\0"
	"File too large\0"
	"No space left on device\0"
	"Read-only file system\0"
	"Broken pipe\0"
	"Filename too long\0"
	"Function not implemented\0"
	"Directory not empty\0"
	"Symbolic link loop\0"
	"Address in use\0"
	"Address not available\0"
	"Network is down\0"
	"Network unreachable\0"
	"Connection aborted\0"
	"Connection reset by peer\0"
	"Socket not connected\0"
	"Operation timed out\0"
	"Connection refused\0"
	"Host is unreachable\0"
	"Protocol error\0"
	"Quota exceeded\0"
	"Not supported\0"
	"Address family not supported by protocol\0")

/* strerror for the errors agent meets, in musl's words (musl's whole table is 2.2 KB); others as "error N". */
static const char *
base_strerror(int e)
{
	static const unsigned short code[] = {
		EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD,
		EAGAIN, ENOMEM, EACCES, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL,
		ENFILE, EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, EROFS, EPIPE, ENAMETOOLONG, ENOSYS,
		ENOTEMPTY, ELOOP, EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ECONNABORTED, ECONNRESET, ENOTCONN, ETIMEDOUT,
		ECONNREFUSED, EHOSTUNREACH, EPROTO, EDQUOT, ENOTSUP, EAFNOSUPPORT
	};
	static char other[24];
	const char *t = prose(base_strerror_text);
	size_t i;
	for (i = 0; i < sizeof code / sizeof code[0]; i++, t += strlen(t) + 1)
		if (code[i] == e)
			return t;
	base_snprintf(other, sizeof other, "error %d", e);
	return other;
}

/* putenv of our own (musl's putenv, setenv and unsetenv are 1.3 KB): s is "NAME=value", kept (not copied),
 * or "NAME" to remove it. */
static int
base_putenv(const char *s)
{
	extern char **environ;
	static char **mine;                       /* the array this made last (the first is the kernel's) */
	size_t n = strcspn(s, "="), i, k;
	char **e;
	for (i = 0; environ && environ[i]; i++)
		;
	if (!(e = malloc((i + 2) * sizeof *e)))
		return -1;
	for (i = k = 0; environ && environ[i]; i++)
		if (strncmp(environ[i], s, n) || environ[i][n] != '=')
			e[k++] = environ[i];
	if (s[n])
		e[k++] = (char *)s;
	e[k] = NULL;
	if (environ == mine)
		free(mine);
	environ = mine = e;
	return 0;
}

/* exec of sh -c cmd (arg, when given, as its $1): execl would bring musl's variadic copy along. */
static void
base_exec_sh(const char *cmd, const char *arg)
{
	char *argv[] = { "sh", "-c", (char *)cmd, arg ? "sh" : NULL, (char *)arg, NULL };
	execv("/bin/sh", argv);
}

/* memmem by Horspool's shifts (musl's two-way search is 1.2 KB): at each window the byte under its end says
 * how far the needle can move on. */
static void *
str_mem(const void *hay, size_t hn, const void *needle, size_t nn)
{
	const unsigned char *h = hay, *n = needle;
	size_t shift[256], i;
	if (!nn || nn > hn)
		return nn ? NULL : (void *)h;
	for (i = 0; i < 256; i++)
		shift[i] = nn;
	for (i = 0; i + 1 < nn; i++)
		shift[n[i]] = nn - 1 - i;
	for (i = 0; i <= hn - nn; i += shift[h[i + nn - 1]])
		if (h[i + nn - 1] == n[nn - 1] && !memcmp(h + i, n, nn - 1))
			return (void *)(h + i);
	return NULL;
}

/* strstr through str_mem: musl's strstr is another 1.3 KB of the two-way search. */
static char *
str_find(const char *h, const char *n)
{
	return str_mem(h, strlen(h), n, strlen(n));
}

/* The allocator of the static build, in place of musl's (9 KB): blocks of 2^k bytes, k = 5..15, each behind
 * a 16-byte header that holds k, carved from 128 KB mappings and kept on a list per size when freed; larger
 * blocks are mappings of their own (the header holds the mapping's length), grown with mremap and returned
 * with munmap, so a long conversation's buffers never fragment the small ones. Pages a mapping has not yet
 * handed out are never touched, so they cost no memory. agent is single-threaded (children exec at once). */
#define BASE_MEM_HDR 16
#define BASE_MEM_MIN 5
#define BASE_MEM_MAX 15
#define BASE_MEM_CHUNK ((size_t)128 * 1024)

static char *base_mem_free[BASE_MEM_MAX + 1];   /* headers of free blocks; the next one is in the payload */
static char *base_mem_next, *base_mem_end;

static void *
base_mem_map(size_t n)
{
	void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? 0 : p;
}

static void *
base_mem_alloc(size_t n)
{
	char *h;
	size_t k = BASE_MEM_MIN, len;
	if (n > ((size_t)1 << BASE_MEM_MAX) - BASE_MEM_HDR) {
		len = (n + BASE_MEM_HDR + 4095) & ~(size_t)4095;
		if (len < n || !(h = base_mem_map(len)))
			goto nomem;
		*(size_t *)h = len;
		return h + BASE_MEM_HDR;
	}
	while (((size_t)1 << k) - BASE_MEM_HDR < n)
		k++;
	if ((h = base_mem_free[k])) {
		base_mem_free[k] = *(char **)(h + BASE_MEM_HDR);
	} else {
		if ((size_t)(base_mem_end - base_mem_next) < (size_t)1 << k) {
			if (!(base_mem_next = base_mem_map(BASE_MEM_CHUNK)))
				goto nomem;
			base_mem_end = base_mem_next + BASE_MEM_CHUNK;
		}
		h = base_mem_next;
		base_mem_next += (size_t)1 << k;
	}
	*(size_t *)h = k;
	return h + BASE_MEM_HDR;
nomem:
	errno = ENOMEM;
	return 0;
}

/* What a block holds: its usable size. */
static size_t
base_mem_size(const char *h)
{
	size_t v = *(const size_t *)h;
	return (v <= BASE_MEM_MAX ? (size_t)1 << v : v) - BASE_MEM_HDR;
}

static void
base_mem_release(void *p)
{
	char *h;
	size_t v;
	if (!p)
		return;
	h = (char *)p - BASE_MEM_HDR;
	if ((v = *(size_t *)h) > BASE_MEM_MAX) {
		munmap(h, v);
		return;
	}
	*(char **)p = base_mem_free[v];
	base_mem_free[v] = h;
}

static void *base_mem_resize(void *p, size_t n) __attribute__((unused));   /* only realloc's, and t_base's */

static void *
base_mem_resize(void *p, size_t n)
{
	char *h, *q;
	size_t have, len;
	if (!p)
		return base_mem_alloc(n);
	h = (char *)p - BASE_MEM_HDR;
	if ((have = base_mem_size(h)) >= n && (have <= 4096 || n > have / 2))
		return p;                              /* big blocks shrink when they halve */
	if (*(size_t *)h > BASE_MEM_MAX && n > ((size_t)1 << BASE_MEM_MAX) - BASE_MEM_HDR) {
		len = (n + BASE_MEM_HDR + 4095) & ~(size_t)4095;
		if (len < n || (q = mremap(h, *(size_t *)h, len, MREMAP_MAYMOVE)) == MAP_FAILED) {
			errno = ENOMEM;
			return 0;
		}
		*(size_t *)q = len;
		return q + BASE_MEM_HDR;
	}
	if (!(q = base_mem_alloc(n)))
		return 0;
	memcpy(q, p, have < n ? have : n);
	base_mem_release(p);
	return q;
}

#ifndef __GLIBC__
/* libc's names, so that musl's own callers (opendir, setenv, strdup) use the same blocks: the only
 * functions in agent.c that are not static. */
void *
malloc(size_t n)
{
	return base_mem_alloc(n);
}

void
free(void *p)
{
	base_mem_release(p);
}

void *
realloc(void *p, size_t n)
{
	return base_mem_resize(p, n);
}

void *
calloc(size_t m, size_t n)
{
	void *p;
	if (n && m > (size_t)-1 / n) {
		errno = ENOMEM;
		return 0;
	}
	if ((p = base_mem_alloc(m * n)))
		memset(p, 0, m * n);
	return p;
}
#endif

/* A growable byte buffer: what grows with the conversation lives in these. Always NUL-terminated. */
struct buf {
	char *p;
	size_t len, cap;
};

static int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;
	if (extra > SIZE_MAX / 2 - b->len)
		return AG_E_NOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return AG_E_NOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int
buf_add(struct buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n))
		return AG_E_NOMEM;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char tmp[256];
	va_start(ap, fmt);
	n = base_vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AG_E_INVAL;
	if ((size_t)n < sizeof tmp)
		return buf_add(b, tmp, (size_t)n);
	if (buf_reserve(b, (size_t)n))
		return AG_E_NOMEM;
	va_start(ap, fmt);
	base_vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* buf_free for a secret: what it held is wiped first, so it does not linger in freed memory. */
static void
buf_wipe(struct buf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);
	buf_free(b);
}

/* Copy at most cap-1 bytes and terminate; returns the length copied. */
static size_t
str_copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (!cap)
		return 0;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	return n;
}

static int
str_ieq(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	return an == bn && strncasecmp(a, b, an) == 0;
}

static int
str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Decimal, non-negative, overflow-checked. Returns AG_E_INVAL on anything else. */
static int
str_to_u64(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;
	if (!n)
		return AG_E_INVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return AG_E_INVAL;
		if ((unsigned)(s[i] - '0') > max || v > (max - (unsigned)(s[i] - '0')) / 10)
			return AG_E_INVAL;                /* (a digit above max would wrap max - digit) */
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Printable excerpt of untrusted bytes, for error messages: controls become '?', cut with "...". */
static void
str_excerpt(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i, o = 0;
	if (!cap)
		return;
	for (i = 0; i < n && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			break;
		dst[o++] = (c < 32 || c == 127) ? '?' : (char)c;
	}
	if (i < n && s[i] != '\r' && s[i] != '\n' && o + 3 < cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = 0;
}

/* Untrusted text made safe to print, in place: controls (C0 but newline, DEL, C1) become '?'. */
static char *
str_clean(char *s)
{
	unsigned char *p;
	for (p = (unsigned char *)s; p && *p; p++)
		if ((*p < 32 && *p != '\n') || *p == 127 || (*p == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0))
			*p = '?';
	return s;
}

/* The program's idea of "now". AGENT_TEST_NOW (unix seconds) is a test-only override, because a static
 * binary cannot be fooled by libfaketime; it is documented as such in README and never needed by users. */
static long long
clk_now(void)
{
	const char *t = getenv("AGENT_TEST_NOW");
	unsigned long long v;
	if (t && *t && !str_to_u64(t, strlen(t), 1ULL << 40, &v))
		return (long long)v;
	return (long long)time(NULL);
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms): the C
 * library's gmtime_r and timegm would bring its time-zone code along, 5 KB for nothing in UTC. */
static long long
clk_days(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void
clk_civil(long long z, long long *y, unsigned *m, unsigned *d)
{
	long long era;
	unsigned doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

/* YYYY-MM-DD (UTC) of a unix time. */
static void
clk_date(long long t, char *out, size_t cap)
{
	long long y, days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	unsigned m, d;
	clk_civil(days, &y, &m, &d);
	base_snprintf(out, cap, "%04lld-%02u-%02u", y, m, d);
}

static long long
clk_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Random bytes from /dev/urandom; a seeded generator where it is missing (ids and jitter, not keys). */
static void
str_random_bytes(unsigned char *r, size_t bytes)
{
	size_t i;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, r, bytes) != (ssize_t)bytes) {
		static unsigned long long x;
		x ^= (unsigned long long)clk_ms() ^ ((unsigned long long)getpid() << 32);
		for (i = 0; i < bytes; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			r[i] = (unsigned char)(x >> 56);
		}
	}
	if (fd >= 0)
		close(fd);
}

/* bytes random bytes as 2*bytes hex digits. */
static void
str_random_hex(char *out, size_t bytes)
{
	unsigned char r[64];
	size_t i;
	if (bytes > sizeof r)
		bytes = sizeof r;
	str_random_bytes(r, bytes);
	for (i = 0; i < bytes; i++)
		base_snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 9110's IMF-fixdate) as unix time; AG_E_INVAL otherwise. */
static int
clk_parse_http_date(const char *s, size_t n, long long *out)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	unsigned long long d, y, hh, mm, ss;
	const char *m;
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
	    s[22] != ':' || s[25] != ' ' || memcmp(s + 26, "GMT", 3) ||
	    str_to_u64(s + 5, 2, 31, &d) || str_to_u64(s + 12, 4, 9999, &y) || str_to_u64(s + 17, 2, 23, &hh) ||
	    str_to_u64(s + 20, 2, 59, &mm) || str_to_u64(s + 23, 2, 60, &ss))
		return AG_E_INVAL;
	for (m = mons; *m && memcmp(m, s + 8, 3); m += 3)
		;
	if (!*m)
		return AG_E_INVAL;
	*out = clk_days((long long)y, (unsigned)((m - mons) / 3 + 1), (unsigned)d) * 86400 + (long long)(hh * 3600 + mm * 60 + ss);
	return 0;
}

/* Write all of it, retrying short writes and EINTR. */
static int
fd_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return AG_E_IO;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static volatile sig_atomic_t base_orphaned;   /* in a command's keeper: the agent is gone */

static void
base_on_orphan(int sig)
{
	(void)sig;
	base_orphaned = 1;
}

/* In a keeper (a child subreaper): kill every process left below it, its own group first, then each child
 * (an orphan of any session, setsid's included, is re-parented here), until none is left. */
static void
base_reap_all(void)
{
	int rounds;
	for (rounds = 0; rounds < 1000; rounds++) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		pid_t self = getpid();
		while (d && (de = readdir(d)) != NULL) {
			char path[64], st[512], *p;
			int fd;
			ssize_t n;
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			base_snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				continue;
			n = read(fd, st, sizeof st - 1);
			close(fd);
			if (n <= 0)
				continue;
			st[n] = 0;
			if ((p = strrchr(st, ')')) != NULL && p[1] && p[2] && atoi(p + 4) == (int)self)
				kill(atoi(de->d_name), SIGKILL);   /* a child: "pid (comm) state ppid ..." */
		}
		if (d)
			closedir(d);
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
			return;
	}
}

/* fork() for a command the agent starts (Bash, an MCP server, apiKeyHelper), so that nothing it starts
 * outlives the agent, kill -9 included. The agent gets the pid of a small keeper that leads the command's
 * own process group and has a parent-death signal: when the agent dies, the keeper kills the group. The
 * keeper waits for the command and ends the same way it did (exit code or signal), so to the agent it is
 * the command. It is a child subreaper, so what the command leaves behind (in the background, or in a new
 * session by setsid) is re-parented to it and killed when the command ends or the agent dies.
 * Returns as fork() does: 0 in the command (before its exec), the keeper's pid, or -1. */
static pid_t
base_fork_kept(void)
{
	pid_t agent = getpid(), pid = fork(), cmd;
	int st = 0, fd;
	if (pid != 0)
		return pid;
	setpgid(0, 0);
	{
		struct sigaction sa;                  /* no SA_RESTART: the wait below must see it */
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = base_on_orphan;
		sigaction(SIGUSR1, &sa, NULL);
	}
	prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);   /* what leaves the group, setsid included, stays below */
	if (getppid() != agent)
		kill(0, SIGKILL);                     /* the agent died before the signal was set */
	cmd = fork();
	if (cmd == 0) {
		signal(SIGUSR1, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		return 0;
	}
	if (cmd < 0)
		_exit(126);
	for (fd = 0; fd < 1024; fd++)             /* no pipe end stays open here: EOF must reach both sides */
		close(fd);
	signal(SIGINT, SIG_IGN);                  /* the group's signals are for the command; its end is ours */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	while (waitpid(cmd, &st, 0) < 0 && errno == EINTR)
		if (base_orphaned) {
			kill(-getpid(), SIGTERM);         /* the keeper ignores SIGTERM; the group's processes do not */
			base_reap_all();
			_exit(137);
		}
	base_reap_all();                          /* what the command left running (background, setsid) ends with it */
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 126);
}

/* Whole file into a buffer; AG_E_IO with errno kept on failure. */
static int
file_read_all(const char *path, struct buf *out, size_t max)
{
	char tmp[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return AG_E_IO;
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return AG_E_IO;
		}
		if (r == 0)
			break;
		if (out->len + (size_t)r > max || buf_add(out, tmp, (size_t)r)) {
			close(fd);
			errno = EFBIG;
			return AG_E_TOOBIG;
		}
	}
	close(fd);
	return 0;
}

/* mkdir -p with mode for each created level. */
static int
file_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t i, n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return AG_E_INVAL;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == 0) {
			char c = tmp[i];
			tmp[i] = 0;
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return AG_E_IO;
			tmp[i] = c;
		}
	}
	return 0;
}

/* Replace a file atomically: temp file in the same directory, fsync, rename. Mode for a new file. */
static int
file_write_atomic(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, r;
	r = base_snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (r < 0 || (size_t)r >= sizeof tmp)
		return AG_E_INVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return AG_E_IO;
	if (fd_write_all(fd, data, n) || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return AG_E_IO;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return AG_E_IO;
	}
	return 0;
}

/* The state directory: $XDG_STATE_HOME/agent, else ~/.local/state/agent. Created 0700 on demand. */
static int
cfg_state_dir(char *out, size_t cap, int create)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	int r;
	if (x && *x == '/')
		r = base_snprintf(out, cap, "%s/agent", x);
	else if (h && *h)
		r = base_snprintf(out, cap, "%s/.local/state/agent", h);
	else
		return AG_E_INVAL;
	if (r < 0 || (size_t)r >= cap)
		return AG_E_INVAL;
	if (create && file_mkdirs(out, 0700))
		return AG_E_IO;
	return 0;
}

/* Base64 (RFC 4648): PEM bodies in, proxy credentials out. */
static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Base64 with whitespace skipped, stopping at '=' or '"' (the end of a JSON string). Returns bytes written,
 * or AG_E_INVAL / AG_E_TOOBIG. Four characters at a time through tables while they are all digits (a Bedrock
 * chunk, a PEM line): compiled for speed, not size, as the event-stream reader's other loop. */
#ifndef AG_HOT
#define AG_HOT __attribute__((optimize("O2")))
#endif
static long AG_HOT
b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	static uint32_t t[4][256];       /* a digit's value in place for its position; 0xFF000000: not a digit */
	unsigned acc = 0;
	int bits = 0;
	size_t i, o = 0;
	if (!t[0][0]) {
		for (i = 0; i < 256; i++) {
			int v = b64_val((int)i), k;
			for (k = 0; k < 4; k++)
				t[k][i] = v < 0 ? 0xFF000000u : (uint32_t)v << (18 - 6 * k);
		}
	}
	for (i = 0; i < n; i++) {
		int v;
		char c;
		if (!bits && n - i >= 4 && cap - o >= 4) {
			const unsigned char *u = (const unsigned char *)s + i;
			unsigned char *q = out + o;
			size_t g = (n - i) / 4, room = (cap - o - 1) / 3;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define B64_OUT(w) __builtin_bswap32((w) << 8)
#else
#define B64_OUT(w) ((w) << 8)
#endif
			for (g = g < room ? g : room; g >= 2; g -= 2, u += 8, q += 6) {   /* two groups a step */
				uint32_t w = t[0][u[0]] | t[1][u[1]] | t[2][u[2]] | t[3][u[3]];
				uint32_t x = t[0][u[4]] | t[1][u[5]] | t[2][u[6]] | t[3][u[7]];
				if ((w | x) >> 24)
					break;
				w = B64_OUT(w);
				x = B64_OUT(x);
				memcpy(q, &w, 4);         /* one store each; the fourth byte is written over next */
				memcpy(q + 3, &x, 4);
			}
			for (; g; g--, u += 4, q += 3) {
				uint32_t w = t[0][u[0]] | t[1][u[1]] | t[2][u[2]] | t[3][u[3]];
				if (w >> 24)
					break;
				w = B64_OUT(w);
				memcpy(q, &w, 4);
			}
#undef B64_OUT
			i = (size_t)((const char *)u - s);
			o = (size_t)(q - out);
		}
		if (i >= n)
			break;
		c = s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=' || c == '"')
			break;
		v = b64_val((unsigned char)c);
		if (v < 0)
			return AG_E_INVAL;
		acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return AG_E_TOOBIG;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

static void
b64_encode(const unsigned char *in, size_t n, struct buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		buf_add(out, q, 4);
	}
}

/* ==== 2. json: jsmn tokens, lookups, unescape, writer ==== */

/* One parsed JSON document: the text, and jsmn tokens in a caller-owned pool. */
struct json {
	const char *s;
	size_t len;
	jsmntok_t *t;
	int n;
};

/* Index just past value i (and everything inside it). Iterative; never reads past the token count. */
static int
json_skip(const struct json *j, int i)
{
	long pending = 1;
	while (pending > 0) {
		if (i < 0 || i >= j->n)
			return j->n;
		pending += j->t[i].size;
		pending--;
		i++;
	}
	return i;
}

/* A primitive jsmn accepted is JSON's: true, false, null, or a number by JSON's grammar. */
static int
json_prim_ok(const char *s, size_t n)
{
	size_t i = 0;
	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) || (n == 4 && !memcmp(s, "null", 4)))
		return 1;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* Only whitespace between a and b, with exactly one sep in it when sep is not 0. */
static int
json_gap_ok(const char *s, size_t a, size_t b, char sep)
{
	int seen = 0;
	for (; a < b; a++) {
		if (s[a] == sep && !seen)
			seen = 1;
		else if (s[a] != ' ' && s[a] != '\t' && s[a] != '\r' && s[a] != '\n')
			return 0;
	}
	return sep ? seen : 1;
}

/* jsmn in strict mode still lets some grammar through (missing or doubled commas and colons, a key
 * without a value): check what lies between the tokens. Iterative, with a bounded stack. */
static int
json_grammar_ok(const struct json *j)
{
	enum { DEPTH = 4096 };          /* 64 KB of stack; deeper documents are refused */
	int stack[DEPTH], left[DEPTH], d = 0, i;
	size_t prev[DEPTH];
	const jsmntok_t *t = j->t;
	if (t[0].type != JSMN_OBJECT && t[0].type != JSMN_ARRAY)
		return 1;
	stack[0] = 0;
	left[0] = t[0].size * (t[0].type == JSMN_OBJECT ? 2 : 1);
	prev[0] = (size_t)t[0].start + 1;
	for (i = 1; i <= j->n; i++) {
		while (d >= 0 && left[d] == 0) {      /* a container is complete: only whitespace before its end */
			const jsmntok_t *c = &t[stack[d]];
			if (!json_gap_ok(j->s, prev[d], (size_t)c->end - 1, 0))
				return 0;
			d--;
			if (d >= 0) {
				prev[d] = (size_t)c->end;
				left[d]--;
			}
		}
		if (i == j->n || d < 0)
			break;
		{
			const jsmntok_t *p = &t[stack[d]], *c = &t[i];
			int obj = p->type == JSMN_OBJECT, total = p->size * (obj ? 2 : 1), k = total - left[d];
			size_t start = (size_t)c->start - (c->type == JSMN_STRING ? 1 : 0);
			char sep = k == 0 ? 0 : (obj && k % 2 == 1) ? ':' : ',';
			if (!json_gap_ok(j->s, prev[d], start, sep))
				return 0;
			if (obj && k % 2 == 0 && (c->type != JSMN_STRING || c->size != 1))
				return 0;                     /* a key: a string followed by its colon */
			if (!(obj && k % 2 == 0) && c->type == JSMN_STRING && c->size != 0)
				return 0;                     /* a value string with a colon after it */
			if (c->type == JSMN_OBJECT || c->type == JSMN_ARRAY) {
				if (d + 1 >= DEPTH)
					return 0;
				d++;
				stack[d] = i;
				left[d] = c->size * (c->type == JSMN_OBJECT ? 2 : 1);
				prev[d] = (size_t)c->start + 1;
			} else {
				prev[d] = (size_t)c->end + (c->type == JSMN_STRING ? 1 : 0);
				left[d]--;
			}
		}
	}
	return d < 0;
}

/* Tokenize exactly one JSON value (surrounding whitespace allowed). Returns token count or an error:
 * AG_E_TOOBIG when the pool is too small, AG_E_INVAL for anything that is not one complete value. */
static int
json_parse(struct json *j, const char *s, size_t len, jsmntok_t *pool, int cap)
{
	jsmn_parser p;
	int n, i;
	size_t end, b = 0;
	j->s = s;
	j->len = len;
	j->t = pool;
	j->n = 0;
	while (b < len && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
		b++;
	if (b < len && s[b] != '{' && s[b] != '[' && s[b] != '"') {
		/* a lone primitive: strict jsmn wants a delimiter after it, so it is checked here */
		end = len;
		while (end > b && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r' || s[end - 1] == '\n'))
			end--;
		if (!json_prim_ok(s + b, end - b))
			return AG_E_INVAL;
		pool[0].type = JSMN_PRIMITIVE;
		pool[0].start = (int)b;
		pool[0].end = (int)end;
		pool[0].size = 0;
		return j->n = 1;
	}
	if (len > INT_MAX)
		return AG_E_TOOBIG;
	jsmn_init(&p);
	n = jsmn_parse(&p, s, len, pool, (unsigned)cap);
	if (n == JSMN_ERROR_NOMEM)
		return AG_E_TOOBIG;
	if (n <= 0)
		return AG_E_INVAL;
	j->n = n;
	if (json_skip(j, 0) != n)                 /* more than one top-level value */
		return AG_E_INVAL;
	end = (size_t)pool[0].end;
	if (pool[0].type == JSMN_STRING)
		end++;                                    /* token excludes the closing quote */
	for (; end < len; end++)
		if (s[end] != ' ' && s[end] != '\t' && s[end] != '\r' && s[end] != '\n')
			return AG_E_INVAL;
	for (i = 0; i < n; i++) {                  /* jsmn takes any bare word; we take JSON's */
		if (pool[i].type == JSMN_PRIMITIVE &&
		    !json_prim_ok(s + pool[i].start, (size_t)(pool[i].end - pool[i].start)))
			return AG_E_INVAL;
		if (pool[i].type == JSMN_STRING) {      /* and raw control characters in strings */
			const unsigned char *c = (const unsigned char *)s + pool[i].start;
			const unsigned char *e = (const unsigned char *)s + pool[i].end;
			for (; c < e; c++)
				if (*c < 0x20)
					return AG_E_INVAL;
		}
	}
	if (!json_grammar_ok(j))
		return AG_E_INVAL;
	return n;
}

/* json_parse with a token pool sized for the text (counted first) and allocated; *pool is the caller's
 * to free, also on failure. For documents of unknown size: tool input, a whole message. */
static int
json_parse_alloc(struct json *j, const char *s, size_t len, jsmntok_t **pool)
{
	jsmn_parser p;
	int n;
	*pool = NULL;
	j->n = 0;
	if (len > INT_MAX)
		return AG_E_TOOBIG;
	jsmn_init(&p);
	n = jsmn_parse(&p, s, len, NULL, 0);
	if (n <= 0) {
		size_t b = 0;                         /* a lone primitive: json_parse checks it with one token */
		while (b < len && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
			b++;
		if (b == len || s[b] == '{' || s[b] == '[' || s[b] == '"')
			return AG_E_INVAL;
		n = 1;
	}
	if (!(*pool = malloc(sizeof **pool * (size_t)n)))
		return AG_E_NOMEM;
	return json_parse(j, s, len, *pool, n);
}

/* Value index of key in object obj, or -1. Keys are compared as raw bytes (ours never need escapes). */
static int
json_get(const struct json *j, int obj, const char *key)
{
	int i, k, size;
	size_t kl = strlen(key);
	if (obj < 0 || obj >= j->n || j->t[obj].type != JSMN_OBJECT)
		return -1;
	size = j->t[obj].size;
	i = obj + 1;
	for (k = 0; k < size; k++) {
		if (i + 1 >= j->n)
			return -1;
		if (j->t[i].type == JSMN_STRING && (size_t)(j->t[i].end - j->t[i].start) == kl &&
		    memcmp(j->s + j->t[i].start, key, kl) == 0)
			return i + 1;
		i = json_skip(j, i + 1);
	}
	return -1;
}

/* Follow a dotted path of object keys: "delta.text". */
static int
json_path(const struct json *j, int i, const char *path)
{
	char key[64];
	while (*path && i >= 0) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		str_copy(key, sizeof key, path, n);
		i = json_get(j, i, key);
		path += n + (dot ? 1 : 0);
	}
	return i;
}

/* Raw token equals a literal (for type names and enum values, which never carry escapes). */
static int
json_eq(const struct json *j, int i, const char *lit)
{
	size_t n = strlen(lit);
	return i >= 0 && i < j->n && j->t[i].type == JSMN_STRING &&
	       (size_t)(j->t[i].end - j->t[i].start) == n && memcmp(j->s + j->t[i].start, lit, n) == 0;
}

static int
json_int(const struct json *j, int i, long long *out)
{
	unsigned long long v;
	const char *s;
	size_t n;
	int neg;
	if (i < 0 || i >= j->n || j->t[i].type != JSMN_PRIMITIVE)
		return AG_E_INVAL;
	s = j->s + j->t[i].start;
	n = (size_t)(j->t[i].end - j->t[i].start);
	neg = n && s[0] == '-';
	if (str_to_u64(s + neg, n - (size_t)neg, LLONG_MAX, &v))
		return AG_E_INVAL;
	*out = neg ? -(long long)v : (long long)v;
	return 0;
}

static int
utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) { o[0] = (char)cp; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 63)); o[2] = (char)(0x80 | (cp & 63));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 63));
	o[2] = (char)(0x80 | (cp >> 6 & 63)); o[3] = (char)(0x80 | (cp & 63));
	return 4;
}

static int
hex4(const char *s, unsigned *v)
{
	int i;
	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return AG_E_INVAL;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Unescape a JSON string body into out (which must hold n bytes: unescaping never grows). \uXXXX and
 * surrogate pairs become UTF-8; a lone surrogate becomes U+FFFD. Raw bytes pass through unchanged. */
static long
json_unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		memmove(out + o, s + i, run);
		o += run;
		i += run;
		if (i >= n)
			break;
		if (i + 1 >= n)
			return AG_E_INVAL;
		switch (s[i + 1]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (i + 6 > n || hex4(s + i + 2, &cp))
				return AG_E_INVAL;
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
			    !hex4(s + i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			o += (size_t)utf8_put(out + o, cp);
			continue;
		}
		default:
			return AG_E_INVAL;
		}
		i += 2;
	}
	return (long)o;
}

/* Unescaped string value i appended to b. */
static int
json_str_buf(const struct json *j, int i, struct buf *b)
{
	size_t n;
	long r;
	if (i < 0 || i >= j->n || j->t[i].type != JSMN_STRING)
		return AG_E_INVAL;
	n = (size_t)(j->t[i].end - j->t[i].start);
	if (buf_reserve(b, n))
		return AG_E_NOMEM;
	r = json_unescape(j->s + j->t[i].start, n, b->p + b->len);
	if (r < 0)
		return (int)r;
	b->len += (size_t)r;
	b->p[b->len] = 0;
	return 0;
}

/* Unescaped string value i into a fixed array (cut to fit). */
static int
json_str(const struct json *j, int i, char *out, size_t cap)
{
	char tmp[1024];
	size_t n;
	long r;
	if (i < 0 || i >= j->n || j->t[i].type != JSMN_STRING || !cap)
		return AG_E_INVAL;
	n = (size_t)(j->t[i].end - j->t[i].start);
	if (n > sizeof tmp)
		n = sizeof tmp;                /* cutting may split an escape: then it is invalid */
	r = json_unescape(j->s + j->t[i].start, n, tmp);
	if (r < 0)
		return (int)r;
	str_copy(out, cap, tmp, (size_t)r);
	return 0;
}

/* The JSON writer. Output goes to a sink (a buffer, a connection, or nowhere: a NULL sink only counts,
 * which is how a request body's Content-Length is known before it is written). Commas are automatic. */
struct jw {
	int (*sink)(void *ctx, const char *s, size_t n);
	void *ctx;
	size_t n;                 /* bytes produced */
	int err;                  /* sticky */
	int depth;
	int after_key;
	unsigned char first[AG_JSON_DEPTH + 1];
};

static void
jw_init(struct jw *w, int (*sink)(void *, const char *, size_t), void *ctx)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->ctx = ctx;
	w->first[0] = 1;
}

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->err || !n)
		return;
	w->n += n;
	if (w->sink) {
		int r = w->sink(w->ctx, s, n);
		if (r < 0)
			w->err = r;
	}
}

static int
jw_sink_buf(void *ctx, const char *s, size_t n)
{
	return buf_add(ctx, s, n);
}

static void
jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		jw_raw(w, ",", 1);
	w->first[w->depth] = 0;
}

static void
jw_open(struct jw *w, char c)
{
	jw_sep(w);
	jw_raw(w, &c, 1);
	if (w->depth >= AG_JSON_DEPTH) {
		w->err = AG_E_TOOBIG;
		return;
	}
	w->first[++w->depth] = 1;
}

static void
jw_close(struct jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	jw_raw(w, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid (overlong, surrogate, > U+10FFFF). */
static int
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

/* Bytes that go into a JSON string as they are: printable ASCII but the quote and the backslash. */
static const unsigned char jw_plain[256] = {
	['!'] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7E] = 1, [' '] = 1,
};

/* A string body without the quotes: control characters escaped, invalid UTF-8 replaced with U+FFFD,
 * so that no input (a binary file, a broken stream) can make the request invalid JSON. */
static void
jw_strbody(struct jw *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0;
	while (i < n) {
		unsigned c;
		const char *esc = NULL;
		char u[8];
		int l;
		while (i < n && jw_plain[p[i]])       /* the common case: a run of plain ASCII */
			i++;
		if (i == n)
			break;
		c = p[i];
		if (c >= 0x80) {
			l = utf8_len(p + i, n - i);
			if (l) {
				i += (size_t)l;
				continue;
			}
			esc = "\xEF\xBF\xBD";
		} else if (c == '"') esc = "\\\"";
		else if (c == '\\') esc = "\\\\";
		else if (c == '\n') esc = "\\n";
		else if (c == '\r') esc = "\\r";
		else if (c == '\t') esc = "\\t";
		else if (c == '\b') esc = "\\b";
		else if (c == '\f') esc = "\\f";
		else {
			base_snprintf(u, sizeof u, "\\u%04x", c);
			esc = u;
		}
		jw_raw(w, s + start, i - start);
		jw_raw(w, esc, strlen(esc));
		i++;
		start = i;
	}
	jw_raw(w, s + start, i - start);
}

static void
jw_strn(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	jw_raw(w, "\"", 1);
	jw_strbody(w, s, n);
	jw_raw(w, "\"", 1);
}

static void
jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

static void
jw_key(struct jw *w, const char *k)
{
	jw_strn(w, k, strlen(k));
	jw_raw(w, ":", 1);
	w->after_key = 1;
}

static void
jw_int(struct jw *w, long long v)
{
	char tmp[32];
	int n = base_snprintf(tmp, sizeof tmp, "%lld", v);
	jw_sep(w);
	jw_raw(w, tmp, (size_t)n);
}

static void
jw_bool(struct jw *w, int v)
{
	jw_sep(w);
	jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

/* A value that is already JSON text (trusted: we produced or re-serialised it). */
static void
jw_json(struct jw *w, const char *s, size_t n)
{
	jw_sep(w);
	jw_raw(w, s, n);
}

/* Re-serialise token i of a parsed document through the writer: strings are unescaped and escaped again,
 * numbers and literals checked, so what leaves is valid JSON even when jsmn was lenient. Iterative. */
static int
json_copy(struct jw *w, const struct json *j, int i)
{
	int remain[AG_JSON_DEPTH + 1], isobj[AG_JSON_DEPTH + 1], d = 0, end;
	char tmp[256];
	if (i < 0 || i >= j->n)
		return w->err = AG_E_INVAL;   /* a lookup that found nothing: never a token before the array */
	end = json_skip(j, i);
	remain[0] = 1;
	isobj[0] = 0;
	while (i < end && !w->err) {
		const jsmntok_t *t = &j->t[i];
		const char *s = j->s + t->start;
		size_t n = (size_t)(t->end - t->start);
		int key = isobj[d] && (remain[d] % 2 == 0);
		if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
			if (d >= AG_JSON_DEPTH)
				return w->err = AG_E_TOOBIG;
			jw_open(w, t->type == JSMN_OBJECT ? '{' : '[');
			remain[d]--;
			d++;
			isobj[d] = t->type == JSMN_OBJECT;
			remain[d] = t->size * (isobj[d] ? 2 : 1);
		} else if (t->type == JSMN_STRING) {
			struct buf b = {0};
			long r;
			char *p = n <= sizeof tmp ? tmp : (buf_reserve(&b, n) ? NULL : b.p);
			if (!p)
				return w->err = AG_E_NOMEM;
			r = json_unescape(s, n, p);
			if (r < 0) {
				buf_free(&b);
				return w->err = AG_E_INVAL;
			}
			jw_strn(w, p, (size_t)r);
			buf_free(&b);
			if (key) {
				jw_raw(w, ":", 1);
				w->after_key = 1;
			}
			remain[d]--;
		} else {
			if (!json_prim_ok(s, n) || key)
				return w->err = AG_E_INVAL;
			jw_sep(w);
			jw_raw(w, s, n);
			remain[d]--;
		}
		i++;
		while (d > 0 && remain[d] == 0) {
			jw_close(w, isobj[d] ? '}' : ']');
			d--;
		}
	}
	return w->err;
}

PROSE(url_parse_msg4,
	"base URL '%.200s' has no host name")

PROSE(url_parse_msg1,
	"base URL '%.200s' must start with https:// or http://")
PROSE(url_parse_msg2,
	"base URL '%.200s': user:password@ is not supported here")
PROSE(url_parse_msg3,
	"base URL '%.200s': unterminated [IPv6] address")

/* ==== 3. net: URLs, sockets, timeouts ==== */

struct url {
	int tls;
	char host[256];
	char port[8];
	char prefix[512];         /* path prefix without a trailing slash: "" or "/gateway" */
};

/* scheme://host[:port][/prefix] for http and https; [v6] literals allowed. */
static int
url_parse(const char *s, struct url *u, struct ag_err *e)
{
	const char *h, *end, *colon = NULL, *slash;
	size_t n;
	memset(u, 0, sizeof *u);
	if (str_starts(s, "https://")) {
		u->tls = 1;
		h = s + 8;
	} else if (str_starts(s, "http://")) {
		h = s + 7;
	} else {
		return err_set(e, AG_E_USAGE, prose(url_parse_msg1), s);
	}
	slash = strchr(h, '/');
	end = slash ? slash : h + strlen(h);
	if (memchr(h, '@', (size_t)(end - h)))
		return err_set(e, AG_E_USAGE, prose(url_parse_msg2), s);
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb)
			return err_set(e, AG_E_USAGE, prose(url_parse_msg3), s);
		n = (size_t)(rb - h - 1);
		if (n == 0 || n >= sizeof u->host)
			return err_set(e, AG_E_USAGE, "base URL '%.200s': bad host", s);
		str_copy(u->host, sizeof u->host, h + 1, n);
		if (rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
		else if (rb + 1 != end)
			return err_set(e, AG_E_USAGE, "base URL '%.200s': bad host", s);
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon ? colon : end) - h);
		if (n == 0 || n >= sizeof u->host)
			return err_set(e, AG_E_USAGE, prose(url_parse_msg4), s);
		str_copy(u->host, sizeof u->host, h, n);
	}
	if (colon) {
		unsigned long long p;
		n = (size_t)(end - colon - 1);
		if (str_to_u64(colon + 1, n, 65535, &p) || p == 0)
			return err_set(e, AG_E_USAGE, "base URL '%.200s': bad port", s);
		base_snprintf(u->port, sizeof u->port, "%u", (unsigned)p);
	} else {
		base_snprintf(u->port, sizeof u->port, "%s", u->tls ? "443" : "80");
	}
	if (slash) {
		n = strlen(slash);
		while (n && slash[n - 1] == '/')
			n--;
		if (n >= sizeof u->prefix || memchr(slash, '?', n) || memchr(slash, '#', n) ||
		    memchr(slash, ' ', n))
			return err_set(e, AG_E_USAGE, "base URL '%.200s': bad path", s);
		str_copy(u->prefix, sizeof u->prefix, slash, n);
	}
	return 0;
}

static int
url_host_is_ip(const char *host)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

/* A connected socket with a per-operation timeout. Non-blocking underneath; poll() does the waiting. */
struct net {
	int fd;
	int timeout_ms;
	void (*tick)(void *ctx);  /* called every ~100 ms while waiting (the spinner), when set */
	void *tick_ctx;
};

static volatile sig_atomic_t ag_interrupted;
static volatile sig_atomic_t ag_terminated;   /* SIGTERM or SIGHUP: finish up and leave */

static int
net_wait(struct net *c, short ev)
{
	struct pollfd p;
	int r;
	long long deadline = c->timeout_ms > 0 ? clk_ms() + c->timeout_ms : 0;
	p.fd = c->fd;
	p.events = ev;
	for (;;) {
		long long left = deadline ? deadline - clk_ms() : -1;
		int slice = left < 0 ? -1 : (int)left;
		if (deadline && left <= 0)
			return AG_E_TIMEOUT;
		if (c->tick && (slice < 0 || slice > 100))
			slice = 100;
		r = poll(&p, 1, slice);
		if (r < 0 && errno == EINTR) {
			if (ag_interrupted)
				return AG_E_INTR;
			continue;
		}
		if (r < 0)
			return AG_E_IO;
		if (r == 0) {
			if (c->tick)
				c->tick(c->tick_ctx);
			continue;
		}
		return 0;
	}
}

/* > 0 bytes, 0 at EOF, < 0 error. */
static long
net_read(struct net *c, void *p, size_t n)
{
	for (;;) {
		ssize_t r = read(c->fd, p, n);
		if (r >= 0)
			return (long)r;
		if (errno == EINTR && !ag_interrupted)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = net_wait(c, POLLIN);
			if (w)
				return w;
			continue;
		}
		if (errno == EINTR)
			return AG_E_INTR;
		return errno == ECONNRESET ? AG_E_CLOSED : AG_E_IO;
	}
}

static long
net_write(struct net *c, const void *p, size_t n)
{
	for (;;) {
		ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
		if (r >= 0)
			return (long)r;
		if (errno == EINTR && !ag_interrupted)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = net_wait(c, POLLOUT);
			if (w)
				return w;
			continue;
		}
		if (errno == EINTR)
			return AG_E_INTR;
		return (errno == EPIPE || errno == ECONNRESET) ? AG_E_CLOSED : AG_E_IO;
	}
}

static void
net_close(struct net *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
net_write_all(struct net *c, const void *p, size_t n)
{
	while (n) {
		long w = net_write(c, p, n);
		if (w <= 0)
			return w ? (int)w : AG_E_CLOSED;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static int
net_read_exact(struct net *c, void *p, size_t n)
{
	while (n) {
		long r = net_read(c, p, n);
		if (r <= 0)
			return r ? (int)r : AG_E_CLOSED;
		p = (char *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

/* Name resolution in a few KB instead of musl's 14 (getaddrinfo and its resolver): an IP literal; the hosts
 * file; then DNS over UDP the way musl does it: the A and AAAA queries sent together to every nameserver of
 * resolv.conf, the first real answer to each kept, both resent every timeout/attempts seconds until
 * `timeout` has passed (options timeout:N attempts:N, 5 and 2 by default), the search domains tried first
 * for a name with fewer dots than ndots (1), an answer truncated without an address asked again over TCP.
 * IPv6 addresses come first where this host has a route to them, then IPv4, then the other IPv6 ones (what
 * RFC 6724's ordering amounts to for one host). */
#ifndef AG_RESOLV_CONF
#define AG_RESOLV_CONF "/etc/resolv.conf"
#endif
#ifndef AG_HOSTS_FILE
#define AG_HOSTS_FILE "/etc/hosts"
#endif
#define NET_ADDRS 16

/* A socket address of either family (a union: no pointer casts between the two) */
union net_sa {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct net_addrs {
	int n;
	union net_sa sa[NET_ADDRS];
};

struct net_dnsconf {
	union net_sa ns[3];
	int nns, timeout_s, attempts, ndots;
	char search[256];
	char first[48];                       /* the first server as written, for messages */
};

static socklen_t
net_sa_len(const union net_sa *sa)
{
	return sa->sa.sa_family == AF_INET6 ? sizeof sa->v6 : sizeof sa->v4;
}

static void
net_sa_set(union net_sa *sa, int family, const void *ip, unsigned port)
{
	memset(sa, 0, sizeof *sa);
	if (family == AF_INET) {
		sa->v4.sin_family = AF_INET;
		sa->v4.sin_port = htons((uint16_t)port);
		memcpy(&sa->v4.sin_addr, ip, 4);
	} else {
		sa->v6.sin6_family = AF_INET6;
		sa->v6.sin6_port = htons((uint16_t)port);
		memcpy(&sa->v6.sin6_addr, ip, 16);
	}
}

/* An IP literal into a socket address with the port; 0 when s is not one. */
static int
net_sa_parse(const char *s, unsigned port, union net_sa *sa)
{
	unsigned char ip[16];
	int family = inet_pton(AF_INET, s, ip) == 1 ? AF_INET : inet_pton(AF_INET6, s, ip) == 1 ? AF_INET6 : 0;
	if (family)
		net_sa_set(sa, family, ip, port);
	return family != 0;
}

/* One more address to try, unless it is there already or the list is full. */
static void
net_addrs_add(struct net_addrs *a, const union net_sa *sa)
{
	int i;
	for (i = 0; i < a->n; i++)
		if (memcmp(&a->sa[i], sa, sizeof *sa) == 0)
			return;
	if (a->n < NET_ADDRS)
		a->sa[a->n++] = *sa;
}

/* A TCP connection to one address within timeout_ms (its own, not c's I/O timeout): 0 with c->fd open,
 * AG_E_INTR, or AG_E_IO with *err the reason (ETIMEDOUT when the time ran out). */
static int
net_open(struct net *c, const union net_sa *sa, int timeout_ms, int *err)
{
	int r, save = c->timeout_ms, soerr = 0;
	socklen_t sl = sizeof soerr;
	c->fd = socket(sa->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		*err = errno;
		return AG_E_IO;
	}
	if (connect(c->fd, &sa->sa, net_sa_len(sa)) < 0 && errno != EINPROGRESS) {
		*err = errno;
		net_close(c);
		return AG_E_IO;
	}
	c->timeout_ms = timeout_ms;
	r = net_wait(c, POLLOUT);
	c->timeout_ms = save;
	if (!r && (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr))
		r = AG_E_IO;
	if (r) {
		*err = r == AG_E_TIMEOUT ? ETIMEDOUT : soerr ? soerr : errno;
		net_close(c);
	}
	return r == AG_E_INTR ? AG_E_INTR : r ? AG_E_IO : 0;
}

/* The next whitespace-separated word of a line at *p, NUL-terminated in place; NULL at the line's end. */
static char *
net_word(char **p)
{
	char *w = *p + strspn(*p, " \t\r");
	size_t n = strcspn(w, " \t\r");
	if (!n)
		return NULL;
	*p = w + n + (w[n] != 0);
	w[n] = 0;
	return w;
}

/* The lines of a text file of any size (a hosts file with an ad-block list runs to megabytes), read 4 KB
 * at a time into fixed buffers, comments (# or ;) cut off: fn is called for each until it returns nonzero.
 * A line longer than 1 KB is skipped whole, never cut into a shorter line that could match. */
static void
net_conf_lines(const char *path, int (*fn)(void *ctx, char *line), void *ctx)
{
	char in[4096], line[1024];
	size_t ll = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), over = 0, stop = 0;
	if (fd < 0)
		return;
	while (!stop) {
		ssize_t r = read(fd, in, sizeof in);
		const char *p = in, *end = in + (r > 0 ? r : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		while (p < end && !stop) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t k = (size_t)((nl ? nl : end) - p);
			if (!over && ll + k < sizeof line) {
				memcpy(line + ll, p, k);
				ll += k;
			} else {
				over = 1;
			}
			p += k;
			if (nl) {
				p++;
				line[over ? 0 : ll] = 0;
				line[strcspn(line, "#;")] = 0;
				stop = fn(ctx, line);
				ll = 0;
				over = 0;
			}
		}
	}
	if (!stop && ll && !over) {              /* a last line without its newline */
		line[ll] = 0;
		line[strcspn(line, "#;")] = 0;
		fn(ctx, line);
	}
	close(fd);
}

struct net_hosts_ctx {
	const char *name;
	unsigned port;
	struct net_addrs *a;
};

static int
net_hosts_line(void *ctx, char *line)
{
	struct net_hosts_ctx *h = ctx;
	union net_sa sa;
	char *ip = net_word(&line), *w;
	if (!ip || !net_sa_parse(ip, h->port, &sa))
		return 0;
	while ((w = net_word(&line)) != NULL)
		if (str_ieq(w, strlen(w), h->name)) {
			net_addrs_add(h->a, &sa);
			break;
		}
	return 0;
}

static unsigned
net_num(const char *s, unsigned lo, unsigned hi, unsigned dflt)
{
	unsigned v = 0;
	if (*s < '0' || *s > '9')
		return dflt;
	for (; *s >= '0' && *s <= '9' && v < 100000; s++)
		v = v * 10 + (unsigned)(*s - '0');
	return v < lo ? lo : v > hi ? hi : v;
}

static int
net_resolv_line(void *ctx, char *line)
{
	struct net_dnsconf *c = ctx;
	char *key = net_word(&line), *w;
	if (!key)
		return 0;
	if (strcmp(key, "nameserver") == 0 && (w = net_word(&line)) != NULL && c->nns < 3) {
		char *pct = strchr(w, '%');            /* fe80::1%eth0 or %2: a link-local server and its interface */
		unsigned scope = !pct ? 0 : pct[1] >= '0' && pct[1] <= '9' ? net_num(pct + 1, 0, 1u << 30, 0) :
		                 if_nametoindex(pct + 1);
		if (pct)
			*pct = 0;
		if (net_sa_parse(w, 53, &c->ns[c->nns])) {
			if (!c->nns)
				str_copy(c->first, sizeof c->first, w, strlen(w));
			if (c->ns[c->nns].sa.sa_family == AF_INET6)
				c->ns[c->nns].v6.sin6_scope_id = scope;
			c->nns++;
		}
	} else if (strcmp(key, "options") == 0) {
		while ((w = net_word(&line)) != NULL) {
			if (str_starts(w, "timeout:"))
				c->timeout_s = (int)net_num(w + 8, 1, 60, 5);
			else if (str_starts(w, "attempts:"))
				c->attempts = (int)net_num(w + 9, 1, 10, 2);
			else if (str_starts(w, "ndots:"))
				c->ndots = (int)net_num(w + 6, 0, 15, 1);
		}
	} else if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
		size_t n = 0;
		c->search[0] = 0;
		while ((w = net_word(&line)) != NULL && n + strlen(w) + 2 < sizeof c->search)
			n += (size_t)base_snprintf(c->search + n, sizeof c->search - n, "%s ", w);
	}
	return 0;
}

static void
net_dns_conf(struct net_dnsconf *c, const char *path)
{
	memset(c, 0, sizeof *c);
	c->timeout_s = 5;
	c->attempts = 2;
	c->ndots = 1;
	net_conf_lines(path, net_resolv_line, c);
	if (!c->nns) {
		net_sa_parse("127.0.0.1", 53, &c->ns[c->nns++]);
		str_copy(c->first, sizeof c->first, "127.0.0.1", 9);
	}
}

/* A query for name (no trailing dot) of type (1 A, 28 AAAA) with an EDNS0 record offering 1232-byte
 * answers, so large answers are not truncated; 0 when the name cannot be put in one. */
static size_t
net_dns_query(unsigned char *q, const char *name, unsigned type, unsigned id)
{
	size_t n = 12, nl = strlen(name);
	static const unsigned char tail[] = { 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 1;                                  /* recursion desired */
	q[5] = 1;                                  /* one question */
	q[11] = 1;                                 /* one additional record: EDNS0 */
	if (!nl || nl > 253)
		return 0;
	while (*name) {
		size_t l = strcspn(name, ".");
		if (!l || l > 63)
			return 0;
		q[n++] = (unsigned char)l;
		memcpy(q + n, name, l);
		n += l;
		name += l + (name[l] == '.');
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = (unsigned char)type;
	memcpy(q + n, tail, sizeof tail);           /* class IN, then the OPT record */
	return n + sizeof tail;
}

/* Past a (possibly compressed) name at p; 0 when it runs off the message. */
static size_t
net_dns_skip(const unsigned char *r, size_t n, size_t p)
{
	while (p < n) {
		if (r[p] >= 0xc0)
			return p + 2 <= n ? p + 2 : 0;
		if (r[p] & 0xc0)
			return 0;
		if (!r[p])
			return p + 1;
		p += (size_t)r[p] + 1;
	}
	return 0;
}

/* An answer to query id of type: 1 with addresses added, 0 a real answer without any, -1 NXDOMAIN,
 * -2 nothing to keep (another query's, a server failure or refusal, garbage, records cut short or a
 * truncated answer (TC) with no address before the cut: TCP or the resend will tell). */
static int
net_dns_answer(const unsigned char *r, size_t n, unsigned id, unsigned type, unsigned port, struct net_addrs *a)
{
	size_t p;
	unsigned an, found = 0;
	if (n < 12 || (unsigned)(r[0] << 8 | r[1]) != id || !(r[2] & 0x80) || (r[4] << 8 | r[5]) != 1)
		return -2;
	if ((r[3] & 15) == 3)
		return -1;
	if (r[3] & 15)
		return -2;
	p = net_dns_skip(r, n, 12);
	if (!p || p + 4 > n || (unsigned)(r[p] << 8 | r[p + 1]) != type)
		return -2;
	p += 4;
	for (an = (unsigned)(r[6] << 8 | r[7]); an; an--) {
		unsigned t, len;
		p = net_dns_skip(r, n, p);
		if (!p || p + 10 > n)
			return found ? 1 : -2;
		t = (unsigned)(r[p] << 8 | r[p + 1]);
		len = (unsigned)(r[p + 8] << 8 | r[p + 9]);
		p += 10;
		if (p + len > n)
			return found ? 1 : -2;         /* cut short (or truncated, TC): what came is kept, if anything */
		if ((t == 1 && len == 4) || (t == 28 && len == 16)) {
			union net_sa sa;
			net_sa_set(&sa, t == 1 ? AF_INET : AF_INET6, r + p, port);
			net_addrs_add(a, &sa);
			found = 1;
		}
		p += len;
	}
	return found ? 1 : r[2] & 2 ? -2 : 0;      /* truncated (TC) without an address: not a "no address" */
}

/* The same query over TCP (RFC 7766) to the server whose UDP answer came truncated (TC) without an
 * address, as musl does: a 2-byte length before the query and before the answer. An answer longer than
 * cap is read only up to cap (what comes before the cut is kept). The answer's length, or -1. */
static long
net_dns_tcp(const union net_sa *ns, const unsigned char *q, size_t ql, unsigned char *r, size_t cap,
            long long deadline)
{
	struct net c = { -1, 0, NULL, NULL };
	unsigned char len[2] = { (unsigned char)(ql >> 8), (unsigned char)ql };
	long long left = deadline - clk_ms();
	int err;
	long out = -1;
	size_t n;
	if (left <= 0 || net_open(&c, ns, (int)left, &err))
		return -1;
	c.timeout_ms = (int)left;
	if (!net_write_all(&c, len, 2) && !net_write_all(&c, q, ql) && !net_read_exact(&c, len, 2)) {
		n = (size_t)(len[0] << 8 | len[1]);
		if (n > cap)
			n = cap;
		if (!net_read_exact(&c, r, n))
			out = (long)n;
	}
	net_close(&c);
	return out;
}

/* One name through DNS: 0 with addresses added, 1 no such name (or no address), AG_E_TIMEOUT,
 * AG_E_INTR, AG_E_IO. */
static int
net_dns_lookup(const struct net_dnsconf *c, const char *name, unsigned port, struct net_addrs *a,
               struct net *tick)
{
	static const unsigned types[2] = { 1, 28 };
	unsigned char q[2][300], r[1500], tr[4096];
	size_t ql[2];
	unsigned id[2];
	int fd[2] = { -1, -1 }, done[2] = { 0, 0 }, tcp[2] = { 0, 0 }, i, k, rc = AG_E_TIMEOUT, found = 0;
	long long now = clk_ms(), deadline = now + c->timeout_s * 1000LL, resend = now;
	unsigned char rnd[4];
	str_random_bytes(rnd, sizeof rnd);
	for (i = 0; i < 2; i++) {
		id[i] = (unsigned)(rnd[2 * i] << 8 | rnd[2 * i + 1]);
		if ((ql[i] = net_dns_query(q[i], name, types[i], id[i])) == 0)
			return 1;
	}
	for (k = 0; k < c->nns; k++) {
		int f = c->ns[k].sa.sa_family == AF_INET6;
		if (fd[f] < 0)
			fd[f] = socket(f ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd[0] < 0 && fd[1] < 0)
		return AG_E_IO;
	while (!(done[0] && done[1])) {
		struct pollfd p[2];
		int np = 0, wait;
		now = clk_ms();
		if (now >= deadline)
			break;
		if (now >= resend) {
			for (i = 0; i < 2; i++)
				for (k = 0; k < c->nns && !done[i]; k++)
					sendto(fd[c->ns[k].sa.sa_family == AF_INET6], q[i], ql[i], MSG_NOSIGNAL, &c->ns[k].sa,
					       net_sa_len(&c->ns[k]));
			resend = now + c->timeout_s * 1000LL / c->attempts;
		}
		wait = (int)((resend < deadline ? resend : deadline) - now);
		if (tick && tick->tick && wait > 100)
			wait = 100;
		for (i = 0; i < 2; i++)
			if (fd[i] >= 0) {
				p[np].fd = fd[i];
				p[np++].events = POLLIN;
			}
		k = poll(p, (nfds_t)np, wait);
		if (k < 0 && errno == EINTR && ag_interrupted) {
			rc = AG_E_INTR;
			break;
		}
		if (k <= 0) {
			if (k == 0 && tick && tick->tick)
				tick->tick(tick->tick_ctx);
			continue;
		}
		for (k = 0; k < np; k++) {
			union net_sa from;
			socklen_t fl = sizeof from;
			ssize_t got;
			int j, known;
			while ((got = recvfrom(p[k].fd, r, sizeof r, 0, &from.sa, &fl)) >= 0) {
				for (j = 0, known = -1; j < c->nns && known < 0; j++)   /* only the servers asked may answer */
					if (fl == net_sa_len(&c->ns[j]) && from.sa.sa_family == c->ns[j].sa.sa_family &&
					    (from.sa.sa_family == AF_INET ?
					     from.v4.sin_addr.s_addr == c->ns[j].v4.sin_addr.s_addr &&
					     from.v4.sin_port == c->ns[j].v4.sin_port :
					     memcmp(&from.v6.sin6_addr, &c->ns[j].v6.sin6_addr, 16) == 0 &&
					     from.v6.sin6_port == c->ns[j].v6.sin6_port))
						known = j;
				for (i = 0; i < 2 && known >= 0; i++) {
					int v = done[i] ? -2 : net_dns_answer(r, (size_t)got, id[i], types[i], port, a);
					if (v != 1 && v != -1 && !done[i] && !tcp[i] && got > 3 && (r[2] & 2) &&
					    (unsigned)(r[0] << 8 | r[1]) == id[i]) {
						long tl = net_dns_tcp(&c->ns[known], q[i], ql[i], tr, sizeof tr, deadline);
						tcp[i] = 1;          /* truncated without an address: asked once over TCP */
						v = tl > 0 ? net_dns_answer(tr, (size_t)tl, id[i], types[i], port, a) : -2;
					}
					if (v == -1)
						done[0] = done[1] = 1;
					else if (v >= 0)
						done[i] = 1, found |= v;
				}
				fl = sizeof from;
			}
		}
	}
	for (i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (found)
		return 0;
	return done[0] && done[1] ? 1 : rc;
}

PROSE(net_resolve_msg3,
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
PROSE(net_resolve_msg4,
	"cannot resolve host '%.100s': not a valid host name; check the URL")

PROSE(net_resolve_msg1,
	"cannot resolve host %s: the DNS server (%s) says it has no "
	"address; check the name")
PROSE(net_resolve_msg2,
	"cannot resolve host %s: cannot ask the DNS servers (%s); check this "
	"device's network")

/* All addresses of host (a name or an IP literal) with port, in the order to try them. */
static int
net_resolve(const char *host, unsigned port, struct net_addrs *a, struct net *tick, struct ag_err *e)
{
	struct net_dnsconf c;
	char name[300], ns[64], *d, *dom;
	unsigned char q[300];
	struct net_hosts_ctx h = { name, port, a };
	size_t nl = strlen(host);
	int i, r = 1, dots = 0, n = 0, want, rank[NET_ADDRS], absolute = nl && host[nl - 1] == '.';
	union net_sa sorted[NET_ADDRS];
	a->n = 0;
	if (net_sa_parse(host, port, &a->sa[0])) {
		a->n = 1;
		return 0;
	}
	/* "name." is absolute: the same name, but no search domains */
	str_copy(name, sizeof name, host, nl < sizeof name ? nl - (size_t)absolute : 0);
	if (!nl || nl >= 255 || host[strspn(host, prose(net_resolve_msg3))] ||
	    !net_dns_query(q, name, 1, 0))
		return err_set(e, AG_E_IO, prose(net_resolve_msg4), host);
	net_conf_lines(AG_HOSTS_FILE, net_hosts_line, &h);
	if (!a->n && str_ieq(name, strlen(name), "localhost")) {
		union net_sa sa;
		net_sa_parse("::1", port, &sa);
		net_addrs_add(a, &sa);
		net_sa_parse("127.0.0.1", port, &sa);
		net_addrs_add(a, &sa);
	}
	if (!a->n) {
		net_dns_conf(&c, AG_RESOLV_CONF);
		for (i = 0; name[i]; i++)
			dots += name[i] == '.';
		if (dots < c.ndots && !absolute)
			for (dom = c.search; r == 1 && (d = net_word(&dom)) != NULL; ) {
				char full[300];
				base_snprintf(full, sizeof full, "%s.%s", name, d);
				r = net_dns_lookup(&c, full, port, a, tick);
			}
		if (r == 1)
			r = net_dns_lookup(&c, name, port, a, tick);
		if (r == AG_E_INTR)
			return err_set(e, AG_E_INTR, "interrupted");
		if (r) {
			base_snprintf(ns, sizeof ns, "%s%s", c.first, c.nns > 1 ? " and others" : "");
			if (r == 1)
				return err_set(e, AG_E_NOHOST, prose(net_resolve_msg1), host, ns);
			if (r == AG_E_TIMEOUT)
				return err_set(e, AG_E_IO, "cannot resolve host %s: no answer from the DNS server (%s, "
				               "from " AG_RESOLV_CONF ") within %d s; check this device's network and DNS",
				               host, ns, c.timeout_s);
			return err_set(e, AG_E_IO, prose(net_resolve_msg2), host, base_strerror(errno));
		}
	}
	/* IPv6 addresses this host can route to, IPv4, then the IPv6 addresses it cannot */
	for (i = 0; i < a->n; i++) {
		rank[i] = 1;
		if (a->sa[i].sa.sa_family == AF_INET6) {
			int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			rank[i] = fd >= 0 && connect(fd, &a->sa[i].sa, sizeof a->sa[i].v6) == 0 ? 0 : 2;
			if (fd >= 0)
				close(fd);
		}
	}
	for (want = 0; want < 3; want++)
		for (i = 0; i < a->n; i++)
			if (rank[i] == want)
				sorted[n++] = a->sa[i];
	memcpy(a->sa, sorted, (size_t)n * sizeof sorted[0]);
	return 0;
}

/* Resolve host and try each address in turn (IPv6 and IPv4), each with the connect timeout. */
static int
net_connect(struct net *c, const char *host, const char *port, struct ag_err *e)
{
	struct net_addrs a;
	int r, i, last = 0;
	c->fd = -1;
	if (net_resolve(host, net_num(port, 0, 65535, 0), &a, c, e))
		return e->code;
	for (i = 0; i < a.n; i++) {
		int one = 1;
		r = net_open(c, &a.sa[i], AG_CONNECT_TIMEOUT_MS, &last);
		if (r == AG_E_INTR)
			return err_set(e, AG_E_INTR, "interrupted");
		if (r)
			continue;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		return 0;
	}
	return err_set(e, AG_E_IO, "cannot connect to %s port %s: %s", host, port,
	               last ? base_strerror(last) : "no address");
}

/* Proxies, as curl reads them: HTTPS_PROXY / https_proxy for https URLs, HTTP_PROXY / http_proxy for http,
 * ALL_PROXY / all_proxy for either; NO_PROXY (host suffixes, optional :port, "*"). http:// proxies get
 * CONNECT (https) or absolute-form requests (http), with Basic credentials from the proxy URL;
 * socks5:// resolves the name here, socks5h:// lets the proxy resolve it (ssh -D). */
enum { PROXY_NONE, PROXY_HTTP, PROXY_SOCKS5, PROXY_SOCKS5H };

struct proxy {
	int kind;
	char host[256];
	char port[8];
	char auth[300];           /* user:password, decoded */
	char var[16];             /* which variable named it, for messages */
};

static int
net_pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	for (i = 0; i < n && o + 1 < cap; i++) {
		unsigned v;
		char hx[5] = { '0', '0', 0, 0, 0 };
		if (s[i] == '%' && i + 2 < n) {
			hx[2] = s[i + 1];
			hx[3] = s[i + 2];
			if (!hex4(hx, &v)) {
				out[o++] = (char)v;
				i += 2;
				continue;
			}
		}
		out[o++] = s[i];
	}
	out[o] = 0;
	return i < n ? AG_E_TOOBIG : 0;
}

/* Does NO_PROXY exempt this host and port? */
static int
net_no_proxy(const char *list, const char *host, const char *port)
{
	size_t hl = strlen(host);
	while (list && *list) {
		const char *e;
		size_t n, pl = 0;
		const char *colon;
		while (*list == ',' || *list == ' ')
			list++;
		e = list + strcspn(list, ", ");
		n = (size_t)(e - list);
		if (n == 1 && *list == '*')
			return 1;
		colon = memchr(list, ':', n);
		if (colon && memchr(colon + 1, ':', (size_t)(e - colon - 1)) == NULL && list[0] != '[') {
			pl = (size_t)(e - colon - 1);
			if (strlen(port) != pl || memcmp(colon + 1, port, pl))
				goto next;
			n = (size_t)(colon - list);
		}
		if (n && list[0] == '*')
			list++, n--;
		if (n && list[0] == '.')
			list++, n--;
		if (n && ((hl == n && strncasecmp(host, list, n) == 0) ||
		          (hl > n && host[hl - n - 1] == '.' && strncasecmp(host + hl - n, list, n) == 0)))
			return 1;
next:
		list = e;
	}
	return 0;
}

PROSE(net_proxy_for_msg,
	"%s=%.100s: only http://, socks5:// and socks5h:// proxies are supported")

/* The proxy for a URL, from the environment; kind PROXY_NONE when there is none or NO_PROXY says so. */
static int
net_proxy_for(const struct url *u, struct proxy *p, struct ag_err *e)
{
	static const char *const https_vars[] = { "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy" };
	static const char *const http_vars[] = { "http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy" };
	const char *const *vars = u->tls ? https_vars : http_vars;
	const char *v = NULL, *h, *at, *end, *colon;
	size_t k, n;
	memset(p, 0, sizeof p[0]);
	for (k = 0; k < 4 && (!v || !*v); k++) {
		v = getenv(vars[k]);
		if (v && *v)
			base_snprintf(p->var, sizeof p->var, "%s", vars[k]);
	}
	if (!v || !*v)
		return 0;
	if (net_no_proxy(getenv("NO_PROXY") ? getenv("NO_PROXY") : getenv("no_proxy"), u->host, u->port))
		return 0;
	if (str_starts(v, "http://")) {
		p->kind = PROXY_HTTP;
		h = v + 7;
	} else if (str_starts(v, "socks5h://")) {
		p->kind = PROXY_SOCKS5H;
		h = v + 10;
	} else if (str_starts(v, "socks5://")) {
		p->kind = PROXY_SOCKS5;
		h = v + 9;
	} else if (str_find(v, "://")) {
		return err_set(e, AG_E_USAGE, prose(net_proxy_for_msg),
		               p->var, v);
	} else {
		p->kind = PROXY_HTTP;
		h = v;
	}
	end = h + strcspn(h, "/");
	at = memchr(h, '@', (size_t)(end - h));
	if (at) {
		net_pct_decode(h, (size_t)(at - h), p->auth, sizeof p->auth);
		h = at + 1;
	}
	colon = h < end && *h == '[' ? memchr(h, ']', (size_t)(end - h)) : h;
	colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	n = (size_t)((colon ? colon : end) - h);
	if (n && *h == '[')
		h++, n -= 2;
	if (!n || n >= sizeof p->host)
		return err_set(e, AG_E_USAGE, "%s has no proxy host name", p->var);
	str_copy(p->host, sizeof p->host, h, n);
	if (colon) {
		unsigned long long port;
		if (str_to_u64(colon + 1, (size_t)(end - colon - 1), 65535, &port) || !port)
			return err_set(e, AG_E_USAGE, "%s has a bad proxy port", p->var);
		base_snprintf(p->port, sizeof p->port, "%u", (unsigned)port);
	} else {
		base_snprintf(p->port, sizeof p->port, "%s", p->kind == PROXY_HTTP ? "80" : "1080");
	}
	return 0;
}

PROSE(net_socks5_msg6,
	"SOCKS user name or password too long")

PROSE(net_socks5_msg1,
	"the SOCKS proxy %s:%s did not answer the SOCKS5 greeting")
PROSE(net_socks5_msg2,
	"the SOCKS proxy %s:%s refused the user name and password")
PROSE(net_socks5_msg3,
	"the SOCKS proxy %s:%s closed the connection")
PROSE(net_socks5_msg4,
	"the SOCKS proxy %s:%s could not reach %s:%s: %s")
PROSE(net_socks5_msg5,
	"the SOCKS proxy %s:%s closed the connection")

PROSE(net_socks5_msg,
	"%s (socks5:// resolves names here; "
	"socks5h:// lets the proxy do it)")

/* RFC 1928/1929: a SOCKS5 tunnel to host:port over the connected socket. */
static int
net_socks5(struct net *c, const struct proxy *p, const char *host, const char *port, struct ag_err *e)
{
	unsigned char b[600];
	size_t n = 0, hl = strlen(host), ul, pl;
	unsigned long long pn;
	const char *pw = strchr(p->auth, ':');
	int auth = p->auth[0] != 0;
	b[0] = 5;
	b[1] = 1;
	b[2] = auth ? 2 : 0;
	if (net_write_all(c, b, 3) || net_read_exact(c, b, 2) || b[0] != 5)
		return err_set(e, AG_E_IO, prose(net_socks5_msg1), p->host, p->port);
	if (b[1] == 2 && auth) {
		ul = pw ? (size_t)(pw - p->auth) : strlen(p->auth);
		pl = pw ? strlen(pw + 1) : 0;
		if (ul > 255 || pl > 255)
			return err_set(e, AG_E_USAGE, prose(net_socks5_msg6));
		b[0] = 1;
		b[1] = (unsigned char)ul;
		memcpy(b + 2, p->auth, ul);
		b[2 + ul] = (unsigned char)pl;
		memcpy(b + 3 + ul, pw ? pw + 1 : "", pl);
		if (net_write_all(c, b, 3 + ul + pl) || net_read_exact(c, b, 2) || b[1] != 0)
			return err_set(e, AG_E_IO, prose(net_socks5_msg2), p->host, p->port);
	} else if (b[1] != 0) {
		return err_set(e, AG_E_IO, "the SOCKS proxy %s:%s wants %s", p->host, p->port,
		               b[1] == 2 ? "a user name and password: put them in the proxy URL" : "an authentication "
		               "method this client lacks");
	}
	b[n++] = 5;
	b[n++] = 1;
	b[n++] = 0;
	if (p->kind == PROXY_SOCKS5) {            /* resolve here */
		struct net_addrs a;
		struct ag_err e2 = {0};
		if (net_resolve(host, 0, &a, c, &e2) || !a.n)
			return err_set(e, e2.code == AG_E_INTR ? AG_E_INTR : AG_E_IO, prose(net_socks5_msg), e2.msg);
		if (a.sa[0].sa.sa_family == AF_INET) {
			b[n++] = 1;
			memcpy(b + n, &a.sa[0].v4.sin_addr, 4);
			n += 4;
		} else {
			b[n++] = 4;
			memcpy(b + n, &a.sa[0].v6.sin6_addr, 16);
			n += 16;
		}
	} else {
		if (hl > 255)
			return err_set(e, AG_E_USAGE, "host name too long for SOCKS");
		b[n++] = 3;
		b[n++] = (unsigned char)hl;
		memcpy(b + n, host, hl);
		n += hl;
	}
	str_to_u64(port, strlen(port), 65535, &pn);
	b[n++] = (unsigned char)(pn >> 8);
	b[n++] = (unsigned char)pn;
	if (net_write_all(c, b, n) || net_read_exact(c, b, 4))
		return err_set(e, AG_E_IO, prose(net_socks5_msg3), p->host, p->port);
	if (b[1] != 0) {
		static const char *const why[] = { "", "general failure", "not allowed by its rules", "network unreachable",
		                                   "host unreachable", "connection refused", "TTL expired",
		                                   "command not supported", "address type not supported" };
		return err_set(e, AG_E_IO, prose(net_socks5_msg4), p->host, p->port, host, port,
		               b[1] < 9 ? why[b[1]] : "error");
	}
	n = b[3] == 1 ? 4 : b[3] == 4 ? 16 : 0;
	if (b[3] == 3) {
		if (net_read_exact(c, b, 1))
			return AG_E_CLOSED;
		n = b[0];
	}
	if (net_read_exact(c, b, n + 2))
		return err_set(e, AG_E_IO, prose(net_socks5_msg5), p->host, p->port);
	return 0;
}

PROSE(net_connect_tunnel_msg7,
	"cannot send CONNECT to the proxy %s:%s")

PROSE(net_connect_tunnel_msg3,
	"CONNECT %s%s%s:%s HTTP/1.1\r\nhost: %s%s%s:%s\r\n")
PROSE(net_connect_tunnel_msg4,
	"the proxy %s:%s closed the connection during CONNECT")
PROSE(net_connect_tunnel_msg5,
	"the proxy %s:%s gave a malformed answer to CONNECT")
PROSE(net_connect_tunnel_msg6,
	"the proxy %s:%s refused to connect to %s:%s: %s")

PROSE(net_connect_tunnel_msg1,
	"the proxy %s:%s rejected the credentials in %s (%d): check the user name "
	"and password")
PROSE(net_connect_tunnel_msg2,
	"the proxy %s:%s needs credentials (%d): put them in %s as "
	"http://user:password@host:port")

/* An HTTP CONNECT tunnel to host:port. The answer is read byte by byte, so nothing of the tunnel is taken. */
static int
net_connect_tunnel(struct net *c, const struct proxy *p, const char *host, const char *port, struct ag_err *e)
{
	struct buf req = {0};
	char resp[8192];
	size_t n = 0;
	int v6 = strchr(host, ':') != NULL, r, status;
	buf_printf(&req, prose(net_connect_tunnel_msg3), v6 ? "[" : "", host, v6 ? "]" : "", port,
	           v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (p->auth[0]) {
		buf_adds(&req, "proxy-authorization: Basic ");
		b64_encode((const unsigned char *)p->auth, strlen(p->auth), &req);
		buf_adds(&req, "\r\n");
	}
	buf_adds(&req, "\r\n");
	r = net_write_all(c, req.p, req.len);
	buf_wipe(&req);
	if (r)
		return err_set(e, AG_E_IO, prose(net_connect_tunnel_msg7), p->host, p->port);
	while (n + 1 < sizeof resp) {
		if (net_read_exact(c, resp + n, 1))
			return err_set(e, AG_E_IO, prose(net_connect_tunnel_msg4), p->host, p->port);
		n++;
		if (n >= 4 && memcmp(resp + n - 4, "\r\n\r\n", 4) == 0)
			break;
		if (n >= 2 && memcmp(resp + n - 2, "\n\n", 2) == 0)
			break;
	}
	resp[n] = 0;
	if (n < 12 || !str_starts(resp, "HTTP/1.") || !isdigit((unsigned char)resp[9]) || !isdigit((unsigned char)resp[10]) || !isdigit((unsigned char)resp[11]) || ((status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0')), 0))
		return err_set(e, AG_E_IO, prose(net_connect_tunnel_msg5), p->host, p->port);
	if ((status == 407 || status == 401) && p->auth[0])
		return err_set(e, AG_E_API, prose(net_connect_tunnel_msg1), p->host, p->port, p->var, status);
	if (status == 407 || status == 401)
		return err_set(e, AG_E_API, prose(net_connect_tunnel_msg2), p->host, p->port, status, p->var);
	if (status < 200 || status > 299) {
		char ex[100];
		str_excerpt(ex, sizeof ex, resp + 9, strcspn(resp + 9, "\r\n"));
		return err_set(e, AG_E_IO, prose(net_connect_tunnel_msg6), p->host, p->port, host, port, ex);
	}
	return 0;
}

/* ==== 4. tls: trust anchors, certificate clock, BearSSL client ==== */

/* Trust anchors, loaded once per run from one of: SSL_CERT_FILE/SSL_CERT_DIR, the system bundle, or the
 * roots compiled in from certs/ (one PEM file per root); NODE_EXTRA_CA_CERTS adds to whichever it was. */
struct tls_trust {
	br_x509_trust_anchor *ta;
	size_t n, cap;
	size_t nstatic;               /* the first nstatic anchors are the built-in ones: static data, not freed */
	char source[PATH_MAX + 32];   /* where they came from, for error messages */
	int loaded;
};

/* The roots built in (the PEM files of certs/), the fallback where a device has no CA bundle: made by build/gen
 * (this file built with AG_GEN) into build/data.h as trust anchors, ag_roots[], so the binary holds
 * their names and keys (3 KB) rather than the PEM (9 KB), and nothing is decoded at start-up. */
#if defined(AG_HAVE_DATA) && !defined(AG_GEN)
#define AG_NROOTS (sizeof ag_roots / sizeof ag_roots[0])
#else
static const br_x509_trust_anchor *const ag_roots = NULL;
static const size_t ag_nroots_none = 0;     /* a variable, not 0: no "always false" warning below */
#define AG_NROOTS ag_nroots_none
#endif

static int
tls_trust_room(struct tls_trust *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *p = realloc(t->ta, cap * sizeof *t->ta);
		if (!p)
			return AG_E_NOMEM;
		t->ta = p;
		t->cap = cap;
	}
	return 0;
}

/* The built-in roots, first in an empty set; returns how many. */
static int
tls_trust_add_builtin(struct tls_trust *t)
{
	size_t i;
	if (t->n)
		return 0;                  /* only into an empty set: they must come first */
	for (i = 0; i < AG_NROOTS && !tls_trust_room(t); i++)
		t->ta[t->n++] = ag_roots[i];
	t->nstatic = t->n;
	return (int)t->n;
}

static int
der_tlv(const unsigned char *p, size_t n, size_t *hdr, size_t *len)
{
	size_t l, k, i;
	if (n < 2)
		return -1;
	l = p[1];
	if (l < 0x80) {
		*hdr = 2;
	} else {
		k = l & 0x7F;
		if (k == 0 || k > 3 || n < 2 + k)
			return -1;
		for (l = 0, i = 0; i < k; i++)
			l = l << 8 | p[2 + i];
		*hdr = 2 + k;
	}
	*len = l;
	return p[0];
}

/* The next element of [*p, *p + *n): its tag, its contents in *c and *cl, *p and *n moved past it; -1 when
 * it runs past the end. */
static int
der_next(const unsigned char **p, size_t *n, const unsigned char **c, size_t *cl)
{
	size_t h, l;
	int tag = der_tlv(*p, *n, &h, &l);
	if (tag < 0 || h > *n || l > *n - h)
		return -1;
	*c = *p + h;
	*cl = l;
	*p += h + l;
	*n -= h + l;
	return tag;
}

/* What a trust anchor needs from a certificate: the subject Name (its whole DER element), the public key
 * (RSA n and e without leading zeros, or an EC point and its curve: P-256, P-384, P-521) and whether
 * basicConstraints says cA. A direct walk over the DER, where BearSSL's generic x509 decoder (an
 * interpreter) spent 90% of a CA bundle's loading time. -1 for anything else. */
struct der_anchor {
	const unsigned char *dn, *n, *e, *q;
	size_t dnlen, nlen, elen, qlen;
	int key_type, curve, ca;
};

static int
der_anchor(const unsigned char *der, size_t len, struct der_anchor *a)
{
	static const unsigned char rsa[] = { 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01 },
	    ec[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01 }, p256[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 },
	    p384[] = { 0x2B, 0x81, 0x04, 0x00, 0x22 }, p521[] = { 0x2B, 0x81, 0x04, 0x00, 0x23 }, bc[] = { 0x55, 0x1D, 0x13 };
	const unsigned char *p = der, *c, *spki, *alg, *oid, *k;
	size_t n = len, cl, sl, al, ol, kl;
	int tag, i;
	memset(a, 0, sizeof *a);
	if (der_next(&p, &n, &c, &cl) != 0x30 || (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x30)
		return -1;                                /* Certificate, TBSCertificate */
	p = c;
	n = cl;
	if ((tag = der_next(&p, &n, &c, &cl)) == 0xA0)  /* version */
		tag = der_next(&p, &n, &c, &cl);
	if (tag != 0x02)                              /* serialNumber */
		return -1;
	for (i = 0; i < 3; i++)                       /* signature, issuer, validity */
		if (der_next(&p, &n, &c, &cl) != 0x30)
			return -1;
	a->dn = p;
	if (der_next(&p, &n, &c, &cl) != 0x30 || der_next(&p, &n, &spki, &sl) != 0x30)
		return -1;                                /* subject, subjectPublicKeyInfo */
	a->dnlen = (size_t)(c + cl - a->dn);
	while (n) {                                   /* unique ids, then extensions: [3] { Extension... } */
		const unsigned char *x, *e, *eo, *ev;
		size_t xl, el, eol, evl;
		if ((tag = der_next(&p, &n, &c, &cl)) < 0)
			return -1;
		if (tag != 0xA3)
			continue;
		if (der_next(&c, &cl, &x, &xl) != 0x30)
			return -1;
		while (xl) {
			if (der_next(&x, &xl, &e, &el) != 0x30 || der_next(&e, &el, &eo, &eol) != 0x06)
				return -1;
			if ((tag = der_next(&e, &el, &ev, &evl)) == 0x01)      /* critical */
				tag = der_next(&e, &el, &ev, &evl);
			if (tag != 0x04)
				return -1;
			if (eol == sizeof bc && memcmp(eo, bc, eol) == 0) {   /* basicConstraints { cA BOOLEAN ... } */
				const unsigned char *b, *v;
				size_t bl, vl;
				if (der_next(&ev, &evl, &b, &bl) != 0x30)
					return -1;
				a->ca = bl && der_next(&b, &bl, &v, &vl) == 0x01 && vl == 1 && v[0] != 0;
			}
		}
	}
	if (der_next(&spki, &sl, &alg, &al) != 0x30 || der_next(&alg, &al, &oid, &ol) != 0x06 ||
	    der_next(&spki, &sl, &k, &kl) != 0x03 || kl < 2 || k[0] != 0)
		return -1;                                /* AlgorithmIdentifier, BIT STRING with no unused bits */
	k++;
	kl--;
	if (ol == sizeof rsa && memcmp(oid, rsa, ol) == 0) {
		const unsigned char *r;
		size_t rl;
		if (der_next(&k, &kl, &r, &rl) != 0x30 || der_next(&r, &rl, &a->n, &a->nlen) != 0x02 ||
		    der_next(&r, &rl, &a->e, &a->elen) != 0x02)
			return -1;                            /* RSAPublicKey { modulus, publicExponent } */
		while (a->nlen && !a->n[0])
			a->n++, a->nlen--;
		while (a->elen && !a->e[0])
			a->e++, a->elen--;
		if (!a->nlen || !a->elen)
			return -1;
		a->key_type = BR_KEYTYPE_RSA;
	} else if (ol == sizeof ec && memcmp(oid, ec, ol) == 0) {
		if (der_next(&alg, &al, &oid, &ol) != 0x06)
			return -1;                            /* namedCurve */
		a->curve = ol == sizeof p256 && !memcmp(oid, p256, ol) ? BR_EC_secp256r1 :
		           ol == sizeof p384 && !memcmp(oid, p384, ol) ? BR_EC_secp384r1 :
		           ol == sizeof p521 && !memcmp(oid, p521, ol) ? BR_EC_secp521r1 : 0;
		if (!a->curve)
			return -1;
		a->q = k;
		a->qlen = kl;
		a->key_type = BR_KEYTYPE_EC;
	} else {
		return -1;
	}
	return 0;
}

/* One DER certificate becomes one trust anchor (subject DN and public key copied into one allocation). */
static int
tls_trust_add_der(struct tls_trust *t, const unsigned char *der, size_t n)
{
	struct der_anchor d;
	br_x509_trust_anchor *ta;
	unsigned char *mem;
	size_t klen;
	if (der_anchor(der, n, &d))
		return AG_E_INVAL;
	if (tls_trust_room(t))
		return AG_E_NOMEM;
	klen = d.key_type == BR_KEYTYPE_RSA ? d.nlen + d.elen : d.qlen;
	if (!(mem = malloc(d.dnlen + klen)))
		return AG_E_NOMEM;
	ta = &t->ta[t->n];
	memset(ta, 0, sizeof *ta);
	memcpy(mem, d.dn, d.dnlen);
	ta->dn.data = mem;
	ta->dn.len = d.dnlen;
	ta->flags = d.ca ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = (unsigned char)d.key_type;
	if (d.key_type == BR_KEYTYPE_RSA) {
		memcpy(mem + d.dnlen, d.n, d.nlen);
		memcpy(mem + d.dnlen + d.nlen, d.e, d.elen);
		ta->pkey.key.rsa.n = mem + d.dnlen;
		ta->pkey.key.rsa.nlen = d.nlen;
		ta->pkey.key.rsa.e = mem + d.dnlen + d.nlen;
		ta->pkey.key.rsa.elen = d.elen;
	} else {
		memcpy(mem + d.dnlen, d.q, d.qlen);
		ta->pkey.key.ec.curve = d.curve;
		ta->pkey.key.ec.q = mem + d.dnlen;
		ta->pkey.key.ec.qlen = d.qlen;
	}
	t->n++;
	return 0;
}

/* The one PEM loader: every CERTIFICATE block in the text; others (keys, CRLs) are skipped.
 * Returns the number of anchors added. A plain scan and base64 decode: several times faster than
 * BearSSL's generic PEM decoder on a 150-root bundle. */
static int
tls_trust_add_pem(struct tls_trust *t, const char *s, size_t n)
{
	static const char beg[] = "-----BEGIN ", end[] = "-----END ";
	unsigned char der[16384];
	size_t i = 0;
	int added = 0;
	while (i < n) {
		const char *b = str_mem(s + i, n - i, beg, sizeof beg - 1), *eol, *e;
		long len;
		if (!b)
			break;
		eol = memchr(b, '\n', (size_t)(s + n - b));
		if (!eol)
			break;
		e = str_mem(eol, (size_t)(s + n - eol), end, sizeof end - 1);
		if (!e)
			break;
		i = (size_t)(e - s) + sizeof end - 1;
		if (!str_mem(b, (size_t)(eol - b), "CERTIFICATE-----", 16))
			continue;
		len = b64_decode(eol + 1, (size_t)(e - eol - 1), der, sizeof der);
		if (len > 0 && tls_trust_add_der(t, der, (size_t)len) == 0)
			added++;
	}
	return added;
}

static int
tls_trust_add_file(struct tls_trust *t, const char *path)
{
	struct buf b = {0};
	int r = file_read_all(path, &b, 64u << 20);
	if (r == 0)
		r = tls_trust_add_pem(t, b.p ? b.p : "", b.len);
	buf_free(&b);
	return r;
}

PROSE(tls_trust_load_msg1,
	"SSL_CERT_FILE=%s holds no usable PEM certificates")
PROSE(tls_trust_load_msg2,
	"SSL_CERT_DIR=%s holds no usable PEM certificates")
PROSE(tls_trust_load_msg3,
	"NODE_EXTRA_CA_CERTS=%s holds no usable PEM certificates")

PROSE(tls_trust_load_msg,
	"no trusted CA certificates found; set SSL_CERT_FILE to a CA bundle")

/* Load anchors once. Nothing here ever turns verification off: no anchors is an error. */
static int
tls_trust_load(struct tls_trust *t, struct ag_err *e)
{
	static const char *const bundles[] = {
		"/etc/ssl/certs/ca-certificates.crt",                 /* Debian, Ubuntu, Alpine, Arch, BusyBox, OpenWrt */
		"/etc/pki/tls/certs/ca-bundle.crt",                   /* Fedora, RHEL */
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  /* RHEL 7+, CentOS */
		"/etc/ssl/ca-bundle.pem",                             /* openSUSE */
		"/etc/ca-certificates/extracted/tls-ca-bundle.pem",   /* Arch */
		"/etc/ssl/cert.pem",                                  /* Alpine, OpenWrt, BSD-style */
		"/etc/pki/tls/cacert.pem",                            /* OpenELEC */
	};
	const char *file = getenv("SSL_CERT_FILE"), *dir = getenv("SSL_CERT_DIR"), *extra;
	size_t i;
	int r;
	if (t->loaded)
		return 0;
	if (file && *file) {
		r = tls_trust_add_file(t, file);
		if (r < 0)
			return err_set(e, AG_E_TLS, "cannot read SSL_CERT_FILE=%s: %s", file, base_strerror(errno));
		if (r == 0)
			return err_set(e, AG_E_TLS, prose(tls_trust_load_msg1), file);
		base_snprintf(t->source, sizeof t->source, "SSL_CERT_FILE=%s", file);
	} else if (dir && *dir) {
		DIR *d = opendir(dir);
		struct dirent *de;
		char path[PATH_MAX];
		if (!d)
			return err_set(e, AG_E_TLS, "cannot open SSL_CERT_DIR=%s: %s", dir, base_strerror(errno));
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (base_snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
				tls_trust_add_file(t, path);
		}
		closedir(d);
		if (!t->n)
			return err_set(e, AG_E_TLS, prose(tls_trust_load_msg2), dir);
		base_snprintf(t->source, sizeof t->source, "SSL_CERT_DIR=%s", dir);
	} else {
		for (i = 0; i < sizeof bundles / sizeof bundles[0]; i++) {
			if (access(bundles[i], R_OK) == 0 && tls_trust_add_file(t, bundles[i]) > 0) {
				base_snprintf(t->source, sizeof t->source, "%s", bundles[i]);
				break;
			}
		}
		if (!t->n) {
			tls_trust_add_builtin(t);
			base_snprintf(t->source, sizeof t->source, "the roots built into agent");
		}
	}
	extra = getenv("NODE_EXTRA_CA_CERTS");
	if (extra && *extra && tls_trust_add_file(t, extra) <= 0)
		return err_set(e, AG_E_TLS, prose(tls_trust_load_msg3), extra);
	if (!t->n)
		return err_set(e, AG_E_TLS, prose(tls_trust_load_msg));
	t->loaded = 1;
	return 0;
}

static void
tls_trust_free(struct tls_trust *t)
{
	size_t i;
	for (i = t->nstatic; i < t->n; i++)
		free(t->ta[i].dn.data);
	free(t->ta);
	memset(t, 0, sizeof *t);
}

/* Certificates are checked at max(system clock, build date, last good handshake): boards without a
 * real-time clock boot in 1970, and every certificate would look not yet valid. */
static long long
tls_check_time(int *from_clock)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	long long now = clk_now(), t = now;
	struct buf b = {0};
	unsigned long long saved;
	if (AG_BUILD_EPOCH > t)
		t = AG_BUILD_EPOCH;
	if (cfg_state_dir(dir, sizeof dir, 0) == 0 && base_snprintf(path, sizeof path, "%s/tls-time", dir) > 0 &&
	    file_read_all(path, &b, 64) == 0 && b.len) {
		size_t n = b.len;
		while (n && (b.p[n - 1] == '\n' || b.p[n - 1] == ' '))
			n--;
		if (str_to_u64(b.p, n, 1ULL << 40, &saved) == 0 && (long long)saved > t)
			t = (long long)saved;
	}
	buf_free(&b);
	*from_clock = t == now;
	return t;
}

static void
tls_save_time(long long t)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], num[32];
	int n;
	if (cfg_state_dir(dir, sizeof dir, 1) || base_snprintf(path, sizeof path, "%s/tls-time", dir) <= 0)
		return;
	n = base_snprintf(num, sizeof num, "%lld\n", t);
	file_write_atomic(path, num, (size_t)n, 0600);
}

/* An X.509 engine that wraps BearSSL's minimal validator and remembers the issuer of the last certificate
 * it saw, so that "not trusted" can name the CA the server's chain ended at. */
struct tls_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context mini;
	unsigned char head[2048];     /* the start of the current certificate: enough to reach its issuer */
	size_t headlen;
	char issuer[160];
};

/* CN (or else O) of the issuer Name in a DER certificate prefix. */
static void
der_issuer(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t h, l, i;
	int step, tag;
	out[0] = 0;
	for (step = 0; step < 5; step++) {       /* Certificate, tbs, [0] version?, serial, sigalg */
		tag = der_tlv(p, n, &h, &l);
		if (tag < 0 || h > n)
			return;
		if (step < 2) {                  /* enter the SEQUENCE */
			p += h;
			n -= h;
			continue;
		}
		if (step == 2 && tag != 0xA0)
			step++;                  /* no version field: this is the serial */
		if (h + l > n)
			return;
		p += h + l;
		n -= h + l;
	}
	tag = der_tlv(p, n, &h, &l);
	if (tag != 0x30 || h + l > n)
		return;
	n = h + l;
	for (int want = 3; want <= 10 && !out[0]; want += 7) {
		for (i = h; i + 5 < n; i++) {
			if (p[i] == 0x06 && p[i + 1] == 0x03 && p[i + 2] == 0x55 && p[i + 3] == 0x04 && p[i + 4] == want) {
				size_t sh, sl;
				if (der_tlv(p + i + 5, n - i - 5, &sh, &sl) < 0 || i + 5 + sh + sl > n)
					return;
				str_excerpt(out, cap, (const char *)p + i + 5 + sh, sl);
				break;
			}
		}
	}
}

static void
tls_x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
	x->issuer[0] = 0;
	x->mini.vtable->start_chain(&x->mini.vtable, server_name);
}

static void
tls_x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
	x->headlen = 0;
	x->mini.vtable->start_cert(&x->mini.vtable, length);
}

static void
tls_x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
	size_t room = sizeof x->head - x->headlen;
	memcpy(x->head + x->headlen, buf, len < room ? len : room);
	x->headlen += len < room ? len : room;
	x->mini.vtable->append(&x->mini.vtable, buf, len);
}

static void
tls_x509_end_cert(const br_x509_class **ctx)
{
	struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
	der_issuer(x->head, x->headlen, x->issuer, sizeof x->issuer);
	x->mini.vtable->end_cert(&x->mini.vtable);
}

static unsigned
tls_x509_end_chain(const br_x509_class **ctx)
{
	struct tls_x509 *x = (struct tls_x509 *)(void *)ctx;
	return x->mini.vtable->end_chain(&x->mini.vtable);
}

static const br_x509_pkey *
tls_x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct tls_x509 *x = (const struct tls_x509 *)(const void *)ctx;
	return x->mini.vtable->get_pkey(&x->mini.vtable, usages);
}

static const br_x509_class tls_x509_vtable = {
	sizeof(struct tls_x509), tls_x509_start_chain, tls_x509_start_cert, tls_x509_append,
	tls_x509_end_cert, tls_x509_end_chain, tls_x509_get_pkey
};

/* Only ECDHE with AES-GCM, TLS 1.2: what api.anthropic.com and every modern server
 * offer. br_ssl_client_init_full would also register RSA key exchange, CBC, 3DES and TLS 1.0/1.1, about
 * 25 KB of code none of those servers need, and suites we would not want negotiated anyway. */
static const uint16_t tls_suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* Elliptic curves: P-256 and P-384 (and P-521), for the key exchange and the certificates, through BearSSL's
 * generic i31 prime-curve code, which the ECDSA checks need anyway. X25519 is not offered: every server that
 * offers it offers P-256 too. Measured with callgrind, a whole short run over TLS (one handshake) costs
 * 31.2 M instructions this way, 20.5 M with X25519 in the i31 code (+2.3 KB) and 12.6 M with X25519 in the
 * m31 code (+4.1 KB): some 20 to 40 ms on a slow board, once per connection (they are kept across turns).
 * br_ec_all_m31 would add an 8 KB P-256 specialisation. */
#define tls_ec br_ec_prime_i31

/* BearSSL's record buffer: static, one connection at a time (STYLE.md: the only non-signal global). */
static unsigned char tls_iobuf[BR_SSL_BUFSIZE_BIDI];

struct tls {
	br_ssl_client_context cc;
	struct tls_x509 x509;
	br_sslio_context io;
	struct net *net;
	int low_err;              /* what the socket said when BearSSL's I/O failed */
	int have_session;         /* a session to resume on reconnect */
	long long check_time;
	int time_from_clock;
	char host[256];
};

static int
tls_low_read(void *ctx, unsigned char *buf, size_t len)
{
	struct tls *t = ctx;
	long r = net_read(t->net, buf, len);
	if (r > 0)
		return (int)r;
	t->low_err = r == 0 ? AG_E_CLOSED : (int)r;
	return -1;
}

static int
tls_low_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls *t = ctx;
	long r = net_write(t->net, buf, len);
	if (r > 0)
		return (int)r;
	t->low_err = r == 0 ? AG_E_CLOSED : (int)r;
	return -1;
}

static const char *
tls_alert_name(int a)
{
	switch (a) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 90: return "user_canceled";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return "alert";
	}
}

PROSE(tls_explain_msg11,
	"TLS failure with %s (BearSSL error %d)")

PROSE(tls_explain_msg9,
	"the connection to %s was closed during TLS")
PROSE(tls_explain_msg10,
	"%s ended the TLS session with alert %d (%s)")

PROSE(tls_explain_msg8,
	"the certificate of %s could not be verified (BearSSL X.509 error %d)")

PROSE(tls_explain_msg1,
	"the certificate of %s is not trusted: its chain ends at '%s', which is "
	"not among the trusted CAs; set SSL_CERT_FILE to a CA bundle that holds it "
	"(or NODE_EXTRA_CA_CERTS to add one CA)")
PROSE(tls_explain_msg2,
	"the certificate presented by %s does not match the host name %s; "
	"check ANTHROPIC_BASE_URL")
PROSE(tls_explain_msg3,
	"the certificate of %s has expired or is not yet valid (checked as of "
	"%s); if this device's clock is wrong, set it (date -s) and retry")
PROSE(tls_explain_msg4,
	"%s requires TLS 1.3, which this build does not speak (BearSSL is TLS "
	"1.2 only); use an http:// gateway on your LAN or a proxy")
PROSE(tls_explain_msg5,
	"%s refused the TLS handshake (%s): no common cipher suite or TLS "
	"version; the server may require TLS 1.3 - use an http:// gateway on your LAN "
	"or a proxy")
PROSE(tls_explain_msg6,
	"%s does not speak TLS 1.2; it may require TLS 1.3, which this build "
	"lacks: use an http:// gateway on your LAN or a proxy")
PROSE(tls_explain_msg7,
	"%s chose a cipher suite this build does not offer (it offers ECDHE with "
	"AES-GCM or ChaCha20-Poly1305)")

/* BearSSL's error code as a sentence the user can act on. */
static int
tls_explain(struct tls *t, struct ag_err *e)
{
	int c = br_ssl_engine_last_error(&t->cc.eng);
	char when[32];
	clk_date(t->check_time, when, sizeof when);
	if (c == BR_ERR_IO || c == 0) {
		if (t->low_err == AG_E_TIMEOUT)
			return err_set(e, AG_E_TIMEOUT, "timed out talking to %s", t->host);
		if (t->low_err == AG_E_INTR)
			return err_set(e, AG_E_INTR, "interrupted");
		return err_set(e, AG_E_CLOSED, prose(tls_explain_msg9), t->host);
	}
	if (c == BR_ERR_X509_NOT_TRUSTED)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg1), t->host,
		               t->x509.issuer[0] ? t->x509.issuer : "an unknown issuer");
	if (c == BR_ERR_X509_BAD_SERVER_NAME)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg2), t->host, t->host);
	if (c == BR_ERR_X509_EXPIRED)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg3), t->host, when);
	if (c >= BR_ERR_RECV_FATAL_ALERT && c < BR_ERR_RECV_FATAL_ALERT + 256) {
		int a = c - BR_ERR_RECV_FATAL_ALERT;
		if (a == 70)
			return err_set(e, AG_E_TLS, prose(tls_explain_msg4), t->host);
		if (a == 40 || a == 71)
			return err_set(e, AG_E_TLS, prose(tls_explain_msg5), t->host, tls_alert_name(a));
		return err_set(e, AG_E_TLS, prose(tls_explain_msg10), t->host, a,
		               tls_alert_name(a));
	}
	if (c == BR_ERR_BAD_VERSION || c == BR_ERR_UNSUPPORTED_VERSION)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg6), t->host);
	if (c == BR_ERR_BAD_CIPHER_SUITE || c == BR_ERR_NO_CLIENT_AUTH)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg7), t->host);
	if (c >= BR_ERR_X509_OK && c < BR_ERR_X509_OK + 64)
		return err_set(e, AG_E_TLS, prose(tls_explain_msg8),
		               t->host, c);
	return err_set(e, AG_E_TLS, prose(tls_explain_msg11), t->host, c);
}

PROSE(tls_start_msg1,
	"https://%s: the host is an IP address, and certificates are checked "
	"against host names only; use the server's DNS name, or http:// on a trusted LAN")
PROSE(tls_start_msg2,
	"agent: warning: the system clock says %s; certificates were checked as of %s "
	"(the build date or the last good connection)\n")

/* Start a TLS session over a connected socket and finish the handshake, so errors are named here. */
static int
tls_start(struct tls *t, struct tls_trust *trust, struct net *net, const char *host, struct ag_err *e)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	br_x509_minimal_context *m = &t->x509.mini;
	int resume = t->have_session && strcmp(t->host, host) == 0;
	long long days;
	if (url_host_is_ip(host))
		return err_set(e, AG_E_TLS, prose(tls_start_msg1), host);
	if (tls_trust_load(trust, e))
		return e->code;
	if (!resume) {
		br_ssl_client_zero(&t->cc);
		br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
		br_ssl_engine_set_suites(eng, tls_suites, sizeof tls_suites / sizeof tls_suites[0]);
		br_ssl_engine_set_ec(eng, &tls_ec);
		br_ssl_engine_set_rsavrfy(eng, &br_rsa_i31_pkcs1_vrfy);
		br_ssl_engine_set_ecdsa(eng, &br_ecdsa_i31_vrfy_asn1);
		br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
		br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
		br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
		br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
		br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
		br_ssl_engine_set_default_aes_gcm(eng);
		/* No ChaCha20-Poly1305 (2.8 KB): every server that offers it offers AES-GCM, and BearSSL's
		 * constant-time AES decrypts megabytes a second on the slowest board, far above what an answer streams */
		br_ssl_engine_set_buffer(eng, tls_iobuf, sizeof tls_iobuf, 1);
	}
	t->x509.vtable = &tls_x509_vtable;
	br_x509_minimal_init(m, &br_sha256_vtable, trust->ta, trust->n);
	br_x509_minimal_set_hash(m, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_hash(m, br_sha384_ID, &br_sha384_vtable);
	br_x509_minimal_set_hash(m, br_sha512_ID, &br_sha512_vtable);
	br_x509_minimal_set_rsa(m, &br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_ecdsa(m, &tls_ec, &br_ecdsa_i31_vrfy_asn1);
	t->check_time = tls_check_time(&t->time_from_clock);
	days = t->check_time / 86400;
	br_x509_minimal_set_time(m, (uint32_t)(days + 719528), (uint32_t)(t->check_time - days * 86400));
	br_ssl_engine_set_x509(eng, &t->x509.vtable);
	str_copy(t->host, sizeof t->host, host, strlen(host));
	t->net = net;
	t->low_err = 0;
	if (!br_ssl_client_reset(&t->cc, host, resume))
		return tls_explain(t, e);
	br_sslio_init(&t->io, eng, tls_low_read, t, tls_low_write, t);
	if (br_sslio_flush(&t->io) < 0)
		return tls_explain(t, e);
	t->have_session = 1;
	if (!t->time_from_clock) {
		static int warned;
		if (!warned) {
			char a[32], b[32];
			clk_date(clk_now(), a, sizeof a);
			clk_date(t->check_time, b, sizeof b);
			base_dprintf(2, prose(tls_start_msg2), a, b);
			warned = 1;
		}
	} else {
		tls_save_time(t->check_time);
	}
	return 0;
}

static long
tls_read(struct tls *t, void *buf, size_t n, struct ag_err *e)
{
	int r = br_sslio_read(&t->io, buf, n);
	if (r > 0)
		return r;
	if (br_ssl_engine_last_error(&t->cc.eng) == 0)
		return 0;                       /* close_notify: a clean end */
	if (br_ssl_engine_last_error(&t->cc.eng) == BR_ERR_IO && t->low_err == AG_E_CLOSED)
		return 0;                       /* TCP closed without close_notify: the HTTP layer judges */
	return tls_explain(t, e);
}

static int
tls_write(struct tls *t, const void *buf, size_t n, struct ag_err *e)
{
	if (br_sslio_write_all(&t->io, buf, n) < 0 || br_sslio_flush(&t->io) < 0)
		return tls_explain(t, e);
	return 0;
}

/* ==== 5. http: HTTP/1.1 client ==== */

/* One HTTP/1.1 connection to one origin, kept alive across requests and re-opened when the server has
 * closed it. Responses are read through a fixed buffer; bodies are pulled a buffer at a time. */
enum { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };
enum { CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, CHUNK_TRAILER, CHUNK_DONE };

struct http {
	struct url url;
	struct proxy proxy;       /* how to reach url (kind PROXY_NONE: directly) */
	struct tls_trust *trust;
	struct net net;
	struct tls tls;
	int connected;
	int connects;             /* TCP connections opened (the keep-alive tests count them) */
	long long deadline_ms;    /* whole-request bound (API_TIMEOUT_MS); 0 = none */
	struct ag_err *e;
	unsigned char rbuf[AG_HTTP_RBUF];
	size_t rpos, rlen;
	char wbuf[AG_HTTP_WBUF];
	size_t wlen;
	int werr;
	/* the response being read */
	int status;
	int keep;
	int framing;
	int chunk_state;
	unsigned long long remain;
	/* called once the request is sent, before its head is read: returns when the answer is there to read
	 * (an MCP client reads the server's other stream meanwhile); 0, or an error that ends the request */
	int (*wait)(struct http *h, void *ctx);
	void *wait_ctx;
	char hdr[AG_HTTP_HEADER_MAX]; /* "name: value\n" lines, names lower-cased */
	size_t hdrlen;
};

static void
http_close(struct http *h)
{
	net_close(&h->net);
	h->connected = 0;
	h->rpos = h->rlen = 0;
}

static int
http_connect(struct http *h)
{
	const struct proxy *p = &h->proxy;
	if (p->kind == PROXY_NONE) {
		if (net_connect(&h->net, h->url.host, h->url.port, h->e))
			return h->e->code;
	} else {
		if (net_connect(&h->net, p->host, p->port, h->e)) {
			size_t ml = strlen(h->e->msg);
			base_snprintf(h->e->msg + ml, sizeof h->e->msg - ml, " (the proxy in %s)", p->var);
			return h->e->code;
		}
		if ((p->kind != PROXY_HTTP && net_socks5(&h->net, p, h->url.host, h->url.port, h->e)) ||
		    (p->kind == PROXY_HTTP && h->url.tls && net_connect_tunnel(&h->net, p, h->url.host, h->url.port, h->e))) {
			net_close(&h->net);
			return h->e->code;
		}
	}
	h->connects++;
	if (h->url.tls && tls_start(&h->tls, h->trust, &h->net, h->url.host, h->e)) {
		net_close(&h->net);
		return h->e->code;
	}
	h->connected = 1;
	h->rpos = h->rlen = 0;
	return 0;
}

/* A kept-alive connection the server has closed (or sent stray bytes on) is readable while idle. */
static int
http_stale(struct http *h)
{
	struct pollfd p;
	if (h->rpos < h->rlen)
		return 1;                         /* bytes nobody asked for are waiting */
	p.fd = h->net.fd;
	p.events = POLLIN;
	return poll(&p, 1, 0) != 0;
}

static int
http_send_raw(struct http *h, const void *p, size_t n)
{
	if (h->url.tls)
		return tls_write(&h->tls, p, n, h->e);
	while (n) {
		long w = net_write(&h->net, p, n);
		if (w <= 0)
			return err_set(h->e, w == AG_E_TIMEOUT ? AG_E_TIMEOUT : AG_E_CLOSED,
			               "cannot send to %s: %s", h->url.host,
			               w == AG_E_TIMEOUT ? "timed out" : "the connection was closed");
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static int
http_wflush(struct http *h)
{
	int r = 0;
	if (h->wlen && !h->werr)
		r = h->werr = http_send_raw(h, h->wbuf, h->wlen);
	h->wlen = 0;
	return r ? r : h->werr;
}

static int
http_wsink(void *ctx, const char *s, size_t n)
{
	struct http *h = ctx;
	while (n && !h->werr) {
		size_t k = sizeof h->wbuf - h->wlen;
		if (k > n)
			k = n;
		memcpy(h->wbuf + h->wlen, s, k);
		h->wlen += k;
		s += k;
		n -= k;
		if (h->wlen == sizeof h->wbuf)
			http_wflush(h);
	}
	return h->werr;
}

PROSE(http_fill_msg1,
	"the request to %s took longer than API_TIMEOUT_MS")

PROSE(http_fill_msg,
	"%s sent nothing for %d ms; giving up (raise API_TIMEOUT_MS to wait "
	"longer)")

/* Refill the read buffer. > 0 bytes added, 0 at EOF, < 0 error (set). */
static long
http_fill(struct http *h)
{
	long r;
	if (h->rpos == h->rlen)
		h->rpos = h->rlen = 0;
	if (h->rpos > 0 && h->rlen == sizeof h->rbuf) {
		memmove(h->rbuf, h->rbuf + h->rpos, h->rlen - h->rpos);
		h->rlen -= h->rpos;
		h->rpos = 0;
	}
	if (h->deadline_ms && clk_ms() > h->deadline_ms)
		return err_set(h->e, AG_E_TIMEOUT, prose(http_fill_msg1), h->url.host);
	if (h->url.tls)
		r = tls_read(&h->tls, h->rbuf + h->rlen, sizeof h->rbuf - h->rlen, h->e);
	else
		r = net_read(&h->net, h->rbuf + h->rlen, sizeof h->rbuf - h->rlen);
	if (r == AG_E_TIMEOUT)
		return err_set(h->e, AG_E_TIMEOUT, prose(http_fill_msg), h->url.host, h->net.timeout_ms);
	if (r == AG_E_INTR)
		return err_set(h->e, AG_E_INTR, "interrupted");
	if (r == AG_E_CLOSED)
		return 0;
	if (r < 0)
		return err_set(h->e, (int)r, "cannot read from %s: %s", h->url.host, base_strerror(errno));
	h->rlen += (size_t)r;
	return r;
}

/* One line without its CR LF (bare LF accepted). *got is set to the bytes consumed before an EOF, so
 * the caller can tell "closed before anything" from "closed mid-line". */
static int
http_line(struct http *h, char *out, size_t cap, size_t *len, size_t *got)
{
	size_t n = 0;
	*got = 0;
	for (;;) {
		unsigned char *p = h->rbuf + h->rpos, *lf;
		size_t avail = h->rlen - h->rpos, k;
		long r;
		lf = memchr(p, '\n', avail);
		k = lf ? (size_t)(lf - p) : avail;
		if (n + k >= cap)
			return AG_E_TOOBIG;
		memcpy(out + n, p, k);
		n += k;
		*got += k;
		h->rpos += k;
		if (lf) {
			h->rpos++;
			if (n && out[n - 1] == '\r')
				n--;
			out[n] = 0;
			*len = n;
			return 0;
		}
		r = http_fill(h);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return AG_E_CLOSED;
	}
}

/* Value of a response header (name in lower case), or NULL. */
static const char *
http_header(const struct http *h, const char *name, size_t *len)
{
	size_t nl = strlen(name), i = 0;
	while (i < h->hdrlen) {
		const char *line = h->hdr + i, *eol = memchr(line, '\n', h->hdrlen - i);
		size_t ll = eol ? (size_t)(eol - line) : h->hdrlen - i;
		if (ll > nl + 1 && memcmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			*len = (size_t)(line + ll - v);
			return v;
		}
		i += ll + 1;
	}
	return NULL;
}

/* Does any header of this name hold the token (case-insensitive, as a comma-separated element)? */
static int
http_hdr_has(const struct http *h, const char *name, const char *token)
{
	size_t nl = strlen(name), tl = strlen(token), i = 0;
	while (i < h->hdrlen) {
		const char *line = h->hdr + i, *eol = memchr(line, '\n', h->hdrlen - i);
		size_t ll = eol ? (size_t)(eol - line) : h->hdrlen - i;
		if (ll > nl + 1 && memcmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1, *end = line + ll;
			while (v < end) {
				const char *comma = memchr(v, ',', (size_t)(end - v)), *ve = comma ? comma : end;
				while (v < ve && (*v == ' ' || *v == '\t'))
					v++;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				if ((size_t)(ve - v) == tl && strncasecmp(v, token, tl) == 0)
					return 1;
				v = comma ? comma + 1 : end;
			}
		}
		i += ll + 1;
	}
	return 0;
}

PROSE(http_read_head_msg12,
	"%s sent a malformed header line '%s'")
PROSE(http_read_head_msg13,
	"%s sent a malformed header line '%s'")
PROSE(http_read_head_msg14,
	"%s sent an empty transfer-encoding")

PROSE(http_read_head_msg6,
	"%s closed the connection before sending a response")
PROSE(http_read_head_msg7,
	"a response header line from %s is longer than %zu bytes")
PROSE(http_read_head_msg8,
	"a response header from %s holds a NUL byte")
PROSE(http_read_head_msg9,
	"the response headers from %s exceed %d bytes")
PROSE(http_read_head_msg10,
	"%s sent an invalid content-length '%.*s'")
PROSE(http_read_head_msg11,
	"%s sent conflicting content-length values")

PROSE(http_read_head_msg3,
	"%s sent a status line longer than %zu bytes; is it an HTTP "
	"server?")
PROSE(http_read_head_msg4,
	"%s closed the connection in the middle of the response "
	"headers")
PROSE(http_read_head_msg5,
	"%s sent a compressed body (content-encoding '%.*s') that was not "
	"asked for")

PROSE(http_read_head_msg1,
	"%s sent a malformed status line '%s'; check ANTHROPIC_BASE_URL "
	"points at an HTTP API server")
PROSE(http_read_head_msg2,
	"%s sent a compressed or encoded body (transfer-encoding "
	"'%.*s') that was not asked for and cannot be decoded here")

/* Status line and headers of one response (1xx interim responses skipped), and the body framing. */
static int
http_read_head(struct http *h, int head_only, size_t *first_got)
{
	char line[8192], ex[120];
	size_t len, got;
	int r, minor, blank = 0;
	for (;;) {
		r = http_line(h, line, sizeof line, &len, &got);
		*first_got += got;
		if (r == AG_E_CLOSED)
			return err_set(h->e, AG_E_CLOSED, prose(http_read_head_msg6),
			               h->url.host);
		if (r == AG_E_TOOBIG)
			return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg3), h->url.host, sizeof line);
		if (r)
			return r;
		if (len == 0 && ++blank <= 4)
			continue;                       /* a stray CRLF before the status line is ignored (RFC 9112) */
		if (len < 12 || !str_starts(line, "HTTP/1.") || !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
		    !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
		    !isdigit((unsigned char)line[11]) || (len > 12 && line[12] != ' ')) {
			str_excerpt(ex, sizeof ex, line, len);
			return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg1), h->url.host, ex);
		}
		minor = line[7] - '0';
		h->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
		h->hdrlen = 0;
		for (;;) {
			char *colon;
			size_t i;
			r = http_line(h, line, sizeof line, &len, &got);
			if (r == AG_E_TOOBIG)
				return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg7),
				               h->url.host, sizeof line);
			if (r == AG_E_CLOSED)
				return err_set(h->e, AG_E_CLOSED, prose(http_read_head_msg4), h->url.host);
			if (r)
				return r;
			if (len == 0)
				break;
			if (memchr(line, 0, len))
				return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg8), h->url.host);
			if (line[0] == ' ' || line[0] == '\t')
				continue;               /* obsolete line folding: the continuation is dropped */
			colon = memchr(line, ':', len);
			if (!colon || colon == line) {
				str_excerpt(ex, sizeof ex, line, len);
				return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg12), h->url.host, ex);
			}
			if (h->hdrlen + len + 2 > sizeof h->hdr)
				return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg9),
				               h->url.host, AG_HTTP_HEADER_MAX);
			for (i = 0; line + i < colon; i++) {
				if (line[i] == ' ' || line[i] == '\t') {
					str_excerpt(ex, sizeof ex, line, len);
					return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg13), h->url.host, ex);
				}
				line[i] = (char)tolower((unsigned char)line[i]);
			}
			while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
				len--;
			{
				/* stored as "name: value", whitespace around the value normalised */
				size_t nlen = (size_t)(colon - line) + 1, v = nlen;
				while (v < len && (line[v] == ' ' || line[v] == '\t'))
					v++;
				memcpy(h->hdr + h->hdrlen, line, nlen);
				h->hdr[h->hdrlen + nlen] = ' ';
				memcpy(h->hdr + h->hdrlen + nlen + 1, line + v, len - v);
				h->hdrlen += nlen + 1 + len - v;
			}
			h->hdr[h->hdrlen++] = '\n';
		}
		if (h->status >= 100 && h->status < 200 && h->status != 101)
			continue;                       /* 100 Continue, 103 Early Hints: the real one follows */
		break;
	}
	h->keep = minor >= 1 ? !http_hdr_has(h, "connection", "close") : http_hdr_has(h, "connection", "keep-alive");
	h->chunk_state = CHUNK_SIZE;
	h->remain = 0;
	if (head_only || h->status == 204 || h->status == 304 || h->status == 101) {
		h->framing = HTTP_BODY_NONE;
		return 0;
	}
	{
		size_t tl, cl;
		const char *te = http_header(h, "transfer-encoding", &tl), *c = http_header(h, "content-length", &cl);
		if (te) {
			/* chunked is the only coding we decode; any other, on any transfer-encoding line, is refused */
			const char *p = h->hdr;
			while (p < h->hdr + h->hdrlen) {
				const char *eol = memchr(p, '\n', (size_t)(h->hdr + h->hdrlen - p));
				if (eol - p > 18 && memcmp(p, "transfer-encoding:", 18) == 0) {
					const char *v = p + 18;
					while (v < eol) {
						const char *comma = memchr(v, ',', (size_t)(eol - v)), *ve = comma ? comma : eol;
						while (v < ve && (*v == ' ' || *v == '\t'))
							v++;
						while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
							ve--;
						if (ve > v && !str_ieq(v, (size_t)(ve - v), "chunked"))
							return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg2), h->url.host,
							               (int)(ve - v < 40 ? ve - v : 40), v);
						v = comma ? comma + 1 : eol;
					}
				}
				p = eol + 1;
			}
			if (!http_hdr_has(h, "transfer-encoding", "chunked"))
				return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg14), h->url.host);
			h->framing = HTTP_BODY_CHUNKED;
			if (c)
				h->keep = 0;            /* both framings: use chunked, never reuse the connection */
		} else if (c) {
			size_t i = 0, hl;
			unsigned long long v, first = 0;
			int nvals = 0;
			const char *p = h->hdr;
			/* every content-length header, and every comma-separated value in each, must agree */
			while (p < h->hdr + h->hdrlen) {
				const char *eol = memchr(p, '\n', (size_t)(h->hdr + h->hdrlen - p));
				hl = (size_t)(eol - p);
				if (hl > 15 && memcmp(p, "content-length:", 15) == 0) {
					const char *v0 = p + 15, *end = p + hl;
					while (v0 < end) {
						const char *comma = memchr(v0, ',', (size_t)(end - v0)), *ve = comma ? comma : end;
						while (v0 < ve && (*v0 == ' ' || *v0 == '\t'))
							v0++;
						i = (size_t)(ve - v0);
						while (i && (v0[i - 1] == ' ' || v0[i - 1] == '\t'))
							i--;
						if (str_to_u64(v0, i, (1ULL << 62), &v))
							return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg10),
							               h->url.host, (int)(i < 40 ? i : 40), v0);
						if (nvals++ && v != first)
							return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg11),
							               h->url.host);
						first = v;
						v0 = comma ? comma + 1 : end;
					}
				}
				p = eol + 1;
			}
			h->framing = HTTP_BODY_LENGTH;
			h->remain = first;
		} else {
			h->framing = HTTP_BODY_CLOSE;
			h->keep = 0;
		}
	}
	{
		size_t n;
		const char *ce = http_header(h, "content-encoding", &n);
		if (ce && !(n == 8 && strncasecmp(ce, "identity", 8) == 0))
			return err_set(h->e, AG_E_HTTP, prose(http_read_head_msg5), h->url.host, (int)(n < 40 ? n : 40), ce);
	}
	return 0;
}

PROSE(http_request_msg,
	"%s %s%s%s HTTP/1.1\r\nhost: %s%s%s%s%s\r\n")

/* Send a request whose body the callback writes (it is called twice: once to count, once to send), and
 * read the response head. A kept-alive connection the server closed is re-opened and the request sent
 * again, once. */
static int
http_request(struct http *h, const char *method, const char *path, const char *headers,
             void (*body)(struct jw *, void *), void *bctx)
{
	struct jw w;
	char head[1024];
	size_t blen = 0;
	int attempt, r;
	if (body) {
		jw_init(&w, NULL, NULL);
		body(&w, bctx);
		if (w.err)
			return err_set(h->e, w.err, "cannot build the request body");
		blen = w.n;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		int reused = h->connected;
		size_t got = 0;
		if (h->connected && http_stale(h))
			http_close(h);
		reused = h->connected;
		if (!h->connected && http_connect(h))
			return h->e->code;
		{
			int hn;
			int defport = strcmp(h->url.port, h->url.tls ? "443" : "80") == 0;
			int v6 = strchr(h->url.host, ':') != NULL;
			char origin[300] = "";
			if (h->proxy.kind == PROXY_HTTP && !h->url.tls)   /* absolute form through an HTTP proxy */
				base_snprintf(origin, sizeof origin, "http://%s%s%s%s%s", v6 ? "[" : "", h->url.host, v6 ? "]" : "",
				         defport ? "" : ":", defport ? "" : h->url.port);
			hn = base_snprintf(head, sizeof head, prose(http_request_msg),
			              method, origin, h->url.prefix, path, v6 ? "[" : "", h->url.host, v6 ? "]" : "",
			              defport ? "" : ":", defport ? "" : h->url.port);
			if (hn < 0 || (size_t)hn >= sizeof head)
				return err_set(h->e, AG_E_INVAL, "request line too long");
		}
		h->wlen = 0;
		h->werr = 0;
		http_wsink(h, head, strlen(head));
		if (h->proxy.kind == PROXY_HTTP && !h->url.tls && h->proxy.auth[0]) {
			struct buf pa = {0};
			buf_adds(&pa, "proxy-authorization: Basic ");
			b64_encode((const unsigned char *)h->proxy.auth, strlen(h->proxy.auth), &pa);
			buf_adds(&pa, "\r\n");
			http_wsink(h, pa.p, pa.len);
			buf_wipe(&pa);
		}
		http_wsink(h, headers, strlen(headers));
		if (body) {
			char cl[64];
			base_snprintf(cl, sizeof cl, "content-length: %zu\r\n\r\n", blen);
			http_wsink(h, cl, strlen(cl));
			jw_init(&w, http_wsink, h);
			body(&w, bctx);
		} else {
			http_wsink(h, "\r\n", 2);
		}
		r = http_wflush(h);
		if (r == 0 && h->wait)
			r = h->wait(h, h->wait_ctx);
		if (r == 0)
			r = http_read_head(h, strcmp(method, "HEAD") == 0, &got);
		if (r == 0)
			return 0;
		if (reused && got == 0 && (r == AG_E_CLOSED || r == AG_E_IO) && attempt == 0) {
			h->e->code = 0;                 /* the server dropped an idle connection: try a fresh one */
			h->e->msg[0] = 0;
			http_close(h);
			continue;
		}
		http_close(h);
		return r;
	}
	return h->e->code;
}

/* Whether h holds response bytes not yet taken (in its buffer, or decrypted by TLS): a poll on its socket
 * would not see them. */
static int
http_buffered(struct http *h)
{
	return h->rpos < h->rlen || (h->url.tls && h->connected &&
	                             (br_ssl_engine_current_state(&h->tls.cc.eng) & BR_SSL_RECVAPP));
}

PROSE(http_body_read_msg3,
	"%s sent a chunk size that overflows")
PROSE(http_body_read_msg4,
	"%s sent an invalid chunk size '%s'")

PROSE(http_body_read_msg2,
	"%s sent chunk data longer than its chunk size")

PROSE(http_body_read_msg1,
	"the connection to %s closed before the response was "
	"complete (incomplete body)")

PROSE(http_body_read_msg,
	"the connection to %s closed before the response was "
	"complete (incomplete chunked body)")

/* Pull decoded body bytes: > 0 count, 0 at the end of the body, < 0 error (set). */
static long
http_body_read(struct http *h, void *out, size_t cap)
{
	for (;;) {
		size_t avail, k;
		long r;
		if (h->framing == HTTP_BODY_NONE)
			return 0;
		if (h->framing == HTTP_BODY_LENGTH && h->remain == 0) {
			h->framing = HTTP_BODY_NONE;
			if (!h->keep || h->rpos < h->rlen)   /* bytes past the body: never reuse this connection */
				http_close(h);
			return 0;
		}
		if (h->framing == HTTP_BODY_CHUNKED && h->chunk_state != CHUNK_DATA) {
			char line[1024];
			size_t len, got, i = 0;
			unsigned long long v = 0;
			if (h->chunk_state == CHUNK_DONE)
				return 0;
			r = http_line(h, line, sizeof line, &len, &got);
			if (r == AG_E_CLOSED)
				return err_set(h->e, AG_E_CLOSED, prose(http_body_read_msg), h->url.host);
			if (r == AG_E_TOOBIG)
				return err_set(h->e, AG_E_HTTP, "%s sent an over-long chunk header", h->url.host);
			if (r)
				return r;
			if (h->chunk_state == CHUNK_CRLF) {
				if (len)
					return err_set(h->e, AG_E_HTTP, prose(http_body_read_msg2),
					               h->url.host);
				h->chunk_state = CHUNK_SIZE;
				continue;
			}
			if (h->chunk_state == CHUNK_TRAILER) {
				if (len == 0) {
					h->chunk_state = CHUNK_DONE;
					h->framing = HTTP_BODY_NONE;
					if (!h->keep || h->rpos < h->rlen)
						http_close(h);
					return 0;
				}
				continue;               /* trailers are read and ignored */
			}
			for (; i < len && isxdigit((unsigned char)line[i]); i++) {
				if (i >= 15)
					return err_set(h->e, AG_E_HTTP, prose(http_body_read_msg3), h->url.host);
				v = v << 4 | (unsigned)(isdigit((unsigned char)line[i]) ? line[i] - '0' :
				                        (tolower((unsigned char)line[i]) - 'a' + 10));
			}
			if (i == 0 || (i < len && line[i] != ';' && line[i] != ' ' && line[i] != '\t')) {
				char ex[64];
				str_excerpt(ex, sizeof ex, line, len);
				return err_set(h->e, AG_E_HTTP, prose(http_body_read_msg4), h->url.host, ex);
			}
			if (v == 0) {
				h->chunk_state = CHUNK_TRAILER;
				continue;
			}
			h->remain = v;
			h->chunk_state = CHUNK_DATA;
		}
		avail = h->rlen - h->rpos;
		if (avail == 0) {
			r = http_fill(h);
			if (r < 0)
				return r;
			if (r == 0) {
				if (h->framing == HTTP_BODY_CLOSE) {
					h->framing = HTTP_BODY_NONE;
					http_close(h);
					return 0;
				}
				return err_set(h->e, AG_E_CLOSED, prose(http_body_read_msg1), h->url.host);
			}
			continue;
		}
		k = avail < cap ? avail : cap;
		if (h->framing != HTTP_BODY_CLOSE && k > h->remain)
			k = (size_t)h->remain;
		memcpy(out, h->rbuf + h->rpos, k);
		h->rpos += k;
		if (h->framing != HTTP_BODY_CLOSE) {
			h->remain -= k;
			if (h->framing == HTTP_BODY_CHUNKED && h->remain == 0)
				h->chunk_state = CHUNK_CRLF;
		}
		return (long)k;
	}
}

/* ==== 6. sse: server-sent events parser ==== */

/* Incremental, any chunking down to one byte: LF, CRLF and CR line ends, multi-line data (joined with
 * LF), comments, event and id fields, a leading BOM. One fixed buffer holds the event's data and, after
 * it, the line being read; nothing is allocated. An event whose data and line pass AG_SSE_EVENT_MAX
 * is an error (AG_E_TOOBIG), never a crash or a silent cut. */
struct sse {
	size_t dlen;              /* data collected for this event */
	size_t llen;              /* the current line, stored at buf + dlen */
	int have_data;
	int cr;                   /* the last byte was CR: a following LF belongs to it */
	int bom;                  /* bytes of the BOM matched so far; 3 or -1 once past the start */
	int unterminated;         /* the event being dispatched lacked its blank line (the stream ended) */
	char event[64];
	char id[128];             /* the last event id (kept from event to event, as the spec says) */
	long retry;               /* the last retry field: ms to wait before reconnecting; -1: none */
	char buf[AG_SSE_EVENT_MAX + 1];
};

typedef int (*sse_cb)(void *ctx, const char *event, char *data, size_t n);

static void
sse_init(struct sse *s)
{
	s->dlen = s->llen = 0;
	s->have_data = s->cr = s->bom = s->unterminated = 0;
	s->event[0] = s->id[0] = 0;
	s->retry = -1;
}

/* One line (without its end): in the buffer after the data (when it came in pieces), or straight from
 * the input (when it came whole: a data value is then copied once, not twice). */
static int
sse_line(struct sse *s, const char *line, size_t n, sse_cb cb, void *ctx)
{
	const char *val, *colon;
	size_t nl, vl;
	int r = 0;
	s->llen = 0;
	if (n == 0) {                             /* blank line: dispatch */
		if (s->have_data) {
			s->buf[s->dlen] = 0;
			r = cb(ctx, s->event, s->buf, s->dlen);
		}
		s->dlen = 0;
		s->have_data = 0;
		s->event[0] = 0;
		return r;
	}
	if (line[0] == ':')
		return 0;                         /* comment */
	colon = memchr(line, ':', n);
	nl = colon ? (size_t)(colon - line) : n;
	val = colon ? colon + 1 : line + n;
	vl = (size_t)(line + n - val);
	if (vl && *val == ' ') {
		val++;
		vl--;
	}
	if (nl == 4 && memcmp(line, "data", 4) == 0) {
		if (s->have_data)
			s->buf[s->dlen++] = '\n';
		memmove(s->buf + s->dlen, val, vl);
		s->dlen += vl;
		s->have_data = 1;
	} else if (nl == 5 && memcmp(line, "event", 5) == 0) {
		str_copy(s->event, sizeof s->event, val, vl);
	} else if (nl == 2 && memcmp(line, "id", 2) == 0) {
		if (!memchr(val, 0, vl))
			str_copy(s->id, sizeof s->id, val, vl);
	} else if (nl == 5 && memcmp(line, "retry", 5) == 0) {
		unsigned long long v;
		if (vl && !str_to_u64(val, vl, 3600000ULL, &v))
			s->retry = (long)v;
	}
	return 0;                                 /* unknown fields are ignored */
}

/* Where the line ends: the first CR or LF in p[0..n), or n. Eight bytes at a time: a word with no byte
 * below 0x0E (CR) is skipped whole (one subtraction, two masks: exact as a yes/no); a word with one (a tab
 * would do, rarely seen in SSE) and the tail are looked at byte by byte. One pass where two memchr made two. */
static size_t
sse_eol(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	size_t i = 0, end;
	while (i < n) {
		if (n - i >= 8) {
			uint64_t v;
			memcpy(&v, p + i, 8);
			if (!((v - ones * 0x0E) & ~v & high)) {
				i += 8;
				continue;
			}
		}
		for (end = n - i >= 8 ? i + 8 : n; i < end; i++)
			if (p[i] == '\n' || p[i] == '\r')
				return i;
	}
	return n;
}

static int
sse_feed(struct sse *s, const char *p, size_t n, sse_cb cb, void *ctx)
{
	static const char bom[3] = { (char)0xEF, (char)0xBB, (char)0xBF };
	while (n) {
		size_t k;
		const char *line;
		int r;
		if (s->bom >= 0 && s->bom < 3) {
			if (*p == bom[s->bom]) {
				s->bom++;
				p++;
				n--;
				continue;
			}
			if (s->bom > 0) {                 /* not a BOM after all: those bytes were text */
				memcpy(s->buf + s->dlen + s->llen, bom, (size_t)s->bom);
				s->llen += (size_t)s->bom;
			}
			s->bom = -1;
		}
		s->bom = -1;
		if (s->cr) {
			s->cr = 0;
			if (*p == '\n') {
				p++;
				n--;
				continue;
			}
		}
		k = sse_eol(p, n);
		if (s->dlen + s->llen + k + 1 > AG_SSE_EVENT_MAX)
			return AG_E_TOOBIG;
		if (k == n || s->llen) {             /* a piece of a line: kept after the data */
			memcpy(s->buf + s->dlen + s->llen, p, k);
			s->llen += k;
			if (k == n)
				return 0;
			line = s->buf + s->dlen;
		} else {
			line = p;
		}
		s->cr = p[k] == '\r';
		r = sse_line(s, line, line == p ? k : s->llen, cb, ctx);
		p += k + 1;
		n -= k + 1;
		if (r)
			return r;
	}
	return 0;
}

/* End of stream: a last line without its line end still counts, and a last event without its blank line
 * is dispatched too (lenient, where WHATWG would drop it: the data is already complete JSON). */
static int
sse_finish(struct sse *s, sse_cb cb, void *ctx)
{
	int r = 0;
	s->unterminated = 1;
	if (s->llen)
		r = sse_line(s, s->buf + s->dlen, s->llen, cb, ctx);
	if (!r && s->have_data)
		r = sse_line(s, s->buf + s->dlen, 0, cb, ctx);     /* a dispatch */
	s->unterminated = 0;
	return r;
}

/* ==== 7. conv: the conversation store ==== */

/* Messages as JSON text, block after block, so a request is written straight from here (no second copy
 * of the conversation is ever built). Memory grows with the conversation and nothing else.
 * conv_add may move the array: a struct msg pointer is good only until the next conv_add. */
enum { ROLE_USER, ROLE_ASSISTANT };

/* One message: its content blocks, each a complete JSON object in its own buffer, so that a block built
 * while it streamed (a long answer, a tool result) joins the conversation without being copied. */
struct msg {
	int role;
	struct buf *blk;
	size_t n, cap;
	size_t saved;             /* blocks already in the session file */
};

struct conv {
	struct msg *m;
	size_t n, cap;
};

static struct msg *
conv_add(struct conv *c, int role)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->m, cap * sizeof *c->m);
		if (!p)
			return NULL;
		c->m = p;
		c->cap = cap;
	}
	memset(&c->m[c->n], 0, sizeof c->m[c->n]);
	c->m[c->n].role = role;
	return &c->m[c->n++];
}

/* Append one block (valid JSON object text in b) to a message, taking b's memory; b is left empty. */
static int
conv_block_take(struct msg *m, struct buf *b)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		void *p = realloc(m->blk, cap * sizeof *m->blk);
		if (!p)
			return AG_E_NOMEM;
		m->blk = p;
		m->cap = cap;
	}
	m->blk[m->n++] = *b;
	memset(b, 0, sizeof *b);
	return 0;
}

/* Append a copy of one block. */
static int
conv_block(struct msg *m, const char *json, size_t n)
{
	struct buf b = {0};
	int r = buf_add(&b, json, n);
	if (!r)
		r = conv_block_take(m, &b);
	buf_free(&b);
	return r;
}

static int
conv_text_block(struct msg *m, const char *text, size_t n)
{
	struct buf b = {0};
	struct jw w;
	int r;
	jw_init(&w, jw_sink_buf, &b);
	jw_open(&w, '{');
	jw_key(&w, "type");
	jw_str(&w, "text");
	jw_key(&w, "text");
	jw_strn(&w, text, n);
	jw_close(&w, '}');
	r = w.err ? w.err : conv_block_take(m, &b);
	buf_free(&b);
	return r;
}

PROSE(conv_write_content_from_msg1,
	"\"cache_control\":{\"type\":\"ephemeral\"}}")
PROSE(conv_write_content_from_msg2,
	",\"cache_control\":{\"type\":\"ephemeral\"}}")

/* The blocks of one message as the elements of a JSON array (the caller opens and closes it); the last
 * block gets a cache breakpoint when asked. */
static void
conv_write_content_from(const struct msg *m, size_t from, struct jw *w, int cache_last)
{
	size_t k;
	for (k = from; k < m->n; k++) {
		const struct buf *b = &m->blk[k];
		if (cache_last && k == m->n - 1 && b->len > 1) {
			size_t e = b->len - 1;
			while (e > 0 && strchr(" \t\r\n", b->p[e - 1]))
				e--;
			jw_json(w, b->p, b->len - 1);
			if (e > 0 && b->p[e - 1] == '{')      /* an empty object: no comma before the key */
				jw_raw(w, prose(conv_write_content_from_msg1), 37);
			else
				jw_raw(w, prose(conv_write_content_from_msg2), 38);
		} else if (b->len) {
			jw_json(w, b->p, b->len);
		}
	}
}

static void
conv_write_content(const struct msg *m, struct jw *w, int cache_last)
{
	conv_write_content_from(m, 0, w, cache_last);
}

/* The messages array; the newest message's last block carries a cache breakpoint when asked. */
static void
conv_write(const struct conv *c, struct jw *w, int cache_last)
{
	size_t i;
	jw_open(w, '[');
	for (i = 0; i < c->n; i++) {
		const struct msg *m = &c->m[i];
		jw_open(w, '{');
		jw_key(w, "role");
		jw_str(w, m->role == ROLE_USER ? "user" : "assistant");
		jw_key(w, "content");
		jw_open(w, '[');
		conv_write_content(m, w, cache_last && i == c->n - 1);
		jw_close(w, ']');
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void
conv_free(struct conv *c)
{
	size_t i, k;
	for (i = 0; i < c->n; i++) {
		for (k = 0; k < c->m[i].n; k++)
			buf_free(&c->m[i].blk[k]);
		free(c->m[i].blk);
	}
	free(c->m);
	memset(c, 0, sizeof *c);
}

/* ==== 8. api: Messages API request and stream ==== */

#ifndef AG_ES_FRAME_MAX             /* largest Bedrock event-stream message: one event as base64, in JSON, headers */
#define AG_ES_FRAME_MAX (AG_SSE_EVENT_MAX / 3 * 4 + 4096)
#endif

struct api_aws;
struct api_gcp;

struct api_cfg {
	struct url url;
	char model[128];
	long long max_tokens;
	const char *api_key;      /* x-api-key */
	const char *bearer;       /* Authorization: Bearer, when there is no API key */
	int timeout_ms;           /* idle limit per read, and the bound on one request (API_TIMEOUT_MS) */
	const char *system_json;  /* the system blocks, a JSON array, or NULL */
	const char *tools_json;   /* the tool definitions, a JSON array, or NULL */
	const char *user_id;      /* metadata.user_id */
	int verbose;              /* trace requests on stderr, secrets masked */
	long long thinking;       /* extended thinking budget, 0 for none */
	int openai;               /* speak OpenAI's Chat Completions (--provider openai) */
	struct api_aws *bedrock;  /* Amazon Bedrock (--provider bedrock): its region and credentials, else NULL */
	struct api_gcp *vertex;   /* Google Vertex AI (--provider vertex): project, region, token, else NULL */
};

/* What the stream tells whoever shows it; every callback is optional. */
struct api_sink {                 /* the text given is n bytes, not NUL-terminated */
	void *ctx;
	void (*text)(void *ctx, const char *s, size_t n);
	void (*thinking)(void *ctx, const char *s, size_t n);
	void (*block_start)(void *ctx, int type);
};

enum { BLK_NONE, BLK_TEXT, BLK_TOOL_USE, BLK_THINKING, BLK_REDACTED, BLK_OTHER };

/* One content block as it streams in; kept whole for the conversation. */
struct api_block {
	int type;
	int stopped;
	struct buf text;          /* a text block as its JSON object (built while it streams); thinking text;
	                             redacted data */
	char pend[4];             /* a UTF-8 sequence split across text deltas, held until it is whole */
	int npend;
	struct buf sig;           /* thinking signature */
	struct buf input;         /* tool_use input: the partial_json pieces joined */
	struct buf raw;           /* an unknown block as it started, re-serialised */
	struct buf id;            /* tool_use id, echoed exactly whatever its length */
	char name[128];
};

struct api_usage {
	long long input, output, cache_read, cache_write;
};

struct api_msg {
	char id[128];
	char stop_reason[32];
	struct api_usage usage;
	struct api_block b[AG_API_BLOCKS];
	int nb;                   /* highest block index seen + 1 */
	int started, stopped;
};

/* Everything one request needs; the stream state is fixed-size and reused for every turn. */
struct api {
	const struct api_cfg *cfg;
	struct http http;
	struct sse sse;
	struct api_msg *msg;
	const struct api_sink *sink;
	struct ag_err *e;
	char stream_error[64];    /* the type of an error event in the stream, for the retry decision */
	int oa_text, oa_done;     /* Chat Completions: the text block's index, a finish_reason was seen */
	signed char oa_call[AG_API_BLOCKS];   /* Chat Completions: tool call index -> block index */
	struct buf ratelimit;     /* the anthropic-ratelimit-* headers of the last answer */
	jsmntok_t tok[AG_JSON_TOKENS];
	char scratch[AG_SSE_EVENT_MAX + 1];   /* one unescaped string from the current event */
	unsigned char es[AG_ES_FRAME_MAX];    /* Bedrock: the event-stream message being received */
	size_t esn;
	char esd[AG_SSE_EVENT_MAX + 1];       /* Bedrock: the stream event a chunk carries, decoded */
};

static void
api_msg_reset(struct api_msg *m)
{
	int i;
	for (i = 0; i < AG_API_BLOCKS; i++) {
		struct api_block *b = &m->b[i];
		if (b->text.cap > 65536)            /* a long answer's buffer is not kept for the next turn */
			buf_free(&b->text);
		if (b->input.cap > 65536)
			buf_free(&b->input);
		b->type = BLK_NONE;
		b->stopped = 0;
		b->text.len = b->sig.len = b->input.len = b->raw.len = 0;
		b->id.len = 0;
		b->name[0] = 0;
	}
	m->id[0] = m->stop_reason[0] = 0;
	memset(&m->usage, 0, sizeof m->usage);
	m->nb = 0;
	m->started = m->stopped = 0;
}

static void
api_msg_free(struct api_msg *m)
{
	int i;
	for (i = 0; i < AG_API_BLOCKS; i++) {
		buf_free(&m->b[i].text);
		buf_free(&m->b[i].sig);
		buf_free(&m->b[i].input);
		buf_free(&m->b[i].raw);
		buf_free(&m->b[i].id);
	}
}

#define API_TEXT_PREFIX "{\"type\":\"text\",\"text\":\""

/* Text of a text block, appended in its JSON-escaped form. A character split across deltas is held back
 * until its last byte arrives, so it is not mistaken for invalid UTF-8. */
static void
api_text_add(struct api_block *b, const char *s, size_t n)
{
	struct jw w;
	size_t k;
	jw_init(&w, jw_sink_buf, &b->text);
	if (b->npend) {
		unsigned char lead = (unsigned char)b->pend[0];
		int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		while (b->npend < need && n && ((unsigned char)*s & 0xC0) == 0x80) {
			b->pend[b->npend++] = *s++;
			n--;
		}
		if (b->npend < need && !n)
			return;                       /* still incomplete: wait for more */
		jw_strbody(&w, b->pend, (size_t)b->npend);
		b->npend = 0;
	}
	for (k = n; k > 0 && n - k < 3; k--) {    /* a lead byte near the end without all its continuation bytes */
		unsigned char c = (unsigned char)s[k - 1];
		if ((c & 0xC0) == 0xC0) {
			size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			if (n - (k - 1) < need) {
				memcpy(b->pend, s + k - 1, n - (k - 1));
				b->npend = (int)(n - (k - 1));
				n = k - 1;
			}
			break;
		}
		if ((c & 0xC0) != 0x80)
			break;
	}
	jw_strbody(&w, s, n);
}

/* Close a text block's JSON object (what is still held back was never completed: U+FFFD). */
static void
api_text_end(struct api_block *b)
{
	struct jw w;
	jw_init(&w, jw_sink_buf, &b->text);
	if (b->npend)
		jw_strbody(&w, b->pend, (size_t)b->npend);
	b->npend = 0;
	buf_adds(&b->text, "\"}");
}

/* The plain text of a text block (closed first if it was not), appended to out. */
static void
api_text_plain(struct api_block *b, struct buf *out)
{
	size_t off = sizeof API_TEXT_PREFIX - 1;
	long r;
	if (!b->stopped)
		api_text_end(b);
	b->stopped = 1;
	if (b->text.len <= off + 2 || buf_reserve(out, b->text.len))
		return;
	r = json_unescape(b->text.p + off, b->text.len - off - 2, out->p + out->len);
	if (r > 0)
		out->len += (size_t)r;
	out->p[out->len] = 0;
}

/* A block we do not know (server_tool_use, say) whose input streamed as input_json_delta: the input
 * replaces the "input" it started with, so the block goes back to the API as it really was. */
static void
api_other_input(struct api_block *b)
{
	jsmntok_t *rt = NULL, *it = NULL;
	struct json rj, ij;
	struct buf out = {0};
	struct jw w;
	int i, k;
	if (json_parse_alloc(&rj, b->raw.p, b->raw.len, &rt) > 0 && rt[0].type == JSMN_OBJECT &&
	    json_parse_alloc(&ij, b->input.p, b->input.len, &it) > 0) {
		jw_init(&w, jw_sink_buf, &out);
		jw_open(&w, '{');
		for (i = 0, k = 1; i < rj.t[0].size && k + 1 < rj.n; i++, k = json_skip(&rj, k + 1)) {
			if ((size_t)(rj.t[k].end - rj.t[k].start) == 5 && memcmp(rj.s + rj.t[k].start, "input", 5) == 0)
				continue;
			{
				char key[256];
				if (json_str(&rj, k, key, sizeof key))
					continue;
				jw_key(&w, key);
				json_copy(&w, &rj, k + 1);
			}
		}
		jw_key(&w, "input");
		json_copy(&w, &ij, 0);
		jw_close(&w, '}');
		if (!w.err) {
			buf_free(&b->raw);
			b->raw = out;
			memset(&out, 0, sizeof out);
		}
	}
	buf_free(&out);
	free(rt);
	free(it);
}

/* Unescaped string token into the scratch buffer (no allocation). */
static long
api_str(struct api *a, const struct json *j, int i)
{
	long r;
	if (i < 0 || i >= j->n || j->t[i].type != JSMN_STRING)
		return AG_E_INVAL;
	r = json_unescape(j->s + j->t[i].start, (size_t)(j->t[i].end - j->t[i].start), a->scratch);
	if (r >= 0)
		a->scratch[r] = 0;
	return r;
}

static void
api_usage_read(const struct json *j, int u, struct api_usage *us)
{
	long long v;
	if (u < 0)
		return;
	if (!json_int(j, json_get(j, u, "input_tokens"), &v)) us->input = v;
	if (!json_int(j, json_get(j, u, "output_tokens"), &v)) us->output = v;
	if (!json_int(j, json_get(j, u, "cache_read_input_tokens"), &v)) us->cache_read = v;
	if (!json_int(j, json_get(j, u, "cache_creation_input_tokens"), &v)) us->cache_write = v;
}

PROSE(api_block_at_msg,
	"the stream named content block index outside 0..%d")

static struct api_block *
api_block_at(struct api *a, const struct json *j)
{
	long long idx;
	if (json_int(j, json_get(j, 0, "index"), &idx) || idx < 0 || idx >= AG_API_BLOCKS) {
		err_set(a->e, AG_E_API, prose(api_block_at_msg), AG_API_BLOCKS - 1);
		return NULL;
	}
	if (idx >= a->msg->nb)
		a->msg->nb = (int)idx + 1;
	return &a->msg->b[idx];
}

/* Eight bytes at once, all plain ASCII for a JSON string (none below 0x20, above 0x7F, '"' or '\\')?
 * Whole-word bit tests, the same on either byte order; memcpy keeps the load legal when unaligned. */
static int
api_plain8(const char *s)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t v, q, b;
	memcpy(&v, s, 8);
	q = v ^ (ones * '"');
	b = v ^ (ones * '\\');
	return !((((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b) | v) & high);
}

/* memcmp(a, b, n) == 0, eight bytes at a time (musl's memcmp goes a byte at a time). */
static int
api_same(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/* The event that is nearly all of a long answer, a text_delta, read without the tokenizer when it has
 * exactly the shape the API sends it in; 0 sends anything else (or anything odd) the general way. */
static int
api_text_delta_fast(struct api *a, const char *data, size_t n)
{
	static const char head[] = "{\"type\":\"content_block_delta\",\"index\":";
	static const char mid[] = ",\"delta\":{\"type\":\"text_delta\",\"text\":\"";
	const char *p = data + sizeof head - 1, *end = data + n, *q, *txt;
	struct api_block *b;
	int idx = 0, digits = 0, clean = 1, esc = 0, u;
	long l;
	if (n < sizeof head + sizeof mid || !api_same(data, head, sizeof head - 1))
		return 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 3)
		idx = idx * 10 + (*p++ - '0'), digits++;
	if (!digits || (digits > 1 && p[-digits] == '0') || idx >= a->msg->nb ||
	    (size_t)(end - p) < sizeof mid - 1 || !api_same(p, mid, sizeof mid - 1))
		return 0;
	p += sizeof mid - 1;
	/* the string's end; clean: its escaped form can join the conversation as it came (only the short
	 * escapes, well-formed UTF-8), which saves unescaping and escaping it again */
	for (q = p; q < end; q++) {
		unsigned char c;
		while (end - q >= 8 && api_plain8(q))
			q += 8;
		if (q == end)
			break;
		c = (unsigned char)*q;
		if (jw_plain[c])
			continue;
		if (c == '"')
			break;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++q == end)
				return 0;
			clean &= *q != 'u';
			esc = 1;
		} else if ((u = utf8_len((const unsigned char *)q, (size_t)(end - q))) > 0) {
			q += u - 1;
		} else {
			clean = 0;
		}
	}
	if (end - q < 3 || q[1] != '}' || q[2] != '}')
		return 0;
	for (end--; end > q + 2; end--)
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
			return 0;
	b = &a->msg->b[idx];
	if (b->type != BLK_TEXT || b->stopped)
		return 0;
	if (clean && !esc) {                      /* no escapes at all: the text is the string as it came */
		txt = p;
		l = (long)(q - p);
	} else if ((l = json_unescape(p, (size_t)(q - p), a->scratch)) < 0) {
		return 0;
	} else {
		a->scratch[l] = 0;
		txt = a->scratch;
	}
	if (clean && !b->npend)
		buf_add(&b->text, p, (size_t)(q - p));
	else
		api_text_add(b, txt, (size_t)l);
	if (a->sink && a->sink->text)
		a->sink->text(a->sink->ctx, txt, (size_t)l);
	return 1;
}

PROSE(api_on_event_msg11,
	"a '%s' content block could not be read")

PROSE(api_on_event_msg4,
	"content_block_start without a content block")
PROSE(api_on_event_msg5,
	"a tool_use block came without a valid id")
PROSE(api_on_event_msg6,
	"a text_delta event carries no valid text")
PROSE(api_on_event_msg7,
	"an input_json_delta event carries no valid partial_json")
PROSE(api_on_event_msg8,
	"a thinking_delta event carries no valid text")
PROSE(api_on_event_msg9,
	"a signature_delta event carries no valid signature")
PROSE(api_on_event_msg10,
	"API error (%s) in the middle of the answer: %s")

PROSE(api_on_event_msg1,
	"a '%s' event holds more than %d JSON values; this build cannot "
	"read it")
PROSE(api_on_event_msg2,
	"the stream from %s ended in the middle of an event (incomplete answer)")
PROSE(api_on_event_msg3,
	"the server sent an event that is not a valid JSON object: '%s'")

static int
api_on_event(void *ctx, const char *event, char *data, size_t n)
{
	static const char *const known[] = { "message_start", "content_block_start", "content_block_delta",
	                                     "content_block_stop", "message_delta", "message_stop", "error" };
	struct api *a = ctx;
	struct api_msg *m = a->msg;
	struct json j;
	char type[64], ex[100];
	size_t k;
	int r, named = 0;
	long l;
	if (n == 0)
		return 0;                             /* an empty event carries nothing to act on */
	if ((!event[0] || strcmp(event, "content_block_delta") == 0) && api_text_delta_fast(a, data, n))
		return 0;                             /* nearly every event of a long answer */
	for (k = 0; k < sizeof known / sizeof known[0]; k++)
		named |= strcmp(event, known[k]) == 0;
	if (event[0] && !named)
		return 0;                             /* ping, or a newer event type: skipped (forward compatibility) */
	r = json_parse(&j, data, n, a->tok, AG_JSON_TOKENS);
	if (r == AG_E_TOOBIG)
		return err_set(a->e, AG_E_API, prose(api_on_event_msg1), event[0] ? event : "unnamed", AG_JSON_TOKENS);
	if ((r < 0 || j.t[0].type != JSMN_OBJECT) && a->sse.unterminated)
		return err_set(a->e, AG_E_CLOSED, prose(api_on_event_msg2),
		               a->http.url.host);
	if (r < 0 || j.t[0].type != JSMN_OBJECT) {
		str_excerpt(ex, sizeof ex, data, n);
		return err_set(a->e, AG_E_API, prose(api_on_event_msg3), ex);
	}
	if (json_str(&j, json_get(&j, 0, "type"), type, sizeof type))
		return 0;                             /* no type: nothing we can act on */
	if (strcmp(type, "message_start") == 0) {
		int msg = json_get(&j, 0, "message");
		json_str(&j, json_get(&j, msg, "id"), m->id, sizeof m->id);
		api_usage_read(&j, json_get(&j, msg, "usage"), &m->usage);
		m->started = 1;
	} else if (strcmp(type, "content_block_start") == 0) {
		struct api_block *b = api_block_at(a, &j);
		int cb = json_get(&j, 0, "content_block"), ti = json_get(&j, cb, "type");
		if (!b)
			return a->e->code;
		if (cb < 0 || ti < 0)
			return err_set(a->e, AG_E_API, prose(api_on_event_msg4));
		b->text.len = b->sig.len = b->input.len = b->raw.len = 0;
		b->stopped = 0;
		b->npend = 0;
		if (json_eq(&j, ti, "text")) {
			b->type = BLK_TEXT;
			buf_adds(&b->text, API_TEXT_PREFIX);
			if ((l = api_str(a, &j, json_get(&j, cb, "text"))) > 0) {
				api_text_add(b, a->scratch, (size_t)l);
				if (a->sink && a->sink->text)
					a->sink->text(a->sink->ctx, a->scratch, (size_t)l);
			}
		} else if (json_eq(&j, ti, "tool_use")) {
			b->type = BLK_TOOL_USE;
			if (json_str_buf(&j, json_get(&j, cb, "id"), &b->id) || !b->id.len)
				return err_set(a->e, AG_E_API, prose(api_on_event_msg5));
			json_str(&j, json_get(&j, cb, "name"), b->name, sizeof b->name);
		} else if (json_eq(&j, ti, "thinking")) {
			b->type = BLK_THINKING;
			json_str_buf(&j, json_get(&j, cb, "thinking"), &b->text);
			json_str_buf(&j, json_get(&j, cb, "signature"), &b->sig);
		} else if (json_eq(&j, ti, "redacted_thinking")) {
			b->type = BLK_REDACTED;
			json_str_buf(&j, json_get(&j, cb, "data"), &b->text);
		} else {
			struct jw w;
			b->type = BLK_OTHER;
			jw_init(&w, jw_sink_buf, &b->raw);
			if (json_copy(&w, &j, cb))
				return err_set(a->e, AG_E_API, prose(api_on_event_msg11), type);
		}
		if (a->sink && a->sink->block_start)
			a->sink->block_start(a->sink->ctx, b->type);
	} else if (strcmp(type, "content_block_delta") == 0) {
		struct api_block *b = api_block_at(a, &j);
		int d = json_get(&j, 0, "delta"), dt = json_get(&j, d, "type");
		if (!b)
			return a->e->code;
		if (json_eq(&j, dt, "text_delta") && b->type == BLK_TEXT && !b->stopped) {
			if ((l = api_str(a, &j, json_get(&j, d, "text"))) < 0)
				return err_set(a->e, AG_E_API, prose(api_on_event_msg6));
			api_text_add(b, a->scratch, (size_t)l);
			if (a->sink && a->sink->text)
				a->sink->text(a->sink->ctx, a->scratch, (size_t)l);
		} else if (json_eq(&j, dt, "input_json_delta") && (b->type == BLK_TOOL_USE || b->type == BLK_OTHER)) {
			if (json_str_buf(&j, json_get(&j, d, "partial_json"), &b->input))
				return err_set(a->e, AG_E_API, prose(api_on_event_msg7));
		} else if (json_eq(&j, dt, "thinking_delta") && b->type == BLK_THINKING) {
			if ((l = api_str(a, &j, json_get(&j, d, "thinking"))) < 0)
				return err_set(a->e, AG_E_API, prose(api_on_event_msg8));
			if (buf_add(&b->text, a->scratch, (size_t)l))
				return err_set(a->e, AG_E_NOMEM, "out of memory");
			if (a->sink && a->sink->thinking)
				a->sink->thinking(a->sink->ctx, a->scratch, (size_t)l);
		} else if (json_eq(&j, dt, "signature_delta") && b->type == BLK_THINKING) {
			if (json_str_buf(&j, json_get(&j, d, "signature"), &b->sig))
				return err_set(a->e, AG_E_API, prose(api_on_event_msg9));
		}                                     /* citations_delta and newer delta types: skipped */
	} else if (strcmp(type, "content_block_stop") == 0) {
		struct api_block *b = api_block_at(a, &j);
		if (!b)
			return a->e->code;
		if (b->type == BLK_TEXT && !b->stopped)
			api_text_end(b);
		if (b->type == BLK_OTHER && !b->stopped && b->input.len)
			api_other_input(b);
		b->stopped = 1;
	} else if (strcmp(type, "message_delta") == 0) {
		int d = json_get(&j, 0, "delta");
		json_str(&j, json_get(&j, d, "stop_reason"), m->stop_reason, sizeof m->stop_reason);
		api_usage_read(&j, json_get(&j, 0, "usage"), &m->usage);
	} else if (strcmp(type, "message_stop") == 0) {
		m->stopped = 1;
	} else if (strcmp(type, "error") == 0) {
		char et[64] = "error", msg[400] = "";
		int er = json_get(&j, 0, "error");
		json_str(&j, json_get(&j, er, "type"), et, sizeof et);
		json_str(&j, json_get(&j, er, "message"), msg, sizeof msg);
		str_copy(a->stream_error, sizeof a->stream_error, et, strlen(et));
		return err_set(a->e, AG_E_API, prose(api_on_event_msg10), et,
		               msg[0] ? msg : "(no message)");
	}
	return 0;
}

/* The request body: written twice by the HTTP layer (counted, then sent), so it must be deterministic. */
struct api_req {
	const struct api_cfg *cfg;
	const struct conv *conv;
	int count;                /* for count_tokens: no max_tokens, stream or metadata */
};

/* ---- Amazon Bedrock: credentials, Signature Version 4, the event-stream framing ---- */

/* Bedrock speaks the Messages API's JSON (without model and stream, with anthropic_version) at
 * POST /model/MODEL/invoke-with-response-stream, signed with AWS Signature Version 4, and answers in
 * application/vnd.amazon.eventstream: binary messages whose "chunk" events carry one Messages API stream
 * event each, base64 in a JSON "bytes" field. They are fed to the same event reader as the SSE stream. */

struct api_aws {
	char akid[128], secret[128], token[4096];   /* access key id, secret key, session token ("": none) */
	char region[64];
	char profile[64];
	const char *bearer;       /* AWS_BEARER_TOKEN_BEDROCK: a Bedrock API key, sent as a bearer token */
	int skip_auth;            /* CLAUDE_CODE_SKIP_BEDROCK_AUTH: a gateway signs for us */
	long long expires;        /* unix time the credentials end, 0 = never; refreshed 5 minutes before */
	char source[160];         /* where they came from, for --status and errors */
	const char *refresh_cmd;  /* settings.json awsAuthRefresh: run when the credentials are refused */
};

static int
api_sha_sink(void *ctx, const char *s, size_t n)
{
	br_sha256_update(ctx, s, n);
	return 0;
}

static void
api_hex(char *out, const unsigned char *in, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = 0;
}

static void
api_sha256_hex(const void *p, size_t n, char out[65])
{
	br_sha256_context c;
	unsigned char h[32];
	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, h);
	api_hex(out, h, 32);
}

static void
api_hmac(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	br_hmac_key_init(&kc, &br_sha256_vtable, key, kn);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, mn);
	br_hmac_out(&hc, out);
	explicit_bzero(&kc, sizeof kc);
	explicit_bzero(&hc, sizeof hc);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters (and '/' when keep_slash). */
static void
api_uri_encode(const char *s, size_t n, int keep_slash, struct buf *out)
{
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char pct[3] = { '%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15] };
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
			buf_add(out, &c, 1);
		else
			buf_add(out, pct, 3);             /* (base_snprintf has no %X) */
	}
}

static int
api_query_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

PROSE(api_sigv4_msg,
	"authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%shost;%sx-amz-date%s, "
	"Signature=%s\r\n")

/* The Signature Version 4 headers of one request: x-amz-date, x-amz-content-sha256, x-amz-security-token
 * and authorization (SigV4 over those, host and content-type), as "name: value\r\n" lines added to hd.
 * path is the request path as sent (already percent-encoded): its canonical form encodes it once more, as
 * AWS does for every service but S3. query is "" or "a=1&b=2" (sorted here). amz_date: YYYYMMDDTHHMMSSZ. */
static void
api_sigv4(const struct api_aws *k, const char *service, const char *method, const char *host, const char *path,
          const char *query, const char *content_type, const char *payload_hex, int sha_header, const char *amz_date,
          struct buf *hd)
{
	struct buf cr = {0}, sts = {0}, q = {0};
	char chash[65], sig[65], scope[160], *parts[32];
	unsigned char kd[32];
	size_t np = 0, i;
	int ct = content_type && *content_type, tok = k->token[0] != 0;
	buf_printf(&cr, "%s\n", method);
	api_uri_encode(path, strlen(path), 1, &cr);
	buf_adds(&cr, "\n");
	if (*query) {                                       /* sorted by name, then value */
		buf_adds(&q, query);
		parts[np++] = q.p;
		for (i = 0; i < q.len && np < 32; i++)
			if (q.p[i] == '&') {
				q.p[i] = 0;
				parts[np++] = q.p + i + 1;
			}
		base_sort(parts, np, sizeof *parts, api_query_cmp);
		for (i = 0; i < np; i++)
			buf_printf(&cr, "%s%s", i ? "&" : "", parts[i]);
	}
	buf_adds(&cr, "\n");
	if (ct)
		buf_printf(&cr, "content-type:%s\n", content_type);
	buf_printf(&cr, "host:%s\n", host);
	if (sha_header)
		buf_printf(&cr, "x-amz-content-sha256:%s\n", payload_hex);
	buf_printf(&cr, "x-amz-date:%s\n", amz_date);
	if (tok)
		buf_printf(&cr, "x-amz-security-token:%s\n", k->token);
	buf_printf(&cr, "\n%shost;%sx-amz-date%s\n%s", ct ? "content-type;" : "", sha_header ? "x-amz-content-sha256;" : "",
	           tok ? ";x-amz-security-token" : "", payload_hex);
	api_sha256_hex(cr.p, cr.len, chash);
	base_snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", amz_date, k->region, service);
	buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, chash);
	{
		char k0[140];
		int kn = base_snprintf(k0, sizeof k0, "AWS4%s", k->secret);
		api_hmac(k0, (size_t)kn, amz_date, 8, kd);
		api_hmac(kd, 32, k->region, strlen(k->region), kd);
		api_hmac(kd, 32, service, strlen(service), kd);
		api_hmac(kd, 32, "aws4_request", 12, kd);
		api_hmac(kd, 32, sts.p, sts.len, kd);
		explicit_bzero(k0, sizeof k0);
	}
	api_hex(sig, kd, 32);
	explicit_bzero(kd, sizeof kd);
	buf_printf(hd, "x-amz-date: %s\r\n", amz_date);
	if (sha_header)
		buf_printf(hd, "x-amz-content-sha256: %s\r\n", payload_hex);
	if (tok)
		buf_printf(hd, "x-amz-security-token: %s\r\n", k->token);
	buf_printf(hd, prose(api_sigv4_msg), k->akid, scope, ct ? "content-type;" : "", sha_header ? "x-amz-content-sha256;" : "",
	           tok ? ";x-amz-security-token" : "", sig);
	buf_free(&cr);
	buf_free(&sts);
	buf_free(&q);
}

/* YYYYMMDDTHHMMSSZ of a unix time. */
static void
api_amz_date(long long t, char out[17])
{
	long long y;
	unsigned m, d, s = (unsigned)(t % 86400);
	clk_civil(t / 86400, &y, &m, &d);
	base_snprintf(out, 17, "%04lld%02u%02uT%02u%02u%02uZ", y, m, d, s / 3600, s / 60 % 60, s % 60);
}

/* An ISO 8601 time as AWS writes Expiration ("2026-12-03T11:22:33Z", fractions and offsets allowed). */
static long long
api_iso_time(const char *s)
{
	unsigned long long y, mo, d, h, mi, se;
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    str_to_u64(s, 4, 9999, &y) || str_to_u64(s + 5, 2, 12, &mo) || str_to_u64(s + 8, 2, 31, &d) ||
	    str_to_u64(s + 11, 2, 23, &h) || str_to_u64(s + 14, 2, 59, &mi) || str_to_u64(s + 17, 2, 60, &se))
		return 0;
	return clk_days((long long)y, (unsigned)mo, (unsigned)d) * 86400 + (long long)(h * 3600 + mi * 60 + se);
}

/* key = value of [section] in an INI file such as ~/.aws/credentials; 0 when found. */
static int
api_ini_get(const char *path, const char *section, const char *key, char *out, size_t cap)
{
	struct buf f = {0};
	size_t i = 0, sl = strlen(section), kl = strlen(key);
	int in = 0, r = -1;
	if (file_read_all(path, &f, 1u << 20) < 0 || !f.len) {
		buf_free(&f);
		return -1;
	}
	while (i < f.len && r) {
		char *line = f.p + i, *nl = memchr(line, '\n', f.len - i);
		size_t n = nl ? (size_t)(nl - line) : f.len - i;
		i += n + 1;
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n && (*line == ' ' || *line == '\t'))
			line++, n--;
		if (n && line[0] == '[') {
			in = n == sl + 2 && line[n - 1] == ']' && memcmp(line + 1, section, sl) == 0;
		} else if (in && n > kl && memcmp(line, key, kl) == 0 && strchr(" \t=", line[kl])) {
			const char *v = line + kl;
			while (v < line + n && (*v == ' ' || *v == '\t' || *v == '='))
				v++;
			str_copy(out, cap, v, (size_t)(line + n - v));
			r = 0;
		}
	}
	explicit_bzero(f.p ? f.p : "", f.len);
	buf_free(&f);
	return r;
}

/* ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE): the profile's section
 * name in each file. */
static void
api_aws_files(char *cred, char *conf, size_t cap)
{
	const char *h = getenv("HOME"), *v;
	v = getenv("AWS_SHARED_CREDENTIALS_FILE");
	base_snprintf(cred, cap, "%s", v && *v ? v : "");
	if (!cred[0] && h)
		base_snprintf(cred, cap, "%s/.aws/credentials", h);
	v = getenv("AWS_CONFIG_FILE");
	base_snprintf(conf, cap, "%s", v && *v ? v : "");
	if (!conf[0] && h)
		base_snprintf(conf, cap, "%s/.aws/config", h);
}

/* AccessKeyId, SecretAccessKey, Token / SessionToken and Expiration of a JSON credentials document (the
 * container endpoint, IMDS, credential_process all answer in this shape). */
static int
api_aws_json(struct api_aws *k, const char *s, size_t n, const char *source)
{
	struct json j;
	jsmntok_t *tok = NULL;
	char exp[64] = "";
	int r = -1, o;
	if (json_parse_alloc(&j, s, n, &tok) > 0 && j.t[0].type == JSMN_OBJECT &&
	    ((o = json_get(&j, 0, "Credentials")) >= 0 || (o = 0) == 0) &&      /* awsCredentialExport nests them */
	    !json_str(&j, json_get(&j, o, "AccessKeyId"), k->akid, sizeof k->akid) &&
	    !json_str(&j, json_get(&j, o, "SecretAccessKey"), k->secret, sizeof k->secret) && k->akid[0] && k->secret[0]) {
		k->token[0] = 0;
		if (json_str(&j, json_get(&j, o, "Token"), k->token, sizeof k->token))
			json_str(&j, json_get(&j, o, "SessionToken"), k->token, sizeof k->token);
		json_str(&j, json_get(&j, o, "Expiration"), exp, sizeof exp);
		k->expires = exp[0] ? api_iso_time(exp) : 0;
		str_copy(k->source, sizeof k->source, source, strlen(source));
		r = 0;
	}
	free(tok);
	return r;
}

static void api_raw_body(struct jw *w, void *ctx);

/* One small HTTP exchange with a credentials endpoint: the answer's body into out (an error's too). A
 * plain http:// one (metadata, container endpoints) is never reached through a proxy; an https:// one
 * (an OAuth token endpoint) is verified against trust and goes through the proxy the environment names.
 * body: a request body (NULL: none). 0, or AG_E_* with e set; a status other than 200 is AG_E_API. */
static int
api_fetch(const char *base, const char *method, const char *path, const char *headers, const char *body,
          struct buf *out, int ms, struct tls_trust *trust, struct ag_err *e)
{
	struct http *h = calloc(1, sizeof *h);
	char tmp[4096];
	long r;
	int rc;
	if (!h)
		return err_set(e, AG_E_NOMEM, "out of memory");
	h->net.fd = -1;
	h->e = e;
	rc = url_parse(base, &h->url, e);
	h->trust = trust;
	if (!rc && h->url.tls && (!trust || net_proxy_for(&h->url, &h->proxy, e)))
		rc = trust ? e->code : err_set(e, AG_E_USAGE, "%.200s: only http:// here", base);
	if (!rc) {
		h->net.timeout_ms = ms;
		h->deadline_ms = clk_ms() + ms * 2;
		rc = http_request(h, method, path, headers, body ? api_raw_body : NULL, (void *)body);
	}
	while (!rc && (r = http_body_read(h, tmp, sizeof tmp)) > 0 && out->len < 65536)
		buf_add(out, tmp, (size_t)r);
	if (!rc && (h->status < 200 || h->status > 299))
		rc = err_set(e, AG_E_API, "%s%s%s answered HTTP %d", base, h->url.prefix[0] ? "" : "", path, h->status);
	http_close(h);
	explicit_bzero(h, sizeof *h);
	free(h);
	return rc;
}

PROSE(api_aws_container_msg2,
	"AWS_CONTAINER_CREDENTIALS_FULL_URI")
PROSE(api_aws_container_msg3,
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
PROSE(api_aws_container_msg4,
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
PROSE(api_aws_container_msg5,
	"the container credentials endpoint")

PROSE(api_aws_container_msg1,
	"accept: application/json\r\nconnection: close\r\n")

PROSE(api_aws_container_msg,
	"the container credentials endpoint (%.200s) answered without AccessKeyId and "
	"SecretAccessKey")

/* The container credentials endpoint (ECS, EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_FULL_URI, or
 * http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN
 * (or the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names). 1 when not configured. */
static int
api_aws_container(struct api_aws *k, struct ag_err *e)
{
	const char *full = getenv(prose(api_aws_container_msg2)), *rel = getenv(prose(api_aws_container_msg3));
	const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), *tf = getenv(prose(api_aws_container_msg4));
	char url[2048];
	struct buf hd = {0}, body = {0}, t = {0};
	int rc;
	if (full && *full)
		str_copy(url, sizeof url, full, strlen(full));
	else if (rel && *rel)
		base_snprintf(url, sizeof url, "http://169.254.170.2%s", rel);
	else
		return 1;
	if (tf && *tf && file_read_all(tf, &t, 16384) == 0) {
		while (t.len && strchr("\r\n \t", t.p[t.len - 1]))
			t.p[--t.len] = 0;
		tok = t.p;
	}
	if (tok && *tok && !strpbrk(tok, "\r\n"))
		buf_printf(&hd, "authorization: %s\r\n", tok);
	buf_adds(&hd, prose(api_aws_container_msg1));
	rc = api_fetch(url, "GET", "", hd.p, NULL, &body, 2000, NULL, e);
	if (!rc && api_aws_json(k, body.p ? body.p : "", body.len, prose(api_aws_container_msg5)))
		rc = err_set(e, AG_E_API, prose(api_aws_container_msg), url);
	buf_wipe(&hd);
	buf_wipe(&body);
	buf_wipe(&t);
	return rc;
}

PROSE(api_aws_imds_msg3,
	"the instance metadata service gave no session token")
PROSE(api_aws_imds_msg4,
	"x-aws-ec2-metadata-token: %s\r\nconnection: close\r\n")
PROSE(api_aws_imds_msg5,
	"/latest/meta-data/iam/security-credentials/%.300s")
PROSE(api_aws_imds_msg6,
	"the instance metadata service (role %.100s)")

PROSE(api_aws_imds_msg1,
	"x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
	"connection: close\r\n")
PROSE(api_aws_imds_msg2,
	"the instance metadata service answered without the role's credentials")

PROSE(api_aws_imds_msg,
	"the instance metadata service names no IAM role (is one attached to this instance?)")

/* The EC2 instance metadata service, IMDSv2: a session token by PUT, then the role's credentials.
 * AWS_EC2_METADATA_SERVICE_ENDPOINT moves it; AWS_EC2_METADATA_DISABLED=true turns it off (1). */
static int
api_aws_imds(struct api_aws *k, struct ag_err *e)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), *off = getenv("AWS_EC2_METADATA_DISABLED");
	struct buf token = {0}, role = {0}, body = {0}, hd = {0};
	char base[512];
	int rc;
	if (off && strcasecmp(off, "true") == 0)
		return 1;
	base_snprintf(base, sizeof base, "%s", ep && *ep ? ep : "http://169.254.169.254");
	while (base[0] && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = 0;
	rc = api_fetch(base, "PUT", "/latest/api/token", prose(api_aws_imds_msg1), NULL, &token, 1000, NULL, e);
	if (!rc && (!token.len || memchr(token.p, '\r', token.len) || memchr(token.p, '\n', token.len)))
		rc = err_set(e, AG_E_API, prose(api_aws_imds_msg3));
	if (!rc) {
		buf_printf(&hd, prose(api_aws_imds_msg4), token.p);
		rc = api_fetch(base, "GET", "/latest/meta-data/iam/security-credentials/", hd.p, NULL, &role, 1000, NULL, e);
	}
	while (!rc && role.len && strchr("\r\n ", role.p[role.len - 1]))
		role.p[--role.len] = 0;
	if (!rc && (!role.len || strpbrk(role.p, "\n/?#% ")))
		rc = err_set(e, AG_E_API, prose(api_aws_imds_msg));
	if (!rc) {
		char path[400], src[160];
		base_snprintf(path, sizeof path, prose(api_aws_imds_msg5), role.p);
		rc = api_fetch(base, "GET", path, hd.p, NULL, &body, 1000, NULL, e);
		base_snprintf(src, sizeof src, prose(api_aws_imds_msg6), role.p);
		if (!rc && api_aws_json(k, body.p ? body.p : "", body.len, src))
			rc = err_set(e, AG_E_API, prose(api_aws_imds_msg2));
	}
	buf_wipe(&token);
	buf_free(&role);
	buf_wipe(&body);
	buf_wipe(&hd);
	return rc;
}

static void tool_env_scrub(void);

/* Run cmd with /bin/sh under a keeper, stdin /dev/null, its stdout (up to about cap bytes) into out; scrub:
 * without the keys in its environment. Its exit status, or -1 when it did not start or was killed. */
static int
api_run_sh(const char *cmd, struct buf *out, size_t cap, int scrub)
{
	int p[2], status = 0;
	pid_t pid;
	char tmp[4096];
	ssize_t r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = base_fork_kept();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		if (scrub)
			tool_env_scrub();
		base_exec_sh(cmd, NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	while ((r = read(p[0], tmp, sizeof tmp)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || out->len > cap)
			break;
		buf_add(out, tmp, (size_t)r);
	}
	explicit_bzero(tmp, sizeof tmp);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

PROSE(api_aws_process_msg,
	"credential_process '%.80s' (profile %s) failed (exit %d) or printed no JSON "
	"credentials")

/* A profile's credential_process: run, its JSON read from stdout. */
static int
api_aws_process(struct api_aws *k, const char *cmd, struct ag_err *e)
{
	struct buf out = {0};
	char src[160];
	int st = api_run_sh(cmd, &out, 65536, 0), rc;
	base_snprintf(src, sizeof src, "credential_process of profile %s", k->profile);
	rc = st == 0 && !api_aws_json(k, out.p ? out.p : "", out.len, src) ? 0 :
	     err_set(e, AG_E_USAGE, prose(api_aws_process_msg), cmd, k->profile, st);
	buf_wipe(&out);
	return rc;
}

PROSE(api_aws_creds_msg4,
	"none (CLAUDE_CODE_SKIP_BEDROCK_AUTH)")

PROSE(api_aws_creds_msg3,
	"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")

PROSE(api_aws_creds_msg1,
	"no AWS credentials found: not in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
	"AWS_BEARER_TOKEN_BEDROCK, profile %s of %.100s or %.100s, nor a container endpoint; the "
	"instance metadata service: %.150s")
PROSE(api_aws_creds_msg2,
	"no AWS credentials found: looked in AWS_BEARER_TOKEN_BEDROCK, AWS_ACCESS_KEY_ID/"
	"AWS_SECRET_ACCESS_KEY, profile %s of %.100s and %.100s, the container endpoint (not set) and the "
	"instance metadata service (disabled)")

/* The credentials, in the AWS SDKs' order: AWS_BEARER_TOKEN_BEDROCK; AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); the profile (AWS_PROFILE, else default) in ~/.aws/credentials,
 * then its credential_process in ~/.aws/config; the container endpoint; IMDSv2. */
static int
api_aws_creds(struct api_aws *k, struct ag_err *e)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY"), *st = getenv("AWS_SESSION_TOKEN");
	char cred[PATH_MAX], conf[PATH_MAX], sect[96], cmd[2048];
	struct ag_err e2 = {0};
	int rc;
	k->akid[0] = k->secret[0] = k->token[0] = 0;
	k->expires = 0;
	if (k->skip_auth) {
		str_copy(k->source, sizeof k->source, prose(api_aws_creds_msg4), 36);
		return 0;
	}
	if (k->bearer) {
		str_copy(k->source, sizeof k->source, "AWS_BEARER_TOKEN_BEDROCK", 24);
		return 0;
	}
	if (id && *id && sk && *sk) {
		str_copy(k->akid, sizeof k->akid, id, strlen(id));
		str_copy(k->secret, sizeof k->secret, sk, strlen(sk));
		if (st && *st)
			str_copy(k->token, sizeof k->token, st, strlen(st));
		str_copy(k->source, sizeof k->source, prose(api_aws_creds_msg3), 43);
		return 0;
	}
	api_aws_files(cred, conf, sizeof cred);
	if (!api_ini_get(cred, k->profile, "aws_access_key_id", k->akid, sizeof k->akid) &&
	    !api_ini_get(cred, k->profile, "aws_secret_access_key", k->secret, sizeof k->secret)) {
		api_ini_get(cred, k->profile, "aws_session_token", k->token, sizeof k->token);
		base_snprintf(k->source, sizeof k->source, "profile %s in %.100s", k->profile, cred);
		return 0;
	}
	base_snprintf(sect, sizeof sect, strcmp(k->profile, "default") ? "profile %s" : "%s", k->profile);
	if (!api_ini_get(conf, sect, "aws_access_key_id", k->akid, sizeof k->akid) &&
	    !api_ini_get(conf, sect, "aws_secret_access_key", k->secret, sizeof k->secret)) {
		api_ini_get(conf, sect, "aws_session_token", k->token, sizeof k->token);
		base_snprintf(k->source, sizeof k->source, "profile %s in %.100s", k->profile, conf);
		return 0;
	}
	if (!api_ini_get(conf, sect, "credential_process", cmd, sizeof cmd))
		return api_aws_process(k, cmd, e);
	if ((rc = api_aws_container(k, &e2)) <= 0) {
		if (rc)
			err_set(e, e2.code, "%s", e2.msg);
		return rc;
	}
	if ((rc = api_aws_imds(k, &e2)) <= 0) {
		if (rc)
			err_set(e, AG_E_USAGE, prose(api_aws_creds_msg1), k->profile, cred, conf, e2.msg);
		return rc;
	}
	return err_set(e, AG_E_USAGE, prose(api_aws_creds_msg2), k->profile, cred, conf);
}

/* Vertex AI speaks the Messages API's JSON (without model, with anthropic_version) and its SSE at
 * POST /projects/P/locations/R/publishers/anthropic/models/MODEL:streamRawPredict, with an OAuth 2.0 access
 * token found as Google's client libraries find one: a service account key (a JWT signed RS256 with
 * BearSSL, exchanged at the key's token_uri), an authorized_user file (its refresh token), or the metadata
 * server of a Google VM. The token is kept until 5 minutes before it ends. Keys and refresh tokens stay in
 * their files: they are read again for each new token and wiped after use. */
struct api_gcp {
	char project[128], region[64];
	char file[PATH_MAX];      /* the credentials file; "": the metadata server */
	char meta[256];           /* the metadata server: host[:port] (GCE_METADATA_HOST) */
	struct buf token;         /* the access token (empty: none yet) */
	long long expires;        /* unix time it ends */
	char source[400];         /* where it came from, for --status and errors */
	int skip_auth;            /* CLAUDE_CODE_SKIP_VERTEX_AUTH: a gateway authenticates for us */
	struct tls_trust *trust;  /* for a token_uri over https */
};

static int
api_buf_sink(void *ctx, const char *s, size_t n)
{
	return buf_add(ctx, s, n);
}

static void
api_raw_body(struct jw *w, void *ctx)
{
	jw_raw(w, ctx, strlen(ctx));
}

/* base64url without padding (RFC 7515), appended to out. */
static void
api_b64url(const void *p, size_t n, struct buf *out)
{
	size_t i = out->len;
	b64_encode(p, n, out);
	for (; i < out->len; i++)
		out->p[i] = out->p[i] == '+' ? '-' : out->p[i] == '/' ? '_' : out->p[i];
	while (out->len && out->p[out->len - 1] == '=')
		out->p[--out->len] = 0;
}

/* An RSA private key from the DER of a PEM block (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"): the
 * CRT parts BearSSL signs with, pointing into der. */
static int
api_rsa_key(const unsigned char *p, size_t n, br_rsa_private_key *sk)
{
	const unsigned char *c, *v[8], *q;
	size_t cl, vl[8], qn;
	int i;
	if (der_next(&p, &n, &c, &cl) != 0x30 || (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x02)
		return -1;
	q = p;
	qn = n;
	if (der_next(&q, &qn, &c, &cl) == 0x30) {   /* PKCS#8: the algorithm, then the PKCS#1 key in an OCTET STRING */
		if (der_next(&q, &qn, &c, &cl) != 0x04 || (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x30 ||
		    (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x02)
			return -1;
	}
	for (i = 0; i < 8; i++) {                    /* n e d p q dp dq qinv */
		if (der_next(&p, &n, &v[i], &vl[i]) != 0x02 || !vl[i])
			return -1;
		while (vl[i] > 1 && !v[i][0])
			v[i]++, vl[i]--;
	}
	for (sk->n_bitlen = (uint32_t)vl[0] * 8, i = 0x80; i && !(v[0][0] & i); i >>= 1)
		sk->n_bitlen--;
	sk->p = (unsigned char *)v[3];
	sk->plen = vl[3];
	sk->q = (unsigned char *)v[4];
	sk->qlen = vl[4];
	sk->dp = (unsigned char *)v[5];
	sk->dplen = vl[5];
	sk->dq = (unsigned char *)v[6];
	sk->dqlen = vl[6];
	sk->iq = (unsigned char *)v[7];
	sk->iqlen = vl[7];
	return sk->n_bitlen < 1024 || sk->n_bitlen > 4096 ? -1 : 0;
}

/* An EC P-256 private key from the DER of a PEM block: PKCS#8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY". */
static int
api_ec_key(const unsigned char *p, size_t n, br_ec_private_key *sk)
{
	const unsigned char *c;
	size_t cl;
	if (der_next(&p, &n, &c, &cl) != 0x30 || (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x02)
		return -1;
	if (cl == 1 && !c[0]) {                   /* PKCS#8: the algorithm, then the SEC 1 key in an OCTET STRING */
		if (der_next(&p, &n, &c, &cl) != 0x30 || der_next(&p, &n, &c, &cl) != 0x04 ||
		    (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x30 || (p = c, n = cl, der_next(&p, &n, &c, &cl)) != 0x02)
			return -1;
	}
	if (der_next(&p, &n, &c, &cl) != 0x04 || cl != 32)
		return -1;
	sk->curve = BR_EC_secp256r1;
	sk->x = (unsigned char *)c;
	sk->xlen = cl;
	return 0;
}

/* A JWT (RFC 7519) appended to out: header.claims signed with the PEM's key, RS256 for an RSA key, ES256
 * for an EC P-256 one (as header says). 0, or -1 when the key is neither or will not sign. */
static int
api_jwt(const char *pem, const char *header, const char *claims, struct buf *out)
{
	unsigned char der[4096], h[32], sig[512];
	br_rsa_private_key rk;
	br_ec_private_key ek;
	br_sha256_context sc;
	size_t at = out->len, sl = 0;
	long dl = -1;
	const char *b, *eol;
	int ec = str_find(header, "ES256") != NULL;
	if (pem && (b = str_find(pem, "-----BEGIN ")) && (eol = strchr(b, '\n')) && str_find(eol, "-----END"))
		dl = b64_decode(eol + 1, (size_t)(str_find(eol, "-----END") - eol - 1), der, sizeof der);
	if (dl <= 0 || (ec ? api_ec_key(der, (size_t)dl, &ek) : api_rsa_key(der, (size_t)dl, &rk)))
		return -1;
	api_b64url(header, strlen(header), out);
	buf_add(out, ".", 1);
	api_b64url(claims, strlen(claims), out);
	br_sha256_init(&sc);
	br_sha256_update(&sc, out->p + at, out->len - at);
	br_sha256_out(&sc, h);
	if (ec)
		sl = br_ecdsa_i31_sign_raw(&tls_ec, &br_sha256_vtable, h, &ek, sig);
	else if (br_rsa_i31_pkcs1_sign(BR_HASH_OID_SHA256, h, 32, &rk, sig))
		sl = (rk.n_bitlen + 7) / 8;
	explicit_bzero(der, sizeof der);
	if (!sl || (ec && sl != 64))
		return -1;
	buf_add(out, ".", 1);
	api_b64url(sig, sl, out);
	return 0;
}

PROSE(api_gcp_jwt_msg1,
	"https://www.googleapis.com/auth/cloud-platform")
PROSE(api_gcp_jwt_msg2,
	"the service account key lacks client_email or an RSA private_key in PEM "
	"that signs")

/* The service account's assertion (RFC 7523): header.claims signed RS256, for scope cloud-platform. */
static int
api_gcp_jwt(const struct json *j, const char *uri, struct buf *out, struct ag_err *e)
{
	char email[256] = "", kid[128] = "";
	struct buf pem = {0}, hd = {0}, cl = {0};
	struct jw w;
	int rc = 0;
	long long now = clk_now();
	json_str(j, json_get(j, 0, "client_email"), email, sizeof email);
	json_str(j, json_get(j, 0, "private_key_id"), kid, sizeof kid);
	json_str_buf(j, json_get(j, 0, "private_key"), &pem);
	jw_init(&w, api_buf_sink, &hd);
	jw_open(&w, '{');
	jw_key(&w, "alg"), jw_str(&w, "RS256"), jw_key(&w, "typ"), jw_str(&w, "JWT");
	if (kid[0])
		jw_key(&w, "kid"), jw_str(&w, kid);
	jw_close(&w, '}');
	jw_init(&w, api_buf_sink, &cl);
	jw_open(&w, '{');
	jw_key(&w, "iss"), jw_str(&w, email);
	jw_key(&w, "scope"), jw_str(&w, prose(api_gcp_jwt_msg1));
	jw_key(&w, "aud"), jw_str(&w, uri);
	jw_key(&w, "iat"), jw_int(&w, now);
	jw_key(&w, "exp"), jw_int(&w, now + 3600);   /* one reading: exp is exactly iat + 3600 */
	jw_close(&w, '}');
	if (!email[0] || api_jwt(pem.p, hd.p, cl.p, out))
		rc = err_set(e, AG_E_USAGE, prose(api_gcp_jwt_msg2));
	buf_wipe(&pem);
	buf_free(&hd);
	buf_free(&cl);
	return rc;
}

PROSE(api_gcp_answer_msg,
	"%s answered without an access_token")

/* access_token and expires_in of a token answer (the OAuth endpoint's or the metadata server's). */
static int
api_gcp_answer(struct api_gcp *g, const struct buf *b, const char *from, struct ag_err *e)
{
	struct json j;
	jsmntok_t *tok = NULL;
	long long ttl = 3600;
	int rc = -1;
	if (json_parse_alloc(&j, b->p ? b->p : "", b->len, &tok) > 0 && j.t[0].type == JSMN_OBJECT) {
		g->token.len = 0;
		json_int(&j, json_get(&j, 0, "expires_in"), &ttl);
		rc = json_str_buf(&j, json_get(&j, 0, "access_token"), &g->token) || !g->token.len ||
		     memchr(g->token.p, '\r', g->token.len) || memchr(g->token.p, '\n', g->token.len);
		g->expires = clk_now() + ttl;
	}
	free(tok);
	return rc ? err_set(e, AG_E_API, prose(api_gcp_answer_msg), from) : 0;
}

PROSE(api_gcp_token_msg7,
	"the service account %.200s (%.150s)")
PROSE(api_gcp_token_msg8,
	"authorized_user credentials (%.300s)")

PROSE(api_gcp_token_msg4,
	"metadata-flavor: Google\r\nconnection: close\r\n")
PROSE(api_gcp_token_msg5,
	"cannot read Google credentials from %.300s: %s")
PROSE(api_gcp_token_msg6,
	"%.300s lacks client_id, client_secret or refresh_token")

PROSE(api_gcp_token_msg3,
	"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")

PROSE(api_gcp_token_msg1,
	"%.300s holds Google credentials of type '%.40s'; agent reads service_account "
	"and authorized_user files (gcloud auth application-default login) and the metadata server")
PROSE(api_gcp_token_msg2,
	"content-type: application/x-www-form-urlencoded\r\naccept: application/json\r\n"
	"connection: close\r\n")

/* A new access token from the credentials file or the metadata server; the file's project id is taken when
 * none was set. */
static int
api_gcp_token(struct api_gcp *g, struct ag_err *e)
{
	struct buf f = {0}, form = {0}, out = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	char type[64] = "", uri[512] = "https://oauth2.googleapis.com/token", from[600];
	int rc = 0, sa;
	if (g->skip_auth)
		return 0;
	if (!g->file[0]) {
		base_snprintf(uri, sizeof uri, "http://%s", g->meta);
		base_snprintf(from, sizeof from, "the metadata server (%s)", g->meta);
		rc = api_fetch(uri, "GET", "/computeMetadata/v1/instance/service-accounts/default/token",
		               prose(api_gcp_token_msg4), NULL, &out, 2000, NULL, e);
		if (!rc && !(rc = api_gcp_answer(g, &out, from, e)))
			str_copy(g->source, sizeof g->source, from, strlen(from));
		goto done;
	}
	if (file_read_all(g->file, &f, 1u << 16) < 0 || json_parse_alloc(&j, f.p ? f.p : "", f.len, &tok) <= 0 ||
	    j.t[0].type != JSMN_OBJECT) {
		rc = err_set(e, AG_E_USAGE, prose(api_gcp_token_msg5), g->file,
		             f.len ? "not JSON" : base_strerror(errno));
		goto done;
	}
	json_str(&j, json_get(&j, 0, "type"), type, sizeof type);
	json_str(&j, json_get(&j, 0, "token_uri"), uri, sizeof uri);
	sa = !strcmp(type, "service_account");
	if (!g->project[0])
		json_str(&j, json_get(&j, 0, sa ? "project_id" : "quota_project_id"), g->project, sizeof g->project);
	if (sa) {
		char email[256] = "";
		json_str(&j, json_get(&j, 0, "client_email"), email, sizeof email);
		base_snprintf(g->source, sizeof g->source, prose(api_gcp_token_msg7), email, g->file);
		buf_adds(&form, prose(api_gcp_token_msg3));
		rc = api_gcp_jwt(&j, uri, &form, e);
	} else if (!strcmp(type, "authorized_user")) {
		static const char *const keys[] = { "client_id", "client_secret", "refresh_token" };
		int k;
		base_snprintf(g->source, sizeof g->source, prose(api_gcp_token_msg8), g->file);
		buf_adds(&form, "grant_type=refresh_token");
		for (k = 0; k < 3; k++) {
			struct buf v = {0};
			json_str_buf(&j, json_get(&j, 0, keys[k]), &v);
			buf_printf(&form, "&%s=", keys[k]);
			api_uri_encode(v.p ? v.p : "", v.len, 0, &form);
			rc = rc || !v.len;
			buf_wipe(&v);
		}
		if (rc)
			rc = err_set(e, AG_E_USAGE, prose(api_gcp_token_msg6), g->file);
	} else {
		rc = err_set(e, AG_E_USAGE, prose(api_gcp_token_msg1),
		             g->file, type);
	}
	if (!rc && !form.p)
		rc = err_set(e, AG_E_NOMEM, "out of memory");
	if (!rc) {
		base_snprintf(from, sizeof from, "the token endpoint %.300s", uri);
		rc = api_fetch(uri, "POST", "", prose(api_gcp_token_msg2), form.p, &out, 10000, g->trust, e);
		if (rc == AG_E_API) {
			char d[300] = "", c[80] = "";
			struct json ej;
			jsmntok_t *et = NULL;
			if (json_parse_alloc(&ej, out.p ? out.p : "", out.len, &et) > 0 && ej.t[0].type == JSMN_OBJECT) {
				json_str(&ej, json_get(&ej, 0, "error"), c, sizeof c);
				json_str(&ej, json_get(&ej, 0, "error_description"), d, sizeof d);
			}
			free(et);
			if (c[0] || d[0])
				e->code = 0;              /* the endpoint's own words instead of its status */
			if (c[0] || d[0])
				rc = err_set(e, AG_E_USAGE, "%s refused %s: %s%s%s", from, g->source, c, d[0] ? ": " : "", d);
		}
		if (!rc)
			rc = api_gcp_answer(g, &out, from, e);
	}
done:
	free(tok);
	buf_wipe(&f);
	buf_wipe(&form);
	buf_wipe(&out);
	return rc;
}

/* CRC-32 (IEEE 802.3, reflected), as the event-stream prelude and message use: 32 bytes a step through 32
 * tables (32 KB of bss, made on first use; bit by bit it cost 13 times the SSE path's instructions, and a
 * chunk is CRC'd over every byte of it). */
static uint32_t AG_HOT
api_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t t[32][256];
	int i, k;
	if (!t[0][1]) {
		for (i = 0; i < 256; i++) {
			uint32_t c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
			t[0][i] = c;
		}
		for (k = 1; k < 32; k++)
			for (i = 0; i < 256; i++)
				t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
	}
	crc = ~crc;
#define CRC4(k) (t[31 - (k)][p[k]] ^ t[30 - (k)][p[(k) + 1]] ^ t[29 - (k)][p[(k) + 2]] ^ t[28 - (k)][p[(k) + 3]])
	for (; n >= 32; n -= 32, p += 32) {
		crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		crc = t[31][crc & 0xFF] ^ t[30][crc >> 8 & 0xFF] ^ t[29][crc >> 16 & 0xFF] ^ t[28][crc >> 24] ^
		      CRC4(4) ^ CRC4(8) ^ CRC4(12) ^ CRC4(16) ^ CRC4(20) ^ CRC4(24) ^ CRC4(28);
	}
#undef CRC4
	while (n--)
		crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

static uint32_t
api_be32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* The string value of header name in an event-stream message's headers, or NULL (n gets its length). */
static const char *
api_es_header(const unsigned char *h, size_t hn, const char *name, size_t nl, size_t *n)
{
	size_t i = 0;
	static const signed char fixed[] = { 0, 0, 1, 2, 4, 8, -1, -1, 8, 16 };   /* bytes of each value type */
	while (i < hn) {
		size_t l = h[i], vl;
		int t;
		if (i + 1 + l + 1 > hn)
			return NULL;
		t = h[i + 1 + l];
		if (t > 9)
			return NULL;
		if (t == 6 || t == 7) {
			if (i + l + 4 > hn)
				return NULL;
			vl = (size_t)h[i + l + 2] << 8 | h[i + l + 3];
			if (i + l + 4 + vl > hn)
				return NULL;
			if (t == 7 && l == nl && api_same((const char *)h + i + 1, name, nl)) {
				*n = vl;
				return (const char *)h + i + l + 4;
			}
			i += l + 4 + vl;
		} else {
			i += l + 2 + (size_t)fixed[t];
		}
	}
	return NULL;
}

PROSE(api_es_message_msg,
	"a Bedrock chunk without its base64 \"bytes\"")

static int api_on_event(void *ctx, const char *event, char *data, size_t n);

/* One whole event-stream message: a chunk's event to api_on_event, an exception as the error it names. */
static int
api_es_message(struct api *a, const unsigned char *m, size_t n)
{
	uint32_t hl = api_be32(m + 4);
	const unsigned char *h = m + 12, *pl = h + hl;
	size_t pn = n - 16 - hl, vn = 0, en = 0;
	const char *et = api_es_header(h, hl, ":event-type", sizeof ":event-type" - 1, &en), *mt = NULL;
	struct json j;
	long dn;
	int b;
	if (!et || en != 5 || !api_same(et, "chunk", 5))    /* (nearly every message is a chunk: one header read) */
		mt = api_es_header(h, hl, ":message-type", sizeof ":message-type" - 1, &vn);
	if (mt && vn == 9 && memcmp(mt, "exception", 9) == 0) {
		char msg[300] = "";
		et = api_es_header(h, hl, ":exception-type", sizeof ":exception-type" - 1, &en);
		if (json_parse(&j, (const char *)pl, pn, a->tok, AG_JSON_TOKENS) > 0)
			json_str(&j, json_get(&j, 0, "message"), msg, sizeof msg);
		str_copy(a->stream_error, sizeof a->stream_error, et ? et : "exception", et ? en : 9);
		return err_set(a->e, AG_E_API, "Bedrock stream error %s: %s", a->stream_error, msg[0] ? msg : "(no message)");
	}
	if (mt && vn == 5 && memcmp(mt, "error", 5) == 0) {
		const char *em = api_es_header(h, hl, ":error-message", sizeof ":error-message" - 1, &vn);
		et = api_es_header(h, hl, ":error-code", sizeof ":error-code" - 1, &en);
		str_copy(a->stream_error, sizeof a->stream_error, et ? et : "error", et ? en : 5);
		return err_set(a->e, AG_E_API, "Bedrock stream error %s: %.*s", a->stream_error, em ? (int)(vn < 300 ? vn : 300) : 0,
		               em ? em : "");
	}
	if (mt)
		return 0;                               /* another event type: nothing of the answer in it */
	if (pn > 10 && api_same((const char *)pl, "{\"bytes\":\"", 10)) {    /* as Bedrock sends it: decoded up to its '"' */
		dn = b64_decode((const char *)pl + 10, pn - 10, (unsigned char *)a->esd, sizeof a->esd - 1);
	} else if (json_parse(&j, (const char *)pl, pn, a->tok, AG_JSON_TOKENS) <= 0 || (b = json_get(&j, 0, "bytes")) < 0 ||
	    j.t[b].type != JSMN_STRING) {
		return err_set(a->e, AG_E_API, prose(api_es_message_msg));
	} else {
		dn = b64_decode(j.s + j.t[b].start, (size_t)(j.t[b].end - j.t[b].start), (unsigned char *)a->esd,
		                sizeof a->esd - 1);
	}
	if (dn < 0)
		return err_set(a->e, dn == AG_E_TOOBIG ? AG_E_TOOBIG : AG_E_API, "a Bedrock chunk %s",
		               dn == AG_E_TOOBIG ? "over the event size limit" : "with bytes that are not base64");
	a->esd[dn] = 0;
	return api_on_event(a, "", a->esd, (size_t)dn);   /* the same reader as an SSE event's data */
}

PROSE(api_es_feed_msg1,
	"the event stream from %s is corrupt (message CRC); treated as a "
	"cut answer")
PROSE(api_es_feed_msg2,
	"an event-stream message of %u bytes (this build reads up to %u)")
PROSE(api_es_feed_msg3,
	"the event stream from %s is corrupt (message CRC); treated as a "
	"cut answer")

PROSE(api_es_feed_msg,
	"the event stream from %s is corrupt (prelude CRC or length); "
	"treated as a cut answer")

/* Bytes of an event-stream body, pushed as they come: whole messages are checked (both CRCs) and handed
 * on; the rest waits in a fixed buffer. A CRC mismatch or an impossible length is a cut stream (and what
 * waited is dropped, so that a later feed starts clean). */
static int
api_es_feed(struct api *a, const unsigned char *p, size_t n)
{
	while (n) {
		size_t whole = !a->esn && n >= 16 ? api_be32(p) : 0;
		uint32_t c8 = whole >= 16 && whole <= n ? api_crc32(0, p, 8) : 0;
		if (whole >= 16 && whole <= n && whole <= sizeof a->es && api_be32(p + 4) <= whole - 16 &&
		    c8 == api_be32(p + 8)) {                    /* a whole message in what came: read it where it is */
			int rc;
			if (api_crc32(c8, p + 8, whole - 12) != api_be32(p + whole - 4))   /* (the prelude's CRC goes on) */
				return a->esn = 0, err_set(a->e, AG_E_CLOSED, prose(api_es_feed_msg1), a->http.url.host);
			if ((rc = api_es_message(a, p, whole)) != 0)
				return rc;
			p += whole;
			n -= whole;
			continue;
		}
		size_t need = a->esn < 12 ? 12 - a->esn : (size_t)api_be32(a->es) - a->esn, c = n < need ? n : need;
		memcpy(a->es + a->esn, p, c);
		a->esn += c;
		p += c;
		n -= c;
		if (a->esn == 12) {
			uint32_t total = api_be32(a->es), hl = api_be32(a->es + 4);
			if (api_crc32(0, a->es, 8) != api_be32(a->es + 8) || total < 16 || hl > total - 16)
				return a->esn = 0, err_set(a->e, AG_E_CLOSED, prose(api_es_feed_msg), a->http.url.host);
			if (total > sizeof a->es)
				return a->esn = 0, err_set(a->e, AG_E_TOOBIG, prose(api_es_feed_msg2),
				               (unsigned)total, (unsigned)sizeof a->es);
		}
		if (a->esn >= 12 && a->esn == api_be32(a->es)) {
			size_t total = a->esn;
			int rc;
			a->esn = 0;
			if (api_crc32(0, a->es, total - 4) != api_be32(a->es + total - 4))
				return a->esn = 0, err_set(a->e, AG_E_CLOSED, prose(api_es_feed_msg3), a->http.url.host);
			if ((rc = api_es_message(a, a->es, total)) != 0)
				return rc;
		}
	}
	return 0;
}

static void
api_body(struct jw *w, void *ctx)
{
	const struct api_req *q = ctx;
	jw_open(w, '{');
	if (q->cfg->bedrock || q->cfg->vertex) {  /* the model is in the path; the version in the body */
		jw_key(w, "anthropic_version");
		jw_str(w, q->cfg->bedrock ? "bedrock-2023-05-31" : "vertex-2023-10-16");
	} else {
		jw_key(w, "model");
		jw_str(w, q->cfg->model);
	}
	if (!q->count) {
		jw_key(w, "max_tokens");
		jw_int(w, q->cfg->max_tokens);
	}
	if (q->cfg->system_json) {
		jw_key(w, "system");
		jw_json(w, q->cfg->system_json, strlen(q->cfg->system_json));
	}
	if (q->cfg->tools_json) {
		jw_key(w, "tools");
		jw_json(w, q->cfg->tools_json, strlen(q->cfg->tools_json));
	}
	jw_key(w, "messages");
	conv_write(q->conv, w, !q->count);
	if (q->cfg->user_id && !q->count && !q->cfg->bedrock) {
		jw_key(w, "metadata");
		jw_open(w, '{');
		jw_key(w, "user_id");
		jw_str(w, q->cfg->user_id);
		jw_close(w, '}');
	}
	if (q->cfg->thinking) {
		jw_key(w, "thinking");
		jw_open(w, '{');
		jw_key(w, "type");
		jw_str(w, "enabled");
		jw_key(w, "budget_tokens");
		jw_int(w, q->cfg->thinking);
		jw_close(w, '}');
	}
	if (!q->count && !q->cfg->bedrock) {
		jw_key(w, "stream");
		jw_bool(w, 1);
	}
	jw_close(w, '}');
}

PROSE(api_oa_text_msg,
	"(an image, not shown to this model)")

/* OpenAI-compatible Chat Completions (llama.cpp, Ollama, vLLM, OpenAI): the same conversation store,
 * written in that dialect. Text parts of a content (a string, or blocks of which the text ones count)
 * joined into one string body; what has no text form there (an image) is named. */
static void
api_oa_text(struct jw *w, const struct json *j, int c, int *any)
{
	int i, k;
	struct buf t = {0};
	if (c < 0)
		return;
	if (j->t[c].type == JSMN_STRING) {
		if (!json_str_buf(j, c, &t) && t.len) {
			if (*any)
				jw_strbody(w, "\n\n", 2);
			jw_strbody(w, t.p, t.len);
			*any = 1;
		}
		buf_free(&t);
		return;
	}
	if (j->t[c].type != JSMN_ARRAY)
		return;
	for (i = 0, k = c + 1; i < j->t[c].size; i++, k = json_skip(j, k)) {
		int ty = json_get(j, k, "type");
		if (json_eq(j, ty, "text"))
			api_oa_text(w, j, json_get(j, k, "text"), any);
		else if (json_eq(j, ty, "image")) {
			if (*any)
				jw_strbody(w, "\n\n", 2);
			jw_strbody(w, prose(api_oa_text_msg), 35);
			*any = 1;
		}
	}
}

/* One message of the store as Chat Completions messages: a user message's tool results first (role
 * "tool", each right after the assistant's tool_calls), then its text; an assistant message's text and
 * tool calls (their input as a JSON string). Thinking blocks have no place there and are left out. */
static void
api_oa_message(struct jw *w, const struct msg *m)
{
	struct json j;
	jsmntok_t *tok[AG_API_BLOCKS] = {0};
	size_t k, n = m->n < AG_API_BLOCKS ? m->n : AG_API_BLOCKS;
	int any = 0, calls = 0, c;
	struct json js[AG_API_BLOCKS];
	for (k = 0; k < n; k++)
		if (json_parse_alloc(&js[k], m->blk[k].p, m->blk[k].len, &tok[k]) <= 0 || tok[k][0].type != JSMN_OBJECT)
			js[k].n = 0;
	if (m->role == ROLE_USER) {
		for (k = 0; k < n; k++) {
			j = js[k];
			if (!j.n || !json_eq(&j, json_get(&j, 0, "type"), "tool_result"))
				continue;
			any = 0;
			jw_open(w, '{');
			jw_key(w, "role"); jw_str(w, "tool");
			jw_key(w, "tool_call_id"); json_copy(w, &j, json_get(&j, 0, "tool_use_id"));
			jw_key(w, "content");
			jw_sep(w);
			jw_raw(w, "\"", 1);
			if ((c = json_get(&j, 0, "is_error")) >= 0 && j.t[c].type == JSMN_PRIMITIVE && j.s[j.t[c].start] == 't')
				jw_strbody(w, "Error: ", 7);
			api_oa_text(w, &j, json_get(&j, 0, "content"), &any);
			jw_raw(w, "\"", 1);
			jw_close(w, '}');
		}
	}
	for (k = 0; k < n; k++) {
		j = js[k];
		if (j.n && json_eq(&j, json_get(&j, 0, "type"), "text"))
			any = 2;
		if (j.n && json_eq(&j, json_get(&j, 0, "type"), "tool_use"))
			calls++;
	}
	if (any == 2 || calls) {
		jw_open(w, '{');
		jw_key(w, "role"); jw_str(w, m->role == ROLE_USER ? "user" : "assistant");
		jw_key(w, "content");
		if (any == 2) {
			any = 0;
			jw_sep(w);
			jw_raw(w, "\"", 1);
			for (k = 0; k < n; k++) {
				j = js[k];
				if (j.n && json_eq(&j, json_get(&j, 0, "type"), "text"))
					api_oa_text(w, &j, json_get(&j, 0, "text"), &any);
			}
			jw_raw(w, "\"", 1);
		} else {
			jw_json(w, "null", 4);
		}
		if (calls && m->role == ROLE_ASSISTANT) {
			jw_key(w, "tool_calls");
			jw_open(w, '[');
			for (k = 0; k < n; k++) {
				struct buf args = {0};
				struct jw aw;
				j = js[k];
				if (!j.n || !json_eq(&j, json_get(&j, 0, "type"), "tool_use"))
					continue;
				jw_init(&aw, jw_sink_buf, &args);
				json_copy(&aw, &j, json_get(&j, 0, "input"));
				jw_open(w, '{');
				jw_key(w, "id"); json_copy(w, &j, json_get(&j, 0, "id"));
				jw_key(w, "type"); jw_str(w, "function");
				jw_key(w, "function");
				jw_open(w, '{');
				jw_key(w, "name"); json_copy(w, &j, json_get(&j, 0, "name"));
				jw_key(w, "arguments"); jw_strn(w, args.p ? args.p : "{}", args.p ? args.len : 2);
				jw_close(w, '}');
				jw_close(w, '}');
				buf_free(&args);
			}
			jw_close(w, ']');
		}
		jw_close(w, '}');
	}
	for (k = 0; k < n; k++)
		free(tok[k]);
}

static void
api_oa_body(struct jw *w, void *ctx)
{
	const struct api_req *q = ctx;
	struct json j;
	jsmntok_t *tok = NULL;
	size_t i;
	int k, c, any = 0;
	jw_open(w, '{');
	jw_key(w, "model"); jw_str(w, q->cfg->model);
	jw_key(w, "max_tokens"); jw_int(w, q->cfg->max_tokens);
	jw_key(w, "stream"); jw_bool(w, 1);
	jw_key(w, "stream_options"); jw_json(w, "{\"include_usage\":true}", 22);
	jw_key(w, "messages");
	jw_open(w, '[');
	if (q->cfg->system_json && json_parse_alloc(&j, q->cfg->system_json, strlen(q->cfg->system_json), &tok) > 0) {
		jw_open(w, '{');
		jw_key(w, "role"); jw_str(w, "system");
		jw_key(w, "content");
		jw_sep(w);
		jw_raw(w, "\"", 1);
		api_oa_text(w, &j, 0, &any);
		jw_raw(w, "\"", 1);
		jw_close(w, '}');
	}
	free(tok);
	tok = NULL;
	for (i = 0; i < q->conv->n; i++)
		api_oa_message(w, &q->conv->m[i]);
	jw_close(w, ']');
	if (q->cfg->tools_json && json_parse_alloc(&j, q->cfg->tools_json, strlen(q->cfg->tools_json), &tok) > 0 &&
	    j.t[0].type == JSMN_ARRAY && j.t[0].size > 0) {
		jw_key(w, "tools");
		jw_open(w, '[');
		for (c = 0, k = 1; c < j.t[0].size; c++, k = json_skip(&j, k)) {
			jw_open(w, '{');
			jw_key(w, "type"); jw_str(w, "function");
			jw_key(w, "function");
			jw_open(w, '{');
			jw_key(w, "name"); json_copy(w, &j, json_get(&j, k, "name"));
			jw_key(w, "description"); json_copy(w, &j, json_get(&j, k, "description"));
			jw_key(w, "parameters"); json_copy(w, &j, json_get(&j, k, "input_schema"));
			jw_close(w, '}');
			jw_close(w, '}');
		}
		jw_close(w, ']');
	}
	free(tok);
	jw_close(w, '}');
}

/* The block that holds the stream's tool call number idx, made on first sight. */
static struct api_block *
api_oa_call_block(struct api *a, long long idx)
{
	struct api_msg *m = a->msg;
	if (idx < 0 || idx >= AG_API_BLOCKS)
		return NULL;
	if (a->oa_call[idx] < 0) {
		if (m->nb >= AG_API_BLOCKS)
			return NULL;
		a->oa_call[idx] = (signed char)m->nb++;
		m->b[a->oa_call[idx]].type = BLK_TOOL_USE;
	}
	return &m->b[a->oa_call[idx]];
}

static void
api_oa_finish(struct api *a)
{
	int i;
	for (i = 0; i < a->msg->nb; i++) {
		struct api_block *b = &a->msg->b[i];
		if (b->type == BLK_TEXT && !b->stopped)
			api_text_end(b);
		if (b->type == BLK_TOOL_USE && !b->id.len)
			buf_printf(&b->id, "call_%d", i);      /* some local servers send no id */
		b->stopped = 1;
	}
	a->msg->stopped = 1;
}

PROSE(api_oa_on_event_msg4,
	"API error in the middle of the answer: %s")
PROSE(api_oa_on_event_msg5,
	"the stream named tool call index %lld, outside 0..%d")
PROSE(api_oa_on_event_msg6,
	"a tool call's arguments could not be read")

PROSE(api_oa_on_event_msg1,
	"a chunk holds more than %d JSON values; this build cannot read it")
PROSE(api_oa_on_event_msg2,
	"the stream from %s ended in the middle of a chunk (incomplete answer)")
PROSE(api_oa_on_event_msg3,
	"the server sent a chunk that is not a valid JSON object: '%s'")

/* One Chat Completions chunk: text, tool call pieces, the finish reason, usage; "[DONE]" ends it. */
static int
api_oa_on_event(void *ctx, const char *event, char *data, size_t n)
{
	struct api *a = ctx;
	struct api_msg *m = a->msg;
	struct json j;
	char ex[100], fin[32];
	int r, ch, d, tc, i, k;
	long l;
	long long v;
	if (n == 0)
		return 0;                             /* an empty event carries nothing to act on */
	if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
		api_oa_finish(a);
		return 0;
	}
	r = json_parse(&j, data, n, a->tok, AG_JSON_TOKENS);
	if (r == AG_E_TOOBIG)
		return err_set(a->e, AG_E_API, prose(api_oa_on_event_msg1),
		               AG_JSON_TOKENS);
	if ((r < 0 || j.t[0].type != JSMN_OBJECT) && a->sse.unterminated)
		return err_set(a->e, AG_E_CLOSED, prose(api_oa_on_event_msg2),
		               a->http.url.host);
	if (r < 0 || j.t[0].type != JSMN_OBJECT) {
		str_excerpt(ex, sizeof ex, data, n);
		return err_set(a->e, AG_E_API, prose(api_oa_on_event_msg3), ex);
	}
	if ((d = json_get(&j, 0, "error")) >= 0) {
		char msg[400] = "";
		json_str(&j, json_get(&j, d, "message"), msg, sizeof msg);
		if (!msg[0])
			json_str(&j, d, msg, sizeof msg);
		base_snprintf(a->stream_error, sizeof a->stream_error, "api_error");
		return err_set(a->e, AG_E_API, prose(api_oa_on_event_msg4), msg[0] ? msg : "(no message)");
	}
	if (!m->started) {
		json_str(&j, json_get(&j, 0, "id"), m->id, sizeof m->id);
		m->started = 1;
	}
	if ((d = json_get(&j, 0, "usage")) >= 0 && j.t[d].type == JSMN_OBJECT) {
		if (!json_int(&j, json_get(&j, d, "prompt_tokens"), &v)) m->usage.input = v;
		if (!json_int(&j, json_get(&j, d, "completion_tokens"), &v)) m->usage.output = v;
	}
	ch = json_get(&j, 0, "choices");
	if (ch < 0 || j.t[ch].type != JSMN_ARRAY || j.t[ch].size < 1)
		return 0;
	ch++;                                         /* the first choice: we ask for one */
	d = json_get(&j, ch, "delta");
	if ((l = api_str(a, &j, json_get(&j, d, "content"))) > 0) {
		struct api_block *b;
		if (a->oa_text < 0) {
			if (m->nb >= AG_API_BLOCKS)
				return err_set(a->e, AG_E_API, "the answer has more than %d parts", AG_API_BLOCKS);
			a->oa_text = m->nb++;
			b = &m->b[a->oa_text];
			b->type = BLK_TEXT;
			buf_adds(&b->text, API_TEXT_PREFIX);
			if (a->sink && a->sink->block_start)
				a->sink->block_start(a->sink->ctx, BLK_TEXT);
		}
		b = &m->b[a->oa_text];
		api_text_add(b, a->scratch, (size_t)l);
		if (a->sink && a->sink->text)
			a->sink->text(a->sink->ctx, a->scratch, (size_t)l);
	}
	if ((l = api_str(a, &j, json_get(&j, d, "reasoning_content"))) > 0 && a->sink && a->sink->thinking)
		a->sink->thinking(a->sink->ctx, a->scratch, (size_t)l);  /* shown, not kept: no signature */
	tc = json_get(&j, d, "tool_calls");
	if (tc >= 0 && j.t[tc].type == JSMN_ARRAY)
		for (i = 0, k = tc + 1; i < j.t[tc].size; i++, k = json_skip(&j, k)) {
			struct api_block *b;
			int f = json_get(&j, k, "function");
			if (json_int(&j, json_get(&j, k, "index"), &v))
				v = i;
			if (!(b = api_oa_call_block(a, v)))
				return err_set(a->e, AG_E_API, prose(api_oa_on_event_msg5), v,
				               AG_API_BLOCKS - 1);
			if (json_get(&j, k, "id") >= 0 && !b->id.len)
				json_str_buf(&j, json_get(&j, k, "id"), &b->id);
			if (!b->name[0])
				json_str(&j, json_get(&j, f, "name"), b->name, sizeof b->name);
			if ((r = json_get(&j, f, "arguments")) >= 0 && j.t[r].type == JSMN_STRING &&
			    json_str_buf(&j, r, &b->input))
				return err_set(a->e, AG_E_API, prose(api_oa_on_event_msg6));
			if (a->sink && a->sink->block_start && b->input.len == 0)
				a->sink->block_start(a->sink->ctx, BLK_TOOL_USE);
		}
	if (!json_str(&j, json_get(&j, ch, "finish_reason"), fin, sizeof fin)) {
		const char *sr = strcmp(fin, "stop") == 0 ? "end_turn" : strcmp(fin, "tool_calls") == 0 ||
		                 strcmp(fin, "function_call") == 0 ? "tool_use" : strcmp(fin, "length") == 0 ?
		                 "max_tokens" : fin;
		base_snprintf(m->stop_reason, sizeof m->stop_reason, "%s", sr);
		a->oa_done = 1;
	}
	return 0;
}

PROSE(api_http_error_msg2,
	"; this device's clock is off (set it: date -s)")
PROSE(api_http_error_msg3,
	"; the AWS credentials (from %.100s) are not "
	"valid")
PROSE(api_http_error_msg4,
	"; check the model id '%.100s' (ANTHROPIC_MODEL)")

PROSE(api_http_error_msg1,
	"; the Google credentials (%.200s) were refused "
	"for project %s")

PROSE(api_http_error_msg,
	"; check the model id '%.100s' (ANTHROPIC_MODEL) "
	"and that it is enabled for project %s in region %s")

/* The HTTP error body, read whole (capped), turned into one line with the API's type and message. */
static int
api_http_error(struct api *a)
{
	struct http *h = &a->http;
	struct buf b = {0};
	char tmp[4096], et[64] = "", msg[400] = "", rid[80] = "", ex[160];
	long r;
	size_t rl;
	const char *reqid = http_header(h, "request-id", &rl);
	struct json j;
	while ((r = http_body_read(h, tmp, sizeof tmp)) > 0)
		if (b.len < AG_HTTP_ERRBODY_MAX)
			buf_add(&b, tmp, (size_t)r);
	a->e->code = r < 0 ? 0 : a->e->code;      /* a cut error body still has its status to report */
	if (r < 0)
		a->e->msg[0] = 0;
	if (reqid)
		base_snprintf(rid, sizeof rid, " (request-id %.*s)", (int)(rl < 60 ? rl : 60), reqid);
	if (b.len && json_parse(&j, b.p, b.len, a->tok, AG_JSON_TOKENS) > 0 && j.t[0].type == JSMN_OBJECT) {
		int er = json_get(&j, 0, "error");
		json_str(&j, json_get(&j, er, "type"), et, sizeof et);
		json_str(&j, json_get(&j, er, "message"), msg, sizeof msg);
		if (!et[0])                           /* Google: {"error": {"code", "message", "status"}} */
			json_str(&j, json_get(&j, er, "status"), et, sizeof et);
		if (er < 0 && json_str(&j, json_get(&j, 0, "message"), msg, sizeof msg))   /* AWS: {"message"} */
			json_str(&j, json_get(&j, 0, "Message"), msg, sizeof msg);
	}
	if (a->cfg->bedrock && !et[0]) {
		size_t tl;
		const char *t = http_header(h, "x-amzn-errortype", &tl);
		if (t)
			str_copy(et, sizeof et, t, strcspn(t, ":\r\n") < tl ? strcspn(t, ":\r\n") : tl);
		if (!reqid && (reqid = http_header(h, "x-amzn-requestid", &rl)) != NULL)
			base_snprintf(rid, sizeof rid, " (request-id %.*s)", (int)(rl < 60 ? rl : 60), reqid);
		if (str_find(msg, "Signature expired") || str_find(msg, "Signature not yet current"))
			base_snprintf(msg + strlen(msg), sizeof msg - strlen(msg), prose(api_http_error_msg2));
		else if (h->status == 403 && (str_find(et, "UnrecognizedClient") || str_find(msg, "security token")))
			base_snprintf(msg + strlen(msg), sizeof msg - strlen(msg), prose(api_http_error_msg3), a->cfg->bedrock->source);
		else if (str_find(msg, "model identifier is invalid") || h->status == 404)
			base_snprintf(msg + strlen(msg), sizeof msg - strlen(msg), prose(api_http_error_msg4),
			              a->cfg->model);
	}
	if (a->cfg->vertex && (h->status == 401 || h->status == 403))
		base_snprintf(msg + strlen(msg), sizeof msg - strlen(msg), prose(api_http_error_msg1), a->cfg->vertex->source, a->cfg->vertex->project);
	else if (a->cfg->vertex && h->status == 404)
		base_snprintf(msg + strlen(msg), sizeof msg - strlen(msg), prose(api_http_error_msg), a->cfg->model, a->cfg->vertex->project,
		              a->cfg->vertex->region);
	a->e->status = h->status;
	if (h->status == 407 && h->proxy.kind == PROXY_HTTP && !h->url.tls)
		err_set(a->e, AG_E_API, "the proxy %s:%s %s (407): %s", h->proxy.host, h->proxy.port,
		        h->proxy.auth[0] ? "rejected the credentials" : "needs credentials", h->proxy.auth[0] ?
		        "check the user name and password in the proxy variable" :
		        "put them in HTTP_PROXY as http://user:password@host:port");
	if (et[0] || msg[0])
		err_set(a->e, AG_E_API, "API error %d %s: %s%s", h->status, et, msg, rid);
	else {
		str_excerpt(ex, sizeof ex, b.p ? b.p : "", b.len);
		while (b.len && ex[0] == 0) {         /* first non-empty line */
			char *nl = memchr(b.p, '\n', b.len);
			if (!nl)
				break;
			b.len -= (size_t)(nl + 1 - b.p);
			memmove(b.p, nl + 1, b.len);
			str_excerpt(ex, sizeof ex, b.p, b.len);
		}
		err_set(a->e, AG_E_API, "HTTP %d from %s: %s%s", h->status, h->url.host, ex[0] ? ex : "(empty body)",
		        rid);
	}
	a->e->status = h->status;
	buf_free(&b);
	if (!h->keep || r < 0)
		http_close(h);
	return a->e->code;
}

static void
api_headers(struct api *a, struct buf *hd, const char *accept)
{
	if (a->cfg->bedrock)
		return;                               /* api_bedrock_headers */
	if (a->cfg->vertex) {
		if (a->cfg->vertex->token.len)
			buf_printf(hd, "authorization: Bearer %s\r\n", a->cfg->vertex->token.p);
		buf_printf(hd, "content-type: application/json\r\naccept: %s\r\nuser-agent: agent/" AG_VERSION "\r\n", accept);
		return;
	}
	if (a->cfg->openai) {
		if (a->cfg->bearer)
			buf_printf(hd, "authorization: Bearer %s\r\n", a->cfg->bearer);
		buf_printf(hd, "content-type: application/json\r\naccept: %s\r\nuser-agent: agent/" AG_VERSION "\r\n",
		           accept);
		return;
	}
	if (a->cfg->api_key)
		buf_printf(hd, "x-api-key: %s\r\n", a->cfg->api_key);
	else if (a->cfg->bearer)
		buf_printf(hd, "authorization: Bearer %s\r\n", a->cfg->bearer);
	buf_printf(hd, "anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\naccept: %s\r\n"
	           "user-agent: agent/" AG_VERSION "\r\n", accept);
}

/* Bedrock's request: the path for the model (its id or ARN percent-encoded into one segment), and the
 * headers: signed with SigV4 over the body's SHA-256, computed on a dry pass of the body writer (the body
 * is never held), or a Bedrock API key as a bearer token. The credentials are fetched again when they end
 * within 5 minutes. */
static int
api_bedrock_headers(struct api *a, const struct api_req *q, struct buf *path, struct buf *hd)
{
	struct api_aws *k = a->cfg->bedrock;
	br_sha256_context sc;
	unsigned char h[32];
	char hex[65], date[17], host[300];
	struct jw w;
	int defport = strcmp(a->http.url.port, a->http.url.tls ? "443" : "80") == 0;
	buf_adds(path, "/model/");
	api_uri_encode(a->cfg->model, strlen(a->cfg->model), 0, path);
	buf_adds(path, "/invoke-with-response-stream");
	buf_adds(hd, "content-type: application/json\r\naccept: application/vnd.amazon.eventstream\r\n"
	         "user-agent: agent/" AG_VERSION "\r\n");
	if (k->skip_auth)
		return 0;
	if (k->bearer) {
		buf_printf(hd, "authorization: Bearer %s\r\n", k->bearer);
		return 0;
	}
	if (k->expires && clk_now() > k->expires - 300 && api_aws_creds(k, a->e))
		return a->e->code;
	br_sha256_init(&sc);
	jw_init(&w, api_sha_sink, &sc);
	api_body(&w, (void *)q);
	if (w.err)
		return err_set(a->e, w.err, "cannot build the request body");
	br_sha256_out(&sc, h);
	api_hex(hex, h, 32);
	api_amz_date(clk_now(), date);
	base_snprintf(host, sizeof host, "%s%s%s%s%s", strchr(a->http.url.host, ':') ? "[" : "", a->http.url.host,
	              strchr(a->http.url.host, ':') ? "]" : "", defport ? "" : ":", defport ? "" : a->http.url.port);
	{
		struct buf full = {0};              /* what the server sees as the path: the URL's prefix too */
		buf_printf(&full, "%s%s", a->http.url.prefix, path->p);
		api_sigv4(k, "bedrock", "POST", host, full.p, "", "application/json", hex, 1, date, hd);
		buf_free(&full);
	}
	return 0;
}

PROSE(api_vertex_path_msg1,
	"/projects/%s/locations/%s/publishers/anthropic/models/")

PROSE(api_vertex_path_msg,
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._@")

/* Vertex's path for the model (one segment, '@' as written), after a new token if this one ends within
 * 5 minutes. */
static int
api_vertex_path(struct api *a, struct buf *path)
{
	struct api_gcp *g = a->cfg->vertex;
	const char *m = a->cfg->model;
	if (!g->skip_auth && clk_now() >= g->expires - 300 && api_gcp_token(g, a->e))
		return a->e->code;
	buf_printf(path, prose(api_vertex_path_msg1), g->project, g->region);
	if (strspn(m, prose(api_vertex_path_msg)) == strlen(m))
		buf_adds(path, m);
	else
		api_uri_encode(m, strlen(m), 0, path);
	buf_adds(path, ":streamRawPredict");
	return path->p ? 0 : err_set(a->e, AG_E_NOMEM, "out of memory");
}

PROSE(api_count_tokens_msg1,
	"count_tokens answered without input_tokens")

PROSE(api_count_tokens_msg,
	"token counting needs the Anthropic API; this session uses another provider")

/* POST /v1/messages/count_tokens: the input tokens the conversation would cost now. */
static int
api_count_tokens(struct api *a, const struct conv *c, long long *out)
{
	struct api_req q;
	struct buf hd = {0}, body = {0};
	char tmp[4096];
	long r;
	int rc;
	struct json j;
	q.cfg = a->cfg;
	q.conv = c;
	q.count = 1;
	a->http.e = a->e;
	a->http.net.timeout_ms = a->cfg->timeout_ms;
	a->http.deadline_ms = a->cfg->timeout_ms > 0 ? clk_ms() + a->cfg->timeout_ms : 0;
	if (a->cfg->openai || a->cfg->bedrock || a->cfg->vertex)
		return err_set(a->e, AG_E_API, prose(api_count_tokens_msg));
	api_headers(a, &hd, "application/json");
	rc = http_request(&a->http, "POST", "/v1/messages/count_tokens", hd.p, api_body, &q);
	buf_wipe(&hd);
	if (rc)
		return rc;
	if (a->http.status != 200)
		return api_http_error(a);
	while ((r = http_body_read(&a->http, tmp, sizeof tmp)) > 0)
		if (body.len < AG_HTTP_ERRBODY_MAX)
			buf_add(&body, tmp, (size_t)r);
	rc = r < 0 ? (int)r : 0;
	if (!rc && (json_parse(&j, body.p ? body.p : "", body.len, a->tok, AG_JSON_TOKENS) <= 0 ||
	            json_int(&j, json_get(&j, 0, "input_tokens"), out)))
		rc = err_set(a->e, AG_E_API, prose(api_count_tokens_msg1));
	buf_free(&body);
	return rc;
}

PROSE(api_call_msg5,
	"agent: > %.*s %.*s...(%zu characters)\n")

PROSE(api_call_msg3,
	"an event in the stream is too large (over %d bytes)")
PROSE(api_call_msg4,
	"the stream from %s ended before %s (incomplete answer)")

PROSE(api_call_msg1,
	"%s answered with %.*s instead of an event stream (a captive portal or "
	"a wrong ANTHROPIC_BASE_URL?): '%s'")
PROSE(api_call_msg2,
	"the connection to %s was closed before the answer was complete "
	"(incomplete answer)")

/* One Messages API call: send the conversation, stream the answer into msg, showing it through sink. */
static int
api_call(struct api *a, const struct conv *c, struct api_msg *m, const struct api_sink *sink,
         void (*flush)(void *), void *flush_ctx)
{
	struct api_req q;
	struct buf hd = {0}, bpath = {0};
	char tmp[AG_HTTP_RBUF];
	size_t ctl;
	const char *ct, *path = a->cfg->openai ? "/chat/completions" : "/v1/messages";
	const char *want = a->cfg->bedrock ? "application/vnd.amazon.eventstream" : "text/event-stream";
	long r;
	int rc;
	sse_cb on_event = a->cfg->openai ? api_oa_on_event : api_on_event;
	q.cfg = a->cfg;
	q.conv = c;
	q.count = 0;
	a->msg = m;
	a->stream_error[0] = 0;
	a->oa_text = -1;
	a->oa_done = 0;
	memset(a->oa_call, -1, sizeof a->oa_call);
	a->e->status = 0;
	a->sink = sink;
	api_msg_reset(m);
	sse_init(&a->sse);
	a->esn = 0;
	a->http.e = a->e;
	a->http.net.timeout_ms = a->cfg->timeout_ms;
	a->http.deadline_ms = a->cfg->timeout_ms > 0 ? clk_ms() + a->cfg->timeout_ms : 0;
	if (a->cfg->vertex && (rc = api_vertex_path(a, &bpath)) != 0) {
		buf_free(&bpath);
		return rc;
	}
	if (a->cfg->vertex)
		path = bpath.p;
	api_headers(a, &hd, "text/event-stream");
	if (a->cfg->bedrock) {
		if ((rc = api_bedrock_headers(a, &q, &bpath, &hd)) != 0) {
			buf_free(&bpath);
			buf_free(&hd);
			return rc;
		}
		path = bpath.p;
	}
	if (a->cfg->verbose) {
		/* the wire, without secrets: a key shows its first 6 characters */
		size_t i = 0;
		base_dprintf(2, "agent: > POST %s%s%s\n", a->http.url.host, a->http.url.prefix, path);
		while (i < hd.len) {
			char *nl = memchr(hd.p + i, '\n', hd.len - i);
			size_t n = nl ? (size_t)(nl - (hd.p + i)) : hd.len - i, vl;
			const char *line = hd.p + i, *colon = memchr(line, ':', n);
			int secret = str_starts(line, "x-api-key:") || str_starts(line, "authorization:") ||
			             str_starts(line, "x-amz-security-token:");
			if (n && line[n - 1] == '\r')
				n--;
			vl = colon ? n - (size_t)(colon + 2 - line) : 0;
			if (secret && colon)
				base_dprintf(2, prose(api_call_msg5), (int)(colon - line + 1), line,
				        (int)(vl > 6 ? 6 : vl), colon + 2, vl);
			else
				base_dprintf(2, "agent: > %.*s\n", (int)n, line);
			i += (nl ? (size_t)(nl - (hd.p + i)) : hd.len - i) + 1;
		}
	}
	rc = hd.p ? http_request(&a->http, "POST", path, hd.p, a->cfg->openai ? api_oa_body : api_body, &q) :
	            err_set(a->e, AG_E_NOMEM, "out of memory");
	buf_wipe(&hd);                        /* the key does not linger in freed memory */
	buf_free(&bpath);
	if (rc)
		return rc;
	if (a->http.status < 200 || a->http.status > 299)
		return api_http_error(a);
	{
		/* the rate-limit headers, kept for /status and the nearly-used warning */
		size_t i = 0;
		a->ratelimit.len = 0;
		while (i < a->http.hdrlen) {
			const char *line = a->http.hdr + i, *eol = memchr(line, '\n', a->http.hdrlen - i);
			size_t ll = eol ? (size_t)(eol - line) + 1 : a->http.hdrlen - i;
			if (str_starts(line, "anthropic-ratelimit-"))
				buf_add(&a->ratelimit, line, ll);
			i += ll;
		}
	}
	ct = http_header(&a->http, "content-type", &ctl);
	if (ct && !(ctl >= strlen(want) && strncasecmp(ct, want, strlen(want)) == 0)) {
		char ex[120];
		r = http_body_read(&a->http, tmp, 512);
		str_excerpt(ex, sizeof ex, tmp, r > 0 ? (size_t)r : 0);
		http_close(&a->http);
		return err_set(a->e, AG_E_API, prose(api_call_msg1), a->http.url.host, (int)(ctl < 60 ? ctl : 60), ct, ex);
	}
	while ((r = http_body_read(&a->http, tmp, sizeof tmp)) > 0) {
		rc = a->cfg->bedrock ? api_es_feed(a, (const unsigned char *)tmp, (size_t)r) :
		     sse_feed(&a->sse, tmp, (size_t)r, on_event, a);
		if (flush)
			flush(flush_ctx);
		if (rc == AG_E_TOOBIG)
			rc = err_set(a->e, AG_E_TOOBIG, prose(api_call_msg3),
			             AG_SSE_EVENT_MAX);
		if (rc) {
			http_close(&a->http);
			return rc;
		}
	}
	if (r < 0) {
		http_close(&a->http);
		if (a->e->code == AG_E_CLOSED)
			a->e->code = 0, a->e->msg[0] = 0,
			err_set(a->e, AG_E_CLOSED, prose(api_call_msg2), a->http.url.host);
		return a->e->code;
	}
	rc = a->cfg->bedrock ? 0 : sse_finish(&a->sse, on_event, a);
	if (flush)
		flush(flush_ctx);
	if (rc)
		return rc;
	if (a->cfg->openai && a->oa_done && !m->stopped)
		api_oa_finish(a);                         /* a finish_reason, then the end without [DONE] */
	if (!m->stopped)
		return err_set(a->e, AG_E_CLOSED, prose(api_call_msg4),
		               a->http.url.host, a->cfg->openai ? "[DONE]" : a->cfg->bedrock && a->esn ? "the end of an "
		               "event-stream message" : "message_stop");
	return 0;
}

/* Seconds or an HTTP date (RFC 9110) in a retry-after header, as milliseconds from now; -1 if neither. */
static long long
api_retry_after(const char *v, size_t n)
{
	unsigned long long secs;
	long long t;
	if (!str_to_u64(v, n, 1ULL << 31, &secs))
		return (long long)secs * 1000;
	if (!clk_parse_http_date(v, n, &t))
		return (t - clk_now()) * 1000;
	return -1;
}

/* Should a failed call be made again, as the official SDKs decide: connection errors, timeouts, 408, 409,
 * 429 and 5xx (529 overloaded among them), and an overloaded or api_error event mid-stream; the server's
 * x-should-retry overrides. *delay_ms: retry-after-ms, else retry-after when 0-60 s, else
 * min(0.5 * 2^attempt, 8) s less up to 25% of jitter. */
static int
api_should_retry(struct api *a, int rc, int attempt, long long *delay_ms)
{
	struct http *h = &a->http;
	const char *v;
	size_t n;
	int retry;
	long long d = -1;
	unsigned char r;
	if (rc == AG_E_INTR || rc == AG_E_USAGE || rc == AG_E_NOMEM || ag_interrupted)
		return 0;
	if (a->e->status) {
		int st = a->e->status;
		retry = st == 408 || st == 409 || st == 429 || st >= 500;
		if ((v = http_header(h, "x-should-retry", &n)) != NULL)
			retry = str_ieq(v, n, "true");
		if ((v = http_header(h, "retry-after-ms", &n)) != NULL) {
			unsigned long long ms;
			size_t dot = 0;
			while (dot < n && v[dot] != '.')
				dot++;
			if (!str_to_u64(v, dot, 1ULL << 31, &ms))
				d = (long long)ms;
		} else if ((v = http_header(h, "retry-after", &n)) != NULL) {
			d = api_retry_after(v, n);
			if (d < 0 || d > 60000)
				d = -1;
		}
	} else if (a->stream_error[0]) {
		retry = !strcmp(a->stream_error, "overloaded_error") || !strcmp(a->stream_error, "api_error") ||
		        !strcmp(a->stream_error, "throttlingException") || !strcmp(a->stream_error, "modelStreamErrorException") ||
		        !strcmp(a->stream_error, "serviceUnavailableException") ||
		        !strcmp(a->stream_error, "internalServerException") || !strcmp(a->stream_error, "modelNotReadyException");
	} else {
		retry = rc == AG_E_IO || rc == AG_E_CLOSED || rc == AG_E_TIMEOUT;
	}
	if (d < 0) {
		d = 500LL << (attempt < 5 ? attempt : 5);
		if (d > 8000)
			d = 8000;
		str_random_bytes(&r, 1);
		d -= d * r / 1024;                 /* up to 25% less */
	}
	*delay_ms = d;
	return retry;
}

/* ==== 9. bound: the trust boundary ==== */

/* The directories the agent may touch without an explicit path rule: the working directory it started in
 * and those added on purpose (--add-dir, permissions.additionalDirectories, /add-dir), each kept as its real
 * path. Whether a path is inside is decided on the path the kernel would reach: every symlink followed and
 * ".." applied after it, then compared component by component. A file tool opens exactly the resolved path,
 * one component at a time without following a link, so a directory swapped for a symlink after the check
 * makes the open fail instead of leading outside. Every file tool and every Bash write target comes here. */

#ifndef AG_BOUND_DIRS
#define AG_BOUND_DIRS 32
#endif
#if AG_BOUND_DIRS < 1 || AG_BOUND_DIRS > 1024
#error "AG_BOUND_DIRS must be between 1 and 1024"
#endif

struct bound {
	char *dir[AG_BOUND_DIRS];  /* real paths; dir[0] is the project (the starting working directory) */
	int n;
};

/* Resolve in (absolute, or relative to base; "~/" is $HOME) as the kernel would: each existing component
 * lstat'ed, links spliced into what is left (at most 40), ".." taken on what has been resolved so far.
 * Below a component that does not exist the rest is added lexically (".." back above it resolves again,
 * as "new/../link/f" reaches through link once new is made). out gets an
 * absolute path with no link in its existing part; AG_E_INVAL for a loop or an empty path. */
static int
bound_resolve(const char *base, const char *in, char *out, size_t cap)
{
	char rest[PATH_MAX * 2], tmp[PATH_MAX * 2], link[PATH_MAX];
	const char *h = getenv("HOME");
	size_t o = 0, ri = 0, rn, mo = 0;
	int links = 0, missing = 0, r;
	if (!*in || cap < 2)
		return AG_E_INVAL;
	if (in[0] == '~' && (in[1] == '/' || !in[1]) && h && *h == '/')
		r = base_snprintf(rest, sizeof rest, "%s/%s", h, in + 1);
	else
		r = in[0] == '/' ? base_snprintf(rest, sizeof rest, "%s", in) : base_snprintf(rest, sizeof rest, "%s/%s", base, in);
	if (r < 0 || (size_t)r >= sizeof rest)
		return AG_E_TOOBIG;
	rn = (size_t)r;
	out[0] = 0;                               /* o == 0 stands for "/" */
	while (ri < rn) {
		size_t s, l;
		struct stat st;
		ssize_t k;
		while (ri < rn && rest[ri] == '/')
			ri++;
		s = ri;
		while (ri < rn && rest[ri] != '/')
			ri++;
		l = ri - s;
		if (l == 0 || (l == 1 && rest[s] == '.'))
			continue;
		if (l == 2 && rest[s] == '.' && rest[s + 1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = 0;
			missing &= o > mo;                /* back above what is missing: existing parts again */
			continue;
		}
		if (o + 1 + l + 1 > cap)
			return AG_E_TOOBIG;
		out[o] = '/';
		memcpy(out + o + 1, rest + s, l);
		out[o + 1 + l] = 0;
		if (!missing && lstat(out, &st) < 0) {
			missing = 1;                  /* nothing further down exists, until ".." climbs back */
			mo = o;
		}
		if (missing || !S_ISLNK(st.st_mode)) {
			o += 1 + l;
			continue;
		}
		if (++links > 40 || (k = readlink(out, link, sizeof link - 1)) <= 0)
			return AG_E_INVAL;
		link[k] = 0;
		r = base_snprintf(tmp, sizeof tmp, "%s/%.*s", link, (int)(rn - ri), rest + ri);
		if (r < 0 || (size_t)r >= sizeof rest)
			return AG_E_TOOBIG;
		memcpy(rest, tmp, (size_t)r + 1);
		rn = (size_t)r;
		ri = 0;
		if (link[0] == '/')
			o = 0;                            /* an absolute link starts again at / */
		out[o] = 0;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* Is real (a resolved path) dir itself or below it? "/a/proj-evil" is not below "/a/proj". */
static int
bound_under(const char *real, const char *dir)
{
	size_t dl = strlen(dir);
	if (dl == 1 && dir[0] == '/')
		return 1;
	return strncmp(real, dir, dl) == 0 && (real[dl] == 0 || real[dl] == '/');
}

static int
bound_inside(const struct bound *b, const char *real)
{
	int i;
	for (i = 0; b && i < b->n; i++)
		if (bound_under(real, b->dir[i]))
			return 1;
	return 0;
}

PROSE(bound_add_msg1,
	"more than %d directories in the boundary")

PROSE(bound_add_msg,
	"%.300s is not a directory; give an existing directory to add")

/* Add a directory (resolved from base); 1 when it was already inside, AG_E_* when it is not a directory. */
static int
bound_add(struct bound *b, const char *base, const char *dir, struct ag_err *e)
{
	char real[PATH_MAX];
	struct stat st;
	if (bound_resolve(base, dir, real, sizeof real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(e, AG_E_USAGE, prose(bound_add_msg), dir);
	if (bound_inside(b, real) && b->n)
		return 1;
	if (b->n == AG_BOUND_DIRS)
		return err_set(e, AG_E_USAGE, prose(bound_add_msg1), AG_BOUND_DIRS);
	if (!(b->dir[b->n] = strdup(real)))
		return err_set(e, AG_E_NOMEM, "out of memory");
	b->n++;
	return 0;
}

static void
bound_free(struct bound *b)
{
	while (b->n > 0)
		free(b->dir[--b->n]);
}

/* Open the directory at a resolved path without following any link on the way (O_PATH steps, so a
 * directory without read permission can still be passed through). mkdirs: create what is missing (0755).
 * -1 with errno (ELOOP or ENOTDIR when a component is now a symlink). */
static int
bound_open_dir(const char *real, int mkdirs)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), nfd;
	const char *p = real;
	char comp[NAME_MAX + 1];
	while (fd >= 0) {
		size_t l;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		l = strcspn(p, "/");
		if (l > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, l);
		comp[l] = 0;
		p += l;
		nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && mkdirs && (mkdirat(fd, comp, 0755) == 0 || errno == EEXIST))
			nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* Open a resolved path with flags (O_NOFOLLOW added: the last component is never followed either).
 * For O_CREAT the directory must exist. -1 with errno. */
static int
bound_open(const char *real, int flags, mode_t mode)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(real, '/');
	int dfd, fd, err;
	if (!slash || !slash[1]) {
		errno = EISDIR;
		return -1;
	}
	str_copy(dir, sizeof dir, real, slash > real ? (size_t)(slash - real) : 1);
	if ((dfd = bound_open_dir(dir, 0)) < 0)
		return -1;
	fd = openat(dfd, slash + 1, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	err = errno;
	close(dfd);
	errno = err;
	return fd;
}

/* Whole file from an open descriptor (closed here); as file_read_all. */
static int
bound_read_fd(int fd, struct buf *out, size_t max)
{
	char tmp[8192];
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? AG_E_IO : 0;
			break;
		}
		if (out->len + (size_t)n > max || buf_add(out, tmp, (size_t)n)) {
			errno = EFBIG;
			r = AG_E_TOOBIG;
			break;
		}
	}
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

/* Files that steer the agent itself (by the path as written and as resolved): CLAUDE.md, AGENTS.md,
 * .mcp.json, anything under a .claude directory, ~/.claude.json, and the state directory. */
static int
bound_is_config(const char *path)
{
	const char *base = strrchr(path, '/');
	char st[PATH_MAX];
	base = base ? base + 1 : path;
	if (strcmp(base, "CLAUDE.md") == 0 || strcmp(base, "AGENTS.md") == 0 || strcmp(base, ".mcp.json") == 0 ||
	    strcmp(base, "CLAUDE.local.md") == 0 || str_find(path, "/.claude/") != NULL || str_starts(base, ".claude.json") ||
	    (strcmp(base, ".claude") == 0))
		return 1;
	return cfg_state_dir(st, sizeof st, 0) == 0 && bound_under(path, st);
}

/* ==== 10. tool: the tools the model calls ==== */

/* Definitions sent on every request: Claude Code's names and parameters, our own short descriptions
 * (every word here is paid for in tokens on every turn). */
PROSE(tool_defs_json,
"[{\"name\":\"Bash\",\"description\":\"Run a shell command with /bin/sh -c; stdout and stderr merged, stdin empty. "
"The working directory persists between calls. Prefer Read, Edit, Write, Glob and Grep over cat, sed, echo >, "
"find and grep. Quote paths with spaces. Timeout in ms (default 120000, max 600000).\","
"\"input_schema\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\"},"
"\"timeout\":{\"type\":\"number\",\"description\":\"ms\"},\"description\":{\"type\":\"string\","
"\"description\":\"what the command does, in 5-10 words\"},\"run_in_background\":{\"type\":\"boolean\","
"\"description\":\"start it and return a shell id at once (servers, watchers); read it with BashOutput\"}},"
"\"required\":[\"command\"],\"additionalProperties\":false}},"
"{\"name\":\"BashOutput\",\"description\":\"New output of a background Bash command since the last read, and "
"whether it still runs.\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"bash_id\":{\"type\":"
"\"string\"},\"filter\":{\"type\":\"string\",\"description\":\"regular expression: only matching lines "
"(the others are read all the same)\"}},\"required\":[\"bash_id\"],\"additionalProperties\":false}},"
"{\"name\":\"KillShell\",\"description\":\"Stop a background Bash command (its whole process group).\","
"\"input_schema\":{\"type\":\"object\",\"properties\":{\"shell_id\":{\"type\":\"string\"}},"
"\"required\":[\"shell_id\"],\"additionalProperties\":false}},"
"{\"name\":\"Read\",\"description\":\"Read a text file (a PNG, JPEG, GIF or WebP comes as the image); lines come numbered like cat -n. Reads 2000 lines from offset "
"(1-based line) unless limit says otherwise; lines over 2000 characters are cut. Read a file before you Edit or "
"overwrite it.\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"},"
"\"offset\":{\"type\":\"number\"},\"limit\":{\"type\":\"number\"}},\"required\":[\"file_path\"],"
"\"additionalProperties\":false}},"
"{\"name\":\"Write\",\"description\":\"Create or overwrite a file with content (atomic; parent directories are "
"created). An existing file must have been Read first.\",\"input_schema\":{\"type\":\"object\",\"properties\":"
"{\"file_path\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"}},\"required\":[\"file_path\",\"content\"],"
"\"additionalProperties\":false}},"
"{\"name\":\"Edit\",\"description\":\"Replace old_string with new_string in a file you have Read. old_string must "
"match exactly (whitespace included) and only once, unless replace_all is true; give enough context to make it "
"unique.\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"},"
"\"old_string\":{\"type\":\"string\"},\"new_string\":{\"type\":\"string\"},\"replace_all\":{\"type\":\"boolean\"}},"
"\"required\":[\"file_path\",\"old_string\",\"new_string\"],\"additionalProperties\":false}},"
"{\"name\":\"Glob\",\"description\":\"Find files by name pattern (** matches any directories), newest first.\","
"\"input_schema\":{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"},\"path\":{\"type\":"
"\"string\"}},\"required\":[\"pattern\"],\"additionalProperties\":false}},"
"{\"name\":\"Grep\",\"description\":\"Search file contents with a regular expression (ripgrep syntax: \\\\d \\\\w \\\\s \\\\b, "
"(?i), {n,m}; no backreferences or lookaround). output_mode: "
"files_with_matches (default), content (matching lines; -n, -A, -B, -C apply) or count. glob filters file names.\","
"\"input_schema\":{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"},\"path\":{\"type\":"
"\"string\"},\"glob\":{\"type\":\"string\"},\"output_mode\":{\"type\":\"string\",\"enum\":[\"files_with_matches\","
"\"content\",\"count\"]},\"-i\":{\"type\":\"boolean\"},\"-n\":{\"type\":\"boolean\"},\"-A\":{\"type\":\"number\"},"
"\"-B\":{\"type\":\"number\"},\"-C\":{\"type\":\"number\"},\"head_limit\":{\"type\":\"number\"}},\"required\":"
"[\"pattern\"],\"additionalProperties\":false}},"
"{\"name\":\"TodoWrite\",\"description\":\"Replace the task list shown to the user. Use it for work of 3 or more "
"steps: keep exactly one item in_progress and mark items completed as soon as they are done.\",\"input_schema\":"
"{\"type\":\"object\",\"properties\":{\"todos\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
"{\"content\":{\"type\":\"string\"},\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"in_progress\","
"\"completed\"]},\"activeForm\":{\"type\":\"string\",\"description\":\"present tense, e.g. Running tests\"}},"
"\"required\":[\"content\",\"status\",\"activeForm\"],\"additionalProperties\":false}}},\"required\":[\"todos\"],"
"\"additionalProperties\":false}},"
"{\"name\":\"WebFetch\",\"description\":\"Fetch a web page (http or https) and answer prompt about it: a small model "
"reads the page as text and its answer is the result. For documentation, issues, API references.\",\"input_schema\":"
"{\"type\":\"object\",\"properties\":{\"url\":{\"type\":\"string\",\"format\":\"uri\"},\"prompt\":{\"type\":"
"\"string\",\"description\":\"what to find or extract from the page\"}},\"required\":[\"url\",\"prompt\"],"
"\"additionalProperties\":false}}]")

#ifndef AG_TOOL_OUTPUT_MAX          /* characters of tool output kept: head and tail around a marked cut */
#define AG_TOOL_OUTPUT_MAX 30000
#endif
#if AG_TOOL_OUTPUT_MAX < 100
#error "AG_TOOL_OUTPUT_MAX too small"
#endif
#ifndef AG_READ_LINES
#define AG_READ_LINES 2000
#endif
#ifndef AG_LINE_MAX
#define AG_LINE_MAX 2000
#endif
#ifndef AG_FILE_MAX                 /* largest file Read, Edit or Grep will load */
#define AG_FILE_MAX (16 * 1024 * 1024)
#endif
#ifndef AG_GLOB_MAX
#define AG_GLOB_MAX 100
#endif
#ifndef AG_WALK_MAX                 /* files a Glob or Grep walk visits before it stops */
#define AG_WALK_MAX 200000
#endif

/* A file the model has read: Write and Edit refuse to overwrite what it has not seen, or what changed
 * on disk since it was read. */
struct tool_seen {
	char *path;
	struct timespec mtime;
	off_t size;
};

struct todo {
	char *content, *active;
	int status;               /* 0 pending, 1 in_progress, 2 completed */
};

struct mcp;

/* Background Bash (run_in_background): each command has a collector, a child of the agent that reads the
 * command's output into a ring shared with the agent (AG_BG_RING bytes, the newest kept), waits for it and
 * records how it ended. So a chatty server never blocks on a full pipe and never grows the agent, whatever
 * the loop is doing meanwhile. The collector dies with the agent, and the command's keeper with it. */
#ifndef AG_BG_RING
#define AG_BG_RING (256 * 1024)
#endif
#if AG_BG_RING < 64
#error "AG_BG_RING too small"
#endif
#ifndef AG_BG_JOBS
#define AG_BG_JOBS 16
#endif
struct tool_bg_ring {         /* a shared mapping: the collector writes, the agent reads */
	unsigned long total;      /* bytes the command has written so far (a word: atomic on every board; past
	                           * 4 GB between two reads on a 32-bit board the drop count is short) */
	int pgid;                 /* the command's process group (its keeper), 0 until started */
	int done, status;         /* it ended, and its wait status */
	char data[AG_BG_RING];
};
struct tool_bg {
	char id[16];
	char *cmd;
	pid_t collector;
	struct tool_bg_ring *r;
	unsigned long seen;       /* what BashOutput has returned */
	int killed;
	long long started;
};
/* The background commands of a session: main's, shared with subagents. */
struct tool_bgs {
	struct tool_bg j[AG_BG_JOBS];
	int n, next;
};

struct tool_ctx {
	char cwd[PATH_MAX];       /* Bash's working directory, and the base of relative paths */
	struct mcp *mcp;          /* the MCP servers of this run (main's), or NULL */
	struct tool_seen *seen;
	size_t nseen, capseen;
	struct todo *todos;
	size_t ntodos;
	int rounds_without_todo;
	int todo_used;
	int tty;                  /* stderr is a terminal: colours, spinner */
	int quiet;                /* no progress lines (json output formats) */
	int sandbox;              /* run Bash under Landlock */
	const struct bound *bound;/* the directories file tools may touch (NULL: no boundary, in unit tests) */
	int outside_ok;           /* this call may go outside the boundary (a path rule, the user, bypass mode) */
	const char *checked;      /* the resolved path the permission check judged for this call, or NULL */
	const void *perm;         /* the rules (main's struct perm): a walk skips the files a deny rule names */
	struct tool_bgs *bg;      /* background commands, or NULL (none can start) */
};

static int perm_walk_denied(const void *perm, const char *tool, const char *path);

struct tool_out {
	struct buf text;
	int is_error;
	struct buf blocks;        /* more content blocks (an MCP tool's images), JSON objects joined by commas */
};

static void mcp_tool_run(struct mcp *m, const char *full, const struct json *in, struct tool_out *o);
static void mcp_resources_list(struct mcp *m, const struct json *in, struct tool_out *o);
static void mcp_resource_read(struct mcp *m, const struct json *in, struct tool_out *o);

static int
tool_fail(struct tool_out *o, const char *fmt, ...)
{
	va_list ap;
	char tmp[1024];
	va_start(ap, fmt);
	base_vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	o->text.len = 0;
	buf_adds(&o->text, tmp);
	o->is_error = 1;
	return 0;
}

/* Absolute, lexically clean path (links not followed): relative paths are taken from the working
 * directory. Deny and ask rules are matched on it as well as on the resolved path. */
static int
tool_path_lex(const struct tool_ctx *tc, const char *in, char *out, size_t cap)
{
	char tmp[PATH_MAX * 2];
	size_t o = 0, i = 0, n;
	int r;
	if (!*in)
		return AG_E_INVAL;
	r = in[0] == '/' ? base_snprintf(tmp, sizeof tmp, "%s", in) : base_snprintf(tmp, sizeof tmp, "%s/%s", tc->cwd, in);
	if (r < 0 || (size_t)r >= sizeof tmp)
		return AG_E_TOOBIG;
	n = (size_t)r;
	while (i < n) {                         /* collapse //, ., and .. */
		size_t s;
		while (i < n && tmp[i] == '/')
			i++;
		s = i;
		while (i < n && tmp[i] != '/')
			i++;
		if (i - s == 0 || (i - s == 1 && tmp[s] == '.'))
			continue;
		if (i - s == 2 && tmp[s] == '.' && tmp[s + 1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + (i - s) + 1 > cap)
			return AG_E_TOOBIG;
		out[o++] = '/';
		memcpy(out + o, tmp + s, i - s);
		o += i - s;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* The path a file tool works on: resolved (bound_resolve) from the working directory. */
static int
tool_path(const struct tool_ctx *tc, const char *in, char *out, size_t cap)
{
	return bound_resolve(tc->cwd, in, out, cap);
}

/* What a file tool will touch, as the permission check must judge it: the resolved file_path of Read,
 * Write and Edit; the resolved directory Glob and Grep search (path, or an absolute pattern's fixed
 * leading directories). given gets the path as the model wrote it. 1 with a target, 0 for a tool
 * without one, AG_E_* for a path that cannot be resolved. */
static int
tool_target(const struct tool_ctx *tc, const char *name, const struct json *j, char *out, size_t cap,
            char *given, size_t gcap)
{
	int search = strcmp(name, "Glob") == 0 || strcmp(name, "Grep") == 0, r;
	struct buf a = {0};
	if (!search && strcmp(name, "Read") && strcmp(name, "Write") && strcmp(name, "Edit"))
		return 0;
	if (json_str_buf(j, json_get(j, 0, search ? "path" : "file_path"), &a) || !a.len) {
		buf_free(&a);
		if (!search)
			return 0;                         /* the tool itself says what is missing */
		buf_adds(&a, ".");
	}
	if (strcmp(name, "Glob") == 0) {
		struct buf p = {0};
		if (json_str_buf(j, json_get(j, 0, "pattern"), &p) == 0 && p.p && p.p[0] == '/') {
			const char *meta = strpbrk(p.p, "*?["), *cut = meta ? meta : p.p + p.len;
			while (cut > p.p && *cut != '/')
				cut--;
			a.len = 0;
			buf_add(&a, p.p, cut > p.p ? (size_t)(cut - p.p) : 1);
		}
		buf_free(&p);
	}
	str_copy(given, gcap, a.p, a.len);
	r = tool_path(tc, a.p, out, cap);
	buf_free(&a);
	return r ? r : 1;
}

PROSE(tool_guard_msg1,
	"%s: the path now resolves to %s, not to %s as it did when it was allowed (a "
	"symbolic link changed?); nothing was done")
PROSE(tool_guard_msg2,
	"%s: %s is outside the working directory and the added directories; nothing was "
	"done")

/* The boundary, checked again where the path is used: the path must be the one the permission check
 * judged, and inside unless this call was allowed outside. */
static int
tool_guard(const struct tool_ctx *tc, const char *tool, const char *real, struct tool_out *o)
{
	if (tc->checked && strcmp(tc->checked, real) != 0)
		return tool_fail(o, prose(tool_guard_msg1), tool, real, tc->checked), -1;
	if (tc->bound && !tc->outside_ok && !bound_inside(tc->bound, real))
		return tool_fail(o, prose(tool_guard_msg2), tool, real), -1;
	return 0;
}

PROSE(tool_open_fail_msg,
	"%s: %s changed while it was being opened (a directory or file was replaced by a "
	"symbolic link); nothing was done")

/* A path that could not be opened along its resolved components: why, in words. */
static int
tool_open_fail(struct tool_out *o, const char *tool, const char *path)
{
	if (errno == ENOENT)
		return tool_fail(o, "File does not exist: %s", path);
	if (errno == ELOOP || errno == ENOTDIR)
		return tool_fail(o, prose(tool_open_fail_msg), tool, path);
	return tool_fail(o, "Cannot open %s: %s", path, base_strerror(errno));
}

static struct tool_seen *
tool_seen_find(struct tool_ctx *tc, const char *path)
{
	size_t i;
	for (i = 0; i < tc->nseen; i++)
		if (strcmp(tc->seen[i].path, path) == 0)
			return &tc->seen[i];
	return NULL;
}

static void
tool_seen_mark(struct tool_ctx *tc, const char *path, const struct stat *st)
{
	struct tool_seen *s = tool_seen_find(tc, path);
	if (!s) {
		if (tc->nseen == tc->capseen) {
			size_t cap = tc->capseen ? tc->capseen * 2 : 16;
			void *p = realloc(tc->seen, cap * sizeof *tc->seen);
			if (!p)
				return;
			tc->seen = p;
			tc->capseen = cap;
		}
		s = &tc->seen[tc->nseen];
		s->path = strdup(path);
		if (!s->path)
			return;
		tc->nseen++;
	}
	s->mtime = st->st_mtim;
	s->size = st->st_size;
}

PROSE(tool_check_seen_msg1,
	"%s exists and has not been Read in this session; Read it first, then retry")
PROSE(tool_check_seen_msg2,
	"%s changed on disk since it was Read; Read it again, then retry")

/* The read-first rule for Write and Edit on an existing file. */
static int
tool_check_seen(struct tool_ctx *tc, const char *path, const struct stat *st, struct tool_out *o)
{
	struct tool_seen *s = tool_seen_find(tc, path);
	if (!s)
		return tool_fail(o, prose(tool_check_seen_msg1), path), -1;
	if (s->size != st->st_size || s->mtime.tv_sec != st->st_mtim.tv_sec || s->mtime.tv_nsec != st->st_mtim.tv_nsec)
		return tool_fail(o, prose(tool_check_seen_msg2), path), -1;
	return 0;
}

PROSE(tool_clip_msg,
	"\n\n[... %zu characters cut from the middle ...]\n\n")

/* Keep head and tail of long output with a marked cut in the middle. */
static void
tool_clip(struct buf *b, size_t max)
{
	char mark[96];
	size_t head, tail, cut;
	int n;
	if (b->len <= max)
		return;
	head = max / 2;
	tail = max - head;
	while (head > 0 && ((unsigned char)b->p[head] & 0xC0) == 0x80)   /* keep UTF-8 whole */
		head--;
	while (tail > 0 && ((unsigned char)b->p[b->len - tail] & 0xC0) == 0x80)
		tail--;
	cut = b->len - head - tail;
	n = base_snprintf(mark, sizeof mark, prose(tool_clip_msg), cut);
	memmove(b->p + head + (size_t)n, b->p + b->len - tail, tail);
	memcpy(b->p + head, mark, (size_t)n);
	b->len = head + (size_t)n + tail;
	b->p[b->len] = 0;
}

PROSE(tool_arg_str_msg1,
	"%s needs the string parameter '%s'")

PROSE(tool_arg_str_msg,
	"%s: parameter '%s' is not a valid string")

/* Arguments: required strings fail with a message the model can act on. */
static int
tool_arg_str(const struct json *j, const char *key, struct buf *out, int required, const char *tool,
             struct tool_out *o)
{
	int i = json_get(j, 0, key);
	out->len = 0;
	if (i < 0 || j->t[i].type != JSMN_STRING) {
		if (required || i >= 0)
			tool_fail(o, prose(tool_arg_str_msg1), tool, key);
		return required || i >= 0 ? -1 : 1;
	}
	if (json_str_buf(j, i, out) || buf_add(out, "", 0))
		return tool_fail(o, prose(tool_arg_str_msg), tool, key), -1;
	return 0;
}

static long long
tool_arg_int(const struct json *j, const char *key, long long def)
{
	int i = json_get(j, 0, key);
	long long v;
	const char *s;
	size_t n, k;
	if (i < 0 || j->t[i].type != JSMN_PRIMITIVE)
		return def;
	if (json_int(j, i, &v) == 0)
		return v;
	s = j->s + j->t[i].start;              /* 2.0 or 1500.5 from a model that likes floats: the whole part */
	n = (size_t)(j->t[i].end - j->t[i].start);
	for (k = 0; k < n && s[k] != '.' && s[k] != 'e' && s[k] != 'E'; k++)
		;
	if (k < n && s[k] == '.' && k > 0 && s[0] != '-' && !str_to_u64(s, k, 1ULL << 50, (unsigned long long *)&v))
		return v;
	return def;
}

static int
tool_arg_bool(const struct json *j, const char *key)
{
	int i = json_get(j, 0, key);
	return i >= 0 && j->t[i].type == JSMN_PRIMITIVE && j->s[j->t[i].start] == 't';
}

/* ---- Bash ---- */

/* Landlock (Linux 5.13+, no library needed): under --sandbox a Bash command may write only below the
 * working directory, /tmp and /dev/null, and read everything; from ABI 4 on it gets no TCP either.
 * The numbers are the kernel's (include/uapi/linux/landlock.h), the same on every architecture. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_WRITE_FILE (1ULL << 1)
#define LL_FS_WRITES ((1ULL << 1) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) | \
                      (1ULL << 9) | (1ULL << 10) | (1ULL << 11) | (1ULL << 12))
#define LL_REFER (1ULL << 13)
#define LL_TRUNCATE (1ULL << 14)

struct tool_ll_ruleset {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

struct tool_ll_path {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* The Landlock ABI version of this kernel, 0 when it has none. */
static int
tool_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U);
	return v < 0 ? 0 : (int)v;
}

/* In the child, before exec: restrict it to writing below the boundary's directories (or cwd without a
 * boundary), /tmp and /dev/null. Returns 0, or -1 with errno. */
static int
tool_sandbox(const struct bound *b, const char *cwd)
{
	static const char *const writable[] = { NULL, "/tmp", "/dev/null" };
	struct tool_ll_ruleset rs;
	struct tool_ll_path pb;
	int abi = tool_landlock_abi(), fd, k;
	uint64_t fs = LL_FS_WRITES;
	if (abi < 1)
		return -1;
	if (abi >= 2)
		fs |= LL_REFER;
	if (abi >= 3)
		fs |= LL_TRUNCATE;
	memset(&rs, 0, sizeof rs);
	rs.handled_access_fs = fs;
	rs.handled_access_net = abi >= 4 ? 3 : 0;    /* bind and connect TCP */
	fd = (int)syscall(SYS_landlock_create_ruleset, &rs, abi >= 4 ? sizeof rs : sizeof rs.handled_access_fs, 0U);
	if (fd < 0)
		return -1;
	for (k = b && b->n ? -b->n + 1 : 0; k < 3; k++) {
		const char *p = k <= 0 ? (b && b->n ? b->dir[-k] : cwd) : writable[k];
		struct stat st;
		pb.parent_fd = open(p, O_PATH | O_CLOEXEC);
		if (pb.parent_fd < 0)
			continue;
		pb.allowed_access = fstat(pb.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode) ?
		                    (LL_WRITE_FILE | (abi >= 3 ? LL_TRUNCATE : 0)) : fs;
		syscall(SYS_landlock_add_rule, fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &pb, 0U);
		close(pb.parent_fd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, fd, 0U) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
tool_env_scrub(void)
{
	static const char *const secrets[] = { "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY",
	                                       "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
	                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN" };
	size_t i;
	for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		base_putenv(secrets[i]);
}

/* Output kept as head + tail so a command printing gigabytes costs AG_TOOL_OUTPUT_MAX of memory. */
struct tool_cap {
	struct buf head;
	char *tail;               /* ring of the last AG_TOOL_OUTPUT_MAX/2 bytes after the head filled */
	size_t tlen, tpos;
	unsigned long long total;
};

static void
tool_cap_add(struct tool_cap *c, const char *s, size_t n)
{
	size_t hmax = AG_TOOL_OUTPUT_MAX / 2 + 1, tmax = AG_TOOL_OUTPUT_MAX / 2 + 1;
	c->total += n;
	if (c->head.len < hmax) {
		size_t k = hmax - c->head.len < n ? hmax - c->head.len : n;
		buf_add(&c->head, s, k);
		s += k;
		n -= k;
	}
	if (!n)
		return;
	if (!c->tail && !(c->tail = malloc(tmax)))
		return;
	while (n--) {
		c->tail[c->tpos] = *s++;
		c->tpos = (c->tpos + 1) % tmax;
		if (c->tlen < tmax)
			c->tlen++;
	}
}

PROSE(tool_cap_finish_msg,
	"\n\n[... %llu characters cut from the middle ...]\n\n")

static void
tool_cap_finish(struct tool_cap *c, struct buf *out)
{
	size_t tmax = AG_TOOL_OUTPUT_MAX / 2 + 1, start = (c->tpos + tmax - c->tlen) % tmax;
	int cut = c->total > c->head.len + c->tlen;
	buf_add(out, c->head.p ? c->head.p : "", c->head.len);
	if (cut)
		buf_printf(out, prose(tool_cap_finish_msg), c->total - c->head.len - c->tlen);
	if (c->tlen) {
		size_t first = start + c->tlen <= tmax ? c->tlen : tmax - start;
		buf_add(out, c->tail + start, first);
		buf_add(out, c->tail, c->tlen - first);
	}
	if (!cut)
		tool_clip(out, AG_TOOL_OUTPUT_MAX);
	buf_free(&c->head);
	free(c->tail);
}

/* In the child of a Bash command: stdin from /dev/null, stdout and stderr to out (and fd 3 to fd3 when it is
 * not -1), in tc's directory and sandbox, without the API keys; then sh -c script (with arg as its $1 when
 * not NULL). Never returns. */
static void
tool_sh_exec(const struct tool_ctx *tc, int out, int fd3, const char *script, const char *arg)
{
	int devnull = open("/dev/null", O_RDONLY);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || (fd3 >= 0 && dup2(fd3, 3) < 0))
		_exit(127);
	if (chdir(tc->cwd) < 0)
		_exit(126);
	if (tc->sandbox && tool_sandbox(tc->bound, tc->cwd) < 0) {
		static const char m[] = "agent: the Landlock sandbox could not be applied; the command was not run\n";
		if (write(2, m, sizeof m - 1) < 0) {
		}
		_exit(126);
	}
	tool_env_scrub();
	base_exec_sh(script, arg);
	_exit(127);
}

PROSE(tool_bash_msg1,
	"Command timed out after %lld ms; its process group was killed.\n")
PROSE(tool_bash_msg2,
	"Command was interrupted by the user (Ctrl-C); its process group was killed.\n")

static int
tool_bash(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	/* fd 3 reports the final directory, so a `cd` holds for the next call */
	static const char script[] = "eval \"$1\"\n__agent_s=$?\npwd -P >&3 2>/dev/null\nexit $__agent_s";
	struct buf cmd = {0}, dir = {0};
	struct tool_cap cap;
	int out[2] = {-1, -1}, cwdp[2] = {-1, -1}, status = 0, timed_out = 0, interrupted = 0, r;
	long long timeout = tool_arg_int(j, "timeout", 120000), deadline;
	pid_t pid;
	memset(&cap, 0, sizeof cap);
	if (tool_arg_str(j, "command", &cmd, 1, "Bash", o) < 0)
		return 0;
	if (!cmd.len || strspn(cmd.p, " \t\n") == cmd.len) {
		buf_free(&cmd);
		return tool_fail(o, "Bash: the command is empty");
	}
	if (timeout <= 0)
		timeout = 120000;
	if (timeout > 600000)
		timeout = 600000;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(cwdp, O_CLOEXEC) < 0) {
		buf_free(&cmd);
		return tool_fail(o, "Bash: cannot create a pipe: %s", base_strerror(errno));
	}
	pid = base_fork_kept();
	if (pid == 0)
		tool_sh_exec(tc, out[1], cwdp[1], script, cmd.p);
	close(out[1]);
	close(cwdp[1]);
	if (pid < 0) {
		close(out[0]);
		close(cwdp[0]);
		buf_free(&cmd);
		return tool_fail(o, "Bash: cannot start /bin/sh: %s", base_strerror(errno));
	}
	setpgid(pid, pid);
	deadline = clk_ms() + timeout;
	{
		struct pollfd p[2];
		int open_fds = 2;
		char tmp[8192];
		p[0].fd = out[0];
		p[1].fd = cwdp[0];
		p[0].events = p[1].events = POLLIN;
		while (open_fds > 0) {
			long long left = deadline - clk_ms();
			if (left <= 0 || ag_interrupted) {
				timed_out = left <= 0;
				interrupted = !timed_out;
				kill(-pid, SIGTERM);
				usleep(100000);
				kill(-pid, SIGKILL);
				break;
			}
			r = poll(p, 2, left > 1000 ? 1000 : (int)left);
			if (r < 0 && errno != EINTR)
				break;
			for (int k = 0; k < 2 && r > 0; k++) {
				ssize_t n;
				if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				n = read(p[k].fd, tmp, sizeof tmp);
				if (n > 0) {
					if (k == 0)
						tool_cap_add(&cap, tmp, (size_t)n);
					else if (dir.len < PATH_MAX)
						buf_add(&dir, tmp, (size_t)n);
				} else if (n == 0 || errno != EINTR) {
					p[k].fd = -1;
					open_fds--;
				}
			}
		}
	}
	close(out[0]);
	close(cwdp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kill(-pid, SIGKILL);                       /* background children left in the group go too */
	buf_free(&cmd);
	o->text.len = 0;
	if (timed_out || interrupted) {
		if (timed_out)
			buf_printf(&o->text, prose(tool_bash_msg1), timeout);
		else
			buf_adds(&o->text, prose(tool_bash_msg2));
		o->is_error = 1;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		buf_printf(&o->text, "Exit code %d\n", WEXITSTATUS(status));
		o->is_error = 1;
	} else if (WIFSIGNALED(status)) {
		buf_printf(&o->text, "Killed by signal %d\n", WTERMSIG(status));
		o->is_error = 1;
	}
	tool_cap_finish(&cap, &o->text);
	if (cap.total == 0 && !o->is_error)
		buf_adds(&o->text, "(Bash completed with no output)");
	while (dir.len && dir.p[dir.len - 1] == '\n')
		dir.p[--dir.len] = 0;
	if (dir.len && dir.p[0] == '/' && dir.len < sizeof tc->cwd && strcmp(dir.p, tc->cwd) != 0) {
		str_copy(tc->cwd, sizeof tc->cwd, dir.p, dir.len);
		buf_printf(&o->text, "%s[working directory is now %s]", o->text.len && o->text.p[o->text.len - 1] != '\n' ?
		           "\n" : "", tc->cwd);
	}
	buf_free(&dir);
	return 0;
}

/* ---- Read ---- */

static int
tool_is_binary(const char *p, size_t n)
{
	return memchr(p, 0, n < 8192 ? n : 8192) != NULL;
}

/* Images Read returns as image blocks: what the API takes, known by their first bytes, never by the name. */
#ifndef AG_IMAGE_MAX                /* the API's limit is 5 MB of base64: 3.75 MB of image */
#define AG_IMAGE_MAX (5 * 1024 * 1024 / 4 * 3)
#endif
static const char *
tool_image_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (n >= 3 && !memcmp(p, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
		return "image/gif";
	if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
		return "image/webp";
	return NULL;
}

PROSE(tool_image_block_msg,
	"{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"%s\",\"data\":\"")

/* The image block of the file open at fd (size bytes, of type), appended to out: base64 made from the file
 * in 12 KB pieces, so its bytes are never held whole beside their base64. 0, or -1 with errno. */
static int
tool_image_block(int fd, const char *type, struct buf *out)
{
	unsigned char in[12288];                 /* a multiple of 3: the pieces join without padding */
	size_t have = 0;
	ssize_t n;
	buf_printf(out, prose(tool_image_block_msg), type);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	do {
		n = read(fd, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		have += (size_t)n;
		if (have == sizeof in || (n == 0 && have)) {
			b64_encode(in, have, out);
			have = 0;
		}
	} while (n > 0);
	return buf_adds(out, "\"}}");
}

/* Open path (already judged) and make its image block, or say in err why it is not one. 1: an image. */
static int
tool_image_open(int fd, const struct stat *st, struct buf *block, const char **type)
{
	unsigned char head[16];
	ssize_t n = pread(fd, head, sizeof head, 0);
	*type = n > 0 ? tool_image_type(head, (size_t)n) : NULL;
	if (!*type)
		return 0;
	if (st->st_size > AG_IMAGE_MAX)
		return -2;
	return tool_image_block(fd, *type, block) ? -1 : 1;
}

PROSE(tool_read_msg6,
	"%s is a directory; use Glob, or Bash with ls")
PROSE(tool_read_msg7,
	"<system-reminder>%s exists but is empty.</system-reminder>")

PROSE(tool_read_msg4,
	"%s is a binary file (%lld bytes); Read shows text files only")
PROSE(tool_read_msg5,
	"[showing lines %lld-%lld of %lld; Read with offset=%lld to read on]\n")

PROSE(tool_read_msg1,
	"%s is %lld bytes, over the %d MB Read limit; use Grep, or Bash with head/tail/sed -n")
PROSE(tool_read_msg2,
	"%s is a %lld-byte %s, over the API's limit of %d bytes for an image (5 MB as "
	"base64); make it smaller first (e.g. convert -resize 50%%)")
PROSE(tool_read_msg3,
	"<system-reminder>%s has %lld lines; offset %lld is past the end.</system-reminder>")

static int
tool_read(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	char path[PATH_MAX];
	struct buf arg = {0}, data = {0};
	struct stat st;
	long long off = tool_arg_int(j, "offset", 1), lim = tool_arg_int(j, "limit", AG_READ_LINES), line = 1, shown = 0;
	size_t i = 0;
	if (tool_arg_str(j, "file_path", &arg, 1, "Read", o) < 0)
		return 0;
	int fd;
	if (tool_path(tc, arg.p, path, sizeof path)) {
		buf_free(&arg);
		return tool_fail(o, "Read: bad path");
	}
	buf_free(&arg);
	if (tool_guard(tc, "Read", path, o))
		return 0;
	if (off < 1)
		off = 1;
	if (lim < 1)
		lim = AG_READ_LINES;
	if ((fd = bound_open(path, O_RDONLY | O_NONBLOCK, 0)) < 0 && errno != EISDIR)
		return tool_open_fail(o, "Read", path);
	if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return tool_fail(o, prose(tool_read_msg6), path);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > AG_FILE_MAX) {
		close(fd);
		if (!S_ISREG(st.st_mode))
			return tool_fail(o, "%s is not a regular file", path);
		return tool_fail(o, prose(tool_read_msg1),
		                 path, (long long)st.st_size, AG_FILE_MAX >> 20);
	}
	{
		const char *type;
		int im = tool_image_open(fd, &st, &o->blocks, &type);
		if (im) {
			close(fd);
			if (im == -2)
				return tool_fail(o, prose(tool_read_msg2), path, (long long)st.st_size,
				                 type, AG_IMAGE_MAX);
			if (im < 0) {
				buf_free(&o->blocks);
				return tool_fail(o, "Cannot read %s: %s", path, base_strerror(errno));
			}
			tool_seen_mark(tc, path, &st);
			o->text.len = 0;
			buf_printf(&o->text, "Image %s (%s, %lld bytes)", path, type, (long long)st.st_size);
			return 0;
		}
	}
	if (bound_read_fd(fd, &data, AG_FILE_MAX) < 0)
		return tool_fail(o, "Cannot read %s: %s", path, base_strerror(errno));
	tool_seen_mark(tc, path, &st);
	o->text.len = 0;
	if (data.len == 0) {
		buf_printf(&o->text, prose(tool_read_msg7), path);
		buf_free(&data);
		return 0;
	}
	if (tool_is_binary(data.p, data.len)) {
		buf_free(&data);
		return tool_fail(o, prose(tool_read_msg4), path, (long long)st.st_size);
	}
	while (i < data.len) {
		char *nl = memchr(data.p + i, '\n', data.len - i);
		size_t len = nl ? (size_t)(nl - (data.p + i)) : data.len - i;
		if (line >= off && shown < lim && o->text.len < (size_t)AG_TOOL_OUTPUT_MAX * 4) {
			size_t k = len > AG_LINE_MAX ? AG_LINE_MAX : len;
			while (k < len && k > 0 && ((unsigned char)data.p[i + k] & 0xC0) == 0x80)
				k--;
			buf_printf(&o->text, "%6lld\t", line);
			buf_add(&o->text, data.p + i, k && data.p[i + k - 1] == '\r' ? k - 1 : k);
			if (k < len)
				buf_printf(&o->text, " [line cut: %zu more characters]", len - k);
			buf_add(&o->text, "\n", 1);
			shown++;
		}
		i += len + (nl ? 1 : 0);
		line++;
	}
	line--;                                   /* lines in the file */
	if (shown == 0)
		buf_printf(&o->text, prose(tool_read_msg3),
		           path, line, off);
	else if (off + shown - 1 < line)
		buf_printf(&o->text, prose(tool_read_msg5), off,
		           off + shown - 1, line, off + shown);
	buf_free(&data);
	return 0;
}

PROSE(tool_store_msg4,
	"Cannot write %s: not a path to a file")

PROSE(tool_store_msg2,
	"Cannot write %s: %s (nothing was changed)")
PROSE(tool_store_msg3,
	"Cannot write %s: %s (nothing was changed)")

PROSE(tool_store_msg1,
	"Cannot create or open directory %s: %s (nothing was changed)")

PROSE(tool_store_msg,
	"Refused to write %s: a directory on its path was replaced by a symbolic link or a "
	"file after the permission check; nothing was changed")

/* ---- Write and Edit ---- */

/* Write a file the model asked for, atomically, at a resolved path: its directory opened component by
 * component without following a link (missing levels created), a temporary file made in it (O_EXCL,
 * O_NOFOLLOW), fsync'd, renamed over the name, the directory fsync'd. The rename replaces the name itself:
 * a hard link to another file, or a symlink put there after the check, is replaced, never written through,
 * so nothing outside changes. An existing file keeps its mode. */
static int
tool_store(const struct tool_ctx *tc, const char *path, const char *data, size_t n, const struct stat *old,
           struct tool_out *o)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *base, *slash = strrchr(path, '/');
	int dfd, fd, r, sfd;
	if (!slash || !slash[1])
		return tool_fail(o, prose(tool_store_msg4), path), -1;
	base = slash + 1;
	str_copy(dir, sizeof dir, path, slash > path ? (size_t)(slash - path) : 1);
	dfd = bound_open_dir(dir, 1);
	if (dfd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return tool_fail(o, prose(tool_store_msg), path), -1;
		return tool_fail(o, prose(tool_store_msg1), dir, base_strerror(errno)), -1;
	}
	r = base_snprintf(tmp, sizeof tmp, ".%.200s.agent-%ld.tmp", base, (long)getpid());
	fd = r > 0 ? openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                    old ? (old->st_mode & 07777) : 0644) : -1;
	if (fd < 0 && errno == EEXIST && unlinkat(dfd, tmp, 0) == 0)     /* left by an earlier crash */
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, old ? (old->st_mode & 07777) : 0644);
	if (fd < 0) {
		close(dfd);
		return tool_fail(o, prose(tool_store_msg2), path, base_strerror(errno)), -1;
	}
	if (old)
		fchmod(fd, old->st_mode & 07777);     /* the umask may have trimmed it */
	r = fd_write_all(fd, data, n) || fsync(fd) < 0;
	if (close(fd) < 0 || r || renameat(dfd, tmp, dfd, base) < 0) {
		int err = errno;
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return tool_fail(o, prose(tool_store_msg3), path, base_strerror(err)), -1;
	}
	if ((sfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(sfd);                           /* the new name survives a power cut too */
		close(sfd);
	}
	close(dfd);
	(void)tc;
	return 0;
}

static int
tool_write(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	char path[PATH_MAX];
	struct buf arg = {0}, content = {0};
	struct stat st;
	int exists;
	if (tool_arg_str(j, "file_path", &arg, 1, "Write", o) < 0 || tool_arg_str(j, "content", &content, 1, "Write", o) < 0)
		goto done;
	if (tool_path(tc, arg.p, path, sizeof path)) {
		tool_fail(o, "Write: bad path");
		goto done;
	}
	if (tool_guard(tc, "Write", path, o))
		goto done;
	exists = lstat(path, &st) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		tool_fail(o, "%s is a directory", path);
		goto done;
	}
	if (exists && tool_check_seen(tc, path, &st, o))
		goto done;
	if (tool_store(tc, path, content.p ? content.p : "", content.len, exists ? &st : NULL, o))
		goto done;
	if (lstat(path, &st) == 0)
		tool_seen_mark(tc, path, &st);
	o->text.len = 0;
	buf_printf(&o->text, "%s %s (%zu bytes)", exists ? "Overwrote" : "Created", path, content.len);
done:
	buf_free(&arg);
	buf_free(&content);
	return 0;
}

PROSE(tool_edit_msg4,
	"Edit: old_string is empty; use Write to create a file")
PROSE(tool_edit_msg5,
	"Edited %s (%zu replacement%s). Lines %lld-%lld now read:\n")

PROSE(tool_edit_msg3,
	"Edit: old_string and new_string are the same; nothing to change")

PROSE(tool_edit_msg1,
	"old_string was not found in %s; Read the file again and copy the text exactly, whitespace "
	"and indentation included")
PROSE(tool_edit_msg2,
	"old_string was found %zu times in %s; add surrounding lines to make it unique, or set "
	"replace_all to change every one")

static int
tool_edit(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	char path[PATH_MAX];
	struct buf arg = {0}, olds = {0}, news = {0}, data = {0}, res = {0};
	struct stat st;
	size_t count = 0, i, first = 0;
	int all = tool_arg_bool(j, "replace_all"), fd;
	if (tool_arg_str(j, "file_path", &arg, 1, "Edit", o) < 0 || tool_arg_str(j, "old_string", &olds, 1, "Edit", o) < 0 ||
	    tool_arg_str(j, "new_string", &news, 1, "Edit", o) < 0)
		goto done;
	if (tool_path(tc, arg.p, path, sizeof path)) {
		tool_fail(o, "Edit: bad path");
		goto done;
	}
	if (tool_guard(tc, "Edit", path, o))
		goto done;
	if (olds.len == 0) {
		tool_fail(o, prose(tool_edit_msg4));
		goto done;
	}
	if (olds.len == news.len && memcmp(olds.p, news.p, olds.len) == 0) {
		tool_fail(o, prose(tool_edit_msg3));
		goto done;
	}
	if ((fd = bound_open(path, O_RDONLY | O_NONBLOCK, 0)) < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		tool_open_fail(o, "Edit", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		tool_fail(o, "%s is not a regular file", path);
		goto done;
	}
	if (tool_check_seen(tc, path, &st, o)) {
		close(fd);
		goto done;
	}
	if (bound_read_fd(fd, &data, AG_FILE_MAX) < 0) {
		tool_fail(o, "Cannot read %s: %s", path, base_strerror(errno));
		goto done;
	}
	for (i = 0; data.len >= olds.len && i <= data.len - olds.len;) {
		const char *m = str_mem(data.p + i, data.len - i, olds.p, olds.len);
		if (!m)
			break;
		if (count++ == 0)
			first = (size_t)(m - data.p);
		i = (size_t)(m - data.p) + olds.len;
	}
	if (count == 0) {
		tool_fail(o, prose(tool_edit_msg1), path);
		goto done;
	}
	if (count > 1 && !all) {
		tool_fail(o, prose(tool_edit_msg2), count, path);
		goto done;
	}
	for (i = 0; i < data.len;) {
		const char *m = data.len - i >= olds.len ? str_mem(data.p + i, data.len - i, olds.p, olds.len) : NULL;
		if (!m) {
			buf_add(&res, data.p + i, data.len - i);
			break;
		}
		buf_add(&res, data.p + i, (size_t)(m - (data.p + i)));
		buf_add(&res, news.p ? news.p : "", news.len);
		i = (size_t)(m - data.p) + olds.len;
	}
	if (tool_store(tc, path, res.p ? res.p : "", res.len, &st, o))
		goto done;
	if (lstat(path, &st) == 0)
		tool_seen_mark(tc, path, &st);
	{
		/* a few numbered lines around the first change */
		long long line = 1, from, to, ln;
		size_t p = 0;
		for (i = 0; i < first && i < res.len; i++)
			line += res.p[i] == '\n';
		from = line > 3 ? line - 3 : 1;
		to = line + 3;
		for (i = 0; i < news.len; i++)
			to += news.p[i] == '\n';
		{
			long long total = 1;
			for (i = 0; i < res.len; i++)
				total += res.p[i] == '\n' && i + 1 < res.len;
			if (to > total)
				to = total;
		}
		o->text.len = 0;
		buf_printf(&o->text, prose(tool_edit_msg5), path, count,
		           count == 1 ? "" : "s", from, to);
		for (ln = 1; p < res.len && ln <= to; ln++) {
			char *nl = memchr(res.p + p, '\n', res.len - p);
			size_t len = nl ? (size_t)(nl - (res.p + p)) : res.len - p;
			if (ln >= from) {
				buf_printf(&o->text, "%6lld\t", ln);
				buf_add(&o->text, res.p + p, len > AG_LINE_MAX ? AG_LINE_MAX : len);
				buf_add(&o->text, "\n", 1);
			}
			p += len + 1;
		}
	}
done:
	buf_free(&arg);
	buf_free(&olds);
	buf_free(&news);
	buf_free(&data);
	buf_free(&res);
	return 0;
}

/* ---- Glob and Grep: one directory walker ---- */

/* Glob match: '*' and '?' stop at '/', '**' crosses directories ("**" + "/" also matches no directory),
 * [set] and [!set] classes. Iterative with one backtrack point per star kind. */
static int
tool_glob_match(const char *p, const char *s)
{
	const char *sp = NULL, *ss = NULL;       /* last '*' in pattern and where it was in s */
	const char *dp = NULL, *ds = NULL;       /* last '**' */
	while (*s || *p) {
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			if (*p == '/')
				p++;
			if (!*p)
				return 1;                    /* a trailing ** takes all that is left */
			dp = p;
			ds = s;
			sp = NULL;
			continue;
		}
		if (*p == '*') {
			sp = ++p;
			ss = s;
			continue;
		}
		if (*s && *p == '?' && *s != '/') {
			p++;
			s++;
			continue;
		}
		if (*s && *p == '[') {
			const char *q = p + 1;
			int neg = *q == '!' || *q == '^', ok = 0, first = 1;
			if (neg)
				q++;
			/* *q is checked before q[1] and q[2] are read: a pattern ending in "[" stays in bounds */
			while (*q && (first || *q != ']')) {
				if (q[1] == '-' && q[2] && q[2] != ']') {
					ok |= *s >= q[0] && *s <= q[2];
					q += 3;
				} else {
					ok |= *s == *q;
					q++;
				}
				first = 0;
			}
			if (*q == ']' && (ok ^ neg) && *s != '/') {
				p = q + 1;
				s++;
				continue;
			}
		} else if (*s && *p == *s) {
			p++;
			s++;
			continue;
		}
		if (sp && *ss && *ss != '/') {       /* widen the last '*' by one character */
			p = sp;
			s = ++ss;
			continue;
		}
		if (dp && *ds) {                     /* widen the last '**' up to the next directory */
			const char *slash = strchr(ds, '/');
			if (!slash)
				return 0;
			ds = slash + 1;
			p = dp;
			s = ds;
			sp = NULL;
			continue;
		}
		return 0;
	}
	return 1;
}

struct tool_hit {
	char *path;
	struct timespec mtime;
};

/* Every regular file under root (a resolved path; .git skipped), breadth first with an explicit queue: no
 * recursion. Symbolic links are neither followed nor read, as ripgrep does by default, and each directory
 * is opened along its resolved components without following a link: a walk never leaves the tree it was
 * given. The visitor gets the open directory and the file's name in it, to open it with O_NOFOLLOW. */
static int
tool_walk(const char *root, int (*visit)(void *ctx, int dfd, const char *name, const char *path, const char *rel,
                                         const struct stat *st),
          void *ctx, int *truncated, const struct tool_ctx *tc, const char *tool)
{
	char **queue = NULL;
	size_t qn = 0, qcap = 0, qi = 0, rootlen = strlen(root), visited = 0;
	int r = 0;
	struct stat st;
	if (lstat(root, &st) == 0 && S_ISREG(st.st_mode)) {
		char dir[PATH_MAX];
		const char *base = strrchr(root, '/');
		int dfd;
		str_copy(dir, sizeof dir, root, base && base > root ? (size_t)(base - root) : 1);
		if (perm_walk_denied(tc->perm, tool, root) || (dfd = bound_open_dir(dir, 0)) < 0)
			return 0;
		r = visit(ctx, dfd, base ? base + 1 : root, root, base ? base + 1 : root, &st);
		close(dfd);
		return r < 0 ? r : 0;
	}
	queue = malloc(sizeof *queue * (qcap = 64));
	if (!queue || !(queue[qn++] = strdup(root)))
		return AG_E_NOMEM;
	while (qi < qn && !r) {
		char *dirp = queue[qi++];
		int pfd = bound_open_dir(dirp, 0), dfd = pfd >= 0 ? openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		if (pfd >= 0)
			close(pfd);
		if (!d && dfd >= 0)
			close(dfd);
		while (d && (de = readdir(d)) != NULL && !r) {
			char path[PATH_MAX];
			const char *nm = de->d_name;
			if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0) || strcmp(nm, ".git") == 0))
				continue;
			if (base_snprintf(path, sizeof path, "%s/%s", strcmp(dirp, "/") ? dirp : "", nm) >= (int)sizeof path)
				continue;
			if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (S_ISDIR(st.st_mode)) {
				if (qn == qcap) {
					void *p = realloc(queue, sizeof *queue * (qcap *= 2));
					if (!p) { r = AG_E_NOMEM; break; }
					queue = p;
				}
				if (!(queue[qn] = strdup(path))) { r = AG_E_NOMEM; break; }
				qn++;
			} else if (S_ISREG(st.st_mode) && !perm_walk_denied(tc->perm, tool, path)) {
				if (++visited > AG_WALK_MAX) {
					*truncated = 1;
					r = 1;
					break;
				}
				r = visit(ctx, dirfd(d), nm, path, path + rootlen + (rootlen > 1 ? 1 : 0), &st);
			}
		}
		if (d)
			closedir(d);
	}
	for (qi = 0; qi < qn; qi++)
		free(queue[qi]);
	free(queue);
	return r < 0 ? r : 0;
}

struct tool_globctx {
	const char *pattern;
	struct tool_hit *hits;
	size_t n, cap;
};

static int
tool_glob_visit(void *ctx, int dfd, const char *name, const char *path, const char *rel, const struct stat *st)
{
	struct tool_globctx *g = ctx;
	const char *base = strrchr(rel, '/');
	/* a pattern without '/' matches file names anywhere, as people expect of "*.c" */
	if (!tool_glob_match(g->pattern, strchr(g->pattern, '/') ? rel : (base ? base + 1 : rel)))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		void *p = realloc(g->hits, cap * sizeof *g->hits);
		if (!p)
			return AG_E_NOMEM;
		g->hits = p;
		g->cap = cap;
	}
	if (!(g->hits[g->n].path = strdup(path)))
		return AG_E_NOMEM;
	g->hits[g->n++].mtime = st->st_mtim;
	return 0;
}

static int
tool_hit_newer(const void *a, const void *b)
{
	const struct tool_hit *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(x->path, y->path);
}

PROSE(tool_glob_msg,
	"[%zu%s files matched; showing the newest %d. Narrow the pattern or the path.]\n")

static int
tool_glob(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	char root[PATH_MAX], given[PATH_MAX];
	struct buf pat = {0}, dir = {0};
	struct tool_globctx g;
	int trunc = 0, r;
	size_t i;
	memset(&g, 0, sizeof g);
	if (tool_arg_str(j, "pattern", &pat, 1, "Glob", o) < 0 || tool_arg_str(j, "path", &dir, 0, "Glob", o) < 0)
		goto done;
	if (tool_target(tc, "Glob", j, root, sizeof root, given, sizeof given) < 0) {
		tool_fail(o, "Glob: bad path");
		goto done;
	}
	if (tool_guard(tc, "Glob", root, o))
		goto done;
	if (pat.p[0] == '/') {              /* an absolute pattern: its fixed leading directories are the root */
		const char *p = pat.p, *meta = strpbrk(p, "*?["), *cut = meta ? meta : p + strlen(p);
		char rel[PATH_MAX];
		while (cut > p && *cut != '/')
			cut--;
		str_copy(rel, sizeof rel, cut + 1, strlen(cut + 1));
		pat.len = 0;
		buf_adds(&pat, rel);
	}
	g.pattern = pat.p;
	r = tool_walk(root, tool_glob_visit, &g, &trunc, tc, "Glob");
	if (r < 0) {
		tool_fail(o, "Glob: out of memory");
		goto done;
	}
	if (g.n)
		base_sort(g.hits, g.n, sizeof *g.hits, tool_hit_newer);
	o->text.len = 0;
	for (i = 0; i < g.n && i < AG_GLOB_MAX; i++)
		buf_printf(&o->text, "%s\n", g.hits[i].path);
	if (g.n == 0)
		buf_printf(&o->text, "No files match %s under %s", pat.p, root);
	else if (g.n > AG_GLOB_MAX || trunc)
		buf_printf(&o->text, prose(tool_glob_msg),
		           g.n, trunc ? "+" : "", AG_GLOB_MAX);
done:
	for (i = 0; i < g.n; i++)
		free(g.hits[i].path);
	free(g.hits);
	buf_free(&pat);
	buf_free(&dir);
	return 0;
}

/* ---- regular expressions for Grep ----
 * The ripgrep (Rust regex) syntax the model knows, minus captures and Unicode classes. A pattern compiles
 * to a small program that runs as a Thompson NFA: every thread is at most once at each position, so any
 * pattern takes O(program * line) time. Jumps are relative, so a piece of program can be copied as is
 * (x{n,m} is n to m copies of x). Characters are UTF-8 code points; a byte that is not part of valid UTF-8
 * stands for itself as TOOL_RX_BAD + byte, in the pattern and in the line alike. */

#ifndef AG_RE_PROG_MAX              /* instructions in one compiled pattern */
#define AG_RE_PROG_MAX 20000
#endif
#if AG_RE_PROG_MAX < 64 || AG_RE_PROG_MAX > 1000000
#error "AG_RE_PROG_MAX must be between 64 and 1000000"
#endif
#ifndef AG_RE_DEPTH_MAX             /* nesting of groups: the parser recurses once per level */
#define AG_RE_DEPTH_MAX 64
#endif
#if AG_RE_DEPTH_MAX < 4 || AG_RE_DEPTH_MAX > 1000
#error "AG_RE_DEPTH_MAX must be between 4 and 1000"
#endif

#define TOOL_RX_BAD 0x110000u            /* above Unicode: stray bytes of invalid UTF-8 */

/* The ops that consume a character come first, then MATCH, then the ones that do not. */
enum { TOOL_RX_CHAR, TOOL_RX_ANY, TOOL_RX_CLASS, TOOL_RX_NCLASS, TOOL_RX_MATCH, TOOL_RX_JMP, TOOL_RX_SPLIT,
       TOOL_RX_WB, TOOL_RX_NWB, TOOL_RX_BOL, TOOL_RX_EOL, TOOL_RX_WSTART, TOOL_RX_WEND };

struct tool_rx_inst {
	int op;
	int x, y;                       /* CHAR: code point; CLASS: first range, count; JMP, SPLIT: offsets */
};

struct tool_rx {
	struct tool_rx_inst *prog;
	unsigned *set;                  /* class ranges as lo, hi pairs */
	unsigned *thr;                  /* two thread lists, a stack, marks and the mark generation */
	int n, cap;                     /* instructions used, allocated */
	int nset, setcap;               /* range pairs used, allocated */
	int icase;                      /* ASCII case folding: CHAR holds the lower case */
};

struct tool_rx_c {                       /* the compiler's cursor */
	struct tool_rx *re;
	const char *pat, *p;
	int depth;
	char *err;
	size_t ecap;
};

/* POSIX classes and the sets of \d \w \s, as sorted ASCII ranges (the complement is built from them). */
static const struct {
	char name[7], r[9];
} tool_rx_sets[] = {
	{"digit", "09"}, {"word", "09AZ__az"}, {"space", "\t\r  "}, {"alnum", "09AZaz"}, {"alpha", "AZaz"},
	{"blank", "\t\t  "}, {"graph", "!~"}, {"lower", "az"}, {"print", " ~"}, {"punct", "!/:@[`{~"},
	{"upper", "AZ"}, {"xdigit", "09AFaf"},
};

/* Puts the message in the caller's buffer (cut to fit); always -1. */
static int
tool_rx_fail(struct tool_rx_c *c, const char *fmt, ...)
{
	va_list ap;
	if (c->ecap) {
		va_start(ap, fmt);
		base_vsnprintf(c->err, c->ecap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static unsigned
tool_rx_lower(unsigned c)
{
	return c - 'A' < 26 ? c + 32 : c;
}

static unsigned
tool_rx_upper(unsigned c)
{
	return c - 'a' < 26 ? c - 32 : c;
}

static int
tool_rx_isword(unsigned c)
{
	return (c | 32) - 'a' < 26 || c - '0' < 10 || c == '_';
}

/* One character at s (n > 0 bytes left): its code point, or TOOL_RX_BAD + the byte when s is not valid UTF-8. */
static unsigned
tool_rx_dec(const unsigned char *s, size_t n, size_t *len)
{
	unsigned c = s[0], k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0, cp = c & (0x3f >> k), i;
	*len = 1;
	if (c < 0x80)
		return c;
	if (!k || c >= 0xf8 || n <= k)
		return TOOL_RX_BAD + c;
	for (i = 1; i <= k; i++) {       /* stops at the first non-continuation byte, so a NUL ends it */
		if ((s[i] & 0xc0) != 0x80)
			return TOOL_RX_BAD + c;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < (k == 1 ? 0x80u : k == 2 ? 0x800u : 0x10000u) || cp > 0x10ffff || cp - 0xd800 < 0x800)
		return TOOL_RX_BAD + c;
	*len = k + 1;
	return cp;
}

PROSE(tool_rx_emit_msg,
	"pattern too complex (over %d instructions); use a shorter pattern or smaller counts")

/* Appends an instruction; its index, or -1 past AG_RE_PROG_MAX. */
static int
tool_rx_emit(struct tool_rx_c *c, int op, int x, int y)
{
	struct tool_rx *re = c->re;
	if (re->n >= AG_RE_PROG_MAX)
		return tool_rx_fail(c, prose(tool_rx_emit_msg),
		               AG_RE_PROG_MAX);
	if (re->n == re->cap) {
		int cap = re->cap ? re->cap * 2 : 32;
		void *p = realloc(re->prog, (size_t)cap * sizeof *re->prog);
		if (!p)
			return tool_rx_fail(c, "out of memory");
		re->prog = p;
		re->cap = cap;
	}
	re->prog[re->n].op = op;
	re->prog[re->n].x = x;
	re->prog[re->n].y = y;
	return re->n++;
}

/* Appends a copy of the len instructions at from: their jumps are relative, so the copy works alike. */
static int
tool_rx_copy(struct tool_rx_c *c, int from, int len)
{
	struct tool_rx *re = c->re;
	int k;
	for (k = 0; k < len; k++)
		if (tool_rx_emit(c, re->prog[from + k].op, re->prog[from + k].x, re->prog[from + k].y) < 0)
			return -1;
	return 0;
}

/* Puts an instruction before the code from at on; what moves keeps its relative jumps. */
static int
tool_rx_insert(struct tool_rx_c *c, int at, int op, int x, int y)
{
	struct tool_rx *re = c->re;
	if (tool_rx_emit(c, op, x, y) < 0)
		return -1;
	memmove(re->prog + at + 1, re->prog + at, (size_t)(re->n - 1 - at) * sizeof *re->prog);
	re->prog[at].op = op;
	re->prog[at].x = x;
	re->prog[at].y = y;
	return 0;
}

PROSE(tool_rx_range_msg,
	"pattern too complex (over %d class ranges)")

/* Appends a range of code points to the class being built. */
static int
tool_rx_range(struct tool_rx_c *c, unsigned lo, unsigned hi)
{
	struct tool_rx *re = c->re;
	if (re->nset == re->setcap) {
		int cap = re->setcap ? re->setcap * 2 : 16;
		void *p;
		if (cap > AG_RE_PROG_MAX)
			return tool_rx_fail(c, prose(tool_rx_range_msg), AG_RE_PROG_MAX);
		if (!(p = realloc(re->set, (size_t)cap * 2 * sizeof *re->set)))
			return tool_rx_fail(c, "out of memory");
		re->set = p;
		re->setcap = cap;
	}
	re->set[2 * re->nset] = lo;
	re->set[2 * re->nset++ + 1] = hi;
	return 0;
}

/* Adds tool_rx_sets[i], or all that is not in it. */
static int
tool_rx_addset(struct tool_rx_c *c, int i, int neg)
{
	const unsigned char *r = (const unsigned char *)tool_rx_sets[i].r;
	unsigned lo = 0;
	for (; *r; r += 2) {
		if (neg ? r[0] > lo && tool_rx_range(c, lo, r[0] - 1u) < 0 : tool_rx_range(c, r[0], r[1]) < 0)
			return -1;
		lo = r[1] + 1u;
	}
	return neg ? tool_rx_range(c, lo, TOOL_RX_BAD + 0xff) : 0;
}

PROSE(tool_rx_esc_msg1,
	"trailing backslash at offset %d; write \\\\ for a literal one")
PROSE(tool_rx_esc_msg2,
	"bad \\x escape at offset %d; use \\xHH or \\x{HHHH}")
PROSE(tool_rx_esc_msg3,
	"backreferences are not supported (offset %d)")

/* After a backslash: 0 with *cp for a character, the letter for \d \b and the like, -1 on error. */
static int
tool_rx_esc(struct tool_rx_c *c, unsigned *cp)
{
	const char *at = c->p - 1, *q;
	unsigned ch = (unsigned char)*c->p++, v = 0, nd = 0, brace;
	if (!ch) {
		c->p--;
		return tool_rx_fail(c, prose(tool_rx_esc_msg1), (int)(at - c->pat));
	}
	if (ch == 'x') {
		brace = *c->p == '{';
		c->p += brace;
		while (isxdigit((unsigned char)*c->p) && nd < (brace ? 8u : 2u)) {
			ch = (unsigned char)*c->p++;
			v = v * 16 + (ch <= '9' ? ch - '0' : (ch | 32) - 'a' + 10);
			nd++;
		}
		if (!nd || (!brace && nd < 2) || (brace && *c->p != '}') || v > 0x10ffff)
			return tool_rx_fail(c, prose(tool_rx_esc_msg2), (int)(at - c->pat));
		c->p += brace;
		*cp = v;
		return 0;
	}
	if ((q = strchr("tnrfva", (int)ch)) != NULL) {
		*cp = (unsigned char)"\t\n\r\f\v\a"[q - "tnrfva"];
		return 0;
	}
	if (strchr("dDwWsSbBAz<>", (int)ch))
		return (int)ch;
	if (ch < 0x80 && !tool_rx_isword(ch)) {
		*cp = ch;
		return 0;
	}
	if (ch - '1' < 9)
		return tool_rx_fail(c, prose(tool_rx_esc_msg3), (int)(at - c->pat));
	return tool_rx_fail(c, "unknown escape \\%c at offset %d", ch < 0x80 ? (int)ch : '?', (int)(at - c->pat));
}

/* The index of \d \w \s in tool_rx_sets (the upper case letter means the complement). */
static int
tool_rx_setof(int k)
{
	return (int)(strchr("dws", k | 32) - "dws");
}

PROSE(tool_rx_class_msg3,
	"unknown class [:%.*s:] at offset %d")
PROSE(tool_rx_class_msg4,
	"\\%c is not allowed %s at offset %d")

PROSE(tool_rx_class_msg1,
	"unmatched [ at offset %d; write \\[ for a literal one")
PROSE(tool_rx_class_msg2,
	"invalid range at offset %d (the end is below the start)")

/* [...] after its '['. */
static int
tool_rx_class(struct tool_rx_c *c, const char *at)
{
	struct tool_rx *re = c->re;
	int neg = *c->p == '^', first = 1, n0 = re->nset, k, i;
	unsigned lo = 0, hi;
	size_t len;
	c->p += neg;
	for (; first || *c->p != ']'; first = 0) {
		const char *it = c->p, *e;
		if (!*c->p)
			return tool_rx_fail(c, prose(tool_rx_class_msg1), (int)(at - c->pat));
		if (c->p[0] == '[' && c->p[1] == ':' && (e = str_find(c->p + 2, ":]")) != NULL) {
			int cn = c->p[2] == '^', nn = (int)(e - c->p) - 2 - cn, ns = (int)(sizeof tool_rx_sets / sizeof tool_rx_sets[0]);
			const char *name = c->p + 2 + cn;
			for (i = 0; i < ns; i++)
				if ((int)strlen(tool_rx_sets[i].name) == nn && !memcmp(tool_rx_sets[i].name, name, (size_t)nn))
					break;
			if (i == ns)
				return tool_rx_fail(c, prose(tool_rx_class_msg3), nn, name, (int)(it - c->pat));
			if (tool_rx_addset(c, i, cn) < 0)
				return -1;
			c->p = e + 2;
			continue;
		}
		for (k = 0; k < 2; k++) {        /* the character, then the end of a range */
			if (*c->p == '\\') {
				c->p++;
				if ((i = tool_rx_esc(c, &hi)) < 0)
					return -1;
				if (i == '<' || i == '>')
					hi = (unsigned)i;
				else if (i && (k || !strchr("dDwWsS", i)))
					return tool_rx_fail(c, prose(tool_rx_class_msg4), i,
					               k ? "as the end of a range" : "in a class", (int)(c->p - 2 - c->pat));
				else if (i) {
					if (tool_rx_addset(c, tool_rx_setof(i), i < 'a') < 0)
						return -1;
					break;
				}
			} else {
				hi = tool_rx_dec((const unsigned char *)c->p, 4, &len);
				c->p += len;
			}
			if (!k)
				lo = hi;
			if (k || c->p[0] != '-' || !c->p[1] || c->p[1] == ']') {
				if (hi < lo)
					return tool_rx_fail(c, prose(tool_rx_class_msg2), (int)(it - c->pat));
				if (tool_rx_range(c, lo, hi) < 0)
					return -1;
				break;
			}
			c->p++;
		}
	}
	c->p++;
	return tool_rx_emit(c, neg ? TOOL_RX_NCLASS : TOOL_RX_CLASS, n0, re->nset - n0);
}

PROSE(tool_rx_atom_msg3,
	"groups nested too deeply (over %d)")

PROSE(tool_rx_atom_msg2,
	"unmatched ( at offset %d; write \\( for a literal one")

PROSE(tool_rx_atom_msg1,
	"nothing to repeat at offset %d; escape a literal %c with a backslash")

PROSE(tool_rx_atom_msg,
	"unsupported group (?%c at offset %d; only (?:...), (?P<name>...) and flags "
	"(?i) (?m) (?s) at the very start are supported")

static int tool_rx_alt(struct tool_rx_c *c);

/* One character, class, escape, anchor or group. */
static int
tool_rx_atom(struct tool_rx_c *c)
{
	const char *at = c->p, *q;
	unsigned cp;
	size_t len;
	int k;
	switch (*c->p++) {
	case '(':
		if (++c->depth > AG_RE_DEPTH_MAX)
			return tool_rx_fail(c, prose(tool_rx_atom_msg3), AG_RE_DEPTH_MAX);
		if (*c->p == '?') {
			q = c->p + 1;
			if (*q == 'P')
				q++;
			if (c->p[1] == ':')
				c->p += 2;
			else if (*q == '<' && q[1] != '=' && q[1] != '!' && (q = strchr(q, '>')) != NULL)
				c->p = q + 1;    /* a named group is a plain group here */
			else
				return tool_rx_fail(c, prose(tool_rx_atom_msg),
				               c->p[1] > 32 && c->p[1] < 127 ? c->p[1] : ' ', (int)(at - c->pat));
		}
		if (tool_rx_alt(c) < 0)
			return -1;
		if (*c->p != ')')
			return tool_rx_fail(c, prose(tool_rx_atom_msg2), (int)(at - c->pat));
		c->p++;
		c->depth--;
		return 0;
	case '[':
		return tool_rx_class(c, at);
	case '.':
		return tool_rx_emit(c, TOOL_RX_ANY, 0, 0);
	case '^':
		return tool_rx_emit(c, TOOL_RX_BOL, 0, 0);
	case '$':
		return tool_rx_emit(c, TOOL_RX_EOL, 0, 0);
	case '*': case '+': case '?': case '{':
		return tool_rx_fail(c, prose(tool_rx_atom_msg1), (int)(at - c->pat), *at);
	case '\\':
		if ((k = tool_rx_esc(c, &cp)) < 0)
			return -1;
		if (k && strchr("bBAz<>", k))
			return tool_rx_emit(c, TOOL_RX_WB + (int)(strchr("bBAz<>", k) - "bBAz<>"), 0, 0);
		if (k) {
			int x = c->re->nset;
			if (tool_rx_addset(c, tool_rx_setof(k), 0) < 0)
				return -1;
			return tool_rx_emit(c, k < 'a' ? TOOL_RX_NCLASS : TOOL_RX_CLASS, x, c->re->nset - x);
		}
		break;
	default:
		cp = tool_rx_dec((const unsigned char *)at, 4, &len);
		c->p = at + len;
	}
	return tool_rx_emit(c, TOOL_RX_CHAR, (int)(c->re->icase ? tool_rx_lower(cp) : cp), 0);
}

/* A decimal count, at most 100000 (the program limit refuses far less); -1 when there is none. */
static int
tool_rx_num(const char **p)
{
	int v = -1;
	while ((unsigned)(**p - '0') < 10) {
		v = (v < 0 ? 0 : v * 10) + (*(*p)++ - '0');
		if (v > 100000)
			v = 100000;
	}
	return v;
}

PROSE(tool_rx_quant_msg1,
	"repetition {%d,%d} at offset %d has min above max")

PROSE(tool_rx_quant_msg,
	"bad repetition at offset %d; use {n}, {n,} or {n,m}, or write \\{ for a literal brace")

/* Quantifiers after the atom that starts at a: x{lo,hi} becomes lo copies of x, then a loop (hi < 0) or
 * hi - lo optional copies, each split to the end. */
static int
tool_rx_quant(struct tool_rx_c *c, int a)
{
	struct tool_rx *re = c->re;
	for (;;) {
		const char *at = c->p, *p = at + 1;
		int len = re->n - a, lo = 0, hi = -1, b = a, last, i, pend = -1, k;
		switch (*at) {
		case '+':
			lo = 1;
			break;
		case '?':
			hi = 1;
			break;
		case '*':
			break;
		case '{':
			if ((lo = tool_rx_num(&p)) < 0)
				goto bad;
			hi = lo;
			if (*p == ',') {
				p++;
				hi = tool_rx_num(&p);     /* none: no upper bound */
			}
			if (*p++ != '}')
				goto bad;
			if (hi >= 0 && hi < lo)
				return tool_rx_fail(c, prose(tool_rx_quant_msg1), lo, hi, (int)(at - c->pat));
			break;
		default:
			return 0;
		}
		c->p = p + (*p == '?');          /* a lazy quantifier matches the same lines */
		if (hi == 0) {
			re->n = a;
			continue;
		}
		if (!lo) {                         /* the first copy is optional too */
			if (tool_rx_insert(c, a, TOOL_RX_SPLIT, 1, -1) < 0)
				return -1;
			pend = a;
			b = a + 1;
		}
		last = b;
		for (i = 1; i < lo; i++) {
			last = re->n;
			if (tool_rx_copy(c, b, len) < 0)
				return -1;
		}
		if (hi < 0) {
			if (!lo) {
				re->prog[a].y = len + 2;
				k = tool_rx_emit(c, TOOL_RX_JMP, a - re->n, 0);
			} else
				k = tool_rx_emit(c, TOOL_RX_SPLIT, last - re->n, 1);
			if (k < 0)
				return -1;
			continue;
		}
		for (i = lo ? lo : 1; i < hi; i++) {
			if ((pend = tool_rx_emit(c, TOOL_RX_SPLIT, 1, pend)) < 0 || tool_rx_copy(c, b, len) < 0)
				return -1;
		}
		while (pend >= 0) {
			k = re->prog[pend].y;
			re->prog[pend].y = re->n - pend;
			pend = k;
		}
		continue;
bad:
		return tool_rx_fail(c, prose(tool_rx_quant_msg),
		               (int)(at - c->pat));
	}
}

/* Branches separated by |: each but the last is "split to the next branch; the branch; jump to the end". */
static int
tool_rx_alt(struct tool_rx_c *c)
{
	struct tool_rx *re = c->re;
	int start = re->n, pend = -1, k;
	for (;;) {
		while (*c->p && *c->p != '|' && *c->p != ')') {
			k = re->n;
			if (tool_rx_atom(c) < 0 || tool_rx_quant(c, k) < 0)
				return -1;
		}
		if (*c->p != '|')
			break;
		c->p++;
		if (tool_rx_insert(c, start, TOOL_RX_SPLIT, 1, re->n - start + 2) < 0 || (k = tool_rx_emit(c, TOOL_RX_JMP, pend, 0)) < 0)
			return -1;
		pend = k;
		start = re->n;
	}
	while (pend >= 0) {
		k = re->prog[pend].x;
		re->prog[pend].x = re->n - pend;
		pend = k;
	}
	return 0;
}

/* Frees what tool_rx_comp allocated; safe on a zeroed or failed struct, and twice. */
static void
tool_rx_free(struct tool_rx *re)
{
	free(re->prog);
	free(re->set);
	free(re->thr);
	memset(re, 0, sizeof *re);
}

PROSE(tool_rx_comp_msg,
	"unmatched ) at offset %d; write \\) for a literal one")

/* Compiles pat; on error, err gets a one-line message with the offset in the pattern. */
static int
tool_rx_comp(struct tool_rx *re, const char *pat, int icase, char *err, size_t ecap)
{
	struct tool_rx_c c;
	memset(re, 0, sizeof *re);
	memset(&c, 0, sizeof c);
	c.re = re;
	c.pat = c.p = pat;
	c.err = err;
	c.ecap = ecap;
	re->icase = icase;
	if (pat[0] == '(' && pat[1] == '?') {  /* flags at the start: m and s change nothing within one line */
		const char *q = pat + 2;
		while (*q == 'i' || *q == 'm' || *q == 's')
			re->icase |= *q++ == 'i';
		if (*q == ')' && q > pat + 2)
			c.p = q + 1;
		else
			re->icase = icase;
	}
	if (tool_rx_alt(&c) < 0)
		goto fail;
	if (*c.p) {
		tool_rx_fail(&c, prose(tool_rx_comp_msg), (int)(c.p - pat));
		goto fail;
	}
	if (tool_rx_emit(&c, TOOL_RX_MATCH, 0, 0) < 0)
		goto fail;
	if (!(re->thr = calloc(4 * (size_t)re->n + 1, sizeof *re->thr))) {
		tool_rx_fail(&c, "out of memory");
		goto fail;
	}
	return 0;
fail:
	tool_rx_free(re);
	return -1;
}

/* A fresh mark for the next position, so no list has to be cleared. */
static unsigned
tool_rx_gen(const struct tool_rx *re)
{
	unsigned *g = re->thr + 4 * re->n;
	if (++*g == 0) {
		memset(re->thr + 3 * re->n, 0, (size_t)re->n * sizeof *re->thr);
		*g = 1;
	}
	return *g;
}

/* Adds pc and what it reaches without consuming at position i of s to list; 1 when that reaches MATCH. */
static int
tool_rx_add(const struct tool_rx *re, unsigned *list, unsigned *cnt, unsigned pc, const unsigned char *s, size_t n, size_t i)
{
	unsigned *st = re->thr + 2 * re->n, *mark = st + re->n, g = mark[re->n], sp = 0, to[2], k, nt;
	int pw = i > 0 && tool_rx_isword(s[i - 1]), cw = i < n && tool_rx_isword(s[i]), ok;
	mark[pc] = g;
	st[sp++] = pc;
	while (sp) {                      /* each pc is pushed once per mark, so the stack holds re->n */
		const struct tool_rx_inst *in = &re->prog[pc = st[--sp]];
		nt = 1;
		to[0] = pc + 1;
		switch (in->op) {
		case TOOL_RX_MATCH:
			return 1;
		case TOOL_RX_SPLIT:
			to[1] = pc + (unsigned)in->y;
			nt = 2;
			/* fall through */
		case TOOL_RX_JMP:
			to[0] = pc + (unsigned)in->x;
			ok = 1;
			break;
		case TOOL_RX_WB: ok = pw != cw; break;
		case TOOL_RX_NWB: ok = pw == cw; break;
		case TOOL_RX_BOL: ok = i == 0; break;
		case TOOL_RX_EOL: ok = i == n; break;
		case TOOL_RX_WSTART: ok = !pw && cw; break;
		case TOOL_RX_WEND: ok = pw && !cw; break;
		default:
			list[(*cnt)++] = pc;
			continue;
		}
		for (k = 0; ok && k < nt; k++)
			if (mark[to[k]] != g) {
				mark[to[k]] = g;
				st[sp++] = to[k];
			}
	}
	return 0;
}

/* 1 when c is in one of the class's ranges. */
static int
tool_rx_inset(const struct tool_rx *re, const struct tool_rx_inst *in, unsigned c)
{
	const unsigned *r = re->set + 2 * in->x, *e = r + 2 * in->y;
	for (; r < e; r += 2)
		if (c >= r[0] && c <= r[1])
			return 1;
	return 0;
}

/* 1 when the pattern matches somewhere in the line s[0..n) (no newline in it). */
static int
tool_rx_match(const struct tool_rx *re, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s, *q;
	const struct tool_rx_inst *p0 = re->prog, *in;
	unsigned *cl = re->thr, *nl = cl + re->n, *t, nc = 0, nn, k, c, fc;
	size_t i = 0, len;
	int ok;
	tool_rx_gen(re);
	for (;;) {
		if (!nc && i && p0->op == TOOL_RX_BOL)
			return 0;
		/* no thread left and every match starts with one ASCII byte: skip to it */
		if (!nc && p0->op == TOOL_RX_CHAR && p0->x < 0x80 && !(re->icase && tool_rx_isword((unsigned)p0->x))) {
			if (i >= n || !(q = memchr(u + i, p0->x, n - i)))
				return 0;
			i = (size_t)(q - u);
			tool_rx_gen(re);
		}
		if (tool_rx_add(re, cl, &nc, 0, u, n, i))
			return 1;
		if (i >= n)
			return 0;
		c = tool_rx_dec(u + i, n - i, &len);
		fc = re->icase ? tool_rx_lower(c) : c;
		tool_rx_gen(re);
		for (nn = 0, k = 0; k < nc; k++) {
			in = &re->prog[cl[k]];
			if (in->op == TOOL_RX_CHAR)
				ok = fc == (unsigned)in->x;
			else if (in->op == TOOL_RX_ANY)
				ok = c != '\n';
			else
				ok = (tool_rx_inset(re, in, c) || (re->icase && (tool_rx_inset(re, in, tool_rx_lower(c)) ||
				      tool_rx_inset(re, in, tool_rx_upper(c))))) != (in->op == TOOL_RX_NCLASS);
			if (ok && tool_rx_add(re, nl, &nn, cl[k] + 1, u, n, i + len))
				return 1;
		}
		t = cl;
		cl = nl;
		nl = t;
		nc = nn;
		i += len;
	}
}

struct tool_grepctx {
	struct tool_rx re;
	const char *glob;
	int mode;                 /* 0 files, 1 content, 2 count */
	int numbers;
	long long before, after, limit, entries;
	struct buf *out;
	struct tool_hit *hits;    /* files_with_matches: sorted newest first at the end */
	size_t n, cap;
	int cut;
};

static int
tool_grep_visit(void *ctx, int dfd, const char *name, const char *path, const char *rel, const struct stat *st)
{
	struct tool_grepctx *g = ctx;
	struct buf data = {0};
	size_t i = 0, matches = 0;
	long long line = 0, last_printed = 0;
	const char *base = strrchr(rel, '/');
	if (g->glob && !tool_glob_match(g->glob, strchr(g->glob, '/') ? rel : (base ? base + 1 : rel)))
		return 0;
	int fd = st->st_size > AG_FILE_MAX ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || bound_read_fd(fd, &data, AG_FILE_MAX) < 0 || !data.len || tool_is_binary(data.p, data.len)) {
		buf_free(&data);
		return 0;
	}
	/* line starts, for -B context */
	while (i < data.len) {
		char *nl = memchr(data.p + i, '\n', data.len - i);
		size_t len = nl ? (size_t)(nl - (data.p + i)) : data.len - i;
		int hit;
		line++;
		hit = tool_rx_match(&g->re, data.p + i, len);
		if (hit) {
			matches++;
			if (g->mode == 0)
				break;
			if (g->mode == 1) {
				long long from = line - g->before > last_printed + 1 ? line - g->before : last_printed + 1, k;
				size_t p = 0;
				long long ln = 1;
				if (g->limit && g->entries >= g->limit) {
					g->cut = 1;
					break;
				}
				if (last_printed && from > last_printed + 1)
					buf_adds(g->out, "--\n");
				for (k = from; k <= line + g->after; k++) {
					/* find line k (files are small enough; context is rare) */
					while (ln < k && p < data.len) {
						char *q = memchr(data.p + p, '\n', data.len - p);
						p = q ? (size_t)(q - data.p) + 1 : data.len;
						ln++;
					}
					if (p >= data.len && k > line)
						break;
					{
						char *q = memchr(data.p + p, '\n', data.len - p);
						size_t l = q ? (size_t)(q - (data.p + p)) : data.len - p;
						if (l > AG_LINE_MAX)
							l = AG_LINE_MAX;
						if (g->numbers)
							buf_printf(g->out, "%s%c%lld%c", path, k == line ? ':' : '-', k, k == line ? ':' : '-');
						else
							buf_printf(g->out, "%s%c", path, k == line ? ':' : '-');
						buf_add(g->out, data.p + p, l);
						buf_add(g->out, "\n", 1);
					}
					last_printed = k;
				}
				g->entries++;
				if (g->out->len > (size_t)AG_TOOL_OUTPUT_MAX * 2) {
					g->cut = 1;
					break;
				}
			}
		}
		i += len + 1;
	}
	if (matches && g->mode == 2) {
		if (!g->limit || g->entries < g->limit)
			buf_printf(g->out, "%s:%zu\n", path, matches);
		else
			g->cut = 1;
		g->entries++;
	}
	if (matches && g->mode == 0) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 64;
			void *p = realloc(g->hits, cap * sizeof *g->hits);
			if (!p) {
				buf_free(&data);
				return AG_E_NOMEM;
			}
			g->hits = p;
			g->cap = cap;
		}
		if ((g->hits[g->n].path = strdup(path)) != NULL)
			g->hits[g->n++].mtime = st->st_mtim;
	}
	buf_free(&data);
	return g->cut && g->mode != 0 ? 1 : 0;
}

PROSE(tool_grep_msg3,
	"Grep: the pattern is not a valid regular expression: %s")
PROSE(tool_grep_msg4,
	"[%zu files match; showing %lld, newest first]\n")

PROSE(tool_grep_msg1,
	"Grep: output_mode must be files_with_matches, content or count")
PROSE(tool_grep_msg2,
	"[output cut; narrow the pattern, path or glob, or raise head_limit]\n")

static int
tool_grep(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	char root[PATH_MAX], msg[200];
	struct buf pat = {0}, dir = {0}, glob = {0}, mode = {0};
	struct tool_grepctx g;
	int trunc = 0, rc, have_re = 0;
	size_t i;
	long long ctxl;
	memset(&g, 0, sizeof g);
	if (tool_arg_str(j, "pattern", &pat, 1, "Grep", o) < 0 || tool_arg_str(j, "path", &dir, 0, "Grep", o) < 0 ||
	    tool_arg_str(j, "glob", &glob, 0, "Grep", o) < 0 || tool_arg_str(j, "output_mode", &mode, 0, "Grep", o) < 0)
		goto done;
	if (!mode.len || strcmp(mode.p, "files_with_matches") == 0)
		g.mode = 0;
	else if (strcmp(mode.p, "content") == 0)
		g.mode = 1;
	else if (strcmp(mode.p, "count") == 0)
		g.mode = 2;
	else {
		tool_fail(o, prose(tool_grep_msg1));
		goto done;
	}
	if (tool_target(tc, "Grep", j, root, sizeof root, msg, sizeof msg) < 0) {
		tool_fail(o, "Grep: bad path");
		goto done;
	}
	if (tool_guard(tc, "Grep", root, o))
		goto done;
	rc = tool_rx_comp(&g.re, pat.p, tool_arg_bool(j, "-i"), msg, sizeof msg);
	if (rc) {
		tool_fail(o, prose(tool_grep_msg3), msg);
		goto done;
	}
	have_re = 1;
	ctxl = tool_arg_int(j, "-C", 0);
	g.before = tool_arg_int(j, "-B", ctxl);
	g.after = tool_arg_int(j, "-A", ctxl);
	if (g.before < 0 || g.before > 100) g.before = 0;
	if (g.after < 0 || g.after > 100) g.after = 0;
	g.numbers = tool_arg_bool(j, "-n");
	g.limit = tool_arg_int(j, "head_limit", 0);
	if (g.limit < 0)
		g.limit = 0;
	g.glob = glob.len ? glob.p : NULL;
	o->text.len = 0;
	g.out = &o->text;
	if (tool_walk(root, tool_grep_visit, &g, &trunc, tc, "Grep") < 0) {
		tool_fail(o, "Grep: out of memory");
		goto done;
	}
	if (g.mode == 0) {
		long long max = g.limit ? g.limit : AG_GLOB_MAX;
		base_sort(g.hits, g.n, sizeof *g.hits, tool_hit_newer);
		for (i = 0; i < g.n && (long long)i < max; i++)
			buf_printf(&o->text, "%s\n", g.hits[i].path);
		if ((long long)g.n > max)
			buf_printf(&o->text, prose(tool_grep_msg4), g.n, max);
	}
	if (!o->text.len)
		buf_printf(&o->text, "No matches for %s under %s", pat.p, root);
	else if (g.cut || trunc)
		buf_adds(&o->text, prose(tool_grep_msg2));
	tool_clip(&o->text, AG_TOOL_OUTPUT_MAX);
done:
	if (have_re)
		tool_rx_free(&g.re);
	for (i = 0; i < g.n; i++)
		free(g.hits[i].path);
	free(g.hits);
	buf_free(&pat);
	buf_free(&dir);
	buf_free(&glob);
	buf_free(&mode);
	return 0;
}

/* ---- background Bash: run_in_background, BashOutput, KillShell ---- */

/* In the collector: read the command's output into the ring until it ends, then record how it ended. */
static void
tool_bg_collect(struct tool_bg_ring *r, int fd, pid_t keeper)
{
	char tmp[8192];
	unsigned long total = 0;
	int st = 0;
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		size_t at, first;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		at = (size_t)(total % AG_BG_RING);
		first = (size_t)n < AG_BG_RING - at ? (size_t)n : AG_BG_RING - at;
		memcpy(r->data + at, tmp, first);
		memcpy(r->data, tmp + first, (size_t)n - first);
		total += (unsigned long)n;
		__atomic_store_n(&r->total, total, __ATOMIC_RELEASE);
	}
	while (waitpid(keeper, &st, 0) < 0 && errno == EINTR)
		;
	r->status = st;
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
}

PROSE(tool_bg_start_msg3,
	"Bash: cannot start a background command: %s")

PROSE(tool_bg_start_msg1,
	"Bash: %d background commands are running or have unread output; read them with "
	"BashOutput or stop one with KillShell first")
PROSE(tool_bg_start_msg2,
	"Command running in background with ID: %s. Read its output with BashOutput "
	"(bash_id \"%s\"); stop it with KillShell.")

/* Bash with run_in_background: start the command and return its id at once. */
static int
tool_bg_start(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	struct buf cmd = {0};
	struct tool_bg *b;
	struct tool_bg_ring *r;
	pid_t pid;
	int k;
	if (tool_arg_str(j, "command", &cmd, 1, "Bash", o) < 0)
		return 0;
	if (!tc->bg || !cmd.len || strspn(cmd.p, " \t\n") == cmd.len) {
		buf_free(&cmd);
		return tool_fail(o, tc->bg ? "Bash: the command is empty" : "Bash: no background commands here");
	}
	for (k = 0; k < tc->bg->n && !(tc->bg->j[k].r->done && tc->bg->j[k].seen == tc->bg->j[k].r->total); k++)
		;
	if (k == AG_BG_JOBS) {
		buf_free(&cmd);
		return tool_fail(o, prose(tool_bg_start_msg1), AG_BG_JOBS);
	}
	b = &tc->bg->j[k];
	if (k < tc->bg->n) {                      /* an ended, fully read one makes room */
		free(b->cmd);
		munmap(b->r, sizeof *b->r);
		waitpid(b->collector, NULL, WNOHANG);
	} else {
		tc->bg->n++;
	}
	memset(b, 0, sizeof *b);
	r = mmap(0, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED || (pid = fork()) < 0) {
		if (r != MAP_FAILED)
			munmap(r, sizeof *r);
		*b = tc->bg->j[--tc->bg->n];          /* the slot goes: the last one takes its place */
		buf_free(&cmd);
		return tool_fail(o, prose(tool_bg_start_msg3), base_strerror(errno));
	}
	if (pid == 0) {                           /* the collector */
		int p[2], fd;
		pid_t keeper;
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		signal(SIGINT, SIG_IGN);              /* a Ctrl-C in the REPL stops the agent's turn, not this */
#ifdef SYS_close_range
		if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)   /* Linux 5.9 */
#endif
			for (fd = 3; fd < 4096; fd++)
				close(fd);                    /* nothing of the agent's: MCP pipes, sockets, other jobs */
		if (pipe2(p, O_CLOEXEC) < 0 || (keeper = base_fork_kept()) < 0)
			_exit(127);
		if (keeper == 0)
			tool_sh_exec(tc, p[1], -1, cmd.p, NULL);
		close(p[1]);
		__atomic_store_n(&r->pgid, (int)keeper, __ATOMIC_RELEASE);
		tool_bg_collect(r, p[0], keeper);
		_exit(0);
	}
	b->collector = pid;
	b->r = r;
	b->cmd = cmd.p;
	b->started = clk_ms();
	base_snprintf(b->id, sizeof b->id, "bash_%d", ++tc->bg->next);
	o->text.len = 0;
	buf_printf(&o->text, prose(tool_bg_start_msg2), b->id, b->id);
	return 0;
}

PROSE(tool_bg_find_msg,
	"%s: no background command %s (Bash with run_in_background gives the ids)")

static struct tool_bg *
tool_bg_find(struct tool_ctx *tc, const struct json *j, const char *key, const char *tool, struct tool_out *o)
{
	struct buf id = {0};
	int k;
	if (tool_arg_str(j, key, &id, 1, tool, o) < 0)
		return NULL;
	for (k = 0; tc->bg && k < tc->bg->n && strcmp(tc->bg->j[k].id, id.p); k++)
		;
	if (!tc->bg || k == tc->bg->n) {
		tool_fail(o, prose(tool_bg_find_msg), tool, id.p);
		buf_free(&id);
		return NULL;
	}
	buf_free(&id);
	return &tc->bg->j[k];
}

/* "running", "completed", "failed" or "killed", with the exit code when it has one. */
static const char *
tool_bg_state(const struct tool_bg *b, int *code)
{
	int done = __atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE), st = b->r->status;
	*code = done && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return !done ? "running" : b->killed ? "killed" : *code == 0 ? "completed" : "failed";
}

/* Output since the last read: the ring's newest part when more was written than it keeps. */
static void
tool_bg_take(struct tool_bg *b, struct buf *out, unsigned long long *dropped)
{
	unsigned long t1 = __atomic_load_n(&b->r->total, __ATOMIC_ACQUIRE), start = b->seen, t2, lost;
	size_t n, at, first;
	*dropped = 0;
	if (t1 - start > AG_BG_RING)
		*dropped = t1 - AG_BG_RING - start, start = t1 - AG_BG_RING;
	n = (size_t)(t1 - start);
	at = (size_t)(start % AG_BG_RING);
	first = n < AG_BG_RING - at ? n : AG_BG_RING - at;
	buf_add(out, b->r->data + at, first);
	buf_add(out, b->r->data, n - first);
	t2 = __atomic_load_n(&b->r->total, __ATOMIC_ACQUIRE);
	if (t2 > start + AG_BG_RING && out->len) {  /* overwritten while copied: those bytes are lost too */
		lost = t2 - AG_BG_RING - start < out->len ? t2 - AG_BG_RING - start : out->len;
		memmove(out->p, out->p + lost, out->len - (size_t)lost);
		out->len -= (size_t)lost;
		out->p[out->len] = 0;
		*dropped += lost;
	}
	b->seen = t1;
}

PROSE(tool_bash_output_msg2,
	"\n[%d lines did not match the filter]")

PROSE(tool_bash_output_msg1,
	"BashOutput: filter is not a regular expression we read: %s")

PROSE(tool_bash_output_msg,
	"[%llu bytes of earlier output were dropped: a background command keeps its last %d KB]\n")

static int
tool_bash_output(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	struct tool_bg *b = tool_bg_find(tc, j, "bash_id", "BashOutput", o);
	struct buf got = {0}, flt = {0};
	struct tool_rx re;
	unsigned long long dropped;
	const char *state;
	int code, filtered = 0;
	char msg[160];
	if (!b)
		return 0;
	memset(&re, 0, sizeof re);
	if (tool_arg_str(j, "filter", &flt, 0, "BashOutput", o) < 0)
		return 0;
	if (flt.len && tool_rx_comp(&re, flt.p, 0, msg, sizeof msg)) {
		buf_free(&flt);
		return tool_fail(o, prose(tool_bash_output_msg1), msg);
	}
	state = tool_bg_state(b, &code);          /* before the output: a command that ended has all of it there */
	tool_bg_take(b, &got, &dropped);
	o->text.len = 0;
	buf_printf(&o->text, "<status>%s</status>\n", state);
	if (code >= 0)
		buf_printf(&o->text, "<exit_code>%d</exit_code>\n", code);
	if (dropped)
		buf_printf(&o->text, prose(tool_bash_output_msg),
		           dropped, AG_BG_RING / 1024);
	if (flt.len && got.len) {                 /* only the matching lines; the rest is read all the same */
		size_t i = 0, keep = 0;
		while (i < got.len) {
			char *nl = memchr(got.p + i, '\n', got.len - i);
			size_t n = nl ? (size_t)(nl - (got.p + i)) : got.len - i;
			if (tool_rx_match(&re, got.p + i, n)) {
				memmove(got.p + keep, got.p + i, n);
				keep += n;
				got.p[keep++] = '\n';
			} else {
				filtered++;
			}
			i += n + 1;
		}
		got.len = keep;
	}
	if (got.len) {
		tool_clip(&got, AG_TOOL_OUTPUT_MAX);
		buf_adds(&o->text, "<output>\n");
		buf_add(&o->text, got.p, got.len);
		buf_adds(&o->text, got.p[got.len - 1] == '\n' ? "</output>" : "\n</output>");
	} else {
		buf_adds(&o->text, "(no new output)");
	}
	if (filtered)
		buf_printf(&o->text, prose(tool_bash_output_msg2), filtered);
	tool_rx_free(&re);
	buf_free(&flt);
	buf_free(&got);
	return 0;
}

/* End a background command's process group: SIGTERM, then SIGKILL after up to 2 s. */
static void
tool_bg_stop(struct tool_bg *b)
{
	int pg = __atomic_load_n(&b->r->pgid, __ATOMIC_ACQUIRE), i;
	if (__atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE))
		return;
	b->killed = 1;
	if (pg > 0)
		kill(-pg, SIGTERM);
	for (i = 0; i < 40 && !__atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE); i++)
		usleep(50000);
	if (pg > 0)
		kill(-pg, SIGKILL);
	if (!__atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE))
		kill(b->collector, SIGKILL);          /* its keeper then ends the group */
}

PROSE(tool_kill_shell_msg,
	"KillShell: %s has already ended (%s)")

static int
tool_kill_shell(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	struct tool_bg *b = tool_bg_find(tc, j, "shell_id", "KillShell", o);
	int code;
	if (!b)
		return 0;
	if (__atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE))
		return tool_fail(o, prose(tool_kill_shell_msg), b->id, tool_bg_state(b, &code));
	tool_bg_stop(b);
	o->text.len = 0;
	buf_printf(&o->text, "Killed %s (%s)", b->id, b->cmd);
	return 0;
}

PROSE(tool_bg_list_msg,
	"no background commands (the agent starts them with Bash run_in_background)\n")

/* One line per background command, for /bashes. */
static void
tool_bg_list(const struct tool_bgs *g, struct buf *out)
{
	int k, code;
	for (k = 0; g && k < g->n; k++) {
		const struct tool_bg *b = &g->j[k];
		const char *st = tool_bg_state(b, &code);
		buf_printf(out, "%-8s %-9s %6llds %8llu bytes  %s\n", b->id, st, (clk_ms() - b->started) / 1000,
		           (unsigned long long)__atomic_load_n(&b->r->total, __ATOMIC_ACQUIRE), b->cmd);
	}
	if (!g || !g->n)
		buf_adds(out, prose(tool_bg_list_msg));
}

/* At the end of the session: every background command's group ends, every collector is reaped. */
static void
tool_bg_end(struct tool_bgs *g)
{
	int k;
	for (k = 0; g && k < g->n; k++) {
		struct tool_bg *b = &g->j[k];
		int pg = __atomic_load_n(&b->r->pgid, __ATOMIC_ACQUIRE);
		if (pg > 0 && !__atomic_load_n(&b->r->done, __ATOMIC_ACQUIRE))
			kill(-pg, SIGKILL);
		kill(b->collector, SIGKILL);
		waitpid(b->collector, NULL, 0);
		munmap(b->r, sizeof *b->r);
		free(b->cmd);
	}
	if (g)
		g->n = 0;
}

/* ---- TodoWrite ---- */

static void
tool_todos_free(struct todo *t, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		free(t[i].content);
		free(t[i].active);
	}
	free(t);
}

PROSE(tool_todo_msg5,
	" Keep only one item in_progress at a time.")

PROSE(tool_todo_msg1,
	"TodoWrite needs 'todos': an array of {content, status, activeForm}")
PROSE(tool_todo_msg2,
	"TodoWrite: item %d needs non-empty content and activeForm strings")
PROSE(tool_todo_msg3,
	"TodoWrite: item %d has a status other than pending, in_progress or completed")
PROSE(tool_todo_msg4,
	"Todo list updated: %d pending, %d in progress, %d completed.")

static int
tool_todo(struct tool_ctx *tc, const struct json *j, struct tool_out *o)
{
	int arr = json_get(j, 0, "todos"), i, k, n, counts[3] = {0, 0, 0};
	struct todo *t;
	if (arr < 0 || j->t[arr].type != JSMN_ARRAY)
		return tool_fail(o, prose(tool_todo_msg1));
	n = j->t[arr].size;
	t = calloc((size_t)(n ? n : 1), sizeof *t);
	if (!t)
		return tool_fail(o, "TodoWrite: out of memory");
	for (i = 0, k = arr + 1; i < n; i++, k = json_skip(j, k)) {
		struct buf c = {0}, a = {0};
		int st = json_get(j, k, "status");
		if (k >= j->n || j->t[k].type != JSMN_OBJECT || json_str_buf(j, json_get(j, k, "content"), &c) ||
		    json_str_buf(j, json_get(j, k, "activeForm"), &a) || !c.len || !a.len) {
			buf_free(&c);
			buf_free(&a);
			tool_todos_free(t, (size_t)i);
			return tool_fail(o, prose(tool_todo_msg2), i + 1);
		}
		t[i].content = c.p;
		t[i].active = a.p;
		t[i].status = json_eq(j, st, "pending") ? 0 : json_eq(j, st, "in_progress") ? 1 :
		              json_eq(j, st, "completed") ? 2 : -1;
		if (t[i].status < 0) {
			tool_todos_free(t, (size_t)i + 1);
			return tool_fail(o, prose(tool_todo_msg3), i + 1);
		}
		counts[t[i].status]++;
	}
	tool_todos_free(tc->todos, tc->ntodos);
	tc->todos = t;
	tc->ntodos = (size_t)n;
	tc->todo_used = 1;
	o->text.len = 0;
	buf_printf(&o->text, prose(tool_todo_msg4), counts[0], counts[1], counts[2]);
	if (counts[1] > 1)
		buf_adds(&o->text, prose(tool_todo_msg5));
	return 0;
}

PROSE(tool_run_msg1,
	"%s: the input must be a JSON object")

PROSE(tool_run_msg,
	"There is no tool named %s; the tools are Bash, BashOutput, KillShell, Read, Write, Edit, Glob, Grep, TodoWrite")

/* Run one tool by name on its parsed input. Nothing here aborts the loop: failures are results. */
static void
tool_run(struct tool_ctx *tc, const char *name, const struct json *j, struct tool_out *o)
{
	o->text.len = 0;
	o->is_error = 0;
	if (j->n < 1 || j->t[0].type != JSMN_OBJECT)
		tool_fail(o, prose(tool_run_msg1), name);
	else if (strcmp(name, "Bash") == 0)
		tool_arg_bool(j, "run_in_background") ? tool_bg_start(tc, j, o) : tool_bash(tc, j, o);
	else if (strcmp(name, "BashOutput") == 0)
		tool_bash_output(tc, j, o);
	else if (strcmp(name, "KillShell") == 0)
		tool_kill_shell(tc, j, o);
	else if (strcmp(name, "Read") == 0)
		tool_read(tc, j, o);
	else if (strcmp(name, "Write") == 0)
		tool_write(tc, j, o);
	else if (strcmp(name, "Edit") == 0)
		tool_edit(tc, j, o);
	else if (strcmp(name, "Glob") == 0)
		tool_glob(tc, j, o);
	else if (strcmp(name, "Grep") == 0)
		tool_grep(tc, j, o);
	else if (strcmp(name, "TodoWrite") == 0)
		tool_todo(tc, j, o);
	else if (str_starts(name, "mcp__"))
		mcp_tool_run(tc->mcp, name, j, o);
	else if (strcmp(name, "ListMcpResourcesTool") == 0)
		mcp_resources_list(tc->mcp, j, o);
	else if (strcmp(name, "ReadMcpResourceTool") == 0)
		mcp_resource_read(tc->mcp, j, o);
	else
		tool_fail(o, prose(tool_run_msg), name);
	if (!o->text.len)
		buf_adds(&o->text, o->is_error ? "(failed without a message)" : "(no output)");
}

PROSE(mcp_config_msg6,
	"more than %d MCP servers configured")

PROSE(mcp_config_msg3,
	"%s is not valid JSON; fix it or move it away")
PROSE(mcp_config_msg4,
	"%s: mcpServers must be an object of servers by name")
PROSE(mcp_config_msg5,
	"transport \"%s\" is not supported (stdio and http are)")

PROSE(mcp_config_msg1,
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
PROSE(mcp_config_msg2,
	"%s: MCP server name '%s' may only hold letters, digits, _ and -")

/* ==== 11. mcp: Model Context Protocol servers ==== */

/* Servers declared as Claude Code declares them (.mcp.json, ~/.claude.json, --mcp-config): stdio (a child
 * speaking JSON-RPC 2.0, one message per line) or streamable HTTP (POST; the answer as JSON or as an event
 * stream) over our own HTTP/TLS client. Their tools reach the model as mcp__SERVER__TOOL. A server that
 * fails is reported once and left out; nothing it does can stop the agent. */
#ifndef AG_MCP_SERVERS
#define AG_MCP_SERVERS 32
#endif
#define MCP_PROTOCOL "2025-06-18"
enum { MCP_OFF, MCP_READY, MCP_FAILED };

struct mcp_tool {
	char *name;               /* the server's name for it */
	char full[192];           /* mcp__SERVER__TOOL */
	struct buf def;           /* {"name","description","input_schema"} for the request */
};

struct mcp_srv {
	char name[64];
	int project;              /* from the project's .mcp.json: starts only when approved */
	struct tls_trust *trust;  /* the run's trust anchors (http servers at https:// URLs) */
	int http;
	int state;
	char why[300];
	/* stdio */
	char **argv;
	struct buf env;           /* NAME=VALUE\0 pairs from the "env" object */
	pid_t pid;
	int to, from;             /* pipes: we write requests to `to`, read answers from `from` */
	struct buf in;            /* bytes read, not yet a whole line */
	/* http */
	struct url url;
	char path[512];
	struct buf headers;       /* configured headers as "name: value\r\n" lines */
	char session[200];        /* Mcp-Session-Id */
	struct http *h, *get, *side;   /* requests; the server's event stream; our answers meanwhile */
	int get_state;            /* the GET stream: 1 open, 0 not (yet), -1 the server has none */
	int gfd;                  /* its reader's pipe, the reader, when it was opened, what came not yet a line */
	pid_t gpid;
	long long get_at;
	struct buf gin;
	long retry;               /* the last stream's retry delay (ms, -1: none) and last event id */
	char last_id[128];
	char token[4096], refresh[2048];   /* OAuth: the access token and the refresh token */
	struct buf oauth;         /* the "oauth" object of its entry (JSON), or empty */
	char granted[512];        /* the scope its token has */
	int auth_tries, refreshed;   /* authorizations since its last success; a refresh was tried */
	char url_full[600], origin[600];   /* its URL, and that URL's scheme://host:port */
	struct mcp *m;
	long long id;
	struct mcp_tool *tools;
	size_t ntools;
	int caps;                 /* MCP_CAP_*: what its initialize answer offered */
	int stale;                /* it said its tools changed: they are listed again before the next request */
	struct buf prompts;       /* its prompts: "NAME\tARG ARG\tDESCRIPTION\n" lines */
};
enum { MCP_CAP_RES = 1, MCP_CAP_PROMPTS = 2 };

/* The servers of one run, owned by main and passed down (the tool context carries a pointer). */
struct mcp {
	struct mcp_srv srv[AG_MCP_SERVERS];
	size_t n;
	struct buf logdir;        /* each stdio server's stderr goes to NAME.log here */
	/* which of the project's .mcp.json servers may start: the folder is trusted, or settings approve them */
	int trusted, approve_all;
	struct buf enabled, disabled;   /* enabledMcpjsonServers, disabledMcpjsonServers: names, one per line */
	const char *roots;        /* the trust boundary's folders, one a line: the answer to roots/list */
	/* asks the user (elicitation): prompt shown, a line read into *answer; < 0 when the user gave up.
	 * NULL without a terminal. */
	int (*ask)(void *ctx, const char *prompt, struct buf *answer);
	void *ask_ctx;
};

/* A config file's "mcpServers": each entry becomes a server to start (later files do not replace a name).
 * flags: MCP_MUST_EXIST (a file named on the command line), MCP_PROJECT (the project's .mcp.json). */
enum { MCP_MUST_EXIST = 1, MCP_PROJECT = 2 };

static int
mcp_config(struct mcp *m, const char *path, int flags, struct ag_err *e)
{
	int must_exist = flags & MCP_MUST_EXIST;
	struct buf f = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	int ms, i, k, r = 0;
	if (file_read_all(path, &f, 4u << 20)) {
		buf_free(&f);
		return must_exist ? err_set(e, AG_E_USAGE, "cannot read the MCP config %s: %s", path, base_strerror(errno)) : 0;
	}
	if (json_parse_alloc(&j, f.p ? f.p : "", f.len, &tok) <= 0 || tok[0].type != JSMN_OBJECT) {
		r = err_set(e, AG_E_USAGE, prose(mcp_config_msg3), path);
		goto out;
	}
	ms = json_get(&j, 0, "mcpServers");
	if (ms < 0)
		goto out;
	if (j.t[ms].type != JSMN_OBJECT) {
		r = err_set(e, AG_E_USAGE, prose(mcp_config_msg4), path);
		goto out;
	}
	for (i = 0, k = ms + 1; i < j.t[ms].size; i++, k = json_skip(&j, k + 1)) {
		struct mcp_srv *s;
		char name[64], type[16] = "stdio", tmp[2048];
		int v = k + 1, a, x, y;
		size_t q;
		if (json_str(&j, k, name, sizeof name) || !name[0])
			continue;
		for (q = 0; q < m->n && strcmp(m->srv[q].name, name); q++)
			;
		if (q < m->n)
			continue;
		if (m->n == AG_MCP_SERVERS) {
			r = err_set(e, AG_E_USAGE, prose(mcp_config_msg6), AG_MCP_SERVERS);
			goto out;
		}
		if (strspn(name, prose(mcp_config_msg1)) != strlen(name)) {
			r = err_set(e, AG_E_USAGE, prose(mcp_config_msg2), path, name);
			goto out;
		}
		s = &m->srv[m->n];
		memset(s, 0, sizeof *s);
		s->to = s->from = -1;
		s->project = (flags & MCP_PROJECT) != 0;
		str_copy(s->name, sizeof s->name, name, strlen(name));
		json_str(&j, json_get(&j, v, "type"), type, sizeof type);
		if (strcmp(type, "http") == 0 || strcmp(type, "streamable-http") == 0 ||
		    (json_get(&j, v, "url") >= 0 && json_get(&j, v, "command") < 0 && strcmp(type, "sse") != 0)) {
			char *p;
			s->http = 1;
			if (json_str(&j, json_get(&j, v, "url"), tmp, sizeof tmp) || !(p = str_find(tmp, "://"))) {
				s->state = MCP_FAILED;
				base_snprintf(s->why, sizeof s->why, "no valid \"url\" in %s", path);
			} else {
				char *sl = strchr(p + 3, '/');
				str_copy(s->path, sizeof s->path, sl ? sl : "/", strlen(sl ? sl : "/"));
				str_copy(s->url_full, sizeof s->url_full, tmp, strlen(tmp));
				if (sl)
					*sl = 0;
				str_copy(s->origin, sizeof s->origin, tmp, strlen(tmp));
				if (url_parse(tmp, &s->url, e)) {
					s->state = MCP_FAILED;
					base_snprintf(s->why, sizeof s->why, "url: %.280s", e->msg);
					e->code = 0;
					e->msg[0] = 0;
				}
			}
			if ((a = json_get(&j, v, "oauth")) >= 0 && j.t[a].type == JSMN_OBJECT) {
				struct jw w;
				jw_init(&w, jw_sink_buf, &s->oauth);
				json_copy(&w, &j, a);
			}
			a = json_get(&j, v, "headers");
			if (a >= 0 && j.t[a].type == JSMN_OBJECT)
				for (x = 0, y = a + 1; x < j.t[a].size; x++, y = json_skip(&j, y + 1)) {
					char hn[128], hv[1024];
					if (!json_str(&j, y, hn, sizeof hn) && !json_str(&j, y + 1, hv, sizeof hv) &&
					    !strpbrk(hn, "\r\n:") && !strpbrk(hv, "\r\n"))
						buf_printf(&s->headers, "%s: %s\r\n", hn, hv);
				}
		} else if (strcmp(type, "stdio") == 0) {
			int args = json_get(&j, v, "args"), n = 1;
			if (json_str(&j, json_get(&j, v, "command"), tmp, sizeof tmp) || !tmp[0]) {
				s->state = MCP_FAILED;
				base_snprintf(s->why, sizeof s->why, "no \"command\" in %s", path);
			} else {
				if (args >= 0 && j.t[args].type == JSMN_ARRAY)
					n += j.t[args].size;
				s->argv = calloc((size_t)n + 1, sizeof *s->argv);
				if (!s->argv) {
					r = err_set(e, AG_E_NOMEM, "out of memory");
					goto out;
				}
				s->argv[0] = strdup(tmp);
				if (args >= 0 && j.t[args].type == JSMN_ARRAY)
					for (x = 0, y = args + 1; x < j.t[args].size; x++, y = json_skip(&j, y)) {
						struct buf b = {0};
						json_str_buf(&j, y, &b);
						s->argv[1 + x] = b.p ? b.p : strdup("");
					}
			}
			a = json_get(&j, v, "env");
			if (a >= 0 && j.t[a].type == JSMN_OBJECT)
				for (x = 0, y = a + 1; x < j.t[a].size; x++, y = json_skip(&j, y + 1)) {
					struct buf val = {0};
					char en[128];
					if (json_str(&j, y, en, sizeof en) || !en[0] || strchr(en, '=') || json_str_buf(&j, y + 1, &val))
						continue;
					buf_printf(&s->env, "%s=", en);
					{   /* ${VAR} in a value comes from agent's own environment */
						const char *p = val.p ? val.p : "";
						while (*p) {
							const char *c = str_find(p, "${"), *end = c ? strchr(c, '}') : NULL;
							if (!c || !end) {
								buf_adds(&s->env, p);
								break;
							}
							buf_add(&s->env, p, (size_t)(c - p));
							{
								char vn[128];
								const char *ev;
								str_copy(vn, sizeof vn, c + 2, (size_t)(end - c - 2));
								ev = getenv(vn);
								buf_adds(&s->env, ev ? ev : "");
							}
							p = end + 1;
						}
					}
					buf_add(&s->env, "", 1);
					buf_free(&val);
				}
		} else {
			s->state = MCP_FAILED;
			base_snprintf(s->why, sizeof s->why, prose(mcp_config_msg5), type);
		}
		m->n++;
	}
out:
	free(tok);
	buf_free(&f);
	return r;
}

static void mcp_get_close(struct mcp_srv *s);

static void
mcp_fail(struct mcp_srv *s, const char *fmt, ...)
{
	va_list ap;
	if (s->state == MCP_FAILED)
		return;
	s->state = MCP_FAILED;
	va_start(ap, fmt);
	base_vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	if (s->pid > 0) {
		kill(-s->pid, SIGKILL);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->to >= 0)
		close(s->to);
	if (s->from >= 0)
		close(s->from);
	s->to = s->from = -1;
	if (s->h)
		http_close(s->h);
	mcp_get_close(s);
	s->get_state = -1;
}

static int
mcp_spawn(struct mcp_srv *s, const char *cwd, const struct buf *logdir)
{
	int a[2], b[2], logfd = -1;
	char log[PATH_MAX];
	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
		return AG_E_IO;
	if (logdir->len && base_snprintf(log, sizeof log, "%s/%s.log", logdir->p, s->name) < (int)sizeof log)
		logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	s->pid = base_fork_kept();
	if (s->pid < 0) {
		s->pid = 0;
		return AG_E_IO;
	}
	if (s->pid == 0) {
		const char *p;
		int nul = open("/dev/null", O_RDONLY);
		dup2(a[0], 0);
		dup2(b[1], 1);
		dup2(logfd >= 0 ? logfd : nul, 2);
		tool_env_scrub();                 /* keys reach a server only when its "env" names them */
		for (p = s->env.p; p && p < s->env.p + s->env.len; p += strlen(p) + 1)
			base_putenv(p);
		if (chdir(cwd)) {
		}
		signal(SIGPIPE, SIG_DFL);
		execvp(s->argv[0], s->argv);
		base_dprintf(2, "agent: cannot run %s: %s\n", s->argv[0], base_strerror(errno));
		_exit(127);
	}
	close(a[0]);
	close(b[1]);
	if (logfd >= 0)
		close(logfd);
	s->to = a[1];
	s->from = b[0];
	fcntl(s->from, F_SETFL, O_NONBLOCK);
	fcntl(s->to, F_SETFL, O_NONBLOCK);          /* a server that stops reading cannot hang us past the deadline */
	return 0;
}

struct mcp_body {
	const char *method;
	const char *params;       /* JSON text, or NULL */
	long long id;             /* 0: a notification */
	int result;               /* write "result" (an answer to the server's request) instead of "method" */
};

static void
mcp_body_json(struct jw *w, void *ctx)
{
	const struct mcp_body *b = ctx;
	jw_open(w, '{');
	jw_key(w, "jsonrpc"); jw_str(w, "2.0");
	if (b->id || b->result) {
		jw_key(w, "id");
		jw_int(w, b->id);
	}
	if (b->result) {
		jw_key(w, b->method);             /* "result" or "error" */
		jw_json(w, b->params, strlen(b->params));
	} else {
		jw_key(w, "method"); jw_str(w, b->method);
		if (b->params) {
			jw_key(w, "params");
			jw_json(w, b->params, strlen(b->params));
		}
	}
	jw_close(w, '}');
}

static int
mcp_write_all(int fd, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			if (clk_ms() > deadline)
				return AG_E_TIMEOUT;
			if (ag_interrupted)
				return AG_E_INTR;
			poll(&pf, 1, 100);
			continue;
		}
		if (w <= 0)
			return AG_E_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One message to a stdio server. */
static int
mcp_send_stdio(struct mcp_srv *s, const struct mcp_body *b, long long deadline)
{
	struct buf line = {0};
	struct jw w;
	int r;
	jw_init(&w, jw_sink_buf, &line);
	mcp_body_json(&w, (void *)b);
	buf_add(&line, "\n", 1);
	r = w.err ? w.err : mcp_write_all(s->to, line.p, line.len, deadline);
	buf_free(&line);
	return r;
}

/* One field of an elicitation's schema asked of the user: the default taken on an empty line, the answer
 * checked against the field's type (and enum) and asked again when it does not fit. 0 answered (or left out),
 * -1 the user gave up (Ctrl-C, Ctrl-D). */
static int
mcp_elicit_field(struct mcp *m, const struct json *j, int k, struct jw *w)
{
	int v = k + 1, def = json_get(j, v, "default"), en = json_get(j, v, "enum"), tries, i, e;
	char name[64] = "", type[16] = "string", prompt[400];
	struct buf d = {0}, line = {0};
	json_str(j, k, name, sizeof name);
	json_str(j, json_get(j, v, "type"), type, sizeof type);
	json_str_buf(j, json_get(j, v, "description"), &d);
	if (def >= 0 && j->t[def].type == JSMN_STRING)
		json_str_buf(j, def, &line);
	else if (def >= 0)
		buf_add(&line, j->s + j->t[def].start, (size_t)(j->t[def].end - j->t[def].start));
	base_snprintf(prompt, sizeof prompt, "  %s (%s%s%.200s) [%.80s]: ", name, type, d.len ? ": " : "",
	              d.len ? d.p : "", line.p ? line.p : "");
	for (str_clean(prompt), i = 0; prompt[i]; i++)     /* the server's words, one line, no escapes */
		prompt[i] = prompt[i] == '\n' ? ' ' : prompt[i];
	buf_free(&d);
	for (tries = 0; tries < 3; tries++) {
		unsigned long long n;
		line.len = 0;
		if (m->ask(m->ask_ctx, prompt, &line) < 0) {
			buf_free(&line);
			return -1;
		}
		if (!line.len) {                  /* the default, or nothing */
			if (def >= 0) {
				jw_key(w, name);
				json_copy(w, j, def);
			}
			break;
		}
		e = !strcmp(type, "boolean") ? (strchr("yYtT1", line.p[0]) ? 1 : strchr("nNfF0", line.p[0]) ? 0 : -1) : 2;
		if (e == 0 || e == 1) {
			jw_key(w, name);
			jw_json(w, e ? "true" : "false", e ? 4 : 5);
			break;
		}
		if ((!strcmp(type, "integer") || !strcmp(type, "number")) && e == 2) {
			const char *p = line.p + (line.p[0] == '-');
			if (!str_to_u64(p, strcspn(p, "."), ~0ULL >> 1, &n) &&
			    (!strcmp(type, "number") || !strchr(p, '.')) && strspn(p, "0123456789.") == strlen(p)) {
				jw_key(w, name);
				jw_json(w, line.p, line.len);
				break;
			}
		} else if (e == 2) {
			for (i = 0; en >= 0 && i < j->t[en].size && !json_eq(j, en + 1 + i, line.p); i++)
				;
			if (en < 0 || i < j->t[en].size) {
				jw_key(w, name);
				jw_strn(w, line.p, line.len);
				break;
			}
		}
		base_dprintf(2, "  that is not a %s%s; try again\n", type, en >= 0 ? " of the list" : "");
	}
	buf_free(&line);
	return 0;
}

PROSE(mcp_elicit_msg1,
	"  send this answer? (y: accept, n: decline, c: cancel) [y]: ")

PROSE(mcp_elicit_msg,
	"agent: MCP server '%s' asked a question, declined: there is no terminal to ask it at "
	"(%.200s)\n")

/* elicitation/create: the server's message and each field of its schema asked of the user; without a
 * terminal (m->ask NULL) declined, and said on stderr. */
static void
mcp_elicit(struct mcp_srv *s, const struct json *j, struct buf *res)
{
	int p = json_get(j, 0, "params"), props = json_path(j, p, "requestedSchema.properties"), i, k, gone = 0;
	struct buf msg = {0}, line = {0};
	struct jw w;
	json_str_buf(j, json_get(j, p, "message"), &msg);
	str_clean(msg.p);
	if (!s->m || !s->m->ask) {
		base_dprintf(2, prose(mcp_elicit_msg), s->name, msg.p ? msg.p : "");
		buf_adds(res, "{\"action\":\"decline\"}");
		buf_free(&msg);
		return;
	}
	base_dprintf(2, "\nMCP server '%s' asks: %s\n", s->name, msg.p ? msg.p : "");
	buf_free(&msg);
	jw_init(&w, jw_sink_buf, res);
	jw_open(&w, '{');
	jw_key(&w, "action");
	jw_str(&w, "accept");
	jw_key(&w, "content");
	jw_open(&w, '{');
	for (i = 0, k = props + 1; props >= 0 && j->t[props].type == JSMN_OBJECT && i < j->t[props].size && !gone;
	     i++, k = json_skip(j, k + 1))
		gone = mcp_elicit_field(s->m, j, k, &w) < 0;
	jw_close(&w, '}');
	jw_close(&w, '}');
	if (!gone && s->m->ask(s->m->ask_ctx, prose(mcp_elicit_msg1), &line) < 0)
		gone = 1;
	if (gone || (line.len && strchr("nNcC", line.p[0]))) {
		res->len = 0;
		buf_adds(res, gone || strchr("cC", line.p[0]) ? "{\"action\":\"cancel\"}" : "{\"action\":\"decline\"}");
	}
	buf_free(&line);
}

/* The server's request that we answer: ping; roots/list (the folders of the trust boundary); elicitation/create
 * (asked of the user); anything else refused as unknown. The answer goes back the way requests go. */
static void mcp_elicit(struct mcp_srv *s, const struct json *j, struct buf *res);
static void mcp_post_side(struct mcp_srv *s, const char *json, long long deadline);

static void
mcp_answer(struct mcp_srv *s, const struct json *j, long long deadline)
{
	int id = json_get(j, 0, "id");
	struct buf msg = {0}, res = {0};
	buf_adds(&msg, "{\"jsonrpc\":\"2.0\",\"id\":");
	buf_add(&msg, j->s + j->t[id].start - (j->t[id].type == JSMN_STRING),
	        (size_t)(j->t[id].end - j->t[id].start) + 2 * (j->t[id].type == JSMN_STRING));
	if (json_eq(j, json_get(j, 0, "method"), "ping")) {
		buf_adds(&res, "{}");
	} else if (json_eq(j, json_get(j, 0, "method"), "roots/list")) {
		const char *r = s->m && s->m->roots ? s->m->roots : "";
		struct jw w;
		jw_init(&w, jw_sink_buf, &res);
		jw_open(&w, '{');
		jw_key(&w, "roots");
		jw_open(&w, '[');
		while (*r) {                          /* a folder a line, as a file: URI (RFC 8089) */
			size_t n = strcspn(r, "\n"), i;
			struct buf u = {0};
			buf_adds(&u, "file://");
			for (i = 0; i < n; i++)
				buf_printf(&u, isalnum((unsigned char)r[i]) || strchr("/-._~", r[i]) ? "%c" : "%%%02x",
				           (unsigned char)r[i]);
			jw_open(&w, '{');
			jw_key(&w, "uri"); jw_strn(&w, u.p, u.len);
			jw_key(&w, "name"); jw_strn(&w, r, n);
			jw_close(&w, '}');
			buf_free(&u);
			r += n + (r[n] == '\n');
		}
		jw_close(&w, ']');
		jw_close(&w, '}');
	} else if (json_eq(j, json_get(j, 0, "method"), "elicitation/create")) {
		mcp_elicit(s, j, &res);
	}
	buf_printf(&msg, res.len ? ",\"result\":%s}" : ",\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}",
	           res.p);
	if (!s->http) {
		buf_add(&msg, "\n", 1);
		mcp_write_all(s->to, msg.p, msg.len, deadline);
	} else {
		mcp_post_side(s, msg.p, deadline);
	}
	buf_free(&msg);
	buf_free(&res);
}

/* What a server sends unasked: its requests (answered), progress (shown) and list changes (its tools are
 * fetched again before the next request to the model). */
static void mcp_progress(struct mcp_srv *s, const struct json *j);

static void
mcp_incoming(struct mcp_srv *s, const struct json *j, long long deadline)
{
	int m = json_get(j, 0, "method");
	if (json_get(j, 0, "id") >= 0)
		mcp_answer(s, j, deadline);
	else if (json_eq(j, m, "notifications/progress"))
		mcp_progress(s, j);
	else if (json_eq(j, m, "notifications/tools/list_changed"))
		s->stale = 1;
}

/* notifications/progress from a server at work on a request: one line on stderr. */
static void
mcp_progress(struct mcp_srv *s, const struct json *j)
{
	int p = json_get(j, 0, "params");
	long long done = 0, total = 0;
	char msg[200] = "";
	json_int(j, json_get(j, p, "progress"), &done);
	json_int(j, json_get(j, p, "total"), &total);
	json_str(j, json_get(j, p, "message"), msg, sizeof msg);
	if (total > 0)
		base_dprintf(2, "  [%s] progress %lld of %lld%s%s\n", s->name, done, total, msg[0] ? ": " : "", msg);
	else
		base_dprintf(2, "  [%s] progress %lld%s%s\n", s->name, done, msg[0] ? ": " : "", msg);
}

PROSE(mcp_wait_stdio_msg3,
	"it wrote what is not JSON-RPC: '%s'")
PROSE(mcp_wait_stdio_msg4,
	"it sent over 64 MB without a line end")

PROSE(mcp_wait_stdio_msg1,
	"it exited (%s %d) before answering; see its log")
PROSE(mcp_wait_stdio_msg2,
	"it closed its output before answering; see its log")

/* Read stdio lines until the answer to id arrives; it is left in *out (the whole message). */
static int
mcp_wait_stdio(struct mcp_srv *s, long long id, long long deadline, struct buf *out)
{
	for (;;) {
		char *nl;
		while ((nl = memchr(s->in.p ? s->in.p : "", '\n', s->in.len)) != NULL) {
			size_t n = (size_t)(nl - s->in.p);
			struct json j;
			jsmntok_t *tok = NULL;
			long long got;
			int done = 0;
			if (n && json_parse_alloc(&j, s->in.p, n, &tok) > 0 && tok[0].type == JSMN_OBJECT) {
				if (json_get(&j, 0, "method") >= 0) {
					mcp_incoming(s, &j, deadline);
				} else if (!json_int(&j, json_get(&j, 0, "id"), &got) && got == id) {
					out->len = 0;
					buf_add(out, s->in.p, n);
					done = 1;
				}
			} else if (n && strspn(s->in.p, " \t\r") < n) {
				char ex[80];
				str_excerpt(ex, sizeof ex, s->in.p, n);
				free(tok);
				mcp_fail(s, prose(mcp_wait_stdio_msg3), ex);
				return AG_E_API;
			}
			free(tok);
			s->in.len -= n + 1;
			memmove(s->in.p, nl + 1, s->in.len);
			if (done)
				return 0;
		}
		{
			/* what is already waiting counts even past the deadline: servers started side by side are
			 * waited for one after another, so a later one may have answered long ago */
			struct pollfd pf = { s->from, POLLIN, 0 };
			long long left = deadline - clk_ms();
			char tmp[8192];
			ssize_t r;
			int ready = poll(&pf, 1, left <= 0 ? 0 : left > 200 ? 200 : (int)left);
			if (ready < 0 && errno != EINTR)
				return AG_E_IO;
			if (ag_interrupted)
				return AG_E_INTR;
			if (ready <= 0) {
				if (left > 0)
					continue;
				return AG_E_TIMEOUT;          /* the caller cancels the request, or gives the server up */
			}
			r = read(s->from, tmp, sizeof tmp);
			if (r == 0) {
				int st = 0;
				if (s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == s->pid) {
					s->pid = 0;
					mcp_fail(s, prose(mcp_wait_stdio_msg1), WIFSIGNALED(st) ?
					         "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
				} else {
					mcp_fail(s, prose(mcp_wait_stdio_msg2));
				}
				return AG_E_CLOSED;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				mcp_fail(s, "reading from it failed: %s", base_strerror(errno));
				return AG_E_IO;
			}
			if (r > 0 && buf_add(&s->in, tmp, (size_t)r))
				return AG_E_NOMEM;
			if (s->in.len > (64u << 20)) {
				mcp_fail(s, prose(mcp_wait_stdio_msg4));
				return AG_E_TOOBIG;
			}
		}
	}
}

struct mcp_sse {
	struct mcp_srv *s;
	long long id;             /* the answer awaited (0: none) */
	struct buf *out;
	int found;
};

static int
mcp_sse_event(void *ctx, const char *event, char *data, size_t n)
{
	struct mcp_sse *m = ctx;
	struct json j;
	jsmntok_t *tok = NULL;
	long long got;
	if (json_parse_alloc(&j, data, n, &tok) > 0 && tok[0].type == JSMN_OBJECT) {
		if (json_get(&j, 0, "method") >= 0) {
			mcp_incoming(m->s, &j, clk_ms() + 10000);
		} else if (m->id && !m->found && !json_int(&j, json_get(&j, 0, "id"), &got) && got == m->id) {
			m->out->len = 0;
			buf_add(m->out, data, n);
			m->found = 1;
		}
	}
	free(tok);
	return 0;
}

/* One of a streamable HTTP server's connections: s->h carries our requests, s->get its own event stream,
 * s->side our answers to its questions while s->h is still reading a stream. */
static struct http *
mcp_conn(struct mcp_srv *s, struct http **hp, struct ag_err *e)
{
	if (!*hp) {
		struct http *h = calloc(1, sizeof *h);
		if (!h)
			return NULL;
		h->net.fd = -1;
		h->url = s->url;
		h->trust = s->trust;
		if (net_proxy_for(&s->url, &h->proxy, e)) {
			free(h);
			mcp_fail(s, "%s", e->msg);
			return NULL;
		}
		*hp = h;
	}
	(*hp)->e = e;
	return *hp;
}

static void
mcp_raw_json(struct jw *w, void *ctx)
{
	jw_json(w, ctx, strlen(ctx));
}

/* A request on h: POST with a body (body: its writer), or GET for an event stream (resume: from the last
 * event id seen). The session id the server gives is kept. */
static int
mcp_send_http(struct mcp_srv *s, struct http *h, void (*body)(struct jw *, void *), void *ctx, int resume,
              long long deadline)
{
	struct buf hd = {0};
	const char *v;
	size_t vl;
	int rc;
	h->net.timeout_ms = (int)(deadline - clk_ms() > 1 ? deadline - clk_ms() : 1);
	h->deadline_ms = deadline;
	buf_adds(&hd, body ? "content-type: application/json\r\naccept: application/json, text/event-stream\r\n"
	                   : "accept: text/event-stream\r\n");
	buf_adds(&hd, "user-agent: agent/" AG_VERSION "\r\nmcp-protocol-version: " MCP_PROTOCOL "\r\n");
	if (s->session[0])
		buf_printf(&hd, "mcp-session-id: %s\r\n", s->session);
	if (resume && s->last_id[0])
		buf_printf(&hd, "last-event-id: %s\r\n", s->last_id);
	if (s->token[0])
		buf_printf(&hd, "authorization: Bearer %s\r\n", s->token);
	if (s->headers.len)
		buf_add(&hd, s->headers.p, s->headers.len);
	rc = http_request(h, body ? "POST" : "GET", s->path, hd.p, body, ctx);
	buf_wipe(&hd);
	if (!rc && (v = http_header(h, "mcp-session-id", &vl)) != NULL && vl < sizeof s->session)
		str_copy(s->session, sizeof s->session, v, vl);
	return rc;
}

static int
mcp_is_stream(struct http *h)
{
	size_t vl;
	const char *v = http_header(h, "content-type", &vl);
	return h->status == 200 && v && vl >= 17 && strncasecmp(v, "text/event-stream", 17) == 0;
}

/* The server's own event stream (GET) is read by a child process of ours that passes each event on as one
 * line ("i ID", "r MS" when they change, then "d DATA"): the agent polls the pipe beside its other work and
 * never blocks inside a half-read chunk of a stream it is not waiting on. */
struct mcp_pipe {
	int fd;
	struct sse *sse;
	char id[128];
	long retry;
};

static int
mcp_get_line(void *ctx, const char *event, char *data, size_t n)
{
	struct mcp_pipe *p = ctx;
	struct buf b = {0};
	size_t i;
	if (strcmp(p->id, p->sse->id)) {
		str_copy(p->id, sizeof p->id, p->sse->id, strlen(p->sse->id));
		buf_printf(&b, "i %s\n", p->id);
	}
	if (p->retry != p->sse->retry)
		buf_printf(&b, "r %ld\n", p->retry = p->sse->retry);
	for (i = 0; i < n; i++)                   /* JSON has no newline but between tokens */
		if (data[i] == '\n' || data[i] == '\r')
			data[i] = ' ';
	buf_adds(&b, "d ");
	buf_add(&b, data, n);
	buf_add(&b, "\n", 1);
	i = fd_write_all(p->fd, b.p, b.len) < 0;
	buf_free(&b);
	return i ? AG_E_IO : 0;
}

/* Opened after initialize, and again when it ends (resume: from the last event id). A server without one
 * (405, 404) is not asked again. */
static void
mcp_get_open(struct mcp_srv *s, int resume, long long deadline)
{
	struct ag_err e = {0};
	struct http *h = mcp_conn(s, &s->get, &e);
	int fds[2];
	pid_t agent = getpid();
	if (!h || s->state == MCP_FAILED)
		return;
	http_close(h);
	if (mcp_send_http(s, h, NULL, NULL, resume, deadline) || !mcp_is_stream(h)) {
		if (!e.code && !resume)
			s->get_state = -1;            /* it answered, with no stream: it has none */
		http_close(h);
		return;
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || (s->gpid = fork()) < 0) {
		http_close(h);
		return;
	}
	if (s->gpid == 0) {
		static struct sse sse;
		struct mcp_pipe p = { fds[1], &sse, "", -1 };
		char tmp[4096];
		long r;
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != agent)
			_exit(0);
		signal(SIGINT, SIG_IGN);
		close(fds[0]);
		sse_init(&sse);
		h->deadline_ms = 0;
		h->net.timeout_ms = 0;
		while ((r = http_body_read(h, tmp, sizeof tmp)) > 0 && !sse_feed(&sse, tmp, (size_t)r, mcp_get_line, &p))
			;
		_exit(0);
	}
	close(fds[1]);
	close(h->net.fd);                         /* the child reads it now */
	h->net.fd = -1;
	http_close(h);
	s->gfd = fds[0];
	s->gin.len = 0;
	s->get_at = clk_ms();
	s->get_state = 1;
}

static void
mcp_get_close(struct mcp_srv *s)
{
	if (s->get_state != 1)
		return;
	close(s->gfd);
	kill(s->gpid, SIGKILL);
	waitpid(s->gpid, NULL, 0);
	s->get_state = 0;
}

/* Wait for bytes on a (s->h, when reading its stream), or on the GET stream: 1 a, 2 the GET stream, or
 * AG_E_TIMEOUT / AG_E_INTR. */
static int
mcp_pick(struct mcp_srv *s, struct http *a, long long deadline)
{
	int g = s->get_state == 1;
	for (;;) {
		struct pollfd pf[2] = { { a ? a->net.fd : -1, POLLIN, 0 }, { g ? s->gfd : -1, POLLIN, 0 } };
		long long left = deadline - clk_ms();
		if (a && http_buffered(a))
			return 1;
		if (g && memchr(s->gin.p ? s->gin.p : "", '\n', s->gin.len))
			return 2;
		if (ag_interrupted)
			return AG_E_INTR;
		if (poll(pf, 2, left <= 0 ? 0 : left > 200 ? 200 : (int)left) > 0)
			return pf[0].revents ? 1 : 2;
		if (left <= 0)
			return AG_E_TIMEOUT;
	}
}

/* What the GET stream's reader passed on: its events handled (m: an answer awaited there too). At its end
 * the stream is opened again, resumed, unless it lasted less than a second. */
static void
mcp_get_read(struct mcp_srv *s, struct mcp_sse *m)
{
	char tmp[4096], *nl;
	ssize_t r = 0;
	if (!memchr(s->gin.p ? s->gin.p : "", '\n', s->gin.len)) {
		if ((r = read(s->gfd, tmp, sizeof tmp)) > 0 && buf_add(&s->gin, tmp, (size_t)r))
			return;
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
			mcp_get_close(s);
			if (clk_ms() - s->get_at > 1000)
				mcp_get_open(s, 1, clk_ms() + 5000);
			return;
		}
	}
	while ((nl = memchr(s->gin.p ? s->gin.p : "", '\n', s->gin.len)) != NULL) {
		size_t n = (size_t)(nl - s->gin.p);
		*nl = 0;
		if (s->gin.p[0] == 'i' && n > 2)
			str_copy(s->last_id, sizeof s->last_id, s->gin.p + 2, n - 2);
		else if (s->gin.p[0] == 'r')
			s->retry = atol(s->gin.p + 2);
		else if (s->gin.p[0] == 'd')
			mcp_sse_event(m, NULL, s->gin.p + 2, n - 2);
		s->gin.len -= n + 1;
		memmove(s->gin.p, nl + 1, s->gin.len);
	}
}

/* The hook of s->h between sending a request and reading its head: the GET stream is served meanwhile (a
 * server may ask the user something before it answers). */
static int
mcp_wait_head(struct http *h, void *ctx)
{
	struct mcp_srv *s = ctx;
	int w;
	while ((w = mcp_pick(s, h, h->deadline_ms)) == 2) {
		struct mcp_sse m = { s, 0, NULL, 0 };
		mcp_get_read(s, &m);
	}
	return w == 1 ? 0 : err_set(h->e, w, w == AG_E_INTR ? "interrupted" : "no answer in time");
}

/* An answer of ours, POSTed on a connection of its own (202 expected; its body is read and dropped). */
static void
mcp_post_side(struct mcp_srv *s, const char *json, long long deadline)
{
	struct ag_err e = {0};
	struct http *h = mcp_conn(s, &s->side, &e);
	char tmp[1024];
	if (h && !mcp_send_http(s, h, mcp_raw_json, (void *)json, 0, deadline))
		while (http_body_read(h, tmp, sizeof tmp) > 0)
			;
}

/* The answer to m->id from event streams: s->h's (post) and the GET stream. 0: found; 1: s->h's stream
 * ended without it (it can be resumed); or an error. */
static int
mcp_stream_wait(struct mcp_srv *s, struct sse *sse, struct mcp_sse *m, long long deadline)
{
	char tmp[4096];
	while (!m->found) {
		int w = mcp_pick(s, sse ? s->h : NULL, deadline), big;
		long r;
		if (w < 0)
			return w;
		if (w == 2) {
			mcp_get_read(s, m);
			continue;
		}
		if ((r = http_body_read(s->h, tmp, sizeof tmp)) > 0) {
			if ((big = sse_feed(sse, tmp, (size_t)r, mcp_sse_event, m)) != 0)
				return big;
			continue;
		}
		if (r == 0)
			sse_finish(sse, mcp_sse_event, m);
		if (sse->id[0])
			str_copy(s->last_id, sizeof s->last_id, sse->id, strlen(sse->id));
		s->retry = sse->retry;
		http_close(s->h);
		return m->found ? 0 : r < 0 ? (int)r : 1;
	}
	return 0;
}

static long long mcp_env_ms(const char *name, long long def);

/* OAuth 2.1 for streamable HTTP servers (MCP's authorization spec): on a 401, or a 403 insufficient_scope,
 * the server's protected-resource metadata (RFC 9728) names its authorization server, whose metadata
 * (RFC 8414, or OpenID discovery) names the endpoints; the client is the one configured ("oauth" in the
 * server's entry: clientId, clientSecret), a client ID metadata document (clientMetadataUrl), or registers
 * itself (RFC 7591); the token comes by authorization code with PKCE (the browser step: a loopback listener
 * at http://localhost:PORT/callback, the URL printed, $BROWSER run with it, and on a terminal the address the
 * browser ended at may be pasted instead), by client_credentials (client secret, or private_key_jwt signed
 * ES256), or by an identity provider's ID-JAG (jwt-bearer). Every request carries the resource (RFC 8707).
 * The tokens and the registration stay in the state directory (mcp-auth/NAME.json, 0600) and are refreshed. */
struct mcp_auth {
	char resource[512], issuer[512], authz[512], token[512], reg[512];
	char scope[512], client[512], secret[256], method[24];
	struct buf meta;          /* the authorization server's metadata */
};

/* A parameter of a WWW-Authenticate challenge (name="value" or name=token), or "". */
static void
mcp_www_param(const char *www, const char *name, char *out, size_t cap)
{
	const char *p = www;
	size_t n = strlen(name);
	out[0] = 0;
	while ((p = str_find(p, name)) != NULL) {
		int start = p == www || strchr(" ,\t", p[-1]);
		p += n;
		if (start && *p == '=') {
			p++;
			if (*p == '"')
				p++, n = strcspn(p, "\"");
			else
				n = strcspn(p, " ,");
			str_copy(out, cap, p, n);
			return;
		}
	}
}

/* Is word one of the space-separated words of list? */
static int
mcp_www_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;
	for (p = list; (p = str_find(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return 1;
	return 0;
}

/* "&key=value" (form-encoded; nothing when value is empty). */
static void
mcp_form(struct buf *b, const char *key, const char *val)
{
	if (!val || !*val)
		return;
	buf_printf(b, "%s%s=", b->len ? "&" : "", key);
	for (; *val; val++)
		buf_printf(b, isalnum((unsigned char)*val) || strchr("-._~", *val) ? "%c" : "%%%02x", (unsigned char)*val);
}

PROSE(mcp_oauth_fetch_msg,
	"%.200s did not answer with a JSON object")

/* One exchange with a URL of the authorization (form: a form body to POST, json: a JSON one); the answer's
 * body parsed into *j (tok to free). 0, or the HTTP error with e set. */
static int
mcp_oauth_fetch(struct mcp_srv *s, const char *url, const char *form, const char *json, const char *auth,
                struct buf *out, struct json *j, jsmntok_t **tok, struct ag_err *e)
{
	char origin[600];
	const char *p = str_find(url, "://"), *path = p ? p + 3 + strcspn(p + 3, "/?") : url;
	struct buf hd = {0};
	int rc;
	str_copy(origin, sizeof origin, url, (size_t)(path - url));
	buf_printf(&hd, "accept: application/json\r\nuser-agent: agent/" AG_VERSION "\r\n%s%s%s",
	           form ? "content-type: application/x-www-form-urlencoded\r\n" : "",
	           json ? "content-type: application/json\r\n" : "", auth ? auth : "");
	out->len = 0;
	free(*tok);
	*tok = NULL;
	rc = api_fetch(origin, form || json ? "POST" : "GET", *path ? path : "/", hd.p, form ? form : json, out,
	               15000, s->trust, e);
	buf_wipe(&hd);
	if (!rc && (json_parse_alloc(j, out->p ? out->p : "", out->len, tok) <= 0 || (*tok)[0].type != JSMN_OBJECT))
		rc = err_set(e, AG_E_API, prose(mcp_oauth_fetch_msg), url);
	return rc;
}

/* Does the resource a protected-resource document names cover this server (its URL, or a path above it)? */
static int
mcp_oauth_ours(const char *resource, const char *url)
{
	size_t n = strlen(resource);
	while (n && resource[n - 1] == '/')
		n--;
	return n && !strncmp(resource, url, n) && strchr("/?", url[n]);
}

PROSE(mcp_oauth_discover_msg3,
	"%s/.well-known/oauth-protected-resource")
PROSE(mcp_oauth_discover_msg4,
	"%s/.well-known/openid-configuration%s")
PROSE(mcp_oauth_discover_msg5,
	"%s%s/.well-known/openid-configuration")

PROSE(mcp_oauth_discover_msg1,
	"%s/.well-known/oauth-protected-resource%s")
PROSE(mcp_oauth_discover_msg2,
	"%s/.well-known/oauth-authorization-server%s")

PROSE(mcp_oauth_discover_msg,
	"its protected-resource metadata (%.200s) is for %.200s, not for %.200s: "
	"no credentials are sent to its authorization server")

/* Where the authorization is: the protected-resource metadata (from the challenge's resource_metadata, else
 * the path-based well-known URL, then the root one), then the authorization server's metadata (RFC 8414's
 * path-inserted URL, OpenID's two forms; an issuer without a path also at the root). A server without either
 * (MCP 2025-03-26) is its own authorization server, at /authorize, /token and /register. */
static int
mcp_oauth_discover(struct mcp_srv *s, const char *www, struct mcp_auth *A, struct ag_err *e)
{
	struct buf b = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	char url[1100], origin[600], *p;
	const char *path;
	int k, rc = -1, i;
	mcp_www_param(www, "resource_metadata", url, sizeof url);
	for (k = url[0] ? 0 : 1; k < 3 && rc; k++) {
		if (k == 1)
			base_snprintf(url, sizeof url, prose(mcp_oauth_discover_msg1), s->origin, s->path);
		if (k == 2 && strcmp(s->path, "/"))
			base_snprintf(url, sizeof url, prose(mcp_oauth_discover_msg3), s->origin);
		else if (k == 2)
			break;
		if (!(rc = mcp_oauth_fetch(s, url, NULL, NULL, NULL, &b, &j, &tok, e)))
			break;
		e->code = 0, e->msg[0] = 0;
		if (url[0] && k == 0)
			break;                            /* the server said where: nowhere else */
	}
	str_copy(A->issuer, sizeof A->issuer, s->origin, strlen(s->origin));
	if (!rc) {
		json_str(&j, json_get(&j, 0, "resource"), A->resource, sizeof A->resource);
		if (!mcp_oauth_ours(A->resource, s->url_full)) {
			rc = err_set(e, AG_E_API, prose(mcp_oauth_discover_msg), url, A->resource, s->url_full);
			goto out;
		}
		if ((k = json_get(&j, 0, "authorization_servers")) >= 0 && j.t[k].type == JSMN_ARRAY && j.t[k].size)
			json_str(&j, k + 1, A->issuer, sizeof A->issuer);
		if (!A->scope[0] && (k = json_get(&j, 0, "scopes_supported")) >= 0 && j.t[k].type == JSMN_ARRAY)
			for (i = 0; i < j.t[k].size; i++) {
				char sc[128];
				json_str(&j, k + 1 + i, sc, sizeof sc);
				base_snprintf(A->scope + strlen(A->scope), sizeof A->scope - strlen(A->scope), "%s%s",
				              A->scope[0] ? " " : "", sc);
			}
	} else {
		str_copy(A->resource, sizeof A->resource, s->url_full, strlen(s->url_full));
	}
	p = str_find(A->issuer, "://");
	path = p ? p + 3 + strcspn(p + 3, "/") : "";
	str_copy(origin, sizeof origin, A->issuer, (size_t)(path - A->issuer));
	while (*path && path[strlen(path) - 1] == '/')
		A->issuer[strlen(A->issuer) - 1] = 0;
	for (k = 0, rc = -1; k < 3 && rc; k++) {
		if (k == 0)
			base_snprintf(url, sizeof url, prose(mcp_oauth_discover_msg2), origin, path);
		else if (k == 1)
			base_snprintf(url, sizeof url, prose(mcp_oauth_discover_msg4), origin, path);
		else if (*path)
			base_snprintf(url, sizeof url, prose(mcp_oauth_discover_msg5), A->issuer, "");
		else
			break;
		if ((rc = mcp_oauth_fetch(s, url, NULL, NULL, NULL, &A->meta, &j, &tok, e)) != 0)
			e->code = 0, e->msg[0] = 0;
	}
	base_snprintf(A->authz, sizeof A->authz, "%s/authorize", A->issuer);
	base_snprintf(A->token, sizeof A->token, "%s/token", A->issuer);
	base_snprintf(A->reg, sizeof A->reg, "%s/register", A->issuer);
	if (!rc) {
		json_str(&j, json_get(&j, 0, "authorization_endpoint"), A->authz, sizeof A->authz);
		json_str(&j, json_get(&j, 0, "token_endpoint"), A->token, sizeof A->token);
		A->reg[0] = 0;
		json_str(&j, json_get(&j, 0, "registration_endpoint"), A->reg, sizeof A->reg);
		json_str(&j, json_get(&j, 0, "issuer"), A->issuer, sizeof A->issuer);
	} else {
		A->meta.len = 0;
	}
	rc = 0;
out:
	free(tok);
	buf_free(&b);
	return rc;
}

/* Does the authorization server's metadata list word in its array key, or (word NULL) is key true? No
 * metadata: dflt. */
static int
mcp_oauth_lists(const struct mcp_auth *A, const char *key, const char *word, int dflt)
{
	struct json j;
	jsmntok_t *tok = NULL;
	int k, i, r = dflt;
	if (A->meta.len && json_parse_alloc(&j, A->meta.p, A->meta.len, &tok) > 0 && (k = json_get(&j, 0, key)) >= 0) {
		r = !word && j.t[k].type == JSMN_PRIMITIVE && A->meta.p[j.t[k].start] == 't';   /* word NULL: true? */
		for (i = 0; word && j.t[k].type == JSMN_ARRAY && i < j.t[k].size && !r; i++)
			r = json_eq(&j, k + 1 + i, word);
	}
	free(tok);
	return r;
}

PROSE(mcp_oauth_jwt_msg1,
	"{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"}")
PROSE(mcp_oauth_jwt_msg2,
	"oauth.privateKeyFile %.200s: not an EC P-256 private key in PEM")

/* private_key_jwt (RFC 7523): a client assertion for aud, signed ES256 with the key in the PEM file. */
static int
mcp_oauth_jwt(const char *keyfile, const char *client, const char *aud, struct buf *out, struct ag_err *e)
{
	struct buf pem = {0}, js = {0};
	char jti[33];
	long long now = clk_now();
	int rc;
	str_random_hex(jti, 16);
	buf_printf(&js, prose(mcp_oauth_jwt_msg1), client,
	           client, aud, now, now + 300, jti);
	rc = file_read_all(keyfile, &pem, 65536) ? -1 : api_jwt(pem.p, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", js.p, out);
	buf_wipe(&pem);
	buf_free(&js);
	return rc ? err_set(e, AG_E_USAGE, prose(mcp_oauth_jwt_msg2), keyfile) : 0;
}

/* The configured oauth field, or "". */
static const char *
mcp_oauth_cfg(struct mcp_srv *s, const char *key, char *out, size_t cap)
{
	struct json j;
	jsmntok_t *tok = NULL;
	int k;
	out[0] = 0;
	if (s->oauth.len && json_parse_alloc(&j, s->oauth.p, s->oauth.len, &tok) > 0 && (k = json_get(&j, 0, key)) >= 0) {
		if (json_str(&j, k, out, cap) && j.t[k].type == JSMN_PRIMITIVE)
			str_copy(out, cap, s->oauth.p + j.t[k].start, (size_t)(j.t[k].end - j.t[k].start));
	}
	free(tok);
	return out;
}

/* The token file: state/mcp-auth/NAME.json. */
static int
mcp_oauth_path(struct mcp_srv *s, char *out, size_t cap, int create)
{
	char st[PATH_MAX];
	if (cfg_state_dir(st, sizeof st, create) || base_snprintf(out, cap, "%s/mcp-auth", st) >= (int)cap ||
	    (create && file_mkdirs(out, 0700)))
		return -1;
	return base_snprintf(out, cap, "%s/mcp-auth/%s.json", st, s->name) >= (int)cap ? -1 : 0;
}

/* A JSON string of any length up to cap - 1 (json_str stops at 1 KB; tokens are longer): 0, or -1 with out
 * untouched. */
static int
mcp_json_text(const struct json *j, int i, char *out, size_t cap)
{
	struct buf b = {0};
	int r = json_str_buf(j, i, &b) || b.len >= cap ? -1 : 0;
	if (!r)
		memcpy(out, b.p ? b.p : "", b.len + 1);
	buf_wipe(&b);
	return r;
}

/* What the file keeps, besides the server's URL: the tokens, and the client agent registered as. */
struct mcp_oauth_field {
	const char *key;
	char *v;
	size_t cap;
};

static void
mcp_oauth_fields(struct mcp_srv *s, struct mcp_auth *A, struct mcp_oauth_field *f)
{
	struct mcp_oauth_field t[] = {
		{ "access_token", s->token, sizeof s->token }, { "refresh_token", s->refresh, sizeof s->refresh },
		{ "scope", s->granted, sizeof s->granted }, { "client_id", A->client, sizeof A->client },
		{ "client_secret", A->secret, sizeof A->secret }, { "auth_method", A->method, sizeof A->method },
		{ "token_endpoint", A->token, sizeof A->token }, { "resource", A->resource, sizeof A->resource },
	};
	memcpy(f, t, sizeof t);
}
#define MCP_OAUTH_FIELDS 8

static void
mcp_oauth_load(struct mcp_srv *s, struct mcp_auth *A)
{
	char path[PATH_MAX], url[600] = "";
	struct mcp_oauth_field f[MCP_OAUTH_FIELDS];
	struct buf b = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	int i;
	mcp_oauth_fields(s, A, f);
	if (!mcp_oauth_path(s, path, sizeof path, 0) && !file_read_all(path, &b, 65536) &&
	    json_parse_alloc(&j, b.p ? b.p : "", b.len, &tok) > 0 && j.t[0].type == JSMN_OBJECT &&
	    !json_str(&j, json_get(&j, 0, "url"), url, sizeof url) && !strcmp(url, s->url_full))
		for (i = 0; i < MCP_OAUTH_FIELDS; i++)
			mcp_json_text(&j, json_get(&j, 0, f[i].key), f[i].v, f[i].cap);
	free(tok);
	buf_wipe(&b);
}

PROSE(mcp_oauth_save_msg,
	"agent: cannot keep the tokens of MCP server '%s' in %s: %s\n")

static void
mcp_oauth_save(struct mcp_srv *s, struct mcp_auth *A)
{
	char path[PATH_MAX];
	struct mcp_oauth_field f[MCP_OAUTH_FIELDS];
	struct buf b = {0};
	struct jw w;
	int i;
	if (mcp_oauth_path(s, path, sizeof path, 1))
		return;
	mcp_oauth_fields(s, A, f);
	jw_init(&w, jw_sink_buf, &b);
	jw_open(&w, '{');
	jw_key(&w, "url"); jw_str(&w, s->url_full);
	for (i = 0; i < MCP_OAUTH_FIELDS; i++)
		jw_key(&w, f[i].key), jw_str(&w, f[i].v);
	jw_close(&w, '}');
	if (!w.err && file_write_atomic(path, b.p, b.len, 0600))
		base_dprintf(2, prose(mcp_oauth_save_msg), s->name, path,
		             base_strerror(errno));
	buf_wipe(&b);
}

PROSE(mcp_oauth_token_msg,
	"its token endpoint answered without an access_token (of at most 4 KB)")

/* A token request: form (the grant's parameters) plus the client's authentication as the server takes it
 * (client_secret_basic, client_secret_post, private_key_jwt, none); the answer's tokens kept. */
static int
mcp_oauth_token(struct mcp_srv *s, struct mcp_auth *A, struct buf *form, struct ag_err *e)
{
	char key[PATH_MAX], cred[800];
	struct buf basic = {0}, out = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	long long ttl = 0;
	int rc = 0;
	mcp_form(form, "resource", A->resource);
	mcp_oauth_cfg(s, "privateKeyFile", key, sizeof key);
	if (key[0]) {
		mcp_form(form, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
		buf_adds(form, "&client_assertion=");
		rc = mcp_oauth_jwt(key, A->client, A->issuer, form, e);
	} else if (A->secret[0] && strcmp(A->method, "client_secret_post")) {
		base_snprintf(cred, sizeof cred, "%s:%s", A->client, A->secret);
		buf_adds(&basic, "authorization: Basic ");
		b64_encode((unsigned char *)cred, strlen(cred), &basic);
		buf_adds(&basic, "\r\n");
		explicit_bzero(cred, sizeof cred);
	} else {
		mcp_form(form, "client_id", A->client);
		mcp_form(form, "client_secret", A->secret);
	}
	if (!rc && (rc = mcp_oauth_fetch(s, A->token, form->p, NULL, basic.p, &out, &j, &tok, e)) != 0 && out.len) {
		char why[300] = "";
		struct json je;
		jsmntok_t *tk = NULL;
		if (json_parse_alloc(&je, out.p, out.len, &tk) > 0 && tk[0].type == JSMN_OBJECT) {
			json_str(&je, json_get(&je, 0, "error_description"), why, sizeof why);
			if (!why[0])
				json_str(&je, json_get(&je, 0, "error"), why, sizeof why);
		}
		free(tk);
		if (why[0])
			e->code = 0, e->msg[0] = 0, rc = err_set(e, AG_E_API, "its token endpoint refused: %s", why);
	}
	if (!rc) {
		if (mcp_json_text(&j, json_get(&j, 0, "access_token"), s->token, sizeof s->token) || !s->token[0] ||
		    strpbrk(s->token, "\r\n"))
			rc = err_set(e, AG_E_API, prose(mcp_oauth_token_msg));
		mcp_json_text(&j, json_get(&j, 0, "refresh_token"), s->refresh, sizeof s->refresh);
		json_int(&j, json_get(&j, 0, "expires_in"), &ttl);
		if (json_get(&j, 0, "scope") >= 0)
			json_str(&j, json_get(&j, 0, "scope"), s->granted, sizeof s->granted);
	}
	free(tok);
	buf_wipe(&out);
	buf_wipe(&basic);
	buf_wipe(form);
	return rc;
}

PROSE(mcp_oauth_client_msg2,
	"token_endpoint_auth_methods_supported")
PROSE(mcp_oauth_client_msg3,
	"client_id_metadata_document_supported")
PROSE(mcp_oauth_client_msg4,
	"token_endpoint_auth_methods_supported")
PROSE(mcp_oauth_client_msg5,
	"token_endpoint_auth_methods_supported")
PROSE(mcp_oauth_client_msg6,
	"[\"authorization_code\",\"refresh_token\"]")

PROSE(mcp_oauth_client_msg1,
	"its registration endpoint gave no client_id")

PROSE(mcp_oauth_client_msg,
	"its authorization server takes no registration: set \"oauth\": "
	"{\"clientId\": ...} in the server's entry")

/* The client: configured (clientId), a client ID metadata document the server accepts (clientMetadataUrl),
 * the one registered before, or a registration now (RFC 7591) at the registration endpoint. */
static int
mcp_oauth_client(struct mcp_srv *s, struct mcp_auth *A, const char *redirect, struct ag_err *e)
{
	char cimd[512], cid[512], *m = A->method;
	struct buf body = {0}, out = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	struct jw w;
	int rc = 0;
	mcp_oauth_cfg(s, "clientMetadataUrl", cimd, sizeof cimd);
	if (mcp_oauth_cfg(s, "clientId", cid, sizeof cid)[0]) {
		str_copy(A->client, sizeof A->client, cid, strlen(cid));
		mcp_oauth_cfg(s, "clientSecret", A->secret, sizeof A->secret);
		if (!A->secret[0] && getenv("MCP_CLIENT_SECRET"))
			str_copy(A->secret, sizeof A->secret, getenv("MCP_CLIENT_SECRET"), strlen(getenv("MCP_CLIENT_SECRET")));
		m[0] = 0;
		if (A->secret[0] && !mcp_oauth_lists(A, prose(mcp_oauth_client_msg2), "client_secret_basic", 1))
			str_copy(m, sizeof A->method, "client_secret_post", 18);
	} else if (cimd[0] && mcp_oauth_lists(A, prose(mcp_oauth_client_msg3), NULL, 0)) {
		str_copy(A->client, sizeof A->client, cimd, strlen(cimd));
		A->secret[0] = m[0] = 0;
	} else if (!A->client[0]) {
		if (!A->reg[0])
			return err_set(e, AG_E_USAGE, prose(mcp_oauth_client_msg));
		str_copy(m, sizeof A->method, "none", 4);
		if (!mcp_oauth_lists(A, prose(mcp_oauth_client_msg4), "none", 1))
			str_copy(m, sizeof A->method, mcp_oauth_lists(A, prose(mcp_oauth_client_msg5),
			         "client_secret_basic", 0) ? "client_secret_basic" : "client_secret_post", 19);
		jw_init(&w, jw_sink_buf, &body);
		jw_open(&w, '{');
		jw_key(&w, "client_name"); jw_str(&w, "agent");
		jw_key(&w, "redirect_uris"); jw_open(&w, '['); jw_str(&w, redirect); jw_close(&w, ']');
		jw_key(&w, "grant_types");
		jw_json(&w, prose(mcp_oauth_client_msg6), 38);
		jw_key(&w, "response_types"); jw_json(&w, "[\"code\"]", 8);
		jw_key(&w, "token_endpoint_auth_method"); jw_str(&w, m);
		if (A->scope[0])
			jw_key(&w, "scope"), jw_str(&w, A->scope);
		jw_close(&w, '}');
		if (!(rc = mcp_oauth_fetch(s, A->reg, NULL, body.p, NULL, &out, &j, &tok, e))) {
			json_str(&j, json_get(&j, 0, "client_id"), A->client, sizeof A->client);
			json_str(&j, json_get(&j, 0, "client_secret"), A->secret, sizeof A->secret);
			json_str(&j, json_get(&j, 0, "token_endpoint_auth_method"), m, sizeof A->method);
			if (!A->client[0])
				rc = err_set(e, AG_E_API, prose(mcp_oauth_client_msg1));
		}
	}
	free(tok);
	buf_free(&body);
	buf_wipe(&out);
	return rc;
}

/* The browser step: a listener on 127.0.0.1 (oauth.callbackPort, or any free port) for the redirect to
 * /callback, the authorization URL said on stderr and handed to $BROWSER, and on a terminal the address the
 * browser ended at taken when pasted (a board without a browser: open the URL elsewhere, paste where it
 * went). The code, once state matches; MCP_OAUTH_TIMEOUT (default 300 s) bounds the wait. */
static int
mcp_oauth_listen(char *redirect, size_t cap, const char *port_cfg)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)atoi(port_cfg));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	base_snprintf(redirect, cap, "http://localhost:%u/callback", ntohs(a.sin_port));
	return fd;
}

/* code=... and state=... of a query (the redirect's request line, or a pasted address). */
static int
mcp_oauth_code(const char *q, const char *state, char *code, size_t cap)
{
	char st[128] = "";
	const char *p;
	for (code[0] = 0, p = strchr(q, '?'); p && *p; p += strcspn(p, "&"), p += *p == '&') {
		p += *p == '?';
		if (!strncmp(p, "code=", 5))
			str_copy(code, cap, p + 5, strcspn(p + 5, "& \r\n#"));
		else if (!strncmp(p, "state=", 6))
			str_copy(st, sizeof st, p + 6, strcspn(p + 6, "& \r\n#"));
	}
	return code[0] && !strcmp(st, state) && !strpbrk(code, "%+") ? 0 : -1;
}

PROSE(mcp_oauth_browser_msg1,
	"agent: MCP server '%s' needs you to sign in. Open this address in a browser%s:\n  %s\n")
PROSE(mcp_oauth_browser_msg2,
	"agent: that address holds no code for this sign-in; paste the whole address\n")

static int
mcp_oauth_browser(struct mcp_srv *s, int lfd, const char *url, const char *state, char *code, size_t cap,
                  struct ag_err *e)
{
	const char *br = getenv("BROWSER");
	long long until = clk_ms() + mcp_env_ms("MCP_OAUTH_TIMEOUT", 300000);
	int tty = isatty(0);
	base_dprintf(2, prose(mcp_oauth_browser_msg1), s->name,
	             tty ? " (on another machine: then paste here the address it ends at, and press Enter)" : "", url);
	if (br && *br) {
		pid_t p = fork();
		if (p == 0) {
			if (fork() == 0) {
				int nul = open("/dev/null", O_RDWR);
				dup2(nul, 0), dup2(nul, 1);
				base_exec_sh("$BROWSER \"$1\"", url);
			}
			_exit(0);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
	while (clk_ms() < until && !ag_interrupted) {
		struct pollfd pf[2] = { { lfd, POLLIN, 0 }, { tty ? 0 : -1, POLLIN, 0 } };
		char line[2048];
		ssize_t n;
		if (poll(pf, 2, 200) <= 0)
			continue;
		if (pf[1].revents && (n = read(0, line, sizeof line - 1)) > 0) {
			line[n] = 0;
			if (!mcp_oauth_code(line, state, code, cap))
				return 0;
			base_dprintf(2, prose(mcp_oauth_browser_msg2));
		}
		if (pf[0].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), ok;
			static const char page[] = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n";
			if (c < 0)
				continue;
			{
				struct pollfd cp = { c, POLLIN, 0 };
				n = poll(&cp, 1, 5000) > 0 ? read(c, line, sizeof line - 1) : -1;
			}
			line[n > 0 ? n : 0] = 0;
			ok = !strncmp(line, "GET /callback?", 14) && !mcp_oauth_code(line, state, code, cap);
			(void)!write(c, page, sizeof page - 1);
			base_dprintf(c, ok ? "agent: signed in to %s; this page can be closed.\n" :
			             "agent: this is not the answer to the sign-in to %s.\n", s->name);
			close(c);
			if (ok)
				return 0;
		}
	}
	return err_set(e, ag_interrupted ? AG_E_INTR : AG_E_TIMEOUT, "the sign-in was not finished %s",
	               ag_interrupted ? "(interrupted)" : "within MCP_OAUTH_TIMEOUT");
}

PROSE(mcp_oauth_code_grant_msg,
	"cannot listen on 127.0.0.1:%s for the sign-in's redirect: %s")

/* PKCE (RFC 7636) and the authorization request: the code the redirect brings, exchanged. */
static int
mcp_oauth_code_grant(struct mcp_srv *s, struct mcp_auth *A, struct buf *form, struct ag_err *e)
{
	char redirect[64], port[16], state[33], code[1024];
	unsigned char r[32], h[32];
	struct buf verifier = {0}, url = {0}, q = {0};
	br_sha256_context sc;
	int rc, lfd = mcp_oauth_listen(redirect, sizeof redirect, mcp_oauth_cfg(s, "callbackPort", port, sizeof port));
	if (lfd < 0)
		return err_set(e, AG_E_IO, prose(mcp_oauth_code_grant_msg), port[0] ? port : "0",
		               base_strerror(errno));
	if ((rc = mcp_oauth_client(s, A, redirect, e)) == 0) {
		str_random_bytes(r, sizeof r);
		api_b64url(r, sizeof r, &verifier);
		br_sha256_init(&sc);
		br_sha256_update(&sc, verifier.p, verifier.len);
		br_sha256_out(&sc, h);
		str_random_hex(state, 16);
		mcp_form(&q, "response_type", "code");
		mcp_form(&q, "client_id", A->client);
		mcp_form(&q, "redirect_uri", redirect);
		buf_adds(&q, "&code_challenge=");
		api_b64url(h, sizeof h, &q);
		mcp_form(&q, "code_challenge_method", "S256");
		mcp_form(&q, "state", state);
		mcp_form(&q, "scope", A->scope);
		mcp_form(&q, "resource", A->resource);
		buf_printf(&url, "%s%c%s", A->authz, strchr(A->authz, '?') ? '&' : '?', q.p);
		str_clean(url.p);                 /* the server's endpoint, printed: no escapes */
		if ((rc = mcp_oauth_browser(s, lfd, url.p, state, code, sizeof code, e)) == 0) {
			mcp_form(form, "grant_type", "authorization_code");
			mcp_form(form, "code", code);
			mcp_form(form, "redirect_uri", redirect);
			mcp_form(form, "code_verifier", verifier.p);
		}
	}
	close(lfd);
	buf_wipe(&verifier);
	buf_free(&url);
	buf_free(&q);
	return rc;
}

PROSE(mcp_oauth_idjag_msg,
	"the identity provider (%.200s) gave no ID-JAG")

/* An identity provider's ID-JAG for this server (the cross-app access of SEP-990: token exchange of the
 * IdP's ID token, RFC 8693), then the jwt-bearer grant (RFC 7523) with it. */
static int
mcp_oauth_idjag(struct mcp_srv *s, struct mcp_auth *A, struct buf *form, struct ag_err *e)
{
	char ep[512], v[4096];
	struct buf f = {0}, out = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	int rc;
	mcp_form(&f, "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange");
	mcp_form(&f, "requested_token_type", "urn:ietf:params:oauth:token-type:id-jag");
	mcp_form(&f, "audience", A->issuer);
	mcp_form(&f, "resource", A->resource);
	mcp_form(&f, "scope", A->scope);
	mcp_form(&f, "subject_token", mcp_oauth_cfg(s, "idpIdToken", v, sizeof v));
	mcp_form(&f, "subject_token_type", "urn:ietf:params:oauth:token-type:id_token");
	mcp_form(&f, "client_id", mcp_oauth_cfg(s, "idpClientId", v, sizeof v));
	rc = mcp_oauth_fetch(s, mcp_oauth_cfg(s, "idpTokenEndpoint", ep, sizeof ep), f.p, NULL, NULL, &out, &j, &tok, e);
	if (!rc && mcp_json_text(&j, json_get(&j, 0, "access_token"), v, sizeof v))
		rc = err_set(e, AG_E_API, prose(mcp_oauth_idjag_msg), ep);
	if (!rc) {
		mcp_form(form, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
		mcp_form(form, "assertion", v);
		rc = mcp_oauth_client(s, A, "", e);
	}
	free(tok);
	buf_wipe(&f);
	buf_wipe(&out);
	return rc;
}

PROSE(mcp_oauth_msg,
	"oauth.grant client_credentials needs oauth.clientId")

/* After a 401, or a 403 that asks for more scope: a token, by the refresh token when there is one, else by
 * the configured grant (oauth.grant: client_credentials, jwt-bearer; by default the authorization code). */
static int
mcp_oauth(struct mcp_srv *s, const char *www, int status, struct ag_err *e)
{
	struct mcp_auth A;
	struct buf form = {0};
	char grant[40], tokep[512], w[128];
	const char *p;
	int rc;
	memset(&A, 0, sizeof A);
	mcp_oauth_load(s, &A);
	str_copy(tokep, sizeof tokep, A.token, strlen(A.token));
	if (status == 401 && s->refresh[0] && A.token[0] && !s->refreshed) {
		s->refreshed = 1;
		mcp_form(&form, "grant_type", "refresh_token");
		mcp_form(&form, "refresh_token", s->refresh);
		if (!mcp_oauth_token(s, &A, &form, e)) {
			mcp_oauth_save(s, &A);
			return 0;
		}
		e->code = 0, e->msg[0] = 0;
		s->refresh[0] = 0;
	}
	if (!mcp_oauth_cfg(s, "scopes", A.scope, sizeof A.scope)[0])
		mcp_www_param(www, "scope", A.scope, sizeof A.scope);
	for (p = s->granted; status == 403 && *p; p += strspn(p, " ")) {   /* step-up: what was granted, and more */
		size_t n = strcspn(p, " ");
		str_copy(w, sizeof w, p, n);
		p += n;
		if (!mcp_www_word(A.scope, w))
			base_snprintf(A.scope + strlen(A.scope), sizeof A.scope - strlen(A.scope), " %s", w);
	}
	if ((rc = mcp_oauth_discover(s, www, &A, e)) != 0)
		goto out;
	if (strcmp(tokep, A.token))               /* registered with another server: not ours to use */
		A.client[0] = A.secret[0] = A.method[0] = 0;
	if (A.scope[0] && !mcp_www_word(A.scope, "offline_access") &&
	    mcp_oauth_lists(&A, "scopes_supported", "offline_access", 0))
		base_snprintf(A.scope + strlen(A.scope), sizeof A.scope - strlen(A.scope), " offline_access");
	mcp_oauth_cfg(s, "grant", grant, sizeof grant);
	if (!strcmp(grant, "client_credentials")) {
		mcp_form(&form, "grant_type", "client_credentials");
		mcp_form(&form, "scope", A.scope);
		if (!mcp_oauth_cfg(s, "clientId", A.client, sizeof A.client)[0])
			rc = err_set(e, AG_E_USAGE, prose(mcp_oauth_msg));
		else
			rc = mcp_oauth_client(s, &A, "", e);
	} else if (!strcmp(grant, "jwt-bearer")) {
		rc = mcp_oauth_idjag(s, &A, &form, e);
	} else {
		rc = mcp_oauth_code_grant(s, &A, &form, e);
	}
	str_copy(tokep, sizeof tokep, s->granted, strlen(s->granted));
	s->granted[0] = 0;                        /* what the answer says it granted, else what was asked */
	if (!rc)
		rc = mcp_oauth_token(s, &A, &form, e);
	if (rc) {
		str_copy(s->granted, sizeof s->granted, tokep, strlen(tokep));
	} else {
		if (!s->granted[0])
			str_copy(s->granted, sizeof s->granted, A.scope, strlen(A.scope));
		s->refreshed = 0;
		mcp_oauth_save(s, &A);
	}
out:
	buf_wipe(&form);
	buf_free(&A.meta);
	return rc;
}

PROSE(mcp_http_msg,
	"its event stream ended without the answer%s%s")

/* One POST to a streamable HTTP server; the answer to b->id (if any) in *out. An event stream that ends
 * before the answer is resumed, as the spec says: after the server's retry delay, a GET with Last-Event-ID,
 * up to five times. */
static int
mcp_http(struct mcp_srv *s, const struct mcp_body *b, long long deadline, struct buf *out)
{
	static struct sse sse;                /* 256 KB: not on the stack */
	struct ag_err e = {0};
	struct mcp_sse m = { s, b->id, out, 0 };
	char tmp[4096];
	const char *v;
	size_t vl;
	long r;
	int rc, tries;
	if (!mcp_conn(s, &s->h, &e))
		return AG_E_NOMEM;
	s->h->wait = s->get_state == 1 ? mcp_wait_head : NULL;
	s->h->wait_ctx = s;
	rc = mcp_send_http(s, s->h, mcp_body_json, (void *)b, 0, deadline);
	s->h->wait = NULL;
	if (rc == AG_E_INTR || rc == AG_E_TIMEOUT) {
		http_close(s->h);
		return rc;
	}
	if (rc) {
		mcp_fail(s, "%s", e.msg);
		return rc;
	}
	if ((s->h->status == 401 || s->h->status == 403) && (v = http_header(s->h, "www-authenticate", &vl)) != NULL &&
	    (s->h->status == 401 || str_mem(v, vl, "insufficient_scope", 18)) && s->auth_tries < 3) {
		char www[1024];
		str_copy(www, sizeof www, v, vl);
		while (http_body_read(s->h, tmp, sizeof tmp) > 0)
			;
		s->auth_tries++;
		if ((rc = mcp_oauth(s, www, s->h->status, &e)) == 0)
			return mcp_http(s, b, deadline, out);
		base_snprintf(s->why, sizeof s->why, "its authorization failed: %s", e.msg);
		if (s->state == MCP_READY)        /* this request fails; the server, up and listed, stays */
			return AG_E_API;
		mcp_fail(s, "%s", s->why);
		return rc;
	}
	if (s->h->status == 403 && s->state == MCP_READY) {
		while (http_body_read(s->h, tmp, sizeof tmp) > 0)
			;
		base_snprintf(s->why, sizeof s->why, "HTTP 403: it refused this request (after %d sign-ins)", s->auth_tries);
		s->auth_tries = 0;
		return AG_E_API;
	}
	if (s->h->status >= 200 && s->h->status <= 299)
		s->auth_tries = 0;
	if (s->h->status < 200 || s->h->status > 299) {
		char ex[120];
		struct buf body = {0};
		while ((r = http_body_read(s->h, tmp, sizeof tmp)) > 0 && body.len < 4096)
			buf_add(&body, tmp, (size_t)r);
		str_excerpt(ex, sizeof ex, body.p ? body.p : "", body.len);
		buf_free(&body);
		http_close(s->h);
		mcp_fail(s, "HTTP %d: %s", s->h->status, ex[0] ? ex : "(empty body)");
		return AG_E_API;
	}
	if (mcp_is_stream(s->h)) {
		sse_init(&sse);
		s->last_id[0] = 0;
		rc = mcp_stream_wait(s, &sse, &m, deadline);
		for (tries = 0; rc == 1 && b->id && s->last_id[0] && tries < 5; tries++) {
			long long until = clk_ms() + (s->retry >= 0 ? s->retry : 1000);
			while (clk_ms() < until && !ag_interrupted)
				usleep(10000);
			mcp_get_close(s);
			mcp_get_open(s, 1, deadline);
			rc = s->get_state == 1 ? mcp_stream_wait(s, NULL, &m, deadline) : 1;
		}
		if (rc == AG_E_TOOBIG || rc == AG_E_INTR || rc == AG_E_TIMEOUT)
			return rc;                        /* this answer is lost, the server is not */
		if (b->id && !m.found) {
			mcp_fail(s, prose(mcp_http_msg), e.msg[0] ? ": " : "", e.msg);
			return AG_E_API;
		}
		return 0;
	}
	out->len = 0;
	while ((r = http_body_read(s->h, tmp, sizeof tmp)) > 0)
		if (buf_add(out, tmp, (size_t)r))
			return AG_E_NOMEM;
	if (r < 0) {
		mcp_fail(s, "%s", e.msg);
		return (int)r;
	}
	if (!s->h->keep)
		http_close(s->h);
	if (b->id && !out->len) {
		mcp_fail(s, "HTTP %d without a body", s->h->status);
		return AG_E_API;
	}
	return 0;
}

PROSE(mcp_call_msg3,
	"it stopped reading its input (exited?)")
PROSE(mcp_call_msg4,
	"its answer to %s is not valid JSON")

PROSE(mcp_call_msg1,
	"no answer to %s within %lld ms (MCP_TOOL_TIMEOUT); the request was cancelled")
PROSE(mcp_call_msg2,
	"its answer came as one event over %d bytes, more than this build reads")

static void mcp_notify(struct mcp_srv *s, const char *method, const char *params);

/* A request and its answer's "result" (parsed into *j with *tok to free); an "error" is a failure. */
static int
mcp_call(struct mcp_srv *s, const char *method, const char *params, long long timeout_ms, struct buf *msg,
         struct json *j, jsmntok_t **tok, char *err, size_t ecap)
{
	struct mcp_body b;
	long long deadline = clk_ms() + timeout_ms;
	int rc, res;
	*tok = NULL;
	err[0] = 0;
	if (s->state == MCP_FAILED) {
		base_snprintf(err, ecap, "%s", s->why);
		return AG_E_API;
	}
	b.method = method;
	b.params = params;
	b.id = ++s->id;
	b.result = 0;
	if (s->http)
		rc = mcp_http(s, &b, deadline, msg);
	else if ((rc = mcp_send_stdio(s, &b, deadline)) == 0)
		rc = mcp_wait_stdio(s, b.id, deadline, msg);
	else
		mcp_fail(s, prose(mcp_call_msg3));
	if (rc == AG_E_TIMEOUT && (!strcmp(method, "initialize") || str_find(method, "/list")))
		mcp_fail(s, "no answer to %s within %lld ms", method, timeout_ms);   /* set-up: the server is given up */
	if ((rc == AG_E_INTR || rc == AG_E_TIMEOUT) && s->state != MCP_FAILED) {   /* the work is not wanted now */
		char c[160];
		base_snprintf(c, sizeof c, "{\"requestId\":%lld,\"reason\":\"%s\"}", b.id,
		              rc == AG_E_INTR ? "the user pressed Ctrl-C" : "timed out");
		mcp_notify(s, "notifications/cancelled", c);
		if (rc == AG_E_TIMEOUT) {
			base_snprintf(err, ecap, prose(mcp_call_msg1),
			              method, timeout_ms);
			return rc;
		}
	}
	if (rc) {
		if (rc == AG_E_TOOBIG && s->state != MCP_FAILED)
			base_snprintf(err, ecap, prose(mcp_call_msg2),
			         AG_SSE_EVENT_MAX);
		else
			base_snprintf(err, ecap, "%s", s->state == MCP_FAILED || rc == AG_E_API ? s->why : "interrupted");
		return rc;
	}
	if (json_parse_alloc(j, msg->p ? msg->p : "", msg->len, tok) <= 0 || (*tok)[0].type != JSMN_OBJECT) {
		mcp_fail(s, prose(mcp_call_msg4), method);
		base_snprintf(err, ecap, "%s", s->why);
		return AG_E_API;
	}
	if ((res = json_get(j, 0, "error")) >= 0) {
		char m[400] = "";
		long long code = 0;
		json_str(j, json_get(j, res, "message"), m, sizeof m);
		json_int(j, json_get(j, res, "code"), &code);
		base_snprintf(err, ecap, "%s (error %lld)", m[0] ? m : "no message", code);
		return AG_E_API;
	}
	if (json_get(j, 0, "result") < 0) {
		base_snprintf(err, ecap, "its answer to %s has no result", method);
		return AG_E_API;
	}
	return 0;
}

static void
mcp_notify(struct mcp_srv *s, const char *method, const char *params)
{
	struct mcp_body b = { method, params, 0, 0 };
	struct buf out = {0};
	if (s->http)
		mcp_http(s, &b, clk_ms() + 10000, &out);
	else
		mcp_send_stdio(s, &b, clk_ms() + 10000);
	buf_free(&out);
}

static long long
mcp_env_ms(const char *name, long long def)
{
	const char *v = getenv(name);
	unsigned long long n;
	return v && *v && !str_to_u64(v, strlen(v), 86400000ULL, &n) && n > 0 ? (long long)n : def;
}

static const struct mcp_tool *mcp_find(struct mcp *m, const char *full, struct mcp_srv **srv);

/* The params of a paginated list request: {"cursor": ...} after the first page, none before it. */
static void
mcp_page_params(struct buf *params, const char *cursor)
{
	struct jw w;
	if (!cursor[0])
		return;
	jw_init(&w, jw_sink_buf, params);
	jw_open(&w, '{');
	jw_key(&w, "cursor");
	jw_str(&w, cursor);
	jw_close(&w, '}');
}

PROSE(mcp_list_tools_msg,
	"agent: MCP server '%s': tool '%.100s' left out: its name %s is taken\n")

/* tools/list, every page; each tool's definition kept in the form the Messages API takes. */
static void
mcp_list_tools(struct mcp *m, struct mcp_srv *s, long long deadline)
{
	char cursor[512] = "", err[400];
	int pages;
	for (pages = 0; pages < 100 && s->state != MCP_FAILED; pages++) {
		struct buf msg = {0}, params = {0};
		struct json j;
		jsmntok_t *tok = NULL;
		int res, tl, i, k, nc;
		long long left = deadline - clk_ms();
		mcp_page_params(&params, cursor);
		if (mcp_call(s, "tools/list", params.p ? params.p : "{}", left > 0 ? left : 1, &msg, &j, &tok, err, sizeof err)) {
			mcp_fail(s, "tools/list: %s", err);
			buf_free(&msg);
			buf_free(&params);
			free(tok);
			return;
		}
		res = json_get(&j, 0, "result");
		tl = json_get(&j, res, "tools");
		if (tl >= 0 && j.t[tl].type == JSMN_ARRAY)
			for (i = 0, k = tl + 1; i < j.t[tl].size; i++, k = json_skip(&j, k)) {
				struct mcp_tool *t, *nt;
				struct buf name = {0};
				struct jw w;
				int sc = json_get(&j, k, "inputSchema"), d = json_get(&j, k, "description");
				if (json_str_buf(&j, json_get(&j, k, "name"), &name) || !name.len) {
					buf_free(&name);
					continue;
				}
				nt = realloc(s->tools, (s->ntools + 1) * sizeof *s->tools);
				if (!nt) {
					buf_free(&name);
					break;
				}
				s->tools = nt;
				t = &s->tools[s->ntools];
				memset(t, 0, sizeof *t);
				t->name = name.p;
				base_snprintf(t->full, sizeof t->full, "mcp__%s__%s", s->name, name.p);
				{   /* the API takes names of [a-zA-Z0-9_-]{1,64}: anything else becomes _ */
					char *c;
					struct mcp_srv *other;
					for (c = t->full; *c; c++)
						if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
							*c = '_';
					t->full[64] = 0;
					if (mcp_find(m, t->full, &other)) {   /* two names made one: the API would refuse both */
						base_dprintf(2, prose(mcp_list_tools_msg),
						        s->name, name.p, t->full);
						buf_free(&name);
						continue;
					}
				}
				s->ntools++;
				jw_init(&w, jw_sink_buf, &t->def);
				jw_open(&w, '{');
				jw_key(&w, "name"); jw_str(&w, t->full);
				jw_key(&w, "description");
				if (d >= 0 && j.t[d].type == JSMN_STRING)
					json_copy(&w, &j, d);
				else
					jw_str(&w, t->name);
				jw_key(&w, "input_schema");
				if (sc >= 0 && j.t[sc].type == JSMN_OBJECT)
					json_copy(&w, &j, sc);
				else
					jw_json(&w, "{\"type\":\"object\"}", 17);
				jw_close(&w, '}');
			}
		nc = json_get(&j, res, "nextCursor");
		cursor[0] = 0;
		if (nc >= 0)
			json_str(&j, nc, cursor, sizeof cursor);
		buf_free(&msg);
		buf_free(&params);
		free(tok);
		if (!cursor[0])
			break;
	}
	if (s->state != MCP_FAILED)
		s->state = MCP_READY;
}

/* What the servers sent while idle read (stdio lines, the GET streams), and the tools of those that said
 * they changed (notifications/tools/list_changed) listed again: how many were. */
static int
mcp_refresh(struct mcp *m)
{
	size_t i, k;
	int n = 0;
	for (i = 0; m && i < m->n; i++) {
		struct mcp_srv *s = &m->srv[i];
		struct buf tmp = {0};
		struct mcp_sse q = { s, 0, NULL, 0 };
		if (s->state == MCP_FAILED)
			continue;
		if (!s->http)
			mcp_wait_stdio(s, -1, clk_ms(), &tmp);
		while (s->http && s->get_state == 1 && mcp_pick(s, NULL, clk_ms()) == 2)
			mcp_get_read(s, &q);
		buf_free(&tmp);
		if (!s->stale || s->state == MCP_FAILED)
			continue;
		s->stale = 0;
		for (k = 0; k < s->ntools; k++) {
			free(s->tools[k].name);
			buf_free(&s->tools[k].def);
		}
		s->ntools = 0;
		mcp_list_tools(m, s, clk_ms() + mcp_env_ms("MCP_TIMEOUT", 30000));
		n++;
	}
	return n;
}

/* Start every configured server: all stdio children first, then each handshake under one deadline
 * (MCP_TIMEOUT), so they start side by side and a slow one costs its own time, not the sum. */
/* Is name one of the lines of b? */
static int
mcp_listed(const struct buf *b, const char *name)
{
	size_t i = 0, n = strlen(name);
	while (i < b->len) {
		const char *nl = memchr(b->p + i, '\n', b->len - i);
		size_t l = nl ? (size_t)(nl - (b->p + i)) : b->len - i;
		if (l == n && memcmp(b->p + i, name, n) == 0)
			return 1;
		i += l + 1;
	}
	return 0;
}

/* May a server of the project's .mcp.json start? Not when disabledMcpjsonServers names it; else when the
 * folder is trusted, enableAllProjectMcpServers is on, or enabledMcpjsonServers names it. */
static int
mcp_approved(const struct mcp *m, const char *name)
{
	if (mcp_listed(&m->disabled, name))
		return 0;
	return m->trusted || m->approve_all || mcp_listed(&m->enabled, name);
}

PROSE(mcp_start_msg4,
	"it stopped reading its input (exited?)")
PROSE(mcp_start_msg5,
	"agent: MCP server '%s' failed: %s\n")

PROSE(mcp_start_msg2,
	"no answer to initialize within %lld ms (MCP_TIMEOUT)")
PROSE(mcp_start_msg3,
	"agent: MCP server '%s' failed: %s (its stderr: %s/%s.log)\n")

PROSE(mcp_start_msg1,
	"not approved: the project's .mcp.json servers start only when approved")

PROSE(mcp_start_msg,
	"agent: MCP server '%s' from .mcp.json was not started: a project's servers need approval; "
	"add \"enabledMcpjsonServers\": [\"%s\"] (or \"enableAllProjectMcpServers\": true) to "
	"~/.claude/settings.json, or run agent here in a terminal once and trust the folder (then "
	".claude/settings.local.json counts too)\n")

static void mcp_list_prompts(struct mcp_srv *s, long long deadline);

static void
mcp_start(struct mcp *m, const char *cwd, struct tls_trust *trust, int quiet)
{
	static const char init[] = "{\"protocolVersion\":\"" MCP_PROTOCOL "\",\"capabilities\":{\"roots\":{\"listChanged\":false},\"elicitation\":{}},"
	                           "\"clientInfo\":{\"name\":\"agent\",\"version\":\"" AG_VERSION "\"}}";
	long long deadline = clk_ms() + mcp_env_ms("MCP_TIMEOUT", 30000);
	size_t i;
	char st[PATH_MAX];
	if (!m->n)
		return;
	if (!cfg_state_dir(st, sizeof st, 1)) {
		buf_printf(&m->logdir, "%s/mcp-logs", st);
		if (file_mkdirs(m->logdir.p, 0700))
			m->logdir.len = 0;
	}
	for (i = 0; i < m->n; i++) {
		struct mcp_srv *s = &m->srv[i];
		s->trust = trust;
		s->m = m;
		if (s->project && !mcp_approved(m, s->name)) {
			s->state = MCP_FAILED;
			s->project = 2;
			base_snprintf(s->why, sizeof s->why, prose(mcp_start_msg1));
			base_dprintf(2, prose(mcp_start_msg), s->name, s->name);
			continue;
		}
		if (s->http && s->state != MCP_FAILED) {
			struct mcp_auth A;
			memset(&A, 0, sizeof A);
			mcp_oauth_load(s, &A);            /* a token kept from before */
		}
		if (s->state == MCP_FAILED || s->http)
			continue;
		if (mcp_spawn(s, cwd, &m->logdir))
			mcp_fail(s, "cannot start %s: %s", s->argv[0], base_strerror(errno));
	}
	for (i = 0; i < m->n; i++) {             /* initialize requests out to every stdio server at once */
		struct mcp_srv *s = &m->srv[i];
		struct mcp_body b = { "initialize", init, 0, 0 };
		if (s->state == MCP_FAILED || s->http)
			continue;
		b.id = ++s->id;
		if (mcp_send_stdio(s, &b, deadline))
			mcp_fail(s, prose(mcp_start_msg4));
	}
	for (i = 0; i < m->n; i++) {
		struct mcp_srv *s = &m->srv[i];
		struct buf msg = {0};
		struct json j;
		jsmntok_t *tok = NULL;
		char err[400] = "";
		int rc;
		if (s->state != MCP_FAILED) {
			if (s->http) {
				long long left = deadline - clk_ms();
				rc = mcp_call(s, "initialize", init, left > 0 ? left : 1, &msg, &j, &tok, err, sizeof err);
			} else {
				rc = mcp_wait_stdio(s, s->id, deadline, &msg);
				if (rc == AG_E_TIMEOUT)
					mcp_fail(s, prose(mcp_start_msg2), mcp_env_ms("MCP_TIMEOUT", 30000));
				if (!rc && (json_parse_alloc(&j, msg.p, msg.len, &tok) <= 0 || json_get(&j, 0, "result") < 0)) {
					json_str(&j, json_path(&j, 0, "error.message"), err, sizeof err);
					mcp_fail(s, "initialize failed: %s", err[0] ? err : "no result in its answer");
				}
			}
			if (rc && s->state != MCP_FAILED)
				mcp_fail(s, "initialize failed: %s", err[0] ? err : "no answer");
			if (s->state != MCP_FAILED) {
				mcp_notify(s, "notifications/initialized", NULL);
				if (s->http)
					mcp_get_open(s, 0, clk_ms() + mcp_env_ms("MCP_TIMEOUT", 30000));
				s->caps = (json_path(&j, 0, "result.capabilities.resources") >= 0) |
				          (json_path(&j, 0, "result.capabilities.prompts") >= 0) << 1;
				if (s->caps & MCP_CAP_PROMPTS)
					mcp_list_prompts(s, clk_ms() + mcp_env_ms("MCP_TIMEOUT", 30000));
				mcp_list_tools(m, s, clk_ms() + mcp_env_ms("MCP_TIMEOUT", 30000));   /* it answered: its own time */
			}
			buf_free(&msg);
			free(tok);
		}
		if (s->project == 2)
			continue;
		if (s->state == MCP_FAILED && !quiet && !s->http && m->logdir.len)
			base_dprintf(2, prose(mcp_start_msg3), s->name, s->why,
			        m->logdir.p, s->name);
		else if (s->state == MCP_FAILED && !quiet)
			base_dprintf(2, prose(mcp_start_msg5), s->name, s->why);
	}
}

static void
mcp_stop(struct mcp *m)
{
	size_t i, k;
	long long until = clk_ms() + 500;
	int left;
	for (i = 0; i < m->n; i++) {
		if (m->srv[i].to >= 0)
			close(m->srv[i].to);      /* stdio servers end when their input closes */
		m->srv[i].to = -1;
	}
	do {                                      /* half a second for all of them together */
		for (i = 0, left = 0; i < m->n; i++) {
			if (m->srv[i].pid <= 0)
				continue;
			if (waitpid(m->srv[i].pid, NULL, WNOHANG) != 0)
				m->srv[i].pid = 0;        /* ended (or not ours to wait for) */
			else
				left = 1;
		}
		if (left)
			usleep(10000);
	} while (left && clk_ms() < until);
	for (i = 0; i < m->n; i++) {
		struct mcp_srv *s = &m->srv[i];
		if (s->pid > 0) {                 /* still there: the whole process group goes */
			kill(-s->pid, SIGKILL);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			s->pid = 0;
		}
		if (s->from >= 0)
			close(s->from);
		if (s->h)
			http_close(s->h);
		mcp_get_close(s);
		if (s->side)
			http_close(s->side);
		free(s->h), free(s->get), free(s->side);
		buf_free(&s->gin);
		explicit_bzero(s->token, sizeof s->token);
		explicit_bzero(s->refresh, sizeof s->refresh);
		buf_wipe(&s->oauth);
		for (k = 0; s->argv && s->argv[k]; k++)
			free(s->argv[k]);
		free(s->argv);
		for (k = 0; k < s->ntools; k++) {
			free(s->tools[k].name);
			buf_free(&s->tools[k].def);
		}
		free(s->tools);
		buf_free(&s->env);
		buf_free(&s->in);
		buf_free(&s->headers);
		buf_free(&s->prompts);
	}
	m->n = 0;
	buf_free(&m->logdir);
	buf_free(&m->enabled);
	buf_free(&m->disabled);
}

static const struct mcp_tool *
mcp_find(struct mcp *m, const char *full, struct mcp_srv **srv)
{
	size_t i, k;
	for (i = 0; i < m->n; i++)
		for (k = 0; k < m->srv[i].ntools; k++)
			if (strcmp(m->srv[i].tools[k].full, full) == 0) {
				*srv = &m->srv[i];
				return &m->srv[i].tools[k];
			}
	return NULL;
}

/* An image of a server's answer (data, base64, of type mt) as an image block of the tool result. */
static void
mcp_image(struct tool_out *o, const struct json *j, int mt, int data)
{
	struct jw bw;
	if (o->blocks.len)
		buf_adds(&o->blocks, ",");
	jw_init(&bw, jw_sink_buf, &o->blocks);
	jw_open(&bw, '{');
	jw_key(&bw, "type"); jw_str(&bw, "image");
	jw_key(&bw, "source");
	jw_open(&bw, '{');
	jw_key(&bw, "type"); jw_str(&bw, "base64");
	jw_key(&bw, "media_type");
	if (mt >= 0 && j->t[mt].type == JSMN_STRING)
		json_copy(&bw, j, mt);
	else
		jw_str(&bw, "image/png");
	jw_key(&bw, "data"); json_copy(&bw, j, data);
	jw_close(&bw, '}');
	jw_close(&bw, '}');
}

PROSE(mcp_tool_run_msg1,
	"agent: MCP server '%s' failed: %s\n")

PROSE(mcp_tool_run_msg,
	"There is no MCP tool %s (its server may have failed to start; /mcp shows them)")

/* tools/call: the content as our tool result: text joined, images kept as image blocks (o->blocks). */
static void
mcp_tool_run(struct mcp *m, const char *full, const struct json *in, struct tool_out *o)
{
	struct mcp_srv *s = NULL;
	const struct mcp_tool *t = m ? mcp_find(m, full, &s) : NULL;
	struct buf params = {0}, msg = {0};
	struct jw w;
	struct json j;
	jsmntok_t *tok = NULL;
	char err[600];
	int res, c, i, k, ie;
	if (!t) {
		tool_fail(o, prose(mcp_tool_run_msg), full);
		return;
	}
	jw_init(&w, jw_sink_buf, &params);
	jw_open(&w, '{');
	jw_key(&w, "name"); jw_str(&w, t->name);
	jw_key(&w, "arguments"); json_copy(&w, in, 0);
	jw_key(&w, "_meta");                      /* progress notifications, shown as they come */
	jw_open(&w, '{');
	jw_key(&w, "progressToken"); jw_int(&w, s->id + 1);
	jw_close(&w, '}');
	jw_close(&w, '}');
	res = s->state;
	if (mcp_call(s, "tools/call", params.p, mcp_env_ms("MCP_TOOL_TIMEOUT", 600000), &msg, &j, &tok, err, sizeof err)) {
		tool_fail(o, "MCP server '%s' failed on %s: %s", s->name, t->name, err);
		if (s->state == MCP_FAILED && res != MCP_FAILED)
			base_dprintf(2, prose(mcp_tool_run_msg1), s->name, s->why);
		goto out;
	}
	res = json_get(&j, 0, "result");
	c = json_get(&j, res, "content");
	if (c >= 0 && j.t[c].type == JSMN_ARRAY)
		for (i = 0, k = c + 1; i < j.t[c].size; i++, k = json_skip(&j, k)) {
			int ty = json_get(&j, k, "type");
			if (json_eq(&j, ty, "text")) {
				if (o->text.len)
					buf_adds(&o->text, "\n");
				json_str_buf(&j, json_get(&j, k, "text"), &o->text);
			} else if (json_eq(&j, ty, "image") && json_get(&j, k, "data") >= 0) {
				mcp_image(o, &j, json_get(&j, k, "mimeType"), json_get(&j, k, "data"));
			} else if (json_eq(&j, ty, "resource") || json_eq(&j, ty, "resource_link")) {
				int r = json_get(&j, k, "resource");
				if (o->text.len)
					buf_adds(&o->text, "\n");
				if (json_get(&j, r, "text") >= 0)
					json_str_buf(&j, json_get(&j, r, "text"), &o->text);
				else {
					buf_adds(&o->text, "[resource ");
					json_str_buf(&j, json_get(&j, r >= 0 ? r : k, "uri"), &o->text);
					buf_adds(&o->text, "]");
				}
			}
		}
	if (!o->text.len && !o->blocks.len && (c = json_get(&j, res, "structuredContent")) >= 0) {
		jw_init(&w, jw_sink_buf, &o->text);
		json_copy(&w, &j, c);
	}
	ie = json_get(&j, res, "isError");
	if (ie >= 0 && j.t[ie].type == JSMN_PRIMITIVE && j.s[j.t[ie].start] == 't')
		o->is_error = 1;
out:
	buf_free(&params);
	buf_free(&msg);
	free(tok);
}

/* The tools that reach servers' resources, offered when one of them has resources. */
PROSE(mcp_res_defs,
"{\"name\":\"ListMcpResourcesTool\",\"description\":\"List the resources (files, documents, data) the MCP servers "
"offer: uri, name, type, description.\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"server\":{\"type\":"
"\"string\",\"description\":\"only this server's\"}},\"additionalProperties\":false}}\0"
"{\"name\":\"ReadMcpResourceTool\",\"description\":\"Read one resource of an MCP server by its uri.\",\"input_schema\":"
"{\"type\":\"object\",\"properties\":{\"server\":{\"type\":\"string\"},\"uri\":{\"type\":\"string\"}},\"required\":"
"[\"server\",\"uri\"],\"additionalProperties\":false}}")

static int
mcp_has(const struct mcp *m, int cap)
{
	size_t i;
	for (i = 0; m && i < m->n; i++)
		if (m->srv[i].state != MCP_FAILED && (m->srv[i].caps & cap))
			return 1;
	return 0;
}

static struct mcp_srv *
mcp_srv_named(struct mcp *m, const char *name, size_t n)
{
	size_t i;
	for (i = 0; m && i < m->n; i++)
		if (strlen(m->srv[i].name) == n && !memcmp(m->srv[i].name, name, n))
			return &m->srv[i];
	return NULL;
}

/* ListMcpResourcesTool: resources/list of each server with resources (every page), one line per resource. */
static void
mcp_resources_list(struct mcp *m, const struct json *in, struct tool_out *o)
{
	struct buf only = {0};
	size_t i;
	json_str_buf(in, json_get(in, 0, "server"), &only);
	o->text.len = 0;
	for (i = 0; m && i < m->n; i++) {
		struct mcp_srv *s = &m->srv[i];
		char cursor[512] = "", err[400];
		int pages, t;
		if (!(s->caps & MCP_CAP_RES) || (only.len && strcmp(only.p, s->name)))
			continue;
		for (t = 0, pages = 0; t < 2; t++, pages = 0, cursor[0] = 0)   /* resources, then templates */
		for (; pages < 20; pages++) {
			struct buf msg = {0}, params = {0};
			struct json j;
			jsmntok_t *tok = NULL;
			int r, k, c;
			mcp_page_params(&params, cursor);
			if (mcp_call(s, t ? "resources/templates/list" : "resources/list", params.p ? params.p : "{}",
			             mcp_env_ms("MCP_TIMEOUT", 30000), &msg, &j, &tok, err, sizeof err)) {
				if (!t)                   /* a server without templates says so with an error */
					buf_printf(&o->text, "%s: resources/list failed: %s\n", s->name, err);
				pages = 99;
			} else {
				r = json_path(&j, 0, t ? "result.resourceTemplates" : "result.resources");
				for (c = 0, k = r + 1; r >= 0 && c < j.t[r].size; c++, k = json_skip(&j, k)) {
					buf_printf(&o->text, t ? "%s: template " : "%s: ", s->name);
					json_str_buf(&j, json_get(&j, k, t ? "uriTemplate" : "uri"), &o->text);
					buf_adds(&o->text, " (");
					json_str_buf(&j, json_get(&j, k, "name"), &o->text);
					if (json_get(&j, k, "mimeType") >= 0)
						buf_adds(&o->text, ", "), json_str_buf(&j, json_get(&j, k, "mimeType"), &o->text);
					buf_adds(&o->text, ")");
					if (json_get(&j, k, "description") >= 0)
						buf_adds(&o->text, " "), json_str_buf(&j, json_get(&j, k, "description"), &o->text);
					buf_adds(&o->text, "\n");
				}
				cursor[0] = 0;
				json_str(&j, json_path(&j, 0, "result.nextCursor"), cursor, sizeof cursor);
				if (!cursor[0])
					pages = 99;
			}
			buf_free(&msg);
			buf_free(&params);
			free(tok);
		}
	}
	if (!o->text.len)
		buf_printf(&o->text, only.len ? "No resources from MCP server '%s' (it has none, or no such server)" :
		           "No MCP server offers resources", only.p);
	buf_free(&only);
}

PROSE(mcp_resource_read_msg2,
	"MCP server '%s' could not read %s: %s")

PROSE(mcp_resource_read_msg1,
	"[binary content, %d characters of base64]")

PROSE(mcp_resource_read_msg,
	"ReadMcpResourceTool needs server (one of the MCP servers; ListMcpResourcesTool lists them) and uri")

/* ReadMcpResourceTool (and @server:uri): resources/read; text contents as text, image blobs as images,
 * other blobs by size. */
static void
mcp_resource_read(struct mcp *m, const struct json *in, struct tool_out *o)
{
	struct buf name = {0}, uri = {0}, params = {0}, msg = {0};
	struct mcp_srv *s;
	struct json j;
	jsmntok_t *tok = NULL;
	struct jw w;
	char err[400];
	int r, k, c;
	json_str_buf(in, json_get(in, 0, "server"), &name);
	json_str_buf(in, json_get(in, 0, "uri"), &uri);
	if (!(s = mcp_srv_named(m, name.p ? name.p : "", name.len)) || !uri.len) {
		tool_fail(o, prose(mcp_resource_read_msg));
		goto out;
	}
	jw_init(&w, jw_sink_buf, &params);
	jw_open(&w, '{');
	jw_key(&w, "uri"); jw_strn(&w, uri.p, uri.len);
	jw_close(&w, '}');
	if (mcp_call(s, "resources/read", params.p, mcp_env_ms("MCP_TOOL_TIMEOUT", 600000), &msg, &j, &tok, err, sizeof err)) {
		tool_fail(o, prose(mcp_resource_read_msg2), s->name, uri.p, err);
		goto out;
	}
	o->text.len = 0;
	r = json_path(&j, 0, "result.contents");
	for (c = 0, k = r + 1; r >= 0 && c < j.t[r].size; c++, k = json_skip(&j, k)) {
		int b = json_get(&j, k, "blob"), mt = json_get(&j, k, "mimeType");
		if (json_get(&j, k, "text") >= 0) {
			json_str_buf(&j, json_get(&j, k, "text"), &o->text);
		} else if (b >= 0 && mt >= 0 && j.t[mt].end - j.t[mt].start > 6 && !memcmp(j.s + j.t[mt].start, "image/", 6)) {
			mcp_image(o, &j, mt, b);
		} else if (b >= 0) {
			buf_printf(&o->text, prose(mcp_resource_read_msg1), j.t[b].end - j.t[b].start);
		}
	}
	if (!o->text.len)
		buf_printf(&o->text, "(%s: %s has no text content)", s->name, uri.p);
out:
	buf_free(&name);
	buf_free(&uri);
	buf_free(&params);
	buf_free(&msg);
	free(tok);
}

/* prompts/list: each prompt's name, its arguments' names, its description. */
static void
mcp_list_prompts(struct mcp_srv *s, long long deadline)
{
	struct buf msg = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	char err[400];
	long long left = deadline - clk_ms();
	int r, k, c, a, x, y;
	if (!mcp_call(s, "prompts/list", "{}", left > 0 ? left : 1, &msg, &j, &tok, err, sizeof err)) {
		r = json_path(&j, 0, "result.prompts");
		for (c = 0, k = r + 1; r >= 0 && c < j.t[r].size; c++, k = json_skip(&j, k)) {
			json_str_buf(&j, json_get(&j, k, "name"), &s->prompts);
			buf_adds(&s->prompts, "\t");
			a = json_get(&j, k, "arguments");
			for (x = 0, y = a + 1; a >= 0 && j.t[a].type == JSMN_ARRAY && x < j.t[a].size; x++, y = json_skip(&j, y)) {
				if (x)
					buf_adds(&s->prompts, " ");
				json_str_buf(&j, json_get(&j, y, "name"), &s->prompts);
			}
			buf_adds(&s->prompts, "\t");
			json_str_buf(&j, json_get(&j, k, "description"), &s->prompts);
			buf_adds(&s->prompts, "\n");
		}
	}
	buf_free(&msg);
	free(tok);
}

/* "/mcp__SERVER__PROMPT args": prompts/get with the words given to the prompt's arguments in order (the
 * last takes the rest), its messages' text into out. 1: such a prompt, 0: none, -1: it failed (e). */
static int
mcp_prompt_get(struct mcp *m, const char *cmd, size_t n, const char *args, struct buf *out, struct ag_err *e)
{
	const char *sep, *l;
	struct mcp_srv *s;
	struct buf params = {0}, msg = {0};
	struct json j;
	jsmntok_t *tok = NULL;
	struct jw w;
	char err[400];
	int r, k, c;
	if (n < 6 || memcmp(cmd, "mcp__", 5) || !(sep = str_find(cmd + 5, "__")) || sep >= cmd + n ||
	    !(s = mcp_srv_named(m, cmd + 5, (size_t)(sep - cmd - 5))) || !(s->caps & MCP_CAP_PROMPTS))
		return 0;
	sep += 2;
	for (l = s->prompts.p ? s->prompts.p : ""; *l; l += strcspn(l, "\n") + 1)
		if ((size_t)(cmd + n - sep) == strcspn(l, "\t") && !memcmp(l, sep, (size_t)(cmd + n - sep)))
			break;
	if (!*l)
		return 0;
	jw_init(&w, jw_sink_buf, &params);
	jw_open(&w, '{');
	jw_key(&w, "name"); jw_strn(&w, sep, (size_t)(cmd + n - sep));
	jw_key(&w, "arguments");
	jw_open(&w, '{');
	{
		const char *an = l + strcspn(l, "\t") + 1, *p = args;
		while (*an && *an != '\t' && *an != '\n') {
			size_t al = strcspn(an, " \t\n"), vl;
			char key[64];
			while (*p == ' ')
				p++;
			str_copy(key, sizeof key, an, al);
			an += al + (an[al] == ' ');
			vl = *an == '\t' || *an == '\n' ? strlen(p) : strcspn(p, " ");
			if (vl) {
				jw_key(&w, key);
				jw_strn(&w, p, vl);
			}
			p += vl;
		}
	}
	jw_close(&w, '}');
	jw_close(&w, '}');
	if (mcp_call(s, "prompts/get", params.p, mcp_env_ms("MCP_TIMEOUT", 30000), &msg, &j, &tok, err, sizeof err)) {
		err_set(e, AG_E_USAGE, "the MCP prompt /%.*s failed: %s", (int)n, cmd, err);
		r = -1;
	} else {
		r = json_path(&j, 0, "result.messages");
		for (c = 0, k = r + 1; r >= 0 && c < j.t[r].size; c++, k = json_skip(&j, k)) {
			int ct = json_get(&j, k, "content");
			if (out->len)
				buf_adds(out, "\n\n");
			if (json_get(&j, ct, "text") >= 0)
				json_str_buf(&j, json_get(&j, ct, "text"), out);
			else if (json_path(&j, ct, "resource.text") >= 0)
				json_str_buf(&j, json_path(&j, ct, "resource.text"), out);
		}
		r = 1;
	}
	buf_free(&params);
	buf_free(&msg);
	free(tok);
	return r;
}

static size_t
mcp_tool_count(const struct mcp *m)
{
	size_t i, n = 0;
	for (i = 0; m && i < m->n; i++)
		n += m->srv[i].ntools;
	return n;
}

PROSE(mcp_report_msg,
	"No MCP servers configured (.mcp.json, mcpServers in ~/.claude.json, --mcp-config).\n")

/* /mcp and --mcp-list: each server, its state, its tools. */
static void
mcp_report(const struct mcp *m, struct buf *out)
{
	size_t i, k;
	if (!m || !m->n) {
		buf_adds(out, prose(mcp_report_msg));
		return;
	}
	for (i = 0; i < m->n; i++) {
		const struct mcp_srv *s = &m->srv[i];
		buf_printf(out, "%s (%s): %s%s%s\n", s->name, s->http ? "http" : "stdio",
		           s->state == MCP_READY ? "connected" : "failed", s->state == MCP_READY ? "" : ": ",
		           s->state == MCP_READY ? "" : s->why);
		for (k = 0; k < s->ntools; k++)
			buf_printf(out, "  %s\n", s->tools[k].full);
	}
}

PROSE(perm_add_msg,
	"bad permission rule '%.*s' (%s); write Tool or Tool(specifier)")

/* ==== 12. perm: what may run without asking ==== */

/* Rules use Claude Code's syntax and files: `Tool`, `Tool(specifier)`, `Bash(prefix:*)`, path globs for the
 * file tools, in permissions.allow / ask / deny of ~/.claude/settings.json, .claude/settings.json and
 * .claude/settings.local.json, plus --allowedTools / --disallowedTools. Deny beats ask beats allow.
 * Without a terminal, "ask" means no. */
enum { PERM_DEFAULT, PERM_ACCEPT_EDITS, PERM_PLAN, PERM_BYPASS };
enum { PERM_ALLOW = 0, PERM_DENY = 1, PERM_ASK = 2 };
enum { RULE_ALLOW, RULE_DENY, RULE_ASK };

struct perm_rule {
	int kind;
	char tool[64];
	char *spec;               /* NULL: the whole tool */
	const char *source;       /* where it came from: a settings file, a flag, "this session" */
};

struct perm {
	int mode;
	int interactive;          /* a terminal to ask on */
	struct bound *bound;      /* the directories a blanket rule or mode covers (main's; /add-dir grows it) */
	struct perm_rule *r;
	size_t n;
	char **sources;           /* owned copies of settings paths */
	size_t nsources;
};

/* Split "Bash(git diff:*),Read Edit" on commas and spaces outside parentheses into rules of one kind. */
static int
perm_add(struct perm *pm, int kind, const char *s, const char *source, struct ag_err *e)
{
	while (*s) {
		const char *b, *p;
		int depth = 0;
		struct perm_rule r;
		void *np;
		while (*s == ',' || *s == ' ')
			s++;
		if (!*s)
			break;
		b = s;
		for (p = s; *p && (depth || (*p != ',' && *p != ' ')); p++)
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		memset(&r, 0, sizeof r);
		r.kind = kind;
		r.source = source;
		{
			const char *lp = memchr(b, '(', (size_t)(p - b));
			size_t tl = lp ? (size_t)(lp - b) : (size_t)(p - b);
			if (!tl || tl >= sizeof r.tool || (lp && p[-1] != ')'))
				return err_set(e, AG_E_USAGE, prose(perm_add_msg),
				               (int)(p - b), b, source);
			memcpy(r.tool, b, tl);
			if (lp && !(r.spec = strndup(lp + 1, (size_t)(p - lp - 2))))
				return AG_E_NOMEM;
			if (r.spec && strcmp(r.tool, "WebFetch") == 0 && str_starts(r.spec, "domain:")) {
				char *c;                  /* host names compare without case or a final dot */
				size_t sl = strlen(r.spec);
				for (c = r.spec; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				while (sl > 8 && r.spec[sl - 1] == '.')
					r.spec[--sl] = 0;
			}
		}
		np = realloc(pm->r, (pm->n + 1) * sizeof *pm->r);
		if (!np) {
			free(r.spec);
			return AG_E_NOMEM;
		}
		pm->r = np;
		pm->r[pm->n++] = r;
		s = p;
	}
	return 0;
}

PROSE(perm_hooks_msg,
	"agent: %s: the %s matcher '%.100s' is not a regular expression (%s); its hooks "
	"are left out\n")

/* Hooks (Claude Code's "hooks" in settings.json): commands run at points of the loop, the event as JSON on
 * their stdin. A project's hooks count only in a trusted folder (struct perm_extra). */
enum { HOOK_PRE_TOOL, HOOK_POST_TOOL, HOOK_PROMPT, HOOK_STOP, HOOK_SUBAGENT_STOP, HOOK_SESSION_START,
       HOOK_SESSION_END, HOOK_PRE_COMPACT, HOOK_NOTIFY, HOOK_EVENTS };
static const char *const hook_event[HOOK_EVENTS] = { "PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop",
	"SubagentStop", "SessionStart", "SessionEnd", "PreCompact", "Notification" };

struct hook {
	int ev;
	char *matcher;            /* the tool events' pattern (NULL: every tool), as written */
	struct tool_rx *re;       /* ... compiled once, whole: ^(matcher)$ */
	char *cmd;
	int timeout;              /* seconds (default 60) */
};

struct hooks {
	struct hook *h;
	size_t n;
};

/* {"EVENT": [{"matcher": M, "hooks": [{"type": "command", "command": C, "timeout": S}]}]} of one file; a
 * matcher that is not a regular expression leaves its hooks out, with a line saying so. */
static void
perm_hooks(const struct json *j, int o, const char *path, struct hooks *hs)
{
	int e, i, k, g, t;
	for (e = 0; o >= 0 && j->t[o].type == JSMN_OBJECT && e < HOOK_EVENTS; e++) {
		int arr = json_get(j, o, hook_event[e]);
		for (i = 0, g = arr + 1; arr >= 0 && j->t[arr].type == JSMN_ARRAY && i < j->t[arr].size; i++, g = json_skip(j, g)) {
			struct buf m = {0};
			int in = json_get(j, g, "hooks");
			json_str_buf(j, json_get(j, g, "matcher"), &m);
			for (k = 0, t = in + 1; in >= 0 && j->t[in].type == JSMN_ARRAY && k < j->t[in].size; k++, t = json_skip(j, t)) {
				struct buf c = {0};
				long long to = 60;
				struct hook *np;
				struct tool_rx *re = NULL;
				char pat[600], err[120];
				if (m.len && strcmp(m.p, "*")) {
					base_snprintf(pat, sizeof pat, "^(%.580s)$", m.p);
					if (!(re = calloc(1, sizeof *re)) || tool_rx_comp(re, m.p, 0, err, sizeof err) ||   /* (its own offsets) */
					    (tool_rx_free(re), tool_rx_comp(re, pat, 0, err, sizeof err))) {
						base_dprintf(2, prose(perm_hooks_msg), path, hook_event[e], m.p, re ? err : "out of memory");
						free(re);
						break;
					}
				}
				if (!json_eq(j, json_get(j, t, "type"), "command") || json_str_buf(j, json_get(j, t, "command"), &c) ||
				    !c.len || !(np = realloc(hs->h, (hs->n + 1) * sizeof *hs->h))) {
					if (re)
						tool_rx_free(re);
					free(re);
					buf_free(&c);
					continue;
				}
				json_int(j, json_get(j, t, "timeout"), &to);
				hs->h = np;
				np += hs->n++;
				np->ev = e;
				np->matcher = re ? strdup(m.p) : NULL;
				np->re = re;
				np->cmd = c.p;
				np->timeout = to > 0 && to <= 86400 ? (int)to : 60;
			}
			buf_free(&m);
		}
	}
}

static void
perm_hooks_free(struct hooks *hs)
{
	while (hs->n--) {
		if (hs->h[hs->n].re)
			tool_rx_free(hs->h[hs->n].re);
		free(hs->h[hs->n].re);
		free(hs->h[hs->n].matcher);
		free(hs->h[hs->n].cmd);
	}
	free(hs->h);
	memset(hs, 0, sizeof *hs);
}

/* What a settings file says besides its rules, for main. A project's .claude/settings.json and
 * settings.local.json may come with a clone: what in them would run a command, start a server or widen
 * the boundary (apiKeyHelper, awsAuthRefresh, awsCredentialExport, MCP approvals, additionalDirectories,
 * bypassPermissions, allow rules for paths outside the project) counts only once the folder is trusted;
 * until then it is left out and named in dropped. */
struct perm_extra {
	struct buf *key_helper;   /* apiKeyHelper */
	struct buf *dropped;      /* what an untrusted project's file said that was left out, "; " between */
	struct buf *aws_refresh, *aws_export;   /* awsAuthRefresh, awsCredentialExport (commands: as apiKeyHelper) */
	int *sandbox;             /* sandbox.enabled */
	struct bound *dirs;       /* permissions.additionalDirectories are added here */
	struct mcp *mcp;          /* enableAllProjectMcpServers, enabledMcpjsonServers, disabledMcpjsonServers */
	struct hooks *hooks;      /* hooks */
	const char *base;         /* where relative additionalDirectories start (the project) */
	int shared;               /* this file is the project's (.claude/settings.json or settings.local.json) */
	int trusted;              /* the folder is trusted */
};

/* The names of a JSON array of strings, one per line, added to out. */
static void
perm_names(const struct json *j, int arr, struct buf *out)
{
	int i, t;
	if (arr < 0 || j->t[arr].type != JSMN_ARRAY)
		return;
	for (i = 0, t = arr + 1; i < j->t[arr].size && t < j->n; i++, t = json_skip(j, t)) {
		struct buf v = {0};
		if (json_str_buf(j, t, &v) == 0 && v.len && !memchr(v.p, '\n', v.len))
			buf_printf(out, "%s\n", v.p);
		buf_free(&v);
	}
}

/* Note what an untrusted project's settings file said that is left out. */
static void
perm_drop(struct perm_extra *x, const char *fmt, const char *what)
{
	char one[200];
	base_snprintf(one, sizeof one, fmt, what);
	if (!x->dropped || (x->dropped->p && str_find(x->dropped->p, one)))
		return;
	if (x->dropped->len)
		buf_adds(x->dropped, ", ");
	buf_adds(x->dropped, one);
}

PROSE(perm_load_extra_msg,
	"agent: %s: additionalDirectories: %s\n")

/* The settings besides rules (see struct perm_extra); a directory that is not there is skipped with a line. */
static void
perm_load_extra(const struct json *j, const char *path, struct perm_extra *x)
{
	int perms = json_get(j, 0, "permissions"), sb = json_path(j, 0, "sandbox.enabled"), arr, i, t;
	int commands = !x->shared || x->trusted;
	static const char *const cmds[] = { "apiKeyHelper", "awsAuthRefresh", "awsCredentialExport",
	                                    "enableAllProjectMcpServers", "enabledMcpjsonServers", "hooks" };
	if (commands && x->hooks)
		perm_hooks(j, json_get(j, 0, "hooks"), path, x->hooks);
	for (i = 0; !commands && i < 6; i++)
		if (json_get(j, 0, cmds[i]) >= 0)
			perm_drop(x, "%s", cmds[i]);
	if (!commands && perms >= 0 && json_get(j, perms, "additionalDirectories") >= 0)
		perm_drop(x, "%s", "additionalDirectories");
	if (commands && x->key_helper && json_get(j, 0, "apiKeyHelper") >= 0) {
		x->key_helper->len = 0;
		json_str_buf(j, json_get(j, 0, "apiKeyHelper"), x->key_helper);
	}
	if (commands && x->aws_refresh && json_get(j, 0, "awsAuthRefresh") >= 0) {
		x->aws_refresh->len = 0;
		json_str_buf(j, json_get(j, 0, "awsAuthRefresh"), x->aws_refresh);
	}
	if (commands && x->aws_export && json_get(j, 0, "awsCredentialExport") >= 0) {
		x->aws_export->len = 0;
		json_str_buf(j, json_get(j, 0, "awsCredentialExport"), x->aws_export);
	}
	if (x->sandbox && sb >= 0)
		*x->sandbox = j->s[j->t[sb].start] == 't';
	if (x->mcp && commands) {
		int all = json_get(j, 0, "enableAllProjectMcpServers");
		x->mcp->approve_all |= all >= 0 && j->t[all].type == JSMN_PRIMITIVE && j->s[j->t[all].start] == 't';
		perm_names(j, json_get(j, 0, "enabledMcpjsonServers"), &x->mcp->enabled);
	}
	if (x->mcp)
		perm_names(j, json_get(j, 0, "disabledMcpjsonServers"), &x->mcp->disabled);
	arr = perms >= 0 ? json_get(j, perms, "additionalDirectories") : -1;
	if (x->dirs && commands && arr >= 0 && j->t[arr].type == JSMN_ARRAY)
		for (i = 0, t = arr + 1; i < j->t[arr].size && t < j->n; i++, t = json_skip(j, t)) {
			struct buf d = {0};
			struct ag_err de = {0};
			if (json_str_buf(j, t, &d) == 0 && d.len && bound_add(x->dirs, x->base, d.p, &de) < 0)
				base_dprintf(2, prose(perm_load_extra_msg), path, de.msg);
			buf_free(&d);
		}
}

static int perm_tool_is_file(const char *tool);

/* An untrusted project's allow rules (from n0 on) reach no further than the project: a file rule for
 * "//abs" or "~/x" is left out, "/x" (absolute or the project's) is taken as the project's only. */
static void
perm_untrusted_allow(struct perm *pm, size_t n0, struct perm_extra *x)
{
	while (n0 < pm->n) {
		struct perm_rule *r = &pm->r[n0];
		char *sp = r->spec;
		if (!sp || !perm_tool_is_file(r->tool) || (sp[0] != '/' && sp[0] != '~')) {
			n0++;
		} else if (sp[0] == '/' && sp[1] != '/' && (r->spec = malloc(strlen(sp) + 2)) != NULL) {
			base_snprintf(r->spec, strlen(sp) + 2, ".%s", sp);
			free(sp);
			n0++;
		} else {
			char name[PATH_MAX];
			base_snprintf(name, sizeof name, "%s(%.150s)", r->tool, sp);
			perm_drop(x, "the rule %s", name);
			free(sp);
			memmove(r, r + 1, (pm->n - n0 - 1) * sizeof *r);
			pm->n--;
		}
	}
}

PROSE(perm_load_settings_msg,
	"%s is not valid JSON; fix or remove it")

/* permissions.{allow,deny,ask} (and defaultMode) of one settings file, and what perm_load_extra reads; a
 * missing file is fine, a broken one is an error that names the file. */
static int
perm_load_settings(struct perm *pm, const char *path, struct perm_extra *x, struct ag_err *e)
{
	static const char *const keys[] = { "allow", "deny", "ask" };
	struct buf b = {0};
	jsmntok_t *tok = NULL;
	struct json j;
	char *src;
	int perms, k, r = 0;
	if (file_read_all(path, &b, 1u << 20) < 0 || !b.len) {
		buf_free(&b);
		return 0;
	}
	if (json_parse_alloc(&j, b.p, b.len, &tok) <= 0 || j.t[0].type != JSMN_OBJECT) {
		free(tok);
		buf_free(&b);
		return err_set(e, AG_E_USAGE, prose(perm_load_settings_msg), path);
	}
	src = strdup(path);
	if (src) {
		void *np = realloc(pm->sources, (pm->nsources + 1) * sizeof *pm->sources);
		if (np) {
			pm->sources = np;
			pm->sources[pm->nsources++] = src;
		} else {
			free(src);
			src = NULL;
		}
	}
	perms = json_get(&j, 0, "permissions");
	for (k = 0; k < 3 && perms >= 0 && !r; k++) {
		int arr = json_get(&j, perms, keys[k]), i, t;
		if (arr < 0 || j.t[arr].type != JSMN_ARRAY)
			continue;
		for (i = 0, t = arr + 1; i < j.t[arr].size && t < j.n && !r; i++, t = json_skip(&j, t)) {
			struct buf rule = {0};
			size_t n0 = pm->n;
			if (json_str_buf(&j, t, &rule) == 0 && rule.len)
				r = perm_add(pm, k == 0 ? RULE_ALLOW : k == 1 ? RULE_DENY : RULE_ASK, rule.p, src ? src : path, e);
			if (k == 0 && x && x->shared && !x->trusted)
				perm_untrusted_allow(pm, n0, x);
			buf_free(&rule);
		}
	}
	if (x)
		perm_load_extra(&j, path, x);
	if (perms >= 0) {
		int dm = json_get(&j, perms, "defaultMode");
		if (json_eq(&j, dm, "acceptEdits")) pm->mode = PERM_ACCEPT_EDITS;
		else if (json_eq(&j, dm, "plan")) pm->mode = PERM_PLAN;
		else if (!json_eq(&j, dm, "bypassPermissions")) ;
		else if (x && x->shared && !x->trusted) perm_drop(x, "%s", "defaultMode bypassPermissions");
		else pm->mode = PERM_BYPASS;
	}
	free(tok);
	buf_free(&b);
	return r;
}

static int
perm_tool_is_ro(const char *tool)
{
	return strcmp(tool, "Read") == 0 || strcmp(tool, "Glob") == 0 || strcmp(tool, "Grep") == 0 ||
	       strcmp(tool, "TodoWrite") == 0 || strcmp(tool, "Task") == 0 ||   /* a subagent's own calls are checked */
	       strcmp(tool, "BashOutput") == 0 || strcmp(tool, "KillShell") == 0 ||   /* only what Bash started */
	       strcmp(tool, "ListMcpResourcesTool") == 0 || strcmp(tool, "ReadMcpResourceTool") == 0;
}

static int
perm_tool_is_file(const char *tool)
{
	return strcmp(tool, "Read") == 0 || strcmp(tool, "Write") == 0 || strcmp(tool, "Edit") == 0 ||
	       strcmp(tool, "Glob") == 0 || strcmp(tool, "Grep") == 0;
}

/* The wrappers that run the command after their own options and operands; opts: their short options that
 * take an argument; opaque: options that change how the command runs in a way not judged here (a new
 * directory, a string split into a command, a shell). Anything that runs a command some other way is
 * a shell (see perm_bash_part). */
static const struct perm_wrap {
	const char *name, *opts, *opaque;
	int operands;             /* words the wrapper takes before the command (timeout's duration, flock's file) */
} perm_wraps[] = {
	{ "command", "", "", 0 }, { "builtin", "", "", 0 }, { "exec", "a", "", 0 }, { "nohup", "", "", 0 },
	{ "env", "u", "CS", 0 }, { "nice", "n", "", 0 }, { "time", "fo", "", 0 }, { "timeout", "sk", "", 1 },
	{ "sudo", "ugpChrtTU", "Dsie", 0 }, { "doas", "uC", "s", 0 }, { "xargs", "adEILnPs", "", 0 },
	{ "stdbuf", "ioe", "", 0 }, { "busybox", "", "", 0 }, { "ionice", "cnp", "", 0 }, { "setsid", "", "", 0 },
	{ "flock", "wE", "c", 1 },
};

/* Long options of the wrappers that take the next word as their argument, and those that are opaque. */
static const char perm_wrap_long[] = " --unset --signal --kill-after --user --group --prompt --host --close-from "
	"--role --type --other-user --arg-file --delimiter --max-args --max-lines --max-procs --max-chars --eof "
	"--input --output --error --adjustment --format --class --classdata --timeout --conflict-exit-code ";
static const char perm_wrap_opaque[] = " --chdir --split-string --shell --login --edit --command --debug ";

/* Skip one wrapper's options and operands from w[i]; returns the new i, or -1 when one makes it opaque.
 * time -o FILE writes FILE, flock creates its lock file: both go to targets. */
static int
perm_wrap_skip(const struct perm_wrap *wp, char **w, int i, int n, struct buf *targets)
{
	int ops = wp->operands, output = !strcmp(wp->name, "time");
	for (i++; i < n && w[i][0] == '-' && w[i][1]; i++) {
		const char *a = w[i];
		char key[40];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[1] == '-') {
			size_t l = strcspn(a, "=");
			if (l > 30)
				return -1;
			base_snprintf(key, sizeof key, " %.*s ", (int)l, a);
			if (str_find(perm_wrap_opaque, key))
				return -1;
			if (!a[l] && str_find(perm_wrap_long, key) && ++i < n && output && !strcmp(a, "--output") && targets)
				buf_printf(targets, "%s\n", w[i]);
			else if (a[l] && output && !strncmp(a, "--output", l) && targets)
				buf_printf(targets, "%s\n", a + l + 1);
			continue;
		}
		for (a++; *a; a++) {
			if (strchr(wp->opaque, *a))
				return -1;
			if (strchr(wp->opts, *a)) {
				const char *v = a[1] ? a + 1 : i + 1 < n ? w[++i] : "";
				if (output && *a == 'o' && targets)
					buf_printf(targets, "%s\n", v);
				break;
			}
		}
	}
	for (; ops > 0 && i < n; ops--, i++)
		if (!strcmp(wp->name, "flock") && targets)
			buf_printf(targets, "%s\n", w[i]);
	return i;
}

/* The files a command writes, added to t one per line: tee's files, the operands of the commands in all[]
 * and of sed -i, the last operand (or -t DIR) of cp, mv, ln and install, dd's of=, sort -o. What a link
 * or a move takes from is changed too (mv empties it, ln and cp -l/-s make a way back to it): every operand
 * of mv and ln and of cp -l/-s, and for ln -s each relative source also as seen from the link. Returns 1
 * when the command writes files at all (then where xargs feeds it cannot be judged). */
static int
perm_bash_cmd_targets(char **w, int n, struct buf *t)
{
	const char *c = w[0];
	int k, last = -1, nonopt = 0, opts = 1, sym = 0;
	static const char *const all[] = { "rm", "rmdir", "touch", "truncate", "mkdir", "chmod", "chown", "chgrp",
	                                   "unlink", "shred", "mkfifo", "mknod" };
	int tee = !strcmp(c, "tee"), dd = !strcmp(c, "dd"), every = 0, sorto = !strcmp(c, "sort"), sedi = 0;
	int copy = !strcmp(c, "cp") || !strcmp(c, "mv") || !strcmp(c, "ln") || !strcmp(c, "install");
	int srcs = !strcmp(c, "mv") || !strcmp(c, "ln");
	for (k = 0; k < (int)(sizeof all / sizeof all[0]); k++)
		every |= !strcmp(c, all[k]);            /* their operands are what they change */
	for (k = 1; k < n; k++) {
		const char *a = w[k];
		int shortopt = a[0] == '-' && a[1] != '-';
		sedi |= !strcmp(c, "sed") && (str_starts(a, "-i") || str_starts(a, "--in-place"));
		every |= !strcmp(c, "install") && (!strcmp(a, "-d") || !strcmp(a, "--directory"));
		sym |= !strcmp(c, "ln") && ((shortopt && strchr(a, 's')) || !strcmp(a, "--symbolic"));
		srcs |= !strcmp(c, "cp") && ((shortopt && strpbrk(a, "ls")) || !strcmp(a, "--link") ||
		                             !strcmp(a, "--symbolic-link"));
	}
	if (every || sedi)
		tee = 1;
	for (k = 1; k < n && (tee || dd || copy || sorto); k++) {
		const char *a = w[k];
		if (opts && !strcmp(a, "--")) {
			opts = 0;
		} else if (sorto) {
			if (!strcmp(a, "-o") && k + 1 < n)
				buf_printf(t, "%s\n", w[++k]);
			else if (str_starts(a, "-o") || str_starts(a, "--output="))
				buf_printf(t, "%s\n", a + (a[1] == 'o' ? 2 : 9));
		} else if (opts && copy && a[0] == '-' && a[1] != '-' && strchr(a, 't')) {
			const char *d = strchr(a, 't') + 1;   /* -t DIR, -tDIR, -at DIR */
			if (*d)
				buf_printf(t, "%s/x\n", d);
			else if (k + 1 < n)
				buf_printf(t, "%s/x\n", w[++k]);
			copy = 2;
		} else if (dd) {
			if (str_starts(a, "of="))
				buf_printf(t, "%s\n", a + 3);
		} else if (opts && copy && (!strcmp(a, "-t") || !strcmp(a, "--target-directory")) && k + 1 < n) {
			buf_printf(t, "%s/x\n", w[++k]);
			copy = 2;
		} else if (opts && copy && str_starts(a, "--target-directory=")) {
			buf_printf(t, "%s/x\n", a + 19);
			copy = 2;
		} else if (opts && a[0] == '-' && a[1]) {
			/* an option */
		} else {
			if (tee || srcs)
				buf_printf(t, "%s\n", a);
			last = k;
			nonopt++;
		}
	}
	if (copy == 1 && last >= 0)
		buf_printf(t, "%s\n", nonopt >= 2 ? w[last] : ".");
	for (k = 1; sym && k < n; k++)               /* ln -s SRC DEST: SRC as the link will read it */
		if (w[k][0] != '-' && w[k][0] != '/' && (k != last || nonopt == 1))
			buf_printf(t, "%s/%s\n", nonopt >= 2 && copy == 1 ? w[last] : ".", w[k]);
	return tee || dd || copy || sorto;
}

/* find's start points are what -delete and -exec change; the command of -exec/-execdir/-ok/-okdir is a
 * part of its own (rules and targets see it); -fprint FILE and the like write FILE. 1: not judged (-L). */
static int perm_bash_part(char **w, int n, struct buf *out, struct buf *targets, int fed);

static int
perm_bash_find(char **w, int n, struct buf *out, struct buf *targets)
{
	int k, starts = 1, changes = 0, follow = 0, r = 0;
	for (k = 1; k < n; k++)
		changes |= !strcmp(w[k], "-delete") || str_starts(w[k], "-exec") || str_starts(w[k], "-ok");
	for (k = 1; k < n; k++) {
		if (starts && (!strcmp(w[k], "-H") || !strcmp(w[k], "-L") || !strcmp(w[k], "-P"))) {
			follow |= w[k][1] != 'P';
		} else if (starts && w[k][0] != '-' && w[k][0] != '(' && w[k][0] != '!') {
			if (changes && targets)
				buf_printf(targets, "%s\n", w[k]);
		} else {
			starts = 0;
			if (str_starts(w[k], "-fprint") || !strcmp(w[k], "-fls")) {
				if (targets && k + 1 < n)
					buf_printf(targets, "%s\n", w[k + 1]);
			} else if (str_starts(w[k], "-exec") || str_starts(w[k], "-ok")) {
				int e = k + 1;
				while (e < n && strcmp(w[e], ";") && strcmp(w[e], "+"))
					e++;
				if (e > k + 1)
					r |= perm_bash_part(w + k + 1, e - k - 1, out, targets, 0);
				k = e;
			}
		}
	}
	return r | (follow && changes);
}

PROSE(perm_bash_part_msg,
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

/* One simple command of a Bash line, normalised into out: leading assignments, keywords and wrappers
 * (perm_wraps) dropped with their options, words joined by one space, quotes removed. cd and pushd go to
 * targets as "\1DIR" lines (where later relative targets start). fed: its arguments come from elsewhere
 * (xargs). Returns 1 when it cannot be judged: another shell, eval, source, a variable as the command, an
 * opaque wrapper option, or a command xargs feeds that writes files. */
static int
perm_bash_part(char **w, int n, struct buf *out, struct buf *targets, int fed)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ash", "ksh", "eval", "source", ".",
	                                      "watch", "su", "chroot", "script", "parallel", "chrt", "taskset",
	                                      "nsenter", "unshare", "ssh-agent", "fish", "csh", "tcsh" };
	int i = 0, k, again = 1, start;
	while (again && i < n) {
		again = 0;
		while (i < n && strchr(w[i], '=') && w[i][0] != '=' && strspn(w[i], prose(perm_bash_part_msg)) ==
		       (size_t)(strchr(w[i], '=') - w[i]))
			i++;                          /* NAME=value */
		while (i < n && (!strcmp(w[i], "then") || !strcmp(w[i], "else") || !strcmp(w[i], "do") || !strcmp(w[i], "if") ||
		                 !strcmp(w[i], "elif") || !strcmp(w[i], "while") || !strcmp(w[i], "until") || !strcmp(w[i], "!")))
			i++, again = 1;               /* shell keywords before the command */
		if (i < n && strchr(w[i], '/') && strrchr(w[i], '/')[1]) {   /* /bin/rm is rm */
			char *base = strrchr(w[i], '/') + 1;
			memmove(w[i], base, strlen(base) + 1);
		}
		for (k = 0; i < n && k < (int)(sizeof perm_wraps / sizeof perm_wraps[0]); k++)
			if (strcmp(w[i], perm_wraps[k].name) == 0) {
				fed |= !strcmp(w[i], "xargs");
				if ((i = perm_wrap_skip(&perm_wraps[k], w, i, n, targets)) < 0)
					return 1;
				again = 1;
				break;
			}
	}
	if (i >= n || !strcmp(w[i], "fi") || !strcmp(w[i], "done") || !strcmp(w[i], "esac"))
		return 0;
	for (k = 0; k < (int)(sizeof shells / sizeof shells[0]); k++)
		if (!strcmp(w[i], shells[k]))
			return 1;
	if (strpbrk(w[i], "$`*?["))
		return 1;
	start = i;
	if (out->len)
		buf_add(out, "\n", 1);
	for (k = i; k < n; k++) {
		if (k > i)
			buf_add(out, " ", 1);
		buf_adds(out, w[k]);
	}
	if (!strcmp(w[i], "cd") || !strcmp(w[i], "pushd") || !strcmp(w[i], "popd")) {
		for (k = i + 1; k < n && w[k][0] == '-' && w[k][1] && strcmp(w[k], "--"); k++)
			;
		k += k < n && !strcmp(w[k], "--");
		if (targets)
			buf_printf(targets, "\1%s\n", w[i][0] == 'p' && w[i][1] == 'o' ? "$" : k < n ? w[k] : "~");
		return 0;
	}
	if (!strcmp(w[i], "find"))
		return perm_bash_find(w + start, n - start, out, targets);
	{
		struct buf scratch = {0};
		int writes = perm_bash_cmd_targets(w + start, n - start, targets ? targets : &scratch);
		buf_free(&scratch);
		return writes && fed;
	}
}

/* A Bash line as its simple commands (one per line in out), split at ; & | && || newlines, ( ) { },
 * $( ) and backquotes, outside quotes; targets (or NULL) gets the files it writes: the targets of > >> >|
 * &> <> and those of perm_bash_cmd_targets. Returns 1 when some part cannot be judged (see
 * perm_bash_part, plus substitutions inside double quotes or as a redirection's target), 2 when the only
 * doubt is a here-document (its lines are judged as commands too), else 0. */
static int
perm_bash_split(const char *cmd, struct buf *out, struct buf *targets)
{
	char *words[64];
	int nw = 0, opaque = 0, skip_redirect = 0, heredoc = 0, redir_out = 0, redir_dup = 0;
	struct buf cur = {0};
	char q = 0;
	int inword = 0;
	size_t i;
	out->len = 0;
	buf_add(out, "", 0);
	for (i = 0;; i++) {
		char c = cmd[i];
		int sep = 0, end_word = 0;
		if (q) {
			if (!c) {
				opaque = 1;                   /* an unterminated quote */
				end_word = sep = 1;
			} else if (c == q) {
				q = 0;
				continue;
			} else if (q == '"' && c == '\\' && cmd[i + 1]) {
				buf_add(&cur, &cmd[++i], 1);
				continue;
			} else {
				if (q == '"' && (c == '`' || (c == '$' && cmd[i + 1] == '(')))
					opaque = 1;               /* a substitution inside double quotes runs a command */
				buf_add(&cur, &c, 1);
				continue;
			}
		} else if (c == '\'' || c == '"') {
			q = c;
			inword = 1;
			continue;
		} else if (c == '\\' && cmd[i + 1]) {
			i++;
			if (cmd[i] != '\n') {
				buf_add(&cur, &cmd[i], 1);
				inword = 1;
			}
			continue;
		} else if (!c || c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')' || c == '`' ||
		           (c == '$' && cmd[i + 1] == '(')) {
			if (c == '$' || c == '`') {
				if ((nw == 0 || skip_redirect == 1) && !inword)
					opaque = 1;               /* the output of a command is the command name, or the target */
				if (c == '$')
					i++;
			}
			end_word = sep = 1;
		} else if (c == '<' || c == '>') {
			if (c == '<' && cmd[i + 1] == '<')
				heredoc = 1;                  /* a here-document */
			end_word = 1;
			if (skip_redirect != 1 || !inword)
				skip_redirect = 2;            /* (>a<b: "a" is still the first one's target) */
		} else if (c == ' ' || c == '\t') {
			end_word = 1;
		} else {
			buf_add(&cur, &c, 1);
			inword = 1;
			continue;
		}
		if (end_word && inword) {
			if (skip_redirect == 1 || (skip_redirect == 2 && cur.len && strspn(cur.p, "0123456789") == cur.len)) {
				/* a redirection's target (or the fd number before it) is not a word of the command */
				if (skip_redirect == 1 && redir_out && targets && cur.p &&
				    !(redir_dup && (strspn(cur.p, "0123456789") == cur.len || !strcmp(cur.p, "-")))) {
					if (memchr(cur.p, '\n', cur.len))
						opaque = 1;
					buf_printf(targets, "%s\n", cur.p);
				}
			} else if (nw < 64 && cur.p && strcmp(cur.p, "{") && strcmp(cur.p, "}") && strcmp(cur.p, "!")) {
				words[nw++] = strdup(cur.p);
			} else if (nw >= 64) {
				opaque = 1;
			}
			if (skip_redirect)
				skip_redirect--;
			cur.len = 0;
			if (cur.p)
				cur.p[0] = 0;
			inword = 0;
		} else if (end_word && skip_redirect == 2 && c != '<' && c != '>') {
			/* spaces between > and its target */
		}
		if (c == '<' || c == '>') {
			redir_out = c == '>';
			redir_dup = 0;
			while (cmd[i + 1] == '>' || cmd[i + 1] == '&' || cmd[i + 1] == '<' || cmd[i + 1] == '|') {
				redir_out |= cmd[i + 1] == '>';
				redir_dup |= cmd[i + 1] == '&';
				i++;
			}
			skip_redirect = 1;
		}
		if (sep) {
			if (nw)
				opaque |= perm_bash_part(words, nw, out, targets, 0);
			while (nw)
				free(words[--nw]);
			skip_redirect = 0;
		}
		if (!c)
			break;
	}
	buf_free(&cur);
	return opaque ? 1 : heredoc ? 2 : 0;
}

/* Does a Bash rule's specifier cover one normalised simple command? "prefix:*" or the exact command. */
static int
perm_bash_match(const char *spec, const char *part, size_t n)
{
	size_t sl = strlen(spec);
	if (sl >= 2 && strcmp(spec + sl - 2, ":*") == 0) {
		sl -= 2;
		return n >= sl && strncmp(part, spec, sl) == 0 && (n == sl || part[sl] == ' ');
	}
	return n == sl && strncmp(part, spec, n) == 0;
}

/* Is every simple command of a Bash line covered by some allow rule? */
static int
perm_bash_allowed(const struct perm *p, const char *cmd)
{
	struct buf parts = {0};
	size_t i = 0, r;
	int ok = !perm_bash_split(cmd, &parts, NULL) && parts.len > 0;
	while (ok && i < parts.len) {
		const char *nl = memchr(parts.p + i, '\n', parts.len - i);
		size_t n = nl ? (size_t)(nl - (parts.p + i)) : parts.len - i;
		int hit = 0;
		for (r = 0; r < p->n && !hit; r++)
			hit = p->r[r].kind == RULE_ALLOW && !strcmp(p->r[r].tool, "Bash") &&
			      (!p->r[r].spec || !*p->r[r].spec || !strcmp(p->r[r].spec, "*") ||
			       perm_bash_match(p->r[r].spec, parts.p + i, n));
		ok = hit;
		i += n + 1;
	}
	buf_free(&parts);
	return ok;
}

/* A Bash rule covers a command when it covers every simple command in it (for deny and ask: any one). */
static int
perm_bash_rule(const struct perm_rule *r, const char *cmd, int any)
{
	struct buf parts = {0};
	size_t i = 0;
	int opaque = perm_bash_split(cmd, &parts, NULL), hit = 0, all = parts.len > 0 && !opaque;
	while (i < parts.len) {
		const char *nl = memchr(parts.p + i, '\n', parts.len - i);
		size_t n = nl ? (size_t)(nl - (parts.p + i)) : parts.len - i;
		int m = perm_bash_match(r->spec, parts.p + i, n);
		hit |= m;
		all &= m;
		i += n + 1;
	}
	buf_free(&parts);
	return any ? hit : all;
}

/* A rule naming an MCP server (mcp__SERVER) covers every tool of it (mcp__SERVER__TOOL). */
static int
perm_mcp_server(const char *rule, const char *tool)
{
	size_t n = strlen(rule);
	return str_starts(rule, "mcp__") && !str_find(rule + 5, "__") && strncmp(tool, rule, n) == 0 &&
	       strncmp(tool + n, "__", 2) == 0;
}

/* Does a rule's tool name cover this tool? As in Claude Code, Edit rules cover every tool that edits
 * files (Write too) and Read rules every tool that reads them (Grep and Glob too). */
static int
perm_rule_tool(const char *rule, const char *tool)
{
	return strcmp(rule, tool) == 0 || (strcmp(rule, "Edit") == 0 && strcmp(tool, "Write") == 0) ||
	       (strcmp(rule, "Read") == 0 && (strcmp(tool, "Grep") == 0 || strcmp(tool, "Glob") == 0));
}

/* A path rule's specifier, Claude Code's way: "//abs/dir" is absolute, "~/x" is below $HOME, "/x" is
 * absolute or below the project, "x" and "./x" below the project (a deny or ask rule: anywhere too). */
static int
perm_path_match(const struct perm_rule *r, const char *arg, const char *root)
{
	const char *sp = r->spec, *h = getenv("HOME");
	char tmp[PATH_MAX];
	size_t cl = strlen(root);
	if (sp[0] == '~' && sp[1] == '/' && h && *h == '/') {
		if (base_snprintf(tmp, sizeof tmp, "%s%s", h, sp + 1) >= (int)sizeof tmp)
			return 0;
		return tool_glob_match(tmp, arg);
	}
	if (sp[0] == '/' && sp[1] == '/')
		return tool_glob_match(sp + 1, arg);
	if ((sp[0] == '/' || r->kind != RULE_ALLOW) && tool_glob_match(sp, arg))
		return 1;
	if (sp[0] == '.' && sp[1] == '/')
		sp += 2;
	if (strncmp(arg, root, cl) == 0 && (arg[cl] == '/' || cl == 1)) {   /* project-relative globs */
		str_copy(tmp, sizeof tmp, arg + cl + (cl > 1), strlen(arg + cl + (cl > 1)));
		return tool_glob_match(sp[0] == '/' ? sp + 1 : sp, tmp);
	}
	return 0;
}

/* root: the project directory, the base of relative path rules. */
static int
perm_rule_match(const struct perm_rule *r, const char *tool, const char *arg, const char *root)
{
	if (perm_mcp_server(r->tool, tool))
		return 1;
	if (!perm_rule_tool(r->tool, tool))
		return 0;
	if (!r->spec || !*r->spec || strcmp(r->spec, "*") == 0)
		return 1;
	if (!arg)
		return 0;
	if (strcmp(tool, "Bash") == 0)
		return perm_bash_rule(r, arg, r->kind != RULE_ALLOW);
	if (perm_tool_is_file(tool))
		return perm_path_match(r, arg, root);
	return tool_glob_match(r->spec, arg);
}

static const struct perm_rule *
perm_find(const struct perm *p, int kind, const char *tool, const char *arg, const char *cwd, int specific)
{
	size_t i;
	for (i = 0; i < p->n; i++)
		if (p->r[i].kind == kind && (!specific || (p->r[i].spec && *p->r[i].spec && strcmp(p->r[i].spec, "*"))) &&
		    perm_rule_match(&p->r[i], tool, arg, cwd))
			return &p->r[i];
	return NULL;
}

/* A file a Grep or Glob walk reaches that a deny rule with a path names (a Read rule for .env files) is left out. */
static int
perm_walk_denied(const void *perm, const char *tool, const char *path)
{
	const struct perm *p = perm;
	return p && perm_find(p, RULE_DENY, tool, path, p->bound && p->bound->n ? p->bound->dir[0] : "/", 1) != NULL;
}

/* The user's own skills (~/.claude/skills/) are read like the project's: the system prompt names them. */
static int
perm_is_home_skill(const char *tool, const char *path)
{
	const char *h = getenv("HOME");
	char dir[PATH_MAX];
	return perm_tool_is_ro(tool) && h && *h == '/' && bound_resolve("/", "~/.claude/skills", dir, sizeof dir) == 0 &&
	       bound_under(path, dir);
}

PROSE(perm_bash_writes_msg,
	"what a command inside `%.200s` makes of it")

/* Where a Bash command writes that needs the user, whatever rule allowed the command: a target (see
 * perm_bash_split) that is the agent's own configuration (1) or outside the boundary (3), or that cannot be
 * judged (2: a variable, a glob, a command inside). what gets the target as written. 0: nothing of that.
 * After a cd, a relative target is judged from every directory the shell may then be in (a cd in a
 * subshell or one that fails leaves it where it was). */
static int
perm_bash_writes(const struct perm *p, const char *cmd, const char *cwd, char *what, size_t cap)
{
	struct buf parts = {0}, t = {0}, dirs = {0};
	const char *h = getenv("HOME");
	size_t i = 0, d, end;
	int r = perm_bash_split(cmd, &parts, &t) == 1 ? 2 : 0, lost = 0, cd;
	base_snprintf(what, cap, prose(perm_bash_writes_msg), cmd);
	buf_printf(&dirs, "%s", cwd);
	buf_add(&dirs, "", 1);
	while (!r && i < t.len) {
		char *nl = memchr(t.p + i, '\n', t.len - i), exp[PATH_MAX], real[PATH_MAX], lex[PATH_MAX * 2];
		const char *tg = t.p + i, *rest = NULL;
		*nl = 0;
		i = (size_t)(nl - t.p) + 1;
		if ((cd = tg[0] == '\1'))
			tg++;
		str_copy(what, cap, tg, strlen(tg));
		if (tg[0] == '~' && (tg[1] == '/' || !tg[1]))
			rest = tg + 1;
		else if (str_starts(tg, "$HOME") && (tg[5] == '/' || !tg[5]))
			rest = tg + 5;
		else if (str_starts(tg, "${HOME}") && (tg[7] == '/' || !tg[7]))
			rest = tg + 7;
		if ((rest && !(h && *h == '/')) || (tg[0] == '~' && !rest) ||
		    base_snprintf(exp, sizeof exp, "%s%s", rest ? h : "", rest ? rest : tg) >= (int)sizeof exp ||
		    !exp[0] || strpbrk(exp, "$`*?[")) {
			if (cd)
				lost = 1;             /* a cd that cannot be followed: relative targets after it are not judged */
			else
				r = 2;                /* (~user/...: another home, not judged) */
			continue;
		}
		if (exp[0] != '/' && lost && !cd) {
			r = 2;
			continue;
		}
		for (d = 0, end = dirs.len; !r && d < end; d += strlen(dirs.p + d) + 1) {
			const char *base = dirs.p + d;
			if (bound_resolve(base, exp, real, sizeof real)) {
				r = cd ? 0 : 2;
				lost |= cd;
			} else if (cd) {
				if (dirs.len < 8 * PATH_MAX)
					buf_add(&dirs, real, strlen(real) + 1);
				else
					lost = 1;
			} else if (!strcmp(real, "/dev/null") || !strcmp(real, "/dev/stdout") || !strcmp(real, "/dev/stderr") ||
			           !strcmp(real, "/dev/tty") || str_starts(real, "/dev/fd/") || str_starts(real, "/proc/self/fd/")) {
				/* not a file */
			} else if (base_snprintf(lex, sizeof lex, "%s/%s", exp[0] == '/' ? "" : base, exp) > 0 &&
			           (bound_is_config(real) || bound_is_config(lex))) {
				r = 1;
			} else if (p->bound && !bound_inside(p->bound, real)) {
				r = 3;
			}
			if (exp[0] == '/')
				break;            /* an absolute target (or cd) once */
		}
	}
	buf_free(&parts);
	buf_free(&t);
	buf_free(&dirs);
	return r;
}

/* What the permission check is asked about one tool call. */
struct perm_call {
	const char *tool;
	const char *arg;          /* Bash: the command; file tools: the resolved path; WebFetch: domain:HOST; or NULL */
	const char *lex;          /* file tools: the path made absolute with links not followed (NULL: arg) */
	const char *given;        /* file tools: the path as the model wrote it (NULL: lex) */
	const char *cwd;          /* Bash's working directory, where a command's relative paths start */
	int hook_allow;           /* a PreToolUse hook said allow: as an allow rule, never past the boundary */
};

/* A rule of kind that covers the call, by its resolved path or (deny and ask) the path as written. */
static const struct perm_rule *
perm_find_call(const struct perm *p, int kind, const struct perm_call *c, const char *root)
{
	const struct perm_rule *r = perm_find(p, kind, c->tool, c->arg, root, 0);
	if (!r && kind != RULE_ALLOW && c->lex && c->arg && strcmp(c->lex, c->arg))
		r = perm_find(p, kind, c->tool, c->lex, root, 0);
	return r;
}

PROSE(perm_check_msg8,
	"Permission to use %s was denied by the rule %s%s%s%s (%s).")

PROSE(perm_check_msg7,
	"A rule says to ask before %s here, and there is no terminal to ask.")

PROSE(perm_check_msg1,
	"This command runs another command in a way that cannot be checked against the deny "
	"rules (a shell -c, eval, or a variable as the command), so it needs the user's approval, "
	"and there is no terminal to ask. Run the commands directly.")
PROSE(perm_check_msg2,
	"Permission to use Bash was denied: the command writes to %.300s, %s; an allow rule "
	"covers the command, not where it writes, so this needs the user's approval, and there is no "
	"terminal to ask.")
PROSE(perm_check_msg3,
	"%s would change %.200s, a file that configures the agent itself; that always needs the "
	"user's approval, and there is no terminal to ask.")
PROSE(perm_check_msg4,
	"%s of %.200s%s%.200s: that is outside the working directory (%.200s) and the added "
	"directories, which needs the user's approval, and there is no terminal to ask; --add-dir DIR, or a "
	"rule like --allowedTools '%s(/%.200s%s)', allows it.")
PROSE(perm_check_msg5,
	"Plan mode is on: only read-only tools may run. Present your plan instead of "
	"running %s.")
PROSE(perm_check_msg6,
	"Permission to use %s was denied: this run has no terminal to ask, and no rule allows "
	"it (the user can pass --allowedTools %s, --permission-mode acceptEdits, or "
	"--dangerously-skip-permissions).")

/* PERM_ALLOW, PERM_DENY (why says why, for the model and the user) or PERM_ASK (interactive only).
 * The one check every tool call goes through: deny rules first; then what always asks (the agent's own
 * configuration, a Bash command writing to it or outside the boundary, an ask rule, a path outside the
 * boundary without a path rule that covers it); then modes and allow rules. Only bypassPermissions skips
 * the boundary. */
static int
perm_check(const struct perm *p, const struct perm_call *c, char *why, size_t cap)
{
	const char *tool = c->tool, *arg = c->arg, *lex = c->lex ? c->lex : c->arg, *given = c->given ? c->given : lex;
	const char *root = p->bound && p->bound->n ? p->bound->dir[0] : c->cwd ? c->cwd : "/";
	const struct perm_rule *r;
	int file = arg && perm_tool_is_file(tool);
	int outside = file && p->bound && !bound_inside(p->bound, arg) && !perm_is_home_skill(tool, arg);
	int config = arg && (strcmp(tool, "Write") == 0 || strcmp(tool, "Edit") == 0) &&
	             (bound_is_config(arg) || bound_is_config(lex));
	int ask = 0, bw = 0;
	char target[512];
	if ((r = perm_find_call(p, RULE_DENY, c, root)) != NULL) {
		base_snprintf(why, cap, prose(perm_check_msg8), tool, r->tool,
		         r->spec ? "(" : "", r->spec ? r->spec : "", r->spec ? ")" : "", r->source);
		return PERM_DENY;
	}
	if (strcmp(tool, "Bash") == 0 && arg && perm_find(p, RULE_DENY, tool, NULL, root, 0) == NULL) {
		struct buf parts = {0};
		size_t i;
		int opaque = perm_bash_split(arg, &parts, NULL), has_spec_deny = 0;
		buf_free(&parts);
		for (i = 0; i < p->n; i++)
			has_spec_deny |= p->r[i].kind == RULE_DENY && !strcmp(p->r[i].tool, "Bash") && p->r[i].spec && *p->r[i].spec;
		if (opaque == 1 && has_spec_deny) {
			base_snprintf(why, cap, prose(perm_check_msg1));
			return p->interactive ? PERM_ASK : PERM_DENY;
		}
		if (p->mode != PERM_BYPASS && p->mode != PERM_PLAN)
			bw = perm_bash_writes(p, arg, c->cwd ? c->cwd : root, target, sizeof target);
	}
	if (bw) {
		base_snprintf(why, cap, prose(perm_check_msg2), target, bw == 1 ? "a file that configures the agent itself" :
		         bw == 3 ? "which is outside the working directory and the added directories" :
		         "a target that cannot be checked before it runs");
		ask = 1;
	} else if (config) {
		base_snprintf(why, cap, prose(perm_check_msg3), tool, given);
		ask = 1;
	} else if (perm_find_call(p, RULE_ASK, c, root)) {
		base_snprintf(why, cap, prose(perm_check_msg7), tool);
		ask = 1;
	} else if (outside && p->mode != PERM_BYPASS && !perm_find(p, RULE_ALLOW, tool, arg, root, 1)) {
		base_snprintf(why, cap, prose(perm_check_msg4), tool, given, strcmp(given, arg) ? ", which resolves to " : "",
		         strcmp(given, arg) ? arg : "", root, perm_tool_is_ro(tool) ? "Read" : "Edit", arg,
		         strcmp(tool, "Grep") && strcmp(tool, "Glob") ? "" : "/**");
		ask = 1;
	} else if (perm_tool_is_ro(tool)) {
		return PERM_ALLOW;
	} else if (p->mode == PERM_PLAN) {
		base_snprintf(why, cap, prose(perm_check_msg5), tool);
		return PERM_DENY;
	} else if (p->mode == PERM_BYPASS) {
		return PERM_ALLOW;
	} else if (p->mode == PERM_ACCEPT_EDITS && (strcmp(tool, "Edit") == 0 || strcmp(tool, "Write") == 0)) {
		return PERM_ALLOW;
	} else if (c->hook_allow || (strcmp(tool, "Bash") == 0 ? (arg && (perm_find(p, RULE_ALLOW, tool, NULL, root, 0) ||
	                                                perm_bash_allowed(p, arg))) :
	           perm_find(p, RULE_ALLOW, tool, arg, root, 0) != NULL)) {
		return PERM_ALLOW;
	} else {
		base_snprintf(why, cap, prose(perm_check_msg6), tool, tool);
		ask = 1;
	}
	return ask && p->interactive ? PERM_ASK : PERM_DENY;
}

static void
perm_free(struct perm *p)
{
	size_t i;
	for (i = 0; i < p->n; i++)
		free(p->r[i].spec);
	for (i = 0; i < p->nsources; i++)
		free(p->sources[i]);
	free(p->r);
	free(p->sources);
	memset(p, 0, sizeof *p);
}

/* ==== 13. sess: sessions that survive ==== */

/* A session is a JSON Lines file, one per conversation, under $XDG_STATE_HOME/agent/sessions/<cwd>/:
 * a header line, then one line per completed message, each appended with one write and fsync'd before
 * the next request, so a power cut or kill -9 loses at most the message in flight. A torn last line is
 * ignored on load. A compaction adds a line holding the messages the session goes on from; the file
 * keeps the whole history. Files are 0600; the API key is never in them. */
struct sess {
	int fd;
	char id[40];
	char path[PATH_MAX];
	struct buf header;        /* a new session's first line, written with its first message (none: empty) */
};

/* <state>/sessions/<cwd with '/' turned into '-'> */
static int
sess_dir(const char *cwd, char *out, size_t cap, int create)
{
	char st[PATH_MAX], slug[PATH_MAX];
	size_t i;
	int r;
	if (cfg_state_dir(st, sizeof st, create))
		return AG_E_INVAL;
	for (i = 0; cwd[i] && i + 1 < sizeof slug; i++)
		slug[i] = cwd[i] == '/' ? '-' : cwd[i];
	slug[i] = 0;
	r = base_snprintf(out, cap, "%s/sessions/%s", st, slug);
	if (r < 0 || (size_t)r >= cap)
		return AG_E_TOOBIG;
	if (create && file_mkdirs(out, 0700))
		return AG_E_IO;
	return 0;
}

/* A new session's file appears with its first message, never before: open it and write its header.
 * 1 when the file is open for appending. */
static int
sess_ready(struct sess *s)
{
	if (s->fd < 0 && s->header.len) {
		s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->fd >= 0 && (fd_write_all(s->fd, s->header.p, s->header.len) || fsync(s->fd) < 0)) {
			close(s->fd);
			unlink(s->path);
			s->fd = -1;
		}
		buf_free(&s->header);
	}
	return s->fd >= 0;
}

static int
sess_write_line(struct sess *s, struct buf *b)
{
	int r;
	if (!sess_ready(s))
		return 0;
	buf_add(b, "\n", 1);
	r = fd_write_all(s->fd, b->p, b->len);
	if (!r && fsync(s->fd) < 0)
		r = AG_E_IO;
	return r;
}

/* A JSON writer sink straight into the session file through a small buffer: a long message is not built
 * in memory a second time. A crash mid-line leaves a torn last line, which loading ignores. */
struct sess_sink {
	int fd;
	int err;
	size_t n;
	char b[8192];
};

static int
sess_sink_write(void *ctx, const char *p, size_t n)
{
	struct sess_sink *k = ctx;
	while (n && !k->err) {
		size_t room = sizeof k->b - k->n, c = n < room ? n : room;
		memcpy(k->b + k->n, p, c);
		k->n += c;
		p += c;
		n -= c;
		if (k->n == sizeof k->b) {
			k->err = fd_write_all(k->fd, k->b, k->n);
			k->n = 0;
		}
	}
	return k->err;
}

/* Finish the line: newline, write, fsync. */
static int
sess_sink_end(struct sess_sink *k)
{
	sess_sink_write(k, "\n", 1);
	if (!k->err && k->n)
		k->err = fd_write_all(k->fd, k->b, k->n);
	if (!k->err && fsync(k->fd) < 0)
		k->err = AG_E_IO;
	return k->err;
}

static int
sess_create(struct sess *s, const char *cwd, const char *id, const char *model)
{
	char dir[PATH_MAX];
	struct buf *b = &s->header;
	struct jw w;
	s->fd = -1;
	b->len = 0;
	str_copy(s->id, sizeof s->id, id, strlen(id));
	if (sess_dir(cwd, dir, sizeof dir, 1) || base_snprintf(s->path, sizeof s->path, "%s/%s.jsonl", dir, id) >= (int)sizeof s->path)
		return AG_E_IO;
	if (access(dir, W_OK) < 0)
		return AG_E_IO;
	jw_init(&w, jw_sink_buf, b);
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, "session");
	jw_key(&w, "id"); jw_str(&w, id);
	jw_key(&w, "cwd"); jw_str(&w, cwd);
	jw_key(&w, "model"); jw_str(&w, model);
	jw_key(&w, "created"); jw_int(&w, clk_now());
	jw_close(&w, '}');
	buf_add(b, "\n", 1);
	return 0;
}

/* Open an existing session file for appending (after sess_load read it). */
static int
sess_reopen(struct sess *s, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;
	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 6 && strcmp(base + n - 6, ".jsonl") == 0)
		n -= 6;
	str_copy(s->id, sizeof s->id, base, n);
	str_copy(s->path, sizeof s->path, path, strlen(path));
	s->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (s->fd < 0)
		return AG_E_IO;
	{
		/* a torn last line (a crash mid-write) is cut off, so the next line starts clean */
		struct stat st;
		char tail[4096];
		off_t end, from;
		if (fstat(s->fd, &st) == 0 && st.st_size > 0) {
			end = st.st_size;
			while (end > 0) {
				ssize_t r, k;
				from = end > (off_t)sizeof tail ? end - (off_t)sizeof tail : 0;
				r = pread(s->fd, tail, (size_t)(end - from), from);
				if (r <= 0)
					break;
				for (k = r; k > 0 && tail[k - 1] != '\n'; k--)
					;
				if (k > 0) {
					end = from + k;
					break;
				}
				end = from;
			}
			if (end != st.st_size && ftruncate(s->fd, end) == 0)
				fsync(s->fd);
		}
	}
	return 0;
}

static void
sess_msg_json(struct jw *w, const struct msg *m)
{
	jw_open(w, '{');
	jw_key(w, "role");
	jw_str(w, m->role == ROLE_USER ? "user" : "assistant");
	jw_key(w, "content");
	jw_open(w, '[');
	conv_write_content(m, w, 0);
	jw_close(w, ']');
	jw_close(w, '}');
}

/* The conversation the session goes on from, after a compaction. */
static int
sess_append_compact(struct sess *s, const struct conv *c)
{
	struct buf b = {0};
	struct jw w;
	size_t i;
	int r;
	if (!s || !sess_ready(s))
		return 0;
	jw_init(&w, jw_sink_buf, &b);
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, "compact");
	jw_key(&w, "messages");
	jw_open(&w, '[');
	for (i = 0; i < c->n; i++)
		sess_msg_json(&w, &c->m[i]);
	jw_close(&w, ']');
	jw_close(&w, '}');
	r = w.err ? w.err : sess_write_line(s, &b);
	buf_free(&b);
	return r;
}

static void
sess_close(struct sess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	buf_free(&s->header);
}

/* One {"role","content":[...]} object into the conversation; consecutive messages of one role are merged
 * (an interrupted turn leaves two user messages in a row, which the API would refuse). */
static int
sess_load_msg(struct conv *c, const struct json *j, int m)
{
	int role = json_eq(j, json_get(j, m, "role"), "assistant") ? ROLE_ASSISTANT : ROLE_USER;
	int content = json_get(j, m, "content"), i, k;
	struct msg *dst;
	if (content < 0 || j->t[content].type != JSMN_ARRAY)
		return AG_E_INVAL;
	dst = c->n && c->m[c->n - 1].role == role ? &c->m[c->n - 1] : conv_add(c, role);
	if (!dst)
		return AG_E_NOMEM;
	for (i = 0, k = content + 1; i < j->t[content].size && k < j->n; i++, k = json_skip(j, k)) {
		struct buf b = {0};
		struct jw w;
		jw_init(&w, jw_sink_buf, &b);
		if (j->t[k].type == JSMN_OBJECT && json_copy(&w, j, k) == 0)
			conv_block_take(dst, &b);
		buf_free(&b);
	}
	return 0;
}

PROSE(sess_load_msg1,
	"session %s: line %d is not valid JSON")
PROSE(sess_load_msg2,
	"session %s: line %d is not a message")

/* Read a session file into a conversation. A torn last line (a crash mid-write) is ignored; a bad line
 * anywhere else is an error that names the line. */
static int
sess_load(const char *path, struct conv *c, char *model, size_t mcap, struct ag_err *e)
{
	struct buf b = {0};
	size_t p = 0;
	int line = 0, r = 0;
	if (file_read_all(path, &b, 1u << 30) < 0) {
		buf_free(&b);
		return err_set(e, AG_E_IO, "cannot read session %s: %s", path, base_strerror(errno));
	}
	while (p < b.len && !r) {
		char *nl = memchr(b.p + p, '\n', b.len - p);
		size_t n = nl ? (size_t)(nl - (b.p + p)) : b.len - p;
		jsmntok_t *tok = NULL;
		struct json j;
		int ok;
		line++;
		ok = json_parse_alloc(&j, b.p + p, n, &tok) > 0 && j.t[0].type == JSMN_OBJECT;
		if (!ok) {
			if (!nl || p + n + 1 >= b.len) {  /* the last line, torn by a crash: ignore it */
				free(tok);
				break;
			}
			free(tok);
			r = err_set(e, AG_E_INVAL, prose(sess_load_msg1), path, line);
			break;
		}
		if (json_eq(&j, json_get(&j, 0, "type"), "session") && model)
			json_str(&j, json_get(&j, 0, "model"), model, mcap);
		else if (json_eq(&j, json_get(&j, 0, "type"), "message"))
			r = sess_load_msg(c, &j, json_get(&j, 0, "message"));
		else if (json_eq(&j, json_get(&j, 0, "type"), "compact")) {
			int arr = json_get(&j, 0, "messages"), i, k;
			conv_free(c);
			for (i = 0, k = arr + 1; arr >= 0 && i < j.t[arr].size && k < j.n && !r; i++, k = json_skip(&j, k))
				r = sess_load_msg(c, &j, k);
		}
		if (r && !e->code)
			err_set(e, r, prose(sess_load_msg2), path, line);
		free(tok);
		p += n + 1;
	}
	buf_free(&b);
	/* a conversation must not end on an assistant tool call without its results */
	while (!r && c->n && c->m[c->n - 1].role == ROLE_ASSISTANT) {
		struct msg *m = &c->m[c->n - 1];
		size_t k;
		int has_tool = 0;
		for (k = 0; k < m->n; k++)
			has_tool |= str_starts(m->blk[k].p, "{\"type\":\"tool_use\"");
		if (!has_tool)
			break;
		for (k = 0; k < m->n; k++)
			buf_free(&m->blk[k]);
		free(m->blk);
		c->n--;
	}
	return r;
}

struct sess_entry {
	char path[PATH_MAX];
	long long mtime;
	char preview[80];
};

static int
sess_newer(const void *a, const void *b)
{
	const struct sess_entry *x = a, *y = b;
	return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

/* The sessions of this directory, newest first (caller frees *out); previews from the first user text. */
static int
sess_list(const char *cwd, struct sess_entry **out)
{
	char dir[PATH_MAX];
	DIR *d;
	struct dirent *de;
	size_t n = 0, cap = 0;
	*out = NULL;
	if (sess_dir(cwd, dir, sizeof dir, 0) || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		struct sess_entry *e;
		struct stat st;
		if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl"))
			continue;
		if (n == cap) {
			void *p = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof **out);
			if (!p)
				break;
			*out = p;
		}
		e = &(*out)[n];
		if (base_snprintf(e->path, sizeof e->path, "%s/%s", dir, de->d_name) >= (int)sizeof e->path ||
		    stat(e->path, &st) < 0)
			continue;
		e->mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		e->preview[0] = 0;
		{
			/* the user's words: the last text block of the first user message */
			struct buf b = {0};
			char *q;
			int fd = open(e->path, O_RDONLY | O_CLOEXEC);
			char tmp[8192];
			ssize_t r = fd >= 0 ? read(fd, tmp, sizeof tmp - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (r > 0) {
				tmp[r] = 0;
				q = str_find(tmp, "\"role\":\"user\"");
				while (q && (q = str_find(q, "{\"type\":\"text\",\"text\":\"")) != NULL) {
					char *end = q + 23;
					if (strncmp(end, "<system-reminder>", 17) != 0) {
						char *close_q = end;
						while (*close_q && !(*close_q == '"' && close_q[-1] != '\\'))
							close_q++;
						str_excerpt(e->preview, sizeof e->preview, end, (size_t)(close_q - end));
						break;
					}
					q = end;
				}
			}
			buf_free(&b);
		}
		n++;
	}
	closedir(d);
	if (n)
		base_sort(*out, n, sizeof **out, sess_newer);
	return (int)n;
}

/* ==== 14. ui: what the user sees ==== */

/* The answer goes to stdout, buffered and flushed after each network read so it appears as it streams;
 * everything else (tool calls, thinking, notes) goes to stderr. On a terminal, escape sequences and
 * other control characters from the model or a tool are shown as ^X, never obeyed. */
struct ui {
	int tty;                  /* stdout is a terminal */
	int err_tty;              /* stderr is a terminal */
	int color;                /* colours on stderr: a terminal, and no NO_COLOR */
	int quiet;                /* json output formats: stdout is for JSON, stderr for errors only */
	int verbose;
	int last;                 /* last byte written to stdout, to end the output with a newline */
	int in_thinking;
	int indent;               /* a subagent's tool lines sit under its Task line */
	struct api_sink sink;
	/* light Markdown on an interactive terminal, rendered as the text streams */
	int md, md_mid, md_fence, md_bold, md_code, md_head;
	char md_pend[4];
	int md_npend;
	/* the spinner on stderr while waiting */
	unsigned long long shown;  /* bytes of answer text written so far */
	int spin;
	int spin_i;
	char spin_label[160];
	size_t n;
	char b[16384];            /* as much as one TLS record: about one write per network read */
};

static void
ui_flush(void *ctx)
{
	struct ui *u = ctx;
	if (u->n)
		fd_write_all(1, u->b, u->n);
	u->n = 0;
}

static void
ui_put(struct ui *u, const char *s, size_t n)
{
	while (n) {
		size_t k = sizeof u->b - u->n;
		if (k > n)
			k = n;
		memcpy(u->b + u->n, s, k);
		u->n += k;
		s += k;
		n -= k;
		if (u->n == sizeof u->b)
			ui_flush(u);
	}
}

/* Copy s to out with control characters made visible (^[ for ESC, and so on); C1 controls too. */
static void
ui_neutralise(struct buf *out, const char *s, size_t n, int keep_newlines)
{
	size_t i, start = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] < 0xA0;
		if ((c < 32 && !(keep_newlines && (c == '\n' || c == '\t'))) || c == 127 || c1) {
			char vis[2] = { '^', (char)(c == 127 || c1 ? '?' : c + 64) };
			buf_add(out, s + start, i - start);
			buf_add(out, vis, 2);
			i += (size_t)c1;
			start = i + 1;
		}
	}
	buf_add(out, s + start, n - start);
}

static void
ui_spin_stop(struct ui *u)
{
	if (u->spin) {
		fd_write_all(2, "\r\033[K", 4);
		u->spin = 0;
	}
}

/* One frame of the spinner (called from the network wait every ~100 ms). */
static void
ui_spin_tick(void *ctx)
{
	static const char frames[] = "|/-\\";
	struct ui *u = ctx;
	char line[200];
	int n;
	if (!u->spin)
		return;
	n = base_snprintf(line, sizeof line, "\r%s%c %s%s\033[K", u->color ? "\033[2m" : "", frames[u->spin_i++ % 4],
	             u->spin_label, u->color ? "\033[0m" : "");
	fd_write_all(2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
}

static void
ui_spin_start(struct ui *u, const char *label)
{
	if (!u->err_tty || u->quiet || !u->md)
		return;
	str_excerpt(u->spin_label, sizeof u->spin_label, label, strlen(label));
	u->spin = 1;
	ui_spin_tick(u);
}

static void
ui_md_style(struct ui *u)
{
	ui_put(u, "\033[0m", 4);
	if (u->md_bold || u->md_head)
		ui_put(u, "\033[1m", 4);
	if (u->md_code || u->md_fence)
		ui_put(u, "\033[36m", 5);
}

/* Light Markdown as it streams: headings and **bold** bright, `code` and fenced blocks coloured, list
 * markers as bullets. Markers are held back only until the next character settles what they are. */
static void
ui_md(struct ui *u, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n') {
			if (u->md_npend)
				ui_put(u, u->md_pend, (size_t)u->md_npend);
			u->md_npend = 0;
			u->md_bold = u->md_code = u->md_head = 0;
			ui_put(u, "\033[0m\n", 5);
			if (u->md_fence)
				ui_md_style(u);
			u->md_mid = 0;
			continue;
		}
		if (!u->md_mid) {                    /* at the start of a line: a fence, a heading or a list? */
			u->md_pend[u->md_npend++] = c;
			if (u->md_npend == 3 && memcmp(u->md_pend, "```", 3) == 0) {
				u->md_fence = !u->md_fence;
				ui_put(u, "\033[2m```", 7);
				u->md_npend = 0;
				u->md_mid = 1;
				continue;
			}
			if (u->md_npend < 3 && (memcmp(u->md_pend, "``", (size_t)u->md_npend) == 0))
				continue;
			if (!u->md_fence && u->md_npend == 2 && (u->md_pend[0] == '-' || u->md_pend[0] == '*') &&
			    u->md_pend[1] == ' ') {
				ui_put(u, "\xE2\x80\xA2 ", 4);    /* • */
				u->md_npend = 0;
				u->md_mid = 1;
				continue;
			}
			if (!u->md_fence && u->md_npend == 1 && (c == '-' || c == '*'))
				continue;
			if (!u->md_fence && u->md_pend[0] == '#') {
				u->md_head = 1;
				ui_md_style(u);
			}
			u->md_mid = 1;
			{
				char pend[4];
				int k, np = u->md_npend;
				memcpy(pend, u->md_pend, 4);
				u->md_npend = 0;
				for (k = 0; k < np; k++) {
					if (pend[k] == '*' && k + 1 < np && pend[k + 1] == '*' && !u->md_fence) {
						u->md_bold = !u->md_bold;
						ui_md_style(u);
						k++;
					} else if (pend[k] == '*' && k + 1 == np && !u->md_fence) {
						u->md_pend[u->md_npend++] = '*';
					} else {
						ui_put(u, &pend[k], 1);
					}
				}
			}
			continue;
		}
		if (u->md_fence) {
			ui_put(u, &c, 1);
			continue;
		}
		if (u->md_npend) {                   /* a held '*' */
			u->md_npend = 0;
			if (c == '*') {
				u->md_bold = !u->md_bold;
				ui_md_style(u);
				continue;
			}
			ui_put(u, "*", 1);
		}
		if (c == '*' && !u->md_code) {
			u->md_pend[u->md_npend++] = '*';
		} else if (c == '`') {
			u->md_code = !u->md_code;
			ui_md_style(u);
		} else {
			ui_put(u, &c, 1);
		}
	}
}

/* The end of a message: what Markdown held back is written, styles reset. */
static void
ui_md_end(struct ui *u)
{
	if (!u->md)
		return;
	if (u->md_npend)
		ui_put(u, u->md_pend, (size_t)u->md_npend);
	if (u->md_bold || u->md_code || u->md_head || u->md_fence)
		ui_put(u, "\033[0m", 4);
	u->md_npend = u->md_bold = u->md_code = u->md_head = u->md_fence = u->md_mid = 0;
}

static void
ui_text(void *ctx, const char *s, size_t n)
{
	struct ui *u = ctx;
	struct buf b = {0};
	if (!n)
		return;
	ui_spin_stop(u);
	u->last = (unsigned char)s[n - 1];
	u->shown += n;
	if (!u->tty) {
		ui_put(u, s, n);
		return;
	}
	ui_neutralise(&b, s, n, 1);
	if (u->md)
		ui_md(u, b.p, b.len);
	else
		ui_put(u, b.p, b.len);
	buf_free(&b);
}

/* A line on stderr; on a shared terminal, stdout's partial line is ended first. */
static void
ui_err(struct ui *u, const char *color, const char *s, size_t n)
{
	struct buf b = {0};
	ui_spin_stop(u);
	ui_md_end(u);
	if (u->tty && u->err_tty && u->last && u->last != '\n') {
		ui_put(u, "\n", 1);
		u->last = '\n';
	}
	ui_flush(u);
	if (u->color && color)
		buf_adds(&b, color);
	if (u->err_tty)
		ui_neutralise(&b, s, n, 1);
	else
		buf_add(&b, s, n);
	if (u->color && color)
		buf_adds(&b, "\033[0m");
	buf_add(&b, "\n", 1);
	fd_write_all(2, b.p, b.len);
	buf_free(&b);
}

static void
ui_note(struct ui *u, const char *msg)
{
	char line[600];
	if (u->quiet)
		return;
	base_snprintf(line, sizeof line, "agent: %s", msg);
	ui_err(u, "\033[33m", line, strlen(line));
}

/* Thinking is shown dimmed on a terminal's stderr (or with --verbose), never mixed into the answer. */
static void
ui_thinking(void *ctx, const char *s, size_t n)
{
	struct ui *u = ctx;
	struct buf b = {0};
	if (u->quiet || !(u->err_tty || u->verbose) || !n)
		return;
	ui_spin_stop(u);
	ui_flush(u);
	if (u->color)
		buf_adds(&b, "\033[2m");
	if (u->err_tty)
		ui_neutralise(&b, s, n, 1);
	else
		buf_add(&b, s, n);
	if (u->color)
		buf_adds(&b, "\033[0m");
	fd_write_all(2, b.p, b.len);
	u->in_thinking = 1;
	buf_free(&b);
}

static void
ui_block_start(void *ctx, int type)
{
	struct ui *u = ctx;
	if (u->in_thinking && type != BLK_THINKING) {
		fd_write_all(2, "\n", 1);
		u->in_thinking = 0;
	}
}

static void
ui_tool_start(struct ui *u, const char *name, const char *summary)
{
	char line[400];
	if (u->quiet)
		return;
	base_snprintf(line, sizeof line, "%.*s> %s(%s)", u->indent * 4, "                ", name, summary);
	ui_err(u, "\033[1m", line, strlen(line));
}

/* The first lines of a result, clipped, under the call line. */
static void
ui_tool_result(struct ui *u, const char *name, const char *summary, const struct tool_out *o)
{
	struct buf b = {0};
	const char *s = o->text.p ? o->text.p : "";
	size_t n = o->text.len, i, lines = 0, shown = 0, k;
	(void)name;
	(void)summary;
	if (u->quiet)
		return;
	for (i = 0; i < n; i++)
		lines += s[i] == '\n';
	lines += n && s[n - 1] != '\n';
	for (i = 0; i < n && shown < 3; shown++) {
		const char *nl = memchr(s + i, '\n', n - i);
		k = nl ? (size_t)(nl - (s + i)) : n - i;
		buf_printf(&b, "%.*s%s", u->indent * 4, "                ", shown ? "    " : "  = ");
		buf_add(&b, s + i, k > 160 ? 160 : k);
		if (k > 160)
			buf_adds(&b, "...");
		buf_add(&b, "\n", 1);
		i += k + 1;
	}
	if (lines > shown)
		buf_printf(&b, "%.*s    (+%zu more lines)\n", u->indent * 4, "                ", lines - shown);
	if (b.len)
		b.p[--b.len] = 0;
	ui_err(u, o->is_error ? "\033[31m" : "\033[2m", b.p ? b.p : "", b.len);
	buf_free(&b);
}

static void
ui_todos(struct ui *u, const struct tool_ctx *tc)
{
	struct buf b = {0};
	size_t i;
	if (u->quiet)
		return;
	buf_adds(&b, "  Todos:");
	for (i = 0; i < tc->ntodos; i++)
		buf_printf(&b, "\n    %s %s", tc->todos[i].status == 2 ? "[x]" : tc->todos[i].status == 1 ? "[>]" : "[ ]",
		           tc->todos[i].content);
	ui_err(u, NULL, b.p, b.len);
	buf_free(&b);
}

/* ==== 15. loop: the agent loop ==== */

#define LOOP_TODO_NUDGE_ROUNDS 10
#ifndef LOOP_COMPACT_PCT            /* compact when a request's input passes this share of the window */
#define LOOP_COMPACT_PCT 80
#endif

enum { OUT_TEXT, OUT_JSON, OUT_STREAM_JSON };

struct loop_agents;

struct loop {
	struct api *api;
	struct api_cfg *cfg;
	struct conv conv;
	struct tool_ctx tools;
	struct loop_agents *agents;   /* the Task tool's subagent types (main's) */
	struct perm perm;
	struct ui *ui;
	struct api_msg msg;
	struct api_usage total;
	int out_format;
	int verbose;
	long long max_turns;
	int turns;
	int nudged;
	int first_user_done;
	const char *memory;       /* project memory reminder text, or NULL */
	char session_id[40];
	long long t_start;
	struct buf last_text;     /* the final assistant text: the "result" */
	struct sess *sess;        /* where completed messages are saved, or NULL */
	struct term *term;        /* the terminal of an interactive session, or NULL */
	long long ctx_window;     /* the model's context window, in tokens */
	long long last_input;     /* input tokens of the last request, all kinds */
	int max_retries;          /* attempts after the first (ANTHROPIC_MAX_RETRIES, --max-retries) */
	int warned_limit;         /* the nearly-used rate limit warning was given */
	struct buf pending;       /* a message a slash command wants sent */
	int subagent;             /* a Task's loop: no Task of its own */
	const char *only;         /* a subagent type's tools list, or NULL for all */
	struct hooks *hooks;      /* the settings' hooks (main's), or NULL */
	int stop_hook_active;     /* a Stop hook made this answer go on */
	struct buf prompt_block;  /* why a UserPromptSubmit hook refused the prompt loop_run is to answer */
	struct buf hook_context;  /* what SessionStart hooks said, for the first user message */
	struct loop_cmds *cmds;   /* custom slash commands (main's), or NULL */
	int trusted;              /* the project folder is trusted: its commands' allowed-tools count */
	size_t cmd_rules;         /* rules before a command's allowed-tools were added (SIZE_MAX: none added) */
	char cmd_model[128];      /* the model before a command's own, or "" */
	/* asks the user before a tool runs: 1 yes, 2 always, 0 no (feedback says what instead) */
	int (*ask)(struct loop *L, const char *name, const struct json *in, const char *arg, struct buf *feedback);
	void (*retool)(struct loop *L);   /* makes the tools array again when MCP servers' tools changed */
};

/* Append whatever is not yet in the session file: each message's new blocks, as one line each. */
static void
loop_save(struct loop *L)
{
	size_t i;
	for (i = 0; i < L->conv.n; i++) {
		struct msg *m = &L->conv.m[i];
		if (m->saved < m->n && L->sess && sess_ready(L->sess)) {
			static struct sess_sink k;
			struct jw w;
			k.fd = L->sess->fd;
			k.err = 0;
			k.n = 0;
			jw_init(&w, sess_sink_write, &k);
			jw_open(&w, '{');
			jw_key(&w, "type"); jw_str(&w, "message");
			jw_key(&w, "message");
			jw_open(&w, '{');
			jw_key(&w, "role"); jw_str(&w, m->role == ROLE_USER ? "user" : "assistant");
			jw_key(&w, "content");
			jw_open(&w, '[');
			conv_write_content_from(m, m->saved, &w, 0);
			jw_close(&w, ']');
			jw_close(&w, '}');
			jw_close(&w, '}');
			if (!w.err && sess_sink_end(&k) == 0)
				m->saved = m->n;
		} else if (!L->sess || L->sess->fd < 0) {
			m->saved = m->n;
		}
	}
}

/* The cost in units of 10^-8 US dollars: prices per million tokens (input, output) times 100, so every
 * price, cache writes at 1.25x input and reads at 0.1x included, is a whole number (no floating point). */
static long long
loop_cost(const char *model, const struct api_usage *u)
{
	long long in = 300, out = 1500;
	if (str_find(model, "opus-4-5") || str_find(model, "opus-4.5"))
		in = 500, out = 2500;
	else if (str_find(model, "opus"))
		in = 1500, out = 7500;
	else if (str_find(model, "haiku-4") || str_find(model, "haiku-4-5"))
		in = 100, out = 500;
	else if (str_find(model, "haiku"))
		in = 80, out = 400;
	return u->input * in + u->output * out + u->cache_write * in * 5 / 4 + u->cache_read * in / 10;
}

/* A cost as dollars with places decimals (1..8), rounded half up. */
static void
loop_cost_str(long long cost, int places, char *out, size_t cap)
{
	long long unit = 1;
	int i;
	for (i = places; i < 8; i++)
		unit *= 10;
	cost = (cost + unit / 2) / unit;
	for (unit = 1, i = 0; i < places; i++)
		unit *= 10;
	base_snprintf(out, cap, "%lld.%0*lld", cost / unit, places, cost % unit);
}

static void
loop_usage_json(struct jw *w, const struct api_usage *u)
{
	jw_open(w, '{');
	jw_key(w, "input_tokens");
	jw_int(w, u->input);
	jw_key(w, "cache_creation_input_tokens");
	jw_int(w, u->cache_write);
	jw_key(w, "cache_read_input_tokens");
	jw_int(w, u->cache_read);
	jw_key(w, "output_tokens");
	jw_int(w, u->output);
	jw_close(w, '}');
}

/* One JSON object per line on stdout (stream-json), through the same buffered output as the text. */
static void
loop_emit(struct loop *L, struct buf *b)
{
	ui_put(L->ui, b->p, b->len);
	ui_put(L->ui, "\n", 1);
	ui_flush(L->ui);
	b->len = 0;
}

/* The finished assistant message as conversation blocks. A tool_use whose input never completed (cut by
 * max_tokens, or never stopped) is left out: it must not run and must not be sent back as if whole.
 * Returns the number of tool_use blocks kept; *cut says one was dropped. */
static int
loop_assistant(struct loop *L, struct msg *m, int *cut)
{
	struct api_msg *am = &L->msg;
	int i, tools = 0;
	*cut = 0;
	for (i = 0; i < am->nb; i++) {
		struct api_block *b = &am->b[i];
		struct buf out = {0};
		struct jw w;
		jw_init(&w, jw_sink_buf, &out);
		switch (b->type) {
		case BLK_TEXT:
			if (!b->stopped)
				api_text_end(b);
			b->stopped = 1;
			if (b->text.len <= sizeof API_TEXT_PREFIX + 1)
				break;                    /* the API refuses empty text blocks */
			if (L->out_format != OUT_TEXT)  /* the result object carries the final text */
				api_text_plain(b, &L->last_text);
			out = b->text;            /* the block was built in its final form: it moves, not copied */
			memset(&b->text, 0, sizeof b->text);
			break;
		case BLK_TOOL_USE: {
			jsmntok_t *tok = NULL;
			struct json j;
			const char *in = b->input.len ? b->input.p : "{}";
			size_t inlen = b->input.len ? b->input.len : 2;
			if (!b->stopped || json_parse_alloc(&j, in, inlen, &tok) <= 0 || tok[0].type != JSMN_OBJECT) {
				free(tok);
				*cut = 1;
				b->type = BLK_NONE;       /* never run */
				break;
			}
			jw_open(&w, '{');
			jw_key(&w, "type"); jw_str(&w, "tool_use");
			jw_key(&w, "id"); jw_strn(&w, b->id.p, b->id.len);
			jw_key(&w, "name"); jw_str(&w, b->name);
			jw_key(&w, "input");
			json_copy(&w, &j, 0);
			jw_close(&w, '}');
			free(tok);
			tools++;
			break;
		}
		case BLK_THINKING:
			jw_open(&w, '{');
			jw_key(&w, "type"); jw_str(&w, "thinking");
			jw_key(&w, "thinking"); jw_strn(&w, b->text.p ? b->text.p : "", b->text.len);
			jw_key(&w, "signature"); jw_strn(&w, b->sig.p ? b->sig.p : "", b->sig.len);
			jw_close(&w, '}');
			break;
		case BLK_REDACTED:
			jw_open(&w, '{');
			jw_key(&w, "type"); jw_str(&w, "redacted_thinking");
			jw_key(&w, "data"); jw_strn(&w, b->text.p ? b->text.p : "", b->text.len);
			jw_close(&w, '}');
			break;
		case BLK_OTHER:
			if (b->raw.len)
				buf_add(&out, b->raw.p, b->raw.len);
			break;
		}
		if (!w.err && out.len)
			conv_block_take(m, &out);
		buf_free(&out);
	}
	if (!m->n)
		conv_text_block(m, "(no content)", 12);
	return tools;
}

PROSE(loop_reminder_msg,
	"<system-reminder>\n%s\n</system-reminder>")

static void
loop_reminder(struct msg *m, const char *text)
{
	struct buf b = {0};
	buf_printf(&b, prose(loop_reminder_msg), text);
	conv_text_block(m, b.p, b.len);
	buf_free(&b);
}

/* A one-line summary of a tool call for the screen: the command, the path, the pattern. */
static void
loop_tool_summary(const char *name, const struct json *j, char *out, size_t cap)
{
	static const char *const keys[] = { "command", "file_path", "pattern", "url", "description" };
	size_t k;
	out[0] = 0;
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		char v[400];
		if (json_str(j, json_get(j, 0, keys[k]), v, sizeof v) == 0) {
			str_excerpt(out, cap, v, strlen(v));
			return;
		}
	}
	if (strcmp(name, "TodoWrite") == 0)
		base_snprintf(out, cap, "%d items", j->n > 0 ? j->t[json_get(j, 0, "todos") > 0 ? json_get(j, 0, "todos") : 0].size : 0);
}

static int loop_run(struct loop *L, const char **subtype);
/* Subagents (Task) and skills: Markdown files with a front matter of "key: value" lines between "---"
 * lines, as Claude Code reads them from .claude/agents/ and .claude/skills/NAME/SKILL.md. */
#ifndef AG_AGENT_TYPES
#define AG_AGENT_TYPES 32
#endif
struct loop_agent_type {
	char name[64];
	char *desc, *tools, *model, *body, *path;
};
/* The subagent types of a run (the project's .claude/agents, then the user's), owned by main. */
struct loop_agents {
	struct loop_agent_type t[AG_AGENT_TYPES];
	size_t n;
};

/* The value of key in a front matter (fm, its text), into a new string; NULL when absent. */
static char *
loop_fm_get(const char *fm, size_t n, const char *key)
{
	size_t kl = strlen(key), i = 0;
	while (i < n) {
		const char *line = fm + i, *nl = memchr(line, '\n', n - i);
		size_t ll = nl ? (size_t)(nl - line) : n - i;
		if (ll > kl && strncmp(line, key, kl) == 0 && line[kl] == ':') {
			const char *v = line + kl + 1, *e = line + ll;
			char *out;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
				e--;
			if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v)
				v++, e--;
			out = malloc((size_t)(e - v) + 1);
			if (out) {
				memcpy(out, v, (size_t)(e - v));
				out[e - v] = 0;
			}
			return out;
		}
		i += ll + 1;
	}
	return NULL;
}

/* Split a Markdown file into its front matter and body; 0 when it has no front matter. */
static int
loop_fm_split(const char *s, size_t n, const char **fm, size_t *fmn, const char **body)
{
	const char *end;
	if (n < 4 || strncmp(s, "---", 3) != 0 || !(s[3] == '\n' || (s[3] == '\r' && n > 4 && s[4] == '\n')))
		return 0;
	*fm = s + (s[3] == '\r' ? 5 : 4);
	end = str_find(*fm, "\n---");
	if (!end)
		return 0;
	*fmn = (size_t)(end - *fm) + 1;
	*body = end + 4;                          /* past "\n---": the rest of that line only */
	if (**body == '\r')
		(*body)++;
	if (**body == '\n')
		(*body)++;
	return 1;
}

PROSE(loop_agents_dir_msg,
	"agent: subagent at %s has no front matter (name, description): skipped\n")

static void
loop_agents_dir(struct loop_agents *A, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL && A->n < AG_AGENT_TYPES) {
		char path[PATH_MAX];
		struct buf f = {0};
		const char *fm, *body;
		size_t fmn, n = strlen(de->d_name), k;
		struct loop_agent_type *t = &A->t[A->n];
		char *name;
		if (n < 4 || strcmp(de->d_name + n - 3, ".md") != 0 ||
		    base_snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
		    file_read_all(path, &f, 1u << 20) || !f.p) {
			buf_free(&f);
			continue;
		}
		if (!loop_fm_split(f.p, f.len, &fm, &fmn, &body) || !(name = loop_fm_get(fm, fmn, "name")) || !*name) {
			base_dprintf(2, prose(loop_agents_dir_msg), path);
			buf_free(&f);
			continue;
		}
		for (k = 0; k < A->n && strcmp(A->t[k].name, name); k++)
			;
		if (k < A->n || strcmp(name, "general-purpose") == 0) {   /* the project's comes first */
			free(name);
			buf_free(&f);
			continue;
		}
		memset(t, 0, sizeof *t);
		str_copy(t->name, sizeof t->name, name, strlen(name));
		free(name);
		t->desc = loop_fm_get(fm, fmn, "description");
		t->tools = loop_fm_get(fm, fmn, "tools");
		t->model = loop_fm_get(fm, fmn, "model");
		t->body = strdup(body);
		t->path = strdup(path);
		A->n++;
		buf_free(&f);
	}
	if (d)
		closedir(d);
}

PROSE(loop_skills_dir_msg,
	"agent: skill at %s has no front matter (name, description): skipped\n")

/* The skills of the project and the user, as the lines of a system prompt block (names, descriptions and
 * where each SKILL.md is; never the bodies). */
static void
loop_skills_dir(const char *dir, struct buf *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct buf f = {0};
		const char *fm, *body;
		size_t fmn;
		char *name = NULL, *desc = NULL;
		if (de->d_name[0] == '.' || base_snprintf(path, sizeof path, "%s/%s/SKILL.md", dir, de->d_name) >= (int)sizeof path ||
		    file_read_all(path, &f, 1u << 20) || !f.p) {
			buf_free(&f);
			continue;
		}
		if (!loop_fm_split(f.p, f.len, &fm, &fmn, &body) || !(desc = loop_fm_get(fm, fmn, "description")) || !*desc)
			base_dprintf(2, prose(loop_skills_dir_msg), path);
		else {
			name = loop_fm_get(fm, fmn, "name");
			buf_printf(out, "- %s: %s (%s)\n", name && *name ? name : de->d_name, desc, path);
		}
		free(name);
		free(desc);
		buf_free(&f);
	}
	if (d)
		closedir(d);
}

PROSE(loop_skills_intro,
	"Skills: folders of instructions (and sometimes scripts) for particular tasks. When a "
	"task matches a skill's description, Read its SKILL.md first and follow it; read the other "
	"files it names only when needed.\n%s")

static void
loop_agents_load(struct loop_agents *A, const char *cwd, struct buf *skills)
{
	char dir[PATH_MAX];
	const char *h = getenv("HOME");
	struct buf list = {0};
	if (base_snprintf(dir, sizeof dir, "%s/.claude/agents", cwd) < (int)sizeof dir)
		loop_agents_dir(A, dir);
	if (h && *h && base_snprintf(dir, sizeof dir, "%s/.claude/agents", h) < (int)sizeof dir)
		loop_agents_dir(A, dir);
	if (base_snprintf(dir, sizeof dir, "%s/.claude/skills", cwd) < (int)sizeof dir)
		loop_skills_dir(dir, &list);
	if (h && *h && base_snprintf(dir, sizeof dir, "%s/.claude/skills", h) < (int)sizeof dir)
		loop_skills_dir(dir, &list);
	if (list.len)
		buf_printf(skills, prose(loop_skills_intro), list.p);
	buf_free(&list);
}

static void
loop_agents_free(struct loop_agents *A)
{
	size_t i;
	for (i = 0; i < A->n; i++) {
		free(A->t[i].desc);
		free(A->t[i].tools);
		free(A->t[i].model);
		free(A->t[i].body);
		free(A->t[i].path);
	}
	A->n = 0;
}

PROSE(loop_task_desc,
	"Start a subagent: a fresh agent with its own context and the same tools (but Task) that does "
	"one self-contained task and answers with its final text, which only you see. Use it for broad "
	"searches or work that would fill your context; give it everything it needs in prompt. Several "
	"independent tasks can be started in one message. Types (subagent_type):\n- general-purpose: any "
	"task (the default)\n")

PROSE(loop_task_schema,
	"{\"type\":\"object\",\"properties\":{\"description\":{\"type\":\"string\",\"description\":"
	"\"3 to 5 words\"},\"prompt\":{\"type\":\"string\",\"description\":\"the whole task\"},"
	"\"subagent_type\":{\"type\":\"string\"},\"model\":{\"type\":\"string\",\"description\":\"sonnet, "
	"opus or haiku; default: the type's or yours\"}},\"required\":[\"description\",\"prompt\"],"
	"\"additionalProperties\":false}")

/* The Task tool's definition, naming the subagent types there are. */
static void
loop_task_def(const struct loop_agents *A, struct buf *out)
{
	struct buf d = {0};
	struct jw w;
	size_t i;
	buf_adds(&d, prose(loop_task_desc));
	for (i = 0; i < A->n; i++)
		buf_printf(&d, "- %s: %s\n", A->t[i].name, A->t[i].desc ? A->t[i].desc : "");
	jw_init(&w, jw_sink_buf, out);
	jw_open(&w, '{');
	jw_key(&w, "name"); jw_str(&w, "Task");
	jw_key(&w, "description"); jw_strn(&w, d.p, d.len);
	jw_key(&w, "input_schema");
	jw_json(&w, prose(loop_task_schema), strlen(prose(loop_task_schema)));
	jw_close(&w, '}');
	buf_free(&d);
}

static const char *
loop_agent_model(const char *m, const char *inherit)
{
	if (!m || !*m || strcmp(m, "inherit") == 0)
		return inherit;
	if (strcmp(m, "haiku") == 0)
		return "claude-haiku-4-5";
	if (strcmp(m, "sonnet") == 0)
		return "claude-sonnet-4-5";
	if (strcmp(m, "opus") == 0)
		return "claude-opus-4-1";
	return m;
}

static long long
loop_env_num(const char *name, long long def)
{
	const char *v = getenv(name);
	unsigned long long n;
	return v && *v && !str_to_u64(v, strlen(v), 1000000, &n) && n > 0 ? (long long)n : def;
}

PROSE(loop_task_msg1,
	"There is no subagent type '%s'; the types are: %s")

PROSE(loop_task_msg,
	"The subagent stopped after %lld turns without finishing (AGENT_SUBAGENT_MAX_TURNS). Its last "
	"text: %.4000s")

static void cli_system(struct buf *out, const char *prompt, const char *append, const char *cwd, const char *model);
static int cli_listed(const char *list, const char *name);
static int cli_tools(struct buf *out, const struct perm *p, const struct mcp *mcp, const struct buf *extra,
                     size_t nextra, const char *only, int no_task);
PROSE(loop_subagent_prompt,
	"You are a subagent of a coding agent: you do one task for it with the tools you have, then answer with a "
	"concise final report of what you found or did (file paths, line numbers, what changed). The report is all "
	"it sees of your work. Do not ask questions: no one can answer them.")

/* Task: a nested agent loop with a fresh conversation, on the same connection and permissions; its final
 * text is the result. Its tool calls show indented under the Task line. */
static void
loop_task(struct loop *L, const struct json *j, struct tool_out *o)
{
	struct buf prompt = {0}, type = {0}, model = {0}, system = {0}, tools = {0};
	struct api_cfg cfg = *L->cfg;
	const struct api_cfg *saved_cfg = L->api->cfg;
	const struct loop_agent_type *t = NULL;
	struct loop *S;
	struct ag_err *e = L->api->e;
	const char *subtype = "success";
	size_t i;
	int rc;
	if (tool_arg_str(j, "prompt", &prompt, 1, "Task", o) < 0 || tool_arg_str(j, "subagent_type", &type, 0, "Task", o) < 0 ||
	    tool_arg_str(j, "model", &model, 0, "Task", o) < 0)
		goto out;
	if (type.len && strcmp(type.p, "general-purpose") != 0) {
		for (i = 0; i < L->agents->n && strcmp(L->agents->t[i].name, type.p); i++)
			;
		if (i == L->agents->n) {
			struct buf names = {0};
			buf_adds(&names, "general-purpose");
			for (i = 0; i < L->agents->n; i++)
				buf_printf(&names, ", %s", L->agents->t[i].name);
			tool_fail(o, prose(loop_task_msg1), type.p, names.p);
			buf_free(&names);
			goto out;
		}
		t = &L->agents->t[i];
	}
	S = calloc(1, sizeof *S);
	if (!S) {
		tool_fail(o, "out of memory");
		goto out;
	}
	base_snprintf(cfg.model, sizeof cfg.model, "%s", loop_agent_model(model.len ? model.p : t ? t->model : NULL, L->cfg->model));
	cli_system(&system, t && t->body && *t->body ? t->body : prose(loop_subagent_prompt), NULL, L->tools.cwd, cfg.model);
	cli_tools(&tools, &L->perm, L->tools.mcp, NULL, 0, t ? t->tools : NULL, 1);
	cfg.system_json = system.p;
	cfg.tools_json = tools.p;
	S->api = L->api;
	S->cfg = &cfg;
	S->perm = L->perm;                /* shared rules, not owned: never freed through S */
	S->ui = L->ui;
	S->out_format = OUT_JSON;         /* nothing streams to stdout; the final text is kept */
	S->verbose = L->verbose;
	S->max_turns = loop_env_num("AGENT_SUBAGENT_MAX_TURNS", 50);
	S->max_retries = L->max_retries;
	S->ask = L->ask;
	S->term = L->term;
	S->ctx_window = L->ctx_window;
	S->first_user_done = 1;
	S->subagent = 1;
	S->only = t ? t->tools : NULL;
	memcpy(S->tools.cwd, L->tools.cwd, sizeof S->tools.cwd);
	S->tools.tty = L->tools.tty;
	S->tools.quiet = L->tools.quiet;
	S->tools.sandbox = L->tools.sandbox;
	S->tools.mcp = L->tools.mcp;              /* the same MCP servers */
	S->tools.bound = L->tools.bound;          /* and the same boundary */
	S->tools.perm = L->tools.perm;
	S->tools.bg = L->tools.bg;                /* and the same background commands */
	S->hooks = L->hooks;
	S->agents = L->agents;
	base_snprintf(S->session_id, sizeof S->session_id, "%s", L->session_id);
	S->t_start = clk_ms();
	{
		struct msg *um = conv_add(&S->conv, ROLE_USER);
		if (um)
			conv_text_block(um, prompt.p, prompt.len);
	}
	L->api->cfg = &cfg;
	L->ui->indent++;
	rc = loop_run(S, &subtype);
	L->perm = S->perm;                /* an "always" answered inside it may have grown (moved) the rules */
	L->ui->indent--;
	L->api->cfg = saved_cfg;
	L->total.input += S->total.input;
	L->total.output += S->total.output;
	L->total.cache_read += S->total.cache_read;
	L->total.cache_write += S->total.cache_write;
	if (!rc) {
		buf_add(&o->text, S->last_text.p ? S->last_text.p : "", S->last_text.len);
	} else if (strcmp(subtype, "error_max_turns") == 0) {
		tool_fail(o, prose(loop_task_msg), S->max_turns, S->last_text.p ? S->last_text.p : "(none)");
	} else {
		tool_fail(o, "The subagent failed: %s", e->msg[0] ? e->msg : "unknown error");
	}
	if (rc && rc != AG_E_INTR) {      /* its failure is this tool's result, not the main loop's */
		e->code = 0;
		e->status = 0;
		e->msg[0] = 0;
	}
	conv_free(&S->conv);
	api_msg_free(&S->msg);
	tool_todos_free(S->tools.todos, S->tools.ntodos);
	for (i = 0; i < S->tools.nseen; i++)
		free(S->tools.seen[i].path);
	free(S->tools.seen);
	buf_free(&S->last_text);
	buf_free(&S->pending);
	free(S);
out:
	buf_free(&prompt);
	buf_free(&type);
	buf_free(&model);
	buf_free(&system);
	buf_free(&tools);
}

PROSE(loop_web_split_msg1,
	"only http:// and https:// URLs can be fetched, not '%.100s'")
PROSE(loop_web_split_msg2,
	"the URL holds spaces or line breaks; encode them (%%20)")

PROSE(loop_web_split_msg,
	"the URL holds spaces or control characters; encode them (%%20)")

/* WebFetch: the page over our own HTTP/TLS client (same trust anchors and proxies), redirects followed up
 * to 10, HTML reduced to text, capped; then a small model answers the prompt from it, and that answer is
 * the result. */
#ifndef AG_FETCH_MAX                /* bytes of a page read */
#define AG_FETCH_MAX (4 * 1024 * 1024)
#endif
#define AG_FETCH_TEXT 100000        /* characters of its text given to the small model */

/* http(s)://host[:port]/path?query into the origin (url_parse's) and the request target. */
static int
loop_web_split(const char *in, struct url *u, char *target, size_t cap, struct ag_err *e)
{
	char origin[600];
	const char *p = str_find(in, "://"), *rest;
	size_t n;
	if (!p || !(str_starts(in, "http://") || str_starts(in, "https://")))
		return err_set(e, AG_E_INVAL, prose(loop_web_split_msg1), in);
	for (rest = in; *rest; rest++)
		if ((unsigned char)*rest <= 0x20 || *rest == 0x7F)
			return err_set(e, AG_E_INVAL, prose(loop_web_split_msg));
	rest = p + 3 + strcspn(p + 3, "/?#");
	n = (size_t)(rest - in);
	if (n >= sizeof origin)
		return err_set(e, AG_E_INVAL, "the URL's host is too long");
	memcpy(origin, in, n);
	origin[n] = 0;
	if (url_parse(origin, u, e))
		return e->code;
	n = strcspn(rest, "#");
	if (n + 2 > cap)
		return err_set(e, AG_E_INVAL, "the URL is too long");
	if (*rest != '/')
		*target++ = '/', cap--;
	memcpy(target, rest, n);
	target[n] = 0;
	if (strpbrk(target, " \r\n\t"))
		return err_set(e, AG_E_INVAL, prose(loop_web_split_msg2));
	return 0;
}

/* Characters (not bytes) of UTF-8 text. */
static size_t
loop_web_chars(const char *s, size_t n)
{
	size_t i, c = 0;
	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* HTML to readable text: script, style and head dropped, block tags as line breaks, the common entities
 * decoded, runs of white space collapsed. */
static void
loop_web_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, chars = 0, counted = out->len;
	int space = 1, nl = 2;
	while (i < n && chars < AG_FETCH_TEXT) {
		chars += loop_web_chars(out->p + counted, out->len - counted);   /* only what was added: linear */
		counted = out->len;
		char c = s[i];
		if (c == '<') {
			const char *gt = NULL;
			char tag[16], q = 0;
			size_t g;
			for (g = i + 1; g < n && !gt; g++) {  /* the tag's end: a '>' outside quoted attribute values */
				if (q) {
					if (s[g] == q)
						q = 0;
				} else if (s[g] == '"' || s[g] == '\'') {
					if (s[g - 1] == '=' || s[g - 1] == ' ')
						q = s[g];
				} else if (s[g] == '>') {
					gt = s + g;
				}
			}
			size_t k = 0, j = i + 1 + (i + 1 < n && s[i + 1] == '/');
			int close = i + 1 < n && s[i + 1] == '/';
			if (!gt)
				break;
			while (j < n && k + 1 < sizeof tag && isalnum((unsigned char)s[j]))
				tag[k++] = (char)tolower((unsigned char)s[j++]);
			tag[k] = 0;
			if (i + 3 < n && strncmp(s + i, "<!--", 4) == 0) {
				const char *end = str_mem(s + i + 4, n - i - 4, "-->", 3);
				i = end ? (size_t)(end - s) + 3 : n;
				continue;
			}
			if (!close && (!strcmp(tag, "script") || !strcmp(tag, "style") || !strcmp(tag, "template") || !strcmp(tag, "title") ||
			               !strcmp(tag, "noscript") || !strcmp(tag, "svg"))) {
				char endtag[24];
				const char *end;
				size_t el = (size_t)base_snprintf(endtag, sizeof endtag, "</%s", tag), m;
				i = (size_t)(gt - s) + 1;
				for (end = NULL, m = i; m + el <= n; m++)
					if (strncasecmp(s + m, endtag, el) == 0) {
						end = s + m;
						break;
					}
				gt = end ? memchr(end, '>', n - (size_t)(end - s)) : NULL;
				i = gt ? (size_t)(gt - s) + 1 : n;
				continue;
			}
			if (!strcmp(tag, "br") || !strcmp(tag, "p") || !strcmp(tag, "div") || !strcmp(tag, "li") ||
			    !strcmp(tag, "tr") || !strcmp(tag, "pre") || !strcmp(tag, "table") || !strcmp(tag, "ul") ||
			    !strcmp(tag, "ol") || !strcmp(tag, "section") || !strcmp(tag, "article") ||
			    (tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6' && !tag[2])) {
				if (nl < 2 && out->len) {
					buf_add(out, "\n", 1);
					nl++;
				}
				space = 1;
				if (!close && !strcmp(tag, "li"))
					buf_adds(out, "- ");
			}
			i = (size_t)(gt - s) + 1;
			continue;
		}
		if (c == '&') {
			static const struct { const char *name; const char *text; } ent[] = {
				{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" }, { "quot;", "\"" }, { "#39;", "'" },
				{ "apos;", "'" }, { "nbsp;", " " }, { "mdash;", "\xe2\x80\x94" }, { "ndash;", "\xe2\x80\x93" },
				{ "hellip;", "\xe2\x80\xa6" }, { "copy;", "\xc2\xa9" },
			};
			size_t k;
			for (k = 0; k < sizeof ent / sizeof ent[0]; k++)
				if (i + 1 + strlen(ent[k].name) <= n && strncmp(s + i + 1, ent[k].name, strlen(ent[k].name)) == 0)
					break;
			if (k < sizeof ent / sizeof ent[0]) {
				buf_adds(out, ent[k].text);
				i += 1 + strlen(ent[k].name);
				space = nl = 0;
				continue;
			}
			if (i + 2 < n && s[i + 1] == '#') {
				int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
				const char *end = s + i + 2 + hex;
				unsigned long cp = 0;
				for (; end < s + n && cp <= 0x10FFFF; end++) {
					int ch = (unsigned char)*end, d = ch >= '0' && ch <= '9' ? ch - '0' :
					         hex && (ch | 32) >= 'a' && (ch | 32) <= 'f' ? (ch | 32) - 'a' + 10 : -1;
					if (d < 0)
						break;
					cp = cp * (hex ? 16 : 10) + (unsigned long)d;
				}
				if (end < s + n && *end == ';' && end > s + i + 2 + hex && cp > 0 && cp <= 0x10FFFF &&
				    !(cp >= 0xD800 && cp <= 0xDFFF)) {
					char u[4];
					int l = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
					if (l == 1) u[0] = (char)cp;
					else if (l == 2) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
					else if (l == 3) u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
					                 u[2] = (char)(0x80 | (cp & 0x3F));
					else u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
					     u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
					buf_add(out, u, (size_t)l);
					i = (size_t)(end - s) + 1;
					space = nl = 0;
					continue;
				}
			}
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space && !nl)
				buf_add(out, " ", 1);
			space = 1;
			i++;
			continue;
		}
		buf_add(out, &c, 1);
		space = nl = 0;
		i++;
	}
	while (out->len && (out->p[out->len - 1] == ' ' || out->p[out->len - 1] == '\n'))
		out->p[--out->len] = 0;
}

PROSE(loop_web_get_msg2,
	"a redirect to a URL too long to follow")

PROSE(loop_web_get_msg1,
	"too many redirects (more than 10); the last pointed to %.*s")

PROSE(loop_web_get_msg,
	"a redirect to '%.*s', which cannot be followed (only http and https)")

/* GET url (redirects followed); the body, its content type and the final URL. */
static int
loop_web_get(const char *url, struct tls_trust *trust, struct buf *body, char *ctype, size_t ccap, char *final,
        size_t fcap, struct ag_err *e)
{
	char cur[2048], target[2048];
	int hops;
	struct http *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(e, AG_E_NOMEM, "out of memory");
	str_copy(cur, sizeof cur, url, strlen(url));
	for (hops = 0;; hops++) {
		const char *loc, *ct;
		size_t ll, cl;
		char tmp[4096];
		long r;
		int rc;
		memset(h, 0, sizeof *h);
		h->net.fd = -1;
		h->e = e;
		h->trust = trust;
		if (loop_web_split(cur, &h->url, target, sizeof target, e) || net_proxy_for(&h->url, &h->proxy, e))
			break;
		h->net.timeout_ms = 30000;
		h->deadline_ms = clk_ms() + 60000;
		rc = http_request(h, "GET", target, "accept: text/html, text/plain, application/json, */*;q=0.5\r\n"
		                  "user-agent: agent/" AG_VERSION "\r\nconnection: close\r\n", NULL, NULL);
		if (rc)
			break;
		loc = http_header(h, "location", &ll);
		if (h->status >= 300 && h->status < 400 && h->status != 304 && loc) {
			char next[2048];
			http_close(h);
			if (hops >= 10) {
				err_set(e, AG_E_API, prose(loop_web_get_msg1), (int)(ll < 200 ? ll : 200), loc);
				break;
			}
			if (ll >= sizeof next - 1) {
				err_set(e, AG_E_API, prose(loop_web_get_msg2));
				break;
			}
			{   /* RFC 3986 references: absolute, scheme-relative, absolute-path, relative-path */
				size_t on = (size_t)(str_find(cur, "://") + 3 - cur), sch = (size_t)(str_find(cur, "://") - cur);
				on += strcspn(cur + on, "/?#");
				if (ll > 8 && strncasecmp(loc, "https://", 8) == 0)
					base_snprintf(next, sizeof next, "https://%.*s", (int)ll - 8, loc + 8);
				else if (ll > 7 && strncasecmp(loc, "http://", 7) == 0)
					base_snprintf(next, sizeof next, "http://%.*s", (int)ll - 7, loc + 7);
				else if (ll > 2 && loc[0] == '/' && loc[1] == '/')
					base_snprintf(next, sizeof next, "%.*s:%.*s", (int)sch, cur, (int)ll, loc);
				else if (ll && loc[0] == '/')
					base_snprintf(next, sizeof next, "%.*s%.*s", (int)on, cur, (int)ll, loc);
				else if (ll && !memchr(loc, ':', strcspn(loc, "/?#") < ll ? strcspn(loc, "/?#") : ll)) {
					size_t pl = strcspn(cur + on, "?#"), d = pl;
					while (d > 0 && cur[on + d - 1] != '/')
						d--;
					base_snprintf(next, sizeof next, "%.*s%s%.*s", (int)(on + d), cur, d ? "" : "/", (int)ll, loc);
				} else {
					err_set(e, AG_E_API, prose(loop_web_get_msg),
					        (int)(ll < 200 ? ll : 200), loc);
					break;
				}
			}
			str_copy(cur, sizeof cur, next, strlen(next));
			continue;
		}
		if (h->status < 200 || h->status > 299) {
			err_set(e, AG_E_API, "%s answered HTTP %d", h->url.host, h->status);
			break;
		}
		ct = http_header(h, "content-type", &cl);
		str_copy(ctype, ccap, ct ? ct : "", ct ? cl : 0);
		body->len = 0;
		while ((r = http_body_read(h, tmp, sizeof tmp)) > 0 && body->len < AG_FETCH_MAX)
			buf_add(body, tmp, (size_t)r);
		if (r < 0 && body->len < AG_FETCH_MAX)
			break;
		str_copy(final, fcap, cur, strlen(cur));
		http_close(h);
		free(h);
		return 0;
	}
	http_close(h);
	free(h);
	return e->code ? e->code : AG_E_API;
}

PROSE(loop_webfetch_msg3,
	"WebFetch %s: the content is %s, not text")

PROSE(loop_webfetch_msg1,
	"\n---\n\n%s\n\nAnswer from the content above only, concisely. Quote exactly where wording "
	"matters.")
PROSE(loop_webfetch_msg2,
	"WebFetch %s: fetched %zu characters, but the model request about them failed: %s")

static void
loop_webfetch(struct loop *L, const struct json *j, struct tool_out *o)
{
	struct buf url = {0}, prompt = {0}, body = {0}, text = {0}, q = {0};
	struct ag_err e = {0};
	char ctype[128] = "", final[2048] = "";
	struct api_cfg cfg = *L->cfg;
	const struct api_cfg *saved_cfg = L->api->cfg;
	struct api_msg *m = NULL;
	struct conv c = {0};
	struct msg *um;
	const char *small = getenv("ANTHROPIC_SMALL_FAST_MODEL");
	int rc;
	if (tool_arg_str(j, "url", &url, 1, "WebFetch", o) < 0 || tool_arg_str(j, "prompt", &prompt, 1, "WebFetch", o) < 0)
		goto out;
	if (loop_web_get(url.p, L->api->http.trust, &body, ctype, sizeof ctype, final, sizeof final, &e)) {
		tool_fail(o, "WebFetch %s: %s", url.p, e.msg);
		goto out;
	}
	{
		char *lc;
		for (lc = ctype; *lc; lc++)
			*lc = (char)tolower((unsigned char)*lc);
	}
	if (!ctype[0] || str_find(ctype, "html"))
		loop_web_text(body.p ? body.p : "", body.len, &text);
	else if (str_starts(ctype, "text/") || str_find(ctype, "json") || str_find(ctype, "xml")) {
		size_t k, nc = 0;
		for (k = 0; k < body.len && nc <= AG_FETCH_TEXT; k++)
			nc += ((unsigned char)body.p[k] & 0xC0) != 0x80;
		buf_add(&text, body.p ? body.p : "", nc > AG_FETCH_TEXT ? k - 1 : k);
	}
	else {
		tool_fail(o, prose(loop_webfetch_msg3), url.p, ctype);
		goto out;
	}
	buf_printf(&q, "Web page content (%s):\n---\n", final);
	buf_add(&q, text.p ? text.p : "", text.len);
	buf_printf(&q, prose(loop_webfetch_msg1), prompt.p);
	if (!(m = calloc(1, sizeof *m)) || !(um = conv_add(&c, ROLE_USER)) || conv_text_block(um, q.p, q.len)) {
		tool_fail(o, "out of memory");
		goto out;
	}
	if (!cfg.openai)
		base_snprintf(cfg.model, sizeof cfg.model, "%s", small && *small ? small : "claude-haiku-4-5");
	cfg.system_json = NULL;
	cfg.tools_json = NULL;
	cfg.thinking = 0;
	cfg.max_tokens = 4096;
	L->api->cfg = &cfg;
	rc = api_call(L->api, &c, m, NULL, NULL, NULL);
	L->api->cfg = saved_cfg;
	if (rc) {
		tool_fail(o, prose(loop_webfetch_msg2), final,
		          text.len, L->api->e->msg);
		L->api->e->code = 0;
		L->api->e->status = 0;
		L->api->e->msg[0] = 0;
		goto out;
	}
	L->total.input += m->usage.input;
	L->total.output += m->usage.output;
	buf_printf(&o->text, "Fetched %s (%zu characters)%s%s\n\n", final, loop_web_chars(text.p, text.len),
	           strcmp(final, url.p) ? ", redirected from " : "", strcmp(final, url.p) ? url.p : "");
	{
		int i;
		for (i = 0; i < m->nb; i++)
			if (m->b[i].type == BLK_TEXT)
				api_text_plain(&m->b[i], &o->text);
	}
out:
	if (m) {
		api_msg_free(m);
		free(m);
	}
	conv_free(&c);
	buf_free(&url);
	buf_free(&prompt);
	buf_free(&body);
	buf_free(&text);
	buf_free(&q);
}

/* Run every tool_use of the assistant message; all results go into one user message, in order. */
/* ---- hooks: the commands of struct hooks, run at the loop's points ---- */

#ifndef AG_HOOKS_AT_ONCE
#define AG_HOOKS_AT_ONCE 16
#endif

/* What the hooks of one event said, merged: the strongest decision wins (deny, then ask, then allow). */
struct hook_out {
	int block;                /* exit 2 or "decision": "block" (a PreToolUse deny too) */
	int decision;             /* PreToolUse: 0, 'a'llow, 'k' ask, 'd'eny */
	int stop;                 /* "continue": false */
	struct buf reason;        /* the model's (or the user's) reading of a block or a stop */
	struct buf context;       /* additionalContext, and stdout of UserPromptSubmit and SessionStart */
};

/* The event's JSON: the fields every hook gets, then the event's own (fill adds them), closed here. */
static void
loop_hook_input(const struct loop *L, int ev, struct buf *out, void (*fill)(struct jw *, const void *), const void *ctx)
{
	static const char *const modes[] = { "default", "acceptEdits", "plan", "bypassPermissions" };
	struct jw w;
	jw_init(&w, jw_sink_buf, out);
	jw_open(&w, '{');
	jw_key(&w, "session_id"), jw_str(&w, L->session_id);
	jw_key(&w, "transcript_path"), jw_str(&w, L->sess ? L->sess->path : "");
	jw_key(&w, "cwd"), jw_str(&w, L->tools.cwd);
	jw_key(&w, "permission_mode"), jw_str(&w, modes[L->perm.mode & 3]);
	jw_key(&w, "hook_event_name"), jw_str(&w, hook_event[ev]);
	if (fill)
		fill(&w, ctx);
	jw_close(&w, '}');
}

PROSE(loop_hook_read_msg,
	"agent: %s hook '%.80s' %s; going on without it%s%.*s\n")

/* One hook's answer into the merged one. st: its wait status (-1: killed at its timeout). */
static void
loop_hook_read(const struct hook *h, int ev, int st, struct buf *so, struct buf *se, struct hook_out *o, int verbose)
{
	int code = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	struct json j;
	jsmntok_t *tok = NULL;
	if (code == 2) {                          /* blocks: its stderr is the reason */
		o->block = 1;
		buf_printf(&o->reason, "%s%.*s", o->reason.len ? "\n" : "", (int)(se->len < 4000 ? se->len : 4000), se->p ? se->p : "");
		if (ev == HOOK_PRE_TOOL)
			o->decision = 'd';
		return;
	}
	if (code != 0) {
		char why[40];
		base_snprintf(why, sizeof why, st < 0 ? "timed out after %d s and was killed" : code < 0 ? "was killed" :
		              "failed (exit %d)", st < 0 ? h->timeout : code);
		base_dprintf(2, prose(loop_hook_read_msg), hook_event[ev], h->cmd, why,
		             se->len ? ": " : "", (int)(se->len < 300 ? se->len : 300), se->p ? se->p : "");
		return;
	}
	if (verbose && so->len)
		base_dprintf(2, "agent: %s hook '%.80s': %.*s\n", hook_event[ev], h->cmd, (int)(so->len < 2000 ? so->len : 2000), so->p);
	if (so->len && so->p[strspn(so->p, " \t\r\n")] == '{' && json_parse_alloc(&j, so->p, so->len, &tok) > 0 &&
	    j.t[0].type == JSMN_OBJECT) {
		int hso = json_get(&j, 0, "hookSpecificOutput"), c = json_get(&j, 0, "continue");
		int pd = json_get(&j, hso, "permissionDecision");
		struct buf r = {0};
		if (json_str_buf(&j, json_get(&j, hso, "permissionDecisionReason"), &r) && json_str_buf(&j, json_get(&j, 0, "reason"), &r) &&
		    json_str_buf(&j, json_get(&j, 0, "stopReason"), &r))
			r.len = 0;
		if (c >= 0 && j.s[j.t[c].start] == 'f')
			o->stop = 1;
		if (json_eq(&j, json_get(&j, 0, "decision"), "block") || json_eq(&j, pd, "deny") || o->stop)
			o->block = 1;
		if (ev == HOOK_PRE_TOOL) {
			int d = json_eq(&j, pd, "deny") || json_eq(&j, json_get(&j, 0, "decision"), "block") ? 'd' :
			        json_eq(&j, pd, "ask") ? 'k' : json_eq(&j, pd, "allow") || json_eq(&j, json_get(&j, 0, "decision"), "approve") ? 'a' : 0;
			if (d == 'd' || (d == 'k' && o->decision != 'd') || (d == 'a' && !o->decision))
				o->decision = d;
		}
		if (r.len && (o->block || ev == HOOK_PRE_TOOL))
			buf_printf(&o->reason, "%s%s", o->reason.len ? "\n" : "", r.p);
		r.len = 0;
		if (!json_str_buf(&j, json_get(&j, hso, "additionalContext"), &r) && r.len)
			buf_printf(&o->context, "%s%s", o->context.len ? "\n" : "", r.p);
		buf_free(&r);
	} else if (so->len && (ev == HOOK_PROMPT || ev == HOOK_SESSION_START)) {
		buf_printf(&o->context, "%s%.*s", o->context.len ? "\n" : "", (int)(so->len < 16000 ? so->len : 16000), so->p);
	}
	free(tok);
}

/* What a hook wrote so far on one pipe (kept up to 64 KB); the pipe closed at its end. */
static void
loop_hook_drain(int *fd, struct buf *b)
{
	char tmp[4096];
	ssize_t k;
	while (*fd >= 0) {
		if ((k = read(*fd, tmp, sizeof tmp)) > 0) {
			if (b->len < 65536)
				buf_add(b, tmp, (size_t)k);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0 || errno != EAGAIN)
			close(*fd), *fd = -1;
		break;
	}
}

/* Run the hooks of ev that match (match: the tool name for the tool events), side by side, each with the
 * event's JSON on stdin and CLAUDE_PROJECT_DIR set, killed (its whole group) at its timeout or on Ctrl-C;
 * none can hang the agent (one that never reads stdin just does not get it). 0: none ran. */
static int
loop_hooks(struct loop *L, int ev, const char *match, const char *input, struct hook_out *o)
{
	struct { pid_t pid; int in, out, err, st, done; size_t wrote; long long end; struct buf so, se; const struct hook *h; } r[AG_HOOKS_AT_ONCE];
	size_t i, n = 0, len = strlen(input), live;
	const struct hooks *hs = L->hooks;
	for (i = 0; hs && i < hs->n && n < AG_HOOKS_AT_ONCE; i++) {
		const struct hook *h = &hs->h[i];
		int pi[2], po[2], pe[2];
		if (h->ev != ev)
			continue;
		if (h->re && match && !tool_rx_match(h->re, match, strlen(match)))
			continue;
		if (pipe2(pi, O_CLOEXEC) < 0)
			break;
		if (pipe2(po, O_CLOEXEC) < 0) {
			close(pi[0]), close(pi[1]);
			break;
		}
		if (pipe2(pe, O_CLOEXEC) < 0) {
			close(pi[0]), close(pi[1]), close(po[0]), close(po[1]);
			break;
		}
		memset(&r[n], 0, sizeof r[n]);
		r[n].h = h;
		r[n].pid = base_fork_kept();
		if (r[n].pid == 0) {
			if (dup2(pi[0], 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
				_exit(127);
		{
			struct buf d = {0};
			buf_printf(&d, "CLAUDE_PROJECT_DIR=%s", L->perm.bound && L->perm.bound->n ? L->perm.bound->dir[0] : L->tools.cwd);
			base_putenv(d.p);
		}
			tool_env_scrub();
			base_exec_sh(h->cmd, NULL);
			_exit(127);
		}
		close(pi[0]), close(po[1]), close(pe[1]);
		r[n].in = pi[1], r[n].out = po[0], r[n].err = pe[0];
		fcntl(r[n].in, F_SETFL, O_NONBLOCK);
		fcntl(r[n].out, F_SETFL, O_NONBLOCK);
		fcntl(r[n].err, F_SETFL, O_NONBLOCK);
		r[n].end = clk_ms() + h->timeout * 1000LL;
		if (r[n].pid < 0) {
			close(r[n].in), close(r[n].out), close(r[n].err);
			continue;
		}
		n++;
	}
	for (live = n; live;) {
		struct pollfd p[AG_HOOKS_AT_ONCE * 3];
		nfds_t np = 0;
		long long now = clk_ms(), wait = 200;
		for (i = 0; i < n; i++) {
			if (r[i].done)
				continue;
			if (now >= r[i].end || ag_interrupted) {  /* its time is up: the group goes, stdout and all */
				kill(-r[i].pid, SIGKILL);
				r[i].st = -1;
				if (now >= r[i].end + 2000 || ag_interrupted) {   /* something it left holds the pipes */
					if (r[i].out >= 0)
						close(r[i].out), r[i].out = -1;
					if (r[i].err >= 0)
						close(r[i].err), r[i].err = -1;
				}
			}
			if (r[i].in >= 0)
				p[np].fd = r[i].in, p[np++].events = POLLOUT;
			if (r[i].out >= 0)
				p[np].fd = r[i].out, p[np++].events = POLLIN;
			if (r[i].err >= 0)
				p[np].fd = r[i].err, p[np++].events = POLLIN;
			if (r[i].end - now < wait)
				wait = r[i].end - now > 0 ? r[i].end - now : 10;
		}
		poll(p, np, (int)wait);
		for (i = 0; i < n; i++) {
			ssize_t k;
			if (r[i].done)
				continue;
			if (r[i].in >= 0) {
				k = write(r[i].in, input + r[i].wrote, len - r[i].wrote);
				if (k > 0)
					r[i].wrote += (size_t)k;
				if ((k < 0 && errno != EAGAIN && errno != EINTR) || r[i].wrote == len)
					close(r[i].in), r[i].in = -1;
			}
			loop_hook_drain(&r[i].out, &r[i].so);
			loop_hook_drain(&r[i].err, &r[i].se);
			if (r[i].out < 0 && r[i].err < 0) {
				int st = 0;
				if (waitpid(r[i].pid, &st, r[i].st < 0 ? 0 : WNOHANG) == r[i].pid) {
					if (r[i].in >= 0)
						close(r[i].in), r[i].in = -1;
					r[i].st = r[i].st < 0 ? -1 : st;
					r[i].done = 1;
					live--;
				}
			}
		}
	}
	for (i = 0; i < n; i++) {
		loop_hook_read(r[i].h, ev, r[i].st, &r[i].so, &r[i].se, o, L->verbose);
		buf_free(&r[i].so);
		buf_free(&r[i].se);
	}
	return (int)n;
}

struct loop_hook_call { const char *name; const struct json *in; const struct buf *id; const struct tool_out *o; };

static void
loop_hook_tool_fill(struct jw *w, const void *ctx)
{
	const struct loop_hook_call *c = ctx;
	jw_key(w, "tool_name"), jw_str(w, c->name);
	jw_key(w, "tool_input"), json_copy(w, c->in, 0);
	jw_key(w, "tool_use_id"), jw_strn(w, c->id->p ? c->id->p : "", c->id->len);
	if (c->o) {
		int fp = json_get(c->in, 0, "file_path");
		jw_key(w, "tool_response");
		jw_open(w, '{');                  /* Claude Code's fields where agent has them, and ours */
		if (!strcmp(c->name, "Bash")) {
			jw_key(w, "stdout"), jw_strn(w, c->o->text.p ? c->o->text.p : "", c->o->text.len);
			jw_key(w, "stderr"), jw_str(w, "");         /* agent's Bash merges the two */
			jw_key(w, "interrupted"), jw_bool(w, 0);
			jw_key(w, "isImage"), jw_bool(w, 0);
		} else if (fp >= 0) {
			jw_key(w, "filePath"), json_copy(w, c->in, fp);
			jw_key(w, "success"), jw_bool(w, !c->o->is_error);
		}
		jw_key(w, "content"), jw_strn(w, c->o->text.p ? c->o->text.p : "", c->o->text.len);
		jw_key(w, "is_error"), jw_bool(w, c->o->is_error);
		jw_close(w, '}');
	}
}

/* PreToolUse (o NULL) or PostToolUse (o: the result) for one call; the tool name is what matchers see. */
static void
loop_hook_tool(struct loop *L, int ev, const char *name, const struct json *in, const struct buf *id,
               const struct tool_out *o, struct hook_out *ho)
{
	struct buf b = {0};
	struct loop_hook_call c = { name, in, id, o };
	if (!L->hooks || !L->hooks->n)
		return;
	loop_hook_input(L, ev, &b, loop_hook_tool_fill, &c);
	loop_hooks(L, ev, name, b.p ? b.p : "{}", ho);
	buf_free(&b);
}

/* The other events: up to two string fields of their own, and stop_hook_active when active >= 0. */
struct loop_hook_kv { const char *k, *v, *k2, *v2; int active; };

static void
loop_hook_kv_fill(struct jw *w, const void *ctx)
{
	const struct loop_hook_kv *c = ctx;
	if (c->k)
		jw_key(w, c->k), jw_str(w, c->v);
	if (c->k2)
		jw_key(w, c->k2), jw_str(w, c->v2);
	if (c->active >= 0)
		jw_key(w, "stop_hook_active"), jw_bool(w, c->active);
}

static int
loop_hook_event(struct loop *L, int ev, const struct loop_hook_kv *kv, struct hook_out *ho)
{
	struct buf b = {0};
	int n;
	if (!L->hooks || !L->hooks->n)
		return 0;
	loop_hook_input(L, ev, &b, loop_hook_kv_fill, kv);
	n = loop_hooks(L, ev, NULL, b.p ? b.p : "{}", ho);
	buf_free(&b);
	return n;
}

static void
loop_hook_free(struct hook_out *o)
{
	buf_free(&o->reason);
	buf_free(&o->context);
}

PROSE(loop_run_tools_msg5,
	"%s is not one of this subagent's tools.")
PROSE(loop_run_tools_msg6,
	"agent needs your permission to use %s")

PROSE(loop_run_tools_msg1,
	"Not run: the user interrupted (Ctrl-C) before this call.")
PROSE(loop_run_tools_msg2,
	"A PreToolUse hook blocked this call: %.900s")
PROSE(loop_run_tools_msg3,
	"The user refused to let you run %s.%s%.800s")
PROSE(loop_run_tools_msg4,
	"\n\n<post-tool-use-hook>%s%s%s</post-tool-use-hook>")

PROSE(loop_run_tools_msg,
	"A PreToolUse hook says to ask the user first (%.800s), and there is "
	"no terminal to ask.")

PROSE(loop_todo_nudge,
	"The TodoWrite tool has not been used for a while. If this task has several steps, "
	"track them with TodoWrite. Do not mention this reminder to the user.")

static void
loop_run_tools(struct loop *L, const struct msg *am, struct msg *um)
{
	struct json j, tj;
	size_t bi;
	int used_todo = 0;
	for (bi = 0; bi < am->n; bi++) {
		char name[128], summary[200], why[1024];
		struct buf id = {0};
		jsmntok_t *tok = NULL;
		const int k = 0;
		struct tool_out o = {{0}, 0, {0}};
		struct buf res = {0};
		struct jw w;
		int in;
		const char *arg = NULL;
		char abspath[PATH_MAX], lexpath[PATH_MAX], given[PATH_MAX];
		struct perm_call pcall;
		if (!str_starts(am->blk[bi].p, "{\"type\":\"tool_use\"") ||
		    json_parse_alloc(&j, am->blk[bi].p, am->blk[bi].len, &tok) <= 0 || (in = json_get(&j, k, "input")) < 0) {
			free(tok);
			continue;
		}
		json_str_buf(&j, json_get(&j, k, "id"), &id);
		json_str(&j, json_get(&j, k, "name"), name, sizeof name);
		tj = j;                              /* the input object as its own document */
		tj.t = j.t + in;
		tj.n = json_skip(&j, in) - in;
		loop_tool_summary(name, &tj, summary, sizeof summary);
		if (strcmp(name, "TodoWrite") == 0)
			used_todo = 1;
		memset(&pcall, 0, sizeof pcall);
		{
			struct buf a = {0};
			int tr;
			if (strcmp(name, "WebFetch") == 0) {   /* asked per domain: WebFetch(domain:HOST) */
				struct buf u = {0};
				struct url pu;
				char target[2048];
				struct ag_err ue = {0};
				if (json_str_buf(&tj, json_get(&tj, 0, "url"), &u) == 0 && u.p &&
				    loop_web_split(u.p, &pu, target, sizeof target, &ue) == 0) {
					char *c;
					size_t hl = strlen(pu.host);
					while (hl > 1 && pu.host[hl - 1] == '.')
						pu.host[--hl] = 0;        /* "evil.test." is evil.test */
					for (c = pu.host; *c; c++)
						*c = (char)tolower((unsigned char)*c);
					base_snprintf(abspath, sizeof abspath, "domain:%s", pu.host);
					arg = abspath;
				}
				buf_free(&u);
			} else if (strcmp(name, "Bash") == 0) {
				if (json_str_buf(&tj, json_get(&tj, 0, "command"), &a) == 0 && a.p)
					arg = a.p;
			} else if ((tr = tool_target(&L->tools, name, &tj, abspath, sizeof abspath, given, sizeof given)) > 0) {
				arg = abspath;               /* the resolved path: what the tool will open */
				pcall.given = given;
				if (tool_path_lex(&L->tools, given, lexpath, sizeof lexpath) == 0)
					pcall.lex = lexpath;
			} else if (tr < 0) {
				arg = "";                    /* unresolvable: judged as a path outside everything */
			}
			pcall.tool = name;
			pcall.arg = arg;
			pcall.cwd = L->tools.cwd;
			{
				struct hook_out ho;
				int pc;
				memset(&ho, 0, sizeof ho);
				if (!ag_interrupted)
					loop_hook_tool(L, HOOK_PRE_TOOL, name, &tj, &id, NULL, &ho);
				pcall.hook_allow = ho.decision == 'a';
				pc = ag_interrupted ? PERM_DENY : perm_check(&L->perm, &pcall, why, sizeof why);
				if (ag_interrupted)
					base_snprintf(why, sizeof why, prose(loop_run_tools_msg1));
				else if (ho.decision == 'd')
					base_snprintf(why, sizeof why, prose(loop_run_tools_msg2),
					              ho.reason.len ? ho.reason.p : "(no reason given)"), pc = PERM_DENY;
				else if (ho.decision == 'k' && pc == PERM_ALLOW)
					base_snprintf(why, sizeof why, prose(loop_run_tools_msg), ho.reason.len ? ho.reason.p : "no reason given"),
					pc = L->perm.interactive ? PERM_ASK : PERM_DENY;
				loop_hook_free(&ho);
				ui_tool_start(L->ui, name, summary);
				if (pc != PERM_DENY && L->subagent && (strcmp(name, "Task") == 0 || (L->only && !cli_listed(L->only, name))))
					base_snprintf(why, sizeof why, prose(loop_run_tools_msg5), name), pc = PERM_DENY;
				if (pc == PERM_ASK) {
					struct buf fb = {0};
					char note[200];
					struct loop_hook_kv kv = { "message", note, NULL, NULL, -1 };
					base_snprintf(note, sizeof note, prose(loop_run_tools_msg6), name);
					memset(&ho, 0, sizeof ho);
					loop_hook_event(L, HOOK_NOTIFY, &kv, &ho);
					loop_hook_free(&ho);
					pc = L->ask && L->ask(L, name, &tj, arg, &fb) ? PERM_ALLOW : PERM_DENY;
					if (pc == PERM_DENY)
						base_snprintf(why, sizeof why, prose(loop_run_tools_msg3), name,
						         fb.len ? " They said what to do instead: " : " Ask them what to do instead.",
						         fb.len ? fb.p : "");
					buf_free(&fb);
				}
				/* allowed: the tool checks again that its path is this one, and inside unless allowed outside */
				L->tools.outside_ok = arg && perm_tool_is_file(name) && !bound_inside(L->perm.bound, arg);
				L->tools.checked = arg && perm_tool_is_file(name) ? arg : NULL;
				if (pc == PERM_DENY)
					tool_fail(&o, "%s", why);
				else if (strcmp(name, "Task") == 0)
					loop_task(L, &tj, &o);
				else if (strcmp(name, "WebFetch") == 0)
					loop_webfetch(L, &tj, &o);
				else
					tool_run(&L->tools, name, &tj, &o);
				L->tools.checked = NULL;
				if (pc != PERM_DENY) {
					memset(&ho, 0, sizeof ho);
					loop_hook_tool(L, HOOK_POST_TOOL, name, &tj, &id, &o, &ho);
					if ((ho.block && ho.reason.len) || ho.context.len)
						buf_printf(&o.text, prose(loop_run_tools_msg4),
						           ho.block ? ho.reason.p : "", ho.block && ho.context.len ? "\n" : "",
						           ho.context.len ? ho.context.p : "");
					loop_hook_free(&ho);
				}
			}
			buf_free(&a);
		}
		ui_tool_result(L->ui, name, summary, &o);
		if (strcmp(name, "TodoWrite") == 0 && !o.is_error)
			ui_todos(L->ui, &L->tools);
		jw_init(&w, jw_sink_buf, &res);
		jw_open(&w, '{');
		jw_key(&w, "type"); jw_str(&w, "tool_result");
		jw_key(&w, "tool_use_id"); jw_strn(&w, id.p ? id.p : "", id.len);
		jw_key(&w, "content");
		if (o.blocks.len) {                /* text and images: content as blocks */
			jw_open(&w, '[');
			jw_open(&w, '{');
			jw_key(&w, "type"); jw_str(&w, "text");
			jw_key(&w, "text"); jw_strn(&w, o.text.p ? o.text.p : "", o.text.len);
			jw_close(&w, '}');
			jw_raw(&w, ",", 1);
			if (buf_reserve(&o.blocks, res.len + 1) == 0) {   /* an image is MBs: its buffer goes on, not a copy */
				memmove(o.blocks.p + res.len, o.blocks.p, o.blocks.len + 1);
				memcpy(o.blocks.p, res.p, res.len);
				o.blocks.len += res.len;
				buf_free(&res);
				res = o.blocks;
				memset(&o.blocks, 0, sizeof o.blocks);
			} else {
				jw_raw(&w, o.blocks.p, o.blocks.len);
			}
			jw_close(&w, ']');
			buf_free(&o.blocks);
		} else {
			jw_strn(&w, o.text.p ? o.text.p : "", o.text.len);
		}
		if (o.is_error) {
			jw_key(&w, "is_error");
			jw_bool(&w, 1);
		}
		jw_close(&w, '}');
		buf_free(&o.text);
		buf_free(&id);
		conv_block_take(um, &res);
		buf_free(&res);
		free(tok);
	}
	if (used_todo)
		L->tools.rounds_without_todo = 0;
	else
		L->tools.rounds_without_todo++;
	if (!L->nudged && L->tools.rounds_without_todo >= LOOP_TODO_NUDGE_ROUNDS) {
		loop_reminder(um, prose(loop_todo_nudge));
		L->nudged = 1;
	}
}

static void
loop_emit_message(struct loop *L, const char *type, const struct msg *m)
{
	struct buf b = {0};
	struct jw w;
	jw_init(&w, jw_sink_buf, &b);
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, type);
	jw_key(&w, "message");
	jw_open(&w, '{');
	if (m->role == ROLE_ASSISTANT) {
		jw_key(&w, "id"); jw_str(&w, L->msg.id);
		jw_key(&w, "type"); jw_str(&w, "message");
		jw_key(&w, "model"); jw_str(&w, L->cfg->model);
	}
	jw_key(&w, "role"); jw_str(&w, m->role == ROLE_USER ? "user" : "assistant");
	jw_key(&w, "content");
	jw_open(&w, '[');
	conv_write_content(m, &w, 0);
	jw_close(&w, ']');
	if (m->role == ROLE_ASSISTANT) {
		jw_key(&w, "stop_reason"); jw_str(&w, L->msg.stop_reason[0] ? L->msg.stop_reason : "end_turn");
		jw_key(&w, "usage"); loop_usage_json(&w, &L->msg.usage);
	}
	jw_close(&w, '}');
	jw_key(&w, "session_id"); jw_str(&w, L->session_id);
	jw_close(&w, '}');
	loop_emit(L, &b);
	buf_free(&b);
}

static void
loop_emit_result(struct loop *L, const char *subtype, int is_error, const char *errmsg)
{
	struct buf b = {0};
	struct jw w;
	jw_init(&w, jw_sink_buf, &b);
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, "result");
	jw_key(&w, "subtype"); jw_str(&w, subtype);
	jw_key(&w, "is_error"); jw_bool(&w, is_error);
	jw_key(&w, "duration_ms"); jw_int(&w, clk_ms() - L->t_start);
	jw_key(&w, "num_turns"); jw_int(&w, L->turns);
	jw_key(&w, "result");
	if (errmsg)
		jw_str(&w, errmsg);
	else
		jw_strn(&w, L->last_text.p ? L->last_text.p : "", L->last_text.len);
	jw_key(&w, "session_id"); jw_str(&w, L->session_id);
	jw_key(&w, "total_cost_usd");
	{
		char c[32];
		loop_cost_str(loop_cost(L->cfg->model, &L->total), 6, c, sizeof c);
		jw_json(&w, c, strlen(c));
	}
	jw_key(&w, "usage"); loop_usage_json(&w, &L->total);
	jw_close(&w, '}');
	loop_emit(L, &b);
	buf_free(&b);
}

PROSE(loop_mentions_msg,
	"<mcp-resource server=\"%s\" uri=\"%.*s\">\n")

PROSE(loop_todo_empty,
	"This is a reminder that your todo list is currently empty. If the task has several "
	"steps, plan them with TodoWrite. Do not mention this reminder to the user.")

/* @server:uri in a prompt: the resource read (resources/read) and added to the message after the prompt, as
 * Claude Code attaches it; a word that names no MCP server with resources stays text only. */
static void
loop_mentions(struct loop *L, struct msg *m, const char *text, size_t n)
{
	size_t i, c, e;
	for (i = 0; L->tools.mcp && i < n; i = e) {
		struct mcp_srv *s;
		struct tool_out o = {{0}, 0, {0}};
		struct buf in = {0}, b = {0};
		struct json j;
		jsmntok_t *tok = NULL;
		struct jw w;
		for (c = i + 1; c < n && (isalnum((unsigned char)text[c]) || text[c] == '_' || text[c] == '-'); c++)
			;
		for (e = c; e < n && !isspace((unsigned char)text[e]); e++)
			;
		if (text[i] != '@' || (i && !isspace((unsigned char)text[i - 1])) || c == i + 1 || c >= n ||
		    text[c] != ':' || e == c + 1 || !(s = mcp_srv_named(L->tools.mcp, text + i + 1, c - i - 1)) ||
		    !(s->caps & MCP_CAP_RES)) {
			e = i + 1;
			continue;
		}
		jw_init(&w, jw_sink_buf, &in);
		jw_open(&w, '{');
		jw_key(&w, "server"), jw_str(&w, s->name);
		jw_key(&w, "uri"), jw_strn(&w, text + c + 1, e - c - 1);
		jw_close(&w, '}');
		if (json_parse_alloc(&j, in.p, in.len, &tok) > 0) {
			mcp_resource_read(L->tools.mcp, &j, &o);
			buf_printf(&b, prose(loop_mentions_msg), s->name, (int)(e - c - 1), text + c + 1);
			buf_add(&b, o.text.p ? o.text.p : "", o.text.len);
			buf_adds(&b, "\n</mcp-resource>");
			conv_text_block(m, b.p, b.len);
			base_dprintf(2, "  %s %.*s: %zu characters%s\n", o.is_error ? "could not read" : "read", (int)(e - i),
			             text + i, o.text.len, o.is_error ? " (the error goes to the model)" : "");
		}
		free(tok);
		buf_free(&in), buf_free(&b), buf_free(&o.text), buf_free(&o.blocks);
	}
}

/* Call the model, run its tools, send the results back; until it ends its turn or max_turns is reached.
 * The user message that starts the run is already the newest in the conversation. 0 or an error code;
 * *subtype names how it ended for the result object. */
/* The user's words as the newest message; on the first turn, with project memory and the empty-todo
 * reminder ahead of them. content is a JSON array of blocks or plain text. */
static int
loop_user_message(struct loop *L, const char *text, size_t n, const struct json *blocks, int bi)
{
	struct msg *m;
	struct hook_out ho;
	memset(&ho, 0, sizeof ho);
	if (text) {                               /* UserPromptSubmit: it may refuse the prompt, or add context */
		struct buf p = {0};
		struct loop_hook_kv kv = { "prompt", NULL, NULL, NULL, -1 };
		buf_add(&p, text, n);
		kv.v = p.p ? p.p : "";
		loop_hook_event(L, HOOK_PROMPT, &kv, &ho);
		buf_free(&p);
		if (ho.block) {
			L->prompt_block.len = 0;
			buf_adds(&L->prompt_block, ho.reason.len ? ho.reason.p : "(no reason given)");
			loop_hook_free(&ho);
			return AG_E_USAGE;
		}
	}
	if (!(m = conv_add(&L->conv, ROLE_USER))) {
		loop_hook_free(&ho);
		return AG_E_NOMEM;
	}
	if (!L->first_user_done) {
		if (L->memory && *L->memory)
			loop_reminder(m, L->memory);
		if (L->hook_context.len)
			loop_reminder(m, L->hook_context.p);
		loop_reminder(m, prose(loop_todo_empty));
		L->first_user_done = 1;
	}
	if (blocks) {
		int i, k;
		for (i = 0, k = bi + 1; i < blocks->t[bi].size && k < blocks->n; i++, k = json_skip(blocks, k)) {
			struct buf b = {0};
			struct jw w;
			jw_init(&w, jw_sink_buf, &b);
			if (json_copy(&w, blocks, k) == 0 && b.len)
				conv_block(m, b.p, b.len);
			buf_free(&b);
		}
		return 0;
	}
	if (ho.context.len)
		loop_reminder(m, ho.context.p);
	loop_hook_free(&ho);
	if (text) {
		int r = conv_text_block(m, text, n);
		loop_mentions(L, m, text, n);
		return r;
	}
	return conv_text_block(m, text, n);
}

PROSE(loop_ratelimit_check_msg,
	"warning: %llu%% of the %s rate limit is used (%llu of %llu left%s%.*s)")

/* Warn once when a rate limit is nearly used up (under 10% left). */
static void
loop_ratelimit_check(struct loop *L)
{
	static const char *const kinds[] = { "requests", "tokens", "input-tokens", "output-tokens" };
	size_t k;
	struct http *h = &L->api->http;
	if (L->warned_limit)
		return;
	for (k = 0; k < 4; k++) {
		char name[64];
		const char *lv, *rv, *tv;
		size_t ln, rn, tn = 0;
		unsigned long long lim, rem;
		base_snprintf(name, sizeof name, "anthropic-ratelimit-%s-limit", kinds[k]);
		lv = http_header(h, name, &ln);
		base_snprintf(name, sizeof name, "anthropic-ratelimit-%s-remaining", kinds[k]);
		rv = http_header(h, name, &rn);
		base_snprintf(name, sizeof name, "anthropic-ratelimit-%s-reset", kinds[k]);
		tv = http_header(h, name, &tn);
		if (lv && rv && !str_to_u64(lv, ln, ULLONG_MAX, &lim) && !str_to_u64(rv, rn, ULLONG_MAX, &rem) && lim &&
		    rem * 10 < lim) {
			char msg[300];
			base_snprintf(msg, sizeof msg, prose(loop_ratelimit_check_msg),
			         (lim - rem) * 100 / lim, kinds[k], rem, lim, tv ? "; resets " : "", tv ? (int)(tn < 40 ? tn : 40) : 0,
			         tv ? tv : "");
			ui_note(L->ui, msg);
			L->warned_limit = 1;
			return;
		}
	}
}

PROSE(loop_call_msg1,
	"%s; retrying in %lld.%lld s (retry %d of %d)")

PROSE(loop_call_msg,
	"%s; retrying in %lld.%lld s (retry 1 of %d); the %d retr%s wait up to "
	"%lld s in all (ANTHROPIC_MAX_RETRIES=0: no retries)")

/* api_call, tried again the way the SDKs do it (see api_should_retry), one line per retry on stderr.
 * A half-received answer is dropped whole; on a terminal, its text is marked as cut. */
static int
loop_call(struct loop *L, const struct api_sink *sink)
{
	struct ag_err *e = L->api->e;
	int attempt = 0, rc;
	if (L->retool && mcp_refresh(L->tools.mcp))
		L->retool(L);
	for (;;) {
		unsigned long long before = L->ui->shown;
		long long delay, until;
		char line[800];
		rc = api_call(L->api, &L->conv, &L->msg, sink, ui_flush, L->ui);
		if (!rc) {
			loop_ratelimit_check(L);
			return 0;
		}
		if (attempt >= L->max_retries || !api_should_retry(L->api, rc, attempt, &delay))
			return rc;
		attempt++;
		if (L->ui->shown != before && L->out_format == OUT_TEXT) {   /* piped too: never glued to the retry */
			ui_md_end(L->ui);
			ui_put(L->ui, L->ui->color ? "\033[33m [answer cut off]\033[0m\n" : " [answer cut off]\n",
			       L->ui->color ? 29 : 18);
			ui_flush(L->ui);
			L->ui->last = '\n';
		}
		if (attempt == 1) {                    /* the first retry says what all of them may cost */
			long long all = 0, d;
			int k;
			for (k = 0; k < L->max_retries; k++)
				all += (d = 500LL << (k < 5 ? k : 5)) > 8000 ? 8000 : d;
			base_snprintf(line, sizeof line, prose(loop_call_msg), e->msg, (delay + 50) / 1000,
			         (delay + 50) % 1000 / 100, L->max_retries, L->max_retries, L->max_retries == 1 ? "y" : "ies",
			         (all + 999) / 1000);
		} else {
			base_snprintf(line, sizeof line, prose(loop_call_msg1), e->msg, (delay + 50) / 1000,
			         (delay + 50) % 1000 / 100, attempt, L->max_retries);
		}
		if (!L->ui->quiet || L->verbose)
			ui_note(L->ui, line);
		else
			base_dprintf(2, "agent: %s\n", line);
		e->code = 0;
		e->status = 0;
		e->msg[0] = 0;
		until = clk_ms() + delay;
		while (clk_ms() < until && !ag_interrupted) {
			long long left = until - clk_ms();
			usleep((useconds_t)(left > 100 ? 100000 : left * 1000));
		}
		if (ag_interrupted)
			return err_set(e, AG_E_INTR, "interrupted");
	}
}

PROSE(loop_compact_message_msg1,
	"This session continues an earlier conversation that was compacted to save context. Here is the "
	"summary of it:\n\n<summary>\n")
PROSE(loop_compact_message_msg2,
	"\nGo on from here: continue with the task where it was left, without asking the user to repeat "
	"anything.")

/* What the session goes on from after a compaction: the summary, the todo list, and the files read most
 * recently (as they are on disk now). */
static void
loop_compact_message(struct loop *L, const char *summary, size_t n, struct buf *out)
{
	size_t i, shown = 0;
	buf_adds(out, prose(loop_compact_message_msg1));
	buf_add(out, summary, n);
	buf_adds(out, "\n</summary>\n");
	if (L->tools.ntodos) {
		buf_adds(out, "\nThe todo list:\n");
		for (i = 0; i < L->tools.ntodos; i++)
			buf_printf(out, "- [%s] %s\n", L->tools.todos[i].status == 2 ? "completed" :
			           L->tools.todos[i].status == 1 ? "in_progress" : "pending", L->tools.todos[i].content);
	}
	for (i = L->tools.nseen; i > 0 && shown < 3; i--) {
		struct buf f = {0};
		const char *p = L->tools.seen[i - 1].path;
		if (file_read_all(p, &f, 64 * 1024) == 0 && f.len && !tool_is_binary(f.p, f.len)) {
			buf_printf(out, "\nFile %s as it is now%s:\n", p, f.len >= 20000 ? " (first 20000 bytes)" : "");
			buf_add(out, f.p, f.len < 20000 ? f.len : 20000);
			buf_adds(out, "\n");
			shown++;
		}
		buf_free(&f);
	}
	buf_adds(out, prose(loop_compact_message_msg2));
}

PROSE(loop_compact_msg1,
	"a PreCompact hook blocked compaction")

PROSE(loop_compact_msg,
	"the model gave no summary; the conversation is unchanged")

PROSE(loop_compact_ask,
	"Summarise this conversation so that the work can go on from the summary alone: the user's "
	"requests and intent, decisions made, files changed and why, commands that matter and their results, "
	"errors met and how they were fixed, and exactly what remains to be done. Be complete but concise. "
	"Answer with the summary only; call no tools.")

/* Summarise the conversation with the model and go on from the summary (auto-compact and /compact).
 * The session file keeps the whole history and records what the conversation goes on from. */
static int
loop_compact(struct loop *L, const char *focus)
{
	struct ag_err *e = L->api->e;
	struct msg *m, kept;
	struct buf ask = {0}, text = {0};
	struct conv fresh = {0};
	int rc, added_msg = 0, i, keep = 0;
	size_t k;
	struct hook_out ho;
	struct loop_hook_kv kv = { "trigger", focus ? "manual" : "auto", "custom_instructions", focus ? focus : "", -1 };
	memset(&ho, 0, sizeof ho);
	loop_hook_event(L, HOOK_PRE_COMPACT, &kv, &ho);
	loop_hook_free(&ho);
	if (ho.block) {
		ui_note(L->ui, prose(loop_compact_msg1));
		return 0;
	}
	memset(&kept, 0, sizeof kept);
	/* the user's newest words (not tool results) are not summarised: they go on after the summary */
	if (L->conv.n > 1 && L->conv.m[L->conv.n - 1].role == ROLE_USER) {
		m = &L->conv.m[L->conv.n - 1];
		keep = 1;
		for (k = 0; k < m->n; k++)
			keep &= !str_starts(m->blk[k].p, "{\"type\":\"tool_result\"");
		if (keep) {
			kept = *m;
			L->conv.n--;
		}
	}
	buf_adds(&ask, prose(loop_compact_ask));
	if (focus && *focus)
		buf_printf(&ask, " Focus on: %s", focus);
	m = L->conv.n && L->conv.m[L->conv.n - 1].role == ROLE_USER ? &L->conv.m[L->conv.n - 1] : NULL;
	if (!m) {
		if (!(m = conv_add(&L->conv, ROLE_USER))) {
			buf_free(&ask);
			return err_set(e, AG_E_NOMEM, "out of memory");
		}
		added_msg = 1;
	}
	conv_text_block(m, ask.p, ask.len);
	buf_free(&ask);
	ui_note(L->ui, "compacting the conversation...");
	rc = loop_call(L, NULL);
	/* take the request back out of the conversation, whatever happened */
	m = &L->conv.m[L->conv.n - 1];
	buf_free(&m->blk[--m->n]);
	if (added_msg) {
		free(m->blk);
		L->conv.n--;
	}
	if (rc) {
		if (keep)
			L->conv.m[L->conv.n++] = kept;   /* put it back: the conversation is as it was */
		return rc;
	}
	for (i = 0; i < L->msg.nb; i++)
		if (L->msg.b[i].type == BLK_TEXT && L->msg.b[i].text.len > sizeof API_TEXT_PREFIX + 1) {
			size_t off = sizeof API_TEXT_PREFIX - 1, len = L->msg.b[i].text.len - off - 2;
			if (!buf_reserve(&text, len)) {
				long r = json_unescape(L->msg.b[i].text.p + off, len, text.p + text.len);
				if (r > 0)
					text.len += (size_t)r;
				text.p[text.len] = 0;
			}
		}
	if (!text.len) {
		buf_free(&text);
		if (keep)
			L->conv.m[L->conv.n++] = kept;
		return err_set(e, AG_E_API, prose(loop_compact_msg));
	}
	{
		struct buf body = {0};
		struct msg *um = conv_add(&fresh, ROLE_USER);
		loop_compact_message(L, text.p, text.len, &body);
		if (!um || conv_text_block(um, body.p, body.len)) {
			buf_free(&body);
			buf_free(&text);
			conv_free(&fresh);
			return err_set(e, AG_E_NOMEM, "out of memory");
		}
		buf_free(&body);
	}
	buf_free(&text);
	conv_free(&L->conv);
	L->conv = fresh;
	sess_append_compact(L->sess, &L->conv);
	L->conv.m[0].saved = L->conv.m[0].n;
	if (keep) {                               /* the newest words follow the summary, and are saved */
		for (k = 0; k < kept.n; k++)
			conv_block_take(&L->conv.m[0], &kept.blk[k]);
		free(kept.blk);
		loop_save(L);
	}
	L->last_input = 0;
	return 0;
}

PROSE(loop_run_msg6,
	"the answer was cut off at --max-tokens")

PROSE(loop_run_msg4,
	"a UserPromptSubmit hook refused the prompt: %.800s")
PROSE(loop_run_msg5,
	"agent: turn %d: POST %s/v1/messages, %zu messages\n")

PROSE(loop_run_msg3,
	"stopped after %lld turns (--max-turns); the task is not finished")

PROSE(loop_run_msg1,
	"agent: turn %d: stop %s; tokens in %lld, out %lld, cache read %lld, cache write %lld\n")
PROSE(loop_run_msg2,
	"the answer hit max_tokens in the middle of a tool call; asking the model to continue "
	"with a smaller step")

PROSE(loop_cut_off,
	"Your last reply was cut off by the output token limit in the middle of a tool call, so that call was not "
	"run. Continue in smaller steps (for a large file, write it in parts or use Edit).")

/* Call the model, run its tools, send the results back; until it ends its turn or max_turns is reached.
 * The user message that starts the run is already the newest in the conversation. 0 or an error code;
 * *subtype names how it ended for the result object. */
static int
loop_run(struct loop *L, const char **subtype)
{
	struct ag_err *e = L->api->e;
	int rc;
	*subtype = "success";
	if (L->prompt_block.len) {
		*subtype = "error_during_execution";
		rc = err_set(e, AG_E_USAGE, prose(loop_run_msg4), L->prompt_block.p);
		L->prompt_block.len = 0;
		return rc;
	}
	loop_save(L);
	for (;;) {
		struct msg *am, *um;
		int tools, cut;
		if (L->max_turns > 0 && L->turns >= L->max_turns) {
			*subtype = "error_max_turns";
			return err_set(e, AG_E_API, prose(loop_run_msg3),
			               L->max_turns);
		}
		if (L->ctx_window > 0 && L->last_input * 100 > L->ctx_window * LOOP_COMPACT_PCT && L->conv.n > 1) {
			rc = loop_compact(L, NULL);
			if (rc) {
				*subtype = "error_during_execution";
				return rc;
			}
		}
		L->turns++;
		if (L->verbose)
			base_dprintf(2, prose(loop_run_msg5), L->turns,
			        L->cfg->url.host, L->conv.n);
		if (L->ui->last && L->ui->last != '\n' && L->out_format == OUT_TEXT)
			ui_text(L->ui, "\n", 1);    /* the next turn's text starts on a new line */
		{
			size_t t;
			const char *label = "Thinking...";
			for (t = 0; t < L->tools.ntodos; t++)
				if (L->tools.todos[t].status == 1)
					label = L->tools.todos[t].active;
			ui_spin_start(L->ui, label);
		}
		rc = loop_call(L, L->out_format == OUT_TEXT ? &L->ui->sink : NULL);
		ui_spin_stop(L->ui);
		ui_md_end(L->ui);
		L->total.input += L->msg.usage.input;
		L->total.output += L->msg.usage.output;
		L->total.cache_read += L->msg.usage.cache_read;
		L->total.cache_write += L->msg.usage.cache_write;
		L->last_input = L->msg.usage.input + L->msg.usage.cache_read + L->msg.usage.cache_write;
		if (L->verbose)
			base_dprintf(2, prose(loop_run_msg1),
			        L->turns, L->msg.stop_reason[0] ? L->msg.stop_reason : "-", L->msg.usage.input,
			        L->msg.usage.output, L->msg.usage.cache_read, L->msg.usage.cache_write);
		if (rc) {
			*subtype = "error_during_execution";
			return rc;                  /* a half-received message is never kept */
		}
		am = conv_add(&L->conv, ROLE_ASSISTANT);
		if (!am)
			return err_set(e, AG_E_NOMEM, "out of memory");
		L->last_text.len = 0;
		tools = loop_assistant(L, am, &cut);
		loop_save(L);
		if (L->out_format == OUT_STREAM_JSON)
			loop_emit_message(L, "assistant", am);
		if (cut) {
			ui_note(L->ui, prose(loop_run_msg2));
			um = conv_add(&L->conv, ROLE_USER);
			if (!um)
				return err_set(e, AG_E_NOMEM, "out of memory");
			am = &L->conv.m[L->conv.n - 2];     /* conv_add may have moved the array */
			if (tools)
				loop_run_tools(L, am, um);
			{
				conv_text_block(um, prose(loop_cut_off), strlen(prose(loop_cut_off)));
			}
			loop_save(L);
			if (L->out_format == OUT_STREAM_JSON)
				loop_emit_message(L, "user", um);
			continue;
		}
		if (tools) {
			um = conv_add(&L->conv, ROLE_USER);
			if (!um)
				return err_set(e, AG_E_NOMEM, "out of memory");
			am = &L->conv.m[L->conv.n - 2];     /* conv_add may have moved the array */
			loop_run_tools(L, am, um);
			loop_save(L);
			if (L->out_format == OUT_STREAM_JSON)
				loop_emit_message(L, "user", um);
			if (ag_interrupted)
				return err_set(e, AG_E_INTR, "interrupted");
			continue;
		}
		if (strcmp(L->msg.stop_reason, "pause_turn") == 0)
			continue;                   /* a server tool paused a long turn: send it back to go on */
		if (L->hooks && L->hooks->n && !ag_interrupted) {   /* Stop / SubagentStop: a block goes on, with its reason */
			struct hook_out ho;
			struct loop_hook_kv kv = { NULL, NULL, NULL, NULL, L->stop_hook_active };
			memset(&ho, 0, sizeof ho);
			loop_hook_event(L, L->subagent ? HOOK_SUBAGENT_STOP : HOOK_STOP, &kv, &ho);
			if (ho.block && !ho.stop && ho.reason.len && (um = conv_add(&L->conv, ROLE_USER)) != NULL) {
				struct buf t = {0};
				buf_printf(&t, "Stop hook feedback:\n%s", ho.reason.p);
				conv_text_block(um, t.p, t.len);
				buf_free(&t);
				loop_hook_free(&ho);
				L->stop_hook_active = 1;
				loop_save(L);
				continue;
			}
			loop_hook_free(&ho);
		}
		L->stop_hook_active = 0;
		if (strcmp(L->msg.stop_reason, "max_tokens") == 0)
			ui_note(L->ui, prose(loop_run_msg6));
		return 0;
	}
}

/* ---- custom slash commands: .claude/commands/NAME.md, as Claude Code reads them ---- */

/* Each Markdown file below the project's .claude/commands and then the user's ~/.claude/commands is a
 * command: /NAME (its file name less .md), also /DIR:NAME when it is in a subfolder (its namespace). The
 * body is read when the command runs, so an edit counts at once. */
#ifndef AG_COMMANDS
#define AG_COMMANDS 128
#endif
struct loop_cmd {
	char name[64], ns[64];
	char *path, *desc, *hint;
	int project;
};
struct loop_cmds {
	struct loop_cmd c[AG_COMMANDS];
	size_t n;
};

static void
loop_cmds_dir(struct loop_cmds *C, const char *dir, const char *ns, int project, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL && C->n < AG_COMMANDS) {
		char path[PATH_MAX], sub[64];
		size_t n = strlen(de->d_name);
		struct stat st;
		struct buf f = {0};
		const char *fm, *body;
		size_t fmn;
		struct loop_cmd *c = &C->c[C->n];
		if (de->d_name[0] == '.' || base_snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
		    stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 3 && base_snprintf(sub, sizeof sub, "%s%s%s", ns, *ns ? ":" : "", de->d_name) < (int)sizeof sub)
				loop_cmds_dir(C, path, sub, project, depth + 1);
			continue;
		}
		if (n < 4 || n - 3 >= sizeof c->name || strcmp(de->d_name + n - 3, ".md") || file_read_all(path, &f, 1u << 20))
			continue;
		memset(c, 0, sizeof *c);
		str_copy(c->name, sizeof c->name, de->d_name, n - 3);
		str_copy(c->ns, sizeof c->ns, ns, strlen(ns));
		c->path = strdup(path);
		c->project = project;
		if (f.p && loop_fm_split(f.p, f.len, &fm, &fmn, &body)) {
			c->desc = loop_fm_get(fm, fmn, "description");
			c->hint = loop_fm_get(fm, fmn, "argument-hint");
		}
		C->n++;
		buf_free(&f);
	}
	if (d)
		closedir(d);
}

static void
loop_cmds_load(struct loop_cmds *C, const char *cwd)
{
	char dir[PATH_MAX];
	const char *h = getenv("HOME");
	if (base_snprintf(dir, sizeof dir, "%s/.claude/commands", cwd) < (int)sizeof dir)
		loop_cmds_dir(C, dir, "", 1, 0);
	if (h && *h && base_snprintf(dir, sizeof dir, "%s/.claude/commands", h) < (int)sizeof dir)
		loop_cmds_dir(C, dir, "", 0, 0);
}

static void
loop_cmds_free(struct loop_cmds *C)
{
	size_t i;
	for (i = 0; C && i < C->n; i++) {
		free(C->c[i].path);
		free(C->c[i].desc);
		free(C->c[i].hint);
	}
}

/* The command "/NAME" or "/NS:NAME" names (n bytes after the slash), the project's first; NULL if none. */
static const struct loop_cmd *
loop_cmd_find(const struct loop_cmds *C, const char *name, size_t n)
{
	size_t i;
	for (i = 0; C && i < C->n; i++) {
		const struct loop_cmd *c = &C->c[i];
		size_t nl = strlen(c->name), sl = strlen(c->ns);
		if ((n == nl && !memcmp(name, c->name, n)) ||
		    (sl && n == sl + 1 + nl && !memcmp(name, c->ns, sl) && name[sl] == ':' && !memcmp(name + sl + 1, c->name, nl)))
			return c;
	}
	return NULL;
}

/* Run one tool for a command (its input {key: val}), its output into out, after the same judgement as a
 * tool call: rules, mode, the boundary, and the user's answer when there is a terminal to ask on. 0, or -1
 * when it may not run. */
static int
loop_cmd_tool(struct loop *L, const char *tool, const char *key, const char *val, struct buf *out)
{
	char arg[PATH_MAX + 1024], why[1024], given[PATH_MAX];
	struct buf doc = {0}, fb = {0};
	struct jw w;
	struct json j;
	jsmntok_t *tok = NULL;
	struct tool_out o;
	struct perm_call pc;
	int r = PERM_DENY;
	memset(&o, 0, sizeof o);
	memset(&pc, 0, sizeof pc);
	jw_init(&w, jw_sink_buf, &doc);
	jw_open(&w, '{');
	jw_key(&w, key), jw_str(&w, val);
	jw_close(&w, '}');
	pc.tool = tool;
	pc.cwd = L->tools.cwd;
	pc.arg = arg;
	if (json_parse_alloc(&j, doc.p, doc.len, &tok) > 0) {
		if (*tool == 'B')
			str_copy(arg, sizeof arg, val, strlen(val));
		else if (tool_target(&L->tools, tool, &j, arg, sizeof arg, given, sizeof given) <= 0)
			arg[0] = 0;
		else
			pc.given = given;
		r = perm_check(&L->perm, &pc, why, sizeof why);
		if (r == PERM_ASK)
			r = L->ask && L->ask(L, tool, &j, arg, &fb) ? PERM_ALLOW : PERM_DENY;
	}
	if (r == PERM_ALLOW) {
		L->tools.outside_ok = *tool == 'R' && !bound_inside(L->perm.bound, arg);
		L->tools.checked = *tool == 'R' ? arg : NULL;
		tool_run(&L->tools, tool, &j, &o);
		L->tools.checked = NULL;
		buf_add(out, o.text.p ? o.text.p : "", o.text.len);
	}
	buf_free(&o.text);
	buf_free(&o.blocks);
	buf_free(&doc);
	buf_free(&fb);
	free(tok);
	return r == PERM_ALLOW ? 0 : -1;
}

/* $ARGUMENTS, and $1 to $9 (the arguments split on blanks, "quotes" kept together). */
static void
loop_cmd_args(const char *body, const char *args, struct buf *out)
{
	const char *a[9] = {0};
	size_t al[9] = {0}, k = 0;
	const char *p = args;
	int used = 0;
	while (*p && k < 9) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '"' || *p == '\'') {
			const char *e = strchr(p + 1, *p);
			a[k] = p + 1, al[k] = e ? (size_t)(e - p - 1) : strlen(p + 1);
			p = e ? e + 1 : p + strlen(p);
		} else {
			a[k] = p, al[k] = strcspn(p, " \t");
			p += al[k];
		}
		k++;
	}
	for (p = body; *p; p++) {
		if (*p == '$' && str_starts(p, "$ARGUMENTS")) {
			buf_adds(out, args);
			p += 9, used = 1;
		} else if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
			buf_add(out, a[p[1] - '1'] ? a[p[1] - '1'] : "", al[p[1] - '1']);
			p++, used = 1;
		} else {
			buf_add(out, p, 1);
		}
	}
	if (!used && *args)
		buf_printf(out, "\n\nARGUMENTS: %s", args);
}

PROSE(loop_cmd_expand_msg5,
	"cannot read the command /%s (%s): %s")
PROSE(loop_cmd_expand_msg6,
	" (not read: Read of %s was not allowed)")

PROSE(loop_cmd_expand_msg4,
	"<command-name>/%.*s</command-name>\n<command-args>%s</command-args>\n\n%s")

PROSE(loop_cmd_expand_msg1,
	"agent: /%s: its allowed-tools are left out until this folder is trusted (run agent here in "
	"a terminal once and answer yes)\n")
PROSE(loop_cmd_expand_msg2,
	"<command-message>%s is running</command-message>\n<command-name>/%s</command-name>\n"
	"<command-args>%s</command-args>\n\n")
PROSE(loop_cmd_expand_msg3,
	"/%s: the line !`%.200s` was not allowed to run, so the command was not "
	"sent (allow it with allowed-tools: Bash(...) in the command, or answer yes)")

/* line ("/NAME args") as the prompt its command makes, into out: arguments put in, each !`cmd` replaced by
 * what it prints, each @path followed by the file. The command's model and allowed-tools hold for this
 * turn (loop_cmd_done ends them); a project's allowed-tools only in a trusted folder. 1: a command, 0: line
 * names none, -1: it could not run (e says why). */
static int
loop_cmd_expand(struct loop *L, const char *line, struct buf *out, struct ag_err *e)
{
	size_t n = strcspn(line + 1, " \t\n");
	const struct loop_cmd *c = *line == '/' ? loop_cmd_find(L->cmds, line + 1, n) : NULL;
	const char *args = line + 1 + n, *fm, *body, *p;
	struct buf f = {0}, t = {0};
	size_t fmn = 0;
	char *allowed = NULL, *model = NULL;
	int rc = 1;
	while (*args == ' ' || *args == '\t')
		args++;
	if (!c && *line == '/' && (rc = mcp_prompt_get(L->tools.mcp, line + 1, n, args, &t, e)) != 0) {
		buf_printf(out, prose(loop_cmd_expand_msg4), (int)n, line + 1,
		           args, t.p ? t.p : "");
		buf_free(&t);
		return rc;
	}
	rc = 1;
	if (!c)
		return 0;
	if (file_read_all(c->path, &f, 1u << 20) || !f.p) {
		buf_free(&f);
		return err_set(e, AG_E_USAGE, prose(loop_cmd_expand_msg5), c->name, c->path, base_strerror(errno)), -1;
	}
	if (loop_fm_split(f.p, f.len, &fm, &fmn, &body)) {
		allowed = loop_fm_get(fm, fmn, "allowed-tools");
		model = loop_fm_get(fm, fmn, "model");
	} else {
		body = f.p;
	}
	L->cmd_rules = (size_t)-1;
	if (allowed && *allowed && (!c->project || L->trusted)) {
		L->cmd_rules = L->perm.n;
		perm_add(&L->perm, RULE_ALLOW, allowed, c->path, e);
	} else if (allowed && *allowed) {
		base_dprintf(2, prose(loop_cmd_expand_msg1), c->name);
	}
	if (model && *model && strlen(model) < sizeof L->cmd_model) {
		memcpy(L->cmd_model, L->cfg->model, sizeof L->cmd_model);
		base_snprintf(L->cfg->model, sizeof L->cfg->model, "%s", model);
	}
	loop_cmd_args(body, args, &t);
	buf_printf(out, prose(loop_cmd_expand_msg2), c->name, c->name, args);
	for (p = t.p ? t.p : ""; *p && rc > 0;) {
		const char *q;
		if (p[0] == '!' && p[1] == '`' && (q = strchr(p + 2, '`'))) {
			struct buf cmd = {0};
			buf_add(&cmd, p + 2, (size_t)(q - p - 2));
			if (loop_cmd_tool(L, "Bash", "command", cmd.p, out) < 0)
				rc = -1, err_set(e, AG_E_USAGE, prose(loop_cmd_expand_msg3), c->name, cmd.p);
			buf_free(&cmd);
			p = q + 1;
		} else if (p[0] == '@' && (p == t.p || p[-1] == ' ' || p[-1] == '\n') && p[1] && p[1] != ' ') {
			struct buf path = {0}, got = {0};
			size_t k = strcspn(p + 1, " \t\n");
			while (k > 1 && strchr(".,;:)!?", p[k]))
				k--;                             /* "see @a.c." is a.c */
			buf_add(&path, p + 1, k);
			buf_add(out, p, k + 1);
			if (loop_cmd_tool(L, "Read", "file_path", path.p, &got) == 0)
				buf_printf(out, "\n\n<file path=\"%s\">\n%s</file>\n", path.p, got.p ? got.p : "");
			else
				buf_printf(out, prose(loop_cmd_expand_msg6), path.p);
			buf_free(&path);
			buf_free(&got);
			p += k + 1;
		} else {
			buf_add(out, p++, 1);
		}
	}
	free(allowed);
	free(model);
	buf_free(&f);
	buf_free(&t);
	return rc;
}

/* After a command's turn: its allowed-tools and model end. */
static void
loop_cmd_done(struct loop *L)
{
	size_t i;
	if (L->cmd_rules != (size_t)-1 && L->cmd_rules <= L->perm.n) {
		for (i = L->cmd_rules; i < L->perm.n; i++)
			free(L->perm.r[i].spec);
		L->perm.n = L->cmd_rules;
	}
	L->cmd_rules = (size_t)-1;
	if (L->cmd_model[0]) {
		memcpy(L->cfg->model, L->cmd_model, sizeof L->cmd_model);
		L->cmd_model[0] = 0;
	}
}

/* ==== 16. term: raw mode and the line editor ==== */

/* A line editor in the manner of linenoise: raw mode, UTF-8 aware (wide and combining characters),
 * Emacs keys, history kept across sessions, multi-line input (a trailing backslash, Alt-Enter, and
 * bracketed paste), redrawn in place on any width. Under TERM=dumb, or when the terminal does not answer
 * a cursor-position query, it falls back to plain line input. */

/* The terminal state to restore, also from a fatal-signal handler: the one global besides the flags. */
static struct termios term_saved;
static volatile sig_atomic_t term_is_raw;
static volatile sig_atomic_t term_winch;

#ifndef AG_HISTORY_MAX
#define AG_HISTORY_MAX 500
#endif

struct term {
	int dumb;                 /* plain line input */
	int cols;
	char **hist;
	size_t nhist;
	char histpath[PATH_MAX];
	int rows_drawn;           /* rows the last refresh used below its first row */
	int cursor_row;           /* the row the cursor was left on, relative to the first */
	const char *words;        /* what Tab completes a "/" line to: names, one per line, or NULL */
};

static void
term_restore(void)
{
	if (term_is_raw) {
		tcsetattr(0, TCSAFLUSH, &term_saved);
		term_is_raw = 0;
		if (write(1, "\033[?2004l", 8) < 0) {
		}
	}
}

static int
term_raw(void)
{
	struct termios r;
	if (term_is_raw)
		return 0;
	if (tcgetattr(0, &term_saved) < 0)
		return AG_E_IO;
	r = term_saved;
	r.c_iflag &= ~(unsigned)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	r.c_cflag |= CS8;
	r.c_lflag &= ~(unsigned)(ECHO | ICANON | IEXTEN | ISIG);
	r.c_cc[VMIN] = 1;
	r.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSAFLUSH, &r) < 0)
		return AG_E_IO;
	term_is_raw = 1;
	fd_write_all(1, "\033[?2004h", 8);       /* bracketed paste on */
	return 0;
}

static void
term_on_fatal(int sig)
{
	if (term_is_raw)
		tcsetattr(0, TCSAFLUSH, &term_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
term_on_winch(int sig)
{
	(void)sig;
	term_winch = 1;
}

static int
term_width(void)
{
	struct winsize ws;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* One byte from the terminal; < 0 on EOF/error, AG_E_TIMEOUT after ms milliseconds (ms < 0: wait). */
static int
term_getc(int ms)
{
	unsigned char c;
	for (;;) {
		struct pollfd p = { 0, POLLIN, 0 };
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR) {
			if (ag_terminated)
				return AG_E_CLOSED;
			if (term_winch)
				return AG_E_AGAIN;
			continue;
		}
		if (r == 0)
			return AG_E_TIMEOUT;
		r = (int)read(0, &c, 1);
		if (r == 1)
			return c;
		if (r < 0 && errno == EINTR)
			continue;
		return AG_E_CLOSED;
	}
}

/* Does the terminal answer a cursor-position query? Serial consoles and some pipes do not. */
static int
term_answers(void)
{
	int c, n = 0;
	if (term_raw())
		return 0;
	fd_write_all(1, "\033[6n", 4);
	while ((c = term_getc(n ? 100 : 400)) >= 0 && n < 32) {
		n++;
		if (c == 'R')
			return 1;
	}
	return 0;
}

static void
term_hist_add(struct term *t, const char *line, int save)
{
	char *copy;
	if (!*line || (t->nhist && strcmp(t->hist[t->nhist - 1], line) == 0))
		return;
	if (!(copy = strdup(line)))
		return;
	if (t->nhist == AG_HISTORY_MAX) {
		free(t->hist[0]);
		memmove(t->hist, t->hist + 1, (t->nhist - 1) * sizeof *t->hist);
		t->nhist--;
	} else {
		void *p = realloc(t->hist, (t->nhist + 1) * sizeof *t->hist);
		if (!p) {
			free(copy);
			return;
		}
		t->hist = p;
	}
	t->hist[t->nhist++] = copy;
	if (save && t->histpath[0]) {
		/* one JSON string per line, so multi-line entries survive */
		struct buf b = {0};
		struct jw w;
		int fd = open(t->histpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		jw_init(&w, jw_sink_buf, &b);
		jw_str(&w, line);
		buf_add(&b, "\n", 1);
		if (fd >= 0) {
			fd_write_all(fd, b.p, b.len);
			close(fd);
		}
		buf_free(&b);
	}
}

static void
term_hist_load(struct term *t)
{
	char dir[PATH_MAX];
	struct buf b = {0};
	size_t p = 0;
	if (cfg_state_dir(dir, sizeof dir, 1) || base_snprintf(t->histpath, sizeof t->histpath, "%s/history", dir) >=
	    (int)sizeof t->histpath) {
		t->histpath[0] = 0;
		return;
	}
	if (file_read_all(t->histpath, &b, 8u << 20) < 0) {
		buf_free(&b);
		return;
	}
	while (p < b.len) {
		char *nl = memchr(b.p + p, '\n', b.len - p);
		size_t n = nl ? (size_t)(nl - (b.p + p)) : b.len - p;
		jsmntok_t tok[2];
		struct json j;
		if (json_parse(&j, b.p + p, n, tok, 2) == 1 && tok[0].type == JSMN_STRING) {
			struct buf s = {0};
			if (json_str_buf(&j, 0, &s) == 0 && s.p)
				term_hist_add(t, s.p, 0);
			buf_free(&s);
		}
		p += n + 1;
	}
	buf_free(&b);
}

static void
term_free(struct term *t)
{
	size_t i;
	for (i = 0; i < t->nhist; i++)
		free(t->hist[i]);
	free(t->hist);
	t->hist = NULL;
	t->nhist = 0;
}

/* Columns of a code point, as terminals show it: 0 for combining marks and format characters, 2 for East
 * Asian wide and full-width ones and emoji, 1 for the rest. Ranges as start and length - 1 (hex below 0x10000
 * for the BMP, +0x10000 above): 0.6 KB where musl's wcwidth tables are 4.3 KB. */
static const uint32_t term_zero[] = {
	0x0300006F, 0x04830006, 0x0591002C, 0x05BF0000, 0x05C10001, 0x05C40001, 0x05C70000, 0x0610000A,
	0x064B0014, 0x06700000, 0x06D60006, 0x06DF0005, 0x06E70001, 0x06EA0003, 0x0E310000, 0x0E340006,
	0x0E470007, 0x1160009F, 0x1AB0004F, 0x1DC0003F, 0x200B0004, 0x202A0004, 0x20600004, 0x20D00020, 0xFE00000F,
	0xFE20000F, 0xFEFF0000, 0xD7B0004F,
};
static const uint32_t term_wide[] = {
	0x1100005F, 0x231A0001, 0x23290001, 0x23E90003, 0x23F00000, 0x23F30000, 0x25FD0001, 0x26140001,
	0x2648000B, 0x267F0000, 0x26930000, 0x26A10000, 0x26AA0001, 0x26BD0001, 0x26C40001, 0x26CE0000,
	0x26D40000, 0x26EA0000, 0x26F20001, 0x26F50000, 0x26FA0000, 0x26FD0000, 0x27050000, 0x270A0001,
	0x27280000, 0x274C0000, 0x274E0000, 0x27530002, 0x27570000, 0x27950002, 0x27B00000, 0x27BF0000,
	0x2B1B0001, 0x2B500000, 0x2B550000, 0x2E8001BE, 0x304103BE, 0x34001BFF, 0x4E0056CF, 0xA960001F,
	0xAC002BA3, 0xF90001FF, 0xFE100009, 0xFE30003F, 0xFF000060, 0xFFE00006,
};
static const uint32_t term_wide1[] = {    /* above 0xFFFF: starts less 0x10000 */
	0x6FE00004, 0x70001CFF, 0xB00002FF, 0xF0040000, 0xF0CF0000, 0xF18E0000, 0xF1910009, 0xF2000051,
	0xF3000020, 0xF32D0008, 0xF3370045, 0xF37E0015, 0xF3A0002A, 0xF3CF0004, 0xF3E00010, 0xF3F40000,
	0xF3F80046, 0xF4400000, 0xF44200BA, 0xF4FF003E, 0xF54B0003, 0xF5500017, 0xF57A0000, 0xF5950001,
	0xF5A40000, 0xF5FB0054, 0xF680007F, 0xF7E0000B, 0xF90C00F3, 0xFA70008F,
};

static int
term_in(const uint32_t *t, size_t n, unsigned cp)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (cp >= t[i] >> 16 && cp <= (t[i] >> 16) + (t[i] & 0xFFFF))
			return 1;
	return 0;
}

static int
term_cp_width(unsigned cp)
{
	if (term_in(term_zero, sizeof term_zero / 4, cp) || (cp >= 0xE0100 && cp <= 0xE01EF))
		return 0;
	return term_in(term_wide, sizeof term_wide / 4, cp) || (cp >= 0x10000 && cp < 0x20000 &&
	       term_in(term_wide1, sizeof term_wide1 / 4, cp - 0x10000)) || (cp >= 0x20000 && cp <= 0x3FFFD) ? 2 : 1;
}

/* Display width of the character at s (and its byte length in *len): term_cp_width for printable
 * characters, 2 for controls shown as ^X. */
static int
term_char(const char *s, size_t n, size_t *len)
{
	unsigned char c = (unsigned char)s[0];
	unsigned cp;
	int l = utf8_len((const unsigned char *)s, n), w;
	if (c < 32 || c == 127) {
		*len = 1;
		return 2;
	}
	if (l <= 1) {
		*len = 1;
		return 1;
	}
	*len = (size_t)l;
	cp = l == 2 ? (c & 0x1Fu) : l == 3 ? (c & 0x0Fu) : (c & 0x07u);
	for (int i = 1; i < l; i++)
		cp = cp << 6 | ((unsigned char)s[i] & 0x3Fu);
	w = term_cp_width(cp);
	return w;
}

/* Redraw prompt and buffer from the first row, then put the cursor at pos. */
static void
term_refresh(struct term *t, const char *prompt, const struct buf *b, size_t pos)
{
	struct buf o = {0};
	size_t i = 0, len;
	int col, row = 0, crow = 0, ccol = 0, pw = (int)strlen(prompt);
	if (term_winch) {
		term_winch = 0;
		t->cols = term_width();
	}
	if (t->cursor_row > 0)
		buf_printf(&o, "\033[%dA", t->cursor_row);
	buf_adds(&o, "\r\033[J");
	buf_adds(&o, prompt);
	col = pw;
	while (1) {
		if (i == pos) {
			crow = row;
			ccol = col;
		}
		if (i >= b->len)
			break;
		if (b->p[i] == '\n') {
			buf_adds(&o, "\r\n");
			row++;
			for (col = 0; col < pw; col++)
				buf_add(&o, " ", 1);
			i++;
			continue;
		}
		{
			int w = term_char(b->p + i, b->len - i, &len);
			if (col + w > t->cols) {
				buf_adds(&o, "\r\n");
				row++;
				col = 0;
				if (i == pos) {
					crow = row;
					ccol = 0;
				}
			}
			if ((unsigned char)b->p[i] < 32 || b->p[i] == 127) {
				char v[2] = { '^', (char)(b->p[i] == 127 ? '?' : b->p[i] + 64) };
				buf_add(&o, v, 2);
			} else {
				buf_add(&o, b->p + i, len);
			}
			col += w;
			i += len;
		}
	}
	if (col >= t->cols) {                    /* the terminal defers the wrap: make it happen */
		buf_adds(&o, "\r\n");
		row++;
		if (pos == b->len) {
			crow = row;
			ccol = 0;
		}
	}
	if (row > crow)
		buf_printf(&o, "\033[%dA", row - crow);
	buf_adds(&o, "\r");
	if (ccol > 0)
		buf_printf(&o, "\033[%dC", ccol);
	t->cursor_row = crow;
	t->rows_drawn = row;
	fd_write_all(1, o.p, o.len);
	buf_free(&o);
}

/* Start of the character before pos (a combining mark goes with its base). */
static size_t
term_prev(const struct buf *b, size_t pos)
{
	while (pos > 0) {
		size_t p = pos - 1, len;
		while (p > 0 && ((unsigned char)b->p[p] & 0xC0) == 0x80)
			p--;
		pos = p;
		if (term_char(b->p + p, b->len - p, &len) != 0 || p == 0)
			break;
	}
	return pos;
}

static size_t
term_next(const struct buf *b, size_t pos)
{
	size_t len;
	if (pos >= b->len)
		return pos;
	term_char(b->p + pos, b->len - pos, &len);
	pos += len;
	while (pos < b->len && term_char(b->p + pos, b->len - pos, &len) == 0 && b->p[pos] != '\n')
		pos += len;                      /* combining marks that follow */
	return pos;
}

static void
term_delete(struct buf *b, size_t from, size_t to)
{
	memmove(b->p + from, b->p + to, b->len - to);
	b->len -= to - from;
	b->p[b->len] = 0;
}

static void
term_insert(struct buf *b, size_t pos, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memmove(b->p + pos + n, b->p + pos, b->len - pos);
	memcpy(b->p + pos, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* A line ending in a backslash goes on: the backslash, and the blanks before it, become one newline. */
static void
term_continue(struct buf *out)
{
	size_t k = out->len - 1;
	while (k > 0 && (out->p[k - 1] == ' ' || out->p[k - 1] == '\t'))
		k--;
	out->p[k] = '\n';
	out->len = k + 1;
	out->p[out->len] = 0;
}

/* Plain input: a line from stdin, a trailing backslash continuing it. 1 line, 0 EOF, AG_E_INTR. */
static int
term_plain(const char *prompt, struct buf *out)
{
	out->len = 0;
	buf_add(out, "", 0);
	fd_write_all(1, prompt, strlen(prompt));
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR) {
			if (ag_interrupted)
				return AG_E_INTR;
			continue;
		}
		if (r <= 0) {
			fd_write_all(1, "\n", 1);
			return out->len ? 1 : 0;
		}
		if (c == '\n') {
			if (out->len && out->p[out->len - 1] == '\\') {
				term_continue(out);
				fd_write_all(1, "  ", 2);
				continue;
			}
			return 1;
		}
		buf_add(out, &c, 1);
	}
}

/* Read one entry. 1: a line in out; 0: end of input (Ctrl-D); AG_E_INTR: Ctrl-C. */
/* Tab on a line that is "/" and part of a command name: the rest of the one name it can be, or as much as
 * all of them share (a second Tab then lists them). Returns the bytes inserted; 0 when it is no such line. */
static size_t
term_complete(struct term *t, struct buf *out, size_t pos, int list)
{
	const char *w = t->words, *first = NULL;
	size_t common = 0, n = 0, matches = 0;
	if (!w || !out->len || out->p[0] != '/' || pos != out->len || memchr(out->p, ' ', out->len))
		return 0;
	for (; *w; w += strcspn(w, "\n") + (w[strcspn(w, "\n")] != 0)) {
		size_t l = strcspn(w, "\n"), k = 0;
		if (l < out->len || memcmp(w, out->p, out->len))
			continue;
		if (!first)
			first = w, common = l;
		while (k < common && k < l && first[k] == w[k])
			k++;
		common = k;
		if (list)
			fd_write_all(1, matches ? "  " : "\r\n", 2), fd_write_all(1, w, l);
		matches++;
	}
	if (list && matches)
		fd_write_all(1, "\r\n", 2), t->rows_drawn = 0, t->cursor_row = 0;
	if (!first || common <= out->len)
		return 0;
	term_insert(out, pos, first + out->len, common - out->len);
	n = common - pos;
	if (matches == 1)
		term_insert(out, pos + n, " ", 1), n++;   /* the one name: whole, a space after it */
	return n;
}

static int
term_readline(struct term *t, const char *prompt, struct buf *out)
{
	size_t pos = 0, hidx = t->nhist;
	int paste = 0, r = 1, tabs = 0;
	struct buf saved = {0};               /* what was typed before walking the history */
	if (t->dumb)
		return term_plain(prompt, out);
	out->len = 0;
	buf_add(out, "", 0);
	if (term_raw())
		return term_plain(prompt, out);
	t->cols = term_width();
	t->cursor_row = 0;
	term_refresh(t, prompt, out, pos);
	for (;;) {
		int c = term_getc(-1);
		if (c != 9)
			tabs = 0;
		char seq[8];
		if (c == AG_E_AGAIN) {              /* the window changed size */
			term_refresh(t, prompt, out, pos);
			continue;
		}
		if (c < 0) {
			r = out->len ? 1 : 0;
			break;
		}
		if (c == 27) {                       /* escape sequences */
			int a = term_getc(50), b2;
			if (a == '\r' || a == '\n') {    /* Alt-Enter: a new line */
				term_insert(out, pos, "\n", 1);
				pos++;
			} else if (a == '[' || a == 'O') {
				b2 = term_getc(50);
				if (b2 >= '0' && b2 <= '9') {
					int n = 0, d = b2;
					seq[n++] = (char)d;
					while (n < 6 && (d = term_getc(50)) >= 0 && d != '~')
						seq[n++] = (char)d;
					seq[n] = 0;
					if (strcmp(seq, "200") == 0)
						paste = 1;
					else if (strcmp(seq, "201") == 0)
						paste = 0;
					else if (strcmp(seq, "3") == 0 && pos < out->len)
						term_delete(out, pos, term_next(out, pos));
					else if (strcmp(seq, "1") == 0 || strcmp(seq, "7") == 0)
						pos = 0;
					else if (strcmp(seq, "4") == 0 || strcmp(seq, "8") == 0)
						pos = out->len;
				} else if (b2 == 'A' || b2 == 'B') {
					c = b2 == 'A' ? 16 : 14;       /* as Ctrl-P / Ctrl-N */
					goto key;
				} else if (b2 == 'C') {
					pos = term_next(out, pos);
				} else if (b2 == 'D') {
					pos = term_prev(out, pos);
				} else if (b2 == 'H') {
					pos = 0;
				} else if (b2 == 'F') {
					pos = out->len;
				}
			}
			term_refresh(t, prompt, out, pos);
			continue;
		}
key:
		if (paste && (c == '\r' || c == '\n')) {
			term_insert(out, pos, "\n", 1);
			pos++;
		} else if (c == '\r' || c == '\n') {
			if (pos == out->len && out->len && out->p[out->len - 1] == '\\') {
				term_continue(out);
				pos = out->len;
			} else {
				pos = out->len;
				term_refresh(t, prompt, out, pos);
				fd_write_all(1, "\r\n", 2);
				r = 1;
				break;
			}
		} else if (c == 3) {                  /* Ctrl-C */
			pos = out->len;
			term_refresh(t, prompt, out, pos);
			fd_write_all(1, "\r\n", 2);
			r = AG_E_INTR;
			break;
		} else if (c == 4) {                  /* Ctrl-D: end of input on an empty line */
			if (!out->len) {
				fd_write_all(1, "\r\n", 2);
				r = 0;
				break;
			}
			if (pos < out->len)
				term_delete(out, pos, term_next(out, pos));
		} else if (c == 127 || c == 8) {
			if (pos > 0) {
				size_t p = term_prev(out, pos);
				term_delete(out, p, pos);
				pos = p;
			}
		} else if (c == 1) {
			while (pos > 0 && out->p[pos - 1] != '\n')
				pos--;
		} else if (c == 5) {
			while (pos < out->len && out->p[pos] != '\n')
				pos++;
		} else if (c == 2) {
			pos = term_prev(out, pos);
		} else if (c == 6) {
			pos = term_next(out, pos);
		} else if (c == 11) {                 /* Ctrl-K: to the end of the line */
			size_t e = pos;
			while (e < out->len && out->p[e] != '\n')
				e++;
			term_delete(out, pos, e);
		} else if (c == 21) {                 /* Ctrl-U: to the start of the line */
			size_t s = pos;
			while (s > 0 && out->p[s - 1] != '\n')
				s--;
			term_delete(out, s, pos);
			pos = s;
		} else if (c == 23) {                 /* Ctrl-W: the word before the cursor */
			size_t s = pos;
			while (s > 0 && out->p[s - 1] == ' ')
				s--;
			while (s > 0 && out->p[s - 1] != ' ' && out->p[s - 1] != '\n')
				s--;
			term_delete(out, s, pos);
			pos = s;
		} else if (c == 12) {                 /* Ctrl-L */
			fd_write_all(1, "\033[H\033[2J", 7);
			t->cursor_row = 0;
		} else if (c == 16 || c == 14) {      /* history */
			if (c == 16 && hidx > 0) {
				if (hidx == t->nhist) {
					saved.len = 0;
					buf_add(&saved, out->p, out->len);
				}
				hidx--;
			} else if (c == 14 && hidx < t->nhist) {
				hidx++;
			} else {
				continue;
			}
			out->len = 0;
			if (hidx == t->nhist)
				buf_add(out, saved.p ? saved.p : "", saved.len);
			else
				buf_adds(out, t->hist[hidx]);
			pos = out->len;
		} else if (c == 9 && !paste) {
			size_t k = term_complete(t, out, pos, tabs++ > 0);
			if (!k && (!out->len || out->p[0] != '/'))
				term_insert(out, pos, "  ", 2), k = 2;   /* no completion: a tab is two spaces */
			pos += k;
		} else if (c >= 32 || c == 9) {
			/* a UTF-8 sequence arrives whole before the redraw */
			char u[4];
			int n = 1, need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
			u[0] = (char)c;
			while (n < need) {
				int d = term_getc(50);
				if (d < 0)
					break;
				u[n++] = (char)d;
			}
			term_insert(out, pos, u, (size_t)n);
			pos += (size_t)n;
			if (paste)
				continue;                /* redraw once the paste is in */
		}
		term_refresh(t, prompt, out, pos);
	}
	term_restore();
	buf_free(&saved);
	return r;
}

/* ==== 17. repl: the interactive session ==== */

/* A unified diff of a against b (one hunk around what changed: the common head and tail are trimmed),
 * three lines of context, coloured when asked. */
static void
repl_diff(struct buf *out, const char *path, const char *a, size_t an, const char *b, size_t bn, int color)
{
	size_t ha = 0, hb = 0, ta = an, tb = bn, i, la = 1, lb = 1, ctx_a, n_old = 0, n_new = 0, shown = 0;
	size_t last_nl = 0;
	/* common head, in whole lines */
	while (ha < an && hb < bn && a[ha] == b[hb]) {
		if (a[ha] == '\n')
			last_nl = ha + 1;
		ha++;
		hb++;
	}
	ha = hb = last_nl;
	/* common tail, in whole lines, not overlapping the head */
	while (ta > ha && tb > hb && a[ta - 1] == b[tb - 1])
		ta--, tb--;
	while (ta < an && ta > ha && a[ta - 1] != '\n')
		ta++, tb++;
	for (i = 0; i < ha; i++)
		la += a[i] == '\n';
	lb = la;
	/* three lines of context before */
	ctx_a = ha;
	{
		int k = 0;
		while (ctx_a > 0 && k < 4) {
			ctx_a--;
			if (ctx_a == 0 || a[ctx_a - 1] == '\n')
				k++;
		}
		if (k == 4 && ctx_a < ha)
			while (ctx_a < ha && a[ctx_a - 1] != '\n')
				ctx_a++;
	}
	for (i = ctx_a; i < ha; i++)
		la -= a[i] == '\n', lb -= a[i] == '\n';
	for (i = ha; i < ta; i++)
		n_old += a[i] == '\n';
	n_old += ta > ha && a[ta - 1] != '\n';
	for (i = hb; i < tb; i++)
		n_new += b[i] == '\n';
	n_new += tb > hb && b[tb - 1] != '\n';
	buf_printf(out, "%s--- %s\n+++ %s\n%s", color ? "\033[1m" : "", path, path, color ? "\033[0m" : "");
	{
		size_t ctx_lines = 0;
		for (i = ctx_a; i < ha; i++)
			ctx_lines += a[i] == '\n';
		buf_printf(out, "%s@@ -%zu,%zu +%zu,%zu @@%s\n", color ? "\033[36m" : "", la, ctx_lines + n_old, lb,
		           ctx_lines + n_new, color ? "\033[0m" : "");
	}
	/* lines: context, removed, added, context after (at most 3) */
	{
		const char *segs[3] = { a + ctx_a, a + ha, b + hb };
		size_t lens[3] = { ha - ctx_a, ta - ha, tb - hb };
		const char *marks[3] = { " ", "-", "+" };
		const char *cols[3] = { "", "\033[31m", "\033[32m" };
		int s;
		for (s = 0; s < 3; s++) {
			size_t p = 0;
			while (p < lens[s] && shown < 400) {
				const char *nl = memchr(segs[s] + p, '\n', lens[s] - p);
				size_t l = nl ? (size_t)(nl - (segs[s] + p)) : lens[s] - p;
				buf_printf(out, "%s%s", color ? cols[s] : "", marks[s]);
				ui_neutralise(out, segs[s] + p, l > 300 ? 300 : l, 0);
				buf_printf(out, "%s\n", color && s ? "\033[0m" : "");
				p += l + 1;
				shown++;
			}
		}
		{
			size_t p = ta;
			int k;
			for (k = 0; k < 3 && p < an; k++) {
				const char *nl = memchr(a + p, '\n', an - p);
				size_t l = nl ? (size_t)(nl - (a + p)) : an - p;
				buf_add(out, " ", 1);
				ui_neutralise(out, a + p, l > 300 ? 300 : l, 0);
				buf_add(out, "\n", 1);
				p += l + 1;
			}
		}
		if (shown >= 400)
			buf_adds(out, "[... diff cut ...]\n");
	}
}

/* What an Edit or Write would do to the file, as a diff. */
static void
repl_preview(struct loop *L, const char *name, const struct json *in, const char *path, struct buf *out)
{
	struct buf old = {0}, now = {0}, s1 = {0}, s2 = {0};
	int color = L->ui->color;
	int exists = path && file_read_all(path, &old, AG_FILE_MAX) == 0;
	if (strcmp(name, "Write") == 0) {
		json_str_buf(in, json_get(in, 0, "content"), &now);
		repl_diff(out, path, exists ? old.p : "", exists ? old.len : 0, now.p ? now.p : "", now.len, color);
	} else if (exists && json_str_buf(in, json_get(in, 0, "old_string"), &s1) == 0 &&
	           json_str_buf(in, json_get(in, 0, "new_string"), &s2) == 0 && s1.len) {
		int all = tool_arg_bool(in, "replace_all");
		size_t i = 0;
		while (i <= old.len) {
			const char *m = old.len - i >= s1.len ? str_mem(old.p + i, old.len - i, s1.p, s1.len) : NULL;
			if (!m) {
				buf_add(&now, old.p + i, old.len - i);
				break;
			}
			buf_add(&now, old.p + i, (size_t)(m - (old.p + i)));
			buf_add(&now, s2.p ? s2.p : "", s2.len);
			i = (size_t)(m - old.p) + s1.len;
			if (!all) {
				buf_add(&now, old.p + i, old.len - i);
				break;
			}
		}
		repl_diff(out, path, old.p, old.len, now.p ? now.p : "", now.len, color);
	}
	buf_free(&old);
	buf_free(&now);
	buf_free(&s1);
	buf_free(&s2);
}

/* The session rule "yes, and don't ask again" adds: the command's first words for Bash, the tool for the
 * file tools (inside the project; outside, the path itself). */
static void
repl_session_rule(const char *name, const char *arg, const struct bound *b, char *out, size_t cap)
{
	if (strcmp(name, "Bash") == 0 && arg) {
		/* the first word, and the second when it is a plain subcommand: "git diff", "npm test" */
		const char *p = arg, *w1, *w2;
		size_t l1, l2;
		while (*p == ' ')
			p++;
		w1 = p;
		l1 = strcspn(w1, " \t\n");
		w2 = w1 + l1;
		while (*w2 == ' ')
			w2++;
		l2 = strcspn(w2, " \t\n");
		if (l2 && l1 < 64 && l2 < 64 && w2[0] != '-' && strcspn(w2, ";&|<>$`'\"\\") >= l2)
			base_snprintf(out, cap, "Bash(%.*s %.*s:*)", (int)l1, w1, (int)l2, w2);
		else
			base_snprintf(out, cap, "Bash(%.*s:*)", (int)(l1 < 64 ? l1 : 64), w1);
	} else if (arg && !bound_inside(b, arg)) {
		base_snprintf(out, cap, "%s(/%.400s)", name, arg);
	} else {
		base_snprintf(out, cap, "%s", name);
	}
}

/* An MCP server's question to the user (elicitation): one line read at the prompt; -1 when none is given
 * (Ctrl-C, Ctrl-D, no terminal yet). */
static int
repl_mcp_ask(void *ctx, const char *prompt, struct buf *answer)
{
	struct loop *L = ctx;
	ui_flush(L->ui);
	return L->term && term_readline(L->term, prompt, answer) == 1 ? 0 : -1;
}

PROSE(repl_ask_msg1,
	"yes; %s is allowed for the rest of this session\n")

PROSE(repl_ask_msg,
	"  y  yes\n  a  yes, and don't ask again this session for %s\n  n  no, and tell the agent what "
	"to do instead\n? ")

/* Ask before a tool runs: 1 yes, 2 yes and remember, 0 no (feedback holds what to do instead). */
static int
repl_ask(struct loop *L, const char *name, const struct json *in, const char *arg, struct buf *feedback)
{
	struct buf msg = {0}, line = {0};
	char rule[512];
	int c, answer = 0;
	repl_session_rule(name, arg, L->perm.bound, rule, sizeof rule);
	ui_flush(L->ui);
	buf_printf(&msg, "%s%s%s wants to run", L->ui->color ? "\033[1m" : "", name, L->ui->color ? "\033[0m" : "");
	if (strcmp(name, "Bash") == 0) {
		struct buf d = {0};
		json_str_buf(in, json_get(in, 0, "description"), &d);
		buf_adds(&msg, ":\n\n    ");
		ui_neutralise(&msg, arg ? arg : "", arg ? strlen(arg) : 0, 0);
		if (d.len) {
			buf_adds(&msg, "\n    # ");
			ui_neutralise(&msg, d.p, d.len, 0);
		}
		buf_adds(&msg, "\n\n");
		buf_free(&d);
	} else if (strcmp(name, "Edit") == 0 || strcmp(name, "Write") == 0) {
		buf_adds(&msg, " on ");
		ui_neutralise(&msg, arg ? arg : "", arg ? strlen(arg) : 0, 0);
		buf_adds(&msg, ":\n\n");
		repl_preview(L, name, in, arg, &msg);
		buf_adds(&msg, "\n");
	} else {
		buf_adds(&msg, " on ");
		ui_neutralise(&msg, arg ? arg : "", arg ? strlen(arg) : 0, 0);
		buf_adds(&msg, "\n");
	}
	buf_printf(&msg, prose(repl_ask_msg), rule);
	fd_write_all(2, msg.p, msg.len);
	buf_free(&msg);
	if (term_raw() == 0) {
		do {
			c = term_getc(-1);
		} while (c >= 0 && !strchr("yYaAnN\r\n\033\003", c));
		term_restore();
	} else {
		char tmp[16];
		ssize_t r = read(0, tmp, sizeof tmp);
		c = r > 0 ? tmp[0] : 'n';
	}
	if (c == 'y' || c == 'Y' || c == '\r' || c == '\n') {
		fd_write_all(2, "yes\n", 4);
		answer = 1;
	} else if (c == 'a' || c == 'A') {
		struct ag_err e = {0};
		buf_printf(&msg, prose(repl_ask_msg1), rule);
		fd_write_all(2, msg.p, msg.len);
		perm_add(&L->perm, RULE_ALLOW, rule, "this session", &e);
		answer = 2;
	} else {
		fd_write_all(2, "no\n", 3);
		if (c == 3) {
			ag_interrupted = 1;
		} else if (L->term && term_readline(L->term, "what should it do instead? ", &line) == 1 && line.len) {
			buf_add(feedback, line.p, line.len);
		}
	}
	buf_free(&msg);
	buf_free(&line);
	return answer;
}

static void
repl_print(struct loop *L, const char *fmt, ...)
{
	va_list ap;
	char tmp[2048];
	va_start(ap, fmt);
	base_vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	ui_flush(L->ui);
	fd_write_all(1, tmp, strlen(tmp));
}

PROSE(repl_context_msg,
	"the next request holds %lld input tokens: %lld%% of the %lld-token context window "
	"(compaction starts at %d%%)\n")

/* /context: the size of the next request, counted by the API. */
static void
repl_context(struct loop *L)
{
	long long n = 0;
	struct ag_err e = {0};
	L->api->e = &e;
	if (api_count_tokens(L->api, &L->conv, &n))
		repl_print(L, "could not count tokens: %s\n", e.msg);
	else
		repl_print(L, prose(repl_context_msg), n, n * 100 / (L->ctx_window ? L->ctx_window : 1), L->ctx_window,
		           LOOP_COMPACT_PCT);
}

PROSE(repl_cost_msg,
	"tokens: %lld in, %lld out, %lld cache read, %lld cache write\n"
	"estimated cost: $%s (%s list prices)\n")

static void
repl_cost(struct loop *L)
{
	char c[32];
	loop_cost_str(loop_cost(L->cfg->model, &L->total), 4, c, sizeof c);
	repl_print(L, prose(repl_cost_msg), L->total.input, L->total.output, L->total.cache_read,
	           L->total.cache_write, c, L->cfg->model);
}

PROSE(repl_permissions_msg,
	"no rules: Bash, Write and Edit ask before they run\n")

static void
repl_permissions(struct loop *L)
{
	static const char *const kinds[] = { "allow", "deny", "ask" };
	static const char *const modes[] = { "default", "acceptEdits", "plan", "bypassPermissions" };
	size_t i;
	repl_print(L, "mode: %s\n", modes[L->perm.mode]);
	for (i = 0; L->perm.bound && i < (size_t)L->perm.bound->n; i++)
		repl_print(L, "  %s %s\n", i ? "added dir " : "working dir", L->perm.bound->dir[i]);
	if (!L->perm.n)
		repl_print(L, prose(repl_permissions_msg));
	for (i = 0; i < L->perm.n; i++) {
		const struct perm_rule *r = &L->perm.r[i];
		repl_print(L, "  %-5s %s%s%s%s   (%s)\n", kinds[r->kind], r->tool, r->spec ? "(" : "", r->spec ? r->spec : "",
		           r->spec ? ")" : "", r->source);
	}
}

/* Load a session into the loop, and keep appending to its file. */
static int
repl_resume(struct loop *L, const char *path)
{
	struct conv c = {0};
	struct ag_err e = {0};
	char model[128] = "";
	size_t i;
	if (sess_load(path, &c, model, sizeof model, &e)) {
		conv_free(&c);
		repl_print(L, "cannot resume: %s\n", e.msg);
		return AG_E_INVAL;
	}
	conv_free(&L->conv);
	L->conv = c;
	for (i = 0; i < L->conv.n; i++)
		L->conv.m[i].saved = L->conv.m[i].n;
	L->first_user_done = L->conv.n > 0;
	sess_close(L->sess);
	sess_reopen(L->sess, path);
	return 0;
}

/* How many prompts the user typed in a conversation: the user's text blocks that are not reminders
 * (consecutive user messages are merged on load, so messages alone undercount them). */
static size_t
repl_prompts(const struct conv *c)
{
	size_t i, k, n = 0;
	for (i = 0; i < c->n; i++)
		for (k = 0; c->m[i].role == ROLE_USER && k < c->m[i].n; k++) {
			const struct buf *b = &c->m[i].blk[k];
			n += b->len && str_starts(b->p, "{\"type\":\"text\"") && !str_find(b->p, "\"text\":\"<system-reminder>");
		}
	return n;
}

PROSE(repl_pick_session_msg1,
	"session number (Enter for a new conversation)? ")
PROSE(repl_pick_session_msg2,
	"resumed: %zu message%s, %zu of them yours\n")
PROSE(repl_pick_session_msg3,
	"no session chosen: this is a new conversation\n")

PROSE(repl_pick_session_msg,
	"'%.40s' is not one of the sessions above: give a number from 1 to %d\n")

static int
repl_pick_session(struct loop *L)
{
	struct sess_entry *list;
	struct buf line = {0};
	int n = sess_list(L->tools.cwd, &list), i, r = AG_E_INVAL;
	unsigned long long k;
	if (n <= 0) {
		repl_print(L, "no saved sessions for %s\n", L->tools.cwd);
		free(list);
		return r;
	}
	if (n > 20)
		n = 20;
	for (i = 0; i < n; i++) {
		char when[32];
		const char *base = strrchr(list[i].path, '/');
		base = base ? base + 1 : list[i].path;
		clk_date(list[i].mtime / 1000000000LL, when, sizeof when);
		repl_print(L, "%3d  %s  %.*s  %s\n", i + 1, when, (int)(strlen(base) > 6 ? strlen(base) - 6 : strlen(base)),
		           base, list[i].preview);
	}
	for (;;) {                                  /* until a number in range, or Enter / Ctrl-D for none */
		line.len = 0;
		if (term_readline(L->term, prose(repl_pick_session_msg1), &line) != 1 || !line.len)
			break;
		if (!str_to_u64(line.p, line.len, (unsigned long long)n, &k) && k >= 1) {
			r = repl_resume(L, list[k - 1].path);
			break;
		}
		repl_print(L, prose(repl_pick_session_msg), line.p, n);
	}
	if (!r) {
		size_t u = repl_prompts(&L->conv);
		repl_print(L, prose(repl_pick_session_msg2), L->conv.n, L->conv.n == 1 ? "" : "s", u);
	} else {
		repl_print(L, prose(repl_pick_session_msg3));
	}
	buf_free(&line);
	free(list);
	return r;
}

PROSE(repl_ratelimits_msg,
	"rate limits (from the last answer):\n")

/* The rate limits the server reported on its last answer, with their reset times. */
static void
repl_ratelimits(struct api *a, struct buf *out)
{
	size_t i = 0;
	if (!a->ratelimit.len) {
		buf_adds(out, "rate limits: none reported yet\n");
		return;
	}
	buf_adds(out, prose(repl_ratelimits_msg));
	while (i < a->ratelimit.len) {
		const char *line = a->ratelimit.p + i, *eol = memchr(line, '\n', a->ratelimit.len - i);
		size_t n = eol ? (size_t)(eol - line) : a->ratelimit.len - i;
		buf_adds(out, "  ");
		buf_add(out, line + 20, n > 20 ? n - 20 : 0);       /* without "anthropic-ratelimit-" */
		buf_add(out, "\n", 1);
		i += n + 1;
	}
}

PROSE(repl_status_msg,
	"model: %s\nserver: %s://%s:%s%s%s\nsession: %s\npermission mode: %s%s\n"
	"context: %lld of %lld tokens used by the last request\n")

static void
repl_status(struct loop *L)
{
	static const char *const modes[] = { "default", "acceptEdits", "plan", "bypassPermissions" };
	struct buf b = {0};
	buf_printf(&b, prose(repl_status_msg), L->cfg->model,
	           L->cfg->url.tls ? "https" : "http", L->cfg->url.host, L->cfg->url.port, L->cfg->url.prefix,
	           L->api->http.proxy.kind ? " (through a proxy)" : "", L->sess && (L->sess->fd >= 0 || L->sess->header.len) ? L->sess->path : "(not saved)",
	           modes[L->perm.mode], L->tools.sandbox ? ", Bash sandboxed (Landlock)" : "", L->last_input, L->ctx_window);
	repl_ratelimits(L->api, &b);
	repl_print(L, "%s", b.p);
	buf_free(&b);
}

PROSE(repl_cmds_list_msg,
	"  /mcp__%s__%.*s %.*s  (MCP prompt) %.*s\n")

PROSE(repl_help,
"  /help              this list\n"
"  /clear             start a new conversation\n"
"  /compact [focus]   summarise the conversation and go on from the summary\n"
"  /cost              tokens used and the estimated price\n"
"  /context           how big the next request is (counted by the API)\n"
"  /model [name]      show or change the model\n"
"  /todos             the todo list\n"
"  /permissions       the permission rules in force, and where each came from\n"
"  /add-dir DIR       let the file tools work in DIR too, for this session\n"
"  /hooks             the hooks in force: event, matcher, command\n"
"  /bashes            the background commands: id, state, output so far\n"
"  /status            model, server, session, and the rate limits the server reported\n"
"  /mcp               the MCP servers: connected or why not, and their tools\n"
"  /resume            go back to an earlier session of this directory\n"
"  /init              have the agent study the project and write AGENTS.md\n"
"  /exit              leave (Ctrl-D does too)\n"
"  Enter sends; a line ending in \\ or Alt-Enter continues on the next line. Ctrl-C stops the agent.\n")

/* The custom commands and the MCP servers' prompts, under /help's list; with words, each name a line. */
static void
repl_cmds_list(struct loop *L, struct buf *words)
{
	size_t i;
	for (i = 0; L->tools.mcp && i < L->tools.mcp->n; i++) {
		const struct mcp_srv *s = &L->tools.mcp->srv[i];
		const char *l;
		for (l = s->prompts.p ? s->prompts.p : ""; *l; l += strcspn(l, "\n") + 1) {
			size_t a = strcspn(l, "\t"), b = strcspn(l + a + 1, "\t\n");
			if (words)
				buf_printf(words, "/mcp__%s__%.*s\n", s->name, (int)a, l);
			else
				repl_print(L, prose(repl_cmds_list_msg), s->name, (int)a, l, (int)b, l + a + 1,
				           (int)strcspn(l + a + 2 + b, "\n"), l + a + 1 + b + (l[a + 1 + b] == '\t'));
		}
	}
	if (words)
		return;
	for (i = 0; L->cmds && i < L->cmds->n; i++) {
		const struct loop_cmd *c = &L->cmds->c[i];
		char left[160];
		base_snprintf(left, sizeof left, "/%s%s%s", c->name, c->hint ? " " : "", c->hint ? c->hint : "");
		repl_print(L, "%s  %-18s %s (%s%s%s)\n", i ? "" : "custom commands (.claude/commands):\n", left,
		           c->desc ? c->desc : "", c->project ? "project" : "user", *c->ns ? ":" : "", c->ns);
	}
}

PROSE(repl_command_msg3,
	"%s is inside the boundary already\n")

PROSE(repl_command_msg1,
	"compacted: the conversation goes on from a summary\n")
PROSE(repl_command_msg2,
	"added %s: the file tools may work there now\n")

PROSE(repl_command_msg,
	"no hooks (\"hooks\" in ~/.claude/settings.json, or a trusted project's .claude/settings.json)\n")

PROSE(repl_init_ask,
	"Study this project: its layout, how to build it, how to run its tests, its "
	"conventions. Then write AGENTS.md at its root with what a coding agent needs to work here: short, "
	"concrete, commands first. If AGENTS.md or CLAUDE.md exists, improve it instead.")

/* A slash command. 1: leave; 0: handled; 2: send L->pending as the user's message. */
static int
repl_command(struct loop *L, const char *line)
{
	char cmd[32];
	const char *arg;
	size_t n = strcspn(line, " \t");
	str_copy(cmd, sizeof cmd, line, n);
	arg = line + n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	if (!strcmp(cmd, "/exit") || !strcmp(cmd, "/quit"))
		return 1;
	if (!strcmp(cmd, "/help")) {
		repl_print(L, "%s", prose(repl_help));
		repl_cmds_list(L, NULL);
	} else if (!strcmp(cmd, "/clear")) {
		conv_free(&L->conv);
		L->first_user_done = 0;
		L->last_input = 0;
		sess_close(L->sess);
		{
			char id[33];
			str_random_hex(id, 16);
			sess_create(L->sess, L->tools.cwd, id, L->cfg->model);
		}
		repl_print(L, "new conversation\n");
	} else if (!strcmp(cmd, "/compact")) {
		struct ag_err e = {0};
		L->api->e = &e;
		if (!L->conv.n)
			repl_print(L, "nothing to compact yet\n");
		else if (loop_compact(L, *arg ? arg : NULL))
			repl_print(L, "compaction failed: %s\n", e.msg);
		else
			repl_print(L, prose(repl_command_msg1));
	} else if (!strcmp(cmd, "/cost")) {
		repl_cost(L);
	} else if (!strcmp(cmd, "/context")) {
		repl_context(L);
	} else if (!strcmp(cmd, "/model")) {
		if (*arg && strlen(arg) < sizeof L->cfg->model) {
			base_snprintf(L->cfg->model, sizeof L->cfg->model, "%s", arg);
			repl_print(L, "model: %s\n", L->cfg->model);
		} else {
			repl_print(L, "model: %s\n", L->cfg->model);
		}
	} else if (!strcmp(cmd, "/todos")) {
		if (!L->tools.ntodos)
			repl_print(L, "no todos\n");
		else
			ui_todos(L->ui, &L->tools);
	} else if (!strcmp(cmd, "/permissions")) {
		repl_permissions(L);
	} else if (!strcmp(cmd, "/add-dir")) {
		struct ag_err e = {0};
		int r = *arg && L->perm.bound ? bound_add(L->perm.bound, L->tools.cwd, arg, &e) : -1;
		if (!*arg)
			repl_print(L, "usage: /add-dir DIR\n");
		else if (r < 0)
			repl_print(L, "%s\n", e.msg[0] ? e.msg : "no boundary to add to");
		else if (r)
			repl_print(L, prose(repl_command_msg3), arg);
		else
			repl_print(L, prose(repl_command_msg2), L->perm.bound->dir[L->perm.bound->n - 1]);
	} else if (!strcmp(cmd, "/hooks")) {
		size_t i;
		for (i = 0; L->hooks && i < L->hooks->n; i++)
			repl_print(L, "%-16s %-16s %s\n", hook_event[L->hooks->h[i].ev], L->hooks->h[i].matcher ? L->hooks->h[i].matcher : "*",
			           L->hooks->h[i].cmd);
		if (!L->hooks || !L->hooks->n)
			repl_print(L, prose(repl_command_msg));
	} else if (!strcmp(cmd, "/bashes")) {
		struct buf b = {0};
		tool_bg_list(L->tools.bg, &b);
		repl_print(L, "%s", b.p);
		buf_free(&b);
	} else if (!strcmp(cmd, "/status")) {
		repl_status(L);
	} else if (!strcmp(cmd, "/mcp")) {
		struct buf b = {0};
		mcp_report(L->tools.mcp, &b);
		repl_print(L, "%s", b.p);
		buf_free(&b);
	} else if (!strcmp(cmd, "/resume")) {
		repl_pick_session(L);
	} else if (!strcmp(cmd, "/init")) {
		L->pending.len = 0;
		buf_adds(&L->pending, prose(repl_init_ask));
		return 2;
	} else {
		struct ag_err e = {0};
		int c;
		L->pending.len = 0;
		if ((c = loop_cmd_expand(L, line, &L->pending, &e)) > 0)
			return 2;
		if (c < 0) {
			loop_cmd_done(L);
			repl_print(L, "%s\n", e.msg);
		} else {
			repl_print(L, "unknown command %s\n%s", cmd, prose(repl_help));
			repl_cmds_list(L, NULL);
		}
	}
	return 0;
}

PROSE(repl_images_msg,
	"[image %s is over the API's %d-byte limit: sent as its name only]\n")

/* Image files named in a typed or pasted prompt (a path ending .png, .jpg, .jpeg, .gif or .webp, bare, quoted,
 * or with backslash-escaped spaces as terminals paste a dropped file) go with it as image blocks of the user's
 * message m. The user named them, so no boundary applies; what is not an image stays text only. */
static void
repl_images(struct loop *L, struct msg *m, const char *line)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".gif", ".webp" };
	const char *p = line;
	while (*p) {
		char path[PATH_MAX];
		size_t n = 0, e;
		char q = 0;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\'' || *p == '"')
			q = *p++;
		for (; *p && (q ? *p != q : *p != ' ' && *p != '\t' && *p != '\n'); p++)
			if (n + 1 < sizeof path)
				path[n++] = *p == '\\' && !q && p[1] ? *++p : *p;
		if (q && *p)
			p++;
		path[n] = 0;
		for (e = 0; e < 5 && !(n > strlen(ext[e]) && !strcasecmp(path + n - strlen(ext[e]), ext[e])); e++)
			;
		if (e < 5) {
			struct stat st;
			struct buf b = {0};
			const char *type;
			int fd = open(path, O_RDONLY | O_CLOEXEC), r = fd < 0 || fstat(fd, &st) ? 0 : tool_image_open(fd, &st, &b, &type);
			if (r == 1 && !conv_block_take(m, &b))
				repl_print(L, "[image %s: %s, %lld KB]\n", path, type, ((long long)st.st_size + 1023) / 1024);
			else if (r == -2)
				repl_print(L, prose(repl_images_msg), path, AG_IMAGE_MAX);
			buf_free(&b);
			if (fd >= 0)
				close(fd);
		}
	}
}

PROSE(repl_run_msg5,
	"(Ctrl-C again or Ctrl-D to leave)\n")

PROSE(repl_run_msg1,
	"agent %s  %s  %s\n/help for commands, Ctrl-D to leave\n")
PROSE(repl_run_msg2,
	"(resumed a conversation of %zu messages)\n")
PROSE(repl_run_msg3,
	"approve this plan and let the agent carry it out? (y/n) ")
PROSE(repl_run_msg4,
	"The user approved the plan. Carry it out now.")

PROSE(repl_run_msg,
	"plan approved: permission mode is now default (the agent asks before it changes "
	"anything)\n")

/* The interactive session: read, run the loop, repeat, until /exit or Ctrl-D. */
static int
repl_run(struct loop *L)
{
	struct buf line = {0}, words = {0};
	int ctrl_c = 0;
	const char *h;
	size_t i;
	for (h = prose(repl_help); (h = str_find(h, "  /")) != NULL; h += 3)   /* what Tab completes: /help's names */
		buf_add(&words, h + 2, strcspn(h + 2, " \n")), buf_add(&words, "\n", 1);
	for (i = 0; L->cmds && i < L->cmds->n; i++) {
		const struct loop_cmd *c = &L->cmds->c[i];
		buf_printf(&words, "/%s\n", c->name);
		if (*c->ns)
			buf_printf(&words, "/%s:%s\n", c->ns, c->name);
	}
	repl_cmds_list(L, &words);
	if (L->term)
		L->term->words = words.p;
	repl_print(L, prose(repl_run_msg1), AG_VERSION, L->cfg->model, L->tools.cwd);
	if (L->conv.n)
		repl_print(L, prose(repl_run_msg2), L->conv.n);
	for (;;) {
		int r, rc;
		const char *subtype;
		if (ag_terminated)
			break;
		ag_interrupted = 0;
		ui_flush(L->ui);
		r = term_readline(L->term, "> ", &line);
		if (r == 0)
			break;
		if (r == AG_E_INTR) {
			if (!line.len && ctrl_c)
				break;
			ctrl_c = !line.len;
			if (ctrl_c)
				repl_print(L, prose(repl_run_msg5));
			continue;
		}
		ctrl_c = 0;
		while (line.len && (line.p[line.len - 1] == ' ' || line.p[line.len - 1] == '\n'))
			line.p[--line.len] = 0;
		if (!line.len)
			continue;
		term_hist_add(L->term, line.p, 1);
		if (line.p[0] == '/') {
			int c = repl_command(L, line.p);
			if (c == 1)
				break;
			if (c != 2)
				continue;
			line.len = 0;
			buf_add(&line, L->pending.p, L->pending.len);
		}
		{
			struct ag_err e = {0};
			L->api->e = &e;
			if (loop_user_message(L, line.p, line.len, NULL, 0) == 0)
				repl_images(L, &L->conv.m[L->conv.n - 1], line.p);
			loop_save(L);
			L->turns = 0;
			rc = loop_run(L, &subtype);
			loop_cmd_done(L);
			ui_md_end(L->ui);
			if (L->ui->last && L->ui->last != '\n')
				ui_put(L->ui, "\n", 1);
			ui_flush(L->ui);
			L->ui->last = '\n';
			if (rc == AG_E_INTR || ag_interrupted) {
				struct msg *m = L->conv.n ? &L->conv.m[L->conv.n - 1] : NULL;
				repl_print(L, "%s[interrupted]%s\n", L->ui->color ? "\033[33m" : "", L->ui->color ? "\033[0m" : "");
				if (m && m->role == ROLE_USER) {
					conv_text_block(m, "[Request interrupted by user]", 28);
					loop_save(L);
				}
			} else if (rc) {
				base_dprintf(2, "agent: %s\n", e.msg[0] ? e.msg : "failed");
			} else if (L->perm.mode == PERM_PLAN && L->conv.n && L->conv.m[L->conv.n - 1].role == ROLE_ASSISTANT) {
				/* plan mode: read-only until the user approves the plan */
				struct buf yn = {0};
				if (term_readline(L->term, prose(repl_run_msg3), &yn) == 1 &&
				    yn.len && (yn.p[0] == 'y' || yn.p[0] == 'Y')) {
					L->perm.mode = PERM_DEFAULT;
					repl_print(L, prose(repl_run_msg));
					L->pending.len = 0;
					buf_adds(&L->pending, prose(repl_run_msg4));
					line.len = 0;
					buf_add(&line, L->pending.p, L->pending.len);
					buf_free(&yn);
					loop_user_message(L, line.p, line.len, NULL, 0);
					loop_save(L);
					L->turns = 0;
					if (loop_run(L, &subtype) && e.msg[0])
						base_dprintf(2, "agent: %s\n", e.msg);
					ui_md_end(L->ui);
					if (L->ui->last && L->ui->last != '\n')
						ui_put(L->ui, "\n", 1);
					ui_flush(L->ui);
					L->ui->last = '\n';
				} else {
					buf_free(&yn);
				}
			}
		}
	}
	if (L->term)
		L->term->words = NULL;
	buf_free(&words);
	buf_free(&line);
	return 0;
}

/* ==== 18. selftest: built-in checks for a new device ==== */

static int selftest_fails, selftest_runs;

static void
selftest_check(int ok, const char *what)
{
	selftest_runs++;
	if (!ok) {
		selftest_fails++;
		base_dprintf(2, "self-test FAILED: %s\n", what);
	}
}

struct selftest_sse {
	struct buf out;
};

static int
selftest_sse_cb(void *ctx, const char *event, char *data, size_t n)
{
	struct selftest_sse *t = ctx;
	buf_printf(&t->out, "[%s]", event);
	buf_add(&t->out, data, n);
	buf_adds(&t->out, "|");
	return 0;
}

PROSE(selftest_run_msg1,
	"self-test: %d of %d checks passed\n")

PROSE(selftest_run_msg,
	"%zu|%d|%lld|%s|%u|%ld|%x|%c|%-3s|%04d|%zu")

/* Parsers and the writer on known vectors; SSE fed whole, byte by byte, and in odd pieces. */
static int
selftest_run(void)
{
	static struct sse s;
	static const char stream[] = "\xEF\xBB\xBF: hi\r\nevent: a\r\ndata: {\"x\":1}\r\n\r\ndata:l1\rdata: l2\r\r"
	                             "event:b\ndata\n\n";
	const char *want = "[a]{\"x\":1}|[]l1\nl2|[b]|";
	jsmntok_t tok[64];
	struct json j;
	char out[64];
	struct buf b = {0};
	struct jw w;
	long n;
	size_t step, i;
	/* JSON */
	selftest_check(json_parse(&j, "{\"a\":{\"b\":[1,2]},\"c\":\"d\"}", 25, tok, 64) > 0 &&
	               json_path(&j, 0, "a.b") == 4 && json_eq(&j, json_get(&j, 0, "c"), "d"), "json lookup");
	selftest_check(json_parse(&j, "{\"a\":1} x", 9, tok, 64) < 0, "json trailing garbage rejected");
	selftest_check(json_parse(&j, "[1,2,3]", 7, tok, 2) == AG_E_TOOBIG, "json pool exhaustion reported");
	n = json_unescape("a\\n\\u00e9\\ud83c\\udf89\\ud800x", 28, out);
	selftest_check(n == 12 && memcmp(out, "a\n\xC3\xA9\xF0\x9F\x8E\x89\xEF\xBF\xBDx", 12) == 0, "json unescape");
	jw_init(&w, jw_sink_buf, &b);
	jw_strn(&w, "q\"\x01\xff\xC3\xA9", 6);
	selftest_check(b.p && strcmp(b.p, "\"q\\\"\\u0001\xEF\xBF\xBD\xC3\xA9\"") == 0, "json writer escapes");
	buf_free(&b);
	/* dates: the calendar arithmetic that replaces gmtime_r and timegm */
	{
		char d1[16], d2[16], d3[16];
		long long t;
		clk_date(0, d1, sizeof d1);
		clk_date(951782400, d2, sizeof d2);              /* 2000-02-29 00:00:00 */
		clk_date(4107542399LL, d3, sizeof d3);           /* 2100-02-28 23:59:59 */
		selftest_check(!strcmp(d1, "1970-01-01") && !strcmp(d2, "2000-02-29") && !strcmp(d3, "2100-02-28") &&
		               clk_parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT", 29, &t) == 0 && t == 1445412480LL,
		               "calendar dates");
	}
	/* base64 */
	n = b64_decode("aGVs\nbG8=", 9, (unsigned char *)out, sizeof out);
	selftest_check(n == 5 && memcmp(out, "hello", 5) == 0, "base64");
	/* SSE, three ways */
	for (step = 0; step < 3; step++) {
		struct selftest_sse t = {{0}};
		size_t len = sizeof stream - 1;
		sse_init(&s);
		for (i = 0; i < len;) {
			size_t k = step == 0 ? len : step == 1 ? 1 : 1 + (i * 7) % 5;
			if (k > len - i)
				k = len - i;
			sse_feed(&s, stream + i, k, selftest_sse_cb, &t);
			i += k;
		}
		sse_finish(&s, selftest_sse_cb, &t);
		selftest_check(t.out.p && strcmp(t.out.p, want) == 0, "sse parse");
		buf_free(&t.out);
	}
	/* formatting: every argument width in one call (a wrong one shifts the rest on 32-bit boards) */
	{
		char fb[96];
		base_snprintf(fb, sizeof fb, prose(selftest_run_msg), (size_t)7, -3, -1234567890123LL,
		              "x", 5u, -9L, 255u, 'z', "ab", -5, (size_t)-1 / 2);
		selftest_check(strcmp(fb, sizeof(size_t) == 8 ? "7|-3|-1234567890123|x|5|-9|ff|z|ab |-005|9223372036854775807" :
		                      "7|-3|-1234567890123|x|5|-9|ff|z|ab |-005|2147483647") == 0, "formatting");
	}
	/* URL */
	{
		struct url u;
		struct ag_err e = {0};
		selftest_check(url_parse("https://[::1]:8443/gw/", &u, &e) == 0 && strcmp(u.host, "::1") == 0 &&
		               strcmp(u.port, "8443") == 0 && strcmp(u.prefix, "/gw") == 0, "url parse");
	}
	/* trust anchors compiled in */
	{
		struct tls_trust t = {0};
		int k = tls_trust_add_builtin(&t);
#ifdef AG_HAVE_ROOTS
		selftest_check(k >= 1 && t.ta[0].dn.len > 0, "built-in root certificates");
#else
		(void)k;
#endif
		tls_trust_free(&t);
	}
	base_dprintf(1, prose(selftest_run_msg1), selftest_runs - selftest_fails, selftest_runs);
	return selftest_fails ? 1 : 0;
}

/* ==== 19. cli: flags, environment, main ==== */

#define CLI_DEFAULT_MODEL "claude-sonnet-4-5"
#define CLI_DEFAULT_OPENAI_MODEL "gpt-4o-mini"
#define CLI_DEFAULT_MAX_TOKENS 32000
#define CLI_DEFAULT_OPENAI_MAX_TOKENS 8192

PROSE(cli_system_prompt,
"You are agent, a coding agent working in a terminal, often on a small Linux device reached over SSH. You help "
"with software and system tasks: you read code, run commands, edit files and report what you found.\n\n"
"# How you work\n"
"- Your text is shown in a plain terminal. Be brief and direct: no preamble, no closing summary unless asked.\n"
"- Prefer the dedicated tools to shell equivalents: Read, not cat/head/tail; Edit and Write, not sed or echo >; "
"Glob, not find or ls -R; Grep, not grep. Use Bash for builds, tests, git and system commands.\n"
"- When calls do not depend on each other, make them all in one reply; they run together.\n"
"- For work of three or more steps, plan with TodoWrite and keep the list current.\n"
"- Read a file before you change it; follow the code's existing style; keep changes to what was asked.\n"
"- Check your work: run the tests or the command that shows it works, when there is one.\n"
"- Ask before anything destructive or irreversible (deleting data, rm -rf, overwriting others' work).\n\n"
"# Git\n"
"- Never change git config, never force-push, never skip hooks, and never commit or push unless the user asks.\n"
"- When asked to commit: look at git status and git diff first, then write a short message that says why.")

PROSE(cli_usage_text,
	"usage: agent [options] [PROMPT]      an interactive session in a terminal (PROMPT: its first request)\n"
	"       agent -p PROMPT [options]     do the task, print the answer, exit\n"
	"       echo PROMPT | agent -p        the prompt may come on stdin\n"
	"\n"
	"options:\n"
	"  -p, --print [PROMPT]         print mode: run the agent loop, the answer on stdout\n"
	"      --model NAME             model (default: $ANTHROPIC_MODEL or " CLI_DEFAULT_MODEL ")\n"
	"      --max-tokens N           output token limit per reply (default %d)\n"
	"      --max-turns N            stop after N model calls\n"
	"      --output-format F        text (default), json (one result object), stream-json (one object per line)\n"
	"      --input-format F         text (default) or stream-json (user messages as JSON lines on stdin)\n"
	"      --allowedTools LIST      tools allowed without asking: Bash, Edit, Write, Bash(git diff:*), Edit(src/**)\n"
	"      --disallowedTools LIST   tools never used (removed from what the model sees)\n"
	"      --permission-mode MODE   default, acceptEdits, plan or bypassPermissions\n"
	"      --dangerously-skip-permissions   run every tool without asking\n"
	"      --system-prompt TEXT     replace agent's system prompt\n"
	"      --append-system-prompt TEXT   add to it\n"
	"      --thinking N             extended thinking with a budget of N tokens (also MAX_THINKING_TOKENS)\n"
	"      --max-retries N          retries of a failed request (default 10; ANTHROPIC_MAX_RETRIES)\n"
	"      --provider P             anthropic (default), bedrock (Amazon Bedrock), vertex (Google Vertex AI),\n"
	"                               or openai (Chat Completions)\n"
	"      --mcp-config FILE        MCP servers from FILE too ({\"mcpServers\": ...}, as .mcp.json)\n"
	"      --add-dir DIR            let the file tools work in DIR too, as in the working directory\n"
	"      --mcp-list               start the MCP servers, list their state and tools, exit\n"
	"      --sandbox                run Bash under Landlock: writes only in this directory and /tmp, no TCP\n"
	"      --status                 one minimal request: check the key and server, show the rate limits\n"
	"  -c, --continue               resume the newest session of this directory\n"
	"  -r, --resume [ID]            resume a session (a list to pick from without ID)\n"
	"      --verbose                show each turn's request and usage on stderr\n"
	"      --self-test              run the built-in checks (first thing to try on a new device)\n"
	"  -v, --version                print the version\n"
	"  -h, --help                   this text\n"
	"\n"
	"environment:\n"
	"  ANTHROPIC_API_KEY      API key (sent as x-api-key)\n"
	"  ANTHROPIC_AUTH_TOKEN   bearer token for gateways, used when there is no API key\n"
	"  ANTHROPIC_BASE_URL     API server (default https://api.anthropic.com; http:// for local servers)\n"
	"  ANTHROPIC_MODEL        default model\n"
	"  AGENT_PROVIDER         anthropic, openai, bedrock or vertex (as --provider)\n"
	"  OPENAI_BASE_URL        Chat Completions server (default https://api.openai.com/v1; llama.cpp:\n"
	"                         http://host:8080/v1, Ollama: http://host:11434/v1)\n"
	"  OPENAI_API_KEY         its key (sent as a bearer token; local servers need none)\n"
	"  OPENAI_MODEL           its model (default " CLI_DEFAULT_OPENAI_MODEL ")\n"
	"  CLAUDE_CODE_USE_BEDROCK=1   Amazon Bedrock (as --provider bedrock): AWS_REGION or AWS_DEFAULT_REGION,\n"
	"                         ANTHROPIC_BEDROCK_BASE_URL, CLAUDE_CODE_SKIP_BEDROCK_AUTH, AWS_BEARER_TOKEN_BEDROCK,\n"
	"                         AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,\n"
	"                         AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI,\n"
	"                         AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE),\n"
	"                         AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_EC2_METADATA_SERVICE_ENDPOINT,\n"
	"                         AWS_EC2_METADATA_DISABLED (README: Amazon Bedrock)\n"
	"  CLAUDE_CODE_USE_VERTEX=1    Google Vertex AI (as --provider vertex): CLOUD_ML_REGION,\n"
	"                         ANTHROPIC_VERTEX_PROJECT_ID (or GOOGLE_CLOUD_PROJECT, GCLOUD_PROJECT),\n"
	"                         ANTHROPIC_VERTEX_BASE_URL, CLAUDE_CODE_SKIP_VERTEX_AUTH, GOOGLE_APPLICATION_CREDENTIALS,\n"
	"                         CLOUDSDK_CONFIG, GCE_METADATA_HOST, GCE_METADATA_IP (README: Google Vertex AI)\n"
	"  MCP_TIMEOUT, MCP_TOOL_TIMEOUT   ms an MCP server may take to start (30000) / per call (600000)\n"
	"  MCP_OAUTH_TIMEOUT      ms a sign-in to an MCP server may wait for the browser (300000)\n"
	"  BROWSER                command run with an MCP server's sign-in address (else it is printed)\n"
	"  MCP_CLIENT_SECRET      OAuth client secret of an MCP server whose entry has oauth.clientId\n"
	"  ANTHROPIC_SMALL_FAST_MODEL   the model WebFetch asks about a page (default claude-haiku-4-5)\n"
	"  AGENT_SUBAGENT_MAX_TURNS     model calls one Task subagent may make (default 50)\n"
	"  API_TIMEOUT_MS         longest a request may take (default 600000)\n"
	"  ANTHROPIC_MAX_RETRIES  retries of a failed request (default 10, as --max-retries)\n"
	"  MAX_THINKING_TOKENS    extended thinking budget (as --thinking)\n"
	"  AGENT_CONTEXT_WINDOW   tokens of context the model has (default 200000: when to compact)\n"
	"  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY   proxies as curl reads them (lower case too)\n"
	"  SSL_CERT_FILE, SSL_CERT_DIR   CA bundle to trust instead of the system's\n"
	"  NODE_EXTRA_CA_CERTS    one more CA to trust (a corporate proxy's)\n"
	"  XDG_STATE_HOME, XDG_CONFIG_HOME   where agent keeps state (~/.local/state/agent, ~/.config/agent)\n"
	"  NO_COLOR               no colours\n")

static void
cli_usage(int fd)
{
	base_dprintf(fd, prose(cli_usage_text), CLI_DEFAULT_MAX_TOKENS);
}

static void
cli_on_signal(int sig)
{
	ag_interrupted = 1;
	if (sig == SIGTERM || sig == SIGHUP)
		ag_terminated = 1;
}

/* Value of an option given as "--opt value" or "--opt=value". */
static const char *
cli_value(int argc, char **argv, int *i, const char *name, struct ag_err *e)
{
	size_t n = strlen(argv[*i]);
	const char *eq = strchr(argv[*i], '=');
	if (eq && argv[*i][0] == '-' && argv[*i][1] == '-')
		return eq + 1;
	(void)n;
	if (*i + 1 >= argc) {
		err_set(e, AG_E_USAGE, "option %s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static int
cli_is(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && (arg[n] == 0 || (arg[n] == '=' && name[1] == '-'));
}

/* metadata.user_id: a random id made once and kept in the config directory; nothing personal. */
static void
cli_user_id(char *out, size_t cap)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
	/* dir is at most PATH_MAX - 1 bytes, so path always has room for "/user-id" */
	struct buf b = {0};
	int r;
	str_random_hex(out, cap / 2 > 32 ? 32 : cap / 2 - 1);
	if (x && *x == '/')
		r = base_snprintf(dir, sizeof dir, "%s/agent", x);
	else if (h && *h)
		r = base_snprintf(dir, sizeof dir, "%s/.config/agent", h);
	else
		return;
	if (r < 0 || (size_t)r + 9 >= sizeof dir)
		return;
	base_snprintf(path, sizeof path, "%.*s/user-id", (int)(sizeof dir - 16), dir);
	if (file_read_all(path, &b, 256) == 0 && b.len >= 16 && b.len < cap) {
		size_t n = b.len;
		while (n && b.p[n - 1] == '\n')
			n--;
		if (n >= 16 && strspn(b.p, "0123456789abcdef") >= n) {
			str_copy(out, cap, b.p, n);
			buf_free(&b);
			return;
		}
	}
	buf_free(&b);
	if (file_mkdirs(dir, 0700) == 0)
		file_write_atomic(path, out, strlen(out), 0600);
}

PROSE(cli_memory_msg1,
	"Contents of %s (project instructions):\n\n")

PROSE(cli_memory_msg,
	"Contents of %s (the user's own instructions, for every project):\n\n")

PROSE(cli_memory_intro,
	"These instructions from the user and the project override the defaults; follow them. They may "
	"not all matter for this task.\n\n")

/* Project memory: ~/.claude/CLAUDE.md, then CLAUDE.md and AGENTS.md in every directory from / down to the
 * working directory, as one reminder text. Empty when there are none. */
static void
cli_memory(const char *cwd, struct buf *out)
{
	char path[PATH_MAX + 16], dir[PATH_MAX];
	const char *h = getenv("HOME");
	size_t i, n = strlen(cwd);
	struct buf body = {0};
	for (i = 0; i <= n; i++) {
		static const char *const names[] = { "CLAUDE.md", "AGENTS.md" };
		size_t k;
		if (i == 0 && h && *h) {
			base_snprintf(path, sizeof path, "%s/.claude/CLAUDE.md", h);
			if (file_read_all(path, &body, 256 * 1024) == 0 && body.len) {
				buf_printf(out, prose(cli_memory_msg), path);
				buf_add(out, body.p, body.len);
				buf_adds(out, "\n\n");
			}
			body.len = 0;
		}
		if (!(i == n || cwd[i] == '/'))
			continue;
		str_copy(dir, sizeof dir, cwd, i == 0 ? 1 : i);
		for (k = 0; k < 2; k++) {
			base_snprintf(path, sizeof path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", names[k]);
			body.len = 0;
			if (file_read_all(path, &body, 256 * 1024) == 0 && body.len) {
				buf_printf(out, prose(cli_memory_msg1), path);
				buf_add(out, body.p, body.len);
				buf_adds(out, "\n\n");
			}
		}
		if (i == 0 && n == 1)
			break;
	}
	buf_free(&body);
	if (out->len) {
		struct buf t = {0};
		buf_adds(&t, prose(cli_memory_intro));
		buf_add(&t, out->p, out->len);
		buf_free(out);
		*out = t;
		while (out->len && out->p[out->len - 1] == '\n')
			out->p[--out->len] = 0;
	}
}

PROSE(cli_env_text,
	"<env>\nWorking directory: %s\nIs a git repository: %s\nPlatform: linux\nOS: %s %s %s\n"
	"Shell: /bin/sh\nToday's date: %s\n</env>\nYou are running as model %s.")

/* The system blocks: our prompt (or the user's), the environment, and any appended text; the last one
 * carries a cache breakpoint. */
static void
cli_system(struct buf *out, const char *prompt, const char *append, const char *cwd, const char *model)
{
	struct buf env = {0};
	struct utsname u;
	struct stat st;
	char date[32], git[PATH_MAX + 8];
	long long now = clk_now();
	int is_git = 0;
	struct jw w;
	size_t i, n = strlen(cwd);
	for (i = n; i > 0 && !is_git; i--) {
		if (i == n || cwd[i] == '/') {
			base_snprintf(git, sizeof git, "%.*s/.git", (int)i, cwd);
			is_git = stat(git, &st) == 0;
		}
	}
	clk_date(now, date, sizeof date);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	buf_printf(&env, prose(cli_env_text), cwd, is_git ? "yes" : "no",
	           u.sysname, u.release, u.machine, date, model);
	jw_init(&w, jw_sink_buf, out);
	jw_open(&w, '[');
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, "text");
	jw_key(&w, "text"); jw_str(&w, prompt);
	jw_close(&w, '}');
	jw_open(&w, '{');
	jw_key(&w, "type"); jw_str(&w, "text");
	jw_key(&w, "text"); jw_strn(&w, env.p, env.len);
	if (!append) {
		jw_key(&w, "cache_control");
		jw_json(&w, "{\"type\":\"ephemeral\"}", 20);
	}
	jw_close(&w, '}');
	if (append) {
		jw_open(&w, '{');
		jw_key(&w, "type"); jw_str(&w, "text");
		jw_key(&w, "text"); jw_str(&w, append);
		jw_key(&w, "cache_control");
		jw_json(&w, "{\"type\":\"ephemeral\"}", 20);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	buf_free(&env);
}

/* The tool definitions the model sees: all but the disallowed ones, the last with a cache breakpoint. */
/* Is name in a comma- or space-separated list ("Read, Grep")? */
static int
cli_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	while (*list) {
		size_t l;
		list += strspn(list, ", \t");
		l = strcspn(list, ", \t");
		if (l == n && strncmp(list, name, n) == 0)
			return 1;
		list += l;
	}
	return 0;
}

static int
cli_denied(const struct perm *p, const char *name)
{
	size_t r;
	int denied = 0;
	for (r = 0; r < p->n; r++)
		denied |= p->r[r].kind == RULE_DENY && (!p->r[r].spec || !*p->r[r].spec) &&
		          (strcmp(p->r[r].tool, name) == 0 || perm_mcp_server(p->r[r].tool, name) ||
		           (strcmp(p->r[r].tool, "Bash") == 0 && (!strcmp(name, "BashOutput") || !strcmp(name, "KillShell"))));
	if (p->mode == PERM_PLAN && !perm_tool_is_ro(name))
		denied = 0;                   /* plan mode refuses at call time, with a reason */
	return denied;
}

PROSE(cli_tools_msg,
	",\"cache_control\":{\"type\":\"ephemeral\"}}")

/* The tools array: the built-in tools, then extra definitions (Task), then each MCP server's tools (mcp may
 * be NULL), less what a deny rule removes entirely; the last one carries the cache breakpoint. only: a
 * comma-separated list of the names to keep (a subagent's "tools"), or NULL. */
static int
cli_tools(struct buf *out, const struct perm *p, const struct mcp *mcp, const struct buf *extra, size_t nextra,
          const char *only, int no_task)
{
	static jsmntok_t tok[512];
	struct json j;
	struct jw w;
	int k, i, n = json_parse(&j, prose(tool_defs_json), strlen(prose(tool_defs_json)), tok, 512), count = 0;
	size_t x, m;
	struct buf *defs = NULL;
	if (n <= 0)
		return AG_E_INVAL;
	defs = calloc((size_t)j.t[0].size + nextra + mcp_tool_count(mcp) + 3, sizeof *defs);
	if (!defs)
		return AG_E_NOMEM;
	for (i = 0, k = 1; i < j.t[0].size && k < j.n; i++, k = json_skip(&j, k)) {
		char name[64];
		struct jw w1;
		json_str(&j, json_get(&j, k, "name"), name, sizeof name);
		if (cli_denied(p, name) || (only && !cli_listed(only, name)))
			continue;
		jw_init(&w1, jw_sink_buf, &defs[count++]);
		json_copy(&w1, &j, k);
	}
	for (x = 0; x < nextra; x++) {
		char name[64] = "";
		const char *q = str_find(extra[x].p, "\"name\":\"");
		if (q)
			str_copy(name, sizeof name, q + 8, strcspn(q + 8, "\""));
		if (cli_denied(p, name) || (only && !cli_listed(only, name)) || (no_task && strcmp(name, "Task") == 0))
			continue;
		buf_add(&defs[count++], extra[x].p, extra[x].len);
	}
	for (x = 0; x < 2 && mcp_has(mcp, MCP_CAP_RES); x++)
		if (!cli_denied(p, x ? "ReadMcpResourceTool" : "ListMcpResourcesTool") &&
		    (!only || cli_listed(only, x ? "ReadMcpResourceTool" : "ListMcpResourcesTool")))
			buf_adds(&defs[count++], x ? prose(mcp_res_defs) + strlen(prose(mcp_res_defs)) + 1 : prose(mcp_res_defs));
	for (x = 0; mcp && x < mcp->n; x++)
		for (m = 0; m < mcp->srv[x].ntools; m++) {
			const struct mcp_tool *t = &mcp->srv[x].tools[m];
			if (cli_denied(p, t->full) || (only && !cli_listed(only, t->full)))
				continue;
			buf_add(&defs[count++], t->def.p, t->def.len);
		}
	jw_init(&w, jw_sink_buf, out);
	jw_open(&w, '[');
	for (i = 0; i < count; i++) {
		struct buf *one = &defs[i];
		if (i == count - 1 && one->len > 1) {
			one->p[--one->len] = 0;
			buf_adds(one, prose(cli_tools_msg));
		}
		jw_json(&w, one->p, one->len);
		buf_free(one);
	}
	jw_close(&w, ']');
	free(defs);
	return count;
}

/* apiKeyHelper (Claude Code's settings key): a command that prints the key, so a board can keep it in its
 * own secret store. Run with /bin/sh, without the other keys in its environment; its stdout, trimmed. */
/* Folders the user said to trust: real paths, one per line, in STATE/trusted-folders. */
static int
cli_trust_file(char *out, size_t cap, int create)
{
	char st[PATH_MAX];
	return cfg_state_dir(st, sizeof st, create) || base_snprintf(out, cap, "%s/trusted-folders", st) >= (int)cap;
}

static int
cli_trusted(const char *dir)
{
	char path[PATH_MAX + 32];
	struct buf b = {0};
	int r = !cli_trust_file(path, sizeof path, 0) && file_read_all(path, &b, 4u << 20) == 0 && mcp_listed(&b, dir);
	buf_free(&b);
	return r;
}

PROSE(cli_trust_ask_msg1,
	"Not trusted: they will not run. Start agent here again to be asked again.\n")

PROSE(cli_trust_ask_msg,
	"\nThe files of %s would run commands on this machine or reach beyond it:\n  %s\nThey may come "
	"from someone else (a cloned repository). Trust this folder? [y/N] ")

/* The first interactive run in a folder whose own files would run commands or widen the boundary (its
 * .mcp.json servers, what its .claude settings say, see struct perm_extra) asks once whether to trust it;
 * yes is remembered. */
static int
cli_trust_ask(const char *dir, const char *what)
{
	char path[PATH_MAX + 32], ans[16];
	ssize_t n;
	int fd;
	base_dprintf(2, prose(cli_trust_ask_msg), dir, what);
	n = read(0, ans, sizeof ans - 1);
	if (n <= 0 || (ans[0] != 'y' && ans[0] != 'Y')) {
		base_dprintf(2, prose(cli_trust_ask_msg1));
		return 0;
	}
	if (!cli_trust_file(path, sizeof path, 1) &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) >= 0) {
		base_dprintf(fd, "%s\n", dir);
		close(fd);
	}
	return 1;
}

/* The project's two settings files (both may come with a clone: see struct perm_extra). */
static int
cli_project_settings(struct loop *L, struct perm_extra *x, const char *cwd, struct ag_err *e)
{
	char path[PATH_MAX + 32];
	int r;
	x->shared = 1;
	base_snprintf(path, sizeof path, "%s/.claude/settings.json", cwd);
	if ((r = perm_load_settings(&L->perm, path, x, e)) == 0) {
		base_snprintf(path, sizeof path, "%s/.claude/settings.local.json", cwd);
		r = perm_load_settings(&L->perm, path, x, e);
	}
	x->shared = 0;
	return r;
}

PROSE(cli_project_msg1,
	"%sthe MCP server '%s' of .mcp.json")

PROSE(cli_project_msg,
	"agent: this folder is not trusted, so its .claude settings were read without %s; run agent "
	"here in a terminal once and trust it, or put them in ~/.claude/settings.json\n")

/* Settings files (the user's, then the project's shared and local ones), then MCP servers (--mcp-config
 * files, the project's .mcp.json, ~/.claude.json) with the folder's trust asked where it is needed (then
 * the project's settings are read again, whole); the servers are started side by side. */
static int
cli_project(struct loop *L, struct mcp *m, struct tls_trust *trust, const char **mcp_cfg, int nmcp,
            struct bound *bound, struct buf *key_helper, struct buf *aws_cmds, int *sandbox, int interactive,
            int mcp_list, struct ag_err *e)
{
	char path[PATH_MAX + 32];
	const char *h = getenv("HOME"), *cwd = L->tools.cwd;
	struct buf dropped = {0}, what = {0};
	struct perm_extra x;
	int i, r = 0;
	size_t k;
	memset(&x, 0, sizeof x);
	x.key_helper = key_helper;
	x.dropped = &dropped;
	x.aws_refresh = &aws_cmds[0];
	x.aws_export = &aws_cmds[1];
	x.sandbox = sandbox;
	x.dirs = bound;
	x.mcp = m;
	x.hooks = L->hooks;
	x.base = cwd;
	x.trusted = m->trusted = cli_trusted(bound->dir[0]);
	if (h && *h && base_snprintf(path, sizeof path, "%s/.claude/settings.json", h) < (int)sizeof path &&
	    (r = perm_load_settings(&L->perm, path, &x, e)) != 0)
		goto out;
	if ((r = cli_project_settings(L, &x, cwd, e)) != 0)
		goto out;
	for (i = 0; i < nmcp; i++)
		if ((r = mcp_config(m, mcp_cfg[i], MCP_MUST_EXIST, e)) != 0)
			goto out;
	base_snprintf(path, sizeof path, "%s/.mcp.json", cwd);
	if ((r = mcp_config(m, path, MCP_PROJECT, e)) != 0)
		goto out;
	if (h && *h && base_snprintf(path, sizeof path, "%s/.claude.json", h) < (int)sizeof path &&
	    (r = mcp_config(m, path, 0, e)) != 0)
		goto out;
	for (k = 0; k < m->n; k++)
		if (m->srv[k].project && !mcp_approved(m, m->srv[k].name))
			buf_printf(&what, prose(cli_project_msg1), what.len ? "; " : "", m->srv[k].name);
	if (dropped.len)
		buf_printf(&what, "%sin .claude/settings*.json: %s", what.len ? "; " : "", dropped.p);
	if (what.len && interactive && !m->trusted && cli_trust_ask(bound->dir[0], what.p)) {
		m->trusted = x.trusted = 1;
		x.dropped = NULL;
		if ((r = cli_project_settings(L, &x, cwd, e)) != 0)
			goto out;
	} else if (dropped.len && !m->trusted) {
		base_dprintf(2, prose(cli_project_msg), dropped.p);
	}
	L->tools.mcp = m;
	mcp_start(m, cwd, trust, mcp_list);
out:
	buf_free(&dropped);
	buf_free(&what);
	return r;
}

/* The keys in the environment move to the heap and their first copy (the one /proc/PID/environ shows, which
 * a child could read of the agent or of a command's keeper) is wiped. */
static void
cli_hide_secrets(void)
{
	static const char *const names[] = { "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY",
	                                     "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK",
	                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN" };
	size_t i;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *v = getenv(names[i]);
		size_t l = v ? strlen(v) : 0;
		struct buf copy = {0};
		if (!l || buf_printf(&copy, "%s=%s", names[i], v) || base_putenv(copy.p))
			continue;
		explicit_bzero(v, l);             /* the copy on the heap stays for the run: it is the environment now */
	}
}

/* "WHAT: " before the error's message. */
static void
cli_err_prefix(struct ag_err *e, const char *what)
{
	char m[sizeof e->msg];
	base_snprintf(m, sizeof m, "%s: %s", what, e->msg);
	memcpy(e->msg, m, sizeof m);
}

PROSE(cli_bedrock_msg4,
	"abcdefghijklmnopqrstuvwxyz0123456789-")

PROSE(cli_bedrock_msg1,
	"'%.60s' is not an AWS region name (like us-east-1)")
PROSE(cli_bedrock_msg2,
	"https://bedrock-runtime.%s.amazonaws.com")
PROSE(cli_bedrock_msg3,
	"%s.anthropic.claude-sonnet-4-5-20250929-v1:0")

PROSE(cli_bedrock_msg,
	"Bedrock needs a region: set AWS_REGION (or region in the [%s%s] section of "
	"~/.aws/config)")

/* Amazon Bedrock as Claude Code reads it: the profile (AWS_PROFILE), the region (AWS_REGION, then
 * AWS_DEFAULT_REGION, then the profile's region in ~/.aws/config), the endpoint (ANTHROPIC_BEDROCK_BASE_URL, else
 * bedrock-runtime.REGION.amazonaws.com), and without --model or ANTHROPIC_MODEL the region's inference profile of
 * the default model. */
static int
cli_bedrock(struct api_cfg *cfg, struct api_aws *k, int model_set, struct ag_err *e)
{
	const char *v = getenv("AWS_PROFILE"), *base = getenv("ANTHROPIC_BEDROCK_BASE_URL");
	char cred[PATH_MAX], conf[PATH_MAX], sect[96], url[600];
	str_copy(k->profile, sizeof k->profile, v && *v ? v : "default", strlen(v && *v ? v : "default"));
	v = getenv("AWS_REGION");
	if (!v || !*v)
		v = getenv("AWS_DEFAULT_REGION");
	if (v && *v) {
		str_copy(k->region, sizeof k->region, v, strlen(v));
	} else {
		api_aws_files(cred, conf, sizeof cred);
		base_snprintf(sect, sizeof sect, strcmp(k->profile, "default") ? "profile %s" : "%s", k->profile);
		api_ini_get(conf, sect, "region", k->region, sizeof k->region);
	}
	if (!k->region[0])
		return err_set(e, AG_E_USAGE, prose(cli_bedrock_msg), strcmp(k->profile, "default") ? "profile " : "", k->profile);
	if (strspn(k->region, prose(cli_bedrock_msg4)) != strlen(k->region))
		return err_set(e, AG_E_USAGE, prose(cli_bedrock_msg1), k->region);
	v = getenv("AWS_BEARER_TOKEN_BEDROCK");
	k->bearer = v && *v ? v : NULL;
	v = getenv("CLAUDE_CODE_SKIP_BEDROCK_AUTH");
	k->skip_auth = v && *v && strcmp(v, "0") != 0;
	if (base && *base)
		str_copy(url, sizeof url, base, strlen(base));
	else
		base_snprintf(url, sizeof url, prose(cli_bedrock_msg2), k->region);
	if (url_parse(url, &cfg->url, e)) {
		cli_err_prefix(e, base && *base ? "ANTHROPIC_BEDROCK_BASE_URL" : "Bedrock endpoint");
		return e->code;
	}
	v = getenv("ANTHROPIC_MODEL");
	if (!model_set && !(v && *v))             /* an inference profile of the region's geography */
		base_snprintf(cfg->model, sizeof cfg->model, prose(cli_bedrock_msg3),
		              str_starts(k->region, "us-") ? "us" : str_starts(k->region, "eu-") ? "eu" :
		              str_starts(k->region, "ap-") ? "apac" : "global");
	cfg->bedrock = k;
	return 0;
}

PROSE(cli_vertex_msg4,
	"abcdefghijklmnopqrstuvwxyz0123456789-")

PROSE(cli_vertex_msg3,
	"https://%s%saiplatform.googleapis.com/v1")

PROSE(cli_vertex_msg1,
	"Vertex AI needs a region: set CLOUD_ML_REGION (global, or one like us-east5)")
PROSE(cli_vertex_msg2,
	"CLOUD_ML_REGION '%.60s' is not a Google Cloud region (like us-east5, or global)")

/* Google Vertex AI as Claude Code reads it: CLOUD_ML_REGION (global or a region), the endpoint
 * (ANTHROPIC_VERTEX_BASE_URL, else REGION-aiplatform.googleapis.com/v1), CLAUDE_CODE_SKIP_VERTEX_AUTH, and
 * without --model or ANTHROPIC_MODEL Vertex's name for the default model. */
static int
cli_vertex(struct api_cfg *cfg, struct api_gcp *g, int model_set, struct ag_err *e)
{
	const char *v = getenv("CLOUD_ML_REGION"), *base = getenv("ANTHROPIC_VERTEX_BASE_URL");
	char url[600];
	if (!v || !*v)
		return err_set(e, AG_E_USAGE, prose(cli_vertex_msg1));
	if (strspn(v, prose(cli_vertex_msg4)) != strlen(v) || strlen(v) >= sizeof g->region)
		return err_set(e, AG_E_USAGE, prose(cli_vertex_msg2), v);
	str_copy(g->region, sizeof g->region, v, strlen(v));
	v = getenv("CLAUDE_CODE_SKIP_VERTEX_AUTH");
	g->skip_auth = v && *v && strcmp(v, "0") != 0;
	if (base && *base)
		str_copy(url, sizeof url, base, strlen(base));
	else
		base_snprintf(url, sizeof url, prose(cli_vertex_msg3), strcmp(g->region, "global") ?
		              g->region : "", strcmp(g->region, "global") ? "-" : "");
	if (url_parse(url, &cfg->url, e)) {
		cli_err_prefix(e, base && *base ? "ANTHROPIC_VERTEX_BASE_URL" : "Vertex endpoint");
		return e->code;
	}
	v = getenv("ANTHROPIC_MODEL");
	if (!model_set && !(v && *v))
		base_snprintf(cfg->model, sizeof cfg->model, "claude-sonnet-4-5@20250929");
	cfg->vertex = g;
	return 0;
}

PROSE(cli_vertex_creds_msg7,
	"none (CLAUDE_CODE_SKIP_VERTEX_AUTH)")
PROSE(cli_vertex_creds_msg8,
	"abcdefghijklmnopqrstuvwxyz0123456789-.:")

PROSE(cli_vertex_creds_msg4,
	"%s%s/application_default_credentials.json")
PROSE(cli_vertex_creds_msg5,
	"metadata-flavor: Google\r\n"
	"connection: close\r\n")
PROSE(cli_vertex_creds_msg6,
	"'%.100s' is not a Google Cloud project id")

PROSE(cli_vertex_creds_msg3,
	"GOOGLE_APPLICATION_CREDENTIALS names %.300s, which cannot be read: %s")

PROSE(cli_vertex_creds_msg1,
	"no Google credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, %.200s "
	"does not exist, and the metadata server (%.100s) did not answer (%.150s); run gcloud auth "
	"application-default login, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file")
PROSE(cli_vertex_creds_msg2,
	"Vertex AI needs a project: set ANTHROPIC_VERTEX_PROJECT_ID (the Google Cloud "
	"project id)")

/* Vertex's credentials where Google's client libraries look: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application default credentials, the metadata server (GCE_METADATA_HOST); the first token now, so that a
 * problem shows before the first question. The project: ANTHROPIC_VERTEX_PROJECT_ID, GOOGLE_CLOUD_PROJECT,
 * GCLOUD_PROJECT, the credentials file's, the metadata server's. */
static int
cli_vertex_creds(struct api_gcp *g, struct ag_err *e)
{
	static const char *const pv[] = { "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT" };
	const char *v, *cs = getenv("CLOUDSDK_CONFIG"), *h = getenv("HOME"), *mh = getenv("GCE_METADATA_HOST");
	char adc[PATH_MAX];
	struct ag_err e2 = {0};
	int i;
	for (i = 0; i < 3 && !g->project[0]; i++)
		if ((v = getenv(pv[i])) != NULL && *v)
			str_copy(g->project, sizeof g->project, v, strlen(v));
	v = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	if (!mh || !*mh)
		mh = getenv("GCE_METADATA_IP");
	if (!mh || !*mh)
		mh = "169.254.169.254";
	str_copy(g->meta, sizeof g->meta, mh, strlen(mh));
	base_snprintf(adc, sizeof adc, prose(cli_vertex_creds_msg4), cs && *cs ? cs : h ? h : "",
	              cs && *cs ? "" : "/.config/gcloud");
	if (g->skip_auth)
		str_copy(g->source, sizeof g->source, prose(cli_vertex_creds_msg7), 35);
	else if (v && *v && access(v, R_OK) != 0)
		return err_set(e, AG_E_USAGE, prose(cli_vertex_creds_msg3), v,
		               base_strerror(errno));
	else if (v && *v)
		str_copy(g->file, sizeof g->file, v, strlen(v));
	else if (access(adc, R_OK) == 0)
		str_copy(g->file, sizeof g->file, adc, strlen(adc));
	if (!g->skip_auth && api_gcp_token(g, &e2)) {
		if (g->file[0])
			return err_set(e, e2.code, "%s", e2.msg);
		return err_set(e, AG_E_USAGE, prose(cli_vertex_creds_msg1),
		               adc, g->meta, e2.msg);
	}
	if (!g->project[0] && !g->file[0] && !g->skip_auth) {
		struct buf b = {0};
		char base[300];
		base_snprintf(base, sizeof base, "http://%s", g->meta);
		if (api_fetch(base, "GET", "/computeMetadata/v1/project/project-id", prose(cli_vertex_creds_msg5), NULL, &b, 2000, NULL, &e2) == 0 && b.len)
			str_copy(g->project, sizeof g->project, b.p, strcspn(b.p, "\r\n"));
		buf_free(&b);
	}
	if (!g->project[0])
		return err_set(e, AG_E_USAGE, prose(cli_vertex_creds_msg2));
	if (strspn(g->project, prose(cli_vertex_creds_msg8)) != strlen(g->project))
		return err_set(e, AG_E_USAGE, prose(cli_vertex_creds_msg6), g->project);
	return 0;
}

/* Bedrock's credentials (api_aws_creds), with settings.json's awsCredentialExport (a command printing
 * {"Credentials": {...}}) first and awsAuthRefresh (a command such as aws sso login) run once when none are
 * found, as Claude Code does. */
static int
cli_bedrock_creds(struct api_aws *k, const char *export_cmd, struct ag_err *e)
{
	struct ag_err e2 = {0};
	if (export_cmd && !k->bearer && !k->skip_auth) {
		if (api_aws_process(k, export_cmd, e))
			return e->code;
		str_copy(k->source, sizeof k->source, "awsCredentialExport", 19);
		return 0;
	}
	if (api_aws_creds(k, &e2) == 0)
		return 0;
	if (k->refresh_cmd) {
		pid_t pid = base_fork_kept();         /* its output on stderr: stdout is the answer's */
		int st = 0;
		if (pid == 0) {
			dup2(2, 1);
			base_exec_sh(k->refresh_cmd, NULL);
			_exit(127);
		}
		while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		e2.code = 0;
		e2.msg[0] = 0;
		if (api_aws_creds(k, &e2) == 0)
			return 0;
	}
	return err_set(e, e2.code ? e2.code : AG_E_USAGE, "%s", e2.msg);
}

PROSE(cli_key_helper_msg,
	"apiKeyHelper '%.80s' failed (exit %d) or printed no single-line key")

static int
cli_key_helper(const char *cmd, struct buf *key, struct ag_err *e)
{
	int st = api_run_sh(cmd, key, 8192, 1);
	while (key->len && strchr(" \t\r\n", key->p[key->len - 1]))
		key->p[--key->len] = 0;
	if (st != 0 || !key->len || strpbrk(key->p ? key->p : "", "\r\n"))
		return err_set(e, AG_E_USAGE, prose(cli_key_helper_msg), cmd, st);
	return 0;
}

#ifdef AG_GEN
/* The build's generator of build/data.h (this file built with AG_GEN): `gen prose` writes the texts of
 * PROSE_LIST out, each with its NUL, for gzip -9n to pack; `gen data PACKED.gz PEM...` prints build/data.h:
 * the PEM files (certs/) through the same loader as a CA bundle as C trust anchors (ag_roots[]), and the packed
 * texts (ag_prose_z[]) with where each one starts, after inflating them and comparing with the texts here.
 * PROSE_LIST names every PROSE text, in the order of this file (a name left out fails the packed build). */
#define PROSE_LIST(X) X(base_strerror_text) X(url_parse_msg4) X(url_parse_msg1) X(url_parse_msg2) \
	X(url_parse_msg3) X(net_resolve_msg3) X(net_resolve_msg4) X(net_resolve_msg1) X(net_resolve_msg2) \
	X(net_proxy_for_msg) X(net_socks5_msg6) X(net_socks5_msg1) X(net_socks5_msg2) X(net_socks5_msg3) \
	X(net_socks5_msg4) X(net_socks5_msg5) X(net_socks5_msg) X(net_connect_tunnel_msg7) X(net_connect_tunnel_msg3) \
	X(net_connect_tunnel_msg4) X(net_connect_tunnel_msg5) X(net_connect_tunnel_msg6) X(net_connect_tunnel_msg1) \
	X(net_connect_tunnel_msg2) X(tls_trust_load_msg1) X(tls_trust_load_msg2) X(tls_trust_load_msg3) \
	X(tls_trust_load_msg) X(tls_explain_msg11) X(tls_explain_msg9) X(tls_explain_msg10) X(tls_explain_msg8) \
	X(tls_explain_msg1) X(tls_explain_msg2) X(tls_explain_msg3) X(tls_explain_msg4) X(tls_explain_msg5) \
	X(tls_explain_msg6) X(tls_explain_msg7) X(tls_start_msg1) X(tls_start_msg2) X(http_fill_msg1) X(http_fill_msg) \
	X(http_read_head_msg12) X(http_read_head_msg13) X(http_read_head_msg14) X(http_read_head_msg6) \
	X(http_read_head_msg7) X(http_read_head_msg8) X(http_read_head_msg9) X(http_read_head_msg10) \
	X(http_read_head_msg11) X(http_read_head_msg3) X(http_read_head_msg4) X(http_read_head_msg5) \
	X(http_read_head_msg1) X(http_read_head_msg2) X(http_request_msg) X(http_body_read_msg3) X(http_body_read_msg4) \
	X(http_body_read_msg2) X(http_body_read_msg1) X(http_body_read_msg) X(conv_write_content_from_msg1) \
	X(conv_write_content_from_msg2) X(api_block_at_msg) X(api_on_event_msg11) X(api_on_event_msg4) \
	X(api_on_event_msg5) X(api_on_event_msg6) X(api_on_event_msg7) X(api_on_event_msg8) X(api_on_event_msg9) \
	X(api_on_event_msg10) X(api_on_event_msg1) X(api_on_event_msg2) X(api_on_event_msg3) X(api_sigv4_msg) \
	X(api_aws_container_msg2) X(api_aws_container_msg3) X(api_aws_container_msg4) X(api_aws_container_msg5) \
	X(api_aws_container_msg1) X(api_aws_container_msg) X(api_aws_imds_msg3) X(api_aws_imds_msg4) \
	X(api_aws_imds_msg5) X(api_aws_imds_msg6) X(api_aws_imds_msg1) X(api_aws_imds_msg2) X(api_aws_imds_msg) \
	X(api_aws_process_msg) X(api_aws_creds_msg4) X(api_aws_creds_msg3) X(api_aws_creds_msg1) X(api_aws_creds_msg2) \
	X(api_gcp_jwt_msg1) X(api_gcp_jwt_msg2) X(api_gcp_answer_msg) X(api_gcp_token_msg7) X(api_gcp_token_msg8) \
	X(api_gcp_token_msg4) X(api_gcp_token_msg5) X(api_gcp_token_msg6) X(api_gcp_token_msg3) X(api_gcp_token_msg1) \
	X(api_gcp_token_msg2) X(api_es_message_msg) X(api_es_feed_msg1) X(api_es_feed_msg2) X(api_es_feed_msg3) \
	X(api_es_feed_msg) X(api_oa_text_msg) X(api_oa_on_event_msg4) X(api_oa_on_event_msg5) X(api_oa_on_event_msg6) \
	X(api_oa_on_event_msg1) X(api_oa_on_event_msg2) X(api_oa_on_event_msg3) X(api_http_error_msg2) \
	X(api_http_error_msg3) X(api_http_error_msg4) X(api_http_error_msg1) X(api_http_error_msg) \
	X(api_vertex_path_msg1) X(api_vertex_path_msg) X(api_count_tokens_msg1) X(api_count_tokens_msg) \
	X(api_call_msg5) X(api_call_msg3) X(api_call_msg4) X(api_call_msg1) X(api_call_msg2) X(bound_add_msg1) \
	X(bound_add_msg) X(tool_defs_json) X(tool_guard_msg1) X(tool_guard_msg2) X(tool_open_fail_msg) \
	X(tool_check_seen_msg1) X(tool_check_seen_msg2) X(tool_clip_msg) X(tool_arg_str_msg1) X(tool_arg_str_msg) \
	X(tool_cap_finish_msg) X(tool_bash_msg1) X(tool_bash_msg2) X(tool_image_block_msg) X(tool_read_msg6) \
	X(tool_read_msg7) X(tool_read_msg4) X(tool_read_msg5) X(tool_read_msg1) X(tool_read_msg2) X(tool_read_msg3) \
	X(tool_store_msg4) X(tool_store_msg2) X(tool_store_msg3) X(tool_store_msg1) X(tool_store_msg) X(tool_edit_msg4) \
	X(tool_edit_msg5) X(tool_edit_msg3) X(tool_edit_msg1) X(tool_edit_msg2) X(tool_glob_msg) X(tool_rx_emit_msg) \
	X(tool_rx_range_msg) X(tool_rx_esc_msg1) X(tool_rx_esc_msg2) X(tool_rx_esc_msg3) X(tool_rx_class_msg3) \
	X(tool_rx_class_msg4) X(tool_rx_class_msg1) X(tool_rx_class_msg2) X(tool_rx_atom_msg3) X(tool_rx_atom_msg2) \
	X(tool_rx_atom_msg1) X(tool_rx_atom_msg) X(tool_rx_quant_msg1) X(tool_rx_quant_msg) X(tool_rx_comp_msg) \
	X(tool_grep_msg3) X(tool_grep_msg4) X(tool_grep_msg1) X(tool_grep_msg2) X(tool_bg_start_msg3) \
	X(tool_bg_start_msg1) X(tool_bg_start_msg2) X(tool_bg_find_msg) X(tool_bash_output_msg2) \
	X(tool_bash_output_msg1) X(tool_bash_output_msg) X(tool_kill_shell_msg) X(tool_bg_list_msg) X(tool_todo_msg5) \
	X(tool_todo_msg1) X(tool_todo_msg2) X(tool_todo_msg3) X(tool_todo_msg4) X(tool_run_msg1) X(tool_run_msg) \
	X(mcp_config_msg6) X(mcp_config_msg3) X(mcp_config_msg4) X(mcp_config_msg5) X(mcp_config_msg1) \
	X(mcp_config_msg2) X(mcp_elicit_msg1) X(mcp_elicit_msg) X(mcp_wait_stdio_msg3) X(mcp_wait_stdio_msg4) \
	X(mcp_wait_stdio_msg1) X(mcp_wait_stdio_msg2) X(mcp_oauth_fetch_msg) X(mcp_oauth_discover_msg3) \
	X(mcp_oauth_discover_msg4) X(mcp_oauth_discover_msg5) X(mcp_oauth_discover_msg1) X(mcp_oauth_discover_msg2) \
	X(mcp_oauth_discover_msg) X(mcp_oauth_jwt_msg1) X(mcp_oauth_jwt_msg2) X(mcp_oauth_save_msg) \
	X(mcp_oauth_token_msg) X(mcp_oauth_client_msg2) X(mcp_oauth_client_msg3) X(mcp_oauth_client_msg4) \
	X(mcp_oauth_client_msg5) X(mcp_oauth_client_msg6) X(mcp_oauth_client_msg1) X(mcp_oauth_client_msg) \
	X(mcp_oauth_browser_msg1) X(mcp_oauth_browser_msg2) X(mcp_oauth_code_grant_msg) X(mcp_oauth_idjag_msg) \
	X(mcp_oauth_msg) X(mcp_http_msg) X(mcp_call_msg3) X(mcp_call_msg4) X(mcp_call_msg1) X(mcp_call_msg2) \
	X(mcp_list_tools_msg) X(mcp_start_msg4) X(mcp_start_msg5) X(mcp_start_msg2) X(mcp_start_msg3) X(mcp_start_msg1) \
	X(mcp_start_msg) X(mcp_tool_run_msg1) X(mcp_tool_run_msg) X(mcp_res_defs) X(mcp_resource_read_msg2) \
	X(mcp_resource_read_msg1) X(mcp_resource_read_msg) X(mcp_report_msg) X(perm_add_msg) X(perm_hooks_msg) \
	X(perm_load_extra_msg) X(perm_load_settings_msg) X(perm_bash_part_msg) X(perm_bash_writes_msg) \
	 X(perm_check_msg8) X(perm_check_msg7) X(perm_check_msg1) X(perm_check_msg2) \
	X(perm_check_msg3) X(perm_check_msg4) X(perm_check_msg5) X(perm_check_msg6) X(sess_load_msg1) X(sess_load_msg2) \
	X(loop_reminder_msg) X(loop_agents_dir_msg) X(loop_skills_dir_msg) X(loop_skills_intro) X(loop_task_desc) \
	X(loop_task_schema) X(loop_task_msg1) X(loop_task_msg) X(loop_subagent_prompt) X(loop_web_split_msg1) \
	X(loop_web_split_msg2) X(loop_web_split_msg) X(loop_web_get_msg2) X(loop_web_get_msg1) X(loop_web_get_msg) \
	X(loop_webfetch_msg3) X(loop_webfetch_msg1) X(loop_webfetch_msg2) X(loop_hook_read_msg) X(loop_run_tools_msg5) \
	X(loop_run_tools_msg6) X(loop_run_tools_msg1) X(loop_run_tools_msg2) X(loop_run_tools_msg3) \
	X(loop_run_tools_msg4) X(loop_run_tools_msg) X(loop_todo_nudge) X(loop_mentions_msg) X(loop_todo_empty) \
	X(loop_ratelimit_check_msg) X(loop_call_msg1) X(loop_call_msg) X(loop_compact_message_msg1) \
	X(loop_compact_message_msg2) X(loop_compact_msg1) X(loop_compact_msg) X(loop_compact_ask) X(loop_run_msg6) \
	X(loop_run_msg4) X(loop_run_msg5) X(loop_run_msg3) X(loop_run_msg1) X(loop_run_msg2) X(loop_cut_off) \
	X(loop_cmd_expand_msg5) X(loop_cmd_expand_msg6) X(loop_cmd_expand_msg4) X(loop_cmd_expand_msg1) \
	X(loop_cmd_expand_msg2) X(loop_cmd_expand_msg3) X(repl_ask_msg1) X(repl_ask_msg) X(repl_context_msg) \
	X(repl_cost_msg) X(repl_permissions_msg) X(repl_pick_session_msg1) X(repl_pick_session_msg2) \
	X(repl_pick_session_msg3) X(repl_pick_session_msg) X(repl_ratelimits_msg) X(repl_status_msg) \
	X(repl_cmds_list_msg) X(repl_help) X(repl_command_msg3) X(repl_command_msg1) X(repl_command_msg2) \
	X(repl_command_msg) X(repl_init_ask) X(repl_images_msg) X(repl_run_msg5) X(repl_run_msg1) X(repl_run_msg2) \
	X(repl_run_msg3) X(repl_run_msg4) X(repl_run_msg) X(selftest_run_msg1) X(selftest_run_msg) X(cli_system_prompt) \
	X(cli_usage_text) X(cli_memory_msg1) X(cli_memory_msg) X(cli_memory_intro) X(cli_env_text) X(cli_tools_msg) \
	X(cli_trust_ask_msg1) X(cli_trust_ask_msg) X(cli_project_msg1) X(cli_project_msg) X(cli_bedrock_msg4) \
	X(cli_bedrock_msg1) X(cli_bedrock_msg2) X(cli_bedrock_msg3) X(cli_bedrock_msg) X(cli_vertex_msg4) \
	X(cli_vertex_msg3) X(cli_vertex_msg1) X(cli_vertex_msg2) X(cli_vertex_creds_msg7) X(cli_vertex_creds_msg8) \
	X(cli_vertex_creds_msg4) X(cli_vertex_creds_msg5) X(cli_vertex_creds_msg6) X(cli_vertex_creds_msg3) \
	X(cli_vertex_creds_msg1) X(cli_vertex_creds_msg2) X(cli_key_helper_msg)
#define CLI_GEN_TEXT(name) buf_add(&all, name, sizeof name);
#define CLI_GEN_AT(name) base_dprintf(1, "#define PROSE_AT_%s %zu\n", #name, at), at += sizeof name;

static void
cli_gen_bytes(const char *name, size_t k, const unsigned char *p, size_t n)
{
	size_t i;
	base_dprintf(1, "static const unsigned char ag_%s%zu[] = {", name, k);
	for (i = 0; i < n; i++)
		base_dprintf(1, "%s%u,", i % 16 ? "" : "\n\t", p[i]);
	base_dprintf(1, "\n};\n");
}

static int
cli_gen_roots(int argc, char **argv)
{
	struct tls_trust t = {0};
	size_t k;
	int i;
	for (i = 0; i < argc; i++)
		if (tls_trust_add_file(&t, argv[i]) != 1) {
			base_dprintf(2, "gen: %s: not one PEM certificate\n", argv[i]);
			return 1;
		}
	for (k = 0; k < t.n; k++) {
		const br_x509_pkey *pk = &t.ta[k].pkey;
		cli_gen_bytes("root_dn", k, t.ta[k].dn.data, t.ta[k].dn.len);
		if (pk->key_type == BR_KEYTYPE_RSA) {
			cli_gen_bytes("root_n", k, pk->key.rsa.n, pk->key.rsa.nlen);
			cli_gen_bytes("root_e", k, pk->key.rsa.e, pk->key.rsa.elen);
		} else {
			cli_gen_bytes("root_q", k, pk->key.ec.q, pk->key.ec.qlen);
		}
	}
	base_dprintf(1, "static const br_x509_trust_anchor ag_roots[] = {\n");
	for (k = 0; k < t.n; k++) {
		const br_x509_pkey *pk = &t.ta[k].pkey;
		base_dprintf(1, "\t{ { (unsigned char *)ag_root_dn%zu, %zu }, %u, { %d, { ", k, t.ta[k].dn.len,
		             t.ta[k].flags, pk->key_type);
		if (pk->key_type == BR_KEYTYPE_RSA)
			base_dprintf(1, ".rsa = { (unsigned char *)ag_root_n%zu, %zu, (unsigned char *)ag_root_e%zu, %zu }",
			             k, pk->key.rsa.nlen, k, pk->key.rsa.elen);
		else
			base_dprintf(1, ".ec = { %d, (unsigned char *)ag_root_q%zu, %zu }", pk->key.ec.curve, k,
			             pk->key.ec.qlen);
		base_dprintf(1, " } } },\n");
	}
	base_dprintf(1, "};\n");
	i = t.n ? 0 : 1;
	tls_trust_free(&t);
	return i;
}

/* The packed texts: gzip's member (RFC 1952: a 10-byte header with no name, the deflate stream, 8 bytes of
 * trailer) less its header and trailer. */
static int
cli_gen_prose(const char *gz)
{
	struct buf all = {0}, z = {0}, back = {0};
	size_t at = 0, n;
	int rc = 1;
	PROSE_LIST(CLI_GEN_TEXT)
	if (file_read_all(gz, &z, 1 << 20) < 0 || z.len < 18 || (unsigned char)z.p[0] != 0x1f ||
	    (unsigned char)z.p[1] != 0x8b || z.p[2] != 8 || z.p[3] != 0) {
		base_dprintf(2, "gen: %s is not the output of gzip -9n\n", gz);
		goto out;
	}
	n = z.len - 18;
	if (buf_reserve(&back, all.len + 1) < 0 ||
	    base_inflate((unsigned char *)z.p + 10, n, (unsigned char *)back.p, all.len) != (long)all.len ||
	    memcmp(back.p, all.p, all.len)) {
		base_dprintf(2, "gen: %s does not inflate back to the texts of PROSE_LIST\n", gz);
		goto out;
	}
	PROSE_LIST(CLI_GEN_AT)
	base_dprintf(1, "#define PROSE_SIZE %zu\n", at);
	cli_gen_bytes("prose_z", 0, (unsigned char *)z.p + 10, n);
	base_dprintf(1, "#define ag_prose_z ag_prose_z0\n");
	rc = 0;
out:
	buf_free(&all), buf_free(&z), buf_free(&back);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "prose")) {
		struct buf all = {0};
		PROSE_LIST(CLI_GEN_TEXT)
		return fd_write_all(1, all.p, all.len) < 0;
	}
	if (argc < 3 || strcmp(argv[1], "data")) {
		base_dprintf(2, "usage: gen prose > TEXTS; gen data TEXTS.gz CERT.pem... > data.h\n");
		return 2;
	}
	base_dprintf(1, "/* made by build/gen from agent.c's PROSE texts and the PEM files of certs/ */\n");
	return cli_gen_prose(argv[2]) || cli_gen_roots(argc - 3, argv + 3);
}
#define main cli_main
#endif
/* What main keeps for one run: the command line's choices and the state every mode works on. Static: the
 * API's buffers are big. */
struct cli_run {                       /* small and often used first: short offsets on RISC boards */
	int print, rc, in_stream, skip_perm, interactive, cont, max_retries_set, sandbox, status_only;
	int model_set, nmcp_cfg, mcp_list, max_tokens_set, nadd_dir;
	long long thinking;
	const char *sysprompt, *append, *subtype, *resume, *provider, *mcp_cfg[8], *add_dir[AG_BOUND_DIRS];
	struct ag_err e;
	struct buf prompt, system, tools, memory, key_helper, helper_key;
	struct buf aws_cmds[2];            /* settings.json awsAuthRefresh, awsCredentialExport */
	struct api_cfg cfg;
	struct ui ui;
	struct loop L;
	char user_id[80];
	struct sess sess;
	struct term term;
	struct hooks hooks;                /* the settings' hooks, through L.hooks */
	struct tool_bgs bgs;               /* background Bash commands, through L.tools.bg */
	struct loop_cmds cmds;             /* custom slash commands, through L.cmds */
	struct bound bound;                /* the trust boundary, reached through L.tools and L.perm */
	struct api_aws aws;                /* Bedrock's region and credentials, reached through cfg.bedrock */
	struct api_gcp gcp;                /* Vertex's, through cfg.vertex */
	struct tls_trust trust;
	struct loop_agents agents;         /* the subagent types, reached through L.agents */
	struct mcp mcp;                    /* the MCP servers, reached through L.tools.mcp */
	struct buf roots, task;            /* the servers' roots (folders, one a line); the Task tool's definition */
	struct api api;
};

/* Signals, and what the environment sets before any flag is read. */
static void
cli_init(struct cli_run *R)
{
	const char *v;
	struct sigaction sa;
	cli_hide_secrets();
	memset(&R->cfg, 0, sizeof R->cfg);
	memset(&R->trust, 0, sizeof R->trust);
	memset(&R->e, 0, sizeof R->e);
	R->L.cfg = &R->cfg;                                /* an early error's result object goes out through these */
	R->L.ui = &R->ui;
	R->L.t_start = clk_ms();
	R->api.http.net.fd = -1;
	R->sess.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cli_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	v = getenv("ANTHROPIC_MODEL");
	base_snprintf(R->cfg.model, sizeof R->cfg.model, "%s", v && *v ? v : CLI_DEFAULT_MODEL);
	R->L.max_retries = 10;                          /* as Claude Code */
	v = getenv("ANTHROPIC_MAX_RETRIES");
	if (v && *v) {
		unsigned long long mr;
		if (str_to_u64(v, strlen(v), 100, &mr))
			err_set(&R->e, AG_E_USAGE, "ANTHROPIC_MAX_RETRIES must be a whole number from 0 to 100, not '%.40s'", v);
		else
			R->L.max_retries = (int)mr;
	}
	R->cfg.max_tokens = CLI_DEFAULT_MAX_TOKENS;
	v = getenv("MAX_THINKING_TOKENS");
	if (v && *v) {
		unsigned long long t;
		if (str_to_u64(v, strlen(v), 10000000, &t))
			err_set(&R->e, AG_E_USAGE, "MAX_THINKING_TOKENS must be a whole number, not '%.40s'", v);
		R->thinking = (long long)t;
	}
}

/* The flags and the prompt (arguments, then piped stdin). 0: go on; 1: done (--help, --version, --self-test:
 * R->rc is the exit code); -1: a usage error in R->e. */
static int
cli_parse(struct cli_run *R, int argc, char **argv)
{
	int i;
	const char *v;
	for (i = 1; i < argc && !R->e.code; i++) {
		const char *a = argv[i];
		unsigned long long num;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli_usage(1);
			return 1;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
			base_dprintf(1, "agent %s (BearSSL, TLS 1.2)\n", AG_VERSION);
			return 1;
		} else if (strcmp(a, "--self-test") == 0) {
			R->rc = selftest_run();
			return 1;
		} else if (strcmp(a, "-p") == 0 || strcmp(a, "--print") == 0) {
			R->print = 1;
			if (i + 1 < argc && argv[i + 1][0] != '-') {
				if (R->prompt.len)
					buf_adds(&R->prompt, " ");
				buf_adds(&R->prompt, argv[++i]);
			}
		} else if (cli_is(a, "--model")) {
			if ((v = cli_value(argc, argv, &i, "--model", &R->e)) != NULL) {
				if (!*v || strlen(v) >= sizeof R->cfg.model)
					err_set(&R->e, AG_E_USAGE, "--model needs a model name");
				else
					base_snprintf(R->cfg.model, sizeof R->cfg.model, "%s", v);
				R->model_set = 1;
			}
		} else if (cli_is(a, "--max-tokens") || cli_is(a, "--max-turns") || cli_is(a, "--thinking")) {
			const char *name = cli_is(a, "--max-tokens") ? "--max-tokens" : cli_is(a, "--thinking") ? "--thinking" :
			                   "--max-turns";
			if ((v = cli_value(argc, argv, &i, name, &R->e)) != NULL) {
				if (str_to_u64(v, strlen(v), 10000000, &num) || num == 0)
					err_set(&R->e, AG_E_USAGE, "%s needs a positive whole number, not '%.40s'", name, v);
				else if (name[2] == 't')
					R->thinking = (long long)num;
				else if (strcmp(name, "--max-tokens") == 0)
					R->cfg.max_tokens = (long long)num, R->max_tokens_set = 1;
				else
					R->L.max_turns = (long long)num;
			}
		} else if (cli_is(a, "--output-format") || cli_is(a, "--input-format")) {
			int out = a[2] == 'o';
			if ((v = cli_value(argc, argv, &i, out ? "--output-format" : "--input-format", &R->e)) != NULL) {
				if (strcmp(v, "stream-json") == 0)
					*(out ? &R->L.out_format : &R->in_stream) = out ? OUT_STREAM_JSON : 1;
				else if (out && strcmp(v, "json") == 0)
					R->L.out_format = OUT_JSON;
				else if (strcmp(v, "text") != 0)
					err_set(&R->e, AG_E_USAGE, "%s must be %s, not '%.40s'", out ? "--output-format" : "--input-format",
					        out ? "text, json or stream-json" : "text or stream-json", v);
			}
		} else if (cli_is(a, "--allowedTools") || cli_is(a, "--allowed-tools")) {
			if ((v = cli_value(argc, argv, &i, "--allowedTools", &R->e)) != NULL)
				perm_add(&R->L.perm, RULE_ALLOW, v, "--allowedTools", &R->e);
		} else if (cli_is(a, "--disallowedTools") || cli_is(a, "--disallowed-tools")) {
			if ((v = cli_value(argc, argv, &i, "--disallowedTools", &R->e)) != NULL)
				perm_add(&R->L.perm, RULE_DENY, v, "--disallowedTools", &R->e);
		} else if (cli_is(a, "--permission-mode")) {
			if ((v = cli_value(argc, argv, &i, "--permission-mode", &R->e)) != NULL) {
				if (strcmp(v, "default") == 0) R->L.perm.mode = PERM_DEFAULT;
				else if (strcmp(v, "acceptEdits") == 0) R->L.perm.mode = PERM_ACCEPT_EDITS;
				else if (strcmp(v, "plan") == 0) R->L.perm.mode = PERM_PLAN;
				else if (strcmp(v, "bypassPermissions") == 0) R->L.perm.mode = PERM_BYPASS;
				else
					err_set(&R->e, AG_E_USAGE, "--permission-mode must be default, acceptEdits, plan or "
					        "bypassPermissions, not '%.40s'", v);
			}
		} else if (strcmp(a, "--dangerously-skip-permissions") == 0) {
			R->skip_perm = 1;
		} else if (cli_is(a, "--system-prompt")) {
			R->sysprompt = cli_value(argc, argv, &i, "--system-prompt", &R->e);
		} else if (cli_is(a, "--append-system-prompt")) {
			R->append = cli_value(argc, argv, &i, "--append-system-prompt", &R->e);
		} else if (cli_is(a, "--max-retries")) {
			if ((v = cli_value(argc, argv, &i, "--max-retries", &R->e)) != NULL) {
				if (str_to_u64(v, strlen(v), 100, &num))
					err_set(&R->e, AG_E_USAGE, "--max-retries needs a whole number from 0 to 100, not '%.40s'", v);
				else
					R->L.max_retries = (int)num;
				R->max_retries_set = 1;
			}
		} else if (cli_is(a, "--add-dir")) {
			if ((v = cli_value(argc, argv, &i, "--add-dir", &R->e)) != NULL) {
				if (R->nadd_dir == AG_BOUND_DIRS - 1)
					err_set(&R->e, AG_E_USAGE, "--add-dir: at most %d directories", AG_BOUND_DIRS - 1);
				else
					R->add_dir[R->nadd_dir++] = v;
			}
		} else if (cli_is(a, "--mcp-config")) {
			if ((v = cli_value(argc, argv, &i, "--mcp-config", &R->e)) != NULL && R->nmcp_cfg < 8)
				R->mcp_cfg[R->nmcp_cfg++] = v;
		} else if (strcmp(a, "--mcp-list") == 0) {
			R->mcp_list = 1;
			R->print = 1;
		} else if (cli_is(a, "--provider")) {
			if ((v = cli_value(argc, argv, &i, "--provider", &R->e)) != NULL)
				R->provider = v;
		} else if (strcmp(a, "--sandbox") == 0) {
			R->sandbox = 1;
		} else if (strcmp(a, "--status") == 0) {
			R->status_only = 1;
			R->print = 1;
		} else if (strcmp(a, "--verbose") == 0) {
			R->L.verbose = 1;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--continue") == 0) {
			R->cont = 1;
		} else if (strcmp(a, "-r") == 0 || strcmp(a, "--resume") == 0) {
			size_t id = i + 1 < argc ? strspn(argv[i + 1], "0123456789abcdef-") : 0;
			R->resume = "";
			if (id && argv[i + 1][0] != '-' && id < 64 && (!argv[i + 1][id] || !strcmp(argv[i + 1] + id, ".jsonl"))) {
				argv[i + 1][id] = 0;             /* the id as the picker and the file name show it */
				R->resume = argv[++i];
			}
		} else if (a[0] == '-' && a[1]) {
			err_set(&R->e, AG_E_USAGE, "unknown option '%.60s'; see agent --help", a);
		} else {
			if (R->prompt.len)
				buf_adds(&R->prompt, " ");
			buf_adds(&R->prompt, a);
		}
	}
	if (!R->e.code && R->thinking && (R->thinking < 1024 || R->thinking >= R->cfg.max_tokens))
		err_set(&R->e, AG_E_USAGE, "the thinking budget must be at least 1024 tokens and below --max-tokens (%lld)",
		        R->cfg.max_tokens);
	(void)R->max_retries_set;
	if (R->e.code)
		return -1;
	if (R->skip_perm)
		R->L.perm.mode = PERM_BYPASS;
	if (!R->in_stream && !isatty(0)) {            /* piped input is part of the prompt */
		struct buf in = {0};
		if (file_read_all("/dev/stdin", &in, 16u << 20) == AG_E_TOOBIG) {
			err_set(&R->e, AG_E_USAGE, "the input on stdin is over 16 MB; pass a smaller prompt");
			return -1;
		}
		if (in.len) {
			if (R->prompt.len)
				buf_adds(&R->prompt, "\n\n");
			buf_add(&R->prompt, in.p, in.len);
		}
		buf_free(&in);
		R->print = 1;
	}
	if (R->in_stream)
		R->print = 1;
	R->interactive = !R->print && isatty(0) && isatty(1);
	if (!R->print && !R->interactive) {
		err_set(&R->e, AG_E_USAGE, "not a terminal: use agent -p \"your question\" (print mode), or run agent in a "
		        "terminal for an interactive session");
		return -1;
	}
	if ((R->status_only || R->mcp_list) && !R->prompt.len)
		buf_adds(&R->prompt, "hi");
	if (strspn(R->prompt.p ? R->prompt.p : "", " \t\r\n") == R->prompt.len)
		R->prompt.len = 0;                          /* only blanks: no prompt, as an empty stdin */
	if (!R->prompt.len && !R->in_stream && !R->interactive) {
		err_set(&R->e, AG_E_USAGE, "no prompt: give one after -p, or pipe it on stdin");
		return -1;
	}
	return 0;
}

/* The provider (Anthropic, Bedrock, Vertex, an OpenAI-compatible server), its URL and key, the timeout,
 * the working directory. 0, or -1 with R->e set. */
static int
cli_provider(struct cli_run *R)
{
	const char *v;
	const char *base;
	if (!R->provider && (v = getenv("AGENT_PROVIDER")) != NULL && *v)
		R->provider = v;
	if (!R->provider && (v = getenv("CLAUDE_CODE_USE_BEDROCK")) != NULL && *v && strcmp(v, "0"))
		R->provider = "bedrock";
	if (!R->provider && (v = getenv("CLAUDE_CODE_USE_VERTEX")) != NULL && *v && strcmp(v, "0"))
		R->provider = "vertex";
	if (R->provider && strcmp(R->provider, "bedrock") == 0) {
		if (cli_bedrock(&R->cfg, &R->aws, R->model_set, &R->e))
			return -1;
	} else if (R->provider && strcmp(R->provider, "vertex") == 0) {
		if (cli_vertex(&R->cfg, &R->gcp, R->model_set, &R->e))
			return -1;
		R->gcp.trust = &R->trust;
	} else if (R->provider && strcmp(R->provider, "openai") == 0) {
		R->cfg.openai = 1;
		if (!R->max_tokens_set)
			R->cfg.max_tokens = CLI_DEFAULT_OPENAI_MAX_TOKENS;   /* within what gpt-4o-mini and local models allow */
	} else if (R->provider && strcmp(R->provider, "anthropic") != 0) {
		err_set(&R->e, AG_E_USAGE, "the provider must be anthropic, bedrock, vertex or openai, not '%.40s'", R->provider);
		return -1;
	}
	R->cfg.verbose = R->L.verbose;
	if (R->cfg.bedrock || R->cfg.vertex) {
		/* region, endpoint and model set by cli_bedrock / cli_vertex; the credentials once the settings are read */
	} else if (R->cfg.openai) {
		/* a local server (llama.cpp, Ollama, vLLM) needs no key; OpenAI's is sent as a bearer token */
		R->cfg.bearer = getenv("OPENAI_API_KEY");
		if (R->cfg.bearer && !*R->cfg.bearer)
			R->cfg.bearer = NULL;
		if (!R->model_set) {
			v = getenv("OPENAI_MODEL");
			base_snprintf(R->cfg.model, sizeof R->cfg.model, "%s", v && *v ? v : CLI_DEFAULT_OPENAI_MODEL);
		}
		base = getenv("OPENAI_BASE_URL");
		if (url_parse(base && *base ? base : "https://api.openai.com/v1", &R->cfg.url, &R->e)) {
			cli_err_prefix(&R->e, "OPENAI_BASE_URL");
			return -1;
		}
	} else {
		R->cfg.api_key = getenv("ANTHROPIC_API_KEY");
		if (R->cfg.api_key && !*R->cfg.api_key)
			R->cfg.api_key = NULL;
		R->cfg.bearer = getenv("ANTHROPIC_AUTH_TOKEN");
		if (R->cfg.bearer && !*R->cfg.bearer)
			R->cfg.bearer = NULL;
		base = getenv("ANTHROPIC_BASE_URL");
		if (url_parse(base && *base ? base : "https://api.anthropic.com", &R->cfg.url, &R->e)) {
			cli_err_prefix(&R->e, "ANTHROPIC_BASE_URL");
			return -1;
		}
	}
	R->cfg.timeout_ms = 600000;
	v = getenv("API_TIMEOUT_MS");
	if (v && *v) {
		unsigned long long n;
		if (str_to_u64(v, strlen(v), 24ULL * 3600 * 1000, &n) || n == 0) {
			err_set(&R->e, AG_E_USAGE, "API_TIMEOUT_MS must be a positive number of milliseconds, not '%.40s'", v);
			return -1;
		}
		R->cfg.timeout_ms = (int)n;
	}
	if (!getcwd(R->L.tools.cwd, sizeof R->L.tools.cwd)) {
		err_set(&R->e, AG_E_IO, "cannot read the working directory: %s", base_strerror(errno));
		return -1;
	}
	return 0;
}

/* The trust boundary, the settings and project files (rules, hooks, MCP servers), custom commands. */
static int
cli_setup(struct cli_run *R)
{
	int i;
	/* the trust boundary: the starting directory and the added ones */
	if (bound_add(&R->bound, "/", R->L.tools.cwd, &R->e) < 0)
		return -1;
	for (i = 0; i < R->nadd_dir; i++)
		if (bound_add(&R->bound, R->L.tools.cwd, R->add_dir[i], &R->e) < 0)
			return -1;
	R->L.tools.bound = R->L.perm.bound = &R->bound;
	R->L.tools.perm = &R->L.perm;
	R->L.tools.bg = &R->bgs;
	R->L.hooks = &R->hooks;
	for (i = 0; i < R->bound.n; i++)       /* what MCP servers get for roots/list */
		buf_printf(&R->roots, "%s\n", R->bound.dir[i]);
	R->mcp.roots = R->roots.p;
	if (R->interactive) {
		R->mcp.ask = repl_mcp_ask;
		R->mcp.ask_ctx = &R->L;
	}
	if (cli_project(&R->L, &R->mcp, &R->trust, R->mcp_cfg, R->nmcp_cfg, &R->bound, &R->key_helper, R->aws_cmds, &R->sandbox, R->interactive, R->mcp_list, &R->e))
		return -1;
	if (R->skip_perm)
		R->L.perm.mode = PERM_BYPASS;
	R->L.trusted = cli_trusted(R->L.tools.cwd);
	R->L.cmd_rules = (size_t)-1;
	loop_cmds_load(&R->cmds, R->L.tools.cwd);
	R->L.cmds = &R->cmds;
	return 0;
}

/* --mcp-list: the MCP servers, their state and tools; no API key needed. */
static void
cli_mcp_list(struct cli_run *R)
{
	struct buf b = {0};
	mcp_report(&R->mcp, &b);
	base_dprintf(1, "%s", b.p);
	buf_free(&b);
}

/* Credentials (Bedrock, Vertex, apiKeyHelper), the sandbox, the context window. 0, or -1 (R->e). */
static int
cli_creds(struct cli_run *R)
{
	const char *v;
	R->L.perm.interactive = R->interactive;
	if (R->cfg.bedrock) {
		R->aws.refresh_cmd = R->aws_cmds[0].len ? R->aws_cmds[0].p : NULL;
		if (cli_bedrock_creds(&R->aws, R->aws_cmds[1].len ? R->aws_cmds[1].p : NULL, &R->e))
			return -1;
	} else if (R->cfg.vertex) {
		if (cli_vertex_creds(&R->gcp, &R->e))
			return -1;
	} else if (!R->cfg.openai && !R->cfg.api_key && !R->cfg.bearer && R->key_helper.len) {
		if (cli_key_helper(R->key_helper.p, &R->helper_key, &R->e))
			return -1;
		R->cfg.api_key = R->helper_key.p;
	}
	if (!R->cfg.openai && !R->cfg.bedrock && !R->cfg.vertex && !R->cfg.api_key && !R->cfg.bearer) {
		err_set(&R->e, AG_E_USAGE, "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway, or "
		        "apiKeyHelper in ~/.claude/settings.json)");
		return -1;
	}
	if (R->sandbox) {
		int abi = tool_landlock_abi();
		if (abi < 1) {
			err_set(&R->e, AG_E_USAGE, "--sandbox: this kernel has no Landlock (Linux 5.13 or later, with landlock "
			        "among the LSMs), so there is no sandbox to run commands in; refusing rather than pretend");
			return -1;
		}
		R->L.tools.sandbox = 1;
		if (R->L.verbose)
			base_dprintf(2, "agent: Bash runs under Landlock ABI %d: writes only below %s, /tmp and /dev/null%s\n",
			        abi, R->L.tools.cwd, abi >= 4 ? "; no TCP" : "");
	}
	v = getenv("AGENT_CONTEXT_WINDOW");
	R->L.ctx_window = 200000;                       /* every current Claude model; AGENT_CONTEXT_WINDOW overrides */
	if (v && *v) {
		unsigned long long w;
		if (str_to_u64(v, strlen(v), 100000000, &w) || w < 1000) {
			err_set(&R->e, AG_E_USAGE, "AGENT_CONTEXT_WINDOW must be a number of tokens (at least 1000), not '%.40s'", v);
			return -1;
		}
		R->L.ctx_window = (long long)w;
	}
	return 0;
}

/* -c and -r: the session to go on with. 0, or -1 (R->e). */
static int
cli_session(struct cli_run *R)
{
	/* the session: resumed (-c, -r) or new */
	R->L.sess = &R->sess;
	if (R->cont || R->resume) {
		struct sess_entry *list = NULL;
		int n = sess_list(R->L.tools.cwd, &list), k, found = -1;
		char model[128] = "";
		int matches = 0;
		for (k = 0; k < n; k++) {                /* -c: the newest; -r ID: the one session ID starts */
			const char *fname = strrchr(list[k].path, '/');
			if ((R->cont && k == 0) || (R->resume && *R->resume && fname && str_starts(fname + 1, R->resume))) {
				if (found < 0)
					found = k;
				matches++;
			}
		}
		if (matches > 1) {
			err_set(&R->e, AG_E_USAGE, "%d sessions here start with %s; give more of the id (agent -r lists them)",
			        matches, R->resume);
			free(list);
			return -1;
		}
		if (R->resume && !*R->resume && R->interactive && n > 0) {
			found = -2;                          /* chosen from a list once the session is up */
		} else if (found < 0) {
			if (n <= 0)
				err_set(&R->e, AG_E_USAGE, "no saved session for %s to %s", R->L.tools.cwd, R->cont ? "continue" : "resume");
			else if (R->resume && !*R->resume)
				err_set(&R->e, AG_E_USAGE, "which session? give its id: agent -r ID (%d saved here; the newest is %.*s)",
				        n, (int)strlen(strrchr(list[0].path, '/') + 1) - 6, strrchr(list[0].path, '/') + 1);
			else
				err_set(&R->e, AG_E_USAGE, "no session %s here (%s): %d saved here, the newest is %.*s; run agent -r in a "
				        "terminal to pick one", R->resume, R->L.tools.cwd, n, (int)strlen(strrchr(list[0].path, '/') + 1) - 6,
				        strrchr(list[0].path, '/') + 1);
			free(list);
			return -1;
		} else if (sess_load(list[found].path, &R->L.conv, model, sizeof model, &R->e)) {
			free(list);
			return -1;
		} else {
			size_t m;
			for (m = 0; m < R->L.conv.n; m++)
				R->L.conv.m[m].saved = R->L.conv.m[m].n;
			R->L.first_user_done = R->L.conv.n > 0;
			sess_reopen(&R->sess, list[found].path);
			base_snprintf(R->L.session_id, sizeof R->L.session_id, "%s", R->sess.id);
		}
		if (found == -2)
			R->resume = "pick";
		else
			R->resume = NULL;
		free(list);
	}
	return 0;
}

/* What every request carries (system prompt, tools, memory), the output, the terminal, a new session's
 * file, and the SessionStart hooks. */
/* The servers' tools changed: the tools array every request carries, made again. */
static void
cli_retool(struct loop *L)
{
	struct cli_run *R = (struct cli_run *)(void *)((char *)L - offsetof(struct cli_run, L));
	buf_free(&R->tools);
	cli_tools(&R->tools, &L->perm, L->tools.mcp, &R->task, 1, NULL, 0);
	R->cfg.tools_json = R->tools.p;
}

static int
cli_request(struct cli_run *R)
{
	const char *v;
	/* what every request carries, built once */
	{
		struct buf skills = {0};
		R->L.agents = &R->agents;
		loop_agents_load(&R->agents, R->L.tools.cwd, &skills);
		if (skills.len && R->append)
			buf_printf(&skills, "\n%s", R->append);
		loop_task_def(&R->agents, &R->task);
		cli_system(&R->system, R->sysprompt ? R->sysprompt : prose(cli_system_prompt), skills.len ? skills.p : R->append, R->L.tools.cwd,
		           R->cfg.model);
		cli_tools(&R->tools, &R->L.perm, R->L.tools.mcp, &R->task, 1, NULL, 0);
		buf_free(&skills);
	}
	cli_user_id(R->user_id, sizeof R->user_id);
	cli_memory(R->L.tools.cwd, &R->memory);
	R->cfg.system_json = R->system.p;
	R->cfg.tools_json = R->tools.p;
	R->L.retool = cli_retool;
	R->cfg.user_id = R->user_id;
	R->cfg.thinking = R->thinking;

	R->ui.tty = isatty(1);
	R->ui.err_tty = isatty(2);
	v = getenv("NO_COLOR");
	R->ui.color = R->ui.err_tty && !(v && *v);
	R->ui.quiet = R->L.out_format != OUT_TEXT && !R->L.verbose;
	R->ui.verbose = R->L.verbose;
	R->ui.sink.ctx = &R->ui;
	R->ui.sink.text = ui_text;
	R->ui.sink.thinking = ui_thinking;
	R->ui.sink.block_start = ui_block_start;
	R->api.cfg = &R->cfg;
	R->api.e = &R->e;
	R->api.http.url = R->cfg.url;
	if (net_proxy_for(&R->cfg.url, &R->api.http.proxy, &R->e))
		return -1;
	R->api.http.trust = &R->trust;
	R->api.http.net.fd = -1;
	R->L.api = &R->api;
	R->L.cfg = &R->cfg;
	R->L.ui = &R->ui;
	R->L.memory = R->memory.len ? R->memory.p : NULL;
	R->L.t_start = clk_ms();
	if (R->sess.fd < 0) {
		char h[33];
		str_random_hex(h, 16);
		base_snprintf(R->L.session_id, sizeof R->L.session_id, "%.8s-%.4s-4%.3s-a%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
		if (sess_create(&R->sess, R->L.tools.cwd, R->L.session_id, R->cfg.model) && R->L.verbose)
			base_dprintf(2, "agent: cannot save this session under the state directory: %s\n", base_strerror(errno));
	}
	if (R->interactive) {
		struct sigaction sf;
		const char *tv = getenv("TERM");
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT };
		size_t f;
		memset(&sf, 0, sizeof sf);
		sf.sa_handler = term_on_fatal;
		for (f = 0; f < sizeof fatal / sizeof fatal[0]; f++)
			sigaction(fatal[f], &sf, NULL);
		sf.sa_handler = term_on_winch;
		sigaction(SIGWINCH, &sf, NULL);
		R->term.dumb = !tv || !*tv || strcmp(tv, "dumb") == 0 || !term_answers();
		term_restore();
		term_hist_load(&R->term);
		R->L.term = &R->term;
		R->L.ask = repl_ask;
		R->ui.md = R->ui.color && !R->term.dumb;
		R->api.http.net.tick = ui_spin_tick;
		R->api.http.net.tick_ctx = &R->ui;
	}
	if (R->L.out_format == OUT_STREAM_JSON) {
		struct buf b = {0};
		struct jw w;
		jw_init(&w, jw_sink_buf, &b);
		jw_open(&w, '{');
		jw_key(&w, "type"); jw_str(&w, "system");
		jw_key(&w, "subtype"); jw_str(&w, "init");
		jw_key(&w, "cwd"); jw_str(&w, R->L.tools.cwd);
		jw_key(&w, "session_id"); jw_str(&w, R->L.session_id);
		jw_key(&w, "tools");
		jw_open(&w, '[');
		{
			jsmntok_t *tt = NULL;
			struct json tj;
			int k, c;
			if (json_parse_alloc(&tj, R->tools.p ? R->tools.p : "[]", R->tools.len ? R->tools.len : 2, &tt) > 0)
				for (c = 0, k = 1; c < tj.t[0].size; c++, k = json_skip(&tj, k))
					json_copy(&w, &tj, json_get(&tj, k, "name"));
			free(tt);
		}
		jw_close(&w, ']');
		jw_key(&w, "model"); jw_str(&w, R->cfg.model);
		jw_key(&w, "permissionMode");
		jw_str(&w, R->L.perm.mode == PERM_BYPASS ? "bypassPermissions" : R->L.perm.mode == PERM_PLAN ? "plan" :
		           R->L.perm.mode == PERM_ACCEPT_EDITS ? "acceptEdits" : "default");
		jw_close(&w, '}');
		loop_emit(&R->L, &b);
		buf_free(&b);
	}

	if (!R->status_only) {                          /* SessionStart: what its hooks print is context for the model */
		struct hook_out ho;
		struct loop_hook_kv kv = { "source", R->resume ? "resume" : "startup", NULL, NULL, -1 };
		memset(&ho, 0, sizeof ho);
		loop_hook_event(&R->L, HOOK_SESSION_START, &kv, &ho);
		buf_add(&R->L.hook_context, ho.context.p, ho.context.len);
		loop_hook_free(&ho);
	}
	return 0;
}

/* --status: one minimal request; is the key good, the server reachable, how much room is left? */
static void
cli_status(struct cli_run *R)
{
	/* one minimal request: is the key good, the server reachable, and how much room is left? */
	struct api_cfg c2 = R->cfg;
	struct conv one = {0};
	struct msg *m = conv_add(&one, ROLE_USER);
	struct buf out = {0};
	c2.system_json = c2.tools_json = NULL;
	c2.max_tokens = 1;
	c2.thinking = 0;
	R->api.cfg = &c2;
	if (m)
		conv_text_block(m, "hi", 2);
	R->rc = m ? api_call(&R->api, &one, &R->L.msg, NULL, NULL, NULL) : AG_E_NOMEM;
	conv_free(&one);
	R->api.cfg = &R->cfg;
	if (!R->rc) {
		buf_printf(&out, "ok: %s://%s:%s answered for model %s\n", R->cfg.url.tls ? "https" : "http", R->cfg.url.host,
		           R->cfg.url.port, R->cfg.model);
		if (R->cfg.bedrock)
			buf_printf(&out, "Bedrock: region %s, credentials from %s\n", R->aws.region, R->aws.source);
		if (R->cfg.vertex)
			buf_printf(&out, "Vertex AI: project %s, region %s, credentials from %s\n", R->gcp.project, R->gcp.region,
			           R->gcp.source);
		repl_ratelimits(&R->api, &out);
		fd_write_all(1, out.p, out.len);
	}
	buf_free(&out);
}

/* The interactive session, after the first request given on the command line. */
static void
cli_repl(struct cli_run *R)
{
	if (R->resume)
		repl_pick_session(&R->L);
	if (R->prompt.len) {                  /* agent "first request": sent before the first prompt */
		struct ag_err e2 = {0};
		R->api.e = &e2;
		loop_user_message(&R->L, R->prompt.p, R->prompt.len, NULL, 0);
		term_hist_add(&R->term, R->prompt.p, 1);
		if (loop_run(&R->L, &R->subtype) && e2.msg[0])
			base_dprintf(2, "agent: %s\n", e2.msg);
		ui_md_end(&R->ui);
		if (R->ui.last && R->ui.last != '\n')
			ui_put(&R->ui, "\n", 1);
		ui_flush(&R->ui);
		R->api.e = &R->e;
	}
	repl_run(&R->L);
	term_restore();
}

/* --input-format stream-json: one user message per JSON line on stdin, each run to the end of its turn. */
static void
cli_stream(struct cli_run *R)
{
	/* one user message per JSON line on stdin, each run to the end of its turn */
	struct buf in = {0}, line = {0};
	size_t p = 0;
	file_read_all("/dev/stdin", &in, 64u << 20);
	while (p < in.len && !R->rc) {
		char *nl = memchr(in.p + p, '\n', in.len - p);
		size_t n = nl ? (size_t)(nl - (in.p + p)) : in.len - p;
		jsmntok_t *tok = NULL;
		struct json j;
		int c;
		line.len = 0;
		buf_add(&line, in.p + p, n);
		p += n + 1;
		if (strspn(line.p, " \t\r") == line.len)
			continue;
		if (json_parse_alloc(&j, line.p, line.len, &tok) <= 0 ||
		    !json_eq(&j, json_get(&j, 0, "type"), "user") || (c = json_path(&j, 0, "message.content")) < 0) {
			free(tok);
			err_set(&R->e, AG_E_USAGE, "stdin line is not a stream-json user message "
			        "({\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":...}})");
			R->rc = AG_E_USAGE;
			break;
		}
		if (j.t[c].type == JSMN_STRING) {
			struct buf t = {0};
			json_str_buf(&j, c, &t);
			loop_user_message(&R->L, t.p ? t.p : "", t.len, NULL, 0);
			buf_free(&t);
		} else if (j.t[c].type == JSMN_ARRAY) {
			loop_user_message(&R->L, NULL, 0, &j, c);
		}
		free(tok);
		R->rc = loop_run(&R->L, &R->subtype);
	}
	buf_free(&in);
	buf_free(&line);
}

/* Print mode: the prompt (a custom command's when it names one), the loop, the answer on stdout. */
static void
cli_print(struct cli_run *R)
{
	struct buf cp = {0};                 /* -p "/NAME args": a custom command's prompt */
	int c = R->prompt.p[0] == '/' ? loop_cmd_expand(&R->L, R->prompt.p, &cp, &R->e) : 0;
	if (c < 0) {
		R->rc = AG_E_USAGE;
	} else {
		loop_user_message(&R->L, c ? cp.p : R->prompt.p, c ? cp.len : R->prompt.len, NULL, 0);
		R->rc = loop_run(&R->L, &R->subtype);
	}
	loop_cmd_done(&R->L);
	buf_free(&cp);
}

/* After a mode: the last newline, SessionEnd, the result object, the exit code. */
static void
cli_finish(struct cli_run *R)
{
	if (R->ui.last && R->ui.last != '\n' && R->L.out_format == OUT_TEXT)
		ui_put(&R->ui, "\n", 1);
	ui_flush(&R->ui);
	if (!R->status_only) {
		struct hook_out ho;
		struct loop_hook_kv kv = { "reason", R->interactive ? "prompt_input_exit" : "other", NULL, NULL, -1 };
		memset(&ho, 0, sizeof ho);
		loop_hook_event(&R->L, HOOK_SESSION_END, &kv, &ho);
		loop_hook_free(&ho);
	}
	if (R->L.out_format != OUT_TEXT && !R->interactive && !R->status_only)
		loop_emit_result(&R->L, R->rc ? R->subtype : "success", R->rc != 0, R->rc ? R->e.msg : NULL);
	if (R->rc) {
		base_dprintf(2, "agent: %s\n", R->e.msg[0] ? R->e.msg : "failed");
		R->rc = R->rc == AG_E_USAGE ? 2 : 1;
	}
}

/* A usage or set-up error: the message, the exit code, and the result object for scripts. */
static void
cli_usage_error(struct cli_run *R)
{
	base_dprintf(2, "agent: %s\n", R->e.msg);
	R->rc = R->e.code == AG_E_USAGE ? 2 : 1;
	if (R->L.out_format != OUT_TEXT)      /* scripts that parse stdout get the error as a result too */
		loop_emit_result(&R->L, "error_during_execution", 1, R->e.msg);
}

/* Everything the run holds goes, secrets wiped. */
static void
cli_free(struct cli_run *R)
{
	int i;
	tool_bg_end(&R->bgs);
	loop_cmds_free(&R->cmds);
	mcp_stop(&R->mcp);
	bound_free(&R->bound);
	loop_agents_free(&R->agents);
	buf_free(&R->roots);
	buf_free(&R->task);
	buf_wipe(&R->helper_key);
	buf_wipe(&R->gcp.token);
	buf_free(&R->key_helper);
	buf_free(&R->aws_cmds[0]);
	buf_free(&R->aws_cmds[1]);
	explicit_bzero(&R->aws, sizeof R->aws);
	sess_close(&R->sess);
	term_free(&R->term);
	buf_free(&R->L.pending);
	buf_free(&R->L.hook_context);
	buf_free(&R->L.prompt_block);
	perm_hooks_free(&R->hooks);
	http_close(&R->api.http);
	api_msg_free(&R->L.msg);
	conv_free(&R->L.conv);
	tool_todos_free(R->L.tools.todos, R->L.tools.ntodos);
	for (i = 0; i < (int)R->L.tools.nseen; i++)
		free(R->L.tools.seen[i].path);
	free(R->L.tools.seen);
	perm_free(&R->L.perm);
	buf_free(&R->L.last_text);
	tls_trust_free(&R->trust);
	buf_free(&R->prompt);
	buf_free(&R->system);
	buf_free(&R->tools);
	buf_free(&R->memory);
}

#ifdef AGENT_TEST
#define main agent_main
#endif
/* The program's outline: flags, then set-up in steps, then one mode. */
int
main(int argc, char **argv)
{
	static struct cli_run R;                 /* in .bss: zeroed, and no room in the file */
	int r;
	R.sysprompt = prose(cli_system_prompt);
	R.subtype = "success";
	cli_init(&R);
	if ((r = cli_parse(&R, argc, argv)) > 0)
		return R.rc;
	if (!r && !(r = cli_provider(&R)) && !(r = cli_setup(&R)) && R.mcp_list)
		cli_mcp_list(&R);
	else if (!r && !(r = cli_creds(&R)) && !(r = cli_session(&R)) && !(r = cli_request(&R))) {
		if (R.status_only)
			cli_status(&R);
		else if (R.interactive)
			cli_repl(&R);
		else if (R.in_stream)
			cli_stream(&R);
		else
			cli_print(&R);
		cli_finish(&R);
	}
	if (r < 0)
		cli_usage_error(&R);
	cli_free(&R);
	return R.rc;
}
