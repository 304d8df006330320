/* What agent.c does itself instead of musl: printf-style formatting (against glibc's snprintf), the heapsort
 * (against qsort), the built-in roots (against the PEM loader's reading of certs/), and the resolver's pieces
 * (query bytes, answer parsing on crafted and random packets, resolv.conf and hosts lines). */
#include "t_util.h"
#include <locale.h>
#include <wchar.h>

static char want[512], got[512];

#define FMT(...) do { \
	int wn = snprintf(want, sizeof want, __VA_ARGS__), gn = base_snprintf(got, sizeof got, __VA_ARGS__); \
	T_CHECK(wn == gn && strcmp(want, got) == 0, "format %-14s -> \"%s\" (got \"%s\", %d vs %d)", #__VA_ARGS__, \
	        want, got, gn, wn); \
} while (0)

#define FMTQ(...) do { \
	int wn = snprintf(want, sizeof want, __VA_ARGS__), gn = base_snprintf(got, sizeof got, __VA_ARGS__); \
	if (wn != gn || strcmp(want, got) != 0) { \
		bad++; \
		if (bad < 5) printf("# mismatch %s: want \"%s\" got \"%s\"\n", #__VA_ARGS__, want, got); \
	} \
} while (0)

static void
t_format(void)
{
	int i, bad = 0;
	char small[8];
	FMT("plain text, no conversions");
	FMT("%s|%s", "abc", "");
	FMT("%.3s|%.0s|%.10s", "abcdef", "xyz", "ab");
	FMT("%5s|%-5s|%-2s|", "ab", "ab", "abcdef");
	FMT("%.*s|%.*s", 3, "abcdef", -1, "whole");
	FMT("%*s|%-*s|%*s|", 6, "r", 6, "l", -6, "neg");
	FMT("%d %d %d %d", 0, -1, INT_MAX, INT_MIN);
	FMT("%i %u %u", -42, 0u, UINT_MAX);
	FMT("%ld %ld %lu", LONG_MAX, LONG_MIN, ULONG_MAX);
	FMT("%lld %lld %llu", LLONG_MAX, LLONG_MIN, ULLONG_MAX);
	FMT("%zu %zu", (size_t)0, SIZE_MAX);
	FMT("%x %x %lx %llx", 0u, 0xdeadbeefu, 0xabcdefUL, 0x123456789abcdefULL);
	FMT("%02x %02x %04x %04x", 5u, 0xabu, 0x1fu, 0x12345u);
	FMT("%04lld|%04lld|%6lld|%-6lld|%3d|%3d", 7LL, -7LL, 123LL, -123LL, 5, 12345);
	FMT("%02u-%02u %04lld", 3u, 11u, 2026LL);
	FMT("%c%c%c", 'a', '%', ' ');
	FMT("100%% and %%s");
	FMT("[%s] [%5d] [%-5d] [%05d]", "x", 42, 42, 42);
	/* a random sweep of integers through the integer conversions */
	for (i = 0; i < 20000; i++) {
		long long v = ((long long)t_rand() << 48) ^ ((long long)t_rand() << 32) ^ ((long long)t_rand() << 16) ^ t_rand();
		v >>= t_rand() % 63;
		if (t_rand() & 1)
			v = -v;
		FMTQ("%lld|%llu|%llx|%d|%u|%x|%8d|%-8d|%08d|%zu", v, (unsigned long long)v, (unsigned long long)v, (int)v,
		     (unsigned)v, (unsigned)v, (int)(v % 100000), (int)(v % 1000), (int)(v % 1000), (size_t)v);
	}
	T_CHECK(bad == 0, "20,000 random integers format as glibc does (%d differ)", bad);
	/* vsnprintf's contract: the whole length back, the output cut and terminated */
	memset(small, 'X', sizeof small);
	i = base_snprintf(small, sizeof small, "%s-%d", "abcdefgh", 12345);
	T_CHECK(i == 14 && strcmp(small, "abcdefg") == 0, "cut output: length 14 returned, 7 bytes and a NUL kept (%d, %s)",
	        i, small);
	memset(small, 'X', sizeof small);
	i = base_snprintf(small, 0, "%s", "abc");
	T_CHECK(i == 3 && small[0] == 'X', "cap 0: nothing written, length returned");
	i = base_snprintf(small, 1, "%s", "abc");
	T_CHECK(i == 3 && small[0] == 0, "cap 1: only the NUL");
	{
		const char *volatile np = NULL;             /* volatile: no compile-time warning about the NULL */
		i = base_snprintf(small, sizeof small, "%s", np);
	}
	T_CHECK(i == 6 && strcmp(small, "(null)") == 0, "a NULL string prints (null), as musl and glibc do");
	/* buf_printf: the long path (more than its 256-byte stack buffer) */
	{
		struct buf b = {0};
		char big[700];
		memset(big, 'q', sizeof big - 1);
		big[sizeof big - 1] = 0;
		buf_printf(&b, "<%s|%d>", big, -5);
		T_CHECK(b.len == 699 + 5 && b.p[0] == '<' && strcmp(b.p + 700, "|-5>") == 0, "buf_printf of 704 bytes");
		buf_free(&b);
	}
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

struct rec {
	long long key;
	char name[13];
};

static int
cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	return x->key < y->key ? 1 : x->key > y->key ? -1 : strcmp(x->name, y->name);   /* newest first */
}

