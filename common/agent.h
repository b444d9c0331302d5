/*
 * The shared module of git-agent: one header, sectioned by the file that
 * implements each part.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include <git2.h>
#include <jansson.h>

#define AGENT_VERSION "0.1.0"

#define FORMAT(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))

/*
 * usage.c: messages, exit codes, allocation that cannot fail. usage.c and
 * text.c use no library but libc, so the dispatcher links nothing else.
 */

enum {
	EXIT_GATE = 1,		/* a gate or check said no */
	EXIT_FATAL = 128,	/* fatal: ... */
	EXIT_USAGE = 129	/* usage: ... */
};

NORETURN void die(const char *fmt, ...) FORMAT(1, 2);
NORETURN void die_errno(const char *fmt, ...) FORMAT(1, 2);
/* die() with ": <err>" appended when err is not NULL. */
NORETURN void die_with(const char *err, const char *fmt, va_list ap);
/*
 * Runs hook(message) once when the program dies, before the message is
 * printed: a command takes back what it made. NULL removes it.
 */
void set_die_hook(void (*hook)(const char *message));
int error(const char *fmt, ...) FORMAT(1, 2);
void warning(const char *fmt, ...) FORMAT(1, 2);
/* A line about a slow step, on stderr only when stderr is a terminal. */
void progress(const char *fmt, ...) FORMAT(1, 2);
NORETURN void usage_die(const char *usage);
/*
 * getopt_long's answers that are no option of the command: 'h' prints the
 * usage on stdout (exit 129); ':' (a missing value) and anything else are
 * usage errors that name the option.
 */
NORETURN void usage_getopt(int c, const char *usage, const char *option);
/* Flushes stdout and dies on a write error; a closed pipe exits quietly. */
void finish_stdout(void);
/* Execs `git help agent-<command>` (`git help agent` for NULL): the man page. */
NORETURN void show_man_page(const char *command);
/*
 * Makes a write past `ulimit -f` fail with EFBIG instead of killing us with
 * SIGXFSZ half-way through a file: the failure is then cut back and
 * reported like a full disk. Every program calls it first.
 */
void ignore_file_size_signal(void);
/*
 * Kills the process with SIGKILL when GIT_AGENT_TEST_DIE_AT names step: the
 * tests' way to stop a command between two steps, as a crash would.
 */
void test_die_point(const char *step);

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) FORMAT(1, 2);

