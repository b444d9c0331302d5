/*
 * The harness of git-agent's integration tests: a sandbox per test (a
 * temporary directory, an isolated HOME and git configuration, the built
 * programs first on PATH), shell command lines run with their output
 * captured, and small helpers for files, repositories, JSON and the trace.
 *
 * With GIT_AGENT_TEST_WRAPPER set (shell words, as `make valgrind` sets
 * it), every git-agent program a test starts runs under that command.
 *
 * Include <criterion/criterion.h> before this header. Every string, JSON
 * value and buffer the harness returns lives until the end of the test:
 * tests never free them.
 */
#ifndef TESTS_LIB_H
#define TESTS_LIB_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* What a finished command did. */
struct result {
	int status;		/* exit code; 128 + signal when killed */
	char *out;		/* stdout, NUL-terminated */
	size_t out_len;
	char *err;		/* stderr, NUL-terminated */
	size_t err_len;
};

/* This test's temporary directory, canonical, removed at the end. */
extern char *sandbox;
/* The project root with the built programs ($GIT_AGENT_BUILD_DIR). */
extern char *build_dir;

/* Criterion fixtures: .init = sandbox_setup, .fini = sandbox_teardown. */
void sandbox_setup(void);
void sandbox_teardown(void);

/* Hands p to the sandbox, which frees it at the end of the test. */
void *keep(void *p);
/* A formatted string. */
char *strf(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A path below the sandbox. */
char *sandbox_path(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* s quoted for POSIX sh: single quotes, ' as '\''. */
char *sh_quote(const char *s);
/* s with control bytes shown as \xNN, for assertion messages. */
char *visible(const char *s);

/* Runs a /bin/sh command line in dir (NULL: the sandbox); returns its status. */
int run(struct result *out, const char *dir, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* run() that asserts exit 0 and returns stdout without trailing newlines. */
char *run_ok(const char *dir, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Starts a command line in the background, in a process group of its own. */
pid_t run_background(const char *dir, const char *log, const char *fmt, ...) PRINTF_LIKE(3, 4);

/*
 * Runs a command line on a terminal that script(1) makes, as a user's shell
 * would: stdout and stderr both go to it and come back in out->out.
 */
int run_on_terminal(struct result *out, const char *dir, const char *fmt, ...) PRINTF_LIKE(3, 4);

/*
 * Asserts that s can do nothing to a terminal: valid UTF-8 (a lone byte
 * 0x80-0x9f is a C1 control to some), no control character but newline and
 * tab, no DEL, no C1 control and no bidirectional override or isolate.
 */
void assert_terminal_safe(const char *what, const char *s, size_t len);

/* Asserts a result's exit status, showing its output when it differs. */
#define assert_status(r, code) \
	cr_assert_eq((r)->status, (code), "exit %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", \
		     (r)->status, (code), visible((r)->out), visible((r)->err))
/* Asserts that haystack contains needle. */
#define assert_contains(haystack, needle) \
	cr_assert(strstr((haystack), (needle)) != NULL, "expected %s in:\n%s", \
		  visible(needle), visible(haystack))
#define assert_not_contains(haystack, needle) \
	cr_assert(strstr((haystack), (needle)) == NULL, "unexpected %s in:\n%s", \
		  visible(needle), visible(haystack))

/* A whole file, NUL-terminated, or NULL when it cannot be read. */
char *read_file(const char *path);
/* mkdir -p, or asserts. */
void make_dirs(const char *path);
/* Writes a file (creating its directories) with mode, or asserts. */
void write_file(const char *path, const char *text, mode_t mode);
int path_exists(const char *path);	/* lstat: symlinks count */
int is_dir(const char *path);
int is_symlink(const char *path);
int is_executable(const char *path);	/* a regular file with u+x */
/* Entries of a directory, "." and ".." aside; 0 when it does not exist. */
int count_entries(const char *dir);
/* The value of NAME in the output of env(1), or NULL. */
char *env_value(const char *env, const char *name);
/* Lines in s (a last line without newline counts). */
int count_lines(const char *s);
/* Occurrences of needle in s. */
int count_matches(const char *s, const char *needle);
/* Waits until path exists and is non-empty; returns 0, or -1 on timeout. */
int wait_for_file(const char *path, int timeout_ms);

/*
 * A repository <sandbox>/<name> on branch main with three commits, an
 * ignore file (*.log build/ .env node_modules secrets/ *.key), a file with
 * a space, one with a UTF-8 name and an executable script.
 */
char *make_repo(const char *name);
/* make_repo() on another initial branch. */
char *make_repo_on(const char *name, const char *branch);
/* Worktrees (the main one included) in `git worktree list --porcelain`. */
int worktree_count(const char *repo);
/* Whether path is a worktree in `git worktree list --porcelain`. */
int worktree_listed(const char *repo, const char *path);

/* Parses text as one JSON object, or asserts. */
json_t *json_parse(const char *text);
/* A string member, or asserts. */
const char *json_str(json_t *object, const char *key);
/* Runs `git agent spawn --json <args>` in dir, asserts exit 0, parses stdout. */
json_t *spawn_json(const char *dir, const char *args_fmt, ...) PRINTF_LIKE(2, 3);
/* Runs `git agent review --json <args>` in dir, asserts the exit status, parses stdout. */
json_t *review_json(const char *dir, int status, const char *args_fmt, ...) PRINTF_LIKE(3, 4);
/*
 * Every event of a trace file as an array, asserting that each line is one
 * whole JSON object with v, ts, event and task. A missing file is empty.
 */
json_t *trace_read(const char *path);
/* The first event named event of task (NULL: any), or NULL. */
json_t *trace_find(json_t *events, const char *event, const char *task);
/* The number of such events. */
int trace_count(json_t *events, const char *event, const char *task);

#endif
