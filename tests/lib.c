/* The harness of the integration tests: see lib.h. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

extern char **environ;

char *sandbox;
char *build_dir;
/* Where the shims of $GIT_AGENT_TEST_WRAPPER are, when it is set. */
static char *wrap_dir;

/* What the sandbox frees at the end: memory, JSON values, process groups. */
static void **kept;
static size_t kept_nr, kept_alloc;
static json_t **kept_json;
static size_t kept_json_nr, kept_json_alloc;
static pid_t background[16];
static size_t background_nr;

static void *grow(void *array, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return array;
	*alloc = need < 16 ? 16 : need * 2;
	array = realloc(array, *alloc * size);
	cr_assert(array != NULL, "out of memory");
	return array;
}

void *keep(void *p)
{
	cr_assert(p != NULL, "out of memory");
	kept = grow(kept, &kept_alloc, kept_nr + 1, sizeof(*kept));
	kept[kept_nr++] = p;
	return p;
}

static json_t *keep_json(json_t *value)
{
	kept_json = grow(kept_json, &kept_json_alloc, kept_json_nr + 1, sizeof(*kept_json));
	kept_json[kept_json_nr++] = value;
	return value;
}

static char *vstrf(const char *fmt, va_list ap)
{
	char *s;

	cr_assert(vasprintf(&s, fmt, ap) >= 0, "out of memory");
	return keep(s);
}

char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vstrf(fmt, ap);
	va_end(ap);
	return s;
}

char *sandbox_path(const char *fmt, ...)
{
	va_list ap;
	char *name;

	va_start(ap, fmt);
	name = vstrf(fmt, ap);
	va_end(ap);
	return strf("%s/%s", sandbox, name);
}

