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

static void
write_json(const struct conv *c, int cache)
{
	struct jw w;
	out.len = 0;
	jw_init(&w, jw_sink_buf, &out);
	conv_write(c, &w, cache);
	FUZZ_CHECK(!w.err, "conv_write error %d", w.err);
	FUZZ_CHECK(ref_json_valid(out.p, out.len, REF_UTF8) == 1, "conv_write(cache %d) wrote invalid JSON: %.300s",
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
	int r;
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
	for (i = 0; i < c.n; i++) {
		const struct msg *m = &c.m[i];
		FUZZ_CHECK(m->role == ROLE_USER || m->role == ROLE_ASSISTANT, "role %d", m->role);
		FUZZ_CHECK(i == 0 || c.m[i - 1].role != m->role, "messages %zu and %zu have one role", i - 1, i);
		for (k = 0; k < m->n; k++) {
			const struct buf *b = &m->blk[k];
			FUZZ_CHECK(b->len && b->p[0] == '{', "block %zu.%zu", i, k);
			FUZZ_CHECK(ref_json_valid(b->p, b->len, REF_UTF8) == 1, "block %zu.%zu is not valid JSON: %.300s", i, k,
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
	write_json(&c, 0);
	write_json(&c, 1);                        /* the cache breakpoint, also on a last block "{}" */
	for (i = 0; i < c.n; i++) {
		struct jw w;
		out.len = 0;
		jw_init(&w, jw_sink_buf, &out);
		sess_msg_json(&w, &c.m[i]);
		FUZZ_CHECK(!w.err && ref_json_valid(out.p, out.len, REF_UTF8) == 1, "sess_msg_json: %.300s", out.p);
	}
	conv_free(&c);
	return 0;
}
