/*
 * `git agent spawn --run`, as git-agent-spawn(1) describes it: the agent in
 * its task's worktree and a session of its own, with the packet on stdin,
 * watched by a supervisor that logs agent.started and agent.exited, falls
 * back on rate limits, classes failures and ends the whole process group.
 * The agents are stand-ins written as shell scripts by each test.
 *
 * A background agent is waited for through its task's agent.lock, which the
 * supervisor holds while it lives: never with a fixed sleep.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

static char *repo;

/* Task folders whose agents the teardown ends, should a test fail midway. */
static const char *watched[16];
static size_t watched_nr;

static char *folder_of(const char *slug)
{
	return strf("%s/.git/agent/tasks/%s", repo, slug);
}

static void watch(const char *slug)
{
	if (watched_nr < sizeof(watched) / sizeof(*watched))
		watched[watched_nr++] = folder_of(slug);
}

/* "<supervisor> <agent pid>" of a task's agent.lock; 0 when unknown. */
static void lock_pids(const char *folder, pid_t *supervisor, pid_t *agent)
{
	char *text = read_file(strf("%s/agent.lock", folder));
	long s = 0, a = 0;

	if (!text || sscanf(text, "%ld %ld", &s, &a) != 2)
		s = a = 0;
	*supervisor = s;
	*agent = a;
}

/* Whether a supervisor holds the agent.lock of a task folder (a shared lock fails). */
static int folder_locked(const char *folder)
{
	int fd = open(strf("%s/agent.lock", folder), O_RDONLY | O_CLOEXEC), held = 0;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		held = errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* Whether process pid is an agent of this test: its environment names our trace. */
static int our_agent(pid_t pid)
{
	char *env = read_file(strf("/proc/%d/environ", (int)pid));
	char *want = strf("AGENT_TRACE=%s/.git/agent/trace.jsonl", repo);
	size_t off;

	if (!env)
		return 0;
	/* NUL-separated entries; the buffer ends with an empty one. */
	for (off = 0; env[off]; off += strlen(env + off) + 1)
		if (!strcmp(env + off, want))
			return 1;
	return 0;
}

/* Ends what a failed test left running; pids that are no longer ours are left alone. */
static void run_teardown(void)
{
	pid_t supervisor, agent;
	size_t i;

	for (i = 0; i < watched_nr; i++) {
		lock_pids(watched[i], &supervisor, &agent);
		if (folder_locked(watched[i]) && supervisor > 1)
			kill(supervisor, SIGKILL);
		if (agent > 1 && our_agent(agent))
			kill(-agent, SIGKILL);
	}
	watched_nr = 0;
	sandbox_teardown();
}

static void run_setup(void)
{
	sandbox_setup();
	repo = make_repo("repo");
}

TestSuite(run, .init = run_setup, .fini = run_teardown, .timeout = 60);

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A stand-in agent: a shell script in the sandbox; $OUT is <sandbox>/out. */
static char *agent_script(const char *name, const char *body)
{
	char *path = sandbox_path("agents/%s", name);

	make_dirs(sandbox_path("out"));
	write_file(path, strf("#!/bin/sh\nOUT=%s\n%s", sh_quote(sandbox_path("out")), body), 0755);
	return path;
}

static char *out_file(const char *name)
{
	return sandbox_path("out/%s", name);
}

static int lock_held(const char *slug)
{
	return folder_locked(folder_of(slug));
}

/* Waits until the task's supervisor has ended: every attempt is logged then. */
static void wait_done(const char *slug)
{
	long long end = now_ms() + 30000;

	while (lock_held(slug)) {
		cr_assert(now_ms() < end, "the agent of task %s still runs after 30 s", slug);
		nap(20);
	}
}

/* Waits for a file the agent writes when it is up. */
static void wait_for(const char *path)
{
	cr_assert(wait_for_file(path, 20000) == 0, "%s did not appear", path);
}

/* The live (not zombie) processes of group pgid, from /proc. */
static int group_members(pid_t pgid)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	int n = 0;

	cr_assert(dir != NULL);
	while ((de = readdir(dir))) {
		char path[300], buf[512], *p, state;
		long pgrp;
		ssize_t len;
		int fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* pid (comm) state ppid pgrp ...: comm may hold anything but the last ')' */
		if (!(p = strrchr(buf, ')')) || sscanf(p + 2, "%c %*d %ld", &state, &pgrp) != 2)
			continue;
		if (pgrp == pgid && state != 'Z' && state != 'X')
			n++;
	}
	closedir(dir);
	return n;
}

/* Nothing of the group is left, not even a zombie: its supervisor reaped it. */
static void assert_group_gone(pid_t pgid)
{
	cr_assert_gt(pgid, 1);
	cr_assert(kill(-pgid, 0) < 0 && errno == ESRCH, "process group %d is still alive",
		  (int)pgid);
	cr_assert_eq(group_members(pgid), 0);
}

/* Whether pid runs: a zombie waiting for an init that reaps slowly is dead. */
static int pid_alive(pid_t pid)
{
	char *stat;
	const char *p;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	stat = read_file(strf("/proc/%d/stat", (int)pid));
	p = stat ? strrchr(stat, ')') : NULL;
	return !p || (p[2] != 'Z' && p[2] != 'X');
}

static void assert_pid_gone(pid_t pid)
{
	cr_assert_gt(pid, 1);
	cr_assert(!pid_alive(pid), "process %d is still alive", (int)pid);
}

static pid_t pid_in(const char *path)
{
	char *text = read_file(path);

	cr_assert(text != NULL, "no %s", path);
	return (pid_t)atol(text);
}

static json_t *events(void)
{
	return trace_read(strf("%s/.git/agent/trace.jsonl", repo));
}

/* The n-th (from 0) event named name of task slug, or NULL. */
static json_t *event_n(json_t *all, const char *name, const char *slug, int n)
{
	size_t i;
	json_t *e;

	json_array_foreach(all, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "event")), name) ||
		    strcmp(json_string_value(json_object_get(e, "task")), slug))
			continue;
		if (!n--)
			return e;
	}
	return NULL;
}

static json_t *must_event(json_t *all, const char *name, const char *slug, int n)
{
	json_t *e = event_n(all, name, slug, n);

	cr_assert(e != NULL, "no %s #%d of %s in the trace", name, n + 1, slug);
	return e;
}

/* The position of an event in the trace, for their order. */
static size_t index_of(json_t *all, json_t *event)
{
	size_t i;
	json_t *e;

	json_array_foreach(all, i, e)
		if (e == event)
			return i;
	cr_assert_fail("event not in the trace");
	return 0;
}

static long long int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "no integer \"%s\" in %s", key,
		  visible(keep(json_dumps(o, JSON_COMPACT))));
	return json_integer_value(v);
}

static int has(json_t *o, const char *key)
{
	return json_object_get(o, key) != NULL;
}

static void assert_null(json_t *o, const char *key)
{
	cr_assert(json_is_null(json_object_get(o, key)), "\"%s\" is not null in %s", key,
		  visible(keep(json_dumps(o, JSON_COMPACT))));
}

/* `git agent spawn --json <args>` that starts an agent: its answer. */
static json_t *spawn_run(const char *slug, const char *args)
{
	json_t *j;

	watch(slug);
	j = spawn_json(repo, "%s", args);
	cr_assert_str_eq(json_str(j, "task"), slug);
	return j;
}