char *sh_quote(const char *s)
{
	size_t len = 2;
	const char *p;
	char *out, *o;

	for (p = s; *p; p++)
		len += *p == '\'' ? 4 : 1;
	o = out = keep(malloc(len + 1));
	*o++ = '\'';
	for (p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

char *visible(const char *s)
{
	char *out, *o;

	if (!s)
		return "(null)";
	o = out = keep(malloc(strlen(s) * 4 + 1));
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/* Sets up the environment every command of the test inherits. */
static void isolate_environment(void)
{
	static const char *unset[] = {
		"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE",
		"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
		"GIT_NAMESPACE", "GIT_PREFIX", "GIT_EXEC_PATH", "GIT_CONFIG",
		"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG_GLOBAL",
		"GIT_CONFIG_SYSTEM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
		"GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
		"GIT_COMMITTER_DATE", "GIT_TRACE", "GIT_TRACE2", "GIT_TRACE2_EVENT",
		"EMAIL", "MANPATH", "GIT_MAN_VIEWER", "COLUMNS", "CDPATH", "ENV",
		"BASH_ENV",
	};
	const char *path = getenv("PATH");
	char *home = sandbox_path("home");
	size_t i;

	for (i = 0; i < sizeof(unset) / sizeof(*unset); i++)
		unsetenv(unset[i]);
	write_file(strf("%s/.gitconfig", home),
		   "[user]\n\tname = Test User\n\temail = test@example.com\n"
		   "[init]\n\tdefaultBranch = main\n"
		   "[protocol \"file\"]\n\tallow = always\n"
		   "[commit]\n\tgpgSign = false\n"
		   "[advice]\n\tdetachedHead = false\n\tstatusHints = false\n"
		   "\tresolveConflict = false\n\tdefaultBranchName = false\n", 0644);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", strf("%s/.config", home), 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CEILING_DIRECTORIES", sandbox, 1);
	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	setenv("PATH", strf("%s%s%s:%s", wrap_dir ? wrap_dir : "", wrap_dir ? ":" : "", build_dir,
			    path ? path : "/usr/bin:/bin"), 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("TZ", "UTC", 1);
	setenv("TERM", "dumb", 1);
	setenv("PAGER", "cat", 1);
	setenv("GIT_PAGER", "cat", 1);
	setenv("MANPAGER", "cat", 1);
}

/*
 * With GIT_AGENT_TEST_WRAPPER set (shell words, such as "valgrind -q ..."),
 * every git-agent program a test starts runs under it; git and the rest do
 * not.  A directory of shims goes first on PATH: git-agent-<cmd> runs the
 * wrapper on the built program.  git-agent execs the git-agent-<cmd> beside
 * itself, so its shim wraps a copy of it in libexec/, next to a second set
 * of shims.
 */
static void make_wrappers(const char *wrapper)
{
	static const char *const programs[] = { "git-agent-spawn", "git-agent-review",
						"git-agent-trace" };
	char *libexec, *shim;
	size_t i;

	wrap_dir = strf("%s/git-agent-wrap.XXXXXX", getenv("TMPDIR") && *getenv("TMPDIR") ?
			getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(wrap_dir), "mkdtemp %s: %s", wrap_dir, strerror(errno));
	libexec = strf("%s/libexec", wrap_dir);
	make_dirs(libexec);
	for (i = 0; i < sizeof(programs) / sizeof(*programs); i++) {
		shim = strf("#!/bin/sh\nexec %s %s/%s \"$@\"\n", wrapper, sh_quote(build_dir),
			    programs[i]);
		write_file(strf("%s/%s", wrap_dir, programs[i]), shim, 0755);
		write_file(strf("%s/%s", libexec, programs[i]), shim, 0755);
	}
	write_file(strf("%s/git-agent", wrap_dir),
		   strf("#!/bin/sh\nexec %s %s/git-agent \"$@\"\n", wrapper, sh_quote(libexec)),
		   0755);
	run_ok(NULL, "cp %s/git-agent %s/", sh_quote(build_dir), sh_quote(libexec));
}

void sandbox_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *build = getenv("GIT_AGENT_BUILD_DIR");
	char *template, resolved[PATH_MAX];

	cr_assert(build && *build, "GIT_AGENT_BUILD_DIR is not set (run the tests with make check)");
	cr_assert(realpath(build, resolved), "GIT_AGENT_BUILD_DIR '%s': %s", build, strerror(errno));
	build_dir = keep(strdup(resolved));
	template = strf("%s/git-agent-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(template), "mkdtemp %s: %s", template, strerror(errno));
	cr_assert(realpath(template, resolved), "realpath %s", template);
	sandbox = keep(strdup(resolved));
	atexit(sandbox_teardown);
	if (getenv("GIT_AGENT_TEST_WRAPPER") && *getenv("GIT_AGENT_TEST_WRAPPER"))
		make_wrappers(getenv("GIT_AGENT_TEST_WRAPPER"));
	isolate_environment();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void sandbox_teardown(void)
{
	size_t i;

	for (i = 0; i < background_nr; i++) {
		kill(-background[i], SIGKILL);
		waitpid(background[i], NULL, 0);
	}
	background_nr = 0;
	if (sandbox) {
		if (getenv("KEEP_SANDBOX"))
			fprintf(stderr, "sandbox kept: %s\n", sandbox);
		else
			nftw(sandbox, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		sandbox = NULL;
	}
	if (wrap_dir) {
		nftw(wrap_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		wrap_dir = NULL;
	}
	for (i = 0; i < kept_json_nr; i++)
		json_decref(kept_json[i]);
	kept_json_nr = 0;
	for (i = 0; i < kept_nr; i++)
		free(kept[i]);
	kept_nr = 0;
}

struct buffer {
	char *data;
	size_t len, alloc;
};

/* Reads what is available on fd into b; returns 0 at end of file. */
static int drain(int fd, struct buffer *b)
{
	ssize_t n;

	b->data = grow(b->data, &b->alloc, b->len + 65536, 1);
	n = read(fd, b->data + b->len, b->alloc - b->len - 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	cr_assert(n >= 0, "read: %s", strerror(errno));
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return n > 0;
}

static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		cr_assert(errno == EINTR, "waitpid: %s", strerror(errno));
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Runs script with /bin/sh -c, stdin from /dev/null, capturing output. */
static int run_script(struct result *r, const char *script)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	posix_spawn_file_actions_t actions;
	struct buffer out = { NULL, 0, 0 }, err = { NULL, 0, 0 };
	struct pollfd fds[2];
	int out_pipe[2], err_pipe[2], open_fds = 2, i;
	pid_t pid;

	cr_assert(pipe(out_pipe) == 0 && pipe(err_pipe) == 0, "pipe: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		fcntl(out_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(err_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
	posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
	errno = posix_spawn(&pid, "/bin/sh", &actions, NULL, argv, environ);
	cr_assert(errno == 0, "posix_spawn /bin/sh: %s", strerror(errno));
	posix_spawn_file_actions_destroy(&actions);
	close(out_pipe[1]);
	close(err_pipe[1]);

	fds[0].fd = out_pipe[0];
	fds[1].fd = err_pipe[0];
	fds[0].events = fds[1].events = POLLIN;
	while (open_fds) {
		if (poll(fds, 2, -1) < 0) {
			cr_assert(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!drain(fds[i].fd, i ? &err : &out)) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			}
		}
	}
	r->status = wait_status(pid);
	r->out = keep(out.data);
	r->out_len = out.len;
	r->err = keep(err.data);
	r->err_len = err.len;
	return r->status;
}

static char *script_in(const char *dir, const char *command)
{
	return strf("cd %s || exit 125\n%s", sh_quote(dir ? dir : sandbox), command);
}

int run(struct result *out, const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *command;

	va_start(ap, fmt);
	command = vstrf(fmt, ap);
	va_end(ap);
	return run_script(out, script_in(dir, command));
}

char *run_ok(const char *dir, const char *fmt, ...)
{
	struct result r;
	va_list ap;
	char *command;

	va_start(ap, fmt);
	command = vstrf(fmt, ap);
	va_end(ap);
	run_script(&r, script_in(dir, command));
	cr_assert_eq(r.status, 0, "`%s` in %s: exit %d\n--- stdout:\n%s--- stderr:\n%s",
		     visible(command), dir ? dir : sandbox, r.status, visible(r.out), visible(r.err));
	while (r.out_len && r.out[r.out_len - 1] == '\n')
		r.out[--r.out_len] = '\0';
	return r.out;
}

pid_t run_background(const char *dir, const char *log, const char *fmt, ...)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	char *argv[] = { "sh", "-c", NULL, NULL };
	va_list ap;
	pid_t pid;

	cr_assert(background_nr < sizeof(background) / sizeof(*background), "too many background jobs");
	va_start(ap, fmt);
	argv[2] = script_in(dir, vstrf(fmt, ap));
	va_end(ap);
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&actions, 1, 2);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	errno = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
	cr_assert(errno == 0, "posix_spawn /bin/sh: %s", strerror(errno));
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	background[background_nr++] = pid;
	return pid;
}

char *read_file(const char *path)
{
	struct buffer b = { NULL, 0, 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	while (drain(fd, &b))
		;
	close(fd);
	return keep(b.data);
}

void make_dirs(const char *path)
{
	char *p = strf("%s", path), *s;

	for (s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	cr_assert(mkdir(p, 0755) == 0 || (errno == EEXIST && is_dir(p)), "mkdir %s: %s", p,
		  strerror(errno));
}

void write_file(const char *path, const char *text, mode_t mode)
{
	char *dir = strf("%s", path), *slash = strrchr(dir, '/');
	FILE *f;

	if (slash && slash != dir) {
		*slash = '\0';
		make_dirs(dir);
	}
	f = fopen(path, "w");
	cr_assert(f != NULL, "open %s: %s", path, strerror(errno));
	cr_assert(fputs(text, f) >= 0 && fclose(f) == 0, "write %s: %s", path, strerror(errno));
	cr_assert(chmod(path, mode) == 0, "chmod %s: %s", path, strerror(errno));
}

int path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int is_symlink(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int is_executable(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR);
}

int count_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		if (*s == '\n' || !s[1])
			n++;
	return n;
}

int count_matches(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

int wait_for_file(const char *path, int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat st;

	for (; timeout_ms > 0; timeout_ms -= 10) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

char *make_repo_on(const char *name, const char *branch)
{
	char *repo = sandbox_path("%s", name);

	run_ok(NULL, "git init -q -b %s %s", sh_quote(branch), sh_quote(repo));
	write_file(strf("%s/README.md", repo), "# demo\n", 0644);
	write_file(strf("%s/.gitignore", repo),
		   "*.log\nbuild/\n.env\nnode_modules\nsecrets/\n*.key\n", 0644);
	write_file(strf("%s/src/main.c", repo), "int main(void) { return 0; }\n", 0644);
	run_ok(repo, "git add -A && git commit -q -m 'first commit'");
	write_file(strf("%s/a file.txt", repo), "a name with a space\n", 0644);
	write_file(strf("%s/na\xc3\xafve \xc3\xbc.txt", repo), "a UTF-8 name\n", 0644);
	write_file(strf("%s/tools/run.sh", repo), "#!/bin/sh\necho run\n", 0755);
	run_ok(repo, "git add -A && git commit -q -m 'second commit'");
	write_file(strf("%s/README.md", repo), "# demo\n\nMore text.\n", 0644);
	run_ok(repo, "git commit -q -am 'third commit'");
	return repo;
}

char *make_repo(const char *name)
{
	return make_repo_on(name, "main");
}

int worktree_count(const char *repo)
{
	return count_matches(strf("\n%s", run_ok(repo, "git worktree list --porcelain")),
			     "\nworktree ");
}

int worktree_listed(const char *repo, const char *path)
{
	char *list = strf("\n%s\n", run_ok(repo, "git worktree list --porcelain"));

	return strstr(list, strf("\nworktree %s\n", path)) != NULL;
}

json_t *json_parse(const char *text)
{
	json_error_t error;
	json_t *value = json_loads(text, 0, &error);

	cr_assert(value != NULL, "invalid JSON (%s, line %d) in:\n%s", error.text, error.line,
		  visible(text));
	keep_json(value);
	cr_assert(json_is_object(value), "not a JSON object:\n%s", visible(text));
	return value;
}

const char *json_str(json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(object, key));

	cr_assert(s != NULL, "no string \"%s\" in %s", key,
		  visible(keep(json_dumps(object, JSON_COMPACT))));
	return s;
}

/* Runs `git agent <command> --json <args>` in dir, asserts status, parses stdout. */
static json_t *agent_json(const char *dir, const char *command, int status, const char *args)
{
	struct result r;

	run_script(&r, script_in(dir, strf("git agent %s --json %s", command, args)));
	cr_assert_eq(r.status, status, "git agent %s --json %s: exit %d, expected %d\n"
		     "--- stdout:\n%s--- stderr:\n%s", command, visible(args), r.status, status,
		     visible(r.out), visible(r.err));
	return json_parse(r.out);
}

json_t *spawn_json(const char *dir, const char *args_fmt, ...)
{
	va_list ap;
	char *args;

	va_start(ap, args_fmt);
	args = vstrf(args_fmt, ap);
	va_end(ap);
	return agent_json(dir, "spawn", 0, args);
}

json_t *review_json(const char *dir, int status, const char *args_fmt, ...)
{
	va_list ap;
	char *args;

	va_start(ap, args_fmt);
	args = vstrf(args_fmt, ap);
	va_end(ap);
	return agent_json(dir, "review", status, args);
}

/* Asserts that line n of a trace is a whole event and returns it. */
static json_t *trace_line(const char *line, size_t len, int n)
{
	json_error_t error;
	json_t *event = json_loadb(line, len, 0, &error);
	const char *ts;

	cr_assert(event != NULL, "trace line %d is not JSON (%s): %s", n, error.text,
		  visible(strf("%.*s", (int)len, line)));
	keep_json(event);
	cr_assert(json_is_object(event), "trace line %d is not an object", n);
	cr_assert_eq(json_integer_value(json_object_get(event, "v")), 1, "trace line %d: v is not 1", n);
	ts = json_string_value(json_object_get(event, "ts"));
	cr_assert(ts && strlen(ts) >= 20 && ts[strlen(ts) - 1] == 'Z' && ts[10] == 'T',
		  "trace line %d: bad ts", n);
	cr_assert(json_is_string(json_object_get(event, "event")), "trace line %d: no event", n);
	cr_assert(json_is_string(json_object_get(event, "task")), "trace line %d: no task", n);
	return event;
}

json_t *trace_read(const char *path)
{
	json_t *events = keep_json(json_array());
	char *text = read_file(path), *line, *end;
	int n = 1;

	if (!text)
		return events;
	for (line = text; *line; line = end + 1, n++) {
		end = strchr(line, '\n');
		cr_assert(end != NULL, "trace line %d is not terminated: %s", n, visible(line));
		json_array_append(events, trace_line(line, (size_t)(end - line), n));
	}
	return events;
}

static int event_matches(json_t *e, const char *event, const char *task)
{
	return !strcmp(json_string_value(json_object_get(e, "event")), event) &&
	       (!task || !strcmp(json_string_value(json_object_get(e, "task")), task));
}

json_t *trace_find(json_t *events, const char *event, const char *task)
{
	size_t i;
	json_t *e;

	json_array_foreach(events, i, e)
		if (event_matches(e, event, task))
			return e;
	return NULL;
}

int trace_count(json_t *events, const char *event, const char *task)
{
	size_t i;
	json_t *e;
	int n = 0;

	json_array_foreach(events, i, e)
		n += event_matches(e, event, task);
	return n;
}

/* The code point of the UTF-8 sequence at s (n bytes left), its length in *len; -1 if invalid. */
static long utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
	static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned long cp;
	size_t i, want = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
		(s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (!want || want > n)
		return -1;
	cp = want == 1 ? s[0] : s[0] & (0x7f >> want);
	for (i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[want] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = want;
	return (long)cp;
}

void assert_terminal_safe(const char *what, const char *s, size_t len)
{
	size_t i, n;
	long cp;

	for (i = 0; i < len; i += n) {
		cp = utf8_decode((const unsigned char *)s + i, len - i, &n);
		cr_assert(cp >= 0, "%s has the byte 0x%02x at %zu, which is not UTF-8 (a raw C1 "
			  "control to some terminals):\n%s", what, (unsigned char)s[i], i, visible(s));
		cr_assert((cp >= 0x20 || cp == '\n' || cp == '\t') && cp != 0x7f,
			  "%s has the raw control byte 0x%02lx at %zu:\n%s", what, cp, i, visible(s));
		cr_assert(!(cp >= 0x80 && cp <= 0x9f), "%s has the raw C1 control U+%04lX at %zu:\n%s",
			  what, cp, i, visible(s));
		cr_assert(!((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
			    cp == 0x200e || cp == 0x200f || cp == 0x061c),
			  "%s has the raw bidirectional control U+%04lX at %zu:\n%s", what, cp, i,
			  visible(s));
	}
}

int run_on_terminal(struct result *out, const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *command, *p, *o;

	va_start(ap, fmt);
	command = vstrf(fmt, ap);
	va_end(ap);
	run_script(out, script_in(dir, strf("script -qec %s /dev/null", sh_quote(command))));
	/* The terminal's own line ends, \r\n, back to \n. */
	for (p = o = out->out; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	out->out_len = (size_t)(o - out->out);
	return out->status;
}

char *env_value(const char *env, const char *name)
{
	char *text = strf("\n%s", env), *key = strf("\n%s=", name);
	char *p = strstr(text, key), *end;

	if (!p)
		return NULL;
	p += strlen(key);
	end = strchr(p, '\n');
	return strf("%.*s", (int)(end ? end - p : (long)strlen(p)), p);
}
