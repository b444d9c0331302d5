/* Running git and other programs: posix_spawn and an argv, never a shell. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

/* What git sets to point a process at one repository (git's local_repo_env). */
static const char *git_repo_env[] = {
	"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE",
	"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_PREFIX", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
	"GIT_NAMESPACE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE",
	"GIT_SHALLOW_FILE", "GIT_CEILING_DIRECTORIES", NULL
};

static int env_name_matches(const char *entry, const char *name)
{
	size_t len = strcspn(name, "=");

	return !strncmp(entry, name, len) && (entry[len] == '=' || !entry[len]);
}

/* environ, less what is unset, plus what is set: a new array. */
static char **child_environment(const struct child *c)
{
	size_t n = 0, i, j, k = 0;
	char **env;

	for (i = 0; environ[i]; i++)
		n++;
	for (i = 0; c->env && c->env[i]; i++)
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0; environ[i]; i++) {
		int drop = 0;

		for (j = 0; c->env && c->env[j] && !drop; j++)
			drop = env_name_matches(environ[i], c->env[j]);
		for (j = 0; c->clean_git_env && git_repo_env[j] && !drop; j++)
			drop = env_name_matches(environ[i], git_repo_env[j]);
		if (!drop)
			env[k++] = environ[i];
	}
	for (i = 0; c->env && c->env[i]; i++)
		if (strchr(c->env[i], '='))
			env[k++] = (char *)c->env[i];
	env[k] = NULL;
	return env;
}

static void drain(int *fd, struct strbuf *sb)
{
	char buf[8192];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n > 0) {
		sb_add(sb, buf, n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Members of a child's process group whose parent died become our children
 * (Linux), so kill_group() can reap them: otherwise they are zombies that
 * keep the group alive until init gets round to them.
 */
static void adopt_orphans(void)
{
#ifdef PR_SET_CHILD_SUBREAPER
	/*
	 * Every time, not once: fork() does not pass it on, so the supervisor
	 * forked after spawn's own `git worktree add` would not be one.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
}

int start_child(struct child *c)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	char **env = child_environment(c);
	sigset_t sigdefault;
	short flags = 0;
	int ret = -1, saved;

	c->pid = -1;
	c->out_fd = c->err_fd = -1;
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	if ((c->capture_out && pipe2(out_pipe, O_CLOEXEC) < 0) ||
	    (c->capture_err && pipe2(err_pipe, O_CLOEXEC) < 0))
		goto done;
	if (c->stdin_path)
		posix_spawn_file_actions_addopen(&actions, 0, c->stdin_path, O_RDONLY, 0);
	else if (c->stdin_fd > 0)
		posix_spawn_file_actions_adddup2(&actions, c->stdin_fd, 0);
	else if (c->no_stdin)
		posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	if (c->out_path)
		posix_spawn_file_actions_addopen(&actions, 1, c->out_path, O_WRONLY | O_CREAT |
						 (c->out_append ? O_APPEND : O_TRUNC), 0666);
	else if (c->capture_out)
		posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
	else if (c->quiet)
		posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	else if (c->stdout_to_stderr)
		posix_spawn_file_actions_adddup2(&actions, 2, 1);
	if (c->err_to_out)
		posix_spawn_file_actions_adddup2(&actions, 1, 2);
	else if (c->capture_err)
		posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
	else if (c->quiet)
		posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	if (c->dir)
		posix_spawn_file_actions_addchdir_np(&actions, c->dir);
	if (c->new_session) {
		adopt_orphans();
		flags |= POSIX_SPAWN_SETSID;
	} else if (c->new_process_group) {
		adopt_orphans();
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&attr, 0);
	}
	/*
	 * An ignored signal stays ignored across exec. git keeps our ignored
	 * SIGXFSZ, so past `ulimit -f` it fails and takes its lock files back;
	 * setup commands, checks and agents run as they would from the user's
	 * shell, and an agent gets SIGPIPE as its caller had it (`yes | head`).
	 */
	sigemptyset(&sigdefault);
	if (c->default_sigpipe)
		sigaddset(&sigdefault, SIGPIPE);
	if (strcmp(c->argv[0], "git"))
		sigaddset(&sigdefault, SIGXFSZ);
	if (c->default_sigpipe || strcmp(c->argv[0], "git")) {
		posix_spawnattr_setsigdefault(&attr, &sigdefault);
		flags |= POSIX_SPAWN_SETSIGDEF;
	}
	posix_spawnattr_setflags(&attr, flags);

	errno = posix_spawnp(&c->pid, c->argv[0], &actions, &attr,
			     (char *const *)c->argv, env);
	if (errno) {
		c->pid = -1;
		goto done;
	}
	c->out_fd = out_pipe[0], out_pipe[0] = -1;
	c->err_fd = err_pipe[0], err_pipe[0] = -1;
	ret = 0;
done:
	saved = errno;
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (out_pipe[0] >= 0)
		close(out_pipe[0]);
	if (out_pipe[1] >= 0)
		close(out_pipe[1]);
	if (err_pipe[0] >= 0)
		close(err_pipe[0]);
	if (err_pipe[1] >= 0)
		close(err_pipe[1]);
	free(env);
	errno = saved;
	return ret;
}

/* Passes an interruption of ours on to the child, once. */
static void pass_interrupt(struct child *c, int *passed)
{
	if (!c->interrupt || !*c->interrupt || *passed)
		return;
	kill(c->new_process_group || c->new_session ? -c->pid : c->pid, SIGTERM);
	*passed = 1;
}

int finish_child(struct child *c)
{
	int status, passed = 0;

	while (c->out_fd >= 0 || c->err_fd >= 0) {
		struct pollfd fds[2] = {
			{ c->out_fd, POLLIN, 0 }, { c->err_fd, POLLIN, 0 }
		};

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR) {
				pass_interrupt(c, &passed);
				continue;
			}
			break;
		}
		if (c->out_fd >= 0 && fds[0].revents)
			drain(&c->out_fd, &c->out);
		if (c->err_fd >= 0 && fds[1].revents)
			drain(&c->err_fd, &c->err);
	}
	if (c->out_fd >= 0)
		close(c->out_fd), c->out_fd = -1;
	if (c->err_fd >= 0)
		close(c->err_fd), c->err_fd = -1;
	while (waitpid(c->pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
		pass_interrupt(c, &passed);
	}
	c->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_child(struct child *c)
{
	if (start_child(c) < 0)
		return -1;
	return finish_child(c);
}

void child_release(struct child *c)
{
	sb_release(&c->out);
	sb_release(&c->err);
}

int start_git(struct child *c, const char **argv)
{
	const char **full;
	size_t n = 0;
	int ret;

	while (argv[n])
		n++;
	full = xcalloc(n + 2, sizeof(*full));
	full[0] = "git";
	memcpy(full + 1, argv, n * sizeof(*argv));
	c->argv = full;
	ret = start_child(c);	/* posix_spawn has copied argv */
	c->argv = NULL;
	free(full);
	return ret;
}

int run_git(struct child *c, const char **argv)
{
	if (start_git(c, argv) < 0)
		return -1;
	return finish_child(c);
}

int is_contention(const char *message)
{
	/* "cannot lock ref 'x': is at A but expected B": it moved, no lock is held */
	if (!message || strstr(message, "but expected"))
		return 0;
	return strstr(message, ".lock': File exists") ||
	       strstr(message, "Unable to create") ||
	       strstr(message, "cannot lock ref") ||
	       strstr(message, "could not lock") ||
	       strstr(message, "Another git process seems to be running") ||
	       (strstr(message, "worktrees/") &&
		(strstr(message, "failed to read") ||
		 /* a `git worktree prune` (git gc) removed it while git added it */
		 (strstr(message, "could not open") && strstr(message, "No such file"))));
}

volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

void catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
		;
}

int lock_backoff(long *waited)
{
	long delay = 50;

	if (*waited >= LOCK_RETRY_MS || interrupted)
		return 0;
	while (delay <= *waited)	/* 50, 100, 200, ...: each as long as all before */
		delay *= 2;
	if (delay > 1000)
		delay = 1000;
	sleep_ms(delay);
	*waited += delay;
	return 1;
}

int git_with_retry(struct child *c, const char **argv, const char *what)
{
	long waited = 0;
	int ret;

	do {
		sb_reset(&c->err);
		ret = run_git(c, argv);
		if (ret < 0)
			die_errno("cannot run git to %s", what);
	} while (ret && is_contention(c->err.buf) && lock_backoff(&waited));
	return ret;
}

long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reaps the members of group pgid that are our children. */
static void reap_group(pid_t pgid, int *status, int *waited)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-pgid, &st, WNOHANG)) > 0)
		if (pid == pgid) {
			*status = st;
			*waited = 1;
		}
}