static void
t_sort(void)
{
	static int a[3000], b[3000];
	static struct rec r1[500], r2[500];
	int n, i, bad = 0, mode;
	for (mode = 0; mode < 5; mode++)
		for (n = 0; n <= 3000; n = n < 20 ? n + 1 : n * 3 / 2) {
			for (i = 0; i < n; i++)
				a[i] = b[i] = mode == 0 ? (int)t_rand() : mode == 1 ? i : mode == 2 ? n - i : mode == 3 ? 7 :
				              (int)(t_rand() % 5) - 2;
			base_sort(a, (size_t)n, sizeof a[0], cmp_int);
			qsort(b, (size_t)n, sizeof b[0], cmp_int);
			bad += memcmp(a, b, (size_t)n * sizeof a[0]) != 0;
		}
	T_CHECK(bad == 0, "base_sort matches qsort: random, sorted, reversed, all equal, few values, 0..3000 ints");
	for (i = 0; i < 500; i++) {
		r1[i].key = t_rand() % 50;
		base_snprintf(r1[i].name, sizeof r1[i].name, "f%05u", t_rand());
	}
	memcpy(r2, r1, sizeof r1);
	base_sort(r1, 500, sizeof r1[0], cmp_rec);
	qsort(r2, 500, sizeof r2[0], cmp_rec);
	T_CHECK(memcmp(r1, r2, sizeof r1) == 0, "base_sort of 500 %zu-byte records (odd size) matches qsort",
	        sizeof r1[0]);
}

static void
t_roots(void)
{
	struct tls_trust pem = {0}, built = {0};
	DIR *d = opendir("certs");
	struct dirent *de;
	char path[600];
	size_t k, same = 0;
	int files = 0;
	T_CHECK(d != NULL, "certs/ opened (run from the top of the tree)");
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".pem") == 0) {
			snprintf(path, sizeof path, "certs/%s", de->d_name);
			files += tls_trust_add_file(&pem, path) == 1;
		}
	}
	closedir(d);
	tls_trust_add_builtin(&built);
	T_CHECK(files >= 5 && built.n == (size_t)files && built.nstatic == built.n,
	        "%zu built-in roots, one per PEM file of certs/ (%d)", built.n, files);
	for (k = 0; k < pem.n; k++) {
		size_t j;
		const br_x509_trust_anchor *p = &pem.ta[k];
		for (j = 0; j < built.n; j++) {
			const br_x509_trust_anchor *b = &built.ta[j];
			if (b->dn.len != p->dn.len || memcmp(b->dn.data, p->dn.data, p->dn.len) || b->flags != p->flags ||
			    b->pkey.key_type != p->pkey.key_type)
				continue;
			if (p->pkey.key_type == BR_KEYTYPE_RSA ?
			    b->pkey.key.rsa.nlen == p->pkey.key.rsa.nlen && b->pkey.key.rsa.elen == p->pkey.key.rsa.elen &&
			    !memcmp(b->pkey.key.rsa.n, p->pkey.key.rsa.n, p->pkey.key.rsa.nlen) &&
			    !memcmp(b->pkey.key.rsa.e, p->pkey.key.rsa.e, p->pkey.key.rsa.elen) :
			    b->pkey.key.ec.curve == p->pkey.key.ec.curve && b->pkey.key.ec.qlen == p->pkey.key.ec.qlen &&
			    !memcmp(b->pkey.key.ec.q, p->pkey.key.ec.q, p->pkey.key.ec.qlen)) {
				same++;
				break;
			}
		}
	}
	T_CHECK(pem.n > 0 && same == pem.n, "each built-in anchor has the name, key and CA flag the PEM gives (%zu of %zu)",
	        same, pem.n);
	/* more anchors after the built-in ones (NODE_EXTRA_CA_CERTS): the static ones are not freed */
	T_CHECK(tls_trust_add_file(&built, path) == 1 && built.n == built.nstatic + 1,
	        "a PEM anchor added after the built-in ones");
	T_CHECK(tls_trust_add_builtin(&built) == 0, "built-in roots go only into an empty set (they must come first)");
	tls_trust_free(&built);
	tls_trust_free(&pem);
}

/* der_anchor against BearSSL's own x509 decoder (the reference it replaced): for every certificate where
 * the decoder finds a key without error, the same name, key and CA flag. */
static void
dn_cb(void *ctx, const void *p, size_t n)
{
	buf_add(ctx, p, n);
}