struct strbuf {
	char *buf;		/* always NUL-terminated */
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT { NULL, 0, 0 }
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addch(struct strbuf *sb, int c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) FORMAT(2, 3);
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_reset(struct strbuf *sb);
/* Gives the buffer to the caller (an empty string when nothing was added). */
char *sb_detach(struct strbuf *sb);
void sb_release(struct strbuf *sb);
/* Reads a whole file, or the rest of fd; returns -1 with errno set on failure. */
int sb_read_file(struct strbuf *sb, const char *path);
int sb_read_fd(struct strbuf *sb, int fd);

/* items[nr] is NULL, so a list can serve as an argv. */
struct strlist {
	char **items;
	size_t nr;
	size_t alloc;
};
#define STRLIST_INIT { NULL, 0, 0 }
void strlist_push(struct strlist *list, const char *s);
/* Replaces dst's items with copies of src's. */
void strlist_copy(struct strlist *dst, const struct strlist *src);
void strlist_clear(struct strlist *list);

/* text.c: slugs, quoting and escaping of untrusted text */

#define SLUG_MAX 48
/* The slug of a title: [a-z0-9]+(-[a-z0-9]+)*, at most max characters. */
char *slugify(const char *title, size_t max);
int slug_is_valid(const char *slug);
/* Appends s quoted for POSIX sh: single quotes, ' as '\''. */
void sq_quote(struct strbuf *out, const char *s);
/*
 * Appends s with every control character, C1 control, bidirectional override
 * and invalid UTF-8 byte escaped (\n, \t, \x1b, \u009b), so untrusted text
 * can neither drive a terminal nor break a line-oriented file.
 */
void escape_control(struct strbuf *out, const char *s);
/* escape_control() that leaves the ASCII characters in keep as they are. */
void escape_control_keeping(struct strbuf *out, const char *s, const char *keep);
/*
 * Appends JSON text with DEL, C1 controls and bidirectional overrides, which
 * JSON strings may hold raw, as \u escapes, and without CR, which may stand
 * between values: the same JSON, safe on a terminal.
 */
void escape_json_for_terminal(struct strbuf *out, const char *json, size_t len);
/* escape_control() into a buffer that lives until the next 8 calls. */
const char *esc(const char *s);
/*
 * esc(s), then free(s): for the argument of a die() that would drop s.
 * LeakSanitizer counts a block that only a dead register pointed to.
 */
const char *esc_free(char *s);
/* Appends s with invalid UTF-8 replaced by U+FFFD. */
void utf8_lossy(struct strbuf *out, const char *s);
int utf8_valid(const char *s, size_t len);
/* Appends s as one markdown line whose special characters are escaped. */
void md_escape_line(struct strbuf *out, const char *s);
/* Appends s as an inline code span that no backtick in s can close. */
void md_code(struct strbuf *out, const char *s);
/* Appends s as a fenced code block that no content can close early. */
void md_fenced(struct strbuf *out, const char *s);
/* Stable port in 10000-19999 for a task, so parallel dev servers differ. */
int task_port(const char *slug);
/* UTC timestamp "2026-11-21T07:30:00.123Z": of ms since the epoch, or of now. */
void format_time_utc(char out[32], long long ms);
void format_timestamp(char out[32]);
/* Joins dir and name with one '/'. */
char *path_join(const char *dir, const char *name);
/* A path made absolute against base when relative; "~/" expands to $HOME. */
char *path_resolve(const char *base, const char *path);
/* Resolves what exists of path (symlinks too) and appends the rest. */
char *path_canonical(const char *path);
/* Whether path is dir or below it (both canonical). */
int path_is_inside(const char *path, const char *dir);
/* mkdir -p; returns -1 with errno set on failure. */
int mkdir_p(const char *path, mode_t mode);
/* mkdir -p of the directory that will hold path. */
int mkdir_for(const char *path, mode_t mode);
/* Writes all of data, through short writes and EINTR; -1 with errno set. */
int write_all(int fd, const void *data, size_t len);
/* rm -rf; returns -1 when something could not be removed. */
int remove_tree(const char *path);
/* Writes a whole file through a temporary and rename(2); the umask applies. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* repo.c: the repository and `git config agent.*` */

enum agent_mode { MODE_DRY_RUN, MODE_CREATE };
enum merge_style { MERGE_STYLE_MERGE, MERGE_STYLE_FF, MERGE_STYLE_SQUASH };

#define CHECK_TIMEOUT_MAX (365L * 24 * 3600)
#define JOBS_MAX 1000L		/* tasks of a batch at once: -j and agent.jobs */

struct agent_config {
	enum agent_mode mode;
	char *base;			/* NULL: current branch */
	int fetch;
	char *remote;
	char *branch_prefix;
	char *worktree_dir;		/* absolute */
	char *task_dir;			/* absolute: agent.dir */
	char *trace;			/* absolute: agent.trace */
	struct strlist copy, link, setup, command, check;
	struct strlist retry_pattern, env_pattern;	/* empty: the built-in ones */
	long check_timeout;		/* seconds, at most CHECK_TIMEOUT_MAX */
	enum merge_style merge_style;
	int remove_after_merge;
	char *template;			/* absolute, or NULL: built in */
	long jobs;
};

struct agent_repo {
	git_repository *repo;		/* as found from the environment */
	git_repository *main;		/* the main worktree's (may be repo) */
	char *common_dir;		/* canonical, no trailing slash */
	char *root;			/* the main worktree, canonical */
	char *name;			/* basename of root */
	char *agent_dir;		/* <common_dir>/agent */
	char *record_dir;		/* <common_dir>/agent/tasks: task records */
	struct agent_config config;
};

/*
 * Opens the repository the way git finds it (cwd, GIT_DIR, -C, --git-dir)
 * and reads agent.* from every level git reads, `git -c` included.
 * Dies with a clear message on failure.
 */
void agent_repo_open(struct agent_repo *out);
void agent_repo_close(struct agent_repo *r);

/*
 * Any git config value (color.ui, core.pager), `git -c` included, or NULL
 * when unset. The caller frees it.
 */
char *config_string(const struct agent_repo *r, const char *key);

/* One key = value from the command line (GIT_CONFIG_PARAMETERS/COUNT). */
struct config_param {
	char *key;			/* section and name lower-cased */
	char *value;			/* NULL: the key alone (boolean true) */
};
/* libgit2's last error message, or "unknown error": never NULL. */
const char *git_error_text(void);
/* Dies with libgit2's last error message appended. */
NORETURN void die_git(const char *fmt, ...) FORMAT(1, 2);

/*
 * `git worktree remove` (force times --force; 2 also removes a locked one),
 * then `git worktree prune`. Returns 0, or -1 after a warning.
 */
int remove_worktree(const struct agent_repo *r, const char *path, int force);
/*
 * For a worktree path that was free until we made it: removes what a `git
 * worktree add` killed half-way left there, which git may no longer call a
 * worktree, then prunes. Warns when something stays.
 */
void remove_own_worktree(const struct agent_repo *r, const char *path);
/* Held around a `git worktree add`: no prune of ours runs meanwhile. */
int hold_worktree_add(const struct agent_repo *r);
void release_worktree_lock(int fd);
/*
 * Deletes refs/heads/<branch> only while it points at expected (a full
 * commit id), so work added since is never lost. Returns 0, 1 when the
 * branch moved or is gone, or -1 after a warning.
 */
int delete_branch_at(const struct agent_repo *r, const char *branch, const char *expected);

/* Parses GIT_CONFIG_PARAMETERS; returns -1 on a malformed string. */
int parse_config_parameters(const char *env, struct config_param **out, size_t *nr);
void free_config_params(struct config_param *params, size_t nr);
/* Whether <prefix>/<slug> makes a branch name git accepts. */
int branch_prefix_is_valid(const char *prefix);
/* git's boolean: returns 1, 0, or -1 when value is not a boolean. */
int parse_bool(const char *value);

/* run.c: running git and other programs without a shell in between */

struct child {
	const char **argv;		/* argv[0] looked up in PATH */
	const char *dir;		/* working directory, or NULL */
	const char **env;		/* "NAME=value" to set, "NAME" to unset */
	int clean_git_env;		/* unset GIT_DIR and friends */
	int no_stdin;			/* stdin from /dev/null */
	const char *stdin_path;		/* or from this file */
	int stdin_fd;			/* or from this descriptor, when > 0 */
	const char *out_path;		/* stdout to this file (truncated) */
	int out_append;			/* out_path appended to instead */
	int err_to_out;			/* stderr where stdout goes */
	int capture_out;		/* collect stdout into out */
	int capture_err;		/* collect stderr into err */
	int quiet;			/* stdout and stderr to /dev/null */
	int stdout_to_stderr;
	int new_process_group;		/* so killpg() reaches its children */
	int new_session;		/* and no controlling terminal either */
	int default_sigpipe;		/* SIGPIPE back to SIG_DFL: we ignore it, it must not */
	/* When it turns non-zero (a signal handler's flag), SIGTERM the child. */
	const volatile sig_atomic_t *interrupt;
	struct strbuf out, err;
	pid_t pid;			/* while it runs */
	int out_fd, err_fd;
};
#define CHILD_INIT { 0 }

/*
 * Runs the child and waits: the exit code, 128 + signal number when it was
 * killed, or -1 (errno set) when it could not be started.
 */
int run_child(struct child *c);
/* run_child() in two halves, for work to do while the child runs. */
int start_child(struct child *c);
int finish_child(struct child *c);
void child_release(struct child *c);
/* Runs git with argv (without "git"); NULL-terminated. */
int run_git(struct child *c, const char **argv);
int start_git(struct child *c, const char **argv);
/*
 * Whether git's message says it failed because of another git process: a
 * lock it held, a worktree it was half-way through adding, or one it pruned
 * while this one was being added.
 */
int is_contention(const char *message);

/* How long lock contention with other git processes is retried. */
#define LOCK_RETRY_MS 10000
/* The signal that interrupted us (SIGINT, SIGTERM, SIGHUP), or 0. */
extern volatile sig_atomic_t interrupted;
/* From now on SIGINT, SIGTERM and SIGHUP only set interrupted. */
void catch_interrupts(void);
/* Sleeps, cut short by an interruption. */
void sleep_ms(long ms);
/*
 * Waits before another try at something another git process held locked:
 * 50 ms, doubling up to 1 s. Returns 0 when LOCK_RETRY_MS is up or we were
 * interrupted, and the caller should give up.
 */
int lock_backoff(long *waited);
/*
 * run_git() retried while git fails because of contention, which it tells
 * by git's message: c must capture stderr. Dies if git cannot run.
 */
int git_with_retry(struct child *c, const char **argv, const char *what);
/*
 * Ends the process group pgid, led by a child of ours, and whatever its
 * members started in it: SIGTERM, up to KILL_GRACE_MS for the group to go,
 * then SIGKILL. Returns once the group is gone (or a second after SIGKILL).
 * waited says the leader was reaped already; otherwise its wait status is
 * stored in *status.
 */
#define KILL_GRACE_MS 2000
void kill_group(pid_t pgid, int *status, int waited);
/*
 * Waits for pgid, a child of ours leading its own group (a check, an
 * agent), calling tick(data) between looks: when timeout_ms (0: none) passes
 * or we are interrupted the group is ended, *timed_out saying which; when
 * the leader ends by itself, whatever it left in the group is ended too.
 * Returns the leader's wait status.
 */
int wait_group(pid_t pgid, long long timeout_ms, int *timed_out,
	       void (*tick)(void *data), void *data);
/* Milliseconds of CLOCK_MONOTONIC: for durations and deadlines. */
long long monotonic_ms(void);

/* task.c: task records (<common-dir>/agent/tasks/<slug>.ini) */

enum task_status { TASK_PLANNED, TASK_CREATING, TASK_CREATED, TASK_MERGED, TASK_ABANDONED };

struct task {
	char *slug;
	char *title;
	char *description;
	char *agent;			/* the branch prefix */
	char *branch;
	char *base;			/* ref name as given, or a commit id */
	char *base_sha;
	char *worktree;
	char *folder;
	char *created;			/* timestamp of the record */
	int port;
	enum task_status status;
	struct strlist scope, steps, checks;
	int changes_round;		/* round changes were requested after, or -1 */
};

/* Serialises a task as INI that inih reads back exactly. */
void task_format(struct strbuf *out, const struct task *t);
/* Parses a record; returns 0, or -1 with a message in err. Release t either way. */
int task_parse(struct task *t, const char *text, struct strbuf *err);
void task_release(struct task *t);
/* Rewrites the record open (and locked) on fd in place; -1 with errno set. */
int task_write_fd(int fd, const struct task *t);
/* Reads the record on fd from its start; warns and returns -1 when invalid. */
int task_read_fd(int fd, const char *path, struct task *t);
/* The task environment (AGENT_TASK, ...) as "NAME=value" entries. */
void task_environment(const struct agent_repo *r, const struct task *t, struct strlist *env);
/*
 * Sets c up to run cmd with `sh -c` in the task's worktree with the task
 * environment env and no stdin (setup commands, checks); argv holds the
 * arguments and must live until the child has started.
 */
void task_command(struct child *c, const char *argv[4], const char *cmd,
		  const struct task *t, const struct strlist *env);
const char *task_status_name(enum task_status status);
char *task_record_path(const struct agent_repo *r, const char *slug);
/*
 * The slug of a task named by slug or branch (refs/heads/ optional), or when
 * name is NULL the task whose worktree holds the current directory. NULL
 * when there is none.
 */
char *task_find(struct agent_repo *r, const char *name);

/* trace.c: the append-only event log */

/* A JSON string of arbitrary bytes (invalid UTF-8 becomes U+FFFD). */
json_t *json_text(const char *s);
/* Prints a --json answer on stdout, indented by two, and drops the reference. */
void json_print(json_t *value);
/*
 * Writes JSON text and a newline to stdout, through escape_json_for_terminal()
 * when it ends up on a terminal (through a pager too).
 */
void json_write_stdout(const char *text, size_t len, int terminal);

/*
 * A new event {"v":1,"ts":...,"event":...,"task":...}; add fields with
 * json_object_set_new().
 */
json_t *trace_event(const char *event, const char *task);
/*
 * Appends one whole line under an exclusive lock; a failed or short write
 * is cut back so no partial line remains. A line longer than TRACE_MAX_LINE
 * has its longest strings cut, with "truncated": true. Takes the event's
 * reference. Returns 0, or -1 with errno set.
 */
int trace_append(const char *path, json_t *event);
/* trace_append() that warns instead of failing the caller. */
void trace_log(const struct agent_repo *r, json_t *event);
/*
 * trace_append() that dies naming the trace and the reason: for the event
 * a change must not happen without (the die hook takes the change back).
 */
void trace_log_or_die(const struct agent_repo *r, json_t *event);

/* event.c: reading the event log, line by line */

/* Longer lines are skipped unread: no event of ours comes near it. */
#define TRACE_MAX_LINE (256 * 1024)

/* A JSON value inside a line, as written. */
struct json_span {
	const char *p;			/* a string: what is inside the quotes */
	size_t len;
	char type;			/* 0 absent, 's', 'n', 't', 'f', 'z' (null), '{', '[' */
	int escaped;			/* a string with a backslash in it */
};

/* The top-level fields the reader looks at. */
struct event_line {
	struct json_span ts, event, task, agent, branch, emitted;
	struct json_span round, insertions, deletions, mergeable;
	struct json_span pid, exit_code, signal, class;	/* agent.exited */
	long long when;			/* ts in milliseconds since the epoch */
};

/*
 * Checks that a line (without its newline) is one JSON object in UTF-8 with
 * a "ts" time and an "event" string, and fills out. Returns NULL, or why
 * the line is no event: "not UTF-8", "not valid JSON", "no \"ts\" field"...
 */
const char *event_scan(const char *line, size_t len, struct event_line *out);
/* A string span's text, escapes undone (it may hold NUL bytes: see out->len). */
void json_span_text(const struct json_span *s, struct strbuf *out);
int json_span_is(const struct json_span *s, const char *text);
/* An integer span's value, or fallback for anything else. */
long long json_span_int(const struct json_span *s, long long fallback);

/*
 * What --task, --event, --since, --until and --grep ask of an event; --agent
 * needs the lines before, and stays with the trace command.
 */
struct event_filter {
	struct strlist tasks, events;	/* fnmatch(3) globs: one must match */
	int since_set, until_set;
	long long since, until;		/* milliseconds, both included */
	const char *grep;		/* text in any string of the event */
	/* A line without one of these cannot match, and is skipped unread (none: read all). */
	struct strlist needles;
};
/*
 * Picks the needles: the longest literal text of each --task glob (with no
 * --task and no --agent, of each --event glob), else --grep's text, plus a
 * backslash, as an escape may spell any of them. by_agent: --agent learns a
 * task's agent from all its lines, so only --task may narrow the lines.
 */
void event_filter_needles(struct event_filter *f, int by_agent);
/* Whether an event event_scan() read from line passes; tmp is scratch space. */
int event_filter_match(const struct event_filter *f, const char *line, size_t len,
		       const struct event_line *ev, struct strbuf *tmp);

/*
 * ISO-8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH[:MM]]. Without a zone the
 * time is local when local is set, else UTC. Milliseconds since the epoch;
 * a time outside the years 0000 to 9999 in UTC is refused, so that
 * format_time_utc() writes every accepted time back in the same form.
 */
int parse_iso_time(const char *s, size_t len, int local, long long *out, int *date_only);
/* An event's "ts": ISO-8601 with a time of day; UTC when it has no zone. */
int parse_event_time(const char *s, size_t len, long long *out);
/*
 * --since/--until: ISO-8601 (local without a zone) or "<N>s|m|h|d|w" before
 * now (milliseconds). A date alone is its first millisecond, or with until
 * its last.
 */
int parse_when(const char *arg, long long now, int until, long long *out);

/* supervise.c: the agent that `spawn --run` starts, and its supervisor */

struct agent_run {
	const struct agent_repo *repo;
	const struct task *task;
	const struct strlist *env;	/* the task environment */
	const struct strlist *commands;	/* the agent, then its fallbacks */
	long timeout;			/* seconds per attempt; 0: none */
};

/*
 * Takes <folder>/agent.lock, which the supervisor holds while the agent
 * runs; dies when another agent of the task runs. Returns the descriptor.
 */
int agent_lock(const struct task *t);
/*
 * Starts the supervisor in the background, holding lock_fd (its own session,
 * so closing the terminal ends neither); returns the first agent's pid once
 * agent.started is logged.
 */
pid_t agent_start(const struct agent_run *run, int lock_fd);
/*
 * Supervises in the foreground, streaming agent.log to stdout (escaped on a
 * terminal); or, when ready_fd >= 0, without streaming but writing the first
 * agent's pid (a pid_t) to ready_fd. Returns the agent's exit code, or
 * 128 + its signal.
 */
int agent_wait(const struct agent_run *run, int lock_fd, int ready_fd);
/*
 * Whether a supervisor holds the lock of the task folder; the pids it wrote
 * are returned either way (0 when unknown).
 */
int agent_probe(const char *folder, pid_t *supervisor, pid_t *pgid);
/*
 * Stops the task's agent: its supervisor ends the group (SIGTERM, then
 * SIGKILL) and logs agent.exited; a lost agent's group is ended here.
 * Returns 1 when there was one.
 */
int agent_stop(const struct task *t);

/*
 * batch.c: the task list of `spawn --from` (INI sections or features.json)
 *
 * INI: only [task "<slug>"] sections (section and key names in any case, the
 * slug as slug_is_valid() wants it); keys title (required), description,
 * base, agent (the branch prefix, like spawn --agent) once each, and scope,
 * step, check as often as wanted, in order. "key = value" or "key: value";
 * indentation is ignored; '#' and ';' start a comment only at the start of a
 * line. The value is the rest of the line without the blanks around it,
 * taken as it is (backslashes, quotes inside, $(...) too); one that starts
 * and ends with '"' is unquoted, with \n, \t, \" and \\ its only escapes
 * (a bare '"' inside is an error), which is how a value holds a newline or
 * keeps edge blanks. Empty values, unknown keys, keys outside a section and
 * repeated single keys are errors. CRLF and a UTF-8 byte order mark are
 * accepted; NUL bytes and invalid UTF-8 are not.
 *
 * features.json: an array of objects, or an object whose "features" is one.
 * Each has id (string or integer: the slug is slugify(id)), name (the
 * title), and optionally category, description, steps (strings) and status
 * (null counts as absent). Only status "open" or no status is taken; every
 * feature is checked all the same, and no two may share a slug. The
 * category heads the description as "Category: <category>". Other members
 * are ignored.
 *
 * Both: no value over BATCH_VALUE_MAX bytes, at most BATCH_TASKS_MAX tasks,
 * at least one.
 */
#define BATCH_VALUE_MAX 65536
#define BATCH_TASKS_MAX 1000

struct batch_task {
	char *slug;			/* from [task "<slug>"] or the feature's id, slugified */
	char *title;
	char *description;		/* NULL when none */
	char *base;			/* NULL when none */
	char *agent;			/* NULL when none: the branch prefix, like spawn --agent */
	struct strlist scope, steps, checks;
	int line;			/* where its section (or object) starts, 1-based; 0 for JSON if unknown */
};

struct batch {
	struct batch_task *tasks;
	size_t nr, alloc;
};

/*
 * Parses a batch file (name is for messages, and a name ending in ".json",
 * or text whose first non-blank is '{' or a '[' not followed by a letter,
 * means features.json) into b, which it overwrites. Returns 0, or -1 with
 * err set to "<name>:<line>: <problem>" ("<name>: <problem>" when it is
 * about the whole file; no "fatal: "), having kept nothing.
 */
int batch_parse(struct batch *b, const char *name, const char *text, size_t len,
		struct strbuf *err);
void batch_release(struct batch *b);

#endif
