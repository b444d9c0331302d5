/*
 * The agent of `spawn --run`: started in its task's worktree in a session of
 * its own, with the packet on stdin and its output appended to agent.log,
 * and watched by a supervisor that logs agent.started and agent.exited,
 * tries the fallback commands, and holds <folder>/agent.lock while it lives.
 * The lock is how others tell a running agent from a lost one: a supervisor
 * killed outright cannot log its end, but the kernel drops its lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/* Matched over the tail of a failed attempt's output, ignoring case. */
static const char *const default_retry_patterns[] = {
	"rate[ _-]?limit", "too many requests", "(^|[^0-9])429([^0-9]|$)",
	"quota (exceeded|exhausted)", "resource[ _]exhausted", "overloaded",
	"usage limit", NULL
};
static const char *const default_env_patterns[] = {
	"command not found", "no such file or directory", "permission denied",
	"cannot execute", "not logged in", "(invalid|missing) api[ _-]?key",
	"unauthorized", "authentication (failed|error)", "no space left on device",
	"could not resolve host", "network is unreachable", NULL
};

/* How much of an attempt's output the patterns see. */
#define LOG_TAIL (64 * 1024)

/* Whether SIGPIPE was ignored before the supervisor ignored it too. */
static int sigpipe_was_ignored;

/*
 * A closed stdout or a spawn gone must not kill the supervisor; the agent
 * still gets SIGPIPE as its caller had it.
 */
static void ignore_sigpipe(void)
{
	struct sigaction old;

	sigpipe_was_ignored = !sigaction(SIGPIPE, NULL, &old) && old.sa_handler == SIG_IGN;
	signal(SIGPIPE, SIG_IGN);
}

static void write_lock(int fd, pid_t supervisor, pid_t pgid)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%ld %ld\n", (long)supervisor, (long)pgid);

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n) {
		/* only the pids for others are lost; the lock itself holds */
	}
}

static void read_lock(int fd, pid_t *supervisor, pid_t *pgid)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long s = 0, g = 0;

	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%ld %ld", &s, &g) != 2)
		s = g = 0;
	*supervisor = s;
	*pgid = g;
}

/* Whether process pid runs for task slug: its environment says so. */
static int runs_for_task(pid_t pid, const char *slug)
{
	char *path = xstrfmt("/proc/%ld/environ", (long)pid);
	char *want = xstrfmt("AGENT_TASK=%s", slug);
	struct strbuf env = STRBUF_INIT;
	size_t i;
	int found = 0;

	if (!sb_read_file(&env, path)) {
		for (i = 0; i < env.len && !found; i += strlen(env.buf + i) + 1)
			found = !strcmp(env.buf + i, want);
	}
	sb_release(&env);
	free(path);
	free(want);
	return found;
}

int agent_lock(const struct task *t)
{
	char *path = path_join(t->folder, "agent.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666), tries;
	pid_t supervisor, pgid;

	if (fd < 0)
		die_errno("cannot open '%s'", esc_free(path));
	/* A reader's brief shared lock is no agent: try a few times. */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		if (errno != EWOULDBLOCK)
			die_errno("cannot lock '%s'", esc_free(path));
		if (tries == 10) {
			read_lock(fd, &supervisor, &pgid);
			free(path);
			die("an agent is already running for task '%s' (supervisor pid %ld); "
			    "wait for it, or stop it with 'kill %ld'", t->slug,
			    (long)supervisor, (long)supervisor);
		}
		sleep_ms(10);
	}
	/* A lost agent (its supervisor was killed) may still work in the worktree. */
	read_lock(fd, &supervisor, &pgid);
	free(path);
	if (pgid > 1 && runs_for_task(pgid, t->slug))
		die("the lost agent of task '%s' still runs (process group %ld); "
		    "stop it first with 'kill -- -%ld'", t->slug, (long)pgid, (long)pgid);
	return fd;
}

int agent_probe(const char *folder, pid_t *supervisor, pid_t *pgid)
{
	char *path = path_join(folder, "agent.lock");
	int fd = open(path, O_RDONLY | O_CLOEXEC), running = 0;

	*supervisor = *pgid = 0;
	free(path);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		running = errno == EWOULDBLOCK;
	read_lock(fd, supervisor, pgid);
	close(fd);
	return running;
}