/* trace --tasks --json of one task. */
static json_t *task_json(const char *slug)
{
	return json_parse(run_ok(repo, "git agent trace --tasks --json %s", slug));
}

/* The STATE column of trace --tasks for one task. */
static char *task_state(const char *slug)
{
	char *out = run_ok(repo, "git agent trace --tasks %s", slug);
	char *line = strchr(out, '\n'), *state, *end;

	cr_assert(line != NULL, "no task line in:\n%s", out);
	line++;
	cr_assert(!strncmp(line, slug, strlen(slug)), "not %s:\n%s", slug, out);
	state = line + strlen(slug);
	state += strspn(state, " ");
	end = strstr(state, "  ");
	cr_assert(end != NULL, "no state in:\n%s", out);
	return strf("%.*s", (int)(end - state), state);
}

/* The agent's own log, agent.log. */
static char *agent_log(const char *slug)
{
	char *log = read_file(strf("%s/agent.log", folder_of(slug)));

	cr_assert(log != NULL, "no agent.log for %s", slug);
	return log;
}

/* An agent that is up once $OUT/<name>.pid exists, then waits to be ended. */
static char *hanging_agent(const char *name)
{
	return agent_script(name, strf("sleep 300 &\n"
				       "echo $! > \"$OUT/%s.child\"\n"
				       "echo $$ > \"$OUT/%s.pid\"\n"
				       "echo 'working on it'\n"
				       "wait\n", name, name));
}

/* One agent, start to end */

Test(run, an_agent_that_edits_files_and_commits)
{
	char *agent = agent_script("edit",
		"echo 'int fixed = 1;' > src/fix.c\n"
		"printf '\\nFixed.\\n' >> README.md\n"
		"git add src/fix.c README.md && git commit -q -m 'Fix the parser'\n"
		"echo committed\n");
	char *worktree = sandbox_path("repo-worktrees/fix-the-parser");
	char *folder = folder_of("fix-the-parser"), *log, *header, *out;
	json_t *all, *started, *exited;
	struct result r;
	pid_t pid, supervisor, left;

	watch("fix-the-parser");
	run(&r, repo, "git agent spawn --run=%s 'Fix the parser'", sh_quote(agent));
	assert_status(&r, 0);
	cr_assert_str_empty(r.err);
	assert_contains(r.out, "created task 'fix-the-parser'\n");
	assert_contains(r.out, strf("  worktree: %s\n", worktree));
	assert_contains(r.out, strf("  log:      %s/agent.log\n", folder));
	out = strstr(r.out, "  agent:    running (pid ");
	cr_assert(out != NULL, "no agent line in:\n%s", r.out);
	pid = atol(out + strlen("  agent:    running (pid "));
	cr_assert_gt(pid, 1);
	assert_contains(r.out, "next: git agent trace fix-the-parser --follow; "
			"when it is done: git agent review fix-the-parser\n");
	wait_done("fix-the-parser");

	/* The commit is on the task's branch, made in its worktree, and nowhere else. */
	cr_assert_str_eq(run_ok(worktree, "git log -1 --format=%%s"), "Fix the parser");
	cr_assert_str_eq(run_ok(repo, "git rev-list --count main..agent/fix-the-parser"), "1");
	cr_assert_str_eq(run_ok(repo, "git diff --name-only main agent/fix-the-parser"),
			 "README.md\nsrc/fix.c");
	cr_assert_str_empty(run_ok(worktree, "git status --porcelain"));
	cr_assert(!path_exists(strf("%s/src/fix.c", repo)));
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"));

	all = events();
	started = must_event(all, "agent.started", "fix-the-parser", 0);
	exited = must_event(all, "agent.exited", "fix-the-parser", 0);
	cr_assert_eq(int_of(started, "pid"), pid);
	supervisor = int_of(started, "supervisor");
	cr_assert(supervisor > 1 && supervisor != pid);
	cr_assert_str_eq(json_str(started, "agent"), "agent");
	cr_assert_str_eq(json_str(started, "command"), agent);
	cr_assert_eq(int_of(started, "attempt"), 1);
	cr_assert_eq(int_of(started, "attempts"), 1);
	cr_assert(!has(started, "timeout"));
	cr_assert_eq(int_of(exited, "pid"), pid);
	cr_assert_eq(int_of(exited, "attempt"), 1);
	cr_assert_eq(int_of(exited, "exit_code"), 0);
	cr_assert_str_eq(json_str(exited, "status"), "succeeded");
	cr_assert_geq(int_of(exited, "duration_ms"), 0);
	cr_assert_lt(int_of(exited, "duration_ms"), 30000);
	cr_assert(!has(exited, "class") && !has(exited, "signal") && !has(exited, "next") &&
		  !has(exited, "timed_out") && !has(exited, "stopped"));
	cr_assert_lt(index_of(all, must_event(all, "worktree.created", "fix-the-parser", 0)),
		     index_of(all, started));
	cr_assert_lt(index_of(all, started), index_of(all, exited));
	cr_assert_eq(trace_count(all, "agent.started", NULL), 1);

	/* The log: one header line for the attempt, then what the agent wrote. */
	log = agent_log("fix-the-parser");
	cr_assert(!strncmp(log, "--- git agent: ", 15), "log:\n%s", log);
	header = strf("%.*s", (int)strcspn(log, "\n"), log);
	cr_assert(strstr(header, strf(" attempt 1 of 1: %s", agent)) != NULL, "header: %s", header);
	cr_assert_str_eq(log + strlen(header), "\ncommitted\n");
	/* The supervisor is gone and said so: no agent left in the lock. */
	lock_pids(folder, &supervisor, &left);
	cr_assert_eq(left, 0);
	assert_pid_gone(supervisor);
	assert_group_gone(pid);
	cr_assert_str_eq(task_state("fix-the-parser"), "exited (0)");
}

Test(run, json_names_the_agent_pid_and_log)
{
	char *agent = agent_script("quick", "exit 0\n");
	json_t *j = spawn_run("quick-task", strf("--run=%s 'Quick task'", sh_quote(agent))), *t;

	cr_assert_str_eq(json_str(j, "mode"), "create");
	cr_assert(json_is_false(json_object_get(j, "rerun")));
	cr_assert_str_eq(json_str(j, "agent_log"), strf("%s/agent.log", folder_of("quick-task")));
	cr_assert_gt(int_of(j, "agent_pid"), 1);
	wait_done("quick-task");
	cr_assert_eq(int_of(must_event(events(), "agent.started", "quick-task", 0), "pid"),
		     int_of(j, "agent_pid"));
	t = task_json("quick-task");
	cr_assert_str_eq(json_str(t, "state"), "exited");
	cr_assert_eq(int_of(t, "agent_pid"), int_of(j, "agent_pid"));
	cr_assert_eq(int_of(t, "exit_code"), 0);
	assert_null(t, "signal");
	assert_null(t, "failure_class");
}

