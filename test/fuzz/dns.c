/* The resolver's parsers. The input's first byte picks the part:
 *   even: a DNS message for net_dns_answer (query id 0x0505, type A or AAAA by the second byte's low bit);
 *     its verdict and addresses must equal those of an independent reading written here (RFC 1035: header,
 *     one question whose type must be the one asked, answer records whose names may end in a pointer;
 *     A records of 4 bytes and AAAA of 16 count, in order, without duplicates, at most NET_ADDRS; records
 *     cut short end the reading, and the answer is ignored when no address came before), and no
 *     byte past the end is read (the message is an exact-size copy).
 *   odd: the rest as the text of resolv.conf, then of a hosts file (split at the first NUL), through
 *     net_conf_lines: at most 3 servers, options within their bounds, the search list terminated, every
 *     hosts address with the port asked for. */
#include "fuzz.h"

static size_t
ref_skip(const uint8_t *m, size_t n, size_t p)
{
	for (;;) {
		if (p >= n)
			return 0;
		if ((m[p] & 0xc0) == 0xc0)
			return p + 2 <= n ? p + 2 : 0;
		if (m[p] & 0xc0)
			return 0;
		if (m[p] == 0)
			return p + 1;
		p += 1 + (size_t)m[p];
	}
}

/* -2 ignore, -1 NXDOMAIN, 0 answer without addresses, 1 addresses (into ips/fams) */
static int
ref_answer(const uint8_t *m, size_t n, unsigned id, unsigned type, uint8_t ips[][16], int *fams, int *count)
{
	size_t p;
	unsigned an, i;
	int found = 0;
	*count = 0;
	if (n < 12 || (unsigned)(m[0] * 256 + m[1]) != id || !(m[2] & 0x80) || m[4] != 0 || m[5] != 1)
		return -2;
	if ((m[3] & 15) == 3)
		return -1;
	if ((m[3] & 15) != 0)
		return -2;
	p = ref_skip(m, n, 12);
	if (!p || p + 4 > n || (unsigned)(m[p] * 256 + m[p + 1]) != type)
		return -2;
	p += 4;
	an = (unsigned)(m[6] * 256 + m[7]);
	for (i = 0; i < an; i++) {
		unsigned t, len;
		int k, dup = 0, fam;
		p = ref_skip(m, n, p);
		if (!p || p + 10 > n)
			return found ? 1 : -2;             /* cut short: kept only when something came before */
		t = (unsigned)(m[p] * 256 + m[p + 1]);
		len = (unsigned)(m[p + 8] * 256 + m[p + 9]);
		p += 10;
		if (p + len > n)
			return found ? 1 : -2;
		fam = t == 1 && len == 4 ? AF_INET : t == 28 && len == 16 ? AF_INET6 : 0;
		if (fam) {
			found = 1;
			for (k = 0; k < *count; k++)
				dup |= fams[k] == fam && memcmp(ips[k], m + p, len) == 0;
			if (!dup && *count < NET_ADDRS) {
				fams[*count] = fam;
				memcpy(ips[*count], m + p, len);
				(*count)++;
			}
		}
		p += len;
	}
	return found ? 1 : (m[2] & 2) ? -2 : 0;   /* truncated (TC) with nothing: ignored */
}

static void
answer(const uint8_t *data, size_t size)
{
	unsigned type = size && (data[0] & 1) ? 28 : 1;
	uint8_t *m = malloc(size ? size : 1), ips[NET_ADDRS][16];
	int fams[NET_ADDRS] = {0}, count, want, got, k;
	struct net_addrs a;
	memcpy(m, data, size);
	a.n = 0;
	got = net_dns_answer(m, size, 0x0505, type, 4321, &a);
	want = ref_answer(m, size, 0x0505, type, ips, fams, &count);
	FUZZ_CHECK(got == want, "verdict %d, reference %d", got, want);
	FUZZ_CHECK(a.n == count, "%d addresses, reference %d", a.n, count);
	for (k = 0; k < a.n && k < count; k++) {
		const union net_sa *s = &a.sa[k];
		FUZZ_CHECK(s->sa.sa_family == fams[k], "address %d family", k);
		if (fams[k] == AF_INET)
			FUZZ_CHECK(memcmp(&s->v4.sin_addr, ips[k], 4) == 0 && s->v4.sin_port == htons(4321), "address %d", k);
		else
			FUZZ_CHECK(memcmp(&s->v6.sin6_addr, ips[k], 16) == 0 && s->v6.sin6_port == htons(4321), "address %d", k);
	}
	free(m);
}

static void
conf(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-dns.XXXXXX";
	const uint8_t *nul = memchr(data, 0, size);
	size_t n1 = nul ? (size_t)(nul - data) : size;
	int fd = mkstemp(path), i;
	struct net_dnsconf c;
	struct net_addrs a = {0};
	struct net_hosts_ctx h = { "h.example", 99, &a };
	if (fd < 0)
		return;
	if (write(fd, data, n1) != (ssize_t)n1) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	net_dns_conf(&c, path);
	FUZZ_CHECK(c.nns >= 1 && c.nns <= 3, "%d servers (127.0.0.1 when none is named)", c.nns);
	FUZZ_CHECK(c.timeout_s >= 1 && c.timeout_s <= 60 && c.attempts >= 1 && c.attempts <= 10 && c.ndots >= 0 &&
	           c.ndots <= 15, "options %d %d %d", c.timeout_s, c.attempts, c.ndots);
	FUZZ_CHECK(memchr(c.search, 0, sizeof c.search) && memchr(c.first, 0, sizeof c.first), "terminated");
	for (i = 0; i < c.nns; i++)
		FUZZ_CHECK((c.ns[i].sa.sa_family == AF_INET || c.ns[i].sa.sa_family == AF_INET6) &&
		           (c.ns[i].sa.sa_family == AF_INET ? c.ns[i].v4.sin_port : c.ns[i].v6.sin6_port) == htons(53),
		           "server %d", i);
	if (nul) {
		fd = open(path, O_WRONLY | O_TRUNC);
		if (fd >= 0) {
			if (write(fd, nul + 1, size - n1 - 1) < 0)
				size = 0;
			close(fd);
			net_conf_lines(path, net_hosts_line, &h);
			FUZZ_CHECK(a.n >= 0 && a.n <= NET_ADDRS, "%d hosts addresses", a.n);
			for (i = 0; i < a.n; i++)
				FUZZ_CHECK((a.sa[i].sa.sa_family == AF_INET ? a.sa[i].v4.sin_port : a.sa[i].v6.sin6_port) ==
				           htons(99), "hosts address %d port", i);
		}
	}
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		conf(data + 1, size - 1);
	else
		answer(data + 1, size - 1);
	return 0;
}