/* 1 same, 0 different, -1 the reference found nothing (ours may or may not) */
static int
x509_same(const unsigned char *der, size_t n, int *ours_only)
{
	br_x509_decoder_context dc;
	struct buf dn = {0};
	struct der_anchor a;
	const br_x509_pkey *pk;
	int r = der_anchor(der, n, &a), same;
	br_x509_decoder_init(&dc, dn_cb, &dn);
	br_x509_decoder_push(&dc, der, n);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk && pk->key_type == BR_KEYTYPE_RSA) {      /* an all-zero modulus or exponent: der_anchor refuses it */
		size_t i, nz = 0, ez = 0;
		for (i = 0; i < pk->key.rsa.nlen; i++)
			nz |= pk->key.rsa.n[i];
		for (i = 0; i < pk->key.rsa.elen; i++)
			ez |= pk->key.rsa.e[i];
		if (!nz || !ez)
			pk = NULL;
	}
	if (!pk || br_x509_decoder_last_error(&dc) || !dn.len) {
		*ours_only += r == 0;
		buf_free(&dn);
		return -1;
	}
	same = r == 0 && a.dnlen == dn.len && !memcmp(a.dn, dn.p, dn.len) && a.key_type == pk->key_type &&
	       a.ca == br_x509_decoder_isCA(&dc) &&
	       (pk->key_type == BR_KEYTYPE_RSA ?
	        a.nlen == pk->key.rsa.nlen && !memcmp(a.n, pk->key.rsa.n, a.nlen) && a.elen == pk->key.rsa.elen &&
	        !memcmp(a.e, pk->key.rsa.e, a.elen) :
	        a.curve == pk->key.ec.curve && a.qlen == pk->key.ec.qlen && !memcmp(a.q, pk->key.ec.q, a.qlen));
	buf_free(&dn);
	return same;
}