Test(run, the_packet_is_on_stdin_and_the_report_is_written)
{
	char *agent = agent_script("reporter",
		"cat > \"$OUT/stdin\"\n"
		"{\n"
		"  echo '## Summary'\n"
		"  echo \"Read $(wc -l < \"$OUT/stdin\") lines of the packet of $AGENT_TASK.\"\n"
		"  echo '## Recommendation'\n"
		"  echo merge\n"
		"} > \"$AGENT_REPORT\"\n");
	char *folder = folder_of("write-the-report"), *packet, *report, *lines;
	json_t *j, *round;

	j = spawn_run("write-the-report", strf("--run=%s -m 'Say what you read.' --step 'Read' "
					       "'Write the report'", sh_quote(agent)));
	wait_done("write-the-report");
	packet = read_file(strf("%s/packet.md", folder));
	cr_assert(packet != NULL);
	assert_contains(packet, "Say what you read.");
	cr_assert_str_eq(read_file(out_file("stdin")), packet, "stdin was not the packet");
	cr_assert_str_eq(json_str(j, "report"), strf("%s/report.md", folder));
	report = read_file(strf("%s/report.md", folder));
	cr_assert(report != NULL, "no report");
	lines = strf("Read %d lines of the packet of write-the-report.", count_lines(packet));
	cr_assert_str_eq(report, strf("## Summary\n%s\n## Recommendation\nmerge\n", lines));
	/* review takes the report into its round. */
	round = review_json(repo, 0, "write-the-report");
	cr_assert_str_eq(json_str(round, "report"), "report.md");
	cr_assert_str_eq(read_file(strf("%s/review/01/report.md", folder)), report);
}

Test(run, the_agent_runs_in_its_worktree_with_the_task_environment)
{
	char *agent = agent_script("env",
		"env > \"$OUT/env\"\n"
		"pwd -P > \"$OUT/pwd\"\n"
		"cut -d' ' -f5,6 /proc/$$/stat > \"$OUT/pgid-sid\"\n"
		"git rev-parse --show-toplevel > \"$OUT/toplevel\"\n"
		"git symbolic-ref --short HEAD > \"$OUT/branch\"\n"
		"grep SigIgn /proc/self/status > \"$OUT/sigign\"\n");
	char *folder = folder_of("mind-the-env"), *worktree = sandbox_path("repo-worktrees/mind-the-env");
	char *env, *head = run_ok(repo, "git rev-parse main"), *sigign;
	unsigned long long ignored;
	struct result r;
	json_t *j;
	pid_t pid;

	/* Found through GIT_DIR from outside the repository: that must not reach the agent. */
	watch("mind-the-env");
	run(&r, sandbox, "GIT_DIR=%s/.git git agent spawn --json --run=%s 'Mind the env'",
	    sh_quote(repo), sh_quote(agent));
	assert_status(&r, 0);
	j = json_parse(r.out);
	pid = int_of(j, "agent_pid");
	wait_done("mind-the-env");

	env = read_file(out_file("env"));
	cr_assert(env != NULL, "the agent did not run:\n%s", agent_log("mind-the-env"));
	cr_assert_str_eq(env_value(env, "AGENT_TASK"), "mind-the-env");
	cr_assert_str_eq(env_value(env, "AGENT_TITLE"), "Mind the env");
	cr_assert_str_eq(env_value(env, "AGENT_BRANCH"), "agent/mind-the-env");
	cr_assert_str_eq(env_value(env, "AGENT_BASE"), "main");
	cr_assert_str_eq(env_value(env, "AGENT_BASE_SHA"), head);
	cr_assert_str_eq(env_value(env, "AGENT_WORKTREE"), worktree);
	cr_assert_str_eq(env_value(env, "AGENT_PACKET"), strf("%s/packet.md", folder));
	cr_assert_str_eq(env_value(env, "AGENT_REPORT"), strf("%s/report.md", folder));
	cr_assert_str_eq(env_value(env, "AGENT_TRACE"), strf("%s/.git/agent/trace.jsonl", repo));
	cr_assert_str_eq(env_value(env, "AGENT_PORT"), strf("%lld", int_of(j, "port")));
	cr_assert_null(env_value(env, "GIT_DIR"), "GIT_DIR leaked into the agent");
	cr_assert_str_eq(read_file(out_file("pwd")), strf("%s\n", worktree));
	cr_assert_str_eq(read_file(out_file("toplevel")), strf("%s\n", worktree));
	cr_assert_str_eq(read_file(out_file("branch")), "agent/mind-the-env\n");
	/* In the session and process group of its own that the agent's sh leads. */
	cr_assert_str_eq(read_file(out_file("pgid-sid")), strf("%d %d\n", (int)pid, (int)pid));
	/* SIGPIPE (signal 13) is not ignored in the agent, though the supervisor ignores it. */
	sigign = read_file(out_file("sigign"));
	cr_assert(sscanf(sigign, "SigIgn: %llx", &ignored) == 1, "%s", sigign);
	cr_assert_eq(ignored & (1ULL << (SIGPIPE - 1)), 0, "SIGPIPE ignored: %s", sigign);
}

Test(run, leftovers_of_an_agent_that_succeeded_are_ended)
{
	char *agent = agent_script("leaves", "sleep 300 &\necho $! > \"$OUT/child\"\necho bye\n");
	json_t *j = spawn_run("leave-a-child", strf("--run=%s 'Leave a child'", sh_quote(agent)));
	json_t *exited;

	wait_done("leave-a-child");
	assert_pid_gone(pid_in(out_file("child")));
	assert_group_gone(int_of(j, "agent_pid"));
	exited = must_event(events(), "agent.exited", "leave-a-child", 0);
	cr_assert_eq(int_of(exited, "exit_code"), 0);
	cr_assert_str_eq(json_str(exited, "status"), "succeeded");
	/*
	 * The child ended at SIGTERM and the supervisor reaped it at once: no
	 * zombie kept the group alive for the 2 s before SIGKILL (an init that
	 * reaps slowly shows it).
	 */
	cr_assert_lt(int_of(exited, "duration_ms"), 1500);
}

/* Fallbacks and failure classes */

Test(run, a_rate_limited_agent_falls_back_to_the_next_command)
{
	char *limited = agent_script("limited",
		"cat > \"$OUT/first-stdin\"\n"
		"echo 'calling the model'\n"
		"echo 'Error: 429 Too Many Requests; retry in 60 s' >&2\n"
		"exit 1\n");
	char *fallback = agent_script("fallback",
		"cat > \"$OUT/second-stdin\"\necho 'the fallback did it'\n");
	char *folder = folder_of("fall-back"), *packet, *log, *second;
	json_t *all, *j, *s1, *s2, *e1, *e2;

	run_ok(repo, "git config agent.command %s && git config --add agent.command %s",
	       sh_quote(limited), sh_quote(fallback));
	j = spawn_run("fall-back", "--run 'Fall back'");
	wait_done("fall-back");
	all = events();
	cr_assert_eq(trace_count(all, "agent.started", "fall-back"), 2);
	cr_assert_eq(trace_count(all, "agent.exited", "fall-back"), 2);
	s1 = must_event(all, "agent.started", "fall-back", 0);
	e1 = must_event(all, "agent.exited", "fall-back", 0);
	s2 = must_event(all, "agent.started", "fall-back", 1);
	e2 = must_event(all, "agent.exited", "fall-back", 1);
	cr_assert(index_of(all, s1) < index_of(all, e1) && index_of(all, e1) < index_of(all, s2) &&
		  index_of(all, s2) < index_of(all, e2));
	cr_assert_eq(int_of(s1, "pid"), int_of(j, "agent_pid"));
	cr_assert_str_eq(json_str(s1, "command"), limited);
	cr_assert_eq(int_of(s1, "attempt"), 1);
	cr_assert_eq(int_of(s1, "attempts"), 2);
	cr_assert_eq(int_of(e1, "exit_code"), 1);
	cr_assert_str_eq(json_str(e1, "status"), "failed");
	cr_assert_str_eq(json_str(e1, "class"), "rate-limit");
	cr_assert_str_eq(json_str(e1, "next"), fallback);
	cr_assert_str_eq(json_str(s2, "command"), fallback);
	cr_assert_eq(int_of(s2, "attempt"), 2);
	cr_assert_eq(int_of(s2, "attempts"), 2);
	cr_assert_neq(int_of(s2, "pid"), int_of(s1, "pid"));
	cr_assert_eq(int_of(s2, "supervisor"), int_of(s1, "supervisor"));
	cr_assert_eq(int_of(e2, "exit_code"), 0);
	cr_assert_str_eq(json_str(e2, "status"), "succeeded");
	cr_assert(!has(e2, "class") && !has(e2, "next"));
	/* Both read the packet from its start; both are in the log, under their headers. */
	packet = read_file(strf("%s/packet.md", folder));
	cr_assert_str_eq(read_file(out_file("first-stdin")), packet);
	cr_assert_str_eq(read_file(out_file("second-stdin")), packet);
	log = agent_log("fall-back");
	cr_assert_eq(count_matches(log, "--- git agent: "), 2, "%s", log);
	assert_contains(log, strf(" attempt 1 of 2: %s\ncalling the model\n"
				  "Error: 429 Too Many Requests; retry in 60 s\n--- git agent: ", limited));
	second = strstr(log, strf(" attempt 2 of 2: %s\n", fallback));
	cr_assert(second != NULL, "%s", log);
	assert_contains(second, "\nthe fallback did it\n");
	cr_assert_str_eq(task_state("fall-back"), "exited (0)");
}

