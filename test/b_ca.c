/* Benchmark (not a test): decode the system CA bundle three ways, the median of 21 runs of each:
 *   agent's loader (its base64 scan and der_anchor's walk over each certificate);
 *   the same scan with BearSSL's generic x509 decoder for each certificate (what agent did before der_anchor);
 *   BearSSL's generic br_pem_decoder feeding der_anchor. */
#include "t_util.h"

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct pemctx {
	struct buf der;
};

static void
pem_append(void *ctx, const void *p, size_t n)
{
	buf_add(&((struct pemctx *)ctx)->der, p, n);
}

static int
bearssl_pem_load(struct tls_trust *t, const char *s, size_t n)
{
	br_pem_decoder_context pc;
	struct pemctx c = {{0}};
	int added = 0, incert = 0;
	br_pem_decoder_init(&pc);
	while (n) {
		size_t k = br_pem_decoder_push(&pc, s, n);
		s += k;
		n -= k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			incert = strstr(br_pem_decoder_name(&pc), "CERTIFICATE") != NULL;
			c.der.len = 0;
			br_pem_decoder_setdest(&pc, incert ? pem_append : NULL, &c);
			break;
		case BR_PEM_END_OBJ:
			if (incert && tls_trust_add_der(t, (unsigned char *)c.der.p, c.der.len) == 0)
				added++;
			break;
		case BR_PEM_ERROR:
			return -1;
		}
	}
	buf_free(&c.der);
	return added;
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* The PEM scan of tls_trust_add_pem, each certificate through br_x509_decoder (the name and key only: the
 * copy into an anchor is the same either way and left out). */
static void
dn_sink(void *ctx, const void *p, size_t n)
{
	buf_add(ctx, p, n);
}

static int
x509dec_load(const char *s, size_t n)
{
	static unsigned char der[16384];
	const char *p, *e, *end = s + n;
	int added = 0;
	for (p = s; (p = memmem(p, (size_t)(end - p), "-----BEGIN CERTIFICATE-----", 27)) != NULL; p = e) {
		br_x509_decoder_context dc;
		struct buf dn = {0};
		long len;
		if (!(p = memchr(p, '\n', (size_t)(end - p))) || !(e = memmem(p, (size_t)(end - p), "-----END", 8)))
			break;
		len = b64_decode(p + 1, (size_t)(e - p - 1), der, sizeof der);
		if (len <= 0)
			continue;
		br_x509_decoder_init(&dc, dn_sink, &dn);
		br_x509_decoder_push(&dc, der, (size_t)len);
		added += br_x509_decoder_get_pkey(&dc) != NULL && !br_x509_decoder_last_error(&dc);
		buf_free(&dn);
	}
	return added;
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/ssl/certs/ca-certificates.crt";
	struct buf b = {0};
	long long ours[21], theirs[21], dec[21], t0, read_us[21];
	int i, n1 = 0, n2 = 0, n3 = 0;
	for (i = 0; i < 21; i++) {
		struct tls_trust t = {0};
		t0 = now_us();
		b.len = 0;
		if (file_read_all(path, &b, 64u << 20)) {
			printf("cannot read %s\n", path);
			return 1;
		}
		read_us[i] = now_us() - t0;
		t0 = now_us();
		n1 = tls_trust_add_pem(&t, b.p, b.len);
		ours[i] = now_us() - t0;
		tls_trust_free(&t);
		t0 = now_us();
		n2 = bearssl_pem_load(&t, b.p, b.len);
		theirs[i] = now_us() - t0;
		tls_trust_free(&t);
		t0 = now_us();
		n3 = x509dec_load(b.p, b.len);
		dec[i] = now_us() - t0;
	}
	qsort(ours, 21, sizeof ours[0], cmp);
	qsort(theirs, 21, sizeof theirs[0], cmp);
	qsort(dec, 21, sizeof dec[0], cmp);
	qsort(read_us, 21, sizeof read_us[0], cmp);
	printf("CA bundle %s: %zu bytes, %d anchors\n", path, b.len, n1);
	printf("  read file:                 %6.2f ms (median of 21)\n", read_us[10] / 1000.0);
	printf("  agent's PEM loader:        %6.2f ms (median of 21)\n", ours[10] / 1000.0);
	printf("  with BearSSL's x509 decoder: %4.2f ms (median of 21, %d keys)\n", dec[10] / 1000.0, n3);
	printf("  BearSSL br_pem_decoder:    %6.2f ms (median of 21, %d anchors)\n", theirs[10] / 1000.0, n2);
	printf("  ratio:                     %6.2fx\n", (double)theirs[10] / (double)(ours[10] ? ours[10] : 1));
	buf_free(&b);
	return 0;
}
