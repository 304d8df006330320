/* Amazon Bedrock's pieces: Signature Version 4 against AWS's published test-suite signatures (AKIDEXAMPLE,
 * 2015-08-30, service "service"), the credential files and times, and the event-stream decoder fed whole, a
 * byte at a time and at random split points, with corrupt, oversized and exception messages. */
#include "t_util.h"

static struct api a;
static struct api_msg m;
static struct ag_err e;

/* The Authorization header's signature of one request as the AWS test suite signs it (host;x-amz-date). */
static void
sig_of(const char *method, const char *path, const char *query, const char *payload, char out[65])
{
	struct api_aws k;
	struct buf hd = {0};
	char hex[65];
	const char *s;
	memset(&k, 0, sizeof k);
	strcpy(k.akid, "AKIDEXAMPLE");
	strcpy(k.secret, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	strcpy(k.region, "us-east-1");
	api_sha256_hex(payload, strlen(payload), hex);
	api_sigv4(&k, "service", method, "example.amazonaws.com", path, query, NULL, hex, 0, "20150830T123600Z", &hd);
	s = strstr(hd.p ? hd.p : "", "Signature=");
	snprintf(out, 65, "%.64s", s ? s + 10 : "");
	T_CHECK(strstr(hd.p, "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date,")
	        != NULL, "SigV4 %s %s: credential scope and signed headers", method, path);
	buf_free(&hd);
}

/* One event-stream message: headers (name, string value) pairs, payload; crc_bad corrupts the message CRC. */
static void
es_frame(struct buf *out, const char *const *hdrs, int nh, const char *payload, int crc_bad)
{
	struct buf h = {0};
	unsigned char pre[12], crc[4];
	uint32_t total, c;
	int i;
	for (i = 0; i < nh; i++) {
		unsigned char l = (unsigned char)strlen(hdrs[2 * i]), t = 7, vl[2];
		size_t n = strlen(hdrs[2 * i + 1]);
		buf_add(&h, &l, 1);
		buf_adds(&h, hdrs[2 * i]);
		buf_add(&h, &t, 1);
		vl[0] = (unsigned char)(n >> 8);
		vl[1] = (unsigned char)n;
		buf_add(&h, vl, 2);
		buf_adds(&h, hdrs[2 * i + 1]);
	}
	total = (uint32_t)(12 + h.len + strlen(payload) + 4);
	for (i = 0; i < 4; i++) {
		pre[i] = (unsigned char)(total >> (24 - 8 * i));
		pre[4 + i] = (unsigned char)(h.len >> (24 - 8 * i));
	}
	c = api_crc32(0, pre, 8);
	for (i = 0; i < 4; i++)
		pre[8 + i] = (unsigned char)(c >> (24 - 8 * i));
	{
		size_t start = out->len;
		buf_add(out, pre, 12);
		buf_add(out, h.p ? h.p : "", h.len);
		buf_adds(out, payload);
		c = api_crc32(0, (unsigned char *)out->p + start, out->len - start) ^ (crc_bad ? 1u : 0u);
	}
	for (i = 0; i < 4; i++)
		crc[i] = (unsigned char)(c >> (24 - 8 * i));
	buf_add(out, crc, 4);
	buf_free(&h);
}

/* A chunk carrying one Messages API event. */
static void
es_chunk(struct buf *out, const char *event_json, int crc_bad)
{
	static const char *const hd[] = { ":event-type", "chunk", ":content-type", "application/json", ":message-type", "event" };
	struct buf p = {0};
	buf_adds(&p, "{\"bytes\":\"");
	b64_encode((const unsigned char *)event_json, strlen(event_json), &p);
	buf_adds(&p, "\",\"p\":\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0\"}");
	es_frame(out, hd, 3, p.p, crc_bad);
	buf_free(&p);
}

static void
es_answer(struct buf *out, const char *text)
{
	char ev[512];
	es_chunk(out, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
	         "\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}", 0);
	es_chunk(out, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}", 0);
	snprintf(ev, sizeof ev, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"%s\"}}",
	         text);
	es_chunk(out, ev, 0);
	es_chunk(out, "{\"type\":\"content_block_stop\",\"index\":0}", 0);
	es_chunk(out, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}", 0);
	es_chunk(out, "{\"type\":\"message_stop\"}", 0);
}

/* Feed bytes in pieces of at most step (0: random); the result code. */
static int
feed(const struct buf *b, size_t step)
{
	static struct api_cfg cfg;
	size_t i = 0;
	int r = 0;
	memset(&e, 0, sizeof e);
	a.cfg = &cfg;
	a.e = &e;
	a.msg = &m;
	a.esn = 0;
	a.stream_error[0] = 0;
	api_msg_reset(&m);
	while (i < b->len && !r) {
		size_t n = step ? step : 1 + t_rand() % 97;
		if (n > b->len - i)
			n = b->len - i;
		r = api_es_feed(&a, (const unsigned char *)b->p + i, n);
		i += n;
	}
	return r;
}

static const char *
text_of(void)
{
	static struct buf t;
	t.len = 0;
	if (m.nb > 0)
		api_text_plain(&m.b[0], &t);
	buf_add(&t, "", 0);
	return t.p ? t.p : "";
}

/* A throwaway 1024-bit test key (PKCS#8), made with openssl genpkey for this test only. */
static const char test_key_b64[] =
	"MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAM6wAsx03a/tNOX4Nz0GefO9GVul0HvkZp09RkYyZvnWRwvV"
	"srOJSyPpfVz/v59c31RJqoIr3UhfrDm9EYRzpQZCU4H9lstvhgy/zH2+yT+ndMvQIthnLuOiIAInm/ivUsxp/h+thp0xXaR6"
	"259QjHrhKzmlhEbzVFKqieDw3iP3AgMBAAECgYB3F4/lQwlhjypFwAoEDbFDMhhkaFyCpo5B18agN/aBymfRd+ap8Fftb2Ie"
	"rfY52weLx46JxsCQLSBNfJWVXhUdRjRap2pleCYvFhxdcZUz2jccOb0aTrF4AFSgXslgbzJnwd4H7UhlGROwg4Hhkpu6Nv1c"
	"PO5PuwNNxLKUHGCNsQJBAPlXXyCiJ/t7v7KjgRb4omCNWONte6XnLpKCYUSiszNUdq6mGoRjzzxnHrVP+Fj+dDqeMiwFM+Hm"
	"x8M49iNlgxMCQQDUNQkrziqu35U/vMdbZOwVYa0/fP+3nUVaX6W3q1QK2tT9s3luLJdcJvTnRtJIjwKa8paf1h3BwCLlQLkF"
	"wxQNAkEAhaXHX36LX8jc36u0LdPndUlOM9kjRbG8zNsFt/xdgU3sr4BpBj1Zf07mrtjGjS0Wr7TLv7yqKpPAz2tgw2hN8QJB"
	"AIMfLkaKAqfBcWhLzmczqgjgLPvQ0fVz0TmxZiViUPDQHNGSh1LDbNc9HxCVGzRIYZS6lsW2uPZSMX20i177FjUCQDApMapR"
	"uPbmpdJSTktQpv0t3Kumm4W34NVVQI1X0TFtJEM0jHbOv87utG67jq5Xa/V/B121BAbIa72bFzwQSDs=";

/* The service account's RSA key: PKCS#8 read, a signature made with it verified by BearSSL's RSA public
 * operation with the key's own n and e, and every truncation of the key refused without reading past it. */
static void
t_rsa(void)
{
	unsigned char der[2048], *cut, h[32], sig[128], back[32];
	long n = b64_decode(test_key_b64, strlen(test_key_b64), der, sizeof der);
	br_rsa_private_key sk;
	br_rsa_public_key pk;
	const unsigned char *p = der, *c, *ne[2];
	size_t pn, cl, nel[2], i;
	int bad = 0, ok;
	T_CHECK(n > 0 && api_rsa_key(der, (size_t)n, &sk) == 0 && sk.n_bitlen == 1024, "PKCS#8 key read (%u bits)",
	        n > 0 ? (unsigned)sk.n_bitlen : 0);
	/* n and e, the first two INTEGERs after the version inside the OCTET STRING */
	pn = (size_t)n;
	der_next(&p, &pn, &c, &cl), p = c, pn = cl;
	der_next(&p, &pn, &c, &cl), der_next(&p, &pn, &c, &cl), der_next(&p, &pn, &c, &cl);
	p = c, pn = cl, der_next(&p, &pn, &c, &cl), p = c, pn = cl, der_next(&p, &pn, &c, &cl);
	der_next(&p, &pn, &ne[0], &nel[0]), der_next(&p, &pn, &ne[1], &nel[1]);
	pk.n = (unsigned char *)ne[0] + (ne[0][0] == 0), pk.nlen = nel[0] - (ne[0][0] == 0);
	pk.e = (unsigned char *)ne[1], pk.elen = nel[1];
	memset(h, 7, sizeof h);
	ok = br_rsa_i31_pkcs1_sign(BR_HASH_OID_SHA256, h, 32, &sk, sig);
	T_CHECK(ok && br_rsa_i31_pkcs1_vrfy(sig, 128, BR_HASH_OID_SHA256, 32, &pk, back) && !memcmp(back, h, 32),
	        "a PKCS#1 v1.5 SHA-256 signature made with it verifies with its public key");
	for (i = 0; i < (size_t)n; i++) {            /* each on its own heap block: ASan sees a read past it */
		cut = malloc(i ? i : 1);
		memcpy(cut, der, i);
		bad += api_rsa_key(cut, i, &sk) == 0;
		free(cut);
	}
	T_CHECK(bad == 0, "every truncation of the key is refused (%d read as keys)", bad);
}

int
main(void)
{
	char sig[65];
	struct buf b = {0};
	size_t steps[] = { 1 << 20, 1, 0 };
	int k;

	t_rsa();
	/* AWS's test suite (its published signatures) */
	sig_of("GET", "/", "", "", sig);
	T_CHECK(!strcmp(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), "SigV4 get-vanilla: %s", sig);
	sig_of("GET", "/", "Param2=value2&Param1=value1", "", sig);
	T_CHECK(!strcmp(sig, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
	        "SigV4 get-vanilla-query-order-key-case (the query sorted): %s", sig);
	sig_of("POST", "/", "", "", sig);
	T_CHECK(!strcmp(sig, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"), "SigV4 post-vanilla: %s", sig);
	sig_of("GET", "/\xe1\x88\xb4", "", "", sig);
	T_CHECK(!strncmp(sig, "8318018e0b0f223aa2bbf98705b6", 28), "SigV4 get-utf8 (the path percent-encoded): %s", sig);

	/* times */
	T_CHECK(api_iso_time("2015-08-30T12:36:00Z") == 1440938160LL, "ISO 8601 Expiration");
	T_CHECK(api_iso_time("2015-08-30T12:36:00.123+00:00") == 1440938160LL, "ISO 8601 with a fraction and an offset");
	T_CHECK(api_iso_time("soon") == 0, "a time that is not one is 0");
	{
		char d[17];
		api_amz_date(1440938160LL, d);
		T_CHECK(!strcmp(d, "20150830T123600Z"), "x-amz-date: %s", d);
	}
	T_CHECK(api_crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u, "CRC-32 check value");

	/* credential files: sections, spacing, comments, another profile's keys never taken */
	{
		char path[] = "/tmp/agent-t-aws-XXXXXX", v[128];
		int fd = mkstemp(path);
		static const char ini[] = "[default]\naws_access_key_id = AKIDDEFAULT\n\n[profile dev]\n  aws_access_key_id=AKIDDEV  \r\n"
		                          "# aws_secret_access_key = nope\naws_secret_access_key\t=\tSECRETDEV\n[devx]\naws_access_key_id = X\n";
		T_CHECK(fd >= 0 && write(fd, ini, sizeof ini - 1) == (ssize_t)(sizeof ini - 1), "INI file written");
		close(fd);
		T_CHECK(!api_ini_get(path, "profile dev", "aws_access_key_id", v, sizeof v) && !strcmp(v, "AKIDDEV"), "INI key: %s", v);
		T_CHECK(!api_ini_get(path, "profile dev", "aws_secret_access_key", v, sizeof v) && !strcmp(v, "SECRETDEV"),
		        "INI key after a comment and tabs: %s", v);
		T_CHECK(api_ini_get(path, "profile dev", "region", v, sizeof v) != 0, "INI: a key the section lacks");
		T_CHECK(!api_ini_get(path, "default", "aws_access_key_id", v, sizeof v) && !strcmp(v, "AKIDDEFAULT"), "INI default");
		unlink(path);
	}

	/* the event stream, three ways */
	es_answer(&b, "Hello from Bedrock");
	for (k = 0; k < 3; k++) {
		unsigned seed = t_seed;
		int r = feed(&b, steps[k]);
		T_CHECK(r == 0 && m.stopped && !strcmp(text_of(), "Hello from Bedrock"),
		        "event stream fed %s (seed %u): r=%d stopped=%d text='%s' %s", k == 0 ? "whole" : k == 1 ? "a byte at a time" :
		        "at random splits", seed, r, m.stopped, text_of(), e.msg);
	}
	/* a corrupt message CRC, a corrupt prelude, an oversized message: a cut stream (retried), never a crash */
	b.len = 0;
	es_chunk(&b, "{\"type\":\"message_stop\"}", 1);
	T_CHECK(feed(&b, 7) == AG_E_CLOSED && strstr(e.msg, "message CRC"), "a message CRC mismatch is a cut stream: %s", e.msg);
	b.len = 0;
	es_answer(&b, "x");
	b.p[9] ^= 0x40;
	T_CHECK(feed(&b, 0) == AG_E_CLOSED && strstr(e.msg, "prelude"), "a prelude CRC mismatch is a cut stream: %s", e.msg);
	{
		unsigned char big[12] = { 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
		uint32_t c = api_crc32(0, big, 8);
		struct buf o = {0};
		big[8] = (unsigned char)(c >> 24), big[9] = (unsigned char)(c >> 16), big[10] = (unsigned char)(c >> 8), big[11] = (unsigned char)c;
		buf_add(&o, big, 12);
		T_CHECK(feed(&o, 5) == AG_E_TOOBIG && strstr(e.msg, "event-stream message of"), "an oversized message is refused: %s", e.msg);
		buf_free(&o);
	}
	/* exceptions: the retry policy sees their type */
	{
		static const char *const th[] = { ":message-type", "exception", ":exception-type", "throttlingException",
		                                  ":content-type", "application/json" };
		static const char *const vh[] = { ":message-type", "exception", ":exception-type", "validationException" };
		long long d;
		b.len = 0;
		es_frame(&b, th, 3, "{\"message\":\"Too many requests, please wait before trying again.\"}", 0);
		T_CHECK(feed(&b, 3) == AG_E_API && strstr(e.msg, "throttlingException: Too many requests") &&
		        api_should_retry(&a, AG_E_API, 0, &d), "throttlingException: retried (%s)", e.msg);
		b.len = 0;
		es_frame(&b, vh, 2, "{\"message\":\"bad input\"}", 0);
		T_CHECK(feed(&b, 0) == AG_E_API && !api_should_retry(&a, AG_E_API, 0, &d), "validationException: not retried (%s)", e.msg);
	}
	/* other event types and headers of every type are skipped, the stream goes on */
	{
		static const char *const other[] = { ":event-type", "ping", ":message-type", "event" };
		b.len = 0;
		es_frame(&b, other, 2, "{}", 0);
		es_answer(&b, "after a ping");
		T_CHECK(feed(&b, 0) == 0 && !strcmp(text_of(), "after a ping"), "an unknown event type is skipped");
	}
	buf_free(&b);
	api_msg_free(&m);
	return t_done();
}
