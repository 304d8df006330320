/* der_anchor (agent's walk over a certificate for a trust anchor) against BearSSL's generic x509 decoder, the
 * reference it replaced: the input is one DER certificate (an exact-size copy, so a read past it is caught).
 * Where the decoder finds a key without error, der_anchor must give the same subject name, key type, key
 * bytes, curve and CA flag (unless the RSA modulus or exponent is all zeros, which der_anchor refuses). Where only der_anchor finds one (it does not check the parts it skips: dates,
 * the signature), its name must lie inside the input and its key must be a non-empty RSA modulus and
 * exponent without leading zeros, or a point on P-256, P-384 or P-521. */
#include "fuzz.h"

static void
dn_cb(void *ctx, const void *p, size_t n)
{
	buf_add(ctx, p, n);
}

/* An RSA key whose modulus or exponent is all zero bytes: the decoder passes it on, der_anchor refuses it. */
static int
rsa_zero(const br_x509_pkey *pk)
{
	size_t i, nz = 0, ez = 0;
	if (pk->key_type != BR_KEYTYPE_RSA)
		return 0;
	for (i = 0; i < pk->key.rsa.nlen; i++)
		nz |= pk->key.rsa.n[i];
	for (i = 0; i < pk->key.rsa.elen; i++)
		ez |= pk->key.rsa.e[i];
	return !nz || !ez;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	br_x509_decoder_context dc;
	struct buf dn = {0};
	struct der_anchor a;
	const br_x509_pkey *pk;
	unsigned char *der = malloc(size ? size : 1);
	int r;
	memcpy(der, data, size);
	r = der_anchor(der, size, &a);
	br_x509_decoder_init(&dc, dn_cb, &dn);
	br_x509_decoder_push(&dc, der, size);
	pk = br_x509_decoder_get_pkey(&dc);
	if (pk && !br_x509_decoder_last_error(&dc) && dn.len && !rsa_zero(pk)) {
		FUZZ_CHECK(r == 0, "the decoder found a key, der_anchor did not");
		FUZZ_CHECK(a.dnlen == dn.len && !memcmp(a.dn, dn.p, dn.len), "subject name");
		FUZZ_CHECK(a.key_type == pk->key_type && a.ca == br_x509_decoder_isCA(&dc), "key type or CA flag");
		if (pk->key_type == BR_KEYTYPE_RSA)
			FUZZ_CHECK(a.nlen == pk->key.rsa.nlen && !memcmp(a.n, pk->key.rsa.n, a.nlen) &&
			           a.elen == pk->key.rsa.elen && !memcmp(a.e, pk->key.rsa.e, a.elen), "RSA key");
		else
			FUZZ_CHECK(a.curve == pk->key.ec.curve && a.qlen == pk->key.ec.qlen &&
			           !memcmp(a.q, pk->key.ec.q, a.qlen), "EC key");
	}
	if (r == 0) {
		FUZZ_CHECK(a.dn >= der && a.dnlen >= 2 && a.dn + a.dnlen <= der + size, "name inside the input");
		if (a.key_type == BR_KEYTYPE_RSA)
			FUZZ_CHECK(a.nlen && a.elen && a.n[0] && a.e[0] && a.n >= der && a.e + a.elen <= der + size, "RSA");
		else
			FUZZ_CHECK(a.key_type == BR_KEYTYPE_EC && (a.curve == BR_EC_secp256r1 || a.curve == BR_EC_secp384r1 ||
			           a.curve == BR_EC_secp521r1) && a.q >= der && a.q + a.qlen <= der + size, "EC");
	}
	buf_free(&dn);
	free(der);
	return 0;
}
