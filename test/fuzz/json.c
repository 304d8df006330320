/* JSON helpers: json_parse on the input must agree with an independent strict validator (fuzz.h); then
 * every token is walked with json_skip, json_get, json_str, json_str_buf, json_eq and json_int; json_copy
 * of the whole document must be valid JSON that json_parse reads back with the same shape, and copying
 * that again must give the same bytes. json_parse_alloc must agree with json_parse on a large pool, and a pool one
 * token short must give AG_E_TOOBIG. */
#include "fuzz.h"

#define POOL 8192
static jsmntok_t pool[POOL], pool2[POOL];
static struct buf out1, out2, sb;

/* The raw text of token i as a C string, when it holds no NUL and fits. */
static int
raw_key(const struct json *j, int i, char *out, size_t cap)
{
	size_t n = (size_t)(j->t[i].end - j->t[i].start);
	if (n >= cap || memchr(j->s + j->t[i].start, 0, n))
		return 0;
	memcpy(out, j->s + j->t[i].start, n);
	out[n] = 0;
	return 1;
}

static void
walk(const struct json *j)
{
	int i, k;
	for (i = 0; i < j->n; i++) {
		const jsmntok_t *t = &j->t[i];
		int end = json_skip(j, i);
		char key[256], small[48];
		FUZZ_CHECK(end > i && end <= j->n, "json_skip(%d) = %d of %d", i, end, j->n);
		FUZZ_CHECK(t->start >= 0 && t->end >= t->start && (size_t)t->end <= j->len, "token %d span", i);
		if (t->type == JSMN_OBJECT) {
			int c = i + 1;
			for (k = 0; k < t->size && c < j->n; k++) {
				if (j->t[c].type == JSMN_STRING && raw_key(j, c, key, sizeof key)) {
					int v = json_get(j, i, key), first = -1, c2 = i + 1, m;
					for (m = 0; m <= k; m++) {   /* the first key with this raw text */
						if (j->t[c2].type == JSMN_STRING &&
						    (size_t)(j->t[c2].end - j->t[c2].start) == strlen(key) &&
						    memcmp(j->s + j->t[c2].start, key, strlen(key)) == 0) {
							first = c2 + 1;
							break;
						}
						c2 = json_skip(j, c2 + 1);
					}
					FUZZ_CHECK(v == first, "json_get(%d, '%s') = %d, expected %d", i, key, v, first);
				}
				c = json_skip(j, c + 1);
			}
		} else if (t->type == JSMN_STRING) {
			size_t n = (size_t)(t->end - t->start);
			int r1, r2;
			sb.len = 0;
			r1 = json_str_buf(j, i, &sb);
			r2 = json_str(j, i, small, sizeof small);
			if (r1 == 0) {
				FUZZ_CHECK(sb.len <= n, "unescaping grew %zu -> %zu", n, sb.len);
				if (n <= 1024) {       /* json_str cuts at 1024 raw bytes; below that it agrees */
					size_t m = sb.len < sizeof small - 1 ? sb.len : sizeof small - 1;
					FUZZ_CHECK(r2 == 0 && memcmp(small, sb.p, m) == 0 && small[m] == 0,
					           "json_str and json_str_buf differ on token %d", i);
				}
			}
			if (raw_key(j, i, key, sizeof key))
				FUZZ_CHECK(json_eq(j, i, key), "json_eq on its own raw text");
		} else if (t->type == JSMN_PRIMITIVE) {
			long long v;
			const char *s = j->s + t->start;
			size_t n = (size_t)(t->end - t->start);
			if (json_int(j, i, &v) == 0) {
				char tmp[32];
				FUZZ_CHECK(n < sizeof tmp, "json_int took %zu characters", n);
				memcpy(tmp, s, n);
				tmp[n] = 0;
				errno = 0;
				FUZZ_CHECK(strtoll(tmp, NULL, 10) == v && errno == 0, "json_int('%s') = %lld", tmp, v);
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json j, j2, j3;
	jsmntok_t *ap = NULL;
	struct jw w;
	const char *s = (const char *)data;
	int n, n2, ref, i;
	n = json_parse(&j, s, size, pool, POOL);
	ref = ref_json_valid(data, size, 0);
	FUZZ_CHECK(n != 0, "json_parse returned 0");
	if (n < 0) {
		FUZZ_CHECK(n == AG_E_INVAL || n == AG_E_TOOBIG, "json_parse error %d", n);
		/* valid JSON refused (a NUL byte or an over-full pool aside) */
		FUZZ_CHECK(ref != 1 || n == AG_E_TOOBIG, "json_parse refused valid JSON");
		return 0;
	}
	/* what json_parse accepts is JSON: RFC 8259 exactly */
	FUZZ_CHECK(ref == 1, "json_parse accepted what is not JSON");
	FUZZ_CHECK(json_skip(&j, 0) == n, "one top-level value");
	walk(&j);

	/* json_parse_alloc sizes its pool by a counting pass: the same tokens */
	n2 = json_parse_alloc(&j3, s, size, &ap);
	FUZZ_CHECK(n2 == n, "json_parse_alloc = %d, json_parse = %d", n2, n);
	free(ap);
	if (n > 1)
		FUZZ_CHECK(json_parse(&j3, s, size, pool2, n - 1) == AG_E_TOOBIG, "a pool one token short");

	/* json_copy re-serialises: valid, same shape, a fixed point */
	out1.len = 0;
	jw_init(&w, jw_sink_buf, &out1);
	json_copy(&w, &j, 0);
	if (w.err) {
		FUZZ_CHECK(w.err == AG_E_TOOBIG, "json_copy failed (%d) on valid JSON", w.err);
		return 0;
	}
	FUZZ_CHECK(ref_json_valid(out1.p, out1.len, REF_UTF8) == 1, "json_copy wrote invalid JSON: %.200s", out1.p);
	n2 = json_parse(&j2, out1.p, out1.len, pool2, POOL);
	FUZZ_CHECK(n2 > 0, "json_parse refused json_copy's output: %.200s", out1.p);
	FUZZ_CHECK(n2 == n, "json_copy changed the token count %d -> %d", n, n2);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(pool[i].type == pool2[i].type && pool[i].size == pool2[i].size, "json_copy changed token %d", i);
	out2.len = 0;
	jw_init(&w, jw_sink_buf, &out2);
	json_copy(&w, &j2, 0);
	FUZZ_CHECK(!w.err && out2.len == out1.len && memcmp(out1.p, out2.p, out1.len) == 0,
	           "json_copy is not a fixed point: %.200s", out1.p);
	return 0;
}