static int group_is_gone(pid_t pgid, long ms)
{
	long waited;

	for (waited = 0; waited < ms; waited += 20) {
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return 1;
		sleep_ms(20);
	}
	return kill(-pgid, 0) < 0 && errno == ESRCH;
}

int agent_stop(const struct task *t)
{
	pid_t supervisor, pgid;
	int running = agent_probe(t->folder, &supervisor, &pgid);
	long waited;

	if (running && supervisor > 1) {
		/* The supervisor ends the group its own way and logs agent.exited. */
		kill(supervisor, SIGTERM);
		for (waited = 0; waited < KILL_GRACE_MS + 3000; waited += 20) {
			if (!agent_probe(t->folder, &supervisor, &pgid))
				break;
			sleep_ms(20);
		}
	}
	/* A lost agent (or a supervisor that would not go): end its group here. */
	if (pgid > 1 && runs_for_task(pgid, t->slug)) {
		kill(-pgid, SIGTERM);
		if (!group_is_gone(pgid, KILL_GRACE_MS)) {
			kill(-pgid, SIGKILL);
			group_is_gone(pgid, 1000);
		}
		running = 1;
	}
	return running;
}

/* The regexes of one list: the configured ones, else the built-in ones. */
static regex_t *compile_patterns(const struct strlist *configured,
				 const char *const *defaults, size_t *nr)
{
	const char *const *list = configured->nr ? (const char *const *)configured->items : defaults;
	regex_t *re;
	size_t i, n = 0;

	while (list[n])
		n++;
	re = xcalloc(n ? n : 1, sizeof(*re));
	for (i = 0; i < n; i++)
		if (regcomp(&re[i], list[i], REG_EXTENDED | REG_ICASE | REG_NOSUB | REG_NEWLINE))
			die("bad pattern '%s'", esc(list[i]));	/* agent.*Pattern were checked */
	*nr = n;
	return re;
}

static int any_matches(regex_t *re, size_t nr, const char *text)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (!regexec(&re[i], text, 0, NULL, 0))
			return 1;
	return 0;
}

static void free_patterns(regex_t *re, size_t nr)
{
	while (nr)
		regfree(&re[--nr]);
	free(re);
}

/* The end of what the attempt wrote since offset start, NULs made blanks. */
static void read_tail(const char *log, off_t start, struct strbuf *out)
{
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t i;

	sb_reset(out);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && st.st_size > start) {
		if (st.st_size - start > LOG_TAIL)
			start = st.st_size - LOG_TAIL;
		if (lseek(fd, start, SEEK_SET) == start)
			sb_read_fd(out, fd);
	}
	close(fd);
	for (i = 0; i < out->len; i++)
		if (!out->buf[i])
			out->buf[i] = ' ';
}

/* Copies what the agent wrote to stdout: escaped, whole lines, on a terminal. */
struct log_stream {
	int fd;			/* agent.log, read from where this run began */
	int tty;
	int closed;		/* stdout went away: the agent goes on */
	struct strbuf pending;
};

static void stream_out(struct log_stream *s, const char *data, size_t len)
{
	if (!s->closed && write_all(STDOUT_FILENO, data, len) < 0)
		s->closed = 1;
}

static void stream_log(struct log_stream *s, int flush)
{
	struct strbuf shown = STRBUF_INIT;
	char buf[8192];
	ssize_t n;
	size_t i, line = 0;

	if (!s || s->fd < 0)
		return;
	while ((n = read(s->fd, buf, sizeof(buf))) > 0) {
		if (s->tty)
			sb_add(&s->pending, buf, n);
		else
			stream_out(s, buf, n);
	}
	for (i = 0; i < s->pending.len; i++) {
		if (s->pending.buf[i] == '\n' || (flush && i == s->pending.len - 1)) {
			size_t j;

			for (j = line; j <= i; j++)	/* NUL would end the text */
				if (!s->pending.buf[j])
					s->pending.buf[j] = '\x01';
			sb_add(&shown, s->pending.buf + line, i + 1 - line);
			line = i + 1;
		}
	}
	if (shown.len) {
		struct strbuf escaped = STRBUF_INIT;

		escape_control_keeping(&escaped, shown.buf, "\n\t");
		stream_out(s, escaped.buf, escaped.len);
		sb_release(&escaped);
	}
	if (line) {
		memmove(s->pending.buf, s->pending.buf + line, s->pending.len - line);
		s->pending.len -= line;
		s->pending.buf[s->pending.len] = '\0';
	}
	sb_release(&shown);
}