Test(run, run_with_a_command_runs_that_command_alone)
{
	char *limited = agent_script("limited", "echo 'API rate limit exceeded' >&2\nexit 1\n");
	char *never = agent_script("never", "touch \"$OUT/fallback-ran\"\n");
	json_t *all, *exited, *t;

	run_ok(repo, "git config agent.command %s && git config --add agent.command %s",
	       sh_quote(never), sh_quote(never));
	spawn_run("only-this", strf("--run=%s 'Only this'", sh_quote(limited)));
	wait_done("only-this");
	all = events();
	cr_assert_eq(trace_count(all, "agent.started", "only-this"), 1);
	cr_assert_eq(int_of(must_event(all, "agent.started", "only-this", 0), "attempts"), 1);
	exited = must_event(all, "agent.exited", "only-this", 0);
	cr_assert_str_eq(json_str(exited, "class"), "rate-limit");
	cr_assert(!has(exited, "next"), "no command is left to fall back to");
	cr_assert(!path_exists(out_file("fallback-ran")));
	cr_assert_str_eq(task_state("only-this"), "exited (1, rate-limit)");
	t = task_json("only-this");
	cr_assert_str_eq(json_str(t, "state"), "exited");
	cr_assert_eq(int_of(t, "exit_code"), 1);
	cr_assert_str_eq(json_str(t, "failure_class"), "rate-limit");
	assert_null(t, "signal");
}

Test(run, a_failure_of_the_work_itself_is_implementation_and_no_fallback_runs)
{
	char *failing = agent_script("failing",
		"echo 'test_parse: assertion failed: 2 != 3' >&2\nexit 3\n");
	char *never = agent_script("never", "touch \"$OUT/fallback-ran\"\n");
	json_t *exited, *t;

	run_ok(repo, "git config agent.command %s && git config --add agent.command %s",
	       sh_quote(failing), sh_quote(never));
	spawn_run("fails", "--run Fails");
	wait_done("fails");
	exited = must_event(events(), "agent.exited", "fails", 0);
	cr_assert_eq(int_of(exited, "exit_code"), 3);
	cr_assert_str_eq(json_str(exited, "status"), "failed");
	cr_assert_str_eq(json_str(exited, "class"), "implementation");
	cr_assert(!has(exited, "next") && !has(exited, "signal") && !has(exited, "timed_out"));
	cr_assert_eq(trace_count(events(), "agent.started", "fails"), 1);
	cr_assert(!path_exists(out_file("fallback-ran")));
	cr_assert_str_eq(task_state("fails"), "exited (3, implementation)");
	t = task_json("fails");
	cr_assert_eq(int_of(t, "exit_code"), 3);
	cr_assert_str_eq(json_str(t, "failure_class"), "implementation");
}

/* The class of one agent's failure, run in a task of its own. */
static const char *failure_class(const char *slug, const char *command)
{
	json_t *exited;

	spawn_run(slug, strf("--run=%s %s", sh_quote(command), slug));
	wait_done(slug);
	exited = must_event(events(), "agent.exited", slug, 0);
	cr_assert_str_eq(json_str(exited, "status"), "failed");
	return json_str(exited, "class");
}

Test(run, environment_failures)
{
	/* Exit 127 and 126 from sh, and the built-in patterns. */
	cr_assert_str_eq(failure_class("not-found", "no-such-agent-xyz --go"), "environment");
	cr_assert_eq(int_of(must_event(events(), "agent.exited", "not-found", 0), "exit_code"), 127);
	cr_assert_str_eq(failure_class("not-executable", "/dev/null"), "environment");
	cr_assert_eq(int_of(must_event(events(), "agent.exited", "not-executable", 0), "exit_code"),
		     126);
	cr_assert_str_eq(failure_class("no-key", "echo 'Error: missing API key' >&2; exit 2"),
			 "environment");
	cr_assert_str_eq(task_state("no-key"), "exited (2, environment)");
	cr_assert_str_eq(failure_class("denied", "echo 'open: Permission denied'; exit 1"),
			 "environment");
}

Test(run, agent_env_pattern_replaces_the_built_in_ones)
{
	run_ok(repo, "git config agent.envPattern 'licen[cs]e (expired|revoked)' && "
	       "git config --add agent.envPattern '^sandbox unavailable$'");
	cr_assert_str_eq(failure_class("licence", "echo 'Your LICENSE EXPIRED yesterday'; exit 2"),
			 "environment");
	cr_assert_str_eq(failure_class("sandbox", "echo 'starting'; echo 'sandbox unavailable'; "
				       "echo 'bye'; exit 2"), "environment");
	cr_assert_str_eq(failure_class("denied", "echo 'open: Permission denied'; exit 1"),
			 "implementation");
	/* Exit 127 stays an environment failure whatever the patterns. */
	cr_assert_str_eq(failure_class("not-found", "no-such-agent-xyz"), "environment");
}

