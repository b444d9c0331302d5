/*
 * Shell completion tests: drive real bash, zsh and fish over the completion
 * files in $GIT_AGENT_BUILD_DIR/completions, installed in a temporary home the
 * way `make install` lays them out, in a temporary repository with a few
 * branches, a tag and a remote-tracking branch.
 *
 * The drivers in tests/completion/ do the shell side:
 *   bash-complete.bash  sets COMP_WORDS & co as readline does and calls the
 *                       function git registers for `git`, so git's completion
 *                       lazily loads ours through _completion_loader (the real
 *                       one of bash-completion, and a minimal one when only
 *                       git's completion script is used);
 *   zsh-complete.zsh    runs an interactive zsh in a pseudo-terminal (zpty),
 *                       compinit, and presses TAB: _git dispatches to
 *                       _git-agent;
 *   fish-complete.fish  `complete -C`: fish's git.fish hands `git agent ...`
 *                       over to the git-agent completions (fish 3.6.0 lacks
 *                       that hand-over, fish-shell#9457: the driver then adds
 *                       the rule later releases have, and says so).
 * Nothing is written outside the temporary directory, which is removed.
 */
#define _XOPEN_SOURCE 700 /* before any header: mkdtemp, nftw, kill, symlink */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_TIMEOUT_SECONDS 60

/* ------------------------------------------------------------------ */
/* small utilities                                                      */

static char *fmt(const char *format, ...)
{
	va_list ap;
	int n;
	char *buf;

	va_start(ap, format);
	n = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	cr_assert(n >= 0, "vsnprintf failed");
	buf = malloc((size_t)n + 1);
	cr_assert(buf != NULL, "out of memory");
	va_start(ap, format);
	vsnprintf(buf, (size_t)n + 1, format, ap);
	va_end(ap);
	return buf;
}