static void stream_more(void *stream)
{
	stream_log(stream, 0);
}

static void append_log(const char *log, const char *text)
{
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		warning("cannot write to '%s': %s", esc(log), strerror(errno));
	if (fd >= 0)
		close(fd);
}

static off_t log_size(const char *log)
{
	struct stat st;

	return stat(log, &st) < 0 ? 0 : st.st_size;
}

static void log_started(const struct agent_run *run, pid_t pid, size_t attempt)
{
	json_t *e = trace_event("agent.started", run->task->slug);

	json_object_set_new(e, "agent", json_text(run->task->agent));
	json_object_set_new(e, "pid", json_integer(pid));
	json_object_set_new(e, "supervisor", json_integer(getpid()));
	json_object_set_new(e, "command", json_text(run->commands->items[attempt]));
	json_object_set_new(e, "attempt", json_integer(attempt + 1));
	json_object_set_new(e, "attempts", json_integer(run->commands->nr));
	if (run->timeout)
		json_object_set_new(e, "timeout", json_integer(run->timeout));
	trace_log(run->repo, e);
}

struct attempt {
	pid_t pid;
	size_t index;
	int status;		/* the wait status */
	int code;		/* exit code, or 128 + signal */
	int timed_out, stopped, retry;
	long long ms;
	const char *class;	/* NULL when it succeeded */
};

static void log_exited(const struct agent_run *run, const struct attempt *a)
{
	json_t *e = trace_event("agent.exited", run->task->slug);

	json_object_set_new(e, "agent", json_text(run->task->agent));
	json_object_set_new(e, "pid", json_integer(a->pid));
	json_object_set_new(e, "attempt", json_integer(a->index + 1));
	if (WIFSIGNALED(a->status)) {
		const char *name = sigabbrev_np(WTERMSIG(a->status));
		char *sig = name ? xstrfmt("SIG%s", name) : xstrfmt("%d", WTERMSIG(a->status));

		json_object_set_new(e, "signal", json_string(sig));
		free(sig);
	} else {
		json_object_set_new(e, "exit_code", json_integer(a->code));
	}
	json_object_set_new(e, "duration_ms", json_integer(a->ms));
	json_object_set_new(e, "status", json_string(a->stopped ? "stopped" :
						     a->code ? "failed" : "succeeded"));
	if (a->class)
		json_object_set_new(e, "class", json_string(a->class));
	if (a->timed_out)
		json_object_set_new(e, "timed_out", json_true());
	if (a->stopped)
		json_object_set_new(e, "stopped", json_true());
	if (a->retry)
		json_object_set_new(e, "next", json_text(run->commands->items[a->index + 1]));
	trace_log(run->repo, e);
}

/* What kind of failure the attempt's output shows, and whether to fall back. */
static void classify(const struct agent_run *run, struct attempt *a, const char *log, off_t start)
{
	struct strbuf tail = STRBUF_INIT;
	regex_t *retry, *env;
	size_t nr_retry, nr_env;

	a->class = NULL;
	if (!a->code || a->stopped)
		return;		/* a stop asked for is no failure of the agent's */
	retry = compile_patterns(&run->repo->config.retry_pattern, default_retry_patterns, &nr_retry);
	env = compile_patterns(&run->repo->config.env_pattern, default_env_patterns, &nr_env);
	read_tail(log, start, &tail);
	if (any_matches(retry, nr_retry, tail.buf ? tail.buf : ""))
		a->class = "rate-limit";
	else if (a->code == 126 || a->code == 127 || any_matches(env, nr_env, tail.buf ? tail.buf : ""))
		a->class = "environment";
	else
		a->class = "implementation";
	a->retry = !a->stopped && !strcmp(a->class, "rate-limit") &&
		   a->index + 1 < run->commands->nr;
	free_patterns(retry, nr_retry);
	free_patterns(env, nr_env);
	sb_release(&tail);
}

/*
 * Runs the commands in turn until one does not fail with a retryable
 * output. ready_fd, when >= 0, gets the first agent's pid. Returns the exit
 * code to pass on: the last attempt's, or 128 + its signal.
 */