Test(run, agent_retry_pattern_replaces_the_built_in_ones)
{
	char *busy = agent_script("busy", "echo 'We are out of CAPACITY, try again later'\nexit 1\n");
	char *http = agent_script("http", "echo 'HTTP 429: too many requests'\nexit 1\n");
	char *fallback = agent_script("fallback", "echo \"fallback for $AGENT_TASK\"\n");
	json_t *all, *e;

	run_ok(repo, "git config agent.retryPattern 'try again (later|tomorrow)' && "
	       "git config --add agent.retryPattern 'out of capacity'");
	run_ok(repo, "git config agent.command %s && git config --add agent.command %s",
	       sh_quote(busy), sh_quote(fallback));
	spawn_run("busy", "--run busy");
	wait_done("busy");
	run_ok(repo, "git config --unset-all agent.command && git config agent.command %s && "
	       "git config --add agent.command %s", sh_quote(http), sh_quote(fallback));
	spawn_run("http", "--run http");
	wait_done("http");
	all = events();
	e = must_event(all, "agent.exited", "busy", 0);
	cr_assert_str_eq(json_str(e, "class"), "rate-limit");
	cr_assert_str_eq(json_str(e, "next"), fallback);
	cr_assert_eq(trace_count(all, "agent.started", "busy"), 2);
	cr_assert_eq(int_of(must_event(all, "agent.exited", "busy", 1), "exit_code"), 0);
	assert_contains(agent_log("busy"), "fallback for busy\n");
	/* "429" is a built-in pattern only: the configured ones replace them. */
	e = must_event(all, "agent.exited", "http", 0);
	cr_assert_str_eq(json_str(e, "class"), "implementation");
	cr_assert(!has(e, "next"));
	cr_assert_eq(trace_count(all, "agent.started", "http"), 1);
}

Test(run, a_bad_pattern_is_a_fatal_config_error)
{
	struct result r;

	run(&r, repo, "git -c agent.retryPattern='rate(' agent spawn --run=true 'Bad pattern'");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: bad value 'rate(' for 'agent.retrypattern': "
			 "expected a POSIX extended regular expression\n");
	cr_assert(!path_exists(strf("%s/.git/agent", repo)), "something was made");
	run_ok(repo, "git config agent.envPattern '[[:nope:]]'");
	run(&r, repo, "git agent spawn --run=true 'Bad pattern'");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: bad value '[[:nope:]]' for 'agent.envpattern': "
			 "expected a POSIX extended regular expression\n");
	run_ok(repo, "git config agent.envPattern ''");
	run(&r, repo, "git agent spawn --run=true 'Bad pattern'");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: missing value for 'agent.envpattern'\n");
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert_str_empty(run_ok(repo, "git branch --list 'agent/*'"));
}

/* --timeout and the process group */

Test(run, timeout_ends_the_whole_process_group)
{
	/* One child ignores SIGTERM: only SIGKILL ends it. */
	char *agent = agent_script("hang",
		"sleep 300 &\n"
		"echo $! > \"$OUT/child1\"\n"
		"sh -c 'trap \"\" TERM; while :; do sleep 1; done' &\n"
		"echo $! > \"$OUT/child2\"\n"
		"cut -d' ' -f5 /proc/$!/stat > \"$OUT/child2-pgid\"\n"
		"echo $$ > \"$OUT/pid\"\n"
		"echo 'thinking'\n"
		"wait\n");
	json_t *j = spawn_run("hangs", strf("--run=%s --timeout 1 Hangs", sh_quote(agent)));
	json_t *all, *started, *exited, *t;
	pid_t pid = int_of(j, "agent_pid");

	wait_for(out_file("pid"));
	cr_assert_eq(pid_in(out_file("child2-pgid")), pid, "the child is in the agent's group");
	wait_done("hangs");
	assert_pid_gone(pid_in(out_file("child1")));
	assert_pid_gone(pid_in(out_file("child2")));
	assert_group_gone(pid);
	all = events();
	started = must_event(all, "agent.started", "hangs", 0);
	cr_assert_eq(int_of(started, "timeout"), 1);
	exited = must_event(all, "agent.exited", "hangs", 0);
	cr_assert_str_eq(json_str(exited, "signal"), "SIGTERM");
	cr_assert(!has(exited, "exit_code"));
	cr_assert(json_is_true(json_object_get(exited, "timed_out")));
	cr_assert(!has(exited, "stopped"));
	cr_assert_str_eq(json_str(exited, "status"), "failed");
	cr_assert_str_eq(json_str(exited, "class"), "implementation");
	cr_assert_geq(int_of(exited, "duration_ms"), 1000);
	cr_assert_lt(int_of(exited, "duration_ms"), 20000);
	cr_assert_str_eq(task_state("hangs"), "exited (SIGTERM, implementation)");
	t = task_json("hangs");
	cr_assert_str_eq(json_str(t, "signal"), "SIGTERM");
	assert_null(t, "exit_code");
	cr_assert_str_eq(json_str(t, "failure_class"), "implementation");
}

Test(run, timeout_takes_seconds_minutes_and_hours)
{
	static const struct { const char *arg; int seconds; } cases[] = {
		{ "90", 90 }, { "90s", 90 }, { "15m", 900 }, { "2h", 7200 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *slug = strf("t%zu", i);

		spawn_run(slug, strf("--run=true --timeout %s %s", cases[i].arg, slug));
		wait_done(slug);
		cr_assert_eq(int_of(must_event(events(), "agent.started", slug, 0), "timeout"),
			     cases[i].seconds, "--timeout %s", cases[i].arg);
	}
}

/* --wait */

Test(run, wait_streams_the_log_and_exits_with_the_agents_status)
{
	char *agent = agent_script("seven",
		"echo 'out one'\necho 'err two' >&2\nprintf '\\033[31mred\\033[m\\n'\n"
		"printf 'no newline'\nexit 7\n");
	char *folder = folder_of("seven"), *streamed;
	struct result r;

	watch("seven");
	run(&r, repo, "git agent spawn --run=%s --wait Seven", sh_quote(agent));
	assert_status(&r, 7);
	cr_assert_str_empty(r.err);
	assert_contains(r.out, "created task 'seven'\n");
	assert_contains(r.out, "  agent:    running in the foreground (--wait)\n");
	cr_assert(!lock_held("seven"));
	/* What the agent wrote, raw off a terminal, after the header. */
	streamed = strstr(r.out, "\n--- git agent: ");
	cr_assert(streamed != NULL, "%s", visible(r.out));
	streamed = strchr(streamed + 1, '\n') + 1;
	cr_assert_str_eq(streamed, "out one\nerr two\n\033[31mred\033[m\nno newline");
	cr_assert_str_eq(strstr(read_file(strf("%s/agent.log", folder)), "out one"), streamed);
	cr_assert_str_eq(task_state("seven"), "exited (7, implementation)");
}

Test(run, wait_exit_status_of_a_signal_and_of_success)
{
	struct result r;

	watch("usr1");
	run(&r, repo, "git agent spawn --run='kill -USR1 $$' --wait usr1");
	assert_status(&r, 128 + SIGUSR1);
	cr_assert_str_eq(json_str(must_event(events(), "agent.exited", "usr1", 0), "signal"),
			 "SIGUSR1");
	cr_assert_str_eq(task_state("usr1"), "exited (SIGUSR1, implementation)");
	watch("fine");
	run(&r, repo, "git agent spawn --run='echo fine' --wait fine");
	assert_status(&r, 0);
	assert_contains(r.out, "\nfine\n");
	watch("slow");
	run(&r, repo, "git agent spawn --run='echo slow; sleep 300' --wait --timeout 1 slow");
	assert_status(&r, 128 + SIGTERM);
	cr_assert(json_is_true(json_object_get(must_event(events(), "agent.exited", "slow", 0),
					       "timed_out")));
}

Test(run, wait_streams_while_the_agent_runs)
{
	char *agent = agent_script("steps",
		"echo 'step one'\n"
		"while [ ! -e \"$OUT/go\" ]; do sleep 0.02; done\n"
		"echo 'step two'\n");
	char *out = sandbox_path("wait.out");
	long long end = now_ms() + 20000;
	pid_t pid;
	int status;

	watch("steps");
	pid = run_background(repo, out, "exec git agent spawn --run=%s --wait Steps",
			     sh_quote(agent));
	/* "step one" shows before the agent may go on: it is streamed, not copied at the end. */
	while (!strstr(read_file(out) ? read_file(out) : "", "\nstep one\n")) {
		cr_assert(now_ms() < end, "no 'step one' yet:\n%s", read_file(out));
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "spawn ended:\n%s", read_file(out));
		nap(20);
	}
	assert_not_contains(read_file(out), "step two");
	write_file(out_file("go"), "", 0644);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", read_file(out));
	assert_contains(read_file(out), "\nstep one\nstep two\n");
}

