/* URL and proxy parsing. The input is split at NUL bytes into a base URL, a NO_PROXY list and a proxy URL,
 * each an exact-size copy (so a read past its end is caught).
 *   url_parse: on success the parts must be well formed (a host without '/', '@' or, unbracketed, ':'; a
 *   decimal port 1..65535 without leading zeros; a path prefix empty or starting with '/' and not ending
 *   with one, without '?', '#' or ' ') and, written back as a URL, must parse to the same parts; on failure
 *   the error is the usage error with its message.
 *   net_no_proxy: the list against the URL's host and port must agree with an independent reading of the
 *   rules (entries split on ',' and ' '; "*" alone exempts everything; an optional ":port" that must be
 *   the URL's; a leading "*" then "." dropped; the host equal to the entry or ending in "." + entry,
 *   without regard to case), and "*", the host, ".host" and "host:port" must each exempt it.
 *   net_proxy_for, with the proxy URL in HTTPS_PROXY or HTTP_PROXY and the list in NO_PROXY: a usage
 *   error with its message, no proxy, or a host of 1..255 bytes and a port 1..65535. */
#include "fuzz.h"

/* The NO_PROXY rules, written again. */
static int
ref_no_proxy(const char *list, const char *host, const char *port)
{
	size_t hl = strlen(host);
	const char *p = list;
	while (*p) {
		const char *e, *c1, *c2;
		size_t n;
		if (*p == ',' || *p == ' ') {
			p++;
			continue;
		}
		for (e = p; *e && *e != ',' && *e != ' '; e++)
			;
		n = (size_t)(e - p);
		if (n == 1 && *p == '*')
			return 1;
		c1 = memchr(p, ':', n);
		c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
		if (c1 && !c2 && *p != '[') {         /* one colon, not bracketed: a port */
			if ((size_t)(e - c1 - 1) != strlen(port) || memcmp(c1 + 1, port, strlen(port)) != 0) {
				p = e;
				continue;
			}
			n = (size_t)(c1 - p);
		}
		{
			const char *q = p;
			if (n && *q == '*')
				q++, n--;
			if (n && *q == '.')
				q++, n--;
			if (n && hl >= n && strncasecmp(host + hl - n, q, n) == 0 && (hl == n || host[hl - n - 1] == '.'))
				return 1;
		}
		p = e;
	}
	return 0;
}

static char *
part(const uint8_t **d, const uint8_t *end)
{
	const uint8_t *nul = memchr(*d, 0, (size_t)(end - *d));
	size_t n = nul ? (size_t)(nul - *d) : (size_t)(end - *d);
	char *s = malloc(n + 1);
	memcpy(s, *d, n);
	s[n] = 0;
	*d = nul ? nul + 1 : end;
	return s;
}