static void
x509_file(const char *path, int *certs, int *same, int *diff, int *ours_only, int *mut_same, int *mut_diff)
{
	struct buf b = {0};
	static unsigned char der[16384], m[16384];
	const char *p, *e;
	if (file_read_all(path, &b, 8u << 20) || !b.p)
		return;
	for (p = b.p; (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL; p = e) {
		long n;
		int k;
		p = strchr(p, '\n');
		if (!p || !(e = strstr(p, "-----END")))
			break;
		n = b64_decode(p + 1, (size_t)(e - p - 1), der, sizeof der);
		if (n <= 0)
			continue;
		(*certs)++;
		k = x509_same(der, (size_t)n, ours_only);
		*same += k == 1;
		*diff += k == 0;
		for (k = 0; k < 40; k++) {                 /* mutants: a byte changed, or cut short */
			size_t len = (size_t)n, at = t_rand() % (size_t)n;
			int v;
			memcpy(m, der, (size_t)n);
			if (k % 4 == 3)
				len = at;
			else
				m[at] = (unsigned char)t_rand();
			v = x509_same(m, len, ours_only);
			*mut_same += v == 1;
			*mut_diff += v == 0;
		}
	}
	buf_free(&b);
}

static void
t_x509(void)
{
	int certs = 0, same = 0, diff = 0, ours_only = 0, mut_same = 0, mut_diff = 0;
	DIR *d = opendir("certs");
	struct dirent *de;
	char path[600];
	while (d && (de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".pem")) {
			snprintf(path, sizeof path, "certs/%s", de->d_name);
			x509_file(path, &certs, &same, &diff, &ours_only, &mut_same, &mut_diff);
		}
	if (d)
		closedir(d);
	x509_file("/etc/ssl/certs/ca-certificates.crt", &certs, &same, &diff, &ours_only, &mut_same, &mut_diff);
	T_CHECK(certs >= 7 && same == certs && diff == 0, "der_anchor gives what BearSSL's decoder gives for each of %d "
	        "certificates (certs/ and the system bundle): %d same, %d different", certs, same, diff);
	T_CHECK(mut_diff == 0 && mut_same > 0, "and for %d mutated or cut copies the decoder still reads: %d different "
	        "(%d where only der_anchor found a key)", mut_same + mut_diff, mut_diff, ours_only);
}

/* A DNS answer: header, the question for name/type, then answer records given as raw bytes. */
static size_t
dns_msg(unsigned char *m, unsigned id, unsigned flags, unsigned rcode, const char *name, unsigned qtype, unsigned an,
        const unsigned char *ans, size_t alen)
{
	size_t n = net_dns_query(m, name, qtype, id);
	m[2] = (unsigned char)(flags >> 8);
	m[3] = (unsigned char)((flags & 0xf0) | rcode);
	m[7] = (unsigned char)an;
	m[11] = 0;
	n -= 11;                                    /* drop the OPT record */
	if (alen)
		memcpy(m + n, ans, alen);
	return n + alen;
}

static void
t_dns(void)
{
	unsigned char q[300], m[1500];
	static const unsigned char want_q[] = {
		0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'a', 'p', 'i', 9, 'a', 'n', 't', 'h', 'r', 'o', 'p', 'i', 'c', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0
	};
	static const unsigned char a_rec[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3 };
	static const unsigned char cname_a[] = {
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xc0, 12,
		0xc0, 29, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9,
		3, 'x', 'y', 'z', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 10
	};
	static const unsigned char aaaa_rec[] = { 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
		0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const unsigned char short_rec[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1 };
	char long_label[80], long_name[300];
	struct net_addrs a;
	size_t n;
	int i, crashes = 0;
	n = net_dns_query(q, "api.anthropic.com", 28, 0x1234);
	T_CHECK(n == sizeof want_q && memcmp(q, want_q, n) == 0, "AAAA query bytes: RD, one question, EDNS0 1232");
	memset(long_label, 'a', 63);
	long_label[63] = 0;
	T_CHECK(net_dns_query(q, long_label, 1, 1) > 0, "a 63-byte label fits");
	long_label[63] = 'a';
	long_label[64] = 0;
	T_CHECK(net_dns_query(q, long_label, 1, 1) == 0, "a 64-byte label does not");
	T_CHECK(net_dns_query(q, "a..b", 1, 1) == 0 && net_dns_query(q, "", 1, 1) == 0 &&
	        net_dns_query(q, ".a", 1, 1) == 0, "empty labels are refused");
	for (i = 0; i < 254; i++)
		long_name[i] = i % 2 ? '.' : 'a';
	long_name[253] = 'a';
	long_name[254] = 0;
	T_CHECK(net_dns_query(q, long_name, 1, 1) == 0, "a 254-byte name is refused");

	a.n = 0;
	n = dns_msg(m, 7, 0x8180, 0, "h.test", 1, 1, a_rec, sizeof a_rec);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == 1 && a.n == 1 && a.sa[0].sa.sa_family == AF_INET &&
	        a.sa[0].v4.sin_port == htons(443) &&
	        a.sa[0].v4.sin_addr.s_addr == htonl(0x0a010203), "A answer: 10.1.2.3:443");
	T_CHECK(net_dns_answer(m, n, 8, 1, 443, &a) == -2 && a.n == 1, "another id: ignored");
	T_CHECK(net_dns_answer(m, n, 7, 28, 443, &a) == -2, "the answer to another question type: ignored");
	n = dns_msg(m, 7, 0x0100, 0, "h.test", 1, 1, a_rec, sizeof a_rec);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == -2, "a query (QR clear) is not an answer");
	n = dns_msg(m, 7, 0x8180, 3, "h.test", 1, 0, NULL, 0);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == -1, "NXDOMAIN");
	n = dns_msg(m, 7, 0x8180, 2, "h.test", 1, 0, NULL, 0);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == -2, "SERVFAIL: nothing to keep, the resend will ask again");
	n = dns_msg(m, 7, 0x8180, 5, "h.test", 1, 0, NULL, 0);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == -2, "REFUSED: nothing to keep");
	n = dns_msg(m, 7, 0x8180, 0, "h.test", 1, 0, NULL, 0);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == 0, "no records (NODATA): a real answer without addresses");
	n = dns_msg(m, 7, 0x8380, 0, "h.test", 1, 0, NULL, 0);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == -2, "truncated (TC) without records: not a 'no address' verdict");
	a.n = 0;
	n = dns_msg(m, 7, 0x8380, 0, "h.test", 1, 1, a_rec, sizeof a_rec);
	T_CHECK(net_dns_answer(m, n, 7, 1, 443, &a) == 1 && a.n == 1, "truncated (TC) with an address: the address");
	a.n = 0;
	n = dns_msg(m, 9, 0x8180, 0, "h.test", 1, 3, cname_a, sizeof cname_a);
	T_CHECK(net_dns_answer(m, n, 9, 1, 80, &a) == 1 && a.n == 2 &&
	        a.sa[1].v4.sin_addr.s_addr == htonl(0x0a09090a),
	        "CNAME, then A records under compressed and full names: both addresses (%d)", a.n);
	T_CHECK(net_dns_answer(m, n, 9, 1, 80, &a) == 1 && a.n == 2, "the same addresses again are not duplicated");
	a.n = 0;
	n = dns_msg(m, 3, 0x8180, 0, "h.test", 28, 1, aaaa_rec, sizeof aaaa_rec);
	T_CHECK(net_dns_answer(m, n, 3, 28, 443, &a) == 1 && a.n == 1 && a.sa[0].sa.sa_family == AF_INET6 &&
	        a.sa[0].v6.sin6_addr.s6_addr[0] == 0x20 && a.sa[0].v6.sin6_addr.s6_addr[15] == 1 &&
	        a.sa[0].v6.sin6_port == htons(443), "AAAA answer: 2001:db8::1");
	a.n = 0;
	n = dns_msg(m, 3, 0x8180, 0, "h.test", 1, 1, short_rec, sizeof short_rec);
	T_CHECK(net_dns_answer(m, n, 3, 1, 443, &a) == -2 && a.n == 0,
	        "a record cut short before any address: nothing to keep (not a 'no address' verdict)");
	n = dns_msg(m, 3, 0x8180, 0, "h.test", 1, 2, a_rec, sizeof a_rec);
	memcpy(m + n, short_rec, sizeof short_rec);
	n += sizeof short_rec;
	T_CHECK(net_dns_answer(m, n, 3, 1, 443, &a) == 1 && a.n == 1, "an address, then a record cut short: the address");
	n = dns_msg(m, 3, 0x8180, 0, "h.test", 1, 200, a_rec, sizeof a_rec);
	T_CHECK(net_dns_answer(m, n, 3, 1, 443, &a) == 1 && a.n == 1, "an answer count larger than the records there");
	T_CHECK(net_dns_answer(m, 11, 3, 1, 443, &a) == -2, "shorter than a header");
	m[12] = 0x80;                               /* a label type that does not exist */
	T_CHECK(net_dns_answer(m, n, 3, 1, 443, &a) == -2, "a bad label type in the question");
	/* random bytes after a plausible header: never a crash or a read past the end (ASan watches) */
	for (i = 0; i < 200000; i++) {
		size_t len = 12 + t_rand() % 120, k;
		unsigned char *p = malloc(len);
		for (k = 0; k < len; k++)
			p[k] = (unsigned char)(t_rand() % 4 == 0 ? 0xc0 : t_rand());
		p[0] = 0;
		p[1] = 5;
		p[2] = 0x81;
		p[3] = 0x80;
		p[4] = 0;
		p[5] = 1;
		a.n = 0;
		crashes += net_dns_answer(p, len, 5, 1, 1, &a) > 1 || a.n > NET_ADDRS;
		free(p);
	}
	T_CHECK(crashes == 0, "200,000 random answers parsed within bounds");
}

