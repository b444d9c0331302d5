/*
 * spawn --from: every task of a batch file, with at most -j agents at once,
 * against stand-in agents written as shell scripts.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib.h"

TestSuite(batch_run, .init = sandbox_setup, .fini = sandbox_teardown, .timeout = 120);

static const char six_tasks[] =
	"# six tasks for two agents at a time\n"
	"[task \"one\"]\ntitle = Task one\nstep = edit\n"
	"[task \"two\"]\ntitle = Task two\ndescription = \"line one\\nline two\"\n"
	"[task \"three\"]\ntitle = Task three\nscope = src\n"
	"[task \"four\"]\ntitle = Task four\ncheck = true\n"
	"[task \"five\"]\ntitle = Task five\n"
	"[task \"six\"]\ntitle = Task six\n";

/*
 * An agent that notes it is alive in a directory for as long as it runs,
 * commits a file, and fails for task "five".
 */
static void use_counting_agent(const char *repo)
{
	char *alive = sandbox_path("alive");

	make_dirs(alive);
	write_file(sandbox_path("agent.sh"),
		   "#!/bin/sh\n"
		   "touch \"$1/$AGENT_TASK\"\n"
		   "sleep 0.6\n"
		   "echo \"$AGENT_TASK\" > done.txt && git add done.txt && git commit -qm \"$AGENT_TASK\"\n"
		   "rm \"$1/$AGENT_TASK\"\n"
		   "[ \"$AGENT_TASK\" != five ] || { echo 'tests failed' >&2; exit 3; }\n", 0755);
	run_ok(repo, "git config agent.command %s", sh_quote(strf("%s %s", sandbox_path("agent.sh"),
								   alive)));
}

Test(batch_run, six_tasks_with_j2_never_run_more_than_two_agents)
{
	char *repo = make_repo("repo"), *alive = sandbox_path("alive");
	struct result r;
	json_t *events;
	pid_t pid;
	int status, most = 0, n;
	const char *slugs[] = { "one", "two", "three", "four", "five", "six" };
	size_t i;

	use_counting_agent(repo);
	write_file(sandbox_path("tasks.ini"), six_tasks, 0644);
	pid = run_background(repo, sandbox_path("batch.out"),
			     "exec git-agent-spawn --from %s --run -j 2", sandbox_path("tasks.ini"));
	while (waitpid(pid, &status, WNOHANG) == 0) {
		n = count_entries(alive);
		if (n > most)
			most = n;
		usleep(20000);
	}
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 1, "one agent failed, so the batch fails:\n%s",
		     read_file(sandbox_path("batch.out")));
	cr_assert_leq(most, 2, "%d agents ran at once with -j 2", most);
	cr_assert_geq(most, 1);
	events = trace_read(strf("%s/.git/agent/trace.jsonl", repo));
	cr_assert_eq(trace_count(events, "agent.exited", NULL), 6);
	cr_assert_eq(trace_count(events, "worktree.created", NULL), 6);
	cr_assert_eq(worktree_count(repo), 7);
	for (i = 0; i < 6; i++)
		cr_assert(worktree_listed(repo, strf("%s/repo-worktrees/%s", sandbox, slugs[i])),
			  "no worktree for %s", slugs[i]);
	/* The file's text reached the packet, lists in order. */
	assert_contains(read_file(strf("%s/.git/agent/tasks/two/packet.md", repo)), "line two");
	assert_contains(read_file(sandbox_path("batch.out")), "6 tasks: 5 succeeded, 1 failed");
	assert_contains(read_file(sandbox_path("batch.out")), "five: failed (exit 3)");
	r.status = run(&r, repo, "git agent trace --tasks --json five");
	assert_contains(r.out, "\"failure_class\":\"implementation\"");
}

Test(batch_run, off_a_terminal_one_plain_line_per_state_change)
{
	char *repo = make_repo("repo");
	struct result r;

	run_ok(repo, "git config agent.command 'exit 0'");
	write_file(sandbox_path("t.ini"), "[task \"a\"]\ntitle = A\n[task \"b\"]\ntitle = B\n", 0644);
	run(&r, repo, "git agent spawn --from %s --run -j 1", sandbox_path("t.ini"));
	assert_status(&r, 0);
	cr_assert_eq(count_matches(r.out, "a: spawning"), 1, "%s", r.out);
	cr_assert_eq(count_matches(r.out, "a: running (pid "), 1, "%s", r.out);
	cr_assert_eq(count_matches(r.out, "a: succeeded (exit 0)"), 1, "%s", r.out);
	cr_assert(strstr(r.out, "a: succeeded") < strstr(r.out, "b: spawning"),
		  "-j 1 starts b after a ended:\n%s", r.out);
	assert_contains(r.out, "2 tasks: 2 succeeded, 0 failed");
	assert_not_contains(r.out, "\033");
}

