/*
 * `git agent spawn --create` under faults: a failing step rolls everything
 * back, and a spawn killed half-way leaves a state that the next spawn and
 * `git worktree prune` clean up (git-agent-spawn(1), "Interrupted spawns").
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lib.h"

TestSuite(faults, .init = sandbox_setup, .fini = sandbox_teardown);

/* What git shows of a repository's branches and worktrees. */
struct repo_state {
	char *refs, *worktrees;
	int admin_dirs;
};

static struct repo_state repo_state(const char *repo)
{
	struct repo_state s;

	s.refs = run_ok(repo, "git for-each-ref");
	s.worktrees = run_ok(repo, "git worktree list --porcelain");
	s.admin_dirs = count_entries(strf("%s/.git/worktrees", repo));
	return s;
}

static void assert_same_state(const char *repo, struct repo_state before)
{
	struct repo_state now = repo_state(repo);

	cr_assert_str_eq(now.refs, before.refs, "refs changed");
	cr_assert_str_eq(now.worktrees, before.worktrees, "worktrees changed");
	cr_assert_eq(now.admin_dirs, before.admin_dirs, "admin dirs under .git/worktrees changed");
}

/* Asserts that nothing of task slug is left but its trace events. */
static void assert_rolled_back(const char *repo, const char *slug, struct repo_state before)
{
	char *tasks = strf("%s/.git/agent/tasks", repo);

	assert_same_state(repo, before);
	cr_assert(!path_exists(sandbox_path("repo-worktrees/%s", slug)), "the worktree is left");
	cr_assert(!path_exists(strf("%s/%s.ini", tasks, slug)), "the record is left");
	cr_assert(!path_exists(strf("%s/%s", tasks, slug)), "the task folder is left");
	run_ok(repo, "git worktree prune");
	assert_same_state(repo, before);
	cr_assert_str_empty(run_ok(repo, "git status --porcelain"));
}

Test(faults, failing_setup_rolls_everything_back)
{
	char *repo = make_repo("repo");
	struct repo_state before = repo_state(repo);
	struct result r;
	json_t *events, *failed;

	run(&r, repo, "git -c agent.setup=false agent spawn --create 'Setup fails'");
	assert_status(&r, 128);
	cr_assert(strstr(r.err, "fatal: ") != NULL, "stderr: %s", r.err);
	assert_rolled_back(repo, "setup-fails", before);

	events = trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	failed = trace_find(events, "setup.failed", "setup-fails");
	cr_assert(failed != NULL, "no setup.failed event");
	cr_assert_str_eq(json_str(failed, "command"), "false");
	cr_assert_eq(json_integer_value(json_object_get(failed, "exit")), 1);
	failed = trace_find(events, "spawn.failed", "setup-fails");
	cr_assert(failed != NULL, "no spawn.failed event");
	cr_assert(strlen(json_str(failed, "reason")) > 0);
	cr_assert(trace_find(events, "setup.done", "setup-fails") == NULL);
}

Test(faults, later_setup_commands_do_not_run_after_a_failure)
{
	char *repo = make_repo("repo"), *ran = sandbox_path("ran");
	struct result r;

	run_ok(repo, "git config --add agent.setup 'exit 3' && git config --add agent.setup %s",
	       sh_quote(strf("touch %s", sh_quote(ran))));
	run(&r, repo, "git agent spawn --create 'Stops early'");
	assert_status(&r, 128);
	cr_assert(!path_exists(ran));
	cr_assert_eq(json_integer_value(json_object_get(
		trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)), "setup.failed", "stops-early"),
		"exit")), 3);
}

Test(faults, failing_checkout_rolls_everything_back)
{
	char *repo = make_repo("repo");
	struct repo_state before = repo_state(repo);
	struct result r;

	write_file(strf("%s/.git/hooks/post-checkout", repo), "#!/bin/sh\nexit 1\n", 0755);
	run(&r, repo, "git agent spawn --create 'Checkout fails'");
	assert_status(&r, 128);
	assert_rolled_back(repo, "checkout-fails", before);
	cr_assert(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)), "spawn.failed",
			     "checkout-fails") != NULL);
}

Test(faults, failed_spawn_frees_its_slug)
{
	char *repo = make_repo("repo");
	struct result r;
	json_t *task;

	run(&r, repo, "git -c agent.setup=false agent spawn --create 'Try again'");
	assert_status(&r, 128);
	task = spawn_json(repo, "--create 'Try again'");
	cr_assert_str_eq(json_str(task, "task"), "try-again");
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
}

Test(faults, keep_failed_keeps_the_worktree_and_branch)
{
	char *repo = make_repo("repo"), *wt = sandbox_path("repo-worktrees/kept");
	struct result r;

	run(&r, repo, "git -c agent.setup=false agent spawn --create --keep-failed Kept");
	assert_status(&r, 128);
	cr_assert(is_dir(wt));
	cr_assert(worktree_listed(repo, wt));
	cr_assert_str_eq(run_ok(repo, "git rev-parse agent/kept"), run_ok(repo, "git rev-parse HEAD"));
	cr_assert_str_eq(run_ok(wt, "git symbolic-ref HEAD"), "refs/heads/agent/kept");
	cr_assert(trace_find(trace_read(strf("%s/.git/agent/trace.jsonl", repo)), "setup.failed", "kept"));
}

