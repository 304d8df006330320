/* The JSON Parsing Test Suite (nst/JSONTestSuite, test_parsing/) against json_parse, with the token pool
 * sized by a counting pass (json_parse_alloc, as tool input and session lines are read). The files run in
 * a child process, so a crash is counted, not fatal: y_ files must be accepted, n_ files refused,
 * i_ files (either is allowed) must not crash. Every accepted file is also copied with json_copy, whose
 * output must be valid JSON; and the strict validator the fuzz harnesses use is held against the suite.
 *
 *   json_suite DIR [--lenient]     DIR holds the y_/n_/i_ files; exit 1 on a crash, a y_ file refused or
 *                                  (unless --lenient) an n_ file accepted */
#include "fuzz/fuzz.h"
#include <sys/wait.h>

#define ACCEPTED 10
#define REFUSED 11
#define COPY_BAD 12
#define CRASHED 99

static int
one(const char *path)
{
	struct buf b = {0}, out = {0};
	struct json j;
	jsmntok_t *pool = NULL;
	struct jw w;
	int r;
	if (file_read_all(path, &b, 1 << 26) < 0)
		return 2;
	r = json_parse_alloc(&j, b.p ? b.p : "", b.len, &pool);
	if (r <= 0)
		return REFUSED;
	jw_init(&w, jw_sink_buf, &out);
	json_copy(&w, &j, 0);
	if (!w.err && ref_json_valid(out.p, out.len, REF_UTF8) != 1)
		return COPY_BAD;
	free(pool);
	buf_free(&out);
	buf_free(&b);
	return ACCEPTED;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i, start;
	unsigned char *res;
	int lenient = argc > 2 && strcmp(argv[2], "--lenient") == 0;
	int yt = 0, ya = 0, nt = 0, nr = 0, it = 0, ia = 0, icrash = 0, crashes = 0, copybad = 0, refbad = 0;
	struct buf yrej = {0}, nacc = {0}, crashed = {0}, copy = {0}, ref = {0};
	if (argc < 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: json_suite DIR [--lenient]\n");
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		if ((de->d_name[0] != 'y' && de->d_name[0] != 'n' && de->d_name[0] != 'i') || de->d_name[1] != '_')
			continue;
		if (n == cap && !(names = realloc(names, (cap = cap ? cap * 2 : 512) * sizeof *names)))
			return 2;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	/* one child runs the files in turn and writes one result byte for each; when it dies, the file it was
	 * on crashed, and a new child goes on from the next one */
	if (!(res = calloc(n ? n : 1, 1)))
		return 2;
	for (start = 0; start < n;) {
		int p[2], st;
		size_t got = 0;
		ssize_t r;
		pid_t pid;
		if (pipe(p) < 0)
			return 2;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			close(p[0]);
			dup2(fd, 2);                      /* a sanitizer report is counted, not shown */
			for (i = start; i < n; i++) {
				char path[PATH_MAX];
				unsigned char c;
				snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
				c = (unsigned char)one(path);
				if (write(p[1], &c, 1) != 1)
					_exit(3);
			}
			_exit(0);
		}
		close(p[1]);
		if (pid < 0)
			return 2;
		while (start + got < n && (r = read(p[0], res + start + got, n - start - got)) > 0)
			got += (size_t)r;
		close(p[0]);
		waitpid(pid, &st, 0);
		start += got;
		if (start < n)
			res[start++] = CRASHED;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct buf text = {0};
		int rc = res[i], kind = names[i][0], refv;
		snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
		if (rc != ACCEPTED && rc != REFUSED && rc != COPY_BAD) {
			crashes++;
			buf_printf(&crashed, "  %s\n", names[i]);
		}
		if (rc == COPY_BAD) {
			copybad++;
			buf_printf(&copy, "  %s\n", names[i]);
		}
		if (kind == 'y') {
			yt++;
			if (rc == ACCEPTED || rc == COPY_BAD)
				ya++;
			else
				buf_printf(&yrej, "  %s\n", names[i]);
		} else if (kind == 'n') {
			nt++;
			if (rc == REFUSED)
				nr++;
			else if (rc == ACCEPTED || rc == COPY_BAD)
				buf_printf(&nacc, "  %s\n", names[i]);
		} else {
			it++;
			ia += rc == ACCEPTED || rc == COPY_BAD;
			icrash += rc != ACCEPTED && rc != REFUSED && rc != COPY_BAD;
		}
		/* the fuzzers' reference validator must get the y_ and n_ files right */
		if (kind != 'i' && file_read_all(path, &text, 1 << 26) == 0) {
			refv = ref_json_valid(text.p ? text.p : "", text.len, REF_UTF8);
			if ((kind == 'y') != (refv == 1)) {
				refbad++;
				buf_printf(&ref, "  %s\n", names[i]);
			}
		}
		buf_free(&text);
	}
	printf("JSON Parsing Test Suite: %zu files in %s\n", n, argv[1]);
	printf("y_ accepted: %d/%d\n", ya, yt);
	printf("n_ rejected: %d/%d\n", nr, nt);
	printf("i_ crashed:  %d/%d (accepted %d, rejected %d)\n", icrash, it, ia, it - ia - icrash);
	printf("crashes (any file): %d\n", crashes);
	if (yrej.len)
		printf("y_ rejected:\n%s", yrej.p);
	if (nacc.len)
		printf("n_ accepted:\n%s", nacc.p);
	if (crashed.len)
		printf("crashed:\n%s", crashed.p);
	if (copy.len)
		printf("accepted, but json_copy wrote invalid JSON (%d):\n%s", copybad, copy.p);
	if (ref.len)
		printf("the fuzzers' reference validator disagrees with the suite on (%d):\n%s", refbad, ref.p);
	printf("%d passed, %d failed\n", ya + nr + (it - icrash), (yt - ya) + (nt - nr) + icrash);
	return crashes || ya != yt || (!lenient && nr != nt) ? 1 : 0;
}