Test(batch_run, without_run_the_tasks_are_planned_or_created)
{
	char *repo = make_repo("repo");
	struct result r;

	write_file(sandbox_path("t.ini"), "[task \"a\"]\ntitle = A\n[task \"b\"]\ntitle = B\n", 0644);
	run(&r, repo, "git agent spawn --from %s", sandbox_path("t.ini"));
	assert_status(&r, 0);
	cr_assert(path_exists(strf("%s/.git/agent/tasks/a/packet.md", repo)));
	cr_assert_eq(worktree_count(repo), 1, "dry run makes no worktree");
	write_file(sandbox_path("c.ini"), "[task \"c\"]\ntitle = C\n", 0644);
	run(&r, repo, "git agent spawn --from %s --create --json", sandbox_path("c.ini"));
	assert_status(&r, 0);
	cr_assert_eq(worktree_count(repo), 2);
	json_t *j = json_parse(r.out);
	cr_assert_str_eq(json_str(j, "task"), "c");
	cr_assert_str_eq(json_str(j, "state"), "succeeded");
}

Test(batch_run, a_bad_file_is_rejected_before_anything_is_spawned)
{
	char *repo = make_repo("repo");
	struct result r;

	run_ok(repo, "git config agent.command true");
	write_file(sandbox_path("bad.ini"),
		   "[task \"good\"]\ntitle = Good\n[task \"good\"]\ntitle = Again\n", 0644);
	run(&r, repo, "git agent spawn --from %s --run", sandbox_path("bad.ini"));
	assert_status(&r, 128);
	assert_contains(r.err, "bad.ini:3:");
	cr_assert(!path_exists(strf("%s/.git/agent", repo)), "nothing was made");
	write_file(sandbox_path("bad2.ini"), "[task \"x\"]\ntitle = X\ncolour = red\n", 0644);
	run(&r, repo, "git agent spawn --from %s", sandbox_path("bad2.ini"));
	assert_status(&r, 128);
	assert_contains(r.err, "bad2.ini:3:");
	cr_assert(!path_exists(strf("%s/.git/agent", repo)), "nothing was made");
	run(&r, repo, "git agent spawn --from %s", sandbox_path("missing.ini"));
	assert_status(&r, 128);
	assert_contains(r.err, "cannot read");
}

Test(batch_run, usage_errors)
{
	char *repo = make_repo("repo");
	struct result r;

	write_file(sandbox_path("t.ini"), "[task \"a\"]\ntitle = A\n", 0644);
	run(&r, repo, "git agent spawn -j 2 'A title'");
	assert_status(&r, 129);
	assert_contains(r.err, "error: -j needs --from");
	run(&r, repo, "git agent spawn --from %s 'A title'", sandbox_path("t.ini"));
	assert_status(&r, 129);
	assert_contains(r.err, "error: --from takes the tasks from the file");
	run(&r, repo, "git agent spawn --from %s -j 0", sandbox_path("t.ini"));
	assert_status(&r, 129);
	assert_contains(r.err, "error: invalid -j '0'");
	run(&r, repo, "git agent spawn --from %s -j x", sandbox_path("t.ini"));
	assert_status(&r, 129);
	run(&r, repo, "git agent spawn --from %s --run", sandbox_path("t.ini"));
	assert_status(&r, 128);
	assert_contains(r.err, "fatal: no agent to run");
	cr_assert(!path_exists(strf("%s/.git/agent", repo)), "nothing was made");
}

Test(batch_run, features_json_spawns_only_open_features)
{
	char *repo = make_repo("repo");
	struct result r;

	write_file(sandbox_path("features.json"),
		   "{\"features\": [\n"
		   " {\"id\": \"F-1\", \"category\": \"api\", \"name\": \"Export CSV\",\n"
		   "  \"description\": \"Add it\", \"steps\": [\"write\", \"test\"], \"status\": \"open\"},\n"
		   " {\"id\": 2, \"name\": \"Done one\", \"status\": \"done\"},\n"
		   " {\"id\": \"f3\", \"name\": \"No status\"}\n]}\n", 0644);
	run(&r, repo, "git agent spawn --from %s", sandbox_path("features.json"));
	assert_status(&r, 0);
	cr_assert(path_exists(strf("%s/.git/agent/tasks/f-1.ini", repo)));
	cr_assert(path_exists(strf("%s/.git/agent/tasks/f3.ini", repo)));
	cr_assert(!path_exists(strf("%s/.git/agent/tasks/2.ini", repo)));
	assert_contains(read_file(strf("%s/.git/agent/tasks/f-1/packet.md", repo)), "Export CSV");
}

Test(batch_run, a_task_that_cannot_spawn_fails_alone)
{
	char *repo = make_repo("repo");
	struct result r;

	run_ok(repo, "git config agent.command true");
	write_file(sandbox_path("t.ini"),
		   "[task \"ok\"]\ntitle = Fine\n[task \"bad\"]\ntitle = Bad base\nbase = no-such-ref\n",
		   0644);
	run(&r, repo, "git agent spawn --from %s --run", sandbox_path("t.ini"));
	assert_status(&r, 1);
	assert_contains(r.out, "ok: succeeded (exit 0)");
	assert_contains(r.out, "bad: failed (spawn failed)");
	assert_contains(r.out, "no-such-ref");
	cr_assert(worktree_listed(repo, strf("%s/repo-worktrees/ok", sandbox)));
	cr_assert(!path_exists(strf("%s/repo-worktrees/bad", sandbox)));
}