static int supervise(const struct agent_run *run, int lock_fd, int ready_fd,
		     struct log_stream *stream)
{
	const struct task *t = run->task;
	char *log = path_join(t->folder, "agent.log"), *packet = path_join(t->folder, "packet.md");
	struct attempt a;
	size_t i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < run->commands->nr; i++) {
		const char *argv[4];
		struct child c = CHILD_INIT;
		char ts[32], *header;
		long long began;
		off_t start;

		format_timestamp(ts);
		/* One line, whatever the command holds: a multi-line script is escaped. */
		header = xstrfmt("--- git agent: %s attempt %zu of %zu: %s\n", ts, i + 1,
				 run->commands->nr, esc(run->commands->items[i]));
		append_log(log, header);
		free(header);
		start = log_size(log);
		task_command(&c, argv, run->commands->items[i], t, run->env);
		c.no_stdin = 0;
		c.stdin_path = packet;
		c.out_path = log;
		c.out_append = 1;
		c.err_to_out = 1;
		c.new_session = 1;
		c.default_sigpipe = !sigpipe_was_ignored;
		memset(&a, 0, sizeof(a));
		a.index = i;
		began = monotonic_ms();
		if (start_child(&c) < 0) {
			char *why = xstrfmt("git agent: cannot run sh: %s\n", strerror(errno));

			append_log(log, why);
			free(why);
			a.status = 127 << 8;
		} else {
			a.pid = c.pid;
			write_lock(lock_fd, getpid(), c.pid);
			log_started(run, c.pid, i);
		}
		if (ready_fd >= 0) {
			if (write(ready_fd, &a.pid, sizeof(a.pid)) < 0) {
				/* the spawn that waits for it is gone: nothing to tell */
			}
			close(ready_fd);
			ready_fd = -1;
		}
		if (a.pid) {
			a.status = wait_group(a.pid, run->timeout * 1000LL, &a.timed_out,
					      stream ? stream_more : NULL, stream);
			stream_log(stream, 1);
		}
		a.ms = monotonic_ms() - began;
		a.stopped = interrupted && !a.timed_out;
		a.code = WIFEXITED(a.status) ? WEXITSTATUS(a.status) : 128 + WTERMSIG(a.status);
		classify(run, &a, log, start);
		if (a.pid)
			log_exited(run, &a);
		if (!a.retry)
			break;
	}
	write_lock(lock_fd, getpid(), 0);
	free(log);
	free(packet);
	return a.code;
}

/* In the supervisor, a fatal error ends it without running the spawn's exit work. */
static void supervisor_died(const char *message)
{
	fprintf(stderr, "fatal: %s\n", message);
	_exit(EXIT_FATAL);
}

pid_t agent_start(const struct agent_run *run, int lock_fd)
{
	int ready[2], fd;
	pid_t supervisor, agent = 0;
	char *log = path_join(run->task->folder, "agent.log");
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC) < 0)
		die_errno("cannot make a pipe");
	fflush(NULL);
	supervisor = fork();
	if (supervisor < 0)
		die_errno("cannot start the agent's supervisor");
	if (!supervisor) {
		set_die_hook(supervisor_died);
		setsid();
		ignore_sigpipe();
		catch_interrupts();
		/* Nothing of the spawn's stays open here: only the lock and the pipe. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != lock_fd && fd != ready[1])
				close(fd);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, STDIN_FILENO);
		close(fd);
		fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0666);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		_exit(supervise(run, lock_fd, ready[1], NULL));
	}
	close(ready[1]);
	while ((n = read(ready[0], &agent, sizeof(agent))) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (n != sizeof(agent) || agent <= 0)
		die("the agent of task '%s' could not start; see '%s'", run->task->slug,
		    esc_free(log));
	free(log);
	return agent;
}

int agent_wait(const struct agent_run *run, int lock_fd, int ready_fd)
{
	char *log = path_join(run->task->folder, "agent.log");
	struct log_stream stream;
	int code;

	memset(&stream, 0, sizeof(stream));
	stream.tty = isatty(STDOUT_FILENO);
	stream.fd = ready_fd >= 0 ? -1 : open(log, O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
	if (stream.fd >= 0)
		lseek(stream.fd, 0, SEEK_END);
	ignore_sigpipe();
	catch_interrupts();
	code = supervise(run, lock_fd, ready_fd, &stream);
	if (stream.fd >= 0)
		close(stream.fd);
	sb_release(&stream.pending);
	free(log);
	return code;
}