Test(run, wait_on_a_terminal_escapes_the_agents_output)
{
	char *agent = agent_script("colors",
		"printf '\\033[31mred\\033[m\\tand\\033]0;title\\007\\n'\nexit 3\n");
	struct result r;

	watch("colors");
	/* script(1) gives spawn a terminal; -e passes its exit status on. */
	run(&r, repo, "script -qec %s /dev/null | tr -d '\\r'; exit ${PIPESTATUS:-0}",
	    sh_quote(strf("git agent spawn --run=%s --wait Colors", sh_quote(agent))));
	assert_contains(r.out, "\\x1b[31mred\\x1b[m\tand\\x1b]0;title\\x07\n");
	assert_not_contains(r.out, "\033");
	assert_not_contains(r.out, "\007");
	run(&r, repo, "script -qec %s /dev/null >/dev/null",
	    sh_quote(strf("git agent spawn --run=%s --wait Colors", sh_quote(agent))));
	assert_status(&r, 3);
}

Test(run, wait_exits_with_the_last_attempts_status)
{
	char *limited = agent_script("limited", "echo 'HTTP 429 Too Many Requests'\nexit 1\n");
	char *second = agent_script("second", "echo 'second agent'\nexit 4\n");
	struct result r;

	run_ok(repo, "git config agent.command %s && git config --add agent.command %s",
	       sh_quote(limited), sh_quote(second));
	watch("last-status");
	run(&r, repo, "git agent spawn --run --wait 'Last status'");
	assert_status(&r, 4);
	assert_contains(r.out, strf(" attempt 1 of 2: %s\nHTTP 429 Too Many Requests\n", limited));
	assert_contains(r.out, strf(" attempt 2 of 2: %s\nsecond agent\n", second));
	cr_assert_str_eq(task_state("last-status"), "exited (4, implementation)");
}

Test(run, wait_goes_on_when_its_output_goes_away)
{
	char *agent = agent_script("chatty",
		"i=0; while [ $i -lt 2000 ]; do echo \"line $i of a long output\"; i=$((i+1)); done\n"
		"touch \"$OUT/finished\"\nexit 5\n");
	struct result r;

	watch("chatty");
	/* head leaves after one line: spawn's stdout is a closed pipe from then on. */
	run(&r, repo, "{ git agent spawn --run=%s --wait Chatty; echo $? > %s; } | head -n 1",
	    sh_quote(agent), sh_quote(out_file("status")));
	cr_assert_str_eq(r.out, "created task 'chatty'\n");
	cr_assert_str_eq(read_file(out_file("status")), "5\n", "%s", r.err);
	cr_assert(path_exists(out_file("finished")), "the agent was cut short");
	cr_assert_eq(count_matches(agent_log("chatty"), " of a long output\n"), 2000);
	cr_assert_str_eq(json_str(must_event(events(), "agent.exited", "chatty", 0), "status"),
			 "failed");
}

Test(run, an_interrupted_wait_stops_the_agent)
{
	char *agent = hanging_agent("interrupted");
	char *out = sandbox_path("wait.out");
	json_t *exited;
	pid_t pid, agent_pid;
	int status;

	watch("interrupt-me");
	/* spawn itself, not git in front of it, gets the signal, as from Control-C. */
	pid = run_background(repo, out, "exec git-agent-spawn --run=%s --wait 'Interrupt me'",
			     sh_quote(agent));
	wait_for(out_file("interrupted.pid"));
	/* The agent may be up before the supervisor has logged it. */
	while (!event_n(events(), "agent.started", "interrupt-me", 0))
		nap(10);
	agent_pid = int_of(must_event(events(), "agent.started", "interrupt-me", 0), "pid");
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "spawn was killed by signal %d", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 128 + SIGTERM, "%s", read_file(out));
	assert_group_gone(agent_pid);
	assert_pid_gone(pid_in(out_file("interrupted.child")));
	exited = must_event(events(), "agent.exited", "interrupt-me", 0);
	cr_assert_str_eq(json_str(exited, "status"), "stopped");
	cr_assert_str_eq(json_str(exited, "signal"), "SIGTERM");
	cr_assert(!has(exited, "class"));
	cr_assert_str_eq(task_state("interrupt-me"), "exited (SIGTERM)");
}

/* Stopping, losing and running again */

Test(run, abandon_stops_a_running_agent_and_its_group)
{
	char *agent = hanging_agent("busy");
	json_t *j = spawn_run("keep-busy", strf("--run=%s 'Keep busy'", sh_quote(agent)));
	json_t *answer, *all, *exited;
	pid_t pid = int_of(j, "agent_pid"), child;
	struct result r;

	wait_for(out_file("busy.pid"));
	child = pid_in(out_file("busy.child"));
	cr_assert(lock_held("keep-busy"));
	cr_assert_str_eq(task_state("keep-busy"), strf("running (pid %d)", (int)pid));
	cr_assert_str_eq(json_str(task_json("keep-busy"), "state"), "running");
	cr_assert_eq(int_of(task_json("keep-busy"), "agent_pid"), pid);
	/* Its uncommitted work makes abandon refuse, and then the agent goes on. */
	write_file(sandbox_path("repo-worktrees/keep-busy/draft.txt"), "half done\n", 0644);
	run(&r, repo, "git agent review keep-busy --abandon");
	assert_status(&r, 1);
	assert_contains(r.err, "has uncommitted changes");
	cr_assert(lock_held("keep-busy"), "a refused abandon stopped the agent");
	cr_assert_gt(group_members(pid), 0);
	answer = review_json(repo, 0, "keep-busy --abandon --force");
	cr_assert(json_is_true(json_object_get(answer, "stopped_agent")));
	cr_assert(json_is_true(json_object_get(answer, "removed_worktree")));
	cr_assert(json_is_true(json_object_get(answer, "deleted_branch")));
	cr_assert(!lock_held("keep-busy"));
	assert_pid_gone(child);
	assert_group_gone(pid);
	all = events();
	exited = must_event(all, "agent.exited", "keep-busy", 0);
	cr_assert_str_eq(json_str(exited, "status"), "stopped");
	cr_assert(json_is_true(json_object_get(exited, "stopped")));
	cr_assert_str_eq(json_str(exited, "signal"), "SIGTERM");
	cr_assert(!has(exited, "class") && !has(exited, "timed_out"));
	/* Stopped before anything was removed. */
	cr_assert_lt(index_of(all, exited),
		     index_of(all, must_event(all, "worktree.removed", "keep-busy", 0)));
	cr_assert_str_eq(task_state("keep-busy"), "abandoned");
	/* A task whose agent is done has none to stop. */
	spawn_run("done-already", "--run=true 'Done already'");
	wait_done("done-already");
	answer = review_json(repo, 0, "done-already --abandon");
	cr_assert(json_is_false(json_object_get(answer, "stopped_agent")));
}

