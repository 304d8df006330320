/* Benchmark (not a test): decode the system CA bundle with agent's PEM loader and with BearSSL's generic
 * br_pem_decoder feeding the same DER-to-anchor step; prints the median of 21 runs of each. */
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

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/ssl/certs/ca-certificates.crt";
	struct buf b = {0};
	long long ours[21], theirs[21], t0, read_us[21];
	int i, n1 = 0, n2 = 0;
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
	}
	qsort(ours, 21, sizeof ours[0], cmp);
	qsort(theirs, 21, sizeof theirs[0], cmp);
	qsort(read_us, 21, sizeof read_us[0], cmp);
	printf("CA bundle %s: %zu bytes, %d anchors\n", path, b.len, n1);
	printf("  read file:                 %6.2f ms (median of 21)\n", read_us[10] / 1000.0);
	printf("  agent's PEM loader:        %6.2f ms (median of 21)\n", ours[10] / 1000.0);
	printf("  BearSSL br_pem_decoder:    %6.2f ms (median of 21, %d anchors)\n", theirs[10] / 1000.0, n2);
	printf("  ratio:                     %6.2fx\n", (double)theirs[10] / (double)(ours[10] ? ours[10] : 1));
	buf_free(&b);
	return 0;
}