static void
proxy_check(const struct url *u, const char *list, const char *proxy)
{
	struct proxy px;
	struct ag_err e = {0};
	char *buf;
	size_t hl = strlen(u->host);
	int got = net_no_proxy(list, u->host, u->port), r;
	FUZZ_CHECK(got == ref_no_proxy(list, u->host, u->port), "net_no_proxy('%s', '%s', '%s') = %d", list,
	           u->host, u->port, got);
	FUZZ_CHECK(net_no_proxy("*", u->host, u->port) == 1, "'*'");
	if (isalnum((unsigned char)u->host[0]) && strspn(u->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                                 "0123456789.-") == hl) {   /* a host name */
		buf = malloc(hl + 16);
		FUZZ_CHECK(net_no_proxy(u->host, u->host, u->port) == 1, "NO_PROXY=%s", u->host);
		snprintf(buf, hl + 16, ".%s", u->host);
		FUZZ_CHECK(net_no_proxy(buf, u->host, u->port) == 1, "NO_PROXY=%s", buf);
		snprintf(buf, hl + 16, "%s:%s", u->host, u->port);
		FUZZ_CHECK(net_no_proxy(buf, u->host, u->port) == 1, "NO_PROXY=%s", buf);
		free(buf);
	}
	{
		/* a private environment for the call: setenv would keep every value ever set */
		extern char **environ;
		char **saved = environ, *env[3];
		size_t pl = strlen(proxy), ll = strlen(list);
		env[0] = malloc(pl + 16);
		env[1] = malloc(ll + 16);
		env[2] = NULL;
		snprintf(env[0], pl + 16, "%s=%s", u->tls ? "HTTPS_PROXY" : "HTTP_PROXY", proxy);
		snprintf(env[1], ll + 16, "NO_PROXY=%s", list);
		environ = env;
		r = net_proxy_for(u, &px, &e);
		environ = saved;
		free(env[0]);
		free(env[1]);
	}
	if (r) {
		FUZZ_CHECK(r == AG_E_USAGE && e.code == r && e.msg[0], "net_proxy_for error %d", r);
		return;
	}
	FUZZ_CHECK(px.kind >= PROXY_NONE && px.kind <= PROXY_SOCKS5H, "proxy kind %d", px.kind);
	FUZZ_CHECK(px.kind == PROXY_NONE || !*proxy == 0, "a proxy from an empty variable");
	if (px.kind != PROXY_NONE) {
		unsigned long long port;
		size_t n = strnlen(px.host, sizeof px.host);
		FUZZ_CHECK(n > 0 && n < sizeof px.host, "proxy host length %zu", n);
		FUZZ_CHECK(!str_to_u64(px.port, strlen(px.port), 65535, &port) && port > 0, "proxy port '%s'", px.port);
		FUZZ_CHECK(memchr(px.auth, 0, sizeof px.auth) != NULL, "proxy credentials not terminated");
	}
}

static void
check(const struct url *u, const char *s)
{
	unsigned long long port;
	size_t hl = strlen(u->host), pl = strlen(u->prefix);
	FUZZ_CHECK(u->tls == (strncmp(s, "https://", 8) == 0), "tls flag for '%s'", s);
	FUZZ_CHECK(hl > 0 && hl < sizeof u->host, "host length %zu", hl);
	FUZZ_CHECK(!strchr(u->host, '/') && !strchr(u->host, '@'), "host '%s'", u->host);
	FUZZ_CHECK(!str_to_u64(u->port, strlen(u->port), 65535, &port) && port > 0 && u->port[0] != '0',
	           "port '%s'", u->port);
	FUZZ_CHECK(pl == 0 || (u->prefix[0] == '/' && u->prefix[pl - 1] != '/' && !strpbrk(u->prefix, "?# ")),
	           "prefix '%s'", u->prefix);
	url_host_is_ip(u->host);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url u, u2;
	struct ag_err e = {0}, e2 = {0};
	const uint8_t *d = data, *end = data + size;
	char *s = part(&d, end), *list = part(&d, end), *proxy = part(&d, end), back[1024];
	int r, n, br;
	r = url_parse(s, &u, &e);
	if (r) {
		FUZZ_CHECK(r == AG_E_USAGE && e.code == r && e.msg[0], "error %d (code %d)", r, e.code);
		free(s);
		free(list);
		free(proxy);
		return 0;
	}
	check(&u, s);
	br = strchr(u.host, ':') || u.host[0] == '[';   /* a host that came in brackets goes back in them */
	n = snprintf(back, sizeof back, "%s://%s%s%s:%s%s", u.tls ? "https" : "http", br ? "[" : "", u.host,
	             br ? "]" : "", u.port, u.prefix);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof back, "written back");
	r = url_parse(back, &u2, &e2);
	FUZZ_CHECK(r == 0, "'%s' written back as '%s' does not parse: %s", s, back, e2.msg);
	FUZZ_CHECK(u.tls == u2.tls && !strcmp(u.host, u2.host) && !strcmp(u.port, u2.port) &&
	           !strcmp(u.prefix, u2.prefix), "'%s' written back as '%s' parses differently", s, back);
	proxy_check(&u, list, proxy);
	free(s);
	free(list);
	free(proxy);
	return 0;
}