Test(run, a_killed_supervisor_leaves_a_lost_agent_that_abandon_ends)
{
	char *agent = hanging_agent("orphan");
	json_t *j = spawn_run("orphaned", strf("--run=%s Orphaned", sh_quote(agent))), *t;
	pid_t pid = int_of(j, "agent_pid"), supervisor, in_lock;
	long long end = now_ms() + 20000;
	struct result r;

	wait_for(out_file("orphan.pid"));
	supervisor = int_of(must_event(events(), "agent.started", "orphaned", 0), "supervisor");
	lock_pids(folder_of("orphaned"), &supervisor, &in_lock);
	cr_assert_eq(in_lock, pid);
	cr_assert_eq(supervisor, int_of(must_event(events(), "agent.started", "orphaned", 0),
					"supervisor"));
	cr_assert_eq(kill(supervisor, SIGKILL), 0);
	while (lock_held("orphaned")) {
		cr_assert(now_ms() < end, "the lock outlived its supervisor");
		nap(20);
	}
	cr_assert_gt(group_members(pid), 0, "the agent itself lives on");
	cr_assert_str_eq(task_state("orphaned"), strf("lost (pid %d)", (int)pid));
	t = task_json("orphaned");
	cr_assert_str_eq(json_str(t, "state"), "lost");
	cr_assert_eq(int_of(t, "agent_pid"), pid);
	assert_null(t, "exit_code");
	assert_null(t, "signal");
	assert_null(t, "failure_class");
	cr_assert_eq(trace_count(events(), "agent.exited", "orphaned"), 0);
	/* A second agent would work beside the lost one. */
	run(&r, repo, "git agent spawn --run=true --name orphaned");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, strf("fatal: the lost agent of task 'orphaned' still runs "
				     "(process group %d); stop it first with 'kill -- -%d'\n",
				     (int)pid, (int)pid));
	cr_assert_str_empty(r.out);
	cr_assert_eq(trace_count(events(), "agent.started", "orphaned"), 1);

	/* Nobody logs its end; abandon ends its group itself. */
	run(&r, repo, "git agent review orphaned --abandon");
	assert_status(&r, 0);
	assert_contains(r.out, "abandoned task 'orphaned'\nstopped its agent\n");
	cr_assert_eq(group_members(pid), 0, "the lost agent's group lives on");
	assert_pid_gone(pid_in(out_file("orphan.child")));
}

Test(run, a_second_agent_of_a_running_task_is_refused)
{
	char *agent = hanging_agent("first");
	json_t *j = spawn_run("one-at-a-time", strf("--run=%s 'One at a time'", sh_quote(agent)));
	pid_t pid = int_of(j, "agent_pid"), supervisor, in_lock;
	char *refusal;
	struct result r;

	wait_for(out_file("first.pid"));
	lock_pids(folder_of("one-at-a-time"), &supervisor, &in_lock);
	refusal = strf("fatal: an agent is already running for task 'one-at-a-time' (supervisor pid "
		       "%d); wait for it, or stop it with 'kill %d'\n", (int)supervisor,
		       (int)supervisor);
	run(&r, repo, "git agent spawn --run=true --name one-at-a-time");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, refusal);
	cr_assert_str_empty(r.out);
	run(&r, repo, "git agent spawn --run=true --wait --name one-at-a-time");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, refusal);
	cr_assert_str_empty(r.out, "said it runs before it was refused");
	cr_assert_eq(trace_count(events(), "agent.started", "one-at-a-time"), 1);
	cr_assert(group_members(pid) > 0, "the first agent was disturbed");

	/* What the message says to do stops it, and the supervisor logs that. */
	cr_assert_eq(kill(supervisor, SIGTERM), 0);
	wait_done("one-at-a-time");
	assert_group_gone(pid);
	cr_assert_str_eq(json_str(must_event(events(), "agent.exited", "one-at-a-time", 0),
				  "status"), "stopped");
	j = spawn_run("one-at-a-time", "--run=true --name one-at-a-time");
	cr_assert(json_is_true(json_object_get(j, "rerun")));
	wait_done("one-at-a-time");
	cr_assert_eq(trace_count(events(), "agent.exited", "one-at-a-time"), 2);
}

Test(run, request_changes_then_run_again_with_the_updated_packet)
{
	char *first = agent_script("first",
		"cat > \"$OUT/stdin1\"\n"
		"echo one > one.txt && git add one.txt && git commit -q -m one\n");
	char *second = agent_script("second",
		"cat > \"$OUT/stdin2\"\n"
		"pwd -P > \"$OUT/pwd2\"\n"
		"git log --format=%s > \"$OUT/log2\"\n");
	char *folder = folder_of("two-rounds"), *stdin2, *packet;
	json_t *j;
	struct result r;

	spawn_run("two-rounds", strf("--run=%s 'Two rounds'", sh_quote(first)));
	wait_done("two-rounds");
	assert_not_contains(read_file(out_file("stdin1")), "Handle empty input too");
	review_json(repo, 0, "two-rounds");
	run_ok(repo, "git agent review two-rounds --request-changes='Handle empty input too.'");
	run(&r, repo, "git agent spawn --run=%s --name two-rounds", sh_quote(second));
	assert_status(&r, 0);
	assert_contains(r.out, "running the agent of task 'two-rounds' again\n");
	assert_contains(r.out, "  agent:    running (pid ");
	wait_done("two-rounds");
	packet = read_file(strf("%s/packet.md", folder));
	stdin2 = read_file(out_file("stdin2"));
	cr_assert_str_eq(stdin2, packet);
	assert_contains(stdin2, "Requested changes");
	assert_contains(stdin2, "Handle empty input too.");
	/* The same worktree, with the first run's work in it. */
	cr_assert_str_eq(read_file(out_file("pwd2")),
			 strf("%s\n", sandbox_path("repo-worktrees/two-rounds")));
	assert_contains(read_file(out_file("log2")), "one\n");
	cr_assert_eq(trace_count(events(), "agent.started", "two-rounds"), 2);
	cr_assert_eq(trace_count(events(), "worktree.created", "two-rounds"), 1);
	cr_assert_eq(count_matches(agent_log("two-rounds"), "--- git agent: "), 2);
	j = spawn_run("two-rounds", strf("--run=%s --name two-rounds", sh_quote(second)));
	cr_assert(json_is_true(json_object_get(j, "rerun")));
	wait_done("two-rounds");
}

Test(run, a_planned_task_is_created_and_run)
{
	char *agent = agent_script("planned", "pwd -P > \"$OUT/pwd\"\n");
	struct result r;

	run_ok(repo, "git agent spawn 'Plan first'");
	watch("plan-first");
	run(&r, repo, "git agent spawn --run=%s --name plan-first", sh_quote(agent));
	assert_status(&r, 0);
	assert_contains(r.out, "created task 'plan-first' (adopted the planned task)\n");
	wait_done("plan-first");
	cr_assert_str_eq(read_file(out_file("pwd")),
			 strf("%s\n", sandbox_path("repo-worktrees/plan-first")));
}

