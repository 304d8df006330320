/* JSON: token lookups, unescape, the writer's escaping and UTF-8 repair, json_copy, hostile inputs. */
#include "t_util.h"

static jsmntok_t pool[4096];

static int
parses(const char *s)
{
	struct json j;
	return json_parse(&j, s, strlen(s), pool, 4096) > 0;
}

static char *
write_str(const char *s, size_t n)
{
	static struct buf b;
	struct jw w;
	b.len = 0;
	jw_init(&w, jw_sink_buf, &b);
	jw_strn(&w, s, n);
	return b.p;
}

/* Writer output must parse and unescape back to the input (when the input was valid UTF-8). */
static int
roundtrip(const char *s, size_t n)
{
	char *out = write_str(s, n), back[512];
	struct json j;
	long r;
	if (json_parse(&j, out, strlen(out), pool, 4096) != 1 || j.t[0].type != JSMN_STRING)
		return 0;
	r = json_unescape(out + j.t[0].start, (size_t)(j.t[0].end - j.t[0].start), back);
	return r == (long)n && memcmp(back, s, n) == 0;
}

int
main(void)
{
	struct json j;
	char out[256];
	long n;
	int r, i;

	/* lookups */
	{
		const char *s = "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\","
		                "\"text\":\"hi\"},\"arr\":[{\"a\":[1,{\"b\":2}]},5],\"last\":null}";
		long long v;
		r = json_parse(&j, s, strlen(s), pool, 4096);
		T_CHECK(r > 0 && json_eq(&j, json_get(&j, 0, "type"), "content_block_delta"), "json_get on a top-level key");
		T_CHECK(json_int(&j, json_get(&j, 0, "index"), &v) == 0 && v == 3, "json_int reads an integer");
		T_CHECK(json_eq(&j, json_path(&j, 0, "delta.text"), "hi"), "json_path follows nested keys");
		T_CHECK(json_get(&j, 0, "last") > 0 && json_get(&j, 0, "missing") == -1, "keys after nested arrays are found; missing is -1");
		T_CHECK(json_get(&j, json_get(&j, 0, "index"), "x") == -1, "json_get on a non-object is -1");
		T_CHECK(json_skip(&j, 0) == j.n, "json_skip of the root covers every token");
	}
	/* strictness */
	T_CHECK(!parses("{\"a\":1} {\"b\":2}"), "two top-level values rejected");
	T_CHECK(!parses("{\"a\":1} x"), "trailing garbage rejected");
	T_CHECK(parses("  {\"a\":1}  \r\n"), "surrounding whitespace accepted");
	T_CHECK(!parses("{\"a\":1"), "truncated object rejected");
	T_CHECK(!parses("{\"a\" 1}"), "missing colon rejected");
	T_CHECK(!parses("{\"a\":\"\\x\"}"), "invalid escape rejected");
	T_CHECK(!parses("{\"a\":tru}"), "bad literal rejected");
	T_CHECK(!parses("hello"), "bare word rejected");
	T_CHECK(!parses(""), "empty input rejected");
	T_CHECK(parses("\"s\"") && parses("42") && parses("[]") && parses("{}"), "scalars and empty containers accepted");

	/* pool exhaustion and deep nesting: an error, never a crash */
	{
		static char deep[200001];
		static jsmntok_t small[16];
		memset(deep, '[', 100000);
		memset(deep + 100000, ']', 100000);
		r = json_parse(&j, deep, 200000, pool, 4096);
		T_CHECK(r == AG_E_TOOBIG, "100000 nested arrays: pool exhaustion reported (%d)", r);
		r = json_parse(&j, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", 43, small, 16);
		T_CHECK(r == AG_E_TOOBIG, "more values than the pool holds: AG_E_TOOBIG");
		memset(deep, '[', 3000);
		memset(deep + 3000, ']', 3000);
		r = json_parse(&j, deep, 6000, pool, 4096);
		T_CHECK(r == 3000 && json_skip(&j, 0) == 3000, "3000 nested arrays parse and skip without recursion");
		{
			struct buf b = {0};
			struct jw w;
			jw_init(&w, jw_sink_buf, &b);
			T_CHECK(json_copy(&w, &j, 0) == AG_E_TOOBIG, "json_copy refuses nesting deeper than AG_JSON_DEPTH");
			buf_free(&b);
		}
	}

	/* unescape */
	n = json_unescape("a\\n\\t\\\"\\\\\\/\\b\\f\\r", 17, out);
	T_CHECK(n == 9 && memcmp(out, "a\n\t\"\\/\b\f\r", 9) == 0, "simple escapes");
	n = json_unescape("\\u00e9\\u4e2d", 12, out);
	T_CHECK(n == 5 && memcmp(out, "\xC3\xA9\xE4\xB8\xAD", 5) == 0, "\\u escapes to 2- and 3-byte UTF-8");
	n = json_unescape("\\ud83c\\udf89", 12, out);
	T_CHECK(n == 4 && memcmp(out, "\xF0\x9F\x8E\x89", 4) == 0, "surrogate pair to one 4-byte character");
	n = json_unescape("\\ud800", 6, out);
	T_CHECK(n == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "lone high surrogate becomes U+FFFD");
	n = json_unescape("\\udc00x", 7, out);
	T_CHECK(n == 4 && memcmp(out, "\xEF\xBF\xBDx", 4) == 0, "lone low surrogate becomes U+FFFD");
	n = json_unescape("\\ud800\\u0041", 12, out);
	T_CHECK(n == 4 && memcmp(out, "\xEF\xBF\xBD" "A", 4) == 0, "high surrogate followed by a non-surrogate");
	n = json_unescape("\\u00", 4, out);
	T_CHECK(n < 0, "truncated \\u rejected");
	n = json_unescape("abc\\", 4, out);
	T_CHECK(n < 0, "trailing backslash rejected");
	n = json_unescape("\xff\xfe", 2, out);
	T_CHECK(n == 2 && (unsigned char)out[0] == 0xff, "raw bytes pass through unescape unchanged");

	/* writer */
	T_CHECK(strcmp(write_str("a\"b\\c\n\r\t\b\f\x01\x1f", 12), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\"") == 0,
	        "control characters and quotes escaped");
	T_CHECK(strcmp(write_str("\xff", 1), "\"\xEF\xBF\xBD\"") == 0, "invalid byte 0xFF becomes U+FFFD");
	T_CHECK(strcmp(write_str("\xC0\xAF", 2), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"") == 0, "overlong encoding replaced");
	T_CHECK(strcmp(write_str("\xED\xA0\x80", 3), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") == 0, "encoded surrogate replaced");
	T_CHECK(strcmp(write_str("\xF4\x90\x80\x80", 4), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") == 0,
	        "code point above U+10FFFF replaced");
	T_CHECK(strcmp(write_str("\xE4\xB8", 2), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"") == 0, "truncated sequence at the end replaced");
	T_CHECK(roundtrip("h\xC3\xA9llo \xE6\x97\xA5 \xF0\x9F\x8E\x89 \x7f", 17), "valid UTF-8 and DEL round-trip");
	{
		/* 2000 random byte strings: the output always parses as one JSON string */
		char s[64];
		int ok = 1;
		for (i = 0; i < 2000 && ok; i++) {
			int k, len = (int)(t_rand() % 64);
			char *o;
			for (k = 0; k < len; k++)
				s[k] = (char)t_rand();
			o = write_str(s, (size_t)len);
			ok = json_parse(&j, o, strlen(o), pool, 4096) == 1 && j.t[0].type == JSMN_STRING;
		}
		T_CHECK(ok, "random bytes always become a valid JSON string (seed 12345, case %d)", i);
	}
	{
		struct buf b = {0};
		struct jw w;
		jw_init(&w, jw_sink_buf, &b);
		jw_open(&w, '{');
		jw_key(&w, "a");
		jw_int(&w, -5);
		jw_key(&w, "b");
		jw_open(&w, '[');
		jw_bool(&w, 1);
		jw_str(&w, "x");
		jw_open(&w, '{');
		jw_close(&w, '}');
		jw_close(&w, ']');
		jw_close(&w, '}');
		T_CHECK(b.p && strcmp(b.p, "{\"a\":-5,\"b\":[true,\"x\",{}]}") == 0, "writer places commas and colons");
		buf_free(&b);
		jw_init(&w, NULL, NULL);
		jw_str(&w, "abc\n");
		T_CHECK(w.n == 7, "a NULL sink counts bytes (for Content-Length)");
	}
	/* json_copy re-serialises and normalises */
	{
		const char *s = "{ \"a\" : [1, -2.5e3, true, null, \"x\\u00e9\\n\"], \"b\":{\"c\":{}} , \"d\":[] }";
		struct buf b = {0};
		struct jw w;
		r = json_parse(&j, s, strlen(s), pool, 4096);
		jw_init(&w, jw_sink_buf, &b);
		T_CHECK(r > 0 && json_copy(&w, &j, 0) == 0 && b.p &&
		        strcmp(b.p, "{\"a\":[1,-2.5e3,true,null,\"x\xC3\xA9\\n\"],\"b\":{\"c\":{}},\"d\":[]}") == 0,
		        "json_copy compacts and re-escapes (%s)", b.p ? b.p : "null");
		buf_free(&b);
	}
	return t_done();
}
