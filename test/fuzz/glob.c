/* The glob matcher: tool_glob_match(pattern, path), the input split at its first NUL byte (pattern, then
 * path), each in an exact-size heap copy so a read past either string is caught. It must end quickly
 * (libFuzzer's -timeout) and, for inputs of up to 256 bytes each, agree with an independent matcher of the
 * documented rules ('*' and '?' do not cross '/', "**" followed by '/' stands for any number of whole
 * directories, a trailing "**" (or "**" + "/") for everything below, [set] [!set] [^set] with ranges match one character
 * other than '/', an unclosed '[' matches nothing). A "**" that does not start a path segment ("a**b",
 * "x**" + "/") has no documented meaning (bash reads it as '*') and such patterns are not compared. */
#include "fuzz.h"

enum { T_LIT, T_ONE, T_SET, T_STAR, T_DSTAR_SLASH, T_DSTAR_END, T_DSTAR_MID, T_NEVER };

struct tok {
	int type;
	char c;
	const char *set;          /* T_SET: the members after '[' and '!'/'^', up to the closing ']' */
	size_t setlen;
	int neg;
};

#define GMAX 256
static struct tok tk[GMAX + 1];
static unsigned char dp[GMAX + 2][GMAX + 2], ds[GMAX + 2];

/* The agent's set syntax: the first member may be ']'; "a-z" is a range unless the '-' or the 'z' is the
 * last character before ']'. Returns the length of the whole [...] or 0 when it is not closed. */
static size_t
set_len(const char *p)
{
	const char *q = p + 1;
	if (*q == '!' || *q == '^')
		q++;
	if (!*q)
		return 0;
	do {
		if (q[1] == '-' && q[2] && q[2] != ']')
			q += 3;
		else
			q++;
	} while (*q && *q != ']');
	return *q == ']' ? (size_t)(q - p) + 1 : 0;
}

static int
in_set(const struct tok *t, char c)
{
	size_t i = 0;
	int ok = 0;
	while (i < t->setlen) {
		const char *q = t->set + i;
		if (i + 2 < t->setlen && q[1] == '-') {
			ok |= c >= q[0] && c <= q[2];   /* char comparison, as the agent makes it */
			i += 3;
		} else {
			ok |= c == q[0];
			i++;
		}
	}
	return ok ^ t->neg;
}

/* 1 match, 0 no match, -1 not compared. */
static int
ref_match(const char *p, const char *s)
{
	size_t np = 0, sl = strlen(s), k;
	long pi;
	const char *p0 = p;
	while (*p) {
		struct tok *t = &tk[np++];
		memset(t, 0, sizeof *t);
		if (p[0] == '*' && p[1] == '*') {
			if (p > p0 && p[-1] != '/')
				return -1;                /* "**" inside a name ("a**", "*a**" + "/"): not compared */
			p += 2;
			if (*p == '/')
				p++;
			if (!*p)
				t->type = T_DSTAR_END;    /* "**" or "**" + "/" at the end: all that is left */
			else
				t->type = p[-1] == '/' ? T_DSTAR_SLASH : T_DSTAR_MID;
		} else if (*p == '*') {
			t->type = T_STAR;
			p++;
		} else if (*p == '?') {
			t->type = T_ONE;
			p++;
		} else if (*p == '[') {
			size_t l = set_len(p);
			if (!l) {
				t->type = T_NEVER;
				p++;
			} else {
				t->type = T_SET;
				t->neg = p[1] == '!' || p[1] == '^';
				t->set = p + 1 + t->neg;
				t->setlen = l - 2 - (size_t)t->neg;
				p += l;
			}
		} else {
			t->type = T_LIT;
			t->c = *p++;
		}
		if (t->type == T_DSTAR_MID)
			return -1;
	}
	/* dp[i][k]: tokens i.. match s+k.. */
	for (k = 0; k <= sl; k++)
		dp[np][k] = k == sl;
	for (pi = (long)np - 1; pi >= 0; pi--) {
		const struct tok *t = &tk[pi];
		unsigned char *d = dp[pi], *n = dp[pi + 1];
		for (k = sl + 1; k-- > 0;) {
			int c = k < sl ? (unsigned char)s[k] : -1;
			switch (t->type) {
			case T_LIT: d[k] = c >= 0 && (char)c == t->c && n[k + 1]; break;
			case T_ONE: d[k] = c >= 0 && c != '/' && n[k + 1]; break;
			case T_SET: d[k] = c >= 0 && c != '/' && in_set(t, (char)c) && n[k + 1]; break;
			case T_NEVER: d[k] = 0; break;
			case T_STAR: d[k] = n[k] || (c >= 0 && c != '/' && d[k + 1]); break;
			case T_DSTAR_END: d[k] = n[k] || (c >= 0 && d[k + 1]); break;
			case T_DSTAR_SLASH:
				/* empty, or any text ending in '/': ds[k] = some j > k with s[j-1] == '/' and n[j] */
				ds[k] = c >= 0 && ((c == '/' && n[k + 1]) || ds[k + 1]);
				d[k] = n[k] || ds[k];
				break;
			}
		}
	}
	return dp[0][0];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t pl = nul ? (size_t)(nul - data) : size, sl = nul ? size - pl - 1 : 0;
	char *p, *s;
	int got, want;
	p = malloc(pl + 1);
	s = malloc(sl + 1);
	memcpy(p, data, pl);
	p[pl] = 0;
	if (sl)
		memcpy(s, nul + 1, sl);
	s[sl] = 0;
	got = tool_glob_match(p, s);
	FUZZ_CHECK(got == 0 || got == 1, "result %d", got);
	if (strlen(p) <= GMAX && strlen(s) <= GMAX) {
		want = ref_match(p, s);
		FUZZ_CHECK(want < 0 || got == want, "tool_glob_match('%s', '%s') = %d, the rules say %d", p, s, got, want);
	}
	free(p);
	free(s);
	return 0;
}