Test(run, running_again_refuses_what_cannot_be)
{
	char *wt = sandbox_path("repo-worktrees/again");
	char *fixed = "fatal: task 'again' exists: running its agent again takes no title, "
		      "description, scope, step, check or base; edit its packet instead\n";
	static const char *changes[] = {
		"'A new title'", "-m 'new text'", "--scope src", "--step 'one more'",
		"--check true", "--base main",
	};
	struct result r;
	size_t i;

	spawn_run("again", "--run=true Again");
	wait_done("again");
	for (i = 0; i < sizeof(changes) / sizeof(*changes); i++) {
		run(&r, repo, "git agent spawn --run=true --name again %s", changes[i]);
		assert_status(&r, 128);
		cr_assert_str_eq(r.err, fixed, "%s", changes[i]);
	}
	cr_assert_eq(trace_count(events(), "agent.started", "again"), 1);
	run_ok(repo, "git worktree remove %s", sh_quote(wt));
	run(&r, repo, "git agent spawn --run=true --name again");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, strf("fatal: the worktree of task 'again' is missing: '%s'\n", wt));
	run_ok(repo, "git agent review again --abandon");
	run(&r, repo, "git agent spawn --run=true --name again");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: task 'again' was abandoned; its agent cannot run again\n");

	spawn_run("merge-me", "--run='echo x > x.txt && git add x.txt && git commit -qm x' "
		  "'Merge me'");
	wait_done("merge-me");
	review_json(repo, 0, "merge-me");
	run_ok(repo, "git agent review merge-me --merge");
	run(&r, repo, "git agent spawn --run=true --name merge-me");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: task 'merge-me' was merged; its agent cannot run again\n");
	cr_assert_eq(trace_count(events(), "agent.started", NULL), 2);
}

/* Usage and fatal errors */

Test(run, usage_errors)
{
	static const struct { const char *args, *error; } cases[] = {
		{ "--wait T", "error: --wait needs --run\n" },
		{ "--wait --timeout 5 T", "error: --wait needs --run\n" },
		{ "--timeout 5 T", "error: --timeout needs --run\n" },
		{ "--create --timeout 5m T", "error: --timeout needs --run\n" },
		{ "--run --dry-run T", "error: --run cannot be used with --dry-run: the agent needs a worktree\n" },
		{ "--dry-run --run=true T", "error: --run cannot be used with --dry-run: the agent needs a worktree\n" },
		{ "--run= T", "error: --run needs a command after '='\n" },
		{ "'--run=  ' T", "error: --run needs a command after '='\n" },
		{ "--run --timeout abc T", "error: invalid --timeout 'abc': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout 0 T", "error: invalid --timeout '0': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout -5 T", "error: invalid --timeout '-5': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout 5x T", "error: invalid --timeout '5x': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout 1.5m T", "error: invalid --timeout '1.5m': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout 2d T", "error: invalid --timeout '2d': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout '' T", "error: invalid --timeout '': use seconds, or a number with s, m or h\n" },
		{ "--run --timeout", "error: option '--timeout' requires a value\n" },
		{ "--run", "error: a task title is required\n" },
	};
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		run(&r, repo, "git agent spawn %s", cases[i].args);
		cr_assert_eq(r.status, 129, "%s: exit %d\n%s", cases[i].args, r.status, r.err);
		cr_assert(!strncmp(r.err, cases[i].error, strlen(cases[i].error)),
			  "%s:\n%s", cases[i].args, visible(r.err));
		assert_contains(r.err + strlen(cases[i].error), "usage: git agent spawn");
		cr_assert_str_empty(r.out);
	}
	cr_assert(!path_exists(strf("%s/.git/agent", repo)), "a usage error made something");
}

Test(run, no_agent_to_run_is_fatal_before_anything_is_made)
{
	struct result r;

	run(&r, repo, "git agent spawn --run 'Nothing to run'");
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, "fatal: no agent to run: set agent.command "
			 "(git config agent.command '<command>'), or give --run=<command>\n");
	cr_assert_str_empty(r.out);
	cr_assert(!path_exists(strf("%s/.git/agent", repo)));
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert_str_empty(run_ok(repo, "git branch --list 'agent/*'"));
	cr_assert(!path_exists(sandbox_path("repo-worktrees")));
}

Test(run, a_shell_that_cannot_start_is_fatal)
{
	char *bin = sandbox_path("gitonly"), *log = strf("%s/agent.log", folder_of("no-shell"));
	struct result r;

	/* git and git-agent are found, sh is not. */
	make_dirs(bin);
	cr_assert_eq(symlink(run_ok(NULL, "command -v git"), strf("%s/git", bin)), 0);
	watch("no-shell");
	run(&r, repo, "PATH=%s:%s exec %s/git agent spawn --run=true 'No shell'", sh_quote(build_dir),
	    sh_quote(bin), sh_quote(bin));
	assert_status(&r, 128);
	cr_assert_str_eq(r.err, strf("fatal: the agent of task 'no-shell' could not start; "
				     "see '%s'\n", log));
	wait_done("no-shell");
	assert_contains(read_file(log), "attempt 1 of 1: true\n"
			"git agent: cannot run sh: No such file or directory\n");
	cr_assert_eq(trace_count(events(), "agent.started", "no-shell"), 0);
	cr_assert_eq(trace_count(events(), "agent.exited", "no-shell"), 0);
}

Test(run, run_implies_create_over_agent_mode)
{
	run_ok(repo, "git config agent.mode dry-run && git config agent.command true");
	json_t *j = spawn_run("made", "--run Made");

	cr_assert_str_eq(json_str(j, "mode"), "create");
	cr_assert(worktree_listed(repo, sandbox_path("repo-worktrees/made")));
	wait_done("made");
	cr_assert_str_eq(task_state("made"), "exited (0)");
}

/* Hostile text */

Test(run, hostile_titles_and_commands_stay_escaped)
{
	char *title = "Evil \033]0;owned\007 title\nsecond line \033[2J";
	char *agent = agent_script("quiet", "printf '%s' \"$AGENT_TITLE\" > \"$OUT/title\"\n");
	char *log, *header, *slug;
	struct result r;
	json_t *j;
	size_t i;

	run(&r, repo, "git agent spawn --json --run=%s %s", sh_quote(agent), sh_quote(title));
	assert_status(&r, 0);
	j = json_parse(r.out);
	slug = (char *)json_str(j, "task");
	watch(slug);
	wait_done(slug);
	/* The agent gets the title as it is; nothing the tool prints has it raw. */
	cr_assert_str_eq(read_file(out_file("title")), title);
	log = agent_log(slug);
	header = strf("%.*s", (int)strcspn(log, "\n"), log);
	for (i = 0; header[i]; i++)
		cr_assert(!iscntrl((unsigned char)header[i]), "raw control in %s", visible(header));
	run(&r, repo, "git agent spawn --run=%s --name %s", sh_quote(agent), slug);
	assert_status(&r, 0);
	wait_done(slug);
	assert_contains(r.out, "  title:    Evil \\x1b]0;owned\\x07 title\\nsecond line \\x1b[2J\n");
	for (i = 0; r.out[i]; i++)
		cr_assert(!iscntrl((unsigned char)r.out[i]) || r.out[i] == '\n',
			  "raw control in:\n%s", visible(r.out));
	run(&r, repo, "git agent trace --tasks");
	assert_not_contains(r.out, "\033");

	/* A multi-line command keeps its header one line. */
	spawn_run("two-lines", "--run='echo one\necho two' 'Two lines'");
	wait_done("two-lines");
	cr_assert_str_eq(strstr(agent_log("two-lines"), "attempt 1 of 1: "),
			 "attempt 1 of 1: echo one\\necho two\none\ntwo\n");
}