/*
 * A spawn killed with SIGKILL while its setup runs cannot roll back. The
 * next spawn of the title rolls the half-made task back with a warning and
 * reuses its slug; git worktree prune then finds nothing stale.
 */
Test(faults, spawn_killed_during_setup_is_rolled_back_by_the_next_spawn, .timeout = 60)
{
	char *repo = make_repo("repo"), *started = sandbox_path("setup-started");
	char *wt = sandbox_path("repo-worktrees/killed-task"), *log = sandbox_path("spawn.log");
	struct result r;
	json_t *task;
	char *list;
	pid_t pid;

	run_ok(repo, "git config agent.setup %s", sh_quote(strf("echo $$ > %s; exec sleep 30", sh_quote(started))));
	pid = run_background(repo, log, "exec git-agent-spawn --create 'Killed task'");
	cr_assert(wait_for_file(started, 20000) == 0, "setup never started:\n%s", read_file(log));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	kill(-pid, SIGKILL);
	kill(atoi(read_file(started)), SIGKILL);
	cr_assert(is_dir(wt), "the killed spawn had made its worktree");

	run_ok(repo, "git config --unset-all agent.setup");
	run(&r, repo, "git agent spawn --create --json 'Killed task'");
	assert_status(&r, 0);
	task = json_parse(r.out);
	cr_assert_str_eq(json_str(task, "task"), "killed-task", "the slug is reused");
	assert_contains(r.err, "warning: ");
	cr_assert(worktree_listed(repo, wt));
	cr_assert_str_empty(run_ok(wt, "git status --porcelain"));

	run_ok(repo, "git worktree prune");
	list = run_ok(repo, "git worktree list --porcelain");
	assert_not_contains(list, "prunable");
	cr_assert_eq(worktree_count(repo), 2);
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), 1);
	cr_assert_str_eq(run_ok(repo, "git for-each-ref --format='%%(refname)' refs/heads/agent/"),
			 "refs/heads/agent/killed-task");
	cr_assert_eq(count_entries(strf("%s/.git/agent/tasks", repo)), 2, "one record and one folder");
}

/*
 * SIGTERM to spawn alone (as a supervisor sends it) while a setup command
 * runs: spawn passes it on, rolls everything back and says why, promptly.
 */
Test(faults, sigterm_during_setup_rolls_everything_back, .timeout = 60)
{
	char *repo = make_repo("repo"), *started = sandbox_path("setup-started");
	char *log = sandbox_path("spawn.log"), *output;
	struct repo_state before = repo_state(repo);
	struct timespec t0, t1;
	int status;
	pid_t pid;

	run_ok(repo, "git config agent.setup %s", sh_quote(strf("touch %s; sleep 30", sh_quote(started))));
	pid = run_background(repo, log, "exec git-agent-spawn --create 'Terminated task'");
	cr_assert(wait_for_file(started, 20000) == 0 || path_exists(started),
		  "setup never started:\n%s", read_file(log));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 128, "status %d", status);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "spawn waited for the setup command to end");
	output = read_file(log);
	assert_contains(output, "fatal: cannot create task 'terminated-task': interrupted by signal 15");
	run_ok(repo, "git config --unset-all agent.setup");
	assert_rolled_back(repo, "terminated-task", before);
}

Test(faults, deleted_worktree_directory_is_cleared_by_git_worktree_prune)
{
	char *repo = make_repo("repo");
	json_t *task = spawn_json(repo, "--create 'Deleted by hand'");
	const char *wt = json_str(task, "worktree");

	run_ok(NULL, "rm -rf %s", sh_quote(wt));
	assert_contains(run_ok(repo, "git worktree list --porcelain"), "prunable");
	run_ok(repo, "git worktree prune");
	cr_assert_eq(worktree_count(repo), 1);
	cr_assert_eq(count_entries(strf("%s/.git/worktrees", repo)), 0);

	task = spawn_json(repo, "--create 'Deleted by hand'");
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	cr_assert_str_empty(run_ok(NULL, "git -C %s status --porcelain", sh_quote(json_str(task, "worktree"))));
}

/* Another process holding a ref lock for a moment does not make spawn fail. */
Test(faults, held_ref_lock_is_waited_for, .timeout = 60)
{
	char *repo = make_repo("repo"), *lock = strf("%s/.git/refs/heads/agent/lock-test.lock", repo);
	json_t *task;

	write_file(lock, "", 0644);
	run_background(repo, sandbox_path("unlock.log"), "sleep 1; rm -f %s", sh_quote(lock));
	task = spawn_json(repo, "--create 'Lock test'");
	cr_assert_str_eq(json_str(task, "task"), "lock-test", "a held lock does not make a slug taken");
	cr_assert(worktree_listed(repo, json_str(task, "worktree")));
	cr_assert_str_eq(run_ok(repo, "git rev-parse %s", sh_quote(json_str(task, "branch"))),
			 run_ok(repo, "git rev-parse HEAD"));
}