void kill_group(pid_t pgid, int *status, int waited)
{
	int ignored;
	long ms;

	if (pgid <= 1)
		return;		/* never a group of ours: kill(-1) is everyone */
	if (!status)
		status = &ignored;
	if (kill(-pgid, SIGTERM) < 0)
		return;
	for (ms = 0; ms < KILL_GRACE_MS; ms += 20) {
		reap_group(pgid, status, &waited);
		if (waited && kill(-pgid, 0) < 0)
			return;
		sleep_ms(20);
	}
	kill(-pgid, SIGKILL);
	if (!waited)
		waitpid(pgid, status, 0);
	/* Members that outlived the leader die too; wait until they have. */
	for (ms = 0; ms < 1000; ms += 10) {
		reap_group(pgid, status, &waited);
		if (kill(-pgid, 0) < 0)
			return;
		sleep_ms(10);
	}
}

int wait_group(pid_t pgid, long long timeout_ms, int *timed_out,
	       void (*tick)(void *data), void *data)
{
	long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	long delay = 1;
	int status = 0;

	*timed_out = 0;
	for (;;) {
		pid_t got = waitpid(pgid, &status, WNOHANG);

		if (got == pgid || (got < 0 && errno != EINTR))
			break;
		if (tick)
			tick(data);
		if (interrupted || (deadline && monotonic_ms() >= deadline)) {
			*timed_out = !interrupted;
			kill_group(pgid, &status, 0);
			return status;
		}
		sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
	/* Whatever the leader left running in its group ends with it. */
	kill_group(pgid, NULL, 1);
	return status;
}
