/* Shared by the libFuzzer harnesses in test/fuzz/: agent.c whole (through t_util.h, so every static function
 * is reachable), a strict reference JSON validator to hold the agent's output against, a deterministic
 * splitter for "feed it in pieces" checks, and the switch for known open bugs.
 *
 * Build (test/fuzz.sh does this):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I build -I/usr/include/bearssl \
 *         test/fuzz/NAME.c /usr/lib/x86_64-linux-gnu/libbearssl.a
 *
 * A harness aborts (a crash libFuzzer saves) on any broken invariant. A few checks guard bugs that are known
 * and still open in agent.c (listed in test/fuzz/KNOWN): with AG_FUZZ_KNOWN=1 in the environment those few
 * are let through, each by a narrow test of the input, so that fuzzing goes on looking for new bugs; without
 * it (replaying test/fuzz/regress/) they fail, so a fix shows and a regression is caught. */
#include "../t_util.h"

#define FUZZ_FAIL(...) do { \
	fprintf(stderr, "\nFUZZ INVARIANT BROKEN at %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n"); \
	abort(); \
} while (0)

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) FUZZ_FAIL("(" #cond ") " __VA_ARGS__); } while (0)

/* AG_FUZZ_KNOWN=1: tolerate the open bugs listed in test/fuzz/KNOWN (each guarded by its own predicate). */
static int
fuzz_known(void)
{
	static int v = -1;
	if (v < 0) {
		const char *e = getenv("AG_FUZZ_KNOWN");
		v = e && *e && *e != '0';
	}
	return v;
}

/* ---- a strict RFC 8259 validator, independent of jsmn ---- */

/* Length of one well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), or 0. */
static size_t
ref_utf8(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, k, i;
	if (c < 0x80)
		return 1;
	if (c < 0xC2 || c > 0xF4)
		return 0;
	k = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (n < k)
		return 0;
	cp = c & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return k;
}

static int
ref_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

#define REF_UTF8 1              /* strings must be well-formed UTF-8 (RFC 8259 section 8.1) */
#define REF_CTRL 2              /* let raw control characters (but NUL) into strings, as jsmn does */

/* One string starting at s[*i] == '"'; *i ends past the closing quote. */
static int
ref_string(const unsigned char *s, size_t n, size_t *i, int flags)
{
	size_t p = *i + 1;
	while (p < n) {
		unsigned char c = s[p];
		if (c == '"') {
			*i = p + 1;
			return 1;
		}
		if (c < 0x20 && (c == 0 || !(flags & REF_CTRL)))
			return 0;
		if (c == '\\') {
			if (p + 1 >= n)
				return 0;
			c = s[p + 1];
			if (c == 'u') {
				int k;
				if (p + 6 > n)
					return 0;
				for (k = 2; k < 6; k++)
					if (!isxdigit(s[p + k]))
						return 0;
				p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == 0)
				return 0;
			p += 2;
			continue;
		}
		if (c >= 0x80 && (flags & REF_UTF8)) {
			size_t l = ref_utf8(s + p, n - p);
			if (!l)
				return 0;
			p += l;
			continue;
		}
		p++;
	}
	return 0;
}

static int
ref_number(const unsigned char *s, size_t n, size_t *i)
{
	size_t p = *i, d;
	if (p < n && s[p] == '-')
		p++;
	if (p < n && s[p] == '0')
		p++;
	else if (p < n && s[p] >= '1' && s[p] <= '9')
		while (p < n && isdigit(s[p]))
			p++;
	else
		return 0;
	if (p < n && s[p] == '.') {
		d = ++p;
		while (p < n && isdigit(s[p]))
			p++;
		if (p == d)
			return 0;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < n && (s[p] == '+' || s[p] == '-'))
			p++;
		d = p;
		while (p < n && isdigit(s[p]))
			p++;
		if (p == d)
			return 0;
	}
	*i = p;
	return 1;
}

#define REF_DEPTH 100000

/* 1 valid, 0 invalid, -1 nested deeper than REF_DEPTH (undecided). flags: REF_UTF8, REF_CTRL; bytes
 * outside strings must be ASCII either way. Iterative. */
static int
ref_json_valid(const void *data, size_t n, int flags)
{
	static unsigned char stack[REF_DEPTH];
	const unsigned char *s = data;
	size_t i = 0;
	int d = 0;
	enum { VALUE, AFTER, KEY, COLON } st = VALUE;  /* what comes next */
	int first = 0;                                  /* just after '[' or '{': ']' or '}' allowed */
	for (;;) {
		while (i < n && ref_ws(s[i]))
			i++;
		if (st == VALUE) {
			if (i >= n)
				return 0;
			if (first && s[i] == ']' && d && stack[d - 1] == '[') {
				d--, i++, first = 0, st = AFTER;
				continue;
			}
			first = 0;
			switch (s[i]) {
			case '[':
			case '{':
				if (d >= REF_DEPTH)
					return -1;
				stack[d++] = s[i];
				i++;
				first = 1;
				st = s[i - 1] == '[' ? VALUE : KEY;
				continue;
			case '"':
				if (!ref_string(s, n, &i, flags))
					return 0;
				break;
			case 't':
				if (n - i < 4 || memcmp(s + i, "true", 4))
					return 0;
				i += 4;
				break;
			case 'f':
				if (n - i < 5 || memcmp(s + i, "false", 5))
					return 0;
				i += 5;
				break;
			case 'n':
				if (n - i < 4 || memcmp(s + i, "null", 4))
					return 0;
				i += 4;
				break;
			default:
				if (!ref_number(s, n, &i))
					return 0;
			}
			st = AFTER;
			continue;
		}
		if (st == KEY) {
			if (i >= n)
				return 0;
			if (first && s[i] == '}') {
				d--, i++, first = 0, st = AFTER;
				continue;
			}
			first = 0;
			if (s[i] != '"' || !ref_string(s, n, &i, flags))
				return 0;
			st = COLON;
			continue;
		}
		if (st == COLON) {
			if (i >= n || s[i] != ':')
				return 0;
			i++;
			st = VALUE;
			continue;
		}
		/* AFTER a value */
		if (d == 0)
			return i == n;
		if (i >= n)
			return 0;
		if (s[i] == ',') {
			i++;
			st = stack[d - 1] == '[' ? VALUE : KEY;
			continue;
		}
		if ((s[i] == ']' && stack[d - 1] == '[') || (s[i] == '}' && stack[d - 1] == '{')) {
			d--;
			i++;
			continue;
		}
		return 0;
	}
}

/* ---- deterministic pieces: whole, one byte at a time, or seeded random lengths ---- */

struct fuzz_split {
	int mode;                 /* 0 whole, 1 one byte, 2 random 1..max */
	unsigned seed;
	size_t max;
};

static size_t
fuzz_piece(struct fuzz_split *sp, size_t left)
{
	size_t k;
	if (sp->mode == 0)
		return left;
	if (sp->mode == 1)
		k = 1;
	else {
		sp->seed = sp->seed * 1103515245u + 12345u;
		k = 1 + ((sp->seed >> 16) & 0x7fff) % (sp->max ? sp->max : 1);
	}
	return k < left ? k : left;
}

/* FNV-1a, for comparing what two runs produced without keeping it all. */
static uint64_t
fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;
	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

#define FUZZ_HASH0 1469598103934665603ULL
