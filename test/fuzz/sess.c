/* The session loader: the input is a session file (JSON Lines: a header, message lines, compact lines, a
 * torn last line), written to a temporary file (on /dev/shm when there is one) and read with sess_load.
 * It must succeed, or fail with its error and message. When it succeeds, the conversation must be one the
 * API takes: roles alternate (same-role messages are merged), no assistant message with a tool call ends
 * it, every block is a JSON object, and conv_write (with and without the cache breakpoint) and
 * sess_msg_json write valid JSON (strict, UTF-8). */
#include "fuzz.h"

static char path[PATH_MAX];
static struct buf out;
static int fd = -1;

static void
setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(path, sizeof path, "%s/agent-fuzz-sess.%ld.jsonl", base, (long)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		FUZZ_FAIL("cannot create %s", path);
}

static void
cleanup(void)
{
	unlink(path);
}

/* Known open bug (test/fuzz/KNOWN: json-lenient): a line json_parse takes that RFC 8259 does not. */
static int
any_lenient_line(const uint8_t *d, size_t n)
{
	size_t p = 0;
	while (p < n) {
		const uint8_t *nl = memchr(d + p, '\n', n - p);
		size_t l = nl ? (size_t)(nl - (d + p)) : n - p;
		jsmntok_t *t = NULL;
		struct json j;
		int r = json_parse_alloc(&j, (const char *)d + p, l, &t);
		free(t);
		if (r > 0 && ref_json_valid(d + p, l, 0) != 1)
			return 1;
		p += l + 1;
	}
	return 0;
}

static void
write_json(const struct conv *c, int cache, int known)
{
	struct jw w;
	out.len = 0;
	jw_init(&w, jw_sink_buf, &out);
	conv_write(c, &w, cache);
	FUZZ_CHECK(!w.err, "conv_write error %d", w.err);
	if (!known)
		FUZZ_CHECK(ref_json_valid(out.p, out.len, 1) == 1, "conv_write(cache %d) wrote invalid JSON: %.300s",
		           cache, out.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct conv c = {0};
	struct ag_err e = {0};
	char model[128] = "";
	size_t i, k;
	int r, lenient, empty_last;
	if (!init) {
		setup();
		atexit(cleanup);
		init = 1;
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		FUZZ_FAIL("writing %s", path);
	r = sess_load(path, &c, model, sizeof model, &e);
	FUZZ_CHECK(memchr(model, 0, sizeof model) != NULL, "model not terminated");
	if (r) {
		FUZZ_CHECK(r < 0 && e.code == r && e.msg[0], "error %d without its message (code %d)", r, e.code);
		conv_free(&c);
		return 0;
	}
	lenient = fuzz_known() && any_lenient_line(data, size);
	for (i = 0; i < c.n; i++) {
		const struct msg *m = &c.m[i];
		FUZZ_CHECK(m->role == ROLE_USER || m->role == ROLE_ASSISTANT, "role %d", m->role);
		FUZZ_CHECK(i == 0 || c.m[i - 1].role != m->role, "messages %zu and %zu have one role", i - 1, i);
		for (k = 0; k < m->n; k++) {
			const struct buf *b = &m->blk[k];
			FUZZ_CHECK(b->len && b->p[0] == '{', "block %zu.%zu", i, k);
			if (!lenient)
				FUZZ_CHECK(ref_json_valid(b->p, b->len, 1) == 1, "block %zu.%zu is not valid JSON: %.300s", i, k,
				           b->p);
		}
	}
	if (c.n) {
		const struct msg *m = &c.m[c.n - 1];
		if (m->role == ROLE_ASSISTANT)
			for (k = 0; k < m->n; k++)
				FUZZ_CHECK(!str_starts(m->blk[k].p, "{\"type\":\"tool_use\""),
				           "the conversation ends on a tool call");
	}
	write_json(&c, 0, lenient);
	/* test/fuzz/KNOWN: conv-cache-empty-block (the last block "{}" gets ",\"cache_control\"..." after '{') */
	empty_last = c.n && c.m[c.n - 1].n && c.m[c.n - 1].blk[c.m[c.n - 1].n - 1].len <= 2;
	write_json(&c, 1, lenient || (fuzz_known() && empty_last));
	for (i = 0; i < c.n; i++) {
		struct jw w;
		out.len = 0;
		jw_init(&w, jw_sink_buf, &out);
		sess_msg_json(&w, &c.m[i]);
		if (!lenient)
			FUZZ_CHECK(!w.err && ref_json_valid(out.p, out.len, 1) == 1, "sess_msg_json: %.300s", out.p);
	}
	conv_free(&c);
	return 0;
}