static void
t_conf(void)
{
	char path[] = "/tmp/t_base.XXXXXX";
	int fd = mkstemp(path);
	struct net_dnsconf c;
	struct net_addrs a = {0};
	struct net_hosts_ctx h = { "Alias.Example", 8080, &a };
	static const char conf[] =
		"# comment\n"
		"nameserver 10.0.0.1\n"
		"nameserver   fe80::1%3  \n"
		"nameserver not-an-address\n"
		"nameserver 10.0.0.3 ; trailing comment\n"
		"nameserver 10.0.0.4\n"
		"options rotate timeout:3 attempts:4 ndots:2\n"
		"search corp.example lab.example\n";
	static const char hosts[] =
		"127.0.0.1 localhost\n"
		"# 10.9.9.9 alias.example\n"
		"10.1.1.1\thost.example alias.example # comment\n"
		"::2 ALIAS.EXAMPLE\n"
		"bad-address alias.example\n";
	T_CHECK(fd >= 0 && write(fd, conf, sizeof conf - 1) == (ssize_t)(sizeof conf - 1), "temp resolv.conf");
	close(fd);
	net_dns_conf(&c, path);
	T_CHECK(c.nns == 3 && strcmp(c.first, "10.0.0.1") == 0 && c.ns[1].sa.sa_family == AF_INET6 &&
	        c.ns[1].v6.sin6_scope_id == 3 && c.ns[1].v6.sin6_port == htons(53) &&
	        c.ns[2].v4.sin_addr.s_addr == htonl(0x0a000003),
	        "resolv.conf: three servers kept (a bad one skipped, a fourth dropped), fe80::1%%3 with its scope");
	T_CHECK(c.timeout_s == 3 && c.attempts == 4 && c.ndots == 2 && strcmp(c.search, "corp.example lab.example ") == 0,
	        "resolv.conf options and search domains (%d %d %d '%s')", c.timeout_s, c.attempts, c.ndots, c.search);
	fd = open(path, O_WRONLY | O_TRUNC);
	T_CHECK(write(fd, hosts, sizeof hosts - 1) == (ssize_t)(sizeof hosts - 1), "temp hosts");
	close(fd);
	net_conf_lines(path, net_hosts_line, &h);
	T_CHECK(a.n == 2 && a.sa[0].sa.sa_family == AF_INET && a.sa[1].sa.sa_family == AF_INET6 &&
	        a.sa[0].v4.sin_port == htons(8080),
	        "hosts: an alias matched case-insensitively on two lines; comments and bad addresses skipped (%d)", a.n);
	/* a hosts file of megabytes (ad-block lists), an over-long line, a last line without its newline */
	{
		FILE *f = fopen(path, "w");
		struct net_addrs b = {0};
		struct net_hosts_ctx hb = { "last.example", 1, &b };
		int i;
		char longline[2100];
		memset(longline, 'x', sizeof longline);
		memcpy(longline, "10.7.7.7 ", 9);
		memcpy(longline + sizeof longline - 14, " last.example", 13);
		longline[sizeof longline - 1] = 0;
		for (i = 0; i < 150000; i++)
			fprintf(f, "0.0.0.0 ads%d.tracker.example # blocked\n", i);
		fprintf(f, "%s\n", longline);
		fprintf(f, "10.8.8.8 last.example");
		fclose(f);
		net_conf_lines(path, net_hosts_line, &hb);
		T_CHECK(b.n == 1 && b.sa[0].v4.sin_addr.s_addr == htonl(0x0a080808),
		        "hosts of 6 MB: the last line (no newline) found, a 2 KB line skipped whole, not cut (%d)", b.n);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	T_CHECK(write(fd, "nameserver fe80::53%lo\n", 23) == 23, "temp resolv.conf");
	close(fd);
	net_dns_conf(&c, path);
	T_CHECK(c.nns == 1 && c.ns[0].v6.sin6_scope_id == if_nametoindex("lo") && c.ns[0].v6.sin6_scope_id > 0,
	        "a link-local server with an interface name: fe80::53%%lo has lo's index");
	unlink(path);
	T_CHECK(str_find("hello world", "o w") != NULL && str_find("abc", "abd") == NULL && str_find("abc", "") != NULL,
	        "str_find");
}

/* Whole numbers with a ceiling: a digit above the ceiling must not wrap the overflow check ("9" with max 1
 * once passed, and the session picker took 99 of 2 sessions). */
static void
t_u64(void)
{
	unsigned long long v = 7;
	T_CHECK(str_to_u64("99", 2, 2, &v) != 0 && v == 7, "99 is over a ceiling of 2");
	T_CHECK(str_to_u64("9", 1, 1, &v) != 0, "9 is over a ceiling of 1");
	T_CHECK(str_to_u64("2", 1, 2, &v) == 0 && v == 2, "2 is within a ceiling of 2");
	T_CHECK(str_to_u64("18446744073709551615", 20, ~0ULL, &v) == 0 && v == ~0ULL, "the largest value");
	T_CHECK(str_to_u64("18446744073709551616", 20, ~0ULL, &v) != 0, "one over the largest value");
	T_CHECK(str_to_u64("100", 3, 100, &v) == 0 && v == 100 && str_to_u64("101", 3, 100, &v) != 0, "100 and 101 against 100");
	T_CHECK(str_to_u64("", 0, 5, &v) != 0 && str_to_u64("1a", 2, 50, &v) != 0, "empty and non-digits");
}

/* The line editor's character widths against glibc's wcwidth (Unicode's East Asian Width and general
 * categories): the same in the scripts a terminal user types (all of them checked), and close elsewhere. */
static void
t_width(void)
{
	static const unsigned ranges[][2] = {
		{ 0x20, 0x7E }, { 0xA0, 0x2FF }, { 0x300, 0x36F }, { 0x370, 0x52F }, { 0x3041, 0x3096 }, { 0x30A0, 0x30FF },
		{ 0x4E00, 0x9FFF }, { 0xAC00, 0xD7A3 }, { 0xFF01, 0xFF60 }, { 0x1F600, 0x1F64F }, { 0x1F680, 0x1F6C5 },
		{ 0x20000, 0x2A6DF },
	};
	unsigned cp;
	size_t r;
	long bad = 0, seen = 0;
	setlocale(LC_CTYPE, "C.UTF-8");
	for (r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
		long miss = 0;
		unsigned first = 0;
		for (cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
			int w = wcwidth((wchar_t)cp);
			if (w >= 0 && w != term_cp_width(cp) && !miss++)
				first = cp;
		}
		T_CHECK(miss == 0, "widths of U+%04X..U+%04X as wcwidth's (%ld differ, the first U+%04X)", ranges[r][0],
		        ranges[r][1], miss, first);
	}
	for (cp = 0xA0; cp < 0x40000; cp++) {
		int w = wcwidth((wchar_t)cp);
		if (w >= 0 && (cp < 0xD800 || cp > 0xDFFF)) {
			seen++;
			bad += w != term_cp_width(cp);
		}
	}
	T_CHECK(bad * 100 < seen, "under 1%% of all printable code points differ from wcwidth (%ld of %ld)", bad, seen);
}

/* base64 decoding, four digits a step where it can, against what b64_encode made of random bytes: with
 * whitespace at random places, cut at '=' or '"', into an output just big enough and one byte short. */
static void
t_b64(void)
{
	unsigned char in[300], out[300];
	int k, bad = 0, big = 0;
	srand(7);
	for (k = 0; k < 3000; k++) {
		size_t n = (size_t)rand() % sizeof in, i;
		struct buf e = {0}, w = {0};
		long r;
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		b64_encode(in, n, &e);
		for (i = 0; i < e.len; i++) {
			if (rand() % 40 == 0)
				buf_add(&w, "\r\n \t" + rand() % 4, 1);
			buf_add(&w, e.p + i, 1);
		}
		if (k & 1)
			buf_adds(&w, "\",\"p\":\"abc\"}");
		r = b64_decode(w.p ? w.p : "", w.len, out, n);
		bad += r != (long)n || memcmp(out, in, n) != 0;
		big += n > 0 && b64_decode(w.p, w.len, out, n - 1) != AG_E_TOOBIG;
		buf_free(&e);
		buf_free(&w);
	}
	T_CHECK(bad == 0, "3000 random base64 texts decode to their bytes (%d differ)", bad);
	T_CHECK(big == 0, "one byte short of room is AG_E_TOOBIG (%d were not)", big);
	T_CHECK(b64_decode("QUJD*EVG", 8, out, sizeof out) == AG_E_INVAL, "a character outside the alphabet is refused");
}

/* The static build's allocator (malloc, realloc, free and calloc there): 20,000 random allocations, resizes
 * and frees of 0 bytes to 300 KB, each block filled with its own byte and checked before it changes, so an
 * overlap, a lost copy or a wrong size class shows; alignment of 16; big blocks given back whole. */
static void
t_mem(void)
{
	enum { N = 64 };
	unsigned char *p[N] = {0};
	size_t len[N] = {0};
	int bad = 0, misaligned = 0, i, k;
	t_seed = 777;
	for (i = 0; i < 20000; i++) {
		int j = t_rand() % N, op = t_rand() % 3;
		size_t n = t_rand() % 8 ? t_rand() % 3000 : (size_t)t_rand() * 10;
		for (k = 0; p[j] && (size_t)k < len[j]; k++)
			bad += p[j][k] != (unsigned char)j;
		if (op == 0 && p[j]) {
			base_mem_release(p[j]);
			p[j] = 0;
			continue;
		}
		p[j] = p[j] ? base_mem_resize(p[j], n) : base_mem_alloc(n);
		if (!p[j]) {
			bad++;
			continue;
		}
		misaligned += ((uintptr_t)p[j] & 15) != 0;
		bad += base_mem_size((char *)p[j] - BASE_MEM_HDR) < n;
		memset(p[j], j, n);
		len[j] = n;
	}
	for (i = 0; i < N; i++)
		base_mem_release(p[i]);
	T_CHECK(bad == 0 && misaligned == 0, "20000 allocations, resizes and frees keep every byte (%d bad, %d misaligned)",
	        bad, misaligned);
	p[0] = base_mem_alloc(100);
	base_mem_release(p[0]);
	T_CHECK(base_mem_alloc(90) == p[0], "a freed block of the same size is used again");
	p[1] = base_mem_alloc(200000);
	T_CHECK(p[1] && *(size_t *)(p[1] - BASE_MEM_HDR) == 200704, "a 200,000-byte block is a mapping of its own, whole pages");
	p[1] = base_mem_resize(p[1], 1000);
	T_CHECK(p[1] && base_mem_size((char *)p[1] - BASE_MEM_HDR) == 1008, "shrunk to 1,000 bytes it moves to a small block");
	base_mem_release(p[1]);
	errno = 0;
	T_CHECK(!base_mem_alloc((size_t)-8) && errno == ENOMEM, "a size that cannot be had is ENOMEM, not a small block");
}

/* Our strerror: musl's words for the errors agent meets (glibc's agree for these), "error N" for others. */
static void
t_strerror(void)
{
	T_CHECK(!strcmp(base_strerror(ENOENT), "No such file or directory"), "ENOENT: %s", base_strerror(ENOENT));
	T_CHECK(!strcmp(base_strerror(EACCES), strerror(EACCES)), "EACCES as libc says it: %s", base_strerror(EACCES));
	T_CHECK(!strcmp(base_strerror(ECONNREFUSED), "Connection refused"), "ECONNREFUSED: %s", base_strerror(ECONNREFUSED));
	T_CHECK(!strcmp(base_strerror(EAFNOSUPPORT), "Address family not supported by protocol"), "the last entry: %s",
	        base_strerror(EAFNOSUPPORT));
	T_CHECK(!strcmp(base_strerror(4095), "error 4095"), "an unknown one: %s", base_strerror(4095));
}

/* Inflate: a stored, a fixed and a dynamic block (made by Python's zlib), every damaged form refused, and the
 * binary's own packed texts whole. */
static void
t_inflate(void)
{
	static const char stored[] = "\x01\x19\x00\xe6\xff" "hello, hello, hello world";
	static const char fixed[] = "\xcb\x48\xcd\xc9\xc9\xd7\x51\xc8\x40\xa2\x14\xca\xf3\x8b\x72\x52\x00";
	static const char dynamic[] = "\xa5\xd5\x4b\x16\x01\x41\x0c\x46\xe1\xb9\x55\x64\x01\x06\xf2\xc7\x7b\x37\x8d\x42\x53\xba\x68\xda\x6b\xf5\x9a\x25\xb8\x99\xe6\xdc\xd9\x77\x92\x5c\x37\xc9\x46\x4b\xbb\xed\x93\x5d\xba\x7a\x7d\xb4\x55\x5b\x1e\x8d\x6d\xcb\xd3\x0e\xdd\xe9\x7c\xb5\x72\x4f\xed\x6f\x9d\xab\xf7\xcb\x36\x65\x37\xb4\xd4\x8f\x55\xfd\x0c\xf2\x37\x77\x96\x8b\xe5\xc1\xf2\x31\xcb\x27\x2c\x9f\xb2\x7c\xc6\xf2\x39\xcb\x17\x90\x0d\x65\x07\xdd\x39\x84\xe7\x50\x9e\x43\x7a\x0e\xed\x39\xc4\xe7\x50\x9f\x43\x7e\x0e\xfd\x09\xfa\x13\xbd\x7b\xd0\x9f\xa0\x3f\x41\x7f\x82\xfe\x04\xfd\x09\xfa\x13\xf4\x27\xe8\x2f\xa0\xbf\x80\xfe\x82\x3e\x5e\xe8\x2f\xa0\xbf\x80\xfe\x02\xfa\x0b\xe8\x2f\xa0\xbf\xf8\xdf\xdf\x07";
	unsigned char out[4096];
	struct buf lines = {0};
	long n;
	int i;
	size_t k;
	n = base_inflate((const unsigned char *)stored, sizeof stored - 1, out, sizeof out);
	T_CHECK(n == 25 && !memcmp(out, "hello, hello, hello world", 25), "a stored block: %ld", n);
	n = base_inflate((const unsigned char *)fixed, sizeof fixed - 1, out, sizeof out);
	T_CHECK(n == 25 && !memcmp(out, "hello, hello, hello world", 25), "a fixed block: %ld", n);
	for (i = 0; i < 40; i++)
		buf_printf(&lines, "line %d: the quick brown fox jumps over the lazy dog, eeee aaaa\n", i);
	n = base_inflate((const unsigned char *)dynamic, sizeof dynamic - 1, out, sizeof out);
	T_CHECK(n == (long)lines.len && !memcmp(out, lines.p, lines.len), "a dynamic block: %ld of %zu", n, lines.len);
	for (k = 0; k < sizeof dynamic - 1; k++)
		if (base_inflate((const unsigned char *)dynamic, k, out, sizeof out) != -1)
			break;
	T_CHECK(k == sizeof dynamic - 1, "every cut of the stream is refused (the first not refused: %zu bytes)", k);
	n = base_inflate((const unsigned char *)dynamic, sizeof dynamic - 1, out, lines.len - 1);
	T_CHECK(n == -1, "output one byte too small is refused: %ld", n);
	n = base_inflate((const unsigned char *)"\x01\x19\x00\xe7\xff" "hello", 10, out, sizeof out);
	T_CHECK(n == -1, "a stored block whose NLEN is not ~LEN is refused: %ld", n);
	n = base_inflate((const unsigned char *)"\x07", 1, out, sizeof out);
	T_CHECK(n == -1, "block type 3 is refused: %ld", n);
	n = base_inflate((const unsigned char *)"\x03\x02\x00", 3, out, sizeof out);
	T_CHECK(n == -1, "a distance before the start is refused: %ld", n);
	for (k = 1; k < sizeof dynamic - 1; k += 7) {    /* flipped bits: refused or some bytes, never a crash */
		char bad[sizeof dynamic];
		memcpy(bad, dynamic, sizeof bad);
		bad[k] ^= (char)(1 << (k % 8));
		base_inflate((const unsigned char *)bad, sizeof bad - 1, out, sizeof out);
	}
	T_CHECK(!strncmp(prose(tool_defs_json), "[{\"name\":\"Bash\"", 15) && !strncmp(prose(cli_env_text), "<env>", 5) &&
	        !base_prose()[PROSE_SIZE - 1] && strlen(prose(cli_env_text)) + PROSE_AT_cli_env_text < PROSE_SIZE,
	        "the packed texts: the first and the last whole (%d bytes)", PROSE_SIZE);
	buf_free(&lines);
}

/* str_mem (Horspool) against libc's memmem: random haystacks and needles over a small alphabet, so that
 * there are many near matches, and the edges (empty needle, needle longer than the haystack). */
static void
t_str_mem(void)
{
	unsigned char h[300], n[12];
	unsigned seed = 7;
	int i, bad = 0;
	for (i = 0; i < 20000; i++) {
		size_t hn = (seed = seed * 1103515245 + 12345) % sizeof h, nn = (seed >> 8) % sizeof n + 1, k;
		for (k = 0; k < hn; k++)
			h[k] = "ab\0"[(seed = seed * 1103515245 + 12345) >> 16 & 1 ? 0 : (seed >> 20) % 3];
		for (k = 0; k < nn; k++)
			n[k] = "ab\0"[(seed = seed * 1103515245 + 12345) >> 16 & 1 ? 0 : (seed >> 20) % 3];
		if (i % 3 == 0 && hn >= nn)       /* a needle taken from the haystack: a match exists */
			memcpy(n, h + (seed >> 4) % (hn - nn + 1), nn);
		bad += str_mem(h, hn, n, nn) != memmem(h, hn, n, nn);
	}
	T_CHECK(bad == 0, "str_mem finds what memmem finds, 20000 random searches (%d differ)", bad);
	T_CHECK(str_mem(h, 3, n, 0) == (void *)h, "an empty needle is found at the start");
	T_CHECK(!str_mem("ab", 2, "abc", 3) && str_mem("xxabc", 5, "abc", 3) != NULL, "longer needle; match at the end");
}

int
main(void)
{
	t_str_mem();
	t_inflate();
	t_mem();
	t_strerror();
	t_u64();
	t_width();
	t_b64();
	t_format();
	t_sort();
	t_roots();
	t_x509();
	t_dns();
	t_conf();
	return t_done();
}