struct buf {
	char *s;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = realloc(b->s, cap);
		cr_assert(b->s != NULL, "out of memory");
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

struct list {
	char **v;
	size_t n;
};

static void list_add(struct list *l, const char *s, size_t n)
{
	char *copy = malloc(n + 1);

	cr_assert(copy != NULL, "out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	cr_assert(l->v != NULL, "out of memory");
	l->v[l->n++] = copy;
}

static void list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_has(const struct list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return 1;
	return 0;
}

static int list_has_prefix(const struct list *l, const char *prefix)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strncmp(l->v[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

/* All the entries, joined, for messages. */
static char *list_show(const struct list *l)
{
	struct buf b = { NULL, 0, 0 };
	size_t i;

	buf_add(&b, "[", 1);
	for (i = 0; i < l->n; i++) {
		if (i)
			buf_add(&b, ", ", 2);
		buf_add(&b, "'", 1);
		buf_add(&b, l->v[i], strlen(l->v[i]));
		buf_add(&b, "'", 1);
	}
	buf_add(&b, "]", 1);
	return b.s;
}

static int is_executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* The program `name` on the PATH of this process, or NULL. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	const char *p = path && *path ? path : "/usr/bin:/bin";

	for (;;) {
		size_t len = strcspn(p, ":");
		char *candidate = len ? fmt("%.*s/%s", (int)len, p, name)
				      : fmt("./%s", name);

		if (is_executable(candidate))
			return candidate;
		free(candidate);
		if (!p[len])
			return NULL;
		p += len + 1;
	}
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(content);

	cr_assert(fd >= 0, "cannot create %s: %s", path, strerror(errno));
	cr_assert(write(fd, content, len) == (ssize_t)len, "cannot write %s", path);
	cr_assert(!close(fd), "cannot close %s", path);
	cr_assert(!chmod(path, mode), "cannot chmod %s", path);
}

static void make_dir(const char *path)
{
	cr_assert(!mkdir(path, 0755), "cannot create %s: %s", path, strerror(errno));
}

static void make_symlink(const char *target, const char *path)
{
	cr_assert(!symlink(target, path), "cannot link %s to %s: %s",
		  path, target, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/* ------------------------------------------------------------------ */
/* running programs                                                     */

struct result {
	int status; /* exit code; -1 killed by a signal or timed out */
	struct buf out, err;
};

static void result_free(struct result *r)
{
	free(r->out.s);
	free(r->err.s);
	memset(r, 0, sizeof(*r));
}

/*
 * Run argv[0] (a path) with argv in directory `cwd` with environment `envp`,
 * stdin from /dev/null, and collect its output. Its process group is killed
 * after RUN_TIMEOUT_SECONDS.
 */
static void run(char *const argv[], const char *cwd, char *const envp[],
		struct result *r)
{
	int outp[2], errp[2];
	pid_t pid;
	time_t deadline = time(NULL) + RUN_TIMEOUT_SECONDS;
	int open_fds = 2, status, timed_out = 0;

	memset(r, 0, sizeof(*r));
	cr_assert(!pipe(outp) && !pipe(errp), "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(126);
		close(outp[0]);
		close(errp[0]);
		close(outp[1]);
		close(errp[1]);
		close(devnull);
		if (cwd && chdir(cwd)) {
			perror(cwd);
			_exit(126);
		}
		execve(argv[0], argv, envp);
		perror(argv[0]);
		_exit(127);
	}
	setpgid(pid, pid);
	close(outp[1]);
	close(errp[1]);

	while (open_fds > 0) {
		struct pollfd fds[2];
		int i, n;
		long left = (long)(deadline - time(NULL));

		if (left <= 0) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		fds[0].fd = outp[0];
		fds[1].fd = errp[0];
		fds[0].events = fds[1].events = POLLIN;
		n = poll(fds, 2, 1000);
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(n >= 0, "poll: %s", strerror(errno));
		for (i = 0; i < 2; i++) {
			char chunk[4096];
			ssize_t got;

			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(fds[i].fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(i ? errp[0] : outp[0]);
				if (i)
					errp[0] = -1;
				else
					outp[0] = -1;
				open_fds--;
				continue;
			}
			buf_add(i ? &r->err : &r->out, chunk, (size_t)got);
		}
	}
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	while (waitpid(pid, &status, 0) < 0)
		cr_assert(errno == EINTR, "waitpid: %s", strerror(errno));
	/* Whatever the shell left behind in its process group. */
	kill(-pid, SIGKILL);
	if (!r->out.s)
		buf_add(&r->out, "", 0);
	if (!r->err.s)
		buf_add(&r->err, "", 0);
	r->status = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------------ */
/* the fixture: a temporary home, PATH and repository                   */

static struct fixture {
	char *build;     /* $GIT_AGENT_BUILD_DIR */
	char *root;      /* temporary directory holding all below */
	char *home;
	char *bin;       /* git-agent and git-agent-{spawn,review,trace}; first on PATH */
	char *data;      /* XDG_DATA_HOME: bash-completion looks here */
	char *zshdir;    /* an fpath directory with _git-agent */
	char *fishdir;   /* a completions directory with git-agent.fish */
	char *repo;
	char *env[16];
	int scratch;     /* counter for per-call scratch directories */
	int fish_noted;  /* the fish driver's note was logged */
} fx;

static void git(const char *arg1, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	const char *a;
	struct result r;

	argv[argc++] = find_program("git");
	cr_assert(argv[0] != NULL, "git is not installed");
	va_start(ap, arg1);
	for (a = arg1; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	run(argv, fx.repo, fx.env, &r);
	cr_assert(r.status == 0, "git %s failed (%d): %s", arg1, r.status, r.err.s);
	result_free(&r);
	free(argv[0]);
}

/* Put the built program `name` in bin, or a stub when it is not built. */
static void install_program(const char *name)
{
	char *built = fmt("%s/%s", fx.build, name);
	char *dest = fmt("%s/%s", fx.bin, name);

	if (is_executable(built))
		make_symlink(built, dest);
	else
		write_file(dest, "#!/bin/sh\n# stub for the completion tests\nexit 0\n", 0755);
	free(built);
	free(dest);
}

/* Install completion file `src` of completions/ as `dest`. */
static void install_completion(const char *src, const char *dest)
{
	char *from = fmt("%s/completions/%s", fx.build, src);

	cr_assert(is_file(from), "%s is missing", from);
	make_symlink(from, dest);
	free(from);
}

static void remove_root(void)
{
	if (fx.root)
		nftw(fx.root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx.root);
	fx.root = NULL;
}

/* The shell `name`, or skip the test when it is not installed. */
static char *need_shell(const char *name)
{
	char *shell = find_program(name);

	if (!shell)
		cr_skip_test("%s is not installed (make deps installs it)", name);
	return shell;
}

/*
 * The fixture of a test of `shell` (skipped when it is not installed). Each
 * test calls setup() itself rather than through .init: an assertion failing in
 * .init ends the test without running .fini, which would leave the temporary
 * directory behind.
 */
static void setup(const char *shell)
{
	const char *build = getenv("GIT_AGENT_BUILD_DIR");
	const char *tmp = getenv("TMPDIR");
	const char *path = getenv("PATH");
	char *tmpl, *p;
	int n = 0;

	memset(&fx, 0, sizeof(fx));
	free(need_shell(shell));
	cr_assert(build && *build, "GIT_AGENT_BUILD_DIR is not set");
	fx.build = fmt("%s", build);
	tmpl = fmt("%s/git-agent-completions.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
	fx.root = tmpl;
	fx.home = fmt("%s/home", fx.root);
	fx.bin = fmt("%s/bin", fx.root);
	fx.data = fmt("%s/share", fx.root);
	fx.zshdir = fmt("%s/zsh-functions", fx.root);
	fx.fishdir = fmt("%s/fish-completions", fx.root);
	fx.repo = fmt("%s/repo", fx.root);
	make_dir(fx.home);
	make_dir(fx.bin);
	make_dir(fx.data);
	p = fmt("%s/bash-completion", fx.data);
	make_dir(p);
	free(p);
	p = fmt("%s/bash-completion/completions", fx.data);
	make_dir(p);
	free(p);
	make_dir(fx.zshdir);
	make_dir(fx.fishdir);
	make_dir(fx.repo);

	/* As `make install` lays them out. */
	install_program("git-agent");
	install_program("git-agent-spawn");
	install_program("git-agent-review");
	install_program("git-agent-trace");
	p = fmt("%s/bash-completion/completions/git-agent", fx.data);
	install_completion("git-agent.bash", p);
	free(p);
	p = fmt("%s/_git-agent", fx.zshdir);
	install_completion("_git-agent", p);
	free(p);
	p = fmt("%s/git-agent.fish", fx.fishdir);
	install_completion("git-agent.fish", p);
	free(p);

	fx.env[n++] = fmt("HOME=%s", fx.home);
	fx.env[n++] = fmt("PATH=%s:%s", fx.bin, path ? path : "/usr/bin:/bin");
	fx.env[n++] = fmt("XDG_DATA_HOME=%s", fx.data);
	fx.env[n++] = fmt("XDG_CONFIG_HOME=%s/config", fx.root);
	fx.env[n++] = fmt("XDG_CACHE_HOME=%s/cache", fx.root);
	fx.env[n++] = fmt("TMPDIR=%s", fx.root);
	fx.env[n++] = fmt("TERM=dumb");
	fx.env[n++] = fmt("LANG=C.UTF-8");
	fx.env[n++] = fmt("GIT_CONFIG_NOSYSTEM=1");
	fx.env[n++] = fmt("GIT_AUTHOR_NAME=Completion Test");
	fx.env[n++] = fmt("GIT_AUTHOR_EMAIL=test@example.com");
	fx.env[n++] = fmt("GIT_COMMITTER_NAME=Completion Test");
	fx.env[n++] = fmt("GIT_COMMITTER_EMAIL=test@example.com");
	fx.env[n] = NULL;

	git("init", "-q", NULL);
	git("symbolic-ref", "HEAD", "refs/heads/main", NULL);
	git("commit", "-q", "--allow-empty", "-m", "initial", NULL);
	git("branch", "feature/login", NULL);
	git("branch", "topic", NULL);
	git("tag", "v1.0", NULL);
	git("update-ref", "refs/remotes/origin/release", "HEAD", NULL);
	p = fmt("%s/outdir", fx.repo);
	make_dir(p);
	free(p);
	p = fmt("%s/notes.txt", fx.repo);
	write_file(p, "notes\n", 0644);
	free(p);
}

/*
 * The task records of two tasks, <git-common-dir>/agent/tasks/<slug>.ini (a
 * file is enough for completion), beside what is not a record: a task folder
 * and the trace.
 */
static const char *const tasks[] = { "billing-export", "fix-login", NULL };

static void make_task_records(void)
{
	const char *const dirs[] = { "agent", "agent/tasks", "agent/tasks/billing-export", NULL };
	const char *const *d;
	const char *const *t;
	char *p;

	for (d = dirs; *d; d++) {
		p = fmt("%s/.git/%s", fx.repo, *d);
		make_dir(p);
		free(p);
	}
	for (t = tasks; *t; t++) {
		p = fmt("%s/.git/agent/tasks/%s.ini", fx.repo, *t);
		write_file(p, "[task]\n", 0644);
		free(p);
	}
	p = fmt("%s/.git/agent/trace.jsonl", fx.repo);
	write_file(p, "", 0644);
	free(p);
}

static void teardown(void)
{
	int i;

	remove_root();
	free(fx.build);
	free(fx.home);
	free(fx.bin);
	free(fx.data);
	free(fx.zshdir);
	free(fx.fishdir);
	free(fx.repo);
	for (i = 0; fx.env[i]; i++)
		free(fx.env[i]);
	memset(&fx, 0, sizeof(fx));
}

static char *driver(const char *name)
{
	char *path = fmt("%s/tests/completion/%s", fx.build, name);

	cr_assert(is_file(path), "%s is missing", path);
	return path;
}

/* The first existing file of a NULL-terminated list. */
static const char *first_file(const char *const *paths)
{
	for (; *paths; paths++)
		if (is_file(*paths))
			return *paths;
	return NULL;
}

/* Split `text` into lines; with `tab_field`, keep only what precedes a TAB. */
static void split_lines(const char *text, int tab_field, struct list *l)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *tab = memchr(p, '\t', len);

		if (tab_field && tab)
			len = (size_t)(tab - p);
		if (len)
			list_add(l, p, len);
		p += nl ? (size_t)(nl - p) + 1 : strlen(p);
	}
}

/*
 * Expects `got`, what `shell` offered for `line`, to hold every candidate
 * of `want` and, when `exact`, nothing else.
 */
static void expect_offers(const char *shell, const char *line, const struct list *got,
			  const char *const *want, int exact)
{
	char *shown = list_show(got);
	const char *const *w;
	size_t count = 0;

	for (w = want; *w; w++, count++)
		cr_expect(list_has(got, *w), "%s: '%s<TAB>' does not offer '%s'; offers %s",
			  shell, line, *w, shown);
	if (exact)
		cr_expect(got->n == count, "%s: '%s<TAB>' offers %s; want only %zu",
			  shell, line, shown, count);
	free(shown);
}

/* ------------------------------------------------------------------ */
/* bash                                                                 */

static const char *const git_bash_completion[] = {
	"/usr/share/bash-completion/completions/git",
	"/usr/local/share/bash-completion/completions/git",
	"/etc/bash_completion.d/git",
	"/usr/share/git/completion/git-completion.bash",
	"/usr/share/git-core/contrib/completion/git-completion.bash",
	"/opt/homebrew/etc/bash_completion.d/git-completion.bash",
	"/usr/local/etc/bash_completion.d/git-completion.bash",
	NULL
};

static const char *const bash_completion_main[] = {
	"/usr/share/bash-completion/bash_completion",
	"/usr/local/share/bash-completion/bash_completion",
	"/opt/homebrew/share/bash-completion/bash_completion",
	NULL
};

/* One way of loading git's completion (and through it, ours). */
struct bash_loader {
	const char *name; /* the driver's <loader> argument */
	const char *file;
};

/* The loaders available here: bash-completion's, and git's script alone. */
static size_t bash_loaders(struct bash_loader loaders[2])
{
	size_t n = 0;
	const char *git_script = first_file(git_bash_completion);
	const char *main_script = first_file(bash_completion_main);

	if (!git_script)
		cr_skip_test("git's bash completion script is not installed");
	if (main_script) {
		loaders[n].name = "bash-completion";
		loaders[n++].file = main_script;
	}
	loaders[n].name = "git";
	loaders[n++].file = git_script;
	return n;
}

/*
 * Complete `line` with bash. `replies` gets COMPREPLY (trailing blanks
 * removed), `compopts` the arguments of every compopt call.
 */
static void bash_complete(const struct bash_loader *loader, const char *line,
			  struct list *replies, struct list *compopts)
{
	char *bash = need_shell("bash");
	char *script = driver("bash-complete.bash");
	char *argv[] = { bash, "--norc", "--noprofile", script,
			 (char *)loader->name, (char *)loader->file,
			 (char *)line, NULL };
	struct result r;
	struct list lines = { NULL, 0 };
	size_t i;

	run(argv, fx.repo, fx.env, &r);
	cr_assert(r.status == 0, "bash (%s) on '%s' exited with %d: %s",
		  loader->name, line, r.status, r.err.s);
	split_lines(r.out.s, 0, &lines);
	for (i = 0; i < lines.n; i++) {
		const char *s = lines.v[i];
		size_t len = strlen(s);

		cr_assert(len >= 2 && (s[0] == 'R' || s[0] == 'O') && s[1] == ' ',
			  "unexpected driver output: '%s'", s);
		if (s[0] == 'R') {
			while (len > 2 && s[len - 1] == ' ')
				len--;
			list_add(replies, s + 2, len - 2);
		} else if (compopts) {
			list_add(compopts, s + 2, len - 2);
		}
	}
	list_free(&lines);
	result_free(&r);
	free(script);
	free(bash);
}

/* Assert that bash offers exactly/at least the candidates of `want`. */
static void bash_expect(const char *line, const char *const *want, int exact)
{
	struct bash_loader loaders[2];
	size_t n = bash_loaders(loaders), i;

	for (i = 0; i < n; i++) {
		struct list got = { NULL, 0 };
		char *shell = fmt("bash (%s)", loaders[i].name);

		bash_complete(&loaders[i], line, &got, NULL);
		expect_offers(shell, line, &got, want, exact);
		free(shell);
		list_free(&got);
	}
}

/* Assert that bash offers nothing, not even file names. */
static void bash_expect_nothing(const char *line)
{
	struct bash_loader loaders[2];
	size_t n = bash_loaders(loaders), i;

	for (i = 0; i < n; i++) {
		struct list got = { NULL, 0 }, opts = { NULL, 0 };
		char *shown;

		bash_complete(&loaders[i], line, &got, &opts);
		shown = list_show(&got);
		cr_expect(got.n == 0, "bash (%s): '%s<TAB>' offers %s; want nothing",
			  loaders[i].name, line, shown);
		free(shown);
		shown = list_show(&opts);
		cr_expect(list_has(&opts, "+o default +o bashdefault"),
			  "bash (%s): '%s<TAB>' lets bash fall back to file names (compopt calls: %s)",
			  loaders[i].name, line, shown);
		free(shown);
		list_free(&got);
		list_free(&opts);
	}
}

/* Assert that bash offers file names: `want` and not `unwanted`. */
static void bash_expect_files(const char *line, const char *want,
			      const char *unwanted)
{
	struct bash_loader loaders[2];
	size_t n = bash_loaders(loaders), i;

	for (i = 0; i < n; i++) {
		struct list got = { NULL, 0 }, opts = { NULL, 0 };
		char *shown;

		bash_complete(&loaders[i], line, &got, &opts);
		shown = list_show(&got);
		cr_expect(list_has(&got, want), "bash (%s): '%s<TAB>' does not offer '%s'; offers %s",
			  loaders[i].name, line, want, shown);
		if (unwanted)
			cr_expect(!list_has(&got, unwanted),
				  "bash (%s): '%s<TAB>' offers '%s': %s",
				  loaders[i].name, line, unwanted, shown);
		free(shown);
		cr_expect(list_has_prefix(&opts, "-o filenames"),
			  "bash (%s): '%s<TAB>' does not complete file names",
			  loaders[i].name, line);
		list_free(&got);
		list_free(&opts);
	}
}

static const char *const refs[] = {
	"main", "feature/login", "topic", "v1.0", "origin/release", NULL
};

TestSuite(bash, .fini = teardown, .timeout = 300);

Test(bash, commands)
{
	const char *const cmds[] = { "spawn", "review", "trace", "help", NULL };
	const char *const spawn[] = { "spawn", NULL };
	const char *const review[] = { "review", NULL };
	const char *const trace[] = { "trace", NULL };
	const char *const options[] = { "--version", "-h", NULL };
	const char *const agent[] = { "agent", NULL };

	setup("bash");
	bash_expect("git agent ", cmds, 1);
	bash_expect("git agent sp", spawn, 1);
	bash_expect("git agent rev", review, 1);
	bash_expect("git agent tr", trace, 1);
	bash_expect("git agent -", options, 1);
	/* git itself lists git-agent, found on PATH */
	bash_expect("git ag", agent, 0);
}

Test(bash, spawn_options)
{
	/* Options taking an argument end in `=`, as in git's own completion. */
	const char *const all[] = {
		"--create", "--dry-run", "--base=", "--fetch", "--no-fetch",
		"--agent=", "--name=", "--out=", "--message=", "--file=",
		"--scope=", "--step=", "--check=", "--allow-dirty",
		"--keep-failed", "--run", "--wait", "--timeout=", "--from=", "--jobs=", "--json",
		"--help", NULL
	};
	const char *const json[] = { "--json", NULL };
	const char *const base[] = { "--base=", NULL };
	const char *const dashed[] = { "-m", "-F", "-h", "--create", NULL };

	setup("bash");

	bash_expect("git agent spawn --", all, 1);
	bash_expect("git agent spawn --js", json, 1);
	bash_expect("git agent spawn --ba", base, 1);
	bash_expect("git agent spawn -", dashed, 0);
	bash_expect("git agent spawn --create --", all, 1);
}

Test(bash, base_refs)
{
	const char *const feature[] = { "feature/login", NULL };
	const char *const tag[] = { "v1.0", NULL };
	const char *const remote[] = { "origin/release", NULL };

	setup("bash");
	bash_expect("git agent spawn --base ", refs, 0);
	bash_expect("git agent spawn --base=", refs, 0);
	bash_expect("git agent spawn --base=fe", feature, 1);
	bash_expect("git agent spawn --create --base v", tag, 1);
	bash_expect("git agent spawn -m text --base=origin/", remote, 1);
}

Test(bash, no_candidates)
{
	setup("bash");
	bash_expect_nothing("git agent spawn --agent ");
	bash_expect_nothing("git agent spawn --name ");
	bash_expect_nothing("git agent spawn -m ");
	bash_expect_nothing("git agent spawn --message=");
	bash_expect_nothing("git agent spawn --step ");
	bash_expect_nothing("git agent spawn --check ");
	bash_expect_nothing("git agent spawn --json ");
	/* A time and a command: nothing to offer, not file names either. */
	bash_expect_nothing("git agent spawn --run --timeout ");
	bash_expect_nothing("git agent spawn --run --timeout=");
	bash_expect_nothing("git agent spawn --run=");
	bash_expect_nothing("git agent spawn --run --wait ");
}

Test(bash, file_names)
{
	setup("bash");
	bash_expect_files("git agent spawn --out ", "outdir", "notes.txt");
	bash_expect_files("git agent spawn --out=o", "outdir", NULL);
	bash_expect_files("git agent spawn -F ", "notes.txt", NULL);
	bash_expect_files("git agent spawn --file=n", "notes.txt", NULL);
	bash_expect_files("git agent spawn --scope ", "notes.txt", NULL);
}

Test(bash, help)
{
	const char *const topics[] = { "spawn", "review", "trace", NULL };
	const char *const spawn[] = { "spawn", NULL };
	const char *const review[] = { "review", NULL };
	const char *const trace[] = { "trace", NULL };

	setup("bash");
	bash_expect("git agent help ", topics, 1);
	bash_expect("git agent help s", spawn, 1);
	bash_expect("git agent help r", review, 1);
	bash_expect("git agent help t", trace, 1);
	bash_expect_nothing("git agent help spawn ");
	bash_expect_nothing("git agent help review ");
	bash_expect_nothing("git agent help trace ");
}

Test(bash, review_options)
{
	/* Options taking an argument end in `=`; --request-changes takes its
	 * text only after `=`, optionally, so it is listed without one. */
	const char *const all[] = {
		"--check=", "--stat-width=", "--json", "--merge", "--style=",
		"--keep", "--allow-out-of-scope", "--request-changes",
		"--abandon", "--force", "--keep-branch", "--help", NULL
	};
	const char *const st[] = { "--stat-width=", "--style=", NULL };
	const char *const dashed[] = { "-h", "--merge", "--abandon", NULL };

	setup("bash");
	bash_expect("git agent review --", all, 1);
	bash_expect("git agent review --st", st, 1);
	bash_expect("git agent review -", dashed, 0);
	bash_expect("git agent review --merge --", all, 1);
	bash_expect("git agent review billing-export --", all, 1);
}

Test(bash, review_styles)
{
	const char *const styles[] = { "merge", "ff", "squash", NULL };
	const char *const squash[] = { "squash", NULL };

	setup("bash");
	bash_expect("git agent review --merge --style=", styles, 1);
	bash_expect("git agent review --merge --style ", styles, 1);
	bash_expect("git agent review --merge --style=s", squash, 1);
}

Test(bash, review_task_names)
{
	const char *const fix[] = { "fix-login", NULL };

	setup("bash");
	make_task_records();
	bash_expect("git agent review ", tasks, 1);
	bash_expect("git agent review f", fix, 1);
	bash_expect("git agent review --merge ", tasks, 1);
	bash_expect("git agent review --check make ", tasks, 1);
	bash_expect("git agent review --style=ff --merge ", tasks, 1);
	/* One task only; nothing after it. */
	bash_expect_nothing("git agent review billing-export ");
}

Test(bash, review_no_candidates)
{
	setup("bash");
	make_task_records();
	bash_expect_nothing("git agent review --check ");
	bash_expect_nothing("git agent review --check=");
	bash_expect_nothing("git agent review --stat-width ");
	bash_expect_nothing("git agent review --stat-width=");
	bash_expect_nothing("git agent review --request-changes=");
}

/* The events of the tool, as `git agent trace --event` completes them. */
static const char *const events[] = {
	"task.planned", "worktree.created", "setup.done", "setup.failed",
	"spawn.failed", "agent.started", "agent.exited", "review.recorded",
	"check.passed", "check.failed", "verdict.merge", "verdict.changes",
	"verdict.abandon", "merge.done", "merge.failed", "merge.refused",
	"worktree.removed", "branch.deleted", NULL
};

static const char *const merge_events[] = {
	"merge.done", "merge.failed", "merge.refused", NULL
};

Test(bash, trace_options)
{
	/* Options taking an argument end in `=`; --color takes its value
	 * only after `=`, optionally, so it is listed without one. */
	const char *const all[] = {
		"--event=", "--since=", "--until=", "--agent=", "--grep=",
		"--max-count=", "--json", "--follow", "--color", "--no-color",
		"--no-pager", "--tasks", "--emit=", "--message=", "--field=",
		"--task=", "--help", NULL
	};
	const char *const ev[] = { "--event=", NULL };
	const char *const ta[] = { "--tasks", "--task=", NULL };
	const char *const dashed[] = { "-e", "-n", "-f", "-m", "-h", "--follow", NULL };

	setup("bash");
	bash_expect("git agent trace --", all, 1);
	bash_expect("git agent trace --ev", ev, 1);
	bash_expect("git agent trace --ta", ta, 1);
	bash_expect("git agent trace -", dashed, 0);
	bash_expect("git agent trace --since 2h --", all, 1);
	bash_expect("git agent trace billing-export --", all, 1);
}

Test(bash, trace_colors)
{
	const char *const whens[] = { "always", "never", "auto", NULL };
	const char *const never[] = { "never", NULL };

	setup("bash");
	bash_expect("git agent trace --color=", whens, 1);
	bash_expect("git agent trace --color=n", never, 1);
}

Test(bash, trace_events)
{
	const char *const planned[] = { "task.planned", NULL };

	setup("bash");
	bash_expect("git agent trace --event ", events, 1);
	bash_expect("git agent trace -e ", events, 1);
	bash_expect("git agent trace --event=", events, 1);
	bash_expect("git agent trace --event merge.", merge_events, 1);
	bash_expect("git agent trace --event=merge.", merge_events, 1);
	bash_expect("git agent trace billing-export -e task", planned, 1);
}

Test(bash, trace_task_names)
{
	const char *const fix[] = { "fix-login", NULL };

	setup("bash");
	make_task_records();
	bash_expect("git agent trace ", tasks, 1);
	bash_expect("git agent trace f", fix, 1);
	/* Several tasks may be given. */
	bash_expect("git agent trace billing-export ", tasks, 1);
	bash_expect("git agent trace --event merge.done ", tasks, 1);
	bash_expect("git agent trace --since 2h -n 5 ", tasks, 1);
	bash_expect("git agent trace --color ", tasks, 1);
	bash_expect("git agent trace --tasks ", tasks, 1);
	bash_expect("git agent trace --emit deploy --task ", tasks, 1);
	bash_expect("git agent trace --emit deploy --task=f", fix, 1);
}

Test(bash, trace_no_candidates)
{
	setup("bash");
	make_task_records();
	bash_expect_nothing("git agent trace --since ");
	bash_expect_nothing("git agent trace --until=");
	bash_expect_nothing("git agent trace --agent ");
	bash_expect_nothing("git agent trace --grep ");
	bash_expect_nothing("git agent trace -n ");
	bash_expect_nothing("git agent trace --max-count=");
	bash_expect_nothing("git agent trace --emit ");
	bash_expect_nothing("git agent trace --emit deploy -m ");
	bash_expect_nothing("git agent trace --emit deploy --field ");
	/* An emitted event takes no task argument. */
	bash_expect_nothing("git agent trace --emit deploy ");
}

/* ------------------------------------------------------------------ */
/* zsh                                                                  */

/* Complete `line` with zsh: matches in `got`, descriptions in `desc`. */
static void zsh_complete(const char *line, struct list *got, struct list *desc)
{
	char *zsh = need_shell("zsh");
	char *script = driver("zsh-complete.zsh");
	char *scratch = fmt("%s/zsh-%d", fx.root, ++fx.scratch);
	char *argv[] = { zsh, "-f", script, scratch, fx.zshdir, (char *)line, NULL };
	struct result r;
	struct list lines = { NULL, 0 };
	size_t i;

	make_dir(scratch);
	run(argv, fx.repo, fx.env, &r);
	cr_assert(r.status == 0, "zsh on '%s' exited with %d: %s", line, r.status, r.err.s);
	split_lines(r.out.s, 0, &lines);
	for (i = 0; i < lines.n; i++) {
		const char *tab = strchr(lines.v[i], '\t');
		size_t len = tab ? (size_t)(tab - lines.v[i]) : strlen(lines.v[i]);
		char *match = fmt("%.*s", (int)len, lines.v[i]);

		/* The same match may come from several tags (_directories). */
		if (len && !list_has(got, match)) {
			list_add(got, match, len);
			if (desc)
				list_add(desc, tab ? tab + 1 : "", tab ? strlen(tab + 1) : 0);
		}
		free(match);
	}
	list_free(&lines);
	result_free(&r);
	free(scratch);
	free(script);
	free(zsh);
}

static void zsh_expect(const char *line, const char *const *want, int exact)
{
	struct list got = { NULL, 0 };

	zsh_complete(line, &got, NULL);
	expect_offers("zsh", line, &got, want, exact);
	list_free(&got);
}

TestSuite(zsh, .fini = teardown, .timeout = 300);

Test(zsh, commands)
{
	struct list got = { NULL, 0 }, desc = { NULL, 0 };
	const char *const agent[] = { "agent", NULL };
	const char *const options[] = { "--version", "-h", NULL };
	const char *const review[] = { "review", NULL };
	const char *const trace[] = { "trace", NULL };
	size_t i;
	char *shown;

	setup("zsh");
	zsh_complete("git agent ", &got, &desc);
	shown = list_show(&got);
	cr_expect(got.n == 4 && list_has(&got, "spawn") && list_has(&got, "review") &&
		  list_has(&got, "trace") && list_has(&got, "help"),
		  "zsh: 'git agent <TAB>' offers %s; want spawn, review, trace and help", shown);
	free(shown);
	for (i = 0; i < got.n; i++)
		cr_expect(strstr(desc.v[i], " -- ") != NULL,
			  "zsh: '%s' has no description: '%s'", got.v[i], desc.v[i]);
	list_free(&got);
	list_free(&desc);

	/* _git lists the third-party command, thanks to _git-agent */
	zsh_expect("git ag", agent, 0);
	zsh_expect("git agent -", options, 1);
	zsh_expect("git agent rev", review, 1);
	zsh_expect("git agent tr", trace, 1);
}

/* Every candidate zsh offers for line comes with a description. */
static void zsh_expect_described(const char *line)
{
	struct list got = { NULL, 0 }, desc = { NULL, 0 };
	size_t i;

	zsh_complete(line, &got, &desc);
	for (i = 0; i < got.n; i++)
		cr_expect(strstr(desc.v[i], " -- ") != NULL,
			  "zsh: '%s' has no description: '%s'", got.v[i], desc.v[i]);
	list_free(&got);
	list_free(&desc);
}

Test(zsh, spawn_options)
{
	const char *const all[] = {
		"--create", "--dry-run", "--base", "--fetch", "--no-fetch",
		"--agent", "--name", "--out", "--message", "--file", "--scope",
		"--step", "--check", "--allow-dirty", "--keep-failed", "--run", "--wait", "--timeout",
		"--from", "--jobs", "--json", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("zsh");
	zsh_expect("git agent spawn --", all, 1);
	zsh_expect("git agent spawn --js", json, 1);
	/* The executables themselves. */
	zsh_expect("git-agent spawn --js", json, 1);
	zsh_expect("git-agent-spawn --js", json, 1);

	zsh_expect_described("git agent spawn --");
}

Test(zsh, base_refs)
{
	const char *const feature[] = { "feature/login", NULL };

	setup("zsh");
	zsh_expect("git agent spawn --base ", refs, 0);
	zsh_expect("git agent spawn --base=", refs, 0);
	zsh_expect("git agent spawn --base=fe", feature, 1);
	zsh_expect("git-agent spawn --base ", refs, 0);
}

Test(zsh, arguments)
{
	const char *const none[] = { NULL };
	const char *const outdir[] = { "outdir", NULL };
	const char *const notes[] = { "notes.txt", NULL };
	const char *const topics[] = { "spawn", "review", "trace", NULL };

	setup("zsh");
	zsh_expect("git agent spawn --agent ", none, 1);
	zsh_expect("git agent spawn --name ", none, 1);
	zsh_expect("git agent spawn -m ", none, 1);
	zsh_expect("git agent spawn --step ", none, 1);
	zsh_expect("git agent spawn --check ", none, 1);
	zsh_expect("git agent spawn --run --timeout ", none, 1);
	zsh_expect("git agent spawn --run=", none, 1);
	zsh_expect("git agent spawn --out ", outdir, 1);
	zsh_expect("git agent spawn -F ", notes, 0);
	zsh_expect("git agent spawn --scope ", notes, 0);
	zsh_expect("git agent help ", topics, 1);
}

Test(zsh, review_options)
{
	const char *const all[] = {
		"--check", "--stat-width", "--json", "--merge", "--style",
		"--keep", "--allow-out-of-scope", "--request-changes",
		"--abandon", "--force", "--keep-branch", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("zsh");
	zsh_expect("git agent review --", all, 1);
	zsh_expect("git agent review --js", json, 1);
	/* The executables themselves. */
	zsh_expect("git-agent review --js", json, 1);
	zsh_expect("git-agent-review --js", json, 1);

	zsh_expect_described("git agent review --");
}

Test(zsh, review_styles)
{
	const char *const styles[] = { "merge", "ff", "squash", NULL };

	setup("zsh");
	zsh_expect("git agent review --merge --style=", styles, 1);
	zsh_expect("git agent review --merge --style ", styles, 1);
}

Test(zsh, review_task_names)
{
	const char *const none[] = { NULL };
	const char *const fix[] = { "fix-login", NULL };

	setup("zsh");
	make_task_records();
	zsh_expect("git agent review ", tasks, 1);
	zsh_expect("git agent review f", fix, 1);
	zsh_expect("git agent review --merge ", tasks, 1);
	zsh_expect("git agent review --check make ", tasks, 1);
	zsh_expect("git-agent-review ", tasks, 1);
	zsh_expect("git agent review --check ", none, 1);
	zsh_expect("git agent review --stat-width ", none, 1);
}

Test(zsh, trace_options)
{
	const char *const all[] = {
		"--event", "--since", "--until", "--agent", "--grep",
		"--max-count", "--json", "--follow", "--color", "--no-color",
		"--no-pager", "--tasks", "--emit", "--message", "--field",
		"--task", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("zsh");
	zsh_expect("git agent trace --", all, 1);
	zsh_expect("git agent trace --js", json, 1);
	zsh_expect("git agent trace billing-export --", all, 1);
	/* The executables themselves. */
	zsh_expect("git-agent trace --js", json, 1);
	zsh_expect("git-agent-trace --js", json, 1);

	zsh_expect_described("git agent trace --");
}

Test(zsh, trace_colors)
{
	const char *const whens[] = { "always", "never", "auto", NULL };

	setup("zsh");
	zsh_expect("git agent trace --color=", whens, 1);
}

Test(zsh, trace_events)
{
	setup("zsh");
	zsh_expect("git agent trace --event ", events, 1);
	zsh_expect("git agent trace -e ", events, 1);
	zsh_expect("git agent trace --event=", events, 1);
	zsh_expect("git agent trace --event merge.", merge_events, 1);
	zsh_expect("git-agent-trace -e ", events, 1);
}

Test(zsh, trace_task_names)
{
	const char *const none[] = { NULL };
	const char *const fix[] = { "fix-login", NULL };

	setup("zsh");
	make_task_records();
	zsh_expect("git agent trace ", tasks, 1);
	zsh_expect("git agent trace f", fix, 1);
	zsh_expect("git agent trace billing-export ", tasks, 1);
	zsh_expect("git agent trace --event merge.done ", tasks, 1);
	zsh_expect("git agent trace --color ", tasks, 1);
	zsh_expect("git agent trace --emit deploy --task ", tasks, 1);
	zsh_expect("git-agent-trace ", tasks, 1);
	zsh_expect("git agent trace --since ", none, 1);
	zsh_expect("git agent trace --grep ", none, 1);
	zsh_expect("git agent trace --emit ", none, 1);
	zsh_expect("git agent trace --emit deploy --field ", none, 1);
}

/* ------------------------------------------------------------------ */
/* fish                                                                 */

static void fish_complete(const char *line, struct list *got)
{
	char *fish = need_shell("fish");
	char *script = driver("fish-complete.fish");
	char *argv[] = { fish, "--no-config", script, fx.fishdir, (char *)line, NULL };
	struct result r;

	run(argv, fx.repo, fx.env, &r);
	cr_assert(r.status == 0, "fish on '%s' exited with %d: %s", line, r.status, r.err.s);
	/* Once per test: the driver's note on fish's git.fish (fish 3.6.0). */
	if (*r.err.s && !fx.fish_noted) {
		cr_log_info("fish on '%s': %s", line, r.err.s);
		fx.fish_noted = 1;
	}
	split_lines(r.out.s, 1, got);
	result_free(&r);
	free(script);
	free(fish);
}

static void fish_expect(const char *line, const char *const *want, int exact)
{
	struct list got = { NULL, 0 };

	fish_complete(line, &got);
	expect_offers("fish", line, &got, want, exact);
	list_free(&got);
}

TestSuite(fish, .fini = teardown, .timeout = 300);

Test(fish, commands)
{
	const char *const cmds[] = { "spawn", "review", "trace", "help", NULL };
	const char *const topics[] = { "spawn", "review", "trace", NULL };
	const char *const review[] = { "review", NULL };
	const char *const trace[] = { "trace", NULL };

	setup("fish");
	fish_expect("git agent ", cmds, 1);
	fish_expect("git-agent ", cmds, 1);
	fish_expect("git agent rev", review, 1);
	fish_expect("git agent tr", trace, 1);
	fish_expect("git agent help ", topics, 1);
	fish_expect("git-agent help ", topics, 1);
}

Test(fish, spawn_options)
{
	const char *const all[] = {
		"--create", "--dry-run", "--base", "--fetch", "--no-fetch",
		"--agent", "--name", "--out", "--message", "--file", "--scope",
		"--step", "--check", "--allow-dirty", "--keep-failed", "--run", "--wait", "--timeout",
		"--from", "--jobs", "--json", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("fish");
	fish_expect("git agent spawn --", all, 1);
	fish_expect("git-agent spawn --", all, 1);
	fish_expect("git agent spawn --js", json, 1);
}

Test(fish, base_refs)
{
	const char *const with_eq[] = {
		"--base=main", "--base=feature/login", "--base=topic",
		"--base=v1.0", "--base=origin/release", NULL
	};
	const char *const feature[] = { "--base=feature/login", NULL };

	setup("fish");
	fish_expect("git agent spawn --base ", refs, 0);
	fish_expect("git agent spawn --base=", with_eq, 0);
	fish_expect("git agent spawn --base=fe", feature, 1);
	fish_expect("git-agent spawn --base ", refs, 0);
}

Test(fish, arguments)
{
	const char *const none[] = { NULL };
	const char *const outdir[] = { "outdir/", NULL };
	const char *const notes[] = { "notes.txt", NULL };

	setup("fish");
	fish_expect("git agent spawn --agent ", none, 1);
	fish_expect("git agent spawn --name ", none, 1);
	fish_expect("git agent spawn -m ", none, 1);
	fish_expect("git agent spawn --step ", none, 1);
	fish_expect("git agent spawn --check ", none, 1);
	fish_expect("git agent spawn --run --timeout ", none, 1);
	fish_expect("git agent spawn some title ", none, 1);
	fish_expect("git agent spawn --out ", outdir, 1);
	fish_expect("git agent spawn -F ", notes, 0);
	fish_expect("git agent spawn --scope ", notes, 0);
}

Test(fish, review_options)
{
	const char *const all[] = {
		"--check", "--stat-width", "--json", "--merge", "--style",
		"--keep", "--allow-out-of-scope", "--request-changes",
		"--abandon", "--force", "--keep-branch", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("fish");
	fish_expect("git agent review --", all, 1);
	fish_expect("git-agent review --", all, 1);
	fish_expect("git agent review --js", json, 1);
}

Test(fish, review_styles)
{
	const char *const styles[] = { "merge", "ff", "squash", NULL };
	const char *const with_eq[] = {
		"--style=merge", "--style=ff", "--style=squash", NULL
	};

	setup("fish");
	fish_expect("git agent review --merge --style ", styles, 1);
	fish_expect("git agent review --merge --style=", with_eq, 1);
}

Test(fish, review_task_names)
{
	const char *const none[] = { NULL };
	const char *const fix[] = { "fix-login", NULL };

	setup("fish");
	make_task_records();
	fish_expect("git agent review ", tasks, 1);
	fish_expect("git-agent review ", tasks, 1);
	fish_expect("git agent review f", fix, 1);
	fish_expect("git agent review --merge ", tasks, 1);
	fish_expect("git agent review --check make ", tasks, 1);
	fish_expect("git agent review billing-export ", none, 1);
	fish_expect("git agent review --check ", none, 1);
	fish_expect("git agent review --stat-width ", none, 1);
}

Test(fish, trace_options)
{
	const char *const all[] = {
		"--event", "--since", "--until", "--agent", "--grep",
		"--max-count", "--json", "--follow", "--color", "--no-color",
		"--no-pager", "--tasks", "--emit", "--message", "--field",
		"--task", "--help", NULL
	};
	const char *const json[] = { "--json", NULL };

	setup("fish");
	fish_expect("git agent trace --", all, 1);
	fish_expect("git-agent trace --", all, 1);
	fish_expect("git agent trace --js", json, 1);
	fish_expect("git agent trace billing-export --", all, 1);
}

Test(fish, trace_colors)
{
	const char *const with_eq[] = {
		"--color=always", "--color=never", "--color=auto", NULL
	};

	setup("fish");
	fish_expect("git agent trace --color=", with_eq, 1);
}

Test(fish, trace_events)
{
	const char *const with_eq[] = {
		"--event=merge.done", "--event=merge.failed", "--event=merge.refused", NULL
	};

	setup("fish");
	fish_expect("git agent trace --event ", events, 1);
	fish_expect("git agent trace -e ", events, 1);
	fish_expect("git-agent trace --event ", events, 1);
	fish_expect("git agent trace --event merge.", merge_events, 1);
	fish_expect("git agent trace --event=merge.", with_eq, 1);
}

Test(fish, trace_task_names)
{
	const char *const none[] = { NULL };
	const char *const fix[] = { "fix-login", NULL };

	setup("fish");
	make_task_records();
	fish_expect("git agent trace ", tasks, 1);
	fish_expect("git-agent trace ", tasks, 1);
	fish_expect("git agent trace f", fix, 1);
	fish_expect("git agent trace billing-export ", tasks, 1);
	fish_expect("git agent trace --event merge.done ", tasks, 1);
	fish_expect("git agent trace --color ", tasks, 1);
	fish_expect("git agent trace --emit deploy --task ", tasks, 1);
	fish_expect("git agent trace --since ", none, 1);
	fish_expect("git agent trace --grep ", none, 1);
	fish_expect("git agent trace --emit ", none, 1);
	fish_expect("git agent trace --emit deploy ", none, 1);
	fish_expect("git agent trace --emit deploy --field ", none, 1);
}
