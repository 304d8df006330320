/* The Edit tool: the input is split at the byte pair FF FF into the file's content, old_string and
 * new_string (bit 0 of the last byte after a third FF FF, when there is one, sets replace_all). The
 * arguments go through the JSON writer and json_parse as the model's would, the file is written to a
 * temporary directory (on /dev/shm when there is one) and marked as Read, and tool_edit runs on it. The
 * file afterwards must be exactly what an independent replacement gives (non-overlapping matches, left to
 * right), or unchanged with an error that says why: empty old_string, old equal to new, no match, or
 * several matches without replace_all. */
#include "fuzz.h"

static struct tool_ctx tc;
static char path[PATH_MAX];
static struct buf jbuf, olds, news, want, got;
static struct tool_out o;
static jsmntok_t tok[32];

static void
setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/agent-fuzz-edit.%ld", base, (long)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/file.txt", dir);
	snprintf(tc.cwd, sizeof tc.cwd, "%s", dir);
	tc.quiet = 1;
}

static void
cleanup(void)
{
	char dir[PATH_MAX];
	unlink(path);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = 0;
	rmdir(dir);
}

static const uint8_t *
cut(const uint8_t *p, const uint8_t *end, size_t *n)
{
	const uint8_t *q = p;
	while (q + 1 < end && !(q[0] == 0xFF && q[1] == 0xFF))
		q++;
	if (q + 1 >= end)
		q = end;
	*n = (size_t)(q - p);
	return q < end ? q + 2 : end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	const uint8_t *end = data + size, *p = data, *content, *old, *nw;
	size_t cn, on, nn, fn, count = 0, i;
	int all = 0, fd, omit_all;
	struct json j;
	struct jw w;
	struct stat st;
	if (!init) {
		setup();
		atexit(cleanup);
		init = 1;
	}
	content = p; p = cut(p, end, &cn);
	old = p;     p = cut(p, end, &on);
	nw = p;      p = cut(p, end, &nn);
	omit_all = p < end && (end[-1] & 2);      /* no replace_all key: false */
	all = p < end && !omit_all && (end[-1] & 1);

	/* the arguments as the model sends them, and as the tool will read them */
	jbuf.len = 0;
	jw_init(&w, jw_sink_buf, &jbuf);
	jw_open(&w, '{');
	jw_key(&w, "file_path"); jw_str(&w, path);
	jw_key(&w, "old_string"); jw_strn(&w, (const char *)old, on);
	jw_key(&w, "new_string"); jw_strn(&w, (const char *)nw, nn);
	if (!omit_all) {
		jw_key(&w, "replace_all"); jw_bool(&w, all);
	}
	jw_close(&w, '}');
	FUZZ_CHECK(!w.err && json_parse(&j, jbuf.p, jbuf.len, tok, 32) > 0, "arguments: %s", jbuf.p);
	olds.len = news.len = 0;
	FUZZ_CHECK(!json_str_buf(&j, json_get(&j, 0, "old_string"), &olds) &&
	           !json_str_buf(&j, json_get(&j, 0, "new_string"), &news), "arguments read back");

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0 && fd_write_all(fd, content, cn) == 0, "writing %s", path);
	close(fd);
	FUZZ_CHECK(stat(path, &st) == 0, "stat");
	tool_seen_mark(&tc, path, &st);

	/* the reference */
	want.len = 0;
	buf_add(&want, "", 0);
	if (olds.len)
		for (i = 0; i < cn;) {
			if (cn - i >= olds.len && memcmp(content + i, olds.p, olds.len) == 0) {
				buf_add(&want, news.p, news.len);
				i += olds.len;
				count++;
			} else {
				buf_add(&want, content + i, 1);
				i++;
			}
		}

	o.text.len = 0;
	o.is_error = 0;
	tool_edit(&tc, &j, &o);

	got.len = 0;
	buf_add(&got, "", 0);
	FUZZ_CHECK(file_read_all(path, &got, 1 << 27) == 0, "reading %s back", path);   /* 8 KB x 8 KB by replace_all */
	fn = got.len;
	if (olds.len == 0 || (olds.len == news.len && memcmp(olds.p, news.p, olds.len) == 0) || count == 0 ||
	    (count > 1 && !all)) {
		FUZZ_CHECK(o.is_error, "no error for old %zu bytes, new %zu, %zu matches, replace_all %d: %s", olds.len,
		           news.len, count, all, o.text.p);
		FUZZ_CHECK(fn == cn && memcmp(got.p, content, cn) == 0, "the file changed on an error: %s", o.text.p);
	} else {
		FUZZ_CHECK(!o.is_error && str_starts(o.text.p, "Edited "), "error on a valid edit: %s", o.text.p);
		FUZZ_CHECK(fn == want.len && memcmp(got.p, want.p, fn) == 0,
		           "%zu replacement(s): the file has %zu bytes, the reference %zu", count, fn, want.len);
	}
	FUZZ_CHECK(o.text.p && strlen(o.text.p) <= o.text.len, "the tool's message");
	return 0;
}
